//! Notifications as learners should get them (issue 6), through the real component and the simulated Slack:
//! matching, opt-outs, scheduled path steps, anatomy (description cut, covers, dates per time zone), safe text and
//! language.

use e2e_tests::World;
use lms::db::Role;
use lms::db::{Session, User};
use lms::outbox::DeliveryStatus;
use lms::outbox::{Kind, NewNotification};
use lms::scheduler::Schedule;
use lms_harness::demo::DEMO_PLATFORM;
use serde_json::Value;
use slack_sim::Member;

/// Sends `session` to `user_id` as notification `id` and returns the posted message (as JSON).
async fn send(w: &World, id: &str, title: &str, session: &Session, user_id: &str) -> Value {
    let lms = &w.harness.lms;
    lms.db().upsert_session(DEMO_PLATFORM, session).unwrap();
    let n = NewNotification {
        id,
        kind: Kind::SessionAssignment,
        title,
        session_id: Some(&session.id),
        body: None,
        mandatory: false,
        not_before: 0,
    };
    lms.outbox()
        .enqueue(DEMO_PLATFORM, &n, &[user_id.to_string()])
        .unwrap();
    lms::workers::run_outbox(lms, DEMO_PLATFORM, lms::db::now())
        .await
        .unwrap();
    let d = lms
        .outbox()
        .deliveries(DEMO_PLATFORM, id)
        .unwrap()
        .remove(0);
    assert_eq!(d.status, DeliveryStatus::Sent, "{d:?}");
    let c = w
        .harness
        .sim
        .conversation(d.conversation.as_deref().unwrap())
        .unwrap();
    let m = c
        .messages
        .iter()
        .find(|m| Some(m.ts.as_str()) == d.message_id.as_deref())
        .unwrap();
    serde_json::to_value(m).unwrap()
}

fn session(id: &str, title: &str, description: &str, cover: Option<&str>) -> Session {
    Session {
        id: id.into(),
        title: title.into(),
        description: description.into(),
        cover_url: cover.map(str::to_string),
        starts_at: 1_796_112_000,
        ends_at: 1_796_122_800,
    }
}

fn description_of(m: &Value) -> String {
    let blocks = m["blocks"].as_array().unwrap();
    let section = blocks
        .iter()
        .find(|b| b["type"] == "section" && b["text"].is_object())
        .unwrap();
    section["text"]["text"]
        .as_str()
        .unwrap()
        .split_once('\n')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default()
}

