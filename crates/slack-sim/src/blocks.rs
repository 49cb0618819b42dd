//! Block Kit validation with Slack's limits.
//!
//! Each violation gives one message in Slack's style,
//! `[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text]`, returned by `chat.postMessage`
//! as `invalid_blocks` with `response_metadata.messages`.
//!
//! Supported blocks: `header`, `section` (text, fields, button or image accessory), `image`, `context`,
//! `actions` (buttons), `divider`. Other block and element types are refused, including some that Slack
//! accepts (inputs, selects, rich text): the simulation does not model them.

use serde_json::Value;

/// Largest number of blocks in a message.
pub const MAX_BLOCKS: usize = 50;

/// The longest `text` of a message Slack takes, in characters (`msg_too_long` beyond).
pub const MAX_TEXT_CHARS: usize = 40_000;

/// Validates `blocks`; returns the list of violations (empty when valid).
pub fn validate(blocks: &Value) -> Vec<String> {
    let mut v = Validator { errors: Vec::new() };
    v.blocks(blocks, "/blocks");
    v.errors
}

/// Collects the violations found while walking the blocks.
struct Validator {
    errors: Vec<String>,
}

/// Whether a string field must be there, and whether it may be empty.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Presence {
    /// May be absent; never empty.
    Optional,
    /// Must be there.
    Required {
        /// An empty string passes (checked otherwise, e.g. as a URL).
        empty_ok: bool,
    },
}

/// Length in characters, as Slack counts its limits.
fn chars(s: &str) -> usize {
    s.chars().count()
}

impl Validator {
    /// Records a violation at the JSON pointer `ptr` (at most 50 are kept).
    fn err(&mut self, msg: impl AsRef<str>, ptr: &str) {
        if self.errors.len() < 50 {
            self.errors
                .push(format!("[ERROR] {} [json-pointer:{ptr}]", msg.as_ref()));
        }
    }

