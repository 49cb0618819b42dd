//! Slack's identifiers and secrets as the simulation makes and checks them: Slackbot's user ID, the shape of
//! team, user and app IDs, fresh IDs, tokens (bot, rotating, refresh, app configuration), app credentials and OAuth
//! codes.

use rand::Rng;

/// Slackbot's user ID (as in Slack).
pub const SLACKBOT_ID: &str = "USLACKBOT";

/// The characters of Slack's IDs after their prefix letter.
const ID_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// True when `id` is `first` followed by at least `min_rest` characters of A-Z0-9 (`T0123ABCD`, `U…`, `A…`).
pub fn looks_like_id(id: &str, first: char, min_rest: usize) -> bool {
    id.strip_prefix(first).is_some_and(|rest| {
        rest.len() >= min_rest
            && rest
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    })
}

/// An ID: `prefix`, six characters counting `sequence` (so IDs never repeat in one simulation), four random
/// ones.
pub fn new_id(prefix: &str, sequence: u64) -> String {
    let mut n = sequence;
    let mut counted = [0u8; 6];
    for c in counted.iter_mut().rev() {
        *c = ID_ALPHABET[(n % 36) as usize];
        n /= 36;
    }
    let mut rng = rand::rng();
    let tail: String = (0..4)
        .map(|_| ID_ALPHABET[rng.random_range(0..36)] as char)
        .collect();
    format!("{prefix}{}{tail}", String::from_utf8_lossy(&counted))
}

/// Ten random digits, as the numeric parts of Slack's tokens and codes.
fn ten_digits(rng: &mut impl Rng) -> u64 {
    rng.random_range(1_000_000_000..9_999_999_999)
}

/// `n` random characters of `alphabet`.
fn random_text(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// Letters and digits, the tail of Slack's tokens.
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A bot token in Slack's shape, `xoxb-{digits}-{digits}-{24 alphanumerics}`.
pub fn new_bot_token() -> String {
    let mut rng = rand::rng();
    let (a, b) = (ten_digits(&mut rng), ten_digits(&mut rng));
    format!("xoxb-{a}-{b}-{}", random_text(ALNUM, 24))
}

/// An expiring bot token of an app with token rotation, `xoxe.xoxb-1-{alphanumerics}` (Slack's rotating tokens
/// carry the `xoxe.` prefix).
pub fn new_rotating_bot_token() -> String {
    format!("xoxe.xoxb-1-{}", random_text(ALNUM, 48))
}

/// A refresh token of token rotation, `xoxe-1-{alphanumerics}`.
pub fn new_refresh_token() -> String {
    format!("xoxe-1-{}", random_text(ALNUM, 48))
}

/// An app configuration token (the credential of `apps.manifest.*`), `xoxe.xoxp-1-{alphanumerics}`.
pub fn new_config_token() -> String {
    format!("xoxe.xoxp-1-{}", random_text(ALNUM, 48))
}

/// A client ID in Slack's shape, `{10 digits}.{13 digits}`.
pub fn new_client_id() -> String {
    let mut rng = rand::rng();
    let a = ten_digits(&mut rng);
    let b: u64 = rng.random_range(1_000_000_000_000..9_999_999_999_999);
    format!("{a}.{b}")
}

/// A client or signing secret in Slack's shape, 32 hex digits.
pub fn new_hex_secret() -> String {
    random_text(b"0123456789abcdef", 32)
}

/// An OAuth code in Slack's shape, `{10 digits}.{13 digits}.{64 hex digits}`.
pub fn new_oauth_code() -> String {
    let mut rng = rand::rng();
    let a = ten_digits(&mut rng);
    let b: u64 = rng.random_range(1_000_000_000_000..9_999_999_999_999);
    let hex: String = (0..64)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect();
    format!("{a}.{b}.{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(looks_like_id("T0SIMTEAM1", 'T', 8));
        assert!(!looks_like_id("T0SIM", 'T', 8));
        assert!(!looks_like_id("U0alice001", 'U', 8));
        assert!(looks_like_id("A0SIMAPP001", 'A', 0));
        assert!(!looks_like_id("X0SIMAPP001", 'A', 0));
        let id = new_id("D", 37);
        assert!(id.starts_with("D000011") && id.len() == 11, "{id}");
        assert!(looks_like_id(&id, 'D', 10));
        let token = new_bot_token();
        assert_eq!(token.split('-').count(), 4, "{token}");
        assert!(token.starts_with("xoxb-"));
        assert!(new_rotating_bot_token().starts_with("xoxe.xoxb-1-"));
        assert!(new_refresh_token().starts_with("xoxe-1-"));
        assert!(new_config_token().starts_with("xoxe.xoxp-1-"));
        assert_eq!(new_client_id().len(), 24);
        assert_eq!(new_hex_secret().len(), 32);
        let code = new_oauth_code();
        let parts: Vec<&str> = code.split('.').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [10, 13, 64]
        );
    }
}
