//! Where the simulated Slack is as strict as Slack today, each with the answer Slack gives: the limits of an app not
//! approved for the Marketplace, deactivated members and `users.lookupByEmail`, ISO-8859-1 forms and other
//! charsets, `multipart/form-data` bodies, tokens in the query string, rate limits on by default, threads
//! (`conversations.replies`), and `chat.update` and `chat.delete`.

mod util;

use std::time::Duration;

use serde_json::{Value, json};
use slack_sim::{App, ConversationKind, METHODS, RateLimits, Sender, SimConfig, SimHandle, Tier};
use util::Via::{Form, Get, Json};
use util::*;

/// Rate limits on, with a minute of Slack passing in 60/`scale` real seconds.
fn limits(scale: f64) -> RateLimits {
    RateLimits {
        enabled: true,
        time_scale: scale,
        ..RateLimits::default()
    }
}

/// Posts `n` messages `m0`, `m1`, … to the member's DM (rate limits off meanwhile); returns the DM's ID.
async fn post_many(sim: &SimHandle, token: &str, member: &str, n: usize) -> String {
    without_rate_limits(sim);
    let mut dm = String::new();
    for i in 0..n {
        let params = json!({"channel": member, "text": format!("m{i}")});
        let v = call(sim, Json(token), "chat.postMessage", &params)
            .await
            .json();
        assert_eq!(v["ok"], true, "{v}");
        dm = v["channel"].as_str().unwrap().to_string();
    }
    dm
}

/// The texts of an answer's `messages`.
fn texts(v: &Value) -> Vec<String> {
    v["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages: {v}"))
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

/// The `Retry-After` of a 429 `ratelimited`.
fn retry_after(r: &Resp) -> u64 {
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["error"], "ratelimited");
    r.header("retry-after").unwrap().parse().unwrap()
}

// ------------------------------------------------------------------------------------------------------------
// The app profile: an app not approved for the Marketplace.

#[test]
fn an_app_is_not_marketplace_approved_unless_its_seed_says_so() {
    assert!(!App::demo().marketplace_approved);
    let mut seed = serde_json::to_value(App::demo()).unwrap();
    seed.as_object_mut().unwrap().remove("marketplace_approved");
    let app: App = serde_json::from_value(seed.clone()).unwrap();
    assert!(!app.marketplace_approved, "absent: not approved");
    seed["marketplace_approved"] = json!(true);
    let app: App = serde_json::from_value(seed).unwrap();
    assert!(app.marketplace_approved);
}

#[tokio::test]
async fn an_app_not_approved_for_the_marketplace_reads_history_once_a_minute_15_at_a_time() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    let dm = post_many(&sim, &token, "U0ALICE001", 20).await;
    // A minute of Slack in one real second.
    sim.set_rate_limits(limits(60.0));
    let history = async |params: Value| {
        let mut params = params;
        params["channel"] = json!(dm);
        call(&sim, Get(&token), "conversations.history", &params).await
    };
    // The default page is 15, newest first, with a cursor to the rest.
    let v = history(json!({})).await.json();
    assert_eq!(texts(&v).len(), 15, "{v}");
    assert_eq!(texts(&v)[0], "m19");
    assert_eq!(v["has_more"], true);
    let cursor = v["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    // Tier 1: the next call within the minute is refused; Retry-After says when, in real seconds.
    assert_eq!(retry_after(&history(json!({"cursor": cursor})).await), 1);
    // A minute later: a larger limit is not an error, the page is cut at 15.
    sim.advance_clock(Duration::from_secs(60));
    let v = history(json!({"limit": "100"})).await.json();
    assert_eq!(texts(&v).len(), 15, "{v}");
    assert_eq!(v["has_more"], true);
    sim.advance_clock(Duration::from_secs(60));
    let v = history(json!({"cursor": cursor, "limit": "999"}))
        .await
        .json();
    assert_eq!(texts(&v), ["m4", "m3", "m2", "m1", "m0"]);
    assert_eq!(v["has_more"], false);
    // conversations.replies has its own minute, and the same page size.
    let parent = sim.conversation(&dm).unwrap().messages[0].ts.clone();
    let replies = json!({"channel": dm, "ts": parent});
    let r = call(&sim, Get(&token), "conversations.replies", &replies).await;
    assert_eq!(r.json()["ok"], true, "{}", r.text());
    retry_after(&call(&sim, Get(&token), "conversations.replies", &replies).await);
}

