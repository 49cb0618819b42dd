//! The HTTP server: routes, the accept loop (plain HTTP, or TLS; it can drop a connection without answering, for
//! fault injection), and the `/api/METHOD` endpoint.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderValue, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::api::{self, Reply};
use crate::guard::{self, Guard};
use crate::hosts::ServedHosts;
use crate::model::{ApiCall, Fault};
use crate::secrets::{scrub, scrub_object};
use crate::state::Shared;
use crate::{inspect, oauth, ratelimit, to_app, web};

/// Lets a handler close its connection without answering.
#[derive(Clone)]
pub struct ConnKill(pub Arc<Notify>);

impl ConnKill {
    /// Closes the connection; the handler's future is dropped with it.
    pub async fn kill(&self) -> Response {
        self.0.notify_one();
        std::future::pending::<()>().await;
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

/// All routes, behind the guard (`Host`, cross-site requests, form tokens) of the server bound at `addr`, whose
/// `Host` without a port means `default_port` (80, or 443 over TLS).
pub fn router(shared: Arc<Shared>, addr: SocketAddr, default_port: u16) -> Router {
    let guard = Arc::new(Guard {
        hosts: ServedHosts::new(addr, &shared.lock().config.hosts),
        default_port,
        shared: shared.clone(),
    });
    Router::new()
        .route("/api/{method}", get(api_route).post(api_route))
        .route(
            "/oauth/v2/authorize",
            get(oauth::authorize_get).post(oauth::authorize_post),
        )
        .route(
            "/_sim",
            get(|| async { axum::response::Redirect::to("/_sim/") }),
        )
        .route("/_sim/", get(web::index))
        .route("/_sim/state", get(inspect::state_json))
        .route("/_sim/conversations", get(inspect::conversations))
        .route("/_sim/calls", get(inspect::calls))
        .route("/_sim/installations", get(inspect::installations))
        .route("/_sim/deliveries", get(inspect::deliveries))
        .route("/_sim/interactions", get(inspect::interactions))
        .route("/_sim/requests", get(inspect::requests))
        .route("/_sim/requests/{id}/approve", post(inspect::decide::<true>))
        .route("/_sim/requests/{id}/deny", post(inspect::decide::<false>))
        .route(
            "/_sim/faults",
            get(inspect::faults_get).post(inspect::faults_post),
        )
        .route(
            "/_sim/clock",
            get(inspect::clock_get).post(inspect::clock_post),
        )
        .route("/_sim/signin", post(inspect::signin))
        .route("/_sim/apps/uninstall", post(inspect::uninstall))
        .route("/_sim/click", post(inspect::click))
        .route("/_sim/response_url/{id}", post(inspect::response_url))
        .route("/_sim/static/{file}", get(web::static_file))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(shared)
        .layer(axum::middleware::from_fn_with_state(guard, guard::check))
}

/// Serves until `shutdown` turns true (over TLS with `tls`); connections still open then are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => {
                let Ok((stream, _)) = r else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let app = app.clone();
                let tls = tls.clone();
                conns.spawn(async move {
                    match tls {
                        None => serve_connection(stream, app).await,
                        Some(acceptor) => {
                            // A client that never finishes its handshake does not hold the task.
                            let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                            match handshake.await {
                                Ok(Ok(stream)) => serve_connection(stream, app).await,
                                Ok(Err(e)) => tracing::info!(error = %e, "TLS handshake failed"),
                                Err(_) => tracing::info!("TLS handshake timed out"),
                            }
                        }
                    }
                });
            }
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

/// How long a client has to finish its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves HTTP/1 on one connection (plain or TLS) until it ends or a handler kills it.
async fn serve_connection<S>(stream: S, app: Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let kill = ConnKill(Arc::new(Notify::new()));
    let k2 = kill.clone();
    let tower = TowerToHyperService::new(app);
    let svc = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
        req.extensions_mut().insert(k2.clone());
        tower.call(req)
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        _ = conn => {}
        _ = kill.0.notified() => {}
    }
}

