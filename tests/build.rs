//! Builds the test-only components under `tests/components/` for `wasm32-wasip2`, in their own target folder, and
//! tells the tests where each one is (`PROBE_CONNECTOR_WASM`, …).

use std::path::PathBuf;

const COMPONENTS: &[&str] = &[
    "probe-connector",
    "hostile-connector",
    "hostile-fs-connector",
    "hostile-sockets-connector",
    "hostile-resources-connector",
    "legacy-v0-1-0-connector",
];

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .parent()
        .unwrap()
        .to_path_buf();
    for path in [
        "tests/components",
        "crates/connector-api",
        "wit",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    let build = component_build::Build {
        workspace: &root,
        packages: COMPONENTS,
        profile: "release",
        target_dir: root.join("target").join("test-components"),
    };
    build.run();
    for package in COMPONENTS {
        let var = package.to_uppercase().replace('-', "_");
        println!(
            "cargo:rustc-env={var}_WASM={}",
            build.output(package).display()
        );
    }
}
