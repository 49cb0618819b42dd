//! Data types of the simulated Slack: the seed (workspace, members, app), the configuration, and the
//! records the simulation keeps (installations, conversations, messages, calls, requests, deliveries).
//!
//! Every type is serde-(de)serializable: the same data is served as JSON by the `/_sim/*` inspection
//! endpoints and returned by [`crate::SimHandle`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{SLACKBOT_ID, looks_like_id};

/// One Slack workspace (a "team" in the Web API).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Workspace {
    /// Team ID, `T…` (Slack's pattern `^[TE][A-Z0-9]{8,}$`).
    pub team_id: String,
    /// Display name of the workspace.
    pub team_name: String,
    /// Subdomain: the workspace URL is `https://{domain}.slack.com/`.
    pub domain: String,
    /// The people (and bots) of the workspace.
    pub members: Vec<Member>,
    /// Member IDs of the app managers (who may approve app install requests).
    #[serde(default)]
    pub app_managers: Vec<String>,
    /// When true, members who are neither admins nor app managers must request an app instead of installing it.
    #[serde(default)]
    pub restrict_app_installs: bool,
}

/// A member of the workspace.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Member {
    /// User ID, `U…`.
    pub id: String,
    /// Username (handle).
    pub name: String,
    /// Full name.
    pub real_name: String,
    /// E-mail address, if any (bots have none).
    #[serde(default)]
    pub email: Option<String>,
    /// IANA time zone, e.g. `Europe/Paris`.
    #[serde(default = "default_tz")]
    pub tz: String,
    /// The language the member reads Slack in, a BCP 47 tag (Slack's `locale`, in `users.info` and `users.list`
    /// with `include_locale`): the simulation shows dates in French for `fr…`, else in English.
    #[serde(default = "default_locale")]
    pub locale: String,
    /// A deactivated account.
    #[serde(default)]
    pub deleted: bool,
    /// A bot user.
    #[serde(default)]
    pub is_bot: bool,
    /// A workspace admin (admins may install apps in a restricted workspace).
    #[serde(default)]
    pub is_admin: bool,
}

/// A member without a time zone is on UTC.
fn default_tz() -> String {
    "UTC".to_string()
}

/// A member without a locale reads Slack's default, US English.
fn default_locale() -> String {
    "en-US".to_string()
}

/// The Slack app (the connector's app as configured at api.slack.com/apps).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct App {
    /// App ID, `A…`.
    pub app_id: String,
    /// The app's name, shown on the consent page and under "Apps" in the sidebar.
    pub name: String,
    /// OAuth client ID.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// Signing secret used to sign requests to the app (events, interactivity).
    pub signing_secret: String,
    /// Allowed OAuth redirect URLs (exact match).
    pub redirect_urls: Vec<String>,
    /// Events API request URL.
    #[serde(default)]
    pub events_url: Option<String>,
    /// Interactivity request URL.
    #[serde(default)]
    pub interactivity_url: Option<String>,
    /// App Home → Messages tab enabled (otherwise posting to the app's DM answers `messages_tab_disabled`).
    #[serde(default = "yes")]
    pub messages_tab_enabled: bool,
    /// Approved for the Slack Marketplace. Not by default, as for an LMS's own app: since 29 May 2025 (and for
    /// existing installations since 2 September 2025) an app distributed outside the Marketplace and not approved
    /// gets `conversations.history` and `conversations.replies` at 1 request a minute, with pages of at most 15
    /// messages (Slack's changelog "Rate limit changes for non-Marketplace apps"); an approved app keeps Tier 3
    /// and the usual page sizes.
    #[serde(default)]
    pub marketplace_approved: bool,
    /// Token rotation (Slack's `settings.token_rotation_enabled`; off by default): the code exchange then gives an
    /// expiring `xoxe.xoxb-…` bot token with `expires_in` and a `refresh_token`, and `oauth.v2.access` with
    /// `grant_type=refresh_token` gives the next pair (see [`SimConfig::token_expires_in_secs`]).
    #[serde(default)]
    pub token_rotation_enabled: bool,
    /// The bot scopes the app is configured with (its manifest's `oauth_config.scopes.bot`): the consent page
    /// refuses a request for any other. Empty: any scope Slack knows (the app configured by hand).
    #[serde(default)]
    pub bot_scopes: Vec<String>,
    /// The bot user's display name (a manifest's `features.bot_user.display_name`); none: the app's name in
    /// lower case with dashes, as Slack derives it.
    #[serde(default)]
    pub bot_display_name: Option<String>,
    /// The bot events the app subscribes to (a manifest's `settings.event_subscriptions.bot_events`): only these
    /// are sent to its events URL. None: every event the simulation sends (the app configured by hand).
    #[serde(default)]
    pub bot_events: Option<Vec<String>>,
}

