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
        self.append_with(key, &[(event, None)])
    }

    /// Appends one event and its audit record in one transaction (the decision and the record of who made
    /// it are written together or not at all), folds the event into the index, and flushes.
    pub fn append_audited(&self, key: &AlertKey, event: &CaseEvent, entry: &Entry) -> Result<()> {
        self.append_with(key, &[(event, Some(entry))])
    }

    /// Appends the events of one decision, each with its audit record, in one transaction: a decision that
    /// takes more than one event (the illegal-content path, which also makes the case High) is written whole
    /// or not at all, and no reader sees half of it. Then folds them into the index, and flushes.
    pub fn append_decision(&self, key: &AlertKey, events: &[(CaseEvent, Entry)]) -> Result<()> {
        let events: Vec<(&CaseEvent, Option<&Entry>)> = events.iter().map(|(e, a)| (e, Some(a))).collect();
        self.append_with(key, &events)
    }

    /// Events in order, their fold into the index and (when given) their audit records, in one transaction;
    /// then a flush.
    pub(super) fn append_with(&self, key: &AlertKey, events: &[(&CaseEvent, Option<&Entry>)]) -> Result<()> {
        self.space.room()?;
        let writing = self.event_writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let ck = case_key(key);
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
        self.flush()
    }
}
