//! The compile cache: a component is compiled once per engine, kept in memory within the process and, when a cache
//! folder is given, on disk across processes.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Compiles a component, reusing an earlier compilation of the same bytes on the same engine: in memory within the
/// process, and on disk across processes when `cache_dir` is set (keyed by the engine's compatibility hash and the
/// component's SHA-256, loaded with `deserialize_file`).
pub(crate) fn compile(
    engine: &Engine,
    bytes: &[u8],
    cache_dir: Option<&Path>,
) -> Result<Component> {
    use sha2::Digest;
    type Cache = std::sync::Mutex<Vec<(Engine, [u8; 32], Component)>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let hash: [u8; 32] = sha2::Sha256::digest(bytes).into();
    let cache = CACHE.get_or_init(Default::default);
    let known = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(e, h, _)| Engine::same(e, engine) && *h == hash)
        .map(|(_, _, c)| c.clone());
    if let Some(component) = known {
        // Compiled already in this process, perhaps for another folder: this folder gets its copy too, so that the
        // next process that uses it does not compile again.
        if let Some(dir) = cache_dir {
            let path = cache_path(engine, &hash, dir);
            if !path.exists() {
                store(&component, &path, dir);
            }
        }
        return Ok(component);
    }
    let component = match cache_dir {
        Some(dir) => load_or_compile(engine, bytes, &hash, dir)?,
        None => Component::new(engine, bytes)
            .map_err(anyhow::Error::from)
            .context("compiling the component")?,
    };
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= 16 {
        cache.remove(0);
    }
    cache.push((engine.clone(), hash, component.clone()));
    Ok(component)
}

/// The path of a component's compiled form in `dir`, for this engine.
pub fn cache_path(engine: &Engine, hash: &[u8; 32], dir: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut compat = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    let hex = hex::encode(hash);
    dir.join(format!("{hex}-{:016x}.cwasm", compat.finish()))
}

fn load_or_compile(
    engine: &Engine,
    bytes: &[u8],
    hash: &[u8; 32],
    dir: &Path,
) -> Result<Component> {
    let path = cache_path(engine, hash, dir);
    if path.exists() {
        // SAFETY: the cache folder is the operator's (by default inside the harness's private data folder) and
        // holds only what `serialize` below wrote for this engine's configuration, as the file name says.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring an unusable compiled component: {e}")
            }
        }
    }
    let component = Component::new(engine, bytes)
        .map_err(anyhow::Error::from)
        .context("compiling the component")?;
    store(&component, &path, dir);
    Ok(component)
}

/// Writes a compiled component to `path` in `dir` (whole or not at all: written aside, then renamed); a failure is
/// only logged, the component being usable without its cached copy.
fn store(component: &Component, path: &Path, dir: &Path) {
    let written = component
        .serialize()
        .map_err(anyhow::Error::from)
        .and_then(|compiled| {
            std::fs::create_dir_all(dir)?;
            let partial = path.with_extension(format!("partial-{}", std::process::id()));
            std::fs::write(&partial, compiled)?;
            std::fs::rename(&partial, path)?;
            Ok(())
        });
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), "could not cache the compiled component: {e:#}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary one, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let unique = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let dir = std::env::temp_dir().join(format!(
                "connector-host-cache-{name}-{}-{unique}",
                std::process::id()
            ));
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_component_compiled_for_one_folder_is_cached_in_the_next_folder_too() {
        use sha2::Digest;
        let engine = Engine::default();
        // The smallest component: the binary format's preamble (component-model layer 1).
        let empty = b"\0asm\x0d\x00\x01\x00";
        let hash: [u8; 32] = sha2::Sha256::digest(empty).into();
        let (first, second) = (Scratch::new("first"), Scratch::new("second"));
        compile(&engine, empty, Some(&first.0)).unwrap();
        assert!(cache_path(&engine, &hash, &first.0).exists());
        // Found in this process's memory now, yet written for the other folder's next process.
        compile(&engine, empty, Some(&second.0)).unwrap();
        assert!(cache_path(&engine, &hash, &second.0).exists());
    }
}
