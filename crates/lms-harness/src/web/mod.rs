//! `lms-harness serve`: the simulated LMS as a web site, with the simulated Slack in the same process.
//!
//! The LMS pages are plain server-rendered HTML (a few lines of script for the user switch and to refresh the
//! connector tile): Settings → Connectors with the Slack tile (ACTIVATE opens Slack's consent page in a new tab, the
//! OAuth callback brings that tab back to the settings page) and the platform's reminders, the learner's notification
//! preferences, paths and sessions with invitations and "Slack message" steps, a session's page where authors change
//! or cancel it, and the delivery log of every notification. A visitor signs
//! in by picking one of the platform's users (this is a harness: there are no passwords, so the site listens on
//! loopback unless told it is behind real sign-in); until then they are anonymous and see only the sign-in page.
//! Every form carries a CSRF token and must come from the site's own origin; request headers and bodies are
//! bounded in time and size.
//!
//! Everything lives in a data folder: the SQLite database and the secrets key. The demo platform, its users, its
//! session and its path are seeded on first start only. The simulated Slack keeps its state in memory.

mod assets;
mod cookies;
mod csrf;
mod errors;
mod flash;
pub(crate) mod format;
mod forms;
mod frame;
mod identity;
mod limits;
mod pages;
mod return_to;
mod seed;
mod server;
mod session;
pub(crate) mod urls;

pub use limits::{FORM_BYTES, INBOUND_BYTES, Timeouts};

use crate::connector::{ConnectorSpec, DataDir};
use crate::harness::{Harness, HarnessOptions};
use crate::live::LiveConfig;
use anyhow::{Context, Result};
use axum::Router;
use lms::db::now;
use lms::integration::{Lms, Tile};
use pages::{connectors, deliveries, notifications, paths, reminders, sessions, vendor};
use slack_sim::SimConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The platform the site shows.
pub const PLATFORM: &str = "acme";
/// The OAuth callback's path on the LMS.
pub const CALLBACK_PATH: &str = "/connectors/slack/callback";
/// How often the background runner sends due deliveries and scheduled steps.
pub const TICK: Duration = Duration::from_secs(2);

/// How to start the site.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The data folder (created when missing).
    pub data_dir: PathBuf,
    /// Where the LMS pages listen.
    pub listen: SocketAddr,
    /// Where the simulated Slack listens.
    pub slack_listen: SocketAddr,
    /// A simulated workspace seed file (`lms-harness slack-sim --workspace` format); the demo workspace if absent.
    pub workspace: Option<PathBuf>,
    /// Restricts app installs in the simulated workspace: members who are neither admins nor app managers must
    /// request the app, and an app manager approves it.
    pub restricted: bool,
    /// The simulated workspace enforces Slack's real rate limits (`--no-rate-limits` turns them off).
    pub rate_limits: bool,
    /// The operator put real sign-in in front of the site: only then may it listen on an address other than
    /// loopback (its own sign-in lets anyone act as anyone).
    pub behind_sign_in: bool,
    /// How long a client may take to send a request's headers and body.
    pub timeouts: Timeouts,
    /// The connector to run (component, manifest, grants); the embedded Slack connector when `None`.
    pub connector: Option<ConnectorSpec>,
}

impl ServeOptions {
    /// Serving the data folder `data_dir` on free loopback ports, with the demo workspace (Slack's rate limits on)
    /// and default time-outs.
    pub fn local(data_dir: PathBuf) -> ServeOptions {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        ServeOptions {
            data_dir,
            listen: any_port,
            slack_listen: any_port,
            workspace: None,
            restricted: false,
            rate_limits: true,
            behind_sign_in: false,
            timeouts: Timeouts::default(),
            connector: None,
        }
    }
}

/// A running site.
pub struct Server {
    /// `http://127.0.0.1:PORT`, the LMS pages.
    pub lms_url: String,
    /// `http://127.0.0.1:PORT`, the simulated Slack.
    pub slack_url: String,
    /// Whether this start seeded the demo data (a new database).
    pub seeded: bool,
    /// The harness behind the site.
    pub harness: Arc<Harness>,
    running: Running,
}

impl Server {
    /// Stops serving and the background runner.
    pub async fn shutdown(self) {
        self.running.stop().await;
    }
}

/// A site's server and background runner, until told to stop ([`serve_site`]).
struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops them and waits for them to end.
    async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Which Slack the site talks to; the pages say which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackMode {
    /// The simulated Slack at this URL (local mode, the default).
    Simulated(String),
    /// The real `https://slack.com`, with the operator's app (its client id).
    Live(String),
}

#[derive(Clone)]
struct App {
    lms: Lms,
    base: String,
    slack: SlackMode,
    platform_name: String,
    csrf: Arc<csrf::CsrfKey>,
}

