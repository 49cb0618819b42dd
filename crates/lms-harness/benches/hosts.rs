//! Several hosts on one database. Two measures, each in one run on the same machine:
//!
//! 1. **Deliveries per second, Slack's limits off**: `--platforms` platforms of `--learners` learners each, every
//!    learner invited, then `lms-harness deliveries --run` in one host process, then in two, on SQLite (two processes
//!    on one data folder) and on PostgreSQL (a fresh schema each time), interleaved, `--runs` times; timed from the
//!    hosts' start to the last one's exit (so each figure includes starting the process and loading the component).
//! 2. **Taking over a crashed host's platforms** (PostgreSQL, Slack's limits on at a time scale): a host is SIGKILLed
//!    in the middle of a run and another started at once; the time from the kill to the new host's first message.
//!    Once with the killed host on this machine (its process is seen gone: its leases are taken at once), once as if
//!    on another machine (it runs in a process-id namespace of its own, so the new host cannot see it: it waits for
//!    the leases to expire, [`lms::lease::DEFAULT_LEASE_SECS`]).
//!
//! `cargo bench -p lms-harness --bench hosts -- [--runs N] [--platforms N] [--learners N] [--database URL]
//! [--only STORE]` (`--database`: the PostgreSQL database to make schemas in, the project machine's by default;
//! `--only`: the throughput of one store alone, no takeover.)

#[path = "../tests/support/temp_dir.rs"]
mod temp_dir;

#[path = "../tests/support/rows.rs"]
mod rows;

mod support;

use lms::db::Db;
use lms::integration::Lms;
use lms::sql::Location;
use lms::sql::scratch::Scratch;
use lms_harness::bench_invite as bench;
use lms_harness::connector::{ConnectorSpec, DataDir};
use rows::pairs;
use slack_sim::SimHandle;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{binary, median};
use temp_dir::TempDir;

/// `cargo bench -p lms-harness --bench hosts -- [OPTIONS]`.
#[derive(clap::Parser)]
struct Options {
    /// Interleaved runs of each store and number of hosts.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Platforms, each with its own learners.
    #[arg(long, default_value_t = 10)]
    platforms: usize,
    /// Learners per platform.
    #[arg(long, default_value_t = 500)]
    learners: usize,
    /// Only the stores whose name contains this (`SQLite`, `PostgreSQL`), and no takeover.
    #[arg(long)]
    only: Option<String>,
    /// The PostgreSQL database the schemas are made in (the project machine's by default).
    #[arg(long)]
    database: Option<String>,
    /// Added by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

/// A store under test: a SQLite data folder, or a PostgreSQL schema.
enum Store {
    Sqlite,
    Postgres(Scratch),
}

impl Store {
    fn location(&self, dir: &Path) -> Location {
        match self {
            Store::Sqlite => Location::Sqlite(dir.join("lms.sqlite3")),
            Store::Postgres(s) => Location::Postgres(s.url()),
        }
    }
}

/// Seeds `o.platforms` platforms, activated in the workspace of `sim` (pacing at `pace`), every learner invited.
async fn seed(lms: &Lms, config: &slack_sim::SimConfig, o: &Options, pace: &str) {
    let installer = |_| bench::ADMIN_MEMBER.to_string();
    bench::seed_platforms(lms, config, o.platforms, o.learners, pace, installer)
        .await
        .unwrap();
}

fn open_lms(location: &Location, dir: &Path, slack_url: &str) -> Lms {
    let db = Db::open_at_with_key_file(location, &DataDir::key_file(dir)).unwrap();
    ConnectorSpec::embedded(Some(DataDir::cache(dir)))
        .open_lms(db, Some(slack_url))
        .unwrap()
}

/// `lms-harness deliveries --run` on every platform of the store.
fn host(store: &Store, dir: &Path, slack_url: &str, prefix: &[&str]) -> Child {
    let mut command = match prefix.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(binary());
            c
        }
        None => Command::new(binary()),
    };
    command
        .args(["deliveries", "--run", "--summary", "--json", "--data"])
        .arg(dir)
        .args(["--slack-url", slack_url]);
    if let Store::Postgres(s) = store {
        command.args(["--database", &s.url()]);
    }
    let name = format!("host-{}", rand::random::<u32>());
    let err = std::fs::File::create(dir.join(format!("{name}.err"))).unwrap();
    let out = std::fs::File::create(dir.join(format!("{name}.out"))).unwrap();
    command
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap()
}

