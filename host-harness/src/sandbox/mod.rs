//! The sandbox that runs a connector component: one engine, the component pre-instantiated once, and a fresh store
//! per call with its own limits. The component gets the LMS's `settings`, `users` and `log` for the one platform it
//! is called for, and outbound HTTP through [`outbound::OutboundPolicy`]; nothing else (no files, no sockets, no
//! environment).
//!
//! Loading is checked: the component's real imports (read from the component, [`surface::Surface`]) must all be
//! allowed by the operator's grants ([`grants::Grants`]) and declared by its manifest ([`manifest::Manifest`]) when
//! it has one, or it is refused with the import named and the grant line that would allow it; only those imports
//! are linked ([`link`]). Every call runs under the limits in force, its stderr is captured into the error of a
//! failed call, and repeated failures disable the connector on that platform with an admin alert ([`health`]).

mod capture;
pub mod grants;
pub mod health;
pub mod host_api;
pub mod link;
pub mod manifest;
pub mod outbound;
pub mod surface;

use crate::db::Db;
use anyhow::{Context, Result, anyhow, bail};
use grants::Grants;
use manifest::Manifest;
use outbound::{OutboundConfig, OutboundPolicy};
use std::sync::Arc;
use std::time::Duration;
use surface::Surface;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "lms-connector",
    imports: { default: trappable },
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

pub use exports::lms::connector::connector as wit_connector;
pub use lms::connector::types as wit;
/// The wasmtime engine type, for callers that keep the one [`Sandbox::engine`] returns.
pub use wasmtime::Engine;

/// Limits applied to every call of a component.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Linear memory per instance, bytes.
    pub memory_bytes: usize,
    /// Table elements per table.
    pub table_elements: usize,
    /// Instances per store.
    pub instances: usize,
    /// CPU time in epoch ticks (one tick = `epoch_tick`) while wasm runs.
    pub cpu_ticks: u64,
    /// Wall-clock time for the whole call, waiting on the network included.
    pub call_timeout: Duration,
    /// Log lines a call may write before the rest are dropped.
    pub log_lines: usize,
    /// Bytes of what the component writes to stderr kept for the error of a failed call.
    pub stderr_bytes: usize,
    /// Consecutive failed calls on one platform after which the connector is disabled there.
    pub failures_before_disable: u32,
}

impl Limits {
    /// The CPU budget as a duration (`cpu_ticks` × [`EPOCH_TICK`]).
    pub fn cpu_time(&self) -> Duration {
        EPOCH_TICK * self.cpu_ticks as u32
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            table_elements: 20_000,
            instances: 10,
            cpu_ticks: 500,
            call_timeout: Duration::from_secs(120),
            log_lines: 1_000,
            stderr_bytes: 8 * 1024,
            failures_before_disable: 3,
        }
    }
}

/// Fuel (about one per wasm instruction) per tick of CPU budget: roughly what 10 ms of wasm execute.
pub const FUEL_PER_TICK: u64 = 20_000_000;

/// How often the engine's epoch advances.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What a store holds: WASI (granting nothing), wasi:http with the outbound policy, and the platform's scope.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: OutboundPolicy,
    limits: StoreLimits,
    /// The platform and connector this store serves; every import is scoped to it.
    pub scope: host_api::Scope,
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.hooks,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

/// Keeps the first and last bytes of a long message (a trap's wasm backtrace can run to thousands of frames).
fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut head = max / 2;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - max / 2;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[… {} bytes …]\n{}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}

/// Compiles a component, reusing an earlier compilation of the same bytes on the same engine.
fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component> {
    use sha2::Digest;
    type Cache = std::sync::Mutex<Vec<(Engine, [u8; 32], Component)>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let hash: [u8; 32] = sha2::Sha256::digest(bytes).into();
    let cache = CACHE.get_or_init(Default::default);
    if let Some((_, _, c)) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(e, h, _)| Engine::same(e, engine) && *h == hash)
    {
        return Ok(c.clone());
    }
    let component = Component::new(engine, bytes)
        .map_err(anyhow::Error::from)
        .context("compiling the component")?;
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= 16 {
        cache.remove(0);
    }
    cache.push((engine.clone(), hash, component.clone()));
    Ok(component)
}