/// `true`, for fields on by default.
fn yes() -> bool {
    true
}

/// Rate limiting configuration: Slack's real limits, on by default.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RateLimits {
    /// Enforce the limits at all (on by default; a test or a benchmark that wants none says so).
    pub enabled: bool,
    /// How much faster than real time Slack's limits pass: 60 means a minute of Slack's limits passes in one
    /// real second. `Retry-After` is given in real seconds (rounded up, at least 1).
    pub time_scale: f64,
    /// Per-method calls per minute, overriding the method's tier (e.g. `{"users.list": 5}`).
    pub per_method_per_minute: BTreeMap<String, u32>,
    /// `chat.postMessage`: sustained messages per second per conversation (Slack: about 1).
    pub post_per_channel_per_second: f64,
    /// `chat.postMessage`: burst allowed per conversation above the sustained rate.
    pub post_channel_burst: u32,
    /// `chat.postMessage`: workspace-wide cap per minute (Slack: "several hundred").
    pub post_workspace_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            enabled: true,
            time_scale: 1.0,
            per_method_per_minute: BTreeMap::new(),
            post_per_channel_per_second: 1.0,
            post_channel_burst: 3,
            post_workspace_per_minute: 300,
        }
    }
}

/// Everything [`crate::start`] needs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SimConfig {
    /// The workspace: the one the pages show first and the one [`crate::SimHandle::uninstall_app`] removes the app
    /// from.
    pub workspace: Workspace,
    /// More workspaces the same app can be installed in, each with its own members, installation, token and rate
    /// limits (Slack's limits are per app and workspace). The member who allows the app on the consent page decides
    /// which workspace it is installed in, as on Slack, where a user installs into the workspace they are signed in
    /// to. Member IDs are unique across all the workspaces, as they are on Slack.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_workspaces: Vec<Workspace>,
    /// The one app that can be installed.
    pub app: App,
    /// Rate limits (Slack's, on by default).
    #[serde(default)]
    pub rate_limits: RateLimits,
    /// Deadline within which the app must acknowledge an interaction (Slack: 3 s).
    #[serde(default = "default_ack_deadline", with = "duration_ms")]
    pub ack_deadline: Duration,
    /// Time limit of one outbound event delivery (Slack: 3 s).
    #[serde(default = "default_ack_deadline", with = "duration_ms")]
    pub event_timeout: Duration,
    /// Largest page `users.list` returns, whatever `limit` asks (Slack may return fewer than asked).
    #[serde(default = "default_users_page")]
    pub users_list_max_page: usize,
    /// How many API calls `/_sim/calls` keeps (oldest dropped first).
    #[serde(default = "default_calls_kept")]
    pub calls_kept: usize,
    /// Host names the server answers for besides its own address (at any port); `slack.com` by default, the
    /// `Host` a connector whose `https://slack.com` is routed here sends. Any other name is refused (a DNS
    /// rebinding).
    #[serde(default = "default_hosts")]
    pub hosts: Vec<String>,
    /// Lifetime of an expiring bot token of an app with token rotation, its `expires_in` (Slack: 12 hours,
    /// 43200); a test shortens it, or moves the simulation clock past it, to see `token_expired`.
    #[serde(default = "default_token_expires_in")]
    pub token_expires_in_secs: u64,
    /// The app configuration token (`xoxe.xoxp-…`) `apps.manifest.*` take; none: the simulation makes one at
    /// start (read it with [`crate::SimHandle::app_config_token`]).
    #[serde(default)]
    pub app_config_token: Option<String>,
}

