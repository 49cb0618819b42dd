//! What a member reads: who reads (their time zone, language and the names of mentions), and a message of their
//! conversation as plain text, by the rules the web view renders HTML with ([`crate::mrkdwn`]): dates resolved in
//! the reader's zone and language, mrkdwn formatting applied, plain text as written. For a terminal and for tests.

use serde::Serialize;
use serde_json::Value;

use crate::model::{Member, Message, Sender, Workspace};
use crate::mrkdwn::{RenderCtx, render_plain, text_object_plain};
use crate::ts;
use crate::tz::{self, Lang};

/// The reader `member` of `workspace`, at simulation time `now` (Unix seconds): their time zone, their language
/// (from their `locale`) and the workspace's names for mentions.
pub fn reader<'a>(member: &'a Member, workspace: &Workspace, now: i64) -> RenderCtx<'a> {
    RenderCtx {
        tz: &member.tz,
        lang: Lang::of_locale(&member.locale),
        now,
        names: workspace
            .members
            .iter()
            .map(|m| (m.id.clone(), m.name.clone()))
            .collect(),
    }
}

/// A message as its reader reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadMessage {
    /// The sender's name as shown (the message's custom name, the app's name, or Slackbot).
    pub sender: String,
    /// When it was sent, in the reader's time zone and language (`Tuesday, December 1st, 2026 at 9:00 AM`,
    /// `mardi 1er décembre 2026 à 09:00`).
    pub sent: String,
    /// When it was sent, in RFC 3339 with the reader's offset (`2026-12-01T09:00:00+01:00`).
    pub sent_at: String,
    /// What the message shows, one entry per text (see [`read_blocks`]); its `text` when it has no blocks.
    pub texts: Vec<String>,
}

/// `message` as `ctx`'s reader reads it; `app_name` is the sender's name when the message does not set one.
pub fn read_message(message: &Message, app_name: &str, ctx: &RenderCtx) -> ReadMessage {
    let secs = ts::parse(&message.ts).unwrap_or(0).div_euclid(1_000_000);
    let sender = match &message.sender {
        Sender::App { .. } => message.username.as_deref().unwrap_or(app_name),
        Sender::Slackbot => "Slackbot",
    };
    let sent = tz::render_date(
        secs,
        ctx.lang
            .pick("{date_long} at {time}", "{date_long} à {time}"),
        ctx.tz,
        ctx.lang,
        ctx.now,
    )
    .unwrap_or_default();
    let texts = match &message.blocks {
        Some(blocks) => read_blocks(blocks, ctx),
        None => vec![render_plain(&message.text, ctx)],
    };
    ReadMessage {
        sender: sender.to_string(),
        sent,
        sent_at: tz::rfc3339(secs, ctx.tz).unwrap_or_default(),
        texts,
    }
}

