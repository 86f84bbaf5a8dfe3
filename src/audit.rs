//! The audit trail: who saw or did what to which case, and when, kept so that it stands as evidence.
//!
//! Every view of a case's content (the detail opened, the CPOMS text produced, a screenshot shown), every
//! action and every export is one record: actor, time, case (or none), and a content-free description of
//! what happened (never alert text, notes, reasons or values: `ticked cpoms-logged`, not what was typed).
//!
//! Records live in their own sled tree, `audit`, and are only ever appended. Each is stored as
//! `{"hash":H,"record":R}` where `R` is the record's canonical bytes (its JSON exactly as written) and `H`
//! their SHA-256; each record carries the hash of the one before it (`prev`), and the tree's `head` holds
//! the last record's number and hash. Editing a record breaks its own hash; rewriting it breaks the next
//! record's link; deleting or reordering records breaks the numbering or the links; cutting off the tail
//! breaks the head. [`verify`] names the first record where any of that happens. What a hash chain cannot
//! do is stop someone with write access from rewriting every record after the one they changed; writing
//! down the head that `vigil audit verify` prints (in a paper log, an email to the governors) anchors it.
//!
//! The trail holds no alert content, so it is kept in the clear: it can be verified and read with the
//! store's key alone, and a retention purge leaves a tombstone here that still says a case existed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use crate::domain::{AlertKey, EventKind};
use crate::store::{Store, StoreError};

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const RECORD_PREFIX: &[u8] = b"r/";
const HEAD: &[u8] = b"head";

/// One audit record, as stored (its hash is over these fields' JSON, in this order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// 1, 2, 3, ... with no gaps.
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The OS user, or `retention` for a purge.
    pub actor: String,
    /// `SOURCE:ID`, or none for what concerns no single case (the queue listed, a report exported).
    pub case: Option<String>,
    /// What happened, without content.
    pub what: String,
    /// The SHA-256 (hex) of the previous record's canonical bytes, or [`GENESIS`].
    pub prev: String,
}

/// A record to append: everything but its number and link, which the trail assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub case: Option<AlertKey>,
    pub what: String,
}

impl Entry {
    pub fn new(at: DateTime<Utc>, actor: &str, case: Option<&AlertKey>, what: impl Into<String>) -> Entry {
        Entry { at, actor: actor.to_string(), case: case.cloned(), what: what.into() }
    }
}

#[derive(Serialize)]
struct StoredOut<'a> {
    hash: &'a str,
    record: &'a RawValue,
}

#[derive(Deserialize)]
struct StoredIn<'a> {
    hash: String,
    #[serde(borrow)]
    record: &'a RawValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    seq: u64,
    hash: String,
}

fn record_key(seq: u64) -> Vec<u8> {
    [RECORD_PREFIX, &seq.to_be_bytes()].concat()
}

fn key_seq(key: &[u8]) -> Option<u64> {
    key.strip_prefix(RECORD_PREFIX).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn corrupt(detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt { what: "audit trail".into(), detail: detail.into() }
}

/// Appends `entry` within a transaction over the audit tree (alone, or with the trees whose change it
/// records, so the change and its record are written together or not at all).
pub(crate) fn append_tx(
    tree: &TransactionalTree,
    entry: &Entry,
) -> Result<AuditRecord, ConflictableTransactionError<StoreError>> {
    let head: Option<Head> = match tree.get(HEAD)? {
        Some(bytes) => Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| ConflictableTransactionError::Abort(corrupt(format!("its head is unreadable: {e}"))))?,
        ),
        None => None,
    };
    let (seq, prev) = head.map_or((1, GENESIS.to_string()), |h| (h.seq + 1, h.hash));
    let record = AuditRecord {
        seq,
        at: entry.at,
        actor: entry.actor.clone(),
        case: entry.case.as_ref().map(ToString::to_string),
        what: entry.what.clone(),
        prev,
    };
    let canonical =
        serde_json::to_string(&record).map_err(|e| ConflictableTransactionError::Abort(corrupt(e.to_string())))?;
    let hash = sha256_hex(canonical.as_bytes());
    let raw =
        RawValue::from_string(canonical).map_err(|e| ConflictableTransactionError::Abort(corrupt(e.to_string())))?;
    let stored = serde_json::to_vec(&StoredOut { hash: &hash, record: &raw })
        .map_err(|e| ConflictableTransactionError::Abort(corrupt(e.to_string())))?;
    let head = serde_json::to_vec(&Head { seq, hash })
        .map_err(|e| ConflictableTransactionError::Abort(corrupt(e.to_string())))?;
    tree.insert(record_key(seq), stored)?;
    tree.insert(HEAD, head)?;
    Ok(record)
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every record is in place; `head` is the last record's hash (none for an empty trail).
    Intact { records: u64, head: Option<String> },
    /// The first record at which the chain does not hold, and why.
    Broken { seq: u64, reason: String },
}

