//! The web view (`/_sim/`): a member's conversations as Slack shows them, with Block Kit and mrkdwn
//! rendered, dates in the member's time zone, and buttons that send interaction payloads. Plain
//! server-rendered HTML.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use http::{StatusCode, header};
use serde_json::Value;

use super::Shared;
use super::model::{ConversationKind, Message, RequestStatus, Sender};
use super::outbound::button_action_id;
use super::state::State as SimState;
use super::tz;

pub use crate::markup::escape_html as esc;

/// Escapes text for Slack mrkdwn (`&`, `<`, `>`).
pub fn escape_mrkdwn(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const CSS: &str = r#"
:root { color-scheme: light; --fg:#1d1c1d; --muted:#616061; --line:#ddd; --accent:#007a5a; --link:#1264a3; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0; background: #f8f8f8; }
a { color: var(--link); }
:focus-visible { outline: 3px solid #1d9bd1; outline-offset: 2px; }
.card { max-width: 40rem; margin: 3rem auto; background: #fff; padding: 2rem; border: 1px solid var(--line); border-radius: 8px; }
.actions { display: flex; gap: .75rem; justify-content: flex-end; margin-top: 1.5rem; }
button, .button { font: inherit; padding: .45rem 1rem; border-radius: 4px; border: 1px solid #bbb; background: #fff; cursor: pointer; color: var(--fg); text-decoration: none; display: inline-block; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; font-weight: 600; }
button.danger { background: #e01e5a; border-color: #e01e5a; color: #fff; }
select, textarea { font: inherit; padding: .35rem; }
.muted { color: var(--muted); }
.notice { background: #fff4d6; padding: .5rem .75rem; border-radius: 4px; }
.topbar { background: #3f0e40; color: #fff; padding: .6rem 1rem; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
.topbar h1 { font-size: 1.05rem; margin: 0; }
.topbar a, .topbar label { color: #fff; }
.topbar form { display: flex; gap: .5rem; align-items: center; margin-left: auto; }
.layout { display: grid; grid-template-columns: 16rem 1fr; min-height: calc(100vh - 3rem); }
.sidebar { background: #4a154b; color: #e8d9e8; padding: 1rem; }
.sidebar h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; margin: 1rem 0 .3rem; color: #cfb8cf; }
.sidebar ul { list-style: none; margin: 0; padding: 0; }
.sidebar a { color: #fff; text-decoration: none; display: block; padding: .25rem .5rem; border-radius: 4px; }
.sidebar a[aria-current="page"] { background: #1164a3; }
.conv { background: #fff; padding: 1rem 1.5rem; }
.messages { list-style: none; margin: 0; padding: 0; }
.msg { display: grid; grid-template-columns: 40px 1fr; gap: .6rem; padding: .6rem 0; border-top: 1px solid #f0f0f0; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #7c3085; color: #fff; display: grid; place-items: center; font-weight: 700; overflow: hidden; }
.avatar img { width: 36px; height: 36px; }
.meta { margin: 0 0 .2rem; }
.tag { font-size: .65rem; background: #e8e8e8; color: var(--muted); padding: 0 .25rem; border-radius: 3px; font-weight: 700; }
time { color: var(--muted); font-size: .8rem; }
.blk-header { font-size: 1.1rem; margin: .3rem 0; }
.blk-section { display: flex; gap: 1rem; justify-content: space-between; margin: .3rem 0; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: .3rem 1rem; }
.blk-context { color: var(--muted); font-size: .8rem; display: flex; gap: .4rem; align-items: center; flex-wrap: wrap; }
.blk-context img { width: 20px; height: 20px; }
.blk-image img, .accessory img { max-width: 100%; max-height: 20rem; border-radius: 6px; }
.accessory img { max-width: 88px; }
.blk-actions { display: flex; gap: .5rem; flex-wrap: wrap; margin: .4rem 0; }
.blk-actions form, .accessory form { margin: 0; }
.mention { background: #e8f5fa; color: var(--link); border-radius: 3px; padding: 0 2px; }
.mention.broadcast { background: #fff4d6; color: #8a6000; }
code { background: #f4f4f4; border: 1px solid #e4e4e4; border-radius: 3px; padding: 0 3px; color: #c01343; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
"#;

/// A whole page.
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{}</title><style>{CSS}</style></head><body>{body}</body></html>"#,
        esc(title)
    ))
}

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

/// What mrkdwn rendering needs to know.
pub struct RenderCtx<'a> {
    /// The viewing member's time zone.
    pub tz: &'a str,
    /// Simulation clock, for "Today".
    pub now: i64,
    /// Member ID → name, for `<@U…>`.
    pub names: HashMap<String, String>,
}

fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn safe_url(u: &str) -> bool {
    let l = u.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://") || l.starts_with("mailto:")
}

/// Renders one `<…>` control sequence (without the brackets).
fn control(inner: &str, ctx: &RenderCtx) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l)),
        None => (inner, None),
    };
    if let Some(rest) = target.strip_prefix("!date^") {
        let fallback = label.map(decode_entities).unwrap_or_default();
        let mut parts = rest.splitn(3, '^');
        let ts = parts.next().and_then(|t| t.parse::<i64>().ok());
        let fmt = parts.next().map(decode_entities);
        let link = parts.next().map(decode_entities);
        let rendered = match (ts, fmt) {
            (Some(ts), Some(fmt)) => tz::render_date(ts, &fmt, ctx.tz, ctx.now),
            _ => None,
        };
        let text = esc(&rendered.unwrap_or(fallback));
        return match link.filter(|l| safe_url(l)) {
            Some(l) => format!(r#"<a href="{}">{text}</a>"#, esc(&l)),
            None => format!(r#"<span class="date">{text}</span>"#),
        };
    }
    if let Some(b) = target.strip_prefix('!') {
        let word = b.split('^').next().unwrap_or("");
        return match word {
            "here" | "channel" | "everyone" => {
                format!(r#"<span class="mention broadcast">@{}</span>"#, esc(word))
            }
            "subteam" => format!(
                r#"<span class="mention">{}</span>"#,
                esc(&decode_entities(label.unwrap_or("@group")))
            ),
            _ => esc(&decode_entities(label.unwrap_or(""))),
        };
    }
    if let Some(uid) = target.strip_prefix('@') {
        let name = ctx
            .names
            .get(uid)
            .cloned()
            .or_else(|| label.map(decode_entities))
            .unwrap_or_else(|| uid.to_string());
        return format!(r#"<span class="mention">@{}</span>"#, esc(&name));
    }
    if let Some(cid) = target.strip_prefix('#') {
        let name = label
            .map(decode_entities)
            .unwrap_or_else(|| cid.to_string());
        return format!(r#"<span class="mention">#{}</span>"#, esc(&name));
    }
    let url = decode_entities(target);
    if safe_url(&url) {
        let text = label.map(decode_entities).unwrap_or_else(|| url.clone());
        return format!(
            r#"<a href="{}" rel="noopener">{}</a>"#,
            esc(&url),
            esc(&text)
        );
    }
    esc(&decode_entities(&format!("<{inner}>")))
}

/// Applies one emphasis marker pair (`*bold*`) to escaped text.
fn emphasis(s: &str, marker: char, open: &str, close: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let word = |c: char| c.is_alphanumeric();
    while i < chars.len() {
        let c = chars[i];
        if c == marker
            && (i == 0 || !word(chars[i - 1]))
            && i + 1 < chars.len()
            && !chars[i + 1].is_whitespace()
        {
            // Find the closing marker on the same line.
            let mut j = i + 1;
            let mut found = None;
            while j < chars.len() && chars[j] != '\n' {
                if chars[j] == marker
                    && j > i + 1
                    && !chars[j - 1].is_whitespace()
                    && (j + 1 == chars.len() || !word(chars[j + 1]))
                {
                    found = Some(j);
                    break;
                }
                j += 1;
            }
            if let Some(j) = found {
                out.push_str(open);
                out.extend(&chars[i + 1..j]);
                out.push_str(close);
                i = j + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Renders Slack mrkdwn to HTML: entities, `<url|label>` links, mentions (`@here` highlighted as a ping),
/// `<!date^…>` in the viewer's time zone, `*bold*`, `_italic_`, `~strike~`, `` `code` ``, new lines.
pub fn mrkdwn(text: &str, ctx: &RenderCtx) -> String {
    // Control sequences become placeholders (private-use characters) so emphasis can span them.
    let mut rendered: Vec<String> = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        match rest[i + 1..].find('>') {
            Some(j) if !rest[i + 1..i + 1 + j].contains('<') && j > 0 && rendered.len() < 6000 => {
                plain.push_str(&rest[..i]);
                let idx = rendered.len() as u32;
                plain.push(char::from_u32(0xF0000 + idx).unwrap_or('\u{FFFD}'));
                rendered.push(control(&rest[i + 1..i + 1 + j], ctx));
                rest = &rest[i + 1 + j + 1..];
            }
            _ => {
                plain.push_str(&rest[..=i]);
                rest = &rest[i + 1..];
            }
        }
    }
    plain.push_str(rest);
    let mut html = esc(&decode_entities(&plain));
    html = emphasis(&html, '`', "<code>", "</code>");
    html = emphasis(&html, '*', "<strong>", "</strong>");
    html = emphasis(&html, '_', "<em>", "</em>");
    html = emphasis(&html, '~', "<del>", "</del>");
    html = html.replace('\n', "<br>");
    let mut out = String::with_capacity(html.len());
    for c in html.chars() {
        let cp = c as u32;
        if (0xF0000..0xF0000 + rendered.len() as u32).contains(&cp) {
            out.push_str(&rendered[(cp - 0xF0000) as usize]);
        } else {
            out.push(c);
        }
    }
    out
}

fn text_obj(t: &Value, ctx: &RenderCtx) -> String {
    let s = t.get("text").and_then(Value::as_str).unwrap_or("");
    if t.get("type").and_then(Value::as_str) == Some("mrkdwn") {
        mrkdwn(s, ctx)
    } else {
        esc(s).replace('\n', "<br>")
    }
}

/// Where a button's form posts from.
struct MsgRef<'a> {
    member: &'a str,
    channel: &'a str,
    ts: &'a str,
}

fn button(e: &Value, bi: usize, ei: usize, r: &MsgRef) -> String {
    let label = esc(e
        .get("text")
        .and_then(|t| t.get("text"))
        .and_then(Value::as_str)
        .unwrap_or("Button"));
    let action_id = button_action_id(e, bi, ei);
    let url = e.get("url").and_then(Value::as_str);
    let class = match e.get("style").and_then(Value::as_str) {
        Some("primary") => " class=\"primary\"",
        Some("danger") => " class=\"danger\"",
        _ => "",
    };
    let (target, hint) = match url {
        Some(u) => (
            r#" target="_blank""#,
            format!(
                r#" <span class="visually-hidden">(opens {} in a new tab)</span>"#,
                esc(u)
            ),
        ),
        None => ("", String::new()),
    };
    format!(
        r#"<form method="post" action="/_sim/click"{target}><input type="hidden" name="member" value="{}"><input type="hidden" name="channel" value="{}"><input type="hidden" name="ts" value="{}"><input type="hidden" name="action_id" value="{}"><button type="submit"{class}>{label}{hint}</button></form>"#,
        esc(r.member),
        esc(r.channel),
        esc(r.ts),
        esc(&action_id)
    )
}

fn image_tag(e: &Value, class: &str) -> String {
    let url = e.get("image_url").and_then(Value::as_str).unwrap_or("");
    let alt = e.get("alt_text").and_then(Value::as_str).unwrap_or("");
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return String::new();
    }
    format!(
        r#"<img class="{class}" src="{}" alt="{}">"#,
        esc(url),
        esc(alt)
    )
}

fn render_blocks(blocks: &Value, ctx: &RenderCtx, r: &MsgRef) -> String {
    let mut out = String::new();
    for (bi, b) in blocks.as_array().into_iter().flatten().enumerate() {
        match b.get("type").and_then(Value::as_str) {
            Some("header") => out.push_str(&format!(
                r#"<h3 class="blk-header">{}</h3>"#,
                b.get("text").map(|t| text_obj(t, ctx)).unwrap_or_default()
            )),
            Some("section") => {
                out.push_str(r#"<div class="blk-section"><div>"#);
                if let Some(t) = b.get("text") {
                    out.push_str(&format!("<div>{}</div>", text_obj(t, ctx)));
                }
                if let Some(fs) = b.get("fields").and_then(Value::as_array) {
                    out.push_str(r#"<div class="fields">"#);
                    for f in fs {
                        out.push_str(&format!("<div>{}</div>", text_obj(f, ctx)));
                    }
                    out.push_str("</div>");
                }
                out.push_str("</div>");
                if let Some(a) = b.get("accessory") {
                    out.push_str(r#"<div class="accessory">"#);
                    match a.get("type").and_then(Value::as_str) {
                        Some("button") => out.push_str(&button(a, bi, usize::MAX, r)),
                        Some("image") => out.push_str(&image_tag(a, "")),
                        _ => {}
                    }
                    out.push_str("</div>");
                }
                out.push_str("</div>");
            }
            Some("image") => {
                let title = b
                    .get("title")
                    .map(|t| format!("<figcaption>{}</figcaption>", text_obj(t, ctx)))
                    .unwrap_or_default();
                out.push_str(&format!(
                    r#"<figure class="blk-image">{title}{}</figure>"#,
                    image_tag(b, "")
                ));
            }
            Some("context") => {
                out.push_str(r#"<div class="blk-context">"#);
                for e in b
                    .get("elements")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    match e.get("type").and_then(Value::as_str) {
                        Some("image") => out.push_str(&image_tag(e, "")),
                        _ => out.push_str(&format!("<span>{}</span>", text_obj(e, ctx))),
                    }
                }
                out.push_str("</div>");
            }
            Some("actions") => {
                out.push_str(r#"<div class="blk-actions">"#);
                for (ei, e) in b
                    .get("elements")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if e.get("type").and_then(Value::as_str) == Some("button") {
                        out.push_str(&button(e, bi, ei, r));
                    }
                }
                out.push_str("</div>");
            }
            Some("divider") => out.push_str("<hr>"),
            _ => {}
        }
    }
    out
}

fn initials(name: &str) -> String {
    name.chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".into())
}

fn render_message(st: &SimState, m: &Message, ctx: &RenderCtx, member: &str) -> String {
    let (name, icon, is_app) = match &m.sender {
        Sender::App { .. } => {
            let name = m
                .username
                .clone()
                .unwrap_or_else(|| st.config.app.name.clone());
            let icon = match (&m.icon_url, &m.icon_emoji) {
                (Some(u), _) if u.starts_with("http://") || u.starts_with("https://") => {
                    format!(r#"<img src="{}" alt="">"#, esc(u))
                }
                (_, Some(e)) => esc(e),
                _ => esc(&initials(&name)),
            };
            (name, icon, true)
        }
        Sender::Slackbot => ("Slackbot".to_string(), "S".to_string(), false),
    };
    let secs =
        m.ts.split('.')
            .next()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0);
    let when =
        tz::render_date(secs, "{date_short_pretty} {time}", ctx.tz, ctx.now).unwrap_or_default();
    let iso = jiff::Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let tag = if is_app {
        r#" <span class="tag">APP</span>"#
    } else {
        ""
    };
    let r = MsgRef {
        member,
        channel: &m.channel,
        ts: &m.ts,
    };
    let content = match &m.blocks {
        Some(b) => render_blocks(b, ctx, &r),
        None => format!("<div>{}</div>", mrkdwn(&m.text, ctx)),
    };
    format!(
        r#"<li class="msg"><div class="avatar" aria-hidden="true">{icon}</div><div><p class="meta"><strong>{}</strong>{tag} <time datetime="{iso}">{}</time></p>{content}</div></li>"#,
        esc(&name),
        esc(&when)
    )
}

/// `GET /_sim/?member=U…&conv=D…`: the web view.
pub async fn index(
    State(sh): State<Arc<Shared>>,
    headers: http::HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let q: HashMap<String, String> = form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let st = sh.st();
    let cookie_member = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .find_map(|p| p.trim().strip_prefix("sim_member=").map(str::to_string));
    let ws = &st.config.workspace;
    let member = q
        .get("member")
        .cloned()
        .or(cookie_member)
        .and_then(|id| st.member(&id).cloned())
        .or_else(|| ws.members.iter().find(|m| !m.deleted && !m.is_bot).cloned());
    let mut options = String::new();
    for m in ws.members.iter().filter(|m| !m.is_bot) {
        let sel = if member.as_ref().is_some_and(|x| x.id == m.id) {
            " selected"
        } else {
            ""
        };
        let gone = if m.deleted { " (deactivated)" } else { "" };
        options.push_str(&format!(
            r#"<option value="{}"{sel}>{}{gone}</option>"#,
            esc(&m.id),
            esc(&m.real_name)
        ));
    }
    let installed = st.active_installation().is_some();
    let top = format!(
        r#"<header class="topbar"><h1>{} <span class="muted">(simulated Slack)</span></h1>
<nav aria-label="Simulation"><a href="/_sim/requests">App requests</a> · <a href="/_sim/state">State (JSON)</a> · <a href="/_sim/calls">API calls (JSON)</a></nav>
<form method="get" action="/_sim/"><label for="member">Viewing as</label><select id="member" name="member">{options}</select><button type="submit">Show</button></form></header>"#,
        esc(&ws.team_name)
    );
    let Some(member) = member else {
        return page(
            "Simulated Slack",
            &format!("{top}<main class=\"card\"><p>The workspace has no members.</p></main>"),
        )
        .into_response();
    };
    let convs: Vec<_> = st
        .conversations
        .iter()
        .filter(|c| c.member_id == member.id && !c.hidden)
        .collect();
    let selected = q
        .get("conv")
        .and_then(|id| convs.iter().find(|c| &c.id == id))
        .or(convs.first())
        .copied();
    let link = |c: &super::model::Conversation, label: &str| {
        let cur = if selected.is_some_and(|s| s.id == c.id) {
            r#" aria-current="page""#
        } else {
            ""
        };
        let href = form_urlencoded::Serializer::new(String::from("/_sim/?"))
            .append_pair("member", &member.id)
            .append_pair("conv", &c.id)
            .finish();
        format!(
            r#"<li><a href="{}"{cur}>{}</a></li>"#,
            esc(&href),
            esc(label)
        )
    };
    let mut dms = String::new();
    let mut apps = String::new();
    for c in &convs {
        match c.kind {
            ConversationKind::Slackbot => dms.push_str(&link(c, "Slackbot")),
            ConversationKind::AppDm => apps.push_str(&link(c, &st.config.app.name)),
        }
    }
    let none = r#"<li class="muted">None</li>"#;
    let sidebar = format!(
        r#"<nav class="sidebar" aria-label="Conversations"><h2>Direct messages</h2><ul>{}</ul><h2>Apps</h2><ul>{}</ul></nav>"#,
        if dms.is_empty() { none } else { &dms },
        if apps.is_empty() { none } else { &apps }
    );
    let ctx = RenderCtx {
        tz: &member.tz,
        now: st.now_secs(),
        names: ws
            .members
            .iter()
            .map(|m| (m.id.clone(), m.name.clone()))
            .collect(),
    };
    let flash = match q.get("click").map(String::as_str) {
        Some("ack") => r#"<p class="notice" role="status">The app acknowledged the click.</p>"#,
        Some("noack") => {
            r#"<p class="notice" role="alert">⚠ The app did not respond in time (Slack shows this warning to the member).</p>"#
        }
        _ => "",
    };
    let main = match selected {
        Some(c) => {
            let title = match c.kind {
                ConversationKind::Slackbot => "Slackbot".to_string(),
                ConversationKind::AppDm => st.config.app.name.clone(),
            };
            let msgs: String = c
                .messages
                .iter()
                .map(|m| render_message(&st, m, &ctx, &member.id))
                .collect();
            let msgs = if msgs.is_empty() {
                r#"<li class="muted">No messages yet.</li>"#.to_string()
            } else {
                msgs
            };
            format!(
                r#"<main class="conv" id="main"><h2>{}</h2>{flash}<p class="muted">Times in {} ({})</p><ol class="messages">{msgs}</ol></main>"#,
                esc(&title),
                esc(&member.real_name),
                esc(&member.tz)
            )
        }
        None => format!(
            r#"<main class="conv" id="main"><h2>No conversations</h2>{flash}<p class="muted">{} has no conversations yet.</p></main>"#,
            esc(&member.real_name)
        ),
    };
    let admin = if installed {
        r#"<form method="post" action="/_sim/apps/uninstall" class="conv"><input type="hidden" name="by" value="admin"><button type="submit" class="danger">Remove the app from the workspace (admin)</button></form>"#
    } else {
        r#"<p class="conv muted">The app is not installed.</p>"#
    };
    page(
        &format!("{} – simulated Slack", member.real_name),
        &format!(r#"{top}<div class="layout">{sidebar}<div>{main}{admin}</div></div>"#),
    )
    .into_response()
}

/// The app requests page with Approve and Deny buttons.
pub fn requests_page(st: &SimState) -> Html<String> {
    let mut rows = String::new();
    for r in &st.requests {
        let who = st
            .member(&r.member_id)
            .map(|m| m.real_name.clone())
            .unwrap_or_else(|| r.member_id.clone());
        let actions = if r.status == RequestStatus::Pending {
            format!(
                r#"<form method="post" action="/_sim/requests/{id}/approve" style="display:inline"><button type="submit" class="primary">Approve</button></form> <form method="post" action="/_sim/requests/{id}/deny" style="display:inline"><button type="submit">Deny</button></form>"#,
                id = esc(&r.id)
            )
        } else {
            String::new()
        };
        let status = match r.status {
            RequestStatus::Pending => "Pending",
            RequestStatus::Approved => "Approved",
            RequestStatus::Denied => "Denied",
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{status}</td><td>{actions}</td></tr>",
            esc(&r.id),
            esc(&who),
            esc(&r.message),
            esc(&r.scopes.join(", "))
        ));
    }
    if rows.is_empty() {
        rows = r#"<tr><td colspan="6" class="muted">No requests.</td></tr>"#.into();
    }
    page(
        "App requests – simulated Slack",
        &format!(
            r#"<main class="card" style="max-width:60rem"><h1>App install requests</h1><p><a href="/_sim/">Back to the workspace</a></p>
<table><caption class="visually-hidden">Requests to install {}</caption><thead><tr><th scope="col">Request</th><th scope="col">Member</th><th scope="col">Message</th><th scope="col">Scopes</th><th scope="col">Status</th><th scope="col">Decision</th></tr></thead><tbody>{rows}</tbody></table></main>"#,
            esc(&st.config.app.name)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RenderCtx<'static> {
        RenderCtx {
            tz: "Europe/Paris",
            now: 1_700_000_000,
            names: HashMap::from([("U1".into(), "alice".into())]),
        }
    }

    #[test]
    fn renders_mrkdwn() {
        let c = ctx();
        assert_eq!(
            mrkdwn("*bold* and _it_", &c),
            "<strong>bold</strong> and <em>it</em>"
        );
        assert_eq!(
            mrkdwn("a &amp; b &lt;script&gt;", &c),
            "a &amp; b &lt;script&gt;"
        );
        assert_eq!(
            mrkdwn("<https://x.test/?a=1&amp;b=2|the *link*>", &c),
            r#"<a href="https://x.test/?a=1&amp;b=2" rel="noopener">the *link*</a>"#
        );
        assert_eq!(
            mrkdwn("*<https://x.test|t>*", &c),
            r#"<strong><a href="https://x.test" rel="noopener">t</a></strong>"#
        );
        assert_eq!(
            mrkdwn("<javascript:alert(1)|x>", &c),
            "&lt;javascript:alert(1)|x&gt;"
        );
        assert!(mrkdwn("<!channel> hi", &c).contains("broadcast"));
        assert_eq!(mrkdwn("@channel", &c), "@channel");
        assert_eq!(
            mrkdwn("<@U1>", &c),
            r#"<span class="mention">@alice</span>"#
        );
        assert_eq!(
            mrkdwn("<!date^1700000000^{date_short_pretty} {time}|Nov 14>", &c),
            r#"<span class="date">Today 11:13 PM</span>"#
        );
        assert_eq!(
            mrkdwn("<!date^x^{time}|fallback &amp; co>", &c),
            r#"<span class="date">fallback &amp; co</span>"#
        );
        assert_eq!(mrkdwn("a<b", &c), "a&lt;b");
        assert_eq!(mrkdwn("snake_case_name", &c), "snake_case_name");
    }
}
