//! The simulated LMS: platforms and their connectors' tiles, activation with a CSRF state bound to the admin,
//! deactivation, and invitations written to the delivery outbox. It knows nothing about Slack: it talks to whatever
//! connector the sandbox loaded.

use crate::db::Role;
use crate::db::{Db, now};
use crate::inbound_guard::InboundGuard;
use crate::sql::{OptionalExtension, params};
use anyhow::{Context, Result, bail};
use axum::http::Uri;
use connector_host::ConnectorStore;
use connector_host::outbound::OutboundConfig;
use connector_host::{Sandbox, wit};
use rand::RngCore;
use std::sync::Arc;

/// How long an activation's CSRF state is valid.
pub const STATE_TTL_SECS: i64 = 15 * 60;

/// What the tile says while an app install request waits in Slack. Slack tells the requester, not the app, whether
/// the request was approved or denied: the LMS cannot know, so the tile says what to do in either case.
pub const APPROVAL_NEXT_STEP: &str = "Your request to install the app was sent to your Slack workspace's App Managers. \
    Slack does not tell the LMS their answer: Slackbot tells you, in Slack. Approved: click ACTIVATE again, then \
    Allow. Denied: ask your App Managers again (ACTIVATE shows Slack's request form again), or cancel the request \
    here.";

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

/// A platform as the vendor's console lists it: whether the connector is available there, and the state its
/// integration is in (kept while the connector is unavailable, so that the tile comes back as it was).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlatformConnector {
    /// The platform's id.
    pub platform_id: String,
    /// The platform's name.
    pub name: String,
    /// Whether the vendor made the connector available there.
    pub available: bool,
    /// The integration's state, as the tile shows it when the connector is available (never
    /// [`Tile::Unavailable`]).
    pub state: Tile,
}

impl PlatformConnector {
    /// Whether the integration holds the service's credentials (Active, or Disconnected with them kept): turning
    /// the connector off there deactivates it first.
    pub fn connected(&self) -> bool {
        matches!(self.state, Tile::Active(_) | Tile::Disconnected(_))
    }
}

/// A platform's row as [`platforms`] reads it: id, name, and the connector's availability, state and detail (none
/// when the platform has no row for the connector).
type PlatformRow = (String, String, Option<bool>, Option<String>, Option<String>);

/// Every platform with `connector`'s availability and state, by platform id.
pub fn platforms(db: &Db, connector: &str) -> Result<Vec<PlatformConnector>> {
    let rows: Vec<PlatformRow> = {
        let conn = db.conn();
        let mut stmt = conn.prepare(
            "SELECT p.id, p.name, c.available, c.state, c.detail FROM platforms p
             LEFT JOIN connectors c ON c.platform_id = p.id AND c.connector_id = ?1 ORDER BY p.id",
        )?;
        let rows = stmt.query_map([connector], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    rows.into_iter()
        .map(|(platform_id, name, available, state, detail)| {
            Ok(PlatformConnector {
                platform_id,
                name,
                available: available.unwrap_or(false),
                state: match state {
                    Some(state) => Tile::from_stored(&state, detail)?,
                    None => Tile::Inactive(None),
                },
            })
        })
        .collect()
}

/// What the vendor's switch does on a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Switch {
    /// The connector already was as asked: nothing changed.
    Unchanged,
    /// The connector is available: the platform's admins see its tile.
    MadeAvailable,
    /// The connector is no longer available: no tile; the integration was not connected.
    MadeUnavailable,
    /// The integration was connected: it was deactivated (as DEACTIVATE does: the app's conversations hidden,
    /// nothing more sent), then the connector made unavailable.
    DeactivatedAndMadeUnavailable,
}

/// The vendor's switch refused to turn a connector off where its integration is connected, because deactivating
/// it was not confirmed. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StillConnected {
    /// The platform.
    pub platform_id: String,
}

impl std::fmt::Display for StillConnected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "The integration is connected on platform {}: making the connector unavailable deactivates it first \
             (the app's conversations are hidden in the workspace and learners receive nothing more). Confirm the \
             deactivation to go on; nothing was changed.",
            self.platform_id
        )
    }
}

impl std::error::Error for StillConnected {}

/// What the vendor's switch will do on `platform_id` when asked to make `connector` `available`: turning it off
/// where the integration is connected deactivates it first, only when `deactivate` confirms it (else
/// [`StillConnected`]). An unknown platform is an error.
pub fn plan_switch(
    db: &Db,
    platform_id: &str,
    connector: &str,
    available: bool,
    deactivate: bool,
) -> Result<Switch> {
    let Some(p) = platforms(db, connector)?
        .into_iter()
        .find(|p| p.platform_id == platform_id)
    else {
        bail!("There is no platform `{platform_id}`.");
    };
    Ok(match (p.available, available) {
        (was, wanted) if was == wanted => Switch::Unchanged,
        (_, true) => Switch::MadeAvailable,
        (_, false) if !p.connected() => Switch::MadeUnavailable,
        (_, false) if deactivate => Switch::DeactivatedAndMadeUnavailable,
        (_, false) => {
            return Err(StillConnected {
                platform_id: platform_id.into(),
            }
            .into());
        }
    })
}

