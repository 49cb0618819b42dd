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
//! - **Recovery.** [`crate::lms::Lms::recover_in_flight`] puts deliveries a crash left in flight back in the queue;
//!   [`deliveries_command`] calls it when it starts.

pub mod bench;

use crate::db::{Db, now};
use crate::harness::{EMBEDDED_CONNECTOR, SLACK_GRANT, SLACK_ORIGIN};
use crate::lms::Lms;
use crate::outbox::{self, BATCH, LogEntry, LogFilter, Record, RetryPolicy, RunReport};
use crate::sandbox::outbound::{Grant, OutboundConfig, Route};
use crate::sandbox::{Limits, Sandbox};
use crate::secrets::SecretBox;
use anyhow::{Result, bail};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
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
            slots,
            progress: None,
        }
    }

    /// Shows a progress line on stderr (when it is a terminal) during [`Workers::drain`].
    pub fn with_progress(mut self) -> Self {
        self.progress = Some(Arc::new(Progress::new(0)));
        self
    }

    /// The LMS.
    pub fn lms(&self) -> &Lms {
        &self.lms
    }

    /// Sends every delivery of one platform due at `at`, batch after batch, until none is left. Recipients the
    /// connector held back for a short while stay due: the lane waits, then hands them over again.
    pub async fn run_platform(&self, platform_id: &str, at: i64) -> Result<RunReport> {
        let lane = lane(platform_id);
        let _one_at_a_time = lane.lock().await;
        let mut report = RunReport::default();
        while let Some((notification, claimed)) =
            self.lms.claim(platform_id, at, self.config.batch)?
        {
            let ids: Vec<String> = claimed.iter().map(|c| c.delivery_id.clone()).collect();
            let permit = self.slots.clone().acquire_owned().await?;
            let lms = self.lms.clone();
            let platform = platform_id.to_string();
            // Each batch is its own task: the sandbox bounds its time; a panic is the batch's alone.
            let task = tokio::spawn(async move {
                let _permit = permit;
                lms.send_batch(&platform, &notification, claimed).await
            });
            let records: Vec<(String, Record)> = match task.await {
                Ok(Ok(records)) => records,
                Ok(Err(e)) => retry_all(ids, "batch_failed", &format!("{e:#}")),
                Err(e) => retry_all(ids, "worker_failed", &format!("{e}")),
            };
            let mut batch = RunReport::default();
            let paced =
                self.lms
                    .record(platform_id, &records, at, &self.config.retry, &mut batch)?;
            if let Some(p) = &self.progress {
                p.add(batch.sent + batch.skipped + batch.failed);
            }
            report.add(&batch);
            if let Some(ms) = paced {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
        Ok(report)
    }

    /// Sends every delivery due at `at`, on every platform, the platforms side by side.
    pub async fn run_due(&self, at: i64) -> Result<RunReport> {
        let mut tasks = tokio::task::JoinSet::new();
        for platform in outbox::due_platforms(self.lms.db(), at)? {
            let workers = self.clone();
            tasks.spawn(async move { workers.run_platform(&platform, at).await });
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

    /// Runs until nothing is queued (of one platform, or of all), waiting on `clock` for back-offs.
    pub async fn drain(&self, platform_id: Option<&str>, clock: &dyn Clock) -> Result<RunReport> {
        if let Some(p) = &self.progress {
            p.total.store(
                outbox::pending(self.lms.db(), platform_id)?,
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
                Some(t) if t <= at => tokio::time::sleep(Duration::from_millis(10)).await,
                Some(t) => clock.sleep_until(t).await,
            }
        }
        if let Some(p) = &self.progress {
            p.finish();
        }
        Ok(report)
    }
}

fn retry_all(ids: Vec<String>, code: &str, why: &str) -> Vec<(String, Record)> {
    ids.into_iter()
        .map(|id| (id, Record::Retry(code.into(), why.into(), None)))
        .collect()
}

/// Opens the LMS of a data folder (`lms.sqlite3`, `secrets.key`) with the embedded connector. With `slack_url`,
/// `https://slack.com` is routed there (local mode, e.g. a simulated Slack that outlives this process).
pub fn open_lms(data_dir: &Path, slack_url: Option<&str>, limits: Limits) -> Result<Lms> {
    let db = open_db(data_dir, true)?;
    let mut outbound = OutboundConfig::new(vec![Grant::parse(SLACK_GRANT)?]);
    if let Some(url) = slack_url {
        outbound.routes.push(Route::new(SLACK_ORIGIN, url)?);
        tracing::info!("local mode: {SLACK_ORIGIN} is routed to {url}");
    }
    let engine = Sandbox::engine()?;
    let sandbox = Sandbox::new(
        &engine,
        EMBEDDED_CONNECTOR,
        "slack",
        db.clone(),
        outbound,
        limits,
    )?;
    Ok(Lms::new(db, Arc::new(sandbox)))
}

fn open_db(data_dir: &Path, create: bool) -> Result<Db> {
    let path = data_dir.join("lms.sqlite3");
    if !create && !path.exists() {
        bail!("no LMS database in {}", data_dir.display());
    }
    std::fs::create_dir_all(data_dir)?;
    Db::open(
        &path,
        SecretBox::from_key_file(&data_dir.join("secrets.key"))?,
    )
}

/// `lms-harness deliveries`: the delivery log, and optionally a run of the outbox first.
#[derive(Debug, clap::Args)]
pub struct DeliveriesArgs {
    /// The data folder (`lms.sqlite3`, `secrets.key`).
    #[arg(long)]
    pub data: PathBuf,
    /// Only this platform.
    #[arg(long)]
    pub platform: Option<String>,
    /// Only this notification.
    #[arg(long)]
    pub notification: Option<String>,
    /// Only this learner (user id).
    #[arg(long)]
    pub learner: Option<String>,
    /// Prints JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Prints counts per notification and status instead of one line per delivery.
    #[arg(long)]
    pub summary: bool,
    /// Runs the outbox first, until nothing is queued (deliveries a crash left in flight are recovered first).
    #[arg(long)]
    pub run: bool,
    /// With --run: routes https://slack.com to this URL (a simulated Slack), e.g. http://127.0.0.1:8025.
    #[arg(long)]
    pub slack_url: Option<String>,
    /// With --run: batches in the connector at once, across platforms.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

/// What `deliveries --json` prints.
#[derive(Debug, serde::Serialize)]
pub struct DeliveriesOutput {
    /// The run, with --run.
    pub run: Option<RunReport>,
    /// Deliveries a crash had left in flight, put back in the queue (with --run).
    pub recovered: Option<usize>,
    /// Counts per notification and status.
    pub summary: BTreeMap<String, BTreeMap<String, usize>>,
    /// The log (absent with --summary).
    pub deliveries: Option<Vec<LogEntry>>,
}

/// Runs `lms-harness deliveries`.
pub async fn deliveries_command(args: DeliveriesArgs) -> Result<()> {
    let (db, run, recovered) = if args.run {
        let lms = open_lms(&args.data, args.slack_url.as_deref(), Limits::default())?;
        let recovered = lms.recover_in_flight()?;
        if recovered > 0 {
            eprintln!(
                "{recovered} deliveries left in flight by an interrupted run were put back in the queue"
            );
        }
        let config = OutboxConfig {
            concurrency: args.concurrency.max(1),
            ..OutboxConfig::default()
        };
        let workers = Workers::new(lms.clone(), config).with_progress();
        let report = workers
            .drain(args.platform.as_deref(), &SystemClock)
            .await?;
        (lms.db().clone(), Some(report), Some(recovered))
    } else {
        (open_db(&args.data, false)?, None, None)
    };
    let filter = LogFilter {
        platform: args.platform.clone(),
        notification: args.notification.clone(),
        learner: args.learner.clone(),
    };
    let entries = outbox::delivery_log(&db, &filter)?;
    let mut summary: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for e in &entries {
        *summary
            .entry(format!("{}/{}", e.platform_id, e.notification_id))
            .or_default()
            .entry(e.status.clone())
            .or_default() += 1;
    }
    if args.json {
        let out = DeliveriesOutput {
            run,
            recovered,
            summary,
            deliveries: (!args.summary).then_some(entries),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if let Some(r) = &run {
        println!(
            "run: {} sent ({} found already posted), {} skipped, {} failed, {} to retry later",
            r.sent, r.already_sent, r.skipped, r.failed, r.retrying
        );
    }
    if args.summary {
        for (notification, counts) in &summary {
            let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{s} {n}")).collect();
            println!("{notification}: {}", counts.join(", "));
        }
        return Ok(());
    }
    print!("{}", table(&entries));
    Ok(())
}

/// The log as a text table.
pub fn table(entries: &[LogEntry]) -> String {
    let mut rows = vec![[
        "PLATFORM".to_string(),
        "NOTIFICATION".into(),
        "LEARNER".into(),
        "STATUS".into(),
        "ATTEMPTS".into(),
        "CHANNEL".into(),
        "TS".into(),
        "WHY".into(),
    ]];
    for e in entries {
        let why = match (&e.reason_code, &e.reason) {
            (Some(c), Some(r)) => format!("{c}: {r}"),
            (Some(c), None) => c.clone(),
            (None, Some(r)) => r.clone(),
            (None, None) => String::new(),
        };
        let why = if e.status == "queued" && e.attempts > 0 {
            format!("retry at {} after {why}", e.next_attempt_at)
        } else {
            why
        };
        rows.push([
            e.platform_id.clone(),
            e.notification_id.clone(),
            e.user_id.clone(),
            e.status.clone(),
            e.attempts.to_string(),
            e.channel.clone().unwrap_or_default(),
            e.ts.clone().unwrap_or_default(),
            why,
        ]);
    }
    let mut widths = [0usize; 8];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i == 7 {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
