//! The outbox's workers: a bounded pool that takes due deliveries in batches, hands each batch to the connector as
//! its own task (under the sandbox's wall-clock limit), and records the outcomes.
//!
//! - **Concurrency.** At most [`OutboxConfig::concurrency`] batches are in the connector at once, across platforms.
//!   The batches of one platform run one after the other: they share the workspace's rate limits and the
//!   connector's persisted pacing buckets, which only one batch at a time may advance. A stuck call holds only its
//!   own platform's lane, and only until the sandbox's limit ends it (its recipients are then retried, the
//!   connector checking Slack's history first).
//! - **Time.** What is due is decided by an instant the caller gives (`at`) or a [`Clock`] (tests use
//!   [`ManualClock`]); back-offs are recorded as `next_attempt_at`. The only real-time waits are the connector's
//!   pacing (Slack's limits run in real time).
//! - **Recovery.** Every batch is claimed under this process's lease ([`crate::lease`]): deliveries a stopped runner
//!   left in flight are claimed again once its lease expired (at once when its process is gone from this machine),
//!   whatever command runs the outbox, when it starts and while it runs.

use crate::db::now;
use crate::integration::Lms;
use crate::lease::{Heartbeat, Runner};
use crate::outbox::{self, BATCH, BatchProgress, Record, RetryPolicy, RunReport};
use anyhow::Result;
use rand::seq::SliceRandom;
use std::collections::HashMap;
use std::future::Future;
use std::io::IsTerminal;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Where the workers read the time, and how they wait for the next due delivery.
pub trait Clock: Send + Sync {
    /// Now, Unix seconds.
    fn now(&self) -> i64;
    /// Waits until `at` (Unix seconds).
    fn sleep_until(&self, at: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        now()
    }
    fn sleep_until(&self, at: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            let wait = (at as f64 - secs).max(0.0);
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        })
    }
}

/// A clock the tests move: waiting jumps to the instant waited for.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock at `at`.
    pub fn new(at: i64) -> Self {
        ManualClock(AtomicI64::new(at))
    }
    /// Moves the clock forward.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn sleep_until(&self, at: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.0.fetch_max(at, Ordering::SeqCst);
        Box::pin(async {})
    }
}

/// How the workers run.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// Batches in the connector at once, across platforms.
    pub concurrency: usize,
    /// Recipients per batch.
    pub batch: usize,
    /// Retries and back-off.
    pub retry: RetryPolicy,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            concurrency: 4,
            batch: BATCH,
            retry: RetryPolicy::default(),
        }
    }
}

/// One lock per platform in this process: a platform's batches run one at a time.
static LANES: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Default::default);

fn lane(platform_id: &str) -> Arc<tokio::sync::Mutex<()>> {
    LANES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(platform_id.to_string())
        .or_default()
        .clone()
}

/// A progress line on stderr (only when stderr is a terminal): done of total, rate and time left.
pub struct Progress {
    total: AtomicUsize,
    done: AtomicUsize,
    started: Instant,
    last: Mutex<Option<Instant>>,
    enabled: bool,
}

impl Progress {
    /// A progress line for `total` deliveries; drawn only when stderr is a terminal.
    pub fn new(total: usize) -> Self {
        Progress {
            total: AtomicUsize::new(total),
            done: AtomicUsize::new(0),
            started: Instant::now(),
            last: Mutex::new(None),
            enabled: std::io::stderr().is_terminal(),
        }
    }

    fn add(&self, n: usize) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if !self.enabled {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < Duration::from_millis(200)) {
            return;
        }
        *last = Some(Instant::now());
        eprint!("\r{}", self.line(done));
    }

    /// The line as drawn: `[#####-----] 1200/2000  60%  85/s  9s left`.
    pub fn line(&self, done: usize) -> String {
        let total = self.total.load(Ordering::Relaxed).max(done).max(1);
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = done as f64 / secs;
        let left = if rate > 0.0 {
            format!("{:.0}s left", (total - done) as f64 / rate)
        } else {
            "--".into()
        };
        let width = 30;
        let filled = width * done / total;
        format!(
            "[{}{}] {done}/{total} {:>3}% {rate:>7.1}/s {left:<10}",
            "#".repeat(filled),
            "-".repeat(width - filled),
            100 * done / total
        )
    }

    fn finish(&self) {
        if self.enabled {
            eprintln!("\r{}", self.line(self.done.load(Ordering::Relaxed)));
        }
    }
}

