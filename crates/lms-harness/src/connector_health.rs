//! `lms-harness connector status|enable`: where the connector is disabled after repeated failed calls, and
//! re-enabling it from the command line. The state is the database's, so a running `serve` on the same data folder
//! honours a re-enable made here at its next call.

use crate::connector::{DataDir, default_grants};
use crate::operator;
use anyhow::{Result, bail};
use connector_host::ConnectorStore;
use lms::db::Db;
use lms::integration::{Tile, tile};
use std::path::{Path, PathBuf};

/// `lms-harness connector …`.
#[derive(Debug, clap::Subcommand)]
pub enum ConnectorCommand {
    /// Lists, per platform, the connector's tile and whether it is disabled (since when, why).
    Status {
        /// The data folder (`lms.sqlite3`, `secrets.key`).
        #[arg(long)]
        data: PathBuf,
    },
    /// Re-enables the connector on a platform where repeated failed calls disabled it (audited with the operator's
    /// name); a running `serve` on the same data folder honours it at its next call.
    Enable {
        /// The data folder (`lms.sqlite3`, `secrets.key`).
        #[arg(long)]
        data: PathBuf,
        /// The platform.
        #[arg(long)]
        platform: String,
        /// The connector's id; the embedded connector's when absent.
        #[arg(long)]
        connector: Option<String>,
    },
}

/// Runs `lms-harness connector …`.
pub fn command(command: ConnectorCommand) -> Result<()> {
    match command {
        ConnectorCommand::Status { data } => {
            print!("{}", status(&DataDir::open_db(&data, false)?, &data)?);
            Ok(())
        }
        ConnectorCommand::Enable {
            data,
            platform,
            connector,
        } => {
            let db = DataDir::open_db(&data, false)?;
            let connector = connector.unwrap_or_else(|| default_grants().connector);
            if db.platform(&platform)?.is_none() {
                bail!("there is no platform `{platform}` in {}", data.display());
            }
            let actor = operator::actor("connector enable");
            if lms::connector_health::enable(&db, &platform, &connector, &actor)? {
                println!(
                    "The connector `{connector}` is enabled again on platform {platform}; a running serve uses it \
                     from its next call."
                );
            } else {
                println!(
                    "The connector `{connector}` is not disabled on platform {platform}: nothing to do."
                );
            }
            Ok(())
        }
    }
}

/// One line per platform and connector of the data folder `data`: its tile and its health.
pub fn status(db: &Db, data: &Path) -> Result<String> {
    let rows: Vec<(String, String)> = {
        let conn = db.conn();
        let mut stmt = conn.prepare(
            "SELECT platform_id, connector_id FROM connectors
             UNION SELECT platform_id, connector_id FROM disabled_connectors ORDER BY 1, 2",
        )?;
        let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    if rows.is_empty() {
        return Ok("No connector on any platform.\n".into());
    }
    let mut out = String::new();
    for (platform, connector) in rows {
        let tile = match tile(db, &platform, &connector)? {
            Tile::Unavailable => "unavailable".to_string(),
            Tile::Inactive(None) => "inactive".into(),
            Tile::Inactive(Some(why)) => format!("inactive (last activation failed: {why})"),
            Tile::ApprovalRequested(_) => "approval requested".into(),
            Tile::Active(workspace) => format!("active ({workspace})"),
            Tile::Disconnected(why) => format!("disconnected ({why})"),
        };
        let health = match db.disabled(&platform, &connector)? {
            None => "enabled".to_string(),
            Some(d) => format!(
                "DISABLED since {}: {} (re-enable: lms-harness connector enable --data {} --platform {platform})",
                jiff::Timestamp::from_second(d.since)?,
                d.reason,
                data.display()
            ),
        };
        out.push_str(&format!("{platform}/{connector}: {tile}; {health}\n"));
    }
    Ok(out)
}
