//! The queue filter: text typed after `/` plus quick toggles. Applied in `update`, never in a renderer.

use crate::domain::Level;
use crate::service::CaseSummary;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Matched, case-insensitively, against subject (id, name, group, username), category and summary.
    pub text: String,
    pub level: Option<Level>,
    pub status: Option<String>,
    pub overdue: bool,
    pub out_of_hours: bool,
    pub mine: bool,
    /// Show closed and withdrawn cases too (hidden by default: the queue is for what needs doing).
    pub closed: bool,
}

impl Filter {
    pub fn matches(&self, c: &CaseSummary) -> bool {
        if !self.closed && self.status.is_none() && !c.open {
            return false;
        }
        if self.level.is_some_and(|l| l != c.level)
            || self.status.as_deref().is_some_and(|s| s != c.status)
            || self.overdue && !c.overdue
            || self.out_of_hours && !c.out_of_hours
            || self.mine && !c.mine
        {
            return false;
        }
        let needle = self.text.trim().to_lowercase();
        needle.is_empty() || needle.split_whitespace().all(|w| c.search.contains(w))
    }

    /// Whether anything narrows the default view.
    pub fn is_active(&self) -> bool {
        *self != Filter::default()
    }

    /// The active filter in words, for the header.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
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
}
