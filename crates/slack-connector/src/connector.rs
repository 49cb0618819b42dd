//! The integration's life: activation, delivery, updates of sent messages, deactivation, status and inbound
//! requests, over the host's settings and log and any [`Transport`]. The ports and the contract's types are the SDK's
//! (`connector-api`), re-exported here; [`crate::SlackConnector`] exposes this as the SDK's `Connector`.

use crate::api::{
    self, ClientCredentials, HttpRequest, HttpResponse, Member, PostMessage, Rotation, SLACK_API,
    SLACK_AUTHORIZE, Slack, SlackError, Transport, TransportError, UpdateMessage,
};
use crate::directory::{Directory, Entry, LIST_THRESHOLD};
use crate::model::{MessageUpdate, Notification, SessionChange};
use crate::pacing::{self, Clock, Paced, Pacer, SystemClock};
use crate::render;
use connector_api::{ConnectorInfo, SettingSpec, Window};
use serde_json::{Value, json};
use std::collections::{HashSet, VecDeque};

/// The scopes the connector asks for, and why:
/// `chat:write` to post, `chat:write.customize` to post as the platform group, `im:write` to open the app's DM,
/// `users:read` and `users:read.email` to match learners by e-mail.
/// `im:history` to find, after a lost answer, whether a message (or a reply in a thread) already went out (Slack has
/// no idempotency key). `chat:write` also covers `chat.update` of the app's own messages.
pub const SCOPES: &[&str] = &[
    "chat:write",
    "chat:write.customize",
    "im:write",
    "im:history",
    "users:read",
    "users:read.email",
];

/// The metadata event type that marks every message with its delivery id.
pub const DELIVERY_EVENT: &str = "lms_delivery";

pub use crate::stored::{keys, normalise_email, secrets};

pub use connector_api::{
    ActivationResult, ConnectorError, DeliveryOutcome, Failure, FailureKind, InboundRequest,
    InboundResponse, IntegrationState, Level, Log, Outcome, Progress, Recipient, Sent, Settings,
    SkipReason, Unreported, Workspace,
};

/// How far around the host's `earlier_post` instant an earlier attempt's message is looked for: the host's clock and
/// Slack's may disagree by this much, and the post may have been answered this long after it was announced.
pub const CLOCK_SKEW_SECS: i64 = 120;

/// The error of a connector operation from a failed Web API call: Slack's code, and `context` with Slack's answer.
fn slack_error(context: &str, e: &SlackError) -> ConnectorError {
    ConnectorError::new(e.code(), format!("{context}: {e}"))
}

/// The delivery failure of a failed Web API call, classified for the host.
fn failure(context: &str, e: &SlackError) -> Failure {
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
    Failure {
        kind,
        code: e.code(),
        message: format!("{context}: {e}"),
        retry_after_ms,
    }
}

/// A recipient's delivery stopped before a call that the pacing held back: wait this many milliseconds.
#[derive(Debug, Clone, Copy)]
struct HeldBack(u64);

/// The outcome of a recipient whose delivery failed with `e`, or [`HeldBack`] when the pacing held the call back.
fn failed(context: &str, e: SlackError) -> Result<Outcome, HeldBack> {
    match e {
        SlackError::Transport(TransportError::Deferred { retry_after_ms }) => {
            Err(HeldBack(retry_after_ms))
        }
        e => Ok(Outcome::Failed(failure(context, &e))),
    }
}

/// How long before a rotating bot token expires it is renewed, as Slack's SDKs do (two hours; tokens live twelve).
pub const RENEW_BEFORE_SECS: i64 = 2 * 60 * 60;

/// Whether `outcome` failed because the bot token expired (a rotating token renewed too late, or clocks apart).
fn token_expired(outcome: &Result<Outcome, HeldBack>) -> bool {
    matches!(outcome, Ok(Outcome::Failed(f)) if f.code == "token_expired")
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

impl Description {
    /// The description as the contract's `connector-info`.
    pub fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            id: self.id.into(),
            name: self.name.into(),
            version: self.version.into(),
            outbound_origins: self
                .outbound_origins
                .iter()
                .map(|o| o.to_string())
                .collect(),
            settings: self
                .settings
                .iter()
                .map(|(key, secret, description)| SettingSpec {
                    key: key.to_string(),
                    secret: *secret,
                    description: description.to_string(),
                })
                .collect(),
        }
    }
}

/// The connector's self-description.
pub const DESCRIPTION: Description = Description {
    id: "slack",
    name: "Slack",
    version: env!("CARGO_PKG_VERSION"),
    outbound_origins: &[SLACK_API],
    settings: &[
        (keys::CLIENT_ID, false, "The Slack app's client id."),
        (
            secrets::CLIENT_SECRET,
            true,
            "The Slack app's client secret, for the OAuth code exchange and uninstall.",
        ),
        (
            secrets::SIGNING_SECRET,
            true,
            "The Slack app's signing secret, to verify requests from Slack.",
        ),
        (
            secrets::BOT_TOKEN,
            true,
            "The bot token of the installation (written by the connector).",
        ),
        (
            keys::DIRECTORY_MAX_AGE,
            false,
            "How long, in seconds, the e-mail to Slack member map is trusted (a day by default).",
        ),
        (
            crate::pacing::SCALE_KEY,
            false,
            "How much faster than Slack's limits to pace calls (`off` for none; 1 by default).",
        ),
        (
            crate::pacing::SHARE_KEY,
            false,
            "The fraction of the workspace's limits this platform may use, when several share one workspace (1 by default).",
        ),
        (
            crate::pacing::BUDGET_KEY,
            false,
            "How long, in milliseconds, one batch may wait for the pace (2000 by default).",
        ),
        (
            crate::pacing::IN_FLIGHT_KEY,
            false,
            "How many requests to Slack a batch may have in flight at once, at most the host's grant (8 by default).",
        ),
    ],
};

/// The connector over the host's settings, log and transport.
pub struct Connector<'a, S: Settings + ?Sized, L: Log + ?Sized, T: Transport + ?Sized> {
    settings: &'a mut S,
    log: &'a mut L,
    transport: &'a mut T,
    now: i64,
    /// The workspace's id, read once for a delivery or an update (its caches are keyed by it); `None`: read from
    /// the settings each time, as activation may change it.
    team: Option<String>,
}

impl<'a, S: Settings + ?Sized, L: Log + ?Sized, T: Transport + ?Sized> Connector<'a, S, L, T> {
    /// A connector over these host services, at `now` (Unix seconds).
    pub fn new(settings: &'a mut S, log: &'a mut L, transport: &'a mut T, now: i64) -> Self {
        Connector {
            settings,
            log,
            transport,
            now,
            team: None,
        }
    }

    fn credentials(&self) -> Result<ClientCredentials, ConnectorError> {
        let client_id = self.settings.get(keys::CLIENT_ID).filter(|v| !v.is_empty());
        let client_secret = self
            .settings
            .get_secret(secrets::CLIENT_SECRET)
            .filter(|v| !v.is_empty());
        match (client_id, client_secret) {
            (Some(client_id), Some(client_secret)) => Ok(ClientCredentials {
                client_id,
                client_secret,
            }),
            _ => Err(ConnectorError::new(
                "not_configured",
                "The Slack app's client id and client secret are not configured for this platform.",
            )),
        }
    }

    /// The URL of Slack's consent page for this activation; remembers `state` and `redirect_uri` for the callback.
    pub fn start_activation(
        &mut self,
        redirect_uri: &str,
        state: &str,
    ) -> Result<String, ConnectorError> {
        if state.len() < 16 {
            return Err(ConnectorError::new(
                "bad_state",
                "The activation state is too short to be unguessable.",
            ));
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
    pub fn complete_activation(
        &mut self,
        query: &[(String, String)],
    ) -> Result<ActivationResult, ConnectorError> {
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let expected_state = self.settings.get(keys::PENDING_STATE);
        let redirect_uri = self
            .settings
            .get(keys::PENDING_REDIRECT)
            .unwrap_or_default();
        // The state is single-use: forget it whatever happens next.
        self.settings.remove(keys::PENDING_STATE);
        self.settings.remove(keys::PENDING_REDIRECT);
        match (expected_state.as_deref(), param("state")) {
            (Some(expected), Some(got))
                if constant_time_eq(expected.as_bytes(), got.as_bytes()) => {}
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
                other => {
                    ConnectorError::new(other, format!("Slack refused the installation: {other}."))
                }
            });
        }
        let code = param("code").filter(|c| !c.is_empty()).ok_or_else(|| {
            ConnectorError::new("no_code", "Slack's answer carries no authorization code.")
        })?;
        let creds = self.credentials()?;
        let mut slack = Slack::new(self.transport);
        let installation = slack.oauth_v2_access(&creds, code, &redirect_uri).map_err(|e| match &e {
            SlackError::Api { code, .. } if code == "invalid_code" || code == "code_already_used" => {
                ConnectorError::new(code, "Slack's authorization code expired or was already used. Click ACTIVATE again.")
            }
            _ => slack_error("Exchanging the authorization code failed", &e),
        })?;
        let (team_id, team_name) = slack
            .auth_test(&installation.access_token)
            .map_err(|e| slack_error("Slack did not accept the new token", &e))?;
        if team_id != installation.team_id {
            return Err(ConnectorError::new(
                "team_mismatch",
                "Slack's token belongs to another workspace.",
            ));
        }
        let name = if team_name.is_empty() {
            installation.team_name.clone()
        } else {
            team_name
        };
        self.settings
            .set_secret(secrets::BOT_TOKEN, &installation.access_token)
            .map_err(|e| ConnectorError::new("storage", e))?;
        self.keep_rotation(installation.rotation.as_ref())
            .map_err(|e| ConnectorError::new("storage", e))?;
        self.save(keys::TEAM_ID, &team_id)?;
        self.save(keys::TEAM_NAME, &name)?;
        self.settings.remove(keys::DISCONNECTED);
        self.log.write(
            Level::Info,
            &format!("activated with workspace {name} ({team_id})"),
        );
        Ok(ActivationResult::Active(Workspace { id: team_id, name }))
    }

    /// Uninstalls the app from the workspace and forgets the token. The cached DMs stay: messages are not deleted in
    /// Slack, and reactivating with the same workspace continues the same conversations.
    pub fn deactivate(&mut self) -> Result<(), ConnectorError> {
        if let Some(token) = self.settings.get_secret(secrets::BOT_TOKEN) {
            let creds = self.credentials()?;
            // Forgotten before Slack is asked: the `app_uninstalled` and `tokens_revoked` events Slack sends while it
            // uninstalls then find no token, and do not turn the integration Disconnected behind the admin's back.
            self.settings.remove_secret(secrets::BOT_TOKEN);
            match Slack::new(self.transport).apps_uninstall(&token, &creds) {
                Ok(()) => {}
                // Already gone on Slack's side: nothing left to uninstall.
                Err(e) if e.is_disconnection() => {}
                Err(e) => {
                    // Still installed: keep the token, so that the admin can try again.
                    let _ = self.settings.set_secret(secrets::BOT_TOKEN, &token);
                    return Err(slack_error("Slack did not uninstall the app", &e));
                }
            }
        }
        self.settings.remove_secret(secrets::BOT_TOKEN);
        self.forget_rotation();
        self.settings.remove(keys::DISCONNECTED);
        self.log.write(Level::Info, "deactivated");
        Ok(())
    }

