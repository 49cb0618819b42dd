//! Pacing to Slack's rate limits: only the connector knows them.
//!
//! Every Web API call takes a token from the buckets of its method first: one bucket per method at its tier's rate
//! (Tier 2 20 a minute, Tier 3 50, Tier 4 100), and for `chat.postMessage` one per conversation (about one a second)
//! and one for the workspace (300 a minute). The rates and burst sizes are those of Slack's documentation, which the
//! simulated Slack enforces too. `chat.update` (Tier 3) also takes a token from its conversation's bucket: changing a
//! message writes to the conversation as a post does (Slack's documentation names only the method's tier; counting
//! it there too is the cautious reading), so a batch that updates and posts in one conversation (an invitation
//! changed, a reminder in its thread) keeps to about one write a second. The buckets are kept in the connector's
//! settings (`pacing.state`), so that consecutive batches (each a fresh component instance) continue the same pace.
//!
//! A call whose bucket is empty waits (`std::thread::sleep`, which in the component is a wasi clocks poll) as long as
//! the batch's time budget allows (`batch_budget_ms`, 2 s by default: the host bounds each call's wall-clock time);
//! when the wait would not fit, the call is not made (the transport answers `TransportError::Deferred` with the wait)
//! and the connector hands the recipient back to the host as `paced` (rate-limited, not counted as an attempt) with
//! the time to wait. An HTTP 429 records its `Retry-After` on
//! the method's bucket, so that the next calls of that method wait too; the refused call is repeated when the wait
//! fits the budget (Slack did not act on it).
//!
//! The `rate_limit_scale` setting (operator or test) speeds every rate up by that factor, like the simulation's
//! `time_scale`; `off` (or 0) turns pacing off (429s are still honoured).
//!
//! Slack's limits are per app and workspace. When several platforms are connected to one Slack workspace with the same
//! app, each paces alone and their calls add up: the `rate_limit_share` setting (a fraction, 1 by default) gives the
//! platform that share of every workspace-wide bucket, its burst and its rate (set 0.25 on each of four platforms
//! sharing a workspace). The buckets of single conversations are not shared: each platform writes to its own
//! learners' DMs.
//!
//! Calls to different conversations may be in flight together: the `requests_in_flight` setting (8 by default, as
//! many as the host's default grant lets one call have) is how many requests a batch keeps in flight at once, each
//! sent once it has its tokens ([`Paced::send_window`], or [`Paced::send_all`] for a group sent together). It must not
//! exceed the grants' `max_requests_in_flight`, past which the host stops the call; 1 sends one call at a time.

use crate::api::{HttpRequest, HttpResponse, SLACK_API, Transport, TransportError};
use connector_api::Settings;
use connector_api::Window;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// The settings key of the persisted buckets.
pub const STATE_KEY: &str = "pacing.state";
/// The settings key of the rate scale (a positive number, `off` or `0`).
pub const SCALE_KEY: &str = "rate_limit_scale";
/// The settings key of the platform's share of the workspace's limits (more than 0, at most 1).
pub const SHARE_KEY: &str = "rate_limit_share";
/// The settings key of the time a batch may spend, waiting included, in milliseconds.
pub const BUDGET_KEY: &str = "batch_budget_ms";
/// The settings key of how many requests a batch may have in flight at once (at least 1).
pub const IN_FLIGHT_KEY: &str = "requests_in_flight";
/// Requests in flight at once when `requests_in_flight` is not set: the host's default `max_requests_in_flight`.
pub const DEFAULT_IN_FLIGHT: usize = 8;
/// The most requests in flight at once a setting may ask for.
const MAX_IN_FLIGHT: usize = 64;
/// The default time budget of one batch. The host's wall-clock limit per call must be well above it.
pub const DEFAULT_BUDGET_MS: u64 = 2_000;
pub use crate::api::PACED;
/// Tokens kept in reserve in every bucket, against the latency between our clock and Slack's.
const SPARE_TOKENS: f64 = 2.0;
/// The fraction of each rate we use, against clock drift.
const RATE_MARGIN: f64 = 0.99;
/// A refused (429) call is repeated at most this many times within a batch.
const MAX_429_REPEATS: u32 = 2;

/// Where pacing reads the time and waits.
pub trait Clock {
    /// Wall-clock milliseconds since the Unix epoch (shared across component instances).
    fn now_ms(&mut self) -> f64;
    /// Waits.
    fn sleep_ms(&mut self, ms: f64);
}

/// The system's clock: `SystemTime` and `std::thread::sleep` (wasi clocks in the component).
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&mut self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    }
    fn sleep_ms(&mut self, ms: f64) {
        if ms > 0.0 {
            std::thread::sleep(std::time::Duration::from_micros((ms * 1000.0) as u64));
        }
    }
}

/// A bucket's limit: `capacity` calls at once, `per_minute` sustained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Burst size.
    pub capacity: f64,
    /// Sustained calls per minute.
    pub per_minute: f64,
}

/// The workspace-wide bucket of `chat.postMessage`.
pub const POST_WORKSPACE: &str = "chat.postMessage@workspace";
/// What the key of one conversation's bucket starts with (the channel follows).
const CONVERSATION_PREFIX: &str = "chat.postMessage#";

