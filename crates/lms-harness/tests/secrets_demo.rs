//! No secret value — the app's client secret, its signing secret, a bot token — appears in any log line or in the
//! `--json` output of a full demo run, even with every debug log on.

use slack_sim::SimConfig;
use std::process::Command;

#[test]
fn a_full_demo_run_prints_no_secret() {
    let out = Command::new(env!("CARGO_BIN_EXE_lms-harness"))
        .args(["demo", "--json"])
        .env("RUST_LOG", "debug")
        .output()
        .expect("running lms-harness demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The demo did run: activation and deliveries happened, with debug logging on.
    assert!(
        serde_json::from_str::<serde_json::Value>(&stdout).is_ok(),
        "{stdout}"
    );
    assert!(stderr.contains("DEBUG"), "debug logging was on");
    let app = SimConfig::demo().app;
    for (what, secret) in [
        ("client secret", app.client_secret.as_str()),
        ("signing secret", app.signing_secret.as_str()),
        ("bot token", "xoxb-"),
    ] {
        assert!(!stdout.contains(secret), "the {what} is in the JSON output");
        for line in stderr.lines() {
            assert!(
                !line.contains(secret),
                "the {what} is in a log line: {line}"
            );
        }
    }
}
