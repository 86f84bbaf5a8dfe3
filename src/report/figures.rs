//! The report's figures: one pure function from the service's redacted data to what may be published.
//!
//! # Small-number protection
//!
//! Exact counts are worked out here and never leave this module. What leaves it has been protected:
//!
//! - *Primary:* a count from 1 to `min_group - 1` becomes [`Count::FewerThan`]. Zero is shown: "no alerts"
//!   identifies nobody.
//! - *Complementary:* where the cells of a breakdown add up to a published total (alerts by level, month,
//!   site, working hours, delivery; open and overdue by level; outcomes against the closed count), one hidden
//!   cell could be worked out by subtraction. So while any such breakdown has exactly one hidden cell, its
//!   smallest other non-zero cell is [`Count::Withheld`] too.
//! - *Categories:* a category with fewer alerts than the minimum is not named: it is added to "other". If
//!   "other" is still below the minimum, the smallest named categories join it until it is not (or until none
//!   is left).
//! - *Shares:* a share is [`Share::Suppressed`] when its denominator is below the minimum, or when either the
//!   numerator or the rest (denominator - numerator) is from 1 to `min_group - 1`: "95% of 40" reveals 2.
//! - *Response times:* a median or percentile of fewer than `min_group` values is [`Minutes::Suppressed`]
//!   (the median of one alert is that alert's time).
//! - *Trend:* a change is given only between two exact counts.
//!
//! Reports over overlapping periods can still be differenced by someone who has both; the audit log records
//! every export so that this can be seen.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::{Options, Period};
use crate::domain::calendar::{DueLevel, DuePolicy, due_at};
use crate::domain::case::ItemState;
use crate::domain::checklist::{ItemRole, Templates};
use crate::domain::{Alert, Case, CaseEvent, Delivery, EventKind, Level};
use crate::service::ReportData;

/// The outcome the report counts as a false positive.
pub const FALSE_POSITIVE: &str = "false-positive";
/// The category small categories are added up under.
pub const OTHER_CATEGORY: &str = "other";
/// Sites, in the order reports show them.
pub const LOCATIONS: [&str; 3] = ["on-site", "off-site", "unknown"];
/// Deliveries, in the order reports show them; `not-stated` when the feed did not say.
pub const DELIVERIES: [&str; 4] = ["dashboard", "email", "phone", "not-stated"];

/// A published count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exact(u64),
    /// From 1 to the minimum minus one: "fewer than N" (N is carried here).
    FewerThan(u64),
    /// At least the minimum, hidden so that a smaller count cannot be worked out from a total.
    Withheld,
}

impl Count {
    pub fn exact(self) -> Option<u64> {
        match self {
            Count::Exact(n) => Some(n),
            _ => None,
        }
    }
}

/// A published share, a fraction from 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Share {
    Shown(f64),
    /// Nothing to divide by.
    NoData,
    /// Would reveal a count below the minimum.
    Suppressed,
}

/// A published median and 90th percentile, in whole minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Minutes {
    Shown {
        median: i64,
        p90: i64,
    },
    NoData,
    /// Fewer values than the minimum.
    Suppressed,
}

/// A published median and longest, in whole minutes: how long escalated cases went until someone opened them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MedianLongest {
    Shown {
        median: i64,
        longest: i64,
    },
    NoData,
    /// Fewer values than the minimum (the longest of a few is one case's time).
    Suppressed,
}

/// Cases nobody opened in time, so vigil escalated them (`[escalation]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscalationFigures {
    /// Cases raised in the period that were escalated at least once.
    pub cases: Count,
    /// Of those that were opened, raise to opened.
    pub until_opened: MedianLongest,
}

/// One value per level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerLevel<T> {
    pub low: T,
    pub medium: T,
    pub high: T,
}

impl<T> PerLevel<T> {
    pub fn get(&self, level: Level) -> &T {
        match level {
            Level::Low => &self.low,
            Level::Medium => &self.medium,
            Level::High => &self.high,
        }
    }

    pub fn get_mut(&mut self, level: Level) -> &mut T {
        match level {
            Level::Low => &mut self.low,
            Level::Medium => &mut self.medium,
            Level::High => &mut self.high,
        }
    }

    pub fn map<U>(&self, mut f: impl FnMut(Level, &T) -> U) -> PerLevel<U> {
        PerLevel {
            low: f(Level::Low, &self.low),
            medium: f(Level::Medium, &self.medium),
            high: f(Level::High, &self.high),
        }
    }

    /// High, Medium, Low: the order reports show them in.
    pub fn iter(&self) -> impl Iterator<Item = (Level, &T)> {
        Level::ALL.into_iter().map(move |l| (l, self.get(l)))
    }
}

/// The recording shares for one level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recording {
    pub cpoms: Share,
    pub tracking_note: Share,
}

/// Response times for one level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Response {
    pub first_view: Minutes,
    /// High only.
    pub first_contact: Option<Minutes>,
    pub close: Minutes,
    pub within_due: Share,
}

