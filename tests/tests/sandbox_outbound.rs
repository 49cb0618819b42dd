//! A component that tries to reach anything but the granted Slack origin gets a denial, not a connection.

use connector_host::{Limits, Sandbox};
use e2e_tests::hostile::attack;
use e2e_tests::{TestDir, slack_routed_to};
use lms::db::Db;
use lms::secrets::SecretBox;
use std::net::TcpListener;

const PROBE: &[u8] = include_bytes!(env!("PROBE_CONNECTOR_WASM"));

/// The probe's outcome code for a GET of `url` on platform p1.
async fn fetch(sandbox: &Sandbox, url: &str) -> String {
    attack(sandbox, "p1", &format!("fetch {url}"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_granted_origin_is_reachable() {
    let dir = TestDir::new("outbound");
    let db = Db::open(&dir.path().join("db.sqlite3"), SecretBox::new([1; 32])).unwrap();
    // A local server standing in for Slack, and another one that must never be reached.
    let granted = TcpListener::bind("127.0.0.1:0").unwrap();
    let forbidden = TcpListener::bind("127.0.0.1:0").unwrap();
    forbidden.set_nonblocking(true).unwrap();
    let granted_addr = granted.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in granted.incoming().take(1) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    let outbound = slack_routed_to(granted_addr.port());
    let engine = Sandbox::engine().unwrap();
    let sandbox =
        e2e_tests::load_unmanifested(&engine, PROBE, "probe", &db, outbound, Limits::default())
            .unwrap();

    let forbidden_url = format!("http://{}/", forbidden.local_addr().unwrap());
    for url in [
        "https://example.com/",
        "https://169.254.169.254/latest/meta-data/",
        forbidden_url.as_str(),
        "https://slack.com/not-the-api",
        "http://slack.com/api/auth.test",
        "https://slack.com.evil.example/api/auth.test",
    ] {
        assert_eq!(
            fetch(&sandbox, url).await,
            "error:ErrorCode::HttpRequestDenied",
            "{url}"
        );
    }
    // Denied before any connection: the forbidden listener has nobody waiting.
    assert_eq!(
        forbidden.accept().unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
    // The granted origin does get through (routed to the local stand-in).
    assert_eq!(
        fetch(&sandbox, "https://slack.com/api/auth.test").await,
        "status:200"
    );
}
