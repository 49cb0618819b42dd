//! Slack's two kinds of text as a member reads them, to HTML for the web view and to plain text for a terminal, with
//! one set of rules:
//! - mrkdwn: Slack's three entities, `<url|label>` links, mentions (`<!here>` and the like shown as a ping),
//!   `<!date^…>` in the reader's time zone and language, `*bold*`, `_italic_`, `~strike~`, `` `code` ``, `>` at a
//!   line start (a quote), `:emoji:` codes, new lines. Slack has no escape for the formatting characters.
//! - plain_text: shown as written (no entity, link, mention or formatting), `:emoji:` codes turned into emoji
//!   unless the object says `"emoji": false`.
//!
//! A message's `text` posted with `mrkdwn: false` is read as unformatted: its `<…>` sequences and entities are
//! read, nothing else.

use std::collections::HashMap;

use maud::{Markup, PreEscaped, html};
use serde_json::Value;

use crate::html::escape;
use crate::text::unescape_mrkdwn;
use crate::tz::{self, Lang};

/// Who reads the text, for what depends on them.
pub struct RenderCtx<'a> {
    /// The reader's time zone.
    pub tz: &'a str,
    /// The reader's language (dates).
    pub lang: Lang,
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

/// What one `<…>` control sequence shows.
enum Shown {
    /// A date, linked or not.
    Date { text: String, link: Option<String> },
    /// `@here`, `@channel`, `@everyone`: a ping of everyone.
    Broadcast(&'static str),
    /// A mention of a member, a group or a channel, as shown (`@alice`, `#general`).
    Mention(String),
    /// A link.
    Link { url: String, text: String },
    /// Text only.
    Text(String),
}

impl Shown {
    fn html(&self) -> Markup {
        match self {
            Shown::Date {
                text,
                link: Some(l),
            } => html! { a href=(l) { (text) } },
            Shown::Date { text, link: None } => html! { span class="date" { (text) } },
            Shown::Broadcast(word) => html! { span class="mention broadcast" { "@" (word) } },
            Shown::Mention(name) => html! { span class="mention" { (name) } },
            Shown::Link { url, text } => html! { a href=(url) rel="noopener" { (text) } },
            Shown::Text(text) => html! { (text) },
        }
    }

    fn plain(&self) -> String {
        match self {
            Shown::Date { text, .. } | Shown::Mention(text) | Shown::Text(text) => text.clone(),
            Shown::Broadcast(word) => format!("@{word}"),
            Shown::Link { url, text } if text == url => url.clone(),
            Shown::Link { url, text } => format!("{text} ({url})"),
        }
    }
}

/// The broadcast a `!…` control sequence's word names, if any.
fn broadcast(word: &str) -> Option<&'static str> {
    ["here", "channel", "everyone"]
        .into_iter()
        .find(|b| *b == word)
}

/// Reads one `<…>` control sequence (without the brackets).
fn control(inner: &str, ctx: &RenderCtx) -> Shown {
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
            (Some(ts), Some(format)) => tz::render_date(ts, &format, ctx.tz, ctx.lang, ctx.now),
            _ => None,
        }
        .or(label)
        .unwrap_or_default();
        return Shown::Date { text, link };
    }
    if let Some(special) = target.strip_prefix('!') {
        let word = special.split('^').next().unwrap_or("");
        return match (broadcast(word), word) {
            (Some(b), _) => Shown::Broadcast(b),
            (None, "subteam") => Shown::Mention(label.unwrap_or_else(|| "@group".into())),
            (None, _) => Shown::Text(label.unwrap_or_default()),
        };
    }
    if let Some(uid) = target.strip_prefix('@') {
        let name = ctx
            .names
            .get(uid)
            .cloned()
            .or(label)
            .unwrap_or_else(|| uid.to_string());
        return Shown::Mention(format!("@{name}"));
    }
    if let Some(cid) = target.strip_prefix('#') {
        return Shown::Mention(format!("#{}", label.unwrap_or_else(|| cid.to_string())));
    }
    let url = unescape_mrkdwn(target);
    if safe_url(&url) {
        let text = label.unwrap_or_else(|| url.clone());
        return Shown::Link { url, text };
    }
    Shown::Text(unescape_mrkdwn(&format!("<{inner}>")))
}

