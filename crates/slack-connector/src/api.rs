//! A small client of the Slack Web API, over any [`Transport`].
//!
//! It always addresses `https://slack.com/api/…`: the host decides where that really goes (Slack itself, or the
//! simulated Slack in local mode), never the connector's settings. Requests are form-encoded, which every method
//! used here accepts, except the messages (`chat.postMessage`, `chat.update`), sent as JSON, which Slack takes for
//! its write methods; answers are Slack's envelope (`ok`, `error`, …) and HTTP 429 with `Retry-After`. The HTTP types
//! and the [`Transport`] port are the SDK's (`connector-api`), re-exported here.

use crate::envelope::{self, Head};
use crate::render::blocks::Block;
pub use connector_api::{HttpRequest, HttpResponse, Method, Transport, TransportError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Where every Web API call goes.
pub const SLACK_API: &str = "https://slack.com/api/";
/// Slack's OAuth v2 consent page.
pub const SLACK_AUTHORIZE: &str = "https://slack.com/oauth/v2/authorize";

/// A failed Web API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackError {
    /// Slack answered `ok: false` with this error code.
    Api {
        /// Slack's error code, such as `users_not_found`.
        code: String,
        /// For `missing_scope`: the scope that was needed.
        needed: Option<String>,
    },
    /// HTTP 429: wait this many seconds.
    RateLimited {
        /// Seconds from `Retry-After` (1 when absent or unreadable).
        retry_after_secs: u64,
    },
    /// An HTTP status other than 200 or 429.
    Http(u16),
    /// No HTTP answer.
    Transport(TransportError),
    /// An answer that is not Slack's envelope.
    BadResponse(String),
    /// The history around an earlier attempt holds more messages than one page: whether it posted is not known.
    TooMuchHistory,
}

/// The failure code of a recipient handed back without any call for it (the pacer deferred the request): wait
/// `retry-after-ms`, it is not an attempt.
pub const PACED: &str = "paced";

impl SlackError {
    /// The error code, as the delivery log shows it.
    pub fn code(&self) -> String {
        match self {
            SlackError::Api { code, .. } => code.clone(),
            SlackError::RateLimited { .. } => "ratelimited".into(),
            SlackError::Http(status) => format!("http_{status}"),
            SlackError::Transport(TransportError::Denied(_)) => "request_denied".into(),
            SlackError::Transport(TransportError::Timeout(_)) => "timeout".into(),
            SlackError::Transport(TransportError::Connection(_)) => "connection_failed".into(),
            SlackError::Transport(TransportError::Deferred { .. }) => PACED.into(),
            SlackError::BadResponse(_) => "bad_response".into(),
            SlackError::TooMuchHistory => "too_much_history".into(),
        }
    }

    /// Whether the error means the integration's token no longer works.
    pub fn is_disconnection(&self) -> bool {
        matches!(self, SlackError::Api { code, .. }
            if matches!(code.as_str(), "token_revoked" | "invalid_auth" | "account_inactive" | "not_authed" | "token_expired"))
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            SlackError::Http(status) => *status >= 500,
            SlackError::TooMuchHistory => true,
            SlackError::Transport(TransportError::Timeout(_) | TransportError::Connection(_)) => {
                true
            }
            SlackError::Api { code, .. } => {
                matches!(
                    code.as_str(),
                    "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout"
                )
            }
            _ => false,
        }
    }
}

/// What Slack's error code means, in plain words (the code itself is kept apart, in [`SlackError::code`]).
fn plain_words(code: &str) -> &'static str {
    match code {
        "token_revoked" | "invalid_auth" | "account_inactive" | "not_authed" | "token_expired" => {
            "Slack no longer accepts the app's access (the app was removed from the workspace or its access was \
             revoked); an admin must activate the integration again"
        }
        "users_not_found" | "user_not_found" => "Slack has no member with this e-mail address",
        "channel_not_found" => "Slack could not find the app's conversation with this member",
        "thread_not_found" => "Slack no longer has the message this one answers",
        "message_not_found" => "Slack no longer has the message (it was deleted)",
        "cant_update_message" => "Slack does not let the app change this message",
        "edit_window_closed" => "the time Slack allows for changing this message has passed",
        "is_archived" => "the app's conversation with this member is archived",
        "msg_too_long" | "invalid_blocks" | "invalid_blocks_format" => {
            "Slack refused the message's content"
        }
        "restricted_action" | "not_allowed_token_type" | "ekm_access_denied" => {
            "the Slack workspace's settings do not let the app do this"
        }
        "cannot_dm_bot" => "this member is a bot, which the app cannot write to",
        "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
            "Slack had a temporary problem"
        }
        _ => "Slack refused the request",
    }
}