#[tokio::test]
async fn a_marketplace_approved_app_keeps_tier_3_and_large_pages() {
    let mut cfg = SimConfig::demo();
    cfg.app.marketplace_approved = true;
    let sim = start_with(cfg).await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let dm = post_many(&sim, &token, "U0ALICE001", 120).await;
    // Slack's time 100× slower than real time: nothing is refilled during the test.
    sim.set_rate_limits(limits(0.01));
    let params = json!({"channel": dm});
    let v = call(&sim, Get(&token), "conversations.history", &params)
        .await
        .json();
    assert_eq!(texts(&v).len(), 100, "the default page is 100");
    let v = call(
        &sim,
        Get(&token),
        "conversations.history",
        &json!({"channel": dm, "limit": "999"}),
    )
    .await
    .json();
    assert_eq!(texts(&v).len(), 120);
    // Tier 3: 50 a minute.
    for i in 2..50 {
        let r = call(&sim, Get(&token), "conversations.history", &params).await;
        assert_eq!(r.status, 200, "call {i}");
    }
    retry_after(&call(&sim, Get(&token), "conversations.history", &params).await);
}

// ------------------------------------------------------------------------------------------------------------
// Rate limits on by default.

#[tokio::test]
async fn slacks_rate_limits_are_on_by_default() {
    assert!(RateLimits::default().enabled);
    assert!(SimConfig::demo().rate_limits.enabled);
    assert_eq!(SimConfig::demo().rate_limits.time_scale, 1.0);
    // A seed file that says nothing of them gets them too.
    let dir = std::env::temp_dir().join(format!("slack-sim-strict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("seed.json");
    let seed = json!({"workspace": serde_json::to_value(slack_sim::Workspace::demo()).unwrap()});
    std::fs::write(&file, seed.to_string()).unwrap();
    let cfg = SimConfig::from_file(&file).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(cfg.rate_limits.enabled);
    assert!(!cfg.app.marketplace_approved);
    // Served: apps.uninstall is Tier 1, one a minute.
    let sim = start_with(cfg).await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let wrong = json!({"client_id": "1111111111.2222222222", "client_secret": "wrong"});
    let first = call(&sim, Form(Some(&token)), "apps.uninstall", &wrong).await;
    assert_eq!(first.json()["error"], "bad_client_secret");
    let retry = retry_after(&call(&sim, Form(Some(&token)), "apps.uninstall", &wrong).await);
    assert!((59..=60).contains(&retry), "{retry}");
}

// ------------------------------------------------------------------------------------------------------------
// users.lookupByEmail and deactivated members.

#[tokio::test]
async fn a_deactivated_member_is_not_found_by_email_but_is_listed() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    let v = call(
        &sim,
        Get(&token),
        "users.lookupByEmail",
        &json!({"email": "gone@example.com"}),
    )
    .await
    .json();
    assert_eq!(v, json!({"ok": false, "error": "users_not_found"}));
    let v = call(
        &sim,
        Get(&token),
        "users.info",
        &json!({"user": "U0GONE0001"}),
    )
    .await
    .json();
    assert_eq!(v["user"]["deleted"], true, "{v}");
}

// ------------------------------------------------------------------------------------------------------------
// Charsets.

/// POSTs `body` as `content_type` to `method`, the token in the Authorization header.
async fn post_raw(
    sim: &SimHandle,
    token: &str,
    method: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Resp {
    let auth = format!("Bearer {token}");
    request(
        "POST",
        &format!("{}{method}", sim.api_url()),
        &[("authorization", &auth)],
        Some(Body::Raw(content_type, body)),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_form_declared_iso_8859_1_is_read_as_latin_1_and_other_charsets_are_refused() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    // "Café crème": é percent-encoded, è as a raw byte, both Latin-1.
    let mut body = b"channel=U0ALICE001&text=Caf%E9+cr".to_vec();
    body.extend([0xE8, b'm', b'e']);
    let latin1 = "application/x-www-form-urlencoded; charset=iso-8859-1";
    let v = post_raw(&sim, &token, "chat.postMessage", latin1, body.clone())
        .await
        .json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["message"]["text"], "Café crème");
    let upper = "application/x-www-form-urlencoded; charset=ISO-8859-1";
    let v = post_raw(&sim, &token, "chat.postMessage", upper, body.clone())
        .await
        .json();
    assert_eq!(v["message"]["text"], "Café crème", "{v}");
    // The same bytes as UTF-8 are not a form.
    let utf8 = "application/x-www-form-urlencoded; charset=utf-8";
    let v = post_raw(&sim, &token, "chat.postMessage", utf8, body.clone())
        .await
        .json();
    assert_eq!(v["error"], "invalid_form_data", "{v}");
    // JSON in ISO-8859-1 too.
    let mut json_body = br#"{"channel": "U0ALICE001", "text": "na"#.to_vec();
    json_body.push(0xEF);
    json_body.extend(br#"ve"}"#);
    let v = post_raw(
        &sim,
        &token,
        "chat.postMessage",
        "application/json; charset=iso-8859-1",
        json_body,
    )
    .await
    .json();
    assert_eq!(v["message"]["text"], "naïve", "{v}");
    // "Valid charset names are: utf-8 iso-8859-1."
    for other in ["windows-1252", "utf-16", "latin1", "us-ascii"] {
        let ct = format!("application/x-www-form-urlencoded; charset={other}");
        let v = post_raw(&sim, &token, "chat.postMessage", &ct, body.clone())
            .await
            .json();
        assert_eq!(
            v,
            json!({"ok": false, "error": "invalid_charset"}),
            "{other}"
        );
    }
    let stored: Vec<String> = sim
        .messages_for_member("U0ALICE001")
        .into_iter()
        .map(|m| m.message.text)
        .collect();
    assert_eq!(stored, ["Café crème", "Café crème", "naïve"]);
}

// ------------------------------------------------------------------------------------------------------------
// multipart/form-data.

/// A `multipart/form-data` body of text fields and one file, with its content type.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----simBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn multipart_form_data_bodies_are_read() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    let url = format!("{}chat.postMessage", sim.api_url());
    // The token as a field, as slack_sdk sends files.upload; a file part no method reads is skipped.
    let (ct, body) = multipart(
        &[
            ("token", &token),
            ("channel", "U0BOB00001"),
            ("text", "Grüße, *Bob*"),
        ],
        Some(("file", &[0xFF, 0x00, 0xFE])),
    );
    let v = request("POST", &url, &[], Some(Body::Raw(&ct, body)))
        .await
        .unwrap()
        .json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["message"]["text"], "Grüße, *Bob*");
    assert_eq!(
        sim.api_calls().last().unwrap().auth.as_deref(),
        Some("param")
    );
    // A form of no fields but the token: the method's own error.
    let (ct, body) = multipart(&[("token", &token)], None);
    let v = request("POST", &url, &[], Some(Body::Raw(&ct, body)))
        .await
        .unwrap()
        .json();
    assert_eq!(v["error"], "channel_not_found");
    // Malformed: cut before its closing boundary, or no boundary at all.
    let (ct, mut body) = multipart(&[("token", &token), ("text", "x")], None);
    body.truncate(body.len() - 40);
    let v = request("POST", &url, &[], Some(Body::Raw(&ct, body.clone())))
        .await
        .unwrap()
        .json();
    assert_eq!(v["error"], "invalid_form_data", "{v}");
    let v = request(
        "POST",
        &url,
        &[],
        Some(Body::Raw("multipart/form-data", body)),
    )
    .await
    .unwrap()
    .json();
    assert_eq!(v["error"], "invalid_form_data", "{v}");
    assert_eq!(sim.messages_for_member("U0BOB00001").len(), 1);
}

// ------------------------------------------------------------------------------------------------------------
// Tokens in the query string.

#[tokio::test]
async fn a_token_in_the_query_string_is_refused_and_other_query_parameters_are_not() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    let api = sim.api_url();
    let bearer = format!("Bearer {token}");
    let header = [("authorization", bearer.as_str())];
    // Alone, or beside the same token in the header.
    let in_query = format!("{api}auth.test?token={token}");
    assert_eq!(
        get(&in_query).await.json(),
        json!({"ok": false, "error": "invalid_auth"})
    );
    assert_eq!(
        get_with(&in_query, &header).await.json()["error"],
        "invalid_auth"
    );
    let fields = [("channel", "U0ALICE001"), ("text", "x")];
    let posted = request(
        "POST",
        &format!("{api}chat.postMessage?token={token}"),
        &[],
        Some(Body::Form(&fields)),
    )
    .await
    .unwrap()
    .json();
    assert_eq!(posted["error"], "invalid_auth");
    assert!(sim.messages_for_member("U0ALICE001").is_empty());
    assert_eq!(
        sim.api_calls().last().unwrap().auth.as_deref(),
        Some("query")
    );
    // The token in the header (or a POST body), the other parameters in the query: accepted.
    let v = get_with(&format!("{api}users.info?user=U0ALICE001"), &header)
        .await
        .json();
    assert_eq!(v["user"]["id"], "U0ALICE001", "{v}");
    let body = [("token", token.as_str())];
    let v = request(
        "POST",
        &format!("{api}users.info?user=U0BOB00001"),
        &[],
        Some(Body::Form(&body)),
    )
    .await
    .unwrap()
    .json();
    assert_eq!(v["user"]["id"], "U0BOB00001", "{v}");
    // The client credentials of oauth.v2.access are no token: still taken from the query.
    let cfg = sim.state();
    let q = allow(&sim, "U0ALICE001", "chat:write", "s").await;
    let url = format!(
        "{api}oauth.v2.access?{}",
        encode(&[
            ("client_id", &cfg.app.client_id),
            ("client_secret", &cfg.app.client_secret),
            ("code", &q["code"]),
        ])
    );
    assert_eq!(get(&url).await.json()["ok"], true);
}

