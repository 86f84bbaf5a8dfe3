//! The store boundary the case service speaks to: [`CaseStore`], which any backend implements.
//!
//! sled ([`Store`]) is the embedded default: one process, one data dir. A trust that runs one service for
//! several colleges wants a shared database instead; a PostgreSQL backend implements this same trait, with a
//! per-case sequence constraint (a unique `(case, seq)` row, the insert failing when another landed first)
//! where sled takes its event writer lock. The trait is object-safe, so the service can hold an
//! `Arc<dyn CaseStore>` and not know which one it has.
//!
//! Reading and checking the audit trail (`vigil audit verify`, `head`, `upgrade`) is `crate::audit::Trail`'s,
//! which lives with the checks; only the writes the service makes with its decisions are here.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::audit_log::{AuditRecord, Entry};
use super::peers::{Announced, FeedLease, Listener, SoleOwner};
use super::{
    FeedState, HandoverAck, HandoverNote, Incoming, IndexEntry, IngestReport, MailboxMark, Quarantined, RaisedHead,
    Result, Store,
};
use crate::domain::{Alert, AlertKey, CaseEvent};
use crate::feed::protocol::Rejected;

/// Which of the queue index's entries to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexScan {
    /// New, open or in progress: what the queue shows by default.
    Open,
    /// Closed or withdrawn.
    Closed,
    /// The open ones, then the rest.
    All,
}

