//! Conformance of the simulated Slack to Slack's own OpenAPI description
//! (`shared/slack/slack_web_openapi_v2.json`): every answer of every implemented method, success and error,
//! is validated against the method's response schema, with a small JSON-schema validator for the constructs
//! the file uses. Requests the file marks invalid (a required parameter missing) must be refused.
//!
//! The file is a 2021 snapshot. Where Slack's current documentation says more, the schema is patched before
//! validation, and each patch says why (see `patch`). Slack's generator also writes `items: [A, B]` on
//! non-array values to mean "one of A, B"; the validator reads it that way (a strict draft-4 reading would
//! accept anything there, which would make these checks toothless).

mod util;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use slack_sim::SimHandle;
use util::Via::{Form, Get};
use util::*;

// ------------------------------------------------------------------------------------------------------------
// A small regex, for the `pattern`s of the file: ^ $ | ( ) [] [a-z] \d \. ? * + {n} {n,} {n,m}.

#[derive(Debug, Clone)]
enum Node {
    Lit(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Group(Vec<Vec<Node>>),
    Start,
    End,
    Repeat(Box<Node>, usize, Option<usize>),
}

struct Parser<'a> {
    c: &'a [char],
    i: usize,
}

impl Parser<'_> {
    fn alts(&mut self) -> Vec<Vec<Node>> {
        let mut alts = vec![Vec::new()];
        while self.i < self.c.len() {
            let ch = self.c[self.i];
            match ch {
                ')' => break,
                '|' => {
                    self.i += 1;
                    alts.push(Vec::new());
                }
                _ => {
                    let atom = self.atom();
                    let atom = self.quant(atom);
                    alts.last_mut().unwrap().push(atom);
                }
            }
        }
        alts
    }
    fn atom(&mut self) -> Node {
        let ch = self.c[self.i];
        self.i += 1;
        match ch {
            '^' => Node::Start,
            '$' => Node::End,
            '.' => Node::Any,
            '(' => {
                let g = self.alts();
                self.i += 1; // ')'
                Node::Group(g)
            }
            '[' => {
                let neg = self.c.get(self.i) == Some(&'^');
                if neg {
                    self.i += 1;
                }
                let mut ranges = Vec::new();
                while self.c[self.i] != ']' {
                    let mut a = self.c[self.i];
                    if a == '\\' {
                        self.i += 1;
                        a = self.c[self.i];
                    }
                    self.i += 1;
                    if self.c[self.i] == '-' && self.c[self.i + 1] != ']' {
                        let b = self.c[self.i + 1];
                        self.i += 2;
                        ranges.push((a, b));
                    } else {
                        ranges.push((a, a));
                    }
                }
                self.i += 1;
                Node::Class(ranges, neg)
            }
            '\\' => {
                let e = self.c[self.i];
                self.i += 1;
                match e {
                    'd' => Node::Class(vec![('0', '9')], false),
                    'w' => Node::Class(vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')], false),
                    other => Node::Lit(other),
                }
            }
            other => Node::Lit(other),
        }
    }
    fn quant(&mut self, atom: Node) -> Node {
        let Some(&q) = self.c.get(self.i) else {
            return atom;
        };
        let (min, max) = match q {
            '?' => (0, Some(1)),
            '*' => (0, None),
            '+' => (1, None),
            '{' => {
                let close = self.c[self.i..].iter().position(|&c| c == '}').unwrap() + self.i;
                let inner: String = self.c[self.i + 1..close].iter().collect();
                self.i = close;
                match inner.split_once(',') {
                    None => {
                        let n = inner.parse().unwrap();
                        (n, Some(n))
                    }
                    Some((a, "")) => (a.parse().unwrap(), None),
                    Some((a, b)) => (a.parse().unwrap(), Some(b.parse().unwrap())),
                }
            }
            _ => return atom,
        };
        self.i += 1;
        Node::Repeat(Box::new(atom), min, max)
    }
}

