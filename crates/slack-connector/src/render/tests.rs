//! Whole messages: exact JSON per language, escaping of every field, covers, time zones, and Slack's limits for any
//! input.

use serde_json::{Value, json};
use unicode_segmentation::UnicodeSegmentation;

use super::blocks::{
    ALT_TEXT_MAX, BUTTON_TEXT_MAX, FIELD_MAX, HEADER_MAX, MAX_BLOCKS, SECTION_MAX, TEXT_MAX,
    is_supported_image_url, is_usable_url,
};
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

fn blocks_of(r: &Rendered) -> &Vec<Value> {
    r.blocks.as_array().expect("blocks is an array")
}

fn find<'a>(r: &'a Rendered, kind: &str) -> Vec<&'a Value> {
    blocks_of(r).iter().filter(|b| b["type"] == kind).collect()
}

/// Every mrkdwn text of the message.
fn mrkdwn_texts(r: &Rendered) -> Vec<String> {
    let mut texts = Vec::new();
    for block in blocks_of(r) {
        if block["text"]["type"] == "mrkdwn" {
            texts.push(block["text"]["text"].as_str().unwrap().to_string());
        }
        for field in block["fields"].as_array().into_iter().flatten() {
            texts.push(field["text"].as_str().unwrap().to_string());
        }
    }
    texts
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

/// Checks escaped mrkdwn: no `<` or `>` but in date tokens, and every `&` opens an entity.
fn assert_safe_mrkdwn(s: &str) {
    let plain = without_date_tokens(s);
    assert!(!plain.contains(['<', '>']), "unescaped bracket in {s:?}");
    for (i, _) in plain.match_indices('&') {
        let rest = &plain[i..];
        assert!(
            rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;"),
            "bare & in {s:?}"
        );
    }
}

fn plain_len(text: &Value) -> usize {
    assert_eq!(text["type"], "plain_text");
    let s = text["text"].as_str().unwrap();
    assert!(!s.trim().is_empty());
    char_len(s)
}

/// Every Slack limit and the escaping rule, on any message.
fn assert_valid(r: &Rendered) {
    assert!(!r.text.trim().is_empty());
    assert!(
        char_len(&r.text) <= TEXT_MAX,
        "text is {} characters",
        char_len(&r.text)
    );
    assert!(!r.text.contains(['<', '>']));
    assert_safe_mrkdwn(&r.text);

    let blocks = blocks_of(r);
    assert!(
        !blocks.is_empty() && blocks.len() <= MAX_BLOCKS,
        "{} blocks",
        blocks.len()
    );
    for block in blocks {
        match block["type"].as_str().unwrap() {
            "header" => assert!(plain_len(&block["text"]) <= HEADER_MAX),
            "section" => {
                if let Some(text) = block.get("text") {
                    assert_eq!(text["type"], "mrkdwn");
                    assert_eq!(text["verbatim"], true);
                    let s = text["text"].as_str().unwrap();
                    assert!(
                        !s.is_empty() && char_len(s) <= SECTION_MAX,
                        "section of {} characters",
                        char_len(s)
                    );
                }
                if let Some(fields) = block.get("fields") {
                    let fields = fields.as_array().unwrap();
                    assert!(!fields.is_empty() && fields.len() <= 10);
                    for f in fields {
                        assert_eq!(f["verbatim"], true);
                        let s = f["text"].as_str().unwrap();
                        assert!(!s.is_empty() && char_len(s) <= FIELD_MAX);
                    }
                }
                assert!(block.get("text").is_some() || block.get("fields").is_some());
            }
            "image" => {
                let url = block["image_url"].as_str().unwrap();
                assert!(is_supported_image_url(url) && char_len(url) <= 3000);
                let alt = block["alt_text"].as_str().unwrap();
                assert!(!alt.trim().is_empty() && char_len(alt) <= ALT_TEXT_MAX);
            }
            "actions" => {
                let elements = block["elements"].as_array().unwrap();
                assert_eq!(elements.len(), 1);
                let button = &elements[0];
                assert_eq!(button["type"], "button");
                assert!(plain_len(&button["text"]) <= BUTTON_TEXT_MAX);
                let url = button["url"].as_str().unwrap();
                assert!(is_usable_url(url) && char_len(url) <= 3000);
            }
            other => panic!("unexpected block type {other}"),
        }
    }
    for text in mrkdwn_texts(r) {
        assert_safe_mrkdwn(&text);
    }
}

#[test]
fn english_message_in_new_york_exact_json() {
    let r = render(
        &notification(NotificationKind::SessionAssignment),
        &user("en-US", "America/New_York"),
    );
    assert_valid(&r);
    assert_eq!(
        r.text,
        "Invitation: Safety &amp; Security — You are invited to Safety &amp; Security"
    );
    let expected = json!([
        {
            "type": "header",
            "text": { "type": "plain_text", "text": "You are invited to Safety & Security", "emoji": true }
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Safety &amp; Security*\nLearn the &lt;basics&gt; of site safety.",
                "verbatim": true
            }
        },
        {
            "type": "image",
            "image_url": "https://cdn.example.com/covers/safety.png",
            "alt_text": "Safety & Security"
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
                "text": { "type": "plain_text", "text": "Open the session", "emoji": true },
                "url": "https://lms.example.com/sessions/42",
                "style": "primary"
            }]
        }
    ]);
    assert_eq!(
        r.blocks,
        expected,
        "{}",
        serde_json::to_string_pretty(&r.blocks).unwrap()
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
    assert_eq!(
        r.text,
        "Information\u{a0}: Sécurité &amp; sûreté — Informations : Sécurité &amp; sûreté"
    );
    let expected = json!([
        {
            "type": "header",
            "text": { "type": "plain_text", "text": "Informations : Sécurité & sûreté", "emoji": true }
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Sécurité &amp; sûreté*\nDécouvrez les &lt;bases&gt; de la sécurité.",
                "verbatim": true
            }
        },
        {
            "type": "image",
            "image_url": "https://cdn.example.com/covers/safety.png",
            "alt_text": "Sécurité & sûreté"
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
                "text": { "type": "plain_text", "text": "Ouvrir la session", "emoji": true },
                "url": "https://lms.example.com/sessions/42",
                "style": "primary"
            }]
        }
    ]);
    assert_eq!(
        r.blocks,
        expected,
        "{}",
        serde_json::to_string_pretty(&r.blocks).unwrap()
    );
}

