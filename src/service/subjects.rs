//! One student's history: every case for the same subject (the alert's source and subject id), and the
//! trend the procedure asks a reviewer to see ("where we are able to identify trends in activity").
//!
//! Trends are counted from [`Subjects`], an in-memory tally of when each subject's alerts were raised: made
//! from one pass over the front of the queue index's entries (both trees) at most once per service, and
//! kept up to date as pages are stored. Nothing of it is written anywhere (a subject id is content, and sled keys are not sealed):
//! it is keyed by a hash made in this process only.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Asking, Result, ServiceError, key_hash};
use crate::domain::{Alert, AlertKey, Case, Level, Status};
use crate::store::backend::IndexScan;
use crate::store::{IndexEntry, RaisedHead};

/// Whose history is asked for: the subject of a case, or a subject id (in one source, or in every one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryOf {
    Case(AlertKey),
    Subject { source: Option<String>, id: String },
}

/// One case in a student's history, as the chronology shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub key: AlertKey,
    pub raised_at: DateTime<Utc>,
    pub level: Level,
    pub category: String,
    pub status: Status,
    /// The outcome it was closed with, when it is closed.
    pub outcome: Option<String>,
    /// Who handled it, as people are named to a reader: whoever has it, else everyone who acted on it.
    pub handled_by: Vec<String>,
    pub staff: bool,
}

/// A student's history: their cases the reader may see, oldest first, and the trend as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The subject's id as the feed sent it (content: shown only to those who may see the cases).
    pub subject_id: String,
    pub cases: Vec<HistoryRow>,
    /// Alerts raised in the trend window up to now, when that many make a trend.
    pub trend: Option<u32>,
    /// The `[trends]` window the count is of, in days.
    pub trend_days: u32,
}

/// When each subject's alerts were raised, by a hash of the subject made in this process: what trend
/// markers count. Not made until the one pass over the index that makes it ([`Asking::warm_trends`]),
/// which a queue read never waits for: a reader sees no markers until it is made.
#[derive(Default)]
pub(super) struct Subjects {
    tally: std::sync::RwLock<Option<Tally>>,
    /// Held while the tally is made, so it is made once however many ask.
    making: std::sync::Mutex<()>,
    /// Alerts stored while the tally is being made, noted once it is (the pass may have gone past them).
    late: std::sync::Mutex<Option<Vec<Alert>>>,
}

/// Each subject's recent alerts, by [`subject_hash`]; the subject's source and id kept beside them (in this
/// process's memory only) to name the trends to a reader who may see them.
type Tally = HashMap<u64, Tallied>;

#[derive(Debug, Default)]
struct Tallied {
    source: String,
    id: String,
    seen: Vec<Seen>,
}

/// A subject whose alerts make a trend, as a reader's queue marks its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectTrend {
    pub source: String,
    pub subject_id: String,
    /// Alerts the reader may see raised in the `[trends]` window.
    pub count: u32,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    case: u64,
    raised: DateTime<Utc>,
    staff: bool,
}

/// A subject in 8 bytes: its source and id, hashed in this process (never stored).
pub(super) fn subject_hash(source: &str, id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (source, id).hash(&mut h);
    h.finish()
}

fn subject_of(alert: &Alert) -> u64 {
    subject_hash(&alert.key.source, &alert.subject.id)
}

fn note(tally: &mut Tally, alert: &Alert) {
    note_head(
        tally,
        RaisedHead {
            key: alert.key.clone(),
            subject_id: alert.subject.id.clone(),
            raised_at: alert.raised_at.with_timezone(&Utc),
            staff: alert.is_staff(),
        },
    );
}

fn note_head(tally: &mut Tally, head: RaisedHead) {
    let seen = Seen { case: key_hash(&head.key), raised: head.raised_at, staff: head.staff };
    let subject = tally.entry(subject_hash(&head.key.source, &head.subject_id)).or_insert_with(|| Tallied {
        source: head.key.source,
        id: head.subject_id,
        seen: Vec::new(),
    });
    let cases = &mut subject.seen;
    match cases.iter_mut().find(|s| s.case == seen.case) {
        Some(s) => *s = seen,
        None => cases.push(seen),
    }
}

impl Subjects {
    fn tally(&self) -> std::sync::RwLockReadGuard<'_, Option<Tally>> {
        self.tally.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn tally_mut(&self) -> std::sync::RwLockWriteGuard<'_, Option<Tally>> {
        self.tally.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn late(&self) -> std::sync::MutexGuard<'_, Option<Vec<Alert>>> {
        self.late.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes alerts just stored: in the tally, or for the pass making it to note when it is done.
    pub(super) fn stored<'a>(&self, alerts: impl IntoIterator<Item = &'a Alert>) {
        let mut tally = self.tally_mut();
        match tally.as_mut() {
            Some(tally) => alerts.into_iter().for_each(|a| note(tally, a)),
            None => {
                if let Some(late) = self.late().as_mut() {
                    late.extend(alerts.into_iter().cloned());
                }
            }
        }
    }

    /// Forgets a purged case.
    pub(super) fn removed(&self, key: &AlertKey) {
        let case = key_hash(key);
        if let Some(tally) = self.tally_mut().as_mut() {
            for subject in tally.values_mut() {
                subject.seen.retain(|s| s.case != case);
            }
        }
    }
}

