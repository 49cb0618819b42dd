//! Going live: the operator's Slack app, the LMS's public URL, and how the host reaches Slack.
//!
//! Read from a TOML file (`--config FILE`) and from the environment, the environment winning, with Bolt's names:
//! `SLACK_CLIENT_ID`, `SLACK_CLIENT_SECRET`, `SLACK_SIGNING_SECRET`, and `LMS_PUBLIC_URL`. Secrets come from the
//! environment or from files (`SLACK_CLIENT_SECRET_FILE`, or `client_secret_file` in the TOML), never from the
//! command line, the TOML itself (which is often kept in a repository) or the logs: [`Secret`] prints as
//! `(secret)`.
//!
//! ```toml
//! [slack]
//! client_id = "1234567890.0987654321"
//! client_secret_file = "/run/secrets/slack_client_secret"
//! signing_secret_file = "/run/secrets/slack_signing_secret"
//!
//! [lms]
//! public_url = "https://lms.example.com"
//!
//! [outbound]
//! cacert = ["/etc/ssl/corporate-root.pem"]
//! resolve = ["slack.com:443:10.1.2.3"]
//! ```
//!
//! How the host reaches Slack ([`Egress`]): extra root certificates (`cacert`, or `--cacert FILE`), names pinned to
//! addresses (`resolve`, or `--resolve HOST:PORT:ADDR`, with curl's meaning) and the proxy of `HTTPS_PROXY` and
//! `NO_PROXY`; applied to the outbound configuration every delivery uses.

use anyhow::{Context, Result, bail};
use connector_host::outbound::{OutboundConfig, Pin, Proxy};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A secret value: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(secret)")
    }
}