/// Slack's limit of a method (by tier), as calls per minute; unknown methods are treated as Tier 3.
pub fn tier_per_minute(method: &str) -> f64 {
    match method {
        "apps.uninstall" => 1.0,
        "users.list" => 20.0,
        // Since 29 May 2025 (2 September 2025 for existing installations), Slack gives apps that are distributed
        // outside the Marketplace one call a minute of history (Slack's changelog, "Rate limit changes for
        // non-Marketplace apps"): an LMS's own app is such an app.
        "conversations.history" | "conversations.replies" => 1.0,
        "users.lookupByEmail"
        | "conversations.open"
        | "auth.revoke"
        | "chat.update"
        | "chat.delete" => 50.0,
        "auth.test" | "users.info" | "oauth.v2.access" => 100.0,
        _ => 50.0,
    }
}

/// The limit of a bucket key: a method, `chat.postMessage@workspace`, or `chat.postMessage#CHANNEL`.
pub fn limit(key: &str) -> Limit {
    if key == POST_WORKSPACE {
        Limit {
            capacity: 300.0,
            per_minute: 300.0,
        }
    } else if key.starts_with(CONVERSATION_PREFIX) {
        Limit {
            capacity: 3.0,
            per_minute: 60.0,
        }
    } else {
        let pm = tier_per_minute(key);
        Limit {
            capacity: pm,
            per_minute: pm,
        }
    }
}

/// One bucket's persisted state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Tokens left at `at`.
    #[serde(rename = "t")]
    pub tokens: f64,
    /// When `tokens` was computed (Unix ms).
    pub at: f64,
    /// No call before this instant (a 429's `Retry-After`), Unix ms.
    #[serde(rename = "b", default, skip_serializing_if = "is_zero")]
    pub blocked_until: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// What a call must do before it is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Permit {
    /// Go now (a token was taken).
    Go,
    /// Wait this long (ms), then ask again.
    Wait(f64),
}

/// The buckets of one workspace, their scale and the batch's budget.
#[derive(Debug, Clone)]
pub struct Pacer {
    buckets: BTreeMap<String, Bucket>,
    /// Rates are multiplied by this; `None`: pacing off (429s still honoured).
    scale: Option<f64>,
    /// The platform's share of the workspace-wide buckets.
    share: f64,
    /// When the batch started (Unix ms).
    started: f64,
    /// How long the batch may take, waits included (ms).
    budget_ms: f64,
    /// How many requests may be in flight at once.
    in_flight: usize,
    dirty: bool,
}

impl Pacer {
    /// The pacer of this platform, from its settings, for a batch that starts at `now_ms`.
    pub fn load<S: Settings + ?Sized>(settings: &S, now_ms: f64) -> Pacer {
        let scale = match settings.get(SCALE_KEY).as_deref().map(str::trim) {
            None | Some("") => Some(1.0),
            Some("off") => None,
            Some(v) => match v.parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 => Some(s),
                Ok(_) => None,
                Err(_) => Some(1.0),
            },
        };
        // A share that is not a fraction in (0, 1] is ignored: the whole workspace's limits, as without one.
        let share = settings
            .get(SHARE_KEY)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 1.0)
            .unwrap_or(1.0);
        let budget_ms = settings
            .get(BUDGET_KEY)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .unwrap_or(DEFAULT_BUDGET_MS as f64);
        // Not a whole number from 1 to 64: the default.
        let in_flight = settings
            .get(IN_FLIGHT_KEY)
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| (1..=MAX_IN_FLIGHT).contains(n))
            .unwrap_or(DEFAULT_IN_FLIGHT);
        let buckets = settings
            .get(STATE_KEY)
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default();
        Pacer {
            buckets,
            scale,
            share,
            started: now_ms,
            budget_ms,
            in_flight,
            dirty: false,
        }
    }

    /// How many requests may be in flight at once: the most recipients a batch works on together.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Writes the buckets back (only those that are not full, or blocked).
    pub fn save<S: Settings + ?Sized>(&mut self, settings: &mut S, now_ms: f64) {
        if !self.dirty {
            return;
        }
        let (scale, share) = (self.scale, self.share);
        self.buckets.retain(|key, b| {
            let l = shared_limit(key, share);
            b.blocked_until > now_ms || refilled(b, l, scale, now_ms) < usable(l)
        });
        if let Ok(v) = serde_json::to_string(&self.buckets) {
            let _ = settings.set(STATE_KEY, &v);
        }
        self.dirty = false;
    }

    /// Milliseconds left of the batch's budget at `now_ms`.
    pub fn budget_left(&self, now_ms: f64) -> f64 {
        (self.started + self.budget_ms - now_ms).max(0.0)
    }

    /// Whether pacing is on.
    pub fn is_on(&self) -> bool {
        self.scale.is_some()
    }

    /// Takes one token from every bucket of `keys` if all have one; otherwise says how long to wait.
    pub fn acquire(&mut self, keys: &[String], now_ms: f64) -> Permit {
        let mut wait: f64 = 0.0;
        for key in keys {
            if let Some(b) = self.buckets.get(key)
                && b.blocked_until > now_ms
            {
                wait = wait.max(b.blocked_until - now_ms);
            }
        }
        let Some(scale) = self.scale else {
            return if wait > 0.0 {
                Permit::Wait(wait)
            } else {
                Permit::Go
            };
        };
        for key in keys {
            let l = shared_limit(key, self.share);
            let tokens = self
                .buckets
                .get(key)
                .map_or(usable(l), |b| refilled(b, l, Some(scale), now_ms));
            if tokens < 1.0 {
                wait = wait.max((1.0 - tokens) / per_ms(l, scale));
            }
        }
        if wait > 0.0 {
            return Permit::Wait(wait);
        }
        for key in keys {
            let l = shared_limit(key, self.share);
            let tokens = self
                .buckets
                .get(key)
                .map_or(usable(l), |b| refilled(b, l, Some(scale), now_ms));
            let blocked_until = self.buckets.get(key).map_or(0.0, |b| b.blocked_until);
            self.buckets.insert(
                key.clone(),
                Bucket {
                    tokens: tokens - 1.0,
                    at: now_ms,
                    blocked_until,
                },
            );
        }
        self.dirty = true;
        Permit::Go
    }

    /// Records a 429: no call of these buckets before `retry_after_ms` from now, then one call, then the rate.
    pub fn refused(&mut self, keys: &[String], retry_after_ms: f64, now_ms: f64) {
        for key in keys {
            self.buckets.insert(
                key.clone(),
                Bucket {
                    tokens: 1.0,
                    at: now_ms + retry_after_ms,
                    blocked_until: now_ms + retry_after_ms,
                },
            );
        }
        self.dirty = true;
    }
}

