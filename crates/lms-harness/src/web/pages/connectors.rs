//! Settings → Connectors: the Slack tile (ACTIVATE opens Slack's consent page in a new tab, the OAuth callback
//! brings that tab back here; DEACTIVATE asks for confirmation first; a waiting app request can be cancelled; a
//! connector disabled after repeated failures says why, with Re-enable), the platform's reminders before a session
//! ([`super::reminders`]), the platform's alerts, and the tile's state as JSON for the page's refresh script. Only
//! platform admins see the buttons and forms: others see the tile and the reminders, read-only.

use super::reminders;
use crate::web::errors::{Page, plain_page};
use crate::web::flash::{Flash, see_other};
use crate::web::format::date;
use crate::web::frame::{Section, crumbs, role_label};
use crate::web::identity::Visitor;
use crate::web::session::{self, BrowserId};
use crate::web::{App, CALLBACK_PATH, PLATFORM, forms};
use anyhow::Result;
use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use connector_host::store::Disabled;
use http::{HeaderMap, StatusCode, header};
use lms::db::now;
use lms::integration::{APPROVAL_NEXT_STEP, CallbackRefused, Lms, Tile};
use lms::lang::Lang;
use maud::{Markup, PreEscaped, html};

/// Re-reads the tile every two seconds while the page is visible, and reloads the page when it changed (the
/// activation finishes in another tab).
const TILE_SCRIPT: &str = include_str!("../../assets/tile-refresh.js");

/// The settings page, where every action here comes back to.
const SETTINGS: &str = "/settings/connectors";
/// DEACTIVATE: its confirmation page (GET) and the confirmed action (POST).
const DEACTIVATE: &str = "/settings/connectors/slack/deactivate";

/// The routes of the settings page, its actions and the OAuth callback.
pub(in crate::web) fn routes() -> Router<App> {
    Router::new()
        .route(SETTINGS, get(connectors))
        .route("/settings/connectors/slack/tile", get(tile_json))
        .route("/settings/connectors/slack/activate", post(activate))
        .route(DEACTIVATE, get(confirm_deactivate).post(deactivate))
        .route("/settings/connectors/slack/requested", post(requested))
        .route(
            "/settings/connectors/slack/cancel-request",
            post(cancel_request),
        )
        .route("/settings/connectors/slack/enable", post(enable))
        .route(CALLBACK_PATH, get(callback))
}

/// `/settings/connectors`.
async fn connectors(State(app): State<App>, v: Visitor) -> Page {
    let tile = app.lms.tile(PLATFORM)?;
    let disabled = app.lms.connector_disabled(PLATFORM)?;
    let alerts = alerts(&app.lms)?;
    let rules = lms::reminders::rules(app.lms.db(), PLATFORM)?;
    let tile_json = serde_json::to_string(&tile)?;
    let title = v.t("Connectors", "Connecteurs");
    let body = html! {
        (crumbs(&[v.t("Settings", "Paramètres"), title]))
        h1 { (title) }
        @if !v.is_admin() {
            p.note #read-only {
                (v.t("You are acting as ", "Vous agissez en tant que ")) (v.me.display_name)
                " (" (role_label(v.me.role, v.lang)) "). "
                (v.t("Only platform admins can activate or deactivate connectors.",
                     "Seuls les admins de la plateforme peuvent activer ou désactiver les connecteurs."))
            }
        }
        @if tile == Tile::Unavailable {
            p.card.muted #no-connectors {
                (v.t("No connector is available on this platform yet. The vendor makes connectors available; ask \
                      them for the Slack connector.",
                     "Aucun connecteur n'est encore disponible sur cette plateforme. C'est l'éditeur du LMS qui rend \
                      les connecteurs disponibles : demandez-lui le connecteur Slack."))
            }
        } @else {
            div.tiles { (tile_card(&tile, disabled.as_ref(), &v)) }
            (reminders::card(&v, &rules))
        }
        @if !alerts.is_empty() {
            h2 { (v.t("Alerts", "Alertes")) }
            ul.card {
                @for (at, message) in &alerts {
                    li { time { (date(*at, &v.me.time_zone)) } (v.t(": ", " : ")) (message) }
                }
            }
        }
        @if v.is_admin() {
            p.muted #vendor-link {
                (v.t("Harness: the vendor's side (which platforms may use the Slack connector) is in the ",
                     "Banc d'essai : le côté de l'éditeur (quelles plateformes peuvent utiliser le connecteur Slack) \
                      est dans la "))
                a href="/vendor" { (v.t("vendor console", "console de l'éditeur")) } "."
            }
        }
        script data-tile=(tile_json) { (PreEscaped(TILE_SCRIPT)) }
    };
    Ok(v.page(&app, Section::Connectors, title, body))
}

