//! The simulated Slack's Web API methods over HTTP: each method's success and errors.

mod slack_sim_util;

use host_harness::slack_sim::{ConversationKind, SLACKBOT_ID};
use serde_json::{Value, json};
use slack_sim_util::*;

#[tokio::test]
async fn oauth_allow_then_exchange_gives_a_v2_bot_token() {
    let sim = start_demo().await;
    let q = allow(&sim, "U0ALICE001", "chat:write,im:write", "xyz").await;
    assert_eq!(q["state"], "xyz");
    let r = exchange(&sim, &q["code"]).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let v = r.json();
    assert_eq!(v["ok"], true);
    assert!(v["access_token"].as_str().unwrap().starts_with("xoxb-"));
    assert_eq!(v["token_type"], "bot");
    assert_eq!(v["scope"], "chat:write,im:write");
    assert_eq!(v["app_id"], "A0SIMAPP001");
    assert_eq!(
        v["team"],
        json!({"id": "T0SIMTEAM1", "name": "Simulated Workspace"})
    );
    assert_eq!(v["enterprise"], Value::Null);
    assert_eq!(v["is_enterprise_install"], false);
    assert_eq!(v["authed_user"]["id"], "U0ALICE001");
    assert!(v["bot_user_id"].as_str().unwrap().starts_with('U'));

    // auth.test with the token, as a form field and as a Bearer header.
    let token = v["access_token"].as_str().unwrap();
    for r in [
        api_form(&sim, "auth.test", Some(token), &[]).await,
        api_get(&sim, "auth.test", token, &[]).await,
    ] {
        let t = r.json();
        assert_eq!(t["ok"], true, "{t}");
        assert_eq!(t["url"], "https://sim-workspace.slack.com/");
        assert_eq!(t["team"], "Simulated Workspace");
        assert_eq!(t["team_id"], "T0SIMTEAM1");
        assert_eq!(t["user_id"], v["bot_user_id"]);
        assert_eq!(t["user"], "lms-notifications");
        assert!(t["bot_id"].as_str().unwrap().starts_with('B'));
        assert_eq!(t["is_enterprise_install"], false);
    }
    // Client credentials as form fields work too.
    let q = allow(&sim, "U0ALICE001", "chat:write,im:write", "again").await;
    let cfg = sim.state();
    let r = api_form(
        &sim,
        "oauth.v2.access",
        None,
        &[
            ("client_id", &cfg.app.client_id),
            ("client_secret", &cfg.app.client_secret),
            ("code", &q["code"]),
        ],
    )
    .await;
    let v2 = r.json();
    assert_eq!(v2["ok"], true, "{v2}");
    // Reinstalling while installed keeps the same bot token.
    assert_eq!(v2["access_token"], v["access_token"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn oauth_cancel_redirects_with_access_denied() {
    let sim = start_demo().await;
    let cfg = sim.state();
    let r = post_form(
        &sim.authorize_url(),
        &[],
        &[
            ("client_id", &cfg.app.client_id),
            ("scope", "chat:write"),
            ("redirect_uri", &cfg.app.redirect_urls[0]),
            ("state", "s1"),
            ("action", "cancel"),
        ],
    )
    .await;
    assert_eq!(r.status, 302);
    let q = query_of(&r.header("location").unwrap());
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "s1");
    assert!(sim.installations().is_empty());
}

#[tokio::test]
async fn oauth_access_errors() {
    let sim = start_demo().await;
    let cfg = sim.state();
    let url = format!("{}oauth.v2.access", sim.api_url());
    let err = |r: Resp| r.json()["error"].as_str().unwrap_or("").to_string();
    let q = allow(&sim, "U0ALICE001", "chat:write", "s").await;
    let code = q["code"].clone();
    let (id, secret) = (cfg.app.client_id.as_str(), cfg.app.client_secret.as_str());
    assert_eq!(
        err(post_form(
            &url,
            &[],
            &[
                ("client_id", "nope"),
                ("client_secret", secret),
                ("code", &code)
            ]
        )
        .await),
        "invalid_client_id"
    );
    assert_eq!(
        err(post_form(&url, &[], &[("client_secret", secret), ("code", &code)]).await),
        "invalid_client_id"
    );
    assert_eq!(
        err(post_form(
            &url,
            &[],
            &[("client_id", id), ("client_secret", "bad"), ("code", &code)]
        )
        .await),
        "bad_client_secret"
    );
    assert_eq!(
        err(post_form(
            &url,
            &[],
            &[
                ("client_id", id),
                ("client_secret", secret),
                ("code", "123.456.abc")
            ]
        )
        .await),
        "invalid_code"
    );
    assert_eq!(
        err(post_form(&url, &[], &[("client_id", id), ("client_secret", secret)]).await),
        "invalid_code"
    );
    assert_eq!(
        err(post_form(
            &url,
            &[],
            &[
                ("client_id", id),
                ("client_secret", secret),
                ("code", &code),
                ("grant_type", "password")
            ]
        )
        .await),
        "invalid_grant_type"
    );
    assert_eq!(
        err(post_form(
            &url,
            &[],
            &[
                ("client_id", id),
                ("client_secret", secret),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:1/other")
            ]
        )
        .await),
        "bad_redirect_uri"
    );
    // The failures above did not use the code up.
    let ok = post_form(
        &url,
        &[],
        &[
            ("client_id", id),
            ("client_secret", secret),
            ("code", &code),
        ],
    )
    .await
    .json();
    assert_eq!(ok["ok"], true, "{ok}");
    // Single use.
    assert_eq!(
        err(post_form(
            &url,
            &[],
            &[
                ("client_id", id),
                ("client_secret", secret),
                ("code", &code)
            ]
        )
        .await),
        "invalid_code"
    );
    for r in sim.api_calls() {
        assert_eq!(r.status, 200);
        if let Some(Value::String(s)) = r.params.get("client_secret") {
            assert!(s.ends_with('…') && s.len() < 10, "secret not redacted: {s}");
        }
    }
}

#[tokio::test]
async fn auth_errors() {
    let sim = start_demo().await;
    let e = |v: Value| v["error"].as_str().unwrap().to_string();
    assert_eq!(
        e(api_form(&sim, "auth.test", None, &[]).await.json()),
        "not_authed"
    );
    assert_eq!(
        e(api_form(&sim, "auth.test", Some("xoxb-1-2-nope"), &[])
            .await
            .json()),
        "invalid_auth"
    );
    assert_eq!(
        e(api_get(&sim, "auth.test", "garbage", &[]).await.json()),
        "invalid_auth"
    );
    // A token inside a JSON body is not read (Slack wants the Authorization header with JSON).
    let token = install(&sim, "U0ALICE001", ALL_SCOPES).await;
    let r = post_json(
        &format!("{}auth.test", sim.api_url()),
        &[],
        &json!({"token": token}),
    )
    .await;
    assert_eq!(e(r.json()), "not_authed");
    // JSON without a charset gets Slack's missing_charset warning.
    let auth = format!("Bearer {token}");
    let r = request(
        "POST",
        &format!("{}auth.test", sim.api_url()),
        &[("authorization", &auth)],
        Some(("application/json", b"{}".to_vec())),
    )
    .await
    .unwrap();
    let v = r.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["warning"], "missing_charset");
    assert_eq!(
        v["response_metadata"]["warnings"],
        json!(["missing_charset"])
    );
    // Unknown methods.
    let v = api_get(&sim, "chat.fly", &token, &[]).await.json();
    assert_eq!(v, json!({"ok": false, "error": "unknown_method"}));
    // Posting without a content type, or with one Slack does not take.
    let r = request(
        "POST",
        &format!("{}auth.test", sim.api_url()),
        &[("authorization", &auth)],
        Some(("text/plain", b"x".to_vec())),
    )
    .await
    .unwrap();
    assert_eq!(e(r.json()), "invalid_post_type");
}

#[tokio::test]
async fn users_lookup_by_email() {
    let sim = start_demo().await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    // Case-insensitive.
    let v = api_get(
        &sim,
        "users.lookupByEmail",
        &token,
        &[("email", "bob.smith@example.COM")],
    )
    .await
    .json();
    assert_eq!(v["ok"], true, "{v}");
    let u = &v["user"];
    assert_eq!(u["id"], "U0BOB00001");
    assert_eq!(u["team_id"], "T0SIMTEAM1");
    assert_eq!(u["deleted"], false);
    assert_eq!(u["tz"], "America/New_York");
    assert!(
        u["tz_offset"].as_i64().unwrap() == -18000 || u["tz_offset"].as_i64().unwrap() == -14400
    );
    assert!(u["tz_label"].as_str().unwrap().starts_with("Eastern"));
    assert_eq!(u["profile"]["email"], "Bob.Smith@Example.com");
    assert_eq!(u["profile"]["real_name"], "Bob Smith");
    assert!(
        u["profile"]["image_72"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    // Deleted members are found, marked deleted.
    let v = api_form(
        &sim,
        "users.lookupByEmail",
        Some(&token),
        &[("email", "gone@example.com")],
    )
    .await
    .json();
    assert_eq!(v["user"]["deleted"], true);
    // Unknown.
    let v = api_get(
        &sim,
        "users.lookupByEmail",
        &token,
        &[("email", "nobody@example.com")],
    )
    .await
    .json();
    assert_eq!(v, json!({"ok": false, "error": "users_not_found"}));
    // Missing e-mail.
    let v = api_get(&sim, "users.lookupByEmail", &token, &[])
        .await
        .json();
    assert_eq!(v["error"], "invalid_arguments");
    assert_eq!(
        v["response_metadata"]["messages"][0],
        "[ERROR] missing required field: email"
    );
    // Scope.
    let sim2 = start_demo().await;
    let t2 = install(&sim2, "U0ADMIN001", "chat:write,im:write,users:read").await;
    let v = api_get(
        &sim2,
        "users.lookupByEmail",
        &t2,
        &[("email", "bob.smith@example.com")],
    )
    .await
    .json();
    assert_eq!(v["error"], "missing_scope");
    assert_eq!(v["needed"], "users:read.email");
    assert_eq!(v["provided"], "chat:write,im:write,users:read");
}

#[tokio::test]
async fn users_list_pages_through_everyone() {
    let sim = start_demo().await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let mut cursor = String::new();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let mut q = vec![("limit", "3")];
        if !cursor.is_empty() {
            q.push(("cursor", &cursor));
        }
        let v = api_get(&sim, "users.list", &token, &q).await.json();
        assert_eq!(v["ok"], true, "{v}");
        assert!(v["cache_ts"].is_i64());
        let members = v["members"].as_array().unwrap();
        assert!(members.len() <= 3);
        ids.extend(
            members
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string()),
        );
        cursor = v["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_string();
        pages += 1;
        if cursor.is_empty() {
            break;
        }
        assert!(pages < 10);
    }
    // Slackbot + 7 members + the app's bot.
    assert_eq!(ids.len(), 9, "{ids:?}");
    assert_eq!(ids[0], SLACKBOT_ID);
    assert!(ids.contains(&"U0GONE0001".to_string()));
    assert!(ids.contains(&"U0OTHERBOT".to_string()));
    // All in one page without limit.
    let v = api_get(&sim, "users.list", &token, &[]).await.json();
    assert_eq!(v["members"].as_array().unwrap().len(), 9);
    assert_eq!(v["response_metadata"]["next_cursor"], "");
    let bot = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "U0OTHERBOT")
        .unwrap();
    assert_eq!(bot["is_bot"], true);
    // Bad cursor, bad limit.
    let v = api_get(&sim, "users.list", &token, &[("cursor", "bm9wZQ==")])
        .await
        .json();
    assert_eq!(v["error"], "invalid_cursor");
    let v = api_get(&sim, "users.list", &token, &[("limit", "ten")])
        .await
        .json();
    assert_eq!(v["error"], "invalid_arguments");
    // Without users:read.email the e-mail is not shown; without users:read the method is refused.
    let sim2 = start_demo().await;
    let t2 = install(&sim2, "U0ADMIN001", "users:read").await;
    let v = api_get(&sim2, "users.list", &t2, &[]).await.json();
    assert!(
        v["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["profile"].get("email").is_none())
    );
    let t3 = install(&sim2, "U0ADMIN001", "users:read").await;
    assert_eq!(t2, t3);
    let sim3 = start_demo().await;
    let t4 = install(&sim3, "U0ADMIN001", "chat:write").await;
    let v = api_get(&sim3, "users.list", &t4, &[]).await.json();
    assert_eq!(v["error"], "missing_scope");
    assert_eq!(v["needed"], "users:read");
}

#[tokio::test]
async fn users_list_may_return_fewer_than_asked() {
    let mut cfg = host_harness::slack_sim::SimConfig::demo();
    cfg.users_list_max_page = 2;
    let sim = start_with(cfg).await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let v = api_get(&sim, "users.list", &token, &[("limit", "200")])
        .await
        .json();
    assert_eq!(v["members"].as_array().unwrap().len(), 2);
    assert_ne!(v["response_metadata"]["next_cursor"], "");
}

#[tokio::test]
async fn users_info() {
    let sim = start_demo().await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let v = api_get(&sim, "users.info", &token, &[("user", "U0CHEN0001")])
        .await
        .json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["user"]["tz"], "Asia/Tokyo");
    assert_eq!(v["user"]["tz_offset"], 32400);
    let v = api_get(&sim, "users.info", &token, &[("user", "U0NOBODY01")])
        .await
        .json();
    assert_eq!(v["error"], "user_not_found");
    let v = api_get(&sim, "users.info", &token, &[]).await.json();
    assert_eq!(v["error"], "user_not_found");
}

#[tokio::test]
async fn conversations_open_gives_the_same_dm_every_time() {
    let sim = start_demo().await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let v = api_form(
        &sim,
        "conversations.open",
        Some(&token),
        &[("users", "U0ALICE001")],
    )
    .await
    .json();
    assert_eq!(v["ok"], true, "{v}");
    let id = v["channel"]["id"].as_str().unwrap().to_string();
    assert!(id.starts_with('D') && id.len() >= 9, "{id}");
    assert_eq!(v["channel"].as_object().unwrap().len(), 1);
    // Again, by JSON with a Bearer token: same id, already open.
    let v = api_json(
        &sim,
        "conversations.open",
        &token,
        &json!({"users": "U0ALICE001", "return_im": true}),
    )
    .await
    .json();
    assert_eq!(v["channel"]["id"], id.as_str());
    assert_eq!(v["already_open"], true);
    assert_eq!(v["channel"]["is_im"], true);
    assert_eq!(v["channel"]["user"], "U0ALICE001");
    // By channel.
    let v = api_form(
        &sim,
        "conversations.open",
        Some(&token),
        &[("channel", &id)],
    )
    .await
    .json();
    assert_eq!(v["channel"]["id"], id.as_str());
    // Another user, another DM.
    let v = api_form(
        &sim,
        "conversations.open",
        Some(&token),
        &[("users", "U0BOB00001")],
    )
    .await
    .json();
    assert_ne!(v["channel"]["id"], id.as_str());
    // Errors.
    let e = |v: Value| v["error"].as_str().unwrap().to_string();
    assert_eq!(
        e(api_form(
            &sim,
            "conversations.open",
            Some(&token),
            &[("users", "U0NOBODY01")]
        )
        .await
        .json()),
        "user_not_found"
    );
    assert_eq!(
        e(api_form(
            &sim,
            "conversations.open",
            Some(&token),
            &[("users", "U0GONE0001")]
        )
        .await
        .json()),
        "user_disabled"
    );
    assert_eq!(
        e(api_form(
            &sim,
            "conversations.open",
            Some(&token),
            &[("channel", "D0NOPE0000")]
        )
        .await
        .json()),
        "channel_not_found"
    );
    assert_eq!(
        e(api_form(&sim, "conversations.open", Some(&token), &[])
            .await
            .json()),
        "users_list_not_supplied"
    );
    assert_eq!(
        e(
            api_form(&sim, "conversations.open", None, &[("users", "U0ALICE001")])
                .await
                .json()
        ),
        "not_authed"
    );
    let sim2 = start_demo().await;
    let t2 = install(&sim2, "U0ADMIN001", "chat:write").await;
    let v = api_form(
        &sim2,
        "conversations.open",
        Some(&t2),
        &[("users", "U0ALICE001")],
    )
    .await
    .json();
    assert_eq!(v["error"], "missing_scope");
    assert_eq!(v["needed"], "im:write");
    // Inspection shows the conversations.
    let convs = get(&format!(
        "{}/_sim/conversations?member=U0ALICE001",
        sim.base_url()
    ))
    .await
    .json();
    assert_eq!(convs.as_array().unwrap().len(), 1);
    assert_eq!(convs[0]["id"], id.as_str());
    assert_eq!(convs[0]["kind"], "app_dm");
}

#[tokio::test]
async fn chat_post_message_lands_where_slack_puts_it() {
    let sim = start_demo().await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let dm = api_form(
        &sim,
        "conversations.open",
        Some(&token),
        &[("users", "U0ALICE001")],
    )
    .await
    .json()["channel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // To the D id, with a custom name and icon: in the app DM.
    let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*Hello*"}}]);
    let v = api_form(
        &sim,
        "chat.postMessage",
        Some(&token),
        &[
            ("channel", &dm),
            ("text", "Hello"),
            ("blocks", &blocks.to_string()),
            ("username", "Acme Learning"),
            ("icon_url", "https://x.test/logo.png"),
        ],
    )
    .await
    .json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["channel"], dm.as_str());
    let ts1 = v["ts"].as_str().unwrap().to_string();
    assert_eq!(ts1.len(), 17);
    assert_eq!(v["message"]["text"], "Hello");
    assert_eq!(v["message"]["username"], "Acme Learning");
    assert_eq!(v["message"]["blocks"], blocks);
    // To the U id without customisation: the same app DM.
    let v = api_json(
        &sim,
        "chat.postMessage",
        &token,
        &json!({"channel": "U0ALICE001", "text": "plain", "blocks": blocks}),
    )
    .await
    .json();
    assert_eq!(v["channel"], dm.as_str());
    let ts2 = v["ts"].as_str().unwrap().to_string();
    assert!(ts2 > ts1);
    // To the U id with a custom username: Slackbot's conversation, not the app's.
    let v = api_json(
        &sim,
        "chat.postMessage",
        &token,
        &json!({"channel": "U0ALICE001", "text": "lost", "username": "Acme"}),
    )
    .await
    .json();
    assert_eq!(v["ok"], true);
    assert_ne!(v["channel"], dm.as_str());
    let msgs = sim.messages_for_member("U0ALICE001");
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[2].kind, ConversationKind::Slackbot);
    assert_eq!(msgs[2].message.text, "lost");
    assert_eq!(msgs[0].kind, ConversationKind::AppDm);
    assert_eq!(
        msgs[0].message.icon_url.as_deref(),
        Some("https://x.test/logo.png")
    );
    // Errors.
    let e = |v: Value| v["error"].as_str().unwrap_or("").to_string();
    assert_eq!(
        e(
            api_form(&sim, "chat.postMessage", Some(&token), &[("channel", &dm)])
                .await
                .json()
        ),
        "no_text"
    );
    assert_eq!(
        e(
            api_form(&sim, "chat.postMessage", Some(&token), &[("text", "x")])
                .await
                .json()
        ),
        "channel_not_found"
    );
    assert_eq!(
        e(api_form(
            &sim,
            "chat.postMessage",
            Some(&token),
            &[("channel", "D0NOPE0000"), ("text", "x")]
        )
        .await
        .json()),
        "channel_not_found"
    );
    assert_eq!(
        e(api_form(
            &sim,
            "chat.postMessage",
            Some(&token),
            &[("channel", "U0NOBODY01"), ("text", "x")]
        )
        .await
        .json()),
        "channel_not_found"
    );
    assert_eq!(
        e(api_form(
            &sim,
            "chat.postMessage",
            Some(&token),
            &[("channel", &dm), ("blocks", "[{")]
        )
        .await
        .json()),
        "invalid_blocks_format"
    );
    let long = json!([{"type": "header", "text": {"type": "plain_text", "text": "x".repeat(151)}}]);
    let v = api_json(
        &sim,
        "chat.postMessage",
        &token,
        &json!({"channel": dm, "blocks": long}),
    )
    .await
    .json();
    assert_eq!(v["error"], "invalid_blocks");
    assert_eq!(
        v["response_metadata"]["messages"],
        json!(["[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text]"])
    );
    // The Messages tab.
    sim.set_messages_tab(false);
    assert_eq!(
        e(api_form(
            &sim,
            "chat.postMessage",
            Some(&token),
            &[("channel", &dm), ("text", "x")]
        )
        .await
        .json()),
        "messages_tab_disabled"
    );
    assert_eq!(
        e(api_form(
            &sim,
            "chat.postMessage",
            Some(&token),
            &[("channel", "U0ALICE001"), ("text", "x")]
        )
        .await
        .json()),
        "messages_tab_disabled"
    );
    sim.set_messages_tab(true);
    // Scopes.
    let sim2 = start_demo().await;
    let t2 = install(&sim2, "U0ADMIN001", "chat:write,im:write").await;
    let v = api_form(
        &sim2,
        "chat.postMessage",
        Some(&t2),
        &[
            ("channel", "U0ALICE001"),
            ("text", "x"),
            ("icon_emoji", ":tada:"),
        ],
    )
    .await
    .json();
    assert_eq!(v["error"], "missing_scope");
    assert_eq!(v["needed"], "chat:write.customize");
    let t3 = install(&sim2, "U0ADMIN001", "users:read").await;
    // A reinstall adds scopes; the token stays.
    assert_eq!(t2, t3);
    let sim3 = start_demo().await;
    let t4 = install(&sim3, "U0ADMIN001", "users:read").await;
    let v = api_form(
        &sim3,
        "chat.postMessage",
        Some(&t4),
        &[("channel", "U0ALICE001"), ("text", "x")],
    )
    .await
    .json();
    assert_eq!(v["needed"], "chat:write");
}

