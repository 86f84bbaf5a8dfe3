//! Text for the college's other records: a CPOMS-ready entry and the content-free student-tracking note.
//!
//! The procedure says Medium and High alerts are "logged on CPOMS and a note to say there has been a
//! Smoothwall alert on student tracking (without detailing the content)", and Low alerts are "not logged on
//! CPOMS or student tracking". The tracking note therefore never carries anything from the alert but its
//! date. A staff alert is neither: it goes to the allegations-against-staff procedure, and its text says so.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::CaseDetail;
use crate::domain::inert;
use crate::domain::{EventKind, Level};

/// The two texts, or the reason there are none.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Records {
    pub cpoms: String,
    pub tracking: Option<String>,
}

pub fn records(d: &CaseDetail, tz: Tz) -> Records {
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string();
    let raised = d.summary.raised_at.with_timezone(&tz);
    if d.alert.is_staff() {
        // An alert about a member of staff is not a student's record: nothing for CPOMS or student tracking,
        // and nothing from the alert (name, summary) in a text that may be pasted elsewhere.
        return Records {
            cpoms: format!(
                "Staff alert (raised {}): not for CPOMS or student tracking. Handle it under the college's \
                 procedure for allegations against staff.",
                raised.format("%d/%m/%Y %H:%M")
            ),
            tracking: None,
        };
    }
    if d.summary.level == Level::Low {
        return Records {
            cpoms: format!(
                "Low-level alert ({}, {}): not for CPOMS or student tracking under the college's procedure.",
                inert::line(&d.alert.category),
                raised.format("%d/%m/%Y %H:%M")
            ),
            tracking: None,
        };
    }
    let mut out = Vec::new();
    out.push(format!("Monitoring alert ({} level): {}", d.summary.level, inert::line(&d.alert.category)));
    out.push(format!(
        "Raised: {} (source {}, alert {})",
        raised.format("%d/%m/%Y %H:%M"),
        inert::line(&d.alert.key.source),
        inert::line(&d.alert.key.id)
    ));
    if let Some(intake) = &d.alert.intake {
        let how = d.alert.delivered_by.map_or("other", |h| h.as_str());
        let caller = intake.caller.as_deref().map(|c| format!(" from {}", inert::line(c))).unwrap_or_default();
        out.push(format!("Taken by {} ({how}{caller})", inert::line(&d.name(&intake.taken_by))));
        if let Some(r) = &intake.vendor_ref {
            out.push(format!("Vendor's reference: {}", inert::line(r)));
        }
    }
    if d.summary.out_of_hours {
        out.push("Raised out of working hours; picked up at the next opening.".into());
    }
    out.push(format!(
        "Student: {}{}",
        inert::line(&d.alert.subject.id),
        d.alert.subject.name.as_deref().map(|n| format!(" {}", inert::line(n))).unwrap_or_default()
    ));
    out.push(format!("Concern (moderator's summary): {}", inert::line(&d.alert.summary)));
    out.push(String::new());
    out.push("Actions:".into());
    for (at, actor, text) in actions(d) {
        // A line break the reviewer typed stays a line break, indented under its action.
        out.push(format!("- {} {}: {}", local(at), inert::line(&actor), text.replace('\n', "\n  ")));
    }
    out.push(String::new());
    match &d.case.closed {
        Some((at, outcome)) => out.push(format!("Outcome: {} ({})", outcome_text(d, outcome), local(*at))),
        None => out.push("Outcome: case still open".into()),
    }
    let tracking = format!("Smoothwall alert on {}, see CPOMS", raised.format("%d/%m/%Y"));
    Records { cpoms: out.join("\n"), tracking: Some(tracking) }
}

/// The record's actions, oldest first: (when, who, what). The checklist part is the case's checklist as its
/// fold has it (what the reviewer sees ticked), so an item undone is not in the record and an item ticked
/// again carries its latest value; the rest are the decisions that stay in the case's history as made
/// (the view, regrades, the illegal-content path, notes, follow-up dates, closes, reopens, the vendor's
/// withdrawal).
fn actions(d: &CaseDetail) -> Vec<(DateTime<Utc>, String, String)> {
    let mut out: Vec<(DateTime<Utc>, String, String)> = Vec::new();
    for e in &d.events {
        let text = match &e.kind {
            EventKind::Viewed => "alert reviewed".to_string(),
            EventKind::Regraded { from, to, reason } => format!("regraded {from} to {to}: {}", typed(reason)),
            EventKind::IllegalPathChosen { reason } => {
                format!("illegal-content procedure followed: {}", typed(reason))
            }
            EventKind::NoteAdded { text } => format!("note: {}", typed(text)),
            EventKind::FollowUpSet { date } => format!("follow-up arranged for {}", date.format("%d/%m/%Y")),
            EventKind::Closed { outcome } => format!("closed: {}", outcome_text(d, outcome)),
            EventKind::Reopened { reason } => format!("reopened: {}", typed(reason)),
            EventKind::Withdrawn => "alert withdrawn by the monitoring vendor".to_string(),
            EventKind::Reinstated => "alert reinstated by the monitoring vendor".to_string(),
            EventKind::Shared { with, reason } => {
                format!("shared with {} of the safeguarding team: {}", d.name(with), typed(reason))
            }
            EventKind::Unshared { with, reason } => {
                format!("no longer shared with {}: {}", d.name(with), typed(reason))
            }
            EventKind::Linked { other } => format!("linked to case {}", inert::line(&other.to_string())),
            EventKind::Unlinked { other, reason } => {
                format!("unlinked from case {}: {}", inert::line(&other.to_string()), typed(reason))
            }
            EventKind::VendorRecordAttached { other } => {
                format!("the vendor's record {} confirmed as this alert and attached", inert::line(&other.to_string()))
            }
            EventKind::AttachedTo { case } => {
                format!("confirmed as the vendor's record of phoned-in case {}", inert::line(&case.to_string()))
            }
            EventKind::VendorRecordDeclined { other, reason } => {
                format!("the vendor's record {} is not this alert: {}", inert::line(&other.to_string()), typed(reason))
            }
            EventKind::Escalated { unopened_minutes, .. } => {
                format!("escalated to the team: not opened for {unopened_minutes} minutes")
            }
            EventKind::Assigned { .. }
            | EventKind::Released
            | EventKind::Raised { .. }
            | EventKind::Revised { .. }
            | EventKind::ItemDone { .. }
            | EventKind::ItemUndone { .. } => continue,
        };
        out.push((e.at, d.display(&e.actor()), text));
    }
    for item in d.checklist.iter().filter(|i| i.done) {
        let mut text = item.text.clone();
        if let Some(v) = &item.value {
            text.push_str(&format!(": {}", typed(v)));
        }
        if let Some(n) = &item.note {
            text.push_str(&format!(" ({})", typed(n)));
        }
        out.push((item.done_at.unwrap_or(d.summary.raised_at), item.done_by.clone().unwrap_or_default(), text));
    }
    // Stable: at the same instant, the history's order, then the checklist's.
    out.sort_by_key(|(at, _, _)| *at);
    out
}

/// Text a reviewer typed: inert, with the line breaks they typed kept (a CR LF is one break).
fn typed(text: &str) -> String {
    inert::block(&text.replace("\r\n", "\n")).into_owned()
}

fn outcome_text(d: &CaseDetail, id: &str) -> String {
    d.outcomes.iter().find(|(o, _)| o == id).map(|(_, t)| t.clone()).unwrap_or_else(|| inert::line(id).into_owned())
}
