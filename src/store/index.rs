//! The queue index: one small record per case ([`IndexEntry`]) in a tree for the open cases and one for
//! the rest, written in the same transaction as the events it folds; rebuilt from the log when in doubt,
//! scanned (decoded on every core) to open the queue, and read by retention.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionalTree, UnabortableTransactionError};

use super::codec::{encode_error, open_plain, seal_plain};
use super::crypto::Cipher;
use super::keys::{be_i64, case_key, micros_to_time, parse_case_key};
use super::{Result, Store, StoreError};
use crate::domain::{Alert, AlertKey, Case, CaseEvent};

/// The associated data every index value is sealed with, in either of the index's trees (so an entry reads
/// the same in both); once also the name of the one tree the index was, before it was split in two.
pub(super) const INDEX: &str = "index";
/// The index entries of the open cases (new, open or in progress) and of the rest (closed or withdrawn).
/// The queue's first frame reads only the open ones (the default view shows open cases, and in a store of
/// some years most are closed), and retention only the rest. A case's entry moves between them in the
/// transaction that changes its status. Which tree holds it is not content: the audit trail, kept in the
/// clear, says when each case was closed.
pub(super) const INDEX_OPEN: &str = "index-open";
pub(super) const INDEX_CLOSED: &str = "index-closed";

/// [`INDEX_COMPLETE`] while the index holds an entry for every alert in the current encoding; removed
/// whenever that may not hold. Opening reads it instead of counting both trees (which reads every alert,
/// and was most of the time it took to open a large store).
pub(super) const META_INDEX: &[u8] = b"index";
pub(super) const INDEX_COMPLETE: &[u8] =
    b"complete, postcard 7, open and closed trees, team fields, received and last event, phoned-in alerts, mail origin";
/// Retention's hint: no case in the store was closed or withdrawn before this time (microseconds since the
/// epoch, big endian). A lower bound: closing and withdrawing lower it; reopening, reinstating and purging
/// leave it. Absent: not known.
pub(super) const META_SETTLED_SINCE: &[u8] = b"settled-since";
/// The hint of earlier vigils, which counted closes only: dropped when the index is rebuilt for this one.
pub(super) const META_CLOSED_SINCE_BEFORE: &[u8] = b"closed-since";

/// The queue's view of one case: the alert without its bulkier content (context, captures) and the
/// folded case. Kept in the index's trees, written in the same transaction as the events it folds, so the
/// queue opens from one small record per case instead of every alert and every event.
///
/// The case here has no `done` items (what was ticked, with values and notes, is the detail pane's, which
/// folds the events): the queue never reads them, and they were half of every entry. Entries are kept in
/// postcard, not JSON (see [`INDEX_POSTCARD`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub head: Alert,
    pub case: Case,
}

impl IndexEntry {
    pub(super) fn new(alert: &Alert, case: Case) -> IndexEntry {
        // The summary stays: the queue filter searches it. Context and captures are for the detail pane.
        let head = Alert { context: None, captures: Vec::new(), ..alert.clone() };
        IndexEntry { head, case }
    }
}

/// The first byte of an index value in its own encoding (inside the seal): postcard, compact and several
/// times faster to decode than JSON, which matters because opening the queue decodes every entry. The index
/// is derived data, so unlike alerts and events it need not read what an earlier vigil wrote: an index in
/// an earlier encoding or layout (JSON envelopes, once) is rebuilt from the log at the next open.
pub(super) const INDEX_POSTCARD: u8 = 0xB1;

/// An index value after its format byte: first the time retention counts from (microseconds since the
/// epoch; see [`Case::settled`]), so retention reads it without decoding the rest ([`Store::settled_cases`]).
#[derive(Serialize)]
pub(super) struct IndexOut<'a> {
    settled_at: Option<i64>,
    head: &'a Alert,
    case: &'a Case,
}

#[derive(Deserialize)]
pub(super) struct IndexIn {
    #[allow(dead_code)] // read on its own by `settled_cases`
    settled_at: Option<i64>,
    head: Alert,
    case: Case,
}

/// What the trend tally keeps of one case ([`Store::visit_raised_after`]): its key, its subject, when its
/// alert was raised and whether it is about staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedHead {
    pub key: AlertKey,
    pub subject_id: String,
    pub raised_at: DateTime<Utc>,
    pub staff: bool,
}

