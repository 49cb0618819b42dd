//! `lms-harness audit`: everything a security reviewer needs in one place — the component's hash, its manifest, the
//! operator's grants, the component's real imports and exports (read from the component, not from its claims), the
//! limits and outbound policy in force, and every difference between what is declared, granted and imported.

use crate::Policy;
use crate::bindings::Contract;
use crate::grants::Grants;
use crate::link;
use crate::manifest::Manifest;
use crate::outbound::{Grant, methods_line};
use crate::surface::Surface;
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;

/// How serious a difference is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The host refuses to load the component.
    Error,
    /// The component needs more than is granted: some of its calls will be refused at run time.
    Warning,
    /// Granted or declared but unused, and other facts worth knowing.
    Note,
}

/// One difference between what is declared, granted and imported.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    /// How serious it is.
    pub severity: Severity,
    /// What it is, in a sentence.
    pub message: String,
}

/// The audit of one component under one grant file.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The component's path, as given.
    pub path: String,
    /// Its size in bytes.
    pub size: usize,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its manifest, when one was found.
    pub manifest: Option<Manifest>,
    /// The grants.
    pub grants: Grants,
    /// Its real imports and exports.
    pub surface: Surface,
    /// The policy in force (limits, outbound), when grants and manifest agree on the connector.
    pub policy: Option<Policy>,
    /// Every difference.
    pub differences: Vec<Difference>,
}

/// Finds the manifest of the component at `path`: `connector.toml` next to it.
pub fn find_manifest(path: &Path) -> Result<Option<Manifest>> {
    let beside = path
        .parent()
        .unwrap_or(Path::new("."))
        .join("connector.toml");
    if beside.is_file() {
        return Manifest::from_file(&beside).map(Some);
    }
    Ok(None)
}

