//! The Slack app this connector needs, as a Slack app manifest (<https://docs.slack.dev/reference/app-manifest>):
//! exactly the bot scopes it asks for ([`crate::connector::SCOPES`]), the events it handles, the platform's URLs for
//! the OAuth redirect, the events and interactivity, and the Messages tab on (the app's DM with each learner is where
//! the invitations go; without it Slack answers `messages_tab_disabled`), and Slack's token rotation when the operator
//! wants it (the connector renews rotating tokens). An operator pastes it into Slack's "Create an app from a
//! manifest", or sends it to `apps.manifest.create`.
//!
//! Only for the host side (the component never builds it).

use crate::connector::SCOPES;
use serde_json::{Value, json};

/// The events the connector handles: the app removed from the workspace, and its token revoked.
pub const BOT_EVENTS: &[&str] = &["app_uninstalled", "tokens_revoked"];

/// Longest app name Slack accepts (`display_information.name`).
pub const MAX_NAME: usize = 35;

/// Where Slack reaches the platform: each an absolute `https` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUrls {
    /// The OAuth redirect URL (`oauth_config.redirect_urls`).
    pub redirect: String,
    /// The events request URL (`settings.event_subscriptions.request_url`).
    pub events: String,
    /// The interactivity request URL (`settings.interactivity.request_url`).
    pub interactivity: String,
}

/// Why a manifest cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestError {
    /// The app's name is empty or longer than [`MAX_NAME`] characters.
    Name(String),
    /// A URL Slack must reach is not an absolute `https` URL.
    NotHttps(String),
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManifestError::Name(name) => write!(
                f,
                "the app's name `{name}` must be 1 to {MAX_NAME} characters (Slack's limit)"
            ),
            ManifestError::NotHttps(url) => write!(
                f,
                "`{url}` is not an https URL: Slack sends OAuth redirects, events and interactivity only to https"
            ),
        }
    }
}

impl std::error::Error for ManifestError {}

/// The manifest of the app named `name` (also the bot's display name), reaching the platform at `urls`, with Slack's
/// token rotation on when `token_rotation` (the connector renews the bot token before it expires, and when a call
/// finds it expired).
pub fn app_manifest(
    name: &str,
    urls: &AppUrls,
    token_rotation: bool,
) -> Result<Value, ManifestError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ManifestError::Name(name.to_string()));
    }
    for url in [&urls.redirect, &urls.events, &urls.interactivity] {
        let https = url
            .strip_prefix("https://")
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !https {
            return Err(ManifestError::NotHttps(url.clone()));
        }
    }
    Ok(json!({
        "_metadata": { "major_version": 1, "minor_version": 1 },
        "display_information": {
            "name": name,
            "description": "Invitations to learning sessions, as direct messages from your learning platform.",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": false,
                "messages_tab_enabled": true,
                // Learners read their invitations there; the connector does not read what is written to it.
                "messages_tab_read_only_enabled": true,
            },
            "bot_user": { "display_name": name, "always_online": false },
        },
        "oauth_config": {
            "redirect_urls": [urls.redirect],
            "scopes": { "bot": SCOPES },
        },
        "settings": {
            "event_subscriptions": { "request_url": urls.events, "bot_events": BOT_EVENTS },
            "interactivity": { "is_enabled": true, "request_url": urls.interactivity },
            "org_deploy_enabled": false,
            "socket_mode_enabled": false,
            "token_rotation_enabled": token_rotation,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(base: &str) -> AppUrls {
        AppUrls {
            redirect: format!("{base}/connectors/slack/callback"),
            events: format!("{base}/slack/acme/events"),
            interactivity: format!("{base}/slack/acme/interactivity"),
        }
    }

    #[test]
    fn the_manifest_asks_for_exactly_the_scopes_and_events_the_connector_uses() {
        let m = app_manifest("Acme Learning", &urls("https://lms.example.com"), false).unwrap();
        assert_eq!(m["oauth_config"]["scopes"]["bot"], json!(SCOPES));
        assert_eq!(
            m["settings"]["event_subscriptions"]["bot_events"],
            json!(["app_uninstalled", "tokens_revoked"])
        );
        assert_eq!(
            m["settings"]["event_subscriptions"]["request_url"],
            "https://lms.example.com/slack/acme/events"
        );
        assert_eq!(m["features"]["app_home"]["messages_tab_enabled"], true);
        assert_eq!(m["features"]["bot_user"]["display_name"], "Acme Learning");
    }

    #[test]
    fn names_slack_refuses_and_plain_http_are_refused() {
        let long = "x".repeat(36);
        assert_eq!(
            app_manifest(&long, &urls("https://lms.example.com"), false),
            Err(ManifestError::Name(long.clone()))
        );
        assert!(matches!(
            app_manifest(" ", &urls("https://lms.example.com"), true),
            Err(ManifestError::Name(_))
        ));
        assert!(matches!(
            app_manifest("Acme", &urls("http://lms.example.com"), false),
            Err(ManifestError::NotHttps(_))
        ));
    }
}
