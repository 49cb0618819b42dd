//! Block Kit building blocks, each within Slack's limits whatever its input: typed values, serialised once into the
//! request's JSON body (no intermediate `serde_json::Value` tree to build, copy and free in every instance).

use serde::Serialize;

use super::text::{char_len, cut, single_line};

/// At most this many blocks in a message.
pub const MAX_BLOCKS: usize = 50;
/// A header's plain text.
pub const HEADER_MAX: usize = 150;
/// A section's text.
pub const SECTION_MAX: usize = 3000;
/// A context element's text.
pub const CONTEXT_TEXT_MAX: usize = 3000;
/// Each of a section's fields.
pub const FIELD_MAX: usize = 2000;
/// A button's text.
pub const BUTTON_TEXT_MAX: usize = 75;
/// A button's or an image's URL.
pub const URL_MAX: usize = 3000;
/// An image's alt text.
pub const ALT_TEXT_MAX: usize = 2000;
/// The message's `text` once escaped (kept well under Slack's 40,000 characters: it is a notification's preview).
pub const TEXT_MAX: usize = 3000;
/// A session's description is cut beyond this many characters (M9).
pub const DESCRIPTION_MAX: usize = 200;

/// A Block Kit block of the kinds the connector sends, serialised as Slack reads it (`type` first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A `header`: one line of plain text.
    Header {
        /// The title.
        text: Text,
    },
    /// A `section`: a text, or fields shown in two columns.
    Section {
        /// The section's text.
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<Text>,
        /// The section's fields.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        fields: Vec<Text>,
    },
    /// A `context`: small print.
    Context {
        /// Its texts.
        elements: Vec<Text>,
    },
    /// An `image`.
    Image {
        /// The image's URL.
        image_url: String,
        /// What the image shows, for those who cannot see it.
        alt_text: String,
    },
    /// An `actions` block.
    Actions {
        /// Its buttons.
        elements: Vec<Button>,
    },
}

/// A text object of Block Kit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Text {
    /// Shown as written: no formatting, link, mention or entity; with `emoji` false, `:emoji:` codes as typed.
    PlainText {
        /// The text.
        text: String,
        /// Whether `:emoji:` codes become emoji.
        emoji: bool,
    },
    /// Slack's markup. With `verbatim`, bare words never become links or mentions; `<!date…>` tokens are still read.
    Mrkdwn {
        /// The text, escaped.
        text: String,
        /// Whether Slack leaves bare URLs, channel names and user names as they are.
        verbatim: bool,
    },
}

/// A button that opens a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename = "button")]
pub struct Button {
    /// What the app would be told of a click (a link button needs no answer).
    pub action_id: String,
    /// The label, plain text.
    pub text: Text,
    /// The link.
    pub url: String,
    /// `primary` (green) or `danger` (red).
    pub style: &'static str,
}

/// A `plain_text` object: Slack shows it as written, with no formatting, link, mention or entity, and (`emoji`
/// false) `:emoji:` codes as typed. For every text from the LMS.
pub fn plain_text(text: impl Into<String>) -> Text {
    Text::PlainText {
        text: text.into(),
        emoji: false,
    }
}

/// A `mrkdwn` object for the connector's own words and date tokens. `text` must already be escaped. `verbatim`
/// stops Slack from turning bare words into links or mentions; the `<!date…>` tokens are still read.
pub fn mrkdwn(text: impl Into<String>) -> Text {
    Text::Mrkdwn {
        text: text.into(),
        verbatim: true,
    }
}

/// A `section` block of one text.
fn section(text: Text) -> Block {
    Block::Section {
        text: Some(text),
        fields: Vec::new(),
    }
}

/// A `header` block for `title`, on one line and cut at a word to 150 characters; `None` when the title is blank
/// (Slack rejects an empty text).
pub fn header(title: &str) -> Option<Block> {
    let title = single_line(title);
    (!title.is_empty()).then(|| Block::Header {
        text: plain_text(cut(&title, HEADER_MAX)),
    })
}

/// A `section` block of plain text, cut at a word to 3,000 characters; `None` when blank.
pub fn plain_section(text: &str) -> Option<Block> {
    (!text.trim().is_empty()).then(|| section(plain_text(cut(text, SECTION_MAX))))
}