// ------------------------------------------------------------------------------------------------------------
// Threads.

#[tokio::test]
async fn replies_thread_under_their_parent_and_history_lists_parents_only() {
    let mut cfg = SimConfig::demo();
    cfg.app.marketplace_approved = true;
    let sim = start_with(cfg).await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    without_rate_limits(&sim);
    let post = async |params: Value| {
        call(&sim, Json(&token), "chat.postMessage", &params)
            .await
            .json()
    };
    let parent = post(json!({"channel": "U0CHEN0001", "text": "parent"})).await;
    let (dm, pts) = (parent["channel"].clone(), parent["ts"].clone());
    let r1 = post(json!({"channel": dm, "text": "r1", "thread_ts": pts})).await;
    assert_eq!(r1["message"]["thread_ts"], pts, "{r1}");
    post(json!({"channel": dm, "text": "r2", "thread_ts": pts})).await;
    post(json!({"channel": dm, "text": "after"})).await;
    // Slack answers an impossible thread_ts; one that names no message is taken, and shows nowhere.
    let bad = post(json!({"channel": dm, "text": "x", "thread_ts": "0"})).await;
    assert_eq!(bad["error"], "invalid_thread_ts", "{bad}");
    let orphan =
        post(json!({"channel": dm, "text": "orphan", "thread_ts": "1600000000.000100"})).await;
    assert_eq!(orphan["ok"], true);

    let via = Get(&token);
    let v = call(&sim, via, "conversations.history", &json!({"channel": dm}))
        .await
        .json();
    assert_eq!(texts(&v), ["after", "parent"]);
    let p = &v["messages"][1];
    assert_eq!(p["thread_ts"], pts);
    assert_eq!(p["reply_count"], 2);
    assert_eq!(p["reply_users_count"], 1);
    assert_eq!(p["reply_users"], json!([r1["message"]["user"]]));
    assert!(p["latest_reply"].as_str().unwrap() > pts.as_str().unwrap());

    let replies = async |params: Value| {
        call(&sim, via, "conversations.replies", &params)
            .await
            .json()
    };
    let v = replies(json!({"channel": dm, "ts": pts})).await;
    assert_eq!(texts(&v), ["parent", "r1", "r2"]);
    assert_eq!(v["messages"][1]["parent_user_id"], p["user"]);
    // A reply's ts stands for its thread; a message without replies comes alone.
    let v = replies(json!({"channel": dm, "ts": r1["ts"]})).await;
    assert_eq!(texts(&v), ["parent", "r1", "r2"]);
    let lone = sim.conversation(dm.as_str().unwrap()).unwrap().messages[3]
        .ts
        .clone();
    assert_eq!(
        texts(&replies(json!({"channel": dm, "ts": lone})).await),
        ["after"]
    );
    // Pages: the parent comes first, later pages without it.
    let v = replies(json!({"channel": dm, "ts": pts, "limit": "2"})).await;
    assert_eq!(
        (texts(&v), &v["has_more"]),
        (vec!["parent".into(), "r1".into()], &json!(true))
    );
    let cursor = v["response_metadata"]["next_cursor"].clone();
    let v = replies(json!({"channel": dm, "ts": pts, "limit": "2", "cursor": cursor})).await;
    assert_eq!(texts(&v), ["r2"]);
    assert_eq!(v["has_more"], false);
    // Errors.
    for (params, error) in [
        (
            json!({"channel": dm, "ts": "1500000000.000100"}),
            "thread_not_found",
        ),
        (json!({"channel": dm}), "invalid_arguments"),
        (
            json!({"channel": "D0NOPE0000", "ts": pts}),
            "channel_not_found",
        ),
        (
            json!({"channel": dm, "ts": pts, "cursor": "Zm9v"}),
            "invalid_cursor",
        ),
    ] {
        assert_eq!(replies(params).await["error"], error);
    }
    // The web view shows the thread under its parent.
    let page = get(&sim_url(&sim, "/_sim/?member=U0CHEN0001")).await.text();
    assert!(page.contains("2 replies"), "{page}");
    assert!(!page.contains("orphan"));
}

