//! The product against the scripts a developer would write instead (`bench/peers/`), in one run on the same machine:
//! one invitation to `--learners` learners (10,000 by default), all matched in a simulated workspace with Slack's
//! limits off, the same message payload.
//!
//! - **the product**: `lms-harness deliveries --run` on a data folder where the invitation is queued (the durable
//!   SQLite outbox, the sandboxed component);
//! - **`slack_sdk` sync**: python `slack_sdk`'s `WebClient`, one call at a time (a new connection per call);
//! - **`slack_sdk` sync + SQLite**: the same, committing each outcome to SQLite;
//! - **`slack_sdk` async**: python `slack_sdk`'s `AsyncWebClient`, 8 learners at a time;
//! - **`@slack/web-api`**: node's `WebClient`, 8 learners at a time.
//!
//! Each system is a child process against a fresh simulated Slack served by this process; it is timed from its start
//! to its exit (process start, the directory listing, every delivery), and its CPU time (user and system, from
//! `wait4`) is its own: the simulated Slack's is not in it. The payload the peers post is the one the product posted in
//! the same round (its first `chat.postMessage`, as the simulated Slack recorded it), so the peers never drift from
//! what the product sends. Every system must leave exactly one message per learner.
//!
//! Runs are interleaved (each round runs every system once, on two cores then pinned to one with `taskset`) and
//! the medians printed, with each peer's ratio to the product.
//!
//! `cargo bench -p lms-harness --bench peers -- [--runs N] [--learners N] [--cores 2,1] [--only NAME]`
//!
//! The peers' dependencies are installed on first use, with their ordinary clients: a virtual environment at
//! `bench/peers/.venv` (`pip install -r requirements.txt`) and `bench/peers/node_modules` (`npm ci`).

#[path = "../tests/support/temp_dir.rs"]
mod temp_dir;

mod support;

use lms_harness::bench_invite as bench;
use lms_harness::connector::DataDir;
use lms_harness::demo::{DEMO_REDIRECT_URI, consent};
use lms_harness::http_client;
use serde_json::{Value, json};
use slack_sim::{SimConfig, SimHandle};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::{Measure, core_setting, measure, median, on_cores, run_outbox};
use temp_dir::TempDir;

/// `cargo bench -p lms-harness --bench peers -- [OPTIONS]`.
#[derive(clap::Parser)]
struct Options {
    /// Interleaved rounds, each running every system once per core setting.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Learners invited, all matched in the simulated workspace.
    #[arg(long, default_value_t = 10_000)]
    learners: usize,
    /// The core settings, in turn: 2 (not pinned) and 1 (pinned to CPU 0 with `taskset`).
    #[arg(long, value_delimiter = ',', default_values_t = [2, 1], value_parser = core_setting)]
    cores: Vec<usize>,
    /// Only the systems whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// Added by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

/// A system under test.
#[derive(Debug, Clone, Copy, PartialEq)]
enum System {
    Product,
    SdkSync,
    SdkSyncSqlite,
    SdkAsync,
    WebApi,
}

const SYSTEMS: [System; 5] = [
    System::Product,
    System::SdkSync,
    System::SdkSyncSqlite,
    System::SdkAsync,
    System::WebApi,
];

impl System {
    fn name(self) -> &'static str {
        match self {
            System::Product => "lms-harness (durable SQLite outbox, sandboxed component)",
            System::SdkSync => "python slack_sdk WebClient, one call at a time",
            System::SdkSyncSqlite => "the same, each outcome committed to SQLite",
            System::SdkAsync => "python slack_sdk AsyncWebClient, 8 at a time",
            System::WebApi => "node @slack/web-api, 8 at a time",
        }
    }

    /// The peer's command on the job file `job`, with its scratch folder `dir`, on `cores` ([`on_cores`]).
    fn peer(self, job: &Path, dir: &Path, cores: usize) -> Command {
        let peers = peers_dir();
        let python = peers.join(".venv/bin/python");
        let (program, script) = match self {
            System::Product => unreachable!("the product is not a peer"),
            System::SdkSync | System::SdkSyncSqlite => (python, "slack_sdk_sync.py"),
            System::SdkAsync => (python, "slack_sdk_async.py"),
            System::WebApi => (PathBuf::from("node"), "web_api.mjs"),
        };
        let mut command = on_cores(program, cores);
        command
            .current_dir(&peers)
            .arg(script)
            .arg(job)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        if self == System::SdkSyncSqlite {
            command.arg("--sqlite").arg(dir.join("outcomes.sqlite3"));
        }
        command
    }
}

fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/peers")
}

