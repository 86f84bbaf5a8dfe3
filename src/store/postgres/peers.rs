//! [`crate::store::peers`] on PostgreSQL: a school's numbered `changes`, NOTIFY on the school's channel as the
//! wake-up, and a session advisory lock as a feed's lease.
//!
//! Two kinds of change share the numbering: a service's announcement (after its change is stored, in a
//! transaction of its own), and the record of the cases a transaction wrote, added by that transaction
//! ([`PgStore::record_writes`]), which commits or rolls back with the write it names.

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::{Fail, PgStore, database_error};
use crate::store::codec::decode;
use crate::store::peers::{Announced, CaseWrite, FeedLease, Listener};
use crate::store::{Result, StoreError};

/// The channel a school's services LISTEN on: one a school, so that a change wakes only the services of its
/// school (one channel for all had every service of a trust read after every school's decision: at 50
/// schools, a decision took 0.9 s to be seen instead of tens of milliseconds). Named by a hash of the school,
/// since a school's name is not an SQL identifier.
fn channel(school: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(school.as_bytes());
    format!("vigil_changes_{}", hex::encode(&digest[..8]))
}

/// How many changes a school keeps: a service further behind than this (down for a while) reads everything
/// again instead ([`Announced::gap`]).
const KEEP: i64 = 10_000;

/// The name a change is sealed under (bound to the school by the store's sealing too).
fn change_key(seq: i64) -> [u8; 8] {
    seq.to_be_bytes()
}

impl PgStore {
    pub(super) fn announce(&self, origin: &str, payload: &[u8]) -> Result<()> {
        self.transact(false, |tx| {
            let seq = self.next_change(tx)?;
            let sealed = self.seal_bytes("changes", &change_key(seq), payload)?;
            self.add_change(tx, seq, origin, false, &sealed)
        })
    }

    /// Records, in the transaction `tx` that wrote them, the cases it wrote: one row for all of them (a
    /// feed page's thousand cases are one row, not a thousand), added last, so that the school's numbering
    /// lock is held only from here to the commit. Nothing written, nothing recorded.
    pub(super) fn record_writes(
        &self,
        tx: &mut postgres::Transaction<'_>,
        wrote: &[CaseWrite],
    ) -> std::result::Result<(), Fail> {
        if wrote.is_empty() {
            return Ok(());
        }
        let seq = self.next_change(tx)?;
        let sealed = self.seal("changes", &change_key(seq), &wrote)?;
        self.add_change(tx, seq, &self.origin, true, &sealed)
    }

    /// The school's next change number. The school's row lock is held to the commit: numbers commit in the
    /// order they are given.
    fn next_change(&self, tx: &mut postgres::Transaction<'_>) -> std::result::Result<i64, Fail> {
        Ok(tx
            .query_one(
                "INSERT INTO change_heads (school, last) VALUES ($1, 1) \
                 ON CONFLICT (school) DO UPDATE SET last = change_heads.last + 1 RETURNING last",
                &[&self.school()],
            )?
            .get(0))
    }

    /// Adds change `seq` and wakes the school's services (PostgreSQL delivers the NOTIFY at the commit, and
    /// not at all on a rollback); keeps the last [`KEEP`].
    fn add_change(
        &self,
        tx: &mut postgres::Transaction<'_>,
        seq: i64,
        origin: &str,
        written: bool,
        sealed: &[u8],
    ) -> std::result::Result<(), Fail> {
        tx.execute(
            "INSERT INTO changes (school, seq, origin, written, sealed) VALUES ($1, $2, $3, $4, $5)",
            &[&self.school(), &seq, &origin, &written, &sealed],
        )?;
        if seq % 1000 == 0 {
            tx.execute("DELETE FROM changes WHERE school = $1 AND seq <= $2", &[&self.school(), &(seq - KEEP)])?;
        }
        tx.execute("SELECT pg_notify($1, '')", &[&channel(self.school())])?;
        Ok(())
    }

    pub(super) fn case_writes_origin(&self) -> &str {
        &self.origin
    }

