//! Secrets at rest: sealed with XChaCha20-Poly1305 under a key the operator provides (or one generated on first
//! start), bound to their owner (platform, connector, key) as associated data.

use anyhow::{Context, Result, bail};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

const NONCE_LEN: usize = 24;

/// Seals and opens secrets. The key never leaves this type and is never printed.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Arc<XChaCha20Poly1305>,
    /// The key of [`SecretBox::derive`]: a hash of the key, never the key itself.
    derivation: Arc<[u8; 32]>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// A box over a 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        let derivation = Sha256::new_with_prefix(b"lms secrets key derivation\0")
            .chain_update(key)
            .finalize()
            .into();
        SecretBox {
            cipher: Arc::new(XChaCha20Poly1305::new(&key.into())),
            derivation: Arc::new(derivation),
        }
    }

    /// A key for `purpose` (such as signing the pages' CSRF tokens), derived from this one: the same wherever the same
    /// key is (every host sharing a database), telling nothing of the key nor of another purpose's key.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&*self.derivation)
            .expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Reads the key file (64 hex digits); `None` when it does not exist.
    pub fn read_key_file(path: &Path) -> Result<Option<Self>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("reading the key file {}", path.display()));
            }
        };
        let key = parse_key(text.trim())
            .with_context(|| format!("the key file {} is not a key", path.display()))?;
        Ok(Some(Self::new(key)))
    }

    /// Creates the key file with a random key (mode 0600). When another process created it first, its key is read.
    pub fn create_key_file(path: &Path) -> Result<Self> {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        match write_private(path, &hex::encode(key)) {
            Ok(()) => Ok(Self::new(key)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::read_key_file(path)?
                .with_context(|| format!("the key file {} vanished", path.display())),
            Err(e) => Err(e).with_context(|| format!("creating the key file {}", path.display())),
        }
    }

    /// Seals `value` for `owner`.
    pub fn seal(&self, owner: &str, value: &str) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("sealing a secret failed"))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// Opens a value sealed for `owner`; fails when the key or the owner differ.
    pub fn open(&self, owner: &str, sealed: &[u8]) -> Result<String> {
        if sealed.len() < NONCE_LEN {
            bail!("a stored secret is truncated");
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!("a stored secret does not open with this key (wrong key file?)")
            })?;
        String::from_utf8(plain).context("a stored secret is not UTF-8")
    }
}

fn parse_key(text: &str) -> Result<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("a key is 64 hexadecimal digits");
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)?;
    }
    Ok(key)
}

/// Writes `text` to a new file readable by its owner only; fails when the file exists.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_owner_and_key() {
        let a = SecretBox::new([7; 32]);
        let sealed = a.seal("p1/slack/bot_token", "xoxb-secret").unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"xoxb-secret"));
        assert_eq!(
            a.open("p1/slack/bot_token", &sealed).unwrap(),
            "xoxb-secret"
        );
        assert!(a.open("p2/slack/bot_token", &sealed).is_err());
        assert!(
            SecretBox::new([8; 32])
                .open("p1/slack/bot_token", &sealed)
                .is_err()
        );
        assert!(a.open("p1/slack/bot_token", &sealed[..10]).is_err());
    }

    #[test]
    fn key_files_are_created_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("keytest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        let _ = std::fs::remove_file(&path);
        assert!(SecretBox::read_key_file(&path).unwrap().is_none());
        let first = SecretBox::create_key_file(&path).unwrap();
        let sealed = first.seal("o", "v").unwrap();
        let second = SecretBox::read_key_file(&path).unwrap().unwrap();
        assert_eq!(second.open("o", &sealed).unwrap(), "v");
        // A second creation (another process starting at the same time) reads the key the first one wrote.
        let third = SecretBox::create_key_file(&path).unwrap();
        assert_eq!(third.open("o", &sealed).unwrap(), "v");
        std::fs::write(&path, "nothex").unwrap();
        let e = SecretBox::read_key_file(&path).unwrap_err();
        assert!(format!("{e:#}").contains("is not a key"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
