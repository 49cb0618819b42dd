//! Exactly once through crashes, under the limits Slack gives an app that is not approved for its Marketplace
//! (`conversations.history` once a minute, pages of 15): a 2,000-member workspace, the simulated Slack's real limits at
//! a time scale (the connector paces at the same scale), and the process running the outbox (`lms-harness deliveries
//! --run`) killed with SIGKILL at several random moments, then started again on the same data folder. The simulated
//! Slack (in this test process) outlives it.
//!
//! In the end every learner has exactly one message and no delivery is lost; and history is read once for each post
//! a kill left unknown (announced, not answered), plus at most one per kill that lands between a read and its record:
//! at most two handfuls of the batch in flight per kill (the connector announces its posts `requests_in_flight` at a
//! time, 8 by default, and the outcomes of the handful before are recorded with the next announcement), the rest of
//! the batch having been recorded as it went. Two runners started at once on one data folder
//! share it without a duplicate, without dying, and without taking each other's live batch.

#[path = "support/rows.rs"]
mod rows;

#[path = "support/statuses.rs"]
mod statuses;

use lms::db::Db;
use lms_harness::bench_invite as bench;
use lms_harness::connector::DataDir;
use serde_json::Value;
use slack_connector::pacing::DEFAULT_IN_FLIGHT;
use slack_sim::{Fault, SimHandle};
use statuses::statuses;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const RECIPIENTS: usize = 2_000;
/// A minute of Slack's limits passes in half a second.
const TIME_SCALE: f64 = 120.0;
const KILLS: usize = 3;

fn run_outbox(dir: &Path, slack_url: &str, log: &str) -> Child {
    let out = std::fs::File::create(dir.join(format!("{log}.out"))).unwrap();
    let err = std::fs::File::create(dir.join(format!("{log}.err"))).unwrap();
    bench::run_outbox(Path::new(env!("CARGO_BIN_EXE_lms-harness")), dir, slack_url)
        .arg("--json")
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap()
}

fn open(dir: &Path) -> Db {
    DataDir::open_db(dir, false).unwrap()
}

/// Deliveries whose outcome is unknown (in flight, announced as posting), each with the instant its post was
/// announced: announced again after a check, a delivery is a new unknown post.
fn unknown_posts(db: &Db) -> Vec<(String, i64)> {
    rows::pairs(
        &db.conn(),
        "SELECT id, posting_since FROM deliveries WHERE status = 'in_flight' AND posting_since IS NOT NULL",
    )
}

/// `conversations.history` calls Slack answered.
fn history_calls(sim: &SimHandle) -> usize {
    sim.api_calls()
        .iter()
        .filter(|c| c.method == "conversations.history" && c.status == 200)
        .count()
}

