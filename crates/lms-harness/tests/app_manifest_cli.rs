//! `lms-harness slack-app-manifest`: the Slack app manifest for a platform, in JSON and in YAML, with the URLs
//! derived from the public base URL, exactly the connector's scopes and events, and clear refusals of a base URL
//! Slack cannot use.

#[path = "support/cli.rs"]
mod cli;

use cli::lms_harness;
use serde_json::{Value, json};

const ARGS: &[&str] = &[
    "slack-app-manifest",
    "--base-url",
    "https://lms.example.com/",
    "--platform",
    "acme",
    "--name",
    "Acme Learning",
];

#[test]
fn the_manifest_names_the_platforms_urls_and_exactly_the_connectors_scopes() {
    let run = lms_harness(ARGS);
    assert!(run.ok, "{}", run.stderr);
    let manifest: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        manifest["oauth_config"]["redirect_urls"],
        json!(["https://lms.example.com/connectors/slack/callback"])
    );
    assert_eq!(
        manifest["settings"]["event_subscriptions"]["request_url"],
        "https://lms.example.com/slack/acme/events"
    );
    assert_eq!(
        manifest["settings"]["interactivity"]["request_url"],
        "https://lms.example.com/slack/acme/interactivity"
    );
    assert_eq!(
        manifest["oauth_config"]["scopes"]["bot"],
        json!(slack_connector::connector::SCOPES)
    );
    assert_eq!(
        manifest["settings"]["event_subscriptions"]["bot_events"],
        json!(["app_uninstalled", "tokens_revoked"])
    );
    assert_eq!(
        manifest["features"]["app_home"]["messages_tab_enabled"],
        true
    );
    assert_eq!(manifest["display_information"]["name"], "Acme Learning");
    assert_eq!(manifest["settings"]["token_rotation_enabled"], false);
    let mut rotating = ARGS.to_vec();
    rotating.push("--token-rotation");
    let rotating: Value = serde_json::from_str(&lms_harness(&rotating).stdout).unwrap();
    assert_eq!(rotating["settings"]["token_rotation_enabled"], true);

    // The same manifest in YAML.
    let mut yaml_args = ARGS.to_vec();
    yaml_args.push("--yaml");
    let yaml = lms_harness(&yaml_args);
    assert!(yaml.ok, "{}", yaml.stderr);
    let from_yaml: Value = serde_norway::from_str(&yaml.stdout).unwrap();
    assert_eq!(from_yaml, manifest);
}

#[test]
fn a_base_url_slack_cannot_use_is_refused_saying_why() {
    for (base, said) in [
        ("http://lms.example.com", "must be an absolute https URL"),
        ("lms.example.com", "must be an absolute https URL"),
        ("https://lms.example.com/?x=1", "no query or fragment"),
    ] {
        let run = lms_harness(&[
            "slack-app-manifest",
            "--base-url",
            base,
            "--platform",
            "acme",
        ]);
        assert!(!run.ok, "{base} accepted: {}", run.stdout);
        assert!(run.stderr.contains(said), "{base}: {}", run.stderr);
        assert_eq!(run.stdout, "");
    }
    let long = "x".repeat(36);
    let run = lms_harness(&[
        "slack-app-manifest",
        "--base-url",
        "https://lms.example.com",
        "--platform",
        "acme",
        "--name",
        &long,
    ]);
    assert!(
        !run.ok && run.stderr.contains("1 to 35 characters"),
        "{}",
        run.stderr
    );
}

/// The manifest `slack-app-manifest` prints is one Slack accepts: the simulated Slack validates it with
/// `apps.manifest.validate` and creates the app from it with `apps.manifest.create` (an app configuration token), as
/// an operator's "Create an app from a manifest" does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_slack_validates_and_creates_the_app_from_it() {
    let sim = slack_sim::start(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        slack_sim::SimConfig::demo(),
    )
    .await
    .unwrap();
    let run = lms_harness(ARGS);
    assert!(run.ok, "{}", run.stderr);
    let token = sim.app_config_token();
    let call = |method: &'static str| {
        let (url, token, manifest) = (
            format!("{}{method}", sim.api_url()),
            token.clone(),
            run.stdout.clone(),
        );
        async move {
            let body = form_urlencoded::Serializer::new(String::new())
                .append_pair("manifest", &manifest)
                .finish();
            lms_harness::http_client::send(
                "POST",
                &url,
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("authorization", &format!("Bearer {token}")),
                ],
                body.into_bytes(),
                std::time::Duration::from_secs(10),
            )
            .await
            .unwrap()
            .json()
            .unwrap()
        }
    };
    let validated = call("apps.manifest.validate").await;
    assert_eq!(validated["ok"], true, "{validated}");
    let created = call("apps.manifest.create").await;
    assert_eq!(created["ok"], true, "{created}");
    assert!(
        created["credentials"]["client_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{created}"
    );
    sim.shutdown().await;
}
