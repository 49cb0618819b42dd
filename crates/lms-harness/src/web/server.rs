//! The HTTP server under the pages: hyper's HTTP/1 connection with a header read time-out (`axum::serve` sets no
//! timer, so it has none: a client sending its headers a byte at a time holds a connection forever), the rule
//! that the site listens on loopback only unless the operator says real sign-in is in front of it, and a start that
//! fails leaving no data folder behind.

use anyhow::{Context, Result, bail};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How long open connections get to finish when the site stops.
const DRAIN: Duration = Duration::from_secs(5);

/// Refuses an address other than loopback unless `behind_sign_in`: the pages let anyone sign in as anyone.
pub(super) fn check_listen(what: &str, addr: SocketAddr, behind_sign_in: bool) -> Result<()> {
    if addr.ip().is_loopback() || behind_sign_in {
        return Ok(());
    }
    bail!(
        "refusing to serve {what} on {addr}: it is not a loopback address, and these pages let any visitor sign in \
         as any user (admins included). Listen on 127.0.0.1, or put real sign-in in front of the site and pass \
         --behind-sign-in"
    )
}

/// Fails, naming `what`, when `addr` cannot be listened on (in use, say): checked before the data folder is touched.
/// The address is free again when this returns; whoever listens on it next binds it for good.
pub(super) fn check_free(what: &str, addr: SocketAddr) -> Result<()> {
    std::net::TcpListener::bind(addr).with_context(|| format!("listening on {addr} ({what})"))?;
    Ok(())
}

/// The data folder of a start: created when missing, and then removed again unless the start [`keep`](Self::keep)s
/// it. A folder that existed is never removed.
pub(super) struct NewFolder {
    /// The outermost folder this start created (the data folder or a missing parent), until the start keeps it.
    created: Option<PathBuf>,
}

impl NewFolder {
    /// Creates `dir` (and its parents) when missing.
    pub(super) fn create(dir: &Path) -> Result<NewFolder> {
        let created = dir
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .last()
            .map(Path::to_path_buf);
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data folder {}", dir.display()))?;
        Ok(NewFolder { created })
    }

    /// The start succeeded: the folder stays.
    pub(super) fn keep(mut self) {
        self.created = None;
    }
}

impl Drop for NewFolder {
    fn drop(&mut self) {
        if let Some(dir) = self.created.take() {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => tracing::info!(
                    "the start failed: removed the data folder {} it had created",
                    dir.display()
                ),
                Err(e) => tracing::warn!(
                    "the start failed, and the data folder {} it had created could not be removed: {e}",
                    dir.display()
                ),
            }
        }
    }
}

/// Serves `router` on `listener` until `stop` turns true, cutting off a client whose request headers take longer
/// than `header_timeout` from their first byte.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, most likely: wait a little rather than spin.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("an LMS page connection ended: {e}");
            }
        });
    }
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open {DRAIN:?} after the site stopped");
    }
}

/// Returns once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_unless_behind_sign_in() {
        for a in ["127.0.0.1:8080", "[::1]:8080"] {
            assert!(check_listen("x", a.parse().unwrap(), false).is_ok());
        }
        let e = check_listen("x", "0.0.0.0:8080".parse().unwrap(), false).unwrap_err();
        assert!(e.to_string().contains("--behind-sign-in"), "{e}");
        assert!(check_listen("x", "192.0.2.1:80".parse().unwrap(), true).is_ok());
    }

    #[test]
    fn a_folder_the_start_created_goes_unless_kept_and_an_existing_one_stays() {
        let root = std::env::temp_dir().join(format!("lms-new-folder-{}", std::process::id()));
        let new = root.join("a/b");
        drop(NewFolder::create(&new).unwrap());
        assert!(
            !root.exists(),
            "created with its parents, not kept: all removed"
        );
        NewFolder::create(&new).unwrap().keep();
        assert!(new.exists(), "kept");
        std::fs::write(new.join("marker"), b"x").unwrap();
        drop(NewFolder::create(&new).unwrap());
        assert!(
            new.join("marker").exists(),
            "an existing folder stays as it was"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
