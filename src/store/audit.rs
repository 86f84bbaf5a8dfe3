//! The audit trail: who saw or did what to which case, and when, kept so that it stands as evidence. This
//! module checks and reports it; the store writes it, in the transaction of the change each record
//! records ([`super::audit_log`], which also holds the stored format).
//!
//! Every view of a case's content (the detail opened, the CPOMS text produced, a screenshot shown), every
//! action and every export is one record: actor, time, case (or none), and a content-free description of
//! what happened (never alert text, notes, reasons or values: `ticked cpoms-logged`, not what was typed).
//!
//! Records live in their own sled tree, `audit`, and are only ever appended. Each is stored as
//! `{"mac":M,"record":R}` where `R` is the record's canonical bytes (its JSON exactly as written) and `M`
//! their HMAC-SHA256 under the audit key, which is derived from the store key with its own label and never
//! stored (see [`AuditKey`]). Each record carries the MAC of the one before it (`prev`); the tree's `head`
//! holds the last record's number and MAC, itself MAC'd; and a MAC'd marker says from which record the
//! trail is keyed. Without the store key nobody can write a record, a head or a marker that verifies: an
//! edited, forged, re-chained, deleted, reordered or cut-off record, a wiped trail and a removed marker are
//! all found by [`verify`], which names the first record where the chain does not hold.
//!
//! What the data dir alone cannot prove is that it is the latest copy: a whole store rolled back to an
//! earlier copy (or an old head dug out of sled's file) verifies. [`HeadMark`] (`N:MAC`) is the trail's head
//! in print: kept elsewhere, `vigil audit verify --expect N:MAC` checks the trail still holds that record.
//!
//! Stores written before the chain was keyed hold `{"hash":H,"record":R}` records (`H` the plain SHA-256
//! of `R`), which anyone can rewrite. They verify as *not keyed*, never as intact, until the DSL keys the
//! chain ([`Store::audit_upgrade`]): that appends a keyed record saying which records came before, and from
//! then on the earlier records are checked as a plain hash chain and the rest with the key.
//!
//! The trail holds no alert content, so it is kept in the clear: it can be read with the store's key
//! alone, and a retention purge leaves a tombstone here that still says a case existed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::audit_log::{HEAD, Head, RECORD_PREFIX, corrupt, key_seq, keyed_from, parse_stored};
use super::{Store, StoreError};
use crate::domain::{AlertKey, CaseEvent, EventKind};

/// The trail's record, its key and its first link are the store's (it writes them with the changes they
/// record); re-exported here, where callers have always found them.
pub use super::audit_log::{AuditKey, AuditRecord, Entry, GENESIS};

/// The trail's head in print, `N:MAC` (the number of the last record and its MAC; `0:000…` for an empty
/// trail): what to keep elsewhere, and what `vigil audit verify --expect` takes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeadMark {
    pub seq: u64,
    pub link: String,
}

impl std::fmt::Display for HeadMark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.link)
    }
}

impl std::str::FromStr for HeadMark {
    type Err = String;

