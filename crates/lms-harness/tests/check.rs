//! `lms-harness check` against a stand-in for `https://slack.com`: the simulated Slack served over TLS with a
//! certificate from a test authority made here, reached with `--cacert` and `--resolve` and no local-mode route,
//! through the outbound path deliveries use. What is right says ok; a missing secret, a plain-http public URL, an
//! unknown authority and a refused token each say what is wrong.

use connector_host::ConnectorStore;
use lms_harness::check::{CheckArgs, Line, run};
use lms_harness::connector::DataDir;
use slack_sim::SimConfig;
use std::net::SocketAddr;
use std::path::PathBuf;

#[path = "support/temp_dir.rs"]
mod temp_dir;
#[path = "support/test_ca.rs"]
mod test_ca;
use temp_dir::TempDir;
use test_ca::{authority, environment};

const APP: &[(&str, &str)] = &[
    ("SLACK_CLIENT_ID", "1234.5678"),
    ("SLACK_CLIENT_SECRET", "client-secret"),
    ("SLACK_SIGNING_SECRET", "signing-secret"),
    ("LMS_PUBLIC_URL", "https://lms.example.com"),
];

fn args(cacert: Vec<PathBuf>, slack: SocketAddr) -> CheckArgs {
    CheckArgs {
        config: None,
        cacert,
        resolve: vec![format!("slack.com:443:{slack}")],
        data: None,
        platform: Some("acme".into()),
    }
}

fn wrong(lines: &[Line]) -> Vec<&str> {
    lines
        .iter()
        .filter_map(|l| match l {
            Line::Wrong(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_over_verified_tls_through_the_delivery_path_and_what_is_wrong_said_line_by_line() {
    let dir = TempDir::new("check");
    let (pem, identity) = authority(dir.0.as_path());
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let sim = slack_sim::start_tls(any, SimConfig::demo(), identity)
        .await
        .unwrap();
    let slack = sim.addr();

    // Everything right: the configuration, and Slack answering through the pin, trusted through the test root.
    let lines = run(&args(vec![pem.clone()], slack), &environment(APP))
        .await
        .unwrap();
    assert!(wrong(&lines).is_empty(), "{lines:#?}");
    let said: Vec<String> = lines.iter().map(ToString::to_string).collect();
    assert!(
        said.iter()
            .any(|l| l.starts_with("ok")
                && l.contains("Slack answers api.test (pinned: slack.com:443:")),
        "{said:#?}"
    );
    assert!(
        said.iter()
            .any(|l| l.contains("https://lms.example.com/slack/acme/events")),
        "{said:#?}"
    );
    assert!(
        said.iter()
            .all(|l| !l.contains("client-secret") && !l.contains("signing-secret")),
        "secrets are never printed: {said:#?}"
    );

    // Without the test root, the certificate is refused, saying why.
    let lines = run(&args(vec![], slack), &environment(APP)).await.unwrap();
    let w = wrong(&lines);
    assert!(
        w.len() == 1
            && w[0].contains("Slack does not answer api.test")
            && w[0].contains("authority"),
        "{lines:#?}"
    );

    // A missing secret and a public URL Slack cannot call.
    let partial = environment(&[
        ("SLACK_CLIENT_ID", "1234.5678"),
        ("SLACK_CLIENT_SECRET", "client-secret"),
        ("LMS_PUBLIC_URL", "http://lms.example.com"),
    ]);
    let lines = run(&args(vec![pem.clone()], slack), &partial)
        .await
        .unwrap();
    let w = wrong(&lines);
    assert!(
        w.iter()
            .any(|l| l.contains("the signing secret is missing")),
        "{w:#?}"
    );
    assert!(
        w.iter()
            .any(|l| l.contains("must be an absolute https URL")),
        "{w:#?}"
    );

    // A platform whose installation's token Slack refuses.
    let data = dir.0.as_path().join("data");
    let db = DataDir::open_db(&data, true).unwrap();
    db.set_secret("acme", "slack", "bot_token", "xoxb-not-a-token")
        .unwrap();
    drop(db);
    let mut with_data = args(vec![pem], slack);
    with_data.data = Some(data);
    let lines = run(&with_data, &environment(APP)).await.unwrap();
    let w = wrong(&lines);
    assert!(
        w.len() == 1 && w[0].contains("refused by auth.test: invalid_auth"),
        "{lines:#?}"
    );
    sim.shutdown().await;
}