fn ends(n: &Node, s: &[char], pos: usize) -> Vec<usize> {
    match n {
        Node::Lit(c) => {
            if s.get(pos) == Some(c) {
                vec![pos + 1]
            } else {
                vec![]
            }
        }
        Node::Any => {
            if pos < s.len() {
                vec![pos + 1]
            } else {
                vec![]
            }
        }
        Node::Class(r, neg) => match s.get(pos) {
            Some(c) if r.iter().any(|(a, b)| a <= c && c <= b) != *neg => vec![pos + 1],
            _ => vec![],
        },
        Node::Start => {
            if pos == 0 {
                vec![pos]
            } else {
                vec![]
            }
        }
        Node::End => {
            if pos == s.len() {
                vec![pos]
            } else {
                vec![]
            }
        }
        Node::Group(alts) => {
            let mut out: Vec<usize> = alts.iter().flat_map(|a| seq_ends(a, s, pos)).collect();
            out.sort();
            out.dedup();
            out
        }
        Node::Repeat(inner, min, max) => {
            let mut out = Vec::new();
            let mut frontier = vec![pos];
            let mut count = 0;
            loop {
                if count >= *min {
                    out.extend(frontier.iter().copied());
                }
                if max.is_some_and(|m| count >= m) || frontier.is_empty() {
                    break;
                }
                let mut next: Vec<usize> = frontier
                    .iter()
                    .flat_map(|&p| ends(inner, s, p))
                    .filter(|&e| e > 0)
                    .collect();
                next.sort();
                next.dedup();
                next.retain(|e| !frontier.contains(e));
                frontier = next;
                count += 1;
                if count > s.len() + 1 {
                    break;
                }
            }
            out.sort();
            out.dedup();
            out
        }
    }
}

fn seq_ends(nodes: &[Node], s: &[char], pos: usize) -> Vec<usize> {
    let mut cur = vec![pos];
    for n in nodes {
        let mut next: Vec<usize> = cur.iter().flat_map(|&p| ends(n, s, p)).collect();
        next.sort();
        next.dedup();
        cur = next;
        if cur.is_empty() {
            break;
        }
    }
    cur
}

fn regex_match(pattern: &str, text: &str) -> bool {
    let pc: Vec<char> = pattern.chars().collect();
    let alts = Parser { c: &pc, i: 0 }.alts();
    let s: Vec<char> = text.chars().collect();
    let g = Node::Group(alts);
    (0..=s.len()).any(|start| !ends(&g, &s, start).is_empty())
}

#[test]
fn the_regex_handles_the_file_patterns() {
    assert!(regex_match("^\\d{10}\\.\\d{6}$", "1700000000.000100"));
    assert!(!regex_match("^\\d{10}\\.\\d{6}$", "1700000000.0001"));
    assert!(regex_match("^[UW][A-Z0-9]{2,}$", "USLACKBOT"));
    assert!(!regex_match("^[UW][A-Z0-9]{2,}$", "Ux"));
    assert!(regex_match("^([a-fA-F0-9]{6})?$", ""));
    assert!(regex_match("^[UW][A-Z0-9]{8,}$|^$", ""));
    assert!(regex_match("^(A[A-Z0-9]{1,})?$", "A0SIM"));
    assert!(!regex_match("^[CGD][A-Z0-9]{8,}$", "D123"));
}

// ------------------------------------------------------------------------------------------------------------
// The validator.

struct Validator<'a> {
    root: &'a Value,
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => true,
    }
}

