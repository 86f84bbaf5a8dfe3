//! [`Copyable`] for a school in PostgreSQL: what a copy reads of it, and writing a copy into a school that
//! holds nothing yet, in one transaction (a copy that fails part way writes nothing).

use super::cases::{SETTLED_SINCE, put_meta};
use super::feed::put_state;
use super::team::put_team;
use super::{Fail, PgStore};
use crate::domain::Case;
use crate::store::codec::encode;
use crate::store::copy::{Contents, Copyable, StoredTrail, TeamMarks, describe, renumbered};
use crate::store::index::IndexEntry;
use crate::store::keys::{ALERTS, BLOBS, QUARANTINE, cache_key, case_key, quarantine_key};
use crate::store::mailbox::MAILBOX;
use crate::store::team::{ACK, LOOK, NOTE, TEAM, keyed};
use crate::store::{MailboxMark, Result, StoreError};

/// What a school holds that a new one does not, counted (the tables a copy refuses to write over).
const HELD: &str = "SELECT (SELECT count(*) FROM alerts WHERE school = $1), \
    (SELECT count(*) FROM events WHERE school = $1), \
    (SELECT count(*) FROM audit_records WHERE school = $1), \
    (SELECT count(*) FROM quarantine WHERE school = $1), \
    (SELECT count(*) FROM blobs WHERE school = $1) + (SELECT count(*) FROM blob_cache WHERE school = $1), \
    (SELECT count(*) FROM handover_notes WHERE school = $1)";

fn held(c: &mut impl postgres::GenericClient, school: &str) -> std::result::Result<Option<String>, Fail> {
    let row = c.query_one(HELD, &[&school])?;
    let n = |i: usize| usize::try_from(row.get::<_, i64>(i)).unwrap_or(usize::MAX);
    Ok(describe(&[
        (n(0), "alerts"),
        (n(1), "case events"),
        (n(2), "audit records"),
        (n(3), "quarantined alerts"),
        (n(4), "blobs"),
        (n(5), "handover notes"),
    ]))
}

impl Copyable for PgStore {
    fn blob_names(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let rows = c.query("SELECT name FROM blobs WHERE school = $1 ORDER BY name", &[&self.school()])?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn team_marks(&self) -> Result<TeamMarks> {
        let rows = self
            .with(|c| Ok(c.query("SELECT key, sealed FROM team WHERE school = $1 ORDER BY key", &[&self.school()])?))?;
        let (mut acks, mut looks) = (Vec::new(), Vec::new());
        for r in &rows {
            let k: &[u8] = r.get(0);
            if k.starts_with(ACK) {
                acks.push(self.unseal("handover acknowledgement", TEAM, k, r.get(1))?);
            } else if let Some(user) = k.strip_prefix(LOOK) {
                looks.push((String::from_utf8_lossy(user).into_owned(), self.unseal("last look", TEAM, k, r.get(1))?));
            }
        }
        Ok(TeamMarks { acks, looks })
    }

    /// A school's marks are kept under their mailboxes' hashed names: none can be listed (the copy reads
    /// those of the mailboxes the config names).
    fn listed_mailbox_marks(&self) -> Result<Vec<(String, MailboxMark)>> {
        Ok(Vec::new())
    }

    fn stored_trail(&self) -> Result<StoredTrail> {
        let head = self.stored_head()?;
        let records =
            self.stored_records()?.into_iter().map(|(seq, stored)| (u64::try_from(seq).unwrap_or(0), stored)).collect();
        Ok(StoredTrail { marker: head.as_ref().map(|h| h.marker.clone()), records, head: head.map(|h| h.head) })
    }

    fn holds(&self) -> Result<Option<String>> {
        self.with(|c| held(c, self.school()))
    }

    fn fill(&self, contents: &Contents) -> Result<()> {
        let (Some(marker), Some(head)) = (&contents.trail.marker, &contents.trail.head) else {
            return Err(StoreError::Corrupt {
                what: "audit trail".into(),
                detail: "it is not keyed: a school's trail is keyed from its start".into(),
            });
        };
        self.transact(false, |tx| {
            // The school's head row locked first: no service can chain a record into it meanwhile.
            tx.query_opt("SELECT 1 FROM audit_heads WHERE school = $1 FOR UPDATE", &[&self.school()])?;
            if let Some(holds) = held(tx, self.school())? {
                return Err(Fail::Store(StoreError::Corrupt {
                    what: "copy target".into(),
                    detail: format!("it holds {holds}: a copy goes only into an empty school"),
                }));
            }
            self.fill_cases(tx, contents)?;
            self.fill_rest(tx, contents)?;
            let insert = tx.prepare("INSERT INTO audit_records (school, seq, stored) VALUES ($1, $2, $3)")?;
            for (seq, stored) in &contents.trail.records {
                let seq = i64::try_from(*seq).unwrap_or(i64::MAX);
                tx.execute(&insert, &[&self.school(), &seq, stored])?;
            }
            tx.execute(
                "INSERT INTO audit_heads (school, keyed, head) VALUES ($1, $2, $3) \
                 ON CONFLICT (school) DO UPDATE SET keyed = excluded.keyed, head = excluded.head",
                &[&self.school(), marker, head],
            )?;
            Ok(())
        })
    }
}

impl PgStore {
    /// Alerts, events (numbered 1, 2, 3, ... per case, as appended) and the queue index folded from them.
    fn fill_cases(&self, tx: &mut postgres::Transaction<'_>, contents: &Contents) -> std::result::Result<(), Fail> {
        let insert_alert = tx.prepare("INSERT INTO alerts (school, case_key, sealed) VALUES ($1, $2, $3)")?;
        for alert in &contents.alerts {
            let ck = case_key(&alert.key);
            let sealed = self.seal(ALERTS, &ck, alert)?;
            tx.execute(&insert_alert, &[&self.school(), &ck, &sealed])?;
        }
        for (key, events) in &contents.events {
            self.insert_events(tx, &case_key(key), 0, events.iter())?;
        }
        for alert in &contents.alerts {
            let events = contents.events.get(&alert.key).map(Vec::as_slice).unwrap_or_default();
            if let Some(case) = Case::fold(alert.key.clone(), events) {
                self.put_index(tx, &case_key(&alert.key), &IndexEntry::new(alert, case))?;
            }
        }
        Ok(())
    }