/// Waits for a host to finish by itself; panics with what the hosts of `dir` said when it failed.
fn wait(child: &mut Child, dir: &Path, deadline: Instant) {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            if !status.success() {
                let said: Vec<String> = std::fs::read_dir(dir)
                    .unwrap()
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".err"))
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                    .collect();
                panic!("a host failed ({status}): {}", said.join("\n"));
            }
            return;
        }
        assert!(Instant::now() < deadline, "a host did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Deliveries per second of `hosts` host processes on a fresh `store`.
async fn throughput(store: Store, hosts: usize, o: &Options) -> f64 {
    let total = o.platforms * o.learners;
    let mut config = bench::workspace(total);
    config.rate_limits.enabled = false;
    let sim = slack_sim::start(([127, 0, 0, 1], 0).into(), config.clone())
        .await
        .unwrap();
    let dirs: Vec<TempDir> = (0..hosts).map(|i| TempDir::new(&format!("h{i}"))).collect();
    // SQLite: every host on the first folder's file. PostgreSQL: a folder each, with the same key.
    let folder = |i: usize| match store {
        Store::Sqlite => &dirs[0].0,
        Store::Postgres(_) => &dirs[i].0,
    };
    {
        let lms = open_lms(&store.location(&dirs[0].0), &dirs[0].0, &sim.base_url());
        seed(&lms, &config, o, "off").await;
    }
    for dir in &dirs[1..] {
        std::fs::copy(DataDir::key_file(&dirs[0].0), DataDir::key_file(&dir.0)).unwrap();
    }
    let t = Instant::now();
    let mut children: Vec<Child> = (0..hosts)
        .map(|i| host(&store, folder(i), &sim.base_url(), &[]))
        .collect();
    let deadline = t + Duration::from_secs(600);
    for (i, child) in children.iter_mut().enumerate() {
        wait(child, folder(i), deadline);
    }
    let secs = t.elapsed().as_secs_f64();
    // What each host sent, from its report.
    let mut shares = Vec::new();
    for dir in &dirs {
        for entry in std::fs::read_dir(&dir.0).unwrap().flatten() {
            if entry.file_name().to_string_lossy().ends_with(".out") {
                let out: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
                shares.push(out["run"].to_string());
            }
        }
    }
    eprintln!("  sent per host: {shares:?} in {secs:.1} s");
    {
        let db =
            Db::open_at_with_key_file(&store.location(&dirs[0].0), &DataDir::key_file(&dirs[0].0))
                .unwrap();
        let retried: Vec<(String, i64)> = pairs(
            &db.conn(),
            "SELECT COALESCE(reason_code, '-'), COUNT(*) FROM deliveries WHERE attempts > 1 GROUP BY 1",
        );
        eprintln!("  retried: {retried:?}");
        let log: Vec<(String, String)> = pairs(
            &db.log_conn(),
            "SELECT level, message FROM connector_log WHERE level IN ('warn', 'error') LIMIT 5",
        );
        eprintln!("  log: {log:?}");
    }
    let sent = bench::app_message_total(&sim);
    assert_eq!(sent, total, "every learner reached once");
    sim.shutdown().await;
    total as f64 / secs
}

/// Seconds from killing a host in the middle of a run (started through `prefix`) to the next host's first message.
async fn takeover(prefix: &[&str], o: &Options) -> f64 {
    let scale = 60.0;
    let Some(scratch) = Scratch::new("bench_takeover") else {
        panic!("PostgreSQL is needed");
    };
    let store = Store::Postgres(scratch);
    let platforms = o.platforms.min(4);
    let learners = 200;
    let mut config = bench::workspace(platforms * learners);
    config.rate_limits.enabled = true;
    config.rate_limits.time_scale = scale;
    let sim = slack_sim::start(([127, 0, 0, 1], 0).into(), config.clone())
        .await
        .unwrap();
    let (a, b) = (TempDir::new("takeover-a"), TempDir::new("takeover-b"));
    {
        let lms = open_lms(&store.location(&a.0), &a.0, &sim.base_url());
        let o = Options {
            runs: 1,
            platforms,
            learners,
            only: None,
            database: None,
            bench: false,
        };
        seed(&lms, &config, &o, &(scale / platforms as f64).to_string()).await;
    }
    std::fs::copy(DataDir::key_file(&a.0), DataDir::key_file(&b.0)).unwrap();
    let mut first = host(&store, &a.0, &sim.base_url(), prefix);
    let deadline = Instant::now() + Duration::from_secs(600);
    while bench::app_message_total(&sim) < platforms * learners / 4 {
        assert!(Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let killed = Instant::now();
    let at_kill = settled(&sim).await;
    let mut second = host(&store, &b.0, &sim.base_url(), &[]);
    while bench::app_message_total(&sim) <= at_kill {
        assert!(Instant::now() < deadline, "no takeover");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = killed.elapsed().as_secs_f64();
    wait(&mut second, &b.0, deadline);
    assert_eq!(bench::app_message_total(&sim), platforms * learners);
    sim.shutdown().await;
    secs
}

/// The simulation's message count once the posts a killed host had sent are all answered.
async fn settled(sim: &SimHandle) -> usize {
    tokio::time::sleep(Duration::from_millis(50)).await;
    bench::app_message_total(sim)
}

fn main() {
    let o = <Options as clap::Parser>::parse();
    if let Some(url) = &o.database {
        // Read by `Scratch` (the database schemas are made in).
        // SAFETY: no other thread of this process exists yet.
        unsafe { std::env::set_var("LMS_TEST_POSTGRES", url) }
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(o));
}

async fn run(o: Options) {
    binary();
    if Scratch::new("bench_probe").is_none() {
        eprintln!("PostgreSQL is needed for this benchmark");
        return;
    }
    println!(
        "{} platforms × {} learners, Slack's limits off, {} runs interleaved",
        o.platforms, o.learners, o.runs
    );
    let configs: Vec<(&str, usize)> = [
        ("SQLite", 1),
        ("PostgreSQL", 1),
        ("SQLite", 2),
        ("PostgreSQL", 2),
    ]
    .into_iter()
    .filter(|(name, _)| {
        o.only
            .as_ref()
            .is_none_or(|only| name.contains(only.as_str()))
    })
    .collect();
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    for run in 0..o.runs {
        for (i, (name, hosts)) in configs.iter().enumerate() {
            let store = if *name == "SQLite" {
                Store::Sqlite
            } else {
                Store::Postgres(Scratch::new("bench_hosts").unwrap())
            };
            let rate = throughput(store, *hosts, &o).await;
            eprintln!("run {run}: {name}, {hosts} host(s): {rate:.0} deliveries/s");
            results[i].push(rate);
        }
    }
    println!("| store | hosts | deliveries/s: median (runs) |");
    println!("| --- | --- | --- |");
    for ((name, hosts), rates) in configs.iter().zip(results) {
        let runs: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "| {name} | {hosts} | {:.0} ({}) |",
            median(rates.clone()),
            runs.join(", ")
        );
    }
    if o.only.is_some() {
        return;
    }
    let same = takeover(&[], &o).await;
    let other = takeover(&["unshare", "--pid", "--fork", "--kill-child"], &o).await;
    println!("| killed host | kill → first message of the next host |");
    println!("| --- | --- |");
    println!("| on this machine | {same:.2} s |");
    println!("| on another machine (own process-id namespace) | {other:.2} s |");
}
