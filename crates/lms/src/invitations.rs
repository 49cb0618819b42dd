//! Inviting a platform's learners to a session: one notification and a queued delivery per learner in the outbox,
//! the invitation in the audit log, and the learners enrolled in the session's paths (for their "Slack message"
//! steps). Nothing is sent here: the workers send what the outbox holds.

use crate::db::{Db, Role, Session};
use crate::outbox::{Kind, NewNotification, Outbox};
use anyhow::Result;
use rusqlite::params;

/// An invitation written to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The notification's id.
    pub notification_id: String,
    /// The learners invited.
    pub learners: Vec<String>,
}

/// Invites every learner of `platform_id` to `session` at `at` (Unix seconds), for `actor`.
pub fn invite_learners(
    db: &Db,
    platform_id: &str,
    session: &Session,
    actor: &str,
    at: i64,
) -> Result<Invitation> {
    let learners = learners(db, platform_id)?;
    let notification_id = format!("invite-{}-{at}-{:04x}", session.id, rand::random::<u16>());
    Outbox::new(db.clone()).enqueue(
        platform_id,
        &NewNotification {
            id: &notification_id,
            kind: Kind::SessionAssignment,
            title: &format!("You are invited to {}", session.title),
            session_id: Some(&session.id),
            body: None,
            mandatory: false,
            not_before: 0,
        },
        &learners,
    )?;
    db.audit(platform_id, actor, "session.invite", &notification_id)?;
    enrol_in_paths_of(db, platform_id, &session.id, &learners, at)?;
    Ok(Invitation {
        notification_id,
        learners,
    })
}

/// The ids of the platform's learners.
fn learners(db: &Db, platform_id: &str) -> Result<Vec<String>> {
    let conn = db.conn();
    let mut stmt =
        conn.prepare("SELECT id FROM users WHERE platform_id = ?1 AND role = ?2 ORDER BY id")?;
    let rows = stmt.query_map(params![platform_id, Role::Learner], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Enrols `learners` at `at` in every path of the session, in one transaction (those already enrolled keep their
/// date).
fn enrol_in_paths_of(
    db: &Db,
    platform_id: &str,
    session_id: &str,
    learners: &[String],
    at: i64,
) -> Result<()> {
    let mut conn = db.conn();
    let tx = crate::db::write(&mut conn)?;
    let paths: Vec<String> = {
        let mut stmt =
            tx.prepare("SELECT id FROM paths WHERE platform_id = ?1 AND session_id = ?2")?;
        let rows = stmt.query_map([platform_id, session_id], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    {
        let mut enrol = tx.prepare(
            "INSERT INTO enrolments (platform_id, path_id, user_id, enrolled_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (platform_id, path_id, user_id) DO NOTHING",
        )?;
        for path in &paths {
            for learner in learners {
                enrol.execute(params![platform_id, path, learner, at])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::SecretBox;
    use crate::test_support::platform_with_users;
    use std::path::Path;

    #[test]
    fn every_learner_is_queued_and_enrolled_in_the_session_s_paths_and_nothing_else() {
        let db = Db::open(Path::new(":memory:"), SecretBox::new([7; 32])).unwrap();
        platform_with_users(&db, 3);
        let session = Session {
            id: "s".into(),
            title: "Onboarding".into(),
            description: "d".into(),
            cover_url: None,
            starts_at: 0,
            ends_at: 1,
        };
        db.upsert_session("p", &session).unwrap();
        db.upsert_path("p", "path-of-s", "Path", Some("s")).unwrap();
        db.upsert_path("p", "other-path", "Other", None).unwrap();
        let invitation = invite_learners(&db, "p", &session, "author", 1_000).unwrap();
        assert_eq!(invitation.learners, ["l1", "l2", "l3"]);
        assert!(invitation.notification_id.starts_with("invite-s-1000-"));
        let deliveries = Outbox::new(db.clone())
            .deliveries("p", &invitation.notification_id)
            .unwrap();
        let users: Vec<&str> = deliveries.iter().map(|d| d.user_id.as_str()).collect();
        assert_eq!(users, ["l1", "l2", "l3"], "the admin is not invited");
        let conn = db.conn();
        let enrolled: Vec<(String, String, i64)> = conn
            .prepare("SELECT path_id, user_id, enrolled_at FROM enrolments ORDER BY user_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            enrolled,
            ["l1", "l2", "l3"].map(|u| ("path-of-s".to_string(), u.to_string(), 1_000))
        );
        let audited: String = conn
            .query_row(
                "SELECT detail FROM audit_log WHERE actor = 'author' AND action = 'session.invite'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(audited, invitation.notification_id);
    }
}
