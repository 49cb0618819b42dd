//! The simulated LMS: platforms and their connectors' tiles, activation with a CSRF state bound to the admin,
//! deactivation, and invitations written to the delivery outbox. It knows nothing about Slack: it talks to whatever
//! connector the sandbox loaded.

use crate::db::Role;
use crate::db::{Db, now};
use crate::inbound_guard::InboundGuard;
use anyhow::{Context, Result, bail};
use axum::http::Uri;
use connector_host::ConnectorStore;
use connector_host::outbound::OutboundConfig;
use connector_host::{Sandbox, wit};
use rand::RngCore;
use rusqlite::{OptionalExtension, params};
use std::sync::Arc;

/// How long an activation's CSRF state is valid.
pub const STATE_TTL_SECS: i64 = 15 * 60;

/// What the tile says while an app install request waits in Slack.
pub const APPROVAL_NEXT_STEP: &str = "Your request to install the app was sent to your Slack workspace's App Managers. \
    When Slackbot tells you it was approved, click ACTIVATE again and then Allow.";

/// Why an activation callback was refused. Nothing changed: the tile stays as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackRefused {
    /// No such state on this platform, or it was already used.
    Unknown,
    /// The state was started in another browser session.
    OtherBrowser,
    /// The state is older than [`STATE_TTL_SECS`].
    Expired,
}

impl std::fmt::Display for CallbackRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CallbackRefused::Unknown => {
                "This activation link is not valid or was already used. Click ACTIVATE again."
            }
            CallbackRefused::OtherBrowser => {
                "This activation was started in another browser session. Click ACTIVATE again here."
            }
            CallbackRefused::Expired => "This activation link expired. Click ACTIVATE again.",
        })
    }
}

impl std::error::Error for CallbackRefused {}

/// Where ACTIVATE may send the admin: the consent page's URL as the connector returned it, if its origin is one of
/// the connector's granted origins (scheme, host and port exactly; no user name or password), mapped through the
/// local routes to the simulated service in local mode. Anything else is refused: a connector must not turn the
/// platform into an open redirect.
pub fn consent_url(outbound: &OutboundConfig, url: &str) -> Result<String> {
    let refuse = || {
        anyhow::anyhow!(
            "The connector asked to send you to a page outside the origins it is granted ({}); nothing was \
             opened. Report this to the connector's vendor.",
            url.chars().take(200).collect::<String>()
        )
    };
    let uri: Uri = url.parse().map_err(|_| refuse())?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(refuse());
    };
    if authority.as_str().contains('@') || !matches!(scheme, "http" | "https") {
        return Err(refuse());
    }
    let port = authority
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    let host = authority.host();
    let granted = outbound
        .grants
        .iter()
        .any(|g| g.scheme == scheme && g.host == host && g.port == port);
    if !granted {
        return Err(refuse());
    }
    Ok(outbound.public_url(url))
}

/// The vendor-side switch that makes `connector` available to a platform, audited for `actor`.
pub fn set_available(
    db: &Db,
    platform_id: &str,
    connector: &str,
    available: bool,
    actor: &str,
) -> Result<()> {
    db.conn().execute(
        "INSERT INTO connectors (platform_id, connector_id, available, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (platform_id, connector_id) DO UPDATE SET available = ?3, updated_at = ?4",
        params![platform_id, connector, available, now()],
    )?;
    db.audit(
        platform_id,
        actor,
        if available {
            "connector.available"
        } else {
            "connector.unavailable"
        },
        connector,
    )
}