fn image_of(m: &Value) -> Option<String> {
    m["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "image")
        .map(|b| b["image_url"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anatomy_cuts_descriptions_on_boundaries_and_sends_only_real_covers() {
    let w = World::start("anatomy", |_| {}).await;
    w.activate_as(&w.installer(), true).await.unwrap();
    let alice = "learner-1";

    let exact = |n: usize| "d".repeat(n);
    for (n, whole) in [(199, true), (200, true), (201, false)] {
        let m = send(
            &w,
            &format!("len-{n}"),
            "T",
            &session(&format!("s{n}"), "S", &exact(n), None),
            alice,
        )
        .await;
        let d = description_of(&m);
        if whole {
            assert_eq!(d, exact(n));
        } else {
            assert_eq!(d.chars().count(), 200, "{d}");
            assert!(d.ends_with('…'));
        }
    }
    // An emoji sequence straddling the cut is never split.
    let family = "👩\u{200d}👩\u{200d}👧\u{200d}👦";
    let text = format!("{}{family}{}", "a".repeat(196), "b".repeat(10));
    let d = description_of(&send(&w, "emoji", "T", &session("se", "S", &text, None), alice).await);
    assert!(
        d == format!("{}…", "a".repeat(196)) || d.contains(family),
        "{d}"
    );
    assert!(d.chars().count() <= 200);

    let default_cover = "https://lms.example/static/default-cover.png";
    for (name, cover, sent) in [
        ("default", Some(default_cover), false),
        ("svg", Some("https://cdn.example/c.svg"), false),
        (
            "svg-upper-query",
            Some("https://cdn.example/c.SVG?x=1"),
            false,
        ),
        ("png", Some("https://cdn.example/c.png"), true),
        ("png-query", Some("https://cdn.example/c.PNG?v=2"), true),
        ("none", None, false),
    ] {
        let m = send(
            &w,
            &format!("cover-{name}"),
            "T",
            &session(&format!("c-{name}"), "S", "D", cover),
            alice,
        )
        .await;
        assert_eq!(image_of(&m).is_some(), sent, "{name}");
        if sent {
            assert_eq!(image_of(&m).as_deref(), cover);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_from_the_lms_is_escaped_and_pings_no_one() {
    let w = World::start("injection", |_| {}).await;
    w.activate_as(&w.installer(), true).await.unwrap();
    let evil = "<!channel> <https://evil.example|click> & <@U0ADMIN001> <!everyone>";
    let m = send(
        &w,
        "evil",
        evil,
        &session("evil", evil, evil, None),
        "learner-2",
    )
    .await;
    // Every text Slack parses as mrkdwn (the fallback `text` and mrkdwn objects) has the LMS's text escaped;
    // plain_text objects (the header, the button) are shown literally by Slack and never parsed.
    let mut mrkdwn = vec![m["text"].as_str().unwrap().to_string()];
    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) if o.get("type") == Some(&Value::from("mrkdwn")) => {
                out.push(o["text"].as_str().unwrap_or_default().to_string())
            }
            Value::Object(o) => o.values().for_each(|v| collect(v, out)),
            Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    collect(&m["blocks"], &mut mrkdwn);
    for text in &mrkdwn {
        for needle in [
            "<!channel>",
            "<!everyone>",
            "<https://evil",
            "<@U0ADMIN001>",
        ] {
            assert!(
                !text.contains(needle),
                "{needle} must not reach Slack unescaped: {text}"
            );
        }
        // The only `<` left are the connector's own date tokens.
        assert_eq!(
            text.matches('<').count(),
            text.matches("<!date^").count(),
            "{text}"
        );
    }
    assert!(
        mrkdwn.iter().any(|t| t.contains("&lt;!channel&gt;")),
        "{mrkdwn:?}"
    );
    let header = m["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "header")
        .unwrap();
    assert_eq!(header["text"]["type"], "plain_text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_and_words_follow_each_learners_zone_and_language() {
    let w = World::start("locale", |_| {}).await;
    w.activate_as(&w.installer(), true).await.unwrap();
    let lms = &w.harness.lms;
    // Alice reads French in Paris, Bob English in New York.
    let mut alice = lms.db().user(DEMO_PLATFORM, "learner-1").unwrap().unwrap();
    alice.time_zone = "Europe/Paris".into();
    alice.locale = "fr-FR".into();
    let mut bob = lms.db().user(DEMO_PLATFORM, "learner-2").unwrap().unwrap();
    bob.time_zone = "America/New_York".into();
    bob.locale = "en-US".into();
    for u in [&alice, &bob] {
        lms.db().upsert_user(DEMO_PLATFORM, u).unwrap();
    }
    let s = session("dates", "Sécurité", "Une session.", None);
    let fr = send(&w, "fr", "Invitation : Sécurité", &s, &alice.id).await;
    let en = send(&w, "en", "Invitation: Sécurité", &s, &bob.id).await;
    let fr_blocks = fr["blocks"].to_string();
    let en_blocks = en["blocks"].to_string();
    assert!(
        fr_blocks
            .contains("<!date^1796112000^{date_short_pretty} {time}|mar. 1 déc. 2026 à 09:00>"),
        "{fr_blocks}"
    );
    assert!(
        fr_blocks
            .contains("<!date^1796122800^{date_short_pretty} {time}|mar. 1 déc. 2026 à 12:00>"),
        "{fr_blocks}"
    );
    assert!(
        en_blocks
            .contains("<!date^1796112000^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 3:00 AM>"),
        "{en_blocks}"
    );
    assert!(
        en_blocks
            .contains("<!date^1796122800^{date_short_pretty} {time}|Tue, Dec 1, 2026 at 6:00 AM>"),
        "{en_blocks}"
    );
    let words = |blocks: &str, expected: &[&str], absent: &[&str]| {
        for e in expected {
            assert!(blocks.contains(e), "{e} in {blocks}");
        }
        for a in absent {
            assert!(!blocks.contains(a), "{a} not in {blocks}");
        }
    };
    words(
        &fr_blocks,
        &["*Début*", "*Fin*", "Ouvrir la session"],
        &["Starts", "Open the session"],
    );
    words(
        &en_blocks,
        &["*Starts*", "*Ends*", "Open the session"],
        &["Début", "Ouvrir la session"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_outs_stop_their_kind_until_turned_back_on_and_mandatory_messages_ignore_them() {
    let w = World::start("optout", |_| {}).await;
    w.activate_as(&w.installer(), true).await.unwrap();
    let lms = &w.harness.lms;
    lms.set_preference(DEMO_PLATFORM, "learner-1", "assigned_to_session", false)
        .unwrap();
    lms.set_preference(DEMO_PLATFORM, "learner-2", "session_information", false)
        .unwrap();
    let run = |id: &'static str, kind: Kind, mandatory: bool| {
        let data_session = w.data.session.id.clone();
        async move {
            let users = vec!["learner-1".to_string(), "learner-2".to_string()];
            let n = NewNotification {
                id,
                kind,
                title: "T",
                session_id: Some(&data_session),
                body: None,
                mandatory,
                not_before: 0,
            };
            lms.outbox().enqueue(DEMO_PLATFORM, &n, &users).unwrap();
            lms::workers::run_outbox(lms, DEMO_PLATFORM, lms::db::now())
                .await
                .unwrap();
            let d = lms.outbox().deliveries(DEMO_PLATFORM, id).unwrap();
            (d[0].clone(), d[1].clone())
        }
    };
    let (a, b) = run("assign-1", Kind::SessionAssignment, false).await;
    assert_eq!(
        (a.status.as_str(), a.reason_code.as_deref()),
        ("skipped", Some("opted_out"))
    );
    assert!(a.reason.as_deref().unwrap().contains("turned off"));
    assert_eq!(b.status, DeliveryStatus::Sent);
    let (a, b) = run("info-1", Kind::SessionInformation, false).await;
    assert_eq!(a.status, DeliveryStatus::Sent);
    assert_eq!(
        (b.status.as_str(), b.reason_code.as_deref()),
        ("skipped", Some("opted_out"))
    );
    let (a, b) = run("mandatory-1", Kind::SessionAssignment, true).await;
    assert_eq!(
        (a.status.as_str(), b.status.as_str()),
        ("sent", "sent"),
        "mandatory messages ignore opt-outs"
    );
    lms.set_preference(DEMO_PLATFORM, "learner-1", "assigned_to_session", true)
        .unwrap();
    let (a, _) = run("assign-2", Kind::SessionAssignment, false).await;
    assert_eq!(
        a.status,
        DeliveryStatus::Sent,
        "turning the toggle on again restores messages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_step_is_refused_while_inactive_and_sent_once_at_its_time() {
    let w = World::start("steps", |_| {}).await;
    let lms = &w.harness.lms;
    lms.db()
        .upsert_path(
            DEMO_PLATFORM,
            "onboarding",
            "Onboarding",
            Some(&w.data.session.id),
        )
        .unwrap();
    let author = User {
        id: "author".into(),
        email: "author@acme.example".into(),
        display_name: "Arthur Author".into(),
        locale: "en".into(),
        time_zone: "UTC".into(),
        role: Role::Author,
    };
    lms.db().upsert_user(DEMO_PLATFORM, &author).unwrap();
    let t0 = 1_900_000_000;
    let e = lms
        .add_path_step(
            DEMO_PLATFORM,
            "author",
            "onboarding",
            "Week 1",
            "Read chapter 1",
            Schedule::At(t0 + 3600),
        )
        .unwrap_err();
    assert!(e.to_string().contains("active"), "{e}");
    let e = lms
        .add_path_step(
            DEMO_PLATFORM,
            "learner-1",
            "onboarding",
            "x",
            "y",
            Schedule::At(t0),
        )
        .unwrap_err();
    assert!(e.to_string().contains("Only authors"), "{e}");

    w.activate_as(&w.installer(), true).await.unwrap();
    for l in ["learner-1", "learner-2"] {
        lms.enrol(DEMO_PLATFORM, "onboarding", l, t0).unwrap();
    }
    let at = lms
        .add_path_step(
            DEMO_PLATFORM,
            "author",
            "onboarding",
            "Week 1",
            "Read *chapter 1* <!here>",
            Schedule::At(t0 + 3600),
        )
        .unwrap();
    let after = lms
        .add_path_step(
            DEMO_PLATFORM,
            "author",
            "onboarding",
            "Day 2",
            "How was day one?",
            Schedule::AfterEnrolment(86_400),
        )
        .unwrap();

    // Before its time: nothing.
    assert_eq!(lms.schedule_due_steps(DEMO_PLATFORM, t0 + 3599).unwrap(), 0);
    assert!(
        lms.outbox()
            .deliveries(DEMO_PLATFORM, &at.id)
            .unwrap()
            .is_empty()
    );
    // At its time: once per enrolled learner, however often the scheduler runs.
    assert_eq!(lms.schedule_due_steps(DEMO_PLATFORM, t0 + 3600).unwrap(), 2);
    assert_eq!(lms.schedule_due_steps(DEMO_PLATFORM, t0 + 3700).unwrap(), 0);
    let report = lms::workers::run_outbox(lms, DEMO_PLATFORM, t0 + 3700)
        .await
        .unwrap();
    assert_eq!(report.sent, 2);
    let d = lms.outbox().deliveries(DEMO_PLATFORM, &at.id).unwrap();
    let m = w
        .harness
        .sim
        .conversation(d[0].conversation.as_deref().unwrap())
        .unwrap()
        .messages;
    let step = m
        .iter()
        .find(|m| Some(m.ts.as_str()) == d[0].message_id.as_deref())
        .unwrap();
    let blocks = serde_json::to_value(&step.blocks).unwrap();
    // The author's text as typed, in plain text: Slack shows it literally and pings no one.
    assert!(
        blocks.as_array().unwrap().iter().any(|b| b["text"]
            == serde_json::json!({"type": "plain_text", "text": "Read *chapter 1* <!here>", "emoji": false})),
        "{blocks}"
    );
    assert!(blocks.to_string().contains("Week 1"));

    // The offset step follows each learner's own enrolment; a later enrolment gets it later.
    lms.enrol(DEMO_PLATFORM, "onboarding", "learner-3", t0 + 86_400)
        .unwrap();
    assert_eq!(
        lms.schedule_due_steps(DEMO_PLATFORM, t0 + 86_400).unwrap(),
        3,
        "two offset steps + the late learner's dated step"
    );
    assert_eq!(
        lms.schedule_due_steps(DEMO_PLATFORM, t0 + 2 * 86_400)
            .unwrap(),
        1
    );
    lms::workers::run_outbox(lms, DEMO_PLATFORM, t0 + 2 * 86_400)
        .await
        .unwrap();
    let after_deliveries = lms.outbox().deliveries(DEMO_PLATFORM, &after.id).unwrap();
    assert_eq!(after_deliveries.len(), 3);
    assert!(
        after_deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Sent),
        "{after_deliveries:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_workspace_is_mapped_with_users_list_pages_not_one_lookup_each() {
    const MEMBERS: usize = 5_000;
    let w = World::start("directory", |sim| {
        for i in 0..MEMBERS {
            sim.workspace.members.push(Member {
                id: format!("U9{i:08}"),
                name: format!("m{i}"),
                real_name: format!("Member {i}"),
                email: Some(format!("Member.{i}@Big.example")),
                tz: "UTC".into(),
                locale: "en-US".into(),
                deleted: i % 100 == 99,
                is_bot: false,
                is_admin: false,
            });
        }
    })
    .await;
    w.activate_as(&w.installer(), true).await.unwrap();
    let lms = &w.harness.lms;
    // 120 learners of the platform, whose addresses are in Slack in other letter case; every hundredth is deactivated.
    let learners: Vec<String> = (0..120)
        .map(|i| {
            let u = User {
                id: format!("big-{i:04}"),
                email: format!(" member.{i}@big.example "),
                display_name: format!("Member {i}"),
                locale: "en".into(),
                time_zone: "UTC".into(),
                role: Role::Learner,
            };
            lms.db().upsert_user(DEMO_PLATFORM, &u).unwrap();
            u.id
        })
        .collect();
    let n = NewNotification {
        id: "big",
        kind: Kind::SessionAssignment,
        title: "T",
        session_id: Some(&w.data.session.id),
        body: None,
        mandatory: false,
        not_before: 0,
    };
    lms.outbox().enqueue(DEMO_PLATFORM, &n, &learners).unwrap();
    let report = lms::workers::run_outbox(lms, DEMO_PLATFORM, lms::db::now())
        .await
        .unwrap();
    let reasons: Vec<_> = lms
        .outbox()
        .deliveries(DEMO_PLATFORM, "big")
        .unwrap()
        .into_iter()
        .filter_map(|d| d.reason)
        .collect();
    assert_eq!(report.sent, 119, "{report:?} {:?}", reasons.first());
    assert_eq!(report.skipped, 1, "member 99 is deactivated");
    let calls = w.harness.sim.api_calls();
    let count = |m: &str| calls.iter().filter(|c| c.method == m).count();
    let pages = count("users.list");
    assert!(
        (1..=30).contains(&pages),
        "the directory is listed in pages: {pages}"
    );
    assert!(
        count("users.lookupByEmail") <= 1,
        "only the deactivated member's miss is looked up"
    );
}
