//! The delivery outbox: an invitation writes one delivery per (notification, recipient) in one transaction before
//! anything is sent; the runner claims due deliveries, hands them to the connector in batches, and records each
//! outcome. A learner's opt-outs are applied here, at send time.

use crate::db::{Delivery, now};
use crate::lms::Lms;
use crate::sandbox::wit;
use anyhow::{Context, Result, bail};
use rusqlite::{OptionalExtension, params};

/// Recipients handed to the connector in one call.
pub const BATCH: usize = 50;
/// Attempts before a retryable failure becomes final.
pub const MAX_ATTEMPTS: i64 = 5;

/// What a notification is, as the LMS stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Invitation to a path or course session.
    SessionAssignment,
    /// Information about a session.
    SessionInformation,
    /// A scheduled "Slack message" step of a path.
    PathStep,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SessionAssignment => "session_assignment",
            Kind::SessionInformation => "session_information",
            Kind::PathStep => "path_step",
        }
    }

    fn parse(s: &str) -> Result<Kind> {
        Ok(match s {
            "session_assignment" => Kind::SessionAssignment,
            "session_information" => Kind::SessionInformation,
            "path_step" => Kind::PathStep,
            other => bail!("unknown notification kind {other}"),
        })
    }

    /// The learner preference that governs this kind (M7).
    pub fn preference(self) -> &'static str {
        match self {
            Kind::SessionAssignment => "assigned_to_session",
            Kind::SessionInformation | Kind::PathStep => "session_information",
        }
    }

    fn wit(self) -> wit::NotificationKind {
        match self {
            Kind::SessionAssignment => wit::NotificationKind::SessionAssignment,
            Kind::SessionInformation => wit::NotificationKind::SessionInformation,
            Kind::PathStep => wit::NotificationKind::PathStep,
        }
    }
}

/// A notification to write to the outbox.
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    /// The notification's id; the same id twice for the same recipient is a no-op.
    pub id: &'a str,
    /// Its kind.
    pub kind: Kind,
    /// The e-mail subject.
    pub title: &'a str,
    /// The session, if any.
    pub session_id: Option<&'a str>,
    /// The author's text (path steps).
    pub body: Option<&'a str>,
    /// Ignores the learners' opt-outs.
    pub mandatory: bool,
    /// Earliest send time, Unix seconds.
    pub not_before: i64,
}

/// A delivery claimed for sending.
struct Claimed {
    delivery_id: String,
    user_id: String,
    mandatory: bool,
    /// This attempt's number, from 1.
    attempt: u32,
}

/// Counts of one run of the outbox.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunReport {
    /// Sent.
    pub sent: usize,
    /// Skipped (no account, opted out, inactive).
    pub skipped: usize,
    /// Failed for good.
    pub failed: usize,
    /// Put back for a later attempt.
    pub retrying: usize,
}