    /// The integration's state.
    pub fn status(&self) -> IntegrationState {
        if let Some(reason) = self.settings.get(keys::DISCONNECTED) {
            return IntegrationState::Disconnected(reason);
        }
        match (
            self.settings.get_secret(secrets::BOT_TOKEN),
            self.settings.get(keys::TEAM_ID),
        ) {
            (Some(_), Some(id)) => IntegrationState::Active(Workspace {
                id,
                name: self.settings.get(keys::TEAM_NAME).unwrap_or_default(),
            }),
            _ => IntegrationState::Inactive,
        }
    }

    /// Delivers a notification: one outcome per recipient, in order. Every call to Slack is paced by the persisted
    /// buckets of [`crate::pacing`]; recipients that do not fit in the batch's time budget come back as
    /// [`pacing::PACED`] failures (rate-limited, no call made) for the host to hand over again after the wait.
    ///
    /// The batch keeps a window of requests in flight ([`pacing::IN_FLIGHT_KEY`]): a recipient's post goes as soon as
    /// their DM is known, the next recipient's first request as soon as an answer frees a place. Each recipient is
    /// reported to `progress` as it goes: `posting` with the next handful (as many as the window) before the first of
    /// them goes, its outcome as soon as it is known.
    ///
    /// A recipient with `reply_to` (a reminder) is answered in the thread of that message, in that message's
    /// conversation: the learner is not looked up and no conversation is opened.
    pub fn deliver(
        &mut self,
        notification: &Notification,
        recipients: &[Recipient],
        progress: &mut impl Progress,
    ) -> Vec<(String, Outcome)> {
        self.paced(|c| c.deliver_paced(notification, recipients, progress))
    }

    /// Changes messages sent earlier about `notification`'s session (`chat.update`), each re-rendered for its
    /// recipient as the session is now ([`render::render_update`]): one outcome per message, in order, `Sent` with
    /// the message's place when it was changed. Paced and reported to `progress` as [`Connector::deliver`] is
    /// (`posting` just before each `chat.update`), and stopped in the same way by a disconnection or the pacing.
    pub fn update(
        &mut self,
        notification: &Notification,
        change: SessionChange,
        messages: &[MessageUpdate],
        progress: &mut impl Progress,
    ) -> Vec<(String, Outcome)> {
        self.paced(|c| c.update_paced(notification, change, messages, progress))
    }

    /// Runs `f` on this connector over a transport paced by the buckets persisted in the settings, with the
    /// workspace's id read once.
    fn paced<R>(
        &mut self,
        f: impl FnOnce(&mut Connector<'_, S, L, Paced<'_, T, SystemClock>>) -> R,
    ) -> R {
        let mut clock = SystemClock;
        let started = clock.now_ms();
        let pacer = Pacer::load(&*self.settings, started);
        let mut paced = Paced::new(&mut *self.transport, pacer, clock);
        let team = self.settings.get(keys::TEAM_ID);
        let mut inner = Connector {
            settings: &mut *self.settings,
            log: &mut *self.log,
            transport: &mut paced,
            now: self.now,
            team,
        };
        f(&mut inner)
    }

    /// Delivers to recipients with up to `in_flight` requests in flight at once
    /// ([`Transport::send_window`]): first where each message goes ([`Self::destinations`]); then every DM not in
    /// the cache is opened and every message posted (announced to `progress` a handful at a time), each post sent as
    /// soon as its DM is known and each outcome reported as soon as Slack answered ([`Deliveries`]); last, the posts
    /// to DMs Slack no longer has are sent again, alone. One result per recipient, in order; a recipient whose call
    /// the pacing held back is [`HeldBack`].
    fn deliver_group(
        &mut self,
        token: &str,
        notification: &Notification,
        recipients: &[Recipient],
        in_flight: usize,
        progress: &mut impl Progress,
    ) -> Vec<Result<Outcome, HeldBack>> {
        let team = self.team();
        let stages = self
            .destinations(token, recipients)
            .into_iter()
            .map(Stage::Ahead)
            .collect();
        let mut work = Deliveries {
            token,
            notification,
            recipients,
            team: &team,
            settings: &mut *self.settings,
            progress: &mut *progress,
            stages,
            ahead: 0,
            ready: VecDeque::new(),
            announced: vec![false; recipients.len()],
            opened: Vec::new(),
            window: in_flight.max(1),
            stop: None,
        };
        self.transport.send_window(in_flight, &mut work);
        work.cache_opened();
        let Deliveries { stages, stop, .. } = work;
        let disconnected = matches!(&stop, Some(Ok(Outcome::Failed(_))));
        stages
            .into_iter()
            .zip(recipients)
            .map(|(stage, recipient)| match stage {
                Stage::Ended(outcome) => outcome,
                Stage::Again(member) if !disconnected => {
                    let message = Message::of(notification, recipient);
                    self.post_again(token, notification, recipient, &member, &message, progress)
                }
                // Not reached: the window stopped before it.
                _ => stop.clone().unwrap_or(Err(HeldBack(1))),
            })
            .collect()
    }

    /// Where each recipient's message goes, one recipient after the other ([`Self::destination`]); a recipient with
    /// an earlier attempt has its DM opened (if not in the cache) and looked in for that attempt's message first
    /// ([`Self::earlier_message`]). Once a call was held back or the token no longer works, the recipients after it
    /// are not looked at: they end as that one did.
    fn destinations(&mut self, token: &str, recipients: &[Recipient]) -> Vec<Step> {
        let mut steps = Vec::with_capacity(recipients.len());
        let mut stop: Option<Result<Outcome, HeldBack>> = None;
        for recipient in recipients {
            let step = match &stop {
                Some(outcome) => Step::Done(outcome.clone()),
                None => {
                    let step = self.destination(token, recipient);
                    match recipient.earlier_post {
                        Some(since) => self.unless_sent(token, recipient, step, since),
                        None => step,
                    }
                }
            };
            if let Step::Done(outcome) = &step
                && ends_the_batch(outcome)
            {
                stop = Some(outcome.clone());
            }
            steps.push(step);
        }
        steps
    }

    /// `step` for a recipient whose earlier attempt (announced at `since`) may have posted: its DM opened if it
    /// is not in the cache, then looked in for that attempt's message ([`Self::earlier_message`]); done when found.
    fn unless_sent(&mut self, token: &str, recipient: &Recipient, step: Step, since: i64) -> Step {
        let post = match step {
            Step::Open(member) => match self.dm_for(token, &member) {
                Ok(channel) => Post {
                    channel,
                    member: Some(member),
                },
                Err(e) => return Step::Done(failed("Opening the app's conversation failed", e)),
            },
            Step::Post(post) => post,
            done @ Step::Done(_) => return done,
        };
        match self.earlier_message(token, &post.channel, recipient, since) {
            Some(found) => Step::Done(found),
            None => Step::Post(post),
        }
    }

    /// Where `recipient`'s message goes: a reply in the thread, in the conversation given; else the member's DM,
    /// from the cache or to be opened. Done when the learner has no reachable account or the lookup failed.
    fn destination(&mut self, token: &str, recipient: &Recipient) -> Step {
        if let Some(to) = &recipient.reply_to {
            // Nothing to look up or open.
            return Step::Post(Post {
                channel: to.conversation.clone(),
                member: None,
            });
        }
        let member = match self.member_for(token, &recipient.user.email) {
            Ok(Some(member)) => member,
            Ok(None) => return Step::Done(Ok(Outcome::Skipped(SkipReason::NoAccount))),
            Err(e) => return Step::Done(failed("Looking up the learner in Slack failed", e)),
        };
        let key = self.cache_key(keys::DM_PREFIX, &member.id);
        match self.settings.get(&key) {
            Some(channel) => Step::Post(Post {
                channel,
                member: Some(member),
            }),
            None => Step::Open(member),
        }
    }

    /// An earlier attempt (announced at `since`) may have posted and lost the answer (a crash, a time-out, a
    /// dropped connection): Slack has no idempotency key, so look for the message's metadata, since that attempt,
    /// before posting again (in the thread, for a reply). `None`: not found, post. Only then: history costs a call a
    /// minute for an app outside the Marketplace.
    fn earlier_message(
        &mut self,
        token: &str,
        channel: &str,
        recipient: &Recipient,
        since: i64,
    ) -> Option<Result<Outcome, HeldBack>> {
        let window = (since - CLOCK_SKEW_SECS, since + 2 * CLOCK_SKEW_SECS);
        let mut slack = Slack::new(self.transport);
        let found = match &recipient.reply_to {
            Some(to) => slack.find_reply_by_metadata(
                token,
                channel,
                &to.message_id,
                DELIVERY_EVENT,
                &recipient.delivery_id,
                window,
            ),
            None => slack.find_by_metadata(
                token,
                channel,
                DELIVERY_EVENT,
                &recipient.delivery_id,
                window,
            ),
        };
        match found {
            Ok(Some(ts)) => Some(Ok(Outcome::Sent(Sent {
                conversation: channel.to_string(),
                message_id: ts,
                already_sent: true,
            }))),
            Ok(None) => None,
            Err(e) => Some(failed(
                "Checking for an earlier attempt's message failed",
                e,
            )),
        }
    }

    /// Posts `recipient`'s message alone after Slack said the cached DM is gone: forgets it, opens the DM again and
    /// posts once more (`progress` told first); a second refusal forgets that DM too and fails.
    fn post_again(
        &mut self,
        token: &str,
        notification: &Notification,
        recipient: &Recipient,
        member: &Member,
        message: &Message,
        progress: &mut impl Progress,
    ) -> Result<Outcome, HeldBack> {
        let key = self.cache_key(keys::DM_PREFIX, &member.id);
        self.settings.remove(&key);
        let channel = match self.dm_for(token, member) {
            Ok(channel) => channel,
            Err(e) => return failed("Opening the app's conversation failed", e),
        };
        let post = post_of(notification, recipient, &channel, message);
        progress.posting(&recipient.delivery_id);
        match Slack::new(self.transport).post_message(token, &post) {
            Ok(ts) => Ok(Outcome::Sent(Sent {
                conversation: channel,
                message_id: ts,
                already_sent: false,
            })),
            Err(e) => {
                if is_channel_not_found(&e) {
                    self.settings.remove(&key);
                }
                failed("Posting the message failed", e)
            }
        }
    }

    /// Changes messages at once (the `chat.update` calls in flight together, `progress` told of each just before):
    /// one result per message, in order.
    fn update_group(
        &mut self,
        token: &str,
        notification: &Notification,
        change: SessionChange,
        updates: &[MessageUpdate],
        progress: &mut impl Progress,
    ) -> Vec<Result<Outcome, HeldBack>> {
        let rendered: Vec<render::Rendered> = updates
            .iter()
            .map(|u| render::render_update(notification, change, &u.first_shown, &u.recipient.user))
            .collect();
        let messages: Vec<UpdateMessage<'_>> = updates
            .iter()
            .zip(&rendered)
            .map(|(update, rendered)| UpdateMessage {
                channel: &update.message.conversation,
                ts: &update.message.message_id,
                text: &rendered.text,
                blocks: &rendered.blocks,
            })
            .collect();
        for update in updates {
            progress.posting(&update.recipient.delivery_id);
        }
        Slack::new(self.transport)
            .update_messages(token, &messages)
            .into_iter()
            .map(|answer| match answer {
                Ok((conversation, message_id)) => Ok(Outcome::Sent(Sent {
                    conversation,
                    message_id,
                    already_sent: false,
                })),
                Err(e) => failed("Updating the message failed", e),
            })
            .collect()
    }

