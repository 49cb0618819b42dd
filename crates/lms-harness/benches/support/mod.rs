//! What the benchmarks share: the `lms-harness` binary of the build, a child process run to its end with its wall
//! and CPU time, and the median of runs. Each benchmark uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The `lms-harness` binary of this build (beside the bench's own executable).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("lms-harness");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build --release -p lms-harness)",
        path.display()
    );
    path
}

/// What one run of one system took.
#[derive(Debug, Clone, Copy)]
pub struct Measure {
    /// Seconds from the process's start to its exit.
    pub wall: f64,
    /// Seconds of CPU (user and system) the process used.
    pub cpu: f64,
}

/// Runs `command` to its end, its output in `dir`; its wall and CPU time.
pub fn measure(mut command: Command, dir: &Path) -> (Measure, String) {
    let out = dir.join("stdout");
    let err = dir.join("stderr");
    command
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    let started = Instant::now();
    let child = command.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let deadline = started + Duration::from_secs(900);
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: `rusage` is plain data, written by `wait4` only.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `wait4` reaps only our own child `pid`, writing `status` and `usage`.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        if reaped == pid {
            break (status, usage);
        }
        if Instant::now() > deadline {
            // SAFETY: signals our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("{command:?} did not finish within 15 minutes");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = started.elapsed().as_secs_f64();
    // The child is reaped: dropping its handle neither waits nor kills.
    drop(child);
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    let said = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{command:?} failed ({status}): {said}"
    );
    (
        Measure { wall, cpu },
        std::fs::read_to_string(&out).unwrap(),
    )
}

/// A core setting of a benchmark's `--cores`: 1 or 2.
pub fn core_setting(value: &str) -> Result<usize, String> {
    match value.trim() {
        "1" => Ok(1),
        "2" => Ok(2),
        other => Err(format!("1 or 2, not {other}")),
    }
}

/// A command running `program` on `cores`: pinned to CPU 0 with `taskset` when 1, free when 2.
pub fn on_cores(program: impl AsRef<std::ffi::OsStr>, cores: usize) -> Command {
    if cores == 1 {
        let mut pinned = Command::new("taskset");
        pinned.args(["-c", "0"]).arg(program);
        pinned
    } else {
        Command::new(program)
    }
}

/// The median of `values` (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `lms-harness deliveries --run --summary --json` on the data folder `dir`, Slack routed to `slack_url`, on `cores`
/// ([`on_cores`]): the product's run, as the benchmarks time it.
pub fn run_outbox(dir: &Path, slack_url: &str, cores: usize) -> Command {
    let mut command = on_cores(binary(), cores);
    command
        .args(["deliveries", "--run", "--summary", "--json", "--data"])
        .arg(dir)
        .args(["--slack-url", slack_url]);
    command
}
