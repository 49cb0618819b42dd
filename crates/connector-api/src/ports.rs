//! The host's services as traits: [`Settings`], [`Log`], [`Users`] and an HTTP [`Transport`].
//!
//! In the component they are the WIT imports (see `host`, on `wasm32`); natively any implementation will do, such as
//! the in-memory ones of `fakes` (feature `fakes`), so that a connector's logic is tested without wasm.
//! Every trait is also implemented for `&mut T` (and [`Users`] for `&T`), so that a port can be lent to a
//! [`Context`](crate::Context) and inspected afterwards.

use crate::types::{DeliveryOutcome, User, UserPage};
use std::fmt;

/// The connector's configuration and persistent state on one platform (the WIT `settings` interface).
///
/// Plain values and secrets are kept apart: the host stores secrets encrypted and never shows them.
pub trait Settings {
    /// Reads a plain value.
    fn get(&self, key: &str) -> Option<String>;
    /// Writes a plain value; the error is the host's reason (a quota, a refused key).
    fn set(&mut self, key: &str, value: &str) -> Result<(), String>;
    /// Removes a plain value; removing a missing key is not an error.
    fn remove(&mut self, key: &str);
    /// Reads a secret.
    fn get_secret(&self, key: &str) -> Option<String>;
    /// Writes a secret; the error is the host's reason.
    fn set_secret(&mut self, key: &str, value: &str) -> Result<(), String>;
    /// Removes a secret; removing a missing key is not an error.
    fn remove_secret(&mut self, key: &str);
}

impl<S: Settings + ?Sized> Settings for &mut S {
    fn get(&self, key: &str) -> Option<String> {
        (**self).get(key)
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        (**self).set(key, value)
    }
    fn remove(&mut self, key: &str) {
        (**self).remove(key)
    }
    fn get_secret(&self, key: &str) -> Option<String> {
        (**self).get_secret(key)
    }
    fn set_secret(&mut self, key: &str, value: &str) -> Result<(), String> {
        (**self).set_secret(key, value)
    }
    fn remove_secret(&mut self, key: &str) {
        (**self).remove_secret(key)
    }
}

/// How serious a log line is (the WIT `log.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Details, for whoever debugs the connector.
    Debug,
    /// Normal events (an activation, a deactivation).
    Info,
    /// Something an admin may want to know (a disconnection, a rate limit).
    Warn,
    /// Something failed.
    Error,
}

/// The small log the host keeps per platform and connector (the WIT `log` interface).
///
/// The host may truncate long lines and drop lines over its quota.
pub trait Log {
    /// Writes one line.
    fn write(&mut self, level: Level, message: &str);

    /// Writes one [`Level::Debug`] line.
    fn debug(&mut self, message: &str) {
        self.write(Level::Debug, message);
    }
    /// Writes one [`Level::Info`] line.
    fn info(&mut self, message: &str) {
        self.write(Level::Info, message);
    }
    /// Writes one [`Level::Warn`] line.
    fn warn(&mut self, message: &str) {
        self.write(Level::Warn, message);
    }
    /// Writes one [`Level::Error`] line.
    fn error(&mut self, message: &str) {
        self.write(Level::Error, message);
    }
}

impl<L: Log + ?Sized> Log for &mut L {
    fn write(&mut self, level: Level, message: &str) {
        (**self).write(level, message)
    }
}

/// The LMS directory of the platform (the WIT `users` interface).
pub trait Users {
    /// A user by the LMS's id.
    fn get(&self, id: &str) -> Option<User>;
    /// A page of users, from `cursor` (`None` for the first page), of at most `limit` users.
    fn page(&self, cursor: Option<&str>, limit: u32) -> UserPage;
}

impl<U: Users + ?Sized> Users for &U {
    fn get(&self, id: &str) -> Option<User> {
        (**self).get(id)
    }
    fn page(&self, cursor: Option<&str>, limit: u32) -> UserPage {
        (**self).page(cursor, limit)
    }
}

impl<U: Users + ?Sized> Users for &mut U {
    fn get(&self, id: &str) -> Option<User> {
        (**self).get(id)
    }
    fn page(&self, cursor: Option<&str>, limit: u32) -> UserPage {
        (**self).page(cursor, limit)
    }
}

