//! Alerts a reviewer takes by phone or in person ([`Asking::add_alert`]), and the vendor's own record of
//! one, when it arrives later by whatever route: proposed for linking ([`Asking::vendor_proposals`]) and,
//! once a reviewer confirms, attached to the phoned-in case ([`Asking::attach_vendor_back`]).

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

pub use super::api::{Added, ManualAlert};
use super::events::Change;
use super::{Asking, Result, ServiceError, StoreError};
use crate::audit;
use crate::domain::alert::{Intake, MANUAL_SOURCE, known_category};
use crate::domain::case::CaseCommand;
use crate::domain::{Alert, AlertKey, Capture, Case, CaseEvent, Delivery, EventKind, Level, Subject, SubjectKind};
use crate::store::Incoming;
use crate::store::backend::IndexScan;

/// How late a received time may be, past the service's clock, before it is refused as in the future (a
/// client's clock a little ahead of the service's).
const CLOCK_SLACK_MINUTES: i64 = 5;

/// Why a form cannot be saved: each says what to give instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("a level is required: the level you judge (low, medium or high)")]
    LevelRequired,
    #[error("a summary is required: what the caller said happened")]
    SummaryRequired,
    #[error("who the alert is about is required: at least one of the username, college ID or name the caller gave")]
    SubjectRequired,
    #[error("the received time {0} is later than now")]
    InTheFuture(String),
    #[error("the received time {0} does not exist in the college's time zone (a clock change)")]
    NoSuchTime(String),
}

/// A case that may be the same alert as the one shown: the vendor's record of a phoned-in case (or, shown on
/// the vendor's case, the phoned-in case it may be the record of), for a reviewer to confirm or decline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorProposal {
    pub other: AlertKey,
    pub raised_at: DateTime<FixedOffset>,
    pub category: String,
    pub summary: String,
}

/// A vendor's record attached to a phoned-in case: its content and its own log, kept as they were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachedRecord {
    pub alert: Alert,
    pub events: Vec<CaseEvent>,
}

/// The form's fields, in the order the TUI's form shows them: each `NAME: value` on a line of its own.
pub const FORM_FIELDS: [&str; 13] = [
    "received",
    "how",
    "caller",
    "vendor-ref",
    "subject",
    "username",
    "college-id",
    "name",
    "group",
    "category",
    "level",
    "summary",
    "context",
];

