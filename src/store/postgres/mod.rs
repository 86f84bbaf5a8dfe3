//! The PostgreSQL store: the same [`super::backend::CaseStore`] as sled's, for a trust whose schools share one
//! database that its IT team already backs up.
//!
//! The same guarantees as sled, kept by the database where sled keeps them with a lock:
//! - Content is sealed in this process before it is sent ([`super::codec`]'s sealing, bound to the table,
//!   the school and the key), so the database and its backups hold ids, times and sizes, never alert text.
//! - A case's events are numbered 1, 2, 3, ... under a primary key: of two writers that judged the same case
//!   at the same length, one inserts and the other gets [`super::StoreError::Conflict`], as from sled, and the
//!   service judges it again ([`cases`]).
//! - A feed page is one transaction, idempotent by (`source`, `id`, `revision`): a concurrent writer of the
//!   same alert makes the page retry, and the retry finds it stored ([`ingest`]).
//! - Each school's audit chain is the same keyed chain as sled's ([`trail`]); the role vigil logs in as may
//!   add events and audit records but not change or remove them (the migration's grants), and retention
//!   removes a case only through `vigil_purge_case`, which appends its tombstone.
//!
//! The trait is blocking, and so is this store: the `postgres` crate's client, which drives tokio-postgres on
//! a runtime of its own. A few connections, each behind a mutex, serve the process (each reconnected when it
//! drops); the service calls the store from blocking threads, and a command run on the main runtime reaches
//! it through [`blocking`].
//!
//! Modules: [`settings`] (the `[storage]` keys and the connection), [`schema`] (migrations and the version
//! check), [`cases`] (alerts, events, the index, decisions, purges), [`ingest`], [`trail`] (the audit chain),
//! [`feed`] (feed state and quarantine), [`blobs`], [`team`] (handover notes and marks), [`peers`] (the services sharing a school: their changes
//! and the feed's lease), [`backend`] (the trait).

mod backend;
mod blobs;
mod cases;
mod copy;
mod feed;
mod ingest;
mod mailbox;
mod peers;
pub mod schema;
pub mod settings;
mod team;
#[cfg(test)]
pub(crate) mod test_cluster;
mod trail;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::audit_log::{AuditKey, keyed_start};
use super::codec::{KeyMeta, open_plain, open_value, seal_plain, seal_value, unlock};
use super::crypto::Cipher;
use super::{Result, StoreError, StoreKey};
pub use settings::PgSettings;

/// How many connections one store (one service) opens at most.
const CONNECTIONS: usize = 4;

/// The PostgreSQL store of one school.
pub struct PgStore {
    /// A few connections, each opened when first needed: a long write (the escalator's sweep after a
    /// start, a feed page) does not hold a reviewer's read behind it, as one connection did (a service
    /// starting on 17,920 unescalated cases kept its first client waiting a minute).
    clients: Vec<Mutex<Option<postgres::Client>>>,
    /// Which connection a caller waits for when every one is busy, in turn.
    next: std::sync::atomic::AtomicUsize,
    settings: PgSettings,
    cipher: Cipher,
    audit_key: AuditKey,
    /// What messages call it: the connection without a password, and the school.
    named: PathBuf,
    /// This store among those sharing the school: what the records of its case writes are marked with
    /// ([`peers`]), so that the service on it skips them.
    origin: String,
}

impl PgStore {
    /// Connects, checks the schema is this vigil's ([`schema::check`]) and the key fits the school's data
    /// (a school seen for the first time gets its key check and an empty keyed audit trail).
    pub fn open(settings: &PgSettings, key: &StoreKey) -> Result<PgStore> {
        blocking(|| PgStore::open_here(settings, key))
    }