/// Slack's 3 seconds.
fn default_ack_deadline() -> Duration {
    Duration::from_secs(3)
}
fn default_users_page() -> usize {
    1000
}
fn default_calls_kept() -> usize {
    10_000
}
/// Slack's 12 hours of a rotating token.
fn default_token_expires_in() -> u64 {
    43_200
}
/// The host the simulation stands for.
fn default_hosts() -> Vec<String> {
    vec!["slack.com".to_string()]
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

impl SimConfig {
    /// A configuration with the given workspace and app and default settings.
    pub fn new(workspace: Workspace, app: App) -> Self {
        SimConfig {
            workspace,
            other_workspaces: Vec::new(),
            app,
            rate_limits: RateLimits::default(),
            ack_deadline: default_ack_deadline(),
            event_timeout: default_ack_deadline(),
            users_list_max_page: default_users_page(),
            calls_kept: default_calls_kept(),
            hosts: default_hosts(),
            token_expires_in_secs: default_token_expires_in(),
            app_config_token: None,
        }
    }

    /// The demo workspace with the demo app.
    pub fn demo() -> Self {
        SimConfig::new(Workspace::demo(), App::demo())
    }

    /// Reads a seed file: either a [`Workspace`] alone, or `{"workspace": …, "other_workspaces": […], "app": …,
    /// "rate_limits": …}` (a missing app is [`App::demo`]).
    pub fn from_file(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let v: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let cfg = if v.get("workspace").is_some() {
            let mut v = v;
            if v.get("app").is_none() {
                v["app"] = serde_json::to_value(App::demo())?;
            }
            serde_json::from_value::<SimConfig>(v)
                .with_context(|| format!("reading {}", path.display()))?
        } else {
            let ws: Workspace =
                serde_json::from_value(v).with_context(|| format!("reading {}", path.display()))?;
            SimConfig::new(ws, App::demo())
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Every workspace: [`SimConfig::workspace`] first, then the others.
    pub fn workspaces(&self) -> impl Iterator<Item = &Workspace> {
        std::iter::once(&self.workspace).chain(&self.other_workspaces)
    }

    /// Every workspace, to change.
    pub fn workspaces_mut(&mut self) -> impl Iterator<Item = &mut Workspace> {
        std::iter::once(&mut self.workspace).chain(&mut self.other_workspaces)
    }

    /// Checks IDs, uniqueness (of team IDs, and of member IDs across workspaces) and time zones.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut teams = std::collections::HashSet::new();
        let mut members = std::collections::HashSet::new();
        for ws in self.workspaces() {
            ws.validate()?;
            if !teams.insert(ws.team_id.as_str()) {
                bail!("team_id {} appears twice", ws.team_id);
            }
            if let Some(m) = ws.members.iter().find(|m| !members.insert(m.id.as_str())) {
                bail!("member id {} is in two workspaces", m.id);
            }
        }
        let a = &self.app;
        if !looks_like_id(&a.app_id, 'A', 0) {
            bail!("app_id {:?} must look like A0123ABCD", a.app_id);
        }
        if a.client_id.is_empty() || a.client_secret.is_empty() || a.signing_secret.is_empty() {
            bail!("the app needs a client_id, a client_secret and a signing_secret");
        }
        if let Some(bad) = self.hosts.iter().find(|h| !is_host_name(h)) {
            bail!("hosts: {bad:?} is not a host name (letters, digits, `-` and `.`, no port)");
        }
        if self.token_expires_in_secs == 0 {
            bail!("token_expires_in_secs must be at least 1");
        }
        if !self.rate_limits.time_scale.is_finite() || self.rate_limits.time_scale <= 0.0 {
            bail!("rate_limits.time_scale must be a positive number");
        }
        Ok(())
    }
}

/// Whether `name` is a DNS host name: dot-separated labels of letters, digits and `-`.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether `tag` looks like a language tag Slack gives as a `locale`: subtags of 1 to 8 letters or digits joined by
/// `-` (`en-US`, `fr-FR`, `zh-Hant-TW`), the first of letters.
fn looks_like_locale(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    subtags
        .next()
        .is_some_and(|s| (2..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic()))
        && subtags
            .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl Workspace {
    /// Reads a workspace from a JSON seed file (a [`Workspace`] object, or a file with a `workspace` key).
    pub fn from_file(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        Ok(SimConfig::from_file(path)?.workspace)
    }

    /// A small default workspace: an admin, an app manager, three learners (one deactivated), a bot, in
    /// several time zones; Alice reads Slack in French, the others in US English.
    pub fn demo() -> Self {
        let m = |id: &str, name: &str, real: &str, email: Option<&str>, tz: &str| Member {
            id: id.into(),
            name: name.into(),
            real_name: real.into(),
            email: email.map(Into::into),
            tz: tz.into(),
            locale: default_locale(),
            deleted: false,
            is_bot: false,
            is_admin: false,
        };
        let mut admin = m(
            "U0ADMIN001",
            "ada",
            "Ada Admin",
            Some("ada@example.com"),
            "Europe/Paris",
        );
        admin.is_admin = true;
        let manager = m(
            "U0MANAGER1",
            "max",
            "Max Manager",
            Some("max@example.com"),
            "Europe/London",
        );
        let mut alice = m(
            "U0ALICE001",
            "alice",
            "Alice Martin",
            Some("alice@example.com"),
            "Europe/Paris",
        );
        alice.locale = "fr-FR".into();
        let bob = m(
            "U0BOB00001",
            "bob",
            "Bob Smith",
            Some("Bob.Smith@Example.com"),
            "America/New_York",
        );
        let chen = m(
            "U0CHEN0001",
            "chen",
            "Chen Wei",
            Some("chen@example.com"),
            "Asia/Tokyo",
        );
        let mut gone = m(
            "U0GONE0001",
            "gone",
            "Gone Person",
            Some("gone@example.com"),
            "UTC",
        );
        gone.deleted = true;
        let mut bot = m("U0OTHERBOT", "otherbot", "Other Bot", None, "UTC");
        bot.is_bot = true;
        Workspace {
            team_id: "T0SIMTEAM1".into(),
            team_name: "Simulated Workspace".into(),
            domain: "sim-workspace".into(),
            members: vec![admin, manager, alice, bob, chen, gone, bot],
            app_managers: vec!["U0MANAGER1".into()],
            restrict_app_installs: false,
        }
    }

    /// Checks IDs, uniqueness and time zones.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !looks_like_id(&self.team_id, 'T', 8) {
            bail!(
                "team_id {:?} must look like T0123ABCD (T and at least 8 of A-Z0-9)",
                self.team_id
            );
        }
        let mut seen = std::collections::HashSet::new();
        for m in &self.members {
            if !(looks_like_id(&m.id, 'U', 8) || looks_like_id(&m.id, 'W', 8)) {
                bail!(
                    "member id {:?} must look like U0123ABCD (U and at least 8 of A-Z0-9)",
                    m.id
                );
            }
            if m.id == SLACKBOT_ID {
                bail!("member id {} is reserved for Slackbot", m.id);
            }
            if !seen.insert(m.id.clone()) {
                bail!("member id {} appears twice", m.id);
            }
            if jiff::tz::TimeZone::get(&m.tz).is_err() {
                bail!("member {}: unknown time zone {:?}", m.id, m.tz);
            }
            if !looks_like_locale(&m.locale) {
                bail!(
                    "member {}: locale {:?} must be a language tag such as fr-FR",
                    m.id,
                    m.locale
                );
            }
        }
        for id in &self.app_managers {
            if !self.members.iter().any(|m| &m.id == id) {
                bail!("app manager {id} is not a member");
            }
        }
        Ok(())
    }
}

impl App {
    /// A demo app whose redirect URL is on 127.0.0.1:8080 (the harness default).
    pub fn demo() -> Self {
        App {
            app_id: "A0SIMAPP001".into(),
            name: "LMS Notifications".into(),
            client_id: "1111111111.2222222222".into(),
            client_secret: "sim-client-secret".into(),
            signing_secret: "sim-signing-secret".into(),
            redirect_urls: vec!["http://127.0.0.1:8080/slack/oauth/callback".into()],
            events_url: None,
            interactivity_url: None,
            messages_tab_enabled: true,
            marketplace_approved: false,
            token_rotation_enabled: false,
            bot_scopes: Vec::new(),
            bot_display_name: None,
            bot_events: None,
        }
    }
}

/// What kind of conversation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// The app's DM with a member (listed under "Apps").
    AppDm,
    /// The member's conversation with Slackbot (listed under "Direct messages").
    Slackbot,
}

