//! What each call's store holds: WASI granting nothing, wasi:http with the outbound policy, the store limits, and the
//! platform and connector every import is scoped to.

use crate::cpu::CpuStamp;
use crate::limits::{Exceeded, Limits, THROTTLE_AFTER, Tracked};
use crate::outbound::OutboundPolicy;
use crate::pending::PendingSettings;
use crate::progress::CallProgress;
use crate::rates::Buckets;
use crate::scheduling;
use crate::store::{ConnectorStore, StoreFailed};
use std::sync::Arc;
use std::time::{Duration, Instant};
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
    /// The reports of the `deliver` or `update` call running in this store, if it is one.
    pub(crate) progress: Option<CallProgress>,
    /// The platform and connector this store serves; every import is scoped to it.
    pub(crate) scope: Scope,
}

impl StoreState {
    /// Ends the reporting of the `deliver` or `update` call running in this store: of the outcomes it returned, those
    /// its progress reports had not already given (all of them when it reported nothing).
    pub(crate) fn unreported(
        &mut self,
        mut outcomes: Vec<crate::wit::DeliveryOutcome>,
    ) -> Vec<crate::wit::DeliveryOutcome> {
        if let Some(call) = &self.progress {
            outcomes.retain(|o| !call.reported(&o.delivery_id));
        }
        outcomes
    }

    /// Before an outgoing request starts: hands over ([`Self::hand_over`]) unless all that is pending is outcomes.
    /// Settings written and posts announced are stored before the request leaves; outcomes wait for the next
    /// hand-over (a lost one only leaves its delivery to be checked): a connector that keeps a window of requests in
    /// flight, announcing its posts a handful at a time, costs the embedder a few writes per handful, not per
    /// request.
    pub(crate) fn before_request(&mut self) -> wasmtime::Result<()> {
        match &self.progress {
            Some(call) if self.scope.pending.is_empty() && !call.announced() => Ok(()),
            _ => self.hand_over(),
        }
    }

    /// Hands what the call did since the last hand-over to the embedder: before an outgoing request starts
    /// ([`Self::before_request`]), and when the call ends. First its settings writes ([`crate::pending`]), then its
    /// progress reports, so that a delivery reported done finds the connector's state stored. A host function's work
    /// (its CPU time counts against the call; the embedder's failure is the store's, not the connector's).
    pub(crate) fn hand_over(&mut self) -> wasmtime::Result<()> {
        if self.scope.pending.is_empty() && self.progress.is_none() {
            return Ok(());
        }
        let progress = self.progress.as_mut();
        self.scope.host_call(|s| {
            s.store_pending()?;
            match progress {
                Some(call) => call.hand_over().map_err(crate::imports::unrecorded),
                None => Ok(()),
            }
        })
    }
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

/// The platform and connector a store serves, and what the call has used of its host-side quotas.
pub(crate) struct Scope {
    pub(crate) store: Arc<dyn ConnectorStore>,
    pub(crate) platform_id: String,
    pub(crate) connector_id: String,
    pub(crate) log_budget: usize,
    pub(crate) dropped_log_lines: usize,
    /// Bytes of log the call may still store.
    pub(crate) log_bytes_left: usize,
    log_bytes_limit: usize,
    pub(crate) rules: Arc<SecretRules>,
    /// The connector's secrets on the platform, read once when first needed (a read, a log line, a report, the
    /// call's result), forgotten when the connector changes one.
    pub(crate) known: Option<KnownSecrets>,
    /// Bytes of settings and secrets the connector may keep on this platform.
    pub(crate) settings_quota: u64,
    /// How fast the connector may write settings and secrets, per platform, across calls.
    pub(crate) settings_writes: Arc<Buckets>,
    /// Writes refused by the settings quota during this call.
    pub(crate) refused_writes: usize,
    /// Settings written since the last hand-over, not in the store yet.
    pub(crate) pending: PendingSettings,
    /// The bytes the store held for the connector on the platform when this call first wrote a setting since its
    /// last hand-over (forgotten at each hand-over and each secret written, read again at the next write).
    pub(crate) usage: Option<u64>,
    host_time: Duration,
    /// Host time past [`THROTTLE_AFTER`] not yet paused for.
    pause_owed: Duration,
    host_time_limit: Duration,
    deadline: Instant,
    call_timeout: Duration,
}

impl Scope {
    /// A scope on `platform_id` for `connector_id` under `limits`, for a call that started at `started`.
    pub fn new(
        store: Arc<dyn ConnectorStore>,
        platform_id: &str,
        connector_id: &str,
        limits: &Limits,
        rules: Arc<SecretRules>,
        settings_writes: Arc<Buckets>,
        started: Instant,
    ) -> Self {
        Scope {
            store,
            platform_id: platform_id.to_string(),
            connector_id: connector_id.to_string(),
            log_budget: limits.log_lines,
            dropped_log_lines: 0,
            log_bytes_left: limits.log_bytes,
            log_bytes_limit: limits.log_bytes,
            rules,
            known: None,
            settings_quota: limits.settings_bytes,
            settings_writes,
            refused_writes: 0,
            pending: PendingSettings::default(),
            usage: None,
            host_time: Duration::ZERO,
            pause_owed: Duration::ZERO,
            host_time_limit: limits.host_time,
            deadline: started + limits.call_timeout,
            call_timeout: limits.call_timeout,
        }
    }

