//! The case service: store + rules + access control, behind one boundary.
//!
//! The TUI and every headless command speak only to this. Who may see what is decided here and nowhere
//! else, so a surface added later cannot forget it. The service is synchronous and cheap to clone; the
//! feed poller and the UI hold their own handles over the same store.

use std::cmp::Reverse;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::audit;
use crate::domain::calendar::{DueLevel, DuePolicy, WorkingCalendar, due_at};
use crate::domain::case::{AlertFacts, CaseCommand, ItemState, RuleError, decide};
use crate::domain::checklist::{ItemKind, ItemRole, Templates};
use crate::domain::inert;
use crate::domain::levels::LevelPolicy;
use crate::domain::{Actor, Alert, AlertKey, Case, CaseEvent, Level, Status};
use crate::feed::protocol::Page;
use crate::feed::staff::may_be_staff;
use crate::identity::{Role, Viewer};
use crate::store::{Incoming, IndexEntry, IngestReport, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no case `{0}`")]
    NotFound(String),
    #[error("`{given}` matches more than one case; use SOURCE:ID, one of: {}", .candidates.join(", "))]
    Ambiguous { given: String, candidates: Vec<String> },
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("your role ({0}) may not do this")]
    Forbidden(&'static str),
}

pub type Result<T> = std::result::Result<T, ServiceError>;

/// One row of the queue, and one element of `vigil list --json`. Field names are a public contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseSummary {
    pub id: String,
    pub source: String,
    pub revision: u32,
    pub level: Level,
    pub risk: Option<u8>,
    pub category: String,
    pub subject_kind: &'static str,
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
    /// The viewer has acted on this case.
    #[serde(skip)]
    pub mine: bool,
    /// Lower-case subject, category and summary, for the queue filter.
    #[serde(skip)]
    pub search: String,
    #[serde(skip)]
    pub key: AlertKey,
    #[serde(skip)]
    pub open: bool,
    #[serde(skip)]
    pub staff: bool,
    /// The first response is recorded (High: contact made; Medium: follow-up date set): no longer overdue.
    #[serde(skip)]
    pub responded: bool,
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
    pub fn flags(&self) -> Vec<&'static str> {
        [
            (self.staff, "STAFF"),
            (self.illegal_path, "ILLEGAL"),
            (self.follow_up_due, "FOLLOW-UP"),
            (self.out_of_hours, "OOH"),
        ]
        .into_iter()
        .filter_map(|(on, word)| on.then_some(word))
        .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChecklistItem {
    pub section: String,
    pub id: String,
    pub text: String,
    pub required: bool,
    pub kind: ItemKind,
    pub choices: Vec<String>,
    pub condition: Option<String>,
    /// The procedure's guidance for the step, shown with the selected item.
    pub help: Option<String>,
    pub done: bool,
    pub value: Option<String>,
    pub note: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<String>,
}

/// Everything the detail pane and `vigil show` need about one case.
#[derive(Debug, Clone)]
pub struct CaseDetail {
    pub summary: CaseSummary,
    pub alert: Alert,
    pub case: Case,
    pub events: Vec<CaseEvent>,
    pub checklist: Vec<ChecklistItem>,
    pub outcomes: Vec<(String, String)>,
    pub missing_required: Vec<String>,
}

/// One line of a case's timeline: when, who, and a content-free description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub what: String,
}

impl CaseDetail {
    /// The case's timeline: its event log in order, each entry dated when it happened. An event's own time is
    /// when vigil recorded it, which for the raise is when the alert was stored, possibly hours after it was
    /// raised (a feed that was down, an out-of-hours alert fetched in the morning). So the raise is dated by
    /// the alert's `raised_at`, and the storing follows as its own entry when it was later.
    pub fn timeline(&self) -> Vec<TimelineEntry> {
        let mut out = Vec::with_capacity(self.events.len() + 1);
        for e in &self.events {
            let actor = e.actor().to_string();
            if let crate::domain::EventKind::Raised { .. } = e.kind {
                out.push(TimelineEntry { at: self.summary.raised_at, actor: actor.clone(), what: e.kind.describe() });
                if e.at != self.summary.raised_at {
                    out.push(TimelineEntry { at: e.at, actor, what: "received by vigil".into() });
                }
                continue;
            }
            out.push(TimelineEntry { at: e.at, actor, what: e.kind.describe() });
        }
        out
    }
}