/// A conversation and its messages.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Conversation {
    /// Conversation ID, `D…`.
    pub id: String,
    /// App DM or Slackbot DM.
    pub kind: ConversationKind,
    /// The member on the other side.
    pub member_id: String,
    /// The app, for an app DM.
    pub app_id: Option<String>,
    /// Hidden while the app is uninstalled (kept, not deleted).
    pub hidden: bool,
    /// Creation time, Unix seconds (simulation clock).
    pub created: i64,
    /// Messages, oldest first.
    pub messages: Vec<Message>,
}

/// Who sent a message.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sender {
    /// The app's bot.
    App {
        /// App ID.
        app_id: String,
        /// Bot ID, `B…`.
        bot_id: String,
        /// The bot's user ID.
        bot_user_id: String,
    },
    /// Slackbot.
    Slackbot,
}

/// A message in a conversation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Message {
    /// Slack timestamp `1700000000.000100`, unique in the simulation and increasing.
    pub ts: String,
    /// Conversation ID.
    pub channel: String,
    /// Sender.
    pub sender: Sender,
    /// `text` as posted.
    pub text: String,
    /// Block Kit blocks as posted.
    pub blocks: Option<Value>,
    /// Legacy attachments as posted.
    pub attachments: Option<Value>,
    /// Custom sender name (`username`).
    pub username: Option<String>,
    /// Custom sender icon URL.
    pub icon_url: Option<String>,
    /// Custom sender icon emoji.
    pub icon_emoji: Option<String>,
    /// Message metadata `{event_type, event_payload}`.
    pub metadata: Option<Value>,
    /// Parent message `ts` for a thread reply.
    pub thread_ts: Option<String>,
    /// Who last changed it and when, once `chat.update` changed it (Slack's `edited`; the clients show
    /// "(edited)").
    #[serde(default)]
    pub edited: Option<Edited>,
    /// A thread's parent deleted by `chat.delete` while it had replies: Slack keeps a tombstone in its place,
    /// "This message was deleted.", so that the replies keep their thread.
    #[serde(default)]
    pub tombstone: bool,
}

