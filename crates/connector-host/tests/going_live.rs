//! Going live: the host reaches "slack.com" over verified TLS as an operator sets it up (extra root certificate,
//! address pin, HTTPS proxy), through exactly the outbound path a component's requests take
//! ([`OutboundPolicy::send_from_host`]). Every server here is a real socket on 127.0.0.1, made by the test with a
//! test certificate authority; every wait is bounded.

use bytes::Bytes;
use connector_host::outbound::{Grant, OutboundConfig, OutboundPolicy, Proxy};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::{Error as HttpError, WasiHttpHooks};

/// What one test may take at most.
const BOUND: Duration = Duration::from_secs(20);

/// A test certificate authority, its root written to a PEM file as an operator would hand it over.
struct Authority {
    issuer: rcgen::CertifiedIssuer<'static, KeyPair>,
    pem_file: PathBuf,
    _dir: TempDir,
}

impl Authority {
    fn new() -> Authority {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Going live test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = rcgen::CertifiedIssuer::self_signed(params, key).unwrap();
        let dir = TempDir::new();
        let pem_file = dir.0.join("ca.pem");
        std::fs::write(&pem_file, issuer.pem()).unwrap();
        Authority {
            issuer,
            pem_file,
            _dir: dir,
        }
    }

    /// A TLS server configuration presenting a certificate for `name` signed by this authority.
    fn server(&self, name: &str) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        let chain: Vec<CertificateDer<'static>> =
            vec![cert.der().clone(), self.issuer.der().clone()];
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, PrivateKeyDer::Pkcs8(key.serialize_der().into()))
        .unwrap();
        Arc::new(config)
    }
}

/// A folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("going-live-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a server saw: the head (request line and headers) of each request or `CONNECT`.
type Seen = Arc<Mutex<Vec<String>>>;

/// Reads a request head up to its blank line (at most 8 KiB).
async fn read_head<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        head.push(stream.read_u8().await.ok()?);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// An HTTPS server answering every request `200 {"ok":true}`; returns its address and the heads it saw.
async fn tls_server(config: Arc<rustls::ServerConfig>) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Seen::default();
    let heads = seen.clone();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let heads = heads.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Some(head) = read_head(&mut tls).await else {
                    return;
                };
                heads.lock().unwrap().push(head);
                let body = r#"{"ok":true}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (address, seen)
}

/// A plain HTTP server on what the client takes for a TLS port: it answers whatever arrives with a 400.
async fn plain_http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 1024];
                let _ = tcp.read(&mut buffer).await;
                let _ = tcp
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    address
}