/// Refuses unless `connector` is available on `platform_id` and `user_id` is a platform admin; refusals are
/// audited.
fn require_admin(
    db: &Db,
    platform_id: &str,
    connector: &str,
    user_id: &str,
    action: &str,
) -> Result<()> {
    if tile(db, platform_id, connector)? == Tile::Unavailable {
        db.audit(
            platform_id,
            user_id,
            &format!("{action}.refused"),
            "connector not available",
        )?;
        bail!(
            "The {connector} connector is not available on this platform; ask your vendor to make it available."
        );
    }
    let role = db.user(platform_id, user_id)?.map(|u| u.role);
    if role != Some(Role::Admin) {
        db.audit(
            platform_id,
            user_id,
            &format!("{action}.refused"),
            "not a platform admin",
        )?;
        bail!("Only platform admins may {action} a connector.");
    }
    Ok(())
}

/// Stores the integration's new state, audited for `actor` with `why`.
fn store_tile(
    db: &Db,
    platform_id: &str,
    connector: &str,
    tile: &Tile,
    actor: &str,
    why: &str,
) -> Result<()> {
    let (state, detail) = tile.stored()?;
    db.conn().execute(
        "UPDATE connectors SET state = ?3, detail = ?4, updated_at = ?5 WHERE platform_id = ?1 AND connector_id = ?2",
        params![platform_id, connector, state, detail, now()],
    )?;
    db.audit(platform_id, actor, &format!("connector.{state}"), why)
}

