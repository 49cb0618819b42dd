//! OAuth scopes: the bot scopes Slack knows (the authorize page refuses others) and how a scope list is read.

/// Known Slack scopes accepted on the authorize page (bot scopes).
pub const KNOWN_SCOPES: &[&str] = &[
    "app_mentions:read",
    "channels:history",
    "channels:join",
    "channels:manage",
    "channels:read",
    "chat:write",
    "chat:write.customize",
    "chat:write.public",
    "commands",
    "emoji:read",
    "files:read",
    "files:write",
    "groups:history",
    "groups:read",
    "groups:write",
    "im:history",
    "im:read",
    "im:write",
    "incoming-webhook",
    "links:read",
    "links:write",
    "metadata.message:read",
    "mpim:history",
    "mpim:read",
    "mpim:write",
    "pins:read",
    "pins:write",
    "reactions:read",
    "reactions:write",
    "team:read",
    "usergroups:read",
    "users.profile:read",
    "users:read",
    "users:read.email",
    "users:write",
];

/// Splits a scope list (Slack uses commas; spaces are tolerated), sorted and without repeats.
pub fn split_scopes(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split([',', ' '])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    v
}