/// Waits for a run to end by itself, and returns what it printed (JSON).
async fn finish(mut child: Child, dir: &Path, log: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "{log} did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let out = std::fs::read_to_string(dir.join(format!("{log}.out"))).unwrap();
    let err = std::fs::read_to_string(dir.join(format!("{log}.err"))).unwrap();
    assert!(status.success(), "{log}: {out}\n{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{log}: {e}: {out}"))
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A data folder whose learners are all invited, and the simulated Slack with the limits of an app outside the
/// Marketplace at [`TIME_SCALE`].
async fn invited(name: &str) -> (Dir, SimHandle) {
    let dir = Dir(std::env::temp_dir().join(format!("lms-{name}-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let sim = bench::invited_folder(&dir.0, RECIPIENTS, TIME_SCALE, "crash-1")
        .await
        .unwrap();
    (dir, sim)
}

fn assert_exactly_once(dir: &Path, sim: &SimHandle) {
    assert_eq!(
        statuses(&open(dir)),
        vec![("sent".to_string(), RECIPIENTS as i64)]
    );
    let per_conversation = bench::app_messages(sim);
    assert_eq!(per_conversation.len(), RECIPIENTS, "every learner reached");
    let twice: Vec<_> = per_conversation.iter().filter(|(_, n)| *n != 1).collect();
    assert!(twice.is_empty(), "duplicates: {twice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_killed_at_random_moments_leaves_one_message_each_and_looks_only_for_the_unknown()
{
    let (dir, sim) = invited("crash").await;
    // Kill points: random counts of messages posted, increasing.
    let mut at: Vec<usize> = (0..KILLS)
        .map(|_| rand::random_range(RECIPIENTS / 20..RECIPIENTS * 9 / 10))
        .collect();
    at.sort_unstable();
    // One connection for the whole test: opening the database checks and counts it, as every command does.
    let db = open(&dir.0);
    // Every post a kill left unknown, once: one still unknown at the next kill (its check held back by the pace of
    // history, a minute for an app outside the Marketplace) is the same post, not another.
    let mut unknown_at_kills = std::collections::BTreeSet::new();
    for (i, threshold) in at.iter().enumerate() {
        let mut run = run_outbox(&dir.0, &sim.base_url(), &format!("run{i}"));
        let deadline = Instant::now() + Duration::from_secs(300);
        let progress = |run: &mut Child| {
            assert!(
                run.try_wait().unwrap().is_none(),
                "run {i} ended before it could be killed"
            );
            assert!(Instant::now() < deadline, "no progress");
        };
        while bench::app_message_total(&sim) < *threshold {
            progress(&mut run);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if i + 1 < at.len() {
            tokio::time::sleep(Duration::from_millis(rand::random_range(0..200))).await;
        } else {
            // The last kill lands while a post is in flight, whatever the random moments did: Slack now answers
            // posts a second late, and the runner is killed once it has announced one.
            sim.set_fault(
                "chat.postMessage",
                Fault::Delay {
                    ms: 1_000,
                    count: None,
                },
            );
            while unknown_posts(&db).is_empty() {
                progress(&mut run);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        run.kill().unwrap(); // SIGKILL
        run.wait().unwrap();
        sim.clear_fault("chat.postMessage");
        let unknown = unknown_posts(&db);
        let left = unknown.len();
        eprintln!(
            "kill {i} at {} messages: {left} unknown; deliveries {:?}",
            bench::app_message_total(&sim),
            statuses(&db)
        );
        assert!(
            left <= 2 * DEFAULT_IN_FLIGHT,
            "the handful of posts announced last and the one before it, of one batch in flight: at most \
             {} unknown deliveries",
            2 * DEFAULT_IN_FLIGHT
        );
        unknown_at_kills.extend(unknown);
    }
    assert!(
        !unknown_at_kills.is_empty(),
        "the last kill left a post unknown"
    );
    assert!(
        bench::app_message_total(&sim) < RECIPIENTS,
        "the last kill happened in the middle of the invitation"
    );
    let report = finish(run_outbox(&dir.0, &sim.base_url(), "last"), &dir.0, "last").await;
    eprintln!("last run: {}", report["run"]);
    assert_exactly_once(&dir.0, &sim);
    // Each unknown post is looked for once; a kill that lands between a look and its record makes one look more.
    let (looks, unknown) = (history_calls(&sim), unknown_at_kills.len());
    assert!(
        (unknown..=unknown + KILLS).contains(&looks),
        "history is read for the deliveries whose outcome a kill left unknown, and only for them: {looks} reads for \
         {unknown} unknown posts"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_on_one_data_folder_share_it_without_duplicates() {
    let (dir, sim) = invited("two-runners").await;
    let (first, second) = (
        run_outbox(&dir.0, &sim.base_url(), "first"),
        run_outbox(&dir.0, &sim.base_url(), "second"),
    );
    let first = finish(first, &dir.0, "first").await;
    let second = finish(second, &dir.0, "second").await;
    eprintln!("first: {}\nsecond: {}", first["run"], second["run"]);
    assert_exactly_once(&dir.0, &sim);
    for run in [&first, &second] {
        assert_eq!(run["run"]["taken_over"], 0, "a live batch is never taken");
    }
    let sent = |run: &Value| run["run"]["sent"].as_u64().unwrap();
    assert_eq!(sent(&first) + sent(&second), RECIPIENTS as u64);
    assert!(
        first["run"]["elsewhere"] == true || second["run"]["elsewhere"] == true,
        "they ran at the same time: one found the platform driven by the other"
    );
    assert_eq!(history_calls(&sim), 0, "no outcome was ever unknown");
    sim.shutdown().await;
}
