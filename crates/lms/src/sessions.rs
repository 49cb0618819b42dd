//! Changing and cancelling a session, and keeping every message sent about it true.
//!
//! A change (title, description, cover, dates) makes a new revision of the session, whose content is kept. In the same
//! transaction, every invitation message already sent (or being sent) for the session gets an update in the outbox:
//! a notification of kind [`Kind::SessionUpdate`] per invitation notification, one delivery per learner, which the
//! workers send as the connector's `update` of that message (durable, exactly once, paced as any delivery). An
//! invitation not sent yet needs none: it is written from the session as it is when it goes out. A change that comes
//! before an earlier update went out replaces it (the earlier one is skipped as superseded). A moved session moves its
//! reminders ([`crate::reminders`]). A cancellation is the last revision: invitations, reminders and steps still to
//! come for the session are skipped, and each message sent is updated to say that it is cancelled.

use crate::db::{Db, Role, Session};
use crate::outbox::{self, Kind};
use crate::sql::{OptionalExtension, params};
use anyhow::Result;

/// What of a session changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The title.
    Title,
    /// The description.
    Description,
    /// The cover image.
    Cover,
    /// When it starts or ends.
    Dates,
}

impl Field {
    /// In English, for the delivery log and the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Description => "description",
            Field::Cover => "cover",
            Field::Dates => "dates",
        }
    }
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "at")]
pub enum Status {
    /// It takes place as planned (whatever its revisions).
    Scheduled,
    /// It was cancelled at this instant.
    Cancelled(i64),
}

/// Why a session was not changed. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionRefused {
    /// The user is neither an author nor an admin.
    NotAuthor,
    /// There is no such session on the platform.
    NoSession,
    /// The session is cancelled: it can no longer change, nor be invited to.
    Cancelled,
    /// The title is empty.
    NoTitle,
    /// It would end before it starts.
    EndsBeforeStart,
}

impl SessionRefused {
    /// The refusal in English and in French.
    pub fn texts(&self) -> (&'static str, &'static str) {
        match self {
            SessionRefused::NotAuthor => (
                "Only authors and admins may change a session.",
                "Seuls les auteurs et les administrateurs peuvent modifier une session.",
            ),
            SessionRefused::NoSession => (
                "There is no such session on this platform.",
                "Cette session n'existe pas sur cette plateforme.",
            ),
            SessionRefused::Cancelled => (
                "This session is cancelled: it can no longer be changed, and nobody can be invited to it.",
                "Cette session est annulée : elle ne peut plus être modifiée, et personne ne peut y être invité.",
            ),
            SessionRefused::NoTitle => (
                "A session needs a title.",
                "Une session a besoin d'un titre.",
            ),
            SessionRefused::EndsBeforeStart => (
                "A session cannot end before it starts.",
                "Une session ne peut pas finir avant de commencer.",
            ),
        }
    }
}

impl std::fmt::Display for SessionRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.texts().0)
    }
}

impl std::error::Error for SessionRefused {}

/// What a change did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    /// What changed (empty: nothing did, and nothing was written).
    pub fields: Vec<Field>,
    /// The messages that will be updated.
    pub updates: usize,
}

/// What cancelling a session would do now ([`cancel_session`] counts the same way).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CancelPreview {
    /// The invitation messages sent (or being sent) that would be updated to say it is cancelled.
    pub updates: usize,
    /// The deliveries still to come for it (invitations, reminders, steps) that would not be sent.
    pub not_sent: usize,
}

/// What cancelling the session would do now.
pub fn cancel_preview(db: &Db, platform_id: &str, session_id: &str) -> Result<CancelPreview> {
    let conn = db.conn();
    let (updates, not_sent): (i64, i64) = conn.query_row(
        "SELECT COUNT(*) FILTER (WHERE n.kind = ?3 AND d.status IN ('sent', 'in_flight')),
                COUNT(*) FILTER (WHERE n.kind <> ?4 AND d.status = 'queued')
         FROM notifications n
         JOIN deliveries d ON d.platform_id = n.platform_id AND d.notification_id = n.id
         WHERE n.platform_id = ?1 AND n.session_id = ?2",
        params![
            platform_id,
            session_id,
            Kind::SessionAssignment.as_str(),
            Kind::SessionUpdate.as_str()
        ],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(CancelPreview {
        updates: updates as usize,
        not_sent: not_sent as usize,
    })
}

/// A session's revision and its reminders still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overview {
    /// Its revision: 1, then one more for each change (and for its cancellation).
    pub revision: i64,
    /// Its reminders still to be sent.
    pub reminders_to_come: usize,
    /// When the next of them is due.
    pub next_reminder: Option<i64>,
}

