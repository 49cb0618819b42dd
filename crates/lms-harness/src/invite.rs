//! `lms-harness invite`: invites a session's learners as the pages' "Invite learners" does
//! ([`lms::invitations::invite_learners`]), without sending anything: the notification id goes to stdout alone on
//! its line, for scripts; `deliveries --run` sends it.

use crate::connector::DataDir;
use crate::operator;
use crate::web::PLATFORM;
use anyhow::{Result, bail};
use lms::db::now;
use std::path::PathBuf;

/// `lms-harness invite`.
#[derive(Debug, clap::Args)]
pub struct InviteArgs {
    /// The data folder (`lms.sqlite3`, `secrets.key`).
    #[arg(long)]
    pub data: PathBuf,
    /// The session the learners are invited to.
    #[arg(long)]
    pub session: String,
    /// The session's platform.
    #[arg(long, default_value = PLATFORM)]
    pub platform: String,
}

/// Runs `lms-harness invite`.
pub fn command(args: InviteArgs) -> Result<()> {
    let db = DataDir::open_db(&args.data, false)?;
    let Some(session) = db.session(&args.platform, &args.session)? else {
        let known: Vec<String> = db
            .sessions(&args.platform)?
            .into_iter()
            .map(|s| s.id)
            .collect();
        bail!(
            "there is no session `{}` on platform {} (its sessions: {})",
            args.session,
            args.platform,
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        );
    };
    let invitation = lms::invitations::invite_learners(
        &db,
        &args.platform,
        &session,
        &operator::actor("invite"),
        now(),
    )?;
    println!("{}", invitation.notification_id);
    eprintln!(
        "{} learners invited to \"{}\"; nothing is sent yet: `lms-harness deliveries --data {} --run --slack-url URL` \
         sends it.",
        invitation.learners.len(),
        session.title,
        args.data.display()
    );
    Ok(())
}
