//! Outbound HTTP policy: the one place that decides where a connector's requests may go.
//!
//! Every request of a component goes through [`OutboundPolicy::send_request`] (wasmtime-wasi-http's
//! `WasiHttpHooks`): the URL must match a granted origin exactly (scheme, host, port) and start with its path
//! prefix; anything else is answered `HttpRequestDenied` without a connection, and the denial is logged with the
//! grant line that would allow it. In local mode a route maps a granted origin to the simulated service on
//! 127.0.0.1, and says so in the log.

use http::Uri;
use std::sync::Arc;
use std::time::Duration;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// An origin and path prefix a connector may call, such as `https://slack.com/api/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or IP literal, lower case.
    pub host: String,
    /// Port (the scheme's default when the URL has none).
    pub port: u16,
    /// Path prefix, starting with `/`.
    pub path_prefix: String,
}

impl Grant {
    /// Parses `scheme://host[:port]/prefix`.
    pub fn parse(text: &str) -> anyhow::Result<Grant> {
        let uri: Uri = text
            .parse()
            .map_err(|e| anyhow::anyhow!("`{text}` is not a URL: {e}"))?;
        let (scheme, host, port) =
            origin_of(&uri).ok_or_else(|| anyhow::anyhow!("`{text}` has no scheme or host"))?;
        Ok(Grant {
            scheme,
            host,
            port,
            path_prefix: uri.path().to_string(),
        })
    }

    /// Whether a request URL falls within this grant.
    pub fn allows(&self, uri: &Uri) -> bool {
        origin_of(uri).is_some_and(|(scheme, host, port)| {
            scheme == self.scheme && host == self.host && port == self.port
        }) && uri.path().starts_with(&self.path_prefix)
            && !uri.path().split('/').any(|segment| segment == "..")
    }
}

impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}:{}{}",
            self.scheme, self.host, self.port, self.path_prefix
        )
    }
}

/// Where a granted origin really goes in local mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The origin the connector addresses, such as `https://slack.com` (scheme, host, port).
    from: (String, String, u16),
    /// Where it goes: scheme and authority, such as `http` and `127.0.0.1:40123`.
    to: (String, String),
}

impl Route {
    /// A route from the origin of `from` to the origin of `to` (both absolute URLs).
    pub fn new(from: &str, to: &str) -> anyhow::Result<Route> {
        let from_uri: Uri = from.parse()?;
        let to_uri: Uri = to.parse()?;
        let from = origin_of(&from_uri).ok_or_else(|| anyhow::anyhow!("`{from}` has no origin"))?;
        let to = (
            to_uri
                .scheme_str()
                .ok_or_else(|| anyhow::anyhow!("`{to}` has no scheme"))?
                .to_string(),
            to_uri
                .authority()
                .ok_or_else(|| anyhow::anyhow!("`{to}` has no host"))?
                .to_string(),
        );
        Ok(Route { from, to })
    }

    /// Rewrites a URI of the routed origin, keeping its path and query; `None` for other origins.
    pub fn rewrite(&self, uri: &Uri) -> Option<Uri> {
        if origin_of(uri)? != self.from {
            return None;
        }
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        format!("{}://{}{path}", self.to.0, self.to.1).parse().ok()
    }
}

/// The policy's configuration, shared by every store of a connector.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// What may be called.
    pub grants: Vec<Grant>,
    /// Local-mode routes.
    pub routes: Vec<Route>,
    /// Time-outs for every request.
    pub connect_timeout: Duration,
    /// Time to the first byte of the answer.
    pub first_byte_timeout: Duration,
    /// Time between bytes of the answer.
    pub between_bytes_timeout: Duration,
}

impl OutboundConfig {
    /// A configuration granting `grants`, with time-outs far below wasmtime's 600 s defaults.
    pub fn new(grants: Vec<Grant>) -> Self {
        OutboundConfig {
            grants,
            routes: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            first_byte_timeout: Duration::from_secs(20),
            between_bytes_timeout: Duration::from_secs(10),
        }
    }

    /// Maps a URL the connector produced for a browser (such as a consent page) through the local routes.
    pub fn public_url(&self, url: &str) -> String {
        url.parse::<Uri>()
            .ok()
            .and_then(|uri| self.routes.iter().find_map(|r| r.rewrite(&uri)))
            .map(|uri| uri.to_string())
            .unwrap_or_else(|| url.to_string())
    }
}

