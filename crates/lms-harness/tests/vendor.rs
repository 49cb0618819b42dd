//! The vendor's switch (M1) and the admin's buttons: `lms-harness vendor list|enable|disable` on the data folder of
//! a running `serve` shows and hides the Slack tile, and deactivates a connected integration only when told to; the
//! vendor console page is refused to learners and authors; the settings page shows its buttons to admins only, and
//! DEACTIVATE goes through its confirmation page.

#[path = "support/browser.rs"]
mod browser;
#[path = "support/cli.rs"]
mod cli;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use browser::{Browser, serve};
use cli::lms_harness;
use lms::integration::Tile;
use lms_harness::web::{PLATFORM, Server, Timeouts};
use temp_dir::TempDir;

fn tile(server: &Server) -> Tile {
    server.harness.lms.tile(PLATFORM).unwrap()
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
async fn the_vendor_command_hides_and_shows_the_tile_and_deactivates_only_when_told() {
    let dir = TempDir::new("vendor-cli");
    let server = serve(&dir, Timeouts::default()).await;
    let data = dir.0.to_str().unwrap();
    let admin = Browser::signed_in(&server.lms_url, "admin").await;

    let list = lms_harness(&["vendor", "list", "--data", data]);
    assert!(list.ok, "{}", list.stderr);
    assert_eq!(
        list.stdout,
        "acme (Acme Academy): available; integration inactive\n"
    );

    // Off: no tile on the running site, audited with the operator's name.
    let off = lms_harness(&["vendor", "disable", "--data", data, PLATFORM]);
    assert!(off.ok, "{}", off.stderr);
    assert!(
        off.stdout.contains("no longer available on platform acme"),
        "{}",
        off.stdout
    );
    assert_eq!(tile(&server), Tile::Unavailable);
    let page = admin.get("/settings/connectors").await.text();
    assert!(
        page.contains(r#"id="no-connectors""#) && !page.contains("slack-state"),
        "{page}"
    );
    let (actor, detail) = audited(&server, "connector.unavailable").unwrap();
    assert!(
        actor.ends_with(" via lms-harness vendor disable"),
        "{actor}"
    );
    assert_eq!(detail, "slack");
    let json = lms_harness(&["vendor", "list", "--data", data, "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(rows[0]["platform_id"], "acme");
    assert_eq!(rows[0]["available"], false);

    // On again: the tile is back; a second time changes nothing.
    let on = lms_harness(&["vendor", "enable", "--data", data, PLATFORM]);
    assert!(
        on.ok && on.stdout.contains("is available on platform acme"),
        "{}",
        on.stdout
    );
    assert_eq!(tile(&server), Tile::Inactive(None));
    let page = admin.get("/settings/connectors").await.text();
    assert!(page.contains(r#"id="slack-state">Inactive<"#), "{page}");
    let again = lms_harness(&["vendor", "enable", "--data", data, PLATFORM]);
    assert!(
        again.ok && again.stdout.contains("Nothing changed"),
        "{}",
        again.stdout
    );

    // Connected: turning it off is refused without --deactivate, and nothing changes.
    let connect = lms_harness(&["connect", "--data", data, "--slack-url", &server.slack_url]);
    assert!(connect.ok, "{}", connect.stderr);
    assert!(matches!(tile(&server), Tile::Active(_)));
    let refused = lms_harness(&["vendor", "disable", "--data", data, PLATFORM]);
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains("deactivates it first") && refused.stderr.contains("--deactivate"),
        "{}",
        refused.stderr
    );
    assert!(matches!(tile(&server), Tile::Active(_)));
    let no_url = lms_harness(&[
        "vendor",
        "disable",
        "--data",
        data,
        PLATFORM,
        "--deactivate",
    ]);
    assert!(
        !no_url.ok && no_url.stderr.contains("--slack-url"),
        "{}",
        no_url.stderr
    );

    // With --deactivate: the app is uninstalled from the workspace, then the connector is unavailable.
    let off = lms_harness(&[
        "vendor",
        "disable",
        "--data",
        data,
        PLATFORM,
        "--deactivate",
        "--slack-url",
        &server.slack_url,
    ]);
    assert!(off.ok, "{}", off.stderr);
    assert!(off.stdout.contains("was deactivated"), "{}", off.stdout);
    assert_eq!(tile(&server), Tile::Unavailable);
    assert!(
        server.harness.sim.installations().iter().all(|i| !i.active),
        "the app is uninstalled"
    );
    let (actor, why) = audited(&server, "connector.inactive").unwrap();
    assert!(
        actor.ends_with(" via lms-harness vendor disable"),
        "{actor}"
    );
    assert_eq!(
        why,
        "deactivated: the vendor made the connector unavailable"
    );
    let list = lms_harness(&["vendor", "list", "--data", data]);
    assert_eq!(
        list.stdout,
        "acme (Acme Academy): not available; integration inactive\n"
    );
    // Back on: Inactive, to be activated again by the platform's admin.
    assert!(lms_harness(&["vendor", "enable", "--data", data, PLATFORM]).ok);
    assert_eq!(tile(&server), Tile::Inactive(None));

    let unknown = lms_harness(&["vendor", "enable", "--data", data, "nope"]);
    assert!(
        !unknown.ok && unknown.stderr.contains("no platform `nope`"),
        "{}",
        unknown.stderr
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_and_the_vendor_console_are_for_admins_and_deactivate_is_confirmed_first() {
    let dir = TempDir::new("vendor-page");
    let server = serve(&dir, Timeouts::default()).await;
    let base = server.lms_url.clone();
    let admin = Browser::signed_in(&base, "admin").await;

    // Learners and authors see the tile without a button they would be refused, and no vendor console.
    for user in ["learner-2", "author"] {
        let b = Browser::signed_in(&base, user).await;
        let page = b.get("/settings/connectors").await.text();
        assert!(page.contains(r#"id="slack-state""#), "{page}");
        for button in [
            "activate",
            "deactivate",
            "requested",
            "cancel-request",
            "enable",
        ] {
            assert!(
                !page.contains(&format!(r#"id="{button}""#)),
                "{user} sees {button}: {page}"
            );
        }
        assert!(!page.contains("/vendor"), "{page}");
        let r = b.get("/vendor").await;
        assert_eq!(r.status, 403, "{}", r.text());
        let r = b
            .post(
                "/vendor/slack/acme/disable",
                &[("csrf", &b.csrf), ("confirm", "yes")],
                Some(&base),
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(tile(&server), Tile::Inactive(None));
        let r = b.get("/settings/connectors/slack/deactivate").await;
        assert_eq!(r.status, 403, "{}", r.text());
    }

    // The admin's console lists the platform; turning Slack off goes through a confirmation page.
    let page = admin.get("/vendor").await.text();
    assert!(
        page.contains(r#"id="vendor-banner""#) && page.contains(r#"data-platform="acme""#),
        "{page}"
    );
    let r = admin
        .post(
            "/vendor/slack/acme/disable",
            &[("csrf", &admin.csrf)],
            Some(&base),
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/vendor/slack/acme/disable"));
    assert_eq!(tile(&server), Tile::Inactive(None));
    let confirm = admin.get("/vendor/slack/acme/disable").await.text();
    assert!(
        confirm.contains("no longer see the Slack tile"),
        "{confirm}"
    );
    let r = admin
        .post(
            "/vendor/slack/acme/disable",
            &[("csrf", &admin.csrf), ("confirm", "yes")],
            Some(&base),
        )
        .await;
    assert_eq!(r.header("location"), Some("/vendor"));
    assert_eq!(tile(&server), Tile::Unavailable);
    assert_eq!(
        audited(&server, "connector.unavailable"),
        Some(("vendor console, used by admin".into(), "slack".into()))
    );
    let r = admin
        .post(
            "/vendor/slack/acme/enable",
            &[("csrf", &admin.csrf)],
            Some(&base),
        )
        .await;
    assert_eq!(r.header("location"), Some("/vendor"));
    assert_eq!(tile(&server), Tile::Inactive(None));

    // DEACTIVATE with nothing active: nothing to confirm. A POST without confirmation goes to the confirmation page.
    let r = admin.get("/settings/connectors/slack/deactivate").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/settings/connectors"));
    let r = admin
        .post(
            "/settings/connectors/slack/deactivate",
            &[("csrf", &admin.csrf)],
            Some(&base),
        )
        .await;
    assert_eq!(
        r.header("location"),
        Some("/settings/connectors/slack/deactivate")
    );
    server.shutdown().await;
}
