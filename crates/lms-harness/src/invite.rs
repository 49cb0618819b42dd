//! `lms-harness invite`: invites a session's learners as the pages' "Invite learners" does
//! ([`lms::invitations::invite_learners`]): those not invited yet, or with `--reminder` those already invited, without
//! sending anything. The notification id goes to stdout alone on its line, for scripts (nothing when it goes to
//! nobody); `deliveries --run` sends it. Who was already invited is said on stderr.

use crate::connector::DataDir;
use crate::operator;
use crate::session::find_session;
use crate::web::PLATFORM;
use anyhow::Result;
use lms::db::now;
use lms::invitations::Sending;
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
    /// Sends the invitation again to the learners already invited (a reminder), instead of inviting those not invited
    /// yet.
    #[arg(long)]
    pub reminder: bool,
}

/// Runs `lms-harness invite`.
pub fn command(args: InviteArgs) -> Result<()> {
    let db = DataDir::open_db(&args.data, false)?;
    let session = find_session(&db, &args.platform, &args.session)?;
    let sending = if args.reminder {
        Sending::Reminder
    } else {
        Sending::Invitation
    };
    let invitation = lms::invitations::invite_learners(
        &db,
        &args.platform,
        &session,
        &operator::actor("invite"),
        now(),
        sending,
    )?;
    let already = invitation.already_invited.join(", ");
    match (&invitation.notification_id, sending) {
        (Some(id), Sending::Invitation) => {
            println!("{id}");
            eprintln!(
                "{} learners invited to \"{}\"; nothing is sent yet: `lms-harness deliveries --data {} --run \
                 --slack-url URL` sends it.",
                invitation.learners.len(),
                session.title,
                args.data.display()
            );
            if !already.is_empty() {
                eprintln!(
                    "Already invited, not invited again: {already} (`--reminder` sends it to them again)."
                );
            }
        }
        (Some(id), Sending::Reminder) => {
            println!("{id}");
            eprintln!(
                "A reminder of \"{}\" to the {} learners already invited; nothing is sent yet: `lms-harness \
                 deliveries --data {} --run --slack-url URL` sends it.",
                session.title,
                invitation.learners.len(),
                args.data.display()
            );
        }
        (None, Sending::Invitation) => eprintln!(
            "Nobody to invite: every learner was already invited to \"{}\" ({already}); `--reminder` sends it to \
             them again.",
            session.title
        ),
        (None, Sending::Reminder) => eprintln!(
            "Nobody to remind: no learner was invited to \"{}\" yet.",
            session.title
        ),
    }
    Ok(())
}
