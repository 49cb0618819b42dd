//! What the connector keeps in the host's settings store: the keys of its plain settings and secrets, and the
//! normalised form of the e-mail addresses it maps to Slack members.

/// The connector's settings keys (plain values).
pub mod keys {
    /// The Slack app's client id (set by the operator).
    pub const CLIENT_ID: &str = "client_id";
    /// The pending activation's CSRF state.
    pub const PENDING_STATE: &str = "oauth.pending_state";
    /// The pending activation's redirect URI.
    pub const PENDING_REDIRECT: &str = "oauth.pending_redirect_uri";
    /// The connected workspace's id.
    pub const TEAM_ID: &str = "team.id";
    /// The connected workspace's name.
    pub const TEAM_NAME: &str = "team.name";
    /// Why the integration was disconnected, when it was.
    pub const DISCONNECTED: &str = "disconnected_reason";
    /// When the bot token expires (Unix seconds), with Slack's token rotation on; absent when it does not.
    pub const TOKEN_EXPIRES_AT: &str = "token_expires_at";
    /// Prefix of the mapped member per workspace and normalised e-mail (`member:T…:a@b.c`), see [`crate::directory`].
    pub const MEMBER_PREFIX: &str = "member:";
    /// Prefix of the time the workspace's directory was last listed (`directory_synced:T…`).
    pub const DIRECTORY_SYNCED_PREFIX: &str = "directory_synced:";
    /// How long, in seconds, the e-mail map is trusted (operator setting; one day by default).
    pub const DIRECTORY_MAX_AGE: &str = "directory_max_age_secs";
    /// Prefix of the cached app DM per workspace and member id (`dm:T…:U…`).
    pub const DM_PREFIX: &str = "dm:";
}

/// The connector's secrets.
pub mod secrets {
    /// The Slack app's client secret (set by the operator).
    pub const CLIENT_SECRET: &str = "client_secret";
    /// The Slack app's signing secret (set by the operator).
    pub const SIGNING_SECRET: &str = "signing_secret";
    /// The bot token from the installation.
    pub const BOT_TOKEN: &str = "bot_token";
    /// The token that renews the bot token, with Slack's token rotation on.
    pub const REFRESH_TOKEN: &str = "refresh_token";
}

/// An e-mail address as Slack and the LMS are compared: trimmed and lower-cased.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}
