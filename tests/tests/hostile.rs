//! Hostile components (tests/components/hostile*) against the sandbox: each attack is contained — a clear error
//! (with the component's stderr where it wrote any), no harm to the host — and the host keeps serving the real
//! Slack connector at the same time and afterwards.

use connector_host::ConnectorStore;
use connector_host::grants::Grants;
use connector_host::manifest::Manifest;
use connector_host::outbound::{Grant, OutboundConfig, Route};
use connector_host::progress::Collected;
use connector_host::redact::REDACTED;
use connector_host::untrusted;
use connector_host::{Limits, Policy, Sandbox, wit};
use e2e_tests::hostile::{World, attack, notification, recipients};
use e2e_tests::{TestDir, slack_routed_to};
use lms_harness::connector::default_grants;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

const HOSTILE: &[u8] = include_bytes!(env!("HOSTILE_CONNECTOR_WASM"));
const HOSTILE_FS: &[u8] = include_bytes!(env!("HOSTILE_FS_CONNECTOR_WASM"));
const HOSTILE_SOCKETS: &[u8] = include_bytes!(env!("HOSTILE_SOCKETS_CONNECTOR_WASM"));

/// The hostile component, without a manifest, with `outbound` and `limits`.
fn load_hostile(world: &World, outbound: OutboundConfig, limits: Limits) -> Sandbox {
    e2e_tests::load_unmanifested(
        &world.engine,
        HOSTILE,
        "hostile",
        &world.db,
        outbound,
        limits,
    )
    .unwrap()
}

fn no_outbound() -> OutboundConfig {
    OutboundConfig::new(vec![])
}

/// Runs an attack while the real connector is called at the same time, then checks both recover.
async fn contained(world: &World, sandbox: &Sandbox, body: &str) -> Result<String, String> {
    let (result, ()) = tokio::join!(attack(sandbox, "p1", body), world.slack_serves());
    world.slack_serves().await;
    result
}

/// A one-shot HTTP server on 127.0.0.1 answering `response` to the first connection; returns its port.
fn serve_once(response: &'static [u8]) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut request = vec![0u8; 64 * 1024];
        let n = stream.read(&mut request).unwrap_or(0);
        request.truncate(n);
        let _ = stream.write_all(response);
        request
    });
    (port, handle)
}

/// A listener that must never see a connection.
struct Untouched(TcpListener);

