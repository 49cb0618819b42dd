//! Several hosts on one PostgreSQL database (each test in a schema of its own; skipped, saying so, when no
//! PostgreSQL answers, except under `CI=true`).
//!
//! Three host processes (`lms-harness deliveries --run --database URL`, each with a data folder of its own holding
//! the same secrets key) deliver an invitation to 3,000 learners across 10 platforms, against the simulated Slack with
//! its limits on at a time scale. One host is SIGKILLed in the middle of the run, another while it holds a platform's
//! lease. In the end every learner has exactly one message, no delivery is lost, and Slack answered no call with 429.
//!
//! The 10 platforms are installed in one simulated workspace (the simulation serves one), whose limits they share, as
//! platforms connected to one Slack workspace with the same app do: each has a tenth of them (`rate_limit_share`),
//! its bursts and its rates, so that together they stay within them.
//!
//! The simulated app is listed in the Marketplace here. Slack gives an app outside it one `conversations.history` call
//! a minute per workspace, the recovery's check of a post a kill left unknown, and ten platforms of one workspace
//! cannot divide one call without coordinating: the platforms a host takes over together check at once, and one of
//! them got a 429. With a workspace per platform, as in production, each has its own call a minute. The connector still
//! paces history at one a minute (stricter than this app's limit); recovery under that limit is shown by
//! `crash_resume.rs` and the recovery benchmark.

#[path = "support/temp_dir.rs"]
mod temp_dir;

#[path = "support/rows.rs"]
mod rows;

#[path = "support/statuses.rs"]
mod statuses;

use lms::db::Db;
use lms::integration::Lms;
use lms::scheduler::{Schedule, StepDraft};
use lms::sql::Location;
use lms::sql::scratch::Scratch;
use lms::workers::{OutboxConfig, SystemClock, Workers};
use lms_harness::bench_invite as bench;
use lms_harness::connector::{ConnectorSpec, DataDir};
use rows::pairs;
use slack_sim::SimHandle;
use statuses::statuses;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use temp_dir::TempDir;

const PLATFORMS: usize = 10;
const LEARNERS: usize = 300;
/// A minute of Slack's limits passes in a tenth of a second.
const TIME_SCALE: f64 = 600.0;

fn platform(i: usize) -> String {
    format!("p{i}")
}

/// The LMS on the database at `url`, with the key of `dir` (made when nothing is sealed yet).
fn open_lms(url: &str, dir: &Path, slack_url: &str) -> Lms {
    let db = Db::open_at_with_key_file(
        &Location::Postgres(url.to_string()),
        &DataDir::key_file(dir),
    )
    .unwrap();
    ConnectorSpec::embedded(Some(DataDir::cache(dir)))
        .open_lms(db, Some(slack_url))
        .unwrap()
}

/// `PLATFORMS` platforms of `LEARNERS` learners each, activated in the workspace of `sim`.
async fn seed(lms: &Lms, config: &slack_sim::SimConfig, invite: bool) {
    for i in 0..PLATFORMS {
        let p = platform(i);
        let seeded = bench::seed_on(lms, &p, config, i * LEARNERS..(i + 1) * LEARNERS, 0).unwrap();
        bench::activate_on(lms, &p, &seeded.admin).await.unwrap();
        // Ten platforms share the workspace's limits: each has a tenth of them.
        lms.configure(&p, "rate_limit_scale", &TIME_SCALE.to_string(), false)
            .unwrap();
        lms.configure(
            &p,
            "rate_limit_share",
            &(1.0 / PLATFORMS as f64).to_string(),
            false,
        )
        .unwrap();
        if invite {
            assert_eq!(
                bench::invite_on(lms, &p, "invite-1", &seeded).unwrap(),
                LEARNERS
            );
        }
    }
}

/// A host: `lms-harness deliveries --run` on every platform of the database at `url`, with the data folder `dir`.
fn host(url: &str, dir: &Path, slack_url: &str, log: &str) -> Child {
    let out = std::fs::File::create(dir.join(format!("{log}.out"))).unwrap();
    let err = std::fs::File::create(dir.join(format!("{log}.err"))).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_lms-harness"))
        .args([
            "deliveries",
            "--run",
            "--summary",
            "--json",
            "--database",
            url,
            "--data",
        ])
        .arg(dir)
        .args(["--slack-url", slack_url])
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap()
}

/// Platforms whose lease the process `pid` holds now.
fn leases_of(db: &Db, pid: u32) -> i64 {
    db.conn()
        .query_row(
            "SELECT COUNT(*) FROM platform_leases WHERE owner LIKE ?1 AND expires_at >= ?2",
            lms::sql::params![format!("%:{pid}:%"), lms::db::now()],
            |r| r.get(0),
        )
        .unwrap()
}

