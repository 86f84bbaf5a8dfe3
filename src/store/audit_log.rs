//! The audit trail as the store writes it: the store writes a change's audit record in the same
//! transaction as the change it records, so a decision and the record of who made it are stored together
//! or not at all. This module holds what writing needs: the record ([`AuditRecord`], [`Entry`]), the chain's
//! key ([`AuditKey`]), the stored format (each record with its MAC and the MAC of the one before, a MAC'd
//! head and key marker) and its parser. Checking and reporting the trail is [`crate::audit`]'s, which reads
//! it through the store; nothing here depends on that module.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{Store, StoreError, tx_error};
use crate::domain::AlertKey;

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub(crate) const RECORD_PREFIX: &[u8] = b"r/";
pub(crate) const HEAD: &[u8] = b"head";
/// From which record the trail is keyed (MAC'd): present in every store created or upgraded since.
const KEYED: &[u8] = b"keyed";

/// One audit record, as stored (its MAC is over these fields' JSON, in this order).
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
    /// The MAC (or, before the trail was keyed, the SHA-256) of the previous record, or [`GENESIS`].
    pub prev: String,
    /// The case event this record is the decision of: `vigil audit verify` checks the case's log holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Uuid>,
    /// A tombstone: the case's alert, events and index entry were removed with this record.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub purge: bool,
}

/// A record to append: everything but its number and link, which the trail assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub case: Option<AlertKey>,
    pub what: String,
    /// Set by the store when the record is written with the event it records.
    pub event: Option<Uuid>,
    /// Set by the store when the record is a purge's tombstone.
    pub purge: bool,
}

impl Entry {
    pub fn new(at: DateTime<Utc>, actor: &str, case: Option<&AlertKey>, what: impl Into<String>) -> Entry {
        Entry { at, actor: actor.to_string(), case: case.cloned(), what: what.into(), event: None, purge: false }
    }
}

/// The key of the audit chain: HMAC-SHA256 of a label under the store key, so it is never stored, a copy of
/// the data dir does not carry it, and a MAC under it tells nothing about the key that seals values.
pub struct AuditKey(Zeroizing<[u8; 32]>);

type HmacSha256 = Hmac<Sha256>;

impl AuditKey {
    /// Derives the audit key from the store key.
    pub fn derive(store_key: &[u8; 32]) -> AuditKey {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&hmac(store_key, &[b"vigil audit chain key v1"]));
        AuditKey(out)
    }

    /// The MAC (hex) of `parts` under `label`; each part is length-prefixed, so no two inputs run together.
    fn mac(&self, label: &str, parts: &[&[u8]]) -> String {
        let mut input: Vec<&[u8]> = vec![label.as_bytes()];
        input.extend_from_slice(parts);
        hex::encode(hmac(self.0.as_ref(), &input))
    }

    /// Whether `claimed` (hex) is the MAC of `parts` under `label`, compared in constant time.
    pub(crate) fn checks(&self, label: &str, parts: &[&[u8]], claimed: &str) -> bool {
        let Ok(claimed) = hex::decode(claimed) else { return false };
        let mut m = hmac_state(self.0.as_ref());
        feed(&mut m, label.as_bytes());
        for p in parts {
            feed(&mut m, p);
        }
        m.verify_slice(&claimed).is_ok()
    }

    fn record_mac(&self, canonical: &str) -> String {
        self.mac("record", &[canonical.as_bytes()])
    }

    fn head_tag(&self, seq: u64, link: &str) -> String {
        self.mac("head", &[&seq.to_be_bytes(), link.as_bytes()])
    }

    fn keyed_tag(&self, from: u64) -> String {
        self.mac("keyed-from", &[&from.to_be_bytes()])
    }
}

fn hmac_state(key: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length: this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

fn feed(m: &mut HmacSha256, part: &[u8]) {
    m.update(&(part.len() as u64).to_be_bytes());
    m.update(part);
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = hmac_state(key);
    for p in parts {
        feed(&mut m, p);
    }
    m.finalize().into_bytes().into()
}

#[derive(Serialize)]
struct StoredOut<'a> {
    mac: &'a str,
    record: &'a RawValue,
}

/// A record of an unkeyed trail (an earlier vigil's, not yet upgraded), which goes on unkeyed.
#[derive(Serialize)]
struct StoredHashOut<'a> {
    hash: &'a str,
    record: &'a RawValue,
}

#[derive(Deserialize)]
struct StoredIn<'a> {
    /// Records written before the trail was keyed: the plain SHA-256 of the record.
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    mac: Option<String>,
    #[serde(borrow)]
    record: &'a RawValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Head {
    pub(crate) seq: u64,
    /// The last record's MAC (or hash, unkeyed).
    pub(crate) hash: String,
    /// The MAC of (seq, hash): absent in an unkeyed trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct KeyedFrom {
    from: u64,
    tag: String,
}