/// The limit of the bucket `key` for a platform with `share` of the workspace's limits: a share of the burst and the
/// rate of a workspace-wide bucket; a conversation's bucket whole.
fn shared_limit(key: &str, share: f64) -> Limit {
    let l = limit(key);
    if key.starts_with(CONVERSATION_PREFIX) {
        return l;
    }
    Limit {
        capacity: l.capacity * share,
        per_minute: l.per_minute * share,
    }
}

/// The tokens a bucket may use: its capacity less the reserve.
fn usable(l: Limit) -> f64 {
    (l.capacity - SPARE_TOKENS).max(1.0)
}

fn per_ms(l: Limit, scale: f64) -> f64 {
    l.per_minute * scale * RATE_MARGIN / 60_000.0
}

fn refilled(b: &Bucket, l: Limit, scale: Option<f64>, now_ms: f64) -> f64 {
    let Some(scale) = scale else {
        return usable(l);
    };
    let elapsed = (now_ms - b.at).max(0.0);
    (b.tokens + elapsed * per_ms(l, scale)).min(usable(l))
}

/// The bucket of writes to one conversation: posts and updates (a `chat.postMessage#CHANNEL` key, as before updates
/// shared it).
fn conversation_key(channel: &str) -> String {
    format!("{CONVERSATION_PREFIX}{channel}")
}

/// The bucket keys of a request to `https://slack.com/api/METHOD`: a post takes from its conversation's bucket and
/// the workspace's, an update from its method's (Tier 3) and its conversation's, any other call from its method's.
pub fn keys_of(request: &HttpRequest) -> Vec<String> {
    let method = request
        .url
        .strip_prefix(SLACK_API)
        .unwrap_or(&request.url)
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_string();
    match method.as_str() {
        "chat.postMessage" => vec![
            conversation_key(&channel_of(request)),
            POST_WORKSPACE.to_string(),
        ],
        "chat.update" => vec![method.clone(), conversation_key(&channel_of(request))],
        _ => vec![method],
    }
}

/// The `channel` a request names: a field of its JSON body or of its form, empty when none.
fn channel_of(request: &HttpRequest) -> String {
    if crate::api::is_json(request) {
        // The client writes `channel` first (`api::PostBody`, `api::UpdateMessage`): reading that one string spares
        // scanning the blocks. Any other body is read whole.
        const FIRST: &[u8] = br#"{"channel":"#;
        if let Some(rest) = request.body.strip_prefix(FIRST)
            && let Some(Ok(channel)) = serde_json::Deserializer::from_slice(rest)
                .into_iter::<String>()
                .next()
        {
            return channel;
        }
        /// The one field read of a JSON body; serde skips the others without building them.
        #[derive(serde::Deserialize)]
        struct Channel {
            #[serde(default)]
            channel: String,
        }
        return serde_json::from_slice::<Channel>(&request.body)
            .map(|c| c.channel)
            .unwrap_or_default();
    }
    form_urlencoded::parse(&request.body)
        .find(|(k, _)| k == "channel")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A transport that paces every call through a [`Pacer`]. When a call would have to wait past the batch's budget,
/// it is not sent: the transport answers [`TransportError::Deferred`] with the wait.
pub struct Paced<'t, T: Transport + ?Sized, C: Clock> {
    inner: &'t mut T,
    /// The buckets.
    pub pacer: Pacer,
    /// The clock.
    pub clock: C,
    /// HTTP 429 answers received from Slack in this batch.
    pub refusals: u32,
}

impl<'t, T: Transport + ?Sized, C: Clock> Paced<'t, T, C> {
    /// Paces `inner` with `pacer`.
    pub fn new(inner: &'t mut T, pacer: Pacer, clock: C) -> Self {
        Paced {
            inner,
            pacer,
            clock,
            refusals: 0,
        }
    }

