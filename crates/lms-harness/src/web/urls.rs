//! Where the LMS serves the demo platform's images.

/// The platform group's logo: a rounded teal square with a white "A" and a sun dot.
pub(crate) const LOGO: &str = "/static/acme-logo.png";
/// The platform's default cover: plain grey (the connector leaves it out of messages).
pub(crate) const DEFAULT_COVER: &str = "/static/default-cover.png";
/// Where session covers are: every `*.png` below it is the one session cover, a landscape in the group's colours.
pub(crate) const COVERS: &str = "/static/covers/";
