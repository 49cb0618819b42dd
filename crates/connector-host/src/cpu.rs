//! The CPU time of the calling thread: what a host function or one poll of a call computed, apart from what it
//! waited for (a lock, the disk, the network).

use std::time::{Duration, Instant};

/// A point in the CPU time of the calling thread, where the system keeps one (the wall clock elsewhere). A host
/// function, like one poll of a call's future (wasm included: wasmtime's fibers run on the polling thread), runs on
/// one thread from start to end, so the difference of two stamps is what it computed.
pub(crate) struct CpuStamp {
    wall: Instant,
    cpu: Option<Duration>,
}

impl CpuStamp {
    /// The calling thread's CPU time now.
    pub(crate) fn now() -> Self {
        CpuStamp {
            wall: Instant::now(),
            cpu: thread_cpu_time(),
        }
    }

    /// The CPU time the calling thread used since this stamp.
    pub(crate) fn elapsed(&self) -> Duration {
        match (self.cpu, thread_cpu_time()) {
            (Some(start), Some(now)) => now.saturating_sub(start),
            _ => self.wall.elapsed(),
        }
    }
}

/// The CPU time the calling thread has used, when the system says.
fn thread_cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `clock_gettime` writes only `now`.
        let read = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
        (read == 0).then(|| {
            Duration::new(
                u64::try_from(now.tv_sec).unwrap_or(0),
                u32::try_from(now.tv_nsec).unwrap_or(0),
            )
        })
    }
    #[cfg(not(unix))]
    {
        None
    }
}
