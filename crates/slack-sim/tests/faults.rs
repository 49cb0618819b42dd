//! The simulated Slack under stress: injected faults, rate limits with a time scale, and malformed input
//! thrown at every endpoint (seeded, bounded) with a well-formed HTTP answer expected every time.

mod util;

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use slack_sim::{Fault, METHODS, RateLimits, SimConfig};
use util::Via::{Form, Get, Json};
use util::*;

#[tokio::test]
async fn each_fault_kind() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    let url = format!("{}auth.test", sim.api_url());
    let auth = format!("Bearer {token}");
    let h = [("authorization", auth.as_str())];
    // auth.test with the token; `Err` when the connection closed without an answer.
    let auth_test = async || request("GET", &url, &h, None).await;
    let set_over_http = async |body: Value| post_json(&sim_url(&sim, "/_sim/faults"), &body).await;

    // HTTP 503 once, then normal.
    sim.set_fault(
        "auth.test",
        Fault::HttpStatus {
            status: 503,
            count: Some(1),
        },
    );
    assert_eq!(auth_test().await.unwrap().status, 503);
    assert_eq!(auth_test().await.unwrap().json()["ok"], true);

    // HTTP 500 until cleared, set over HTTP.
    let f = set_over_http(
        json!({"method": "auth.test", "fault": {"kind": "http_status", "status": 500}}),
    )
    .await;
    assert_eq!(f.json()["ok"], true);
    for _ in 0..3 {
        assert_eq!(auth_test().await.unwrap().status, 500);
    }
    set_over_http(json!({"method": "auth.test", "fault": null})).await;
    assert_eq!(auth_test().await.unwrap().status, 200);
    let bogus = set_over_http(json!({"method": "auth.test", "fault": {"kind": "bogus"}})).await;
    assert_eq!(bogus.status, 400);

    // A slow answer.
    sim.set_fault(
        "auth.test",
        Fault::Delay {
            ms: 300,
            count: Some(1),
        },
    );
    let t = Instant::now();
    assert_eq!(auth_test().await.unwrap().json()["ok"], true);
    assert!(t.elapsed() >= Duration::from_millis(300));

    // A dropped connection: no answer at all.
    sim.set_fault("auth.test", Fault::Drop { count: Some(1) });
    assert!(auth_test().await.is_err());
    let last = sim.api_calls().last().unwrap().clone();
    assert_eq!((last.status, last.fault.as_deref()), (0, Some("drop")));
    assert_eq!(auth_test().await.unwrap().status, 200);

    // A burst of ratelimited.
    sim.set_fault(
        "auth.test",
        Fault::Ratelimited {
            count: 2,
            retry_after: 7,
        },
    );
    for _ in 0..2 {
        let r = auth_test().await.unwrap();
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after").as_deref(), Some("7"));
        assert_eq!(r.json(), json!({"ok": false, "error": "ratelimited"}));
    }
    assert_eq!(auth_test().await.unwrap().status, 200);

    // A Slack error.
    sim.set_fault(
        "*",
        Fault::SlackError {
            error: "fatal_error".into(),
            count: Some(1),
        },
    );
    assert_eq!(
        auth_test().await.unwrap().json(),
        json!({"ok": false, "error": "fatal_error"})
    );

    // Answer lost after posting: the message is stored, the caller sees a dropped connection.
    sim.set_fault("chat.postMessage", Fault::LostAfterPost { count: Some(1) });
    let post = json!({"channel": "U0ALICE001", "text": "did it arrive?"});
    let r = request(
        "POST",
        &format!("{}chat.postMessage", sim.api_url()),
        &h,
        Some(Body::Json(&post)),
    )
    .await;
    assert!(r.is_err(), "{r:?}");
    let msgs = sim.messages_for_member("U0ALICE001");
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].message.text, "did it arrive?");
    let last = sim.api_calls().last().unwrap().clone();
    assert_eq!(last.status, 0);
    assert_eq!(last.response.unwrap()["ok"], true);
    // Faults expire after their count.
    let faults = get(&sim_url(&sim, "/_sim/faults")).await.json();
    assert!(faults.as_object().unwrap().is_empty());
}

