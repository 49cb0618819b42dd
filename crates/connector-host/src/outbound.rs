//! Outbound HTTP policy: the one place that decides where a connector's requests may go, and how.
//!
//! Every request of a component goes through [`OutboundPolicy::send_request`] (wasmtime-wasi-http's
//! `WasiHttpHooks`): the URL must be plain ([`normalise`]: no userinfo, no dot segments plain or percent-encoded,
//! no `;` parameters, no backslashes), match a granted origin exactly (scheme, host, port), start with its path
//! prefix, and use a method the grant allows (GET and POST unless a `methods` line says otherwise); anything else
//! is answered `HttpRequestDenied` without a connection, and the denial is logged with the reason and the grant line
//! that would allow it. In local mode a route maps a granted origin to the simulated service on 127.0.0.1, and says
//! so in the log. The `Host` header sent is always the origin that was checked, whatever the component set.
//!
//! A call may have at most [`OutboundConfig::max_requests_in_flight`] requests open at once ([`in_flight`]: one more
//! traps the call), and the connector's connections, shared by every call on every platform, are capped by its
//! [`ConnectionPool`]: a request that finds them all in use waits its turn (first come, first served) up to the
//! connect time-out.
//!
//! The host then sends the request itself ([`send`]): it resolves the name, refuses loopback, private, link-local
//! and metadata addresses unless the grants name them (`DestinationIpProhibited`), connects to the very address it
//! checked (so DNS cannot change between check and connect), caps request and response bodies, applies the
//! operator's connect, first-byte, between-bytes and total time-outs, and never follows a redirect.
//!
//! Going live, the operator may add root certificates ([`TlsClient`]: webpki roots plus theirs, the host name always
//! verified), pin a host and port to an address ([`Pin`], curl's `--resolve`: allowed whatever kind of address it
//! is, for that host and port only) and send https through a proxy ([`Proxy`], `HTTPS_PROXY` and `NO_PROXY`: a
//! `CONNECT` tunnel, TLS with the destination inside it). [`OutboundPolicy::send_from_host`] sends one request of
//! the host's own through the very same path, for checks such as calling Slack's `api.test`.
//!
//! Bytes the host buffers for one request's bodies are bounded: the component's body writes go through a channel of
//! two chunks of at most [`BODY_CHUNK_BYTES`], and each connection reads and writes through buffers of at most
//! [`CONNECTION_BUFFER_BYTES`]; [`OutboundConfig::max_buffered_bytes_per_call`] is that times the requests a call
//! may have in flight.

mod in_flight;
pub mod normalise;
mod pin;
mod proxy;
mod tls;

pub use in_flight::{CappedHandler, InFlight, InFlightGuard, add_to_linker};
pub use pin::Pin;
pub use proxy::Proxy;
pub use tls::{TlsClient, read_pem_certificates};

use crate::scheduling;
use http::{Method, Uri};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// An origin and path prefix a connector may call, such as `https://api.example.com/v1/`.
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
    /// The methods allowed ([`default_methods`] unless a `methods` line says otherwise).
    pub methods: Vec<Method>,
}

/// The methods a grant allows unless it lists others: GET and POST.
pub fn default_methods() -> Vec<Method> {
    vec![Method::GET, Method::POST]
}

/// Parses a method name as a grant or manifest lists it (`GET`, `put`); refuses what is not an HTTP token.
pub fn parse_method(text: &str) -> anyhow::Result<Method> {
    Method::from_bytes(text.to_ascii_uppercase().as_bytes())
        .map_err(|_| anyhow::anyhow!("`{text}` is not an HTTP method"))
}