/// Parses one stored record, checking its own hash. `Err` says why it is unreadable or altered.
fn parse_stored(bytes: &[u8]) -> Result<(AuditRecord, String), String> {
    let stored: StoredIn<'_> =
        serde_json::from_slice(bytes).map_err(|e| format!("it is unreadable ({e}): its bytes were altered"))?;
    let canonical = stored.record.get();
    if sha256_hex(canonical.as_bytes()) != stored.hash {
        return Err("it was altered: its content does not match its hash".into());
    }
    let record: AuditRecord =
        serde_json::from_str(canonical).map_err(|e| format!("it is unreadable ({e}): its bytes were altered"))?;
    Ok((record, stored.hash))
}

/// Checks the whole chain, in order, and names the first broken record.
pub fn verify(tree: &sled::Tree) -> Result<Verdict, StoreError> {
    let mut expected = 1u64;
    let mut prev = GENESIS.to_string();
    for kv in tree.scan_prefix(RECORD_PREFIX) {
        let (k, v) = kv?;
        let Some(seq) = key_seq(&k) else {
            return Ok(Verdict::Broken { seq: expected, reason: format!("a stray entry ({k:?}) stands in the trail") });
        };
        if seq != expected {
            let reason = if seq > expected {
                format!("it is missing: the trail goes from record {} to record {seq}", expected - 1)
            } else {
                format!("record {seq} appears twice")
            };
            return Ok(Verdict::Broken { seq: expected, reason });
        }
        let (record, hash) = match parse_stored(&v) {
            Ok(r) => r,
            Err(reason) => return Ok(Verdict::Broken { seq, reason }),
        };
        if record.seq != seq {
            let reason = format!("it is out of place: it holds record {}, so records were reordered", record.seq);
            return Ok(Verdict::Broken { seq, reason });
        }
        if record.prev != prev {
            let reason = if seq == 1 {
                "it does not start the trail: records before it were removed, or it was rewritten".to_string()
            } else {
                format!(
                    "it does not follow record {}: that record was rewritten, or records were removed, inserted or reordered",
                    seq - 1
                )
            };
            return Ok(Verdict::Broken { seq, reason });
        }
        prev = hash;
        expected += 1;
    }
    let last = expected - 1;
    let head: Option<Head> = match tree.get(HEAD)? {
        Some(bytes) => match serde_json::from_slice(&bytes) {
            Ok(h) => Some(h),
            Err(_) => return Ok(Verdict::Broken { seq: last + 1, reason: "the trail's head is unreadable".into() }),
        },
        None => None,
    };
    match head {
        None if last == 0 => Ok(Verdict::Intact { records: 0, head: None }),
        None => Ok(Verdict::Broken { seq: last, reason: "the trail's head is missing".into() }),
        Some(h) if h.seq > last => Ok(Verdict::Broken {
            seq: last + 1,
            reason: format!("it is missing: the trail ends at record {last} but its head says {}", h.seq),
        }),
        Some(h) if h.seq < last => Ok(Verdict::Broken {
            seq: h.seq + 1,
            reason: format!("it was added after the trail's head (record {})", h.seq),
        }),
        Some(h) if h.hash != prev => {
            Ok(Verdict::Broken { seq: last, reason: "it does not match the trail's head: it was rewritten".into() })
        }
        Some(_) => Ok(Verdict::Intact { records: last, head: Some(prev) }),
    }
}

