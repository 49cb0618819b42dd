//! Blanks secrets out of text a connector produced (log lines, errors, stderr) before the host stores or shows it.

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// The most secret values one text is searched for (the first ones given); a connector with more secrets than this
/// cannot make the host search for all of them in every line it writes.
pub const MAX_SECRETS: usize = 64;

/// The most credential prefixes one text is searched for (the first ones given).
pub const MAX_PREFIXES: usize = 32;

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut with `…`: what is blanked next is
/// bounded whatever a connector sent.
pub fn cut(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

/// Replaces every occurrence of a known secret value (of 4 bytes or more), and every word that starts with one of
/// `prefixes` (a service's credential prefixes, as the connector's manifest declares them), with [`REDACTED`].
///
/// Only the first [`MAX_SECRETS`] secrets and [`MAX_PREFIXES`] prefixes are used, and each pass over the text is
/// linear (substring search, then one scan per match that resumes after it), so the time is linear in the text
/// whatever the connector stored or declared: at most `MAX_SECRETS + MAX_PREFIXES` passes over a text that blanking
/// grows by at most 2.5× (a 4-byte secret becomes the 10 bytes of [`REDACTED`]). Callers still cut what they pass.
pub fn redact(text: &str, secrets: &[String], prefixes: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().take(MAX_SECRETS).filter(|s| s.len() >= 4) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    for prefix in prefixes.iter().take(MAX_PREFIXES).filter(|p| !p.is_empty()) {
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
    fn only_the_first_secrets_and_prefixes_are_searched() {
        let secrets: Vec<String> = (0..MAX_SECRETS + 1)
            .map(|i| format!("secret{i:04}"))
            .collect();
        let prefixes: Vec<String> = (0..MAX_PREFIXES + 1).map(|i| format!("p{i:02}-")).collect();
        let line = format!(
            "{} {} {} {}",
            secrets[0], secrets[MAX_SECRETS], prefixes[0], prefixes[MAX_PREFIXES]
        );
        let out = redact(&line, &secrets, &prefixes);
        assert_eq!(
            out,
            format!(
                "{REDACTED} {} {REDACTED} {}",
                secrets[MAX_SECRETS], prefixes[MAX_PREFIXES]
            )
        );
    }

    #[test]
    fn every_prefixed_word_of_a_long_line_is_blanked() {
        let line = "tok-x ".repeat(10_000);
        let out = redact(&line, &[], &strings(&["tok-"]));
        assert_eq!(out.matches(REDACTED).count(), 10_000);
        assert!(!out.contains("tok-"));
    }
}
