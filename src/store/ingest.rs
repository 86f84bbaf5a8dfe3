//! A page from the feed in one transaction: new cases, revisions, withdrawals, the quarantined alerts and
//! the cursor that follows, written together and flushed before anything is acknowledged.

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use sled::transaction::{ConflictableTransactionError, Transactional};

use super::codec::{decode, encode};
use super::feed_state::{FeedState, Quarantined};
use super::index::{IndexEntry, META_INDEX, TxIndex};
use super::keys::{ALERTS, EVENTS, QUARANTINE, case_key, quarantine_key};
use super::{Result, Store, StoreError, tx_error};
use crate::domain::levels::Grading;
use crate::domain::{Alert, AlertKey, Case, CaseEvent, EventKind};
use crate::feed::protocol::Rejected;

/// The fewest alerts worth handing to another core.
const PARALLEL_MIN: usize = 64;

/// The most events one alert can add in one page: revised, withdrawn or reinstated, reopened.
pub(super) const EVENTS_PER_ALERT: usize = 3;

/// What one page did to the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IngestReport {
    pub new: usize,
    /// New alerts that start at High: these ring the bell.
    pub new_high: usize,
    pub revised: usize,
    pub unchanged: usize,
    pub quarantined: usize,
    pub staff_dropped: usize,
    /// Of `new` and `new_high`, those about members of staff: a viewer who may not see staff alerts is told
    /// the counts without them (not even a count of staff alerts reaches them).
    #[serde(default)]
    pub staff_new: usize,
    #[serde(default)]
    pub staff_new_high: usize,
}

impl std::ops::AddAssign for IngestReport {
    fn add_assign(&mut self, o: Self) {
        self.new += o.new;
        self.new_high += o.new_high;
        self.revised += o.revised;
        self.unchanged += o.unchanged;
        self.quarantined += o.quarantined;
        self.staff_dropped += o.staff_dropped;
        self.staff_new += o.staff_new;
        self.staff_new_high += o.staff_new_high;
    }
}

/// The sealed values of a new alert's case ([`Store::new_case`]).
pub(super) struct NewCase {
    alert: Vec<u8>,
    /// (key, sealed event)
    events: Vec<(Vec<u8>, Vec<u8>)>,
    /// The sealed index entry, and whether the case is open.
    index: Option<(Vec<u8>, bool)>,
}

/// An alert to ingest, with the level it starts at (graded by the caller's policy).
pub struct Incoming<'a> {
    pub alert: &'a Alert,
    pub grading: Grading,
    /// Who raised it, in its stored form: `"feed"` for the feed; the reviewer who took an alert by phone.
    pub raised_by: &'a str,
}

impl IngestReport {
    /// Counts a new alert's case.
    pub(super) fn count_new(&mut self, inc: &Incoming<'_>) {
        let high = usize::from(inc.grading.level == crate::domain::Level::High);
        self.new += 1;
        self.new_high += high;
        if inc.alert.is_staff() {
            self.staff_new += 1;
            self.staff_new_high += high;
        }
    }

    /// Counts a revised alert's case (as new-high when the revision made it high).
    pub(super) fn count_revision(&mut self, revision: &Revision, alert: &Alert) {
        if revision.now_high {
            self.new_high += 1;
            self.staff_new_high += usize::from(alert.is_staff());
        }
        self.revised += 1;
    }
}

/// The events a new alert's case starts with: raised, and withdrawn if the vendor already withdrew it. The
/// one rule both backends start a case by.
pub(super) fn first_kinds(inc: &Incoming<'_>, template_version: u32) -> Vec<EventKind> {
    let alert = inc.alert;
    let raised = EventKind::Raised {
        revision: alert.revision,
        level: inc.grading.level,
        illegal_path: inc.grading.illegal_path,
        template_version,
    };
    std::iter::once(raised).chain(alert.withdrawn.then_some(EventKind::Withdrawn)).collect()
}

/// What a newer revision of a stored alert appends to its case: the one rule both backends revise by.
pub(super) struct Revision {
    /// Revised; withdrawn or reinstated if that changed; reopened if it escalated a closed case.
    pub(super) kinds: Vec<EventKind>,
    /// It raised the case to high (or onto the illegal-content path at high).
    pub(super) now_high: bool,
}