/// The worker pool.
#[derive(Clone)]
pub struct Workers {
    lms: Lms,
    config: OutboxConfig,
    runner: Runner,
    slots: Arc<Semaphore>,
    progress: Option<Arc<Progress>>,
}

impl Workers {
    /// Workers over `lms`.
    pub fn new(lms: Lms, config: OutboxConfig) -> Self {
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Workers {
            lms,
            config,
            runner: Runner::process(),
            slots,
            progress: None,
        }
    }

    /// Shows a progress line on stderr (when it is a terminal) during [`Workers::drain`].
    pub fn with_progress(mut self) -> Self {
        self.progress = Some(Arc::new(Progress::new(0)));
        self
    }

    /// The same workers under another runner's name (tests play several runners in one process).
    pub fn with_runner(mut self, runner: Runner) -> Self {
        self.runner = runner;
        self
    }

    /// The LMS.
    pub fn lms(&self) -> &Lms {
        &self.lms
    }

    /// Sends every delivery of one platform due at `at`, batch after batch, until none is left, while this
    /// process's runner holds the platform's lease (nothing, when another live runner holds it). Deliveries another
    /// runner left in flight whose lease expired are taken again. Recipients the connector held back for a short while
    /// stay due: the lane waits, then hands them over again.
    pub async fn run_platform(&self, platform_id: &str, at: i64) -> Result<RunReport> {
        let lane = lane(platform_id);
        let _one_at_a_time = lane.lock().await;
        let mut report = RunReport::default();
        let db = self.lms.db();
        if !self.runner.acquire(db, platform_id)? {
            report.elsewhere = true;
            return Ok(report);
        }
        let _heartbeat = Heartbeat::start(db.clone(), self.runner.clone(), platform_id.to_string());
        let reports_progress = self.lms.sandbox().reports_progress();
        let result = self
            .run_batches(platform_id, at, reports_progress, &mut report)
            .await;
        let released = self.runner.release(db, platform_id);
        result?;
        released?;
        Ok(report)
    }

