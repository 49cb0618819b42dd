//! The hostile-resources component (tests/components/hostile-resources) against the host: every host-side resource a
//! call can make the host hold is bounded and counted against that call — CPU in host functions, resource-table
//! entries and header-map bytes, settings bytes, log bytes and rows. Each attack fails only the attacking call (or
//! the writes past a quota), is written to the connector log, counts towards the health rule, and leaves another
//! platform's calls in the same process working.

use connector_host::grants::Grants;
use connector_host::manifest::Manifest;
use connector_host::outbound::OutboundConfig;
use connector_host::store::ConnectorStore;
use connector_host::{Limits, Policy, Sandbox};
use e2e_tests::hostile::{World, attack};
use lms::db::{Db, Platform, Retention, Role, User};
use lms::secrets::SecretBox;
use lms_harness::connector::default_grants;
use std::sync::Arc;
use std::time::Duration;

const HOSTILE_RESOURCES: &[u8] = include_bytes!(env!("HOSTILE_RESOURCES_CONNECTOR_WASM"));
const CONNECTOR: &str = "hostile-resources";

/// The hostile component, without a manifest, under `limits`.
fn load_hostile(world: &World, limits: Limits) -> Sandbox {
    e2e_tests::load_unmanifested(
        &world.engine,
        HOSTILE_RESOURCES,
        CONNECTOR,
        &world.db,
        OutboundConfig::new(vec![]),
        limits,
    )
    .unwrap()
}

