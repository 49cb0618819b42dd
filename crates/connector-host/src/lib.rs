//! The host side of the `lms:connector` contract: loads connector components that the platform does not trust and
//! runs them in a wasmtime sandbox. It knows no particular connector and no particular database.
//!
//! - [`Policy`]: what the operator grants ([`grants::Grants`]) intersected with what the connector declares
//!   ([`manifest::Manifest`]); the component's real imports ([`surface::Surface`]) are checked against it before
//!   anything runs, and only those imports are linked ([`link`]).
//! - [`Sandbox`]: one loaded connector; a fresh, limited store per call ([`Limits`]), stderr captured, repeated
//!   failures disabling it on a platform ([`health`]).
//! - [`store::ConnectorStore`]: the LMS's side of the contract (settings, secrets, users, log, alerts). An LMS embeds
//!   this crate by implementing it.
//! - [`outbound`]: the one place where outbound HTTP is allowed, denied, routed and limited.
//! - [`audit`]: what a security reviewer reads: a component's hash, manifest, grants and real imports, and every
//!   difference between them.

pub mod audit;
pub mod bindings;
mod cache;
mod capture;
mod cpu;
pub mod grants;
pub mod health;
mod imports;
pub mod inbound;
mod limits;
pub mod link;
pub mod manifest;
pub mod outbound;
mod pending;
mod policy;
pub mod progress;
pub mod rates;
pub mod redact;
mod sandbox;
mod scheduling;
mod state;
pub mod store;
pub mod surface;
pub mod untrusted;

/// The contract's types as the host uses them, whatever version a connector implements: those of 0.1.0, which
/// later versions reuse, and the notification, recipient and updates of 0.3.0 (given to a connector of an earlier
/// version without what it does not know).
pub mod wit {
    pub use crate::bindings::v0_1_0::wit::{
        ActivationRequest, ActivationResult, ConnectorError, ConnectorInfo, DeliveryOutcome,
        Failure, FailureKind, InboundRequest, InboundResponse, IntegrationState, Outcome,
        PlatformGroup, Sent, Session, SettingSpec, SkipReason, UnixSeconds, User, UserPage,
        Workspace,
    };
    pub use crate::bindings::v0_3_0::types::{
        MessageRef, MessageUpdate, Notification, NotificationKind, Recipient, SessionChange,
    };
}
pub use limits::{EPOCH_TICK, FUEL_PER_TICK, Limits, THROTTLE_AFTER};
pub use policy::Policy;
pub use sandbox::{DEFAULT_POOL_INSTANCES, MAX_POOLED_MEMORY, POOL_ENV, Sandbox};
pub use scheduling::CALL_THREADS_ENV;
pub use store::ConnectorStore;
/// The wasmtime engine type, for callers that keep the one [`Sandbox::engine`] returns.
pub use wasmtime::Engine;
