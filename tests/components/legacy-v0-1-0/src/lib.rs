//! A connector of contract 0.1.0 (`wit/deps/lms-connector-0.1.0/`), for tests only, built straight from the frozen
//! WIT as a connector written before 0.2.0 was: the host must keep loading it. `deliver` sends nothing and answers
//! `sent` for every recipient, `already-sent` from the second attempt on (0.1.0 has no `earlier-post`), with the
//! conversation `legacy` and the recipient's attempt as the message id.

#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    path: "../../../wit",
    world: "lms:connector/lms-connector@0.1.0",
    generate_all,
});

use exports::lms::connector0_1_0::connector::Guest;
use lms::connector0_1_0::types::{
    ActivationRequest, ActivationResult, ConnectorError, ConnectorInfo, DeliveryOutcome,
    InboundRequest, InboundResponse, IntegrationState, Notification, Outcome, Recipient, Sent,
};

struct Legacy;

impl Guest for Legacy {
    fn describe() -> ConnectorInfo {
        ConnectorInfo {
            id: "legacy".into(),
            name: "Legacy".into(),
            version: "0.1.0".into(),
            outbound_origins: vec![],
            settings: vec![],
        }
    }

    fn start_activation(_: ActivationRequest) -> Result<String, ConnectorError> {
        Err(ConnectorError {
            code: "unsupported".into(),
            message: "no activation".into(),
        })
    }

    fn complete_activation(_: Vec<(String, String)>) -> Result<ActivationResult, ConnectorError> {
        Err(ConnectorError {
            code: "unsupported".into(),
            message: "no activation".into(),
        })
    }

    fn deactivate() -> Result<(), ConnectorError> {
        Ok(())
    }

    fn deliver(_: Notification, recipients: Vec<Recipient>) -> Vec<DeliveryOutcome> {
        recipients
            .into_iter()
            .map(|r| DeliveryOutcome {
                outcome: Outcome::Sent(Sent {
                    conversation: "legacy".into(),
                    message_id: r.attempt.to_string(),
                    already_sent: r.attempt > 1,
                }),
                delivery_id: r.delivery_id,
            })
            .collect()
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

export!(Legacy);
