//! The integration's life: activation, delivery, deactivation, status and inbound requests, over the host's settings
//! and log and any [`Transport`]. This is what the WIT `connector` export does, minus the type conversions.

use crate::api::{ClientCredentials, Member, PostMessage, SLACK_API, SLACK_AUTHORIZE, Slack, SlackError, Transport};
use crate::model::{Notification, User};
use crate::render;
use serde_json::{Value, json};

/// The scopes the connector asks for, and why:
/// `chat:write` to post, `chat:write.customize` to post as the platform group, `im:write` to open the app's DM,
/// `users:read` and `users:read.email` to match learners by e-mail.
pub const SCOPES: &[&str] = &["chat:write", "chat:write.customize", "im:write", "users:read", "users:read.email"];

/// The connector's settings keys (plain values).
pub mod keys {
    /// The Slack app's client id (set by the operator).
    pub const CLIENT_ID: &str = "client_id";
    /// The pending activation's CSRF state.
    pub const PENDING_STATE: &str = "oauth.pending_state";
    /// The pending activation's redirect URI.
    pub const PENDING_REDIRECT: &str = "oauth.pending_redirect_uri";
    /// The connected workspace's id.
    pub const TEAM_ID: &str = "team.id";
    /// The connected workspace's name.
    pub const TEAM_NAME: &str = "team.name";
    /// Why the integration was disconnected, when it was.
    pub const DISCONNECTED: &str = "disconnected_reason";
    /// Prefix of the cached member id per workspace and normalised e-mail (`member:T…:a@b.c`).
    pub const MEMBER_PREFIX: &str = "member:";
    /// Prefix of the cached app DM per workspace and member id (`dm:T…:U…`).
    pub const DM_PREFIX: &str = "dm:";
}

/// The connector's secrets.
pub mod secrets {
    /// The Slack app's client secret (set by the operator).
    pub const CLIENT_SECRET: &str = "client_secret";
    /// The Slack app's signing secret (set by the operator).
    pub const SIGNING_SECRET: &str = "signing_secret";
    /// The bot token from the installation.
    pub const BOT_TOKEN: &str = "bot_token";
}

/// The connector's persistent settings and secrets on this platform.
pub trait Settings {
    /// A plain value.
    fn get(&self, key: &str) -> Option<String>;
    /// Writes a plain value.
    fn set(&mut self, key: &str, value: &str) -> Result<(), String>;
    /// Removes a plain value.
    fn remove(&mut self, key: &str);
    /// A secret.
    fn get_secret(&self, key: &str) -> Option<String>;
    /// Writes a secret.
    fn set_secret(&mut self, key: &str, value: &str) -> Result<(), String>;
    /// Removes a secret.
    fn remove_secret(&mut self, key: &str);
}

/// How serious a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Details.
    Debug,
    /// Normal events.
    Info,
    /// Something an admin may want to know.
    Warn,
    /// Something failed.
    Error,
}

/// The host's log.
pub trait Log {
    /// Writes one line.
    fn write(&mut self, level: Level, message: &str);
}

/// A connector operation's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorError {
    /// Machine-readable code.
    pub code: String,
    /// A sentence an admin understands.
    pub message: String,
}

impl ConnectorError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        ConnectorError { code: code.to_string(), message: message.into() }
    }

    fn slack(context: &str, e: &SlackError) -> Self {
        ConnectorError::new(&e.code(), format!("{context}: {e}"))
    }
}

/// A connected workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// `T…` id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// What completing an activation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivationResult {
    /// Active with this workspace.
    Active(Workspace),
    /// Waiting for an app manager's approval.
    ApprovalRequested(String),
}

/// The integration's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntegrationState {
    /// Not connected.
    Inactive,
    /// Connected.
    Active(Workspace),
    /// The credentials stopped working.
    Disconnected(String),
}

/// Why a recipient was not sent anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// No active Slack member has the recipient's e-mail address.
    NoAccount,
    /// The integration is not active.
    Inactive(String),
}

/// How the host should treat a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Retrying cannot help.
    Permanent,
    /// Retrying later may help.
    Transient,
    /// Retry after `retry_after_ms`.
    RateLimited,
    /// The token no longer works.
    Disconnected,
}

