//! The guest SDK for LMS connectors: everything a connector needs to implement the `lms:connector@0.3.0` contract
//! (`wit/connector.wit`, world `lms-connector`) as a WASI 0.2 component.
//!
//! - [`Connector`]: one function per export of the contract; only [`Connector::describe`] is required, the others
//!   default to a polite refusal (see each one).
//! - [`Context`]: what each call may use, the host's services as traits ([`ports`]): [`Settings`], [`Log`],
//!   [`Users`], an HTTP [`Transport`] and delivery [`Progress`], plus the time.
//! - [`types`]: plain Rust mirrors of the contract's records and variants.
//! - [`export_connector!`]: exports a [`Connector`] from a component.
//! - On `wasm32` only: `bindings` (what `wit_bindgen` generates for the world) and `host` (the ports over the
//!   component's imports, wasi:http included).
//! - With the feature `fakes`: `fakes`, in-memory ports for native tests.
//!
//! Everything except `bindings`, `host` and the export itself compiles natively, so a connector's logic is a plain
//! library tested with `cargo test`; only the component build (`--target wasm32-wasip2`) binds it to the host.
//!
//! # A minimal connector
//!
//! A connector that posts each notification's title to a webhook. Its crate is a `cdylib` (for the component) and
//! depends on `connector-api` only.
//!
//! ```
//! use connector_api::{
//!     Connector, ConnectorInfo, Context, DeliveryOutcome, Failure, FailureKind, HttpRequest,
//!     Notification, Outcome, Ports, Recipient, Sent, Transport,
//! };
//!
//! /// Posts every notification to a webhook, once per recipient.
//! pub struct Webhook;
//!
//! impl Connector for Webhook {
//!     fn describe() -> ConnectorInfo {
//!         ConnectorInfo {
//!             id: "webhook".into(),
//!             name: "Webhook".into(),
//!             version: "0.1.0".into(),
//!             outbound_origins: vec!["https://hooks.example/".into()],
//!             settings: vec![],
//!         }
//!     }
//!
//!     fn deliver(
//!         ctx: &mut Context<impl Ports>,
//!         notification: Notification,
//!         recipients: Vec<Recipient>,
//!     ) -> Vec<DeliveryOutcome> {
//!         recipients
//!             .into_iter()
//!             .map(|r| {
//!                 let text = format!("{}: {}", r.user.email, notification.title);
//!                 let request = HttpRequest::post("https://hooks.example/send", text);
//!                 let outcome = match ctx.transport.send(request) {
//!                     Ok(response) if response.status == 200 => Outcome::Sent(Sent {
//!                         conversation: r.user.id.clone(),
//!                         message_id: r.delivery_id.clone(),
//!                         already_sent: false,
//!                     }),
//!                     Ok(response) => Outcome::Failed(Failure::new(
//!                         FailureKind::Transient,
//!                         format!("http_{}", response.status),
//!                         "The webhook did not take the message.",
//!                     )),
//!                     Err(e) => Outcome::Failed(Failure::new(
//!                         FailureKind::Transient,
//!                         "transport",
//!                         e.to_string(),
//!                     )),
//!                 };
//!                 DeliveryOutcome { delivery_id: r.delivery_id, outcome }
//!             })
//!             .collect()
//!     }
//! }
//!
//! // In the component (wasm32), this exports `Webhook` as `lms:connector/connector`; natively it only checks that
//! // `Webhook` is a `Connector`.
//! connector_api::export_connector!(Webhook);
//!
//! // Natively, the same code runs over any ports: here a transport that answers 200 to everything.
//! struct Accept;
//! impl Transport for Accept {
//!     fn send(
//!         &mut self,
//!         _: HttpRequest,
//!     ) -> Result<connector_api::HttpResponse, connector_api::TransportError> {
//!         Ok(connector_api::HttpResponse { status: 200, headers: vec![], body: vec![] })
//!     }
//! }
//! # struct NoSettings;
//! # impl connector_api::Settings for NoSettings {
//! #     fn get(&self, _: &str) -> Option<String> { None }
//! #     fn set(&mut self, _: &str, _: &str) -> Result<(), String> { Err("read-only".into()) }
//! #     fn remove(&mut self, _: &str) {}
//! #     fn get_secret(&self, _: &str) -> Option<String> { None }
//! #     fn set_secret(&mut self, _: &str, _: &str) -> Result<(), String> { Err("read-only".into()) }
//! #     fn remove_secret(&mut self, _: &str) {}
//! # }
//! # struct NoLog;
//! # impl connector_api::Log for NoLog { fn write(&mut self, _: connector_api::Level, _: &str) {} }
//! # struct NoUsers;
//! # impl connector_api::Users for NoUsers {
//! #     fn get(&self, _: &str) -> Option<connector_api::User> { None }
//! #     fn page(&self, _: Option<&str>, _: u32) -> connector_api::UserPage { Default::default() }
//! # }
//! let mut ctx = Context::new(NoSettings, NoLog, Accept, NoUsers);
//! let notification = Notification {
//!     id: "n1".into(),
//!     kind: connector_api::NotificationKind::PathStep,
//!     title: "Hello".into(),
//!     session: None,
//!     body: None,
//!     group: Default::default(),
//! };
//! let recipient = Recipient { delivery_id: "d1".into(), attempt: 1, ..Default::default() };
//! let outcomes = Webhook::deliver(&mut ctx, notification, vec![recipient]);
//! assert!(matches!(outcomes[0].outcome, Outcome::Sent(_)));
//! // Whatever it does not implement declines politely.
//! assert_eq!(Webhook::status(&mut ctx), connector_api::IntegrationState::Inactive);
//! ```