/// Block Kit blocks as their reader reads them: one entry per text, in order (a header; a section's text, then each
/// of its fields; an image as `[image: ALT] URL`; a context's elements on one line; each button as `[LABEL] URL`;
/// a divider as a rule). An entry's lines are separated by `\n`.
pub fn read_blocks(blocks: &Value, ctx: &RenderCtx) -> Vec<String> {
    let str_of =
        |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let image = |v: &Value| {
        format!(
            "[image: {}] {}",
            str_of(v, "alt_text"),
            str_of(v, "image_url")
        )
    };
    let button = |v: &Value| {
        let label = v
            .get("text")
            .map(|t| text_object_plain(t, ctx))
            .unwrap_or_default();
        format!("[{label}] {}", str_of(v, "url"))
            .trim_end()
            .to_string()
    };
    let mut out = Vec::new();
    for block in blocks.as_array().into_iter().flatten() {
        let elements = || {
            block
                .get("elements")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        };
        match block.get("type").and_then(Value::as_str) {
            Some("header") => out.extend(block.get("text").map(|t| text_object_plain(t, ctx))),
            Some("section") => {
                out.extend(block.get("text").map(|t| text_object_plain(t, ctx)));
                let fields = block
                    .get("fields")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten();
                out.extend(fields.map(|f| text_object_plain(f, ctx)));
                match block.get("accessory") {
                    Some(a) if str_of(a, "type") == "button" => out.push(button(a)),
                    Some(a) if str_of(a, "type") == "image" => out.push(image(a)),
                    _ => {}
                }
            }
            Some("image") => out.push(image(block)),
            Some("context") => out.push(
                elements()
                    .map(|e| match str_of(e, "type").as_str() {
                        "image" => format!("[image: {}]", str_of(e, "alt_text")),
                        _ => text_object_plain(e, ctx),
                    })
                    .collect::<Vec<_>>()
                    .join("  "),
            ),
            Some("actions") => out.extend(
                elements()
                    .filter(|e| str_of(e, "type") == "button")
                    .map(button),
            ),
            Some("divider") => out.push("———".to_string()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn member(tz: &str, locale: &str) -> Member {
        Member {
            id: "U0READER01".into(),
            name: "reader".into(),
            real_name: "Reader".into(),
            email: None,
            tz: tz.into(),
            locale: locale.into(),
            deleted: false,
            is_bot: false,
            is_admin: false,
        }
    }

    /// 2026-12-01T08:00:00Z.
    const DEC_1: i64 = 1_796_112_000;

    fn invitation() -> Value {
        json!([
            {"type": "header", "text": {"type": "plain_text", "text": "Hi *there* <!here>", "emoji": false}},
            {"type": "section", "text": {"type": "plain_text", "text": "Sécurité\n_Une_ session :tada:", "emoji": false}},
            {"type": "image", "image_url": "https://x.test/c.png", "alt_text": "Couverture"},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": "*Début*\n<!date^1796112000^{date_short_pretty} {time}|mar. 1 déc. 2026 à 09:00>", "verbatim": true},
                {"type": "mrkdwn", "text": "*Fin*\n<!date^1796122800^{date_short_pretty} {time}|x>", "verbatim": true}
            ]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "_a_"}, {"type": "image", "image_url": "https://x.test/i.png", "alt_text": "i"}]},
            {"type": "divider"},
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Ouvrir la session"}, "url": "https://lms.test/s/1"}]}
        ])
    }

    #[test]
    fn a_french_reader_in_paris() {
        let m = member("Europe/Paris", "fr-FR");
        let ws = Workspace::demo();
        let ctx = reader(&m, &ws, DEC_1);
        assert_eq!(
            read_blocks(&invitation(), &ctx),
            [
                "Hi *there* <!here>",
                "Sécurité\n_Une_ session :tada:",
                "[image: Couverture] https://x.test/c.png",
                "Début\nAujourd’hui 09:00",
                "Fin\nAujourd’hui 12:00",
                "a  [image: i]",
                "———",
                "[Ouvrir la session] https://lms.test/s/1",
            ]
        );
    }

    #[test]
    fn an_english_reader_in_new_york_the_day_before() {
        let m = member("America/New_York", "en-US");
        let ws = Workspace::demo();
        let ctx = reader(&m, &ws, DEC_1 - 86_400);
        let texts = read_blocks(&invitation(), &ctx);
        assert_eq!(texts[3], "Début\nTomorrow 3:00 AM");
        assert_eq!(texts[4], "Fin\nTomorrow 6:00 AM");
    }

    #[test]
    fn a_message_says_when_it_was_sent_in_the_readers_zone_and_language() {
        let message = Message {
            ts: format!("{DEC_1}.000200"),
            channel: "D1".into(),
            sender: Sender::App {
                app_id: "A1".into(),
                bot_id: "B1".into(),
                bot_user_id: "U0BOT00001".into(),
            },
            text: "*fallback*".into(),
            blocks: None,
            attachments: None,
            username: Some("Acme Learning".into()),
            icon_url: None,
            icon_emoji: None,
            metadata: None,
            thread_ts: None,
            edited: None,
            tombstone: false,
        };
        let ws = Workspace::demo();
        let fr = member("Europe/Paris", "fr-CA");
        let read = read_message(&message, "App", &reader(&fr, &ws, 0));
        assert_eq!(
            read,
            ReadMessage {
                sender: "Acme Learning".into(),
                sent: "mardi 1er décembre 2026 à 09:00".into(),
                sent_at: "2026-12-01T09:00:00+01:00".into(),
                texts: vec!["fallback".into()],
            }
        );
        let en = member("Asia/Tokyo", "en-GB");
        let read = read_message(&message, "App", &reader(&en, &ws, 0));
        assert_eq!(read.sent, "Tuesday, December 1st, 2026 at 5:00 PM");
        assert_eq!(read.sent_at, "2026-12-01T17:00:00+09:00");
    }
}
