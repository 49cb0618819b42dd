//! Embedding the host in an LMS: the LMS's state behind [`ConnectorStore`] (here in memory), a connector loaded
//! within the operator's grants, and one call of each kind.
//!
//! ```sh
//! cargo run -p connector-host --example embed -- path/to/connector.wasm
//! ```
//!
//! The component runs as the connector `example` under `testdata/grants.toml`: it may call
//! `https://api.example.com/v1/` and nothing else. This program routes that origin to a small HTTP server of its
//! own on 127.0.0.1, the way a test or a local setup stands in for the real service.

use anyhow::{Context as _, Result};
use connector_host::grants::Grants;
use connector_host::outbound::Route;
use connector_host::progress::Collected;
use connector_host::store::{
    ConnectorStore, DirectoryUser, Disabled, LogLevel, StoredBytes, StoredKind,
};
use connector_host::{Policy, Sandbox, wit};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

/// An LMS's state in memory: settings, secrets and log per (platform, connector), users per platform, alerts, and
/// where the connector is disabled.
#[derive(Default)]
pub struct MemoryStore {
    values: Mutex<BTreeMap<(String, String, String, bool), String>>,
    users: Mutex<BTreeMap<(String, String), DirectoryUser>>,
    /// Every log line written, as (platform, level, message).
    pub log: Mutex<Vec<(String, LogLevel, String)>>,
    /// Every alert raised, as (platform, message).
    pub alerts: Mutex<Vec<(String, String)>>,
    disabled: Mutex<BTreeMap<(String, String), Disabled>>,
}

impl MemoryStore {
    /// Adds a user to a platform's directory.
    pub fn add_user(&self, platform: &str, user: DirectoryUser) {
        let key = (platform.to_string(), user.id.clone());
        self.users.lock().unwrap().insert(key, user);
    }

    fn key(
        platform: &str,
        connector: &str,
        key: &str,
        secret: bool,
    ) -> (String, String, String, bool) {
        (platform.into(), connector.into(), key.into(), secret)
    }
}

impl ConnectorStore for MemoryStore {
    fn setting(&self, platform: &str, connector: &str, key: &str) -> Result<Option<String>> {
        let values = self.values.lock().unwrap();
        Ok(values
            .get(&Self::key(platform, connector, key, false))
            .cloned())
    }

    fn write_settings(
        &self,
        platform: &str,
        connector: &str,
        writes: &[(&str, Option<&str>)],
    ) -> Result<()> {
        let mut values = self.values.lock().unwrap();
        for (key, value) in writes {
            let key = Self::key(platform, connector, key, false);
            match value {
                Some(value) => values.insert(key, value.to_string()),
                None => values.remove(&key),
            };
        }
        Ok(())
    }

    fn set_secret(&self, platform: &str, connector: &str, key: &str, value: &str) -> Result<()> {
        let mut values = self.values.lock().unwrap();
        values.insert(Self::key(platform, connector, key, true), value.into());
        Ok(())
    }

    fn remove_secret(&self, platform: &str, connector: &str, key: &str) -> Result<()> {
        let mut values = self.values.lock().unwrap();
        values.remove(&Self::key(platform, connector, key, true));
        Ok(())
    }

    fn stored_bytes(
        &self,
        platform: &str,
        connector: &str,
        entry: Option<(StoredKind, &str)>,
    ) -> Result<StoredBytes> {
        let values = self.values.lock().unwrap();
        let entry = entry.map(|(kind, key)| (key, kind == StoredKind::Secret));
        let mut stored = StoredBytes::default();
        for ((p, c, key, secret), value) in values.iter() {
            if p == platform && c == connector {
                let bytes = (key.len() + value.len()) as u64;
                stored.total += bytes;
                if entry == Some((key.as_str(), *secret)) {
                    stored.entry = bytes;
                }
            }
        }
        Ok(stored)
    }

    fn secrets(&self, platform: &str, connector: &str) -> Result<Vec<(String, String)>> {
        let values = self.values.lock().unwrap();
        Ok(values
            .iter()
            .filter(|((p, c, _, secret), _)| *secret && p == platform && c == connector)
            .map(|((_, _, key, _), value)| (key.clone(), value.clone()))
            .collect())
    }

    fn user(&self, platform: &str, id: &str) -> Result<Option<DirectoryUser>> {
        let users = self.users.lock().unwrap();
        Ok(users.get(&(platform.to_string(), id.to_string())).cloned())
    }

