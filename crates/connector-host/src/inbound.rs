//! Requests a service sends to the platform (events, interactivity) are checked by the host before the connector
//! sees them, as the connector's manifest declares them signed (`[inbound]`): the signature is
//! `{version}=hex(HMAC-SHA256(secret, "{version}:{timestamp}:{body}"))` in one header, the timestamp in another, and
//! a request more than `max_skew_secs` away from now is refused against replays. The comparison is constant-time.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How a connector's service signs the requests it sends to the platform (the manifest's `[inbound]` section).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRequests {
    /// The routes the platform accepts for this connector, such as `events`.
    pub routes: Vec<String>,
    /// The connector's secret that signs them.
    pub secret: String,
    /// The header carrying the signature (lower case).
    pub signature_header: String,
    /// The header carrying the timestamp, in Unix seconds (lower case).
    pub timestamp_header: String,
    /// The signature scheme's version, which prefixes both the signed text and the signature.
    pub version: String,
    /// How far the timestamp may be from now, in seconds.
    #[serde(default = "default_skew")]
    pub max_skew_secs: i64,
    /// The field of a JSON body that names the event, such as `event_id`: the platform refuses a second request
    /// with the same id within the signature's time window (a replay). A body without it is known by its signed
    /// text instead.
    #[serde(default)]
    pub event_id_field: Option<String>,
}

fn default_skew() -> i64 {
    5 * 60
}

impl SignedRequests {
    /// Why a request does not hold, or `Ok`.
    pub fn verify(
        &self,
        secret: &str,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), &'static str> {
        let timestamp = timestamp.ok_or("missing request timestamp")?;
        let ts: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| "bad request timestamp")?;
        if (now - ts).abs() > self.max_skew_secs {
            return Err("stale request timestamp");
        }
        let signature = signature.ok_or("missing signature")?;
        let hex = signature
            .strip_prefix(self.version.as_str())
            .and_then(|s| s.strip_prefix('='))
            .ok_or("unknown signature version")?;
        let expected = hex::decode(hex).map_err(|_| "malformed signature")?;
        self.mac(secret, timestamp, body)
            .verify_slice(&expected)
            .map_err(|_| "signature mismatch")
    }

    /// Signs `body` as the service does (for tests and simulations).
    pub fn sign(&self, secret: &str, timestamp: i64, body: &[u8]) -> String {
        let mac = self.mac(secret, &timestamp.to_string(), body);
        format!(
            "{}={}",
            self.version,
            hex::encode(mac.finalize().into_bytes())
        )
    }

    /// HMAC-SHA256 with the secret over `{version}:{timestamp}:{body}` (the timestamp as it is written).
    fn mac(&self, secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(format!("{}:{timestamp}:", self.version).as_bytes());
        mac.update(body);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "example-signing-secret";
    const TS: &str = "1700000000";
    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"type":"event_callback"}"#;
    /// Computed independently (Python's `hmac`) for the values above.
    const SIG: &str = "v0=8436933300629f436fde4fdcd4985074d267bab5eccfbb40ba2145c8d8ed1a64";

    fn scheme() -> SignedRequests {
        SignedRequests {
            routes: vec!["events".into()],
            secret: "signing_secret".into(),
            signature_header: "x-signature".into(),
            timestamp_header: "x-timestamp".into(),
            version: "v0".into(),
            max_skew_secs: default_skew(),
            event_id_field: None,
        }
    }

    #[test]
    fn a_known_answer_verifies_and_signs() {
        assert_eq!(
            scheme().verify(SECRET, Some(TS), Some(SIG), BODY, NOW),
            Ok(())
        );
        assert_eq!(scheme().sign(SECRET, NOW, BODY), SIG);
    }

    #[test]
    fn forged_stale_and_malformed_requests_are_refused() {
        let s = scheme();
        let skew = s.max_skew_secs;
        for (secret, ts, sig, body, now, why) in [
            (
                SECRET,
                Some(TS),
                Some(SIG),
                &b"tampered"[..],
                NOW,
                "signature mismatch",
            ),
            (
                "other",
                Some(TS),
                Some(SIG),
                BODY,
                NOW,
                "signature mismatch",
            ),
            (
                SECRET,
                Some(TS),
                Some(SIG),
                BODY,
                NOW + skew + 1,
                "stale request timestamp",
            ),
            (
                SECRET,
                Some(TS),
                Some(SIG),
                BODY,
                NOW - skew - 1,
                "stale request timestamp",
            ),
            (
                SECRET,
                None,
                Some(SIG),
                BODY,
                NOW,
                "missing request timestamp",
            ),
            (SECRET, Some(TS), None, BODY, NOW, "missing signature"),
            (
                SECRET,
                Some(TS),
                Some("v1=00"),
                BODY,
                NOW,
                "unknown signature version",
            ),
            (
                SECRET,
                Some(TS),
                Some("v0=zz"),
                BODY,
                NOW,
                "malformed signature",
            ),
            (
                SECRET,
                Some("abc"),
                Some(SIG),
                BODY,
                NOW,
                "bad request timestamp",
            ),
        ] {
            assert_eq!(s.verify(secret, ts, sig, body, now), Err(why));
        }
    }
}
