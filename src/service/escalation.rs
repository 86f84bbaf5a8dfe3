//! Escalation: the service, acting as itself ([`Actor::Service`]), raises the cases nobody opened in time
//! with the reviewers on duty. What is due is the domain's rule ([`crate::domain::escalation`]); this
//! scans the open cases for it, records each escalation with its audit record, and publishes it.

use chrono::{DateTime, Utc};

use super::events::Change;
use super::{Asking, CaseService, Result, StoreError};
use crate::audit;
use crate::domain::{Actor, AlertKey, Case, CaseEvent, EventKind, Level};
use crate::store::IndexEntry;
use crate::store::backend::IndexScan;

/// What an escalation reference starts with: `vigil show ESC-…` knows it for one.
pub const REFERENCE_PREFIX: &str = "ESC-";

/// How many escalations a sweep writes at most: a backlog (a service started after days down, or on a store
/// moved in) is escalated this many a sweep, High first, with the service answering its clients in between.
pub const ESCALATED_AT_MOST_A_SWEEP: usize = 100;

/// One escalation recorded by a sweep: what the team and `notify_command` are told. Content-free but for
/// `key`, which stays in the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub key: AlertKey,
    pub staff: bool,
    pub level: Level,
    pub round: u32,
    pub unopened_minutes: u32,
    /// vigil's own reference for the case, random, kept from its first escalation.
    pub reference: String,
}

/// What a sweep did, and when the next escalation of the cases it saw falls due (the ticker sleeps until
/// then, or less).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    pub escalated: Vec<Escalation>,
    pub next: Option<DateTime<Utc>>,
}

/// A queue read under way, counted while it lives ([`CaseService::reading_queue`]).
pub struct QueueRead<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for QueueRead<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl CaseService {
    /// Marks a queue read under way until the mark is dropped: a sweep gives way to it. Every queue request
    /// is marked so ([`CaseService::handle`]); a test holds a mark to be a reader mid-read.
    pub fn reading_queue(&self) -> QueueRead<'_> {
        self.0.queue_reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        QueueRead(&self.0.queue_reads)
    }

    fn queue_being_read(&self) -> bool {
        self.0.queue_reads.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// Escalates every open case whose escalation is due at `now`, each in its own transaction with its
    /// audit record, and publishes each to the reviewers on duty who may see the case. A case that changed
    /// between the scan and the write (opened at that instant) is judged again on its new log, so an opened
    /// case is never escalated.
    pub fn escalate_due(&self, now: DateTime<Utc>) -> Result<Sweep> {
        let rule = self.0.escalation.rule();
        let calendar = &self.0.calendar;
        let watched = std::sync::Mutex::new(Vec::new());
        self.0.store.visit_index(IndexScan::Open, &|entry: IndexEntry| {
            let raised = entry.head.raised_at.with_timezone(&Utc);
            if let Some(at) = rule.next(calendar, &entry.case, raised, now) {
                let seen = (std::cmp::Reverse(entry.case.level), at, entry.head.key);
                watched.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(seen);
            }
        })?;
        let mut watched = watched.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        // High first, then the longest overdue: what a sweep cut short leaves is the least urgent.
        watched.sort();
        let mut sweep = Sweep::default();
        let mut written = 0;
        for (_, at, key) in watched {
            let full = written == ESCALATED_AT_MOST_A_SWEEP || (written > 0 && self.queue_being_read());
            let at = if at <= now && full {
                // The rest of a backlog waits for the next sweep, a second away: a sweep that wrote them all
                // at once held the store for a minute and flooded every client with its changes. A queue
                // being read (a reviewer starting vigil) ends the sweep here too: their first frame comes
                // before the backlog's rest.
                Some(now)
            } else if at <= now {
                written += 1;
                let (escalation, next) = self.escalate(&key, now)?;
                sweep.escalated.extend(escalation);
                next
            } else {
                Some(at)
            };
            if let Some(at) = at {
                sweep.next = Some(sweep.next.map_or(at, |n| n.min(at)));
            }
        }
        sweep.escalated.sort_by(|a, b| (std::cmp::Reverse(a.level), &a.key).cmp(&(std::cmp::Reverse(b.level), &b.key)));
        Ok(sweep)
    }

    /// Escalates one case if its escalation is due at `now`, judged on its log as it stands; returns the
    /// escalation and when the next one falls due.
    fn escalate(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<(Option<Escalation>, Option<DateTime<Utc>>)> {
        let rule = self.0.escalation.rule();
        let calendar = &self.0.calendar;
        // Read again each time the log moved under the write: at most a few times, then the next sweep.
        for _ in 0..4 {
            let Some(alert) = self.0.store.alert(key)? else { return Ok((None, None)) };
            let events = self.0.store.events(key)?;
            let Some(case) = Case::fold(key.clone(), &events) else { return Ok((None, None)) };
            let raised = alert.raised_at.with_timezone(&Utc);
            let Some(due) = rule.due(calendar, &case, raised, now) else {
                return Ok((None, rule.next(calendar, &case, raised, now)));
            };
            let reference = events
                .iter()
                .rev()
                .find_map(|e| match &e.kind {
                    EventKind::Escalated { reference, .. } if !reference.is_empty() => Some(reference.clone()),
                    _ => None,
                })
                .unwrap_or_else(mint_reference);
            let kind = EventKind::Escalated {
                round: due.round,
                unopened_minutes: due.unopened_minutes,
                reference: reference.clone(),
            };
            let event = CaseEvent::by(now, &Actor::Service, kind);
            let entry = audit::Entry::new(now, &Actor::Service.stored(), Some(key), audit::action_text(&event.kind));
            match self.0.store.append_decision_at(key, events.len() as u64, &[(event.clone(), entry)]) {
                Ok(()) => {
                    let staff = alert.is_staff();
                    let escalation = Escalation {
                        key: key.clone(),
                        staff,
                        level: case.level,
                        round: due.round,
                        unopened_minutes: due.unopened_minutes,
                        reference,
                    };
                    self.0.publish([
                        Change::Case { key: key.clone(), staff },
                        Change::Escalated {
                            case: key.clone(),
                            staff,
                            level: case.level,
                            round: due.round,
                            unopened_minutes: due.unopened_minutes,
                        },
                    ]);
                    let mut after = case;
                    after.apply(&event);
                    return Ok((Some(escalation), rule.next(calendar, &after, raised, now)));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok((None, Some(now)))
    }
}

impl Asking<'_> {
    /// The case an escalation reference names, among those this viewer may see (only escalated cases are
    /// read: the index says which).
    pub(super) fn find_reference(&self, reference: &str) -> Result<Option<AlertKey>> {
        let escalated = std::sync::Mutex::new(Vec::new());
        self.store.visit_index(IndexScan::All, &|entry: IndexEntry| {
            if entry.case.escalations > 0 && self.visible(&entry.head, &entry.case) {
                escalated.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(entry.head.key);
            }
        })?;
        for key in escalated.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
            let named = self.store.events(&key)?.iter().any(
                |e| matches!(&e.kind, EventKind::Escalated { reference: r, .. } if r.eq_ignore_ascii_case(reference)),
            );
            if named {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }
}

/// A new reference: random, so it says nothing about the case, the student or the vendor's alert.
fn mint_reference() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase();
    // The first twelve hex digits of a v4 uuid are all random.
    format!("{REFERENCE_PREFIX}{}", &hex[..10])
}