/// A failed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// How to treat it.
    pub kind: FailureKind,
    /// Slack's error code or ours.
    pub code: String,
    /// An admin's sentence.
    pub message: String,
    /// When rate limited.
    pub retry_after_ms: Option<u64>,
}

impl Failure {
    fn from_slack(context: &str, e: &SlackError) -> Self {
        let kind = if e.is_disconnection() {
            FailureKind::Disconnected
        } else if let SlackError::RateLimited { .. } = e {
            FailureKind::RateLimited
        } else if e.is_transient() {
            FailureKind::Transient
        } else {
            FailureKind::Permanent
        };
        let retry_after_ms = match e {
            SlackError::RateLimited { retry_after_secs } => Some(retry_after_secs.saturating_mul(1000)),
            _ => None,
        };
        Failure { kind, code: e.code(), message: format!("{context}: {e}"), retry_after_ms }
    }
}

/// What happened to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Posted (or found already posted) in this conversation with this `ts`.
    Sent {
        /// `D…`.
        conversation: String,
        /// Slack's `ts`.
        message_id: String,
        /// Found from an earlier attempt rather than posted now.
        already_sent: bool,
    },
    /// Deliberately not sent.
    Skipped(SkipReason),
    /// Failed.
    Failed(Failure),
}

/// One recipient of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The LMS user.
    pub user: User,
    /// The host's id of this delivery.
    pub delivery_id: String,
}

/// An inbound HTTP request from Slack, already checked by the host.
#[derive(Debug, Clone)]
pub struct InboundRequest {
    /// `events` or `interactivity`.
    pub route: String,
    /// Body as received.
    pub body: Vec<u8>,
}

/// The answer to an inbound request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundResponse {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: String,
    /// Body.
    pub body: Vec<u8>,
    /// The new state, when the request changed it.
    pub new_state: Option<IntegrationState>,
}

/// Describes the connector: what the WIT `describe` returns.
pub struct Description {
    /// Stable id.
    pub id: &'static str,
    /// Tile name.
    pub name: &'static str,
    /// Version.
    pub version: &'static str,
    /// Origins called.
    pub outbound_origins: &'static [&'static str],
    /// Settings (key, secret, purpose).
    pub settings: &'static [(&'static str, bool, &'static str)],
}

/// The connector's self-description.
pub const DESCRIPTION: Description = Description {
    id: "slack",
    name: "Slack",
    version: env!("CARGO_PKG_VERSION"),
    outbound_origins: &[SLACK_API],
    settings: &[
        (keys::CLIENT_ID, false, "The Slack app's client id."),
        (secrets::CLIENT_SECRET, true, "The Slack app's client secret, for the OAuth code exchange and uninstall."),
        (secrets::SIGNING_SECRET, true, "The Slack app's signing secret, to verify requests from Slack."),
        (secrets::BOT_TOKEN, true, "The bot token of the installation (written by the connector)."),
    ],
};

/// The connector over the host's settings, log and transport.
pub struct Connector<'a, S: Settings + ?Sized, L: Log + ?Sized, T: Transport + ?Sized> {
    settings: &'a mut S,
    log: &'a mut L,
    transport: &'a mut T,
}

impl<'a, S: Settings + ?Sized, L: Log + ?Sized, T: Transport + ?Sized> Connector<'a, S, L, T> {
    /// A connector over these host services.
    pub fn new(settings: &'a mut S, log: &'a mut L, transport: &'a mut T) -> Self {
        Connector { settings, log, transport }
    }

    fn credentials(&self) -> Result<ClientCredentials, ConnectorError> {
        let client_id = self.settings.get(keys::CLIENT_ID).filter(|v| !v.is_empty());
        let client_secret = self.settings.get_secret(secrets::CLIENT_SECRET).filter(|v| !v.is_empty());
        match (client_id, client_secret) {
            (Some(client_id), Some(client_secret)) => Ok(ClientCredentials { client_id, client_secret }),
            _ => Err(ConnectorError::new(
                "not_configured",
                "The Slack app's client id and client secret are not configured for this platform.",
            )),
        }
    }

