//! `lms-harness session edit|cancel|show`: a session changed or cancelled from the command line, as its page does
//! ([`lms::sessions::edit_session`], [`lms::sessions::cancel_session`]), and what it is now. A change makes a new
//! revision: every invitation message already sent about the session is updated in Slack (with what changed), and a
//! moved session moves its reminders; a cancellation skips what is still to come for it (invitations, reminders) and
//! updates every message sent to say it is cancelled. Nothing is sent by the command: the updates wait in the outbox
//! (`deliveries --run` sends them, as a running `serve` does by itself).
//!
//! The LMS lets only a platform's authors and admins change a session, and the operator running the command is
//! neither: `--as USER` names the author or admin it acts for (the LMS's audit log records that user; the operator
//! who acted for them is recorded beside it).

use crate::connector::DataDir;
use crate::operator;
use crate::web::PLATFORM;
use crate::web::format::{from_local_input, local_input};
use anyhow::{Result, anyhow, bail};
use lms::db::{Db, Session, now};
use lms::sessions::{Changed, Status};
use serde_json::json;
use std::path::PathBuf;

/// Where the session is: the data folder and the platform.
#[derive(Debug, clap::Args)]
pub struct Folder {
    /// The data folder (`lms.sqlite3`, `secrets.key`).
    #[arg(long)]
    pub data: PathBuf,
    /// The session's platform.
    #[arg(long, default_value = PLATFORM)]
    pub platform: String,
}

/// `lms-harness session …`.
#[derive(Debug, clap::Subcommand)]
pub enum SessionCommand {
    /// Changes a session: the fields given change, the others stay as they are. The messages already sent about it
    /// are updated in Slack, saying what changed.
    Edit(EditArgs),
    /// Cancels a session: what is still to come for it (invitations, reminders) is not sent, and the messages sent
    /// about it are updated to say it is cancelled. It cannot be undone.
    Cancel(CancelArgs),
    /// What a session is now: its status, its current revision's content, and its reminders.
    Show(ShowArgs),
}

/// `lms-harness session edit`.
#[derive(Debug, clap::Args)]
pub struct EditArgs {
    /// The session's id.
    pub session: String,
    #[command(flatten)]
    pub folder: Folder,
    /// The author or admin of the platform the change is made for (the LMS lets only them change a session).
    #[arg(long = "as", value_name = "USER")]
    pub actor: Option<String>,
    /// The new title.
    #[arg(long)]
    pub title: Option<String>,
    /// The new description.
    #[arg(long)]
    pub description: Option<String>,
    /// The new cover image's URL.
    #[arg(long, value_name = "URL", conflicts_with = "no_cover")]
    pub cover: Option<String>,
    /// Removes the cover image.
    #[arg(long)]
    pub no_cover: bool,
    /// When it starts, in --time-zone.
    #[arg(long, value_name = "YYYY-MM-DDTHH:MM")]
    pub starts: Option<String>,
    /// When it ends, in --time-zone.
    #[arg(long, value_name = "YYYY-MM-DDTHH:MM")]
    pub ends: Option<String>,
    /// The time zone --starts and --ends are read in (an IANA name such as Europe/Paris).
    #[arg(long, default_value = "UTC")]
    pub time_zone: String,
}

/// `lms-harness session cancel`.
#[derive(Debug, clap::Args)]
pub struct CancelArgs {
    /// The session's id.
    pub session: String,
    #[command(flatten)]
    pub folder: Folder,
    /// The author or admin of the platform the cancellation is made for (the LMS lets only them cancel a session).
    #[arg(long = "as", value_name = "USER")]
    pub actor: Option<String>,
}

/// `lms-harness session show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The session's id.
    pub session: String,
    #[command(flatten)]
    pub folder: Folder,
    /// The time zone dates are shown in (an IANA name such as Europe/Paris).
    #[arg(long, default_value = "UTC")]
    pub time_zone: String,
    /// Prints it as JSON (dates as Unix seconds).
    #[arg(long)]
    pub json: bool,
}

/// Runs `lms-harness session …`.
pub fn command(command: SessionCommand) -> Result<()> {
    match command {
        SessionCommand::Edit(args) => edit(args),
        SessionCommand::Cancel(args) => cancel(args),
        SessionCommand::Show(args) => show(args),
    }
}

