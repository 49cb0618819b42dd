//! A data folder as a script makes one: `lms-harness users import` of a CSV of learners (the demo platform, its users
//! and its session, plus those learners).

use crate::cli::lms_harness;
use std::path::Path;

/// The data folder `DIR/data`, seeded by `users import` with the learners of `csv` (written to `DIR/users.csv`).
pub fn imported_folder(dir: &Path, csv: &str) -> String {
    let users = dir.join("users.csv");
    std::fs::write(&users, csv).unwrap();
    let data = dir.join("data");
    let import = lms_harness(&[
        "users",
        "import",
        "--data",
        data.to_str().unwrap(),
        users.to_str().unwrap(),
    ]);
    assert!(import.ok, "{}", import.stderr);
    data.to_str().unwrap().to_string()
}
