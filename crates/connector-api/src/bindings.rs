//! The bindings `wit_bindgen` generates for the `lms-connector` world of `wit/connector.wit` (on `wasm32` only).
//!
//! The wasi:http, wasi:io and wasi:clocks types the world uses are those of the `wasip2` crate, so that its
//! bindings and these interoperate. The export macro is public (`connector_api::bindings::export!`): connectors use
//! [`export_connector!`](crate::export_connector), which calls it.
//!
//! Most connectors never touch these: the [`ports`](crate::ports) and [`types`](crate::types) mirror them.

#![allow(missing_docs, clippy::all)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "lms-connector",
    with: {
        "wasi:http/types@0.2.12": wasip2::http::types,
        "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        "wasi:io/streams@0.2.12": wasip2::io::streams,
        "wasi:io/error@0.2.12": wasip2::io::error,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
    },
    // The interfaces of `lms:connector@0.1.0` and `@0.2.0` that 0.3.0 reuses (types, settings, users, log,
    // progress) are generated here too.
    generate_all,
    pub_export_macro: true,
    default_bindings_module: "connector_api::bindings",
});
