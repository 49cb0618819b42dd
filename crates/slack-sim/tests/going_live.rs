//! "Going live": what a connector's production path meets at Slack, proved against the simulation without the
//! internet: token rotation (the code exchange, refreshes, a spent refresh token, expiry on the simulation's
//! clock), the `x-oauth-scopes` header of `auth.test`, `api.test`, app manifests (`apps.manifest.validate` and
//! `create`, then OAuth with the created app's client ID) and the API served over TLS as `https://slack.com`.

mod util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use serde_json::{Value, json};
use slack_sim::{SimConfig, TlsIdentity};
use util::Via::{Form, Json};
use util::*;

/// A demo simulation whose app has token rotation on, its tokens living `expires_in` seconds.
async fn start_rotating(expires_in: u64) -> slack_sim::SimHandle {
    let mut cfg = SimConfig::demo();
    cfg.app.token_rotation_enabled = true;
    cfg.token_expires_in_secs = expires_in;
    start_with(cfg).await
}

/// `oauth.v2.access` with `grant_type=refresh_token`, the client's credentials in HTTP Basic (as python slack_sdk
/// sends them) or as form fields (as node @slack/oauth does).
async fn refresh(sim: &slack_sim::SimHandle, refresh_token: &str, basic: bool) -> Value {
    let cfg = sim.state();
    let url = format!("{}oauth.v2.access", sim.api_url());
    let (id, secret) = (cfg.app.client_id.as_str(), cfg.app.client_secret.as_str());
    let auth = format!("Basic {}", basic_b64(&format!("{id}:{secret}")));
    let mut fields = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    let headers: Vec<(&str, &str)> = if basic {
        vec![("authorization", auth.as_str())]
    } else {
        fields.extend([("client_id", id), ("client_secret", secret)]);
        Vec::new()
    };
    request("POST", &url, &headers, Some(Body::Form(&fields)))
        .await
        .unwrap()
        .json()
}

