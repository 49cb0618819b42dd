//! Plain Rust mirrors of the WIT contract's records and variants (`lms:connector/types@0.1.0`), with the same field
//! names, so that a connector's logic compiles and is tested natively. On `wasm32` each converts to and from its
//! generated binding with `From`.

/// An instant, in whole seconds since 1970-01-01T00:00:00Z.
pub type UnixSeconds = i64;

/// A user of the LMS directory, as the connector may see them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// The LMS's stable identifier of the user.
    pub id: String,
    /// The user's e-mail address, as entered in the LMS (not normalised).
    pub email: String,
    /// The name shown for the user in the LMS.
    pub display_name: String,
    /// A BCP 47 language tag such as `fr-FR` or `en`.
    pub locale: String,
    /// An IANA time zone such as `Europe/Paris`.
    pub time_zone: String,
}

/// One page of the LMS directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserPage {
    /// The users of this page, in a stable order.
    pub users: Vec<User>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// What a notification is about; it decides which of a learner's preferences apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// The learner was assigned (invited) to a path or course session.
    SessionAssignment,
    /// Information about a path or course session the learner is enrolled in.
    SessionInformation,
    /// A "Slack message" step of a path, scheduled by its author.
    PathStep,
    /// A reminder that a session the learner was invited to starts soon (contract 0.3.0).
    SessionReminder,
}

/// The session a notification is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Session {
    /// The LMS's identifier of the session.
    pub id: String,
    /// The session's title.
    pub title: String,
    /// The session's description, plain text, any length.
    pub description: String,
    /// The URL of the session's cover image.
    pub cover_image_url: Option<String>,
    /// Whether the cover is the platform's default image (which is never sent).
    pub cover_is_default: bool,
    /// When the session starts.
    pub starts_at: UnixSeconds,
    /// When the session ends.
    pub ends_at: UnixSeconds,
    /// The URL that opens the session in the LMS.
    pub url: String,
}

/// The platform group on whose behalf messages are sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlatformGroup {
    /// The group's name, used as the sender's name.
    pub name: String,
    /// The URL of the group's logo, used as the sender's icon.
    pub logo_url: Option<String>,
}

/// A notification to deliver to one or more recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The LMS's identifier of the notification; with a recipient's id it identifies one delivery.
    pub id: String,
    /// What the notification is about.
    pub kind: NotificationKind,
    /// The title: the subject of the e-mail sent for the same notification.
    pub title: String,
    /// The session it is about, if any (a path step may have none).
    pub session: Option<Session>,
    /// The author's own text, for path steps.
    pub body: Option<String>,
    /// The sender: the platform group.
    pub group: PlatformGroup,
}

/// One recipient of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recipient {
    /// The LMS user.
    pub user: User,
    /// The host's identifier of this (notification, recipient) delivery; stable across retries.
    pub delivery_id: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// Set when an earlier attempt may have delivered without the host learning it (the host was killed, or the
    /// request failed in a way that leaves it unknown whether the service acted): the instant, by the host's clock,
    /// at which that attempt said it was posting ([`crate::Progress::posting`]). The connector must look for a
    /// message of this delivery posted since then (allowing for clock skew) before posting again. `None`: nothing
    /// can have been delivered yet; post at once, without looking.
    pub earlier_post: Option<UnixSeconds>,
    /// The message this one answers (a reminder: the invitation it recalls), to be shown as a reply to it where the
    /// service can (Slack: in its thread); the earlier message looked for then is in that thread. `None`: a message
    /// of its own.
    pub reply_to: Option<MessageRef>,
}

/// Where a message the connector sent earlier is: the `conversation` and `message_id` of its [`Sent`] outcome.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageRef {
    /// The conversation the message was posted to.
    pub conversation: String,
    /// The message's identifier within the conversation.
    pub message_id: String,
}

/// What a session's update is ([`crate::Connector::update`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionChange {
    /// Its title, description, cover or dates changed.
    Edited,
    /// It was cancelled: nothing more is sent for it, and its invitation no longer invites.
    Cancelled,
}

/// One message to update ([`crate::Connector::update`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageUpdate {
    /// Its recipient (with no `reply_to` nor `earlier_post`: an update is made in place, and making it twice changes
    /// nothing).
    pub recipient: Recipient,
    /// The message, as its [`Sent`] outcome located it.
    pub message: MessageRef,
    /// The session as this message first showed it, so that what changed since can be shown beside the new values.
    pub first_shown: Session,
}

/// Why a recipient was deliberately not sent anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// No active member of the workspace has the recipient's e-mail address.
    NoAccount,
    /// The connector is not active on this platform; the text says why.
    Inactive(String),
}

