//! Shared helpers for the simulated Slack's tests: a tiny HTTP/1 client over hyper, and an install helper.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use host_harness::slack_sim::{self, SimConfig, SimHandle};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, k: &str) -> Option<String> {
        self.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

/// One request on a fresh connection. `Err` when the connection closes without an answer.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, Vec<u8>)>,
) -> Result<Resp, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let host = uri.host().unwrap().to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("{host}:{port}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body_bytes = match body {
        Some((ct, b)) => {
            req = req.header("content-type", ct);
            b
        }
        None => Vec::new(),
    };
    let req = req
        .body(Full::new(Bytes::from(body_bytes)))
        .map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(Duration::from_secs(20), sender.send_request(req))
        .await
        .map_err(|_| "timeout".to_string())?
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    Ok(Resp {
        status,
        headers,
        body,
    })
}

pub async fn get(url: &str) -> Resp {
    request("GET", url, &[], None).await.unwrap()
}

pub async fn get_with(url: &str, headers: &[(&str, &str)]) -> Resp {
    request("GET", url, headers, None).await.unwrap()
}

pub fn encode(fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// POST a form.
pub async fn post_form(url: &str, headers: &[(&str, &str)], fields: &[(&str, &str)]) -> Resp {
    request(
        "POST",
        url,
        headers,
        Some((
            "application/x-www-form-urlencoded",
            encode(fields).into_bytes(),
        )),
    )
    .await
    .unwrap()
}

/// POST JSON.
pub async fn post_json(url: &str, headers: &[(&str, &str)], body: &Value) -> Resp {
    request(
        "POST",
        url,
        headers,
        Some((
            "application/json; charset=utf-8",
            body.to_string().into_bytes(),
        )),
    )
    .await
    .unwrap()
}

/// A Web API call with a form body and the token in a `token` field (if any).
pub async fn api_form(
    sim: &SimHandle,
    method: &str,
    token: Option<&str>,
    fields: &[(&str, &str)],
) -> Resp {
    let mut f: Vec<(&str, &str)> = fields.to_vec();
    if let Some(t) = token {
        f.push(("token", t));
    }
    post_form(&format!("{}{method}", sim.api_url()), &[], &f).await
}

/// A Web API call with a JSON body and a Bearer token.
pub async fn api_json(sim: &SimHandle, method: &str, token: &str, body: &Value) -> Resp {
    let auth = format!("Bearer {token}");
    post_json(
        &format!("{}{method}", sim.api_url()),
        &[("authorization", &auth)],
        body,
    )
    .await
}

/// A Web API GET with query parameters and a Bearer token.
pub async fn api_get(sim: &SimHandle, method: &str, token: &str, query: &[(&str, &str)]) -> Resp {
    let auth = format!("Bearer {token}");
    get_with(
        &format!("{}{method}?{}", sim.api_url(), encode(query)),
        &[("authorization", &auth)],
    )
    .await
}

pub const ALL_SCOPES: &str =
    "chat:write,chat:write.customize,im:write,im:history,users:read,users:read.email";

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub async fn start_demo() -> SimHandle {
    slack_sim::start(loopback(), SimConfig::demo())
        .await
        .unwrap()
}

pub async fn start_with(cfg: SimConfig) -> SimHandle {
    slack_sim::start(loopback(), cfg).await.unwrap()
}

pub fn query_of(location: &str) -> HashMap<String, String> {
    let q = location.split_once('?').map(|x| x.1).unwrap_or("");
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Clicks Allow as `member` on the consent page; returns the redirect's query (code, state or error).
pub async fn allow(
    sim: &SimHandle,
    member: &str,
    scopes: &str,
    state: &str,
) -> HashMap<String, String> {
    let cfg = sim.state();
    let r = post_form(
        &sim.authorize_url(),
        &[],
        &[
            ("client_id", &cfg.app.client_id),
            ("scope", scopes),
            ("redirect_uri", &cfg.app.redirect_urls[0]),
            ("state", state),
            ("member", member),
            ("action", "allow"),
        ],
    )
    .await;
    assert_eq!(r.status, 302, "Allow should redirect: {}", r.text());
    let loc = r.header("location").unwrap();
    assert!(loc.starts_with(&cfg.app.redirect_urls[0]), "{loc}");
    query_of(&loc)
}

/// Exchanges a code with HTTP Basic client credentials.
pub async fn exchange(sim: &SimHandle, code: &str) -> Resp {
    let cfg = sim.state();
    let basic = host_harness_b64(&format!("{}:{}", cfg.app.client_id, cfg.app.client_secret));
    let auth = format!("Basic {basic}");
    post_form(
        &format!("{}oauth.v2.access", sim.api_url()),
        &[("authorization", &auth)],
        &[("code", code), ("redirect_uri", &cfg.app.redirect_urls[0])],
    )
    .await
}

/// Installs the app as `member` with `scopes`; returns the bot token.
pub async fn install(sim: &SimHandle, member: &str, scopes: &str) -> String {
    let q = allow(sim, member, scopes, "st").await;
    let code = q.get("code").expect("code in redirect");
    let r = exchange(sim, code).await;
    let v = r.json();
    assert_eq!(v["ok"], true, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

pub fn host_harness_b64(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let d = s.as_bytes();
    let mut out = String::new();
    for c in d.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// A tiny HTTP receiver for events and interactions: records each request (headers, body) and answers
/// with `status` after `delay`.
pub struct Receiver {
    pub url: String,
    pub rx: tokio::sync::mpsc::UnboundedReceiver<(http::HeaderMap, String)>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn receiver(status: u16, delay: Duration) -> Receiver {
    use axum::routing::post;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/{*path}",
        post(move |headers: http::HeaderMap, body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                tokio::time::sleep(delay).await;
                http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver {
        url: format!("http://{addr}/slack"),
        rx,
        task,
    }
}

/// Checks a Slack request signature as an app would.
pub fn verify_signature(secret: &str, headers: &http::HeaderMap, body: &str) -> bool {
    let ts: i64 = headers
        .get("x-slack-request-timestamp")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let sig = headers
        .get("x-slack-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    sig == format!("v0={expected}")
}
