//! What the host enforces on one connector: the operator's grants intersected with the connector's manifest.

use crate::grants::Grants;
use crate::limits::Limits;
use crate::link;
use crate::manifest::Manifest;
use crate::outbound::OutboundConfig;
use crate::surface::Surface;
use anyhow::{Result, bail};
use std::path::PathBuf;

/// Everything the host enforces on one connector: the operator's grants, intersected with the connector's manifest
/// when it has one.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The connector's id (its settings and secrets are stored under it).
    pub connector_id: String,
    /// The operator's grants (their import rules decide what may be loaded and linked).
    pub grants: Grants,
    /// The connector's manifest, if it ships one: imports it does not declare are refused too, and only the
    /// secrets it declares are readable.
    pub manifest: Option<Manifest>,
    /// The outbound policy in force: the granted origins (within the declared ones) and local routes.
    pub outbound: OutboundConfig,
    /// The limits in force.
    pub limits: Limits,
    /// Where compiled components are cached across runs (none: compile at every start).
    pub cache_dir: Option<PathBuf>,
}

impl Policy {
    /// The policy of `connector_id` under `grants` and its `manifest`: outbound origins are those both grant and
    /// declare; limits are the operator's.
    pub fn new(connector_id: &str, grants: Grants, manifest: Option<Manifest>) -> Result<Policy> {
        if grants.connector != connector_id {
            bail!(
                "the grants ({}) are for the connector `{}`, not `{connector_id}`",
                grants.source,
                grants.connector
            );
        }
        if let Some(m) = &manifest
            && m.id != connector_id
        {
            bail!(
                "the manifest ({}) is for the connector `{}`, not `{connector_id}`",
                m.source,
                m.id
            );
        }
        let mut outbound = grants.outbound_config();
        if let Some(m) = &manifest {
            outbound.grants = outbound
                .grants
                .iter()
                .flat_map(|g| m.outbound.iter().filter_map(|d| g.intersect(d)))
                .collect();
        }
        Ok(Policy {
            connector_id: connector_id.to_string(),
            limits: grants.limits.clone(),
            cache_dir: None,
            grants,
            manifest,
            outbound,
        })
    }

    /// Why the component cannot be loaded under this policy: every import the grants do not allow (with the grant
    /// line that would), that the manifest does not declare, or that the host cannot provide. Empty when it can.
    pub fn check(&self, surface: &Surface) -> Vec<String> {
        let mut problems: Vec<String> = self
            .grants
            .check_imports(surface.imports.iter().map(|i| i.name.as_str()))
            .iter()
            .map(|d| format!("{d} [grants: {}]", self.grants.source))
            .collect();
        for import in &surface.imports {
            if self.grants.import_rule(&import.name).is_none() {
                continue;
            }
            if let Some(m) = &self.manifest
                && !m.declares_import(&import.name)
            {
                problems.push(format!(
                    "the component imports `{}`, which its manifest ({}) does not declare",
                    import.name, m.source
                ));
            }
            if !link::PROVIDED.contains(&import.unversioned()) {
                problems.push(format!(
                    "the component imports `{}`, which this host does not provide",
                    import.name
                ));
            }
        }
        problems
    }
}
