//! How a typed value is read: one parser for each kind of value, used wherever one is typed (the TUI's
//! popup and `:` line, `vigil case`, `vigil report`), so a form accepted in one place is accepted in all.

use chrono::{NaiveDate, NaiveTime};

/// The forms a date may be typed in: ISO, and the day-first form used in English colleges.
pub const DATE_FORMS: &str = "YYYY-MM-DD or DD/MM/YYYY";

/// A choice, typed as its words (any case) or as its number in the list, counting from 1.
pub fn choice<'a>(choices: &'a [String], typed: &str) -> Option<&'a String> {
    let typed = typed.trim();
    choices.iter().find(|c| c.eq_ignore_ascii_case(typed)).or_else(|| {
        let n: usize = typed.parse().ok()?;
        choices.get(n.checked_sub(1)?)
    })
}

/// A date, `YYYY-MM-DD` or `DD/MM/YYYY`.
pub fn date(typed: &str) -> Result<NaiveDate, String> {
    let typed = typed.trim();
    NaiveDate::parse_from_str(typed, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(typed, "%d/%m/%Y"))
        .map_err(|_| format!("`{typed}` is not a date: expected {DATE_FORMS}"))
}

/// A time of day, `HH:MM` (24-hour).
pub fn time(typed: &str) -> Result<NaiveTime, String> {
    let typed = typed.trim();
    NaiveTime::parse_from_str(typed, "%H:%M").map_err(|_| format!("`{typed}` is not a time: expected HH:MM (24-hour)"))
}

/// The forms a moment may be typed in (`vigil handover --since`).
pub const MOMENT_FORMS: &str = "YYYY-MM-DD or DD/MM/YYYY, with HH:MM after it or not, or RFC 3339";

/// A moment: a date (its midnight) or a date and a time of day, in the college's zone `tz`; or an RFC 3339
/// time with its own offset.
pub fn moment(typed: &str, tz: chrono_tz::Tz) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::TimeZone;
    let typed = typed.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(typed) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let bad = || format!("`{typed}` is not a time: expected {MOMENT_FORMS}");
    let (day, clock) = match typed.split_once([' ', 'T']) {
        Some((day, clock)) => (date(day).map_err(|_| bad())?, time(clock).map_err(|_| bad())?),
        None => (date(typed).map_err(|_| bad())?, NaiveTime::MIN),
    };
    // A time the clocks skip (spring forward) is read as the first moment after the gap.
    tz.from_local_datetime(&day.and_time(clock))
        .earliest()
        .or_else(|| tz.from_local_datetime(&(day.and_time(clock) + chrono::Duration::hours(1))).earliest())
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(bad)
}

/// A moment typed as `DATE HH:MM` (the date in either form [`date`] reads) or `HH:MM` alone (today,
/// decided by the reader of the value), in the college's time zone.
pub fn date_time(typed: &str) -> Result<(Option<NaiveDate>, NaiveTime), String> {
    let typed = typed.trim();
    let parts: Vec<&str> = typed.split(|c: char| c.is_whitespace() || c == 'T').filter(|p| !p.is_empty()).collect();
    match parts[..] {
        [t] => Ok((None, time(t)?)),
        [d, t] => Ok((Some(date(d)?), time(t)?)),
        _ => Err(format!("`{typed}` is not a date and time: expected {DATE_FORMS} then HH:MM, or HH:MM alone (today)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_is_a_local_date_and_time_or_rfc_3339() {
        let tz = chrono_tz::Europe::London;
        let at = |s: &str| moment(s, tz).map(|t| t.to_rfc3339());
        assert_eq!(at("2026-07-01 09:30").as_deref(), Ok("2026-07-01T08:30:00+00:00"), "BST");
        assert_eq!(at("01/12/2026").as_deref(), Ok("2026-12-01T00:00:00+00:00"));
        assert_eq!(at("2026-12-01T17:00").as_deref(), Ok("2026-12-01T17:00:00+00:00"));
        assert_eq!(at("2026-12-01T17:00:00+01:00").as_deref(), Ok("2026-12-01T16:00:00+00:00"));
        assert!(at("yesterday").unwrap_err().contains("RFC 3339"));
        assert!(at("2026-12-01 25:00").is_err());
    }

    #[test]
    fn a_choice_is_its_words_or_its_number() {
        let choices = ["Yes: act now".to_string(), "No".to_string()];
        assert_eq!(choice(&choices, "no"), Some(&choices[1]));
        assert_eq!(choice(&choices, " 1 "), Some(&choices[0]));
        assert_eq!(choice(&choices, "0"), None);
        assert_eq!(choice(&choices, "3"), None);
        assert_eq!(choice(&choices, "maybe"), None);
    }

    #[test]
    fn a_date_is_iso_or_day_first() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 3);
        assert_eq!(date("2026-12-03").ok(), d);
        assert_eq!(date("03/12/2026").ok(), d);
        assert!(date("12/31/2026").is_err(), "month-first is not a form an English college writes");
        assert!(date("31/02/2026").unwrap_err().contains("DD/MM/YYYY"));
    }

    #[test]
    fn a_time_is_24_hour() {
        assert_eq!(time("13:30").ok(), NaiveTime::from_hms_opt(13, 30, 0));
        assert!(time("1:30pm").is_err());
    }
}
