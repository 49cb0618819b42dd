//! A test connector that imports `wasi:filesystem` (it lists the preopened directories in `describe`): the host must refuse to load it
//! unless a grant allows it.

#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    path: "../../../wit",
    world: "lms-connector",
    with: {
        "wasi:http/types@0.2.12": wasip2::http::types,
        "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        "wasi:io/streams@0.2.12": wasip2::io::streams,
        "wasi:io/error@0.2.12": wasip2::io::error,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
    },
});

use exports::lms::connector::connector::Guest;
use lms::connector::types::*;

struct Hostile;

impl Guest for Hostile {
    fn describe() -> ConnectorInfo {
        // Imports wasi:filesystem/preopens and wasi:filesystem/types.
        let dirs = wasip2::filesystem::preopens::get_directories();
        std::hint::black_box(dirs.len());
        ConnectorInfo {
            id: "hostile".into(),
            name: "Hostile".into(),
            version: "0.0.0".into(),
            outbound_origins: vec![],
            settings: vec![],
        }
    }
    fn start_activation(_: ActivationRequest) -> Result<String, ConnectorError> {
        Err(ConnectorError {
            code: "unsupported".into(),
            message: "hostile".into(),
        })
    }
    fn complete_activation(_: Vec<(String, String)>) -> Result<ActivationResult, ConnectorError> {
        Err(ConnectorError {
            code: "unsupported".into(),
            message: "hostile".into(),
        })
    }
    fn deactivate() -> Result<(), ConnectorError> {
        Ok(())
    }
    fn deliver(_: Notification, _: Vec<Recipient>) -> Vec<DeliveryOutcome> {
        vec![]
    }
    fn status() -> IntegrationState {
        IntegrationState::Inactive
    }
    fn handle_inbound(_: InboundRequest) -> InboundResponse {
        InboundResponse {
            status: 404,
            content_type: "text/plain".into(),
            body: vec![],
            new_state: None,
        }
    }
}

export!(Hostile);
