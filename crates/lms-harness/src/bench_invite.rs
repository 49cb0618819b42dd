//! Large invitations: a simulated workspace of many members, a platform whose learners match them, and the delivery
//! benchmark (`lms-harness bench`). The end-to-end tests use the same builders.

use crate::connector::DataDir;
use crate::demo::{DEMO_REDIRECT_URI, consent};
use lms::db::Role;
use lms::db::{Platform, Session, User};
use lms::integration::{Lms, Tile};
use lms::outbox::{Kind, NewNotification, RunReport};
use lms::workers::{OutboxConfig, SystemClock, Workers};

use anyhow::{Result, bail};
use slack_sim::{App, Member, SimConfig, SimHandle, Workspace};
use std::net::SocketAddr;
use std::time::Instant;

/// The platform of the large invitations.
pub const BIG_PLATFORM: &str = "bigco";
/// The Slack member who installs the app (a workspace admin).
pub const ADMIN_MEMBER: &str = "U0ADMIN001";
/// The session the learners are invited to.
pub const BIG_SESSION: &str = "safety-2026";

/// A workspace with an admin and `members` members `learner{i}@big.example` (rate limits off, enough calls kept to
/// inspect every call of an invitation of all of them).
pub fn workspace(members: usize) -> SimConfig {
    workspaces(1, members)
}

/// `count` workspaces of an admin ([`workspace_admin`]) and `members` members each, the `k`-th workspace's members
/// being `learner{i}@big.example` for `i` in `k × members .. (k + 1) × members`: one app installed in many
/// workspaces, each its own team with its own limits (rate limits off, enough calls kept to inspect every call of an
/// invitation of all of them).
pub fn workspaces(count: usize, members: usize) -> SimConfig {
    let member = |id: String, name: String, email: String| Member {
        id,
        real_name: name.clone(),
        name,
        email: Some(email),
        tz: "UTC".into(),
        locale: "en-US".into(),
        deleted: false,
        is_bot: false,
        is_admin: false,
    };
    let mut all = (0..count.max(1)).map(|k| {
        let mut admin = member(
            workspace_admin(k),
            format!("ada{k}"),
            format!("ada{k}@big.example"),
        );
        admin.is_admin = true;
        let mut people = vec![admin];
        people.extend((k * members..(k + 1) * members).map(|i| {
            member(
                format!("U{:09}", i + 1),
                format!("learner{i}"),
                format!("learner{i}@big.example"),
            )
        }));
        let (team_id, team_name, domain) = match k {
            0 => (
                "T0BIGTEAM1".into(),
                "Big Workspace".into(),
                "big-workspace".into(),
            ),
            k => (
                format!("T{k:09}"),
                format!("Workspace {k}"),
                format!("workspace-{k}"),
            ),
        };
        Workspace {
            team_id,
            team_name,
            domain,
            members: people,
            app_managers: vec![],
            restrict_app_installs: false,
        }
    });
    let first = all.next().expect("at least one workspace");
    let mut config = SimConfig::new(first, App::demo());
    config.other_workspaces = all.collect();
    config.calls_kept = count.max(1) * members * 4 + 1_000;
    config.rate_limits.enabled = false;
    config
}

/// The admin of the `k`-th workspace of [`workspaces`], who installs the app there.
pub fn workspace_admin(k: usize) -> String {
    match k {
        0 => ADMIN_MEMBER.into(),
        k => format!("UADM{k:06}"),
    }
}

/// What [`seed`] created.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// The platform admin's user id.
    pub admin: String,
    /// Every learner's user id (matched ones first).
    pub learners: Vec<String>,
    /// How many of them have a Slack account.
    pub matched: usize,
}

/// The id and e-mail address of the learner matched to the workspace's member `i` (the address in other letter case
/// for every tenth).
pub fn learner(i: usize) -> (String, String) {
    let email = format!("learner{i}@big.example");
    let email = if i % 10 == 3 {
        email.to_uppercase()
    } else {
        email
    };
    (format!("learner-{i:05}"), email)
}

