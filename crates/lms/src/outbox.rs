//! The delivery outbox: an invitation writes one delivery per (notification, recipient) in one transaction before
//! anything is sent; the runner claims due deliveries, hands them to the connector in batches, and records each
//! outcome. A learner's opt-outs are applied here, at send time.

use crate::db::{AlertTopic, Db, now};
use crate::integration::Lms;
use crate::lang::Lang;
use crate::lease::Runner;
use anyhow::{Context, Result, bail};
use connector_host::progress::DeliveryProgress;
use connector_host::wit;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// One row of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// Id.
    pub id: String,
    /// Notification.
    pub notification_id: String,
    /// Recipient.
    pub user_id: String,
    /// Where it is in its life.
    pub status: DeliveryStatus,
    /// Where it was posted.
    pub conversation: Option<String>,
    /// The message's id there.
    pub message_id: Option<String>,
    /// Why it was skipped or failed: a code.
    pub reason_code: Option<String>,
    /// Why, in words.
    pub reason: Option<String>,
    /// Attempts made.
    pub attempts: i64,
    /// Skipped because the learner shares their e-mail address with this user, who receives the message.
    pub shares_with: Option<String>,
    /// Failed because the integration was disconnected: whether it waits to be queued again when it is active again.
    pub on_reconnect: Option<Reconnect>,
}

/// What becomes of a delivery that failed because the integration was disconnected, when it is active again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reconnect {
    /// It is queued again once the integration is active again.
    Waiting,
    /// It was queued again once; a new failure waits for a retry by hand.
    Requeued,
}

impl Reconnect {
    /// As the `deliveries` table stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reconnect::Waiting => "waiting",
            Reconnect::Requeued => "requeued",
        }
    }
}

impl rusqlite::ToSql for Reconnect {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for Reconnect {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        match value.as_str()? {
            "waiting" => Ok(Reconnect::Waiting),
            "requeued" => Ok(Reconnect::Requeued),
            other => Err(rusqlite::types::FromSqlError::Other(
                format!("unknown reconnection state `{other}`").into(),
            )),
        }
    }
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its turn (first attempt or a retry).
    Queued,
    /// Handed to the connector; its outcome is not recorded yet.
    InFlight,
    /// The message was delivered.
    Sent,
    /// Deliberately not sent (no account, a preference, an inactive integration).
    Skipped,
    /// Failed for good.
    Failed,
}

impl DeliveryStatus {
    /// The status as the `deliveries` table stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::InFlight => "in_flight",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Skipped => "skipped",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl rusqlite::ToSql for DeliveryStatus {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for DeliveryStatus {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Ok(match value.as_str()? {
            "queued" => DeliveryStatus::Queued,
            "in_flight" => DeliveryStatus::InFlight,
            "sent" => DeliveryStatus::Sent,
            "skipped" => DeliveryStatus::Skipped,
            "failed" => DeliveryStatus::Failed,
            other => {
                return Err(rusqlite::types::FromSqlError::Other(
                    format!("unknown delivery status `{other}`").into(),
                ));
            }
        })
    }
}

/// The failure code of a recipient the connector held back without calling Slack (see the connector's pacing).
pub const PACED: &str = "paced";
/// The reason code of a delivery skipped because its learner shares their e-mail address with another learner of the
/// notification, who receives the message.
pub const SHARED_ADDRESS: &str = "shared_address";
/// The reason code of a delivery skipped because the learner turned that kind of notification off.
pub const OPTED_OUT: &str = "opted_out";
/// The reason code of a delivery skipped because no active Slack member has the learner's e-mail address.
pub const NO_ACCOUNT: &str = "no_account";
/// The failure code of a delivery that fell due while the integration was disconnected: it waits for the integration
/// to be active again.
pub const DISCONNECTED: &str = "disconnected";
/// The reason code of a delivery skipped because its session was cancelled.
pub const SESSION_CANCELLED: &str = "session_cancelled";
/// The reason code of a delivery of an update or a reminder skipped because there is no invitation message to update
/// or to reply to (it was not sent).
pub const NO_MESSAGE: &str = "no_message";
/// The reason code of a reminder skipped because its session had started when it fell due.
pub const TOO_LATE: &str = "too_late";
/// How long an update or a reminder waits, without counting an attempt, while the invitation message it needs is
/// being sent: longer than a worker waits in line ([`RetryPolicy::max_inline_pace_ms`]), so that it goes back to the
/// queue instead of holding the worker.
const WAIT_FOR_MESSAGE_MS: u64 = 30_000;
use crate::sql::{OptionalExtension, named_params, params};
use rusqlite::ToSql;

/// The conditions of a delivery a runner may claim (SQL, with the parameters `:at` and `:now`), kept apart so that each
/// is looked up along an index: queued and due at `:at`…
const DUE_QUEUED: &str = "status = 'queued' AND next_attempt_at <= :at";
/// …or left in flight by a runner whose lease had expired by `:now`.
const DUE_ABANDONED: &str =
    "status = 'in_flight' AND (lease_expires_at IS NULL OR lease_expires_at < :now)";

/// Recipients handed to the connector in one call (the default of [`crate::workers::OutboxConfig`]).
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
    /// An update of the invitation messages sent for a session that changed or was cancelled
    /// ([`crate::sessions`]): each delivery changes one message in place.
    SessionUpdate,
    /// A reminder that a session starts soon ([`crate::reminders`]), in reply to the learner's invitation.
    SessionReminder,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SessionAssignment => "session_assignment",
            Kind::SessionInformation => "session_information",
            Kind::PathStep => "path_step",
            Kind::SessionUpdate => "session_update",
            Kind::SessionReminder => "session_reminder",
        }
    }

    /// The kind a stored name names.
    pub fn parse(s: &str) -> Result<Kind> {
        Ok(match s {
            "session_assignment" => Kind::SessionAssignment,
            "session_information" => Kind::SessionInformation,
            "path_step" => Kind::PathStep,
            "session_update" => Kind::SessionUpdate,
            "session_reminder" => Kind::SessionReminder,
            other => bail!("unknown notification kind {other}"),
        })
    }

    /// The learner preference that governs this kind (M7). An update is never new information: it keeps a message
    /// already received true, whatever the preferences (its deliveries are mandatory).
    pub fn preference(self) -> &'static str {
        match self {
            Kind::SessionAssignment | Kind::SessionUpdate => "assigned_to_session",
            Kind::SessionInformation | Kind::PathStep | Kind::SessionReminder => {
                "session_information"
            }
        }
    }

    /// What the connector is told the message is: an update rewrites an invitation.
    fn wit(self) -> wit::NotificationKind {
        match self {
            Kind::SessionAssignment | Kind::SessionUpdate => {
                wit::NotificationKind::SessionAssignment
            }
            Kind::SessionInformation => wit::NotificationKind::SessionInformation,
            Kind::PathStep => wit::NotificationKind::PathStep,
            Kind::SessionReminder => wit::NotificationKind::SessionReminder,
        }
    }
}

/// A notification's title (the e-mail subject) in `lang`: an invitation to a session (or its update) and a reminder
/// are the LMS's subject lines for that session's title ([`crate::invitations::subject`],
/// [`crate::invitations::reminder_subject`]), written in each learner's language; any other title is its author's
/// text, as written.
pub fn title_in(kind: Kind, title: &str, session_title: Option<&str>, lang: Lang) -> String {
    match (kind, session_title) {
        (Kind::SessionAssignment | Kind::SessionUpdate, Some(session)) => {
            crate::invitations::subject(session, lang)
        }
        (Kind::SessionReminder, Some(session)) => {
            crate::invitations::reminder_subject(session, lang)
        }
        _ => title.to_string(),
    }
}

