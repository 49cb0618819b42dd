//! A bounded in-memory stderr for a component: it never blocks nor fails the component, keeps the first and the
//! last bytes written (the last ones usually hold a panic message) and counts what it dropped.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

#[derive(Default)]
struct Buffer {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    dropped: u64,
}

/// What a component wrote, bounded to about `capacity` bytes.
#[derive(Clone)]
pub struct Capture {
    half: usize,
    buffer: Arc<Mutex<Buffer>>,
}

impl Capture {
    /// A capture keeping at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Capture {
            half: capacity / 2,
            buffer: Arc::default(),
        }
    }

    fn push(&self, bytes: &[u8]) {
        let mut b = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        let room = self.half.saturating_sub(b.head.len());
        let (head, rest) = bytes.split_at(room.min(bytes.len()));
        b.head.extend_from_slice(head);
        for &byte in rest {
            if b.tail.len() == self.half {
                b.tail.pop_front();
                b.dropped += 1;
            }
            if self.half > 0 {
                b.tail.push_back(byte);
            } else {
                b.dropped += 1;
            }
        }
    }

    /// The text kept, with a marker where bytes were dropped; empty when nothing was written.
    pub fn text(&self) -> String {
        let b = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = String::from_utf8_lossy(&b.head).into_owned();
        if b.dropped > 0 {
            text.push_str(&format!("\n[… {} bytes dropped …]\n", b.dropped));
        }
        let tail: Vec<u8> = b.tail.iter().copied().collect();
        text.push_str(&String::from_utf8_lossy(&tail));
        text.trim_end().to_string()
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_head_and_the_tail() {
        let c = Capture::new(8);
        c.push(b"abcdefghij");
        c.push(b"XYZ");
        assert_eq!(c.text(), "abcd\n[… 5 bytes dropped …]\njXYZ");
    }
}
