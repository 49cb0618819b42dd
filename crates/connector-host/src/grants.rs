//! The operator's grant file: what this platform allows a connector to import, call and use. The host runs a
//! component only within it: [`Grants::check_imports`] refuses a component whose real imports exceed it, naming the
//! import and the line that would allow it; the outbound policy and the limits are built from it.
//!
//! The format (TOML) is documented by an example, `crates/connector-host/testdata/grants.toml`, which grants an
//! example connector exactly what it needs.

use crate::Limits;
use crate::outbound::{ConnectionPool, Grant, OutboundConfig, default_methods, parse_method};
use crate::surface::unversioned;
use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// A value read from the grant file, with the line it is on (1-based; 0 when it was not read from a file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<T> {
    /// The value.
    pub value: T,
    /// Its line in the grant file.
    pub line: usize,
}

/// An import pattern: `ns:pkg/iface`, `ns:pkg/iface@version` or `ns:pkg/*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRule(pub String);

impl ImportRule {
    /// Whether the rule allows an import named `name` (`ns:pkg/iface@version`).
    pub fn allows(&self, name: &str) -> bool {
        let rule = self.0.as_str();
        if let Some(package) = rule.strip_suffix("/*") {
            return unversioned(name)
                .split_once('/')
                .is_some_and(|(p, _)| p == package);
        }
        if rule.contains('@') {
            rule == name
        } else {
            rule == unversioned(name)
        }
    }
}

/// An import the grants do not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportDenial {
    /// The import, as the component names it.
    pub import: String,
    /// The grant line that would allow it.
    pub would_allow: String,
}

impl std::fmt::Display for ImportDenial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the component imports `{}`, which is not granted (to grant it, add `{}` to `allow` under [imports] in \
             the grant file)",
            self.import, self.would_allow
        )
    }
}

