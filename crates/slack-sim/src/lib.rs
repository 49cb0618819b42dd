//! A simulated Slack: a real HTTP server on 127.0.0.1 that speaks the Slack Web API as Slack does, for one app and
//! one workspace or several ([`SimConfig::other_workspaces`]), with Slack's OAuth v2 pages, signed events and
//! interactivity payloads to the app, fault injection, rate limits, and inspection endpoints and a web view.
//!
//! With several workspaces, the member who allows the app on the consent page decides which workspace it is
//! installed in; each installation has its own bot token, and a token sees its own workspace only (its members, its
//! conversations) and draws on its own workspace's rate limits, as Slack's limits are per app and workspace.
//!
//! Start it with [`start`] (plain HTTP), or [`start_tls`] to serve the same over TLS with a certificate of the
//! caller's (a test's CA signing `slack.com`, reached through an address pin, as the production path reaches
//! `https://slack.com`); drive and inspect it through the returned [`SimHandle`] or over HTTP:
//!
//! | endpoint | what |
//! | --- | --- |
//! | `GET/POST /api/METHOD` | the Web API (the methods below) |
//! | `GET/POST /oauth/v2/authorize` | the consent page (Allow, Cancel, or the request form in a restricted workspace) |
//! | `GET /_sim/` | web view: a member's conversations as Slack shows them |
//! | `GET /_sim/state`, `/_sim/conversations[?member=]`, `/_sim/calls`, `/_sim/installations`, `/_sim/requests`, `/_sim/deliveries`, `/_sim/interactions`, `/_sim/faults`, `/_sim/clock` | JSON inspection (`/_sim/requests` is an HTML page with Approve buttons for a browser) |
//! | `POST /_sim/faults` `{"method": "chat.postMessage", "fault": {"kind": "drop", "count": 1}}` | fault injection (`"fault": null` clears) |
//! | `POST /_sim/clock` `{"advance_secs": 600}` or `{"offset_secs": 0}` | the simulation clock |
//! | `POST /_sim/signin` (form `member`, `return_to`) | sets the `sim_member` cookie |
//! | `POST /_sim/requests/{id}/approve`, `/deny` | app manager decisions |
//! | `POST /_sim/apps/uninstall` (optional `team`) | an admin removes the app from a workspace, the first by default (signed events follow) |
//! | `POST /_sim/click` `{"member","channel","ts","action_id"}` | a button click (signed `block_actions`) |
//!
//! The Web API's methods and their rate limit tiers ([`METHODS`]; with Slack's limits, on by default
//! ([`RateLimits`]), a call over its tier is answered HTTP 429 `ratelimited` with `Retry-After`):
//!
//! | method | tier |
//! | --- | --- |
//! | `oauth.v2.access`, `auth.test`, `users.info`, `api.test` | Tier 4 (100 a minute) |
//! | `auth.revoke`, `users.lookupByEmail`, `conversations.open`, `chat.update`, `chat.delete` | Tier 3 (50) |
//! | `conversations.history`, `conversations.replies` | Tier 3 for an app approved for the Marketplace; else Tier 1 (1 a minute) with pages of at most 15 ([`App::marketplace_approved`]) |
//! | `users.list` | Tier 2 (20) |
//! | `apps.manifest.validate` | Tier 3 |
//! | `apps.uninstall`, `apps.manifest.create` | Tier 1 (1) |
//! | `chat.postMessage` | about 1 a second per conversation (a burst of 3), 300 a minute per workspace |
//!
//! An app with token rotation ([`App::token_rotation_enabled`]) gets expiring `xoxe.xoxb-…` tokens with refresh
//! tokens (`oauth.v2.access` with `grant_type=refresh_token`); an expired token answers `token_expired` by the
//! simulation's clock ([`SimHandle::advance_clock`]).
//!
//! `apps.manifest.validate` and `apps.manifest.create` take the app configuration token
//! ([`SimHandle::app_config_token`]); a created app takes the place of the simulation's one app, and its manifest's
//! scopes, URLs and settings are what the consent page and the Web API then behave by.
//!
//! Requests are read as Slack reads them: the token from `Authorization: Bearer` or a POST body (a token in the
//! query string is `invalid_auth`), bodies as JSON, urlencoded forms in UTF-8 or ISO-8859-1 (any other charset is
//! `invalid_charset`) or `multipart/form-data`.
//!
//! What it guards: it answers only a `Host` naming its own address (or `localhost`, or a name of
//! [`SimConfig::hosts`], `slack.com` by default), else 421; the Web API and every POST refuse a request from
//! another site (a foreign or `null` `Origin`, `Sec-Fetch-Site: cross-site`); a POST to `/_sim/*` or the consent
//! page is JSON (`Content-Type: application/json`) or a form of its pages carrying the browser session's token.
//! No page or JSON shows the app's client or signing secret, a token or a code (tokens as `xoxb-…WXYZ`); the
//! secrets are read in process ([`SimHandle::state`]).