/// At most this many control sequences are read in one text (the rest stays text).
const MAX_CONTROLS: usize = 6000;

/// A piece of mrkdwn: text, or a `<…>` control sequence (without its brackets).
enum Piece<'t> {
    Text(&'t str),
    Control(&'t str),
}

/// Splits text into its pieces (a `<` with no `>` after it, or `<>`, is text).
fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut controls = 0;
    let mut rest = text;
    let mut text_start = 0;
    let mut offset = 0;
    while let Some(i) = rest.find('<') {
        match rest[i + 1..].find('>') {
            Some(j)
                if !rest[i + 1..i + 1 + j].contains('<') && j > 0 && controls < MAX_CONTROLS =>
            {
                if offset + i > text_start {
                    out.push(Piece::Text(&text[text_start..offset + i]));
                }
                out.push(Piece::Control(&rest[i + 1..i + 1 + j]));
                controls += 1;
                offset += i + 1 + j + 1;
                text_start = offset;
                rest = &text[offset..];
            }
            _ => {
                offset += i + 1;
                rest = &text[offset..];
            }
        }
    }
    if text_start < text.len() {
        out.push(Piece::Text(&text[text_start..]));
    }
    out
}

/// The pings of a text Slack parses (mrkdwn, or a message's `text`): `@here`, `@channel`, `@everyone`, user
/// mentions (`@U…`) and user group mentions (`subteam`). Empty when the text notifies no one.
pub fn pings(text: &str) -> Vec<String> {
    pieces(text)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Control(inner) => Some(inner),
            Piece::Text(_) => None,
        })
        .filter_map(|inner| {
            let target = inner.split('|').next().unwrap_or("");
            if let Some(special) = target.strip_prefix('!') {
                let word = special.split('^').next().unwrap_or("");
                return broadcast(word)
                    .map(|b| format!("@{b}"))
                    .or_else(|| (word == "subteam").then(|| target.to_string()));
            }
            target.starts_with('@').then(|| target.to_string())
        })
        .collect()
}

/// The emoji shortcodes the simulation knows (Slack knows thousands; a code it does not know stays as written).
const EMOJI: &[(&str, &str)] = &[
    ("smile", "😄"),
    ("joy", "😂"),
    ("wave", "👋"),
    ("tada", "🎉"),
    ("+1", "👍"),
    ("thumbsup", "👍"),
    ("-1", "👎"),
    ("heart", "❤️"),
    ("white_check_mark", "✅"),
    ("x", "❌"),
    ("warning", "⚠️"),
    ("rocket", "🚀"),
    ("calendar", "📆"),
    ("books", "📚"),
    ("bulb", "💡"),
    ("eyes", "👀"),
    ("fire", "🔥"),
    ("star", "⭐"),
    ("100", "💯"),
    ("pray", "🙏"),
];

/// The emoji of a shortcode's name (`tada` for `:tada:`), when the simulation knows it.
fn emoji(name: &str) -> Option<&'static str> {
    EMOJI.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
}

