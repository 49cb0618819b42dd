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
