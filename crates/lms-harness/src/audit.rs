//! `lms-harness audit`: the host's audit of a component, with the harness's defaults (the embedded grants, and the
//! embedded manifest for the embedded connector).

use crate::connector::{EMBEDDED_CONNECTOR, default_grants, embedded_manifest};
use anyhow::{Context, Result};
use connector_host::audit::{Audit, find_manifest};
use connector_host::grants::Grants;
use connector_host::manifest::Manifest;
use std::path::Path;

/// Audits the component at `path` under `grants` (the embedded default when `None`) with `manifest` (when `None`:
/// `connector.toml` beside the component, or the embedded manifest when the component is the embedded connector).
pub fn run(path: &Path, grants: Option<&Path>, manifest: Option<&Path>) -> Result<Audit> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading the component {}", path.display()))?;
    let grants = match grants {
        Some(file) => Grants::from_file(file)?,
        None => default_grants(),
    };
    let manifest = match manifest {
        Some(file) => Some(Manifest::from_file(file)?),
        None => match find_manifest(path)? {
            Some(m) => Some(m),
            None if bytes == EMBEDDED_CONNECTOR => Some(embedded_manifest()),
            None => None,
        },
    };
    Audit::of(&path.display().to_string(), &bytes, grants, manifest)
}

/// Runs `lms-harness audit`: prints the audit and returns the process exit code (1 when the component needs more
/// than is granted).
pub fn command(
    component: &Path,
    grants: Option<&Path>,
    manifest: Option<&Path>,
    as_json: bool,
) -> Result<i32> {
    let audit = run(component, grants, manifest)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&audit.to_json())?);
    } else {
        print!("{}", audit.to_text());
    }
    Ok(if audit.needs_more_than_granted() {
        1
    } else {
        0
    })
}
