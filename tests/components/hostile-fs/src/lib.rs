//! A test connector that imports `wasi:filesystem` (it lists the preopened directories in `describe`): the host must
//! refuse to load it unless a grant allows it. The SDK offers no filesystem, so this goes to `wasip2` directly; every
//! other export is the SDK's default.

#![cfg(target_arch = "wasm32")]

use connector_api::{Connector, ConnectorInfo};

struct Hostile;

impl Connector for Hostile {
    fn describe() -> ConnectorInfo {
        // Imports wasi:filesystem/preopens and wasi:filesystem/types.
        let dirs = wasip2::filesystem::preopens::get_directories();
        std::hint::black_box(dirs.len());
        ConnectorInfo::named("hostile", "Hostile", "0.0.0")
    }
}

connector_api::export_connector!(Hostile);