    /// Checks the string `field` of `obj` (at `p`): present if required, a string, at most `max` characters,
    /// not empty unless allowed. Returns it when it passed.
    fn string_field<'v>(
        &mut self,
        obj: &'v Value,
        field: &str,
        p: &str,
        max: usize,
        presence: Presence,
    ) -> Option<&'v str> {
        let at = format!("{p}/{field}");
        match obj.get(field) {
            None => {
                if presence != Presence::Optional {
                    self.err(format!("missing required field: {field}"), p);
                }
                None
            }
            Some(Value::String(s)) if chars(s) > max => {
                self.err(format!("must be less than {} characters", max + 1), &at);
                None
            }
            Some(Value::String(s))
                if s.is_empty() && presence != (Presence::Required { empty_ok: true }) =>
            {
                self.err("must be more than 0 characters", &at);
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.err("must be a string", &at);
                None
            }
        }
    }

    /// The blocks array: at most 50 blocks, distinct block_ids.
    fn blocks(&mut self, blocks: &Value, ptr: &str) {
        let Some(arr) = blocks.as_array() else {
            self.err("must be an array", ptr);
            return;
        };
        if arr.len() > MAX_BLOCKS {
            self.err(format!("no more than {MAX_BLOCKS} items allowed"), ptr);
        }
        let mut ids: Vec<&str> = Vec::new();
        for (i, b) in arr.iter().enumerate() {
            let p = format!("{ptr}/{i}");
            if let Some(id) = b.get("block_id") {
                match id.as_str() {
                    Some(s) if chars(s) > 255 => {
                        self.err("must be less than 256 characters", &format!("{p}/block_id"))
                    }
                    Some("") => {
                        self.err("must be more than 0 characters", &format!("{p}/block_id"))
                    }
                    Some(s) => {
                        if ids.contains(&s) {
                            self.err(format!("duplicate block_id: {s}"), &format!("{p}/block_id"));
                        }
                        ids.push(s);
                    }
                    None => self.err("must be a string", &format!("{p}/block_id")),
                }
            }
            self.block(b, &p);
        }
    }

    /// One block, by its type.
    fn block(&mut self, b: &Value, p: &str) {
        if !b.is_object() {
            self.err("must provide an object", p);
            return;
        }
        match b.get("type").and_then(Value::as_str) {
            None => self.err("missing required field: type", p),
            Some("header") => self.header(b, p),
            Some("section") => self.section(b, p),
            Some("image") => self.image(b, p, true),
            Some("context") => self.context(b, p),
            Some("actions") => self.actions(b, p),
            Some("divider") => {}
            Some(t) => self.err(format!("unsupported type: {t}"), &format!("{p}/type")),
        }
    }

    /// A text object; `plain_only` for plain_text-only places; `max` characters.
    fn text_obj(
        &mut self,
        t: Option<&Value>,
        p: &str,
        plain_only: bool,
        max: usize,
        required: bool,
    ) {
        let Some(t) = t else {
            if required {
                self.err(
                    "missing required field: text",
                    p.rsplit_once('/').map(|x| x.0).unwrap_or(p),
                );
            }
            return;
        };
        if !t.is_object() {
            self.err("must provide an object", p);
            return;
        }
        let kind = t.get("type").and_then(Value::as_str);
        match kind {
            Some("plain_text") => {}
            Some("mrkdwn") if !plain_only => {}
            Some(_) => self.err("must be a valid enum value", &format!("{p}/type")),
            None => self.err("missing required field: type", p),
        }
        // `emoji` belongs to plain_text objects and `verbatim` to mrkdwn ones, both booleans.
        for (field, owner) in [("emoji", "plain_text"), ("verbatim", "mrkdwn")] {
            match t.get(field) {
                None => {}
                Some(Value::Bool(_)) if kind == Some(owner) => {}
                Some(Value::Bool(_)) => self.err(
                    format!("{field} is only allowed in {owner} text"),
                    &format!("{p}/{field}"),
                ),
                Some(_) => self.err("must be a boolean", &format!("{p}/{field}")),
            }
        }
        match t.get("text") {
            Some(Value::String(s)) => {
                let n = chars(s);
                if n == 0 {
                    self.err("must be more than 0 characters", &format!("{p}/text"));
                } else if n > max {
                    self.err(format!("must be less than {} characters", max + 1), p);
                }
            }
            Some(_) => self.err("must be a string", &format!("{p}/text")),
            None => self.err("missing required field: text", p),
        }
    }

    /// A header block: plain text, at most 150 characters.
    fn header(&mut self, b: &Value, p: &str) {
        self.text_obj(b.get("text"), &format!("{p}/text"), true, 150, true);
    }

    /// A section block: text or fields (at most 10), and a button or image accessory.
    fn section(&mut self, b: &Value, p: &str) {
        let text = b.get("text");
        let fields = b.get("fields");
        if text.is_none() && fields.is_none() {
            self.err("must provide either 'text' or 'fields'", p);
        }
        self.text_obj(text, &format!("{p}/text"), false, 3000, false);
        if let Some(f) = fields {
            match f.as_array() {
                Some(arr) => {
                    if arr.is_empty() {
                        self.err("must provide at least 1 item", &format!("{p}/fields"));
                    }
                    if arr.len() > 10 {
                        self.err("no more than 10 items allowed", &format!("{p}/fields"));
                    }
                    for (i, t) in arr.iter().enumerate() {
                        self.text_obj(Some(t), &format!("{p}/fields/{i}"), false, 2000, true);
                    }
                }
                None => self.err("must be an array", &format!("{p}/fields")),
            }
        }
        if let Some(a) = b.get("accessory") {
            let ap = format!("{p}/accessory");
            match a.get("type").and_then(Value::as_str) {
                Some("button") => self.button(a, &ap),
                Some("image") => self.image(a, &ap, false),
                Some(t) => self.err(format!("unsupported type: {t}"), &format!("{ap}/type")),
                None => self.err("missing required field: type", &ap),
            }
        }
    }

    /// An image block (`block`, with an optional title) or image element.
    fn image(&mut self, b: &Value, p: &str, block: bool) {
        if let Some(u) = self.string_field(
            b,
            "image_url",
            p,
            3000,
            Presence::Required { empty_ok: true },
        ) {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                self.err("must be a valid URL", &format!("{p}/image_url"));
            } else if !image_extension_ok(u) {
                // Slack fetches the image and refuses formats it cannot show (e.g. SVG).
                self.err("downloading image failed", &format!("{p}/image_url"));
            }
        }
        self.string_field(
            b,
            "alt_text",
            p,
            2000,
            Presence::Required { empty_ok: false },
        );
        if block {
            self.text_obj(b.get("title"), &format!("{p}/title"), true, 2000, false);
        }
    }

    /// A block's `elements`: required, 1 to `max` of them. Returns them (even when too few or too many).
    fn elements<'v>(&mut self, b: &'v Value, p: &str, max: usize) -> Option<&'v Vec<Value>> {
        let Some(arr) = b.get("elements").and_then(Value::as_array) else {
            self.err("missing required field: elements", p);
            return None;
        };
        if arr.is_empty() {
            self.err("must provide at least 1 item", &format!("{p}/elements"));
        }
        if arr.len() > max {
            self.err(
                format!("no more than {max} items allowed"),
                &format!("{p}/elements"),
            );
        }
        Some(arr)
    }

    /// A context block: 1 to 10 text or image elements.
    fn context(&mut self, b: &Value, p: &str) {
        let Some(arr) = self.elements(b, p, 10) else {
            return;
        };
        for (i, e) in arr.iter().enumerate() {
            let ep = format!("{p}/elements/{i}");
            match e.get("type").and_then(Value::as_str) {
                Some("image") => self.image(e, &ep, false),
                Some("plain_text") | Some("mrkdwn") => {
                    self.text_obj(Some(e), &ep, false, 3000, true)
                }
                Some(t) => self.err(format!("unsupported type: {t}"), &format!("{ep}/type")),
                None => self.err("missing required field: type", &ep),
            }
        }
    }

    /// An actions block: 1 to 25 buttons with distinct action_ids.
    fn actions(&mut self, b: &Value, p: &str) {
        let Some(arr) = self.elements(b, p, 25) else {
            return;
        };
        let mut ids: Vec<&str> = Vec::new();
        for (i, e) in arr.iter().enumerate() {
            let ep = format!("{p}/elements/{i}");
            match e.get("type").and_then(Value::as_str) {
                Some("button") => {
                    self.button(e, &ep);
                    if let Some(id) = e.get("action_id").and_then(Value::as_str) {
                        if ids.contains(&id) {
                            self.err(
                                format!("duplicate action_id: {id}"),
                                &format!("{ep}/action_id"),
                            );
                        }
                        ids.push(id);
                    }
                }
                Some(t) => self.err(format!("unsupported type: {t}"), &format!("{ep}/type")),
                None => self.err("missing required field: type", &ep),
            }
        }
    }

    /// A button: its text and string fields within Slack's limits, its style.
    fn button(&mut self, e: &Value, p: &str) {
        self.text_obj(e.get("text"), &format!("{p}/text"), true, 75, true);
        for (field, max) in [
            ("action_id", 255usize),
            ("url", 3000),
            ("value", 2000),
            ("accessibility_label", 75),
        ] {
            self.string_field(e, field, p, max, Presence::Optional);
        }
        if let Some(s) = e.get("style")
            && !matches!(s.as_str(), Some("primary") | Some("danger"))
        {
            self.err("must be a valid enum value", &format!("{p}/style"));
        }
    }
}

