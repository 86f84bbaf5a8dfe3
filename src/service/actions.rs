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
use uuid::Uuid;

impl Asking<'_> {
    /// Records that the viewer opened the case's content (the first view feeds response-time figures).
    pub fn mark_viewed(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<()> {
        self.require_reviewer()?;
        let (alert, _, case) = self.load(key)?;
        if case.first_viewed.is_none() {
            self.store.append(key, &CaseEvent::by(now, &self.actor(), crate::domain::EventKind::Viewed))?;
            self.bus.publish([Change::Case { key: key.clone(), staff: alert.is_staff() }]);
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
    ///
    /// `seen` is how many of the case's events the reviewer's screen showed, and `token` makes the call safe
    /// to send again (see [`crate::service::api::Request::Act`]).
    pub fn decide(
        &self,
        key: &AlertKey,
        command: &CaseCommand,
        seen: Option<usize>,
        token: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>> {
        self.require_reviewer()?;
        let mut first_read = None;
        for _ in 0..JUDGED_AT_MOST {
            let (alert, events, case) = self.load(key)?;
            if let Some(token) = token {
                let recorded: Vec<CaseEvent> = events
                    .iter()
                    .skip_while(|e| e.id != token)
                    .enumerate()
                    .take_while(|(i, e)| e.id == token_id(token, *i))
                    .map(|(_, e)| e.clone())
                    .collect();
                if !recorded.is_empty() {
                    return Ok(recorded);
                }
            }
            let seen = *first_read.get_or_insert(seen.unwrap_or(events.len()).min(events.len()));
            let facts = AlertFacts {
                staff: alert.is_staff(),
                category: &alert.category,
                illegal_at_high: self.levels.illegal_at_high(&alert.category),
            };
            let kinds = match decide(&case, &facts, self.templates, command) {
                Ok(kinds) => kinds,
                Err(rule) => return Err(self.overtaken(&events[seen..], rule)),
            };
            let decided: Vec<(CaseEvent, audit::Entry)> = kinds
                .into_iter()
                .enumerate()
                .map(|(i, kind)| {
                    let mut event = CaseEvent::by(now, &self.actor(), kind);
                    if let Some(token) = token {
                        event.id = token_id(token, i);
                    }
                    let entry = audit::Entry::new(now, &self.viewer.user, Some(key), audit::action_text(&event.kind));
                    (event, entry)
                })
                .collect();
            match self.store.append_decision_at(key, events.len() as u64, &decided) {
                Ok(()) => {
                    self.bus.publish([Change::Case { key: key.clone(), staff: alert.is_staff() }]);
                    return Ok(decided.into_iter().map(|(event, _)| event).collect());
                }
                // The case changed since it was read: judge the decision again.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Busy)
    }

    /// A decision's refusal: the rule it broke, and when others' events since the reviewer's screen was
    /// drawn are why, who did what.
    fn overtaken(&self, since: &[CaseEvent], rule: crate::domain::case::RuleError) -> ServiceError {
        let me = self.actor();
        let theirs: Vec<&CaseEvent> =
            since.iter().filter(|e| e.actor() != me && e.kind != crate::domain::EventKind::Viewed).collect();
        let Some(last) = theirs.last() else { return rule.into() };
        let tz = self.calendar.time_zone();
        ServiceError::Overtaken(Box::new(super::Overtaken {
            by: last.actor().to_string(),
            what: theirs.iter().map(|e| e.kind.describe()).collect::<Vec<_>>().join("; "),
            at: last.at.with_timezone(&tz).format("%H:%M").to_string(),
            rule,
        }))
    }
}

/// The id of the `i`th event of a decision sent with `token`: the token itself, then the ids after it.
fn token_id(token: Uuid, i: usize) -> Uuid {
    Uuid::from_u128(token.as_u128().wrapping_add(i as u128))
}