impl Validator<'_> {
    fn resolve<'s>(&'s self, s: &'s Value) -> &'s Value {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.strip_prefix("#/definitions/").expect("local ref");
                self.resolve(&self.root["definitions"][name])
            }
            None => s,
        }
    }

    fn check(&self, schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
        let s = self.resolve(schema);
        if let Some(t) = s.get("type") {
            let ok = match t {
                Value::String(t) => type_ok(t, v),
                Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap_or(""), v)),
                _ => true,
            };
            if !ok {
                errs.push(format!("{path}: expected type {t}, got {v}"));
                return;
            }
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array)
            && !e.contains(v)
        {
            errs.push(format!(
                "{path}: {v} not in enum {}",
                Value::Array(e.clone())
            ));
        }
        if let (Some(p), Some(text)) = (s.get("pattern").and_then(Value::as_str), v.as_str())
            && !regex_match(p, text)
        {
            errs.push(format!("{path}: {text:?} does not match {p}"));
        }
        if s.get("format").and_then(Value::as_str) == Some("uri")
            && let Some(t) = v.as_str()
            && !(t.starts_with("http://") || t.starts_with("https://"))
        {
            errs.push(format!("{path}: {t:?} is not a URI"));
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(alts) = s.get(key).and_then(Value::as_array) {
                self.any_of(alts, v, path, errs);
            }
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for a in all {
                self.check(a, v, path, errs);
            }
        }
        match s.get("items") {
            // Slack's "one of these" written as a tuple.
            Some(Value::Array(alts)) => self.any_of(alts, v, path, errs),
            Some(item) => {
                if let Some(arr) = v.as_array() {
                    for (i, x) in arr.iter().enumerate() {
                        self.check(item, x, &format!("{path}/{i}"), errs);
                    }
                }
            }
            None => {}
        }
        if let Some(arr) = v.as_array() {
            if let Some(min) = s.get("minItems").and_then(Value::as_u64)
                && (arr.len() as u64) < min
            {
                errs.push(format!("{path}: fewer than {min} items"));
            }
            if s.get("uniqueItems") == Some(&Value::Bool(true)) {
                let mut seen: Vec<String> = arr.iter().map(|x| x.to_string()).collect();
                seen.sort();
                let n = seen.len();
                seen.dedup();
                if seen.len() != n {
                    errs.push(format!("{path}: items not unique"));
                }
            }
        }
        if let Some(obj) = v.as_object() {
            let props = s.get("properties").and_then(Value::as_object);
            if let Some(req) = s.get("required").and_then(Value::as_array) {
                for r in req {
                    let r = r.as_str().unwrap();
                    if !obj.contains_key(r) {
                        errs.push(format!("{path}: missing required {r}"));
                    }
                }
            }
            for (k, x) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(ps) => self.check(ps, x, &format!("{path}/{k}"), errs),
                    None => match s.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            errs.push(format!("{path}: unexpected property {k}"))
                        }
                        Some(extra @ Value::Object(_)) => {
                            self.check(extra, x, &format!("{path}/{k}"), errs)
                        }
                        _ => {}
                    },
                }
            }
        }
    }

    fn any_of(&self, alts: &[Value], v: &Value, path: &str, errs: &mut Vec<String>) {
        let mut all = Vec::new();
        for a in alts {
            let mut e = Vec::new();
            self.check(a, v, path, &mut e);
            if e.is_empty() {
                return;
            }
            all.push(e.join("; "));
        }
        errs.push(format!(
            "{path}: matches none of the alternatives: [{}]",
            all.join(" | ")
        ));
    }
}

// ------------------------------------------------------------------------------------------------------------
// The spec, patched with what Slack's current docs add.

