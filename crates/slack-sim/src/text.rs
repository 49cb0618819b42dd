//! Small text helpers shared by the simulation's modules: Slack mrkdwn escaping, the bot's derived name, and
//! secrets reduced for the call log.

/// Escapes text for Slack mrkdwn (`&`, `<`, `>`), as Slack asks of any text put in a message.
pub fn escape_mrkdwn(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Undoes [`escape_mrkdwn`] (Slack's three entities; any other `&…;` is left as it is).
pub fn unescape_mrkdwn(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Lowercase, spaces and other punctuation as `-` (how Slack derives a bot's name from its app's).
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Reduces a secret to its first five characters and an ellipsis, for the call log.
pub fn redact(s: &str) -> String {
    let keep: String = s.chars().take(5).collect();
    format!("{keep}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(escape_mrkdwn("R&D <b>"), "R&amp;D &lt;b&gt;");
        assert_eq!(unescape_mrkdwn(&escape_mrkdwn("a&lt; <&>")), "a&lt; <&>");
        assert_eq!(slug("LMS Notifications!"), "lms-notifications");
        assert_eq!(slug("  A  b "), "a-b");
        assert_eq!(redact("xoxb-1234"), "xoxb-…");
    }
}