#[derive(Clone)]
pub struct CaseService {
    store: Store,
    templates: &'static Templates,
    calendar: WorkingCalendar,
    due: DuePolicy,
    levels: LevelPolicy,
    viewer: Viewer,
}

fn due_level(level: Level) -> DueLevel {
    match level {
        Level::Low => DueLevel::Low,
        Level::Medium => DueLevel::Medium,
        Level::High => DueLevel::High,
    }
}

impl CaseService {
    pub fn new(store: Store, calendar: WorkingCalendar, due: DuePolicy, levels: LevelPolicy, viewer: Viewer) -> Self {
        CaseService { store, templates: Templates::embedded(), calendar, due, levels, viewer }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    pub fn templates(&self) -> &'static Templates {
        self.templates
    }

    pub fn calendar(&self) -> &WorkingCalendar {
        &self.calendar
    }

    /// The viewer as the actor of what they do: never the feed, whatever their user name.
    fn actor(&self) -> Actor {
        Actor::person(&self.viewer.user)
    }

    fn require_reviewer(&self) -> Result<()> {
        if self.viewer.can_review() { Ok(()) } else { Err(ServiceError::Forbidden(self.viewer.role.as_str())) }
    }

    fn visible(&self, alert: &Alert) -> bool {
        self.viewer.can_review() && (self.viewer.sees_staff || !alert.is_staff())
    }

    /// Grades and stores a page. Staff alerts never enter the store of a user who may not see them: only
    /// their count is kept. An alert stored earlier that a later revision makes a staff alert is purged
    /// from that user's store, leaving a content-free tombstone in the audit trail.
    ///
    /// A `reporter` may read nothing but figures, so their store keeps nothing else: their alerts are
    /// stored already redacted (as [`CaseService::report_data`] would return them) and rejected alerts,
    /// whose raw JSON is content, are not kept at all.
    pub fn ingest(&self, page: &Page, now: DateTime<Utc>) -> Result<IngestReport> {
        let mut staff_dropped = 0;
        // The highest revision of each staff alert dropped here: an earlier revision of it is staff now too.
        let mut staff_top: HashMap<&AlertKey, u32> = HashMap::new();
        for a in page.alerts.iter().filter(|a| !self.viewer.sees_staff && a.is_staff()) {
            staff_dropped += 1;
            let top = staff_top.entry(&a.key).or_insert(a.revision);
            *top = (*top).max(a.revision);
        }
        let superseded = |a: &Alert| staff_top.get(&a.key).is_some_and(|&staff| staff >= a.revision);
        let kept: Vec<(&Alert, crate::domain::levels::Grading)> = page
            .alerts
            .iter()
            .filter(|a| (self.viewer.sees_staff || !a.is_staff()) && !superseded(a))
            .map(|alert| (alert, self.levels.grade(alert)))
            .collect();
        // A case stored from an earlier revision that was not about staff goes, before the page is stored
        // (so a crash in between cannot leave it behind a cursor that has moved on), unless this page also
        // brings a later revision that is not about staff either.
        for (key, revision) in &staff_top {
            if kept.iter().any(|(a, _)| &&a.key == key) {
                continue;
            }
            if self.store.alert(key)?.is_some_and(|old| old.revision < *revision) {
                self.purge(key, &audit::Entry::new(now, "feed", Some(key), "removed: no longer visible to this role"))?;
            }
        }
        let reporter = !self.viewer.can_review();
        let redacted: Vec<Alert> =
            if reporter { kept.iter().map(|(a, _)| redact_alert((*a).clone())).collect() } else { Vec::new() };
        let incoming: Vec<Incoming<'_>> = kept
            .iter()
            .enumerate()
            .map(|(i, (alert, grading))| Incoming { alert: redacted.get(i).unwrap_or(alert), grading: *grading })
            .collect();
        let rejected: Vec<_> = page
            .rejected
            .iter()
            // A rejected alert that may be about staff is still staff content.
            .filter(|r| !reporter && (self.viewer.sees_staff || !may_be_staff(&r.raw)))
            .cloned()
            .collect();
        Ok(self.store.ingest_page(
            &incoming,
            &rejected,
            staff_dropped,
            page.cursor.as_deref(),
            self.templates.version(),
            now,
        )?)
    }