    fn users_after(
        &self,
        platform: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DirectoryUser>> {
        let users = self.users.lock().unwrap();
        Ok(users
            .iter()
            .filter(|((p, id), _)| p == platform && after.is_none_or(|a| id.as_str() > a))
            .take(limit as usize)
            .map(|(_, u)| u.clone())
            .collect())
    }

    fn log(&self, platform: &str, _connector: &str, level: LogLevel, message: &str) -> Result<()> {
        let mut log = self.log.lock().unwrap();
        log.push((platform.into(), level, message.into()));
        Ok(())
    }

    fn alert(&self, platform: &str, message: &str) -> Result<()> {
        let mut alerts = self.alerts.lock().unwrap();
        alerts.push((platform.into(), message.into()));
        Ok(())
    }

    fn disabled(&self, platform: &str, connector: &str) -> Result<Option<Disabled>> {
        let disabled = self.disabled.lock().unwrap();
        Ok(disabled.get(&(platform.into(), connector.into())).cloned())
    }

    fn disable(&self, platform: &str, connector: &str, reason: &str) -> Result<bool> {
        let mut disabled = self.disabled.lock().unwrap();
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64;
        let key = (platform.to_string(), connector.to_string());
        if disabled.contains_key(&key) {
            return Ok(false);
        }
        disabled.insert(
            key,
            Disabled {
                reason: reason.into(),
                since,
            },
        );
        Ok(true)
    }

    fn enable(&self, platform: &str, connector: &str) -> Result<bool> {
        let mut disabled = self.disabled.lock().unwrap();
        Ok(disabled
            .remove(&(platform.to_string(), connector.to_string()))
            .is_some())
    }
}

/// A stand-in for the service: answers `200 ok` to each of `requests` connections on 127.0.0.1.
fn stand_in_service(requests: usize) -> Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    Ok(url)
}

/// What [`run`] saw.
#[derive(Debug)]
pub struct Report {
    /// The connector's description of itself.
    pub info: wit::ConnectorInfo,
    /// Its state on the platform.
    pub state: wit::IntegrationState,
    /// The outcome of delivering `notification` to the platform's two users.
    pub outcomes: Vec<wit::DeliveryOutcome>,
}

/// Loads `component` over a [`MemoryStore`] and delivers a notification whose body is `body` to two users.
pub async fn run(component: &[u8], body: &str) -> Result<Report> {
    let store = Arc::new(MemoryStore::default());
    for (id, email) in [("u1", "ada@example.org"), ("u2", "grace@example.org")] {
        store.add_user(
            "platform-1",
            DirectoryUser {
                id: id.into(),
                email: email.into(),
                display_name: id.into(),
                locale: "en".into(),
                time_zone: "Europe/Paris".into(),
            },
        );
    }
    let grants = Grants::parse(
        include_str!("../testdata/grants.toml"),
        "testdata/grants.toml",
    )?;
    let mut policy = Policy::new("example", grants, None)?;
    policy.outbound.routes.push(Route::new(
        "https://api.example.com",
        &stand_in_service(4)?,
    )?);
    let engine = Sandbox::engine()?;
    let sandbox = Sandbox::new(&engine, component, store.clone(), policy)?;

    let info = sandbox.describe().await?;
    let state = sandbox.status("platform-1").await?;
    let notification = wit::Notification {
        id: "n1".into(),
        kind: wit::NotificationKind::PathStep,
        title: "Welcome".into(),
        session: None,
        body: Some(body.into()),
        group: wit::PlatformGroup {
            name: "Example Learning".into(),
            logo_url: None,
        },
    };
    let mut recipients = Vec::new();
    for id in ["u1", "u2"] {
        let user = store.user("platform-1", id)?.context("seeded user")?;
        recipients.push(wit::Recipient {
            user: user.into(),
            delivery_id: format!("n1/{id}"),
            attempt: 1,
            earlier_post: None,
            reply_to: None,
        });
    }
    // A connector of contract 0.2.0 reports each recipient's outcome as it goes; an LMS records each one durably
    // there (see `DeliveryProgress`). Here they are only kept, then put with the outcomes the call returned.
    let progress = Arc::new(Collected::default());
    let returned = sandbox
        .deliver("platform-1", &notification, &recipients, progress.clone())
        .await?;
    let outcomes = [progress.outcomes(), returned].concat();
    Ok(Report {
        info,
        state,
        outcomes,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .context("usage: embed COMPONENT.wasm [BODY]")?;
    let body = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "fetch https://api.example.com/v1/status".into());
    let component = std::fs::read(&path).with_context(|| format!("reading {path}"))?;
    let report = run(&component, &body).await?;
    println!(
        "{} {} ({})",
        report.info.name, report.info.version, report.info.id
    );
    println!("state on platform-1: {:?}", report.state);
    for outcome in &report.outcomes {
        println!("{}: {:?}", outcome.delivery_id, outcome.outcome);
    }
    Ok(())
}
