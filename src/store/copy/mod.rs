//! `vigil store copy`: a college's whole store carried from one backend into a new, empty one (sled into a
//! school of the trust's PostgreSQL database, or a school back into a sled data dir), then checked.
//!
//! One function copies either way ([`copy`]): it reads what the source holds through [`Copyable`] (the
//! [`CaseStore`] and [`Trail`] reads, and the few a copy needs besides), has the target write it whole
//! ([`Copyable::fill`]), and compares the two ([`verify`]).
//!
//! The audit trail comes across as stored, record by record, with its key marker and head: the records'
//! MACs are under the audit key, which both stores derive from the same store key, so the target's trail
//! verifies and its head is the source's. Writing records verbatim is what no running service may do (it
//! could rewrite a trail), so only a copy does, only into a store that holds nothing yet, and only a trail
//! that verified in the source first.
//!
//! Everything is read into memory first: a college's store (cases, notes, screenshots) fits, and a
//! PostgreSQL target then writes it in one transaction, all or nothing.

mod on_sled;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::audit::{HeadMark, Trail, Verdict};
use super::backend::CaseStore;
use super::{FeedState, HandoverAck, HandoverNote, MailboxMark, Quarantined, Result, StoreError};
use crate::domain::{Alert, AlertKey, Case, CaseEvent};

pub use super::audit_log::StoredTrail;

/// Everything a store holds, opened: what a copy carries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Contents {
    pub alerts: Vec<Alert>,
    /// Each case's events, in the order they were appended; cases in key order.
    pub events: BTreeMap<AlertKey, Vec<CaseEvent>>,
    pub trail: StoredTrail,
    pub feed_state: FeedState,
    pub quarantined: Vec<Quarantined>,
    /// Blobs kept with their cases (a mail's pictures and raw message, an unreadable feed page).
    pub blobs: Vec<(String, Vec<u8>)>,
    /// The screenshot cache.
    pub cached_blobs: Vec<(String, Vec<u8>)>,
    /// Oldest first. The target numbers them afresh, in this order ([`renumbered`]).
    pub notes: Vec<HandoverNote>,
    pub acks: Vec<HandoverAck>,
    /// Each user's last look at the queue.
    pub looks: Vec<(String, DateTime<Utc>)>,
    pub mailbox_marks: Vec<(String, MailboxMark)>,
    /// Retention's hint.
    pub settled_since: Option<DateTime<Utc>>,
}

impl Contents {
    pub fn event_count(&self) -> usize {
        self.events.values().map(Vec::len).sum()
    }
}

/// Every user's handover acknowledgement and last look at the queue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TeamMarks {
    pub acks: Vec<HandoverAck>,
    pub looks: Vec<(String, DateTime<Utc>)>,
}

/// A store a copy reads from or writes into: the service's reads and the trail's, and what only a copy
/// needs (what the service never lists, and writing a whole store at once).
pub trait Copyable: CaseStore + Trail {
    /// The names of the blobs kept with cases (not the screenshot cache's).
    fn blob_names(&self) -> Result<Vec<String>>;
    /// Every user's handover acknowledgement and last look.
    fn team_marks(&self) -> Result<TeamMarks>;
    /// The mailbox marks the store can name (a database keeps mailboxes' names hashed: none).
    fn listed_mailbox_marks(&self) -> Result<Vec<(String, MailboxMark)>>;
    /// The audit trail as stored.
    fn stored_trail(&self) -> Result<StoredTrail>;
    /// What the store holds that a new one does not, in words (`None`: nothing; a copy may go in).
    fn holds(&self) -> Result<Option<String>>;
    /// Writes `contents` into this store, which holds nothing yet (checked again here), its trail verbatim:
    /// in one transaction where the backend has them. Refused ([`StoreError::Corrupt`]) if it holds anything.
    fn fill(&self, contents: &Contents) -> Result<()>;
}

