//! The numbers of the on-duty dashboard: a pure function of the queue the viewer already sees.
//!
//! These are the reviewer's own working figures, not a published report: they are exact (no small-number
//! protection) and cover exactly what [`crate::service::CaseService::queue`] returned, staff alerts included
//! for those who see them. Pass the whole queue (closed cases too): "today" and "this week" count every alert
//! raised, whatever became of it. The queue may hold only the open cases (the TUI reads the others only when
//! asked): then `not_open` gives the raise time and level of the rest.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;

use super::figures::PerLevel;
use crate::domain::Level;
use crate::service::CaseSummary;

/// How many days the sparkline covers, today included.
pub const SPARK_DAYS: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutySummary {
    /// The local date `now` falls on.
    pub today: NaiveDate,
    /// Alerts raised today (local date), by level as it stands.
    pub raised_today: PerLevel<u64>,
    /// Alerts raised since Monday of this week (local dates), by level.
    pub raised_this_week: PerLevel<u64>,
    /// Open cases, by level.
    pub open: PerLevel<u64>,
    /// Open cases overdue at `now`, by the queue's one rule ([`CaseSummary::is_overdue`]).
    pub overdue: u64,
    /// Open cases whose follow-up date has come (today or earlier): someone has to follow them up.
    pub awaiting_follow_up: u64,
    /// Open cases with a follow-up date still to come.
    pub follow_ups_later: u64,
    /// Alerts raised per local day, oldest first: `per_day[SPARK_DAYS - 1]` is today, `per_day[0]` is 29 days
    /// ago. Always `SPARK_DAYS` long.
    pub per_day: Vec<u64>,
}

impl DutySummary {
    /// The date of `per_day[0]`.
    pub fn first_day(&self) -> NaiveDate {
        self.today.checked_sub_days(Days::new(SPARK_DAYS as u64 - 1)).unwrap_or(NaiveDate::MIN)
    }
}