impl Asking<'_> {
    /// Makes the tally trends are counted from, if it is not made yet: one pass over both index trees,
    /// keeping the alerts raised in the window that ends `now` (it counts windows that end then or later).
    /// Made once however many ask; what is stored meanwhile is noted when it is done. Returns the subjects
    /// whose alerts make a trend for this viewer at `now`, for a queue already on screen to mark its rows
    /// (rather than read every row again).
    pub fn warm_trends(&self, now: DateTime<Utc>) -> Result<Vec<SubjectTrend>> {
        self.make_tally(now)?;
        let held = self.subjects.tally();
        let mut trends: Vec<SubjectTrend> = held
            .iter()
            .flat_map(|tally| tally.values())
            .filter_map(|subject| {
                let count = self.counted(&subject.seen, now)?;
                Some(SubjectTrend { source: subject.source.clone(), subject_id: subject.id.clone(), count })
            })
            .collect();
        trends.sort_by(|a, b| (&a.source, &a.subject_id).cmp(&(&b.source, &b.subject_id)));
        Ok(trends)
    }

    pub(super) fn make_tally(&self, now: DateTime<Utc>) -> Result<()> {
        self.require_reviewer()?;
        let subjects = &self.subjects;
        let _making = subjects.making.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if subjects.tally().is_some() {
            return Ok(());
        }
        *subjects.late() = Some(Vec::new());
        // Time only moves on, so an alert raised before the window that ends now never counts again: only
        // the recent ones are kept (on a store of some years, a few thousand of its cases).
        let from = now - chrono::Duration::days(i64::from(self.trends.window_days));
        // Only the front of each entry, one after another: decoding every entry whole on every core cost
        // `vigil serve` 40 MB that stayed with the allocator (issue 15's budget).
        let mut made = Tally::new();
        let read = self.store.visit_raised_after(from, &mut |head| note_head(&mut made, head));
        let mut held = subjects.tally_mut();
        let late = subjects.late().take().unwrap_or_default();
        read?;
        late.iter().for_each(|a| note(&mut made, a));
        *held = Some(made);
        Ok(())
    }

    /// How many alerts about `alert`'s subject this viewer may see were raised in the trend window up to
    /// `now`, when that is enough to make a trend; `None` otherwise, or while the tally is not made. An
    /// officer sees only the cases shared with them, so is given no count that would tell of others.
    pub(super) fn trend(&self, alert: &Alert, now: DateTime<Utc>) -> Option<u32> {
        let held = self.subjects.tally();
        self.counted(&held.as_ref()?.get(&subject_of(alert))?.seen, now)
    }

    /// The alerts of `cases` this viewer may see raised in the trend window up to `now`, when they make a
    /// trend.
    fn counted(&self, cases: &[Seen], now: DateTime<Utc>) -> Option<u32> {
        let rule = self.trends;
        if rule.count == 0 || self.viewer.role == crate::identity::Role::Officer {
            return None;
        }
        let from = now - chrono::Duration::days(i64::from(rule.window_days));
        let n =
            cases.iter().filter(|s| (self.viewer.sees_staff || !s.staff) && s.raised > from && s.raised <= now).count()
                as u32;
        (n >= rule.count).then_some(n)
    }

    /// A student's history: every case for the subject this viewer may see, oldest first. A view of
    /// content, so an audit record (which names the case asked from, never the subject).
    pub fn history(&self, of: &HistoryOf, now: DateTime<Utc>) -> Result<History> {
        self.require_reviewer()?;
        let (source, id, from_case) = match of {
            HistoryOf::Case(key) => {
                let entry = self
                    .store
                    .index_entry(key)?
                    .filter(|e| self.visible(&e.head, &e.case))
                    .ok_or_else(|| ServiceError::NotFound(key.to_string()))?;
                (Some(entry.head.key.source.clone()), entry.head.subject.id.clone(), Some(key))
            }
            HistoryOf::Subject { source, id } => (source.clone(), id.trim().to_string(), None),
        };
        if id.is_empty() {
            return Err(ServiceError::NotFound(String::new()));
        }
        let rows = std::sync::Mutex::new(Vec::new());
        self.store.visit_index(IndexScan::All, &|entry: IndexEntry| {
            let same = entry.head.subject.id == id && source.as_ref().is_none_or(|s| *s == entry.head.key.source);
            if same && self.visible(&entry.head, &entry.case) {
                let row = self.history_row(&entry.head, &entry.case);
                rows.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(row);
            }
        })?;
        let mut cases = rows.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cases.is_empty() {
            return Err(ServiceError::NotFound(crate::domain::inert::line(&id).into_owned()));
        }
        cases.sort_by(|a, b| (a.raised_at, &a.key).cmp(&(b.raised_at, &b.key)));
        self.make_tally(now)?;
        let trend =
            self.store.index_entry(&cases[cases.len() - 1].key)?.and_then(|latest| self.trend(&latest.head, now));
        self.audit(from_case, "showed the student's history", now)?;
        Ok(History { subject_id: id, cases, trend, trend_days: self.trends.window_days })
    }

    fn history_row(&self, alert: &Alert, case: &Case) -> HistoryRow {
        let handled_by = match &case.owner {
            Some(owner) => vec![self.team.display(owner)],
            None => case.actors.iter().map(|user| self.team.display(user)).collect(),
        };
        HistoryRow {
            key: alert.key.clone(),
            raised_at: alert.raised_at.with_timezone(&Utc),
            level: case.level,
            category: alert.category.clone(),
            status: case.status(),
            outcome: case.closed.as_ref().map(|(_, outcome)| outcome.clone()),
            handled_by,
            staff: alert.is_staff(),
        }
    }
}