/// An HTTP method: every method wasi:http names, and any other by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `CONNECT`.
    Connect,
    /// `OPTIONS`.
    Options,
    /// `TRACE`.
    Trace,
    /// `PATCH`.
    Patch,
    /// Any other method, by its name as sent (methods are case-sensitive).
    Other(String),
}

impl Method {
    /// The method's name as sent on the wire, such as `GET`.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::Other(name) => name,
        }
    }

    /// The method of this name: a standard one when the name is one (exactly, in upper case), else
    /// [`Method::Other`].
    pub fn from_name(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "CONNECT" => Method::Connect,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            "PATCH" => Method::Patch,
            other => Method::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An HTTP request, as a [`Transport`] sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL, such as `https://slack.com/api/auth.test`.
    pub url: String,
    /// Header names and values, in order; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A request with this method and URL, no header and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        HttpRequest {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `GET` of `url`.
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest::new(Method::Get, url)
    }

    /// A `POST` of `body` to `url`.
    pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        HttpRequest {
            body: body.into(),
            ..HttpRequest::new(Method::Post, url)
        }
    }

    /// The same request with one more header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// An HTTP response, read to the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of a header, by name (compared without regard to case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request got no HTTP answer.
///
/// In the component, the text of `Denied`, `Timeout` and `Connection` is the wasi:http error code as its bindings
/// print it (such as `ErrorCode::HttpRequestDenied`) or what failed around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The host's policy refused the destination (wasi:http `HTTP-request-denied`).
    Denied(String),
    /// No answer in time (a connection, read or write time-out).
    Timeout(String),
    /// The connection failed or was dropped, or the request could not be made.
    Connection(String),
    /// The request was not sent: a limiter in front of the transport (such as a connector's own pacing of a
    /// service's rate limits) held it back. Sending it after `retry_after_ms` milliseconds may succeed.
    Deferred {
        /// How long to wait before sending it, in milliseconds.
        retry_after_ms: u64,
    },
}

impl TransportError {
    /// The error's text (for [`TransportError::Deferred`], the wait in milliseconds).
    pub fn detail(&self) -> String {
        match self {
            TransportError::Denied(m)
            | TransportError::Timeout(m)
            | TransportError::Connection(m) => m.clone(),
            TransportError::Deferred { retry_after_ms } => retry_after_ms.to_string(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Denied(m) => write!(f, "request denied by the host: {m}"),
            TransportError::Timeout(m) => write!(f, "no answer in time: {m}"),
            TransportError::Connection(m) => write!(f, "connection failed: {m}"),
            TransportError::Deferred { retry_after_ms } => {
                write!(
                    f,
                    "held back for {retry_after_ms} ms to keep within the rate limits"
                )
            }
        }
    }
}

impl std::error::Error for TransportError {}

/// Sends HTTP requests: wasi:http's outgoing handler in the component, any client natively.
pub trait Transport {
    /// Sends one request and waits for the whole response.
    fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, TransportError>;

    /// Sends several requests at once and waits for every response: one result per request, in the same order.
    ///
    /// The requests are in flight together, so the whole takes about as long as the slowest one. The default sends
    /// them one after the other (a native test's transport, say); wasi:http's sends them all before waiting for
    /// any. The host caps the requests a call may have in flight (its grants' `max_requests_in_flight`): a caller
    /// never sends more at once than it was configured for.
    fn send_all(
        &mut self,
        requests: Vec<HttpRequest>,
    ) -> Vec<Result<HttpResponse, TransportError>> {
        requests.into_iter().map(|r| self.send(r)).collect()
    }

    /// Sends one request, runs `meanwhile` while it is in flight, then waits for the response: the work on the
    /// previous page of a listing overlaps the request for the next one. `meanwhile` runs exactly once, whatever
    /// becomes of the request. The default runs it first, then sends; wasi:http's hands the request to the host
    /// first.
    fn send_overlapping(
        &mut self,
        request: HttpRequest,
        meanwhile: &mut dyn FnMut(),
    ) -> Result<HttpResponse, TransportError> {
        meanwhile();
        self.send(request)
    }