    fn summarize(&self, alert: &Alert, case: &Case, now: DateTime<Utc>) -> CaseSummary {
        self.summarize_owned(alert.clone(), case, now)
    }

    /// [`CaseService::summarize`] of an alert it may take apart: the queue summarizes every case at start,
    /// and moving its strings instead of copying them saves most of the allocations.
    fn summarize_owned(&self, alert: Alert, case: &Case, now: DateTime<Utc>) -> CaseSummary {
        let raised = alert.raised_at.with_timezone(&Utc);
        let status = case.status();
        let due = due_at(&self.calendar, &self.due, due_level(case.level), raised);
        let today = now.with_timezone(&self.calendar.time_zone()).date_naive();
        let follow_up_due = status.is_open() && case.follow_up.is_some_and(|d| d <= today);
        let search = search_text(&alert);
        let location = alert.location().to_string();
        let staff = alert.is_staff();
        let Alert { key, revision, risk, category, subject, suspected_illegal, .. } = alert;
        CaseSummary {
            id: key.id.clone(),
            source: key.source.clone(),
            revision,
            level: case.level,
            risk,
            category,
            subject_kind: subject.kind.as_str(),
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
            mine: case.actors.contains(&self.viewer.user),
            search,
            key,
            open: status.is_open(),
            staff,
            responded: case.responded(),
        }
    }

    /// Every case this viewer may see, in queue order.
    pub fn queue(&self, now: DateTime<Utc>) -> Result<Vec<CaseSummary>> {
        self.rows(now, |s, f| s.index_map(f))
    }

    /// The open cases this viewer may see, in queue order: [`CaseService::queue`] without the closed and
    /// withdrawn ones, which the queue hides by default. Reads only the open cases, so the first frame
    /// costs what is open, not everything ever stored.
    pub fn queue_open(&self, now: DateTime<Utc>) -> Result<Vec<CaseSummary>> {
        self.rows(now, |s, f| s.index_map_open(f))
    }

    /// The cases this viewer may see that are not open, in queue order. Every open case comes before every
    /// other in the queue, so `queue_open` followed by this is [`CaseService::queue`].
    pub fn queue_closed(&self, now: DateTime<Utc>) -> Result<Vec<CaseSummary>> {
        self.rows(now, |s, f| s.index_map_closed(f))
    }

