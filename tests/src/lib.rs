//! Helpers shared by the end-to-end tests.

use anyhow::Result;
use connector_host::outbound::{Grant, OutboundConfig, Route};
use connector_host::{Engine, Limits, Policy, Sandbox};
use lms::db::Db;
use lms_harness::connector::default_grants;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Loads `component` as the connector `connector_id` over `db`, as the harness loads a connector that ships no
/// manifest: the default grants' imports, with `outbound` and `limits` in force.
pub fn load_unmanifested(
    engine: &Engine,
    component: &[u8],
    connector_id: &str,
    db: &Db,
    outbound: OutboundConfig,
    limits: Limits,
) -> Result<Sandbox> {
    let policy = unmanifested_policy(connector_id, outbound, limits)?;
    Sandbox::new(engine, component, Arc::new(db.clone()), policy)
}

/// The policy [`load_unmanifested`] loads a component with: the default grants under `connector_id`, no manifest,
/// `outbound` and `limits`; for a test that gives the sandbox a store of its own.
pub fn unmanifested_policy(
    connector_id: &str,
    outbound: OutboundConfig,
    limits: Limits,
) -> Result<Policy> {
    let mut grants = default_grants();
    grants.connector = connector_id.to_string();
    let mut policy = Policy::new(connector_id, grants, None)?;
    policy.outbound = outbound;
    policy.limits = limits;
    Ok(policy)
}

/// The default grant of Slack's Web API (`https://slack.com/api/`), with `https://slack.com` routed to a stand-in on
/// `127.0.0.1:port`.
pub fn slack_routed_to(port: u16) -> OutboundConfig {
    let mut outbound = OutboundConfig::new(vec![Grant::parse("https://slack.com/api/").unwrap()]);
    outbound
        .routes
        .push(Route::new("https://slack.com", &format!("http://127.0.0.1:{port}")).unwrap());
    outbound
}

/// A temporary folder removed when dropped.
pub struct TestDir(PathBuf);