/// A CONNECT proxy that tunnels every request to `upstream` (or refuses it with `refusal`); returns its address and
/// the heads of the CONNECT requests it saw.
async fn connect_proxy(upstream: SocketAddr, refusal: Option<&'static str>) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Seen::default();
    let heads = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let heads = heads.clone();
            tokio::spawn(async move {
                let Some(head) = read_head(&mut client).await else {
                    return;
                };
                heads.lock().unwrap().push(head);
                if let Some(refusal) = refusal {
                    let _ = client
                        .write_all(
                            format!("HTTP/1.1 {refusal}\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                        )
                        .await;
                    return;
                }
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (address, seen)
}

/// A configuration granting `grant`, with short time-outs.
fn config(grant: &str) -> OutboundConfig {
    let mut config = OutboundConfig::new(vec![Grant::parse(grant).unwrap()]);
    config.connect_timeout = Duration::from_secs(5);
    config.total_timeout = Duration::from_secs(10);
    config
}

/// Sends `GET url` from the host through the policy `config` sets up.
async fn get(config: OutboundConfig, url: &str) -> Result<http::Response<Bytes>, HttpError> {
    let mut policy = OutboundPolicy::new(Arc::new(config), "p1/slack".into());
    let request = http::Request::get(url).body(Bytes::new()).unwrap();
    tokio::time::timeout(BOUND, policy.send_from_host(request))
        .await
        .expect("the request ends within its bound")
}

/// The wasi:http error code a component would get for `error`.
fn code(error: HttpError) -> ErrorCode {
    let mut policy = OutboundPolicy::new(Arc::new(OutboundConfig::new(vec![])), "p1/slack".into());
    match error {
        HttpError::Tls(e) => policy.p2_error_from_tls(&e),
        HttpError::DestinationIpProhibited => ErrorCode::DestinationIpProhibited,
        other => panic!("not a TLS or address error: {other}"),
    }
}

/// A configuration reaching `slack.com` on `port` at 127.0.0.1 (pinned), trusting `authority` when given.
fn pinned_slack(port: u16, authority: Option<&Authority>) -> OutboundConfig {
    let mut config = config(&format!("https://slack.com:{port}/api/"));
    config
        .pins
        .push(format!("slack.com:{port}:127.0.0.1").parse().unwrap());
    if let Some(authority) = authority {
        config.add_root_certificates(&authority.pem_file).unwrap();
    }
    config
}

#[tokio::test]
async fn slack_is_reached_with_the_operators_root_and_a_pin() {
    let ca = Authority::new();
    let (server, seen) = tls_server(ca.server("slack.com")).await;
    let url = format!("https://slack.com:{}/api/api.test", server.port());
    let response = get(pinned_slack(server.port(), Some(&ca)), &url)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), br#"{"ok":true}"#);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].starts_with("GET /api/api.test HTTP/1.1\r\n"),
        "{}",
        seen[0]
    );
    let host = format!("host: slack.com:{}\r\n", server.port());
    assert!(seen[0].to_ascii_lowercase().contains(&host), "{}", seen[0]);
}

#[tokio::test]
async fn a_certificate_from_an_unknown_authority_is_refused() {
    let ca = Authority::new();
    let (server, seen) = tls_server(ca.server("slack.com")).await;
    let url = format!("https://slack.com:{}/api/api.test", server.port());
    let error = get(pinned_slack(server.port(), None), &url)
        .await
        .unwrap_err();
    let why = error.to_string();
    assert!(why.contains("UnknownIssuer"), "{why}");
    assert!(why.contains("does not trust"), "{why}");
    assert!(why.contains("extra roots"), "{why}");
    assert!(matches!(code(error), ErrorCode::TlsCertificateError));
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let ca = Authority::new();
    let (server, seen) = tls_server(ca.server("other.example")).await;
    let url = format!("https://slack.com:{}/api/api.test", server.port());
    let error = get(pinned_slack(server.port(), Some(&ca)), &url)
        .await
        .unwrap_err();
    let why = error.to_string();
    assert!(why.contains("is not valid for slack.com"), "{why}");
    assert!(
        why.contains(r#"only valid for DnsName("other.example")"#),
        "{why}"
    );
    assert!(matches!(code(error), ErrorCode::TlsCertificateError));
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_plain_http_server_on_a_tls_port_is_named_as_such() {
    let ca = Authority::new();
    let server = plain_http_server().await;
    let url = format!("https://slack.com:{}/api/api.test", server.port());
    let error = get(pinned_slack(server.port(), Some(&ca)), &url)
        .await
        .unwrap_err();
    let why = error.to_string();
    assert!(why.contains("plain HTTP server on a TLS port"), "{why}");
    assert!(matches!(code(error), ErrorCode::TlsProtocolError));
}

#[tokio::test]
async fn a_pin_allows_its_loopback_address_for_its_host_and_port_only() {
    let ca = Authority::new();
    let (server, seen) = tls_server(ca.server("slack.com")).await;
    let port = server.port();
    // Another host pinned to the same address, on another port.
    let mut config = pinned_slack(port, Some(&ca));
    config
        .grants
        .push(Grant::parse(&format!("https://localhost:{port}/")).unwrap());
    config.pins.push(
        format!("localhost:{}:127.0.0.1", port.wrapping_add(1).max(1))
            .parse()
            .unwrap(),
    );
    let ok = get(
        config.clone(),
        &format!("https://slack.com:{port}/api/api.test"),
    )
    .await;
    assert_eq!(ok.unwrap().status(), 200);
    // localhost resolves to loopback, and its pin is for another port: refused before any connection.
    let error = get(config, &format!("https://localhost:{port}/api/api.test"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, HttpError::DestinationIpProhibited),
        "{error}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn https_goes_through_the_proxy_with_connect() {
    let ca = Authority::new();
    let (server, seen) = tls_server(ca.server("slack.com")).await;
    let (proxy, asked) = connect_proxy(server, None).await;
    let mut config = config("https://slack.com/api/");
    config.add_root_certificates(&ca.pem_file).unwrap();
    config.proxy = Proxy::from_values(
        Some(&format!("http://us%3Aer:secret@{proxy}")),
        Some("example.com"),
    )
    .unwrap();
    // Pins do not apply to proxied requests: the proxy resolves the name.
    config.pins.push("slack.com:443:127.0.0.1".parse().unwrap());
    let response = get(config, "https://slack.com/api/api.test").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), br#"{"ok":true}"#);
    let asked = asked.lock().unwrap();
    assert_eq!(asked.len(), 1);
    let connect = asked[0].lines().collect::<Vec<_>>();
    assert_eq!(connect[0], "CONNECT slack.com:443 HTTP/1.1");
    assert!(connect.contains(&"Host: slack.com:443"), "{connect:?}");
    // base64("us:er:secret")
    assert!(
        connect.contains(&"Proxy-Authorization: Basic dXM6ZXI6c2VjcmV0"),
        "{connect:?}"
    );
    let seen = seen.lock().unwrap();
    assert!(
        seen[0].starts_with("GET /api/api.test HTTP/1.1\r\n"),
        "{}",
        seen[0]
    );
    assert!(
        seen[0].to_ascii_lowercase().contains("host: slack.com\r\n"),
        "{}",
        seen[0]
    );
}

#[tokio::test]
async fn a_proxy_refusal_says_what_the_proxy_said() {
    let ca = Authority::new();
    let (server, seen) = tls_server(ca.server("slack.com")).await;
    let (proxy, asked) = connect_proxy(server, Some("403 Forbidden")).await;
    let mut config = config("https://slack.com/api/");
    config.add_root_certificates(&ca.pem_file).unwrap();
    config.proxy = Proxy::from_values(Some(&format!("http://{proxy}")), None).unwrap();
    let error = get(config, "https://slack.com/api/api.test")
        .await
        .unwrap_err();
    let why = error.to_string();
    assert!(
        why.contains(&format!(
            "the proxy http://{proxy} refused CONNECT slack.com:443: 403 Forbidden"
        )),
        "{why}"
    );
    assert_eq!(asked.lock().unwrap().len(), 1);
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn no_proxy_sends_a_destination_directly() {
    let ca = Authority::new();
    let (server, seen) = tls_server(ca.server("slack.com")).await;
    let (proxy, asked) = connect_proxy(server, None).await;
    let mut config = pinned_slack(server.port(), Some(&ca));
    config.proxy = Proxy::from_values(
        Some(&format!("http://{proxy}")),
        Some("localhost, .slack.com"),
    )
    .unwrap();
    let url = format!("https://slack.com:{}/api/api.test", server.port());
    let response = get(config, &url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(asked.lock().unwrap().is_empty(), "the proxy was bypassed");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn root_files_add_up_and_one_without_a_certificate_is_refused_by_name() {
    let mut config = OutboundConfig::new(vec![]);
    let (first, second) = (Authority::new(), Authority::new());
    config.add_root_certificates(&first.pem_file).unwrap();
    config.add_root_certificates(&second.pem_file).unwrap();
    assert_eq!(config.tls.extra_roots().len(), 2);
    let dir = TempDir::new();
    let empty = dir.0.join("roots.pem");
    std::fs::write(&empty, "# the operator's roots go here\n").unwrap();
    let why = config
        .add_root_certificates(&empty)
        .unwrap_err()
        .to_string();
    assert!(
        why.contains(&format!("{} holds no certificate", empty.display())),
        "{why}"
    );
    assert_eq!(config.tls.extra_roots().len(), 2, "nothing changed");
}
