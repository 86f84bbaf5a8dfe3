//! One case in full, for the detail pane, `vigil show` and the CPOMS text: its checklist, outcomes and
//! timeline, each view of content written to the audit trail before it is returned.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Asking, CaseSummary, Result, ServiceError};
use crate::domain::Actor;
use crate::domain::case::ItemState;
use crate::domain::checklist::ItemKind;
use crate::domain::{Alert, AlertKey, Case, CaseEvent};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseDetail {
    pub summary: CaseSummary,
    pub alert: Alert,
    pub case: Case,
    pub events: Vec<CaseEvent>,
    pub checklist: Vec<ChecklistItem>,
    pub outcomes: Vec<(String, String)>,
    pub missing_required: Vec<String>,
    /// The number of the last change the service had published when this was read: a change to this case
    /// numbered after it means what is on screen is out of date.
    pub as_of: u64,
    /// How each person this case names is named to a reader (user name to "A. Example (DSL)"), from the
    /// service's `[people]`: the records keep user names, what people read names people.
    #[serde(default)]
    pub names: std::collections::BTreeMap<String, String>,
    /// The cases linked to this one that the reader may see, in key order.
    #[serde(default)]
    pub links: Vec<LinkedCase>,
    /// Cases that may be this same alert (the vendor's record of a phoned-in alert, or the phoned-in alert a
    /// vendor's record may be of): for a reviewer to confirm (`link-vendor`) or decline (`decline-vendor`).
    #[serde(default)]
    pub vendor_proposals: Vec<super::intake::VendorProposal>,
    /// The vendor's records attached to this phoned-in case, their content and logs as they were.
    #[serde(default)]
    pub vendor_records: Vec<super::intake::AttachedRecord>,
}

/// A case linked to the one shown: which, its level and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedCase {
    pub key: AlertKey,
    pub level: crate::domain::Level,
    pub status: crate::domain::Status,
}

/// One line of a case's timeline: when, who, and a content-free description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub what: String,
}

impl CaseDetail {
    /// How `user` is named to the reader (see `names`).
    pub fn name(&self, user: &str) -> String {
        self.names.get(user).cloned().unwrap_or_else(|| user.to_string())
    }

    /// How an actor is named to the reader: a person by [`CaseDetail::name`], the feed and vigil as such.
    pub fn display(&self, actor: &Actor) -> String {
        match actor {
            Actor::Person(user) if self.names.contains_key(user) => self.name(user),
            other => other.to_string(),
        }
    }

    /// The case's timeline: its event log in order, each entry dated when it happened. An event's own time is
    /// when vigil recorded it, which for the raise is when the alert was stored, possibly hours after it was
    /// raised (a feed that was down, an out-of-hours alert fetched in the morning). So the raise is dated by
    /// the alert's `raised_at`, and the storing follows as its own entry when it was later.
    pub fn timeline(&self) -> Vec<TimelineEntry> {
        let mut out = Vec::with_capacity(self.events.len() + 1);
        for e in &self.events {
            let actor = self.display(&e.actor());
            let what = e.kind.describe_naming(&|user| self.name(user));
            if let crate::domain::EventKind::Raised { .. } = e.kind {
                out.push(TimelineEntry { at: self.summary.raised_at, actor: actor.clone(), what });
                if e.at != self.summary.raised_at {
                    out.push(TimelineEntry { at: e.at, actor, what: "received by vigil".into() });
                }
                continue;
            }
            out.push(TimelineEntry { at: e.at, actor, what });
        }
        out
    }
}

impl Asking<'_> {
    pub(super) fn load(&self, key: &AlertKey) -> Result<(Alert, Vec<CaseEvent>, Case)> {
        let not_found = || ServiceError::NotFound(key.to_string());
        let alert = self.store.alert(key)?.ok_or_else(not_found)?;
        let events = self.store.events(key)?;
        let case = Case::fold(key.clone(), &events).ok_or_else(not_found)?;
        if !self.visible(&alert, &case) {
            return Err(not_found());
        }
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
    pub fn records(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<crate::service::records::Records> {
        let d = self.build_detail(key, now)?;
        self.audit(Some(key), "produced the CPOMS text", now)?;
        Ok(super::records::records(&d, self.calendar.time_zone()))
    }

    /// The case's checklist without what was entered in it (values, notes, who did them): what `vigil case`
    /// needs to turn an item number into an id. Not a view of content, so not audited.
    pub fn checklist(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<Vec<ChecklistItem>> {
        let d = self.build_detail(key, now)?;
        Ok(d.checklist.into_iter().map(|i| ChecklistItem { value: None, note: None, done_by: None, ..i }).collect())
    }

    pub(super) fn build_detail(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<CaseDetail> {
        // Read before the case: a change published while it is read counts as newer (one read too many at worst).
        // In this viewer's own numbering of changes (see `events`), which its events carry.
        let as_of = self.bus.last_heard_by(self.viewer);
        self.require_reviewer()?;
        let (alert, events, case) = self.load(key)?;
        let staff = alert.is_staff();
        // A trend is counted from every case of the student: made once, then kept up to date.
        self.make_tally(now)?;
        let summary = self.summarize(&alert, &case, now);
        let path = crate::domain::checklist::CasePath { trend: summary.trend.is_some(), ..case.path(staff) };
        let mut checklist = Vec::new();
        let mut shown = std::collections::HashSet::new();
        for (section, item) in self.templates.items_for(path) {
            shown.insert(item.id.clone());
            let mut row = checklist_item(&section.title, item, case.done.get(&item.id), &self.team);
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
                checklist.push(checklist_item("Done on an earlier path", item, Some(state), &self.team));
            }
        }
        let outcomes = self.templates.outcomes_for(path).into_iter().map(|o| (o.id.clone(), o.text.clone())).collect();
        let missing_required = case.missing_required(self.templates, staff);
        let names = people_named(&events)
            .filter(|user| self.team.people.contains_key(user))
            .map(|user| (self.team.display(&user), user))
            .map(|(display, user)| (user, display))
            .collect();
        let mut links = Vec::new();
        for other in &case.links {
            // Only what the reader may see: a link to a case they may not is not even named.
            if let Some(entry) = self.store.index_entry(other)?
                && self.visible(&entry.head, &entry.case)
            {
                links.push(LinkedCase { key: other.clone(), level: entry.case.level, status: entry.case.status() });
            }
        }
        let vendor_proposals = self.vendor_proposals(&alert, &case)?;
        let vendor_records = self.attached_records(&case)?;
        Ok(CaseDetail {
            vendor_proposals,
            vendor_records,
            names,
            as_of,
            links,
            summary,
            alert,
            case,
            events,
            checklist,
            outcomes,
            missing_required,
        })
    }
}

/// Every person a case's events name: their actors, and whom they were given or shown to.
fn people_named(events: &[CaseEvent]) -> impl Iterator<Item = String> + '_ {
    use crate::domain::EventKind as K;
    events.iter().flat_map(|e| {
        let named = match &e.kind {
            K::Assigned { to } => Some(to.clone()),
            K::Shared { with, .. } | K::Unshared { with, .. } => Some(with.clone()),
            _ => None,
        };
        e.actor().person_name().map(str::to_string).into_iter().chain(named)
    })
}

fn checklist_item(
    section: &str,
    item: &crate::domain::checklist::ItemTemplate,
    state: Option<&ItemState>,
    team: &crate::identity::Team,
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
        done_by: state.map(|s| team.actor(&Actor::from_stored(&s.actor))),
    }
}
