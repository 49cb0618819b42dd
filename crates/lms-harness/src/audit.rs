//! `lms-harness audit`: the host's audit of a component, with the harness's defaults (the embedded grants, and the
//! embedded manifest for the embedded connector).

use crate::connector::ConnectorSpec;
use anyhow::Result;
use connector_host::audit::Audit;
use std::path::Path;

/// Audits the component at `path` under `grants` (the embedded default when `None`) with `manifest` (when `None`:
/// `connector.toml` beside the component, or the embedded manifest when the component is the embedded connector).
pub fn run(path: &Path, grants: Option<&Path>, manifest: Option<&Path>) -> Result<Audit> {
    let spec = ConnectorSpec::from_file(path, manifest, grants, None)?;
    Audit::of(
        &path.display().to_string(),
        &spec.component,
        spec.grants,
        spec.manifest,
    )
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
