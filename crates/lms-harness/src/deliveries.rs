//! `lms-harness deliveries`: the delivery log of a data folder, and optionally a run of its outbox first; with
//! `--retry-failed`, a notification's failed deliveries are queued again first. A filter naming a platform,
//! notification or learner that does not exist is refused (exit 1), rather than printing an empty log.

use crate::connector::DataDir;
use anyhow::{Result, bail};
use lms::db::Db;
use lms::outbox::{self, DeliveryStatus, LogEntry, LogFilter, RunReport};
use lms::workers::{OutboxConfig, SystemClock, Workers};
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// Runs the outbox first, until nothing is queued (deliveries a stopped runner left in flight are taken over once
    /// its lease expires, at once when its process is gone; a platform another live runner drives is left to it).
    #[arg(long)]
    pub run: bool,
    /// With --run: routes https://slack.com to this URL (a simulated Slack), e.g. http://127.0.0.1:8025.
    #[arg(long)]
    pub slack_url: Option<String>,
    /// With --run: batches in the connector at once, across platforms.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Queues the notification's failed deliveries again first (with --run, they are sent at once).
    #[arg(long, requires = "notification")]
    pub retry_failed: bool,
}

/// Refuses a filter that names nothing: a platform, notification or learner that does not exist (on the platform,
/// when one is given).
fn check_filters(db: &Db, args: &DeliveriesArgs) -> Result<()> {
    let conn = db.conn();
    let platform = args.platform.as_deref();
    // Whether `table` has a row with this id (on the platform, when one is given).
    let exists = |table: &str, id: &str| -> Result<bool> {
        let platform_column = if table == "platforms" {
            "id"
        } else {
            "platform_id"
        };
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR {platform_column} = ?2))"
        );
        Ok(conn.query_row(&sql, rusqlite::params![id, platform], |r| r.get(0))?)
    };
    if let Some(p) = platform
        && !exists("platforms", p)?
    {
        bail!("there is no platform `{p}` in {}", args.data.display());
    }
    let on = platform.map_or(String::new(), |p| format!(" on platform {p}"));
    if let Some(n) = &args.notification
        && !exists("notifications", n)?
    {
        bail!("there is no notification `{n}`{on} (`lms-harness deliveries --summary` lists them)");
    }
    if let Some(l) = &args.learner
        && !exists("users", l)?
    {
        bail!("there is no user `{l}`{on}");
    }
    Ok(())
}

/// Queues the failed deliveries of `--notification` again (on `--platform`, or every platform that has it).
fn retry_failed(db: &Db, args: &DeliveriesArgs) -> Result<()> {
    let Some(notification) = &args.notification else {
        bail!("--retry-failed needs --notification");
    };
    let platforms: Vec<String> = {
        let conn = db.conn();
        let mut stmt = conn.prepare(
            "SELECT platform_id FROM notifications WHERE id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR platform_id = ?2)",
        )?;
        let rows = stmt.query_map(rusqlite::params![notification, args.platform], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let outbox = lms::outbox::Outbox::new(db.clone());
    let actor = crate::operator::actor("deliveries --retry-failed");
    let mut queued = 0;
    for platform in &platforms {
        queued += outbox.retry_failed(platform, notification, &actor)?;
    }
    eprintln!("{queued} failed deliveries of {notification} queued again");
    Ok(())
}

/// What `deliveries --json` prints.
#[derive(Debug, serde::Serialize)]
pub struct DeliveriesOutput {
    /// The run, with --run.
    pub run: Option<RunReport>,
    /// Counts per notification and status.
    pub summary: BTreeMap<String, BTreeMap<String, usize>>,
    /// The log (absent with --summary).
    pub deliveries: Option<Vec<LogEntry>>,
}

/// Runs `lms-harness deliveries`.
pub async fn deliveries_command(args: DeliveriesArgs) -> Result<()> {
    {
        let db = DataDir::open_db(&args.data, args.run)?;
        check_filters(&db, &args)?;
        if args.retry_failed {
            retry_failed(&db, &args)?;
        }
    }
    let (db, run) = if args.run {
        let lms = DataDir::open_lms(&args.data, args.slack_url.as_deref())?;
        let config = OutboxConfig {
            concurrency: args.concurrency.max(1),
            ..OutboxConfig::default()
        };
        let workers = Workers::new(lms.clone(), config).with_progress();
        let report = workers
            .drain(args.platform.as_deref(), &SystemClock)
            .await?;
        if report.taken_over > 0 {
            eprintln!(
                "{} deliveries left in flight by a runner that stopped were taken over",
                report.taken_over
            );
        }
        (lms.db().clone(), Some(report))
    } else {
        (DataDir::open_db(&args.data, false)?, None)
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
            .entry(e.status.to_string())
            .or_default() += 1;
    }
    if args.json {
        let out = DeliveriesOutput {
            run,
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
        let why = if e.status == DeliveryStatus::Queued && e.attempts > 0 {
            format!("retry at {} after {why}", e.next_attempt_at)
        } else {
            why
        };
        rows.push([
            e.platform_id.clone(),
            e.notification_id.clone(),
            e.user_id.clone(),
            e.status.to_string(),
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
