//! Scheduled "Slack message" steps of a path (M6): an author adds a step with its own text and when it goes out, at
//! a date and time or at an offset from each learner's enrolment. The scheduler turns due steps into outbox
//! deliveries, once per (step, learner) thanks to the outbox's unique key; its clock is whatever `now` it is given.
//!
//! The rules an author sees on the page:
//! - a date already past is refused (the current minute is not past: such a step goes out at once);
//! - a paused step sends nothing; when it is resumed, what fell due while it was paused goes out at once;
//! - a step can be edited until it starts sending (its first delivery is queued): after that, the learners who got
//!   it would read another text than those still to get it, so an edit is refused (pause or delete it, add another);
//! - deleting a step stops it; what it already sent stays in Slack and in the delivery log.

use crate::db::{Db, Role, now};
use crate::integration::{Lms, Tile};
use crate::outbox::{Kind, NewNotification, Outbox};
use crate::sql::{OptionalExtension, params};
use anyhow::Result;

/// How far back a date may be and still count as "now": the form gives minutes, so a step set for the current minute
/// is not refused as past.
pub const PAST_GRACE_SECS: i64 = 60;

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
    /// Since when the step is paused (Unix seconds); `None` while it runs.
    pub paused_since: Option<i64>,
}

/// What an author writes in a step: its title, its text and when it goes out.
#[derive(Debug, Clone, Copy)]
pub struct StepDraft<'a> {
    /// The message's title (its e-mail subject).
    pub title: &'a str,
    /// The author's text.
    pub text: &'a str,
    /// When.
    pub schedule: Schedule,
}

/// Why a step was not added or changed. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepRefused {
    /// The user is neither an author nor an admin.
    NotAuthor,
    /// The Slack integration is not active.
    NotActive,
    /// The title or the text is empty.
    Incomplete,
    /// There is no such path on the platform.
    NoPath(String),
    /// There is no such step on the platform (deleted meanwhile, say).
    NoStep,
    /// An offset from enrolment below zero.
    NegativeOffset,
    /// A date more than [`PAST_GRACE_SECS`] before now.
    Past,
    /// The step has started sending: it can no longer be edited.
    Started,
}

impl std::fmt::Display for StepRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepRefused::NotAuthor => f.write_str("Only authors and admins may change the steps of a path."),
            StepRefused::NotActive => f.write_str(
                "Slack message steps need the Slack integration to be active: ask a platform admin to activate it first.",
            ),
            StepRefused::Incomplete => f.write_str("A Slack message step needs a title and a text."),
            StepRefused::NoPath(id) => write!(f, "There is no path {id} on this platform."),
            StepRefused::NoStep => f.write_str("This step no longer exists."),
            StepRefused::NegativeOffset => f.write_str("An offset from enrolment cannot be negative."),
            StepRefused::Past => {
                f.write_str("This date is already past: choose a date and time to come.")
            }
            StepRefused::Started => f.write_str(
                "This step has started sending, so it can no longer be edited: pause or delete it, and add a new step.",
            ),
        }
    }
}

impl std::error::Error for StepRefused {}

/// Where a step stands, as its author sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Paused: nothing goes out until it is resumed.
    Paused,
    /// Nothing went out yet.
    Pending,
    /// It went out to some of the enrolled learners; others are still to get it.
    PartlySent,
    /// Every enrolled learner has had it (sent, or skipped or failed with a reason in the delivery log).
    Sent,
}

/// What became of a step, per learner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StepProgress {
    /// Learners enrolled in the step's path.
    pub enrolled: i64,
    /// Delivered.
    pub sent: i64,
    /// Not sent on purpose (no Slack account, a preference, …).
    pub skipped: i64,
    /// Failed for good.
    pub failed: i64,
    /// Queued or being sent.
    pub sending: i64,
}

impl StepProgress {
    /// Enrolled learners the step has not reached yet (not due for them, or paused).
    pub fn to_come(&self) -> i64 {
        (self.enrolled - self.done() - self.sending).max(0)
    }

    /// Learners whose delivery is over: sent, skipped or failed.
    pub fn done(&self) -> i64 {
        self.sent + self.skipped + self.failed
    }

    /// Whether the step has started sending (a delivery of it exists): then it can no longer be edited.
    pub fn started(&self) -> bool {
        self.done() + self.sending > 0
    }