    /// The reachable member with this e-mail address, from the directory map or a lookup.
    fn member_for(&mut self, token: &str, email: &str) -> Result<Option<Member>, SlackError> {
        let team = self.team();
        Directory::new(self.settings, &team, self.now).resolve(
            &mut Slack::new(self.transport),
            token,
            email,
        )
    }

    /// Lists the directory when many recipients are not mapped and the map is stale; a failure only means lookups.
    fn refresh_directory_if_worth_it(&mut self, token: &str, recipients: &[Recipient]) {
        let team = self.team();
        let mut directory = Directory::new(self.settings, &team, self.now);
        if directory.is_fresh() {
            return;
        }
        // Replies are not looked up: they go to the conversation of the message they answer.
        let unknown = recipients
            .iter()
            .filter(|r| {
                r.reply_to.is_none()
                    && directory.entry(&normalise_email(&r.user.email)) == Entry::Unknown
            })
            .count();
        if unknown < LIST_THRESHOLD {
            return;
        }
        match directory.refresh(&mut Slack::new(self.transport), token) {
            Ok(n) => self.log.write(
                Level::Info,
                &format!("listed the Slack directory: {n} members mapped by e-mail"),
            ),
            Err(e) => self.log.write(
                Level::Warn,
                &format!("listing the Slack directory failed, looking up instead: {e}"),
            ),
        }
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
                        let challenge = event
                            .get("challenge")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        ok(challenge.as_bytes().to_vec(), "text/plain", None)
                    }
                    Some("event_callback") => {
                        let kind = event
                            .pointer("/event/type")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let ours = event.get("team_id").and_then(Value::as_str)
                            == self.settings.get(keys::TEAM_ID).as_deref();
                        let reason = match kind {
                            "app_uninstalled" => {
                                Some("The app was removed from the Slack workspace.")
                            }
                            "tokens_revoked" => Some("Slack revoked the app's token."),
                            _ => None,
                        };
                        match reason {
                            Some(reason)
                                if ours
                                    && self.settings.get_secret(secrets::BOT_TOKEN).is_some() =>
                            {
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

    /// Keeps a rotating token's renewal (the refresh token, and when the token expires), or forgets it for a token
    /// that does not rotate.
    fn keep_rotation(&mut self, rotation: Option<&Rotation>) -> Result<(), String> {
        match rotation {
            Some(r) => {
                self.settings
                    .set_secret(secrets::REFRESH_TOKEN, &r.refresh_token)?;
                self.settings.set(
                    keys::TOKEN_EXPIRES_AT,
                    &self.now.saturating_add(r.expires_in).to_string(),
                )
            }
            None => {
                self.forget_rotation();
                Ok(())
            }
        }
    }

    /// Forgets the token's renewal.
    fn forget_rotation(&mut self) {
        self.settings.remove_secret(secrets::REFRESH_TOKEN);
        self.settings.remove(keys::TOKEN_EXPIRES_AT);
    }

    /// Renews the rotating bot token with its refresh token (Slack's token rotation, `oauth.v2.access` with
    /// `grant_type=refresh_token`): the new token, kept with its new renewal. `None` when there is nothing to renew
    /// with or it cannot be renewed now (a network failure, Slack's pace: the next call tries again); when Slack
    /// refuses the refresh token for good, the integration is disconnected, saying so.
    fn renew(&mut self) -> Option<String> {
        let refresh = self.settings.get_secret(secrets::REFRESH_TOKEN)?;
        let creds = self.credentials().ok()?;
        match Slack::new(self.transport).renew_token(&creds, &refresh) {
            Ok(renewed) => {
                self.settings
                    .set_secret(secrets::BOT_TOKEN, &renewed.access_token)
                    .ok()?;
                if let Err(e) = self.keep_rotation(Some(&renewed.rotation)) {
                    self.log.write(
                        Level::Error,
                        &format!("keeping the renewed token's refresh token failed: {e}"),
                    );
                }
                self.log
                    .write(Level::Info, "renewed the bot token (token rotation)");
                Some(renewed.access_token)
            }
            Err(e @ SlackError::Api { .. }) if !e.is_transient() => {
                self.disconnect(&format!(
                    "Slack refused to renew the app's token ({}). Click ACTIVATE again.",
                    e.code()
                ));
                None
            }
            Err(e) => {
                self.log.write(
                    Level::Warn,
                    &format!("renewing the bot token failed; the next call tries again: {e}"),
                );
                None
            }
        }
    }

    fn disconnect(&mut self, reason: &str) {
        self.settings.remove_secret(secrets::BOT_TOKEN);
        self.forget_rotation();
        let _ = self.settings.set(keys::DISCONNECTED, reason);
        self.log
            .write(Level::Warn, &format!("disconnected: {reason}"));
    }

    /// The workspace's id: the one read for this delivery, else the settings'.
    fn team(&self) -> String {
        match &self.team {
            Some(team) => team.clone(),
            None => self.settings.get(keys::TEAM_ID).unwrap_or_default(),
        }
    }

    /// Cache keys are per workspace, so that connecting another workspace never reuses the old one's ids.
    fn cache_key(&self, prefix: &str, id: &str) -> String {
        cache_key(&self.team(), prefix, id)
    }

    fn save(&mut self, key: &str, value: &str) -> Result<(), ConnectorError> {
        self.settings
            .set(key, value)
            .map_err(|e| ConnectorError::new("storage", e))
    }
}

impl<S: Settings + ?Sized, L: Log + ?Sized, T: Transport + ?Sized, C: Clock>
    Connector<'_, S, L, Paced<'_, T, C>>
{
    /// The delivery over a paced transport: the directory listed when it is worth it, then [`Self::batch`].
    fn deliver_paced(
        &mut self,
        notification: &Notification,
        recipients: &[Recipient],
        progress: &mut impl Progress,
    ) -> Vec<(String, Outcome)> {
        let token = self.active_token();
        if let Some(token) = &token {
            // A listing held back only means lookups; they are paced on their own.
            self.refresh_directory_if_worth_it(token, recipients);
        }
        // One wave of the whole batch: its requests are kept in flight by a window ([`Self::deliver_group`]).
        self.batch(
            token,
            recipients,
            recipients.len(),
            |r| &r.delivery_id,
            progress,
            |c, token, recipients, progress| {
                let in_flight = c.transport.pacer.in_flight();
                c.deliver_group(token, notification, recipients, in_flight, progress)
            },
        )
    }

    /// The updates over a paced transport ([`Self::batch`]).
    fn update_paced(
        &mut self,
        notification: &Notification,
        change: SessionChange,
        messages: &[MessageUpdate],
        progress: &mut impl Progress,
    ) -> Vec<(String, Outcome)> {
        let token = self.active_token();
        let in_flight = self.transport.pacer.in_flight();
        self.batch(
            token,
            messages,
            in_flight,
            |m| &m.recipient.delivery_id,
            progress,
            |c, token, messages, progress| {
                c.update_group(token, notification, change, messages, progress)
            },
        )
    }

    /// The bot token, when the integration is active; a rotating token that expires within [`RENEW_BEFORE_SECS`]
    /// is renewed first ([`Self::renew`]), and used as it is when it cannot be renewed now.
    fn active_token(&mut self) -> Option<String> {
        if !matches!(self.status(), IntegrationState::Active(_)) {
            return None;
        }
        let token = self.settings.get_secret(secrets::BOT_TOKEN)?;
        let expires_at = self
            .settings
            .get(keys::TOKEN_EXPIRES_AT)
            .and_then(|v| v.parse::<i64>().ok());
        match expires_at {
            Some(at) if self.now.saturating_add(RENEW_BEFORE_SECS) >= at => match self.renew() {
                Some(renewed) => Some(renewed),
                // Still active: the token may work until it expires. Refused for good: disconnected.
                None => matches!(self.status(), IntegrationState::Active(_)).then_some(token),
            },
            _ => Some(token),
        }
    }

    /// The loop of a batch over a paced transport: `wave` on the items `wave_size` at a time (`token` given), each
    /// item's outcome reported to `progress` as soon as its wave is done unless the wave reported it itself; stops
    /// calling Slack once a call was held back, the batch's budget is spent or the token no longer works, and saves
    /// the buckets after every wave. Without a token every item is skipped as inactive. Items refused because
    /// the token expired get one more try with the token renewed, when it rotates, so that no delivery is lost to
    /// the renewal.
    #[allow(clippy::too_many_arguments)]
    fn batch<I: Clone, R: Progress>(
        &mut self,
        mut token: Option<String>,
        items: &[I],
        wave_size: usize,
        delivery_id: impl Fn(&I) -> &str,
        progress: &mut R,
        mut wave: impl FnMut(
            &mut Self,
            &str,
            &[I],
            &mut Reported<'_, R>,
        ) -> Vec<Result<Outcome, HeldBack>>,
    ) -> Vec<(String, Outcome)> {
        let mut outcomes = Vec::with_capacity(items.len());
        let mut broken: Option<Failure> = None;
        let mut deferred: Option<u64> = None;
        let mut progress = Reported {
            inner: progress,
            ids: HashSet::new(),
        };
        for chunk in items.chunks(wave_size.max(1)) {
            if deferred.is_none() && token.is_some() && broken.is_none() && !outcomes.is_empty() {
                let now = self.transport.clock.now_ms();
                if self.transport.pacer.budget_left(now) <= 0.0 {
                    // Slow answers used the batch's time: hand the rest back to be sent at once by the next call.
                    deferred = Some(1);
                }
            }
            let ended: Vec<Outcome> = match (token.clone(), &broken, deferred) {
                (None, _, _) => chunk
                    .iter()
                    .map(|_| {
                        Outcome::Skipped(SkipReason::Inactive(inactive_reason(&self.status())))
                    })
                    .collect(),
                (_, Some(failure), _) => chunk
                    .iter()
                    .map(|_| Outcome::Failed(failure.clone()))
                    .collect(),
                (_, _, Some(ms)) => chunk.iter().map(|_| paced(ms)).collect(),
                (Some(current), None, None) => {
                    let mut attempts = wave(self, &current, chunk, &mut progress);
                    let expired: Vec<usize> = (0..attempts.len())
                        .filter(|&i| token_expired(&attempts[i]))
                        .collect();
                    if !expired.is_empty()
                        && let Some(renewed) = self.renew()
                    {
                        let again: Vec<I> = expired.iter().map(|&i| chunk[i].clone()).collect();
                        for (i, attempt) in
                            expired
                                .into_iter()
                                .zip(wave(self, &renewed, &again, &mut progress))
                        {
                            attempts[i] = attempt;
                        }
                        token = Some(renewed);
                    }
                    attempts
                        .into_iter()
                        .zip(chunk)
                        .map(|(attempt, item)| {
                            let outcome = match attempt {
                                Ok(outcome) => outcome,
                                Err(HeldBack(ms)) => {
                                    deferred.get_or_insert(ms);
                                    paced(ms)
                                }
                            };
                            // Known now: the host records it before the next wave's calls.
                            if !progress.ids.contains(delivery_id(item)) {
                                progress.outcome(&DeliveryOutcome {
                                    delivery_id: delivery_id(item).to_string(),
                                    outcome: outcome.clone(),
                                });
                            }
                            outcome
                        })
                        .collect()
                }
            };
            for (item, outcome) in chunk.iter().zip(ended) {
                if let Outcome::Failed(f) = &outcome
                    && f.kind == FailureKind::Disconnected
                    && broken.is_none()
                {
                    self.disconnect(&f.message);
                    broken = Some(f.clone());
                }
                outcomes.push((delivery_id(item).to_string(), outcome));
            }
            let now = self.transport.clock.now_ms();
            self.transport.pacer.save(&mut *self.settings, now);
        }
        if self.transport.refusals > 0 {
            let refusals = self.transport.refusals;
            self.log.write(
                Level::Warn,
                &format!("Slack answered 429 (rate limited) {refusals} times in this batch"),
            );
        }
        outcomes
    }
}

/// A batch's [`Progress`], noting whose outcome a wave reported, so that the batch reports every other one once.
struct Reported<'p, R: Progress> {
    inner: &'p mut R,
    /// The deliveries whose outcome was reported.
    ids: HashSet<String>,
}

impl<R: Progress> Progress for Reported<'_, R> {
    fn posting(&mut self, delivery_id: &str) {
        self.inner.posting(delivery_id);
    }
    fn outcome(&mut self, outcome: &DeliveryOutcome) {
        self.ids.insert(outcome.delivery_id.clone());
        self.inner.outcome(outcome);
    }
}

/// A recipient of a delivery whose message is ready to post.
struct Post {
    /// The conversation to post in.
    channel: String,
    /// The member whose DM it is, to open it again if Slack no longer has it; `None` for a reply, whose
    /// conversation is the one given.
    member: Option<Member>,
}

/// Where a recipient of a delivery stands before its post.
enum Step {
    /// Its outcome is known without a post (no account, a failed call, an earlier message found), or a call was held
    /// back.
    Done(Result<Outcome, HeldBack>),
    /// The member's DM is not in the cache: to open.
    Open(Member),
    /// Ready to post.
    Post(Post),
}

/// The cache key of `id` under `prefix` in workspace `team`.
fn cache_key(team: &str, prefix: &str, id: &str) -> String {
    format!("{prefix}{team}:{id}")
}

/// Whether `outcome` stops the batch: a call the pacing held back, or a token Slack no longer takes.
fn ends_the_batch(outcome: &Result<Outcome, HeldBack>) -> bool {
    match outcome {
        Err(HeldBack(_)) => true,
        Ok(Outcome::Failed(f)) => f.kind == FailureKind::Disconnected,
        Ok(_) => false,
    }
}

/// Where a recipient of [`Deliveries`] stands.
enum Stage {
    /// Not reached yet: where its message goes.
    Ahead(Step),
    /// Its DM being opened.
    Opening(Member),
    /// Its post waiting to be sent, or in flight.
    Posting(Post),
    /// Slack no longer has its cached DM (nothing was posted): to open again and post once more, alone.
    Again(Member),
    /// Its outcome.
    Ended(Result<Outcome, HeldBack>),
}

/// The opens and posts of a delivery, sent through [`Transport::send_window`]: the recipients are reached in order,
/// a post goes as soon as its DM is known (before any recipient not reached yet), and each outcome is reported to
/// `progress` as soon as it is known (but for an expired token's, which the batch tries again). Posts are announced
/// a window's worth at a time, when the first of them is reached ([`Deliveries::announce_from`]), and the DMs opened
/// meanwhile are cached then: the host stores each handful in a few writes before the next request leaves, instead
/// of a write per request. Request `2 i` is recipient `i`'s open, `2 i + 1` its post.
struct Deliveries<'w, S: Settings + ?Sized, P: Progress> {
    token: &'w str,
    notification: &'w Notification,
    recipients: &'w [Recipient],
    /// The workspace, for the DM cache's keys.
    team: &'w str,
    settings: &'w mut S,
    progress: &'w mut P,
    /// Each recipient's stage.
    stages: Vec<Stage>,
    /// The first recipient not reached yet.
    ahead: usize,
    /// The recipients whose post is waiting to be sent.
    ready: VecDeque<usize>,
    /// Whose post was announced.
    announced: Vec<bool>,
    /// The DMs opened and not cached yet: each cache key and conversation.
    opened: Vec<(String, String)>,
    /// How many posts are announced together: the requests in flight at once.
    window: usize,
    /// Once set (a call held back, or the token no longer works), no recipient is reached any more: how those not
    /// reached end.
    stop: Option<Result<Outcome, HeldBack>>,
}