#![warn(missing_docs)]

// How the modules depend on each other; each uses only modules of the lines above its own:
//   leaves     b64, blocks, hosts (the `Host`s served), ids, scopes, secrets (what pages show of them), signature,
//              text, ts (Slack timestamps), tz; html (page layout), request (reading requests), csrf (form tokens,
//              on request), mrkdwn (Slack's markup to HTML, on html, text and tz), manifest (app manifests, on
//              scopes)
//   data       model, then reading (a message as a member reads it, on model, mrkdwn, ts and tz)
//   state      state (the simulation and its lock), then objects (its records as Slack's JSON objects)
//   endpoints  api and ratelimit (the Web API), oauth (consent pages), web (the web view), to_app (events and
//              interactivity sent to the app), inspect (`/_sim/*`, which sends through to_app)
//   server     guard (what every request passes first), tls (the certificate served), server (routes and the
//              accept loop); this file (the handle)
mod api;
mod b64;
mod blocks;
mod csrf;
mod guard;
mod hosts;
mod html;
mod ids;
mod inspect;
mod manifest;
mod model;
mod mrkdwn;
mod oauth;
mod objects;
mod ratelimit;
mod reading;
mod request;
mod scopes;
mod secrets;
mod server;
mod signature;
mod state;
mod text;
mod tls;
mod to_app;
mod ts;
mod tz;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

pub use api::{METHODS, Tier};
pub use blocks::{MAX_BLOCKS, MAX_TEXT_CHARS, image_extension_ok, validate as validate_blocks};
pub use ids::SLACKBOT_ID;
pub use model::{
    ApiCall, App, Conversation, ConversationKind, Delivery, Edited, Fault, InstallRequest,
    Installation, Interaction, Member, MemberMessage, Message, RateLimits, RequestStatus, Sender,
    SimConfig, TokenRecord, TokenRevocation, Workspace,
};
pub use mrkdwn::{RenderCtx, pings, render_unformatted};
pub use reading::{ReadMessage, read_blocks, read_message, reader};
pub use signature::sign as sign_request;
pub use state::{CODE_TTL_SECS, StateSnapshot};
pub use tls::TlsIdentity;
pub use tz::{Lang, render_date};

use state::{Shared, SimState};

/// The simulated Slack (a name for the module's entry points; see [`start`]).
pub struct SlackSim;

impl SlackSim {
    /// Same as [`start`].
    pub async fn start(listen: SocketAddr, config: SimConfig) -> anyhow::Result<SimHandle> {
        start(listen, config).await
    }

    /// Same as [`start_tls`].
    pub async fn start_tls(
        listen: SocketAddr,
        config: SimConfig,
        identity: TlsIdentity,
    ) -> anyhow::Result<SimHandle> {
        start_tls(listen, config, identity).await
    }
}

/// A running simulation. Dropping it leaves the server running until the runtime ends; call
/// [`SimHandle::shutdown`] to stop it.
pub struct SimHandle {
    /// Where the server listens.
    addr: SocketAddr,
    /// `http`, or `https` over TLS.
    scheme: &'static str,
    /// The state the server's handlers share.
    shared: Arc<Shared>,
    /// Turned true to stop the server.
    stop: watch::Sender<bool>,
    /// The server's accept loop.
    task: tokio::task::JoinHandle<()>,
}

/// Starts the simulation on `listen` (use port 0 for any free port), over plain HTTP.
pub async fn start(listen: SocketAddr, config: SimConfig) -> anyhow::Result<SimHandle> {
    start_serving(listen, config, None).await
}

/// Starts the simulation on `listen` over TLS with `identity` (its certificate for `slack.com`, say, so that a
/// client whose `slack.com` is pinned to this address and that trusts the certificate's CA reaches it as
/// `https://slack.com`). The same API and pages as [`start`]; [`SimHandle::base_url`] says `https`.
pub async fn start_tls(
    listen: SocketAddr,
    config: SimConfig,
    identity: TlsIdentity,
) -> anyhow::Result<SimHandle> {
    start_serving(listen, config, Some(identity)).await
}