/// Why a copy did not go ahead, or did not check out.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The source's trail is not one a copy can carry as it is.
    #[error("{0}")]
    SourceTrail(String),
    /// The target holds data already: nothing was written.
    #[error("{target} already holds {holds}; nothing was written. A copy goes only into an empty store: {what_to_do}")]
    NotEmpty { target: String, holds: String, what_to_do: String },
    /// Reading the source failed: nothing was written.
    #[error("the copy could not read {source_name} ({error}); nothing was written")]
    Read { source_name: String, error: StoreError },
    /// Writing the target failed.
    #[error("the copy into {target} failed ({error}); {what_to_do}")]
    Write { target: String, error: StoreError, what_to_do: String },
    /// The target was written, but could not be read back to verify it.
    #[error(
        "the copy was written into {target}, but could not be read back to verify it ({error}). Do not use it: {what_to_do}"
    )]
    Unverified { target: String, error: StoreError, what_to_do: String },
    /// The target, once written, is not the source.
    #[error("the copy in {target} does not match the source: {detail}. Do not use it: {what_to_do}")]
    Mismatch { target: String, detail: String, what_to_do: String },
}

/// What [`verify`] found equal in the source and the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub alerts: usize,
    pub events: usize,
    pub cases_folded: usize,
    pub records: u64,
    pub head: HeadMark,
    pub notes: usize,
    pub blobs: usize,
    pub cached_blobs: usize,
    pub quarantined: usize,
}

/// What to tell the user to do when the target went wrong, by kind of target.
pub struct Advice {
    /// The target already holds data.
    pub not_empty: String,
    /// Writing it failed.
    pub failed: String,
    /// It was written but does not match.
    pub mismatch: String,
}

/// Copies `from` into `to` (which must hold nothing), then verifies the copy. `mailboxes` are the IMAP
/// mailboxes the config names, whose marks are carried by name (a database cannot list them).
pub fn copy(
    from: &dyn Copyable,
    to: &dyn Copyable,
    mailboxes: &[String],
    advice: &Advice,
) -> std::result::Result<Verified, CopyError> {
    let source_name = from.path().display().to_string();
    let target = to.path().display().to_string();
    let read = |error| CopyError::Read { source_name: source_name.clone(), error };
    check_source_trail(from).map_err(|e| match e {
        Checked::Refused(said) => CopyError::SourceTrail(said),
        Checked::Failed(error) => read(error),
    })?;
    let written = |error| CopyError::Write { target: target.clone(), error, what_to_do: advice.failed.clone() };
    if let Some(holds) = to.holds().map_err(written)? {
        return Err(CopyError::NotEmpty { target, holds, what_to_do: advice.not_empty.clone() });
    }
    let contents = read_contents(from, mailboxes).map_err(read)?;
    to.fill(&contents).map_err(written)?;
    verify(&contents, from, to, mailboxes).map_err(|e| match e {
        Checked::Refused(detail) => {
            CopyError::Mismatch { target: target.clone(), detail, what_to_do: advice.mismatch.clone() }
        }
        Checked::Failed(error) => {
            CopyError::Unverified { target: target.clone(), error, what_to_do: advice.mismatch.clone() }
        }
    })
}

/// A check's outcome when it is not a pass: what did not hold, or a store that could not be read.
enum Checked {
    Refused(String),
    Failed(StoreError),
}

impl From<StoreError> for Checked {
    fn from(e: StoreError) -> Checked {
        Checked::Failed(e)
    }
}

/// The source's trail must verify, keyed, before it is carried verbatim: a broken one would come across
/// broken, and an unkeyed one has no marker a database could hold.
fn check_source_trail(from: &dyn Copyable) -> std::result::Result<HeadMark, Checked> {
    match from.verify_against(None)? {
        Verdict::Intact { head, .. } => Ok(head),
        Verdict::Unkeyed { .. } => Err(Checked::Refused(
            "the source's audit trail was written by an earlier vigil and is not keyed yet, so it cannot be carried as evidence: key it first with `vigil audit upgrade` (the DSL), then copy"
                .into(),
        )),
        Verdict::Broken { seq, reason } => Err(Checked::Refused(format!(
            "the source's audit trail does not verify (record {seq}: {reason}), so it was not copied: run `vigil audit verify` on it, and restore it from a backup whose trail verifies"
        ))),
        Verdict::Disagrees { detail } => Err(Checked::Refused(format!(
            "the source's audit trail and its case logs disagree ({detail}), so it was not copied: run `vigil audit verify` on it, and restore it from a backup whose trail verifies"
        ))),
    }
}

