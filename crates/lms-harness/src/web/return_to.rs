//! Where a visitor may be sent back to after signing in: only to the site's own pages. The value must be a path of
//! one of the known pages (no scheme, no host, no `//`, no `\`, no dot segments, nothing percent-encoded that would
//! decode into one of those, no spaces or control characters, which browsers strip or reinterpret).

/// The site's pages a visitor may come back to: each exactly, or with more path after a `/`.
const PAGES: [&str; 5] = [
    "/settings/connectors",
    "/paths",
    "/notifications",
    "/me/notifications",
    "/sessions",
];

/// `to` if it is a page of this site to come back to, else `None`.
pub(super) fn safe(to: &str) -> Option<&str> {
    let plain = |s: &str| {
        s.starts_with('/')
            && !s.starts_with("//")
            && !s.contains('\\')
            && s.bytes().all(|b| b.is_ascii_graphic())
    };
    let decoded = percent_decode(to)?;
    if !plain(to) || !plain(&decoded) || decoded.contains('%') {
        return None;
    }
    let path = decoded.split(['?', '#']).next().unwrap_or_default();
    if path.split('/').any(|seg| seg == "." || seg == "..") {
        return None;
    }
    let known = path == "/"
        || PAGES.iter().any(|page| {
            path.strip_prefix(page)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
    known.then_some(to)
}

/// Percent-decoding; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_s_pages_pass() {
        for ok in [
            "/",
            "/settings/connectors",
            "/paths#path-onboarding",
            "/sessions/onboarding-2026-12",
            "/notifications/invite-x?y=1",
            "/me/notifications",
        ] {
            assert_eq!(safe(ok), Some(ok), "{ok}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "/\\evil.example",
            "//evil.example",
            "/%2F%2Fevil.example",
            "/%2f/evil.example",
            "/%5Cevil.example",
            "https://evil.example",
            "http:/evil.example",
            "evil.example",
            "/\t/evil.example",
            "/ /evil.example",
            "/settings/connectors/../../evil",
            "/paths/%2e%2e/x",
            "/pathsevil",
            "/%252F%252Fevil.example",
            "/unknown",
            "/%zz",
        ] {
            assert_eq!(safe(bad), None, "{bad:?}");
        }
    }
}
