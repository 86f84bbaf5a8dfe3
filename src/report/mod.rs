//! Reports for governors and the annual review (`vigil report`), and the numbers behind the on-duty
//! dashboard ([`duty`]).
//!
//! # How a report is made
//!
//! 1. [`crate::service::CaseService::report_data`] reads every case the viewer's report may count. It is the
//!    only read a `reporter` may make, and it strips everything that could name a person or say what happened
//!    (subject, summary, captures, notes, reasons, checklist values) before the data leaves the service. Staff
//!    alerts come back only for the DSL who asked with `--include-staff`, and only as (raise time, level).
//! 2. [`figures::compute`] turns that into [`Figures`]: a pure function of the data, the period and the
//!    options (the clock is passed in), so every figure is unit-tested. Exact small numbers never leave it:
//!    every published count is a [`Count`], every share a [`Share`], every response time a [`Minutes`], and
//!    small-number protection has already been applied (see [`figures`] for the rules).
//! 3. One renderer per format writes the figures: [`markdown`] (tables), [`html`] (one self-contained file,
//!    inline CSS and SVG, no script, readable in black and white), [`csv`] (`section,key,value`) and
//!    [`json`] (documented in its module).
//!
//! # Definitions (shared by every format)
//!
//! - The period is `--from` to `--to` inclusive, local dates in the calendar's time zone. An alert is in the
//!   period when it was *raised* in it. The previous period is the same number of days just before.
//! - Figures are *as at* the end of the period (or now, if the period has not ended): a case's level, status,
//!   checklist and outcome are those its event log had at that instant, so a report on last term does not
//!   change because a case was closed this week.
//! - An alert's level is its level as at the end of the period (after any regrade).
//! - Withdrawn alerts count in the alert totals but not in outcomes, recording shares or response times.
//! - Response times are elapsed (wall-clock) minutes, not working minutes: raise to first view (the first
//!   `viewed` event), raise to first contact (High only), raise to close (the close in force at the end of the
//!   period). Median: the middle value (the mean of the two middle values, rounded half up). 90th percentile:
//!   nearest rank, the ceil(0.9 n)-th smallest.
//! - First contact on a High alert is the time written in the item with the `contact-time` role (in
//!   checklists.toml) when it reads as HH:MM:
//!   its latest local occurrence at or before the moment the item was ticked, provided that is not before the
//!   raise (contact made at 08:45 on the morning after an alert raised at 22:00 reads correctly). Otherwise,
//!   or when the value is not a time, the moment the item was ticked.
//! - Within due time: the case was closed at or before its due time (`calendar::due_at`, from the level as at
//!   the end of the period): the same rule that makes the queue show OVERDUE. Cases still open whose due time
//!   had not come by the end of the period are left out of that share.
//! - Overdue at the end of the period: the queue's one rule ([`crate::domain::Case::is_overdue`]) as at that
//!   instant: open, the level's response not recorded, and past the due time.
//! - Categories: only the vendor's known ones ([`crate::domain::alert::KNOWN_CATEGORIES`]) are named; any
//!   other string a feed sends as a category is counted under "other", as small categories are.
//! - A report reads what the store holds: cases purged under `[storage] retention_months` are gone, so a
//!   period older than the retention window is under-counted.

pub mod csv;
pub mod duty;
pub mod figures;
pub mod html;
pub mod json;
pub mod markdown;

use std::path::Path;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

pub use duty::{DutySummary, duty_summary};
pub use figures::{Count, Figures, Minutes, PerLevel, Share, compute};

use crate::domain::Level;

/// The longest period a report covers: about ten years, far beyond an annual review.
pub const MAX_PERIOD_DAYS: i64 = 3660;

/// How long the default period is: the last 30 days, today included.
pub const DEFAULT_PERIOD_DAYS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown tables (the default, to stdout).
    #[value(name = "md", alias = "markdown")]
    Markdown,
    /// One self-contained HTML file with charts, for printing or sending.
    Html,
    /// One metric per row: section,key,value.
    Csv,
    /// Machine-readable; see `vigil::report::json`.
    Json,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

