//! What the simulated Slack keeps from a hostile page: no secret in its pages and JSON, no answer to a `Host`
//! that is not its own (DNS rebinding), no POST from another site and no page form without its token. Each table
//! row is one request; the Web API called as servers and client libraries call it keeps working.

mod util;

use serde_json::json;
use slack_sim::SimHandle;
use util::Via::Form;
use util::*;

/// One request of a table, and the status it must get.
struct Attempt<'a> {
    /// What it stands for.
    what: &'a str,
    /// `GET` or `POST`.
    method: &'a str,
    /// The path (and query).
    path: String,
    /// Headers besides the body's content type.
    headers: Vec<(&'a str, String)>,
    /// The body.
    body: Option<Body<'a>>,
    /// The status expected.
    status: u16,
}

/// Sends each attempt and checks its status; returns the answers.
async fn run(sim: &SimHandle, attempts: Vec<Attempt<'_>>) -> Vec<Resp> {
    let mut answers = Vec::new();
    for a in attempts {
        let headers: Vec<(&str, &str)> = a.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = request(a.method, &sim_url(sim, &a.path), &headers, a.body)
            .await
            .unwrap_or_else(|e| panic!("{}: no answer: {e}", a.what));
        assert_eq!(
            r.status,
            a.status,
            "{}: {} {}: {}",
            a.what,
            a.method,
            a.path,
            r.text()
        );
        answers.push(r);
    }
    answers
}

#[tokio::test]
async fn pages_and_json_show_no_secret_token_or_code() {
    let sim = start_demo().await;
    let cfg = sim.state();
    let code = allow(&sim, "U0ADMIN001", ALL_SCOPES, "st").await["code"].clone();
    let exchanged = exchange(&sim, &code).await.json();
    let token = exchanged["access_token"].as_str().unwrap().to_string();
    let dm = call(
        &sim,
        Form(Some(&token)),
        "conversations.open",
        &json!({"users": "U0ALICE001"}),
    )
    .await
    .json()["channel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        &sim,
        Form(Some(&token)),
        "chat.postMessage",
        &json!({"channel": dm, "text": "hi"}),
    )
    .await;
    let secrets = [
        ("client secret", cfg.app.client_secret.as_str()),
        ("signing secret", cfg.app.signing_secret.as_str()),
        ("bot token", token.as_str()),
        ("OAuth code", code.as_str()),
    ];
    let consent = format!(
        "/oauth/v2/authorize?{}",
        encode(&[("client_id", &cfg.app.client_id), ("scope", "chat:write")])
    );
    let html = [("accept", "text/html")];
    let pages: [(&str, &[(&str, &str)]); 12] = [
        ("/_sim/state", &[]),
        ("/_sim/installations", &[]),
        ("/_sim/calls", &[]),
        ("/_sim/conversations", &[]),
        ("/_sim/deliveries", &[]),
        ("/_sim/interactions", &[]),
        ("/_sim/requests", &[]),
        ("/_sim/requests", &html),
        ("/_sim/faults", &[]),
        ("/_sim/clock", &[]),
        ("/_sim/?member=U0ALICE001", &html),
        (&consent, &html),
    ];
    for (path, headers) in pages {
        let r = get_with(&sim_url(&sim, path), headers).await;
        assert_eq!(r.status, 200, "{path}");
        let body = r.text();
        for (what, secret) in secrets {
            assert!(!body.contains(secret), "{path} shows the {what}:\n{body}");
        }
    }
    // What is shown instead: tokens told apart by their last characters, the secrets not at all.
    let state = get(&sim_url(&sim, "/_sim/state")).await.json();
    let fingerprint = format!("xoxb-…{}", &token[token.len() - 4..]);
    assert_eq!(state["installations"][0]["bot_token"], fingerprint.as_str());
    assert_eq!(state["app"]["client_secret"], "(hidden)");
    assert_eq!(state["app"]["signing_secret"], "(hidden)");
    let calls = get(&sim_url(&sim, "/_sim/calls")).await.json();
    let access = calls
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["method"] == "oauth.v2.access")
        .unwrap();
    assert_eq!(access["response"]["access_token"], fingerprint.as_str());
    assert_eq!(
        access["params"]["code"],
        format!("…{}", &code[code.len() - 4..]).as_str()
    );
    // In process, the secrets are there for whoever runs the simulation.
    assert_eq!(
        sim.state().installations[0].bot_token.as_deref(),
        Some(token.as_str())
    );
}