// ------------------------------------------------------------------------------------------------------------
// chat.update and chat.delete.

#[test]
fn chat_update_and_chat_delete_are_tier_3() {
    for method in ["chat.update", "chat.delete", "conversations.replies"] {
        assert!(
            METHODS.contains(&(method, Tier::T3)),
            "{method}: {METHODS:?}"
        );
    }
}

#[tokio::test]
async fn chat_update_changes_what_the_app_posted_and_the_view_says_edited() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    without_rate_limits(&sim);
    let form = Form(Some(&token));
    let blocks =
        json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*Session* today"}}]);
    let md = json!({"event_type": "lms_notification", "event_payload": {"id": "n1"}});
    let posted = call(
        &sim,
        form,
        "chat.postMessage",
        &json!({"channel": "U0ALICE001", "text": "first", "blocks": blocks.to_string(), "metadata": md.to_string()}),
    )
    .await
    .json();
    let (dm, ts) = (posted["channel"].clone(), posted["ts"].clone());
    let page = async || get(&sim_url(&sim, "/_sim/?member=U0ALICE001")).await.text();
    assert!(!page().await.contains("(edited)"));
    let at = |extra: Value| {
        let mut p = json!({"channel": dm, "ts": ts});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        p
    };
    let cases = [
        // New text: blocks and metadata are kept.
        Case::ok(form, "chat.update", at(json!({"text": "second"}))).check(|v| {
            assert_eq!(
                (&v["channel"], &v["ts"], &v["text"]),
                (&dm, &ts, &json!("second"))
            );
            assert_eq!(v["message"]["text"], "second");
            assert_eq!(v["message"]["blocks"], blocks);
            assert_eq!(v["message"]["edited"]["user"], posted["message"]["user"]);
        }),
        // `[]` and `{}` remove blocks and metadata.
        Case::ok(
            form,
            "chat.update",
            at(json!({"blocks": "[]", "metadata": "{}"})),
        )
        .check(|v| assert!(v["message"].get("blocks").is_none(), "{v}")),
        // Errors, as chat.postMessage's.
        Case::err(form, "chat.update", at(json!({})), "no_text"),
        Case::err(form, "chat.update", at(json!({"text": " "})), "no_text"),
        Case::err(
            form,
            "chat.update",
            at(json!({"text": "x".repeat(40_001)})),
            "msg_too_long",
        ),
        Case::err(
            form,
            "chat.update",
            at(json!({"blocks": "[{"})),
            "invalid_blocks_format",
        ),
        Case::err(
            form,
            "chat.update",
            json!({"channel": dm, "ts": "1500000000.000100", "text": "x"}),
            "message_not_found",
        ),
        Case::err(
            form,
            "chat.update",
            json!({"channel": dm, "text": "x"}),
            "message_not_found",
        ),
        Case::err(
            form,
            "chat.update",
            json!({"channel": "D0NOPE0000", "ts": ts, "text": "x"}),
            "channel_not_found",
        ),
        // A user ID is not the DM: "ensure that this value is a DM ID".
        Case::err(
            form,
            "chat.update",
            json!({"channel": "U0ALICE001", "ts": ts, "text": "x"}),
            "channel_not_found",
        ),
    ];
    run_cases(&sim, &cases).await;
    let v = call(
        &sim,
        Get(&token),
        "conversations.history",
        &json!({"channel": dm, "include_all_metadata": "true"}),
    )
    .await
    .json();
    let m = &v["messages"][0];
    assert_eq!(m["text"], "second");
    assert!(
        m.get("metadata").is_none() && m.get("blocks").is_none(),
        "{m}"
    );
    assert!(m["edited"]["ts"].as_str().unwrap() > ts.as_str().unwrap());
    let html = page().await;
    assert!(
        html.contains("(edited)") && html.contains("second"),
        "{html}"
    );
}

