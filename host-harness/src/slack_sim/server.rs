//! The HTTP server: routes, the accept loop (which can drop a connection without answering, for fault
//! injection), and the `/api/METHOD` endpoint.

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
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::Shared;
use super::api::{self, Reply};
use super::model::{ApiCall, Fault};
use super::{inspect, oauth, outbound, ratelimit, web};

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

/// All routes.
pub fn router(sh: Arc<Shared>) -> Router {
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
        .route("/_sim/state", get(inspect::state))
        .route("/_sim/conversations", get(inspect::conversations))
        .route("/_sim/calls", get(inspect::calls))
        .route("/_sim/installations", get(inspect::installations))
        .route("/_sim/deliveries", get(inspect::deliveries))
        .route("/_sim/interactions", get(inspect::interactions))
        .route("/_sim/requests", get(inspect::requests))
        .route("/_sim/requests/{id}/approve", post(inspect::approve))
        .route("/_sim/requests/{id}/deny", post(inspect::deny))
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
        .with_state(sh)
}

/// Serves until `shutdown` turns true; connections still open then are closed.
pub async fn serve(listener: TcpListener, app: Router, mut shutdown: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => {
                let Ok((stream, _)) = r else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let kill = ConnKill(Arc::new(Notify::new()));
                let k2 = kill.clone();
                let tower = TowerToHyperService::new(app.clone());
                let svc = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
                    req.extensions_mut().insert(k2.clone());
                    tower.call(req)
                });
                conns.spawn(async move {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = kill.0.notified() => {}
                    }
                });
            }
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

/// A JSON answer as Slack sends it.
pub fn json_response(status: u16, body: &Value, retry_after: Option<u64>) -> Response {
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
    r
}

fn redacted(params: &Map<String, Value>) -> Map<String, Value> {
    let mut out = params.clone();
    for k in ["token", "client_secret"] {
        if let Some(Value::String(s)) = out.get(k) {
            out.insert(k.into(), Value::String(api::redact(s)));
        }
    }
    out
}

async fn api_route(
    State(sh): State<Arc<Shared>>,
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
        match api::decode(&parts.method, &parts.headers, parts.uri.query(), &bytes) {
            Ok(p) => (p, None),
            Err(e) => {
                let (p, code) = *e;
                (p, Some(code))
            }
        };
    let known = api::tier(&method).is_some();
    let mut call = ApiCall {
        seq: 0,
        method: method.clone(),
        http_method: parts.method.to_string(),
        params: redacted(&params.map),
        auth: if params.basic.is_some() && params.auth_src.is_none() {
            Some("basic".into())
        } else {
            params.auth_src.map(Into::into)
        },
        time: sh.st().now(),
        status: 0,
        response: None,
        fault: None,
    };
    let fault = if known {
        sh.st().take_fault(&method)
    } else {
        None
    };
    let mut lost_after = false;
    if let Some(f) = &fault {
        call.fault = Some(f.label());
        match f {
            Fault::Drop { .. } => {
                sh.st().record_call(call);
                return match kill {
                    Some(k) => k.kill().await,
                    None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                };
            }
            Fault::HttpStatus { status, .. } => {
                call.status = *status;
                sh.st().record_call(call);
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
                return finish(&sh, call, r);
            }
            Fault::SlackError { error, .. } => {
                let r = Reply::err(error);
                return finish(&sh, call, r);
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
        let mut st = sh.st();
        match ratelimit::check(&mut st, &method, &params) {
            Some(retry) => Reply::ratelimited(retry),
            None => api::call(&mut st, &method, &params),
        }
    };
    if reply.status == 200 {
        reply.add_warnings(&params.warnings);
    }
    for e in std::mem::take(&mut reply.effects) {
        tokio::spawn(outbound::run_effect(sh.clone(), e));
    }
    if lost_after {
        call.response = Some(logged(&reply.body));
        sh.st().record_call(call);
        return match kill {
            Some(k) => k.kill().await,
            None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
    }
    finish(&sh, call, reply)
}

/// The answer as the call log keeps it: issued tokens reduced to their prefix.
fn logged(body: &Value) -> Value {
    let mut b = body.clone();
    if let Some(Value::String(t)) = b.get("access_token") {
        b["access_token"] = Value::String(api::redact(t));
    }
    b
}

fn finish(sh: &Shared, mut call: ApiCall, r: Reply) -> Response {
    call.status = r.status;
    call.response = Some(logged(&r.body));
    sh.st().record_call(call);
    json_response(r.status, &r.body, r.retry_after)
}
