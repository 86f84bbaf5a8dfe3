//! The sled store: alerts, the append-only case event log, feed state and quarantined alerts.
//!
//! Values are versioned JSON envelopes (`{"v":1,"data":...}`) so that a later vigil can read what an
//! earlier one wrote. A page of alerts is written in one transaction, together with the cursor that follows
//! it, and flushed before anyone is told it is stored: a killed process either has the whole page and its
//! cursor or neither, and a replayed page is harmless because alerts are idempotent by
//! (`source`, `id`, `revision`).
//!
//! sled allows one process per database. A lock file next to it says which process holds it, so a second
//! vigil gets a plain message instead of a panic.

pub mod compact;
pub mod crypto;
mod lock;
pub mod space;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional, TransactionalTree, UnabortableTransactionError,
};

use crate::domain::levels::Grading;
use crate::domain::{Alert, AlertKey, Case, CaseEvent, EventKind};
use crate::feed::protocol::Rejected;

pub use crypto::{KeyError, StoreKey};
pub use lock::StoreLock;

use crypto::Cipher;

const SCHEMA: u32 = 1;

// The trees whose values are sealed; each name is part of its values' associated data.
const ALERTS: &str = "alerts";
const EVENTS: &str = "events";
/// The associated data every index value is sealed with, in either of the index's trees (so an entry reads
/// the same in both); once also the name of the one tree the index was, before it was split in two.
const INDEX: &str = "index";
/// The index entries of the open cases (new, open or in progress) and of the rest (closed or withdrawn).
/// The queue's first frame reads only the open ones (the default view shows open cases, and in a store of
/// some years most are closed), and retention only the rest. A case's entry moves between them in the
/// transaction that changes its status. Which tree holds it is not content: the audit trail, kept in the
/// clear, says when each case was closed.
const INDEX_OPEN: &str = "index-open";
const INDEX_CLOSED: &str = "index-closed";
const QUARANTINE: &str = "quarantine";
const BLOBS: &str = "blobs";
/// Key-derivation parameters and the sealed key check.
const META: &str = "meta";
const META_CHECK: &[u8] = b"check";
const META_KDF: &[u8] = b"kdf";
/// [`INDEX_COMPLETE`] while the index holds an entry for every alert in the current encoding; removed
/// whenever that may not hold. Opening reads it instead of counting both trees (which reads every alert,
/// and was most of the time it took to open a large store).
const META_INDEX: &[u8] = b"index";
const INDEX_COMPLETE: &[u8] = b"complete, postcard 3, open and closed trees";
/// Retention's hint: no case in the store was closed or withdrawn before this time (microseconds since the
/// epoch, big endian). A lower bound: closing and withdrawing lower it; reopening, reinstating and purging
/// leave it. Absent: not known.
const META_SETTLED_SINCE: &[u8] = b"settled-since";
/// The hint of earlier vigils, which counted closes only: dropped when the index is rebuilt for this one.
const META_CLOSED_SINCE_BEFORE: &[u8] = b"closed-since";
/// Added to sled's id counter, which a compacted store starts again from 0 ([`compact`]).
const META_ID_BASE: &[u8] = b"id-base";
const CHECK_PLAIN: &[u8] = b"vigil store key check";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store at {path} is in use by another vigil{}; close it first, or use another --data-dir", match .pid { Some(p) => format!(" (process {p})"), None => String::new() })]
    InUse { path: PathBuf, pid: Option<u32> },
    #[error("cannot open the store at {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("the store failed: {0}; nothing was acknowledged, so nothing is lost: retry")]
    Sled(sled::Error),
    /// sled found its files damaged (or stopped on them): retrying cannot help, a backup can.
    #[error(
        "{at} is damaged ({detail}), so vigil cannot read it; it changed nothing. Move the data dir aside (keep it: it may be evidence), restore it from your latest backup, then check the restored audit trail against the head you kept elsewhere: `vigil audit verify --expect HEAD`"
    )]
    Damaged { at: String, detail: String },
    #[error(
        "the disk holding the store is full: this could not be recorded, and nothing new can be (decisions, views, alerts from the feed) until space is freed; everything vigil said was stored is on disk. Free space on that disk, then retry"
    )]
    DiskFull,
    #[error("a stored value is unreadable ({what}): {detail}")]
    Corrupt { what: String, detail: String },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(
        "the store at {dir} can be read by other users ({path} is mode {mode:03o}); vigil will not use it until only you can: fix it with `chmod -R go-rwx {dir}`"
    )]
    Exposed { dir: PathBuf, path: PathBuf, mode: u32 },
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> StoreError {
        match e {
            sled::Error::Io(io) if is_disk_full(&io) => StoreError::DiskFull,
            // A file cut short, or holding something else, reads as an early end or bad data.
            sled::Error::Io(io)
                if matches!(io.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData) =>
            {
                StoreError::Damaged { at: "the store".into(), detail: io.to_string() }
            }
            sled::Error::Corruption { .. } | sled::Error::ReportableBug(_) => {
                StoreError::Damaged { at: "the store".into(), detail: e.to_string() }
            }
            other => StoreError::Sled(other),
        }
    }
}

/// ENOSPC, or a quota that says the same.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.kind() == std::io::ErrorKind::QuotaExceeded
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u32,
    data: T,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own plain data types cannot fail; an empty value would be caught on read.
    serde_json::to_vec(&Envelope { v: SCHEMA, data: value }).unwrap_or_default()
}

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
    let env: Envelope<T> = serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt { what: what.to_string(), detail: e.to_string() })?;
    if env.v > SCHEMA {
        return Err(StoreError::Corrupt {
            what: what.to_string(),
            detail: format!("written by a newer vigil (schema {}); upgrade vigil", env.v),
        });
    }
    Ok(env.data)
}

/// The most events one alert can add in one page: revised, withdrawn or reinstated, reopened.
const EVENTS_PER_ALERT: usize = 3;

/// A prefix-free key: two length-prefixed strings, so one case's events never run into another's.
fn case_key(key: &AlertKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.source.len() + key.id.len());
    for part in [&key.source, &key.id] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

