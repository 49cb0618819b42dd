//! Many workspaces on one host: `--platforms` platforms, each connected to a Slack workspace of its own (one app
//! installed in every workspace, as an LMS's app is), `--learners` learners each, every learner invited at once, then
//! `lms-harness deliveries --run` in one host process on SQLite. Two loads, interleaved, `--runs` times each:
//!
//! 1. **Slack's limits off**: deliveries per second, CPU per 1,000 deliveries, and the latency of each delivery (from
//!    the host's start, when every invitation is already queued, until the learner's message is in Slack): the
//!    first, p50, p99 and the last.
//! 2. **Slack's limits on** at `--scale` (a minute of Slack's limits passes in 1/scale of real time; the connector
//!    paces at the same scale): the same, and the total time against the least time the limits allow for the load,
//!    computed from the limits the simulation runs with ([`least_time`]).
//!
//! Every run checks that each learner got exactly one message, and counts the calls Slack refused with HTTP 429. The
//! host runs on two cores, then pinned to one with `taskset` (`--cores`); the simulated Slack stays free.
//!
//! `cargo bench -p lms-harness --bench workspaces -- [--runs N] [--platforms N] [--learners N] [--scale X]
//! [--cores 2,1]`

#[path = "../tests/support/temp_dir.rs"]
mod temp_dir;

mod support;

use lms_harness::bench_invite as bench;
use lms_harness::connector::DataDir;
use slack_connector::directory::{LIST_THRESHOLD, PAGE_SIZE};
use slack_sim::{ConversationKind, RateLimits, SimHandle};
use std::time::{SystemTime, UNIX_EPOCH};
use support::{Measure, binary, core_setting, measure, median, run_outbox};
use temp_dir::TempDir;

/// `cargo bench -p lms-harness --bench workspaces -- [OPTIONS]`.
#[derive(clap::Parser)]
struct Options {
    /// Interleaved runs of each load.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Platforms, each connected to a workspace of its own.
    #[arg(long, default_value_t = 200, value_parser = at_least_one)]
    platforms: usize,
    /// Learners per platform, each a member of the platform's workspace.
    #[arg(long, default_value_t = 50, value_parser = at_least_one)]
    learners: usize,
    /// How much faster than real time Slack's limits pass when they are on.
    #[arg(long, default_value_t = 60.0)]
    scale: f64,
    /// The core settings of the host, in turn: 2 (not pinned) and 1 (pinned to CPU 0 with `taskset`).
    #[arg(long, value_delimiter = ',', default_values_t = [2, 1], value_parser = core_setting)]
    cores: Vec<usize>,
    /// Added by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

fn at_least_one(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("a whole number from 1, not {value}")),
    }
}

/// One run of the host over the whole load.
struct Run {
    /// The host process's wall and CPU time.
    measure: Measure,
    /// Seconds from the host's start until each message was in Slack, sorted.
    latencies: Vec<f64>,
    /// Calls Slack answered with HTTP 429.
    refused: usize,
}

/// Seconds since the Unix epoch (the simulated Slack's `ts` clock, which runs on real time here).
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Seeds the load in a fresh data folder against a fresh simulated Slack, runs the host to its end on `cores`, and
/// reads what reached Slack.
async fn run(o: &Options, limits: bool, cores: usize) -> Run {
    // Seeded with the limits off: the seeding is not what is measured.
    let config = bench::workspaces(o.platforms, o.learners);
    let sim = slack_sim::start(([127, 0, 0, 1], 0).into(), config.clone())
        .await
        .unwrap();
    let dir = TempDir::new("workspaces");
    {
        let lms = DataDir::open_lms(&dir.0, Some(&sim.base_url())).unwrap();
        let pace = if limits {
            o.scale.to_string()
        } else {
            "off".into()
        };
        let installer = bench::workspace_admin;
        bench::seed_platforms(&lms, &config, o.platforms, o.learners, &pace, installer)
            .await
            .unwrap();
    }
    // The run starts with every workspace's limits at rest.
    if limits {
        sim.set_rate_limits(limits_at(o.scale));
    }
    let before = sim.api_calls().last().map_or(0, |c| c.seq);
    let command = run_outbox(&dir.0, &sim.base_url(), cores);
    let started = unix_now();
    let scratch = dir.0.clone();
    let (measure, _) = tokio::task::spawn_blocking(move || measure(command, &scratch))
        .await
        .unwrap();
    let latencies = latencies(&sim, started, o.platforms * o.learners);
    let refused = sim
        .api_calls()
        .iter()
        .filter(|c| c.seq > before && c.status == 429)
        .count();
    sim.shutdown().await;
    Run {
        measure,
        latencies,
        refused,
    }
}

/// The seconds from `started` until each app message was posted, sorted; panics unless every one of the `expected`
/// learners got exactly one.
fn latencies(sim: &SimHandle, started: f64, expected: usize) -> Vec<f64> {
    let dms: Vec<_> = sim
        .conversations()
        .into_iter()
        .filter(|c| c.kind == ConversationKind::AppDm)
        .collect();
    let doubled = dms.iter().filter(|c| c.messages.len() > 1).count();
    let mut out: Vec<f64> = dms
        .iter()
        .flat_map(|c| &c.messages)
        .map(|m| m.ts.parse::<f64>().unwrap() - started)
        .collect();
    assert_eq!(
        (out.len(), doubled),
        (expected, 0),
        "messages, conversations with more than one"
    );
    out.sort_by(f64::total_cmp);
    out
}

