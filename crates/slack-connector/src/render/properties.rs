//! The message for any input: random titles, descriptions and step texts (any Unicode, combining marks, emoji,
//! Slack's special characters and control sequences, very long texts) give a message that is valid Block Kit within
//! every Slack limit, shows each text as typed (but for cuts, which keep its beginning and end with "…"), and pings
//! no one. The simulated Slack is the oracle: its validation for the limits, its reading for what a member sees.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::Value;
use slack_sim::{Lang, RenderCtx, read_blocks, render_unformatted};

use super::tests::{assert_valid, find};
use super::text::escape_mrkdwn;
use super::*;
use crate::model::PlatformGroup;

/// Pieces of text Slack treats specially, and awkward Unicode.
const ATOMS: &[&str] = &[
    "*bold*",
    "_it_",
    "~strike~",
    "`code`",
    "```block```",
    "*",
    "_",
    "~",
    "`",
    "> ",
    "\n> quote",
    ">>> all",
    "<",
    ">",
    "&",
    "&amp;",
    "&lt;",
    "@channel",
    "@here",
    "@everyone",
    "<!here>",
    "<!channel>",
    "<!everyone>",
    "<@U123>",
    "<@W1|x>",
    "<#C1>",
    "<!subteam^S1|@team>",
    "<https://evil.example|click>",
    "<mailto:a@b.c>",
    "<!date^1^{date}|x>",
    "|",
    "^",
    "!",
    ":",
    ":tada:",
    ":smile:",
    ":+1:",
    ":nope:",
    "e\u{301}",
    "a\u{301}\u{302}\u{303}",
    "👩\u{200d}👩\u{200d}👧\u{200d}👦",
    "🇫🇷",
    "👍🏽",
    "\u{200b}",
    "\u{200d}",
    "\u{feff}",
    "\u{0}",
    "\u{7}",
    "\u{1b}[31m",
    "\r\n",
    "\r",
    "\n",
    "\t",
    " ",
    "\u{a0}",
    "\u{202f}",
    "hameçonnage",
    "live",
    "session",
    "安全研修",
    "שלום",
    "مرحبا",
    "\u{202e}",
    "Ω",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
];

/// A text of `0..max_atoms` pieces: words of Slack's special characters, awkward Unicode and any character.
fn text(max_atoms: usize) -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        3 => prop::sample::select(ATOMS).prop_map(str::to_string),
        1 => any::<char>().prop_map(String::from),
        1 => "[a-zA-Zéàç]{1,12}",
    ];
    prop::collection::vec(atom, 0..max_atoms).prop_map(|atoms| atoms.join(""))
}

/// Mostly short texts, sometimes very long ones (thousands of characters, beyond every Slack limit).
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![6 => text(30), 1 => text(1500)]
}

fn session() -> impl Strategy<Value = Session> {
    let cover = prop::option::of(prop::sample::select(vec![
        "https://cdn.example.com/cover.png".to_string(),
        "https://cdn.example.com/cover.svg".to_string(),
    ]));
    (
        any_text(),
        any_text(),
        cover,
        any::<bool>(),
        -100_000_000_000i64..100_000_000_000,
        prop_oneof![3 => Just(3600i64), 1 => -1_000_000i64..1_000_000],
    )
        .prop_map(
            |(title, description, cover_image_url, cover_is_default, starts_at, length)| Session {
                id: "s".into(),
                title,
                description,
                cover_image_url,
                cover_is_default,
                starts_at,
                ends_at: starts_at.saturating_add(length),
                url: "https://lms.example.com/sessions/1".into(),
            },
        )
}

fn notification() -> impl Strategy<Value = Notification> {
    let kind = prop::sample::select(vec![
        NotificationKind::SessionAssignment,
        NotificationKind::SessionInformation,
        NotificationKind::PathStep,
        NotificationKind::SessionReminder,
    ]);
    (
        kind,
        any_text(),
        prop::option::of(session()),
        prop::option::of(any_text()),
    )
        .prop_map(|(kind, title, session, body)| Notification {
            id: "n".into(),
            kind,
            title,
            session,
            body,
            group: PlatformGroup::default(),
        })
}

