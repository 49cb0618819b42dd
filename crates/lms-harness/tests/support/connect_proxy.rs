//! An HTTP CONNECT proxy on 127.0.0.1, as an egress proxy stands between a host and the internet: it tunnels every
//! `CONNECT` to one upstream address (where it would resolve the name) and records the request lines it saw.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The request lines the proxy saw, in order.
pub type Seen = Arc<Mutex<Vec<String>>>;

/// Starts the proxy tunnelling to `upstream`; its address and what it saw.
pub async fn start(upstream: SocketAddr) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Seen::default();
    let lines = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let lines = lines.clone();
            tokio::spawn(async move {
                // The request head, up to its blank line (at most 8 KiB).
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    match client.read_u8().await {
                        Ok(byte) => head.push(byte),
                        Err(_) => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                lines
                    .lock()
                    .unwrap()
                    .push(head.lines().next().unwrap_or_default().to_string());
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
