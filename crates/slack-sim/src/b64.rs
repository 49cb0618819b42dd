//! Standard base64, as Slack uses for cursors and HTTP Basic credentials, over the `base64` crate.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig, general_purpose};

/// Decoding accepts padded and unpadded input, as Slack's clients send both.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
/// The standard alphabet, padding optional.
const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
/// The URL-safe alphabet (`-`, `_`), padding optional.
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Encodes bytes (standard alphabet, with padding).
pub fn encode(data: &[u8]) -> String {
    general_purpose::STANDARD.encode(data)
}

/// Decodes; `None` on anything but valid base64 (padding optional; the URL-safe alphabet accepted too).
pub fn decode(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).or_else(|_| URL_SAFE.decode(s)).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        for s in ["", "a", "ab", "abc", "user:U0ALICE001", "id:secret"] {
            assert_eq!(
                super::decode(&super::encode(s.as_bytes())).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(super::encode(b"user:U061NFTT2"), "dXNlcjpVMDYxTkZUVDI=");
        assert_eq!(
            super::decode("dXNlcjpVMDYxTkZUVDI").unwrap(),
            b"user:U061NFTT2"
        );
        assert_eq!(super::decode("-_8").unwrap(), [0xfb, 0xff]);
        assert!(super::decode("!!").is_none());
    }
}
