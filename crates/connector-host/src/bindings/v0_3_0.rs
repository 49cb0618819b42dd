//! The bindings of `lms:connector@0.3.0` (`wit/connector.wit`): the types, settings, users and log of 0.1.0 and the
//! `progress` of 0.2.0 (the same Rust types, through `with`), a notification with the reminder kind, a recipient that
//! may reply to an earlier message, and `update`.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "lms:connector/lms-connector@0.3.0",
    imports: { default: trappable },
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "lms:connector/types@0.1.0": super::v0_1_0::types,
        "lms:connector/settings@0.1.0": super::v0_1_0::settings,
        "lms:connector/users@0.1.0": super::v0_1_0::users,
        "lms:connector/log@0.1.0": super::v0_1_0::log,
        "lms:connector/progress@0.2.0": super::v0_2_0::progress,
    },
});

/// The types 0.3.0 adds or changes (`lms:connector/types@0.3.0`).
pub use lms::connector0_3_0::types;
