//! A reviewer's decisions: judged by the domain's `decide` and written with their audit records.

use chrono::{DateTime, Utc};

use super::events::Change;
use super::{Asking, Result};
use crate::audit;
use crate::domain::case::{AlertFacts, CaseCommand, decide};
use crate::domain::{AlertKey, CaseEvent};

impl Asking<'_> {
    /// Records that the viewer opened the case's content (the first view feeds response-time figures).
    pub fn mark_viewed(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<()> {
        self.require_reviewer()?;
        let (_, _, case) = self.load(key)?;
        if case.first_viewed.is_none() {
            self.store.append(key, &CaseEvent::new(now, &self.viewer.user, crate::domain::EventKind::Viewed))?;
            self.bus.publish([Change::Case(key.clone())]);
        }
        Ok(())
    }

    /// Applies a reviewer's decision: the events [`decide`] returns for it, each with its audit record, are
    /// written in one transaction and flushed before this returns. Returns them, in order.
    pub fn act(&self, key: &AlertKey, command: &CaseCommand, now: DateTime<Utc>) -> Result<Vec<CaseEvent>> {
        self.require_reviewer()?;
        let (alert, _, case) = self.load(key)?;
        let facts = AlertFacts {
            staff: alert.is_staff(),
            category: &alert.category,
            illegal_at_high: self.levels.illegal_at_high(&alert.category),
        };
        let decided: Vec<(CaseEvent, audit::Entry)> = decide(&case, &facts, self.templates, command)?
            .into_iter()
            .map(|kind| {
                let event = CaseEvent::new(now, &self.viewer.user, kind);
                let entry = audit::Entry::new(now, &self.viewer.user, Some(key), audit::action_text(&event.kind));
                (event, entry)
            })
            .collect();
        self.store.append_decision(key, &decided)?;
        self.bus.publish([Change::Case(key.clone())]);
        Ok(decided.into_iter().map(|(event, _)| event).collect())
    }
}
