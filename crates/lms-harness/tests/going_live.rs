//! `serve` against the real Slack, proven without the internet: the simulated Slack served over TLS as `slack.com`
//! with a certificate from a test authority made here, and the site started in live mode with the operator's app
//! (from the environment), `--cacert` and `--resolve`, and no local-mode route. The integration is activated (the
//! consent clicked by a browser that trusts the same authority), learners are invited and receive their message,
//! and the integration is deactivated: every call of the connector went over verified TLS to the pinned address.

#[path = "support/connect_proxy.rs"]
mod connect_proxy;
#[path = "support/temp_dir.rs"]
mod temp_dir;
#[path = "support/test_ca.rs"]
mod test_ca;

use bytes::Bytes;
use connector_host::outbound::{Grant, OutboundConfig, OutboundPolicy, Pin};
use lms::integration::Tile;
use lms_harness::live::LiveConfig;
use lms_harness::web::{self, PLATFORM, ServeOptions};
use slack_sim::SimConfig;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use temp_dir::TempDir;
use test_ca::{authority, environment};

const PUBLIC_URL: &str = "https://lms.example.test";

/// A browser that trusts the test authority and finds `slack.com` at the simulation: the host's own outbound path,
/// granted the whole of `https://slack.com/`.
fn browser(root: &Path, slack: SocketAddr) -> OutboundPolicy {
    let mut config = OutboundConfig::new(vec![Grant::parse("https://slack.com/").unwrap()]);
    config.add_root_certificates(root).unwrap();
    config
        .pins
        .push(Pin::parse(&format!("slack.com:443:{slack}")).unwrap());
    OutboundPolicy::new(Arc::new(config), "test/browser".into())
}

