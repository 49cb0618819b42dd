//! A harness: a simulated Slack workspace on 127.0.0.1, the LMS database, and the connector in its sandbox, with
//! `https://slack.com` routed to the simulation (local mode).

use crate::connector::{ConnectorSpec, DataDir};
use crate::seed;
use anyhow::Result;
use lms::db::Platform;
use lms::integration::Lms;
use slack_sim::{SimConfig, SimHandle};
use std::net::SocketAddr;
use std::path::PathBuf;

pub use crate::seed::DemoData;

/// How to start a harness.
pub struct HarnessOptions {
    /// The database: a SQLite file, or a PostgreSQL database.
    pub database: lms::sql::Location,
    /// The secrets key file, 64 hex digits: the operator's, or one created with a random key when missing while
    /// nothing is sealed (see [`DataDir::open_db`]).
    pub key_file: PathBuf,
    /// The connector: component, manifest, grants and compile cache.
    pub connector: ConnectorSpec,
    /// The simulated workspace.
    pub sim: SimConfig,
    /// Where the simulation listens.
    pub sim_listen: SocketAddr,
}

impl HarnessOptions {
    /// Defaults in `data_dir`: `lms.sqlite3`, `secrets.key`, the embedded connector and the demo workspace.
    pub fn in_dir(data_dir: &std::path::Path) -> Self {
        HarnessOptions {
            database: DataDir::database(data_dir),
            key_file: DataDir::key_file(data_dir),
            connector: ConnectorSpec::embedded(Some(DataDir::cache(data_dir))),
            sim: SimConfig::demo(),
            sim_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// A running harness.
pub struct Harness {
    /// The LMS.
    pub lms: Lms,
    /// The simulated Slack.
    pub sim: SimHandle,
}

impl Harness {
    /// Opens the database (refused when it is damaged or its key does not open its sealed secrets, see
    /// [`DataDir::open_files`]), starts the simulation and loads the connector.
    pub async fn start(options: HarnessOptions) -> Result<Harness> {
        let db = DataDir::open_files(&options.database, &options.key_file)?;
        let sim = slack_sim::start(options.sim_listen, options.sim.clone()).await?;
        let lms = options.connector.open_lms(db, Some(&sim.base_url()))?;
        Ok(Harness { lms, sim })
    }

    /// Creates a platform whose connector is available and configured with the simulated app's credentials.
    pub fn add_platform(&self, platform: &Platform, sim: &SimConfig) -> Result<()> {
        seed::add_platform(self.lms.db(), self.connector_id(), platform, sim)
    }

    /// Seeds a platform with the demo's group, users and session ([`seed::demo`]).
    pub fn seed_demo(&self, platform_id: &str, sim: &SimConfig) -> Result<DemoData> {
        seed::demo(self.lms.db(), self.connector_id(), platform_id, sim)
    }

    fn connector_id(&self) -> &str {
        self.lms.sandbox().connector_id()
    }
}