#[tokio::test]
async fn chat_delete_removes_what_the_app_posted_and_a_parent_leaves_a_tombstone() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    without_rate_limits(&sim);
    let json_via = Json(&token);
    let post = async |params: Value| {
        call(&sim, json_via, "chat.postMessage", &params)
            .await
            .json()
    };
    let gone = post(json!({"channel": "U0BOB00001", "text": "to be deleted"})).await;
    let dm = gone["channel"].clone();
    let delete = async |ts: &Value| {
        call(
            &sim,
            json_via,
            "chat.delete",
            &json!({"channel": dm, "ts": ts}),
        )
        .await
        .json()
    };
    assert_eq!(
        delete(&gone["ts"]).await,
        json!({"ok": true, "channel": dm, "ts": gone["ts"]})
    );
    assert!(
        !get(&sim_url(&sim, "/_sim/?member=U0BOB00001"))
            .await
            .text()
            .contains("to be deleted")
    );
    assert_eq!(delete(&gone["ts"]).await["error"], "message_not_found");
    let v = call(
        &sim,
        json_via,
        "chat.delete",
        &json!({"channel": "D0NOPE0000", "ts": gone["ts"]}),
    )
    .await
    .json();
    assert_eq!(v["error"], "channel_not_found");

    // A parent with a reply: a tombstone keeps the thread; deleting the last reply takes the tombstone away.
    let parent = post(json!({"channel": dm, "text": "parent"})).await;
    let reply = post(json!({"channel": dm, "text": "reply", "thread_ts": parent["ts"]})).await;
    assert_eq!(delete(&parent["ts"]).await["ok"], true);
    let history = async || {
        call(
            &sim,
            Get(&token),
            "conversations.history",
            &json!({"channel": dm}),
        )
        .await
        .json()
    };
    let v = history().await;
    let tomb = &v["messages"][0];
    assert_eq!(
        (
            &tomb["subtype"],
            &tomb["text"],
            &tomb["hidden"],
            &tomb["reply_count"]
        ),
        (
            &json!("tombstone"),
            &json!("This message was deleted."),
            &json!(true),
            &json!(1)
        ),
        "{v}"
    );
    let html = get(&sim_url(&sim, "/_sim/?member=U0BOB00001")).await.text();
    assert!(
        html.contains("This message was deleted.") && html.contains("1 reply"),
        "{html}"
    );
    // A tombstone cannot be changed or deleted again.
    let v = call(
        &sim,
        json_via,
        "chat.update",
        &json!({"channel": dm, "ts": parent["ts"], "text": "x"}),
    )
    .await
    .json();
    assert_eq!(v["error"], "message_not_found");
    assert_eq!(delete(&reply["ts"]).await["ok"], true);
    assert_eq!(history().await["messages"], json!([]));
}