    async fn run_batches(
        &self,
        platform_id: &str,
        at: i64,
        reports_progress: bool,
        report: &mut RunReport,
    ) -> Result<()> {
        // Before each batch: still this runner's platform (a runner stopped for longer than its lease may have been
        // taken over, and then leaves the platform to the one that took it), and not more than its share of the
        // platforms being driven (it then lets this one go, for a runner that started later).
        loop {
            if !self.runner.acquire(self.lms.db(), platform_id)? {
                break;
            }
            if self.runner.over_share(self.lms.db())? {
                report.elsewhere = true;
                break;
            }
            let Some((claim, claimed)) = self.lms.outbox().claim(
                platform_id,
                at,
                self.config.batch,
                &self.runner,
                reports_progress,
            )?
            else {
                break;
            };
            let ids: Vec<String> = claimed.iter().map(|c| c.delivery_id.clone()).collect();
            report.taken_over += claimed.iter().filter(|c| c.taken_over).count();
            let permit = self.slots.clone().acquire_owned().await?;
            let progress = Arc::new(BatchProgress::new(
                self.lms.clone(),
                platform_id,
                self.runner.clone(),
                at,
                self.config.retry.clone(),
            ));
            let (lms, platform, sink) =
                (self.lms.clone(), platform_id.to_string(), progress.clone());
            // Each batch is its own task, which also records what the batch returned, so that it is recorded even if
            // this run is dropped (a page whose visitor left): the sandbox bounds its time; a panic is the batch's
            // alone.
            let held = ids.clone();
            let task = tokio::spawn(async move {
                let _permit = permit;
                let records = match lms
                    .send_batch(&platform, &claim, claimed, sink.clone())
                    .await
                {
                    Ok(records) => records,
                    Err(e) => retry_all(held, "batch_failed", &format!("{e:#}")),
                };
                sink.record_returned(&records)
            });
            match task.await {
                Ok(recorded) => recorded?,
                // The task panicked: what it still held is retried (what it recorded is left as it is).
                Err(e) => {
                    progress.record_returned(&retry_all(ids, "worker_failed", &format!("{e}")))?
                }
            }
            let batch = progress.finish();
            if let Some(p) = &self.progress {
                p.add(batch.report.sent + batch.report.skipped + batch.report.failed);
            }
            report.add(&batch.report);
            if let Some(ms) = batch.paced {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
        Ok(())
    }

    /// Sends every delivery due at `at`, on every platform, the platforms side by side: at most this runner's share
    /// of them at once, when other runners share the database ([`Runner::check_in`]), so that the platforms spread
    /// over the hosts. The platforms it holds already come first, then the others in a random order (runners starting
    /// together try different ones first); a platform another runner holds is left to it.
    pub async fn run_due(&self, at: i64) -> Result<RunReport> {
        let db = self.lms.db();
        let mut due = outbox::due_platforms(db, at)?;
        let runners = self.runner.check_in(db)?;
        let share = Arc::new(Semaphore::new(due.len().div_ceil(runners).max(1)));
        let held = self.runner.held(db)?;
        due.shuffle(&mut rand::rng());
        due.sort_by_key(|p| !held.contains(p));
        let mut tasks = tokio::task::JoinSet::new();
        for platform in due {
            let (workers, share) = (self.clone(), share.clone());
            tasks.spawn(async move {
                let _driving = share.acquire_owned().await?;
                workers.run_platform(&platform, at).await
            });
        }
        let mut report = RunReport::default();
        let mut error = None;
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(r)) => report.add(&r),
                Ok(Err(e)) => error = error.or(Some(e)),
                Err(e) => error = error.or(Some(e.into())),
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Runs until nothing is queued (of one platform, or of all) that is due before the back-off's cap from now,
    /// waiting on `clock` for back-offs; deliveries scheduled later (reminders) stay queued.
    pub async fn drain(&self, platform_id: Option<&str>, clock: &dyn Clock) -> Result<RunReport> {
        // Retries and waits are never longer than the back-off's cap: what is due later than that is scheduled (a
        // reminder, say), for `serve` to send when its time comes.
        let horizon = self.config.retry.backoff_cap_secs;
        if let Some(p) = &self.progress {
            p.total.store(
                outbox::pending(self.lms.db(), platform_id, clock.now() + horizon)?,
                Ordering::Relaxed,
            );
        }
        let mut report = RunReport::default();
        loop {
            let at = clock.now();
            let r = match platform_id {
                Some(p) => self.run_platform(p, at).await?,
                None => self.run_due(at).await?,
            };
            report.add(&r);
            match outbox::next_due(self.lms.db(), platform_id)? {
                None => break,
                Some(t) if t > at + horizon => break,
                // Another runner drives what is due (or holds it in flight): look again in a while.
                Some(t) if t <= at && r.elsewhere => {
                    tokio::time::sleep(Duration::from_millis(500)).await
                }
                Some(t) if t <= at => tokio::time::sleep(Duration::from_millis(10)).await,
                Some(t) => clock.sleep_until(t).await,
            }
        }
        if let Some(p) = &self.progress {
            p.finish();
        }
        if platform_id.is_none() {
            self.runner.check_out(self.lms.db())?;
        }
        Ok(report)
    }
}

fn retry_all(ids: Vec<String>, code: &str, why: &str) -> Vec<(String, Record)> {
    ids.into_iter()
        .map(|id| {
            let record = Record::Retry {
                code: code.into(),
                why: why.into(),
                wait_ms: None,
                may_have_acted: true,
            };
            (id, record)
        })
        .collect()
}

/// Sends every delivery of `platform_id` that is due at `at`, in batches, until none is left, with the default
/// [`OutboxConfig`]. Deliveries put back for later (back-off, `Retry-After`) are left for a later run; recipients
/// the connector held back to keep within the service's limits are sent in this run.
pub async fn run_outbox(lms: &Lms, platform_id: &str, at: i64) -> Result<RunReport> {
    Workers::new(lms.clone(), OutboxConfig::default())
        .run_platform(platform_id, at)
        .await
}
