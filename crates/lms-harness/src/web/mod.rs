//! `lms-harness serve`: the simulated LMS as a web site, with the simulated Slack in the same process.
//!
//! The LMS pages are plain server-rendered HTML (a few lines of script for the "Acting as" switch and to refresh the
//! connector tile): Settings → Connectors with the Slack tile (ACTIVATE opens Slack's consent page in a new tab, the
//! OAuth callback brings that tab back to the settings page), the learner's notification preferences, paths and
//! sessions with invitations and "Slack message" steps, and the delivery log of every notification. Whoever visits
//! acts as one of the platform's users, chosen in the header (a cookie): this is a harness, not an identity system.
//!
//! Everything lives in a data folder: the SQLite database and the secrets key. The demo platform, its users, its
//! session and its path are seeded on first start only. The simulated Slack keeps its state in memory.

mod html;
mod png;

use crate::harness::{Harness, HarnessOptions};
use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Form, Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use html::{Flash, Frame, Section, esc, url_enc};
use http::{HeaderMap, StatusCode, header};
use lms::db::{Session, User, now};
use lms::integration::{Lms, Tile};
use lms::outbox::{Kind, NewNotification};
use lms::scheduler::Schedule;
use rusqlite::params;
use slack_sim::SimConfig;
use std::collections::HashMap;
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

const USER_COOKIE: &str = "lms_user";
const FLASH_COOKIE: &str = "lms_flash";
const PREFERENCES: [(&str, &str); 2] = [
    ("assigned_to_session", "I am assigned to a path session"),
    (
        "session_information",
        "I receive information as part of a path session I am enrolled in",
    ),
];

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
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Stops serving and the background runner.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

#[derive(Clone)]
struct App {
    lms: Lms,
    base: String,
    slack: String,
    platform_name: String,
}

/// Starts the simulated Slack, opens (or creates and seeds) the database and serves the LMS pages.
pub async fn start(opts: ServeOptions) -> Result<Server> {
    std::fs::create_dir_all(&opts.data_dir)
        .with_context(|| format!("creating the data folder {}", opts.data_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("listening on {}", opts.listen))?;
    let base = format!("http://{}", listener.local_addr()?);

    let mut options = HarnessOptions::in_dir(&opts.data_dir);
    if let Some(file) = &opts.workspace {
        options.sim = SimConfig::from_file(file)?;
    }
    if opts.restricted {
        options.sim.workspace.restrict_app_installs = true;
    }
    options.sim_listen = opts.slack_listen;
    let callback = format!("{base}{CALLBACK_PATH}");
    if !options.sim.app.redirect_urls.contains(&callback) {
        options.sim.app.redirect_urls.insert(0, callback);
    }
    options.sim.app.events_url = Some(format!("{base}/slack/{PLATFORM}/events"));
    options.sim.app.interactivity_url = Some(format!("{base}/slack/{PLATFORM}/interactivity"));
    let sim_config = options.sim.clone();
    let harness = Arc::new(Harness::start(options).await?);
    let lms = harness.lms.clone();

    let seeded = lms.db().platform(PLATFORM)?.is_none();
    if seeded {
        seed(&harness, &sim_config, &base)?;
    }
    point_urls_at(&lms, &base)?;
    // The simulated app's credentials, in case the workspace file changed them since the database was seeded.
    lms.configure(PLATFORM, "client_id", &sim_config.app.client_id, false)?;
    lms.configure(
        PLATFORM,
        "client_secret",
        &sim_config.app.client_secret,
        true,
    )?;
    lms.configure(
        PLATFORM,
        "signing_secret",
        &sim_config.app.signing_secret,
        true,
    )?;

    let platform_name = lms
        .db()
        .platform(PLATFORM)?
        .map(|p| p.name)
        .unwrap_or_else(|| PLATFORM.into());
    let app = App {
        lms: lms.clone(),
        base: base.clone(),
        slack: harness.sim.base_url(),
        platform_name,
    };
    let router = router(app).merge(lms::inbound::router(lms.clone()));
    let (stop, rx) = watch::channel(false);
    let mut rx1 = rx.clone();
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx1.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("the LMS site stopped: {e}");
        }
    });
    let ticker = tokio::spawn(run_due(lms, rx));
    Ok(Server {
        lms_url: base,
        slack_url: harness.sim.base_url(),
        seeded,
        harness,
        stop,
        tasks: vec![server, ticker],
    })
}

/// `lms-harness serve`: starts, prints the addresses, serves until Ctrl-C.
pub async fn run(opts: ServeOptions) -> Result<()> {
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
    println!("Acting as the platform admin; switch user in the page header. Ctrl-C stops.");
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
        if let Err(e) = lms.run_outbox(PLATFORM, at).await {
            tracing::warn!("running the outbox: {e:#}");
        }
    }
}