pub(crate) fn record_key(seq: u64) -> Vec<u8> {
    [RECORD_PREFIX, &seq.to_be_bytes()].concat()
}

pub(crate) fn key_seq(key: &[u8]) -> Option<u64> {
    key.strip_prefix(RECORD_PREFIX).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) fn corrupt(detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt { what: "audit trail".into(), detail: detail.into() }
}

fn abort(e: impl std::fmt::Display) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(corrupt(e.to_string()))
}

/// The record that follows `head` (the trail's stored head, none for a trail without one) for `entry`:
/// the record, its stored bytes (with its MAC, or its plain hash when the trail is not `keyed`) and the new
/// stored head. The one rule both backends chain records by; `Err` says what could not be read or written.
pub(crate) fn chain_next(
    head: Option<&[u8]>,
    keyed: bool,
    key: &AuditKey,
    entry: &Entry,
) -> Result<(AuditRecord, Vec<u8>, Vec<u8>), String> {
    let head: Option<Head> = match head {
        Some(bytes) => Some(serde_json::from_slice(bytes).map_err(|e| format!("its head is unreadable: {e}"))?),
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
        event: entry.event,
        purge: entry.purge,
    };
    let text = |e: serde_json::Error| e.to_string();
    let canonical = serde_json::to_string(&record).map_err(text)?;
    let (stored, head) = if keyed {
        let mac = key.record_mac(&canonical);
        let raw = RawValue::from_string(canonical).map_err(text)?;
        let stored = serde_json::to_vec(&StoredOut { mac: &mac, record: &raw }).map_err(text)?;
        (stored, Head { seq, tag: Some(key.head_tag(seq, &mac)), hash: mac })
    } else {
        let hash = sha256_hex(canonical.as_bytes());
        let raw = RawValue::from_string(canonical).map_err(text)?;
        let stored = serde_json::to_vec(&StoredHashOut { hash: &hash, record: &raw }).map_err(text)?;
        (stored, Head { seq, hash, tag: None })
    };
    Ok((record, stored, serde_json::to_vec(&head).map_err(text)?))
}

/// Appends `entry` within a transaction over the audit tree (alone, or with the trees whose change it
/// records, so the change and its record are written together or not at all). Keyed if the trail is.
pub(crate) fn append_tx(
    tree: &TransactionalTree,
    key: &AuditKey,
    entry: &Entry,
) -> Result<AuditRecord, ConflictableTransactionError<StoreError>> {
    // An unkeyed trail (written by an earlier vigil, not yet upgraded) goes on unkeyed: `verify` says so.
    let keyed = tree.get(KEYED)?.is_some();
    let (record, stored, head) = chain_next(tree.get(HEAD)?.as_deref(), keyed, key, entry).map_err(abort)?;
    tree.insert(record_key(record.seq), stored)?;
    tree.insert(HEAD, head)?;
    Ok(record)
}

/// The key marker and head of a new, empty trail keyed from its first record (stored bytes of each).
pub(crate) fn keyed_start(key: &AuditKey) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    let marker = KeyedFrom { from: 1, tag: key.keyed_tag(1) };
    let head = Head { seq: 0, hash: GENESIS.to_string(), tag: Some(key.head_tag(0, GENESIS)) };
    Ok((
        serde_json::to_vec(&marker).map_err(|e| corrupt(e.to_string()))?,
        serde_json::to_vec(&head).map_err(|e| corrupt(e.to_string()))?,
    ))
}

/// Marks a new, empty trail as keyed from its first record, with a keyed head for the empty trail (so a
/// trail wiped later is missing records its head counts). Does nothing to a trail that has records.
pub(crate) fn begin_keyed(tree: &sled::Tree, key: &AuditKey) -> Result<(), StoreError> {
    if tree.get(HEAD)?.is_some() || tree.get(KEYED)?.is_some() || tree.scan_prefix(RECORD_PREFIX).next().is_some() {
        return Ok(());
    }
    let (marker, head) = keyed_start(key)?;
    tree.insert(KEYED, marker)?;
    tree.insert(HEAD, head)?;
    Ok(())
}

/// A record read back: the record, its link (MAC or hash), whether it is keyed.
pub(crate) struct Read {
    pub(crate) record: AuditRecord,
    pub(crate) link: String,
    pub(crate) keyed: bool,
}

/// Parses one stored record, checking its own MAC (with `key`) or hash. `Err` says why it fails.
pub(crate) fn parse_stored(bytes: &[u8], key: &AuditKey) -> Result<Read, String> {
    let unreadable = |e: serde_json::Error| format!("it is unreadable ({e}): its bytes were altered");
    let stored: StoredIn<'_> = serde_json::from_slice(bytes).map_err(unreadable)?;
    let canonical = stored.record.get();
    let (link, keyed) = match (stored.mac, stored.hash) {
        (Some(mac), None) => {
            if !key.checks("record", &[canonical.as_bytes()], &mac) {
                return Err("it was altered: its content does not match its keyed MAC (written without the key)".into());
            }
            (mac.to_ascii_lowercase(), true)
        }
        (None, Some(hash)) => {
            if sha256_hex(canonical.as_bytes()) != hash {
                return Err("it was altered: its content does not match its hash".into());
            }
            (hash, false)
        }
        _ => return Err("it is unreadable (neither a MAC nor a hash): its bytes were altered".into()),
    };
    let record: AuditRecord = serde_json::from_str(canonical).map_err(unreadable)?;
    Ok(Read { record, link, keyed })
}