/// The front of an index value, borrowed from it: [`IndexOut`]'s `settled_at`, then the fields [`Alert`]
/// serializes first, up to and including its subject's kind and id. Postcard writes a struct's fields one
/// after another with nothing between, so these decode from the front of a whole entry and the rest is
/// never read (`raised_heads_match_the_whole_entries` holds this to [`Alert`]'s order).
#[derive(Deserialize)]
struct HeadFront<'a> {
    _settled_at: Option<i64>,
    #[serde(borrow)]
    key: KeyFront<'a>,
    _revision: u32,
    raised_at: DateTime<chrono::FixedOffset>,
    _risk: Option<u8>,
    _level: Option<crate::domain::Level>,
    _category: &'a str,
    _delivered_by: Option<crate::domain::alert::Delivery>,
    #[serde(borrow)]
    subject: SubjectFront<'a>,
}

#[derive(Deserialize)]
struct KeyFront<'a> {
    source: &'a str,
    id: &'a str,
}

#[derive(Deserialize)]
struct SubjectFront<'a> {
    kind: crate::domain::alert::SubjectKind,
    id: &'a str,
}

/// Decodes what `raw` yields on every core (rayon's pool), keeping its order; `f` may drop an item
/// (`None`). The caller's thread reads (sled) while the pool decrypts and decodes, a chunk at a time; the
/// reader waits for a decoded chunk whenever twice as many as the pool has threads are in flight, so only a
/// few chunks of raw values are held at once.
pub(super) fn par_decode<T: Send>(
    raw: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
    f: impl Fn(&[u8], &[u8]) -> Result<Option<T>> + Sync,
) -> Result<Vec<T>> {
    const CHUNK: usize = 1024;
    type Chunk = Vec<(sled::IVec, sled::IVec)>;
    let run = |chunk: &Chunk| -> Result<Vec<T>> { chunk.iter().filter_map(|(k, v)| f(k, v).transpose()).collect() };
    let mut raw = raw.peekable();
    let first: Chunk = raw.by_ref().take(CHUNK).collect::<std::result::Result<_, _>>()?;
    if raw.peek().is_none() || rayon::current_num_threads() == 1 {
        // Small (or one core): no threads.
        let mut out = run(&first)?;
        for kv in raw {
            let (k, v) = kv?;
            out.extend(f(&k, &v)?);
        }
        return Ok(out);
    }
    let most_in_flight = rayon::current_num_threads() * 2;
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<Vec<T>>)>();
    let mut parts = Vec::new();
    let read = rayon::in_place_scope(|s| -> Result<()> {
        let (run, mut chunk, mut i) = (&run, first, 0usize);
        loop {
            let tx = tx.clone();
            s.spawn(move |_| {
                // A panic here comes back as an error, never as a reader waiting for a chunk that never comes.
                let decoded =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&chunk))).unwrap_or_else(|_| {
                        Err(StoreError::Corrupt { what: "index entry".into(), detail: "decoding it failed".into() })
                    });
                // The receiver outlives the scope, so this cannot fail.
                let _ = tx.send((i, decoded));
            });
            i += 1;
            while i - parts.len() >= most_in_flight {
                parts.extend(rx.recv().ok());
            }
            chunk = raw.by_ref().take(CHUNK).collect::<std::result::Result<Chunk, _>>()?;
            if chunk.is_empty() {
                return Ok(());
            }
        }
    });
    drop(tx);
    parts.extend(rx.iter());
    read?;
    parts.sort_unstable_by_key(|(i, _)| *i);
    let mut out = Vec::new();
    for (_, part) in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// The index's two trees ([`INDEX_OPEN`], [`INDEX_CLOSED`]) inside a transaction.
pub(super) struct TxIndex<'a> {
    pub(super) open: &'a TransactionalTree,
    pub(super) closed: &'a TransactionalTree,
}

