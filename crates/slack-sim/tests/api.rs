//! The simulated Slack's Web API methods over HTTP: each method's success and errors, as tables of calls.

mod util;

use serde_json::{Value, json};
use slack_sim::{ConversationKind, SLACKBOT_ID};
use util::Via::{Form, Get, Json};
use util::*;

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
    let auth_test = |t: &Value| {
        assert_eq!(t["url"], "https://sim-workspace.slack.com/");
        assert_eq!(t["team"], "Simulated Workspace");
        assert_eq!(t["team_id"], "T0SIMTEAM1");
        assert_eq!(t["user_id"], v["bot_user_id"]);
        assert_eq!(t["user"], "lms-notifications");
        assert!(t["bot_id"].as_str().unwrap().starts_with('B'));
        assert_eq!(t["is_enterprise_install"], false);
    };
    run_cases(
        &sim,
        &[
            Case::ok(Form(Some(token)), "auth.test", json!({})).check(auth_test),
            Case::ok(Get(token), "auth.test", json!({})).check(auth_test),
        ],
    )
    .await;
    // Client credentials as form fields work too; reinstalling while installed keeps the same bot token.
    let q = allow(&sim, "U0ALICE001", "chat:write,im:write", "again").await;
    let cfg = sim.state();
    let by_fields = json!({"client_id": cfg.app.client_id, "client_secret": cfg.app.client_secret, "code": q["code"]});
    run_cases(
        &sim,
        &[
            Case::ok(Form(None), "oauth.v2.access", by_fields).check(|v2| {
                assert_eq!(v2["access_token"], v["access_token"]);
            }),
        ],
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn oauth_cancel_redirects_with_access_denied() {
    let sim = start_demo().await;
    let cfg = sim.state();
    let r = post_form(
        &sim.authorize_url(),
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
    let q = allow(&sim, "U0ALICE001", "chat:write", "s").await;
    let code = q["code"].as_str();
    let (id, secret) = (cfg.app.client_id.as_str(), cfg.app.client_secret.as_str());
    // The client's credentials and the code, with some fields replaced (null: left out).
    let with = |changes: Value| {
        let mut p = json!({"client_id": id, "client_secret": secret, "code": code});
        for (k, v) in changes.as_object().unwrap() {
            match v {
                Value::Null => p.as_object_mut().unwrap().remove(k),
                v => p.as_object_mut().unwrap().insert(k.clone(), v.clone()),
            };
        }
        p
    };
    let access = |changes: Value, error: &'static str| {
        Case::err(Form(None), "oauth.v2.access", with(changes), error)
    };
    run_cases(
        &sim,
        &[
            access(json!({"client_id": "nope"}), "invalid_client_id"),
            access(json!({"client_id": null}), "invalid_client_id"),
            access(json!({"client_secret": "bad"}), "bad_client_secret"),
            access(json!({"code": "123.456.abc"}), "invalid_code"),
            access(json!({"code": null}), "invalid_code"),
            access(json!({"grant_type": "password"}), "invalid_grant_type"),
            access(
                json!({"redirect_uri": "http://127.0.0.1:1/other"}),
                "bad_redirect_uri",
            ),
            // The failures above did not use the code up.
            Case::ok(Form(None), "oauth.v2.access", with(json!({}))),
            // Single use.
            access(json!({}), "invalid_code"),
        ],
    )
    .await;
    for r in sim.api_calls() {
        assert_eq!(r.status, 200);
        if let Some(Value::String(s)) = r.params.get("client_secret") {
            assert_eq!(s, "(hidden)", "secret not hidden: {s}");
        }
    }
}

#[tokio::test]
async fn auth_errors() {
    let sim = start_demo().await;
    run_cases(
        &sim,
        &[
            Case::err(Form(None), "auth.test", json!({}), "not_authed"),
            Case::err(
                Form(Some("xoxb-1-2-nope")),
                "auth.test",
                json!({}),
                "invalid_auth",
            ),
            Case::err(Get("garbage"), "auth.test", json!({}), "invalid_auth"),
        ],
    )
    .await;
    // A token inside a JSON body is not read (Slack wants the Authorization header with JSON).
    let token = install(&sim, "U0ALICE001", ALL_SCOPES).await;
    let url = format!("{}auth.test", sim.api_url());
    let r = post_json(&url, &json!({"token": token})).await;
    assert_eq!(r.json()["error"], "not_authed");
    // JSON without a charset gets Slack's missing_charset warning.
    let auth = format!("Bearer {token}");
    let raw =
        |content_type: &'static str, body: &[u8]| Some(Body::Raw(content_type, body.to_vec()));
    let r = request(
        "POST",
        &url,
        &[("authorization", &auth)],
        raw("application/json", b"{}"),
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
    run_cases(
        &sim,
        &[
            Case::err(Get(&token), "chat.fly", json!({}), "unknown_method").check(|v| {
                assert_eq!(v, &json!({"ok": false, "error": "unknown_method"}));
            }),
        ],
    )
    .await;
    // Posting without a content type, or with one Slack does not take.
    let r = request(
        "POST",
        &url,
        &[("authorization", &auth)],
        raw("text/plain", b"x"),
    )
    .await
    .unwrap();
    assert_eq!(r.json()["error"], "invalid_post_type");
}

#[tokio::test]
async fn users_lookup_by_email() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    let lookup = "users.lookupByEmail";
    run_cases(
        &sim,
        &[
            // Case-insensitive.
            Case::ok(
                Get(&token),
                lookup,
                json!({"email": "bob.smith@example.COM"}),
            )
            .check(|v| {
                let u = &v["user"];
                assert_eq!(u["id"], "U0BOB00001");
                assert_eq!(u["team_id"], "T0SIMTEAM1");
                assert_eq!(u["deleted"], false);
                assert_eq!(u["tz"], "America/New_York");
                let offset = u["tz_offset"].as_i64().unwrap();
                assert!(offset == -18000 || offset == -14400);
                assert!(u["tz_label"].as_str().unwrap().starts_with("Eastern"));
                assert_eq!(u["profile"]["email"], "Bob.Smith@Example.com");
                assert_eq!(u["profile"]["real_name"], "Bob Smith");
                let image = u["profile"]["image_72"].as_str().unwrap();
                assert!(image.starts_with("http://127.0.0.1:"));
            }),
            // A deactivated member is not found (users.list still lists them).
            Case::err(
                Form(Some(&token)),
                lookup,
                json!({"email": "gone@example.com"}),
                "users_not_found",
            ),
            // Unknown.
            Case::err(
                Get(&token),
                lookup,
                json!({"email": "nobody@example.com"}),
                "users_not_found",
            )
            .check(|v| assert_eq!(v, &json!({"ok": false, "error": "users_not_found"}))),
            // Missing e-mail.
            Case::err(Get(&token), lookup, json!({}), "invalid_arguments").check(|v| {
                assert_eq!(
                    v["response_metadata"]["messages"][0],
                    "[ERROR] missing required field: email"
                );
            }),
        ],
    )
    .await;
    // Scope.
    let (sim2, t2) = start_installed("chat:write,im:write,users:read").await;
    let email = json!({"email": "bob.smith@example.com"});
    run_cases(
        &sim2,
        &[Case::missing_scope(
            Get(&t2),
            lookup,
            email,
            "users:read.email",
            Some("chat:write,im:write,users:read"),
        )],
    )
    .await;
}

#[tokio::test]
async fn users_list_pages_through_everyone() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    let mut cursor = String::new();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let mut q = json!({"limit": "3"});
        if !cursor.is_empty() {
            q["cursor"] = json!(cursor);
        }
        let v = call(&sim, Get(&token), "users.list", &q).await.json();
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
    run_cases(
        &sim,
        &[
            // All in one page without limit.
            Case::ok(Get(&token), "users.list", json!({})).check(|v| {
                let members = v["members"].as_array().unwrap();
                assert_eq!(members.len(), 9);
                assert_eq!(v["response_metadata"]["next_cursor"], "");
                let bot = members.iter().find(|m| m["id"] == "U0OTHERBOT").unwrap();
                assert_eq!(bot["is_bot"], true);
            }),
            // Bad cursor, bad limit.
            Case::err(
                Get(&token),
                "users.list",
                json!({"cursor": "bm9wZQ=="}),
                "invalid_cursor",
            ),
            Case::err(
                Get(&token),
                "users.list",
                json!({"limit": "ten"}),
                "invalid_arguments",
            ),
        ],
    )
    .await;
    // Without users:read.email the e-mail is not shown; without users:read the method is refused.
    let (sim2, t2) = start_installed("users:read").await;
    run_cases(
        &sim2,
        &[Case::ok(Get(&t2), "users.list", json!({})).check(|v| {
            let members = v["members"].as_array().unwrap();
            assert!(members.iter().all(|m| m["profile"].get("email").is_none()));
        })],
    )
    .await;
    let t3 = install(&sim2, "U0ADMIN001", "users:read").await;
    assert_eq!(t2, t3);
    let (sim3, t4) = start_installed("chat:write").await;
    run_cases(
        &sim3,
        &[Case::missing_scope(
            Get(&t4),
            "users.list",
            json!({}),
            "users:read",
            None,
        )],
    )
    .await;
}

