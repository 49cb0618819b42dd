//! Every command that opens a data folder refuses a folder it cannot work with, saying which file, what happened
//! and what to do: a missing or other secrets key while secrets are sealed (restore it, or `secrets reset`), and a
//! damaged database (restore it from a backup).

#[path = "support/cli.rs"]
mod cli;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use cli::{Run, lms_harness};
use lms_harness::web::{ServeOptions, start};
use std::path::Path;
use temp_dir::TempDir;

/// A data folder seeded as `serve` seeds it (the simulated app's two secrets sealed), with one user imported.
fn seeded_folder(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    let csv = dir.0.join("users.csv");
    std::fs::write(
        &csv,
        "id,email,name,locale,time_zone\nu1,ines@script.example,Inès,fr-FR,Europe/Paris\n",
    )
    .unwrap();
    let data = dir.0.join("data");
    let import = lms_harness(&[
        "users".as_ref(),
        "import".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        csv.as_os_str(),
    ]);
    assert!(import.ok, "{}", import.stderr);
    dir
}

/// `deliveries --data DIR` (the delivery log) and `invite` on the folder.
fn open_with_cli(data: &Path) -> [Run; 2] {
    let data = data.to_str().unwrap();
    [
        lms_harness(&["deliveries", "--data", data]),
        lms_harness(&["invite", "--data", data, "--session", "onboarding-2026-12"]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_other_key_refuses_every_command_until_restored_or_reset() {
    let dir = seeded_folder("lost-key");
    let data = dir.0.join("data");
    let key = data.join("secrets.key");
    let kept = std::fs::read(&key).unwrap();

    std::fs::remove_file(&key).unwrap();
    for run in open_with_cli(&data) {
        assert!(!run.ok, "{}", run.stdout);
        for said in [
            format!("the key file {} is missing", key.display()),
            "holds 2 secrets sealed with it".into(),
            format!("restore {} from a backup", key.display()),
            format!("lms-harness secrets reset --data {} --yes", data.display()),
        ] {
            assert!(run.stderr.contains(&said), "{said}: {}", run.stderr);
        }
    }
    assert!(!key.exists(), "no new key replaced the lost one");
    // serve refuses too, before listening.
    let e = start(ServeOptions::local(data.clone()))
        .await
        .err()
        .unwrap();
    assert!(format!("{e:#}").contains("is missing"), "{e:#}");
    assert!(!key.exists());

    std::fs::write(&key, "0".repeat(64)).unwrap();
    for run in open_with_cli(&data) {
        assert!(
            run.stderr.contains(&format!(
                "the key in {} does not open 2 of the 2 secrets",
                key.display()
            )),
            "{}",
            run.stderr
        );
    }

    // The key restored from a backup: everything works again.
    std::fs::write(&key, &kept).unwrap();
    for run in open_with_cli(&data) {
        assert!(run.ok, "{}", run.stderr);
    }

    // Lost for good: the reset asks for --yes, then forgets them; a new key is made at the next start.
    std::fs::remove_file(&key).unwrap();
    let data_arg = data.to_str().unwrap();
    let unsure = lms_harness(&["secrets", "reset", "--data", data_arg]);
    assert!(
        !unsure.ok && unsure.stderr.contains("Run again with --yes"),
        "{}",
        unsure.stderr
    );
    assert!(
        !open_with_cli(&data)[0].ok,
        "nothing was forgotten without --yes"
    );
    let reset = lms_harness(&["secrets", "reset", "--data", data_arg, "--yes"]);
    assert!(reset.ok, "{}", reset.stderr);
    assert!(
        reset.stdout.contains("Forgot 2 sealed secrets"),
        "{}",
        reset.stdout
    );
    assert!(
        reset.stdout.contains("Admins alerted on: acme."),
        "{}",
        reset.stdout
    );
    for run in open_with_cli(&data) {
        assert!(run.ok, "{}", run.stderr);
    }
    assert!(key.exists());
}

#[test]
fn a_damaged_database_is_refused_naming_the_file_and_what_to_do() {
    let dir = seeded_folder("damaged");
    let data = dir.0.join("data");
    let database = data.join("lms.sqlite3");
    let mut bytes = std::fs::read(&database).unwrap();
    assert!(bytes.len() >= 8 * 4096, "{} bytes", bytes.len());
    for b in &mut bytes[2 * 4096..6 * 4096] {
        *b = 0x5A;
    }
    std::fs::write(&database, &bytes).unwrap();
    for run in open_with_cli(&data) {
        assert!(!run.ok, "{}", run.stdout);
        for said in [
            format!("the database {} is damaged", database.display()),
            "Nothing was changed".into(),
            "restore it from a backup".into(),
        ] {
            assert!(run.stderr.contains(&said), "{said}: {}", run.stderr);
        }
    }
}