/// Everything `store` holds, opened. `mailboxes`' marks are read by name, besides those it lists.
pub fn read_contents(store: &dyn Copyable, mailboxes: &[String]) -> Result<Contents> {
    let alerts = store.alerts().collect::<Result<Vec<_>>>()?;
    let mut events: BTreeMap<AlertKey, Vec<CaseEvent>> = BTreeMap::new();
    for item in store.all_events() {
        let (key, event) = item?;
        events.entry(key).or_default().push(event);
    }
    // Names sorted here: a database's order is its collation's.
    let blobs = named(store.blob_names()?, |n| store.blob(n))?;
    let cached_blobs = named(store.cached_blob_names()?, |n| store.cached_blob(n))?;
    let TeamMarks { acks, looks } = store.team_marks()?;
    let mut mailbox_marks: BTreeMap<String, MailboxMark> = store.listed_mailbox_marks()?.into_iter().collect();
    for name in mailboxes {
        if let Some(mark) = store.mailbox_mark(name)? {
            mailbox_marks.insert(name.clone(), mark);
        }
    }
    Ok(Contents {
        alerts,
        events,
        trail: store.stored_trail()?,
        feed_state: store.feed_state()?,
        quarantined: store.quarantined()?,
        blobs,
        cached_blobs,
        // Every note (a database's times start long after chrono's earliest).
        notes: store.handover_notes(DateTime::<Utc>::UNIX_EPOCH)?,
        acks,
        looks,
        mailbox_marks: mailbox_marks.into_iter().collect(),
        settled_since: store.settled_since()?,
    })
}

/// What a store holds, in words, from (count, what) pairs (`None`: nothing).
pub(crate) fn describe(held: &[(usize, &str)]) -> Option<String> {
    let said: Vec<String> = held.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
    (!said.is_empty()).then(|| said.join(", "))
}

/// Each name with its bytes (a name gone since it was listed is left out).
fn named(mut names: Vec<String>, get: impl Fn(&str) -> Result<Option<Vec<u8>>>) -> Result<Vec<(String, Vec<u8>)>> {
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        if let Some(bytes) = get(&name)? {
            out.push((name, bytes));
        }
    }
    Ok(out)
}

/// The handover notes numbered afresh from `ids` (the target's own counter), in order, and the
/// acknowledgements with the note each was up to renumbered to match: a note's number is the target's to
/// give (a number from the source could come round again there), and an acknowledgement up to a note
/// purged since is up to the last note before it that is still kept.
pub(crate) fn renumbered(
    notes: &[HandoverNote],
    acks: &[HandoverAck],
    mut ids: impl FnMut() -> Result<u64>,
) -> Result<(Vec<HandoverNote>, Vec<HandoverAck>)> {
    let mut sorted: Vec<&HandoverNote> = notes.iter().collect();
    sorted.sort_by_key(|n| n.id);
    let mut map = BTreeMap::new();
    let mut out = Vec::with_capacity(notes.len());
    for note in sorted {
        let id = ids()?;
        map.insert(note.id, id);
        out.push(HandoverNote { id, ..note.clone() });
    }
    let acks = acks
        .iter()
        .map(|a| HandoverAck {
            up_to_note: a.up_to_note.and_then(|up_to| map.range(..=up_to).next_back().map(|(_, &id)| id)),
            ..a.clone()
        })
        .collect();
    Ok((out, acks))
}