#[tokio::test]
async fn users_list_may_return_fewer_than_asked() {
    let mut cfg = slack_sim::SimConfig::demo();
    cfg.users_list_max_page = 2;
    let sim = start_with(cfg).await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    run_cases(
        &sim,
        &[
            Case::ok(Get(&token), "users.list", json!({"limit": "200"})).check(|v| {
                assert_eq!(v["members"].as_array().unwrap().len(), 2);
                assert_ne!(v["response_metadata"]["next_cursor"], "");
            }),
        ],
    )
    .await;
}

#[tokio::test]
async fn users_info() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    run_cases(
        &sim,
        &[
            Case::ok(Get(&token), "users.info", json!({"user": "U0CHEN0001"})).check(|v| {
                assert_eq!(v["user"]["tz"], "Asia/Tokyo");
                assert_eq!(v["user"]["tz_offset"], 32400);
                // The locale only when asked for, as Slack gives it.
                assert!(v["user"].get("locale").is_none());
            }),
            Case::ok(
                Get(&token),
                "users.info",
                json!({"user": "U0ALICE001", "include_locale": "true"}),
            )
            .check(|v| assert_eq!(v["user"]["locale"], "fr-FR")),
            Case::ok(
                Get(&token),
                "users.info",
                json!({"user": "USLACKBOT", "include_locale": "true"}),
            )
            .check(|v| assert_eq!(v["user"]["locale"], "en-US")),
            Case::err(
                Get(&token),
                "users.info",
                json!({"user": "U0NOBODY01"}),
                "user_not_found",
            ),
            Case::err(Get(&token), "users.info", json!({}), "user_not_found"),
        ],
    )
    .await;
}

