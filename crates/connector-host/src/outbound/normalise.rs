//! What a request URL may look like before its origin and path are compared with the grants: no userinfo in the
//! authority, no dot segments (plain or percent-encoded), no `;` path parameters, no backslashes and no encoded
//! separators. Servers and proxies read each of these in their own way (`%2e%2e` decoded to `..` after routing,
//! `..;` treated as `..`, `\` as `/`, `127.0.0.1:8080@slack.com` as a request to `slack.com` with credentials or to
//! `127.0.0.1:8080`); refusing them keeps the URL the policy checked and the URL the server acts on the same.
//! Double encoding (`%252e`) is not decoded: it reaches the server as the literal text it is.

use http::Uri;

/// Why a request URL is refused before it is compared with the grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The authority carries userinfo (`user@host`, `127.0.0.1:8080@slack.com`).
    Userinfo(String),
    /// A path segment is `.` or `..`, plain or percent-encoded (`%2e%2e`, `.%2E`).
    DotSegment(String),
    /// A `;` path parameter, plain or encoded (`..;`, `%3b`), which some servers strip before resolving dot segments.
    PathParameter(String),
    /// A backslash, plain or encoded (`%5c`), which some servers treat as `/`.
    Backslash(String),
    /// An encoded `/` (`%2f`) or NUL (`%00`), which some servers decode before routing.
    EncodedSeparator(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Userinfo(authority) => write!(
                f,
                "the authority `{authority}` carries userinfo (`…@`), which a server may read as another host"
            ),
            Refusal::DotSegment(segment) => write!(
                f,
                "the path segment `{segment}` is a dot segment (plain or percent-encoded), which a server may \
                 resolve outside the granted prefix"
            ),
            Refusal::PathParameter(segment) => write!(
                f,
                "the path segment `{segment}` has a `;` parameter, which some servers strip before resolving dot \
                 segments"
            ),
            Refusal::Backslash(path) => write!(
                f,
                "the path `{path}` has a backslash (plain or `%5c`), which some servers treat as `/`"
            ),
            Refusal::EncodedSeparator(path) => write!(
                f,
                "the path `{path}` has an encoded `/` or NUL (`%2f`, `%00`), which some servers decode before routing"
            ),
        }
    }
}

/// Checks the authority and path of a request URL; the query is not a path and is not checked.
pub fn check(uri: &Uri) -> Result<(), Refusal> {
    if let Some(authority) = uri.authority()
        && authority.as_str().contains('@')
    {
        return Err(Refusal::Userinfo(authority.as_str().to_string()));
    }
    let path = uri.path();
    let lower = path.to_ascii_lowercase();
    if path.contains('\\') || lower.contains("%5c") {
        return Err(Refusal::Backslash(path.to_string()));
    }
    if lower.contains("%2f") || lower.contains("%00") {
        return Err(Refusal::EncodedSeparator(path.to_string()));
    }
    for segment in path.split('/') {
        let lower = segment.to_ascii_lowercase();
        if segment.contains(';') || lower.contains("%3b") {
            return Err(Refusal::PathParameter(segment.to_string()));
        }
        let decoded = lower.replace("%2e", ".");
        if decoded == "." || decoded == ".." {
            return Err(Refusal::DotSegment(segment.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(url: &str) -> Result<(), Refusal> {
        check(&url.parse().unwrap())
    }

    #[test]
    fn plain_urls_pass() {
        for url in [
            "https://slack.com/api/chat.postMessage",
            "https://slack.com/api/users.lookupByEmail?email=a%40b.example&x=..",
            "https://slack.com/api/a.b/c..d/...",
            "https://slack.com/api/%252e%252e/literal",
            "https://slack.com:443/api/",
            "http://127.0.0.1:4000/api/auth.test",
        ] {
            assert_eq!(checked(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn dot_segments_are_refused_plain_and_encoded() {
        for (url, segment) in [
            ("https://slack.com/api/../admin", ".."),
            ("https://slack.com/api/./x", "."),
            ("https://slack.com/api/%2e%2e/admin", "%2e%2e"),
            ("https://slack.com/api/%2E%2E/admin", "%2E%2E"),
            ("https://slack.com/api/.%2e/admin", ".%2e"),
            ("https://slack.com/api/%2e./admin", "%2e."),
            ("https://slack.com/api/%2e", "%2e"),
        ] {
            assert_eq!(
                checked(url),
                Err(Refusal::DotSegment(segment.into())),
                "{url}"
            );
        }
    }

    #[test]
    fn path_parameters_backslashes_and_encoded_separators_are_refused() {
        assert_eq!(
            checked("https://slack.com/api/..;/admin"),
            Err(Refusal::PathParameter("..;".into()))
        );
        assert_eq!(
            checked("https://slack.com/api/x;jsessionid=1"),
            Err(Refusal::PathParameter("x;jsessionid=1".into()))
        );
        assert_eq!(
            checked("https://slack.com/api/..%3B/admin"),
            Err(Refusal::PathParameter("..%3B".into()))
        );
        assert!(matches!(
            checked("https://slack.com/api/..%5cadmin"),
            Err(Refusal::Backslash(_))
        ));
        assert!(matches!(
            checked("https://slack.com/api/..%2Fadmin"),
            Err(Refusal::EncodedSeparator(_))
        ));
        assert!(matches!(
            checked("https://slack.com/api/x%00.json"),
            Err(Refusal::EncodedSeparator(_))
        ));
    }

    #[test]
    fn a_backslash_never_reaches_the_grant_check() {
        // `http` refuses a raw backslash in a URI outright; whatever a future version accepts, the check refuses it.
        let refused = match "https://slack.com/api/..\\admin".parse::<Uri>() {
            Ok(uri) => matches!(check(&uri), Err(Refusal::Backslash(_))),
            Err(_) => true,
        };
        assert!(refused);
    }

    #[test]
    fn userinfo_in_the_authority_is_refused() {
        for (url, authority) in [
            (
                "https://127.0.0.1:4000@slack.com/api/auth.test",
                "127.0.0.1:4000@slack.com",
            ),
            ("https://user@slack.com/api/", "user@slack.com"),
            ("https://user:pw@slack.com/api/", "user:pw@slack.com"),
        ] {
            assert_eq!(
                checked(url),
                Err(Refusal::Userinfo(authority.into())),
                "{url}"
            );
        }
        let why = checked("https://a@slack.com/").unwrap_err().to_string();
        assert!(why.contains("userinfo"), "{why}");
    }
}
