//! HTML helpers of the LMS pages: escaping, dates, and the page layout (header with "Acting as", navigation, the
//! link to the simulated Slack).

use lms::db::User;

pub use crate::markup::escape_html as esc;

/// Percent-encodes a value for a URL query or path segment.
pub fn url_enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A Unix time in a time zone, as "Tue 1 Dec 2026, 09:00 CET".
pub fn date(secs: i64, tz: &str) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(secs) else {
        return secs.to_string();
    };
    match ts.in_tz(tz) {
        Ok(z) => z.strftime("%a %-d %b %Y, %H:%M %Z").to_string(),
        Err(_) => ts.strftime("%a %-d %b %Y, %H:%M UTC").to_string(),
    }
}

/// A duration in seconds, in words ("3 days", "2 hours", "45 minutes").
pub fn duration(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if secs % 86_400 == 0 && secs > 0 {
        plural(secs / 86_400, "day")
    } else if secs % 3_600 == 0 && secs > 0 {
        plural(secs / 3_600, "hour")
    } else {
        plural(secs / 60, "minute")
    }
}

/// Which section of the site a page belongs to (for `aria-current`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Settings → Connectors.
    Connectors,
    /// Paths and sessions.
    Paths,
    /// Notifications and their delivery logs.
    Deliveries,
    /// Personal settings → Notifications.
    MyNotifications,
    /// Anything else.
    None,
}

/// A status message shown at the top of a page.
pub enum Flash {
    /// Something worked.
    Ok(String),
    /// Something was refused or failed.
    Error(String),
}

/// Everything the layout needs.
pub struct Frame<'a> {
    /// The user the visitor acts as.
    pub me: &'a User,
    /// Everyone the visitor may act as.
    pub users: &'a [User],
    /// The platform's name.
    pub platform_name: &'a str,
    /// The simulated Slack's base URL.
    pub slack_url: &'a str,
    /// This page's path and query, to come back to after switching user.
    pub here: &'a str,
}

