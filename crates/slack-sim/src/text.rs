//! Small text helpers shared by the simulation's modules: Slack mrkdwn escaping and the bot's derived name.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(escape_mrkdwn("R&D <b>"), "R&amp;D &lt;b&gt;");
        assert_eq!(unescape_mrkdwn(&escape_mrkdwn("a&lt; <&>")), "a&lt; <&>");
        assert_eq!(slug("LMS Notifications!"), "lms-notifications");
        assert_eq!(slug("  A  b "), "a-b");
    }
}