    /// The transport underneath, and the pacing that goes with it.
    fn split(&mut self) -> (&mut T, Gate<'_, C>) {
        (
            &mut *self.inner,
            Gate {
                pacer: &mut self.pacer,
                clock: &mut self.clock,
                refusals: &mut self.refusals,
            },
        )
    }
}

/// A [`Paced`] transport's buckets, clock and count of 429s, borrowed apart from the transport underneath.
struct Gate<'g, C: Clock> {
    pacer: &'g mut Pacer,
    clock: &'g mut C,
    refusals: &'g mut u32,
}

/// The error of a call held back for `wait_ms`: not sent, to be tried again after the wait (whole ms, at least 1).
fn held_back(wait_ms: f64) -> TransportError {
    TransportError::Deferred {
        retry_after_ms: wait_ms.ceil().max(1.0) as u64,
    }
}

/// What became of a call Slack answered: its answer, or a 429 to repeat once its wait is over.
enum Answered {
    Done(Result<HttpResponse, TransportError>),
    Repeat,
}

impl<C: Clock> Gate<'_, C> {
    /// Waits for a permit within the budget; `Err(wait_ms)` when it does not fit.
    fn permit(&mut self, keys: &[String]) -> Result<(), f64> {
        loop {
            let now = self.clock.now_ms();
            match self.pacer.acquire(keys, now) {
                Permit::Go => return Ok(()),
                Permit::Wait(ms) if ms <= self.pacer.budget_left(now) => self.clock.sleep_ms(ms),
                Permit::Wait(ms) => return Err(ms),
            }
        }
    }

    /// Reads Slack's answer to a call of the buckets `keys`: a 429 records its `Retry-After` on them, and is to be
    /// repeated when that fits the budget and the call was repeated fewer than [`MAX_429_REPEATS`] times.
    fn answered(
        &mut self,
        keys: &[String],
        answer: Result<HttpResponse, TransportError>,
        repeats: &mut u32,
    ) -> Answered {
        let response = match answer {
            Ok(response) if response.status == 429 => response,
            other => return Answered::Done(other),
        };
        *self.refusals += 1;
        let secs: f64 = response
            .header("retry-after")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1.0);
        let now = self.clock.now_ms();
        self.pacer.refused(keys, secs * 1000.0, now);
        *repeats += 1;
        if *repeats > MAX_429_REPEATS || secs * 1000.0 > self.pacer.budget_left(now) {
            // Slack's own answer goes back: the recipient is retried by the host after `Retry-After`.
            return Answered::Done(Ok(response));
        }
        Answered::Repeat
    }

    /// Slack's first answer to a call of the buckets `keys` sent once: a 429 repeats the call alone ([`Self::send_paced`]).
    fn settle<T: Transport + ?Sized>(
        &mut self,
        inner: &mut T,
        request: HttpRequest,
        keys: &[String],
        answer: Result<HttpResponse, TransportError>,
    ) -> Result<HttpResponse, TransportError> {
        let mut repeats = 0;
        match self.answered(keys, answer, &mut repeats) {
            Answered::Done(answer) => answer,
            Answered::Repeat => self.send_paced(inner, request, keys, repeats),
        }
    }

    /// Sends one call of the buckets `keys` until Slack answers it other than 429 or it may not be repeated.
    fn send_paced<T: Transport + ?Sized>(
        &mut self,
        inner: &mut T,
        request: HttpRequest,
        keys: &[String],
        mut repeats: u32,
    ) -> Result<HttpResponse, TransportError> {
        loop {
            if let Err(wait) = self.permit(keys) {
                return Err(held_back(wait));
            }
            let answer = inner.send(request.clone());
            match self.answered(keys, answer, &mut repeats) {
                Answered::Done(answer) => return answer,
                Answered::Repeat => {}
            }
        }
    }
}

/// A [`Window`] paced: each request takes its tokens before it goes (waiting within the budget, else answered at
/// once as held back), and a 429 is sent again once its wait is over, as [`Gate::send_paced`] does. Once something
/// went and the batch's budget is spent, every other request is held back 1 ms: the next call sends it at once.
struct PacedWindow<'w, 'g, C: Clock> {
    gate: Gate<'g, C>,
    work: &'w mut dyn Window,
    /// The requests in flight by number: each request (to repeat after a 429), its buckets and its repeats so far.
    flying: HashMap<usize, (HttpRequest, Vec<String>, u32)>,
    /// Requests refused with a 429, to send again.
    again: VecDeque<(usize, HttpRequest, Vec<String>, u32)>,
    /// Whether a request went.
    sent: bool,
}

impl<C: Clock> Window for PacedWindow<'_, '_, C> {
    fn next(&mut self) -> Option<(usize, HttpRequest)> {
        loop {
            let (tag, request, keys, repeats) = match self.again.pop_front() {
                Some(again) => again,
                None => {
                    let (tag, request) = self.work.next()?;
                    let keys = keys_of(&request);
                    (tag, request, keys, 0)
                }
            };
            let spent = self.sent && self.gate.pacer.budget_left(self.gate.clock.now_ms()) <= 0.0;
            match if spent {
                Err(1.0)
            } else {
                self.gate.permit(&keys)
            } {
                Err(wait) => self.work.answered(tag, Err(held_back(wait))),
                Ok(()) => {
                    self.sent = true;
                    self.flying.insert(tag, (request.clone(), keys, repeats));
                    return Some((tag, request));
                }
            }
        }
    }