impl TestDir {
    /// A new empty folder named after `name`, unique to this process.
    pub fn new(name: &str) -> TestDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("lms-e2e-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("creating a test folder");
        TestDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

use lms::integration::Tile;
use lms::outbox::{Kind, NewNotification};
use lms_harness::demo::{DEMO_PLATFORM, DEMO_REDIRECT_URI, consent};
use lms_harness::harness::{DemoData, Harness, HarnessOptions};
use slack_sim::SimConfig;

/// A started harness with the demo platform seeded, and what it was started with.
pub struct World {
    /// The harness.
    pub harness: Harness,
    /// The simulation's configuration.
    pub sim: SimConfig,
    /// The seeded demo data.
    pub data: DemoData,
    /// The data folder (removed at the end).
    pub dir: TestDir,
}

impl World {
    /// Starts a harness on the demo workspace, changed by `configure`.
    pub async fn start(name: &str, configure: impl FnOnce(&mut SimConfig)) -> World {
        let dir = TestDir::new(name);
        let mut options = HarnessOptions::in_dir(dir.path());
        configure(&mut options.sim);
        let sim = options.sim.clone();
        let harness = Harness::start(options).await.expect("starting the harness");
        let data = harness
            .seed_demo(DEMO_PLATFORM, &sim)
            .expect("seeding the demo platform");
        World {
            harness,
            sim,
            data,
            dir,
        }
    }

    /// The Slack member who installs the app (the workspace's admin).
    pub fn installer(&self) -> String {
        self.sim
            .workspace
            .members
            .iter()
            .find(|m| m.is_admin)
            .expect("an admin member")
            .id
            .clone()
    }

    /// ACTIVATE as the platform admin, then Allow (or Cancel) as `member` on the consent page: the query Slack
    /// sends back to the callback.
    pub async fn consent_as(
        &self,
        member: &str,
        allow: bool,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let url = self
            .harness
            .lms
            .start_activation(DEMO_PLATFORM, &self.data.admin, DEMO_REDIRECT_URI)
            .await?;
        consent(&url, member, allow).await
    }

    /// The OAuth callback with `query`: the tile it leads to.
    pub async fn complete(&self, query: &[(String, String)]) -> anyhow::Result<Tile> {
        self.harness
            .lms
            .complete_activation(DEMO_PLATFORM, query)
            .await
    }

    /// ACTIVATE as the platform admin, then Allow (or Cancel) as `member` on the consent page.
    pub async fn activate_as(&self, member: &str, allow: bool) -> anyhow::Result<Tile> {
        let query = self.consent_as(member, allow).await?;
        self.complete(&query).await
    }

    /// Invites every learner to the demo session under notification `id` and runs the outbox.
    pub async fn invite(&self, id: &str) -> anyhow::Result<lms::outbox::RunReport> {
        let lms = &self.harness.lms;
        let learners: Vec<String> = self.data.learners.iter().map(|u| u.id.clone()).collect();
        let title = lms::invitations::subject(&self.data.session.title, lms::lang::Lang::En);
        lms.outbox().enqueue(
            DEMO_PLATFORM,
            &NewNotification {
                id,
                kind: Kind::SessionAssignment,
                title: &title,
                session_id: Some(&self.data.session.id),
                body: None,
                mandatory: false,
                not_before: 0,
            },
            &learners,
        )?;
        lms::workers::run_outbox(lms, DEMO_PLATFORM, lms::db::now()).await
    }

    /// Rows of the audit log as `actor action detail`.
    pub fn audit(&self) -> Vec<String> {
        let conn = self.harness.lms.db().conn();
        let mut stmt = conn
            .prepare("SELECT actor, action, detail FROM audit_log ORDER BY seq")
            .unwrap();
        stmt.query_map((), |r| {
            Ok(format!(
                "{} {} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    /// The platform's admin alerts.
    pub fn alerts(&self) -> Vec<String> {
        let conn = self.harness.lms.db().conn();
        let mut stmt = conn
            .prepare("SELECT message FROM alerts WHERE platform_id = ?1 ORDER BY seq")
            .unwrap();
        stmt.query_map([DEMO_PLATFORM], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
}

/// Calls of the hostile test components (`tests/components/hostile*`): each reads the attack to run from the body of
/// the notification it is asked to deliver, and answers with a failure whose code says what happened.
pub mod hostile {
    use crate::TestDir;
    use connector_host::progress::Collected;
    use connector_host::{Engine, Policy, Sandbox, wit};
    use lms::db::{Db, Retention};
    use lms::secrets::SecretBox;
    use lms_harness::connector::{EMBEDDED_CONNECTOR, default_grants, embedded_manifest};
    use std::sync::Arc;

    /// A database, an engine, and the real Slack connector loaded as the harness loads it, for a hostile component
    /// to be loaded beside.
    pub struct World {
        /// The folder of the database, removed with the world.
        pub dir: TestDir,
        /// The LMS's database.
        pub db: Db,
        /// The engine every sandbox of the world shares.
        pub engine: Engine,
        /// The real Slack connector.
        pub slack: Sandbox,
    }

    impl World {
        /// A world in a new folder named after `name`, with the default retention of log rows.
        pub fn new(name: &str) -> World {
            World::with_retention(name, Retention::default())
        }

        /// A world whose database keeps log and audit rows under `retention`.
        pub fn with_retention(name: &str, retention: Retention) -> World {
            let dir = TestDir::new(name);
            let db = Db::open(&dir.path().join("db.sqlite3"), SecretBox::new([3; 32]))
                .unwrap()
                .with_retention(retention);
            let engine = Sandbox::engine().unwrap();
            let policy = Policy::new("slack", default_grants(), Some(embedded_manifest())).unwrap();
            let slack =
                Sandbox::new(&engine, EMBEDDED_CONNECTOR, Arc::new(db.clone()), policy).unwrap();
            World {
                dir,
                db,
                engine,
                slack,
            }
        }

        /// The well-behaved connector answers.
        pub async fn slack_serves(&self) {
            assert_eq!(self.slack.describe().await.unwrap().id, "slack");
            assert!(matches!(
                self.slack.status("p1").await.unwrap(),
                wit::IntegrationState::Inactive
            ));
        }
    }

    /// A path-step notification whose body names the attack.
    pub fn notification(body: &str) -> wit::Notification {
        wit::Notification {
            id: "n".into(),
            kind: wit::NotificationKind::PathStep,
            title: "t".into(),
            session: None,
            body: Some(body.into()),
            group: wit::PlatformGroup {
                name: "g".into(),
                logo_url: None,
            },
        }
    }

    /// `n` recipients, `u0`… with delivery ids `d0`….
    pub fn recipients(n: usize) -> Vec<wit::Recipient> {
        (0..n)
            .map(|i| wit::Recipient {
                user: wit::User {
                    id: format!("u{i}"),
                    email: format!("u{i}@x"),
                    display_name: "U".into(),
                    locale: "en".into(),
                    time_zone: "UTC".into(),
                },
                delivery_id: format!("d{i}"),
                attempt: 1,
                earlier_post: None,
                reply_to: None,
            })
            .collect()
    }

    /// Runs an attack on `platform` and returns its outcome code, or the call's error.
    pub async fn attack(sandbox: &Sandbox, platform: &str, body: &str) -> Result<String, String> {
        match sandbox
            .deliver(
                platform,
                &notification(body),
                &recipients(1),
                Arc::new(Collected::default()),
            )
            .await
        {
            Ok(outcomes) => match &outcomes[0].outcome {
                wit::Outcome::Failed(f) => Ok(f.code.clone()),
                other => panic!("unexpected outcome {other:?}"),
            },
            Err(e) => Err(format!("{e:#}")),
        }
    }
}