#[tokio::test]
async fn only_its_own_host_is_answered() {
    let sim = start_demo().await;
    let port = sim.addr().port();
    let host = |h: &str| vec![("host", h.to_string())];
    let mut attempts = Vec::new();
    for (what, authority, status) in [
        ("its address", format!("127.0.0.1:{port}"), 200),
        ("localhost", format!("localhost:{port}"), 200),
        ("IPv6 loopback", format!("[::1]:{port}"), 200),
        (
            "the host it stands for (a routed connector)",
            "slack.com".to_string(),
            200,
        ),
        ("slack.com with a port", "slack.com:443".to_string(), 200),
        ("a rebound name", format!("attacker.example:{port}"), 421),
        (
            "a name ending in its address",
            format!("127.0.0.1.attacker.example:{port}"),
            421,
        ),
        (
            "a look-alike of slack.com",
            "slack.com.attacker.example".to_string(),
            421,
        ),
        (
            "another port",
            format!("127.0.0.1:{}", port.wrapping_add(1)),
            421,
        ),
        ("no port (80)", "127.0.0.1".to_string(), 421),
        ("userinfo", format!("slack.com@127.0.0.1:{port}"), 421),
    ] {
        for path in ["/_sim/state", "/api/api.test", "/_sim/?member=U0ALICE001"] {
            attempts.push(Attempt {
                what,
                method: "GET",
                path: path.to_string(),
                headers: host(&authority),
                body: None,
                status,
            });
        }
    }
    let answers = run(&sim, attempts).await;
    let refused = answers.iter().find(|r| r.status == 421).unwrap();
    assert!(
        refused.text().contains("answers only for") && refused.text().contains("slack.com"),
        "the refusal says why: {}",
        refused.text()
    );

    // Raw requests: no Host, or an absolute target naming another server.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for (what, head, status) in [
        ("no Host", "GET /_sim/state HTTP/1.1\r\n".to_string(), "400"),
        (
            "absolute target of another server",
            format!(
                "GET http://attacker.example/_sim/state HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            ),
            "421",
        ),
        (
            "two Hosts",
            format!(
                "GET /_sim/state HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: attacker.example\r\n"
            ),
            "400",
        ),
    ] {
        let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
        s.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{what}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_told_host_name_is_answered_and_a_bad_one_refused_at_start() {
    let mut cfg = slack_sim::SimConfig::demo();
    cfg.hosts = vec!["slack.test".into()];
    let sim = start_with(cfg.clone()).await;
    for (authority, status) in [
        ("slack.test", 200),
        ("SLACK.TEST:8443", 200),
        ("slack.com", 421),
    ] {
        let r = get_with(&sim_url(&sim, "/_sim/clock"), &[("host", authority)]).await;
        assert_eq!(r.status, status, "{authority}");
    }
    cfg.hosts = vec!["slack.test:443".into()];
    let err = slack_sim::start(loopback(), cfg)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("not a host name"), "{err}");
}

#[tokio::test]
async fn posts_from_another_site_and_forms_without_their_token_are_refused() {
    let (sim, token) = start_installed(ALL_SCOPES).await;
    let cfg = sim.state();
    let own = sim.base_url();
    let session = browser_session(&own).await;
    let other = browser_session(&own).await;
    let lms = format!("http://127.0.0.1:{}", sim.addr().port().wrapping_add(1));
    let browser = |origin: &str, site: &str| {
        vec![
            ("cookie", session.cookie.clone()),
            ("origin", origin.to_string()),
            ("sec-fetch-site", site.to_string()),
        ]
    };
    let forms: [Vec<(&str, &str)>; 3] = [
        vec![("by", "admin"), ("csrf_token", &session.token)],
        vec![("by", "admin")],
        vec![("by", "admin"), ("csrf_token", &other.token)],
    ];
    let drop_everything = json!({"method": "*", "fault": {"kind": "drop"}});
    let an_hour = json!({"advance_secs": 3600});
    let a_click = json!({"member": "U0ALICE001"});
    let a_second = json!({"advance_secs": 1});
    let allow: Vec<(&str, &str)> = vec![
        ("client_id", &cfg.app.client_id),
        ("scope", "chat:write"),
        ("member", "U0ADMIN001"),
        ("action", "allow"),
        ("csrf_token", &session.token),
    ];
    let attempts = vec![
        Attempt {
            what: "a foreign page's form",
            method: "POST",
            path: "/_sim/apps/uninstall".into(),
            headers: browser("http://attacker.example", "cross-site"),
            body: Some(Body::Form(&forms[0])),
            status: 403,
        },
        Attempt {
            what: "a sandboxed iframe's form (Origin: null)",
            method: "POST",
            path: "/_sim/apps/uninstall".into(),
            headers: vec![
                ("cookie", session.cookie.clone()),
                ("origin", "null".into()),
            ],
            body: Some(Body::Form(&forms[0])),
            status: 403,
        },
        Attempt {
            what: "another application on 127.0.0.1 (same site, other port)",
            method: "POST",
            path: "/_sim/apps/uninstall".into(),
            headers: browser(&lms, "same-site"),
            body: Some(Body::Form(&forms[0])),
            status: 403,
        },
        Attempt {
            what: "Sec-Fetch-Site: cross-site without an Origin",
            method: "POST",
            path: "/_sim/apps/uninstall".into(),
            headers: vec![
                ("cookie", session.cookie.clone()),
                ("sec-fetch-site", "cross-site".into()),
            ],
            body: Some(Body::Form(&forms[0])),
            status: 403,
        },
        Attempt {
            what: "a form without a token",
            method: "POST",
            path: "/_sim/apps/uninstall".into(),
            headers: vec![("cookie", session.cookie.clone())],
            body: Some(Body::Form(&forms[1])),
            status: 403,
        },
        Attempt {
            what: "a form with another session's token",
            method: "POST",
            path: "/_sim/apps/uninstall".into(),
            headers: browser(&own, "same-origin"),
            body: Some(Body::Form(&forms[2])),
            status: 403,
        },
        Attempt {
            what: "a text/plain form (JSON smuggled past a form)",
            method: "POST",
            path: "/_sim/apps/uninstall".into(),
            headers: vec![],
            body: Some(Body::Raw("text/plain", br#"{"by":"admin"}"#.to_vec())),
            status: 415,
        },
        Attempt {
            what: "a foreign page's Allow on the consent page",
            method: "POST",
            path: "/oauth/v2/authorize".into(),
            headers: browser("http://attacker.example", "cross-site"),
            body: Some(Body::Form(&allow)),
            status: 403,
        },
        Attempt {
            what: "a foreign page's script setting a fault",
            method: "POST",
            path: "/_sim/faults".into(),
            headers: vec![("origin", "http://attacker.example".into())],
            body: Some(Body::Json(&drop_everything)),
            status: 403,
        },
        Attempt {
            what: "a foreign page moving the clock",
            method: "POST",
            path: "/_sim/clock".into(),
            headers: vec![("sec-fetch-site", "cross-site".into())],
            body: Some(Body::Json(&an_hour)),
            status: 403,
        },
        Attempt {
            what: "a foreign page signing a member in",
            method: "POST",
            path: "/_sim/signin".into(),
            headers: browser("http://attacker.example", "cross-site"),
            body: Some(Body::Form(&forms[0])),
            status: 403,
        },
        Attempt {
            what: "a foreign page clicking a button",
            method: "POST",
            path: "/_sim/click".into(),
            headers: vec![("origin", "null".into())],
            body: Some(Body::Json(&a_click)),
            status: 403,
        },
        Attempt {
            what: "a foreign page's form to the Web API",
            method: "POST",
            path: "/api/apps.uninstall".into(),
            headers: vec![("origin", "http://attacker.example".into())],
            body: Some(Body::Raw(
                "application/x-www-form-urlencoded",
                encode(&[
                    ("token", &token),
                    ("client_id", &cfg.app.client_id),
                    ("client_secret", &cfg.app.client_secret),
                ])
                .into_bytes(),
            )),
            status: 403,
        },
        Attempt {
            what: "a sandboxed frame calling the Web API",
            method: "POST",
            path: "/api/auth.revoke".into(),
            headers: vec![
                ("origin", "null".into()),
                ("authorization", format!("Bearer {token}")),
            ],
            body: None,
            status: 403,
        },
        Attempt {
            what: "a foreign page's image calling the Web API",
            method: "GET",
            path: format!("/api/auth.revoke?token={token}"),
            headers: vec![("sec-fetch-site", "cross-site".into())],
            body: None,
            status: 403,
        },
    ];
    let answers = run(&sim, attempts).await;
    let api_refusal = answers[answers.len() - 1].json();
    assert_eq!(api_refusal["ok"], false);
    assert_eq!(api_refusal["error"], "cross_site_request");
    // None of them changed anything.
    let state = sim.state();
    assert!(state.installations[0].active, "the app is still installed");
    assert!(state.faults.is_empty());
    assert_eq!(state.clock_offset_secs, 0.0);
    assert!(sim.interactions().is_empty());
    let calls = sim.api_calls();
    assert!(
        calls.is_empty()
            || calls
                .iter()
                .all(|c| c.method != "auth.revoke" && c.method != "apps.uninstall")
    );
    run_cases(
        &sim,
        &[Case::ok(Form(Some(&token)), "auth.test", json!({}))],
    )
    .await;

    // The same requests from the simulation's own pages, or from a script (no Origin), pass.
    let attempts = vec![
        Attempt {
            what: "a script's JSON (no Origin)",
            method: "POST",
            path: "/_sim/clock".into(),
            headers: vec![],
            body: Some(Body::Json(&a_second)),
            status: 200,
        },
        Attempt {
            what: "a client library's Web API call (no Origin)",
            method: "POST",
            path: "/api/auth.test".into(),
            headers: vec![("authorization", format!("Bearer {token}"))],
            body: Some(Body::Raw("application/x-www-form-urlencoded", Vec::new())),
            status: 200,
        },
        Attempt {
            what: "the web view's own form",
            method: "POST",
            path: "/_sim/apps/uninstall".into(),
            headers: browser(&own, "same-origin"),
            body: Some(Body::Form(&forms[0])),
            status: 303,
        },
    ];
    run(&sim, attempts).await;
    assert!(
        !sim.state().installations[0].active,
        "the admin's own form removed the app"
    );
}

#[tokio::test]
async fn every_form_of_the_pages_carries_the_sessions_token() {
    let mut cfg = slack_sim::SimConfig::demo();
    cfg.workspace.restrict_app_installs = true;
    let sim = start_with(cfg).await;
    let snapshot = sim.state();
    let session = browser_session(&sim.base_url()).await;
    let cookie = [("cookie", session.cookie.as_str()), ("accept", "text/html")];
    // Alice asks for the app: the request form; then the app manager's approval page.
    let consent = format!(
        "/oauth/v2/authorize?{}",
        encode(&[
            ("client_id", &snapshot.app.client_id),
            ("scope", "chat:write"),
            ("member", "U0ALICE001"),
        ])
    );
    let request_form = get_with(&sim_url(&sim, &consent), &cookie).await.text();
    let fields: Vec<(&str, &str)> = vec![
        ("client_id", &snapshot.app.client_id),
        ("scope", "chat:write"),
        ("member", "U0ALICE001"),
        ("action", "request"),
        ("message", "please"),
    ];
    assert_eq!(post_form(&sim.authorize_url(), &fields).await.status, 200);
    let requests = get_with(&sim_url(&sim, "/_sim/requests"), &cookie)
        .await
        .text();
    let admin_consent = consent.replace("U0ALICE001", "U0ADMIN001");
    let pages = [
        (
            "the web view",
            get_with(&sim_url(&sim, "/_sim/"), &cookie).await.text(),
        ),
        ("the request form", request_form),
        (
            "the consent page",
            get_with(&sim_url(&sim, &admin_consent), &cookie)
                .await
                .text(),
        ),
        ("the requests page", requests),
    ];
    for (what, html) in pages {
        let posting = html.matches(r#"method="post""#).count();
        assert!(posting > 0, "{what} has a form:\n{html}");
        let with_token = format!(r#"name="csrf_token" value="{}""#, session.token);
        assert_eq!(
            html.matches(&with_token).count(),
            posting,
            "{what}: every form carries the token:\n{html}"
        );
    }
}
