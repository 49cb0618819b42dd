//! The web view (`/_sim/`): a member's conversations as Slack shows them, with Block Kit and mrkdwn
//! rendered, dates in the member's time zone, and buttons that send interaction payloads. Plain
//! server-rendered HTML (maud templates).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use maud::{Markup, html};
use serde_json::Value;

use crate::blocks::{ButtonPlace, button_action_id};
use crate::csrf::PageToken;
use crate::html::{conversation_href, page};
use crate::model::{Conversation, ConversationKind, Member, Message, Sender};
use crate::mrkdwn::{self, RenderCtx};
use crate::reading;
use crate::request::{form_pairs, member_cookie};
use crate::state::{Shared, SimState};
use crate::tz;

/// A transparent 1×1 PNG (avatars and icons of the simulation).
const PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// `GET /_sim/static/{file}`: every `.png` is the same transparent pixel.
pub async fn static_file(Path(file): Path<String>) -> Response {
    if file.ends_with(".png") {
        ([(header::CONTENT_TYPE, "image/png")], PIXEL_PNG).into_response()
    } else {
        (StatusCode::NOT_FOUND, "not found\n").into_response()
    }
}

/// A string field of a JSON object.
fn str_field<'v>(v: &'v Value, k: &str) -> Option<&'v str> {
    v.get(k).and_then(Value::as_str)
}

/// Whether a URL is `http(s)` (the only images and links the view follows).
fn is_http_url(u: &str) -> bool {
    u.starts_with("http://") || u.starts_with("https://")
}

/// The message a button's form posts from.
struct MessageRef<'a> {
    /// The member viewing (who clicks).
    member: &'a str,
    /// The conversation.
    channel: &'a str,
    /// The message's ts.
    ts: &'a str,
    /// The page's form token.
    token: &'a PageToken,
}

/// A button: a form posting the click to `/_sim/click` (a new tab when the button opens a URL).
fn button(e: &Value, block_index: usize, place: ButtonPlace, r: &MessageRef) -> Markup {
    let label = e
        .get("text")
        .and_then(|t| str_field(t, "text"))
        .unwrap_or("Button");
    let url = str_field(e, "url");
    let class = str_field(e, "style").filter(|s| ["primary", "danger"].contains(s));
    html! {
        form method="post" action="/_sim/click" target=[url.map(|_| "_blank")] {
            (r.token.field())
            input type="hidden" name="member" value=(r.member);
            input type="hidden" name="channel" value=(r.channel);
            input type="hidden" name="ts" value=(r.ts);
            input type="hidden" name="action_id" value=(button_action_id(e, block_index, place));
            button type="submit" class=[class] {
                (label)
                @if let Some(u) = url {
                    " " span class="visually-hidden" { "(opens " (u) " in a new tab)" }
                }
            }
        }
    }
}

/// An image element or block's picture (only `http(s)` images are shown).
fn image(e: &Value) -> Markup {
    let url = str_field(e, "image_url").unwrap_or("");
    html! {
        @if is_http_url(url) {
            img class="" src=(url) alt=(str_field(e, "alt_text").unwrap_or(""));
        }
    }
}