/// Starts the simulation, over TLS with `identity` if given.
async fn start_serving(
    listen: SocketAddr,
    config: SimConfig,
    identity: Option<TlsIdentity>,
) -> anyhow::Result<SimHandle> {
    config.validate()?;
    let tls = identity.map(TlsIdentity::acceptor).transpose()?;
    let (scheme, default_port) = if tls.is_some() {
        ("https", 443)
    } else {
        ("http", 80)
    };
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let mut state = SimState::new(config);
    state.base_url = format!("{scheme}://{addr}");
    let shared = Arc::new(Shared::new(state));
    let (stop, rx) = watch::channel(false);
    let app = server::router(shared.clone(), addr, default_port);
    let task = tokio::spawn(server::serve(listener, app, tls, rx));
    Ok(SimHandle {
        addr,
        scheme,
        shared,
        stop,
        task,
    })
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (`https://…` over TLS), the base of `/api/…` (Slack's `https://slack.com`).
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Web API base, `http://127.0.0.1:PORT/api/` (`https://…` over TLS; Slack's `https://slack.com/api/`).
    pub fn api_url(&self) -> String {
        format!("{}/api/", self.base_url())
    }

    /// The authorize URL base, `http://127.0.0.1:PORT/oauth/v2/authorize` (Slack's
    /// `https://slack.com/oauth/v2/authorize`).
    pub fn authorize_url(&self) -> String {
        format!("{}/oauth/v2/authorize", self.base_url())
    }

    /// A snapshot of the whole state.
    pub fn state(&self) -> StateSnapshot {
        self.shared.lock().snapshot()
    }

    /// All conversations (hidden ones included, marked `hidden`), with their messages.
    pub fn conversations(&self) -> Vec<Conversation> {
        self.shared.lock().conversations.clone()
    }

    /// One conversation by ID.
    pub fn conversation(&self, id: &str) -> Option<Conversation> {
        self.shared.lock().conversation(id).cloned()
    }

    /// Every message in the member's conversations (app DM and Slackbot), oldest first, with the
    /// conversation's kind and whether it is hidden.
    pub fn messages_for_member(&self, member_id: &str) -> Vec<MemberMessage> {
        let state = self.shared.lock();
        let mut out: Vec<MemberMessage> = state
            .conversations
            .iter()
            .filter(|c| c.member_id == member_id)
            .flat_map(|c| {
                c.messages.iter().map(|m| MemberMessage {
                    conversation_id: c.id.clone(),
                    kind: c.kind.clone(),
                    hidden: c.hidden,
                    message: m.clone(),
                })
            })
            .collect();
        out.sort_by(|a, b| a.message.ts.cmp(&b.message.ts));
        out
    }

    /// Every Web API call so far (the most recent `calls_kept`).
    pub fn api_calls(&self) -> Vec<ApiCall> {
        self.shared.lock().calls.iter().cloned().collect()
    }

    /// Installations (active or not).
    pub fn installations(&self) -> Vec<Installation> {
        self.shared.lock().installations.clone()
    }

    /// App install requests.
    pub fn requests(&self) -> Vec<InstallRequest> {
        self.shared.lock().requests.clone()
    }

    /// Outbound deliveries (events and interaction payloads) so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.clone()
    }

    /// Button clicks so far.
    pub fn interactions(&self) -> Vec<Interaction> {
        self.shared.lock().interactions.clone()
    }

    /// Simulation clock now, Unix seconds.
    pub fn now(&self) -> f64 {
        self.shared.lock().now()
    }

    /// Sets the clock offset (simulation time = real time + offset).
    pub fn set_clock_offset(&self, offset: Duration) {
        self.shared.lock().offset_ms = offset.as_millis() as i64;
    }

    /// Moves the simulation clock forward (codes expire, rate limit buckets refill).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.lock().advance(by);
    }

    /// Injects a fault on a Web API method (`"*"`: every method). Replaces the method's previous fault.
    pub fn set_fault(&self, method: &str, fault: Fault) {
        self.shared.lock().faults.insert(method.to_string(), fault);
    }

    /// Removes the fault of a method.
    pub fn clear_fault(&self, method: &str) {
        self.shared.lock().faults.remove(method);
    }

    /// Turns rate limiting on or off.
    pub fn set_rate_limits(&self, limits: RateLimits) {
        let mut state = self.shared.lock();
        state.config.rate_limits = limits;
        state.buckets.clear();
    }

    /// Turns the app's Messages tab on or off.
    pub fn set_messages_tab(&self, enabled: bool) {
        self.shared.lock().config.app.messages_tab_enabled = enabled;
    }

    /// Sets the app's Events API and interactivity URLs.
    pub fn set_app_urls(&self, events_url: Option<String>, interactivity_url: Option<String>) {
        let mut state = self.shared.lock();
        state.config.app.events_url = events_url;
        state.config.app.interactivity_url = interactivity_url;
    }

    /// The app configuration token (`xoxe.xoxp-…`) that `apps.manifest.validate` and `apps.manifest.create`
    /// take ([`SimConfig::app_config_token`], or the one made at start).
    pub fn app_config_token(&self) -> String {
        self.shared.lock().config_token.clone()
    }

    /// Sets the interaction ack deadline (Slack: 3 s).
    pub fn set_ack_deadline(&self, d: Duration) {
        self.shared.lock().config.ack_deadline = d;
    }

    /// An admin removes the app from the (first) workspace: tokens revoked, conversations hidden, and the signed
    /// `tokens_revoked` and `app_uninstalled` events sent to the events URL (in the background; see
    /// [`SimHandle::wait_for_deliveries`]). Returns false if the app was not installed.
    pub fn uninstall_app(&self) -> bool {
        to_app::uninstall(&self.shared, None)
    }

    /// An app manager approves an install request; Slackbot tells the member.
    pub fn approve_request(&self, id: &str) -> anyhow::Result<InstallRequest> {
        self.shared.lock().approve_request(id, None)
    }

    /// An app manager denies an install request; Slackbot tells the member.
    pub fn deny_request(&self, id: &str) -> anyhow::Result<InstallRequest> {
        self.shared.lock().deny_request(id, None, None)
    }

    /// A member clicks a button of a message: the signed `block_actions` payload goes to the interactivity
    /// URL; the result says whether the app acknowledged it in time.
    pub async fn click(
        &self,
        member_id: &str,
        channel: &str,
        ts: &str,
        action_id: &str,
    ) -> anyhow::Result<Interaction> {
        to_app::click(&self.shared, member_id, channel, ts, action_id).await
    }

    /// Waits until at least `n` deliveries are recorded, or `timeout` passes; returns them.
    pub async fn wait_for_deliveries(&self, n: usize, timeout: Duration) -> Vec<Delivery> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.shared.lock();
                if state.deliveries.len() >= n {
                    return state.deliveries.clone();
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, notified).await.is_err() {
                return self.shared.lock().deliveries.clone();
            }
        }
    }

    /// Stops the server and closes open connections.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The configuration of a seed file (the workspace, optionally other workspaces and the app), or the demo's.