    /// The URL of Slack's consent page for this activation; remembers `state` and `redirect_uri` for the callback.
    pub fn start_activation(&mut self, redirect_uri: &str, state: &str) -> Result<String, ConnectorError> {
        if state.len() < 16 {
            return Err(ConnectorError::new("bad_state", "The activation state is too short to be unguessable."));
        }
        let creds = self.credentials()?;
        self.save(keys::PENDING_STATE, state)?;
        self.save(keys::PENDING_REDIRECT, redirect_uri)?;
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &creds.client_id)
            .append_pair("scope", &SCOPES.join(","))
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .finish();
        Ok(format!("{SLACK_AUTHORIZE}?{query}"))
    }

    /// Completes activation with the callback's query: checks `state` (once), exchanges the code, verifies the token,
    /// and only then stores it. On any failure nothing of the new installation is kept.
    pub fn complete_activation(&mut self, query: &[(String, String)]) -> Result<ActivationResult, ConnectorError> {
        let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let expected_state = self.settings.get(keys::PENDING_STATE);
        let redirect_uri = self.settings.get(keys::PENDING_REDIRECT).unwrap_or_default();
        // The state is single-use: forget it whatever happens next.
        self.settings.remove(keys::PENDING_STATE);
        self.settings.remove(keys::PENDING_REDIRECT);
        match (expected_state.as_deref(), param("state")) {
            (Some(expected), Some(got)) if constant_time_eq(expected.as_bytes(), got.as_bytes()) => {}
            (None, _) => {
                return Err(ConnectorError::new(
                    "state_unknown",
                    "This activation link was already used or was never started here. Click ACTIVATE again.",
                ));
            }
            _ => {
                return Err(ConnectorError::new(
                    "state_mismatch",
                    "The answer from Slack does not belong to this activation (state mismatch). Click ACTIVATE again.",
                ));
            }
        }
        if let Some(error) = param("error") {
            return Err(match error {
                "access_denied" => ConnectorError::new(
                    "access_denied",
                    "Slack access was not allowed (Cancel was clicked on Slack's page). The integration stays inactive.",
                ),
                other => ConnectorError::new(other, format!("Slack refused the installation: {other}.")),
            });
        }
        let code = param("code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ConnectorError::new("no_code", "Slack's answer carries no authorization code."))?;
        let creds = self.credentials()?;
        let mut slack = Slack::new(self.transport);
        let installation = slack.oauth_v2_access(&creds, code, &redirect_uri).map_err(|e| match &e {
            SlackError::Api { code, .. } if code == "invalid_code" || code == "code_already_used" => {
                ConnectorError::new(code, "Slack's authorization code expired or was already used. Click ACTIVATE again.")
            }
            _ => ConnectorError::slack("Exchanging the authorization code failed", &e),
        })?;
        let (team_id, team_name) = slack
            .auth_test(&installation.access_token)
            .map_err(|e| ConnectorError::slack("Slack did not accept the new token", &e))?;
        if team_id != installation.team_id {
            return Err(ConnectorError::new("team_mismatch", "Slack's token belongs to another workspace."));
        }
        let name = if team_name.is_empty() { installation.team_name.clone() } else { team_name };
        self.settings
            .set_secret(secrets::BOT_TOKEN, &installation.access_token)
            .map_err(|e| ConnectorError::new("storage", e))?;
        self.save(keys::TEAM_ID, &team_id)?;
        self.save(keys::TEAM_NAME, &name)?;
        self.settings.remove(keys::DISCONNECTED);
        self.log.write(Level::Info, &format!("activated with workspace {name} ({team_id})"));
        Ok(ActivationResult::Active(Workspace { id: team_id, name }))
    }

    /// Uninstalls the app from the workspace and forgets the token. The cached DMs stay: messages are not deleted in
    /// Slack, and reactivating with the same workspace continues the same conversations.
    pub fn deactivate(&mut self) -> Result<(), ConnectorError> {
        if let Some(token) = self.settings.get_secret(secrets::BOT_TOKEN) {
            let creds = self.credentials()?;
            match Slack::new(self.transport).apps_uninstall(&token, &creds) {
                Ok(()) => {}
                // Already gone on Slack's side: nothing left to uninstall.
                Err(e) if e.is_disconnection() => {}
                Err(e) => return Err(ConnectorError::slack("Slack did not uninstall the app", &e)),
            }
        }
        self.settings.remove_secret(secrets::BOT_TOKEN);
        self.settings.remove(keys::DISCONNECTED);
        self.log.write(Level::Info, "deactivated");
        Ok(())
    }

    /// The integration's state.
    pub fn status(&self) -> IntegrationState {
        if let Some(reason) = self.settings.get(keys::DISCONNECTED) {
            return IntegrationState::Disconnected(reason);
        }
        match (self.settings.get_secret(secrets::BOT_TOKEN), self.settings.get(keys::TEAM_ID)) {
            (Some(_), Some(id)) => IntegrationState::Active(Workspace {
                id,
                name: self.settings.get(keys::TEAM_NAME).unwrap_or_default(),
            }),
            _ => IntegrationState::Inactive,
        }
    }

    /// Delivers a notification: one outcome per recipient, in order.
    pub fn deliver(&mut self, notification: &Notification, recipients: &[Recipient]) -> Vec<(String, Outcome)> {
        let token = match self.status() {
            IntegrationState::Active(_) => self.settings.get_secret(secrets::BOT_TOKEN),
            _ => None,
        };
        let mut outcomes = Vec::with_capacity(recipients.len());
        let mut broken: Option<Failure> = None;
        for recipient in recipients {
            let outcome = match (&token, &broken) {
                (None, _) => Outcome::Skipped(SkipReason::Inactive(inactive_reason(&self.status()))),
                (_, Some(failure)) => Outcome::Failed(failure.clone()),
                (Some(token), None) => self.deliver_one(token, notification, recipient),
            };
            if let Outcome::Failed(f) = &outcome
                && f.kind == FailureKind::Disconnected
                && broken.is_none()
            {
                self.disconnect(&f.message);
                broken = Some(f.clone());
            }
            outcomes.push((recipient.delivery_id.clone(), outcome));
        }
        outcomes
    }

    fn deliver_one(&mut self, token: &str, notification: &Notification, recipient: &Recipient) -> Outcome {
        let member = match self.member_for(token, &recipient.user.email) {
            Ok(Some(member)) => member,
            Ok(None) => return Outcome::Skipped(SkipReason::NoAccount),
            Err(e) => return Outcome::Failed(Failure::from_slack("Looking up the learner in Slack failed", &e)),
        };
        let channel = match self.dm_for(token, &member) {
            Ok(channel) => channel,
            Err(e) => return Outcome::Failed(Failure::from_slack("Opening the app's conversation failed", &e)),
        };
        let rendered = render::render(notification, &recipient.user);
        let metadata = json!({
            "event_type": "lms_notification",
            "event_payload": { "delivery_id": recipient.delivery_id, "notification_id": notification.id },
        });
        let message = PostMessage {
            channel: &channel,
            text: &rendered.text,
            blocks: &rendered.blocks,
            username: &notification.group.name,
            icon_url: notification.group.logo_url.as_deref(),
            metadata: Some(&metadata),
        };
        match Slack::new(self.transport).post_message(token, &message) {
            Ok(ts) => Outcome::Sent { conversation: channel, message_id: ts, already_sent: false },
            Err(e) => {
                if matches!(&e, SlackError::Api { code, .. } if code == "channel_not_found") {
                    // A cached DM that no longer exists: open it again on the next attempt.
                    let key = self.cache_key(keys::DM_PREFIX, &member.id);
                    self.settings.remove(&key);
                }
                Outcome::Failed(Failure::from_slack("Posting the message failed", &e))
            }
        }
    }

    /// The reachable member with this e-mail address: from the cache, else `users.lookupByEmail`.
    fn member_for(&mut self, token: &str, email: &str) -> Result<Option<Member>, SlackError> {
        let email = normalise_email(email);
        if email.is_empty() {
            return Ok(None);
        }
        let key = self.cache_key(keys::MEMBER_PREFIX, &email);
        if let Some(id) = self.settings.get(&key) {
            return Ok(Some(Member { id, email: Some(email), deleted: false, is_bot: false }));
        }
        let found = Slack::new(self.transport)
            .lookup_by_email(token, &email)?
            .filter(|m| m.is_reachable())
            .filter(|m| m.email.as_deref().map(normalise_email).is_none_or(|e| e == email));
        if let Some(member) = &found {
            let _ = self.settings.set(&key, &member.id);
        }
        Ok(found)
    }

    /// The app's DM with a member: from the cache, else `conversations.open`.
    fn dm_for(&mut self, token: &str, member: &Member) -> Result<String, SlackError> {
        let key = self.cache_key(keys::DM_PREFIX, &member.id);
        if let Some(channel) = self.settings.get(&key) {
            return Ok(channel);
        }
        let channel = Slack::new(self.transport).open_dm(token, &member.id)?;
        let _ = self.settings.set(&key, &channel);
        Ok(channel)
    }

    /// Handles an inbound request (already signature-checked by the host).
    pub fn handle_inbound(&mut self, request: &InboundRequest) -> InboundResponse {
        let ok = |body: Vec<u8>, content_type: &str, new_state| InboundResponse {
            status: 200,
            content_type: content_type.into(),
            body,
            new_state,
        };
        match request.route.as_str() {
            "events" => {
                let Ok(event) = serde_json::from_slice::<Value>(&request.body) else {
                    return InboundResponse {
                        status: 400,
                        content_type: "text/plain".into(),
                        body: b"not JSON".to_vec(),
                        new_state: None,
                    };
                };
                match event.get("type").and_then(Value::as_str) {
                    Some("url_verification") => {
                        let challenge = event.get("challenge").and_then(Value::as_str).unwrap_or_default();
                        ok(challenge.as_bytes().to_vec(), "text/plain", None)
                    }
                    Some("event_callback") => {
                        let kind = event.pointer("/event/type").and_then(Value::as_str).unwrap_or_default();
                        let ours = event.get("team_id").and_then(Value::as_str) == self.settings.get(keys::TEAM_ID).as_deref();
                        let reason = match kind {
                            "app_uninstalled" => Some("The app was removed from the Slack workspace."),
                            "tokens_revoked" => Some("Slack revoked the app's token."),
                            _ => None,
                        };
                        match reason {
                            Some(reason) if ours && self.settings.get_secret(secrets::BOT_TOKEN).is_some() => {
                                self.disconnect(reason);
                                ok(Vec::new(), "text/plain", Some(self.status()))
                            }
                            _ => ok(Vec::new(), "text/plain", None),
                        }
                    }
                    _ => ok(Vec::new(), "text/plain", None),
                }
            }
            // Button clicks open the session by URL; Slack only needs the acknowledgement.
            "interactivity" => ok(Vec::new(), "text/plain", None),
            _ => InboundResponse {
                status: 404,
                content_type: "text/plain".into(),
                body: b"unknown route".to_vec(),
                new_state: None,
            },
        }
    }

    fn disconnect(&mut self, reason: &str) {
        self.settings.remove_secret(secrets::BOT_TOKEN);
        let _ = self.settings.set(keys::DISCONNECTED, reason);
        self.log.write(Level::Warn, &format!("disconnected: {reason}"));
    }

    /// Cache keys are per workspace, so that connecting another workspace never reuses the old one's ids.
    fn cache_key(&self, prefix: &str, id: &str) -> String {
        let team = self.settings.get(keys::TEAM_ID).unwrap_or_default();
        format!("{prefix}{team}:{id}")
    }

    fn save(&mut self, key: &str, value: &str) -> Result<(), ConnectorError> {
        self.settings.set(key, value).map_err(|e| ConnectorError::new("storage", e))
    }
}

fn inactive_reason(state: &IntegrationState) -> String {
    match state {
        IntegrationState::Disconnected(reason) => format!("The Slack integration is disconnected: {reason}"),
        _ => "The Slack integration is not active on this platform.".into(),
    }
}

/// An e-mail address as Slack and the LMS are compared: trimmed and lower-cased.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
