//! Each school's audit trail in PostgreSQL: the same keyed chain as sled's ([`crate::store::audit_log`]),
//! its records in `audit_records` (added, never changed: the role's grants) and its MAC'd head and key marker
//! in `audit_heads`, whose row is locked while a record is chained, so a school's records are numbered
//! without gaps whichever service writes them. Checked by the same [`verify_trail`] and [`cross_check`].

use super::{Fail, PgStore};
use crate::store::StoreError;
use crate::store::audit::{HeadMark, Trail, Verdict, check_with_logs, verify_trail};
use crate::store::audit_log::{AuditRecord, Entry, chain_next, corrupt, keyed_from_bytes, parse_stored};

impl PgStore {
    /// The record that follows the school's head for `entry`, its stored bytes and the new head, with the
    /// head's row locked until the transaction ends.
    pub(super) fn next_record(
        &self,
        tx: &mut postgres::Transaction<'_>,
        entry: &Entry,
    ) -> std::result::Result<(AuditRecord, Vec<u8>, Vec<u8>), Fail> {
        let row = tx
            .query_opt("SELECT head FROM audit_heads WHERE school = $1 FOR UPDATE", &[&self.school()])?
            .ok_or_else(|| corrupt("the school's trail has no head: it was removed"))?;
        let head: Vec<u8> = row.get(0);
        Ok(chain_next(Some(&head), true, &self.audit_key, entry).map_err(corrupt)?)
    }

    /// Appends `entry` to the school's trail within `tx`.
    pub(super) fn append_record(
        &self,
        tx: &mut postgres::Transaction<'_>,
        entry: &Entry,
    ) -> std::result::Result<AuditRecord, Fail> {
        let (record, stored, head) = self.next_record(tx, entry)?;
        let seq = i64::try_from(record.seq).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO audit_records (school, seq, stored) VALUES ($1, $2, $3)",
            &[&self.school(), &seq, &stored],
        )?;
        tx.execute("UPDATE audit_heads SET head = $2 WHERE school = $1", &[&self.school(), &head])?;
        Ok(record)
    }

    pub(super) fn audit_append(&self, entry: &Entry) -> Result<AuditRecord, StoreError> {
        self.transact(false, |tx| self.append_record(tx, entry))
    }

    pub(super) fn stored_records(&self) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        self.with(|c| {
            let rows =
                c.query("SELECT seq, stored FROM audit_records WHERE school = $1 ORDER BY seq", &[&self.school()])?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    pub(super) fn stored_head(&self) -> Result<Option<StoredHead>, StoreError> {
        self.with(|c| {
            let row = c.query_opt("SELECT keyed, head FROM audit_heads WHERE school = $1", &[&self.school()])?;
            Ok(row.map(|r| StoredHead { marker: r.get(0), head: r.get(1) }))
        })
    }

    fn verify_chain(&self, expect: Option<&HeadMark>) -> Result<Verdict, StoreError> {
        // The head first, then the records: a record appended in between is after the head, and says so.
        let head = self.stored_head()?;
        let marker = keyed_from_bytes(head.as_ref().map(|h| h.marker.as_slice()), &self.audit_key);
        let records = self
            .stored_records()?
            .into_iter()
            .map(|(seq, stored)| Ok((u64::try_from(seq).map_err(|_| seq.to_string()), stored)));
        verify_trail(marker, records, || Ok(head.map(|h| h.head)), &self.audit_key, expect)
    }
}

/// A school's row of `audit_heads`: its key marker and its head, as stored.
pub(super) struct StoredHead {
    pub(super) marker: Vec<u8>,
    pub(super) head: Vec<u8>,
}

impl Trail for PgStore {
    fn records(&self) -> Result<Vec<AuditRecord>, StoreError> {
        self.stored_records()?
            .iter()
            .map(|(_, stored)| {
                parse_stored(stored, &self.audit_key)
                    .map(|r| r.record)
                    .map_err(|e| corrupt(format!("{e}; run `vigil audit verify`")))
            })
            .collect()
    }

    fn verify_against(&self, expect: Option<&HeadMark>) -> Result<Verdict, StoreError> {
        let verdict = self.verify_chain(expect)?;
        check_with_logs(verdict, || self.records(), self.all_events()?.into_iter().map(Ok))
    }

    /// A PostgreSQL trail is keyed from its first record: there is nothing to upgrade.
    fn upgrade(&self, _entry: &Entry) -> Result<AuditRecord, StoreError> {
        match self.verify_chain(None)? {
            Verdict::Broken { seq, reason } => Err(corrupt(format!(
                "it is broken at record {seq} ({reason}), so it cannot be keyed as it is: restore the database from a backup whose trail verifies"
            ))),
            _ => Err(corrupt("it is keyed already: nothing to upgrade")),
        }
    }
}