/// The operator's grants for one connector on this platform.
#[derive(Debug, Clone)]
pub struct Grants {
    /// Where they were read from: a file path, or `embedded default`.
    pub source: String,
    /// The text they were parsed from.
    pub text: String,
    /// The connector they are for.
    pub connector: String,
    /// The WIT interfaces the component may import.
    pub imports: Vec<Line<ImportRule>>,
    /// The origins and path prefixes it may call (each with the methods of `methods`).
    pub outbound: Vec<Line<Grant>>,
    /// The methods every granted origin allows: GET and POST unless a `methods` line lists others.
    pub methods: Line<Vec<http::Method>>,
    /// Non-public addresses that granted names may resolve to.
    pub addresses: Vec<Line<IpAddr>>,
    /// The outbound policy's time-outs and size caps (its grants and routes are set by [`Grants::outbound_config`]).
    pub http: OutboundConfig,
    /// The limits of every call.
    pub limits: Limits,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrants {
    connector: RawConnector,
    #[serde(default)]
    imports: RawImports,
    #[serde(default)]
    outbound: RawOutbound,
    #[serde(default)]
    limits: RawLimits,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnector {
    id: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawImports {
    #[serde(default)]
    allow: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOutbound {
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
    methods: Option<Spanned<Vec<String>>>,
    connect_timeout_ms: Option<u64>,
    first_byte_timeout_ms: Option<u64>,
    between_bytes_timeout_ms: Option<u64>,
    total_timeout_ms: Option<u64>,
    max_request_bytes: Option<u64>,
    max_response_bytes: Option<u64>,
    max_requests_in_flight: Option<usize>,
    max_connections: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    memory_mib: Option<usize>,
    cpu_ms: Option<u64>,
    call_timeout_ms: Option<u64>,
    table_elements: Option<usize>,
    instances: Option<usize>,
    log_lines: Option<usize>,
    log_bytes: Option<usize>,
    resources: Option<usize>,
    header_map_bytes: Option<usize>,
    host_time_ms: Option<u64>,
    settings_bytes: Option<u64>,
    stderr_bytes: Option<usize>,
    failures_before_disable: Option<u32>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn ms(value: Option<u64>, default: Duration) -> Duration {
    value.map(Duration::from_millis).unwrap_or(default)
}

impl Grants {
    /// Reads a grant file.
    pub fn from_file(path: &Path) -> Result<Grants> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the grant file {}", path.display()))?;
        Grants::parse(&text, &path.display().to_string())
    }

    /// Parses the text of a grant file; `source` names it in messages.
    pub fn parse(text: &str, source: &str) -> Result<Grants> {
        let raw: RawGrants =
            toml::from_str(text).map_err(|e| anyhow!("the grant file {source}: {e}"))?;
        let mut imports = Vec::new();
        for rule in raw.imports.allow {
            let line = line_of(text, rule.span().start);
            let value = rule.into_inner();
            if !value.contains(':') || !value.contains('/') {
                bail!(
                    "the grant file {source}, line {line}: `{value}` is not an interface (`ns:pkg/iface`)"
                );
            }
            imports.push(Line {
                value: ImportRule(value),
                line,
            });
        }
        let methods = match &raw.outbound.methods {
            None => Line {
                value: default_methods(),
                line: 0,
            },
            Some(listed) => {
                let line = line_of(text, listed.span().start);
                let value = listed
                    .get_ref()
                    .iter()
                    .map(|m| parse_method(m))
                    .collect::<Result<Vec<_>>>()
                    .with_context(|| format!("the grant file {source}, line {line}"))?;
                Line { value, line }
            }
        };
        let mut outbound = Vec::new();
        for grant in &raw.outbound.allow {
            let line = line_of(text, grant.span().start);
            let value = Grant::parse(grant.get_ref())
                .with_context(|| format!("the grant file {source}, line {line}"))?
                .with_methods(methods.value.clone());
            outbound.push(Line { value, line });
        }
        let mut addresses = Vec::new();
        for address in &raw.outbound.addresses {
            let line = line_of(text, address.span().start);
            let value: IpAddr = address.get_ref().parse().map_err(|_| {
                anyhow!(
                    "the grant file {source}, line {line}: `{}` is not an IP address",
                    address.get_ref()
                )
            })?;
            addresses.push(Line { value, line });
        }
        let d = OutboundConfig::new(vec![]);
        let o = &raw.outbound;
        let http = OutboundConfig {
            connect_timeout: ms(o.connect_timeout_ms, d.connect_timeout),
            first_byte_timeout: ms(o.first_byte_timeout_ms, d.first_byte_timeout),
            between_bytes_timeout: ms(o.between_bytes_timeout_ms, d.between_bytes_timeout),
            total_timeout: ms(o.total_timeout_ms, d.total_timeout),
            max_request_bytes: o.max_request_bytes.unwrap_or(d.max_request_bytes),
            max_response_bytes: o.max_response_bytes.unwrap_or(d.max_response_bytes),
            max_requests_in_flight: o
                .max_requests_in_flight
                .unwrap_or(d.max_requests_in_flight)
                .max(1),
            pool: match o.max_connections {
                Some(max) => std::sync::Arc::new(ConnectionPool::new(max)),
                None => d.pool.clone(),
            },
            ..d
        };
        let dl = Limits::default();
        let l = raw.limits;
        let cpu = ms(l.cpu_ms, dl.cpu_time());
        let limits = Limits {
            memory_bytes: l.memory_mib.map(|m| m << 20).unwrap_or(dl.memory_bytes),
            table_elements: l.table_elements.unwrap_or(dl.table_elements),
            instances: l.instances.unwrap_or(dl.instances),
            cpu_ticks: (cpu.as_millis() / crate::EPOCH_TICK.as_millis()).max(1) as u64,
            call_timeout: ms(l.call_timeout_ms, dl.call_timeout),
            log_lines: l.log_lines.unwrap_or(dl.log_lines),
            log_bytes: l.log_bytes.unwrap_or(dl.log_bytes),
            resources: l.resources.unwrap_or(dl.resources),
            header_map_bytes: l.header_map_bytes.unwrap_or(dl.header_map_bytes),
            host_time: ms(l.host_time_ms, dl.host_time),
            settings_bytes: l.settings_bytes.unwrap_or(dl.settings_bytes),
            stderr_bytes: l.stderr_bytes.unwrap_or(dl.stderr_bytes),
            failures_before_disable: l
                .failures_before_disable
                .unwrap_or(dl.failures_before_disable)
                .max(1),
        };
        Ok(Grants {
            source: source.to_string(),
            text: text.to_string(),
            connector: raw.connector.id,
            imports,
            outbound,
            methods,
            addresses,
            http,
            limits,
        })
    }

    /// The grant line that allows an import, if any.
    pub fn import_rule(&self, import: &str) -> Option<&Line<ImportRule>> {
        self.imports.iter().find(|r| r.value.allows(import))
    }

    /// Checks a component's real imports against the grants: every import not granted, with the line that would
    /// grant it.
    pub fn check_imports<'a>(
        &self,
        imports: impl IntoIterator<Item = &'a str>,
    ) -> Vec<ImportDenial> {
        imports
            .into_iter()
            .filter(|name| self.import_rule(name).is_none())
            .map(|name| ImportDenial {
                import: name.to_string(),
                would_allow: format!("\"{}\"", unversioned(name)),
            })
            .collect()
    }

    /// The outbound policy these grants allow, before local routes are added.
    pub fn outbound_config(&self) -> OutboundConfig {
        OutboundConfig {
            grants: self.outbound.iter().map(|g| g.value.clone()).collect(),
            addresses: self.addresses.iter().map(|a| a.value).collect(),
            ..self.http.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_grants_parse_with_their_lines() {
        let g = Grants::parse(include_str!("../testdata/grants.toml"), "grants.toml").unwrap();
        assert_eq!(g.connector, "example");
        assert_eq!(
            g.outbound[0].value.to_string(),
            "https://api.example.com:443/v1/"
        );
        assert!(g.outbound[0].line > 1);
        assert!(g.addresses.is_empty());
        assert!(g.import_rule("wasi:http/outgoing-handler@0.2.12").is_some());
        assert!(g.import_rule("wasi:cli/environment@0.2.0").is_some());
        let denied = g.check_imports(["wasi:filesystem/types@0.2.12", "wasi:io/error@0.2.12"]);
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].would_allow, "\"wasi:filesystem/types\"");
        assert!(
            denied[0]
                .to_string()
                .contains("wasi:filesystem/types@0.2.12")
        );
        assert_eq!(g.limits.memory_bytes, 64 << 20);
        assert_eq!(g.limits.cpu_ticks, 500);
        assert_eq!(g.http.total_timeout, Duration::from_secs(30));
        assert_eq!(g.methods.value, [http::Method::GET, http::Method::POST]);
        assert!(g.methods.line > 1);
        assert_eq!(g.outbound[0].value.methods, g.methods.value);
        assert_eq!(g.http.max_requests_in_flight, 8);
        assert_eq!(g.http.pool.max_connections(), 128);
    }

    #[test]
    fn methods_and_connection_caps_are_read_from_the_grants() {
        let g = Grants::parse(
            "[connector]\nid = \"x\"\n[outbound]\nallow = [\"https://a.example/\"]\nmethods = [\"GET\", \"put\"]\n\
             max_requests_in_flight = 2\nmax_connections = 5\n",
            "g.toml",
        )
        .unwrap();
        assert_eq!(g.methods.line, 5);
        assert_eq!(
            g.outbound[0].value.methods,
            [http::Method::GET, http::Method::PUT]
        );
        assert_eq!(g.outbound_config().max_requests_in_flight, 2);
        assert_eq!(g.outbound_config().pool.max_connections(), 5);
        let defaults = Grants::parse("[connector]\nid = \"x\"\n", "g.toml").unwrap();
        assert_eq!(defaults.methods.line, 0);
        assert_eq!(
            defaults.methods.value,
            [http::Method::GET, http::Method::POST]
        );
        let e = Grants::parse(
            "[connector]\nid = \"x\"\n[outbound]\nmethods = [\"G T\"]\n",
            "g.toml",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("line 4"), "{e:#}");
    }

    #[test]
    fn rules_match_versions_and_packages() {
        let any = ImportRule("wasi:cli/stdout".into());
        assert!(any.allows("wasi:cli/stdout@0.2.0"));
        assert!(any.allows("wasi:cli/stdout"));
        assert!(!any.allows("wasi:cli/stdout-extra@0.2.0"));
        let exact = ImportRule("wasi:cli/stdout@0.2.12".into());
        assert!(exact.allows("wasi:cli/stdout@0.2.12"));
        assert!(!exact.allows("wasi:cli/stdout@0.2.0"));
        let package = ImportRule("wasi:cli/*".into());
        assert!(package.allows("wasi:cli/exit@0.2.12"));
        assert!(!package.allows("wasi:clocks/wall-clock@0.2.12"));
    }

    #[test]
    fn bad_grant_files_are_refused_with_their_line() {
        let e = Grants::parse(
            "[connector]\nid = \"x\"\n[outbound]\naddresses = [\n\"not-an-ip\"]\n",
            "g.toml",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("line 5"), "{e:#}");
        assert!(Grants::parse("[connector]\nid = \"x\"\nbogus = 1\n", "g.toml").is_err());
    }
}
