//! The LMS's pages, each handler beside its template.

pub(super) mod connectors;
pub(super) mod deliveries;
pub(super) mod notifications;
pub(super) mod paths;
pub(super) mod reminders;
pub(super) mod sessions;
pub(super) mod vendor;
