//! The Slack message for a notification (M9), in the recipient's language and time zone (B4).
//!
//! [`render`] turns a [`Notification`] into Block Kit blocks plus a `text` fallback for notifications and
//! previews. Every text from the LMS (titles, description, the author's body) is inert: it goes in `plain_text`
//! objects, which Slack shows as written (`*bold*`, `<!here>`, `:tada:` and `&amp;` included) and never reads as
//! formatting, a link or a mention; the `text` fallback is escaped and posted with `mrkdwn: false`, so Slack reads
//! only its entities. The connector's own words (date labels) and its `<!date…>` tokens are the only mrkdwn. Every
//! Slack limit holds whatever the input: long text is cut at a word (see [`text`]) with "…", a URL Slack would
//! refuse is left out, and nothing is ever rejected.
//!
//! The title is the notification's subject (the e-mail's), which the LMS writes in the recipient's language; the
//! connector adds its own words in that language too (`locales/*.json`), so a message reads in one language.
//!
//! Layout, in order, each block present only when it has content:
//! 1. `header`: the title, on one line; beyond 150 characters it is cut at a word…
//! 2. `section`: …and the whole title follows, so that the message still holds the e-mail's subject.
//! 3. `section`: the author's body (path steps only).
//! 4. `section`: the session's title on its first line, then its description cut to 200 characters.
//! 5. `image`: the session's cover, unless it is the default one or not a png, jpg, jpeg or gif; its alt text names
//!    the session in the recipient's language.
//! 6. `section` with two fields: "Starts" and "Ends", each a Slack date token.
//! 7. `actions`: one primary button "Open the session" linking to the session.
//!
//! A message with none of these (a blank title and no session) gets one `section` holding the `text` fallback.

pub mod blocks;
pub mod dates;
pub mod i18n;
pub mod text;

use serde_json::Value;

use crate::model::{Notification, NotificationKind, Session, User};

use self::blocks::{
    ALT_TEXT_MAX, DESCRIPTION_MAX, FIELD_MAX, HEADER_MAX, MAX_BLOCKS, SECTION_MAX, TEXT_MAX,
};
use self::text::{char_len, cut, escape_cut, escaped_len, fill, multi_line, single_line};

pub use self::dates::date_token;
pub use self::i18n::{Locale, locale_for};

/// The `action_id` of the button that opens the session.
pub const OPEN_SESSION_ACTION_ID: &str = "open_session";

/// Labels of the date fields are cut to this many characters (they are the connector's own short words).
const LABEL_MAX: usize = 100;

/// A message ready for `chat.postMessage`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The fallback text, shown in notifications and previews: the title, or what the notification is about, in
    /// the recipient's language. Escaped for mrkdwn, to be posted with `mrkdwn: false` (Slack then reads its
    /// entities and nothing else); ≤ 3,000 characters, never empty.
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

    let title = single_line(&notification.title);
    out.extend(blocks::header(&title));
    if char_len(&title) > HEADER_MAX {
        // The header was cut: the whole title follows.
        out.extend(blocks::plain_section(&title));
    }
    if notification.kind == NotificationKind::PathStep
        && let Some(body) = &notification.body
    {
        out.extend(blocks::plain_section(&multi_line(body)));
    }
    if let Some(session) = &notification.session {
        session_blocks(session, recipient, locale, &mut out);
    }
    let about = about(notification, locale);
    if out.is_empty() {
        // Nothing to show but the fallback (a blank title and no session): a message needs one block.
        out.extend(blocks::plain_section(&about));
    }
    out.truncate(MAX_BLOCKS);

    Rendered {
        text: escape_cut(&about, TEXT_MAX),
        blocks: Value::Array(out),
    }
}

/// The session's title and description, cover, dates and button.
fn session_blocks(session: &Session, recipient: &User, locale: &Locale, out: &mut Vec<Value>) {
    let title = single_line(&session.title);
    out.extend(blocks::plain_section(&session_text(
        &title,
        &session.description,
    )));

    if !session.cover_is_default
        && let Some(url) = &session.cover_image_url
    {
        let alt = if title.is_empty() {
            locale.text("image.cover_alt").to_string()
        } else {
            fill(
                locale.text("image.cover_alt_of"),
                &[("session", &title)],
                ALT_TEXT_MAX,
                char_len,
            )
        };
        out.extend(blocks::image(url, &alt));
    }

    let date_field = |label_key: &str, unix: i64| -> Option<String> {
        let token = date_token(unix, &recipient.time_zone, locale)?;
        let label = escape_cut(&single_line(locale.text(label_key)), LABEL_MAX);
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

/// The session's title (one line) then its description (cut to 200 characters), within a section's 3,000.
fn session_text(title: &str, description: &str) -> String {
    let description = multi_line(description);
    let description = cut(&description, DESCRIPTION_MAX);
    match (title.is_empty(), description.is_empty()) {
        (_, true) => title.to_string(),
        (true, false) => description.into_owned(),
        (false, false) => format!(
            "{}\n{description}",
            cut(title, SECTION_MAX - 1 - char_len(&description))
        ),
    }
}

/// What the notification is about, in plain words, for the `text` fallback: its title (the e-mail's subject, in
/// the recipient's language) when it has one; else, in the recipient's language, "Invitation: Session X" (or
/// "Information: …") for a session, a path step's body or session, or "New notification". Never blank.
fn about(notification: &Notification, locale: &Locale) -> String {
    let title = single_line(&notification.title);
    if !title.is_empty() {
        return title;
    }
    let session = notification
        .session
        .as_ref()
        .map(|s| single_line(&s.title))
        .unwrap_or_default();
    let body = notification
        .body
        .as_deref()
        .map(single_line)
        .unwrap_or_default();
    let template = match (notification.kind, session.is_empty()) {
        (NotificationKind::PathStep, _) if !body.is_empty() => return body,
        (NotificationKind::PathStep, false) => return session,
        (_, true) => locale.text("text.notification"),
        (NotificationKind::SessionAssignment, false) => locale.text("text.session_assignment"),
        (NotificationKind::SessionInformation | NotificationKind::SessionReminder, false) => {
            locale.text("text.session_information")
        }
    };
    let text = fill(template, &[("session", &session)], TEXT_MAX, escaped_len);
    if text.trim().is_empty() {
        // Only when a language's own words are blank.
        return i18n::english().text("text.notification").to_string();
    }
    text
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