/// Skips, in the caller's transaction, the deliveries of a notification still queued, with this reason.
pub(crate) fn skip_queued(
    tx: &crate::sql::Conn,
    platform_id: &str,
    notification_id: &str,
    code: &str,
    why: &str,
) -> Result<usize> {
    Ok(tx.execute(
        "UPDATE deliveries SET status = 'skipped', reason_code = ?3, reason = ?4, posting_since = NULL,
             updated_at = ?5
         WHERE platform_id = ?1 AND notification_id = ?2 AND status = 'queued'",
        params![platform_id, notification_id, code, why, now()],
    )?)
}

/// A notification to write to the outbox.
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    /// The notification's id; the same id twice for the same recipient is a no-op.
    pub id: &'a str,
    /// Its kind.
    pub kind: Kind,
    /// The title (the e-mail subject), as the delivery log lists it. An invitation to a session
    /// ([`Kind::SessionAssignment`] with a session) is sent with the LMS's subject line in each learner's language,
    /// from the session's title when it is sent (as the rest of the message), see [`title_in`]: give it
    /// [`crate::invitations::subject`] in English.
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

/// What a batch of claimed deliveries is of.
pub(crate) struct Claim {
    /// The notification.
    pub(crate) notification: String,
    /// For a notification about a session: the session's revision the batch is sent as.
    revision: Option<i64>,
}

/// A delivery claimed for sending.
pub(crate) struct Claimed {
    pub(crate) delivery_id: String,
    user_id: String,
    mandatory: bool,
    /// This attempt's number, from 1.
    attempt: u32,
    /// When an earlier attempt said it was posting, if its outcome is unknown.
    earlier_post: Option<i64>,
    /// Whether another runner had it in flight and stopped.
    pub(crate) taken_over: bool,
}

/// What became of one delivery of a batch, before it is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    /// Posted, or found posted by an earlier attempt.
    Sent {
        conversation: String,
        message_id: String,
        already_sent: bool,
    },
    /// Deliberately not sent: code and why.
    Skipped(String, String),
    /// Failed for good: code and why.
    Failed(String, String),
    /// Failed for good because the integration's credentials no longer work.
    Disconnected(String, String),
    /// Retryable: code, why, the wait Slack asked for, and whether the service may have acted on the request
    /// (a time-out or a server error may come after the message was posted; a refusal to go faster never does).
    Retry {
        code: String,
        why: String,
        wait_ms: Option<u64>,
        may_have_acted: bool,
    },
    /// Held back by the connector's pacing, without any call: wait this many ms; not an attempt.
    Paced(u64),
}

impl Record {
    /// What a connector's outcome means for the delivery.
    pub(crate) fn of(outcome: &wit::Outcome) -> Record {
        match outcome {
            wit::Outcome::Sent(sent) => Record::Sent {
                conversation: sent.conversation.clone(),
                message_id: sent.message_id.clone(),
                already_sent: sent.already_sent,
            },
            wit::Outcome::Skipped(wit::SkipReason::NoAccount) => Record::Skipped(
                NO_ACCOUNT.into(),
                "No active Slack member has this learner's e-mail address.".into(),
            ),
            wit::Outcome::Skipped(wit::SkipReason::Inactive(why)) => {
                Record::Skipped("inactive".into(), why.clone())
            }
            wit::Outcome::Failed(f) => match f.kind {
                wit::FailureKind::RateLimited if f.code == PACED => {
                    Record::Paced(f.retry_after_ms.unwrap_or(1))
                }
                wit::FailureKind::Transient | wit::FailureKind::RateLimited => Record::Retry {
                    code: f.code.clone(),
                    why: f.message.clone(),
                    wait_ms: f.retry_after_ms,
                    may_have_acted: f.kind == wit::FailureKind::Transient,
                },
                wit::FailureKind::Permanent => Record::Failed(f.code.clone(), f.message.clone()),
                wit::FailureKind::Disconnected => {
                    Record::Disconnected(f.code.clone(), f.message.clone())
                }
            },
        }
    }
}

/// What a connector reports while it delivers a batch (contract 0.2.0), recorded at once under the runner's lease:
/// a post it announces marks the delivery as possibly posted, an outcome is recorded as if the batch had returned it.
pub(crate) struct BatchProgress {
    lms: Lms,
    platform_id: String,
    runner: Runner,
    at: i64,
    policy: RetryPolicy,
    state: Mutex<BatchState>,
}

/// What a batch's reports have added up to so far.
#[derive(Default)]
pub(crate) struct BatchState {
    /// The deliveries the connector said it was posting to.
    pub(crate) announced: HashSet<String>,
    /// The outcomes recorded.
    pub(crate) report: RunReport,
    /// The longest short wait asked for recipients held back.
    pub(crate) paced: Option<u64>,
    /// Whether the admins were alerted of a wait refused as too long.
    wait_alerted: bool,
    /// The first failure recorded because the integration was disconnected: code and why.
    disconnection: Option<(String, String)>,
    /// The messages the batch's updates change, by delivery: an update can only have changed its own message.
    updating: HashMap<String, wit::MessageRef>,
}

impl BatchProgress {
    /// The reports of one batch of `platform_id`, run by `runner` at `at`.
    pub(crate) fn new(
        lms: Lms,
        platform_id: &str,
        runner: Runner,
        at: i64,
        policy: RetryPolicy,
    ) -> Self {
        BatchProgress {
            lms,
            platform_id: platform_id.to_string(),
            runner,
            at,
            policy,
            state: Mutex::default(),
        }
    }

    /// What the reports added up to.
    pub(crate) fn finish(&self) -> BatchState {
        std::mem::take(&mut *self.state.lock())
    }

    /// The first failure recorded in this batch because the integration was disconnected: code and why.
    fn disconnection(&self) -> Option<(String, String)> {
        self.state.lock().disconnection.clone()
    }

    /// Hands over the messages the batch's updates change (by delivery), so that an update reported as having
    /// changed another message is not believed.
    fn updating(&self, messages: impl IntoIterator<Item = (String, wit::MessageRef)>) {
        self.state.lock().updating.extend(messages);
    }

    /// Records the outcomes the batch returned rather than reported, and adds them to what the reports counted.
    pub(crate) fn record_returned(&self, records: &[(String, Record)]) -> Result<()> {
        let mut state = self.state.lock();
        let records: Vec<(String, Record)> = records
            .iter()
            .map(|(id, record)| (id.clone(), checked(record, state.updating.get(id))))
            .collect();
        self.lms.record(
            &self.platform_id,
            &records,
            self.at,
            &self.policy,
            &self.runner,
            &mut state,
        )
    }
}

impl DeliveryProgress for BatchProgress {
    /// Marks the deliveries as posting, in one transaction of row writes: all of them, or none when one is no
    /// longer this runner's.
    fn postings(&self, delivery_ids: &[String]) -> Result<()> {
        let t = now();
        {
            let mut conn = self.lms.db().conn();
            let tx = conn.write_rows()?;
            for delivery_id in delivery_ids {
                let marked = tx.execute(
                    "UPDATE deliveries SET posting_since = ?3, updated_at = ?3
                     WHERE id = ?1 AND status = 'in_flight' AND lease_owner = ?2",
                    params![delivery_id, self.runner.owner(), t],
                )?;
                if marked == 0 {
                    bail!(
                        "the delivery {delivery_id} is no longer this runner's to send (its lease expired and another \
                         runner took it, or it was recorded)"
                    );
                }
            }
            tx.commit()?;
        }
        self.state
            .lock()
            .announced
            .extend(delivery_ids.iter().cloned());
        Ok(())
    }

    fn outcomes(&self, outcomes: &[wit::DeliveryOutcome]) -> Result<()> {
        let records: Vec<(String, Record)> = outcomes
            .iter()
            .map(|o| (o.delivery_id.clone(), Record::of(&o.outcome)))
            .collect();
        self.record_returned(&records)
    }
}

/// `record` as the connector said it, unless it says that an update changed a message other than `updated`, the one it
/// was given: then a failure, since the connector's word cannot be taken for it.
fn checked(record: &Record, updated: Option<&wit::MessageRef>) -> Record {
    match (record, updated) {
        (
            Record::Sent {
                conversation,
                message_id,
                ..
            },
            Some(m),
        ) if *conversation != m.conversation || *message_id != m.message_id => Record::Failed(
            "wrong_message".into(),
            "The connector reported changing a message other than the one it was asked to update."
                .into(),
        ),
        _ => record.clone(),
    }
}