/// Today, this week, what is open, overdue and waiting, and a 30-day sparkline, from `queue` and the raise
/// time and level of any cases it does not hold (`not_open`: none of them may be in `queue` too).
pub fn duty_summary(
    queue: &[CaseSummary],
    not_open: &[(DateTime<Utc>, Level)],
    now: DateTime<Utc>,
    tz: Tz,
) -> DutySummary {
    let today = now.with_timezone(&tz).date_naive();
    let monday =
        today.checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday()))).unwrap_or(NaiveDate::MIN);
    let first_day = today.checked_sub_days(Days::new(SPARK_DAYS as u64 - 1)).unwrap_or(NaiveDate::MIN);
    let mut s = DutySummary {
        today,
        raised_today: PerLevel::default(),
        raised_this_week: PerLevel::default(),
        open: PerLevel::default(),
        overdue: 0,
        awaiting_follow_up: 0,
        follow_ups_later: 0,
        per_day: vec![0; SPARK_DAYS],
    };
    let mut count_raised = |raised_at: DateTime<Utc>, level: Level| {
        let day = raised_at.with_timezone(&tz).date_naive();
        if day == today {
            *s.raised_today.get_mut(level) += 1;
        }
        if day >= monday && day <= today {
            *s.raised_this_week.get_mut(level) += 1;
        }
        if day >= first_day && day <= today {
            let i = (day - first_day).num_days() as usize;
            if let Some(slot) = s.per_day.get_mut(i) {
                *slot += 1;
            }
        }
    };
    for c in queue {
        count_raised(c.raised_at, c.level);
    }
    for &(raised_at, level) in not_open {
        count_raised(raised_at, level);
    }
    for c in queue {
        if c.open {
            *s.open.get_mut(c.level) += 1;
            s.overdue += u64::from(c.is_overdue(now));
            match c.follow_up {
                Some(d) if d <= today => s.awaiting_follow_up += 1,
                Some(_) => s.follow_ups_later += 1,
                None => {}
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertKey, Level};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("fixed literal").with_timezone(&Utc)
    }

    fn summary(id: &str, raised: &str, level: Level, open: bool) -> CaseSummary {
        let raised_at = utc(raised);
        CaseSummary {
            id: id.into(),
            source: "sm".into(),
            revision: 1,
            level,
            risk: None,
            category: "bullying".into(),
            subject_kind: crate::domain::alert::SubjectKind::Student,
            subject_id: "S".into(),
            subject_name: None,
            subject_group: None,
            status: if open { crate::domain::Status::New } else { crate::domain::Status::Closed },
            raised_at,
            due_at: Some(raised_at + chrono::TimeDelta::hours(2)),
            out_of_hours: false,
            overdue: false,
            suspected_illegal: false,
            illegal_path: false,
            follow_up: None,
            follow_up_due: false,
            location: "on-site".into(),
            key: AlertKey::new("sm", id),
            open,
            staff: false,
            responded: false,
            trend: None,
            trend_days: 30,
            unparsed_mail: false,
            school: None,
            mine: false,
            owner: None,
            owner_name: None,
            search: String::new(),
        }
    }

    // Wednesday 2026-11-11, 12:00 in London (GMT).
    fn now() -> DateTime<Utc> {
        utc("2026-11-11T12:00:00Z")
    }

    #[test]
    fn today_this_week_and_the_sparkline() {
        let tz = chrono_tz::Europe::London;
        let queue = vec![
            summary("t1", "2026-11-11T08:00:00Z", Level::High, true),
            summary("t2", "2026-11-11T11:30:00Z", Level::Low, false),
            summary("w1", "2026-11-09T09:00:00Z", Level::Medium, false), // Monday
            summary("l1", "2026-11-08T23:30:00Z", Level::Low, false),    // Sunday: last week
            summary("o1", "2026-10-13T10:00:00Z", Level::Low, false),    // 29 days ago: first slot
            summary("o2", "2026-10-12T10:00:00Z", Level::Low, false),    // 30 days ago: outside
        ];
        let s = duty_summary(&queue, &[], now(), tz);
        assert_eq!(s.today, NaiveDate::from_ymd_opt(2026, 11, 11).expect("date"));
        assert_eq!(s.raised_today, PerLevel { low: 1, medium: 0, high: 1 });
        assert_eq!(s.raised_this_week, PerLevel { low: 1, medium: 1, high: 1 });
        assert_eq!(s.per_day.len(), SPARK_DAYS);
        assert_eq!(s.per_day[SPARK_DAYS - 1], 2);
        assert_eq!(s.per_day[SPARK_DAYS - 3], 1, "Monday");
        assert_eq!(s.per_day[SPARK_DAYS - 4], 1, "Sunday");
        assert_eq!(s.per_day[0], 1);
        assert_eq!(s.per_day.iter().sum::<u64>(), 5);
        assert_eq!(s.first_day(), NaiveDate::from_ymd_opt(2026, 10, 13).expect("date"));
    }

    #[test]
    fn cases_not_held_count_from_their_raise_time_and_level() {
        // The TUI holds only the open cases until asked for the others: the figures must not change.
        let tz = chrono_tz::Europe::London;
        let open = summary("t1", "2026-11-11T08:00:00Z", Level::High, true);
        let closed = [
            summary("t2", "2026-11-11T11:30:00Z", Level::Low, false),
            summary("w1", "2026-11-09T09:00:00Z", Level::Medium, false),
            summary("o2", "2026-10-12T10:00:00Z", Level::Low, false),
        ];
        let whole = duty_summary(&[vec![open.clone()], closed.to_vec()].concat(), &[], now(), tz);
        let briefs: Vec<_> = closed.iter().map(|c| (c.raised_at, c.level)).collect();
        assert_eq!(duty_summary(&[open], &briefs, now(), tz), whole);
        assert_eq!(whole.raised_this_week, PerLevel { low: 1, medium: 1, high: 1 });
    }

    #[test]
    fn days_are_local_dates() {
        // 23:30 UTC on 10 June is 00:30 on 11 June in London (BST).
        let tz = chrono_tz::Europe::London;
        let queue = vec![summary("a", "2026-06-10T23:30:00Z", Level::Low, false)];
        let s = duty_summary(&queue, &[], utc("2026-06-11T09:00:00Z"), tz);
        assert_eq!(s.raised_today.low, 1);
    }

    #[test]
    fn overdue_and_follow_ups_count_open_cases_only() {
        let tz = chrono_tz::Europe::London;
        let mut due_past = summary("a", "2026-11-11T08:00:00Z", Level::High, true); // due 10:00, now 12:00
        due_past.follow_up = NaiveDate::from_ymd_opt(2026, 11, 11);
        let mut later = summary("b", "2026-11-11T11:00:00Z", Level::Medium, true); // due 13:00
        later.follow_up = NaiveDate::from_ymd_opt(2026, 11, 20);
        let mut closed = summary("c", "2026-11-02T08:00:00Z", Level::Low, false);
        closed.follow_up = NaiveDate::from_ymd_opt(2026, 11, 3);
        let s = duty_summary(&[due_past, later, closed], &[], now(), tz);
        assert_eq!(s.overdue, 1);
        assert_eq!(s.awaiting_follow_up, 1);
        assert_eq!(s.follow_ups_later, 1);
        assert_eq!(s.open, PerLevel { low: 0, medium: 1, high: 1 });
    }

    #[test]
    fn a_case_whose_response_is_recorded_is_not_overdue_as_the_queue_says() {
        // Issue 19 item 12: the dashboard counted every open case past its due time, the queue only those
        // whose level's response (High: contact with the student) was not yet recorded.
        let tz = chrono_tz::Europe::London;
        let mut contacted = summary("a", "2026-11-11T08:00:00Z", Level::High, true); // due 10:00, now 12:00
        contacted.responded = true;
        let waiting = summary("b", "2026-11-11T08:30:00Z", Level::High, true);
        let s = duty_summary(&[contacted.clone(), waiting.clone()], &[], now(), tz);
        assert_eq!(s.overdue, 1);
        assert!(!contacted.is_overdue(now()) && waiting.is_overdue(now()));
    }

    #[test]
    fn an_empty_queue_has_a_flat_sparkline() {
        let s = duty_summary(&[], &[], now(), chrono_tz::Europe::London);
        assert_eq!(s.per_day, vec![0; SPARK_DAYS]);
        assert_eq!(s.overdue, 0);
    }
}