/// A session's revision and its reminders still to come.
pub fn overview(db: &Db, platform_id: &str, session_id: &str) -> Result<Overview> {
    let conn = db.conn();
    let overview = conn
        .query_row(
            "SELECT s.revision, COUNT(d.id), MIN(d.next_attempt_at)
             FROM sessions s
             LEFT JOIN notifications n ON n.platform_id = s.platform_id AND n.session_id = s.id AND n.kind = ?3
             LEFT JOIN deliveries d ON d.platform_id = n.platform_id AND d.notification_id = n.id
                 AND d.status = 'queued'
             WHERE s.platform_id = ?1 AND s.id = ?2
             GROUP BY s.revision",
            params![platform_id, session_id, Kind::SessionReminder.as_str()],
            |r| {
                Ok(Overview {
                    revision: r.get(0)?,
                    reminders_to_come: r.get::<_, i64>(1)? as usize,
                    next_reminder: r.get(2)?,
                })
            },
        )
        .optional()?;
    overview.ok_or_else(|| SessionRefused::NoSession.into())
}

/// The session's status.
pub fn status(db: &Db, platform_id: &str, session_id: &str) -> Result<Status> {
    status_in(&db.conn(), platform_id, session_id)?.ok_or_else(|| SessionRefused::NoSession.into())
}

fn status_in(
    conn: &crate::sql::Conn,
    platform_id: &str,
    session_id: &str,
) -> Result<Option<Status>> {
    let cancelled: Option<Option<i64>> = conn
        .query_row(
            "SELECT cancelled_at FROM sessions WHERE platform_id = ?1 AND id = ?2",
            [platform_id, session_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(cancelled.map(|c| c.map_or(Status::Scheduled, Status::Cancelled)))
}

/// Refuses a cancelled or unknown session, in the caller's transaction.
pub(crate) fn check_open(
    conn: &crate::sql::Conn,
    platform_id: &str,
    session_id: &str,
) -> Result<()> {
    match status_in(conn, platform_id, session_id)? {
        None => Err(SessionRefused::NoSession.into()),
        Some(Status::Cancelled(_)) => Err(SessionRefused::Cancelled.into()),
        Some(Status::Scheduled) => Ok(()),
    }
}

/// The session as revision `revision` had it (the revisions a session had before this table existed read as its
/// first).
pub(crate) fn revision(
    conn: &crate::sql::Conn,
    platform_id: &str,
    session_id: &str,
    revision: i64,
) -> Result<Option<Session>> {
    Ok(conn
        .query_row(
            "SELECT session_id, title, description, cover_url, starts_at, ends_at FROM session_revisions
             WHERE platform_id = ?1 AND session_id = ?2 AND revision <= ?3 ORDER BY revision DESC LIMIT 1",
            params![platform_id, session_id, revision],
            crate::db::session_row,
        )
        .optional()?)
}

/// The session's current revision number.
pub(crate) fn current_revision(
    conn: &crate::sql::Conn,
    platform_id: &str,
    session_id: &str,
) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT revision FROM sessions WHERE platform_id = ?1 AND id = ?2",
        [platform_id, session_id],
        |r| r.get(0),
    )?)
}

/// Keeps the session's current content as its current revision (a seed's overwrite), in the caller's transaction.
pub(crate) fn keep_revision(
    tx: &crate::sql::Conn,
    platform_id: &str,
    session_id: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO session_revisions
             (platform_id, session_id, revision, title, description, cover_url, starts_at, ends_at)
         SELECT platform_id, id, revision, title, description, cover_url, starts_at, ends_at FROM sessions
         WHERE platform_id = ?1 AND id = ?2
         ON CONFLICT (platform_id, session_id, revision) DO UPDATE SET title = excluded.title,
             description = excluded.description, cover_url = excluded.cover_url, starts_at = excluded.starts_at,
             ends_at = excluded.ends_at",
        [platform_id, session_id],
    )?;
    Ok(())
}

