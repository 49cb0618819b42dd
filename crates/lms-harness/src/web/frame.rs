//! The page layout: the harness bar (who is signed in, switching user, signing out, the link to the simulated Slack), the platform's header and
//! navigation, the flash message. Templates are maud: values are
//! escaped unless marked pre-escaped.

use super::flash::Flash;
use super::urls;
use lms::db::Role;
use lms::db::User;
use lms::lang::Lang;
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The name of the hidden field that carries the browser's CSRF token in every form (checked by `csrf::guard`).
pub(super) const CSRF_FIELD: &str = "csrf";

/// The hidden field every form of the pages carries.
pub(super) fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// The pages' style sheet.
const CSS: &str = include_str!("../assets/lms.css");
/// The script of the user switch: submits on change (the button stays for browsers without scripts).
const ACT_AS_SCRIPT: &str = include_str!("../assets/act-as.js");

/// Which section of the site a page belongs to (for `aria-current`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    /// Settings → Connectors.
    Connectors,
    /// Paths and sessions.
    Paths,
    /// Notifications and their delivery logs.
    Deliveries,
    /// Personal settings → Notifications.
    MyNotifications,
    /// Anything else.
    None,
}

/// Everything the layout needs.
pub(super) struct Frame<'a> {
    /// The user signed in.
    pub me: &'a User,
    /// Everyone the visitor may switch to.
    pub users: &'a [User],
    /// The platform's name.
    pub platform_name: &'a str,
    /// The simulated Slack's base URL.
    pub slack: &'a super::SlackMode,
    /// This page's path and query, to come back to after switching user.
    pub here: &'a str,
    /// The browser's CSRF token, for the header's forms.
    pub csrf: &'a str,
    /// The status message to show, if any.
    pub flash: Option<&'a Flash>,
    /// The language of the page (the visitor's).
    pub lang: Lang,
}

/// A role as the pages name it.
pub(super) fn role_label(role: Role, lang: Lang) -> &'static str {
    match role {
        Role::Admin => lang.pick("platform admin", "admin de la plateforme"),
        Role::Author => lang.pick("author", "auteur"),
        Role::Learner => lang.pick("learner", "apprenant"),
    }
}

/// The language switch: one button per other language, each named in itself; it sets the visitor's locale.
fn language_switch(frame: &Frame<'_>) -> Markup {
    html! {
        form.lang method="post" action=(LANGUAGE) {
            (csrf_field(frame.csrf))
            input type="hidden" name="return_to" value=(frame.here);
            @for l in Lang::ALL.into_iter().filter(|l| *l != frame.lang) {
                button #language type="submit" name="lang" value=(l.tag()) lang=(l.tag()) { (l.autonym()) }
            }
        }
    }
}

/// Where the language switch posts.
pub(super) const LANGUAGE: &str = "/me/language";

/// A whole page.
pub(super) fn page(frame: &Frame<'_>, section: Section, title: &str, body: Markup) -> Markup {
    let me = frame.me;
    let t = |en, fr| frame.lang.pick(en, fr);
    let link = |s: Section, href: &str, label: &str| {
        html! {
            li { a href=(href) aria-current=[(s == section).then_some("page")] { (label) } }
        }
    };
    let is_author = me.role.is_author();
    html! {
        (DOCTYPE)
        html lang=(frame.lang.tag()) {
            (head(title, frame.platform_name, true))
            body {
                a.skip href="#main" { (t("Skip to content", "Aller au contenu")) }
                div.harness role="region" aria-label=(t("Harness", "Banc d'essai")) {
                    span.muted-light { (t("Simulated LMS", "LMS simulé")) }
                    form.actas method="post" action="/sign-in" {
                        (csrf_field(frame.csrf))
                        label for="act-as" { (t("Signed in as:", "Connecté en tant que :")) }
                        select #act-as name="user" {
                            @for u in frame.users {
                                option value=(u.id) selected[u.id == me.id] {
                                    (u.display_name) " (" (role_label(u.role, frame.lang)) ")"
                                }
                            }
                        }
                        input type="hidden" name="return_to" value=(frame.here);
                        button type="submit" { (t("Switch", "Changer")) }
                    }
                    form.signout method="post" action="/sign-out" {
                        (csrf_field(frame.csrf))
                        button #sign-out type="submit" { (t("Sign out", "Se déconnecter")) }
                    }
                    (language_switch(frame))
                    @match frame.slack {
                        super::SlackMode::Simulated(url) => {
                            a href={ (url) "/_sim/" } target="_blank" rel="noopener" {
                                (t("Open simulated Slack", "Ouvrir le Slack simulé"))
                                span.visually-hidden { (t(" (opens in a new tab)", " (s'ouvre dans un nouvel onglet)")) }
                            }
                        }
                        super::SlackMode::Live(client_id) => {
                            span #slack-mode { (t("Live Slack, app ", "Slack réel, application ")) (client_id) }
                        }
                    }
                }
                header.top {
                    a.brand href="/" { img src=(urls::LOGO) alt=""; (frame.platform_name) }
                    nav.main aria-label=(t("Main", "Principale")) {
                        ul {
                            @if me.role == Role::Admin {
                                (link(Section::Connectors, "/settings/connectors", t("Settings → Connectors", "Paramètres → Connecteurs")))
                            }
                            @if is_author {
                                (link(Section::Paths, "/paths", t("Paths & sessions", "Parcours et sessions")))
                                (link(Section::Deliveries, "/notifications", t("Delivery log", "Journal des envois")))
                            }
                            (link(Section::MyNotifications, "/me/notifications", t("My notifications", "Mes notifications")))
                        }
                    }
                }
                main #main {
                    (flash_message(frame.flash))
                    (body)
                }
            }
        }
    }
}