/// A `section` block of the connector's own mrkdwn (`text` already escaped; it may hold date tokens), cut to 3,000
/// characters; `None` when blank. Never for text from the LMS.
pub fn mrkdwn_section(text: &str) -> Option<Block> {
    (!text.trim().is_empty()).then(|| section(mrkdwn(cut(text, SECTION_MAX))))
}

/// A `context` block of one element, the connector's own mrkdwn (`text` already escaped), cut to 3,000 characters
/// (Slack's limit for a context element's text); `None` when blank. Never for text from the LMS.
pub fn context(text: &str) -> Option<Block> {
    (!text.trim().is_empty()).then(|| Block::Context {
        elements: vec![mrkdwn(cut(text, CONTEXT_TEXT_MAX))],
    })
}

/// A `section` block of fields (escaped mrkdwn, each within [`FIELD_MAX`]); `None` when there is none.
pub fn section_fields(fields: Vec<String>) -> Option<Block> {
    debug_assert!(fields.len() <= 10 && fields.iter().all(|f| char_len(f) <= FIELD_MAX));
    let fields: Vec<Text> = fields
        .into_iter()
        .filter(|f| !f.is_empty())
        .map(mrkdwn)
        .collect();
    (!fields.is_empty()).then_some(Block::Section { text: None, fields })
}

/// An `image` block, when `url` is an image Slack can show (see [`is_supported_image_url`]), described by `alt` (one
/// line, cut to 2,000 characters here).
pub fn image(url: &str, alt: &str) -> Option<Block> {
    if !is_supported_image_url(url) {
        return None;
    }
    let alt = single_line(alt);
    let alt = if alt.is_empty() {
        "image".to_string()
    } else {
        alt
    };
    Some(Block::Image {
        image_url: url.to_string(),
        alt_text: cut(&alt, ALT_TEXT_MAX).into_owned(),
    })
}

/// An `actions` block with one primary button that opens `url`; `None` when the URL is not one Slack accepts
/// (see [`is_usable_url`]) or the label is blank.
pub fn link_button(action_id: &str, label: &str, url: &str) -> Option<Block> {
    let label = single_line(label);
    if label.is_empty() || !is_usable_url(url) {
        return None;
    }
    Some(Block::Actions {
        elements: vec![Button {
            action_id: action_id.to_string(),
            text: plain_text(cut(&label, BUTTON_TEXT_MAX)),
            url: url.to_string(),
            style: "primary",
        }],
    })
}

