//! The vendor console: the LMS vendor's switch (M1) that makes the Slack connector available on each platform or
//! not. The tile appears on Settings → Connectors when it is made available and disappears when it is not; where the
//! integration is connected, making it unavailable deactivates it first, after a confirmation page that says so.
//!
//! Who sees it: the vendor is not a user of any platform, and this harness has no vendor accounts (nor passwords:
//! whoever reaches the pages can act as anyone). So the console is a page of its own, under a banner saying whose side
//! it is, reached by the harness's platform admins only (learners and authors are refused), and every switch is
//! audited on the platform it changes, with who used the console. `lms-harness vendor` does the same from the command
//! line.

use crate::web::errors::Page;
use crate::web::flash::{Flash, see_other};
use crate::web::format::url_enc;
use crate::web::frame::{Section, crumbs};
use crate::web::identity::Visitor;
use crate::web::pages::connectors::deactivation_effects;
use crate::web::{App, forms};
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use lms::integration::{PlatformConnector, Switch, Tile, platforms};
use lms::lang::Lang;
use maud::{Markup, html};

/// The console's page.
const CONSOLE: &str = "/vendor";

/// The routes of the console and its switches.
pub(in crate::web) fn routes() -> Router<App> {
    Router::new()
        .route(CONSOLE, get(console))
        .route("/vendor/slack/{platform}/enable", post(enable))
        .route(
            "/vendor/slack/{platform}/disable",
            get(confirm_disable).post(disable),
        )
}

/// The banner of every console page: whose side this is, and why a platform admin reaches it here.
fn banner(v: &Visitor) -> Markup {
    html! {
        div.note #vendor-banner role="note" {
            strong { (v.t("Vendor console", "Console de l'éditeur")) } " — "
            (v.t("the LMS vendor's side, not a platform's: it decides which platforms may use the Slack connector. \
                  This harness has no vendor accounts, so its platform admins reach it here; in a real LMS, only the \
                  vendor's staff would.",
                 "le côté de l'éditeur du LMS, pas celui d'une plateforme : elle décide quelles plateformes peuvent \
                  utiliser le connecteur Slack. Ce banc d'essai n'a pas de comptes d'éditeur, ses admins de \
                  plateforme y accèdent donc ici ; dans un vrai LMS, seule l'équipe de l'éditeur y aurait accès."))
        }
    }
}

/// The page a learner or an author gets instead of the console.
fn refused(app: &App, v: &Visitor) -> Response {
    let title = v.t("Vendor console", "Console de l'éditeur");
    let body = html! {
        h1 { (title) }
        p.flash.error role="alert" {
            (v.t("Only the vendor's staff use this console; in this harness, platform admins stand in for them.",
                 "Seule l'équipe de l'éditeur utilise cette console ; dans ce banc d'essai, les admins de la plateforme \
                  la remplacent."))
        }
    };
    let mut r = v.page(app, Section::None, title, body);
    *r.status_mut() = StatusCode::FORBIDDEN;
    r
}

/// Who switched, as the audit log records it.
fn actor(v: &Visitor) -> String {
    format!("vendor console, used by {}", v.me.id)
}

/// The integration's state as the console names it.
fn state(tile: &Tile, lang: Lang) -> String {
    match (tile, lang) {
        (Tile::Unavailable, _) => lang.pick("unavailable", "indisponible").into(),
        (Tile::Inactive(_), _) => "inactive".into(),
        (Tile::ApprovalRequested(_), _) => lang
            .pick(
                "approval requested in Slack",
                "approbation demandée dans Slack",
            )
            .into(),
        (Tile::Active(ws), Lang::En) => format!("active, connected to {ws}"),
        (Tile::Active(ws), Lang::Fr) => format!("active, connectée à {ws}"),
        (Tile::Disconnected(_), _) => lang.pick("disconnected", "déconnectée").into(),
    }
}