/// When a retryable failure is tried again, and when it becomes final.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts before a retryable failure becomes final.
    pub max_attempts: i64,
    /// The first back-off, in seconds; it doubles with each attempt.
    pub backoff_base_secs: i64,
    /// The longest back-off.
    pub backoff_cap_secs: i64,
    /// A connector's request to hold recipients back for at most this long (ms) keeps them due, and the worker waits
    /// before its next batch; a longer wait puts them back in the queue until then.
    pub max_inline_pace_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: MAX_ATTEMPTS,
            backoff_base_secs: 2,
            backoff_cap_secs: 600,
            max_inline_pace_ms: 5_000,
        }
    }
}

impl RetryPolicy {
    /// Seconds to wait after the `attempts`-th attempt failed: Slack's `Retry-After` when it gave one, else an
    /// exponential back-off with jitter (between half and all of `base × 2^(attempts-1)`, capped).
    ///
    /// A connector's wait is untrusted: one past the back-off cap is refused by [`RetryPolicy::refuses_wait`] before
    /// it gets here.
    pub fn wait_secs(&self, attempts: i64, retry_after_ms: Option<u64>) -> i64 {
        if let Some(ms) = retry_after_ms {
            return (ms.div_ceil(1000) as i64).clamp(1, self.backoff_cap_secs.max(1));
        }
        let exp = attempts.clamp(1, 30) - 1;
        let full = self
            .backoff_base_secs
            .max(1)
            .saturating_mul(1i64 << exp)
            .min(self.backoff_cap_secs.max(1));
        let half = (full / 2).max(1);
        use rand::Rng;
        rand::rng().random_range(half..=full.max(half))
    }
}

impl RetryPolicy {
    /// Whether a wait a connector asked for (Slack's `Retry-After`, or its own pacing) is longer than the longest
    /// back-off: such a delivery fails, and the admins are alerted, rather than being parked for years (a
    /// `Retry-After: 4000000000` would park it until 2153).
    pub fn refuses_wait(&self, ms: u64) -> bool {
        ms > (self.backoff_cap_secs.max(1) as u64).saturating_mul(1000)
    }

    /// Why a delivery failed when its wait was refused.
    fn wait_refused(&self, ms: u64) -> String {
        format!(
            "The connector asked to wait {} s before trying again, longer than the longest back-off ({} s); the \
             delivery was not retried.",
            ms.div_ceil(1000),
            self.backoff_cap_secs
        )
    }
}

/// The reason code of a delivery whose wait was refused.
pub const WAIT_TOO_LONG: &str = "wait_too_long";

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
    /// Of `sent`: found already posted by an earlier attempt (after a lost answer or a crash).
    pub already_sent: usize,
    /// Held back by the connector's pacing and handed over again (counted each time).
    pub paced: usize,
    /// Deliveries a stopped runner had left in flight, taken over.
    pub taken_over: usize,
    /// Some platform was left alone: another live runner holds its lease.
    pub elsewhere: bool,
}

impl RunReport {
    /// Adds another report's counts.
    pub fn add(&mut self, other: &RunReport) {
        self.sent += other.sent;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.retrying += other.retrying;
        self.already_sent += other.already_sent;
        self.paced += other.paced;
        self.taken_over += other.taken_over;
        self.elsewhere |= other.elsewhere;
    }
}

/// The outbox: notifications and their deliveries as data in the LMS's database. It does not send anything: the
/// workers ([`crate::workers::Workers`]) claim due deliveries from it, hand them to the connector and record the
/// outcomes.
#[derive(Clone)]
pub struct Outbox {
    db: Db,
}