/// Staff alerts: counts only, and only in a DSL's report with `--include-staff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffFigures {
    pub total: Count,
    pub by_level: PerLevel<Count>,
    pub previous_total: Count,
}

/// Everything a report may publish, already protected.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub period: Period,
    pub previous: Period,
    pub time_zone: Tz,
    pub due: DuePolicy,
    /// The instant the figures are as at: the end of the period, or `now` if that comes first.
    pub as_of: DateTime<Utc>,
    pub min_group: u64,
    pub total: Count,
    pub by_level: PerLevel<Count>,
    /// Most alerts first; `other` last.
    pub by_category: Vec<(String, Count)>,
    /// "YYYY-MM", every month the period touches, in order.
    pub by_month: Vec<(String, Count)>,
    /// In [`LOCATIONS`] order.
    pub by_location: Vec<(&'static str, Count)>,
    pub in_hours: Count,
    pub out_of_hours: Count,
    /// In [`DELIVERIES`] order.
    pub by_delivery: Vec<(&'static str, Count)>,
    pub regrades_up: Count,
    pub regrades_down: Count,
    /// Cases closed (not withdrawn) as at the end of the period.
    pub closed: Count,
    /// Outcomes that closed at least one case, in the checklist's order, by level.
    pub outcomes: Vec<(String, PerLevel<Count>)>,
    pub false_positive_share: Share,
    pub recording_medium: Recording,
    pub recording_high: Recording,
    pub response: PerLevel<Response>,
    pub open_at_end: Count,
    pub open_by_level: PerLevel<Count>,
    pub overdue_at_end: Count,
    pub overdue_by_level: PerLevel<Count>,
    pub previous_total: Count,
    pub previous_by_level: PerLevel<Count>,
    /// Students with more than one alert raised in the period (the procedure's "trends in activity").
    pub repeat_subjects: Count,
    pub escalation: EscalationFigures,
    pub staff: Option<StaffFigures>,
}

/// Computes a report's figures. Pure: the clock is `options.now`.
pub fn compute(data: &ReportData, period: Period, options: &Options) -> Figures {
    let tz = data.calendar.time_zone();
    let p = Protect { min: options.min_group.max(1) };
    let (start, end) = period.bounds(tz);
    let as_of = end.min(options.now).max(start);
    let raw = Raw::gather(data, start, end, as_of);
    let previous = period.previous();
    let (prev_start, prev_end) = previous.bounds(tz);
    let prev = Raw::gather(data, prev_start, prev_end, prev_end.min(options.now).max(prev_start));

    let total = p.one(raw.total);
    let by_level = p.per_level(&raw.by_level);

    let by_category = p.categories(&raw.by_category);
    let month_keys = months(period);
    let month_counts: Vec<u64> = month_keys.iter().map(|k| raw.by_month.get(k).copied().unwrap_or(0)).collect();
    let by_month = month_keys.into_iter().zip(p.breakdown(&month_counts)).collect();
    let by_location = LOCATIONS.into_iter().zip(p.breakdown(&raw.by_location)).collect();
    let hours = p.breakdown(&[raw.in_hours, raw.out_of_hours]);
    let by_delivery = DELIVERIES.into_iter().zip(p.breakdown(&raw.by_delivery)).collect();

    // Outcomes: the whole table adds up to the closed count; the false-positive row adds up to a total that
    // its share publishes, so it is a breakdown of its own when that share is shown.
    let closed = p.one(raw.closed);
    let false_positive_share = p.share(raw.false_positive, raw.closed);
    let outcome_ids = outcome_order(&raw.outcomes);
    let cells: Vec<u64> = outcome_ids.iter().flat_map(|id| Level::ALL.map(|l| *raw.outcomes[id].get(l))).collect();
    let mut groups = vec![(0..cells.len()).collect::<Vec<_>>()];
    if matches!(false_positive_share, Share::Shown(_))
        && let Some(row) = outcome_ids.iter().position(|id| id == FALSE_POSITIVE)
    {
        groups.push((row * 3..row * 3 + 3).collect());
    }
    let protected = p.groups(&cells, &groups);
    let outcomes = outcome_ids
        .into_iter()
        .enumerate()
        .map(|(row, id)| {
            let c = &protected[row * 3..row * 3 + 3];
            (id, PerLevel { high: c[0], medium: c[1], low: c[2] })
        })
        .collect();

    let recording = |l: Level| {
        let r = raw.recording.get(l);
        Recording { cpoms: p.share(r.cpoms, r.cases), tracking_note: p.share(r.tracking, r.cases) }
    };
    let response = raw.response.map(|level, r| Response {
        first_view: p.minutes(&r.first_view),
        first_contact: (level == Level::High).then(|| p.minutes(&r.first_contact)),
        close: p.minutes(&r.close),
        within_due: p.share(r.within_due, r.due_eligible),
    });

    let staff = data.staff.as_ref().map(|staff| {
        let count = |s: DateTime<Utc>, e: DateTime<Utc>| {
            let mut by = PerLevel::<u64>::default();
            for (_, level) in staff.iter().filter(|(at, _)| *at >= s && *at < e) {
                *by.get_mut(*level) += 1;
            }
            by
        };
        let now_by = count(start, end);
        let prev_by = count(prev_start, prev_end);
        StaffFigures {
            total: p.one(sum(&now_by)),
            by_level: p.per_level(&now_by),
            previous_total: p.one(sum(&prev_by)),
        }
    });

    Figures {
        period,
        previous,
        time_zone: tz,
        due: data.due,
        as_of,
        min_group: p.min,
        total,
        by_level,
        by_category,
        by_month,
        by_location,
        in_hours: hours[0],
        out_of_hours: hours[1],
        by_delivery,
        regrades_up: p.one(raw.regrades_up),
        regrades_down: p.one(raw.regrades_down),
        closed,
        outcomes,
        false_positive_share,
        recording_medium: recording(Level::Medium),
        recording_high: recording(Level::High),
        response,
        open_at_end: p.one(sum(&raw.open)),
        open_by_level: p.per_level(&raw.open),
        overdue_at_end: p.one(sum(&raw.overdue)),
        overdue_by_level: p.per_level(&raw.overdue),
        previous_total: p.one(prev.total),
        previous_by_level: p.per_level(&prev.by_level),
        repeat_subjects: p.one(repeat_subjects(data, start, end)),
        escalation: EscalationFigures {
            cases: p.one(raw.escalated),
            until_opened: p.median_longest(&raw.escalated_until_opened),
        },
        staff,
    }
}

/// How many subjects have more than one alert raised in `[start, end)`, from the report's subject numbers.
fn repeat_subjects(data: &ReportData, start: DateTime<Utc>, end: DateTime<Utc>) -> u64 {
    let mut alerts: std::collections::HashMap<u32, u64> = std::collections::HashMap::new();
    for ((alert, _, _), subject) in data.cases.iter().zip(&data.subjects) {
        let raised = alert.raised_at.with_timezone(&Utc);
        if raised >= start && raised < end {
            *alerts.entry(*subject).or_default() += 1;
        }
    }
    alerts.values().filter(|n| **n > 1).count() as u64
}

fn sum(by: &PerLevel<u64>) -> u64 {
    by.low + by.medium + by.high
}

fn due_level(level: Level) -> DueLevel {
    match level {
        Level::Low => DueLevel::Low,
        Level::Medium => DueLevel::Medium,
        Level::High => DueLevel::High,
    }
}

/// The template's outcomes first, in its order, then any others (from an older template) by id.
fn outcome_order(outcomes: &BTreeMap<String, PerLevel<u64>>) -> Vec<String> {
    let templates = crate::domain::checklist::Templates::embedded();
    let mut ids: Vec<String> =
        templates.outcomes().iter().map(|o| o.id.clone()).filter(|id| outcomes.contains_key(id)).collect();
    for id in outcomes.keys() {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids
}

/// "YYYY-MM" for every month the period touches.
fn months(period: Period) -> Vec<String> {
    let mut out = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(period.from.year(), period.from.month(), 1).unwrap_or(period.from);
    while d <= period.to {
        out.push(month_key(d));
        d = d.checked_add_months(chrono::Months::new(1)).unwrap_or(NaiveDate::MAX);
        if d == NaiveDate::MAX {
            break;
        }
    }
    out
}

fn month_key(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// A category as reports may name it: one of the vendor's known categories
/// ([`crate::domain::alert::KNOWN_CATEGORIES`]), lower-cased. Anything else (a new vendor category, or free
/// text from a bridge that may name a student) is counted under "other" rather than printed.
pub fn category_label(raw: &str) -> String {
    crate::domain::alert::known_category(raw).unwrap_or(OTHER_CATEGORY).to_string()
}

// ---------- exact figures (private) ----------

#[derive(Default)]
struct RecordingRaw {
    cases: u64,
    cpoms: u64,
    tracking: u64,
}

#[derive(Default)]
struct ResponseRaw {
    first_view: Vec<i64>,
    first_contact: Vec<i64>,
    close: Vec<i64>,
    due_eligible: u64,
    within_due: u64,
}

#[derive(Default)]
struct Raw {
    total: u64,
    by_level: PerLevel<u64>,
    by_category: BTreeMap<String, u64>,
    by_month: BTreeMap<String, u64>,
    by_location: [u64; 3],
    in_hours: u64,
    out_of_hours: u64,
    by_delivery: [u64; 4],
    regrades_up: u64,
    regrades_down: u64,
    closed: u64,
    outcomes: BTreeMap<String, PerLevel<u64>>,
    false_positive: u64,
    recording: PerLevel<RecordingRaw>,
    response: PerLevel<ResponseRaw>,
    open: PerLevel<u64>,
    overdue: PerLevel<u64>,
    escalated: u64,
    /// Raise to first view, minutes, of the escalated cases that were opened.
    escalated_until_opened: Vec<i64>,
}

impl Raw {
    /// Exact figures for alerts raised in `[start, end)`, as at `as_of`; open and overdue count every case
    /// raised before `as_of`.
    fn gather(data: &ReportData, start: DateTime<Utc>, end: DateTime<Utc>, as_of: DateTime<Utc>) -> Raw {
        let tz = data.calendar.time_zone();
        let templates = Templates::embedded();
        let mut raw = Raw::default();
        for (alert, _, events) in &data.cases {
            let raised = alert.raised_at.with_timezone(&Utc);
            if raised >= as_of {
                continue;
            }
            let Some(case) = state_at(alert, events, as_of) else { continue };
            let due = due_at(&data.calendar, &data.due, due_level(case.level), raised);
            let status = case.status();
            if status.is_open() {
                *raw.open.get_mut(case.level) += 1;
                if case.is_overdue(due, as_of) {
                    *raw.overdue.get_mut(case.level) += 1;
                }
            }
            if raised < start || raised >= end {
                continue;
            }
            raw.total += 1;
            *raw.by_level.get_mut(case.level) += 1;
            *raw.by_category.entry(category_label(&alert.category)).or_default() += 1;
            *raw.by_month.entry(month_key(raised.with_timezone(&tz).date_naive())).or_default() += 1;
            let site = LOCATIONS.iter().position(|l| *l == alert.location()).unwrap_or(2);
            raw.by_location[site] += 1;
            if data.calendar.is_working_time(raised) {
                raw.in_hours += 1;
            } else {
                raw.out_of_hours += 1;
            }
            let delivery = match alert.delivered_by {
                Some(Delivery::Dashboard) => 0,
                Some(Delivery::Email) => 1,
                Some(Delivery::Phone) => 2,
                // Only a reviewer's typed-in alert says these; the published breakdown keeps its four rows.
                Some(Delivery::InPerson | Delivery::Other) | None => 3,
            };
            raw.by_delivery[delivery] += 1;
            for e in events.iter().filter(|e| e.at <= as_of) {
                if let EventKind::Regraded { from, to, .. } = &e.kind {
                    if to > from {
                        raw.regrades_up += 1;
                    } else {
                        raw.regrades_down += 1;
                    }
                }
            }
            let minutes = |t: DateTime<Utc>| (t - raised).num_minutes().max(0);
            if case.escalations > 0 {
                raw.escalated += 1;
                raw.escalated_until_opened.extend(case.first_viewed.map(minutes));
            }
            if case.withdrawn.is_some() {
                continue;
            }
            if let Some((closed_at, outcome)) = &case.closed {
                raw.closed += 1;
                *raw.outcomes.entry(outcome.clone()).or_default().get_mut(case.level) += 1;
                raw.false_positive += u64::from(outcome == FALSE_POSITIVE);
                raw.response.get_mut(case.level).close.push(minutes(*closed_at));
            }
            if case.level != Level::Low {
                let r = raw.recording.get_mut(case.level);
                r.cases += 1;
                // Either level's item counts, since done items survive a regrade.
                let done = |role| case.done.keys().any(|id| templates.has_role(id, role));
                r.cpoms += u64::from(done(ItemRole::Cpoms));
                r.tracking += u64::from(done(ItemRole::TrackingNote));
            }
            let r = raw.response.get_mut(case.level);
            if let Some(viewed) = case.first_viewed {
                r.first_view.push(minutes(viewed));
            }
            if case.level == Level::High
                && let Some(state) =
                    case.done.iter().find(|(id, _)| templates.has_role(id, ItemRole::ContactTime)).map(|(_, s)| s)
            {
                r.first_contact.push(minutes(contact_time(raised, state, tz)));
            }
            let closed_at = case.closed.as_ref().map(|(t, _)| *t);
            if closed_at.is_some() || due <= as_of {
                r.due_eligible += 1;
                r.within_due += u64::from(closed_at.is_some_and(|t| t <= due));
            }
        }
        raw
    }
}

/// The case as its log stood at `as_of`: the raise, and every event up to and including that instant.
pub fn state_at(alert: &Alert, events: &[CaseEvent], as_of: DateTime<Utc>) -> Option<Case> {
    let upto: Vec<CaseEvent> =
        events.iter().filter(|e| matches!(e.kind, EventKind::Raised { .. }) || e.at <= as_of).cloned().collect();
    Case::fold(alert.key.clone(), &upto)
}

/// When contact was made on a High alert: the latest local occurrence of the recorded HH:MM at or before the
/// moment the item was ticked, if that is not before the raise; otherwise the moment it was ticked.
pub fn contact_time(raised: DateTime<Utc>, state: &ItemState, tz: Tz) -> DateTime<Utc> {
    let ticked = state.at;
    let Some(time) = state.value.as_deref().and_then(parse_hhmm) else { return ticked };
    let raised_day = raised.with_timezone(&tz).date_naive();
    let mut day = ticked.with_timezone(&tz).date_naive();
    // A contact recorded more than a year after the raise is a typing error; fall back to the tick.
    for _ in 0..400 {
        if day < raised_day {
            break;
        }
        if let Some(t) = tz.from_local_datetime(&day.and_time(time)).earliest() {
            let t = t.with_timezone(&Utc);
            if t <= ticked {
                return if t >= raised { t } else { ticked };
            }
        }
        let Some(prev) = day.checked_sub_days(Days::new(1)) else { break };
        day = prev;
    }
    ticked
}

fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M").or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S")).ok()
}

