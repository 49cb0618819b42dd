//! The ports over the component's imports (on `wasm32` only): the host's settings, log and directory, and
//! wasi:http's outgoing handler as the [`Transport`].
//!
//! Each is a unit struct whose methods call the imports; [`export_connector!`](crate::export_connector) hands them to
//! every call in a [`Context`](crate::Context) of [`HostPorts`].

use crate::bindings::lms::connector0_1_0::{
    log as host_log, settings as host_settings, users as host_users,
};
use crate::bindings::lms::connector0_2_0::progress as host_progress;
use crate::ports::{
    HttpRequest, HttpResponse, Level, Log, Method, Progress, Settings, Transport, TransportError,
    Users, Window,
};
use crate::types::{DeliveryOutcome, User, UserPage};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{self as http, ErrorCode, Fields, OutgoingBody, OutgoingRequest, Scheme};
use wasip2::io::poll::{self, Pollable};
use wasip2::io::streams::StreamError;

/// The ports of a component: the host's settings, log, wasi:http, directory and progress.
pub type HostPorts = (HostSettings, HostLog, WasiHttp, HostUsers, HostProgress);

/// The host's settings store (the `lms:connector/settings` import).
#[derive(Debug, Clone, Copy, Default)]
pub struct HostSettings;

impl Settings for HostSettings {
    fn get(&self, key: &str) -> Option<String> {
        host_settings::get(key)
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        host_settings::set(key, value)
    }
    fn remove(&mut self, key: &str) {
        host_settings::remove(key)
    }
    fn get_secret(&self, key: &str) -> Option<String> {
        host_settings::get_secret(key)
    }
    fn set_secret(&mut self, key: &str, value: &str) -> Result<(), String> {
        host_settings::set_secret(key, value)
    }
    fn remove_secret(&mut self, key: &str) {
        host_settings::remove_secret(key)
    }
}

/// The host's log (the `lms:connector/log` import).
#[derive(Debug, Clone, Copy, Default)]
pub struct HostLog;

impl Log for HostLog {
    fn write(&mut self, level: Level, message: &str) {
        host_log::write(level.into(), message);
    }
}

/// The LMS directory (the `lms:connector/users` import).
#[derive(Debug, Clone, Copy, Default)]
pub struct HostUsers;

impl Users for HostUsers {
    fn get(&self, id: &str) -> Option<User> {
        host_users::get(id).map(Into::into)
    }
    fn page(&self, cursor: Option<&str>, limit: u32) -> UserPage {
        host_users::page(cursor, limit).into()
    }
}

/// The host's record of a delivery's progress (the `lms:connector/progress` import of contract 0.2.0).
#[derive(Debug, Clone, Copy, Default)]
pub struct HostProgress;

impl Progress for HostProgress {
    fn posting(&mut self, delivery_id: &str) {
        host_progress::posting(delivery_id)
    }
    fn outcome(&mut self, outcome: &DeliveryOutcome) {
        host_progress::outcome(&outcome.clone().into())
    }
}

/// wasi:http's outgoing handler (the `wasi:http/outgoing-handler` import).
///
/// Writes the whole request body then finishes it, waits for the answer and reads its body to the end. A
/// destination the host refuses is [`TransportError::Denied`] (also when the refusal shows first as a closed body
/// stream), a time-out [`TransportError::Timeout`], any other wasi:http error [`TransportError::Connection`]; each
/// carries the error code as the bindings print it. [`Transport::send_all`] starts every request before it waits
/// for the first answer, so that they are in flight together; [`Transport::send_window`] waits for whichever answer
/// comes first (`wasi:io/poll`) and starts the next request at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct WasiHttp;