impl Untouched {
    fn new() -> Untouched {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        Untouched(l)
    }
    fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }
    fn assert_untouched(&self) {
        assert_eq!(
            self.0.accept().unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock,
            "something connected"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_granted_hosts_metadata_and_other_local_ports_are_denied() {
    let world = World::new("hostile-hosts");
    let (port, server) =
        serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    let forbidden = Untouched::new();
    let outbound = slack_routed_to(port);
    let hostile = load_hostile(&world, outbound, Limits::default());
    for url in [
        "https://example.com/".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://[fd00:ec2::254]/latest/meta-data/".to_string(),
        format!("http://127.0.0.1:{}/", forbidden.port()),
        format!("http://127.0.0.1:{port}/api/auth.test"),
        "https://slack.com.evil.example/api/auth.test".to_string(),
    ] {
        assert_eq!(
            contained(&world, &hostile, &format!("fetch {url}")).await,
            Ok("error:ErrorCode::HttpRequestDenied".to_string()),
            "{url}"
        );
    }
    forbidden.assert_untouched();
    // The granted origin still goes through, to the address its route names.
    assert_eq!(
        contained(&world, &hostile, "fetch https://slack.com/api/auth.test").await,
        Ok("status:200;bytes:2".to_string())
    );
    server.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_name_that_resolves_to_loopback_is_refused_at_connect_time() {
    let world = World::new("hostile-rebind");
    let (port, server) =
        serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    // The grant names `localhost`, not the loopback address it resolves to.
    let grant = Grant::parse(&format!("http://localhost:{port}/")).unwrap();
    let hostile = load_hostile(
        &world,
        OutboundConfig::new(vec![grant.clone()]),
        Limits::default(),
    );
    assert_eq!(
        contained(&world, &hostile, &format!("fetch http://localhost:{port}/")).await,
        Ok("error:ErrorCode::DestinationIpProhibited".to_string())
    );
    // Once the grants name the address, the same request connects: it was the address check that refused it.
    let mut outbound = OutboundConfig::new(vec![grant]);
    outbound.addresses.push("127.0.0.1".parse().unwrap());
    let allowed = load_hostile(&world, outbound, Limits::default());
    assert_eq!(
        contained(&world, &allowed, &format!("fetch http://localhost:{port}/")).await,
        Ok("status:200;bytes:2".to_string())
    );
    server.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed() {
    let world = World::new("hostile-redirect");
    let elsewhere = Untouched::new();
    let response: &'static [u8] = Box::leak(
        format!(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{}/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            elsewhere.port()
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let (port, server) = serve_once(response);
    let outbound = slack_routed_to(port);
    let hostile = load_hostile(&world, outbound, Limits::default());
    assert_eq!(
        contained(&world, &hostile, "fetch https://slack.com/api/auth.test").await,
        Ok("status:302;bytes:0".to_string())
    );
    server.join().unwrap();
    elsewhere.assert_untouched();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_and_response_bodies_are_capped_and_a_silent_server_times_out() {
    let world = World::new("hostile-caps");
    let routed = |port: u16| {
        let mut o = slack_routed_to(port);
        o.max_response_bytes = 1_000;
        o.max_request_bytes = 1_000;
        o.first_byte_timeout = Duration::from_millis(300);
        o
    };
    // An answer announcing more than the cap.
    let (port, server) =
        serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\nconnection: close\r\n\r\n");
    let hostile = load_hostile(&world, routed(port), Limits::default());
    let code = contained(&world, &hostile, "fetch https://slack.com/api/big")
        .await
        .unwrap();
    assert!(code.contains("HttpResponseBodySize"), "{code}");
    server.join().unwrap();
    // An answer that streams more than the cap without announcing it.
    let chunked: &'static [u8] = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n{}\r\n0\r\n\r\n",
            4000,
            "y".repeat(4000)
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let (port, server) = serve_once(chunked);
    let hostile = load_hostile(&world, routed(port), Limits::default());
    let code = contained(&world, &hostile, "fetch https://slack.com/api/stream")
        .await
        .unwrap();
    assert!(
        code.starts_with("status:200;body-error:") && code.contains("body size exceeds limit"),
        "{code}"
    );
    server.join().unwrap();
    // A request body over the cap never gets a 200.
    let (port, server) =
        serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    let hostile = load_hostile(&world, routed(port), Limits::default());
    let code = contained(&world, &hostile, "post https://slack.com/api/upload 50000")
        .await
        .unwrap();
    assert!(!code.starts_with("status:200"), "{code}");
    drop(server);
    // A server that accepts and never answers: the first-byte time-out, not wasmtime's 600 s.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let hostile = load_hostile(&world, routed(port), Limits::default());
    let started = std::time::Instant::now();
    let code = contained(&world, &hostile, "fetch https://slack.com/api/slow")
        .await
        .unwrap();
    assert_eq!(code, "error:ErrorCode::ConnectionReadTimeout");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reports_are_checked_against_the_call_that_makes_them() {
    let world = World::new("hostile-progress");
    let hostile = load_hostile(&world, no_outbound(), Limits::default());
    // Each on a platform of its own: three failed calls in a row disable a connector on a platform.
    for (platform, how, refusal) in [
        ("p1", "unknown", "a delivery it was not given"),
        ("p2", "twice", "a second outcome"),
        ("p3", "flood", "more posts for one recipient"),
        (
            "p4",
            "after",
            "a post for a recipient whose outcome it had reported",
        ),
    ] {
        let error = attack(&hostile, platform, &format!("progress {how}"))
            .await
            .unwrap_err();
        assert!(error.contains(refusal), "{how}: {error}");
    }
    world.slack_serves().await;
    let inbound = wit::InboundRequest {
        route: "progress".into(),
        headers: vec![],
        body: vec![],
        received_at: 0,
    };
    let error = hostile.handle_inbound("p5", &inbound).await.unwrap_err();
    assert!(error.to_string().contains("outside a delivery"), "{error}");
    // A truthful report reaches the embedder (when the call ends, no request following it), and is not returned a
    // second time.
    let progress = Arc::new(Collected::default());
    let returned = hostile
        .deliver(
            "p6",
            &notification("progress ok"),
            &recipients(2),
            progress.clone(),
        )
        .await
        .unwrap();
    assert_eq!(progress.postings(), ["d0"]);
    let reported: Vec<String> = progress
        .outcomes()
        .into_iter()
        .map(|o| o.delivery_id)
        .collect();
    assert_eq!(reported, ["d0"]);
    let returned: Vec<&str> = returned.iter().map(|o| o.delivery_id.as_str()).collect();
    assert_eq!(returned, ["d1"]);
}

/// Progress as the embedder receives it: each hand-over, with how many requests had reached the service before it.
#[derive(Default)]
struct HandOvers {
    requests: std::sync::atomic::AtomicUsize,
    postings: std::sync::Mutex<Vec<(Vec<String>, usize)>>,
    outcomes: std::sync::Mutex<Vec<(usize, usize)>>,
}

impl connector_host::progress::DeliveryProgress for HandOvers {
    fn postings(&self, delivery_ids: &[String]) -> anyhow::Result<()> {
        let arrived = self.requests.load(std::sync::atomic::Ordering::SeqCst);
        self.postings
            .lock()
            .unwrap()
            .push((delivery_ids.to_vec(), arrived));
        Ok(())
    }
    fn outcomes(&self, outcomes: &[wit::DeliveryOutcome]) -> anyhow::Result<()> {
        let arrived = self.requests.load(std::sync::atomic::Ordering::SeqCst);
        self.outcomes
            .lock()
            .unwrap()
            .push((outcomes.len(), arrived));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announced_posts_reach_the_embedder_together_before_any_of_their_requests_leaves() {
    let world = World::new("hostile-wave");
    let progress = Arc::new(HandOvers::default());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = {
        let progress = progress.clone();
        std::thread::spawn(move || {
            for _ in 0..4 {
                let (mut stream, _) = listener.accept().unwrap();
                progress
                    .requests
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                stream
                    .set_read_timeout(Some(Duration::from_millis(500)))
                    .unwrap();
                let _ = stream.read(&mut [0u8; 4096]);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
            }
        })
    };
    let outbound = slack_routed_to(port);
    let hostile = load_hostile(&world, outbound, Limits::default());
    let returned = hostile
        .deliver(
            "p1",
            &notification("progress wave https://slack.com/api/auth.test"),
            &recipients(4),
            progress.clone(),
        )
        .await
        .unwrap();
    server.join().unwrap();
    // The four posts were announced one by one, and recorded in one hand-over before the first request left.
    assert_eq!(
        *progress.postings.lock().unwrap(),
        [(vec!["d0".into(), "d1".into(), "d2".into(), "d3".into()], 0)]
    );
    // The outcomes, reported after the last request, were handed over together when the call ended.
    assert_eq!(*progress.outcomes.lock().unwrap(), [(4, 4)]);
    assert!(
        returned.is_empty(),
        "every outcome was reported: {returned:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_is_interrupted_by_the_cpu_limit() {
    let world = World::new("hostile-loop");
    let limits = Limits {
        cpu_ticks: 30,
        ..Limits::default()
    };
    let hostile = load_hostile(&world, no_outbound(), limits);
    let error = contained(&world, &hostile, "loop").await.unwrap_err();
    assert!(error.contains("CPU"), "{error}");
    assert!(matches!(
        hostile.status("p1").await.unwrap(),
        wit::IntegrationState::Inactive
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_that_waits_is_stopped_by_the_wall_clock() {
    let world = World::new("hostile-wall");
    // A server that never answers, a first-byte time-out longer than the call's: the wall clock ends the call.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let outbound = slack_routed_to(port);
    let limits = Limits {
        call_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let hostile = load_hostile(&world, outbound, limits);
    let error = contained(&world, &hostile, "fetch https://slack.com/api/slow")
        .await
        .unwrap_err();
    assert!(error.contains("did not finish deliver within"), "{error}");
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_allocation_hits_the_memory_limit() {
    let world = World::new("hostile-alloc");
    let limits = Limits {
        memory_bytes: 16 << 20,
        ..Limits::default()
    };
    let hostile = load_hostile(&world, no_outbound(), limits);
    let error = contained(&world, &hostile, "alloc").await.unwrap_err();
    assert!(error.contains("memory"), "{error}");
    assert!(hostile.status("p1").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocating_again_and_again_is_stopped_by_the_memory_growth_rate() {
    let world = World::new("hostile-alloc-rate");
    // Never disabled, so that it keeps allocating.
    let limits = Limits {
        failures_before_disable: u32::MAX,
        ..Limits::default()
    };
    let hostile = load_hostile(&world, no_outbound(), limits);
    // Each call grows to the 64 MiB limit: two fit in the platform's 128 MiB burst; the bucket refills at 16 MiB a
    // second, far slower than calls that each take 62 MiB more than the resident part.
    let mut errors = Vec::new();
    for _ in 0..4 {
        errors.push(contained(&world, &hostile, "alloc").await.unwrap_err());
    }
    assert!(
        errors[0].contains("forcing trap when growing memory"),
        "the memory limit: {}",
        errors[0]
    );
    assert!(
        errors[2..]
            .iter()
            .any(|e| e.contains("grew their memory faster than 16 MiB a second")),
        "{errors:?}"
    );
    // Another platform has its own budget (`contained` checked that p2 is still served after each attack), and a
    // call that stays within the resident part is never charged.
    assert!(hostile.status("p1").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_recursion_overflows_the_stack() {
    let world = World::new("hostile-recurse");
    let hostile = load_hostile(&world, no_outbound(), Limits::default());
    let error = contained(&world, &hostile, "recurse").await.unwrap_err();
    assert!(error.contains("stack"), "{error}");
    assert!(hostile.status("p1").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_outputs_are_bounded_by_the_memory_limit() {
    let world = World::new("hostile-huge");
    let limits = Limits {
        memory_bytes: 32 << 20,
        ..Limits::default()
    };
    let hostile = load_hostile(&world, no_outbound(), limits);
    // What fits in the component's memory comes back, and the host keeps a bounded part of each text...
    let (small, four) = (notification("huge 1000000"), recipients(4));
    let (outcomes, ()) = tokio::join!(
        hostile.deliver("p1", &small, &four, Arc::new(Collected::default())),
        world.slack_serves()
    );
    let outcomes = outcomes.unwrap();
    assert_eq!(outcomes.len(), 4);
    assert!(outcomes.iter().all(|o| matches!(&o.outcome,
        wit::Outcome::Failed(f) if f.message.len() == untrusted::MAX_TEXT + '…'.len_utf8())));
    // ...and an output larger than the memory limit cannot even be built: the call fails, the host is unharmed.
    let big = notification("huge 20000000");
    let (result, ()) = tokio::join!(
        hostile.deliver("p1", &big, &four, Arc::new(Collected::default())),
        world.slack_serves()
    );
    let error = format!("{:#}", result.unwrap_err());
    assert!(error.contains("memory"), "{error}");
    world.slack_serves().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_flood_is_cut_at_the_quota() {
    let world = World::new("hostile-flood");
    let limits = Limits {
        log_lines: 50,
        ..Limits::default()
    };
    let hostile = load_hostile(&world, no_outbound(), limits);
    assert_eq!(
        contained(&world, &hostile, "flood 20000").await,
        Ok("flooded".to_string())
    );
    let rows: i64 = world
        .db
        .log_conn()
        .query_row(
            "SELECT COUNT(*) FROM connector_log WHERE connector_id = 'hostile'",
            (),
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 51, "50 lines and one note of what was dropped");
    let note: String = world
        .db
        .log_conn()
        .query_row(
            "SELECT message FROM connector_log WHERE connector_id = 'hostile' ORDER BY seq DESC LIMIT 1",
            (),
            |r| r.get(0),
        )
        .unwrap();
    assert!(note.contains("19950 log lines dropped"), "{note}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_and_sockets_imports_are_refused_at_load() {
    let world = World::new("hostile-imports");
    for (component, interface) in [
        (HOSTILE_FS, "wasi:filesystem/preopens"),
        (HOSTILE_FS, "wasi:filesystem/types"),
        (HOSTILE_SOCKETS, "wasi:sockets/tcp-create-socket"),
        (HOSTILE_SOCKETS, "wasi:sockets/network"),
    ] {
        let error = e2e_tests::load_unmanifested(
            &world.engine,
            component,
            "hostile",
            &world.db,
            no_outbound(),
            Limits::default(),
        )
        .err()
        .expect("refused");
        let error = format!("{error:#}");
        assert!(
            error.contains(&format!("imports `{interface}@0.2.12`")),
            "{error}"
        );
        assert!(
            error.contains(&format!("add `\"{interface}\"` to `allow` under [imports]")),
            "{error}"
        );
        world.slack_serves().await;
    }
    // Granting the filesystem interface links it, yet there is nothing to open: no directory is preopened.
    let grants = Grants::parse(
        &default_grants()
            .text
            .replace("id = \"slack\"", "id = \"hostile\"")
            .replace("allow = [\n", "allow = [\n    \"wasi:filesystem/*\",\n"),
        "test grants",
    )
    .unwrap();
    let policy = Policy::new("hostile", grants, None).unwrap();
    let fs = Sandbox::new(
        &world.engine,
        HOSTILE_FS,
        std::sync::Arc::new(world.db.clone()),
        policy,
    )
    .unwrap();
    assert_eq!(fs.describe().await.unwrap().id, "hostile");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_connectors_secrets_are_out_of_reach() {
    let world = World::new("hostile-secrets");
    world
        .db
        .set_secret("p1", "slack", "bot_token", "xoxb-the-real-token")
        .unwrap();
    // Same platform, another connector id: the settings import is scoped to the caller's own connector.
    let hostile = load_hostile(&world, no_outbound(), Limits::default());
    assert_eq!(
        contained(&world, &hostile, "secret bot_token").await,
        Ok("secret:none".to_string())
    );
    assert_eq!(
        contained(&world, &hostile, "set-secret bot_token").await,
        Ok("set-secret:ok".to_string()),
        "it may write its own"
    );
    assert_eq!(
        world
            .db
            .secret("p1", "slack", "bot_token")
            .unwrap()
            .as_deref(),
        Some("xoxb-the-real-token"),
        "the Slack connector's token is untouched"
    );
    assert_eq!(
        contained(&world, &hostile, "secret bot_token").await,
        Ok(format!("secret:{REDACTED}")),
        "it reads back its own, and the host blanks it out of what the connector returns"
    );
    // With a manifest, only the secrets it declares are readable or writable.
    let manifest = Manifest::parse(
        r#"
[connector]
id = "hostile"
name = "Hostile"
version = "0.0.0"
contract = "lms:connector@0.3.0"
[interfaces]
imports = ["lms:connector/*", "wasi:cli/*", "wasi:io/*", "wasi:clocks/*", "wasi:random/*", "wasi:http/*"]
exports = ["lms:connector/connector@0.3.0"]
[settings]
secrets = ["api_key"]
"#,
        "hostile manifest",
    )
    .unwrap();
    let grants = Grants::parse(
        &default_grants()
            .text
            .replace("id = \"slack\"", "id = \"hostile\""),
        "test grants",
    )
    .unwrap();
    let policy = Policy::new("hostile", grants, Some(manifest)).unwrap();
    let declared = Sandbox::new(
        &world.engine,
        HOSTILE,
        std::sync::Arc::new(world.db.clone()),
        policy,
    )
    .unwrap();
    assert_eq!(
        contained(&world, &declared, "secret bot_token").await,
        Ok("secret:none".to_string())
    );
    let code = contained(&world, &declared, "set-secret bot_token")
        .await
        .unwrap();
    assert!(code.starts_with("set-secret:refused:"), "{code}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_reported_with_the_components_stderr() {
    let world = World::new("hostile-panic");
    let hostile = load_hostile(&world, no_outbound(), Limits::default());
    let error = contained(&world, &hostile, "panic").await.unwrap_err();
    assert!(
        error.contains("the connector failed during deliver"),
        "{error}"
    );
    assert!(error.contains("the component's stderr"), "{error}");
    assert!(
        error.contains("hostile: about to panic on purpose"),
        "{error}"
    );
    assert!(error.contains("hostile panic"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_disable_the_connector_on_that_platform_with_an_alert() {
    let world = World::new("hostile-disable");
    let limits = Limits {
        failures_before_disable: 3,
        ..Limits::default()
    };
    let hostile = load_hostile(&world, no_outbound(), limits);
    for _ in 0..3 {
        assert!(hostile.disabled("p2").unwrap().is_none());
        assert!(attack(&hostile, "p2", "panic").await.is_err());
        world.slack_serves().await;
    }
    assert!(hostile.disabled("p2").unwrap().is_some());
    assert!(hostile.disabled("p1").unwrap().is_none());
    let error = format!("{:#}", hostile.status("p2").await.unwrap_err());
    assert!(error.contains("disabled on platform p2"), "{error}");
    let alert: String = world
        .db
        .conn()
        .query_row(
            "SELECT message FROM alerts WHERE platform_id = 'p2'",
            (),
            |r| r.get(0),
        )
        .unwrap();
    assert!(alert.contains("disabled"), "{alert}");
    // Other platforms are served; an admin re-enables it on p2.
    assert!(hostile.status("p1").await.is_ok());
    assert!(hostile.enable("p2").unwrap());
    assert!(hostile.status("p2").await.is_ok());
}

/// A local stand-in for Slack that answers every request `200 ok` (closing the connection) after `delay`, and keeps
/// each request's head as it arrived.
struct Recorder {
    port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Recorder {
    fn start(delay: Duration) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (seen, count) = (requests.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(10_000) {
                let Ok(mut stream) = stream else {
                    return;
                };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).into_owned());
                    std::thread::sleep(delay);
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    );
                });
            }
        });
        Recorder {
            port,
            requests,
            connections,
        }
    }

    /// The grant of `https://slack.com/api/` with `methods`, routed here.
    fn outbound(&self, methods: &[&str]) -> OutboundConfig {
        let grant = Grant::parse("https://slack.com/api/")
            .unwrap()
            .with_methods(
                methods
                    .iter()
                    .map(|m| connector_host::outbound::parse_method(m).unwrap())
                    .collect(),
            );
        let mut outbound = OutboundConfig::new(vec![grant]);
        outbound.routes.push(
            Route::new(
                "https://slack.com",
                &format!("http://127.0.0.1:{}", self.port),
            )
            .unwrap(),
        );
        outbound
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_requests_fails_the_call_and_another_platform_is_still_served() {
    let world = World::new("hostile-burst");
    let slack = Recorder::start(Duration::from_millis(200));
    let outbound = slack.outbound(&["GET", "POST"]);
    let cap = outbound.max_requests_in_flight;
    let hostile = load_hostile(&world, outbound, Limits::default());
    // Platform p1's call opens 300 requests at once; platform p2's call, in the same process and through the same
    // connector, makes one ordinary request meanwhile; the Slack connector is called too.
    let (burst, other, ()) = tokio::join!(
        attack(&hostile, "p1", "burst 300 https://slack.com/api/auth.test"),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            attack(&hostile, "p2", "fetch https://slack.com/api/users.list").await
        },
        world.slack_serves()
    );
    let error = burst.unwrap_err();
    assert!(
        error.contains(&format!(
            "p1/hostile opened more than {cap} outgoing requests at once"
        )),
        "{error}"
    );
    assert_eq!(other, Ok("status:200;bytes:2".to_string()));
    // The burst never had more than its cap of connections: the server saw those and p2's.
    assert!(slack.connections() <= cap + 1, "{}", slack.connections());
    world.slack_serves().await;
    // The failed call counts towards the health rule on p1 only, and p1's next ordinary call goes through.
    assert_eq!(hostile.health("p1").consecutive_failures, 1);
    assert_eq!(
        attack(&hostile, "p1", "fetch https://slack.com/api/auth.test").await,
        Ok("status:200;bytes:2".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_at_its_connection_cap_makes_other_calls_wait_their_turn() {
    let world = World::new("hostile-pool");
    let slack = Recorder::start(Duration::from_millis(300));
    let mut outbound = slack.outbound(&["GET", "POST"]);
    outbound.max_requests_in_flight = 3;
    outbound.pool = std::sync::Arc::new(connector_host::outbound::ConnectionPool::new(3));
    let hostile = load_hostile(&world, outbound, Limits::default());
    // p1 holds all three connections for 300 ms; p2's request waits for the first to close, then goes through.
    let (burst, other) = tokio::join!(
        attack(&hostile, "p1", "burst 3 https://slack.com/api/auth.test"),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            attack(&hostile, "p2", "fetch https://slack.com/api/users.list").await
        }
    );
    assert_eq!(burst, Ok("burst:answered=3;failed=0;refused=0".to_string()));
    assert_eq!(other, Ok("status:200;bytes:2".to_string()));
    assert_eq!(slack.connections(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_dot_segments_path_parameters_and_userinfo_are_denied_and_the_host_is_the_origin_checked()
 {
    let world = World::new("hostile-urls");
    let slack = Recorder::start(Duration::ZERO);
    let hostile = load_hostile(&world, slack.outbound(&["GET", "POST"]), Limits::default());
    for url in [
        "https://slack.com/api/%2e%2e/admin".to_string(),
        "https://slack.com/api/%2E%2E/admin".to_string(),
        "https://slack.com/api/.%2e/admin".to_string(),
        "https://slack.com/api/..;/admin".to_string(),
        "https://slack.com/api/auth.test;x=..".to_string(),
        "https://slack.com/api/..%5cadmin".to_string(),
        "https://slack.com/api/..%2fadmin".to_string(),
        format!("https://127.0.0.1:{}@slack.com/api/auth.test", slack.port),
        "https://user@slack.com/api/auth.test".to_string(),
    ] {
        assert_eq!(
            contained(&world, &hostile, &format!("fetch {url}")).await,
            Ok("error:ErrorCode::HttpRequestDenied".to_string()),
            "{url}"
        );
    }
    assert_eq!(slack.connections(), 0, "{:?}", slack.requests());
    // The component cannot set its own Host header, and the Host sent is the origin checked, in its plain form,
    // whatever form the component's authority took.
    assert_eq!(
        contained(
            &world,
            &hostile,
            "host https://SLACK.com:443/api/auth.test evil.example"
        )
        .await,
        Ok("host-header:HeaderError::Forbidden;status:200;bytes:2".to_string())
    );
    let requests = slack.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let head = requests[0].to_ascii_lowercase();
    assert!(
        head.starts_with("get /api/auth.test http/1.1\r\n"),
        "{head}"
    );
    let hosts: Vec<&str> = head
        .lines()
        .filter_map(|l| l.strip_prefix("host:"))
        .map(str::trim)
        .collect();
    assert_eq!(hosts, ["slack.com"], "{head}");
    // A double-encoded dot is literal text: it passes, and reaches the server as it was written.
    assert_eq!(
        contained(&world, &hostile, "fetch https://slack.com/api/%252e%252e/x").await,
        Ok("status:200;bytes:2".to_string())
    );
    assert!(slack.requests()[1].starts_with("GET /api/%252e%252e/x HTTP/1.1\r\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_get_and_post_are_sent_unless_the_grant_lists_other_methods() {
    let world = World::new("hostile-methods");
    let slack = Recorder::start(Duration::ZERO);
    let hostile = load_hostile(&world, slack.outbound(&["GET", "POST"]), Limits::default());
    for method in ["CONNECT", "TRACE", "PUT", "DELETE", "PROPFIND"] {
        assert_eq!(
            contained(
                &world,
                &hostile,
                &format!("method {method} https://slack.com/api/auth.test")
            )
            .await,
            Ok("error:ErrorCode::HttpRequestDenied".to_string()),
            "{method}"
        );
    }
    assert_eq!(slack.connections(), 0, "{:?}", slack.requests());
    for method in ["GET", "POST"] {
        assert_eq!(
            contained(
                &world,
                &hostile,
                &format!("method {method} https://slack.com/api/auth.test")
            )
            .await,
            Ok("status:200;bytes:2".to_string()),
            "{method}"
        );
    }
    // A grant that lists PUT and TRACE lets them through, and only them.
    let granted = load_hostile(
        &world,
        slack.outbound(&["GET", "POST", "PUT", "TRACE"]),
        Limits::default(),
    );
    for method in ["PUT", "TRACE"] {
        assert_eq!(
            contained(
                &world,
                &granted,
                &format!("method {method} https://slack.com/api/auth.test")
            )
            .await,
            Ok("status:200;bytes:2".to_string()),
            "{method}"
        );
    }
    assert_eq!(
        contained(
            &world,
            &granted,
            "method CONNECT https://slack.com/api/auth.test"
        )
        .await,
        Ok("error:ErrorCode::HttpRequestDenied".to_string())
    );
    let methods: Vec<String> = slack
        .requests()
        .iter()
        .map(|r| r.split(' ').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(methods, ["GET", "POST", "PUT", "TRACE"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_installed_from_a_file_is_audited_at_load_like_the_embedded_one() {
    use lms_harness::connector::{CONNECTOR_WASM_PATH, ConnectorSpec};
    use lms_harness::web::{ServeOptions, start};
    // `serve --connector FILE.wasm`: a component that imports the filesystem is refused before the site starts,
    // naming the import, with the default grants as with an operator's grant file.
    let dir = TestDir::new("hostile-from-file");
    let path = std::path::Path::new(env!("HOSTILE_FS_CONNECTOR_WASM"));
    let mut options = ServeOptions::local(dir.path().join("data"));
    options.connector = Some(ConnectorSpec::from_file(path, None, None, None).unwrap());
    let error = format!("{:#}", start(options).await.err().expect("refused"));
    assert!(
        error.contains("refusing to load the connector `slack`")
            && error.contains("imports `wasi:filesystem/preopens@0.2.12`"),
        "{error}"
    );
    let grants = dir.path().join("grants.toml");
    std::fs::write(&grants, &default_grants().text).unwrap();
    let mut options = ServeOptions::local(dir.path().join("data"));
    options.connector = Some(ConnectorSpec::from_file(path, None, Some(&grants), None).unwrap());
    assert!(start(options).await.is_err(), "the same with a grant file");
    // The Slack connector installed from its file (its manifest found beside it, or the embedded one) serves.
    let mut options = ServeOptions::local(dir.path().join("data"));
    let slack = std::path::Path::new(CONNECTOR_WASM_PATH);
    options.connector = Some(ConnectorSpec::from_file(slack, None, None, None).unwrap());
    let server = start(options).await.unwrap();
    assert_eq!(
        server.harness.lms.sandbox().describe().await.unwrap().id,
        "slack"
    );
    server.shutdown().await;
}