/// A block's `elements` (none when absent).
fn elements(b: &Value) -> impl Iterator<Item = &Value> {
    b.get("elements")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// One block (header, section, image, context, actions, divider; others are not shown).
fn block(b: &Value, block_index: usize, ctx: &RenderCtx, r: &MessageRef) -> Markup {
    html! {
        @match str_field(b, "type") {
            Some("header") => h3 class="blk-header" {
                @if let Some(t) = b.get("text") { (mrkdwn::text_object_html(t, ctx)) }
            },
            Some("section") => div class="blk-section" {
                div {
                    @if let Some(t) = b.get("text") { div { (mrkdwn::text_object_html(t, ctx)) } }
                    @if let Some(fields) = b.get("fields").and_then(Value::as_array) {
                        div class="fields" {
                            @for f in fields { div { (mrkdwn::text_object_html(f, ctx)) } }
                        }
                    }
                }
                @if let Some(a) = b.get("accessory") {
                    div class="accessory" {
                        @match str_field(a, "type") {
                            Some("button") => (button(a, block_index, ButtonPlace::Accessory, r)),
                            Some("image") => (image(a)),
                            _ => {},
                        }
                    }
                }
            },
            Some("image") => figure class="blk-image" {
                @if let Some(t) = b.get("title") { figcaption { (mrkdwn::text_object_html(t, ctx)) } }
                (image(b))
            },
            Some("context") => div class="blk-context" {
                @for e in elements(b) {
                    @if str_field(e, "type") == Some("image") {
                        (image(e))
                    } @else {
                        span { (mrkdwn::text_object_html(e, ctx)) }
                    }
                }
            },
            Some("actions") => div class="blk-actions" {
                @for (i, e) in elements(b).enumerate() {
                    @if str_field(e, "type") == Some("button") {
                        (button(e, block_index, ButtonPlace::Element(i), r))
                    }
                }
            },
            Some("divider") => { hr; },
            _ => {},
        }
    }
}

/// The avatar's letter for a sender without an icon.
fn initials(name: &str) -> String {
    name.chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".into())
}

/// One message of a conversation as Slack lists it: the message, then its thread's replies under it (a reply
/// whose thread is not in the conversation is not shown, as in Slack).
fn listed_message(
    state: &SimState,
    c: &Conversation,
    m: &Message,
    ctx: &RenderCtx,
    member: &str,
    token: &PageToken,
) -> Markup {
    let replies: Vec<&Message> = c.replies(&m.ts).collect();
    html! {
        (message(state, m, ctx, member, token))
        @if !replies.is_empty() {
            li {
                p class="muted" {
                    (replies.len()) @if replies.len() == 1 { " reply" } @else { " replies" }
                }
                ol class="thread" {
                    @for r in replies { (message(state, r, ctx, member, token)) }
                }
            }
        }
    }
}

/// One message: the sender's avatar and name, the time, the blocks (or the text), "(edited)" once changed; a
/// deleted thread parent as Slack shows it.
fn message(
    state: &SimState,
    m: &Message,
    ctx: &RenderCtx,
    member: &str,
    token: &PageToken,
) -> Markup {
    if m.tombstone {
        return html! { li class="msg" { div {} p class="muted" { (m.text) } } };
    }
    let (name, icon, is_app) = match &m.sender {
        Sender::App { .. } => {
            let name = m.username.as_deref().unwrap_or(&state.config.app.name);
            let icon = match (&m.icon_url, &m.icon_emoji) {
                (Some(u), _) if is_http_url(u) => html! { img src=(u) alt=""; },
                (_, Some(e)) => html! { (e) },
                _ => html! { (initials(name)) },
            };
            (name, icon, true)
        }
        Sender::Slackbot => ("Slackbot", html! { "S" }, false),
    };
    let secs =
        m.ts.split('.')
            .next()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0);
    let when = tz::render_date(
        secs,
        "{date_short_pretty} {time}",
        ctx.tz,
        ctx.lang,
        ctx.now,
    )
    .unwrap_or_default();
    let iso = jiff::Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let r = MessageRef {
        member,
        channel: &m.channel,
        ts: &m.ts,
        token,
    };
    html! {
        li class="msg" {
            div class="avatar" aria-hidden="true" { (icon) }
            div {
                p class="meta" {
                    strong { (name) }
                    @if is_app { " " span class="tag" { "APP" } }
                    " " time datetime=(iso) { (when) }
                }
                @match &m.blocks {
                    Some(blocks) => {
                        @for (i, b) in blocks.as_array().into_iter().flatten().enumerate() {
                            (block(b, i, ctx, &r))
                        }
                    },
                    None => div { (mrkdwn::render(&m.text, ctx)) },
                }
                @if m.edited.is_some() { span class="edited" { "(edited)" } }
            }
        }
    }
}

/// The top bar: the workspace, links to the simulation's pages, who the view is for, and signing in as them (the
/// member the consent page then shows as signed in).
fn top_bar(state: &SimState, viewer: Option<&Member>, token: &PageToken) -> Markup {
    let ws = viewer.map_or(&state.config.workspace, |v| state.workspace_of_user(&v.id));
    html! {
        header class="topbar" {
            h1 { (ws.team_name) " " span class="muted" { "(simulated Slack)" } }
            nav aria-label="Simulation" {
                a href="/_sim/requests" { "App requests" } " · "
                a href="/_sim/state" { "State (JSON)" } " · "
                a href="/_sim/calls" { "API calls (JSON)" }
            }
            form method="get" action="/_sim/" {
                label for="member" { "Viewing as" }
                select id="member" name="member" {
                    @for m in ws.members.iter().filter(|m| !m.is_bot) {
                        option value=(m.id) selected[viewer.is_some_and(|v| v.id == m.id)] {
                            (m.real_name)
                            @if m.deleted { " (deactivated)" }
                        }
                    }
                }
                button type="submit" { "Show" }
            }
            @if let Some(v) = viewer {
                form method="post" action="/_sim/signin" {
                    (token.field())
                    input type="hidden" name="member" value=(v.id);
                    input type="hidden" name="return_to" value=(member_href(&v.id));
                    button type="submit" { "Sign in as " (v.real_name) }
                }
            }
        }
    }
}