impl<S: Settings + ?Sized, P: Progress> Deliveries<'_, S, P> {
    /// Recipient `i`'s stage, taken out to be replaced.
    fn take(&mut self, i: usize) -> Stage {
        std::mem::replace(&mut self.stages[i], Stage::Ended(Err(HeldBack(1))))
    }

    /// Recipient `i`'s post.
    fn post(&mut self, i: usize) -> Option<(usize, HttpRequest)> {
        self.announce_from(i);
        let Stage::Posting(post) = &self.stages[i] else {
            return None;
        };
        let recipient = &self.recipients[i];
        let message = Message::of(self.notification, recipient);
        let request = api::post_request(
            self.token,
            &post_of(self.notification, recipient, &post.channel, &message),
        );
        Some((2 * i + 1, request))
    }

    /// Unless recipient `i`'s post was announced: caches the DMs opened, and announces `i`'s post with those of the
    /// recipients after it that are to post, a window's worth in all.
    fn announce_from(&mut self, i: usize) {
        if self.announced[i] {
            return;
        }
        self.cache_opened();
        let mut announced = 0;
        for j in i..self.stages.len() {
            if announced == self.window {
                break;
            }
            let to_post = matches!(
                self.stages[j],
                Stage::Ahead(Step::Open(_) | Step::Post(_)) | Stage::Opening(_) | Stage::Posting(_)
            );
            if to_post && !self.announced[j] {
                self.announced[j] = true;
                self.progress.posting(&self.recipients[j].delivery_id);
                announced += 1;
            }
        }
    }

    /// Caches the DMs opened since the last time.
    fn cache_opened(&mut self) {
        for (key, channel) in std::mem::take(&mut self.opened) {
            let _ = self.settings.set(&key, &channel);
        }
    }

    /// Ends recipient `i` with `outcome`: reported, and the window stopped if it ends the batch (a disconnection
    /// also ends the posts waiting to be sent).
    fn end(&mut self, i: usize, outcome: Result<Outcome, HeldBack>) {
        if ends_the_batch(&outcome) {
            let disconnected = outcome.is_ok();
            if disconnected || self.stop.is_none() {
                self.stop = Some(outcome.clone());
            }
            if disconnected {
                for waiting in std::mem::take(&mut self.ready) {
                    self.report(waiting, &outcome);
                    self.stages[waiting] = Stage::Ended(outcome.clone());
                }
            }
        }
        self.report(i, &outcome);
        self.stages[i] = Stage::Ended(outcome);
    }

    /// Tells `progress` of recipient `i`'s outcome, but for an expired token's.
    fn report(&mut self, i: usize, outcome: &Result<Outcome, HeldBack>) {
        if token_expired(outcome) {
            return;
        }
        let outcome = match outcome {
            Ok(outcome) => outcome.clone(),
            Err(HeldBack(ms)) => paced(*ms),
        };
        self.progress.outcome(&DeliveryOutcome {
            delivery_id: self.recipients[i].delivery_id.clone(),
            outcome,
        });
    }
}

impl<S: Settings + ?Sized, P: Progress> Window for Deliveries<'_, S, P> {
    fn next(&mut self) -> Option<(usize, HttpRequest)> {
        if let Some(i) = self.ready.pop_front() {
            return self.post(i);
        }
        while self.stop.is_none() && self.ahead < self.stages.len() {
            let i = self.ahead;
            self.ahead += 1;
            let step = match self.take(i) {
                Stage::Ahead(step) => step,
                other => {
                    self.stages[i] = other;
                    continue;
                }
            };
            match step {
                Step::Done(outcome) => self.end(i, outcome),
                Step::Open(member) => {
                    let request = api::open_dm_request(self.token, &member.id);
                    self.stages[i] = Stage::Opening(member);
                    self.announce_from(i);
                    return Some((2 * i, request));
                }
                Step::Post(post) => {
                    self.stages[i] = Stage::Posting(post);
                    return self.post(i);
                }
            }
        }
        None
    }

    fn answered(&mut self, tag: usize, answer: Result<HttpResponse, TransportError>) {
        let i = tag / 2;
        match self.take(i) {
            Stage::Opening(member) => match api::opened(answer) {
                Ok(channel) => {
                    let key = cache_key(self.team, keys::DM_PREFIX, &member.id);
                    self.opened.push((key, channel.clone()));
                    self.stages[i] = Stage::Posting(Post {
                        channel,
                        member: Some(member),
                    });
                    self.ready.push_back(i);
                }
                Err(e) => self.end(i, failed("Opening the app's conversation failed", e)),
            },
            Stage::Posting(post) => {
                match posted(&self.recipients[i], post, api::posted_ts(answer)) {
                    Posted::Again(member) => self.stages[i] = Stage::Again(member),
                    Posted::Ended(outcome) => self.end(i, outcome),
                }
            }
            other => self.stages[i] = other,
        }
    }
}

/// What became of a post Slack answered.
enum Posted {
    Ended(Result<Outcome, HeldBack>),
    /// Slack no longer has the cached DM of this member (nothing was posted): open it again and post once more.
    Again(Member),
}

/// The outcome of `recipient`'s post to `post` that Slack answered with `answer`.
fn posted(recipient: &Recipient, post: Post, answer: Result<String, SlackError>) -> Posted {
    let e = match answer {
        Ok(ts) => {
            return Posted::Ended(Ok(Outcome::Sent(Sent {
                conversation: post.channel,
                message_id: ts,
                already_sent: false,
            })));
        }
        Err(e) => e,
    };
    match post.member.filter(|_| is_channel_not_found(&e)) {
        Some(member) => Posted::Again(member),
        // A reply's conversation is the one given: a conversation that is gone stays gone.
        None if recipient.reply_to.is_some() => Posted::Ended(failed(
            "Posting the reply in the thread of the message it answers failed",
            e,
        )),
        None => Posted::Ended(failed("Posting the message failed", e)),
    }
}

/// A recipient's message: rendered for them, and the metadata that marks it with its delivery (to find it again).
struct Message {
    rendered: render::Rendered,
    metadata: Value,
}

impl Message {
    /// `notification`'s message to `recipient`.
    fn of(notification: &Notification, recipient: &Recipient) -> Message {
        Message {
            rendered: render::render(notification, &recipient.user),
            metadata: json!({
                "event_type": DELIVERY_EVENT,
                "event_payload": { "delivery_id": recipient.delivery_id, "notification_id": notification.id },
            }),
        }
    }
}

/// The post of `message` to `recipient` in `channel`: sent as the platform group, in the thread of the message it
/// answers if any.
fn post_of<'a>(
    notification: &'a Notification,
    recipient: &'a Recipient,
    channel: &'a str,
    message: &'a Message,
) -> PostMessage<'a> {
    PostMessage {
        channel,
        text: &message.rendered.text,
        blocks: &message.rendered.blocks,
        username: &notification.group.name,
        icon_url: notification.group.logo_url.as_deref(),
        metadata: Some(&message.metadata),
        thread_ts: recipient.reply_to.as_ref().map(|to| to.message_id.as_str()),
    }
}

/// Whether Slack answered that the conversation does not exist.
fn is_channel_not_found(e: &SlackError) -> bool {
    matches!(e, SlackError::Api { code, .. } if code == "channel_not_found")
}

/// A recipient handed back without any call: rate-limited, to be tried again after `ms`; not an attempt.
fn paced(ms: u64) -> Outcome {
    Outcome::Failed(Failure {
        kind: FailureKind::RateLimited,
        code: pacing::PACED.into(),
        message: "Held back to keep within Slack's rate limits; it is sent later.".into(),
        retry_after_ms: Some(ms),
    })
}