/// Where a value came from, for the operator reading `check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An environment variable.
    Env(&'static str),
    /// A file holding a secret.
    File(PathBuf),
    /// The config file.
    Config(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Env(name) => write!(f, "from ${name}"),
            Source::File(path) => write!(f, "from the file {}", path.display()),
            Source::Config(path) => write!(f, "from {}", path.display()),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

/// The operator's configuration for going live.
#[derive(Debug, Clone, Default)]
pub struct LiveConfig {
    /// The Slack app's client id.
    pub client_id: Option<Given<String>>,
    /// The Slack app's client secret.
    pub client_secret: Option<Given<Secret>>,
    /// The Slack app's signing secret.
    pub signing_secret: Option<Given<Secret>>,
    /// The public base URL at which Slack reaches the LMS.
    pub public_url: Option<Given<String>>,
    /// How the host reaches Slack.
    pub egress: Egress,
}

/// How the host reaches Slack: extra root certificates, pinned addresses and the proxy.
#[derive(Debug, Clone, Default)]
pub struct Egress {
    /// PEM files of root certificates trusted besides the built-in ones.
    pub cacert: Vec<PathBuf>,
    /// Names pinned to addresses.
    pub pins: Vec<Pin>,
    /// The proxy of `HTTPS_PROXY` (unless `NO_PROXY` exempts the destination).
    pub proxy: Option<Proxy>,
}

impl Egress {
    /// Applies this to `outbound`: reads the root certificate files (refused, naming the file, when one holds none).
    pub fn apply(&self, outbound: &mut OutboundConfig) -> Result<()> {
        for file in &self.cacert {
            outbound.add_root_certificates(file)?;
        }
        outbound.pins.extend(self.pins.iter().cloned());
        if self.proxy.is_some() {
            outbound.proxy = self.proxy.clone();
        }
        Ok(())
    }
}

/// The TOML file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    slack: SlackSection,
    #[serde(default)]
    lms: LmsSection,
    #[serde(default)]
    outbound: OutboundSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SlackSection {
    client_id: Option<String>,
    client_secret_file: Option<PathBuf>,
    signing_secret_file: Option<PathBuf>,
    /// Refused: a secret inline in the file.
    client_secret: Option<toml::Value>,
    /// Refused: a secret inline in the file.
    signing_secret: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LmsSection {
    public_url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OutboundSection {
    #[serde(default)]
    cacert: Vec<PathBuf>,
    #[serde(default)]
    resolve: Vec<String>,
}

/// Reads a secret from `path`, trimming the trailing newline; an empty file is refused.
fn secret_file(path: &Path) -> Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the secret file {}", path.display()))?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.trim().is_empty() {
        bail!("the secret file {} is empty", path.display());
    }
    Ok(Secret(value.to_string()))
}

/// A secret from the environment variable `name`, else from the file `$NAME_FILE`, else from the file the config
/// names.
fn secret(
    env: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    file_env: &'static str,
    from_config: Option<&PathBuf>,
) -> Result<Option<Given<Secret>>> {
    if let Some(value) = env(name).filter(|v| !v.is_empty()) {
        return Ok(Some(Given {
            value: Secret(value),
            source: Source::Env(name),
        }));
    }
    let path = env(file_env)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| from_config.cloned());
    path.map(|path| {
        Ok(Given {
            value: secret_file(&path)?,
            source: Source::File(path),
        })
    })
    .transpose()
}

/// A Slack app fully configured: what `serve` needs to run against the real Slack.
#[derive(Debug, Clone)]
pub struct LiveApp {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// The signing secret.
    pub signing_secret: Secret,
    /// The public base URL (https, without its trailing `/`).
    pub public_url: String,
}

impl LiveConfig {
    /// Whether a Slack app is configured (its client id is given): then `serve` runs against the real Slack.
    pub fn has_app(&self) -> bool {
        self.client_id.is_some()
    }

    /// Each thing a live start needs, in order (client id, client secret, signing secret, public URL): what was
    /// given and where from, or what is missing or wrong and how to give it. `check` prints it; [`Self::app`] is
    /// refused by it.
    pub fn review(&self) -> Vec<Result<String, String>> {
        let secret = |what: &str, given: &Option<Given<Secret>>, env: &str| match given {
            Some(secret) => Ok(format!("{what} set {}", secret.source)),
            None => Err(format!("the {what} is missing: set {env} or {env}_FILE")),
        };
        vec![
            match &self.client_id {
                Some(id) => Ok(format!("client id {} {}", id.value, id.source)),
                None => Err(
                    "the client id is missing: set SLACK_CLIENT_ID or `[slack] client_id`".into(),
                ),
            },
            secret("client secret", &self.client_secret, "SLACK_CLIENT_SECRET"),
            secret(
                "signing secret",
                &self.signing_secret,
                "SLACK_SIGNING_SECRET",
            ),
            match &self.public_url {
                Some(url) => crate::app_manifest::public_base(&url.value)
                    .map(|_| format!("public URL {} {}", url.value, url.source))
                    .map_err(|e| format!("public URL: {e:#}")),
                None => Err(format!(
                    "the public URL is missing: set {} or `[lms] public_url`",
                    crate::app_manifest::PUBLIC_URL_ENV
                )),
            },
        ]
    }

    /// The app, when everything it needs is given; else an error listing what is missing or wrong
    /// ([`Self::review`]).
    pub fn app(&self) -> Result<LiveApp> {
        let problems: Vec<String> = self.review().into_iter().filter_map(Result::err).collect();
        match (
            &self.client_id,
            &self.client_secret,
            &self.signing_secret,
            &self.public_url,
        ) {
            (Some(id), Some(secret), Some(signing), Some(url)) if problems.is_empty() => {
                Ok(LiveApp {
                    client_id: id.value.clone(),
                    client_secret: secret.value.clone(),
                    signing_secret: signing.value.clone(),
                    public_url: crate::app_manifest::public_base(&url.value)?,
                })
            }
            _ => bail!(
                "the Slack app is not fully configured: {}",
                problems.join("; ")
            ),
        }
    }

    /// The configuration from `file` (when given) and the environment as `env` reads it (the environment wins),
    /// plus the `cacert` files and `resolve` pins given on the command line.
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
        cacert: &[PathBuf],
        resolve: &[String],
    ) -> Result<LiveConfig> {
        let parsed: File = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the configuration {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("the configuration {}", path.display()))?
            }
            None => File::default(),
        };
        let config_path = file.map(Path::to_path_buf).unwrap_or_default();
        for (key, value) in [
            ("client_secret", &parsed.slack.client_secret),
            ("signing_secret", &parsed.slack.signing_secret),
        ] {
            if value.is_some() {
                bail!(
                    "{}: `[slack] {key}` holds a secret in the file; give it in an environment variable or a file \
                     (`{key}_file`) instead",
                    config_path.display()
                );
            }
        }
        let from_env_or_file = |name: &'static str, value: Option<String>| {
            env(name)
                .filter(|v| !v.is_empty())
                .map(|value| Given {
                    value,
                    source: Source::Env(name),
                })
                .or_else(|| {
                    value.map(|value| Given {
                        value,
                        source: Source::Config(config_path.clone()),
                    })
                })
        };
        let resolve_all = parsed.outbound.resolve.iter().chain(resolve);
        let pins = resolve_all
            .map(|text| Pin::parse(text).with_context(|| format!("--resolve `{text}`")))
            .collect::<Result<Vec<_>>>()?;
        let proxy = Proxy::from_env(env)?;
        Ok(LiveConfig {
            client_id: from_env_or_file("SLACK_CLIENT_ID", parsed.slack.client_id),
            client_secret: secret(
                env,
                "SLACK_CLIENT_SECRET",
                "SLACK_CLIENT_SECRET_FILE",
                parsed.slack.client_secret_file.as_ref(),
            )?,
            signing_secret: secret(
                env,
                "SLACK_SIGNING_SECRET",
                "SLACK_SIGNING_SECRET_FILE",
                parsed.slack.signing_secret_file.as_ref(),
            )?,
            public_url: from_env_or_file(
                crate::app_manifest::PUBLIC_URL_ENV,
                parsed.lms.public_url,
            ),
            egress: Egress {
                cacert: parsed
                    .outbound
                    .cacert
                    .into_iter()
                    .chain(cacert.iter().cloned())
                    .collect(),
                pins,
                proxy,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn folder() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "lms-live-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_environment_wins_over_the_file_and_secrets_come_from_files() {
        let dir = folder();
        let secret = dir.join("client_secret");
        std::fs::write(&secret, "s3cr3t\n").unwrap();
        let file = dir.join("live.toml");
        std::fs::write(
            &file,
            format!(
                "[slack]\nclient_id = \"1.2\"\nclient_secret_file = {:?}\n[lms]\npublic_url = \
                 \"https://file.example\"\n[outbound]\nresolve = [\"slack.com:443:10.0.0.5\"]\n",
                secret.display().to_string()
            ),
        )
        .unwrap();
        let config = LiveConfig::load(
            Some(&file),
            &env(&[
                ("LMS_PUBLIC_URL", "https://env.example"),
                ("SLACK_SIGNING_SECRET", "sig"),
                ("https_proxy", ""),
                ("HTTPS_PROXY", "http://proxy.internal:3128"),
                ("NO_PROXY", "lms.example"),
            ]),
            &[],
            &["slack.com:443:127.0.0.1".to_string()],
        )
        .unwrap();
        assert_eq!(config.client_id.unwrap().value, "1.2");
        let client_secret = config.client_secret.unwrap();
        assert_eq!(client_secret.value.expose(), "s3cr3t");
        assert_eq!(client_secret.source, Source::File(secret));
        assert_eq!(format!("{:?}", client_secret.value), "(secret)");
        assert_eq!(
            config.signing_secret.unwrap().source,
            Source::Env("SLACK_SIGNING_SECRET")
        );
        assert_eq!(config.public_url.unwrap().value, "https://env.example");
        assert_eq!(config.egress.pins.len(), 2);
        let proxy = config.egress.proxy.expect("the proxy of HTTPS_PROXY");
        assert!(proxy.used_for("slack.com") && !proxy.used_for("lms.example"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_secret_inline_in_the_file_and_a_bad_pin_are_refused() {
        let dir = folder();
        let file = dir.join("live.toml");
        std::fs::write(&file, "[slack]\nclient_secret = \"oops\"\n").unwrap();
        let e = LiveConfig::load(Some(&file), &env(&[]), &[], &[]).unwrap_err();
        assert!(
            format!("{e:#}").contains("holds a secret in the file"),
            "{e:#}"
        );
        let e = LiveConfig::load(None, &env(&[]), &[], &["slack.com:443".to_string()]).unwrap_err();
        assert!(
            format!("{e:#}").contains("--resolve `slack.com:443`"),
            "{e:#}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
