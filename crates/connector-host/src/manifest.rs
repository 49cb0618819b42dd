//! The connector's manifest (`connector.toml`, shipped next to the component): what it declares it is and needs.
//! The host runs it within the intersection of what it declares and what the operator grants.

use crate::grants::ImportRule;
use crate::inbound::SignedRequests;
use crate::outbound::{Grant, default_methods, parse_method};
use anyhow::{Context, Result, anyhow};
use serde::Deserialize;
use std::path::Path;

/// A connector's manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Where it was read from.
    pub source: String,
    /// Its text.
    pub text: String,
    /// The connector's id (its settings and secrets are stored under it).
    pub id: String,
    /// The name shown on the connector's tile.
    pub name: String,
    /// The connector's version.
    pub version: String,
    /// The WIT package of the contract it implements, such as `lms:connector@0.1.0`.
    pub contract: String,
    /// The interfaces it imports (same patterns as grants: `ns:pkg/iface[@version]`).
    pub imports: Vec<String>,
    /// The interfaces it exports.
    pub exports: Vec<String>,
    /// The origins and path prefixes it calls, each with the methods it uses (GET and POST unless it lists others).
    pub outbound: Vec<Grant>,
    /// The plain settings it reads (it may also keep its own state in plain settings).
    pub settings: Vec<String>,
    /// The secrets it reads or writes; no other secret key is readable or writable.
    pub secrets: Vec<String>,
    /// Prefixes of the credentials it handles (a service's token prefixes): any word starting with one is blanked
    /// from its log and errors, besides the values of its secrets.
    pub redact_prefixes: Vec<String>,
    /// The limits it expects.
    pub limits: DeclaredLimits,
    /// How its service signs the requests it sends to the platform; none: it takes no inbound requests.
    pub inbound: Option<SignedRequests>,
}

/// The limits a manifest says the connector needs; compared with the limits in force by `audit`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredLimits {
    /// Linear memory, MiB.
    pub memory_mib: Option<usize>,
    /// CPU time per call, milliseconds.
    pub cpu_ms: Option<u64>,
    /// Wall-clock time per call, milliseconds.
    pub call_timeout_ms: Option<u64>,
    /// Log lines per call.
    pub log_lines: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    connector: RawConnector,
    #[serde(default)]
    interfaces: RawInterfaces,
    #[serde(default)]
    outbound: RawOutbound,
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    limits: DeclaredLimits,
    #[serde(default)]
    inbound: Option<SignedRequests>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnector {
    id: String,
    name: String,
    version: String,
    contract: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawInterfaces {
    #[serde(default)]
    imports: Vec<String>,
    #[serde(default)]
    exports: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOutbound {
    #[serde(default)]
    origins: Vec<String>,
    methods: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    #[serde(default)]
    plain: Vec<String>,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    redact_prefixes: Vec<String>,
}

impl Manifest {
    /// Parses a manifest's text; `source` names it in messages.
    pub fn parse(text: &str, source: &str) -> Result<Manifest> {
        let raw: Raw = toml::from_str(text).map_err(|e| anyhow!("the manifest {source}: {e}"))?;
        let methods = match &raw.outbound.methods {
            None => default_methods(),
            Some(listed) => listed
                .iter()
                .map(|m| parse_method(m))
                .collect::<Result<Vec<_>>>()
                .with_context(|| format!("the manifest {source}"))?,
        };
        let outbound = raw
            .outbound
            .origins
            .iter()
            .map(|o| Grant::parse(o).map(|g| g.with_methods(methods.clone())))
            .collect::<Result<Vec<_>>>()
            .with_context(|| format!("the manifest {source}"))?;
        Ok(Manifest {
            source: source.to_string(),
            text: text.to_string(),
            id: raw.connector.id,
            name: raw.connector.name,
            version: raw.connector.version,
            contract: raw.connector.contract,
            imports: raw.interfaces.imports,
            exports: raw.interfaces.exports,
            outbound,
            settings: raw.settings.plain,
            secrets: raw.settings.secrets,
            redact_prefixes: raw.settings.redact_prefixes,
            limits: raw.limits,
            inbound: raw.inbound,
        })
    }

    /// Reads a manifest file.
    pub fn from_file(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the manifest {}", path.display()))?;
        Manifest::parse(&text, &path.display().to_string())
    }

    /// Whether the manifest declares an import named `name` (`ns:pkg/iface@version`).
    pub fn declares_import(&self, name: &str) -> bool {
        self.imports
            .iter()
            .any(|d| ImportRule(d.clone()).allows(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_manifest_parses() {
        let m =
            Manifest::parse(include_str!("../testdata/connector.toml"), "connector.toml").unwrap();
        assert_eq!(m.id, "example");
        assert_eq!(m.outbound[0].to_string(), "https://api.example.com:443/v1/");
        assert_eq!(
            m.outbound[0].methods,
            [http::Method::GET, http::Method::POST]
        );
        assert!(m.secrets.contains(&"api_token".to_string()));
        assert_eq!(m.redact_prefixes, ["ex-tok-"]);
        assert!(m.declares_import("wasi:http/outgoing-handler@0.2.12"));
        assert!(!m.declares_import("wasi:filesystem/types@0.2.12"));
    }
}