/// Changes a session (`new.id` names it) for `actor` at `at`: a new revision with `new`'s content, the messages sent
/// about it updated, its reminders moved with it. Nothing is written when nothing changed.
pub fn edit_session(
    db: &Db,
    platform_id: &str,
    actor: &str,
    new: &Session,
    at: i64,
) -> Result<Changed> {
    check_author(db, platform_id, actor, "session.edit")?;
    if new.title.trim().is_empty() {
        return Err(SessionRefused::NoTitle.into());
    }
    if new.ends_at < new.starts_at {
        return Err(SessionRefused::EndsBeforeStart.into());
    }
    let mut conn = db.conn();
    let tx = conn.write()?;
    check_open(&tx, platform_id, &new.id)?;
    let old = revision(&tx, platform_id, &new.id, i64::MAX)?.ok_or(SessionRefused::NoSession)?;
    let fields = changes(&old, new);
    if fields.is_empty() {
        return Ok(Changed::default());
    }
    tx.execute(
        "UPDATE sessions SET title = ?3, description = ?4, cover_url = ?5, starts_at = ?6, ends_at = ?7,
             revision = revision + 1
         WHERE platform_id = ?1 AND id = ?2",
        params![
            platform_id,
            new.id,
            new.title,
            new.description,
            new.cover_url,
            new.starts_at,
            new.ends_at
        ],
    )?;
    keep_revision(&tx, platform_id, &new.id)?;
    let what = fields
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ");
    let updates = queue_updates(
        &tx,
        platform_id,
        &new.id,
        &format!("Updated: {} ({what} changed)", new.title),
        at,
    )?;
    if new.starts_at != old.starts_at {
        skip_reminders(
            &tx,
            platform_id,
            &new.id,
            "session_moved",
            "The session moved: the reminders of its new start replace this one.",
        )?;
        let invited = crate::reminders::invited(&tx, platform_id, &new.id)?;
        crate::reminders::schedule(&tx, platform_id, &new.id, &invited, at)?;
    }
    tx.commit()?;
    drop(conn);
    db.audit(
        platform_id,
        actor,
        "session.edit",
        &format!("{}: {what} changed; {updates} message(s) to update", new.id),
    )?;
    Ok(Changed { fields, updates })
}

/// Cancels a session for `actor` at `at`: what was still to be sent for it (invitations, reminders, steps) is
/// skipped, and every message sent about it is updated to say it is cancelled.
pub fn cancel_session(
    db: &Db,
    platform_id: &str,
    actor: &str,
    session_id: &str,
    at: i64,
) -> Result<Changed> {
    check_author(db, platform_id, actor, "session.cancel")?;
    let mut conn = db.conn();
    let tx = conn.write()?;
    check_open(&tx, platform_id, session_id)?;
    tx.execute(
        "UPDATE sessions SET cancelled_at = ?3, revision = revision + 1 WHERE platform_id = ?1 AND id = ?2",
        params![platform_id, session_id, at],
    )?;
    keep_revision(&tx, platform_id, session_id)?;
    let queued: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT id FROM notifications WHERE platform_id = ?1 AND session_id = ?2 AND kind <> ?3",
        )?;
        let rows = stmt.query_map(
            params![platform_id, session_id, Kind::SessionUpdate.as_str()],
            |r| r.get(0),
        )?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for notification in queued {
        outbox::skip_queued(
            &tx,
            platform_id,
            &notification,
            outbox::SESSION_CANCELLED,
            "The session was cancelled: this is not sent.",
        )?;
    }
    let title: String = tx.query_row(
        "SELECT title FROM sessions WHERE platform_id = ?1 AND id = ?2",
        [platform_id, session_id],
        |r| r.get(0),
    )?;
    let updates = queue_updates(
        &tx,
        platform_id,
        session_id,
        &format!("Cancelled: {title}"),
        at,
    )?;
    tx.commit()?;
    drop(conn);
    db.audit(
        platform_id,
        actor,
        "session.cancel",
        &format!("{session_id}: {updates} message(s) to update"),
    )?;
    Ok(Changed {
        fields: Vec::new(),
        updates,
    })
}

