//! A reviewer's decisions: judged by the domain's `decide` and written with their audit records.

use chrono::{DateTime, Utc};

use super::events::Change;
use super::{Asking, Result, ServiceError, StoreError};

/// How many times a decision is judged again when its case keeps changing under it before the reviewer is
/// told to try again (each time, something else was written to the case in between).
const JUDGED_AT_MOST: usize = 8;
use crate::audit;
use crate::domain::case::{AlertFacts, CaseCommand, decide};
use crate::domain::{AlertKey, CaseEvent};

impl Asking<'_> {
    /// Records that the viewer opened the case's content (the first view feeds response-time figures).
    pub fn mark_viewed(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<()> {
        self.require_reviewer()?;
        let (_, _, case) = self.load(key)?;
        if case.first_viewed.is_none() {
            self.store.append(key, &CaseEvent::by(now, &self.actor(), crate::domain::EventKind::Viewed))?;
            self.bus.publish([Change::Case(key.clone())]);
        }
        Ok(())
    }

    /// Applies a reviewer's decision: the events [`decide`] returns for it, each with its audit record, are
    /// written in one transaction and flushed before this returns. Returns them, in order.
    ///
    /// The decision is judged against the case as it stands when its events are written: the store appends
    /// them only if the case's log still has the length it had when it was read, under the same lock the
    /// feed's revisions and every other decision take. When something landed in between (a revision, the
    /// deputy's tick), the decision is judged again against the new state, so a close can never pass on a
    /// case that changed under it.
    pub fn act(&self, key: &AlertKey, command: &CaseCommand, now: DateTime<Utc>) -> Result<Vec<CaseEvent>> {
        self.require_reviewer()?;
        for _ in 0..JUDGED_AT_MOST {
            let (alert, events, case) = self.load(key)?;
            let facts = AlertFacts {
                staff: alert.is_staff(),
                category: &alert.category,
                illegal_at_high: self.levels.illegal_at_high(&alert.category),
            };
            let decided: Vec<(CaseEvent, audit::Entry)> = decide(&case, &facts, self.templates, command)?
                .into_iter()
                .map(|kind| {
                    let event = CaseEvent::by(now, &self.actor(), kind);
                    let entry = audit::Entry::new(now, &self.viewer.user, Some(key), audit::action_text(&event.kind));
                    (event, entry)
                })
                .collect();
            match self.store.append_decision_at(key, events.len() as u64, &decided) {
                Ok(()) => {
                    self.bus.publish([Change::Case(key.clone())]);
                    return Ok(decided.into_iter().map(|(event, _)| event).collect());
                }
                // The case changed since it was read: judge the decision again.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Busy)
    }
}
