//! The limits applied to every call of a component, and the store limiter that enforces the memory and table ones.

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

/// The store's limits, remembering the largest linear memory the instance grew to.
pub(crate) struct Tracked {
    inner: StoreLimits,
    pub(crate) peak_memory: usize,
}

impl Tracked {
    pub(crate) fn new(inner: StoreLimits) -> Self {
        Tracked {
            inner,
            peak_memory: 0,
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
