//! The guest side of the contract: the [`Connector`] trait (one method per export of the WIT `connector` interface)
//! and the [`Context`] each call gets, holding the host's services.

use crate::ports::{Log, Progress, Settings, Transport, Unreported, Users};
use crate::types::{
    ActivationRequest, ActivationResult, ConnectorError, ConnectorInfo, DeliveryOutcome, Failure,
    FailureKind, InboundRequest, InboundResponse, IntegrationState, MessageUpdate, Notification,
    Recipient, SessionChange, UnixSeconds,
};

/// The code of the errors and failures of the [`Connector`] methods a connector does not implement.
pub const UNSUPPORTED: &str = "unsupported";

/// The set of port types a [`Context`] holds.
///
/// Implemented for every tuple `(settings, log, transport, users)` of port types (whose progress is
/// [`Unreported`]) and `(settings, log, transport, users, progress)`: in the component the host's
/// (`host::HostPorts`, on `wasm32`), natively whatever a test assembles, such as
/// `(MemorySettings, MemoryLog, NoTransport, MemoryUsers)` from `fakes`. The ports are static types, not trait
/// objects, so that a component only imports what its code really calls.
pub trait Ports {
    /// The settings store.
    type Settings: Settings;
    /// The log.
    type Log: Log;
    /// The HTTP transport.
    type Transport: Transport;
    /// The LMS directory.
    type Users: Users;
    /// Where delivery progress is reported.
    type Progress: Progress;
}

impl<S: Settings, L: Log, T: Transport, U: Users> Ports for (S, L, T, U) {
    type Settings = S;
    type Log = L;
    type Transport = T;
    type Users = U;
    type Progress = Unreported;
}

impl<S: Settings, L: Log, T: Transport, U: Users, R: Progress> Ports for (S, L, T, U, R) {
    type Settings = S;
    type Log = L;
    type Transport = T;
    type Users = U;
    type Progress = R;
}

/// What one call of a connector may use: the host's settings, log, HTTP transport and directory, and the time.
///
/// The fields are public so that a connector can borrow several ports at once (`&mut ctx.settings` and
/// `&mut ctx.transport`).
pub struct Context<P: Ports> {
    /// The connector's settings and secrets on this platform.
    pub settings: P::Settings,
    /// The host's log.
    pub log: P::Log,
    /// Outbound HTTP.
    pub transport: P::Transport,
    /// The LMS directory.
    pub users: P::Users,
    /// Where the progress of a delivery is reported ([`Progress`]).
    pub progress: P::Progress,
    now: Option<UnixSeconds>,
}

impl<S: Settings, L: Log, T: Transport, U: Users> Context<(S, L, T, U)> {
    /// A context over these ports, reading the system clock for [`Context::now`].
    pub fn new(settings: S, log: L, transport: T, users: U) -> Self {
        Context {
            settings,
            log,
            transport,
            users,
            progress: Unreported,
            now: None,
        }
    }

    /// The same context, reporting delivery progress to `progress`.
    pub fn with_progress<R: Progress>(self, progress: R) -> Context<(S, L, T, U, R)> {
        Context {
            settings: self.settings,
            log: self.log,
            transport: self.transport,
            users: self.users,
            progress,
            now: self.now,
        }
    }
}

impl<P: Ports> Context<P> {
    /// The same context with its clock stopped at `now` (for tests).
    pub fn at(mut self, now: UnixSeconds) -> Self {
        self.now = Some(now);
        self
    }

    /// The current time: the instant given to [`Context::at`], else the system clock (wasi:clocks in the
    /// component, read only when asked).
    pub fn now(&self) -> UnixSeconds {
        self.now.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        })
    }
}

/// A connector: one associated function per export of the WIT `connector` interface.
///
/// Only [`Connector::describe`] must be written; every other function has a default that declines politely, so
/// that a connector (or a test component) implements only what it does. Export a connector from a component with
/// [`export_connector!`](crate::export_connector). The functions take no `self`: each call of the host may run in a
/// fresh instance, so whatever must last goes to [`Context::settings`].
///
/// A connector is tested natively by calling these functions with a [`Context`] of fakes.
pub trait Connector {
    /// Describes the connector: its id, name, version, the origins it calls and the settings it reads.
    fn describe() -> ConnectorInfo;

    /// Starts activation: remembers what it needs of `request` and returns the URL to send the admin to.
    ///
    /// Default: an [`UNSUPPORTED`] error.
    fn start_activation(
        _ctx: &mut Context<impl Ports>,
        _request: ActivationRequest,
    ) -> Result<String, ConnectorError> {
        Err(ConnectorError::new(
            UNSUPPORTED,
            "This connector cannot be activated.",
        ))
    }

    /// Completes activation with the query of the callback (name and value pairs, decoded).
    ///
    /// Default: an [`UNSUPPORTED`] error.
    fn complete_activation(
        _ctx: &mut Context<impl Ports>,
        _query: Vec<(String, String)>,
    ) -> Result<ActivationResult, ConnectorError> {
        Err(ConnectorError::new(
            UNSUPPORTED,
            "This connector cannot be activated.",
        ))
    }

    /// Deactivates: uninstalls from the service and forgets credentials.
    ///
    /// Default: nothing to undo, `Ok`.
    fn deactivate(_ctx: &mut Context<impl Ports>) -> Result<(), ConnectorError> {
        Ok(())
    }

    /// Delivers a notification to recipients; returns one outcome per recipient, in the same order.
    ///
    /// Default: every recipient fails permanently with the code [`UNSUPPORTED`].
    fn deliver(
        _ctx: &mut Context<impl Ports>,
        _notification: Notification,
        recipients: Vec<Recipient>,
    ) -> Vec<DeliveryOutcome> {
        DeliveryOutcome::fail_all(
            recipients,
            Failure::new(
                FailureKind::Permanent,
                UNSUPPORTED,
                "This connector does not deliver notifications.",
            ),
        )
    }

    /// Changes messages sent earlier about `notification`'s session so that they show it as it is now
    /// ([`SessionChange::Edited`]: the new values, what changed since [`MessageUpdate::first_shown`], and that the
    /// message was updated; [`SessionChange::Cancelled`]: that the session is cancelled, with nothing left to act
    /// on). Returns one outcome per message, in the same order: [`crate::Outcome::Sent`] with the message's place
    /// when it was changed.
    ///
    /// Default: every message fails permanently with the code [`UNSUPPORTED`].
    fn update(
        _ctx: &mut Context<impl Ports>,
        _notification: Notification,
        _change: SessionChange,
        messages: Vec<MessageUpdate>,
    ) -> Vec<DeliveryOutcome> {
        DeliveryOutcome::fail_all(
            messages.into_iter().map(|m| m.recipient).collect(),
            Failure::new(
                FailureKind::Permanent,
                UNSUPPORTED,
                "This connector does not update the messages it sent.",
            ),
        )
    }

    /// The integration's state.
    ///
    /// Default: [`IntegrationState::Inactive`].
    fn status(_ctx: &mut Context<impl Ports>) -> IntegrationState {
        IntegrationState::Inactive
    }

    /// Handles a request the messaging service sent to the platform.
    ///
    /// Default: [`InboundResponse::not_found`].
    fn handle_inbound(_ctx: &mut Context<impl Ports>, _request: InboundRequest) -> InboundResponse {
        InboundResponse::not_found()
    }
}