/// Installs the peers' dependencies when they are missing.
fn install_peers() {
    let peers = peers_dir();
    let run = |what: &str, command: &mut Command| {
        eprintln!("installing the peers' {what} …");
        let status = command.current_dir(&peers).status().unwrap();
        assert!(status.success(), "installing the peers' {what} failed");
    };
    if !peers.join(".venv/bin/python").exists() {
        run(
            "virtual environment",
            Command::new("python3").args(["-m", "venv", ".venv"]),
        );
    }
    let check = Command::new(peers.join(".venv/bin/python"))
        .args(["-c", "import slack_sdk, aiohttp"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    if !check.success() {
        run(
            "python packages",
            Command::new(peers.join(".venv/bin/pip")).args([
                "install",
                "--quiet",
                "-r",
                "requirements.txt",
            ]),
        );
    }
    if !peers.join("node_modules/@slack/web-api").exists() {
        run(
            "node packages",
            Command::new("npm").args(["ci", "--no-audit", "--no-fund"]),
        );
    }
}

/// A fresh simulated workspace of `learners` members, Slack's limits off.
async fn workspace(learners: usize) -> (SimConfig, SimHandle) {
    let config = bench::workspace(learners);
    let sim = slack_sim::start(([127, 0, 0, 1], 0).into(), config.clone())
        .await
        .unwrap();
    (config, sim)
}

/// Every app message the simulation holds: exactly one per learner, or the run does not count.
fn check_messages(sim: &SimHandle, learners: usize, system: System) {
    let messages = bench::app_messages(sim);
    let total: usize = messages.iter().map(|(_, n)| n).sum();
    let doubled = messages.iter().filter(|(_, n)| *n > 1).count();
    assert_eq!(
        (total, doubled),
        (learners, 0),
        "{}: messages, conversations with more than one",
        system.name()
    );
}

/// The product: the invitation queued in a fresh data folder, then `lms-harness deliveries --run`. Returns its measure
/// and the arguments of the first `chat.postMessage` it sent, as a peer passes them to its library.
async fn product(o: &Options, cores: usize) -> (Measure, Value) {
    let (config, sim) = workspace(o.learners).await;
    let dir = TempDir::new("product");
    {
        let lms = DataDir::open_lms(&dir.0, Some(&sim.base_url())).unwrap();
        let seeded = bench::seed(&lms, &config, o.learners, 0).unwrap();
        bench::activate(&lms, &seeded.admin).await.unwrap();
        lms.configure(bench::BIG_PLATFORM, "rate_limit_scale", "off", false)
            .unwrap();
        assert_eq!(bench::invite(&lms, "bench-1", &seeded).unwrap(), o.learners);
    }
    let command = run_outbox(&dir.0, &sim.base_url(), cores);
    let scratch = dir.0.clone();
    let (measure, _) = tokio::task::spawn_blocking(move || measure(command, &scratch))
        .await
        .unwrap();
    check_messages(&sim, o.learners, System::Product);
    let payload = sim
        .api_calls()
        .into_iter()
        .find(|c| c.method == "chat.postMessage")
        .map(|c| as_library_arguments(c.params))
        .expect("the product posted no message");
    sim.shutdown().await;
    (measure, payload)
}

/// The fields of a recorded `chat.postMessage` (its JSON body's, or a form's), as a developer passes them to a Slack
/// library: without the token and the channel, `blocks` and `metadata` as JSON values, `true`/`false` as booleans.
fn as_library_arguments(mut params: serde_json::Map<String, Value>) -> Value {
    params.remove("token");
    params.remove("channel");
    for (key, value) in params.iter_mut() {
        if let Value::String(text) = value {
            match (key.as_str(), text.as_str()) {
                ("blocks" | "metadata", json) => {
                    *value = serde_json::from_str(json).expect("JSON in the recorded payload")
                }
                (_, "true") => *value = Value::Bool(true),
                (_, "false") => *value = Value::Bool(false),
                _ => {}
            }
        }
    }
    Value::Object(params)
}

/// Installs the simulated app as a workspace admin would (the consent page, then `oauth.v2.access`) with the scopes
/// the product asks for: its bot token.
async fn install(sim: &SimHandle, config: &SimConfig) -> String {
    let scopes = slack_connector::connector::SCOPES.join(",");
    let authorize = format!(
        "{}?{}",
        sim.authorize_url(),
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_id", config.app.client_id.as_str()),
                ("scope", scopes.as_str()),
                ("redirect_uri", DEMO_REDIRECT_URI),
                ("state", "bench"),
            ])
            .finish()
    );
    let query = consent(&authorize, bench::ADMIN_MEMBER, true)
        .await
        .unwrap();
    let code = query
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no code in {query:?}"));
    let answer = http_client::post_form(
        &format!("{}oauth.v2.access", sim.api_url()),
        &[
            ("client_id", &config.app.client_id),
            ("client_secret", &config.app.client_secret),
            ("code", &code),
            ("redirect_uri", DEMO_REDIRECT_URI),
        ],
    )
    .await
    .unwrap();
    let v: Value = serde_json::from_str(&answer.text()).unwrap();
    v["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {v}"))
        .to_string()
}

