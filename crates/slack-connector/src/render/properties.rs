//! The message for any input: random titles, descriptions and step texts (any Unicode, combining marks, emoji,
//! Slack's special characters and control sequences, very long texts) give a message that is valid Block Kit within
//! every Slack limit, shows each text as typed (but for cuts, which keep its beginning and end with "…"), and pings
//! no one. The simulated Slack is the oracle: its validation for the limits, its reading for what a member sees.

use std::collections::HashMap;

use proptest::prelude::*;
use slack_sim::{Lang, RenderCtx, read_blocks, render_unformatted};

use super::tests::assert_valid;
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

fn notification() -> impl Strategy<Value = Notification> {
    let kind = prop::sample::select(vec![
        NotificationKind::SessionAssignment,
        NotificationKind::SessionInformation,
        NotificationKind::PathStep,
    ]);
    let cover = prop::option::of(prop::sample::select(vec![
        "https://cdn.example.com/cover.png".to_string(),
        "https://cdn.example.com/cover.svg".to_string(),
    ]));
    let session = (
        any_text(),
        any_text(),
        cover,
        any::<bool>(),
        -100_000_000_000i64..100_000_000_000,
    )
        .prop_map(
            |(title, description, cover_image_url, cover_is_default, starts_at)| Session {
                id: "s".into(),
                title,
                description,
                cover_image_url,
                cover_is_default,
                starts_at,
                ends_at: starts_at.saturating_add(3600),
                url: "https://lms.example.com/sessions/1".into(),
            },
        );
    (
        kind,
        any_text(),
        prop::option::of(session),
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
        let texts = read_blocks(&r.blocks, &reader);
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
        if let Some(s) = &n.session {
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
}
