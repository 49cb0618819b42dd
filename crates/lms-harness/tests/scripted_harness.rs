//! The harness driven by a script, as an operator or CI would: a simulated Slack started with `lms-harness
//! slack-sim` on 127.0.0.1, then `users import`, `connect`, `invite` and `deliveries --run`, each a separate
//! process on the same data folder. Every imported learner ends with exactly one message from the app.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use cli::lms_harness;
use lms_harness::http_client;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use temp_dir::TempDir;

/// The workspace: an admin who clicks Allow, and the three learners of [`USERS`] (one address in other letter
/// case). None of them is among the demo learners `users import` seeds a new folder with.
const WORKSPACE: &str = r#"{
  "team_id": "T0SCRIPT01", "team_name": "Scripted Workspace", "domain": "scripted",
  "members": [
    {"id": "U0SADMIN01", "name": "sam", "real_name": "Sam Admin", "email": "sam@script.example", "is_admin": true},
    {"id": "U0INES0001", "name": "ines", "real_name": "Inès Moreau", "email": "ines@script.example", "tz": "Europe/Paris"},
    {"id": "U0JOE00001", "name": "joe", "real_name": "Joe Park", "email": "Joe.Park@Script.example", "tz": "America/Chicago"},
    {"id": "U0KIM00001", "name": "kim", "real_name": "Kim Lee", "email": "kim@script.example", "tz": "Asia/Seoul"}
  ]
}"#;

const USERS: &str = "id,email,name,locale,time_zone
ines,ines@script.example,Inès Moreau,fr-FR,Europe/Paris
joe,joe.park@script.example,Joe Park,en-US,America/Chicago
kim,kim@script.example,\"Lee, Kim\",ko-KR,Asia/Seoul
";

/// The learners' members in the workspace.
const LEARNERS: [&str; 3] = ["U0INES0001", "U0JOE00001", "U0KIM00001"];

/// `lms-harness slack-sim` on a free port of 127.0.0.1, stopped when dropped.
struct SlackSim {
    child: Child,
    url: String,
}

impl SlackSim {
    fn start(workspace: &Path) -> SlackSim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lms-harness"))
            .args(["slack-sim", "--listen", "127.0.0.1:0", "--workspace"])
            .arg(workspace)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting lms-harness slack-sim");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        // The rest of what it prints is read, so that it never writes to a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let url = first
            .trim()
            .strip_prefix("Simulated Slack listening on ")
            .unwrap_or_else(|| panic!("slack-sim printed {first:?}"))
            .to_string();
        SlackSim { child, url }
    }
}

