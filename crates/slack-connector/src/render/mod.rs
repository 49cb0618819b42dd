//! The Slack message for a notification (M9), in the recipient's language and time zone (B4).
//!
//! [`render`] turns a [`Notification`] into Block Kit blocks plus a `text` fallback for notifications and
//! previews; [`render_update`] renders it again for `chat.update`, once its session was edited or cancelled. Every
//! text from the LMS (titles, description, the author's body) is inert: it goes in `plain_text` objects, which Slack
//! shows as written (`*bold*`, `<!here>`, `:tada:` and `&amp;` included) and never reads as formatting, a link or a
//! mention; the `text` fallback is escaped and posted with `mrkdwn: false`, so Slack reads only its entities
//! (`chat.update` has no such option: escaped, the text still forms no link, mention or date). The connector's own
//! words (date labels, notices) and its `<!date…>` tokens are the only mrkdwn. Every Slack limit holds whatever the
//! input: long text is cut at a word (see [`text`]) with "…", a URL Slack would refuse is left out, and nothing is
//! ever rejected.
//!
//! The title is the notification's subject (the e-mail's), which the LMS writes in the recipient's language; the
//! connector adds its own words in that language too (`locales/*.json`), so a message reads in one language.
//!
//! Layout of an invitation, information or path step, in order, each block present only when it has content:
//! 1. `header`: the title, on one line; beyond 150 characters it is cut at a word…
//! 2. `section`: …and the whole title follows, so that the message still holds the e-mail's subject.
//! 3. `section`: the author's body (path steps only).
//! 4. `section`: the session's title on its first line, then its description cut to 200 characters.
//! 5. `image`: the session's cover, unless it is the default one or not a png, jpg, jpeg or gif; its alt text names
//!    the session in the recipient's language.
//! 6. `section` with two fields: "Starts" and "Ends", each a Slack date token.
//! 7. `actions`: one primary button "Open the session" linking to the session.
//!
//! A reminder ([`NotificationKind::SessionReminder`]) is shorter: the title (1, 2), "Reminder: the session starts
//! {date}" (mrkdwn, the date a token), the session's title alone (plain text), the dates (6) and the button (7).
//!
//! An update ([`render_update`]) shows the session as it is now:
//! - [`SessionChange::Edited`]: the same blocks as the message, with a `context` block after the title saying that
//!   the message was updated and what changed since the message first showed the session (title, description,
//!   cover, dates); a date that moved shows its old value struck through (a date token too) before the new one.
//! - [`SessionChange::Cancelled`]: the title (1, 2), a bold `section` saying the session is cancelled, the session's
//!   title and description (4), its dates struck through (6), and no cover nor button; the `text` fallback says it
//!   is cancelled.
//!
//! A message with none of these (a blank title and no session) gets one `section` holding the `text` fallback.

pub mod blocks;
pub mod dates;
pub mod i18n;
pub mod text;

use crate::model::{Notification, NotificationKind, Session, SessionChange, User};

use self::blocks::{
    ALT_TEXT_MAX, Block, DESCRIPTION_MAX, FIELD_MAX, HEADER_MAX, MAX_BLOCKS, SECTION_MAX, TEXT_MAX,
};
use self::text::{char_len, cut, escape_cut, escaped_len, fill, multi_line, single_line};

pub use self::dates::date_token;
pub use self::i18n::{Locale, locale_for};

/// The `action_id` of the button that opens the session.
pub const OPEN_SESSION_ACTION_ID: &str = "open_session";

/// Labels of the date fields are cut to this many characters (they are the connector's own short words).
const LABEL_MAX: usize = 100;
/// The connector's own sentences (notices, the reminder's line) are cut to this many characters once escaped.
const NOTICE_MAX: usize = 1000;
/// What separates a date that moved, struck through, from its new value.
const MOVED_TO: &str = " → ";

/// A message ready for `chat.postMessage` or `chat.update`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The fallback text, shown in notifications and previews: the title, or what the notification is about, in
    /// the recipient's language. Escaped for mrkdwn, to be posted with `mrkdwn: false` (Slack then reads its
    /// entities and nothing else); ≤ 3,000 characters, never empty.
    pub text: String,
    /// The Block Kit blocks: at most 50.
    pub blocks: Vec<Block>,
}

/// Which message is rendered: the one posted, or one changed since.
#[derive(Debug, Clone, Copy)]
enum Version<'a> {
    /// The message as posted.
    Posted,
    /// The session was edited; this is how the message first showed it.
    Edited(&'a Session),
    /// The session was cancelled.
    Cancelled,
}

/// Renders `notification` for `recipient`, in their language (`recipient.locale`) and time zone
/// (`recipient.time_zone`). The platform group (sender name and icon) is not part of the blocks: the API client sets
/// it on the message.
pub fn render(notification: &Notification, recipient: &User) -> Rendered {
    match &notification.session {
        Some(session) if notification.kind == NotificationKind::SessionReminder => {
            reminder(notification, session, recipient)
        }
        _ => compose(notification, recipient, Version::Posted),
    }
}