/// Rows of the hostile connector's log on `platform`.
fn log_rows(world: &World, platform: &str) -> Vec<String> {
    let conn = world.db.log_conn();
    let mut stmt = conn
        .prepare(
            "SELECT message FROM connector_log WHERE platform_id = ?1 AND connector_id = ?2 ORDER BY seq",
        )
        .unwrap();
    stmt.query_map([platform, CONNECTOR], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Runs an attack on p1 while the real connector is called at the same time, then checks that another platform's
/// well-behaved call of the same sandbox and the real connector both still succeed.
async fn contained(world: &World, sandbox: &Sandbox, body: &str) -> Result<String, String> {
    let (result, ()) = tokio::join!(attack(sandbox, "p1", body), world.slack_serves());
    assert_eq!(
        attack(sandbox, "p2", "hello").await,
        Ok("hello".to_string())
    );
    world.slack_serves().await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_log_line_full_of_tokens_is_cut_then_blanked_in_bounded_work() {
    let world = World::new("resources-longline");
    // Far more secrets and credential prefixes than are searched: each line costs the same bounded work.
    for i in 0..2_000 {
        world
            .db
            .set_secret("p1", CONNECTOR, &format!("s{i}"), &format!("secret-{i:06}"))
            .unwrap();
    }
    let prefixes: Vec<String> = std::iter::once("\"xoxb-\"".to_string())
        .chain((0..5_000).map(|i| format!("\"p{i}-\"")))
        .collect();
    let manifest = Manifest::parse(
        &format!(
            r#"
[connector]
id = "{CONNECTOR}"
name = "Hostile resources"
version = "0.0.0"
contract = "lms:connector@0.2.0"
[interfaces]
imports = ["lms:connector/*", "wasi:cli/*", "wasi:io/*", "wasi:clocks/*", "wasi:random/*", "wasi:http/*"]
exports = ["lms:connector/connector@0.2.0"]
[settings]
redact_prefixes = [{}]
"#,
            prefixes.join(", ")
        ),
        "hostile-resources manifest",
    )
    .unwrap();
    let grants = Grants::parse(
        &default_grants()
            .text
            .replace("id = \"slack\"", &format!("id = \"{CONNECTOR}\"")),
        "test grants",
    )
    .unwrap();
    let policy = Policy::new(CONNECTOR, grants, Some(manifest)).unwrap();
    let hostile = Sandbox::new(
        &world.engine,
        HOSTILE_RESOURCES,
        Arc::new(world.db.clone()),
        policy,
    )
    .unwrap();
    // 100 lines of 400 KB each.
    assert_eq!(
        contained(&world, &hostile, "longline 400000 100").await,
        Ok("longline:done".to_string())
    );
    let lines: Vec<String> = log_rows(&world, "p1")
        .into_iter()
        .filter(|l| l.contains("[redacted]"))
        .collect();
    assert_eq!(lines.len(), 100);
    for line in &lines {
        assert!(line.len() <= 2_000 + '…'.len_utf8(), "{}", line.len());
        assert!(!line.contains("xoxb-"), "blanked: {line}");
    }
    let host_time = {
        // The last call of the sandbox was p2's `hello`: run the attack once more on its own to read its cost.
        assert!(attack(&hostile, "p1", "longline 400000 100").await.is_ok());
        hostile.last_host_time()
    };
    assert!(
        host_time < Duration::from_secs(2),
        "100 lines took {host_time:?} of host work"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_maps_never_dropped_hit_the_header_and_resource_caps() {
    let world = World::new("resources-headers");
    let limits = Limits {
        failures_before_disable: 5,
        ..Limits::default()
    };
    let hostile = load_hostile(&world, limits.clone());
    // 5,000 maps of 100 KB each would hold 500 MB in the host: the first map stops at the per-map cap.
    let error = contained(&world, &hostile, "headers 100000 5000")
        .await
        .unwrap_err();
    assert!(
        error.contains(&format!(
            "it built an HTTP header map larger than {} bytes",
            limits.header_map_bytes
        )),
        "{error}"
    );
    // Maps under the per-map cap, never dropped: the resource table's cap stops them.
    let error = contained(&world, &hostile, "headers 8000 5000")
        .await
        .unwrap_err();
    assert!(
        error.contains(&format!(
            "it held more than {} host resources at once",
            limits.resources
        )),
        "{error}"
    );
    assert!(
        error.contains("the first header map accepted 8192 bytes"),
        "{error}"
    );
    let log = log_rows(&world, "p1");
    assert!(
        log.iter().any(|l| l.contains("header map larger than"))
            && log.iter().any(|l| l.contains("host resources at once")),
        "{log:?}"
    );
    assert_eq!(hostile.health("p1").consecutive_failures, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_call_storm_is_stopped_by_the_host_time_budget() {
    let world = World::new("resources-storm");
    world
        .db
        .upsert_platform(&Platform {
            id: "p1".into(),
            name: "P1".into(),
            group_name: "G".into(),
            group_logo_url: None,
            default_cover_url: None,
            base_url: "http://127.0.0.1:1".into(),
        })
        .unwrap();
    for i in 0..1_000 {
        world
            .db
            .upsert_user(
                "p1",
                &User {
                    id: format!("user-{i:04}"),
                    email: format!("user-{i}@example.org"),
                    display_name: format!("User {i}"),
                    locale: "en".into(),
                    time_zone: "UTC".into(),
                    role: Role::Learner,
                },
            )
            .unwrap();
    }
    let limits = Limits {
        host_time: Duration::from_millis(300),
        call_timeout: Duration::from_secs(60),
        failures_before_disable: 3,
        ..Limits::default()
    };
    let hostile = load_hostile(&world, limits);
    for kind in ["settings", "log", "users"] {
        let error = contained(&world, &hostile, &format!("storm {kind} 100000000"))
            .await
            .unwrap_err();
        assert!(
            error.contains("it spent more than 300ms of CPU in host calls"),
            "{kind}: {error}"
        );
    }
    // Three failed calls in a row: disabled on p1, with an alert; p2 keeps working.
    assert!(hostile.disabled("p1").unwrap().is_some());
    assert!(hostile.disabled("p2").unwrap().is_none());
    assert_eq!(
        attack(&hostile, "p2", "hello").await,
        Ok("hello".to_string())
    );
    let log = log_rows(&world, "p1");
    assert!(
        log.iter().filter(|l| l.contains("in host calls")).count() >= 3,
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_flood_hits_the_byte_quota() {
    let world = World::new("resources-settings");
    let limits = Limits {
        settings_bytes: 256 << 10,
        ..Limits::default()
    };
    let hostile = load_hostile(&world, limits.clone());
    let code = contained(&world, &hostile, "settings 1000 60000")
        .await
        .unwrap();
    assert!(
        code.starts_with("settings:stored:4;refused:")
            && code.contains("over its quota of 262144 bytes"),
        "{code}"
    );
    let used = world.db.stored_bytes("p1", CONNECTOR, None).unwrap().total;
    assert!(used <= limits.settings_bytes, "{used}");
    assert!(used >= 4 * 60_000, "{used}");
    let log = log_rows(&world, "p1");
    assert_eq!(
        log.iter().filter(|l| l.contains("over its quota")).count(),
        1,
        "one warning per call: {log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("writes refused by the settings quota")),
        "{log:?}"
    );
    // The call's outcomes stand, but it counts towards the health rule.
    assert_eq!(hostile.health("p1").consecutive_failures, 1);
    // Replacing a value within the quota is still allowed: the old value is not counted twice.
    assert_eq!(
        contained(&world, &hostile, "settings 4 60000").await,
        Ok("settings:stored:4".to_string())
    );
    // The quota counts what is already stored, across restarts of the host.
    let reopened = Db::open(
        &world.dir.path().join("db.sqlite3"),
        SecretBox::new([3; 32]),
    )
    .unwrap();
    assert_eq!(
        reopened.stored_bytes("p1", CONNECTOR, None).unwrap().total,
        used
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewriting_the_same_settings_without_pause_is_refused_by_the_write_rate() {
    let world = World::new("resources-write-rate");
    let hostile = load_hostile(&world, Limits::default());
    // 100 settings of 60 KB: 6 MB, within the 8 MiB burst and far within the 32 MiB quota.
    assert_eq!(
        contained(&world, &hostile, "settings 100 60000").await,
        Ok("settings:stored:100".to_string())
    );
    // The same keys again at once: what they take stays the same, but the platform's write rate is spent.
    let code = contained(&world, &hostile, "settings 100 60000")
        .await
        .unwrap();
    let stored: usize = code
        .strip_prefix("settings:stored:")
        .and_then(|rest| rest.split(';').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{code}"));
    assert!(
        (30..50).contains(&stored) && code.contains("write less often"),
        "about 2 MiB more, then refused: {code}"
    );
    assert!(
        log_rows(&world, "p1")
            .iter()
            .any(|l| l.contains("writes refused by the settings quota")),
        "the refusals are noted in the log"
    );
    assert_eq!(hostile.health("p1").consecutive_failures, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_flood_hits_the_byte_quota_and_retention_keeps_the_tables_bounded() {
    let retention = Retention {
        log_rows: 100,
        audit_rows: 50,
        trim_every: 10,
    };
    let world = World::with_retention("resources-log", retention);
    let limits = Limits {
        log_bytes: 64 << 10,
        ..Limits::default()
    };
    let hostile = load_hostile(&world, limits);
    let error = contained(&world, &hostile, "logbytes 1000 1000")
        .await
        .unwrap_err();
    assert!(
        error.contains("it wrote more than 65536 bytes to its log in one call"),
        "{error}"
    );
    let rows = log_rows(&world, "p1");
    assert!(
        rows.len() <= 66,
        "64 lines of 1,000 bytes, then the error: {}",
        rows.len()
    );
    assert!(
        rows.last().unwrap().contains("bytes to its log"),
        "{rows:?}"
    );
    // Calls within the quota, many times: the oldest rows go as new ones arrive.
    for _ in 0..10 {
        assert_eq!(
            attack(&hostile, "p1", "logbytes 50 100").await,
            Ok("logbytes:done".to_string())
        );
    }
    let rows = log_rows(&world, "p1");
    assert!(
        rows.len() <= retention.log_rows + retention.trim_every,
        "{}",
        rows.len()
    );
    assert!(rows.len() >= retention.log_rows, "{}", rows.len());
    // Another platform's rows are its own: p2's `hello` lines are all kept.
    assert_eq!(log_rows(&world, "p2").len(), 1);
    // Audit rows are kept the same way, per platform.
    for i in 0..500 {
        world.db.audit("p1", "x", "test", &format!("{i}")).unwrap();
    }
    world.db.audit("p2", "x", "test", "kept").unwrap();
    let count = |platform: &str| -> usize {
        world
            .db
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM audit_log WHERE platform_id = ?1",
                [platform],
                |r| r.get::<_, i64>(0),
            )
            .unwrap() as usize
    };
    assert!(
        count("p1") <= retention.audit_rows + retention.trim_every,
        "{}",
        count("p1")
    );
    assert_eq!(count("p2"), 1);
}

/// The resident memory of this process, in KiB: (current, peak).
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Host memory per call under the resource attacks, for BENCHMARKS.md: run alone, with
/// `cargo test -p e2e-tests --test hostile_resources -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run alone, see BENCHMARKS.md"]
async fn measure_host_memory_under_resource_attacks() {
    let world = World::new("resources-memory");
    let limits = Limits::default();
    let hostile = load_hostile(&world, limits.clone());
    // Warm up: the first call compiles nothing more but fills the pool's first slots.
    assert_eq!(
        attack(&hostile, "p2", "hello").await,
        Ok("hello".to_string())
    );
    println!(
        "header-map bound per call: {} resources x {} bytes = {} bytes",
        limits.resources,
        limits.header_map_bytes,
        limits.header_bytes_bound()
    );
    for body in [
        "headers 100000 5000",
        "headers 14000 100000",
        "longline 400000 100",
        "settings 100000 60000",
        "logbytes 100000 2000",
        "storm users 100000000",
    ] {
        let (rss_before, peak_before) = memory_kib();
        let result = attack(&hostile, "p1", body).await;
        let (rss_after, peak_after) = memory_kib();
        let summary = match &result {
            Ok(code) => code.chars().take(60).collect::<String>(),
            Err(e) => e.lines().next().unwrap_or("").chars().take(110).collect(),
        };
        println!(
            "{body:24} RSS {rss_before} -> {rss_after} KiB, peak {peak_before} -> {peak_after} KiB (+{} KiB): {summary}",
            peak_after.saturating_sub(peak_before)
        );
        hostile.enable("p1").unwrap();
    }
}

/// The LMS's store, with a database that answers setting reads slowly, or fails them; it counts the reads of
/// secrets.
struct Struggling {
    db: Db,
    wait: Duration,
    broken: std::sync::atomic::AtomicBool,
    secret_reads: std::sync::atomic::AtomicUsize,
}

impl ConnectorStore for Struggling {
    fn setting(
        &self,
        platform: &str,
        connector: &str,
        key: &str,
    ) -> anyhow::Result<Option<String>> {
        std::thread::sleep(self.wait);
        if self.broken.load(std::sync::atomic::Ordering::Relaxed) {
            anyhow::bail!("canceling statement due to lock timeout");
        }
        self.db.setting(platform, connector, key)
    }
    fn write_settings(
        &self,
        platform: &str,
        connector: &str,
        writes: &[(&str, Option<&str>)],
    ) -> anyhow::Result<()> {
        self.db.write_settings(platform, connector, writes)
    }
    fn set_secret(
        &self,
        platform: &str,
        connector: &str,
        key: &str,
        value: &str,
    ) -> anyhow::Result<()> {
        self.db.set_secret(platform, connector, key, value)
    }
    fn remove_secret(&self, platform: &str, connector: &str, key: &str) -> anyhow::Result<()> {
        self.db.remove_secret(platform, connector, key)
    }
    fn stored_bytes(
        &self,
        platform: &str,
        connector: &str,
        entry: Option<(connector_host::store::StoredKind, &str)>,
    ) -> anyhow::Result<connector_host::store::StoredBytes> {
        self.db.stored_bytes(platform, connector, entry)
    }
    fn secrets(&self, platform: &str, connector: &str) -> anyhow::Result<Vec<(String, String)>> {
        self.secret_reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.db.secrets(platform, connector)
    }
    fn user(
        &self,
        platform: &str,
        id: &str,
    ) -> anyhow::Result<Option<connector_host::store::DirectoryUser>> {
        ConnectorStore::user(&self.db, platform, id)
    }
    fn users_after(
        &self,
        platform: &str,
        after: Option<&str>,
        limit: u32,
    ) -> anyhow::Result<Vec<connector_host::store::DirectoryUser>> {
        self.db.users_after(platform, after, limit)
    }
    fn log(
        &self,
        platform: &str,
        connector: &str,
        level: connector_host::store::LogLevel,
        message: &str,
    ) -> anyhow::Result<()> {
        ConnectorStore::log(&self.db, platform, connector, level, message)
    }
    fn alert(&self, platform: &str, message: &str) -> anyhow::Result<()> {
        self.db.alert(platform, message)
    }
    fn disabled(
        &self,
        platform: &str,
        connector: &str,
    ) -> anyhow::Result<Option<connector_host::store::Disabled>> {
        self.db.disabled(platform, connector)
    }
    fn disable(&self, platform: &str, connector: &str, reason: &str) -> anyhow::Result<bool> {
        self.db.disable(platform, connector, reason)
    }
    fn enable(&self, platform: &str, connector: &str) -> anyhow::Result<bool> {
        self.db.enable(platform, connector)
    }
}

/// What the LMS's database makes a call wait for is not the connector's doing: waiting does not count against its
/// host-time budget (only the CPU its host calls use does), and a store that fails fails the call without counting
/// towards disabling the connector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_failing_store_is_not_held_against_the_connector() {
    let world = World::new("resources-struggling-store");
    let store = Arc::new(Struggling {
        db: world.db.clone(),
        wait: Duration::from_millis(100),
        broken: Default::default(),
        secret_reads: Default::default(),
    });
    let limits = Limits {
        host_time: Duration::from_millis(300),
        failures_before_disable: 3,
        ..Limits::default()
    };
    let policy =
        e2e_tests::unmanifested_policy(CONNECTOR, OutboundConfig::new(vec![]), limits).unwrap();
    let sandbox = Sandbox::new(&world.engine, HOSTILE_RESOURCES, store.clone(), policy).unwrap();

    // Ten reads of 100 ms each: a second of waiting, far past 300 ms, yet hardly any CPU.
    assert_eq!(
        attack(&sandbox, "p1", "storm settings 10").await,
        Ok("storm:done".to_string())
    );
    assert!(
        sandbox.last_host_time() < Duration::from_millis(100),
        "{:?}",
        sandbox.last_host_time()
    );

    // The database fails: each call fails with the store's error, and the connector stays enabled.
    store
        .broken
        .store(true, std::sync::atomic::Ordering::Relaxed);
    for _ in 0..5 {
        let error = attack(&sandbox, "p1", "storm settings 1")
            .await
            .unwrap_err();
        assert!(
            error.contains("the LMS's storage failed: canceling statement due to lock timeout"),
            "{error}"
        );
    }
    assert!(sandbox.disabled("p1").unwrap().is_none());
    assert_eq!(sandbox.health("p1").consecutive_failures, 0);
    assert!(
        log_rows(&world, "p1")
            .iter()
            .filter(|l| l.contains("the LMS's storage failed"))
            .count()
            >= 5,
        "each failure is in the connector log"
    );

    // It recovers: the next call succeeds.
    store
        .broken
        .store(false, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        attack(&sandbox, "p1", "storm settings 1").await,
        Ok("storm:done".to_string())
    );
}

/// A call reads the connector's secrets from the store once, however many log lines it blanks them out of: each read
/// unseals every secret, and the result the call returns is cleaned with the same ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_reads_the_connector_s_secrets_once() {
    let world = World::new("resources-secret-reads");
    world
        .db
        .set_secret("p1", CONNECTOR, "token", "xoxb-a-token-of-its-own")
        .unwrap();
    let store = Arc::new(Struggling {
        db: world.db.clone(),
        wait: Duration::ZERO,
        broken: Default::default(),
        secret_reads: Default::default(),
    });
    let policy =
        e2e_tests::unmanifested_policy(CONNECTOR, OutboundConfig::new(vec![]), Limits::default())
            .unwrap();
    let sandbox = Sandbox::new(&world.engine, HOSTILE_RESOURCES, store.clone(), policy).unwrap();
    let reads = || {
        store
            .secret_reads
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    assert_eq!(
        attack(&sandbox, "p1", "storm log 20").await,
        Ok("storm:done".to_string())
    );
    assert_eq!(reads(), 1, "20 log lines and the result: one read");
    assert_eq!(
        attack(&sandbox, "p1", "storm log 20").await,
        Ok("storm:done".to_string())
    );
    assert_eq!(reads(), 2, "the next call reads them again");
}
