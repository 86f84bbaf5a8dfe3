//! The feed's state (cursor, ETag, last result) and the quarantined alerts, per school.

use chrono::{DateTime, Utc};

use super::{Fail, PgStore};
use crate::store::Result;
use crate::store::audit_log::Entry;
use crate::store::codec::{decode, encode};
use crate::store::feed_state::{FeedState, Quarantined};
use crate::store::keys::QUARANTINE;

/// Writes a school's feed state (its encoded envelope) within `tx`.
pub(super) fn put_state(
    tx: &mut postgres::Transaction<'_>,
    school: &str,
    state: &[u8],
) -> std::result::Result<(), Fail> {
    tx.execute(
        "INSERT INTO feed_state (school, state) VALUES ($1, $2) ON CONFLICT (school) DO UPDATE SET state = excluded.state",
        &[&school, &state],
    )?;
    Ok(())
}

impl PgStore {
    pub(super) fn feed_state(&self) -> Result<FeedState> {
        let row =
            self.with(|c| Ok(c.query_opt("SELECT state FROM feed_state WHERE school = $1", &[&self.school()])?))?;
        match row {
            Some(r) => decode("feed state", r.get(0)),
            None => Ok(FeedState::default()),
        }
    }

    /// Read-modify-write under the row's lock. A state that cannot be read is an error, not a fresh default:
    /// that would drop the cursor and re-read the feed from its start.
    pub(super) fn update_feed_state(&self, f: &dyn Fn(&mut FeedState)) -> Result<FeedState> {
        self.transact(true, |tx| {
            let row = tx.query_opt("SELECT state FROM feed_state WHERE school = $1 FOR UPDATE", &[&self.school()])?;
            let mut state = match row {
                Some(r) => decode("feed state", r.get(0))?,
                None => FeedState::default(),
            };
            f(&mut state);
            put_state(tx, self.school(), &encode("feed state", &state)?)?;
            Ok(state)
        })
    }

    pub(super) fn replace_feed_state(&self, state: &FeedState) -> Result<()> {
        let encoded = encode("feed state", state)?;
        self.transact(true, |tx| put_state(tx, self.school(), &encoded))
    }

    pub(super) fn quarantined(&self) -> Result<Vec<Quarantined>> {
        let rows = self.with(|c| {
            Ok(c.query(
                "SELECT qkey, sealed FROM quarantine WHERE school = $1 ORDER BY received_at, qkey",
                &[&self.school()],
            )?)
        })?;
        let mut items: Vec<Quarantined> = rows
            .iter()
            .map(|r| self.unseal("quarantined alert", QUARANTINE, r.get(0), r.get(1)))
            .collect::<Result<_>>()?;
        items.sort_by_key(|q| q.received_at);
        Ok(items)
    }

    pub(super) fn quarantine_count(&self) -> Result<usize> {
        let n: i64 = self.with(|c| {
            Ok(c.query_one("SELECT count(*) FROM quarantine WHERE school = $1", &[&self.school()])?.get(0))
        })?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Removes the quarantined alerts `expired` says are (by when each came), with one tombstone for them.
    pub(super) fn purge_quarantined(
        &self,
        expired: &dyn Fn(&DateTime<Utc>) -> bool,
        tombstone: &dyn Fn(usize) -> Entry,
    ) -> Result<usize> {
        self.transact(false, |tx| {
            let rows =
                tx.query("SELECT qkey, received_at FROM quarantine WHERE school = $1 FOR UPDATE", &[&self.school()])?;
            let gone: Vec<Vec<u8>> =
                rows.iter().filter(|r| expired(&r.get::<_, DateTime<Utc>>(1))).map(|r| r.get(0)).collect();
            if gone.is_empty() {
                return Ok(0);
            }
            tx.execute("DELETE FROM quarantine WHERE school = $1 AND qkey = ANY($2)", &[&self.school(), &gone])?;
            self.append_record(tx, &tombstone(gone.len()))?;
            Ok(gone.len())
        })
    }
}