/// How a failure should be treated by the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// Retrying cannot help (a refused request, a bad recipient).
    Permanent,
    /// Retrying later may help (5xx, time-out, dropped connection).
    Transient,
    /// The service asked us to slow down; see [`Failure::retry_after_ms`].
    RateLimited,
    /// The integration's credentials no longer work; the integration is disconnected.
    Disconnected,
}

/// A failed delivery, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// How the host should treat it.
    pub kind: FailureKind,
    /// A short machine-readable code, such as the service's error code.
    pub code: String,
    /// A sentence an admin understands.
    pub message: String,
    /// For [`FailureKind::RateLimited`]: how long to wait before the next attempt.
    pub retry_after_ms: Option<u64>,
}

impl Failure {
    /// A failure of this kind, code and message, with no delay.
    pub fn new(kind: FailureKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            kind,
            code: code.into(),
            message: message.into(),
            retry_after_ms: None,
        }
    }
}

/// Where a sent message landed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sent {
    /// The conversation the message was posted to.
    pub conversation: String,
    /// The message's identifier within the conversation.
    pub message_id: String,
    /// Whether the message had been sent by an earlier attempt and was found rather than posted again.
    pub already_sent: bool,
}

/// What happened to one recipient of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The message was delivered.
    Sent(Sent),
    /// Nothing was sent, deliberately.
    Skipped(SkipReason),
    /// Sending failed.
    Failed(Failure),
}

/// The outcome for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// The delivery this is about (the recipient's `delivery_id`).
    pub delivery_id: String,
    /// What happened.
    pub outcome: Outcome,
}

impl DeliveryOutcome {
    /// The same failure for every recipient, in their order.
    pub fn fail_all(recipients: Vec<Recipient>, failure: Failure) -> Vec<DeliveryOutcome> {
        recipients
            .into_iter()
            .map(|r| DeliveryOutcome {
                delivery_id: r.delivery_id,
                outcome: Outcome::Failed(failure.clone()),
            })
            .collect()
    }
}

/// An error of a connector operation other than delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorError {
    /// A short machine-readable code.
    pub code: String,
    /// A sentence an admin understands.
    pub message: String,
}

impl ConnectorError {
    /// An error with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ConnectorError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ConnectorError {}

/// A setting or secret the connector uses, as it describes itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingSpec {
    /// The key.
    pub key: String,
    /// Whether it is a secret.
    pub secret: bool,
    /// What it is for.
    pub description: String,
}

/// What the connector says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectorInfo {
    /// A stable identifier, such as `slack`.
    pub id: String,
    /// The name shown on the connector's tile.
    pub name: String,
    /// The connector's version.
    pub version: String,
    /// The origins (scheme, host, port and path prefix) it calls.
    pub outbound_origins: Vec<String>,
    /// The settings and secrets it reads.
    pub settings: Vec<SettingSpec>,
}

impl ConnectorInfo {
    /// A connector that calls no origin and reads no setting: an id, a name and a version.
    pub fn named(id: &str, name: &str, version: &str) -> Self {
        ConnectorInfo {
            id: id.into(),
            name: name.into(),
            version: version.into(),
            ..ConnectorInfo::default()
        }
    }
}

/// The admin's request to activate the integration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActivationRequest {
    /// Where the service should send the admin back to.
    pub redirect_uri: String,
    /// A single-use anti-CSRF value that must come back unchanged in the callback.
    pub state: String,
}

/// The workspace an integration is connected to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Workspace {
    /// The workspace's identifier.
    pub id: String,
    /// The workspace's name.
    pub name: String,
}

/// The service's answer to an activation callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivationResult {
    /// The integration is active with this workspace.
    Active(Workspace),
    /// The admin could only request the app; an app manager must approve it.
    ApprovalRequested(String),
}

/// The integration's state as the connector knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IntegrationState {
    /// Never activated, or deactivated.
    #[default]
    Inactive,
    /// Connected to this workspace.
    Active(Workspace),
    /// Credentials stopped working; the text says why.
    Disconnected(String),
}

/// An HTTP request that the messaging service sent to the platform (events, interactivity).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboundRequest {
    /// The route it arrived on, such as `events` or `interactivity`.
    pub route: String,
    /// Its headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Its body, as received.
    pub body: Vec<u8>,
    /// When the host received it.
    pub received_at: UnixSeconds,
}

/// The answer to an inbound request, and what it changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboundResponse {
    /// HTTP status.
    pub status: u16,
    /// Content type of `body`.
    pub content_type: String,
    /// Response body.
    pub body: Vec<u8>,
    /// The integration's state after the request, when it changed.
    pub new_state: Option<IntegrationState>,
}

impl InboundResponse {
    /// An empty `404` answer (`text/plain`) that changes nothing: what a connector answers on a route it does not
    /// serve.
    pub fn not_found() -> Self {
        InboundResponse {
            status: 404,
            content_type: "text/plain".into(),
            body: Vec::new(),
            new_state: None,
        }
    }
}