fn parse_case_key(bytes: &[u8]) -> Option<(AlertKey, usize)> {
    let mut parts = Vec::with_capacity(2);
    let mut at = 0usize;
    for _ in 0..2 {
        let len = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        at += 4;
        parts.push(String::from_utf8(bytes.get(at..at + len)?.to_vec()).ok()?);
        at += len;
    }
    let id = parts.pop()?;
    let source = parts.pop()?;
    Some((AlertKey { source, id }, at))
}

/// What the feed state tree holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    pub cursor: Option<String>,
    /// The ETag of the last 200, and the `since` it answered.
    pub etag: Option<(Option<String>, String)>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<(DateTime<Utc>, String)>,
    /// Staff alerts this user's store refused at ingest (only the count is kept).
    pub staff_dropped: u64,
    /// When the vigil that last polled meant to try again (`None`: it will not, or it was `sync --once`).
    #[serde(default)]
    pub next_attempt: Option<DateTime<Utc>>,
    /// The last sync stopped at its bounds with the feed still saying `more` (what it read).
    #[serde(default)]
    pub rested: Option<String>,
    /// The page the feed last sent that vigil could not read, and how often it came back the same.
    #[serde(default)]
    pub unreadable: Option<UnreadablePage>,
}

/// A page vigil could not read (not split into its alerts). Its raw bytes are kept sealed in the blobs
/// (`crate::feed::admin`); the same page for the same `since` again counts up, another starts afresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadablePage {
    /// The cursor it answered.
    pub since: Option<String>,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    pub bytes: usize,
    pub reason: String,
    pub first_at: DateTime<Utc>,
    pub count: u32,
    /// The page's own cursor, when it could be read before the rest failed (what `vigil feed skip-page`
    /// moves to when not given one).
    pub cursor_after: Option<String>,
    /// Whether its raw bytes are kept (from its second coming on, in the stores that may hold them).
    #[serde(default)]
    pub kept: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub received_at: DateTime<Utc>,
    #[serde(flatten)]
    pub rejected: Rejected,
}

/// What one page did to the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    pub new: usize,
    /// New alerts that start at High: these ring the bell.
    pub new_high: usize,
    pub revised: usize,
    pub unchanged: usize,
    pub quarantined: usize,
    pub staff_dropped: usize,
}

impl std::ops::AddAssign for IngestReport {
    fn add_assign(&mut self, o: Self) {
        self.new += o.new;
        self.new_high += o.new_high;
        self.revised += o.revised;
        self.unchanged += o.unchanged;
        self.quarantined += o.quarantined;
        self.staff_dropped += o.staff_dropped;
    }
}

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
    fn new(alert: &Alert, case: Case) -> IndexEntry {
        // The summary stays: the queue filter searches it. Context and captures are for the detail pane.
        let head = Alert { context: None, captures: Vec::new(), ..alert.clone() };
        IndexEntry { head, case }
    }
}

/// The first byte of an index value in its own encoding (inside the seal): postcard, compact and several
/// times faster to decode than JSON, which matters because opening the queue decodes every entry. The index
/// is derived data, so unlike alerts and events it need not read what an earlier vigil wrote: an index in
/// an earlier encoding or layout (JSON envelopes, once) is rebuilt from the log at the next open.
const INDEX_POSTCARD: u8 = 0xB1;

/// An index value after its format byte: first the time retention counts from (microseconds since the
/// epoch; see [`Case::settled`]), so retention reads it without decoding the rest ([`Store::settled_cases`]).
#[derive(Serialize)]
struct IndexOut<'a> {
    settled_at: Option<i64>,
    head: &'a Alert,
    case: &'a Case,
}

#[derive(Deserialize)]
struct IndexIn {
    #[allow(dead_code)] // read on its own by `settled_cases`
    settled_at: Option<i64>,
    head: Alert,
    case: Case,
}

/// The sealed values of a new alert's case ([`Store::new_case`]).
struct NewCase {
    alert: Vec<u8>,
    /// (key, sealed event)
    events: Vec<(Vec<u8>, Vec<u8>)>,
    /// The sealed index entry, and whether the case is open.
    index: Option<(Vec<u8>, bool)>,
}

/// `f` over `items`, in order, on every core (up to 8) when there are enough of them to be worth it.
fn par_map<T: Sync, U: Send>(items: &[T], f: impl Fn(usize, &T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if threads == 1 || items.len() < 64 {
        return items.iter().enumerate().map(|(i, t)| f(i, t)).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let parts: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                s.spawn(move || part.iter().enumerate().map(|(i, t)| f(c * chunk + i, t)).collect::<Vec<U>>())
            })
            .collect();
        parts.into_iter().flat_map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// Decodes what `raw` yields on every core, keeping its order; `f` may drop an item (`None`). The caller's
/// thread reads (sled) while the others decrypt and decode, a chunk at a time, so only a few chunks of raw
/// values are held at once.
fn par_decode<T: Send>(
    raw: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
    f: impl Fn(&[u8], &[u8]) -> Result<Option<T>> + Sync,
) -> Result<Vec<T>> {
    const CHUNK: usize = 1024;
    type Chunk = Vec<(sled::IVec, sled::IVec)>;
    let run = |chunk: &Chunk| -> Result<Vec<T>> { chunk.iter().filter_map(|(k, v)| f(k, v).transpose()).collect() };
    let mut raw = raw.peekable();
    let first: Chunk = raw.by_ref().take(CHUNK).collect::<std::result::Result<_, _>>()?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if raw.peek().is_none() || threads == 1 {
        // Small (or one core): no threads.
        let mut out = run(&first)?;
        for kv in raw {
            let (k, v) = kv?;
            out.extend(f(&k, &v)?);
        }
        return Ok(out);
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Chunk)>(threads * 2);
    let rx = std::sync::Mutex::new(rx);
    let (read, mut parts) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    while let Ok(Ok((i, chunk))) = rx.lock().map(|r| r.recv()) {
                        mine.push((i, run(&chunk)));
                    }
                    mine
                })
            })
            .collect();
        let mut read: Result<()> = Ok(());
        let (mut i, mut chunk) = (0, first);
        loop {
            let full = chunk.len() == CHUNK;
            if tx.send((i, chunk)).is_err() || !full {
                break;
            }
            i += 1;
            match raw.by_ref().take(CHUNK).collect::<std::result::Result<Chunk, _>>() {
                Ok(c) if c.is_empty() => break,
                Ok(c) => chunk = c,
                Err(e) => {
                    read = Err(e.into());
                    break;
                }
            }
        }
        drop(tx);
        let parts: Vec<(usize, Result<Vec<T>>)> =
            workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect();
        (read, parts)
    });
    read?;
    parts.sort_unstable_by_key(|(i, _)| *i);
    let mut out = Vec::new();
    for (_, part) in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// The index's two trees ([`INDEX_OPEN`], [`INDEX_CLOSED`]) inside a transaction.
