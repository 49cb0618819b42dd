//! `lms-harness`: the simulated LMS with the Slack connector in its sandbox, and the simulated Slack workspace.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "lms-harness",
    version,
    about = "A simulated LMS hosting the Slack connector component, and a simulated Slack workspace"
)]
struct Cli {
    /// Where every command keeps the LMS's state: a PostgreSQL URL (`postgres://user@host/db`) that several hosts
    /// share, or a SQLite file. The data folder's `lms.sqlite3` when absent; the data folder still holds the secrets
    /// key, which every host sharing a database must have.
    #[arg(long, global = true, env = "DATABASE_URL", value_name = "URL")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the whole story on embedded defaults: activation, an invitation, what each learner received.
    Demo {
        /// Prints the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measures the component against the same library compiled natively (compile vs cached load, one delivery
    /// each way) and writes the results into BENCHMARKS.md.
    BenchComponent {
        /// Deliveries measured each way.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        /// Where to write the results.
        #[arg(long, default_value = "BENCHMARKS.md")]
        out: PathBuf,
    },
    /// Serves the simulated Slack workspace alone, with Slack's real rate limits.
    SlackSim {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8025")]
        listen: SocketAddr,
        /// A workspace seed file (JSON); the demo workspace when absent.
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// Turns Slack's rate limits off (they are on by default, as in Slack).
        #[arg(long)]
        no_rate_limits: bool,
    },
    /// Serves the LMS pages (Settings → Connectors, notifications, paths and sessions, delivery logs) with the
    /// simulated Slack in the same process; demo data is seeded on first start.
    Serve {
        /// The data folder: the SQLite database and the secrets key.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Where the LMS pages listen: a loopback address unless --behind-sign-in.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where the simulated Slack listens: a loopback address unless --behind-sign-in.
        #[arg(long, default_value = "127.0.0.1:8025")]
        slack_listen: SocketAddr,
        /// A simulated workspace seed file (JSON); the demo workspace when absent.
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// The simulated workspaces (all those of the seed file) restrict app installs: members who are neither
        /// admins nor app managers must request the app, and an app manager of their workspace approves it at
        /// /_sim/requests.
        #[arg(long)]
        restricted: bool,
        /// Turns the simulated workspace's rate limits off (Slack's real limits are on by default).
        #[arg(long)]
        no_rate_limits: bool,
        /// Allows a --listen or --slack-listen address other than loopback. The pages let any visitor sign in as
        /// any user, admins included (there are no passwords), so say this only when a reverse proxy or gateway
        /// in front of the site already signs real people in and lets only them through.
        #[arg(long)]
        behind_sign_in: bool,
        /// Runs this connector component instead of the embedded Slack connector: a third-party component is
        /// audited at load exactly like the embedded one, and refused when it needs more than is granted.
        #[arg(long, value_name = "FILE.wasm")]
        connector: Option<PathBuf>,
        /// The connector's manifest; `connector.toml` next to the component when absent.
        #[arg(long, requires = "connector")]
        manifest: Option<PathBuf>,
        /// The operator's grant file (TOML) for the connector; the embedded default when absent.
        #[arg(long)]
        grants: Option<PathBuf>,
        /// The going-live configuration (TOML; every value may also come from the environment, see `check`): when
        /// it (or `SLACK_CLIENT_ID`) names a Slack app, the site runs against the real Slack, not the simulation.
        #[arg(long)]
        config: Option<PathBuf>,
        /// A PEM file of root certificates to trust besides the built-in ones (repeatable; live mode).
        #[arg(long)]
        cacert: Vec<PathBuf>,
        /// Pins HOST:PORT to ADDR, with curl's meaning (repeatable; live mode).
        #[arg(long, value_name = "HOST:PORT:ADDR")]
        resolve: Vec<String>,
    },
    /// The delivery log per notification and learner (queued, sent with channel and ts, skipped or failed and why,
    /// attempts); with --run, runs the outbox of the data folder first (progress on stderr).
    Deliveries(lms_harness::deliveries::DeliveriesArgs),
    /// Audits a connector component: its SHA-256, manifest, the grants, its real imports and exports, the limits in
    /// force and every difference between declared, granted and imported; exits 1 when it needs more than is
    /// granted.
    Audit {
        /// The component (`.wasm`).
        component: PathBuf,
        /// The operator's grant file (TOML); the embedded default when absent.
        #[arg(long)]
        grants: Option<PathBuf>,
        /// The connector's manifest; `connector.toml` next to the component (or the embedded one for the
        /// embedded connector) when absent.
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Prints the audit as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Benchmarks a large invitation against the simulated Slack with its rate limits off.
    Bench(lms_harness::bench_invite::BenchArgs),
    /// A platform's users: `users import --data DIR FILE.csv`.
    #[command(subcommand)]
    Users(lms_harness::users_import::UsersCommand),
    /// Activates a platform's integration against a simulated Slack on this machine, clicking Allow on its consent
    /// page as the demo does; the tile is left Active.
    Connect(lms_harness::connect::ConnectArgs),
    /// Invites a session's learners without sending anything; prints the notification id.
    Invite(lms_harness::invite::InviteArgs),
    /// A session: `session edit|cancel|show SESSION --data DIR`. The messages sent about it follow its changes.
    #[command(subcommand)]
    Session(lms_harness::session::SessionCommand),
    /// A platform's reminders before a session: prints them; `--set RULES` or `--off` changes them first.
    Reminders(lms_harness::reminders::RemindersArgs),
    /// The connector's health per platform, and re-enabling it where repeated failures disabled it.
    #[command(subcommand)]
    Connector(lms_harness::connector_health::ConnectorCommand),
    /// The vendor's switch: which platforms may use the connector (`vendor list|enable|disable`).
    #[command(subcommand)]
    Vendor(lms_harness::vendor::VendorCommand),
    /// The sealed secrets of a data folder: `secrets reset` when their key is lost for good.
    #[command(subcommand)]
    Secrets(lms_harness::secrets_reset::SecretsCommand),
    /// Prints the Slack app manifest the connector needs for a platform (JSON, or YAML with --yaml): paste it into
    /// Slack's "Create an app from a manifest".
    SlackAppManifest(lms_harness::app_manifest::AppManifestArgs),
    /// Checks the configuration for going live, line by line: the Slack app's credentials, the public URL, Slack
    /// reached through the outbound path deliveries use, and a platform's installation; exits 1 when something
    /// would fail.
    Check(lms_harness::check::CheckArgs),
}

/// Whether the log on stderr is in colour: only on a terminal, and never when `NO_COLOR` is set to anything
/// (<https://no-color.org>).
fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,lms_harness=info,lms=info,connector_host=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour())
        .init();
    let cli = Cli::parse();
    if let Some(database) = &cli.database {
        lms_harness::connector::DataDir::use_database(lms::sql::Location::parse(database));
    }
    match cli.command {
        Command::Demo { json } => {
            let report = lms_harness::demo::run().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                lms_harness::demo::print(&report);
            }
        }
        Command::BenchComponent { iterations, out } => {
            println!("reproduce with: {}", lms_harness::bench_component::COMMAND);
            let report = lms_harness::bench_component::run(iterations).await?;
            let section = lms_harness::bench_component::markdown(&report);
            print!("{section}");
            lms_harness::bench_component::write_section(&out, &section)?;
        }
        Command::SlackSim {
            listen,
            workspace,
            no_rate_limits,
        } => {
            let mut config = slack_sim::standalone_config(workspace)?;
            if no_rate_limits {
                config.rate_limits.enabled = false;
            }
            slack_sim::run_until_ctrl_c(listen, config).await?
        }
        Command::Serve {
            data,
            listen,
            slack_listen,
            workspace,
            restricted,
            no_rate_limits,
            behind_sign_in,
            connector,
            manifest,
            grants,
            config,
            cacert,
            resolve,
        } => {
            let live = lms_harness::live::LiveConfig::load(
                config.as_deref(),
                &|name| std::env::var(name).ok(),
                &cacert,
                &resolve,
            )?;
            let cache = Some(lms_harness::connector::DataDir::cache(&data));
            let connector = match connector {
                Some(file) => lms_harness::connector::ConnectorSpec::from_file(
                    &file,
                    manifest.as_deref(),
                    grants.as_deref(),
                    cache,
                )?,
                None => {
                    let mut spec = lms_harness::connector::ConnectorSpec::embedded(cache);
                    if let Some(file) = grants {
                        spec.grants = connector_host::grants::Grants::from_file(&file)?;
                    }
                    spec
                }
            };
            lms_harness::web::run(
                lms_harness::web::ServeOptions {
                    data_dir: data,
                    listen,
                    slack_listen,
                    workspace,
                    restricted,
                    rate_limits: !no_rate_limits,
                    behind_sign_in,
                    timeouts: lms_harness::web::Timeouts::default(),
                    connector: Some(connector),
                },
                Some(live),
            )
            .await?
        }
        Command::Deliveries(args) => lms_harness::deliveries::deliveries_command(args).await?,
        Command::Audit {
            component,
            grants,
            manifest,
            json,
        } => {
            let code = lms_harness::audit::command(
                &component,
                grants.as_deref(),
                manifest.as_deref(),
                json,
            )?;
            std::process::exit(code);
        }
        Command::Bench(args) => lms_harness::bench_invite::bench_command(args).await?,
        Command::Users(command) => lms_harness::users_import::command(command)?,
        Command::Connect(args) => lms_harness::connect::command(args).await?,
        Command::Invite(args) => lms_harness::invite::command(args)?,
        Command::Session(command) => lms_harness::session::command(command)?,
        Command::Reminders(args) => lms_harness::reminders::command(args)?,
        Command::Connector(command) => lms_harness::connector_health::command(command)?,
        Command::Secrets(command) => lms_harness::secrets_reset::command(command)?,
        Command::Vendor(command) => lms_harness::vendor::command(command).await?,
        Command::SlackAppManifest(args) => lms_harness::app_manifest::command(args)?,
        Command::Check(args) => lms_harness::check::command(args).await?,
    }
    Ok(())
}