/// The tile's badge: its text and style.
fn badge(tile: &Tile, lang: Lang) -> (&'static str, &'static str) {
    match tile {
        Tile::Unavailable => (lang.pick("Unavailable", "Indisponible"), "inactive"),
        Tile::Inactive(_) => (lang.pick("Inactive", "Inactif"), "inactive"),
        Tile::ApprovalRequested(_) => (
            lang.pick("Approval requested", "Approbation demandée"),
            "pending",
        ),
        Tile::Active(_) => (lang.pick("Active", "Actif"), "active"),
        Tile::Disconnected(_) => (lang.pick("Disconnected", "Déconnecté"), "broken"),
    }
}

/// What the tile says while an app request waits: the LMS's own words in the visitor's language, or the
/// connector's as it wrote them.
fn next_step(next: &str, lang: Lang) -> &str {
    if next != APPROVAL_NEXT_STEP {
        return next;
    }
    lang.pick(
        APPROVAL_NEXT_STEP,
        "Votre demande d'installation de l'app a été envoyée aux gestionnaires d'apps de votre espace de travail \
         Slack. Slack ne communique pas leur réponse au LMS : c'est Slackbot qui vous la donne, dans Slack. \
         Approuvée : cliquez de nouveau sur ACTIVER, puis sur Autoriser. Refusée : demandez-la de nouveau à vos \
         gestionnaires d'apps (ACTIVER affiche de nouveau le formulaire de demande de Slack), ou annulez la demande \
         ici.",
    )
}