fn limits(f: impl FnOnce(&mut RateLimits)) -> RateLimits {
    let mut r = RateLimits {
        enabled: true,
        ..RateLimits::default()
    };
    f(&mut r);
    r
}

/// The `Retry-After` of a 429.
fn retry_after(r: &Resp) -> u64 {
    assert_eq!(r.status, 429);
    r.header("retry-after").unwrap().parse().unwrap()
}

#[tokio::test]
async fn tier_limits_answer_429_with_retry_after() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    let users_list = async || call(&sim, Get(&token), "users.list", &json!({})).await;
    let lookup = json!({"email": "alice@example.com"});
    let status =
        async |method: &str, params: &Value| call(&sim, Get(&token), method, params).await.status;
    // On by default, as in Slack: users.list is Tier 2, 20 a minute.
    for _ in 0..20 {
        assert_eq!(users_list().await.status, 200);
    }
    assert_eq!(users_list().await.json()["error"], "ratelimited");
    // 2 a minute, real time: the third waits 30 s.
    sim.set_rate_limits(limits(|r| {
        r.per_method_per_minute.insert("users.list".into(), 2);
    }));
    assert_eq!(users_list().await.status, 200);
    assert_eq!(users_list().await.status, 200);
    let r = users_list().await;
    assert_eq!(r.json(), json!({"ok": false, "error": "ratelimited"}));
    let retry = retry_after(&r);
    assert!((29..=30).contains(&retry), "{retry}");
    // Other methods have their own budget.
    assert_eq!(status("auth.test", &json!({})).await, 200);
    // The simulation clock moves on: allowed again.
    sim.advance_clock(Duration::from_secs(30));
    assert_eq!(users_list().await.status, 200);
    let calls = sim.api_calls();
    assert!(
        calls
            .iter()
            .any(|c| c.status == 429 && c.method == "users.list")
    );

    // Slack's tiers by default: users.list is Tier 2 (20 a minute), lookups Tier 3 (50). Time runs 100×
    // slower here, so no call is refilled during the test.
    sim.set_rate_limits(limits(|r| r.time_scale = 0.01));
    for (method, params, per_minute) in [
        ("users.list", json!({}), 20),
        ("users.lookupByEmail", lookup, 50),
    ] {
        for i in 0..per_minute {
            assert_eq!(status(method, &params).await, 200, "{method} call {i}");
        }
        let r = call(&sim, Get(&token), method, &params).await;
        let retry = retry_after(&r);
        if method == "users.list" {
            // 3 Slack seconds at 0.01× is 300 real seconds.
            assert!((290..=300).contains(&retry), "{retry}");
        }
    }
}

#[tokio::test]
async fn time_scale_shortens_retry_after() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    // One a minute, with a minute of Slack passing in 10 real seconds.
    sim.set_rate_limits(limits(|r| {
        r.time_scale = 6.0;
        r.per_method_per_minute.insert("users.list".into(), 1);
    }));
    let users_list = async || call(&sim, Get(&token), "users.list", &json!({})).await;
    assert_eq!(users_list().await.status, 200);
    let retry = retry_after(&users_list().await);
    assert!((8..=10).contains(&retry), "{retry}");
}

#[tokio::test]
async fn post_message_limits_per_conversation_and_workspace() {
    let mut cfg = SimConfig::demo();
    cfg.rate_limits = limits(|r| {
        r.time_scale = 0.001;
        r.post_channel_burst = 3;
        r.post_workspace_per_minute = 6;
    });
    let sim = start_with(cfg).await;
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    let post = async |channel: &str| {
        let params = json!({"channel": channel, "text": "x"});
        call(&sim, Json(&token), "chat.postMessage", &params).await
    };
    // A burst of 3 in one conversation, then about one a second.
    for _ in 0..3 {
        assert_eq!(post("U0ALICE001").await.status, 200);
    }
    let r = post("U0ALICE001").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"], "ratelimited");
    sim.advance_clock(Duration::from_secs(1));
    assert_eq!(post("U0ALICE001").await.status, 200);
    // Other conversations are not affected, until the workspace cap (6 a minute here).
    assert_eq!(post("U0BOB00001").await.status, 200);
    assert_eq!(post("U0CHEN0001").await.status, 200);
    // 10 Slack seconds for the next workspace token, at 0.001×.
    let retry = retry_after(&post("U0MANAGER1").await);
    assert!(retry > 1000, "{retry}");
    // The refused post did not use up the conversation's allowance.
    sim.advance_clock(Duration::from_secs(10));
    assert_eq!(post("U0MANAGER1").await.status, 200);
    // Only the accepted posts are stored.
    let stored: usize = sim.conversations().iter().map(|c| c.messages.len()).sum();
    assert_eq!(stored, 7);
}

