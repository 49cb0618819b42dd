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

use crate::EPOCH_TICK;
use crate::bindings::{Contract, v0_1_0, v0_2_0, v0_3_0};
use crate::cache::compile;
use crate::capture;
use crate::health;
use crate::inbound::SignedRequests;
use crate::limits::{Exceeded, FUEL_PER_TICK, KEPT_RESIDENT, Limits, THROTTLE_AFTER, Tracked};
use crate::link;
use crate::outbound::{OutboundConfig, OutboundPolicy};
use crate::policy::Policy;
use crate::progress::{CallProgress, DeliveryProgress};
use crate::rates::{self, Buckets};
use crate::redact::redact;
use crate::scheduling;
use crate::state::{KnownSecrets, Scope, SecretRules, StoreState};
use crate::store::{ConnectorStore, Disabled, LogLevel, StoreFailed};
use crate::surface::Surface;
use crate::untrusted::{Cleaner, Untrusted};
use crate::wit;
use anyhow::{Context, Result, anyhow, bail};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Linker, ResourceTable, ResourceTableError};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimitsBuilder,
    Trap, UpdateDeadline,
};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::{FieldMapError, WasiHttpCtx};

/// Instances the pooling allocator holds at once, unless `LMS_HARNESS_POOL_INSTANCES` says otherwise.
pub const DEFAULT_POOL_INSTANCES: u32 = 128;
/// The environment variable that sizes the pool.
pub const POOL_ENV: &str = "LMS_HARNESS_POOL_INSTANCES";
/// The largest linear memory a pooled instance may grow to; each call's own (smaller) limit comes from the grants.
pub const MAX_POOLED_MEMORY: usize = 256 << 20;

/// The pooling allocator for `instances` concurrent component instances: slots are reserved once and reused, so a
/// fresh instance per call costs microseconds.
fn pooling(instances: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(8))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(8))
        .total_stacks(instances)
        .max_core_instances_per_component(16)
        .max_memories_per_component(2)
        .max_tables_per_component(8)
        .max_memory_size(MAX_POOLED_MEMORY)
        .linear_memory_keep_resident(KEPT_RESIDENT)
        // Not `pagemap_scan`: it would reset only the pages an instance wrote (a call's store drop went from 6.6% to
        // 1.8% of the call thread's samples), but in wasmtime 48 a written page the kernel swapped out is neither
        // reset nor decommitted, so the next instance in the slot (another platform's call) could read it
        // (bytecodealliance/wasmtime#14357, open).
        .table_keep_resident(64 << 10);
    pool
}

/// What a call returned, with the connector's secrets on the platform if the call read them.
struct Returned<R> {
    value: R,
    secrets: Option<KnownSecrets>,
}

