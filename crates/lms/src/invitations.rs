//! Inviting a platform's learners to a session: once per (session, learner), however many times "Invite learners"
//! is clicked at once (a unique key, not a look before writing), unless the author sends a reminder to those already
//! invited. What an invitation would do is shown first ([`preview`]). An invitation writes one notification and a
//! queued delivery per learner in the outbox, the invitation in the audit log, and enrols the learners in the
//! session's paths (for their "Slack message" steps). Nothing is sent here: the workers send what the outbox holds.

use crate::db::{Db, Role, Session, User};
use crate::lang::Lang;
use crate::outbox::{self, Kind, NewNotification};
use crate::sql::params;
use anyhow::Result;
use std::collections::HashSet;

/// An invitation's title, the e-mail subject, in a learner's language: the one place it is written.
pub fn subject(session_title: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("You are invited to {session_title}"),
        Lang::Fr => format!("Vous êtes invité·e à « {session_title} »"),
    }
}

/// A reminder's title, the e-mail subject, in a learner's language ([`crate::reminders`]).
pub fn reminder_subject(session_title: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("Reminder: {session_title} starts soon"),
        Lang::Fr => format!("Rappel : « {session_title} » commence bientôt"),
    }
}

/// Whom an invitation goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// The learners not invited to the session yet.
    Invitation,
    /// A reminder: the invitation again, to the learners already invited.
    Reminder,
}

/// What inviting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The notification's id; `None` when it went to nobody (every learner was already invited, or a reminder found
    /// nobody invited yet).
    pub notification_id: Option<String>,
    /// The learners it goes to.
    pub learners: Vec<String>,
    /// The learners left out because they were already invited (an invitation, not a reminder).
    pub already_invited: Vec<String>,
}

/// Invites the learners of `platform_id` to `session` at `at` (Unix seconds), for `actor`: those not invited yet, or,
/// for a [`Sending::Reminder`], those already invited. The learners it goes to are recorded as invited in the same
/// transaction as their deliveries, under a unique key: two invitations at once send once.
pub fn invite_learners(
    db: &Db,
    platform_id: &str,
    session: &Session,
    actor: &str,
    at: i64,
    sending: Sending,
) -> Result<Invitation> {
    let prefix = match sending {
        Sending::Invitation => "invite",
        Sending::Reminder => "reminder",
    };
    let notification_id = format!("{prefix}-{}-{at}-{:04x}", session.id, rand::random::<u16>());
    let (learners, already_invited) = {
        let mut conn = db.conn();
        let tx = conn.write()?;
        crate::sessions::check_open(&tx, platform_id, &session.id)?;
        let everyone = learners(&tx, platform_id)?;
        let (learners, already) = match sending {
            Sending::Invitation => {
                let mut new = Vec::new();
                let mut already = Vec::new();
                let mut record = tx.prepare(
                    "INSERT INTO invitations (platform_id, session_id, user_id, notification_id, invited_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (platform_id, session_id, user_id) DO NOTHING",
                )?;
                for learner in everyone {
                    if record.execute(params![
                        platform_id,
                        session.id,
                        learner,
                        notification_id,
                        at
                    ])? == 1
                    {
                        new.push(learner);
                    } else {
                        already.push(learner);
                    }
                }
                (new, already)
            }
            Sending::Reminder => {
                let invited = invited(&tx, platform_id, &session.id)?;
                let already = everyone.into_iter().filter(|l| invited.contains(l));
                (already.collect(), Vec::new())
            }
        };
        if !learners.is_empty() {
            outbox::enqueue_in(
                &tx,
                platform_id,
                &NewNotification {
                    id: &notification_id,
                    kind: Kind::SessionAssignment,
                    title: &subject(&session.title, Lang::En),
                    session_id: Some(&session.id),
                    body: None,
                    mandatory: false,
                    not_before: 0,
                },
                &learners,
            )?;
            if sending == Sending::Invitation {
                crate::reminders::schedule(&tx, platform_id, &session.id, &learners, at)?;
            }
        }
        tx.commit()?;
        (learners, already)
    };
    if learners.is_empty() {
        return Ok(Invitation {
            notification_id: None,
            learners,
            already_invited,
        });
    }
    let action = match sending {
        Sending::Invitation => "session.invite",
        Sending::Reminder => "session.remind",
    };
    db.audit(platform_id, actor, action, &notification_id)?;
    enrol_in_paths_of(db, platform_id, &session.id, &learners, at)?;
    Ok(Invitation {
        notification_id: Some(notification_id),
        learners,
        already_invited,
    })
}

/// Learners as an invitation would reach them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    /// Every learner of the group.
    pub learners: Vec<User>,
    /// Those with no account in the messaging service, as the last outcome of a message to them says.
    pub no_account: Vec<User>,
    /// Those who turned off the notifications of invitations.
    pub opted_out: Vec<User>,
}

