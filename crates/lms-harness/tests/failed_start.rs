//! A `serve` that fails to start leaves nothing behind: a data folder it created is removed, an existing one is left
//! as it was; and what it says on stderr carries no colour codes when stderr is not a terminal.

#[path = "support/temp_dir.rs"]
mod temp_dir;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use temp_dir::TempDir;

/// Runs `lms-harness serve --data DATA ARGS` with stderr piped (not a terminal) and the log at info; returns whether
/// it exited 0 and its stderr.
fn serve(data: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lms-harness"))
        .arg("serve")
        .arg("--data")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "info")
        .env("RUST_BACKTRACE", "0")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("running lms-harness serve");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The names in a folder, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_port_already_taken_leaves_no_new_data_folder_and_an_existing_one_as_it_was() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = TempDir::new("failed-start");
    let new = dir.0.join("new").join("data");
    for (args, what) in [
        (
            ["--listen", addr.as_str(), "--slack-listen", "127.0.0.1:0"],
            "(the LMS pages)",
        ),
        (
            ["--listen", "127.0.0.1:0", "--slack-listen", addr.as_str()],
            "(the simulated Slack)",
        ),
    ] {
        let (ok, stderr) = serve(&new, &args);
        assert!(!ok, "{stderr}");
        assert!(
            stderr.contains(&format!("listening on {addr} {what}")),
            "{stderr}"
        );
        assert!(
            !dir.0.join("new").exists(),
            "no data folder (nor its parent) left behind: {stderr}"
        );
        assert!(!stderr.contains('\u{1b}'), "no colour codes: {stderr:?}");

        let existing = dir.0.join("existing");
        std::fs::create_dir_all(&existing).unwrap();
        std::fs::write(existing.join("notes.txt"), "mine").unwrap();
        let (ok, stderr) = serve(&existing, &args);
        assert!(!ok, "{stderr}");
        assert_eq!(listing(&existing), ["notes.txt"], "{stderr}");
        assert_eq!(
            std::fs::read_to_string(existing.join("notes.txt")).unwrap(),
            "mine"
        );
    }
    drop(taken);
}

#[test]
fn a_start_failing_after_creating_the_folder_removes_it_and_says_so_without_colour() {
    let dir = TempDir::new("failed-start-later");
    let new = dir.0.join("data");
    let missing = dir.0.join("no-such-workspace.json");
    let (ok, stderr) = serve(
        &new,
        &[
            "--listen",
            "127.0.0.1:0",
            "--slack-listen",
            "127.0.0.1:0",
            "--workspace",
            missing.to_str().unwrap(),
        ],
    );
    assert!(!ok, "{stderr}");
    assert!(!new.exists(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "INFO lms_harness::web::server: the start failed: removed the data folder {} it had created",
            new.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no colour codes: {stderr:?}");
}
