//! A harness: a simulated Slack workspace on 127.0.0.1, the LMS database, and the connector in its sandbox, with
//! `https://slack.com` routed to the simulation (local mode).

use crate::connector::{ConnectorSpec, DataDir};
use anyhow::Result;
use lms::db::Role;
use lms::db::{Db, Platform, Session, User};
use lms::integration::Lms;
use lms::secrets::SecretBox;
use slack_sim::{SimConfig, SimHandle};
use std::net::SocketAddr;
use std::path::PathBuf;

/// How to start a harness.
pub struct HarnessOptions {
    /// The SQLite database file.
    pub db_path: PathBuf,
    /// The secrets key file, 64 hex digits: the operator's, or one created with a random key when missing.
    pub key_file: PathBuf,
    /// The connector: component, manifest, grants and compile cache.
    pub connector: ConnectorSpec,
    /// The simulated workspace.
    pub sim: SimConfig,
    /// Where the simulation listens.
    pub sim_listen: SocketAddr,
}

impl HarnessOptions {
    /// Defaults in `data_dir`: `lms.sqlite3`, `secrets.key`, the embedded connector and the demo workspace.
    pub fn in_dir(data_dir: &std::path::Path) -> Self {
        HarnessOptions {
            db_path: DataDir::database(data_dir),
            key_file: DataDir::key_file(data_dir),
            connector: ConnectorSpec::embedded(Some(DataDir::cache(data_dir))),
            sim: SimConfig::demo(),
            sim_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// A running harness.
pub struct Harness {
    /// The LMS.
    pub lms: Lms,
    /// The simulated Slack.
    pub sim: SimHandle,
}

impl Harness {
    /// Starts the simulation, opens the database and loads the connector.
    pub async fn start(options: HarnessOptions) -> Result<Harness> {
        let sim = slack_sim::start(options.sim_listen, options.sim.clone()).await?;
        let db = Db::open(
            &options.db_path,
            SecretBox::from_key_file(&options.key_file)?,
        )?;
        let lms = options.connector.open_lms(db, Some(&sim.base_url()))?;
        Ok(Harness { lms, sim })
    }

    /// Creates a platform whose connector is available and configured with the simulated app's credentials.
    pub fn add_platform(&self, platform: &Platform, sim: &SimConfig) -> Result<()> {
        let db = self.lms.db();
        db.upsert_platform(platform)?;
        self.lms.set_available(&platform.id, true, "vendor")?;
        self.lms
            .configure(&platform.id, "client_id", &sim.app.client_id, false)?;
        self.lms
            .configure(&platform.id, "client_secret", &sim.app.client_secret, true)?;
        self.lms.configure(
            &platform.id,
            "signing_secret",
            &sim.app.signing_secret,
            true,
        )?;
        Ok(())
    }

    /// Seeds a platform with the demo's group, users and session.
    pub fn seed_demo(&self, platform_id: &str, sim: &SimConfig) -> Result<DemoData> {
        let platform = Platform {
            id: platform_id.to_string(),
            name: "Acme Academy".into(),
            group_name: "Acme Learning".into(),
            group_logo_url: Some("https://lms.example/static/acme-logo.png".into()),
            default_cover_url: Some("https://lms.example/static/default-cover.png".into()),
            base_url: "https://lms.example/acme".into(),
        };
        self.add_platform(&platform, sim)?;
        let members: Vec<_> = sim
            .workspace
            .members
            .iter()
            .filter(|m| {
                !m.deleted
                    && !m.is_bot
                    && !m.is_admin
                    && !sim.workspace.app_managers.contains(&m.id)
            })
            .collect();
        let mut users = vec![User {
            id: "admin".into(),
            email: "admin@acme.example".into(),
            display_name: "Ada Admin".into(),
            locale: "en".into(),
            time_zone: "Europe/Paris".into(),
            role: Role::Admin,
        }];
        for (i, m) in members.iter().enumerate().take(3) {
            let Some(email) = &m.email else { continue };
            // The second learner's address differs in letter case from Slack's: matching must not care.
            let email = if i == 1 {
                email.to_uppercase()
            } else {
                email.clone()
            };
            users.push(User {
                id: format!("learner-{}", i + 1),
                email,
                display_name: m.real_name.clone(),
                locale: if i == 0 {
                    "fr-FR".into()
                } else {
                    "en-US".into()
                },
                time_zone: m.tz.clone(),
                role: Role::Learner,
            });
        }
        users.push(User {
            id: "learner-nobody".into(),
            email: "no.slack.account@acme.example".into(),
            display_name: "Noa Nobody".into(),
            locale: "en".into(),
            time_zone: "America/New_York".into(),
            role: Role::Learner,
        });
        for u in &users {
            self.lms.db().upsert_user(platform_id, u)?;
        }
        let session = Session {
            id: "onboarding-2026-12".into(),
            title: "Onboarding path — December cohort".into(),
            description: "Welcome to Acme! This path walks you through our tools, our customers and the way we \
                work together. Plan two hours per week; each module ends with a short quiz, and the last one with a \
                live session with your mentor. Bring your questions!"
                .into(),
            cover_url: Some("https://lms.example/static/covers/onboarding.png".into()),
            starts_at: 1_796_112_000, // 2026-12-01T08:00:00Z
            ends_at: 1_796_122_800,   // 2026-12-01T11:00:00Z
        };
        self.lms.db().upsert_session(platform_id, &session)?;
        Ok(DemoData {
            admin: "admin".into(),
            learners: users
                .into_iter()
                .filter(|u| u.role == Role::Learner)
                .collect(),
            session,
        })
    }
}

/// What [`Harness::seed_demo`] created.
pub struct DemoData {
    /// The platform admin's id.
    pub admin: String,
    /// The learners.
    pub learners: Vec<User>,
    /// The session they are invited to.
    pub session: Session,
}