struct TxIndex<'a> {
    open: &'a TransactionalTree,
    closed: &'a TransactionalTree,
}

impl TxIndex<'_> {
    /// A case's sealed entry, and whether the open tree holds it.
    fn get(&self, key: &[u8]) -> std::result::Result<Option<(sled::IVec, bool)>, UnabortableTransactionError> {
        if let Some(v) = self.open.get(key)? {
            return Ok(Some((v, true)));
        }
        Ok(self.closed.get(key)?.map(|v| (v, false)))
    }

    /// Writes a case's sealed entry into the tree for its status, and takes it out of the other if that is
    /// where it was (`was_open`, as [`TxIndex::get`] found it; `None` for a case not indexed before).
    fn put(
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

    fn remove(&self, key: &[u8]) -> std::result::Result<(), UnabortableTransactionError> {
        self.open.remove(key)?;
        self.closed.remove(key)?;
        Ok(())
    }
}

/// An alert to ingest, with the level it starts at (graded by the caller's policy).
pub struct Incoming<'a> {
    pub alert: &'a Alert,
    pub grading: Grading,
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    alerts: sled::Tree,
    events: sled::Tree,
    feed: sled::Tree,
    quarantine: sled::Tree,
    blobs: sled::Tree,
    index_open: sled::Tree,
    index_closed: sled::Tree,
    meta: sled::Tree,
    audit: sled::Tree,
    cipher: std::sync::Arc<Cipher>,
    /// The audit chain's key, derived from the store key ([`crate::audit::AuditKey`]).
    audit_key: std::sync::Arc<crate::audit::AuditKey>,
    /// Held by whoever writes case events, from numbering them to committing them: a case's events are
    /// folded into the index in commit order and read back from the log in number order, and the two must
    /// agree (a decision and a feed revision of the same case can race).
    event_writer: std::sync::Arc<std::sync::Mutex<()>>,
    /// See [`META_ID_BASE`].
    id_base: u64,
    /// Room on the disk: checked before every write ([`space`]).
    space: std::sync::Arc<space::Space>,
    _lock: std::sync::Arc<StoreLock>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `dir` with `key`, taking the one-process lock first.
    ///
    /// Refuses a store that group or others can read (and says how to fix it), tightens the process umask
    /// to 0o077 so that every file it creates from then on is its owner's alone, and refuses a key that does
    /// not fit the store with a plain message. A store written before encryption is sealed in place.
    ///
    /// A store sled finds damaged, or stops on (sled panics on some damaged files), is refused with what to
    /// do about it ([`StoreError::Damaged`]): no panic reaches the user.
    pub fn open(dir: &Path, key: &StoreKey) -> Result<Store> {
        let opened = quietly(std::panic::AssertUnwindSafe(|| Store::open_unguarded(dir, key)))
            .unwrap_or_else(|stopped| Err(StoreError::Damaged { at: String::new(), detail: stopped }));
        opened.map_err(|e| match e {
            StoreError::Damaged { detail, .. } => {
                StoreError::Damaged { at: format!("the store at {}", dir.display()), detail }
            }
            other => other,
        })
    }

    fn open_unguarded(dir: &Path, key: &StoreKey) -> Result<Store> {
        restrict_umask();
        refuse_exposed(dir)?;
        create_private_dir(dir).map_err(|source| StoreError::Open { path: dir.to_path_buf(), source })?;
        let lock = acquire_lock(dir)?;
        let space = space::Space::settle(dir);
        compact::recover(dir).map_err(|source| StoreError::Open { path: dir.to_path_buf(), source })?;
        let db = open_sled(dir)?;
        space.opened();
        make_private(dir).map_err(|source| StoreError::Open { path: dir.to_path_buf(), source })?;
        let meta = db.open_tree(META)?;
        let (cipher, audit_key) = unlock(&meta, key)?;
        let id_base = meta.get(META_ID_BASE)?.map_or(0, |v| be_u64(&v));
        let store = Store {
            alerts: db.open_tree(ALERTS)?,
            events: db.open_tree(EVENTS)?,
            feed: db.open_tree("feed")?,
            quarantine: db.open_tree(QUARANTINE)?,
            blobs: db.open_tree(BLOBS)?,
            index_open: db.open_tree(INDEX_OPEN)?,
            index_closed: db.open_tree(INDEX_CLOSED)?,
            audit: db.open_tree("audit")?,
            meta,
            cipher: std::sync::Arc::new(cipher),
            audit_key: std::sync::Arc::new(audit_key),
            event_writer: Default::default(),
            id_base,
            space: std::sync::Arc::new(space),
            db,
            _lock: std::sync::Arc::new(lock),
            path: dir.to_path_buf(),
        };
        if store.meta.get(META_CHECK)?.is_none() {
            // A new store, or one written before encryption: seal what is there, then the key check.
            store.seal_plaintext()?;
            // A new store's trail is keyed from its first record; an earlier vigil's trail with records in it
            // stays as it is until the DSL keys it (`vigil audit upgrade`), which is recorded.
            crate::audit::begin_keyed(&store.audit, &store.audit_key)?;
            store.meta.insert(META_CHECK, store.cipher.seal(SCHEMA, META, META_CHECK, CHECK_PLAIN))?;
            store.flush()?;
        }
        if store.meta.get(META_INDEX)?.as_deref() != Some(INDEX_COMPLETE) {
            // An index in an earlier vigil's layout or encoding, or one that may have a gap: rebuilt from the
            // alerts and the event log.
            store.rebuild_index()?;
        }
        Ok(store)
    }

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
            tree.insert(&k, self.seal_index(&k, &IndexEntry::new(&alert, case)))?;
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
    fn lower_settled_since(&self, at: DateTime<Utc>) -> Result<()> {
        let at = at.timestamp_micros();
        // It is the earliest close or withdrawal kept, so usually already lower: then nothing is written.
        if self.meta.get(META_SETTLED_SINCE)?.is_none_or(|v| be_i64(&v) <= at) {
            return Ok(());
        }
        self.meta.fetch_and_update(META_SETTLED_SINCE, |old| old.map(|v| be_i64(v).min(at).to_be_bytes().to_vec()))?;
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

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the disk holding the store is nearly full (its reserve given back): say so, since nothing new
    /// can be recorded once what is left is used.
    pub fn disk_low(&self) -> bool {
        self.space.is_low()
    }

    /// Ok if a write has room ([`space::Space::room`]).
    pub(crate) fn room(&self) -> Result<()> {
        self.space.room()
    }

    /// Durability point: nothing is reported as stored before this returns.
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    pub fn alert(&self, key: &AlertKey) -> Result<Option<Alert>> {
        let k = case_key(key);
        match self.alerts.get(&k)? {
            Some(bytes) => Ok(Some(self.unseal("alert", ALERTS, &k, &bytes)?)),
            None => Ok(None),
        }
    }

    pub fn alert_count(&self) -> usize {
        self.alerts.len()
    }

    /// Every alert, in key order.
    pub fn alerts(&self) -> impl Iterator<Item = Result<Alert>> + '_ {
        self.alerts.iter().map(|kv| {
            let (k, v) = kv?;
            self.unseal("alert", ALERTS, &k, &v)
        })
    }

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
        let prepared: Vec<NewCase> = par_map(incoming, |i, inc| self.new_case(inc, slot(i), template_version, now));
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
                let value = self.seal(EVENTS, &k, &event);
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
                        report.new += 1;
                        report.new_high += usize::from(inc.grading.level == crate::domain::Level::High);
                    }
                    Some(old) if old.revision < alert.revision => {
                        // Sealed already, with the values it would have stored had it been new.
                        alerts.insert(k.as_slice(), prepared[i].alert.as_slice())?;
                        let mut folded = vec![push_event(
                            &alert.key,
                            EventKind::Revised {
                                from: old.revision,
                                to: alert.revision,
                                level: inc.grading.level,
                                illegal_path: inc.grading.illegal_path,
                            },
                            seq.next(),
                        )?];
                        if alert.withdrawn && !old.withdrawn {
                            folded.push(push_event(&alert.key, EventKind::Withdrawn, seq.next())?);
                        }
                        if old.withdrawn && !alert.withdrawn {
                            folded.push(push_event(&alert.key, EventKind::Reinstated, seq.next())?);
                        }
                        let entry: Option<(IndexEntry, bool)> = match index.get(&k)? {
                            Some((b, was_open)) => Some((
                                self.unseal_index(&k, &b).map_err(ConflictableTransactionError::Abort)?,
                                was_open,
                            )),
                            None => None,
                        };
                        // A revision that escalates (to a higher level, or onto the illegal-content path)
                        // must reach someone: it rings the bell when it reaches High, and a closed case
                        // comes back open.
                        if let Some(before) = entry.as_ref().map(|(e, _)| &e.case) {
                            let escalated =
                                inc.grading.level > before.level || inc.grading.illegal_path && !before.illegal_path;
                            if escalated && inc.grading.level == crate::domain::Level::High {
                                report.new_high += 1;
                            }
                            if escalated && before.closed.is_some() {
                                let reason = format!("the feed revised the alert: now {}", inc.grading.level);
                                folded.push(push_event(&alert.key, EventKind::Reopened { reason }, seq.next())?);
                            }
                        }
                        // A missing entry is rebuilt from the log at the next open (the counts differ).
                        if let Some((mut entry, was_open)) = entry {
                            for e in &folded {
                                entry.case.apply(e);
                            }
                            self.put_index(&index, &k, &IndexEntry::new(alert, entry.case), Some(was_open))?;
                        } else {
                            index_gap.set(true);
                        }
                        report.revised += 1;
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
                let value = self.seal(QUARANTINE, &key, &Quarantined { received_at: now, rejected: r.clone() });
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
            feed.insert("state", encode(&state))?;
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

    pub fn feed_state(&self) -> Result<FeedState> {
        match self.feed.get("state")? {
            Some(bytes) => decode("feed state", &bytes),
            None => Ok(FeedState::default()),
        }
    }

    /// Read-modify-write of the feed state (health, ETag). Atomic against concurrent writers.
    pub fn update_feed_state(&self, f: impl Fn(&mut FeedState)) -> Result<FeedState> {
        self.space.room()?;
        let mut out = FeedState::default();
        self.feed.fetch_and_update("state", |old| {
            let mut state: FeedState = old.and_then(|b| decode("feed state", b).ok()).unwrap_or_default();
            f(&mut state);
            out = state.clone();
            Some(encode(&state))
        })?;
        self.flush()?;
        Ok(out)
    }

    /// The quarantined alerts, oldest first.
    pub fn quarantined(&self) -> Result<Vec<Quarantined>> {
        let mut items: Vec<Quarantined> = self
            .quarantine
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                self.unseal("quarantined alert", QUARANTINE, &k, &v)
            })
            .collect::<Result<_>>()?;
        items.sort_by_key(|q| q.received_at);
        Ok(items)
    }

    /// Removes the quarantined alerts for which `expired` (given when each was received) is true and, if
    /// any went, appends `tombstone(how many)` to the audit trail, in one transaction; then flushes. Returns
    /// how many went.
    pub fn purge_quarantined(
        &self,
        expired: impl Fn(&DateTime<Utc>) -> bool,
        tombstone: impl Fn(usize) -> crate::audit::Entry,
    ) -> Result<usize> {
        let mut keys = Vec::new();
        for kv in self.quarantine.iter() {
            let (k, v) = kv?;
            let q: Quarantined = self.unseal("quarantined alert", QUARANTINE, &k, &v)?;
            if expired(&q.received_at) {
                keys.push(k);
            }
        }
        if keys.is_empty() {
            return Ok(0);
        }
        self.space.room()?;
        let entry = tombstone(keys.len());
        (&self.quarantine, &self.audit)
            .transaction(|(quarantine, audit)| {
                for k in &keys {
                    quarantine.remove(k)?;
                }
                crate::audit::append_tx(audit, &self.audit_key, &entry)?;
                Ok(())
            })
            .map_err(tx_error)?;
        self.flush()?;
        Ok(keys.len())
    }

    pub fn quarantine_count(&self) -> usize {
        self.quarantine.len()
    }

    pub fn blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.blobs.get(name)? {
            Some(v) => Ok(Some(self.unseal_bytes("blob", BLOBS, name.as_bytes(), &v)?)),
            None => Ok(None),
        }
    }

    /// Stores a blob, sealed. Names must not start with `cache/` (the screenshot cache's own keys).
    pub fn put_blob(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.space.room()?;
        self.blobs.insert(name, self.cipher.seal(SCHEMA, BLOBS, name.as_bytes(), bytes))?;
        Ok(())
    }

    pub fn remove_blob(&self, name: &str) -> Result<()> {
        self.blobs.remove(name)?;
        Ok(())
    }

    /// Whether the size-capped cache holds `name`, without reading (or decrypting) it.
    pub fn has_cached_blob(&self, name: &str) -> Result<bool> {
        Ok(self.blobs.contains_key(cache_key(b"d/", name.as_bytes()))?)
    }

    /// A blob from the size-capped cache (screenshots), if it is there.
    pub fn cached_blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let k = cache_key(b"d/", name.as_bytes());
        match self.blobs.get(&k)? {
            Some(v) => Ok(Some(self.unseal_bytes("cached blob", BLOBS, &k, &v)?)),
            None => Ok(None),
        }
    }

    /// The bytes the size-capped cache holds now.
    pub fn cached_blob_bytes(&self) -> Result<u64> {
        Ok(self.blobs.get(CACHE_TOTAL)?.map_or(0, |v| be_u64(&v)))
    }

    /// Caches `bytes` under `name`, then evicts the oldest entries until the cache holds at most `cap` bytes.
    /// A blob larger than `cap` is not cached. A cache, not a record: it is not flushed here.
    pub fn cache_blob(&self, name: &str, bytes: &[u8], cap: u64) -> Result<()> {
        if bytes.len() as u64 > cap || self.space.room().is_err() {
            return Ok(()); // a cache: on a full disk the picture is shown, not kept
        }
        let seq = self.next_id()?;
        let (data_k, meta_k) = (cache_key(b"d/", name.as_bytes()), cache_key(b"m/", name.as_bytes()));
        let order_k = cache_key(b"o/", &seq.to_be_bytes());
        let sealed = self.cipher.seal(SCHEMA, BLOBS, &data_k, bytes);
        self.blobs
            .transaction(|t| {
                let mut total = t.get(CACHE_TOTAL)?.map_or(0, |v| be_u64(&v));
                if let Some(meta) = t.get(&meta_k)? {
                    t.remove(cache_key(b"o/", &meta[..8.min(meta.len())]))?;
                    total = total.saturating_sub(be_u64(meta.get(8..).unwrap_or_default()));
                }
                let mut meta = seq.to_be_bytes().to_vec();
                meta.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
                t.insert(data_k.as_slice(), sealed.as_slice())?;
                t.insert(meta_k.as_slice(), meta)?;
                t.insert(order_k.as_slice(), name.as_bytes())?;
                t.insert(CACHE_TOTAL, &(total + bytes.len() as u64).to_be_bytes())?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(tx_error)?;
        while self.cached_blob_bytes()? > cap {
            let Some(oldest) = self.blobs.scan_prefix(cache_key(b"o/", b"")).next() else { break };
            let (order_k, name) = oldest?;
            let (data_k, meta_k) = (cache_key(b"d/", &name), cache_key(b"m/", &name));
            self.blobs
                .transaction(|t| {
                    if t.remove(&*order_k)?.is_none() {
                        return Ok(()); // another task evicted it first
                    }
                    let size = t.remove(meta_k.as_slice())?.map_or(0, |m| be_u64(m.get(8..).unwrap_or_default()));
                    t.remove(data_k.as_slice())?;
                    let total = t.get(CACHE_TOTAL)?.map_or(0, |v| be_u64(&v));
                    t.insert(CACHE_TOTAL, &total.saturating_sub(size).to_be_bytes())?;
                    Ok::<_, ConflictableTransactionError<StoreError>>(())
                })
                .map_err(tx_error)?;
        }
        Ok(())
    }
}

const CACHE_TOTAL: &[u8] = b"cache/total";

/// Keys of the blob cache live under `cache/` in the blobs tree: `d/` data, `m/` (sequence, size) by name,
/// `o/` name by sequence, oldest first.
fn cache_key(kind: &[u8], rest: &[u8]) -> Vec<u8> {
    [b"cache/".as_slice(), kind, rest].concat()
}

/// An index value not in the current encoding: only an index the current vigil rebuilt is read (see
/// [`INDEX_COMPLETE`]), so this is damage, not age.
fn index_encoding_error() -> StoreError {
    StoreError::Corrupt { what: "index entry".into(), detail: "not in the index's encoding".into() }
}

fn be_i64(bytes: &[u8]) -> i64 {
    bytes.get(..8).and_then(|b| b.try_into().ok()).map_or(i64::MIN, i64::from_be_bytes)
}

/// Microseconds since the epoch as a time, saturating at the ends of what chrono can hold.
fn micros_to_time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(if us < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

fn be_u64(bytes: &[u8]) -> u64 {
    bytes.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes)
}

pub(crate) fn tx_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => e.into(),
    }
}

