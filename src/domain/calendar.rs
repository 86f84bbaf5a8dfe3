//! Working time and due times for alerts.
//!
//! The college procedure says: "Smoothwall alerts will be responded to during normal working hours.
//! Therefore, were an alert to be received after 5pm, it is likely it will not be picked up until 8.30am
//! on the next working day." This module turns that rule into arithmetic: an alert raised outside
//! working time is *out of hours* and its *pickup* is the next opening; its due time is counted from
//! the pickup in working minutes (High) or working days (Medium, Low).
//!
//! Due times are derived, never stored: they are a pure function of the raise time, the level, the
//! [`DuePolicy`] and the [`WorkingCalendar`]. A corrected holiday list or a changed policy therefore
//! re-dates every open alert at once, and nothing on disk can disagree with the rules.
//!
//! All instants in and out are `DateTime<Utc>`; all calendar arithmetic happens in the local time of
//! the configured IANA zone (so a DST change moves the UTC instant of 08:30, not the wall clock). The
//! module never reads the clock: time is always passed in.
//!
//! Resolving a local time that is not a single instant (DST changes): a local time that occurs twice
//! (clocks go back) means its *earlier* instant; a local time that does not exist (clocks go forward)
//! means the earliest valid instant after the gap. A working day whose hours vanish entirely into a gap
//! is not a working day.
//!
//! Every search is bounded by [`SEARCH_LIMIT_DAYS`]. A calendar with no working day in reach (say a
//! ten-year holiday) does not loop or panic: each method documents its fallback, which is always "as if
//! the calendar were open": the raise time plus the nominal duration.

use std::cmp::{max, min};

use chrono::{DateTime, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;

/// How many days ahead any search looks for working time before giving up (about ten years).
pub const SEARCH_LIMIT_DAYS: u32 = 3700;

/// How far past a non-existent local time (a DST gap) we look for the first valid one. Real gaps are
/// an hour or two; a whole skipped day (Samoa, 2011) is 24 hours.
const GAP_PROBE_MINUTES: i64 = 48 * 60;

const DEFAULT_OPEN: NaiveTime = match NaiveTime::from_hms_opt(8, 30, 0) {
    Some(t) => t,
    None => panic!("08:30 is a valid time"),
};
const DEFAULT_CLOSE: NaiveTime = match NaiveTime::from_hms_opt(17, 0, 0) {
    Some(t) => t,
    None => panic!("17:00 is a valid time"),
};
/// Monday to Friday, indexed by `Weekday::num_days_from_monday`.
const DEFAULT_WORKING_DAYS: [bool; 7] = [true, true, true, true, true, false, false];

/// The working calendar as written in the config file.
///
/// ```toml
/// time_zone = "Europe/London"
/// open = "08:30"
/// close = "17:00"
/// working_days = ["mon", "tue", "wed", "thu", "fri"]
/// holidays = ["2026-12-25", { from = "2026-12-21", to = "2027-01-01", name = "Christmas break" }]
/// ```
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarConfig {
    /// An IANA zone name, e.g. "Europe/London" (case-sensitive).
    pub time_zone: String,
    /// Local opening time, "HH:MM" (or "HH:MM:SS"), 24-hour clock.
    pub open: String,
    /// Local closing time, same format; must be after `open` on the same day ("24:00" is not accepted).
    pub close: String,
    /// "mon".."sun" or "monday".."sunday", any case.
    pub working_days: Vec<String>,
    /// Closed days: single dates and inclusive ranges (holidays, term breaks).
    pub holidays: Vec<Holiday>,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        Self {
            time_zone: "Europe/London".to_string(),
            open: "08:30".to_string(),
            close: "17:00".to_string(),
            working_days: ["mon", "tue", "wed", "thu", "fri"].iter().map(|d| d.to_string()).collect(),
            holidays: Vec::new(),
        }
    }
}

/// A closed day or an inclusive range of closed days.
///
/// In TOML either form may use quoted (`"2026-12-25"`) or bare (`2026-12-25`) dates:
/// `holidays = ["2026-12-25", { from = "2026-12-21", to = "2027-01-01", name = "Christmas break" }]`.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq)]
#[serde(untagged, try_from = "WrittenHoliday")]
pub enum Holiday {
    Day(NaiveDate),
    Range {
        from: NaiveDate,
        to: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
}

/// A holiday as written, its dates not yet read. Read in two steps because `Holiday` has two forms: serde
/// tries each form in turn and reports only that none matched, which would hide which date was bad.
#[derive(serde::Deserialize)]
#[serde(
    untagged,
    deny_unknown_fields,
    expecting = "a holiday: a date such as \"2026-12-25\", or { from = \"2026-12-21\", to = \"2027-01-01\", name = \"Christmas break\" }"
)]
enum WrittenHoliday {
    Day(WrittenDate),
    Range {
        from: WrittenDate,
        to: WrittenDate,
        #[serde(default)]
        name: Option<String>,
    },
}

/// A date as written: quoted (`"2026-12-25"`) or a bare TOML date (`2026-12-25`).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum WrittenDate {
    Text(String),
    Toml(toml::value::Datetime),
}

impl WrittenDate {
    fn read(self) -> Result<NaiveDate, String> {
        let text = match self {
            WrittenDate::Text(text) => text.trim().to_string(),
            // A bare date reads back as itself; a datetime (a time, an offset) does not parse as a day.
            WrittenDate::Toml(dt) => dt.to_string(),
        };
        text.parse::<NaiveDate>()
            .map_err(|_| format!("holidays: bad date {text:?}: expected a date such as 2026-12-25"))
    }
}

impl TryFrom<WrittenHoliday> for Holiday {
    type Error = String;

    fn try_from(written: WrittenHoliday) -> Result<Self, String> {
        Ok(match written {
            WrittenHoliday::Day(day) => Holiday::Day(day.read()?),
            WrittenHoliday::Range { from, to, name } => Holiday::Range { from: from.read()?, to: to.read()?, name },
        })
    }
}

/// How long each level has, counted from the pickup.
#[derive(Debug, Clone, Copy, serde::Deserialize, serde::Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DuePolicy {
    /// High: due this many working minutes after pickup.
    pub high_working_minutes: u32,
    /// Medium: due at the close of the n-th working day after the pickup day (0: the pickup day).
    pub medium_working_days_after: u32,
    /// Low: due at the close of the n-th working day after the pickup day (0: the pickup day).
    pub low_working_days_after: u32,
}

impl Default for DuePolicy {
    fn default() -> Self {
        Self { high_working_minutes: 30, medium_working_days_after: 1, low_working_days_after: 5 }
    }
}

/// A calendar config that cannot be used. Each message starts with the setting at fault and names the bad value.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("time_zone: unknown time zone {0:?}: expected an IANA name such as \"Europe/London\"")]
    UnknownTimeZone(String),
    #[error("{field}: bad time {value:?}: expected HH:MM on the 24-hour clock, e.g. \"08:30\"")]
    BadTime { field: &'static str, value: String },
    #[error("open, close: opening time {open:?} is not before closing time {close:?}")]
    OpenNotBeforeClose { open: String, close: String },
    #[error("working_days: unknown working day {0:?}: expected mon, tue, wed, thu, fri, sat or sun (or the full name)")]
    UnknownWeekday(String),
    #[error("working_days: none configured: at least one of mon..sun is needed")]
    NoWorkingDays,
    #[error("holidays: range {}from {from} to {to} ends before it starts", name_prefix(.name))]
    HolidayRangeReversed { from: NaiveDate, to: NaiveDate, name: Option<String> },
}