/// The blank form the TUI's `N` opens, received `now_local` (`YYYY-MM-DD HH:MM`, college time).
pub fn form_template(now_local: &str) -> String {
    FORM_FIELDS
        .iter()
        .map(|f| match *f {
            "received" => format!("{f}: {now_local}"),
            "how" => format!("{f}: phone"),
            "subject" => format!("{f}: student"),
            _ => format!("{f}: "),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn text(field: &Option<String>) -> Option<String> {
    field.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string)
}

impl ManualAlert {
    /// The form as the TUI's editor holds it (see [`form_template`]): a line that starts with no field's
    /// name continues the field before it (a summary or context over several lines). Read with the same
    /// parsers as `vigil alert add`'s flags.
    pub fn from_form(form: &str) -> std::result::Result<ManualAlert, String> {
        let mut fields: Vec<(&str, String)> = Vec::new();
        for line in form.lines() {
            let named = line.split_once(':').and_then(|(name, value)| {
                let name = name.trim();
                FORM_FIELDS.iter().find(|f| f.eq_ignore_ascii_case(name)).map(|f| (*f, value.trim().to_string()))
            });
            match (named, fields.last_mut()) {
                (Some(field), _) => fields.push(field),
                (None, Some((_, value))) => {
                    value.push('\n');
                    value.push_str(line.trim_end());
                }
                (None, None) if line.trim().is_empty() => {}
                (None, None) => return Err(format!("`{}` is not a field of the form", line.trim())),
            }
        }
        let mut out = ManualAlert::default();
        for (name, value) in fields {
            let value = value.trim().to_string();
            if value.is_empty() {
                continue;
            }
            let wrong = |e: String| format!("{name}: {e}");
            match name {
                "received" => out.received = Some(crate::domain::values::date_time(&value).map_err(wrong)?),
                "how" => out.how = Some(Delivery::typed(&value).map_err(wrong)?),
                "caller" => out.caller = Some(value),
                "vendor-ref" => out.vendor_ref = Some(value),
                "subject" => out.kind = Some(SubjectKind::typed(&value).map_err(wrong)?),
                "username" => out.username = Some(value),
                "college-id" => out.college_id = Some(value),
                "name" => out.name = Some(value),
                "group" => out.group = Some(value),
                "category" => out.category = Some(value),
                "level" => {
                    let level =
                        value.parse::<Level>().map_err(|_| format!("level: `{value}` is not low, medium or high"));
                    out.level = Some(level?);
                }
                "summary" => out.summary = value,
                _ => out.context = Some(value),
            }
        }
        Ok(out)
    }

    /// The level the reviewer judged, once the form has what it must: or what it lacks.
    pub fn check(&self) -> std::result::Result<Level, FormError> {
        let level = self.level.ok_or(FormError::LevelRequired)?;
        if self.summary.trim().is_empty() {
            return Err(FormError::SummaryRequired);
        }
        if [&self.username, &self.college_id, &self.name].iter().all(|f| text(f).is_none()) {
            return Err(FormError::SubjectRequired);
        }
        Ok(level)
    }

    fn alert(&self, key: AlertKey, raised_at: DateTime<FixedOffset>, level: Level, user: &str) -> Alert {
        let category = match text(&self.category) {
            Some(c) => known_category(&c).map_or(c, str::to_string),
            None => "general-risk".to_string(),
        };
        Alert {
            key,
            revision: 1,
            raised_at,
            risk: None,
            level: Some(level),
            category,
            delivered_by: Some(self.how.unwrap_or(Delivery::Phone)),
            subject: Subject {
                kind: self.kind.unwrap_or(SubjectKind::Student),
                id: text(&self.college_id).unwrap_or_default(),
                name: text(&self.name),
                group: text(&self.group),
                username: text(&self.username),
            },
            device: None,
            summary: self.summary.trim().to_string(),
            context: text(&self.context),
            captures: Vec::<Capture>::new(),
            suspected_illegal: false,
            withdrawn: false,
            intake: Some(Intake {
                taken_by: user.to_string(),
                caller: text(&self.caller),
                vendor_ref: text(&self.vendor_ref),
            }),
            mail: None,
        }
    }
}

/// Whether two alerts are about the same person, by what both name: the username, or the college ID.
fn same_subject(a: &Subject, b: &Subject) -> bool {
    let same = |x: Option<&str>, y: Option<&str>| match (x.map(str::trim), y.map(str::trim)) {
        (Some(x), Some(y)) => !x.is_empty() && x.eq_ignore_ascii_case(y),
        _ => false,
    };
    same(a.username.as_deref(), b.username.as_deref()) || same(Some(&a.id), Some(&b.id))
}

fn same_category(a: &str, b: &str) -> bool {
    match (known_category(a), known_category(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.trim().eq_ignore_ascii_case(b.trim()),
    }
}

impl Asking<'_> {
    /// Stores an alert a reviewer took by phone or in person, through the feed's own ingest path: a case with
    /// its level's checklist, due from the time received, raised by the reviewer. Only the DSL and the
    /// deputy may, and an alert about a member of staff only one who may see staff alerts. Nothing is stored
    /// or audited unless the form passes.
    pub fn add_alert(&self, form: &ManualAlert, now: DateTime<Utc>) -> Result<Added> {
        if !self.viewer.on_duty() {
            return Err(ServiceError::Forbidden(self.viewer.role.as_str()));
        }
        if form.kind == Some(SubjectKind::Staff) && !self.viewer.sees_staff {
            return Err(ServiceError::TeamRule(
                "an alert about a member of staff is for the DSL (and those [roles] staff_alerts names): pass it to them"
                    .into(),
            ));
        }
        let level = form.check().map_err(|e| ServiceError::Form(e.to_string()))?;
        let tz = self.calendar.time_zone();
        let raised_at = match form.received {
            None => now.with_timezone(&tz).fixed_offset(),
            Some((date, time)) => {
                let date = date.unwrap_or_else(|| now.with_timezone(&tz).date_naive());
                let local = date.and_time(time);
                let shown = local.format("%Y-%m-%d %H:%M").to_string();
                let at = tz.from_local_datetime(&local).earliest().ok_or(FormError::NoSuchTime(shown.clone()));
                let at = at.map_err(|e| ServiceError::Form(e.to_string()))?;
                if at.with_timezone(&Utc) > now + chrono::Duration::minutes(CLOCK_SLACK_MINUTES) {
                    return Err(ServiceError::Form(FormError::InTheFuture(shown).to_string()));
                }
                at.fixed_offset()
            }
        };
        let key = self.new_manual_key(raised_at.date_naive())?;
        let mut alert = form.alert(key.clone(), raised_at, level, &self.viewer.user);
        // The reviewer's level is graded like a feed's `level` (a category's minimum and the illegal-content
        // path still apply), except that phoning is not itself a reason for High: the reviewer judged it.
        let grading = self.levels.grade(&Alert { delivered_by: None, ..alert.clone() });
        alert.level = Some(level);
        let raised_by = self.actor().stored();
        let incoming = [Incoming { alert: &alert, grading, raised_by: &raised_by }];
        let report = self.store.ingest_page(&incoming, &[], 0, None, self.templates.version(), now)?;
        if report.new != 1 {
            return Err(ServiceError::Unexpected(format!("the new alert was not stored ({report:?})")));
        }
        let how = alert.delivered_by.map_or("other", |d| d.as_str());
        let what = format!("took an alert ({how}) and raised it at {}", grading.level);
        self.store.audit_append(&audit::Entry::new(now, &self.viewer.user, Some(&key), what))?;
        let staff = alert.is_staff();
        let high = usize::from(grading.level == Level::High);
        self.publish([
            Change::Case { key: key.clone(), staff },
            Change::Arrived {
                new: 1,
                high_new: high,
                staff_new: usize::from(staff),
                staff_high_new: if staff { high } else { 0 },
            },
        ]);
        Ok(Added { key, level: grading.level, illegal_path: grading.illegal_path })
    }

    /// A key no alert has: `manual:M-YYYYMMDD-XXXX`, the date the one received and four random hex digits
    /// (content-free: it names nobody).
    fn new_manual_key(&self, date: NaiveDate) -> Result<AlertKey> {
        for _ in 0..64 {
            let tail = uuid::Uuid::new_v4().as_u128() & 0xFFFF;
            let key = AlertKey::new(MANUAL_SOURCE, format!("M-{}-{tail:04X}", date.format("%Y%m%d")));
            if self.store.alert(&key)?.is_none() {
                return Ok(key);
            }
        }
        Err(ServiceError::Unexpected("no free id for a manual alert that day".into()))
    }

    /// The cases that may be the same alert as `alert` (a phoned-in one and the vendor's records of it, or
    /// the other way round): about the same subject (username or college ID), of the same category, raised
    /// within `[intake] match_hours` of each other, open, not attached or declined already, and visible to
    /// this viewer. Read from the open index: the raise time bounds the window.
    pub fn vendor_proposals(&self, alert: &Alert, case: &Case) -> Result<Vec<VendorProposal>> {
        if case.attached_to.is_some() {
            return Ok(Vec::new());
        }
        let window = chrono::Duration::hours(i64::from(self.intake.match_hours));
        let manual = alert.is_manual();
        let found = std::sync::Mutex::new(Vec::new());
        self.store.visit_index(IndexScan::Open, &|entry| {
            let (head, other) = (&entry.head, &entry.case);
            let fits = head.is_manual() != manual
                && other.attached_to.is_none()
                && head.is_staff() == alert.is_staff()
                && (head.raised_at - alert.raised_at).abs() <= window
                && same_subject(&head.subject, &alert.subject)
                && same_category(&head.category, &alert.category)
                && if manual {
                    !case.vendor_records.contains(&head.key) && !case.declined_vendor.contains(&head.key)
                } else {
                    !other.vendor_records.contains(&alert.key) && !other.declined_vendor.contains(&alert.key)
                }
                && self.visible(head, other);
            if fits {
                let proposal = VendorProposal {
                    other: head.key.clone(),
                    raised_at: head.raised_at,
                    category: head.category.clone(),
                    summary: head.summary.clone(),
                };
                found.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(proposal);
            }
        })?;
        let mut found = found.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        found.sort_by(|a, b| a.raised_at.cmp(&b.raised_at).then_with(|| a.other.cmp(&b.other)));
        Ok(found)
    }

    /// The vendor's records attached to a phoned-in case, with their content and their logs.
    pub fn attached_records(&self, case: &Case) -> Result<Vec<AttachedRecord>> {
        let mut out = Vec::with_capacity(case.vendor_records.len());
        for key in &case.vendor_records {
            if let Some(alert) = self.store.alert(key)? {
                out.push(AttachedRecord { alert, events: self.store.events(key)? });
            }
        }
        Ok(out)
    }

    /// For a decision about a vendor's record (`link-vendor`, `decline-vendor`) asked on either of the two
    /// cases: the phoned-in case to record it on and the command as it reads there. Refused unless one is a
    /// phoned-in case and the other a vendor's record not attached elsewhere, both visible to this viewer.
    pub(super) fn vendor_decision(&self, key: &AlertKey, command: &CaseCommand) -> Result<(AlertKey, CaseCommand)> {
        let other = match command {
            CaseCommand::AttachVendor { other } | CaseCommand::DeclineVendor { other, .. } => other,
            _ => return Ok((key.clone(), command.clone())),
        };
        // A bare ID (typed without its source) is found as `vigil show` finds one.
        let other = if other.source.is_empty() { self.find_exact(&other.id)? } else { other.clone() };
        let (a, _, a_case) = self.load(key)?;
        let (b, _, b_case) = self.load(&other)?;
        let (phoned, vendor, vendor_case) = match (a.is_manual(), b.is_manual()) {
            (true, false) => (a, b, b_case),
            (false, true) => (b, a, a_case),
            _ => {
                return Err(ServiceError::TeamRule(
                    "one of the two must be an alert taken by phone or in person (manual:...) and the other the vendor's record"
                        .into(),
                ));
            }
        };
        if phoned.is_staff() != vendor.is_staff() {
            return Err(ServiceError::TeamRule(
                "one is about a member of staff and the other is not: they are not the same alert".into(),
            ));
        }
        if let Some(into) = vendor_case.attached_to.filter(|into| *into != phoned.key) {
            return Err(crate::domain::case::RuleError::AttachedElsewhere(into.to_string()).into());
        }
        let command = match command {
            CaseCommand::DeclineVendor { reason, .. } => {
                CaseCommand::DeclineVendor { other: vendor.key.clone(), reason: reason.clone() }
            }
            _ => CaseCommand::AttachVendor { other: vendor.key.clone() },
        };
        Ok((phoned.key, command))
    }

    /// The vendor's half of an attachment: its case records that it is now read as `phoned` (unless it
    /// already does), with its audit record, judged again if its log changes meanwhile.
    pub(super) fn attach_vendor_back(
        &self,
        vendor: &AlertKey,
        phoned: &AlertKey,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseEvent>> {
        for _ in 0..8 {
            let (alert, events, case) = self.load(vendor)?;
            match &case.attached_to {
                Some(into) if into == phoned => return Ok(Vec::new()),
                Some(into) => return Err(crate::domain::case::RuleError::AttachedElsewhere(into.to_string()).into()),
                None => {}
            }
            let event = CaseEvent::by(now, &self.actor(), EventKind::AttachedTo { case: phoned.clone() });
            let entry = audit::Entry::new(now, &self.viewer.user, Some(vendor), audit::action_text(&event.kind));
            match self.store.append_decision_at(vendor, events.len() as u64, &[(event.clone(), entry)]) {
                Ok(()) => {
                    self.publish([Change::Case { key: vendor.clone(), staff: alert.is_staff() }]);
                    return Ok(vec![event]);
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Busy)
    }
}
