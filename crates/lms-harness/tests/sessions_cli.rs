//! The commands of a session's life: `session show`, `session edit` (fields not given stay, dates read in a time
//! zone, refusals and bad input exit 1 saying why), `session cancel` (then nothing changes it, nobody is invited to
//! it), and `reminders` (printed, set, turned off).

#[path = "support/cli.rs"]
mod cli;
#[path = "support/imported.rs"]
mod imported;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use cli::{Run, lms_harness};
use imported::imported_folder;
use serde_json::Value;
use temp_dir::TempDir;

const SESSION: &str = "onboarding-2026-12";

/// `lms-harness ARGS --data DATA`.
fn run(data: &str, args: &[&str]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--data", data]);
    lms_harness(&all)
}

/// `session show --json`.
fn show(data: &str) -> Value {
    let shown = run(data, &["session", "show", SESSION, "--json"]);
    assert!(shown.ok, "{}", shown.stderr);
    serde_json::from_str(&shown.stdout).unwrap()
}

/// Refused with exit code 1, saying `said` on stderr, printing nothing.
fn refused(r: &Run, said: &str) {
    assert!(!r.ok, "accepted: {}", r.stdout);
    assert!(r.stderr.contains(said), "{said:?} not in {}", r.stderr);
    assert_eq!(r.stdout, "");
}

