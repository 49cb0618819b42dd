//! Leases: which runner drives a platform's outbox, and which holds a delivery in flight, until when.
//!
//! Several processes may run the outbox of one database (`serve` and `deliveries --run` on the same data folder).
//! A runner drives a platform only while it holds the platform's lease (Slack's limits are per workspace, and the
//! connector's pacing state is per platform, so two runners on one platform would only race each other), and every
//! delivery it claims carries its name and the lease's expiry. A live runner renews both while it works
//! ([`Heartbeat`]); a runner that stops (killed, frozen, its machine gone) stops renewing, and once its leases have
//! expired the next runner takes the platform and the deliveries left in flight, which are then handed to the
//! connector as possibly sent. On one machine a runner whose process is gone is known at once: its leases are taken
//! without waiting for them to expire.

use crate::db::{Db, now};
use crate::sql::{OptionalExtension, params};
use anyhow::Result;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// How long a lease lasts unless renewed, by default.
pub const DEFAULT_LEASE_SECS: i64 = 60;

/// A runner of the outbox: its name in the database (`host/pid-namespace:pid:token`) and how long its leases last.
#[derive(Debug, Clone)]
pub struct Runner {
    owner: String,
    lease_secs: i64,
    /// How many runners share the database, as its last [`Runner::check_in`] counted them (1 before it).
    runners: Arc<AtomicUsize>,
}

impl PartialEq for Runner {
    fn eq(&self, other: &Runner) -> bool {
        self.owner == other.owner && self.lease_secs == other.lease_secs
    }
}

impl Eq for Runner {}

impl Runner {
    /// A runner with a fresh name, in this process, whose leases last `lease_secs` unless renewed.
    pub fn new(lease_secs: i64) -> Runner {
        let token: u32 = rand::random();
        Runner {
            owner: format!("{}:{}:{token:08x}", hostname(), std::process::id()),
            lease_secs: lease_secs.max(3),
            runners: Arc::new(AtomicUsize::new(1)),
        }
    }

    /// The runner of this process, with leases of [`DEFAULT_LEASE_SECS`].
    pub fn process() -> Runner {
        static RUNNER: LazyLock<Runner> = LazyLock::new(|| Runner::new(DEFAULT_LEASE_SECS));
        RUNNER.clone()
    }

    /// Its name, as the database stores it.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// How long its leases last unless renewed, in seconds.
    pub fn lease_secs(&self) -> i64 {
        self.lease_secs
    }

    /// When a lease taken or renewed now expires.
    pub fn expiry(&self) -> i64 {
        now() + self.lease_secs
    }