#[tokio::test]
async fn conversations_open_gives_the_same_dm_every_time() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    let open = "conversations.open";
    let form = Form(Some(&token));
    let first = run_cases(
        &sim,
        &[Case::ok(form, open, json!({"users": "U0ALICE001"}))
            .check(|v| assert_eq!(v["channel"].as_object().unwrap().len(), 1))],
    )
    .await;
    let id = first[0]["channel"]["id"].as_str().unwrap().to_string();
    assert!(id.starts_with('D') && id.len() >= 9, "{id}");
    let same_id = |v: &Value| assert_eq!(v["channel"]["id"], id.as_str());
    run_cases(
        &sim,
        &[
            // Again, by JSON with a Bearer token: same id, already open.
            Case::ok(
                Json(&token),
                open,
                json!({"users": "U0ALICE001", "return_im": true}),
            )
            .check(|v| {
                same_id(v);
                assert_eq!(v["already_open"], true);
                assert_eq!(v["channel"]["is_im"], true);
                assert_eq!(v["channel"]["user"], "U0ALICE001");
            }),
            // By channel.
            Case::ok(form, open, json!({"channel": id})).check(same_id),
            // Another user, another DM.
            Case::ok(form, open, json!({"users": "U0BOB00001"}))
                .check(|v| assert_ne!(v["channel"]["id"], id.as_str())),
            // Errors.
            Case::err(form, open, json!({"users": "U0NOBODY01"}), "user_not_found"),
            Case::err(form, open, json!({"users": "U0GONE0001"}), "user_disabled"),
            Case::err(
                form,
                open,
                json!({"channel": "D0NOPE0000"}),
                "channel_not_found",
            ),
            Case::err(form, open, json!({}), "users_list_not_supplied"),
            Case::err(
                Form(None),
                open,
                json!({"users": "U0ALICE001"}),
                "not_authed",
            ),
        ],
    )
    .await;
    let (sim2, t2) = start_installed("chat:write").await;
    run_cases(
        &sim2,
        &[Case::missing_scope(
            Form(Some(&t2)),
            open,
            json!({"users": "U0ALICE001"}),
            "im:write",
            None,
        )],
    )
    .await;
    // Inspection shows the conversations.
    let convs = get(&sim_url(&sim, "/_sim/conversations?member=U0ALICE001"))
        .await
        .json();
    assert_eq!(convs.as_array().unwrap().len(), 1);
    assert_eq!(convs[0]["id"], id.as_str());
    assert_eq!(convs[0]["kind"], "app_dm");
}

