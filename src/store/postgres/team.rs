//! Handover notes (content: sealed), each user's acknowledgement of the handover and last look at the
//! queue, per school, by the same keys as sled's ([`crate::store::team`]).

use chrono::{DateTime, Utc};

use super::PgStore;
use crate::store::Result;
use crate::store::audit_log::Entry;
use crate::store::team::{ACK, LOOK, NOTE, TEAM, keyed};
use crate::store::{HandoverAck, HandoverNote};

impl PgStore {
    pub(super) fn add_handover_note(
        &self,
        at: DateTime<Utc>,
        author: &str,
        text: &str,
        entry: &Entry,
    ) -> Result<HandoverNote> {
        self.transact(false, |tx| {
            let id: i64 = tx.query_one("SELECT nextval('handover_note_ids')", &[])?.get(0);
            let note = HandoverNote {
                id: u64::try_from(id).unwrap_or(0),
                at,
                author: author.to_string(),
                text: text.to_string(),
            };
            let sealed = self.seal(TEAM, &keyed(NOTE, &note.id.to_be_bytes()), &note)?;
            tx.execute(
                "INSERT INTO handover_notes (school, id, at, sealed) VALUES ($1, $2, $3, $4)",
                &[&self.school(), &id, &at, &sealed],
            )?;
            self.append_record(tx, entry)?;
            Ok(note)
        })
    }

    pub(super) fn handover_notes(&self, since: DateTime<Utc>) -> Result<Vec<HandoverNote>> {
        let rows = self.with(|c| {
            Ok(c.query(
                "SELECT id, sealed FROM handover_notes WHERE school = $1 AND at >= $2 ORDER BY id",
                &[&self.school(), &since],
            )?)
        })?;
        rows.iter()
            .map(|r| {
                let id = u64::try_from(r.get::<_, i64>(0)).unwrap_or(0);
                self.unseal("handover note", TEAM, &keyed(NOTE, &id.to_be_bytes()), r.get(1))
            })
            .collect()
    }

    pub(super) fn purge_handover_notes(
        &self,
        expired: &dyn Fn(&DateTime<Utc>) -> bool,
        tombstone: &dyn Fn(usize) -> Entry,
    ) -> Result<usize> {
        self.transact(false, |tx| {
            let rows = tx.query("SELECT id, at FROM handover_notes WHERE school = $1 FOR UPDATE", &[&self.school()])?;
            let gone: Vec<i64> =
                rows.iter().filter(|r| expired(&r.get::<_, DateTime<Utc>>(1))).map(|r| r.get(0)).collect();
            if gone.is_empty() {
                return Ok(0);
            }
            tx.execute("DELETE FROM handover_notes WHERE school = $1 AND id = ANY($2)", &[&self.school(), &gone])?;
            self.append_record(tx, &tombstone(gone.len()))?;
            Ok(gone.len())
        })
    }

    pub(super) fn acknowledge_handover(&self, ack: &HandoverAck, entry: &Entry) -> Result<()> {
        let k = keyed(ACK, ack.user.as_bytes());
        let sealed = self.seal(TEAM, &k, ack)?;
        self.transact(true, |tx| {
            put_team(tx, self.school(), &k, &sealed)?;
            self.append_record(tx, entry)?;
            Ok(())
        })
    }

    pub(super) fn handover_ack(&self, user: &str) -> Result<Option<HandoverAck>> {
        self.team_value("handover acknowledgement", &keyed(ACK, user.as_bytes()))
    }

    pub(super) fn last_look(&self, user: &str) -> Result<Option<DateTime<Utc>>> {
        self.team_value("last look", &keyed(LOOK, user.as_bytes()))
    }

    pub(super) fn set_last_look(&self, user: &str, at: DateTime<Utc>) -> Result<()> {
        let k = keyed(LOOK, user.as_bytes());
        let sealed = self.seal(TEAM, &k, &at)?;
        self.transact(true, |tx| put_team(tx, self.school(), &k, &sealed))
    }

    fn team_value<T: serde::de::DeserializeOwned>(&self, what: &str, k: &[u8]) -> Result<Option<T>> {
        let row = self.with(|c| {
            Ok(c.query_opt("SELECT sealed FROM team WHERE school = $1 AND key = $2", &[&self.school(), &k])?)
        })?;
        row.map(|r| self.unseal(what, TEAM, k, r.get(0))).transpose()
    }
}

pub(super) fn put_team(
    tx: &mut postgres::Transaction<'_>,
    school: &str,
    k: &[u8],
    sealed: &[u8],
) -> std::result::Result<(), super::Fail> {
    tx.execute(
        "INSERT INTO team (school, key, sealed) VALUES ($1, $2, $3) ON CONFLICT (school, key) DO UPDATE SET sealed = excluded.sealed",
        &[&school, &k, &sealed],
    )?;
    Ok(())
}