/// A report period: local dates, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, String> {
        if from > to {
            return Err(format!("--from {from} is after --to {to}"));
        }
        let period = Period { from, to };
        if period.days() > MAX_PERIOD_DAYS {
            return Err(format!("a report covers at most {MAX_PERIOD_DAYS} days; {from} to {to} is {}", period.days()));
        }
        Ok(period)
    }

    /// `--from` and `--to` with their defaults: `--to` today, `--from` 29 days before `--to`.
    pub fn resolve(from: Option<NaiveDate>, to: Option<NaiveDate>, today: NaiveDate) -> Result<Period, String> {
        let to = to.unwrap_or(today);
        let from = match from {
            Some(f) => f,
            None => to.checked_sub_days(Days::new(DEFAULT_PERIOD_DAYS - 1)).unwrap_or(NaiveDate::MIN),
        };
        Period::new(from, to)
    }

    /// The number of days, both ends included.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period of the same length that ends the day before this one starts.
    pub fn previous(&self) -> Period {
        let to = self.from.pred_opt().unwrap_or(NaiveDate::MIN);
        let from = to.checked_sub_days(Days::new(self.days().unsigned_abs() - 1)).unwrap_or(NaiveDate::MIN);
        Period { from, to }
    }

    /// `[start, end)`: local midnight at the start of `from` to local midnight after `to`.
    pub fn bounds(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let end_day = self.to.succ_opt().unwrap_or(NaiveDate::MAX);
        (local_midnight(tz, self.from), local_midnight(tz, end_day))
    }
}