/// The calls the simulated Slack answered 429: method and simulated time.
fn rate_limited(sim: &SimHandle) -> Vec<(String, f64)> {
    sim.api_calls()
        .into_iter()
        .filter(|c| c.status == 429)
        .map(|c| (c.method, c.time))
        .collect()
}

async fn wait_for(what: &str, deadline: Instant, mut done: impl FnMut() -> bool) {
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_two_killed_deliver_every_invitation_exactly_once_within_slack_s_limits() {
    let Some(scratch) = Scratch::new("three_hosts") else {
        return;
    };
    let url = scratch.url();
    let mut config = bench::workspace(PLATFORMS * LEARNERS);
    config.rate_limits.enabled = true;
    config.rate_limits.time_scale = TIME_SCALE;
    config.app.marketplace_approved = true;
    let sim = slack_sim::start(([127, 0, 0, 1], 0).into(), config.clone())
        .await
        .unwrap();
    let dirs: Vec<TempDir> = (0..4).map(|i| TempDir::new(&format!("host{i}"))).collect();
    {
        let lms = open_lms(&url, &dirs[0].0, &sim.base_url());
        seed(&lms, &config, true).await;
    }
    // Every host has the key that sealed the platforms' secrets.
    for dir in &dirs[1..] {
        std::fs::copy(DataDir::key_file(&dirs[0].0), DataDir::key_file(&dir.0)).unwrap();
    }
    let db = Db::open_at_with_key_file(
        &Location::Postgres(url.clone()),
        &DataDir::key_file(&dirs[0].0),
    )
    .unwrap();
    let total = PLATFORMS * LEARNERS;
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut hosts: Vec<Child> = (0..3)
        .map(|i| host(&url, &dirs[i].0, &sim.base_url(), &format!("host{i}")))
        .collect();

    // The first host dies in the middle of the run.
    wait_for("a third of the messages", deadline, || {
        bench::app_message_total(&sim) >= total / 3
    })
    .await;
    hosts[0].kill().unwrap(); // SIGKILL
    hosts[0].wait().unwrap();
    eprintln!(
        "host 0 killed at {} messages",
        bench::app_message_total(&sim)
    );

    // The second dies while it holds a platform's lease, once the others moved on.
    let second = hosts[1].id();
    let at_first_kill = bench::app_message_total(&sim);
    wait_for("host 1 holding a lease", deadline, || {
        bench::app_message_total(&sim) >= at_first_kill + LEARNERS && leases_of(&db, second) > 0
    })
    .await;
    hosts[1].kill().unwrap();
    hosts[1].wait().unwrap();
    eprintln!(
        "host 1 killed at {} messages, holding a lease",
        bench::app_message_total(&sim)
    );
    assert!(
        bench::app_message_total(&sim) < total,
        "the kills happened before the end"
    );

    // The third takes over what they held and finishes; a fourth, started now, shares the rest.
    hosts.push(host(&url, &dirs[3].0, &sim.base_url(), "host3"));
    for (i, host) in hosts.iter_mut().enumerate().skip(2) {
        let status = loop {
            if let Some(status) = host.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "host {i} did not finish");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let err = std::fs::read_to_string(dirs[i].0.join(format!("host{i}.err"))).unwrap();
        assert!(status.success(), "host {i}: {err}");
    }
    let reasons: Vec<(String, i64)> = pairs(
        &db.conn(),
        "SELECT COALESCE(reason_code, '') || ': ' || COALESCE(reason, ''), COUNT(*) FROM deliveries
         WHERE status <> 'sent' GROUP BY 1",
    );
    assert_eq!(
        statuses(&db),
        vec![("sent".to_string(), total as i64)],
        "not sent: {reasons:?}"
    );
    let per_conversation = bench::app_messages(&sim);
    assert_eq!(per_conversation.len(), total, "every learner reached");
    let twice: Vec<_> = per_conversation.iter().filter(|(_, n)| *n != 1).collect();
    assert!(twice.is_empty(), "duplicates: {twice:?}");
    assert_eq!(rate_limited(&sim), [], "no call was answered 429");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_with_another_key_refuses_to_start() {
    let Some(scratch) = Scratch::new("other_key") else {
        return;
    };
    let url = scratch.url();
    let config = bench::workspace(10);
    let sim = slack_sim::start(([127, 0, 0, 1], 0).into(), config.clone())
        .await
        .unwrap();
    let (first, second) = (TempDir::new("key-first"), TempDir::new("key-second"));
    {
        let lms = open_lms(&url, &first.0, &sim.base_url());
        let seeded = bench::seed_on(&lms, "p0", &config, 0..10, 0).unwrap();
        bench::activate_on(&lms, "p0", &seeded.admin).await.unwrap();
    }
    std::fs::write(DataDir::key_file(&second.0), "ab".repeat(32)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lms-harness"))
        .args(["deliveries", "--summary", "--database", &url, "--data"])
        .arg(&second.0)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused");
    assert!(err.contains("does not open"), "{err}");
    assert!(!err.contains(&config.app.client_secret), "no secret shown");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_step_fires_once_with_three_hosts_running() {
    let Some(scratch) = Scratch::new("step_once") else {
        return;
    };
    let url = scratch.url();
    let mut config = bench::workspace(PLATFORMS * 20);
    config.rate_limits.enabled = false;
    let sim = slack_sim::start(([127, 0, 0, 1], 0).into(), config.clone())
        .await
        .unwrap();
    let dir = TempDir::new("step-once");
    let first = open_lms(&url, &dir.0, &sim.base_url());
    let seeded = bench::seed_on(&first, "p0", &config, 0..20, 0).unwrap();
    bench::activate_on(&first, "p0", &seeded.admin)
        .await
        .unwrap();
    first
        .configure("p0", "rate_limit_scale", "off", false)
        .unwrap();
    first
        .db()
        .upsert_path("p0", "path-1", "Onboarding", None)
        .unwrap();
    for learner in &seeded.learners {
        first.enrol("p0", "path-1", learner, 0).unwrap();
    }
    let now = lms::db::now();
    first
        .db()
        .add_path_step(
            "p0",
            &seeded.admin,
            "path-1",
            &StepDraft {
                title: "Welcome",
                text: "Your first week starts now.",
                schedule: Schedule::At(now),
            },
            now,
        )
        .unwrap();
    // Three hosts (each its own connections to the database) schedule and deliver at once, as `serve` does.
    let hosts: Vec<Lms> = std::iter::once(first)
        .chain((0..2).map(|_| open_lms(&url, &dir.0, &sim.base_url())))
        .collect();
    let runs = hosts.iter().map(|lms| {
        let lms = lms.clone();
        tokio::spawn(async move {
            let scheduled = lms
                .db()
                .schedule_due_steps("p0", lms::db::now() + 1)
                .unwrap();
            let workers = Workers::new(lms, OutboxConfig::default());
            let report = workers.drain(Some("p0"), &SystemClock).await.unwrap();
            (scheduled, report.sent)
        })
    });
    let mut scheduled = 0;
    let mut sent = 0;
    for run in runs.collect::<Vec<_>>() {
        let (s, n) = run.await.unwrap();
        scheduled += s;
        sent += n;
    }
    assert_eq!(
        scheduled,
        seeded.learners.len(),
        "each learner's delivery written once"
    );
    assert_eq!(sent, seeded.learners.len(), "each sent once");
    let per_conversation = bench::app_messages(&sim);
    assert_eq!(per_conversation.len(), seeded.learners.len());
    assert!(per_conversation.iter().all(|(_, n)| *n == 1));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_replays_and_disabling_are_shared_by_every_host() {
    let Some(scratch) = Scratch::new("shared_state") else {
        return;
    };
    let url = scratch.url();
    let config = bench::workspace(10);
    let sim = slack_sim::start(([127, 0, 0, 1], 0).into(), config.clone())
        .await
        .unwrap();
    let dir = TempDir::new("shared-state");
    let first = open_lms(&url, &dir.0, &sim.base_url());
    let seeded = bench::seed_on(&first, "p0", &config, 0..10, 0).unwrap();
    bench::activate_on(&first, "p0", &seeded.admin)
        .await
        .unwrap();
    let second = open_lms(&url, &dir.0, &sim.base_url());

    // A signed event handled by one host is a replay on the other.
    let now = lms::db::now();
    let body =
        br#"{"type":"event_callback","event_id":"Ev0SHARED1","event":{"type":"app_home_opened"}}"#;
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert(
        "x-slack-request-timestamp",
        now.to_string().parse().unwrap(),
    );
    headers.insert(
        "x-slack-signature",
        slack_sim::sign_request(&config.app.signing_secret, now, body)
            .parse()
            .unwrap(),
    );
    let handled = first.inbound("p0", "events", &headers, body, now).await;
    assert_eq!(
        handled.status,
        200,
        "{}",
        String::from_utf8_lossy(&handled.body)
    );
    assert_ne!(handled.body, b"duplicate request: already handled");
    let replayed = second
        .inbound("p0", "events", &headers, body, now + 1)
        .await;
    assert_eq!(
        (replayed.status, replayed.body.as_slice()),
        (200, b"duplicate request: already handled".as_slice()),
        "the replay reached another host and changed nothing"
    );

    // A connector disabled through one host is disabled for every host.
    use connector_host::ConnectorStore;
    assert!(first.db().disable("p0", "slack", "tested").unwrap());
    assert_eq!(
        second
            .db()
            .disabled("p0", "slack")
            .unwrap()
            .map(|d| d.reason),
        Some("tested".to_string())
    );
    sim.shutdown().await;
}
