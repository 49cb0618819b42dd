//! Whole messages: exact JSON per language, one language per message, user text inert in every field, cuts at
//! words, covers, time zones, and Slack's limits. The simulated Slack is the oracle: its Block Kit validation for
//! the limits, and its reading of a message (what a member sees) for the texts.

use std::collections::HashMap;

use serde_json::{Value, json};
use slack_sim::{Lang, RenderCtx, pings, read_blocks, render_unformatted, validate_blocks};
use unicode_segmentation::UnicodeSegmentation;

use super::blocks::{ALT_TEXT_MAX, HEADER_MAX, MAX_BLOCKS, SECTION_MAX, TEXT_MAX};
use super::text::char_len;
use super::*;
use crate::model::PlatformGroup;

/// 2026-12-01T08:00:00Z.
const START: i64 = 1_796_112_000;
/// 2026-12-01T10:30:00Z.
const END: i64 = 1_796_121_000;

fn session() -> Session {
    Session {
        id: "s-42".into(),
        title: "Safety & Security".into(),
        description: "Learn the <basics> of site safety.".into(),
        cover_image_url: Some("https://cdn.example.com/covers/safety.png".into()),
        cover_is_default: false,
        starts_at: START,
        ends_at: END,
        url: "https://lms.example.com/sessions/42".into(),
    }
}

fn notification(kind: NotificationKind) -> Notification {
    Notification {
        id: "n-1".into(),
        kind,
        title: "You are invited to Safety & Security".into(),
        session: Some(session()),
        body: None,
        group: PlatformGroup {
            name: "Acme <Academy>".into(),
            logo_url: Some("https://cdn.example.com/logo.png".into()),
        },
    }
}

fn user(locale: &str, time_zone: &str) -> User {
    User {
        id: "u-1".into(),
        email: "ada@example.com".into(),
        display_name: "Ada".into(),
        locale: locale.into(),
        time_zone: time_zone.into(),
    }
}

fn blocks_of(r: &Rendered) -> Vec<Value> {
    match r.blocks_json() {
        Value::Array(blocks) => blocks,
        other => panic!("blocks is not an array: {other}"),
    }
}

/// The blocks of `kind`, as Slack reads them.
pub(super) fn find(r: &Rendered, kind: &str) -> Vec<Value> {
    blocks_of(r)
        .into_iter()
        .filter(|b| b["type"] == kind)
        .collect()
}

/// Every text object of the blocks (headers, section texts and fields, buttons).
fn text_objects(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(o)
            if matches!(
                o.get("type").and_then(Value::as_str),
                Some("plain_text" | "mrkdwn")
            ) =>
        {
            out.push(v.clone())
        }
        Value::Object(o) => o.values().for_each(|v| text_objects(v, out)),
        Value::Array(a) => a.iter().for_each(|v| text_objects(v, out)),
        _ => {}
    }
}

/// The texts of the message's plain_text sections, in order.
fn plain_sections(r: &Rendered) -> Vec<String> {
    find(r, "section")
        .into_iter()
        .filter(|b| b["text"]["type"] == "plain_text")
        .map(|b| b["text"]["text"].as_str().unwrap().to_string())
        .collect()
}