/// Compares the target with the source: the same alerts and events (counted, and every case's fold), the
/// same audit trail (its records counted, its head, and the target's verifying against the source's head),
/// and the same notes, blobs, quarantine, feed state, marks and hint.
fn verify(
    copied: &Contents,
    from: &dyn Copyable,
    to: &dyn Copyable,
    mailboxes: &[String],
) -> std::result::Result<Verified, Checked> {
    let source_head = check_source_trail(from)?;
    let source = read_contents(from, mailboxes)?;
    if &source != copied {
        return Err(Checked::Refused(
            "the source changed while it was copied: stop its service, then copy again".into(),
        ));
    }
    // The target is asked for every mark the source had (a database cannot list its own).
    let marked: Vec<String> = source.mailbox_marks.iter().map(|(name, _)| name.clone()).collect();
    let target = read_contents(to, &marked)?;
    let differ =
        |what: &str, a: usize, b: usize| Err(Checked::Refused(format!("the source holds {a} {what}, the copy {b}")));
    if source.alerts.len() != target.alerts.len() {
        return differ("alerts", source.alerts.len(), target.alerts.len());
    }
    if source.event_count() != target.event_count() {
        return differ("events", source.event_count(), target.event_count());
    }
    if source.trail.records.len() != target.trail.records.len() {
        return differ("audit records", source.trail.records.len(), target.trail.records.len());
    }
    if source.alerts != target.alerts {
        return Err(Checked::Refused("an alert differs".into()));
    }
    let mut cases_folded = 0;
    for (key, events) in &source.events {
        let theirs = target.events.get(key).map(Vec::as_slice).unwrap_or_default();
        if Case::fold(key.clone(), events) != Case::fold(key.clone(), theirs) {
            return Err(Checked::Refused(format!("case {key} folds differently")));
        }
        if events.as_slice() != theirs {
            return Err(Checked::Refused(format!("case {key}'s events differ")));
        }
        cases_folded += 1;
    }
    let head = match to.verify_against(Some(&source_head))? {
        Verdict::Intact { head, .. } if head == source_head => head,
        Verdict::Intact { head, .. } => {
            return Err(Checked::Refused(format!("its audit head is {head}, the source's {source_head}")));
        }
        Verdict::Broken { seq, reason } => {
            return Err(Checked::Refused(format!("its audit trail does not verify (record {seq}: {reason})")));
        }
        Verdict::Disagrees { detail } => {
            return Err(Checked::Refused(format!("its audit trail and its case logs disagree ({detail})")));
        }
        Verdict::Unkeyed { .. } => return Err(Checked::Refused("its audit trail is not keyed".into())),
    };
    let (source_notes, source_acks) = unnumbered(&source);
    let (target_notes, target_acks) = unnumbered(&target);
    let rest = [
        ("handover notes", source_notes == target_notes),
        ("handover acknowledgements", source_acks == target_acks),
        ("last looks", source.looks == target.looks),
        ("blobs", source.blobs == target.blobs),
        ("cached screenshots", source.cached_blobs == target.cached_blobs),
        ("quarantined alerts", source.quarantined == target.quarantined),
        ("feed state", source.feed_state == target.feed_state),
        ("mailbox marks", source.mailbox_marks == target.mailbox_marks),
        ("retention's hint", source.settled_since == target.settled_since),
    ];
    if let Some((what, _)) = rest.iter().find(|(_, same)| !same) {
        return Err(Checked::Refused(format!("its {what} differ")));
    }
    Ok(Verified {
        alerts: target.alerts.len(),
        events: target.event_count(),
        cases_folded,
        records: head.seq,
        head,
        notes: target.notes.len(),
        blobs: target.blobs.len(),
        cached_blobs: target.cached_blobs.len(),
        quarantined: target.quarantined.len(),
    })
}

/// A handover note as it compares across stores: when, by whom, what.
type NoteSeen = (DateTime<Utc>, String, String);
/// An acknowledgement as it compares across stores: whose, when, until when, and how many notes it covers.
type AckSeen = (String, DateTime<Utc>, DateTime<Utc>, usize);

/// The notes and acknowledgements as they compare across stores: without the notes' numbers (each store
/// gives its own), an acknowledgement saying how many notes it covers.
fn unnumbered(c: &Contents) -> (Vec<NoteSeen>, Vec<AckSeen>) {
    let mut ids: Vec<u64> = c.notes.iter().map(|n| n.id).collect();
    ids.sort_unstable();
    let notes = c.notes.iter().map(|n| (n.at, n.author.clone(), n.text.clone())).collect();
    let acks = c
        .acks
        .iter()
        .map(|a| (a.user.clone(), a.at, a.until, a.up_to_note.map_or(0, |u| ids.partition_point(|&id| id <= u))))
        .collect();
    (notes, acks)
}

