//! The connector the harness runs, and the one way every command wires it into a sandbox: the component, its
//! manifest intersected with the operator's grants, the compile cache, and in local mode the route that sends
//! `https://slack.com` to a simulated Slack.

use crate::live::Egress;
use anyhow::{Context, Result, anyhow, bail};
use connector_host::audit::find_manifest;
use connector_host::grants::Grants;
use connector_host::manifest::Manifest;
use connector_host::outbound::Route;
use connector_host::{Policy, Sandbox};
use lms::db::Db;
use lms::integration::Lms;
use lms::sealed::{KeyProblem, KeyRefused};
use lms::sql::Location;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The Slack connector component built from `crates/slack-connector`, embedded as the harness's default connector.
pub const EMBEDDED_CONNECTOR: &[u8] = include_bytes!(env!("CONNECTOR_WASM"));
/// The path of the connector component the harness embeds (as built by `build.rs`).
pub const CONNECTOR_WASM_PATH: &str = env!("CONNECTOR_WASM");
/// The embedded connector's manifest, `crates/slack-connector/connector.toml`.
pub const EMBEDDED_MANIFEST: &str = include_str!("../../slack-connector/connector.toml");
/// The operator's default grants: what the harness allows the Slack connector (`src/default-grants.toml`).
pub const DEFAULT_GRANTS: &str = include_str!("default-grants.toml");
/// The origin that local mode routes to the simulated Slack.
pub const SLACK_ORIGIN: &str = "https://slack.com";

/// The embedded connector's manifest, parsed.
pub fn embedded_manifest() -> Manifest {
    Manifest::parse(
        EMBEDDED_MANIFEST,
        "crates/slack-connector/connector.toml (embedded)",
    )
    .expect("the embedded manifest parses")
}

/// The default grants, parsed.
pub fn default_grants() -> Grants {
    Grants::parse(DEFAULT_GRANTS, "embedded default").expect("the embedded grants parse")
}

/// A connector to load: its component, manifest and grants, and where compiled components are cached.
#[derive(Clone)]
pub struct ConnectorSpec {
    /// The component's bytes.
    pub component: Vec<u8>,
    /// Its manifest (`None`: it ships none; imports and secrets are then checked against the grants only).
    pub manifest: Option<Manifest>,
    /// The operator's grants.
    pub grants: Grants,
    /// Where compiled components are cached across starts (none: compile at every start).
    pub cache_dir: Option<PathBuf>,
    /// How the host reaches the connector's service beyond the grants: extra roots, pins, the proxy.
    pub egress: Egress,
}

impl std::fmt::Debug for ConnectorSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorSpec")
            .field("component_bytes", &self.component.len())
            .field("manifest", &self.manifest.as_ref().map(|m| &m.source))
            .field("connector", &self.grants.connector)
            .field("cache_dir", &self.cache_dir)
            .finish()
    }
}

impl ConnectorSpec {
    /// The embedded Slack connector with its manifest and the default grants.
    pub fn embedded(cache_dir: Option<PathBuf>) -> Self {
        ConnectorSpec {
            component: EMBEDDED_CONNECTOR.to_vec(),
            manifest: Some(embedded_manifest()),
            grants: default_grants(),
            cache_dir,
            egress: Egress::default(),
        }
    }

    /// A connector component installed from a file, with its manifest (`manifest`, else `connector.toml` beside the
    /// component, else the embedded manifest when the file is the embedded connector) and the operator's grants
    /// (`grants`, else the embedded default). It is audited when loaded exactly like the embedded one: imports
    /// beyond its manifest ∩ grants refuse it.
    pub fn from_file(
        component: &Path,
        manifest: Option<&Path>,
        grants: Option<&Path>,
        cache_dir: Option<PathBuf>,
    ) -> Result<Self> {
        let bytes = std::fs::read(component)
            .with_context(|| format!("reading the component {}", component.display()))?;
        let grants = match grants {
            Some(file) => Grants::from_file(file)?,
            None => default_grants(),
        };
        let manifest = match manifest {
            Some(file) => Some(Manifest::from_file(file)?),
            None => match find_manifest(component)? {
                Some(m) => Some(m),
                None if bytes == EMBEDDED_CONNECTOR => Some(embedded_manifest()),
                None => None,
            },
        };
        Ok(ConnectorSpec {
            component: bytes,
            manifest,
            grants,
            cache_dir,
            egress: Egress::default(),
        })
    }

    /// Loads the connector over `db`, within its manifest ∩ grants; with `slack_url`, `https://slack.com` is routed
    /// there (local mode: the route names the simulation's own address, the only loopback address it reaches).
    pub fn load(&self, db: &Db, slack_url: Option<&str>) -> Result<Sandbox> {
        let connector_id = self.grants.connector.clone();
        let mut policy = Policy::new(&connector_id, self.grants.clone(), self.manifest.clone())?;
        policy.cache_dir = self.cache_dir.clone();
        self.egress.apply(&mut policy.outbound)?;
        if let Some(url) = slack_url {
            policy.outbound.routes.push(Route::new(SLACK_ORIGIN, url)?);
            tracing::info!("local mode: {SLACK_ORIGIN} is routed to the simulated Slack at {url}");
        }
        let engine = Sandbox::engine()?;
        Sandbox::new(&engine, &self.component, Arc::new(db.clone()), policy)
    }