impl Message {
    /// A plain-text message from Slackbot in `channel`.
    pub fn from_slackbot(ts: String, channel: String, text: String) -> Message {
        Message {
            ts,
            channel,
            sender: Sender::Slackbot,
            text,
            blocks: None,
            attachments: None,
            username: None,
            icon_url: None,
            icon_emoji: None,
            metadata: None,
            thread_ts: None,
            edited: None,
            tombstone: false,
        }
    }

    /// The user ID Slack gives as the message's `user`: the app's bot user, or Slackbot.
    pub fn user(&self) -> &str {
        match &self.sender {
            Sender::App { bot_user_id, .. } => bot_user_id,
            Sender::Slackbot => SLACKBOT_ID,
        }
    }

    /// Whether it replies in another message's thread (a thread's parent carries its own ts as `thread_ts`).
    pub fn is_reply(&self) -> bool {
        self.thread_ts.as_ref().is_some_and(|t| *t != self.ts)
    }
}

impl Conversation {
    /// A message by ts.
    pub fn message(&self, ts: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.ts == ts)
    }

    /// The replies in the thread of the message `ts`, oldest first.
    pub fn replies<'a>(&'a self, ts: &'a str) -> impl Iterator<Item = &'a Message> + 'a {
        self.messages
            .iter()
            .filter(move |m| m.is_reply() && m.thread_ts.as_deref() == Some(ts))
    }
}

/// The last change of an edited message.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Edited {
    /// The user who changed it (for the app: its bot user).
    pub user: String,
    /// When, a Slack ts.
    pub ts: String,
}

/// A message with the conversation it is in (see [`crate::SimHandle::messages_for_member`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MemberMessage {
    /// Conversation ID.
    pub conversation_id: String,
    /// Kind of conversation.
    pub kind: ConversationKind,
    /// Whether the conversation is hidden (app uninstalled).
    pub hidden: bool,
    /// The message.
    pub message: Message,
}