    /// Where the step stands.
    pub fn status(&self, step: &PathStep) -> StepStatus {
        if step.paused_since.is_some() {
            StepStatus::Paused
        } else if self.done() == 0 {
            StepStatus::Pending
        } else if self.to_come() == 0 && self.sending == 0 {
            StepStatus::Sent
        } else {
            StepStatus::PartlySent
        }
    }
}

impl Schedule {
    /// The columns `send_at` and `offset_secs`, once the schedule is checked against `now`.
    fn columns(self, now: i64) -> Result<(Option<i64>, Option<i64>), StepRefused> {
        match self {
            Schedule::At(at) if at < now - PAST_GRACE_SECS => Err(StepRefused::Past),
            Schedule::At(at) => Ok((Some(at), None)),
            Schedule::AfterEnrolment(secs) if secs < 0 => Err(StepRefused::NegativeOffset),
            Schedule::AfterEnrolment(secs) => Ok((None, Some(secs))),
        }
    }

    fn of_columns(send_at: Option<i64>, offset: Option<i64>) -> Schedule {
        match (send_at, offset) {
            (Some(at), _) => Schedule::At(at),
            (None, offset) => Schedule::AfterEnrolment(offset.unwrap_or(0)),
        }
    }
}

impl StepDraft<'_> {
    /// The draft's columns, checked: a title and a text, and a schedule that is not past at `now`.
    fn checked(&self, now: i64) -> Result<(Option<i64>, Option<i64>), StepRefused> {
        if self.text.trim().is_empty() || self.title.trim().is_empty() {
            return Err(StepRefused::Incomplete);
        }
        self.schedule.columns(now)
    }
}

const STEP_COLUMNS: &str = "id, path_id, title, text, send_at, offset_secs, paused_at";