/// A quarantined alert's key: the SHA-256 of its raw JSON and the reason.
fn quarantine_key(r: &Rejected) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(r.raw.as_bytes());
    h.update([0]);
    h.update(r.reason.as_bytes());
    h.finalize().into()
}

/// Creates `dir` readable by its owner only: it holds safeguarding data.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Sealing, the key check and housekeeping: everything that turns values into ciphertext and back.
impl Store {
    /// Serializes `value` into its envelope and seals it for `key` in `tree`.
    fn seal<T: Serialize>(&self, tree: &str, key: &[u8], value: &T) -> Vec<u8> {
        self.cipher.seal(SCHEMA, tree, key, &encode(value))
    }

    /// Opens a value sealed by [`Store::seal`] and reads its envelope.
    fn unseal<T: DeserializeOwned>(&self, what: &str, tree: &str, key: &[u8], bytes: &[u8]) -> Result<T> {
        decode(what, &self.unseal_bytes(what, tree, key, bytes)?)
    }

    /// A new id, greater than every one given before in this store (event keys and cache order end with one).
    fn next_id(&self) -> Result<u64> {
        Ok(self.db.generate_id()?.saturating_add(self.id_base))
    }

    /// Writes a case's index entry into the tree for its status ([`TxIndex::put`]).
    fn put_index(
        &self,
        index: &TxIndex<'_>,
        key: &[u8],
        entry: &IndexEntry,
        was_open: Option<bool>,
    ) -> std::result::Result<(), UnabortableTransactionError> {
        index.put(key, self.seal_index(key, entry), entry.case.status().is_open(), was_open)
    }