impl Transport for WasiHttp {
    fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        start(&request).and_then(finish)
    }

    fn send_all(
        &mut self,
        requests: Vec<HttpRequest>,
    ) -> Vec<Result<HttpResponse, TransportError>> {
        let started: Vec<_> = requests.iter().map(start).collect();
        started
            .into_iter()
            .map(|started| started.and_then(finish))
            .collect()
    }

    fn send_overlapping(
        &mut self,
        request: HttpRequest,
        meanwhile: &mut dyn FnMut(),
    ) -> Result<HttpResponse, TransportError> {
        let started = start(&request);
        meanwhile();
        started.and_then(finish)
    }

    fn send_window(&mut self, window: usize, work: &mut dyn Window) {
        let window = window.max(1);
        // In flight: each request's number, its answer to come, and what tells that the answer came.
        let mut flying: Vec<(usize, Started, Pollable)> = Vec::with_capacity(window);
        loop {
            while flying.len() < window {
                let Some((tag, request)) = work.next() else {
                    break;
                };
                match start(&request) {
                    Ok(started) => {
                        let ready = started.future.subscribe();
                        flying.push((tag, started, ready));
                    }
                    Err(e) => work.answered(tag, Err(e)),
                }
            }
            if flying.is_empty() {
                return;
            }
            let mut ready = {
                let pollables: Vec<&Pollable> = flying.iter().map(|(_, _, p)| p).collect();
                poll::poll(&pollables)
            };
            // Answered in the order they were sent; removing from the back keeps the earlier indices.
            ready.sort_unstable();
            let answered: Vec<(usize, Started)> = ready
                .into_iter()
                .rev()
                .map(|i| {
                    let (tag, started, ready) = flying.remove(i as usize);
                    // A pollable goes before the future it watches.
                    drop(ready);
                    (tag, started)
                })
                .collect();
            for (tag, started) in answered.into_iter().rev() {
                work.answered(tag, finish(started));
            }
        }
    }
}

/// A request handed to the host, its body written: the answer to come, and the error of the body's writing.
struct Started {
    future: http::FutureIncomingResponse,
    sent: Result<(), TransportError>,
}

/// Hands `request` to the outgoing handler and writes its body; does not wait for the answer.
fn start(request: &HttpRequest) -> Result<Started, TransportError> {
    let other = TransportError::Connection;
    let (scheme, rest) = request
        .url
        .split_once("://")
        .ok_or_else(|| other(format!("not an absolute URL: {}", request.url)))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let headers = Fields::new();
    for (name, value) in &request.headers {
        headers
            .append(name, value.as_bytes())
            .map_err(|e| other(format!("header {name}: {e:?}")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_string()),
    };
    outgoing
        .set_method(&wasi_method(&request.method))
        .map_err(|()| other(format!("method {}", request.method)))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| other("scheme".into()))?;
    outgoing
        .set_authority(Some(authority))
        .map_err(|()| other("authority".into()))?;
    outgoing
        .set_path_with_query(Some(path))
        .map_err(|()| other("path".into()))?;
    let body = outgoing.body().map_err(|()| other("body".into()))?;
    let future = outgoing_handler::handle(outgoing, None).map_err(error_code)?;
    let sent = write_body(body, &request.body);
    Ok(Started { future, sent })
}

/// Waits for the answer of a started request and reads its body to the end.
fn finish(started: Started) -> Result<HttpResponse, TransportError> {
    let other = TransportError::Connection;
    let Started { future, sent } = started;
    future.subscribe().block();
    let answer = future.get();
    if let Err(e) = sent {
        // A request the host refused or dropped closes its body stream: its own error says why.
        return Err(match answer {
            Some(Ok(Err(code))) => error_code(code),
            _ => e,
        });
    }
    let response = answer
        .ok_or_else(|| other("no response".into()))?
        .map_err(|()| other("response taken twice".into()))?
        .map_err(error_code)?;
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(n, v)| {
            (
                n.to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect();
    let incoming = response
        .consume()
        .map_err(|()| other("response body".into()))?;
    let mut body = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| other("response stream".into()))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(e) => return Err(other(format!("reading the response: {e:?}"))),
            }
        }
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// Writes the whole body, then finishes it. On failure the body is dropped unfinished, which aborts the request.
fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), TransportError> {
    {
        let stream = body
            .write()
            .map_err(|()| TransportError::Connection("body stream".into()))?;
        for chunk in bytes.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| TransportError::Connection(format!("writing the body: {e:?}")))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(error_code)
}

/// The wasi:http method of a [`Method`].
fn wasi_method(method: &Method) -> http::Method {
    match method {
        Method::Get => http::Method::Get,
        Method::Head => http::Method::Head,
        Method::Post => http::Method::Post,
        Method::Put => http::Method::Put,
        Method::Delete => http::Method::Delete,
        Method::Connect => http::Method::Connect,
        Method::Options => http::Method::Options,
        Method::Trace => http::Method::Trace,
        Method::Patch => http::Method::Patch,
        Method::Other(name) => http::Method::Other(name.clone()),
    }
}

/// The transport error of a wasi:http error code.
fn error_code(e: ErrorCode) -> TransportError {
    let detail = format!("{e:?}");
    match e {
        ErrorCode::HttpRequestDenied => TransportError::Denied(detail),
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout => TransportError::Timeout(detail),
        _ => TransportError::Connection(detail),
    }
}