/// What the case service needs of a store. Every write is durable when it returns.
pub trait CaseStore: Send + Sync {
    /// A case's alert, as the feed last sent it.
    fn alert(&self, key: &AlertKey) -> Result<Option<Alert>>;
    /// A case's events, in the order they were appended.
    fn events(&self, key: &AlertKey) -> Result<Vec<CaseEvent>>;
    /// How many events a case's log holds: what a decision is judged on ([`CaseStore::append_decision_at`]).
    fn case_events_len(&self, key: &AlertKey) -> Result<u64>;
    /// A case's entry in the queue index.
    fn index_entry(&self, key: &AlertKey) -> Result<Option<IndexEntry>>;
    /// The queue index's entries, decoded on every core: the open cases', then the rest's, each in key order.
    fn scan_index(&self, which: IndexScan) -> Result<Vec<IndexEntry>>;
    /// Each index entry `which` covers, decoded on every core and handed to `visit` as soon as it is
    /// decoded (from any thread, in no order): a caller that keeps a smaller summary of each never holds
    /// every entry at once (the queue's first read: half the peak memory of [`CaseStore::scan_index`]).
    fn visit_index(&self, which: IndexScan, visit: &(dyn Fn(IndexEntry) + Sync)) -> Result<()>;
    /// The cases whose alert was raised after `after`, as the trend tally keeps them, each handed to
    /// `visit` in turn on the calling thread. A backend that can read less than whole entries should: the
    /// tally's pass covers every case while the service runs (sled reads the front of each entry).
    fn visit_raised_after(&self, after: DateTime<Utc>, visit: &mut (dyn FnMut(RaisedHead) + Send)) -> Result<()> {
        let visit = std::sync::Mutex::new(visit);
        self.visit_index(IndexScan::All, &|entry: IndexEntry| {
            let raised_at = entry.head.raised_at.with_timezone(&Utc);
            if raised_at > after {
                let head = RaisedHead {
                    staff: entry.head.is_staff(),
                    subject_id: entry.head.subject.id,
                    key: entry.head.key,
                    raised_at,
                };
                (visit.lock().unwrap_or_else(std::sync::PoisonError::into_inner))(head);
            }
        })
    }
    /// The settled (closed or withdrawn) cases, with the time retention counts from.
    fn settled_cases(&self) -> Result<Vec<(AlertKey, DateTime<Utc>)>>;
    /// Retention's hint: no case was settled before this time (`None`: not known).
    fn settled_since(&self) -> Result<Option<DateTime<Utc>>>;
    /// Sets retention's hint, unless a settlement since `seen` lowered it.
    fn set_settled_since(&self, seen: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Result<()>;
    /// Stores a feed page, its quarantined alerts and its cursor, all or nothing.
    fn ingest_page(
        &self,
        incoming: &[Incoming<'_>],
        rejected: &[Rejected],
        staff_dropped: usize,
        cursor: Option<&str>,
        template_version: u32,
        now: DateTime<Utc>,
    ) -> Result<IngestReport>;
    /// Appends a decision's events with their audit records, all or nothing, only if the case's log still
    /// holds `expected_events` events; else [`super::StoreError::Conflict`] and nothing is written.
    fn append_decision_at(&self, key: &AlertKey, expected_events: u64, events: &[(CaseEvent, Entry)]) -> Result<()>;
    /// Appends one event with its audit record, together.
    fn append_audited(&self, key: &AlertKey, event: &CaseEvent, entry: &Entry) -> Result<()>;
    /// Appends an event that needs no audit record of its own (a first view).
    fn append(&self, key: &AlertKey, event: &CaseEvent) -> Result<()>;
    /// Every alert, in store order (reports read them all).
    fn alerts(&self) -> Box<dyn Iterator<Item = Result<Alert>> + '_>;
    /// Every case's events, in store order (reports read them all).
    fn all_events(&self) -> Box<dyn Iterator<Item = Result<(AlertKey, CaseEvent)>> + '_>;
    /// Appends an audit record that goes with no event (a view, an export).
    fn audit_append(&self, entry: &Entry) -> Result<AuditRecord>;
    /// Removes a case whole and leaves its tombstone in the audit trail, together.
    fn purge_case(&self, key: &AlertKey, tombstone: &Entry) -> Result<()>;
    fn feed_state(&self) -> Result<FeedState>;
    /// Read-modify-write of the feed state, atomic against other writers.
    fn update_feed_state(&self, f: &dyn Fn(&mut FeedState)) -> Result<FeedState>;
    /// The quarantined alerts, oldest first.
    /// Writes the feed state whole, whatever was there (the DSL's reset of one that cannot be read).
    fn replace_feed_state(&self, state: &FeedState) -> Result<()>;
    fn quarantined(&self) -> Result<Vec<Quarantined>>;
    /// How many alerts are quarantined (a database that cannot be asked says so, rather than none).
    fn quarantine_count(&self) -> Result<usize>;
    /// Removes the quarantined alerts `expired` says are, with one tombstone for them; how many went.
    fn purge_quarantined(
        &self,
        expired: &dyn Fn(&DateTime<Utc>) -> bool,
        tombstone: &dyn Fn(usize) -> Entry,
    ) -> Result<usize>;
    fn blob(&self, name: &str) -> Result<Option<Vec<u8>>>;
    fn put_blob(&self, name: &str, bytes: &[u8]) -> Result<()>;
    fn remove_blob(&self, name: &str) -> Result<()>;
    fn has_cached_blob(&self, name: &str) -> Result<bool>;
    fn cached_blob(&self, name: &str) -> Result<Option<Vec<u8>>>;
    fn cached_blob_bytes(&self) -> Result<u64>;
    /// Caches a screenshot, evicting the oldest beyond `cap` bytes (a cache: not flushed).
    fn cache_blob(&self, name: &str, bytes: &[u8], cap: u64) -> Result<()>;
    fn cached_blob_names(&self) -> Result<Vec<String>>;
    fn uncache_blob(&self, name: &str) -> Result<()>;
    fn alert_count(&self) -> Result<usize>;
    /// Writes a handover note (its text is content) with its audit record, together.
    fn add_handover_note(&self, at: DateTime<Utc>, author: &str, text: &str, entry: &Entry) -> Result<HandoverNote>;
    /// The handover notes written at or after `since`, oldest first.
    fn handover_notes(&self, since: DateTime<Utc>) -> Result<Vec<HandoverNote>>;
    /// Removes the handover notes `expired` says are (by when each was written), with one tombstone for
    /// them; how many went.
    fn purge_handover_notes(
        &self,
        expired: &dyn Fn(&DateTime<Utc>) -> bool,
        tombstone: &dyn Fn(usize) -> Entry,
    ) -> Result<usize>;
    /// Records a user's latest acknowledgement of the handover with its audit record, together.
    fn acknowledge_handover(&self, ack: &HandoverAck, entry: &Entry) -> Result<()>;
    /// A user's latest acknowledgement of the handover.
    fn handover_ack(&self, user: &str) -> Result<Option<HandoverAck>>;
    /// When a user last looked at the queue.
    fn last_look(&self, user: &str) -> Result<Option<DateTime<Utc>>>;
    /// Records when a user looked at the queue.
    fn set_last_look(&self, user: &str, at: DateTime<Utc>) -> Result<()>;
    /// Whether the disk is nearly full (say so: soon nothing new can be recorded).
    /// How far an IMAP mailbox has been read (`None`: never).
    fn mailbox_mark(&self, mailbox: &str) -> Result<Option<MailboxMark>>;
    /// Records how far a mailbox has been read, once what it covers is stored; flushed.
    fn set_mailbox_mark(&self, mailbox: &str, mark: &MailboxMark) -> Result<()>;
    fn disk_low(&self) -> bool;
    fn flush(&self) -> Result<()>;
    /// Where the store is (for messages; a database backend names its connection).
    fn path(&self) -> &Path;

    /// Whether other services may share this store (PostgreSQL), so that what this one changes must be
    /// announced to them.
    fn shared(&self) -> bool {
        false
    }
    /// The name under which this store records, in each transaction that writes cases, which cases it
    /// wrote ([`crate::store::peers::CaseWrite`]), so that the other services hear of a write exactly when
    /// it commits; `None` for a store that records none (one process owns it). A service on such a store
    /// announces under this name (skipping its own records and announcements alike) and no longer
    /// announces its case writes itself.
    fn case_writes_origin(&self) -> Option<&str> {
        None
    }
    /// Tells the other services on this store what changed (`payload`, sealed by the store; `origin`: the
    /// announcing service, so it can skip its own). A store one process owns has nobody to tell.
    fn announce(&self, _origin: &str, _payload: &[u8]) -> Result<()> {
        Ok(())
    }
    /// What services other than `origin` announced after `after` (`None`: only where the announcements
    /// stand now, to start from).
    fn announced_after(&self, after: Option<u64>, _origin: &str) -> Result<Announced> {
        Ok(Announced { last: after.unwrap_or(0), ..Announced::default() })
    }
    /// A listener woken by other services' announcements, or `None` when there can be no other service.
    fn listener(&self) -> Result<Option<Box<dyn Listener>>> {
        Ok(None)
    }
    /// The lease to poll the feed `feed` names, or `None` while another service holds it.
    fn feed_lease(&self, _feed: &str) -> Result<Option<Box<dyn FeedLease>>> {
        Ok(Some(Box::new(SoleOwner)))
    }
}

impl CaseStore for Store {
    fn alert(&self, key: &AlertKey) -> Result<Option<Alert>> {
        Store::alert(self, key)
    }
    fn events(&self, key: &AlertKey) -> Result<Vec<CaseEvent>> {
        Store::events(self, key)
    }
    fn case_events_len(&self, key: &AlertKey) -> Result<u64> {
        Store::case_events_len(self, key)
    }
    fn index_entry(&self, key: &AlertKey) -> Result<Option<IndexEntry>> {
        Store::index_entry(self, key)
    }
    fn scan_index(&self, which: IndexScan) -> Result<Vec<IndexEntry>> {
        match which {
            IndexScan::Open => self.index_map_open(Some),
            IndexScan::Closed => self.index_map_closed(Some),
            IndexScan::All => self.index_map(Some),
        }
    }
    fn visit_index(&self, which: IndexScan, visit: &(dyn Fn(IndexEntry) + Sync)) -> Result<()> {
        let each = |entry: IndexEntry| -> Option<()> {
            visit(entry);
            None
        };
        match which {
            IndexScan::Open => Store::index_map_open(self, each)?,
            IndexScan::Closed => Store::index_map_closed(self, each)?,
            IndexScan::All => Store::index_map(self, each)?,
        };
        Ok(())
    }
    fn visit_raised_after(&self, after: DateTime<Utc>, visit: &mut (dyn FnMut(RaisedHead) + Send)) -> Result<()> {
        Store::visit_raised_after(self, after, visit)
    }
    fn settled_cases(&self) -> Result<Vec<(AlertKey, DateTime<Utc>)>> {
        Store::settled_cases(self)
    }
    fn settled_since(&self) -> Result<Option<DateTime<Utc>>> {
        Store::settled_since(self)
    }
    fn set_settled_since(&self, seen: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Result<()> {
        Store::set_settled_since(self, seen, at)
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
        Store::ingest_page(self, incoming, rejected, staff_dropped, cursor, template_version, now)
    }
    fn append_decision_at(&self, key: &AlertKey, expected_events: u64, events: &[(CaseEvent, Entry)]) -> Result<()> {
        Store::append_decision_at(self, key, expected_events, events)
    }
    fn append(&self, key: &AlertKey, event: &CaseEvent) -> Result<()> {
        Store::append(self, key, event)
    }
    fn alerts(&self) -> Box<dyn Iterator<Item = Result<Alert>> + '_> {
        Box::new(Store::alerts(self))
    }
    fn all_events(&self) -> Box<dyn Iterator<Item = Result<(AlertKey, CaseEvent)>> + '_> {
        Box::new(Store::all_events(self))
    }
    fn append_audited(&self, key: &AlertKey, event: &CaseEvent, entry: &Entry) -> Result<()> {
        Store::append_audited(self, key, event, entry)
    }
    fn audit_append(&self, entry: &Entry) -> Result<AuditRecord> {
        Store::audit_append(self, entry)
    }
    fn purge_case(&self, key: &AlertKey, tombstone: &Entry) -> Result<()> {
        Store::purge_case(self, key, tombstone)
    }
    fn feed_state(&self) -> Result<FeedState> {
        Store::feed_state(self)
    }
    fn update_feed_state(&self, f: &dyn Fn(&mut FeedState)) -> Result<FeedState> {
        Store::update_feed_state(self, f)
    }
    fn replace_feed_state(&self, state: &FeedState) -> Result<()> {
        Store::replace_feed_state(self, state)
    }
    fn quarantined(&self) -> Result<Vec<Quarantined>> {
        Store::quarantined(self)
    }
    fn quarantine_count(&self) -> Result<usize> {
        Ok(Store::quarantine_count(self))
    }
    fn purge_quarantined(
        &self,
        expired: &dyn Fn(&DateTime<Utc>) -> bool,
        tombstone: &dyn Fn(usize) -> Entry,
    ) -> Result<usize> {
        Store::purge_quarantined(self, expired, tombstone)
    }
    fn blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Store::blob(self, name)
    }
    fn put_blob(&self, name: &str, bytes: &[u8]) -> Result<()> {
        Store::put_blob(self, name, bytes)
    }
    fn remove_blob(&self, name: &str) -> Result<()> {
        Store::remove_blob(self, name)
    }
    fn has_cached_blob(&self, name: &str) -> Result<bool> {
        Store::has_cached_blob(self, name)
    }
    fn cached_blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Store::cached_blob(self, name)
    }
    fn cached_blob_bytes(&self) -> Result<u64> {
        Store::cached_blob_bytes(self)
    }
    fn cache_blob(&self, name: &str, bytes: &[u8], cap: u64) -> Result<()> {
        Store::cache_blob(self, name, bytes, cap)
    }
    fn cached_blob_names(&self) -> Result<Vec<String>> {
        Store::cached_blob_names(self)
    }
    fn uncache_blob(&self, name: &str) -> Result<()> {
        Store::uncache_blob(self, name)
    }
    fn alert_count(&self) -> Result<usize> {
        Ok(Store::alert_count(self))
    }
    fn add_handover_note(&self, at: DateTime<Utc>, author: &str, text: &str, entry: &Entry) -> Result<HandoverNote> {
        Store::add_handover_note(self, at, author, text, entry)
    }
    fn handover_notes(&self, since: DateTime<Utc>) -> Result<Vec<HandoverNote>> {
        Store::handover_notes(self, since)
    }
    fn purge_handover_notes(
        &self,
        expired: &dyn Fn(&DateTime<Utc>) -> bool,
        tombstone: &dyn Fn(usize) -> Entry,
    ) -> Result<usize> {
        Store::purge_handover_notes(self, expired, tombstone)
    }
    fn acknowledge_handover(&self, ack: &HandoverAck, entry: &Entry) -> Result<()> {
        Store::acknowledge_handover(self, ack, entry)
    }
    fn handover_ack(&self, user: &str) -> Result<Option<HandoverAck>> {
        Store::handover_ack(self, user)
    }
    fn last_look(&self, user: &str) -> Result<Option<DateTime<Utc>>> {
        Store::last_look(self, user)
    }
    fn set_last_look(&self, user: &str, at: DateTime<Utc>) -> Result<()> {
        Store::set_last_look(self, user, at)
    }
    fn mailbox_mark(&self, mailbox: &str) -> Result<Option<MailboxMark>> {
        Store::mailbox_mark(self, mailbox)
    }
    fn set_mailbox_mark(&self, mailbox: &str, mark: &MailboxMark) -> Result<()> {
        Store::set_mailbox_mark(self, mailbox, mark)
    }
    fn disk_low(&self) -> bool {
        Store::disk_low(self)
    }
    fn flush(&self) -> Result<()> {
        Store::flush(self)
    }
    fn path(&self) -> &Path {
        Store::path(self)
    }
}