/// The web view's address of a member's first conversation.
fn member_href(member_id: &str) -> String {
    form_urlencoded::Serializer::new(String::from("/_sim/?"))
        .append_pair("member", member_id)
        .finish()
}

/// The sidebar: the member's visible conversations, Slackbot under "Direct messages", the app under "Apps".
fn sidebar(
    state: &SimState,
    member: &Member,
    conversations: &[&Conversation],
    selected: Option<&Conversation>,
) -> Markup {
    let section = |kind: ConversationKind, label: &str| {
        let list: Vec<&&Conversation> = conversations.iter().filter(|c| c.kind == kind).collect();
        html! {
            ul {
                @for c in &list {
                    li {
                        a href=(conversation_href(&member.id, &c.id))
                            aria-current=[selected.is_some_and(|s| s.id == c.id).then_some("page")] {
                            (label)
                        }
                    }
                }
                @if list.is_empty() { li class="muted" { "None" } }
            }
        }
    };
    html! {
        nav class="sidebar" aria-label="Conversations" {
            h2 { "Direct messages" }
            (section(ConversationKind::Slackbot, "Slackbot"))
            h2 { "Apps" }
            (section(ConversationKind::AppDm, &state.config.app.name))
        }
    }
}

/// `GET /_sim/?member=U…&conv=D…`: the web view.
pub async fn index(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = form_pairs(query.unwrap_or_default().as_bytes());
    let token = shared.csrf.for_page(&headers);
    let state = shared.lock();
    let ws = &state.config.workspace;
    let member = query
        .get("member")
        .cloned()
        .or_else(|| member_cookie(&headers))
        .and_then(|id| state.member(&id))
        .or_else(|| ws.members.iter().find(|m| !m.deleted && !m.is_bot));
    let top = top_bar(&state, member, &token);
    let Some(member) = member else {
        let body = html! { (top) main class="card" { p { "The workspace has no members." } } };
        return token.respond(page("Simulated Slack", body));
    };
    let team_id = state.workspace_of_user(&member.id).team_id.clone();
    let conversations: Vec<&Conversation> = state
        .conversations
        .iter()
        .filter(|c| c.member_id == member.id && !c.hidden)
        .collect();
    let selected = query
        .get("conv")
        .and_then(|id| conversations.iter().find(|c| &c.id == id))
        .or(conversations.first())
        .copied();
    let ctx = reading::reader(
        member,
        state.workspace_of_user(&member.id),
        state.now_secs(),
    );
    let flash = html! {
        @match query.get("click").map(String::as_str) {
            Some("ack") => p class="notice" role="status" { "The app acknowledged the click." },
            Some("noack") => p class="notice" role="alert" {
                "⚠ The app did not respond in time (Slack shows this warning to the member)."
            },
            _ => {},
        }
    };
    let main = match selected {
        Some(c) => {
            let title = match c.kind {
                ConversationKind::Slackbot => "Slackbot",
                ConversationKind::AppDm => &state.config.app.name,
            };
            html! {
                main class="conv" id="main" {
                    h2 { (title) }
                    (flash)
                    p class="muted" { "Times in " (member.real_name) " (" (member.tz) ")" }
                    ol class="messages" {
                        @for m in c.messages.iter().filter(|m| !m.is_reply()) {
                            (listed_message(&state, c, m, &ctx, &member.id, &token))
                        }
                        @if c.messages.is_empty() { li class="muted" { "No messages yet." } }
                    }
                }
            }
        }
        None => html! {
            main class="conv" id="main" {
                h2 { "No conversations" }
                (flash)
                p class="muted" { (member.real_name) " has no conversations yet." }
            }
        },
    };
    let body = html! {
        (top)
        div class="layout" {
            (sidebar(&state, member, &conversations, selected))
            div {
                (main)
                @if state.active_installation(&team_id).is_some() {
                    form method="post" action="/_sim/apps/uninstall" class="conv" {
                        (token.field())
                        input type="hidden" name="by" value="admin";
                        input type="hidden" name="team" value=(team_id);
                        button type="submit" class="danger" { "Remove the app from the workspace (admin)" }
                    }
                } @else {
                    p class="conv muted" { "The app is not installed." }
                }
            }
        }
    };
    token.respond(page(
        &format!("{} – simulated Slack", member.real_name),
        body,
    ))
}
