//! Slack mrkdwn rendered to HTML for the web view: entities, `<url|label>` links, mentions (`@here` highlighted
//! as a ping), `<!date^…>` in the viewer's time zone, `*bold*`, `_italic_`, `~strike~`, `` `code` ``, new lines.

use std::collections::HashMap;

use maud::{Markup, PreEscaped, html};

use crate::html::escape;
use crate::text::unescape_mrkdwn;
use crate::tz;

/// What mrkdwn rendering needs to know.
pub struct RenderCtx<'a> {
    /// The viewing member's time zone.
    pub tz: &'a str,
    /// Simulation clock, for "Today".
    pub now: i64,
    /// Member ID → name, for `<@U…>`.
    pub names: HashMap<String, String>,
}

/// Whether a link may be followed from the web view (no `javascript:` and the like).
pub fn safe_url(u: &str) -> bool {
    let l = u.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://") || l.starts_with("mailto:")
}

/// Renders one `<…>` control sequence (without the brackets).
fn control(inner: &str, ctx: &RenderCtx) -> Markup {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l)),
        None => (inner, None),
    };
    let label = label.map(unescape_mrkdwn);
    if let Some(rest) = target.strip_prefix("!date^") {
        let mut parts = rest.splitn(3, '^');
        let ts = parts.next().and_then(|t| t.parse::<i64>().ok());
        let format = parts.next().map(unescape_mrkdwn);
        let link = parts.next().map(unescape_mrkdwn).filter(|l| safe_url(l));
        let text = match (ts, format) {
            (Some(ts), Some(format)) => tz::render_date(ts, &format, ctx.tz, ctx.now),
            _ => None,
        }
        .or(label)
        .unwrap_or_default();
        return match link {
            Some(l) => html! { a href=(l) { (text) } },
            None => html! { span class="date" { (text) } },
        };
    }
    if let Some(special) = target.strip_prefix('!') {
        let word = special.split('^').next().unwrap_or("");
        return match word {
            "here" | "channel" | "everyone" => {
                html! { span class="mention broadcast" { "@" (word) } }
            }
            "subteam" => {
                html! { span class="mention" { (label.as_deref().unwrap_or("@group")) } }
            }
            _ => html! { (label.unwrap_or_default()) },
        };
    }
    if let Some(uid) = target.strip_prefix('@') {
        let name = ctx
            .names
            .get(uid)
            .cloned()
            .or(label)
            .unwrap_or_else(|| uid.to_string());
        return html! { span class="mention" { "@" (name) } };
    }
    if let Some(cid) = target.strip_prefix('#') {
        let name = label.unwrap_or_else(|| cid.to_string());
        return html! { span class="mention" { "#" (name) } };
    }
    let url = unescape_mrkdwn(target);
    if safe_url(&url) {
        let text = label.unwrap_or_else(|| url.clone());
        return html! { a href=(url) rel="noopener" { (text) } };
    }
    html! { (unescape_mrkdwn(&format!("<{inner}>"))) }
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
            let closing = (i + 2..chars.len())
                .take_while(|&j| chars[j] != '\n')
                .find(|&j| {
                    chars[j] == marker
                        && !chars[j - 1].is_whitespace()
                        && (j + 1 == chars.len() || !word(chars[j + 1]))
                });
            if let Some(j) = closing {
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

/// The first of the private-use characters that stand for rendered control sequences while emphasis is
/// applied (plane 15: never in Slack text a member would read).
const PLACEHOLDER_BASE: u32 = 0xF0000;

/// At most this many control sequences are rendered in one text (the rest stays text).
const MAX_CONTROLS: usize = 6000;

/// Renders Slack mrkdwn to HTML (see the module's documentation).
pub fn render(text: &str, ctx: &RenderCtx) -> Markup {
    // Control sequences become placeholders so emphasis can span them.
    let mut rendered: Vec<String> = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        match rest[i + 1..].find('>') {
            Some(j)
                if !rest[i + 1..i + 1 + j].contains('<')
                    && j > 0
                    && rendered.len() < MAX_CONTROLS =>
            {
                plain.push_str(&rest[..i]);
                let placeholder = PLACEHOLDER_BASE + rendered.len() as u32;
                plain.push(char::from_u32(placeholder).unwrap_or('\u{FFFD}'));
                rendered.push(control(&rest[i + 1..i + 1 + j], ctx).into_string());
                rest = &rest[i + 1 + j + 1..];
            }
            _ => {
                plain.push_str(&rest[..=i]);
                rest = &rest[i + 1..];
            }
        }
    }
    plain.push_str(rest);
    let mut html = escape(&unescape_mrkdwn(&plain));
    html = emphasis(&html, '`', "<code>", "</code>");
    html = emphasis(&html, '*', "<strong>", "</strong>");
    html = emphasis(&html, '_', "<em>", "</em>");
    html = emphasis(&html, '~', "<del>", "</del>");
    html = html.replace('\n', "<br>");
    let mut out = String::with_capacity(html.len());
    for c in html.chars() {
        let index = (c as u32).wrapping_sub(PLACEHOLDER_BASE) as usize;
        match rendered.get(index) {
            Some(r) => out.push_str(r),
            None => out.push(c),
        }
    }
    PreEscaped(out)
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

    fn mrkdwn(text: &str, ctx: &RenderCtx) -> String {
        render(text, ctx).into_string()
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