fn name_prefix(name: &Option<String>) -> String {
    match name {
        Some(n) => format!("{n:?} "),
        None => String::new(),
    }
}

/// A parsed, validated working calendar. Cheap to clone; build once from config. It crosses the service's
/// socket as the config it came from, validated again on arrival.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "CalendarConfig", into = "CalendarConfig")]
pub struct WorkingCalendar {
    tz: Tz,
    open: NaiveTime,
    close: NaiveTime,
    /// Indexed by `Weekday::num_days_from_monday`.
    working_days: [bool; 7],
    /// Inclusive ranges, sorted by start, merged so that none overlap or touch.
    holidays: Vec<(NaiveDate, NaiveDate)>,
}

impl TryFrom<CalendarConfig> for WorkingCalendar {
    type Error = CalendarError;
    fn try_from(cfg: CalendarConfig) -> Result<Self, CalendarError> {
        WorkingCalendar::new(&cfg)
    }
}

impl From<WorkingCalendar> for CalendarConfig {
    fn from(c: WorkingCalendar) -> CalendarConfig {
        c.to_config()
    }
}

impl Default for WorkingCalendar {
    fn default() -> Self {
        Self::london_default()
    }
}

impl WorkingCalendar {
    /// Validates and parses a config.
    pub fn new(cfg: &CalendarConfig) -> Result<Self, CalendarError> {
        let tz: Tz = cfg.time_zone.trim().parse().map_err(|_| CalendarError::UnknownTimeZone(cfg.time_zone.clone()))?;
        let open = parse_time("open", &cfg.open)?;
        let close = parse_time("close", &cfg.close)?;
        if open >= close {
            return Err(CalendarError::OpenNotBeforeClose { open: cfg.open.clone(), close: cfg.close.clone() });
        }
        let mut working_days = [false; 7];
        for name in &cfg.working_days {
            let day = parse_weekday(name).ok_or_else(|| CalendarError::UnknownWeekday(name.clone()))?;
            working_days[day.num_days_from_monday() as usize] = true;
        }
        if !working_days.iter().any(|&w| w) {
            return Err(CalendarError::NoWorkingDays);
        }
        let mut ranges = Vec::with_capacity(cfg.holidays.len());
        for h in &cfg.holidays {
            match h {
                Holiday::Day(d) => ranges.push((*d, *d)),
                Holiday::Range { from, to, name } => {
                    if from > to {
                        return Err(CalendarError::HolidayRangeReversed { from: *from, to: *to, name: name.clone() });
                    }
                    ranges.push((*from, *to));
                }
            }
        }
        Ok(Self { tz, open, close, working_days, holidays: merge_ranges(ranges) })
    }

    /// The config this calendar reads back as: `WorkingCalendar::new(&c.to_config())` is `c`.
    pub fn to_config(&self) -> CalendarConfig {
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let hhmm = |t: NaiveTime| t.format("%H:%M:%S").to_string();
        CalendarConfig {
            time_zone: self.tz.name().to_string(),
            open: hhmm(self.open),
            close: hhmm(self.close),
            working_days: DAYS.iter().zip(self.working_days).filter(|(_, w)| *w).map(|(d, _)| d.to_string()).collect(),
            holidays: self.holidays.iter().map(|&(from, to)| Holiday::Range { from, to, name: None }).collect(),
        }
    }

    /// Europe/London, Monday to Friday 08:30-17:00, no holidays: the same as
    /// `WorkingCalendar::new(&CalendarConfig::default())`, without a `Result`.
    pub fn london_default() -> Self {
        Self {
            tz: chrono_tz::Europe::London,
            open: DEFAULT_OPEN,
            close: DEFAULT_CLOSE,
            working_days: DEFAULT_WORKING_DAYS,
            holidays: Vec::new(),
        }
    }

    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The local opening time.
    pub fn open_time(&self) -> NaiveTime {
        self.open
    }

    /// The local closing time.
    pub fn close_time(&self) -> NaiveTime {
        self.close
    }

    /// Whether `date` falls in a configured holiday or term break.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        let i = self.holidays.partition_point(|(from, _)| *from <= date);
        i > 0 && self.holidays[i - 1].1 >= date
    }

    /// A configured working weekday, not a holiday, and with some working time left after DST
    /// resolution (only a zone that skips the whole of the working hours can make that false).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.working_hours(date).is_some()
    }

    /// The working interval `[open, close)` of `date` as UTC instants, or `None` if `date` is not a
    /// working day.
    pub fn working_hours(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.working_days[date.weekday_index()] || self.is_holiday(date) {
            return None;
        }
        let open = self.resolve_local(date, self.open)?;
        let close = self.resolve_local(date, self.close)?;
        (open < close).then_some((open, close))
    }

    /// Whether `t` is inside `[open, close)` of a working day: 08:30 exactly is in, 17:00 exactly is out.
    pub fn is_working_time(&self, t: DateTime<Utc>) -> bool {
        let d = self.local_date(t);
        // A day's interval lies on its own local date except around exotic DST changes; look either side.
        (-2..=1).any(|k| {
            d.checked_add_signed(TimeDelta::days(k))
                .and_then(|day| self.working_hours(day))
                .is_some_and(|(o, c)| o <= t && t < c)
        })
    }

    /// When an alert raised at `raised` is picked up: `raised` itself if it is in working time,
    /// otherwise the next opening. (Fallback: `raised` if no working day is in reach.)
    pub fn pickup(&self, raised: DateTime<Utc>) -> DateTime<Utc> {
        if self.is_working_time(raised) { raised } else { self.next_opening(raised) }
    }

    /// The first opening at or after `t`. For `t` outside working time this is when work resumes; for
    /// `t` inside working time it is the *next* day's opening (use [`Self::pickup`] for "now or next").
    /// Fallback: `t` itself if no working day is within [`SEARCH_LIMIT_DAYS`].
    pub fn next_opening(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        days_from(self.local_date(t), -2, SEARCH_LIMIT_DAYS + 3)
            .find_map(|day| self.working_hours(day).map(|(open, _)| open).filter(|open| *open >= t))
            .unwrap_or(t)
    }

    /// The instant `minutes` working minutes after `from`. Counting starts at `from` if it is in
    /// working time, else at the next opening. A result that uses up a day exactly is that day's close
    /// (e.g. 16:30 + 30 is 17:00, not 08:30 next day). `minutes == 0` returns `from` unchanged.
    /// Fallback: `from + minutes` (wall-clock) if the minutes cannot be placed within
    /// [`SEARCH_LIMIT_DAYS`].
    pub fn add_working_minutes(&self, from: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
        if minutes == 0 {
            return from;
        }
        let mut remaining = TimeDelta::minutes(i64::from(minutes));
        let mut cursor = from;
        for day in days_from(self.local_date(from), -2, SEARCH_LIMIT_DAYS + 3) {
            let Some((open, close)) = self.working_hours(day) else {
                continue;
            };
            if close <= cursor {
                continue;
            }
            let start = max(open, cursor);
            let available = close - start;
            if remaining <= available {
                return start + remaining;
            }
            remaining -= available;
            cursor = close;
        }
        nominal(from, TimeDelta::minutes(i64::from(minutes)))
    }

    /// The close of the n-th working day after `t`'s local date; `n == 0` is `t`'s own day's close
    /// (even if `t` is after it), or, if `t`'s day is not a working day, the next working day's close.
    /// Fallback: `t + n days` (wall-clock) if that day is not within [`SEARCH_LIMIT_DAYS`].
    pub fn close_of_working_day_after(&self, t: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let date = self.local_date(t);
        if n == 0
            && let Some((_, close)) = self.working_hours(date)
        {
            return close;
        }
        let target = n.max(1);
        let mut seen = 0;
        for day in days_from(date, 1, SEARCH_LIMIT_DAYS) {
            if let Some((_, close)) = self.working_hours(day) {
                seen += 1;
                if seen == target {
                    return close;
                }
            }
        }
        nominal(t, TimeDelta::days(i64::from(n)))
    }

    /// Working minutes in `[a, b)`, rounded down to whole minutes; 0 if `b <= a`. For response-time
    /// reports. Only the first [`SEARCH_LIMIT_DAYS`] days after `a` are counted.
    pub fn working_minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        if b <= a {
            return 0;
        }
        let last = self.local_date(b);
        let mut total = TimeDelta::zero();
        for day in days_from(self.local_date(a), -2, SEARCH_LIMIT_DAYS + 3) {
            if day > last.checked_add_signed(TimeDelta::days(1)).unwrap_or(last) {
                break;
            }
            if let Some((open, close)) = self.working_hours(day) {
                let start = max(open, a);
                let end = min(close, b);
                if end > start {
                    total += end - start;
                }
            }
        }
        total.num_minutes()
    }

    /// `t`'s local date. (Not `t.with_timezone(..).date_naive()`: that panics at the ends of chrono's
    /// range, where this falls back to the UTC date.)
    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        let naive = t.naive_utc();
        let offset = self.tz.offset_from_utc_datetime(&naive).fix().local_minus_utc();
        naive.checked_add_signed(TimeDelta::seconds(i64::from(offset))).unwrap_or(naive).date()
    }

    /// The UTC instant of a local date and time: the earlier one if it occurs twice, the earliest valid
    /// instant after the gap if it does not occur at all.
    fn resolve_local(&self, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
        let local = date.and_time(time);
        if let Some(t) = self.tz.from_local_datetime(&local).earliest() {
            return Some(t.with_timezone(&Utc));
        }
        (1..=GAP_PROBE_MINUTES).find_map(|k| {
            let probe = local.checked_add_signed(TimeDelta::minutes(k))?;
            // Land on the whole minute so e.g. 02:30 in a 02:00-03:00 gap resolves to 03:00 exactly.
            let probe = probe.with_second(0)?.with_nanosecond(0)?;
            self.tz.from_local_datetime(&probe).earliest().map(|t| t.with_timezone(&Utc))
        })
    }
}

