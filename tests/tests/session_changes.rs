//! Invitations that stay true, through the real component in the real host against the simulated Slack over HTTP:
//! a session that moves updates the message each learner has (in place, marked edited, the old date struck through
//! beside the new one, no second message); a cancelled one says so, without a button, and its reminders never come;
//! reminders come at the day before 09:00 in each learner's own zone (across a daylight-saving change) and an hour
//! before, in reply to the invitation; an update whose answer is lost is made again, and the message is updated once;
//! a change before the invitation goes out is simply in the invitation.
//!
//! Time is the instant each run of the outbox is given (the test's clock); Slack's own clock only stamps messages.

use e2e_tests::World;
use lms::db::Session;
use lms::invitations::{Sending, invite_learners};
use lms::outbox::{DeliveryStatus, Kind, RunReport};
use lms::sessions::{self, Field};
use lms::workers::run_outbox;
use lms_harness::demo::DEMO_PLATFORM;
use slack_sim::{Fault, Message, Sender};

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
/// Monday 29 March 2027, 10:00 UTC: the day before, Paris and London move to summer time.
const START: i64 = 1_806_314_400;
/// A week before.
const WEEK_BEFORE: i64 = START - 7 * DAY;

async fn world(name: &str) -> World {
    let world = World::start(name, |_| {}).await;
    let installer = world.installer();
    world.activate_as(&installer, true).await.unwrap();
    // The demo session, starting at START.
    let session = Session {
        starts_at: START,
        ends_at: START + 3 * HOUR,
        ..world.data.session.clone()
    };
    world
        .harness
        .lms
        .db()
        .upsert_session(DEMO_PLATFORM, &session)
        .unwrap();
    world
}

fn session(world: &World) -> Session {
    world
        .harness
        .lms
        .db()
        .session(DEMO_PLATFORM, &world.data.session.id)
        .unwrap()
        .unwrap()
}

async fn run(world: &World, at: i64) -> RunReport {
    run_outbox(&world.harness.lms, DEMO_PLATFORM, at)
        .await
        .unwrap()
}

/// The Slack member of a demo learner (by e-mail address, without letter case).
fn member_of(world: &World, learner: &str) -> slack_sim::Member {
    let user = world
        .data
        .learners
        .iter()
        .find(|u| u.id == learner)
        .unwrap();
    world
        .sim
        .workspace
        .members
        .iter()
        .find(|m| {
            m.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(&user.email))
        })
        .unwrap()
        .clone()
}

/// The app's messages in a learner's conversations, oldest first (replies included).
fn app_messages(world: &World, learner: &str) -> Vec<Message> {
    world
        .harness
        .sim
        .messages_for_member(&member_of(world, learner).id)
        .into_iter()
        .map(|m| m.message)
        .filter(|m| matches!(m.sender, Sender::App { .. }))
        .collect()
}

/// A message as the learner reads it, one line per text.
fn read(world: &World, learner: &str, message: &Message) -> String {
    let member = member_of(world, learner);
    let reader = slack_sim::reader(&member, &world.sim.workspace, START - 30 * DAY);
    slack_sim::read_message(message, "LMS", &reader)
        .texts
        .join("\n")
}

fn has_button(message: &Message) -> bool {
    message
        .blocks
        .as_ref()
        .is_some_and(|b| b.as_array().unwrap().iter().any(|b| b["type"] == "actions"))
}