#[tokio::test]
async fn chat_post_message_lands_where_slack_puts_it() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    without_rate_limits(&sim);
    let dm = open_dm(&sim, &token, "U0ALICE001").await;
    let post = "chat.postMessage";
    let form = Form(Some(&token));
    let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*Hello*"}}]);
    let in_dm = |v: &Value| assert_eq!(v["channel"], dm.as_str());
    let answers = run_cases(
        &sim,
        &[
            // To the D id, with a custom name and icon: in the app DM.
            Case::ok(
                form,
                post,
                json!({"channel": dm, "text": "Hello", "blocks": blocks.to_string(),
                    "username": "Acme Learning", "icon_url": "https://x.test/logo.png"}),
            )
            .check(|v| {
                in_dm(v);
                assert_eq!(v["ts"].as_str().unwrap().len(), 17);
                assert_eq!(v["message"]["text"], "Hello");
                assert_eq!(v["message"]["username"], "Acme Learning");
                assert_eq!(v["message"]["blocks"], blocks);
            }),
            // To the U id without customisation: the same app DM.
            Case::ok(
                Json(&token),
                post,
                json!({"channel": "U0ALICE001", "text": "plain", "blocks": blocks}),
            )
            .check(in_dm),
            // To the U id with a custom username: Slackbot's conversation, not the app's.
            Case::ok(
                Json(&token),
                post,
                json!({"channel": "U0ALICE001", "text": "lost", "username": "Acme"}),
            )
            .check(|v| assert_ne!(v["channel"], dm.as_str())),
        ],
    )
    .await;
    let ts = |i: usize| answers[i]["ts"].as_str().unwrap();
    assert!(ts(1) > ts(0), "{} after {}", ts(1), ts(0));
    let msgs = sim.messages_for_member("U0ALICE001");
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[2].kind, ConversationKind::Slackbot);
    assert_eq!(msgs[2].message.text, "lost");
    assert_eq!(msgs[0].kind, ConversationKind::AppDm);
    assert_eq!(
        msgs[0].message.icon_url.as_deref(),
        Some("https://x.test/logo.png")
    );
    let long = json!([{"type": "header", "text": {"type": "plain_text", "text": "x".repeat(151)}}]);
    run_cases(
        &sim,
        &[
            Case::err(form, post, json!({"channel": dm}), "no_text"),
            Case::err(form, post, json!({"text": "x"}), "channel_not_found"),
            Case::err(
                form,
                post,
                json!({"channel": "D0NOPE0000", "text": "x"}),
                "channel_not_found",
            ),
            Case::err(
                form,
                post,
                json!({"channel": "U0NOBODY01", "text": "x"}),
                "channel_not_found",
            ),
            Case::err(
                form,
                post,
                json!({"channel": dm, "blocks": "[{"}),
                "invalid_blocks_format",
            ),
            Case::err(
                Json(&token),
                post,
                json!({"channel": dm, "blocks": long}),
                "invalid_blocks",
            )
            .check(|v| {
                assert_eq!(
                    v["response_metadata"]["messages"],
                    json!([
                        "[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text]"
                    ])
                );
            }),
        ],
    )
    .await;
    // The Messages tab.
    sim.set_messages_tab(false);
    run_cases(
        &sim,
        &[
            Case::err(
                form,
                post,
                json!({"channel": dm, "text": "x"}),
                "messages_tab_disabled",
            ),
            Case::err(
                form,
                post,
                json!({"channel": "U0ALICE001", "text": "x"}),
                "messages_tab_disabled",
            ),
        ],
    )
    .await;
    sim.set_messages_tab(true);
    // Scopes.
    let (sim2, t2) = start_installed("chat:write,im:write").await;
    let customised = json!({"channel": "U0ALICE001", "text": "x", "icon_emoji": ":tada:"});
    run_cases(
        &sim2,
        &[Case::missing_scope(
            Form(Some(&t2)),
            post,
            customised,
            "chat:write.customize",
            None,
        )],
    )
    .await;
    let t3 = install(&sim2, "U0ADMIN001", "users:read").await;
    // A reinstall adds scopes; the token stays.
    assert_eq!(t2, t3);
    let (sim3, t4) = start_installed("users:read").await;
    let plain = json!({"channel": "U0ALICE001", "text": "x"});
    run_cases(
        &sim3,
        &[Case::missing_scope(
            Form(Some(&t4)),
            post,
            plain,
            "chat:write",
            None,
        )],
    )
    .await;
}