/// Whether `url` can go in a button or an image: `http://` or `https://` (any case) with a host, at most 3,000
/// characters, and no spaces or control characters (which Slack would reject). Longer or odd URLs are left out
/// rather than cut, since a cut URL points elsewhere.
pub fn is_usable_url(url: &str) -> bool {
    let has_prefix = |prefix: &str| {
        url.as_bytes()
            .get(..prefix.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    let rest = if has_prefix("https://") {
        &url[8..]
    } else if has_prefix("http://") {
        &url[7..]
    } else {
        return false;
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    host_end > 0
        && char_len(url) <= URL_MAX
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Whether `url` is a usable URL (see [`is_usable_url`]) whose path — ignoring the query string and the fragment,
/// in any case — ends in `.png`, `.jpg`, `.jpeg` or `.gif`, the formats Slack shows. Never `.svg`.
pub fn is_supported_image_url(url: &str) -> bool {
    if !is_usable_url(url) {
        return false;
    }
    let without_fragment = url.split('#').next().unwrap_or_default();
    let without_query = without_fragment.split('?').next().unwrap_or_default();
    let after_scheme = &without_query[without_query.find("://").map_or(0, |i| i + 3)..];
    let Some(path_start) = after_scheme.find('/') else {
        return false;
    };
    let path = after_scheme[path_start..].to_ascii_lowercase();
    [".png", ".jpg", ".jpeg", ".gif"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A block as Slack reads it.
    fn json(block: Option<Block>) -> Value {
        serde_json::to_value(block.expect("a block")).unwrap()
    }

    #[test]
    fn image_formats() {
        for ok in [
            "https://cdn.example.com/covers/a.png",
            "https://cdn.example.com/a.PNG?x=1",
            "https://cdn.example.com/a.jpg",
            "https://cdn.example.com/a.jpeg#frag",
            "https://cdn.example.com/a.JpEg?w=200&h=100#top",
            "http://cdn.example.com/anim.gif",
            "HTTPS://cdn.example.com/a.png",
        ] {
            assert!(is_supported_image_url(ok), "{ok}");
        }
        for bad in [
            "https://cdn.example.com/a.svg",
            "https://cdn.example.com/a.SVG?x=1",
            "https://cdn.example.com/a.svg#x.png",
            "https://cdn.example.com/a.svg?format=.png",
            "https://cdn.example.com/a.webp",
            "https://cdn.example.com/png",
            "https://example.png",
            "https://example.png?x=.png",
            "ftp://cdn.example.com/a.png",
            "javascript:alert(1)//a.png",
            "data:image/png;base64,AAAA.png",
            "/relative/a.png",
            "https:///a.png",
            "https://cdn.example.com/a b.png",
            "",
        ] {
            assert!(!is_supported_image_url(bad), "{bad}");
        }
        let long = format!("https://cdn.example.com/{}.png", "a".repeat(3000));
        assert!(!is_supported_image_url(&long));
        let at_limit = format!("https://c.io/{}.png", "a".repeat(3000 - 17));
        assert_eq!(at_limit.len(), 3000);
        assert!(is_supported_image_url(&at_limit));
    }

    #[test]
    fn usable_urls() {
        assert!(is_usable_url("https://lms.example.com/sessions/42"));
        assert!(is_usable_url("http://lms.example.com"));
        assert!(!is_usable_url("https://"));
        assert!(!is_usable_url("lms.example.com/sessions/42"));
        assert!(!is_usable_url("javascript:alert(1)"));
        assert!(!is_usable_url("https://lms.example.com/\n"));
        assert!(!is_usable_url(&format!(
            "https://lms.example.com/{}",
            "x".repeat(3000)
        )));
        assert!(!is_usable_url("é"));
        assert!(is_usable_url("http://é.example/x"));
    }

    #[test]
    fn header_is_one_line_and_cut() {
        assert_eq!(header(" \n ").as_ref(), None);
        assert_eq!(json(header("A\nB"))["text"]["text"], "A B");
        let h = json(header(&"t".repeat(10_000)));
        let text = h["text"]["text"].as_str().unwrap();
        assert_eq!(char_len(text), 150);
        assert!(text.ends_with('…'));
        // Not escaped: plain text shows as written.
        assert_eq!(
            json(header("<!channel> & co"))["text"]["text"],
            "<!channel> & co"
        );
        // Not even emoji codes.
        assert_eq!(json(header("x"))["text"]["emoji"], false);
        assert_eq!(json(header("x"))["type"], "header");
    }

    #[test]
    fn a_plain_section_is_cut_at_a_word() {
        assert_eq!(plain_section(" \n\t"), None);
        let s = json(plain_section(&"word ".repeat(1000)));
        let text = s["text"]["text"].as_str().unwrap();
        assert!(
            char_len(text) <= SECTION_MAX && text.ends_with("word…"),
            "{text}"
        );
        assert_eq!(s["text"]["type"], "plain_text");
    }

    #[test]
    fn button_label_is_cut_and_bad_urls_give_no_button() {
        let b = json(link_button(
            "open_session",
            &"B".repeat(100),
            "https://x.io/s",
        ));
        assert_eq!(
            char_len(b["elements"][0]["text"]["text"].as_str().unwrap()),
            75
        );
        assert_eq!(b["elements"][0]["type"], "button");
        assert!(link_button("open_session", "Open", "").is_none());
        assert!(link_button("open_session", "Open", "javascript:alert(1)").is_none());
        assert!(link_button("open_session", " ", "https://x.io/s").is_none());
    }

    #[test]
    fn alt_text_is_cut_and_never_empty() {
        let i = json(image("https://x.io/a.png", &"a".repeat(5000)));
        assert_eq!(char_len(i["alt_text"].as_str().unwrap()), 2000);
        assert_eq!(
            json(image("https://x.io/a.png", " \n"))["alt_text"],
            "image"
        );
        assert!(image("https://x.io/a.svg", "cover").is_none());
    }
}
