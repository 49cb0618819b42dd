//! Recovery after a SIGKILL under the limits Slack gives an app outside its Marketplace (`conversations.history` once
//! a minute): a workspace of `--learners` members and the simulated Slack's real limits at a time scale of 60 (a minute
//! passes in a second; the connector paces at the same scale). `lms-harness deliveries --run` is killed once
//! `--kill-after` messages are out, in the middle of a batch and of a post (Slack then answers posts a second late),
//! then started again; the recovery time is from the restart until every delivery the kill left in flight has its
//! outcome, given in Slack's time (real time × 60).
//!
//! `cargo bench -p lms-harness --bench recovery -- [--before PATH] [--runs N] [--learners N] [--kill-after N]`:
//! `--before` runs another build of `lms-harness` (such as the previous release) side by side, alternating with this
//! one, to compare them on the same machine in the same run.

mod support;

use lms::db::Db;
use lms_harness::bench_invite as bench;
use lms_harness::connector::DataDir;
use slack_sim::{Fault, SimHandle};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::median;

const TIME_SCALE: f64 = 60.0;
/// Deliveries in flight whose post was announced: their outcome is unknown.
const ANNOUNCED: &str =
    "SELECT COUNT(*) FROM deliveries WHERE status = 'in_flight' AND posting_since IS NOT NULL";

/// `cargo bench -p lms-harness --bench recovery -- [OPTIONS]`.
#[derive(clap::Parser)]
struct Options {
    /// Another build of `lms-harness` (such as the previous release), run side by side, alternating with this one.
    #[arg(long)]
    before: Option<PathBuf>,
    /// Runs of each build.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Members of the workspace, all invited.
    #[arg(long, default_value_t = 400)]
    learners: usize,
    /// Messages out before the kill.
    #[arg(long, default_value_t = 120)]
    kill_after: usize,
    /// Added by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

/// One measured recovery.
#[derive(Debug, Clone)]
struct Recovery {
    in_flight: usize,
    announced: usize,
    history_calls: usize,
    real: Duration,
    failed: i64,
    duplicates: usize,
}

fn run_outbox(binary: &Path, dir: &Path, slack_url: &str) -> Child {
    bench::run_outbox(binary, dir, slack_url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting lms-harness")
}

fn db(dir: &Path) -> Db {
    DataDir::open_db(dir, false).unwrap()
}

fn count(db: &Db, sql: &str) -> i64 {
    db.conn().query_row(sql, (), |r| r.get(0)).unwrap()
}

fn history_calls(sim: &SimHandle) -> usize {
    sim.api_calls()
        .iter()
        .filter(|c| c.method == "conversations.history")
        .count()
}

async fn measure(binary: &Path, o: &Options, run: usize) -> Recovery {
    let dir = std::env::temp_dir().join(format!("lms-recovery-{}-{run}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sim = bench::invited_folder(&dir, o.learners, TIME_SCALE, "recovery")
        .await
        .unwrap();
    let mut first = run_outbox(binary, &dir, &sim.base_url());
    let deadline = Instant::now() + Duration::from_secs(600);
    while bench::app_message_total(&sim) < o.kill_after {
        assert!(first.try_wait().unwrap().is_none(), "ended before the kill");
        assert!(Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The worst moment: while a post is in flight. Slack now answers posts a second late; the run is killed once it
    // has announced one (a build that announces nothing is killed after that second).
    sim.set_fault(
        "chat.postMessage",
        Fault::Delay {
            ms: 1_000,
            count: None,
        },
    );
    let db = db(&dir);
    let mid_post = Instant::now() + Duration::from_secs(1);
    while Instant::now() < mid_post && count(&db, ANNOUNCED) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    sim.clear_fault("chat.postMessage");
    let in_flight: Vec<String> = {
        let conn = db.conn();
        let mut stmt = conn
            .prepare("SELECT id FROM deliveries WHERE status = 'in_flight'")
            .unwrap();
        stmt.query_map((), |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let announced = count(&db, ANNOUNCED) as usize;
    let history_before = history_calls(&sim);
    let started = Instant::now();
    let mut second = run_outbox(binary, &dir, &sim.base_url());
    let resolved = |db: &Db| {
        let conn = db.conn();
        in_flight.iter().all(|id| {
            conn.query_row(
                "SELECT status IN ('sent', 'failed', 'skipped') FROM deliveries WHERE id = ?1",
                [id],
                |r| r.get::<_, bool>(0),
            )
            .unwrap()
        })
    };
    let deadline = Instant::now() + Duration::from_secs(3_600);
    while !resolved(&db) {
        assert!(Instant::now() < deadline, "recovery did not end");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let real = started.elapsed();
    while second.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the run did not end");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovery = Recovery {
        in_flight: in_flight.len(),
        announced,
        history_calls: history_calls(&sim) - history_before,
        real,
        failed: count(
            &db,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'failed'",
        ),
        duplicates: bench::app_messages(&sim)
            .iter()
            .filter(|(_, n)| *n > 1)
            .count(),
    };
    sim.shutdown().await;
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    recovery
}

fn row(label: &str, runs: &[Recovery]) -> String {
    let slack_minutes: Vec<f64> = runs
        .iter()
        .map(|r| r.real.as_secs_f64() * TIME_SCALE / 60.0)
        .collect();
    let list = |f: &dyn Fn(&Recovery) -> String| runs.iter().map(f).collect::<Vec<_>>().join(", ");
    format!(
        "| {label} | {} | {} | {} | {:.1} ({}) | {} | {} |",
        list(&|r| r.in_flight.to_string()),
        list(&|r| r.announced.to_string()),
        list(&|r| r.history_calls.to_string()),
        median(slack_minutes.clone()),
        slack_minutes
            .iter()
            .map(|m| format!("{m:.1}"))
            .collect::<Vec<_>>()
            .join(", "),
        list(&|r| r.failed.to_string()),
        list(&|r| r.duplicates.to_string()),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = <Options as clap::Parser>::parse();
    let this = PathBuf::from(env!("CARGO_BIN_EXE_lms-harness"));
    let mut mine = Vec::new();
    let mut theirs = Vec::new();
    for run in 0..o.runs {
        if let Some(before) = &o.before {
            theirs.push(measure(before, &o, 2 * run).await);
            eprintln!("before, run {run}: {:?}", theirs.last().unwrap());
        }
        mine.push(measure(&this, &o, 2 * run + 1).await);
        eprintln!("this build, run {run}: {:?}", mine.last().unwrap());
    }
    println!(
        "{} learners, killed after {} messages, Slack's limits for an app outside the Marketplace at time scale {TIME_SCALE}; \
         one value per run",
        o.learners, o.kill_after
    );
    println!(
        "| build | in flight at the kill | announced as posting | history calls after restart | recovery, Slack minutes: median (runs) | failed | duplicated |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    if let Some(before) = &o.before {
        println!("{}", row(&before.display().to_string(), &theirs));
    }
    println!("{}", row("this build", &mine));
}