#[test]
fn a_session_shown_changed_and_cancelled_and_the_reminders_set_from_the_command_line() {
    let dir = TempDir::new("sessions-cli");
    let data = imported_folder(
        &dir.0,
        "id,email,name,locale,time_zone\nines,ines@script.example,Inès Moreau,fr-CA,America/Montreal\n",
    );
    let first = show(&data);
    assert_eq!(first["status"], serde_json::json!({"status": "scheduled"}));
    assert_eq!(first["reminders"]["rules"], "day-before@09:00, 1h");
    let text = run(&data, &["session", "show", SESSION]);
    assert!(text.ok, "{}", text.stderr);
    for line in [
        "Session onboarding-2026-12 on platform acme: scheduled",
        "Starts:       2026-12-01T08:00 (UTC)",
        "Reminders:    day-before@09:00, 1h (the day before at 09:00; 1 h before); for this session: none to come",
    ] {
        assert!(text.stdout.contains(line), "{line:?} in {}", text.stdout);
    }
    let paris = run(
        &data,
        &["session", "show", SESSION, "--time-zone", "Europe/Paris"],
    );
    assert!(
        paris
            .stdout
            .contains("Starts:       2026-12-01T09:00 (Europe/Paris)"),
        "{}",
        paris.stdout
    );

    // Who changes it must be an author or admin of the platform; the input must say something that holds.
    let edit = |args: &[&str]| {
        let mut all = vec!["session", "edit", SESSION];
        all.extend(args);
        run(&data, &all)
    };
    refused(&edit(&["--title", "T"]), "--as USER");
    refused(&edit(&["--title", "T"]), "admin (Ada Admin");
    refused(
        &edit(&["--as", "nobody", "--title", "T"]),
        "there is no user `nobody`",
    );
    refused(
        &edit(&["--as", "ines", "--title", "T"]),
        "Only authors and admins may change a session.",
    );
    refused(&edit(&["--as", "admin"]), "nothing to change");
    refused(
        &edit(&["--as", "admin", "--starts", "2026-13-01T09:00"]),
        "--starts `2026-13-01T09:00`: give a date and a time as YYYY-MM-DDTHH:MM",
    );
    refused(
        &edit(&[
            "--as",
            "admin",
            "--starts",
            "2026-12-01T09:00",
            "--time-zone",
            "Mars/Olympus",
        ]),
        "`Mars/Olympus` is not a time zone",
    );
    refused(
        &edit(&["--as", "admin", "--ends", "2026-12-01T07:00"]),
        "A session cannot end before it starts.",
    );
    let both = edit(&[
        "--as",
        "admin",
        "--cover",
        "https://x.example/c.png",
        "--no-cover",
    ]);
    assert!(!both.ok, "--cover and --no-cover together");
    let unknown = run(
        &data,
        &["session", "edit", "nope", "--as", "admin", "--title", "T"],
    );
    refused(
        &unknown,
        "there is no session `nope` on platform acme (its sessions: onboarding-2026-12)",
    );
    assert_eq!(show(&data), first, "nothing refused changed anything");

    // Ten days from now, 09:00 to 12:00 in Paris: only the dates change.
    let day = jiff::Timestamp::now()
        .in_tz("Europe/Paris")
        .unwrap()
        .date()
        .checked_add(jiff::Span::new().days(10))
        .unwrap();
    let at = |hour: i8| {
        let local = day.at(hour, 0, 0, 0);
        (
            local.strftime("%Y-%m-%dT%H:%M").to_string(),
            local.in_tz("Europe/Paris").unwrap().timestamp().as_second(),
        )
    };
    let ((starts, starts_at), (ends, ends_at)) = (at(9), at(12));
    let moved = edit(&[
        "--as",
        "admin",
        "--starts",
        &starts,
        "--ends",
        &ends,
        "--time-zone",
        "Europe/Paris",
    ]);
    assert!(moved.ok, "{}", moved.stderr);
    assert_eq!(
        moved.stdout,
        "Changed: dates. No Slack message was sent about it yet: none to update.\n"
    );
    let now = show(&data);
    assert_eq!(
        (now["starts_at"].as_i64(), now["ends_at"].as_i64()),
        (Some(starts_at), Some(ends_at))
    );
    assert_eq!(now["title"], first["title"], "the fields not given stay");
    assert_eq!(now["cover_url"], first["cover_url"]);
    assert_eq!(
        now["revision"].as_i64().unwrap(),
        first["revision"].as_i64().unwrap() + 1
    );
    let same = edit(&[
        "--as",
        "admin",
        "--starts",
        &starts,
        "--time-zone",
        "Europe/Paris",
    ]);
    assert!(same.ok, "{}", same.stderr);
    assert_eq!(
        same.stdout,
        "Nothing changed: the session already was so.\n"
    );

    // Invited learners get reminders; the messages sent are updated when the session changes.
    let invite = run(&data, &["invite", "--session", SESSION]);
    assert!(invite.ok, "{}", invite.stderr);
    let notification = invite.stdout.trim().to_string();
    let to_come = show(&data)["reminders"]["to_come"].as_i64().unwrap();
    assert!(to_come > 0, "reminders scheduled");
    let sent = {
        let conn = rusqlite::Connection::open(dir.0.join("data").join("lms.sqlite3")).unwrap();
        conn.execute(
            "UPDATE deliveries SET status = 'sent', conversation = 'D' || user_id, message_id = '1.0', revision = 1
             WHERE notification_id = ?1",
            [&notification],
        )
        .unwrap()
    };
    assert!(sent > 1);
    let renamed = edit(&["--as", "author", "--title", "Welcome week", "--no-cover"]);
    assert!(renamed.ok, "{}", renamed.stderr);
    assert_eq!(
        renamed.stdout,
        format!("Changed: title, cover. {sent} Slack messages will be updated.\n")
    );
    assert!(
        renamed.stderr.contains("deliveries --data"),
        "{}",
        renamed.stderr
    );
    let now = show(&data);
    assert_eq!(now["title"], "Welcome week");
    assert_eq!(now["cover_url"], Value::Null);
    assert_eq!(now["description"], first["description"]);

    // The reminders: printed, refused when they say nothing that holds, set, turned off.
    let reminders = |args: &[&str]| {
        let mut all = vec!["reminders"];
        all.extend(args);
        run(&data, &all)
    };
    let printed = reminders(&[]);
    assert!(printed.ok, "{}", printed.stderr);
    assert_eq!(
        printed.stdout,
        "Reminders on platform acme: day-before@09:00, 1h (the day before at 09:00; 1 h before; in each \
         learner's own time zone).\n"
    );
    refused(&reminders(&["--set", "soon"]), "`soon` is not a reminder");
    refused(
        &reminders(&["--set", "day-before@25:00"]),
        "the time of day-before is HH:MM",
    );
    assert!(
        !reminders(&["--set", "1h", "--off"]).ok,
        "--set and --off together"
    );
    refused(
        &reminders(&["--platform", "elsewhere"]),
        "there is no platform `elsewhere`",
    );
    let two_hours = reminders(&["--set", "2h"]);
    assert!(two_hours.ok, "{}", two_hours.stderr);
    assert!(
        two_hours.stdout.contains(": 2h (2 h before;"),
        "{}",
        two_hours.stdout
    );
    let reminded = show(&data)["reminders"].clone();
    assert_eq!(reminded["rules"], "2h");
    assert_eq!(
        reminded["next_due"].as_i64(),
        Some(starts_at - 2 * 3600),
        "the learners invited get the new rule's reminder"
    );
    let off = reminders(&["--off"]);
    assert!(off.ok, "{}", off.stderr);
    assert_eq!(
        off.stdout,
        "Reminders on platform acme: off (no reminder is sent).\n"
    );
    assert_eq!(show(&data)["reminders"]["to_come"], 0);

    // Cancelled: the messages sent say so; nothing changes it any more, and nobody is invited to it.
    let cancelled = run(&data, &["session", "cancel", SESSION, "--as", "admin"]);
    assert!(cancelled.ok, "{}", cancelled.stderr);
    assert_eq!(
        cancelled.stdout,
        format!(
            "\"Welcome week\" is cancelled: the invitations and reminders still to come are not sent. {sent} \
             Slack messages will be updated.\n"
        )
    );
    let now = show(&data);
    assert_eq!(now["status"]["status"], "cancelled");
    assert!(now["status"]["at"].is_i64());
    let text = run(&data, &["session", "show", SESSION]);
    assert!(text.stdout.contains(": cancelled on "), "{}", text.stdout);
    let cancelled_text =
        "This session is cancelled: it can no longer be changed, and nobody can be invited to it.";
    refused(
        &run(&data, &["session", "cancel", SESSION, "--as", "admin"]),
        cancelled_text,
    );
    refused(
        &edit(&["--as", "admin", "--title", "Again"]),
        cancelled_text,
    );
    refused(
        &run(&data, &["invite", "--session", SESSION, "--reminder"]),
        cancelled_text,
    );

    // The audit log names who the changes were made for, and the operator who made them.
    let conn = rusqlite::Connection::open(dir.0.join("data").join("lms.sqlite3")).unwrap();
    let audited: Vec<(String, String)> = conn
        .prepare(
            "SELECT actor, action FROM audit_log WHERE action IN ('session.edit', 'session.cancel', \
             'operator.acted_for') ORDER BY seq",
        )
        .unwrap()
        .query_map((), |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let actions: Vec<&str> = audited.iter().map(|(_, a)| a.as_str()).collect();
    assert!(
        actions
            .windows(2)
            .any(|w| w == ["session.cancel", "operator.acted_for"]),
        "{audited:?}"
    );
    assert!(
        audited
            .iter()
            .any(|(actor, action)| action == "operator.acted_for"
                && actor.contains("via lms-harness session cancel")),
        "{audited:?}"
    );
}
