//! [`Copyable`] for the sled store: what a copy reads of it, and writing a copy into a new one.

use super::{Contents, Copyable, StoredTrail, TeamMarks, describe, renumbered};
use crate::store::audit_log::{adopt_trail, stored_trail};
use crate::store::index::META_SETTLED_SINCE;
use crate::store::keys::{ALERTS, EVENTS, QUARANTINE, case_key, quarantine_key};
use crate::store::mailbox::MAILBOX;
use crate::store::team::{ACK, LOOK, NOTE, TEAM, keyed};
use crate::store::{MailboxMark, Result, Store, StoreError};

impl Copyable for Store {
    fn blob_names(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for k in self.blobs.iter().keys() {
            let k = k?;
            // The screenshot cache shares the tree, under its own prefix.
            if !k.starts_with(b"cache/") {
                names.push(String::from_utf8_lossy(&k).into_owned());
            }
        }
        Ok(names)
    }

    fn team_marks(&self) -> Result<TeamMarks> {
        let mut acks = Vec::new();
        for kv in self.team.scan_prefix(ACK) {
            let (k, v) = kv?;
            acks.push(self.unseal("handover acknowledgement", TEAM, &k, &v)?);
        }
        let mut looks = Vec::new();
        for kv in self.team.scan_prefix(LOOK) {
            let (k, v) = kv?;
            let user = String::from_utf8_lossy(&k[LOOK.len()..]).into_owned();
            looks.push((user, self.unseal("last look", TEAM, &k, &v)?));
        }
        Ok(TeamMarks { acks, looks })
    }

    fn listed_mailbox_marks(&self) -> Result<Vec<(String, MailboxMark)>> {
        let tree = self.db.open_tree(MAILBOX)?;
        let mut marks = Vec::new();
        for kv in tree.iter() {
            let (k, v) = kv?;
            marks.push((String::from_utf8_lossy(&k).into_owned(), self.unseal("mailbox mark", MAILBOX, &k, &v)?));
        }
        Ok(marks)
    }

    fn stored_trail(&self) -> Result<StoredTrail> {
        stored_trail(&self.audit)
    }

    fn holds(&self) -> Result<Option<String>> {
        let held = [
            (self.alerts.len(), "alerts"),
            (self.events.len(), "case events"),
            (self.audit.scan_prefix(crate::store::audit_log::RECORD_PREFIX).count(), "audit records"),
            (self.quarantine.len(), "quarantined alerts"),
            (self.blobs.len(), "blobs"),
            (self.team.scan_prefix(NOTE).count(), "handover notes"),
        ];
        Ok(describe(&held))
    }

    /// A sled target is a new data dir: a copy that fails part way leaves it part written, and the command
    /// says to remove it. The trail goes in last, in one transaction.
    fn fill(&self, contents: &Contents) -> Result<()> {
        if let Some(holds) = self.holds()? {
            return Err(StoreError::Corrupt {
                what: "copy target".into(),
                detail: format!("it holds {holds}: a copy goes only into an empty store"),
            });
        }
        self.room()?;
        for alert in &contents.alerts {
            let k = case_key(&alert.key);
            self.alerts.insert(k.as_slice(), self.seal(ALERTS, &k, alert)?)?;
        }
        for (key, events) in &contents.events {
            for event in events {
                // Numbered as the store numbers events: by its id counter, so they sort in order.
                let mut k = case_key(key);
                k.extend_from_slice(&self.next_id()?.to_be_bytes());
                self.events.insert(k.as_slice(), self.seal(EVENTS, &k, event)?)?;
            }
        }
        self.replace_feed_state(&contents.feed_state)?;
        for q in &contents.quarantined {
            let k = quarantine_key(&q.rejected);
            self.quarantine.insert(k, self.seal(QUARANTINE, &k, q)?)?;
        }
        for (name, bytes) in &contents.blobs {
            self.put_blob(name, bytes)?;
        }
        for (name, bytes) in &contents.cached_blobs {
            self.cache_blob(name, bytes, u64::MAX)?;
        }
        let (notes, acks) = renumbered(&contents.notes, &contents.acks, || self.next_id())?;
        for note in &notes {
            let k = keyed(NOTE, &note.id.to_be_bytes());
            self.team.insert(k.as_slice(), self.seal(TEAM, &k, note)?)?;
        }
        for ack in &acks {
            let k = keyed(ACK, ack.user.as_bytes());
            self.team.insert(k.as_slice(), self.seal(TEAM, &k, ack)?)?;
        }
        for (user, at) in &contents.looks {
            self.set_last_look(user, *at)?;
        }
        for (mailbox, mark) in &contents.mailbox_marks {
            self.set_mailbox_mark(mailbox, mark)?;
        }
        match contents.settled_since {
            Some(at) => self.meta.insert(META_SETTLED_SINCE, &at.timestamp_micros().to_be_bytes())?,
            None => self.meta.remove(META_SETTLED_SINCE)?,
        };
        // The queue index, folded from the events the way the store folds it.
        self.rebuild_index()?;
        adopt_trail(&self.audit, &contents.trail)?;
        self.flush()
    }
}
