//! The integration's whole life through the real component and the simulated Slack over HTTP (issue 5): availability,
//! who may act, activation and its failures, restricted workspaces, deactivation and reactivation, removal from
//! Slack's side by signed events, and a token revoked under a delivery.

use e2e_tests::World;
use lms::integration::{CallbackRefused, Tile};
use lms::outbox::DeliveryStatus;
use lms_harness::demo::{DEMO_PLATFORM, DEMO_REDIRECT_URI};
use lms_harness::http_client;
use std::time::Duration;

fn bot_token_stored(w: &World) -> bool {
    w.harness
        .lms
        .db()
        .secret(DEMO_PLATFORM, "slack", "bot_token")
        .unwrap()
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_connectors_have_no_tile_and_refuse_activation() {
    let w = World::start("unavailable", |_| {}).await;
    let lms = &w.harness.lms;
    lms.set_available(DEMO_PLATFORM, false, "vendor").unwrap();
    assert_eq!(lms.tile(DEMO_PLATFORM).unwrap(), Tile::Unavailable);
    let e = lms
        .start_activation(DEMO_PLATFORM, &w.data.admin, DEMO_REDIRECT_URI)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not available"), "{e}");
    assert!(
        w.audit()
            .iter()
            .any(|l| l.contains("activate.refused connector not available"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_platform_admins_may_activate_or_deactivate() {
    let w = World::start("nonadmin", |_| {}).await;
    let lms = &w.harness.lms;
    let learner = &w.data.learners[0].id;
    let e = lms
        .start_activation(DEMO_PLATFORM, learner, DEMO_REDIRECT_URI)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Only platform admins"), "{e}");
    let e = lms.deactivate(DEMO_PLATFORM, learner).await.unwrap_err();
    assert!(e.to_string().contains("Only platform admins"), "{e}");
    let audit = w.audit();
    assert!(
        audit
            .iter()
            .any(|l| l == &format!("{learner} activate.refused not a platform admin")),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|l| l == &format!("{learner} deactivate.refused not a platform admin")),
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_failures_leave_the_tile_inactive_with_a_reason_and_nothing_stored() {
    let w = World::start("activation-failures", |_| {}).await;
    let lms = &w.harness.lms;
    let installer = w.installer();

    // Cancel on Slack's page.
    let tile = w.activate_as(&installer, false).await.unwrap();
    assert!(
        matches!(&tile, Tile::Inactive(Some(m)) if m.contains("Cancel")),
        "{tile:?}"
    );
    assert!(!bot_token_stored(&w));

    // A forged state.
    let mut query = w.consent_as(&installer, true).await.unwrap();
    let genuine = query.clone();
    for (k, v) in &mut query {
        if k == "state" {
            *v = "f".repeat(48);
        }
    }
    // Refused, and nothing changes: the tile still says why the last real attempt failed.
    let before = lms.tile(DEMO_PLATFORM).unwrap();
    let e = w.complete(&query).await.unwrap_err();
    assert_eq!(
        e.downcast_ref::<CallbackRefused>(),
        Some(&CallbackRefused::Unknown),
        "{e}"
    );
    assert!(e.to_string().contains("not valid"), "{e}");
    assert_eq!(lms.tile(DEMO_PLATFORM).unwrap(), before);
    // The genuine callback still works once, then its state is spent.
    assert!(matches!(
        lms.complete_activation(DEMO_PLATFORM, &genuine)
            .await
            .unwrap(),
        Tile::Active(_)
    ));
    lms.deactivate(DEMO_PLATFORM, &w.data.admin).await.unwrap();
    let e = lms
        .complete_activation(DEMO_PLATFORM, &genuine)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already used"), "{e}");
    assert_eq!(lms.tile(DEMO_PLATFORM).unwrap(), Tile::Inactive(None));
    assert!(!bot_token_stored(&w));

    // An expired state.
    let query = w.consent_as(&installer, true).await.unwrap();
    lms.db()
        .conn()
        .execute("UPDATE activation_states SET expires_at = 0", ())
        .unwrap();
    let e = w.complete(&query).await.unwrap_err();
    assert_eq!(
        e.downcast_ref::<CallbackRefused>(),
        Some(&CallbackRefused::Expired),
        "{e}"
    );
    assert_eq!(lms.tile(DEMO_PLATFORM).unwrap(), Tile::Inactive(None));

    // An expired code: Slack's codes live 10 minutes.
    let query = w.consent_as(&installer, true).await.unwrap();
    w.harness.sim.advance_clock(Duration::from_secs(11 * 60));
    let tile = w.complete(&query).await.unwrap();
    assert!(
        matches!(&tile, Tile::Inactive(Some(m)) if m.contains("expired or was already used")),
        "{tile:?}"
    );

    // A bad code with a good state.
    let mut query = w.consent_as(&installer, true).await.unwrap();
    for (k, v) in &mut query {
        if k == "code" {
            *v = "not-a-code".into();
        }
    }
    let tile = w.complete(&query).await.unwrap();
    assert!(matches!(&tile, Tile::Inactive(Some(_))), "{tile:?}");
    assert!(!bot_token_stored(&w));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_workspace_needs_an_app_managers_approval_first() {
    let w = World::start("restricted", |sim| {
        sim.workspace.restrict_app_installs = true
    })
    .await;
    let lms = &w.harness.lms;
    // The installing member is neither a Slack admin nor an app manager.
    let member = w.data.learners[0].email.clone();
    let member = w
        .sim
        .workspace
        .members
        .iter()
        .find(|m| m.email.as_deref() == Some(member.as_str()))
        .unwrap()
        .id
        .clone();

    let url = lms
        .start_activation(DEMO_PLATFORM, &w.data.admin, DEMO_REDIRECT_URI)
        .await
        .unwrap();
    let page = http_client::get(&format!("{url}&member={member}"))
        .await
        .unwrap();
    assert!(
        page.text().contains("Submit"),
        "the request form, not Allow"
    );
    let mut fields = http_client::query_pairs(&url);
    fields.push(("member".into(), member.clone()));
    fields.push(("action".into(), "request".into()));
    fields.push((
        "message".into(),
        "To send the LMS's path and course invitations in Slack".into(),
    ));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let submitted = http_client::post_page_form(&page, url.split('?').next().unwrap(), &fields)
        .await
        .unwrap();
    assert_eq!(submitted.status, 200, "a request does not redirect back");
    let tile = lms
        .approval_requested(DEMO_PLATFORM, &w.data.admin)
        .unwrap();
    assert!(
        matches!(&tile, Tile::ApprovalRequested(next) if next.contains("ACTIVATE again")),
        "{tile:?}"
    );

    let request = w
        .harness
        .sim
        .requests()
        .into_iter()
        .next()
        .expect("a pending request");
    w.harness.sim.approve_request(&request.id).unwrap();
    let slackbot: Vec<_> = w
        .harness
        .sim
        .conversations()
        .into_iter()
        .filter(|c| c.member_id == member && c.app_id.is_none())
        .flat_map(|c| c.messages)
        .collect();
    assert_eq!(slackbot.len(), 2, "Slackbot: request sent, then approved");

    let tile = w.activate_as(&member, true).await.unwrap();
    assert_eq!(tile, Tile::Active(w.sim.workspace.team_name.clone()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_stops_messages_and_reactivation_continues_the_same_conversation() {
    let w = World::start("deactivation", |_| {}).await;
    let lms = &w.harness.lms;
    let installer = w.installer();
    w.activate_as(&installer, true).await.unwrap();
    let first = w.invite("first").await.unwrap();
    assert_eq!(first.sent, 3);
    let sent = lms.outbox().deliveries(DEMO_PLATFORM, "first").unwrap();
    let channel = sent.iter().find_map(|d| d.conversation.clone()).unwrap();

    let tile = lms.deactivate(DEMO_PLATFORM, &w.data.admin).await.unwrap();
    assert_eq!(tile, Tile::Inactive(None));
    assert!(!bot_token_stored(&w));
    let c = w.harness.sim.conversation(&channel).unwrap();
    assert!(c.hidden, "the app's conversation is hidden in Slack");
    assert_eq!(c.messages.len(), 1, "but its messages are not deleted");

    // Deliveries are refused with a reason, not queued forever.
    let second = w.invite("second").await.unwrap();
    assert_eq!((second.sent, second.skipped), (0, 4));
    for d in lms.outbox().deliveries(DEMO_PLATFORM, "second").unwrap() {
        assert_eq!(d.status, DeliveryStatus::Skipped);
        assert_eq!(d.reason_code.as_deref(), Some("inactive"), "{d:?}");
    }
    assert_eq!(
        w.harness.sim.conversation(&channel).unwrap().messages.len(),
        1
    );

    w.activate_as(&installer, true).await.unwrap();
    let c = w.harness.sim.conversation(&channel).unwrap();
    assert!(!c.hidden, "reinstalling shows the conversation again");
    let third = w.invite("third").await.unwrap();
    assert_eq!(third.sent, 3);
    let again = lms.outbox().deliveries(DEMO_PLATFORM, "third").unwrap();
    assert!(
        again
            .iter()
            .any(|d| d.conversation.as_deref() == Some(channel.as_str()))
    );
    assert_eq!(
        w.harness.sim.conversation(&channel).unwrap().messages.len(),
        2,
        "the same conversation continues"
    );
}

/// Serves the LMS's inbound routes on 127.0.0.1 and points the simulated app's event and interactivity URLs at
/// them; returns the events URL.
async fn route_events(w: &World) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, lms::inbound::router(w.harness.lms.clone())).into_future());
    let events = format!("http://{addr}/slack/{DEMO_PLATFORM}/events");
    w.harness.sim.set_app_urls(
        Some(events.clone()),
        Some(format!("http://{addr}/slack/{DEMO_PLATFORM}/interactivity")),
    );
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uninstall_events_of_a_deactivation_leave_the_tile_inactive() {
    let w = World::start("deactivation-events", |_| {}).await;
    route_events(&w).await;
    w.activate_as(&w.installer(), true).await.unwrap();
    let tile = w
        .harness
        .lms
        .deactivate(DEMO_PLATFORM, &w.data.admin)
        .await
        .unwrap();
    assert_eq!(tile, Tile::Inactive(None));
    // Slack tells the app it was uninstalled and its token revoked: the echo of the admin's own deactivation.
    let deliveries = w
        .harness
        .sim
        .wait_for_deliveries(2, Duration::from_secs(10))
        .await;
    assert!(deliveries.len() >= 2, "{deliveries:?}");
    assert_eq!(
        w.harness.lms.tile(DEMO_PLATFORM).unwrap(),
        Tile::Inactive(None)
    );
    assert!(w.alerts().is_empty(), "{:?}", w.alerts());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_from_slacks_side_disconnects_through_signed_events() {
    let w = World::start("events", |_| {}).await;
    let lms = &w.harness.lms;
    let events = route_events(&w).await;
    w.activate_as(&w.installer(), true).await.unwrap();

    // url_verification is answered with the challenge; forged and stale signatures are refused.
    let now = lms::db::now();
    let challenge = br#"{"type":"url_verification","challenge":"c-123"}"#;
    let secret = &w.sim.app.signing_secret;
    let post = |body: &'static [u8], ts: i64, signature: String| {
        let events = events.clone();
        async move {
            let ts = ts.to_string();
            let headers = [
                ("content-type", "application/json"),
                ("x-slack-request-timestamp", ts.as_str()),
                ("x-slack-signature", signature.as_str()),
            ];
            http_client::send(
                "POST",
                &events,
                &headers,
                body.to_vec(),
                Duration::from_secs(10),
            )
            .await
            .unwrap()
        }
    };
    let ok = post(
        challenge,
        now,
        slack_sim::sign_request(secret, now, challenge),
    )
    .await;
    assert_eq!((ok.status, ok.text()), (200, "c-123".to_string()));
    let forged = post(
        challenge,
        now,
        slack_sim::sign_request("not-the-secret", now, challenge),
    )
    .await;
    assert_eq!(forged.status, 401);
    let stale = post(
        challenge,
        now - 600,
        slack_sim::sign_request(secret, now - 600, challenge),
    )
    .await;
    assert_eq!(stale.status, 401);
    let uninstalled =
        br#"{"type":"event_callback","team_id":"T0SIMTEAM1","event":{"type":"app_uninstalled"}}"#;
    let forged = post(
        uninstalled,
        now,
        slack_sim::sign_request("not-the-secret", now, uninstalled),
    )
    .await;
    assert_eq!(forged.status, 401);
    assert!(
        matches!(lms.tile(DEMO_PLATFORM).unwrap(), Tile::Active(_)),
        "a forged event changes nothing"
    );

    // An admin removes the app in Slack: signed events arrive, the tile says Disconnected, admins are alerted.
    assert!(w.harness.sim.uninstall_app());
    let deliveries = w
        .harness
        .sim
        .wait_for_deliveries(2, Duration::from_secs(10))
        .await;
    assert!(deliveries.len() >= 2, "{deliveries:?}");
    let tile = lms.tile(DEMO_PLATFORM).unwrap();
    assert!(
        matches!(&tile, Tile::Disconnected(why) if why.contains("removed") || why.contains("revoked")),
        "{tile:?}"
    );
    assert_eq!(w.alerts().len(), 1, "{:?}", w.alerts());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_under_a_delivery_disconnects() {
    let w = World::start("revoked", |_| {}).await;
    let lms = &w.harness.lms;
    w.activate_as(&w.installer(), true).await.unwrap();
    // Removed in Slack with no Events URL configured: the LMS learns it from the next delivery.
    assert!(w.harness.sim.uninstall_app());
    let report = w.invite("after-removal").await.unwrap();
    assert_eq!(report.sent, 0);
    assert!(report.failed >= 1, "{report:?}");
    let tile = lms.tile(DEMO_PLATFORM).unwrap();
    assert!(
        matches!(&tile, Tile::Disconnected(why) if why.contains("access was revoked")),
        "{tile:?}"
    );
    let alerts = w.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    // Nothing is retried against a dead token.
    let deliveries = lms
        .outbox()
        .deliveries(DEMO_PLATFORM, "after-removal")
        .unwrap();
    assert!(
        deliveries
            .iter()
            .all(|d| d.status != DeliveryStatus::Queued),
        "{deliveries:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_click_is_acknowledged_through_the_signed_interactivity_url() {
    let w = World::start("interactivity", |_| {}).await;
    let lms = &w.harness.lms;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, lms::inbound::router(lms.clone())).into_future());
    w.harness.sim.set_app_urls(
        None,
        Some(format!("http://{addr}/slack/{DEMO_PLATFORM}/interactivity")),
    );
    w.activate_as(&w.installer(), true).await.unwrap();
    w.invite("clickable").await.unwrap();
    let d = lms
        .outbox()
        .deliveries(DEMO_PLATFORM, "clickable")
        .unwrap()
        .into_iter()
        .find(|d| d.status == DeliveryStatus::Sent)
        .unwrap();
    let member = w
        .harness
        .sim
        .conversation(d.conversation.as_deref().unwrap())
        .unwrap()
        .member_id;
    let click = w
        .harness
        .sim
        .click(
            &member,
            d.conversation.as_deref().unwrap(),
            d.message_id.as_deref().unwrap(),
            "open_session",
        )
        .await
        .unwrap();
    assert!(
        click.acknowledged,
        "Slack's block_actions payload is acknowledged in time: {click:?}"
    );
    assert!(
        click
            .url
            .as_deref()
            .unwrap()
            .ends_with(&format!("/sessions/{}", w.data.session.id)),
        "{click:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tile_and_its_audit_trail_survive_a_restart() {
    let w = World::start("restart", |_| {}).await;
    w.activate_as(&w.installer(), true).await.unwrap();
    let dir = w.dir.path().to_path_buf();
    let World {
        harness, dir: keep, ..
    } = w;
    let lms_harness::harness::Harness { lms, sim } = harness;
    sim.shutdown().await;
    drop(lms);
    let restarted =
        lms_harness::harness::Harness::start(lms_harness::harness::HarnessOptions::in_dir(&dir))
            .await
            .unwrap();
    let tile = restarted.lms.tile(DEMO_PLATFORM).unwrap();
    assert!(
        matches!(&tile, Tile::Active(name) if name == "Simulated Workspace"),
        "{tile:?}"
    );
    let actions: Vec<String> = {
        let conn = restarted.lms.db().conn();
        let mut stmt = conn
            .prepare("SELECT actor || ' ' || action FROM audit_log ORDER BY seq")
            .unwrap();
        stmt.query_map((), |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert!(
        actions.iter().any(|a| a == "admin connector.active"),
        "{actions:?}"
    );
    restarted.sim.shutdown().await;
    drop(keep);
}