#![warn(missing_docs)]

pub mod connector;
pub mod ports;
pub mod types;

#[cfg(any(test, feature = "fakes"))]
pub mod fakes;

#[cfg(target_arch = "wasm32")]
pub mod bindings;
#[cfg(target_arch = "wasm32")]
mod convert;
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod export;
#[cfg(target_arch = "wasm32")]
pub mod host;

pub use connector::{Connector, Context, Ports, UNSUPPORTED};
pub use ports::{
    HttpRequest, HttpResponse, Level, Log, Method, Progress, Settings, Transport, TransportError,
    Unreported, Users, Window,
};
pub use types::*;

/// Exports a [`Connector`] from a component: `connector_api::export_connector!(MyConnector);`, once, in the
/// component's crate (a `cdylib`).
///
/// On `wasm32` it implements the generated `Guest` trait for the connector (converting every argument and answer
/// between the bindings and the [`types`], and giving each call a [`Context`] of the host's ports) and calls the
/// generated export macro. On other targets it only checks that the type is a [`Connector`], so the line may stay
/// unconditional.
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __ConnectorApiExport = $crate::export::Export<$connector>;
    $crate::bindings::export!(__ConnectorApiExport with_types_in $crate::bindings);
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn is_a_connector<C: $crate::Connector>() {}
            let _ = is_a_connector::<$connector>;
        };
    };
}

#[cfg(test)]
mod tests {
    use super::fakes::{MemoryLog, MemorySettings, MemoryUsers, NoTransport};
    use super::*;

    struct Minimal;

    impl Connector for Minimal {
        fn describe() -> ConnectorInfo {
            ConnectorInfo {
                id: "minimal".into(),
                ..ConnectorInfo::default()
            }
        }
    }

    export_connector!(Minimal);

    #[test]
    fn the_defaults_decline_politely() {
        let (mut settings, mut log) = (MemorySettings::default(), MemoryLog::default());
        let mut ctx =
            Context::new(&mut settings, &mut log, NoTransport, MemoryUsers::default()).at(42);
        assert_eq!(ctx.now(), 42);
        assert_eq!(Minimal::describe().id, "minimal");
        let e = Minimal::start_activation(&mut ctx, ActivationRequest::default()).unwrap_err();
        assert_eq!(e.code, UNSUPPORTED);
        let e = Minimal::complete_activation(&mut ctx, vec![]).unwrap_err();
        assert_eq!(e.code, UNSUPPORTED);
        assert_eq!(Minimal::deactivate(&mut ctx), Ok(()));
        assert_eq!(Minimal::status(&mut ctx), IntegrationState::Inactive);
        let notification = Notification {
            id: "n".into(),
            kind: NotificationKind::PathStep,
            title: "t".into(),
            session: None,
            body: None,
            group: PlatformGroup::default(),
        };
        let recipients = ["a", "b"].map(|id| Recipient {
            delivery_id: id.into(),
            attempt: 1,
            ..Recipient::default()
        });
        let outcomes = Minimal::deliver(&mut ctx, notification, recipients.to_vec());
        assert_eq!(outcomes.len(), 2);
        assert_eq!(outcomes[1].delivery_id, "b");
        assert!(matches!(&outcomes[0].outcome, Outcome::Failed(f)
            if f.kind == FailureKind::Permanent && f.code == UNSUPPORTED && f.retry_after_ms.is_none()));
        let r = Minimal::handle_inbound(&mut ctx, InboundRequest::default());
        assert_eq!(r, InboundResponse::not_found());
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.len()),
            (404, "text/plain", 0)
        );
        assert!(settings.plain.is_empty() && log.lines.is_empty());
    }
}
