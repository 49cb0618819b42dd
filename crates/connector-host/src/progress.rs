//! The `progress` import of contract 0.2.0: while it delivers, a connector says when it is about to make the request
//! that may deliver to a recipient (`posting`) and what became of each recipient (`outcome`). The host checks each
//! report against the call's recipients at once ([`CallProgress`]), cleans it like any connector output
//! ([`crate::untrusted`]) and hands the reports to the embedder's [`DeliveryProgress`] together: just before an
//! outgoing request starts when posts were announced (or settings written) since the last hand-over, and when the
//! call ends (the host functions are in `imports.rs` with the other imports). A post is thus recorded as announced before its request
//! can leave, and a host killed mid-batch loses only the outcomes reported since the connector last announced posts,
//! not the batch's; a connector that announces its posts a handful at a time costs the embedder a few writes per
//! handful, not one per report or per request.
//!
//! A report is refused (the call traps, and counts towards the health rule) when it names a delivery that is not in
//! the call, reports a second outcome for one, announces a post after its outcome, or comes from another call than
//! `deliver`; and a call may announce at most [`POSTINGS_PER_RECIPIENT`] posts per recipient.

use crate::wit;
use std::collections::HashMap;
use std::sync::Arc;

/// Posts a call may announce per recipient (a post repeated after a refusal, a conversation reopened).
pub const POSTINGS_PER_RECIPIENT: u32 = 4;

/// Where a `deliver` call's reports go, a few at a time: those made since the last hand-over, just before the
/// connector's next outgoing request starts once it announced posts (or wrote settings), and the rest when the call
/// ends. The embedder records each handful durably
/// before returning: the connector's request waits for it (and its CPU time counts against the call), so that the
/// request starts only once the reports before it are safe. Announced posts come before outcomes.
pub trait DeliveryProgress: Send + Sync {
    /// The connector is about to make the requests that may deliver `delivery_ids`: until its outcome is recorded,
    /// each delivery may have been delivered.
    fn postings(&self, delivery_ids: &[String]) -> anyhow::Result<()>;
    /// What became of recipients of the call, cleaned, in the order reported; at most once per recipient.
    fn outcomes(&self, outcomes: &[wit::DeliveryOutcome]) -> anyhow::Result<()>;
}

/// Progress kept in memory, for callers that want every outcome and keep nothing durable (benchmarks, tests):
/// [`Collected::outcomes`] are those the connector reported, in order; the rest are what `deliver` returned.
#[derive(Default)]
pub struct Collected {
    postings: parking_lot::Mutex<Vec<String>>,
    outcomes: parking_lot::Mutex<Vec<wit::DeliveryOutcome>>,
}

impl Collected {
    /// The deliveries announced as posting, in order.
    pub fn postings(&self) -> Vec<String> {
        self.postings.lock().clone()
    }

    /// The outcomes reported, in order.
    pub fn outcomes(&self) -> Vec<wit::DeliveryOutcome> {
        self.outcomes.lock().clone()
    }
}

impl DeliveryProgress for Collected {
    fn postings(&self, delivery_ids: &[String]) -> anyhow::Result<()> {
        self.postings.lock().extend_from_slice(delivery_ids);
        Ok(())
    }
    fn outcomes(&self, outcomes: &[wit::DeliveryOutcome]) -> anyhow::Result<()> {
        self.outcomes.lock().extend_from_slice(outcomes);
        Ok(())
    }
}

/// What a call has reported about one recipient.
#[derive(Debug, Clone, Copy, Default)]
struct Reported {
    postings: u32,
    outcome: bool,
}

/// A report the host refused: the call traps with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A report from another call than `deliver`.
    NotDelivering,
    /// A delivery id that is not one of the call's recipients.
    Unknown,
    /// A second outcome for a recipient.
    SecondOutcome,
    /// A post announced after the recipient's outcome.
    PostAfterOutcome,
    /// More posts announced for one recipient than [`POSTINGS_PER_RECIPIENT`].
    TooManyPosts,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::NotDelivering => "it reported delivery progress outside a delivery",
            Refused::Unknown => "it reported progress about a delivery it was not given",
            Refused::SecondOutcome => "it reported a second outcome for the same recipient",
            Refused::PostAfterOutcome => {
                "it announced a post for a recipient whose outcome it had reported"
            }
            Refused::TooManyPosts => "it announced more posts for one recipient than allowed",
        })?;
        f.write_str(" and was stopped")
    }
}

impl std::error::Error for Refused {}

/// The reports of one `deliver` call: its recipients, what each has reported, the reports not handed over yet (at
/// most [`POSTINGS_PER_RECIPIENT`] posts and one outcome per recipient) and where they go.
pub(crate) struct CallProgress {
    sink: Arc<dyn DeliveryProgress>,
    recipients: HashMap<String, Reported>,
    postings: Vec<String>,
    outcomes: Vec<wit::DeliveryOutcome>,
}

impl CallProgress {
    /// The reports of a call delivering to `delivery_ids`, handed to `sink`.
    pub(crate) fn new<'a>(
        sink: Arc<dyn DeliveryProgress>,
        delivery_ids: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        CallProgress {
            sink,
            recipients: delivery_ids
                .into_iter()
                .map(|id| (id.to_string(), Reported::default()))
                .collect(),
            postings: Vec::new(),
            outcomes: Vec::new(),
        }
    }

    /// Hands the reports made since the last hand-over to the sink (announced posts, then outcomes), and forgets
    /// them once it has recorded them.
    pub(crate) fn hand_over(&mut self) -> anyhow::Result<()> {
        if !self.postings.is_empty() {
            self.sink.postings(&self.postings)?;
            self.postings.clear();
        }
        if !self.outcomes.is_empty() {
            self.sink.outcomes(&self.outcomes)?;
            self.outcomes.clear();
        }
        Ok(())
    }

    /// Whether posts were announced since the last hand-over.
    pub(crate) fn announced(&self) -> bool {
        !self.postings.is_empty()
    }

    /// Whether the outcome of `delivery_id` was reported during the call.
    pub(crate) fn reported(&self, delivery_id: &str) -> bool {
        self.recipients.get(delivery_id).is_some_and(|r| r.outcome)
    }

    /// What `delivery_id` has reported, while its outcome is not known: refused as `after_outcome` once it is, and as
    /// [`Refused::Unknown`] when it is not a recipient of the call.
    fn open_entry(
        &mut self,
        delivery_id: &str,
        after_outcome: Refused,
    ) -> Result<&mut Reported, Refused> {
        let entry = self
            .recipients
            .get_mut(delivery_id)
            .ok_or(Refused::Unknown)?;
        if entry.outcome {
            return Err(after_outcome);
        }
        Ok(entry)
    }

    /// Checks and keeps an announced post of `delivery_id`, to hand over before the next request starts.
    pub(crate) fn posting(&mut self, delivery_id: String) -> Result<(), Refused> {
        let entry = self.open_entry(&delivery_id, Refused::PostAfterOutcome)?;
        if entry.postings >= POSTINGS_PER_RECIPIENT {
            return Err(Refused::TooManyPosts);
        }
        entry.postings += 1;
        self.postings.push(delivery_id);
        Ok(())
    }

    /// Checks and keeps the outcome of a recipient (cleaned), to hand over with the next announced posts or when the
    /// call ends.
    pub(crate) fn outcome(&mut self, outcome: wit::DeliveryOutcome) -> Result<(), Refused> {
        let entry = self.open_entry(&outcome.delivery_id, Refused::SecondOutcome)?;
        entry.outcome = true;
        self.outcomes.push(outcome);
        Ok(())
    }
}
