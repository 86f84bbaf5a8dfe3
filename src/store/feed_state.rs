//! What the store keeps about the feed: its state (cursor, ETag, health, the last unreadable page) and
//! the alerts it sent that could not be read (quarantine).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::Transactional;

use super::audit_log::{Entry, append_tx};
use super::codec::{decode, encode};
use super::keys::QUARANTINE;
use super::{Result, Store, tx_error};
use crate::feed::protocol::Rejected;

/// What the feed state tree holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    pub cursor: Option<String>,
    /// The ETag of the last 200, and the `since` it answered.
    pub etag: Option<(Option<String>, String)>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<(DateTime<Utc>, String)>,
    /// Staff alerts this user's store refused at ingest (only the count is kept).
    pub staff_dropped: u64,
    /// When the vigil that last polled meant to try again (`None`: it will not, or it was `sync --once`).
    #[serde(default)]
    pub next_attempt: Option<DateTime<Utc>>,
    /// The last sync stopped at its bounds with the feed still saying `more` (what it read).
    #[serde(default)]
    pub rested: Option<String>,
    /// The page the feed last sent that vigil could not read, and how often it came back the same.
    #[serde(default)]
    pub unreadable: Option<UnreadablePage>,
}

/// A page vigil could not read (not split into its alerts). Its raw bytes are kept sealed in the blobs
/// (`crate::feed::admin`); the same page for the same `since` again counts up, another starts afresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadablePage {
    /// The cursor it answered.
    pub since: Option<String>,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    pub bytes: usize,
    pub reason: String,
    pub first_at: DateTime<Utc>,
    pub count: u32,
    /// The page's own cursor, when it could be read before the rest failed (what `vigil feed skip-page`
    /// moves to when not given one).
    pub cursor_after: Option<String>,
    /// Whether its raw bytes are kept (from its second coming on, in the stores that may hold them).
    #[serde(default)]
    pub kept: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub received_at: DateTime<Utc>,
    #[serde(flatten)]
    pub rejected: Rejected,
}

impl Store {
    pub fn feed_state(&self) -> Result<FeedState> {
        match self.feed.get("state")? {
            Some(bytes) => decode("feed state", &bytes),
            None => Ok(FeedState::default()),
        }
    }

    /// Read-modify-write of the feed state (health, ETag). Atomic against concurrent writers.
    pub fn update_feed_state(&self, f: impl Fn(&mut FeedState)) -> Result<FeedState> {
        self.space.room()?;
        // Compare and swap until no other writer came in between. A state that cannot be read is an error,
        // not a fresh default: that would drop the cursor and re-read the feed from its start.
        loop {
            let old = self.feed.get("state")?;
            let mut state = match &old {
                Some(bytes) => decode("feed state", bytes)?,
                None => FeedState::default(),
            };
            f(&mut state);
            let new = encode("feed state", &state)?;
            if self.feed.compare_and_swap("state", old, Some(new))?.is_ok() {
                self.flush()?;
                return Ok(state);
            }
        }
    }

    /// Writes `state` whole, whatever was there: the DSL's way out of a feed state that cannot be read
    /// (`vigil feed reset-cursor`), which `update_feed_state` refuses to guess at.
    pub fn replace_feed_state(&self, state: &FeedState) -> Result<()> {
        self.space.room()?;
        self.feed.insert("state", encode("feed state", state)?)?;
        self.flush()
    }

    /// The quarantined alerts, oldest first.
    pub fn quarantined(&self) -> Result<Vec<Quarantined>> {
        let mut items: Vec<Quarantined> = self
            .quarantine
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                self.unseal("quarantined alert", QUARANTINE, &k, &v)
            })
            .collect::<Result<_>>()?;
        items.sort_by_key(|q| q.received_at);
        Ok(items)
    }

    /// Removes the quarantined alerts for which `expired` (given when each was received) is true and, if
    /// any went, appends `tombstone(how many)` to the audit trail, in one transaction; then flushes. Returns
    /// how many went.
    pub fn purge_quarantined(
        &self,
        expired: impl Fn(&DateTime<Utc>) -> bool,
        tombstone: impl Fn(usize) -> Entry,
    ) -> Result<usize> {
        let mut keys = Vec::new();
        for kv in self.quarantine.iter() {
            let (k, v) = kv?;
            let q: Quarantined = self.unseal("quarantined alert", QUARANTINE, &k, &v)?;
            if expired(&q.received_at) {
                keys.push(k);
            }
        }
        if keys.is_empty() {
            return Ok(0);
        }
        self.space.room()?;
        let entry = tombstone(keys.len());
        (&self.quarantine, &self.audit)
            .transaction(|(quarantine, audit)| {
                for k in &keys {
                    quarantine.remove(k)?;
                }
                append_tx(audit, &self.audit_key, &entry)?;
                Ok(())
            })
            .map_err(tx_error)?;
        self.flush()?;
        Ok(keys.len())
    }

    pub fn quarantine_count(&self) -> usize {
        self.quarantine.len()
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Store, StoreError, StoreKey};

    /// A feed state that cannot be read is reported, by reads and by updates alike, and left as it is: a
    /// fresh default in its place would drop the cursor and read the feed again from its start.
    #[test]
    fn a_corrupt_feed_state_is_an_error_and_is_not_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), &StoreKey::bytes([1; 32])).expect("open");
        store.update_feed_state(|s| s.cursor = Some("c1".into())).expect("a readable state");
        store.feed.insert("state", b"{not json".as_slice()).expect("damage it");
        assert!(matches!(store.feed_state(), Err(StoreError::Corrupt { .. })));
        let update = store.update_feed_state(|s| s.cursor = Some("c2".into()));
        assert!(matches!(update, Err(StoreError::Corrupt { .. })), "{update:?}");
        assert_eq!(store.feed.get("state").expect("read").as_deref(), Some(b"{not json".as_slice()), "left as it was");
    }
}