    pub(super) fn announced_after(&self, after: Option<u64>, origin: &str) -> Result<Announced> {
        let (head, rows) = self.transact(false, |tx| {
            // One snapshot: the head and the rows up to it.
            tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
            let head: i64 = tx
                .query_opt("SELECT last FROM change_heads WHERE school = $1", &[&self.school()])?
                .map_or(0, |r| r.get(0));
            let Some(after) = after else { return Ok((head, Vec::new())) };
            let after = i64::try_from(after).unwrap_or(i64::MAX);
            let rows = tx.query(
                "SELECT seq, origin, sealed, written FROM changes \
                 WHERE school = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
                &[&self.school(), &after, &head],
            )?;
            Ok((head, rows))
        })?;
        let head = u64::try_from(head).unwrap_or(0);
        let Some(after) = after else { return Ok(Announced { last: head, ..Announced::default() }) };
        let first = rows.first().map(|r| r.get::<_, i64>(0));
        // Behind what is kept, or ahead of the database (restored from an older backup): read it all again.
        let mut gap = after > head || (head > after && first.and_then(|f| u64::try_from(f).ok()) != Some(after + 1));
        let (mut payloads, mut wrote) = (Vec::new(), Vec::new());
        for row in rows.iter().filter(|r| r.get::<_, &str>(1) != origin) {
            let key = change_key(row.get(0));
            if row.get(3) {
                let plain = self.unseal_bytes("a record of case writes", "changes", &key, row.get(2))?;
                match decode::<Vec<CaseWrite>>("a record of case writes", &plain) {
                    Ok(cases) => wrote.extend(cases),
                    // Written by a newer vigil: which cases it names is unknown, so every one is read again.
                    Err(e) => {
                        tracing::warn!(error = %e, "another service's case writes could not be read (a newer vigil?): reloading");
                        gap = true;
                    }
                }
            } else {
                payloads.push(self.unseal_bytes("a change", "changes", &key, row.get(2))?);
            }
        }
        Ok(Announced { payloads, wrote, last: head, gap })
    }

    pub(super) fn listener(&self) -> Result<Box<dyn Listener>> {
        super::blocking(|| {
            let mut client = self.settings.connect()?;
            client.batch_execute(&format!("LISTEN {}", channel(self.school()))).map_err(|e| database_error(&e))?;
            Ok(Box::new(Listening { client: Own(Some(client)) }) as Box<dyn Listener>)
        })
    }

    /// The lease: a session advisory lock on its own connection, on a number made of the school and the
    /// feed. PostgreSQL frees it when the connection ends, however the service holding it stopped.
    pub(super) fn feed_lease(&self, feed: &str) -> Result<Option<Box<dyn FeedLease>>> {
        super::blocking(|| {
            let mut client = self.settings.connect()?;
            // A school name has no control characters, nor a URL a newline: the parts cannot run together.
            let name = format!("vigil feed lease\n{}\n{feed}", self.school());
            let got: bool = client
                .query_one("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", &[&name])
                .map_err(|e| database_error(&e))?
                .get(0);
            // Not held: the connection goes (dropped here, where blocking is allowed).
            Ok(got.then(|| Box::new(Leased { client: Own(Some(client)) }) as Box<dyn FeedLease>))
        })
    }
}

/// A connection kept for one job, dropped where blocking is allowed (see [`PgStore`]'s `Drop`).
struct Own(Option<postgres::Client>);

impl Own {
    fn get(&mut self) -> Result<&mut postgres::Client> {
        self.0.as_mut().ok_or_else(|| StoreError::Database("the connection is gone".into()))
    }
}

impl Drop for Own {
    fn drop(&mut self) {
        let client = self.0.take();
        super::blocking(move || drop(client));
    }
}

struct Listening {
    client: Own,
}

impl Listener for Listening {
    fn wait(&mut self, timeout: Duration) -> Result<()> {
        super::blocking(|| {
            let client = self.client.get()?;
            {
                let mut notes = client.notifications();
                notes.timeout_iter(timeout).next().map_err(|e| database_error(&e))?;
                // Several at once are one wake-up.
                while notes.iter().next().map_err(|e| database_error(&e))?.is_some() {}
            }
            if client.is_closed() {
                return Err(StoreError::Database("the connection listening for other services closed".into()));
            }
            Ok(())
        })
    }
}

struct Leased {
    client: Own,
}

impl FeedLease for Leased {
    fn held(&mut self) -> bool {
        super::blocking(|| self.client.get().is_ok_and(|c| !c.is_closed() && c.simple_query("SELECT 1").is_ok()))
    }
}