/// Whose fault a failed call is: only the connector's failures count towards disabling it.
enum Fault {
    /// The connector trapped, went past a limit or did not finish in time.
    Connector,
    /// The LMS's storage failed under one of its host functions ([`StoreFailed`]).
    Host,
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

/// A loaded connector component, ready to be called for any platform. Cloning it is cheap (the loaded component is
/// shared).
///
/// Every call runs on the host's own call threads ([`scheduling`]), not on the caller's runtime: the caller's runtime
/// (the LMS's pages, workers and servers) never runs connector code, and a heavy call runs at the lowest CPU priority
/// while other calls run.
#[derive(Clone)]
pub struct Sandbox {
    loaded: Arc<Loaded>,
}

/// What a loaded connector holds; a [`Sandbox`] shares it with the calls it runs on the call threads.
struct Loaded {
    engine: Engine,
    pre: Pre,
    /// Whether the component imports `progress` (contract 0.2.0): it reports each recipient as it goes.
    reports_progress: bool,
    outbound: Arc<OutboundConfig>,
    store: Arc<dyn ConnectorStore>,
    connector_id: String,
    limits: Limits,
    secrets: Arc<SecretRules>,
    /// How fast it may write settings and secrets on each platform.
    settings_writes: Arc<Buckets>,
    /// How fast its calls may grow their linear memory on each platform.
    memory_growth: Arc<Buckets>,
    inbound: Option<SignedRequests>,
    health: health::Health,
    /// The largest linear memory an instance of this connector grew to, in bytes.
    peak_memory: std::sync::atomic::AtomicUsize,
    /// Fuel (about one per wasm instruction) the last call used.
    last_fuel: std::sync::atomic::AtomicU64,
    /// Nanoseconds the last call spent inside host functions.
    last_host_time: std::sync::atomic::AtomicU64,
}

/// The component, pre-instantiated, in the version of the contract it implements.
enum Pre {
    V0_1_0(v0_1_0::LmsConnectorPre<StoreState>),
    V0_2_0(v0_2_0::LmsConnectorPre<StoreState>),
    V0_3_0(v0_3_0::LmsConnectorPre<StoreState>),
}

/// One instance of the component, in the version of the contract it implements.
enum Instance {
    V0_1_0(v0_1_0::LmsConnector),
    V0_2_0(v0_2_0::LmsConnector),
    V0_3_0(v0_3_0::LmsConnector),
}

/// Calls the same export on an instance of any version: `$c` is its `connector` interface. The functions other than
/// `deliver` have the same types in every version.
macro_rules! on_connector {
    ($instance:expr, |$c:ident| $call:expr) => {
        match $instance {
            Instance::V0_1_0(i) => {
                let $c = i.lms_connector0_1_0_connector();
                $call
            }
            Instance::V0_2_0(i) => {
                let $c = i.lms_connector0_2_0_connector();
                $call
            }
            Instance::V0_3_0(i) => {
                let $c = i.lms_connector0_3_0_connector();
                $call
            }
        }
    };
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
        let instances = std::env::var(POOL_ENV)
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_POOL_INSTANCES);
        let mut pooled = config.clone();
        pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(instances)));
        let engine = match Engine::new(&pooled) {
            Ok(engine) => engine,
            Err(e) => {
                tracing::warn!(
                    "the pooling allocator is not available here ({e}); instances are allocated on demand"
                );
                Engine::new(&config).map_err(anyhow::Error::from)?
            }
        };
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

    /// Compiles `component`, refuses it when its real imports exceed the policy (naming each import and the grant
    /// line that would allow it), and links only the imports it has.
    pub fn new(
        engine: &Engine,
        component: &[u8],
        store: Arc<dyn ConnectorStore>,
        policy: Policy,
    ) -> Result<Sandbox> {
        let component = compile(engine, component, policy.cache_dir.as_deref())?;
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
            if linked.insert(link::key(&import.name).to_string()) {
                link::link(&mut linker, &import.name).map_err(anyhow::Error::from)?;
            }
        }
        let contract = surface.contract().with_context(|| {
            format!(
                "the component exports no connector interface the host loads ({})",
                Contract::ALL.map(Contract::export).join(", ")
            )
        })?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context("linking the component")?;
        let pre = match contract {
            Contract::V0_1_0 => v0_1_0::LmsConnectorPre::new(pre).map(Pre::V0_1_0),
            Contract::V0_2_0 => v0_2_0::LmsConnectorPre::new(pre).map(Pre::V0_2_0),
            Contract::V0_3_0 => v0_3_0::LmsConnectorPre::new(pre).map(Pre::V0_3_0),
        }
        .map_err(anyhow::Error::from)
        .with_context(|| {
            format!("the component does not export the connector interface of {contract}")
        })?;
        let reports_progress = surface
            .imports
            .iter()
            .any(|i| i.unversioned() == "lms:connector/progress");
        let secrets = Arc::new(SecretRules {
            declared: policy.manifest.as_ref().map(|m| m.secrets.clone()),
            prefixes: policy
                .manifest
                .as_ref()
                .map(|m| m.redact_prefixes.clone())
                .unwrap_or_default(),
        });
        Ok(Sandbox {
            loaded: Arc::new(Loaded {
                engine: engine.clone(),
                pre,
                reports_progress,
                outbound: Arc::new(policy.outbound),
                store,
                inbound: policy.manifest.as_ref().and_then(|m| m.inbound.clone()),
                connector_id: policy.connector_id,
                health: health::Health::new(policy.limits.failures_before_disable),
                limits: policy.limits,
                secrets,
                settings_writes: Arc::new(Buckets::new(rates::SETTINGS_WRITES)),
                memory_growth: Arc::new(Buckets::new(rates::MEMORY_GROWTH)),
                peak_memory: Default::default(),
                last_fuel: Default::default(),
                last_host_time: Default::default(),
            }),
        })
    }

    /// The largest linear memory an instance grew to so far, in bytes.
    pub fn peak_memory(&self) -> usize {
        self.loaded
            .peak_memory
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Fuel (about one per wasm instruction) the last call used.
    pub fn last_fuel(&self) -> u64 {
        self.loaded
            .last_fuel
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Time the last call spent inside host functions (`settings`, `users`, `log`).
    pub fn last_host_time(&self) -> Duration {
        Duration::from_nanos(
            self.loaded
                .last_host_time
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Times `n` instantiations (a fresh store from the pre-instantiated component, as every call makes), for the
    /// benchmark.
    pub async fn time_instantiation(&self, n: usize) -> Result<Vec<Duration>> {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let start = std::time::Instant::now();
            let (store, instance) = self
                .loaded
                .instantiate("-", capture::Capture::new(1024))
                .await?;
            times.push(start.elapsed());
            drop((instance, store));
        }
        Ok(times)
    }

    /// The connector's id (its settings and secrets are stored under it).
    pub fn connector_id(&self) -> &str {
        &self.loaded.connector_id
    }

    /// How the connector's service signs the requests it sends to the platform (from its manifest); none: the
    /// platform accepts no inbound request for it.
    pub fn signed_requests(&self) -> Option<&SignedRequests> {
        self.loaded.inbound.as_ref()
    }

    /// The outbound configuration (grants and local routes).
    pub fn outbound(&self) -> &OutboundConfig {
        &self.loaded.outbound
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.loaded.limits
    }

    /// Whether the connector is disabled on `platform_id` after repeated failures, and why (the store's durable
    /// state, which any process sharing the store may have changed).
    pub fn disabled(&self, platform_id: &str) -> Result<Option<Disabled>> {
        self.loaded
            .store
            .disabled(platform_id, &self.loaded.connector_id)
    }

    /// The connector's failed calls on `platform_id` in this process.
    pub fn health(&self, platform_id: &str) -> health::PlatformHealth {
        self.loaded.health.get(platform_id)
    }

    /// Re-enables the connector on `platform_id` (an admin's decision after a disabling alert); false when it was
    /// not disabled.
    pub fn enable(&self, platform_id: &str) -> Result<bool> {
        self.loaded.health.reset(platform_id);
        let enabled = self
            .loaded
            .store
            .enable(platform_id, &self.loaded.connector_id)?;
        tracing::info!(target: "sandbox", platform = platform_id, connector = %self.loaded.connector_id, enabled, "re-enabled");
        Ok(enabled)
    }
}

impl Loaded {
    /// A fresh store and instance for one call on behalf of `platform_id`.
    async fn instantiate(
        &self,
        platform_id: &str,
        stderr: capture::Capture,
    ) -> Result<(Store<StoreState>, Instance)> {
        let started = Instant::now();
        let caller = format!("{platform_id}/{}", self.connector_id);
        // What the call can make the host hold in resources: at most `resources` entries, and each header map it
        // builds at most `header_map_bytes` (see `Limits::header_bytes_bound`).
        let mut table = ResourceTable::new();
        table.set_max_capacity(self.limits.resources);
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(self.limits.header_map_bytes);
        let state = StoreState {
            // No preopened directory, no environment, no arguments, no network addresses allowed, stdin closed;
            // stderr goes to a bounded capture.
            wasi: WasiCtx::builder().stderr(stderr).build(),
            table,
            http,
            hooks: OutboundPolicy::new(self.outbound.clone(), caller),
            limits: Tracked::new(
                StoreLimitsBuilder::new()
                    .memory_size(self.limits.memory_bytes)
                    .table_elements(self.limits.table_elements)
                    .instances(self.limits.instances)
                    .trap_on_grow_failure(true)
                    .build(),
                self.memory_growth.clone(),
                platform_id,
            ),
            progress: None,
            scope: Scope::new(
                self.store.clone(),
                platform_id,
                &self.connector_id,
                &self.limits,
                self.secrets.clone(),
                self.settings_writes.clone(),
                started,
            ),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // The CPU budget, as fuel; out of fuel traps (`OutOfFuel`).
        store
            .set_fuel(self.limits.cpu_ticks.saturating_mul(FUEL_PER_TICK))
            .map_err(anyhow::Error::from)?;
        // Every epoch tick, running wasm yields to the executor, so that the wall-clock limit around the call can
        // fire even during a busy loop; past `THROTTLE_AFTER` of CPU it also pauses for a tick after each tick it
        // ran while other calls run, leaving its core to them (alone, it would leave the core to nobody).
        store.set_epoch_deadline(1);
        let budget = self.limits.cpu_ticks.saturating_mul(FUEL_PER_TICK);
        let full_speed =
            (THROTTLE_AFTER.as_millis() / EPOCH_TICK.as_millis().max(1)) as u64 * FUEL_PER_TICK;
        store.epoch_deadline_callback(move |store| {
            let used = budget.saturating_sub(store.get_fuel().unwrap_or(budget));
            Ok(if used > full_speed && scheduling::others_running() {
                UpdateDeadline::YieldCustom(1, Box::pin(tokio::time::sleep(EPOCH_TICK)))
            } else {
                UpdateDeadline::Yield(1)
            })
        });
        let instance = match &self.pre {
            Pre::V0_1_0(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(Instance::V0_1_0),
            Pre::V0_2_0(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(Instance::V0_2_0),
            Pre::V0_3_0(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(Instance::V0_3_0),
        }
        .map_err(anyhow::Error::from)?;
        Ok((store, instance))
    }

    /// What a trap means, in words an admin understands.
    fn explain(&self, e: &wasmtime::Error) -> Option<String> {
        if let Some(exceeded) = e.downcast_ref::<Exceeded>() {
            return Some(exceeded.to_string());
        }
        if let Some(ResourceTableError::Full) = e.downcast_ref::<ResourceTableError>() {
            return Some(format!(
                "it held more than {} host resources at once (HTTP header maps, requests, responses, bodies, \
                 streams; the `resources` limit) and was stopped",
                self.limits.resources
            ));
        }
        if let Some(FieldMapError::TotalSizeTooBig | FieldMapError::TooManyFields) =
            e.downcast_ref::<FieldMapError>()
        {
            return Some(format!(
                "it built an HTTP header map larger than {} bytes (the `header_map_bytes` limit) and was stopped",
                self.limits.header_map_bytes
            ));
        }
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
        call: impl AsyncFnOnce(&mut Store<StoreState>, &Instance) -> wasmtime::Result<R>,
    ) -> Result<Returned<R>> {
        if let Some(disabled) = self.store.disabled(platform_id, &self.connector_id)? {
            bail!(
                "the connector `{}` is disabled on platform {platform_id} ({}); an admin must re-enable it",
                self.connector_id,
                disabled.reason
            );
        }
        let stderr = capture::Capture::new(self.limits.stderr_bytes);
        let work = async {
            let (mut store, instance) = self.instantiate(platform_id, stderr.clone()).await?;
            let mut result = call(&mut store, &instance).await;
            // What the call did after its last request is handed over now, whatever the call came to.
            if let Err(e) = store.data_mut().hand_over()
                && result.is_ok()
            {
                result = Err(e);
            }
            self.peak_memory.fetch_max(
                store.data().limits.peak_memory,
                std::sync::atomic::Ordering::Relaxed,
            );
            let budget = self.limits.cpu_ticks.saturating_mul(FUEL_PER_TICK);
            let used = budget.saturating_sub(store.get_fuel().unwrap_or(budget));
            self.last_fuel
                .store(used, std::sync::atomic::Ordering::Relaxed);
            let scope = &store.data().scope;
            self.last_host_time.store(
                u64::try_from(scope.host_time().as_nanos()).unwrap_or(u64::MAX),
                std::sync::atomic::Ordering::Relaxed,
            );
            let dropped = scope.dropped_log_lines();
            if dropped > 0 {
                self.note(
                    platform_id,
                    LogLevel::Warn,
                    &format!(
                        "{dropped} log lines dropped: over the quota of {} per call",
                        self.limits.log_lines
                    ),
                );
            }
            let refused = scope.refused_writes;
            // The secrets the call read, if it did: what it returns is cleaned with them, not a second read.
            let secrets = store.data_mut().scope.known.take();
            let result = result.map(|value| (Returned { value, secrets }, refused));
            Ok::<_, anyhow::Error>(result.map_err(|e| {
                let fault = match e.downcast_ref::<StoreFailed>() {
                    Some(_) => Fault::Host,
                    None => Fault::Connector,
                };
                let e = match self.explain(&e) {
                    Some(why) => anyhow::Error::from(e).context(why),
                    None => anyhow::Error::from(e),
                };
                (e, fault)
            }))
        };
        let failed = |e: anyhow::Error| {
            shorten(&format!("the connector failed during {what}: {e:#}"), 4_000)
        };
        let outcome = match tokio::time::timeout(self.limits.call_timeout, work).await {
            Ok(Ok(Ok(done))) => Ok(done),
            Ok(Ok(Err((e, fault)))) => Err((failed(e), fault)),
            Ok(Err(e)) => Err((failed(e), Fault::Connector)),
            Err(_) => Err((
                format!(
                    "the connector did not finish {what} within {:?}",
                    self.limits.call_timeout
                ),
                Fault::Connector,
            )),
        };
        match outcome {
            Ok((value, 0)) => {
                self.health.success(platform_id);
                Ok(value)
            }
            Ok((value, refused)) => {
                // The connector got its errors and the call's result stands, but a connector that keeps writing
                // past its quota is failing: the call counts towards the health rule.
                self.note(
                    platform_id,
                    LogLevel::Error,
                    &format!(
                        "{what}: {refused} writes refused by the settings quota of {} bytes on this platform or its write rate",
                        self.limits.settings_bytes
                    ),
                );
                self.count_failure(platform_id, what);
                Ok(value)
            }
            Err((mut message, fault)) => {
                let written = stderr.text();
                if !written.is_empty() {
                    message.push_str(&format!("\n--- the component's stderr ---\n{written}"));
                }
                let message = redact(
                    &message,
                    &self.known_secrets(platform_id),
                    &self.secrets.prefixes,
                );
                self.note(platform_id, LogLevel::Error, &message);
                match fault {
                    Fault::Connector => self.count_failure(platform_id, what),
                    // The LMS's storage failing says nothing of the connector: disabling it would not help.
                    Fault::Host => {}
                }
                Err(anyhow!(message))
            }
        }
    }

    /// Writes the host's own note about a call to the connector's log on `platform_id` (and to the process log).
    fn note(&self, platform_id: &str, level: LogLevel, message: &str) {
        tracing::warn!(target: "sandbox", platform = platform_id, connector = %self.connector_id, "{message}");
        if let Err(e) = self
            .store
            .log(platform_id, &self.connector_id, level, message)
        {
            tracing::error!(target: "sandbox", "writing to the connector log failed: {e}");
        }
    }

    /// Counts a failed call (`what`) towards the health rule, raising the alert when it disables the connector.
    fn count_failure(&self, platform_id: &str, what: &str) {
        let Some(reason) = self.health.failure(platform_id, what) else {
            return;
        };
        // Another call or process may have disabled it first: one alert.
        match self.store.disable(platform_id, &self.connector_id, &reason) {
            Ok(false) => {}
            Ok(true) => {
                let alert = health::disabled_alert(&reason);
                tracing::error!(target: "sandbox", platform = platform_id, connector = %self.connector_id, "{alert}");
                if let Err(e) = self.store.alert(platform_id, &alert) {
                    tracing::error!(target: "sandbox", "recording the alert failed: {e}");
                }
            }
            Err(e) => {
                tracing::error!(target: "sandbox", platform = platform_id, "disabling the connector failed: {e:#}")
            }
        }
    }

    /// The secret values of this connector on `platform_id`, to keep them out of errors and logs (none when the
    /// store cannot say: the message is about to report a failure already).
    fn known_secrets(&self, platform_id: &str) -> Vec<String> {
        self.store
            .secrets(platform_id, &self.connector_id)
            .map(|pairs| pairs.into_iter().map(|(_, value)| value).collect())
            .unwrap_or_default()
    }

    /// Cuts and blanks the secrets out of what a call on `platform_id` returned ([`untrusted`]), with the secrets
    /// the call read, or else those the store has now.
    fn cleaned<T: Untrusted>(&self, platform_id: &str, returned: Returned<T>) -> Result<T> {
        let Returned { mut value, secrets } = returned;
        let secrets = match secrets {
            Some(known) => known,
            None => KnownSecrets::from(self.store.secrets(platform_id, &self.connector_id)?),
        };
        value.clean(&Cleaner {
            secrets: secrets.values(),
            prefixes: &self.secrets.prefixes,
        });
        Ok(value)
    }
}

impl Sandbox {
    /// Runs `call` for `platform_id` on the call runtimes ([`scheduling`]) and waits for it, from whichever runtime
    /// the caller is on.
    async fn on_call_runtime<R: Send + 'static>(
        &self,
        platform_id: &str,
        call: impl Future<Output = Result<R>> + Send + 'static,
    ) -> Result<R> {
        scheduling::run(platform_id, call).await
    }

    /// `describe`.
    pub async fn describe(&self) -> Result<wit::ConnectorInfo> {
        let loaded = self.loaded.clone();
        self.on_call_runtime("-", async move {
            loaded
                .run("-", "describe", async |s, i| {
                    on_connector!(i, |c| c.call_describe(s).await)
                })
                .await
                .map(|returned| returned.value)
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
        let (loaded, platform) = (self.loaded.clone(), platform_id.to_string());
        self.on_call_runtime(platform_id, async move {
            let value = loaded
                .run(&platform, "start-activation", async |s, i| {
                    on_connector!(i, |c| c.call_start_activation(s, &request).await)
                })
                .await?;
            loaded.cleaned(&platform, value)
        })
        .await
    }

    /// `complete-activation`.
    pub async fn complete_activation(
        &self,
        platform_id: &str,
        query: &[(String, String)],
    ) -> Result<Result<wit::ActivationResult, wit::ConnectorError>> {
        let (loaded, platform, query) =
            (self.loaded.clone(), platform_id.to_string(), query.to_vec());
        self.on_call_runtime(platform_id, async move {
            let value = loaded
                .run(&platform, "complete-activation", async |s, i| {
                    on_connector!(i, |c| c.call_complete_activation(s, &query).await)
                })
                .await?;
            loaded.cleaned(&platform, value)
        })
        .await
    }

    /// `deactivate`.
    pub async fn deactivate(&self, platform_id: &str) -> Result<Result<(), wit::ConnectorError>> {
        let (loaded, platform) = (self.loaded.clone(), platform_id.to_string());
        self.on_call_runtime(platform_id, async move {
            let value = loaded
                .run(&platform, "deactivate", async |s, i| {
                    on_connector!(i, |c| c.call_deactivate(s).await)
                })
                .await?;
            loaded.cleaned(&platform, value)
        })
        .await
    }

    /// `deliver`: the outcomes the connector did not report through `progress` during the call (all of them for a
    /// connector that reports nothing), cleaned. Each report it made went to `progress` as it came; where the list it
    /// returns disagrees with a report, the report stands.
    pub async fn deliver(
        &self,
        platform_id: &str,
        notification: &wit::Notification,
        recipients: &[wit::Recipient],
        progress: Arc<dyn DeliveryProgress>,
    ) -> Result<Vec<wit::DeliveryOutcome>> {
        let (loaded, platform, notification, recipients) = (
            self.loaded.clone(),
            platform_id.to_string(),
            notification.clone(),
            recipients.to_vec(),
        );
        self.on_call_runtime(platform_id, async move {
            let value = loaded
                .run(&platform, "deliver", async |s, i| {
                    let ids = recipients.iter().map(|r| r.delivery_id.as_str());
                    s.data_mut().progress = Some(CallProgress::new(progress, ids));
                    let outcomes = match i {
                        Instance::V0_1_0(i) => {
                            let recipients: Vec<_> =
                                recipients.iter().map(v0_1_0_recipient).collect();
                            i.lms_connector0_1_0_connector()
                                .call_deliver(
                                    &mut *s,
                                    &v0_1_0_notification(&notification),
                                    &recipients,
                                )
                                .await?
                        }
                        Instance::V0_2_0(i) => {
                            let recipients: Vec<_> =
                                recipients.iter().map(v0_2_0_recipient).collect();
                            i.lms_connector0_2_0_connector()
                                .call_deliver(
                                    &mut *s,
                                    &v0_1_0_notification(&notification),
                                    &recipients,
                                )
                                .await?
                        }
                        Instance::V0_3_0(i) => {
                            i.lms_connector0_3_0_connector()
                                .call_deliver(&mut *s, &notification, &recipients)
                                .await?
                        }
                    };
                    Ok(s.data_mut().unreported(outcomes))
                })
                .await?;
            loaded.cleaned(&platform, value)
        })
        .await
    }

    /// `update`: the outcomes the connector did not report through `progress` during the call, cleaned, as for
    /// [`Sandbox::deliver`]. A connector of a contract before 0.3.0 cannot update messages
    /// ([`Sandbox::updates_messages`]): each message fails, permanently, without a call.
    pub async fn update(
        &self,
        platform_id: &str,
        notification: &wit::Notification,
        change: wit::SessionChange,
        messages: &[wit::MessageUpdate],
        progress: Arc<dyn DeliveryProgress>,
    ) -> Result<Vec<wit::DeliveryOutcome>> {
        if !self.updates_messages() {
            return Ok(messages
                .iter()
                .map(|m| wit::DeliveryOutcome {
                    delivery_id: m.recipient.delivery_id.clone(),
                    outcome: wit::Outcome::Failed(wit::Failure {
                        kind: wit::FailureKind::Permanent,
                        code: UNSUPPORTED.into(),
                        message: format!(
                            "The connector implements {}, which cannot update a message it sent.",
                            self.contract()
                        ),
                        retry_after_ms: None,
                    }),
                })
                .collect());
        }
        let (loaded, platform, notification, messages) = (
            self.loaded.clone(),
            platform_id.to_string(),
            notification.clone(),
            messages.to_vec(),
        );
        self.on_call_runtime(platform_id, async move {
            let value = loaded
                .run(&platform, "update", async |s, i| {
                    let ids = messages.iter().map(|m| m.recipient.delivery_id.as_str());
                    s.data_mut().progress = Some(CallProgress::new(progress, ids));
                    let Instance::V0_3_0(i) = i else {
                        unreachable!("checked by updates_messages");
                    };
                    let outcomes = i
                        .lms_connector0_3_0_connector()
                        .call_update(&mut *s, &notification, change, &messages)
                        .await?;
                    Ok(s.data_mut().unreported(outcomes))
                })
                .await?;
            loaded.cleaned(&platform, value)
        })
        .await
    }

    /// Whether the connector can update messages it sent (contract 0.3.0 and later).
    pub fn updates_messages(&self) -> bool {
        self.contract() >= Contract::V0_3_0
    }

    /// Whether the connector reports each recipient's progress while it delivers (it imports `progress` of
    /// contract 0.2.0). When it does not, a delivery handed to it may have been delivered until the call returns.
    pub fn reports_progress(&self) -> bool {
        self.loaded.reports_progress
    }

    /// The version of the contract the connector implements.
    pub fn contract(&self) -> Contract {
        match self.loaded.pre {
            Pre::V0_1_0(_) => Contract::V0_1_0,
            Pre::V0_2_0(_) => Contract::V0_2_0,
            Pre::V0_3_0(_) => Contract::V0_3_0,
        }
    }

    /// `status`.
    pub async fn status(&self, platform_id: &str) -> Result<wit::IntegrationState> {
        let (loaded, platform) = (self.loaded.clone(), platform_id.to_string());
        self.on_call_runtime(platform_id, async move {
            let value = loaded
                .run(&platform, "status", async |s, i| {
                    on_connector!(i, |c| c.call_status(s).await)
                })
                .await?;
            loaded.cleaned(&platform, value)
        })
        .await
    }

    /// `handle-inbound`.
    pub async fn handle_inbound(
        &self,
        platform_id: &str,
        request: &wit::InboundRequest,
    ) -> Result<wit::InboundResponse> {
        let (loaded, platform, request) = (
            self.loaded.clone(),
            platform_id.to_string(),
            request.clone(),
        );
        self.on_call_runtime(platform_id, async move {
            let value = loaded
                .run(&platform, "handle-inbound", async |s, i| {
                    on_connector!(i, |c| c.call_handle_inbound(s, &request).await)
                })
                .await?;
            loaded.cleaned(&platform, value)
        })
        .await
    }
}

/// The code of the failure of an operation a connector's contract does not have.
pub const UNSUPPORTED: &str = "unsupported";

/// A recipient as a connector of contract 0.1.0 sees it: without `earlier-post` (such a connector looks for an
/// earlier message on every attempt after the first) nor `reply-to`.
fn v0_1_0_recipient(r: &wit::Recipient) -> v0_1_0::wit::Recipient {
    v0_1_0::wit::Recipient {
        user: r.user.clone(),
        delivery_id: r.delivery_id.clone(),
        attempt: r.attempt,
    }
}

/// A recipient as a connector of contract 0.2.0 sees it: without `reply-to` (its message stands on its own).
fn v0_2_0_recipient(r: &wit::Recipient) -> v0_2_0::types::Recipient {
    v0_2_0::types::Recipient {
        user: r.user.clone(),
        delivery_id: r.delivery_id.clone(),
        attempt: r.attempt,
        earlier_post: r.earlier_post,
    }
}

/// A notification as a connector of contract 0.1.0 or 0.2.0 sees it: a reminder is information about its session.
fn v0_1_0_notification(n: &wit::Notification) -> v0_1_0::wit::Notification {
    use v0_1_0::wit::NotificationKind as Old;
    v0_1_0::wit::Notification {
        id: n.id.clone(),
        kind: match n.kind {
            wit::NotificationKind::SessionAssignment => Old::SessionAssignment,
            wit::NotificationKind::SessionInformation | wit::NotificationKind::SessionReminder => {
                Old::SessionInformation
            }
            wit::NotificationKind::PathStep => Old::PathStep,
        },
        title: n.title.clone(),
        session: n.session.clone(),
        body: n.body.clone(),
        group: n.group.clone(),
    }
}