#[test]
fn french_variants_and_unknown_languages() {
    let n = notification(NotificationKind::SessionAssignment);
    for tag in ["fr-FR", "fr_CA", "FR", "fr"] {
        let r = render(&n, &user(tag, "Europe/Paris"));
        assert!(r.text.starts_with("Invitation\u{a0}:"), "{tag}");
        assert_eq!(
            find(&r, "actions")[0]["elements"][0]["text"]["text"],
            "Ouvrir la session",
            "{tag}"
        );
    }
    for tag in ["", "de-DE", "en-GB", "klingon"] {
        let r = render(&n, &user(tag, "Europe/Paris"));
        assert!(r.text.starts_with("Invitation: "), "{tag}");
        assert_eq!(
            find(&r, "actions")[0]["elements"][0]["text"]["text"],
            "Open the session",
            "{tag}"
        );
    }
}

fn date_fields(r: &Rendered) -> Vec<String> {
    find(r, "section")
        .into_iter()
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

const HOSTILE: [&str; 4] = [
    "<!channel>",
    "<https://evil|click>",
    "<@U123>",
    "a & b < c > d",
];
const HOSTILE_ESCAPED: [&str; 4] = [
    "&lt;!channel&gt;",
    "&lt;https://evil|click&gt;",
    "&lt;@U123&gt;",
    "a &amp; b &lt; c &gt; d",
];

#[test]
fn every_lms_field_is_escaped() {
    for (raw, escaped) in HOSTILE.iter().zip(HOSTILE_ESCAPED) {
        let mut n = notification(NotificationKind::PathStep);
        n.title = raw.to_string();
        n.body = Some(raw.to_string());
        n.group.name = raw.to_string();
        let s = n.session.as_mut().unwrap();
        s.title = raw.to_string();
        s.description = raw.to_string();
        let r = render(&n, &user("en", "Europe/Paris"));
        assert_valid(&r);

        // The header is plain text: shown as written, never parsed as a mention.
        assert_eq!(find(&r, "header")[0]["text"]["text"], *raw);
        assert_eq!(find(&r, "header")[0]["text"]["type"], "plain_text");
        // Body, then session title and description.
        let texts = mrkdwn_texts(&r);
        assert_eq!(texts[0], escaped);
        assert_eq!(texts[1], format!("*{escaped}*\n{escaped}"));
        // The fallback text.
        assert_eq!(r.text, format!("{escaped} — {escaped}"));
        // The group name is the sender's, not in the blocks.
        let json = serde_json::to_string(&r.blocks).unwrap();
        assert!(!json.contains("Acme"));
        // No `<` from the input survives anywhere in mrkdwn.
        for text in &texts {
            assert_eq!(without_date_tokens(text).matches('<').count(), 0);
        }
    }
}

#[test]
fn escaping_in_session_kinds_text() {
    let mut n = notification(NotificationKind::SessionAssignment);
    n.title = "<!here> hi".into();
    n.session.as_mut().unwrap().title = "<!everyone>".into();
    let r = render(&n, &user("en", "UTC"));
    assert_valid(&r);
    assert_eq!(r.text, "Invitation: &lt;!everyone&gt; — &lt;!here&gt; hi");
    assert_eq!(
        mrkdwn_texts(&r)[0],
        "*&lt;!everyone&gt;*\nLearn the &lt;basics&gt; of site safety."
    );
}

fn description_in(r: &Rendered) -> String {
    let text = &mrkdwn_texts(r)[0];
    text.split_once('\n')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default()
}

#[test]
fn descriptions_of_199_200_and_201_characters() {
    let mut n = notification(NotificationKind::SessionAssignment);
    let u = user("en", "UTC");
    for (len, expected) in [
        (199, "d".repeat(199)),
        (200, "d".repeat(200)),
        (201, format!("{}…", "d".repeat(199))),
        (5000, format!("{}…", "d".repeat(199))),
    ] {
        n.session.as_mut().unwrap().description = "d".repeat(len);
        let r = render(&n, &u);
        assert_valid(&r);
        assert_eq!(description_in(&r), expected, "{len}");
    }
    // The limit is on the text, not on its escaped form: 200 `&` are kept whole.
    n.session.as_mut().unwrap().description = "&".repeat(200);
    assert_eq!(description_in(&render(&n, &u)), "&amp;".repeat(200));
    n.session.as_mut().unwrap().description = "<".repeat(201);
    assert_eq!(
        description_in(&render(&n, &u)),
        format!("{}…", "&lt;".repeat(199))
    );
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
            let got = description_in(&render(&n, &u));
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
    find(&r, "image").first().map(|b| (*b).clone())
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
            json!({ "type": "image", "image_url": url, "alt_text": "Safety & Security" })
        );
    }
    let long = format!("https://cdn.example.com/{}.png", "a".repeat(3000));
    assert!(cover_of(Some(&long), false).is_none());
}

