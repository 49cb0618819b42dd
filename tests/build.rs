//! Builds the test-only components under `tests/components/` for `wasm32-wasip2`, in their own target folder.

use std::path::PathBuf;
use std::process::Command;

const COMPONENTS: &[(&str, &str)] = &[
    ("probe-connector", "probe_connector"),
    ("hostile-connector", "hostile_connector"),
    ("hostile-fs-connector", "hostile_fs_connector"),
    ("hostile-sockets-connector", "hostile_sockets_connector"),
];

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .parent()
        .unwrap()
        .to_path_buf();
    for path in ["tests/components", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    let target_dir = root.join("target").join("test-components");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args([
            "build",
            "--target",
            "wasm32-wasip2",
            "--release",
            "--target-dir",
        ])
        .arg(&target_dir);
    for (package, _) in COMPONENTS {
        command.args(["-p", package]);
    }
    let status = command
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .expect("running cargo to build the test components");
    assert!(status.success(), "building the test components failed");
    for (package, file) in COMPONENTS {
        let wasm = target_dir
            .join("wasm32-wasip2")
            .join("release")
            .join(format!("{file}.wasm"));
        let var = package.to_uppercase().replace('-', "_");
        println!("cargo:rustc-env={var}_WASM={}", wasm.display());
    }
}