/// Creates the platform (available, configured with the simulated app's credentials), its admin, `matched`
/// learners whose addresses are those of the workspace's members (in other letter case for every tenth), `unmatched`
/// learners with no Slack account, and the session.
pub fn seed(lms: &Lms, sim: &SimConfig, matched: usize, unmatched: usize) -> Result<Seeded> {
    seed_on(lms, BIG_PLATFORM, sim, 0..matched, unmatched)
}

/// [`seed`] on the platform `platform`, whose matched learners are the members `members` (so that several platforms
/// can share one workspace's members without sharing a learner, or each take its own workspace's: [`workspaces`]).
pub fn seed_on(
    lms: &Lms,
    platform: &str,
    sim: &SimConfig,
    members: std::ops::Range<usize>,
    unmatched: usize,
) -> Result<Seeded> {
    let matched = members.len();
    let db = lms.db();
    db.upsert_platform(&Platform {
        id: platform.into(),
        name: "BigCo Academy".into(),
        group_name: "BigCo Learning".into(),
        group_logo_url: Some("https://lms.example/static/bigco-logo.png".into()),
        default_cover_url: None,
        base_url: "https://lms.example/bigco".into(),
    })?;
    lms.set_available(platform, true, "vendor")?;
    lms.configure(platform, "client_id", &sim.app.client_id, false)?;
    lms.configure(platform, "client_secret", &sim.app.client_secret, true)?;
    lms.configure(platform, "signing_secret", &sim.app.signing_secret, true)?;
    let user = |id: String, email: String, role: Role| User {
        display_name: id.clone(),
        id,
        email,
        locale: "en".into(),
        time_zone: "UTC".into(),
        role,
    };
    db.upsert_user(
        platform,
        &user("admin".into(), "admin@bigco.example".into(), Role::Admin),
    )?;
    let mut learners = Vec::with_capacity(matched + unmatched);
    for i in members {
        let (id, email) = learner(i);
        db.upsert_user(platform, &user(id.clone(), email, Role::Learner))?;
        learners.push(id);
    }
    for i in 0..unmatched {
        let id = format!("nobody-{i:05}");
        db.upsert_user(
            platform,
            &user(
                id.clone(),
                format!("nobody{i}@elsewhere.example"),
                Role::Learner,
            ),
        )?;
        learners.push(id);
    }
    db.upsert_session(
        platform,
        &Session {
            id: BIG_SESSION.into(),
            title: "Safety at work — 2026".into(),
            description: "The yearly safety session.".into(),
            cover_url: None,
            starts_at: 1_796_112_000,
            ends_at: 1_796_122_800,
        },
    )?;
    Ok(Seeded {
        admin: "admin".into(),
        learners,
        matched,
    })
}

/// Activates the platform's integration: ACTIVATE, Allow on the simulated consent page, the callback.
pub async fn activate(lms: &Lms, admin: &str) -> Result<Tile> {
    activate_on(lms, BIG_PLATFORM, admin).await
}

/// [`activate`] on the platform `platform`.
pub async fn activate_on(lms: &Lms, platform: &str, admin: &str) -> Result<Tile> {
    activate_in(lms, platform, admin, ADMIN_MEMBER).await
}

/// [`activate_on`] with the Slack member `member` allowing the app: it is installed in that member's workspace.
pub async fn activate_in(lms: &Lms, platform: &str, admin: &str, member: &str) -> Result<Tile> {
    let url = lms
        .start_activation(platform, admin, DEMO_REDIRECT_URI)
        .await?;
    let query = consent(&url, member, true).await?;
    let tile = lms.complete_activation(platform, &query).await?;
    if !matches!(tile, Tile::Active(_)) {
        bail!("activation failed: {tile:?}");
    }
    Ok(tile)
}