fn inactive_reason(state: &IntegrationState) -> String {
    match state {
        IntegrationState::Disconnected(reason) => {
            format!("The Slack integration is disconnected: {reason}")
        }
        _ => "The Slack integration is not active on this platform.".into(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{HttpRequest, HttpResponse, TransportError};
    use crate::model::{MessageRef, NotificationKind, PlatformGroup, Session, User};
    use connector_api::fakes::{MemoryLog, MemoryProgress, MemorySettings, Report, Waves};
    use std::collections::{BTreeMap, VecDeque};

    /// Answers each request with the next scripted answer, and records the requests.
    #[derive(Default)]
    struct Script {
        answers: VecDeque<(u16, String)>,
        requests: Vec<HttpRequest>,
    }

    impl Script {
        fn answer(mut self, status: u16, body: serde_json::Value) -> Self {
            self.answers.push_back((status, body.to_string()));
            self
        }
        fn methods(&self) -> Vec<&str> {
            self.requests
                .iter()
                .map(|r| r.url.trim_start_matches(SLACK_API))
                .collect()
        }
        /// The fields of request `i`: its form, or its JSON body's (strings as they are, other values as JSON).
        fn form(&self, i: usize) -> BTreeMap<String, String> {
            let request = &self.requests[i];
            if !crate::api::is_json(request) {
                return form_urlencoded::parse(&request.body).into_owned().collect();
            }
            let body: serde_json::Map<String, Value> =
                serde_json::from_slice(&request.body).unwrap();
            body.into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect()
        }
    }

    impl Transport for Script {
        fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            self.requests.push(request);
            let (status, body) = self
                .answers
                .pop_front()
                .ok_or_else(|| TransportError::Connection("no scripted answer".into()))?;
            Ok(HttpResponse {
                status,
                headers: vec![("retry-after".into(), "3".into())],
                body: body.into_bytes(),
            })
        }
    }

    fn configured() -> MemorySettings {
        let mut m = MemorySettings::default();
        m.set(keys::CLIENT_ID, "123.456").unwrap();
        m.set_secret(secrets::CLIENT_SECRET, "shh").unwrap();
        m
    }

    fn active() -> MemorySettings {
        let mut m = configured();
        m.set_secret(secrets::BOT_TOKEN, "xoxb-1").unwrap();
        m.set(keys::TEAM_ID, "T1").unwrap();
        m.set(keys::TEAM_NAME, "Acme").unwrap();
        m
    }

    const STATE: &str = "0123456789abcdef0123";
    const NOW: i64 = 1_800_000_000;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn activation_exchanges_the_code_checks_the_token_and_only_then_stores_it() {
        let (mut s, mut l) = (configured(), MemoryLog::default());
        let mut t = Script::default()
            .answer(200, json!({"ok": true, "access_token": "xoxb-new", "scope": "chat:write", "bot_user_id": "B1",
                "app_id": "A1", "team": {"id": "T1", "name": "Acme"}}))
            .answer(200, json!({"ok": true, "team": "Acme", "team_id": "T1", "user_id": "B1"}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let url = c.start_activation("https://lms/cb", STATE).unwrap();
        assert!(url.starts_with(
            "https://slack.com/oauth/v2/authorize?client_id=123.456&scope=chat%3Awrite%2C"
        ));
        assert!(url.contains("&state=0123456789abcdef0123"));
        let r = c
            .complete_activation(&query(&[("code", "c1"), ("state", STATE)]))
            .unwrap();
        assert_eq!(
            r,
            ActivationResult::Active(Workspace {
                id: "T1".into(),
                name: "Acme".into()
            })
        );
        assert_eq!(
            c.status(),
            IntegrationState::Active(Workspace {
                id: "T1".into(),
                name: "Acme".into()
            })
        );
        assert_eq!(t.methods(), ["oauth.v2.access", "auth.test"]);
        let auth = t.requests[0]
            .headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .unwrap();
        assert_eq!(auth.1, format!("Basic {}", base64_of("123.456:shh")));
        assert_eq!(t.form(0)["redirect_uri"], "https://lms/cb");
        assert_eq!(
            s.get_secret(secrets::BOT_TOKEN).as_deref(),
            Some("xoxb-new")
        );
    }

    fn base64_of(s: &str) -> String {
        // Known answer for the credentials above.
        assert_eq!(s, "123.456:shh");
        "MTIzLjQ1NjpzaGg=".into()
    }

    #[test]
    fn a_wrong_reused_or_cancelled_callback_stores_nothing() {
        let (mut s, mut l, mut t) = (configured(), MemoryLog::default(), Script::default());
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        c.start_activation("https://lms/cb", STATE).unwrap();
        let e = c
            .complete_activation(&query(&[("code", "c1"), ("state", "forged-state-000000")]))
            .unwrap_err();
        assert_eq!(e.code, "state_mismatch");
        // The state was single-use: even the right one no longer works.
        let e = c
            .complete_activation(&query(&[("code", "c1"), ("state", STATE)]))
            .unwrap_err();
        assert_eq!(e.code, "state_unknown");
        c.start_activation("https://lms/cb", STATE).unwrap();
        let e = c
            .complete_activation(&query(&[("error", "access_denied"), ("state", STATE)]))
            .unwrap_err();
        assert_eq!(e.code, "access_denied");
        assert!(
            t.requests.is_empty(),
            "no call to Slack for a refused callback"
        );
        assert_eq!(s.get_secret(secrets::BOT_TOKEN), None);
        assert!(c_status_is_inactive(&mut s));
    }

    fn c_status_is_inactive(s: &mut MemorySettings) -> bool {
        let (mut l, mut t) = (MemoryLog::default(), Script::default());
        Connector::new(s, &mut l, &mut t, NOW).status() == IntegrationState::Inactive
    }

    #[test]
    fn an_expired_code_leaves_the_integration_inactive() {
        let (mut s, mut l) = (configured(), MemoryLog::default());
        let mut t = Script::default().answer(200, json!({"ok": false, "error": "invalid_code"}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        c.start_activation("https://lms/cb", STATE).unwrap();
        let e = c
            .complete_activation(&query(&[("code", "old"), ("state", STATE)]))
            .unwrap_err();
        assert_eq!(e.code, "invalid_code");
        assert!(e.message.contains("expired"), "{}", e.message);
        assert_eq!(c.status(), IntegrationState::Inactive);
    }

    fn notification() -> Notification {
        Notification {
            id: "n1".into(),
            kind: NotificationKind::SessionAssignment,
            title: "You are invited".into(),
            session: Some(Session {
                id: "s1".into(),
                title: "Safety".into(),
                description: "Learn.".into(),
                cover_image_url: None,
                cover_is_default: true,
                starts_at: 1_796_112_000,
                ends_at: 1_796_115_600,
                url: "https://lms/s1".into(),
            }),
            body: None,
            group: PlatformGroup {
                name: "Acme Learning".into(),
                logo_url: Some("https://lms/logo.png".into()),
            },
        }
    }

    fn recipient(id: &str, email: &str) -> Recipient {
        Recipient {
            user: User {
                id: id.into(),
                email: email.into(),
                locale: "en".into(),
                time_zone: "UTC".into(),
                ..User::default()
            },
            delivery_id: format!("d-{id}"),
            attempt: 1,
            earlier_post: None,
            reply_to: None,
        }
    }

    /// Active with a rotating token expiring at `expires_at`, the learner ann@x.io's member and DM cached.
    fn rotating(expires_at: i64) -> MemorySettings {
        let mut m = active();
        m.set_secret(secrets::BOT_TOKEN, "xoxe.xoxb-old").unwrap();
        m.set_secret(secrets::REFRESH_TOKEN, "xoxe-1-r1").unwrap();
        m.set(keys::TOKEN_EXPIRES_AT, &expires_at.to_string())
            .unwrap();
        m.set("member:T1:ann@x.io", &format!("U1 {NOW}")).unwrap();
        m.set("dm:T1:U1", "D1").unwrap();
        m
    }

    fn renewed() -> serde_json::Value {
        json!({"ok": true, "access_token": "xoxe.xoxb-new", "refresh_token": "xoxe-1-r2", "expires_in": 43200,
            "token_type": "bot", "team": {"id": "T1", "name": "Acme"}})
    }

    fn bearer(request: &HttpRequest) -> Option<&str> {
        request
            .headers
            .iter()
            .find(|(name, _)| name == "authorization")
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn an_activation_with_token_rotation_keeps_the_refresh_token_and_the_expiry() {
        let (mut s, mut l) = (configured(), MemoryLog::default());
        let mut t = Script::default()
            .answer(200, json!({"ok": true, "access_token": "xoxe.xoxb-1", "refresh_token": "xoxe-1-r1",
                "expires_in": 43200, "scope": "chat:write", "bot_user_id": "B1", "team": {"id": "T1", "name": "Acme"}}))
            .answer(200, json!({"ok": true, "team": "Acme", "team_id": "T1", "user_id": "B1"}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        c.start_activation("https://lms/cb", STATE).unwrap();
        c.complete_activation(&query(&[("code", "c1"), ("state", STATE)]))
            .unwrap();
        assert_eq!(
            s.get_secret(secrets::REFRESH_TOKEN).as_deref(),
            Some("xoxe-1-r1")
        );
        assert_eq!(
            s.get(keys::TOKEN_EXPIRES_AT),
            Some((NOW + 43200).to_string())
        );
    }

    #[test]
    fn a_rotating_token_about_to_expire_is_renewed_before_the_batch() {
        let (mut s, mut l) = (rotating(NOW + 3600), MemoryLog::default());
        let mut t = Script::default()
            .answer(200, renewed())
            .answer(200, json!({"ok": true, "channel": "D1", "ts": "1.000100"}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let outcomes = c.deliver(
            &notification(),
            &[recipient("a", "ann@x.io")],
            &mut MemoryProgress::default(),
        );
        assert!(matches!(outcomes[0].1, Outcome::Sent(_)), "{outcomes:?}");
        assert_eq!(t.methods(), ["oauth.v2.access", "chat.postMessage"]);
        let renewal = t.form(0);
        assert_eq!(
            (
                renewal["grant_type"].as_str(),
                renewal["refresh_token"].as_str()
            ),
            ("refresh_token", "xoxe-1-r1")
        );
        assert_eq!(bearer(&t.requests[1]), Some("Bearer xoxe.xoxb-new"));
        assert_eq!(
            s.get_secret(secrets::BOT_TOKEN).as_deref(),
            Some("xoxe.xoxb-new")
        );
        assert_eq!(
            s.get_secret(secrets::REFRESH_TOKEN).as_deref(),
            Some("xoxe-1-r2")
        );
        assert_eq!(
            s.get(keys::TOKEN_EXPIRES_AT),
            Some((NOW + 43200).to_string())
        );
    }

    #[test]
    fn a_post_refused_for_an_expired_token_is_sent_again_once_the_token_is_renewed() {
        let (mut s, mut l) = (rotating(NOW + 10 * 3600), MemoryLog::default());
        let mut t = Script::default()
            .answer(200, json!({"ok": false, "error": "token_expired"}))
            .answer(200, renewed())
            .answer(200, json!({"ok": true, "channel": "D1", "ts": "1.000100"}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let outcomes = c.deliver(
            &notification(),
            &[recipient("a", "ann@x.io")],
            &mut MemoryProgress::default(),
        );
        assert!(matches!(c.status(), IntegrationState::Active(_)));
        assert!(matches!(outcomes[0].1, Outcome::Sent(_)), "{outcomes:?}");
        assert_eq!(
            t.methods(),
            ["chat.postMessage", "oauth.v2.access", "chat.postMessage"]
        );
        assert_eq!(bearer(&t.requests[2]), Some("Bearer xoxe.xoxb-new"));
    }

    #[test]
    fn a_refresh_token_slack_refuses_disconnects_the_integration_saying_why() {
        let (mut s, mut l) = (rotating(NOW + 60), MemoryLog::default());
        let mut t =
            Script::default().answer(200, json!({"ok": false, "error": "invalid_refresh_token"}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let outcomes = c.deliver(
            &notification(),
            &[recipient("a", "ann@x.io")],
            &mut MemoryProgress::default(),
        );
        assert!(
            matches!(&outcomes[0].1, Outcome::Skipped(SkipReason::Inactive(why)) if why.contains("invalid_refresh_token")),
            "{outcomes:?}"
        );
        assert_eq!(t.methods(), ["oauth.v2.access"], "nothing posted");
        assert_eq!(s.get_secret(secrets::REFRESH_TOKEN), None);
    }

    #[test]
    fn delivery_matches_by_email_opens_the_dm_and_posts_as_the_group() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        let mut t = Script::default()
            // The recipients are worked on together: each looked up, then the DMs opened, then the posts.
            .answer(200, json!({"ok": true, "user": {"id": "U1", "deleted": false, "is_bot": false, "profile": {"email": "ann@x.io"}}}))
            .answer(200, json!({"ok": false, "error": "users_not_found"}))
            .answer(200, json!({"ok": true, "user": {"id": "U3", "deleted": true, "profile": {"email": "gone@x.io"}}}))
            .answer(200, json!({"ok": true, "channel": {"id": "D1"}}))
            .answer(200, json!({"ok": true, "channel": "D1", "ts": "1.000100"}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let mut progress = MemoryProgress::default();
        let outcomes = c.deliver(
            &notification(),
            &[
                recipient("a", "  Ann@X.io "),
                recipient("b", "bob@x.io"),
                recipient("c", "gone@x.io"),
            ],
            &mut progress,
        );
        // The post is announced before it is made, and every outcome reported as soon as it is known; the look-ups
        // of the learners who have no account are not announced (they cannot deliver).
        let reported: Vec<Report> = outcomes
            .iter()
            .map(|(id, outcome)| {
                Report::Outcome(DeliveryOutcome {
                    delivery_id: id.clone(),
                    outcome: outcome.clone(),
                })
            })
            .collect();
        assert_eq!(
            progress.reports,
            [vec![Report::Posting("d-a".into())], reported].concat()
        );
        assert_eq!(
            outcomes,
            vec![
                (
                    "d-a".into(),
                    Outcome::Sent(Sent {
                        conversation: "D1".into(),
                        message_id: "1.000100".into(),
                        already_sent: false
                    })
                ),
                ("d-b".into(), Outcome::Skipped(SkipReason::NoAccount)),
                ("d-c".into(), Outcome::Skipped(SkipReason::NoAccount)),
            ]
        );
        assert_eq!(t.form(0)["email"], "ann@x.io", "trimmed and lower-cased");
        assert_eq!(t.form(3)["users"], "U1");
        let post = t.form(4);
        assert_eq!(
            post["channel"], "D1",
            "posted to the app's DM, never to the U id"
        );
        assert_eq!(post["username"], "Acme Learning");
        assert_eq!(post["icon_url"], "https://lms/logo.png");
        assert!(post["blocks"].starts_with('['));
        assert!(post["metadata"].contains("d-a"));
        // The member and the DM are cached per workspace: a second delivery posts straight away.
        let mut t2 =
            Script::default().answer(200, json!({"ok": true, "channel": "D1", "ts": "2.000100"}));
        let mut c = Connector::new(&mut s, &mut l, &mut t2, NOW);
        let again = c.deliver(
            &notification(),
            &[recipient("a", "ann@x.io")],
            &mut Unreported,
        );
        assert!(
            matches!(&again[0].1, Outcome::Sent(Sent { message_id, .. }) if message_id == "2.000100")
        );
        assert_eq!(t2.methods(), ["chat.postMessage"]);
    }

    #[test]
    fn recipients_keep_a_window_of_calls_in_flight_each_post_going_once_its_dm_is_known() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        s.set(pacing::IN_FLIGHT_KEY, "2").unwrap();
        for (id, dm) in [("a", "Da"), ("b", "Db"), ("c", "Dc")] {
            let mapped = format!("U{id} {NOW}");
            s.set(&format!("{}T1:{id}@x.io", keys::MEMBER_PREFIX), &mapped)
                .unwrap();
            if id != "b" {
                s.set(&format!("{}T1:U{id}", keys::DM_PREFIX), dm).unwrap();
            }
        }
        let posted = |i: usize| json!({"ok": true, "channel": "D", "ts": format!("{i}.0001")});
        // Answered oldest first, two in flight: a's post and b's open go; a's answer lets c's post go; b's DM known,
        // its post goes before anyone else's.
        let mut t = Waves::new(
            Script::default()
                .answer(200, posted(1))
                .answer(200, json!({"ok": true, "channel": {"id": "Db"}}))
                .answer(200, posted(2))
                .answer(200, posted(3)),
        );
        let mut progress = MemoryProgress::default();
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let outcomes = c.deliver(
            &notification(),
            &[
                recipient("a", "a@x.io"),
                recipient("b", "b@x.io"),
                recipient("c", "c@x.io"),
            ],
            &mut progress,
        );
        assert_eq!(
            t.inner.methods(),
            [
                "chat.postMessage",
                "conversations.open",
                "chat.postMessage",
                "chat.postMessage"
            ]
        );
        assert_eq!(t.in_flight, [2, 2, 2, 1], "the window stays full");
        assert!(t.sizes.is_empty(), "no call waits for another's answer");
        let channels: Vec<_> = [0, 2, 3].map(|i| t.inner.form(i)["channel"].clone()).into();
        assert_eq!(channels, ["Da", "Dc", "Db"]);
        assert_eq!(
            s.get(&format!("{}T1:Ub", keys::DM_PREFIX)).as_deref(),
            Some("Db")
        );
        let outcome = |id: &str, ts: &str| {
            Report::Outcome(DeliveryOutcome {
                delivery_id: id.into(),
                outcome: Outcome::Sent(Sent {
                    conversation: format!("D{}", &id[2..]),
                    message_id: ts.into(),
                    already_sent: false,
                }),
            })
        };
        // Posts are announced two at a time (a window's worth) before the first of them goes; each outcome is
        // reported once, as soon as it is known.
        assert_eq!(
            progress.reports,
            [
                Report::Posting("d-a".into()),
                Report::Posting("d-b".into()),
                outcome("d-a", "1.0001"),
                Report::Posting("d-c".into()),
                outcome("d-c", "2.0001"),
                outcome("d-b", "3.0001"),
            ]
        );
        let sent: Vec<_> = outcomes
            .iter()
            .map(|(id, o)| (id.as_str(), matches!(o, Outcome::Sent(_))))
            .collect();
        assert_eq!(sent, [("d-a", true), ("d-b", true), ("d-c", true)]);
    }

    #[test]
    fn a_cached_dm_slack_no_longer_has_is_opened_again_and_posted_to_once_more() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        for (id, dm) in [("a", "Dgone"), ("b", "Db")] {
            let mapped = format!("U{id} {NOW}");
            s.set(&format!("{}T1:{id}@x.io", keys::MEMBER_PREFIX), &mapped)
                .unwrap();
            s.set(&format!("{}T1:U{id}", keys::DM_PREFIX), dm).unwrap();
        }
        let mut t = Script::default()
            // a's post to a conversation Slack no longer has: nothing was posted.
            .answer(200, json!({"ok": false, "error": "channel_not_found"}))
            .answer(200, json!({"ok": true, "channel": "Db", "ts": "2.0001"}))
            // After the window: a's DM opened again, and the post sent once more.
            .answer(200, json!({"ok": true, "channel": {"id": "Dnew"}}))
            .answer(200, json!({"ok": true, "channel": "Dnew", "ts": "3.0001"}));
        let mut progress = MemoryProgress::default();
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let outcomes = c.deliver(
            &notification(),
            &[recipient("a", "a@x.io"), recipient("b", "b@x.io")],
            &mut progress,
        );
        assert_eq!(
            t.methods(),
            [
                "chat.postMessage",
                "chat.postMessage",
                "conversations.open",
                "chat.postMessage"
            ]
        );
        assert_eq!(
            (t.form(0)["channel"].as_str(), t.form(3)["channel"].as_str()),
            ("Dgone", "Dnew")
        );
        let sent: Vec<_> = outcomes
            .iter()
            .map(|(id, o)| match o {
                Outcome::Sent(sent) => (
                    id.as_str(),
                    sent.conversation.as_str(),
                    sent.message_id.as_str(),
                ),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(sent, [("d-a", "Dnew", "3.0001"), ("d-b", "Db", "2.0001")]);
        assert_eq!(
            s.get(&format!("{}T1:Ua", keys::DM_PREFIX)).as_deref(),
            Some("Dnew")
        );
        // a's post is announced again before it is sent again; each outcome is reported once.
        let count = |wanted: &Report| progress.reports.iter().filter(|r| *r == wanted).count();
        assert_eq!(count(&Report::Posting("d-a".into())), 2);
        let outcomes_reported = progress
            .reports
            .iter()
            .filter(|r| matches!(r, Report::Outcome(_)))
            .count();
        assert_eq!(outcomes_reported, 2);
    }

    #[test]
    fn a_revoked_token_disconnects_and_stops_the_batch() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        let mut t = Script::default().answer(200, json!({"ok": false, "error": "token_revoked"}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let outcomes = c.deliver(
            &notification(),
            &[recipient("a", "a@x.io"), recipient("b", "b@x.io")],
            &mut Unreported,
        );
        for (_, o) in &outcomes {
            assert!(
                matches!(o, Outcome::Failed(f) if f.kind == FailureKind::Disconnected && f.code == "token_revoked")
            );
        }
        assert!(matches!(c.status(), IntegrationState::Disconnected(_)));
        let later = c.deliver(
            &notification(),
            &[recipient("a", "a@x.io")],
            &mut Unreported,
        );
        assert!(
            matches!(&later[0].1, Outcome::Skipped(SkipReason::Inactive(why)) if why.contains("disconnected"))
        );
        assert_eq!(
            t.requests.len(),
            1,
            "no further call once the token is known revoked"
        );
    }

    #[test]
    fn rate_limits_and_server_errors_are_retryable_with_their_delay() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        let mut t = Script::default()
            .answer(429, json!({"ok": false, "error": "ratelimited"}))
            .answer(503, json!({}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let o = c.deliver(
            &notification(),
            &[recipient("a", "a@x.io"), recipient("b", "b@x.io")],
            &mut Unreported,
        );
        assert!(
            matches!(&o[0].1, Outcome::Failed(f) if f.kind == FailureKind::RateLimited && f.retry_after_ms == Some(3000))
        );
        // Retry-After (3 s) is past the batch's budget: the next lookup is not even sent, the learner is handed back.
        assert!(
            matches!(&o[1].1, Outcome::Failed(f) if f.kind == FailureKind::RateLimited && f.code == pacing::PACED
                && f.retry_after_ms.is_some_and(|ms| ms > 2_000))
        );
        assert_eq!(t.requests.len(), 1);
        // A 5xx answer is transient.
        s.remove(pacing::STATE_KEY);
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let o = c.deliver(
            &notification(),
            &[recipient("b", "b@x.io")],
            &mut Unreported,
        );
        assert!(matches!(&o[0].1, Outcome::Failed(f) if f.kind == FailureKind::Transient));
    }

    #[test]
    fn events_answer_url_verification_and_disconnect_on_uninstall() {
        let (mut s, mut l, mut t) = (active(), MemoryLog::default(), Script::default());
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let r = c.handle_inbound(&InboundRequest {
            route: "events".into(),
            body: br#"{"type":"url_verification","challenge":"abc"}"#.to_vec(),
            ..InboundRequest::default()
        });
        assert_eq!((r.status, r.body.as_slice()), (200, b"abc".as_slice()));
        let other_team =
            br#"{"type":"event_callback","team_id":"T9","event":{"type":"app_uninstalled"}}"#;
        let r = c.handle_inbound(&InboundRequest {
            route: "events".into(),
            body: other_team.to_vec(),
            ..InboundRequest::default()
        });
        assert_eq!(
            r.new_state, None,
            "another workspace's event changes nothing"
        );
        let ours =
            br#"{"type":"event_callback","team_id":"T1","event":{"type":"app_uninstalled"}}"#;
        let r = c.handle_inbound(&InboundRequest {
            route: "events".into(),
            body: ours.to_vec(),
            ..InboundRequest::default()
        });
        assert!(matches!(
            r.new_state,
            Some(IntegrationState::Disconnected(_))
        ));
        assert_eq!(s.get_secret(secrets::BOT_TOKEN), None);
    }

    #[test]
    fn large_deliveries_list_the_directory_instead_of_looking_up_each_learner() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        // One recipient at a time, so that the script answers in order.
        s.set(pacing::IN_FLIGHT_KEY, "1").unwrap();
        let member =
            |i: usize| json!({"id": format!("U{i}"), "profile": {"email": format!("L{i}@X.io")}});
        let page1: Vec<_> = (0..6).map(member).collect();
        let mut page2: Vec<_> = (6..11).map(member).collect();
        page2.push(json!({"id": "U11", "deleted": true, "profile": {"email": "l11@x.io"}}));
        page2.push(json!({"id": "B1", "is_bot": true, "profile": {"email": "l12@x.io"}}));
        let mut t = Script::default()
            .answer(
                200,
                json!({"ok": true, "members": page1, "response_metadata": {"next_cursor": "c2"}}),
            )
            .answer(
                200,
                json!({"ok": true, "members": page2, "response_metadata": {"next_cursor": ""}}),
            )
            // The deactivated member and the bot are not in the map: each gets one lookup, which finds no one
            // reachable. Where every message goes is known before the first DM is opened.
            .answer(200, json!({"ok": true, "user": {"id": "U11", "deleted": true, "profile": {"email": "l11@x.io"}}}))
            .answer(200, json!({"ok": false, "error": "users_not_found"}));
        for i in 0..11 {
            t = t
                .answer(200, json!({"ok": true, "channel": {"id": format!("D{i}")}}))
                .answer(
                    200,
                    json!({"ok": true, "channel": format!("D{i}"), "ts": format!("{i}.0001")}),
                );
        }
        let recipients: Vec<_> = (0..13)
            .map(|i| recipient(&format!("r{i}"), &format!("l{i}@x.io")))
            .collect();
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let outcomes = c.deliver(&notification(), &recipients, &mut Unreported);
        let sent = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Sent { .. }))
            .count();
        assert_eq!(sent, 11);
        assert_eq!(outcomes[11].1, Outcome::Skipped(SkipReason::NoAccount));
        assert_eq!(outcomes[12].1, Outcome::Skipped(SkipReason::NoAccount));
        let methods = t.methods();
        assert_eq!(methods.iter().filter(|m| **m == "users.list").count(), 2);
        assert_eq!(
            methods
                .iter()
                .filter(|m| **m == "users.lookupByEmail")
                .count(),
            2
        );
        assert_eq!(t.form(1)["cursor"], "c2");
        // Within the max age, the map (including the two known misses) is reused without any call.
        let mut t2 = Script::default();
        let again = Connector::new(&mut s, &mut l, &mut t2, NOW + 60).deliver(
            &notification(),
            &recipients[11..],
            &mut Unreported,
        );
        assert!(
            again
                .iter()
                .all(|(_, o)| *o == Outcome::Skipped(SkipReason::NoAccount))
        );
        assert!(t2.requests.is_empty());
        // Past the max age, a miss is looked up again.
        s.set(keys::DIRECTORY_MAX_AGE, "3600").unwrap();
        let mut t3 =
            Script::default().answer(200, json!({"ok": false, "error": "users_not_found"}));
        Connector::new(&mut s, &mut l, &mut t3, NOW + 7200).deliver(
            &notification(),
            &recipients[12..],
            &mut Unreported,
        );
        assert_eq!(t3.methods(), ["users.lookupByEmail"]);
    }

    #[test]
    fn a_retry_after_a_lost_answer_finds_the_earlier_message_instead_of_posting_twice() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        s.set("member:T1:a@x.io", &format!("U1 {NOW}")).unwrap();
        s.set("dm:T1:U1", "D1").unwrap();
        let earlier = json!({"ts": "5.0001", "metadata": {"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": "d-a"}}});
        let other = json!({"ts": "4.0001", "metadata": {"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": "d-z"}}});
        let mut t = Script::default()
            .answer(200, json!({"ok": true, "messages": [earlier, other], "response_metadata": {"next_cursor": ""}}))
            .answer(200, json!({"ok": true, "messages": [other], "response_metadata": {"next_cursor": ""}}))
            .answer(200, json!({"ok": true, "channel": "D1", "ts": "6.0001"}));
        let mut retry = recipient("a", "a@x.io");
        retry.attempt = 2;
        retry.earlier_post = Some(NOW - 30);
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let found = c.deliver(
            &notification(),
            std::slice::from_ref(&retry),
            &mut Unreported,
        );
        assert_eq!(
            found[0].1,
            Outcome::Sent(Sent {
                conversation: "D1".into(),
                message_id: "5.0001".into(),
                already_sent: true
            })
        );
        // When the earlier attempt did not post, the retry posts (a minute later: history is one call a minute for
        // an app outside the Marketplace).
        s.remove(pacing::STATE_KEY);
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let posted = c.deliver(
            &notification(),
            std::slice::from_ref(&retry),
            &mut Unreported,
        );
        assert_eq!(
            posted[0].1,
            Outcome::Sent(Sent {
                conversation: "D1".into(),
                message_id: "6.0001".into(),
                already_sent: false
            })
        );
        assert_eq!(
            t.methods(),
            [
                "conversations.history",
                "conversations.history",
                "chat.postMessage"
            ]
        );
        assert_eq!(t.form(0)["include_all_metadata"], "true");
        assert_eq!(
            t.form(0)["limit"],
            "15",
            "Slack's page for apps outside the Marketplace"
        );
        assert_eq!(
            t.form(0)["oldest"],
            format!("{}.000000", NOW - 30 - CLOCK_SKEW_SECS),
            "only around the instant the earlier attempt said it was posting"
        );
        assert_eq!(
            t.form(0)["latest"],
            format!("{}.000000", NOW - 30 + 2 * CLOCK_SKEW_SECS)
        );
        // More messages around that instant than one page shows, none of them this delivery's: not known, so not
        // posted; retried as a transient failure (bounded by the host's attempts), never held back for ever.
        s.remove(pacing::STATE_KEY);
        let mut crowded = Script::default().answer(
            200,
            json!({"ok": true, "messages": [other], "has_more": true, "response_metadata": {"next_cursor": "c2"}}),
        );
        let mut c = Connector::new(&mut s, &mut l, &mut crowded, NOW);
        let unsure = c.deliver(&notification(), &[retry], &mut Unreported);
        assert!(
            matches!(&unsure[0].1, Outcome::Failed(f) if f.kind == FailureKind::Transient && f.code == "too_much_history"),
            "{unsure:?}"
        );
        assert_eq!(crowded.methods(), ["conversations.history"]);
    }

    /// The message sent to learner `id` (in `D-{id}`, at `ts`), which first showed the session a day earlier than
    /// [`notification`] now has it.
    fn message_update(id: &str, ts: &str) -> MessageUpdate {
        let mut first_shown = notification().session.unwrap();
        first_shown.starts_at -= 86_400;
        MessageUpdate {
            recipient: recipient(id, &format!("{id}@x.io")),
            message: MessageRef {
                conversation: format!("D-{id}"),
                message_id: ts.into(),
            },
            first_shown,
        }
    }

    fn blocks_of(form: &BTreeMap<String, String>) -> Vec<Value> {
        serde_json::from_str::<Value>(&form["blocks"])
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    #[test]
    fn an_update_changes_each_message_in_place_and_reports_as_it_goes() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        // One message at a time: each outcome is reported before the next update.
        s.set(pacing::IN_FLIGHT_KEY, "1").unwrap();
        let mut t = Script::default()
            .answer(
                200,
                json!({"ok": true, "channel": "D-a", "ts": "5.0001", "text": "x", "message": {}}),
            )
            .answer(
                200,
                json!({"ok": true, "channel": "D-b", "ts": "6.0001", "text": "x", "message": {}}),
            );
        let mut progress = MemoryProgress::default();
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let outcomes = c.update(
            &notification(),
            SessionChange::Edited,
            &[message_update("a", "5.0001"), message_update("b", "6.0001")],
            &mut progress,
        );
        let sent = |conversation: &str, ts: &str| {
            Outcome::Sent(Sent {
                conversation: conversation.into(),
                message_id: ts.into(),
                already_sent: false,
            })
        };
        assert_eq!(
            outcomes,
            [
                ("d-a".to_string(), sent("D-a", "5.0001")),
                ("d-b".to_string(), sent("D-b", "6.0001"))
            ]
        );
        // Each update is announced before it is made, and its outcome reported before the next one.
        assert_eq!(
            progress.reports,
            [
                Report::Posting("d-a".into()),
                Report::Outcome(DeliveryOutcome {
                    delivery_id: "d-a".into(),
                    outcome: sent("D-a", "5.0001")
                }),
                Report::Posting("d-b".into()),
                Report::Outcome(DeliveryOutcome {
                    delivery_id: "d-b".into(),
                    outcome: sent("D-b", "6.0001")
                }),
            ]
        );
        // No look-up, no DM: the messages are where their outcomes said.
        assert_eq!(t.methods(), ["chat.update", "chat.update"]);
        let update = t.form(0);
        assert_eq!(update["channel"], "D-a");
        assert_eq!(update["ts"], "5.0001");
        assert_eq!(update["text"], "Updated: Safety");
        // The message keeps its sender and its metadata (Slack keeps what an update leaves out).
        for kept in ["username", "icon_url", "metadata", "thread_ts"] {
            assert!(!update.contains_key(kept), "{kept} in {update:?}");
        }
        let blocks = blocks_of(&update);
        assert_eq!(blocks[0]["text"]["text"], "You are invited");
        assert_eq!(blocks[1]["type"], "context");
        assert_eq!(
            blocks[1]["elements"][0]["text"],
            "Message updated. Changes: dates."
        );
        let fields = blocks
            .iter()
            .find_map(|b| b.get("fields"))
            .unwrap()
            .to_string();
        assert!(
            fields.contains("~<!date^1796025600^") && fields.contains("<!date^1796112000^"),
            "the old start struck through beside the new one: {fields}"
        );
        assert!(blocks.iter().any(|b| b["type"] == "actions"));
        assert_eq!(t.form(1)["channel"], "D-b");
    }

    #[test]
    fn a_cancellation_leaves_nothing_to_act_on_in_the_learners_language() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        let mut t = Script::default()
            .answer(200, json!({"ok": true, "channel": "D-a", "ts": "5.0001"}))
            .answer(200, json!({"ok": true, "channel": "D-b", "ts": "6.0001"}));
        let mut french = message_update("b", "6.0001");
        french.recipient.user.locale = "fr-FR".into();
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let outcomes = c.update(
            &notification(),
            SessionChange::Cancelled,
            &[message_update("a", "5.0001"), french],
            &mut Unreported,
        );
        assert!(outcomes.iter().all(|(_, o)| matches!(o, Outcome::Sent(_))));
        for (i, (notice, text)) in [
            ("*This session is cancelled.*", "Session cancelled: Safety"),
            (
                "*Cette session est annulée.*",
                "Session annulée\u{a0}: Safety",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let form = t.form(i);
            assert_eq!(form["text"], text);
            let blocks = blocks_of(&form);
            assert!(!blocks.iter().any(|b| b["type"] == "actions"), "no button");
            assert_eq!(blocks[1]["text"]["text"], notice);
        }
    }

    #[test]
    fn a_message_slack_no_longer_has_fails_for_good_and_the_others_go_on() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        let mut t = Script::default()
            .answer(200, json!({"ok": false, "error": "message_not_found"}))
            .answer(200, json!({"ok": false, "error": "cant_update_message"}))
            .answer(200, json!({"ok": false, "error": "edit_window_closed"}))
            .answer(200, json!({"ok": false, "error": "channel_not_found"}))
            .answer(200, json!({"ok": true, "channel": "D-e", "ts": "9.0001"}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let outcomes = c.update(
            &notification(),
            SessionChange::Edited,
            &["a", "b", "c", "d", "e"].map(|id| message_update(id, "1.0001")),
            &mut Unreported,
        );
        for ((_, outcome), (code, words)) in outcomes.iter().zip([
            ("message_not_found", "no longer has the message"),
            (
                "cant_update_message",
                "does not let the app change this message",
            ),
            (
                "edit_window_closed",
                "the time Slack allows for changing this message has passed",
            ),
            ("channel_not_found", "could not find the app's conversation"),
        ]) {
            let Outcome::Failed(f) = outcome else {
                panic!("{outcome:?}")
            };
            assert_eq!((f.kind, f.code.as_str()), (FailureKind::Permanent, code));
            assert!(
                f.message.starts_with("Updating the message failed: ") && f.message.contains(words),
                "{}",
                f.message
            );
            assert!(!f.message.contains(code), "plain words: {}", f.message);
        }
        assert!(matches!(&outcomes[4].1, Outcome::Sent(sent) if sent.message_id == "9.0001"));
        assert_eq!(
            c.status(),
            IntegrationState::Active(Workspace {
                id: "T1".into(),
                name: "Acme".into()
            })
        );
    }

    #[test]
    fn an_update_refused_for_the_rate_or_by_a_server_error_is_retried_and_a_revoked_token_stops_it()
    {
        let (mut s, mut l) = (active(), MemoryLog::default());
        // One message at a time: a refusal holds back the next one.
        s.set(pacing::IN_FLIGHT_KEY, "1").unwrap();
        let mut t = Script::default()
            .answer(429, json!({"ok": false, "error": "ratelimited"}))
            .answer(503, json!({}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let o = c.update(
            &notification(),
            SessionChange::Edited,
            &[message_update("a", "1.0001"), message_update("b", "2.0001")],
            &mut Unreported,
        );
        assert!(
            matches!(&o[0].1, Outcome::Failed(f) if f.kind == FailureKind::RateLimited && f.retry_after_ms == Some(3000)),
            "{o:?}"
        );
        // Retry-After (3 s) is past the batch's budget: the next update is not sent, and handed back.
        assert!(
            matches!(&o[1].1, Outcome::Failed(f) if f.kind == FailureKind::RateLimited && f.code == pacing::PACED)
        );
        assert_eq!(t.methods(), ["chat.update"]);
        s.remove(pacing::STATE_KEY);
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let o = c.update(
            &notification(),
            SessionChange::Edited,
            &[message_update("b", "2.0001")],
            &mut Unreported,
        );
        assert!(matches!(&o[0].1, Outcome::Failed(f) if f.kind == FailureKind::Transient));
        // A revoked token disconnects the integration: the rest of the batch is not tried.
        let mut t = Script::default().answer(200, json!({"ok": false, "error": "token_revoked"}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let o = c.update(
            &notification(),
            SessionChange::Cancelled,
            &[message_update("a", "1.0001"), message_update("b", "2.0001")],
            &mut Unreported,
        );
        for (_, o) in &o {
            assert!(matches!(o, Outcome::Failed(f) if f.kind == FailureKind::Disconnected));
        }
        assert!(matches!(c.status(), IntegrationState::Disconnected(_)));
        assert_eq!(t.requests.len(), 1);
    }

    /// A reminder of the invitation `1.0001` in `D-inv`, for learner `id`.
    fn reminder_to(id: &str) -> (Notification, Recipient) {
        let mut n = notification();
        n.kind = NotificationKind::SessionReminder;
        n.title = "Reminder: Safety".into();
        let mut r = recipient(id, &format!("{id}@x.io"));
        r.reply_to = Some(MessageRef {
            conversation: "D-inv".into(),
            message_id: "1.0001".into(),
        });
        (n, r)
    }

    #[test]
    fn a_reminder_replies_in_the_invitations_thread_without_looking_anyone_up() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        let mut t =
            Script::default().answer(200, json!({"ok": true, "channel": "D-inv", "ts": "7.0001"}));
        let (n, r) = reminder_to("a");
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let mut progress = MemoryProgress::default();
        let outcomes = c.deliver(&n, &[r], &mut progress);
        assert_eq!(
            outcomes[0].1,
            Outcome::Sent(Sent {
                conversation: "D-inv".into(),
                message_id: "7.0001".into(),
                already_sent: false
            })
        );
        assert_eq!(progress.reports[0], Report::Posting("d-a".into()));
        assert_eq!(
            t.methods(),
            ["chat.postMessage"],
            "no users.lookupByEmail, no conversations.open"
        );
        let post = t.form(0);
        assert_eq!(post["channel"], "D-inv");
        assert_eq!(post["thread_ts"], "1.0001");
        assert!(
            post["metadata"].contains("d-a"),
            "found again by its metadata"
        );
        assert_eq!(post["text"], "Reminder: Safety");
        let blocks = blocks_of(&post);
        assert!(
            blocks[1]["text"]["text"]
                .as_str()
                .unwrap()
                .starts_with("Reminder: the session starts <!date^1796112000^"),
            "{blocks:?}"
        );
        assert!(blocks.iter().any(|b| b["type"] == "actions"));
        // Without `reply_to`, a reminder is a message of its own: looked up, in the learner's DM, no thread.
        let (n, mut r) = reminder_to("b");
        r.reply_to = None;
        let mut t = Script::default()
            .answer(
                200,
                json!({"ok": true, "user": {"id": "U2", "profile": {"email": "b@x.io"}}}),
            )
            .answer(200, json!({"ok": true, "channel": {"id": "D2"}}))
            .answer(200, json!({"ok": true, "channel": "D2", "ts": "8.0001"}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        c.deliver(&n, &[r], &mut Unreported);
        assert_eq!(
            t.methods(),
            [
                "users.lookupByEmail",
                "conversations.open",
                "chat.postMessage"
            ]
        );
        assert!(!t.form(2).contains_key("thread_ts"));
    }

    #[test]
    fn a_reminder_whose_conversation_is_gone_fails_for_good_without_opening_another() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        let mut t =
            Script::default().answer(200, json!({"ok": false, "error": "channel_not_found"}));
        let (n, r) = reminder_to("a");
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let outcomes = c.deliver(&n, &[r], &mut Unreported);
        let Outcome::Failed(f) = &outcomes[0].1 else {
            panic!("{outcomes:?}")
        };
        assert_eq!(
            (f.kind, f.code.as_str()),
            (FailureKind::Permanent, "channel_not_found")
        );
        assert!(
            f.message.contains("thread") && f.message.contains("could not find"),
            "{}",
            f.message
        );
        assert_eq!(t.methods(), ["chat.postMessage"]);
    }

    #[test]
    fn a_reminders_retry_looks_for_the_earlier_reply_in_the_thread() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        let earlier = json!({"ts": "7.0001", "thread_ts": "1.0001", "metadata": {"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": "d-a"}}});
        let other = json!({"ts": "6.0001", "thread_ts": "1.0001", "metadata": {"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": "d-z"}}});
        let mut t = Script::default()
            .answer(
                200,
                json!({"ok": true, "messages": [other, earlier], "has_more": false}),
            )
            .answer(
                200,
                json!({"ok": true, "messages": [other], "has_more": false}),
            )
            .answer(200, json!({"ok": true, "channel": "D-inv", "ts": "8.0001"}))
            .answer(200, json!({"ok": false, "error": "thread_not_found"}));
        let (n, mut r) = reminder_to("a");
        r.attempt = 2;
        r.earlier_post = Some(NOW - 30);
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let found = c.deliver(&n, std::slice::from_ref(&r), &mut Unreported);
        assert_eq!(
            found[0].1,
            Outcome::Sent(Sent {
                conversation: "D-inv".into(),
                message_id: "7.0001".into(),
                already_sent: true
            })
        );
        let replies = t.form(0);
        assert_eq!(t.methods(), ["conversations.replies"]);
        assert_eq!(replies["channel"], "D-inv");
        assert_eq!(replies["ts"], "1.0001");
        assert_eq!(replies["include_all_metadata"], "true");
        assert_eq!(
            replies["oldest"],
            format!("{}.000000", NOW - 30 - CLOCK_SKEW_SECS)
        );
        assert_eq!(
            replies["latest"],
            format!("{}.000000", NOW - 30 + 2 * CLOCK_SKEW_SECS)
        );
        // Not in the thread: the reminder is posted there.
        s.remove(pacing::STATE_KEY);
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let posted = c.deliver(&n, std::slice::from_ref(&r), &mut Unreported);
        assert!(
            matches!(&posted[0].1, Outcome::Sent(sent) if sent.message_id == "8.0001" && !sent.already_sent)
        );
        assert_eq!(t.form(2)["thread_ts"], "1.0001");
        // The invitation is gone from its conversation: nothing to answer, for good.
        s.remove(pacing::STATE_KEY);
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        let gone = c.deliver(&n, &[r], &mut Unreported);
        assert!(
            matches!(&gone[0].1, Outcome::Failed(f) if f.kind == FailureKind::Permanent && f.code == "thread_not_found"
                && f.message.contains("no longer has the message this one answers")),
            "{gone:?}"
        );
        assert_eq!(
            t.methods(),
            [
                "conversations.replies",
                "conversations.replies",
                "chat.postMessage",
                "conversations.replies"
            ],
            "never conversations.history for a reply"
        );
    }

    #[test]
    fn deactivation_uninstalls_and_forgets_the_token() {
        let (mut s, mut l) = (active(), MemoryLog::default());
        let mut t = Script::default().answer(200, json!({"ok": true}));
        let mut c = Connector::new(&mut s, &mut l, &mut t, NOW);
        c.deactivate().unwrap();
        assert_eq!(c.status(), IntegrationState::Inactive);
        assert_eq!(t.methods(), ["apps.uninstall"]);
        assert_eq!(t.form(0)["client_id"], "123.456");
    }
}
