//! The connector's own types, mirroring the WIT contract so that the Slack logic compiles and is tested natively.
//! The WIT glue (`glue.rs`) converts between these and the generated bindings.

/// An instant, in whole seconds since the Unix epoch.
pub type UnixSeconds = i64;

/// A user of the LMS directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// The LMS's stable identifier.
    pub id: String,
    /// The e-mail address as entered in the LMS (not normalised).
    pub email: String,
    /// The name shown in the LMS.
    pub display_name: String,
    /// A BCP 47 language tag such as `fr-FR`.
    pub locale: String,
    /// An IANA time zone such as `Europe/Paris`.
    pub time_zone: String,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// The learner was assigned (invited) to a session.
    SessionAssignment,
    /// Information about a session the learner is enrolled in.
    SessionInformation,
    /// A "Slack message" step of a path.
    PathStep,
}

/// The session a notification is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Session {
    /// The LMS's identifier.
    pub id: String,
    /// The session's title.
    pub title: String,
    /// The description, plain text, any length.
    pub description: String,
    /// The cover image's URL.
    pub cover_image_url: Option<String>,
    /// Whether the cover is the platform's default image.
    pub cover_is_default: bool,
    /// Start.
    pub starts_at: UnixSeconds,
    /// End.
    pub ends_at: UnixSeconds,
    /// The URL that opens the session.
    pub url: String,
}

/// The platform group on whose behalf messages are sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlatformGroup {
    /// Sender name.
    pub name: String,
    /// Sender icon.
    pub logo_url: Option<String>,
}

/// A notification to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The LMS's identifier of the notification.
    pub id: String,
    /// What it is about.
    pub kind: NotificationKind,
    /// The e-mail subject of the same notification.
    pub title: String,
    /// The session, if any.
    pub session: Option<Session>,
    /// The author's own text (path steps).
    pub body: Option<String>,
    /// The sender.
    pub group: PlatformGroup,
}