fn spec() -> Value {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        here.join("../../shared/slack/slack_web_openapi_v2.json"),
        here.join("../shared/slack/slack_web_openapi_v2.json"),
        PathBuf::from("/work/shared/slack/slack_web_openapi_v2.json"),
    ];
    let path = candidates
        .iter()
        .find(|p| p.exists())
        .expect("shared/slack/slack_web_openapi_v2.json");
    let mut spec: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // Message objects: Slack's current docs show `app_id` on messages posted by apps and `metadata`
    // ({event_type, event_payload}) returned with include_all_metadata.
    let m = &mut spec["definitions"]["objs_message"]["properties"];
    m["app_id"] = json!({"$ref": "#/definitions/defs_app_id"});
    m["metadata"] = json!({
        "type": "object", "additionalProperties": false, "required": ["event_type", "event_payload"],
        "properties": {"event_type": {"type": "string"}, "event_payload": {"type": "object"}}
    });
    // An edited message carries `edited` ({user, ts}: who changed it last and when), and a thread parent
    // deleted while it has replies is a `hidden` tombstone (Slack's current message object docs).
    m["edited"] = json!({
        "type": "object", "additionalProperties": false, "required": ["user", "ts"],
        "properties": {"user": {"$ref": "#/definitions/defs_user_id"}, "ts": {"$ref": "#/definitions/defs_ts"}}
    });
    m["hidden"] = json!({"type": "boolean"});
    // conversations.replies: the file describes a user's thread only (no bot_id, blocks or bot_profile, and
    // per-user `subscribed` required on the parent); its messages are message objects, the parent with
    // `reply_count`, the replies with `parent_user_id`, as Slack's current docs show them.
    let replies = &mut spec["paths"]["/conversations.replies"]["get"]["responses"]["200"]["schema"];
    replies["properties"]["messages"]["items"] = json!({"$ref": "#/definitions/objs_message"});
    replies["properties"]["has_more"] = json!({"type": "boolean"});
    // chat.update: the file types the answer's `blocks` as an object; it is the updated message object.
    let update = &mut spec["paths"]["/chat.update"]["post"]["responses"]["200"]["schema"];
    update["properties"]["message"] = json!({"$ref": "#/definitions/objs_message"});
    // User objects: current responses carry `is_email_confirmed`.
    for i in 0..2 {
        spec["definitions"]["objs_user"]["items"][i]["properties"]["is_email_confirmed"] =
            json!({"type": "boolean"});
    }
    spec
}

/// Errors that Slack's current docs list for every method (or for these methods) but the file does not.
fn extra_errors(method: &str) -> Vec<&'static str> {
    // token_expired: an app with token rotation past its token's `expires_in` (Slack's current docs list it for
    // every method; the file predates token rotation).
    let mut v = vec![
        "missing_scope",
        "token_revoked",
        "token_expired",
        "ratelimited",
        "invalid_arguments",
        "not_allowed_token_type",
    ];
    match method {
        "chat.postMessage" => v.extend([
            "invalid_blocks",
            "invalid_blocks_format",
            "messages_tab_disabled",
            "invalid_metadata_format",
            "invalid_attachments",
            "invalid_thread_ts",
        ]),
        "chat.update" => v.extend([
            "invalid_blocks",
            "invalid_blocks_format",
            "invalid_metadata_format",
            "invalid_attachments",
        ]),
        "conversations.open" => v.extend(["cannot_dm_bot"]),
        "conversations.history" => v.extend(["invalid_cursor"]),
        "conversations.replies" => {
            v.extend(["invalid_cursor", "invalid_ts_latest", "invalid_ts_oldest"])
        }
        _ => {}
    }
    v
}

/// The file's operation of a method (its only HTTP verb).
fn operation(spec: &Value, method: &str) -> Value {
    let verbs = spec["paths"][format!("/{method}")].as_object().unwrap();
    verbs.values().next().unwrap().clone()
}

/// The response schema of `method` for success (200) or error (default), patched.
fn response_schema(spec: &Value, method: &str, success: bool) -> Value {
    let op = operation(spec, method);
    let mut s = op["responses"][if success { "200" } else { "default" }]["schema"].clone();
    // Every answer may carry `warning` and `response_metadata` (Slack's Web API basics); errors may carry
    // `needed`/`provided` (missing_scope) and `response_metadata.messages` (invalid_arguments, invalid_blocks).
    let rm = json!({"type": "object", "additionalProperties": false, "properties": {
        "messages": {"type": "array", "items": {"type": "string"}},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "next_cursor": {"type": "string"}}});
    if let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("warning".into(), json!({"type": "string"}));
        if !props.contains_key("response_metadata") {
            props.insert("response_metadata".into(), rm);
        }
        if !success {
            props.insert("needed".into(), json!({"type": "string"}));
            props.insert("provided".into(), json!({"type": "string"}));
            if let Some(e) = props
                .get_mut("error")
                .and_then(|e| e.get_mut("enum"))
                .and_then(Value::as_array_mut)
            {
                for x in extra_errors(method) {
                    if !e.contains(&json!(x)) {
                        e.push(json!(x));
                    }
                }
            }
        }
    }
    if success && method == "conversations.history" {
        // An empty conversation has `messages: []` (the file says at least one).
        s["properties"]["messages"]["minItems"] = json!(0);
    }
    s
}