/// Every record in order. A record that cannot be read is an error: run [`verify`] to see which.
pub fn records(tree: &sled::Tree) -> Result<Vec<AuditRecord>, StoreError> {
    tree.scan_prefix(RECORD_PREFIX)
        .values()
        .map(|v| parse_stored(&v?).map(|(r, _)| r).map_err(|e| corrupt(format!("{e}; run `vigil audit verify`"))))
        .collect()
}

impl Store {
    /// Appends one record and flushes it: nothing is shown before its record is on disk.
    pub fn audit_append(&self, entry: &Entry) -> Result<AuditRecord, StoreError> {
        let record = self.audit_tree().transaction(|t| append_tx(t, entry)).map_err(crate::store::tx_error)?;
        self.flush()?;
        Ok(record)
    }

    /// Every audit record, oldest first.
    pub fn audit_records(&self) -> Result<Vec<AuditRecord>, StoreError> {
        records(self.audit_tree())
    }

    /// Checks the audit chain.
    pub fn audit_verify(&self) -> Result<Verdict, StoreError> {
        verify(self.audit_tree())
    }
}

/// What an action did, without what was typed: item ids, levels and outcome ids come from the checklist
/// templates; notes, reasons and values are left out.
pub fn action_text(kind: &EventKind) -> String {
    match kind {
        EventKind::Raised { revision, level, .. } => format!("raised by the feed (rev {revision}) at {level}"),
        EventKind::Revised { from, to, .. } => format!("revised by the feed: rev {from} -> {to}"),
        EventKind::Withdrawn => "withdrawn by the vendor".into(),
        EventKind::Reinstated => "reinstated by the vendor".into(),
        EventKind::Viewed => "first view recorded".into(),
        EventKind::Regraded { from, to, .. } => format!("regraded {from} -> {to}"),
        EventKind::IllegalPathChosen { .. } => "chose the illegal-content path".into(),
        EventKind::ItemDone { item, value, note } => format!(
            "ticked {item}{}{}",
            if value.is_some() { " with a value" } else { "" },
            if note.is_some() { " with a note" } else { "" }
        ),
        EventKind::ItemUndone { item, .. } => format!("unticked {item}"),
        EventKind::NoteAdded { .. } => "added a note".into(),
        EventKind::FollowUpSet { date } => format!("set a follow-up for {date}"),
        EventKind::Closed { outcome } => format!("closed: {outcome}"),
        EventKind::Reopened { .. } => "reopened".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (sled::Db, sled::Tree) {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let tree = db.open_tree("audit").expect("tree");
        (db, tree)
    }

    fn append(tree: &sled::Tree, n: u64) {
        let at = DateTime::from_timestamp(1_800_000_000 + n as i64, 0).expect("time");
        let entry = Entry::new(at, "dsl", Some(&AlertKey::new("sw", format!("A{n}"))), "opened the case");
        tree.transaction(|t| append_tx(t, &entry)).expect("append");
    }

    #[test]
    fn an_intact_chain_verifies_and_links_each_record_to_the_last() {
        let (_db, t) = tree();
        assert_eq!(verify(&t).expect("verify"), Verdict::Intact { records: 0, head: None });
        for n in 1..=3 {
            append(&t, n);
        }
        let rs = records(&t).expect("records");
        assert_eq!(rs.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(rs[0].prev, GENESIS);
        assert_ne!(rs[1].prev, rs[2].prev);
        assert!(matches!(verify(&t).expect("verify"), Verdict::Intact { records: 3, head: Some(_) }));
    }

    #[test]
    fn a_cut_tail_is_found_by_the_head() {
        let (_db, t) = tree();
        for n in 1..=3 {
            append(&t, n);
        }
        t.remove(record_key(3)).expect("remove");
        assert!(matches!(verify(&t).expect("verify"), Verdict::Broken { seq: 3, .. }));
    }

    #[test]
    fn action_texts_carry_no_typed_content() {
        let k = EventKind::ItemDone {
            item: "cpoms-logged".into(),
            value: Some("CP-SECRET".into()),
            note: Some("NOTE".into()),
        };
        assert_eq!(action_text(&k), "ticked cpoms-logged with a value with a note");
        let k = EventKind::NoteAdded { text: "SECRET".into() };
        assert!(!action_text(&k).contains("SECRET"));
        let k = EventKind::Reopened { reason: "SECRET".into() };
        assert!(!action_text(&k).contains("SECRET"));
    }
}
