//! The LMS's types the Slack logic works on: the SDK's mirrors of the WIT contract (`connector-api`), re-exported
//! so that the rendering and the tests name them here.

pub use connector_api::{
    MessageRef, MessageUpdate, Notification, NotificationKind, PlatformGroup, Session,
    SessionChange, UnixSeconds, User,
};