fn assert_conforms(spec: &Value, method: &str, answer: &Value) {
    let success = answer["ok"] == true;
    let schema = response_schema(spec, method, success);
    let mut errs = Vec::new();
    Validator { root: spec }.check(&schema, answer, "", &mut errs);
    assert!(
        errs.is_empty(),
        "{method} answer does not conform:\n{}\nanswer: {answer}",
        errs.join("\n")
    );
}

// ------------------------------------------------------------------------------------------------------------

/// Calls each (method, parameters) in order; returns the answers with their methods.
async fn answers_of(
    sim: &SimHandle,
    via: Via<'_>,
    calls: &[(&'static str, Value)],
) -> Vec<(&'static str, Value)> {
    let mut answers = Vec::new();
    for (method, params) in calls {
        answers.push((*method, call(sim, via, method, params).await.json()));
    }
    answers
}

#[tokio::test]
async fn every_answer_conforms_to_the_openapi_file() {
    let spec = spec();
    let (sim, token) = start_installed(ALL_SCOPES).await;
    // Shapes, not rates: a rate-limited answer would stand in for the one to check.
    without_rate_limits(&sim);
    let get = Get(&token);
    let mut answers = answers_of(
        &sim,
        get,
        &[
            ("auth.test", json!({})),
            ("users.lookupByEmail", json!({"email": "alice@example.com"})),
            ("users.list", json!({})),
            ("users.list", json!({"limit": "2"})),
            ("users.info", json!({"user": "U0CHEN0001"})),
            ("users.info", json!({"user": "USLACKBOT"})),
            ("conversations.open", json!({"users": "U0ALICE001"})),
        ],
    )
    .await;
    let dm = answers[6].1["channel"]["id"].as_str().unwrap().to_string();
    let blocks = json!([
        {"type": "header", "text": {"type": "plain_text", "text": "New session"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Title*"}, "accessory": {"type": "image", "image_url": "https://x.test/a.png", "alt_text": "cover"}},
        {"type": "actions", "elements": [{"type": "button", "action_id": "open", "text": {"type": "plain_text", "text": "Open"}, "url": "https://lms.test/s/1"}]}
    ]);
    let md = json!({"event_type": "lms_notification", "event_payload": {"id": "n1"}});
    let bad_blocks =
        json!([{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}, {"type": "video"}]);
    answers.extend(
        answers_of(
            &sim,
            get,
            &[
                // Successes.
                ("conversations.open", json!({"users": "U0ALICE001", "return_im": "true"})),
                ("conversations.history", json!({"channel": dm})),
                (
                    "chat.postMessage",
                    json!({"channel": dm, "text": "hi", "blocks": blocks.to_string(), "metadata": md.to_string()}),
                ),
                (
                    "chat.postMessage",
                    json!({"channel": "U0BOB00001", "text": "hi", "username": "Acme", "icon_url": "https://x.test/i.png"}),
                ),
                (
                    "chat.postMessage",
                    json!({"channel": dm, "text": "hi", "icon_emoji": ":tada:"}),
                ),
                (
                    "conversations.history",
                    json!({"channel": dm, "include_all_metadata": "true"}),
                ),
                ("conversations.history", json!({"channel": dm, "limit": "1"})),
                ("auth.revoke", json!({"test": "true"})),
                // Errors.
                ("users.lookupByEmail", json!({"email": "none@example.com"})),
                ("users.lookupByEmail", json!({})),
                ("users.list", json!({"cursor": "Zm9v"})),
                ("users.info", json!({"user": "U0NOBODY01"})),
                ("conversations.open", json!({"users": "U0NOBODY01"})),
                ("conversations.open", json!({"users": "U0GONE0001"})),
                ("conversations.open", json!({})),
                ("conversations.history", json!({"channel": "D0NOPE0000"})),
                ("conversations.history", json!({"channel": dm, "oldest": "x"})),
                ("chat.postMessage", json!({"channel": dm})),
                ("chat.postMessage", json!({"channel": "C0NOPE0000", "text": "x"})),
                (
                    "chat.postMessage",
                    json!({"channel": dm, "blocks": bad_blocks.to_string()}),
                ),
            ],
        )
        .await,
    );
    // A thread, an update, a deletion that leaves a tombstone, and their errors.
    let parent = call(
        &sim,
        get,
        "chat.postMessage",
        &json!({"channel": dm, "text": "parent"}),
    )
    .await
    .json();
    let pts = parent["ts"].as_str().unwrap().to_string();
    answers.push(("chat.postMessage", parent));
    let nowhere = "1600000000.000100";
    answers.extend(
        answers_of(
            &sim,
            get,
            &[
                // Successes.
                ("chat.postMessage", json!({"channel": dm, "text": "reply", "thread_ts": pts})),
                ("conversations.replies", json!({"channel": dm, "ts": pts})),
                ("conversations.replies", json!({"channel": dm, "ts": pts, "limit": "1"})),
                ("conversations.history", json!({"channel": dm})),
                (
                    "chat.update",
                    json!({"channel": dm, "ts": pts, "text": "changed", "blocks": blocks.to_string()}),
                ),
                ("conversations.history", json!({"channel": dm, "limit": "1"})),
                ("chat.delete", json!({"channel": dm, "ts": pts})),
                ("conversations.replies", json!({"channel": dm, "ts": pts})),
                // Errors.
                ("chat.postMessage", json!({"channel": dm, "text": "x", "thread_ts": "0"})),
                ("conversations.replies", json!({"channel": dm, "ts": nowhere})),
                ("conversations.replies", json!({"channel": dm})),
                ("conversations.replies", json!({"channel": "D0NOPE0000", "ts": pts})),
                ("conversations.replies", json!({"channel": dm, "ts": pts, "latest": "x"})),
                ("chat.update", json!({"channel": dm, "ts": nowhere, "text": "x"})),
                ("chat.update", json!({"channel": dm, "ts": pts, "text": "x"})),
                ("chat.update", json!({"channel": "D0NOPE0000", "ts": pts, "text": "x"})),
                ("chat.update", json!({"channel": dm, "ts": pts})),
                ("chat.delete", json!({"channel": dm, "ts": nowhere})),
                ("chat.delete", json!({"channel": "D0NOPE0000", "ts": pts})),
            ],
        )
        .await,
    );
    sim.set_messages_tab(false);
    let tab_off = [("chat.postMessage", json!({"channel": dm, "text": "x"}))];
    answers.extend(answers_of(&sim, get, &tab_off).await);
    sim.set_messages_tab(true);
    for m in [
        "auth.test",
        "users.list",
        "users.info",
        "users.lookupByEmail",
        "conversations.open",
        "conversations.history",
        "conversations.replies",
        "chat.postMessage",
        "chat.update",
        "chat.delete",
        "auth.revoke",
    ] {
        for via in [Get("xoxb-0-0-invalid"), Form(None)] {
            answers.push((m, call(&sim, via, m, &json!({})).await.json()));
        }
    }
    // Missing scopes.
    let (sim2, t2) = start_installed("team:read").await;
    without_rate_limits(&sim2);
    let every_parameter = json!({"user": "U0ALICE001", "users": "U0ALICE001", "email": "a@b.c", "channel": "U0ALICE001", "text": "x"});
    for m in [
        "users.list",
        "users.info",
        "users.lookupByEmail",
        "conversations.open",
        "chat.postMessage",
        "chat.update",
        "chat.delete",
    ] {
        let v = call(&sim2, Get(&t2), m, &every_parameter).await.json();
        assert_eq!(v["error"], "missing_scope", "{m}: {v}");
        answers.push((m, v));
    }
    // oauth.v2.access (the file has only the generic envelope; the v2 shape is checked in tests/api.rs).
    let q = allow(&sim2, "U0ALICE001", "chat:write", "s").await;
    for _ in 0..2 {
        answers.push(("oauth.v2.access", exchange(&sim2, &q["code"]).await.json()));
    }
    // apps.uninstall and auth.revoke for real, then token_revoked.
    let cfg = sim2.state();
    let t3 = install(&sim2, "U0ADMIN001", "chat:write").await;
    let client = json!({"client_id": cfg.app.client_id, "client_secret": cfg.app.client_secret});
    let bad_secret = json!({"client_id": cfg.app.client_id, "client_secret": "bad"});
    answers.extend(
        answers_of(
            &sim2,
            Form(Some(&t3)),
            &[
                ("apps.uninstall", bad_secret),
                ("apps.uninstall", client.clone()),
                ("auth.test", json!({})),
                ("apps.uninstall", client),
            ],
        )
        .await,
    );
    let t4 = install(&sim2, "U0ADMIN001", "chat:write").await;
    let revoke_twice = [("auth.revoke", json!({})), ("auth.revoke", json!({}))];
    answers.extend(answers_of(&sim2, Form(Some(&t4)), &revoke_twice).await);

    // Token rotation: an expired token; api.test, echoing and failing on demand.
    let mut rotating = slack_sim::SimConfig::demo();
    rotating.app.token_rotation_enabled = true;
    let sim3 = start_with(rotating).await;
    let t5 = install(&sim3, "U0ADMIN001", "chat:write").await;
    sim3.advance_clock(Duration::from_secs(43_200));
    let expired_and_echo = [
        ("auth.test", json!({})),
        ("api.test", json!({"foo": "bar"})),
        ("api.test", json!({"error": "my_error"})),
    ];
    let tail = answers_of(&sim3, Form(Some(&t5)), &expired_and_echo).await;
    assert_eq!(tail[0].1["error"], "token_expired", "{}", tail[0].1);
    answers.extend(tail);

    let mut successes = 0;
    for (m, a) in &answers {
        assert_conforms(&spec, m, a);
        if a["ok"] == true {
            successes += 1;
        }
    }
    assert!(
        successes >= 15 && answers.len() - successes >= 30,
        "{successes} of {}",
        answers.len()
    );
}

/// For each implemented method, drop each parameter the file marks required: Slack refuses the call, with
/// the error Slack gives for it.
#[tokio::test]
async fn requests_missing_required_parameters_are_refused() {
    let spec = spec();
    let (sim, token) = start_installed(ALL_SCOPES).await;
    without_rate_limits(&sim);
    let posted = post_form(
        &format!("{}chat.postMessage", sim.api_url()),
        &[("token", &token), ("channel", "U0ALICE001"), ("text", "x")],
    )
    .await
    .json();
    let (dm, ts) = (
        posted["channel"].as_str().unwrap(),
        posted["ts"].as_str().unwrap(),
    );
    let q = allow(&sim, "U0ALICE001", "chat:write", "s").await;
    let cfg = sim.state();
    // A valid call of each method.
    let valid: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("auth.test", vec![("token", token.clone())]),
        (
            "users.lookupByEmail",
            vec![
                ("token", token.clone()),
                ("email", "alice@example.com".into()),
            ],
        ),
        ("users.list", vec![("token", token.clone())]),
        (
            "users.info",
            vec![("token", token.clone()), ("user", "U0ALICE001".into())],
        ),
        (
            "conversations.open",
            vec![("token", token.clone()), ("users", "U0ALICE001".into())],
        ),
        (
            "chat.postMessage",
            vec![
                ("token", token.clone()),
                ("channel", "U0ALICE001".into()),
                ("text", "x".into()),
            ],
        ),
        (
            "conversations.history",
            vec![("token", token.clone()), ("channel", "U0ALICE001".into())],
        ),
        (
            "chat.update",
            vec![
                ("token", token.clone()),
                ("channel", dm.into()),
                ("ts", ts.into()),
                ("text", "y".into()),
            ],
        ),
        (
            "oauth.v2.access",
            vec![
                ("client_id", cfg.app.client_id.clone()),
                ("client_secret", cfg.app.client_secret.clone()),
                ("code", q["code"].clone()),
            ],
        ),
    ];
    let expected = |m: &str, p: &str| -> &'static str {
        match (m, p) {
            (_, "token") => "not_authed",
            ("users.lookupByEmail", "email") => "invalid_arguments",
            ("chat.postMessage" | "chat.update", "channel") => "channel_not_found",
            ("chat.update", "ts") => "message_not_found",
            ("oauth.v2.access", "code") => "invalid_code",
            (m, p) => panic!("no expectation for {m} without {p}"),
        }
    };
    let mut checked = 0;
    for (m, params) in &valid {
        let op = operation(&spec, m);
        let required: Vec<String> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["required"] == true)
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        for r in required {
            let fields: Vec<(&str, &str)> = params
                .iter()
                .filter(|(k, _)| *k != r)
                .map(|(k, v)| (*k, v.as_str()))
                .collect();
            let v = post_form(&format!("{}{m}", sim.api_url()), &fields)
                .await
                .json();
            assert_eq!(v["ok"], false, "{m} without {r}: {v}");
            assert_eq!(v["error"], expected(m, &r), "{m} without {r}: {v}");
            assert_conforms(&spec, m, &v);
            checked += 1;
        }
        // The valid call itself succeeds (conversations.history to a U id is not a conversation).
        let fields: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let v = post_form(&format!("{}{m}", sim.api_url()), &fields)
            .await
            .json();
        if *m != "conversations.history" {
            assert_eq!(v["ok"], true, "{m}: {v}");
        }
        assert_conforms(&spec, m, &v);
    }
    assert!(checked >= 6, "{checked}");
}

/// The validator is not toothless: answers Slack would never give are caught.
#[test]
fn the_validator_rejects_wrong_answers() {
    let spec = spec();
    let fails = |m: &str, a: Value| {
        let schema = response_schema(&spec, m, a["ok"] == true);
        let mut errs = Vec::new();
        Validator { root: &spec }.check(&schema, &a, "", &mut errs);
        assert!(!errs.is_empty(), "{m}: {a} should not conform");
    };
    fails(
        "auth.test",
        json!({"ok": true, "url": "u", "team": "t", "user": "u", "team_id": "T0SIMTEAM1"}),
    );
    fails(
        "auth.test",
        json!({"ok": true, "url": "u", "team": "t", "user": "u", "team_id": "T0SIMTEAM1", "user_id": "U0AAA", "extra": 1}),
    );
    fails("auth.test", json!({"ok": false, "error": "made_up_error"}));
    fails(
        "chat.postMessage",
        json!({"ok": true, "channel": "X1", "ts": "1.2", "message": {"type": "message", "text": "", "ts": "1700000000.000100"}}),
    );
    fails(
        "chat.postMessage",
        json!({"ok": true, "channel": "D0123456789", "ts": "1700000000.000100", "message": {"type": "message", "ts": "1700000000.000100"}}),
    );
    fails(
        "users.info",
        json!({"ok": true, "user": {"id": "U0AAA", "name": "x", "is_bot": "no", "updated": 1, "is_app_user": false, "profile": {}}}),
    );
    fails(
        "conversations.open",
        json!({"ok": true, "channel": {"id": "C0123456789"}}),
    );
    fails(
        "users.list",
        json!({"ok": true, "members": [], "cache_ts": 1}),
    );
}