const CSS: &str = r#"
:root { color-scheme: light; --fg:#1b1f24; --muted:#4d5561; --line:#d6dae0; --bg:#f4f5f7; --brand:#0b6e69; --brand-dark:#08524e; --link:#0a58b8; --ok-bg:#e5f4ea; --ok:#14532d; --err-bg:#fdecec; --err:#8a1020; --warn-bg:#fff4d6; --warn:#6b4a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
:focus-visible { outline: 3px solid #f2b134; outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: .5rem; background: #fff; padding: .3rem .6rem; z-index: 2; }
header.top { background: var(--brand-dark); color: #fff; display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .6rem 1.25rem; }
header.top a { color: #fff; }
.brand { font-weight: 700; text-decoration: none; font-size: 1.1rem; display: flex; align-items: center; gap: .5rem; }
.brand img { width: 28px; height: 28px; border-radius: 6px; background: #fff; }
.brand small { font-weight: 400; opacity: .9; }
nav.main ul { display: flex; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; flex-wrap: wrap; }
nav.main a { text-decoration: none; padding: .2rem .1rem; border-bottom: 2px solid transparent; }
nav.main a[aria-current="page"] { border-bottom-color: #f2b134; font-weight: 600; }
.harness { background: #1b1f24; color: #fff; display: flex; flex-wrap: wrap; gap: .4rem 1.25rem; align-items: center; padding: .35rem 1.25rem; font-size: .9rem; }
.harness a { color: #fff; }
.muted-light { color: #c9ced6; }
.actas { margin-left: auto; display: flex; gap: .4rem; align-items: center; }
.actas select { font: inherit; padding: .1rem .3rem; border-radius: 4px; border: 1px solid #fff; max-width: 18rem; }
.actas button { padding: .1rem .6rem; font-size: .9rem; }
.field input[type=radio] + label { display: inline; }
main { max-width: 60rem; margin: 1.5rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.6rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
.crumbs { color: var(--muted); font-size: .9rem; margin: 0; }
.crumbs ol { list-style: none; display: flex; gap: .4rem; padding: 0; margin: 0; flex-wrap: wrap; }
.crumbs li + li::before { content: "→"; margin-right: .4rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1.1rem 1.25rem; margin: 0 0 1rem; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(19rem, 1fr)); gap: 1rem; }
.tile h2 { margin-top: 0; display: flex; align-items: center; gap: .6rem; }
.tile .logo { width: 36px; height: 36px; }
.badge { display: inline-block; font-size: .8rem; font-weight: 700; padding: .1rem .55rem; border-radius: 999px; border: 1px solid currentColor; }
.badge.active { color: var(--ok); background: var(--ok-bg); }
.badge.inactive { color: var(--muted); background: #eef0f3; }
.badge.pending { color: var(--warn); background: var(--warn-bg); }
.badge.broken { color: var(--err); background: var(--err-bg); }
.muted { color: var(--muted); }
.flash { padding: .6rem .9rem; border-radius: 6px; margin: 0 0 1rem; border: 1px solid; }
.flash.ok { background: var(--ok-bg); color: var(--ok); }
.flash.error { background: var(--err-bg); color: var(--err); }
.note { background: var(--warn-bg); color: var(--warn); padding: .5rem .75rem; border-radius: 6px; }
button, .button { font: inherit; cursor: pointer; border-radius: 6px; border: 1px solid #8a939f; background: #fff; color: var(--fg); padding: .4rem 1rem; text-decoration: none; display: inline-block; }
button.primary, .button.primary { background: var(--brand); border-color: var(--brand); color: #fff; font-weight: 600; letter-spacing: .03em; }
button.primary:hover { background: var(--brand-dark); }
button.danger { background: #fff; border-color: var(--err); color: var(--err); font-weight: 600; letter-spacing: .03em; }
.actions { display: flex; gap: .6rem; flex-wrap: wrap; align-items: center; margin-top: .8rem; }
form.inline { display: inline; }
label { font-weight: 600; }
input[type=text], input[type=number], input[type=datetime-local], textarea, select { font: inherit; padding: .35rem .5rem; border: 1px solid #8a939f; border-radius: 4px; }
textarea { width: 100%; }
.field { margin: .6rem 0; }
.field label { display: block; margin-bottom: .2rem; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: .6rem 0; }
legend { font-weight: 600; padding: 0 .3rem; }
.switch { display: flex; gap: .7rem; align-items: flex-start; padding: .6rem 0; border-top: 1px solid var(--line); }
.switch:first-of-type { border-top: 0; }
.switch input { width: 1.3rem; height: 1.3rem; margin-top: .15rem; accent-color: var(--brand); }
.switch label { font-weight: 400; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .9rem; color: var(--muted); }
.status-sent { color: var(--ok); font-weight: 700; }
.status-skipped { color: var(--warn); font-weight: 700; }
.status-failed { color: var(--err); font-weight: 700; }
.status-queued, .status-in_flight { color: var(--muted); font-weight: 700; }
.cover { max-width: 100%; border-radius: 8px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
code { background: #eef0f3; padding: 0 .25rem; border-radius: 3px; }
"#;

/// The script of the "Acting as" switch: submits on change (the button stays for browsers without scripts).
const SCRIPT: &str = r#"
document.addEventListener('DOMContentLoaded', () => {
  const s = document.getElementById('act-as');
  if (s) s.addEventListener('change', () => s.form.requestSubmit());
});
"#;

fn role_label(role: &str) -> &str {
    match role {
        "admin" => "platform admin",
        "author" => "author",
        _ => "learner",
    }
}

/// A whole page.
pub fn page(
    frame: &Frame<'_>,
    section: Section,
    title: &str,
    flash: Option<&Flash>,
    body: &str,
) -> String {
    let me = frame.me;
    let mut options = String::new();
    for u in frame.users {
        options.push_str(&format!(
            r#"<option value="{}"{}>{} ({})</option>"#,
            esc(&u.id),
            if u.id == me.id { " selected" } else { "" },
            esc(&u.display_name),
            role_label(&u.role)
        ));
    }
    let link = |s: Section, href: &str, label: &str| {
        let cur = if s == section {
            r#" aria-current="page""#
        } else {
            ""
        };
        format!(r#"<li><a href="{href}"{cur}>{label}</a></li>"#)
    };
    let mut nav = String::new();
    if me.role == "admin" {
        nav.push_str(&link(
            Section::Connectors,
            "/settings/connectors",
            "Settings → Connectors",
        ));
    }
    if me.role == "admin" || me.role == "author" {
        nav.push_str(&link(Section::Paths, "/paths", "Paths &amp; sessions"));
        nav.push_str(&link(Section::Deliveries, "/notifications", "Delivery log"));
    }
    nav.push_str(&link(
        Section::MyNotifications,
        "/me/notifications",
        "My notifications",
    ));
    let flash = match flash {
        Some(Flash::Ok(m)) => format!(r#"<p class="flash ok" role="status">{}</p>"#, esc(m)),
        Some(Flash::Error(m)) => format!(r#"<p class="flash error" role="alert">{}</p>"#, esc(m)),
        None => String::new(),
    };
    format!(
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {platform}</title><link rel="icon" href="/static/acme-logo.png"><style>{CSS}</style><script>{SCRIPT}</script></head><body>
<a class="skip" href="#main">Skip to content</a>
<div class="harness" role="region" aria-label="Harness"><span class="muted-light">Simulated LMS</span>
<form class="actas" method="post" action="/act-as"><label for="act-as">Acting as:</label><select id="act-as" name="user">{options}</select><input type="hidden" name="return_to" value="{here}"><button type="submit">Switch</button></form>
<a href="{slack}/_sim/" target="_blank" rel="noopener">Open simulated Slack<span class="visually-hidden"> (opens in a new tab)</span></a></div>
<header class="top"><a class="brand" href="/"><img src="/static/acme-logo.png" alt="">{platform}</a>
<nav class="main" aria-label="Main"><ul>{nav}</ul></nav>
</header>
<main id="main">{flash}{body}</main></body></html>"##,
        title = esc(title),
        platform = esc(frame.platform_name),
        here = esc(frame.here),
        slack = esc(frame.slack_url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_formats() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(url_enc("a b/é"), "a+b%2F%C3%A9");
        assert_eq!(
            date(1_796_112_000, "Europe/Paris"),
            "Tue 1 Dec 2026, 09:00 CET"
        );
        assert_eq!(duration(3 * 86_400), "3 days");
        assert_eq!(duration(3_600), "1 hour");
        assert_eq!(duration(300), "5 minutes");
    }
}
