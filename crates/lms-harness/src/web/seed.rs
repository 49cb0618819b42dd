//! The demo data the site seeds on its first start, and keeping the platform's links pointed at this site.

use super::PLATFORM;
use super::urls;
use crate::harness::Harness;
use anyhow::{Context, Result};
use lms::db::Role;
use lms::db::User;
use lms::integration::Lms;
use rusqlite::params;
use slack_sim::SimConfig;

/// The demo data: the harness's platform, users and session, plus an author and a path for the session.
pub(super) fn seed(harness: &Harness, sim: &SimConfig, base: &str) -> Result<()> {
    let data = harness.seed_demo(PLATFORM, sim)?;
    let lms = &harness.lms;
    let db = lms.db();
    db.upsert_user(
        PLATFORM,
        &User {
            id: "author".into(),
            email: "author@acme.example".into(),
            display_name: "Aubrey Author".into(),
            locale: "en".into(),
            time_zone: "Europe/London".into(),
            role: Role::Author,
        },
    )?;
    let mut platform = db.platform(PLATFORM)?.context("the seeded platform")?;
    platform.base_url = base.into();
    platform.group_logo_url = Some(format!("{base}{}", urls::LOGO));
    platform.default_cover_url = Some(format!("{base}{}", urls::DEFAULT_COVER));
    db.upsert_platform(&platform)?;
    let mut session = data.session;
    session.cover_url = Some(format!("{base}{}onboarding.png", urls::COVERS));
    db.upsert_session(PLATFORM, &session)?;
    lms.upsert_path(PLATFORM, "onboarding", "Onboarding path", Some(&session.id))?;
    Ok(())
}

/// The platform's links (sessions, logo, covers) point at this site; moves them when it listens elsewhere.
pub(super) fn point_urls_at(lms: &Lms, base: &str) -> Result<()> {
    let db = lms.db();
    let Some(mut platform) = db.platform(PLATFORM)? else {
        return Ok(());
    };
    let old = platform.base_url.clone();
    if old == base {
        return Ok(());
    }
    let moved = |u: Option<String>| {
        u.map(|u| match u.strip_prefix(&old) {
            Some(rest) => format!("{base}{rest}"),
            None => u,
        })
    };
    platform.group_logo_url = moved(platform.group_logo_url.take());
    platform.default_cover_url = moved(platform.default_cover_url.take());
    platform.base_url = base.into();
    db.upsert_platform(&platform)?;
    db.conn().execute(
        "UPDATE sessions SET cover_url = ?3 || substr(cover_url, length(?2) + 1)
         WHERE platform_id = ?1 AND substr(cover_url, 1, length(?2)) = ?2",
        params![PLATFORM, old, base],
    )?;
    Ok(())
}
