//! The Slack message for a notification (M9), in the recipient's language and time zone (B4).
//!
//! [`render`] turns a [`Notification`] into Block Kit blocks plus a plain `text` fallback for notifications and
//! previews. Everything that comes from the LMS is escaped for mrkdwn, so a session called `<!channel>` shows as
//! written and pings no one; the only `<…>` left in the output are the connector's own date tokens. Every Slack
//! limit holds whatever the input: long text is cut (at a grapheme boundary, with "…"), a URL Slack would refuse is
//! left out, and nothing is ever rejected.
//!
//! Layout, in order, each block present only when it has content:
//! 1. `header`: the notification's title (the e-mail subject), plain text, ≤ 150 characters.
//! 2. `section`: the author's body (path steps only).
//! 3. `section`: the session's title in bold, then its description cut to 200 characters.
//! 4. `image`: the session's cover, unless it is the default one or not a png, jpg, jpeg or gif.
//! 5. `section` with two fields: "Starts" and "Ends", each a Slack date token.
//! 6. `actions`: one primary button "Open the session" linking to the session.
//!
//! A message with none of these (a blank title and no session) gets one `section` holding the `text` fallback.

pub mod blocks;
pub mod dates;
pub mod i18n;
pub mod text;

use serde_json::Value;

use crate::model::{Notification, NotificationKind, Session, User};

use self::blocks::{DESCRIPTION_MAX, FIELD_MAX, MAX_BLOCKS, SECTION_MAX, TEXT_MAX};
use self::text::{char_len, escape_truncated, fill_mrkdwn, multi_line, single_line};

pub use self::dates::date_token;
pub use self::i18n::{Locale, locale_for};
pub use self::text::{escape_mrkdwn, truncate_graphemes};

/// The `action_id` of the button that opens the session.
pub const OPEN_SESSION_ACTION_ID: &str = "open_session";

/// Labels of the date fields are cut to this many characters (they are the connector's own short words).
const LABEL_MAX: usize = 100;

/// A message ready for `chat.postMessage`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The plain fallback text, shown in notifications and previews: escaped mrkdwn, ≤ 3,000 characters, never
    /// empty.
    pub text: String,
    /// The Block Kit blocks: a JSON array of at most 50 blocks.
    pub blocks: Value,
}

/// Renders `notification` for `recipient`, in their language (`recipient.locale`) and time zone
/// (`recipient.time_zone`). The platform group (sender name and icon) is not part of the blocks: the API client sets
/// it on the message.
pub fn render(notification: &Notification, recipient: &User) -> Rendered {
    let locale = locale_for(&recipient.locale);
    let mut out: Vec<Value> = Vec::new();

    out.extend(blocks::header(&notification.title));
    if notification.kind == NotificationKind::PathStep
        && let Some(body) = &notification.body
    {
        out.extend(blocks::section(escape_truncated(
            &multi_line(body),
            SECTION_MAX,
        )));
    }
    if let Some(session) = &notification.session {
        session_blocks(session, recipient, locale, &mut out);
    }
    let text = fallback_text(notification, locale);
    if out.is_empty() {
        // Nothing to show but the fallback (a blank title and no session): a message needs one block.
        out.extend(blocks::section(text.clone()));
    }
    out.truncate(MAX_BLOCKS);

    Rendered {
        text,
        blocks: Value::Array(out),
    }
}

/// The session's title and description, cover, dates and button.
fn session_blocks(session: &Session, recipient: &User, locale: &Locale, out: &mut Vec<Value>) {
    out.extend(blocks::section(session_text(session)));

    if !session.cover_is_default
        && let Some(url) = &session.cover_image_url
    {
        out.extend(blocks::image(
            url,
            &session.title,
            locale.text("image.cover_alt"),
        ));
    }

    let date_field = |label_key: &str, unix: i64| -> Option<String> {
        let token = date_token(unix, &recipient.time_zone, locale)?;
        let label = escape_truncated(&single_line(locale.text(label_key)), LABEL_MAX);
        let field = if label.is_empty() {
            token
        } else {
            format!("*{label}*\n{token}")
        };
        (char_len(&field) <= FIELD_MAX).then_some(field)
    };
    let fields: Vec<String> = [
        date_field("label.starts", session.starts_at),
        date_field("label.ends", session.ends_at),
    ]
    .into_iter()
    .flatten()
    .collect();
    out.extend(blocks::section_fields(&fields));

    out.extend(blocks::link_button(
        OPEN_SESSION_ACTION_ID,
        locale.text("button.open_session"),
        &session.url,
    ));
}

/// `*Title*` then the description (cut to 200 characters), escaped, within a section's 3,000 characters.
fn session_text(session: &Session) -> String {
    let description = escape_mrkdwn(&truncate_graphemes(
        &multi_line(&session.description),
        DESCRIPTION_MAX,
    ));
    let description_len = char_len(&description);
    // The description takes at most 200 × 5 characters once escaped; the title gets the rest, less `**` and `\n`.
    let title_budget = SECTION_MAX
        - 2
        - if description.is_empty() {
            0
        } else {
            description_len + 1
        };
    let title = escape_truncated(&single_line(&session.title), title_budget);
    match (title.is_empty(), description.is_empty()) {
        (false, false) => format!("*{title}*\n{description}"),
        (false, true) => format!("*{title}*"),
        (true, _) => description,
    }
}

/// The message's `text`: what the notification is about, in the recipient's language, e.g. "Invitation: Session X
/// — You are invited to Session X". Escaped, ≤ 3,000 characters, never empty.
fn fallback_text(notification: &Notification, locale: &Locale) -> String {
    let title = single_line(&notification.title);
    let session = notification
        .session
        .as_ref()
        .map(|s| single_line(&s.title))
        .unwrap_or_default();

    let about_session = match notification.kind {
        NotificationKind::SessionAssignment => locale.text("text.session_assignment"),
        NotificationKind::SessionInformation => locale.text("text.session_information"),
        NotificationKind::PathStep => "{session}",
    };
    let template = match (title.is_empty(), session.is_empty(), notification.kind) {
        (true, true, _) => locale.text("text.notification").to_string(),
        (false, true, _) => "{title}".to_string(),
        (true, false, _) => about_session.to_string(),
        (false, false, NotificationKind::PathStep) => "{title} — {session}".to_string(),
        (false, false, _) => format!("{about_session} — {{title}}"),
    };
    let text = fill_mrkdwn(
        &template,
        &[("title", &title), ("session", &session)],
        TEXT_MAX,
    );
    if text.trim().is_empty() {
        // Only when a language's own words are blank.
        return escape_mrkdwn(i18n::english().text("text.notification"));
    }
    text
}

#[cfg(test)]
mod tests;