/// The session `id` of `platform`; refused, naming the platform's sessions, when there is none.
pub(crate) fn find_session(db: &Db, platform: &str, id: &str) -> Result<Session> {
    if let Some(session) = db.session(platform, id)? {
        return Ok(session);
    }
    let known: Vec<String> = db.sessions(platform)?.into_iter().map(|s| s.id).collect();
    bail!(
        "there is no session `{id}` on platform {platform} (its sessions: {})",
        if known.is_empty() {
            "none".into()
        } else {
            known.join(", ")
        }
    )
}

/// A time zone's name, refused when it is not one.
fn time_zone(name: &str) -> Result<&str> {
    jiff::tz::TimeZone::get(name).map_err(|_| {
        anyhow!("`{name}` is not a time zone: give an IANA name such as Europe/Paris, or UTC")
    })?;
    Ok(name)
}

/// The user `--as` names, who must be one of the platform's users; refused, naming its authors and admins, when
/// absent (whether they may change the session is the LMS's to say).
fn acting_for(db: &Db, platform: &str, actor: Option<&str>) -> Result<String> {
    let may = || -> Result<String> {
        let names: Vec<String> = db
            .users_page(platform, None, 10_000)?
            .into_iter()
            .filter(|u| u.role.is_author())
            .map(|u| format!("{} ({}, {})", u.id, u.display_name, u.role))
            .collect();
        Ok(if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        })
    };
    match actor {
        None => bail!(
            "the LMS lets only a platform's authors and admins change or cancel a session: say which one this is \
             done for with --as USER (on platform {platform}: {})",
            may()?
        ),
        Some(id) if db.user(platform, id)?.is_none() => bail!(
            "there is no user `{id}` on platform {platform} (its authors and admins: {})",
            may()?
        ),
        Some(id) => Ok(id.to_string()),
    }
}

/// Records, beside the LMS's own entry for `user`, that the operator did it for them from the command line.
fn audit_operator(db: &Db, platform: &str, command: &str, session: &str, user: &str) -> Result<()> {
    db.audit(
        platform,
        &operator::actor(command),
        "operator.acted_for",
        &format!("{command} {session} for {user}"),
    )
}

/// How many Slack messages will be updated, in a sentence.
fn updates_sentence(updates: usize) -> String {
    match updates {
        0 => "No Slack message was sent about it yet: none to update.".into(),
        1 => "1 Slack message will be updated.".into(),
        n => format!("{n} Slack messages will be updated."),
    }
}

/// Where the updates go from here.
fn sending_hint(data: &std::path::Path, changed: &Changed) {
    if changed.updates > 0 {
        eprintln!(
            "Nothing is sent yet: `lms-harness deliveries --data {} --run --slack-url URL` sends the updates (a \
             running serve on this data folder sends them by itself).",
            data.display()
        );
    }
}

fn edit(args: EditArgs) -> Result<()> {
    let tz = time_zone(&args.time_zone)?;
    let (platform, data) = (&args.folder.platform, &args.folder.data);
    let db = DataDir::open_db(data, false)?;
    let old = find_session(&db, platform, &args.session)?;
    let actor = acting_for(&db, platform, args.actor.as_deref())?;
    let nothing_given = args.title.is_none()
        && args.description.is_none()
        && args.cover.is_none()
        && !args.no_cover
        && args.starts.is_none()
        && args.ends.is_none();
    if nothing_given {
        bail!(
            "nothing to change: give --title, --description, --cover or --no-cover, --starts or --ends (the fields \
             not given stay as they are)"
        );
    }
    let when = |flag: &str, text: &Option<String>, was: i64| -> Result<i64> {
        match text {
            None => Ok(was),
            Some(text) => from_local_input(text, tz).ok_or_else(|| {
                anyhow!(
                    "{flag} `{text}`: give a date and a time as YYYY-MM-DDTHH:MM (read in {tz})"
                )
            }),
        }
    };
    let cover_url = match (&args.cover, args.no_cover) {
        (_, true) => None,
        (Some(url), false) if url.trim().is_empty() => None,
        (Some(url), false) => Some(url.trim().to_string()),
        (None, false) => old.cover_url.clone(),
    };
    let new = Session {
        id: old.id.clone(),
        title: args.title.clone().unwrap_or(old.title.clone()),
        description: args.description.clone().unwrap_or(old.description.clone()),
        cover_url,
        starts_at: when("--starts", &args.starts, old.starts_at)?,
        ends_at: when("--ends", &args.ends, old.ends_at)?,
    };
    let changed = lms::sessions::edit_session(&db, platform, &actor, &new, now())?;
    if changed.fields.is_empty() {
        println!("Nothing changed: the session already was so.");
        return Ok(());
    }
    audit_operator(&db, platform, "session edit", &old.id, &actor)?;
    let fields: Vec<&str> = changed.fields.iter().map(|f| f.name()).collect();
    println!(
        "Changed: {}. {}",
        fields.join(", "),
        updates_sentence(changed.updates)
    );
    sending_hint(data, &changed);
    Ok(())
}

