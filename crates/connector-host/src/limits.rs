//! The limits applied to every call of a component, and the store limiter that enforces the memory and table ones.
//!
//! Every host-side resource a call can make the host hold is bounded here and counted against that call: linear
//! memory and tables (the store limiter), resource-table entries and the bytes of each wasi:http header map
//! ([`Limits::resources`], [`Limits::header_map_bytes`]), CPU in wasm (fuel) and in the host functions
//! ([`Limits::host_time`]), the wall clock, log lines and bytes, and the bytes of settings and secrets kept per
//! platform ([`Limits::settings_bytes`]).

use crate::rates::{Buckets, Rate};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::StoreLimits;

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
    /// Bytes of log a call may have stored (after each line is cut and blanked); writing past them fails the call.
    pub log_bytes: usize,
    /// Resources (wasi:http fields, requests, responses, bodies, streams, pollables…) a call may hold at once in
    /// its resource table; creating one more fails the call.
    pub resources: usize,
    /// Bytes one wasi:http header map built by the connector may hold, as wasmtime counts them (names and values
    /// plus the map's own per-entry structures); a larger map is refused with a header error. With
    /// [`Limits::resources`], this bounds what a call's header maps hold: see [`Limits::header_bytes_bound`].
    pub header_map_bytes: usize,
    /// CPU time a call may spend inside the host functions it calls (`settings`, `users`, `log`), on top of its CPU
    /// budget in wasm; past it the call fails. Waiting (for the LMS's database, a lock, a busy core) is bounded by
    /// [`Limits::call_timeout`], not by this.
    pub host_time: Duration,
    /// Bytes of settings and secrets (keys and values) a connector may keep on one platform; a write past it is
    /// refused with an error.
    pub settings_bytes: u64,
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

    /// The most the header maps a call builds can hold at once: every resource-table entry a full header map
    /// ([`Limits::resources`] × [`Limits::header_map_bytes`]). Header maps of responses are shared, not copied,
    /// and bounded by the HTTP client's own header limits.
    pub fn header_bytes_bound(&self) -> usize {
        self.resources.saturating_mul(self.header_map_bytes)
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
            log_bytes: 256 << 10,
            // The Slack connector holds a dozen resources per request in flight and drops them after each one.
            resources: 1_000,
            // Its requests carry two or three short headers (well under 1 KiB as counted).
            header_map_bytes: 16 << 10,
            host_time: Duration::from_secs(5),
            // The Slack connector keeps about 100 bytes per workspace member (its directory and DM channels).
            settings_bytes: 32 << 20,
            stderr_bytes: 8 * 1024,
            failures_before_disable: 3,
        }
    }
}

/// Fuel (about one per wasm instruction) per tick of CPU budget: roughly what 10 ms of wasm execute.
pub const FUEL_PER_TICK: u64 = 20_000_000;

/// CPU a call may use at full speed, in wasm and in host functions each; past it the call runs at half speed while
/// other calls run (it pauses as long as it ran), so that a few heavy calls leave the cores to the others, and it
/// moves to the low-priority runtime ([`crate::scheduling`]). A delivery of the Slack connector uses a few
/// milliseconds.
pub const THROTTLE_AFTER: Duration = Duration::from_millis(100);

/// How often the engine's epoch advances.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of each pooled linear memory kept mapped from one call to the next (reset in place rather than unmapped).
pub const KEPT_RESIDENT: usize = 2 << 20;

/// The store's limits, remembering the largest linear memory the instance grew to, and taking each growth from the
/// platform's memory-growth rate ([`crate::rates::MEMORY_GROWTH`]).
pub(crate) struct Tracked {
    inner: StoreLimits,
    pub(crate) peak_memory: usize,
    growth: Arc<Buckets>,
    platform_id: String,
}

impl Tracked {
    pub(crate) fn new(inner: StoreLimits, growth: Arc<Buckets>, platform_id: &str) -> Self {
        Tracked {
            inner,
            peak_memory: 0,
            growth,
            platform_id: platform_id.to_string(),
        }
    }
}

impl wasmtime::ResourceLimiter for Tracked {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if allowed {
            // Pages within what the pool keeps resident cost no mapping: only growth past it is counted.
            let grown = desired.saturating_sub(current.max(KEPT_RESIDENT));
            if !self
                .growth
                .take(&self.platform_id, grown, std::time::Instant::now())
            {
                return Err(wasmtime::Error::new(Exceeded::MemoryGrowth(
                    self.growth.rate(),
                )));
            }
            self.peak_memory = self.peak_memory.max(desired);
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// A per-call limit the connector went past inside a host function, where the WIT gives the function no error to
/// return: the host function traps with it, and [`crate::Sandbox`] reports it in these words.
#[derive(Debug, Clone, PartialEq)]
pub enum Exceeded {
    /// The call spent more than its budget inside host functions.
    HostTime(Duration),
    /// The call was still calling host functions past its wall-clock limit.
    Deadline(Duration),
    /// The call's log lines, once cut and blanked, came to more than this many bytes.
    LogBytes(usize),
    /// The connector's calls on the platform grew their memory faster than this rate.
    MemoryGrowth(Rate),
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exceeded::HostTime(limit) => write!(
                f,
                "it spent more than {limit:?} of CPU in host calls (settings, users, log) and was stopped"
            ),
            Exceeded::Deadline(limit) => write!(
                f,
                "it was still calling the host past its wall-clock limit ({limit:?}) and was stopped"
            ),
            Exceeded::LogBytes(limit) => write!(
                f,
                "it wrote more than {limit} bytes to its log in one call and was stopped"
            ),
            Exceeded::MemoryGrowth(rate) => write!(
                f,
                "its calls on this platform grew their memory faster than {} MiB a second (after {} MiB at once) \
                 and it was stopped",
                rate.per_second / 1048576.0,
                rate.burst / 1048576.0
            ),
        }
    }
}

impl std::error::Error for Exceeded {}