/// Cancel request: an admin withdraws, on the LMS's side, the app install request the tile waits for; the tile is
/// Inactive again (audited). Slack keeps the request itself until an App Manager decides: the LMS has no way to
/// withdraw it there.
pub fn cancel_request(db: &Db, platform_id: &str, connector: &str, user_id: &str) -> Result<Tile> {
    require_admin(db, platform_id, connector, user_id, "activate")?;
    if !matches!(
        tile(db, platform_id, connector)?,
        Tile::ApprovalRequested(_)
    ) {
        bail!("No app install request is waiting: nothing to cancel.");
    }
    store_tile(
        db,
        platform_id,
        connector,
        &Tile::Inactive(None),
        user_id,
        "app install request cancelled in the LMS",
    )?;
    tile(db, platform_id, connector)
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

    /// Sets the availability flag alone, for seeding and tests: the vendor's console goes through
    /// [`Lms::switch_availability`], which deactivates a connected integration first.
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
        store_tile(&self.db, platform_id, self.connector_id(), tile, actor, why)
    }

    /// Refuses unless the connector is available and `user_id` is a platform admin; refusals are audited.
    pub(crate) fn require_admin(
        &self,
        platform_id: &str,
        user_id: &str,
        action: &str,
    ) -> Result<()> {
        require_admin(&self.db, platform_id, self.connector_id(), user_id, action)
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

    /// Cancel request (see [`cancel_request`]).
    pub fn cancel_request(&self, platform_id: &str, user_id: &str) -> Result<Tile> {
        cancel_request(&self.db, platform_id, self.connector_id(), user_id)
    }

    /// DEACTIVATE.
    pub async fn deactivate(&self, platform_id: &str, user_id: &str) -> Result<Tile> {
        self.require_admin(platform_id, user_id, "deactivate")?;
        self.uninstall(platform_id, user_id, "deactivated by an admin")
            .await?;
        self.tile(platform_id)
    }

    /// Has the connector deactivate the integration (the service forgets the app: its conversations are hidden),
    /// then marks it Inactive, audited for `actor` with `why`. When the connector fails, nothing changes.
    async fn uninstall(&self, platform_id: &str, actor: &str, why: &str) -> Result<()> {
        self.sandbox
            .deactivate(platform_id)
            .await?
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        self.set_tile(platform_id, &Tile::Inactive(None), actor, why)
    }

    /// The vendor's switch (M1): makes the connector available on `platform_id` or not, audited for `actor`. Where
    /// the integration is connected, turning the connector off deactivates it first, as DEACTIVATE does, when
    /// `deactivate` confirms it; otherwise it is refused with [`StillConnected`]. The integration's other states
    /// are kept: the tile comes back as it was when the connector is made available again.
    pub async fn switch_availability(
        &self,
        platform_id: &str,
        available: bool,
        actor: &str,
        deactivate: bool,
    ) -> Result<Switch> {
        let switch = plan_switch(
            &self.db,
            platform_id,
            self.connector_id(),
            available,
            deactivate,
        )?;
        if switch == Switch::DeactivatedAndMadeUnavailable {
            self.uninstall(
                platform_id,
                actor,
                "deactivated: the vendor made the connector unavailable",
            )
            .await?;
        }
        if switch != Switch::Unchanged {
            self.set_available(platform_id, available, actor)?;
        }
        Ok(switch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::platform_with_users;
    use connector_host::outbound::{Grant, Route};

    /// A database with platform `p` (admin `admin`, learner `l1`) where `slack` is available.
    fn platform() -> Db {
        let db = crate::test_support::memory_db();
        platform_with_users(&db, 1);
        set_available(&db, "p", "slack", true, "vendor").unwrap();
        db
    }

    /// The audit rows of `p`: "actor action detail", oldest first.
    fn audit(db: &Db) -> Vec<String> {
        let conn = db.conn();
        let mut stmt = conn
            .prepare(
                "SELECT actor, action, detail FROM audit_log WHERE platform_id = 'p' ORDER BY seq",
            )
            .unwrap();
        stmt.query_map((), |r| {
            Ok(format!(
                "{} {} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    fn requested(db: &Db) {
        let tile = Tile::ApprovalRequested(APPROVAL_NEXT_STEP.into());
        store_tile(db, "p", "slack", &tile, "admin", "app install requested").unwrap();
    }

    #[test]
    fn an_admin_cancels_a_waiting_request_and_the_tile_is_inactive_again() {
        let db = platform();
        requested(&db);
        // A learner is refused, audited; the request still waits.
        let e = cancel_request(&db, "p", "slack", "l1").unwrap_err();
        assert!(e.to_string().contains("Only platform admins"), "{e}");
        assert!(matches!(
            tile(&db, "p", "slack").unwrap(),
            Tile::ApprovalRequested(_)
        ));
        assert_eq!(
            cancel_request(&db, "p", "slack", "admin").unwrap(),
            Tile::Inactive(None)
        );
        let audit = audit(&db);
        assert!(
            audit.contains(&"l1 activate.refused not a platform admin".to_string()),
            "{audit:?}"
        );
        assert_eq!(
            audit.last().unwrap(),
            "admin connector.inactive app install request cancelled in the LMS"
        );
        // Nothing waits any more: a second cancel says so and changes nothing.
        let e = cancel_request(&db, "p", "slack", "admin").unwrap_err();
        assert!(e.to_string().contains("nothing to cancel"), "{e}");
        assert_eq!(tile(&db, "p", "slack").unwrap(), Tile::Inactive(None));
    }

    #[test]
    fn the_vendors_switch_hides_and_shows_the_tile_as_it_was() {
        let db = platform();
        requested(&db);
        assert_eq!(
            plan_switch(&db, "p", "slack", true, false).unwrap(),
            Switch::Unchanged
        );
        // Not connected: turned off at once; the state is kept behind the switch.
        assert_eq!(
            plan_switch(&db, "p", "slack", false, false).unwrap(),
            Switch::MadeUnavailable
        );
        set_available(&db, "p", "slack", false, "vendor").unwrap();
        assert_eq!(tile(&db, "p", "slack").unwrap(), Tile::Unavailable);
        let listed = platforms(&db, "slack").unwrap();
        assert_eq!(listed.len(), 1);
        assert!(!listed[0].available);
        assert!(matches!(listed[0].state, Tile::ApprovalRequested(_)));
        // Refused to the platform's admin while unavailable.
        let e = cancel_request(&db, "p", "slack", "admin").unwrap_err();
        assert!(e.to_string().contains("not available"), "{e}");
        assert_eq!(
            plan_switch(&db, "p", "slack", true, false).unwrap(),
            Switch::MadeAvailable
        );
        set_available(&db, "p", "slack", true, "vendor").unwrap();
        assert!(matches!(
            tile(&db, "p", "slack").unwrap(),
            Tile::ApprovalRequested(_)
        ));
        let audit = audit(&db);
        assert!(
            audit.contains(&"vendor connector.unavailable slack".to_string()),
            "{audit:?}"
        );
        assert_eq!(audit.last().unwrap(), "vendor connector.available slack");
        // An unknown platform is refused.
        let e = plan_switch(&db, "nope", "slack", false, true).unwrap_err();
        assert!(e.to_string().contains("no platform `nope`"), "{e}");
    }

    #[test]
    fn turning_the_connector_off_where_it_is_connected_needs_the_deactivation_confirmed() {
        let db = platform();
        for connected in [
            Tile::Active("WS".into()),
            Tile::Disconnected("revoked".into()),
        ] {
            store_tile(&db, "p", "slack", &connected, "admin", "test").unwrap();
            assert!(platforms(&db, "slack").unwrap()[0].connected());
            let e = plan_switch(&db, "p", "slack", false, false).unwrap_err();
            assert_eq!(
                e.downcast_ref::<StillConnected>(),
                Some(&StillConnected {
                    platform_id: "p".into()
                })
            );
            assert!(e.to_string().contains("deactivates it first"), "{e}");
            assert_eq!(
                plan_switch(&db, "p", "slack", false, true).unwrap(),
                Switch::DeactivatedAndMadeUnavailable
            );
            // Nothing changed by planning.
            assert_eq!(tile(&db, "p", "slack").unwrap(), connected);
        }
    }

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
