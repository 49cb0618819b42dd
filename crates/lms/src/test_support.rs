//! What the unit tests share: a fresh folder, and a platform with users.

use crate::db::{Db, Platform, Role, User};
use std::path::{Path, PathBuf};

/// A fresh folder under the system's temporary folder, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "lms-unit-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh database for a test: in memory, or in a fresh PostgreSQL schema when `LMS_UNIT_POSTGRES` is set (the
/// unit tests then run on PostgreSQL: `LMS_UNIT_POSTGRES=1 cargo test -p lms`). The schema stays until the test
/// process ends (the database outlives no test that uses it, but its connections would keep a drop waiting).
pub(crate) fn memory_db() -> Db {
    let key = crate::secrets::SecretBox::new([7; 32]);
    if std::env::var_os("LMS_UNIT_POSTGRES").is_some() {
        let scratch =
            crate::sql::scratch::Scratch::new("unit").expect("PostgreSQL for LMS_UNIT_POSTGRES");
        let db = Db::open_at(&crate::sql::Location::Postgres(scratch.url()), key).unwrap();
        SCRATCHES.lock().unwrap().push(scratch);
        return db;
    }
    Db::open(Path::new(":memory:"), key).unwrap()
}

/// The schemas of [`memory_db`], dropped when the test process exits (never, in practice: see `LMS_UNIT_POSTGRES`
/// runs' cleanup in the README).
static SCRATCHES: std::sync::Mutex<Vec<crate::sql::scratch::Scratch>> =
    std::sync::Mutex::new(Vec::new());

/// Adds the platform `p` with an admin `admin` and the learners `l1`..`l{learners}`.
pub(crate) fn platform_with_users(db: &Db, learners: usize) {
    db.upsert_platform(&Platform {
        id: "p".into(),
        name: "P".into(),
        group_name: "G".into(),
        group_logo_url: None,
        default_cover_url: None,
        base_url: "https://lms.example/p".into(),
    })
    .unwrap();
    let user = |id: String, role| User {
        email: format!("{id}@example.org"),
        display_name: id.to_uppercase(),
        id,
        locale: "en".into(),
        time_zone: "UTC".into(),
        role,
    };
    db.upsert_user("p", &user("admin".into(), Role::Admin))
        .unwrap();
    for i in 1..=learners {
        db.upsert_user("p", &user(format!("l{i}"), Role::Learner))
            .unwrap();
    }
}