/// How the session looked when the message first showed it: another session, or the same with some fields changed.
fn first_shown(now: Option<Session>) -> impl Strategy<Value = Session> {
    let now = now.unwrap_or_default();
    (
        session(),
        any::<[bool; 4]>(),
        prop_oneof![Just(0i64), -200_000i64..200_000],
    )
        .prop_map(move |(other, [title, description, cover, dates], moved)| {
            let mut first = now.clone();
            if title {
                first.title = other.title;
            }
            if description {
                first.description = other.description;
            }
            if cover {
                first.cover_image_url = other.cover_image_url;
                first.cover_is_default = other.cover_is_default;
            }
            if dates {
                first.starts_at = first.starts_at.saturating_add(moved);
            }
            first
        })
}

/// Text as a reader compares it: runs of spaces and control characters as one space, no space at either end.
fn words(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `shown` is `typed` as typed: the same words, or (cut) its first words then "…".
fn shows_as_typed(shown: &str, typed: &str) -> bool {
    let (shown, typed) = (words(shown), words(typed));
    if shown == typed {
        return true;
    }
    match shown.strip_suffix('…') {
        Some(kept) => typed.starts_with(words(kept).as_str()),
        None => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_message_is_valid_shows_the_text_as_typed_and_pings_no_one(
        n in notification(),
        locale in prop::sample::select(vec!["en", "fr-FR", "fr-CA", "de", ""]),
        zone in prop::sample::select(vec!["Europe/Paris", "America/New_York", "Asia/Kolkata", "Nowhere/Else"]),
    ) {
        let recipient = User { locale: locale.into(), time_zone: zone.into(), ..User::default() };
        let r = render(&n, &recipient);
        // Valid, within every limit, no ping: the simulated Slack's checks (see `tests::assert_valid`).
        assert_valid(&r);

        let reader = RenderCtx { tz: zone, lang: Lang::of_locale(locale), now: 0, names: HashMap::new() };
        let texts = read_blocks(&r.blocks_json(), &reader);
        let mut texts = texts.iter().map(String::as_str);
        // The title: the header (cut at a word if needed), then the whole title when it was cut.
        if !words(&n.title).is_empty() {
            let header = texts.next().unwrap();
            prop_assert!(shows_as_typed(header, &n.title), "header {header:?} of {:?}", n.title);
            if words(header) != words(&n.title) {
                let whole = texts.next().unwrap();
                prop_assert!(shows_as_typed(whole, &n.title), "title {whole:?} of {:?}", n.title);
            }
            prop_assert!(shows_as_typed(&render_unformatted(&r.text, &reader), &n.title));
        }
        if let (NotificationKind::PathStep, Some(body)) = (n.kind, &n.body)
            && !words(body).is_empty()
        {
            let shown = texts.next().unwrap();
            prop_assert!(shows_as_typed(shown, body), "body {shown:?} of {body:?}");
        }
        if let (NotificationKind::SessionReminder, Some(s)) = (n.kind, &n.session) {
            // The reminder's line (the connector's words and a date), then the session's title alone.
            if date_token(s.starts_at, zone, locale_for(locale)).is_some() {
                let line = texts.next().unwrap();
                prop_assert!(!line.contains("<!date") && !line.trim().is_empty(), "{line}");
            }
            if !words(&s.title).is_empty() {
                let shown = texts.next().unwrap();
                prop_assert!(shows_as_typed(shown, &s.title), "{shown:?} of {:?}", s.title);
            }
            prop_assert_eq!(find(&r, "actions").len(), usize::from(blocks::is_usable_url(&s.url)));
        } else if let Some(s) = &n.session {
            let (title, description) = (words(&s.title), words(&s.description));
            if !title.is_empty() || !description.is_empty() {
                let shown = texts.next().unwrap();
                let (shown_title, shown_description) = match (title.is_empty(), description.is_empty()) {
                    (false, false) => shown.split_once('\n').unwrap(),
                    (false, true) => (shown, ""),
                    (true, _) => ("", shown),
                };
                prop_assert!(shows_as_typed(shown_title, &s.title), "{shown_title:?} of {:?}", s.title);
                prop_assert!(
                    shows_as_typed(shown_description, &s.description),
                    "{shown_description:?} of {:?}", s.description
                );
            }
        }
        // The rest is the connector's own: the cover (its alt text names the session), the dates, read as dates, and
        // the button.
        for shown in texts.filter(|t| !t.starts_with("[image: ")) {
            prop_assert!(!shown.contains("<!date") && !shown.contains('*'), "{shown}");
        }
    }

    #[test]
    fn any_update_is_valid_says_what_changed_or_that_it_is_cancelled_and_pings_no_one(
        (n, first) in notification().prop_flat_map(|n| {
            let first = first_shown(n.session.clone());
            (Just(n), first)
        }),
        change in prop::sample::select(vec![SessionChange::Edited, SessionChange::Cancelled]),
        locale in prop::sample::select(vec!["en", "fr-FR", "fr-CA", "de", ""]),
        zone in prop::sample::select(vec!["Europe/Paris", "America/New_York", "Asia/Kolkata", "Nowhere/Else"]),
    ) {
        let recipient = User { locale: locale.into(), time_zone: zone.into(), ..User::default() };
        let r = render_update(&n, change, &first, &recipient);
        assert_valid(&r);
        let language = locale_for(locale);
        let reader = RenderCtx { tz: zone, lang: Lang::of_locale(locale), now: 0, names: HashMap::new() };
        let texts = read_blocks(&r.blocks_json(), &reader);
        if !words(&n.title).is_empty() {
            prop_assert!(shows_as_typed(&texts[0], &n.title), "header {:?} of {:?}", texts[0], n.title);
        }
        // The date fields, and whether each moved.
        let sections = find(&r, "section");
        let fields: Vec<String> = sections
            .iter()
            .filter_map(|b| b.get("fields").and_then(Value::as_array))
            .flatten()
            .map(|f| f["text"].as_str().unwrap().to_string())
            .collect();
        let contexts = find(&r, "context");
        match change {
            SessionChange::Cancelled => {
                prop_assert!(find(&r, "actions").is_empty(), "a cancelled session has no button");
                prop_assert!(find(&r, "image").is_empty());
                prop_assert!(contexts.is_empty());
                let notice = language.text("cancel.notice");
                prop_assert!(texts.iter().any(|t| t == notice), "{texts:?}");
                let template = language.text("text.cancelled");
                let (before, _) = template.split_once("{session}").unwrap();
                prop_assert!(render_unformatted(&r.text, &reader).starts_with(before), "{}", r.text);
                for f in &fields {
                    // Each date struck through, whole.
                    let value = f.split_once('\n').map_or(f.as_str(), |(_, v)| v);
                    prop_assert!(value.starts_with("~<!date^") && value.ends_with(">~"), "{f}");
                }
            }
            SessionChange::Edited => {
                prop_assert_eq!(contexts.len(), 1);
                let said = contexts[0]["elements"][0]["text"].as_str().unwrap();
                let now = n.session.clone().unwrap_or_default();
                let changed = n.session.as_ref().map(|now| changes(&first, now)).unwrap_or_default();
                let dates_moved = changed.contains(&"change.dates");
                prop_assert_eq!(
                    said.contains(&escape_mrkdwn(language.text("change.dates"))),
                    dates_moved,
                    "{}", said
                );
                if changed.is_empty() {
                    prop_assert_eq!(said, escape_mrkdwn(language.text("update.notice")));
                }
                for (f, (before, after)) in fields.iter().zip([
                    (first.starts_at, now.starts_at),
                    (first.ends_at, now.ends_at),
                ]) {
                    // Only a date that moved shows its old value, struck through, before the new one.
                    let moved = before != after;
                    prop_assert_eq!(f.contains('~'), moved, "{}", f);
                    if moved {
                        let old = format!("~<!date^{before}^");
                        let new = format!("<!date^{after}^");
                        prop_assert!(f.contains(&old), "{}", f);
                        prop_assert!(f.contains(&new), "{}", f);
                    }
                }
                if n.session.is_some() {
                    prop_assert_eq!(
                        find(&r, "actions").len(),
                        usize::from(blocks::is_usable_url(&now.url))
                    );
                }
            }
        }
    }
}