/// Median (mean of the middle two, rounded half up) and 90th percentile (nearest rank) of whole minutes.
pub fn median_p90(values: &[i64]) -> Option<(i64, i64)> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2] + 1).div_euclid(2) };
    let rank = (9 * n).div_ceil(10).max(1);
    Some((median, v[rank - 1]))
}

// ---------- protection ----------

struct Protect {
    min: u64,
}

impl Protect {
    fn one(&self, n: u64) -> Count {
        if n > 0 && n < self.min { Count::FewerThan(self.min) } else { Count::Exact(n) }
    }

    fn share(&self, num: u64, den: u64) -> Share {
        let small = |n: u64| n > 0 && n < self.min;
        if den == 0 {
            Share::NoData
        } else if den < self.min || small(num) || small(den.saturating_sub(num)) {
            Share::Suppressed
        } else {
            Share::Shown(num as f64 / den as f64)
        }
    }

    fn minutes(&self, values: &[i64]) -> Minutes {
        match median_p90(values) {
            None => Minutes::NoData,
            Some(_) if (values.len() as u64) < self.min => Minutes::Suppressed,
            Some((median, p90)) => Minutes::Shown { median, p90 },
        }
    }

    fn median_longest(&self, values: &[i64]) -> MedianLongest {
        match (median_p90(values), values.iter().max()) {
            (Some((median, _)), Some(&longest)) if values.len() as u64 >= self.min => {
                MedianLongest::Shown { median, longest }
            }
            (Some(_), _) => MedianLongest::Suppressed,
            _ => MedianLongest::NoData,
        }
    }

