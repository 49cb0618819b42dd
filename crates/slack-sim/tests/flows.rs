//! The simulated Slack's flows over HTTP: OAuth (restricted workspace, expiry, single use, error pages),
//! uninstall and reinstall, signed events, interactivity, and the web view.

mod util;

use std::time::Duration;

use serde_json::{Value, json};
use slack_sim::{ConversationKind, RequestStatus, SimConfig, SimHandle};
use util::Via::{Form, Get, Json};
use util::*;

fn authorize_query(cfg: &slack_sim::StateSnapshot, scope: &str) -> String {
    encode(&[
        ("client_id", &cfg.app.client_id),
        ("scope", scope),
        ("redirect_uri", &cfg.app.redirect_urls[0]),
        ("state", "st-1"),
    ])
}

#[tokio::test]
async fn consent_page_is_accessible_and_complete() {
    let sim = start_demo().await;
    let cfg = sim.state();
    let url = format!(
        "{}?{}",
        sim.authorize_url(),
        authorize_query(&cfg, "chat:write,im:write,users:read.email")
    );
    let r = get_with(&url, &[("cookie", "sim_member=U0ALICE001")]).await;
    assert_eq!(r.status, 200);
    let html = r.text();
    for needle in [
        r#"<html lang="en">"#,
        "LMS Notifications is requesting permission to access the Simulated Workspace Slack workspace",
        "Send messages as @LMS Notifications",
        "Start direct messages with people",
        "View email addresses of people in a workspace",
        r#"<label for="member">Signed in as</label>"#,
        r#"value="U0ALICE001" selected"#,
        r#"value="allow" class="primary" autofocus>Allow</button>"#,
        r#"value="cancel" formnovalidate>Cancel</button>"#,
        r#"name="state" value="st-1""#,
    ] {
        assert!(html.contains(needle), "missing {needle:?} in\n{html}");
    }
    // Deactivated members and bots cannot sign in.
    assert!(!html.contains("U0GONE0001") && !html.contains("U0OTHERBOT"));
    // Sign-in through the simulation sets the cookie.
    let r = post_form(
        &sim_url(&sim, "/_sim/signin"),
        &[("member", "U0BOB00001"), ("return_to", "/_sim/")],
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(
        r.header("set-cookie")
            .unwrap()
            .starts_with("sim_member=U0BOB00001;")
    );
    let r = post_form(
        &sim_url(&sim, "/_sim/signin"),
        &[("member", "U0BOB00001"), ("return_to", "//evil.test/")],
    )
    .await;
    assert_eq!(r.header("location").unwrap(), "/_sim/");
}

#[tokio::test]
async fn authorize_refuses_bad_clients_redirects_and_scopes_with_a_page() {
    let sim = start_demo().await;
    let cfg = sim.state();
    let base = sim.authorize_url();
    let cases = [
        (
            encode(&[("client_id", "nope"), ("scope", "chat:write")]),
            "Invalid client_id parameter",
        ),
        (
            encode(&[
                ("client_id", &cfg.app.client_id),
                ("scope", "chat:write"),
                ("redirect_uri", "http://127.0.0.1:9/evil"),
            ]),
            "redirect_uri did not match any configured URIs",
        ),
        (
            encode(&[
                ("client_id", &cfg.app.client_id),
                ("scope", "chat:write,fly:now"),
            ]),
            "Invalid permissions requested",
        ),
        (
            encode(&[("client_id", &cfg.app.client_id)]),
            "Invalid permissions requested",
        ),
    ];
    for (q, expected) in cases {
        let r = get(&format!("{base}?{q}")).await;
        assert_eq!(r.status, 400, "{q}");
        assert!(r.text().contains(expected), "{q}: {}", r.text());
        // Posting Allow with the same parameters does not redirect either.
        let mut fields: Vec<(String, String)> = query_of(&format!("?{q}")).into_iter().collect();
        fields.push(("action".into(), "allow".into()));
        fields.push(("member".into(), "U0ALICE001".into()));
        let f: Vec<(&str, &str)> = fields
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let r = post_form(&base, &f).await;
        assert_eq!(r.status, 400);
        assert!(r.header("location").is_none());
    }
    // Without a redirect_uri, the app's first Redirect URL is used; without a member, Allow asks who.
    let r = post_form(
        &base,
        &[
            ("client_id", &cfg.app.client_id),
            ("scope", "chat:write"),
            ("action", "allow"),
        ],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Choose who is signed in"));
    let r = post_form(
        &base,
        &[
            ("client_id", &cfg.app.client_id),
            ("scope", "chat:write"),
            ("action", "allow"),
            ("member", "U0ALICE001"),
        ],
    )
    .await;
    assert_eq!(r.status, 302);
    let loc = r.header("location").unwrap();
    assert!(
        loc.starts_with(&format!("{}?code=", cfg.app.redirect_urls[0])),
        "{loc}"
    );
    assert!(!loc.contains("state="));
}

#[tokio::test]
async fn codes_expire_after_ten_minutes_and_work_once() {
    let sim = start_demo().await;
    let q = allow(&sim, "U0ALICE001", "chat:write", "s").await;
    sim.advance_clock(Duration::from_secs(599));
    assert_eq!(exchange(&sim, &q["code"]).await.json()["ok"], true);
    assert_eq!(
        exchange(&sim, &q["code"]).await.json()["error"],
        "invalid_code"
    );
    let q = allow(&sim, "U0ALICE001", "chat:write", "s").await;
    // Through the HTTP clock endpoint this time.
    let r = post_json(&sim_url(&sim, "/_sim/clock"), &json!({"advance_secs": 601})).await;
    assert_eq!(r.json()["ok"], true);
    assert_eq!(
        exchange(&sim, &q["code"]).await.json()["error"],
        "invalid_code"
    );
}

#[tokio::test]
async fn restricted_workspace_request_then_approval() {
    let mut cfg = SimConfig::demo();
    cfg.workspace.restrict_app_installs = true;
    let sim = start_with(cfg).await;
    let st = sim.state();
    let url = format!(
        "{}?{}",
        sim.authorize_url(),
        authorize_query(&st, "chat:write,im:write")
    );
    let alice = [("cookie", "sim_member=U0ALICE001")];
    // Alice is neither admin nor app manager: the request form, no Allow.
    let html = get_with(&url, &alice).await.text();
    assert!(
        html.contains(r#"<label for="message">"#) && html.contains("<textarea"),
        "{html}"
    );
    assert!(html.contains(">Submit</button>"));
    assert!(!html.contains(">Allow</button>"));
    // Allow posted anyway: still the form, no code.
    let mut fields = vec![
        ("client_id", st.app.client_id.as_str()),
        ("scope", "chat:write,im:write"),
        ("redirect_uri", st.app.redirect_urls[0].as_str()),
        ("state", "st-1"),
        ("member", "U0ALICE001"),
        ("action", "allow"),
    ];
    let r = post_form(&sim.authorize_url(), &fields).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<textarea"));
    // Submit the request.
    fields.pop();
    fields.push(("action", "request"));
    fields.push((
        "message",
        "To send the LMS's path and course invitations in Slack",
    ));
    let r = post_form(&sim.authorize_url(), &fields).await;
    assert!(r.text().contains("Request submitted"), "{}", r.text());
    let reqs = sim.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].status, RequestStatus::Pending);
    assert_eq!(
        reqs[0].message,
        "To send the LMS's path and course invitations in Slack"
    );
    // Slackbot confirms.
    let m = sim.messages_for_member("U0ALICE001");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].kind, ConversationKind::Slackbot);
    assert!(
        m[0].message.text.contains("has been sent"),
        "{}",
        m[0].message.text
    );
    // The app managers hear of it.
    assert_eq!(sim.messages_for_member("U0MANAGER1").len(), 1);
    // While pending, the page says so.
    assert!(
        get_with(&url, &alice)
            .await
            .text()
            .contains("waiting for an App Manager")
    );
    // The requests page for a browser, JSON otherwise.
    let page = get_with(&sim_url(&sim, "/_sim/requests"), &[("accept", "text/html")])
        .await
        .text();
    assert!(page.contains(">Approve</button>") && page.contains("To send the LMS"));
    let json_list = get(&sim_url(&sim, "/_sim/requests")).await.json();
    assert_eq!(json_list[0]["status"], "pending");
    // Only an app manager of the requester's workspace decides.
    let approve = format!("/_sim/requests/{}/approve", reqs[0].id);
    let r = post_json(&sim_url(&sim, &approve), &json!({"by": "U0BOB00001"})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("not an app manager"), "{}", r.text());
    assert_eq!(sim.requests()[0].status, RequestStatus::Pending);
    // Approve over HTTP.
    let r = post_json(&sim_url(&sim, &approve), &json!({"by": "U0MANAGER1"})).await;
    assert_eq!(r.json()["ok"], true);
    let m = sim.messages_for_member("U0ALICE001");
    assert_eq!(m.len(), 2);
    assert!(m[1].message.text.contains("approved"));
    // Approving twice fails.
    assert!(sim.approve_request(&reqs[0].id).is_err());
    // Now Allow.
    let html = get_with(&url, &alice).await.text();
    assert!(html.contains(">Allow</button>"));
    let q = allow(&sim, "U0ALICE001", "chat:write,im:write", "s").await;
    assert_eq!(exchange(&sim, &q["code"]).await.json()["ok"], true);
}

