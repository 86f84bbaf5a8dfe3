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
