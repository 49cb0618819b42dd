//! A minimal HTTP/1.1 client for the harness's own use against 127.0.0.1 (clicking through the simulated Slack's
//! consent page in the demo and in tests). It never follows redirects: callers read `Location` themselves.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// A response: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: http::HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("the answer is not JSON")
    }
}

/// Sends one request to an `http://` URL and reads the whole answer, within `timeout`.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Response> {
    tokio::time::timeout(timeout, send_inner(method, url, headers, body))
        .await
        .with_context(|| format!("{method} {url}: no answer within {timeout:?}"))?
}

async fn send_inner(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Response> {
    let uri: http::Uri = url.parse().with_context(|| format!("bad URL {url}"))?;
    if uri.scheme_str() != Some("http") {
        bail!("only http:// URLs on this machine: {url}");
    }
    let host = uri.host().context("URL without host")?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .with_context(|| format!("connecting to {host}:{port}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header("host", uri.authority().map(|a| a.as_str()).unwrap_or(&host));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender
        .send_request(request.body(Full::new(Bytes::from(body)))?)
        .await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes().to_vec();
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// GET.
pub async fn get(url: &str) -> Result<Response> {
    send("GET", url, &[], Vec::new(), Duration::from_secs(30)).await
}

/// POST a form.
pub async fn post_form(url: &str, fields: &[(&str, &str)]) -> Result<Response> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    send(
        "POST",
        url,
        &[("content-type", "application/x-www-form-urlencoded")],
        body.into_bytes(),
        Duration::from_secs(30),
    )
    .await
}

/// POST a form of `page` (a page of the simulated Slack) as a browser does: with the session cookie the page set
/// and the token its forms carry.
pub async fn post_page_form(
    page: &Response,
    url: &str,
    fields: &[(&str, &str)],
) -> Result<Response> {
    let cookie = page
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .context("the page set no session cookie")?;
    let text = page.text();
    let token = text
        .split_once(r#"name="csrf_token" value=""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(token, _)| token)
        .context("the page's form carries no token")?;
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .append_pair("csrf_token", token)
        .finish();
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("cookie", cookie),
    ];
    send(
        "POST",
        url,
        &headers,
        body.into_bytes(),
        Duration::from_secs(30),
    )
    .await
}

/// The decoded query of a URL.
pub fn query_pairs(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let query = query.split('#').next().unwrap_or("");
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}
