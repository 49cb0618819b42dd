//! Sending failed deliveries again: one delivery, or every failed delivery of a notification, when an author asks;
//! and, once, those that failed because the integration was disconnected, when it is active again (with the
//! disconnection alert cleared then). A delivery sent again starts its attempts afresh; one whose earlier attempt may
//! have posted keeps that doubt, so that the connector looks for the message before it posts.

use crate::db::{AlertTopic, now};
use crate::integration::Lms;
use crate::outbox::{Outbox, Reconnect};
use anyhow::Result;

/// What re-queuing a failed delivery writes (SQL, with `:now`): queued at once, attempts afresh, no reason yet.
macro_rules! requeued {
    () => {
        "status = 'queued', attempts = 0, next_attempt_at = :now, reason_code = NULL, reason = NULL,
         lease_owner = NULL, lease_expires_at = NULL, updated_at = :now"
    };
}

impl Outbox {
    /// Queues one failed delivery of `platform_id` again, for `actor`; `false` when there is no such failed delivery
    /// (it was sent, skipped, or is already queued).
    pub fn retry(&self, platform_id: &str, delivery_id: &str, actor: &str) -> Result<bool> {
        let n = self.db().conn().execute(
            concat!(
                "UPDATE deliveries SET ",
                requeued!(),
                ", on_reconnect = CASE on_reconnect WHEN 'requeued' THEN 'requeued' END
                 WHERE platform_id = :platform AND id = :id AND status = 'failed'"
            ),
            rusqlite::named_params! {":platform": platform_id, ":id": delivery_id, ":now": now()},
        )?;
        if n > 0 {
            self.db()
                .audit(platform_id, actor, "delivery.retry", delivery_id)?;
        }
        Ok(n > 0)
    }

    /// Queues every failed delivery of a notification again, for `actor`; returns how many.
    pub fn retry_failed(
        &self,
        platform_id: &str,
        notification_id: &str,
        actor: &str,
    ) -> Result<usize> {
        let n = self.db().conn().execute(
            concat!(
                "UPDATE deliveries SET ",
                requeued!(),
                ", on_reconnect = CASE on_reconnect WHEN 'requeued' THEN 'requeued' END
                 WHERE platform_id = :platform AND notification_id = :notification AND status = 'failed'"
            ),
            rusqlite::named_params! {
                ":platform": platform_id,
                ":notification": notification_id,
                ":now": now(),
            },
        )?;
        if n > 0 {
            self.db().audit(
                platform_id,
                actor,
                "notification.retry_failed",
                &format!("{notification_id}: {n} deliveries"),
            )?;
        }
        Ok(n)
    }

    /// Queues again, in one statement, the deliveries of `platform_id` that failed because the integration was
    /// disconnected and were not queued again yet; each only once. Returns how many.
    pub fn requeue_reconnected(&self, platform_id: &str) -> Result<usize> {
        Ok(self.db().conn().execute(
            concat!(
                "UPDATE deliveries SET ",
                requeued!(),
                ", on_reconnect = :requeued
                 WHERE platform_id = :platform AND status = 'failed' AND on_reconnect = :waiting"
            ),
            rusqlite::named_params! {
                ":platform": platform_id,
                ":now": now(),
                ":requeued": Reconnect::Requeued,
                ":waiting": Reconnect::Waiting,
            },
        )?)
    }
}

