//! Text encodings shared across the harness: lower-case hexadecimal.

/// Bytes as lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lower_case_and_two_digits_a_byte() {
        assert_eq!(super::hex(&[0, 15, 171]), "000fab");
    }
}
