//! Delivery under the simulated Slack's faults, through the real component over HTTP: 429 bursts with Retry-After,
//! 500/503, slow answers, dropped connections, answers lost after Slack posted, errors that retrying cannot fix.
//! Every recipient ends with exactly one message or a failure with its reason; no duplicates, none lost.
//!
//! Time is a [`ManualClock`]: back-offs are recorded as due times and the clock jumps to them; the only real waits
//! are Slack's `Retry-After` seconds, which the connector honours.

use e2e_tests::TestDir;
use lms::integration::Tile;
use lms::outbox::DeliveryStatus;
use lms::outbox::{self, LogEntry, LogFilter, MAX_ATTEMPTS, RunReport};
use lms::workers::{ManualClock, OutboxConfig, Workers};
use lms_harness::bench_invite::{self as bench, BIG_PLATFORM, Seeded};
use lms_harness::harness::{Harness, HarnessOptions};
use slack_sim::{Fault, SimHandle};

const MATCHED: usize = 40;
const UNMATCHED: usize = 2;

async fn start(name: &str) -> (TestDir, Harness, Seeded) {
    let dir = TestDir::new(name);
    let mut options = HarnessOptions::in_dir(dir.path());
    options.sim = bench::workspace(MATCHED);
    let sim_config = options.sim.clone();
    let harness = Harness::start(options).await.unwrap();
    let seeded = bench::seed(&harness.lms, &sim_config, MATCHED, UNMATCHED).unwrap();
    bench::activate(&harness.lms, &seeded.admin).await.unwrap();
    // The simulation's limits are off; the connector's pacing runs 2,000 times faster than Slack's real limits, so
    // that the history checks of retries whose outcome was unknown (one a minute for an app outside the Marketplace)
    // do not take minutes.
    harness
        .lms
        .configure(BIG_PLATFORM, "rate_limit_scale", "2000", false)
        .unwrap();
    (dir, harness, seeded)
}

async fn invite_and_drain(harness: &Harness, seeded: &Seeded, id: &str) -> RunReport {
    assert_eq!(
        bench::invite(&harness.lms, id, seeded).unwrap(),
        seeded.learners.len()
    );
    let clock = ManualClock::new(lms::db::now());
    let workers = Workers::new(harness.lms.clone(), OutboxConfig::default());
    workers.drain(Some(BIG_PLATFORM), &clock).await.unwrap()
}

fn log(harness: &Harness, id: &str) -> Vec<LogEntry> {
    outbox::delivery_log(
        harness.lms.db(),
        &LogFilter {
            platform: Some(BIG_PLATFORM.into()),
            notification: Some(id.into()),
            learner: None,
        },
    )
    .unwrap()
}

/// Messages of notification `id` per conversation, from the metadata the connector puts on each.
fn messages_of(sim: &SimHandle, id: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in sim.conversations() {
        for m in &c.messages {
            let n = m
                .metadata
                .as_ref()
                .and_then(|v| v.pointer("/event_payload/notification_id"))
                .and_then(|v| v.as_str());
            if n == Some(id) {
                out.push((c.id.clone(), m.ts.clone()));
            }
        }
    }
    out
}

/// Every matched learner has exactly one message of `id`, the one the log shows; the others are skipped with
/// their reason.
fn assert_exactly_once(harness: &Harness, id: &str) {
    let entries = log(harness, id);
    let messages = messages_of(&harness.sim, id);
    let mut channels: Vec<&str> = messages.iter().map(|(c, _)| c.as_str()).collect();
    channels.sort();
    let before = channels.len();
    channels.dedup();
    assert_eq!(before, channels.len(), "{id}: a learner got two messages");
    assert_eq!(
        messages.len(),
        MATCHED,
        "{id}: one message per matched learner"
    );
    for e in &entries {
        if e.user_id.starts_with("nobody-") {
            assert_eq!(e.status, DeliveryStatus::Skipped, "{e:?}");
            assert_eq!(e.reason_code.as_deref(), Some("no_account"), "{e:?}");
            continue;
        }
        assert_eq!(e.status, DeliveryStatus::Sent, "{e:?}");
        let posted = messages
            .iter()
            .find(|(c, _)| Some(c) == e.channel.as_ref())
            .unwrap_or_else(|| panic!("{id}: no message in {:?}", e.channel));
        assert_eq!(
            Some(&posted.1),
            e.ts.as_ref(),
            "the log shows the message's ts"
        );
    }
    assert_eq!(entries.len(), MATCHED + UNMATCHED);
}

