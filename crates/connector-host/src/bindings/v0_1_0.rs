//! The bindings of `lms:connector@0.1.0`, generated from `wit/connector.wit`: the host's view of the contract in
//! its first version. A later version of the contract gets a module of its own beside this one.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "lms-connector",
    imports: { default: trappable },
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

/// The contract's types (`lms:connector/types@0.1.0`).
pub use lms::connector::types as wit;
/// The host's side of the imports: settings, users and log.
pub use lms::connector::{log, settings, types, users};
