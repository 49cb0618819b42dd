//! The simulation's in-memory state and the operations on it that do not depend on HTTP, and the lock the
//! server's handlers and the handle share it through.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::Notify;

use crate::csrf::CsrfKey;
use crate::ids;
use crate::model::*;
use crate::secrets::{HIDDEN, fingerprint};
use crate::text::{escape_mrkdwn, slug};

/// State shared by the server's handlers and the handle.
pub struct Shared {
    /// The simulation, behind its lock.
    state: Mutex<SimState>,
    /// Notified when a delivery or interaction is recorded.
    pub changed: Notify,
    /// The key of the pages' form tokens.
    pub csrf: CsrfKey,
}

impl Shared {
    /// Shares `state`.
    pub fn new(state: SimState) -> Self {
        Shared {
            state: Mutex::new(state),
            changed: Notify::new(),
            csrf: CsrfKey::random(),
        }
    }

    /// Locks the state (a poisoned lock is taken over: the simulation keeps going).
    pub fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Events owed to the app once an answer is computed and the state lock released (see `to_app`).
#[derive(Debug, Clone)]
pub enum Effect {
    /// The app was uninstalled: send `tokens_revoked` and `app_uninstalled`.
    Uninstalled(Installation),
    /// A bot token was revoked by `auth.revoke`: send `tokens_revoked`.
    TokenRevoked(Installation),
}

/// Lifetime of an OAuth code (Slack: 10 minutes).
pub const CODE_TTL_SECS: f64 = 600.0;

/// An OAuth code waiting to be exchanged.
#[derive(Clone, Debug, Serialize)]
pub struct OAuthCode {
    /// The code itself.
    pub code: String,
    /// The client that asked for it.
    pub client_id: String,
    /// The `redirect_uri` of the authorize request, if it named one (the exchange must then name the same).
    pub redirect_uri: Option<String>,
    /// The installation the code gives a token of.
    pub installation_id: String,
    /// The member who clicked Allow.
    pub member_id: String,
    /// Issue time (simulation clock, Unix seconds).
    pub created: f64,
    /// Exchanged already (codes work once).
    pub used: bool,
}

/// A refresh token of token rotation: it gives the next access token once.
#[derive(Clone, Debug)]
pub struct RefreshToken {
    /// The installation whose bot token it renews.
    pub installation_id: String,
    /// Exchanged already (Slack revokes a refresh token once used).
    pub used: bool,
}

/// Token bucket for rate limits (time in "Slack seconds").
#[derive(Clone, Debug)]
pub struct Bucket {
    /// Calls left now.
    pub tokens: f64,
    /// When `tokens` was last refilled ("Slack seconds").
    pub last: f64,
    /// When it is full again if nothing is taken ("Slack seconds"): from then on it is as good as a new bucket.
    pub full_at: f64,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn full(now: f64) -> Self {
        Bucket {
            tokens: f64::INFINITY,
            last: now,
            full_at: now,
        }
    }

    /// Takes one token; `Err(wait_slack_secs)` when none is left.
    pub fn take(&mut self, now: f64, capacity: f64, per_sec: f64) -> Result<(), f64> {
        if now > self.last {
            self.tokens += (now - self.last) * per_sec;
            self.last = now;
        }
        self.tokens = self.tokens.min(capacity);
        let taken = if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - self.tokens) / per_sec)
        };
        self.full_at = self.last + (capacity - self.tokens) / per_sec;
        taken
    }
}

