//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};

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