impl Audience {
    /// How many would get the message in the messaging service, as far as the LMS knows.
    pub fn reached(&self) -> usize {
        self.learners
            .iter()
            .filter(|l| !self.no_account.contains(l) && !self.opted_out.contains(l))
            .count()
    }
}

/// What inviting the learners to a session would do now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    /// The learners not invited yet: an invitation goes to them.
    pub new: Audience,
    /// The learners already invited: only a reminder goes to them.
    pub already_invited: Audience,
}

/// What inviting the learners of `platform_id` to `session_id` would do now: who is new and who was already invited,
/// and of each, who has no account in the messaging service (as last known) and who turned invitations off.
pub fn preview(db: &Db, platform_id: &str, session_id: &str) -> Result<Preview> {
    let conn = db.conn();
    let invited = invited(&conn, platform_id, session_id)?;
    let no_account = no_account(&conn, platform_id)?;
    let everyone: Vec<User> = {
        let mut stmt = conn.prepare(
            "SELECT id, email, display_name, locale, time_zone, role FROM users
             WHERE platform_id = ?1 AND role = ?2 ORDER BY display_name, id",
        )?;
        let rows = stmt.query_map(params![platform_id, Role::Learner], crate::db::user_row)?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut preview = Preview::default();
    for learner in everyone {
        let audience = if invited.contains(&learner.id) {
            &mut preview.already_invited
        } else {
            &mut preview.new
        };
        if no_account.contains(&learner.id) {
            audience.no_account.push(learner.clone());
        }
        if !outbox::preference_on(
            &conn,
            platform_id,
            &learner.id,
            Kind::SessionAssignment.preference(),
        )? {
            audience.opted_out.push(learner.clone());
        }
        audience.learners.push(learner);
    }
    Ok(preview)
}

/// The ids of the platform's learners.
fn learners(conn: &crate::sql::Conn, platform_id: &str) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare("SELECT id FROM users WHERE platform_id = ?1 AND role = ?2 ORDER BY id")?;
    let rows = stmt.query_map(params![platform_id, Role::Learner], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The learners already invited to a session.
fn invited(
    conn: &crate::sql::Conn,
    platform_id: &str,
    session_id: &str,
) -> Result<HashSet<String>> {
    let mut stmt =
        conn.prepare("SELECT user_id FROM invitations WHERE platform_id = ?1 AND session_id = ?2")?;
    let rows = stmt.query_map([platform_id, session_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The users whose last message's outcome was "no account": the last one sent or found without an account.
fn no_account(conn: &crate::sql::Conn, platform_id: &str) -> Result<HashSet<String>> {
    let mut stmt = conn.prepare(
        "SELECT user_id, status = 'skipped' FROM deliveries
         WHERE platform_id = ?1 AND (status = 'sent' OR (status = 'skipped' AND reason_code = ?2))
         ORDER BY updated_at, rowid",
    )?;
    let rows = stmt.query_map(params![platform_id, outbox::NO_ACCOUNT], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
    })?;
    let mut users = HashSet::new();
    for row in rows {
        let (user, missing) = row?;
        if missing {
            users.insert(user);
        } else {
            users.remove(&user);
        }
    }
    Ok(users)
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
    let tx = conn.write()?;
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
    use crate::outbox::{DeliveryStatus, Outbox};
    use crate::secrets::SecretBox;
    use crate::test_support::{TempDir, platform_with_users};

    fn session() -> Session {
        Session {
            id: "s".into(),
            title: "Onboarding".into(),
            description: "d".into(),
            cover_url: None,
            starts_at: 0,
            ends_at: 1,
        }
    }

    fn db(learners: usize) -> Db {
        let db = crate::test_support::memory_db();
        platform_with_users(&db, learners);
        db.upsert_session("p", &session()).unwrap();
        db
    }

    fn users(db: &Db, notification: &str) -> Vec<(String, DeliveryStatus)> {
        Outbox::new(db.clone())
            .deliveries("p", notification)
            .unwrap()
            .into_iter()
            .map(|d| (d.user_id, d.status))
            .collect()
    }

    #[test]
    fn the_subject_is_written_in_the_learner_s_language() {
        assert_eq!(
            subject("Safety & you", Lang::En),
            "You are invited to Safety & you"
        );
        assert_eq!(
            subject("Safety & you", Lang::Fr),
            "Vous êtes invité·e à « Safety & you »"
        );
        assert_eq!(
            subject("X", Lang::of_locale("fr-CA")),
            subject("X", Lang::Fr)
        );
        // An invitation's title follows the session's title in each language; a step's is its author's text.
        let fr = outbox::title_in(Kind::SessionAssignment, "ignored", Some("X"), Lang::Fr);
        assert_eq!(fr, subject("X", Lang::Fr));
        let step = outbox::title_in(Kind::PathStep, "Hi *there*", Some("X"), Lang::Fr);
        assert_eq!(step, "Hi *there*", "an author's own text is not translated");
    }

    #[test]
    fn every_learner_is_queued_and_enrolled_in_the_session_s_paths_and_nothing_else() {
        let db = db(3);
        db.upsert_path("p", "path-of-s", "Path", Some("s")).unwrap();
        db.upsert_path("p", "other-path", "Other", None).unwrap();
        let invitation =
            invite_learners(&db, "p", &session(), "author", 1_000, Sending::Invitation).unwrap();
        assert_eq!(invitation.learners, ["l1", "l2", "l3"]);
        let id = invitation.notification_id.unwrap();
        assert!(id.starts_with("invite-s-1000-"));
        let queued = users(&db, &id);
        assert_eq!(
            queued,
            ["l1", "l2", "l3"].map(|u| (u.to_string(), DeliveryStatus::Queued)),
            "the admin is not invited"
        );
        let conn = db.conn();
        let title: String = conn
            .query_row(
                "SELECT title FROM notifications WHERE id = ?1",
                [&id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(title, subject("Onboarding", Lang::En));
        let enrolled: Vec<(String, String, i64)> = conn
            .prepare("SELECT path_id, user_id, enrolled_at FROM enrolments ORDER BY user_id")
            .unwrap()
            .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
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
                (),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(audited, id);
    }

    #[test]
    fn inviting_again_reaches_only_new_learners_and_a_reminder_only_those_already_invited() {
        let db = db(2);
        let first = invite_learners(&db, "p", &session(), "a", 1, Sending::Invitation).unwrap();
        assert_eq!(first.learners, ["l1", "l2"]);
        let again = invite_learners(&db, "p", &session(), "a", 2, Sending::Invitation).unwrap();
        assert_eq!(
            again,
            Invitation {
                notification_id: None,
                learners: vec![],
                already_invited: vec!["l1".into(), "l2".into()],
            },
            "nothing is sent again"
        );
        let count = |sql: &str| -> i64 { db.conn().query_row(sql, (), |r| r.get(0)).unwrap() };
        assert_eq!(
            count("SELECT COUNT(*) FROM notifications"),
            1,
            "no empty notification"
        );
        platform_with_users(&db, 3);
        let third = invite_learners(&db, "p", &session(), "a", 3, Sending::Invitation).unwrap();
        assert_eq!(
            (third.learners, third.already_invited.len()),
            (vec!["l3".to_string()], 2)
        );
        let reminder = invite_learners(&db, "p", &session(), "a", 4, Sending::Reminder).unwrap();
        let id = reminder.notification_id.unwrap();
        assert!(id.starts_with("reminder-s-4-"), "{id}");
        assert_eq!(
            users(&db, &id).len(),
            3,
            "a reminder goes to everyone already invited"
        );
        assert_eq!(count("SELECT COUNT(*) FROM deliveries"), 6);
        let other = Session {
            id: "other".into(),
            ..session()
        };
        db.upsert_session("p", &other).unwrap();
        let nobody = invite_learners(&db, "p", &other, "a", 5, Sending::Reminder).unwrap();
        assert_eq!(
            nobody.notification_id, None,
            "a reminder of nothing sends nothing"
        );
    }

    #[test]
    fn two_invitations_at_once_from_two_processes_send_once() {
        let dir = TempDir::new("concurrent-invite");
        let file = dir.path().join("lms.sqlite3");
        let key = SecretBox::new([7; 32]);
        let first = Db::open(&file, key.clone()).unwrap();
        platform_with_users(&first, 20);
        first.upsert_session("p", &session()).unwrap();
        let barrier = std::sync::Barrier::new(4);
        let invitations: Vec<Invitation> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|i| {
                    // Each its own connection, as separate processes (or clicks served at once) would have.
                    let db = Db::open(&file, key.clone()).unwrap();
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        invite_learners(&db, "p", &session(), "a", i, Sending::Invitation).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let sent: usize = invitations.iter().map(|i| i.learners.len()).sum();
        assert_eq!(sent, 20, "{invitations:?}");
        let deliveries: i64 = first
            .conn()
            .query_row("SELECT COUNT(*) FROM deliveries", (), |r| r.get(0))
            .unwrap();
        assert_eq!(deliveries, 20, "one delivery per learner");
        for i in &invitations {
            assert_eq!(i.learners.len() + i.already_invited.len(), 20);
        }
    }

    #[test]
    fn the_preview_counts_new_already_invited_opted_out_and_no_account_learners() {
        let db = db(4);
        invite_learners(&db, "p", &session(), "a", 1, Sending::Invitation).unwrap();
        // The last outcomes known: l1 had no account, l2 had none and then was found, l3 was sent.
        let outcome = |user: &str, status: &str, code: Option<&str>, at: i64| {
            db.conn()
                .execute(
                    "UPDATE deliveries SET status = ?2, reason_code = ?3, updated_at = ?4 WHERE user_id = ?1",
                    params![user, status, code, at],
                )
                .unwrap();
        };
        outcome("l1", "skipped", Some("no_account"), 10);
        outcome("l2", "skipped", Some("no_account"), 10);
        outcome("l3", "sent", None, 10);
        outcome("l4", "skipped", Some("opted_out"), 10);
        let reminder = Outbox::new(db.clone());
        reminder
            .enqueue(
                "p",
                &NewNotification {
                    id: "later",
                    kind: Kind::PathStep,
                    title: "t",
                    session_id: None,
                    body: None,
                    mandatory: false,
                    not_before: 0,
                },
                &["l2".to_string()],
            )
            .unwrap();
        db.conn()
            .execute("UPDATE deliveries SET status = 'sent', updated_at = 20 WHERE notification_id = 'later'", ())
            .unwrap();
        db.conn()
            .execute(
                "INSERT INTO preferences (platform_id, user_id, kind, enabled) VALUES ('p', 'l4', 'assigned_to_session', 0)",
                (),
            )
            .unwrap();
        // l5 joins after the invitation.
        platform_with_users(&db, 5);
        let p = preview(&db, "p", "s").unwrap();
        let ids = |users: &[User]| users.iter().map(|u| u.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&p.new.learners), ["l5"]);
        assert_eq!(p.new.reached(), 1);
        assert_eq!(ids(&p.already_invited.learners), ["l1", "l2", "l3", "l4"]);
        assert_eq!(
            ids(&p.already_invited.no_account),
            ["l1"],
            "l2 was found since"
        );
        assert_eq!(ids(&p.already_invited.opted_out), ["l4"]);
        assert_eq!(p.already_invited.reached(), 2);
    }

    #[test]
    fn learners_sharing_an_address_in_other_letter_case_get_one_delivery() {
        let db = db(3);
        let mut twin = db.user("p", "l1").unwrap().unwrap();
        twin.id = "l1-twin".into();
        twin.display_name = "Twin".into();
        twin.email = " L1@Example.ORG".into();
        db.upsert_user("p", &twin).unwrap();
        // l1 turned invitations off: the twin, who has not, receives it.
        db.conn()
            .execute(
                "INSERT INTO preferences (platform_id, user_id, kind, enabled) VALUES ('p', 'l1', 'assigned_to_session', 0)",
                (),
            )
            .unwrap();
        let invitation =
            invite_learners(&db, "p", &session(), "a", 1, Sending::Invitation).unwrap();
        let id = invitation.notification_id.unwrap();
        let deliveries = Outbox::new(db.clone()).deliveries("p", &id).unwrap();
        let l1 = deliveries.iter().find(|d| d.user_id == "l1").unwrap();
        assert_eq!(l1.status, DeliveryStatus::Skipped);
        assert_eq!(l1.reason_code.as_deref(), Some(outbox::SHARED_ADDRESS));
        assert_eq!(l1.shares_with.as_deref(), Some("l1-twin"));
        assert!(
            l1.reason
                .as_deref()
                .unwrap()
                .contains("with Twin (l1-twin), who receives the message"),
            "{:?}",
            l1.reason
        );
        let twin = deliveries.iter().find(|d| d.user_id == "l1-twin").unwrap();
        assert_eq!(
            (twin.status, twin.shares_with.as_deref()),
            (DeliveryStatus::Queued, None)
        );
        // Enqueued later for the same notification, a third account at that address shares it too.
        let mut third = db.user("p", "l2").unwrap().unwrap();
        third.id = "l1-third".into();
        third.email = "l1@example.org".into();
        db.upsert_user("p", &third).unwrap();
        let reminder = Outbox::new(db.clone());
        let n = NewNotification {
            id: &id,
            kind: Kind::SessionAssignment,
            title: "t",
            session_id: Some("s"),
            body: None,
            mandatory: false,
            not_before: 0,
        };
        assert_eq!(
            reminder
                .enqueue("p", &n, &["l1-third".to_string()])
                .unwrap(),
            1
        );
        let third = reminder
            .deliveries("p", &id)
            .unwrap()
            .into_iter()
            .find(|d| d.user_id == "l1-third")
            .unwrap();
        assert_eq!(third.shares_with.as_deref(), Some("l1-twin"));
        let queued = users(&db, &id)
            .into_iter()
            .filter(|(_, s)| *s == DeliveryStatus::Queued)
            .count();
        assert_eq!(queued, 3, "l1-twin, l2 and l3: one per address");
    }
}