    fn from_str(s: &str) -> Result<HeadMark, String> {
        let bad = || format!("`{s}` is not an audit head: it is N:HASH, as `vigil audit head` prints it");
        let (seq, link) = s.trim().split_once(':').ok_or_else(bad)?;
        let seq = seq.parse().map_err(|_| bad())?;
        let link = link.to_ascii_lowercase();
        if link.len() != 64 || !link.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(HeadMark { seq, link })
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    /// Every record is in place, and the keyed ones verify with the key. `unkeyed` records at the start were
    /// written before the chain was keyed (checked as a plain hash chain only).
    Intact { records: u64, head: HeadMark, unkeyed: u64 },
    /// The whole trail is a plain hash chain, written by an earlier vigil: intact as far as a hash chain can
    /// tell, which is not far (anyone with write access to the data dir can rewrite it). Not evidence until
    /// keyed ([`Store::audit_upgrade`]).
    Unkeyed { records: u64, head: HeadMark },
    /// The first record at which the chain does not hold, and why.
    Broken { seq: u64, reason: String },
    /// The chain holds, but a case's event log and the trail disagree: the first disagreement.
    Disagrees { detail: String },
}

/// Checks the whole chain, in order, and names the first broken record. With `expect` (a head kept
/// elsewhere), also checks the trail still holds that very record: not cut back, rolled back or replaced.
pub fn verify(tree: &sled::Tree, key: &AuditKey, expect: Option<&HeadMark>) -> Result<Verdict, StoreError> {
    let records = tree.scan_prefix(RECORD_PREFIX).map(|kv| {
        let (k, v) = kv?;
        Ok((key_seq(&k).ok_or_else(|| format!("{k:?}")), v.to_vec()))
    });
    let head = || Ok(tree.get(HEAD)?.map(|h| h.to_vec()));
    verify_trail(keyed_from(tree, key)?, records, head, key, expect)
}

/// [`verify`] of a trail however it is kept: its key marker as read (`Err`: why it fails), its stored
/// records in order, each with its number (`Err`: the stray key in its place), and its stored head, read
/// once the records have been. The one check both backends' trails are held to.
pub(crate) fn verify_trail(
    marker: Result<Option<u64>, String>,
    records: impl Iterator<Item = Result<(Result<u64, String>, Vec<u8>), StoreError>>,
    stored_head: impl FnOnce() -> Result<Option<Vec<u8>>, StoreError>,
    key: &AuditKey,
    expect: Option<&HeadMark>,
) -> Result<Verdict, StoreError> {
    let from = match marker {
        Ok(from) => from,
        Err(reason) => return Ok(Verdict::Broken { seq: 1, reason }),
    };
    let mut expected = 1u64;
    let mut prev = GENESIS.to_string();
    let mut expected_link = None;
    for kv in records {
        let (k, v) = kv?;
        let seq = match k {
            Ok(seq) => seq,
            Err(k) => {
                return Ok(Verdict::Broken {
                    seq: expected,
                    reason: format!("a stray entry ({k}) stands in the trail"),
                });
            }
        };
        if seq != expected {
            let reason = if seq > expected {
                format!("it is missing: the trail goes from record {} to record {seq}", expected - 1)
            } else {
                format!("record {seq} appears twice")
            };
            return Ok(Verdict::Broken { seq: expected, reason });
        }
        let read = match parse_stored(&v, key) {
            Ok(r) => r,
            Err(reason) => return Ok(Verdict::Broken { seq, reason }),
        };
        match from {
            None if read.keyed => {
                let reason = "it is keyed, but the trail's key marker is missing: the marker was removed".to_string();
                return Ok(Verdict::Broken { seq, reason });
            }
            Some(f) if seq >= f && !read.keyed => {
                let reason = format!(
                    "it is not keyed, though the trail is keyed from record {f}: it was written or rewritten without the key"
                );
                return Ok(Verdict::Broken { seq, reason });
            }
            Some(f) if seq < f && read.keyed => {
                let reason = format!("it is keyed, though the trail is keyed only from record {f}");
                return Ok(Verdict::Broken { seq, reason });
            }
            _ => {}
        }
        if read.record.seq != seq {
            let reason = format!("it is out of place: it holds record {}, so records were reordered", read.record.seq);
            return Ok(Verdict::Broken { seq, reason });
        }
        if read.record.prev != prev {
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
        if expect.is_some_and(|e| e.seq == seq) {
            expected_link = Some(read.link.clone());
        }
        prev = read.link;
        expected += 1;
    }
    let last = expected - 1;
    let head: Option<Head> = match stored_head()? {
        Some(bytes) => match serde_json::from_slice(&bytes) {
            Ok(h) => Some(h),
            Err(_) => return Ok(Verdict::Broken { seq: last + 1, reason: "the trail's head is unreadable".into() }),
        },
        None => None,
    };
    if let Some(f) = from {
        if last + 1 < f {
            let reason = format!("it is missing: the trail is keyed from record {f}, but ends at record {last}");
            return Ok(Verdict::Broken { seq: last + 1, reason });
        }
        match &head {
            None => {
                let reason = "the trail's head is missing: it was removed, with the records it counted".to_string();
                return Ok(Verdict::Broken { seq: last.max(1), reason });
            }
            Some(h)
                if !h
                    .tag
                    .as_deref()
                    .is_some_and(|t| key.checks("head", &[&h.seq.to_be_bytes(), h.hash.as_bytes()], t)) =>
            {
                let reason = "the trail's head was altered or forged without the key".to_string();
                return Ok(Verdict::Broken { seq: h.seq.min(last + 1).max(1), reason });
            }
            _ => {}
        }
    }
    match head {
        None if last == 0 => {}
        None => return Ok(Verdict::Broken { seq: last, reason: "the trail's head is missing".into() }),
        Some(h) if h.seq > last => {
            return Ok(Verdict::Broken {
                seq: last + 1,
                reason: format!("it is missing: the trail ends at record {last} but its head says {}", h.seq),
            });
        }
        Some(h) if h.seq < last => {
            return Ok(Verdict::Broken {
                seq: h.seq + 1,
                reason: format!("it was added after the trail's head (record {})", h.seq),
            });
        }
        Some(h) if h.hash != prev => {
            return Ok(Verdict::Broken {
                seq: last,
                reason: "it does not match the trail's head: it was rewritten".into(),
            });
        }
        Some(_) => {}
    }
    if let Some(e) = expect {
        if e.seq > last {
            let reason = format!(
                "it is missing: the kept head {e} names record {}, but the trail ends at record {last}: records were removed, or the store was rolled back or replaced",
                e.seq
            );
            return Ok(Verdict::Broken { seq: last + 1, reason });
        }
        let found = if e.seq == 0 { Some(GENESIS.to_string()) } else { expected_link };
        if found.as_deref() != Some(e.link.as_str()) {
            let reason = format!(
                "it is not the record the kept head {e} names: the trail up to it was rewritten with the key, or the store was rolled back or replaced"
            );
            return Ok(Verdict::Broken { seq: e.seq.max(1), reason });
        }
    }
    let head = HeadMark { seq: last, link: prev };
    Ok(match from {
        Some(f) => Verdict::Intact { records: last, head, unkeyed: f - 1 },
        None => Verdict::Unkeyed { records: last, head },
    })
}

/// Every record in order. A record that cannot be read is an error: run [`verify`] to see which.
pub fn records(tree: &sled::Tree, key: &AuditKey) -> Result<Vec<AuditRecord>, StoreError> {
    tree.scan_prefix(RECORD_PREFIX)
        .values()
        .map(|v| {
            parse_stored(&v?, key).map(|r| r.record).map_err(|e| corrupt(format!("{e}; run `vigil audit verify`")))
        })
        .collect()
}

/// A chain's `verdict`, unless it holds and the trail (`records`, read only then) and the case logs
/// (`events`) disagree: then the first disagreement ([`cross_check`]). Both backends' verify.
pub(crate) fn check_with_logs(
    verdict: Verdict,
    records: impl FnOnce() -> Result<Vec<AuditRecord>, StoreError>,
    events: impl Iterator<Item = Result<(AlertKey, CaseEvent), StoreError>>,
) -> Result<Verdict, StoreError> {
    let (unkeyed, legacy) = match &verdict {
        Verdict::Intact { unkeyed, .. } => (*unkeyed, *unkeyed > 0),
        Verdict::Unkeyed { records, .. } => (*records, true),
        _ => return Ok(verdict),
    };
    match cross_check(&records()?, unkeyed, legacy, events)? {
        Some(detail) => Ok(Verdict::Disagrees { detail }),
        None => Ok(verdict),
    }
}

/// Whether a case event was written with its audit record: every event but the feed's and a first view
/// (the only two appended alone). A decision, a hand-over or share, and vigil's own escalation alike: one
/// rule, so a new kind of recorded event cannot be forgotten here (verify would say its record's event was
/// removed).
fn is_decision(event: &CaseEvent) -> bool {
    event.actor != "feed"
        && !matches!(
            event.kind,
            EventKind::Raised { .. }
                | EventKind::Revised { .. }
                | EventKind::Withdrawn
                | EventKind::Reinstated
                | EventKind::Viewed
        )
}

/// Whether an unkeyed record's text is one [`action_text`] gives a decision (unkeyed records carry no event
/// id, so their text is what ties them to the case's log).
fn is_decision_text(what: &str) -> bool {
    [
        "regraded ",
        "chose the illegal-content path",
        "ticked ",
        "unticked ",
        "added a note",
        "set a follow-up for ",
        "closed: ",
        "reopened",
        "attached the vendor's record ",
        "attached the case to phoned-in case ",
        "declined the vendor's record ",
    ]
    .iter()
    .any(|p| what.starts_with(p))
}

/// Checks that every decision in a case's event log is in the trail and every decision in the trail is in
/// its case's log (unless a later tombstone removed the case), and names the first disagreement, earliest
/// first. `records` is the whole trail, already verified; `unkeyed` how many of its first records were
/// written before it was keyed (those are matched by case, time, actor and text, having no event id);
/// `legacy` whether an earlier vigil began the trail (unkeyed records, or no key at all).
pub fn cross_check(
    records: &[AuditRecord],
    unkeyed: u64,
    legacy: bool,
    events: impl Iterator<Item = Result<(AlertKey, CaseEvent), StoreError>>,
) -> Result<Option<String>, StoreError> {
    // The last tombstone of each case: its earlier decisions went with it.
    let mut purged_at: HashMap<&str, u64> = HashMap::new();
    for r in records {
        let legacy_tombstone =
            r.seq <= unkeyed && (r.what.starts_with("purged by retention") || r.what.starts_with("removed: "));
        if let Some(case) = &r.case
            && (r.purge || legacy_tombstone)
        {
            purged_at.insert(case, r.seq);
        }
    }
    let live = |r: &AuditRecord| r.case.as_deref().is_some_and(|c| purged_at.get(c).is_none_or(|&p| p < r.seq));
    let by_id: HashMap<Uuid, &AuditRecord> = records.iter().filter_map(|r| r.event.map(|id| (id, r))).collect();
    let mut unmatched_legacy: HashMap<(String, DateTime<Utc>, String, String), Vec<&AuditRecord>> = HashMap::new();
    for r in records.iter().filter(|r| r.seq <= unkeyed && r.event.is_none() && !r.purge && is_decision_text(&r.what)) {
        if let Some(case) = &r.case {
            unmatched_legacy.entry((case.clone(), r.at, r.actor.clone(), r.what.clone())).or_default().push(r);
        }
    }
    // In a trail an earlier vigil began, decisions made before its first record (by a vigil older than the
    // trail) have no record to find. A trail keyed from its start holds every decision.
    let trail_began = legacy.then(|| records.first().map_or(DateTime::<Utc>::MAX_UTC, |r| r.at));
    let mut matched: HashSet<Uuid> = HashSet::new();
    let mut first: Option<(DateTime<Utc>, String)> = None;
    let mut note = |at: DateTime<Utc>, detail: String| {
        if first.as_ref().is_none_or(|(t, _)| at < *t) {
            first = Some((at, detail));
        }
    };
    for item in events {
        let (key, event) = item?;
        if !is_decision(&event) || trail_began.is_some_and(|t| event.at < t) {
            continue;
        }
        let case = key.to_string();
        let what = action_text(&event.kind);
        if by_id.get(&event.id).is_some_and(|r| r.case.as_deref() == Some(case.as_str())) {
            matched.insert(event.id);
            continue;
        }
        if let Some(rs) = unmatched_legacy.get_mut(&(case.clone(), event.at, event.actor.clone(), what.clone()))
            && rs.pop().is_some()
        {
            continue;
        }
        note(
            event.at,
            format!(
                "case {case}: its event log holds `{what}` by {} at {}, which no audit record holds",
                event.actor,
                event.at.to_rfc3339()
            ),
        );
    }
    let missing = records
        .iter()
        .filter(|r| r.event.is_some_and(|id| !matched.contains(&id)))
        .chain(unmatched_legacy.values().flatten().copied())
        .filter(|r| live(r));
    for r in missing {
        note(
            r.at,
            format!(
                "record {} ({}: `{}` by {} at {}) is not in the case's event log: the event was removed from the store",
                r.seq,
                r.case.as_deref().unwrap_or("-"),
                r.what,
                r.actor,
                r.at.to_rfc3339()
            ),
        );
    }
    Ok(first.map(|(_, d)| d))
}

/// The audit trail as the case service reads and checks it: `vigil audit show`, `verify`, `head` and
/// `upgrade`. A trait beside the store's [`super::backend::CaseStore`], so that a second backend
/// brings its own trail, and the checks stay here, above the store.
pub trait Trail: Send + Sync {
    fn records(&self) -> Result<Vec<AuditRecord>, StoreError>;
    fn verify_against(&self, expect: Option<&HeadMark>) -> Result<Verdict, StoreError>;
    fn upgrade(&self, entry: &Entry) -> Result<AuditRecord, StoreError>;
}

impl Trail for Store {
    fn records(&self) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit_records()
    }
    fn verify_against(&self, expect: Option<&HeadMark>) -> Result<Verdict, StoreError> {
        self.audit_verify_against(expect)
    }
    fn upgrade(&self, entry: &Entry) -> Result<AuditRecord, StoreError> {
        self.audit_upgrade(entry)
    }
}

impl Store {
    /// Every audit record, oldest first.
    pub fn audit_records(&self) -> Result<Vec<AuditRecord>, StoreError> {
        records(self.audit_tree(), self.audit_key())
    }

