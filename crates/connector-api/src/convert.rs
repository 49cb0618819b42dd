//! `From` conversions between the mirror types and the generated bindings, both ways (on `wasm32` only).

#![allow(clippy::useless_conversion)]

use crate::bindings::lms::connector0_1_0::log as wit_log;
use crate::bindings::lms::connector0_1_0::types as wit;
use crate::bindings::lms::connector0_3_0::types as wit_0_3_0;
use crate::ports::Level;
use crate::types::*;

/// A record whose every field converts with `.into()` (the same type, or a type converted here).
macro_rules! record {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl From<wit::$name> for $name {
            fn from(v: wit::$name) -> Self {
                $name { $($field: v.$field.into()),* }
            }
        }
        impl From<$name> for wit::$name {
            fn from(v: $name) -> Self {
                wit::$name { $($field: v.$field.into()),* }
            }
        }
    };
}

/// An enum of unit cases only.
macro_rules! cases {
    ($mine:ty, $theirs:ty { $($case:ident),* $(,)? }) => {
        impl From<$theirs> for $mine {
            fn from(v: $theirs) -> Self {
                match v { $(<$theirs>::$case => <$mine>::$case),* }
            }
        }
        impl From<$mine> for $theirs {
            fn from(v: $mine) -> Self {
                match v { $(<$mine>::$case => <$theirs>::$case),* }
            }
        }
    };
}

fn list<A: Into<B>, B>(v: Vec<A>) -> Vec<B> {
    v.into_iter().map(Into::into).collect()
}

record!(User {
    id,
    email,
    display_name,
    locale,
    time_zone
});
record!(Session {
    id,
    title,
    description,
    cover_image_url,
    cover_is_default,
    starts_at,
    ends_at,
    url
});
record!(PlatformGroup { name, logo_url });
impl From<wit_0_3_0::Recipient> for Recipient {
    fn from(v: wit_0_3_0::Recipient) -> Self {
        Recipient {
            user: v.user.into(),
            delivery_id: v.delivery_id,
            attempt: v.attempt,
            earlier_post: v.earlier_post,
            reply_to: v.reply_to.map(Into::into),
        }
    }
}
impl From<wit_0_3_0::MessageRef> for MessageRef {
    fn from(v: wit_0_3_0::MessageRef) -> Self {
        MessageRef {
            conversation: v.conversation,
            message_id: v.message_id,
        }
    }
}
impl From<wit_0_3_0::MessageUpdate> for MessageUpdate {
    fn from(v: wit_0_3_0::MessageUpdate) -> Self {
        MessageUpdate {
            recipient: v.recipient.into(),
            message: v.message.into(),
            first_shown: v.first_shown.into(),
        }
    }
}
record!(Failure {
    kind,
    code,
    message,
    retry_after_ms
});
record!(Sent {
    conversation,
    message_id,
    already_sent
});
record!(DeliveryOutcome {
    delivery_id,
    outcome
});
record!(ConnectorError { code, message });
record!(SettingSpec {
    key,
    secret,
    description
});
record!(ActivationRequest {
    redirect_uri,
    state
});
record!(Workspace { id, name });
record!(InboundRequest {
    route,
    headers,
    body,
    received_at
});

cases!(
    NotificationKind,
    wit_0_3_0::NotificationKind {
        SessionAssignment,
        SessionInformation,
        PathStep,
        SessionReminder
    }
);
cases!(
    SessionChange,
    wit_0_3_0::SessionChange { Edited, Cancelled }
);
cases!(
    FailureKind,
    wit::FailureKind {
        Permanent,
        Transient,
        RateLimited,
        Disconnected
    }
);
cases!(
    Level,
    wit_log::Level {
        Debug,
        Info,
        Warn,
        Error
    }
);

impl From<wit::UserPage> for UserPage {
    fn from(v: wit::UserPage) -> Self {
        UserPage {
            users: list(v.users),
            next_cursor: v.next_cursor,
        }
    }
}

impl From<UserPage> for wit::UserPage {
    fn from(v: UserPage) -> Self {
        wit::UserPage {
            users: list(v.users),
            next_cursor: v.next_cursor,
        }
    }
}

impl From<wit_0_3_0::Notification> for Notification {
    fn from(v: wit_0_3_0::Notification) -> Self {
        Notification {
            id: v.id,
            kind: v.kind.into(),
            title: v.title,
            session: v.session.map(Into::into),
            body: v.body,
            group: v.group.into(),
        }
    }
}

