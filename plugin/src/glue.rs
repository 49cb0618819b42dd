//! The thin layer between the WIT contract and the connector library: type conversions, the host's settings and
//! log as [`Settings`] and [`Log`], and wasi:http as the [`Transport`].

use crate::api::{HttpRequest, HttpResponse, Transport, TransportError};
use crate::connector::{self, Connector, Level, Log, Settings};
use crate::model;

wit_bindgen::generate!({
    path: "../wit",
    world: "lms-connector",
    with: {
        "wasi:http/types@0.2.12": wasip2::http::types,
        "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        "wasi:io/streams@0.2.12": wasip2::io::streams,
        "wasi:io/error@0.2.12": wasip2::io::error,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
    },
});

use exports::lms::connector::connector::Guest;
use lms::connector::types as wit;
use lms::connector::{log as host_log, settings as host_settings};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

/// The host's settings store.
struct HostSettings;

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

/// The host's log.
struct HostLog;

impl Log for HostLog {
    fn write(&mut self, level: Level, message: &str) {
        let level = match level {
            Level::Debug => host_log::Level::Debug,
            Level::Info => host_log::Level::Info,
            Level::Warn => host_log::Level::Warn,
            Level::Error => host_log::Level::Error,
        };
        host_log::write(level, message);
    }
}

/// wasi:http's outgoing handler.
struct WasiHttp;

impl Transport for WasiHttp {
    fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let other = |e: String| TransportError::Connection(e);
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
        let method = if request.method == "GET" {
            Method::Get
        } else {
            Method::Post
        };
        let scheme = if scheme == "http" {
            Scheme::Http
        } else {
            Scheme::Https
        };
        outgoing
            .set_method(&method)
            .map_err(|()| other("method".into()))?;
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
        {
            let stream = body.write().map_err(|()| other("body stream".into()))?;
            for chunk in request.body.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| other(format!("writing the body: {e:?}")))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(error_code)?;
        future.subscribe().block();
        let response = future
            .get()
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
                    Err(wasip2::io::streams::StreamError::Closed) => break,
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
}

fn error_code(e: ErrorCode) -> TransportError {
    match e {
        ErrorCode::HttpRequestDenied => {
            TransportError::Denied("the destination is not granted".into())
        }
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout => TransportError::Timeout(format!("{e:?}")),
        other => TransportError::Connection(format!("{other:?}")),
    }
}

