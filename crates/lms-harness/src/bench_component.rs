//! `lms-harness bench-component`: what the component costs, measured against the same plugin library compiled natively, in
//! one run (these machines are noisy: ratios within a run are what to compare). Writes its section of
//! `BENCHMARKS.md`.

use crate::connector::EMBEDDED_CONNECTOR;
use crate::demo::{DEMO_PLATFORM, DEMO_REDIRECT_URI, consent};
use crate::harness::{Harness, HarnessOptions};
use anyhow::{Context, Result, bail};
use connector_host::ConnectorStore;
use connector_host::progress::Collected;
use connector_host::{Sandbox, wit};
use slack_connector::api::{HttpRequest, HttpResponse, Transport, TransportError};
use slack_connector::connector::{Connector, Level, Log, Outcome, Recipient, Settings, Unreported};
use slack_connector::model;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The command that reproduces the benchmark.
pub const COMMAND: &str = "cargo run --release -p lms-harness -- bench-component";

/// Timings of one measurement.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stats {
    /// Samples.
    pub n: usize,
    /// Median, microseconds.
    pub median_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Stats {
        samples.sort();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let at = |q: f64| us(samples[((samples.len() - 1) as f64 * q).round() as usize]);
        Stats {
            n: samples.len(),
            median_us: at(0.5),
            p99_us: at(0.99),
        }
    }
}

/// The benchmark's results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The component's size in bytes.
    pub component_bytes: usize,
    /// Compiling the component with Cranelift.
    pub compile: Stats,
    /// Loading the precompiled component from a file (`Component::deserialize_file`).
    pub cached_load: Stats,
    /// One delivery (render, conversations.open, chat.postMessage) through the component, fresh instance included.
    pub component_delivery: Stats,
    /// The same delivery by the plugin library compiled natively, against the same simulated Slack.
    pub native_delivery: Stats,
    /// component / native, medians.
    pub delivery_ratio: f64,
    /// A fresh store and instance from the pre-instantiated component (pooling allocator), as every call makes.
    pub instantiation: Stats,
    /// The largest linear memory an instance grew to during the deliveries, bytes.
    pub peak_memory: usize,
    /// HTTP requests the component's deliveries sent.
    pub requests: u64,
    /// Connections the host opened for them.
    pub connections_opened: u64,
    /// Wasm instructions (fuel) one delivery executes, start-up of the fresh instance included.
    pub fuel_per_delivery: u64,
}

