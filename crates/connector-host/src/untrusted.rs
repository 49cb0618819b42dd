//! What a connector returns is untrusted data: before the host hands it to the LMS (which stores it and shows it to
//! admins and authors), every piece of text in it is cut to a bounded length and has the connector's secrets blanked
//! ([`redact`]). A connector that puts its bot token in a failure message, a workspace name or a disconnection
//! reason shows `[redacted]`, and one that returns a megabyte of text shows a few hundred characters.
//!
//! Identifiers the LMS keeps to find things again (delivery ids, conversation and message ids) are cut but not
//! blanked: the LMS checks them against what it sent.

use crate::redact::{cut, redact};
use crate::wit;

/// Longest code (`invalid_auth`, `no_account`) kept from a connector, in bytes.
pub const MAX_CODE: usize = 256;
/// Longest human-readable text (a failure message, a disconnection reason, a workspace name) kept, in bytes.
pub const MAX_TEXT: usize = 1_000;
/// Longest identifier (a conversation or message id, a workspace id) kept, in bytes.
pub const MAX_ID: usize = 256;

/// Blanks the connector's secrets out of text it returned and bounds its length.
pub struct Cleaner<'a> {
    /// The connector's secret values on the platform the call was for.
    pub secrets: &'a [String],
    /// The credential prefixes its manifest declares.
    pub prefixes: &'a [String],
}

impl Cleaner<'_> {
    /// Text meant for people: cut to `max` bytes first (so blanking costs a bounded time), then blanked.
    fn text(&self, text: &mut String, max: usize) {
        cut(text, max);
        if !text.is_empty() {
            *text = redact(text, self.secrets, self.prefixes);
        }
    }

    /// An identifier: cut, and blanked too (a connector could smuggle a token through any field).
    fn id(&self, id: &mut String) {
        self.text(id, MAX_ID);
    }
}

/// A value returned by a connector, cleaned in place before the host passes it on.
pub trait Untrusted {
    /// Cuts and blanks every text in `self`.
    fn clean(&mut self, cleaner: &Cleaner);
}

impl Untrusted for wit::ConnectorError {
    fn clean(&mut self, c: &Cleaner) {
        c.text(&mut self.code, MAX_CODE);
        c.text(&mut self.message, MAX_TEXT);
    }
}

impl Untrusted for wit::Workspace {
    fn clean(&mut self, c: &Cleaner) {
        c.id(&mut self.id);
        c.text(&mut self.name, MAX_TEXT);
    }
}

impl Untrusted for wit::ActivationResult {
    fn clean(&mut self, c: &Cleaner) {
        match self {
            wit::ActivationResult::Active(w) => w.clean(c),
            wit::ActivationResult::ApprovalRequested(text) => c.text(text, MAX_TEXT),
        }
    }
}

impl Untrusted for wit::IntegrationState {
    fn clean(&mut self, c: &Cleaner) {
        match self {
            wit::IntegrationState::Active(w) => w.clean(c),
            wit::IntegrationState::Disconnected(why) => c.text(why, MAX_TEXT),
            wit::IntegrationState::Inactive => {}
        }
    }
}

impl Untrusted for wit::DeliveryOutcome {
    fn clean(&mut self, c: &Cleaner) {
        cut(&mut self.delivery_id, MAX_ID);
        match &mut self.outcome {
            wit::Outcome::Sent(sent) => {
                c.id(&mut sent.conversation);
                c.id(&mut sent.message_id);
            }
            wit::Outcome::Skipped(wit::SkipReason::Inactive(why)) => c.text(why, MAX_TEXT),
            wit::Outcome::Skipped(wit::SkipReason::NoAccount) => {}
            wit::Outcome::Failed(f) => {
                c.text(&mut f.code, MAX_CODE);
                c.text(&mut f.message, MAX_TEXT);
            }
        }
    }
}

impl Untrusted for wit::InboundResponse {
    /// The response goes back to the service that called the platform; its new state reaches the LMS.
    fn clean(&mut self, c: &Cleaner) {
        if let Some(state) = &mut self.new_state {
            state.clean(c);
        }
    }
}

impl<T: Untrusted> Untrusted for Vec<T> {
    fn clean(&mut self, c: &Cleaner) {
        for item in self {
            item.clean(c);
        }
    }
}

impl<T: Untrusted, E: Untrusted> Untrusted for Result<T, E> {
    fn clean(&mut self, c: &Cleaner) {
        match self {
            Ok(value) => value.clean(c),
            Err(e) => e.clean(c),
        }
    }
}

impl Untrusted for () {
    fn clean(&mut self, _: &Cleaner) {}
}

impl Untrusted for String {
    /// A bare string a connector returns (the activation URL) is not shown: the LMS checks it before using it. It is
    /// only bounded here.
    fn clean(&mut self, _: &Cleaner) {
        cut(self, 8 * 1024);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::REDACTED;

    #[test]
    fn secrets_in_failures_and_states_are_blanked_and_long_text_is_cut() {
        let secrets = vec!["xoxb-123-secret".to_string()];
        let prefixes = vec!["xoxp-".to_string()];
        let cleaner = Cleaner {
            secrets: &secrets,
            prefixes: &prefixes,
        };
        let mut outcomes = vec![
            wit::DeliveryOutcome {
                delivery_id: "d1".into(),
                outcome: wit::Outcome::Failed(wit::Failure {
                    kind: wit::FailureKind::Permanent,
                    code: "leak xoxb-123-secret".into(),
                    message: format!("token xoxp-999 then {}", "é".repeat(5_000)),
                    retry_after_ms: None,
                }),
            },
            wit::DeliveryOutcome {
                delivery_id: "d2".into(),
                outcome: wit::Outcome::Sent(wit::Sent {
                    conversation: "Dxoxb-123-secret".into(),
                    message_id: "1.2".into(),
                    already_sent: false,
                }),
            },
        ];
        outcomes.clean(&cleaner);
        let wit::Outcome::Failed(f) = &outcomes[0].outcome else {
            panic!("still a failure")
        };
        assert_eq!(f.code, format!("leak {REDACTED}"));
        assert!(f.message.starts_with(&format!("token {REDACTED} then é")));
        assert!(f.message.len() <= MAX_TEXT + REDACTED.len() + '…'.len_utf8());
        assert!(f.message.ends_with('…'));
        let wit::Outcome::Sent(s) = &outcomes[1].outcome else {
            panic!("still sent")
        };
        assert_eq!(s.conversation, format!("D{REDACTED}"));

        let mut state = wit::IntegrationState::Disconnected("revoked xoxb-123-secret".into());
        state.clean(&cleaner);
        assert!(
            matches!(&state, wit::IntegrationState::Disconnected(why) if why == &format!("revoked {REDACTED}"))
        );
        let mut error: Result<(), wit::ConnectorError> = Err(wit::ConnectorError {
            code: "x".repeat(1_000),
            message: "xoxb-123-secret".into(),
        });
        error.clean(&cleaner);
        let Err(e) = error else {
            panic!("still an error")
        };
        assert_eq!(e.code.len(), MAX_CODE + '…'.len_utf8());
        assert_eq!(e.message, REDACTED);
    }
}