#[tokio::test]
async fn ts_are_unique_and_increasing() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    without_rate_limits(&sim);
    let mut last = String::new();
    for i in 0..20 {
        let params = json!({"channel": "U0BOB00001", "text": format!("m{i}")});
        let v = call(&sim, Json(&token), "chat.postMessage", &params)
            .await
            .json();
        let ts = v["ts"].as_str().unwrap().to_string();
        assert!(ts > last, "{ts} after {last}");
        last = ts;
    }
}

#[tokio::test]
async fn history_returns_metadata_and_pages() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    without_rate_limits(&sim);
    let (post, history) = ("chat.postMessage", "conversations.history");
    let md = json!({"event_type": "lms_notification", "event_payload": {"notification_id": "n1", "recipient": "u1"}});
    let first = run_cases(
        &sim,
        &[Case::ok(
            Form(Some(&token)),
            post,
            json!({"channel": "U0ALICE001", "text": "one", "metadata": md.to_string()}),
        )],
    )
    .await;
    let dm = first[0]["channel"].as_str().unwrap().to_string();
    for t in ["two", "three"] {
        let params = json!({"channel": dm, "text": t, "metadata": md});
        call(&sim, Json(&token), post, &params).await;
    }
    let get = Get(&token);
    let count = |n: usize| move |v: &Value| assert_eq!(v["messages"].as_array().unwrap().len(), n);
    let paged = run_cases(
        &sim,
        &[
            Case::ok(
                get,
                history,
                json!({"channel": dm, "include_all_metadata": "true"}),
            )
            .check(|v| {
                let msgs = v["messages"].as_array().unwrap();
                assert_eq!(msgs.len(), 3);
                assert_eq!(msgs[0]["text"], "three");
                assert_eq!(msgs[2]["metadata"], md);
                assert_eq!(v["has_more"], false);
            }),
            // Without include_all_metadata there is no metadata.
            Case::ok(get, history, json!({"channel": dm}))
                .check(|v| assert!(v["messages"][0].get("metadata").is_none())),
            // Paging.
            Case::ok(get, history, json!({"channel": dm, "limit": "2"})).check(|v| {
                count(2)(v);
                assert_eq!(v["has_more"], true);
            }),
        ],
    )
    .await;
    let cursor = paged[2]["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap();
    let ts_two = sim.conversation(&dm).unwrap().messages[1].ts.clone();
    run_cases(
        &sim,
        &[
            Case::ok(
                get,
                history,
                json!({"channel": dm, "limit": "2", "cursor": cursor}),
            )
            .check(|v| {
                count(1)(v);
                assert_eq!(v["messages"][0]["text"], "one");
            }),
            // oldest/latest.
            Case::ok(get, history, json!({"channel": dm, "oldest": ts_two})).check(count(1)),
            Case::ok(
                get,
                history,
                json!({"channel": dm, "oldest": ts_two, "inclusive": "true"}),
            )
            .check(count(2)),
            // Errors.
            Case::err(
                get,
                history,
                json!({"channel": "D0NOPE0000"}),
                "channel_not_found",
            ),
            Case::err(
                get,
                history,
                json!({"channel": dm, "latest": "abc"}),
                "invalid_ts_latest",
            ),
            Case::err(
                get,
                history,
                json!({"channel": dm, "cursor": "zzz"}),
                "invalid_cursor",
            ),
            Case::err(
                Json(&token),
                post,
                json!({"channel": dm, "text": "x", "metadata": {"event_type": "x"}}),
                "invalid_metadata_format",
            ),
        ],
    )
    .await;
    let (sim2, t2) = start_installed("chat:write,im:write").await;
    let dm2 = run_cases(
        &sim2,
        &[Case::ok(
            Form(Some(&t2)),
            post,
            json!({"channel": "U0ALICE001", "text": "x"}),
        )],
    )
    .await[0]["channel"]
        .clone();
    run_cases(
        &sim2,
        &[Case::missing_scope(
            Get(&t2),
            history,
            json!({"channel": dm2}),
            "im:history",
            None,
        )],
    )
    .await;
}

