//! Cases in PostgreSQL: alerts, each case's numbered events, the queue index folded from them, decisions
//! appended with their audit records, and retention's purge through `vigil_purge_case`. Each write records
//! the case it wrote for the other services in its own transaction ([`super::peers`]).

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use super::{Fail, PgStore};
use crate::domain::{Alert, AlertKey, CaseEvent, EventKind};
use crate::store::audit_log::Entry;
use crate::store::backend::IndexScan;
use crate::store::index::{IndexEntry, open_index_entry, seal_index_entry};
use crate::store::keys::{ALERTS, EVENTS, case_key, micros_to_time, parse_case_key};
use crate::store::peers::CaseWrite;
use crate::store::{Result, StoreError};

/// The settled-since hint's name in `meta`.
pub(super) const SETTLED_SINCE: &[u8] = b"settled-since";

/// An event's key for sealing: its case and its number in the case.
pub(super) fn event_key(ck: &[u8], seq: i64) -> Vec<u8> {
    let mut k = ck.to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn bad_key(k: &[u8]) -> StoreError {
    StoreError::Corrupt { what: "case key".into(), detail: format!("{k:?}") }
}

impl PgStore {
    pub(super) fn alert(&self, key: &AlertKey) -> Result<Option<Alert>> {
        let ck = case_key(key);
        let row = self.with(|c| {
            Ok(c.query_opt("SELECT sealed FROM alerts WHERE school = $1 AND case_key = $2", &[&self.school(), &ck])?)
        })?;
        row.map(|r| self.unseal("alert", ALERTS, &ck, r.get(0))).transpose()
    }

    pub(super) fn alerts(&self) -> Result<Vec<Alert>> {
        let rows = self.with(|c| {
            Ok(c.query("SELECT case_key, sealed FROM alerts WHERE school = $1 ORDER BY case_key", &[&self.school()])?)
        })?;
        rows.par_iter().map(|r| self.unseal("alert", ALERTS, r.get(0), r.get(1))).collect()
    }

    pub(super) fn alert_count(&self) -> Result<usize> {
        let n: i64 =
            self.with(|c| Ok(c.query_one("SELECT count(*) FROM alerts WHERE school = $1", &[&self.school()])?.get(0)))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    pub(super) fn events(&self, key: &AlertKey) -> Result<Vec<CaseEvent>> {
        let ck = case_key(key);
        let rows = self.with(|c| {
            Ok(c.query(
                "SELECT seq, sealed FROM events WHERE school = $1 AND case_key = $2 ORDER BY seq",
                &[&self.school(), &ck],
            )?)
        })?;
        rows.iter().map(|r| self.unseal("event", EVENTS, &event_key(&ck, r.get(0)), r.get(1))).collect()
    }

    pub(super) fn all_events(&self) -> Result<Vec<(AlertKey, CaseEvent)>> {
        let rows = self.with(|c| {
            Ok(c.query(
                "SELECT case_key, seq, sealed FROM events WHERE school = $1 ORDER BY case_key, seq",
                &[&self.school()],
            )?)
        })?;
        rows.par_iter()
            .map(|r| {
                let ck: &[u8] = r.get(0);
                let (key, _) = parse_case_key(ck).ok_or_else(|| bad_key(ck))?;
                Ok((key, self.unseal("event", EVENTS, &event_key(ck, r.get(1)), r.get(2))?))
            })
            .collect()
    }

    pub(super) fn case_events_len(&self, key: &AlertKey) -> Result<u64> {
        let ck = case_key(key);
        self.with(|c| count_events(c, self.school(), &ck))
    }

    pub(super) fn index_entry(&self, key: &AlertKey) -> Result<Option<IndexEntry>> {
        let ck = case_key(key);
        let row = self.with(|c| {
            Ok(c.query_opt(
                "SELECT sealed FROM case_index WHERE school = $1 AND case_key = $2",
                &[&self.school(), &ck],
            )?)
        })?;
        row.map(|r| self.open_index(&ck, r.get(0))).transpose()
    }

    /// The index entries `which` covers, the open cases' first, each in key order, decoded on every core.
    pub(super) fn scan_index(&self, which: IndexScan) -> Result<Vec<IndexEntry>> {
        let rows = self.index_rows(which)?;
        rows.par_iter().map(|(k, v)| self.open_index(k, v)).collect()
    }

    pub(super) fn visit_index(&self, which: IndexScan, visit: &(dyn Fn(IndexEntry) + Sync)) -> Result<()> {
        let rows = self.index_rows(which)?;
        rows.par_iter().try_for_each(|(k, v)| self.open_index(k, v).map(visit))
    }

    fn index_rows(&self, which: IndexScan) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let filter = match which {
            IndexScan::Open => "AND open",
            IndexScan::Closed => "AND NOT open",
            IndexScan::All => "",
        };
        let sql =
            format!("SELECT case_key, sealed FROM case_index WHERE school = $1 {filter} ORDER BY open DESC, case_key");
        let rows = self.with(|c| Ok(c.query(sql.as_str(), &[&self.school()])?))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub(super) fn settled_cases(&self) -> Result<Vec<(AlertKey, DateTime<Utc>)>> {
        let rows = self.with(|c| {
            Ok(c.query(
                "SELECT case_key, settled_at FROM case_index \
                 WHERE school = $1 AND NOT open AND settled_at IS NOT NULL ORDER BY case_key",
                &[&self.school()],
            )?)
        })?;
        rows.iter()
            .map(|r| {
                let ck: &[u8] = r.get(0);
                let (key, _) = parse_case_key(ck).ok_or_else(|| bad_key(ck))?;
                Ok((key, r.get(1)))
            })
            .collect()
    }

    pub(super) fn settled_since(&self) -> Result<Option<DateTime<Utc>>> {
        let row = self.with(|c| {
            Ok(c.query_opt(
                "SELECT value FROM meta WHERE school = $1 AND name = $2",
                &[&self.school(), &SETTLED_SINCE],
            )?)
        })?;
        Ok(row.map(|r| micros_to_time(be_i64(r.get(0)))))
    }

    /// Sets retention's hint to `at`, unless a close or a withdrawal since `seen` lowered it.
    pub(super) fn set_settled_since(&self, seen: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Result<()> {
        let (seen, at) = (seen.map(|t| t.timestamp_micros()), at.timestamp_micros());
        self.transact(false, |tx| {
            let old = tx
                .query_opt(
                    "SELECT value FROM meta WHERE school = $1 AND name = $2 FOR UPDATE",
                    &[&self.school(), &SETTLED_SINCE],
                )?
                .map(|r| be_i64(r.get(0)));
            let new = if old == seen { at } else { old.map_or(at, |o| o.min(at)) };
            put_meta(tx, self.school(), SETTLED_SINCE, &new.to_be_bytes())?;
            Ok(())
        })
    }

    /// Appends `events` to a case (each with its audit record, if it has one) and folds them into its index
    /// entry, in one transaction; with `expected`, only if the case still holds that many events.
    pub(super) fn append_with(
        &self,
        key: &AlertKey,
        expected: Option<u64>,
        events: &[(&CaseEvent, Option<&Entry>)],
    ) -> Result<()> {
        let ck = case_key(key);
        let records: Vec<Entry> =
            events.iter().filter_map(|(e, a)| a.map(|a| Entry { event: Some(e.id), ..a.clone() })).collect();
        let closes = events.iter().filter(|(e, _)| matches!(e.kind, EventKind::Closed { .. })).map(|(e, _)| e.at).min();
        // An event appended without a judged count (the feed's, a first view) that meets another writer's
        // event at its number is simply numbered again: the transaction runs again.
        let written = self.transact(expected.is_none(), |tx| {
            // The case's index row is locked first, as sled's writers take its event-writer lock: writers on
            // one case count and number its events in turn (the unique key still stands behind this).
            tx.query_opt(
                "SELECT 1 FROM case_index WHERE school = $1 AND case_key = $2 FOR UPDATE",
                &[&self.school(), &ck],
            )?;
            if let Some(at) = closes {
                lower_settled_since(tx, self.school(), at)?;
            }
            let found = count_events(tx, self.school(), &ck)?;
            if let Some(expected) = expected
                && found != expected
            {
                return Ok(Err(found));
            }
            match self.insert_events(tx, &ck, found, events.iter().map(|(e, _)| *e)) {
                Ok(()) => {}
                // Another writer numbered the same event first: the decision was judged on a stale case.
                Err(f) if expected.is_some() && f.is_unique_violation() => return Ok(Err(found + 1)),
                Err(f) => return Err(f),
            }
            let staff = match self.fold_into_index(tx, &ck, None, events.iter().map(|(e, _)| *e))? {
                Some(staff) => staff,
                None => self.staff_of(tx, &ck)?,
            };
            for e in &records {
                self.append_record(tx, e)?;
            }
            self.record_writes(tx, &[CaseWrite::Written { key: key.clone(), staff, alert: false }])?;
            Ok(Ok(()))
        })?;
        written.map_err(|found| {
            // After a unique violation the count read inside the transaction is stale: read it again.
            let found = self.case_events_len(key).unwrap_or(found);
            StoreError::Conflict { case: key.to_string(), expected: expected.unwrap_or(found), found }
        })
    }

    /// Inserts `events` numbered after the case's `count` events.
    pub(super) fn insert_events<'e>(
        &self,
        tx: &mut postgres::Transaction<'_>,
        ck: &[u8],
        count: u64,
        events: impl Iterator<Item = &'e CaseEvent>,
    ) -> std::result::Result<(), Fail> {
        let insert =
            tx.prepare("INSERT INTO events (school, case_key, seq, at, sealed) VALUES ($1, $2, $3, $4, $5)")?;
        for (i, event) in events.enumerate() {
            let seq = i64::try_from(count).unwrap_or(i64::MAX).saturating_add(i as i64 + 1);
            let sealed = self.seal(EVENTS, &event_key(ck, seq), event)?;
            // A failed statement aborts the transaction, so a unique violation cannot be caught and skipped.
            tx.execute(&insert, &[&self.school(), &ck, &seq, &event.at, &sealed])?;
        }
        Ok(())
    }

    /// Folds `events` into a case's index entry (with `head`, the alert as now stored, when it changed), and
    /// says whether the case is about a member of staff. A case without an entry has none to fold into (it
    /// was never indexed: nothing to do here, `None`).
    pub(super) fn fold_into_index<'e>(
        &self,
        tx: &mut postgres::Transaction<'_>,
        ck: &[u8],
        head: Option<&Alert>,
        events: impl Iterator<Item = &'e CaseEvent>,
    ) -> std::result::Result<Option<bool>, Fail> {
        let Some(row) = tx.query_opt(
            "SELECT sealed FROM case_index WHERE school = $1 AND case_key = $2 FOR UPDATE",
            &[&self.school(), &ck],
        )?
        else {
            return Ok(None);
        };
        let mut entry = self.open_index(ck, row.get(0))?;
        for event in events {
            entry.case.apply(event);
        }
        if let Some(alert) = head {
            entry = IndexEntry::new(alert, entry.case);
        }
        self.put_index(tx, ck, &entry)?;
        Ok(Some(entry.head.is_staff()))
    }

    /// Whether a case is about a member of staff, read from its stored alert; a case without one is taken
    /// to be (the others then tell only viewers who may see staff alerts).
    fn staff_of(&self, tx: &mut postgres::Transaction<'_>, ck: &[u8]) -> std::result::Result<bool, Fail> {
        let row =
            tx.query_opt("SELECT sealed FROM alerts WHERE school = $1 AND case_key = $2", &[&self.school(), &ck])?;
        let alert: Option<Alert> = row.map(|r| self.unseal("alert", ALERTS, ck, r.get(0))).transpose()?;
        Ok(alert.is_none_or(|a| a.is_staff()))
    }

    /// Writes a case's index entry, with whether it is open and when it settled (what retention reads).
    pub(super) fn put_index(
        &self,
        tx: &mut postgres::Transaction<'_>,
        ck: &[u8],
        entry: &IndexEntry,
    ) -> std::result::Result<(), Fail> {
        let sealed = seal_index_entry(&self.cipher, &self.bound(ck), entry)?;
        let open = entry.case.status().is_open();
        let settled = entry.case.settled();
        tx.execute(
            "INSERT INTO case_index (school, case_key, open, settled_at, sealed) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (school, case_key) DO UPDATE SET open = excluded.open, settled_at = excluded.settled_at, \
             sealed = excluded.sealed",
            &[&self.school(), &ck, &open, &settled, &sealed],
        )?;
        Ok(())
    }

    pub(super) fn open_index(&self, ck: &[u8], sealed: &[u8]) -> Result<IndexEntry> {
        open_index_entry(&self.cipher, &self.bound(ck), sealed)
    }

    /// Removes a case whole, its tombstone appended to the trail, through the one function that may.
    pub(super) fn purge_case(&self, key: &AlertKey, tombstone: &Entry) -> Result<()> {
        let ck = case_key(key);
        let tombstone = Entry { purge: true, ..tombstone.clone() };
        self.transact(true, |tx| {
            let staff = self.staff_of(tx, &ck)?;
            let (record, stored, head) = self.next_record(tx, &tombstone)?;
            let seq = i64::try_from(record.seq).unwrap_or(i64::MAX);
            tx.execute("SELECT vigil_purge_case($1, $2, $3, $4, $5)", &[&self.school(), &ck, &seq, &stored, &head])?;
            self.record_writes(tx, &[CaseWrite::Purged { key: key.clone(), staff }])?;
            Ok(())
        })
    }
}

/// How many events a case holds (they are numbered 1..=n, so this is also the last number).
pub(super) fn count_events<C: postgres::GenericClient>(
    c: &mut C,
    school: &str,
    ck: &[u8],
) -> std::result::Result<u64, Fail> {
    let n: i64 =
        c.query_one("SELECT count(*) FROM events WHERE school = $1 AND case_key = $2", &[&school, &ck])?.get(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Lowers retention's hint to `at` before a close or a withdrawal at `at` is written; an unknown hint stays
/// unknown.
pub(super) fn lower_settled_since(
    tx: &mut postgres::Transaction<'_>,
    school: &str,
    at: DateTime<Utc>,
) -> std::result::Result<(), Fail> {
    let at = at.timestamp_micros();
    let old = tx
        .query_opt("SELECT value FROM meta WHERE school = $1 AND name = $2 FOR UPDATE", &[&school, &SETTLED_SINCE])?
        .map(|r| be_i64(r.get(0)));
    if let Some(old) = old
        && at < old
    {
        put_meta(tx, school, SETTLED_SINCE, &at.to_be_bytes())?;
    }
    Ok(())
}

pub(super) fn put_meta(
    tx: &mut postgres::Transaction<'_>,
    school: &str,
    name: &[u8],
    value: &[u8],
) -> std::result::Result<(), Fail> {
    tx.execute(
        "INSERT INTO meta (school, name, value) VALUES ($1, $2, $3) \
         ON CONFLICT (school, name) DO UPDATE SET value = excluded.value",
        &[&school, &name, &value],
    )?;
    Ok(())
}

fn be_i64(bytes: &[u8]) -> i64 {
    crate::store::keys::be_i64(bytes)
}
