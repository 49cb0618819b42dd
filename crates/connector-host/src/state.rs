//! What each call's store holds: WASI granting nothing, wasi:http with the outbound policy, the store limits, and the
//! platform and connector every import is scoped to.

use crate::limits::Tracked;
use crate::outbound::OutboundPolicy;
use crate::store::ConnectorStore;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// What a store holds: WASI (granting nothing), wasi:http with the outbound policy, and the platform's scope.
pub struct StoreState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) http: WasiHttpCtx,
    pub(crate) hooks: OutboundPolicy,
    pub(crate) limits: Tracked,
    /// The platform and connector this store serves; every import is scoped to it.
    pub(crate) scope: Scope,
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

/// What a connector declares about its secrets, from its manifest.
#[derive(Debug, Clone, Default)]
pub(crate) struct SecretRules {
    /// The secret keys it may read and write; `None` when it has no manifest (any key).
    pub declared: Option<Vec<String>>,
    /// Prefixes of the credentials it handles, blanked from its log and errors.
    pub prefixes: Vec<String>,
}

/// The platform and connector a store serves.
pub(crate) struct Scope {
    pub(crate) store: Arc<dyn ConnectorStore>,
    pub(crate) platform_id: String,
    pub(crate) connector_id: String,
    pub(crate) log_budget: usize,
    pub(crate) dropped_log_lines: usize,
    pub(crate) rules: Arc<SecretRules>,
    /// The secret values, read when the first log line is written, forgotten when a secret changes.
    pub(crate) known: Option<Vec<String>>,
}

impl Scope {
    /// A scope on `platform_id` for `connector_id`, allowing `log_lines` log lines.
    pub fn new(
        store: Arc<dyn ConnectorStore>,
        platform_id: &str,
        connector_id: &str,
        log_lines: usize,
        rules: Arc<SecretRules>,
    ) -> Self {
        Scope {
            store,
            platform_id: platform_id.to_string(),
            connector_id: connector_id.to_string(),
            log_budget: log_lines,
            dropped_log_lines: 0,
            rules,
            known: None,
        }
    }

    pub(crate) fn secret_declared(&self, key: &str) -> bool {
        self.rules
            .declared
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|k| k == key))
    }

    pub(crate) fn known_secrets(&mut self) -> &[String] {
        if self.known.is_none() {
            self.known = Some(
                self.store
                    .secret_values(&self.platform_id, &self.connector_id)
                    .unwrap_or_default(),
            );
        }
        self.known.as_deref().unwrap_or_default()
    }

    /// Log lines dropped because the call exceeded its quota.
    pub fn dropped_log_lines(&self) -> usize {
        self.dropped_log_lines
    }
}
