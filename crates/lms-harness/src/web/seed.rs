//! The site's platform: seeded on a new database ([`crate::seed::site`]), its links kept pointed at this site, its
//! connector configured with the Slack app's credentials at every start.

use super::PLATFORM;
use crate::seed::{Credentials, configure_credentials};
use anyhow::Result;
use lms::integration::Lms;
use lms::sql::params;
use slack_sim::SimConfig;

/// Prepares the site's platform at `base`: the demo data (for the workspace `demo`) on a new database, the links moved
/// to `base` otherwise, and the connector configured with `app` (which may have changed since the last start).
/// Whether it seeded.
pub(super) fn prepare(
    lms: &Lms,
    demo: &SimConfig,
    base: &str,
    app: &Credentials<'_>,
) -> Result<bool> {
    let connector = lms.sandbox().connector_id();
    let seeded = lms.db().platform(PLATFORM)?.is_none();
    if seeded {
        crate::seed::site(lms.db(), connector, PLATFORM, demo, base)?;
    }
    point_urls_at(lms, base)?;
    configure_credentials(lms.db(), connector, PLATFORM, app)?;
    Ok(seeded)
}

/// The platform's links (sessions, logo, covers, in every revision of a session) point at this site; moves them when
/// it listens elsewhere.
fn point_urls_at(lms: &Lms, base: &str) -> Result<()> {
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
    // The sessions' revisions move with them: a change compares with the latest revision, and a cover that only
    // moved with the site is no change of the session.
    for table in ["sessions", "session_revisions"] {
        db.conn().execute(
            &format!(
                "UPDATE {table} SET cover_url = ?3 || substr(cover_url, length(?2) + 1)
                 WHERE platform_id = ?1 AND substr(cover_url, 1, length(?2)) = ?2"
            ),
            params![PLATFORM, old, base],
        )?;
    }
    Ok(())
}