/// Platforms `p0`, `p1`, … (`platforms` of them) of `learners` learners each, platform `k` matched to the members
/// `k × learners .. (k + 1) × learners` of `sim`: each activated by the Slack member `installer(k)` (so in that
/// member's workspace), paced at `pace` (`rate_limit_scale`), and every learner invited (notification `bench-1`).
pub async fn seed_platforms(
    lms: &Lms,
    sim: &SimConfig,
    platforms: usize,
    learners: usize,
    pace: &str,
    installer: impl Fn(usize) -> String,
) -> Result<()> {
    for k in 0..platforms {
        let platform = format!("p{k}");
        let seeded = seed_on(lms, &platform, sim, k * learners..(k + 1) * learners, 0)?;
        activate_in(lms, &platform, &seeded.admin, &installer(k)).await?;
        lms.configure(&platform, "rate_limit_scale", pace, false)?;
        if invite_on(lms, &platform, "bench-1", &seeded)? != learners {
            bail!("the invitation of {platform} did not write one delivery per learner");
        }
    }
    Ok(())
}

/// Invites every seeded learner to the session (notification `id`); returns the deliveries written.
pub fn invite(lms: &Lms, id: &str, seeded: &Seeded) -> Result<usize> {
    invite_on(lms, BIG_PLATFORM, id, seeded)
}

/// [`invite`] on the platform `platform`.
pub fn invite_on(lms: &Lms, platform: &str, id: &str, seeded: &Seeded) -> Result<usize> {
    lms.outbox().enqueue(
        platform,
        &NewNotification {
            id,
            kind: Kind::SessionAssignment,
            title: &lms::invitations::subject("Safety at work — 2026", lms::lang::Lang::En),
            session_id: Some(BIG_SESSION),
            body: None,
            mandatory: false,
            not_before: 0,
        },
        &seeded.learners,
    )
}

/// A data folder and the simulated Slack to run it against: a workspace of `members`, with Slack's real limits at
/// `time_scale` (an app outside the Marketplace, as the simulation's default app), and in `dir` the platform seeded
/// with a learner per member, activated, paced at the same scale, and every learner invited (notification `id`). What
/// the crash tests and the recovery benchmark start from.
pub async fn invited_folder(
    dir: &std::path::Path,
    members: usize,
    time_scale: f64,
    id: &str,
) -> Result<SimHandle> {
    let mut config = workspace(members);
    config.rate_limits.enabled = true;
    config.rate_limits.time_scale = time_scale;
    let sim = slack_sim::start(SocketAddr::from(([127, 0, 0, 1], 0)), config.clone()).await?;
    let lms = DataDir::open_lms(dir, Some(&sim.base_url()))?;
    let seeded = seed(&lms, &config, members, 0)?;
    activate(&lms, &seeded.admin).await?;
    lms.configure(
        BIG_PLATFORM,
        "rate_limit_scale",
        &time_scale.to_string(),
        false,
    )?;
    if invite(&lms, id, &seeded)? != members {
        bail!("the invitation did not write one delivery per learner");
    }
    Ok(sim)
}

/// Messages the app posted in the simulation, per conversation.
pub fn app_messages(sim: &SimHandle) -> Vec<(String, usize)> {
    sim.conversations()
        .into_iter()
        .filter(|c| c.kind == slack_sim::ConversationKind::AppDm)
        .map(|c| (c.id, c.messages.len()))
        .collect()
}

/// Every message the app posted in the simulation.
pub fn app_message_total(sim: &SimHandle) -> usize {
    app_messages(sim).iter().map(|(_, n)| n).sum()
}

/// `lms-harness deliveries --run --summary` of the big platform in `dir`, routing Slack to `slack_url`, with the
/// build `binary`: the run the crash tests and the recovery benchmark kill and start again.
pub fn run_outbox(
    binary: &std::path::Path,
    dir: &std::path::Path,
    slack_url: &str,
) -> std::process::Command {
    let mut command = std::process::Command::new(binary);
    command.args(["deliveries", "--data"]).arg(dir).args([
        "--platform",
        BIG_PLATFORM,
        "--run",
        "--summary",
        "--slack-url",
        slack_url,
    ]);
    command
}

