//! When a case nobody has opened is escalated: the one rule, pure (time is passed in).
//!
//! A case is watched while it is open and *new*: nobody has opened it, nobody has acted on it, and it is
//! neither closed nor withdrawn. The moment any of that changes, no escalation is due any more.
//!
//! - **High**: `high_minutes` after it was raised, when that lands in working hours. An alert raised out of
//!   hours is escalated at its pickup (the next opening: 08:30 with the default calendar), or
//!   `high_minutes` after it was raised if that is later; a deadline that falls out of hours (raised at
//!   16:55, due at 17:05) moves to the next opening too. Never at 17:01, never at night: nobody is there to
//!   hear it, and the procedure picks such alerts up at 08:30.
//! - **Medium**: `medium_hours` of working time after it was raised (counted from the pickup, as due times
//!   are), moved to the next opening if that lands on the close.
//! - **Low**: never.
//!
//! Each escalation is repeated `repeat_minutes` after the last one, also only within working hours (a repeat
//! that would fall at night waits for the next opening): the repeat is for a team that is at work and has
//! not reacted, not an alarm clock.
//!
//! The time is counted from the alert's raise time, the same instant its due time counts from.

use chrono::{DateTime, TimeDelta, Utc};

use super::Level;
use super::calendar::WorkingCalendar;
use super::case::{Case, Status};

/// The college's escalation settings, as numbers (`[escalation]` in the config). 0 turns a level off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscalationRule {
    pub high_minutes: u32,
    pub medium_hours: u32,
    pub repeat_minutes: u32,
}

/// An escalation that is due: the how-manieth, and how long the case has gone unopened (whole minutes since
/// it was raised).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub round: u32,
    pub unopened_minutes: u32,
}

impl EscalationRule {
    /// When the case's next escalation falls due, as seen at `now`, or `None` when none ever will as it
    /// stands (not watched, or its level does not escalate). One that fell due while nothing was watching
    /// (vigil was not running) is due now, or at the next opening if now is out of hours.
    pub fn next(
        &self,
        calendar: &WorkingCalendar,
        case: &Case,
        raised: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if case.status() != Status::New {
            return None;
        }
        let first = self.first(calendar, case.level, raised)?;
        let at = match case.last_escalated {
            None => first,
            Some(last) => last + TimeDelta::minutes(i64::from(self.repeat_minutes.max(1))),
        };
        Some(in_working_hours(calendar, at.max(now)))
    }