/// (user, status, reason code) of the deliveries of every notification of `kind`.
fn deliveries_of(world: &World, kind: Kind) -> Vec<(String, DeliveryStatus, Option<String>)> {
    let conn = world.harness.lms.db().conn();
    let mut stmt = conn
        .prepare(
            "SELECT d.user_id, d.status, d.reason_code FROM deliveries d
             JOIN notifications n ON n.platform_id = d.platform_id AND n.id = d.notification_id
             WHERE n.kind = ?1 ORDER BY n.created_at, d.notification_id, d.user_id",
        )
        .unwrap();
    stmt.query_map([kind.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Invites every learner at `at`, queueing the invitations (and their reminders) without sending them.
fn queue_invitations(world: &World, at: i64) -> anyhow::Result<()> {
    invite_learners(
        world.harness.lms.db(),
        DEMO_PLATFORM,
        &session(world),
        &world.data.admin,
        at,
        Sending::Invitation,
    )
    .map(drop)
}

/// Invites every learner at `at` and sends the invitations: the learners who received one.
async fn invite(world: &World, at: i64) -> usize {
    queue_invitations(world, at).unwrap();
    run(world, at).await.sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_session_updates_each_message_in_place_and_a_cancelled_one_says_so() {
    let world = world("session-changes").await;
    let lms = &world.harness.lms;
    let sent = invite(&world, WEEK_BEFORE).await;
    assert_eq!(sent, 3, "three learners have a Slack account");
    let before = app_messages(&world, "learner-2");
    assert_eq!(before.len(), 1);
    let first = read(&world, "learner-2", &before[0]);
    assert!(first.contains("Mar 29, 2027"), "{first}");

    // The author moves the session a day later.
    let moved = Session {
        starts_at: START + DAY,
        ends_at: START + DAY + 3 * HOUR,
        ..session(&world)
    };
    let changed =
        sessions::edit_session(lms.db(), DEMO_PLATFORM, "admin", &moved, WEEK_BEFORE).unwrap();
    assert_eq!(changed.fields, [Field::Dates]);
    assert_eq!(changed.updates, 3);
    let report = run(&world, WEEK_BEFORE).await;
    assert_eq!((report.sent, report.failed), (3, 0), "{report:?}");
    for learner in ["learner-1", "learner-2", "learner-3"] {
        let messages = app_messages(&world, learner);
        assert_eq!(messages.len(), 1, "{learner}: no second message");
        let message = &messages[0];
        assert_eq!(message.ts, before_ts(&world, learner));
        assert!(message.edited.is_some(), "{learner}: marked edited");
        assert!(has_button(message), "{learner}: still an invitation");
    }
    let message = &app_messages(&world, "learner-2")[0];
    let updated = read(&world, "learner-2", message);
    assert!(
        updated.contains("Message updated. Changes: dates."),
        "{updated}"
    );
    // The old date beside the new one (the learner is in New York), struck through.
    assert!(
        updated.contains("Mar 29, 2027 6:00 AM → Mar 30, 2027 6:00 AM"),
        "{updated}"
    );
    let blocks = message.blocks.as_ref().unwrap().to_string();
    assert!(blocks.contains(&format!("~<!date^{START}^")), "{blocks}");
    // The delivery log says what the update was.
    let updates = deliveries_of(&world, Kind::SessionUpdate);
    assert_eq!(updates.len(), 3);
    assert!(updates.iter().all(|u| u.1 == DeliveryStatus::Sent));
    let title: String = lms
        .db()
        .conn()
        .query_row(
            "SELECT title FROM notifications WHERE kind = 'session_update'",
            (),
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(title, format!("Updated: {} (dates changed)", moved.title));

    // Cancelled: each message says so and has no button; nothing more is sent for the session.
    let cancelled = sessions::cancel_session(
        lms.db(),
        DEMO_PLATFORM,
        "admin",
        &world.data.session.id,
        WEEK_BEFORE + HOUR,
    )
    .unwrap();
    assert_eq!(cancelled.updates, 3);
    let report = run(&world, WEEK_BEFORE + HOUR).await;
    assert_eq!(report.sent, 3, "{report:?}");
    for learner in ["learner-1", "learner-2", "learner-3"] {
        let messages = app_messages(&world, learner);
        assert_eq!(messages.len(), 1, "{learner}");
        assert!(!has_button(&messages[0]), "{learner}: no button");
    }
    let english = read(&world, "learner-2", &app_messages(&world, "learner-2")[0]);
    assert!(english.contains("This session is cancelled."), "{english}");
    let french = read(&world, "learner-1", &app_messages(&world, "learner-1")[0]);
    assert!(french.to_lowercase().contains("annulée"), "{french}");
    // The reminders never come: at the session's start, nothing more is sent.
    let late = run(&world, START + DAY).await;
    assert_eq!(late.sent, 0, "{late:?}");
    assert!(
        deliveries_of(&world, Kind::SessionReminder)
            .iter()
            .all(|r| r.1 == DeliveryStatus::Skipped)
    );
    for learner in ["learner-1", "learner-2", "learner-3"] {
        assert_eq!(app_messages(&world, learner).len(), 1, "{learner}");
    }
    // Nobody can be invited to a cancelled session.
    let refused = queue_invitations(&world, WEEK_BEFORE + HOUR);
    assert_eq!(
        refused
            .unwrap_err()
            .downcast::<sessions::SessionRefused>()
            .unwrap(),
        sessions::SessionRefused::Cancelled
    );
}

/// The `ts` of the invitation `learner` first received (the update keeps it).
fn before_ts(world: &World, learner: &str) -> String {
    let conn = world.harness.lms.db().conn();
    conn.query_row(
        "SELECT d.message_id FROM deliveries d JOIN notifications n
             ON n.platform_id = d.platform_id AND n.id = d.notification_id
         WHERE n.kind = 'session_assignment' AND d.user_id = ?1",
        [learner],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_come_at_each_learner_s_own_instant_across_a_daylight_saving_change() {
    let world = world("session-reminders").await;
    let lms = &world.harness.lms;
    // Three learners in three zones. On Sunday 28 March 2027 Paris and London move to summer time at 01:00 UTC; New
    // York did two weeks earlier.
    let zones = [
        ("learner-1", "Europe/Paris"),
        ("learner-2", "Europe/London"),
        ("learner-3", "America/New_York"),
    ];
    for (learner, zone) in zones {
        let mut user = lms.db().user(DEMO_PLATFORM, learner).unwrap().unwrap();
        user.time_zone = zone.into();
        lms.db().upsert_user(DEMO_PLATFORM, &user).unwrap();
    }
    assert_eq!(invite(&world, WEEK_BEFORE).await, 3);
    // The day before at 09:00: CEST (UTC+2), BST (UTC+1), EDT (UTC-4).
    let nine = [
        ("learner-1", START - DAY - 3 * HOUR),
        ("learner-2", START - DAY - 2 * HOUR),
        ("learner-3", START - DAY + 3 * HOUR),
    ];
    let mut reminded = 0;
    for (learner, due) in nine {
        let report = run(&world, due - 1).await;
        assert_eq!(report.sent, 0, "{learner}: nothing before its instant");
        let report = run(&world, due).await;
        assert_eq!(
            report.sent, 1,
            "{learner}: its reminder at {due}: {report:?}"
        );
        reminded += 1;
        let messages = app_messages(&world, learner);
        assert_eq!(
            messages.len(),
            2,
            "{learner}: the invitation and its reminder"
        );
        let (invitation, reminder) = (&messages[0], &messages[1]);
        assert_eq!(
            reminder.thread_ts.as_deref(),
            Some(invitation.ts.as_str()),
            "{learner}: in the invitation's thread"
        );
        assert!(
            has_button(reminder),
            "{learner}: with the invitation's link"
        );
    }
    assert_eq!(reminded, 3);
    let text = read(&world, "learner-2", &app_messages(&world, "learner-2")[1]);
    assert!(text.contains("Reminder"), "{text}");
    let french = read(&world, "learner-1", &app_messages(&world, "learner-1")[1]);
    assert!(
        french.contains("Rappel"),
        "in the learner's language: {french}"
    );
    // An hour before, for everyone at once.
    assert_eq!(run(&world, START - HOUR - 1).await.sent, 0);
    assert_eq!(run(&world, START - HOUR).await.sent, 3);
    for (learner, _) in zones {
        assert_eq!(app_messages(&world, learner).len(), 3, "{learner}");
    }
    // Once each: running again sends nothing.
    assert_eq!(run(&world, START).await.sent, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_is_durable_at_once_and_an_update_whose_answer_was_lost_updates_once() {
    let world = world("session-crash").await;
    let lms = &world.harness.lms;
    assert_eq!(invite(&world, WEEK_BEFORE).await, 3);
    let renamed = Session {
        title: "Onboarding, revised".into(),
        ..session(&world)
    };
    sessions::edit_session(lms.db(), DEMO_PLATFORM, "admin", &renamed, WEEK_BEFORE).unwrap();
    // The updates are in the database the moment the change is: a host that dies now loses none of them (another
    // connection to the same file, as a restarted host would open it, sees them).
    let reopened = lms_harness::connector::DataDir::open_db(world.dir.path(), false).unwrap();
    let queued: i64 = reopened
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM deliveries d JOIN notifications n
                 ON n.platform_id = d.platform_id AND n.id = d.notification_id
             WHERE n.kind = 'session_update' AND d.status = 'queued'",
            (),
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(queued, 3);
    drop(reopened);
    // Slack applies the first update, and its answer is lost: the update is tried again later, in place.
    world
        .harness
        .sim
        .set_fault("chat.update", Fault::LostAfterPost { count: Some(1) });
    let first = run(&world, WEEK_BEFORE).await;
    assert_eq!((first.sent, first.retrying), (2, 1), "{first:?}");
    let retried = run(&world, WEEK_BEFORE + DAY).await;
    assert_eq!(retried.sent, 1, "{retried:?}");
    for learner in ["learner-1", "learner-2", "learner-3"] {
        let messages = app_messages(&world, learner);
        assert_eq!(messages.len(), 1, "{learner}: one message");
        assert!(messages[0].edited.is_some());
        let text = read(&world, learner, &messages[0]);
        assert!(text.contains("Onboarding, revised"), "{learner}: {text}");
    }
    let updates = deliveries_of(&world, Kind::SessionUpdate);
    assert_eq!(updates.len(), 3, "one update per message");
    assert!(updates.iter().all(|u| u.1 == DeliveryStatus::Sent));
    assert_eq!(run(&world, WEEK_BEFORE + 2 * DAY).await.sent, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_before_the_invitation_goes_out_changes_what_is_sent() {
    let world = world("session-unsent").await;
    let lms = &world.harness.lms;
    queue_invitations(&world, WEEK_BEFORE).unwrap();
    // Changed while the invitations wait in the outbox: nothing to update, the invitations carry the change.
    let renamed = Session {
        title: "Onboarding, new edition".into(),
        ..session(&world)
    };
    let changed =
        sessions::edit_session(lms.db(), DEMO_PLATFORM, "admin", &renamed, WEEK_BEFORE).unwrap();
    assert_eq!(changed.updates, 0);
    assert_eq!(run(&world, WEEK_BEFORE).await.sent, 3);
    for learner in ["learner-1", "learner-2", "learner-3"] {
        let messages = app_messages(&world, learner);
        assert_eq!(messages.len(), 1, "{learner}");
        assert!(
            messages[0].edited.is_none(),
            "{learner}: sent once, as it is now"
        );
        let text = read(&world, learner, &messages[0]);
        assert!(text.contains("Onboarding, new edition"), "{text}");
        assert!(!text.contains("Message updated"), "{text}");
    }
    assert!(deliveries_of(&world, Kind::SessionUpdate).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_found_after_a_lost_answer_is_brought_up_to_date() {
    let world = world("session-found").await;
    let lms = &world.harness.lms;
    queue_invitations(&world, WEEK_BEFORE).unwrap();
    // Slack posts the first invitation and its answer is lost: that delivery waits for a retry, unknown.
    world
        .harness
        .sim
        .set_fault("chat.postMessage", Fault::LostAfterPost { count: Some(1) });
    let first = run(&world, WEEK_BEFORE).await;
    assert_eq!((first.sent, first.retrying), (2, 1), "{first:?}");
    // The session changes meanwhile: the lost one is not known to be sent, so no update is queued for it.
    let renamed = Session {
        title: "Onboarding, second edition".into(),
        ..session(&world)
    };
    let changed =
        sessions::edit_session(lms.db(), DEMO_PLATFORM, "admin", &renamed, WEEK_BEFORE).unwrap();
    assert_eq!(changed.updates, 2);
    // The retry finds the message posted with the old title, and brings it up to date.
    let mut at = WEEK_BEFORE + DAY;
    let mut total = RunReport::default();
    for _ in 0..3 {
        total.add(&run(&world, at).await);
        at += DAY;
    }
    assert_eq!(total.already_sent, 1, "{total:?}");
    for learner in ["learner-1", "learner-2", "learner-3"] {
        let messages = app_messages(&world, learner);
        assert_eq!(messages.len(), 1, "{learner}: one message");
        let text = read(&world, learner, &messages[0]);
        assert!(
            text.contains("Onboarding, second edition"),
            "{learner}: {text}"
        );
        assert!(messages[0].edited.is_some(), "{learner}");
    }
    let updates = deliveries_of(&world, Kind::SessionUpdate);
    assert_eq!(updates.len(), 3, "{updates:?}");
    assert!(
        updates.iter().all(|u| u.1 == DeliveryStatus::Sent),
        "{updates:?}"
    );
}
