//! Invitations and their deliveries against the simulated Slack, with the real connector component: each learner
//! reads the subject in their own language, two LMS accounts at one address get one message, deliveries that failed
//! because the integration was disconnected are sent again (once) when it is active again, and the disconnection
//! alert is cleared then. And the commands: `invite` once per learner (`--reminder` again), `deliveries
//! --retry-failed`, and filters that name nothing refused.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/imported.rs"]
mod imported;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use cli::lms_harness;
use imported::imported_folder;
use lms::db::User;
use lms::integration::Tile;
use lms::invitations::{Sending, invite_learners, subject};
use lms::lang::Lang;
use lms::outbox::{DeliveryStatus, Reconnect};
use lms_harness::demo::{DEMO_PLATFORM, DEMO_REDIRECT_URI, consent};
use lms_harness::harness::{Harness, HarnessOptions};
use serde_json::Value;
use slack_sim::Fault;
use temp_dir::TempDir;

/// The demo workspace's admin, who clicks Allow.
const INSTALLER: &str = "U0ADMIN001";

async fn activate(harness: &Harness) -> Tile {
    let lms = &harness.lms;
    let url = lms
        .start_activation(DEMO_PLATFORM, "admin", DEMO_REDIRECT_URI)
        .await
        .unwrap();
    let query = consent(&url, INSTALLER, true).await.unwrap();
    lms.complete_activation(DEMO_PLATFORM, &query)
        .await
        .unwrap()
}

/// The headers of the app's messages to `member`, oldest first.
fn headers(harness: &Harness, member: &str) -> Vec<String> {
    harness
        .sim
        .conversations()
        .into_iter()
        .filter(|c| c.member_id == member)
        .flat_map(|c| c.messages)
        .filter_map(|m| {
            let m = serde_json::to_value(m).unwrap();
            let blocks = m["blocks"].as_array()?.clone();
            blocks
                .iter()
                .find(|b| b["type"] == "header")
                .map(|b| b["text"]["text"].as_str().unwrap().to_string())
        })
        .collect()
}

