//! Builds the Slack connector component (`crates/slack-connector`, for `wasm32-wasip2`, size profile) so that the
//! harness can embed it as its default connector. `LMS_CONNECTOR_WASM` names a prebuilt component instead.

use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    for path in [
        "crates/slack-connector/src",
        "crates/slack-connector/locales",
        "crates/slack-connector/Cargo.toml",
        "crates/slack-connector/build.rs",
        "crates/connector-api",
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
    let build = component_build::Build {
        workspace: &root,
        packages: &["slack-connector"],
        profile: "component",
        target_dir: root.join("target").join("component-build"),
    };
    build.run();
    println!(
        "cargo:rustc-env=CONNECTOR_WASM={}",
        build.output("slack-connector").display()
    );
}