/// Methods as a grant line lists them: `"GET", "POST"`.
pub fn methods_line(methods: &[Method]) -> String {
    methods
        .iter()
        .map(|m| format!("\"{m}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Grant {
    /// Parses `scheme://host[:port]/prefix`, allowing the [`default_methods`]. A URL with userinfo is refused.
    pub fn parse(text: &str) -> anyhow::Result<Grant> {
        let uri: Uri = text
            .parse()
            .map_err(|e| anyhow::anyhow!("`{text}` is not a URL: {e}"))?;
        normalise::check(&uri).map_err(|why| anyhow::anyhow!("`{text}`: {why}"))?;
        let (scheme, host, port) =
            origin_of(&uri).ok_or_else(|| anyhow::anyhow!("`{text}` has no scheme or host"))?;
        Ok(Grant {
            scheme,
            host,
            port,
            path_prefix: uri.path().to_string(),
            methods: default_methods(),
        })
    }

    /// The same origin and prefix, allowing `methods` instead.
    pub fn with_methods(mut self, methods: Vec<Method>) -> Grant {
        self.methods = methods;
        self
    }

    /// Whether this grant allows `method`.
    pub fn allows_method(&self, method: &Method) -> bool {
        self.methods.contains(method)
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

impl Grant {
    /// The part of this grant that `other` also allows: same origin, the longer of the two path prefixes when one
    /// starts with the other, and the methods both allow (possibly none).
    pub fn intersect(&self, other: &Grant) -> Option<Grant> {
        if (&self.scheme, &self.host, self.port) != (&other.scheme, &other.host, other.port) {
            return None;
        }
        let narrower = if self.path_prefix.starts_with(&other.path_prefix) {
            self
        } else if other.path_prefix.starts_with(&self.path_prefix) {
            other
        } else {
            return None;
        };
        let methods = self
            .methods
            .iter()
            .filter(|m| other.methods.contains(m))
            .cloned()
            .collect();
        Some(narrower.clone().with_methods(methods))
    }
}

/// The policy's configuration, shared by every store of a connector.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// What may be called.
    pub grants: Vec<Grant>,
    /// Local-mode routes.
    pub routes: Vec<Route>,
    /// Addresses outside the public internet that a granted *name* may resolve to (loopback, private, link-local,
    /// metadata). An IP literal named by a grant or a route is allowed as such.
    pub addresses: Vec<IpAddr>,
    /// Time to resolve the name and connect (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time to the first byte of the answer.
    pub first_byte_timeout: Duration,
    /// Time between bytes of the answer.
    pub between_bytes_timeout: Duration,
    /// Time for the whole exchange: connection, request, answer and its body.
    pub total_timeout: Duration,
    /// Largest request body sent.
    pub max_request_bytes: u64,
    /// Largest response body received.
    pub max_response_bytes: u64,
    /// Requests one call may have in flight at once; one more traps the call.
    pub max_requests_in_flight: usize,
    /// The connector's connections, open and idle, shared by every store (every call on every platform) and capped
    /// in total ([`ConnectionPool::max_connections`]).
    pub pool: Arc<ConnectionPool>,
    /// Address pins (curl's `--resolve`): a pinned host and port connects to its address without DNS, whatever
    /// kind of address it is. None unless the operator sets them.
    pub pins: Vec<Pin>,
    /// The proxy https requests go through; none unless the operator sets one (for instance from
    /// [`Proxy::from_env`]): [`OutboundConfig::new`] reads no environment.
    pub proxy: Option<Proxy>,
    /// The TLS client: webpki roots, plus extra roots the operator adds ([`OutboundConfig::add_root_certificates`]).
    pub tls: TlsClient,
}

/// Requests a call may have in flight unless the grants say otherwise. The Slack connector sends one request at a
/// time (its SDK waits for each answer), so this leaves room for a connector that sends a few at once.
pub const DEFAULT_MAX_REQUESTS_IN_FLIGHT: usize = 8;
/// Connections a connector may have open at once (across every call and platform) unless the grants say otherwise:
/// sixteen calls at their in-flight cap, far below a process's descriptor limit.
pub const DEFAULT_MAX_CONNECTIONS: usize = 128;
/// Largest chunk of a request body the component may hand the host in one write; two such chunks are buffered.
pub const BODY_CHUNK_BYTES: usize = 64 << 10;
/// A connection's read buffer and its write buffer are each at most this large (response headers must fit).
pub const CONNECTION_BUFFER_BYTES: usize = 64 << 10;

impl OutboundConfig {
    /// A configuration granting `grants`, with time-outs far below wasmtime's 600 s defaults and body caps.
    pub fn new(grants: Vec<Grant>) -> Self {
        OutboundConfig {
            grants,
            routes: Vec::new(),
            addresses: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            first_byte_timeout: Duration::from_secs(20),
            between_bytes_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_request_bytes: 1 << 20,
            max_response_bytes: 8 << 20,
            max_requests_in_flight: DEFAULT_MAX_REQUESTS_IN_FLIGHT,
            pool: Arc::new(ConnectionPool::new(DEFAULT_MAX_CONNECTIONS)),
            pins: Vec::new(),
            proxy: None,
            tls: TlsClient::default(),
        }
    }

    /// Trusts the certificates of the PEM file `path` as roots too, on top of the webpki roots and those added before
    /// (curl's `--cacert FILE`). Refuses, naming the file, one that holds no certificate or one that cannot serve as a
    /// root.
    pub fn add_root_certificates(&mut self, path: &std::path::Path) -> anyhow::Result<()> {
        let roots = read_pem_certificates(path)?;
        self.tls = self
            .tls
            .with_extra_roots(roots)
            .map_err(|e| anyhow::anyhow!("the certificate file {}: {e}", path.display()))?;
        Ok(())
    }

    /// The address a pin gives `host`:`port`, if one does.
    fn pinned(&self, host: &str, port: u16) -> Option<SocketAddr> {
        self.pins
            .iter()
            .find(|pin| pin.host == host && pin.port == port)
            .map(|pin| pin.addr)
    }

    /// The most bytes the host buffers at once for one call's request and response bodies: per request in flight,
    /// the body channel's two chunks and the chunk the component is writing, and the connection's read and write
    /// buffers.
    pub fn max_buffered_bytes_per_call(&self) -> usize {
        self.max_requests_in_flight * (3 * BODY_CHUNK_BYTES + 2 * CONNECTION_BUFFER_BYTES)
    }

    /// Maps a URL the connector produced for a browser (such as a consent page) through the local routes.
    pub fn public_url(&self, url: &str) -> String {
        url.parse::<Uri>()
            .ok()
            .and_then(|uri| self.routes.iter().find_map(|r| r.rewrite(&uri)))
            .map(|uri| uri.to_string())
            .unwrap_or_else(|| url.to_string())
    }

    /// Whether a connection to `ip` is allowed for a host *name* (pinned addresses and IP literals named by the
    /// operator are allowed before this is asked): public addresses, and the non-public ones the grants name.
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.addresses.contains(&ip)
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local (cloud metadata services such
/// as 169.254.169.254 included), shared, unspecified, multicast, documentation or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x0064 && s[1] == 0xff9b)
                || s[..6] == [0, 0, 0, 0, 0, 0])
        }
    }
}

/// The per-store hooks: checks and routes every outgoing request, and counts the store's requests in flight.
pub struct OutboundPolicy {
    config: Arc<OutboundConfig>,
    /// Who is calling, for the log.
    caller: Arc<str>,
    /// This store's requests in flight.
    in_flight: InFlight,
}

impl OutboundPolicy {
    /// The policy for one store of `caller` (platform and connector).
    pub fn new(config: Arc<OutboundConfig>, caller: String) -> Self {
        let in_flight = InFlight::new(config.max_requests_in_flight);
        OutboundPolicy {
            config,
            caller: caller.into(),
            in_flight,
        }
    }

    /// This store's requests in flight (the count [`CappedHandler`] checks before each request).
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.clone()
    }

    /// Who is calling: platform and connector.
    pub fn caller(&self) -> Arc<str> {
        self.caller.clone()
    }

    /// Decides: `Ok(uri to connect to)` or `Err(why)`.
    pub fn decide(&self, method: &Method, uri: &Uri) -> Result<Uri, String> {
        if let Err(refusal) = normalise::check(uri) {
            return Err(format!("{} may not call {uri}: {refusal}", self.caller));
        }
        let wanted = || {
            origin_of(uri)
                .map(|(s, h, p)| format!("{s}://{h}:{p}{}", uri.path()))
                .unwrap_or_else(|| uri.to_string())
        };
        let granted: Vec<&Grant> = self
            .config
            .grants
            .iter()
            .filter(|g| g.allows(uri))
            .collect();
        let Some(first) = granted.first() else {
            return Err(format!(
                "{} may not call {}: no grant allows it (a grant line `allow = [\"{}\"]` under [outbound] would)",
                self.caller,
                wanted(),
                suggested_grant(uri)
            ));
        };
        if !granted.iter().any(|g| g.allows_method(method)) {
            let mut methods = first.methods.clone();
            methods.push(method.clone());
            return Err(format!(
                "{} may not send {method} to {}: the grant {first} allows {} only (a grant line `methods = [{}]` \
                 under [outbound] would allow it)",
                self.caller,
                wanted(),
                if first.methods.is_empty() {
                    "no method".to_string()
                } else {
                    first
                        .methods
                        .iter()
                        .map(Method::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                methods_line(&methods)
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

/// The `Host` header of a checked origin: its host, and its port unless it is the scheme's default.
fn host_header((scheme, host, port): &Origin) -> String {
    match (scheme.as_str(), port) {
        ("https", 443) | ("http", 80) => host.clone(),
        _ => format!("{host}:{port}"),
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

/// An IP literal host (`127.0.0.1`, `[::1]`), if the host is one.
fn ip_literal(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type ResponseFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> ResponseFuture {
        let target = match self.decide(request.method(), request.uri()) {
            Ok(target) => target,
            Err(why) => {
                tracing::warn!(target: "outbound", "denied: {why}");
                return Box::new(async { Err(HttpError::HttpRequestDenied) });
            }
        };
        // The Host sent is the origin that was checked, whatever the component put in the authority or headers.
        let Some(host) = origin_of(request.uri())
            .and_then(|origin| http::HeaderValue::from_str(&host_header(&origin)).ok())
        else {
            return Box::new(async { Err(HttpError::HttpRequestUriInvalid) });
        };
        let headers = request.headers_mut();
        headers.remove(http::header::HOST);
        headers.insert(http::header::HOST, host);
        *request.uri_mut() = target;
        let in_flight = self.in_flight.enter();
        // The component's own time-out wishes are ignored: the operator's apply.
        let config = self.config.clone();
        let caller = self.caller.clone();
        Box::new(async move {
            let deadline = tokio::time::Instant::now() + config.total_timeout;
            let sent = send(request, &config, &caller, deadline, in_flight);
            match tokio::time::timeout_at(deadline, sent).await {
                Ok(result) => result,
                Err(_) => Err(HttpError::HttpResponseTimeout),
            }
        })
    }

    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        BODY_CHUNK_BYTES
    }

    fn p2_outgoing_body_buffer_chunks(&mut self) -> usize {
        1
    }

    /// A certificate refused, an alert from the server, or another protocol error: the handshake logged why.
    fn p2_error_from_tls(&mut self, error: &std::io::Error) -> ErrorCode {
        tls::error_code(error)
    }
}

impl OutboundPolicy {
    /// Sends one request from the host itself through exactly the path a component's requests take
    /// ([`WasiHttpHooks::send_request`]: grants, routes, pins, proxy, address checks, TLS, pool, time-outs and caps)
    /// and reads the answer to its end. For checks the operator runs, such as calling
    /// `https://slack.com/api/api.test` to see that the host reaches Slack as deliveries will. The error is the one a
    /// component would get; its message says why (a TLS failure with the rustls reason, a proxy's refusal with its
    /// status), and a denial is logged as for a component.
    pub async fn send_from_host(
        &mut self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, HttpError> {
        use http_body_util::BodyExt;
        let request = request.map(|body| {
            http_body_util::Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync()
        });
        let sent = self.send_request(request, None, Box::new(async { Ok(()) }));
        let (response, _io) = Box::into_pin(sent).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(http::Response::from_parts(parts, body))
    }
}

/// The address to connect to for the target's host and port: the pinned one if a pin names them, else the IP
/// literal itself, else the first the name resolves to that the policy allows; logs and refuses when none is left.
async fn checked_address(
    config: &OutboundConfig,
    caller: &str,
    host: &str,
    port: u16,
) -> Result<SocketAddr, HttpError> {
    // A pinned address, and an IP literal that got here through a grant or a route naming it: the operator chose them.
    if let Some(address) = config.pinned(host, port) {
        tracing::debug!(target: "outbound", caller, host, port, %address, "pinned");
        return Ok(address);
    }
    if let Some(ip) = ip_literal(host) {
        return Ok(SocketAddr::new(ip, port));
    }
    let resolved: Vec<SocketAddr> = match tokio::time::timeout(
        config.connect_timeout,
        tokio::net::lookup_host((host, port)),
    )
    .await
    {
        Err(_) => return Err(HttpError::DnsTimeout),
        Ok(Err(e)) => {
            tracing::debug!(target: "outbound", caller, host, "name resolution failed: {e}");
            return Err(HttpError::DestinationNotFound);
        }
        Ok(Ok(addresses)) => addresses.collect(),
    };
    if let Some(address) = resolved.iter().find(|a| config.address_allowed(a.ip())) {
        return Ok(*address);
    }
    let Some(first) = resolved.first() else {
        return Err(HttpError::DestinationNotFound);
    };
    tracing::warn!(
        target: "outbound",
        "denied: {caller} may not connect to {host}:{port}: it resolves to {}, which is not a public address (a \
         grant line `addresses = [\"{}\"]` under [outbound] would allow it)",
        resolved.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", "),
        first.ip()
    );
    Err(HttpError::DestinationIpProhibited)
}

/// Sends one request to the checked address: no redirects followed, body sizes capped, every time-out applied.
async fn send(
    mut request: http::Request<WasiBody>,
    config: &OutboundConfig,
    caller: &str,
    deadline: tokio::time::Instant,
    in_flight: InFlightGuard,
) -> Result<(http::Response<WasiBody>, IoFuture), HttpError> {
    use http_body_util::BodyExt;

    let (scheme, host, port) = origin_of(request.uri()).ok_or(HttpError::HttpRequestUriInvalid)?;
    if let Some(length) = content_length(request.headers())
        && length > config.max_request_bytes
    {
        return Err(HttpError::HttpRequestBodySize(Some(length)));
    }
    let origin: Origin = (scheme, host, port);
    // The request line carries the path only (the origin went into the connection and the Host header).
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    *request.uri_mut() = path.parse().map_err(|_| HttpError::HttpRequestUriInvalid)?;
    let mut request = request.map(|body| {
        Capped::new(
            body,
            config.max_request_bytes,
            HttpError::HttpRequestBodySize,
            None,
            deadline,
        )
    });
    config
        .pool
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let first_byte_timeout = config.first_byte_timeout;
    let (response, connection) = loop {
        let (mut connection, pooled) = match config.pool.take(&origin) {
            Some(connection) => (connection, true),
            None => (connect(config, caller, &origin).await?, false),
        };
        match tokio::time::timeout(
            first_byte_timeout,
            connection.sender.try_send_request(request),
        )
        .await
        {
            Err(_) => return Err(HttpError::ConnectionReadTimeout),
            Ok(Ok(response)) => break (response, connection),
            // A pooled connection the server closed meanwhile, before the request went out: a fresh one.
            Ok(Err(mut e)) if pooled && e.message().is_some() => {
                request = e.take_message().expect("checked above");
            }
            Ok(Err(e)) => return Err(HttpError::from(e.into_error())),
        }
    };
    // Redirects are answers like any other: the component sees the 3xx, the host never follows it.
    if let Some(length) = content_length(response.headers())
        && length > config.max_response_bytes
    {
        tracing::warn!(target: "outbound", caller, "refused an answer of {length} bytes (cap {})", config.max_response_bytes);
        return Err(HttpError::HttpResponseBodySize(Some(length)));
    }
    let max = config.max_response_bytes;
    let idle = config.between_bytes_timeout;
    let pool = config.pool.clone();
    let release = move || {
        // Read to the end: the connection can serve the next request once hyper has finished with it.
        tokio::spawn(async move {
            let mut connection = connection;
            if connection.sender.ready().await.is_ok() {
                pool.put(origin, connection);
            }
        });
    };
    let response = response.map(|body| {
        Capped::new(
            body,
            max,
            HttpError::HttpResponseBodySize,
            Some(idle),
            deadline,
        )
        .on_end(Box::new(release))
        .holding(in_flight)
        .boxed_unsync()
    });
    Ok((response, Box::new(async { Ok(()) }) as IoFuture))
}

/// A connection's request side.
type Sender = hyper::client::conn::http1::SendRequest<Capped<WasiBody>>;

/// A connection as the pool keeps it: its request side, and the call thread whose runtime drives it
/// ([`scheduling::call_thread`]; none when it was opened elsewhere).
struct Connection {
    sender: Sender,
    thread: Option<usize>,
}

/// An origin: scheme, host, port.
type Origin = (String, String, u16);

/// A connector's connections: idle keep-alive ones per origin, and a cap on all that are open. A connection is
/// opened (after the address check) only when no idle one is ready, and goes back to the pool once its answer was
/// read to the end; the default wasi:http sender opens a new TCP connection (and in production a new TLS session)
/// for every request.
///
/// Every open connection holds one of [`ConnectionPool::max_connections`] permits until its socket closes. A
/// request that finds none left first closes the idle connections, then waits its turn: permits go to waiting
/// requests first come, first served, so a call that keeps its connections busy delays others by at most the
/// time its requests take, and a request that waits longer than the connect time-out fails
/// (`ConnectionLimitReached`) and is logged.
pub struct ConnectionPool {
    idle: std::sync::Mutex<std::collections::HashMap<Origin, Vec<Connection>>>,
    permits: Arc<tokio::sync::Semaphore>,
    max_connections: usize,
    opened: std::sync::atomic::AtomicU64,
    requests: std::sync::atomic::AtomicU64,
}

impl Default for ConnectionPool {
    fn default() -> Self {
        ConnectionPool::new(DEFAULT_MAX_CONNECTIONS)
    }
}

/// Idle connections kept per origin: as many as may be open by default, since each call thread keeps its own
/// (8 in flight on each of 16 call threads on a 2-core machine). The pool's permits bound what is open in all.
const MAX_IDLE_PER_ORIGIN: usize = DEFAULT_MAX_CONNECTIONS;

impl std::fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ConnectionPool {{ open: {}/{}, opened: {}, requests: {} }}",
            self.open(),
            self.max_connections,
            self.opened(),
            self.requests()
        )
    }
}

impl ConnectionPool {
    /// An empty pool allowing `max_connections` connections open at once (at least one).
    pub fn new(max_connections: usize) -> ConnectionPool {
        let max_connections = max_connections.max(1);
        ConnectionPool {
            idle: Default::default(),
            permits: Arc::new(tokio::sync::Semaphore::new(max_connections)),
            max_connections,
            opened: Default::default(),
            requests: Default::default(),
        }
    }

    /// Connections that may be open at once.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Connections open now (in use or idle).
    pub fn open(&self) -> usize {
        self.max_connections - self.permits.available_permits()
    }

    /// A permit to open one more connection, waiting up to `wait` for one when all are taken.
    async fn admit(
        &self,
        caller: &str,
        wait: Duration,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, HttpError> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        // Idle connections wait for no request: closing them makes room (their permits go to whoever waits first).
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
        match tokio::time::timeout(wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => {
                tracing::warn!(
                    target: "outbound",
                    "refused: {caller} waited {wait:?} for one of the connector's {} connections (`max_connections` \
                     under [outbound] in the grant file); all stayed in use",
                    self.max_connections
                );
                Err(HttpError::ConnectionLimitReached)
            }
        }
    }
    /// Connections opened so far.
    pub fn opened(&self) -> u64 {
        self.opened.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// An idle connection to `origin`, the most recently used first. On a call thread, only one that thread's
    /// runtime drives, so that the request and its connection stay on one thread (a connection driven elsewhere,
    /// such as on the low-priority runtime, would make every request of the call cross threads, and wait for that
    /// runtime's turn); elsewhere, any. Connections the server closed go.
    fn take(&self, origin: &Origin) -> Option<Connection> {
        let here = scheduling::call_thread();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let connections = idle.get_mut(origin)?;
        connections.retain(|c| c.sender.is_ready());
        let at = match here {
            Some(_) => connections.iter().rposition(|c| c.thread == here)?,
            None => connections.len().checked_sub(1)?,
        };
        Some(connections.remove(at))
    }

    fn put(&self, origin: Origin, connection: Connection) {
        // Every connection taken: a request may be waiting for one, so this one closes (its permit goes to the
        // first in line) rather than waiting idle for its own origin.
        if self.permits.available_permits() == 0 {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let connections = idle.entry(origin).or_default();
        if connections.len() < MAX_IDLE_PER_ORIGIN {
            connections.push(connection);
        }
    }
}

/// Opens a connection to `origin` and starts driving it: TCP to the checked (or pinned) address, or a tunnel through
/// the proxy for an https destination the proxy serves; then TLS for https.
async fn connect(
    config: &OutboundConfig,
    caller: &str,
    origin: &Origin,
) -> Result<Connection, HttpError> {
    let (scheme, host, port) = origin;
    let permit = config.pool.admit(caller, config.connect_timeout).await?;
    let proxy = config
        .proxy
        .as_ref()
        .filter(|proxy| scheme == "https" && proxy.used_for(host));
    let (tcp, address) = match proxy {
        Some(proxy) => {
            match tokio::time::timeout(config.connect_timeout, proxy.tunnel(host, *port)).await {
                Ok(Ok(tcp)) => (tcp, format!("{host}:{port} through the proxy {proxy}")),
                Ok(Err(e)) => {
                    tracing::warn!(target: "outbound", "{caller}: {e}");
                    return Err(e);
                }
                Err(_) => return Err(HttpError::ConnectionTimeout),
            }
        }
        None => {
            let address = checked_address(config, caller, host, *port).await?;
            let tcp = tokio::time::timeout(config.connect_timeout, open_tcp(address))
                .await
                .map_err(|_| HttpError::ConnectionTimeout)??;
            (tcp, address.to_string())
        }
    };
    use tokio::io::{AsyncRead, AsyncWrite};
    trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static {}
    impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static> Stream for T {}
    let stream: Box<dyn Stream> = if scheme == "https" {
        match tokio::time::timeout(
            config.connect_timeout,
            config.tls.connect(host, &address, tcp),
        )
        .await
        {
            Ok(Ok(stream)) => Box::new(stream),
            Ok(Err(e)) => {
                tracing::warn!(target: "outbound", "{caller}: {e}");
                return Err(e);
            }
            Err(_) => return Err(HttpError::ConnectionTimeout),
        }
    } else {
        Box::new(tcp)
    };
    let (sender, conn) = tokio::time::timeout(
        config.connect_timeout,
        hyper::client::conn::http1::Builder::new()
            .max_buf_size(CONNECTION_BUFFER_BYTES)
            .handshake(hyper_util::rt::TokioIo::new(stream)),
    )
    .await
    .map_err(|_| HttpError::ConnectionTimeout)??;
    // The connection lives as long as the pool or a request keeps its sender (or until the server closes it), and
    // holds its permit until then.
    tokio::spawn(async move {
        let _permit = permit;
        if let Err(e) = conn.await {
            tracing::debug!(target: "outbound", "connection ended: {e}");
        }
    });
    config
        .pool
        .opened
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(Connection {
        sender,
        thread: scheduling::call_thread(),
    })
}

/// A TCP connection to `address` (the first of its addresses that accepts), without Nagle's delay.
async fn open_tcp(
    address: impl tokio::net::ToSocketAddrs,
) -> Result<tokio::net::TcpStream, HttpError> {
    match tokio::net::TcpStream::connect(address).await {
        Ok(tcp) => {
            let _ = tcp.set_nodelay(true);
            Ok(tcp)
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err(HttpError::ConnectionRefused)
        }
        Err(e) => Err(HttpError::Connect(e)),
    }
}

fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// A body with a size cap, an optional time-out between frames and a deadline for the whole exchange.
struct Capped<B> {
    inner: B,
    seen: u64,
    max: u64,
    too_big: fn(Option<u64>) -> HttpError,
    idle: Option<(Duration, std::pin::Pin<Box<tokio::time::Sleep>>)>,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    on_end: Option<Box<dyn FnOnce() + Send>>,
    /// The request this body belongs to, counted in flight until the body ends or is dropped.
    in_flight: Option<InFlightGuard>,
}

impl<B> Capped<B> {
    fn new(
        inner: B,
        max: u64,
        too_big: fn(Option<u64>) -> HttpError,
        idle: Option<Duration>,
        deadline: tokio::time::Instant,
    ) -> Self {
        Capped {
            inner,
            seen: 0,
            max,
            too_big,
            idle: idle.map(|d| (d, Box::pin(tokio::time::sleep(d)))),
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            on_end: None,
            in_flight: None,
        }
    }

    /// Keeps the request counted in flight until the body ended or was dropped.
    fn holding(mut self, in_flight: InFlightGuard) -> Self {
        self.in_flight = Some(in_flight);
        self
    }

    /// Runs `f` once the body was read to its end (not when it is dropped early).
    fn on_end(mut self, f: Box<dyn FnOnce() + Send>) -> Self {
        self.on_end = Some(f);
        self
    }
}

impl<B> http_body::Body for Capped<B>
where
    B: http_body::Body<Data = bytes::Bytes> + Unpin,
    B::Error: Into<HttpError>,
{
    type Data = bytes::Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, HttpError>>> {
        use std::task::Poll;
        let this = &mut *self;
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(HttpError::HttpResponseTimeout)));
        }
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen += data.len() as u64;
                    if this.seen > this.max {
                        return Poll::Ready(Some(Err((this.too_big)(Some(this.seen)))));
                    }
                }
                if let Some((every, sleep)) = this.idle.as_mut() {
                    sleep.as_mut().reset(tokio::time::Instant::now() + *every);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => {
                if let Some(f) = this.on_end.take() {
                    f();
                }
                this.in_flight = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if let Some((_, sleep)) = this.idle.as_mut()
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(routes: Vec<Route>) -> OutboundPolicy {
        let mut config =
            OutboundConfig::new(vec![Grant::parse("https://api.example.com/v1/").unwrap()]);
        config.routes = routes;
        OutboundPolicy::new(Arc::new(config), "p1/example".into())
    }

    #[test]
    fn only_the_granted_origin_and_prefix_pass() {
        let p = policy(vec![]);
        let ok = |u: &str| p.decide(&Method::GET, &u.parse().unwrap()).is_ok();
        assert!(ok("https://api.example.com/v1/messages.send"));
        assert!(ok("https://API.EXAMPLE.com:443/v1/status"));
        assert!(!ok("http://api.example.com/v1/status"), "scheme differs");
        assert!(
            !ok("https://api.example.com:8443/v1/status"),
            "port differs"
        );
        assert!(!ok("https://api.example.com/other"), "outside the prefix");
        assert!(!ok("https://api.example.com/v1/../admin"), "dot segments");
        assert!(
            !ok("https://api.example.com.evil.example/v1/x"),
            "suffix host"
        );
        assert!(!ok("https://169.254.169.254/latest/meta-data/"));
        let why = p
            .decide(&Method::GET, &"https://example.com/x".parse().unwrap())
            .unwrap_err();
        assert!(why.contains("https://example.com:443/"), "{why}");
    }

    #[test]
    fn only_the_granted_methods_pass() {
        let p = policy(vec![]);
        let url: Uri = "https://api.example.com/v1/items".parse().unwrap();
        assert!(p.decide(&Method::GET, &url).is_ok());
        assert!(p.decide(&Method::POST, &url).is_ok());
        for method in [Method::CONNECT, Method::TRACE, Method::PUT] {
            let why = p.decide(&method, &url).unwrap_err();
            assert!(
                why.contains(&format!("methods = [\"GET\", \"POST\", \"{method}\"]")),
                "{why}"
            );
            assert!(why.contains("allows GET, POST only"), "{why}");
        }
        let grant = Grant::parse("https://api.example.com/v1/")
            .unwrap()
            .with_methods(vec![Method::GET, parse_method("put").unwrap()]);
        let p = OutboundPolicy::new(
            Arc::new(OutboundConfig::new(vec![grant])),
            "p1/example".into(),
        );
        assert!(p.decide(&Method::PUT, &url).is_ok());
        assert!(p.decide(&Method::POST, &url).is_err());
        assert!(parse_method("GE T").is_err());
    }

    #[test]
    fn encoded_dot_segments_and_userinfo_are_denied_with_the_reason() {
        let p = policy(vec![]);
        for (url, reason) in [
            ("https://api.example.com/v1/%2e%2e/admin", "dot segment"),
            ("https://api.example.com/v1/.%2E/admin", "dot segment"),
            ("https://api.example.com/v1/..;/admin", "`;` parameter"),
            ("https://api.example.com/v1/x%5c..%5cadmin", "backslash"),
            ("https://127.0.0.1:4000@api.example.com/v1/x", "userinfo"),
            ("https://user@api.example.com/v1/x", "userinfo"),
        ] {
            let why = p.decide(&Method::GET, &url.parse().unwrap()).unwrap_err();
            assert!(why.contains(reason), "{url}: {why}");
            assert!(why.starts_with("p1/example may not call"), "{why}");
        }
        assert!(Grant::parse("https://user@api.example.com/v1/").is_err());
    }

    #[test]
    fn the_host_header_is_the_checked_origin() {
        let origin = |s: &str, h: &str, p: u16| (s.to_string(), h.to_string(), p);
        assert_eq!(host_header(&origin("https", "slack.com", 443)), "slack.com");
        assert_eq!(host_header(&origin("http", "slack.com", 80)), "slack.com");
        assert_eq!(
            host_header(&origin("https", "slack.com", 8443)),
            "slack.com:8443"
        );
        assert_eq!(
            host_header(&origin("http", "127.0.0.1", 443)),
            "127.0.0.1:443"
        );
    }

    #[tokio::test]
    async fn connections_wait_their_turn_up_to_a_deadline() {
        let pool = Arc::new(ConnectionPool::new(1));
        let first = pool.admit("p1/x", Duration::from_millis(10)).await.unwrap();
        assert_eq!(pool.open(), 1);
        assert!(matches!(
            pool.admit("p1/x", Duration::from_millis(20)).await,
            Err(HttpError::ConnectionLimitReached)
        ));
        // A waiting request gets the permit as soon as the connection holding it closes.
        let waiting = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.admit("p2/x", Duration::from_secs(5)).await.is_ok() })
        };
        tokio::task::yield_now().await;
        drop(first);
        assert!(waiting.await.unwrap());
        assert_eq!(pool.open(), 0);
    }

    #[test]
    fn buffered_bytes_per_call_scale_with_the_requests_in_flight() {
        let mut config = OutboundConfig::new(vec![]);
        let one = config.max_buffered_bytes_per_call() / config.max_requests_in_flight;
        assert_eq!(one, 320 << 10);
        config.max_requests_in_flight = 2;
        assert_eq!(config.max_buffered_bytes_per_call(), 640 << 10);
    }

    #[test]
    fn only_public_addresses_pass_unless_named() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "54.192.0.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        let mut config = OutboundConfig::new(vec![]);
        assert!(!config.address_allowed("127.0.0.1".parse().unwrap()));
        config.addresses.push("127.0.0.1".parse().unwrap());
        assert!(config.address_allowed("127.0.0.1".parse().unwrap()));
    }

    #[tokio::test]
    async fn a_pin_allows_its_address_for_its_host_and_port_only() {
        let mut config = OutboundConfig::new(vec![]);
        config.pins.push("slack.com:443:127.0.0.1".parse().unwrap());
        let pinned: SocketAddr = "127.0.0.1:443".parse().unwrap();
        assert_eq!(config.pinned("slack.com", 443), Some(pinned));
        assert_eq!(config.pinned("slack.com", 8443), None);
        assert_eq!(config.pinned("localhost", 443), None);
        assert_eq!(
            checked_address(&config, "p1/x", "slack.com", 443)
                .await
                .unwrap(),
            pinned
        );
        assert!(matches!(
            checked_address(&config, "p1/x", "localhost", 443).await,
            Err(HttpError::DestinationIpProhibited)
        ));
        assert!(!config.address_allowed("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn grants_intersect_on_origin_and_prefix() {
        let g = |s: &str| Grant::parse(s).unwrap();
        assert_eq!(
            g("https://api.example.com/").intersect(&g("https://api.example.com/v1/")),
            Some(g("https://api.example.com/v1/"))
        );
        assert_eq!(
            g("https://api.example.com/v1/").intersect(&g("https://api.example.com/v1/")),
            Some(g("https://api.example.com/v1/"))
        );
        assert_eq!(
            g("https://api.example.com/a/").intersect(&g("https://api.example.com/b/")),
            None
        );
        assert_eq!(
            g("https://api.example.com/").intersect(&g("http://api.example.com/")),
            None
        );
        let put = g("https://api.example.com/").with_methods(vec![Method::GET, Method::PUT]);
        assert_eq!(
            put.intersect(&g("https://api.example.com/v1/")),
            Some(g("https://api.example.com/v1/").with_methods(vec![Method::GET]))
        );
    }

    #[test]
    fn local_routes_rewrite_the_granted_origin() {
        let route = Route::new("https://api.example.com", "http://127.0.0.1:4000").unwrap();
        let p = policy(vec![route.clone()]);
        let to = p
            .decide(
                &Method::GET,
                &"https://Api.Example.com:443/v1/status?x=1".parse().unwrap(),
            )
            .unwrap();
        assert_eq!(to.to_string(), "http://127.0.0.1:4000/v1/status?x=1");
        assert_eq!(
            route.rewrite(&"https://api.example.company.example/x".parse().unwrap()),
            None
        );
    }
}