/// Reads the keyed marker: `Ok(None)` for an unkeyed trail, `Err` (a reason) for a marker that fails its MAC.
pub(crate) fn keyed_from(tree: &sled::Tree, key: &AuditKey) -> Result<Result<Option<u64>, String>, StoreError> {
    Ok(keyed_from_bytes(tree.get(KEYED)?.as_deref(), key))
}

/// [`keyed_from`] of a marker's stored bytes (none: the trail is not keyed).
pub(crate) fn keyed_from_bytes(marker: Option<&[u8]>, key: &AuditKey) -> Result<Option<u64>, String> {
    let Some(bytes) = marker else { return Ok(None) };
    match serde_json::from_slice::<KeyedFrom>(bytes) {
        Ok(k) if k.from >= 1 && key.checks("keyed-from", &[&k.from.to_be_bytes()], &k.tag) => Ok(Some(k.from)),
        _ => Err("the trail's key marker was altered or forged without the key".into()),
    }
}

impl Store {
    /// Appends one record and flushes it: nothing is shown before its record is on disk.
    pub fn audit_append(&self, entry: &Entry) -> Result<AuditRecord, StoreError> {
        self.room()?;
        let record = self.audit.transaction(|t| append_tx(t, &self.audit_key, entry)).map_err(tx_error)?;
        self.flush()?;
        Ok(record)
    }

    /// Keys the chain from its next record: writes the key marker and appends `entry` as the first keyed
    /// record, in one transaction; then flushes. The caller has checked that the trail is unkeyed and its
    /// plain chain holds ([`Store::audit_upgrade`]).
    pub(crate) fn audit_key_from_next(&self, entry: &Entry) -> Result<AuditRecord, StoreError> {
        self.room()?;
        let key = &self.audit_key;
        let record = self
            .audit
            .transaction(|t| {
                let from = match t.get(HEAD)? {
                    Some(bytes) => serde_json::from_slice::<Head>(&bytes).map_err(abort)?.seq + 1,
                    None => 1,
                };
                let marker = KeyedFrom { from, tag: key.keyed_tag(from) };
                t.insert(KEYED, serde_json::to_vec(&marker).map_err(abort)?)?;
                append_tx(t, key, entry)
            })
            .map_err(tx_error)?;
        self.flush()?;
        Ok(record)
    }
}

/// The audit trail as a store keeps it: the key marker (`None`: an unkeyed trail), each record's stored
/// bytes (its JSON with its MAC) by number, and the head. Nothing here is content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredTrail {
    pub marker: Option<Vec<u8>>,
    pub records: Vec<(u64, Vec<u8>)>,
    pub head: Option<Vec<u8>>,
}

/// The trail as stored, for a copy ([`super::copy`]): its marker, records and head, byte for byte.
pub(crate) fn stored_trail(tree: &sled::Tree) -> Result<StoredTrail, StoreError> {
    let mut records = Vec::new();
    for kv in tree.scan_prefix(RECORD_PREFIX) {
        let (k, v) = kv?;
        let seq = key_seq(&k).ok_or_else(|| corrupt(format!("a stray entry ({k:?}) stands in the trail")))?;
        records.push((seq, v.to_vec()));
    }
    Ok(StoredTrail { marker: tree.get(KEYED)?.map(|v| v.to_vec()), records, head: tree.get(HEAD)?.map(|v| v.to_vec()) })
}

/// Writes `trail` as stored into a trail that has no records (a new store's, for a copy), in one
/// transaction: its records, marker and head, byte for byte, so the chain goes on where it left off.
/// Refused for a trail that has records: nothing may rewrite one.
pub(crate) fn adopt_trail(tree: &sled::Tree, trail: &StoredTrail) -> Result<(), StoreError> {
    if tree.scan_prefix(RECORD_PREFIX).next().is_some() {
        return Err(corrupt("it holds records already: a copy goes only into an empty trail"));
    }
    tree.transaction(|t| {
        for (seq, stored) in &trail.records {
            t.insert(record_key(*seq), stored.as_slice())?;
        }
        match &trail.marker {
            Some(marker) => t.insert(KEYED, marker.as_slice())?,
            None => t.remove(KEYED)?,
        };
        match &trail.head {
            Some(head) => t.insert(HEAD, head.as_slice())?,
            None => t.remove(HEAD)?,
        };
        Ok::<_, ConflictableTransactionError<StoreError>>(())
    })
    .map_err(tx_error)
}