#[tokio::test]
async fn restricted_workspace_lets_admins_and_managers_install() {
    let mut cfg = SimConfig::demo();
    cfg.workspace.restrict_app_installs = true;
    let sim = start_with(cfg).await;
    install(&sim, "U0MANAGER1", "chat:write").await;
    install(&sim, "U0ADMIN001", "chat:write").await;
    // Asking for more scopes than approved needs a new request from a member (none approved yet).
    let st = sim.state();
    let url = format!(
        "{}?{}",
        sim.authorize_url(),
        authorize_query(&st, "chat:write")
    );
    assert!(
        get_with(&url, &[("cookie", "sim_member=U0BOB00001")])
            .await
            .text()
            .contains("<textarea")
    );
    // Deny through the handle: Slackbot tells the member.
    let fields = [
        ("client_id", st.app.client_id.as_str()),
        ("scope", "chat:write"),
        ("member", "U0BOB00001"),
        ("action", "request"),
        ("message", "please"),
    ];
    post_form(&sim.authorize_url(), &fields).await;
    let id = sim.requests()[0].id.clone();
    sim.deny_request(&id).unwrap();
    assert!(
        sim.messages_for_member("U0BOB00001")
            .last()
            .unwrap()
            .message
            .text
            .contains("not approved")
    );
}