fn tile_card(tile: &Tile, disabled: Option<&Disabled>, v: &Visitor) -> Markup {
    let (badge, class) = badge(tile, v.lang);
    let admin = v.is_admin();
    let activate = html! {
        form.inline method="post" action="/settings/connectors/slack/activate" target="_blank" {
            (v.csrf_field())
            button.primary #activate type="submit" {
                (v.t("ACTIVATE", "ACTIVER"))
                span.visually-hidden { (v.t(" (opens Slack in a new tab)", " (ouvre Slack dans un nouvel onglet)")) }
            }
        }
    };
    // A form that only leads to the confirmation page: it works without scripts.
    let deactivate = html! {
        form.inline method="get" action=(DEACTIVATE) {
            button.danger #deactivate type="submit" { (v.t("DEACTIVATE", "DÉSACTIVER")) }
        }
    };
    let cancel_request = html! {
        form.inline method="post" action="/settings/connectors/slack/cancel-request" {
            (v.csrf_field())
            button #cancel-request type="submit" { (v.t("Cancel request", "Annuler la demande")) }
        }
    };
    html! {
        section.card.tile aria-labelledby="slack-tile" {
            h2 #slack-tile { "Slack " span.badge.(class) #slack-state { (badge) } }
            @match tile {
                Tile::Inactive(None) => p {
                    (v.t("Send path and course invitations to your learners in Slack, as direct messages from the app.",
                         "Envoyez les invitations aux parcours et aux cours à vos apprenants dans Slack, en messages \
                          directs de l'app."))
                },
                Tile::Inactive(Some(err)) => p.flash.error role="alert" {
                    strong { (v.t("The last activation did not complete:", "La dernière activation n'a pas abouti :")) }
                    " " (err)
                },
                Tile::ApprovalRequested(next) => p #next-step {
                    strong { (v.t("What to do next:", "Et maintenant :")) } " " (next_step(next, v.lang))
                },
                Tile::Active(ws) => p {
                    (v.t("Connected to the Slack workspace ", "Connecté à l'espace de travail Slack "))
                    strong.workspace { (ws) } ". "
                    (v.t("Learners whose e-mail address is the same in the LMS and in Slack receive their invitations \
                          from the app.",
                         "Les apprenants dont l'adresse e-mail est la même dans le LMS et dans Slack reçoivent leurs \
                          invitations de l'app."))
                },
                Tile::Disconnected(reason) => {
                    p.flash.error role="alert" {
                        strong { (v.t("The integration stopped working:", "L'intégration ne fonctionne plus :")) }
                        " " (reason)
                    }
                    @if admin {
                        p { (v.t("Click ACTIVATE to connect again.", "Cliquez sur ACTIVER pour la reconnecter.")) }
                    }
                },
                Tile::Unavailable => {},
            }
            @if let Some(d) = disabled {
                div.flash.error #disabled role="alert" {
                    p {
                        strong { (v.t("Disabled:", "Désactivé :")) } " " (d.reason) " ("
                        (v.t("since ", "depuis le ")) time { (date(d.since, &v.me.time_zone)) } "). "
                        (v.t("Nothing is sent to Slack until it is re-enabled; the connector log has the errors.",
                             "Rien n'est envoyé à Slack tant qu'il n'est pas réactivé ; le journal du connecteur \
                              contient les erreurs."))
                    }
                    @if admin {
                        form.inline method="post" action="/settings/connectors/slack/enable" {
                            (v.csrf_field())
                            button.primary #enable type="submit" { (v.t("Re-enable", "Réactiver")) }
                        }
                        " "
                        span.muted { (v.t("once the cause is fixed.", "une fois la cause corrigée.")) }
                    } @else {
                        p.muted { (v.t("A platform admin can re-enable it.", "Un admin de la plateforme peut le réactiver.")) }
                    }
                }
            }
            @if admin {
                div.actions {
                    @match tile {
                        Tile::Active(_) => (deactivate),
                        Tile::Disconnected(_) => { (activate) " " (deactivate) },
                        Tile::ApprovalRequested(_) => { (activate) " " (cancel_request) },
                        _ => (activate),
                    }
                }
                @if matches!(tile, Tile::Inactive(_)) {
                    form.requested method="post" action="/settings/connectors/slack/requested" {
                        (v.csrf_field())
                        p.muted {
                            (v.t("Did Slack show a request form instead of Allow (a workspace that restricts app \
                                  installs)? Submit the request there, then: ",
                                 "Slack a affiché un formulaire de demande au lieu d'Autoriser (un espace de travail \
                                  qui restreint l'installation d'apps) ? Envoyez-y la demande, puis : "))
                            button #requested type="submit" {
                                (v.t("I requested the app in Slack", "J'ai demandé l'app dans Slack"))
                            }
                        }
                    }
                }
                @if !matches!(tile, Tile::Active(_)) {
                    p.muted {
                        (v.t("ACTIVATE opens Slack in a new tab: sign in, click Allow, and that tab comes back here.",
                             "ACTIVER ouvre Slack dans un nouvel onglet : connectez-vous, cliquez sur Autoriser, et \
                              cet onglet revient ici."))
                    }
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

/// The language of a request that comes without a [`Visitor`] (the OAuth callback): its session's user's, else
/// the browser's preferred one.
fn lang_of(app: &App, headers: &HeaderMap) -> Result<Lang> {
    let user = match BrowserId::from_headers(headers) {
        Some(b) => session::user_of(&app.lms, &b, now())?,
        None => None,
    };
    if let Some(u) = user.and_then(|id| app.lms.db().user(PLATFORM, &id).ok().flatten()) {
        return Ok(Lang::of_locale(&u.locale));
    }
    Ok(headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Lang::En, Lang::of_accept_language))
}

