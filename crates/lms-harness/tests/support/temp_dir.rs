//! A fresh folder for a test, removed when dropped.

use std::path::PathBuf;

/// A fresh data folder, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new folder whose name starts with `name`.
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "lms-harness-test-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