impl TxIndex<'_> {
    /// A case's sealed entry, and whether the open tree holds it.
    pub(super) fn get(
        &self,
        key: &[u8],
    ) -> std::result::Result<Option<(sled::IVec, bool)>, UnabortableTransactionError> {
        if let Some(v) = self.open.get(key)? {
            return Ok(Some((v, true)));
        }
        Ok(self.closed.get(key)?.map(|v| (v, false)))
    }

    /// Writes a case's sealed entry into the tree for its status, and takes it out of the other if that is
    /// where it was (`was_open`, as [`TxIndex::get`] found it; `None` for a case not indexed before).
    pub(super) fn put(
        &self,
        key: &[u8],
        sealed: Vec<u8>,
        open: bool,
        was_open: Option<bool>,
    ) -> std::result::Result<(), UnabortableTransactionError> {
        let (to, from) = if open { (self.open, self.closed) } else { (self.closed, self.open) };
        to.insert(key, sealed)?;
        if was_open == Some(!open) {
            from.remove(key)?;
        }
        Ok(())
    }

    pub(super) fn remove(&self, key: &[u8]) -> std::result::Result<(), UnabortableTransactionError> {
        self.open.remove(key)?;
        self.closed.remove(key)?;
        Ok(())
    }
}

/// An index value not in the current encoding: only an index the current vigil rebuilt is read (see
/// [`INDEX_COMPLETE`]), so this is damage, not age.
pub(super) fn index_encoding_error() -> StoreError {
    StoreError::Corrupt { what: "index entry".into(), detail: "not in the index's encoding".into() }
}

impl Store {
    /// Rebuilds the queue index from the alerts and the event log, the source of truth.
    pub fn rebuild_index(&self) -> Result<()> {
        self.meta.remove(META_INDEX)?;
        let mut events: std::collections::HashMap<AlertKey, Vec<CaseEvent>> = std::collections::HashMap::new();
        for item in self.all_events() {
            let (key, event) = item?;
            events.entry(key).or_default().push(event);
        }
        self.db.drop_tree(INDEX)?;
        self.meta.remove(META_CLOSED_SINCE_BEFORE)?;
        self.index_open.clear()?;
        self.index_closed.clear()?;
        for alert in self.alerts() {
            let alert = alert?;
            let Some(case) = events.get(&alert.key).and_then(|evs| Case::fold(alert.key.clone(), evs)) else {
                continue;
            };
            let k = case_key(&alert.key);
            let tree = if case.status().is_open() { &self.index_open } else { &self.index_closed };
            tree.insert(&k, self.seal_index(&k, &IndexEntry::new(&alert, case))?)?;
        }
        self.meta.insert(META_INDEX, INDEX_COMPLETE)?;
        self.flush()
    }