impl fmt::Display for SlackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlackError::Api {
                needed: Some(needed),
                ..
            } => {
                write!(
                    f,
                    "the app lacks a Slack permission it needs ({needed}); an admin must activate the integration \
                     again to grant it"
                )
            }
            SlackError::Api { code, .. } => f.write_str(plain_words(code)),
            SlackError::RateLimited { retry_after_secs } => {
                write!(
                    f,
                    "Slack asked to wait {retry_after_secs} s before trying again"
                )
            }
            SlackError::Http(status) if *status >= 500 => {
                write!(f, "Slack had a temporary problem (HTTP {status})")
            }
            SlackError::Http(status) => {
                write!(f, "Slack did not accept the request (HTTP {status})")
            }
            SlackError::Transport(e) => write!(f, "{e}"),
            SlackError::BadResponse(m) => write!(f, "Slack's answer could not be read: {m}"),
            SlackError::TooMuchHistory => write!(
                f,
                "the conversation holds more messages around the earlier attempt than one page of history shows"
            ),
        }
    }
}

/// Client credentials of the Slack app.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: String,
}

/// A member of the workspace, as much as the connector needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// `U…` id.
    pub id: String,
    /// The e-mail address from the profile, if the token may read it.
    pub email: Option<String>,
    /// Deactivated members are never matched.
    pub deleted: bool,
    /// Bots are never matched.
    pub is_bot: bool,
}

impl Member {
    /// Whether a learner may be reached through this member.
    pub fn is_reachable(&self) -> bool {
        !self.deleted && !self.is_bot && self.id != "USLACKBOT"
    }
}

/// The fields of a user object that make a [`Member`] (Slack sends many more, skipped).
#[derive(Deserialize)]
struct UserFields {
    id: Option<String>,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    is_bot: bool,
    profile: Option<ProfileFields>,
}

/// The fields read of a user's profile.
#[derive(Deserialize)]
struct ProfileFields {
    email: Option<String>,
}

impl UserFields {
    /// The member; `None` without an id.
    fn member(self) -> Option<Member> {
        Some(Member {
            id: self.id?,
            email: self.profile.and_then(|p| p.email),
            deleted: self.deleted,
            is_bot: self.is_bot,
        })
    }
}

/// The fields read of a `users.lookupByEmail` answer.
#[derive(Deserialize)]
struct LookedUp {
    user: Option<UserFields>,
}

/// The fields read of a `users.list` answer.
#[derive(Deserialize)]
struct UsersPage {
    #[serde(default)]
    members: Vec<UserFields>,
    response_metadata: Option<ResponseMetadata>,
}

/// Where the next page starts.
#[derive(Deserialize)]
struct ResponseMetadata {
    next_cursor: Option<String>,
}

/// The fields read of a `conversations.open` answer.
#[derive(Deserialize)]
struct Opened {
    channel: Option<Identified>,
}

/// An object read for its id.
#[derive(Deserialize)]
struct Identified {
    id: Option<String>,
}

/// The fields read of a `chat.postMessage` or `chat.update` answer (the message echoed back is skipped).
#[derive(Deserialize)]
struct MessageWhere {
    channel: Option<String>,
    ts: Option<String>,
}

/// What `oauth.v2.access` grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// The bot token `xoxb-…`.
    pub access_token: String,
    /// The granted scopes, comma-separated.
    pub scope: String,
    /// The workspace's id.
    pub team_id: String,
    /// The workspace's name.
    pub team_name: String,
    /// The bot user's id.
    pub bot_user_id: String,
    /// With Slack's token rotation on: how the token is renewed, and when it expires.
    pub rotation: Option<Rotation>,
}

