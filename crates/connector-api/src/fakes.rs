//! In-memory ports for connectors' native tests (feature `fakes`).
//!
//! ```
//! use connector_api::fakes::{MemoryLog, MemorySettings, MemoryUsers, NoTransport};
//! use connector_api::{Context, Settings};
//!
//! let (mut settings, mut log) = (MemorySettings::default(), MemoryLog::default());
//! let mut ctx = Context::new(&mut settings, &mut log, NoTransport, MemoryUsers::default()).at(1_800_000_000);
//! ctx.settings.set("k", "v").unwrap();
//! assert_eq!(ctx.now(), 1_800_000_000);
//! assert_eq!(settings.get("k").as_deref(), Some("v"));
//! ```

use crate::ports::{
    HttpRequest, HttpResponse, Level, Log, Progress, Settings, Transport, TransportError, Users,
    Window,
};
use crate::types::{DeliveryOutcome, User, UserPage};
use std::collections::{BTreeMap, VecDeque};

/// Settings and secrets in two maps; writes always succeed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemorySettings {
    /// The plain values.
    pub plain: BTreeMap<String, String>,
    /// The secrets.
    pub secret: BTreeMap<String, String>,
}

impl Settings for MemorySettings {
    fn get(&self, key: &str) -> Option<String> {
        self.plain.get(key).cloned()
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        self.plain.insert(key.into(), value.into());
        Ok(())
    }
    fn remove(&mut self, key: &str) {
        self.plain.remove(key);
    }
    fn get_secret(&self, key: &str) -> Option<String> {
        self.secret.get(key).cloned()
    }
    fn set_secret(&mut self, key: &str, value: &str) -> Result<(), String> {
        self.secret.insert(key.into(), value.into());
        Ok(())
    }
    fn remove_secret(&mut self, key: &str) {
        self.secret.remove(key);
    }
}

/// A log that keeps every line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryLog {
    /// The lines written, in order.
    pub lines: Vec<(Level, String)>,
}

impl MemoryLog {
    /// The messages written, without their levels.
    pub fn messages(&self) -> Vec<&str> {
        self.lines.iter().map(|(_, m)| m.as_str()).collect()
    }
}

impl Log for MemoryLog {
    fn write(&mut self, level: Level, message: &str) {
        self.lines.push((level, message.to_string()));
    }
}

/// A directory of users in memory; a page's cursor is the index of its first user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryUsers {
    /// The users, in page order.
    pub users: Vec<User>,
}

impl Users for MemoryUsers {
    fn get(&self, id: &str) -> Option<User> {
        self.users.iter().find(|u| u.id == id).cloned()
    }
    fn page(&self, cursor: Option<&str>, limit: u32) -> UserPage {
        let start = cursor
            .and_then(|c| c.parse().ok())
            .unwrap_or(0usize)
            .min(self.users.len());
        let end = start
            .saturating_add(limit.max(1) as usize)
            .min(self.users.len());
        UserPage {
            users: self.users[start..end].to_vec(),
            next_cursor: (end < self.users.len()).then(|| end.to_string()),
        }
    }
}

/// One report a connector made through [`Progress`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// [`Progress::posting`] of this delivery.
    Posting(String),
    /// [`Progress::outcome`].
    Outcome(DeliveryOutcome),
}

/// Progress reports kept in order, for tests that check what a connector reported and when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryProgress {
    /// The reports, oldest first.
    pub reports: Vec<Report>,
}

impl Progress for MemoryProgress {
    fn posting(&mut self, delivery_id: &str) {
        self.reports.push(Report::Posting(delivery_id.to_string()));
    }
    fn outcome(&mut self, outcome: &DeliveryOutcome) {
        self.reports.push(Report::Outcome(outcome.clone()));
    }
}

/// A transport that sends nothing: every request is [`TransportError::Denied`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoTransport;

impl Transport for NoTransport {
    fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        Err(TransportError::Denied(format!(
            "no transport in this test ({} {})",
            request.method, request.url
        )))
    }
}

/// A transport that notes how many requests each [`Transport::send_all`] had in flight together, and how many a
/// [`Transport::send_window`] had in flight at each answer, and has `inner` answer them.
#[derive(Debug, Default)]
pub struct Waves<T> {
    /// The transport that answers.
    pub inner: T,
    /// The number of requests of each `send_all`, in order.
    pub sizes: Vec<usize>,
    /// The number of requests in flight when each answer of a `send_window` came, in order.
    pub in_flight: Vec<usize>,
}

impl<T> Waves<T> {
    /// Notes the waves sent through `inner`.
    pub fn new(inner: T) -> Self {
        Waves {
            inner,
            sizes: Vec::new(),
            in_flight: Vec::new(),
        }
    }
}

impl<T: Transport> Transport for Waves<T> {
    fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.inner.send(request)
    }
    fn send_all(
        &mut self,
        requests: Vec<HttpRequest>,
    ) -> Vec<Result<HttpResponse, TransportError>> {
        self.sizes.push(requests.len());
        self.inner.send_all(requests)
    }

    /// Takes requests until `window` are in flight, then has `inner` answer the oldest.
    fn send_window(&mut self, window: usize, work: &mut dyn Window) {
        let mut flying = VecDeque::new();
        loop {
            while flying.len() < window.max(1) {
                match work.next() {
                    Some(request) => flying.push_back(request),
                    None => break,
                }
            }
            let Some((tag, request)) = flying.pop_front() else {
                return;
            };
            self.in_flight.push(flying.len() + 1);
            let answer = self.inner.send(request);
            work.answered(tag, answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_page_by_index() {
        let users = MemoryUsers {
            users: (0..5)
                .map(|i| User {
                    id: format!("u{i}"),
                    ..User::default()
                })
                .collect(),
        };
        let first = users.page(None, 2);
        assert_eq!(first.users.len(), 2);
        assert_eq!(first.next_cursor.as_deref(), Some("2"));
        let last = users.page(Some("4"), 2);
        assert_eq!(last.users[0].id, "u4");
        assert_eq!(last.next_cursor, None);
        assert_eq!(users.get("u3").map(|u| u.id), Some("u3".to_string()));
    }
}