    /// Everything a new alert stores, sealed: the alert, its first events (numbered from `seqs`) and its
    /// index entry.
    fn new_case(
        &self,
        inc: &Incoming<'_>,
        mut seqs: impl Iterator<Item = u64>,
        template_version: u32,
        now: DateTime<Utc>,
    ) -> NewCase {
        let alert = inc.alert;
        let k = case_key(&alert.key);
        let raised = EventKind::Raised {
            revision: alert.revision,
            level: inc.grading.level,
            illegal_path: inc.grading.illegal_path,
            template_version,
        };
        let kinds = std::iter::once(raised).chain(alert.withdrawn.then_some(EventKind::Withdrawn));
        let mut folded = Vec::with_capacity(2);
        let mut events = Vec::with_capacity(2);
        for kind in kinds {
            let mut ek = k.clone();
            ek.extend_from_slice(&seqs.next().unwrap_or(u64::MAX).to_be_bytes());
            let event = CaseEvent::new(now, "feed", kind);
            events.push((ek.clone(), self.seal(EVENTS, &ek, &event)));
            folded.push(event);
        }
        let index = Case::fold(alert.key.clone(), &folded).map(|case| {
            let entry = IndexEntry::new(alert, case);
            (self.seal_index(&k, &entry), entry.case.status().is_open())
        });
        NewCase { alert: self.seal(ALERTS, &k, alert), events, index }
    }