/// A rotating token's renewal: the refresh token, and the access token's lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The token that renews it (single use: each renewal gives a new one).
    pub refresh_token: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
}

/// A renewed bot token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewed {
    /// The new bot token.
    pub access_token: String,
    /// Its renewal.
    pub rotation: Rotation,
}

/// The rotation fields of an `oauth.v2.access` answer, when it has them.
fn rotation(v: &Value) -> Option<Rotation> {
    Some(Rotation {
        refresh_token: v.get("refresh_token")?.as_str()?.to_string(),
        expires_in: v.get("expires_in")?.as_i64()?,
    })
}

/// A message to post.
#[derive(Debug, Clone)]
pub struct PostMessage<'a> {
    /// A `D…` conversation id.
    pub channel: &'a str,
    /// The fallback text, escaped for mrkdwn and posted with `mrkdwn: false`.
    pub text: &'a str,
    /// Block Kit blocks.
    pub blocks: &'a [Block],
    /// Sender name override.
    pub username: &'a str,
    /// Sender icon override.
    pub icon_url: Option<&'a str>,
    /// Message metadata `{event_type, event_payload}`, used to find the message again.
    pub metadata: Option<&'a Value>,
    /// The `ts` of the message to reply to, in its thread (`thread_ts`); `None` for a message of its own.
    pub thread_ts: Option<&'a str>,
}

/// A message to change with `chat.update`: its new text and blocks. The sender (name and icon) and the metadata it
/// was posted with stay (Slack keeps metadata a call leaves out). Serialised, it is the call's JSON body, its
/// `channel` first (as `PostBody`).
#[derive(Debug, Clone, Serialize)]
pub struct UpdateMessage<'a> {
    /// The conversation the message is in.
    pub channel: &'a str,
    /// The message's `ts`.
    pub ts: &'a str,
    /// The new fallback text, escaped for mrkdwn.
    pub text: &'a str,
    /// The new Block Kit blocks, in place of the old ones.
    pub blocks: &'a [Block],
}

/// The Slack Web API over a transport.
pub struct Slack<'t, T: Transport + ?Sized> {
    transport: &'t mut T,
}

impl<'t, T: Transport + ?Sized> Slack<'t, T> {
    /// A client that sends through `transport`.
    pub fn new(transport: &'t mut T) -> Self {
        Slack { transport }
    }

    /// Calls a method with form-encoded parameters and returns the envelope of a successful answer.
    pub fn call(
        &mut self,
        method: &str,
        token: Option<&str>,
        params: &[(&str, &str)],
        basic: Option<&ClientCredentials>,
    ) -> Result<Value, SlackError> {
        let response = self.send(method, token, params, basic)?;
        parse_envelope(&response)
    }

    /// Sends a method's request with form-encoded parameters and returns the answer as it came (headers included).
    pub fn send(
        &mut self,
        method: &str,
        token: Option<&str>,
        params: &[(&str, &str)],
        basic: Option<&ClientCredentials>,
    ) -> Result<HttpResponse, SlackError> {
        self.transport
            .send(request(method, token, params, basic))
            .map_err(SlackError::Transport)
    }

    /// Sends requests together ([`Transport::send_all`]): the fields `A` of each successful answer, in order.
    fn send_all<A: DeserializeOwned>(
        &mut self,
        requests: Vec<HttpRequest>,
    ) -> Vec<Result<A, SlackError>> {
        self.transport
            .send_all(requests)
            .into_iter()
            .map(answer_of)
            .collect()
    }

