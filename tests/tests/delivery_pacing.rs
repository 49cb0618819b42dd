//! Pacing: a 2,000-recipient invitation against the simulated Slack with its real limits, sped up (time_scale), and
//! the connector's pacing sped up by the same factor. No call may be answered 429, and the whole invitation must
//! take no more than 15% over the least time the limits allow.

use e2e_tests::TestDir;
use lms::workers::{OutboxConfig, SystemClock, Workers};
use lms_harness::bench_invite::{self as bench, BIG_PLATFORM};
use lms_harness::harness::{Harness, HarnessOptions};
use slack_sim::RateLimits;
use std::time::Instant;

const RECIPIENTS: usize = 2_000;
/// Slack's minute passes in 60/SCALE real seconds.
const SCALE: f64 = 60.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_invitation_keeps_within_slacks_limits_in_close_to_the_least_time() {
    let dir = TestDir::new("pacing");
    let mut options = HarnessOptions::in_dir(dir.path());
    options.sim = bench::workspace(RECIPIENTS);
    let limits = RateLimits {
        enabled: true,
        time_scale: SCALE,
        ..RateLimits::default()
    };
    options.sim.rate_limits = limits.clone();
    let sim_config = options.sim.clone();
    let harness = Harness::start(options).await.unwrap();
    let lms = &harness.lms;
    let seeded = bench::seed(lms, &sim_config, RECIPIENTS, 0).unwrap();
    bench::activate(lms, &seeded.admin).await.unwrap();
    lms.configure(BIG_PLATFORM, "rate_limit_scale", &SCALE.to_string(), false)
        .unwrap();
    bench::invite(lms, "big-1", &seeded).unwrap();

    let started = Instant::now();
    let report = Workers::new(lms.clone(), OutboxConfig::default())
        .drain(Some(BIG_PLATFORM), &SystemClock)
        .await
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    assert_eq!((report.sent, report.failed), (RECIPIENTS, 0), "{report:?}");

    let calls = harness.sim.api_calls();
    let refused: Vec<_> = calls.iter().filter(|c| c.status == 429).collect();
    assert!(
        refused.is_empty(),
        "{} calls answered 429, the first: {:?}",
        refused.len(),
        refused.first()
    );
    // Each learner needs one conversations.open (Tier 3) and one chat.postMessage (workspace cap): the least time is
    // the slower of the two buckets, each starting full.
    let per_sec = |per_minute: f64| per_minute * SCALE / 60.0;
    let n = RECIPIENTS as f64;
    let opens = (n - 50.0) / per_sec(50.0);
    let posts = (n - f64::from(limits.post_workspace_per_minute))
        / per_sec(f64::from(limits.post_workspace_per_minute));
    let least = opens.max(posts);
    eprintln!(
        "{RECIPIENTS} recipients in {took:.2} s; the limits allow {least:.2} s at best ({:.1}% over); {} batches held back",
        100.0 * (took / least - 1.0),
        report.paced
    );
    assert!(
        took <= least * 1.15,
        "took {took:.2} s, more than 15% over the least time {least:.2} s"
    );
    let times = |method: &str| -> Vec<f64> {
        calls
            .iter()
            .filter(|c| c.method == method)
            .map(|c| c.time)
            .collect()
    };
    let (lists, opens_at, posts_at) = (
        times("users.list"),
        times("conversations.open"),
        times("chat.postMessage"),
    );
    let t0 = lists.first().copied().unwrap_or_default();
    eprintln!(
        "users.list {} pages in {:.2} s; conversations.open from {:.2} s to {:.2} s; last post at {:.2} s",
        lists.len(),
        lists.last().unwrap() - t0,
        opens_at.first().unwrap() - t0,
        opens_at.last().unwrap() - t0,
        posts_at.last().unwrap() - t0,
    );
    let messages = bench::app_messages(&harness.sim);
    assert_eq!(messages.len(), RECIPIENTS);
    assert!(messages.iter().all(|(_, n)| *n == 1), "one message each");
    harness.sim.shutdown().await;
}
