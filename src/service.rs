//! The case service: store + rules + access control, behind one boundary.
//!
//! The TUI and every headless command speak only to this. Who may see what is decided here and nowhere
//! else, so a surface added later cannot forget it. The service is synchronous and cheap to clone; the
//! feed poller and the UI hold their own handles over the same store.

use std::cmp::Reverse;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::calendar::{DueLevel, DuePolicy, WorkingCalendar, due_at};
use crate::domain::case::{CaseCommand, ItemState, RuleError, decide};
use crate::domain::checklist::{ItemKind, Templates};
use crate::domain::levels::LevelPolicy;
use crate::domain::{Alert, AlertKey, Case, CaseEvent, Level, Status};
use crate::feed::protocol::Page;
use crate::identity::Viewer;
use crate::store::{Incoming, IngestReport, Store, StoreError};

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
    pub status: &'static str,
    pub raised_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub out_of_hours: bool,
    pub overdue: bool,
    pub suspected_illegal: bool,
    pub illegal_path: bool,
    pub follow_up: Option<NaiveDate>,
    pub follow_up_due: bool,
    pub location: String,
    #[serde(skip)]
    pub key: AlertKey,
    #[serde(skip)]
    pub open: bool,
    #[serde(skip)]
    pub staff: bool,
}

impl CaseSummary {
    /// The queue order: open before closed; High, Medium, Low; follow-ups that have come first within a
    /// level; then due time; then raise time.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (!self.open, Reverse(self.level), !self.follow_up_due, self.due_at, self.raised_at, &self.key)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChecklistItem {
    pub section: String,
    pub id: String,
    pub text: String,
    pub required: bool,
    pub kind: &'static str,
    pub choices: Vec<String>,
    pub condition: Option<String>,
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

    fn require_reviewer(&self) -> Result<()> {
        if self.viewer.can_review() { Ok(()) } else { Err(ServiceError::Forbidden(self.viewer.role.as_str())) }
    }

    fn visible(&self, alert: &Alert) -> bool {
        self.viewer.can_review() && (self.viewer.sees_staff || !alert.is_staff())
    }

    /// Grades and stores a page. Staff alerts never enter the store of a user who may not see them: only
    /// their count is kept.
    pub fn ingest(&self, page: &Page, now: DateTime<Utc>) -> Result<IngestReport> {
        let mut staff_dropped = 0;
        let incoming: Vec<Incoming<'_>> = page
            .alerts
            .iter()
            .filter(|a| {
                let keep = self.viewer.sees_staff || !a.is_staff();
                staff_dropped += usize::from(!keep);
                keep
            })
            .map(|alert| Incoming { alert, grading: self.levels.grade(alert) })
            .collect();
        let rejected: Vec<_> = page
            .rejected
            .iter()
            // A rejected alert whose raw text says it is about staff is still staff content.
            .filter(|r| self.viewer.sees_staff || !r.raw.contains("\"staff\""))
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
        let raised = alert.raised_at.with_timezone(&Utc);
        let status = case.status();
        let due = due_at(&self.calendar, &self.due, due_level(case.level), raised);
        let today = now.with_timezone(&self.calendar.time_zone()).date_naive();
        let follow_up_due = status.is_open() && case.follow_up.is_some_and(|d| d <= today);
        CaseSummary {
            id: alert.key.id.clone(),
            source: alert.key.source.clone(),
            revision: alert.revision,
            level: case.level,
            risk: alert.risk,
            category: alert.category.clone(),
            subject_kind: alert.subject.kind.as_str(),
            subject_id: alert.subject.id.clone(),
            subject_name: alert.subject.name.clone(),
            subject_group: alert.subject.group.clone(),
            status: status.as_str(),
            raised_at: raised,
            due_at: Some(due),
            out_of_hours: !self.calendar.is_working_time(raised),
            overdue: status.is_open() && now > due,
            suspected_illegal: alert.suspected_illegal,
            illegal_path: case.illegal_path,
            follow_up: case.follow_up,
            follow_up_due,
            location: alert.location().to_string(),
            key: alert.key.clone(),
            open: status.is_open(),
            staff: alert.is_staff(),
        }
    }

    /// Every case this viewer may see, in queue order.
    pub fn queue(&self, now: DateTime<Utc>) -> Result<Vec<CaseSummary>> {
        if !self.viewer.can_review() {
            return Err(ServiceError::Forbidden(self.viewer.role.as_str()));
        }
        let mut events: HashMap<AlertKey, Vec<CaseEvent>> = HashMap::new();
        for item in self.store.all_events() {
            let (key, event) = item?;
            events.entry(key).or_default().push(event);
        }
        let mut out = Vec::with_capacity(events.len());
        for alert in self.store.alerts() {
            let alert = alert?;
            if !self.visible(&alert) {
                continue;
            }
            let Some(evs) = events.get(&alert.key) else { continue };
            if let Some(case) = Case::fold(alert.key.clone(), evs) {
                out.push(self.summarize(&alert, &case, now));
            }
        }
        out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Ok(out)
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
                candidates: found.iter().map(ToString::to_string).collect(),
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

    pub fn detail(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<CaseDetail> {
        self.require_reviewer()?;
        let (alert, events, case) = self.load(key)?;
        let staff = alert.is_staff();
        let path = case.path(staff);
        let mut checklist = Vec::new();
        let mut shown = std::collections::HashSet::new();
        for section in self.templates.sections_for(path) {
            for item in &section.items {
                shown.insert(item.id.clone());
                checklist.push(checklist_item(&section.title, item, case.done.get(&item.id)));
            }
        }
        // Items done on an earlier path (before a regrade) stay visible: nothing done is ever hidden.
        for (id, state) in &case.done {
            if !shown.contains(id)
                && let Some(item) = self.templates.item(id)
            {
                checklist.push(checklist_item("Done before regrade", item, Some(state)));
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
            self.store.append(key, &CaseEvent::new(now, &self.viewer.user, crate::domain::EventKind::Viewed))?;
        }
        Ok(())
    }

    /// Applies a reviewer's decision. The event is flushed before this returns.
    pub fn act(&self, key: &AlertKey, command: &CaseCommand, now: DateTime<Utc>) -> Result<CaseEvent> {
        self.require_reviewer()?;
        let (alert, _, case) = self.load(key)?;
        let kind = decide(&case, alert.is_staff(), self.templates, command)?;
        let event = CaseEvent::new(now, &self.viewer.user, kind);
        self.store.append(key, &event)?;
        Ok(event)
    }

    /// Counts of open cases per level, for the header.
    pub fn counts(queue: &[CaseSummary]) -> [(Level, usize); 3] {
        Level::ALL.map(|l| (l, queue.iter().filter(|c| c.open && c.level == l).count()))
    }

    pub fn status_of(case: &Case) -> Status {
        case.status()
    }
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
        kind: kind_name(item.kind),
        choices: item.choices.clone(),
        condition: item.condition.clone(),
        done: state.is_some(),
        value: state.and_then(|s| s.value.clone()),
        note: state.and_then(|s| s.note.clone()),
        done_at: state.map(|s| s.at),
        done_by: state.map(|s| s.actor.clone()),
    }
}

fn kind_name(kind: ItemKind) -> &'static str {
    kind.name()
}
