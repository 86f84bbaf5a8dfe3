//! The queue filter: text typed after `/` plus quick toggles. Applied in `update`, never in a renderer.

use crate::domain::Level;
use crate::service::CaseSummary;

/// The statuses of open cases (see [`crate::domain::case::Status::is_open`]).
const OPEN_STATUSES: [&str; 3] = ["new", "open", "in-progress"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Matched, case-insensitively, against subject (id, name, group, username), category and summary.
    pub text: String,
    pub level: Option<Level>,
    pub status: Option<String>,
    pub overdue: bool,
    pub out_of_hours: bool,
    pub mine: bool,
    /// Only cases nobody has.
    pub unassigned: bool,
    /// Show closed and withdrawn cases too (hidden by default: the queue is for what needs doing).
    pub closed: bool,
    /// The trust's view: only this school's cases.
    pub school: Option<String>,
}

impl Filter {
    /// Whether a case passes the filter, as a test to run over many cases: the search words are prepared
    /// once, not once per case.
    pub fn matcher(&self) -> impl Fn(&CaseSummary) -> bool + '_ {
        let needle = self.text.trim().to_lowercase();
        move |c| self.matches_fields(c) && needle.split_whitespace().all(|w| c.search.contains(w))
    }

    /// Whether the filter can show cases that are not open (closed or withdrawn), which the app holds only
    /// when asked for them.
    pub fn wants_closed(&self) -> bool {
        self.closed || self.status.as_deref().is_some_and(|s| !OPEN_STATUSES.contains(&s))
    }

    fn matches_fields(&self, c: &CaseSummary) -> bool {
        if !self.closed && self.status.is_none() && !c.open {
            return false;
        }
        if self.level.is_some_and(|l| l != c.level)
            || self.status.as_deref().is_some_and(|s| s != c.status.as_str())
            || self.overdue && !c.overdue
            || self.out_of_hours && !c.out_of_hours
            || self.mine && !c.mine
            || self.unassigned && c.owner.is_some()
            || self.school.as_ref().is_some_and(|s| c.school.as_ref() != Some(s))
        {
            return false;
        }
        true
    }

    /// Whether anything narrows the default view.
    pub fn is_active(&self) -> bool {
        *self != Filter::default()
    }

    /// The active filter in words, for the header.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(school) = &self.school {
            parts.push(format!("school {}", crate::domain::inert::line(school)));
        }
        if !self.text.trim().is_empty() {
            parts.push(format!("\"{}\"", self.text.trim()));
        }
        if let Some(l) = self.level {
            parts.push(l.label().to_string());
        }
        if let Some(s) = &self.status {
            parts.push(s.clone());
        }
        for (on, name) in [
            (self.overdue, "overdue"),
            (self.out_of_hours, "out-of-hours"),
            (self.mine, "mine"),
            (self.unassigned, "unassigned"),
            (self.closed, "+closed"),
        ] {
            if on {
                parts.push(name.to_string());
            }
        }
        parts.join(" ")
    }

    pub fn toggle_level(&mut self, level: Level) {
        self.level = if self.level == Some(level) { None } else { Some(level) };
    }

    /// The next of `schools` after the one shown (the first when all are), and all after the last.
    pub fn next_school(&mut self, schools: &[String]) {
        let at = self.school.as_ref().and_then(|s| schools.iter().position(|n| n == s));
        self.school = match at {
            None => schools.first().cloned(),
            Some(i) => schools.get(i + 1).cloned(),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::Status;

    #[test]
    fn open_statuses_are_the_domain_s() {
        for s in [Status::New, Status::Open, Status::InProgress, Status::Closed, Status::Withdrawn] {
            assert_eq!(OPEN_STATUSES.contains(&s.as_str()), s.is_open(), "{s:?}");
        }
    }

    #[test]
    fn only_filters_that_can_show_them_want_closed_cases() {
        let with = |f: fn(&mut Filter)| {
            let mut filter = Filter::default();
            f(&mut filter);
            filter.wants_closed()
        };
        assert!(!with(|_| {}));
        assert!(!with(|f| f.text = "bully".into()));
        assert!(!with(|f| f.status = Some("in-progress".into())));
        assert!(with(|f| f.closed = true));
        assert!(with(|f| f.status = Some("closed".into())));
        assert!(with(|f| f.status = Some("withdrawn".into())));
    }
}