fn cancel(args: CancelArgs) -> Result<()> {
    let (platform, data) = (&args.folder.platform, &args.folder.data);
    let db = DataDir::open_db(data, false)?;
    let session = find_session(&db, platform, &args.session)?;
    let actor = acting_for(&db, platform, args.actor.as_deref())?;
    let changed = lms::sessions::cancel_session(&db, platform, &actor, &session.id, now())?;
    audit_operator(&db, platform, "session cancel", &session.id, &actor)?;
    println!(
        "\"{}\" is cancelled: the invitations and reminders still to come are not sent. {}",
        session.title,
        updates_sentence(changed.updates)
    );
    sending_hint(data, &changed);
    Ok(())
}

/// A Unix time in `tz`, in the form --starts takes, with the zone.
fn local(secs: i64, tz: &str) -> String {
    local_input(secs, tz).map_or_else(|| secs.to_string(), |t| format!("{t} ({tz})"))
}

fn show(args: ShowArgs) -> Result<()> {
    let tz = time_zone(&args.time_zone)?;
    let platform = &args.folder.platform;
    let db = DataDir::open_db(&args.folder.data, false)?;
    let s = find_session(&db, platform, &args.session)?;
    let status = lms::sessions::status(&db, platform, &s.id)?;
    let lms::sessions::Overview {
        revision,
        reminders_to_come: to_come,
        next_reminder: next,
    } = lms::sessions::overview(&db, platform, &s.id)?;
    let rules = lms::reminders::rules(&db, platform)?;
    let words: Vec<String> = rules
        .iter()
        .map(|r| r.describe(lms::lang::Lang::En))
        .collect();
    if args.json {
        let out = json!({
            "platform": platform,
            "id": s.id,
            "status": status,
            "revision": revision,
            "title": s.title,
            "description": s.description,
            "cover_url": s.cover_url,
            "starts_at": s.starts_at,
            "ends_at": s.ends_at,
            "reminders": {
                "rules": crate::reminders::rules_text(&rules),
                "in_words": words,
                "to_come": to_come,
                "next_due": next,
            },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let status = match status {
        Status::Scheduled => "scheduled".to_string(),
        Status::Cancelled(at) => format!("cancelled on {}", local(at, tz)),
    };
    println!(
        "Session {} on platform {platform}: {status} (revision {revision})",
        s.id
    );
    println!("  Title:        {}", s.title);
    println!("  Description:  {}", s.description);
    println!(
        "  Cover:        {}",
        s.cover_url.as_deref().unwrap_or("none")
    );
    println!("  Starts:       {}", local(s.starts_at, tz));
    println!("  Ends:         {}", local(s.ends_at, tz));
    let reminders = if rules.is_empty() {
        "off".to_string()
    } else {
        format!(
            "{} ({})",
            crate::reminders::rules_text(&rules),
            words.join("; ")
        )
    };
    let scheduled = match next {
        Some(next) => format!("{to_come} to come, the next on {}", local(next, tz)),
        None => "none to come".into(),
    };
    println!("  Reminders:    {reminders}; for this session: {scheduled}");
    Ok(())
}