impl From<Notification> for wit_0_3_0::Notification {
    fn from(v: Notification) -> Self {
        wit_0_3_0::Notification {
            id: v.id,
            kind: v.kind.into(),
            title: v.title,
            session: v.session.map(Into::into),
            body: v.body,
            group: v.group.into(),
        }
    }
}

impl From<wit::SkipReason> for SkipReason {
    fn from(v: wit::SkipReason) -> Self {
        match v {
            wit::SkipReason::NoAccount => SkipReason::NoAccount,
            wit::SkipReason::Inactive(why) => SkipReason::Inactive(why),
        }
    }
}

impl From<SkipReason> for wit::SkipReason {
    fn from(v: SkipReason) -> Self {
        match v {
            SkipReason::NoAccount => wit::SkipReason::NoAccount,
            SkipReason::Inactive(why) => wit::SkipReason::Inactive(why),
        }
    }
}

impl From<wit::Outcome> for Outcome {
    fn from(v: wit::Outcome) -> Self {
        match v {
            wit::Outcome::Sent(s) => Outcome::Sent(s.into()),
            wit::Outcome::Skipped(r) => Outcome::Skipped(r.into()),
            wit::Outcome::Failed(f) => Outcome::Failed(f.into()),
        }
    }
}

impl From<Outcome> for wit::Outcome {
    fn from(v: Outcome) -> Self {
        match v {
            Outcome::Sent(s) => wit::Outcome::Sent(s.into()),
            Outcome::Skipped(r) => wit::Outcome::Skipped(r.into()),
            Outcome::Failed(f) => wit::Outcome::Failed(f.into()),
        }
    }
}

impl From<wit::ConnectorInfo> for ConnectorInfo {
    fn from(v: wit::ConnectorInfo) -> Self {
        ConnectorInfo {
            id: v.id,
            name: v.name,
            version: v.version,
            outbound_origins: v.outbound_origins,
            settings: list(v.settings),
        }
    }
}

impl From<ConnectorInfo> for wit::ConnectorInfo {
    fn from(v: ConnectorInfo) -> Self {
        wit::ConnectorInfo {
            id: v.id,
            name: v.name,
            version: v.version,
            outbound_origins: v.outbound_origins,
            settings: list(v.settings),
        }
    }
}

impl From<wit::ActivationResult> for ActivationResult {
    fn from(v: wit::ActivationResult) -> Self {
        match v {
            wit::ActivationResult::Active(w) => ActivationResult::Active(w.into()),
            wit::ActivationResult::ApprovalRequested(m) => ActivationResult::ApprovalRequested(m),
        }
    }
}

impl From<ActivationResult> for wit::ActivationResult {
    fn from(v: ActivationResult) -> Self {
        match v {
            ActivationResult::Active(w) => wit::ActivationResult::Active(w.into()),
            ActivationResult::ApprovalRequested(m) => wit::ActivationResult::ApprovalRequested(m),
        }
    }
}

impl From<wit::IntegrationState> for IntegrationState {
    fn from(v: wit::IntegrationState) -> Self {
        match v {
            wit::IntegrationState::Inactive => IntegrationState::Inactive,
            wit::IntegrationState::Active(w) => IntegrationState::Active(w.into()),
            wit::IntegrationState::Disconnected(why) => IntegrationState::Disconnected(why),
        }
    }
}

impl From<IntegrationState> for wit::IntegrationState {
    fn from(v: IntegrationState) -> Self {
        match v {
            IntegrationState::Inactive => wit::IntegrationState::Inactive,
            IntegrationState::Active(w) => wit::IntegrationState::Active(w.into()),
            IntegrationState::Disconnected(why) => wit::IntegrationState::Disconnected(why),
        }
    }
}

impl From<wit::InboundResponse> for InboundResponse {
    fn from(v: wit::InboundResponse) -> Self {
        InboundResponse {
            status: v.status,
            content_type: v.content_type,
            body: v.body,
            new_state: v.new_state.map(Into::into),
        }
    }
}

impl From<InboundResponse> for wit::InboundResponse {
    fn from(v: InboundResponse) -> Self {
        wit::InboundResponse {
            status: v.status,
            content_type: v.content_type,
            body: v.body,
            new_state: v.new_state.map(Into::into),
        }
    }
}