    /// Cells that add up to a published total.
    fn breakdown(&self, cells: &[u64]) -> Vec<Count> {
        self.groups(cells, &[(0..cells.len()).collect()])
    }

    fn per_level(&self, by: &PerLevel<u64>) -> PerLevel<Count> {
        let c = self.breakdown(&[by.high, by.medium, by.low]);
        PerLevel { high: c[0], medium: c[1], low: c[2] }
    }

    /// Primary suppression, then complementary suppression until no group has exactly one hidden cell.
    fn groups(&self, cells: &[u64], groups: &[Vec<usize>]) -> Vec<Count> {
        let mut out: Vec<Count> = cells.iter().map(|&n| self.one(n)).collect();
        let hidden = |c: &Count| !matches!(c, Count::Exact(_));
        loop {
            let mut changed = false;
            for group in groups {
                if group.iter().filter(|&&i| hidden(&out[i])).count() != 1 {
                    continue;
                }
                let next =
                    group.iter().copied().filter(|&i| cells[i] > 0 && !hidden(&out[i])).min_by_key(|&i| (cells[i], i));
                if let Some(i) = next {
                    out[i] = Count::Withheld;
                    changed = true;
                }
            }
            if !changed {
                return out;
            }
        }
    }

    /// Named categories of at least the minimum, most first, then "other" with the rest (see the module docs).
    fn categories(&self, raw: &BTreeMap<String, u64>) -> Vec<(String, Count)> {
        let mut other = raw.get(OTHER_CATEGORY).copied().unwrap_or(0);
        let mut named: Vec<(String, u64)> =
            raw.iter().filter(|(k, _)| k.as_str() != OTHER_CATEGORY).map(|(k, v)| (k.clone(), *v)).collect();
        named.retain(|(_, n)| {
            if *n < self.min {
                other += n;
                false
            } else {
                true
            }
        });
        // Most first; among equals, by name. The smallest is last.
        named.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        while other > 0 && other < self.min {
            match named.pop() {
                Some((_, n)) => other += n,
                None => break,
            }
        }
        let mut cells: Vec<u64> = named.iter().map(|(_, n)| *n).collect();
        if other > 0 {
            cells.push(other);
        }
        let counts = self.breakdown(&cells);
        named.into_iter().map(|(k, _)| k).chain((other > 0).then(|| OTHER_CATEGORY.to_string())).zip(counts).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alert::tests_support::sample_alert;
    use crate::domain::calendar::WorkingCalendar;
    use crate::domain::{AlertKey, Delivery};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("fixed literal").with_timezone(&Utc)
    }