/// The OAuth callback: completes the activation started in this browser's session and shows the settings page. A
/// state that does not hold (unknown, used, expired, another browser's) changes nothing: an error page says why.
async fn callback(State(app): State<App>, headers: HeaderMap, RawQuery(q): RawQuery) -> Page {
    let lang = lang_of(&app, &headers)?;
    let query: Vec<(String, String)> = form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let Some(browser) = BrowserId::from_headers(&headers) else {
        return Ok(refused_callback(CallbackRefused::OtherBrowser));
    };
    let flash = match app
        .lms
        .complete_activation_in(PLATFORM, &query, &browser.hash())
        .await
    {
        Ok(Tile::Active(ws)) => Flash::Ok(match lang {
            Lang::En => format!("Slack is active: connected to {ws}."),
            Lang::Fr => format!("Slack est actif : connecté à {ws}."),
        }),
        Ok(Tile::ApprovalRequested(_)) => Flash::Ok(
            lang.pick(
                "The app was requested: an app manager of the Slack workspace must approve it.",
                "L'app a été demandée : un gestionnaire d'apps de l'espace de travail Slack doit l'approuver.",
            )
            .into(),
        ),
        Ok(_) => Flash::Error(
            lang.pick(
                "The activation did not complete: the Slack tile says why.",
                "L'activation n'a pas abouti : la tuile Slack dit pourquoi.",
            )
            .into(),
        ),
        Err(e) => match e.downcast_ref::<CallbackRefused>() {
            Some(refused) => return Ok(refused_callback(*refused)),
            None => Flash::Error(match lang {
                Lang::En => format!("The activation failed: {e:#}"),
                Lang::Fr => format!("L'activation a échoué : {e:#}"),
            }),
        },
    };
    Ok(see_other(SETTINGS, Some(flash)))
}

/// The page of a refused activation callback.
fn refused_callback(why: CallbackRefused) -> Response {
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
        v.t(
            "Noted: the app waits for an app manager's approval in Slack.",
            "C'est noté : l'app attend l'approbation d'un gestionnaire d'apps dans Slack.",
        ),
    ))
}

/// `POST …/cancel-request`: an admin stops waiting for the app request (audited); the tile is Inactive again.
async fn cancel_request(State(app): State<App>, v: Visitor) -> Page {
    Ok(to_settings(
        app.lms.cancel_request(PLATFORM, &v.me.id),
        v.t(
            "The request is cancelled here: Slack is inactive. Slack keeps the request until an App Manager \
             answers it; ACTIVATE starts again.",
            "La demande est annulée ici : Slack est inactif. Slack garde la demande jusqu'à ce qu'un gestionnaire \
             d'apps y réponde ; ACTIVER recommence.",
        ),
    ))
}

/// `POST …/enable`: an admin re-enables the connector that repeated failures disabled (audited).
async fn enable(State(app): State<App>, v: Visitor) -> Page {
    let flash = match app.lms.enable_connector(PLATFORM, &v.me.id) {
        Ok(true) => Flash::Ok(
            v.t(
                "Slack is enabled again: the next deliveries go out.",
                "Slack est de nouveau activé : les prochains envois partent.",
            )
            .into(),
        ),
        Ok(false) => Flash::Ok(
            v.t(
                "Slack was not disabled: nothing changed.",
                "Slack n'était pas désactivé : rien n'a changé.",
            )
            .into(),
        ),
        Err(e) => Flash::Error(format!("{e:#}")),
    };
    Ok(see_other(SETTINGS, Some(flash)))
}