    /// `oauth.v2.access`: exchanges an authorization code for a bot token.
    pub fn oauth_v2_access(
        &mut self,
        creds: &ClientCredentials,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Installation, SlackError> {
        let v = self.call(
            "oauth.v2.access",
            None,
            &[
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("grant_type", "authorization_code"),
            ],
            Some(creds),
        )?;
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
        Ok(Installation {
            access_token: s("/access_token").ok_or_else(|| missing("access_token"))?,
            scope: s("/scope").unwrap_or_default(),
            team_id: s("/team/id").ok_or_else(|| missing("team.id"))?,
            team_name: s("/team/name").unwrap_or_default(),
            bot_user_id: s("/bot_user_id").unwrap_or_default(),
            rotation: rotation(&v),
        })
    }

    /// `oauth.v2.access` with `grant_type=refresh_token`: renews a rotating bot token.
    pub fn renew_token(
        &mut self,
        creds: &ClientCredentials,
        refresh_token: &str,
    ) -> Result<Renewed, SlackError> {
        let v = self.call(
            "oauth.v2.access",
            None,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
            Some(creds),
        )?;
        Ok(Renewed {
            access_token: v
                .get("access_token")
                .and_then(Value::as_str)
                .ok_or_else(|| missing("access_token"))?
                .to_string(),
            rotation: rotation(&v).ok_or_else(|| missing("refresh_token or expires_in"))?,
        })
    }

    /// `auth.test`: checks a token; returns the workspace's id and name.
    pub fn auth_test(&mut self, token: &str) -> Result<(String, String), SlackError> {
        let v = self.call("auth.test", Some(token), &[], None)?;
        let team_id = v
            .get("team_id")
            .and_then(Value::as_str)
            .ok_or_else(|| missing("team_id"))?;
        let team = v.get("team").and_then(Value::as_str).unwrap_or_default();
        Ok((team_id.to_string(), team.to_string()))
    }

    /// `apps.uninstall`: removes the app from the workspace.
    pub fn apps_uninstall(
        &mut self,
        token: &str,
        creds: &ClientCredentials,
    ) -> Result<(), SlackError> {
        self.call(
            "apps.uninstall",
            Some(token),
            &[
                ("client_id", &creds.client_id),
                ("client_secret", &creds.client_secret),
            ],
            None,
        )
        .map(drop)
    }

    /// `users.lookupByEmail`: the member with this e-mail address, or `None` when Slack has none.
    pub fn lookup_by_email(
        &mut self,
        token: &str,
        email: &str,
    ) -> Result<Option<Member>, SlackError> {
        let response = self.send(
            "users.lookupByEmail",
            Some(token),
            &[("email", email)],
            None,
        )?;
        match parse_answer::<LookedUp>(&response) {
            Ok(answer) => Ok(answer.user.and_then(UserFields::member)),
            Err(SlackError::Api { code, .. }) if code == "users_not_found" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `users.list`: one page of the directory and the next cursor (`None` on the last page). `meanwhile` runs
    /// once, while the request is in flight ([`Transport::send_overlapping`]).
    pub fn users_list(
        &mut self,
        token: &str,
        cursor: Option<&str>,
        limit: u32,
        meanwhile: &mut dyn FnMut(),
    ) -> Result<(Vec<Member>, Option<String>), SlackError> {
        let limit = limit.to_string();
        let mut params = vec![("limit", limit.as_str())];
        if let Some(cursor) = cursor {
            params.push(("cursor", cursor));
        }
        let response = self
            .transport
            .send_overlapping(request("users.list", Some(token), &params, None), meanwhile)
            .map_err(SlackError::Transport)?;
        let page: UsersPage = parse_answer(&response)?;
        let members = page
            .members
            .into_iter()
            .filter_map(UserFields::member)
            .collect();
        let next = page
            .response_metadata
            .and_then(|m| m.next_cursor)
            .filter(|c| !c.is_empty());
        Ok((members, next))
    }

    /// `conversations.open`: the app's direct-message conversation with a member (`D…`).
    pub fn open_dm(&mut self, token: &str, user_id: &str) -> Result<String, SlackError> {
        opened(self.transport.send(open_dm_request(token, user_id)))
    }

    /// `chat.postMessage`: posts a message and returns its `ts`.
    pub fn post_message(
        &mut self,
        token: &str,
        message: &PostMessage<'_>,
    ) -> Result<String, SlackError> {
        posted_ts(self.transport.send(post_request(token, message)))
    }

    /// `chat.update`: replaces a message's text and blocks; returns where the message is (Slack's `channel` and
    /// `ts`, which name the same message). `chat.update` takes no sender name or icon, and the metadata is left
    /// out, so that the message keeps those it was posted with.
    pub fn update_message(
        &mut self,
        token: &str,
        message: &UpdateMessage<'_>,
    ) -> Result<(String, String), SlackError> {
        only(self.update_messages(token, std::slice::from_ref(message)))
    }

    /// [`Self::update_message`] for several messages at once, the calls in flight together: one result per
    /// message, in order.
    pub fn update_messages(
        &mut self,
        token: &str,
        messages: &[UpdateMessage<'_>],
    ) -> Vec<Result<(String, String), SlackError>> {
        let requests = messages
            .iter()
            .map(|m| json_request("chat.update", token, m))
            .collect();
        self.send_all(requests)
            .into_iter()
            .zip(messages)
            .map(|(answer, message)| {
                let answer: MessageWhere = answer?;
                let field = |value: Option<String>, given: &str| {
                    value
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| given.to_string())
                };
                Ok((
                    field(answer.channel, message.channel),
                    field(answer.ts, message.ts),
                ))
            })
            .collect()
    }
}

/// The JSON body of a `chat.postMessage`, its `channel` first: the pacer reads that field alone
/// ([`crate::pacing::keys_of`]).
#[derive(Serialize)]
struct PostBody<'a> {
    channel: &'a str,
    text: &'a str,
    mrkdwn: bool,
    blocks: &'a [Block],
    username: &'a str,
    unfurl_links: bool,
    unfurl_media: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_ts: Option<&'a str>,
}

/// `conversations.open`'s request for the app's direct-message conversation with a member; [`opened`] reads the
/// answer.
pub fn open_dm_request(token: &str, user_id: &str) -> HttpRequest {
    request(
        "conversations.open",
        Some(token),
        &[("users", user_id)],
        None,
    )
}

/// The conversation (`D…`) of a `conversations.open` answer.
pub fn opened(answer: Result<HttpResponse, TransportError>) -> Result<String, SlackError> {
    answer_of::<Opened>(answer)?
        .channel
        .and_then(|c| c.id)
        .ok_or_else(|| missing("channel.id"))
}

/// `chat.postMessage`'s request for a message; [`posted_ts`] reads the answer.
pub fn post_request(token: &str, m: &PostMessage<'_>) -> HttpRequest {
    let body = PostBody {
        channel: m.channel,
        text: m.text,
        // The text is escaped plain text (`render::Rendered::text`): Slack reads its entities, no
        // formatting.
        mrkdwn: false,
        blocks: m.blocks,
        username: m.username,
        unfurl_links: false,
        unfurl_media: false,
        icon_url: m.icon_url,
        metadata: m.metadata,
        thread_ts: m.thread_ts,
    };
    json_request("chat.postMessage", token, &body)
}

/// The `ts` of a `chat.postMessage` answer.
pub fn posted_ts(answer: Result<HttpResponse, TransportError>) -> Result<String, SlackError> {
    answer_of::<MessageWhere>(answer)?
        .ts
        .ok_or_else(|| missing("ts"))
}

/// The fields `A` of a successful answer.
fn answer_of<A: DeserializeOwned>(
    answer: Result<HttpResponse, TransportError>,
) -> Result<A, SlackError> {
    answer
        .map_err(SlackError::Transport)
        .and_then(|response| parse_answer(&response))
}

/// The request of a Web API write method with a JSON body and a bot token. Slack takes JSON for its write methods
/// (with the token in the `Authorization` header); for a message it spares encoding the blocks' JSON once more as a
/// form field, which makes the body about a third larger.
fn json_request(method: &str, token: &str, body: &impl Serialize) -> HttpRequest {
    // A message's body is a few kilobytes: room for it at once, rather than growing (and copying) it from 128 bytes.
    let mut bytes = Vec::with_capacity(JSON_BODY_BYTES);
    serde_json::to_writer(&mut bytes, body).expect("strings and JSON values serialise");
    post(method, JSON, Some(token), None, bytes)
}

/// The room a JSON body starts with.
const JSON_BODY_BYTES: usize = 4096;

/// The content type of a JSON body.
const JSON: &str = "application/json; charset=utf-8";

/// Whether `request` has a JSON body ([`json_request`]), not a form.
pub(crate) fn is_json(request: &HttpRequest) -> bool {
    request.headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("content-type") && value.starts_with("application/json")
    })
}