impl Audit {
    /// Audits a component's bytes.
    pub fn of(
        path: &str,
        bytes: &[u8],
        grants: Grants,
        manifest: Option<Manifest>,
    ) -> Result<Audit> {
        let engine = wasmtime::Engine::default();
        let component = wasmtime::component::Component::new(&engine, bytes)
            .map_err(anyhow::Error::from)
            .context("compiling the component")?;
        let surface = Surface::of(&engine, &component);
        let mut differences = Vec::new();
        let mut diff =
            |severity, message: String| differences.push(Difference { severity, message });

        // Imports: real ones against the grants, the manifest and what the host provides.
        for d in grants.check_imports(surface.imports.iter().map(|i| i.name.as_str())) {
            diff(Severity::Error, format!("{d} [grants: {}]", grants.source));
        }
        for import in &surface.imports {
            if let Some(m) = &manifest
                && !m.declares_import(&import.name)
            {
                diff(
                    Severity::Error,
                    format!(
                        "imports `{}`, which the manifest does not declare",
                        import.name
                    ),
                );
            }
            if !link::PROVIDED.contains(&import.unversioned()) {
                diff(
                    Severity::Error,
                    format!(
                        "imports `{}`, which this host does not provide",
                        import.name
                    ),
                );
            }
        }
        for rule in &grants.imports {
            if !surface.imports.iter().any(|i| rule.value.allows(&i.name)) {
                diff(
                    Severity::Note,
                    format!(
                        "grants `{}` (line {}), which the component does not import",
                        rule.value.0, rule.line
                    ),
                );
            }
        }
        // Exports: a version of the contract the host loads must be there, and be the one the manifest names.
        match surface.contract() {
            None => diff(
                Severity::Error,
                format!(
                    "exports none of {}: it is not a connector this host loads",
                    Contract::ALL
                        .map(|c| format!("`{}`", c.export()))
                        .join(", ")
                ),
            ),
            Some(contract) => {
                if let Some(m) = &manifest
                    && m.contract != contract.package()
                {
                    diff(
                        Severity::Error,
                        format!(
                            "implements `{}` but its manifest says `contract = \"{}\"`",
                            contract.package(),
                            m.contract
                        ),
                    );
                }
            }
        }
        let policy = match &manifest {
            None => {
                diff(
                    Severity::Warning,
                    "has no manifest: nothing says what it needs; it runs with the grants alone"
                        .into(),
                );
                Policy::new(&grants.connector, grants.clone(), None).ok()
            }
            Some(m) => {
                for declared in &m.imports {
                    if !surface
                        .imports
                        .iter()
                        .any(|i| crate::grants::ImportRule(declared.clone()).allows(&i.name))
                    {
                        diff(
                            Severity::Note,
                            format!(
                                "the manifest declares `{declared}`, which the component does not import"
                            ),
                        );
                    }
                }
                for declared in &m.exports {
                    if !surface.exports.iter().any(|e| &e.name == declared) {
                        diff(
                            Severity::Error,
                            format!(
                                "the manifest declares the export `{declared}`, which the component lacks"
                            ),
                        );
                    }
                }
                for export in &surface.exports {
                    if !m.exports.contains(&export.name) {
                        diff(
                            Severity::Note,
                            format!(
                                "exports `{}`, which the manifest does not declare",
                                export.name
                            ),
                        );
                    }
                }
                for origin in &m.outbound {
                    let granted: Vec<Grant> = grants
                        .outbound
                        .iter()
                        .filter_map(|g| g.value.intersect(origin))
                        .filter(|g| g.path_prefix == origin.path_prefix)
                        .collect();
                    if granted.is_empty() {
                        diff(
                            Severity::Warning,
                            format!(
                                "the manifest declares the origin {origin}, which is not granted: its calls will be \
                                 denied (to grant it, add `\"{origin}\"` to `allow` under [outbound])"
                            ),
                        );
                        continue;
                    }
                    for method in &origin.methods {
                        if !granted.iter().any(|g| g.allows_method(method)) {
                            let mut methods = grants.methods.value.clone();
                            methods.push(method.clone());
                            diff(
                                Severity::Warning,
                                format!(
                                    "the manifest declares {method} for {origin}, which the grants do not allow: \
                                     those calls will be denied (to allow it, set `methods = [{}]` under [outbound])",
                                    methods_line(&methods)
                                ),
                            );
                        }
                    }
                }
                for granted in &grants.outbound {
                    if !m
                        .outbound
                        .iter()
                        .any(|d| granted.value.intersect(d).is_some())
                    {
                        diff(
                            Severity::Note,
                            format!(
                                "grants the origin {} (line {}), which the manifest does not declare: not in force",
                                granted.value, granted.line
                            ),
                        );
                    }
                }
                let l = &grants.limits;
                let mut over = |what: &str, declared: Option<u128>, granted: u128, unit: &str| {
                    if let Some(d) = declared
                        && d > granted
                    {
                        diff(
                            Severity::Warning,
                            format!(
                                "the manifest expects {what} of {d} {unit}; the grants allow {granted} {unit}"
                            ),
                        );
                    }
                };
                over(
                    "memory",
                    m.limits.memory_mib.map(|v| v as u128),
                    (l.memory_bytes >> 20) as u128,
                    "MiB",
                );
                over(
                    "CPU time",
                    m.limits.cpu_ms.map(u128::from),
                    l.cpu_time().as_millis(),
                    "ms",
                );
                over(
                    "a call time-out",
                    m.limits.call_timeout_ms.map(u128::from),
                    l.call_timeout.as_millis(),
                    "ms",
                );
                over(
                    "log lines",
                    m.limits.log_lines.map(|v| v as u128),
                    l.log_lines as u128,
                    "lines",
                );
                match Policy::new(&m.id, grants.clone(), Some(m.clone())) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        diff(Severity::Error, format!("{e:#}"));
                        None
                    }
                }
            }
        };
        Ok(Audit {
            path: path.to_string(),
            size: bytes.len(),
            sha256: hex::encode(Sha256::digest(bytes)),
            manifest,
            grants,
            surface,
            policy,
            differences,
        })
    }

    /// Whether the component needs more than is granted (an error or a warning): `audit` then exits non-zero.
    pub fn needs_more_than_granted(&self) -> bool {
        self.differences
            .iter()
            .any(|d| d.severity != Severity::Note)
    }

    /// Whether the host would refuse to load it.
    pub fn refused(&self) -> bool {
        self.differences
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    fn verdict(&self) -> &'static str {
        if self.refused() {
            "refused: the host will not load this component under these grants"
        } else if self.needs_more_than_granted() {
            "loadable, but it needs more than is granted"
        } else {
            "loadable: everything it imports is granted and declared"
        }
    }

    /// The audit as JSON.
    pub fn to_json(&self) -> Value {
        let g = &self.grants;
        json!({
            "component": { "path": self.path, "size": self.size, "sha256": self.sha256 },
            "manifest": self.manifest.as_ref().map(|m| json!({
                "source": m.source,
                "id": m.id,
                "name": m.name,
                "version": m.version,
                "contract": m.contract,
                "imports": m.imports,
                "exports": m.exports,
                "outbound": m.outbound.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
                "methods": m.outbound.first().map(|o| methods_json(&o.methods)),
                "settings": m.settings,
                "secrets": m.secrets,
                "limits": m.limits,
            })),
            "grants": {
                "source": g.source,
                "connector": g.connector,
                "imports": g.imports.iter().map(|r| json!({"allow": r.value.0, "line": r.line})).collect::<Vec<_>>(),
                "outbound": g.outbound.iter().map(|r| json!({"allow": r.value.to_string(), "line": r.line})).collect::<Vec<_>>(),
                "addresses": g.addresses.iter().map(|r| json!({"address": r.value.to_string(), "line": r.line})).collect::<Vec<_>>(),
                "methods": {"allow": methods_json(&g.methods.value), "line": g.methods.line},
            },
            "imports": self.surface.imports.iter().map(|i| json!({
                "name": i.name,
                "kind": i.kind,
                "functions": i.members,
                "granted_by_line": g.import_rule(&i.name).map(|r| r.line),
                "declared": self.manifest.as_ref().map(|m| m.declares_import(&i.name)),
            })).collect::<Vec<_>>(),
            "exports": self.surface.exports.iter().map(|e| json!({
                "name": e.name, "kind": e.kind, "functions": e.members,
            })).collect::<Vec<_>>(),
            "in_force": self.policy.as_ref().map(|p| {
                let l = &p.limits;
                let o = &p.outbound;
                json!({
                    "limits": {
                        "memory_bytes": l.memory_bytes,
                        "cpu_ms": l.cpu_time().as_millis() as u64,
                        "call_timeout_ms": l.call_timeout.as_millis() as u64,
                        "table_elements": l.table_elements,
                        "instances": l.instances,
                        "log_lines": l.log_lines,
                        "stderr_bytes": l.stderr_bytes,
                        "failures_before_disable": l.failures_before_disable,
                    },
                    "outbound": {
                        "allow": o.grants.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
                        "methods": o.grants.iter().map(|g| json!({
                            "origin": g.to_string(),
                            "methods": methods_json(&g.methods),
                        })).collect::<Vec<_>>(),
                        "addresses": o.addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                        "connect_timeout_ms": o.connect_timeout.as_millis() as u64,
                        "first_byte_timeout_ms": o.first_byte_timeout.as_millis() as u64,
                        "between_bytes_timeout_ms": o.between_bytes_timeout.as_millis() as u64,
                        "total_timeout_ms": o.total_timeout.as_millis() as u64,
                        "max_request_bytes": o.max_request_bytes,
                        "max_response_bytes": o.max_response_bytes,
                        "max_requests_in_flight": o.max_requests_in_flight,
                        "max_connections": o.pool.max_connections(),
                        "max_buffered_bytes_per_call": o.max_buffered_bytes_per_call(),
                        "redirects_followed": false,
                    },
                    "secrets_readable": p.manifest.as_ref().map(|m| m.secrets.clone()),
                    "filesystem": "no preopened directory",
                    "environment": "none",
                })
            }),
            "differences": self.differences,
            "refused": self.refused(),
            "needs_more_than_granted": self.needs_more_than_granted(),
            "verdict": self.verdict(),
        })
    }

    /// The audit as text.
    pub fn to_text(&self) -> String {
        let mut t = String::new();
        let g = &self.grants;
        let _ = writeln!(t, "Component  {}", self.path);
        let _ = writeln!(t, "  SHA-256  {}", self.sha256);
        let _ = writeln!(t, "  size     {} bytes", self.size);
        match &self.manifest {
            None => {
                let _ = writeln!(t, "\nManifest   none found");
            }
            Some(m) => {
                let _ = writeln!(t, "\nManifest   {}", m.source);
                let _ = writeln!(
                    t,
                    "  connector  {} ({}) version {}, contract {}",
                    m.id, m.name, m.version, m.contract
                );
                let _ = writeln!(
                    t,
                    "  outbound   {}",
                    list(m.outbound.iter().map(with_methods))
                );
                let _ = writeln!(t, "  settings   {}", list(m.settings.iter().cloned()));
                let _ = writeln!(t, "  secrets    {}", list(m.secrets.iter().cloned()));
                let _ = writeln!(t, "  imports    {} declared", m.imports.len());
                let _ = writeln!(
                    t,
                    "  limits     {}",
                    serde_json::to_string(&m.limits).unwrap_or_default()
                );
            }
        }
        let _ = writeln!(
            t,
            "\nGrants     {} (for connector `{}`)",
            g.source, g.connector
        );
        for r in &g.imports {
            let _ = writeln!(t, "  line {:>3}  import   {}", r.line, r.value.0);
        }
        for r in &g.outbound {
            let _ = writeln!(t, "  line {:>3}  outbound {}", r.line, r.value);
        }
        for r in &g.addresses {
            let _ = writeln!(t, "  line {:>3}  address  {}", r.line, r.value);
        }
        let methods = methods_text(&g.methods.value);
        match g.methods.line {
            0 => {
                let _ = writeln!(t, "  (default)  methods  {methods}");
            }
            line => {
                let _ = writeln!(t, "  line {line:>3}  methods  {methods}");
            }
        }
        let _ = writeln!(t, "\nImports (read from the component)");
        for i in &self.surface.imports {
            let granted = match g.import_rule(&i.name) {
                Some(r) => format!("granted by line {}", r.line),
                None => "NOT GRANTED".into(),
            };
            let declared = match &self.manifest {
                Some(m) if m.declares_import(&i.name) => ", declared",
                Some(_) => ", NOT DECLARED",
                None => "",
            };
            let mark = if g.import_rule(&i.name).is_some() {
                "ok"
            } else {
                "!!"
            };
            let _ = writeln!(t, "  {mark} {:<40} {granted}{declared}", i.name);
            let _ = writeln!(t, "       {}", i.members.join(", "));
        }
        let _ = writeln!(t, "\nExports");
        for e in &self.surface.exports {
            let _ = writeln!(t, "  {}: {}", e.name, e.members.join(", "));
        }
        if let Some(p) = &self.policy {
            let l = &p.limits;
            let o = &p.outbound;
            let _ = writeln!(t, "\nIn force");
            let _ = writeln!(
                t,
                "  limits    memory {} MiB, CPU {} ms, call {} ms, tables {} elements, {} instances, {} log lines, \
                 stderr {} bytes, disabled after {} failures in a row",
                l.memory_bytes >> 20,
                l.cpu_time().as_millis(),
                l.call_timeout.as_millis(),
                l.table_elements,
                l.instances,
                l.log_lines,
                l.stderr_bytes,
                l.failures_before_disable
            );
            let _ = writeln!(t, "  outbound  {}", list(o.grants.iter().map(with_methods)));
            let _ = writeln!(
                t,
                "            non-public addresses: {}; connect {} ms, first byte {} ms, between bytes {} ms, total \
                 {} ms; request ≤ {} bytes, response ≤ {} bytes; redirects not followed",
                list(o.addresses.iter().map(|a| a.to_string())),
                o.connect_timeout.as_millis(),
                o.first_byte_timeout.as_millis(),
                o.between_bytes_timeout.as_millis(),
                o.total_timeout.as_millis(),
                o.max_request_bytes,
                o.max_response_bytes
            );
            let _ = writeln!(
                t,
                "            {} requests in flight per call (≤ {} bytes of bodies buffered), {} connections open \
                 at once",
                o.max_requests_in_flight,
                o.max_buffered_bytes_per_call(),
                o.pool.max_connections()
            );
            if let Some(m) = &p.manifest {
                let _ = writeln!(
                    t,
                    "  secrets   only {} are readable",
                    list(m.secrets.iter().cloned())
                );
            }
            let _ = writeln!(
                t,
                "  wasi      no preopened directory, no environment, no arguments, stdin closed"
            );
        }
        let _ = writeln!(t, "\nDifferences");
        if self.differences.is_empty() {
            let _ = writeln!(t, "  none");
        }
        for d in &self.differences {
            let tag = match d.severity {
                Severity::Error => "error  ",
                Severity::Warning => "warning",
                Severity::Note => "note   ",
            };
            let _ = writeln!(t, "  {tag} {}", d.message);
        }
        let _ = writeln!(t, "\nVerdict    {}", self.verdict());
        t
    }
}

/// Methods as the audit shows them: `GET, POST`, or `no method`.
fn methods_text(methods: &[http::Method]) -> String {
    if methods.is_empty() {
        "no method".into()
    } else {
        methods
            .iter()
            .map(http::Method::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn methods_json(methods: &[http::Method]) -> Vec<&str> {
    methods.iter().map(http::Method::as_str).collect()
}

/// A granted origin with its methods: `https://slack.com:443/api/ (GET, POST)`.
fn with_methods(grant: &Grant) -> String {
    format!("{grant} ({})", methods_text(&grant.methods))
}

fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