#[tokio::test]
async fn rotation_exchange_refresh_reuse_and_expiry_on_the_sim_clock() {
    let sim = start_rotating(43_200).await;
    let q = allow(&sim, "U0ALICE001", "chat:write,im:write", "s").await;
    let v = exchange(&sim, &q["code"]).await.json();
    assert_eq!(v["ok"], true, "{v}");
    let access = v["access_token"].as_str().unwrap().to_string();
    assert!(access.starts_with("xoxe.xoxb-"), "{access}");
    assert_eq!(v["expires_in"], 43_200);
    assert_eq!(v["token_type"], "bot");
    let first_refresh = v["refresh_token"].as_str().unwrap().to_string();
    assert!(first_refresh.starts_with("xoxe-1-"), "{first_refresh}");
    run_cases(
        &sim,
        &[Case::ok(Form(Some(&access)), "auth.test", json!({}))],
    )
    .await;

    // A refresh gives a new pair, and spends the refresh token.
    let r = refresh(&sim, &first_refresh, true).await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["token_type"], "bot");
    assert_eq!(r["expires_in"], 43_200);
    assert_eq!(r["scope"], "chat:write,im:write");
    let second = r["access_token"].as_str().unwrap().to_string();
    let second_refresh = r["refresh_token"].as_str().unwrap().to_string();
    assert!(second.starts_with("xoxe.xoxb-") && second != access);
    assert!(second_refresh.starts_with("xoxe-1-") && second_refresh != first_refresh);
    let again = refresh(&sim, &first_refresh, false).await;
    assert_eq!(again["error"], "invalid_refresh_token", "{again}");
    let unknown = refresh(&sim, "xoxe-1-never-issued", true).await;
    assert_eq!(unknown["error"], "invalid_refresh_token", "{unknown}");

    // Twelve hours on the simulation's clock: the token has expired (HTTP 200, token_expired).
    sim.advance_clock(Duration::from_secs(43_200));
    let expired = call(&sim, Json(&second), "auth.test", &json!({})).await;
    assert_eq!(expired.status, 200);
    assert_eq!(expired.json()["error"], "token_expired");
    // The refresh token still works; the new token does too.
    let r = refresh(&sim, &second_refresh, false).await;
    assert_eq!(r["ok"], true, "{r}");
    let third = r["access_token"].as_str().unwrap();
    run_cases(&sim, &[Case::ok(Form(Some(third)), "auth.test", json!({}))]).await;
    // No secret of rotation appears in the simulation's JSON.
    let state = get(&sim_url(&sim, "/_sim/state")).await.text();
    for secret in [third, &second_refresh, &access] {
        assert!(!state.contains(secret), "{secret} in /_sim/state");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn rotation_grant_type_errors_and_a_short_lifetime() {
    let sim = start_rotating(60).await;
    let q = allow(&sim, "U0ALICE001", "chat:write", "s").await;
    let v = exchange(&sim, &q["code"]).await.json();
    assert_eq!(v["expires_in"], 60);
    let token = v["access_token"].as_str().unwrap();
    let cfg = sim.state();
    let creds = |extra: Value| {
        let mut p = json!({"client_id": cfg.app.client_id, "client_secret": cfg.app.client_secret});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        p
    };
    run_cases(
        &sim,
        &[
            Case::err(
                Form(None),
                "oauth.v2.access",
                creds(json!({"grant_type": "password", "refresh_token": v["refresh_token"]})),
                "invalid_grant_type",
            ),
            Case::err(
                Form(None),
                "oauth.v2.access",
                json!({"client_id": cfg.app.client_id, "client_secret": "bad", "grant_type": "refresh_token", "refresh_token": v["refresh_token"]}),
                "bad_client_secret",
            ),
            Case::err(
                Form(None),
                "oauth.v2.access",
                creds(json!({"grant_type": "refresh_token"})),
                "invalid_refresh_token",
            ),
        ],
    )
    .await;
    sim.advance_clock(Duration::from_secs(59));
    run_cases(&sim, &[Case::ok(Form(Some(token)), "auth.test", json!({}))]).await;
    sim.advance_clock(Duration::from_secs(1));
    run_cases(
        &sim,
        &[Case::err(
            Form(Some(token)),
            "auth.test",
            json!({}),
            "token_expired",
        )],
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn without_rotation_tokens_do_not_expire_and_there_is_nothing_to_refresh() {
    let sim = start_demo().await;
    let q = allow(&sim, "U0ALICE001", "chat:write", "s").await;
    let v = exchange(&sim, &q["code"]).await.json();
    assert!(v["access_token"].as_str().unwrap().starts_with("xoxb-"));
    assert!(
        v.get("expires_in").is_none() && v.get("refresh_token").is_none(),
        "{v}"
    );
    sim.advance_clock(Duration::from_secs(400 * 24 * 3600));
    let token = v["access_token"].as_str().unwrap();
    run_cases(&sim, &[Case::ok(Form(Some(token)), "auth.test", json!({}))]).await;
    let r = refresh(&sim, "xoxe-1-anything", true).await;
    assert_eq!(r["error"], "invalid_refresh_token");
    sim.shutdown().await;
}

#[tokio::test]
async fn auth_test_sends_the_granted_scopes_and_api_test_echoes() {
    let (sim, token) = start_installed("chat:write,im:write,users:read").await;
    let r = call(&sim, Form(Some(&token)), "auth.test", &json!({})).await;
    assert_eq!(
        r.header("x-oauth-scopes").as_deref(),
        Some("chat:write,im:write,users:read")
    );
    // Lower case on the wire (hyper writes header names as given).
    assert!(r.headers.contains_key("x-oauth-scopes"));
    let v = r.json();
    assert!(v["bot_id"].as_str().unwrap().starts_with('B'), "{v}");
    // Every answer to the bot token carries them, an error too; none without a token.
    let r = call(
        &sim,
        Form(Some(&token)),
        "users.info",
        &json!({"user": "U0NOBODY01"}),
    )
    .await;
    assert_eq!(r.json()["ok"], false);
    assert_eq!(
        r.header("x-oauth-scopes").as_deref(),
        Some("chat:write,im:write,users:read")
    );
    let r = call(&sim, Form(None), "auth.test", &json!({})).await;
    assert_eq!(r.header("x-oauth-scopes"), None);
    run_cases(
        &sim,
        &[
            Case::ok(Form(None), "api.test", json!({"foo": "bar"})).check(|v| {
                assert_eq!(v["args"], json!({"foo": "bar"}));
            }),
            Case::err(
                Form(None),
                "api.test",
                json!({"error": "my_error", "foo": "x"}),
                "my_error",
            )
            .check(|v| assert_eq!(v["args"], json!({"error": "my_error", "foo": "x"}))),
        ],
    )
    .await;
    sim.shutdown().await;
}

/// A classic bot's manifest: the connector's scopes, the uninstall events, token rotation, redirect URL `redirect`.
fn connector_manifest(redirect: &str) -> Value {
    json!({
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {"name": "Acme Connector", "description": "Notifications from the LMS."},
        "features": {
            "app_home": {"home_tab_enabled": false, "messages_tab_enabled": true, "messages_tab_read_only_enabled": true},
            "bot_user": {"display_name": "acme-connector", "always_online": true}
        },
        "oauth_config": {
            "redirect_urls": [redirect],
            "scopes": {"bot": ["chat:write", "im:write", "users:read", "users:read.email"]}
        },
        "settings": {
            "event_subscriptions": {
                "request_url": "https://connector.example.com/slack/events",
                "bot_events": ["app_uninstalled", "tokens_revoked"]
            },
            "interactivity": {"is_enabled": true, "request_url": "https://connector.example.com/slack/interactivity"},
            "org_deploy_enabled": false,
            "socket_mode_enabled": false,
            "token_rotation_enabled": true
        }
    })
}

#[tokio::test]
async fn manifest_validate_accepts_a_bot_and_points_at_each_error() {
    let sim = start_demo().await;
    let config = sim.app_config_token();
    assert!(config.starts_with("xoxe.xoxp-"), "{config}");
    let good = connector_manifest("https://connector.example.com/slack/oauth/callback");
    let mut bad = good.clone();
    bad["display_information"]["name"] = json!("");
    bad["features"]["bot_user"]["display_name"] = json!("x".repeat(81));
    bad["settings"]["event_subscriptions"]
        .as_object_mut()
        .unwrap()
        .remove("request_url");
    bad["settings"]["interactivity"] = json!({"is_enabled": true});
    bad["settings"]["unknown_setting"] = json!(1);
    let mut rules = good.clone();
    rules["settings"]["event_subscriptions"]
        .as_object_mut()
        .unwrap()
        .remove("request_url");
    rules["settings"]["interactivity"] = json!({"is_enabled": true});
    let pointers = |v: &Value| -> Vec<String> {
        v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
                e["pointer"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let as_string = |v: &Value| json!({"manifest": v.to_string()});
    run_cases(
        &sim,
        &[
            // A form field holding JSON text (as python slack_sdk sends it), and an object in a JSON body.
            Case::ok(Form(Some(&config)), "apps.manifest.validate", as_string(&good))
                .check(|v| assert_eq!(v["errors"], json!([]))),
            Case::ok(Json(&config), "apps.manifest.validate", json!({"manifest": good})),
            Case::err(Form(Some(&config)), "apps.manifest.validate", as_string(&bad), "invalid_manifest")
                .check(|v| {
                    assert_eq!(
                        pointers(v),
                        [
                            "/display_information/name",
                            "/features/bot_user/display_name",
                            "/settings/unknown_setting"
                        ]
                    )
                }),
            Case::err(Json(&config), "apps.manifest.validate", as_string(&rules), "invalid_manifest")
                .check(|v| {
                    assert_eq!(
                        v["errors"],
                        json!([
                            {"message": "Event Subscription requires either Request URL or Socket Mode Enabled",
                             "pointer": "/settings/event_subscriptions"},
                            {"message": "Interactivity requires a Request URL", "pointer": "/settings/interactivity"}
                        ])
                    )
                }),
            Case::err(Form(Some(&config)), "apps.manifest.validate", json!({"manifest": "{not json"}), "invalid_manifest"),
            Case::err(Form(Some(&config)), "apps.manifest.validate", json!({}), "invalid_arguments"),
            Case::err(Form(None), "apps.manifest.validate", as_string(&good), "not_authed"),
            Case::err(Form(Some("xoxe.xoxp-1-wrong")), "apps.manifest.validate", as_string(&good), "invalid_auth"),
        ],
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn manifest_create_makes_the_app_the_oauth_flow_and_api_behave_by() {
    let sim = start_demo().await;
    let old_token = install(&sim, "U0ADMIN001", "chat:write").await;
    let redirect = "http://127.0.0.1:9/slack/oauth/callback";
    let manifest = connector_manifest(redirect).to_string();
    let config = sim.app_config_token();
    // A bot token is not an app configuration token.
    run_cases(
        &sim,
        &[Case::err(
            Form(Some(&old_token)),
            "apps.manifest.create",
            json!({"manifest": manifest}),
            "not_allowed_token_type",
        )],
    )
    .await;
    // apps.manifest.create is Tier 1: a minute on before the next call.
    sim.advance_clock(Duration::from_secs(60));
    let v = run_cases(
        &sim,
        &[Case::ok(
            Form(Some(&config)),
            "apps.manifest.create",
            json!({"manifest": manifest}),
        )],
    )
    .await
    .remove(0);
    let app_id = v["app_id"].as_str().unwrap();
    assert!(app_id.starts_with('A') && app_id != "A0SIMAPP001", "{v}");
    let credentials = &v["credentials"];
    let client_id = credentials["client_id"].as_str().unwrap();
    let client_secret = credentials["client_secret"].as_str().unwrap();
    let signing_secret = credentials["signing_secret"].as_str().unwrap();
    assert!(
        !credentials["verification_token"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let authorize = v["oauth_authorize_url"].as_str().unwrap();
    assert!(authorize.starts_with(&sim.authorize_url()), "{authorize}");
    let q = query_of(authorize);
    assert_eq!(q["client_id"], client_id);
    assert_eq!(
        q["scope"],
        "chat:write,im:write,users:read,users:read.email"
    );

    // The app of the simulation is the created one: its credentials, URLs and settings.
    let state = sim.state();
    assert_eq!(state.app.app_id, app_id);
    assert_eq!(
        (
            state.app.client_id.as_str(),
            state.app.client_secret.as_str()
        ),
        (client_id, client_secret)
    );
    assert_eq!(state.app.signing_secret, signing_secret);
    assert_eq!(state.app.redirect_urls, [redirect]);
    assert!(state.app.token_rotation_enabled && state.app.messages_tab_enabled);
    assert_eq!(
        state.app.events_url.as_deref(),
        Some("https://connector.example.com/slack/events")
    );
    // The previous app is gone with its token.
    run_cases(
        &sim,
        &[Case::err(
            Form(Some(&old_token)),
            "auth.test",
            json!({}),
            "token_revoked",
        )],
    )
    .await;

    // OAuth with the new client ID: a scope outside the manifest's is refused, the manifest's work, and token
    // rotation is on.
    let refused = get(&format!(
        "{}?client_id={client_id}&scope=chat:write,files:write",
        sim.authorize_url()
    ))
    .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    let q = allow(&sim, "U0ALICE001", "chat:write,im:write", "s").await;
    let v = exchange(&sim, &q["code"]).await.json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["app_id"], app_id);
    let token = v["access_token"].as_str().unwrap();
    assert!(
        token.starts_with("xoxe.xoxb-") && v["refresh_token"].is_string(),
        "{v}"
    );
    run_cases(
        &sim,
        &[Case::ok(Form(Some(token)), "auth.test", json!({}))
            .check(|t| assert_eq!(t["user"], "acme-connector"))],
    )
    .await;

    // No secret reaches the simulation's JSON.
    for path in ["/_sim/state", "/_sim/calls"] {
        let text = get(&sim_url(&sim, path)).await.text();
        for secret in [client_secret, signing_secret, config.as_str(), token] {
            assert!(!text.contains(secret), "{path} shows {secret}");
        }
    }
    sim.shutdown().await;
}

/// A test CA, and the certificate of `slack.com` it signed with its key.
struct TestPki {
    /// The CA's certificate (what a client trusts).
    ca: CertificateDer<'static>,
    /// `slack.com`'s certificate.
    leaf: rcgen::Certificate,
    /// `slack.com`'s key.
    key: rcgen::KeyPair,
}

/// A fresh [`TestPki`].
fn test_pki() -> TestPki {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "slack-sim test CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["slack.com".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    TestPki {
        ca: ca.der().clone(),
        leaf,
        key,
    }
}

/// POSTs the form `fields` to `path` over TLS at `addr` (an address pin: `slack.com` is this address), trusting
/// only `roots`, with `Host: host`. `Err` when the handshake (or the exchange) fails.
async fn tls_post(
    addr: SocketAddr,
    roots: &[CertificateDer<'static>],
    host: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> Result<Resp, String> {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("slack.com").unwrap();
    let stream = tokio::time::timeout(Duration::from_secs(10), connector.connect(name, tcp))
        .await
        .map_err(|_| "handshake timeout".to_string())?
        .map_err(|e| format!("handshake: {e}"))?;
    let req = http::Request::post(path)
        .header("host", host)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(encode(fields))))
        .unwrap();
    send_over(stream, req, Duration::from_secs(10)).await
}

#[tokio::test]
async fn tls_serves_the_api_as_slack_com_to_a_client_trusting_the_test_ca() {
    let pki = test_pki();
    let identity = TlsIdentity::from_pem(&pki.leaf.pem(), &pki.key.serialize_pem()).unwrap();
    let sim = slack_sim::start_tls(loopback(), SimConfig::demo(), identity)
        .await
        .unwrap();
    assert_eq!(sim.base_url(), format!("https://{}", sim.addr()));
    assert_eq!(sim.api_url(), format!("https://{}/api/", sim.addr()));
    let roots = [pki.ca.clone()];
    for host in ["slack.com", "slack.com:443"] {
        let r = tls_post(sim.addr(), &roots, host, "/api/api.test", &[("foo", "bar")])
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{host}: {}", r.text());
        assert_eq!(r.json(), json!({"ok": true, "args": {"foo": "bar"}}));
    }
    // The rest of the API and its errors, as over HTTP.
    let r = tls_post(sim.addr(), &roots, "slack.com", "/api/auth.test", &[])
        .await
        .unwrap();
    assert_eq!(r.json()["error"], "not_authed");
    // The `Host` check holds: another name, or the address without its port (443 over TLS), is misdirected.
    for host in ["evil.example", "127.0.0.1"] {
        let r = tls_post(sim.addr(), &roots, host, "/api/api.test", &[])
            .await
            .unwrap();
        assert_eq!(r.status, 421, "{host}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn tls_refuses_a_client_without_the_test_ca_and_plain_http() {
    let pki = test_pki();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key.serialize_der()));
    let identity = TlsIdentity::new(vec![pki.leaf.der().clone()], key);
    let sim = slack_sim::start_tls(loopback(), SimConfig::demo(), identity)
        .await
        .unwrap();
    // No root, or another CA's: the handshake fails.
    let other = test_pki();
    for roots in [vec![], vec![other.ca.clone()]] {
        let r = tls_post(sim.addr(), &roots, "slack.com", "/api/api.test", &[]).await;
        let e = r.expect_err("the handshake must fail");
        assert!(e.starts_with("handshake"), "{e}");
    }
    // Plain HTTP to the TLS port gets no answer.
    let plain = request(
        "GET",
        &format!("http://{}/api/api.test", sim.addr()),
        &[],
        None,
    )
    .await;
    assert!(plain.is_err(), "{plain:?}");
    // The trusted client still gets through.
    let r = tls_post(
        sim.addr(),
        std::slice::from_ref(&pki.ca),
        "slack.com",
        "/api/api.test",
        &[],
    )
    .await;
    assert_eq!(r.unwrap().json()["ok"], true);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_created_app_is_sent_only_the_events_it_subscribes_to() {
    let sim = start_demo().await;
    let mut app = receiver(200, Duration::ZERO).await;
    let mut manifest = connector_manifest("http://127.0.0.1:9/slack/oauth/callback");
    manifest["settings"]["event_subscriptions"] =
        json!({"request_url": app.url, "bot_events": ["app_uninstalled"]});
    let config = sim.app_config_token();
    let created = run_cases(
        &sim,
        &[Case::ok(
            Json(&config),
            "apps.manifest.create",
            json!({"manifest": manifest}),
        )],
    )
    .await
    .remove(0);
    install(&sim, "U0ADMIN001", "chat:write").await;
    assert!(sim.uninstall_app());
    // tokens_revoked would come first: only app_uninstalled comes, signed with the created app's secret.
    let deliveries = sim.wait_for_deliveries(2, Duration::from_millis(500)).await;
    let kinds: Vec<&str> = deliveries.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds, ["event_callback:app_uninstalled"]);
    assert_eq!(deliveries[0].status, Some(200), "{:?}", deliveries[0]);
    let (headers, body) = app.rx.recv().await.unwrap();
    let secret = created["credentials"]["signing_secret"].as_str().unwrap();
    assert!(verify_signature(secret, &headers, &body));
    sim.shutdown().await;
}