/// The request of a Web API method with form-encoded parameters, a bot token or the app's credentials.
fn request(
    method: &str,
    token: Option<&str>,
    params: &[(&str, &str)],
    basic: Option<&ClientCredentials>,
) -> HttpRequest {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        form.append_pair(k, v);
    }
    post(
        method,
        "application/x-www-form-urlencoded",
        token,
        basic,
        form.finish().into_bytes(),
    )
}

/// A POST of `body` (of `content_type`) to the Web API method, with a bot token or the app's credentials.
fn post(
    method: &str,
    content_type: &str,
    token: Option<&str>,
    basic: Option<&ClientCredentials>,
    body: Vec<u8>,
) -> HttpRequest {
    let mut headers = vec![("content-type".to_string(), content_type.to_string())];
    if let Some(token) = token {
        headers.push(("authorization".into(), format!("Bearer {token}")));
    }
    if let Some(creds) = basic {
        let raw = format!("{}:{}", creds.client_id, creds.client_secret);
        headers.push((
            "authorization".into(),
            format!("Basic {}", base64(raw.as_bytes())),
        ));
    }
    HttpRequest {
        method: Method::Post,
        url: format!("{SLACK_API}{method}"),
        headers,
        body,
    }
}

/// The one result of a call made alone through a method that makes several.
fn only<R>(results: Vec<Result<R, SlackError>>) -> Result<R, SlackError> {
    results
        .into_iter()
        .next()
        .unwrap_or_else(|| Err(missing("answer")))
}

