//! A connector disabled after repeated failed calls: Settings → Connectors says why and offers admins Re-enable
//! (CSRF-protected, refused to others, audited), and a re-enable made with `lms-harness connector enable` in
//! another process is honoured by the running server at its next call.

#[path = "support/browser.rs"]
mod browser;
#[path = "support/cli.rs"]
mod cli;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use browser::{Browser, serve};
use cli::lms_harness;
use connector_host::ConnectorStore;
use lms_harness::web::{PLATFORM, Server, Timeouts};
use temp_dir::TempDir;

const REASON: &str = "3 consecutive failed calls, the last one during deliver";

/// Disables the connector on the site's platform, as the host does after repeated failures.
fn disable(server: &Server) {
    let lms = &server.harness.lms;
    assert!(
        lms.db()
            .disable(PLATFORM, lms.sandbox().connector_id(), REASON)
            .unwrap()
    );
}

fn disabled(server: &Server) -> bool {
    server
        .harness
        .lms
        .connector_disabled(PLATFORM)
        .unwrap()
        .is_some()
}

/// The last audit row of `action`: (actor, detail).
fn audited(server: &Server, action: &str) -> Option<(String, String)> {
    server
        .harness
        .lms
        .db()
        .conn()
        .query_row(
            "SELECT actor, detail FROM audit_log WHERE action = ?1 ORDER BY seq DESC LIMIT 1",
            [action],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_page_says_why_and_only_an_admin_re_enables() {
    let dir = TempDir::new("reenable-page");
    let server = serve(&dir, Timeouts::default()).await;
    let base = server.lms_url.clone();
    let admin = Browser::signed_in(&base, "admin").await;
    let page = admin.get("/settings/connectors").await.text();
    assert!(!page.contains("Disabled:"), "{page}");

    disable(&server);
    let page = admin.get("/settings/connectors").await.text();
    assert!(page.contains("Disabled:"), "{page}");
    assert!(page.contains(REASON), "{page}");
    assert!(
        page.contains(r#"action="/settings/connectors/slack/enable""#),
        "{page}"
    );

    // Another user sees why, without the button, and a post of theirs is refused.
    let author = Browser::signed_in(&base, "author").await;
    let page = author.get("/settings/connectors").await.text();
    assert!(page.contains(REASON), "{page}");
    assert!(
        page.contains("A platform admin can re-enable it."),
        "{page}"
    );
    assert!(
        !page.contains("/settings/connectors/slack/enable"),
        "{page}"
    );
    let r = author
        .post(
            "/settings/connectors/slack/enable",
            &[("csrf", &author.csrf)],
            Some(&base),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(disabled(&server));
    assert_eq!(
        audited(&server, "re-enable.refused"),
        Some(("author".into(), "not a platform admin".into()))
    );

    // The admin's form without its token, or from another origin: refused, nothing changes.
    let r = admin
        .post("/settings/connectors/slack/enable", &[], Some(&base))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = admin
        .post(
            "/settings/connectors/slack/enable",
            &[("csrf", &admin.csrf)],
            Some("http://evil.example"),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(disabled(&server));

    // The admin re-enables it: audited with who did it, and the page no longer says disabled.
    let r = admin
        .post(
            "/settings/connectors/slack/enable",
            &[("csrf", &admin.csrf)],
            Some(&base),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/settings/connectors"));
    assert!(!disabled(&server));
    assert_eq!(
        audited(&server, "connector.enabled"),
        Some(("admin".into(), "slack".into()))
    );
    let page = admin.get("/settings/connectors").await.text();
    assert!(!page.contains("Disabled:"), "{page}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_honours_a_re_enable_made_from_the_command_line() {
    let dir = TempDir::new("reenable-cli");
    let server = serve(&dir, Timeouts::default()).await;
    let sandbox = server.harness.lms.sandbox().clone();
    disable(&server);
    let refused = format!("{:#}", sandbox.status(PLATFORM).await.unwrap_err());
    assert!(
        refused.contains("disabled on platform acme") && refused.contains(REASON),
        "{refused}"
    );

    let data = dir.0.to_str().unwrap();
    let status = lms_harness(&["connector", "status", "--data", data]);
    assert!(status.ok, "{}", status.stderr);
    assert!(
        status
            .stdout
            .contains("acme/slack: inactive; DISABLED since "),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains(REASON), "{}", status.stdout);

    let enable = lms_harness(&[
        "connector",
        "enable",
        "--data",
        data,
        "--platform",
        PLATFORM,
    ]);
    assert!(enable.ok, "{}", enable.stderr);
    assert!(
        enable.stdout.contains("enabled again on platform acme"),
        "{}",
        enable.stdout
    );
    // The server's next call runs: the durable state is read at the start of every call.
    assert!(sandbox.status(PLATFORM).await.is_ok());
    let (actor, detail) = audited(&server, "connector.enabled").unwrap();
    assert!(
        actor.starts_with("operator ") && actor.ends_with(" via lms-harness connector enable"),
        "{actor}"
    );
    assert_eq!(detail, "slack");

    let again = lms_harness(&[
        "connector",
        "enable",
        "--data",
        data,
        "--platform",
        PLATFORM,
    ]);
    assert!(
        again.ok && again.stdout.contains("not disabled"),
        "{}",
        again.stdout
    );
    let unknown = lms_harness(&["connector", "enable", "--data", data, "--platform", "nope"]);
    assert!(
        !unknown.ok && unknown.stderr.contains("there is no platform `nope`"),
        "{}",
        unknown.stderr
    );
    server.shutdown().await;
}