    /// Keeps up to `window` of `work`'s requests in flight (at least one) until it has none left: sends what
    /// [`Window::next`] gives while fewer are in flight, hands each answer to [`Window::answered`] as soon as it
    /// comes, and asks again. Unlike [`Transport::send_all`], nobody waits for the slowest of a group: the work on
    /// one answer overlaps the requests still in flight. The default sends one request at a time; wasi:http's keeps
    /// the window full. As with `send_all`, a caller's `window` stays within what it was configured for.
    fn send_window(&mut self, window: usize, work: &mut dyn Window) {
        let _ = window;
        while let Some((tag, request)) = work.next() {
            let answer = self.send(request);
            work.answered(tag, answer);
        }
    }
}

/// Requests sent through [`Transport::send_window`]: each one is given when it may go (often once the answer to
/// an earlier one is known, such as a post after the conversation's opening) and its answer is handed back.
pub trait Window {
    /// The next request to send, with a number to know its answer by; `None` when there is nothing to send until
    /// an answer comes, or nothing left. Asked again after every answer.
    fn next(&mut self) -> Option<(usize, HttpRequest)>;

    /// The answer to the request numbered `tag`.
    fn answered(&mut self, tag: usize, answer: Result<HttpResponse, TransportError>);
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request)
    }
    fn send_all(
        &mut self,
        requests: Vec<HttpRequest>,
    ) -> Vec<Result<HttpResponse, TransportError>> {
        (**self).send_all(requests)
    }
    fn send_overlapping(
        &mut self,
        request: HttpRequest,
        meanwhile: &mut dyn FnMut(),
    ) -> Result<HttpResponse, TransportError> {
        (**self).send_overlapping(request, meanwhile)
    }
    fn send_window(&mut self, window: usize, work: &mut dyn Window) {
        (**self).send_window(window, work)
    }
}

/// Tells the host how a delivery is going, while it goes (contract 0.2.0's `progress` import): the host records the
/// posts announced before their first request leaves, with the outcomes reported since, so that when it is killed
/// mid-batch only the deliveries announced and not yet recorded are left unsure.
///
/// A connector calls [`Progress::posting`] before every request that may deliver to a recipient (the post itself,
/// not the look-ups before it; a few recipients may be announced together, before the first of their requests), and
/// [`Progress::outcome`] once it knows what became of a recipient it worked on. Recipients it does not report come
/// back in the list `deliver` returns, as in version 0.1.0.
pub trait Progress {
    /// About to make the request that may deliver `delivery_id`.
    fn posting(&mut self, delivery_id: &str);
    /// What became of one recipient; at most once per recipient.
    fn outcome(&mut self, outcome: &DeliveryOutcome);
}

impl<P: Progress + ?Sized> Progress for &mut P {
    fn posting(&mut self, delivery_id: &str) {
        (**self).posting(delivery_id)
    }
    fn outcome(&mut self, outcome: &DeliveryOutcome) {
        (**self).outcome(outcome)
    }
}

/// Progress reported to no one: outcomes are known to the host when `deliver` returns (a context built with
/// [`crate::Context::new`], and tests that do not look at progress).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unreported;

impl Progress for Unreported {
    fn posting(&mut self, _: &str) {}
    fn outcome(&mut self, _: &DeliveryOutcome) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_round_trip_by_name() {
        for m in [
            Method::Get,
            Method::Head,
            Method::Post,
            Method::Put,
            Method::Delete,
            Method::Connect,
            Method::Options,
            Method::Trace,
            Method::Patch,
            Method::Other("PROPFIND".into()),
        ] {
            assert_eq!(Method::from_name(m.as_str()), m);
        }
        assert_eq!(Method::Patch.to_string(), "PATCH");
        assert_eq!(Method::from_name("get"), Method::Other("get".into()));
    }

    #[test]
    fn requests_are_built_and_headers_read_without_case() {
        let r =
            HttpRequest::post("https://x.example/a", "k=v").header("content-type", "text/plain");
        assert_eq!(r.method, Method::Post);
        assert_eq!(r.body, b"k=v");
        assert_eq!(
            r.headers,
            [("content-type".to_string(), "text/plain".to_string())]
        );
        let response = HttpResponse {
            status: 429,
            headers: vec![("retry-after".into(), "3".into())],
            body: vec![],
        };
        assert_eq!(response.header("Retry-After"), Some("3"));
        assert_eq!(response.header("x"), None);
    }
}
