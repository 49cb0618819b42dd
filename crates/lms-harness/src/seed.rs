//! The demo data, written straight to the database (no connector, no simulated Slack needed): a platform with its
//! group, the connector available and configured with the simulated app's credentials, an admin, learners matching
//! the simulated workspace's members, a session; and what `serve` adds on a new database (an author, a path, the
//! platform's links on the site). `serve` seeds it on first start, `users import` in a new data folder.

use crate::web::urls;
use anyhow::{Context, Result};
use connector_host::ConnectorStore;
use lms::db::{Db, Platform, Role, Session, User};
use slack_sim::SimConfig;

/// Where `serve` listens by default: the links of a data folder seeded without it point there until `serve` moves
/// them to where it listens.
pub const DEFAULT_SITE: &str = "http://127.0.0.1:8080";

/// What [`demo`] created.
pub struct DemoData {
    /// The platform admin's id.
    pub admin: String,
    /// The learners.
    pub learners: Vec<User>,
    /// The session they are invited to.
    pub session: Session,
}

/// Stores the simulated app's credentials (client id, client secret, signing secret) as `connector`'s settings and
/// secrets on `platform_id`.
pub fn configure_app(
    db: &Db,
    connector: &str,
    platform_id: &str,
    app: &slack_sim::App,
) -> Result<()> {
    configure_credentials(db, connector, platform_id, &Credentials::of(app))
}

/// A Slack app's credentials, as the platform's connector is configured with them.
pub struct Credentials<'a> {
    /// The client id.
    pub client_id: &'a str,
    /// The client secret.
    pub client_secret: &'a str,
    /// The signing secret.
    pub signing_secret: &'a str,
}

impl<'a> Credentials<'a> {
    /// The simulated app's.
    pub fn of(app: &'a slack_sim::App) -> Self {
        Credentials {
            client_id: &app.client_id,
            client_secret: &app.client_secret,
            signing_secret: &app.signing_secret,
        }
    }
}

/// Configures the platform's connector with a Slack app's credentials (the secrets sealed).
pub fn configure_credentials(
    db: &Db,
    connector: &str,
    platform_id: &str,
    app: &Credentials<'_>,
) -> Result<()> {
    db.set_setting(platform_id, connector, "client_id", app.client_id)?;
    db.set_secret(platform_id, connector, "client_secret", app.client_secret)?;
    db.set_secret(platform_id, connector, "signing_secret", app.signing_secret)
}

/// Creates a platform whose connector is available and configured with the simulated app's credentials.
pub fn add_platform(db: &Db, connector: &str, platform: &Platform, sim: &SimConfig) -> Result<()> {
    db.upsert_platform(platform)?;
    lms::integration::set_available(db, &platform.id, connector, true, "vendor")?;
    configure_app(db, connector, &platform.id, &sim.app)
}

/// Seeds a platform with the demo's group, admin, learners (three of the workspace's members, the second one's
/// address in other letter case, and one with no Slack account) and session.
pub fn demo(db: &Db, connector: &str, platform_id: &str, sim: &SimConfig) -> Result<DemoData> {
    let platform = Platform {
        id: platform_id.to_string(),
        name: "Acme Academy".into(),
        group_name: "Acme Learning".into(),
        group_logo_url: Some("https://lms.example/static/acme-logo.png".into()),
        default_cover_url: Some("https://lms.example/static/default-cover.png".into()),
        base_url: "https://lms.example/acme".into(),
    };
    add_platform(db, connector, &platform, sim)?;
    let members: Vec<_> = sim
        .workspace
        .members
        .iter()
        .filter(|m| {
            !m.deleted && !m.is_bot && !m.is_admin && !sim.workspace.app_managers.contains(&m.id)
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
        db.upsert_user(platform_id, u)?;
    }
    let session = Session {
        id: "onboarding-2026-12".into(),
        title: "Onboarding path — December cohort".into(),
        description: "Welcome to Acme! This path walks you through our tools, our customers and the way we work \
            together. Plan two hours per week; each module ends with a short quiz, and the last one with a live \
            session with your mentor. Bring your questions!"
            .into(),
        cover_url: Some("https://lms.example/static/covers/onboarding.png".into()),
        starts_at: 1_796_112_000, // 2026-12-01T08:00:00Z
        ends_at: 1_796_122_800,   // 2026-12-01T11:00:00Z
    };
    db.upsert_session(platform_id, &session)?;
    Ok(DemoData {
        admin: "admin".into(),
        learners: users
            .into_iter()
            .filter(|u| u.role == Role::Learner)
            .collect(),
        session,
    })
}

/// What `serve` seeds on a new database: the [`demo`] data on `platform_id`, an author, a path for the session,
/// and the platform's links (logo, covers, sessions) on the site at `base`.
pub fn site(
    db: &Db,
    connector: &str,
    platform_id: &str,
    sim: &SimConfig,
    base: &str,
) -> Result<()> {
    let data = demo(db, connector, platform_id, sim)?;
    db.upsert_user(
        platform_id,
        &User {
            id: "author".into(),
            email: "author@acme.example".into(),
            display_name: "Aubrey Author".into(),
            locale: "en".into(),
            time_zone: "Europe/London".into(),
            role: Role::Author,
        },
    )?;
    let mut platform = db.platform(platform_id)?.context("the seeded platform")?;
    platform.base_url = base.into();
    platform.group_logo_url = Some(format!("{base}{}", urls::LOGO));
    platform.default_cover_url = Some(format!("{base}{}", urls::DEFAULT_COVER));
    db.upsert_platform(&platform)?;
    let mut session = data.session;
    session.cover_url = Some(format!("{base}{}onboarding.png", urls::COVERS));
    db.upsert_session(platform_id, &session)?;
    db.upsert_path(
        platform_id,
        "onboarding",
        "Onboarding path",
        Some(&session.id),
    )
}