// ------------------------------------------------------------------------------------------------------------
// Malformed input.

fn random_string(rng: &mut StdRng, max: usize) -> String {
    let n = rng.random_range(0..=max);
    (0..n)
        .map(|_| match rng.random_range(0..6) {
            0 => rng.random_range(0x20u8..0x7f) as char,
            1 => [
                '<', '>', '&', '*', '_', '|', '^', '!', '@', '#', '"', '\\', '{', '}',
            ][rng.random_range(0..14)],
            2 => char::from_u32(rng.random_range(0x80..0x2FFF)).unwrap_or('é'),
            3 => ['\n', '\t', '\0', '\u{202E}', '\u{FEFF}'][rng.random_range(0..5)],
            _ => rng.random_range(b'a'..=b'z') as char,
        })
        .collect()
}

fn random_json(rng: &mut StdRng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 4 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(rng.random::<i64>()),
        3 => json!(rng.random::<f64>() * 1e12),
        4 => json!(random_string(rng, 40)),
        5 => Value::Array(
            (0..rng.random_range(0..6))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
        6 => {
            let keys = [
                "type",
                "text",
                "elements",
                "fields",
                "accessory",
                "image_url",
                "alt_text",
                "url",
                "action_id",
                "block_id",
                "emoji",
                "x",
            ];
            let mut m = serde_json::Map::new();
            for _ in 0..rng.random_range(0..6) {
                m.insert(
                    keys[rng.random_range(0..keys.len())].into(),
                    random_json(rng, depth + 1),
                );
            }
            Value::Object(m)
        }
        _ => random_block(rng, depth + 1),
    }
}

fn random_block(rng: &mut StdRng, depth: u32) -> Value {
    let types = [
        "header", "section", "image", "context", "actions", "divider", "video", "", "button",
        "mrkdwn",
    ];
    let t = types[rng.random_range(0..types.len())];
    let text = |rng: &mut StdRng| {
        let tt = ["plain_text", "mrkdwn", "weird"][rng.random_range(0..3)];
        let len = [0, 5, 75, 76, 150, 151, 3000, 3001][rng.random_range(0..8)];
        json!({"type": tt, "text": "x".repeat(len)})
    };
    let mut b = json!({"type": t});
    if rng.random_bool(0.7) {
        b["text"] = text(rng);
    }
    if rng.random_bool(0.4) {
        let n = rng.random_range(0..30);
        b["elements"] = Value::Array(
            (0..n)
                .map(|_| {
                    if rng.random_bool(0.5) {
                        json!({"type": "button", "text": text(rng), "url": format!("https://x.test/{}", "a".repeat(rng.random_range(0..3100))), "action_id": random_string(rng, 300)})
                    } else if depth < 6 {
                        random_json(rng, depth + 1)
                    } else {
                        Value::Null
                    }
                })
                .collect(),
        );
    }
    if rng.random_bool(0.3) {
        b["image_url"] = json!(
            [
                "https://x.test/a.png",
                "https://x.test/a.SVG?x.png",
                "ftp://x",
                "",
                "https://x.test/a.JPEG"
            ][rng.random_range(0..5)]
        );
        b["alt_text"] = json!("a".repeat([0, 10, 2001][rng.random_range(0..3)]));
    }
    b
}

fn deep_json(depth: usize) -> String {
    let mut s = String::new();
    for _ in 0..depth {
        s.push_str("{\"a\":[");
    }
    for _ in 0..depth {
        s.push_str("]}");
    }
    s
}

