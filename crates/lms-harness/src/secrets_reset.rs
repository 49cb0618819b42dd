//! `lms-harness secrets reset`: the deliberate way out when the secrets key of a data folder is lost for good. It
//! forgets the sealed secrets (the connector's credentials, the operator's own secrets such as the Slack app's),
//! disconnects the integrations that used them and alerts their admins, who activate them again.

use crate::connector::DataDir;
use crate::operator;
use anyhow::{Result, bail};
use lms::secrets::SecretBox;
use std::path::PathBuf;

/// `lms-harness secrets …`.
#[derive(Debug, clap::Subcommand)]
pub enum SecretsCommand {
    /// Forgets every sealed secret of the data folder, when the key that sealed them is lost: the integrations
    /// turn Disconnected and their admins are alerted to activate them again. Asks for --yes.
    Reset {
        /// The data folder (`lms.sqlite3`, `secrets.key`).
        #[arg(long)]
        data: PathBuf,
        /// Yes: forget them (nothing can bring them back).
        #[arg(long)]
        yes: bool,
    },
}

/// Runs `lms-harness secrets …`.
pub fn command(command: SecretsCommand) -> Result<()> {
    let SecretsCommand::Reset { data, yes } = command;
    let database = DataDir::database(&data);
    if !DataDir::has_database(&data) {
        bail!("no LMS database in {}", data.display());
    }
    if !yes {
        bail!(
            "This forgets every sealed secret of {}: the integrations' credentials and the operator's own secrets \
             (such as the Slack app's client and signing secrets). Every connected integration turns Disconnected \
             and its admins must activate it again. Do it only when the key that sealed them is lost for good \
             (otherwise restore the key file from a backup). Run again with --yes to do it.",
            data.display()
        );
    }
    let forgotten = lms::sealed::forget(&database, &operator::actor("secrets reset"))?;
    println!(
        "Forgot {} sealed secrets in {}.",
        forgotten.secrets,
        data.display()
    );
    for (platform, connector) in &forgotten.disconnected {
        println!("Disconnected: {connector} on platform {platform}.");
    }
    if !forgotten.alerted.is_empty() {
        println!("Admins alerted on: {}.", forgotten.alerted.join(", "));
    }
    let key_file = DataDir::key_file(&data);
    match SecretBox::read_key_file(&key_file) {
        Ok(None) => println!(
            "The key file {} is missing: a new key is made at the next start.",
            key_file.display()
        ),
        Ok(Some(_)) => println!(
            "The key file {} is kept: it seals the secrets set from now on.",
            key_file.display()
        ),
        Err(e) => println!("{e:#}: delete it, and a new key is made at the next start.",),
    }
    println!(
        "Next: set the connector's own secrets again (serve and connect set the simulated app's), then ACTIVATE on \
         Settings → Connectors (or run lms-harness connect)."
    );
    Ok(())
}