    /// The LMS over `db` running this connector.
    pub fn open_lms(&self, db: Db, slack_url: Option<&str>) -> Result<Lms> {
        let sandbox = self.load(&db, slack_url)?;
        Ok(Lms::new(db, Arc::new(sandbox)))
    }
}

/// The files of a data folder.
pub struct DataDir;

/// The database every command of this process uses instead of the data folder's SQLite file, when given
/// ([`DataDir::use_database`]).
static DATABASE: std::sync::OnceLock<Location> = std::sync::OnceLock::new();

impl DataDir {
    /// Makes every command of this process keep its state in the database at `location` (`--database URL` or
    /// `DATABASE_URL`, such as a PostgreSQL database that several hosts share) instead of the data folder's SQLite
    /// file. The data folder still holds the secrets key and the compile cache. Only the first call counts.
    pub fn use_database(location: Location) {
        let _ = DATABASE.set(location);
    }

    /// The database: the one given to [`DataDir::use_database`], else the data folder's SQLite file.
    pub fn database(dir: &Path) -> Location {
        DATABASE
            .get()
            .cloned()
            .unwrap_or_else(|| Location::Sqlite(dir.join("lms.sqlite3")))
    }

    /// Whether the data folder's database holds an LMS already (a PostgreSQL database is checked when opened).
    pub fn has_database(dir: &Path) -> bool {
        match DataDir::database(dir) {
            Location::Sqlite(path) => path.exists(),
            Location::Postgres(_) => true,
        }
    }

    /// The secrets key.
    pub fn key_file(dir: &Path) -> PathBuf {
        dir.join("secrets.key")
    }

    /// The compiled-component cache.
    pub fn cache(dir: &Path) -> PathBuf {
        dir.join("component-cache")
    }

    /// Opens the database of `dir` with its key (creating the folder, the database and the key when `create`): see
    /// [`DataDir::open_files`].
    pub fn open_db(dir: &Path, create: bool) -> Result<Db> {
        let path = DataDir::database(dir);
        if !create && !DataDir::has_database(dir) {
            bail!("no LMS database in {}", dir.display());
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data folder {}", dir.display()))?;
        DataDir::open_files(&path, &DataDir::key_file(dir))
    }

    /// Opens the database `database` (creating it when missing) with the key in `key_file`. Refused, saying which
    /// file, what happened and what to do, when SQLite finds the file damaged, or when the database holds sealed
    /// secrets and the key file is missing, unreadable or does not open them; a new key is made only when nothing
    /// is sealed.
    pub fn open_files(database: &Location, key_file: &Path) -> Result<Db> {
        Db::open_at_with_key_file(database, key_file).map_err(|e| {
            match e.downcast::<KeyRefused>() {
                Ok(refused) => anyhow!(what_to_do(&refused, key_file)),
                Err(e) => e,
            }
        })
    }
    /// The LMS of `dir` with the embedded connector (see [`ConnectorSpec::load`] for `slack_url`).
    pub fn open_lms(dir: &Path, slack_url: Option<&str>) -> Result<Lms> {
        let db = DataDir::open_db(dir, true)?;
        ConnectorSpec::embedded(Some(DataDir::cache(dir))).open_lms(db, slack_url)
    }
}

/// Why the data folder of `database` does not start, and the two ways out: the key back, or its sealed secrets
/// forgotten on purpose.
fn what_to_do(refused: &KeyRefused, key_file: &Path) -> String {
    let folder = key_file.parent().unwrap_or(Path::new("."));
    let key = refused.key_file.display();
    let unreadable = match refused.problem {
        KeyProblem::Unreadable(_) => {
            format!(", then delete {key} (a new key is made once nothing is sealed)")
        }
        KeyProblem::Missing | KeyProblem::DoesNotOpen(_) | KeyProblem::NotTheKey => String::new(),
    };
    format!(
        "Refusing to start: {refused}. Without that key every delivery and activation would fail.\n\
         What to do, either:\n\
         - restore {key} from a backup of this data folder (the key that sealed the secrets), or with several \
         hosts on one database copy the key file of a host already running on it, and start again; or\n\
         - if that key is lost for good, forget the {n} sealed secrets: `lms-harness secrets reset --data {folder} \
         --yes`{unreadable}. Every connected integration then turns Disconnected, its admins are alerted and \
         activate it again, and the operator sets the connector's own secrets (such as the Slack app's client and \
         signing secrets) again.",
        n = refused.sealed,
        folder = folder.display(),
    )
}