/// What differs between two contents of a session.
fn changes(old: &Session, new: &Session) -> Vec<Field> {
    let mut fields = Vec::new();
    if old.title != new.title {
        fields.push(Field::Title);
    }
    if old.description != new.description {
        fields.push(Field::Description);
    }
    if old.cover_url != new.cover_url {
        fields.push(Field::Cover);
    }
    if (old.starts_at, old.ends_at) != (new.starts_at, new.ends_at) {
        fields.push(Field::Dates);
    }
    fields
}

fn check_author(db: &Db, platform_id: &str, actor: &str, action: &str) -> Result<()> {
    let role = db.user(platform_id, actor)?.map(|u| u.role);
    if !role.is_some_and(Role::is_author) {
        db.audit(platform_id, actor, action, "not an author")?;
        return Err(SessionRefused::NotAuthor.into());
    }
    Ok(())
}

/// Skips the reminders of a session still to come, in the caller's transaction.
fn skip_reminders(
    tx: &crate::sql::Conn,
    platform_id: &str,
    session_id: &str,
    code: &str,
    why: &str,
) -> Result<()> {
    for notification in notifications_of(tx, platform_id, session_id, Kind::SessionReminder)? {
        outbox::skip_queued(tx, platform_id, &notification, code, why)?;
    }
    Ok(())
}

