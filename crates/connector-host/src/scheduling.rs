//! Where connector calls run, and at what CPU priority: the one place that decides how the cores are shared between
//! calls.
//!
//! Every call runs on the host's own call threads, never on the caller's runtime: the LMS's pages, workers and servers
//! never run connector code. Each call thread is a runtime of its own (a tokio current-thread runtime, a *shard*), and
//! a call stays on its shard with everything it starts there: the task of each outgoing request and of each
//! connection it opens. A request thus goes from the call to the socket and back on one thread, without waking
//! another (on a virtual machine, waking an idle core costs more than the work it is woken for). A call goes to its
//! platform's own shard when that one is no busier than the least busy one, so that a platform's calls, one after
//! another, find their connections where they left them; otherwise to the least busy. There are many more shards
//! than the machine has cores, so that a call that keeps the CPU busy between its epoch yields seldom shares one
//! with another call.
//!
//! A call that has shown itself heavy moves, as soon as another call runs (alone, it takes nothing from anybody), to
//! a second runtime whose threads run at the operating system's lowest priority (`SCHED_IDLE` on Linux), one fewer
//! than the machine has cores, where it gets only the CPU no other thread of the machine wants: a well-behaved call
//! of another platform that wakes from the network is scheduled at once instead of waiting for a busy call's slice
//! to end. A call is heavy once it has been running (the CPU time of its polls: wasm and host functions together,
//! not what they waited for, such as the disk under a store's write) for more than [`THROTTLE_AFTER`], or when its
//! platform's calls together have been running for more than one core's worth of time lately ([`HOT_SHARE`]), which
//! is how many short calls in parallel add up to a heavy one. A platform's own calls, one after another, never use
//! more than one core: the outbox sends a platform's batches one at a time.
//!
//! The move happens between two polls of the call: its future is boxed, and the task that drove it on the call
//! runtime hands it over to a task of the low-priority runtime, which polls it from then on (tokio's I/O and timers,
//! and wasmtime's fibers, take the waker of whichever task polls them).

use crate::cpu::CpuStamp;
use crate::limits::THROTTLE_AFTER;
use anyhow::{Context as _, Result, anyhow};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::runtime::{Handle, Runtime};

/// Call threads (shards) per available core, unless `LMS_HARNESS_CALL_THREADS` says how many in all.
const CALL_THREADS_PER_CORE: usize = 8;
/// The environment variable that says how many call threads (shards) there are.
pub const CALL_THREADS_ENV: &str = "LMS_HARNESS_CALL_THREADS";

/// How fast a platform's measured call time is forgotten: the time constant of its exponential decay.
const HEAT_MEMORY: Duration = Duration::from_secs(1);
/// The share of one core a platform's calls may keep running, on average over [`HEAT_MEMORY`], before its calls are
/// moved to the low-priority runtime.
pub const HOT_SHARE: f64 = 1.0;
/// Platforms whose meters are kept before the cold ones are forgotten.
const METERS_KEPT: usize = 1_024;

/// A boxed call, as it moves from one runtime to the other.
type Call<R> = Pin<Box<dyn Future<Output = Result<R>> + Send>>;

/// The call threads, the low-priority runtime and the platforms' meters (one per process, started on first use).
struct Scheduler {
    shards: Shards,
    heavy: Runtime,
    meters: Mutex<HashMap<String, Arc<Meter>>>,
}

fn scheduler() -> Result<&'static Scheduler> {
    static SCHEDULER: OnceLock<Scheduler> = OnceLock::new();
    static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if let Some(scheduler) = SCHEDULER.get() {
        return Ok(scheduler);
    }
    // One start only: a second runtime built in a race would be dropped here, inside the caller's runtime, which
    // tokio forbids.
    let _starting = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(scheduler) = SCHEDULER.get() {
        return Ok(scheduler);
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let threads = std::env::var(CALL_THREADS_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| cores.saturating_mul(CALL_THREADS_PER_CORE));
    let shards = Shards::start(threads)?;
    let heavy = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(heavy_threads(cores))
        .thread_name("connector-heavy")
        .on_thread_start(lowest_priority)
        .enable_all()
        .build()
        .context("starting the low-priority connector call runtime")?;
    Ok(SCHEDULER.get_or_init(|| Scheduler {
        shards,
        heavy,
        meters: Mutex::default(),
    }))
}