/// Starts the simulated Slack, opens (or creates and seeds) the database and serves the LMS pages. A start that
/// fails leaves nothing behind: the addresses are checked before the data folder is touched, and a data folder this
/// start created is removed ([`server::NewFolder`]); an existing one is left as it was.
pub async fn start(opts: ServeOptions) -> Result<Server> {
    server::check_listen("the LMS pages", opts.listen, opts.behind_sign_in)?;
    server::check_listen(
        "the simulated Slack",
        opts.slack_listen,
        opts.behind_sign_in,
    )?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("listening on {} (the LMS pages)", opts.listen))?;
    server::check_free("the simulated Slack", opts.slack_listen)?;
    let folder = server::NewFolder::create(&opts.data_dir)?;
    let server = serve_in(opts, listener).await?;
    folder.keep();
    Ok(server)
}

/// [`start`] once the LMS pages' address is bound and the data folder exists.
async fn serve_in(opts: ServeOptions, listener: tokio::net::TcpListener) -> Result<Server> {
    let base = format!("http://{}", listener.local_addr()?);

    let mut options = HarnessOptions::in_dir(&opts.data_dir);
    if let Some(connector) = &opts.connector {
        options.connector = connector.clone();
    }
    if let Some(file) = &opts.workspace {
        options.sim = SimConfig::from_file(file)?;
    }
    if opts.restricted {
        for workspace in options.sim.workspaces_mut() {
            workspace.restrict_app_installs = true;
        }
    }
    if !opts.rate_limits {
        options.sim.rate_limits.enabled = false;
    }
    options.sim_listen = opts.slack_listen;
    let callback = format!("{base}{CALLBACK_PATH}");
    if !options.sim.app.redirect_urls.contains(&callback) {
        options.sim.app.redirect_urls.insert(0, callback);
    }
    let inbound = |route| {
        let connector = &options.connector.grants.connector;
        Some(format!(
            "{base}{}",
            lms::inbound::path(connector, PLATFORM, route)
        ))
    };
    options.sim.app.events_url = inbound("events");
    options.sim.app.interactivity_url = inbound("interactivity");
    let sim_config = options.sim.clone();
    let harness = Arc::new(Harness::start(options).await?);
    let lms = harness.lms.clone();

    let seeded = seed::prepare(
        &lms,
        &sim_config,
        &base,
        &crate::seed::Credentials::of(&sim_config.app),
    )?;

    let app = App::new(
        lms.clone(),
        base.clone(),
        SlackMode::Simulated(harness.sim.base_url()),
    )?;
    let running = serve_site(app, opts.timeouts, listener);
    Ok(Server {
        lms_url: base,
        slack_url: harness.sim.base_url(),
        seeded,
        harness,
        running,
    })
}

impl App {
    /// The site of the platform over `lms`, at `base`, talking to `slack`, signing its forms with the CSRF key of the
    /// LMS's secrets key.
    fn new(lms: Lms, base: String, slack: SlackMode) -> Result<App> {
        let platform_name = lms
            .db()
            .platform(PLATFORM)?
            .map(|p| p.name)
            .unwrap_or_else(|| PLATFORM.into());
        let csrf = Arc::new(csrf::CsrfKey::of(lms.db()));
        Ok(App {
            lms,
            base,
            slack,
            platform_name,
            csrf,
        })
    }
}

/// Serves `app`'s pages and the inbound routes on `listener`, and sends what is due in the background, until stopped.
fn serve_site(app: App, timeouts: Timeouts, listener: tokio::net::TcpListener) -> Running {
    let lms = app.lms.clone();
    let inbound = lms::inbound::router(lms.clone()).layer(axum::middleware::from_fn_with_state(
        limits::BodyLimit {
            bytes: limits::INBOUND_BYTES,
            time: timeouts.body,
        },
        limits::read_body,
    ));
    let router = router(app, timeouts).merge(inbound);
    let (stop, rx) = watch::channel(false);
    let server = tokio::spawn(server::serve(listener, router, timeouts.header, rx.clone()));
    let ticker = tokio::spawn(run_due(lms, rx));
    Running {
        stop,
        tasks: vec![server, ticker],
    }
}

/// A site serving the real Slack ([`start_live`]).
pub struct LiveServer {
    /// `http://ADDR:PORT`, where the LMS pages listen (behind the operator's TLS-terminating proxy).
    pub listen_url: String,
    /// The public base URL Slack and browsers use.
    pub public_url: String,
    /// Whether this start seeded the demo data (a new database).
    pub seeded: bool,
    /// The LMS behind the site.
    pub lms: Lms,
    running: Running,
}

impl LiveServer {
    /// Stops serving and the background runner.
    pub async fn shutdown(self) {
        self.running.stop().await;
    }
}