/// A token issued by the simulation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TokenRecord {
    /// The token (`xoxb-…`, or `xoxe.xoxb-…` with token rotation).
    pub token: String,
    /// Installation it belongs to.
    pub installation_id: String,
    /// Why it no longer works, if so.
    pub revoked: Option<TokenRevocation>,
    /// When it expires (simulation clock, Unix seconds): a rotating token; none for a token that never expires.
    #[serde(default)]
    pub expires_at: Option<f64>,
}

/// Why a token stopped working.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TokenRevocation {
    /// Revoked by `auth.revoke`: the token no longer exists (`invalid_auth`).
    AuthRevoke,
    /// The app was uninstalled (`token_revoked`).
    Uninstalled,
}

/// An installation of the app in the workspace.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Installation {
    /// Installation ID (simulation only).
    pub id: String,
    /// App ID.
    pub app_id: String,
    /// Team ID.
    pub team_id: String,
    /// Member who last installed it.
    pub installed_by: String,
    /// Bot scopes granted (sorted).
    pub scopes: Vec<String>,
    /// The bot's user ID.
    pub bot_user_id: String,
    /// The bot ID, `B…`.
    pub bot_id: String,
    /// The current bot token, if any (a fingerprint in what the pages and JSON show).
    pub bot_token: Option<String>,
    /// Whether the app is installed now.
    pub active: bool,
    /// Install time (simulation clock, Unix seconds).
    pub installed_at: i64,
    /// Uninstall time, if uninstalled.
    pub uninstalled_at: Option<i64>,
}

/// State of an app install request in a restricted workspace.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for an app manager.
    Pending,
    /// Approved.
    Approved,
    /// Denied.
    Denied,
}

/// An app install request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InstallRequest {
    /// Request ID.
    pub id: String,
    /// App ID.
    pub app_id: String,
    /// Requesting member.
    pub member_id: String,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// The member's message to the app managers.
    pub message: String,
    /// Status.
    pub status: RequestStatus,
    /// Creation time (simulation clock).
    pub created: i64,
    /// Who approved or denied it.
    pub decided_by: Option<String>,
    /// Why it was denied, as the app manager wrote it for the member (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One Web API call, as recorded by the simulation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ApiCall {
    /// Sequence number (from 1).
    pub seq: u64,
    /// API method, e.g. `chat.postMessage`.
    pub method: String,
    /// HTTP method.
    pub http_method: String,
    /// Parameters (query and body); tokens and codes as fingerprints, secrets hidden.
    pub params: serde_json::Map<String, Value>,
    /// Where the token came from: `header`, `param` (a body field), `query` (refused), `basic` or none.
    pub auth: Option<String>,
    /// Simulation time of the call, Unix seconds with fractions.
    pub time: f64,
    /// HTTP status answered (0 if the connection was dropped without an answer).
    pub status: u16,
    /// Body answered, if JSON (tokens as fingerprints).
    pub response: Option<Value>,
    /// Fault injected, if any.
    pub fault: Option<String>,
}

/// A fault to inject on a Web API method.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this HTTP status (e.g. 500, 503) and no Slack envelope.
    HttpStatus {
        /// HTTP status.
        status: u16,
        /// Number of calls affected (none: until cleared).
        #[serde(default)]
        count: Option<u32>,
    },
    /// Wait before answering normally.
    Delay {
        /// Milliseconds (real time).
        ms: u64,
        /// Number of calls affected (none: until cleared).
        #[serde(default)]
        count: Option<u32>,
    },
    /// Close the connection without answering, before doing anything.
    Drop {
        /// Number of calls affected (none: until cleared).
        #[serde(default)]
        count: Option<u32>,
    },
    /// Answer HTTP 429 `ratelimited` with this `Retry-After`.
    Ratelimited {
        /// Number of calls affected.
        count: u32,
        /// `Retry-After` seconds.
        #[serde(default = "one")]
        retry_after: u64,
    },
    /// Do the call (e.g. store the message), then close the connection without answering.
    LostAfterPost {
        /// Number of calls affected (none: until cleared).
        #[serde(default)]
        count: Option<u32>,
    },
    /// Answer HTTP 200 `{"ok":false,"error":error}`.
    SlackError {
        /// The error code, e.g. `account_inactive`, `fatal_error`.
        error: String,
        /// Number of calls affected (none: until cleared).
        #[serde(default)]
        count: Option<u32>,
    },
}