/// `/vendor`: every platform with the Slack connector's availability and its integration's state.
async fn console(State(app): State<App>, v: Visitor) -> Page {
    if !v.is_admin() {
        return Ok(refused(&app, &v));
    }
    let connector = app.lms.sandbox().connector_id();
    let rows = platforms(app.lms.db(), connector)?;
    let title = v.t("Vendor console", "Console de l'éditeur");
    let body = html! {
        (banner(&v))
        (crumbs(&[title, v.t("Slack connector", "Connecteur Slack")]))
        h1 { (title) ": " (v.t("the Slack connector per platform", "le connecteur Slack par plateforme")) }
        p {
            (v.t("Available: the platform's admins see the Slack tile on Settings → Connectors and may activate it. \
                  Not available: no tile. Making it unavailable where the integration is connected deactivates it \
                  first (you confirm it on the next page).",
                 "Disponible : les admins de la plateforme voient la tuile Slack dans Paramètres → Connecteurs et \
                  peuvent l'activer. Indisponible : pas de tuile. Le rendre indisponible là où l'intégration est \
                  connectée la désactive d'abord (vous le confirmez à la page suivante)."))
        }
        div {
            table #platforms {
                thead {
                    tr {
                        th scope="col" { (v.t("Platform", "Plateforme")) }
                        th scope="col" { (v.t("Slack connector", "Connecteur Slack")) }
                        th scope="col" { (v.t("Integration", "Intégration")) }
                        th scope="col" { (v.t("Switch", "Interrupteur")) }
                    }
                }
                tbody {
                    @for p in &rows {
                        tr data-platform=(p.platform_id) {
                            td { (p.name) " " span.muted { "(" (p.platform_id) ")" } }
                            td.availability {
                                @if p.available { (v.t("Available", "Disponible")) }
                                @else { (v.t("Not available", "Indisponible")) }
                            }
                            td.state { (state(&p.state, v.lang)) }
                            td { (switch_form(&v, p)) }
                        }
                    }
                }
            }
        }
        @if rows.is_empty() {
            p.muted { (v.t("No platform yet.", "Aucune plateforme pour l'instant.")) }
        }
    };
    Ok(v.page(&app, Section::None, title, body))
}

/// Where a platform's switch posts: `/vendor/slack/{platform}/{action}`.
fn switch_url(platform_id: &str, action: &str) -> String {
    format!("/vendor/slack/{}/{action}", url_enc(platform_id))
}

/// The switch of a platform: Enable at once; Disable through its confirmation page.
fn switch_form(v: &Visitor, p: &PlatformConnector) -> Markup {
    let label = |en: &str, fr: &str| match v.lang {
        Lang::En => format!("{en} on {}", p.name),
        Lang::Fr => format!("{fr} sur {}", p.name),
    };
    html! {
        @if p.available {
            form.inline method="get" action=(switch_url(&p.platform_id, "disable")) {
                button.danger type="submit" aria-label=(label("Make Slack unavailable", "Rendre Slack indisponible")) {
                    (v.t("Make unavailable", "Rendre indisponible"))
                }
            }
        } @else {
            form.inline method="post" action=(switch_url(&p.platform_id, "enable")) {
                (v.csrf_field())
                button.primary type="submit" aria-label=(label("Make Slack available", "Rendre Slack disponible")) {
                    (v.t("Make available", "Rendre disponible"))
                }
            }
        }
    }
}

/// The platform `id`, or the console with an error saying there is none.
fn find(app: &App, v: &Visitor, id: &str) -> anyhow::Result<Result<PlatformConnector, Response>> {
    let connector = app.lms.sandbox().connector_id();
    Ok(platforms(app.lms.db(), connector)?
        .into_iter()
        .find(|p| p.platform_id == id)
        .ok_or_else(|| {
            let none = match v.lang {
                Lang::En => format!("There is no platform {id}."),
                Lang::Fr => format!("Il n'y a pas de plateforme {id}."),
            };
            see_other(CONSOLE, Some(Flash::Error(none)))
        }))
}

/// What the switch did, as the console's message says it.
fn switched(v: &Visitor, name: &str, switch: Switch) -> String {
    match (switch, v.lang) {
        (Switch::Unchanged, Lang::En) => {
            format!("Nothing changed on {name}: Slack already was so.")
        }
        (Switch::Unchanged, Lang::Fr) => {
            format!("Rien n'a changé sur {name} : Slack l'était déjà.")
        }
        (Switch::MadeAvailable, Lang::En) => {
            format!("Slack is available on {name}: its admins see the Slack tile.")
        }
        (Switch::MadeAvailable, Lang::Fr) => {
            format!("Slack est disponible sur {name} : ses admins voient la tuile Slack.")
        }
        (Switch::MadeUnavailable, Lang::En) => {
            format!(
                "Slack is no longer available on {name}: its admins no longer see the Slack tile."
            )
        }
        (Switch::MadeUnavailable, Lang::Fr) => format!(
            "Slack n'est plus disponible sur {name} : ses admins ne voient plus la tuile Slack."
        ),
        (Switch::DeactivatedAndMadeUnavailable, Lang::En) => format!(
            "Slack was deactivated on {name} (the app's conversations are hidden in Slack, nothing more is sent) and \
             is no longer available there."
        ),
        (Switch::DeactivatedAndMadeUnavailable, Lang::Fr) => format!(
            "Slack a été désactivé sur {name} (les conversations de l'app sont masquées dans Slack, plus rien n'est \
             envoyé) et n'y est plus disponible."
        ),
    }
}

