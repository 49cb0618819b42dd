//! The host's embedding example (`crates/connector-host/examples/embed.rs`), run with the probe component: an LMS
//! of its own (an in-memory store) loads a connector within its grants and calls it.

// The example's own `main` is not called here.
#[allow(dead_code)]
#[path = "../../crates/connector-host/examples/embed.rs"]
mod embed;

use connector_host::wit;

const PROBE: &[u8] = include_bytes!(env!("PROBE_CONNECTOR_WASM"));

fn codes(report: &embed::Report) -> Vec<String> {
    report
        .outcomes
        .iter()
        .map(|o| match &o.outcome {
            wit::Outcome::Failed(f) => f.code.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_lms_with_an_in_memory_store_embeds_the_host() {
    let report = embed::run(PROBE, "fetch https://api.example.com/v1/status")
        .await
        .unwrap();
    assert_eq!(report.info.id, "probe");
    assert!(matches!(report.state, wit::IntegrationState::Inactive));
    let ids: Vec<&str> = report
        .outcomes
        .iter()
        .map(|o| o.delivery_id.as_str())
        .collect();
    assert_eq!(ids, ["n1/u1", "n1/u2"]);
    // The granted origin, routed to the example's stand-in service.
    assert_eq!(codes(&report), ["status:200", "status:200"]);

    // Anything outside the grants is denied by the host.
    let report = embed::run(PROBE, "fetch https://elsewhere.example/")
        .await
        .unwrap();
    assert_eq!(
        codes(&report),
        [
            "error:ErrorCode::HttpRequestDenied",
            "error:ErrorCode::HttpRequestDenied"
        ]
    );
}

const LEGACY: &[u8] = include_bytes!(env!("LEGACY_V0_1_0_CONNECTOR_WASM"));

/// A connector of contract 0.1.0, built before 0.2.0 existed, loads and delivers as it always did: it reports no
/// progress, the host gives it recipients without `earlier-post`, and never asks it to update a message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_of_contract_0_1_0_still_loads_and_delivers() {
    use connector_host::bindings::Contract;
    use connector_host::progress::Collected;
    use connector_host::{Limits, outbound::OutboundConfig};
    let dir = e2e_tests::TestDir::new("legacy");
    let db = lms::db::Db::open(
        &dir.path().join("lms.sqlite3"),
        lms::secrets::SecretBox::new([3; 32]),
    )
    .unwrap();
    let engine = connector_host::Sandbox::engine().unwrap();
    let legacy = e2e_tests::load_unmanifested(
        &engine,
        LEGACY,
        "legacy",
        &db,
        OutboundConfig::new(vec![]),
        Limits::default(),
    )
    .unwrap();
    assert_eq!(legacy.contract(), Contract::V0_1_0);
    assert!(!legacy.reports_progress());
    assert_eq!(legacy.describe().await.unwrap().id, "legacy");
    let user = wit::User {
        id: "u".into(),
        email: "u@x".into(),
        display_name: "U".into(),
        locale: "en".into(),
        time_zone: "UTC".into(),
    };
    let recipients: Vec<wit::Recipient> = [(1, None), (2, Some(1_700_000_000))]
        .into_iter()
        .map(|(attempt, earlier_post)| wit::Recipient {
            user: user.clone(),
            delivery_id: format!("d{attempt}"),
            attempt,
            earlier_post,
            reply_to: None,
        })
        .collect();
    let notification = wit::Notification {
        id: "n".into(),
        kind: wit::NotificationKind::PathStep,
        title: "t".into(),
        session: None,
        body: None,
        group: wit::PlatformGroup {
            name: "g".into(),
            logo_url: None,
        },
    };
    let progress = std::sync::Arc::new(Collected::default());
    let outcomes = legacy
        .deliver("p1", &notification, &recipients, progress.clone())
        .await
        .unwrap();
    assert!(progress.outcomes().is_empty() && progress.postings().is_empty());
    let sent: Vec<(String, bool)> = outcomes
        .into_iter()
        .map(|o| match o.outcome {
            wit::Outcome::Sent(s) => (o.delivery_id, s.already_sent),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sent, [("d1".into(), false), ("d2".into(), true)]);
    // It cannot update a message (contract 0.3.0): each update fails for good without a call, so that the LMS says
    // why instead of retrying.
    assert!(!legacy.updates_messages());
    let session = wit::Session {
        id: "s".into(),
        title: "S".into(),
        description: String::new(),
        cover_image_url: None,
        cover_is_default: true,
        starts_at: 0,
        ends_at: 0,
        url: "https://lms.example/s".into(),
    };
    let update = wit::MessageUpdate {
        recipient: recipients[0].clone(),
        message: wit::MessageRef {
            conversation: "D1".into(),
            message_id: "1.0".into(),
        },
        first_shown: session,
    };
    let outcomes = legacy
        .update(
            "p1",
            &notification,
            wit::SessionChange::Edited,
            &[update],
            progress,
        )
        .await
        .unwrap();
    match &outcomes[..] {
        [
            wit::DeliveryOutcome {
                delivery_id,
                outcome: wit::Outcome::Failed(f),
            },
        ] => {
            assert_eq!(delivery_id, "d1");
            assert_eq!(
                (f.kind, f.code.as_str()),
                (wit::FailureKind::Permanent, "unsupported")
            );
            assert!(f.message.contains("lms:connector@0.1.0"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
}
