//! The Slack connector for an LMS.
//!
//! Everything Slack-specific lives here, as a plain Rust library that compiles and is tested natively:
//! [`api`] speaks the Slack Web API over any [`api::Transport`], [`render`] builds the Block Kit message,
//! and [`connector`] runs the integration's life (activation, delivery, updates, deactivation, inbound requests) over
//! the host's settings and log; [`app_manifest`] (host side only) is the Slack app it needs, and
//! [`going_live`] what an operator checks against Slack before going live. The contract's types and ports come from the guest SDK, `connector-api`;
//! [`SlackConnector`] is the SDK's `Connector`, which `export_connector!` binds to the WIT contract on `wasm32`.

pub mod api;
#[cfg(not(target_arch = "wasm32"))]
pub mod app_manifest;
pub mod connector;
pub mod directory;
mod envelope;
#[cfg(not(target_arch = "wasm32"))]
pub mod going_live;
pub mod model;
pub mod pacing;
pub mod render;
pub mod stored;

use connector_api::{
    ActivationRequest, ActivationResult, ConnectorError, ConnectorInfo, Context, DeliveryOutcome,
    InboundRequest, InboundResponse, IntegrationState, MessageUpdate, Notification, Outcome, Ports,
    Recipient, SessionChange,
};

/// The Slack connector as the SDK's [`connector_api::Connector`]: every export runs [`connector::Connector`] over
/// the call's ports, at the call's time.
pub struct SlackConnector;

/// Runs `f` on a [`connector::Connector`] over `ctx`'s ports.
fn run<P: Ports, R>(
    ctx: &mut Context<P>,
    f: impl FnOnce(&mut connector::Connector<'_, P::Settings, P::Log, P::Transport>) -> R,
) -> R {
    let now = ctx.now();
    f(&mut connector::Connector::new(
        &mut ctx.settings,
        &mut ctx.log,
        &mut ctx.transport,
        now,
    ))
}

impl connector_api::Connector for SlackConnector {
    fn describe() -> ConnectorInfo {
        connector::DESCRIPTION.info()
    }

    fn start_activation(
        ctx: &mut Context<impl Ports>,
        request: ActivationRequest,
    ) -> Result<String, ConnectorError> {
        run(ctx, |c| {
            c.start_activation(&request.redirect_uri, &request.state)
        })
    }

    fn complete_activation(
        ctx: &mut Context<impl Ports>,
        query: Vec<(String, String)>,
    ) -> Result<ActivationResult, ConnectorError> {
        run(ctx, |c| c.complete_activation(&query))
    }

    fn deactivate(ctx: &mut Context<impl Ports>) -> Result<(), ConnectorError> {
        run(ctx, |c| c.deactivate())
    }

    fn deliver(
        ctx: &mut Context<impl Ports>,
        notification: Notification,
        recipients: Vec<Recipient>,
    ) -> Vec<DeliveryOutcome> {
        let now = ctx.now();
        outcomes(
            connector::Connector::new(&mut ctx.settings, &mut ctx.log, &mut ctx.transport, now)
                .deliver(&notification, &recipients, &mut ctx.progress),
        )
    }

    fn update(
        ctx: &mut Context<impl Ports>,
        notification: Notification,
        change: SessionChange,
        messages: Vec<MessageUpdate>,
    ) -> Vec<DeliveryOutcome> {
        let now = ctx.now();
        outcomes(
            connector::Connector::new(&mut ctx.settings, &mut ctx.log, &mut ctx.transport, now)
                .update(&notification, change, &messages, &mut ctx.progress),
        )
    }

    fn status(ctx: &mut Context<impl Ports>) -> IntegrationState {
        run(ctx, |c| c.status())
    }

    fn handle_inbound(ctx: &mut Context<impl Ports>, request: InboundRequest) -> InboundResponse {
        run(ctx, |c| c.handle_inbound(&request))
    }
}

/// The library's `(delivery id, outcome)` pairs as the contract's outcomes.
fn outcomes(pairs: Vec<(String, Outcome)>) -> Vec<DeliveryOutcome> {
    pairs
        .into_iter()
        .map(|(delivery_id, outcome)| DeliveryOutcome {
            delivery_id,
            outcome,
        })
        .collect()
}

// The component's one export (on wasm32; natively this only checks that `SlackConnector` is a `Connector`).
connector_api::export_connector!(SlackConnector);

#[cfg(test)]
mod tests {
    use super::*;
    use connector_api::fakes::{MemoryLog, MemorySettings, MemoryUsers, NoTransport};
    use connector_api::{Connector as _, NotificationKind, PlatformGroup, SkipReason, User};

    #[test]
    fn the_sdk_connector_describes_slack_and_runs_the_library() {
        let info = SlackConnector::describe();
        assert_eq!((info.id.as_str(), info.name.as_str()), ("slack", "Slack"));
        assert_eq!(info.outbound_origins, [api::SLACK_API]);
        assert!(
            info.settings
                .iter()
                .any(|s| s.key == connector::secrets::BOT_TOKEN && s.secret)
        );
        let (mut settings, mut log) = (MemorySettings::default(), MemoryLog::default());
        let mut ctx = Context::new(&mut settings, &mut log, NoTransport, MemoryUsers::default())
            .at(1_800_000_000);
        assert_eq!(SlackConnector::status(&mut ctx), IntegrationState::Inactive);
        let notification = Notification {
            id: "n".into(),
            kind: NotificationKind::PathStep,
            title: "t".into(),
            session: None,
            body: Some("b".into()),
            group: PlatformGroup::default(),
        };
        let recipient = Recipient {
            user: User::default(),
            delivery_id: "d1".into(),
            attempt: 1,
            earlier_post: None,
            reply_to: None,
        };
        let outcomes = SlackConnector::deliver(&mut ctx, notification, vec![recipient]);
        assert_eq!(outcomes[0].delivery_id, "d1");
        assert!(matches!(
            &outcomes[0].outcome,
            Outcome::Skipped(SkipReason::Inactive(_))
        ));
        // Updates are the connector's own now, not the SDK's "unsupported": inactive here, so skipped as such.
        let update = MessageUpdate {
            recipient: Recipient {
                delivery_id: "d2".into(),
                ..Recipient::default()
            },
            message: connector_api::MessageRef {
                conversation: "D1".into(),
                message_id: "1.0001".into(),
            },
            first_shown: connector_api::Session::default(),
        };
        let outcomes = SlackConnector::update(
            &mut ctx,
            Notification {
                id: "n".into(),
                kind: NotificationKind::SessionAssignment,
                title: "t".into(),
                session: None,
                body: None,
                group: PlatformGroup::default(),
            },
            SessionChange::Cancelled,
            vec![update],
        );
        assert_eq!(outcomes[0].delivery_id, "d2");
        assert!(matches!(
            &outcomes[0].outcome,
            Outcome::Skipped(SkipReason::Inactive(_))
        ));
        let e = SlackConnector::start_activation(
            &mut ctx,
            ActivationRequest {
                redirect_uri: "https://lms/cb".into(),
                state: "0123456789abcdef".into(),
            },
        )
        .unwrap_err();
        assert_eq!(e.code, "not_configured");
    }
}
