//! The base story through the real component in the real host against the simulated Slack over HTTP: activation by
//! the OAuth code exchange, one invitation, one message per matched learner in the app's DM.

use e2e_tests::TestDir;
use lms::integration::Tile;
use lms::outbox::{DeliveryStatus, Kind, NewNotification};
use lms_harness::demo::{DEMO_PLATFORM, DEMO_REDIRECT_URI, consent};
use lms_harness::harness::{Harness, HarnessOptions};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_reaches_each_matched_learner_once_in_the_apps_dm() {
    let dir = TestDir::new("invitation");
    let options = HarnessOptions::in_dir(dir.path());
    let sim_config = options.sim.clone();
    let harness = Harness::start(options).await.unwrap();
    let data = harness.seed_demo(DEMO_PLATFORM, &sim_config).unwrap();
    let lms = &harness.lms;

    // Activation: the consent URL points at the simulation (local mode), Allow redirects back with a code.
    let url = lms
        .start_activation(DEMO_PLATFORM, &data.admin, DEMO_REDIRECT_URI)
        .await
        .unwrap();
    assert!(url.starts_with(&harness.sim.base_url()), "{url}");
    assert!(
        url.contains("scope=chat%3Awrite%2Cchat%3Awrite.customize%2Cim%3Awrite"),
        "{url}"
    );
    let admin_member = sim_config
        .workspace
        .members
        .iter()
        .find(|m| m.is_admin)
        .unwrap();
    let query = consent(&url, &admin_member.id, true).await.unwrap();
    assert!(query.iter().any(|(k, _)| k == "code"), "{query:?}");
    let tile = lms
        .complete_activation(DEMO_PLATFORM, &query)
        .await
        .unwrap();
    assert_eq!(tile, Tile::Active(sim_config.workspace.team_name.clone()));

    // One invitation to every learner.
    let learners: Vec<String> = data.learners.iter().map(|u| u.id.clone()).collect();
    let title = lms::invitations::subject(&data.session.title, lms::lang::Lang::En);
    let n = NewNotification {
        id: "invite-1",
        kind: Kind::SessionAssignment,
        title: &title,
        session_id: Some(&data.session.id),
        body: None,
        mandatory: false,
        not_before: 0,
    };
    assert_eq!(
        lms.outbox().enqueue(DEMO_PLATFORM, &n, &learners).unwrap(),
        learners.len()
    );
    assert_eq!(
        lms.outbox().enqueue(DEMO_PLATFORM, &n, &learners).unwrap(),
        0,
        "the same invitation twice is a no-op"
    );
    let report = lms::workers::run_outbox(lms, DEMO_PLATFORM, lms::db::now())
        .await
        .unwrap();
    assert_eq!(
        (report.sent, report.skipped, report.failed),
        (learners.len() - 1, 1, 0),
        "{report:?}"
    );
    // Nothing is left to send: running again sends nothing more.
    let again = lms::workers::run_outbox(lms, DEMO_PLATFORM, lms::db::now())
        .await
        .unwrap();
    assert_eq!(again.sent + again.skipped + again.failed, 0);

    let deliveries = lms.outbox().deliveries(DEMO_PLATFORM, "invite-1").unwrap();
    let conversations = serde_json::to_value(harness.sim.conversations()).unwrap();
    let conversations = conversations.as_array().unwrap();
    let session_url = format!("https://lms.example/acme/sessions/{}", data.session.id);
    for learner in &data.learners {
        let d = deliveries.iter().find(|d| d.user_id == learner.id).unwrap();
        if learner.id == "learner-nobody" {
            assert_eq!(d.status, DeliveryStatus::Skipped);
            assert_eq!(d.reason_code.as_deref(), Some("no_account"));
            assert!(d.reason.as_deref().unwrap().contains("e-mail"), "{d:?}");
            assert!(d.conversation.is_none());
            continue;
        }
        assert_eq!(d.status, DeliveryStatus::Sent, "{d:?}");
        let channel = d.conversation.as_deref().unwrap();
        assert!(
            channel.starts_with('D'),
            "posted to the app's DM, not {channel}"
        );
        let conversation = conversations.iter().find(|c| c["id"] == channel).unwrap();
        let messages = conversation["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "exactly one message for {}", learner.id);
        let m = &messages[0];
        assert_eq!(m["ts"].as_str(), d.message_id.as_deref());
        assert_eq!(m["username"], "Acme Learning");
        assert_eq!(m["icon_url"], "https://lms.example/static/acme-logo.png");
        let blocks = m["blocks"].as_array().unwrap();
        let all = serde_json::to_string(blocks).unwrap();
        let header = blocks.iter().find(|b| b["type"] == "header").unwrap();
        let subject = lms::invitations::subject(
            &data.session.title,
            lms::lang::Lang::of_locale(&learner.locale),
        );
        assert_eq!(
            header["text"]["text"],
            subject.as_str(),
            "the subject in the learner's language"
        );
        assert!(
            all.contains("Onboarding path — December cohort"),
            "session title"
        );
        let section = blocks
            .iter()
            .find(|b| b["type"] == "section" && b["text"].is_object())
            .unwrap();
        let description = section["text"]["text"]
            .as_str()
            .unwrap()
            .split_once('\n')
            .unwrap()
            .1;
        assert!(
            description.ends_with('…') && description.chars().count() <= 200,
            "{description}"
        );
        assert!(description.starts_with("Welcome to Acme!"));
        let image = blocks.iter().find(|b| b["type"] == "image").unwrap();
        assert_eq!(
            image["image_url"],
            "https://lms.example/static/covers/onboarding.png"
        );
        assert!(
            all.contains("<!date^1796112000^{date_short_pretty} {time}|"),
            "start date token"
        );
        assert!(
            all.contains("<!date^1796122800^{date_short_pretty} {time}|"),
            "end date token"
        );
        let button = blocks.iter().find(|b| b["type"] == "actions").unwrap()["elements"][0].clone();
        assert_eq!(button["url"], session_url.as_str());
        assert!(
            m["text"].as_str().is_some_and(|t| !t.is_empty()),
            "a plain text fallback"
        );
    }
    // The learner whose LMS address differs in letter case from Slack's was matched.
    let upper = data
        .learners
        .iter()
        .find(|u| u.email.chars().any(|c| c.is_ascii_uppercase()))
        .unwrap();
    assert_eq!(
        deliveries
            .iter()
            .find(|d| d.user_id == upper.id)
            .unwrap()
            .status,
        DeliveryStatus::Sent
    );
    // The French learner got French words.
    let fr = deliveries
        .iter()
        .find(|d| d.user_id == "learner-1")
        .unwrap();
    let fr_conv = conversations
        .iter()
        .find(|c| c["id"] == fr.conversation.as_deref().unwrap())
        .unwrap();
    let fr_blocks: Value = fr_conv["messages"][0]["blocks"].clone();
    assert!(
        fr_blocks.to_string().contains("Ouvrir la session"),
        "{fr_blocks}"
    );
    // The compiled component was cached on disk for the next start, keyed by the engine and the component's hash.
    let cache = dir.path().join("component-cache");
    let cached: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let name = cached[0].file_name().into_string().unwrap();
    assert!(name.ends_with(".cwasm"), "{name}");
    harness.sim.shutdown().await;
}