/// The notifications of a kind about a session.
fn notifications_of(
    conn: &crate::sql::Conn,
    platform_id: &str,
    session_id: &str,
    kind: Kind,
) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT id FROM notifications WHERE platform_id = ?1 AND session_id = ?2 AND kind = ?3",
    )?;
    let rows = stmt.query_map(params![platform_id, session_id, kind.as_str()], |r| {
        r.get(0)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Queues, in the caller's transaction, an update of every invitation message of the session that is sent or being
/// sent (one notification per invitation notification, titled `title` in the delivery log), after skipping the
/// updates still queued from earlier changes, which this one replaces. Returns how many messages it updates.
fn queue_updates(
    tx: &crate::sql::Conn,
    platform_id: &str,
    session_id: &str,
    title: &str,
    at: i64,
) -> Result<usize> {
    for earlier in notifications_of(tx, platform_id, session_id, Kind::SessionUpdate)? {
        outbox::skip_queued(
            tx,
            platform_id,
            &earlier,
            "superseded",
            "A later change of the session replaces this update.",
        )?;
    }
    let revision = current_revision(tx, platform_id, session_id)?;
    let mut updates = 0;
    for source in notifications_of(tx, platform_id, session_id, Kind::SessionAssignment)? {
        let learners: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT user_id FROM deliveries WHERE platform_id = ?1 AND notification_id = ?2
                 AND status IN ('sent', 'in_flight') ORDER BY user_id",
            )?;
            let rows = stmt.query_map([platform_id, &source], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<Vec<String>>>()?
        };
        if learners.is_empty() {
            continue;
        }
        insert_updates(
            tx,
            platform_id,
            session_id,
            (revision, &source),
            title,
            &learners,
            at,
        )?;
        updates += learners.len();
    }
    Ok(updates)
}

/// Writes, in the caller's transaction, an update to `learners` of the messages of the invitation notification
/// `source`, bringing them to the session's `revision` (one notification per revision and source; what exists
/// already stays).
fn insert_updates(
    tx: &crate::sql::Conn,
    platform_id: &str,
    session_id: &str,
    (revision, source): (i64, &str),
    title: &str,
    learners: &[String],
    at: i64,
) -> Result<()> {
    let id = format!("update-{session_id}-r{revision}-{source}");
    tx.execute(
        "INSERT INTO notifications (platform_id, id, kind, title, session_id, source_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (platform_id, id) DO NOTHING",
        params![
            platform_id,
            id,
            Kind::SessionUpdate.as_str(),
            title,
            session_id,
            source,
            at
        ],
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO deliveries (id, platform_id, notification_id, user_id, status, next_attempt_at, mandatory,
             updated_at)
         VALUES (?1, ?2, ?3, ?4, 'queued', ?5, 1, ?5)
         ON CONFLICT (platform_id, notification_id, user_id) DO NOTHING",
    )?;
    for learner in learners {
        insert.execute(params![
            outbox::delivery_id(platform_id, &id, learner),
            platform_id,
            id,
            learner,
            at
        ])?;
    }
    Ok(())
}

/// Invitation messages that a retry found already posted (an earlier attempt's answer was lost) show the session as
/// it was when that attempt posted, which may be before a change made meanwhile, when no update could be queued for
/// them: each one of a session changed since its first revision gets an update, which shows what changed since that
/// first revision. Runs in the caller's transaction; the deliveries are those just recorded as sent.
pub(crate) fn update_found(
    tx: &crate::sql::Conn,
    platform_id: &str,
    delivery_ids: &[String],
    at: i64,
) -> Result<()> {
    for id in delivery_ids {
        let found: Option<(String, String, String, String, i64)> = tx
            .query_row(
                "SELECT d.user_id, d.notification_id, s.id, s.title, s.revision FROM deliveries d
                 JOIN notifications n ON n.platform_id = d.platform_id AND n.id = d.notification_id
                 JOIN sessions s ON s.platform_id = n.platform_id AND s.id = n.session_id
                 WHERE d.id = ?1 AND n.kind = ?2",
                params![id, Kind::SessionAssignment.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((learner, source, session_id, title, revision)) = found else {
            continue;
        };
        if revision <= 1 {
            continue;
        }
        // Which revision the message shows is not known: the first, at the earliest.
        tx.execute("UPDATE deliveries SET revision = 1 WHERE id = ?1", [id])?;
        insert_updates(
            tx,
            platform_id,
            &session_id,
            (revision, &source),
            &format!("Updated: {title} (a message found after a lost answer)"),
            &[learner],
            at,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invitations::{Sending, invite_learners};
    use crate::outbox::{DeliveryStatus, Outbox};

    use crate::test_support::platform_with_users;

    const DAY: i64 = 86_400;
    /// 2026-03-30 10:00 UTC.
    const START: i64 = 1_774_864_800;
    /// A week before.
    const NOW: i64 = START - 7 * DAY;

    fn session() -> Session {
        Session {
            id: "s".into(),
            title: "Onboarding".into(),
            description: "d".into(),
            cover_url: None,
            starts_at: START,
            ends_at: START + 3600,
        }
    }

    fn db(learners: usize) -> Db {
        let db = crate::test_support::memory_db();
        platform_with_users(&db, learners);
        db.upsert_session("p", &session()).unwrap();
        db
    }

    /// Marks the learners' deliveries of a notification sent, each in its own conversation.
    fn sent(db: &Db, notification: &str, learners: &[&str]) {
        for l in learners {
            db.conn()
                .execute(
                    "UPDATE deliveries SET status = 'sent', conversation = 'D' || user_id, message_id = '1.0',
                         revision = 1
                     WHERE notification_id = ?1 AND user_id = ?2",
                    [notification, l],
                )
                .unwrap();
        }
    }

    /// (notification, user, status, reason code, due) of every delivery of a kind.
    fn of_kind(db: &Db, kind: Kind) -> Vec<(String, String, DeliveryStatus, Option<String>, i64)> {
        let conn = db.conn();
        let mut stmt = conn
            .prepare(
                "SELECT d.notification_id, d.user_id, d.status, d.reason_code, d.next_attempt_at
                 FROM deliveries d JOIN notifications n ON n.platform_id = d.platform_id AND n.id = d.notification_id
                 WHERE n.kind = ?1 ORDER BY d.notification_id, d.user_id",
            )
            .unwrap();
        stmt.query_map([kind.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    #[test]
    fn changes_name_each_field_once() {
        let old = session();
        assert!(changes(&old, &old).is_empty());
        let new = Session {
            title: "T2".into(),
            ends_at: START + 7200,
            ..old.clone()
        };
        assert_eq!(changes(&old, &new), [Field::Title, Field::Dates]);
    }

    #[test]
    fn a_change_updates_the_messages_sent_and_replaces_an_update_not_sent_yet() {
        let db = db(3);
        let invitation = invite_learners(&db, "p", &session(), "admin", NOW, Sending::Invitation)
            .unwrap()
            .notification_id
            .unwrap();
        sent(&db, &invitation, &["l1", "l2"]);
        // l3's invitation is still queued: it will be written from the session as it is then.
        let moved = Session {
            starts_at: START + DAY,
            ends_at: START + DAY + 3600,
            ..session()
        };
        let changed = edit_session(&db, "p", "admin", &moved, NOW).unwrap();
        assert_eq!(
            changed,
            Changed {
                fields: vec![Field::Dates],
                updates: 2
            }
        );
        let updates = of_kind(&db, Kind::SessionUpdate);
        let users: Vec<_> = updates.iter().map(|u| (u.1.as_str(), u.2)).collect();
        assert_eq!(
            users,
            [
                ("l1", DeliveryStatus::Queued),
                ("l2", DeliveryStatus::Queued)
            ]
        );
        // The first revision is kept: what the messages first showed.
        let first = revision(&db.conn(), "p", "s", 1).unwrap().unwrap();
        assert_eq!(first.starts_at, START);
        assert_eq!(
            db.session("p", "s").unwrap().unwrap().starts_at,
            START + DAY
        );
        // Changing again before the update went out replaces it.
        let renamed = Session {
            title: "Welcome".into(),
            ..moved.clone()
        };
        assert_eq!(
            edit_session(&db, "p", "admin", &renamed, NOW)
                .unwrap()
                .updates,
            2
        );
        let updates = of_kind(&db, Kind::SessionUpdate);
        assert_eq!(updates.len(), 4);
        assert!(
            updates[..2]
                .iter()
                .all(|u| u.2 == DeliveryStatus::Skipped && u.3.as_deref() == Some("superseded"))
        );
        assert!(updates[2..].iter().all(|u| u.2 == DeliveryStatus::Queued));
        let titles: Vec<String> = db
            .conn()
            .prepare("SELECT title FROM notifications WHERE kind = 'session_update' ORDER BY created_at, id")
            .unwrap()
            .query_map((), |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            titles.contains(&"Updated: Welcome (title changed)".to_string()),
            "{titles:?}"
        );
        // The same content again changes nothing.
        assert_eq!(
            edit_session(&db, "p", "admin", &renamed, NOW).unwrap(),
            Changed::default()
        );
        // Learners cannot change sessions; bad content is refused.
        let refusal = |r: Result<Changed>| r.unwrap_err().downcast::<SessionRefused>().unwrap();
        assert_eq!(
            refusal(edit_session(&db, "p", "l1", &renamed, NOW)),
            SessionRefused::NotAuthor
        );
        let backwards = Session {
            ends_at: START,
            starts_at: START + 1,
            ..renamed.clone()
        };
        assert_eq!(
            refusal(edit_session(&db, "p", "admin", &backwards, NOW)),
            SessionRefused::EndsBeforeStart
        );
        let untitled = Session {
            title: " ".into(),
            ..renamed.clone()
        };
        assert_eq!(
            refusal(edit_session(&db, "p", "admin", &untitled, NOW)),
            SessionRefused::NoTitle
        );
        let unknown = Session {
            id: "nope".into(),
            ..renamed
        };
        assert_eq!(
            refusal(edit_session(&db, "p", "admin", &unknown, NOW)),
            SessionRefused::NoSession
        );
    }

    #[test]
    fn reminders_are_scheduled_on_invitation_and_move_with_the_session() {
        let db = db(2);
        invite_learners(&db, "p", &session(), "admin", NOW, Sending::Invitation).unwrap();
        let due: Vec<(String, i64)> = of_kind(&db, Kind::SessionReminder)
            .into_iter()
            .map(|r| (r.1, r.4))
            .collect();
        // Learners in UTC: the day before at 09:00, and one hour before.
        let day_before = START - DAY - 3600;
        assert_eq!(
            due,
            [
                ("l1".into(), START - 3600),
                ("l2".into(), START - 3600),
                ("l1".into(), day_before),
                ("l2".into(), day_before)
            ]
        );
        let moved = Session {
            starts_at: START + DAY,
            ends_at: START + DAY + 3600,
            ..session()
        };
        edit_session(&db, "p", "admin", &moved, NOW).unwrap();
        let reminders = of_kind(&db, Kind::SessionReminder);
        let (old, new): (Vec<_>, Vec<_>) = reminders
            .iter()
            .partition(|r| r.0.ends_with(&START.to_string()));
        assert!(
            old.iter()
                .all(|r| r.2 == DeliveryStatus::Skipped && r.3.as_deref() == Some("session_moved"))
        );
        assert_eq!(new.len(), 4);
        // The day before the new start at 09:00 (an hour before the old start), and an hour before the new start.
        assert!(
            new.iter().all(|r| r.2 == DeliveryStatus::Queued
                && (r.4 == START - 3600 || r.4 == START + DAY - 3600))
        );
        // Turning reminders off skips those to come; the one-hour rule alone schedules only it.
        crate::reminders::set_rules(&db, "p", "admin", &[], NOW).unwrap();
        assert!(
            of_kind(&db, Kind::SessionReminder)
                .iter()
                .all(|r| r.2 == DeliveryStatus::Skipped)
        );
        let hour = [crate::reminders::Rule::Before { minutes: 60 }];
        crate::reminders::set_rules(&db, "p", "admin", &hour, NOW).unwrap();
        assert_eq!(crate::reminders::rules(&db, "p").unwrap(), hour);
        let queued: Vec<_> = of_kind(&db, Kind::SessionReminder)
            .into_iter()
            .filter(|r| r.2 == DeliveryStatus::Queued)
            .map(|r| (r.1, r.4))
            .collect();
        assert_eq!(
            queued,
            [
                ("l1".into(), START + DAY - 3600),
                ("l2".into(), START + DAY - 3600)
            ]
        );
    }

    #[test]
    fn a_cancelled_session_sends_nothing_more_but_the_updates_that_say_so() {
        let db = db(2);
        let invitation = invite_learners(&db, "p", &session(), "admin", NOW, Sending::Invitation)
            .unwrap()
            .notification_id
            .unwrap();
        sent(&db, &invitation, &["l1"]);
        let before = overview(&db, "p", "s").unwrap();
        assert_eq!(
            before,
            Overview {
                revision: 1,
                reminders_to_come: 4,
                next_reminder: Some(START - DAY - 3600)
            }
        );
        // What the confirmation says: l1's message is updated; l2's invitation and the four reminders are not sent.
        let preview = cancel_preview(&db, "p", "s").unwrap();
        assert_eq!(
            preview,
            CancelPreview {
                updates: 1,
                not_sent: 5
            }
        );
        let cancelled = cancel_session(&db, "p", "admin", "s", NOW).unwrap();
        assert_eq!(cancelled.updates, preview.updates);
        let after = overview(&db, "p", "s").unwrap();
        assert_eq!(
            (after.revision, after.reminders_to_come, after.next_reminder),
            (2, 0, None)
        );
        assert_eq!(status(&db, "p", "s").unwrap(), Status::Cancelled(NOW));
        let invitations: Vec<_> = Outbox::new(db.clone())
            .deliveries("p", &invitation)
            .unwrap()
            .into_iter()
            .map(|d| (d.user_id, d.status, d.reason_code))
            .collect();
        assert_eq!(
            invitations,
            [
                ("l1".into(), DeliveryStatus::Sent, None),
                (
                    "l2".into(),
                    DeliveryStatus::Skipped,
                    Some(outbox::SESSION_CANCELLED.into())
                )
            ]
        );
        assert!(
            of_kind(&db, Kind::SessionReminder)
                .iter()
                .all(|r| r.2 == DeliveryStatus::Skipped)
        );
        let updates = of_kind(&db, Kind::SessionUpdate);
        assert_eq!(
            (updates[0].1.as_str(), updates[0].2),
            ("l1", DeliveryStatus::Queued)
        );
        // Nothing changes a cancelled session, and nobody is invited to it.
        let refusal = |e: anyhow::Error| e.downcast::<SessionRefused>().unwrap();
        assert_eq!(
            refusal(cancel_session(&db, "p", "admin", "s", NOW).unwrap_err()),
            SessionRefused::Cancelled
        );
        let renamed = Session {
            title: "Other".into(),
            ..session()
        };
        assert_eq!(
            refusal(edit_session(&db, "p", "admin", &renamed, NOW).unwrap_err()),
            SessionRefused::Cancelled
        );
        let again = invite_learners(&db, "p", &session(), "admin", NOW, Sending::Reminder);
        assert_eq!(refusal(again.unwrap_err()), SessionRefused::Cancelled);
    }
}
