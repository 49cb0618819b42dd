//! `lms-harness connect`: activates a platform's integration against a simulated Slack on this machine (local mode
//! only), the way the demo does: ACTIVATE as the platform's admin, Allow clicked on the simulated consent page as
//! one of the workspace's admins, and the redirect handed back to the LMS, leaving the tile Active.

use crate::connector::{ConnectorSpec, DataDir};
use crate::web::PLATFORM;
use crate::{demo, http_client, seed};
use anyhow::{Context, Result, bail};
use lms::db::{Db, Role};
use lms::integration::Tile;
use lms::sql::OptionalExtension;
use serde_json::Value;
use slack_sim::SimConfig;
use std::net::IpAddr;
use std::path::PathBuf;

/// `lms-harness connect`.
#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// The data folder (`lms.sqlite3`, `secrets.key`).
    #[arg(long)]
    pub data: PathBuf,
    /// The simulated Slack, on this machine: http://127.0.0.1:PORT (as `lms-harness slack-sim` serves it).
    #[arg(long)]
    pub slack_url: String,
    /// The platform whose integration is activated.
    #[arg(long, default_value = PLATFORM)]
    pub platform: String,
    /// The seed file the simulated Slack was started with, when it names its own app: that app's credentials are
    /// stored for the platform (the demo app's when absent), as `serve` does.
    #[arg(long)]
    pub workspace: Option<PathBuf>,
}

/// What the running simulation says about itself.
struct Simulation {
    /// The member who clicks Allow: a workspace admin.
    installer: String,
    /// The app's client id.
    client_id: String,
    /// The app's first redirect URL, where consent sends the browser back.
    redirect_url: String,
}

/// Runs `lms-harness connect`.
pub async fn command(args: ConnectArgs) -> Result<()> {
    let slack = local_slack(&args.slack_url)?;
    let config = match &args.workspace {
        Some(file) => SimConfig::from_file(file)?,
        None => SimConfig::demo(),
    };
    let sim = simulation(&slack).await?;
    if sim.client_id != config.app.client_id {
        bail!(
            "the simulated Slack at {slack} runs the app with client id {}, not {} ({}): pass the seed file it was \
             started with as --workspace",
            sim.client_id,
            config.app.client_id,
            match &args.workspace {
                Some(file) => format!("from {}", file.display()),
                None => "the demo app".into(),
            }
        );
    }
    let db = DataDir::open_db(&args.data, false)?;
    if db.platform(&args.platform)?.is_none() {
        bail!(
            "there is no platform `{}` in {}",
            args.platform,
            args.data.display()
        );
    }
    let admin = first_admin(&db, &args.platform)?;
    let spec = ConnectorSpec::embedded(Some(DataDir::cache(&args.data)));
    seed::configure_app(&db, &spec.grants.connector, &args.platform, &config.app)?;
    let lms = spec.open_lms(db, Some(&slack))?;
    let consent_url = lms
        .start_activation(&args.platform, &admin, &sim.redirect_url)
        .await
        .context("ACTIVATE")?;
    let query = demo::consent(&consent_url, &sim.installer, true)
        .await
        .context("clicking Allow on the simulated consent page")?;
    match lms.complete_activation(&args.platform, &query).await? {
        Tile::Active(workspace) => {
            println!(
                "Slack is active on platform {}: connected to the workspace {workspace}.",
                args.platform
            );
            Ok(())
        }
        Tile::ApprovalRequested(next) => bail!(
            "the workspace asked for an app install request instead: {next} (approve it at {slack}/_sim/requests, \
             then run connect again)"
        ),
        Tile::Inactive(Some(why)) | Tile::Disconnected(why) => {
            bail!("the activation failed: {why}")
        }
        other => bail!("the activation did not complete: the tile is {other:?}"),
    }
}

/// The simulated Slack's address, `http://HOST:PORT`, when `url` is one on this machine (a loopback address or
/// `localhost`): connect (and `vendor disable --deactivate`) works in local mode only.
pub(crate) fn local_slack(url: &str) -> Result<String> {
    let refuse = || {
        anyhow::anyhow!(
            "this command works in local mode only: --slack-url must be a simulated Slack on this machine, such as \
             http://127.0.0.1:8025, not `{url}`"
        )
    };
    let uri: http::Uri = url.parse().map_err(|_| refuse())?;
    let (Some("http"), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(refuse());
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback || authority.as_str().contains('@') || !matches!(uri.path(), "" | "/") {
        return Err(refuse());
    }
    Ok(format!("http://{authority}"))
}

/// Reads the simulation's state at `slack`, with clear errors when nothing or something else answers there.
async fn simulation(slack: &str) -> Result<Simulation> {
    let state = http_client::get(&format!("{slack}/_sim/state"))
        .await
        .with_context(|| {
            format!(
                "no simulated Slack answers at {slack}: start one with `lms-harness slack-sim --listen \
                 127.0.0.1:PORT`"
            )
        })?;
    let not_a_sim = || {
        anyhow::anyhow!(
            "{slack} does not answer as a simulated Slack (GET /_sim/state answered {})",
            state.status
        )
    };
    if state.status != 200 {
        return Err(not_a_sim());
    }
    let state = state.json().map_err(|_| not_a_sim())?;
    let text = |v: &Value| v.as_str().map(str::to_string);
    let flag = |m: &Value, name: &str| m[name].as_bool().unwrap_or(false);
    let members = state["workspace"]["members"]
        .as_array()
        .ok_or_else(not_a_sim)?;
    let installer = members
        .iter()
        .find(|m| flag(m, "is_admin") && !flag(m, "deleted") && !flag(m, "is_bot"))
        .and_then(|m| text(&m["id"]))
        .with_context(|| {
            format!(
                "the simulated workspace at {slack} has no admin to click Allow on the consent page"
            )
        })?;
    let app = &state["app"];
    Ok(Simulation {
        installer,
        client_id: text(&app["client_id"]).ok_or_else(not_a_sim)?,
        redirect_url: text(&app["redirect_urls"][0]).with_context(|| {
            format!("the simulated app at {slack} has no redirect URL to come back to")
        })?,
    })
}

/// The platform's first admin (by id): who presses ACTIVATE.
fn first_admin(db: &Db, platform_id: &str) -> Result<String> {
    db.conn()
        .query_row(
            "SELECT id FROM users WHERE platform_id = ?1 AND role = ?2 ORDER BY id LIMIT 1",
            rusqlite::params![platform_id, Role::Admin],
            |r| r.get(0),
        )
        .optional()?
        .with_context(|| {
            format!("platform {platform_id} has no admin to activate the integration as")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_simulated_slack_on_this_machine_is_accepted() {
        for (url, base) in [
            ("http://127.0.0.1:8025", "http://127.0.0.1:8025"),
            ("http://127.0.0.1:8025/", "http://127.0.0.1:8025"),
            ("http://localhost:9000", "http://localhost:9000"),
            ("http://[::1]:8025", "http://[::1]:8025"),
        ] {
            assert_eq!(local_slack(url).unwrap(), base);
        }
        for bad in [
            "https://slack.com",
            "http://slack.com:8025",
            "http://10.0.0.2:8025",
            "https://127.0.0.1:8025",
            "http://user@127.0.0.1:8025",
            "http://127.0.0.1:8025/api",
            "127.0.0.1:8025",
            "",
        ] {
            let e = local_slack(bad).unwrap_err();
            assert!(e.to_string().contains("local mode only"), "{bad}: {e}");
        }
    }
}