    /// Checks the audit chain (against `expect`, a head kept elsewhere, when given), then that it and every
    /// case's event log agree.
    pub fn audit_verify_against(&self, expect: Option<&HeadMark>) -> Result<Verdict, StoreError> {
        let verdict = verify(self.audit_tree(), self.audit_key(), expect)?;
        check_with_logs(verdict, || self.audit_records(), self.all_events())
    }

    /// Checks the audit chain and its agreement with the case logs ([`Store::audit_verify_against`]).
    pub fn audit_verify(&self) -> Result<Verdict, StoreError> {
        self.audit_verify_against(None)
    }

    /// Keys the chain of a store written before it was keyed: appends `entry` (which says so) as the first
    /// keyed record, with the marker, in one transaction; then flushes. Refused for a trail that is already
    /// keyed, or whose plain chain is broken (restore the data dir from a backup whose trail verifies).
    pub fn audit_upgrade(&self, entry: &Entry) -> Result<AuditRecord, StoreError> {
        match verify(self.audit_tree(), self.audit_key(), None)? {
            Verdict::Unkeyed { .. } => {}
            Verdict::Broken { seq, reason } => {
                return Err(corrupt(format!(
                    "it is broken at record {seq} ({reason}), so it cannot be keyed as it is: restore the data dir from a backup whose trail verifies"
                )));
            }
            _ => return Err(corrupt("it is keyed already: nothing to upgrade")),
        }
        self.audit_key_from_next(entry)
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
        // User names and case keys are not content: the trail names users and cases on every record.
        EventKind::Assigned { to } => format!("assigned the case to {to}"),
        EventKind::Released => "released the case".into(),
        EventKind::Shared { with, .. } => format!("shared the case with {with}"),
        EventKind::Unshared { with, .. } => format!("stopped sharing the case with {with}"),
        EventKind::Linked { other } => format!("linked the case to {other}"),
        EventKind::Unlinked { other, .. } => format!("unlinked the case from {other}"),
        EventKind::VendorRecordAttached { other } => format!("attached the vendor's record {other} to the case"),
        EventKind::AttachedTo { case } => format!("attached the case to phoned-in case {case}: its key leads there"),
        EventKind::VendorRecordDeclined { other, .. } => format!("declined the vendor's record {other}"),
        // The reference is vigil's own, random: it names the case to notify_command and nothing else.
        EventKind::Escalated { round, unopened_minutes, reference } => {
            format!("escalated (#{round}, {reference}) after {unopened_minutes} min unopened")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit_log::{append_tx, begin_keyed, record_key};

    fn key() -> AuditKey {
        AuditKey::derive(&[7; 32])
    }

    fn tree() -> (sled::Db, sled::Tree) {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let tree = db.open_tree("audit").expect("tree");
        begin_keyed(&tree, &key()).expect("keyed");
        (db, tree)
    }

    fn append(tree: &sled::Tree, n: u64) {
        let at = DateTime::from_timestamp(1_800_000_000 + n as i64, 0).expect("time");
        let entry = Entry::new(at, "dsl", Some(&AlertKey::new("sw", format!("A{n}"))), "opened the case");
        tree.transaction(|t| append_tx(t, &key(), &entry)).expect("append");
    }

    #[test]
    fn an_intact_chain_verifies_and_links_each_record_to_the_last() {
        let (_db, t) = tree();
        let empty = HeadMark { seq: 0, link: GENESIS.into() };
        assert_eq!(verify(&t, &key(), None).expect("verify"), Verdict::Intact { records: 0, head: empty, unkeyed: 0 });
        for n in 1..=3 {
            append(&t, n);
        }
        let rs = records(&t, &key()).expect("records");
        assert_eq!(rs.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(rs[0].prev, GENESIS);
        assert_ne!(rs[1].prev, rs[2].prev);
        let Verdict::Intact { records: 3, head, unkeyed: 0 } = verify(&t, &key(), None).expect("verify") else {
            panic!("intact")
        };
        assert_eq!(head.to_string().parse::<HeadMark>(), Ok(head.clone()), "the head reads back as printed");
        assert!(matches!(
            verify(&t, &AuditKey::derive(&[8; 32]), None).expect("verify"),
            Verdict::Broken { seq: 1, .. }
        ));
    }

    #[test]
    fn a_cut_tail_is_found_by_the_head() {
        let (_db, t) = tree();
        for n in 1..=3 {
            append(&t, n);
        }
        t.remove(record_key(3)).expect("remove");
        assert!(matches!(verify(&t, &key(), None).expect("verify"), Verdict::Broken { seq: 3, .. }));
    }

    #[test]
    fn the_cross_check_names_a_decision_missing_from_either_side() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let key = AlertKey::new("sw", "A1");
        let note = CaseEvent::new(at, "dsl", EventKind::NoteAdded { text: "SECRET".into() });
        let view = CaseEvent::new(at, "dsl", EventKind::Viewed);
        let record = |seq, event: Option<Uuid>, purge| AuditRecord {
            seq,
            at,
            actor: "dsl".into(),
            case: Some(key.to_string()),
            what: if purge { "purged by retention".into() } else { "added a note".into() },
            prev: GENESIS.into(),
            event,
            purge,
        };
        let log = |events: Vec<CaseEvent>| events.into_iter().map(|e| Ok((key.clone(), e)));
        let both = [record(1, Some(note.id), false)];
        assert_eq!(cross_check(&both, 0, false, log(vec![note.clone(), view.clone()])).expect("check"), None);
        let missing_record = cross_check(&[], 0, false, log(vec![note.clone()])).expect("check");
        assert!(missing_record.is_some_and(|d| d.contains("case sw:A1: its event log holds `added a note` by dsl")));
        assert!(
            !cross_check(&[], 0, false, log(vec![note.clone()])).expect("c").unwrap_or_default().contains("SECRET")
        );
        let missing_event = cross_check(&both, 0, false, log(vec![])).expect("check");
        assert!(missing_event.is_some_and(|d| d.starts_with("record 1 (sw:A1: `added a note` by dsl")));
        let purged = [record(1, Some(note.id), false), record(2, None, true)];
        assert_eq!(cross_check(&purged, 0, false, log(vec![])).expect("check"), None, "removed with its case");
    }

    #[test]
    fn the_cross_check_matches_every_event_written_with_its_record_team_and_escalation_alike() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let key = AlertKey::new("sw", "A1");
        let kinds = [
            ("dsl", EventKind::Assigned { to: "ddsl".into() }),
            ("dsl", EventKind::Released),
            ("dsl", EventKind::Shared { with: "officer".into(), reason: "r".into() }),
            ("dsl", EventKind::Unshared { with: "officer".into(), reason: "r".into() }),
            ("dsl", EventKind::Linked { other: AlertKey::new("sw", "A2") }),
            ("dsl", EventKind::Unlinked { other: AlertKey::new("sw", "A2"), reason: "r".into() }),
            ("vigil:service", EventKind::Escalated { round: 1, unopened_minutes: 10, reference: "ESC-1".into() }),
        ];
        for (actor, kind) in kinds {
            let event = CaseEvent::new(at, actor, kind.clone());
            let record = AuditRecord {
                seq: 1,
                at,
                actor: actor.into(),
                case: Some(key.to_string()),
                what: action_text(&kind),
                prev: GENESIS.into(),
                event: Some(event.id),
                purge: false,
            };
            let log = vec![Ok((key.clone(), event))];
            assert_eq!(cross_check(&[record], 0, false, log.into_iter()).expect("check"), None, "{kind:?}");
        }
    }

    #[test]
    fn head_marks_parse_only_as_printed() {
        assert!("12".parse::<HeadMark>().is_err());
        assert!("x:00".parse::<HeadMark>().is_err());
        assert!(format!("3:{}", "g".repeat(64)).parse::<HeadMark>().is_err());
        let mark: HeadMark = format!(" 3:{} ", "AB".repeat(32)).parse().expect("mark");
        assert_eq!(mark, HeadMark { seq: 3, link: "ab".repeat(32) });
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
