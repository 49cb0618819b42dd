//! A call's settings writes reach the store together, at each hand-over: what the connector wrote is stored before
//! its next request leaves and when the call ends (even when it fails), and it reads its own writes meanwhile.

use connector_host::{ConnectorStore, Limits, Sandbox};
use e2e_tests::hostile::attack;
use e2e_tests::{TestDir, slack_routed_to};
use lms::db::Db;
use lms::secrets::SecretBox;
use std::net::TcpListener;
use std::sync::mpsc;

const PROBE: &[u8] = include_bytes!(env!("PROBE_CONNECTOR_WASM"));

/// The settings `key-0` … `key-{count-1}` and `key-after` of the probe on p1 that the store holds.
fn stored(db: &Db, key: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("{key}-{i}"))
        .chain([format!("{key}-after")])
        .filter(|k| db.setting("p1", "probe", k).unwrap().is_some())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_stored_before_the_next_request_and_when_the_call_ends() {
    let dir = TestDir::new("settings-hand-over");
    let db = Db::open(&dir.path().join("db.sqlite3"), SecretBox::new([1; 32])).unwrap();
    // A stand-in for Slack that looks at the store when the request arrives.
    let slack = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = slack.local_addr().unwrap();
    let (seen_tx, seen) = mpsc::channel();
    let server_db = db.clone();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in slack.incoming().take(1) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            seen_tx.send(stored(&server_db, "k", 500)).unwrap();
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    let outbound = slack_routed_to(addr.port());
    let engine = Sandbox::engine().unwrap();
    let sandbox =
        e2e_tests::load_unmanifested(&engine, PROBE, "probe", &db, outbound, Limits::default())
            .unwrap();

    // 500 writes and a removal, read back by the connector, stored by the time its request arrives; the write made
    // after the request is stored when the call ends.
    assert_eq!(
        attack(
            &sandbox,
            "p1",
            "settings k 500 https://slack.com/api/auth.test"
        )
        .await,
        Ok("read:true;status:200".to_string())
    );
    let at_request = seen.recv().unwrap();
    let expected: Vec<String> = (1..500).map(|i| format!("k-{i}")).collect();
    assert_eq!(at_request, expected);
    let mut after = expected.clone();
    after.push("k-after".into());
    assert_eq!(stored(&db, "k", 500), after);
    assert_eq!(
        db.setting("p1", "probe", "k-7").unwrap().as_deref(),
        Some("v7")
    );
    // What the store counts against the quota is what it holds.
    let bytes: u64 = after
        .iter()
        .map(|k| (k.len() + db.setting("p1", "probe", k).unwrap().unwrap().len()) as u64)
        .sum();
    assert_eq!(db.stored_bytes("p1", "probe", None).unwrap().total, bytes);

    // A call that fails after a write still leaves it stored.
    let failed = attack(&sandbox, "p1", "abort kept").await.unwrap_err();
    assert!(failed.contains("aborted"), "{failed}");
    assert_eq!(
        db.setting("p1", "probe", "kept").unwrap().as_deref(),
        Some("kept")
    );
}