#[tokio::test]
async fn a_bot_may_change_only_its_own_messages() {
    let mut cfg = SimConfig::demo();
    cfg.workspace.restrict_app_installs = true;
    let sim = start_with(cfg).await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    // Bob asks for the app and is denied: Slackbot tells him, in his Slackbot conversation.
    let st = sim.state();
    let request = [
        ("client_id", st.app.client_id.as_str()),
        ("scope", "chat:write"),
        ("member", "U0BOB00001"),
        ("action", "request"),
        ("message", "please"),
    ];
    post_form(&sim.authorize_url(), &request).await;
    let id = sim.requests()[0].id.clone();
    sim.deny_request(&id).unwrap();
    // The app posts to Bob under a custom name: its message lands beside Slackbot's.
    let posted = call(
        &sim,
        Json(&token),
        "chat.postMessage",
        &json!({"channel": "U0BOB00001", "text": "from Acme", "username": "Acme"}),
    )
    .await
    .json();
    let conv = sim
        .conversations()
        .into_iter()
        .find(|c| c.member_id == "U0BOB00001" && c.kind == ConversationKind::Slackbot)
        .unwrap();
    assert_eq!(posted["channel"], conv.id.as_str());
    let slackbots = conv.messages[0].ts.clone();
    let form = Form(Some(&token));
    let at = |ts: &str| json!({"channel": conv.id, "ts": ts, "text": "changed"});
    let posted_ts = posted["ts"].as_str().unwrap();
    run_cases(
        &sim,
        &[
            Case::err(form, "chat.update", at(&slackbots), "cant_update_message"),
            Case::err(form, "chat.delete", at(&slackbots), "cant_delete_message"),
            Case::ok(form, "chat.update", at(posted_ts)),
            Case::ok(form, "chat.delete", at(posted_ts)),
        ],
    )
    .await;
    let left = sim.conversation(&conv.id).unwrap().messages;
    assert!(
        left.iter().all(|m| m.sender == Sender::Slackbot),
        "{left:?}"
    );
    assert!(left.iter().any(|m| m.text.contains("not approved")));
    // Scopes: chat:write.
    let (sim2, t2) = start_installed("im:write").await;
    for m in ["chat.update", "chat.delete"] {
        let v = call(
            &sim2,
            Get(&t2),
            m,
            &json!({"channel": "D0NOPE0000", "ts": "1.1"}),
        )
        .await
        .json();
        assert_eq!(
            (&v["error"], &v["needed"]),
            (&json!("missing_scope"), &json!("chat:write"))
        );
    }
}
