//! Egress through an HTTP proxy, as `HTTPS_PROXY` and `NO_PROXY` say: for an https destination the proxy does not
//! exempt, the host opens a TCP connection to the proxy, asks it `CONNECT host:port HTTP/1.1` (with
//! `Proxy-Authorization: Basic` when the proxy URL has a user), requires a 2xx answer, and then runs TLS with the
//! destination through the tunnel, verifying the destination's certificate and name as without a proxy.
//!
//! The grants are checked against the destination's origin as always. The proxy's own address is the operator's
//! choice and is never refused as private; the destination's name is resolved by the proxy, not by the host, so the
//! host's address checks and [`super::Pin`]s do not apply to proxied requests (the proxy is then the egress control).
//! Plain-http destinations (local-mode routes to the simulation) never go through the proxy, and `HTTP_PROXY` is not
//! read.

use percent_encoding::percent_decode_str;
use std::net::IpAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wasmtime_wasi_http::Error as HttpError;

/// The largest answer to `CONNECT` the host reads (status line and headers).
const MAX_CONNECT_ANSWER_BYTES: usize = 8 << 10;

/// An HTTP proxy for https destinations (a `CONNECT` tunnel, TLS with the destination inside it), and the
/// destinations `NO_PROXY` sends directly. The grants still check the destination's origin; the proxy's address is
/// never refused as private; the proxy resolves the destination's name, so address checks and pins do not apply to
/// proxied requests.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// Host name or IP address of the proxy (without brackets).
    host: String,
    /// The proxy's port: the URL's, or 1080 as curl assumes when it has none.
    port: u16,
    /// `Basic …` from the URL's userinfo.
    authorization: Option<String>,
    /// `NO_PROXY` entries.
    bypass: Vec<Bypass>,
}

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bypass {
    /// `*`: every destination.
    All,
    /// A domain and every name under it (`example.com` and `.example.com` alike).
    Domain(String),
    /// An address range (`10.0.0.0/8`); a single address is a range of one.
    Network(IpAddr, u8),
}

