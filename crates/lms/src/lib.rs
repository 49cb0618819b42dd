//! A simulated LMS that hosts connectors, as a real platform would embed `connector-host`.
//!
//! - [`db`]: the store, SQLite by default or PostgreSQL for several hosts (it implements the host's
//!   [`connector_host::ConnectorStore`]; [`sql`] runs its statements on either), with secrets sealed by
//!   [`secrets::SecretBox`]; [`integrity`] checks the file and [`sealed`] the key when it is opened; connectors'
//!   log lines go to a database of their own ([`connector_log`]).
//! - [`integration`]: a platform's integration with a connector and its state (inactive, approval requested,
//!   active, disconnected), activation and deactivation.
//! - [`connector_health`]: a connector disabled after repeated failures, and re-enabling it.
//! - [`invitations`]: inviting a platform's learners to a session, once each, and its subject line.
//! - [`sessions`]: changing and cancelling a session; the messages sent about it are updated in place.
//! - [`reminders`]: reminders of a session before it starts, in each learner's own time.
//! - [`lang`]: the languages of the LMS's pages and texts, chosen by a user's locale.
//! - [`outbox`]: deliveries as data: enqueued, claimed, recorded, retried.
//! - [`retries`]: failed deliveries sent again, by hand or once the integration is active again.
//! - [`workers`]: what drives the outbox: claims due deliveries, calls the connector, records outcomes.
//! - [`scheduler`]: paths' scheduled steps, due once.
//! - [`inbound`]: requests the messaging service sends to the platform, checked and routed to the connector.
//! - [`replay`]: the signed inbound requests seen recently, to refuse replays.

pub mod connector_health;
pub mod connector_log;
pub mod db;
pub mod inbound;
pub mod inbound_guard;
pub mod integration;
pub mod integrity;
pub mod invitations;
pub mod lang;
pub mod lease;
pub mod outbox;
pub mod reminders;
pub mod replay;
pub mod retries;
pub mod scheduler;
pub mod sealed;
pub mod secrets;
pub mod sessions;
pub mod sql;
#[cfg(test)]
mod test_support;
pub mod workers;
