//! What the simulation's pages and JSON show of a secret: tokens and codes as a fingerprint (their kind and last
//! four characters, enough to tell two apart), the app's client and signing secrets not at all. The secrets
//! themselves are read in-process ([`crate::SimHandle::state`]), never over HTTP.

use serde_json::{Map, Value};

/// What a page or the JSON shows in place of a secret nobody needs to tell apart (the app's client and signing
/// secrets).
pub const HIDDEN: &str = "(hidden)";

/// How many trailing characters a fingerprint keeps.
const TAIL: usize = 4;

/// The shortest value whose last characters a fingerprint shows (shorter ones show nothing of themselves).
const MIN_FINGERPRINTED: usize = 16;

/// A token or code reduced to its kind and last four characters: `xoxb-…W3xZ`, `…9f1c` (a value too short to
/// spare four characters: `…`).
pub fn fingerprint(secret: &str) -> String {
    // `xoxb`, or a rotating token's `xoxe.xoxb`.
    let kind = secret
        .split_once('-')
        .map(|(k, _)| k)
        .filter(|k| {
            let bare = k.strip_prefix("xoxe.").unwrap_or(k);
            bare.starts_with("xox") && bare.len() == 4
        })
        .map(|k| format!("{k}-"))
        .unwrap_or_default();
    let chars: Vec<char> = secret.chars().collect();
    let tail: String = if chars.len() >= MIN_FINGERPRINTED {
        chars[chars.len() - TAIL..].iter().collect()
    } else {
        String::new()
    };
    format!("{kind}…{tail}")
}

/// Fields that carry a token or a code (shown as a fingerprint).
const TOKEN_FIELDS: [&str; 4] = ["token", "access_token", "refresh_token", "code"];

/// Fields that carry a secret (not shown).
const SECRET_FIELDS: [&str; 3] = ["client_secret", "signing_secret", "verification_token"];

/// A JSON object's tokens and codes as fingerprints and its secrets hidden, at any depth (Web API parameters
/// and answers, as the call log keeps them).
pub fn scrub_object(fields: &Map<String, Value>) -> Map<String, Value> {
    fields
        .iter()
        .map(|(k, v)| {
            let shown = match v {
                Value::String(s) if TOKEN_FIELDS.contains(&k.as_str()) => {
                    Value::String(fingerprint(s))
                }
                Value::String(_) if SECRET_FIELDS.contains(&k.as_str()) => {
                    Value::String(HIDDEN.into())
                }
                other => scrub(other),
            };
            (k.clone(), shown)
        })
        .collect()
}

/// [`scrub_object`] on any JSON value (arrays and objects followed).
pub fn scrub(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(scrub_object(m)),
        Value::Array(items) => Value::Array(items.iter().map(scrub).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprints_keep_the_kind_and_the_last_four() {
        let cases = [
            (
                "xoxb-1234567890-1234567890-abcdefghijklmnopqrstuvwx",
                "xoxb-…uvwx",
            ),
            ("xoxp-1-2-3", "xoxp-…"),
            ("xoxe.xoxb-1-abcdefghijklmnopqrstuvwx", "xoxe.xoxb-…uvwx"),
            ("xoxe-1-abcdefghijklmnopqrstuvwx", "xoxe-…uvwx"),
            ("1234567890.1234567890123.0123456789abcdef", "…cdef"),
            ("short", "…"),
            ("sim-client-secret-long", "…long"),
        ];
        for (secret, shown) in cases {
            assert_eq!(fingerprint(secret), shown, "{secret}");
        }
    }

    #[test]
    fn scrubbing_reaches_nested_fields() {
        let v = json!({
            "token": "xoxb-1234567890-1234567890-abcdefghijklmnopqrstuvwx",
            "client_secret": "s3cr3t",
            "authed_user": {"access_token": "xoxp-1234567890-1234567890-zyxwvutsrqponmlkjihgfedc"},
            "list": [{"code": "1234567890.1234567890123.00ff"}],
            "channel": "D0123",
        });
        assert_eq!(
            scrub(&v),
            json!({
                "token": "xoxb-…uvwx",
                "client_secret": HIDDEN,
                "authed_user": {"access_token": "xoxp-…fedc"},
                "list": [{"code": "…00ff"}],
                "channel": "D0123",
            })
        );
    }
}