impl Proxy {
    /// The proxy the environment names, as `env` reads it (`|name| std::env::var(name).ok()` for the process's):
    /// `https_proxy` or else `HTTPS_PROXY`, bypassed for `no_proxy` or else `NO_PROXY`; `None` when neither proxy
    /// variable is set (or both are empty).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<Proxy>> {
        let var = |names: [&str; 2]| {
            names
                .into_iter()
                .find_map(|name| env(name).filter(|v| !v.trim().is_empty()))
        };
        Proxy::from_values(
            var(["https_proxy", "HTTPS_PROXY"]).as_deref(),
            var(["no_proxy", "NO_PROXY"]).as_deref(),
        )
    }

    /// The proxy `https_proxy` names (`http://[user:password@]host[:port]`, the scheme optional, the user and password
    /// percent-encoded), bypassed for the comma-separated `no_proxy` entries: `*` for everything, a domain (with or
    /// without a leading dot) for itself and every name under it, an IP address, or a CIDR range. `None` when
    /// `https_proxy` is absent or empty.
    pub fn from_values(
        https_proxy: Option<&str>,
        no_proxy: Option<&str>,
    ) -> anyhow::Result<Option<Proxy>> {
        let Some(url) = https_proxy.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let refuse = |why: String| anyhow::anyhow!("the proxy URL `{url}` {why}");
        let full = if url.contains("://") {
            url.to_string()
        } else {
            format!("http://{url}")
        };
        let uri: http::Uri = full
            .parse()
            .map_err(|e| refuse(format!("is not a URL: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(refuse(
                "is not an http:// URL (the host speaks plain HTTP to its proxy, then TLS through the tunnel)".into(),
            ));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| refuse("has no host".into()))?;
        let authorization = match authority.as_str().rsplit_once('@') {
            None => None,
            Some((userinfo, _)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decode = |part: &str| {
                    percent_decode_str(part)
                        .decode_utf8()
                        .map(|s| s.into_owned())
                        .map_err(|_| refuse("has a user or password that is not UTF-8".into()))
                };
                use base64::Engine;
                let credentials = format!("{}:{}", decode(user)?, decode(password)?);
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(credentials)
                ))
            }
        };
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let bypass = no_proxy
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(Bypass::parse)
            .collect::<anyhow::Result<_>>()?;
        Ok(Some(Proxy {
            host: host.to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(1080),
            authorization,
            bypass,
        }))
    }

    /// Whether a request to the https destination `host` goes through this proxy (`NO_PROXY` does not exempt it).
    pub fn used_for(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        !self.bypass.iter().any(|entry| entry.matches(&host))
    }

    /// Opens a tunnel to `host`:`port` through the proxy: TCP to the proxy, `CONNECT`, a 2xx answer. Refusals and
    /// failures say what the proxy said or did.
    pub(super) async fn tunnel(&self, host: &str, port: u16) -> Result<TcpStream, HttpError> {
        let failed = |why: String| HttpError::Connect(std::io::Error::other(why));
        let mut tcp = super::open_tcp((self.host.as_str(), self.port))
            .await
            .map_err(|e| failed(format!("cannot reach the proxy {self}: {e}")))?;
        let target = format!("{host}:{port}");
        let mut ask = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        if let Some(authorization) = &self.authorization {
            ask.push_str(&format!("Proxy-Authorization: {authorization}\r\n"));
        }
        ask.push_str("\r\n");
        tcp.write_all(ask.as_bytes()).await.map_err(|e| {
            failed(format!(
                "the proxy {self} closed the connection before CONNECT {target}: {e}"
            ))
        })?;
        // Byte by byte up to the blank line: whatever follows it is the destination's, for TLS.
        let mut answer = Vec::with_capacity(256);
        while !answer.ends_with(b"\r\n\r\n") {
            if answer.len() >= MAX_CONNECT_ANSWER_BYTES {
                return Err(failed(format!(
                    "the proxy {self} answered CONNECT {target} with more than {MAX_CONNECT_ANSWER_BYTES} bytes of \
                     headers"
                )));
            }
            match tcp.read_u8().await {
                Ok(byte) => answer.push(byte),
                Err(e) => {
                    return Err(failed(format!(
                        "the proxy {self} closed the connection before answering CONNECT {target}: {e}"
                    )));
                }
            }
        }
        let status_line =
            String::from_utf8_lossy(answer.split(|b| *b == b'\n').next().unwrap_or_default())
                .trim_end()
                .to_string();
        let status = status_line
            .strip_prefix("HTTP/1.")
            .and_then(|rest| rest.get(2..))
            .unwrap_or_default()
            .trim();
        match status.get(..3).map(str::parse::<u16>) {
            Some(Ok(code)) if (200..300).contains(&code) => Ok(tcp),
            Some(Ok(_)) => Err(failed(format!(
                "the proxy {self} refused CONNECT {target}: {status}"
            ))),
            _ => Err(failed(format!(
                "the proxy {self} answered CONNECT {target} with `{status_line}`, not HTTP"
            ))),
        }
    }
}

impl std::fmt::Display for Proxy {
    /// `http://host:port`, without the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "http://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "http://{}:{}", self.host, self.port)
        }
    }
}

impl std::fmt::Debug for Proxy {
    /// The proxy without its credentials, and what bypasses it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.to_string())
            .field("authorization", &self.authorization.as_ref().map(|_| "…"))
            .field("bypass", &self.bypass)
            .finish()
    }
}