/// Everything the host enforces on one connector: the operator's grants, intersected with the connector's manifest
/// when it has one.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The connector's id (its settings and secrets are stored under it).
    pub connector_id: String,
    /// The operator's grants (their import rules decide what may be loaded and linked).
    pub grants: Grants,
    /// The connector's manifest, if it ships one: imports it does not declare are refused too, and only the
    /// secrets it declares are readable.
    pub manifest: Option<Manifest>,
    /// The outbound policy in force: the granted origins (within the declared ones) and local routes.
    pub outbound: OutboundConfig,
    /// The limits in force.
    pub limits: Limits,
}

impl Policy {
    /// The policy of `connector_id` under `grants` and its `manifest`: outbound origins are those both grant and
    /// declare; limits are the operator's.
    pub fn new(connector_id: &str, grants: Grants, manifest: Option<Manifest>) -> Result<Policy> {
        if grants.connector != connector_id {
            bail!(
                "the grants ({}) are for the connector `{}`, not `{connector_id}`",
                grants.source,
                grants.connector
            );
        }
        if let Some(m) = &manifest
            && m.id != connector_id
        {
            bail!(
                "the manifest ({}) is for the connector `{}`, not `{connector_id}`",
                m.source,
                m.id
            );
        }
        let mut outbound = grants.outbound_config();
        if let Some(m) = &manifest {
            outbound.grants = outbound
                .grants
                .iter()
                .flat_map(|g| m.outbound.iter().filter_map(|d| g.intersect(d)))
                .collect();
        }
        Ok(Policy {
            connector_id: connector_id.to_string(),
            limits: grants.limits.clone(),
            grants,
            manifest,
            outbound,
        })
    }

    /// Why the component cannot be loaded under this policy: every import the grants do not allow (with the grant
    /// line that would), that the manifest does not declare, or that the host cannot provide. Empty when it can.
    pub fn check(&self, surface: &Surface) -> Vec<String> {
        let mut problems: Vec<String> = self
            .grants
            .check_imports(surface.imports.iter().map(|i| i.name.as_str()))
            .iter()
            .map(|d| format!("{d} [grants: {}]", self.grants.source))
            .collect();
        for import in &surface.imports {
            if self.grants.import_rule(&import.name).is_none() {
                continue;
            }
            if let Some(m) = &self.manifest
                && !m.declares_import(&import.name)
            {
                problems.push(format!(
                    "the component imports `{}`, which its manifest ({}) does not declare",
                    import.name, m.source
                ));
            }
            if !link::PROVIDED.contains(&import.unversioned()) {
                problems.push(format!(
                    "the component imports `{}`, which this host does not provide",
                    import.name
                ));
            }
        }
        problems
    }
}

/// A loaded connector component, ready to be called for any platform.
pub struct Sandbox {
    engine: Engine,
    pre: LmsConnectorPre<StoreState>,
    outbound: Arc<OutboundConfig>,
    db: Db,
    connector_id: String,
    limits: Limits,
    secrets: Option<Arc<Vec<String>>>,
    health: health::Health,
}

impl Sandbox {
    /// The engine every sandbox shares (one per process): async, epoch interruption, a bounded wasm stack, with a
    /// ticker thread advancing the epoch every [`EPOCH_TICK`].
    pub fn engine() -> Result<Engine> {
        static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
        if let Some(engine) = ENGINE.get() {
            return Ok(engine.clone());
        }
        let mut config = Config::new();
        config.epoch_interruption(true);
        // The CPU budget is fuel (deterministic); epochs make busy guests yield so the wall-clock limit can fire.
        config.consume_fuel(true);
        config.wasm_component_model(true);
        // A guest's own stack is bounded; running out traps (`StackOverflow`) instead of harming the host.
        config.max_wasm_stack(1 << 20);
        let engine = Engine::new(&config).map_err(anyhow::Error::from)?;
        let engine = ENGINE.get_or_init(|| engine).clone();
        static TICKER: std::sync::Once = std::sync::Once::new();
        let weak = engine.weak();
        let mut spawned = Ok(());
        TICKER.call_once(|| {
            spawned = std::thread::Builder::new()
                .name("epoch-ticker".into())
                .spawn(move || {
                    while let Some(engine) = weak.upgrade() {
                        engine.increment_epoch();
                        drop(engine);
                        std::thread::sleep(EPOCH_TICK);
                    }
                })
                .map(drop);
        });
        spawned?;
        Ok(engine)
    }

