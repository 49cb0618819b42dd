//! A hostile neighbour: while a hostile connector runs one attack after another on platform `evil`, the real Slack
//! connector keeps delivering invitations on another platform of the same process, against the simulated Slack. For
//! each attack the well-behaved connector's delivery latency (one recipient per call, one call at a time) is measured
//! and compared with its latency when nothing else runs, measured in the same run just before.
//!
//! `cargo bench -p e2e-tests --bench neighbour` (release build); `-- --deliveries N` sets the deliveries per phase,
//! `-- --only TEXT` runs only the attacks whose name contains TEXT.
//! The target: under every attack, p99 at most 2× the quiet p99.

use connector_host::outbound::{Grant, OutboundConfig};
use connector_host::progress::Collected;
use connector_host::{Limits, Sandbox, wit};
use e2e_tests::TestDir;
use lms_harness::bench_invite::{self as bench, BIG_PLATFORM, BIG_SESSION};
use lms_harness::harness::{Harness, HarnessOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const HOSTILE: &[u8] = include_bytes!(env!("HOSTILE_CONNECTOR_WASM"));
const HOSTILE_RESOURCES: &[u8] = include_bytes!(env!("HOSTILE_RESOURCES_CONNECTOR_WASM"));

/// Learners the deliveries rotate over (the connector paces each conversation; many keep it from holding back).
const LEARNERS: usize = 400;
/// Attack loops running at once.
const ATTACKERS: usize = 2;

/// Each attack: a name for the table, which component, and the notification body that selects the attack;
/// `silent` is a granted local server that accepts connections and never answers.
fn attacks(silent: u16) -> Vec<(&'static str, Component, String)> {
    let fixed: &[(&str, Component, &str)] = &[
        ("busy loop (CPU limit)", Component::Hostile, "loop"),
        (
            "unbounded allocation (memory limit)",
            Component::Hostile,
            "alloc",
        ),
        ("unbounded recursion (stack)", Component::Hostile, "recurse"),
        ("log flood (line quota)", Component::Hostile, "flood 100000"),
        (
            "400 KB log lines of token-like words",
            Component::Resources,
            "longline 400000 100",
        ),
        (
            "header maps never dropped",
            Component::Resources,
            "headers 8000 5000",
        ),
        (
            "settings.get storm (host-time budget)",
            Component::Resources,
            "storm settings 100000000",
        ),
        (
            "users.page storm (host-time budget)",
            Component::Resources,
            "storm users 100000000",
        ),
        (
            "settings flood (byte quota)",
            Component::Resources,
            "settings 1000 60000",
        ),
        (
            "log bytes flood (byte quota)",
            Component::Resources,
            "logbytes 1000 1000",
        ),
    ];
    let mut all: Vec<_> = fixed
        .iter()
        .map(|(name, component, body)| (*name, *component, body.to_string()))
        .collect();
    all.push((
        "300 requests at once to a silent server (in-flight cap)",
        Component::Hostile,
        format!("burst 300 http://127.0.0.1:{silent}/"),
    ));
    all
}

#[derive(Clone, Copy)]
enum Component {
    Hostile,
    Resources,
}

/// The latency percentiles of one phase.
struct Phase {
    p50: Duration,
    p99: Duration,
    /// Attack calls that ended during the phase.
    attacks: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn notification(n: usize) -> wit::Notification {
    wit::Notification {
        id: format!("neighbour-{n}"),
        kind: wit::NotificationKind::SessionAssignment,
        title: lms::invitations::subject("Safety at work — 2026", lms::lang::Lang::En),
        session: Some(wit::Session {
            id: BIG_SESSION.into(),
            title: "Safety at work — 2026".into(),
            description: "The yearly safety session.".into(),
            cover_image_url: None,
            cover_is_default: true,
            starts_at: 1_796_112_000,
            ends_at: 1_796_122_800,
            url: "https://lms.example/bigco/sessions/safety-2026".into(),
        }),
        body: None,
        group: wit::PlatformGroup {
            name: "BigCo Learning".into(),
            logo_url: None,
        },
    }
}

/// Delivers `count` invitations one at a time and returns their latencies.
async fn deliver(
    slack: &Sandbox,
    learners: &[wit::Recipient],
    next: &mut usize,
    count: usize,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let n = *next;
        *next += 1;
        let mut recipient = learners[n % learners.len()].clone();
        recipient.delivery_id = format!("d-{n}");
        let reported = Arc::new(Collected::default());
        let started = Instant::now();
        let mut outcomes = slack
            .deliver(
                BIG_PLATFORM,
                &notification(n),
                &[recipient],
                reported.clone(),
            )
            .await
            .expect("the well-behaved connector delivers");
        times.push(started.elapsed());
        // The connector reports each outcome as it goes; the call returns only those it did not report.
        outcomes.extend(reported.outcomes());
        match outcomes.first().map(|o| &o.outcome) {
            Some(wit::Outcome::Sent(_)) => {}
            other => panic!("delivery {n} was not sent: {other:?}"),
        }
    }
    times
}

async fn phase(
    slack: &Sandbox,
    learners: &[wit::Recipient],
    next: &mut usize,
    count: usize,
    attack: Option<(Arc<Sandbox>, String)>,
) -> Phase {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut attackers = Vec::new();
    if let Some((hostile, body)) = attack {
        for a in 0..ATTACKERS {
            let (hostile, stop, done, body) =
                (hostile.clone(), stop.clone(), done.clone(), body.clone());
            attackers.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let mut notification = notification(n);
                    notification.body = Some(body.clone());
                    let recipient = wit::Recipient {
                        user: wit::User {
                            id: format!("victim-{a}"),
                            email: format!("victim{a}@evil.example"),
                            display_name: "Victim".into(),
                            locale: "en".into(),
                            time_zone: "UTC".into(),
                        },
                        delivery_id: format!("evil-{a}-{n}"),
                        attempt: 1,
                        earlier_post: None,
                        reply_to: None,
                    };
                    let _ = hostile
                        .deliver(
                            "evil",
                            &notification,
                            &[recipient],
                            Arc::new(Collected::default()),
                        )
                        .await;
                    done.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            }));
        }
        // Let the attack get going before measuring.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut times = deliver(slack, learners, next, count).await;
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        let _ = a.await;
    }
    times.sort();
    Phase {
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        attacks: done.load(Ordering::Relaxed),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1_000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let deliveries = args
        .iter()
        .position(|a| a == "--deliveries")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(300usize);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    runtime.block_on(run(deliveries, only));
}

