//! Blanks secrets out of text a connector produced (log lines, errors, stderr) before the host stores or shows it.

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Replaces every occurrence of a known secret value (of 4 bytes or more), and every word that starts with one of
/// `prefixes` (a service's credential prefixes, as the connector's manifest declares them), with [`REDACTED`].
///
/// Runs in time linear in the text for each secret and prefix: `text` must already be cut to a bounded length.
pub fn redact(text: &str, secrets: &[String], prefixes: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    for prefix in prefixes.iter().filter(|p| !p.is_empty()) {
        if !out.contains(prefix.as_str()) {
            continue;
        }
        let mut blanked = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(start) = rest.find(prefix.as_str()) {
            blanked.push_str(&rest[..start]);
            blanked.push_str(REDACTED);
            let word = &rest[start..];
            let end = word
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(word.len());
            rest = &word[end..];
        }
        blanked.push_str(rest);
        out = blanked;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn blanks_known_values_and_prefixed_words() {
        let out = redact(
            "token tok-123_abc and s3cret, short ab",
            &strings(&["s3cret", "ab"]),
            &strings(&["tok-"]),
        );
        assert_eq!(out, "token [redacted] and [redacted], short ab");
    }

    #[test]
    fn every_prefixed_word_of_a_long_line_is_blanked() {
        let line = "tok-x ".repeat(10_000);
        let out = redact(&line, &[], &strings(&["tok-"]));
        assert_eq!(out.matches(REDACTED).count(), 10_000);
        assert!(!out.contains("tok-"));
    }
}