    /// Seals an index entry in its own encoding ([`INDEX_POSTCARD`]), without the case's done items.
    fn seal_index(&self, key: &[u8], entry: &IndexEntry) -> Vec<u8> {
        let case = Case { done: Default::default(), ..entry.case.clone() };
        let settled_at = case.settled().map(|at| at.timestamp_micros());
        let mut plain = vec![INDEX_POSTCARD];
        // Serializing our own plain data types cannot fail; an empty value would be caught on read.
        plain.extend(
            postcard::to_allocvec(&IndexOut { settled_at, head: &entry.head, case: &case }).unwrap_or_default(),
        );
        self.cipher.seal(SCHEMA, INDEX, key, &plain)
    }

    /// Opens an index entry sealed by [`Store::seal_index`].
    fn unseal_index(&self, key: &[u8], bytes: &[u8]) -> Result<IndexEntry> {
        let plain = self.unseal_bytes("index entry", INDEX, key, bytes)?;
        match plain.split_first() {
            Some((&INDEX_POSTCARD, rest)) => postcard::from_bytes::<IndexIn>(rest)
                .map(|i| IndexEntry { head: i.head, case: i.case })
                .map_err(|e| StoreError::Corrupt { what: "index entry".into(), detail: e.to_string() }),
            _ => Err(index_encoding_error()),
        }
    }

    fn unseal_bytes(&self, what: &str, tree: &str, key: &[u8], bytes: &[u8]) -> Result<Vec<u8>> {
        self.cipher
            .open(SCHEMA, tree, key, bytes)
            .map_err(|e| StoreError::Corrupt { what: what.to_string(), detail: e.to_string() })
    }

    /// Seals, in place, the values of a store written before encryption (a new store has none). The index
    /// is dropped and rebuilt from the sealed alerts and events.
    fn seal_plaintext(&self) -> Result<()> {
        for (tree, name) in [(&self.alerts, ALERTS), (&self.events, EVENTS), (&self.quarantine, QUARANTINE)] {
            for kv in tree.iter() {
                let (k, v) = kv?;
                if v.first() != Some(&crypto::SEALED) {
                    tree.insert(&k, self.cipher.seal(SCHEMA, name, &k, &v))?;
                }
            }
        }
        for kv in self.blobs.iter() {
            let (k, v) = kv?;
            // The cache's bookkeeping (sizes, order, total) is not content; its data and other blobs are.
            if (!k.starts_with(b"cache/") || k.starts_with(b"cache/d/")) && v.first() != Some(&crypto::SEALED) {
                self.blobs.insert(&k, self.cipher.seal(SCHEMA, BLOBS, &k, &v))?;
            }
        }
        self.meta.remove(META_INDEX)?;
        Ok(())
    }

    /// The audit trail's tree (see [`crate::audit`]).
    pub(crate) fn audit_tree(&self) -> &sled::Tree {
        &self.audit
    }

    /// The audit chain's key.
    pub(crate) fn audit_key(&self) -> &crate::audit::AuditKey {
        &self.audit_key
    }

