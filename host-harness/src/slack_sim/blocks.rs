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

/// Validates `blocks`; returns the list of violations (empty when valid).
pub fn validate(blocks: &Value) -> Vec<String> {
    let mut v = Validator { errors: Vec::new() };
    v.blocks(blocks, "/blocks");
    v.errors
}

struct Validator {
    errors: Vec<String>,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

impl Validator {
    fn err(&mut self, msg: impl AsRef<str>, ptr: &str) {
        if self.errors.len() < 50 {
            self.errors
                .push(format!("[ERROR] {} [json-pointer:{ptr}]", msg.as_ref()));
        }
    }

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
        match t.get("type").and_then(Value::as_str) {
            Some("plain_text") => {}
            Some("mrkdwn") if !plain_only => {}
            Some(_) => self.err("must be a valid enum value", &format!("{p}/type")),
            None => self.err("missing required field: type", p),
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

    fn header(&mut self, b: &Value, p: &str) {
        self.text_obj(b.get("text"), &format!("{p}/text"), true, 150, true);
    }

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

    fn image(&mut self, b: &Value, p: &str, block: bool) {
        match b.get("image_url") {
            Some(Value::String(u)) => {
                if chars(u) > 3000 {
                    self.err(
                        "must be less than 3001 characters",
                        &format!("{p}/image_url"),
                    );
                } else if !(u.starts_with("http://") || u.starts_with("https://")) {
                    self.err("must be a valid URL", &format!("{p}/image_url"));
                } else if !image_extension_ok(u) {
                    // Slack fetches the image and refuses formats it cannot show (e.g. SVG).
                    self.err("downloading image failed", &format!("{p}/image_url"));
                }
            }
            Some(_) => self.err("must be a string", &format!("{p}/image_url")),
            None => self.err("missing required field: image_url", p),
        }
        match b.get("alt_text") {
            Some(Value::String(s)) => {
                if chars(s) > 2000 {
                    self.err(
                        "must be less than 2001 characters",
                        &format!("{p}/alt_text"),
                    );
                } else if s.is_empty() {
                    self.err("must be more than 0 characters", &format!("{p}/alt_text"));
                }
            }
            Some(_) => self.err("must be a string", &format!("{p}/alt_text")),
            None => self.err("missing required field: alt_text", p),
        }
        if block {
            self.text_obj(b.get("title"), &format!("{p}/title"), true, 2000, false);
        }
    }

    fn context(&mut self, b: &Value, p: &str) {
        let Some(arr) = b.get("elements").and_then(Value::as_array) else {
            self.err("missing required field: elements", p);
            return;
        };
        if arr.is_empty() {
            self.err("must provide at least 1 item", &format!("{p}/elements"));
        }
        if arr.len() > 10 {
            self.err("no more than 10 items allowed", &format!("{p}/elements"));
        }
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

    fn actions(&mut self, b: &Value, p: &str) {
        let Some(arr) = b.get("elements").and_then(Value::as_array) else {
            self.err("missing required field: elements", p);
            return;
        };
        if arr.is_empty() {
            self.err("must provide at least 1 item", &format!("{p}/elements"));
        }
        if arr.len() > 25 {
            self.err("no more than 25 items allowed", &format!("{p}/elements"));
        }
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

    fn button(&mut self, e: &Value, p: &str) {
        self.text_obj(e.get("text"), &format!("{p}/text"), true, 75, true);
        for (field, max) in [
            ("action_id", 255usize),
            ("url", 3000),
            ("value", 2000),
            ("accessibility_label", 75),
        ] {
            match e.get(field) {
                None => {}
                Some(Value::String(s)) => {
                    if chars(s) > max {
                        self.err(
                            format!("must be less than {} characters", max + 1),
                            &format!("{p}/{field}"),
                        );
                    } else if s.is_empty() {
                        self.err("must be more than 0 characters", &format!("{p}/{field}"));
                    }
                }
                Some(_) => self.err("must be a string", &format!("{p}/{field}")),
            }
        }
        if let Some(s) = e.get("style")
            && !matches!(s.as_str(), Some("primary") | Some("danger"))
        {
            self.err("must be a valid enum value", &format!("{p}/style"));
        }
    }
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