    /// The queue rows of the index entries `read` gives (decoded and summarized on every core), for this
    /// viewer (a reviewer), in queue order.
    fn rows(
        &self,
        now: DateTime<Utc>,
        read: impl FnOnce(
            &Store,
            &(dyn Fn(IndexEntry) -> Option<CaseSummary> + Sync),
        ) -> crate::store::Result<Vec<CaseSummary>>,
    ) -> Result<Vec<CaseSummary>> {
        self.require_reviewer()?;
        let summarize =
            |entry: IndexEntry| self.visible(&entry.head).then(|| self.summarize_owned(entry.head, &entry.case, now));
        let mut out = read(&self.store, &summarize)?;
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
            .filter(|entry| self.visible(&entry.head))
            .map(|entry| self.summarize_owned(entry.head, &entry.case, now)))
    }

    /// The raise time, level and [`key_hash`] of every case this viewer may see that is not open: what the
    /// on-duty dashboard counts ("raised today", the sparkline) while the closed cases themselves are not
    /// loaded.
    pub fn raised_not_open(&self) -> Result<Vec<(DateTime<Utc>, Level, u64)>> {
        self.require_reviewer()?;
        Ok(self.store.index_map_closed(|entry| {
            self.visible(&entry.head)
                .then(|| (entry.head.raised_at.with_timezone(&Utc), entry.case.level, key_hash(&entry.head.key)))
        })?)
    }

    /// Resolves `ID` or `SOURCE:ID` to a case this viewer may see.
    pub fn find(&self, spec: &str) -> Result<AlertKey> {
        self.require_reviewer()?;
        if let Some((source, id)) = spec.split_once(':') {
            let key = AlertKey::new(source, id);
            if let Some(a) = self.store.alert(&key)?
                && self.visible(&a)
            {
                return Ok(key);
            }
        }
        let mut found = Vec::new();
        for alert in self.store.alerts() {
            let alert = alert?;
            if alert.key.id == spec && self.visible(&alert) {
                found.push(alert.key);
            }
        }
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

    fn load(&self, key: &AlertKey) -> Result<(Alert, Vec<CaseEvent>, Case)> {
        let alert = self
            .store
            .alert(key)?
            .filter(|a| self.visible(a))
            .ok_or_else(|| ServiceError::NotFound(key.to_string()))?;
        let events = self.store.events(key)?;
        let case = Case::fold(key.clone(), &events).ok_or_else(|| ServiceError::NotFound(key.to_string()))?;
        Ok((alert, events, case))
    }

    /// The case's content, for the detail pane and `vigil show`. Every call is an audit record (`opened the
    /// case`), written before the content is returned.
    pub fn detail(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<CaseDetail> {
        let d = self.build_detail(key, now)?;
        self.audit(Some(key), "opened the case", now)?;
        Ok(d)
    }

    /// The CPOMS entry and the student-tracking note for a case: an audit record (`produced the CPOMS text`).
    pub fn records(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<crate::records::Records> {
        let d = self.build_detail(key, now)?;
        self.audit(Some(key), "produced the CPOMS text", now)?;
        Ok(crate::records::records(&d, self.calendar.time_zone()))
    }

    /// The case's checklist without what was entered in it (values, notes, who did them): what `vigil case`
    /// needs to turn an item number into an id. Not a view of content, so not audited.
    pub fn checklist(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<Vec<ChecklistItem>> {
        let d = self.build_detail(key, now)?;
        Ok(d.checklist.into_iter().map(|i| ChecklistItem { value: None, note: None, done_by: None, ..i }).collect())
    }

    /// Appends an audit record for this viewer: `case` (if any) and a content-free `what`. For surfaces
    /// outside the service that show or export content (a screenshot shown, a report written).
    pub fn audit(&self, case: Option<&AlertKey>, what: &str, now: DateTime<Utc>) -> Result<()> {
        self.store.audit_append(&audit::Entry::new(now, &self.viewer.user, case, what))?;
        Ok(())
    }

    /// The audit trail, oldest first; with `case`, only the records about it (`ID` or `SOURCE:ID`; purged
    /// cases included). The DSL's alone.
    pub fn audit_records(&self, case: Option<&str>) -> Result<Vec<audit::AuditRecord>> {
        if self.viewer.role != Role::Dsl {
            return Err(ServiceError::Forbidden(self.viewer.role.as_str()));
        }
        let mut records = self.store.audit_records()?;
        if let Some(spec) = case {
            records.retain(|r| {
                r.case.as_deref().is_some_and(|c| c == spec || c.split_once(':').is_some_and(|(_, id)| id == spec))
            });
        }
        Ok(records)
    }

    /// Checks the audit chain. Any reviewing role may; a `reporter` may not.
    pub fn audit_verify(&self) -> Result<audit::Verdict> {
        self.audit_verify_against(None)
    }

    /// Checks the audit chain against a head kept elsewhere ([`audit::HeadMark`]) too. As
    /// [`CaseService::audit_verify`].
    pub fn audit_verify_against(&self, expect: Option<&audit::HeadMark>) -> Result<audit::Verdict> {
        self.require_reviewer()?;
        Ok(self.store.audit_verify_against(expect)?)
    }

    /// Keys the audit chain of a store written by an earlier vigil (the DSL's alone): one record says from
    /// where, and that the records before it were written unkeyed.
    pub fn audit_upgrade(&self, now: DateTime<Utc>) -> Result<audit::AuditRecord> {
        if self.viewer.role != Role::Dsl {
            return Err(ServiceError::Forbidden(self.viewer.role.as_str()));
        }
        let before = self.store.audit_records()?.len();
        let what = format!(
            "keyed the audit chain from this record: the {before} records before it were written unkeyed by an earlier vigil"
        );
        Ok(self.store.audit_upgrade(&audit::Entry::new(now, &self.viewer.user, None, what))?)
    }

    /// The feed's state for `vigil feed status`. Any reviewing role may read it; a `reporter` may not. The
    /// count of staff alerts not stored is there only for a viewer who may see staff alerts (for anyone
    /// else, even a count of zero would say something): otherwise it is `None`.
    pub fn feed_status(&self) -> Result<(crate::store::FeedState, Option<u64>)> {
        self.require_reviewer()?;
        let mut state = self.store.feed_state()?;
        let staff_dropped = std::mem::take(&mut state.staff_dropped);
        Ok((state, self.viewer.sees_staff.then_some(staff_dropped)))
    }

    /// Alerts the feed sent that failed validation, with their raw JSON (content: audited). Never one that
    /// may be about staff, unless the viewer may see staff alerts.
    pub fn rejected(&self, now: DateTime<Utc>) -> Result<Vec<crate::store::Quarantined>> {
        self.require_reviewer()?;
        let mut items = self.store.quarantined()?;
        if !self.viewer.sees_staff {
            items.retain(|q| !may_be_staff(&q.rejected.raw));
        }
        self.audit(None, &format!("listed the rejected alerts ({})", items.len()), now)?;
        Ok(items)
    }

    /// Purges closed cases whose close is `months` or more before `now`, and cases the vendor withdrew that
    /// long ago and nobody closed: alert, events, index entry and cached screenshots go; the audit trail
    /// keeps a content-free tombstone (ids, dates, level, outcome).
    /// Quarantined alerts (raw JSON) received `months` or more before `now` go too, with one record of how
    /// many. Returns how many cases were purged. `vigil` runs this every time it opens a store.
    pub fn purge_expired(&self, months: u32, now: DateTime<Utc>) -> Result<usize> {
        let tz = self.calendar.time_zone();
        let mut expired = Vec::new();
        // Only the close times are read (from the front of each index entry); only what expired is decoded.
        let expires = |closed_at: &DateTime<Utc>| {
            closed_at.checked_add_months(chrono::Months::new(months)).is_some_and(|until| until <= now)
        };
        self.store.purge_quarantined(expires, |n| {
            let what = format!(
                "purged by retention ({months} months after receipt): {n} rejected alert{}",
                if n == 1 { "" } else { "s" }
            );
            audit::Entry::new(now, "retention", None, what)
        })?;
        // Nothing was closed or withdrawn early enough to have expired: nothing to read (the usual case at each
        // start).
        let seen = self.store.settled_since()?;
        if seen.is_some_and(|since| !expires(&since)) {
            return Ok(0);
        }
        let mut oldest_kept = DateTime::<Utc>::MAX_UTC;
        for (key, settled_at) in self.store.settled_cases()? {
            if !expires(&settled_at) {
                oldest_kept = oldest_kept.min(settled_at);
                continue;
            }
            let Some(entry) = self.store.index_entry(&key)? else { continue };
            // The whole entry, read now, is what counts.
            let Some(settled_at) = entry.case.settled() else { continue };
            if !expires(&settled_at) {
                oldest_kept = oldest_kept.min(settled_at);
                continue;
            }
            let day = |at: &DateTime<Utc>| at.with_timezone(&tz).format("%Y-%m-%d").to_string();
            let (raised, level) = (day(&entry.head.raised_at.with_timezone(&Utc)), entry.case.level.as_str());
            let what = match &entry.case.closed {
                Some((closed_at, outcome)) => format!(
                    "purged by retention ({months} months after closing): raised {raised}, closed {}, level {level}, outcome {outcome}",
                    day(closed_at)
                ),
                None => format!(
                    "purged by retention ({months} months after the vendor withdrew it, never closed): raised {raised}, withdrawn {}, level {level}",
                    day(&settled_at)
                ),
            };
            expired.push((entry.head.key.clone(), what));
        }
        for (key, what) in &expired {
            self.purge(key, &audit::Entry::new(now, "retention", Some(key), what.as_str()))?;
        }
        self.store.set_settled_since(seen, oldest_kept)?;
        Ok(expired.len())
    }

    /// Removes a case from the store (alert, events, index entry: [`Store::purge_case`], with `tombstone`
    /// in the audit trail) and then its cached screenshots. Retention and ingest (an alert that became one
    /// this viewer may not see) both purge through here.
    fn purge(&self, key: &AlertKey, tombstone: &audit::Entry) -> Result<()> {
        let alert = self.store.alert(key)?;
        self.store.purge_case(key, tombstone)?;
        let shots = alert.iter().flat_map(|a| &a.captures).filter_map(|c| c.screenshot.as_ref());
        for shot in shots {
            self.store.uncache_blob(&crate::feed::screenshots::cache_name(key, shot))?;
            // Caches of earlier vigils named these by their URL.
            let path = shot.url.trim().trim_start_matches('/');
            if shot.sha256.is_none() && !path.is_empty() {
                for name in self.store.cached_blob_names()? {
                    if name.starts_with("url:") && name.ends_with(path) {
                        self.store.uncache_blob(&name)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn build_detail(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<CaseDetail> {
        self.require_reviewer()?;
        let (alert, events, case) = self.load(key)?;
        let staff = alert.is_staff();
        let path = case.path(staff);
        let mut checklist = Vec::new();
        let mut shown = std::collections::HashSet::new();
        for (section, item) in self.templates.items_for(path) {
            shown.insert(item.id.clone());
            let mut row = checklist_item(&section.title, item, case.done.get(&item.id));
            // What closing needs, as the case stands (a withdrawn case owes less).
            row.required = case.requires(self.templates, section, item);
            checklist.push(row);
        }
        // Items done on an earlier path (before a regrade, or the review before the illegal-content path replaced
        // it) stay visible: nothing done is ever hidden.
        for (id, state) in &case.done {
            if !shown.contains(id)
                && let Some(item) = self.templates.item(id)
            {
                checklist.push(checklist_item("Done on an earlier path", item, Some(state)));
            }
        }
        let outcomes = self.templates.outcomes_for(path).into_iter().map(|o| (o.id.clone(), o.text.clone())).collect();
        let missing_required = case.missing_required(self.templates, staff);
        Ok(CaseDetail {
            summary: self.summarize(&alert, &case, now),
            alert,
            case,
            events,
            checklist,
            outcomes,
            missing_required,
        })
    }

    /// Records that the viewer opened the case's content (the first view feeds response-time figures).
    pub fn mark_viewed(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<()> {
        self.require_reviewer()?;
        let (_, _, case) = self.load(key)?;
        if case.first_viewed.is_none() {
            self.store.append(key, &CaseEvent::by(now, &self.actor(), crate::domain::EventKind::Viewed))?;
        }
        Ok(())
    }

    /// Applies a reviewer's decision: the events [`decide`] returns for it, each with its audit record, are
    /// written in one transaction and flushed before this returns. Returns them, in order.
    pub fn act(&self, key: &AlertKey, command: &CaseCommand, now: DateTime<Utc>) -> Result<Vec<CaseEvent>> {
        self.require_reviewer()?;
        let (alert, _, case) = self.load(key)?;
        let facts = AlertFacts {
            staff: alert.is_staff(),
            category: &alert.category,
            illegal_at_high: self.levels.illegal_at_high(&alert.category),
        };
        let decided: Vec<(CaseEvent, audit::Entry)> = decide(&case, &facts, self.templates, command)?
            .into_iter()
            .map(|kind| {
                let event = CaseEvent::by(now, &self.actor(), kind);
                let entry = audit::Entry::new(now, &self.viewer.user, Some(key), audit::action_text(&event.kind));
                (event, entry)
            })
            .collect();
        self.store.append_decision(key, &decided)?;
        Ok(decided.into_iter().map(|(event, _)| event).collect())
    }

    /// The one data path of `vigil report`, and the only read a `reporter` may make.
    ///
    /// Every student (and unknown-subject) case comes back with everything that could name a person or say
    /// what happened removed here, before it leaves the service: subject, summary, context, captures,
    /// hostname, actors, notes, reasons and checklist values (except a `high-contact-time` value that is a
    /// plain HH:MM, which the response figures need). Staff alerts never come back as cases: with
    /// `include_staff`, which only the DSL may ask for, they come back as (raise time, level) pairs to count.
    pub fn report_data(&self, include_staff: bool) -> Result<ReportData> {
        if include_staff && self.viewer.role != Role::Dsl {
            return Err(ServiceError::Forbidden(self.viewer.role.as_str()));
        }
        let mut events: HashMap<AlertKey, Vec<CaseEvent>> = HashMap::new();
        for item in self.store.all_events() {
            let (key, event) = item?;
            events.entry(key).or_default().push(event);
        }
        let mut cases = Vec::new();
        let mut staff = include_staff.then(Vec::new);
        for alert in self.store.alerts() {
            let alert = alert?;
            let Some(evs) = events.remove(&alert.key) else { continue };
            // The case is folded from the redacted events, so nothing it derives can carry content.
            let evs: Vec<CaseEvent> = evs.into_iter().map(redact_event).collect();
            let Some(case) = Case::fold(alert.key.clone(), &evs) else { continue };
            if alert.is_staff() {
                if let Some(staff) = staff.as_mut() {
                    staff.push((alert.raised_at.with_timezone(&Utc), case.level));
                }
                continue;
            }
            cases.push((redact_alert(alert), case, evs));
        }
        Ok(ReportData { cases, staff, calendar: self.calendar.clone(), due: self.due })
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
}

/// What [`CaseService::report_data`] hands to the report: content-free cases and the rules to time them by.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// Student and unknown-subject cases, redacted, in store order.
    pub cases: Vec<(Alert, Case, Vec<CaseEvent>)>,
    /// Staff alerts as (raise time, level), only when the DSL asked for them.
    pub staff: Option<Vec<(DateTime<Utc>, Level)>>,
    pub calendar: WorkingCalendar,
    pub due: DuePolicy,
}

/// The one checklist value a report reads: the time contact was made with the student on a High alert.
fn report_value(item: &str, value: Option<String>) -> Option<String> {
    let value = value.filter(|_| Templates::embedded().has_role(item, ItemRole::ContactTime))?;
    let t = value.trim();
    let hhmm =
        chrono::NaiveTime::parse_from_str(t, "%H:%M").or_else(|_| chrono::NaiveTime::parse_from_str(t, "%H:%M:%S"));
    hhmm.ok().map(|t| t.format("%H:%M").to_string())
}

fn redact_alert(mut a: Alert) -> Alert {
    a.subject.id = String::new();
    a.subject.name = None;
    a.subject.group = None;
    a.subject.username = None;
    a.summary = String::new();
    a.context = None;
    a.captures = Vec::new();
    if let Some(d) = a.device.as_mut() {
        d.hostname = None;
        d.owner = None;
    }
    a
}

/// No wildcard arm on purpose: a new kind of event must be judged here before it can reach a report.
fn redact_event(mut e: CaseEvent) -> CaseEvent {
    use crate::domain::EventKind as K;
    e.actor = String::new();
    e.kind = match e.kind {
        K::Regraded { from, to, .. } => K::Regraded { from, to, reason: String::new() },
        K::IllegalPathChosen { .. } => K::IllegalPathChosen { reason: String::new() },
        K::ItemDone { item, value, .. } => K::ItemDone { value: report_value(&item, value), item, note: None },
        K::ItemUndone { item, .. } => K::ItemUndone { item, reason: None },
        K::NoteAdded { .. } => K::NoteAdded { text: String::new() },
        K::Reopened { .. } => K::Reopened { reason: String::new() },
        kind @ (K::Raised { .. }
        | K::Revised { .. }
        | K::Withdrawn
        | K::Reinstated
        | K::Viewed
        | K::FollowUpSet { .. }
        | K::Closed { .. }) => kind,
    };
    e
}

/// A case's key in 8 bytes, to tell cases apart in this process without holding their keys (the same
/// key always gives the same hash here; not stored, not a checksum).
pub fn key_hash(key: &AlertKey) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
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

fn checklist_item(
    section: &str,
    item: &crate::domain::checklist::ItemTemplate,
    state: Option<&ItemState>,
) -> ChecklistItem {
    ChecklistItem {
        section: section.to_string(),
        id: item.id.clone(),
        text: item.text.clone(),
        required: item.required,
        kind: item.kind,
        choices: item.choices.clone(),
        condition: item.condition.clone(),
        help: item.help.clone(),
        done: state.is_some(),
        value: state.and_then(|s| s.value.clone()),
        note: state.and_then(|s| s.note.clone()),
        done_at: state.map(|s| s.at),
        done_by: state.map(|s| Actor::from_stored(&s.actor).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let store = Store::open(dir.path(), &crate::store::StoreKey::bytes([3; 32])).expect("store");
        let svc = CaseService::new(store, config.calendar(), config.due, config.levels.clone(), viewer);
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
        assert_eq!(CaseService::counts(&queue), [(Level::High, 1), (Level::Medium, 0), (Level::Low, 1)]);
    }
}
