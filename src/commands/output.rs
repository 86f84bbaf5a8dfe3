//! How commands write: JSON with nothing that could act on a terminal, the plain queue row, and the
//! `vigil list --json` contract (its own type, so the service's messages can change without it).

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use crate::domain::inert;
use crate::service::{CaseDetail, CaseSummary};

/// Writes `value` as pretty JSON with every character that could act on a terminal escaped (`\u001b`,
/// `\u009b`, `\u202e`): serde_json escapes C0 controls only, and JSON output is often read on a terminal.
/// The text is the original, JSON-escaped; nothing is cut or replaced.
pub fn write_json<W: Write, T: serde::Serialize + ?Sized>(out: &mut W, value: &T) -> Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, InertJson(serde_json::ser::PrettyFormatter::new()));
    // As an io::Error, so that a closed pipe is still recognised as one (serde_json's error hides it).
    value.serialize(&mut ser).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

struct InertJson<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for InertJson<'_> {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, fragment: &str) -> std::io::Result<()> {
        let mut buf = [0u8; 4];
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if !inert::is_inert(c.encode_utf8(&mut buf)) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{:04x}", u)?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

pub fn plain_row(c: &CaseSummary) -> String {
    let mut subject = inert::line(&c.subject_id).into_owned();
    if let Some(n) = &c.subject_name {
        subject.push_str(&format!(" {}", inert::line(n)));
    }
    let flags: String = c.flags().iter().map(|f| format!(" {f}")).collect();
    let owner = c.owner_name.as_deref().map(|o| format!(" (has it: {})", inert::line(o))).unwrap_or_default();
    format!(
        "{:<4} {:<11} {:<20} {:<18} {:<30} {} {}{}{flags}{owner}",
        c.level.label(),
        c.status,
        inert::line(&c.key.to_string()),
        inert::line(&c.category),
        subject,
        c.raised_at.format("%Y-%m-%d %H:%M"),
        c.due_at.map(|d| format!("due {}", d.format("%Y-%m-%d %H:%M"))).unwrap_or_default(),
        if c.overdue { " OVERDUE" } else { "" },
    )
}

/// One element of `vigil list --json` (and `case` in `vigil show --json`). Field names and order are a public
/// contract, kept here apart from the service's own row type.
#[derive(serde::Serialize)]
pub struct ListRow<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub revision: u32,
    pub level: crate::domain::Level,
    pub risk: Option<u8>,
    pub category: &'a str,
    pub subject_kind: &'a str,
    pub subject_id: &'a str,
    pub subject_name: Option<&'a str>,
    pub subject_group: Option<&'a str>,
    pub status: crate::domain::Status,
    pub raised_at: chrono::DateTime<chrono::Utc>,
    pub due_at: Option<chrono::DateTime<chrono::Utc>>,
    pub out_of_hours: bool,
    pub overdue: bool,
    pub suspected_illegal: bool,
    pub illegal_path: bool,
    pub follow_up: Option<chrono::NaiveDate>,
    pub follow_up_due: bool,
    pub location: &'a str,
    /// Who has the case: their user name, and how `[people]` names them.
    pub owner: Option<&'a str>,
    pub owner_name: Option<&'a str>,
    /// The subject's alerts in the `[trends]` window, when they make a trend; else null.
    pub trend: Option<u32>,
}

impl<'a> From<&'a CaseSummary> for ListRow<'a> {
    fn from(c: &'a CaseSummary) -> Self {
        ListRow {
            id: &c.id,
            source: &c.source,
            revision: c.revision,
            level: c.level,
            risk: c.risk,
            category: &c.category,
            subject_kind: c.subject_kind.as_str(),
            subject_id: &c.subject_id,
            subject_name: c.subject_name.as_deref(),
            subject_group: c.subject_group.as_deref(),
            status: c.status,
            raised_at: c.raised_at,
            due_at: c.due_at,
            out_of_hours: c.out_of_hours,
            overdue: c.overdue,
            suspected_illegal: c.suspected_illegal,
            illegal_path: c.illegal_path,
            follow_up: c.follow_up,
            follow_up_due: c.follow_up_due,
            location: &c.location,
            owner: c.owner.as_deref(),
            owner_name: c.owner_name.as_deref(),
            trend: c.trend,
        }
    }
}

/// The `vigil list --json` rows of `queue`.
pub fn list_rows(queue: &[CaseSummary]) -> Vec<ListRow<'_>> {
    queue.iter().map(ListRow::from).collect()
}

pub fn detail_json(d: &CaseDetail) -> serde_json::Value {
    json!({
        "case": ListRow::from(&d.summary),
        "alert": d.alert,
        "checklist": d.checklist,
        "missing_required": d.missing_required,
        "outcomes": d.outcomes.iter().map(|(id, text)| json!({"id": id, "text": text})).collect::<Vec<_>>(),
        "events": d.events,
        "links": d.links.iter().map(|l| json!({"id": l.key.id, "source": l.key.source, "level": l.level, "status": l.status})).collect::<Vec<_>>(),
    })
}

/// `vigil subject --json`: a student's history, oldest case first. Field names are a public contract.
pub fn history_json(h: &crate::service::subjects::History) -> serde_json::Value {
    json!({
        "subject_id": h.subject_id,
        "trend": h.trend,
        "trend_days": h.trend_days,
        "cases": h.cases.iter().map(|c| json!({
            "id": c.key.id,
            "source": c.key.source,
            "raised_at": c.raised_at,
            "level": c.level,
            "category": c.category,
            "status": c.status,
            "outcome": c.outcome,
            "handled_by": c.handled_by,
        })).collect::<Vec<_>>(),
    })
}
