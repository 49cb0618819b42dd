//! The LMS pages of `lms-harness serve` against a hostile visitor, each case against a real server on 127.0.0.1 with
//! a fresh data folder: no identity without a session cookie, forms refused without this site's origin or the
//! browser's CSRF token, `return_to` only to the site's pages, the OAuth state bound to the browser and single-use,
//! signed inbound events not replayable and refused ones not written to the database, slow clients cut off, and
//! no listening beyond loopback unless told.

use lms::integration::Tile;
use lms_harness::demo::consent;
use lms_harness::http_client::{self, Response};
use lms_harness::web::{PLATFORM, Server, Timeouts};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "support/browser.rs"]
mod browser;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use browser::{Browser, TIMEOUT, serve, session_cookie};
use temp_dir::TempDir;

fn audit_rows(server: &Server) -> i64 {
    server
        .harness
        .lms
        .db()
        .conn()
        .query_row("SELECT COUNT(*) FROM audit_log", (), |r| r.get(0))
        .unwrap()
}

fn preference(server: &Server, user: &str) -> bool {
    server
        .harness
        .lms
        .preference(PLATFORM, user, "assigned_to_session")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_without_a_session_is_anonymous_never_an_admin() {
    let dir = TempDir::new("anonymous");
    let server = serve(&dir, Timeouts::default()).await;
    let base = &server.lms_url;
    let nobody = Browser {
        base: base.clone(),
        cookie: None,
        csrf: String::new(),
    };
    for (path, back) in [
        ("/", "%2F"),
        ("/settings/connectors", "%2Fsettings%2Fconnectors"),
        (
            "/settings/connectors/slack/tile",
            "%2Fsettings%2Fconnectors%2Fslack%2Ftile",
        ),
        ("/paths", "%2Fpaths"),
        ("/notifications", "%2Fnotifications"),
    ] {
        let r = nobody.get(path).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(
            r.header("location"),
            Some(format!("/sign-in?return_to={back}").as_str()),
            "{path}"
        );
    }
    // A made-up cookie is no session either.
    let forged = Browser {
        cookie: Some("a".repeat(64)),
        ..Browser::anonymous(base).await
    };
    assert_eq!(forged.get("/settings/connectors").await.status, 303);

    // The sign-in page lists the users and shows nothing of the admin's.
    let page = http_client::get(&format!("{base}/sign-in")).await.unwrap();
    let text = page.text();
    assert!(text.contains(r#"value="admin""#) && text.contains(r#"value="learner-2""#));
    assert!(!text.contains("DEACTIVATE") && !text.contains("Settings → Connectors"));
    let cookie = page.header("set-cookie").unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }

    // POSTs that need a user are refused, even with this site's origin and a valid anonymous token.
    let anonymous = Browser::anonymous(base).await;
    let before = audit_rows(&server);
    let csrf = anonymous.csrf.clone();
    for path in [
        "/settings/connectors/slack/deactivate",
        "/settings/connectors/slack/requested",
        "/sessions/onboarding-2026-12/invite",
    ] {
        let r = anonymous.post(path, &[("csrf", &csrf)], Some(base)).await;
        assert_eq!(r.status, 403, "{path}: {}", r.text());
    }
    assert_eq!(audit_rows(&server), before, "nothing was done");

    // Signed in, the admin gets the admin page; signing out makes the browser anonymous again.
    let admin = Browser::signed_in(base, "admin").await;
    let page = admin.get("/settings/connectors").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Settings → Connectors"));
    let r = admin
        .post("/sign-out", &[("csrf", &admin.csrf)], Some(base))
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(admin.get("/settings/connectors").await.status, 303);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_this_site_s_origin_are_refused_and_change_nothing() {
    let dir = TempDir::new("origin");
    let server = serve(&dir, Timeouts::default()).await;
    let base = server.lms_url.clone();
    let learner = Browser::signed_in(&base, "learner-2").await;
    let admin = Browser::signed_in(&base, "admin").await;
    assert!(preference(&server, "learner-2"));
    let notifications_before: i64 = server
        .harness
        .lms
        .db()
        .conn()
        .query_row("SELECT COUNT(*) FROM notifications", (), |r| r.get(0))
        .unwrap();
    for origin in [
        None,
        Some("null"),
        Some("http://evil.example"),
        Some(&*base.replace("127.0.0.1", "localhost")),
    ] {
        // Turning the learner's switches off (an absent switch is off).
        let r = learner
            .post("/me/notifications", &[("csrf", &learner.csrf)], origin)
            .await;
        assert_eq!(r.status, 403, "{origin:?}: {}", r.text());
        assert!(preference(&server, "learner-2"), "{origin:?}");
        // Re-inviting every learner.
        let r = admin
            .post(
                "/sessions/onboarding-2026-12/invite",
                &[("csrf", &admin.csrf)],
                origin,
            )
            .await;
        assert_eq!(r.status, 403, "{origin:?}");
        // Signing in (login CSRF).
        let r = admin
            .post(
                "/sign-in",
                &[("user", "learner-2"), ("csrf", &admin.csrf)],
                origin,
            )
            .await;
        assert_eq!(r.status, 403, "{origin:?}");
        assert_eq!(session_cookie(&r), None);
    }
    let notifications_after: i64 = server
        .harness
        .lms
        .db()
        .conn()
        .query_row("SELECT COUNT(*) FROM notifications", (), |r| r.get(0))
        .unwrap();
    assert_eq!(notifications_after, notifications_before);
    // The same form from the site itself goes through.
    let r = learner
        .post("/me/notifications", &[("csrf", &learner.csrf)], Some(&base))
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(!preference(&server, "learner-2"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_the_browser_s_csrf_token_are_refused_and_change_nothing() {
    let dir = TempDir::new("csrf");
    let server = serve(&dir, Timeouts::default()).await;
    let base = server.lms_url.clone();
    let learner = Browser::signed_in(&base, "learner-2").await;
    let other = Browser::signed_in(&base, "learner-2").await;
    assert_ne!(learner.csrf, other.csrf, "a token per browser");
    let wrong = "0".repeat(64);
    for fields in [
        vec![],
        vec![("csrf", "")],
        vec![("csrf", wrong.as_str())],
        vec![("csrf", other.csrf.as_str())],
    ] {
        let r = learner
            .post("/me/notifications", &fields, Some(&base))
            .await;
        assert_eq!(r.status, 403, "{fields:?}: {}", r.text());
        assert!(preference(&server, "learner-2"), "{fields:?}");
    }
    // The anonymous sign-in form needs its token too.
    let mut anonymous = Browser::anonymous(&base).await;
    anonymous.csrf = wrong.clone();
    let r = anonymous.sign_in("admin", "/").await;
    assert_eq!(r.status, 403);
    assert_eq!(session_cookie(&r), None);
    // The right token goes through.
    let r = learner
        .post("/me/notifications", &[("csrf", &learner.csrf)], Some(&base))
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(!preference(&server, "learner-2"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_to_goes_only_to_the_site_s_pages() {
    let dir = TempDir::new("return-to");
    let server = serve(&dir, Timeouts::default()).await;
    let base = server.lms_url.clone();
    for evil in [
        "/\\evil.example",
        "//evil.example",
        "/%2F%2Fevil.example",
        "/%5Cevil.example",
        "https://evil.example",
        "/\t/evil.example",
        "/paths/../../evil",
    ] {
        let mut b = Browser::anonymous(&base).await;
        let r = b.sign_in("admin", evil).await;
        assert_eq!(r.status, 303, "{evil:?}");
        assert_eq!(r.header("location"), Some("/"), "{evil:?}");
        // The sign-in page does not carry it either.
        let page = http_client::get(&format!(
            "{base}/sign-in?return_to={}",
            form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>()
        ))
        .await
        .unwrap();
        assert!(
            page.text()
                .contains(r#"<input type="hidden" name="return_to" value="/">"#),
            "{evil:?}"
        );
    }
    let mut b = Browser::anonymous(&base).await;
    let r = b.sign_in("admin", "/paths#path-onboarding").await;
    assert_eq!(r.header("location"), Some("/paths#path-onboarding"));
    server.shutdown().await;
}

/// The state of the consent URL an ACTIVATE redirected to.
fn state_of(consent_url: &str) -> String {
    http_client::query_pairs(consent_url)
        .into_iter()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v)
        .expect("a state in the consent URL")
}

/// The simulated workspace's admin, who installs the app.
fn installer() -> String {
    slack_sim::SimConfig::demo()
        .workspace
        .members
        .into_iter()
        .find(|m| m.is_admin)
        .expect("an admin member")
        .id
}

fn tile(server: &Server) -> Tile {
    server.harness.lms.tile(PLATFORM).unwrap()
}

/// The callback path with `query`.
fn callback_path(query: &[(String, String)]) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    format!("{}?{q}", lms_harness::web::CALLBACK_PATH)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oauth_state_is_bound_to_the_browser_and_single_use() {
    let dir = TempDir::new("oauth-state");
    let server = serve(&dir, Timeouts::default()).await;
    let base = server.lms_url.clone();
    let admin = Browser::signed_in(&base, "admin").await;
    let r = admin
        .post(
            "/settings/connectors/slack/requested",
            &[("csrf", &admin.csrf)],
            Some(&base),
        )
        .await;
    assert_eq!(r.status, 303);
    let requested = tile(&server);
    assert!(
        matches!(requested, Tile::ApprovalRequested(_)),
        "{requested:?}"
    );

    // A bogus state: an error page, and the tile still says "Approval requested".
    let r = admin
        .get(&format!(
            "{}?code=x&state=bogus",
            lms_harness::web::CALLBACK_PATH
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("not valid"), "{}", r.text());
    assert_eq!(tile(&server), requested);

    // A real state, presented by another browser (even the same admin's): refused, the state stays usable.
    let r = admin
        .post(
            "/settings/connectors/slack/activate",
            &[("csrf", &admin.csrf)],
            Some(&base),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let consent_url = r.header("location").unwrap().to_string();
    assert!(
        consent_url.starts_with(&server.slack_url),
        "ACTIVATE goes to the (simulated) granted Slack origin: {consent_url}"
    );
    let state = state_of(&consent_url);
    let query = consent(&consent_url, &installer(), true).await.unwrap();
    assert!(query.iter().any(|(k, v)| k == "state" && v == &state));
    for stranger in [
        Browser::signed_in(&base, "admin").await,
        Browser::anonymous(&base).await,
    ] {
        let r = stranger.get(&callback_path(&query)).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(tile(&server), requested);
    }

    // The admin's own browser completes it, once.
    let r = admin.get(&callback_path(&query)).await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(
        matches!(tile(&server), Tile::Active(_)),
        "{:?}",
        tile(&server)
    );
    let active = tile(&server);
    let r = admin.get(&callback_path(&query)).await;
    assert_eq!(r.status, 400, "a used state: {}", r.text());
    assert!(r.text().contains("already used"), "{}", r.text());
    assert_eq!(tile(&server), active);
    server.shutdown().await;
}

/// Posts a signed request to the inbound route `route`, as Slack would at `ts`.
async fn post_signed(server: &Server, route: &str, body: &[u8], ts: i64, secret: &str) -> Response {
    let ts = ts.to_string();
    let signature = slack_sim::sign_request(secret, ts.parse().unwrap(), body);
    http_client::send(
        "POST",
        &format!("{}/slack/{PLATFORM}/{route}", server.lms_url),
        &[
            ("content-type", "application/json"),
            ("x-slack-request-timestamp", &ts),
            ("x-slack-signature", &signature),
        ],
        body.to_vec(),
        TIMEOUT,
    )
    .await
    .unwrap()
}

async fn activate(server: &Server, admin: &Browser) {
    let r = admin
        .post(
            "/settings/connectors/slack/activate",
            &[("csrf", &admin.csrf)],
            Some(&server.lms_url),
        )
        .await;
    let query = consent(r.header("location").unwrap(), &installer(), true)
        .await
        .unwrap();
    let r = admin.get(&callback_path(&query)).await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(
        matches!(tile(server), Tile::Active(_)),
        "{:?}",
        tile(server)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_signed_event_is_dropped_and_refused_requests_write_nothing() {
    let dir = TempDir::new("replay");
    let server = serve(&dir, Timeouts::default()).await;
    let secret = slack_sim::SimConfig::demo().app.signing_secret;
    let admin = Browser::signed_in(&server.lms_url, "admin").await;
    activate(&server, &admin).await;

    // A signed app_uninstalled disconnects; the admin activates again.
    let uninstalled = br#"{"type":"event_callback","team_id":"T0SIMTEAM1","event_id":"Ev0REPLAY01","event":{"type":"app_uninstalled"}}"#;
    let ts = lms::db::now();
    let r = post_signed(&server, "events", uninstalled, ts, &secret).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        matches!(tile(&server), Tile::Disconnected(_)),
        "{:?}",
        tile(&server)
    );
    activate(&server, &admin).await;

    // The same signed request again, still within its five minutes: acknowledged, and nothing happens.
    let r = post_signed(&server, "events", uninstalled, ts, &secret).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("duplicate"), "{}", r.text());
    assert!(
        matches!(tile(&server), Tile::Active(_)),
        "{:?}",
        tile(&server)
    );
    // Re-signed with a new timestamp (a retry), the same event id is dropped as well.
    let r = post_signed(&server, "events", uninstalled, ts + 1, &secret).await;
    assert!(r.text().contains("duplicate"), "{}", r.text());
    assert!(
        matches!(tile(&server), Tile::Active(_)),
        "{:?}",
        tile(&server)
    );

    // Unsigned and badly signed requests are refused, counted, and write no audit row.
    let before = audit_rows(&server);
    let refused_before = server.harness.lms.inbound_guard().refused();
    for i in 0..30 {
        let r = http_client::send(
            "POST",
            &format!("{}/slack/{PLATFORM}/events", server.lms_url),
            &[("content-type", "application/json")],
            format!(r#"{{"n":{i}}}"#).into_bytes(),
            TIMEOUT,
        )
        .await
        .unwrap();
        assert_eq!(r.status, 401);
        let r = post_signed(&server, "events", uninstalled, ts, "not-the-secret").await;
        assert_eq!(r.status, 401);
    }
    assert_eq!(audit_rows(&server), before);
    assert_eq!(
        server.harness.lms.inbound_guard().refused(),
        refused_before + 60
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    let dir = TempDir::new("slowloris");
    let short = Timeouts {
        header: Duration::from_millis(500),
        body: Duration::from_millis(500),
    };
    let server = serve(&dir, short).await;
    let addr = server.lms_url.strip_prefix("http://").unwrap().to_string();

    // Headers that never end: the server closes the connection.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let t0 = Instant::now();
    slow.write_all(format!("GET /sign-in HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the connection is still open after 10 s of unfinished headers"
    );
    assert!(t0.elapsed() < Duration::from_secs(10));

    // A body that never arrives: 408.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /sign-in HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 1000\r\nConnection: close\r\n\r\nuser=admin"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf))
        .await
        .expect("an answer to a body that never arrives")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A body beyond the form limit: 413.
    let big = "x".repeat(lms_harness::web::FORM_BYTES + 1);
    let r = http_client::send(
        "POST",
        &format!("{}/sign-in", server.lms_url),
        &[("content-type", "application/x-www-form-urlencoded")],
        big.into_bytes(),
        TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 413);

    // A normal client is served as before.
    let r = http_client::get(&format!("{}/sign-in", server.lms_url))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    server.shutdown().await;
}

#[test]
fn serve_refuses_to_listen_beyond_loopback_unless_behind_sign_in() {
    let dir = TempDir::new("listen");
    for args in [["--listen", "0.0.0.0:0"], ["--slack-listen", "0.0.0.0:0"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lms-harness"))
            .arg("serve")
            .args(args)
            .arg("--data")
            .arg(&dir.0)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("not a loopback address") && stderr.contains("--behind-sign-in"),
            "{args:?}: {stderr}"
        );
    }
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_lms-harness"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--behind-sign-in"));
}
