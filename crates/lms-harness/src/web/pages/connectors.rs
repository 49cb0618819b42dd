//! Settings → Connectors: the Slack tile (ACTIVATE opens Slack's consent page in a new tab, the OAuth callback
//! brings that tab back here; a connector disabled after repeated failures says why, with Re-enable for admins),
//! the platform's alerts, and the tile's state as JSON for the page's refresh script.

use crate::web::errors::{Page, plain_page};
use crate::web::flash::{Flash, see_other};
use crate::web::format::date;
use crate::web::frame::{Section, crumbs};
use crate::web::identity::Visitor;
use crate::web::session::BrowserId;
use crate::web::{App, CALLBACK_PATH, PLATFORM};
use anyhow::Result;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use connector_host::store::Disabled;
use http::{HeaderMap, StatusCode, header};
use lms::integration::{CallbackRefused, Lms, Tile};
use maud::{Markup, PreEscaped, html};

/// Re-reads the tile every two seconds while the page is visible, and reloads the page when it changed (the
/// activation finishes in another tab).
const TILE_SCRIPT: &str = include_str!("../../assets/tile-refresh.js");

/// The settings page, where every action here comes back to.
const SETTINGS: &str = "/settings/connectors";

/// The routes of the settings page, its actions and the OAuth callback.
pub(in crate::web) fn routes() -> Router<App> {
    Router::new()
        .route(SETTINGS, get(connectors))
        .route("/settings/connectors/slack/tile", get(tile_json))
        .route("/settings/connectors/slack/activate", post(activate))
        .route("/settings/connectors/slack/deactivate", post(deactivate))
        .route("/settings/connectors/slack/requested", post(requested))
        .route("/settings/connectors/slack/enable", post(enable))
        .route(CALLBACK_PATH, get(callback))
}

/// `/settings/connectors`.
async fn connectors(State(app): State<App>, v: Visitor) -> Page {
    let tile = app.lms.tile(PLATFORM)?;
    let disabled = app.lms.connector_disabled(PLATFORM)?;
    let alerts = alerts(&app.lms)?;
    let tile_json = serde_json::to_string(&tile)?;
    let body = html! {
        (crumbs(&["Settings", "Connectors"]))
        h1 { "Connectors" }
        @if !v.is_admin() {
            p.note {
                "You are acting as " (v.me.display_name) " (" (v.me.role) "). "
                "Only platform admins can activate or deactivate connectors."
            }
        }
        @if tile == Tile::Unavailable {
            p.card.muted #no-connectors {
                "No connector is available on this platform yet. The vendor makes connectors available; ask them \
                 for the Slack connector."
            }
        } @else {
            div.tiles { (tile_card(&tile, disabled.as_ref(), &v)) }
        }
        @if !alerts.is_empty() {
            h2 { "Alerts" }
            ul.card {
                @for (at, message) in &alerts {
                    li { time { (date(*at, &v.me.time_zone)) } ": " (message) }
                }
            }
        }
        script data-tile=(tile_json) { (PreEscaped(TILE_SCRIPT)) }
    };
    Ok(v.page(&app, Section::Connectors, "Connectors", body))
}

fn tile_card(tile: &Tile, disabled: Option<&Disabled>, v: &Visitor) -> Markup {
    let (badge, class) = match tile {
        Tile::Unavailable => unreachable!("no tile when unavailable"),
        Tile::Inactive(_) => ("Inactive", "inactive"),
        Tile::ApprovalRequested(_) => ("Approval requested", "pending"),
        Tile::Active(_) => ("Active", "active"),
        Tile::Disconnected(_) => ("Disconnected", "broken"),
    };
    let admin = v.is_admin();
    let activate = html! {
        form.inline method="post" action="/settings/connectors/slack/activate"
            target=[admin.then_some("_blank")] {
            (v.csrf_field())
            button.primary #activate type="submit" {
                "ACTIVATE"
                @if admin { span.visually-hidden { " (opens Slack in a new tab)" } }
            }
        }
    };
    let deactivate = html! {
        form.inline method="post" action="/settings/connectors/slack/deactivate" {
            (v.csrf_field())
            button.danger #deactivate type="submit" { "DEACTIVATE" }
        }
    };
    html! {
        section.card.tile aria-labelledby="slack-tile" {
            h2 #slack-tile { "Slack " span.badge.(class) #slack-state { (badge) } }
            @match tile {
                Tile::Inactive(None) => p {
                    "Send path and course invitations to your learners in Slack, as direct messages from the app."
                },
                Tile::Inactive(Some(err)) => p.flash.error role="alert" {
                    strong { "The last activation did not complete:" } " " (err)
                },
                Tile::ApprovalRequested(next) => p { strong { "What to do next:" } " " (next) },
                Tile::Active(ws) => p {
                    "Connected to the Slack workspace " strong.workspace { (ws) } ". Learners whose e-mail address \
                     is the same in the LMS and in Slack receive their invitations from the app."
                },
                Tile::Disconnected(reason) => {
                    p.flash.error role="alert" { strong { "The integration stopped working:" } " " (reason) }
                    p { "Click ACTIVATE to connect again." }
                },
                Tile::Unavailable => {},
            }
            @if let Some(d) = disabled {
                div.flash.error #disabled role="alert" {
                    p {
                        strong { "Disabled:" } " " (d.reason) " (since " time { (date(d.since, &v.me.time_zone)) }
                        "). Nothing is sent to Slack until it is re-enabled; the connector log has the errors."
                    }
                    @if admin {
                        form.inline method="post" action="/settings/connectors/slack/enable" {
                            (v.csrf_field())
                            button.primary #enable type="submit" { "Re-enable" }
                        }
                        " "
                        span.muted { "once the cause is fixed." }
                    } @else {
                        p.muted { "A platform admin can re-enable it." }
                    }
                }
            }
            div.actions {
                @match tile {
                    Tile::Active(_) => (deactivate),
                    Tile::Disconnected(_) => { (activate) (deactivate) },
                    _ => (activate),
                }
            }
            @if admin && matches!(tile, Tile::Inactive(_)) {
                form.requested method="post" action="/settings/connectors/slack/requested" {
                    (v.csrf_field())
                    p.muted {
                        "Did Slack show a request form instead of Allow (a workspace that restricts app installs)? \
                         Submit the request there, then: "
                        button #requested type="submit" { "I requested the app in Slack" }
                    }
                }
            }
            @if admin && !matches!(tile, Tile::Active(_)) {
                p.muted {
                    "ACTIVATE opens Slack in a new tab: sign in, click Allow, and that tab comes back here."
                }
            }
        }
    }
}

