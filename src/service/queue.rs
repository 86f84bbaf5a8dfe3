//! The queue: one row per case a viewer may see, in the one queue order, and the counts the header shows.

use std::cmp::Reverse;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Asking, Result, ServiceError, due_level, key_hash};
use crate::domain::calendar::due_at;
use crate::domain::inert;
use crate::domain::{Alert, AlertKey, Case, Level, Status};
use crate::store::IndexEntry;
use crate::store::backend::IndexScan;

/// One row of the queue, as the service sends it. (`vigil list --json` writes its own contract type from it.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub id: String,
    pub source: String,
    pub revision: u32,
    pub level: Level,
    pub risk: Option<u8>,
    pub category: String,
    pub subject_kind: crate::domain::alert::SubjectKind,
    pub subject_id: String,
    pub subject_name: Option<String>,
    pub subject_group: Option<String>,
    pub status: Status,
    pub raised_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub out_of_hours: bool,
    pub overdue: bool,
    pub suspected_illegal: bool,
    pub illegal_path: bool,
    pub follow_up: Option<NaiveDate>,
    pub follow_up_due: bool,
    pub location: String,
    /// The case is the viewer's: they have it, or nobody has and they acted on it ([`Case::is_mine`]).
    pub mine: bool,
    /// Who has the case (a user name), and how they are named to a reader.
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub owner_name: Option<String>,
    /// Lower-case subject, category and summary, for the queue filter.
    pub search: String,
    pub key: AlertKey,
    pub open: bool,
    pub staff: bool,
    /// The first response is recorded (High: contact made; Medium: follow-up date set): no longer overdue.
    pub responded: bool,
    /// The subject's alerts raised in the `[trends]` window, when that many make a trend (`3 in 30d`).
    #[serde(default)]
    pub trend: Option<u32>,
    /// The `[trends]` window, in days, the count is of.
    #[serde(default)]
    pub trend_days: u32,
    /// Read from a vendor's e-mail that no rule fully read, at the default level, and nobody has regraded it
    /// or acted on it yet: its level needs a person's check.
    #[serde(default)]
    pub unparsed_mail: bool,
    /// The school the case is of, in the trust's view of every school ([`super::trust`]); `None` elsewhere.
    #[serde(default)]
    pub school: Option<String>,
}

impl CaseSummary {
    /// The queue order: open before closed; High, Medium, Low; follow-ups that have come first within a
    /// level; then due time; then raise time.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (!self.open, Reverse(self.level), !self.follow_up_due, self.due_at, self.raised_at, &self.key)
    }

    /// Whether the case is overdue at `now` (the one rule: [`crate::domain::case::is_overdue`]). The `overdue`
    /// field is this as at the last [`CaseSummary::refresh_clock`].
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.due_at.is_some_and(|due| crate::domain::case::is_overdue(self.open, self.responded, due, now))
    }

    /// Brings the flags that depend on the clock (overdue, follow-up due) up to `now`, `today` being its
    /// date in the college's zone. Returns whether either changed (and so, maybe, the queue order).
    pub fn refresh_clock(&mut self, now: DateTime<Utc>, today: NaiveDate) -> bool {
        let overdue = self.is_overdue(now);
        let follow_up_due = self.open && self.follow_up.is_some_and(|d| d <= today);
        let changed = overdue != self.overdue || follow_up_due != self.follow_up_due;
        self.overdue = overdue;
        self.follow_up_due = follow_up_due;
        changed
    }

    /// The words that mark a case, in the order the TUI's queue and `vigil list` both show them: one list,
    /// so that plain text (a screen reader, a pipe) says what the screen says.
    pub fn flags(&self) -> Vec<std::borrow::Cow<'static, str>> {
        let mut flags: Vec<std::borrow::Cow<'static, str>> = [
            (self.staff, "STAFF"),
            (self.illegal_path, "ILLEGAL"),
            (self.unparsed_mail, "UNPARSED-EMAIL"),
            (self.follow_up_due, "FOLLOW-UP"),
            (self.out_of_hours, "OOH"),
        ]
        .into_iter()
        .filter_map(|(on, word)| on.then_some(word.into()))
        .collect();
        flags.extend(self.trend_marker().map(std::borrow::Cow::Owned));
        flags
    }

    /// `3 in 30d`: the subject's alerts in the `[trends]` window, when they make a trend.
    pub fn trend_marker(&self) -> Option<String> {
        self.trend.map(|n| format!("{n} in {}d", self.trend_days))
    }
}