/// Serves the LMS pages against the real `https://slack.com` with the operator's Slack app (`live`, which must give
/// the client id, both secrets and an https public URL: refused otherwise, listing what is missing): no simulated
/// Slack and no local route; the connector reaches Slack through `live`'s egress (extra roots, pins, proxy). The
/// platform's connector is configured with the app's credentials at every start, and the public URL is the base of
/// every link Slack or a browser follows (the OAuth redirect, events, interactivity, logos, session links).
pub async fn start_live(opts: ServeOptions, live: &LiveConfig) -> Result<LiveServer> {
    let app = live.app()?;
    server::check_listen("the LMS pages", opts.listen, opts.behind_sign_in)?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("listening on {} (the LMS pages)", opts.listen))?;
    let listen_url = format!("http://{}", listener.local_addr()?);
    let folder = server::NewFolder::create(&opts.data_dir)?;
    let base = app.public_url.clone();
    let mut spec = opts
        .connector
        .clone()
        .unwrap_or_else(|| ConnectorSpec::embedded(Some(DataDir::cache(&opts.data_dir))));
    spec.egress = live.egress.clone();
    let db = DataDir::open_db(&opts.data_dir, true)?;
    let lms = spec.open_lms(db, None)?;
    let seeded = seed::prepare(
        &lms,
        &SimConfig::demo(),
        &base,
        &crate::seed::Credentials {
            client_id: &app.client_id,
            client_secret: app.client_secret.expose(),
            signing_secret: app.signing_secret.expose(),
        },
    )?;
    let site = App::new(
        lms.clone(),
        base.clone(),
        SlackMode::Live(app.client_id.clone()),
    )?;
    let running = serve_site(site, opts.timeouts, listener);
    folder.keep();
    Ok(LiveServer {
        listen_url,
        public_url: base,
        seeded,
        lms,
        running,
    })
}

/// `lms-harness serve`: starts, prints the addresses, serves until Ctrl-C.
pub async fn run(opts: ServeOptions, live: Option<LiveConfig>) -> Result<()> {
    if let Some(live) = live.filter(LiveConfig::has_app) {
        return run_live(opts, &live).await;
    }
    let data = opts.data_dir.clone();
    let server = start(opts).await?;
    println!("LMS pages:        {}/", server.lms_url);
    println!("Simulated Slack:  {}/_sim/", server.slack_url);
    println!(
        "  data folder:    {} ({})",
        data.display(),
        if server.seeded {
            "new: demo data seeded"
        } else {
            "existing database"
        }
    );
    println!("  OAuth callback: {}{CALLBACK_PATH}", server.lms_url);
    println!(
        "  app requests:   {}/_sim/requests (approve install requests as an app manager)",
        server.slack_url
    );
    if !server.seeded
        && matches!(
            server.harness.lms.tile(PLATFORM)?,
            Tile::Active(_) | Tile::ApprovalRequested(_)
        )
    {
        println!(
            "  note: the simulated Slack starts empty at every run; the integration this database calls active \
             will turn Disconnected at its next delivery: ACTIVATE again"
        );
    }
    println!(
        "Sign in at {}/sign-in as any of the platform's users (a harness: no passwords); switch user in the page \
         header. Ctrl-C stops.",
        server.lms_url
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}

/// `serve` against the real Slack: starts, prints the addresses, serves until Ctrl-C.
async fn run_live(opts: ServeOptions, live: &LiveConfig) -> Result<()> {
    let data = opts.data_dir.clone();
    let server = start_live(opts, live).await?;
    let client_id = live
        .client_id
        .as_ref()
        .map(|id| id.value.as_str())
        .unwrap_or_default();
    println!("Live Slack:       https://slack.com, with the Slack app {client_id}");
    println!(
        "LMS pages:        {}/ (listening on {})",
        server.public_url, server.listen_url
    );
    println!(
        "  data folder:    {} ({})",
        data.display(),
        if server.seeded {
            "new: demo data seeded"
        } else {
            "existing database"
        }
    );
    println!("  OAuth callback: {}{CALLBACK_PATH}", server.public_url);
    println!(
        "Run `lms-harness check` with the same configuration to see what Slack must reach. Ctrl-C stops."
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}

/// Sends what is due (scheduled steps, retries) every [`TICK`] until told to stop.
async fn run_due(lms: Lms, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let at = now();
        if let Err(e) = lms.schedule_due_steps(PLATFORM, at) {
            tracing::warn!("scheduling path steps: {e:#}");
        }
        if let Err(e) = lms::workers::run_outbox(&lms, PLATFORM, at).await {
            tracing::warn!("running the outbox: {e:#}");
        }
    }
}

/// The LMS pages: every page module's routes behind the refusal of forms from elsewhere ([`csrf::guard`]), the
/// images; every request body bounded in size and time; error pages in the asker's language ([`errors::language`]).
fn router(app: App, timeouts: Timeouts) -> Router {
    Router::new()
        .merge(identity::routes())
        .merge(connectors::routes())
        .merge(notifications::routes())
        .merge(paths::routes())
        .merge(reminders::routes())
        .merge(sessions::routes())
        .merge(deliveries::routes())
        .merge(vendor::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            csrf::guard,
        ))
        .merge(assets::routes())
        .fallback(|| async { errors::not_found() })
        .layer(axum::middleware::from_fn_with_state(
            limits::BodyLimit {
                bytes: limits::FORM_BYTES,
                time: timeouts.body,
            },
            limits::read_body,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            errors::language,
        ))
        .with_state(app)
}