/// The per-store hooks: checks and routes every outgoing request.
pub struct OutboundPolicy {
    config: Arc<OutboundConfig>,
    /// Who is calling, for the log.
    caller: String,
}

impl OutboundPolicy {
    /// The policy for one store of `caller` (platform and connector).
    pub fn new(config: Arc<OutboundConfig>, caller: String) -> Self {
        OutboundPolicy { config, caller }
    }

    /// Decides: `Ok(uri to connect to)` or `Err(why)`.
    pub fn decide(&self, uri: &Uri) -> Result<Uri, String> {
        if !self.config.grants.iter().any(|g| g.allows(uri)) {
            let wanted = origin_of(uri)
                .map(|(s, h, p)| format!("{s}://{h}:{p}{}", uri.path()))
                .unwrap_or_else(|| uri.to_string());
            return Err(format!(
                "{} may not call {wanted}: no grant allows it (a grant line `outbound = [\"{}\"]` would)",
                self.caller,
                suggested_grant(uri)
            ));
        }
        match self.config.routes.iter().find_map(|r| r.rewrite(uri)) {
            Some(routed) => {
                tracing::debug!(caller = %self.caller, from = %uri, to = %routed, "local mode: routed to the simulation");
                Ok(routed)
            }
            None => Ok(uri.clone()),
        }
    }
}

fn suggested_grant(uri: &Uri) -> String {
    match origin_of(uri) {
        Some((scheme, host, port)) => format!("{scheme}://{host}:{port}/"),
        None => uri.to_string(),
    }
}

/// Scheme, lower-case host and port (defaulted from the scheme) of an absolute URI.
fn origin_of(uri: &Uri) -> Option<(String, String, u16)> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let port = uri.port_u16().or(match scheme.as_str() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    })?;
    Some((scheme, host, port))
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                ),
                wasmtime_wasi_http::Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> ResponseFuture {
        let target = match self.decide(request.uri()) {
            Ok(target) => target,
            Err(why) => {
                tracing::warn!(target: "outbound", "denied: {why}");
                return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
            }
        };
        *request.uri_mut() = target;
        // The component's own time-out wishes are ignored: the operator's apply.
        let options = RequestOptions {
            connect_timeout: Some(self.config.connect_timeout),
            first_byte_timeout: Some(self.config.first_byte_timeout),
            between_bytes_timeout: Some(self.config.between_bytes_timeout),
        };
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(routes: Vec<Route>) -> OutboundPolicy {
        let mut config = OutboundConfig::new(vec![Grant::parse("https://slack.com/api/").unwrap()]);
        config.routes = routes;
        OutboundPolicy::new(Arc::new(config), "p1/slack".into())
    }

    #[test]
    fn only_the_granted_origin_and_prefix_pass() {
        let p = policy(vec![]);
        let ok = |u: &str| p.decide(&u.parse().unwrap()).is_ok();
        assert!(ok("https://slack.com/api/chat.postMessage"));
        assert!(ok("https://SLACK.com:443/api/auth.test"));
        assert!(!ok("http://slack.com/api/auth.test"), "scheme differs");
        assert!(!ok("https://slack.com:8443/api/auth.test"), "port differs");
        assert!(!ok("https://slack.com/other"), "outside the prefix");
        assert!(!ok("https://slack.com/api/../admin"), "dot segments");
        assert!(!ok("https://slack.com.evil.example/api/x"), "suffix host");
        assert!(!ok("https://169.254.169.254/latest/meta-data/"));
        let why = p
            .decide(&"https://example.com/x".parse().unwrap())
            .unwrap_err();
        assert!(why.contains("https://example.com:443/"), "{why}");
    }

    #[test]
    fn local_routes_rewrite_the_granted_origin() {
        let route = Route::new("https://slack.com", "http://127.0.0.1:4000").unwrap();
        let p = policy(vec![route.clone()]);
        let to = p
            .decide(&"https://Slack.com:443/api/auth.test?x=1".parse().unwrap())
            .unwrap();
        assert_eq!(to.to_string(), "http://127.0.0.1:4000/api/auth.test?x=1");
        assert_eq!(
            route.rewrite(&"https://slack.company.example/x".parse().unwrap()),
            None
        );
    }
}