/// The demo data: the harness's platform, users and session, plus an author and a path for the session.
fn seed(harness: &Harness, sim: &SimConfig, base: &str) -> Result<()> {
    let data = harness.seed_demo(PLATFORM, sim)?;
    let lms = &harness.lms;
    let db = lms.db();
    db.upsert_user(
        PLATFORM,
        &User {
            id: "author".into(),
            email: "author@acme.example".into(),
            display_name: "Aubrey Author".into(),
            locale: "en".into(),
            time_zone: "Europe/London".into(),
            role: "author".into(),
        },
    )?;
    let mut platform = db.platform(PLATFORM)?.context("the seeded platform")?;
    platform.base_url = base.into();
    platform.group_logo_url = Some(format!("{base}/static/acme-logo.png"));
    platform.default_cover_url = Some(format!("{base}/static/default-cover.png"));
    db.upsert_platform(&platform)?;
    let mut session = data.session;
    session.cover_url = Some(format!("{base}/static/covers/onboarding.png"));
    db.upsert_session(PLATFORM, &session)?;
    lms.upsert_path(PLATFORM, "onboarding", "Onboarding path", Some(&session.id))?;
    Ok(())
}

/// The platform's links (sessions, logo, covers) point at this site; moves them when it listens elsewhere.
fn point_urls_at(lms: &Lms, base: &str) -> Result<()> {
    let db = lms.db();
    let Some(mut platform) = db.platform(PLATFORM)? else {
        return Ok(());
    };
    let old = platform.base_url.clone();
    if old == base {
        return Ok(());
    }
    let moved = |u: Option<String>| {
        u.map(|u| match u.strip_prefix(&old) {
            Some(rest) => format!("{base}{rest}"),
            None => u,
        })
    };
    platform.group_logo_url = moved(platform.group_logo_url.take());
    platform.default_cover_url = moved(platform.default_cover_url.take());
    platform.base_url = base.into();
    db.upsert_platform(&platform)?;
    db.conn().execute(
        "UPDATE sessions SET cover_url = ?3 || substr(cover_url, length(?2) + 1)
         WHERE platform_id = ?1 AND substr(cover_url, 1, length(?2)) = ?2",
        params![PLATFORM, old, base],
    )?;
    Ok(())
}

fn router(app: App) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/act-as", post(act_as))
        .route("/settings/connectors", get(connectors))
        .route("/settings/connectors/slack/tile", get(tile_json))
        .route("/settings/connectors/slack/activate", post(activate))
        .route("/settings/connectors/slack/deactivate", post(deactivate))
        .route("/settings/connectors/slack/requested", post(requested))
        .route(CALLBACK_PATH, get(callback))
        .route(
            "/me/notifications",
            get(my_notifications).post(save_notifications),
        )
        .route("/paths", get(paths))
        .route("/paths/{id}/steps", post(add_step))
        .route("/sessions/{id}", get(session_page))
        .route("/sessions/{id}/invite", post(invite))
        .route("/notifications", get(notifications))
        .route("/notifications/{id}", get(notification))
        .route(
            "/static/acme-logo.png",
            get(|| async { png_response(png::logo()) }),
        )
        .route(
            "/static/default-cover.png",
            get(|| async { png_response(png::default_cover()) }),
        )
        .route("/static/covers/{file}", get(cover_file))
        .fallback(not_found)
        .with_state(app)
}

// ---------------------------------------------------------------------------------------------------------------
// Plumbing: errors, the acting user, flash messages, redirects.

/// An internal error, shown as a page.
struct WebError(anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for WebError {
    fn from(e: E) -> Self {
        WebError(e.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        tracing::error!("LMS page error: {:#}", self.0);
        plain_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            &format!("{:#}", self.0),
        )
    }
}

type Page = Result<Response, WebError>;

fn plain_page(status: StatusCode, title: &str, detail: &str) -> Response {
    (
        status,
        axum::response::Html(format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{t}</title></head><body style="font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem"><h1>{t}</h1><p role="alert">{d}</p><p><a href="/">Back to the LMS</a></p></body></html>"#,
            t = esc(title),
            d = esc(detail)
        )),
    )
        .into_response()
}