    fn p(min: u64) -> Protect {
        Protect { min }
    }

    fn ev(at: &str, kind: EventKind) -> CaseEvent {
        CaseEvent::new(utc(at), "", kind)
    }

    fn raised(at: &str, level: Level) -> CaseEvent {
        ev(at, EventKind::Raised { revision: 1, level, illegal_path: false, template_version: 1 })
    }

    /// A student case raised at `at` with the given extra events.
    fn case(id: &str, at: &str, level: Level, mut events: Vec<CaseEvent>) -> (Alert, Case, Vec<CaseEvent>) {
        let mut alert = sample_alert(id);
        alert.raised_at = DateTime::parse_from_rfc3339(at).expect("fixed literal");
        events.insert(0, raised(at, level));
        let folded = Case::fold(AlertKey::new("smoothwall-monitor", id), &events).expect("raised");
        (alert, folded, events)
    }

    fn data(cases: Vec<(Alert, Case, Vec<CaseEvent>)>) -> ReportData {
        let subjects = (0..cases.len() as u32).collect();
        ReportData {
            cases,
            subjects,
            staff: None,
            calendar: WorkingCalendar::london_default(),
            due: DuePolicy::default(),
        }
    }

    fn november() -> Period {
        Period::new(
            NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
            NaiveDate::from_ymd_opt(2026, 11, 30).expect("date"),
        )
        .expect("valid")
    }