#[test]
fn cover_alt_text_falls_back_when_the_title_is_blank() {
    let mut n = notification(NotificationKind::SessionAssignment);
    n.session.as_mut().unwrap().title = "  ".into();
    let r = render(&n, &user("fr", "UTC"));
    assert_valid(&r);
    assert_eq!(
        find(&r, "image")[0]["alt_text"],
        "Image de couverture de la session"
    );
    // With no session title the section holds the description alone, and the text the title alone.
    assert_eq!(
        mrkdwn_texts(&r)[0],
        "Learn the &lt;basics&gt; of site safety."
    );
    assert_eq!(r.text, "You are invited to Safety &amp; Security");
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
        r.blocks,
        json!([
            { "type": "header", "text": { "type": "plain_text", "text": "Step 3: before the workshop", "emoji": true } },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "Please read the *safety* notes\nbefore &lt;Monday&gt;.",
                    "verbatim": true
                }
            }
        ])
    );

    n.session = Some(session());
    let r = render(&n, &user("en", "Europe/Paris"));
    assert_valid(&r);
    assert_eq!(
        r.text,
        "Step 3: before the workshop — Safety &amp; Security"
    );
    let types: Vec<&str> = blocks_of(&r)
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
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
    assert!(
        !serde_json::to_string(&r.blocks)
            .unwrap()
            .contains("ignored")
    );
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
    assert_eq!(blocks_of(&r).len(), 1);

    let mut n = n;
    n.session = Some(Session::default());
    let r = render(&n, &User::default());
    assert_valid(&r);
    assert_eq!(r.text, "New notification");
}