fn step_of_row(r: &crate::sql::Row<'_>) -> rusqlite::Result<PathStep> {
    Ok(PathStep {
        id: r.get(0)?,
        path_id: r.get(1)?,
        title: r.get(2)?,
        text: r.get(3)?,
        schedule: Schedule::of_columns(r.get(4)?, r.get(5)?),
        paused_since: r.get(6)?,
    })
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

    /// Refuses `user` unless they are an author or an admin, auditing the refusal of `action`.
    fn check_author(&self, platform_id: &str, user: &str, action: &str) -> Result<()> {
        let role = self.user(platform_id, user)?.map(|u| u.role);
        if !role.is_some_and(Role::is_author) {
            self.audit(platform_id, user, action, "not an author")?;
            return Err(StepRefused::NotAuthor.into());
        }
        Ok(())
    }

    /// Adds a "Slack message" step to a path, checked at `now` (a past date is refused). The integration's state is
    /// [`Lms::add_path_step`]'s concern.
    pub fn add_path_step(
        &self,
        platform_id: &str,
        author: &str,
        path_id: &str,
        draft: &StepDraft<'_>,
        now: i64,
    ) -> Result<PathStep> {
        self.check_author(platform_id, author, "path_step.refused")?;
        let (send_at, offset) = draft.checked(now)?;
        let path: Option<String> = self
            .conn()
            .query_row(
                "SELECT id FROM paths WHERE platform_id = ?1 AND id = ?2",
                [platform_id, path_id],
                |r| r.get(0),
            )
            .optional()?;
        if path.is_none() {
            return Err(StepRefused::NoPath(path_id.into()).into());
        }
        let id = format!(
            "step-{}",
            crate::outbox::delivery_id(platform_id, path_id, &format!("{}\u{0}{now}", draft.title))
        );
        self.conn().execute(
            "INSERT INTO path_steps (platform_id, id, path_id, title, text, send_at, offset_secs, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![platform_id, id, path_id, draft.title, draft.text, send_at, offset, author, now],
        )?;
        self.audit(
            platform_id,
            author,
            "path_step.added",
            &format!("{id} on {path_id}"),
        )?;
        self.path_step(platform_id, &id)?
            .ok_or_else(|| StepRefused::NoStep.into())
    }

    /// Changes a step's title, text and schedule, checked at `now`; refused once the step has started sending.
    pub fn edit_path_step(
        &self,
        platform_id: &str,
        author: &str,
        step_id: &str,
        draft: &StepDraft<'_>,
        now: i64,
    ) -> Result<PathStep> {
        self.check_author(platform_id, author, "path_step.refused")?;
        let (send_at, offset) = draft.checked(now)?;
        let step = self.existing_step(platform_id, step_id)?;
        if self.path_step_progress(platform_id, &step)?.started() {
            return Err(StepRefused::Started.into());
        }
        self.conn().execute(
            "UPDATE path_steps SET title = ?3, text = ?4, send_at = ?5, offset_secs = ?6
             WHERE platform_id = ?1 AND id = ?2",
            params![
                platform_id,
                step_id,
                draft.title,
                draft.text,
                send_at,
                offset
            ],
        )?;
        self.audit(platform_id, author, "path_step.edited", step_id)?;
        self.existing_step(platform_id, step_id)
    }

    /// Pauses (`paused`) or resumes a step at `now`. Resuming sends at the next run what fell due meanwhile. Pausing
    /// a paused step, or resuming a running one, changes nothing.
    pub fn pause_path_step(
        &self,
        platform_id: &str,
        author: &str,
        step_id: &str,
        paused: bool,
        now: i64,
    ) -> Result<PathStep> {
        self.check_author(platform_id, author, "path_step.refused")?;
        self.existing_step(platform_id, step_id)?;
        let changed = if paused {
            self.conn().execute(
                "UPDATE path_steps SET paused_at = ?3 WHERE platform_id = ?1 AND id = ?2 AND paused_at IS NULL",
                params![platform_id, step_id, now],
            )?
        } else {
            self.conn().execute(
                "UPDATE path_steps SET paused_at = NULL WHERE platform_id = ?1 AND id = ?2 AND paused_at IS NOT NULL",
                params![platform_id, step_id],
            )?
        };
        if changed > 0 {
            let action = if paused {
                "path_step.paused"
            } else {
                "path_step.resumed"
            };
            self.audit(platform_id, author, action, step_id)?;
        }
        self.existing_step(platform_id, step_id)
    }

    /// Deletes a step: it sends nothing more. What it sent stays in the delivery log.
    pub fn delete_path_step(
        &self,
        platform_id: &str,
        author: &str,
        step_id: &str,
    ) -> Result<PathStep> {
        self.check_author(platform_id, author, "path_step.refused")?;
        let step = self.existing_step(platform_id, step_id)?;
        self.conn().execute(
            "DELETE FROM path_steps WHERE platform_id = ?1 AND id = ?2",
            [platform_id, step_id],
        )?;
        self.audit(platform_id, author, "path_step.deleted", step_id)?;
        Ok(step)
    }

    /// A step, if it exists.
    pub fn path_step(&self, platform_id: &str, step_id: &str) -> Result<Option<PathStep>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {STEP_COLUMNS} FROM path_steps WHERE platform_id = ?1 AND id = ?2"
                ),
                [platform_id, step_id],
                step_of_row,
            )
            .optional()?)
    }

    fn existing_step(&self, platform_id: &str, step_id: &str) -> Result<PathStep> {
        self.path_step(platform_id, step_id)?
            .ok_or_else(|| StepRefused::NoStep.into())
    }

    /// The steps of a platform's paths.
    pub fn path_steps(&self, platform_id: &str) -> Result<Vec<PathStep>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {STEP_COLUMNS} FROM path_steps WHERE platform_id = ?1 ORDER BY path_id, created_at, id"
        ))?;
        let rows = stmt.query_map([platform_id], step_of_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// What became of a step: its path's enrolled learners and its deliveries by status.
    pub fn path_step_progress(&self, platform_id: &str, step: &PathStep) -> Result<StepProgress> {
        let conn = self.conn();
        let enrolled = conn.query_row(
            "SELECT COUNT(*) FROM enrolments WHERE platform_id = ?1 AND path_id = ?2",
            [platform_id, &step.path_id],
            |r| r.get(0),
        )?;
        let mut progress = StepProgress {
            enrolled,
            ..StepProgress::default()
        };
        let mut stmt = conn.prepare(
            "SELECT status, COUNT(*) FROM deliveries WHERE platform_id = ?1 AND notification_id = ?2 GROUP BY status",
        )?;
        let rows = stmt.query_map([platform_id, &step.id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (status, n) = row?;
            match status.as_str() {
                "sent" => progress.sent += n,
                "skipped" => progress.skipped += n,
                "failed" => progress.failed += n,
                _ => progress.sending += n,
            }
        }
        Ok(progress)
    }

    /// Queues every (running step, learner) that is due at `at`; returns how many deliveries were new. A step due
    /// while the integration is inactive is still queued: the outbox records it as skipped with the reason. A paused
    /// step queues nothing; once resumed, what fell due meanwhile is queued at the next run.
    pub fn schedule_due_steps(&self, platform_id: &str, at: i64) -> Result<usize> {
        let mut added = 0;
        let outbox = Outbox::new(self.clone());
        for step in self.path_steps(platform_id)? {
            if step.paused_since.is_some() {
                continue;
            }
            let users = self.due_learners(platform_id, &step, at)?;
            if users.is_empty() {
                continue;
            }
            let session_id = self.path_session(platform_id, &step.path_id)?;
            added += outbox.enqueue(
                platform_id,
                &NewNotification {
                    id: &step.id,
                    kind: Kind::PathStep,
                    title: &step.title,
                    session_id: session_id.as_deref(),
                    body: Some(&step.text),
                    mandatory: false,
                    not_before: match step.schedule {
                        Schedule::At(send_at) => send_at,
                        Schedule::AfterEnrolment(_) => 0,
                    },
                },
                &users,
            )?;
        }
        Ok(added)
    }

    /// The learners of `step`'s path for whom it is due at `at`.
    fn due_learners(&self, platform_id: &str, step: &PathStep, at: i64) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT user_id, enrolled_at FROM enrolments WHERE platform_id = ?1 AND path_id = ?2 ORDER BY user_id",
        )?;
        let rows = stmt.query_map([platform_id, &step.path_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let enrolled = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(enrolled
            .into_iter()
            .filter(|(_, enrolled_at)| match step.schedule {
                Schedule::At(send_at) => send_at <= at,
                Schedule::AfterEnrolment(offset) => enrolled_at + offset <= at,
            })
            .map(|(user, _)| user)
            .collect())
    }

    fn path_session(&self, platform_id: &str, path_id: &str) -> Result<Option<String>> {
        Ok(self
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

    /// Adds a "Slack message" step to a path now. Refused unless the author is an author or admin, unless the
    /// integration is active (M6), and when its date is past ([`Db::add_path_step`]).
    pub fn add_path_step(
        &self,
        platform_id: &str,
        author: &str,
        path_id: &str,
        title: &str,
        text: &str,
        schedule: Schedule,
    ) -> Result<PathStep> {
        self.db()
            .check_author(platform_id, author, "path_step.refused")?;
        if !matches!(self.tile(platform_id)?, Tile::Active(_)) {
            self.db().audit(
                platform_id,
                author,
                "path_step.refused",
                "integration not active",
            )?;
            return Err(StepRefused::NotActive.into());
        }
        let draft = StepDraft {
            title,
            text,
            schedule,
        };
        self.db()
            .add_path_step(platform_id, author, path_id, &draft, now())
    }

    /// Queues every (running step, learner) that is due at `at` ([`Db::schedule_due_steps`]).
    pub fn schedule_due_steps(&self, platform_id: &str, at: i64) -> Result<usize> {
        self.db().schedule_due_steps(platform_id, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::platform_with_users;

    const T0: i64 = 2_000_000_000;

    /// A platform with three learners enrolled in the path `path` at [`T0`], and an author.
    fn db() -> Db {
        let db = crate::test_support::memory_db();
        platform_with_users(&db, 3);
        let mut author = db.user("p", "l1").unwrap().unwrap();
        author.id = "author".into();
        author.role = Role::Author;
        db.upsert_user("p", &author).unwrap();
        db.upsert_path("p", "path", "Path", None).unwrap();
        for l in ["l1", "l2", "l3"] {
            db.conn()
                .execute(
                    "INSERT INTO enrolments (platform_id, path_id, user_id, enrolled_at) VALUES ('p', 'path', ?1, ?2)",
                    params![l, T0],
                )
                .unwrap();
        }
        db
    }

    fn draft(title: &str, schedule: Schedule) -> StepDraft<'_> {
        StepDraft {
            title,
            text: "Hello",
            schedule,
        }
    }

    fn refusal(e: anyhow::Error) -> StepRefused {
        e.downcast::<StepRefused>().expect("a step refusal")
    }

    fn progress(db: &Db, step: &PathStep) -> StepProgress {
        let step = db.path_step("p", &step.id).unwrap().unwrap();
        db.path_step_progress("p", &step).unwrap()
    }

    #[test]
    fn a_past_date_is_refused_and_the_current_minute_is_not() {
        let db = db();
        let e = db
            .add_path_step(
                "p",
                "author",
                "path",
                &draft("t", Schedule::At(T0 - 3_600)),
                T0,
            )
            .unwrap_err();
        assert_eq!(refusal(e), StepRefused::Past);
        assert!(db.path_steps("p").unwrap().is_empty(), "nothing was added");
        db.add_path_step(
            "p",
            "author",
            "path",
            &draft("t", Schedule::At(T0 - 30)),
            T0,
        )
        .unwrap();
        let e = db
            .add_path_step(
                "p",
                "author",
                "path",
                &draft("t", Schedule::AfterEnrolment(-1)),
                T0,
            )
            .unwrap_err();
        assert_eq!(refusal(e), StepRefused::NegativeOffset);
        let e = db
            .add_path_step("p", "l2", "path", &draft("t", Schedule::At(T0 + 60)), T0)
            .unwrap_err();
        assert_eq!(refusal(e), StepRefused::NotAuthor);
        let e = db
            .add_path_step(
                "p",
                "author",
                "nope",
                &draft("t", Schedule::At(T0 + 60)),
                T0,
            )
            .unwrap_err();
        assert_eq!(refusal(e), StepRefused::NoPath("nope".into()));
        let e = db
            .add_path_step(
                "p",
                "author",
                "path",
                &draft(" ", Schedule::At(T0 + 60)),
                T0,
            )
            .unwrap_err();
        assert_eq!(refusal(e), StepRefused::Incomplete);
    }

    #[test]
    fn each_step_goes_out_once_per_learner_when_due() {
        let db = db();
        let at = db
            .add_path_step(
                "p",
                "author",
                "path",
                &draft("at", Schedule::At(T0 + 3_600)),
                T0,
            )
            .unwrap();
        let after = db
            .add_path_step(
                "p",
                "author",
                "path",
                &draft("after", Schedule::AfterEnrolment(7_200)),
                T0,
            )
            .unwrap();
        assert_eq!(progress(&db, &at).status(&at), StepStatus::Pending);
        assert_eq!(db.schedule_due_steps("p", T0 + 3_599).unwrap(), 0);
        assert_eq!(db.schedule_due_steps("p", T0 + 3_600).unwrap(), 3);
        assert_eq!(db.schedule_due_steps("p", T0 + 3_601).unwrap(), 0, "once");
        assert_eq!(db.schedule_due_steps("p", T0 + 7_200).unwrap(), 3);
        assert_eq!(db.schedule_due_steps("p", T0 + 9_000).unwrap(), 0, "once");
        let p = progress(&db, &after);
        assert_eq!((p.enrolled, p.sending, p.to_come()), (3, 3, 0));
        assert!(p.started(), "queued: it can no longer be edited");
        assert_eq!(
            p.status(&after),
            StepStatus::Pending,
            "nothing went out yet"
        );
    }

    #[test]
    fn progress_counts_each_learner_and_says_sent_once_everyone_is_done() {
        let db = db();
        let step = db
            .add_path_step(
                "p",
                "author",
                "path",
                &draft("after", Schedule::AfterEnrolment(60)),
                T0,
            )
            .unwrap();
        db.schedule_due_steps("p", T0 + 60).unwrap();
        let set = |user: &str, status: &str| {
            db.conn()
                .execute(
                    "UPDATE deliveries SET status = ?2 WHERE notification_id = ?1 AND user_id = ?3",
                    params![step.id, status, user],
                )
                .unwrap();
        };
        set("l1", "sent");
        let p = progress(&db, &step);
        assert_eq!((p.sent, p.sending, p.to_come()), (1, 2, 0));
        assert_eq!(p.status(&step), StepStatus::PartlySent);
        set("l2", "skipped");
        set("l3", "failed");
        let p = progress(&db, &step);
        assert_eq!((p.sent, p.skipped, p.failed, p.sending), (1, 1, 1, 0));
        assert_eq!(p.status(&step), StepStatus::Sent);
        // A learner enrolled later has it to come: partly sent again.
        db.conn()
            .execute(
                "INSERT INTO enrolments (platform_id, path_id, user_id, enrolled_at) VALUES ('p', 'path', 'admin', ?1)",
                [T0 + 100],
            )
            .unwrap();
        let p = progress(&db, &step);
        assert_eq!((p.enrolled, p.to_come()), (4, 1));
        assert_eq!(p.status(&step), StepStatus::PartlySent);
    }

    #[test]
    fn a_paused_step_sends_nothing_and_on_resume_sends_what_fell_due_meanwhile() {
        let db = db();
        let step = db
            .add_path_step(
                "p",
                "author",
                "path",
                &draft("at", Schedule::At(T0 + 3_600)),
                T0,
            )
            .unwrap();
        let paused = db
            .pause_path_step("p", "author", &step.id, true, T0 + 10)
            .unwrap();
        assert_eq!(paused.paused_since, Some(T0 + 10));
        assert_eq!(progress(&db, &step).status(&paused), StepStatus::Paused);
        // Pausing again keeps when it was paused.
        db.pause_path_step("p", "author", &step.id, true, T0 + 20)
            .unwrap();
        assert_eq!(
            db.path_step("p", &step.id).unwrap().unwrap().paused_since,
            Some(T0 + 10)
        );
        assert_eq!(db.schedule_due_steps("p", T0 + 3_600).unwrap(), 0);
        assert_eq!(db.schedule_due_steps("p", T0 + 7_200).unwrap(), 0);
        assert!(!progress(&db, &step).started());
        let resumed = db
            .pause_path_step("p", "author", &step.id, false, T0 + 7_300)
            .unwrap();
        assert_eq!(resumed.paused_since, None);
        assert_eq!(
            db.schedule_due_steps("p", T0 + 7_300).unwrap(),
            3,
            "what fell due goes out"
        );
        assert_eq!(db.schedule_due_steps("p", T0 + 7_302).unwrap(), 0, "once");
        let audited: i64 = db
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM audit_log WHERE action IN ('path_step.paused', 'path_step.resumed')",
                (),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(audited, 2, "a pause of a paused step changes nothing");
        let e = db
            .pause_path_step("p", "l1", &step.id, true, T0 + 7_400)
            .unwrap_err();
        assert_eq!(refusal(e), StepRefused::NotAuthor);
    }

    #[test]
    fn a_step_is_edited_until_it_starts_sending() {
        let db = db();
        let step = db
            .add_path_step(
                "p",
                "author",
                "path",
                &draft("old", Schedule::At(T0 + 3_600)),
                T0,
            )
            .unwrap();
        let e = db
            .edit_path_step(
                "p",
                "author",
                &step.id,
                &draft("new", Schedule::At(T0 - 600)),
                T0,
            )
            .unwrap_err();
        assert_eq!(refusal(e), StepRefused::Past);
        let edited = db
            .edit_path_step(
                "p",
                "author",
                &step.id,
                &StepDraft {
                    title: "new",
                    text: "New text",
                    schedule: Schedule::At(T0 + 7_200),
                },
                T0,
            )
            .unwrap();
        assert_eq!(
            (edited.title.as_str(), edited.text.as_str(), edited.schedule),
            ("new", "New text", Schedule::At(T0 + 7_200))
        );
        assert_eq!(edited.id, step.id);
        assert_eq!(
            db.schedule_due_steps("p", T0 + 3_600).unwrap(),
            0,
            "the new date holds"
        );
        assert_eq!(db.schedule_due_steps("p", T0 + 7_200).unwrap(), 3);
        let title: String = db
            .conn()
            .query_row(
                "SELECT title FROM notifications WHERE id = ?1",
                [&step.id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(title, "new", "what goes out is the edited step");
        let e = db
            .edit_path_step(
                "p",
                "author",
                &step.id,
                &draft("newer", Schedule::At(T0 + 9_000)),
                T0,
            )
            .unwrap_err();
        assert_eq!(refusal(e), StepRefused::Started);
        assert_eq!(db.path_step("p", &step.id).unwrap().unwrap().title, "new");
    }

    #[test]
    fn a_deleted_step_sends_nothing_more_and_its_deliveries_stay() {
        let db = db();
        let sent = db
            .add_path_step("p", "author", "path", &draft("sent", Schedule::At(T0)), T0)
            .unwrap();
        let later = db
            .add_path_step(
                "p",
                "author",
                "path",
                &draft("later", Schedule::At(T0 + 3_600)),
                T0,
            )
            .unwrap();
        assert_eq!(db.schedule_due_steps("p", T0).unwrap(), 3);
        db.delete_path_step("p", "author", &sent.id).unwrap();
        db.delete_path_step("p", "author", &later.id).unwrap();
        assert!(db.path_steps("p").unwrap().is_empty());
        assert_eq!(db.schedule_due_steps("p", T0 + 3_600).unwrap(), 0);
        assert_eq!(
            Outbox::new(db.clone())
                .deliveries("p", &sent.id)
                .unwrap()
                .len(),
            3
        );
        let e = db.delete_path_step("p", "author", &later.id).unwrap_err();
        assert_eq!(refusal(e), StepRefused::NoStep);
        let e = db
            .edit_path_step(
                "p",
                "author",
                &later.id,
                &draft("x", Schedule::At(T0 + 60)),
                T0,
            )
            .unwrap_err();
        assert_eq!(refusal(e), StepRefused::NoStep);
    }
}