/// What DEACTIVATE does, as its confirmation page says it.
pub(in crate::web) fn deactivation_effects(v: &Visitor, workspace: Option<&str>) -> Markup {
    html! {
        ul #effects {
            li {
                (v.t("Learners stop receiving messages from the app: invitations and \"Slack message\" steps due \
                      while Slack is inactive are not sent (the delivery log shows them as skipped).",
                     "Les apprenants ne reçoivent plus de messages de l'app : les invitations et les étapes « Message \
                      Slack » prévues tant que Slack est inactif ne sont pas envoyées (le journal des envois les \
                      montre comme ignorées)."))
            }
            li {
                (v.t("The app is removed from the Slack workspace", "L'app est retirée de l'espace de travail Slack"))
                @if let Some(ws) = workspace { " " strong { (ws) } }
                (v.t(" and its conversations with learners are hidden there; they come back if Slack is activated \
                      again.",
                     " et ses conversations avec les apprenants y sont masquées ; elles reviennent si Slack est de \
                      nouveau activé."))
            }
        }
    }
}

/// `GET …/deactivate`: what DEACTIVATE will do, with the button that does it and a way back.
async fn confirm_deactivate(State(app): State<App>, v: Visitor) -> Page {
    let title = v.t("Deactivate Slack?", "Désactiver Slack ?");
    if !v.is_admin() {
        let body = html! {
            h1 { (title) }
            p.flash.error role="alert" {
                (v.t("Only platform admins can deactivate connectors.",
                     "Seuls les admins de la plateforme peuvent désactiver les connecteurs."))
            }
            p { a href=(SETTINGS) { (v.t("Back to Connectors", "Retour aux connecteurs")) } }
        };
        let mut r = v.page(&app, Section::Connectors, title, body);
        *r.status_mut() = StatusCode::FORBIDDEN;
        return Ok(r);
    }
    let workspace = match app.lms.tile(PLATFORM)? {
        Tile::Active(ws) => Some(ws),
        Tile::Disconnected(_) => None,
        _ => {
            let nothing = v.t(
                "Slack is not active: there is nothing to deactivate.",
                "Slack n'est pas actif : il n'y a rien à désactiver.",
            );
            return Ok(see_other(SETTINGS, Some(Flash::Ok(nothing.into()))));
        }
    };
    let body = html! {
        (crumbs(&[v.t("Settings", "Paramètres"), v.t("Connectors", "Connecteurs"), title]))
        h1 { (title) }
        section.card #confirm aria-labelledby="what-happens" {
            h2 #what-happens { (v.t("What will happen", "Ce qui va se passer")) }
            (deactivation_effects(&v, workspace.as_deref()))
            form.inline method="post" action=(DEACTIVATE) {
                (v.csrf_field())
                input type="hidden" name="confirm" value="yes";
                button.danger #confirm-deactivate type="submit" {
                    (v.t("Yes, deactivate Slack", "Oui, désactiver Slack"))
                }
            }
            " "
            a.button #keep-active href=(SETTINGS) { (v.t("No, keep it active", "Non, le garder actif")) }
        }
    };
    Ok(v.page(&app, Section::Connectors, title, body))
}

/// `POST …/deactivate` from the confirmation page (`confirm=yes`); without it, the confirmation page first.
async fn deactivate(State(app): State<App>, v: Visitor, Form(form): Form<forms::Fields>) -> Page {
    if forms::value(&form, "confirm") != "yes" {
        return Ok(see_other(DEACTIVATE, None));
    }
    Ok(to_settings(
        app.lms.deactivate(PLATFORM, &v.me.id).await,
        v.t(
            "Slack is deactivated: the app's conversations are hidden in Slack and nothing more is sent.",
            "Slack est désactivé : les conversations de l'app sont masquées dans Slack et plus rien n'est envoyé.",
        ),
    ))
}