    fn opts(min: u64) -> Options {
        Options { min_group: min, now: utc("2026-12-15T12:00:00Z") }
    }

    #[test]
    fn small_counts_are_fewer_than_the_minimum_and_zero_is_shown() {
        let p = p(5);
        assert_eq!(p.one(0), Count::Exact(0));
        assert_eq!(p.one(1), Count::FewerThan(5));
        assert_eq!(p.one(4), Count::FewerThan(5));
        assert_eq!(p.one(5), Count::Exact(5));
        let p3 = Protect { min: 3 };
        assert_eq!(p3.one(2), Count::FewerThan(3));
        assert_eq!(p3.one(3), Count::Exact(3));
    }

    #[test]
    fn one_hidden_cell_in_a_breakdown_hides_the_next_smallest_too() {
        let p = p(5);
        // 3 + 0 + 30 = 33: with 33 published, a lone "fewer than 5" would be 33 - 30.
        assert_eq!(p.breakdown(&[3, 0, 30]), vec![Count::FewerThan(5), Count::Exact(0), Count::Withheld]);
        // Two hidden cells already protect each other.
        assert_eq!(p.breakdown(&[3, 2, 30]), vec![Count::FewerThan(5), Count::FewerThan(5), Count::Exact(30)]);
        // The smallest other cell is the one withheld.
        assert_eq!(
            p.breakdown(&[2, 12, 9, 40]),
            vec![Count::FewerThan(5), Count::Exact(12), Count::Withheld, Count::Exact(40)]
        );
        assert_eq!(p.breakdown(&[10, 20]), vec![Count::Exact(10), Count::Exact(20)]);
    }

    #[test]
    fn overlapping_groups_are_protected_until_stable() {
        // Cells 0..3 add up to one total, cells 2..4 to another: hiding 0 withholds 2 (smallest other in the
        // first group), which leaves 2 alone in the second group, so 3 goes too.
        let out = p(5).groups(&[4, 50, 6, 7], &[vec![0, 1, 2], vec![2, 3]]);
        assert_eq!(out, vec![Count::FewerThan(5), Count::Exact(50), Count::Withheld, Count::Withheld]);
    }

    #[test]
    fn shares_that_would_reveal_a_small_count_are_suppressed() {
        let p = p(5);
        assert_eq!(p.share(0, 0), Share::NoData);
        assert_eq!(p.share(3, 4), Share::Suppressed, "denominator below the minimum");
        assert_eq!(p.share(0, 4), Share::Suppressed, "none of 4 still reveals 4");
        assert_eq!(p.share(2, 40), Share::Suppressed, "numerator small");
        assert_eq!(p.share(38, 40), Share::Suppressed, "the rest (2) small");
        assert_eq!(p.share(40, 40), Share::Shown(1.0));
        assert_eq!(p.share(0, 40), Share::Shown(0.0));
        assert_eq!(p.share(10, 40), Share::Shown(0.25));
    }

