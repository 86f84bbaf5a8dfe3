//! The sled store: alerts, the append-only case event log, the queue index, feed state, quarantined
//! alerts, blobs and the audit trail, in one embedded database a vigil opens alone.
//!
//! Values are versioned JSON envelopes (`{"v":1,"data":...}`) so that a later vigil can read what an
//! earlier one wrote. A page of alerts is written in one transaction, together with the cursor that follows
//! it, and flushed before anyone is told it is stored: a killed process either has the whole page and its
//! cursor or neither, and a replayed page is harmless because alerts are idempotent by
//! (`source`, `id`, `revision`).
//!
//! sled allows one process per database. A lock file next to it says which process holds it, so a second
//! vigil gets a plain message instead of a panic.
//!
//! This file holds [`Store`], opening it and its error type; each other job has its own module:
//! [`codec`] (envelopes, sealing, the key check), [`keys`] (the key layout), [`index`] (the queue index),
//! [`ingest`] (a feed page), [`events`] (a case's log), [`audit_log`] (the audit trail, as written),
//! [`blobs`], [`feed_state`] (feed state and quarantine), [`team`] (handover notes and marks), [`mailbox`] (how far each IMAP folder is read), [`migrate`]
//! (earlier layouts), [`perms`] (file permissions), [`lock`], [`space`] (room on the disk), [`compact`],
//! [`crypto`], [`peers`] (what services sharing a store tell each other), and [`backend`] (the boundary the service speaks to, which [`postgres`], the second backend, also
//! implements).

pub mod audit;
pub(crate) mod audit_log;
pub mod backend;
mod blobs;
mod codec;
pub mod compact;
pub mod copy;
pub mod crypto;
mod events;
mod feed_state;
mod index;
mod ingest;
mod keys;
mod lock;
mod mailbox;
mod migrate;
pub mod peers;
mod perms;
pub mod postgres;
pub mod space;
mod team;

use std::path::{Path, PathBuf};

use sled::transaction::TransactionError;

use crate::domain::{Alert, AlertKey};

pub use crypto::{KeyError, StoreKey};
pub use feed_state::{FeedState, Quarantined, UnreadablePage};
pub use index::{IndexEntry, RaisedHead};
pub use ingest::{Incoming, IngestReport};
pub use lock::StoreLock;
pub use mailbox::MailboxMark;
pub use perms::{dir_bytes, make_owner_only, restrict_umask};
pub use team::{HandoverAck, HandoverNote};

use codec::unlock;
use crypto::Cipher;
use index::{INDEX_CLOSED, INDEX_OPEN};
use keys::{ALERTS, BLOBS, EVENTS, META, META_ID_BASE, QUARANTINE, be_u64, case_key};
use perms::{create_private_dir, make_private, refuse_exposed};

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
    /// A decision judged on a case that changed before it could be written ([`Store::append_decision_at`]).
    #[error(
        "the case {case} changed while the decision was made ({found} events, not {expected}); nothing was written, and it is judged again"
    )]
    Conflict { case: String, expected: u64, found: u64 },
    /// A value that could not be encoded or encrypted: refused before anything is written, rather than
    /// stored empty and found unreadable later.
    #[error("vigil could not store {what}: {detail}; nothing was written")]
    Encode { what: String, detail: String },
    /// The PostgreSQL store could not be reached or refused a statement ([`postgres`]); the transaction,
    /// if one was open, was rolled back.
    #[error("the database failed ({0}); nothing was acknowledged, so nothing is lost: retry")]
    Database(String),
    /// The PostgreSQL store's schema is not this vigil's: made by a newer vigil, or not yet migrated.
    #[error("{0}")]
    Schema(String),
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
    /// Handover notes, acknowledgements and last looks ([`team`]).
    team: sled::Tree,
    cipher: std::sync::Arc<Cipher>,
    /// The audit chain's key, derived from the store key ([`audit_log::AuditKey`]).
    audit_key: std::sync::Arc<audit_log::AuditKey>,
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
            team: db.open_tree(team::TEAM)?,
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
        store.bring_up_to_date()?;
        Ok(store)
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

    /// The audit trail's tree, for [`crate::audit`] to read and check.
    pub(crate) fn audit_tree(&self) -> &sled::Tree {
        &self.audit
    }

    /// The audit chain's key.
    pub(crate) fn audit_key(&self) -> &audit_log::AuditKey {
        &self.audit_key
    }
}

pub(crate) fn tx_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => e.into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_guarded_call_comes_back_as_an_error() {
        let caught = quietly(|| -> u32 { panic!("page table entry missing") });
        assert_eq!(caught, Err("sled stopped reading it: page table entry missing".to_string()));
        assert_eq!(quietly(|| 7), Ok(7));
    }
}