/// The tile of `connector` on `platform_id`, as the platform's admins see it.
pub fn tile(db: &Db, platform_id: &str, connector: &str) -> Result<Tile> {
    let row: Option<(bool, String, Option<String>)> = db
        .conn()
        .query_row(
            "SELECT available, state, detail FROM connectors WHERE platform_id = ?1 AND connector_id = ?2",
            [platform_id, connector],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(match row {
        None | Some((false, _, _)) => Tile::Unavailable,
        Some((true, state, detail)) => Tile::from_stored(&state, detail)?,
    })
}

/// What a platform admin sees on a connector's tile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
pub enum Tile {
    /// The vendor has not made the connector available: no tile.
    Unavailable,
    /// Available, not connected; the detail is the last activation error, if any.
    Inactive(Option<String>),
    /// The admin requested the app; an app manager must approve it.
    ApprovalRequested(String),
    /// Connected to the named workspace.
    Active(String),
    /// The connection broke; the detail says why.
    Disconnected(String),
}

impl Tile {
    /// The state and detail as the `connectors` table stores them.
    pub(crate) fn stored(&self) -> Result<(&'static str, Option<&str>)> {
        Ok(match self {
            Tile::Unavailable => bail!("availability is the vendor's switch, not a state"),
            Tile::Inactive(detail) => ("inactive", detail.as_deref()),
            Tile::ApprovalRequested(next) => ("approval_requested", Some(next.as_str())),
            Tile::Active(workspace) => ("active", Some(workspace.as_str())),
            Tile::Disconnected(reason) => ("disconnected", Some(reason.as_str())),
        })
    }

    /// The tile of an available connector from its stored state and detail.
    fn from_stored(state: &str, detail: Option<String>) -> Result<Tile> {
        Ok(match state {
            "inactive" => Tile::Inactive(detail),
            "approval_requested" => Tile::ApprovalRequested(detail.unwrap_or_default()),
            "active" => Tile::Active(detail.unwrap_or_default()),
            "disconnected" => Tile::Disconnected(detail.unwrap_or_default()),
            other => bail!("unknown integration state `{other}` in the database"),
        })
    }
}

/// The LMS: its database and the connector it runs.
#[derive(Clone)]
pub struct Lms {
    db: Db,
    sandbox: Arc<Sandbox>,
    inbound: Arc<InboundGuard>,
}

impl Lms {
    /// An LMS over `db` running the connector in `sandbox`.
    pub fn new(db: Db, sandbox: Arc<Sandbox>) -> Self {
        Lms {
            db,
            sandbox,
            inbound: Arc::new(InboundGuard::default()),
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// What inbound requests left behind: the replay cache and the count of refused requests.
    pub fn inbound_guard(&self) -> &InboundGuard {
        &self.inbound
    }

    /// The connector's sandbox.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    fn connector_id(&self) -> &str {
        self.sandbox.connector_id()
    }

    /// The vendor-side switch that makes the connector available to a platform.
    pub fn set_available(&self, platform_id: &str, available: bool, actor: &str) -> Result<()> {
        set_available(&self.db, platform_id, self.connector_id(), available, actor)
    }

    /// Stores an operator-provided setting or secret of the connector (client id, client secret, signing secret).
    pub fn configure(&self, platform_id: &str, key: &str, value: &str, secret: bool) -> Result<()> {
        if secret {
            self.db
                .set_secret(platform_id, self.connector_id(), key, value)
        } else {
            self.db
                .set_setting(platform_id, self.connector_id(), key, value)
        }
    }

    /// The tile as the platform's admins see it.
    pub fn tile(&self, platform_id: &str) -> Result<Tile> {
        tile(&self.db, platform_id, self.connector_id())
    }

    pub(crate) fn set_tile(
        &self,
        platform_id: &str,
        tile: &Tile,
        actor: &str,
        why: &str,
    ) -> Result<()> {
        let (state, detail) = tile.stored()?;
        self.db.conn().execute(
            "UPDATE connectors SET state = ?3, detail = ?4, updated_at = ?5 WHERE platform_id = ?1 AND connector_id = ?2",
            params![platform_id, self.connector_id(), state, detail, now()],
        )?;
        self.db
            .audit(platform_id, actor, &format!("connector.{state}"), why)
    }

    /// Refuses unless the connector is available and `user_id` is a platform admin; refusals are audited.
    pub(crate) fn require_admin(
        &self,
        platform_id: &str,
        user_id: &str,
        action: &str,
    ) -> Result<()> {
        if self.tile(platform_id)? == Tile::Unavailable {
            self.db.audit(
                platform_id,
                user_id,
                &format!("{action}.refused"),
                "connector not available",
            )?;
            bail!(
                "The {} connector is not available on this platform; ask your vendor to make it available.",
                self.connector_id()
            );
        }
        let role = self.db.user(platform_id, user_id)?.map(|u| u.role);
        if role != Some(Role::Admin) {
            self.db.audit(
                platform_id,
                user_id,
                &format!("{action}.refused"),
                "not a platform admin",
            )?;
            bail!("Only platform admins may {action} a connector.");
        }
        Ok(())
    }

    /// ACTIVATE: returns the URL of the service's consent page for the admin's browser. The state is bound to no
    /// browser session: for callers without one (the demo, the command line).
    pub async fn start_activation(
        &self,
        platform_id: &str,
        user_id: &str,
        redirect_uri: &str,
    ) -> Result<String> {
        self.start(platform_id, user_id, redirect_uri, None).await
    }

    /// ACTIVATE from a browser: as [`Lms::start_activation`], with the state bound to `browser` (an opaque value
    /// standing for the browser's session, such as a hash of its id); only a callback in that session completes
    /// it.
    pub async fn start_activation_in(
        &self,
        platform_id: &str,
        user_id: &str,
        redirect_uri: &str,
        browser: &str,
    ) -> Result<String> {
        self.start(platform_id, user_id, redirect_uri, Some(browser))
            .await
    }

    async fn start(
        &self,
        platform_id: &str,
        user_id: &str,
        redirect_uri: &str,
        browser: Option<&str>,
    ) -> Result<String> {
        self.require_admin(platform_id, user_id, "activate")?;
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let state = hex::encode(bytes);
        self.db.conn().execute(
            "INSERT INTO activation_states (state, platform_id, user_id, expires_at, browser)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![state, platform_id, user_id, now() + STATE_TTL_SECS, browser],
        )?;
        let url = self
            .sandbox
            .start_activation(platform_id, redirect_uri, &state)
            .await?
            .map_err(|e| anyhow::anyhow!("{}", e.message));
        let url = url.and_then(|url| consent_url(self.sandbox.outbound(), &url));
        let url = match url {
            Ok(url) => url,
            Err(e) => {
                self.db
                    .conn()
                    .execute("DELETE FROM activation_states WHERE state = ?1", [&state])?;
                self.db
                    .audit(platform_id, user_id, "activate.refused", &format!("{e:#}"))?;
                return Err(e);
            }
        };
        self.db.audit(
            platform_id,
            user_id,
            "activate.start",
            "sent to the consent page",
        )?;
        Ok(url)
    }

    /// The activation callback: checks the state (once, unexpired, for this platform, started without a browser
    /// session) and hands the query to the connector. Returns the new tile; a state that does not hold is a
    /// [`CallbackRefused`] error and changes nothing.
    pub async fn complete_activation(
        &self,
        platform_id: &str,
        query: &[(String, String)],
    ) -> Result<Tile> {
        self.complete(platform_id, query, None).await
    }

    /// The activation callback in a browser session: as [`Lms::complete_activation`], for a state started by
    /// [`Lms::start_activation_in`] with the same `browser`.
    pub async fn complete_activation_in(
        &self,
        platform_id: &str,
        query: &[(String, String)],
        browser: &str,
    ) -> Result<Tile> {
        self.complete(platform_id, query, Some(browser)).await
    }

    async fn complete(
        &self,
        platform_id: &str,
        query: &[(String, String)],
        browser: Option<&str>,
    ) -> Result<Tile> {
        let state = query
            .iter()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        let actor = self.take_state(platform_id, state, browser)?;
        match self
            .sandbox
            .complete_activation(platform_id, query)
            .await
            .context("activation")?
        {
            Ok(wit::ActivationResult::Active(workspace)) => {
                self.set_tile(
                    platform_id,
                    &Tile::Active(workspace.name.clone()),
                    &actor,
                    &format!("connected to {} ({})", workspace.name, workspace.id),
                )?;
                self.reconnected(platform_id)?;
            }
            Ok(wit::ActivationResult::ApprovalRequested(next)) => {
                self.set_tile(
                    platform_id,
                    &Tile::ApprovalRequested(next),
                    &actor,
                    "app install requested",
                )?;
            }
            Err(e) => return self.activation_failed(platform_id, &actor, &e.message),
        }
        self.tile(platform_id)
    }

    /// Spends an activation state: the admin who started it, when it is known, unexpired, for this platform and
    /// started in the same browser session (or without one on both sides). A state that does not hold stays as it
    /// was (a stranger's callback cannot spend the admin's), except that expired states are dropped.
    fn take_state(&self, platform_id: &str, state: &str, browser: Option<&str>) -> Result<String> {
        let conn = self.db.conn();
        let row: Option<(String, String, i64, Option<String>)> = conn
            .query_row(
                "SELECT platform_id, user_id, expires_at, browser FROM activation_states WHERE state = ?1",
                [state],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let at = now();
        conn.execute("DELETE FROM activation_states WHERE expires_at < ?1", [at])?;
        let refused = match row {
            None => CallbackRefused::Unknown,
            Some((p, ..)) if p != platform_id => CallbackRefused::Unknown,
            Some((_, _, _, b)) if b.as_deref() != browser => CallbackRefused::OtherBrowser,
            Some((_, _, expires, _)) if expires < at => CallbackRefused::Expired,
            Some((_, user, _, _)) => {
                conn.execute("DELETE FROM activation_states WHERE state = ?1", [state])?;
                return Ok(user);
            }
        };
        tracing::warn!(
            platform = platform_id,
            "activation callback refused: {refused}"
        );
        Err(refused.into())
    }

    fn activation_failed(&self, platform_id: &str, actor: &str, message: &str) -> Result<Tile> {
        let current = self.tile(platform_id)?;
        // A failed attempt never breaks a working integration; otherwise the tile says what went wrong.
        if !matches!(current, Tile::Active(_)) {
            self.set_tile(
                platform_id,
                &Tile::Inactive(Some(message.to_string())),
                actor,
                message,
            )?;
        } else {
            self.db
                .audit(platform_id, actor, "activate.failed", message)?;
        }
        self.tile(platform_id)
    }

    /// The admin reports that Slack only let them request the app (a workspace that restricts app installs): the
    /// tile says what happens next. A later ACTIVATE → Allow completes as usual.
    pub fn approval_requested(&self, platform_id: &str, user_id: &str) -> Result<Tile> {
        self.require_admin(platform_id, user_id, "activate")?;
        if matches!(self.tile(platform_id)?, Tile::Active(_)) {
            bail!("The integration is already active.");
        }
        self.set_tile(
            platform_id,
            &Tile::ApprovalRequested(APPROVAL_NEXT_STEP.to_string()),
            user_id,
            "app install requested in Slack",
        )?;
        self.tile(platform_id)
    }

    /// DEACTIVATE.
    pub async fn deactivate(&self, platform_id: &str, user_id: &str) -> Result<Tile> {
        self.require_admin(platform_id, user_id, "deactivate")?;
        self.sandbox
            .deactivate(platform_id)
            .await?
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        self.set_tile(
            platform_id,
            &Tile::Inactive(None),
            user_id,
            "deactivated by an admin",
        )?;
        self.tile(platform_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_host::outbound::{Grant, Route};

    fn slack() -> OutboundConfig {
        OutboundConfig::new(vec![Grant::parse("https://slack.com/api/").unwrap()])
    }

    #[test]
    fn activate_goes_only_to_a_granted_origin() {
        let url = "https://slack.com/oauth/v2/authorize?client_id=1&state=s";
        assert_eq!(consent_url(&slack(), url).unwrap(), url);
        for bad in [
            "https://evil.example/oauth/v2/authorize",
            "https://slack.com@evil.example/",
            "https://user@slack.com/oauth",
            "http://slack.com/oauth",
            "https://slack.com:444/oauth",
            "https://slack.com.evil.example/",
            "https://SLACK.com.evil.example/",
            "javascript:alert(1)",
            "/settings/connectors",
            "//evil.example/",
            "",
        ] {
            let e = consent_url(&slack(), bad).unwrap_err();
            assert!(
                e.to_string().contains("outside the origins it is granted"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn in_local_mode_the_granted_origin_maps_to_the_simulation() {
        let mut config = slack();
        config
            .routes
            .push(Route::new("https://slack.com", "http://127.0.0.1:8025").unwrap());
        assert_eq!(
            consent_url(&config, "https://slack.com/oauth/v2/authorize?x=1").unwrap(),
            "http://127.0.0.1:8025/oauth/v2/authorize?x=1"
        );
        // The simulation's own address is not a granted origin: a connector cannot name it directly.
        assert!(consent_url(&config, "http://127.0.0.1:8025/oauth/v2/authorize").is_err());
    }
}
