//! Which `Host` the server answers: its own listen address (with `localhost` and the loopback literals at its
//! port) and the names it was told to serve (`slack.com` by default, which a connector's routed
//! `https://slack.com` sends). Any other name is a misdirected request, such as a page of another site whose name
//! a DNS rebinding points at 127.0.0.1 (an IP literal cannot be rebound: a browser's origin is then the address
//! itself).

use std::net::{IpAddr, SocketAddr};

use http::uri::Authority;

/// The authorities this server answers for.
#[derive(Debug, Clone)]
pub struct ServedHosts {
    /// The bound address.
    addr: SocketAddr,
    /// The names it was told to serve (lower case), at any port.
    names: Vec<String>,
}

impl ServedHosts {
    /// The server bound at `addr`, serving the host `names` besides its address.
    pub fn new(addr: SocketAddr, names: &[String]) -> Self {
        ServedHosts {
            addr,
            names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether `authority` (`host[:port]`, as a `Host` header or an `Origin` gives it) names this server; a
    /// missing port is `default_port`.
    pub fn serves(&self, authority: &str, default_port: u16) -> bool {
        let Ok(parsed) = authority.parse::<Authority>() else {
            return false;
        };
        if authority.contains('@') {
            return false;
        }
        let host = parsed.host().to_ascii_lowercase();
        if self.names.contains(&host) {
            return true;
        }
        if parsed.port_u16().unwrap_or(default_port) != self.addr.port() {
            return false;
        }
        if host == "localhost" {
            return true;
        }
        match host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(ip) => ip.is_loopback() || ip == self.addr.ip() || self.addr.ip().is_unspecified(),
            Err(_) => false,
        }
    }

    /// What it answers for, to tell a refused client.
    pub fn describe(&self) -> String {
        let port = self.addr.port();
        let mut shown = vec![self.addr.to_string()];
        for loopback in [
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ] {
            if !shown.contains(&loopback) {
                shown.push(loopback);
            }
        }
        shown.extend(self.names.iter().cloned());
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_address_loopback_names_and_told_names_only() {
        let hosts = ServedHosts::new("127.0.0.1:4000".parse().unwrap(), &["Slack.com".into()]);
        let cases = [
            ("127.0.0.1:4000", true),
            ("localhost:4000", true),
            ("LOCALHOST:4000", true),
            ("[::1]:4000", true),
            ("slack.com", true),
            ("slack.com:443", true),
            ("SLACK.COM", true),
            ("127.0.0.1", false),
            ("127.0.0.1:4001", false),
            ("localhost:80", false),
            ("evil.example:4000", false),
            ("slack.com.evil.example", false),
            ("10.0.0.1:4000", false),
            ("user@127.0.0.1:4000", false),
            ("", false),
            ("127.0.0.1:4000/x", false),
        ];
        for (authority, served) in cases {
            assert_eq!(hosts.serves(authority, 80), served, "{authority:?}");
        }
    }

    #[test]
    fn the_refusal_names_each_served_authority_once() {
        let hosts = ServedHosts::new("127.0.0.1:4000".parse().unwrap(), &["slack.com".into()]);
        assert_eq!(
            hosts.describe(),
            "127.0.0.1:4000, localhost:4000, [::1]:4000, slack.com"
        );
    }

    #[test]
    fn an_unspecified_bind_answers_any_address_literal_at_its_port() {
        let hosts = ServedHosts::new("0.0.0.0:80".parse().unwrap(), &[]);
        assert!(hosts.serves("192.0.2.7", 80));
        assert!(hosts.serves("192.0.2.7:80", 80));
        assert!(!hosts.serves("rebound.example", 80));
    }
}