/// The first instant of `day` in `tz` (a zone whose midnight falls in a DST gap starts the day at the first
/// valid instant after it).
pub(crate) fn local_midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    (0..=24 * 4)
        .find_map(|quarter| {
            let t = day.and_hms_opt(0, 0, 0)? + chrono::TimeDelta::minutes(15 * quarter);
            tz.from_local_datetime(&t).earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

/// What a report is asked for, beyond the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Counts from 1 to `min_group - 1` are shown as "fewer than `min_group`" (`[report] min_group`).
    pub min_group: u64,
    /// The clock, passed in: figures are as at the end of the period or now, whichever comes first.
    pub now: DateTime<Utc>,
}

/// Renders figures in one format. The text ends with a newline.
pub fn render(format: Format, figures: &Figures) -> String {
    match format {
        Format::Markdown => markdown::render(figures),
        Format::Html => html::render(figures),
        Format::Csv => csv::render(figures),
        Format::Json => json::render(figures),
    }
}

/// Writes a report file readable by its owner only (it is anonymised, but it is still safeguarding data).
pub fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().create(true).write(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

// ---------- wording shared by the human-readable formats ----------

/// "12", "fewer than 5" or "withheld".
pub fn count_text(c: Count) -> String {
    match c {
        Count::Exact(n) => n.to_string(),
        Count::FewerThan(min) => format!("fewer than {min}"),
        Count::Withheld => "withheld".to_string(),
    }
}

/// "83%", "withheld (fewer than 5)" or "no data".
pub fn share_text(s: Share, min_group: u64) -> String {
    match s {
        Share::Shown(f) => format!("{}%", (f * 100.0).round() as i64),
        Share::Suppressed => format!("withheld (fewer than {min_group})"),
        Share::NoData => "no data".to_string(),
    }
}

/// "45 min", "2 h 05 min", "3 d 4 h".
pub fn duration_text(minutes: i64) -> String {
    let m = minutes.max(0);
    if m < 60 {
        format!("{m} min")
    } else if m < 24 * 60 {
        format!("{} h {:02} min", m / 60, m % 60)
    } else {
        format!("{} d {} h", m / (24 * 60), m % (24 * 60) / 60)
    }
}

/// The rows of the response-times table (level, measure, median, 90th percentile), as every text format
/// shows them.
pub fn response_rows(f: &figures::Figures, min: u64) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for (l, r) in f.response.iter() {
        let mut push = |what: &str, m: Minutes| {
            let (median, p90) = minutes_text(m, min);
            rows.push(vec![level_text(l).to_string(), what.to_string(), median, p90]);
        };
        push("Raise to first view", r.first_view);
        if let Some(contact) = r.first_contact {
            push("Raise to first contact", contact);
        }
        push("Raise to close", r.close);
    }
    rows
}

/// The escalation table's rows: the cases escalated, and raise to opened (median, longest).
pub fn escalation_rows(f: &figures::Figures, min: u64) -> Vec<Vec<String>> {
    let e = &f.escalation;
    let (median, longest) = match e.until_opened {
        figures::MedianLongest::Shown { median, longest } => (duration_text(median), duration_text(longest)),
        figures::MedianLongest::Suppressed => {
            let w = format!("withheld (fewer than {min})");
            (w.clone(), w)
        }
        figures::MedianLongest::NoData => ("no data".into(), "no data".into()),
    };
    vec![
        vec!["Cases escalated (nobody opened them in time)".into(), count_text(e.cases)],
        vec!["Raise to opened, escalated cases: median".into(), median],
        vec!["Raise to opened, escalated cases: longest".into(), longest],
    ]
}

/// Median and 90th percentile in words, for one cell.
pub fn minutes_text(m: Minutes, min_group: u64) -> (String, String) {
    match m {
        Minutes::Shown { median, p90 } => (duration_text(median), duration_text(p90)),
        Minutes::Suppressed => {
            let w = format!("withheld (fewer than {min_group})");
            (w.clone(), w)
        }
        Minutes::NoData => ("no data".into(), "no data".into()),
    }
}

/// "1 October 2026".
pub fn date_text(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// "October 2026" from "2026-10".
pub fn month_text(key: &str) -> String {
    NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d")
        .map(|d| d.format("%B %Y").to_string())
        .unwrap_or_else(|_| key.to_string())
}

/// "High", "Medium", "Low".
pub fn level_text(level: Level) -> &'static str {
    match level {
        Level::High => "High",
        Level::Medium => "Medium",
        Level::Low => "Low",
    }
}

/// "+8", "-3", "0", or None when either side is not an exact count.
pub fn change(now: Count, before: Count) -> Option<i64> {
    match (now, before) {
        (Count::Exact(a), Count::Exact(b)) => Some(a as i64 - b as i64),
        _ => None,
    }
}

/// A signed change in words for the human formats.
pub fn change_text(now: Count, before: Count) -> String {
    match change(now, before) {
        Some(d) if d > 0 => format!("up {d}"),
        Some(d) if d < 0 => format!("down {}", -d),
        Some(_) => "no change".into(),
        None => "not shown".into(),
    }
}

/// The outcome's wording from the checklist templates, or its id when it is not in them.
pub fn outcome_text(id: &str) -> String {
    crate::domain::checklist::Templates::embedded()
        .outcome(id)
        .map(|o| o.text.clone())
        .unwrap_or_else(|| id.to_string())
}

/// "the close of the pickup day", "the close of the next working day", "the close of the 5th working day
/// after pickup".
fn working_days_text(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    match n {
        0 => "the close of the pickup day".into(),
        1 => "the close of the next working day".into(),
        n => format!("the close of the {n}{suffix} working day after pickup"),
    }
}

/// The explanation printed under every human-readable report.
pub fn notes(f: &Figures) -> Vec<String> {
    let min = f.min_group;
    vec![
        format!(
            "No person is identified: no names, IDs, groups or alert text. Any count from 1 to {} is shown as \
             \"fewer than {min}\". \"withheld\" hides a larger count so that a smaller one cannot be worked out \
             from a total; a share or a response time that would reveal fewer than {min} alerts is withheld too.",
            min.saturating_sub(1).max(1)
        ),
        "An alert is in the period when it was raised in it. Levels, statuses and outcomes are as at the end of \
         the period (after any regrade). Withdrawn alerts count in totals only."
            .into(),
        "Response times are elapsed minutes from the raise: to the first time the alert was opened, to first \
         contact with the student (High: the time recorded in the checklist), and to the close. Median and 90th \
         percentile (90% of alerts took this long or less)."
            .into(),
        format!(
            "Within due time: closed by the due time the procedure sets (High: {} working minutes after pickup; \
             Medium: {}; Low: {}; an alert raised out of hours is picked up at the next opening). Alerts not yet \
             due at the end of the period are left out.",
            f.due.high_working_minutes,
            working_days_text(f.due.medium_working_days_after),
            working_days_text(f.due.low_working_days_after)
        ),
        "Only the monitoring vendor's own categories are named. Any other category, and categories with fewer \
         alerts than the minimum, are added together under \"other\"."
            .into(),
    ]
}