    /// Appends one event and its audit record in one transaction (the decision and the record of who made
    /// it are written together or not at all), folds the event into the index, and flushes.
    pub fn append_audited(&self, key: &AlertKey, event: &CaseEvent, entry: &crate::audit::Entry) -> Result<()> {
        self.append_with(key, &[(event, Some(entry))])
    }

    /// Appends the events of one decision, each with its audit record, in one transaction: a decision that
    /// takes more than one event (the illegal-content path, which also makes the case High) is written whole
    /// or not at all, and no reader sees half of it. Then folds them into the index, and flushes.
    pub fn append_decision(&self, key: &AlertKey, events: &[(CaseEvent, crate::audit::Entry)]) -> Result<()> {
        let events: Vec<(&CaseEvent, Option<&crate::audit::Entry>)> =
            events.iter().map(|(e, a)| (e, Some(a))).collect();
        self.append_with(key, &events)
    }

    /// Events in order, their fold into the index and (when given) their audit records, in one transaction;
    /// then a flush.
    fn append_with(&self, key: &AlertKey, events: &[(&CaseEvent, Option<&crate::audit::Entry>)]) -> Result<()> {
        self.space.room()?;
        let writing = self.event_writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let ck = case_key(key);
        let mut sealed = Vec::with_capacity(events.len());
        let mut records = Vec::new();
        for (event, audit_entry) in events {
            let mut k = ck.clone();
            k.extend_from_slice(&self.next_id()?.to_be_bytes());
            let value = self.seal(EVENTS, &k, event);
            // The record names the event it records, so `vigil audit verify` can find one without the other.
            if let Some(e) = audit_entry {
                records.push(crate::audit::Entry { event: Some(event.id), ..(*e).clone() });
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
                    crate::audit::append_tx(audit, &self.audit_key, e)?;
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
    pub fn purge_case(&self, key: &AlertKey, tombstone: &crate::audit::Entry) -> Result<()> {
        self.space.room()?;
        let ck = case_key(key);
        let event_keys = self.events.scan_prefix(&ck).keys().collect::<std::result::Result<Vec<_>, _>>()?;
        let tombstone = crate::audit::Entry { purge: true, ..tombstone.clone() };
        (&self.alerts, &self.events, &self.index_open, &self.index_closed, &self.audit)
            .transaction(|(alerts, events, index_open, index_closed, audit)| {
                alerts.remove(ck.as_slice())?;
                for k in &event_keys {
                    events.remove(k)?;
                }
                TxIndex { open: index_open, closed: index_closed }.remove(&ck)?;
                crate::audit::append_tx(audit, &self.audit_key, &tombstone)?;
                Ok(())
            })
            .map_err(tx_error)?;
        self.flush()
    }

    /// The names in the screenshot cache.
    pub fn cached_blob_names(&self) -> Result<Vec<String>> {
        let prefix = cache_key(b"m/", b"");
        self.blobs
            .scan_prefix(&prefix)
            .keys()
            .map(|k| Ok(String::from_utf8_lossy(&k?[prefix.len()..]).into_owned()))
            .collect()
    }

    /// Drops `name` from the screenshot cache, if it is there.
    pub fn uncache_blob(&self, name: &str) -> Result<()> {
        let (data_k, meta_k) = (cache_key(b"d/", name.as_bytes()), cache_key(b"m/", name.as_bytes()));
        self.blobs
            .transaction(|t| {
                let Some(meta) = t.remove(meta_k.as_slice())? else { return Ok(()) };
                t.remove(cache_key(b"o/", &meta[..8.min(meta.len())]))?;
                t.remove(data_k.as_slice())?;
                let total = t.get(CACHE_TOTAL)?.map_or(0, |v| be_u64(&v));
                let size = be_u64(meta.get(8..).unwrap_or_default());
                t.insert(CACHE_TOTAL, &total.saturating_sub(size).to_be_bytes())?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(tx_error)?;
        self.flush()
    }
}

/// Runs `f`, turning a panic in it into `Err` with what it said, and keeping the panic's own message off
/// the terminal (sled panics on some damaged files; the caller says what that means instead).
fn quietly<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> std::result::Result<T, String> {
    thread_local!(static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(f);
    QUIET.with(|q| q.set(was));
    result.map_err(|payload| {
        let said = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        format!("sled stopped reading it: {}", said.lines().next().unwrap_or_default())
    })
}

/// Takes the store lock. A lock held by this very process is one it has just let go of (a handle dropped a
/// moment ago, its descriptor briefly shared with a child being spawned): wait for it (up to 3 s).
fn acquire_lock(dir: &Path) -> Result<StoreLock> {
    let started = std::time::Instant::now();
    loop {
        match StoreLock::acquire(dir) {
            Err(StoreError::InUse { pid: Some(pid), .. })
                if pid == std::process::id() && started.elapsed() < std::time::Duration::from_secs(3) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// sled's page cache (its default is 1 GiB, which a long session opening many cases would fill). Opening
/// the queue reads every index page once; a smaller cache cut peak memory at 100,000 cases by about 20 MB
/// (scripts/bench) at no cost in speed that it could measure.
const SLED_CACHE_BYTES: u64 = 16 << 20;

/// Opens sled's database in `dir`. The caller holds the store lock, so a sled lock still held can only be
/// this process's own previous handle, which sled's flusher thread releases shortly after it is dropped:
/// wait for it (up to 3 s) rather than fail a close-then-reopen.
fn open_sled(dir: &Path) -> Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new().path(dir.join("db")).cache_capacity(SLED_CACHE_BYTES).open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && started.elapsed() < std::time::Duration::from_secs(3) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            // A file cut short or filled with something else reads as an early end or bad data.
            Err(sled::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData) =>
            {
                return Err(StoreError::Damaged { at: "the store".into(), detail: e.to_string() });
            }
            Err(sled::Error::Io(source)) if !is_disk_full(&source) => {
                return Err(StoreError::Open { path: dir.to_path_buf(), source });
            }
            Err(other) => return Err(other.into()),
        }
    }
}

/// The cipher for `key`, checked against the store's sealed check value when there is one. Creates the
/// key file (or the passphrase's salt) for a store that has no check yet, that is a new one.
fn unlock(meta: &sled::Tree, key: &StoreKey) -> Result<(Cipher, crate::audit::AuditKey)> {
    let has_check = meta.get(META_CHECK)?.is_some();
    let kdf: Option<crypto::KdfParams> = match meta.get(META_KDF)? {
        Some(bytes) => Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt { what: "key derivation parameters".into(), detail: e.to_string() })?,
        ),
        None => None,
    };
    let bytes = match key {
        StoreKey::Bytes(b) => b.clone(),
        StoreKey::File(path) => {
            if kdf.is_some() {
                return Err(KeyError::NeedsPassphrase.into());
            }
            match crypto::read_key_file(path) {
                Ok(k) => k,
                Err(KeyError::Missing { .. }) if !has_check => crypto::create_key_file(path)?,
                Err(e) => return Err(e.into()),
            }
        }
        StoreKey::Passphrase(p) => {
            let params = match kdf {
                Some(k) => k,
                None if has_check => return Err(KeyError::NeedsKeyFile.into()),
                None => {
                    let k = crypto::KdfParams::fresh();
                    meta.insert(META_KDF, encode_plain(&k))?;
                    k
                }
            };
            params.derive(p)?
        }
    };
    let cipher = Cipher::new(&bytes);
    if let Some(check) = meta.get(META_CHECK)?
        && cipher.open(SCHEMA, META, META_CHECK, &check).ok().as_deref() != Some(CHECK_PLAIN)
    {
        return Err(KeyError::WrongKey { hint: key.hint() }.into());
    }
    Ok((cipher, crate::audit::AuditKey::derive(&bytes)))
}

fn encode_plain<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Makes every file this process creates from now on its owner's alone. Opening a store does it; so does
/// `vigil` at startup, before it writes anything.
pub fn restrict_umask() {
    // SAFETY: umask has no preconditions; it only swaps the process's file-creation mask.
    unsafe {
        let old = libc::umask(0o077);
        libc::umask(old | 0o077);
    }
}

/// Refuses a store dir, or anything in it, that group or others may read, write or enter. An empty dir
/// holds nothing yet: it is made private instead.
fn refuse_exposed(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(meta) = std::fs::metadata(dir) else { return Ok(()) }; // a new store
    let exposed =
        |path: &Path, mode: u32| StoreError::Exposed { dir: dir.to_path_buf(), path: path.to_path_buf(), mode };
    let empty = meta.is_dir() && std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
    if empty && meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|source| StoreError::Open { path: dir.to_path_buf(), source })?;
        return Ok(());
    }
    if meta.mode() & 0o077 != 0 {
        return Err(exposed(dir, meta.mode() & 0o777));
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| StoreError::Open { path: d.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::Open { path: d.clone(), source })?;
            let meta = entry.metadata().map_err(|source| StoreError::Open { path: entry.path(), source })?;
            if meta.file_type().is_symlink() {
                continue;
            }
            if meta.mode() & 0o077 != 0 {
                return Err(exposed(&entry.path(), meta.mode() & 0o777));
            }
            if meta.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    Ok(())
}

/// The bytes a directory holds, all the way down: a store's size on disk.
pub fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match entry.metadata() {
            Ok(m) if m.is_dir() => total += dir_bytes(&entry.path()),
            Ok(m) => total += m.len(),
            Err(_) => {}
        }
    }
    total
}

/// `chmod -R go-rwx DIR`, the fix [`Store::open`] names for a store others can read: for a store dir copied
/// into place with default modes.
pub fn make_owner_only(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    make_private(dir)
}

/// Takes group and other permissions off everything in the store dir (what sled created before the umask
/// was tightened, in a process that did not tighten it first).
fn make_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.file_type().is_symlink() {
                continue;
            }
            if meta.mode() & 0o077 != 0 {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(meta.mode() & 0o700))?;
            }
            if meta.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blob_cache_evicts_the_oldest_beyond_its_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), &StoreKey::bytes([1; 32])).expect("open");
        store.cache_blob("a", &[1; 40], 100).expect("a");
        store.cache_blob("b", &[2; 40], 100).expect("b");
        store.cache_blob("a", &[3; 40], 100).expect("a again: replaces, still 80 bytes");
        assert_eq!(store.cached_blob_bytes().expect("total"), 80);
        store.cache_blob("c", &[4; 40], 100).expect("c evicts b, the oldest");
        assert_eq!(store.cached_blob("b").expect("get"), None);
        assert_eq!(store.cached_blob("a").expect("get"), Some(vec![3; 40]));
        assert_eq!(store.cached_blob("c").expect("get"), Some(vec![4; 40]));
        assert_eq!(store.cached_blob_bytes().expect("total"), 80);
        store.cache_blob("huge", &[5; 101], 100).expect("too big to cache");
        assert_eq!(store.cached_blob("huge").expect("get"), None);
    }

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

    /// The SHA-256 of the pinned entry's encoding, for [`INDEX_COMPLETE`] as it is.
    const PINNED_INDEX_LAYOUT: &str = "632d410505c5c004c2014f61d82a9e1cd0290888294b51b45ccfa279a576b0d0";

    #[test]
    fn a_panic_in_a_guarded_call_comes_back_as_an_error() {
        let caught = quietly(|| -> u32 { panic!("page table entry missing") });
        assert_eq!(caught, Err("sled stopped reading it: page table entry missing".to_string()));
        assert_eq!(quietly(|| 7), Ok(7));
    }

    #[test]
    fn case_keys_round_trip_and_are_prefix_free() {
        let a = AlertKey::new("src", "id1");
        let b = AlertKey::new("src", "id10");
        let ka = case_key(&a);
        assert!(!case_key(&b).starts_with(&ka));
        let mut with_seq = ka.clone();
        with_seq.extend_from_slice(&7u64.to_be_bytes());
        assert_eq!(parse_case_key(&with_seq), Some((a, ka.len())));
    }
}