pub fn standalone_config(workspace_file: Option<PathBuf>) -> anyhow::Result<SimConfig> {
    match workspace_file {
        Some(p) => SimConfig::from_file(&p),
        None => Ok(SimConfig::demo()),
    }
}

/// Runs the simulation of `config` until Ctrl-C. Prints the address and the demo links at start.
pub async fn run_until_ctrl_c(listen: SocketAddr, config: SimConfig) -> anyhow::Result<()> {
    let client_id = config.app.client_id.clone();
    serve_until_ctrl_c(start(listen, config).await?, &client_id).await
}

/// Runs the simulation of `config` over TLS with `identity` until Ctrl-C (see [`start_tls`]). Prints the address
/// and the demo links at start.
pub async fn run_tls_until_ctrl_c(
    listen: SocketAddr,
    config: SimConfig,
    identity: TlsIdentity,
) -> anyhow::Result<()> {
    let client_id = config.app.client_id.clone();
    serve_until_ctrl_c(start_tls(listen, config, identity).await?, &client_id).await
}

/// Prints the links of the running simulation, then stops it at Ctrl-C.
async fn serve_until_ctrl_c(handle: SimHandle, client_id: &str) -> anyhow::Result<()> {
    println!("Simulated Slack listening on {}", handle.base_url());
    println!("  Web API:     {}", handle.api_url());
    println!(
        "  Authorize:   {}?client_id={client_id}&scope=chat:write,im:write",
        handle.authorize_url(),
    );
    println!("  Web view:    {}/_sim/", handle.base_url());
    println!("  State JSON:  {}/_sim/state", handle.base_url());
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}