async fn run(deliveries: usize, only: Option<String>) {
    let dir = TestDir::new("bench-neighbour");
    let mut options = HarnessOptions::in_dir(dir.path());
    options.sim = bench::workspace(LEARNERS);
    let sim_config = options.sim.clone();
    let harness = Harness::start(options).await.unwrap();
    let seeded = bench::seed(&harness.lms, &sim_config, LEARNERS, 0).unwrap();
    bench::activate(&harness.lms, &seeded.admin).await.unwrap();
    // The connector paces itself at Slack's limits; the simulation's are off, so pacing is scaled out of the way to
    // measure the sandbox, not the pacing.
    harness
        .lms
        .configure(BIG_PLATFORM, "rate_limit_scale", "1000", false)
        .unwrap();
    let db = harness.lms.db().clone();
    let learners: Vec<wit::Recipient> = seeded
        .learners
        .iter()
        .map(|id| {
            let u = db.user(BIG_PLATFORM, id).unwrap().unwrap();
            wit::Recipient {
                user: wit::User {
                    id: u.id,
                    email: u.email,
                    display_name: u.display_name,
                    locale: u.locale,
                    time_zone: u.time_zone,
                },
                delivery_id: String::new(),
                attempt: 1,
                earlier_post: None,
                reply_to: None,
            }
        })
        .collect();
    let engine = Sandbox::engine().unwrap();
    // The attacker is never disabled, so that it keeps attacking for the whole phase.
    let limits = Limits {
        failures_before_disable: u32::MAX,
        ..Limits::default()
    };
    // A server that accepts connections and never answers: the requests of a burst stay in flight.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let load = |bytes: &[u8], id: &str, outbound: OutboundConfig| {
        Arc::new(
            e2e_tests::load_unmanifested(&engine, bytes, id, &db, outbound, limits.clone())
                .unwrap(),
        )
    };
    let granted = Grant::parse(&format!("http://127.0.0.1:{silent_port}/")).unwrap();
    let hostile = load(HOSTILE, "hostile", OutboundConfig::new(vec![granted]));
    let resources = load(
        HOSTILE_RESOURCES,
        "hostile-resources",
        OutboundConfig::new(vec![]),
    );
    let slack = harness.lms.sandbox();
    let mut next = 0;
    // Warm-up: connections, the directory cache, the conversations.
    deliver(slack, &learners, &mut next, LEARNERS).await;
    println!(
        "| attack ({ATTACKERS} attack loops on another platform) | attack calls | p50 ms | p99 ms | quiet p99 ms | p99 ratio |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut worst: f64 = 0.0;
    let chosen = attacks(silent_port)
        .into_iter()
        .filter(|(name, _, _)| only.as_ref().is_none_or(|o| name.contains(o.as_str())));
    for (name, component, body) in chosen {
        let quiet = phase(slack, &learners, &mut next, deliveries, None).await;
        let sandbox = match component {
            Component::Hostile => hostile.clone(),
            Component::Resources => resources.clone(),
        };
        let under = phase(
            slack,
            &learners,
            &mut next,
            deliveries,
            Some((sandbox, body)),
        )
        .await;
        let ratio = under.p99.as_secs_f64() / quiet.p99.as_secs_f64();
        worst = worst.max(ratio);
        println!(
            "| {name} | {} | {} | {} | {} | {ratio:.2} |",
            under.attacks,
            ms(under.p50),
            ms(under.p99),
            ms(quiet.p99)
        );
    }
    println!("\nworst p99 ratio: {worst:.2} (target ≤ 2.00); {deliveries} deliveries per phase");
    harness.sim.shutdown().await;
}