/// Threads of the low-priority runtime: one core fewer than the machine has (at least one), so that heavy calls
/// together never keep every core busy. A thread at the lowest priority gives way to any other, but only when the
/// kernel gets round to it: on a 2-core virtual machine, two such threads computing without pause raised a
/// well-behaved call's p99 latency from 1 ms to 4-6 ms, as much when they were unrelated processes (`chrt -i 0`).
fn heavy_threads(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

/// Puts the calling thread at the operating system's lowest CPU priority, for good: an unprivileged thread may
/// lower its priority but not raise it again, so only the low-priority runtime's own threads do this.
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `sched_setscheduler` reads `param` and changes only the calling thread's (pid 0) policy.
        let changed = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if changed != 0 {
            tracing::warn!(
                "the low-priority connector threads could not be set to SCHED_IDLE: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        // SAFETY: `setpriority` changes only the calling thread's nice value.
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    }
}

/// Calls running on the host, wherever they run.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Whether other calls than the caller's are running on the host: a heavy call slows down for them, and only then.
pub(crate) fn others_running() -> bool {
    RUNNING.load(Ordering::Relaxed) > 1
}

/// A call counted in a count of running calls ([`RUNNING`], or a shard's) until the guard is dropped: the guard
/// travels with the call, which may outlive its caller's wait.
struct Counted(&'static AtomicUsize);

impl Counted {
    fn on(count: &'static AtomicUsize) -> Counted {
        count.fetch_add(1, Ordering::Relaxed);
        Counted(count)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs `call` for `platform_id` on a call thread, moving it to the low-priority runtime once it is heavy, and waits
/// for it from whichever runtime the caller is on.
pub(crate) async fn run<R: Send + 'static>(
    platform_id: &str,
    call: impl Future<Output = Result<R>> + Send + 'static,
) -> Result<R> {
    let scheduler = scheduler()?;
    let meter = scheduler.meter(platform_id);
    let in_flight = Counted::on(&RUNNING);
    let metered = Metered {
        call: Some(Box::pin(async move {
            let _in_flight = in_flight;
            call.await
        })),
        meter,
        ran: Duration::ZERO,
        may_move: true,
    };
    let ended = |e: tokio::task::JoinError| anyhow!("the connector's call ended abnormally: {e}");
    let moved = if metered.meter.hot(Instant::now()) {
        metered
    } else {
        let shard = scheduler.shards.for_platform(platform_id);
        let running = Counted::on(&shard.running);
        let on_shard = async move {
            let _running = running;
            metered.await
        };
        match shard.handle.spawn(on_shard).await.map_err(ended)? {
            Step::Done(result) => return result,
            Step::Heavy(moved) => moved,
        }
    };
    let moved = Metered {
        may_move: false,
        ..moved
    };
    match scheduler.heavy.spawn(moved).await.map_err(ended)? {
        Step::Done(result) => result,
        Step::Heavy(_) => unreachable!("a call on the low-priority runtime stays there"),
    }
}

/// One call thread: a current-thread runtime driven by a thread of its own, and how many calls it runs.
struct Shard {
    handle: Handle,
    /// Calls running on the shard (they leave it when they end or move to the low-priority runtime).
    running: AtomicUsize,
}

impl Shard {
    fn start(index: usize) -> Result<Shard> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting a connector call thread")?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("connector-call".into())
            .spawn(move || {
                CALL_THREAD.set(Some(index));
                runtime.block_on(std::future::pending::<()>())
            })
            .context("starting a connector call thread")?;
        Ok(Shard {
            handle,
            running: AtomicUsize::new(0),
        })
    }

    fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }
}

thread_local! {
    /// The index of the call thread this is, on a call thread.
    static CALL_THREAD: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Which call thread the caller runs on (none off the call threads): what runs on it shares its runtime, so a
/// connection it opened is best used from it again.
pub(crate) fn call_thread() -> Option<usize> {
    CALL_THREAD.get()
}

/// The call threads.
struct Shards(Vec<Shard>);

impl Shards {
    /// Starts `threads` call threads (at least one).
    fn start(threads: usize) -> Result<Shards> {
        (0..threads.max(1))
            .map(Shard::start)
            .collect::<Result<_>>()
            .map(Shards)
    }

    /// The shard for a call of `platform_id`: the platform's own when it is no busier than the least busy one, the
    /// least busy otherwise.
    fn for_platform(&'static self, platform_id: &str) -> &'static Shard {
        let own = &self.0[platform_shard(platform_id, self.0.len())];
        let least = self
            .0
            .iter()
            .min_by_key(|s| s.running())
            .expect("at least one call thread");
        if own.running() <= least.running() {
            own
        } else {
            least
        }
    }
}

impl Scheduler {
    /// The meter of `platform_id`, created on first use; cold meters are forgotten when many are kept.
    fn meter(&self, platform_id: &str) -> Arc<Meter> {
        let mut meters = self.meters.lock();
        if let Some(meter) = meters.get(platform_id) {
            return meter.clone();
        }
        if meters.len() >= METERS_KEPT {
            let now = Instant::now();
            meters.retain(|_, m| Arc::strong_count(m) > 1 || m.share(now) > 0.01);
        }
        meters
            .entry(platform_id.to_string())
            .or_insert_with(|| Arc::new(Meter::default()))
            .clone()
    }
}

/// The shard a platform's calls go to when it is free: the same in every run of the process.
fn platform_shard(platform_id: &str, shards: usize) -> usize {
    let mut hasher = std::hash::DefaultHasher::new();
    platform_id.hash(&mut hasher);
    (hasher.finish() % shards as u64) as usize
}

/// How much a platform's calls have been running lately, decaying exponentially over [`HEAT_MEMORY`].
#[derive(Default)]
struct Meter {
    heat: Mutex<Heat>,
}

#[derive(Default)]
struct Heat {
    /// Seconds of running time, decayed to `at`.
    seconds: f64,
    at: Option<Instant>,
}

impl Heat {
    fn decayed(&self, now: Instant) -> f64 {
        match self.at {
            Some(at) => {
                let elapsed = now.saturating_duration_since(at).as_secs_f64();
                self.seconds * (-elapsed / HEAT_MEMORY.as_secs_f64()).exp()
            }
            None => 0.0,
        }
    }
}

impl Meter {
    /// Counts `ran` of running time ending `now`; whether the platform is now hot.
    fn add(&self, ran: Duration, now: Instant) -> bool {
        let mut heat = self.heat.lock();
        heat.seconds = heat.decayed(now) + ran.as_secs_f64();
        heat.at = Some(now);
        heat.seconds / HEAT_MEMORY.as_secs_f64() > HOT_SHARE
    }

    /// The share of a core the platform's calls have been running lately.
    fn share(&self, now: Instant) -> f64 {
        self.heat.lock().decayed(now) / HEAT_MEMORY.as_secs_f64()
    }

    fn hot(&self, now: Instant) -> bool {
        self.share(now) > HOT_SHARE
    }
}

/// What driving a call on one runtime came to.
enum Step<R> {
    /// The call ended.
    Done(Result<R>),
    /// The call is heavy: it goes on on the low-priority runtime.
    Heavy(Metered<R>),
}

/// A call, timed at each poll against its platform's meter.
struct Metered<R> {
    call: Option<Call<R>>,
    meter: Arc<Meter>,
    /// CPU time the call has been running, over all its polls.
    ran: Duration,
    /// Whether it may still move to the low-priority runtime.
    may_move: bool,
}

impl<R> Future for Metered<R> {
    type Output = Step<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Step<R>> {
        let this = &mut *self;
        let Some(call) = this.call.as_mut() else {
            return Poll::Ready(Step::Done(Err(anyhow!(
                "the call was polled after it ended"
            ))));
        };
        let started = CpuStamp::now();
        let polled = call.as_mut().poll(cx);
        let ran = started.elapsed();
        let now = Instant::now();
        this.ran += ran;
        let hot = this.meter.add(ran, now);
        match polled {
            Poll::Ready(result) => {
                this.call = None;
                Poll::Ready(Step::Done(result))
            }
            Poll::Pending
                if this.may_move && (hot || this.ran > THROTTLE_AFTER) && others_running() =>
            {
                Poll::Ready(Step::Heavy(Metered {
                    call: this.call.take(),
                    meter: this.meter.clone(),
                    ran: this.ran,
                    may_move: false,
                }))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_platform_running_more_than_a_core_lately_is_hot_and_cools_down() {
        let meter = Meter::default();
        let start = Instant::now();
        // One call at a time, running half the time: never hot.
        for i in 0..100 {
            let at = start + Duration::from_millis(20 * i);
            assert!(!meter.add(Duration::from_millis(10), at));
        }
        // Two calls at once, each running all the time: hot within a second.
        let mut hot = false;
        for i in 0..100 {
            let at = start + Duration::from_secs(2) + Duration::from_millis(10 * i);
            hot = meter.add(Duration::from_millis(20), at);
        }
        assert!(hot);
        // Quiet for a few seconds: cold again.
        assert!(!meter.hot(start + Duration::from_secs(8)));
    }

    #[tokio::test]
    async fn a_heavy_call_finishes_on_the_low_priority_runtime() {
        // Another call runs meanwhile: a heavy call moves only while others run.
        let release = Arc::new(tokio::sync::Notify::new());
        let waiting = tokio::spawn(run("test-heavy-neighbour", {
            let release = release.clone();
            async move {
                release.notified().await;
                Ok(())
            }
        }));
        let on = run("test-heavy", async {
            // Computing, with yields in between, as a busy wasm call does at each epoch tick, until it runs on the
            // low-priority runtime. The meter counts CPU time, which a loaded machine gives out slowly: the loop is
            // bounded by the wall clock instead, far past the threshold.
            let started = Instant::now();
            let on_heavy = || std::thread::current().name() == Some("connector-heavy");
            while !on_heavy() && started.elapsed() < THROTTLE_AFTER * 300 {
                std::hint::black_box((0..10_000u64).sum::<u64>());
                tokio::task::yield_now().await;
            }
            Ok(std::thread::current().name().map(str::to_string))
        })
        .await
        .unwrap();
        release.notify_one();
        waiting.await.unwrap().unwrap();
        assert_eq!(on.as_deref(), Some("connector-heavy"));
        let light = run("test-light", async {
            Ok(std::thread::current().name().map(str::to_string))
        })
        .await
        .unwrap();
        assert_eq!(light.as_deref(), Some("connector-call"));
    }

    #[tokio::test]
    async fn a_call_and_the_tasks_it_starts_share_one_call_thread() {
        let (call, task, index) = run("test-one-thread", async {
            let task = tokio::spawn(async { std::thread::current().id() }).await?;
            Ok((std::thread::current().id(), task, call_thread()))
        })
        .await
        .unwrap();
        assert_eq!(call, task, "a request's task runs where its call runs");
        assert!(index.is_some(), "a call runs on a call thread");
        assert_eq!(
            call_thread(),
            None,
            "the caller's runtime is not a call thread"
        );
    }

    #[test]
    fn a_platform_s_calls_go_to_its_own_thread_unless_another_is_less_busy() {
        let shards: &'static Shards = Box::leak(Box::new(Shards::start(4).unwrap()));
        let own = shards.for_platform("p");
        assert!(
            std::ptr::eq(own, shards.for_platform("p")),
            "the same each time"
        );
        let busy = Counted::on(&own.running);
        let elsewhere = shards.for_platform("p");
        assert!(
            !std::ptr::eq(own, elsewhere),
            "a free thread rather than a busy one"
        );
        let others: Vec<Counted> = shards
            .0
            .iter()
            .filter(|s| !std::ptr::eq(*s, own))
            .map(|s| Counted::on(&s.running))
            .collect();
        assert!(
            std::ptr::eq(own, shards.for_platform("p")),
            "its own when all are as busy"
        );
        drop((busy, others));
        assert!(
            shards.0.iter().all(|s| s.running() == 0),
            "the count goes with the call"
        );
    }

    #[tokio::test]
    async fn a_call_that_waits_inside_its_polls_is_not_heavy() {
        // Blocked past the threshold in all, as a host function waiting for a slow disk under a store's write is,
        // while computing next to nothing.
        let on = run("test-waiting", async {
            for _ in 0..6 {
                std::thread::sleep(THROTTLE_AFTER / 3);
                tokio::task::yield_now().await;
            }
            Ok(std::thread::current().name().map(str::to_string))
        })
        .await
        .unwrap();
        assert_eq!(on.as_deref(), Some("connector-call"));
    }
}