impl<'t, T: Transport + ?Sized> Slack<'t, T> {
    /// `conversations.history` with metadata: the `ts` of a message posted between `oldest` and `latest` (Unix
    /// seconds) whose metadata is `event_type` with `event_payload.delivery_id == delivery_id`, if any. Reads one page
    /// of [`HISTORY_PAGE`] messages (Slack gives an app outside its Marketplace one history call a minute): when the
    /// window holds more, and the message is not on the page, it answers [`SlackError::TooMuchHistory`] rather than
    /// guess.
    pub fn find_by_metadata(
        &mut self,
        token: &str,
        channel: &str,
        event_type: &str,
        delivery_id: &str,
        window: (i64, i64),
    ) -> Result<Option<String>, SlackError> {
        self.find_in_page(
            "conversations.history",
            token,
            &[("channel", channel)],
            event_type,
            delivery_id,
            window,
        )
    }

    /// `conversations.replies` with metadata: as [`Slack::find_by_metadata`], among the replies in the thread of the
    /// message `thread_ts` (Slack answers `thread_not_found` when the conversation no longer has that message).
    pub fn find_reply_by_metadata(
        &mut self,
        token: &str,
        channel: &str,
        thread_ts: &str,
        event_type: &str,
        delivery_id: &str,
        window: (i64, i64),
    ) -> Result<Option<String>, SlackError> {
        self.find_in_page(
            "conversations.replies",
            token,
            &[("channel", channel), ("ts", thread_ts)],
            event_type,
            delivery_id,
            window,
        )
    }

    /// One page of `method` (history or replies) between `oldest` and `latest`, with metadata: the `ts` of the
    /// delivery's message, if on the page; [`SlackError::TooMuchHistory`] when it is not and the window holds more.
    fn find_in_page(
        &mut self,
        method: &str,
        token: &str,
        target: &[(&str, &str)],
        event_type: &str,
        delivery_id: &str,
        (oldest, latest): (i64, i64),
    ) -> Result<Option<String>, SlackError> {
        let oldest = format!("{}.000000", oldest.max(0));
        let latest = format!("{}.000000", latest.max(0));
        let limit = HISTORY_PAGE.to_string();
        let mut params = target.to_vec();
        params.extend([
            ("limit", limit.as_str()),
            ("oldest", oldest.as_str()),
            ("latest", latest.as_str()),
            ("inclusive", "true"),
            ("include_all_metadata", "true"),
        ]);
        let v = self.call(method, Some(token), &params, None)?;
        let found = v
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|m| {
                m.pointer("/metadata/event_type").and_then(Value::as_str) == Some(event_type)
                    && m.pointer("/metadata/event_payload/delivery_id")
                        .and_then(Value::as_str)
                        == Some(delivery_id)
            });
        if let Some(m) = found {
            return Ok(m.get("ts").and_then(Value::as_str).map(str::to_string));
        }
        if v.get("has_more").and_then(Value::as_bool) == Some(true) {
            return Err(SlackError::TooMuchHistory);
        }
        Ok(None)
    }
}