    /// Compiles `component` (the bytes of a `.wasm` component) and links it, with `outbound` and `limits`, and the
    /// imports the embedded default grants allow (no filesystem, no sockets). See [`Sandbox::with_policy`].
    pub fn new(
        engine: &Engine,
        component: &[u8],
        connector_id: &str,
        db: Db,
        outbound: OutboundConfig,
        limits: Limits,
    ) -> Result<Sandbox> {
        let mut grants = Grants::embedded();
        grants.connector = connector_id.to_string();
        let policy = Policy {
            connector_id: connector_id.to_string(),
            grants,
            manifest: None,
            outbound,
            limits,
        };
        Sandbox::with_policy(engine, component, db, policy)
    }

    /// Compiles `component`, refuses it when its real imports exceed the policy (naming each import and the grant
    /// line that would allow it), and links only the imports it has.
    pub fn with_policy(
        engine: &Engine,
        component: &[u8],
        db: Db,
        policy: Policy,
    ) -> Result<Sandbox> {
        let component = compile(engine, component)?;
        let surface = Surface::of(engine, &component);
        let problems = policy.check(&surface);
        if !problems.is_empty() {
            for p in &problems {
                tracing::warn!(target: "sandbox", connector = %policy.connector_id, "refused: {p}");
            }
            bail!(
                "refusing to load the connector `{}`: {}",
                policy.connector_id,
                problems.join("; ")
            );
        }
        let mut linker: Linker<StoreState> = Linker::new(engine);
        let mut linked = std::collections::BTreeSet::new();
        for import in &surface.imports {
            if linked.insert(import.unversioned().to_string()) {
                link::link(&mut linker, &import.name).map_err(anyhow::Error::from)?;
            }
        }
        let pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context("linking the component")?;
        let pre = LmsConnectorPre::new(pre)
            .map_err(anyhow::Error::from)
            .context("the component does not export the connector interface")?;
        let secrets = policy
            .manifest
            .as_ref()
            .map(|m| Arc::new(m.secrets.clone()));
        Ok(Sandbox {
            engine: engine.clone(),
            pre,
            outbound: Arc::new(policy.outbound),
            db,
            connector_id: policy.connector_id,
            health: health::Health::new(policy.limits.failures_before_disable),
            limits: policy.limits,
            secrets,
        })
    }

    /// The connector's id (its settings and secrets are stored under it).
    pub fn connector_id(&self) -> &str {
        &self.connector_id
    }