    /// Hands the pending settings writes to the store, in one transaction.
    pub(crate) fn store_pending(&mut self) -> wasmtime::Result<()> {
        self.usage = None;
        if self.pending.is_empty() {
            return Ok(());
        }
        self.store
            .write_settings(
                &self.platform_id,
                &self.connector_id,
                &self.pending.writes(),
            )
            .map_err(crate::imports::trap)?;
        self.pending.clear();
        Ok(())
    }

    pub(crate) fn secret_declared(&self, key: &str) -> bool {
        self.rules
            .declared
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|k| k == key))
    }

    /// The connector's secrets on the platform, read from the store on first use in the call.
    pub(crate) fn known_secrets(&mut self) -> wasmtime::Result<&KnownSecrets> {
        if self.known.is_none() {
            let pairs = self
                .store
                .secrets(&self.platform_id, &self.connector_id)
                .map_err(|error| {
                    wasmtime::Error::new(StoreFailed {
                        doing: "the LMS could not read the connector's secrets",
                        error,
                    })
                })?;
            self.known = Some(KnownSecrets::from(pairs));
        }
        Ok(self.known.get_or_insert_default())
    }

    /// Runs the body of one host function, counting the CPU it uses against the call: a call already past its
    /// wall-clock deadline or its host-time budget traps before any work, and one that goes past the budget during
    /// it traps after. A host function cannot be interrupted once running, so each one's own work must be bounded
    /// (see the comments in [`crate::imports`]); this bounds how many of them a call can make.
    ///
    /// What a host function waits for (the LMS's database, a lock another call holds, a core busy elsewhere) is not
    /// the connector's doing and is not charged: under load, several hosts writing to one PostgreSQL made the
    /// calls of a well-behaved connector wait past the budget and disabled it. The call's wall-clock deadline
    /// bounds the waiting.
    pub(crate) fn host_call<R>(
        &mut self,
        body: impl FnOnce(&mut Scope) -> wasmtime::Result<R>,
    ) -> wasmtime::Result<R> {
        if Instant::now() >= self.deadline {
            return Err(wasmtime::Error::new(Exceeded::Deadline(self.call_timeout)));
        }
        self.check_host_time()?;
        let started = CpuStamp::now();
        let result = body(self);
        let spent = started.elapsed();
        self.host_time += spent;
        self.check_host_time()?;
        if self.host_time > THROTTLE_AFTER
            && scheduling::others_running()
            && scheduling::call_thread().is_none()
        {
            // Half speed from here on while other calls run: the pause leaves the core to them. Only on the
            // low-priority runtime, where the call is bound to move once past the same threshold: a call thread's
            // runtime runs other calls too, which a pause there would stop as well. Pauses are taken a millisecond
            // at a time, since a thread cannot sleep for much less.
            self.pause_owed += spent;
            if self.pause_owed >= Duration::from_millis(1) {
                std::thread::sleep(std::mem::take(&mut self.pause_owed));
            }
        }
        result
    }

    fn check_host_time(&self) -> wasmtime::Result<()> {
        if self.host_time > self.host_time_limit {
            return Err(wasmtime::Error::new(Exceeded::HostTime(
                self.host_time_limit,
            )));
        }
        Ok(())
    }

    /// Counts `bytes` of stored log against the call's quota; past it, the call traps.
    pub(crate) fn charge_log_bytes(&mut self, bytes: usize) -> wasmtime::Result<()> {
        match self.log_bytes_left.checked_sub(bytes) {
            Some(left) => {
                self.log_bytes_left = left;
                Ok(())
            }
            None => Err(wasmtime::Error::new(Exceeded::LogBytes(
                self.log_bytes_limit,
            ))),
        }
    }

    /// Log lines dropped because the call exceeded its quota.
    pub fn dropped_log_lines(&self) -> usize {
        self.dropped_log_lines
    }

    /// CPU time the call spent inside host functions.
    pub fn host_time(&self) -> Duration {
        self.host_time
    }
}

/// A connector's secrets on one platform as one call knows them: keys, and their values in the same order.
#[derive(Debug, Default)]
pub(crate) struct KnownSecrets {
    keys: Vec<String>,
    values: Vec<String>,
}

impl From<Vec<(String, String)>> for KnownSecrets {
    fn from(pairs: Vec<(String, String)>) -> Self {
        let (keys, values) = pairs.into_iter().unzip();
        KnownSecrets { keys, values }
    }
}

impl KnownSecrets {
    /// The value of `key`, if the connector has it.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        let at = self.keys.iter().position(|k| k == key)?;
        Some(&self.values[at])
    }

    /// Every value, to blank them out of what the connector writes or returns.
    pub(crate) fn values(&self) -> &[String] {
        &self.values
    }
}