/// The least real time Slack's `limits` allow for a first invitation of `learners` learners in one workspace, in
/// seconds. Each bucket the invitation draws on starts full (its burst) and refills at its rate, so it needs
/// (calls − burst) / rate; the invitation needs the longest of them. The buckets are those the connector's calls draw
/// on: the directory (`users.list` pages from [`LIST_THRESHOLD`] learners on, else a `users.lookupByEmail` each), a
/// `conversations.open` and a `chat.postMessage` per learner (the workspace's posting cap; one post in each
/// conversation is always within its burst). Workspaces have limits of their own, so a load of several takes the
/// longest workspace's time.
fn least_time(limits: &RateLimits, learners: usize) -> f64 {
    let per_minute = |method: &str| {
        limits
            .per_method_per_minute
            .get(method)
            .copied()
            .or_else(|| {
                let tier = slack_sim::METHODS.iter().find(|(m, _)| *m == method)?.1;
                Some(tier.per_minute())
            })
            .expect("a method the simulation knows")
            .max(1) as f64
    };
    let listed = learners >= LIST_THRESHOLD;
    // The directory lists the learners, the admin, Slackbot and the app's bot user.
    let pages = (learners + 3).div_ceil(PAGE_SIZE as usize);
    let posts_per_minute = limits
        .per_method_per_minute
        .get("chat.postMessage")
        .copied()
        .unwrap_or(limits.post_workspace_per_minute)
        .max(1) as f64;
    // (calls, burst, calls per minute) of each bucket.
    let buckets = [
        (
            if listed { pages } else { 0 },
            per_minute("users.list"),
            per_minute("users.list"),
        ),
        (
            if listed { 0 } else { learners },
            per_minute("users.lookupByEmail"),
            per_minute("users.lookupByEmail"),
        ),
        (
            learners,
            per_minute("conversations.open"),
            per_minute("conversations.open"),
        ),
        (learners, posts_per_minute, posts_per_minute),
    ];
    let slack_minutes = buckets
        .iter()
        .map(|&(calls, burst, rate)| (calls as f64 - burst).max(0.0) / rate)
        .fold(0.0, f64::max);
    slack_minutes * 60.0 / limits.time_scale
}

/// Slack's limits, passing `scale` times faster than real time.
fn limits_at(scale: f64) -> RateLimits {
    RateLimits {
        enabled: true,
        time_scale: scale,
        ..RateLimits::default()
    }
}

/// The value at `q` (0 to 1) of sorted `values`.
fn quantile(values: &[f64], q: f64) -> f64 {
    values[((values.len() - 1) as f64 * q).round() as usize]
}

#[tokio::main]
async fn main() {
    let o = <Options as clap::Parser>::parse();
    binary();
    let total = o.platforms * o.learners;
    // Each case (cores, limits) over the runs, interleaved.
    let cases: Vec<(usize, bool)> = o
        .cores
        .iter()
        .flat_map(|&cores| [(cores, false), (cores, true)])
        .collect();
    let mut runs: Vec<Vec<Run>> = cases.iter().map(|_| Vec::new()).collect();
    for round in 0..o.runs {
        for (i, &(cores, limits)) in cases.iter().enumerate() {
            let r = run(&o, limits, cores).await;
            eprintln!(
                "run {} · {cores} core(s) · limits {}: {:.2} s, {:.0}/s, CPU {:.2} s, p99 {:.2} s, {} refused",
                round + 1,
                if limits { "on" } else { "off" },
                r.measure.wall,
                total as f64 / r.measure.wall,
                r.measure.cpu,
                quantile(&r.latencies, 0.99),
                r.refused,
            );
            runs[i].push(r);
        }
    }
    let least = least_time(&limits_at(o.scale), o.learners);
    println!(
        "\n{} platforms × {} learners, each platform in a workspace of its own, one host; medians of {} interleaved runs\n",
        o.platforms, o.learners, o.runs
    );
    println!(
        "| host cores | Slack's limits | deliveries/s: median (runs) | CPU s per 1,000 deliveries | latency first / p50 / p99 / last, s | least time the limits allow, s | total / least | HTTP 429 |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (&(cores, limits), rs) in cases.iter().zip(&runs) {
        let rates: Vec<f64> = rs.iter().map(|r| total as f64 / r.measure.wall).collect();
        let each = rates
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", ");
        let cpu = median(
            rs.iter()
                .map(|r| r.measure.cpu * 1000.0 / total as f64)
                .collect(),
        );
        let at = |q: f64| median(rs.iter().map(|r| quantile(&r.latencies, q)).collect());
        let wall = median(rs.iter().map(|r| r.measure.wall).collect());
        let (name, least, ratio) = match limits {
            false => ("off".to_string(), "—".to_string(), "—".to_string()),
            true if least > 0.0 => (
                format!("on, time × {}", o.scale),
                format!("{least:.2}"),
                format!("{:.2}", wall / least),
            ),
            // Every call fits in the buckets' bursts: Slack would take them all at once.
            true => (
                format!("on, time × {}", o.scale),
                "0 (all within the bursts)".to_string(),
                "—".to_string(),
            ),
        };
        println!(
            "| {cores} | {name} | {:.0} ({each}) | {cpu:.2} | {:.2} / {:.2} / {:.2} / {:.2} | {least} | {ratio} | {} |",
            median(rates.clone()),
            at(0.0),
            at(0.5),
            at(0.99),
            at(1.0),
            rs.iter().map(|r| r.refused).sum::<usize>(),
        );
    }
}