/// Runs every measurement with `iterations` deliveries each way.
pub async fn run(iterations: usize) -> Result<Report> {
    if iterations == 0 {
        bail!("at least one iteration");
    }
    let dir = std::env::temp_dir().join(format!(
        "lms-harness-bench-{}-{}",
        std::process::id(),
        lms::db::now()
    ));
    std::fs::create_dir_all(&dir)?;
    let result = run_in(&dir, iterations).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_in(dir: &std::path::Path, iterations: usize) -> Result<Report> {
    let engine = Sandbox::engine()?;
    let mut compile = Vec::new();
    let mut component = None;
    for _ in 0..5 {
        let t = Instant::now();
        component = Some(
            wasmtime::component::Component::new(&engine, EMBEDDED_CONNECTOR)
                .map_err(anyhow::Error::from)?,
        );
        compile.push(t.elapsed());
    }
    let serialized = component
        .context("compiled")?
        .serialize()
        .map_err(anyhow::Error::from)?;
    let cwasm = dir.join("connector.cwasm");
    std::fs::write(&cwasm, serialized)?;
    let mut cached = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        // SAFETY: the file was just written by `serialize` with this engine's configuration.
        let c = unsafe { wasmtime::component::Component::deserialize_file(&engine, &cwasm) };
        c.map_err(anyhow::Error::from)?;
        cached.push(t.elapsed());
    }

    let mut options = HarnessOptions::in_dir(dir);
    // The simulation's limits off, as the connector's pacing below.
    options.sim.rate_limits.enabled = false;
    let sim = options.sim.clone();
    let harness = Harness::start(options).await?;
    let data = harness.seed_demo(DEMO_PLATFORM, &sim)?;
    let lms = &harness.lms;
    let installer = sim
        .workspace
        .members
        .iter()
        .find(|m| m.is_admin)
        .context("an admin member")?;
    let url = lms
        .start_activation(DEMO_PLATFORM, &data.admin, DEMO_REDIRECT_URI)
        .await?;
    lms.complete_activation(DEMO_PLATFORM, &consent(&url, &installer.id, true).await?)
        .await?;
    // Pacing is Slack's limits, not the component's cost: off on both sides (the simulation's limits are off too).
    lms.configure(
        DEMO_PLATFORM,
        slack_connector::pacing::SCALE_KEY,
        "off",
        false,
    )?;
    let learner = data.learners.first().context("a learner")?.clone();
    let session = data.session.clone();
    let notification = wit::Notification {
        id: "bench".into(),
        kind: wit::NotificationKind::SessionAssignment,
        title: lms::invitations::subject(&session.title, lms::lang::Lang::En),
        session: Some(wit::Session {
            id: session.id.clone(),
            title: session.title.clone(),
            description: session.description.clone(),
            cover_image_url: session.cover_url.clone(),
            cover_is_default: false,
            starts_at: session.starts_at,
            ends_at: session.ends_at,
            url: format!("https://lms.example/acme/sessions/{}", session.id),
        }),
        body: None,
        group: wit::PlatformGroup {
            name: "Acme Learning".into(),
            logo_url: Some("https://lms.example/logo.png".into()),
        },
    };
    let user = wit::User {
        id: learner.id.clone(),
        email: learner.email.clone(),
        display_name: learner.display_name.clone(),
        locale: learner.locale.clone(),
        time_zone: learner.time_zone.clone(),
    };
    // Warm up both sides (member lookup cached), then forget the DM before each delivery so that every delivery
    // opens it, as the first message to a learner does.
    let recipient = |i: usize| wit::Recipient {
        user: user.clone(),
        delivery_id: format!("c{i}"),
        attempt: 1,
        earlier_post: None,
        reply_to: None,
    };
    let forget_dm = || {
        lms.db()
            .conn()
            .execute("DELETE FROM connector_settings WHERE key LIKE 'dm:%'", ())
            .map(drop)
    };
    lms.sandbox()
        .deliver(
            DEMO_PLATFORM,
            &notification,
            &[recipient(0)],
            Arc::new(Collected::default()),
        )
        .await?;
    let instantiation = Stats::of(
        lms.sandbox()
            .time_instantiation(iterations.max(1000))
            .await?,
    );
    let pool = &lms.sandbox().outbound().pool;
    let (requests_before, opened_before) = (pool.requests(), pool.opened());
    let mut component_times = Vec::with_capacity(iterations);
    for i in 1..=iterations {
        forget_dm()?;
        let progress = Arc::new(Collected::default());
        let t = Instant::now();
        let returned = lms
            .sandbox()
            .deliver(
                DEMO_PLATFORM,
                &notification,
                &[recipient(i)],
                progress.clone(),
            )
            .await?;
        component_times.push(t.elapsed());
        let outcomes = [progress.outcomes(), returned].concat();
        if !matches!(
            outcomes.first().map(|o| &o.outcome),
            Some(wit::Outcome::Sent(_))
        ) {
            bail!("the component did not send: {outcomes:?}");
        }
    }

    let fuel_per_delivery = lms.sandbox().last_fuel();
    let requests = pool.requests() - requests_before;
    let connections_opened = pool.opened() - opened_before;
    let peak_memory = lms.sandbox().peak_memory();

    // The same library, natively, over the same SQLite-backed settings and secrets of the same platform: the
    // difference is the component boundary (wasm, wasi:http, the host's imports), not the storage.
    let mut settings = DbSettings {
        db: lms.db().clone(),
        platform: DEMO_PLATFORM.into(),
    };
    let n = native_notification(&notification);
    let native_user = model::User {
        id: user.id.clone(),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        locale: user.locale.clone(),
        time_zone: user.time_zone.clone(),
    };
    let sim_addr = harness.sim.addr();
    let native = tokio::task::spawn_blocking(move || -> Result<Vec<Duration>> {
        let mut transport = KeepAlive::new(sim_addr.to_string());
        let now = lms::db::now();
        let deliver = |settings: &mut DbSettings, transport: &mut KeepAlive, i: usize| {
            let r = Recipient {
                user: native_user.clone(),
                delivery_id: format!("n{i}"),
                attempt: 1,
                earlier_post: None,
                reply_to: None,
            };
            Connector::new(settings, &mut NoLog, transport, now).deliver(&n, &[r], &mut Unreported)
        };
        deliver(&mut settings, &mut transport, 0);
        let mut times = Vec::with_capacity(iterations);
        for i in 1..=iterations {
            settings.forget_dms()?;
            let t = Instant::now();
            let outcomes = deliver(&mut settings, &mut transport, i);
            times.push(t.elapsed());
            if !matches!(outcomes.first().map(|(_, o)| o), Some(Outcome::Sent { .. })) {
                bail!("the native build did not send: {outcomes:?}");
            }
        }
        Ok(times)
    })
    .await??;
    harness.sim.shutdown().await;

    let component_delivery = Stats::of(component_times);
    let native_delivery = Stats::of(native);
    Ok(Report {
        component_bytes: EMBEDDED_CONNECTOR.len(),
        compile: Stats::of(compile),
        cached_load: Stats::of(cached),
        delivery_ratio: component_delivery.median_us / native_delivery.median_us,
        component_delivery,
        native_delivery,
        instantiation,
        peak_memory,
        requests,
        connections_opened,
        fuel_per_delivery,
    })
}