/// Messages per page of history: since 2025, Slack gives apps outside the Marketplace at most 15 (and one page a
/// minute).
pub const HISTORY_PAGE: usize = 15;

fn missing(field: &str) -> SlackError {
    SlackError::BadResponse(format!("the answer has no {field}"))
}

/// Reads Slack's envelope: HTTP 429 → rate limited; other non-200 → HTTP error; `ok: false` → API error.
pub fn parse_envelope(response: &HttpResponse) -> Result<Value, SlackError> {
    parse_answer(response)
}

/// [`parse_envelope`], reading from a successful answer only the fields of `A` (a type that names the few fields a
/// caller needs): the rest is skipped, never built into a tree of values, which in a `chat.postMessage` answer (the
/// whole message echoed back) or a page of `users.list` is most of it. A successful answer is read in one pass
/// ([`envelope::read`]); any other is read again for its envelope alone.
pub fn parse_answer<A: DeserializeOwned>(response: &HttpResponse) -> Result<A, SlackError> {
    if response.status == 429 {
        let retry_after_secs = response
            .header("retry-after")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1);
        return Err(SlackError::RateLimited { retry_after_secs });
    }
    if response.status != 200 {
        return Err(SlackError::Http(response.status));
    }
    if let Ok((Head { ok: Some(true), .. }, answer)) = envelope::read(&response.body) {
        return Ok(answer);
    }
    let head: Head = serde_json::from_slice(&response.body)
        .map_err(|e| SlackError::BadResponse(format!("not JSON: {e}")))?;
    match head.ok {
        Some(true) => serde_json::from_slice(&response.body)
            .map_err(|e| SlackError::BadResponse(format!("unexpected answer: {e}"))),
        Some(false) => Err(SlackError::Api {
            code: head.error.unwrap_or_else(|| "unknown_error".into()),
            needed: head.needed,
        }),
        None => Err(SlackError::BadResponse("no `ok` field".into())),
    }
}

/// Standard base64 with padding, for HTTP Basic auth.
fn base64(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn envelope_errors_are_classified() {
        let e = parse_envelope(&response(
            429,
            &[("Retry-After", "7")],
            "{\"ok\":false,\"error\":\"ratelimited\"}",
        ))
        .unwrap_err();
        assert_eq!(
            e,
            SlackError::RateLimited {
                retry_after_secs: 7
            }
        );
        let e = parse_envelope(&response(
            200,
            &[],
            "{\"ok\":false,\"error\":\"token_revoked\"}",
        ))
        .unwrap_err();
        assert!(e.is_disconnection());
        assert!(!e.is_transient());
        let e = parse_envelope(&response(503, &[], "")).unwrap_err();
        assert!(e.is_transient());
        assert_eq!(e.code(), "http_503");
        let e = parse_envelope(&response(200, &[], "<html>")).unwrap_err();
        assert!(matches!(e, SlackError::BadResponse(_)));
        let e = parse_envelope(&response(
            200,
            &[],
            "{\"ok\":false,\"error\":\"missing_scope\",\"needed\":\"im:write\",\"provided\":\"chat:write\"}",
        ))
        .unwrap_err();
        assert_eq!(e.code(), "missing_scope");
        assert_eq!(
            e.to_string(),
            "the app lacks a Slack permission it needs (im:write); an admin must activate the integration again to \
             grant it",
            "plain words; the code is kept apart"
        );
        let e = parse_envelope(&response(
            200,
            &[],
            "{\"ok\":false,\"error\":\"invalid_auth\"}",
        ))
        .unwrap_err();
        assert!(!e.to_string().contains("invalid_auth"), "{e}");
    }

    #[test]
    fn deleted_members_and_bots_are_not_reachable() {
        let m = |deleted, is_bot| Member {
            id: "U1".into(),
            email: None,
            deleted,
            is_bot,
        };
        assert!(m(false, false).is_reachable());
        assert!(!m(true, false).is_reachable());
        assert!(!m(false, true).is_reachable());
    }
}