#[tokio::test]
async fn ts_are_unique_and_increasing() {
    let sim = start_demo().await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let mut last = String::new();
    for i in 0..20 {
        let v = api_json(
            &sim,
            "chat.postMessage",
            &token,
            &json!({"channel": "U0BOB00001", "text": format!("m{i}")}),
        )
        .await
        .json();
        let ts = v["ts"].as_str().unwrap().to_string();
        assert!(ts > last, "{ts} after {last}");
        last = ts;
    }
}

#[tokio::test]
async fn history_returns_metadata_and_pages() {
    let sim = start_demo().await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let md = json!({"event_type": "lms_notification", "event_payload": {"notification_id": "n1", "recipient": "u1"}});
    let v = api_form(
        &sim,
        "chat.postMessage",
        Some(&token),
        &[
            ("channel", "U0ALICE001"),
            ("text", "one"),
            ("metadata", &md.to_string()),
        ],
    )
    .await
    .json();
    assert_eq!(v["ok"], true, "{v}");
    let dm = v["channel"].as_str().unwrap().to_string();
    for t in ["two", "three"] {
        api_json(
            &sim,
            "chat.postMessage",
            &token,
            &json!({"channel": dm, "text": t, "metadata": md}),
        )
        .await;
    }
    let v = api_get(
        &sim,
        "conversations.history",
        &token,
        &[("channel", &dm), ("include_all_metadata", "true")],
    )
    .await
    .json();
    assert_eq!(v["ok"], true, "{v}");
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[0]["text"], "three");
    assert_eq!(msgs[2]["metadata"], md);
    assert_eq!(v["has_more"], false);
    // Without include_all_metadata there is no metadata.
    let v = api_get(&sim, "conversations.history", &token, &[("channel", &dm)])
        .await
        .json();
    assert!(v["messages"][0].get("metadata").is_none());
    // Paging.
    let v = api_get(
        &sim,
        "conversations.history",
        &token,
        &[("channel", &dm), ("limit", "2")],
    )
    .await
    .json();
    assert_eq!(v["messages"].as_array().unwrap().len(), 2);
    assert_eq!(v["has_more"], true);
    let cur = v["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let v = api_get(
        &sim,
        "conversations.history",
        &token,
        &[("channel", &dm), ("limit", "2"), ("cursor", &cur)],
    )
    .await
    .json();
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
    assert_eq!(v["messages"][0]["text"], "one");
    // oldest/latest.
    let ts_two = sim.conversation(&dm).unwrap().messages[1].ts.clone();
    let v = api_get(
        &sim,
        "conversations.history",
        &token,
        &[("channel", &dm), ("oldest", &ts_two)],
    )
    .await
    .json();
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
    let v = api_get(
        &sim,
        "conversations.history",
        &token,
        &[("channel", &dm), ("oldest", &ts_two), ("inclusive", "true")],
    )
    .await
    .json();
    assert_eq!(v["messages"].as_array().unwrap().len(), 2);
    // Errors.
    let e = |v: Value| v["error"].as_str().unwrap_or("").to_string();
    assert_eq!(
        e(api_get(
            &sim,
            "conversations.history",
            &token,
            &[("channel", "D0NOPE0000")]
        )
        .await
        .json()),
        "channel_not_found"
    );
    assert_eq!(
        e(api_get(
            &sim,
            "conversations.history",
            &token,
            &[("channel", &dm), ("latest", "abc")]
        )
        .await
        .json()),
        "invalid_ts_latest"
    );
    assert_eq!(
        e(api_get(
            &sim,
            "conversations.history",
            &token,
            &[("channel", &dm), ("cursor", "zzz")]
        )
        .await
        .json()),
        "invalid_cursor"
    );
    let bad_md = api_json(
        &sim,
        "chat.postMessage",
        &token,
        &json!({"channel": dm, "text": "x", "metadata": {"event_type": "x"}}),
    )
    .await
    .json();
    assert_eq!(bad_md["error"], "invalid_metadata_format");
    let sim2 = start_demo().await;
    let t2 = install(&sim2, "U0ADMIN001", "chat:write,im:write").await;
    let v = api_form(
        &sim2,
        "chat.postMessage",
        Some(&t2),
        &[("channel", "U0ALICE001"), ("text", "x")],
    )
    .await
    .json();
    let v = api_get(
        &sim2,
        "conversations.history",
        &t2,
        &[("channel", v["channel"].as_str().unwrap())],
    )
    .await
    .json();
    assert_eq!(v["error"], "missing_scope");
    assert_eq!(v["needed"], "im:history");
}