impl Asking<'_> {
    pub(super) fn summarize(&self, alert: &Alert, case: &Case, now: DateTime<Utc>) -> CaseSummary {
        self.summarize_owned(alert.clone(), case, now)
    }

    /// [`CaseService::summarize`] of an alert it may take apart: the queue summarizes every case at start,
    /// and moving its strings instead of copying them saves most of the allocations.
    pub(super) fn summarize_owned(&self, alert: Alert, case: &Case, now: DateTime<Utc>) -> CaseSummary {
        let raised = alert.raised_at.with_timezone(&Utc);
        let status = case.status();
        let due = due_at(&self.calendar, &self.due, due_level(case.level), raised);
        let today = now.with_timezone(&self.calendar.time_zone()).date_naive();
        let follow_up_due = status.is_open() && case.follow_up.is_some_and(|d| d <= today);
        let search = search_text(&alert);
        let location = alert.location().to_string();
        let staff = alert.is_staff();
        let trend = self.trend(&alert, now);
        let unparsed_mail = alert.mail.as_ref().is_some_and(|m| m.rule.is_none()) && !case.regraded && !case.acted;
        let Alert { key, revision, risk, category, subject, suspected_illegal, .. } = alert;
        CaseSummary {
            id: key.id.clone(),
            source: key.source.clone(),
            revision,
            level: case.level,
            risk,
            category,
            subject_kind: subject.kind,
            subject_id: subject.id,
            subject_name: subject.name,
            subject_group: subject.group,
            status,
            raised_at: raised,
            due_at: Some(due),
            out_of_hours: !self.calendar.is_working_time(raised),
            overdue: case.is_overdue(due, now),
            suspected_illegal,
            illegal_path: case.illegal_path,
            follow_up: case.follow_up,
            follow_up_due,
            location,
            mine: case.is_mine(&self.viewer.user),
            owner: case.owner.clone(),
            owner_name: case.owner.as_deref().map(|u| self.team.display(u)),
            search,
            key,
            open: status.is_open(),
            staff,
            responded: case.responded(),
            trend,
            trend_days: self.trends.window_days,
            school: None,
            unparsed_mail,
        }
    }

    /// Every case this viewer may see, in queue order.
    pub fn queue(&self, now: DateTime<Utc>) -> Result<Vec<CaseSummary>> {
        self.rows(now, IndexScan::All)
    }

    /// The open cases this viewer may see, in queue order: [`CaseService::queue`] without the closed and
    /// withdrawn ones, which the queue hides by default. Reads only the open cases, so the first frame
    /// costs what is open, not everything ever stored.
    pub fn queue_open(&self, now: DateTime<Utc>) -> Result<Vec<CaseSummary>> {
        self.rows(now, IndexScan::Open)
    }

    /// The cases this viewer may see that are not open, in queue order. Every open case comes before every
    /// other in the queue, so `queue_open` followed by this is [`CaseService::queue`].
    pub fn queue_closed(&self, now: DateTime<Utc>) -> Result<Vec<CaseSummary>> {
        self.rows(now, IndexScan::Closed)
    }

    /// The queue rows of the index entries `which` covers, for this viewer (a reviewer), in queue order. Each
    /// entry is summarized on the thread that decoded it, as soon as it is decoded, so the entries are never
    /// all held at once (reading them all first, then summarizing, doubled the first frame's peak memory).
    fn rows(&self, now: DateTime<Utc>, which: IndexScan) -> Result<Vec<CaseSummary>> {
        self.require_reviewer()?;
        let rows = std::sync::Mutex::new(Vec::new());
        self.store.visit_index(which, &|entry: IndexEntry| {
            if self.visible(&entry.head, &entry.case) {
                let row = self.summarize_owned(entry.head, &entry.case, now);
                rows.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(row);
            }
        })?;
        let mut out = rows.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Keys are unique, so an unstable sort gives the one order.
        out.sort_unstable_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Ok(out)
    }

    /// One case's queue row, as [`CaseService::queue`] would give it, or `None` when this viewer may not see
    /// it (or it is gone): what the queue needs after a decision, instead of reading every case again. Not a
    /// view of content (the row is what the queue already shows), so not audited.
    pub fn summary(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<Option<CaseSummary>> {
        self.require_reviewer()?;
        Ok(self
            .store
            .index_entry(key)?
            .filter(|entry| self.visible(&entry.head, &entry.case))
            .map(|entry| self.summarize_owned(entry.head, &entry.case, now)))
    }

    /// The raise time, level and [`key_hash`] of every case this viewer may see that is not open: what the
    /// on-duty dashboard counts ("raised today", the sparkline) while the closed cases themselves are not
    /// loaded.
    pub fn raised_not_open(&self) -> Result<Vec<(DateTime<Utc>, Level, u64)>> {
        self.require_reviewer()?;
        Ok(self
            .store
            .scan_index(IndexScan::Closed)?
            .into_iter()
            .filter(|entry| self.visible(&entry.head, &entry.case))
            .map(|entry| (entry.head.raised_at.with_timezone(&Utc), entry.case.level, key_hash(&entry.head.key)))
            .collect())
    }

    /// Resolves `ID` or `SOURCE:ID` to a case this viewer may see.
    pub fn find(&self, spec: &str) -> Result<AlertKey> {
        self.require_reviewer()?;
        // An escalation's reference (what `[escalation] notify_command` was told) names its case.
        if spec.len() > super::escalation::REFERENCE_PREFIX.len()
            && spec
                .get(..super::escalation::REFERENCE_PREFIX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(super::escalation::REFERENCE_PREFIX))
            && let Some(key) = self.find_reference(spec)?
        {
            return Ok(key);
        }
        let key = self.find_exact(spec)?;
        // A vendor's record attached to a phoned-in case leads to that case.
        match self.store.index_entry(&key)?.and_then(|e| e.case.attached_to) {
            Some(into) if self.store.index_entry(&into)?.is_some_and(|e| self.visible(&e.head, &e.case)) => Ok(into),
            _ => Ok(key),
        }
    }

    pub(super) fn find_exact(&self, spec: &str) -> Result<AlertKey> {
        if let Some((source, id)) = spec.split_once(':') {
            let key = AlertKey::new(source, id);
            if let Some(entry) = self.store.index_entry(&key)?
                && self.visible(&entry.head, &entry.case)
            {
                return Ok(key);
            }
        }
        let found = std::sync::Mutex::new(Vec::new());
        self.store.visit_index(IndexScan::All, &|entry: IndexEntry| {
            if entry.head.key.id == spec && self.visible(&entry.head, &entry.case) {
                found.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(entry.head.key);
            }
        })?;
        let mut found = found.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        found.sort();
        match found.len() {
            0 => Err(ServiceError::NotFound(spec.to_string())),
            1 => Ok(found.remove(0)),
            _ => Err(ServiceError::Ambiguous {
                given: spec.to_string(),
                // Ids come from the feed: the message may reach a terminal.
                candidates: found.iter().map(|k| inert::line(&k.to_string()).into_owned()).collect(),
            }),
        }
    }
}