trait WeekdayIndex {
    fn weekday_index(&self) -> usize;
}

impl WeekdayIndex for NaiveDate {
    fn weekday_index(&self) -> usize {
        chrono::Datelike::weekday(self).num_days_from_monday() as usize
    }
}

/// `count` consecutive dates starting `offset` days from `date` (stopping early at the end of chrono's
/// range).
fn days_from(date: NaiveDate, offset: i64, count: u32) -> impl Iterator<Item = NaiveDate> {
    let start = date.checked_add_signed(TimeDelta::days(offset)).unwrap_or(date);
    start.iter_days().take(count as usize)
}

fn nominal(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn parse_time(field: &'static str, value: &str) -> Result<NaiveTime, CalendarError> {
    let v = value.trim();
    NaiveTime::parse_from_str(v, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(v, "%H:%M:%S"))
        .ok()
        // chrono accepts a leap second ("23:59:60"); a working day does not.
        .filter(|t| t.nanosecond() < 1_000_000_000)
        .ok_or_else(|| CalendarError::BadTime { field, value: value.to_string() })
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    match s.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Some(Weekday::Mon),
        "tue" | "tues" | "tuesday" => Some(Weekday::Tue),
        "wed" | "weds" | "wednesday" => Some(Weekday::Wed),
        "thu" | "thur" | "thurs" | "thursday" => Some(Weekday::Thu),
        "fri" | "friday" => Some(Weekday::Fri),
        "sat" | "saturday" => Some(Weekday::Sat),
        "sun" | "sunday" => Some(Weekday::Sun),
        _ => None,
    }
}

/// Sorts inclusive ranges and merges those that overlap or touch.
fn merge_ranges(mut ranges: Vec<(NaiveDate, NaiveDate)>) -> Vec<(NaiveDate, NaiveDate)> {
    ranges.sort();
    let mut merged: Vec<(NaiveDate, NaiveDate)> = Vec::with_capacity(ranges.len());
    for (from, to) in ranges {
        if let Some(last) = merged.last_mut()
            && (last.1 >= from || last.1.succ_opt() == Some(from))
        {
            last.1 = max(last.1, to);
            continue;
        }
        merged.push((from, to));
    }
    merged
}

/// Which due-time rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueLevel {
    Low,
    Medium,
    High,
}

/// Everything the queue shows about an alert's timing, derived from its raise time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub raised: DateTime<Utc>,
    /// `raised` if it was in working time, else the next opening.
    pub pickup: DateTime<Utc>,
    pub due: DateTime<Utc>,
    /// Raised outside working time.
    pub out_of_hours: bool,
}

/// Pickup, due time and the out-of-hours flag for an alert.
pub fn deadline(cal: &WorkingCalendar, policy: &DuePolicy, level: DueLevel, raised: DateTime<Utc>) -> Deadline {
    let out_of_hours = !cal.is_working_time(raised);
    let pickup = if out_of_hours { cal.next_opening(raised) } else { raised };
    let due = match level {
        DueLevel::High => cal.add_working_minutes(pickup, policy.high_working_minutes),
        DueLevel::Medium => cal.close_of_working_day_after(pickup, policy.medium_working_days_after),
        DueLevel::Low => cal.close_of_working_day_after(pickup, policy.low_working_days_after),
    };
    Deadline { raised, pickup, due, out_of_hours }
}