/// A peer against a fresh workspace, posting `payload` to every learner.
async fn peer(system: System, o: &Options, cores: usize, payload: &Value) -> Measure {
    let (config, sim) = workspace(o.learners).await;
    let token = install(&sim, &config).await;
    let dir = TempDir::new("peer");
    let learners: Vec<Value> = (0..o.learners)
        .map(|i| {
            let (id, email) = bench::learner(i);
            json!({"id": id, "email": email})
        })
        .collect();
    let job = dir.0.join("job.json");
    std::fs::write(
        &job,
        serde_json::to_vec(&json!({
            "api_url": sim.api_url(),
            "token": token,
            "learners": learners,
            "payload": payload,
        }))
        .unwrap(),
    )
    .unwrap();
    let command = system.peer(&job, &dir.0, cores);
    let scratch = dir.0.clone();
    let (measure, said) = tokio::task::spawn_blocking(move || measure(command, &scratch))
        .await
        .unwrap();
    let counts: Value = serde_json::from_str(said.trim()).unwrap_or_else(|e| panic!("{said}: {e}"));
    assert_eq!(counts["sent"], o.learners, "{}: {counts}", system.name());
    check_messages(&sim, o.learners, system);
    sim.shutdown().await;
    measure
}

#[tokio::main]
async fn main() {
    let o = <Options as clap::Parser>::parse();
    let systems: Vec<System> = SYSTEMS
        .into_iter()
        .filter(|s| {
            o.only
                .as_ref()
                .is_none_or(|only| s.name().contains(only.as_str()))
        })
        .collect();
    if systems.iter().any(|s| *s != System::Product) {
        install_peers();
    }
    // measures[cores][system] over the runs.
    let mut measures: Vec<Vec<Vec<Measure>>> = vec![vec![Vec::new(); systems.len()]; o.cores.len()];
    let mut payload = None;
    for run in 0..o.runs {
        for (c, &cores) in o.cores.iter().enumerate() {
            for (s, &system) in systems.iter().enumerate() {
                let m = match system {
                    System::Product => {
                        let (m, posted) = product(&o, cores).await;
                        payload = Some(posted);
                        m
                    }
                    peer_system => {
                        if payload.is_none() {
                            payload = Some(product(&o, cores).await.1);
                        }
                        peer(peer_system, &o, cores, payload.as_ref().unwrap()).await
                    }
                };
                eprintln!(
                    "run {} · {cores} core(s) · {}: {:.2} s, {:.0}/s, CPU {:.2} s",
                    run + 1,
                    system.name(),
                    m.wall,
                    o.learners as f64 / m.wall,
                    m.cpu
                );
                measures[c][s].push(m);
            }
        }
    }
    println!(
        "\n{} learners, Slack's limits off, medians of {} interleaved runs\n",
        o.learners, o.runs
    );
    println!(
        "| cores | system | deliveries/s: median (runs) | CPU s per 1,000 deliveries: median | product / system (deliveries/s) | system / product (CPU) |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (c, &cores) in o.cores.iter().enumerate() {
        let rate = |s: usize| {
            median(
                measures[c][s]
                    .iter()
                    .map(|m| o.learners as f64 / m.wall)
                    .collect(),
            )
        };
        let cpu = |s: usize| {
            median(
                measures[c][s]
                    .iter()
                    .map(|m| m.cpu * 1000.0 / o.learners as f64)
                    .collect(),
            )
        };
        let product = systems.iter().position(|s| *s == System::Product);
        for (s, system) in systems.iter().enumerate() {
            let runs: Vec<String> = measures[c][s]
                .iter()
                .map(|m| format!("{:.0}", o.learners as f64 / m.wall))
                .collect();
            let (speed, cost) = match product {
                Some(p) => (
                    format!("{:.2}×", rate(p) / rate(s)),
                    format!("{:.2}×", cpu(s) / cpu(p)),
                ),
                None => ("—".into(), "—".into()),
            };
            println!(
                "| {cores} | {} | {:.0} ({}) | {:.3} | {speed} | {cost} |",
                system.name(),
                rate(s),
                runs.join(", "),
                cpu(s),
            );
        }
    }
}