    #[test]
    fn categories_below_the_minimum_are_not_named() {
        let raw: BTreeMap<String, u64> =
            [("bullying", 9), ("violence", 6), ("grooming", 1), ("terrorism", 2), ("oversharer", 5)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        // grooming + terrorism = 3 < 5, so the smallest named (oversharer, 5) joins them: other = 8.
        assert_eq!(
            p(5).categories(&raw),
            vec![
                ("bullying".to_string(), Count::Exact(9)),
                ("violence".to_string(), Count::Exact(6)),
                ("other".to_string(), Count::Exact(8)),
            ]
        );
        // Too few alerts overall: everything ends up in "other", which is itself small.
        let tiny: BTreeMap<String, u64> = [("bullying".to_string(), 2), ("violence".to_string(), 1)].into();
        assert_eq!(p(5).categories(&tiny), vec![("other".to_string(), Count::FewerThan(5))]);
        assert_eq!(category_label("Bullying"), "bullying");
        assert_eq!(category_label(" Self-Harm "), "self-harm");
        assert_eq!(category_label("self harm: Jo Bloggs said \"...\""), OTHER_CATEGORY);
        assert_eq!(category_label("self-harm john smith 12b 4471"), OTHER_CATEGORY, "short and plain, but unknown");
        assert_eq!(category_label(&"x".repeat(41)), OTHER_CATEGORY);
    }

    #[test]
    fn median_and_p90_use_the_documented_rules() {
        assert_eq!(median_p90(&[]), None);
        assert_eq!(median_p90(&[7]), Some((7, 7)));
        assert_eq!(median_p90(&[1, 2]), Some((2, 2)), "1.5 rounds half up; rank ceil(1.8) = 2");
        assert_eq!(median_p90(&[10, 1, 4, 3, 2]), Some((3, 10)));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(median_p90(&ten), Some((6, 9)), "median 5.5 -> 6; rank 9");
    }

    fn done(at: &str, value: Option<&str>) -> ItemState {
        ItemState { value: value.map(str::to_string), note: None, at: utc(at), actor: String::new() }
    }

    #[test]
    fn contact_time_reads_the_recorded_time_without_going_before_the_raise() {
        let tz = chrono_tz::Europe::London;
        let raised = utc("2026-11-10T10:00:00Z");
        // Recorded 10:12, ticked 10:40 the same day.
        assert_eq!(contact_time(raised, &done("2026-11-10T10:40:00Z", Some("10:12")), tz), utc("2026-11-10T10:12:00Z"));
        // Raised 22:00, contact 08:45 next morning, ticked 09:30.
        let late = utc("2026-11-10T22:00:00Z");
        assert_eq!(contact_time(late, &done("2026-11-11T09:30:00Z", Some("8:45")), tz), utc("2026-11-11T08:45:00Z"));
        // A time after the tick would be yesterday's, before the raise: the tick is used.
        assert_eq!(contact_time(raised, &done("2026-11-10T10:05:00Z", Some("10:12")), tz), utc("2026-11-10T10:05:00Z"));
        // Not a time.
        assert_eq!(contact_time(raised, &done("2026-11-10T10:30:00Z", Some("soon")), tz), utc("2026-11-10T10:30:00Z"));
        // Local time in summer: 10:12 BST is 09:12 UTC.
        let summer = utc("2026-06-10T09:00:00Z");
        assert_eq!(contact_time(summer, &done("2026-06-10T09:40:00Z", Some("10:12")), tz), utc("2026-06-10T09:12:00Z"));
    }

    #[test]
    fn figures_are_as_at_the_end_of_the_period() {
        // Raised in November, closed in December: open (and overdue) at the end of November.
        let c = case(
            "a1",
            "2026-11-10T10:00:00Z",
            Level::Low,
            vec![
                ev("2026-11-10T10:05:00Z", EventKind::Viewed),
                ev("2026-12-02T10:00:00Z", EventKind::Closed { outcome: FALSE_POSITIVE.into() }),
            ],
        );
        let f = compute(&data(vec![c]), november(), &opts(1));
        assert_eq!(f.as_of, utc("2026-12-01T00:00:00Z"));
        assert_eq!(f.total, Count::Exact(1));
        assert_eq!(f.closed, Count::Exact(0));
        assert_eq!(f.open_at_end, Count::Exact(1));
        assert_eq!(f.overdue_at_end, Count::Exact(1), "Low is due at the close of the fifth working day");
        assert_eq!(f.response.low.first_view, Minutes::Shown { median: 5, p90: 5 });
        assert_eq!(f.response.low.close, Minutes::NoData);
        assert_eq!(f.response.low.within_due, Share::Shown(0.0));
    }

    #[test]
    fn a_period_that_has_not_ended_is_as_at_now() {
        let c = case("a1", "2026-12-14T10:00:00Z", Level::High, vec![]);
        let period = Period::new(
            NaiveDate::from_ymd_opt(2026, 12, 1).expect("d"),
            NaiveDate::from_ymd_opt(2026, 12, 31).expect("d"),
        )
        .expect("valid");
        let f = compute(&data(vec![c]), period, &opts(1));
        assert_eq!(f.as_of, utc("2026-12-15T12:00:00Z"));
        assert_eq!(f.open_by_level.high, Count::Exact(1));
        assert_eq!(f.overdue_by_level.high, Count::Exact(1));
    }

    #[test]
    fn regrades_levels_outcomes_and_recording() {
        let t = |s: &str| format!("2026-11-{s}Z");
        let item = |at: &str, id: &str, value: Option<&str>| {
            ev(at, EventKind::ItemDone { item: id.into(), value: value.map(str::to_string), note: None })
        };
        let cases = vec![
            // Low regraded up to High; contact recorded 10:20; closed the next day.
            case(
                "h1",
                &t("02T10:00:00"),
                Level::Low,
                vec![
                    ev(&t("02T10:01:00"), EventKind::Viewed),
                    ev(
                        &t("02T10:02:00"),
                        EventKind::Regraded { from: Level::Low, to: Level::High, reason: String::new() },
                    ),
                    item(&t("02T10:30:00"), "high-contact-time", Some("10:20")),
                    item(&t("02T10:31:00"), "high-cpoms", Some("x")),
                    ev(&t("03T10:00:00"), EventKind::Closed { outcome: "safeguarding-plan".into() }),
                ],
            ),
            // Medium regraded down to Low, closed as a false positive the same morning.
            case(
                "m1",
                &t("04T09:00:00"),
                Level::Medium,
                vec![
                    ev(
                        &t("04T09:10:00"),
                        EventKind::Regraded { from: Level::Medium, to: Level::Low, reason: String::new() },
                    ),
                    ev(&t("04T09:20:00"), EventKind::Closed { outcome: FALSE_POSITIVE.into() }),
                ],
            ),
            // Medium, open, tracking note done; raised on a Saturday (out of hours); phoned in.
            case("m2", &t("07T11:00:00"), Level::Medium, vec![item(&t("09T09:00:00"), "medium-tracking-note", None)]),
        ];
        let mut d = data(cases);
        d.cases[2].0.delivered_by = Some(Delivery::Phone);
        d.cases[2].0.category = "Bullying".into();
        let f = compute(&d, november(), &opts(1));
        assert_eq!(f.by_level, PerLevel { low: Count::Exact(1), medium: Count::Exact(1), high: Count::Exact(1) });
        assert_eq!((f.regrades_up, f.regrades_down), (Count::Exact(1), Count::Exact(1)));
        assert_eq!(f.closed, Count::Exact(2));
        assert_eq!(f.false_positive_share, Share::Shown(0.5));
        let outcome = |id: &str| f.outcomes.iter().find(|(o, _)| o == id).map(|(_, c)| *c).expect(id);
        assert_eq!(outcome(FALSE_POSITIVE).low, Count::Exact(1));
        assert_eq!(outcome("safeguarding-plan").high, Count::Exact(1));
        assert_eq!(f.recording_high, Recording { cpoms: Share::Shown(1.0), tracking_note: Share::Shown(0.0) });
        assert_eq!(f.recording_medium, Recording { cpoms: Share::Shown(0.0), tracking_note: Share::Shown(1.0) });
        assert_eq!(f.response.high.first_contact, Some(Minutes::Shown { median: 20, p90: 20 }));
        assert_eq!(f.response.high.close, Minutes::Shown { median: 24 * 60, p90: 24 * 60 });
        assert_eq!(f.response.low.first_contact, None);
        assert_eq!((f.in_hours, f.out_of_hours), (Count::Exact(2), Count::Exact(1)));
        assert_eq!(f.by_delivery[2], ("phone", Count::Exact(1)));
        assert_eq!(f.by_delivery[3], ("not-stated", Count::Exact(2)));
        assert!(f.by_category.contains(&("bullying".to_string(), Count::Exact(1))));
        // With the default minimum the same data shows almost nothing exactly.
        let g = compute(&d, november(), &opts(5));
        assert_eq!(g.total, Count::FewerThan(5));
        assert_eq!(g.false_positive_share, Share::Suppressed);
        assert_eq!(g.response.high.first_contact, Some(Minutes::Suppressed));
        assert_eq!(g.by_category, vec![("other".to_string(), Count::FewerThan(5))]);
    }

    #[test]
    fn the_previous_period_and_staff_counts() {
        let cases = vec![
            case("a", "2026-10-20T10:00:00Z", Level::Low, vec![]),
            case("b", "2026-10-21T10:00:00Z", Level::Low, vec![]),
            case("c", "2026-11-20T10:00:00Z", Level::High, vec![]),
        ];
        let mut d = data(cases);
        d.staff = Some(vec![(utc("2026-11-05T10:00:00Z"), Level::Medium)]);
        let f = compute(&d, november(), &opts(1));
        assert_eq!(
            f.previous,
            Period::new(
                NaiveDate::from_ymd_opt(2026, 10, 2).expect("d"),
                NaiveDate::from_ymd_opt(2026, 10, 31).expect("d")
            )
            .expect("v")
        );
        assert_eq!(f.previous_total, Count::Exact(2));
        assert_eq!(f.previous_by_level.low, Count::Exact(2));
        let staff = f.staff.expect("asked for");
        assert_eq!(staff.total, Count::Exact(1));
        assert_eq!(staff.by_level.medium, Count::Exact(1));
        assert_eq!(staff.previous_total, Count::Exact(0));
        assert_eq!(f.total, Count::Exact(1), "staff alerts are not in the student figures");
    }
}