/// Removes the connector's own date tokens (`<!date^…|…>`), checking their shape.
fn without_date_tokens(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("<!date^") {
        out.push_str(&rest[..start]);
        let token = &rest[start..];
        let end = token.find('>').expect("token closed");
        let inner = &token["<!date^".len()..end];
        let (unix, tail) = inner.split_once('^').expect("unix^format");
        unix.parse::<i64>().expect("unix seconds");
        let (format, fallback) = tail.split_once('|').expect("format|fallback");
        assert_eq!(format, "{date_short_pretty} {time}");
        assert!(
            !fallback.is_empty() && !fallback.contains(['|', '<']),
            "{fallback}"
        );
        rest = &token[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every Slack limit (the simulated Slack's validation), no ping anywhere, mrkdwn only for the connector's own words
/// and dates, every plain_text object shown as written.
pub(super) fn assert_valid(r: &Rendered) {
    assert!(!r.text.trim().is_empty());
    assert!(
        char_len(&r.text) <= TEXT_MAX,
        "text is {} characters",
        char_len(&r.text)
    );
    assert!(char_len(&r.text) <= slack_sim::MAX_TEXT_CHARS);
    assert!(!r.text.contains(['<', '>']), "{}", r.text);
    assert_eq!(pings(&r.text), Vec::<String>::new());

    let errors = validate_blocks(&r.blocks_json());
    assert!(errors.is_empty(), "{errors:?}\n{}", r.blocks_json());
    let blocks = blocks_of(r);
    assert!(!blocks.is_empty() && blocks.len() <= MAX_BLOCKS);
    for block in blocks {
        let kind = block["type"].as_str().unwrap();
        assert!(
            ["header", "section", "image", "actions", "context"].contains(&kind),
            "{kind}"
        );
    }
    let mut objects = Vec::new();
    text_objects(&r.blocks_json(), &mut objects);
    for t in objects {
        let s = t["text"].as_str().unwrap();
        if t["type"] == "mrkdwn" {
            assert_eq!(t["verbatim"], true);
            assert_eq!(pings(s), Vec::<String>::new(), "{s}");
            // The connector's own words: no `<` but in date tokens.
            assert!(!without_date_tokens(s).contains(['<', '>']), "{s}");
        } else {
            assert_eq!(t["emoji"], false, "{t}");
        }
    }
}

/// A member reading Slack in `locale` in `tz`, on 1970-01-01 (so that no date reads "Today").
fn reader<'a>(locale: &str, tz: &'a str) -> RenderCtx<'a> {
    RenderCtx {
        tz,
        lang: Lang::of_locale(locale),
        now: 0,
        names: HashMap::new(),
    }
}

/// What a member reads in `locale` and `tz`: each text of the message, as the simulated Slack shows it.
fn read(r: &Rendered, locale: &str, tz: &str) -> Vec<String> {
    read_blocks(&r.blocks_json(), &reader(locale, tz))
}

#[test]
fn english_message_in_new_york_exact_json() {
    let r = render(
        &notification(NotificationKind::SessionAssignment),
        &user("en-US", "America/New_York"),
    );
    assert_valid(&r);
    assert_eq!(r.text, "You are invited to Safety &amp; Security");
    let expected = json!([
        {
            "type": "header",
            "text": { "type": "plain_text", "text": "You are invited to Safety & Security", "emoji": false }
        },
        {
            "type": "section",
            "text": {
                "type": "plain_text",
                "text": "Safety & Security\nLearn the <basics> of site safety.",
                "emoji": false
            }
        },
        {
            "type": "image",
            "image_url": "https://cdn.example.com/covers/safety.png",
            "alt_text": "Cover image of the session Safety & Security"
        },
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": "*Starts*\n<!date^1796112000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 3:00 AM>",
                    "verbatim": true
                },
                {
                    "type": "mrkdwn",
                    "text": "*Ends*\n<!date^1796121000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 5:30 AM>",
                    "verbatim": true
                }
            ]
        },
        {
            "type": "actions",
            "elements": [{
                "type": "button",
                "action_id": "open_session",
                "text": { "type": "plain_text", "text": "Open the session", "emoji": false },
                "url": "https://lms.example.com/sessions/42",
                "style": "primary"
            }]
        }
    ]);
    assert_eq!(
        r.blocks_json(),
        expected,
        "{}",
        serde_json::to_string_pretty(&r.blocks_json()).unwrap()
    );
}

#[test]
fn french_message_in_paris_exact_json() {
    let mut n = notification(NotificationKind::SessionInformation);
    n.title = "Informations : Sécurité & sûreté".into();
    n.session.as_mut().unwrap().title = "Sécurité & sûreté".into();
    n.session.as_mut().unwrap().description = "Découvrez les <bases> de la sécurité.".into();
    let r = render(&n, &user("fr-FR", "Europe/Paris"));
    assert_valid(&r);
    assert_eq!(r.text, "Informations : Sécurité &amp; sûreté");
    let expected = json!([
        {
            "type": "header",
            "text": { "type": "plain_text", "text": "Informations : Sécurité & sûreté", "emoji": false }
        },
        {
            "type": "section",
            "text": {
                "type": "plain_text",
                "text": "Sécurité & sûreté\nDécouvrez les <bases> de la sécurité.",
                "emoji": false
            }
        },
        {
            "type": "image",
            "image_url": "https://cdn.example.com/covers/safety.png",
            "alt_text": "Image de couverture de la session Sécurité & sûreté"
        },
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": "*Début*\n<!date^1796112000^{date_short_pretty} {time}|mar. 1 déc. 2026 à 09:00>",
                    "verbatim": true
                },
                {
                    "type": "mrkdwn",
                    "text": "*Fin*\n<!date^1796121000^{date_short_pretty} {time}|mar. 1 déc. 2026 à 11:30>",
                    "verbatim": true
                }
            ]
        },
        {
            "type": "actions",
            "elements": [{
                "type": "button",
                "action_id": "open_session",
                "text": { "type": "plain_text", "text": "Ouvrir la session", "emoji": false },
                "url": "https://lms.example.com/sessions/42",
                "style": "primary"
            }]
        }
    ]);
    assert_eq!(
        r.blocks_json(),
        expected,
        "{}",
        serde_json::to_string_pretty(&r.blocks_json()).unwrap()
    );
}

#[test]
fn a_french_learner_reads_one_language_from_the_title_to_the_alt_text() {
    // The LMS writes the subject in the learner's language; the connector adds no second, English text.
    let mut n = notification(NotificationKind::SessionAssignment);
    n.title = "Vous êtes invité à Safety & Security".into();
    let r = render(&n, &user("fr-FR", "Europe/Paris"));
    assert_valid(&r);
    assert_eq!(r.text, "Vous êtes invité à Safety &amp; Security");
    let texts = read(&r, "fr-FR", "Europe/Paris");
    assert_eq!(
        texts,
        [
            "Vous êtes invité à Safety & Security",
            "Safety & Security\nLearn the <basics> of site safety.",
            "[image: Image de couverture de la session Safety & Security] https://cdn.example.com/covers/safety.png",
            "Début\n1 déc. 2026 09:00",
            "Fin\n1 déc. 2026 11:30",
            "[Ouvrir la session] https://lms.example.com/sessions/42",
        ]
    );
    // Not one of the connector's English words, anywhere.
    let everything = format!("{} {}", r.text, r.blocks_json());
    for english in [
        "Invitation:",
        "Starts",
        "Ends",
        "Open the session",
        "Cover image",
        "You are invited",
    ] {
        assert!(!everything.contains(english), "{english} in {everything}");
    }
    // And the other way round.
    let r = render(
        &notification(NotificationKind::SessionAssignment),
        &user("en-GB", "Europe/London"),
    );
    let everything = format!("{} {}", r.text, r.blocks_json());
    for french in [
        "Début",
        "Fin",
        "Ouvrir",
        "couverture",
        "déc.",
        "Invitation\u{a0}:",
    ] {
        assert!(!everything.contains(french), "{french} in {everything}");
    }
}