/// Renders, for `chat.update`, the message sent earlier about `notification`'s session as the session is now
/// (`notification.session`): `Edited`, the message with what changed since `first_shown` (how the message first
/// showed the session) and that it was updated; `Cancelled`, that the session is cancelled, with nothing left to act
/// on. In `recipient`'s language and time zone, as [`render`].
pub fn render_update(
    notification: &Notification,
    change: SessionChange,
    first_shown: &Session,
    recipient: &User,
) -> Rendered {
    let version = match change {
        SessionChange::Edited => Version::Edited(first_shown),
        SessionChange::Cancelled => Version::Cancelled,
    };
    compose(notification, recipient, version)
}

/// What an update changed: the locale keys (`change.title`, `change.description`, `change.cover`, `change.dates`) of
/// the session's fields that a message shows differently for `after` than for `before` (the title and description
/// once cleaned, the cover Slack would show, the start or end), in the order the message shows them.
pub fn changes(before: &Session, after: &Session) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if single_line(&before.title) != single_line(&after.title) {
        changed.push("change.title");
    }
    if multi_line(&before.description) != multi_line(&after.description) {
        changed.push("change.description");
    }
    if shown_cover(before) != shown_cover(after) {
        changed.push("change.cover");
    }
    if (before.starts_at, before.ends_at) != (after.starts_at, after.ends_at) {
        changed.push("change.dates");
    }
    changed
}

/// The title (header, and the whole title when the header had to cut it).
fn title_blocks(notification: &Notification, out: &mut Vec<Block>) {
    let title = single_line(&notification.title);
    out.extend(blocks::header(&title));
    if char_len(&title) > HEADER_MAX {
        // The header was cut: the whole title follows.
        out.extend(blocks::plain_section(&title));
    }
}

/// The message for every version but a reminder's.
fn compose(notification: &Notification, recipient: &User, version: Version<'_>) -> Rendered {
    let locale = locale_for(&recipient.locale);
    let mut out: Vec<Block> = Vec::new();

    title_blocks(notification, &mut out);
    match version {
        Version::Posted => {}
        Version::Edited(first_shown) => {
            let changed = notification
                .session
                .as_ref()
                .map(|now| changes(first_shown, now))
                .unwrap_or_default();
            out.extend(blocks::context(&updated_notice(&changed, locale)));
        }
        Version::Cancelled => {
            let notice = escape_cut(locale.text("cancel.notice").trim(), NOTICE_MAX);
            if !notice.is_empty() {
                out.extend(blocks::mrkdwn_section(&format!("*{notice}*")));
            }
        }
    }
    if notification.kind == NotificationKind::PathStep
        && let Some(body) = &notification.body
    {
        out.extend(blocks::plain_section(&multi_line(body)));
    }
    if let Some(session) = &notification.session {
        session_blocks(session, recipient, locale, version, &mut out);
    }
    let about = about(notification, locale);
    let text = match version {
        Version::Posted => about,
        Version::Edited(_) => about_change("text.updated", notification, &about, locale),
        Version::Cancelled => about_change("text.cancelled", notification, &about, locale),
    };
    if out.is_empty() {
        // Nothing to show but the fallback (a blank title and no session): a message needs one block.
        out.extend(blocks::plain_section(&text));
    }
    out.truncate(MAX_BLOCKS);

    Rendered {
        text: escape_cut(&text, TEXT_MAX),
        blocks: out,
    }
}

/// A reminder: the title, "Reminder: the session starts {date}", the session's title, its dates and the button.
fn reminder(notification: &Notification, session: &Session, recipient: &User) -> Rendered {
    let locale = locale_for(&recipient.locale);
    let mut out: Vec<Block> = Vec::new();

    title_blocks(notification, &mut out);
    if let Some(token) = date_token(session.starts_at, &recipient.time_zone, locale) {
        out.extend(blocks::mrkdwn_section(&with_date(
            locale.text("reminder.starts"),
            &token,
        )));
    }
    out.extend(blocks::plain_section(&single_line(&session.title)));
    out.extend(blocks::section_fields(date_fields(
        session,
        recipient,
        locale,
        Version::Posted,
    )));
    out.extend(open_button(session, locale));
    let about = about(notification, locale);
    if out.is_empty() {
        out.extend(blocks::plain_section(&about));
    }
    out.truncate(MAX_BLOCKS);

    Rendered {
        text: escape_cut(&about, TEXT_MAX),
        blocks: out,
    }
}

/// `template` (the connector's plain words) escaped for mrkdwn, with the date token `token` in place of its first
/// `{date}` (after it when it has none).
fn with_date(template: &str, token: &str) -> String {
    let words = |s: &str| escape_cut(s, NOTICE_MAX);
    match template.trim().split_once("{date}") {
        Some((before, after)) => format!("{}{token}{}", words(before), words(after)),
        None if template.trim().is_empty() => token.to_string(),
        None => format!("{} {token}", words(template.trim())),
    }
}

