//! Builds the connector component (`plugin/`, for `wasm32-wasip2`, size profile) so that the harness can embed it
//! as its default connector. A nested cargo with its own target folder avoids the outer build's lock.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for path in [
        "plugin/src",
        "plugin/locales",
        "plugin/Cargo.toml",
        "plugin/build.rs",
        "wit",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=LMS_CONNECTOR_WASM");
    if let Ok(prebuilt) = std::env::var("LMS_CONNECTOR_WASM") {
        println!("cargo:rustc-env=CONNECTOR_WASM={prebuilt}");
        return;
    }
    let target_dir = root.join("target").join("component-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "-p",
            "slack-connector",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "component",
            "--target-dir",
        ])
        .arg(&target_dir)
        // The outer build's wrappers and flags are for the host, not for the wasm target.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .expect("running cargo to build the connector component");
    assert!(status.success(), "building the connector component failed");
    let wasm = target_dir
        .join("wasm32-wasip2")
        .join("component")
        .join("slack_connector.wasm");
    println!("cargo:rustc-env=CONNECTOR_WASM={}", wasm.display());
}