#[tokio::test]
async fn inspection_records_calls_with_tokens_redacted() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    call(&sim, Form(Some(&token)), "auth.test", &json!({})).await;
    let calls = get(&sim_url(&sim, "/_sim/calls")).await.json();
    let last = calls.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["method"], "auth.test");
    assert_eq!(last["status"], 200);
    assert_eq!(last["auth"], "param");
    let fingerprint = format!("xoxb-…{}", &token[token.len() - 4..]);
    assert_eq!(last["params"]["token"], fingerprint.as_str());
    assert_eq!(last["response"]["ok"], true);
    assert!(!calls.to_string().contains(&token));
    let state = get(&sim_url(&sim, "/_sim/state")).await.json();
    assert_eq!(state["installations"][0]["active"], true);
    assert_eq!(state["workspace"]["team_id"], "T0SIMTEAM1");
    let inst = get(&sim_url(&sim, "/_sim/installations")).await.json();
    assert_eq!(inst[0]["installed_by"], "U0ADMIN001");
}

#[tokio::test]
async fn seed_files_load_and_are_checked() {
    use slack_sim::{SimConfig, Workspace};
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
    run_cases(
        &sim,
        &[Case::ok(
            Get(&token),
            "users.lookupByEmail",
            json!({"email": "SAM@seed.test"}),
        )
        .check(|v| assert_eq!(v["user"]["tz"], "Europe/Berlin"))],
    )
    .await;
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
