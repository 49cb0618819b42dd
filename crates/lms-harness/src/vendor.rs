//! `lms-harness vendor list|enable|disable`: the LMS vendor's switch (M1) that makes the connector available on a
//! platform or not, from the command line, as the vendor console page does (`/vendor`). The switch is the database's,
//! so a running `serve` on the same data folder shows or hides the tile at its next page. Where the integration is
//! connected, making the connector unavailable deactivates it first (the app's conversations are hidden, learners
//! receive nothing more): only with `--deactivate`, and with the simulated Slack to reach (`--slack-url`).

use crate::connect::local_slack;
use crate::connector::{ConnectorSpec, DataDir};
use crate::operator;
use anyhow::{Result, bail};
use lms::db::Db;
use lms::integration::{
    PlatformConnector, StillConnected, Switch, Tile, plan_switch, platforms, set_available,
};
use std::path::PathBuf;

/// `lms-harness vendor …`.
#[derive(Debug, clap::Subcommand)]
pub enum VendorCommand {
    /// Lists every platform: whether the connector is available there, and its integration's state.
    List {
        /// The data folder (`lms.sqlite3`, `secrets.key`).
        #[arg(long)]
        data: PathBuf,
        /// Prints the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Makes the connector available on PLATFORM: its admins see the tile (as it was, if it was available before).
    Enable {
        /// The data folder (`lms.sqlite3`, `secrets.key`).
        #[arg(long)]
        data: PathBuf,
        /// The platform's id.
        platform: String,
    },
    /// Makes the connector unavailable on PLATFORM: its admins no longer see the tile. Where the integration is
    /// connected, refused unless --deactivate: it is then deactivated first, as DEACTIVATE does.
    Disable {
        /// The data folder (`lms.sqlite3`, `secrets.key`).
        #[arg(long)]
        data: PathBuf,
        /// The platform's id.
        platform: String,
        /// Where the integration is connected, deactivate it first (the app's conversations are hidden in the
        /// workspace, learners receive nothing more).
        #[arg(long, requires = "slack_url")]
        deactivate: bool,
        /// The simulated Slack on this machine (http://127.0.0.1:PORT), which the deactivation reaches.
        #[arg(long)]
        slack_url: Option<String>,
    },
}

/// Runs `lms-harness vendor …`.
pub async fn command(command: VendorCommand) -> Result<()> {
    match command {
        VendorCommand::List { data, json } => {
            let db = DataDir::open_db(&data, false)?;
            let rows = platforms(&db, &connector_id())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print!("{}", list(&rows));
            }
        }
        VendorCommand::Enable { data, platform } => {
            let db = DataDir::open_db(&data, false)?;
            let done = switch(&db, &platform, true)?;
            println!("{}", said(&platform, done));
        }
        VendorCommand::Disable {
            data,
            platform,
            deactivate,
            slack_url,
        } => {
            let db = DataDir::open_db(&data, false)?;
            let connector = connector_id();
            let done = match plan_switch(&db, &platform, &connector, false, deactivate) {
                Ok(Switch::DeactivatedAndMadeUnavailable) => {
                    let Some(slack) = slack_url else {
                        bail!("--deactivate needs --slack-url");
                    };
                    let slack = local_slack(&slack)?;
                    let spec = ConnectorSpec::embedded(Some(DataDir::cache(&data)));
                    let lms = spec.open_lms(db, Some(&slack))?;
                    lms.switch_availability(&platform, false, &actor("vendor disable"), true)
                        .await?
                }
                Ok(_) => switch(&db, &platform, false)?,
                Err(e) if e.is::<StillConnected>() => bail!(
                    "The integration is connected on platform {platform}: making the connector unavailable \
                     deactivates it first (the app's conversations are hidden in the workspace, learners receive \
                     nothing more). Nothing was changed; to do so, run again with --deactivate --slack-url \
                     http://127.0.0.1:PORT (the simulated Slack)."
                ),
                Err(e) => return Err(e),
            };
            println!("{}", said(&platform, done));
        }
    }
    Ok(())
}

/// The embedded connector's id.
fn connector_id() -> String {
    crate::connector::default_grants().connector
}

/// Who switched, as the audit log records it.
fn actor(command: &str) -> String {
    operator::actor(command)
}

/// Switches the connector on or off on `platform` where no deactivation is needed (else [`StillConnected`]).
fn switch(db: &Db, platform: &str, available: bool) -> Result<Switch> {
    let connector = connector_id();
    let plan = plan_switch(db, platform, &connector, available, false)?;
    if plan != Switch::Unchanged {
        let command = if available {
            "vendor enable"
        } else {
            "vendor disable"
        };
        set_available(db, platform, &connector, available, &actor(command))?;
    }
    Ok(plan)
}

/// One line per platform: id, name, availability and state.
fn list(rows: &[PlatformConnector]) -> String {
    if rows.is_empty() {
        return "No platform.\n".into();
    }
    rows.iter()
        .map(|p| {
            let state = match &p.state {
                Tile::Unavailable | Tile::Inactive(_) => "inactive".to_string(),
                Tile::ApprovalRequested(_) => "approval requested".into(),
                Tile::Active(ws) => format!("active ({ws})"),
                Tile::Disconnected(why) => format!("disconnected ({why})"),
            };
            let available = if p.available {
                "available"
            } else {
                "not available"
            };
            format!(
                "{} ({}): {available}; integration {state}\n",
                p.platform_id, p.name
            )
        })
        .collect()
}

/// What a switch did, in a sentence.
fn said(platform: &str, done: Switch) -> String {
    match done {
        Switch::Unchanged => {
            format!("Nothing changed on platform {platform}: the connector already was so.")
        }
        Switch::MadeAvailable => format!(
            "The connector is available on platform {platform}: its admins see the tile (a running serve shows it at \
             its next page)."
        ),
        Switch::MadeUnavailable => format!(
            "The connector is no longer available on platform {platform}: its admins no longer see the tile."
        ),
        Switch::DeactivatedAndMadeUnavailable => format!(
            "The integration on platform {platform} was deactivated (the app's conversations are hidden in the \
             workspace, nothing more is sent) and the connector is no longer available there."
        ),
    }
}