/// "Message updated. Changes: title, dates." in the recipient's language (escaped mrkdwn), for the update's
/// context block; "Message updated." when nothing the message shows changed.
fn updated_notice(changed: &[&str], locale: &Locale) -> String {
    let notice = if changed.is_empty() {
        locale.text("update.notice").to_string()
    } else {
        let names: Vec<&str> = changed.iter().map(|key| locale.text(key).trim()).collect();
        let list = names.join(locale.text("change.separator"));
        fill(
            locale.text("update.changes"),
            &[("changes", &list)],
            NOTICE_MAX,
            escaped_len,
        )
    };
    escape_cut(notice.trim(), NOTICE_MAX)
}

/// The session's title and description, cover, dates and button, as `version` shows them.
fn session_blocks(
    session: &Session,
    recipient: &User,
    locale: &Locale,
    version: Version<'_>,
    out: &mut Vec<Block>,
) {
    let title = single_line(&session.title);
    out.extend(blocks::plain_section(&session_text(
        &title,
        &session.description,
    )));

    // A cancelled session's message is sober: nothing left to look at or act on.
    let cancelled = matches!(version, Version::Cancelled);
    if !cancelled && let Some(url) = shown_cover(session) {
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

    out.extend(blocks::section_fields(date_fields(
        session, recipient, locale, version,
    )));

    if !cancelled {
        out.extend(open_button(session, locale));
    }
}

/// The button that opens the session.
fn open_button(session: &Session, locale: &Locale) -> Option<Block> {
    blocks::link_button(
        OPEN_SESSION_ACTION_ID,
        locale.text("button.open_session"),
        &session.url,
    )
}

/// The cover a message shows: the session's, unless it is the default one or an image Slack cannot show.
fn shown_cover(session: &Session) -> Option<&str> {
    session
        .cover_image_url
        .as_deref()
        .filter(|url| !session.cover_is_default && blocks::is_supported_image_url(url))
}

/// The "Starts" and "Ends" fields, each a date token: struck through for a cancelled session, and for an edited one
/// after its old value, struck through, when it moved.
fn date_fields(
    session: &Session,
    recipient: &User,
    locale: &Locale,
    version: Version<'_>,
) -> Vec<String> {
    let token = |unix: i64| date_token(unix, &recipient.time_zone, locale);
    let date_field = |label_key: &str, unix: i64, before: Option<i64>| -> Option<String> {
        let now = token(unix)?;
        let value = match version {
            Version::Posted => now,
            Version::Cancelled => format!("~{now}~"),
            Version::Edited(_) => match before.filter(|b| *b != unix).and_then(token) {
                Some(old) => format!("~{old}~{MOVED_TO}{now}"),
                None => now,
            },
        };
        let label = escape_cut(&single_line(locale.text(label_key)), LABEL_MAX);
        let field = if label.is_empty() {
            value
        } else {
            format!("*{label}*\n{value}")
        };
        (char_len(&field) <= FIELD_MAX).then_some(field)
    };
    let first_shown = match version {
        Version::Edited(first_shown) => Some(first_shown),
        _ => None,
    };
    [
        date_field(
            "label.starts",
            session.starts_at,
            first_shown.map(|s| s.starts_at),
        ),
        date_field(
            "label.ends",
            session.ends_at,
            first_shown.map(|s| s.ends_at),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
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
/// "Information: …", "Reminder: …") for a session, a path step's body or session, or "New notification". Never
/// blank.
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
        (NotificationKind::SessionInformation, false) => locale.text("text.session_information"),
        (NotificationKind::SessionReminder, false) => locale.text("text.session_reminder"),
    };
    let text = fill(template, &[("session", &session)], TEXT_MAX, escaped_len);
    if text.trim().is_empty() {
        // Only when a language's own words are blank.
        return i18n::english().text("text.notification").to_string();
    }
    text
}

/// The `text` fallback of an update, from the language's `template_key` ("Session cancelled: {session}"): the
/// session's title, else what the notification is about (`about`). Never blank.
fn about_change(
    template_key: &str,
    notification: &Notification,
    about: &str,
    locale: &Locale,
) -> String {
    let session = notification
        .session
        .as_ref()
        .map(|s| single_line(&s.title))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| about.to_string());
    let text = fill(
        locale.text(template_key),
        &[("session", &session)],
        TEXT_MAX,
        escaped_len,
    );
    if text.trim().is_empty() {
        // Only when a language's own words are blank.
        return fill(
            i18n::english().text(template_key),
            &[("session", &session)],
            TEXT_MAX,
            escaped_len,
        );
    }
    text
}

#[cfg(test)]
impl Rendered {
    /// The blocks as Slack reads them, for the tests' oracle and expectations.
    pub(crate) fn blocks_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.blocks).expect("blocks serialise")
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
