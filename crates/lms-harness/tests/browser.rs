//! The browser walks (`tests/browser/*.mjs`, sharing `lib.mjs`) in real headless Chromium, each against its own
//! `lms-harness serve` started on free ports with a fresh data folder, one walk at a time. Needs Debian's `chromium`
//! (`/usr/bin/chromium`, or `CHROMIUM`), `node` and `tests/browser/node_modules` (`npm ci`; run here when missing).
//! Without Chromium the walks are skipped with a message, unless `CI` is set: then they fail.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

/// How long `serve` may take to start (the first start compiles the connector component).
const START_TIMEOUT: Duration = Duration::from_secs(240);
/// How long one browser walk may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// One walk at a time: two Chromiums and two servers on a 2-core machine would slow each other into time-outs.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace root (crates/lms-harness/../..)")
        .to_path_buf()
}

/// Waits for a child with a deadline; kills it when the deadline passes.
fn wait_with_deadline(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The whole story on a workspace that restricts app installs (`run.mjs`).
#[test]
fn the_story_in_headless_chromium() {
    walk("run.mjs", &["--restricted"]);
}

/// Every page on a phone, no wider than the screen, and in French after the header's switch (`phone.mjs`).
#[test]
fn the_pages_on_a_phone_in_headless_chromium() {
    walk("phone.mjs", &["--restricted"]);
}

/// An author's path steps: a past date refused, edit, pause, resume, sent status, delete (`steps.mjs`).
#[test]
fn path_steps_in_headless_chromium() {
    walk("steps.mjs", &[]);
}

/// The admin's side (`admin.mjs`): buttons for admins only, the restricted workspace's request, denial and cancel,
/// the vendor console's switch, and DEACTIVATE's confirmation. Without Slack's rate limits: the walk uninstalls the
/// app twice within a minute, and `apps.uninstall` is Tier 1 (the second would be refused with a wait, as in Slack).
#[test]
fn the_admins_side_in_headless_chromium() {
    walk("admin.mjs", &["--restricted", "--no-rate-limits"]);
}

/// Invitations: the confirmation page with its counts and names, once per learner, subjects in each learner's
/// language, a failed delivery retried from the page, and failures sent again after a new ACTIVATE
/// (`invitations.mjs`).
#[test]
fn invitations_in_headless_chromium() {
    walk("invitations.mjs", &["--no-rate-limits"]);
}

/// A session that changes and is cancelled (`sessions.mjs`): the admin's reminders, the author's change on the
/// session's page, the learner's one message in Slack updated in place ("(edited)", the old date struck through),
/// then the cancellation through its confirmation page, after which the message says so and has no button.
#[test]
fn sessions_that_change_and_are_cancelled_in_headless_chromium() {
    walk("sessions.mjs", &["--no-rate-limits"]);
}

/// Runs `tests/browser/{script}` against a fresh `lms-harness serve {serve_args}`; panics unless every step passes.
fn walk(script: &str, serve_args: &[&str]) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        if in_ci() {
            panic!(
                "{chromium} is missing, and CI is set: .ci/run installs it (apt-get install -y chromium)"
            );
        }
        eprintln!(
            "SKIPPED: the browser tests need Debian's chromium at {chromium} (apt-get install -y chromium); \
             under CI=true its absence is a failure"
        );
        return;
    }
    let browser_dir = root().join("tests/browser");
    if !browser_dir.join("node_modules/playwright-core").exists() {
        let status = Command::new("npm")
            .arg("ci")
            .arg("--no-audit")
            .arg("--no-fund")
            .current_dir(&browser_dir)
            .status()
            .expect(
                "running npm ci in tests/browser (node and npm are needed for the browser tests)",
            );
        assert!(status.success(), "npm ci in tests/browser failed");
    }

    let name = script.trim_end_matches(".mjs");
    let artifacts = browser_dir.join("artifacts").join(name);
    std::fs::create_dir_all(&artifacts).unwrap();
    let data = std::env::temp_dir().join(format!(
        "lms-harness-browser-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let log = std::fs::File::create(artifacts.join("serve.log")).unwrap();
    let mut server = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_lms-harness"))
            .arg("serve")
            .args(serve_args)
            .args(["--listen", "127.0.0.1:0"])
            .args(["--slack-listen", "127.0.0.1:0", "--data"])
            .arg(&data)
            .env("RUST_LOG", "warn,lms_harness=info,lms=info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("starting lms-harness serve"),
    );
    let stdout = server.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut lms, mut slack) = (None, None);
    let deadline = Instant::now() + START_TIMEOUT;
    while lms.is_none() || slack.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "lms-harness serve did not print its addresses within {START_TIMEOUT:?}; see {}",
                artifacts.join("serve.log").display()
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
                "lms-harness serve exited before printing its addresses; see {}",
                artifacts.join("serve.log").display()
            ),
        };
        if let Some(u) = line.strip_prefix("LMS pages:") {
            lms = Some(u.trim().trim_end_matches('/').to_string());
        } else if let Some(u) = line.strip_prefix("Simulated Slack:") {
            slack = Some(u.trim().trim_end_matches("/_sim/").to_string());
        }
    }
    let (lms, slack) = (lms.unwrap(), slack.unwrap());

    let mut node = Command::new("node")
        .arg(browser_dir.join(script))
        .env("LMS_URL", &lms)
        .env("SLACK_URL", &slack)
        .env("CHROMIUM", &chromium)
        .env("ARTIFACTS", &artifacts)
        .current_dir(&browser_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running node on a browser walk (node is needed for the browser tests)");
    // Forward the walk's output through the test harness (shown on failure, or with --nocapture).
    let out = node.stdout.take().unwrap();
    let err = node.stderr.take().unwrap();
    let pump = |r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            BufReader::new(r)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        })
    };
    let (out, err) = (pump(Box::new(out)), pump(Box::new(err)));
    let status = wait_with_deadline(&mut node, RUN_TIMEOUT);
    for line in out.join().unwrap().iter().chain(err.join().unwrap().iter()) {
        println!("{line}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    match status {
        Some(s) => assert!(
            s.success(),
            "the browser walk {script} failed ({s}); screenshots and serve.log in {}",
            artifacts.display()
        ),
        None => panic!("the browser walk {script} did not finish within {RUN_TIMEOUT:?}"),
    }
}