fn count_calls(sim: &SimHandle, method: &str, fault_prefix: &str) -> usize {
    sim.api_calls()
        .iter()
        .filter(|c| {
            c.method == method
                && c.fault
                    .as_deref()
                    .is_some_and(|f| f.starts_with(fault_prefix))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_end_with_exactly_one_message_per_learner() {
    let (_dir, harness, seeded) = start("faults-transient").await;
    let sim = &harness.sim;

    // A burst of 429s with Retry-After on posting and on opening conversations.
    sim.set_fault(
        "chat.postMessage",
        Fault::Ratelimited {
            count: 4,
            retry_after: 1,
        },
    );
    sim.set_fault(
        "conversations.open",
        Fault::Ratelimited {
            count: 2,
            retry_after: 1,
        },
    );
    let r = invite_and_drain(&harness, &seeded, "n-429").await;
    assert_eq!(count_calls(sim, "chat.postMessage", "ratelimited"), 4);
    assert_eq!(
        (r.sent, r.skipped, r.failed),
        (MATCHED, UNMATCHED, 0),
        "{r:?}"
    );
    assert_exactly_once(&harness, "n-429");
    sim.clear_fault("conversations.open");

    // 500 and 503 answers.
    sim.set_fault(
        "chat.postMessage",
        Fault::HttpStatus {
            status: 500,
            count: Some(3),
        },
    );
    sim.set_fault(
        "conversations.history",
        Fault::HttpStatus {
            status: 503,
            count: Some(2),
        },
    );
    let r = invite_and_drain(&harness, &seeded, "n-5xx").await;
    assert_eq!((r.sent, r.failed), (MATCHED, 0), "{r:?}");
    assert_exactly_once(&harness, "n-5xx");
    let retried = log(&harness, "n-5xx")
        .iter()
        .filter(|e| e.attempts > 1)
        .count();
    assert!(retried >= 3, "the 500s were retried ({retried})");
    sim.clear_fault("conversations.history");

    // Slow answers.
    sim.set_fault(
        "chat.postMessage",
        Fault::Delay {
            ms: 400,
            count: Some(8),
        },
    );
    let r = invite_and_drain(&harness, &seeded, "n-slow").await;
    assert_eq!((r.sent, r.failed), (MATCHED, 0), "{r:?}");
    assert_exactly_once(&harness, "n-slow");

    // Dropped connections before Slack did anything.
    sim.set_fault("chat.postMessage", Fault::Drop { count: Some(5) });
    let r = invite_and_drain(&harness, &seeded, "n-drop").await;
    assert_eq!((r.sent, r.failed), (MATCHED, 0), "{r:?}");
    assert_exactly_once(&harness, "n-drop");

    // Answers lost after Slack posted: the retry finds the message in the conversation's history.
    sim.set_fault("chat.postMessage", Fault::LostAfterPost { count: Some(6) });
    let r = invite_and_drain(&harness, &seeded, "n-lost").await;
    assert_eq!((r.sent, r.failed), (MATCHED, 0), "{r:?}");
    assert_eq!(
        r.already_sent, 6,
        "each lost answer is found, not posted again: {r:?}"
    );
    assert_exactly_once(&harness, "n-lost");
    sim.clear_fault("chat.postMessage");
    harness.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_that_persist_or_cannot_be_fixed_fail_with_their_reason() {
    let (_dir, harness, seeded) = start("faults-permanent").await;
    let sim = &harness.sim;

    // A server error that never ends: retried with back-off up to the limit, then failed with its reason.
    sim.set_fault(
        "chat.postMessage",
        Fault::HttpStatus {
            status: 503,
            count: None,
        },
    );
    let r = invite_and_drain(&harness, &seeded, "n-down").await;
    assert_eq!((r.sent, r.failed), (0, MATCHED), "{r:?}");
    for e in log(&harness, "n-down")
        .iter()
        .filter(|e| e.user_id.starts_with("learner-"))
    {
        assert_eq!(e.status, DeliveryStatus::Failed);
        assert_eq!(e.attempts, MAX_ATTEMPTS, "{e:?}");
        assert_eq!(e.reason_code.as_deref(), Some("http_503"));
        let reason = e.reason.as_deref().unwrap();
        assert!(
            reason.contains("503") && reason.contains("after 5 attempts"),
            "{reason}"
        );
    }
    assert!(messages_of(sim, "n-down").is_empty());
    sim.clear_fault("chat.postMessage");

    // An error retrying cannot fix: one attempt, failed with Slack's code.
    sim.set_messages_tab(false);
    let r = invite_and_drain(&harness, &seeded, "n-tab").await;
    assert_eq!((r.sent, r.failed, r.retrying), (0, MATCHED, 0), "{r:?}");
    for e in log(&harness, "n-tab")
        .iter()
        .filter(|e| e.user_id.starts_with("learner-"))
    {
        assert_eq!(
            (e.status.as_str(), e.attempts),
            ("failed", 1),
            "not retried: {e:?}"
        );
        assert_eq!(e.reason_code.as_deref(), Some("messages_tab_disabled"));
    }
    sim.set_messages_tab(true);

    // The token revoked (the app uninstalled): failed, not retried, the tile disconnected and the admins alerted.
    assert!(sim.uninstall_app());
    let r = invite_and_drain(&harness, &seeded, "n-revoked").await;
    assert_eq!(r.sent, 0, "{r:?}");
    assert_eq!(r.retrying, 0, "{r:?}");
    let entries = log(&harness, "n-revoked");
    assert!(entries.iter().any(|e| e.status == DeliveryStatus::Failed
        && e.attempts == 1
        && e.reason_code.as_deref() == Some("token_revoked")));
    assert!(
        entries
            .iter()
            .all(|e| e.status == DeliveryStatus::Failed || e.status == DeliveryStatus::Skipped)
    );
    assert!(matches!(
        harness.lms.tile(BIG_PLATFORM).unwrap(),
        Tile::Disconnected(_)
    ));
    harness.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_past_the_back_off_cap_fails_the_delivery_with_an_alert_instead_of_parking_it() {
    let (_dir, harness, seeded) = start("faults-retry-after").await;
    let sim = &harness.sim;
    // `Retry-After: 4000000000` would park the deliveries until 2153.
    sim.set_fault(
        "chat.postMessage",
        Fault::Ratelimited {
            count: 10_000,
            retry_after: 4_000_000_000,
        },
    );
    let r = invite_and_drain(&harness, &seeded, "n-park").await;
    assert_eq!((r.sent, r.retrying), (0, 0), "{r:?}");
    // The learners without a Slack account may be skipped before the connector holds the rest back.
    assert!(r.failed >= MATCHED, "{r:?}");
    assert_eq!(r.failed + r.skipped, MATCHED + UNMATCHED, "{r:?}");
    let cap = lms::outbox::RetryPolicy::default().backoff_cap_secs;
    for e in log(&harness, "n-park")
        .iter()
        .filter(|e| e.status != DeliveryStatus::Skipped)
    {
        assert_eq!(e.status, DeliveryStatus::Failed, "{e:?}");
        assert_eq!(e.reason_code.as_deref(), Some(outbox::WAIT_TOO_LONG));
        let reason = e.reason.as_deref().unwrap();
        assert!(
            reason.contains("4000000000 s") && reason.contains(&format!("{cap} s")),
            "{reason}"
        );
    }
    let alerts: Vec<String> = {
        let conn = harness.lms.db().conn();
        let mut stmt = conn
            .prepare("SELECT message FROM alerts WHERE platform_id = ?1")
            .unwrap();
        stmt.query_map([BIG_PLATFORM], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(
        alerts
            .iter()
            .filter(|text| text.contains("longer than the longest back-off"))
            .count(),
        1,
        "one alert for the batch, however many outcomes the connector reported one by one: {alerts:?}"
    );
    assert!(messages_of(sim, "n-park").is_empty());
    harness.sim.shutdown().await;
}