#[tokio::test]
async fn after_a_request_the_page_links_back_to_the_app_and_a_denial_reaches_the_requester() {
    let mut cfg = SimConfig::demo();
    cfg.workspace.restrict_app_installs = true;
    cfg.app
        .redirect_urls
        .push("https://lms.example:8443/connectors/slack/callback?x=1".into());
    let sim = start_with(cfg).await;
    let st = sim.state();
    let request = |redirect: &'static str| {
        let fields = [
            ("client_id", st.app.client_id.clone()),
            ("scope", "chat:write".into()),
            ("redirect_uri", redirect.into()),
            ("state", "st-1".into()),
            ("member", "U0ALICE001".into()),
            ("action", "request".into()),
            ("message", "for the LMS".into()),
        ];
        let url = sim.authorize_url();
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(&url, &fields).await
        }
    };
    // After Submit: back to the origin of the registered redirect URL the request named, nothing else of it.
    let html = request("https://lms.example:8443/connectors/slack/callback?x=1")
        .await
        .text();
    assert!(html.contains("Request submitted"), "{html}");
    assert!(
        html.contains(r#"<a id="back-to-app" class="button" href="https://lms.example:8443/">Back to lms.example:8443</a>"#),
        "{html}"
    );
    // An unregistered redirect URL is Slack's error page: no request, no link.
    let html = request("https://evil.example/connectors/slack/callback")
        .await
        .text();
    assert!(html.contains("redirect_uri did not match"), "{html}");
    assert!(!html.contains("back-to-app"), "{html}");
    assert_eq!(sim.requests().len(), 1);
    // While the request waits, the install page says so and links back too.
    let url = format!(
        "{}?{}",
        sim.authorize_url(),
        authorize_query(&st, "chat:write")
    );
    let alice = [("cookie", "sim_member=U0ALICE001")];
    let html = get_with(&url, &alice).await.text();
    assert!(html.contains("waiting for an App Manager"), "{html}");
    assert!(
        html.contains(r#"href="http://127.0.0.1:8080/">Back to 127.0.0.1:8080</a>"#),
        "{html}"
    );

    // An app manager denies it from the requests page, with a reason: Slackbot tells the requester who and why.
    let id = sim.requests()[0].id.clone();
    let r = post_form(
        &sim_url(&sim, &format!("/_sim/requests/{id}/deny")),
        &[("reason", "We use *another* tool <!here>")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let denied = &sim.requests()[0];
    assert_eq!(denied.status, RequestStatus::Denied);
    assert_eq!(denied.decided_by.as_deref(), Some("U0MANAGER1"));
    assert_eq!(
        denied.reason.as_deref(),
        Some("We use *another* tool <!here>")
    );
    let last = sim.messages_for_member("U0ALICE001").pop().unwrap();
    assert_eq!(last.kind, ConversationKind::Slackbot);
    assert_eq!(
        last.message.text,
        "Your request to install *LMS Notifications* was not approved by <@U0MANAGER1>.\n\
         >We use *another* tool &lt;!here&gt;\n\
         You can send a new request from the app's install page.",
    );
    // The requests page shows the decision; the install page shows the denial and offers a new request.
    let page = get_with(&sim_url(&sim, "/_sim/requests"), &[("accept", "text/html")])
        .await
        .text();
    assert!(
        page.contains("By Max Manager") && page.contains("“We use *another* tool &lt;!here&gt;”"),
        "{page}"
    );
    let html = get_with(&url, &alice).await.text();
    assert!(
        html.contains(r#"id="denied""#) && html.contains("was not approved"),
        "{html}"
    );
    assert!(
        html.contains("We use *another* tool &lt;!here&gt;"),
        "{html}"
    );
    assert!(
        html.contains("<textarea"),
        "a new request can be sent: {html}"
    );
}

#[tokio::test]
async fn uninstall_hides_and_reinstall_shows_the_same_conversations() {
    let sim = start_demo().await;
    let rx_events = receiver(200, Duration::ZERO).await;
    sim.set_app_urls(Some(rx_events.url.clone()), None);
    let mut rx_events = rx_events;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let first = json!({"channel": "U0ALICE001", "text": "first"});
    let v = call(&sim, Json(&token), "chat.postMessage", &first)
        .await
        .json();
    let dm = v["channel"].as_str().unwrap().to_string();
    // An admin removes the app.
    let r = post_json(&sim_url(&sim, "/_sim/apps/uninstall"), &json!({})).await;
    assert_eq!(r.json()["uninstalled"], true);
    run_cases(
        &sim,
        &[
            Case::err(Form(Some(&token)), "auth.test", json!({}), "token_revoked"),
            Case::err(
                Json(&token),
                "chat.postMessage",
                json!({"channel": dm, "text": "x"}),
                "token_revoked",
            ),
        ],
    )
    .await;
    assert!(sim.conversation(&dm).unwrap().hidden);
    assert!(!sim.installations()[0].active);
    let view = get(&sim_url(&sim, "/_sim/?member=U0ALICE001")).await.text();
    assert!(!view.contains(&dm), "hidden conversation shown");
    // Signed events: tokens_revoked and app_uninstalled.
    let deliveries = sim.wait_for_deliveries(2, Duration::from_secs(10)).await;
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0].kind, "event_callback:tokens_revoked");
    assert_eq!(deliveries[1].kind, "event_callback:app_uninstalled");
    assert!(deliveries.iter().all(|d| d.status == Some(200)));
    let secret = sim.state().app.signing_secret;
    for kind in ["tokens_revoked", "app_uninstalled"] {
        let (headers, body) = tokio::time::timeout(Duration::from_secs(10), rx_events.rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(verify_signature(&secret, &headers, &body), "bad signature");
        assert_eq!(headers.get("content-type").unwrap(), "application/json");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["type"], "event_callback");
        assert_eq!(v["event"]["type"], kind);
        assert_eq!(v["team_id"], "T0SIMTEAM1");
        assert_eq!(v["api_app_id"], "A0SIMAPP001");
        assert!(v["event_id"].as_str().unwrap().starts_with("Ev"));
        if kind == "tokens_revoked" {
            assert_eq!(v["event"]["tokens"]["bot"].as_array().unwrap().len(), 1);
        }
    }
    // Reinstall: a new token, the same DM, its history back.
    let token2 = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    assert_ne!(token2, token);
    assert!(!sim.conversation(&dm).unwrap().hidden);
    assert_eq!(open_dm(&sim, &token2, "U0ALICE001").await, dm);
    let history = json!({"channel": dm});
    let h = call(&sim, Get(&token2), "conversations.history", &history)
        .await
        .json();
    assert_eq!(h["messages"][0]["text"], "first");
    let view = get(&sim_url(&sim, "/_sim/?member=U0ALICE001")).await.text();
    assert!(view.contains(&dm));
    // Uninstalling twice is a no-op.
    assert!(sim.uninstall_app());
    assert!(!sim.uninstall_app());
}

#[tokio::test]
async fn apps_uninstall_and_auth_revoke() {
    let sim = start_demo().await;
    without_rate_limits(&sim);
    let cfg = sim.state();
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let (id, secret) = (cfg.app.client_id.as_str(), cfg.app.client_secret.as_str());
    let client = json!({"client_id": id, "client_secret": secret});
    let uninstall = "apps.uninstall";
    run_cases(
        &sim,
        &[
            Case::err(
                Form(Some(&token)),
                uninstall,
                json!({"client_id": "x", "client_secret": secret}),
                "invalid_client_id",
            ),
            Case::err(
                Form(Some(&token)),
                uninstall,
                json!({"client_id": id, "client_secret": "x"}),
                "bad_client_secret",
            ),
            Case::err(Form(None), uninstall, client.clone(), "not_authed"),
            Case::err(
                Form(Some("xoxb-1")),
                uninstall,
                client.clone(),
                "invalid_auth",
            ),
            Case::ok(Form(Some(&token)), uninstall, client)
                .check(|v| assert_eq!(v, &json!({"ok": true}))),
            Case::err(Form(Some(&token)), "auth.test", json!({}), "token_revoked"),
        ],
    )
    .await;
    // auth.revoke: test mode keeps the token; a real revoke makes it unknown (invalid_auth).
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let form = Form(Some(&token));
    run_cases(
        &sim,
        &[
            Case::ok(form, "auth.revoke", json!({"test": "1"}))
                .check(|v| assert_eq!(v, &json!({"ok": true, "revoked": false}))),
            Case::ok(form, "auth.test", json!({})),
            Case::ok(form, "auth.revoke", json!({}))
                .check(|v| assert_eq!(v, &json!({"ok": true, "revoked": true}))),
            Case::err(form, "auth.test", json!({}), "invalid_auth"),
        ],
    )
    .await;
    // The app stays installed; a new install flow gives a new token.
    assert!(sim.installations()[0].active);
    let token2 = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    assert_ne!(token, token2);
    run_cases(
        &sim,
        &[Case::ok(Form(Some(&token2)), "auth.test", json!({}))],
    )
    .await;
}

#[tokio::test]
async fn events_to_an_unreachable_or_failing_url_are_recorded() {
    let sim = start_demo().await;
    let failing = receiver(500, Duration::ZERO).await;
    sim.set_app_urls(Some(failing.url.clone()), None);
    install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    sim.uninstall_app();
    let d = sim.wait_for_deliveries(2, Duration::from_secs(10)).await;
    assert_eq!(d[0].status, Some(500));
    // Nothing listens there: a connection error is recorded.
    let sim = start_demo().await;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    sim.set_app_urls(Some(format!("http://127.0.0.1:{port}/events")), None);
    install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    sim.uninstall_app();
    let d = sim.wait_for_deliveries(2, Duration::from_secs(10)).await;
    assert_eq!(d.len(), 2);
    assert!(d[0].status.is_none() && d[0].error.is_some());
}

/// Posts a message with buttons (one with a URL, one without an action_id, an accessory); returns its
/// conversation and ts.
async fn post_with_buttons(sim: &SimHandle, token: &str) -> (String, String) {
    let blocks = json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": "Session"}, "accessory": {"type": "button", "action_id": "acc", "text": {"type": "plain_text", "text": "More"}}},
        {"type": "actions", "elements": [
            {"type": "button", "action_id": "open_session", "text": {"type": "plain_text", "text": "Open"}, "url": "https://lms.test/s/1", "value": "s1"},
            {"type": "button", "text": {"type": "plain_text", "text": "No id"}}
        ]}
    ]);
    let params = json!({"channel": "U0ALICE001", "text": "x", "blocks": blocks});
    let v = call(sim, Json(token), "chat.postMessage", &params)
        .await
        .json();
    assert_eq!(v["ok"], true, "{v}");
    (
        v["channel"].as_str().unwrap().to_string(),
        v["ts"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn clicks_send_signed_block_actions_and_record_the_ack() {
    let sim = start_demo().await;
    sim.set_ack_deadline(Duration::from_millis(1500));
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let (dm, ts) = post_with_buttons(&sim, &token).await;
    // No interactivity URL: nothing is sent, and Slack would warn the member.
    let i = sim
        .click("U0ALICE001", &dm, &ts, "open_session")
        .await
        .unwrap();
    assert!(!i.acknowledged && i.delivery.is_none());
    assert_eq!(i.url.as_deref(), Some("https://lms.test/s/1"));
    // A fast app.
    let mut fast = receiver(200, Duration::ZERO).await;
    sim.set_app_urls(None, Some(fast.url.clone()));
    let i = sim
        .click("U0ALICE001", &dm, &ts, "open_session")
        .await
        .unwrap();
    assert!(i.acknowledged, "{i:?}");
    let (headers, body) = fast.rx.recv().await.unwrap();
    assert!(verify_signature(
        &sim.state().app.signing_secret,
        &headers,
        &body
    ));
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    let payload = query_of(&format!("?{body}"))["payload"].clone();
    let p: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(p["type"], "block_actions");
    assert_eq!(p["user"]["id"], "U0ALICE001");
    assert_eq!(p["container"]["channel_id"], dm.as_str());
    assert_eq!(p["container"]["message_ts"], ts.as_str());
    assert_eq!(p["actions"][0]["action_id"], "open_session");
    assert_eq!(p["actions"][0]["value"], "s1");
    assert_eq!(p["actions"][0]["url"], "https://lms.test/s/1");
    assert_eq!(p["api_app_id"], "A0SIMAPP001");
    // Buttons without action_id and accessories can be clicked too (over HTTP this time).
    let r = post_json(
        &sim_url(&sim, "/_sim/click"),
        &json!({"member": "U0ALICE001", "channel": dm, "ts": ts, "action_id": "auto_1_1"}),
    )
    .await;
    assert_eq!(r.json()["acknowledged"], true, "{}", r.text());
    let i = sim.click("U0ALICE001", &dm, &ts, "acc").await.unwrap();
    assert!(i.acknowledged);
    // A slow app: no ack within the deadline.
    let slow = receiver(200, Duration::from_secs(5)).await;
    sim.set_app_urls(None, Some(slow.url.clone()));
    let i = sim
        .click("U0ALICE001", &dm, &ts, "open_session")
        .await
        .unwrap();
    assert!(!i.acknowledged);
    let d = i.delivery.unwrap();
    assert!(d.error.unwrap().contains("no answer within 1500 ms"));
    // An app answering with an error is not an ack.
    let failing = receiver(500, Duration::ZERO).await;
    sim.set_app_urls(None, Some(failing.url.clone()));
    assert!(
        !sim.click("U0ALICE001", &dm, &ts, "open_session")
            .await
            .unwrap()
            .acknowledged
    );
    // Clicks that cannot happen.
    assert!(
        sim.click("U0BOB00001", &dm, &ts, "open_session")
            .await
            .is_err()
    );
    assert!(sim.click("U0ALICE001", &dm, &ts, "nope").await.is_err());
    let r = post_json(
        &sim_url(&sim, "/_sim/click"),
        &json!({"member": "U0ALICE001"}),
    )
    .await;
    assert_eq!(r.status, 400);
    // From the web view (a form): a button with a url opens it.
    sim.set_app_urls(None, Some(fast.url.clone()));
    let click_form = async |action_id: &str| {
        let fields = [
            ("member", "U0ALICE001"),
            ("channel", &dm),
            ("ts", &ts),
            ("action_id", action_id),
        ];
        post_form(&sim_url(&sim, "/_sim/click"), &fields).await
    };
    let r = click_form("open_session").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location").unwrap(), "https://lms.test/s/1");
    let r = click_form("acc").await;
    assert!(r.header("location").unwrap().contains("click=ack"));
    assert_eq!(sim.interactions().len(), 8);
}

#[tokio::test]
async fn web_view_shows_conversations_as_slack_does() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    // 2023-11-14T22:13:20Z: 23:13 in Paris, 07:13 the next day in Tokyo.
    let date = "<!date^1700000000^{date_num} {time}|14 Nov 2023>";
    let blocks = json!([
        {"type": "header", "text": {"type": "plain_text", "text": "New session: R&D <basics>"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Bold* _it_ <https://lms.test/p?a=1&amp;b=2|the path> &lt;tag&gt; {date} <!channel>")}},
        {"type": "image", "image_url": "https://lms.test/cover.png", "alt_text": "Cover of the session"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Starts {time}"}]},
        {"type": "divider"},
        {"type": "actions", "elements": [{"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Open the session"}, "url": "https://lms.test/s/1"}]}
    ]);
    let message = |channel: &str| {
        let params = json!({"channel": channel, "text": "fallback", "blocks": blocks,
            "username": "Acme Learning", "icon_url": "https://lms.test/logo.png"});
        Case::ok(Json(&token), "chat.postMessage", params)
    };
    for member in ["U0ALICE001", "U0CHEN0001"] {
        // To the member, then through conversations.open + D id: the message is in the app DM both times.
        run_cases(&sim, &[message(member)]).await;
        let dm = open_dm(&sim, &token, member).await;
        run_cases(&sim, &[message(&dm)]).await;
    }
    let alice = get(&sim_url(&sim, "/_sim/?member=U0ALICE001")).await.text();
    for needle in [
        "<h2>Direct messages</h2>",
        "<h2>Apps</h2>",
        ">Slackbot</a>",
        ">LMS Notifications</a>",
        "<strong>Acme Learning</strong>",
        r#"<img src="https://lms.test/logo.png" alt="">"#,
        r#"<h3 class="blk-header">New session: R&amp;D &lt;basics&gt;</h3>"#,
        "<strong>Bold</strong> <em>it</em>",
        r#"<a href="https://lms.test/p?a=1&amp;b=2" rel="noopener">the path</a>"#,
        "&lt;tag&gt;",
        // Alice reads Slack in French: 24-hour time.
        r#"<span class="date">2023-11-14 23:13</span>"#,
        r#"<span class="mention broadcast">@channel</span>"#,
        r#"<img class="" src="https://lms.test/cover.png" alt="Cover of the session">"#,
        "<hr>",
        r#"<form method="post" action="/_sim/click" target="_blank">"#,
        "Open the session",
        r#"<html lang="en">"#,
        r#"<label for="member">Viewing as</label>"#,
    ] {
        assert!(alice.contains(needle), "missing {needle:?}");
    }
    assert!(!alice.contains("<basics>") && !alice.contains("<tag>"));
    // Chen reads the same date in Tokyo.
    let chen = get(&sim_url(&sim, "/_sim/?member=U0CHEN0001")).await.text();
    assert!(chen.contains(r#"<span class="date">2023-11-15 7:13 AM</span>"#));
    // The Slackbot conversation, chosen explicitly.
    let slackbot = sim
        .conversations()
        .into_iter()
        .find(|c| c.member_id == "U0ALICE001" && c.kind == ConversationKind::Slackbot)
        .unwrap();
    let path = format!("/_sim/?member=U0ALICE001&conv={}", slackbot.id);
    let view = get(&sim_url(&sim, &path)).await.text();
    assert!(view.contains(r#"aria-current="page">Slackbot</a>"#));
    // Requests page, static icons.
    assert_eq!(
        get(&sim_url(&sim, "/_sim/static/app_48.png")).await.status,
        200
    );
    assert_eq!(get(&sim_url(&sim, "/nowhere")).await.status, 404);
}

#[tokio::test]
async fn auth_revoke_sends_tokens_revoked() {
    let sim = start_demo().await;
    let mut events = receiver(200, Duration::ZERO).await;
    sim.set_app_urls(Some(events.url.clone()), None);
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    run_cases(
        &sim,
        &[Case::ok(Form(Some(&token)), "auth.revoke", json!({}))
            .check(|v| assert_eq!(v["revoked"], true))],
    )
    .await;
    let d = sim.wait_for_deliveries(1, Duration::from_secs(10)).await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].kind, "event_callback:tokens_revoked");
    let (headers, body) = events.rx.recv().await.unwrap();
    assert!(verify_signature(
        &sim.state().app.signing_secret,
        &headers,
        &body
    ));
    // The timestamp is the simulation's clock: an app checking freshness sees a moved clock.
    sim.advance_clock(Duration::from_secs(3600));
    sim.uninstall_app();
    let d = sim.wait_for_deliveries(3, Duration::from_secs(10)).await;
    assert!(d[1].timestamp >= d[0].timestamp + 3600);
}

/// A second workspace: the demo's members with other IDs and addresses, under another team.
fn second_workspace() -> slack_sim::Workspace {
    let mut ws = slack_sim::Workspace::demo();
    ws.team_id = "T0SECOND01".into();
    ws.team_name = "Second Workspace".into();
    ws.domain = "second-workspace".into();
    for m in &mut ws.members {
        m.id = m.id.replacen("U0", "U1", 1);
        m.email = m.email.as_ref().map(|e| format!("second.{e}"));
    }
    ws.app_managers = vec!["U1MANAGER1".into()];
    ws
}

#[tokio::test]
async fn each_workspace_has_its_own_installation_members_conversations_and_limits() {
    let mut cfg = SimConfig::demo();
    cfg.other_workspaces.push(second_workspace());
    // One code exchange a minute: each workspace's install exchanges its own.
    cfg.rate_limits.per_method_per_minute = [
        ("users.lookupByEmail".to_string(), 3),
        ("oauth.v2.access".to_string(), 1),
    ]
    .into();
    let sim = start_with(cfg).await;
    // The member who allows the app decides the workspace it is installed in.
    let first = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let second = install(&sim, "U1ADMIN001", ALL_SCOPES).await;
    assert_ne!(first, second);
    let teams: Vec<String> = sim.installations().into_iter().map(|i| i.team_id).collect();
    assert_eq!(teams, ["T0SIMTEAM1", "T0SECOND01"]);
    for (token, team) in [(&first, "T0SIMTEAM1"), (&second, "T0SECOND01")] {
        let me = call(&sim, Form(Some(token)), "auth.test", &json!({}))
            .await
            .json();
        assert_eq!(me["team_id"], team);
    }
    // Each token sees its own workspace's members, and only them.
    let list = call(&sim, Get(&second), "users.list", &json!({}))
        .await
        .json();
    let ids: Vec<&str> = list["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"U1ALICE001") && !ids.contains(&"U0ALICE001"),
        "{ids:?}"
    );
    assert!(
        list["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["team_id"] == "T0SECOND01")
    );
    run_cases(
        &sim,
        &[
            Case::err(
                Get(&second),
                "users.lookupByEmail",
                json!({"email": "alice@example.com"}),
                "users_not_found",
            ),
            Case::err(
                Get(&second),
                "users.info",
                json!({"user": "U0ALICE001"}),
                "user_not_found",
            ),
            Case::err(
                Form(Some(&second)),
                "conversations.open",
                json!({"users": "U0ALICE001"}),
                "user_not_found",
            ),
            Case::err(
                Json(&second),
                "chat.postMessage",
                json!({"channel": "U0ALICE001", "text": "x"}),
                "channel_not_found",
            ),
        ],
    )
    .await;
    let found = call(
        &sim,
        Get(&second),
        "users.lookupByEmail",
        &json!({"email": "second.alice@example.com"}),
    )
    .await
    .json();
    assert_eq!(found["user"]["id"], "U1ALICE001");
    // A DM of one workspace is unknown to the other's token.
    let dm = open_dm(&sim, &first, "U0ALICE001").await;
    let post = json!({"channel": dm, "text": "hello"});
    let refused = call(&sim, Json(&second), "chat.postMessage", &post)
        .await
        .json();
    assert_eq!(refused["error"], "channel_not_found");
    let posted = call(&sim, Json(&first), "chat.postMessage", &post)
        .await
        .json();
    assert_eq!(posted["message"]["team"], "T0SIMTEAM1");
    // Limits are per workspace: three lookups a minute each. The second workspace spent two above; the first spends
    // its three, and its fourth is refused while the second workspace's third goes through.
    let lookup = json!({"email": "bob.smith@example.com"});
    for _ in 0..3 {
        let ok = call(&sim, Get(&first), "users.lookupByEmail", &lookup).await;
        assert_eq!(ok.json()["ok"], true);
    }
    let limited = call(&sim, Get(&first), "users.lookupByEmail", &lookup).await;
    assert_eq!(limited.status, 429);
    let other = json!({"email": "second.chen@example.com"});
    let other = call(&sim, Get(&second), "users.lookupByEmail", &other).await;
    assert_eq!(
        other.json()["ok"],
        true,
        "the second workspace has its own limit"
    );
    // Removing the app from one workspace leaves the other's installation working.
    let r = post_json(
        &sim_url(&sim, "/_sim/apps/uninstall"),
        &json!({"team": "T0SECOND01"}),
    )
    .await;
    assert_eq!(r.json()["uninstalled"], true);
    let gone = call(&sim, Form(Some(&second)), "auth.test", &json!({}))
        .await
        .json();
    assert_eq!(gone["error"], "token_revoked");
    let still = call(&sim, Form(Some(&first)), "auth.test", &json!({}))
        .await
        .json();
    assert_eq!(still["ok"], true);
}

#[test]
fn a_member_id_in_two_workspaces_is_refused() {
    let mut cfg = SimConfig::demo();
    let mut twin = second_workspace();
    twin.members[0].id = "U0ADMIN001".into();
    cfg.other_workspaces.push(twin);
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains("U0ADMIN001 is in two workspaces"), "{err}");
}
