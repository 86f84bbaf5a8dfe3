//! The one data path of reports: content-free cases, redacted here before they leave the service.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Asking, Result, ServiceError};
use crate::domain::calendar::{DuePolicy, WorkingCalendar};
use crate::domain::checklist::{ItemRole, Templates};
use crate::domain::{Alert, AlertKey, Case, CaseEvent, Level};
use crate::identity::Role;

impl Asking<'_> {
    /// The one data path of `vigil report`, and the only read a `reporter` may make.
    ///
    /// Every student (and unknown-subject) case comes back with everything that could name a person or say
    /// what happened removed here, before it leaves the service: subject, summary, context, captures,
    /// hostname, actors, notes, reasons and checklist values (except a `high-contact-time` value that is a
    /// plain HH:MM, which the response figures need). Staff alerts never come back as cases: with
    /// `include_staff`, which only the DSL may ask for, they come back as (raise time, level) pairs to count.
    pub fn report_data(&self, include_staff: bool) -> Result<ReportData> {
        let may_count_staff =
            self.viewer.role == Role::Dsl || self.viewer.role == Role::TrustLead && self.viewer.sees_staff;
        if include_staff && !may_count_staff {
            return Err(ServiceError::Forbidden(self.viewer.role.as_str()));
        }
        let mut events: HashMap<AlertKey, Vec<CaseEvent>> = HashMap::new();
        for item in self.store.all_events() {
            let (key, event) = item?;
            events.entry(key).or_default().push(event);
        }
        let mut cases = Vec::new();
        let mut subjects = Vec::new();
        // A subject as a number that means nothing outside this answer: the same for the same student,
        // numbered as first met. A case with no subject id (a reporter's own store keeps none) is its own.
        let mut numbered: HashMap<(String, String), u32> = HashMap::new();
        let mut staff = include_staff.then(Vec::new);
        for alert in self.store.alerts() {
            let alert = alert?;
            let Some(evs) = events.remove(&alert.key) else { continue };
            // The case is folded from the redacted events, so nothing it derives can carry content.
            let evs: Vec<CaseEvent> = evs.into_iter().map(redact_event).collect();
            let Some(case) = Case::fold(alert.key.clone(), &evs) else { continue };
            if case.attached_to.is_some() {
                // The vendor's record of an alert a reviewer took by phone: counted once, as that case.
                continue;
            }
            if alert.is_staff() {
                if let Some(staff) = staff.as_mut() {
                    staff.push((alert.raised_at.with_timezone(&Utc), case.level));
                }
                continue;
            }
            let next = u32::try_from(numbered.len() + subjects.len()).unwrap_or(u32::MAX);
            let subject = if alert.subject.id.is_empty() {
                next
            } else {
                *numbered.entry((alert.key.source.clone(), alert.subject.id.clone())).or_insert(next)
            };
            subjects.push(subject);
            cases.push((redact_alert(alert), case, evs));
        }
        Ok(ReportData { cases, subjects, staff, calendar: self.calendar.clone(), due: self.due })
    }
}

/// What [`CaseService::report_data`] hands to the report: content-free cases and the rules to time them by.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ReportData {
    /// Student and unknown-subject cases, redacted, in store order.
    pub cases: Vec<(Alert, Case, Vec<CaseEvent>)>,
    /// For each of `cases`, its subject as a number made for this answer alone (never an id): what the
    /// report counts repeat subjects by.
    #[serde(default)]
    pub subjects: Vec<u32>,
    /// Staff alerts as (raise time, level), only when the DSL asked for them.
    pub staff: Option<Vec<(DateTime<Utc>, Level)>>,
    /// The college's calendar, from the service's config (it travels: a client's own config may differ).
    pub calendar: WorkingCalendar,
    pub due: DuePolicy,
}

impl ReportData {
    /// Adds another school's data, for the trust's report: its cases after these, its subjects numbered
    /// after these (a student of one school is never counted as a repeat of another's), its staff counts
    /// when both have them. The calendar and due times stay this one's (the trust's config gives both).
    pub fn merge(&mut self, other: ReportData) {
        let after = self.subjects.iter().copied().max().map_or(0, |m| m + 1);
        self.cases.extend(other.cases);
        self.subjects.extend(other.subjects.into_iter().map(|n| n + after));
        self.staff = match (self.staff.take(), other.staff) {
            (Some(mut mine), Some(theirs)) => {
                mine.extend(theirs);
                Some(mine)
            }
            _ => None,
        };
    }
}

/// The one checklist value a report reads: the time contact was made with the student on a High alert (the
/// item with the `contact-time` role).
fn report_value(item: &str, value: Option<String>) -> Option<String> {
    let value = value.filter(|_| Templates::embedded().has_role(item, ItemRole::ContactTime))?;
    let t = value.trim();
    let hhmm =
        chrono::NaiveTime::parse_from_str(t, "%H:%M").or_else(|_| chrono::NaiveTime::parse_from_str(t, "%H:%M:%S"));
    hhmm.ok().map(|t| t.format("%H:%M").to_string())
}

pub(super) fn redact_alert(mut a: Alert) -> Alert {
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
        K::Assigned { .. } => K::Assigned { to: String::new() },
        K::Shared { .. } => K::Shared { with: String::new(), reason: String::new() },
        K::Unshared { .. } => K::Unshared { with: String::new(), reason: String::new() },
        K::Linked { .. } => K::Linked { other: AlertKey::new("", "") },
        K::Unlinked { .. } => K::Unlinked { other: AlertKey::new("", ""), reason: String::new() },
        K::VendorRecordAttached { .. } => K::VendorRecordAttached { other: AlertKey::new("", "") },
        // Still attached, so a report counts the two as the one case they are.
        K::AttachedTo { .. } => K::AttachedTo { case: AlertKey::new("", "") },
        K::VendorRecordDeclined { .. } => {
            K::VendorRecordDeclined { other: AlertKey::new("", ""), reason: String::new() }
        }
        kind @ (K::Raised { .. }
        | K::Revised { .. }
        | K::Withdrawn
        | K::Reinstated
        | K::Viewed
        | K::FollowUpSet { .. }
        | K::Closed { .. }
        | K::Released
        | K::Escalated { .. }) => kind,
    };
    e
}