    /// Every case's index entry: the open cases', then the rest's, each in key order.
    pub fn index_entries(&self) -> impl Iterator<Item = Result<IndexEntry>> + '_ {
        self.index_open.iter().chain(self.index_closed.iter()).map(|kv| {
            let (k, v) = kv?;
            self.unseal_index(&k, &v)
        })
    }

    /// Every case's index entry, decoded in parallel on every core and passed through `f` (which may drop
    /// it): the open cases', then the rest's, each in key order.
    pub fn index_map<T: Send>(&self, f: impl Fn(IndexEntry) -> Option<T> + Sync) -> Result<Vec<T>> {
        par_decode(self.index_open.iter().chain(self.index_closed.iter()), |k, v| Ok(f(self.unseal_index(k, v)?)))
    }

    /// The closed cases and the ones withdrawn and never closed, with the time retention counts from for
    /// each ([`Case::settled`]), read from the front of their index entries.
    pub fn settled_cases(&self) -> Result<Vec<(AlertKey, DateTime<Utc>)>> {
        // An open case is neither closed nor withdrawn, so only the other tree is read.
        par_decode(self.index_closed.iter(), |k, v| {
            let plain = self.unseal_bytes("index entry", INDEX, k, v)?;
            let settled = match plain.split_first() {
                Some((&INDEX_POSTCARD, rest)) => postcard::take_from_bytes::<Option<i64>>(rest)
                    .map_err(|e| StoreError::Corrupt { what: "index entry".into(), detail: e.to_string() })?
                    .0
                    .and_then(DateTime::from_timestamp_micros),
                _ => return Err(index_encoding_error()),
            };
            let key = || {
                parse_case_key(k)
                    .map(|(key, _)| key)
                    .ok_or_else(|| StoreError::Corrupt { what: "index key".into(), detail: format!("{k:?}") })
            };
            settled.map(|at| Ok((key()?, at))).transpose()
        })
    }

    /// Retention's hint: no case in the store was closed or withdrawn before the time it returns (`None`: not
    /// known, read [`Store::settled_cases`]). Lets opening skip reading every case when nothing can have
    /// expired.
    pub fn settled_since(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self.meta.get(META_SETTLED_SINCE)?.map(|v| be_i64(&v)).map(micros_to_time))
    }

    /// Sets retention's hint to `at` (the earliest time found by a read of [`Store::settled_cases`] that
    /// began when the hint was `seen`), unless a close or a withdrawal since then lowered it.
    pub fn set_settled_since(&self, seen: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Result<()> {
        if self.space.room().is_err() {
            return Ok(()); // a hint: the next open works it out again
        }
        let seen = seen.map(|t| t.timestamp_micros());
        let at = at.timestamp_micros();
        self.meta.fetch_and_update(META_SETTLED_SINCE, |old| {
            let old = old.map(be_i64);
            Some(if old == seen { at } else { old.map_or(at, |o| o.min(at)) }.to_be_bytes().to_vec())
        })?;
        Ok(())
    }

    /// Lowers retention's hint to `at`, before a close or a withdrawal at `at` is written, so that the hint is
    /// never later than a stored one. An unknown hint stays unknown.
    pub(super) fn lower_settled_since(&self, at: DateTime<Utc>) -> Result<()> {
        let at = at.timestamp_micros();
        // It is the earliest close or withdrawal kept, so usually already lower: then nothing is written.
        if self.meta.get(META_SETTLED_SINCE)?.is_none_or(|v| be_i64(&v) <= at) {
            return Ok(());
        }
        self.meta.fetch_and_update(META_SETTLED_SINCE, |old| old.map(|v| be_i64(v).min(at).to_be_bytes().to_vec()))?;
        Ok(())
    }

    /// The cases whose alert was raised after `after` (the trend window), from every index entry: the open
    /// cases', then the rest's. Only the front of each entry is decoded ([`HeadFront`], borrowed, nothing
    /// allocated for a case outside the window), one entry after another on the calling thread: this pass
    /// reads the whole index while the service runs, and decoding every entry whole on every core left
    /// about 40 MB of the decoding threads' scratch memory with the allocator (issue 15's budget).
    pub fn visit_raised_after(&self, after: DateTime<Utc>, visit: &mut (dyn FnMut(RaisedHead) + Send)) -> Result<()> {
        let corrupt = |e: postcard::Error| StoreError::Corrupt { what: "index entry".into(), detail: e.to_string() };
        for kv in self.index_open.iter().chain(self.index_closed.iter()) {
            let (k, v) = kv?;
            let plain = self.unseal_bytes("index entry", INDEX, &k, &v)?;
            let front = match plain.split_first() {
                Some((&INDEX_POSTCARD, rest)) => postcard::take_from_bytes::<HeadFront<'_>>(rest).map_err(corrupt)?.0,
                _ => return Err(index_encoding_error()),
            };
            let raised_at = front.raised_at.with_timezone(&Utc);
            if raised_at > after {
                visit(RaisedHead {
                    key: AlertKey::new(front.key.source, front.key.id),
                    subject_id: front.subject.id.to_string(),
                    raised_at,
                    staff: front.subject.kind == crate::domain::alert::SubjectKind::Staff,
                });
            }
        }
        Ok(())
    }

    /// [`Store::index_map`] of the open cases only (what the queue shows by default).
    pub fn index_map_open<T: Send>(&self, f: impl Fn(IndexEntry) -> Option<T> + Sync) -> Result<Vec<T>> {
        par_decode(self.index_open.iter(), |k, v| Ok(f(self.unseal_index(k, v)?)))
    }

    /// [`Store::index_map`] of the cases that are not open (closed or withdrawn): the rest of the queue.
    pub fn index_map_closed<T: Send>(&self, f: impl Fn(IndexEntry) -> Option<T> + Sync) -> Result<Vec<T>> {
        par_decode(self.index_closed.iter(), |k, v| Ok(f(self.unseal_index(k, v)?)))
    }

    pub fn index_entry(&self, key: &AlertKey) -> Result<Option<IndexEntry>> {
        let k = case_key(key);
        match self.index_open.get(&k)?.map_or_else(|| self.index_closed.get(&k), |v| Ok(Some(v)))? {
            Some(bytes) => Ok(Some(self.unseal_index(&k, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Writes a case's index entry into the tree for its status ([`TxIndex::put`]).
    pub(super) fn put_index(
        &self,
        index: &TxIndex<'_>,
        key: &[u8],
        entry: &IndexEntry,
        was_open: Option<bool>,
    ) -> std::result::Result<(), ConflictableTransactionError<StoreError>> {
        let sealed = self.seal_index(key, entry).map_err(ConflictableTransactionError::Abort)?;
        Ok(index.put(key, sealed, entry.case.status().is_open(), was_open)?)
    }

    /// Seals an index entry in its own encoding ([`INDEX_POSTCARD`]), without the case's done items.
    pub(super) fn seal_index(&self, key: &[u8], entry: &IndexEntry) -> Result<Vec<u8>> {
        seal_index_entry(&self.cipher, key, entry)
    }

    /// Opens an index entry sealed by [`Store::seal_index`].
    pub(super) fn unseal_index(&self, key: &[u8], bytes: &[u8]) -> Result<IndexEntry> {
        open_index_entry(&self.cipher, key, bytes)
    }
}

/// Seals an index entry in its own encoding ([`INDEX_POSTCARD`]), without the case's done items: the one
/// rule both backends keep their queue index by.
pub(super) fn seal_index_entry(cipher: &Cipher, key: &[u8], entry: &IndexEntry) -> Result<Vec<u8>> {
    let case = Case { done: Default::default(), ..entry.case.clone() };
    let settled_at = case.settled().map(|at| at.timestamp_micros());
    let mut plain = vec![INDEX_POSTCARD];
    plain.extend(
        postcard::to_allocvec(&IndexOut { settled_at, head: &entry.head, case: &case })
            .map_err(|e| encode_error("index entry", e))?,
    );
    seal_plain(cipher, INDEX, key, &plain)
}

/// Opens an index entry sealed by [`seal_index_entry`].
pub(super) fn open_index_entry(cipher: &Cipher, key: &[u8], bytes: &[u8]) -> Result<IndexEntry> {
    let plain = open_plain(cipher, "index entry", INDEX, key, bytes)?;
    match plain.split_first() {
        Some((&INDEX_POSTCARD, rest)) => postcard::from_bytes::<IndexIn>(rest)
            .map(|i| IndexEntry { head: i.head, case: i.case })
            .map_err(|e| StoreError::Corrupt { what: "index entry".into(), detail: e.to_string() }),
        _ => Err(index_encoding_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EventKind;

    /// postcard writes no field names: a field added to, removed from or moved in `Alert` or `Case` (or
    /// anything they hold) changes how every stored index entry reads. This pins the layout, so such a change
    /// cannot go unnoticed.
    #[test]
    fn the_index_layout_is_pinned() {
        let alert = crate::domain::alert::tests_support::sample_alert("PIN-1");
        let at = DateTime::parse_from_rfc3339("2026-11-10T10:05:00Z").expect("literal").with_timezone(&Utc);
        let raised = |level| EventKind::Raised { revision: 1, level, illegal_path: false, template_version: 1 };
        let events = [
            CaseEvent::new(at, "feed", raised(crate::domain::Level::Medium)),
            CaseEvent::new(at, "feed", EventKind::Withdrawn),
            CaseEvent::new(at, "dsl", EventKind::Closed { outcome: "false-positive".into() }),
        ];
        let case = Case::fold(alert.key.clone(), &events).expect("case");
        let entry = IndexEntry::new(&alert, case);
        let bytes = postcard::to_allocvec(&IndexOut {
            settled_at: Some(at.timestamp_micros()),
            head: &entry.head,
            case: &Case { done: Default::default(), ..entry.case.clone() },
        })
        .expect("encode");
        let got = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        assert_eq!(
            got, PINNED_INDEX_LAYOUT,
            "the index entry layout changed: change INDEX_COMPLETE (stores then rebuild their index from the event \
             log at the next open), then set PINNED_INDEX_LAYOUT to {got}"
        );
        let back: IndexIn = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(IndexEntry { head: back.head, case: back.case }.case.closed, entry.case.closed);
    }

    /// The trend tally reads only the front of each entry ([`HeadFront`]): what it reads must be what the
    /// whole entry says, for every field that comes before the subject in any form it takes.
    #[test]
    fn raised_heads_match_the_whole_entries() {
        use crate::domain::alert::{Delivery, MailOrigin, SubjectKind};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), &crate::store::StoreKey::bytes([3; 32])).expect("open");
        let at = |s: &str| DateTime::parse_from_rfc3339(s).expect("literal");
        let raised = EventKind::Raised {
            revision: 1,
            level: crate::domain::Level::Medium,
            illegal_path: false,
            template_version: 1,
        };
        let kinds = [SubjectKind::Student, SubjectKind::Staff, SubjectKind::Unknown];
        for n in 0..12u32 {
            let mut alert = crate::domain::alert::tests_support::sample_alert(&format!("FRONT-{n}"));
            alert.key.source = ["smoothwall-monitor", "mail-vendor", "manual"][n as usize % 3].into();
            alert.revision = n + 1;
            alert.raised_at = at(&format!("2026-11-{:02}T{:02}:30:00+0{}:00", 1 + n, n, n % 3));
            alert.risk = n.is_multiple_of(2).then_some((n % 5) as u8 + 1);
            alert.level = [None, Some(crate::domain::Level::High), Some(crate::domain::Level::Low)][n as usize % 3];
            alert.category = "é-category ".repeat(n as usize);
            alert.delivered_by = [None, Some(Delivery::Email), Some(Delivery::Phone)][n as usize % 3];
            alert.subject.kind = kinds[n as usize % 3];
            alert.subject.id = format!("HPC{n:04}-ü");
            alert.mail = n.is_multiple_of(4).then(|| MailOrigin {
                sha256: "ab".repeat(32),
                message_id: Some(format!("m{n}@x")),
                from: "noreply@smoothwall.com".into(),
                rule: None,
                portal: None,
            });
            let mut events =
                vec![CaseEvent::new(at("2026-11-20T10:00:00Z").with_timezone(&Utc), "feed", raised.clone())];
            if !n.is_multiple_of(2) {
                let closed = EventKind::Closed { outcome: "false-positive".into() };
                events.push(CaseEvent::new(at("2026-11-21T10:00:00Z").with_timezone(&Utc), "dsl", closed));
            }
            let case = Case::fold(alert.key.clone(), &events).expect("case");
            let k = case_key(&alert.key);
            let tree = if case.status().is_open() { &store.index_open } else { &store.index_closed };
            tree.insert(&k, store.seal_index(&k, &IndexEntry::new(&alert, case)).expect("seal")).expect("insert");
        }
        let after = at("2026-11-05T00:00:00Z").with_timezone(&Utc);
        let mut read = Vec::new();
        store.visit_raised_after(after, &mut |head| read.push(head)).expect("front read");
        let mut whole: Vec<RaisedHead> = store
            .index_map(|e| {
                let raised_at = e.head.raised_at.with_timezone(&Utc);
                (raised_at > after).then(|| RaisedHead {
                    staff: e.head.is_staff(),
                    subject_id: e.head.subject.id.clone(),
                    key: e.head.key,
                    raised_at,
                })
            })
            .expect("whole read");
        let by_key = |v: &mut Vec<RaisedHead>| v.sort_by(|a, b| a.key.cmp(&b.key));
        by_key(&mut read);
        by_key(&mut whole);
        assert!(whole.len() > 3 && whole.len() < 12, "some in the window and some before it: {whole:?}");
        assert!(whole.iter().any(|h| h.staff) && whole.iter().any(|h| !h.staff));
        assert_eq!(read, whole);
    }

    /// The SHA-256 of the pinned entry's encoding, for [`INDEX_COMPLETE`] as it is.
    const PINNED_INDEX_LAYOUT: &str = "5fac6e90adf426e9cce73232a1858152164139e70986f4de08937fcabba3171b";
}