/// A page for a visitor nobody is signed in as: the platform's header without navigation or harness bar.
pub(super) fn signed_out_page(
    platform_name: &str,
    lang: Lang,
    flash: Option<&Flash>,
    title: &str,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            (head(title, platform_name, false))
            body {
                header.top {
                    a.brand href="/" { img src=(urls::LOGO) alt=""; (platform_name) }
                }
                main #main {
                    (flash_message(flash))
                    (body)
                }
            }
        }
    }
}

/// The `<head>` of the site's pages; `act_as` adds the script of the "Signed in as" switch.
fn head(title: &str, platform_name: &str, act_as: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " – " (platform_name) }
            link rel="icon" href=(urls::LOGO);
            style { (PreEscaped(CSS)) }
            @if act_as {
                script { (PreEscaped(ACT_AS_SCRIPT)) }
            }
        }
    }
}

/// The flash message above a page's body, if any.
fn flash_message(flash: Option<&Flash>) -> Markup {
    html! {
        @match flash {
            Some(Flash::Ok(m)) => p.flash.ok role="status" { (m) },
            Some(Flash::Error(m)) => p.flash.error role="alert" { (m) },
            None => {},
        }
    }
}

/// The breadcrumb trail above a page's heading.
pub(super) fn crumbs(items: &[&str]) -> Markup {
    html! {
        nav.crumbs aria-label="Breadcrumb" {
            ol { @for i in items { li { (i) } } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let me = User {
            id: "u\"1".into(),
            email: "e@x".into(),
            display_name: "<b>Eve</b> & co".into(),
            locale: "en".into(),
            time_zone: "UTC".into(),
            role: Role::Learner,
        };
        let frame = Frame {
            me: &me,
            users: std::slice::from_ref(&me),
            platform_name: "Acme",
            slack: &super::super::SlackMode::Simulated("http://127.0.0.1:1".into()),
            here: "/x?a=\"b\"",
            csrf: "t\"0",
            flash: Some(&Flash::Error("<script>".into())),
            lang: Lang::En,
        };
        let out = page(&frame, Section::None, "T<", html! { "body" }).into_string();
        assert!(out.contains(r#"<option value="u&quot;1" selected>&lt;b&gt;Eve&lt;/b&gt; &amp; co (learner)</option>"#));
        assert!(out.contains(r#"value="/x?a=&quot;b&quot;""#));
        assert_eq!(
            out.matches(r#"<input type="hidden" name="csrf" value="t&quot;0">"#)
                .count(),
            3,
            "the header's forms carry the token"
        );
        assert!(out.contains(r#"<p class="flash error" role="alert">&lt;script&gt;</p>"#));
        assert!(out.contains("<title>T&lt; – Acme</title>"));
        assert!(
            !out.contains("Settings → Connectors"),
            "no admin link for a learner"
        );
        assert!(out.contains(r#"<html lang="en">"#));
        assert!(out.contains(r#"value="fr" lang="fr">Français</button>"#));
    }

    #[test]
    fn a_french_visitor_gets_the_frame_in_french() {
        let me = User {
            id: "a".into(),
            email: "e@x".into(),
            display_name: "Ada".into(),
            locale: "fr-CA".into(),
            time_zone: "UTC".into(),
            role: Role::Admin,
        };
        let frame = Frame {
            me: &me,
            users: std::slice::from_ref(&me),
            platform_name: "Acme",
            slack: &super::super::SlackMode::Simulated("http://127.0.0.1:1".into()),
            here: "/",
            csrf: "t",
            flash: None,
            lang: Lang::Fr,
        };
        let out = page(&frame, Section::Connectors, "T", html! {}).into_string();
        assert!(out.contains(r#"<html lang="fr">"#));
        assert!(out.contains("Paramètres → Connecteurs"));
        assert!(out.contains("Ada (admin de la plateforme)"));
        assert!(out.contains(r#"value="en" lang="en">English</button>"#));
        assert!(!out.contains("Sign out"));
    }

    #[test]
    fn the_frame_says_which_slack_the_site_talks_to() {
        let me = User {
            id: "a".into(),
            email: "e@x".into(),
            display_name: "Ada".into(),
            locale: "en".into(),
            time_zone: "UTC".into(),
            role: Role::Admin,
        };
        let render = |slack: &super::super::SlackMode| {
            let frame = Frame {
                me: &me,
                users: std::slice::from_ref(&me),
                platform_name: "Acme",
                slack,
                here: "/",
                csrf: "t",
                flash: None,
                lang: Lang::En,
            };
            page(&frame, Section::None, "T", html! {}).into_string()
        };
        let simulated = render(&super::super::SlackMode::Simulated(
            "http://127.0.0.1:1".into(),
        ));
        assert!(simulated.contains(r#"href="http://127.0.0.1:1/_sim/""#));
        assert!(simulated.contains("Open simulated Slack"));
        let live = render(&super::super::SlackMode::Live("1234.5678".into()));
        assert!(
            live.contains(r#"<span id="slack-mode">Live Slack, app 1234.5678</span>"#),
            "{live}"
        );
        assert!(!live.contains("simulated"));
    }
}
