//! `lms-harness demo` shows what each learner reads: the message as the simulated Slack shows it to their Slack
//! member (dates in the member's zone and language, formatting applied, no raw `<!date^…>` token or `*Label*`) and
//! when it was sent, in text and in `--json`.

use serde_json::Value;
use std::process::Command;

fn demo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lms-harness"))
        .arg("demo")
        .args(args)
        .output()
        .expect("running lms-harness demo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn each_learner_reads_the_message_in_their_zone_and_language_and_sees_when_it_was_sent() {
    let report: Value = serde_json::from_str(&demo(&["--json"])).expect("JSON");
    let learners = report["learners"].as_array().unwrap();
    let learner = |id: &str| learners.iter().find(|l| l["user_id"] == id).unwrap();
    // (learner, member's locale and zone, the start as they read it, their UTC offset on 26 November).
    for (id, locale, zone, start, offset) in [
        (
            "learner-1",
            "fr-FR",
            "Europe/Paris",
            "Début\n1 déc. 2026 09:00",
            "+01:00",
        ),
        (
            "learner-2",
            "en-US",
            "America/New_York",
            "Starts\nDec 1, 2026 3:00 AM",
            "-05:00",
        ),
        (
            "learner-3",
            "en-US",
            "Asia/Tokyo",
            "Starts\nDec 1, 2026 5:00 PM",
            "+09:00",
        ),
    ] {
        let l = learner(id);
        assert_eq!(l["status"], "sent", "{id}");
        assert_eq!(l["reader"]["locale"], locale, "{id}");
        assert_eq!(l["reader"]["time_zone"], zone, "{id}");
        let messages = l["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "{id}");
        let m = &messages[0];
        let read: Vec<&str> = m["read"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(read.contains(&start), "{id}: {read:?}");
        for text in &read {
            assert!(
                !text.contains("<!date") && !text.contains('*'),
                "{id}: {text}"
            );
        }
        // Sent: a date in the member's zone (the demo runs now, so only its shape and offset are known).
        let sent_at = m["sent_at"].as_str().unwrap();
        assert!(sent_at.ends_with(offset), "{id}: {sent_at}");
        assert!(
            sent_at.parse::<jiff::Timestamp>().is_ok(),
            "{id}: {sent_at}"
        );
        assert!(!m["sent"].as_str().unwrap().is_empty(), "{id}");
        // The blocks as posted stay in the JSON, beside what is read.
        assert!(!m["lines"].as_array().unwrap().is_empty(), "{id}");
    }
    let sent_fr = learner("learner-1")["messages"][0]["sent"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(sent_fr.contains(" 2026 à "), "{sent_fr}");
    let sent_en = learner("learner-2")["messages"][0]["sent"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(sent_en.contains(", 2026 at "), "{sent_en}");
    assert_eq!(learner("learner-nobody")["status"], "skipped");

    // The text output: what is read, and when it was sent; no raw token or mrkdwn.
    let text = demo(&[]);
    for expected in [
        "read by U0ALICE001 (fr-FR, Europe/Paris)",
        "      Début",
        "      1 déc. 2026 09:00",
        "      [Ouvrir la session] https://",
        "      Dec 1, 2026 3:00 AM",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.contains("), sent ") && l.contains(" 2026 à ")),
        "{text}"
    );
    assert!(
        !text.contains("<!date") && !text.contains("*Début*") && !text.contains("*Starts*"),
        "{text}"
    );
}