/// Counts of open cases per level, for the header.
pub fn counts(queue: &[CaseSummary]) -> [(Level, usize); 3] {
    // One pass over every case: run when the cases change, not for every frame.
    let mut counts = Level::ALL.map(|l| (l, 0));
    for c in queue.iter().filter(|c| c.open) {
        if let Some((_, n)) = counts.iter_mut().find(|(l, _)| *l == c.level) {
            *n += 1;
        }
    }
    counts
}

fn search_text(alert: &Alert) -> String {
    let s = &alert.subject;
    let parts = [
        Some(&s.id),
        s.name.as_ref(),
        s.group.as_ref(),
        s.username.as_ref(),
        Some(&alert.category),
        Some(&alert.summary),
    ];
    // One allocation for the usual (ASCII) text: this runs for every case when the queue opens.
    let mut out = String::with_capacity(parts.iter().flatten().map(|p| p.len() + 1).sum());
    for (i, part) in parts.into_iter().flatten().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if part.is_ascii() {
            let start = out.len();
            out.push_str(part);
            out[start..].make_ascii_lowercase();
        } else {
            out.push_str(&part.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CaseEvent;
    use crate::identity::{Role, Viewer};
    use crate::service::CaseService;

    #[test]
    fn the_search_text_is_every_searched_field_lower_cased_one_per_line() {
        let mut a = crate::domain::alert::tests_support::sample_alert("X1");
        a.subject.group = Some("L3 Sport".into());
        a.subject.username = Some("ÉLODIE.Σ".into());
        a.summary = "Searched For SOMETHING".into();
        let old = [Some(&a.subject.id), a.subject.name.as_ref(), a.subject.group.as_ref(), a.subject.username.as_ref()]
            .into_iter()
            .flatten()
            .chain([&a.category, &a.summary])
            .map(|p| p.to_lowercase())
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(search_text(&a), old);
        assert_eq!(search_text(&a), "hpc0001\ntest student\nl3 sport\nélodie.ς\nviolence\nsearched for something");
    }

    #[test]
    fn counts_are_of_open_cases_per_level() {
        let viewer = Viewer { user: "u".into(), role: Role::Dsl, sees_staff: true };
        let config = crate::config::Config::default();
        let dir = tempfile::tempdir().expect("tmp");
        let store = crate::store::Store::open(dir.path(), &crate::store::StoreKey::bytes([3; 32])).expect("store");
        let svc = CaseService::new(store, crate::service::Policy::from_config(&config));
        let svc = svc.asking(&viewer);
        let now = Utc::now();
        let mut a = crate::domain::alert::tests_support::sample_alert("X1");
        let b = crate::domain::alert::tests_support::sample_alert("X2");
        a.risk = Some(5);
        let case = |level| {
            Case::fold(
                a.key.clone(),
                &[CaseEvent::new(
                    now,
                    "feed",
                    crate::domain::EventKind::Raised { revision: 1, level, illegal_path: false, template_version: 1 },
                )],
            )
            .expect("case")
        };
        let mut closed = case(Level::High);
        closed.closed = Some((now, "false-positive".into()));
        let queue = vec![
            svc.summarize(&a, &case(Level::High), now),
            svc.summarize(&b, &case(Level::Low), now),
            svc.summarize(&b, &closed, now),
        ];
        assert_eq!(counts(&queue), [(Level::High, 1), (Level::Medium, 0), (Level::Low, 1)]);
    }
}