/// When an alert raised at `raised` is due:
/// - High: pickup + `high_working_minutes` working minutes;
/// - Medium: close of the `medium_working_days_after`-th working day after the pickup day;
/// - Low: close of the `low_working_days_after`-th working day after the pickup day.
///
/// Fallback when no working day is in reach: raise time + the nominal duration (minutes or days).
pub fn due_at(cal: &WorkingCalendar, policy: &DuePolicy, level: DueLevel, raised: DateTime<Utc>) -> DateTime<Utc> {
    deadline(cal, policy, level, raised).due
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike};
    use proptest::prelude::*;

    // ---------- helpers ----------

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("valid UTC time")
    }

    /// A London wall-clock time (must be unambiguous) as UTC.
    fn lon(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        chrono_tz::Europe::London
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("unambiguous London time")
            .with_timezone(&Utc)
    }

    fn date(y: i32, mo: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, mo, d).expect("valid date")
    }

    fn cal_with(f: impl FnOnce(&mut CalendarConfig)) -> WorkingCalendar {
        let mut cfg = CalendarConfig::default();
        f(&mut cfg);
        WorkingCalendar::new(&cfg).expect("valid config")
    }

    fn err_with(f: impl FnOnce(&mut CalendarConfig)) -> CalendarError {
        let mut cfg = CalendarConfig::default();
        f(&mut cfg);
        WorkingCalendar::new(&cfg).expect_err("config should be rejected")
    }

    fn due(level: DueLevel, raised: DateTime<Utc>) -> DateTime<Utc> {
        due_at(&WorkingCalendar::london_default(), &DuePolicy::default(), level, raised)
    }

    // 2026-01-12 is a Monday; 2026-01-16 a Friday.
    const MON: u32 = 12;
    const TUE: u32 = 13;
    const WED: u32 = 14;
    const FRI: u32 = 16;
    const SAT: u32 = 17;
    const NEXT_MON: u32 = 19;

    // ---------- working time and pickup ----------

    #[test]
    fn dates_used_in_tests_are_the_weekdays_we_think() {
        assert_eq!(date(2026, 1, MON).weekday(), Weekday::Mon);
        assert_eq!(date(2026, 1, FRI).weekday(), Weekday::Fri);
        assert_eq!(date(2026, 3, 27).weekday(), Weekday::Fri);
        assert_eq!(date(2026, 10, 23).weekday(), Weekday::Fri);
    }

    #[test]
    fn opening_exactly_is_in_hours() {
        let cal = WorkingCalendar::london_default();
        let t = lon(2026, 1, MON, 8, 30);
        assert!(cal.is_working_time(t));
        assert_eq!(cal.pickup(t), t);
    }

    #[test]
    fn one_minute_before_opening_is_picked_up_at_opening_same_day() {
        let cal = WorkingCalendar::london_default();
        let t = lon(2026, 1, MON, 8, 29);
        assert!(!cal.is_working_time(t));
        assert_eq!(cal.pickup(t), lon(2026, 1, MON, 8, 30));
        assert_eq!(cal.next_opening(t), lon(2026, 1, MON, 8, 30));
    }

    #[test]
    fn last_second_before_close_is_in_hours() {
        let cal = WorkingCalendar::london_default();
        let t = lon(2026, 1, MON, 16, 59) + TimeDelta::seconds(59);
        assert!(cal.is_working_time(t));
        assert_eq!(cal.pickup(t), t);
    }

    #[test]
    fn closing_exactly_is_out_of_hours_and_picked_up_next_working_day() {
        let cal = WorkingCalendar::london_default();
        let t = lon(2026, 1, MON, 17, 0);
        assert!(!cal.is_working_time(t));
        assert_eq!(cal.pickup(t), lon(2026, 1, TUE, 8, 30));
        let d = deadline(&cal, &DuePolicy::default(), DueLevel::Low, t);
        assert!(d.out_of_hours);
        assert_eq!(d.pickup, lon(2026, 1, TUE, 8, 30));
    }

    #[test]
    fn friday_evening_is_picked_up_monday_morning() {
        let cal = WorkingCalendar::london_default();
        assert_eq!(cal.pickup(lon(2026, 1, FRI, 18, 0)), lon(2026, 1, NEXT_MON, 8, 30));
        assert_eq!(cal.pickup(lon(2026, 1, SAT, 12, 0)), lon(2026, 1, NEXT_MON, 8, 30));
    }

    #[test]
    fn next_opening_inside_working_time_is_the_next_days() {
        let cal = WorkingCalendar::london_default();
        assert_eq!(cal.next_opening(lon(2026, 1, MON, 10, 0)), lon(2026, 1, TUE, 8, 30));
        assert_eq!(cal.next_opening(lon(2026, 1, MON, 8, 30)), lon(2026, 1, MON, 8, 30));
    }

    #[test]
    fn single_holiday_is_skipped() {
        let cal = cal_with(|c| c.holidays = vec![Holiday::Day(date(2026, 1, TUE))]);
        assert!(cal.is_holiday(date(2026, 1, TUE)));
        assert!(!cal.is_working_day(date(2026, 1, TUE)));
        assert!(cal.is_working_day(date(2026, 1, WED)));
        assert!(!cal.is_working_time(lon(2026, 1, TUE, 10, 0)));
        assert_eq!(cal.pickup(lon(2026, 1, MON, 17, 30)), lon(2026, 1, WED, 8, 30));
        assert_eq!(cal.pickup(lon(2026, 1, TUE, 10, 0)), lon(2026, 1, WED, 8, 30));
        // High raised Monday 16:50 runs 10 minutes Monday, 20 on Wednesday.
        let policy = DuePolicy::default();
        assert_eq!(due_at(&cal, &policy, DueLevel::High, lon(2026, 1, MON, 16, 50)), lon(2026, 1, WED, 8, 50));
        assert_eq!(due_at(&cal, &policy, DueLevel::Medium, lon(2026, 1, MON, 10, 0)), lon(2026, 1, WED, 17, 0));
    }

    #[test]
    fn holiday_range_spanning_a_weekend_is_skipped() {
        // Thursday 15th to Tuesday 20th January 2026 inclusive.
        let cal = cal_with(|c| {
            c.holidays = vec![Holiday::Range {
                from: date(2026, 1, 15),
                to: date(2026, 1, 20),
                name: Some("Staff training".into()),
            }]
        });
        for day in 15..=20 {
            assert!(!cal.is_working_day(date(2026, 1, day)), "2026-01-{day}");
        }
        assert!(cal.is_working_day(date(2026, 1, 14)));
        assert!(cal.is_working_day(date(2026, 1, 21)));
        assert_eq!(cal.pickup(lon(2026, 1, WED, 18, 0)), lon(2026, 1, 21, 8, 30));
        let policy = DuePolicy::default();
        assert_eq!(due_at(&cal, &policy, DueLevel::Medium, lon(2026, 1, WED, 10, 0)), lon(2026, 1, 21, 17, 0));
        assert_eq!(due_at(&cal, &policy, DueLevel::High, lon(2026, 1, WED, 16, 45)), lon(2026, 1, 21, 8, 45));
        assert_eq!(cal.working_minutes_between(lon(2026, 1, WED, 16, 0), lon(2026, 1, 21, 9, 0)), 90);
    }

    #[test]
    fn overlapping_and_touching_holidays_merge() {
        let cal = cal_with(|c| {
            c.holidays = vec![
                Holiday::Range { from: date(2026, 2, 10), to: date(2026, 2, 12), name: None },
                Holiday::Day(date(2026, 2, 13)),
                Holiday::Range { from: date(2026, 2, 11), to: date(2026, 2, 11), name: None },
                Holiday::Day(date(2026, 2, 20)),
            ]
        });
        assert_eq!(cal.holidays, vec![(date(2026, 2, 10), date(2026, 2, 13)), (date(2026, 2, 20), date(2026, 2, 20))]);
        assert!(!cal.is_holiday(date(2026, 2, 9)));
        assert!(cal.is_holiday(date(2026, 2, 13)));
        assert!(!cal.is_holiday(date(2026, 2, 14)));
        assert!(cal.is_holiday(date(2026, 2, 20)));
        assert!(!cal.is_holiday(date(2026, 2, 21)));
    }

    // ---------- due times ----------

    #[test]
    fn high_raised_late_tuesday_is_due_wednesday_morning() {
        assert_eq!(due(DueLevel::High, lon(2026, 1, TUE, 16, 50)), lon(2026, 1, WED, 8, 50));
    }

    #[test]
    fn high_raised_late_friday_is_due_monday_morning() {
        assert_eq!(due(DueLevel::High, lon(2026, 1, FRI, 16, 45)), lon(2026, 1, NEXT_MON, 8, 45));
    }

    #[test]
    fn high_raised_saturday_is_due_monday_nine() {
        assert_eq!(due(DueLevel::High, lon(2026, 1, SAT, 11, 0)), lon(2026, 1, NEXT_MON, 9, 0));
    }

    #[test]
    fn high_that_uses_up_the_day_exactly_is_due_at_close() {
        assert_eq!(due(DueLevel::High, lon(2026, 1, MON, 16, 30)), lon(2026, 1, MON, 17, 0));
    }

    #[test]
    fn medium_raised_monday_is_due_tuesday_close() {
        assert_eq!(due(DueLevel::Medium, lon(2026, 1, MON, 10, 0)), lon(2026, 1, TUE, 17, 0));
    }

    #[test]
    fn low_raised_monday_is_due_next_monday_close() {
        assert_eq!(due(DueLevel::Low, lon(2026, 1, MON, 10, 0)), lon(2026, 1, NEXT_MON, 17, 0));
    }

    #[test]
    fn medium_raised_friday_evening_is_picked_up_monday_and_due_tuesday() {
        let d = deadline(
            &WorkingCalendar::london_default(),
            &DuePolicy::default(),
            DueLevel::Medium,
            lon(2026, 1, FRI, 17, 30),
        );
        assert!(d.out_of_hours);
        assert_eq!(d.pickup, lon(2026, 1, NEXT_MON, 8, 30));
        assert_eq!(d.due, lon(2026, 1, 20, 17, 0));
    }

    #[test]
    fn custom_policy_zero_values() {
        let cal = WorkingCalendar::london_default();
        let policy = DuePolicy { high_working_minutes: 0, medium_working_days_after: 0, low_working_days_after: 2 };
        let sat = lon(2026, 1, SAT, 11, 0);
        assert_eq!(due_at(&cal, &policy, DueLevel::High, sat), lon(2026, 1, NEXT_MON, 8, 30));
        assert_eq!(due_at(&cal, &policy, DueLevel::Medium, sat), lon(2026, 1, NEXT_MON, 17, 0));
        assert_eq!(due_at(&cal, &policy, DueLevel::Low, sat), lon(2026, 1, 21, 17, 0));
    }

    #[test]
    fn close_of_working_day_after_counts_working_days_only() {
        let cal = WorkingCalendar::london_default();
        let fri = lon(2026, 1, FRI, 10, 0);
        assert_eq!(cal.close_of_working_day_after(fri, 0), lon(2026, 1, FRI, 17, 0));
        assert_eq!(cal.close_of_working_day_after(fri, 1), lon(2026, 1, NEXT_MON, 17, 0));
        // After close, n = 0 is still that day's (past) close.
        assert_eq!(cal.close_of_working_day_after(lon(2026, 1, FRI, 20, 0), 0), lon(2026, 1, FRI, 17, 0));
        // A non-working day's n = 0 is the next working day's close, as is n = 1.
        let sat = lon(2026, 1, SAT, 10, 0);
        assert_eq!(cal.close_of_working_day_after(sat, 0), lon(2026, 1, NEXT_MON, 17, 0));
        assert_eq!(cal.close_of_working_day_after(sat, 1), lon(2026, 1, NEXT_MON, 17, 0));
        assert_eq!(cal.close_of_working_day_after(sat, 2), lon(2026, 1, 20, 17, 0));
    }

    // ---------- working minutes ----------

    #[test]
    fn add_working_minutes_basics() {
        let cal = WorkingCalendar::london_default();
        let sat = lon(2026, 1, SAT, 11, 0);
        assert_eq!(cal.add_working_minutes(sat, 0), sat, "0 minutes never moves");
        assert_eq!(cal.add_working_minutes(sat, 1), lon(2026, 1, NEXT_MON, 8, 31));
        // A full working day from opening lands on the close, not the next opening.
        assert_eq!(cal.add_working_minutes(lon(2026, 1, MON, 8, 30), 510), lon(2026, 1, MON, 17, 0));
        assert_eq!(cal.add_working_minutes(lon(2026, 1, MON, 8, 30), 511), lon(2026, 1, TUE, 8, 31));
        // A working week.
        assert_eq!(cal.add_working_minutes(lon(2026, 1, MON, 8, 30), 5 * 510), lon(2026, 1, FRI, 17, 0));
    }

    #[test]
    fn working_minutes_between_basics() {
        let cal = WorkingCalendar::london_default();
        let a = lon(2026, 1, MON, 10, 0);
        assert_eq!(cal.working_minutes_between(a, a), 0);
        assert_eq!(cal.working_minutes_between(a, a - TimeDelta::hours(1)), 0);
        assert_eq!(cal.working_minutes_between(lon(2026, 1, MON, 0, 0), lon(2026, 1, TUE, 0, 0)), 510);
        assert_eq!(cal.working_minutes_between(lon(2026, 1, FRI, 16, 0), lon(2026, 1, NEXT_MON, 9, 0)), 90);
        assert_eq!(cal.working_minutes_between(lon(2026, 1, SAT, 0, 0), lon(2026, 1, SAT, 23, 0)), 0);
        // Partial minutes round down.
        assert_eq!(cal.working_minutes_between(a, a + TimeDelta::seconds(119)), 1);
        // A calendar year 2026 of weekdays (no holidays): 261 weekdays.
        assert_eq!(cal.working_minutes_between(utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0)), 261 * 510);
    }

    // ---------- DST ----------

    #[test]
    fn high_across_spring_forward() {
        // Friday 2026-03-27 16:45 GMT (= 16:45 UTC); clocks go forward Sunday 29th.
        let raised = lon(2026, 3, 27, 16, 45);
        assert_eq!(raised, utc(2026, 3, 27, 16, 45));
        assert_eq!(due(DueLevel::High, raised), utc(2026, 3, 30, 7, 45)); // 08:45 BST
        assert_eq!(due(DueLevel::High, raised), lon(2026, 3, 30, 8, 45));
        let cal = WorkingCalendar::london_default();
        assert_eq!(cal.pickup(utc(2026, 3, 27, 17, 30)), utc(2026, 3, 30, 7, 30));
        assert_eq!(cal.working_minutes_between(raised, utc(2026, 3, 30, 7, 45)), 30);
        // Opening is 08:30 local on either side: 08:30 UTC before, 07:30 UTC after.
        assert!(cal.is_working_time(utc(2026, 3, 27, 8, 30)));
        assert!(!cal.is_working_time(utc(2026, 3, 27, 8, 29)));
        assert!(cal.is_working_time(utc(2026, 3, 30, 7, 30)));
        assert!(!cal.is_working_time(utc(2026, 3, 30, 7, 29)));
        assert!(!cal.is_working_time(utc(2026, 3, 30, 16, 0))); // 17:00 BST
        // The week after the change is still 5 x 510 working minutes.
        assert_eq!(cal.working_minutes_between(utc(2026, 3, 29, 0, 0), utc(2026, 4, 4, 0, 0)), 5 * 510);
    }

    #[test]
    fn low_across_fall_back() {
        // Thursday 2026-10-22 10:00 BST (= 09:00 UTC); clocks go back Sunday 25th at 01:00 UTC.
        let raised = lon(2026, 10, 22, 10, 0);
        assert_eq!(raised, utc(2026, 10, 22, 9, 0));
        // Fri 23 (1), Mon 26 (2), Tue 27 (3), Wed 28 (4), Thu 29 (5): 17:00 GMT = 17:00 UTC.
        assert_eq!(due(DueLevel::Low, raised), utc(2026, 10, 29, 17, 0));
        // Medium raised the Friday, due Monday 17:00 GMT.
        assert_eq!(due(DueLevel::Medium, lon(2026, 10, 23, 12, 0)), utc(2026, 10, 26, 17, 0));
        // High raised Friday 16:45 BST (15:45 UTC), due Monday 08:45 GMT (08:45 UTC).
        let high = lon(2026, 10, 23, 16, 45);
        assert_eq!(high, utc(2026, 10, 23, 15, 45));
        assert_eq!(due(DueLevel::High, high), utc(2026, 10, 26, 8, 45));
        let cal = WorkingCalendar::london_default();
        assert_eq!(cal.pickup(utc(2026, 10, 23, 16, 0)), utc(2026, 10, 26, 8, 30));
        assert_eq!(cal.working_minutes_between(raised, utc(2026, 10, 29, 17, 0)), 7 * 60 + 5 * 510);
    }

    #[test]
    fn opening_in_a_dst_gap_uses_the_first_instant_after_it() {
        // London: on 2026-03-29 local 01:00-02:00 does not exist.
        let cal = cal_with(|c| {
            c.open = "01:30".into();
            c.working_days = vec!["sun".into()];
        });
        assert_eq!(cal.working_hours(date(2026, 3, 29)).map(|w| w.0), Some(utc(2026, 3, 29, 1, 0)));
        assert_eq!(cal.next_opening(utc(2026, 3, 29, 0, 30)), utc(2026, 3, 29, 1, 0));
        assert!(!cal.is_working_time(utc(2026, 3, 29, 0, 59)));
        assert!(cal.is_working_time(utc(2026, 3, 29, 1, 0)));

        // New York: on 2026-03-08 local 02:00-03:00 does not exist; 02:30 opens at 03:00 EDT = 07:00 UTC.
        let ny = cal_with(|c| {
            c.time_zone = "America/New_York".into();
            c.open = "02:30".into();
            c.working_days = vec!["Sunday".into()];
        });
        assert_eq!(ny.pickup(utc(2026, 3, 8, 5, 0)), utc(2026, 3, 8, 7, 0));
        assert_eq!(ny.add_working_minutes(utc(2026, 3, 8, 5, 0), 15), utc(2026, 3, 8, 7, 15));
    }

    #[test]
    fn opening_in_a_repeated_hour_uses_the_earlier_instant() {
        // London: on 2026-10-25 local 01:00-02:00 happens twice; 01:30 BST = 00:30 UTC.
        let cal = cal_with(|c| {
            c.open = "01:30".into();
            c.working_days = vec!["SUN".into()];
        });
        assert_eq!(cal.next_opening(utc(2026, 10, 24, 12, 0)), utc(2026, 10, 25, 0, 30));
        assert!(cal.is_working_time(utc(2026, 10, 25, 1, 15))); // 01:15 GMT, the second time round
        // 01:30 to 17:00 local across the change is 15.5 h of wall clock but 16.5 h of real time.
        assert_eq!(cal.working_minutes_between(utc(2026, 10, 25, 0, 0), utc(2026, 10, 26, 0, 0)), 16 * 60 + 30);
    }

    #[test]
    fn working_hours_entirely_inside_a_gap_are_no_working_day() {
        let cal = cal_with(|c| {
            c.open = "01:10".into();
            c.close = "01:50".into();
            c.working_days = vec!["sat".into(), "sun".into(), "mon".into()];
        });
        assert!(cal.is_working_day(date(2026, 3, 28)));
        assert!(!cal.is_working_day(date(2026, 3, 29)));
        assert!(cal.is_working_day(date(2026, 3, 30)));
        // Saturday 01:50 GMT onwards: next opening Monday 01:10 BST = 00:10 UTC.
        assert_eq!(cal.next_opening(utc(2026, 3, 28, 2, 0)), utc(2026, 3, 30, 0, 10));
    }

    // ---------- no reachable working day ----------

    #[test]
    fn unreachable_working_days_fall_back_without_looping() {
        let cal = cal_with(|c| {
            c.holidays = vec![Holiday::Range { from: date(2025, 1, 1), to: date(2045, 1, 1), name: None }]
        });
        let raised = lon(2026, 1, MON, 10, 0);
        assert!(!cal.is_working_time(raised));
        assert_eq!(cal.next_opening(raised), raised);
        assert_eq!(cal.pickup(raised), raised);
        assert_eq!(cal.add_working_minutes(raised, 30), raised + TimeDelta::minutes(30));
        assert_eq!(cal.close_of_working_day_after(raised, 1), raised + TimeDelta::days(1));
        let policy = DuePolicy::default();
        assert_eq!(due_at(&cal, &policy, DueLevel::High, raised), raised + TimeDelta::minutes(30));
        assert_eq!(due_at(&cal, &policy, DueLevel::Medium, raised), raised + TimeDelta::days(1));
        assert_eq!(due_at(&cal, &policy, DueLevel::Low, raised), raised + TimeDelta::days(5));
        assert_eq!(cal.working_minutes_between(raised, raised + TimeDelta::days(100)), 0);
        // Extreme inputs do not overflow or panic.
        assert_eq!(cal.add_working_minutes(DateTime::<Utc>::MAX_UTC, u32::MAX), DateTime::<Utc>::MAX_UTC);
        let lc = WorkingCalendar::london_default();
        let _ = lc.pickup(DateTime::<Utc>::MAX_UTC);
        let _ = lc.pickup(DateTime::<Utc>::MIN_UTC);
        let _ = lc.close_of_working_day_after(DateTime::<Utc>::MAX_UTC, u32::MAX);
        let _ = lc.working_minutes_between(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn far_future_beyond_search_limit_falls_back() {
        let cal = WorkingCalendar::london_default();
        let from = lon(2026, 1, MON, 8, 30);
        // ~20 years of working minutes cannot be placed within SEARCH_LIMIT_DAYS.
        let m = 20 * 261 * 510;
        assert_eq!(cal.add_working_minutes(from, m), from + TimeDelta::minutes(i64::from(m)));
    }

    // ---------- config ----------

    #[test]
    fn london_default_matches_default_config() {
        assert_eq!(WorkingCalendar::new(&CalendarConfig::default()), Ok(WorkingCalendar::london_default()));
        assert_eq!(WorkingCalendar::default(), WorkingCalendar::london_default());
        let cal = WorkingCalendar::london_default();
        assert_eq!(cal.time_zone(), chrono_tz::Europe::London);
        assert_eq!((cal.open_time().hour(), cal.open_time().minute()), (8, 30));
        assert_eq!((cal.close_time().hour(), cal.close_time().minute()), (17, 0));
    }

    #[test]
    fn toml_config_with_both_holiday_forms() {
        let text = r#"
            time_zone = "Europe/London"
            open = "08:30"
            close = "17:00"
            working_days = ["Monday", "TUE", " wed ", "thurs", "fri"]
            holidays = [
                "2026-12-25",
                2026-12-28,
                { from = "2026-12-21", to = "2027-01-01", name = "Christmas break" },
                { from = 2027-02-15, to = 2027-02-19 },
            ]
        "#;
        let cfg: CalendarConfig = toml::from_str(text).expect("parses");
        assert_eq!(
            cfg.holidays,
            vec![
                Holiday::Day(date(2026, 12, 25)),
                Holiday::Day(date(2026, 12, 28)),
                Holiday::Range { from: date(2026, 12, 21), to: date(2027, 1, 1), name: Some("Christmas break".into()) },
                Holiday::Range { from: date(2027, 2, 15), to: date(2027, 2, 19), name: None },
            ]
        );
        let cal = WorkingCalendar::new(&cfg).expect("valid");
        assert!(!cal.is_working_day(date(2026, 12, 31)));
        assert!(!cal.is_working_day(date(2027, 2, 17)));
        assert!(cal.is_working_day(date(2027, 1, 4)));
        // Friday 18 December 2026, after close: back on Monday 4 January 2027.
        assert_eq!(cal.pickup(lon(2026, 12, 18, 17, 5)), lon(2027, 1, 4, 8, 30));

        // Round trip through TOML.
        let written = toml::to_string(&cfg).expect("serialises");
        let back: CalendarConfig = toml::from_str(&written).expect("re-parses");
        assert_eq!(back, cfg);
    }

    #[test]
    fn toml_partial_config_uses_defaults() {
        let cfg: CalendarConfig = toml::from_str(r#"holidays = ["2026-05-04"]"#).expect("parses");
        assert_eq!(cfg.time_zone, "Europe/London");
        assert_eq!(cfg.open, "08:30");
        assert_eq!(cfg.working_days.len(), 5);
        let empty: CalendarConfig = toml::from_str("").expect("parses");
        assert_eq!(empty, CalendarConfig::default());

        let policy: DuePolicy = toml::from_str("high_working_minutes = 15").expect("parses");
        assert_eq!(policy, DuePolicy { high_working_minutes: 15, ..DuePolicy::default() });
        assert_eq!(toml::from_str::<DuePolicy>("").expect("parses"), DuePolicy::default());
    }

    #[test]
    fn toml_rejects_unknown_and_malformed_fields() {
        assert!(toml::from_str::<CalendarConfig>(r#"timezone = "Europe/London""#).is_err());
        assert!(toml::from_str::<DuePolicy>("high_minutes = 5").is_err());
        assert!(toml::from_str::<CalendarConfig>(r#"holidays = ["25/12/2026"]"#).is_err());
        assert!(toml::from_str::<CalendarConfig>(r#"holidays = [{ from = "2026-12-21" }]"#).is_err());
        assert!(toml::from_str::<CalendarConfig>(r#"holidays = [2026-12-25T10:00:00]"#).is_err());
        assert!(
            toml::from_str::<CalendarConfig>(r#"holidays = [{ from = "2026-12-21", to = "2026-12-22", nmae = "x" }]"#)
                .is_err()
        );
    }

    #[test]
    fn bad_configs_are_rejected_with_the_bad_value_named() {
        let e = err_with(|c| c.time_zone = "Europe/Londn".into());
        assert_eq!(e, CalendarError::UnknownTimeZone("Europe/Londn".into()));
        assert!(e.to_string().contains("Europe/Londn"), "{e}");

        let e = err_with(|c| c.open = "25:00".into());
        assert_eq!(e, CalendarError::BadTime { field: "open", value: "25:00".into() });
        assert!(e.to_string().contains("25:00") && e.to_string().contains("open"), "{e}");
        for bad in ["8.30", "", "08:60", "24:00", "23:59:60", "noon"] {
            assert!(
                matches!(err_with(|c| c.close = bad.into()), CalendarError::BadTime { field: "close", .. }),
                "{bad:?}"
            );
        }

        let e = err_with(|c| c.open = "17:00".into());
        assert!(matches!(e, CalendarError::OpenNotBeforeClose { .. }));
        assert!(e.to_string().contains("17:00"), "{e}");
        let e = err_with(|c| {
            c.open = "18:00".into();
            c.close = "08:00".into();
        });
        assert!(matches!(e, CalendarError::OpenNotBeforeClose { .. }), "{e}");

        let e = err_with(|c| c.working_days = vec!["mon".into(), "funday".into()]);
        assert_eq!(e, CalendarError::UnknownWeekday("funday".into()));
        assert!(e.to_string().contains("funday"), "{e}");

        assert_eq!(err_with(|c| c.working_days = vec![]), CalendarError::NoWorkingDays);

        let e = err_with(|c| {
            c.holidays = vec![Holiday::Range {
                from: date(2027, 1, 1),
                to: date(2026, 12, 21),
                name: Some("Christmas break".into()),
            }]
        });
        assert!(matches!(e, CalendarError::HolidayRangeReversed { .. }));
        let msg = e.to_string();
        assert!(msg.contains("2027-01-01") && msg.contains("2026-12-21") && msg.contains("Christmas break"), "{msg}");
    }

    #[test]
    fn accepted_time_and_day_spellings() {
        let cal = cal_with(|c| {
            c.open = " 9:00 ".into();
            c.close = "16:30:00".into();
            c.working_days = vec!["SATURDAY".into(), "sun".into(), "sat".into()];
        });
        assert_eq!((cal.open_time().hour(), cal.open_time().minute()), (9, 0));
        assert!(cal.is_working_day(date(2026, 1, SAT)));
        assert!(!cal.is_working_day(date(2026, 1, MON)));
    }

    // ---------- properties ----------

    /// Zones with DST gaps at 01:00, 02:00 and midnight, half-hour DST, and none.
    const ZONES: [&str; 8] = [
        "Europe/London",
        "Europe/London",
        "America/New_York",
        "Australia/Lord_Howe",
        "America/Santiago",
        "America/Havana",
        "Asia/Kolkata",
        "Pacific/Chatham",
    ];
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    fn hhmm(minute_of_day: u32) -> String {
        format!("{:02}:{:02}", minute_of_day / 60, minute_of_day % 60)
    }

    fn base() -> NaiveDate {
        date(2025, 1, 1)
    }

    /// Holidays within 2025-2029: single days and ranges of up to three weeks.
    fn arb_holidays(max: usize) -> impl Strategy<Value = Vec<Holiday>> {
        prop::collection::vec((0u32..1600, 0u32..21, any::<bool>()), 0..max).prop_map(|hs| {
            hs.into_iter()
                .map(|(start, len, single)| {
                    let from = base() + TimeDelta::days(i64::from(start));
                    if single {
                        Holiday::Day(from)
                    } else {
                        Holiday::Range { from, to: from + TimeDelta::days(i64::from(len)), name: None }
                    }
                })
                .collect()
        })
    }

    /// Any zone, any days, hours at least 30 minutes long, any holidays.
    fn arb_config() -> impl Strategy<Value = CalendarConfig> {
        (0..ZONES.len(), 0u32..(24 * 60 - 30), 1u8..128, arb_holidays(12)).prop_flat_map(
            |(zone, open, days, holidays)| {
                ((open + 30)..(24 * 60)).prop_map(move |close| CalendarConfig {
                    time_zone: ZONES[zone].to_string(),
                    open: hhmm(open),
                    close: hhmm(close),
                    working_days: (0..7).filter(|i| days & (1 << i) != 0).map(|i| NAMES[i].to_string()).collect(),
                    holidays: holidays.clone(),
                })
            },
        )
    }

    fn london_with_holidays() -> impl Strategy<Value = CalendarConfig> {
        arb_holidays(12).prop_map(|holidays| CalendarConfig { holidays, ..CalendarConfig::default() })
    }

    /// Any instant from 2025-01-01 to 2028-12-31 UTC, to the second.
    fn arb_instant() -> impl Strategy<Value = DateTime<Utc>> {
        let start = utc(2025, 1, 1, 0, 0).timestamp();
        let end = utc(2029, 1, 1, 0, 0).timestamp();
        (start..end).prop_map(|s| DateTime::<Utc>::from_timestamp(s, 0).expect("in range"))
    }

    fn arb_calendar() -> impl Strategy<Value = WorkingCalendar> {
        prop_oneof![london_with_holidays(), arb_config()]
            .prop_map(|cfg| WorkingCalendar::new(&cfg).expect("generated configs are valid"))
    }

    /// The working day (near `t`'s local date) whose close is exactly `t`, if any.
    fn day_closing_at(cal: &WorkingCalendar, t: DateTime<Utc>) -> Option<NaiveDate> {
        let d = cal.local_date(t);
        (-2..=1).map(|k| d + TimeDelta::days(k)).find(|day| cal.working_hours(*day).is_some_and(|(_, c)| c == t))
    }

    fn is_an_opening(cal: &WorkingCalendar, t: DateTime<Utc>) -> bool {
        let d = cal.local_date(t);
        (-2..=1).any(|k| cal.working_hours(d + TimeDelta::days(k)).is_some_and(|(o, _)| o == t))
    }

    const NS: TimeDelta = TimeDelta::nanoseconds(1);

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(384))]

        #[test]
        fn pickup_is_the_first_working_instant_at_or_after_raise(cal in arb_calendar(), raised in arb_instant()) {
            let pickup = cal.pickup(raised);
            prop_assert!(pickup >= raised);
            prop_assert!(cal.is_working_time(pickup));
            prop_assert_eq!(pickup == raised, cal.is_working_time(raised));
            if pickup != raised {
                prop_assert!(is_an_opening(&cal, pickup));
                prop_assert_eq!(cal.working_minutes_between(raised, pickup), 0);
                prop_assert!(!cal.is_working_time(pickup - NS));
                prop_assert_eq!(cal.next_opening(raised), pickup);
            }
        }

        #[test]
        fn london_out_of_hours_pickup_is_0830_local(cfg in london_with_holidays(), raised in arb_instant()) {
            let cal = WorkingCalendar::new(&cfg).expect("valid");
            let pickup = cal.pickup(raised);
            if pickup != raised {
                let local = pickup.with_timezone(&chrono_tz::Europe::London);
                prop_assert_eq!((local.hour(), local.minute(), local.second()), (8, 30, 0));
                prop_assert!(local.weekday().num_days_from_monday() < 5);
                prop_assert!(!cal.is_holiday(local.date_naive()));
            }
        }

        #[test]
        fn due_times_hold_their_shape(cal in arb_calendar(), raised in arb_instant(), m in 1u32..2000, n1 in 0u32..4, extra in 0u32..6) {
            let policy = DuePolicy { high_working_minutes: m, medium_working_days_after: n1, low_working_days_after: n1 + extra };
            let d_high = deadline(&cal, &policy, DueLevel::High, raised);
            let d_med = deadline(&cal, &policy, DueLevel::Medium, raised);
            let d_low = deadline(&cal, &policy, DueLevel::Low, raised);
            let pickup = d_high.pickup;
            prop_assert_eq!(d_high.out_of_hours, !cal.is_working_time(raised));
            for d in [d_high, d_med, d_low] {
                prop_assert_eq!(d.pickup, pickup);
                prop_assert!(d.due >= d.pickup);
                prop_assert_eq!(d.due, due_at(&cal, &policy, match d {
                    _ if d == d_high => DueLevel::High,
                    _ if d == d_med => DueLevel::Medium,
                    _ => DueLevel::Low,
                }, raised));
            }
            // High: strictly after pickup and inside (open, close] of a working day: in working time, or
            // exactly at a close (16:30 + 30 minutes is 17:00 that day).
            prop_assert!(d_high.due > pickup);
            prop_assert!(cal.is_working_time(d_high.due - NS));
            prop_assert!(cal.is_working_time(d_high.due) || day_closing_at(&cal, d_high.due).is_some());
            prop_assert_eq!(cal.working_minutes_between(pickup, d_high.due), i64::from(m));
            // Medium and Low: always a close, n working days after the pickup day.
            let pickup_day = cal.local_date(pickup);
            for (d, n) in [(d_med, n1), (d_low, n1 + extra)] {
                let close_day = day_closing_at(&cal, d.due);
                prop_assert!(close_day.is_some(), "due {} is not a close", d.due);
                let close_day = close_day.unwrap_or(pickup_day);
                let working_days_after = pickup_day
                    .iter_days()
                    .skip(1)
                    .take_while(|day| *day <= close_day)
                    .filter(|day| cal.is_working_day(*day))
                    .count();
                prop_assert_eq!(working_days_after, n as usize);
                prop_assert!(d.due > pickup);
            }
            prop_assert!(d_med.due <= d_low.due);
        }

        #[test]
        fn london_levels_are_ordered(cfg in london_with_holidays(), raised in arb_instant()) {
            let cal = WorkingCalendar::new(&cfg).expect("valid");
            let policy = DuePolicy::default();
            let high = due_at(&cal, &policy, DueLevel::High, raised);
            let medium = due_at(&cal, &policy, DueLevel::Medium, raised);
            let low = due_at(&cal, &policy, DueLevel::Low, raised);
            prop_assert!(high <= medium && medium <= low);
            prop_assert_eq!(cal.working_minutes_between(raised, high), 30);
        }

        #[test]
        fn working_minutes_compose(cal in arb_calendar(), raised in arb_instant(), a in 0u32..3000, b in 0u32..3000) {
            let t = cal.pickup(raised); // in working time
            let once = cal.add_working_minutes(t, a + b);
            let twice = cal.add_working_minutes(cal.add_working_minutes(t, a), b);
            prop_assert_eq!(once, twice);
            prop_assert_eq!(cal.working_minutes_between(t, cal.add_working_minutes(t, a)), i64::from(a));
            prop_assert_eq!(cal.working_minutes_between(t, once), i64::from(a + b));
            prop_assert!(cal.add_working_minutes(t, a) <= once);
        }

        #[test]
        fn working_minutes_between_is_additive(cal in arb_calendar(), x in arb_instant(), y in arb_instant(), z in arb_instant()) {
            // On whole minutes (every opening and close is on a whole minute), spans add exactly.
            let whole = |t: DateTime<Utc>| t - TimeDelta::seconds(i64::from(t.second()));
            let mut v = [whole(x), whole(y), whole(z)];
            v.sort();
            let [a, b, c] = v;
            let ab = cal.working_minutes_between(a, b);
            let bc = cal.working_minutes_between(b, c);
            prop_assert_eq!(ab + bc, cal.working_minutes_between(a, c));
            prop_assert!(ab <= (b - a).num_minutes());
            prop_assert_eq!(cal.working_minutes_between(b, a), 0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Cross-check the interval walk against a minute-by-minute simulation.
        #[test]
        fn add_working_minutes_matches_minute_stepping(cfg in arb_config(), raised in arb_instant(), m in 1u32..400) {
            let cfg = CalendarConfig { holidays: cfg.holidays.into_iter().take(2).collect(), ..cfg };
            let cal = WorkingCalendar::new(&cfg).expect("valid");
            let start = raised - TimeDelta::seconds(i64::from(raised.second()));
            let mut cursor = start;
            let mut left = m;
            let mut steps = 0u32;
            while left > 0 && steps < 200_000 {
                if cal.is_working_time(cursor) {
                    left -= 1;
                }
                cursor += TimeDelta::minutes(1);
                steps += 1;
            }
            prop_assume!(left == 0);
            // The simulation ends at the end of the m-th working minute; skip leading non-working time.
            prop_assert_eq!(cal.add_working_minutes(start, m), cursor);
        }
    }
}