    /// The outbound configuration (grants and local routes).
    pub fn outbound(&self) -> &OutboundConfig {
        &self.outbound
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the connector was disabled on `platform_id` after repeated failures.
    pub fn is_disabled(&self, platform_id: &str) -> bool {
        self.health.get(platform_id).disabled.is_some()
    }

    /// The connector's health on `platform_id`.
    pub fn health(&self, platform_id: &str) -> health::PlatformHealth {
        self.health.get(platform_id)
    }

    /// Re-enables the connector on `platform_id` (an admin's decision after a disabling alert).
    pub fn enable(&self, platform_id: &str) {
        self.health.reset(platform_id);
        tracing::info!(target: "sandbox", platform = platform_id, connector = %self.connector_id, "re-enabled");
    }

    /// A fresh store and instance for one call on behalf of `platform_id`.
    async fn instantiate(
        &self,
        platform_id: &str,
        stderr: capture::Capture,
    ) -> Result<(Store<StoreState>, LmsConnector)> {
        let caller = format!("{platform_id}/{}", self.connector_id);
        let state = StoreState {
            // No preopened directory, no environment, no arguments, no network addresses allowed, stdin closed;
            // stderr goes to a bounded capture.
            wasi: WasiCtx::builder().stderr(stderr).build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: OutboundPolicy::new(self.outbound.clone(), caller),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.memory_bytes)
                .table_elements(self.limits.table_elements)
                .instances(self.limits.instances)
                .trap_on_grow_failure(true)
                .build(),
            scope: host_api::Scope::new(
                self.db.clone(),
                platform_id,
                &self.connector_id,
                self.limits.log_lines,
            )
            .with_secrets(self.secrets.clone()),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // The CPU budget, as fuel; out of fuel traps (`OutOfFuel`).
        store
            .set_fuel(self.limits.cpu_ticks.saturating_mul(FUEL_PER_TICK))
            .map_err(anyhow::Error::from)?;
        // Every epoch tick, running wasm yields to the executor, so that the wall-clock limit around the call can
        // fire even during a busy loop.
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        let instance = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(anyhow::Error::from)?;
        Ok((store, instance))
    }

    /// What a trap means, in words an admin understands.
    fn explain(&self, e: &wasmtime::Error) -> Option<String> {
        let trap = e.downcast_ref::<Trap>()?;
        Some(match trap {
            Trap::Interrupt => format!(
                "it used more than its CPU time ({:?}) and was stopped",
                self.limits.cpu_time()
            ),
            Trap::StackOverflow => "it overflowed its stack (unbounded recursion?)".into(),
            // A Rust guest keeps its stack in its own linear memory, below its data: unbounded recursion runs it
            // off the bottom of memory.
            Trap::MemoryOutOfBounds => {
                "it accessed memory out of bounds (its stack overflowed: unbounded recursion?)"
                    .into()
            }
            Trap::UnreachableCodeReached => {
                "it aborted (a panic, or a memory allocation refused by the memory limit)".into()
            }
            Trap::OutOfFuel => format!(
                "it used more than its CPU budget (about {:?} of computation) and was stopped",
                self.limits.cpu_time()
            ),
            other => format!("it trapped: {other}"),
        })
    }

    /// Runs one call in a fresh store under the wall-clock limit; the store is dropped after it, whatever happened.
    /// A failed call's error carries what the component wrote to stderr; repeated failures disable the connector.
    async fn run<R>(
        &self,
        platform_id: &str,
        what: &str,
        call: impl AsyncFnOnce(&mut Store<StoreState>, &LmsConnector) -> wasmtime::Result<R>,
    ) -> Result<R> {
        if let Some(reason) = self.health.get(platform_id).disabled {
            bail!(
                "the connector `{}` is disabled on platform {platform_id} ({reason}); an admin must re-enable it",
                self.connector_id
            );
        }
        let stderr = capture::Capture::new(self.limits.stderr_bytes);
        let work = async {
            let (mut store, instance) = self.instantiate(platform_id, stderr.clone()).await?;
            let result = call(&mut store, &instance).await;
            let dropped = store.data().scope.dropped_log_lines();
            if dropped > 0 {
                let note = format!(
                    "{dropped} log lines dropped: over the quota of {} per call",
                    self.limits.log_lines
                );
                tracing::warn!(target: "sandbox", platform = platform_id, connector = %self.connector_id, "{note}");
                let _ = self
                    .db
                    .connector_log(platform_id, &self.connector_id, "warn", &note);
            }
            Ok::<_, anyhow::Error>(result.map_err(|e| match self.explain(&e) {
                Some(why) => anyhow::Error::from(e).context(why),
                None => anyhow::Error::from(e),
            }))
        };
        let outcome = match tokio::time::timeout(self.limits.call_timeout, work).await {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(e))) | Ok(Err(e)) => Err(shorten(
                &format!("the connector failed during {what}: {e:#}"),
                4_000,
            )),
            Err(_) => Err(format!(
                "the connector did not finish {what} within {:?}",
                self.limits.call_timeout
            )),
        };
        match outcome {
            Ok(value) => {
                self.health.success(platform_id);
                Ok(value)
            }
            Err(mut message) => {
                let written = host_api::redact(&stderr.text(), &self.known_secrets(platform_id));
                if !written.is_empty() {
                    message.push_str(&format!("\n--- the component's stderr ---\n{written}"));
                }
                tracing::warn!(target: "sandbox", platform = platform_id, connector = %self.connector_id, "{message}");
                if let Some(alert) = self.health.failure(platform_id, what) {
                    tracing::error!(target: "sandbox", platform = platform_id, connector = %self.connector_id, "{alert}");
                    if let Err(e) = self.db.conn().execute(
                        "INSERT INTO alerts (platform_id, at, message) VALUES (?1, ?2, ?3)",
                        rusqlite::params![platform_id, crate::db::now(), alert],
                    ) {
                        tracing::error!(target: "sandbox", "recording the alert failed: {e}");
                    }
                }
                Err(anyhow!(message))
            }
        }
    }

    /// The secret values of this connector on `platform_id`, to keep them out of errors and logs.
    fn known_secrets(&self, platform_id: &str) -> Vec<String> {
        let keys: Vec<String> = match &self.secrets {
            Some(keys) => keys.to_vec(),
            None => host_api::USUAL_SECRETS
                .iter()
                .map(|k| k.to_string())
                .collect(),
        };
        keys.iter()
            .filter_map(|k| {
                self.db
                    .secret(platform_id, &self.connector_id, k)
                    .ok()
                    .flatten()
            })
            .collect()
    }

    /// `describe`.
    pub async fn describe(&self) -> Result<wit::ConnectorInfo> {
        self.run("-", "describe", async |s, i| {
            i.lms_connector_connector().call_describe(s).await
        })
        .await
    }

    /// `start-activation`.
    pub async fn start_activation(
        &self,
        platform_id: &str,
        redirect_uri: &str,
        state: &str,
    ) -> Result<Result<String, wit::ConnectorError>> {
        let request = wit::ActivationRequest {
            redirect_uri: redirect_uri.into(),
            state: state.into(),
        };
        self.run(platform_id, "start-activation", async |s, i| {
            i.lms_connector_connector()
                .call_start_activation(s, &request)
                .await
        })
        .await
    }

    /// `complete-activation`.
    pub async fn complete_activation(
        &self,
        platform_id: &str,
        query: &[(String, String)],
    ) -> Result<Result<wit::ActivationResult, wit::ConnectorError>> {
        self.run(platform_id, "complete-activation", async |s, i| {
            i.lms_connector_connector()
                .call_complete_activation(s, query)
                .await
        })
        .await
    }

    /// `deactivate`.
    pub async fn deactivate(&self, platform_id: &str) -> Result<Result<(), wit::ConnectorError>> {
        self.run(platform_id, "deactivate", async |s, i| {
            i.lms_connector_connector().call_deactivate(s).await
        })
        .await
    }

    /// `deliver`.
    pub async fn deliver(
        &self,
        platform_id: &str,
        notification: &wit::Notification,
        recipients: &[wit::Recipient],
    ) -> Result<Vec<wit::DeliveryOutcome>> {
        self.run(platform_id, "deliver", async |s, i| {
            i.lms_connector_connector()
                .call_deliver(s, notification, recipients)
                .await
        })
        .await
    }

    /// `status`.
    pub async fn status(&self, platform_id: &str) -> Result<wit::IntegrationState> {
        self.run(platform_id, "status", async |s, i| {
            i.lms_connector_connector().call_status(s).await
        })
        .await
    }

    /// `handle-inbound`.
    pub async fn handle_inbound(
        &self,
        platform_id: &str,
        request: &wit::InboundRequest,
    ) -> Result<wit::InboundResponse> {
        self.run(platform_id, "handle-inbound", async |s, i| {
            i.lms_connector_connector()
                .call_handle_inbound(s, request)
                .await
        })
        .await
    }
}
