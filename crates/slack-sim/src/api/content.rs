//! A message's content as `chat.postMessage` and `chat.update` take it (`text`, `blocks`, `attachments`,
//! `metadata`), checked as Slack checks it: `invalid_blocks_format`, `invalid_blocks`, `invalid_attachments`,
//! `invalid_metadata_format`, `msg_too_long`; whether a message is left with nothing to show (`no_text`) is the
//! caller's to say.

use serde_json::{Value, json};

use super::{MethodResult, Params, Reply};
use crate::blocks::{self, MAX_TEXT_CHARS};

/// What a call says of a message's metadata.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataChange {
    /// `{event_type, event_payload}`: set it.
    Set(Value),
    /// `{}`: remove it (`chat.update` only: "To remove previous metadata, include an empty object").
    Clear,
}

/// The content fields a call gave, each checked; `None` where the call did not give the field.
#[derive(Debug, Clone)]
pub struct Content {
    /// `text`.
    pub text: Option<String>,
    /// `blocks`, an array (empty: none).
    pub blocks: Option<Value>,
    /// `attachments`, an array (empty: none).
    pub attachments: Option<Value>,
    /// `metadata`.
    pub metadata: Option<MetadataChange>,
}

impl Content {
    /// Reads and checks the content fields of a call.
    pub fn read(p: &Params) -> MethodResult<Content> {
        let blocks = p.json("blocks", "invalid_blocks_format")?;
        if let Some(b) = &blocks {
            if !b.is_array() {
                return Err(Reply::err("invalid_blocks_format"));
            }
            let errors = blocks::validate(b);
            if !errors.is_empty() {
                return Err(Reply::err_msgs("invalid_blocks", errors));
            }
        }
        let attachments = p.json("attachments", "invalid_attachments")?;
        if attachments.as_ref().is_some_and(|a| !a.is_array()) {
            return Err(Reply::err("invalid_attachments"));
        }
        let text = p.string("text");
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
        {
            return Err(Reply::err("msg_too_long"));
        }
        let metadata = p
            .json("metadata", "invalid_metadata_format")?
            .map(metadata_change)
            .transpose()?;
        Ok(Content {
            text,
            blocks,
            attachments,
            metadata,
        })
    }

    /// Whether the call gave none of `text`, `blocks` and `attachments` (Slack: one of them is required).
    pub fn says_nothing(&self) -> bool {
        self.text.is_none() && self.blocks.is_none() && self.attachments.is_none()
    }
}

/// A `metadata` value as a change: `{}` clears, `{event_type, event_payload}` sets (the other keys dropped).
fn metadata_change(md: Value) -> MethodResult<MetadataChange> {
    if md.as_object().is_some_and(|o| o.is_empty()) {
        return Ok(MetadataChange::Clear);
    }
    let ok = md
        .get("event_type")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
        && md.get("event_payload").is_some_and(Value::is_object);
    if !ok {
        return Err(Reply::err("invalid_metadata_format"));
    }
    Ok(MetadataChange::Set(
        json!({"event_type": md["event_type"], "event_payload": md["event_payload"]}),
    ))
}

/// An array with something in it, else none (Slack treats `[]` as no blocks or attachments).
pub fn non_empty(v: Option<Value>) -> Option<Value> {
    v.filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
}

/// Whether a message of this text, blocks and attachments has nothing to show (`no_text`).
pub fn shows_nothing(text: &str, blocks: &Option<Value>, attachments: &Option<Value>) -> bool {
    text.trim().is_empty() && blocks.is_none() && attachments.is_none()
}
