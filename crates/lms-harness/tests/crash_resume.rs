//! A crash in the middle of a 2,000-recipient invitation: the harness process that runs the outbox is killed with
//! SIGKILL, then started again on the same data folder. The simulated Slack (in this test process) outlives it. In
//! the end every matched learner has exactly one message: the deliveries the crash left in flight are put back in
//! the queue, and their next attempt finds an already posted message in the conversation's history.

use lms_harness::bench_invite::{self as bench, BIG_PLATFORM};
use lms_harness::connector::DataDir;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RECIPIENTS: usize = 2_000;

fn run_outbox(dir: &Path, slack_url: &str, log: &str) -> Child {
    let out = std::fs::File::create(dir.join(format!("{log}.out"))).unwrap();
    let err = std::fs::File::create(dir.join(format!("{log}.err"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_lms-harness"))
        .args(["deliveries", "--data"])
        .arg(dir)
        .args([
            "--platform",
            BIG_PLATFORM,
            "--run",
            "--summary",
            "--slack-url",
            slack_url,
        ])
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap()
}

fn statuses(dir: &Path) -> Vec<(String, i64)> {
    let db = DataDir::open_db(dir, false).unwrap();
    let conn = db.conn();
    let mut stmt = conn
        .prepare("SELECT status, COUNT(*) FROM deliveries GROUP BY status ORDER BY status")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_harness_killed_mid_invitation_resumes_with_exactly_one_message_each() {
    let dir = Dir(std::env::temp_dir().join(format!("lms-crash-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let config = bench::workspace(RECIPIENTS);
    let sim = slack_sim::start(SocketAddr::from(([127, 0, 0, 1], 0)), config.clone())
        .await
        .unwrap();
    {
        let lms = DataDir::open_lms(&dir.0, Some(&sim.base_url())).unwrap();
        let seeded = bench::seed(&lms, &config, RECIPIENTS, 0).unwrap();
        bench::activate(&lms, &seeded.admin).await.unwrap();
        // The simulation's limits are off, and so is the pacing: the crash is what this test is about.
        lms.configure(BIG_PLATFORM, "rate_limit_scale", "off", false)
            .unwrap();
        assert_eq!(bench::invite(&lms, "crash-1", &seeded).unwrap(), RECIPIENTS);
    }

    let messages = |sim: &slack_sim::SimHandle| -> usize {
        bench::app_messages(sim).iter().map(|(_, n)| n).sum()
    };
    let mut first = run_outbox(&dir.0, &sim.base_url(), "first");
    let deadline = Instant::now() + Duration::from_secs(300);
    while messages(&sim) < RECIPIENTS / 3 {
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let at_kill = messages(&sim);
    let left = statuses(&dir.0);
    eprintln!("killed with {at_kill} messages posted; deliveries: {left:?}");
    assert!(
        left.iter()
            .any(|(s, n)| (s == "queued" || s == "in_flight") && *n > 0),
        "the kill happened in the middle of the invitation"
    );

    let mut second = run_outbox(&dir.0, &sim.base_url(), "second");
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the second run did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let out = std::fs::read_to_string(dir.0.join("second.out")).unwrap();
    let err = std::fs::read_to_string(dir.0.join("second.err")).unwrap();
    assert!(status.success(), "{out}\n{err}");
    eprintln!("second run: {out}{err}");

    assert_eq!(
        statuses(&dir.0),
        vec![("sent".to_string(), RECIPIENTS as i64)]
    );
    let per_conversation = bench::app_messages(&sim);
    assert_eq!(per_conversation.len(), RECIPIENTS, "every learner reached");
    let twice: Vec<_> = per_conversation.iter().filter(|(_, n)| *n != 1).collect();
    assert!(twice.is_empty(), "duplicates: {twice:?}");
    sim.shutdown().await;
}
