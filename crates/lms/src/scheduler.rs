//! Scheduled "Slack message" steps of a path (M6): an author adds a step with its own text and when it goes out, at
//! a date and time or at an offset from each learner's enrolment. The scheduler turns due steps into outbox
//! deliveries, once per (step, learner) thanks to the outbox's unique key; its clock is whatever `now` it is given.

use crate::db::Role;
use crate::db::{Db, now};
use crate::integration::{Lms, Tile};
use crate::outbox::{Kind, NewNotification};
use anyhow::{Result, bail};
use rusqlite::{OptionalExtension, params};

/// When a step goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// At this instant (Unix seconds), to every learner enrolled by then.
    At(i64),
    /// This many seconds after each learner's enrolment.
    AfterEnrolment(i64),
}

/// A step as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PathStep {
    /// Id.
    pub id: String,
    /// The path.
    pub path_id: String,
    /// The message's title (its e-mail subject).
    pub title: String,
    /// The author's text.
    pub text: String,
    /// When.
    pub schedule: Schedule,
}

impl Db {
    /// Creates or updates a path (optionally tied to a session).
    pub fn upsert_path(
        &self,
        platform_id: &str,
        path_id: &str,
        title: &str,
        session_id: Option<&str>,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO paths (platform_id, id, title, session_id) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (platform_id, id) DO UPDATE SET title = ?3, session_id = ?4",
            params![platform_id, path_id, title, session_id],
        )?;
        Ok(())
    }
}

impl Lms {
    /// Enrols a learner in a path at `at`.
    pub fn enrol(&self, platform_id: &str, path_id: &str, user_id: &str, at: i64) -> Result<()> {
        self.db().conn().execute(
            "INSERT INTO enrolments (platform_id, path_id, user_id, enrolled_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (platform_id, path_id, user_id) DO NOTHING",
            params![platform_id, path_id, user_id, at],
        )?;
        Ok(())
    }

    /// Adds a "Slack message" step to a path. Refused unless the author is an author or admin, and unless the
    /// integration is active (M6).
    pub fn add_path_step(
        &self,
        platform_id: &str,
        author: &str,
        path_id: &str,
        title: &str,
        text: &str,
        schedule: Schedule,
    ) -> Result<PathStep> {
        let role = self.db().user(platform_id, author)?.map(|u| u.role);
        if !role.is_some_and(Role::is_author) {
            self.db()
                .audit(platform_id, author, "path_step.refused", "not an author")?;
            bail!("Only authors and admins may add steps to a path.");
        }
        if !matches!(self.tile(platform_id)?, Tile::Active(_)) {
            self.db().audit(
                platform_id,
                author,
                "path_step.refused",
                "integration not active",
            )?;
            bail!(
                "Slack message steps need the Slack integration to be active: ask a platform admin to activate it first."
            );
        }
        if text.trim().is_empty() || title.trim().is_empty() {
            bail!("A Slack message step needs a title and a text.");
        }
        let path: Option<String> = self
            .db()
            .conn()
            .query_row(
                "SELECT id FROM paths WHERE platform_id = ?1 AND id = ?2",
                [platform_id, path_id],
                |r| r.get(0),
            )
            .optional()?;
        if path.is_none() {
            bail!("There is no path {path_id} on this platform.");
        }
        let (send_at, offset) = match schedule {
            Schedule::At(at) => (Some(at), None),
            Schedule::AfterEnrolment(secs) if secs >= 0 => (None, Some(secs)),
            Schedule::AfterEnrolment(_) => bail!("An offset from enrolment cannot be negative."),
        };
        let id = format!(
            "step-{}",
            crate::outbox::delivery_id(platform_id, path_id, &format!("{title}\u{0}{}", now()))
        );
        self.db().conn().execute(
            "INSERT INTO path_steps (platform_id, id, path_id, title, text, send_at, offset_secs, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![platform_id, id, path_id, title, text, send_at, offset, author, now()],
        )?;
        self.db().audit(
            platform_id,
            author,
            "path_step.added",
            &format!("{id} on {path_id}"),
        )?;
        Ok(PathStep {
            id,
            path_id: path_id.into(),
            title: title.into(),
            text: text.into(),
            schedule,
        })
    }

    /// The steps of a platform's paths.
    pub fn path_steps(&self, platform_id: &str) -> Result<Vec<PathStep>> {
        let conn = self.db().conn();
        let mut stmt = conn.prepare(
            "SELECT id, path_id, title, text, send_at, offset_secs FROM path_steps WHERE platform_id = ?1
             ORDER BY path_id, created_at, id",
        )?;
        let rows = stmt.query_map([platform_id], |r| {
            let send_at: Option<i64> = r.get(4)?;
            let offset: Option<i64> = r.get(5)?;
            Ok(PathStep {
                id: r.get(0)?,
                path_id: r.get(1)?,
                title: r.get(2)?,
                text: r.get(3)?,
                schedule: match (send_at, offset) {
                    (Some(at), _) => Schedule::At(at),
                    (None, offset) => Schedule::AfterEnrolment(offset.unwrap_or(0)),
                },
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Queues every (step, learner) that is due at `at`; returns how many deliveries were new. A step due while the
    /// integration is inactive is still queued: the outbox records it as skipped with the reason.
    pub fn schedule_due_steps(&self, platform_id: &str, at: i64) -> Result<usize> {
        let mut added = 0;
        for step in self.path_steps(platform_id)? {
            let due: Vec<(String, i64)> = {
                let conn = self.db().conn();
                let mut stmt = conn.prepare(
                    "SELECT user_id, enrolled_at FROM enrolments WHERE platform_id = ?1 AND path_id = ?2 ORDER BY user_id",
                )?;
                let rows =
                    stmt.query_map([platform_id, &step.path_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let (session_id, users, not_before): (Option<String>, Vec<String>, i64) =
                match step.schedule {
                    Schedule::At(send_at) if send_at <= at => (
                        self.path_session(platform_id, &step.path_id)?,
                        due.into_iter().map(|(u, _)| u).collect(),
                        send_at,
                    ),
                    Schedule::At(_) => continue,
                    Schedule::AfterEnrolment(offset) => (
                        self.path_session(platform_id, &step.path_id)?,
                        due.into_iter()
                            .filter(|(_, enrolled)| enrolled + offset <= at)
                            .map(|(u, _)| u)
                            .collect(),
                        0,
                    ),
                };
            if users.is_empty() {
                continue;
            }
            added += self.outbox().enqueue(
                platform_id,
                &NewNotification {
                    id: &step.id,
                    kind: Kind::PathStep,
                    title: &step.title,
                    session_id: session_id.as_deref(),
                    body: Some(&step.text),
                    mandatory: false,
                    not_before,
                },
                &users,
            )?;
        }
        Ok(added)
    }

    fn path_session(&self, platform_id: &str, path_id: &str) -> Result<Option<String>> {
        Ok(self
            .db()
            .conn()
            .query_row(
                "SELECT session_id FROM paths WHERE platform_id = ?1 AND id = ?2",
                [platform_id, path_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }
}
