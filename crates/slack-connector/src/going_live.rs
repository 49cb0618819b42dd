//! What an operator checks against Slack before going live (host side only), over whatever transport the host
//! gives: that Slack answers (`api.test`), and that an installation's bot token is valid and holds every scope the
//! connector asks for (`auth.test`, whose `x-oauth-scopes` header lists the token's scopes).

use crate::api::{Slack, SlackError};
use crate::connector::SCOPES;
use connector_api::Transport;
use serde_json::Value;

/// Slack answered `api.test`.
pub fn reachable<T: Transport + ?Sized>(transport: &mut T) -> Result<(), SlackError> {
    Slack::new(transport)
        .call("api.test", None, &[], None)
        .map(drop)
}

/// What `auth.test` says of a bot token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The workspace's id.
    pub team_id: String,
    /// The workspace's name.
    pub team: String,
    /// The scopes the token holds.
    pub scopes: Vec<String>,
}

impl TokenInfo {
    /// The scopes the connector asks for that the token lacks.
    pub fn missing_scopes(&self) -> Vec<&'static str> {
        SCOPES
            .iter()
            .copied()
            .filter(|s| !self.scopes.iter().any(|held| held == s))
            .collect()
    }
}

/// `auth.test` with `token`.
pub fn token_info<T: Transport + ?Sized>(
    transport: &mut T,
    token: &str,
) -> Result<TokenInfo, SlackError> {
    let response = Slack::new(transport).send("auth.test", Some(token), &[], None)?;
    let envelope = crate::api::parse_envelope(&response)?;
    let text = |key: &str| {
        envelope
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let scopes = response
        .header("x-oauth-scopes")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Ok(TokenInfo {
        team_id: text("team_id"),
        team: text("team"),
        scopes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_api::{HttpRequest, HttpResponse, TransportError};

    /// Answers every request with `auth.test`'s answer for a token lacking some scopes.
    struct SlackAnswers;

    impl Transport for SlackAnswers {
        fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            assert_eq!(request.url, "https://slack.com/api/auth.test");
            Ok(HttpResponse {
                status: 200,
                headers: vec![(
                    "x-oauth-scopes".into(),
                    "chat:write,im:write, users:read".into(),
                )],
                body: br#"{"ok":true,"team_id":"T1","team":"Acme"}"#.to_vec(),
            })
        }
    }

    #[test]
    fn a_token_lacking_a_scope_says_which() {
        let info = token_info(&mut SlackAnswers, "xoxb-1").unwrap();
        assert_eq!((info.team_id.as_str(), info.team.as_str()), ("T1", "Acme"));
        assert_eq!(
            info.missing_scopes(),
            ["chat:write.customize", "im:history", "users:read.email"]
        );
    }
}