/// Clicks Allow on the consent page at `url` as `member`, as a browser does (the page's cookie and form token, an
/// `Origin` of the page's own); the query of the redirect back to the LMS.
async fn consent(browser: &mut OutboundPolicy, url: &str, member: &str) -> Vec<(String, String)> {
    let page = browser
        .send_from_host(http::Request::get(url).body(Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the consent page");
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let text = String::from_utf8_lossy(page.body()).into_owned();
    let token = text
        .split_once(r#"name="csrf_token" value=""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(token, _)| token.to_string())
        .expect("the consent form's token");
    let (action, query) = url.split_once('?').unwrap();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(query.as_bytes()))
        .append_pair("member", member)
        .append_pair("action", "allow")
        .append_pair("csrf_token", &token)
        .finish();
    let answer = browser
        .send_from_host(
            http::Request::post(action)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", cookie)
                .header("origin", "https://slack.com")
                .body(Bytes::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let location = answer.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{PUBLIC_URL}/connectors/slack/callback?")),
        "{location}"
    );
    let (_, query) = location.split_once('?').unwrap();
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The simulated Slack over TLS as `slack.com`, its app able to redirect to the public URL; the test authority's
/// root; and the environment that names the app.
struct Stage {
    sim: slack_sim::SimHandle,
    sim_config: SimConfig,
    root: std::path::PathBuf,
    _dir: TempDir,
    data: std::path::PathBuf,
}

async fn stage(name: &str, token_rotation: bool) -> Stage {
    let dir = TempDir::new(name);
    let (root, identity) = authority(dir.0.as_path());
    let mut sim_config = SimConfig::demo();
    sim_config.app.token_rotation_enabled = token_rotation;
    sim_config
        .app
        .redirect_urls
        .push(format!("{PUBLIC_URL}/connectors/slack/callback"));
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let sim = slack_sim::start_tls(any, sim_config.clone(), identity)
        .await
        .unwrap();
    Stage {
        sim,
        sim_config,
        root,
        data: dir.0.join("data"),
        _dir: dir,
    }
}

impl Stage {
    /// The operator's environment: the app's credentials, the public URL, and `more`.
    fn live(&self, more: &[(&str, &str)], resolve: &[String]) -> LiveConfig {
        let app = &self.sim_config.app;
        let mut pairs = vec![
            ("SLACK_CLIENT_ID", app.client_id.as_str()),
            ("SLACK_CLIENT_SECRET", app.client_secret.as_str()),
            ("SLACK_SIGNING_SECRET", app.signing_secret.as_str()),
            ("LMS_PUBLIC_URL", PUBLIC_URL),
        ];
        pairs.extend_from_slice(more);
        LiveConfig::load(
            None,
            &environment(&pairs),
            std::slice::from_ref(&self.root),
            resolve,
        )
        .unwrap()
    }

    /// Starts the site in live mode with `live`; activates, lets `after_activation` pass on Slack's clock, invites
    /// and deactivates, checking each step; the Web API calls Slack saw.
    async fn the_story(
        self,
        live: &LiveConfig,
        after_activation: std::time::Duration,
    ) -> Vec<slack_sim::ApiCall> {
        let server = web::start_live(ServeOptions::local(self.data.clone()), live)
            .await
            .unwrap();
        let lms = &server.lms;
        assert!(
            lms.sandbox().outbound().routes.is_empty(),
            "no local-mode route"
        );

        // Activation: the consent URL is Slack's own, clicked in a browser trusting the same authority.
        let url = lms
            .start_activation(
                PLATFORM,
                "admin",
                &format!("{PUBLIC_URL}/connectors/slack/callback"),
            )
            .await
            .unwrap();
        assert!(
            url.starts_with("https://slack.com/oauth/v2/authorize?"),
            "{url}"
        );
        let installer = self
            .sim_config
            .workspace
            .members
            .iter()
            .find(|m| m.is_admin && !m.deleted && !m.is_bot)
            .unwrap();
        let query = consent(
            &mut browser(&self.root, self.sim.addr()),
            &url,
            &installer.id,
        )
        .await;
        let tile = lms.complete_activation(PLATFORM, &query).await.unwrap();
        assert!(matches!(tile, Tile::Active(_)), "{tile:?}");
        self.sim.advance_clock(after_activation);

        // Delivery: the demo session's learners are invited and those in the workspace get their message.
        let db = lms.db();
        let session = db
            .sessions(PLATFORM)
            .unwrap()
            .into_iter()
            .next()
            .expect("the seeded session");
        let invitation = lms::invitations::invite_learners(
            db,
            PLATFORM,
            &session,
            "admin",
            lms::db::now(),
            lms::invitations::Sending::Invitation,
        )
        .unwrap();
        let notification = invitation.notification_id.unwrap();
        lms::workers::run_outbox(lms, PLATFORM, lms::db::now())
            .await
            .unwrap();
        let sent = lms
            .outbox()
            .deliveries(PLATFORM, &notification)
            .unwrap()
            .iter()
            .filter(|d| d.conversation.is_some())
            .count();
        assert!(
            sent >= 2,
            "the learners in the workspace got their invitation"
        );
        let messages: usize = self
            .sim
            .conversations()
            .iter()
            .map(|c| c.messages.len())
            .sum();
        assert_eq!(messages, sent);

        // Deactivation: the app is uninstalled from the workspace.
        let tile = lms.deactivate(PLATFORM, "admin").await.unwrap();
        assert!(matches!(tile, Tile::Inactive(_)), "{tile:?}");
        let installations = self.sim.installations();
        assert!(
            !installations.is_empty() && installations.iter().all(|i| !i.active),
            "{installations:?}"
        );
        let calls = self.sim.api_calls();
        server.shutdown().await;
        self.sim.shutdown().await;
        calls
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_delivery_and_deactivation_against_slack_over_verified_tls() {
    let stage = stage("going-live", false).await;
    let live = stage.live(&[], &[format!("slack.com:443:{}", stage.sim.addr())]);
    stage.the_story(&live, std::time::Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_through_an_egress_proxy_that_sees_only_slack_com() {
    let stage = stage("going-live-proxy", false).await;
    let (proxy, seen) = connect_proxy::start(stage.sim.addr()).await;
    let proxy_url = format!("http://{proxy}");
    let live = stage.live(&[("HTTPS_PROXY", &proxy_url)], &[]);
    stage.the_story(&live, std::time::Duration::ZERO).await;
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the host went through the proxy");
    assert!(
        seen.iter()
            .all(|line| line == "CONNECT slack.com:443 HTTP/1.1"),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotating_token_found_expired_is_renewed_and_no_invitation_is_lost() {
    let stage = stage("going-live-rotation", true).await;
    let live = stage.live(&[], &[format!("slack.com:443:{}", stage.sim.addr())]);
    // Thirteen hours pass on Slack's clock after activation: the token (12 hours) has expired there, while the
    // host's clock says it is fresh. The first call is refused, the token renewed, and every invitation still goes.
    let calls = stage
        .the_story(&live, std::time::Duration::from_secs(13 * 3600))
        .await;
    let renewals = calls
        .iter()
        .filter(|c| {
            c.method == "oauth.v2.access"
                && c.params.get("grant_type").and_then(|v| v.as_str()) == Some("refresh_token")
        })
        .count();
    assert_eq!(renewals, 1, "renewed once");
}

#[tokio::test]
async fn live_mode_refuses_to_start_without_everything_the_app_needs() {
    let dir = TempDir::new("going-live-missing");
    let env = environment(&[
        ("SLACK_CLIENT_ID", "1234.5678"),
        ("LMS_PUBLIC_URL", "http://lms.example.test"),
    ]);
    let live = LiveConfig::load(None, &env, &[], &[]).unwrap();
    let e = web::start_live(ServeOptions::local(dir.0.join("data")), &live)
        .await
        .err()
        .expect("refused");
    let said = format!("{e:#}");
    for part in [
        "client secret is missing",
        "signing secret is missing",
        "must be an absolute https URL",
    ] {
        assert!(said.contains(part), "{part}: {said}");
    }
    assert!(!dir.0.join("data").exists(), "nothing left behind");
}