/// Where a copy reads from or writes into.
#[derive(Debug, Clone)]
pub enum Place {
    /// A sled store's data dir.
    Sled(std::path::PathBuf),
    /// A school of a PostgreSQL database.
    Postgres(super::postgres::PgSettings),
}

impl Place {
    /// Opens the store a copy reads (sled's lock: no service may hold it meanwhile).
    pub fn open_source(&self, key: &super::StoreKey) -> Result<Box<dyn Copyable>> {
        Ok(match self {
            Place::Sled(dir) => {
                if !dir.join("db").exists() {
                    return Err(StoreError::Open {
                        path: dir.clone(),
                        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no store is there"),
                    });
                }
                Box::new(super::Store::open(dir, key)?)
            }
            Place::Postgres(settings) => Box::new(super::postgres::PgStore::open(settings, key)?),
        })
    }

    /// Opens the store a copy writes into: a sled data dir must not exist yet or be empty (a dir that holds
    /// anything is refused before anything is written to it); a school is checked for data by [`copy`].
    pub fn open_target(&self, key: &super::StoreKey) -> std::result::Result<Box<dyn Copyable>, CopyError> {
        match self {
            Place::Sled(dir) => {
                let held = std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(false);
                if held {
                    return Err(CopyError::NotEmpty {
                        target: dir.display().to_string(),
                        holds: "files".into(),
                        what_to_do: self.advice().not_empty,
                    });
                }
                let store = super::Store::open(dir, key).map_err(|error| self.write_error(error))?;
                Ok(Box::new(store))
            }
            Place::Postgres(settings) => {
                let store = super::postgres::PgStore::open(settings, key).map_err(|error| self.write_error(error))?;
                Ok(Box::new(store))
            }
        }
    }

    fn write_error(&self, error: StoreError) -> CopyError {
        CopyError::Write { target: self.describe(), error, what_to_do: self.advice().failed }
    }

    pub fn describe(&self) -> String {
        match self {
            Place::Sled(dir) => format!("the store at {}", dir.display()),
            Place::Postgres(settings) => settings.describe(),
        }
    }

