//! Builds WebAssembly components (`wasm32-wasip2`) from a build script.
//!
//! A `rust-toolchain.toml` that lists a target does not make rustup add it to a toolchain that is already installed,
//! so a fresh machine often has the pinned toolchain without `wasm32-wasip2`. [`build`] checks the toolchain's
//! sysroot first and, when the target's standard library is missing, runs `rustup target add` for the toolchain in
//! use, saying so in the build output. The components are built by a nested cargo with its own target folder, so
//! that the outer build's lock is not needed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every component is built for.
pub const TARGET: &str = "wasm32-wasip2";

/// What to build.
pub struct Build<'a> {
    /// The workspace root (where `Cargo.lock` is).
    pub workspace: &'a Path,
    /// The packages to build.
    pub packages: &'a [&'a str],
    /// The cargo profile (`release`, or a custom one such as `component`).
    pub profile: &'a str,
    /// The target folder of the nested build, apart from the outer build's.
    pub target_dir: PathBuf,
}

impl Build<'_> {
    /// The path of the component a package's library builds to (`my-connector` → `…/my_connector.wasm`).
    pub fn output(&self, package: &str) -> PathBuf {
        self.target_dir
            .join(TARGET)
            .join(self.profile)
            .join(format!("{}.wasm", package.replace('-', "_")))
    }

    /// Makes sure the target is installed, then builds every package. Panics with a clear message on failure, as a
    /// build script must.
    pub fn run(&self) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        ensure_target(&cargo);
        let mut command = Command::new(&cargo);
        command
            .current_dir(self.workspace)
            .args(["build", "--target", TARGET, "--profile", self.profile])
            .arg("--target-dir")
            .arg(&self.target_dir);
        for package in self.packages {
            command.args(["-p", package]);
        }
        // The outer build's wrappers and flags are for the host, not for the wasm target.
        for var in [
            "RUSTC_WORKSPACE_WRAPPER",
            "RUSTC_WRAPPER",
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTFLAGS",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET",
        ] {
            command.env_remove(var);
        }
        let status = command
            .status()
            .unwrap_or_else(|e| panic!("running `{cargo}` to build {:?}: {e}", self.packages));
        assert!(
            status.success(),
            "building the components {:?} for {TARGET} failed",
            self.packages
        );
    }
}

/// Whether the toolchain that `rustc` belongs to has the standard library for [`TARGET`].
fn target_installed(rustc: &str) -> bool {
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .join("lib")
        .is_dir()
}

/// Adds [`TARGET`] through rustup when the toolchain lacks it.
fn ensure_target(cargo: &str) {
    // The nested cargo uses the rustc next to it (rustup's proxy resolves the same toolchain through
    // RUSTUP_TOOLCHAIN, which rustup sets for the outer build).
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if target_installed(&rustc) {
        return;
    }
    println!(
        "cargo:warning=the Rust toolchain has no {TARGET} target yet; adding it with `rustup target add {TARGET}` (once)"
    );
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Ok(toolchain) = std::env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    let status = rustup.status();
    match status {
        Ok(s) if s.success() && target_installed(&rustc) => {}
        Ok(_) | Err(_) => panic!(
            "the {TARGET} target is missing and `rustup target add {TARGET}` did not add it ({status:?}); \
             install it by hand with `rustup target add {TARGET}` (cargo: {cargo})"
        ),
    }
}