/// All mutable state.
pub struct SimState {
    /// The workspace, the app and the settings (some change at run time).
    pub config: SimConfig,
    /// `http://127.0.0.1:PORT`, once bound.
    pub base_url: String,
    /// Clock offset added to real time (milliseconds).
    pub offset_ms: i64,
    /// When the simulation started (rate limits run on real time since then).
    pub started: Instant,
    /// Installations of the app, active or not.
    pub installations: Vec<Installation>,
    /// Every token issued, by token.
    pub tokens: HashMap<String, TokenRecord>,
    /// OAuth codes issued, by code.
    pub codes: HashMap<String, OAuthCode>,
    /// Refresh tokens issued (token rotation), by token.
    pub refresh_tokens: HashMap<String, RefreshToken>,
    /// The app configuration token `apps.manifest.*` take.
    pub config_token: String,
    /// Conversations, in creation order.
    pub conversations: Vec<Conversation>,
    /// Position of each conversation in `conversations`, by id (conversations are never removed).
    conversation_index: HashMap<String, usize>,
    /// Position of each DM in `conversations`, by (kind, member, app).
    dm_index: HashMap<(bool, String, Option<String>), usize>,
    /// Place of each member, by id: the position of their workspace in [`SimConfig::workspaces`] and theirs in it
    /// (members are never added or removed).
    member_index: HashMap<String, (usize, usize)>,
    /// App install requests.
    pub requests: Vec<InstallRequest>,
    /// Apps approved by an app manager, by team and app ID, with the approved scopes.
    pub approved: HashMap<(String, String), Vec<String>>,
    /// The most recent Web API calls (at most `config.calls_kept`).
    pub calls: VecDeque<ApiCall>,
    /// Sequence number of the last call recorded.
    pub call_seq: u64,
    /// Faults in force, by method (`*`: every method).
    pub faults: BTreeMap<String, Fault>,
    /// Rate limit buckets, by team and method or conversation key (`T…/chat.postMessage@workspace`).
    pub buckets: HashMap<String, Bucket>,
    /// How many buckets make the next new one sweep away the full ones ([`crate::ratelimit`]).
    pub buckets_swept_at: usize,
    /// Requests sent to the app.
    pub deliveries: Vec<Delivery>,
    /// Sequence number of the last delivery recorded.
    pub delivery_seq: u64,
    /// Button clicks.
    pub interactions: Vec<Interaction>,
    /// Last ts issued, in microseconds.
    pub last_ts_micros: i64,
    /// Sequence number of the last ID issued.
    pub id_seq: u64,
}

/// A snapshot of the whole state: with its secrets in process ([`crate::SimHandle::state`]), without them as
/// `/_sim/state` serves it ([`StateSnapshot::without_secrets`]).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct StateSnapshot {
    /// Simulation clock now (Unix seconds).
    pub now: f64,
    /// Clock offset in seconds.
    pub clock_offset_secs: f64,
    /// The workspace.
    pub workspace: Workspace,
    /// The other workspaces, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_workspaces: Vec<Workspace>,
    /// The app (its client and signing secrets only in process).
    pub app: App,
    /// Rate limits.
    pub rate_limits: RateLimits,
    /// Installations.
    pub installations: Vec<Installation>,
    /// Conversations with their messages.
    pub conversations: Vec<Conversation>,
    /// Install requests.
    pub requests: Vec<InstallRequest>,
    /// Faults in force.
    pub faults: BTreeMap<String, Fault>,
    /// API calls.
    pub calls: Vec<ApiCall>,
    /// Outbound deliveries (events, interactions).
    pub deliveries: Vec<Delivery>,
    /// Button clicks.
    pub interactions: Vec<Interaction>,
}

impl StateSnapshot {
    /// The snapshot as pages and JSON may show it: the app's secrets hidden, bot tokens as fingerprints (the call
    /// log keeps no secret to begin with).
    pub fn without_secrets(mut self) -> Self {
        self.app.client_secret = HIDDEN.into();
        self.app.signing_secret = HIDDEN.into();
        self.installations = self
            .installations
            .into_iter()
            .map(Installation::without_secrets)
            .collect();
        self
    }
}

impl TokenRecord {
    /// Whether it has expired at `now` (simulation clock).
    pub fn expired(&self, now: f64) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

impl Installation {
    /// The installation as pages and JSON may show it: its bot token as a fingerprint.
    pub fn without_secrets(mut self) -> Self {
        self.bot_token = self.bot_token.as_deref().map(fingerprint);
        self
    }
}

impl SimState {
    /// A fresh simulation of `config`: nothing installed, no conversations.
    pub fn new(config: SimConfig) -> Self {
        let member_index = config
            .workspaces()
            .enumerate()
            .flat_map(|(w, ws)| {
                ws.members
                    .iter()
                    .enumerate()
                    .map(move |(i, m)| (m.id.clone(), (w, i)))
            })
            .collect();
        let config_token = config
            .app_config_token
            .clone()
            .unwrap_or_else(ids::new_config_token);
        SimState {
            config,
            conversation_index: HashMap::new(),
            dm_index: HashMap::new(),
            member_index,
            base_url: String::new(),
            offset_ms: 0,
            started: Instant::now(),
            installations: Vec::new(),
            tokens: HashMap::new(),
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            config_token,
            conversations: Vec::new(),
            requests: Vec::new(),
            approved: HashMap::new(),
            calls: VecDeque::new(),
            call_seq: 0,
            faults: BTreeMap::new(),
            buckets: HashMap::new(),
            buckets_swept_at: 0,
            deliveries: Vec::new(),
            delivery_seq: 0,
            interactions: Vec::new(),
            last_ts_micros: 0,
            id_seq: 0,
        }
    }

