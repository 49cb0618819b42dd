//! Address pins: curl's `--resolve HOST:PORT:ADDR`, where ADDR may also carry a port of its own (as curl's
//! `--connect-to` does: a service on another port, such as a test's stand-in for `slack.com:443`). A request to a pinned host and port connects to the pinned
//! address without asking DNS; the URL, the grants checked, the `Host` header, TLS's server name and the certificate
//! verified all stay the host's. A pinned address is the operator's choice, so the refusal of loopback, private,
//! link-local and metadata addresses lets it through, for its own host and port only.
//!
//! Pins apply to connections the host opens itself: a request that goes through a proxy ([`super::Proxy`]) asks the
//! proxy for the host by name, and the proxy resolves it.

use std::net::{IpAddr, SocketAddr};

/// One pin, curl's `--resolve HOST:PORT:ADDR`: connections to `host`:`port` go to `addr` without DNS, whatever kind
/// of address it is (the operator chose it), while grants, the `Host` header and TLS verification stay `host`'s.
/// Other hosts and ports gain nothing. Pins do not apply to requests sent through a [`super::Proxy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// Host name as URLs give it, lower case (an IP literal in brackets for IPv6).
    pub host: String,
    /// Port.
    pub port: u16,
    /// The address (and port) connected to instead of what DNS says: `port` unless ADDR named another.
    pub addr: SocketAddr,
}

impl Pin {
    /// Parses `HOST:PORT:ADDR` as curl's `--resolve` takes it, such as `slack.com:443:127.0.0.1` or
    /// `slack.com:443:[::1]` (an IPv6 address with or without brackets), or with a port after the address, such as
    /// `slack.com:443:127.0.0.1:8443` or `slack.com:443:[::1]:8443` (brackets required). One address per pin.
    pub fn parse(text: &str) -> anyhow::Result<Pin> {
        let refuse = |why: &str| {
            anyhow::anyhow!(
                "`{text}` is not a pin: {why} (a pin is HOST:PORT:ADDR, such as slack.com:443:127.0.0.1)"
            )
        };
        let (host, rest) = text
            .split_once(':')
            .ok_or_else(|| refuse("it has no port"))?;
        let (port, addr) = rest
            .split_once(':')
            .ok_or_else(|| refuse("it has no address"))?;
        if host.is_empty() || host.contains(['/', '@', '[', ']', ' ']) {
            return Err(refuse(&format!("`{host}` is not a host name")));
        }
        let port: u16 = match port.parse() {
            Ok(port) if port > 0 => port,
            _ => return Err(refuse(&format!("`{port}` is not a port"))),
        };
        if addr.contains(',') {
            return Err(refuse("it names more than one address"));
        }
        let bare = addr
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .unwrap_or(addr);
        let addr = match bare.parse::<IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, port),
            Err(_) => addr
                .parse::<SocketAddr>()
                .map_err(|_| refuse(&format!("`{addr}` is not an IP address")))?,
        };
        Ok(Pin {
            host: host.to_ascii_lowercase(),
            port,
            addr,
        })
    }
}

impl std::str::FromStr for Pin {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Pin> {
        Pin::parse(text)
    }
}

impl std::fmt::Display for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.addr, self.addr.port() == self.port) {
            (SocketAddr::V6(v6), true) => write!(f, "{}:{}:[{}]", self.host, self.port, v6.ip()),
            (SocketAddr::V4(v4), true) => write!(f, "{}:{}:{}", self.host, self.port, v4.ip()),
            (addr, false) => write!(f, "{}:{}:{addr}", self.host, self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_like_curls_resolve() {
        let pin = Pin::parse("Slack.com:443:127.0.0.1").unwrap();
        assert_eq!(
            pin,
            Pin {
                host: "slack.com".into(),
                port: 443,
                addr: "127.0.0.1:443".parse().unwrap()
            }
        );
        assert_eq!(pin.to_string(), "slack.com:443:127.0.0.1");
        let v6: Pin = "slack.com:8443:[::1]".parse().unwrap();
        assert_eq!(v6.addr, "[::1]:8443".parse::<SocketAddr>().unwrap());
        assert_eq!(v6.to_string(), "slack.com:8443:[::1]");
        assert_eq!(
            Pin::parse("slack.com:443:::1").unwrap().addr.ip(),
            v6.addr.ip()
        );
        let elsewhere = Pin::parse("slack.com:443:127.0.0.1:8443").unwrap();
        assert_eq!(
            elsewhere.addr,
            "127.0.0.1:8443".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(elsewhere.to_string(), "slack.com:443:127.0.0.1:8443");
        assert_eq!(
            Pin::parse("slack.com:443:[::1]:8443").unwrap().addr,
            "[::1]:8443".parse::<SocketAddr>().unwrap()
        );
        for (bad, why) in [
            ("slack.com", "no port"),
            ("slack.com:443", "no address"),
            (":443:127.0.0.1", "not a host name"),
            ("slack.com:https:127.0.0.1", "`https` is not a port"),
            ("slack.com:0:127.0.0.1", "`0` is not a port"),
            (
                "slack.com:443:localhost",
                "`localhost` is not an IP address",
            ),
            ("slack.com:443:127.0.0.1,127.0.0.2", "more than one address"),
        ] {
            let e = Pin::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(e.contains("HOST:PORT:ADDR"), "{bad}: {e}");
        }
    }
}