/// The stores the trait's tests run on: each test body takes a [`testing::Backend`] and runs once on sled
/// and once on PostgreSQL ([`on_both_backends`]), so both backends are held to the same behaviour.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use super::CaseStore;
    use crate::store::audit::Trail;
    use crate::store::postgres::test_cluster::cluster;
    use crate::store::postgres::{PgSettings, PgStore, schema};
    use crate::store::{Store, StoreKey};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Backend {
        Sled,
        Postgres,
    }

    /// A fresh store: its cases through the trait, its audit trail through [`Trail`].
    pub(crate) struct Opened {
        pub(crate) store: Arc<dyn CaseStore>,
        pub(crate) trail: Arc<dyn Trail>,
        _dir: tempfile::TempDir,
    }

    impl Backend {
        /// A new, empty store of this kind, with the tests' key.
        pub(crate) fn open(self) -> Opened {
            let dir = tempfile::tempdir().expect("tempdir");
            let key = StoreKey::bytes([1; 32]);
            match self {
                Backend::Sled => {
                    let store = Arc::new(Store::open(dir.path(), &key).expect("open"));
                    Opened { store: store.clone(), trail: store, _dir: dir }
                }
                Backend::Postgres => {
                    let store = Arc::new(PgStore::open(&pg_settings(), &key).expect("open"));
                    Opened { store: store.clone(), trail: store, _dir: dir }
                }
            }
        }
    }

    /// A fresh, migrated database of the tests' cluster, as its owner, for the school `north`.
    pub(crate) fn pg_settings() -> PgSettings {
        let cluster = cluster();
        let db = cluster.fresh_database();
        schema::migrate(&mut cluster.admin(&db).expect("connect")).expect("migrate");
        PgSettings { url: cluster.url(&db, "postgres"), password_file: None, ca_file: None, school: "north".into() }
    }

    /// Runs each named test body (a `fn(Backend)` in scope) once on each backend.
    macro_rules! on_both_backends {
        ($($name:ident),* $(,)?) => {
            mod on_sled {
                $(#[test]
                fn $name() {
                    super::$name($crate::store::backend::testing::Backend::Sled)
                })*
            }
            mod on_postgres {
                $(#[test]
                fn $name() {
                    super::$name($crate::store::backend::testing::Backend::Postgres)
                })*
            }
        };
    }
    pub(crate) use on_both_backends;
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::IndexScan;
    use super::testing::{Backend, on_both_backends};
    use crate::domain::alert::tests_support::sample_alert;
    use crate::domain::levels::Grading;
    use crate::domain::{EventKind, Level};
    use crate::feed::protocol::Rejected;
    use crate::store::audit::Verdict;
    use crate::store::audit_log::Entry;
    use crate::store::events::tests::a_note;
    use crate::store::{FeedState, Incoming, StoreError};

    on_both_backends!(
        a_decision_and_a_read_go_through_a_dyn_case_store,
        a_replayed_page_changes_nothing_and_a_newer_revision_is_one_revision,
        a_purged_case_leaves_its_tombstone_and_the_trail_verifies,
        the_feed_state_is_updated_whole_and_kept_with_the_page,
        quarantined_alerts_are_kept_once_and_purged_with_one_tombstone,
        handover_notes_are_sealed_read_back_and_purged_with_a_tombstone,
        a_mailboxs_mark_is_kept_per_mailbox_and_replaced_whole,
    );

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-10T10:05:00Z").expect("literal").with_timezone(&Utc)
    }

    fn medium() -> Grading {
        Grading { level: Level::Medium, illegal_path: false }
    }

    /// The service holds the store as `Arc<dyn CaseStore>`: a decision and the reads that judge it go
    /// through the trait, the check on the log's length included.
    fn a_decision_and_a_read_go_through_a_dyn_case_store(backend: Backend) {
        let opened = backend.open();
        let store = opened.store;
        let alert = sample_alert("D-1");
        let key = alert.key.clone();
        store
            .ingest_page(&[Incoming { alert: &alert, grading: medium(), raised_by: "feed" }], &[], 0, None, 1, at())
            .expect("ingest");
        let judged_on = store.case_events_len(&key).expect("count");
        assert_eq!(store.events(&key).expect("events").len() as u64, judged_on);
        store.append_decision_at(&key, judged_on, &[a_note(&key)]).expect("written");
        let stale = store.append_decision_at(&key, judged_on, &[a_note(&key)]);
        assert!(matches!(stale, Err(StoreError::Conflict { .. })), "{stale:?}");
        assert_eq!(store.case_events_len(&key).expect("count"), judged_on + 1);
        let open = store.scan_index(IndexScan::Open).expect("scan");
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].case.events as u64, judged_on + 1);
        assert!(store.scan_index(IndexScan::Closed).expect("scan").is_empty());
        assert_eq!(store.scan_index(IndexScan::All).expect("scan"), open);
        assert_eq!(store.index_entry(&key).expect("entry").as_ref(), open.first());
        assert!(store.alert(&key).expect("alert").is_some());
    }

    fn a_replayed_page_changes_nothing_and_a_newer_revision_is_one_revision(backend: Backend) {
        let opened = backend.open();
        let store = opened.store;
        let first = sample_alert("R-1");
        let page = [Incoming { alert: &first, grading: medium(), raised_by: "feed" }];
        let report = store.ingest_page(&page, &[], 0, Some("c1"), 1, at()).expect("ingest");
        assert_eq!((report.new, report.unchanged, report.revised), (1, 0, 0));
        let events = store.events(&first.key).expect("events");
        let again = store.ingest_page(&page, &[], 0, Some("c1"), 1, at()).expect("replayed");
        assert_eq!((again.new, again.unchanged, again.revised), (0, 1, 0), "(source, id, revision) seen: nothing new");
        assert_eq!(store.events(&first.key).expect("events"), events, "no event for a replay");
        assert_eq!(store.alert_count().expect("count"), 1);
        let mut newer = first.clone();
        newer.revision += 1;
        newer.withdrawn = true;
        let high = Grading { level: Level::High, illegal_path: false };
        let revised = store
            .ingest_page(&[Incoming { alert: &newer, grading: high, raised_by: "feed" }], &[], 0, Some("c2"), 1, at())
            .expect("revised");
        assert_eq!((revised.new, revised.revised, revised.new_high), (0, 1, 1));
        let kinds: Vec<_> = store.events(&first.key).expect("events").into_iter().map(|e| e.kind).collect();
        assert!(
            matches!(kinds.as_slice(), [EventKind::Raised { .. }, EventKind::Revised { to, .. }, EventKind::Withdrawn] if *to == newer.revision),
            "{kinds:?}"
        );
        let entry = store.index_entry(&first.key).expect("index").expect("indexed");
        assert_eq!(entry.head.revision, newer.revision);
        assert_eq!(entry.case.events, 3);
        assert!(store.scan_index(IndexScan::Open).expect("scan").is_empty(), "withdrawn: no longer open");
        assert_eq!(store.settled_cases().expect("settled").len(), 1);
        assert_eq!(store.feed_state().expect("state").cursor.as_deref(), Some("c2"));
    }

    fn a_purged_case_leaves_its_tombstone_and_the_trail_verifies(backend: Backend) {
        let opened = backend.open();
        let (store, trail) = (opened.store, opened.trail);
        let (kept, gone) = (sample_alert("K-1"), sample_alert("G-1"));
        let page = [
            Incoming { alert: &kept, grading: medium(), raised_by: "feed" },
            Incoming { alert: &gone, grading: medium(), raised_by: "feed" },
        ];
        store.ingest_page(&page, &[], 0, None, 1, at()).expect("ingest");
        for key in [&kept.key, &gone.key] {
            let n = store.case_events_len(key).expect("count");
            store.append_decision_at(key, n, &[a_note(key)]).expect("a decision");
        }
        store.audit_append(&Entry::new(at(), "dsl", None, "listed the queue")).expect("a view");
        let tombstone = Entry::new(at() + Duration::days(500), "retention", Some(&gone.key), "purged by retention");
        store.purge_case(&gone.key, &tombstone).expect("purged");
        assert_eq!(store.alert(&gone.key).expect("alert"), None);
        assert!(store.events(&gone.key).expect("events").is_empty());
        assert_eq!(store.index_entry(&gone.key).expect("index"), None);
        assert!(store.alert(&kept.key).expect("alert").is_some(), "the other case stays");
        let records = trail.records().expect("records");
        let last = records.last().expect("a tombstone");
        assert!(last.purge && last.case.as_deref() == Some(gone.key.to_string().as_str()), "{last:?}");
        match trail.verify_against(None).expect("verify") {
            Verdict::Intact { records: n, head, .. } => {
                assert_eq!(n, records.len() as u64);
                assert_eq!(head.seq, n);
            }
            other => panic!("the trail should verify after a purge: {other:?}"),
        }
    }

    /// How far each mailbox was read (IMAP), kept apart per mailbox and replaced whole.
    fn a_mailboxs_mark_is_kept_per_mailbox_and_replaced_whole(backend: Backend) {
        use crate::store::MailboxMark;
        let store = backend.open().store;
        let (inbox, other) =
            ("imap://alerts@imap.college.example:993/INBOX", "imap://alerts@imap.college.example:993/Alerts");
        assert_eq!(store.mailbox_mark(inbox).expect("read"), None);
        store.set_mailbox_mark(inbox, &MailboxMark { uid_validity: 9, last_uid: 41 }).expect("write");
        store.set_mailbox_mark(inbox, &MailboxMark { uid_validity: 9, last_uid: 50 }).expect("write");
        assert_eq!(store.mailbox_mark(inbox).expect("read"), Some(MailboxMark { uid_validity: 9, last_uid: 50 }));
        assert_eq!(store.mailbox_mark(other).expect("read"), None, "another folder has its own mark");
    }

    fn the_feed_state_is_updated_whole_and_kept_with_the_page(backend: Backend) {
        let opened = backend.open();
        let store = opened.store;
        assert_eq!(store.feed_state().expect("state"), FeedState::default());
        let updated = store
            .update_feed_state(&|s| {
                s.cursor = Some("after-7".into());
                s.last_success = Some(at());
            })
            .expect("updated");
        assert_eq!(store.feed_state().expect("state"), updated);
        let alert = sample_alert("F-1");
        store
            .ingest_page(
                &[Incoming { alert: &alert, grading: medium(), raised_by: "feed" }],
                &[],
                2,
                Some("after-8"),
                1,
                at(),
            )
            .expect("ingest");
        let state = store.feed_state().expect("state");
        assert_eq!(
            (state.cursor.as_deref(), state.staff_dropped, state.last_success),
            (Some("after-8"), 2, Some(at()))
        );
        store.replace_feed_state(&FeedState::default()).expect("reset");
        assert_eq!(store.feed_state().expect("state"), FeedState::default());
    }

    fn quarantined_alerts_are_kept_once_and_purged_with_one_tombstone(backend: Backend) {
        let opened = backend.open();
        let (store, trail) = (opened.store, opened.trail);
        let bad = Rejected { source: None, id: None, raw: "{\"id\": 7".into(), reason: "not JSON".into() };
        let report = store.ingest_page(&[], std::slice::from_ref(&bad), 0, None, 1, at()).expect("ingest");
        assert_eq!(report.quarantined, 1);
        let again = store.ingest_page(&[], std::slice::from_ref(&bad), 0, None, 1, at()).expect("replayed");
        assert_eq!(again.quarantined, 0, "the same alert is not quarantined twice");
        assert_eq!(store.quarantine_count().expect("count"), 1);
        assert_eq!(store.quarantined().expect("read")[0].rejected, bad);
        let purged = store
            .purge_quarantined(&|_| true, &|n| Entry::new(at(), "retention", None, format!("purged {n} quarantined")))
            .expect("purged");
        assert_eq!((purged, store.quarantine_count().expect("count")), (1, 0));
        assert_eq!(trail.records().expect("records").last().map(|r| r.what.as_str()), Some("purged 1 quarantined"));
        assert!(matches!(trail.verify_against(None).expect("verify"), Verdict::Intact { .. }));
    }

    fn handover_notes_are_sealed_read_back_and_purged_with_a_tombstone(backend: Backend) {
        let opened = backend.open();
        let (store, trail) = (opened.store, opened.trail);
        let entry = Entry::new(at(), "dsl", None, "wrote a handover note");
        let note = store.add_handover_note(at(), "dsl", "ring home about D-1", &entry).expect("written");
        let later = store.add_handover_note(at() + Duration::hours(1), "dsl", "second", &entry).expect("written");
        assert!(later.id > note.id);
        assert_eq!(store.handover_notes(at()).expect("read"), vec![note.clone(), later.clone()]);
        assert_eq!(store.handover_notes(at() + Duration::minutes(1)).expect("read"), vec![later.clone()]);
        store.set_last_look("ddsl", at()).expect("look");
        assert_eq!(store.last_look("ddsl").expect("look"), Some(at()));
        let purged = store
            .purge_handover_notes(&|t| *t < at() + Duration::minutes(1), &|n| {
                Entry::new(at(), "retention", None, format!("purged {n} notes"))
            })
            .expect("purged");
        assert_eq!(purged, 1);
        assert_eq!(store.handover_notes(at()).expect("read"), vec![later]);
        assert!(matches!(trail.verify_against(None).expect("verify"), Verdict::Intact { .. }));
    }
}
