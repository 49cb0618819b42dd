//! "Going live": what a connector's production path meets at Slack, proved against the simulation without the
//! internet: token rotation (the code exchange, refreshes, a spent refresh token, expiry on the simulation's
//! clock), the `x-oauth-scopes` header of `auth.test`, `api.test`, app manifests (`apps.manifest.validate` and
//! `create`, then OAuth with the created app's client ID) and the API served over TLS as `https://slack.com`.

mod util;

use std::time::Duration;

use serde_json::{Value, json};
use slack_sim::SimConfig;
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
