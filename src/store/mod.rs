//! The sled store: alerts, the append-only case event log, feed state and quarantined alerts.
//!
//! Values are versioned JSON envelopes (`{"v":1,"data":...}`) so that a later vigil can read what an
//! earlier one wrote. A page of alerts is written in one transaction, together with the cursor that follows
//! it, and flushed before anyone is told it is stored: a killed process either has the whole page and its
//! cursor or neither, and a replayed page is harmless because alerts are idempotent by
//! (`source`, `id`, `revision`).
//!
//! sled allows one process per database. A lock file next to it says which process holds it, so a second
//! vigil gets a plain message instead of a panic.

mod lock;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::domain::levels::Grading;
use crate::domain::{Alert, AlertKey, CaseEvent, EventKind};
use crate::feed::protocol::Rejected;

pub use lock::StoreLock;

const SCHEMA: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store at {path} is in use by another vigil{}; close it first, or use another --data-dir", match .pid { Some(p) => format!(" (process {p})"), None => String::new() })]
    InUse { path: PathBuf, pid: Option<u32> },
    #[error("cannot open the store at {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("the store failed: {0}; nothing was acknowledged, so nothing is lost: retry, and check the disk has space")]
    Sled(#[from] sled::Error),
    #[error("a stored value is unreadable ({what}): {detail}")]
    Corrupt { what: String, detail: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u32,
    data: T,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own plain data types cannot fail; an empty value would be caught on read.
    serde_json::to_vec(&Envelope { v: SCHEMA, data: value }).unwrap_or_default()
}

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
    let env: Envelope<T> = serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt { what: what.to_string(), detail: e.to_string() })?;
    if env.v > SCHEMA {
        return Err(StoreError::Corrupt {
            what: what.to_string(),
            detail: format!("written by a newer vigil (schema {}); upgrade vigil", env.v),
        });
    }
    Ok(env.data)
}

/// A prefix-free key: two length-prefixed strings, so one case's events never run into another's.
fn case_key(key: &AlertKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.source.len() + key.id.len());
    for part in [&key.source, &key.id] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

fn parse_case_key(bytes: &[u8]) -> Option<(AlertKey, usize)> {
    let mut parts = Vec::with_capacity(2);
    let mut at = 0usize;
    for _ in 0..2 {
        let len = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        at += 4;
        parts.push(String::from_utf8(bytes.get(at..at + len)?.to_vec()).ok()?);
        at += len;
    }
    let id = parts.pop()?;
    let source = parts.pop()?;
    Some((AlertKey { source, id }, at))
}

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub received_at: DateTime<Utc>,
    #[serde(flatten)]
    pub rejected: Rejected,
}

/// What one page did to the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub new: usize,
    pub revised: usize,
    pub unchanged: usize,
    pub quarantined: usize,
    pub staff_dropped: usize,
}

impl std::ops::AddAssign for IngestReport {
    fn add_assign(&mut self, o: Self) {
        self.new += o.new;
        self.revised += o.revised;
        self.unchanged += o.unchanged;
        self.quarantined += o.quarantined;
        self.staff_dropped += o.staff_dropped;
    }
}