#[test]
fn the_locale_chain_from_canadian_french_to_french_to_english() {
    let n = notification(NotificationKind::SessionAssignment);
    let words = |locale: &str| {
        let r = render(&n, &user(locale, "America/Toronto"));
        assert_valid(&r);
        let start = find(&r, "section")[1]["fields"][0]["text"]
            .as_str()
            .unwrap()
            .to_string();
        let button = find(&r, "actions")[0]["elements"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .to_string();
        (start, button)
    };
    // Canadian French: its own time format, French's words.
    for tag in ["fr-CA", "fr_CA", "FR-ca"] {
        assert_eq!(
            words(tag),
            (
                "*Début*\n<!date^1796112000^{date_short_pretty} {time}|mar. 1 déc. 2026 à 3 h 00>"
                    .to_string(),
                "Ouvrir la session".to_string()
            ),
            "{tag}"
        );
    }
    // Other French: France's.
    for tag in ["fr", "fr-FR", "fr-BE", "FR"] {
        assert_eq!(
            words(tag).0,
            "*Début*\n<!date^1796112000^{date_short_pretty} {time}|mar. 1 déc. 2026 à 03:00>",
            "{tag}"
        );
    }
    // Anything else: English.
    for tag in ["", "en-US", "de-DE", "klingon"] {
        assert_eq!(
            words(tag),
            (
                "*Starts*\n<!date^1796112000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 3:00 AM>".to_string(),
                "Open the session".to_string()
            ),
            "{tag:?}"
        );
    }
}

#[test]
fn the_simulated_slack_shows_dates_in_the_readers_language_and_zone() {
    let r = render(
        &notification(NotificationKind::SessionAssignment),
        &user("fr-FR", "Europe/Paris"),
    );
    let fields = |locale: &str, tz: &str| read(&r, locale, tz)[3..5].to_vec();
    assert_eq!(
        fields("fr-FR", "Europe/Paris"),
        ["Début\n1 déc. 2026 09:00", "Fin\n1 déc. 2026 11:30"]
    );
    // Slack resolves the token for whoever reads it: the same message in Tokyo, in English.
    assert_eq!(
        fields("en-US", "Asia/Tokyo"),
        ["Début\nDec 1, 2026 5:00 PM", "Fin\nDec 1, 2026 7:30 PM"]
    );
}

fn date_fields(r: &Rendered) -> Vec<String> {
    find(r, "section")
        .iter()
        .filter_map(|b| b.get("fields"))
        .flat_map(|f| {
            f.as_array()
                .unwrap()
                .iter()
                .map(|f| f["text"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn same_instant_in_each_recipients_own_time() {
    let n = notification(NotificationKind::SessionAssignment);
    let paris = date_fields(&render(&n, &user("en", "Europe/Paris")));
    let new_york = date_fields(&render(&n, &user("en", "America/New_York")));
    assert_eq!(
        paris[0],
        "*Starts*\n<!date^1796112000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 9:00 AM>"
    );
    assert_eq!(
        new_york[0],
        "*Starts*\n<!date^1796112000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 3:00 AM>"
    );
    assert_eq!(
        paris[1],
        "*Ends*\n<!date^1796121000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 11:30 AM>"
    );
    assert_eq!(
        new_york[1],
        "*Ends*\n<!date^1796121000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 5:30 AM>"
    );
}

#[test]
fn unknown_time_zone_is_utc_and_says_so() {
    let n = notification(NotificationKind::SessionAssignment);
    for tz in ["", "Nowhere/Atlantis"] {
        let fields = date_fields(&render(&n, &user("fr", tz)));
        assert_eq!(
            fields[0],
            "*Début*\n<!date^1796112000^{date_short_pretty} {time}|mar. 1 déc. 2026 à 08:00 UTC>"
        );
        assert_eq!(
            fields[1],
            "*Fin*\n<!date^1796121000^{date_short_pretty} {time}|mar. 1 déc. 2026 à 10:30 UTC>"
        );
    }
}

#[test]
fn out_of_range_dates_are_left_out() {
    let mut n = notification(NotificationKind::SessionAssignment);
    n.session.as_mut().unwrap().starts_at = i64::MIN;
    let r = render(&n, &user("en", "UTC"));
    assert_valid(&r);
    let fields = date_fields(&r);
    assert_eq!(fields.len(), 1);
    assert!(fields[0].starts_with("*Ends*\n"));
    n.session.as_mut().unwrap().ends_at = i64::MAX;
    let r = render(&n, &user("en", "UTC"));
    assert_valid(&r);
    assert!(date_fields(&r).is_empty());
}

/// Text Slack would read as formatting, a quote, a link, a mention, an entity or an emoji in mrkdwn.
const TYPED: [&str; 8] = [
    "*bold* _it_ ~strike~ `code`",
    "> not a quote",
    "a < b > c & d &amp; e",
    "@channel @here hi",
    "<!here> <!channel> <!everyone>",
    "<@U123> <#C1> <!subteam^S1>",
    "<https://evil.example|click>",
    ":tada: :smile: :nope:",
];

#[test]
fn every_text_from_the_lms_shows_as_typed_and_pings_no_one() {
    for typed in TYPED {
        let mut n = notification(NotificationKind::PathStep);
        n.title = typed.to_string();
        n.body = Some(typed.to_string());
        n.group.name = typed.to_string();
        let s = n.session.as_mut().unwrap();
        s.title = typed.to_string();
        s.description = typed.to_string();
        let r = render(&n, &user("en", "Europe/Paris"));
        assert_valid(&r);

        let texts = read(&r, "en", "Europe/Paris");
        assert_eq!(texts[0], typed, "the header");
        assert_eq!(texts[1], typed, "the body");
        assert_eq!(
            texts[2],
            format!("{typed}\n{typed}"),
            "session title and description"
        );
        assert_eq!(
            texts[3],
            format!(
                "[image: Cover image of the session {typed}] https://cdn.example.com/covers/safety.png"
            ),
            "the alt text"
        );
        // The fallback text, as Slack reads a `text` posted with `mrkdwn: false`.
        assert_eq!(
            render_unformatted(&r.text, &reader("en", "UTC")),
            typed,
            "the text"
        );
        // The group name is the sender's, not in the blocks.
        assert!(!r.blocks_json().to_string().contains("Acme"));
    }
}

#[test]
fn an_authors_step_text_shows_literally_as_in_the_lms_preview() {
    let mut n = notification(NotificationKind::PathStep);
    n.title = "Step 3".into();
    n.body = Some("Hi *there*\n> Read the _notes_ first :books:".into());
    n.session = None;
    let r = render(&n, &user("en", "Europe/Paris"));
    assert_valid(&r);
    assert_eq!(
        read(&r, "en", "Europe/Paris"),
        ["Step 3", "Hi *there*\n> Read the _notes_ first :books:"]
    );
}

#[test]
fn a_long_title_is_cut_at_a_word_in_the_header_and_kept_whole_below() {
    // 167 characters, as in the issue: the header used to end "…feedback an".
    let title = "You are invited to Onboarding path — December cohort: tools, customers, ways of working, \
                 weekly quizzes, a live session with your mentor, feedback, and your next steps";
    assert_eq!(char_len(title), 167);
    let mut n = notification(NotificationKind::SessionAssignment);
    n.title = title.into();
    let r = render(&n, &user("en", "UTC"));
    assert_valid(&r);
    let headers = find(&r, "header");
    let header = headers[0]["text"]["text"].as_str().unwrap();
    assert_eq!(
        header,
        "You are invited to Onboarding path — December cohort: tools, customers, ways of working, \
         weekly quizzes, a live session with your mentor, feedback…"
    );
    assert!(char_len(header) <= HEADER_MAX);
    // The whole title follows the header: the message still holds the e-mail's subject.
    assert_eq!(plain_sections(&r)[0], title);
    assert_eq!(r.text, title);
    // A title that fits gets no second copy.
    let r = render(
        &notification(NotificationKind::SessionAssignment),
        &user("en", "UTC"),
    );
    assert_eq!(plain_sections(&r).len(), 1);
}

#[test]
fn descriptions_are_cut_at_a_word() {
    let mut n = notification(NotificationKind::SessionAssignment);
    let u = user("en", "UTC");
    let description_of = |n: &Notification| {
        let r = render(n, &u);
        assert_valid(&r);
        plain_sections(&r)[0]
            .split_once('\n')
            .unwrap()
            .1
            .to_string()
    };
    // The demo's description: 247 characters.
    n.session.as_mut().unwrap().description = "Welcome to Acme! This path walks you through our tools, our \
        customers and the way we work together. Plan two hours per week; each module ends with a short quiz, and \
        the last one with a live session with your mentor. Bring your questions!"
        .into();
    assert_eq!(
        description_of(&n),
        "Welcome to Acme! This path walks you through our tools, our customers and the way we work together. Plan \
         two hours per week; each module ends with a short quiz, and the last one with a live session…"
    );
    n.session.as_mut().unwrap().description = "Apprenez à repérer un courriel d’hameçonnage : \
        l’expéditeur, les liens, les pièces jointes et l’urgence qu’il vous impose. Nous verrons des exemples \
        réels et ce qu’il faut faire après un clic malheureux sur un lien d’hameçonnage."
        .into();
    let cut_fr = description_of(&n);
    assert!(cut_fr.ends_with(" après un clic…"), "{cut_fr}");
    assert!(char_len(&cut_fr) <= 200);
    // 199, 200 and 201 characters of one word: whole, whole, cut inside (nothing else to cut at).
    for (len, expected) in [
        (199, "d".repeat(199)),
        (200, "d".repeat(200)),
        (201, format!("{}…", "d".repeat(199))),
        (5000, format!("{}…", "d".repeat(199))),
    ] {
        n.session.as_mut().unwrap().description = "d".repeat(len);
        assert_eq!(description_of(&n), expected, "{len}");
    }
    // The limit is on what the learner reads: 200 `&` are kept whole.
    n.session.as_mut().unwrap().description = "&".repeat(200);
    assert_eq!(description_of(&n), "&".repeat(200));
}

#[test]
fn emoji_and_combining_marks_at_the_description_cut() {
    let mut n = notification(NotificationKind::SessionAssignment);
    let u = user("en", "UTC");
    for cluster in [
        "👩\u{200d}👩\u{200d}👧\u{200d}👦",
        "🇫🇷",
        "👍🏽",
        "e\u{301}",
        "a\u{301}\u{302}\u{303}",
    ] {
        for pad in 190..=200 {
            let description = format!("{}{}", "x".repeat(pad), cluster.repeat(5));
            n.session.as_mut().unwrap().description = description.clone();
            let r = render(&n, &u);
            let got = plain_sections(&r)[0]
                .split_once('\n')
                .unwrap()
                .1
                .to_string();
            assert!(char_len(&got) <= 200);
            let kept = got.strip_suffix('…').unwrap_or(&got);
            assert!(description.starts_with(kept));
            // The kept part ends between two clusters: nothing was split.
            assert!(
                kept.len() == description.len()
                    || description
                        .grapheme_indices(true)
                        .any(|(i, _)| i == kept.len()),
                "{cluster:?} {pad}: {got:?}"
            );
        }
    }
}

fn cover_of(url: Option<&str>, is_default: bool) -> Option<Value> {
    let mut n = notification(NotificationKind::SessionAssignment);
    let s = n.session.as_mut().unwrap();
    s.cover_image_url = url.map(str::to_string);
    s.cover_is_default = is_default;
    let r = render(&n, &user("en", "UTC"));
    assert_valid(&r);
    find(&r, "image").first().cloned()
}

#[test]
fn covers() {
    assert!(cover_of(Some("https://cdn.example.com/default.png"), true).is_none());
    assert!(cover_of(Some("https://cdn.example.com/a.svg"), false).is_none());
    assert!(cover_of(Some("https://cdn.example.com/a.SVG?x=1"), false).is_none());
    assert!(cover_of(None, false).is_none());
    assert!(cover_of(Some(""), false).is_none());
    for url in [
        "https://cdn.example.com/a.png",
        "https://cdn.example.com/a.PNG?x=1",
        "https://cdn.example.com/a.jpeg#frag",
    ] {
        let image = cover_of(Some(url), false).unwrap_or_else(|| panic!("{url}"));
        assert_eq!(
            image,
            json!({ "type": "image", "image_url": url, "alt_text": "Cover image of the session Safety & Security" })
        );
    }
    let long = format!("https://cdn.example.com/{}.png", "a".repeat(3000));
    assert!(cover_of(Some(&long), false).is_none());
}

#[test]
fn cover_alt_text_without_a_session_title() {
    let mut n = notification(NotificationKind::SessionAssignment);
    n.session.as_mut().unwrap().title = "  ".into();
    let r = render(&n, &user("fr", "UTC"));
    assert_valid(&r);
    assert_eq!(
        find(&r, "image")[0]["alt_text"],
        "Image de couverture de la session"
    );
    // With no session title the section holds the description alone.
    assert_eq!(plain_sections(&r), ["Learn the <basics> of site safety."]);
    assert_eq!(r.text, "You are invited to Safety &amp; Security");
}

#[test]
fn without_a_title_the_text_says_what_it_is_about_in_the_learners_language() {
    let mut n = notification(NotificationKind::SessionAssignment);
    n.title = " ".into();
    let text = |n: &Notification, locale: &str| render(n, &user(locale, "UTC")).text;
    assert_eq!(text(&n, "fr-FR"), "Invitation\u{a0}: Safety &amp; Security");
    assert_eq!(text(&n, "en"), "Invitation: Safety &amp; Security");
    n.kind = NotificationKind::SessionInformation;
    assert_eq!(
        text(&n, "fr-CA"),
        "Information\u{a0}: Safety &amp; Security"
    );
    n.kind = NotificationKind::PathStep;
    assert_eq!(text(&n, "en"), "Safety &amp; Security");
    n.body = Some("Read *this* <first>".into());
    assert_eq!(text(&n, "en"), "Read *this* &lt;first&gt;");
    n.session = None;
    n.body = None;
    assert_eq!(text(&n, "fr"), "Nouvelle notification");
}

#[test]
fn path_step_with_and_without_session() {
    let mut n = notification(NotificationKind::PathStep);
    n.title = "Step 3: before the workshop".into();
    n.body = Some("Please read the *safety* notes\r\nbefore <Monday>.".into());
    n.session = None;
    let r = render(&n, &user("en", "Europe/Paris"));
    assert_valid(&r);
    assert_eq!(r.text, "Step 3: before the workshop");
    assert_eq!(
        r.blocks_json(),
        json!([
            { "type": "header", "text": { "type": "plain_text", "text": "Step 3: before the workshop", "emoji": false } },
            {
                "type": "section",
                "text": {
                    "type": "plain_text",
                    "text": "Please read the *safety* notes\nbefore <Monday>.",
                    "emoji": false
                }
            }
        ])
    );

    n.session = Some(session());
    let r = render(&n, &user("en", "Europe/Paris"));
    assert_valid(&r);
    assert_eq!(r.text, "Step 3: before the workshop");
    let blocks = blocks_of(&r);
    let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "header", "section", "section", "image", "section", "actions"
        ]
    );

    // No URL, no button.
    n.session.as_mut().unwrap().url = String::new();
    let r = render(&n, &user("en", "Europe/Paris"));
    assert_valid(&r);
    assert!(find(&r, "actions").is_empty());
}

#[test]
fn body_is_only_rendered_for_path_steps() {
    let mut n = notification(NotificationKind::SessionAssignment);
    n.body = Some("ignored".into());
    let r = render(&n, &user("en", "UTC"));
    assert!(!r.blocks_json().to_string().contains("ignored"));
}

#[test]
fn an_empty_notification_still_has_a_block_and_a_text() {
    let n = Notification {
        id: String::new(),
        kind: NotificationKind::PathStep,
        title: " ".into(),
        session: None,
        body: None,
        group: PlatformGroup::default(),
    };
    let r = render(&n, &user("fr", ""));
    assert_valid(&r);
    assert_eq!(r.text, "Nouvelle notification");
    assert_eq!(plain_sections(&r), ["Nouvelle notification"]);

    let mut n = n;
    n.session = Some(Session::default());
    let r = render(&n, &User::default());
    assert_valid(&r);
    assert_eq!(r.text, "New notification");
}

#[test]
fn huge_input_stays_within_every_limit() {
    let huge_title = "Title words ".repeat(1_000);
    let amps = "&".repeat(10_000);
    let mut n = notification(NotificationKind::PathStep);
    n.title = huge_title.clone();
    n.body = Some(amps.clone());
    let s = n.session.as_mut().unwrap();
    s.title = amps.clone();
    s.description = amps.clone();
    s.url = format!("https://lms.example.com/{}", "u".repeat(2_900));
    s.cover_image_url = Some(format!("https://cdn.example.com/{}.png", "c".repeat(2_900)));
    let r = render(&n, &user("en", "Europe/Paris"));
    assert_valid(&r);

    let headers = find(&r, "header");
    let header = headers[0]["text"]["text"].as_str().unwrap();
    let kept = header.strip_suffix('…').unwrap();
    assert!(
        char_len(header) <= HEADER_MAX && huge_title.starts_with(kept),
        "{header}"
    );
    assert!(
        huge_title[kept.len()..].starts_with(' '),
        "cut at a word: {header}"
    );
    let sections = plain_sections(&r);
    // The title, as much as a section holds; the body; the session's title and description.
    assert!(sections[0].ends_with("Title words…") && char_len(&sections[0]) <= SECTION_MAX);
    assert_eq!(sections[1], format!("{}…", "&".repeat(SECTION_MAX - 1)));
    assert!(char_len(&sections[2]) <= SECTION_MAX);
    assert!(sections[2].ends_with(&format!("…\n{}…", "&".repeat(199))));
    // The text, escaped, within its limit.
    assert!(char_len(&r.text) <= TEXT_MAX && r.text.ends_with("Title words…"));
    assert_eq!(
        char_len(find(&r, "image")[0]["alt_text"].as_str().unwrap()),
        ALT_TEXT_MAX
    );
    assert_eq!(find(&r, "actions").len(), 1);
}

/// The session as the invitation first showed it, then moved by a day and retitled.
fn edited() -> (Session, Notification) {
    let first_shown = session();
    let mut n = notification(NotificationKind::SessionAssignment);
    let now = n.session.as_mut().unwrap();
    now.title = "Safety & Security, part 1".into();
    now.starts_at = START + 86_400;
    now.ends_at = END + 86_400;
    (first_shown, n)
}

fn contexts(r: &Rendered) -> Vec<String> {
    find(r, "context")
        .into_iter()
        .map(|b| b["elements"][0]["text"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_edited_session_says_what_changed_and_strikes_the_old_dates_through() {
    let (first_shown, n) = edited();
    let r = render_update(
        &n,
        SessionChange::Edited,
        &first_shown,
        &user("en-US", "America/New_York"),
    );
    assert_valid(&r);
    assert_eq!(r.text, "Updated: Safety &amp; Security, part 1");
    let expected = json!([
        {
            "type": "header",
            "text": { "type": "plain_text", "text": "You are invited to Safety & Security", "emoji": false }
        },
        {
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": "Message updated. Changes: title, dates.", "verbatim": true }]
        },
        {
            "type": "section",
            "text": {
                "type": "plain_text",
                "text": "Safety & Security, part 1\nLearn the <basics> of site safety.",
                "emoji": false
            }
        },
        {
            "type": "image",
            "image_url": "https://cdn.example.com/covers/safety.png",
            "alt_text": "Cover image of the session Safety & Security, part 1"
        },
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": "*Starts*\n~<!date^1796112000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 3:00 AM>~ → \
                             <!date^1796198400^{date_short_pretty} {time}|Wed, Dec 2, 2026 at 3:00 AM>",
                    "verbatim": true
                },
                {
                    "type": "mrkdwn",
                    "text": "*Ends*\n~<!date^1796121000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 5:30 AM>~ → \
                             <!date^1796207400^{date_short_pretty} {time}|Wed, Dec 2, 2026 at 5:30 AM>",
                    "verbatim": true
                }
            ]
        },
        {
            "type": "actions",
            "elements": [{
                "type": "button",
                "action_id": "open_session",
                "text": { "type": "plain_text", "text": "Open the session", "emoji": false },
                "url": "https://lms.example.com/sessions/42",
                "style": "primary"
            }]
        }
    ]);
    assert_eq!(
        r.blocks_json(),
        expected,
        "{}",
        serde_json::to_string_pretty(&r.blocks_json()).unwrap()
    );
    // What a member reads: the old date (struck through in Slack) then the new one, in the reader's own zone.
    assert_eq!(
        read(&r, "en-US", "Europe/Paris")[4..6],
        [
            "Starts\nDec 1, 2026 9:00 AM → Dec 2, 2026 9:00 AM",
            "Ends\nDec 1, 2026 11:30 AM → Dec 2, 2026 11:30 AM"
        ]
    );
}

#[test]
fn a_french_learner_reads_the_update_in_french() {
    let (first_shown, n) = edited();
    let r = render_update(
        &n,
        SessionChange::Edited,
        &first_shown,
        &user("fr-FR", "Europe/Paris"),
    );
    assert_valid(&r);
    assert_eq!(
        contexts(&r),
        ["Message mis à jour. Modifications\u{a0}: titre, dates."]
    );
    assert_eq!(r.text, "Mise à jour\u{a0}: Safety &amp; Security, part 1");
    assert_eq!(
        date_fields(&r)[0],
        "*Début*\n~<!date^1796112000^{date_short_pretty} {time}|mar. 1 déc. 2026 à 09:00>~ → \
         <!date^1796198400^{date_short_pretty} {time}|mer. 2 déc. 2026 à 09:00>"
    );
    let everything = format!("{} {}", r.text, r.blocks_json());
    for english in ["updated", "Changes", "title", "Starts", "Open the session"] {
        assert!(!everything.contains(english), "{english} in {everything}");
    }
}

#[test]
fn an_old_date_is_struck_through_only_when_the_dates_changed() {
    let first_shown = session();
    let u = user("en", "UTC");
    let render_now = |now: Session| {
        let mut n = notification(NotificationKind::SessionAssignment);
        n.session = Some(now);
        let r = render_update(&n, SessionChange::Edited, &first_shown, &u);
        assert_valid(&r);
        r
    };
    // The title and description changed, not the dates: the dates are shown as in the invitation.
    let mut now = session();
    now.title = "Site safety".into();
    now.description = "New agenda.".into();
    let r = render_now(now);
    assert_eq!(
        contexts(&r),
        ["Message updated. Changes: title, description."]
    );
    let invitation = render(&notification(NotificationKind::SessionAssignment), &u);
    assert_eq!(date_fields(&r), date_fields(&invitation));
    assert!(!r.blocks_json().to_string().contains('~'));
    // Only the end moved: the start has no marker.
    let mut now = session();
    now.ends_at = END + 1800;
    let r = render_now(now);
    assert_eq!(contexts(&r), ["Message updated. Changes: dates."]);
    let fields = date_fields(&r);
    assert_eq!(fields[0], date_fields(&invitation)[0]);
    assert_eq!(
        fields[1],
        "*Ends*\n~<!date^1796121000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 10:30 AM>~ → \
         <!date^1796122800^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 11:00 AM>"
    );
    // A new cover is named; a cover Slack cannot show, before and after, is no change.
    let mut now = session();
    now.cover_image_url = Some("https://cdn.example.com/covers/new.jpg".into());
    assert_eq!(
        contexts(&render_now(now)),
        ["Message updated. Changes: cover image."]
    );
    // Nothing the message shows changed (say, the time zone of the room): updated, no list, no marker.
    let r = render_now(session());
    assert_eq!(contexts(&r), ["Message updated."]);
    assert!(!r.blocks_json().to_string().contains('~'));
    let mut with_context = blocks_of(&invitation).clone();
    with_context.insert(1, find(&r, "context")[0].clone());
    assert_eq!(r.blocks_json(), Value::Array(with_context));
}

#[test]
fn a_cancelled_session_says_so_strikes_its_dates_and_has_no_button() {
    let n = notification(NotificationKind::SessionAssignment);
    let r = render_update(
        &n,
        SessionChange::Cancelled,
        &session(),
        &user("en", "America/New_York"),
    );
    assert_valid(&r);
    assert_eq!(r.text, "Session cancelled: Safety &amp; Security");
    assert!(find(&r, "actions").is_empty(), "nothing left to act on");
    assert!(find(&r, "image").is_empty());
    let expected = json!([
        {
            "type": "header",
            "text": { "type": "plain_text", "text": "You are invited to Safety & Security", "emoji": false }
        },
        {
            "type": "section",
            "text": { "type": "mrkdwn", "text": "*This session is cancelled.*", "verbatim": true }
        },
        {
            "type": "section",
            "text": {
                "type": "plain_text",
                "text": "Safety & Security\nLearn the <basics> of site safety.",
                "emoji": false
            }
        },
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": "*Starts*\n~<!date^1796112000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 3:00 AM>~",
                    "verbatim": true
                },
                {
                    "type": "mrkdwn",
                    "text": "*Ends*\n~<!date^1796121000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 5:30 AM>~",
                    "verbatim": true
                }
            ]
        }
    ]);
    assert_eq!(
        r.blocks_json(),
        expected,
        "{}",
        serde_json::to_string_pretty(&r.blocks_json()).unwrap()
    );

    let r = render_update(
        &n,
        SessionChange::Cancelled,
        &session(),
        &user("fr-FR", "Europe/Paris"),
    );
    assert_valid(&r);
    assert!(find(&r, "actions").is_empty());
    assert_eq!(r.text, "Session annulée\u{a0}: Safety &amp; Security");
    assert_eq!(
        read(&r, "fr-FR", "Europe/Paris"),
        [
            "You are invited to Safety & Security",
            "Cette session est annulée.",
            "Safety & Security\nLearn the <basics> of site safety.",
            "Début\n1 déc. 2026 09:00",
            "Fin\n1 déc. 2026 11:30",
        ]
    );
    // Even without a session title, the text says it is cancelled.
    let mut untitled = n.clone();
    untitled.session.as_mut().unwrap().title = " ".into();
    let r = render_update(
        &untitled,
        SessionChange::Cancelled,
        &session(),
        &user("en", "UTC"),
    );
    assert_eq!(
        r.text,
        "Session cancelled: You are invited to Safety &amp; Security"
    );
}

#[test]
fn updates_keep_every_text_from_the_lms_inert() {
    for typed in TYPED {
        let mut n = notification(NotificationKind::SessionAssignment);
        n.title = typed.to_string();
        let s = n.session.as_mut().unwrap();
        s.title = typed.to_string();
        s.description = typed.to_string();
        for change in [SessionChange::Edited, SessionChange::Cancelled] {
            let r = render_update(&n, change, &session(), &user("en", "Europe/Paris"));
            assert_valid(&r);
            let texts = read(&r, "en", "Europe/Paris");
            assert_eq!(texts[0], typed, "the header");
            assert_eq!(
                texts[2],
                format!("{typed}\n{typed}"),
                "session title and description"
            );
            let shown = render_unformatted(&r.text, &reader("en", "UTC"));
            assert!(shown.ends_with(typed), "{shown}");
        }
    }
}

#[test]
fn a_reminder_is_short_says_when_the_session_starts_and_opens_it() {
    let mut n = notification(NotificationKind::SessionReminder);
    n.title = "Reminder: Safety & Security starts soon".into();
    let r = render(&n, &user("en-US", "America/New_York"));
    assert_valid(&r);
    assert_eq!(r.text, "Reminder: Safety &amp; Security starts soon");
    let expected = json!([
        {
            "type": "header",
            "text": { "type": "plain_text", "text": "Reminder: Safety & Security starts soon", "emoji": false }
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "Reminder: the session starts <!date^1796112000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 3:00 AM>.",
                "verbatim": true
            }
        },
        {
            "type": "section",
            "text": { "type": "plain_text", "text": "Safety & Security", "emoji": false }
        },
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": "*Starts*\n<!date^1796112000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 3:00 AM>",
                    "verbatim": true
                },
                {
                    "type": "mrkdwn",
                    "text": "*Ends*\n<!date^1796121000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 5:30 AM>",
                    "verbatim": true
                }
            ]
        },
        {
            "type": "actions",
            "elements": [{
                "type": "button",
                "action_id": "open_session",
                "text": { "type": "plain_text", "text": "Open the session", "emoji": false },
                "url": "https://lms.example.com/sessions/42",
                "style": "primary"
            }]
        }
    ]);
    assert_eq!(
        r.blocks_json(),
        expected,
        "{}",
        serde_json::to_string_pretty(&r.blocks_json()).unwrap()
    );
    // No description and no cover: a reminder recalls, the invitation it answers says the rest.
    assert!(!r.blocks_json().to_string().contains("basics"));
    assert!(find(&r, "image").is_empty());
}

#[test]
fn a_french_learner_reads_the_reminder_in_french() {
    let mut n = notification(NotificationKind::SessionReminder);
    n.title = " ".into();
    let r = render(&n, &user("fr-FR", "Europe/Paris"));
    assert_valid(&r);
    assert_eq!(r.text, "Rappel\u{a0}: Safety &amp; Security");
    assert_eq!(
        read(&r, "fr-FR", "Europe/Paris"),
        [
            "Rappel\u{a0}: la session commence 1 déc. 2026 09:00.",
            "Safety & Security",
            "Début\n1 déc. 2026 09:00",
            "Fin\n1 déc. 2026 11:30",
            "[Ouvrir la session] https://lms.example.com/sessions/42",
        ]
    );
    // English learners get "Reminder:" in the text too.
    assert_eq!(
        render(&n, &user("en", "UTC")).text,
        "Reminder: Safety &amp; Security"
    );
}
