//! A case's event log: reading it, appending to it (each event folded into the index and, for a decision,
//! recorded in the audit trail, in the same transaction) and purging a case whole.

use sled::transaction::{ConflictableTransactionError, Transactional};

use super::audit_log::{Entry, append_tx};
use super::index::{IndexEntry, TxIndex};
use super::keys::{EVENTS, case_key, parse_case_key};
use super::{Result, Store, StoreError, tx_error};
use crate::domain::{AlertKey, CaseEvent, EventKind};

impl Store {
    /// Every case's events, grouped by case, in key order.
    pub fn all_events(&self) -> impl Iterator<Item = Result<(AlertKey, CaseEvent)>> + '_ {
        self.events.iter().map(|kv| {
            let (k, v) = kv?;
            let (key, _) = parse_case_key(&k)
                .ok_or_else(|| StoreError::Corrupt { what: "event key".into(), detail: format!("{k:?}") })?;
            Ok((key, self.unseal("event", EVENTS, &k, &v)?))
        })
    }

    pub fn events(&self, key: &AlertKey) -> Result<Vec<CaseEvent>> {
        self.events
            .scan_prefix(case_key(key))
            .map(|kv| {
                let (k, v) = kv?;
                self.unseal("event", EVENTS, &k, &v)
            })
            .collect()
    }

    /// Appends one event (and folds it into the index, in the same transaction) and flushes: a decision is
    /// acknowledged only after this returns.
    pub fn append(&self, key: &AlertKey, event: &CaseEvent) -> Result<()> {
        self.append_with(key, None, &[(event, None)])
    }

    /// How many events the case's log holds: what a decision is judged on, and what
    /// [`Store::append_decision_at`] checks still holds when it writes. Counts keys only (nothing is
    /// decrypted). Read it with the events the decision is judged on; an append between the two is caught
    /// by that check, not missed.
    pub fn case_events_len(&self, key: &AlertKey) -> Result<u64> {
        self.events_len(&case_key(key))
    }

    fn events_len(&self, case_key: &[u8]) -> Result<u64> {
        let mut n = 0;
        for k in self.events.scan_prefix(case_key).keys() {
            k?;
            n += 1;
        }
        Ok(n)
    }

    /// Appends one event and its audit record in one transaction (the decision and the record of who made
    /// it are written together or not at all), folds the event into the index, and flushes.
    pub fn append_audited(&self, key: &AlertKey, event: &CaseEvent, entry: &Entry) -> Result<()> {
        self.append_with(key, None, &[(event, Some(entry))])
    }

    /// Appends the events of one decision, each with its audit record, in one transaction: a decision that
    /// takes more than one event (the illegal-content path, which also makes the case High) is written whole
    /// or not at all, and no reader sees half of it. Then folds them into the index, and flushes.
    pub fn append_decision(&self, key: &AlertKey, events: &[(CaseEvent, Entry)]) -> Result<()> {
        let events: Vec<(&CaseEvent, Option<&Entry>)> = events.iter().map(|(e, a)| (e, Some(a))).collect();
        self.append_with(key, None, &events)
    }

    /// [`Store::append_decision`], only if the case's log still holds `expected_events` events (as
    /// [`Store::case_events_len`] said when the decision was judged): checked under the lock that every
    /// event append and page ingest holds from numbering its events to committing them, so nothing can
    /// land between the check and the write. Otherwise [`StoreError::Conflict`], and nothing is written (no
    /// event, no audit record, no index change): the caller judges the decision again on the case as it is.
    pub fn append_decision_at(
        &self,
        key: &AlertKey,
        expected_events: u64,
        events: &[(CaseEvent, Entry)],
    ) -> Result<()> {
        let events: Vec<(&CaseEvent, Option<&Entry>)> = events.iter().map(|(e, a)| (e, Some(a))).collect();
        self.append_with(key, Some(expected_events), &events)
    }

    /// Events in order, their fold into the index and (when given) their audit records, in one transaction;
    /// then a flush. With `expected`, only if the case's log holds that many events when the lock is taken.
    fn append_with(
        &self,
        key: &AlertKey,
        expected: Option<u64>,
        events: &[(&CaseEvent, Option<&Entry>)],
    ) -> Result<()> {
        self.space.room()?;
        let writing = self.event_writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let ck = case_key(key);
        if let Some(expected) = expected {
            let found = self.events_len(&ck)?;
            if found != expected {
                return Err(StoreError::Conflict { case: key.to_string(), expected, found });
            }
        }
        let mut sealed = Vec::with_capacity(events.len());
        let mut records = Vec::new();
        for (event, audit_entry) in events {
            let mut k = ck.clone();
            k.extend_from_slice(&self.next_id()?.to_be_bytes());
            let value = self.seal(EVENTS, &k, event)?;
            // The record names the event it records, so `vigil audit verify` can find one without the other.
            if let Some(e) = audit_entry {
                records.push(Entry { event: Some(event.id), ..(*e).clone() });
            }
            if let EventKind::Closed { .. } = event.kind {
                self.lower_settled_since(event.at)?;
            }
            sealed.push((k, value));
        }
        (&self.events, &self.index_open, &self.index_closed, &self.audit)
            .transaction(|(events_tree, index_open, index_closed, audit)| {
                let index = TxIndex { open: index_open, closed: index_closed };
                for (k, value) in &sealed {
                    events_tree.insert(k.as_slice(), value.as_slice())?;
                }
                if let Some((bytes, was_open)) = index.get(&ck)? {
                    let mut entry: IndexEntry =
                        self.unseal_index(&ck, &bytes).map_err(ConflictableTransactionError::Abort)?;
                    for (event, _) in events {
                        entry.case.apply(event);
                    }
                    self.put_index(&index, &ck, &entry, Some(was_open))?;
                }
                for e in &records {
                    append_tx(audit, &self.audit_key, e)?;
                }
                Ok(())
            })
            .map_err(tx_error)?;
        drop(writing);
        self.flush()
    }

    /// Removes a case (its alert, every event and its index entry) and appends its tombstone to the audit
    /// trail, in one transaction, then flushes. Cached screenshots are the caller's to drop
    /// ([`Store::uncache_blob`]).
    pub fn purge_case(&self, key: &AlertKey, tombstone: &Entry) -> Result<()> {
        self.space.room()?;
        // Under the writer lock, so that a decision checked against the case's log cannot land on a case
        // being purged.
        let writing = self.event_writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let ck = case_key(key);
        let event_keys = self.events.scan_prefix(&ck).keys().collect::<std::result::Result<Vec<_>, _>>()?;
        let tombstone = Entry { purge: true, ..tombstone.clone() };
        (&self.alerts, &self.events, &self.index_open, &self.index_closed, &self.audit)
            .transaction(|(alerts, events, index_open, index_closed, audit)| {
                alerts.remove(ck.as_slice())?;
                for k in &event_keys {
                    events.remove(k)?;
                }
                TxIndex { open: index_open, closed: index_closed }.remove(&ck)?;
                append_tx(audit, &self.audit_key, &tombstone)?;
                Ok(())
            })
            .map_err(tx_error)?;
        drop(writing);
        self.flush()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use chrono::{DateTime, Utc};

    use crate::domain::alert::tests_support::sample_alert;
    use crate::domain::levels::Grading;
    use crate::domain::{AlertKey, CaseEvent, EventKind, Level};
    use crate::store::audit_log::Entry;
    use crate::store::backend::testing::{Backend, on_both_backends};
    use crate::store::{Incoming, StoreError};

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-10T10:05:00Z").expect("literal").with_timezone(&Utc)
    }

    /// A store holding one new case, `D-1`.
    pub(crate) fn a_note(key: &AlertKey) -> (CaseEvent, Entry) {
        let event = CaseEvent::new(at(), "dsl", EventKind::NoteAdded { text: "a note".into() });
        (event, Entry::new(at(), "dsl", Some(key), "added a note"))
    }

    on_both_backends!(a_decision_on_a_stale_count_is_refused_and_writes_nothing);

    fn a_decision_on_a_stale_count_is_refused_and_writes_nothing(backend: Backend) {
        let opened = backend.open();
        let (store, trail) = (opened.store, opened.trail);
        let alert = sample_alert("D-1");
        let grading = Grading { level: Level::Medium, illegal_path: false };
        store
            .ingest_page(&[Incoming { alert: &alert, grading, raised_by: "feed" }], &[], 0, None, 1, at())
            .expect("ingest");
        let key = alert.key;
        let judged_on = store.case_events_len(&key).expect("count");
        assert_eq!(judged_on, store.events(&key).expect("events").len() as u64);
        store.append(&key, &CaseEvent::new(at(), "feed", EventKind::Withdrawn)).expect("a change in between");
        let (events, index, records) = (
            store.events(&key).expect("events"),
            store.index_entry(&key).expect("index"),
            trail.records().expect("records").len(),
        );
        let refused = store.append_decision_at(&key, judged_on, &[a_note(&key)]);
        assert!(
            matches!(refused, Err(StoreError::Conflict { expected, found, .. }) if expected == judged_on && found == judged_on + 1),
            "{refused:?}"
        );
        assert_eq!(store.events(&key).expect("events"), events, "no event");
        assert_eq!(store.index_entry(&key).expect("index"), index, "no index change");
        assert_eq!(trail.records().expect("records").len(), records, "no audit record");
        let now = store.case_events_len(&key).expect("count");
        store.append_decision_at(&key, now, &[a_note(&key)]).expect("written");
        assert_eq!(store.case_events_len(&key).expect("count"), now + 1);
        assert_eq!(trail.records().expect("records").len(), records + 1);
        assert_eq!(store.index_entry(&key).expect("index").expect("indexed").case.events as u64, now + 1);
    }
}