fn native_notification(n: &wit::Notification) -> model::Notification {
    model::Notification {
        id: n.id.clone(),
        kind: model::NotificationKind::SessionAssignment,
        title: n.title.clone(),
        session: n.session.as_ref().map(|s| model::Session {
            id: s.id.clone(),
            title: s.title.clone(),
            description: s.description.clone(),
            cover_image_url: s.cover_image_url.clone(),
            cover_is_default: s.cover_is_default,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            url: s.url.clone(),
        }),
        body: n.body.clone(),
        group: model::PlatformGroup {
            name: n.group.name.clone(),
            logo_url: n.group.logo_url.clone(),
        },
    }
}

/// The report as the `BENCHMARKS.md` section.
pub fn markdown(r: &Report) -> String {
    let ms = |us: f64| us / 1000.0;
    format!(
        "## Component cost (`lms-harness bench-component`)\n\n\
         Reproduce: `{COMMAND}` (2-core development machine; one run; medians and p99).\n\n\
         | measure | result | target |\n| --- | --- | --- |\n\
         | component size | {} bytes ({:.0} KiB) | < 1 MB |\n\
         | compile (Cranelift), median of {} | {:.1} ms | — |\n\
         | cached load (`deserialize_file`), median / p99 of {} | {:.2} ms / {:.2} ms | < 5 ms |\n\
         | one delivery through the component (fresh instance, render, conversations.open, chat.postMessage), median / p99 of {} | {:.0} µs / {:.0} µs | — |\n\
         | the same delivery, plugin library compiled natively, median / p99 | {:.0} µs / {:.0} µs | — |\n\
         | component / native (medians) | {:.2}× | ≤ 1.5× |\n\
         | instantiation per call (pooling allocator), median / p99 of {} | {:.1} µs / {:.1} µs | median < 20 µs |\n\
         | linear memory per instance (peak during the deliveries) | {} KiB | — |\n\
         | connections opened for the component's {} requests | {} | < 1 per 100 requests |\n\
         | wasm instructions (fuel) per delivery | {} | — |\n",
        r.component_bytes,
        r.component_bytes as f64 / 1024.0,
        r.compile.n,
        ms(r.compile.median_us),
        r.cached_load.n,
        ms(r.cached_load.median_us),
        ms(r.cached_load.p99_us),
        r.component_delivery.n,
        r.component_delivery.median_us,
        r.component_delivery.p99_us,
        r.native_delivery.median_us,
        r.native_delivery.p99_us,
        r.delivery_ratio,
        r.instantiation.n,
        r.instantiation.median_us,
        r.instantiation.p99_us,
        r.peak_memory / 1024,
        r.requests,
        r.connections_opened,
        r.fuel_per_delivery,
    )
}