impl Lms {
    /// Writes a notification and one queued delivery per recipient, in one transaction. Returns how many deliveries
    /// were new (recipients already queued for this notification are left as they are).
    pub fn enqueue(
        &self,
        platform_id: &str,
        n: &NewNotification<'_>,
        user_ids: &[String],
    ) -> Result<usize> {
        let mut conn = self.db().conn();
        let tx = conn.transaction()?;
        if let Some(session_id) = n.session_id {
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM sessions WHERE platform_id = ?1 AND id = ?2",
                    [platform_id, session_id],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_none() {
                bail!("no session {session_id} on platform {platform_id}");
            }
        }
        tx.execute(
            "INSERT INTO notifications (platform_id, id, kind, title, session_id, body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (platform_id, id) DO NOTHING",
            params![
                platform_id,
                n.id,
                n.kind.as_str(),
                n.title,
                n.session_id,
                n.body,
                now()
            ],
        )?;
        let mut added = 0;
        for user_id in user_ids {
            let known: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM users WHERE platform_id = ?1 AND id = ?2",
                    [platform_id, user_id],
                    |r| r.get(0),
                )
                .optional()?;
            if known.is_none() {
                bail!("no user {user_id} on platform {platform_id}");
            }
            added += tx.execute(
                "INSERT INTO deliveries (id, platform_id, notification_id, user_id, status, next_attempt_at, mandatory, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7)
                 ON CONFLICT (platform_id, notification_id, user_id) DO NOTHING",
                params![delivery_id(platform_id, n.id, user_id), platform_id, n.id, user_id, n.not_before, n.mandatory, now()],
            )?;
        }
        tx.commit()?;
        Ok(added)
    }

    /// The delivery log of a notification.
    pub fn deliveries(&self, platform_id: &str, notification_id: &str) -> Result<Vec<Delivery>> {
        let conn = self.db().conn();
        let mut stmt = conn.prepare(
            "SELECT id, notification_id, user_id, status, conversation, message_id, reason_code, reason, attempts
             FROM deliveries WHERE platform_id = ?1 AND notification_id = ?2 ORDER BY user_id",
        )?;
        let rows = stmt.query_map([platform_id, notification_id], |r| {
            Ok(Delivery {
                id: r.get(0)?,
                notification_id: r.get(1)?,
                user_id: r.get(2)?,
                status: r.get(3)?,
                conversation: r.get(4)?,
                message_id: r.get(5)?,
                reason_code: r.get(6)?,
                reason: r.get(7)?,
                attempts: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether a learner has a notification preference on (the default).
    pub fn preference(&self, platform_id: &str, user_id: &str, preference: &str) -> Result<bool> {
        let enabled: Option<bool> = self
            .db()
            .conn()
            .query_row(
                "SELECT enabled FROM preferences WHERE platform_id = ?1 AND user_id = ?2 AND kind = ?3",
                [platform_id, user_id, preference],
                |r| r.get(0),
            )
            .optional()?;
        Ok(enabled.unwrap_or(true))
    }

    /// Sets a learner's notification preference.
    pub fn set_preference(
        &self,
        platform_id: &str,
        user_id: &str,
        preference: &str,
        enabled: bool,
    ) -> Result<()> {
        self.db().conn().execute(
            "INSERT INTO preferences (platform_id, user_id, kind, enabled) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (platform_id, user_id, kind) DO UPDATE SET enabled = ?4",
            params![platform_id, user_id, preference, enabled],
        )?;
        self.db().audit(
            platform_id,
            user_id,
            "preference",
            &format!("{preference} = {enabled}"),
        )
    }

    /// Sends every delivery of `platform_id` that is due at `at`, in batches, until none is left.
    pub async fn run_outbox(&self, platform_id: &str, at: i64) -> Result<RunReport> {
        let mut report = RunReport::default();
        while let Some((notification_id, claimed)) = self.claim(platform_id, at)? {
            self.send_batch(platform_id, &notification_id, claimed, at, &mut report)
                .await?;
        }
        Ok(report)
    }

    /// Claims up to [`BATCH`] due deliveries of one notification: marks them in flight and counts the attempt.
    fn claim(&self, platform_id: &str, at: i64) -> Result<Option<(String, Vec<Claimed>)>> {
        let mut conn = self.db().conn();
        let tx = conn.transaction()?;
        let notification: Option<String> = tx
            .query_row(
                "SELECT notification_id FROM deliveries WHERE platform_id = ?1 AND status = 'queued' AND next_attempt_at <= ?2
                 ORDER BY next_attempt_at, notification_id LIMIT 1",
                params![platform_id, at],
                |r| r.get(0),
            )
            .optional()?;
        let Some(notification) = notification else {
            return Ok(None);
        };
        let claimed: Vec<Claimed> = {
            let mut stmt = tx.prepare(
                "SELECT id, user_id, mandatory, attempts + 1 FROM deliveries WHERE platform_id = ?1 AND notification_id = ?2
                 AND status = 'queued' AND next_attempt_at <= ?3 ORDER BY user_id LIMIT ?4",
            )?;
            let rows =
                stmt.query_map(params![platform_id, notification, at, BATCH as i64], |r| {
                    Ok(Claimed {
                        delivery_id: r.get(0)?,
                        user_id: r.get(1)?,
                        mandatory: r.get(2)?,
                        attempt: r.get(3)?,
                    })
                })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for Claimed {
            delivery_id: id, ..
        } in &claimed
        {
            tx.execute(
                "UPDATE deliveries SET status = 'in_flight', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
                params![id, now()],
            )?;
        }
        tx.commit()?;
        Ok(Some((notification, claimed)))
    }

    async fn send_batch(
        &self,
        platform_id: &str,
        notification_id: &str,
        claimed: Vec<Claimed>,
        at: i64,
        report: &mut RunReport,
    ) -> Result<()> {
        let (kind, notification) = self.wit_notification(platform_id, notification_id)?;
        let mut recipients = Vec::with_capacity(claimed.len());
        for Claimed {
            delivery_id,
            user_id,
            mandatory,
            attempt,
        } in claimed
        {
            if !mandatory && !self.preference(platform_id, &user_id, kind.preference())? {
                let why = format!(
                    "The learner turned off Slack notifications of this kind ({}).",
                    kind.preference()
                );
                self.finish(
                    &delivery_id,
                    "skipped",
                    None,
                    None,
                    Some("opted_out"),
                    Some(&why),
                )?;
                report.skipped += 1;
                continue;
            }
            let user = self
                .db()
                .user(platform_id, &user_id)?
                .context("a queued recipient is no longer a user")?;
            recipients.push(wit::Recipient {
                user: wit::User {
                    id: user.id,
                    email: user.email,
                    display_name: user.display_name,
                    locale: user.locale,
                    time_zone: user.time_zone,
                },
                delivery_id,
                attempt,
            });
        }
        if recipients.is_empty() {
            return Ok(());
        }
        let outcomes = match self
            .sandbox()
            .deliver(platform_id, &notification, &recipients)
            .await
        {
            Ok(outcomes) => outcomes,
            Err(e) => {
                // The component failed as a whole: every recipient of the batch is retried later.
                let message = format!("{e:#}");
                for r in &recipients {
                    self.retry_or_fail(
                        &r.delivery_id,
                        "connector_failed",
                        &message,
                        None,
                        at,
                        report,
                    )?;
                }
                return Ok(());
            }
        };
        for r in &recipients {
            let Some(o) = outcomes.iter().find(|o| o.delivery_id == r.delivery_id) else {
                self.retry_or_fail(
                    &r.delivery_id,
                    "no_outcome",
                    "The connector returned no outcome for this recipient.",
                    None,
                    at,
                    report,
                )?;
                continue;
            };
            match &o.outcome {
                wit::Outcome::Sent(sent) => {
                    self.finish(
                        &o.delivery_id,
                        "sent",
                        Some(&sent.conversation),
                        Some(&sent.message_id),
                        None,
                        None,
                    )?;
                    report.sent += 1;
                }
                wit::Outcome::Skipped(reason) => {
                    let (code, why) = match reason {
                        wit::SkipReason::NoAccount => (
                            "no_account",
                            "No active Slack member has this learner's e-mail address.".to_string(),
                        ),
                        wit::SkipReason::Inactive(why) => ("inactive", why.clone()),
                    };
                    self.finish(
                        &o.delivery_id,
                        "skipped",
                        None,
                        None,
                        Some(code),
                        Some(&why),
                    )?;
                    report.skipped += 1;
                }
                wit::Outcome::Failed(f) => match f.kind {
                    wit::FailureKind::Transient | wit::FailureKind::RateLimited => {
                        self.retry_or_fail(
                            &o.delivery_id,
                            &f.code,
                            &f.message,
                            f.retry_after_ms,
                            at,
                            report,
                        )?;
                    }
                    wit::FailureKind::Permanent => {
                        self.finish(
                            &o.delivery_id,
                            "failed",
                            None,
                            None,
                            Some(&f.code),
                            Some(&f.message),
                        )?;
                        report.failed += 1;
                    }
                    wit::FailureKind::Disconnected => {
                        self.finish(
                            &o.delivery_id,
                            "failed",
                            None,
                            None,
                            Some(&f.code),
                            Some(&f.message),
                        )?;
                        report.failed += 1;
                        self.disconnected(platform_id, &f.message)?;
                    }
                },
            }
        }
        Ok(())
    }

    /// Marks the integration disconnected and alerts the platform's admins (once per disconnection).
    pub fn disconnected(&self, platform_id: &str, reason: &str) -> Result<()> {
        if matches!(self.tile(platform_id)?, crate::lms::Tile::Disconnected(_)) {
            return Ok(());
        }
        self.set_tile(
            platform_id,
            "disconnected",
            Some(reason),
            "connector",
            reason,
        )?;
        self.db().conn().execute(
            "INSERT INTO alerts (platform_id, at, message) VALUES (?1, ?2, ?3)",
            params![
                platform_id,
                now(),
                format!("The Slack integration was disconnected: {reason}")
            ],
        )?;
        Ok(())
    }

    fn finish(
        &self,
        delivery_id: &str,
        status: &str,
        conversation: Option<&str>,
        message_id: Option<&str>,
        reason_code: Option<&str>,
        reason: Option<&str>,
    ) -> Result<()> {
        self.db().conn().execute(
            "UPDATE deliveries SET status = ?2, conversation = ?3, message_id = ?4, reason_code = ?5, reason = ?6,
             updated_at = ?7 WHERE id = ?1",
            params![delivery_id, status, conversation, message_id, reason_code, reason, now()],
        )?;
        Ok(())
    }

    fn retry_or_fail(
        &self,
        delivery_id: &str,
        code: &str,
        message: &str,
        retry_after_ms: Option<u64>,
        at: i64,
        report: &mut RunReport,
    ) -> Result<()> {
        let attempts: i64 = self.db().conn().query_row(
            "SELECT attempts FROM deliveries WHERE id = ?1",
            [delivery_id],
            |r| r.get(0),
        )?;
        if attempts >= MAX_ATTEMPTS {
            self.finish(
                delivery_id,
                "failed",
                None,
                None,
                Some(code),
                Some(&format!("{message} (after {attempts} attempts)")),
            )?;
            report.failed += 1;
            return Ok(());
        }
        let wait = retry_after_ms
            .map(|ms| ms.div_ceil(1000) as i64)
            .unwrap_or(1 << attempts.min(10));
        self.db().conn().execute(
            "UPDATE deliveries SET status = 'queued', next_attempt_at = ?2, reason_code = ?3, reason = ?4, updated_at = ?5
             WHERE id = ?1",
            params![delivery_id, at + wait, code, message, now()],
        )?;
        report.retrying += 1;
        Ok(())
    }

    fn wit_notification(
        &self,
        platform_id: &str,
        notification_id: &str,
    ) -> Result<(Kind, wit::Notification)> {
        let (kind, title, session_id, body): (String, String, Option<String>, Option<String>) = self.db().conn().query_row(
            "SELECT kind, title, session_id, body FROM notifications WHERE platform_id = ?1 AND id = ?2",
            [platform_id, notification_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let kind = Kind::parse(&kind)?;
        let platform = self
            .db()
            .platform(platform_id)?
            .context("no such platform")?;
        let session = match session_id {
            Some(id) => {
                let s = self
                    .db()
                    .session(platform_id, &id)?
                    .context("the notification's session is gone")?;
                Some(wit::Session {
                    url: format!(
                        "{}/sessions/{}",
                        platform.base_url.trim_end_matches('/'),
                        s.id
                    ),
                    cover_is_default: s.cover_url.is_none()
                        || s.cover_url == platform.default_cover_url,
                    cover_image_url: s.cover_url.or(platform.default_cover_url.clone()),
                    id: s.id,
                    title: s.title,
                    description: s.description,
                    starts_at: s.starts_at,
                    ends_at: s.ends_at,
                })
            }
            None => None,
        };
        Ok((
            kind,
            wit::Notification {
                id: notification_id.to_string(),
                kind: kind.wit(),
                title,
                session,
                body,
                group: wit::PlatformGroup {
                    name: platform.group_name,
                    logo_url: platform.group_logo_url,
                },
            },
        ))
    }
}

/// A delivery's id: stable for (platform, notification, recipient), so retries and restarts reuse it.
pub fn delivery_id(platform_id: &str, notification_id: &str, user_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{platform_id}\u{0}{notification_id}\u{0}{user_id}"));
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}