impl Outbox {
    /// The outbox of `db`.
    pub fn new(db: Db) -> Self {
        Outbox { db }
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Writes a notification and one delivery per recipient, in one transaction. Returns how many deliveries were new
    /// (recipients already queued for this notification are left as they are). Learners whose e-mail addresses differ
    /// only in letter case are one member of the messaging service: one of them is queued (one who has not turned
    /// this kind off, if any), the others are skipped as sharing the address with that one, who receives it.
    pub fn enqueue(
        &self,
        platform_id: &str,
        n: &NewNotification<'_>,
        user_ids: &[String],
    ) -> Result<usize> {
        let mut conn = self.db().conn();
        let tx = conn.write()?;
        let added = enqueue_in(&tx, platform_id, n, user_ids)?;
        tx.commit()?;
        Ok(added)
    }

    /// The delivery log of a notification.
    pub fn deliveries(&self, platform_id: &str, notification_id: &str) -> Result<Vec<Delivery>> {
        let conn = self.db().conn();
        let mut stmt = conn.prepare(
            "SELECT id, notification_id, user_id, status, conversation, message_id, reason_code, reason, attempts,
                    shares_with, on_reconnect
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
                shares_with: r.get(9)?,
                on_reconnect: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Claims up to `batch` deliveries of one notification for `runner`: those due at `at`, and those another runner
    /// left in flight whose lease expired (see [`crate::lease`]). Marks them in flight under `runner`'s lease and
    /// counts the attempt; a delivery whose earlier attempt may have posted is handed over with the instant it said
    /// so. When the connector does not report its progress (`reports_progress` false), every claimed delivery may
    /// be posted from now until its outcome is recorded. A notification about a session is sent as the session's
    /// current revision is, which each delivery records (for the updates that may follow).
    pub(crate) fn claim(
        &self,
        platform_id: &str,
        at: i64,
        batch: usize,
        runner: &Runner,
        reports_progress: bool,
    ) -> Result<Option<(Claim, Vec<Claimed>)>> {
        let mut conn = self.db().conn();
        // Only the rows claimed are locked: the platform's lease keeps other runners off them, and should a runner
        // whose lease expired still be claiming, the two take different rows.
        let tx = conn.write_rows()?;
        let t = now();
        // Queued deliveries and those left in flight are looked up apart, each along an index in the claim's order,
        // so that a claim reads the rows it takes (and the first one's notification), never the platform's whole
        // history of sent deliveries.
        let mut first: Option<(i64, String)> = None;
        // Each condition with its one parameter: `:at` for the queued ones, `:now` for those left in flight.
        let conditions = [(DUE_QUEUED, ":at", at), (DUE_ABANDONED, ":now", t)];
        for (due, instant, value) in conditions {
            let found: Option<(i64, String)> = tx
                .query_row(
                    &first_due_sql(due),
                    &[(":platform", &platform_id as &dyn ToSql), (instant, &value)][..],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            first = first.into_iter().chain(found).min();
        }
        let Some((_, notification)) = first else {
            return Ok(None);
        };
        let revision: Option<i64> = tx
            .query_row(
                "SELECT s.revision FROM notifications n
                 JOIN sessions s ON s.platform_id = n.platform_id AND s.id = n.session_id
                 WHERE n.platform_id = ?1 AND n.id = ?2",
                params![platform_id, notification],
                |r| r.get(0),
            )
            .optional()?;
        let mut claimed: Vec<(i64, Claimed)> = Vec::new();
        for (due, instant, value) in conditions {
            let mut stmt = tx.prepare(&format!(
                "{}{}",
                batch_sql(due),
                crate::sql::dialect::lock_rows(tx.kind())
            ))?;
            let rows = stmt.query_map(
                &[
                    (":platform", &platform_id as &dyn ToSql),
                    (":notification", &notification),
                    (instant, &value),
                    (":batch", &(batch as i64)),
                ][..],
                |r| {
                    Ok((
                        r.get(0)?,
                        Claimed {
                            delivery_id: r.get(1)?,
                            user_id: r.get(2)?,
                            mandatory: r.get(3)?,
                            attempt: r.get(4)?,
                            earlier_post: r.get(5)?,
                            taken_over: r.get(6)?,
                        },
                    ))
                },
            )?;
            for row in rows {
                claimed.push(row?);
            }
        }
        // The first `batch` of both, in the claim's order; the rows left out are only read (on PostgreSQL, locked
        // until this transaction ends).
        claimed.sort_by(|(a, x), (b, y)| (a, &x.user_id).cmp(&(b, &y.user_id)));
        let claimed: Vec<Claimed> = claimed.into_iter().take(batch).map(|(_, c)| c).collect();
        {
            let mut update = tx.prepare(
                "UPDATE deliveries SET status = 'in_flight', attempts = attempts + 1, lease_owner = ?2,
                 lease_expires_at = ?3, posting_since = CASE WHEN ?4 THEN posting_since
                 ELSE COALESCE(posting_since, ?5) END, revision = COALESCE(?6, revision), updated_at = ?5
                 WHERE id = ?1",
            )?;
            let expiry = runner.expiry();
            for c in &claimed {
                update.execute(params![
                    c.delivery_id,
                    runner.owner(),
                    expiry,
                    reports_progress,
                    t,
                    revision
                ])?;
            }
        }
        tx.commit()?;
        Ok(Some((
            Claim {
                notification,
                revision,
            },
            claimed,
        )))
    }
}

/// The first delivery of a platform due under the condition `due` ([`DUE_QUEUED`] or [`DUE_ABANDONED`]), in the
/// claim's order: when it is due, and its notification.
fn first_due_sql(due: &str) -> String {
    format!(
        "SELECT next_attempt_at, notification_id FROM deliveries WHERE platform_id = :platform AND {due}
         ORDER BY next_attempt_at, notification_id LIMIT 1"
    )
}

/// Up to `:batch` deliveries of a notification due under the condition `due`, in the claim's order.
fn batch_sql(due: &str) -> String {
    format!(
        "SELECT next_attempt_at, id, user_id, mandatory, attempts + 1, posting_since, status = 'in_flight'
         FROM deliveries WHERE platform_id = :platform AND notification_id = :notification AND {due}
         ORDER BY next_attempt_at, user_id LIMIT :batch"
    )
}

/// Whether a learner has a notification preference on (the default).
pub(crate) fn preference_on(
    conn: &crate::sql::Conn,
    platform_id: &str,
    user_id: &str,
    preference: &str,
) -> Result<bool> {
    let enabled: Option<bool> = conn
        .query_row(
            "SELECT enabled FROM preferences WHERE platform_id = ?1 AND user_id = ?2 AND kind = ?3",
            [platform_id, user_id, preference],
            |r| r.get(0),
        )
        .optional()?;
    Ok(enabled.unwrap_or(true))
}

/// [`Outbox::enqueue`] in the caller's transaction.
pub(crate) fn enqueue_in(
    tx: &crate::sql::Conn,
    platform_id: &str,
    n: &NewNotification<'_>,
    user_ids: &[String],
) -> Result<usize> {
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
    // Who receives the message at each address (e-mail addresses compared without letter case): those the
    // notification already reaches, then the first of the new ones who has not turned this kind off.
    let address = |email: &str| email.trim().to_lowercase();
    let mut receivers: HashMap<String, (String, String)> = HashMap::new();
    {
        let mut stmt = tx.prepare(
            "SELECT d.user_id, u.email, u.display_name FROM deliveries d
             JOIN users u ON u.platform_id = d.platform_id AND u.id = d.user_id
             WHERE d.platform_id = ?1 AND d.notification_id = ?2 AND d.shares_with IS NULL",
        )?;
        let rows = stmt.query_map([platform_id, n.id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
        })?;
        for row in rows {
            let (id, email, name) = row?;
            receivers.entry(address(&email)).or_insert((id, name));
        }
    }
    let mut recipients = Vec::with_capacity(user_ids.len());
    for user_id in user_ids {
        let user: Option<(String, String)> = tx
            .query_row(
                "SELECT email, display_name FROM users WHERE platform_id = ?1 AND id = ?2",
                [platform_id, user_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((email, name)) = user else {
            bail!("no user {user_id} on platform {platform_id}");
        };
        let opted_out =
            !n.mandatory && !preference_on(tx, platform_id, user_id, n.kind.preference())?;
        recipients.push((user_id, email, name, opted_out));
    }
    // Those who will read it first, so that an opted-out learner never stands in for one who would.
    for (user_id, email, name, _) in recipients
        .iter()
        .filter(|r| !r.3)
        .chain(recipients.iter().filter(|r| r.3))
    {
        receivers
            .entry(address(email))
            .or_insert_with(|| ((*user_id).clone(), name.clone()));
    }
    let mut added = 0;
    for (user_id, email, _, _) in &recipients {
        let (receiver, receiver_name) = &receivers[&address(email)];
        let id = delivery_id(platform_id, n.id, user_id);
        added += if receiver == *user_id {
            tx.execute(
                "INSERT INTO deliveries (id, platform_id, notification_id, user_id, status, next_attempt_at, mandatory, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7)
                 ON CONFLICT (platform_id, notification_id, user_id) DO NOTHING",
                params![id, platform_id, n.id, user_id, n.not_before, n.mandatory, now()],
            )?
        } else {
            let why = format!(
                "Shares the e-mail address {email} with {receiver_name} ({receiver}), who receives the message."
            );
            tx.execute(
                "INSERT INTO deliveries (id, platform_id, notification_id, user_id, status, reason_code, reason,
                     shares_with, next_attempt_at, mandatory, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'skipped', ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (platform_id, notification_id, user_id) DO NOTHING",
                params![
                    id,
                    platform_id,
                    n.id,
                    user_id,
                    SHARED_ADDRESS,
                    why,
                    receiver,
                    n.not_before,
                    n.mandatory,
                    now()
                ],
            )?
        };
    }
    Ok(added)
}

impl Lms {
    /// The platform's outbox.
    pub fn outbox(&self) -> Outbox {
        Outbox::new(self.db().clone())
    }

    /// Whether a learner has a notification preference on (the default).
    pub fn preference(&self, platform_id: &str, user_id: &str, preference: &str) -> Result<bool> {
        preference_on(&self.db().conn(), platform_id, user_id, preference)
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

    /// Hands a claimed batch to the connector and says what became of each delivery it did not report through
    /// `progress` while it ran (nothing is recorded here; `progress` records what it is told at once).
    pub(crate) async fn send_batch(
        &self,
        platform_id: &str,
        claim: &Claim,
        claimed: Vec<Claimed>,
        progress: Arc<BatchProgress>,
    ) -> Result<Vec<(String, Record)>> {
        let (kind, notification, about) = self.wit_notification(platform_id, claim)?;
        let mut records = Vec::with_capacity(claimed.len());
        // While the integration is disconnected (not by an admin), what falls due waits for it, as a failure of the
        // disconnection: queued again, once, when it is active again ([`Outbox::requeue_reconnected`]).
        if let crate::integration::Tile::Disconnected(reason) = self.tile(platform_id)? {
            let why = format!(
                "The Slack integration is disconnected ({reason}); this goes out once it is active again."
            );
            for c in claimed {
                records.push((
                    c.delivery_id,
                    Record::Disconnected(DISCONNECTED.into(), why.clone()),
                ));
            }
            return Ok(records);
        }
        let mut recipients: Vec<Addressed> = Vec::with_capacity(claimed.len());
        for Claimed {
            delivery_id,
            user_id,
            mandatory,
            attempt,
            earlier_post,
            ..
        } in claimed
        {
            if let Some(refused) = about.as_ref().and_then(|a| a.refuses(kind, progress.at)) {
                records.push((delivery_id, refused));
                continue;
            }
            let (user, wanted) = self
                .db()
                .recipient(platform_id, &user_id, kind.preference())?;
            if !mandatory && !wanted {
                let why = format!(
                    "The learner turned off Slack notifications of this kind ({}).",
                    kind.preference()
                );
                records.push((delivery_id, Record::Skipped(OPTED_OUT.into(), why)));
                continue;
            }
            let Some(user) = user else {
                records.push((
                    delivery_id,
                    Record::Failed(
                        "no_user".into(),
                        "The recipient is no longer a user of the platform.".into(),
                    ),
                ));
                continue;
            };
            let message = match (kind, &about) {
                (Kind::SessionUpdate | Kind::SessionReminder, Some(about)) => {
                    match self.message_for(platform_id, kind, about, &user_id)? {
                        Ok(message) => Some(message),
                        Err(record) => {
                            records.push((delivery_id, record));
                            continue;
                        }
                    }
                }
                _ => None,
            };
            let reply_to = match kind {
                Kind::SessionReminder => message.as_ref().map(|m| m.place.clone()),
                _ => None,
            };
            recipients.push((
                wit::Recipient {
                    user: wit::User {
                        id: user.id,
                        email: user.email,
                        display_name: user.display_name,
                        locale: user.locale,
                        time_zone: user.time_zone,
                    },
                    delivery_id,
                    attempt,
                    earlier_post,
                    reply_to,
                },
                message,
            ));
        }
        // One call per title: an invitation's title is written in each learner's language.
        let mut groups: Vec<(String, Vec<Addressed>)> = Vec::new();
        for (r, message) in recipients {
            let session = notification.session.as_ref().map(|s| s.title.as_str());
            let title = title_in(
                kind,
                &notification.title,
                session,
                Lang::of_locale(&r.user.locale),
            );
            match groups.iter_mut().find(|(t, _)| *t == title) {
                Some((_, group)) => group.push((r, message)),
                None => groups.push((title, vec![(r, message)])),
            }
        }
        // A disconnection stops the batch, as the connector stops it within a call: the next groups fail with it.
        let mut broken: Option<(String, String)> = None;
        for (title, group) in groups {
            if let Some((code, why)) = &broken {
                for (r, _) in group {
                    records.push((
                        r.delivery_id,
                        Record::Disconnected(code.clone(), why.clone()),
                    ));
                }
                continue;
            }
            let notification = wit::Notification {
                title,
                ..notification.clone()
            };
            let called = match (kind, &about) {
                (Kind::SessionUpdate, Some(about)) => {
                    let messages: Vec<wit::MessageUpdate> = group
                        .iter()
                        .filter_map(|(r, m)| {
                            let m = m.as_ref()?;
                            Some(wit::MessageUpdate {
                                recipient: r.clone(),
                                message: m.place.clone(),
                                first_shown: m.first_shown.clone()?,
                            })
                        })
                        .collect();
                    progress.updating(
                        messages
                            .iter()
                            .map(|m| (m.recipient.delivery_id.clone(), m.message.clone())),
                    );
                    let change = if about.cancelled {
                        wit::SessionChange::Cancelled
                    } else {
                        wit::SessionChange::Edited
                    };
                    self.sandbox()
                        .update(
                            platform_id,
                            &notification,
                            change,
                            &messages,
                            progress.clone(),
                        )
                        .await
                }
                _ => {
                    let recipients: Vec<wit::Recipient> =
                        group.iter().map(|(r, _)| r.clone()).collect();
                    self.sandbox()
                        .deliver(platform_id, &notification, &recipients, progress.clone())
                        .await
                }
            };
            let group: Vec<wit::Recipient> = group.into_iter().map(|(r, _)| r).collect();
            let outcomes = match called {
                Ok(outcomes) => outcomes,
                Err(e) => {
                    // The component failed as a whole (trap, time limit): the recipients it had not reported are
                    // retried; those it said it was posting to are looked for in Slack's history first.
                    let message = format!("{e:#}");
                    for r in group {
                        records.push((
                            r.delivery_id,
                            Record::Retry {
                                code: "connector_failed".into(),
                                why: message.clone(),
                                wait_ms: None,
                                may_have_acted: true,
                            },
                        ));
                    }
                    continue;
                }
            };
            // Reported while the call ran (and recorded then), or returned.
            if broken.is_none() {
                broken = progress.disconnection();
            }
            for o in outcomes {
                if !group.iter().any(|r| r.delivery_id == o.delivery_id) {
                    tracing::warn!(
                        platform = platform_id,
                        "the connector returned an outcome for a delivery it was not given; ignored"
                    );
                    continue;
                }
                let record = Record::of(&o.outcome);
                if let Record::Disconnected(code, why) = &record {
                    broken.get_or_insert_with(|| (code.clone(), why.clone()));
                }
                records.push((o.delivery_id.clone(), record));
            }
            // A recipient with no outcome at all (neither reported nor returned) is still in flight under this
            // runner's lease: retried, as possibly posted if it said it was posting.
            for r in group {
                if !records.iter().any(|(id, _)| *id == r.delivery_id) {
                    records.push((
                        r.delivery_id,
                        Record::Retry {
                            code: "no_outcome".into(),
                            why: "The connector returned no outcome for this recipient.".into(),
                            wait_ms: None,
                            may_have_acted: true,
                        },
                    ));
                }
            }
        }
        Ok(records)
    }

    /// Records outcomes of deliveries `runner` holds in flight, in one transaction, and adds them to `batch` (its
    /// counts, and the longest wait the connector asked for recipients it held back); a delivery no longer in flight
    /// under `runner`'s lease (already recorded, or taken over by another runner after the lease expired) is left as
    /// it is. `batch.announced` are the deliveries the connector said it was posting to during this attempt. A wait
    /// refused as too long alerts the admins once per batch.
    pub(crate) fn record(
        &self,
        platform_id: &str,
        records: &[(String, Record)],
        at: i64,
        policy: &RetryPolicy,
        runner: &Runner,
        batch: &mut BatchState,
    ) -> Result<()> {
        let BatchState {
            announced,
            report,
            paced,
            wait_alerted,
            disconnection,
            ..
        } = batch;
        let mut disconnected: Option<String> = None;
        let mut refused_wait: Option<u64> = None;
        // Messages found posted by an earlier attempt, which may show the session as it was then.
        let mut found: Vec<String> = Vec::new();
        {
            let mut conn = self.db().conn();
            // The rows recorded are locked, not the database: they are this runner's (its lease), and a runner taking
            // them over waits for this transaction, then finds them recorded.
            let tx = conn.write_rows()?;
            let t = now();
            let held_sql = format!(
                "SELECT attempts, next_attempt_at, posting_since FROM deliveries
                 WHERE id = ?1 AND status = 'in_flight' AND lease_owner = ?2{}",
                crate::sql::dialect::lock_row(tx.kind())
            );
            for (id, record) in records {
                let held: Option<(i64, i64, Option<i64>)> = tx
                    .query_row(&held_sql, params![id, runner.owner()], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()?;
                let Some((attempts, next_attempt_at, posting_since)) = held else {
                    continue;
                };
                // Whether a message may be out there after this attempt: when the connector said it was posting
                // and the answer leaves it unknown, or when an earlier attempt's doubt was not cleared by a look
                // (the connector looks before it says it is posting).
                let unsure = |may_have_acted: bool| {
                    if may_have_acted || !announced.contains(id) {
                        posting_since
                    } else {
                        None
                    }
                };
                let finish = |status: DeliveryStatus,
                              conversation: Option<&str>,
                              message_id: Option<&str>,
                              code: Option<&str>,
                              reason: Option<&str>|
                 -> rusqlite::Result<usize> {
                    tx.execute(
                        "UPDATE deliveries SET status = ?2, conversation = ?3, message_id = ?4, reason_code = ?5,
                         reason = ?6, updated_at = ?7, lease_owner = NULL, lease_expires_at = NULL,
                         posting_since = NULL WHERE id = ?1",
                        params![id, status, conversation, message_id, code, reason, t],
                    )
                };
                let requeue = |attempts: i64,
                               due: i64,
                               reason: Option<(&str, &str)>,
                               posting_since: Option<i64>|
                 -> rusqlite::Result<usize> {
                    tx.execute(
                        "UPDATE deliveries SET status = 'queued', attempts = ?2, next_attempt_at = ?3,
                         reason_code = COALESCE(?4, reason_code), reason = COALESCE(?5, reason),
                         posting_since = ?6, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?7
                         WHERE id = ?1",
                        params![
                            id,
                            attempts,
                            due,
                            reason.map(|r| r.0),
                            reason.map(|r| r.1),
                            posting_since,
                            t
                        ],
                    )
                };
                match record {
                    Record::Sent {
                        conversation,
                        message_id,
                        already_sent,
                    } => {
                        finish(
                            DeliveryStatus::Sent,
                            Some(conversation),
                            Some(message_id),
                            None,
                            None,
                        )?;
                        report.sent += 1;
                        if *already_sent {
                            report.already_sent += 1;
                            found.push(id.clone());
                        }
                    }
                    Record::Skipped(code, why) => {
                        finish(DeliveryStatus::Skipped, None, None, Some(code), Some(why))?;
                        report.skipped += 1;
                    }
                    Record::Failed(code, why) => {
                        finish(DeliveryStatus::Failed, None, None, Some(code), Some(why))?;
                        report.failed += 1;
                    }
                    Record::Disconnected(code, why) => {
                        finish(DeliveryStatus::Failed, None, None, Some(code), Some(why))?;
                        // Queued again when the integration is active again, once ([`Outbox::requeue_reconnected`]).
                        tx.execute(
                            "UPDATE deliveries SET on_reconnect = ?2 WHERE id = ?1 AND on_reconnect IS NULL",
                            params![id, Reconnect::Waiting],
                        )?;
                        report.failed += 1;
                        disconnected.get_or_insert_with(|| why.clone());
                        disconnection.get_or_insert_with(|| (code.clone(), why.clone()));
                    }
                    Record::Paced(ms)
                    | Record::Retry {
                        wait_ms: Some(ms), ..
                    } if policy.refuses_wait(*ms) => {
                        let why = policy.wait_refused(*ms);
                        finish(
                            DeliveryStatus::Failed,
                            None,
                            None,
                            Some(WAIT_TOO_LONG),
                            Some(&why),
                        )?;
                        report.failed += 1;
                        refused_wait = Some(refused_wait.map_or(*ms, |w| w.max(*ms)));
                    }
                    Record::Paced(ms) => {
                        // Nothing was sent: not an attempt. A short wait keeps it due (the worker waits before its
                        // next batch); a long one puts it back in the queue until then.
                        let due = if *ms <= policy.max_inline_pace_ms {
                            *paced = Some(paced.map_or(*ms, |p| p.max(*ms)));
                            at
                        } else {
                            at + ms.div_ceil(1000) as i64
                        };
                        requeue(
                            (attempts - 1).max(0),
                            next_attempt_at.max(due),
                            None,
                            unsure(false),
                        )?;
                        report.paced += 1;
                    }
                    Record::Retry {
                        code,
                        why,
                        wait_ms,
                        may_have_acted,
                    } => {
                        if attempts >= policy.max_attempts {
                            let why = format!("{why} (after {attempts} attempts)");
                            finish(DeliveryStatus::Failed, None, None, Some(code), Some(&why))?;
                            // A retry by hand looks for a message this attempt may have posted first.
                            tx.execute(
                                "UPDATE deliveries SET posting_since = ?2 WHERE id = ?1",
                                params![id, unsure(*may_have_acted)],
                            )?;
                            report.failed += 1;
                        } else {
                            let wait = policy.wait_secs(attempts, *wait_ms);
                            requeue(
                                attempts,
                                at + wait,
                                Some((code, why)),
                                unsure(*may_have_acted),
                            )?;
                            report.retrying += 1;
                        }
                    }
                }
            }
            crate::sessions::update_found(&tx, platform_id, &found, at)?;
            tx.commit()?;
        }
        if let Some(why) = disconnected {
            self.disconnected(platform_id, &why)?;
        }
        if let Some(ms) = refused_wait
            && !std::mem::replace(wait_alerted, true)
        {
            self.db().alert(
                platform_id,
                &format!(
                    "Deliveries failed: the connector asked to wait {} s, longer than the longest back-off ({} s).",
                    ms.div_ceil(1000),
                    policy.backoff_cap_secs
                ),
            )?;
        }
        Ok(())
    }

    /// Marks the integration disconnected and alerts the platform's admins (once per disconnection). An integration an
    /// admin deactivated stays Inactive: Slack's uninstall events that follow a deactivation are its echo.
    pub fn disconnected(&self, platform_id: &str, reason: &str) -> Result<()> {
        if matches!(
            self.tile(platform_id)?,
            crate::integration::Tile::Disconnected(_) | crate::integration::Tile::Inactive(_)
        ) {
            return Ok(());
        }
        self.set_tile(
            platform_id,
            &crate::integration::Tile::Disconnected(reason.to_string()),
            "connector",
            reason,
        )?;
        self.db().alert_about(
            platform_id,
            AlertTopic::Disconnected,
            &format!("The Slack integration was disconnected: {reason}"),
        )
    }

    /// The notification of a claimed batch as the connector receives it (its session at the revision the claim
    /// recorded), its kind, and where its session stands.
    fn wit_notification(
        &self,
        platform_id: &str,
        claim: &Claim,
    ) -> Result<(Kind, wit::Notification, Option<About>)> {
        let notification_id = claim.notification.as_str();
        let (kind, title, session_id, body, source_id): (
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        ) = self.db().conn().query_row(
            "SELECT kind, title, session_id, body, source_id FROM notifications
             WHERE platform_id = ?1 AND id = ?2",
            [platform_id, notification_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        let kind = Kind::parse(&kind)?;
        let platform = self
            .db()
            .platform(platform_id)?
            .context("no such platform")?;
        let (session, about) = match session_id {
            Some(id) => {
                let conn = self.db().conn();
                let cancelled_at: Option<i64> = conn.query_row(
                    "SELECT cancelled_at FROM sessions WHERE platform_id = ?1 AND id = ?2",
                    [platform_id, &id],
                    |r| r.get(0),
                )?;
                let gone = "the notification's session is gone";
                let revision = claim.revision.context(gone)?;
                let s =
                    crate::sessions::revision(&conn, platform_id, &id, revision)?.context(gone)?;
                let about = About {
                    platform: platform.clone(),
                    session_id: id,
                    cancelled: cancelled_at.is_some(),
                    starts_at: s.starts_at,
                    source_id,
                };
                (Some(wit_session(&platform, s)), Some(about))
            }
            None => (None, None),
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
            about,
        ))
    }

    /// The invitation message an update changes or a reminder replies to, for `user_id`; or what becomes of the
    /// delivery when there is none to use.
    fn message_for(
        &self,
        platform_id: &str,
        kind: Kind,
        about: &About,
        user_id: &str,
    ) -> Result<std::result::Result<Message, Record>> {
        let conn = self.db().conn();
        // An update changes the messages of one invitation notification; a reminder replies to the learner's first
        // invitation.
        let source: Option<String> = match kind {
            Kind::SessionUpdate => about.source_id.clone(),
            _ => conn
                .query_row(
                    "SELECT notification_id FROM invitations
                     WHERE platform_id = ?1 AND session_id = ?2 AND user_id = ?3",
                    [platform_id, &about.session_id, user_id],
                    |r| r.get(0),
                )
                .optional()?,
        };
        // Its status, where it is, and the revision it showed.
        type Found = (DeliveryStatus, Option<String>, Option<String>, Option<i64>);
        let found: Option<Found> = match &source {
            Some(source) => conn
                .query_row(
                    "SELECT status, conversation, message_id, revision FROM deliveries
                         WHERE platform_id = ?1 AND notification_id = ?2 AND user_id = ?3",
                    [platform_id, source, user_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?,
            None => None,
        };
        let nothing = |why: &str| Err(Record::Skipped(NO_MESSAGE.into(), why.into()));
        Ok(match found {
            Some((DeliveryStatus::Sent, Some(conversation), Some(message_id), revision)) => {
                // An update shows what changed since the message first showed the session; a reply needs only
                // its place.
                let first_shown = match kind {
                    Kind::SessionUpdate => crate::sessions::revision(
                        &conn,
                        platform_id,
                        &about.session_id,
                        revision.unwrap_or(1),
                    )?
                    .map(|s| wit_session(&about.platform, s)),
                    _ => None,
                };
                Ok(Message {
                    place: wit::MessageRef {
                        conversation,
                        message_id,
                    },
                    first_shown,
                })
            }
            // Being sent: wait for it, without counting an attempt.
            Some((DeliveryStatus::InFlight, ..)) => Err(Record::Paced(WAIT_FOR_MESSAGE_MS)),
            Some((DeliveryStatus::Queued, ..)) if kind == Kind::SessionReminder => {
                Err(Record::Paced(WAIT_FOR_MESSAGE_MS))
            }
            Some((DeliveryStatus::Queued, ..)) => nothing(
                "The invitation is not sent yet: it goes out with the session as it is then.",
            ),
            _ if kind == Kind::SessionUpdate => nothing(
                "The invitation was not sent to this learner: there is no message to update.",
            ),
            _ => nothing(
                "The invitation was not sent to this learner: there is nothing to remind them of.",
            ),
        })
    }
}

/// Where the session of a notification stands when a batch of it is sent.
struct About {
    /// Its platform, whose addresses its session's links and cover take.
    platform: crate::db::Platform,
    session_id: String,
    cancelled: bool,
    starts_at: i64,
    /// For an update: the invitation notification whose messages it changes.
    source_id: Option<String>,
}

impl About {
    /// What becomes of a delivery of `kind` about this session at `at`, when it is not to be sent at all: nothing more
    /// goes out for a cancelled session but the updates that say so, and a reminder never comes once it started.
    fn refuses(&self, kind: Kind, at: i64) -> Option<Record> {
        if self.cancelled && kind != Kind::SessionUpdate {
            return Some(Record::Skipped(
                SESSION_CANCELLED.into(),
                "The session was cancelled: this is not sent.".into(),
            ));
        }
        if kind == Kind::SessionReminder && at >= self.starts_at {
            return Some(Record::Skipped(
                TOO_LATE.into(),
                "The session had started when this reminder fell due.".into(),
            ));
        }
        None
    }
}

/// A recipient, with the message it updates (an update) or replies to (a reminder).
type Addressed = (wit::Recipient, Option<Message>);

/// An invitation message an update changes or a reminder replies to.
struct Message {
    place: wit::MessageRef,
    /// The session as the message first showed it (for an update).
    first_shown: Option<wit::Session>,
}

/// A session as the connector receives it.
fn wit_session(platform: &crate::db::Platform, s: crate::db::Session) -> wit::Session {
    wit::Session {
        url: format!(
            "{}/sessions/{}",
            platform.base_url.trim_end_matches('/'),
            s.id
        ),
        cover_is_default: s.cover_url.is_none() || s.cover_url == platform.default_cover_url,
        cover_image_url: s.cover_url.or(platform.default_cover_url.clone()),
        id: s.id,
        title: s.title,
        description: s.description,
        starts_at: s.starts_at,
        ends_at: s.ends_at,
    }
}

/// A delivery's id: stable for (platform, notification, recipient), so retries and restarts reuse it.
pub fn delivery_id(platform_id: &str, notification_id: &str, user_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{platform_id}\u{0}{notification_id}\u{0}{user_id}"));
    hex::encode(&digest[..12])
}

/// Which deliveries a log shows.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// One platform.
    pub platform: Option<String>,
    /// One notification.
    pub notification: Option<String>,
    /// One learner.
    pub learner: Option<String>,
}

/// One line of the delivery log: what happened to one (notification, learner) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogEntry {
    /// The platform.
    pub platform_id: String,
    /// The notification.
    pub notification_id: String,
    /// The learner.
    pub user_id: String,
    /// The learner's e-mail address in the LMS.
    pub email: Option<String>,
    /// `queued`, `in_flight`, `sent`, `skipped` or `failed`.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: i64,
    /// Where it was posted (`D…`).
    pub channel: Option<String>,
    /// The message's `ts` there.
    pub ts: Option<String>,
    /// Why it was skipped or failed (or why the last attempt failed, while queued): a code.
    pub reason_code: Option<String>,
    /// Why, in words.
    pub reason: Option<String>,
    /// When a queued delivery is due, Unix seconds.
    pub next_attempt_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
    /// Skipped because the learner shares their e-mail address with this user, who receives the message.
    pub shares_with: Option<String>,
}

/// The delivery log, per notification and learner.
pub fn delivery_log(db: &crate::db::Db, filter: &LogFilter) -> Result<Vec<LogEntry>> {
    let conn = db.conn();
    let mut stmt = conn.prepare(
        "SELECT d.platform_id, d.notification_id, d.user_id, u.email, d.status, d.attempts, d.conversation,
                d.message_id, d.reason_code, d.reason, d.next_attempt_at, d.updated_at, d.shares_with
         FROM deliveries d LEFT JOIN users u ON u.platform_id = d.platform_id AND u.id = d.user_id
         WHERE (CAST(?1 AS TEXT) IS NULL OR d.platform_id = ?1) AND (CAST(?2 AS TEXT) IS NULL OR d.notification_id = ?2)
           AND (CAST(?3 AS TEXT) IS NULL OR d.user_id = ?3)
         ORDER BY d.platform_id, d.notification_id, d.user_id",
    )?;
    let rows = stmt.query_map(
        params![filter.platform, filter.notification, filter.learner],
        |r| {
            Ok(LogEntry {
                platform_id: r.get(0)?,
                notification_id: r.get(1)?,
                user_id: r.get(2)?,
                email: r.get(3)?,
                status: r.get(4)?,
                attempts: r.get(5)?,
                channel: r.get(6)?,
                ts: r.get(7)?,
                reason_code: r.get(8)?,
                reason: r.get(9)?,
                next_attempt_at: r.get(10)?,
                updated_at: r.get(11)?,
                shares_with: r.get(12)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deliveries not yet done of one platform or all: in flight, or queued and due by `until`.
pub fn pending(db: &crate::db::Db, platform: Option<&str>, until: i64) -> Result<usize> {
    Ok(db.conn().query_row(
        "SELECT COUNT(*) FROM deliveries WHERE (CAST(?1 AS TEXT) IS NULL OR platform_id = ?1)
             AND (status = 'in_flight' OR (status = 'queued' AND next_attempt_at <= ?2))",
        params![platform, until],
        |r| r.get::<_, i64>(0),
    )? as usize)
}

/// When the next delivery of one platform (or any) is due: a queued one's next attempt, or the expiry of the lease
/// of one in flight (after which a stopped runner's delivery is taken again).
pub fn next_due(db: &crate::db::Db, platform: Option<&str>) -> Result<Option<i64>> {
    Ok(db.conn().query_row(
        "SELECT MIN(CASE status WHEN 'queued' THEN next_attempt_at ELSE COALESCE(lease_expires_at, 0) END)
         FROM deliveries WHERE status IN ('queued', 'in_flight') AND (CAST(?1 AS TEXT) IS NULL OR platform_id = ?1)",
        params![platform],
        |r| r.get(0),
    )?)
}

/// Platforms with deliveries due at `at`, or left in flight by a runner whose lease expired.
pub fn due_platforms(db: &crate::db::Db, at: i64) -> Result<Vec<String>> {
    let conn = db.conn();
    let mut stmt = conn.prepare(&format!(
        "SELECT DISTINCT platform_id FROM deliveries WHERE ({DUE_QUEUED}) OR ({DUE_ABANDONED}) ORDER BY platform_id"
    ))?;
    let rows = stmt.query_map(named_params! {":at": at, ":now": now()}, |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An outbox on an in-memory database, with one platform and learners `l1`..`l{n}`.
    fn outbox(learners: usize) -> Outbox {
        let db = crate::test_support::memory_db();
        crate::test_support::platform_with_users(&db, learners);
        Outbox::new(db)
    }

    fn step(id: &str, not_before: i64) -> NewNotification<'_> {
        NewNotification {
            id,
            kind: Kind::PathStep,
            title: "Step",
            session_id: None,
            body: Some("Hello"),
            mandatory: false,
            not_before,
        }
    }

    fn users(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("l{i}")).collect()
    }

    fn statuses(outbox: &Outbox, notification: &str) -> Vec<(String, DeliveryStatus, i64)> {
        outbox
            .deliveries("p", notification)
            .unwrap()
            .into_iter()
            .map(|d| (d.user_id, d.status, d.attempts))
            .collect()
    }

    #[test]
    fn enqueueing_twice_adds_nothing_and_unknown_recipients_are_refused() {
        let outbox = outbox(3);
        assert_eq!(outbox.enqueue("p", &step("n1", 0), &users(3)).unwrap(), 3);
        assert_eq!(outbox.enqueue("p", &step("n1", 0), &users(3)).unwrap(), 0);
        let error = outbox
            .enqueue("p", &step("n2", 0), &["nobody".to_string()])
            .unwrap_err();
        assert!(error.to_string().contains("no user nobody"), "{error}");
        // The refused notification left nothing behind.
        assert!(outbox.deliveries("p", "n2").unwrap().is_empty());
    }

    #[test]
    fn claims_take_due_deliveries_of_one_notification_in_batches_and_count_the_attempt() {
        let outbox = outbox(5);
        let runner = Runner::new(60);
        outbox
            .enqueue("p", &step("later", 1_000), &users(5))
            .unwrap();
        outbox.enqueue("p", &step("now", 0), &users(5)).unwrap();
        let claim = |at, batch| outbox.claim("p", at, batch, &runner, true).unwrap();
        let (batch, claimed) = claim(10, 2).unwrap();
        assert_eq!(batch.notification, "now");
        let ids: Vec<&str> = claimed.iter().map(|c| c.user_id.as_str()).collect();
        assert_eq!(ids, ["l1", "l2"]);
        assert!(
            claimed
                .iter()
                .all(|c| c.attempt == 1 && c.earlier_post.is_none())
        );
        let (_, rest) = claim(10, 50).unwrap();
        assert_eq!(rest.len(), 3);
        // Nothing else is due before `later`'s time.
        assert!(claim(10, 50).is_none());
        assert!(
            statuses(&outbox, "now")
                .iter()
                .all(|(_, s, a)| *s == DeliveryStatus::InFlight && *a == 1)
        );
        let (batch, claimed) = claim(1_000, 50).unwrap();
        assert_eq!((batch.notification.as_str(), claimed.len()), ("later", 5));
    }

    #[test]
    fn a_claim_reads_along_indexes_never_the_whole_history() {
        let outbox = outbox(1);
        let conn = outbox.db().conn();
        if conn.kind() != crate::sql::Kind::Sqlite {
            // PostgreSQL's plans follow its statistics (a table this small is read whole): the same indexes serve it.
            return;
        }
        for (due, instant) in [(DUE_QUEUED, ":at"), (DUE_ABANDONED, ":now")] {
            let first: &[(&str, &dyn ToSql)] = &[(":platform", &"p"), (instant, &0)];
            let batch: &[(&str, &dyn ToSql)] = &[
                (":platform", &"p"),
                (":notification", &"n"),
                (instant, &0),
                (":batch", &50),
            ];
            for (sql, params) in [(first_due_sql(due), first), (batch_sql(due), batch)] {
                let plan: Vec<String> = conn
                    .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .unwrap()
                    .query_map(params, |r| r.get::<_, String>(3))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                assert!(
                    plan.iter()
                        .all(|step| step.starts_with("SEARCH") && step.contains("INDEX")),
                    "{sql}: {plan:?}"
                );
            }
        }
    }

    fn posting_since(outbox: &Outbox, user: &str) -> Option<i64> {
        outbox
            .db()
            .conn()
            .query_row(
                "SELECT posting_since FROM deliveries WHERE user_id = ?1",
                [user],
                |r| r.get(0),
            )
            .unwrap()
    }

    #[test]
    fn a_delivery_left_in_flight_is_taken_again_only_once_its_lease_expired() {
        let outbox = outbox(2);
        outbox.enqueue("p", &step("n", 0), &users(2)).unwrap();
        let (a, b) = (Runner::new(60), Runner::new(60));
        outbox.claim("p", 0, 50, &a, true).unwrap().unwrap();
        // The connector said it was posting to l1, then `a` stopped.
        outbox
            .db()
            .conn()
            .execute(
                "UPDATE deliveries SET posting_since = 1234 WHERE user_id = 'l1'",
                (),
            )
            .unwrap();
        assert!(
            outbox.claim("p", 0, 50, &b, true).unwrap().is_none(),
            "a live lease is never taken"
        );
        outbox
            .db()
            .conn()
            .execute("UPDATE deliveries SET lease_expires_at = 0", ())
            .unwrap();
        let (_, claimed) = outbox.claim("p", 0, 50, &b, true).unwrap().unwrap();
        let seen: Vec<(&str, u32, Option<i64>, bool)> = claimed
            .iter()
            .map(|c| (c.user_id.as_str(), c.attempt, c.earlier_post, c.taken_over))
            .collect();
        assert_eq!(
            seen,
            [("l1", 2, Some(1234), true), ("l2", 2, None, true)],
            "only the delivery whose post was announced is looked for"
        );
    }

    #[test]
    fn a_connector_that_reports_nothing_may_have_posted_to_every_claimed_delivery() {
        let outbox = outbox(2);
        outbox.enqueue("p", &step("n", 0), &users(2)).unwrap();
        outbox
            .claim("p", 0, 50, &Runner::new(60), false)
            .unwrap()
            .unwrap();
        assert!(posting_since(&outbox, "l1").is_some() && posting_since(&outbox, "l2").is_some());
    }

    #[test]
    fn an_update_said_to_have_changed_another_message_is_not_believed() {
        let asked = wit::MessageRef {
            conversation: "D1".into(),
            message_id: "1.0".into(),
        };
        let sent = |conversation: &str, message_id: &str| Record::Sent {
            conversation: conversation.into(),
            message_id: message_id.into(),
            already_sent: false,
        };
        assert_eq!(checked(&sent("D1", "1.0"), Some(&asked)), sent("D1", "1.0"));
        for other in [sent("D1", "2.0"), sent("D2", "1.0")] {
            assert!(matches!(
                checked(&other, Some(&asked)),
                Record::Failed(code, _) if code == "wrong_message"
            ));
        }
        // A post (no message given to update) is taken as the connector says it.
        assert_eq!(checked(&sent("D9", "9.0"), None), sent("D9", "9.0"));
        let failed = Record::Failed("x".into(), "y".into());
        assert_eq!(checked(&failed, Some(&asked)), failed);
    }

    #[test]
    fn back_off_doubles_with_jitter_up_to_its_cap_and_retry_after_wins() {
        let policy = RetryPolicy::default();
        for attempts in 1..=12 {
            let full = (2i64 << (attempts - 1)).min(600);
            for _ in 0..20 {
                let wait = policy.wait_secs(attempts, None);
                assert!((full / 2..=full).contains(&wait), "{attempts}: {wait}");
            }
        }
        assert_eq!(policy.wait_secs(3, Some(1)), 1);
        assert_eq!(policy.wait_secs(3, Some(30_500)), 31);
        // A connector's wait is bounded by the cap, and refused past it.
        assert_eq!(policy.wait_secs(3, Some(4_000_000_000_000)), 600);
        assert!(!policy.refuses_wait(600_000));
        assert!(policy.refuses_wait(600_001));
    }
}