async fn not_found() -> Response {
    plain_page(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .find_map(|p| p.trim().strip_prefix(name)?.strip_prefix('='))
}

fn decode(s: &str) -> String {
    form_urlencoded::parse(format!("v={s}").as_bytes())
        .map(|(_, v)| v.into_owned())
        .next()
        .unwrap_or_default()
}

/// The platform's users, admins first, then authors, then learners.
fn users(lms: &Lms) -> Result<Vec<User>> {
    let mut users = lms.db().users_page(PLATFORM, None, 10_000)?;
    let rank = |r: &str| match r {
        "admin" => 0,
        "author" => 1,
        _ => 2,
    };
    users.sort_by(|a, b| {
        rank(&a.role)
            .cmp(&rank(&b.role))
            .then(a.display_name.cmp(&b.display_name))
    });
    Ok(users)
}

/// The visitor's page context: who they act as (the cookie, else the first admin) and everyone they may act as.
struct Visitor {
    me: User,
    users: Vec<User>,
    flash: Option<Flash>,
    here: String,
}

impl Visitor {
    fn of(app: &App, headers: &HeaderMap, here: &str) -> Result<Visitor> {
        let users = users(&app.lms)?;
        let wanted = cookie(headers, USER_COOKIE).map(decode);
        let me = wanted
            .and_then(|id| users.iter().find(|u| u.id == id))
            .or_else(|| users.first())
            .cloned()
            .context("the platform has no users")?;
        let flash = cookie(headers, FLASH_COOKIE).and_then(|v| {
            let text: String = form_urlencoded::parse(format!("m={}", v.get(1..)?).as_bytes())
                .map(|(_, v)| v.into_owned())
                .next()?;
            match v.chars().next()? {
                'o' => Some(Flash::Ok(text)),
                'e' => Some(Flash::Error(text)),
                _ => None,
            }
        });
        Ok(Visitor {
            me,
            users,
            flash,
            here: here.into(),
        })
    }

    fn is_admin(&self) -> bool {
        self.me.role == "admin"
    }

    fn is_author(&self) -> bool {
        matches!(self.me.role.as_str(), "admin" | "author")
    }

    /// The page, clearing the flash message it shows.
    fn page(&self, app: &App, section: Section, title: &str, body: &str) -> Response {
        let frame = Frame {
            me: &self.me,
            users: &self.users,
            platform_name: &app.platform_name,
            slack_url: &app.slack,
            here: &self.here,
        };
        let html = html::page(&frame, section, title, self.flash.as_ref(), body);
        let mut r = axum::response::Html(html).into_response();
        if self.flash.is_some()
            && let Ok(v) =
                format!("{FLASH_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly").parse()
        {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
        r
    }
}

/// A 303 to `to`, with a message for the next page.
fn see_other(to: &str, flash: Option<Flash>) -> Response {
    let mut r = Redirect::to(to).into_response();
    if let Some(f) = flash {
        let (k, m) = match f {
            Flash::Ok(m) => ('o', m),
            Flash::Error(m) => ('e', m),
        };
        if let Ok(v) = format!(
            "{FLASH_COOKIE}={k}{}; Path=/; SameSite=Lax; HttpOnly",
            url_enc(&m)
        )
        .parse()
        {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// Refuses a form posted from another site (the acting-user cookie is not a credential, but a harness page should
/// still not be driven by another origin).
fn cross_site(app: &App, headers: &HeaderMap) -> Option<Response> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    (origin != "null" && origin != app.base).then(|| {
        plain_page(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form was posted from another site.",
        )
    })
}

fn png_response(bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        bytes,
    )
        .into_response()
}

async fn cover_file(Path(file): Path<String>) -> Response {
    if file.ends_with(".png") {
        png_response(png::cover())
    } else {
        not_found().await
    }
}

fn form_value<'a>(form: &'a HashMap<String, String>, key: &str) -> &'a str {
    form.get(key).map(String::as_str).unwrap_or("")
}

// ---------------------------------------------------------------------------------------------------------------
// Pages.

async fn home(State(app): State<App>, headers: HeaderMap) -> Page {
    let v = Visitor::of(&app, &headers, "/")?;
    Ok(see_other(
        match v.me.role.as_str() {
            "admin" => "/settings/connectors",
            "author" => "/paths",
            _ => "/me/notifications",
        },
        None,
    ))
}

async fn act_as(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    if let Some(r) = cross_site(&app, &headers) {
        return Ok(r);
    }
    let user = form_value(&form, "user");
    let Some(u) = app.lms.db().user(PLATFORM, user)? else {
        return Ok(see_other(
            "/",
            Some(Flash::Error(format!("There is no user {user}."))),
        ));
    };
    let back = form_value(&form, "return_to");
    let back = if back.starts_with('/') && !back.starts_with("//") {
        back
    } else {
        "/"
    };
    // A page the new user may not see sends them to their own home.
    let back = match (u.role.as_str(), back) {
        ("learner", b) if !b.starts_with("/me/") && !b.starts_with("/sessions/") => "/",
        ("author", b) if b.starts_with("/settings/") => "/",
        _ => back,
    };
    let mut r = see_other(back, None);
    if let Ok(v) = format!(
        "{USER_COOKIE}={}; Path=/; SameSite=Lax; HttpOnly",
        url_enc(&u.id)
    )
    .parse()
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

fn crumbs(items: &[&str]) -> String {
    let li: String = items
        .iter()
        .map(|i| format!("<li>{}</li>", esc(i)))
        .collect();
    format!(r#"<nav class="crumbs" aria-label="Breadcrumb"><ol>{li}</ol></nav>"#)
}

fn tile_card(tile: &Tile, v: &Visitor) -> String {
    let (badge, class, detail) = match tile {
        Tile::Unavailable => unreachable!("no tile when unavailable"),
        Tile::Inactive(None) => (
            "Inactive",
            "inactive",
            "<p>Send path and course invitations to your learners in Slack, as direct messages from the app.</p>"
                .to_string(),
        ),
        Tile::Inactive(Some(err)) => (
            "Inactive",
            "inactive",
            format!(
                r#"<p class="flash error" role="alert"><strong>The last activation did not complete:</strong> {}</p>"#,
                esc(err)
            ),
        ),
        Tile::ApprovalRequested(next) => (
            "Approval requested",
            "pending",
            format!(
                r#"<p><strong>What to do next:</strong> {}</p>"#,
                esc(next)
            ),
        ),
        Tile::Active(ws) => (
            "Active",
            "active",
            format!(
                r#"<p>Connected to the Slack workspace <strong class="workspace">{}</strong>. Learners whose e-mail address is the same in the LMS and in Slack receive their invitations from the app.</p>"#,
                esc(ws)
            ),
        ),
        Tile::Disconnected(reason) => (
            "Disconnected",
            "broken",
            format!(
                r#"<p class="flash error" role="alert"><strong>The integration stopped working:</strong> {}</p><p>Click ACTIVATE to connect again.</p>"#,
                esc(reason)
            ),
        ),
    };
    let new_tab = if v.is_admin() {
        r#" target="_blank""#
    } else {
        ""
    };
    let hint = if v.is_admin() {
        r#"<span class="visually-hidden"> (opens Slack in a new tab)</span>"#
    } else {
        ""
    };
    let activate = format!(
        r#"<form class="inline" method="post" action="/settings/connectors/slack/activate"{new_tab}><button type="submit" class="primary" id="activate">ACTIVATE{hint}</button></form>"#
    );
    let deactivate = r#"<form class="inline" method="post" action="/settings/connectors/slack/deactivate"><button type="submit" class="danger" id="deactivate">DEACTIVATE</button></form>"#;
    let requested = r#"<form class="requested" method="post" action="/settings/connectors/slack/requested"><p class="muted">Did Slack show a request form instead of Allow (a workspace that restricts app installs)? Submit the request there, then: <button type="submit" id="requested">I requested the app in Slack</button></p></form>"#;
    let buttons = match tile {
        Tile::Active(_) => deactivate.to_string(),
        Tile::Disconnected(_) => format!("{activate}{deactivate}"),
        _ => activate,
    };
    let extra = if v.is_admin() && matches!(tile, Tile::Inactive(_)) {
        requested
    } else {
        ""
    };
    let opens = if v.is_admin() && !matches!(tile, Tile::Active(_)) {
        r#"<p class="muted">ACTIVATE opens Slack in a new tab: sign in, click Allow, and that tab comes back here.</p>"#
    } else {
        ""
    };
    format!(
        r#"<section class="card tile" aria-labelledby="slack-tile"><h2 id="slack-tile">Slack <span class="badge {class}" id="slack-state">{badge}</span></h2>{detail}<div class="actions">{buttons}</div>{extra}{opens}</section>"#
    )
}

/// Re-reads the tile every two seconds while the page is visible, and reloads the page when it changed (the
/// activation finishes in another tab).
const TILE_SCRIPT: &str = r#"<script>
(() => {
  const initial = document.currentScript.dataset.tile;
  const poll = async () => {
    if (document.visibilityState !== 'visible') return;
    try {
      const r = await fetch('/settings/connectors/slack/tile', { cache: 'no-store' });
      if (r.ok && (await r.text()) !== initial) location.reload();
    } catch (_) {}
  };
  setInterval(poll, 2000);
  document.addEventListener('visibilitychange', poll);
})();
</script>"#;

async fn connectors(State(app): State<App>, headers: HeaderMap) -> Page {
    let v = Visitor::of(&app, &headers, "/settings/connectors")?;
    let tile = app.lms.tile(PLATFORM)?;
    let mut body = crumbs(&["Settings", "Connectors"]);
    body.push_str("<h1>Connectors</h1>");
    if !v.is_admin() {
        body.push_str(&format!(
            r#"<p class="note">You are acting as {} ({}). Only platform admins can activate or deactivate connectors.</p>"#,
            esc(&v.me.display_name),
            esc(&v.me.role)
        ));
    }
    if tile == Tile::Unavailable {
        body.push_str(r#"<p class="card muted" id="no-connectors">No connector is available on this platform yet. The vendor makes connectors available; ask them for the Slack connector.</p>"#);
    } else {
        body.push_str(r#"<div class="tiles">"#);
        body.push_str(&tile_card(&tile, &v));
        body.push_str("</div>");
    }
    let alerts = alerts(&app.lms)?;
    if !alerts.is_empty() {
        body.push_str(r#"<h2>Alerts</h2><ul class="card">"#);
        for (at, message) in alerts {
            body.push_str(&format!(
                "<li><time>{}</time>: {}</li>",
                esc(&html::date(at, &v.me.time_zone)),
                esc(&message)
            ));
        }
        body.push_str("</ul>");
    }
    body.push_str(&TILE_SCRIPT.replace(
        "<script>",
        &format!(
            r#"<script data-tile="{}">"#,
            esc(&serde_json::to_string(&tile)?)
        ),
    ));
    Ok(v.page(&app, Section::Connectors, "Connectors", &body))
}

fn alerts(lms: &Lms) -> Result<Vec<(i64, String)>> {
    let conn = lms.db().conn();
    let mut stmt = conn.prepare(
        "SELECT at, message FROM alerts WHERE platform_id = ?1 ORDER BY seq DESC LIMIT 5",
    )?;
    let rows = stmt.query_map([PLATFORM], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

async fn tile_json(State(app): State<App>) -> Page {
    let tile = app.lms.tile(PLATFORM)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        serde_json::to_string(&tile)?,
    )
        .into_response())
}

async fn activate(State(app): State<App>, headers: HeaderMap) -> Page {
    if let Some(r) = cross_site(&app, &headers) {
        return Ok(r);
    }
    let v = Visitor::of(&app, &headers, "/settings/connectors")?;
    let callback = format!("{}{CALLBACK_PATH}", app.base);
    Ok(
        match app
            .lms
            .start_activation(PLATFORM, &v.me.id, &callback)
            .await
        {
            Ok(url) => see_other(&url, None),
            Err(e) => see_other("/settings/connectors", Some(Flash::Error(format!("{e:#}")))),
        },
    )
}

async fn callback(State(app): State<App>, RawQuery(q): RawQuery) -> Page {
    let query: Vec<(String, String)> = form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let flash = match app.lms.complete_activation(PLATFORM, &query).await {
        Ok(Tile::Active(ws)) => Flash::Ok(format!("Slack is active: connected to {ws}.")),
        Ok(Tile::ApprovalRequested(_)) => Flash::Ok(
            "The app was requested: an app manager of the Slack workspace must approve it.".into(),
        ),
        Ok(_) => Flash::Error("The activation did not complete: the Slack tile says why.".into()),
        Err(e) => Flash::Error(format!("The activation failed: {e:#}")),
    };
    Ok(see_other("/settings/connectors", Some(flash)))
}

async fn requested(State(app): State<App>, headers: HeaderMap) -> Page {
    if let Some(r) = cross_site(&app, &headers) {
        return Ok(r);
    }
    let v = Visitor::of(&app, &headers, "/settings/connectors")?;
    let flash = match app.lms.approval_requested(PLATFORM, &v.me.id) {
        Ok(_) => Flash::Ok("Noted: the app waits for an app manager's approval in Slack.".into()),
        Err(e) => Flash::Error(format!("{e:#}")),
    };
    Ok(see_other("/settings/connectors", Some(flash)))
}

async fn deactivate(State(app): State<App>, headers: HeaderMap) -> Page {
    if let Some(r) = cross_site(&app, &headers) {
        return Ok(r);
    }
    let v = Visitor::of(&app, &headers, "/settings/connectors")?;
    let flash = match app.lms.deactivate(PLATFORM, &v.me.id).await {
        Ok(_) => Flash::Ok(
            "Slack is deactivated: the app's conversations are hidden in Slack and nothing more is sent.".into(),
        ),
        Err(e) => Flash::Error(format!("{e:#}")),
    };
    Ok(see_other("/settings/connectors", Some(flash)))
}

async fn my_notifications(State(app): State<App>, headers: HeaderMap) -> Page {
    let v = Visitor::of(&app, &headers, "/me/notifications")?;
    let mut switches = String::new();
    for (key, label) in PREFERENCES {
        let on = app.lms.preference(PLATFORM, &v.me.id, key)?;
        switches.push_str(&format!(
            r#"<div class="switch"><input type="checkbox" role="switch" id="{key}" name="{key}"{}><label for="{key}">{label}</label></div>"#,
            if on { " checked" } else { "" }
        ));
    }
    let body = format!(
        r#"{crumbs}<h1>Notifications</h1>
<p class="muted">Personal settings of {name} ({email}).</p>
<form method="post" action="/me/notifications" class="card">
<h2 id="my-training">My training</h2>
<fieldset aria-describedby="trainings-help"><legend>Trainings</legend>
<p id="trainings-help" class="muted">Turned off, these stop the matching Slack messages; the integration stays on, and turning them on again restores them.</p>
{switches}</fieldset>
<div class="actions"><button type="submit" class="primary">Save</button></div>
</form>"#,
        crumbs = crumbs(&[
            "Personal settings",
            "Notifications",
            "My training",
            "Trainings"
        ]),
        name = esc(&v.me.display_name),
        email = esc(&v.me.email),
    );
    Ok(v.page(&app, Section::MyNotifications, "My notifications", &body))
}

async fn save_notifications(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    if let Some(r) = cross_site(&app, &headers) {
        return Ok(r);
    }
    let v = Visitor::of(&app, &headers, "/me/notifications")?;
    for (key, _) in PREFERENCES {
        let on = form.contains_key(key);
        if app.lms.preference(PLATFORM, &v.me.id, key)? != on {
            app.lms.set_preference(PLATFORM, &v.me.id, key, on)?;
        }
    }
    Ok(see_other(
        "/me/notifications",
        Some(Flash::Ok("Your notification settings are saved.".into())),
    ))
}

fn sessions(lms: &Lms) -> Result<Vec<Session>> {
    lms.db().sessions(PLATFORM)
}

struct PathRow {
    id: String,
    title: String,
    session_id: Option<String>,
    enrolled: i64,
}

fn path_rows(lms: &Lms) -> Result<Vec<PathRow>> {
    let conn = lms.db().conn();
    let mut stmt = conn.prepare(
        "SELECT p.id, p.title, p.session_id,
                (SELECT COUNT(*) FROM enrolments e WHERE e.platform_id = p.platform_id AND e.path_id = p.id)
         FROM paths p WHERE p.platform_id = ?1 ORDER BY p.title, p.id",
    )?;
    let rows = stmt.query_map([PLATFORM], |r| {
        Ok(PathRow {
            id: r.get(0)?,
            title: r.get(1)?,
            session_id: r.get(2)?,
            enrolled: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn learners(users: &[User]) -> Vec<&User> {
    users.iter().filter(|u| u.role == "learner").collect()
}

fn refused_for_learners(v: &Visitor, app: &App, title: &str) -> Response {
    v.page(
        app,
        Section::None,
        title,
        &format!(
            r#"<h1>{}</h1><p class="flash error" role="alert">Only authors and platform admins can see this page; you are acting as {} ({}).</p>"#,
            esc(title),
            esc(&v.me.display_name),
            esc(&v.me.role)
        ),
    )
}

async fn paths(State(app): State<App>, headers: HeaderMap) -> Page {
    let v = Visitor::of(&app, &headers, "/paths")?;
    if !v.is_author() {
        return Ok(refused_for_learners(&v, &app, "Paths & sessions"));
    }
    let tz = &v.me.time_zone;
    let n_learners = learners(&v.users).len();
    let mut body = String::from("<h1>Paths &amp; sessions</h1><h2>Sessions</h2>");
    let all_sessions = sessions(&app.lms)?;
    for s in &all_sessions {
        body.push_str(&format!(
            r#"<section class="card" aria-labelledby="s-{id}"><h3 id="s-{id}"><a href="/sessions/{uid}">{title}</a></h3>
<p class="muted">{start} – {end}</p>
<form method="post" action="/sessions/{uid}/invite"><button type="submit" class="primary">Invite learners to “{title}”</button>
<span class="muted">Every learner of the platform ({n_learners}) is invited; those with the same e-mail address in Slack get the invitation there.</span></form></section>"#,
            id = esc(&s.id),
            uid = esc(&url_enc(&s.id)),
            title = esc(&s.title),
            start = esc(&html::date(s.starts_at, tz)),
            end = esc(&html::date(s.ends_at, tz)),
        ));
    }
    if all_sessions.is_empty() {
        body.push_str(r#"<p class="muted">No sessions.</p>"#);
    }
    body.push_str("<h2>Paths</h2>");
    let steps = app.lms.path_steps(PLATFORM)?;
    let active = matches!(app.lms.tile(PLATFORM)?, Tile::Active(_));
    for p in path_rows(&app.lms)? {
        let session = p
            .session_id
            .as_deref()
            .and_then(|id| all_sessions.iter().find(|s| s.id == id));
        let mut list = String::new();
        for st in steps.iter().filter(|s| s.path_id == p.id) {
            let when = match st.schedule {
                Schedule::At(at) => format!("on {}", html::date(at, tz)),
                Schedule::AfterEnrolment(secs) => {
                    format!("{} after each learner's enrolment", html::duration(secs))
                }
            };
            list.push_str(&format!(
                r#"<li><strong>Slack message: {}</strong> <span class="muted">— {}</span><br>{}</li>"#,
                esc(&st.title),
                esc(&when),
                esc(&st.text)
            ));
        }
        if list.is_empty() {
            list = r#"<li class="muted">No Slack message steps yet.</li>"#.into();
        }
        let warn = if active {
            ""
        } else {
            r#"<p class="note">Slack message steps need the Slack integration to be active (Settings → Connectors).</p>"#
        };
        body.push_str(&format!(
            r#"<section class="card" id="path-{id}" aria-labelledby="p-{id}"><h3 id="p-{id}">{title}</h3>
<p class="muted">Session: {session} · {enrolled} enrolled</p>
<h4>Steps</h4><ul class="steps">{list}</ul>
<details{open}><summary>Add a “Slack message” step</summary>{warn}
<form method="post" action="/paths/{uid}/steps">
<div class="field"><label for="title-{id}">Title (the e-mail subject)</label><input type="text" id="title-{id}" name="title" required maxlength="150" size="50"></div>
<div class="field"><label for="text-{id}">Message</label><textarea id="text-{id}" name="text" rows="3" required maxlength="2500"></textarea></div>
<fieldset><legend>When</legend>
<div class="field"><input type="radio" id="when-at-{id}" name="when" value="at" checked> <label for="when-at-{id}">On</label>
<input type="datetime-local" id="at-{id}" name="at" aria-label="Date and time ({tz})"> <span class="muted">{tz}</span></div>
<div class="field"><input type="radio" id="when-after-{id}" name="when" value="after"> <label for="when-after-{id}">After each learner's enrolment:</label>
<input type="number" id="after-{id}" name="after" min="0" value="1" aria-label="How long after enrolment"> <select name="unit" aria-label="Unit"><option value="86400">days</option><option value="3600">hours</option><option value="60">minutes</option></select></div>
</fieldset>
<div class="actions"><button type="submit" class="primary">Add the step</button></div>
</form></details></section>"#,
            id = esc(&p.id),
            uid = esc(&url_enc(&p.id)),
            title = esc(&p.title),
            session = session.map(|s| esc(&s.title)).unwrap_or_else(|| "none".into()),
            enrolled = p.enrolled,
            open = if active { " open" } else { "" },
            tz = esc(tz),
        ));
    }
    Ok(v.page(&app, Section::Paths, "Paths & sessions", &body))
}

async fn add_step(
    State(app): State<App>,
    headers: HeaderMap,
    Path(path_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    if let Some(r) = cross_site(&app, &headers) {
        return Ok(r);
    }
    let v = Visitor::of(&app, &headers, "/paths")?;
    let back = format!("/paths#path-{}", url_enc(&path_id));
    let schedule = match form_value(&form, "when") {
        "after" => {
            let n: i64 = form_value(&form, "after").trim().parse().unwrap_or(-1);
            let unit: i64 = form_value(&form, "unit").parse().unwrap_or(86_400);
            if n < 0 {
                return Ok(see_other(
                    &back,
                    Some(Flash::Error(
                        "Give how long after enrolment, as a number.".into(),
                    )),
                ));
            }
            Schedule::AfterEnrolment(n.saturating_mul(unit))
        }
        _ => {
            let at = form_value(&form, "at");
            let parsed = at
                .parse::<jiff::civil::DateTime>()
                .ok()
                .and_then(|dt| dt.in_tz(&v.me.time_zone).ok())
                .map(|z| z.timestamp().as_second());
            match parsed {
                Some(s) => Schedule::At(s),
                None => {
                    return Ok(see_other(
                        &back,
                        Some(Flash::Error(
                            "Give the date and time the message goes out.".into(),
                        )),
                    ));
                }
            }
        }
    };
    let flash = match app.lms.add_path_step(
        PLATFORM,
        &v.me.id,
        &path_id,
        form_value(&form, "title").trim(),
        form_value(&form, "text").trim(),
        schedule,
    ) {
        Ok(step) => Flash::Ok(format!(
            "The Slack message step “{}” was added.",
            step.title
        )),
        Err(e) => Flash::Error(format!("{e:#}")),
    };
    Ok(see_other(&back, Some(flash)))
}

async fn session_page(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Page {
    let here = format!("/sessions/{}", url_enc(&id));
    let v = Visitor::of(&app, &headers, &here)?;
    let Some(s) = app.lms.db().session(PLATFORM, &id)? else {
        return Ok(not_found().await);
    };
    let tz = &v.me.time_zone;
    let cover = s
        .cover_url
        .as_deref()
        .map(|u| {
            format!(
                r#"<img class="cover" src="{}" alt="Cover of the session">"#,
                esc(u)
            )
        })
        .unwrap_or_default();
    let mut body = format!(
        r#"<article class="card"><h1>{title}</h1>{cover}<p><strong>Starts:</strong> {start}<br><strong>Ends:</strong> {end}</p><p>{desc}</p></article>"#,
        title = esc(&s.title),
        start = esc(&html::date(s.starts_at, tz)),
        end = esc(&html::date(s.ends_at, tz)),
        desc = esc(&s.description),
    );
    if v.is_author() {
        body.push_str(&format!(
            r#"<form method="post" action="/sessions/{}/invite" class="card"><button type="submit" class="primary">Invite learners</button> <span class="muted">Every learner of the platform is invited.</span></form>"#,
            esc(&url_enc(&s.id))
        ));
        body.push_str(&notification_table(&app.lms, Some(&s.id), tz)?);
    }
    Ok(v.page(&app, Section::Paths, &s.title, &body))
}

async fn invite(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Page {
    if let Some(r) = cross_site(&app, &headers) {
        return Ok(r);
    }
    let v = Visitor::of(&app, &headers, "/paths")?;
    if !v.is_author() {
        return Ok(see_other(
            "/",
            Some(Flash::Error(
                "Only authors and platform admins may invite learners.".into(),
            )),
        ));
    }
    let Some(session) = app.lms.db().session(PLATFORM, &id)? else {
        return Ok(not_found().await);
    };
    let learner_ids: Vec<String> = learners(&v.users).iter().map(|u| u.id.clone()).collect();
    let at = now();
    let nid = format!("invite-{}-{at}-{:04x}", session.id, rand::random::<u16>());
    app.lms.enqueue(
        PLATFORM,
        &NewNotification {
            id: &nid,
            kind: Kind::SessionAssignment,
            title: &format!("You are invited to {}", session.title),
            session_id: Some(&session.id),
            body: None,
            mandatory: false,
            not_before: 0,
        },
        &learner_ids,
    )?;
    app.lms
        .db()
        .audit(PLATFORM, &v.me.id, "session.invite", &nid)?;
    // Invited learners are enrolled in the session's paths (for their "Slack message" steps).
    for p in path_rows(&app.lms)?
        .into_iter()
        .filter(|p| p.session_id.as_deref() == Some(session.id.as_str()))
    {
        for u in &learner_ids {
            app.lms.enrol(PLATFORM, &p.id, u, at)?;
        }
    }
    let report = app.lms.run_outbox(PLATFORM, at).await?;
    Ok(see_other(
        &format!("/notifications/{}", url_enc(&nid)),
        Some(Flash::Ok(format!(
            "{} learners invited: {} sent, {} skipped, {} failed, {} to retry.",
            learner_ids.len(),
            report.sent,
            report.skipped,
            report.failed,
            report.retrying
        ))),
    ))
}

struct NotificationRow {
    id: String,
    kind: String,
    title: String,
    created_at: i64,
    counts: [i64; 4],
}

fn notification_rows(lms: &Lms, session_id: Option<&str>) -> Result<Vec<NotificationRow>> {
    let conn = lms.db().conn();
    let mut stmt = conn.prepare(
        "SELECT n.id, n.kind, n.title, n.created_at,
                COALESCE(SUM(d.status = 'sent'), 0), COALESCE(SUM(d.status = 'skipped'), 0),
                COALESCE(SUM(d.status = 'failed'), 0), COALESCE(SUM(d.status IN ('queued', 'in_flight')), 0)
         FROM notifications n
         LEFT JOIN deliveries d ON d.platform_id = n.platform_id AND d.notification_id = n.id
         WHERE n.platform_id = ?1 AND (?2 IS NULL OR n.session_id = ?2)
         GROUP BY n.id ORDER BY n.created_at DESC, n.rowid DESC",
    )?;
    let rows = stmt.query_map(params![PLATFORM, session_id], |r| {
        Ok(NotificationRow {
            id: r.get(0)?,
            kind: r.get(1)?,
            title: r.get(2)?,
            created_at: r.get(3)?,
            counts: [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn kind_label(kind: &str) -> &str {
    match kind {
        "session_assignment" => "Invitation",
        "session_information" => "Session information",
        "path_step" => "Slack message step",
        other => other,
    }
}

fn notification_table(lms: &Lms, session_id: Option<&str>, tz: &str) -> Result<String> {
    let rows = notification_rows(lms, session_id)?;
    if rows.is_empty() {
        return Ok(r#"<p class="muted">No notifications yet.</p>"#.into());
    }
    let mut out = String::from(
        r#"<table><caption class="visually-hidden">Notifications</caption><thead><tr><th scope="col">Notification</th><th scope="col">Kind</th><th scope="col">Created</th><th scope="col">Sent</th><th scope="col">Skipped</th><th scope="col">Failed</th><th scope="col">Pending</th></tr></thead><tbody>"#,
    );
    for n in rows {
        out.push_str(&format!(
            r#"<tr><td><a href="/notifications/{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&url_enc(&n.id)),
            esc(&n.title),
            esc(kind_label(&n.kind)),
            esc(&html::date(n.created_at, tz)),
            n.counts[0],
            n.counts[1],
            n.counts[2],
            n.counts[3]
        ));
    }
    out.push_str("</tbody></table>");
    Ok(out)
}

async fn notifications(State(app): State<App>, headers: HeaderMap) -> Page {
    let v = Visitor::of(&app, &headers, "/notifications")?;
    if !v.is_author() {
        return Ok(refused_for_learners(&v, &app, "Delivery log"));
    }
    let body = format!(
        "<h1>Delivery log</h1><p class=\"muted\">Every notification, newest first; open one to see what happened for each learner.</p>{}",
        notification_table(&app.lms, None, &v.me.time_zone)?
    );
    Ok(v.page(&app, Section::Deliveries, "Delivery log", &body))
}

async fn notification(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Page {
    let here = format!("/notifications/{}", url_enc(&id));
    let v = Visitor::of(&app, &headers, &here)?;
    if !v.is_author() {
        return Ok(refused_for_learners(&v, &app, "Delivery log"));
    }
    let Some(n) = notification_rows(&app.lms, None)?
        .into_iter()
        .find(|n| n.id == id)
    else {
        return Ok(not_found().await);
    };
    let deliveries = app.lms.deliveries(PLATFORM, &id)?;
    let mut rows = String::new();
    for d in &deliveries {
        let user = v.users.iter().find(|u| u.id == d.user_id);
        let who = user
            .map(|u| {
                format!(
                    "{}<br><span class=\"muted\">{}</span>",
                    esc(&u.display_name),
                    esc(&u.email)
                )
            })
            .unwrap_or_else(|| esc(&d.user_id));
        let why = match (&d.reason, &d.reason_code) {
            (Some(r), Some(c)) => format!("{} <code>{}</code>", esc(r), esc(c)),
            (Some(r), None) => esc(r),
            (None, Some(c)) => format!("<code>{}</code>", esc(c)),
            (None, None) if d.status == "sent" => format!(
                "In the app's conversation <code>{}</code>",
                esc(d.conversation.as_deref().unwrap_or("?"))
            ),
            (None, None) => String::new(),
        };
        rows.push_str(&format!(
            r#"<tr data-user="{uid}"><td>{who}</td><td class="status status-{st}">{st}</td><td>{why}</td><td>{att}</td></tr>"#,
            uid = esc(&d.user_id),
            st = esc(&d.status),
            att = d.attempts,
        ));
    }
    let body = format!(
        r#"{crumbs}<h1>{title}</h1><p class="muted">{kind} · created {created} · {sent} sent, {skipped} skipped, {failed} failed, {pending} pending</p>
<table id="deliveries"><caption class="visually-hidden">Delivery to each learner</caption><thead><tr><th scope="col">Learner</th><th scope="col">Status</th><th scope="col">Why</th><th scope="col">Attempts</th></tr></thead><tbody>{rows}</tbody></table>"#,
        crumbs = crumbs(&["Delivery log", &n.title]),
        title = esc(&n.title),
        kind = esc(kind_label(&n.kind)),
        created = esc(&html::date(n.created_at, &v.me.time_zone)),
        sent = n.counts[0],
        skipped = n.counts[1],
        failed = n.counts[2],
        pending = n.counts[3],
    );
    Ok(v.page(&app, Section::Deliveries, &n.title, &body))
}