/// `Retry-After: 1` unless told.
fn one() -> u64 {
    1
}

impl Fault {
    /// How many more calls it applies to (`None`: until cleared).
    pub fn remaining(&self) -> Option<u32> {
        match self {
            Fault::HttpStatus { count, .. }
            | Fault::Delay { count, .. }
            | Fault::Drop { count }
            | Fault::LostAfterPost { count }
            | Fault::SlackError { count, .. } => *count,
            Fault::Ratelimited { count, .. } => Some(*count),
        }
    }

    /// Counts one call down (a fault without a count stays until cleared).
    pub(crate) fn decrement(&mut self) {
        match self {
            Fault::Ratelimited { count, .. }
            | Fault::HttpStatus {
                count: Some(count), ..
            }
            | Fault::Delay {
                count: Some(count), ..
            }
            | Fault::Drop { count: Some(count) }
            | Fault::LostAfterPost { count: Some(count) }
            | Fault::SlackError {
                count: Some(count), ..
            } => *count = count.saturating_sub(1),
            _ => {}
        }
    }

    /// A short label for the call log.
    pub fn label(&self) -> String {
        match self {
            Fault::HttpStatus { status, .. } => format!("http_status:{status}"),
            Fault::Delay { ms, .. } => format!("delay:{ms}ms"),
            Fault::Drop { .. } => "drop".into(),
            Fault::Ratelimited { retry_after, .. } => format!("ratelimited:{retry_after}s"),
            Fault::LostAfterPost { .. } => "lost_after_post".into(),
            Fault::SlackError { error, .. } => format!("slack_error:{error}"),
        }
    }
}

/// One outbound request from Slack to the app (an event or an interaction), and its answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    /// Sequence number (from 1).
    pub seq: u64,
    /// `event_callback:app_uninstalled`, `event_callback:tokens_revoked`, `block_actions`.
    pub kind: String,
    /// Target URL.
    pub url: String,
    /// Body sent.
    pub body: String,
    /// `X-Slack-Request-Timestamp` sent.
    pub timestamp: i64,
    /// `X-Slack-Signature` sent.
    pub signature: String,
    /// HTTP status answered, if any.
    pub status: Option<u16>,
    /// Transport error or timeout, if any.
    pub error: Option<String>,
    /// Real milliseconds until the answer (or the error).
    pub elapsed_ms: u64,
    /// For interactions: answered HTTP 200 within the ack deadline.
    pub acknowledged: bool,
}

/// A button click, and what came of it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Interaction {
    /// Member who clicked.
    pub member_id: String,
    /// Conversation.
    pub channel: String,
    /// Message ts.
    pub message_ts: String,
    /// The button's action_id.
    pub action_id: String,
    /// The button's url, opened in the web view, if any.
    pub url: Option<String>,
    /// The delivery of the `block_actions` payload, if the app has an interactivity URL.
    pub delivery: Option<Delivery>,
    /// Answered HTTP 200 within the ack deadline (else Slack shows the member a warning).
    pub acknowledged: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_members_locale_is_a_language_tag_and_en_us_by_default() {
        let member: Member = serde_json::from_value(serde_json::json!({
            "id": "U0NEW00001", "name": "n", "real_name": "N"
        }))
        .unwrap();
        assert_eq!(member.locale, "en-US");
        for ok in ["en-US", "fr-FR", "fr", "zh-Hant-TW", "es-419"] {
            assert!(looks_like_locale(ok), "{ok}");
        }
        for bad in ["", "f", "fr_FR", "fr-", "-FR", "1a-FR", "fr FR", "français"] {
            assert!(!looks_like_locale(bad), "{bad}");
        }
        let mut ws = Workspace::demo();
        ws.members[0].locale = "fr_FR".into();
        assert!(ws.validate().unwrap_err().to_string().contains("locale"));
    }
}
