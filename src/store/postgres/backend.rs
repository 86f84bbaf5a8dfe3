//! [`CaseStore`] for [`PgStore`]: each method is one of the modules' (and one transaction, for a write).

use std::path::Path;

use chrono::{DateTime, Utc};

use super::PgStore;
use crate::domain::{Alert, AlertKey, CaseEvent};
use crate::feed::protocol::Rejected;
use crate::store::audit_log::{AuditRecord, Entry};
use crate::store::backend::{CaseStore, IndexScan};
use crate::store::peers::{Announced, FeedLease, Listener};
use crate::store::{
    FeedState, HandoverAck, HandoverNote, Incoming, IndexEntry, IngestReport, MailboxMark, Quarantined, Result,
};

impl CaseStore for PgStore {
    fn alert(&self, key: &AlertKey) -> Result<Option<Alert>> {
        PgStore::alert(self, key)
    }
    fn events(&self, key: &AlertKey) -> Result<Vec<CaseEvent>> {
        PgStore::events(self, key)
    }
    fn case_events_len(&self, key: &AlertKey) -> Result<u64> {
        PgStore::case_events_len(self, key)
    }
    fn index_entry(&self, key: &AlertKey) -> Result<Option<IndexEntry>> {
        PgStore::index_entry(self, key)
    }
    fn scan_index(&self, which: IndexScan) -> Result<Vec<IndexEntry>> {
        PgStore::scan_index(self, which)
    }
    fn visit_index(&self, which: IndexScan, visit: &(dyn Fn(IndexEntry) + Sync)) -> Result<()> {
        PgStore::visit_index(self, which, visit)
    }
    fn settled_cases(&self) -> Result<Vec<(AlertKey, DateTime<Utc>)>> {
        PgStore::settled_cases(self)
    }
    fn settled_since(&self) -> Result<Option<DateTime<Utc>>> {
        PgStore::settled_since(self)
    }
    fn set_settled_since(&self, seen: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Result<()> {
        PgStore::set_settled_since(self, seen, at)
    }
    fn ingest_page(
        &self,
        incoming: &[Incoming<'_>],
        rejected: &[Rejected],
        staff_dropped: usize,
        cursor: Option<&str>,
        template_version: u32,
        now: DateTime<Utc>,
    ) -> Result<IngestReport> {
        PgStore::ingest_page(self, incoming, rejected, staff_dropped, cursor, template_version, now)
    }
    fn append_decision_at(&self, key: &AlertKey, expected_events: u64, events: &[(CaseEvent, Entry)]) -> Result<()> {
        let events: Vec<(&CaseEvent, Option<&Entry>)> = events.iter().map(|(e, a)| (e, Some(a))).collect();
        self.append_with(key, Some(expected_events), &events)
    }
    fn append_audited(&self, key: &AlertKey, event: &CaseEvent, entry: &Entry) -> Result<()> {
        self.append_with(key, None, &[(event, Some(entry))])
    }
    fn append(&self, key: &AlertKey, event: &CaseEvent) -> Result<()> {
        self.append_with(key, None, &[(event, None)])
    }
    fn alerts(&self) -> Box<dyn Iterator<Item = Result<Alert>> + '_> {
        match PgStore::alerts(self) {
            Ok(all) => Box::new(all.into_iter().map(Ok)),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }
    fn all_events(&self) -> Box<dyn Iterator<Item = Result<(AlertKey, CaseEvent)>> + '_> {
        match PgStore::all_events(self) {
            Ok(all) => Box::new(all.into_iter().map(Ok)),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }
    fn audit_append(&self, entry: &Entry) -> Result<AuditRecord> {
        PgStore::audit_append(self, entry)
    }
    fn purge_case(&self, key: &AlertKey, tombstone: &Entry) -> Result<()> {
        PgStore::purge_case(self, key, tombstone)
    }
    fn feed_state(&self) -> Result<FeedState> {
        PgStore::feed_state(self)
    }
    fn update_feed_state(&self, f: &dyn Fn(&mut FeedState)) -> Result<FeedState> {
        PgStore::update_feed_state(self, f)
    }
    fn replace_feed_state(&self, state: &FeedState) -> Result<()> {
        PgStore::replace_feed_state(self, state)
    }
    fn quarantined(&self) -> Result<Vec<Quarantined>> {
        PgStore::quarantined(self)
    }
    fn quarantine_count(&self) -> Result<usize> {
        PgStore::quarantine_count(self)
    }
    fn purge_quarantined(
        &self,
        expired: &dyn Fn(&DateTime<Utc>) -> bool,
        tombstone: &dyn Fn(usize) -> Entry,
    ) -> Result<usize> {
        PgStore::purge_quarantined(self, expired, tombstone)
    }
    fn blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        PgStore::blob(self, name)
    }
    fn put_blob(&self, name: &str, bytes: &[u8]) -> Result<()> {
        PgStore::put_blob(self, name, bytes)
    }
    fn remove_blob(&self, name: &str) -> Result<()> {
        PgStore::remove_blob(self, name)
    }
    fn has_cached_blob(&self, name: &str) -> Result<bool> {
        PgStore::has_cached_blob(self, name)
    }
    fn cached_blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        PgStore::cached_blob(self, name)
    }
    fn cached_blob_bytes(&self) -> Result<u64> {
        PgStore::cached_blob_bytes(self)
    }
    fn cache_blob(&self, name: &str, bytes: &[u8], cap: u64) -> Result<()> {
        PgStore::cache_blob(self, name, bytes, cap)
    }
    fn cached_blob_names(&self) -> Result<Vec<String>> {
        PgStore::cached_blob_names(self)
    }
    fn uncache_blob(&self, name: &str) -> Result<()> {
        PgStore::uncache_blob(self, name)
    }
    fn alert_count(&self) -> Result<usize> {
        PgStore::alert_count(self)
    }
    fn add_handover_note(&self, at: DateTime<Utc>, author: &str, text: &str, entry: &Entry) -> Result<HandoverNote> {
        PgStore::add_handover_note(self, at, author, text, entry)
    }
    fn handover_notes(&self, since: DateTime<Utc>) -> Result<Vec<HandoverNote>> {
        PgStore::handover_notes(self, since)
    }
    fn purge_handover_notes(
        &self,
        expired: &dyn Fn(&DateTime<Utc>) -> bool,
        tombstone: &dyn Fn(usize) -> Entry,
    ) -> Result<usize> {
        PgStore::purge_handover_notes(self, expired, tombstone)
    }
    fn acknowledge_handover(&self, ack: &HandoverAck, entry: &Entry) -> Result<()> {
        PgStore::acknowledge_handover(self, ack, entry)
    }
    fn handover_ack(&self, user: &str) -> Result<Option<HandoverAck>> {
        PgStore::handover_ack(self, user)
    }
    fn last_look(&self, user: &str) -> Result<Option<DateTime<Utc>>> {
        PgStore::last_look(self, user)
    }
    fn set_last_look(&self, user: &str, at: DateTime<Utc>) -> Result<()> {
        PgStore::set_last_look(self, user, at)
    }
    /// The database's disk is its administrators' to watch; a full one refuses writes, said as it says.
    fn mailbox_mark(&self, mailbox: &str) -> Result<Option<MailboxMark>> {
        PgStore::mailbox_mark(self, mailbox)
    }
    fn set_mailbox_mark(&self, mailbox: &str, mark: &MailboxMark) -> Result<()> {
        PgStore::set_mailbox_mark(self, mailbox, mark)
    }
    fn disk_low(&self) -> bool {
        false
    }
    /// Every write is committed before it returns: nothing waits to be flushed.
    fn flush(&self) -> Result<()> {
        Ok(())
    }
    fn path(&self) -> &Path {
        PgStore::path(self)
    }
    fn shared(&self) -> bool {
        true
    }
    fn case_writes_origin(&self) -> Option<&str> {
        Some(PgStore::case_writes_origin(self))
    }
    fn announce(&self, origin: &str, payload: &[u8]) -> Result<()> {
        PgStore::announce(self, origin, payload)
    }
    fn announced_after(&self, after: Option<u64>, origin: &str) -> Result<Announced> {
        PgStore::announced_after(self, after, origin)
    }
    fn listener(&self) -> Result<Option<Box<dyn Listener>>> {
        PgStore::listener(self).map(Some)
    }
    fn feed_lease(&self, feed: &str) -> Result<Option<Box<dyn FeedLease>>> {
        PgStore::feed_lease(self, feed)
    }
}
