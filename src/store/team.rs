//! What the team keeps between shifts: handover notes, each reviewer's acknowledgement of the handover, and
//! when each last looked at the queue. One tree, `team`, its values sealed like every other (a note's text
//! is content; an acknowledgement and a look are sealed too, so the tree has one rule). A note and an
//! acknowledgement are written with their audit record, in one transaction; every write is flushed before it
//! returns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::Transactional;

use super::audit_log::{Entry, append_tx};
use super::{Result, Store, tx_error};

/// The tree's name, part of its values' associated data.
pub(super) const TEAM: &str = "team";

pub(super) const NOTE: &[u8] = b"note/";
pub(super) const ACK: &[u8] = b"ack/";
pub(super) const LOOK: &[u8] = b"look/";

/// A handover note: what one reviewer leaves for the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverNote {
    /// Increases with every note written (the store's own numbering): what an acknowledgement counts up to.
    pub id: u64,
    pub at: DateTime<Utc>,
    /// The OS user name of who wrote it.
    pub author: String,
    pub text: String,
}

/// A reviewer's acknowledgement of the handover: who, when, what it covered (up to `until`, and the notes up
/// to `up_to_note`). Their next handover starts from `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverAck {
    pub user: String,
    pub at: DateTime<Utc>,
    /// The end of the handover acknowledged (what the screen showed was read up to this moment).
    pub until: DateTime<Utc>,
    pub up_to_note: Option<u64>,
}

pub(super) fn keyed(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    [prefix, rest].concat()
}

impl Store {
    /// Writes a handover note by `author` at `at` with its audit record, together; then flushes.
    pub fn add_handover_note(
        &self,
        at: DateTime<Utc>,
        author: &str,
        text: &str,
        entry: &Entry,
    ) -> Result<HandoverNote> {
        self.room()?;
        let note = HandoverNote { id: self.next_id()?, at, author: author.to_string(), text: text.to_string() };
        let k = keyed(NOTE, &note.id.to_be_bytes());
        let sealed = self.seal(TEAM, &k, &note)?;
        self.put_team_audited(&k, &sealed, entry)?;
        self.flush()?;
        Ok(note)
    }

    /// The handover notes written at or after `since`, oldest first.
    pub fn handover_notes(&self, since: DateTime<Utc>) -> Result<Vec<HandoverNote>> {
        let mut notes = Vec::new();
        for kv in self.team.scan_prefix(NOTE) {
            let (k, v) = kv?;
            let note: HandoverNote = self.unseal("handover note", TEAM, &k, &v)?;
            if note.at >= since {
                notes.push(note);
            }
        }
        Ok(notes)
    }

    /// Removes the handover notes for which `expired` (given when each was written) is true and, if any went,
    /// appends `tombstone(how many)` to the audit trail, in one transaction; then flushes. Returns how many
    /// went.
    pub fn purge_handover_notes(
        &self,
        expired: impl Fn(&DateTime<Utc>) -> bool,
        tombstone: impl Fn(usize) -> Entry,
    ) -> Result<usize> {
        let mut keys = Vec::new();
        for kv in self.team.scan_prefix(NOTE) {
            let (k, v) = kv?;
            let note: HandoverNote = self.unseal("handover note", TEAM, &k, &v)?;
            if expired(&note.at) {
                keys.push(k);
            }
        }
        if keys.is_empty() {
            return Ok(0);
        }
        self.room()?;
        let entry = tombstone(keys.len());
        (&self.team, &self.audit)
            .transaction(|(team, audit)| {
                for k in &keys {
                    team.remove(k)?;
                }
                append_tx(audit, &self.audit_key, &entry)?;
                Ok(())
            })
            .map_err(tx_error)?;
        self.flush()?;
        Ok(keys.len())
    }

    /// Writes one sealed team record and its audit record in one transaction (not yet flushed).
    fn put_team_audited(&self, k: &[u8], sealed: &[u8], entry: &Entry) -> Result<()> {
        (&self.team, &self.audit)
            .transaction(|(team, audit)| {
                team.insert(k, sealed)?;
                append_tx(audit, &self.audit_key, entry)?;
                Ok(())
            })
            .map_err(tx_error)
    }

    /// Records `ack` as its user's latest acknowledgement, with its audit record, together; then flushes.
    pub fn acknowledge_handover(&self, ack: &HandoverAck, entry: &Entry) -> Result<()> {
        self.room()?;
        let k = keyed(ACK, ack.user.as_bytes());
        let sealed = self.seal(TEAM, &k, ack)?;
        self.put_team_audited(&k, &sealed, entry)?;
        self.flush()
    }

    /// `user`'s latest acknowledgement of the handover, if any.
    pub fn handover_ack(&self, user: &str) -> Result<Option<HandoverAck>> {
        let k = keyed(ACK, user.as_bytes());
        match self.team.get(&k)? {
            Some(v) => Ok(Some(self.unseal("handover acknowledgement", TEAM, &k, &v)?)),
            None => Ok(None),
        }
    }

    /// When `user` last looked at the queue, if ever.
    pub fn last_look(&self, user: &str) -> Result<Option<DateTime<Utc>>> {
        let k = keyed(LOOK, user.as_bytes());
        match self.team.get(&k)? {
            Some(v) => Ok(Some(self.unseal("last look", TEAM, &k, &v)?)),
            None => Ok(None),
        }
    }

    /// Records that `user` looked at the queue at `at`; flushed.
    pub fn set_last_look(&self, user: &str, at: DateTime<Utc>) -> Result<()> {
        self.room()?;
        let k = keyed(LOOK, user.as_bytes());
        self.team.insert(k.as_slice(), self.seal(TEAM, &k, &at)?)?;
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use crate::store::audit_log::Entry;
    use crate::store::{Store, StoreError, StoreKey};

    /// A note is sealed to its place: its text is not in the file in the clear, and a value moved to
    /// another key does not open.
    #[test]
    fn a_note_is_sealed_and_bound_to_its_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), &StoreKey::bytes([5; 32])).expect("open");
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 16, 16, 0, 0).single().expect("time");
        let entry = Entry::new(at, "dsl", None, "wrote a handover note");
        let note = store.add_handover_note(at, "dsl", "ring the parent of HPC0001", &entry).expect("written");
        assert_eq!(store.handover_notes(at).expect("read"), vec![note.clone()]);
        assert!(store.handover_notes(at + chrono::Duration::seconds(1)).expect("read").is_empty());
        let (k, v) = store.team.scan_prefix(super::NOTE).next().expect("one").expect("read");
        assert!(!v.windows(8).any(|w| w == b"ring the"), "the text is sealed");
        store.team.insert(b"look/moved".as_slice(), v).expect("move it");
        assert!(matches!(store.last_look("moved"), Err(StoreError::Corrupt { .. })), "{k:?}");
    }
}