/// The platform's latest alerts, newest first.
fn alerts(lms: &Lms) -> Result<Vec<(i64, String)>> {
    let conn = lms.db().conn();
    let mut stmt = conn.prepare(
        "SELECT at, message FROM alerts WHERE platform_id = ?1 ORDER BY seq DESC LIMIT 5",
    )?;
    let rows = stmt.query_map([PLATFORM], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// `/settings/connectors/slack/tile`: the tile's state, which the page's script compares.
async fn tile_json(State(app): State<App>, _signed_in: Visitor) -> Page {
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

/// Back to the settings page, saying how an action went.
fn to_settings<T>(outcome: Result<T>, done: &str) -> Response {
    see_other(SETTINGS, Some(Flash::of(outcome, |_| done.into())))
}

/// `POST …/activate`: on to Slack's consent page, with the activation bound to this browser's session. A consent
/// page outside the connector's granted origins is refused, and the admin stays here.
async fn activate(State(app): State<App>, v: Visitor) -> Page {
    let callback = format!("{}{CALLBACK_PATH}", app.base);
    Ok(
        match app
            .lms
            .start_activation_in(PLATFORM, &v.me.id, &callback, &v.browser.hash())
            .await
        {
            Ok(url) => see_other(&url, None),
            Err(e) => see_other(SETTINGS, Some(Flash::Error(format!("{e:#}")))),
        },
    )
}

/// The OAuth callback: completes the activation started in this browser's session and shows the settings page. A
/// state that does not hold (unknown, used, expired, another browser's) changes nothing: an error page says why.
async fn callback(State(app): State<App>, headers: HeaderMap, RawQuery(q): RawQuery) -> Page {
    let query: Vec<(String, String)> = form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let Some(browser) = BrowserId::from_headers(&headers) else {
        return Ok(refused_callback(&CallbackRefused::OtherBrowser));
    };
    let flash = match app
        .lms
        .complete_activation_in(PLATFORM, &query, &browser.hash())
        .await
    {
        Ok(Tile::Active(ws)) => Flash::Ok(format!("Slack is active: connected to {ws}.")),
        Ok(Tile::ApprovalRequested(_)) => Flash::Ok(
            "The app was requested: an app manager of the Slack workspace must approve it.".into(),
        ),
        Ok(_) => Flash::Error("The activation did not complete: the Slack tile says why.".into()),
        Err(e) => match e.downcast_ref::<CallbackRefused>() {
            Some(refused) => return Ok(refused_callback(refused)),
            None => Flash::Error(format!("The activation failed: {e:#}")),
        },
    };
    Ok(see_other(SETTINGS, Some(flash)))
}

/// The page of a refused activation callback.
fn refused_callback(why: &CallbackRefused) -> Response {
    let fr = match why {
        CallbackRefused::Unknown => {
            "Ce lien d'activation n'est pas valable ou a déjà servi. Cliquez à nouveau sur ACTIVER."
        }
        CallbackRefused::OtherBrowser => {
            "Cette activation a commencé dans une autre session du navigateur. Cliquez à nouveau sur ACTIVER ici."
        }
        CallbackRefused::Expired => "Ce lien d'activation a expiré. Cliquez à nouveau sur ACTIVER.",
    };
    plain_page(
        StatusCode::BAD_REQUEST,
        ("Activation refused", "Activation refusée"),
        (
            &format!("{why} Nothing was changed."),
            &format!("{fr} Rien n'a été changé."),
        ),
    )
}

/// `POST …/requested`: the admin says they requested the app in a workspace that restricts installs.
async fn requested(State(app): State<App>, v: Visitor) -> Page {
    Ok(to_settings(
        app.lms.approval_requested(PLATFORM, &v.me.id),
        "Noted: the app waits for an app manager's approval in Slack.",
    ))
}

/// `POST …/enable`: an admin re-enables the connector that repeated failures disabled (audited).
async fn enable(State(app): State<App>, v: Visitor) -> Page {
    let flash = match app.lms.enable_connector(PLATFORM, &v.me.id) {
        Ok(true) => Flash::Ok("Slack is enabled again: the next deliveries go out.".into()),
        Ok(false) => Flash::Ok("Slack was not disabled: nothing changed.".into()),
        Err(e) => Flash::Error(format!("{e:#}")),
    };
    Ok(see_other(SETTINGS, Some(flash)))
}

/// `POST …/deactivate`.
async fn deactivate(State(app): State<App>, v: Visitor) -> Page {
    Ok(to_settings(
        app.lms.deactivate(PLATFORM, &v.me.id).await,
        "Slack is deactivated: the app's conversations are hidden in Slack and nothing more is sent.",
    ))
}