fn with_connector<R>(
    f: impl FnOnce(&mut Connector<'_, HostSettings, HostLog, WasiHttp>) -> R,
) -> R {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    f(&mut Connector::new(
        &mut HostSettings,
        &mut HostLog,
        &mut WasiHttp,
        now,
    ))
}

fn error(e: connector::ConnectorError) -> wit::ConnectorError {
    wit::ConnectorError {
        code: e.code,
        message: e.message,
    }
}

fn workspace(w: connector::Workspace) -> wit::Workspace {
    wit::Workspace {
        id: w.id,
        name: w.name,
    }
}

fn state(s: connector::IntegrationState) -> wit::IntegrationState {
    match s {
        connector::IntegrationState::Inactive => wit::IntegrationState::Inactive,
        connector::IntegrationState::Active(w) => wit::IntegrationState::Active(workspace(w)),
        connector::IntegrationState::Disconnected(r) => wit::IntegrationState::Disconnected(r),
    }
}

fn user(u: wit::User) -> model::User {
    model::User {
        id: u.id,
        email: u.email,
        display_name: u.display_name,
        locale: u.locale,
        time_zone: u.time_zone,
    }
}

fn notification(n: wit::Notification) -> model::Notification {
    model::Notification {
        id: n.id,
        kind: match n.kind {
            wit::NotificationKind::SessionAssignment => model::NotificationKind::SessionAssignment,
            wit::NotificationKind::SessionInformation => {
                model::NotificationKind::SessionInformation
            }
            wit::NotificationKind::PathStep => model::NotificationKind::PathStep,
        },
        title: n.title,
        session: n.session.map(|s| model::Session {
            id: s.id,
            title: s.title,
            description: s.description,
            cover_image_url: s.cover_image_url,
            cover_is_default: s.cover_is_default,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            url: s.url,
        }),
        body: n.body,
        group: model::PlatformGroup {
            name: n.group.name,
            logo_url: n.group.logo_url,
        },
    }
}

fn outcome(o: connector::Outcome) -> wit::Outcome {
    match o {
        connector::Outcome::Sent {
            conversation,
            message_id,
            already_sent,
        } => wit::Outcome::Sent(wit::Sent {
            conversation,
            message_id,
            already_sent,
        }),
        connector::Outcome::Skipped(connector::SkipReason::NoAccount) => {
            wit::Outcome::Skipped(wit::SkipReason::NoAccount)
        }
        connector::Outcome::Skipped(connector::SkipReason::Inactive(r)) => {
            wit::Outcome::Skipped(wit::SkipReason::Inactive(r))
        }
        connector::Outcome::Failed(f) => wit::Outcome::Failed(wit::Failure {
            kind: match f.kind {
                connector::FailureKind::Permanent => wit::FailureKind::Permanent,
                connector::FailureKind::Transient => wit::FailureKind::Transient,
                connector::FailureKind::RateLimited => wit::FailureKind::RateLimited,
                connector::FailureKind::Disconnected => wit::FailureKind::Disconnected,
            },
            code: f.code,
            message: f.message,
            retry_after_ms: f.retry_after_ms,
        }),
    }
}

struct Component;

impl Guest for Component {
    fn describe() -> wit::ConnectorInfo {
        let d = &connector::DESCRIPTION;
        wit::ConnectorInfo {
            id: d.id.into(),
            name: d.name.into(),
            version: d.version.into(),
            outbound_origins: d.outbound_origins.iter().map(|o| o.to_string()).collect(),
            settings: d
                .settings
                .iter()
                .map(|(key, secret, description)| wit::SettingSpec {
                    key: key.to_string(),
                    secret: *secret,
                    description: description.to_string(),
                })
                .collect(),
        }
    }

    fn start_activation(request: wit::ActivationRequest) -> Result<String, wit::ConnectorError> {
        with_connector(|c| c.start_activation(&request.redirect_uri, &request.state)).map_err(error)
    }

    fn complete_activation(
        query: Vec<(String, String)>,
    ) -> Result<wit::ActivationResult, wit::ConnectorError> {
        with_connector(|c| c.complete_activation(&query))
            .map(|r| match r {
                connector::ActivationResult::Active(w) => {
                    wit::ActivationResult::Active(workspace(w))
                }
                connector::ActivationResult::ApprovalRequested(m) => {
                    wit::ActivationResult::ApprovalRequested(m)
                }
            })
            .map_err(error)
    }

    fn deactivate() -> Result<(), wit::ConnectorError> {
        with_connector(|c| c.deactivate()).map_err(error)
    }

    fn deliver(n: wit::Notification, recipients: Vec<wit::Recipient>) -> Vec<wit::DeliveryOutcome> {
        let n = notification(n);
        let recipients: Vec<connector::Recipient> = recipients
            .into_iter()
            .map(|r| connector::Recipient {
                user: user(r.user),
                delivery_id: r.delivery_id,
                attempt: r.attempt,
            })
            .collect();
        with_connector(|c| c.deliver(&n, &recipients))
            .into_iter()
            .map(|(delivery_id, o)| wit::DeliveryOutcome {
                delivery_id,
                outcome: outcome(o),
            })
            .collect()
    }

    fn status() -> wit::IntegrationState {
        state(with_connector(|c| c.status()))
    }

    fn handle_inbound(request: wit::InboundRequest) -> wit::InboundResponse {
        let response = with_connector(|c| {
            c.handle_inbound(&connector::InboundRequest {
                route: request.route,
                body: request.body,
            })
        });
        wit::InboundResponse {
            status: response.status,
            content_type: response.content_type,
            body: response.body,
            new_state: response.new_state.map(state),
        }
    }
}

export!(Component);