impl Bypass {
    fn parse(entry: &str) -> anyhow::Result<Bypass> {
        if entry == "*" {
            return Ok(Bypass::All);
        }
        let bare = entry.trim_start_matches('[');
        let bare = bare.trim_end_matches(']');
        if let Some((address, bits)) = entry.split_once('/') {
            let address: IpAddr = address
                .parse()
                .map_err(|_| anyhow::anyhow!("the NO_PROXY entry `{entry}` is not a CIDR range"))?;
            let max = if address.is_ipv4() { 32 } else { 128 };
            return match bits.parse::<u8>() {
                Ok(bits) if bits <= max => Ok(Bypass::Network(address, bits)),
                _ => Err(anyhow::anyhow!(
                    "the NO_PROXY entry `{entry}` is not a CIDR range"
                )),
            };
        }
        if let Ok(address) = bare.parse::<IpAddr>() {
            let bits = if address.is_ipv4() { 32 } else { 128 };
            return Ok(Bypass::Network(address, bits));
        }
        let domain = entry.trim_start_matches("*.").trim_start_matches('.');
        Ok(Bypass::Domain(
            domain.trim_end_matches('.').to_ascii_lowercase(),
        ))
    }

    fn matches(&self, host: &str) -> bool {
        match self {
            Bypass::All => true,
            Bypass::Domain(domain) => {
                host == domain
                    || host
                        .strip_suffix(domain.as_str())
                        .is_some_and(|prefix| prefix.ends_with('.'))
            }
            Bypass::Network(network, bits) => match (host.parse::<IpAddr>(), network) {
                (Ok(IpAddr::V4(ip)), IpAddr::V4(net)) => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                    u32::from(ip) & mask == u32::from(*net) & mask
                }
                (Ok(IpAddr::V6(ip)), IpAddr::V6(net)) => {
                    let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                    u128::from(ip) & mask == u128::from(*net) & mask
                }
                _ => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(url: &str, no_proxy: &str) -> Proxy {
        Proxy::from_values(Some(url), Some(no_proxy))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn the_proxy_url_gives_address_and_credentials() {
        let p = proxy("http://us%40er:p%3Ass@Proxy.corp:3128/", "");
        assert_eq!(p.to_string(), "http://proxy.corp:3128");
        // base64("us@er:p:ss")
        assert_eq!(p.authorization.as_deref(), Some("Basic dXNAZXI6cDpzcw=="));
        assert!(
            !format!("{p:?}").contains("dXNA"),
            "credentials stay out of logs"
        );
        let bare = proxy("proxy.corp", "");
        assert_eq!(bare.to_string(), "http://proxy.corp:1080");
        assert_eq!(bare.authorization, None);
        assert_eq!(
            proxy("http://[::1]:3128", "").to_string(),
            "http://[::1]:3128"
        );
        assert_eq!(Proxy::from_values(None, Some("*")).unwrap(), None);
        assert_eq!(Proxy::from_values(Some(" "), None).unwrap(), None);
        let why = Proxy::from_values(Some("https://proxy.corp"), None)
            .unwrap_err()
            .to_string();
        assert!(why.contains("is not an http:// URL"), "{why}");
        let why = Proxy::from_values(Some("http://proxy"), Some("10.0.0.0/99"))
            .unwrap_err()
            .to_string();
        assert!(why.contains("`10.0.0.0/99` is not a CIDR range"), "{why}");
    }

    #[test]
    fn no_proxy_exempts_domains_addresses_and_ranges() {
        let p = proxy(
            "http://proxy:3128",
            "Example.com, .internal.corp,10.0.0.0/8, 192.168.1.7, [::1], *.svc",
        );
        for bypassed in [
            "example.com",
            "api.example.com",
            "internal.corp",
            "a.internal.corp",
            "10.1.2.3",
            "192.168.1.7",
            "[::1]",
            "x.svc",
        ] {
            assert!(!p.used_for(bypassed), "{bypassed}");
        }
        for proxied in [
            "slack.com",
            "notexample.com",
            "example.com.evil",
            "11.0.0.1",
            "192.168.1.8",
        ] {
            assert!(p.used_for(proxied), "{proxied}");
        }
        assert!(!proxy("http://proxy:3128", "*").used_for("slack.com"));
        assert!(proxy("http://proxy:3128", "").used_for("slack.com"));
    }
}