impl Drop for SlackSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The app's conversations with `member`, from the simulation's inspection endpoint.
async fn app_conversations(sim: &SlackSim, member: &str) -> Vec<Value> {
    let r = http_client::get(&format!("{}/_sim/conversations?member={member}", sim.url))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "app_dm")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_connect_invite_and_deliver_leave_one_message_per_learner() {
    let dir = TempDir::new("scripted");
    let (workspace, users, data) = (
        dir.0.join("workspace.json"),
        dir.0.join("users.csv"),
        dir.0.join("data"),
    );
    std::fs::write(&workspace, WORKSPACE).unwrap();
    std::fs::write(&users, USERS).unwrap();
    let sim = SlackSim::start(&workspace);
    let data = data.to_str().unwrap();

    let import = lms_harness(&["users", "import", "--data", data, users.to_str().unwrap()]);
    assert!(import.ok, "{}", import.stderr);
    assert!(
        import
            .stdout
            .contains("Imported 3 users into platform acme: 3 new, 0 updated."),
        "{}",
        import.stdout
    );

    let connect = lms_harness(&["connect", "--data", data, "--slack-url", &sim.url]);
    assert!(connect.ok, "{}", connect.stderr);
    assert!(
        connect
            .stdout
            .contains("connected to the workspace Scripted Workspace"),
        "{}",
        connect.stdout
    );

    let invite = lms_harness(&["invite", "--data", data, "--session", "onboarding-2026-12"]);
    assert!(invite.ok, "{}", invite.stderr);
    let notification = invite.stdout.trim();
    assert!(
        notification.starts_with("invite-onboarding-2026-12-") && !notification.contains('\n'),
        "{}",
        invite.stdout
    );
    for member in LEARNERS {
        assert!(
            app_conversations(&sim, member).await.is_empty(),
            "invite sends nothing"
        );
    }

    let run = lms_harness(&[
        "deliveries",
        "--data",
        data,
        "--run",
        "--slack-url",
        &sim.url,
        "--notification",
        notification,
        "--json",
    ]);
    assert!(run.ok, "{}", run.stderr);
    let log: Value = serde_json::from_str(&run.stdout).unwrap();
    let status = |user: &str| {
        log["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["user_id"] == user)
            .map(|d| d["status"].clone())
    };
    for user in ["ines", "joe", "kim"] {
        assert_eq!(status(user), Some(Value::from("sent")), "{}", run.stdout);
    }

    for member in LEARNERS {
        let conversations = app_conversations(&sim, member).await;
        assert_eq!(conversations.len(), 1, "{member}: {conversations:?}");
        let messages = conversations[0]["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "{member}: {messages:?}");
    }
    assert!(app_conversations(&sim, "U0SADMIN01").await.is_empty());
}

#[test]
fn users_import_reports_every_bad_row_by_line_and_writes_nothing() {
    let dir = TempDir::new("import-bad");
    let (good, bad, data) = (
        dir.0.join("good.csv"),
        dir.0.join("bad.csv"),
        dir.0.join("data"),
    );
    std::fs::write(
        &bad,
        "id,email,name,locale,time zone
u1,ines@script,Inès,fr-FR,Europe/Paris
u2,joe@script.example,,en_US,Mars/Olympus
u1,kim@script.example,Kim,ko,Asia/Seoul
u4,lou@script.example,Lou,en
",
    )
    .unwrap();
    let (bad_arg, data_arg) = (bad.to_str().unwrap(), data.to_str().unwrap());
    let refused = lms_harness(&["users", "import", "--data", data_arg, bad_arg]);
    assert!(!refused.ok, "{}", refused.stdout);
    for said in [
        "4 bad row(s), nothing imported",
        "line 2: bad e-mail address `ines@script`",
        "line 3: missing field `name`; bad locale `en_US`",
        "unknown time zone `Mars/Olympus`",
        "line 4: duplicate id `u1` (first on line 2)",
        "line 5: missing field `time_zone`",
    ] {
        assert!(refused.stderr.contains(said), "{said}: {}", refused.stderr);
    }
    assert!(!data.exists(), "no data folder was made");

    // On an existing folder, a file with one bad row changes nothing, even its good rows.
    std::fs::write(
        &good,
        "id,email,name,locale,time_zone\nu1,ines@script.example,Inès,fr-FR,Europe/Paris\n",
    )
    .unwrap();
    let imported = lms_harness(&[
        "users",
        "import",
        "--data",
        data_arg,
        good.to_str().unwrap(),
    ]);
    assert!(imported.ok, "{}", imported.stderr);
    std::fs::write(
        &bad,
        "id,email,name,locale,time_zone
u1,ines.new@script.example,Inès,fr-FR,Europe/Paris
u2,not an address,Joe,en,UTC
",
    )
    .unwrap();
    let refused = lms_harness(&["users", "import", "--data", data_arg, bad_arg]);
    assert!(!refused.ok);
    assert!(
        refused
            .stderr
            .contains("line 3: bad e-mail address `not an address`"),
        "{}",
        refused.stderr
    );
    let db = lms_harness::connector::DataDir::open_db(&data, false).unwrap();
    let u1 = db.user("acme", "u1").unwrap().unwrap();
    assert_eq!(u1.email, "ines@script.example");
    assert!(db.user("acme", "u2").unwrap().is_none());

    // The same id again updates the user and keeps their role.
    std::fs::write(&good, "ID,E-mail,Name,Locale,Time zone\nu1,ines.new@script.example,Inès M.,fr-CA,America/Toronto\nadmin,ada@acme.example,Ada A.,en,UTC\n").unwrap();
    let updated = lms_harness(&[
        "users",
        "import",
        "--data",
        data_arg,
        good.to_str().unwrap(),
    ]);
    assert!(updated.ok, "{}", updated.stderr);
    assert!(
        updated.stdout.contains("0 new, 2 updated"),
        "{}",
        updated.stdout
    );
    let u1 = db.user("acme", "u1").unwrap().unwrap();
    assert_eq!(
        (
            u1.email.as_str(),
            u1.display_name.as_str(),
            u1.locale.as_str(),
            u1.time_zone.as_str()
        ),
        (
            "ines.new@script.example",
            "Inès M.",
            "fr-CA",
            "America/Toronto"
        )
    );
    assert_eq!(
        db.user("acme", "admin").unwrap().unwrap().role,
        lms::db::Role::Admin
    );
}

#[test]
fn connect_works_in_local_mode_only_and_says_when_no_simulation_answers() {
    let dir = TempDir::new("connect-errors");
    let data = dir.0.to_str().unwrap();
    let remote = lms_harness(&[
        "connect",
        "--data",
        data,
        "--slack-url",
        "https://slack.com",
    ]);
    assert!(!remote.ok);
    assert!(
        remote.stderr.contains("local mode only"),
        "{}",
        remote.stderr
    );
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let nobody = lms_harness(&["connect", "--data", data, "--slack-url", &url]);
    assert!(!nobody.ok);
    assert!(
        nobody
            .stderr
            .contains(&format!("no simulated Slack answers at {url}")),
        "{}",
        nobody.stderr
    );
}