/// `POST /vendor/slack/{platform}/enable`.
async fn enable(State(app): State<App>, v: Visitor, Path(id): Path<String>) -> Page {
    if !v.is_admin() {
        return Ok(refused(&app, &v));
    }
    let p = match find(&app, &v, &id)? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let outcome = app
        .lms
        .switch_availability(&id, true, &actor(&v), false)
        .await;
    Ok(see_other(
        CONSOLE,
        Some(Flash::of(outcome, |s| switched(&v, &p.name, s))),
    ))
}

/// `GET /vendor/slack/{platform}/disable`: what making Slack unavailable there will do, with the button that does
/// it and a way back.
async fn confirm_disable(State(app): State<App>, v: Visitor, Path(id): Path<String>) -> Page {
    if !v.is_admin() {
        return Ok(refused(&app, &v));
    }
    let p = match find(&app, &v, &id)? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let title = match v.lang {
        Lang::En => format!("Make Slack unavailable on {}?", p.name),
        Lang::Fr => format!("Rendre Slack indisponible sur {} ?", p.name),
    };
    let workspace = match &p.state {
        Tile::Active(ws) => Some(ws.as_str()),
        _ => None,
    };
    let body = html! {
        (banner(&v))
        (crumbs(&[v.t("Vendor console", "Console de l'éditeur"), p.name.as_str()]))
        h1 { (title) }
        section.card #confirm aria-labelledby="what-happens" {
            h2 #what-happens { (v.t("What will happen", "Ce qui va se passer")) }
            @if p.connected() {
                p #deactivates {
                    (v.t("The integration is connected: it is deactivated first, as its admins' DEACTIVATE does.",
                         "L'intégration est connectée : elle est d'abord désactivée, comme le fait DÉSACTIVER de ses \
                          admins."))
                }
                (deactivation_effects(&v, workspace))
            }
            p {
                (v.t("The platform's admins no longer see the Slack tile and cannot activate it.",
                     "Les admins de la plateforme ne voient plus la tuile Slack et ne peuvent plus l'activer."))
                @if !p.connected() {
                    " "
                    (v.t("The integration's state is kept: the tile comes back as it was when Slack is made \
                          available again.",
                         "L'état de l'intégration est conservé : la tuile revient telle quelle quand Slack est de \
                          nouveau rendu disponible."))
                }
            }
            form.inline method="post" action=(switch_url(&p.platform_id, "disable")) {
                (v.csrf_field())
                input type="hidden" name="confirm" value="yes";
                button.danger #confirm-disable type="submit" {
                    @if p.connected() { (v.t("Yes, deactivate and make unavailable", "Oui, désactiver et rendre indisponible")) }
                    @else { (v.t("Yes, make unavailable", "Oui, rendre indisponible")) }
                }
            }
            " "
            a.button #keep href=(CONSOLE) { (v.t("No, keep it available", "Non, le garder disponible")) }
        }
    };
    Ok(v.page(&app, Section::None, &title, body))
}

/// `POST /vendor/slack/{platform}/disable` from the confirmation page (`confirm=yes`, which also confirms the
/// deactivation of a connected integration); without it, the confirmation page first.
async fn disable(
    State(app): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(form): Form<forms::Fields>,
) -> Page {
    if !v.is_admin() {
        return Ok(refused(&app, &v));
    }
    let p = match find(&app, &v, &id)? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    if forms::value(&form, "confirm") != "yes" {
        return Ok(see_other(&switch_url(&p.platform_id, "disable"), None));
    }
    let outcome = app
        .lms
        .switch_availability(&id, false, &actor(&v), true)
        .await;
    Ok(see_other(
        CONSOLE,
        Some(Flash::of(outcome, |s| switched(&v, &p.name, s))),
    ))
}