    /// The escalation due at `now`, if one is.
    pub fn due(
        &self,
        calendar: &WorkingCalendar,
        case: &Case,
        raised: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Due> {
        let at = self.next(calendar, case, raised, now)?;
        (at <= now).then(|| Due {
            round: case.escalations.saturating_add(1),
            unopened_minutes: u32::try_from((now - raised).num_minutes().max(0)).unwrap_or(u32::MAX),
        })
    }

    /// The first escalation of a case of `level` raised at `raised`, before moving it into working hours.
    fn first(&self, calendar: &WorkingCalendar, level: Level, raised: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match level {
            Level::High if self.high_minutes > 0 => {
                Some((raised + TimeDelta::minutes(i64::from(self.high_minutes))).max(calendar.pickup(raised)))
            }
            Level::Medium if self.medium_hours > 0 => {
                Some(calendar.add_working_minutes(raised, self.medium_hours.saturating_mul(60)))
            }
            _ => None,
        }
    }
}

/// `at` if it is in working hours, else the next opening.
fn in_working_hours(calendar: &WorkingCalendar, at: DateTime<Utc>) -> DateTime<Utc> {
    if calendar.is_working_time(at) { at } else { calendar.next_opening(at) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::{CaseEvent, EventKind};
    use crate::domain::{Actor, AlertKey};
    use chrono::TimeZone;

    const RULE: EscalationRule = EscalationRule { high_minutes: 10, medium_hours: 4, repeat_minutes: 10 };

    /// A London wall-clock time. 2026-11-30 is a Monday, 2026-12-04 a Friday (GMT: London is UTC).
    fn lon(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        chrono_tz::Europe::London.with_ymd_and_hms(2026, 12, d, h, mi, 0).single().expect("valid").with_timezone(&Utc)
    }

    fn case(level: Level, raised: DateTime<Utc>, later: &[(DateTime<Utc>, EventKind)]) -> Case {
        let mut events = vec![CaseEvent::by(
            raised,
            &Actor::Feed,
            EventKind::Raised { revision: 1, level, illegal_path: false, template_version: 1 },
        )];
        events.extend(later.iter().map(|(at, kind)| CaseEvent::by(*at, &Actor::Service, kind.clone())));
        Case::fold(AlertKey::new("s", "1"), &events).expect("a case")
    }

    fn escalated(at: DateTime<Utc>, round: u32) -> (DateTime<Utc>, EventKind) {
        (at, EventKind::Escalated { round, unopened_minutes: 0, reference: "ESC-TEST".into() })
    }

    /// The next escalation as seen when the case was raised.
    fn next(case: &Case, raised: DateTime<Utc>) -> Option<DateTime<Utc>> {
        RULE.next(&WorkingCalendar::london_default(), case, raised, raised)
    }

    #[test]
    fn a_high_case_raised_in_hours_is_due_at_the_minute_and_not_before() {
        let raised = lon(1, 10, 0);
        let c = case(Level::High, raised, &[]);
        let cal = WorkingCalendar::london_default();
        assert_eq!(next(&c, raised), Some(lon(1, 10, 10)));
        assert_eq!(RULE.due(&cal, &c, raised, lon(1, 10, 10) - TimeDelta::seconds(1)), None);
        assert_eq!(RULE.due(&cal, &c, raised, lon(1, 10, 10)), Some(Due { round: 1, unopened_minutes: 10 }));
    }

    #[test]
    fn it_repeats_every_interval_and_stops_once_opened_acted_on_closed_or_withdrawn() {
        let raised = lon(1, 10, 0);
        let c = case(Level::High, raised, &[escalated(lon(1, 10, 10), 1)]);
        assert_eq!(next(&c, raised), Some(lon(1, 10, 20)));
        let cal = WorkingCalendar::london_default();
        assert_eq!(RULE.due(&cal, &c, raised, lon(1, 10, 20)), Some(Due { round: 2, unopened_minutes: 20 }));
        for stop in [
            EventKind::Viewed,
            EventKind::Closed { outcome: "no-further-action".into() },
            EventKind::Withdrawn,
            EventKind::NoteAdded { text: "rang".into() },
        ] {
            let c = case(Level::High, raised, &[escalated(lon(1, 10, 10), 1), (lon(1, 10, 15), stop.clone())]);
            assert_eq!(next(&c, raised), None, "{stop:?}");
        }
    }

    #[test]
    fn taking_a_case_is_not_opening_it() {
        let raised = lon(1, 10, 0);
        let c = case(Level::High, raised, &[(lon(1, 10, 1), EventKind::Assigned { to: "dsl1".into() })]);
        assert_eq!(next(&c, raised), Some(lon(1, 10, 10)));
    }

    #[test]
    fn a_high_alert_raised_out_of_hours_escalates_at_the_next_opening_not_at_night() {
        // Raised at 16:51: ten minutes later is 17:01, out of hours: the next morning's 08:30.
        let raised = lon(1, 16, 51);
        assert_eq!(next(&case(Level::High, raised, &[]), raised), Some(lon(2, 8, 30)));
        // Raised at 02:00: at the 08:30 pickup.
        let raised = lon(2, 2, 0);
        assert_eq!(next(&case(Level::High, raised, &[]), raised), Some(lon(2, 8, 30)));
        // Raised on Friday evening: Monday's opening.
        let raised = lon(4, 19, 0);
        assert_eq!(next(&case(Level::High, raised, &[]), raised), Some(lon(7, 8, 30)));
        // Raised at 08:25: the ten minutes end in hours, at 08:35.
        let raised = lon(2, 8, 25);
        assert_eq!(next(&case(Level::High, raised, &[]), raised), Some(lon(2, 8, 35)));
    }

    #[test]
    fn a_repeat_that_would_fall_at_night_waits_for_the_next_opening() {
        let raised = lon(1, 16, 0);
        let c = case(Level::High, raised, &[escalated(lon(1, 16, 55), 5)]);
        assert_eq!(next(&c, raised), Some(lon(2, 8, 30)));
    }

    #[test]
    fn a_medium_case_counts_working_hours_and_low_never_escalates() {
        // Raised 15:00 Monday: 2 working hours that day, 2 more from 08:30 Tuesday.
        let raised = lon(1, 15, 0);
        assert_eq!(next(&case(Level::Medium, raised, &[]), raised), Some(lon(2, 10, 30)));
        // Four hours ending exactly at the 17:00 close: the next opening.
        let raised = lon(1, 13, 0);
        assert_eq!(next(&case(Level::Medium, raised, &[]), raised), Some(lon(2, 8, 30)));
        assert_eq!(next(&case(Level::Low, raised, &[]), raised), None);
    }

    #[test]
    fn zero_turns_a_level_off() {
        let off = EscalationRule { high_minutes: 0, medium_hours: 0, repeat_minutes: 10 };
        let raised = lon(1, 10, 0);
        let cal = WorkingCalendar::london_default();
        assert_eq!(off.next(&cal, &case(Level::High, raised, &[]), raised, raised), None);
        assert_eq!(off.next(&cal, &case(Level::Medium, raised, &[]), raised, raised), None);
    }

    #[test]
    fn a_late_tick_escalates_once_and_repeats_from_then() {
        let raised = lon(1, 10, 0);
        let cal = WorkingCalendar::london_default();
        let c = case(Level::High, raised, &[]);
        assert_eq!(RULE.due(&cal, &c, raised, lon(1, 11, 0)), Some(Due { round: 1, unopened_minutes: 60 }));
        let c = case(Level::High, raised, &[escalated(lon(1, 11, 0), 1)]);
        assert_eq!(next(&c, raised), Some(lon(1, 11, 10)));
    }

    #[test]
    fn one_missed_overnight_waits_for_the_next_opening_not_the_middle_of_the_night() {
        // Due at 10:10 on Tuesday, but nothing was watching until 03:00 on Wednesday: at 08:30, not at 03:00.
        let raised = lon(1, 10, 0);
        let cal = WorkingCalendar::london_default();
        let c = case(Level::High, raised, &[]);
        assert_eq!(RULE.due(&cal, &c, raised, lon(2, 3, 0)), None);
        assert_eq!(RULE.next(&cal, &c, raised, lon(2, 3, 0)), Some(lon(2, 8, 30)));
        assert_eq!(RULE.due(&cal, &c, raised, lon(2, 8, 30)), Some(Due { round: 1, unopened_minutes: 22 * 60 + 30 }));
    }
}