/// Turns the known `:code:` shortcodes of `s` into their emoji.
fn emojify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find(':') {
        let after = &rest[open + 1..];
        let found = after
            .find(':')
            .and_then(|close| emoji(&after[..close]).map(|e| (e, close)));
        match found {
            Some((e, close)) => {
                out.push_str(&rest[..open]);
                out.push_str(e);
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Applies one emphasis marker pair (`*bold*`) to one line: `open` and `close` replace the markers.
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
            let closing = (i + 2..chars.len()).find(|&j| {
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

/// The first of the private-use characters that stand for read control sequences while a text is formatted
/// (plane 15: never in Slack text a member would read).
const PLACEHOLDER_BASE: u32 = 0xF0000;

/// Text whose control sequences stand as placeholders, and what each shows.
struct Parsed {
    text: String,
    shown: Vec<Shown>,
}

impl Parsed {
    fn new(text: &str, ctx: &RenderCtx) -> Parsed {
        let mut parsed = Parsed {
            text: String::with_capacity(text.len()),
            shown: Vec::new(),
        };
        for piece in pieces(text) {
            match piece {
                Piece::Text(t) => parsed.text.push_str(t),
                Piece::Control(inner) => {
                    let placeholder = PLACEHOLDER_BASE + parsed.shown.len() as u32;
                    parsed
                        .text
                        .push(char::from_u32(placeholder).unwrap_or('\u{FFFD}'));
                    parsed.shown.push(control(inner, ctx));
                }
            }
        }
        parsed
    }

    /// `formatted` with each placeholder replaced by `show` of its control sequence.
    fn fill(&self, formatted: &str, show: impl Fn(&Shown) -> String) -> String {
        let mut out = String::with_capacity(formatted.len());
        for c in formatted.chars() {
            let index = (c as u32).wrapping_sub(PLACEHOLDER_BASE) as usize;
            match self.shown.get(index) {
                Some(s) => out.push_str(&show(s)),
                None => out.push(c),
            }
        }
        out
    }
}

/// One line of mrkdwn, its control sequences as placeholders: whether it is a quote, and its text without the
/// quote's `>` and with Slack's entities read.
fn quote_and_text(line: &str) -> (bool, String) {
    let line = unescape_mrkdwn(line);
    match line.strip_prefix('>') {
        Some(quoted) => (true, quoted.strip_prefix(' ').unwrap_or(quoted).to_string()),
        None => (false, line),
    }
}

/// Emphasis of one line (in the order Slack reads it), with the given marks for each kind.
fn format_line(line: &str, marks: [(&str, &str); 4]) -> String {
    let mut s = emojify(line);
    for (marker, (open, close)) in ['`', '*', '_', '~'].into_iter().zip(marks) {
        s = emphasis(&s, marker, open, close);
    }
    s
}

/// Renders Slack mrkdwn to HTML (see the module's documentation).
pub fn render(text: &str, ctx: &RenderCtx) -> Markup {
    let parsed = Parsed::new(text, ctx);
    let tags = [
        ("<code>", "</code>"),
        ("<strong>", "</strong>"),
        ("<em>", "</em>"),
        ("<del>", "</del>"),
    ];
    let mut html = String::with_capacity(text.len());
    let mut in_quote = false;
    for (i, line) in parsed.text.split('\n').enumerate() {
        let (quoted, line) = quote_and_text(line);
        match (in_quote, quoted) {
            (false, true) => html.push_str("<blockquote>"),
            (true, false) => html.push_str("</blockquote>"),
            (true, true) => html.push_str("<br>"),
            (false, false) if i > 0 => html.push_str("<br>"),
            (false, false) => {}
        }
        in_quote = quoted;
        html.push_str(&format_line(&escape(&line), tags));
    }
    if in_quote {
        html.push_str("</blockquote>");
    }
    PreEscaped(parsed.fill(&html, |s| s.html().into_string()))
}

/// The mark a quoted line starts with in plain text (Slack draws a bar).
pub const QUOTE_MARK: &str = "▎ ";

/// Renders Slack mrkdwn to the plain text a member reads: dates, links and mentions resolved, entities read,
/// formatting characters gone (bold shows as its words), a quote's lines after [`QUOTE_MARK`].
pub fn render_plain(text: &str, ctx: &RenderCtx) -> String {
    let parsed = Parsed::new(text, ctx);
    let lines: Vec<String> = parsed
        .text
        .split('\n')
        .map(|line| {
            let (quoted, line) = quote_and_text(line);
            let line = format_line(&line, [("", ""); 4]);
            if quoted {
                format!("{QUOTE_MARK}{line}")
            } else {
                line
            }
        })
        .collect();
    parsed.fill(&lines.join("\n"), Shown::plain)
}

/// Renders a message's `text` posted with `mrkdwn: false`: its control sequences and entities read, nothing else.
pub fn render_unformatted(text: &str, ctx: &RenderCtx) -> String {
    let parsed = Parsed::new(text, ctx);
    parsed.fill(&unescape_mrkdwn(&parsed.text), Shown::plain)
}

/// A `plain_text` object's words as shown: as written, with `:emoji:` codes as emoji unless `emoji` is false.
fn plain_text_shown(t: &Value) -> String {
    let s = t.get("text").and_then(Value::as_str).unwrap_or("");
    if t.get("emoji").and_then(Value::as_bool) == Some(false) {
        s.to_string()
    } else {
        emojify(s)
    }
}

/// Whether a Block Kit text object is mrkdwn (else plain text).
fn is_mrkdwn(t: &Value) -> bool {
    t.get("type").and_then(Value::as_str) == Some("mrkdwn")
}

/// A Block Kit text object as HTML: mrkdwn rendered, plain text as written with its line breaks.
pub fn text_object_html(t: &Value, ctx: &RenderCtx) -> Markup {
    if is_mrkdwn(t) {
        return render(t.get("text").and_then(Value::as_str).unwrap_or(""), ctx);
    }
    let shown = plain_text_shown(t);
    html! {
        @for (i, line) in shown.split('\n').enumerate() {
            @if i > 0 { br; }
            (line)
        }
    }
}

/// A Block Kit text object as the plain text a member reads (see [`render_plain`]).
pub fn text_object_plain(t: &Value, ctx: &RenderCtx) -> String {
    if is_mrkdwn(t) {
        return render_plain(t.get("text").and_then(Value::as_str).unwrap_or(""), ctx);
    }
    plain_text_shown(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> RenderCtx<'static> {
        RenderCtx {
            tz: "Europe/Paris",
            lang: Lang::En,
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

    #[test]
    fn quotes_code_strike_and_emoji() {
        let c = ctx();
        assert_eq!(
            mrkdwn("&gt; quoted\n&gt; more\nafter", &c),
            "<blockquote>quoted<br>more</blockquote>after"
        );
        assert_eq!(mrkdwn("a &gt; b", &c), "a &gt; b");
        assert_eq!(
            mrkdwn("~s~ `c` :tada: :nope:", &c),
            "<del>s</del> <code>c</code> 🎉 :nope:"
        );
        assert_eq!(render_plain("&gt; *Hi* :wave:", &c), "▎ Hi 👋");
    }

    #[test]
    fn plain_reading_resolves_dates_in_the_readers_language() {
        let mut c = ctx();
        let token =
            "*Début*\n<!date^1796112000^{date_short_pretty} {time}|mar. 1 déc. 2026 à 09:00>";
        assert_eq!(render_plain(token, &c), "Début\nDec 1, 2026 9:00 AM");
        c.lang = Lang::Fr;
        assert_eq!(render_plain(token, &c), "Début\n1 déc. 2026 09:00");
        c.tz = "America/New_York";
        assert_eq!(render_plain(token, &c), "Début\n1 déc. 2026 03:00");
        assert_eq!(
            render_plain("<https://x.test|site> <https://y.test> <@U1> <!here>", &c),
            "site (https://x.test) https://y.test @alice @here"
        );
    }

    #[test]
    fn unformatted_text_reads_only_entities_and_control_sequences() {
        let c = ctx();
        assert_eq!(
            render_unformatted("*a* _b_ &gt; &amp;lt; :tada: <@U1>", &c),
            "*a* _b_ > &lt; :tada: @alice"
        );
    }

    #[test]
    fn plain_text_objects_are_shown_as_written() {
        let c = ctx();
        let typed = "*b* _i_ ~s~ `c` > q <!here> <@U1> &amp; :tada:";
        let t = json!({"type": "plain_text", "text": typed, "emoji": false});
        assert_eq!(text_object_plain(&t, &c), typed);
        assert_eq!(
            text_object_html(&t, &c).into_string(),
            "*b* _i_ ~s~ `c` &gt; q &lt;!here&gt; &lt;@U1&gt; &amp;amp; :tada:"
        );
        let t = json!({"type": "plain_text", "text": "hi :tada:"});
        assert_eq!(text_object_plain(&t, &c), "hi 🎉");
        let t = json!({"type": "mrkdwn", "text": "*hi*"});
        assert_eq!(text_object_plain(&t, &c), "hi");
    }

    #[test]
    fn pings_are_found() {
        assert_eq!(
            pings(
                "<!here> <!channel|c> <!everyone> <@U1> <!subteam^S1|@g> <#C1> <https://x.test> @here"
            ),
            ["@here", "@channel", "@everyone", "@U1", "!subteam^S1"]
        );
        assert!(pings("&lt;!here&gt; <!date^1^{time}|x> a < b > c").is_empty());
    }
}