    /// Simulation clock: real time plus the offset, Unix seconds.
    pub fn now(&self) -> f64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        real + self.offset_secs()
    }

    /// The clock offset in seconds.
    pub fn offset_secs(&self) -> f64 {
        self.offset_ms as f64 / 1000.0
    }

    /// Whole seconds of the simulation clock.
    pub fn now_secs(&self) -> i64 {
        self.now().floor() as i64
    }

    /// Time for rate limits, in "Slack seconds": real elapsed time × scale, plus the clock offset.
    pub fn rate_limit_now(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * self.config.rate_limits.time_scale
            + self.offset_secs()
    }

    /// Moves the simulation clock forward.
    pub fn advance(&mut self, d: Duration) {
        self.offset_ms = self.offset_ms.saturating_add(d.as_millis() as i64);
    }

    /// A fresh ID: `prefix` + 10 characters of A-Z0-9, unique in this simulation.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.id_seq += 1;
        ids::new_id(prefix, self.id_seq)
    }

    /// A new Slack ts, strictly greater than every ts issued before.
    pub fn new_ts(&mut self) -> String {
        let now_us = (self.now() * 1_000_000.0) as i64;
        let us = now_us.max(self.last_ts_micros + 1);
        self.last_ts_micros = us;
        format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
    }

    /// A member of any workspace by ID.
    pub fn member(&self, id: &str) -> Option<&Member> {
        let &(w, i) = self.member_index.get(id)?;
        self.workspace_at(w)?.members.get(i)
    }

    /// The workspace at `position` in [`SimConfig::workspaces`].
    fn workspace_at(&self, position: usize) -> Option<&Workspace> {
        match position {
            0 => Some(&self.config.workspace),
            n => self.config.other_workspaces.get(n - 1),
        }
    }

    /// A workspace by team ID.
    pub fn workspace(&self, team_id: &str) -> Option<&Workspace> {
        self.config.workspaces().find(|w| w.team_id == team_id)
    }

    /// The workspace an installation is in.
    pub fn installation_workspace(&self, inst: &Installation) -> &Workspace {
        self.workspace(&inst.team_id)
            .unwrap_or(&self.config.workspace)
    }

    /// The workspace of a member, if `member_id` is one.
    fn workspace_of(&self, member_id: &str) -> Option<&Workspace> {
        let &(w, _) = self.member_index.get(member_id)?;
        self.workspace_at(w)
    }

    /// The workspace a user shows in: a member's own, an app bot user's installation's, else (Slackbot) the first.
    pub fn workspace_of_user(&self, user_id: &str) -> &Workspace {
        self.workspace_of(user_id)
            .or_else(|| {
                let inst = self
                    .installations
                    .iter()
                    .find(|i| i.bot_user_id == user_id)?;
                self.workspace(&inst.team_id)
            })
            .unwrap_or(&self.config.workspace)
    }

    /// The workspace a conversation belongs to: its member's.
    pub fn workspace_of_conversation(&self, conversation_id: &str) -> &Workspace {
        self.conversation(conversation_id)
            .map_or(&self.config.workspace, |c| {
                self.workspace_of_user(&c.member_id)
            })
    }

    /// Adds a conversation and indexes it.
    fn push_conversation(&mut self, conversation: Conversation) {
        let i = self.conversations.len();
        self.conversation_index.insert(conversation.id.clone(), i);
        let key = (
            conversation.kind == ConversationKind::Slackbot,
            conversation.member_id.clone(),
            conversation.app_id.clone(),
        );
        self.dm_index.insert(key, i);
        self.conversations.push(conversation);
    }

    /// The app's installation in the workspace `team_id` while it is installed.
    pub fn active_installation(&self, team_id: &str) -> Option<&Installation> {
        self.installations
            .iter()
            .find(|i| i.active && i.app_id == self.config.app.app_id && i.team_id == team_id)
    }

    /// An installation by ID.
    pub fn installation_by_id(&self, id: &str) -> Option<&Installation> {
        self.installations.iter().find(|i| i.id == id)
    }

    /// Installs (or re-installs) the app for `member_id` with `scopes` in the member's workspace; returns the
    /// installation ID. A re-install while installed keeps the bot token and adds the scopes; after an uninstall, a
    /// new token is issued and the app's conversations in that workspace are shown again.
    pub fn install(&mut self, member_id: &str, scopes: &[String]) -> String {
        let now = self.now_secs();
        let app_id = self.config.app.app_id.clone();
        let team_id = self.workspace_of_user(member_id).team_id.clone();
        let idx = self
            .installations
            .iter()
            .position(|i| i.app_id == app_id && i.team_id == team_id);
        let idx = match idx {
            Some(i) => i,
            None => {
                let id = self.new_id("I");
                let bot_user_id = self.new_id("U");
                let bot_id = self.new_id("B");
                self.installations.push(Installation {
                    id,
                    app_id: app_id.clone(),
                    team_id: team_id.clone(),
                    installed_by: member_id.to_string(),
                    scopes: Vec::new(),
                    bot_user_id,
                    bot_id,
                    bot_token: None,
                    active: false,
                    installed_at: now,
                    uninstalled_at: None,
                });
                self.installations.len() - 1
            }
        };
        let need_token = {
            let inst = &self.installations[idx];
            let clock = self.now();
            !inst.active
                || inst
                    .bot_token
                    .as_ref()
                    .and_then(|t| self.tokens.get(t))
                    .map(|t| t.revoked.is_some() || t.expired(clock))
                    .unwrap_or(true)
        };
        let inst = &mut self.installations[idx];
        if !inst.active {
            inst.scopes.clear();
            inst.installed_at = now;
        }
        inst.active = true;
        inst.uninstalled_at = None;
        inst.installed_by = member_id.to_string();
        for s in scopes {
            if !inst.scopes.contains(s) {
                inst.scopes.push(s.clone());
            }
        }
        inst.scopes.sort();
        let inst_id = inst.id.clone();
        if need_token {
            self.issue_bot_token(&inst_id);
        }
        self.set_app_conversations_hidden(&app_id, &team_id, false);
        inst_id
    }

    /// Hides or shows the app `app_id`'s conversations with the members of `team_id`.
    fn set_app_conversations_hidden(&mut self, app_id: &str, team_id: &str, hidden: bool) {
        let Some(team) = self.config.workspaces().position(|w| w.team_id == team_id) else {
            return;
        };
        for c in &mut self.conversations {
            let in_team = self.member_index.get(&c.member_id).map(|p| p.0) == Some(team);
            if in_team && c.app_id.as_deref() == Some(app_id) {
                c.hidden = hidden;
            }
        }
    }

    /// Issues the installation `inst_id` a new bot token and returns it: an `xoxb-…` that never expires or, for an
    /// app with token rotation, an `xoxe.xoxb-…` that expires `token_expires_in_secs` from now.
    pub fn issue_bot_token(&mut self, inst_id: &str) -> String {
        let (token, expires_at) = if self.config.app.token_rotation_enabled {
            let lifetime = self.config.token_expires_in_secs as f64;
            (ids::new_rotating_bot_token(), Some(self.now() + lifetime))
        } else {
            (ids::new_bot_token(), None)
        };
        if let Some(inst) = self.installations.iter_mut().find(|i| i.id == inst_id) {
            inst.bot_token = Some(token.clone());
        }
        self.tokens.insert(
            token.clone(),
            TokenRecord {
                token: token.clone(),
                installation_id: inst_id.to_string(),
                revoked: None,
                expires_at,
            },
        );
        token
    }

    /// Issues a refresh token for the bot token of the installation `inst_id` (token rotation).
    pub fn issue_refresh_token(&mut self, inst_id: &str) -> String {
        let token = ids::new_refresh_token();
        self.refresh_tokens.insert(
            token.clone(),
            RefreshToken {
                installation_id: inst_id.to_string(),
                used: false,
            },
        );
        token
    }

    /// Uninstalls the app from the workspace `team_id`: revokes its tokens there, hides its conversations there,
    /// deactivates its bot user there. Returns the installation as it was (for the events), or `None` if not
    /// installed there.
    pub fn uninstall(&mut self, team_id: &str) -> Option<Installation> {
        let app_id = self.config.app.app_id.clone();
        let now = self.now_secs();
        let inst = self
            .installations
            .iter_mut()
            .find(|i| i.app_id == app_id && i.team_id == team_id && i.active)?;
        inst.active = false;
        inst.uninstalled_at = Some(now);
        let before = inst.clone();
        let inst_id = inst.id.clone();
        for t in self.tokens.values_mut() {
            if t.installation_id == inst_id && t.revoked.is_none() {
                t.revoked = Some(TokenRevocation::Uninstalled);
            }
        }
        self.set_app_conversations_hidden(&app_id, team_id, true);
        // Pending codes and refresh tokens of this installation die with it.
        self.codes.retain(|_, c| c.installation_id != inst_id);
        self.refresh_tokens
            .retain(|_, r| r.installation_id != inst_id);
        Some(before)
    }

    /// The app's DM with a member, created if needed; returns (id, already_existed).
    pub fn app_dm(&mut self, member_id: &str) -> (String, bool) {
        let app_id = self.config.app.app_id.clone();
        self.direct_conversation(ConversationKind::AppDm, member_id, Some(app_id))
    }

    /// The member's Slackbot conversation, created if needed.
    pub fn slackbot_dm(&mut self, member_id: &str) -> String {
        self.direct_conversation(ConversationKind::Slackbot, member_id, None)
            .0
    }

    /// A member's conversation of `kind` (with the app `app_id`, if any), created if needed; returns (id,
    /// already_existed).
    fn direct_conversation(
        &mut self,
        kind: ConversationKind,
        member_id: &str,
        app_id: Option<String>,
    ) -> (String, bool) {
        let key = (
            kind == ConversationKind::Slackbot,
            member_id.to_string(),
            app_id.clone(),
        );
        if let Some(&i) = self.dm_index.get(&key) {
            return (self.conversations[i].id.clone(), true);
        }
        let id = self.new_id("D");
        let created = self.now_secs();
        self.push_conversation(Conversation {
            id: id.clone(),
            kind,
            member_id: member_id.to_string(),
            app_id,
            hidden: false,
            created,
            messages: Vec::new(),
        });
        (id, false)
    }

    /// A conversation by ID, to change it.
    pub fn conversation_mut(&mut self, id: &str) -> Option<&mut Conversation> {
        let i = *self.conversation_index.get(id)?;
        self.conversations.get_mut(i)
    }

    /// A conversation by ID.
    pub fn conversation(&self, id: &str) -> Option<&Conversation> {
        let i = *self.conversation_index.get(id)?;
        self.conversations.get(i)
    }

    /// Slackbot writes to a member.
    pub fn slackbot_says(&mut self, member_id: &str, text: &str) {
        let conv = self.slackbot_dm(member_id);
        let ts = self.new_ts();
        if let Some(c) = self.conversation_mut(&conv) {
            c.messages
                .push(Message::from_slackbot(ts, conv, text.to_string()));
        }
    }

    /// Approves a pending install request; Slackbot tells the member.
    pub fn approve_request(
        &mut self,
        id: &str,
        by: Option<&str>,
    ) -> anyhow::Result<InstallRequest> {
        let req = self.decide_request(id, by, RequestStatus::Approved)?;
        let team_id = self.workspace_of_user(&req.member_id).team_id.clone();
        let entry = self
            .approved
            .entry((team_id, req.app_id.clone()))
            .or_default();
        for s in &req.scopes {
            if !entry.contains(s) {
                entry.push(s.clone());
            }
        }
        let app_name = escape_mrkdwn(&self.config.app.name);
        self.slackbot_says(
            &req.member_id,
            &format!(
                "Good news! Your request to install *{app_name}* was approved. You can now go back to the app and finish installing it."
            ),
        );
        Ok(req)
    }

    /// Denies a pending install request (decided by `by`, with the app manager's `reason` if any); Slackbot tells
    /// the member, as Slack does, with the reason.
    pub fn deny_request(
        &mut self,
        id: &str,
        by: Option<&str>,
        reason: Option<&str>,
    ) -> anyhow::Result<InstallRequest> {
        let reason = reason
            .map(|r| r.trim().chars().take(2000).collect::<String>())
            .filter(|r| !r.is_empty());
        let mut req = self.decide_request(id, by, RequestStatus::Denied)?;
        if let Some(r) = self.requests.iter_mut().find(|r| r.id == id) {
            r.reason.clone_from(&reason);
        }
        req.reason.clone_from(&reason);
        let app_name = escape_mrkdwn(&self.config.app.name);
        let by = by.map(|m| format!(" by <@{m}>")).unwrap_or_default();
        let why = reason
            .map(|r| format!("\n>{}", escape_mrkdwn(&r).replace('\n', "\n>")))
            .unwrap_or_default();
        self.slackbot_says(
            &req.member_id,
            &format!(
                "Your request to install *{app_name}* was not approved{by}.{why}\nYou can send a new request from the app's install page."
            ),
        );
        Ok(req)
    }

    /// The member's latest install request for the app, if any.
    pub fn latest_request(&self, member_id: &str) -> Option<&InstallRequest> {
        self.requests
            .iter()
            .rev()
            .find(|q| q.member_id == member_id && q.app_id == self.config.app.app_id)
    }

    /// Sets the status of a pending install request (decided by `by`, who must be an app manager of the requester's
    /// workspace); returns it.
    fn decide_request(
        &mut self,
        id: &str,
        by: Option<&str>,
        status: RequestStatus,
    ) -> anyhow::Result<InstallRequest> {
        let Some(i) = self.requests.iter().position(|r| r.id == id) else {
            anyhow::bail!("no install request {id}");
        };
        if let Some(by) = by {
            let workspace = self.workspace_of_user(&self.requests[i].member_id);
            if !workspace.app_managers.iter().any(|m| m == by) {
                anyhow::bail!(
                    "{by} is not an app manager of workspace {}, where install request {id} was made",
                    workspace.team_id
                );
            }
        }
        let req = &mut self.requests[i];
        if req.status != RequestStatus::Pending {
            anyhow::bail!("install request {id} is not pending");
        }
        req.status = status;
        req.decided_by = by.map(Into::into);
        Ok(req.clone())
    }

    /// Whether `member_id` has an install request for the app waiting.
    pub fn has_pending_request(&self, member_id: &str) -> bool {
        self.requests.iter().any(|q| {
            q.member_id == member_id
                && q.app_id == self.config.app.app_id
                && q.status == RequestStatus::Pending
        })
    }

    /// Logs a Web API call (numbered; the oldest dropped past `calls_kept`).
    pub fn record_call(&mut self, mut call: ApiCall) {
        self.call_seq += 1;
        call.seq = self.call_seq;
        self.calls.push_back(call);
        while self.calls.len() > self.config.calls_kept.max(1) {
            self.calls.pop_front();
        }
    }

    /// Logs a request sent to the app; returns it numbered.
    pub fn record_delivery(&mut self, mut d: Delivery) -> Delivery {
        self.delivery_seq += 1;
        d.seq = self.delivery_seq;
        self.deliveries.push(d.clone());
        d
    }

    /// Takes the fault in force for `method` (or `*`), counting it down.
    pub fn take_fault(&mut self, method: &str) -> Option<Fault> {
        for key in [method, "*"] {
            if let Some(f) = self.faults.get_mut(key) {
                if f.remaining() == Some(0) {
                    self.faults.remove(key);
                    continue;
                }
                let out = f.clone();
                f.decrement();
                if f.remaining() == Some(0) {
                    self.faults.remove(key);
                }
                return Some(out);
            }
        }
        None
    }

    /// The whole state as `/_sim/state` shows it.
    pub fn snapshot(&self) -> StateSnapshot {
        StateSnapshot {
            now: self.now(),
            clock_offset_secs: self.offset_secs(),
            workspace: self.config.workspace.clone(),
            other_workspaces: self.config.other_workspaces.clone(),
            app: self.config.app.clone(),
            rate_limits: self.config.rate_limits.clone(),
            installations: self.installations.clone(),
            conversations: self.conversations.clone(),
            requests: self.requests.clone(),
            faults: self.faults.clone(),
            calls: self.calls.iter().cloned().collect(),
            deliveries: self.deliveries.clone(),
            interactions: self.interactions.clone(),
        }
    }

    /// Bot user display name: the one configured (a manifest's `bot_user.display_name`), else the app name,
    /// lowercased, spaces as dashes (as Slack derives it).
    pub fn bot_name(&self) -> String {
        let app = &self.config.app;
        app.bot_display_name
            .clone()
            .unwrap_or_else(|| slug(&app.name))
    }
}
