//! The bindings of `lms:connector@0.1.0` (`wit/deps/lms-connector-0.1.0/connector.wit`, frozen): the host's view of
//! the contract's first version. Its types are the host's types in every version ([`crate::wit`]): version 0.2.0
//! reuses them.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "lms:connector/lms-connector@0.1.0",
    imports: { default: trappable },
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

/// The contract's types (`lms:connector/types@0.1.0`).
pub use lms::connector0_1_0::types as wit;
/// The host's side of the imports: settings, users and log.
pub use lms::connector0_1_0::{log, settings, types, users};