fn alerts(harness: &Harness) -> Vec<String> {
    let conn = harness.lms.db().conn();
    let mut stmt = conn
        .prepare("SELECT message FROM alerts WHERE platform_id = ?1 ORDER BY seq")
        .unwrap();
    stmt.query_map([DEMO_PLATFORM], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subjects_in_each_language_one_message_per_address_and_failures_sent_again_once_reconnected()
 {
    let dir = TempDir::new("invitations");
    let mut options = HarnessOptions::in_dir(&dir.0);
    options.sim.rate_limits.enabled = false;
    let sim_config = options.sim.clone();
    let harness = Harness::start(options).await.unwrap();
    let data = harness.seed_demo(DEMO_PLATFORM, &sim_config).unwrap();
    let (lms, db) = (&harness.lms, harness.lms.db());
    // Chen reads Canadian French; Bob has a second LMS account at his address in other letter case, in French.
    assert!(db.set_locale(DEMO_PLATFORM, "learner-3", "fr-CA").unwrap());
    let bob = db.user(DEMO_PLATFORM, "learner-2").unwrap().unwrap();
    db.upsert_user(
        DEMO_PLATFORM,
        &User {
            id: "learner-2-twin".into(),
            email: bob.email.to_lowercase(),
            display_name: "Robert Smith".into(),
            locale: "fr-FR".into(),
            ..bob
        },
    )
    .unwrap();
    assert!(matches!(activate(&harness).await, Tile::Active(_)));

    let invitation = invite_learners(
        db,
        DEMO_PLATFORM,
        &data.session,
        "admin",
        lms::db::now(),
        Sending::Invitation,
    )
    .unwrap();
    let id = invitation.notification_id.clone().unwrap();
    let report = lms::workers::run_outbox(lms, DEMO_PLATFORM, lms::db::now())
        .await
        .unwrap();
    assert_eq!((report.sent, report.failed), (3, 0), "{report:?}");
    let (en, fr) = (
        subject(&data.session.title, Lang::En),
        subject(&data.session.title, Lang::Fr),
    );
    assert_eq!(
        headers(&harness, "U0CHEN0001"),
        std::slice::from_ref(&fr),
        "fr-CA reads French"
    );
    assert_eq!(
        headers(&harness, "U0ALICE001"),
        std::slice::from_ref(&fr),
        "fr-FR reads French"
    );
    assert_eq!(
        headers(&harness, "U0BOB00001"),
        std::slice::from_ref(&en),
        "one message at Bob's address, in his language"
    );
    let deliveries = lms.outbox().deliveries(DEMO_PLATFORM, &id).unwrap();
    let twin = deliveries
        .iter()
        .find(|d| d.user_id == "learner-2-twin")
        .unwrap();
    assert_eq!(
        (twin.status, twin.shares_with.as_deref()),
        (DeliveryStatus::Skipped, Some("learner-2"))
    );

    // Inviting again sends nothing.
    let again = invite_learners(
        db,
        DEMO_PLATFORM,
        &data.session,
        "admin",
        lms::db::now(),
        Sending::Invitation,
    )
    .unwrap();
    assert_eq!(again.notification_id, None);
    assert_eq!(again.already_invited.len(), 5);

    // Slack stops accepting the app's token: a reminder fails for everyone, the integration is disconnected.
    harness.sim.set_fault(
        "chat.postMessage",
        Fault::SlackError {
            error: "invalid_auth".into(),
            count: None,
        },
    );
    let reminder = invite_learners(
        db,
        DEMO_PLATFORM,
        &data.session,
        "admin",
        lms::db::now(),
        Sending::Reminder,
    )
    .unwrap();
    let reminder = reminder.notification_id.unwrap();
    lms::workers::run_outbox(lms, DEMO_PLATFORM, lms::db::now())
        .await
        .unwrap();
    assert!(matches!(
        lms.tile(DEMO_PLATFORM).unwrap(),
        Tile::Disconnected(_)
    ));
    let failed: Vec<_> = lms
        .outbox()
        .deliveries(DEMO_PLATFORM, &reminder)
        .unwrap()
        .into_iter()
        .filter(|d| d.shares_with.is_none())
        .collect();
    assert_eq!(failed.len(), 4);
    for d in &failed {
        assert_eq!(d.status, DeliveryStatus::Failed, "{d:?}");
        assert_eq!(d.on_reconnect, Some(Reconnect::Waiting), "{d:?}");
        assert_eq!(d.reason_code.as_deref(), Some("invalid_auth"));
        let reason = d.reason.as_deref().unwrap();
        assert!(
            !reason.contains("invalid_auth"),
            "the code once, apart: {reason}"
        );
    }
    assert!(
        alerts(&harness)
            .iter()
            .any(|a| a.starts_with("The Slack integration was disconnected")),
        "{:?}",
        alerts(&harness)
    );

    // While it is disconnected, what falls due waits for it, without a call: another reminder fails as disconnected.
    let calls = harness.sim.api_calls().len();
    let waiting = invite_learners(
        db,
        DEMO_PLATFORM,
        &data.session,
        "admin",
        lms::db::now(),
        Sending::Reminder,
    )
    .unwrap()
    .notification_id
    .unwrap();
    lms::workers::run_outbox(lms, DEMO_PLATFORM, lms::db::now())
        .await
        .unwrap();
    assert_eq!(harness.sim.api_calls().len(), calls, "no call to Slack");
    for d in lms.outbox().deliveries(DEMO_PLATFORM, &waiting).unwrap() {
        if d.shares_with.is_some() {
            continue;
        }
        assert_eq!(d.status, DeliveryStatus::Failed, "{d:?}");
        assert_eq!(d.reason_code.as_deref(), Some(lms::outbox::DISCONNECTED));
        assert_eq!(d.on_reconnect, Some(Reconnect::Waiting), "{d:?}");
    }

    // A new ACTIVATE: the failed deliveries are queued again, and sent; the alert is gone.
    harness.sim.clear_fault("chat.postMessage");
    assert!(matches!(activate(&harness).await, Tile::Active(_)));
    assert!(
        !alerts(&harness)
            .iter()
            .any(|a| a.starts_with("The Slack integration was disconnected")),
        "{:?}",
        alerts(&harness)
    );
    let report = lms::workers::run_outbox(lms, DEMO_PLATFORM, lms::db::now())
        .await
        .unwrap();
    assert_eq!(
        (report.sent, report.skipped, report.failed),
        (6, 2, 0),
        "both reminders: {report:?}"
    );
    assert_eq!(
        headers(&harness, "U0CHEN0001"),
        [fr.clone(), fr.clone(), fr.clone()]
    );
    assert_eq!(
        headers(&harness, "U0BOB00001"),
        [en.clone(), en.clone(), en]
    );
    // Once: another activation queues nothing again.
    assert!(matches!(activate(&harness).await, Tile::Active(_)));
    let queued = lms.outbox().deliveries(DEMO_PLATFORM, &reminder).unwrap();
    assert!(
        queued.iter().all(|d| d.status != DeliveryStatus::Queued),
        "{queued:?}"
    );
    assert_eq!(lms.outbox().requeue_reconnected(DEMO_PLATFORM).unwrap(), 0);
}

#[test]
fn invite_once_then_a_reminder_retry_failed_and_unknown_filters_from_the_command_line() {
    let dir = TempDir::new("invitations-cli");
    let data = imported_folder(
        &dir.0,
        "id,email,name,locale,time_zone\nines,ines@script.example,Inès Moreau,fr-CA,America/Montreal\n",
    );
    let invite = lms_harness(&["invite", "--data", &data, "--session", "onboarding-2026-12"]);
    assert!(invite.ok, "{}", invite.stderr);
    let first = invite.stdout.trim().to_string();
    assert!(
        first.starts_with("invite-onboarding-2026-12-"),
        "{}",
        invite.stdout
    );

    let again = lms_harness(&["invite", "--data", &data, "--session", "onboarding-2026-12"]);
    assert!(again.ok, "{}", again.stderr);
    assert_eq!(again.stdout, "", "nothing new to send");
    assert!(
        again
            .stderr
            .contains("Nobody to invite: every learner was already invited")
            && again.stderr.contains("ines")
            && again.stderr.contains("--reminder"),
        "{}",
        again.stderr
    );
    let reminder = lms_harness(&[
        "invite",
        "--data",
        &data,
        "--session",
        "onboarding-2026-12",
        "--reminder",
    ]);
    assert!(reminder.ok, "{}", reminder.stderr);
    assert!(
        reminder
            .stdout
            .trim()
            .starts_with("reminder-onboarding-2026-12-"),
        "{}",
        reminder.stdout
    );

    // A failed delivery, as a run would have left it, is queued again by --retry-failed.
    {
        let conn = rusqlite::Connection::open(dir.0.join("data").join("lms.sqlite3")).unwrap();
        let n = conn
            .execute(
                "UPDATE deliveries SET status = 'failed', attempts = 1, reason_code = 'restricted_action'
                 WHERE notification_id = ?1",
                [&first],
            )
            .unwrap();
        assert!(n > 0);
    }
    let retried = lms_harness(&[
        "deliveries",
        "--data",
        &data,
        "--retry-failed",
        "--notification",
        &first,
        "--json",
    ]);
    assert!(retried.ok, "{}", retried.stderr);
    assert!(
        retried.stderr.contains("failed deliveries of"),
        "{}",
        retried.stderr
    );
    let log: Value = serde_json::from_str(&retried.stdout).unwrap();
    let statuses: Vec<&str> = log["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| *s == "queued"),
        "{statuses:?}"
    );
    let without = lms_harness(&["deliveries", "--data", &data, "--retry-failed"]);
    assert!(!without.ok, "--retry-failed needs --notification");

    for (flag, value, said) in [
        ("--notification", "nope", "there is no notification `nope`"),
        ("--learner", "nobody", "there is no user `nobody`"),
        (
            "--platform",
            "elsewhere",
            "there is no platform `elsewhere`",
        ),
    ] {
        let refused = lms_harness(&["deliveries", "--data", &data, flag, value]);
        assert!(!refused.ok, "{flag} {value}: {}", refused.stdout);
        assert!(refused.stderr.contains(said), "{}", refused.stderr);
        assert!(
            !refused.stdout.contains("NOTIFICATION"),
            "no empty table: {}",
            refused.stdout
        );
    }
    let known = lms_harness(&[
        "deliveries",
        "--data",
        &data,
        "--notification",
        &first,
        "--learner",
        "ines",
    ]);
    assert!(known.ok, "{}", known.stderr);
}