    /// What to do when this target goes wrong.
    pub fn advice(&self) -> Advice {
        match self {
            Place::Sled(dir) => Advice {
                not_empty: format!("name a new directory with --into (not {})", dir.display()),
                failed: format!(
                    "{} may hold part of the copy: remove it, then copy again into a new directory",
                    dir.display()
                ),
                mismatch: format!("remove {}, then copy again into a new directory", dir.display()),
            },
            Place::Postgres(settings) => Advice {
                not_empty: format!(
                    "set [storage] school to a school the database does not hold yet, or copy into a fresh database (school {} was left as it was)",
                    settings.school
                ),
                failed: "the copy is one transaction, so nothing of it was written: fix the cause, then copy again"
                    .into(),
                mismatch: format!(
                    "start no service on school {}; have the database's administrator remove its rows, or copy again into a new school or a fresh database",
                    settings.school
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::domain::alert::tests_support::sample_alert;
    use crate::domain::levels::Grading;
    use crate::domain::{EventKind, Level};
    use crate::store::audit_log::Entry;
    use crate::store::backend::testing::pg_settings;
    use crate::store::events::tests::a_note;
    use crate::store::postgres::PgStore;
    use crate::store::{Incoming, Store, StoreKey};

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-10T10:05:00Z").expect("literal").with_timezone(&Utc)
    }

    fn key() -> StoreKey {
        StoreKey::bytes([4; 32])
    }

    /// A sled store with two cases, a decision on one, and a handover note.
    fn a_sled_store(dir: &std::path::Path) -> Store {
        let store = Store::open(dir, &key()).expect("open");
        let (a, b) = (sample_alert("A-1"), sample_alert("B-1"));
        let grading = Grading { level: Level::Medium, illegal_path: false };
        let page =
            [Incoming { alert: &a, grading, raised_by: "feed" }, Incoming { alert: &b, grading, raised_by: "feed" }];
        store.ingest_page(&page, &[], 0, Some("c1"), 1, at()).expect("ingest");
        let n = store.case_events_len(&a.key).expect("count");
        store.append_decision_at(&a.key, n, &[a_note(&a.key)]).expect("a decision");
        let entry = Entry::new(at(), "dsl", None, "wrote a handover note");
        store.add_handover_note(at(), "dsl", "ring home", &entry).expect("note");
        store
    }

    fn advice() -> Advice {
        Advice { not_empty: "use another".into(), failed: "retry".into(), mismatch: "do not use it".into() }
    }

    #[test]
    fn a_copy_into_postgres_verifies_and_a_later_change_to_either_side_is_a_mismatch() {
        let dir = tempfile::tempdir().expect("tmp");
        let source = a_sled_store(dir.path());
        let target = PgStore::open(&pg_settings(), &key()).expect("open");
        let done = copy(&source, &target, &[], &advice()).expect("copied");
        assert_eq!((done.alerts, done.cases_folded, done.notes), (2, 2, 1));
        assert_eq!(
            done.head,
            match source.verify_against(None).expect("verify") {
                Verdict::Intact { head, .. } => head,
                other => panic!("{other:?}"),
            }
        );
        let copied = read_contents(&source, &[]).expect("read");
        let case = sample_alert("B-1").key;
        let late = CaseEvent::new(at() + Duration::minutes(1), "feed", EventKind::Withdrawn);
        target.append(&case, &late).expect("a change to the copy");
        match verify(&copied, &source, &target, &[]) {
            Err(Checked::Refused(said)) => assert!(said.contains("the source holds 3 events, the copy 4"), "{said}"),
            _ => panic!("a copy that differs is found"),
        }
        source.append(&case, &late).expect("a change to the source");
        match verify(&copied, &source, &target, &[]) {
            Err(Checked::Refused(said)) => assert!(said.contains("the source changed while it was copied"), "{said}"),
            _ => panic!("a source that changed is found"),
        }
    }

    /// The copy into PostgreSQL is one transaction: one that fails part way leaves the school as it was,
    /// and the same copy then goes in.
    #[test]
    fn a_copy_that_fails_part_way_into_postgres_writes_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let source = a_sled_store(dir.path());
        let target = PgStore::open(&pg_settings(), &key()).expect("open");
        let mut contents = read_contents(&source, &[]).expect("read");
        // The same blob twice fails its insert, after the alerts and events went in.
        contents.blobs = vec![("shot".into(), b"one".to_vec()), ("shot".into(), b"two".to_vec())];
        let empty = target.stored_trail().expect("trail");
        assert!(target.fill(&contents).is_err());
        assert_eq!(target.holds().expect("holds"), None, "nothing of it was written");
        assert_eq!(target.stored_trail().expect("trail"), empty);
        assert_eq!(target.feed_state().expect("state"), FeedState::default());
        contents.blobs.pop();
        target.fill(&contents).expect("then it goes in");
        assert!(target.fill(&contents).is_err(), "but not twice");
    }

    #[test]
    fn notes_are_numbered_by_the_target_and_acknowledgements_follow_them() {
        let note = |id, text: &str| HandoverNote { id, at: at(), author: "dsl".into(), text: text.into() };
        let ack = |up_to_note| HandoverAck { user: "dsl".into(), at: at(), until: at(), up_to_note };
        let notes = [note(900, "b"), note(40, "a"), note(1200, "c")];
        let acks = [ack(Some(900)), ack(Some(1000)), ack(Some(10)), ack(None)];
        let mut next = 0;
        let (notes, acks) = renumbered(&notes, &acks, || {
            next += 1;
            Ok(next)
        })
        .expect("renumbered");
        let got: Vec<(u64, &str)> = notes.iter().map(|n| (n.id, n.text.as_str())).collect();
        assert_eq!(got, [(1, "a"), (2, "b"), (3, "c")], "in their order, by the target's counter");
        let up_to: Vec<Option<u64>> = acks.iter().map(|a| a.up_to_note).collect();
        assert_eq!(up_to, [Some(2), Some(2), None, None], "up to the same note, or the last kept before it");
    }
}