impl Revision {
    /// `old` is the alert as stored, `before` its case as the index last folded it (none: not indexed).
    pub(super) fn of(old: &Alert, inc: &Incoming<'_>, before: Option<&Case>) -> Revision {
        let alert = inc.alert;
        let mut kinds = vec![EventKind::Revised {
            from: old.revision,
            to: alert.revision,
            level: inc.grading.level,
            illegal_path: inc.grading.illegal_path,
        }];
        if alert.withdrawn && !old.withdrawn {
            kinds.push(EventKind::Withdrawn);
        }
        if old.withdrawn && !alert.withdrawn {
            kinds.push(EventKind::Reinstated);
        }
        let mut now_high = false;
        if let Some(before) = before {
            let escalated = inc.grading.level > before.level || inc.grading.illegal_path && !before.illegal_path;
            now_high = escalated && inc.grading.level == crate::domain::Level::High;
            if escalated && before.closed.is_some() {
                let reason = format!("the feed revised the alert: now {}", inc.grading.level);
                kinds.push(EventKind::Reopened { reason });
            }
        }
        Revision { kinds, now_high }
    }
}

impl Store {
    /// Stores a page: alerts (idempotent by source, id, revision), their events, the quarantined ones and
    /// the cursor that follows, in one transaction, then flushes.
    pub fn ingest_page(
        &self,
        incoming: &[Incoming<'_>],
        rejected: &[Rejected],
        staff_dropped: usize,
        cursor: Option<&str>,
        template_version: u32,
        now: DateTime<Utc>,
    ) -> Result<IngestReport> {
        self.space.room()?;
        if incoming.iter().any(|inc| inc.alert.withdrawn) {
            // Its withdrawals (if it makes any: a replayed one does not) are written at `now`.
            self.lower_settled_since(now)?;
        }
        let writing = self.event_writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut seqs = Vec::with_capacity(incoming.len() * EVENTS_PER_ALERT);
        for _ in 0..incoming.len() * EVENTS_PER_ALERT {
            seqs.push(self.next_id()?);
        }
        // Each alert has its own slot of event numbers, so that a new alert's values can be made before the
        // transaction.
        let slot = |i: usize| seqs[i * EVENTS_PER_ALERT..(i + 1) * EVENTS_PER_ALERT].iter().copied();
        // Sealing is about a quarter of the time a page takes to store, so the values each alert would store
        // if it were new are made first, on every core. For every alert: looking each one up first to skip
        // the few already stored (a revision, a replayed page), whose values the transaction then leaves,
        // cost more than it saved: 30,000 new alerts into the 100,000-case store took a median 1.60 s of CPU
        // with the look-up and 1.50 s without, 25,000 and 26,700 alerts/s (eight runs of each, interleaved,
        // of `bench_store ingest-into 100000 30000`).
        let prepared: Vec<NewCase> = incoming
            .par_iter()
            .enumerate()
            .with_min_len(PARALLEL_MIN)
            .map(|(i, inc)| self.new_case(inc, slot(i), template_version, now))
            .collect::<Result<_>>()?;
        let index_gap = std::cell::Cell::new(false);
        let trees = (&self.alerts, &self.events, &self.feed, &self.quarantine, &self.index_open, &self.index_closed);
        let result = trees.transaction(|(alerts, events, feed, quarantine, index_open, index_closed)| {
            let index = TxIndex { open: index_open, closed: index_closed };
            let mut report = IngestReport { staff_dropped, ..IngestReport::default() };
            let push_event = |key: &AlertKey,
                              kind: EventKind,
                              seq: Option<u64>|
             -> std::result::Result<CaseEvent, ConflictableTransactionError<StoreError>> {
                let mut k = case_key(key);
                k.extend_from_slice(&seq.unwrap_or(u64::MAX).to_be_bytes());
                let event = CaseEvent::new(now, "feed", kind);
                let value = self.seal(EVENTS, &k, &event).map_err(ConflictableTransactionError::Abort)?;
                events.insert(k, value)?;
                Ok(event)
            };
            for (i, inc) in incoming.iter().enumerate() {
                let alert = inc.alert;
                let k = case_key(&alert.key);
                let mut seq = slot(i);
                let existing: Option<Alert> = match alerts.get(&k)? {
                    Some(bytes) => {
                        Some(self.unseal("alert", ALERTS, &k, &bytes).map_err(ConflictableTransactionError::Abort)?)
                    }
                    None => None,
                };
                match existing {
                    None => {
                        let new = &prepared[i];
                        alerts.insert(k.as_slice(), new.alert.as_slice())?;
                        for (key, value) in &new.events {
                            events.insert(key.as_slice(), value.as_slice())?;
                        }
                        if let Some((value, open)) = &new.index {
                            index.put(&k, value.clone(), *open, None)?;
                        }
                        report.count_new(inc);
                    }
                    Some(old) if old.revision < alert.revision => {
                        // Sealed already, with the values it would have stored had it been new.
                        alerts.insert(k.as_slice(), prepared[i].alert.as_slice())?;
                        let entry: Option<(IndexEntry, bool)> = match index.get(&k)? {
                            Some((b, was_open)) => Some((
                                self.unseal_index(&k, &b).map_err(ConflictableTransactionError::Abort)?,
                                was_open,
                            )),
                            None => None,
                        };
                        let revision = Revision::of(&old, inc, entry.as_ref().map(|(e, _)| &e.case));
                        report.count_revision(&revision, alert);
                        let mut folded = Vec::with_capacity(revision.kinds.len());
                        for kind in revision.kinds {
                            folded.push(push_event(&alert.key, kind, seq.next())?);
                        }
                        if let Some((mut entry, was_open)) = entry {
                            for e in &folded {
                                entry.case.apply(e);
                            }
                            self.put_index(&index, &k, &IndexEntry::new(alert, entry.case), Some(was_open))?;
                        } else {
                            index_gap.set(true);
                        }
                    }
                    Some(_) => report.unchanged += 1,
                }
            }
            for r in rejected {
                // Keyed by the alert's own bytes, so a replayed page does not quarantine it twice.
                let key = quarantine_key(r);
                if quarantine.get(key)?.is_some() {
                    continue;
                }
                let value = self
                    .seal(QUARANTINE, &key, &Quarantined { received_at: now, rejected: r.clone() })
                    .map_err(ConflictableTransactionError::Abort)?;
                quarantine.insert(&key, value)?;
                report.quarantined += 1;
            }
            let mut state: FeedState = match feed.get("state")? {
                Some(bytes) => decode("feed state", &bytes).map_err(ConflictableTransactionError::Abort)?,
                None => FeedState::default(),
            };
            if let Some(c) = cursor {
                state.cursor = Some(c.to_string());
            }
            state.staff_dropped += staff_dropped as u64;
            feed.insert("state", encode("feed state", &state).map_err(ConflictableTransactionError::Abort)?)?;
            Ok(report)
        });
        drop(writing);
        let report = result.map_err(tx_error)?;
        if index_gap.get() {
            // The next open rebuilds it.
            self.meta.remove(META_INDEX)?;
        }
        self.flush()?;
        Ok(report)
    }

    /// Everything a new alert stores, sealed: the alert, its first events (numbered from `seqs`) and its
    /// index entry.
    pub(super) fn new_case(
        &self,
        inc: &Incoming<'_>,
        mut seqs: impl Iterator<Item = u64>,
        template_version: u32,
        now: DateTime<Utc>,
    ) -> Result<NewCase> {
        let alert = inc.alert;
        let k = case_key(&alert.key);
        let kinds = first_kinds(inc, template_version);
        let mut folded = Vec::with_capacity(2);
        let mut events = Vec::with_capacity(2);
        for kind in kinds {
            let mut ek = k.clone();
            ek.extend_from_slice(&seqs.next().unwrap_or(u64::MAX).to_be_bytes());
            let event = CaseEvent::new(now, inc.raised_by, kind);
            events.push((ek.clone(), self.seal(EVENTS, &ek, &event)?));
            folded.push(event);
        }
        let index = match Case::fold(alert.key.clone(), &folded) {
            Some(case) => {
                let entry = IndexEntry::new(alert, case);
                Some((self.seal_index(&k, &entry)?, entry.case.status().is_open()))
            }
            None => None,
        };
        Ok(NewCase { alert: self.seal(ALERTS, &k, alert)?, events, index })
    }
}