/// Where a button sits in its block: the `index`-th of `elements`, or the section's `accessory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ButtonPlace {
    /// In the block's `elements` (an actions block), at this index.
    Element(usize),
    /// A section's accessory.
    Accessory,
}

/// The action_id of a button, or the one the simulation gives a button without one:
/// `auto_{block}_{element}` or `auto_{block}_accessory`.
pub fn button_action_id(button: &Value, block_index: usize, place: ButtonPlace) -> String {
    match button.get("action_id").and_then(Value::as_str) {
        Some(id) => id.to_string(),
        None => match place {
            ButtonPlace::Element(i) => format!("auto_{block_index}_{i}"),
            ButtonPlace::Accessory => format!("auto_{block_index}_accessory"),
        },
    }
}

/// Finds a button by action_id in a message's blocks: its block's `block_id` (`b{index}` when it has none)
/// and the button, with its action_id filled in.
pub fn find_button(blocks: &Value, action_id: &str) -> Option<(String, Value)> {
    for (bi, b) in blocks.as_array()?.iter().enumerate() {
        let elements = b
            .get("elements")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let places = elements
            .enumerate()
            .map(|(i, e)| (ButtonPlace::Element(i), e))
            .chain(b.get("accessory").map(|a| (ButtonPlace::Accessory, a)));
        for (place, e) in places {
            if e.get("type").and_then(Value::as_str) != Some("button") {
                continue;
            }
            let id = button_action_id(e, bi, place);
            if id == action_id {
                let block_id = b
                    .get("block_id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("b{bi}"));
                let mut e = e.clone();
                e["action_id"] = Value::String(id);
                return Some((block_id, e));
            }
        }
    }
    None
}

/// True when the URL's path ends with `.png`, `.jpg`, `.jpeg` or `.gif` (any case), ignoring query and
/// fragment.
pub fn image_extension_ok(url: &str) -> bool {
    let no_frag = url.split('#').next().unwrap_or("");
    let path = no_frag.split('?').next().unwrap_or("");
    let after_scheme = path.split_once("://").map(|x| x.1).unwrap_or(path);
    let Some((_, path)) = after_scheme.split_once('/') else {
        return false;
    };
    let last = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    [".png", ".jpg", ".jpeg", ".gif"]
        .iter()
        .any(|e| last.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extension_rule() {
        assert!(image_extension_ok("https://x.test/a/b.PNG?x=1.svg"));
        assert!(image_extension_ok("http://x.test/b.jpeg#f"));
        assert!(!image_extension_ok("https://x.test/b.svg?x=.png"));
        assert!(!image_extension_ok("https://x.test/"));
        assert!(!image_extension_ok("https://x.png"));
    }

    #[test]
    fn buttons_are_found_by_action_id() {
        let blocks = json!([
            {"type": "section", "text": {"type": "mrkdwn", "text": "s"}, "accessory": {"type": "button", "text": {"type": "plain_text", "text": "A"}}},
            {"type": "actions", "block_id": "acts", "elements": [
                {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}},
                {"type": "button", "text": {"type": "plain_text", "text": "No id"}}
            ]}
        ]);
        let (block, button) = find_button(&blocks, "auto_0_accessory").unwrap();
        assert_eq!(
            (block.as_str(), &button["action_id"]),
            ("b0", &json!("auto_0_accessory"))
        );
        assert_eq!(find_button(&blocks, "go").unwrap().0, "acts");
        assert_eq!(
            find_button(&blocks, "auto_1_1").unwrap().1["text"]["text"],
            "No id"
        );
        assert!(find_button(&blocks, "auto_1_0").is_none());
        assert!(find_button(&json!({}), "go").is_none());
    }

    fn plain(text: &str) -> Value {
        json!({"type": "plain_text", "text": text})
    }

    #[test]
    fn slacks_documented_limits_hold_at_the_limit_and_fail_beyond() {
        let long = |n: usize| "x".repeat(n);
        let url = |n: usize| format!("https://x.test/{}", "u".repeat(n - 15));
        let image_url = |n: usize| format!("https://x.test/{}.png", "u".repeat(n - 19));
        // Each case: a message at the limit, the same one past it, and the pointer of the violation.
        /// A message whose one measured quantity is `n`.
        type Message = Box<dyn Fn(usize) -> Value>;
        let cases: Vec<(Message, usize, &str)> = vec![
            (
                Box::new(move |n| json!([{"type": "header", "text": plain(&long(n))}])),
                150,
                "/blocks/0/text",
            ),
            (
                Box::new(
                    move |n| json!([{"type": "section", "text": {"type": "mrkdwn", "text": long(n)}}]),
                ),
                3000,
                "/blocks/0/text",
            ),
            (
                Box::new(move |n| json!([{"type": "section", "text": plain(&long(n))}])),
                3000,
                "/blocks/0/text",
            ),
            (
                Box::new(move |n| json!([{"type": "section", "fields": [plain(&long(n))]}])),
                2000,
                "/blocks/0/fields/0",
            ),
            (
                Box::new(
                    move |n| json!([{"type": "section", "fields": vec![plain("f"); n / 200]}]),
                ),
                2000,
                "/blocks/0/fields",
            ),
            (
                Box::new(
                    move |n| json!([{"type": "context", "elements": vec![plain("c"); n / 200]}]),
                ),
                2000,
                "/blocks/0/elements",
            ),
            (
                Box::new(
                    move |n| json!([{"type": "actions", "elements": [{"type": "button", "text": plain(&long(n / 40)), "url": "https://x.test"}]}]),
                ),
                3000,
                "/blocks/0/elements/0/text",
            ),
            (
                Box::new(
                    move |n| json!([{"type": "actions", "elements": [{"type": "button", "text": plain("b"), "url": url(n)}]}]),
                ),
                3000,
                "/blocks/0/elements/0/url",
            ),
            (
                Box::new(
                    move |n| json!([{"type": "image", "image_url": image_url(n), "alt_text": "a"}]),
                ),
                3000,
                "/blocks/0/image_url",
            ),
            (
                Box::new(
                    move |n| json!([{"type": "image", "image_url": "https://x.test/a.png", "alt_text": long(n)}]),
                ),
                2000,
                "/blocks/0/alt_text",
            ),
            (
                Box::new(move |n| json!(vec![json!({"type": "divider"}); n / 60])),
                3000,
                "/blocks",
            ),
        ];
        for (message, at_limit, pointer) in cases {
            assert_eq!(
                validate(&message(at_limit)),
                Vec::<String>::new(),
                "{pointer}"
            );
            // Past the limit: one more character, or (for counts) one more item.
            let past = if pointer.ends_with("/fields") || pointer.ends_with("/elements") {
                at_limit + 200
            } else if pointer == "/blocks" {
                at_limit + 60
            } else if pointer.ends_with("/elements/0/text") {
                at_limit + 40
            } else {
                at_limit + 1
            };
            let errors = validate(&message(past));
            assert_eq!(errors.len(), 1, "{pointer}: {errors:?}");
            assert!(
                errors[0].ends_with(&format!("[json-pointer:{pointer}]")),
                "{errors:?}"
            );
        }
        assert_eq!(MAX_TEXT_CHARS, 40_000);
    }

    #[test]
    fn emoji_and_verbatim_belong_to_their_kind_of_text() {
        let ok = json!([
            {"type": "header", "text": {"type": "plain_text", "text": "h", "emoji": false}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "s", "verbatim": true}}
        ]);
        assert!(validate(&ok).is_empty());
        let bad = json!([
            {"type": "header", "text": {"type": "plain_text", "text": "h", "verbatim": true}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "s", "emoji": true}},
            {"type": "section", "text": {"type": "plain_text", "text": "s", "emoji": "no"}}
        ]);
        assert_eq!(
            validate(&bad),
            [
                "[ERROR] verbatim is only allowed in mrkdwn text [json-pointer:/blocks/0/text/verbatim]",
                "[ERROR] emoji is only allowed in plain_text text [json-pointer:/blocks/1/text/emoji]",
                "[ERROR] must be a boolean [json-pointer:/blocks/2/text/emoji]",
            ]
        );
    }

    #[test]
    fn header_too_long() {
        let b = json!([{"type":"header","text":{"type":"plain_text","text":"x".repeat(151)}}]);
        assert_eq!(
            validate(&b),
            vec!["[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text]"]
        );
        let ok = json!([{"type":"header","text":{"type":"plain_text","text":"x".repeat(150)}}]);
        assert!(validate(&ok).is_empty());
    }
}