    /// Feed state, quarantine, blobs, the screenshot cache, handover notes and marks, mailbox marks and
    /// retention's hint.
    fn fill_rest(&self, tx: &mut postgres::Transaction<'_>, contents: &Contents) -> std::result::Result<(), Fail> {
        let school = self.school();
        put_state(tx, school, &encode("feed state", &contents.feed_state)?)?;
        for q in &contents.quarantined {
            let qk = quarantine_key(&q.rejected).to_vec();
            let sealed = self.seal(QUARANTINE, &qk, q)?;
            tx.execute(
                "INSERT INTO quarantine (school, qkey, received_at, sealed) VALUES ($1, $2, $3, $4)",
                &[&school, &qk, &q.received_at, &sealed],
            )?;
        }
        for (name, bytes) in &contents.blobs {
            let sealed = self.seal_bytes(BLOBS, name.as_bytes(), bytes)?;
            tx.execute("INSERT INTO blobs (school, name, sealed) VALUES ($1, $2, $3)", &[&school, name, &sealed])?;
        }
        for (name, bytes) in &contents.cached_blobs {
            let sealed = self.seal_bytes(BLOBS, &cache_key(b"d/", name.as_bytes()), bytes)?;
            let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO blob_cache (school, name, ord, size, sealed) VALUES ($1, $2, nextval('blob_cache_order'), $3, $4)",
                &[&school, name, &size, &sealed],
            )?;
        }
        let mut next_note = || -> Result<u64> {
            let id: i64 =
                tx.query_one("SELECT nextval('handover_note_ids')", &[]).map_err(|e| super::database_error(&e))?.get(0);
            Ok(u64::try_from(id).unwrap_or(0))
        };
        let (notes, acks) = renumbered(&contents.notes, &contents.acks, &mut next_note)?;
        for note in &notes {
            let sealed = self.seal(TEAM, &keyed(NOTE, &note.id.to_be_bytes()), note)?;
            let id = i64::try_from(note.id).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO handover_notes (school, id, at, sealed) VALUES ($1, $2, $3, $4)",
                &[&school, &id, &note.at, &sealed],
            )?;
        }
        for ack in &acks {
            let k = keyed(ACK, ack.user.as_bytes());
            put_team(tx, school, &k, &self.seal(TEAM, &k, ack)?)?;
        }
        for (user, at) in &contents.looks {
            let k = keyed(LOOK, user.as_bytes());
            put_team(tx, school, &k, &self.seal(TEAM, &k, at)?)?;
        }
        for (mailbox, mark) in &contents.mailbox_marks {
            let sealed = self.seal(MAILBOX, mailbox.as_bytes(), mark)?;
            put_meta(tx, school, &super::mailbox::name(mailbox), &sealed)?;
        }
        if let Some(at) = contents.settled_since {
            put_meta(tx, school, SETTLED_SINCE, &at.timestamp_micros().to_be_bytes())?;
        }
        Ok(())
    }
}