/// An alert to ingest, with the level it starts at (graded by the caller's policy).
pub struct Incoming<'a> {
    pub alert: &'a Alert,
    pub grading: Grading,
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    alerts: sled::Tree,
    events: sled::Tree,
    feed: sled::Tree,
    quarantine: sled::Tree,
    blobs: sled::Tree,
    _lock: std::sync::Arc<StoreLock>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, taking the one-process lock first.
    pub fn open(dir: &Path) -> Result<Store> {
        create_private_dir(dir).map_err(|source| StoreError::Open { path: dir.to_path_buf(), source })?;
        let lock = StoreLock::acquire(dir)?;
        let db =
            sled::Config::new().path(dir.join("db")).mode(sled::Mode::HighThroughput).open().map_err(|e| match e {
                sled::Error::Io(source) => StoreError::Open { path: dir.to_path_buf(), source },
                other => StoreError::Sled(other),
            })?;
        Ok(Store {
            alerts: db.open_tree("alerts")?,
            events: db.open_tree("events")?,
            feed: db.open_tree("feed")?,
            quarantine: db.open_tree("quarantine")?,
            blobs: db.open_tree("blobs")?,
            db,
            _lock: std::sync::Arc::new(lock),
            path: dir.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Durability point: nothing is reported as stored before this returns.
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    pub fn alert(&self, key: &AlertKey) -> Result<Option<Alert>> {
        match self.alerts.get(case_key(key))? {
            Some(bytes) => Ok(Some(decode("alert", &bytes)?)),
            None => Ok(None),
        }
    }

    pub fn alert_count(&self) -> usize {
        self.alerts.len()
    }

    /// Every alert, in key order.
    pub fn alerts(&self) -> impl Iterator<Item = Result<Alert>> + '_ {
        self.alerts.iter().values().map(|v| decode("alert", &v?))
    }

    /// Every case's events, grouped by case, in key order.
    pub fn all_events(&self) -> impl Iterator<Item = Result<(AlertKey, CaseEvent)>> + '_ {
        self.events.iter().map(|kv| {
            let (k, v) = kv?;
            let (key, _) = parse_case_key(&k)
                .ok_or_else(|| StoreError::Corrupt { what: "event key".into(), detail: format!("{k:?}") })?;
            Ok((key, decode("event", &v)?))
        })
    }

    pub fn events(&self, key: &AlertKey) -> Result<Vec<CaseEvent>> {
        self.events.scan_prefix(case_key(key)).values().map(|v| decode("event", &v?)).collect()
    }

    /// Appends one event and flushes it: a decision is acknowledged only after this returns.
    pub fn append(&self, key: &AlertKey, event: &CaseEvent) -> Result<()> {
        let seq = self.db.generate_id()?;
        let mut k = case_key(key);
        k.extend_from_slice(&seq.to_be_bytes());
        self.events.insert(k, encode(event))?;
        self.flush()
    }

    /// Stores a page: alerts (idempotent by source, id, revision), their events, the quarantined ones and
    /// the cursor that follows, in one transaction, then flushes.
    pub fn ingest_page(
        &self,
        incoming: &[Incoming<'_>],
        rejected: &[Rejected],
        staff_dropped: usize,
        cursor: Option<&str>,
        template_version: u32,
        now: DateTime<Utc>,
    ) -> Result<IngestReport> {
        let mut seqs = Vec::with_capacity(incoming.len() * 2 + rejected.len());
        for _ in 0..incoming.len() * 2 + rejected.len() {
            seqs.push(self.db.generate_id()?);
        }
        let result = (&self.alerts, &self.events, &self.feed, &self.quarantine).transaction(
            |(alerts, events, feed, quarantine)| {
                let mut report = IngestReport { staff_dropped, ..IngestReport::default() };
                let mut seq = seqs.iter();
                let mut push_event =
                    |key: &AlertKey,
                     kind: EventKind|
                     -> std::result::Result<(), ConflictableTransactionError<StoreError>> {
                        let mut k = case_key(key);
                        k.extend_from_slice(&seq.next().copied().unwrap_or(u64::MAX).to_be_bytes());
                        events.insert(k, encode(&CaseEvent::new(now, "feed", kind)))?;
                        Ok(())
                    };
                for inc in incoming {
                    let alert = inc.alert;
                    let k = case_key(&alert.key);
                    let existing: Option<Alert> = match alerts.get(&k)? {
                        Some(bytes) => Some(decode("alert", &bytes).map_err(ConflictableTransactionError::Abort)?),
                        None => None,
                    };
                    match existing {
                        None => {
                            alerts.insert(k, encode(alert))?;
                            push_event(
                                &alert.key,
                                EventKind::Raised {
                                    revision: alert.revision,
                                    level: inc.grading.level,
                                    illegal_path: inc.grading.illegal_path,
                                    template_version,
                                },
                            )?;
                            if alert.withdrawn {
                                push_event(&alert.key, EventKind::Withdrawn)?;
                            }
                            report.new += 1;
                        }
                        Some(old) if old.revision < alert.revision => {
                            alerts.insert(k, encode(alert))?;
                            push_event(
                                &alert.key,
                                EventKind::Revised {
                                    from: old.revision,
                                    to: alert.revision,
                                    level: inc.grading.level,
                                    illegal_path: inc.grading.illegal_path,
                                },
                            )?;
                            if alert.withdrawn && !old.withdrawn {
                                push_event(&alert.key, EventKind::Withdrawn)?;
                            }
                            report.revised += 1;
                        }
                        Some(_) => report.unchanged += 1,
                    }
                }
                for r in rejected {
                    let key = seq.next().copied().unwrap_or(u64::MAX).to_be_bytes();
                    quarantine.insert(&key, encode(&Quarantined { received_at: now, rejected: r.clone() }))?;
                    report.quarantined += 1;
                }
                let mut state: FeedState = match feed.get("state")? {
                    Some(bytes) => decode("feed state", &bytes).map_err(ConflictableTransactionError::Abort)?,
                    None => FeedState::default(),
                };
                if let Some(c) = cursor {
                    state.cursor = Some(c.to_string());
                }
                state.staff_dropped += staff_dropped as u64;
                feed.insert("state", encode(&state))?;
                Ok(report)
            },
        );
        let report = result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        })?;
        self.flush()?;
        Ok(report)
    }

    pub fn feed_state(&self) -> Result<FeedState> {
        match self.feed.get("state")? {
            Some(bytes) => decode("feed state", &bytes),
            None => Ok(FeedState::default()),
        }
    }

    /// Read-modify-write of the feed state (health, ETag). Atomic against concurrent writers.
    pub fn update_feed_state(&self, f: impl Fn(&mut FeedState)) -> Result<FeedState> {
        let mut out = FeedState::default();
        self.feed.fetch_and_update("state", |old| {
            let mut state: FeedState = old.and_then(|b| decode("feed state", b).ok()).unwrap_or_default();
            f(&mut state);
            out = state.clone();
            Some(encode(&state))
        })?;
        self.flush()?;
        Ok(out)
    }

    pub fn quarantined(&self) -> Result<Vec<Quarantined>> {
        self.quarantine.iter().values().map(|v| decode("quarantined alert", &v?)).collect()
    }

    pub fn quarantine_count(&self) -> usize {
        self.quarantine.len()
    }

    pub fn blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.blobs.get(name)?.map(|v| v.to_vec()))
    }

    pub fn put_blob(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.blobs.insert(name, bytes)?;
        Ok(())
    }
}

/// Creates `dir` readable by its owner only: it holds safeguarding data.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_keys_round_trip_and_are_prefix_free() {
        let a = AlertKey::new("src", "id1");
        let b = AlertKey::new("src", "id10");
        let ka = case_key(&a);
        assert!(!case_key(&b).starts_with(&ka));
        let mut with_seq = ka.clone();
        with_seq.extend_from_slice(&7u64.to_be_bytes());
        assert_eq!(parse_case_key(&with_seq), Some((a, ka.len())));
    }
}
