//! Shared helpers for the simulated Slack's tests: one HTTP/1 client over hyper (with the Web API call and
//! table-driven cases on top), the install flow, and a receiver standing for the app.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use slack_sim::{RateLimits, SimConfig, SimHandle};

// ------------------------------------------------------------------------------------------------------------
// The HTTP client.

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON (panics when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value.
    pub fn header(&self, k: &str) -> Option<String> {
        self.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

/// A request body.
pub enum Body<'a> {
    /// `application/x-www-form-urlencoded`.
    Form(&'a [(&'a str, &'a str)]),
    /// `application/json; charset=utf-8`.
    Json(&'a Value),
    /// Any content type and bytes.
    Raw(&'a str, Vec<u8>),
}

/// One request on a fresh connection (`Host`: the URL's authority, unless `headers` give one). `Err` when the
/// connection closes without an answer.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Body<'_>>,
) -> Result<Resp, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let host = uri.host().unwrap().to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| e.to_string())?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut req = http::Request::builder().method(method).uri(path);
    // The address connected to, unless the headers name another `Host`.
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req = req.header("host", format!("{host}:{port}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let (content_type, bytes) = match body {
        Some(Body::Form(fields)) => ("application/x-www-form-urlencoded", encode(fields).into()),
        Some(Body::Json(v)) => ("application/json; charset=utf-8", v.to_string().into()),
        Some(Body::Raw(ct, b)) => (ct, b),
        None => ("", Vec::new()),
    };
    if !content_type.is_empty() {
        req = req.header("content-type", content_type);
    }
    let req = req
        .body(Full::new(Bytes::from(bytes)))
        .map_err(|e| e.to_string())?;
    send_over(stream, req, Duration::from_secs(20)).await
}

/// Sends `req` over `stream` (plain or TLS, already connected) and reads the whole answer within `timeout`.
pub async fn send_over<S>(
    stream: S,
    req: http::Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<Resp, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = tokio::time::timeout(timeout, sender.send_request(req))
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

/// GET with headers (the answer must come).
pub async fn get_with(url: &str, headers: &[(&str, &str)]) -> Resp {
    request("GET", url, headers, None).await.unwrap()
}

/// GET (the answer must come).
pub async fn get(url: &str) -> Resp {
    get_with(url, &[]).await
}

/// POST a form as a browser does (the answer must come): to the Web API as it is; to the simulation's pages
/// from a page of theirs, with its session cookie, its token and its `Origin`.
pub async fn post_form(url: &str, fields: &[(&str, &str)]) -> Resp {
    let uri: http::Uri = url.parse().unwrap();
    if uri.path().starts_with("/api/") {
        return request("POST", url, &[], Some(Body::Form(fields)))
            .await
            .unwrap();
    }
    let origin = format!("http://{}", uri.authority().unwrap());
    let session = browser_session(&origin).await;
    let mut with_token = fields.to_vec();
    with_token.push(("csrf_token", &session.token));
    let headers = [
        ("cookie", session.cookie.as_str()),
        ("origin", origin.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    request("POST", url, &headers, Some(Body::Form(&with_token)))
        .await
        .unwrap()
}

/// A browser's session with the simulation's pages: the cookie it sends and the token its forms carry.
pub struct BrowserSession {
    /// `sim_session=…`.
    pub cookie: String,
    /// The forms' `csrf_token`.
    pub token: String,
}

/// Opens a browser session on the simulation at `origin` (`http://127.0.0.1:PORT`): loads the web view, keeps
/// its session cookie and its forms' token.
pub async fn browser_session(origin: &str) -> BrowserSession {
    let page = get_with(&format!("{origin}/_sim/"), &[("accept", "text/html")]).await;
    let cookie = page
        .header("set-cookie")
        .and_then(|c| c.split(';').next().map(str::to_string))
        .filter(|c| c.starts_with("sim_session="))
        .unwrap_or_else(|| panic!("no session cookie: {:?}", page.headers));
    let token = form_token(&page.text()).expect("the web view has a form with a token");
    BrowserSession { cookie, token }
}

/// The token in a page's forms (`name="csrf_token" value="…"`).
pub fn form_token(html: &str) -> Option<String> {
    let (_, rest) = html.split_once(r#"name="csrf_token" value=""#)?;
    rest.split_once('"').map(|(token, _)| token.to_string())
}

/// POST JSON (the answer must come).
pub async fn post_json(url: &str, body: &Value) -> Resp {
    request("POST", url, &[], Some(Body::Json(body)))
        .await
        .unwrap()
}

/// Fields as `application/x-www-form-urlencoded`.
pub fn encode(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// The fields of a URL's query (or of `?…`).
pub fn query_of(location: &str) -> HashMap<String, String> {
    let q = location.split_once('?').map_or("", |x| x.1);
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `http://127.0.0.1:PORT{path}` of the simulation (`/_sim/…`, `/nowhere`).
pub fn sim_url(sim: &SimHandle, path: &str) -> String {
    format!("{}{path}", sim.base_url())
}

// ------------------------------------------------------------------------------------------------------------
// The Web API.

/// How a Web API call is sent.
#[derive(Clone, Copy, Debug)]
pub enum Via<'a> {
    /// POST a form, the token (if any) in a `token` field.
    Form(Option<&'a str>),
    /// GET with the parameters in the query, the token in `Authorization: Bearer`.
    Get(&'a str),
    /// POST the parameters as JSON, the token in `Authorization: Bearer`.
    Json(&'a str),
}

/// A JSON value as a form or query field (strings as they are, anything else as JSON).
fn field_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Calls `method` with `params` (a JSON object; form and query values are the fields as text).
pub async fn call(sim: &SimHandle, via: Via<'_>, method: &str, params: &Value) -> Resp {
    let url = format!("{}{method}", sim.api_url());
    let fields: Vec<(String, String)> = params
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), field_text(v))).collect())
        .unwrap_or_default();
    let mut pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (verb, url, bearer, body) = match via {
        Via::Form(token) => {
            pairs.extend(token.map(|t| ("token", t)));
            ("POST", url, None, Some(Body::Form(&pairs)))
        }
        Via::Get(token) => (
            "GET",
            format!("{url}?{}", encode(&pairs)),
            Some(token),
            None,
        ),
        Via::Json(token) => ("POST", url, Some(token), Some(Body::Json(params))),
    };
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    request(verb, &url, &headers, body).await.unwrap()
}

/// One row of a table of Web API calls: the call, the answer expected (`ok`, or the error), more checks.
pub struct Case<'a> {
    /// How it is sent.
    pub via: Via<'a>,
    /// The method.
    pub method: &'a str,
    /// The parameters, a JSON object.
    pub params: Value,
    /// `None`: `"ok": true`; else `"ok": false` with this `error`.
    pub error: Option<&'a str>,
    /// More checks on the answer.
    pub check: Box<dyn Fn(&Value) + 'a>,
}

impl<'a> Case<'a> {
    /// A call that succeeds.
    pub fn ok(via: Via<'a>, method: &'a str, params: Value) -> Self {
        Case {
            via,
            method,
            params,
            error: None,
            check: Box::new(|_| {}),
        }
    }

    /// A call that fails with `error`.
    pub fn err(via: Via<'a>, method: &'a str, params: Value, error: &'a str) -> Self {
        Case {
            error: Some(error),
            ..Case::ok(via, method, params)
        }
    }

    /// A call refused with `missing_scope`, naming the scope `needed` (and the scopes `provided`, when
    /// given).
    pub fn missing_scope(
        via: Via<'a>,
        method: &'a str,
        params: Value,
        needed: &'a str,
        provided: Option<&'a str>,
    ) -> Self {
        Case::err(via, method, params, "missing_scope").check(move |v| {
            assert_eq!(v["needed"], needed, "{v}");
            if let Some(p) = provided {
                assert_eq!(v["provided"], p, "{v}");
            }
        })
    }

    /// Adds a check on the answer.
    pub fn check(mut self, check: impl Fn(&Value) + 'a) -> Self {
        self.check = Box::new(check);
        self
    }
}

/// Runs the cases in order (each on the state the ones before left); returns their answers.
pub async fn run_cases(sim: &SimHandle, cases: &[Case<'_>]) -> Vec<Value> {
    let mut answers = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let v = call(sim, c.via, c.method, &c.params).await.json();
        let what = format!("case {i}: {} {} via {:?}", c.method, c.params, c.via);
        match c.error {
            None => assert_eq!(v["ok"], true, "{what}: {v}"),
            Some(e) => {
                assert_eq!(v["ok"], false, "{what}: {v}");
                assert_eq!(v["error"], e, "{what}: {v}");
            }
        }
        (c.check)(&v);
        answers.push(v);
    }
    answers
}

// ------------------------------------------------------------------------------------------------------------
// The simulation and the install flow.

/// Every bot scope the tests use.
pub const ALL_SCOPES: &str =
    "chat:write,chat:write.customize,im:write,im:history,users:read,users:read.email";

/// Any free port on 127.0.0.1.
pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A simulation of the demo workspace.
pub async fn start_demo() -> SimHandle {
    start_with(SimConfig::demo()).await
}

/// A simulation of `cfg`.
pub async fn start_with(cfg: SimConfig) -> SimHandle {
    slack_sim::start(loopback(), cfg).await.unwrap()
}

/// Turns the simulation's rate limits off (they are on by default, as in Slack): for a test of what methods answer
/// that calls them more often than Slack allows.
pub fn without_rate_limits(sim: &SimHandle) {
    sim.set_rate_limits(RateLimits {
        enabled: false,
        ..RateLimits::default()
    });
}

/// A demo workspace where the admin installed the app with `scopes`; with the bot token.
pub async fn start_installed(scopes: &str) -> (SimHandle, String) {
    let sim = start_demo().await;
    let token = install(&sim, "U0ADMIN001", scopes).await;
    (sim, token)
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
    let basic = basic_b64(&format!("{}:{}", cfg.app.client_id, cfg.app.client_secret));
    let auth = format!("Basic {basic}");
    let fields = [("code", code), ("redirect_uri", &cfg.app.redirect_urls[0])];
    let url = format!("{}oauth.v2.access", sim.api_url());
    request(
        "POST",
        &url,
        &[("authorization", &auth)],
        Some(Body::Form(&fields)),
    )
    .await
    .unwrap()
}

/// Installs the app as `member` with `scopes`; returns the bot token.
pub async fn install(sim: &SimHandle, member: &str, scopes: &str) -> String {
    let q = allow(sim, member, scopes, "st").await;
    let code = q.get("code").expect("code in redirect");
    let v = exchange(sim, code).await.json();
    assert_eq!(v["ok"], true, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

/// Opens the app's DM with `member`; returns its ID.
pub async fn open_dm(sim: &SimHandle, token: &str, member: &str) -> String {
    let params = serde_json::json!({"users": member});
    let v = call(sim, Via::Form(Some(token)), "conversations.open", &params)
        .await
        .json();
    v["channel"]["id"].as_str().unwrap().to_string()
}

/// Standard base64 with padding, as HTTP Basic credentials are written.
pub fn basic_b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

// ------------------------------------------------------------------------------------------------------------
// The app's side.

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

/// Starts a [`Receiver`].
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

/// Checks a Slack request signature as an app would (HMAC computed here, independently of the simulation's
/// signer).
pub fn verify_signature(secret: &str, headers: &http::HeaderMap, body: &str) -> bool {
    use hmac::{Hmac, Mac};
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let ts: i64 = header("x-slack-request-timestamp")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let sig = header("x-slack-signature").unwrap_or("");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    sig == format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}
