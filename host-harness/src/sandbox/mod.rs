//! The sandbox that runs a connector component: one engine, the component pre-instantiated once, and a fresh store
//! per call with its own limits. The component gets the LMS's `settings`, `users` and `log` for the one platform it
//! is called for, and outbound HTTP through [`outbound::OutboundPolicy`]; nothing else (no files, no sockets, no
//! environment).

pub mod host_api;
pub mod outbound;

use crate::db::Db;
use anyhow::{Context, Result, anyhow};
use outbound::{OutboundConfig, OutboundPolicy};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
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
        }
    }
}

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

/// A loaded connector component, ready to be called for any platform.
pub struct Sandbox {
    engine: Engine,
    pre: LmsConnectorPre<StoreState>,
    outbound: Arc<OutboundConfig>,
    db: Db,
    connector_id: String,
    limits: Limits,
}

impl Sandbox {
    /// The engine every sandbox shares: async, epoch interruption, with a ticker thread.
    pub fn engine() -> Result<Engine> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config).map_err(anyhow::Error::from)?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })?;
        Ok(engine)
    }

    /// Compiles `component` (the bytes of a `.wasm` component) and links it against the host's interfaces.
    pub fn new(
        engine: &Engine,
        component: &[u8],
        connector_id: &str,
        db: Db,
        outbound: OutboundConfig,
        limits: Limits,
    ) -> Result<Sandbox> {
        let component = Component::new(engine, component)
            .map_err(anyhow::Error::from)
            .context("compiling the component")?;
        let mut linker: Linker<StoreState> = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)?;
        lms::connector::types::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(anyhow::Error::from)?;
        lms::connector::settings::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(anyhow::Error::from)?;
        lms::connector::users::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(anyhow::Error::from)?;
        lms::connector::log::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(anyhow::Error::from)?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context("linking the component")?;
        let pre = LmsConnectorPre::new(pre).map_err(anyhow::Error::from)?;
        Ok(Sandbox {
            engine: engine.clone(),
            pre,
            outbound: Arc::new(outbound),
            db,
            connector_id: connector_id.to_string(),
            limits,
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

    /// A fresh store and instance for one call on behalf of `platform_id`.
    async fn instantiate(&self, platform_id: &str) -> Result<(Store<StoreState>, LmsConnector)> {
        let caller = format!("{platform_id}/{}", self.connector_id);
        let state = StoreState {
            wasi: WasiCtx::builder().build(),
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
            ),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(self.limits.cpu_ticks);
        store.epoch_deadline_trap();
        let instance = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(anyhow::Error::from)?;
        Ok((store, instance))
    }

    /// Runs one call in a fresh store under the wall-clock limit; the store is dropped after it, whatever happened.
    async fn run<R>(
        &self,
        platform_id: &str,
        what: &str,
        call: impl AsyncFnOnce(&mut Store<StoreState>, &LmsConnector) -> wasmtime::Result<R>,
    ) -> Result<R> {
        let work = async {
            let (mut store, instance) = self.instantiate(platform_id).await?;
            call(&mut store, &instance)
                .await
                .map_err(anyhow::Error::from)
        };
        match tokio::time::timeout(self.limits.call_timeout, work).await {
            Ok(result) => result.map_err(|e| anyhow!("the connector failed during {what}: {e:#}")),
            Err(_) => Err(anyhow!(
                "the connector did not finish {what} within {:?}",
                self.limits.call_timeout
            )),
        }
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
