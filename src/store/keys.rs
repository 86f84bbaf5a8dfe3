//! The key layout: which tree holds what, and under which key (case keys, event ids, cache keys,
//! quarantine keys), with the fixed-width numbers stored in them.

use chrono::{DateTime, Utc};

use super::{Result, Store};
use crate::domain::AlertKey;
use crate::feed::protocol::Rejected;

// The trees whose values are sealed; each name is part of its values' associated data.
pub(super) const ALERTS: &str = "alerts";
pub(super) const EVENTS: &str = "events";

pub(super) const QUARANTINE: &str = "quarantine";
pub(super) const BLOBS: &str = "blobs";
/// Key-derivation parameters and the sealed key check.
pub(super) const META: &str = "meta";

/// Added to sled's id counter, which a compacted store starts again from 0 ([`super::compact`]).
pub(super) const META_ID_BASE: &[u8] = b"id-base";

/// A prefix-free key: two length-prefixed strings, so one case's events never run into another's.
pub(super) fn case_key(key: &AlertKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.source.len() + key.id.len());
    for part in [&key.source, &key.id] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

pub(super) fn parse_case_key(bytes: &[u8]) -> Option<(AlertKey, usize)> {
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

pub(super) const CACHE_TOTAL: &[u8] = b"cache/total";

/// Keys of the blob cache live under `cache/` in the blobs tree: `d/` data, `m/` (sequence, size) by name,
/// `o/` name by sequence, oldest first.
pub(super) fn cache_key(kind: &[u8], rest: &[u8]) -> Vec<u8> {
    [b"cache/".as_slice(), kind, rest].concat()
}

pub(super) fn be_i64(bytes: &[u8]) -> i64 {
    bytes.get(..8).and_then(|b| b.try_into().ok()).map_or(i64::MIN, i64::from_be_bytes)
}

/// Microseconds since the epoch as a time, saturating at the ends of what chrono can hold.
pub(super) fn micros_to_time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(if us < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

pub(super) fn be_u64(bytes: &[u8]) -> u64 {
    bytes.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes)
}

/// A quarantined alert's key: the SHA-256 of its raw JSON and the reason.
pub(super) fn quarantine_key(r: &Rejected) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(r.raw.as_bytes());
    h.update([0]);
    h.update(r.reason.as_bytes());
    h.finalize().into()
}

impl Store {
    /// A new id, greater than every one given before in this store (event keys and cache order end with one).
    pub(super) fn next_id(&self) -> Result<u64> {
        Ok(self.db.generate_id()?.saturating_add(self.id_base))
    }
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