/// Throws malformed bodies, tokens, blocks and parameters at every endpoint; every answer must be a
/// well-formed HTTP answer (and a Slack envelope on `/api/` when 200), and the server must keep working.
#[tokio::test]
async fn malformed_input_never_breaks_the_server() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    let dm = open_dm(&sim, &token, "U0ALICE001").await;
    let mut rng = StdRng::seed_from_u64(0x51ac_c0de);
    let fields = [
        "channel",
        "text",
        "blocks",
        "users",
        "email",
        "user",
        "limit",
        "cursor",
        "code",
        "client_id",
        "client_secret",
        "username",
        "icon_url",
        "metadata",
        "return_im",
        "latest",
        "oldest",
        "inclusive",
        "attachments",
        "test",
        "redirect_uri",
        "grant_type",
        "include_all_metadata",
    ];
    let mut methods: Vec<&str> = METHODS.iter().map(|(m, _)| *m).collect();
    methods.extend(["nope.method", "chat.postMessage%00", "..%2F..%2Fetc"]);
    let iterations = 400;
    for i in 0..iterations {
        let method = methods[rng.random_range(0..methods.len())];
        let tok: String = match rng.random_range(0..6) {
            0 => token.clone(),
            1 => String::new(),
            2 => format!("xoxb-{}", random_string(&mut rng, 30)),
            3 => random_string(&mut rng, 50),
            4 => "x".repeat(5000),
            _ => token.clone(),
        };
        // Parameters: valid-looking, wrong types, random.
        let mut obj = serde_json::Map::new();
        for _ in 0..rng.random_range(0..8) {
            let k = fields[rng.random_range(0..fields.len())];
            let v = match rng.random_range(0..7) {
                0 => json!(dm),
                1 => json!("U0ALICE001"),
                2 => Value::Array(
                    (0..rng.random_range(0..4))
                        .map(|_| random_block(&mut rng, 0))
                        .collect(),
                ),
                3 => random_json(&mut rng, 0),
                4 => json!(random_string(&mut rng, 200)),
                5 => json!(
                    Value::Array(
                        (0..rng.random_range(0..60))
                            .map(|_| json!({"type": "divider"}))
                            .collect()
                    )
                    .to_string()
                ),
                _ => json!(rng.random::<i32>()),
            };
            obj.insert(k.into(), v);
        }
        let url = format!("{}{method}", sim.api_url());
        let auth = format!("Bearer {}", tok.replace(['\n', '\r', '\0'], ""));
        let with_auth: Vec<(&str, &str)> =
            if rng.random_bool(0.6) && http::HeaderValue::from_str(&auth).is_ok() {
                vec![("authorization", auth.as_str())]
            } else {
                vec![]
            };
        let body: Option<(&str, Vec<u8>)> = match rng.random_range(0..9) {
            0 => Some((
                "application/json; charset=utf-8",
                Value::Object(obj.clone()).to_string().into_bytes(),
            )),
            1 => Some((
                "application/json",
                deep_json(rng.random_range(100..5000)).into_bytes(),
            )),
            2 => Some((
                "application/json",
                (0..rng.random_range(0..300))
                    .map(|_| rng.random::<u8>())
                    .collect(),
            )),
            3 => {
                let mut ser = form_urlencoded::Serializer::new(String::new());
                for (k, v) in &obj {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    ser.append_pair(k, &s);
                }
                ser.append_pair("token", &tok);
                Some((
                    "application/x-www-form-urlencoded",
                    ser.finish().into_bytes(),
                ))
            }
            4 => Some((
                "application/x-www-form-urlencoded",
                (0..rng.random_range(0..300))
                    .map(|_| rng.random::<u8>())
                    .collect(),
            )),
            5 => Some((
                "multipart/form-data; boundary=x",
                b"--x\r\n\r\n--x--".to_vec(),
            )),
            6 => Some(("text/plain; charset=latin1", b"token=x".to_vec())),
            7 => Some(("application/json; charset=utf-8", b"[1,2,3]".to_vec())),
            _ => None,
        };
        let (verb, body, url) = match body {
            Some(b) => ("POST", Some(b), url),
            None => {
                let mut q = form_urlencoded::Serializer::new(String::new());
                for (k, v) in &obj {
                    q.append_pair(k, &v.to_string());
                }
                ("GET", None, format!("{url}?{}", q.finish()))
            }
        };
        let body = body.map(|(content_type, bytes)| Body::Raw(content_type, bytes));
        let r = request(verb, &url, &with_auth, body).await;
        let r = r.unwrap_or_else(|e| panic!("iteration {i}: {method}: no answer: {e}"));
        assert!(
            [200, 404, 405, 413, 429].contains(&r.status),
            "iteration {i}: {method}: status {} {}",
            r.status,
            r.text()
        );
        if r.status == 200 {
            let v: Value = serde_json::from_slice(&r.body)
                .unwrap_or_else(|e| panic!("iteration {i}: {method}: not JSON: {e}: {}", r.text()));
            assert!(v["ok"].is_boolean(), "iteration {i}: {v}");
            if v["ok"] == false {
                assert!(v["error"].is_string(), "iteration {i}: {v}");
            }
        }
    }
    // The other endpoints.
    for i in 0..150 {
        let paths = [
            "/oauth/v2/authorize",
            "/_sim/",
            "/_sim/click",
            "/_sim/faults",
            "/_sim/clock",
            "/_sim/signin",
            "/_sim/requests/x/approve",
            "/_sim/conversations",
            "/_sim/state",
        ];
        let p = paths[rng.random_range(0..paths.len())];
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for _ in 0..rng.random_range(0..6) {
            let k = [
                "client_id",
                "scope",
                "redirect_uri",
                "state",
                "member",
                "action",
                "message",
                "conv",
                "channel",
                "ts",
                "action_id",
                "advance_secs",
                "offset_secs",
                "return_to",
                "method",
                "fault",
            ][rng.random_range(0..16)];
            let v = match rng.random_range(0..4) {
                0 => "1111111111.2222222222".to_string(),
                1 => "U0ALICE001".to_string(),
                2 => ["allow", "cancel", "request", "-1e309", "1e308", "NaN"]
                    [rng.random_range(0..6)]
                .to_string(),
                _ => random_string(&mut rng, 80),
            };
            ser.append_pair(k, &v);
        }
        let q = ser.finish();
        let r = if rng.random_bool(0.5) {
            request("GET", &sim_url(&sim, &format!("{p}?{q}")), &[], None).await
        } else {
            let ct = [
                "application/x-www-form-urlencoded",
                "application/json",
                "text/plain",
            ][rng.random_range(0..3)];
            let body = if ct == "application/json" {
                random_json(&mut rng, 0).to_string().into_bytes()
            } else {
                q.into_bytes()
            };
            request("POST", &sim_url(&sim, p), &[], Some(Body::Raw(ct, body))).await
        };
        let r = r.unwrap_or_else(|e| panic!("iteration {i}: {p}: no answer: {e}"));
        assert!(
            r.status < 500 || r.status == 503,
            "iteration {i}: {p}: {} {}",
            r.status,
            r.text()
        );
    }
    // Raw garbage on the socket.
    for _ in 0..20 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
        let junk: Vec<u8> = (0..rng.random_range(1..400))
            .map(|_| rng.random::<u8>())
            .collect();
        let _ = s.write_all(&junk).await;
        let _ = s.write_all(b"\r\n\r\n").await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        if !buf.is_empty() {
            assert!(
                buf.starts_with(b"HTTP/1.1 "),
                "{}",
                String::from_utf8_lossy(&buf)
            );
        }
    }
    // Still alive and answering correctly (the fuzzing may have revoked the token: install again).
    let token = install(&sim, "U0ADMIN001", ALL_SCOPES).await;
    run_cases(
        &sim,
        &[
            Case::ok(Form(Some(&token)), "auth.test", json!({})),
            Case::ok(
                Json(&token),
                "chat.postMessage",
                json!({"channel": dm, "text": "still here"}),
            ),
        ],
    )
    .await;
    let view = get(&sim_url(&sim, "/_sim/?member=U0ALICE001")).await;
    assert_eq!(view.status, 200);
}