/// A JSON answer as Slack sends it, with the caller's granted scopes in `x-oauth-scopes` when given (the header
/// name in lower case: python slack_sdk reads it with a case-sensitive lookup).
fn json_response(
    status: u16,
    body: &Value,
    retry_after: Option<u64>,
    scopes: Option<&str>,
) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response();
    if let Some(s) = retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    if let Some(v) = scopes.and_then(|s| HeaderValue::from_str(s).ok()) {
        r.headers_mut().insert("x-oauth-scopes", v);
    }
    r
}

/// `GET/POST /api/{method}`: decoding, faults, rate limits, the method, the call log.
async fn api_route(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    req: Request,
) -> Response {
    let kill = req.extensions().get::<ConnKill>().cloned();
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, 4 << 20).await {
        Ok(b) => b,
        Err(_) => {
            return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
        }
    };
    let (params, early) =
        api::decode(&parts.method, &parts.headers, parts.uri.query(), bytes).await;
    let known = api::tier(&method).is_some();
    let mut call = ApiCall {
        seq: 0,
        method: method.clone(),
        http_method: parts.method.to_string(),
        params: scrub_object(&params.fields),
        auth: if params.basic_credentials.is_some() && params.token_source.is_none() {
            Some("basic".into())
        } else {
            params.token_source.map(|s| s.as_str().into())
        },
        time: shared.lock().now(),
        status: 0,
        response: None,
        fault: None,
    };
    let fault = if known {
        shared.lock().take_fault(&method)
    } else {
        None
    };
    let mut lost_after = false;
    if let Some(f) = &fault {
        call.fault = Some(f.label());
        match f {
            Fault::Drop { .. } => {
                shared.lock().record_call(call);
                return drop_connection(kill).await;
            }
            Fault::HttpStatus { status, .. } => {
                call.status = *status;
                shared.lock().record_call(call);
                let code =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return (
                    code,
                    [(header::CONTENT_TYPE, "text/html")],
                    format!("<html><body>{code}</body></html>"),
                )
                    .into_response();
            }
            Fault::Ratelimited { retry_after, .. } => {
                let r = Reply::ratelimited(*retry_after);
                return finish(&shared, call, r);
            }
            Fault::SlackError { error, .. } => {
                let r = Reply::err(error);
                return finish(&shared, call, r);
            }
            Fault::Delay { ms, .. } => tokio::time::sleep(Duration::from_millis(*ms)).await,
            Fault::LostAfterPost { .. } => lost_after = true,
        }
    }
    let mut reply = if let Some(code) = early {
        Reply::err(code)
    } else if !known {
        Reply::err("unknown_method")
    } else {
        let mut state = shared.lock();
        match ratelimit::check(&mut state, &method, &params) {
            Some(retry) => Reply::ratelimited(retry),
            None => api::call(&mut state, &method, &params),
        }
    };
    if reply.status == 200 {
        reply.add_warnings(&params.warnings);
    }
    for e in std::mem::take(&mut reply.effects) {
        tokio::spawn(to_app::run_effect(shared.clone(), e));
    }
    if lost_after {
        call.response = Some(scrub(&reply.body));
        shared.lock().record_call(call);
        return drop_connection(kill).await;
    }
    finish(&shared, call, reply)
}

/// Closes the connection without answering (a 500 where the connection cannot be reached).
async fn drop_connection(kill: Option<ConnKill>) -> Response {
    match kill {
        Some(k) => k.kill().await,
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Logs the call with its answer and sends the answer.
fn finish(shared: &Shared, mut call: ApiCall, r: Reply) -> Response {
    call.status = r.status;
    call.response = Some(scrub(&r.body));
    shared.lock().record_call(call);
    json_response(r.status, &r.body, r.retry_after, r.oauth_scopes.as_deref())
}