    /// Takes `platform_id`'s lease, or renews it: `false` while another live runner holds it. Taking it from a runner
    /// that is gone (its lease expired, or its process no longer runs on this machine) ends that runner's leases on the
    /// platform's deliveries too, so that they are taken again at once.
    pub fn acquire(&self, db: &Db, platform_id: &str) -> Result<bool> {
        let mut conn = db.conn();
        let tx = conn.write()?;
        let holder: Option<(String, i64)> = tx
            .query_row(
                "SELECT owner, expires_at FROM platform_leases WHERE platform_id = ?1",
                [platform_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let t = now();
        if let Some((owner, expires_at)) = &holder
            && owner != &self.owner
        {
            if *expires_at >= t && is_alive(owner) {
                return Ok(false);
            }
            tx.execute(
                "UPDATE deliveries SET lease_expires_at = 0
                 WHERE platform_id = ?1 AND status = 'in_flight' AND lease_owner = ?2",
                params![platform_id, owner],
            )?;
            tracing::warn!(
                platform = platform_id,
                "took over the outbox from the runner {owner}, which stopped"
            );
        }
        tx.execute(
            "INSERT INTO platform_leases (platform_id, owner, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (platform_id) DO UPDATE SET owner = ?2, expires_at = ?3",
            params![platform_id, self.owner, t + self.lease_secs],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Renews this runner's lease on `platform_id` and on the deliveries it holds in flight there; an error when the
    /// lease is no longer its own (another runner took it over after it expired).
    pub fn renew(&self, db: &Db, platform_id: &str) -> Result<()> {
        let mut conn = db.conn();
        let tx = conn.write()?;
        let expiry = self.expiry();
        let held = tx.execute(
            "UPDATE platform_leases SET expires_at = ?3 WHERE platform_id = ?1 AND owner = ?2",
            params![platform_id, self.owner, expiry],
        )?;
        if held == 0 {
            anyhow::bail!("the lease on {platform_id} was taken over by another runner");
        }
        tx.execute(
            "UPDATE deliveries SET lease_expires_at = ?3
             WHERE platform_id = ?1 AND status = 'in_flight' AND lease_owner = ?2",
            params![platform_id, self.owner, expiry],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records that this runner is alive, and returns how many runners of the database (itself included) were seen
    /// within a lease: how many share the platforms to drive. Runners not seen for ten leases are forgotten; one
    /// whose process is known gone (on this machine) is not counted.
    pub fn check_in(&self, db: &Db) -> Result<usize> {
        let conn = db.conn();
        let t = now();
        conn.execute(
            "INSERT INTO runners (owner, seen_at) VALUES (?1, ?2)
             ON CONFLICT (owner) DO UPDATE SET seen_at = ?2",
            params![self.owner, t],
        )?;
        conn.execute(
            "DELETE FROM runners WHERE seen_at < ?1",
            [t - 10 * self.lease_secs],
        )?;
        let mut stmt = conn.prepare_cached("SELECT owner FROM runners WHERE seen_at >= ?1")?;
        let seen: Vec<String> = stmt
            .query_map([t - self.lease_secs], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let runners = seen
            .iter()
            .filter(|owner| *owner == &self.owner || is_alive(owner))
            .count()
            .max(1);
        self.runners.store(runners, Ordering::Relaxed);
        Ok(runners)
    }

    /// Whether this runner drives more than its share of the platforms being driven (those under a live lease, shared
    /// by the runners its last [`Runner::check_in`] counted): then it should let one go, for a runner that started
    /// later to take. Never with one runner.
    pub fn over_share(&self, db: &Db) -> Result<bool> {
        let runners = self.runners.load(Ordering::Relaxed);
        if runners <= 1 {
            return Ok(false);
        }
        let (mine, all): (i64, i64) = db.conn().query_row(
            "SELECT COUNT(*) FILTER (WHERE owner = ?1), COUNT(*) FROM platform_leases WHERE expires_at >= ?2",
            params![self.owner, now()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(mine as usize > (all as usize).div_ceil(runners))
    }

    /// Records that this runner stopped, so that the others no longer leave it a share.
    pub fn check_out(&self, db: &Db) -> Result<()> {
        db.conn()
            .execute("DELETE FROM runners WHERE owner = ?1", [&self.owner])?;
        Ok(())
    }

    /// The platforms whose lease this runner holds.
    pub fn held(&self, db: &Db) -> Result<Vec<String>> {
        let conn = db.conn();
        let mut stmt =
            conn.prepare_cached("SELECT platform_id FROM platform_leases WHERE owner = ?1")?;
        let held = stmt
            .query_map([&self.owner], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(held)
    }

    /// Gives `platform_id`'s lease back (its deliveries are no longer in flight).
    pub fn release(&self, db: &Db, platform_id: &str) -> Result<()> {
        db.conn().execute(
            "DELETE FROM platform_leases WHERE platform_id = ?1 AND owner = ?2",
            params![platform_id, self.owner],
        )?;
        Ok(())
    }
}

/// Renews a runner's leases on one platform in the background, every third of the lease, until dropped.
pub struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    /// Starts renewing `runner`'s leases on `platform_id`.
    pub fn start(db: Db, runner: Runner, platform_id: String) -> Heartbeat {
        let every = Duration::from_secs((runner.lease_secs / 3).max(1) as u64);
        let runner = Arc::new(runner);
        Heartbeat(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = runner.renew(&db, &platform_id) {
                    tracing::error!(platform = %platform_id, "renewing the outbox's lease failed: {e:#}");
                }
                if let Err(e) = runner.check_in(&db) {
                    tracing::error!("recording that the outbox's runner is alive failed: {e:#}");
                }
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// This machine's name as the leases' owners give it: its host name and, on Linux, its process-id namespace, so that
/// two containers sharing a host name but not their process ids never judge each other's processes.
fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    match std::fs::read_link("/proc/self/ns/pid") {
        // `pid:[4026531836]`
        Ok(ns) => format!(
            "{name}/{}",
            ns.to_string_lossy()
                .trim_start_matches("pid:[")
                .trim_end_matches(']')
        ),
        Err(_) => name,
    }
}

/// Whether the runner `owner` may still be running: on this machine, whether its process exists (Linux); elsewhere,
/// or when that cannot be told, yes (its lease's expiry decides).
fn is_alive(owner: &str) -> bool {
    let mut parts = owner.rsplitn(3, ':');
    let (_token, pid, host) = (parts.next(), parts.next(), parts.next());
    let (Some(pid), Some(host)) = (pid.and_then(|p| p.parse::<u32>().ok()), host) else {
        return true;
    };
    if host != hostname() || !cfg!(target_os = "linux") {
        return true;
    }
    pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Db {
        crate::test_support::memory_db()
    }

    #[test]
    fn one_live_runner_holds_a_platform_and_a_gone_one_is_taken_over() {
        let db = db();
        let (a, b) = (Runner::new(60), Runner::new(60));
        assert!(a.acquire(&db, "p").unwrap());
        assert!(a.acquire(&db, "p").unwrap(), "renewed by its holder");
        assert!(!b.acquire(&db, "p").unwrap(), "held by a live runner");
        assert!(b.acquire(&db, "q").unwrap(), "another platform is free");
        a.release(&db, "p").unwrap();
        assert!(b.acquire(&db, "p").unwrap());
        // A runner whose process no longer exists on this machine is taken over at once.
        let gone = Runner {
            owner: format!("{}:{}:0", hostname(), u32::MAX - 1),
            ..Runner::new(60)
        };
        b.release(&db, "p").unwrap();
        assert!(gone.acquire(&db, "p").unwrap());
        assert!(a.acquire(&db, "p").unwrap());
        // One whose lease expired too, wherever it ran.
        let elsewhere = Runner {
            owner: "another-host:1:0".into(),
            ..Runner::new(60)
        };
        a.release(&db, "p").unwrap();
        assert!(elsewhere.acquire(&db, "p").unwrap());
        assert!(!a.acquire(&db, "p").unwrap(), "alive as far as we can tell");
        db.conn()
            .execute("UPDATE platform_leases SET expires_at = 0", ())
            .unwrap();
        assert!(a.acquire(&db, "p").unwrap());
    }

    #[test]
    fn a_runner_holding_more_than_its_share_lets_one_go() {
        let db = db();
        let (a, b) = (Runner::new(60), Runner::new(60));
        for p in ["p1", "p2", "p3", "p4"] {
            assert!(a.acquire(&db, p).unwrap());
        }
        assert_eq!(a.check_in(&db).unwrap(), 1);
        assert!(!a.over_share(&db).unwrap(), "alone: all of them");
        assert_eq!(b.check_in(&db).unwrap(), 2);
        assert_eq!(a.check_in(&db).unwrap(), 2);
        assert!(a.over_share(&db).unwrap(), "4 of 4 with two runners");
        a.release(&db, "p1").unwrap();
        a.release(&db, "p2").unwrap();
        assert!(b.acquire(&db, "p1").unwrap());
        assert!(!a.over_share(&db).unwrap(), "2 of 3");
        b.check_out(&db).unwrap();
        assert_eq!(a.check_in(&db).unwrap(), 1);
    }

    #[test]
    fn owners_name_their_process() {
        let r = Runner::new(1);
        assert_eq!(r.lease_secs(), 3, "at least three seconds");
        assert!(r.owner().contains(&format!(":{}:", std::process::id())));
        assert!(is_alive(r.owner()));
        assert!(!is_alive(&format!("{}:{}:0", hostname(), u32::MAX - 1)));
        assert!(is_alive("elsewhere:1:0"));
        assert!(is_alive("not an owner"));
    }
}