#[tokio::test]
async fn inspection_records_calls_with_tokens_redacted() {
    let sim = start_demo().await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    api_form(&sim, "auth.test", Some(&token), &[]).await;
    let calls = get(&format!("{}/_sim/calls", sim.base_url())).await.json();
    let last = calls.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["method"], "auth.test");
    assert_eq!(last["status"], 200);
    assert_eq!(last["auth"], "param");
    assert_eq!(last["params"]["token"], "xoxb-…");
    assert_eq!(last["response"]["ok"], true);
    assert!(!calls.to_string().contains(&token));
    let state = get(&format!("{}/_sim/state", sim.base_url())).await.json();
    assert_eq!(state["installations"][0]["active"], true);
    assert_eq!(state["workspace"]["team_id"], "T0SIMTEAM1");
    let inst = get(&format!("{}/_sim/installations", sim.base_url()))
        .await
        .json();
    assert_eq!(inst[0]["installed_by"], "U0ADMIN001");
}

#[tokio::test]
async fn seed_files_load_and_are_checked() {
    use host_harness::slack_sim::{SimConfig, Workspace};
    let dir = std::env::temp_dir().join(format!("slack_sim_seed_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A workspace alone.
    let ws = json!({
        "team_id": "T0SEED0001", "team_name": "Seed", "domain": "seed",
        "members": [{"id": "U0SEED0001", "name": "sam", "real_name": "Sam Seed", "email": "sam@seed.test", "tz": "Europe/Berlin"}]
    });
    let p = dir.join("ws.json");
    std::fs::write(&p, ws.to_string()).unwrap();
    let w = Workspace::from_file(&p).unwrap();
    assert_eq!(w.members[0].tz, "Europe/Berlin");
    assert!(!w.restrict_app_installs && !w.members[0].deleted);
    // With an app and rate limits.
    let full = json!({"workspace": ws, "app": {
        "app_id": "A0SEEDAPP1", "name": "Seed App", "client_id": "c", "client_secret": "s", "signing_secret": "k",
        "redirect_urls": ["http://127.0.0.1:1/cb"]}, "rate_limits": {"enabled": true, "time_scale": 60.0}});
    let p2 = dir.join("full.json");
    std::fs::write(&p2, full.to_string()).unwrap();
    let cfg = SimConfig::from_file(&p2).unwrap();
    assert_eq!(cfg.app.name, "Seed App");
    assert!(cfg.app.messages_tab_enabled);
    assert!(cfg.rate_limits.enabled && cfg.rate_limits.time_scale == 60.0);
    let sim = start_with(cfg).await;
    let token = install(&sim, "U0SEED0001", ALL_SCOPES).await;
    let v = api_get(
        &sim,
        "users.lookupByEmail",
        &token,
        &[("email", "SAM@seed.test")],
    )
    .await
    .json();
    assert_eq!(v["user"]["tz"], "Europe/Berlin");
    // Bad seeds are refused with a reason.
    for (bad, why) in [
        (
            json!({"team_id": "X1", "team_name": "a", "domain": "a", "members": []}),
            "team_id",
        ),
        (
            json!({"team_id": "T0SEED0001", "team_name": "a", "domain": "a", "members": [{"id": "U1", "name": "a", "real_name": "a"}]}),
            "member id",
        ),
        (
            json!({"team_id": "T0SEED0001", "team_name": "a", "domain": "a", "members": [{"id": "U0SEED0001", "name": "a", "real_name": "a", "tz": "Mars/Base"}]}),
            "time zone",
        ),
        (
            json!({"team_id": "T0SEED0001", "team_name": "a", "domain": "a", "members": [], "app_managers": ["U0NOBODY01"]}),
            "app manager",
        ),
    ] {
        std::fs::write(&p, bad.to_string()).unwrap();
        let e = Workspace::from_file(&p).unwrap_err().to_string();
        assert!(e.contains(why), "{e}");
    }
    assert!(Workspace::from_file(dir.join("missing.json")).is_err());
    std::fs::remove_dir_all(&dir).ok();
}