/// The host process's peak and current resident memory, in KiB (`VmHWM`, `VmRSS` of `/proc/self/status`).
pub fn memory_kib() -> (Option<u64>, Option<u64>) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// `lms-harness bench`: one large invitation against the simulated Slack with its rate limits off.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Recipients of the invitation (all with a Slack account).
    #[arg(long, default_value_t = 10_000)]
    pub recipients: usize,
    /// Batches in the connector at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Recipients per batch.
    #[arg(long, default_value_t = lms::outbox::BATCH)]
    pub batch: usize,
    /// Prints the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The benchmark's result.
#[derive(Debug, serde::Serialize)]
pub struct BenchResult {
    /// Recipients.
    pub recipients: usize,
    /// Seconds to write the invitation's deliveries to the outbox.
    pub enqueue_secs: f64,
    /// Seconds from the first batch to the last outcome recorded.
    pub deliver_secs: f64,
    /// Deliveries per second.
    pub deliveries_per_sec: f64,
    /// The run's counts.
    pub report: RunReport,
    /// Messages the simulated Slack holds from the app.
    pub messages: usize,
    /// Conversations with more than one message (must be 0).
    pub duplicates: usize,
    /// Peak resident memory of the process (host and simulation), KiB.
    pub peak_rss_kib: Option<u64>,
    /// Resident memory at the end, KiB.
    pub rss_kib: Option<u64>,
    /// HTTP requests the component sent (through the host's outbound policy).
    pub requests: u64,
    /// TCP connections the host opened for them (keep-alive connections are pooled per origin).
    pub connections_opened: u64,
}

/// Runs the benchmark.
pub async fn bench_command(args: BenchArgs) -> Result<()> {
    let result = run_bench(&args).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        println!(
            "{} recipients: enqueued in {:.2} s, delivered in {:.2} s = {:.0} deliveries/s; {} messages, {} duplicates; \
             peak RSS {} MiB; {} requests over {} connections",
            result.recipients,
            result.enqueue_secs,
            result.deliver_secs,
            result.deliveries_per_sec,
            result.messages,
            result.duplicates,
            result.peak_rss_kib.map_or(0, |k| k / 1024),
            result.requests,
            result.connections_opened
        );
    }
    Ok(())
}

async fn run_bench(args: &BenchArgs) -> Result<BenchResult> {
    let dir = std::env::temp_dir().join(format!("lms-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = workspace(args.recipients);
    let sim = slack_sim::start(SocketAddr::from(([127, 0, 0, 1], 0)), config.clone()).await?;
    let lms = DataDir::open_lms(&dir, Some(&sim.base_url()))?;
    let seeded = seed(&lms, &config, args.recipients, 0)?;
    activate(&lms, &seeded.admin).await?;
    // The simulation's limits are off: so is the connector's pacing.
    lms.configure(BIG_PLATFORM, "rate_limit_scale", "off", false)?;
    let t = Instant::now();
    invite(&lms, "bench-1", &seeded)?;
    let enqueue_secs = t.elapsed().as_secs_f64();
    let workers = Workers::new(
        lms.clone(),
        OutboxConfig {
            concurrency: args.concurrency,
            batch: args.batch,
            ..OutboxConfig::default()
        },
    )
    .with_progress();
    let t = Instant::now();
    let report = workers.drain(Some(BIG_PLATFORM), &SystemClock).await?;
    let deliver_secs = t.elapsed().as_secs_f64();
    let (peak_rss_kib, rss_kib) = memory_kib();
    let pool = &lms.sandbox().outbound().pool;
    let (requests, connections_opened) = (pool.requests(), pool.opened());
    let messages = app_messages(&sim);
    sim.shutdown().await;
    drop(workers);
    drop(lms);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(BenchResult {
        recipients: args.recipients,
        enqueue_secs,
        deliver_secs,
        deliveries_per_sec: args.recipients as f64 / deliver_secs,
        messages: messages.iter().map(|(_, n)| n).sum(),
        duplicates: messages.iter().filter(|(_, n)| *n > 1).count(),
        report,
        peak_rss_kib,
        rss_kib,
        requests,
        connections_opened,
    })
}