impl Lms {
    /// The integration of `platform_id` is active again: the deliveries that failed because it was disconnected are
    /// queued again (once each), and the disconnection alert is cleared. Returns how many were queued again.
    pub fn reconnected(&self, platform_id: &str) -> Result<usize> {
        let requeued = self.outbox().requeue_reconnected(platform_id)?;
        let cleared = self
            .db()
            .clear_alerts(platform_id, AlertTopic::Disconnected)?;
        if requeued + cleared > 0 {
            self.db().audit(
                platform_id,
                "connector",
                "connector.reconnected",
                &format!("{requeued} failed deliveries queued again, {cleared} alerts cleared"),
            )?;
        }
        Ok(requeued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::outbox::{DeliveryStatus, Kind, NewNotification};

    fn outbox() -> Outbox {
        let db = crate::test_support::memory_db();
        crate::test_support::platform_with_users(&db, 3);
        let outbox = Outbox::new(db);
        let users: Vec<String> = (1..=3).map(|i| format!("l{i}")).collect();
        let n = NewNotification {
            id: "n",
            kind: Kind::PathStep,
            title: "Step",
            session_id: None,
            body: Some("Hello"),
            mandatory: false,
            not_before: 0,
        };
        outbox.enqueue("p", &n, &users).unwrap();
        outbox
    }

    /// Sets deliveries as an attempt would have left them.
    fn set(outbox: &Outbox, user: &str, sql: &str) {
        outbox
            .db()
            .conn()
            .execute(
                &format!("UPDATE deliveries SET {sql} WHERE user_id = ?1"),
                [user],
            )
            .unwrap();
    }

    fn state(outbox: &Outbox) -> Vec<(String, DeliveryStatus, i64, Option<Reconnect>)> {
        outbox
            .deliveries("p", "n")
            .unwrap()
            .into_iter()
            .map(|d| (d.user_id, d.status, d.attempts, d.on_reconnect))
            .collect()
    }

    #[test]
    fn a_failed_delivery_is_queued_again_by_hand_one_or_all_and_nothing_else_is() {
        let outbox = outbox();
        set(
            &outbox,
            "l1",
            "status = 'failed', attempts = 1, reason_code = 'restricted_action'",
        );
        set(
            &outbox,
            "l2",
            "status = 'failed', attempts = 5, reason_code = 'timeout', posting_since = 7",
        );
        set(&outbox, "l3", "status = 'sent', attempts = 1");
        let l1 = crate::outbox::delivery_id("p", "n", "l1");
        let l3 = crate::outbox::delivery_id("p", "n", "l3");
        assert!(outbox.retry("p", &l1, "author").unwrap());
        assert!(!outbox.retry("p", &l1, "author").unwrap(), "already queued");
        assert!(
            !outbox.retry("p", &l3, "author").unwrap(),
            "a sent delivery is never sent again"
        );
        assert!(
            !outbox.retry("other", &l1, "author").unwrap(),
            "another platform's"
        );
        assert_eq!(
            outbox.retry_failed("p", "n", "author").unwrap(),
            1,
            "only l2 was left"
        );
        assert_eq!(
            state(&outbox),
            [
                ("l1".into(), DeliveryStatus::Queued, 0, None),
                ("l2".into(), DeliveryStatus::Queued, 0, None),
                ("l3".into(), DeliveryStatus::Sent, 1, None),
            ]
        );
        let (reason, posting_since): (Option<String>, Option<i64>) = outbox
            .db()
            .conn()
            .query_row(
                "SELECT reason_code, posting_since FROM deliveries WHERE user_id = 'l2'",
                (),
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(reason, None, "a queued delivery has no reason yet");
        assert_eq!(
            posting_since,
            Some(7),
            "the doubt of an attempt that may have posted is kept"
        );
        let audited: i64 = outbox
            .db()
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM audit_log WHERE actor = 'author' AND action IN ('delivery.retry', 'notification.retry_failed')",
                (),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(audited, 2);
    }

    #[test]
    fn deliveries_failed_by_a_disconnection_are_queued_again_once() {
        let outbox = outbox();
        set(
            &outbox,
            "l1",
            "status = 'failed', attempts = 1, on_reconnect = 'waiting'",
        );
        set(&outbox, "l2", "status = 'failed', attempts = 1");
        assert_eq!(outbox.requeue_reconnected("p").unwrap(), 1);
        assert_eq!(outbox.requeue_reconnected("p").unwrap(), 0, "once");
        let s = state(&outbox);
        assert_eq!(
            s[0],
            (
                "l1".into(),
                DeliveryStatus::Queued,
                0,
                Some(Reconnect::Requeued)
            )
        );
        assert_eq!(
            s[1].1,
            DeliveryStatus::Failed,
            "another failure waits for a retry by hand"
        );
        // Failing again by a disconnection: it is not queued again by itself, only by hand.
        set(&outbox, "l1", "status = 'failed', attempts = 1");
        assert_eq!(outbox.requeue_reconnected("p").unwrap(), 0);
        let l1 = crate::outbox::delivery_id("p", "n", "l1");
        assert!(outbox.retry("p", &l1, "author").unwrap());
        assert_eq!(state(&outbox)[0].3, Some(Reconnect::Requeued));
    }
}