/// Replaces this benchmark's section of `BENCHMARKS.md` (between its markers), keeping the rest of the file.
pub fn write_section(path: &std::path::Path, section: &str) -> Result<()> {
    const START: &str = "<!-- bench:component:start -->";
    const END: &str = "<!-- bench:component:end -->";
    let existing = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let block = format!("{START}\n{section}{END}");
    let updated = match (existing.find(START), existing.find(END)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{block}{}", &existing[..a], &existing[b + END.len()..])
        }
        _ => format!("{}\n{block}\n", existing.trim_end()),
    };
    std::fs::write(path, updated)?;
    Ok(())
}

/// The connector's settings and secrets in the LMS database, as the host's imports serve them to the component.
struct DbSettings {
    db: lms::db::Db,
    platform: String,
}

impl DbSettings {
    const CONNECTOR: &str = "slack";

    fn forget_dms(&self) -> Result<()> {
        self.db.conn().execute(
            "DELETE FROM connector_settings WHERE platform_id = ?1 AND key LIKE 'dm:%'",
            [&self.platform],
        )?;
        Ok(())
    }
}

impl Settings for DbSettings {
    fn get(&self, key: &str) -> Option<String> {
        self.db
            .setting(&self.platform, Self::CONNECTOR, key)
            .ok()
            .flatten()
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        self.db
            .set_setting(&self.platform, Self::CONNECTOR, key, value)
            .map_err(|e| e.to_string())
    }
    fn remove(&mut self, key: &str) {
        let _ = self
            .db
            .write_settings(&self.platform, Self::CONNECTOR, &[(key, None)]);
    }
    fn get_secret(&self, key: &str) -> Option<String> {
        self.db
            .secret(&self.platform, Self::CONNECTOR, key)
            .ok()
            .flatten()
    }
    fn set_secret(&mut self, key: &str, value: &str) -> Result<(), String> {
        self.db
            .set_secret(&self.platform, Self::CONNECTOR, key, value)
            .map_err(|e| e.to_string())
    }
    fn remove_secret(&mut self, key: &str) {
        let _ = self.db.remove_secret(&self.platform, Self::CONNECTOR, key);
    }
}

struct NoLog;

impl Log for NoLog {
    fn write(&mut self, _: Level, _: &str) {}
}

/// A native HTTP/1.1 client on one keep-alive connection to the simulation (what `https://slack.com` routes to).
struct KeepAlive {
    addr: String,
    conn: Option<BufReader<TcpStream>>,
}

impl KeepAlive {
    fn new(addr: String) -> Self {
        KeepAlive { addr, conn: None }
    }

    fn exchange(&mut self, request: &HttpRequest) -> std::io::Result<HttpResponse> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(&self.addr)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(20)))?;
            self.conn = Some(BufReader::new(stream));
        }
        let conn = self.conn.as_mut().expect("connected above");
        let path = request
            .url
            .strip_prefix("https://slack.com")
            .unwrap_or(&request.url);
        let mut head = format!(
            "{} {path} HTTP/1.1\r\nhost: slack.com\r\ncontent-length: {}\r\n",
            request.method,
            request.body.len()
        );
        for (name, value) in &request.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let stream = conn.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(&request.body)?;
        let mut status_line = String::new();
        conn.read_line(&mut status_line)?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            conn.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let body = if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok())
        {
            let mut body = vec![0; len];
            conn.read_exact(&mut body)?;
            body
        } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            let mut body = Vec::new();
            loop {
                let mut size = String::new();
                conn.read_line(&mut size)?;
                let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                conn.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
            body
        } else {
            Vec::new()
        };
        if header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            self.conn = None;
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

impl Transport for KeepAlive {
    fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.exchange(&request).or_else(|_| {
            // A pooled connection the server closed: one fresh attempt.
            self.conn = None;
            self.exchange(&request)
                .map_err(|e| TransportError::Connection(e.to_string()))
        })
    }
}