#[test]
fn huge_input_stays_within_every_limit() {
    let huge_title = "T".repeat(10_000);
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

    assert_eq!(
        char_len(find(&r, "header")[0]["text"]["text"].as_str().unwrap()),
        HEADER_MAX
    );
    let texts = mrkdwn_texts(&r);
    // The body: as many whole `&amp;` as fit, then "…".
    assert_eq!(texts[0], format!("{}…", "&amp;".repeat(599)));
    // Title and description share the section: the description keeps its 199 characters.
    assert!(char_len(&texts[1]) <= SECTION_MAX);
    assert!(texts[1].ends_with(&format!("…*\n{}…", "&amp;".repeat(199))));
    assert!(char_len(&r.text) <= TEXT_MAX);
    assert_eq!(
        char_len(find(&r, "image")[0]["alt_text"].as_str().unwrap()),
        ALT_TEXT_MAX
    );
    assert_eq!(find(&r, "actions").len(), 1);
    assert!(blocks_of(&r).len() <= MAX_BLOCKS);

    // 10,000-character titles in both kinds of text.
    let mut n = notification(NotificationKind::SessionAssignment);
    n.title = huge_title.clone();
    n.session.as_mut().unwrap().title = huge_title;
    let r = render(&n, &user("fr", "Europe/Paris"));
    assert_valid(&r);
    assert_eq!(char_len(&r.text), TEXT_MAX);
    assert!(r.text.starts_with("Invitation\u{a0}: TTT"));
}

/// A small deterministic generator, to mix awkward values without a dependency.
struct Lcg(u64);

impl Lcg {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        &items[(self.0 >> 33) as usize % items.len()]
    }
}

#[test]
fn any_mix_of_awkward_input_gives_a_valid_message() {
    let family = "👩\u{200d}👩\u{200d}👧\u{200d}👦";
    let texts: Vec<String> = vec![
        String::new(),
        " \n\t ".into(),
        "<!channel>".into(),
        "<https://evil|click>".into(),
        "<@U123> <!subteam^S1> <#C1>".into(),
        "&".repeat(10_000),
        "<>".repeat(5_000),
        "T".repeat(10_000),
        family.repeat(2_000),
        "e\u{301}".repeat(3_000),
        "🇫🇷".repeat(3_000),
        "line\r\n".repeat(2_000),
        "\u{0}\u{7}\u{1b}[31m".into(),
        "*bold* _it_ ~s~ `code` > quote".into(),
        "Sécurité".into(),
    ];
    let urls: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some("https://cdn.example.com/a.png".into()),
        Some("https://cdn.example.com/a.SVG?x=1".into()),
        Some("javascript:alert(1)".into()),
        Some(format!("https://cdn.example.com/{}.gif", "g".repeat(2_975))),
        Some(format!("https://cdn.example.com/{}.gif", "g".repeat(3_000))),
        Some("https://cdn.example.com/a b.png".into()),
    ];
    let locales = ["en", "fr-FR", "fr_CA", "", "zz", "FR"];
    let zones = [
        "Europe/Paris",
        "America/New_York",
        "",
        "Bad/Zone",
        "Pacific/Kiritimati",
        "UTC",
    ];
    let instants = [
        0,
        START,
        END,
        -1,
        i64::MIN,
        i64::MAX,
        253_402_300_799,
        -62_135_596_800,
    ];
    let kinds = [
        NotificationKind::SessionAssignment,
        NotificationKind::SessionInformation,
        NotificationKind::PathStep,
    ];

    let mut rng = Lcg(42);
    for _ in 0..600 {
        let session = (*rng.pick(&[true, true, false])).then(|| Session {
            id: "s".into(),
            title: rng.pick(&texts).clone(),
            description: rng.pick(&texts).clone(),
            cover_image_url: rng.pick(&urls).clone(),
            cover_is_default: *rng.pick(&[false, true]),
            starts_at: *rng.pick(&instants),
            ends_at: *rng.pick(&instants),
            url: rng.pick(&urls).clone().unwrap_or_default(),
        });
        let body = *rng.pick(&[true, false]);
        let n = Notification {
            id: "n".into(),
            kind: *rng.pick(&kinds),
            title: rng.pick(&texts).clone(),
            session,
            body: body.then(|| rng.pick(&texts).clone()),
            group: PlatformGroup {
                name: rng.pick(&texts).clone(),
                logo_url: None,
            },
        };
        let (locale, zone) = (*rng.pick(&locales), *rng.pick(&zones));
        let u = user(locale, zone);
        let r = render(&n, &u);
        assert_valid(&r);
        assert!(blocks_of(&r).len() <= 6);
    }
}