    fn open_here(settings: &PgSettings, key: &StoreKey) -> Result<PgStore> {
        let mut client = settings.connect()?;
        schema::check(&mut client)?;
        let school = settings.school.clone();
        let (cipher, audit_key) = {
            let meta = SchoolMeta { client: Mutex::new(&mut client), school: &school };
            unlock(&meta, key)?
        };
        let store = PgStore {
            clients: std::iter::once(Some(client))
                .chain(std::iter::repeat_with(|| None))
                .take(CONNECTIONS)
                .map(Mutex::new)
                .collect(),
            next: std::sync::atomic::AtomicUsize::new(0),
            named: PathBuf::from(settings.describe()),
            settings: settings.clone(),
            cipher,
            audit_key,
            origin: uuid::Uuid::new_v4().to_string(),
        };
        store.begin()?;
        Ok(store)
    }

    /// A new school's key check and trail, written once (a second service opening it at the same time finds
    /// them there). Only a school seen for the first time gets an empty trail: a known school whose head row
    /// is gone had its trail removed, and a fresh head would let a wiped trail verify as intact.
    fn begin(&self) -> Result<()> {
        // Sealed as sled seals its check, which is what `unlock` opens.
        let check = seal_plain(&self.cipher, super::keys::META, super::codec::META_CHECK, super::codec::CHECK_PLAIN)?;
        let (marker, head) = keyed_start(&self.audit_key)?;
        self.with(|c| {
            let mut tx = c.transaction()?;
            let new_school = tx.execute(
                "INSERT INTO meta (school, name, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&self.settings.school, &super::codec::META_CHECK, &check],
            )? == 1;
            if new_school {
                tx.execute(
                    "INSERT INTO audit_heads (school, keyed, head) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&self.settings.school, &marker, &head],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    pub fn school(&self) -> &str {
        &self.settings.school
    }

    /// Runs `f` on a connection, connecting again first if it was lost (a restarted server).
    fn with<T>(&self, f: impl FnOnce(&mut postgres::Client) -> std::result::Result<T, Fail>) -> Result<T> {
        blocking(|| {
            let mut held = self.lock();
            if held.as_ref().is_none_or(postgres::Client::is_closed) {
                *held = Some(self.settings.connect()?);
            }
            let client = held.as_mut().ok_or_else(|| StoreError::Database("no connection".into()))?;
            let done = f(client);
            if done.is_err() && client.is_closed() {
                drop(held);
                self.forget_idle();
            }
            done.map_err(Fail::into_store)
        })
    }

    /// Drops the idle connections once one was found closed: the server went away, so they are stale too,
    /// and each would fail its next caller once before being replaced.
    fn forget_idle(&self) {
        for slot in &self.clients {
            if let Ok(mut idle) = slot.try_lock() {
                *idle = None;
            }
        }
    }

    /// Runs `f` in a transaction, again (up to a few times) when the database says another transaction got in
    /// the way (a serialization failure, a deadlock, or `retry_unique`: a row another writer inserted first).
    fn transact<T>(
        &self,
        retry_unique: bool,
        mut f: impl FnMut(&mut postgres::Transaction<'_>) -> std::result::Result<T, Fail>,
    ) -> Result<T> {
        const ATTEMPTS: usize = 8;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.with(|c| {
                let mut tx = c.transaction()?;
                match f(&mut tx) {
                    Ok(v) => {
                        tx.commit()?;
                        Ok(Ok(v))
                    }
                    Err(Fail::Pg(e)) if attempt < ATTEMPTS && retryable(&e, retry_unique) => Ok(Err(())),
                    Err(e) => Err(e),
                }
            })?;
            if let Ok(v) = result {
                return Ok(v);
            }
        }
    }

    /// A connection's slot: a free one, or (every one busy) the next in turn, waited for.
    fn lock(&self) -> MutexGuard<'_, Option<postgres::Client>> {
        let free = self.clients.iter().find_map(|slot| match slot.try_lock() {
            Ok(held) => Some(held),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        });
        free.unwrap_or_else(|| {
            let turn = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.clients.len();
            self.clients[turn].lock().unwrap_or_else(PoisonError::into_inner)
        })
    }

    /// `key` bound to this school: what a value is sealed with, so a row moved to another school's does not
    /// open there.
    fn bound(&self, key: &[u8]) -> Vec<u8> {
        let school = self.settings.school.as_bytes();
        let mut out = Vec::with_capacity(4 + school.len() + key.len());
        out.extend_from_slice(&(school.len() as u32).to_be_bytes());
        out.extend_from_slice(school);
        out.extend_from_slice(key);
        out
    }

    fn seal<T: Serialize>(&self, table: &str, key: &[u8], value: &T) -> Result<Vec<u8>> {
        seal_value(&self.cipher, table, &self.bound(key), value)
    }

    fn seal_bytes(&self, table: &str, key: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
        seal_plain(&self.cipher, table, &self.bound(key), plain)
    }

    fn unseal<T: DeserializeOwned>(&self, what: &str, table: &str, key: &[u8], sealed: &[u8]) -> Result<T> {
        open_value(&self.cipher, what, table, &self.bound(key), sealed)
    }

    fn unseal_bytes(&self, what: &str, table: &str, key: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        open_plain(&self.cipher, what, table, &self.bound(key), sealed)
    }

    fn path(&self) -> &Path {
        &self.named
    }
}

/// The client is dropped where blocking is allowed: it owns a runtime, which tokio will not drop on one of
/// its async threads.
impl Drop for PgStore {
    fn drop(&mut self) {
        let clients: Vec<_> =
            self.clients.iter().map(|slot| slot.lock().unwrap_or_else(PoisonError::into_inner).take()).collect();
        blocking(move || drop(clients));
    }
}

/// Runs `f`, which blocks on the database, where blocking is allowed. The `postgres` client drives its
/// connection on a runtime of its own, which cannot run inside another: on one of the multi-threaded
/// runtime's async threads (a command run by `vigil`'s main runtime), `f` runs in `block_in_place`; on a
/// blocking thread (the service's `spawn_blocking`) or outside tokio it runs as it is.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// A failure inside a statement: the database's own (which a transaction may retry) or the store's.
#[derive(Debug)]
enum Fail {
    Pg(postgres::Error),
    Store(StoreError),
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Fail {
        Fail::Pg(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        Fail::Store(e)
    }
}

impl Fail {
    fn into_store(self) -> StoreError {
        match self {
            Fail::Pg(e) => database_error(&e),
            Fail::Store(e) => e,
        }
    }

    /// Whether this is the unique violation of another writer's row.
    fn is_unique_violation(&self) -> bool {
        matches!(self, Fail::Pg(e) if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION))
    }
}

fn retryable(e: &postgres::Error, retry_unique: bool) -> bool {
    use postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || retry_unique && *c == SqlState::UNIQUE_VIOLATION
    })
}

/// The database's error in words, with its message when it sent one (never a value: vigil sends none in
/// the clear that a message could echo).
pub(crate) fn database_error(e: &postgres::Error) -> StoreError {
    let said = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        // With its causes: "error performing TLS handshake" alone does not say the certificate was refused.
        None => {
            let mut said = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                said = format!("{said}: {c}");
                cause = c.source();
            }
            said
        }
    };
    StoreError::Database(said)
}

/// A school's rows of `meta` as [`unlock`] reads and writes them. Only the key check's own rows are read here
/// (their names are not bound to the school: the check value is, when sealed).
struct SchoolMeta<'a> {
    client: Mutex<&'a mut postgres::Client>,
    school: &'a str,
}

impl KeyMeta for SchoolMeta<'_> {
    fn get(&self, name: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut c = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        let row = c
            .query_opt("SELECT value FROM meta WHERE school = $1 AND name = $2", &[&self.school, &name])
            .map_err(|e| database_error(&e))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn insert(&self, name: &[u8], value: Vec<u8>) -> Result<()> {
        let mut c = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        c.execute(
            "INSERT INTO meta (school, name, value) VALUES ($1, $2, $3) \
             ON CONFLICT (school, name) DO UPDATE SET value = excluded.value",
            &[&self.school, &name, &value],
        )
        .map_err(|e| database_error(&e))?;
        Ok(())
    }
}