    fn answered(&mut self, tag: usize, answer: Result<HttpResponse, TransportError>) {
        let Some((request, keys, mut repeats)) = self.flying.remove(&tag) else {
            return self.work.answered(tag, answer);
        };
        match self.gate.answered(&keys, answer, &mut repeats) {
            Answered::Done(answer) => self.work.answered(tag, answer),
            Answered::Repeat => self.again.push_back((tag, request, keys, repeats)),
        }
    }
}

impl<T: Transport + ?Sized, C: Clock> Transport for Paced<'_, T, C> {
    fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let keys = keys_of(&request);
        let (inner, mut gate) = self.split();
        gate.send_paced(inner, request, &keys, 0)
    }

    /// Takes each call's tokens in turn (waiting within the budget, or holding the call back), sends together the
    /// calls that got them, then repeats alone any that Slack refused with a 429.
    fn send_all(
        &mut self,
        requests: Vec<HttpRequest>,
    ) -> Vec<Result<HttpResponse, TransportError>> {
        let (inner, mut gate) = self.split();
        let permitted: Vec<(HttpRequest, Vec<String>, Result<(), f64>)> = requests
            .into_iter()
            .map(|request| {
                let keys = keys_of(&request);
                let permit = gate.permit(&keys);
                (request, keys, permit)
            })
            .collect();
        let going = permitted
            .iter()
            .filter(|(_, _, permit)| permit.is_ok())
            .map(|(request, _, _)| request.clone())
            .collect();
        let mut answers = inner.send_all(going).into_iter();
        permitted
            .into_iter()
            .map(|(request, keys, permit)| {
                if let Err(wait) = permit {
                    return Err(held_back(wait));
                }
                let answer = answers.next().expect("one answer per request sent");
                gate.settle(inner, request, &keys, answer)
            })
            .collect()
    }

    /// Takes the call's tokens (waiting within the budget, or holding the call back), sends it with `meanwhile`
    /// overlapping it, then repeats it alone while Slack refuses it with a 429.
    fn send_overlapping(
        &mut self,
        request: HttpRequest,
        meanwhile: &mut dyn FnMut(),
    ) -> Result<HttpResponse, TransportError> {
        let keys = keys_of(&request);
        let (inner, mut gate) = self.split();
        if let Err(wait) = gate.permit(&keys) {
            meanwhile();
            return Err(held_back(wait));
        }
        let answer = inner.send_overlapping(request.clone(), meanwhile);
        gate.settle(inner, request, &keys, answer)
    }

    /// Keeps `window` requests in flight, each paced as in [`PacedWindow`].
    fn send_window(&mut self, window: usize, work: &mut dyn Window) {
        let (inner, gate) = self.split();
        inner.send_window(
            window,
            &mut PacedWindow {
                gate,
                work,
                flying: HashMap::new(),
                again: VecDeque::new(),
                sent: false,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Method;
    use connector_api::fakes::{MemorySettings, Waves};

    struct Fake {
        now: f64,
        slept: f64,
        /// How far the time moves each time it is read.
        tick: f64,
    }

    impl Fake {
        /// A clock at `now` ms that has not slept.
        fn at(now: f64) -> Self {
            Fake {
                now,
                slept: 0.0,
                tick: 0.0,
            }
        }
    }

    impl Clock for Fake {
        fn now_ms(&mut self) -> f64 {
            self.now += self.tick;
            self.now
        }
        fn sleep_ms(&mut self, ms: f64) {
            self.now += ms;
            self.slept += ms;
        }
    }

    /// Answers 200, or 429 for the first `refuse` calls; counts calls per method.
    #[derive(Default)]
    struct Echo {
        refuse: u32,
        calls: Vec<String>,
    }

    impl Transport for Echo {
        fn send(&mut self, r: HttpRequest) -> Result<HttpResponse, TransportError> {
            self.calls.push(r.url.clone());
            if self.refuse > 0 {
                self.refuse -= 1;
                return Ok(HttpResponse {
                    status: 429,
                    headers: vec![("retry-after".into(), "1".into())],
                    body: vec![],
                });
            }
            Ok(HttpResponse {
                status: 200,
                headers: vec![],
                body: b"{\"ok\":true}".to_vec(),
            })
        }
    }

    fn call(method: &str, channel: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            url: format!("{SLACK_API}{method}"),
            headers: vec![],
            body: format!("channel={channel}&text=hi").into_bytes(),
        }
    }

    #[test]
    fn a_post_s_conversation_is_read_from_its_form_or_its_json_body() {
        let json = HttpRequest {
            method: Method::Post,
            url: format!("{SLACK_API}chat.postMessage"),
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: br#"{"text":"hi","blocks":[{"type":"section"}],"channel":"D7"}"#.to_vec(),
        };
        let expected = vec![conversation_key("D7"), POST_WORKSPACE.to_string()];
        assert_eq!(keys_of(&json), expected);
        // The client's own order, the channel first, read without the rest.
        let first = HttpRequest {
            body: br#"{"channel":"D7","text":"hi","blocks":[{"type":"section"}]}"#.to_vec(),
            ..json.clone()
        };
        assert_eq!(keys_of(&first), expected);
        assert_eq!(keys_of(&call("chat.postMessage", "D7")), expected);
    }

    #[test]
    fn a_tier_3_method_bursts_then_keeps_its_sustained_rate() {
        let s = MemorySettings::default();
        let mut p = Pacer::load(&s, 0.0);
        let keys = vec!["conversations.open".to_string()];
        for _ in 0..48 {
            assert_eq!(p.acquire(&keys, 0.0), Permit::Go);
        }
        // 50 a minute, 2 in reserve, 1% margin: the next token comes after about 1.21 s.
        let Permit::Wait(ms) = p.acquire(&keys, 0.0) else {
            panic!("the burst is spent")
        };
        assert!((ms - 60_000.0 / 50.0 / 0.99).abs() < 1.0, "{ms}");
        assert_eq!(p.acquire(&keys, ms), Permit::Go);
    }

    #[test]
    fn a_share_of_the_workspace_divides_its_bursts_and_rates_but_not_a_conversation_s() {
        let mut s = MemorySettings::default();
        s.set(SCALE_KEY, "60").unwrap();
        s.set(SHARE_KEY, "0.1").unwrap();
        let mut p = Pacer::load(&s, 0.0);
        // conversations.open: 50 at once and 50 a minute; a tenth is 5 at once, less the 2 kept in reserve…
        let open = vec!["conversations.open".to_string()];
        for _ in 0..3 {
            assert_eq!(p.acquire(&open, 0.0), Permit::Go);
        }
        // …then 5 a minute, 60 times faster: one call every 200 ms.
        let Permit::Wait(ms) = p.acquire(&open, 0.0) else {
            panic!("the shared burst is spent")
        };
        assert!((ms - 200.0 / 0.99).abs() < 0.5, "{ms}");
        // The workspace's posts: a tenth of 300, less the reserve; each conversation keeps its own bucket.
        let post = |channel: usize| {
            vec![
                conversation_key(&format!("D{channel}")),
                POST_WORKSPACE.to_string(),
            ]
        };
        for channel in 0..28 {
            assert_eq!(p.acquire(&post(channel), 0.0), Permit::Go, "{channel}");
        }
        assert!(matches!(p.acquire(&post(28), 0.0), Permit::Wait(_)));
        // A share that is not a fraction in (0, 1] is ignored.
        for share in ["0", "-1", "1.5", "NaN", "a tenth"] {
            s.set(SHARE_KEY, share).unwrap();
            let mut p = Pacer::load(&s, 0.0);
            for _ in 0..48 {
                assert_eq!(p.acquire(&open, 0.0), Permit::Go, "{share}");
            }
            assert!(matches!(p.acquire(&open, 0.0), Permit::Wait(_)), "{share}");
        }
    }

    #[test]
    fn the_scale_speeds_rates_up_and_off_turns_pacing_off() {
        let mut s = MemorySettings::default();
        s.set(SCALE_KEY, "60").unwrap();
        let mut p = Pacer::load(&s, 0.0);
        let keys = vec!["users.list".to_string()];
        for _ in 0..18 {
            assert_eq!(p.acquire(&keys, 0.0), Permit::Go);
        }
        let Permit::Wait(ms) = p.acquire(&keys, 0.0) else {
            panic!()
        };
        assert!((ms - 50.0 / 0.99).abs() < 0.5, "{ms}");
        s.set(SCALE_KEY, "off").unwrap();
        let mut p = Pacer::load(&s, 0.0);
        for _ in 0..1000 {
            assert_eq!(p.acquire(&keys, 0.0), Permit::Go);
        }
    }

    #[test]
    fn posts_are_paced_per_conversation_and_for_the_workspace() {
        let mut s = MemorySettings::default();
        let mut p = Pacer::load(&s, 0.0);
        let d1 = keys_of(&call("chat.postMessage", "D1"));
        assert_eq!(d1, ["chat.postMessage#D1", POST_WORKSPACE]);
        assert_eq!(p.acquire(&d1, 0.0), Permit::Go);
        assert!(matches!(p.acquire(&d1, 0.0), Permit::Wait(ms) if ms > 900.0 && ms < 1100.0));
        for i in 0..297 {
            let k = keys_of(&call("chat.postMessage", &format!("D{}", i + 2)));
            assert_eq!(p.acquire(&k, 0.0), Permit::Go, "{i}");
        }
        let k = keys_of(&call("chat.postMessage", "D999"));
        assert!(matches!(p.acquire(&k, 0.0), Permit::Wait(_)));
        // The state survives into the next batch's pacer.
        p.save(&mut s, 0.0);
        let mut next = Pacer::load(&s, 10.0);
        assert!(matches!(next.acquire(&k, 10.0), Permit::Wait(_)));
        // Full buckets are not kept.
        let mut later = Pacer::load(&s, 10.0);
        later.dirty = true;
        later.save(&mut s, 3_600_000.0);
        assert_eq!(s.get(STATE_KEY).as_deref(), Some("{}"));
    }

    #[test]
    fn updates_take_from_their_tier_and_from_their_conversation_shared_with_posts() {
        let s = MemorySettings::default();
        let mut p = Pacer::load(&s, 0.0);
        let update = keys_of(&call("chat.update", "D1"));
        assert_eq!(update, ["chat.update", "chat.postMessage#D1"]);
        assert_eq!(limit("chat.update").per_minute, 50.0);
        // The conversation's burst is shared: an update then a post in the same DM use it up…
        assert_eq!(p.acquire(&update, 0.0), Permit::Go);
        let post = keys_of(&call("chat.postMessage", "D1"));
        assert!(
            matches!(p.acquire(&post, 0.0), Permit::Wait(ms) if ms > 900.0 && ms < 1100.0),
            "a post right after an update in the same conversation waits"
        );
        // …while another conversation's update goes at once.
        assert_eq!(
            p.acquire(&keys_of(&call("chat.update", "D2")), 0.0),
            Permit::Go
        );
        // Updates of many conversations keep Tier 3's pace: 50 a minute, 2 in reserve.
        for i in 0..46 {
            let k = keys_of(&call("chat.update", &format!("E{i}")));
            assert_eq!(p.acquire(&k, 0.0), Permit::Go, "{i}");
        }
        let k = keys_of(&call("chat.update", "E99"));
        assert!(matches!(p.acquire(&k, 0.0), Permit::Wait(_)));
    }

    #[test]
    fn a_429_blocks_the_method_for_retry_after_and_the_call_is_repeated_within_the_budget() {
        let s = MemorySettings::default();
        let mut inner = Echo {
            refuse: 1,
            ..Echo::default()
        };
        let clock = Fake::at(0.0);
        let mut t = Paced::new(&mut inner, Pacer::load(&s, 0.0), clock);
        let r = t.send(call("conversations.open", "")).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(t.refusals, 1);
        assert!((t.clock.slept - 1000.0).abs() < 1e-6, "{}", t.clock.slept);
        // Another method is not blocked.
        let before = t.clock.slept;
        t.send(call("users.lookupByEmail", "")).unwrap();
        assert_eq!(t.clock.slept, before);
        assert_eq!(inner.calls.len(), 3);
    }

    #[test]
    fn the_work_overlapping_a_call_runs_once_even_when_the_call_is_repeated_or_held_back() {
        let mut s = MemorySettings::default();
        let mut inner = Echo {
            refuse: 1,
            ..Echo::default()
        };
        let clock = Fake::at(0.0);
        let mut t = Paced::new(&mut inner, Pacer::load(&s, 0.0), clock);
        let mut ran = 0;
        let r = t
            .send_overlapping(call("users.list", ""), &mut || ran += 1)
            .unwrap();
        assert_eq!((r.status, ran, t.refusals), (200, 1, 1));
        // Held back past the budget: not sent, the work done all the same.
        s.set(BUDGET_KEY, "0").unwrap();
        let clock = Fake::at(t.clock.now);
        let mut t = Paced::new(&mut inner, Pacer::load(&s, 0.0), clock);
        t.pacer
            .refused(&keys_of(&call("users.list", "")), 60_000.0, 0.0);
        let mut ran = 0;
        let held = t.send_overlapping(call("users.list", ""), &mut || ran += 1);
        assert!(
            matches!(held, Err(TransportError::Deferred { .. })),
            "{held:?}"
        );
        assert_eq!(ran, 1);
        assert_eq!(inner.calls.len(), 2);
    }

    #[test]
    fn a_wait_past_the_budget_holds_the_call_back() {
        let mut s = MemorySettings::default();
        s.set(BUDGET_KEY, "500").unwrap();
        let mut inner = Echo::default();
        let clock = Fake::at(0.0);
        let mut t = Paced::new(&mut inner, Pacer::load(&s, 0.0), clock);
        for _ in 0..18 {
            assert_eq!(t.send(call("users.list", "")).unwrap().status, 200);
        }
        let e = t.send(call("users.list", "")).unwrap_err();
        let TransportError::Deferred {
            retry_after_ms: wait,
        } = e
        else {
            panic!("held back, not {e:?}")
        };
        assert!((3000..3100).contains(&wait), "{wait}");
        assert_eq!(inner.calls.len(), 18, "the held-back call was not sent");
    }

    #[test]
    fn a_wave_sends_together_the_calls_that_got_their_tokens_and_repeats_a_429_alone() {
        let wave = |budget_ms: &str, refuse: u32, channels: &[&str]| {
            let mut s = MemorySettings::default();
            s.set(BUDGET_KEY, budget_ms).unwrap();
            let mut inner = Waves::new(Echo {
                refuse,
                ..Echo::default()
            });
            let clock = Fake::at(0.0);
            let mut t = Paced::new(&mut inner, Pacer::load(&s, 0.0), clock);
            let calls = channels
                .iter()
                .map(|c| call("chat.postMessage", c))
                .collect();
            let answers: Vec<_> = t
                .send_all(calls)
                .into_iter()
                .map(|a| match a {
                    Ok(r) => r.status.to_string(),
                    Err(e) => format!("{e:?}"),
                })
                .collect();
            let (refusals, slept) = (t.refusals, t.clock.slept);
            (
                answers,
                inner.sizes,
                inner.inner.calls.len(),
                refusals,
                slept,
            )
        };
        // A conversation takes about a post a second: the second post to D1 waits for its token (about 1 s,
        // within the 3 s budget), then the three go together. Slack refuses the first (429, Retry-After 1 s): it
        // is repeated alone once the wait is over.
        let (answers, waves, calls, refusals, slept) = wave("3000", 1, &["D1", "D2", "D1"]);
        assert_eq!(answers, ["200", "200", "200"]);
        assert_eq!(waves, [3]);
        assert_eq!((calls, refusals), (4, 1));
        assert!((2000.0..2100.0).contains(&slept), "{slept}");
        // With a 1.5 s budget, a third post to D1 would wait past it: held back, not sent; the others go together.
        let (answers, waves, calls, _, _) = wave("1500", 0, &["D1", "D2", "D1", "D1"]);
        assert_eq!(answers[..3], ["200", "200", "200"]);
        assert!(answers[3].starts_with("Deferred"), "{answers:?}");
        assert_eq!((waves, calls), (vec![3], 3));
    }

    /// Requests given in order through a window; each answer noted by number, as a status or an error.
    struct Given {
        requests: VecDeque<(usize, HttpRequest)>,
        answers: BTreeMap<usize, String>,
    }

    impl Given {
        fn posts(channels: &[&str]) -> Self {
            Given {
                requests: channels
                    .iter()
                    .map(|c| call("chat.postMessage", c))
                    .enumerate()
                    .collect(),
                answers: BTreeMap::new(),
            }
        }
    }

    impl Window for Given {
        fn next(&mut self) -> Option<(usize, HttpRequest)> {
            self.requests.pop_front()
        }
        fn answered(&mut self, tag: usize, answer: Result<HttpResponse, TransportError>) {
            let answer = match answer {
                Ok(r) => r.status.to_string(),
                Err(e) => format!("{e:?}"),
            };
            assert!(self.answers.insert(tag, answer).is_none(), "answered once");
        }
    }

    #[test]
    fn a_window_paces_each_call_as_it_goes_and_repeats_a_429_when_its_wait_is_over() {
        let window = |budget_ms: &str, refuse: u32, tick: f64, channels: &[&str]| {
            let mut s = MemorySettings::default();
            s.set(BUDGET_KEY, budget_ms).unwrap();
            let mut inner = Waves::new(Echo {
                refuse,
                ..Echo::default()
            });
            let clock = Fake {
                tick,
                ..Fake::at(0.0)
            };
            let mut t = Paced::new(&mut inner, Pacer::load(&s, 0.0), clock);
            let mut work = Given::posts(channels);
            t.send_window(2, &mut work);
            let (refusals, slept) = (t.refusals, t.clock.slept);
            let answers: Vec<String> = work.answers.into_values().collect();
            (
                answers,
                inner.in_flight,
                inner.inner.calls.len(),
                refusals,
                slept,
            )
        };
        // Two in flight. Slack refuses the first post to D1 (429, Retry-After 1 s): sent again once the wait is
        // over, while D2's is in flight; the second post to D1 waits for its conversation's token (about 1 s).
        let (answers, in_flight, calls, refusals, slept) =
            window("3000", 1, 0.0, &["D1", "D2", "D1"]);
        assert_eq!(answers, ["200", "200", "200"]);
        assert_eq!(in_flight, [2, 2, 2, 1]);
        assert_eq!((calls, refusals), (4, 1));
        assert!((2000.0..2100.0).contains(&slept), "{slept}");
        // With a 1.5 s budget, a third post to D1 would wait past it: answered at once as held back, never sent.
        let (answers, _, calls, _, _) = window("1500", 0, 0.0, &["D1", "D2", "D1", "D1"]);
        assert_eq!(answers[..3], ["200", "200", "200"]);
        assert!(answers[3].starts_with("Deferred"), "{answers:?}");
        assert_eq!(calls, 3);
        // Slow answers spend the budget (the clock moves 600 ms each time it is read): once it is spent, what has
        // not gone is held back 1 ms, to be sent at once by the next call.
        let (answers, _, calls, _, _) = window("2000", 0, 600.0, &["D1", "D2", "D3", "D4"]);
        let held = "Deferred { retry_after_ms: 1 }";
        assert_eq!(answers, ["200", "200", held, held]);
        assert_eq!(calls, 2);
    }

    #[test]
    fn requests_in_flight_is_a_whole_number_from_1_to_64_else_the_default() {
        let in_flight = |value: Option<&str>| {
            let mut s = MemorySettings::default();
            if let Some(v) = value {
                s.set(IN_FLIGHT_KEY, v).unwrap();
            }
            Pacer::load(&s, 0.0).in_flight()
        };
        assert_eq!(in_flight(None), DEFAULT_IN_FLIGHT);
        assert_eq!(in_flight(Some(" 1 ")), 1);
        assert_eq!(in_flight(Some("64")), 64);
        for bad in ["0", "65", "-1", "2.5", "many", ""] {
            assert_eq!(in_flight(Some(bad)), DEFAULT_IN_FLIGHT, "{bad}");
        }
    }
}
