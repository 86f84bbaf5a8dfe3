//! From the vendor's 1-5 risk to the college's three levels (protocol v1, "Default level mapping").
//!
//! The mapping is configurable per category because a college may decide, for example, that every
//! `weapons` alert starts at least at Medium whatever the vendor said.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Alert, Delivery, Level};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LevelPolicy {
    /// The lowest level an alert of a category may start at, e.g. `{ weapons = "medium" }`.
    pub category_minimum: BTreeMap<String, Level>,
}

/// The level a new alert starts at, and whether it goes down the illegal-content path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grading {
    pub level: Level,
    pub illegal_path: bool,
}

impl LevelPolicy {
    /// Categories that take the illegal-content path at High (the policy's "Responding to incidents of
    /// misuse": grooming and illegal content are referred to the police).
    pub fn illegal_at_high(&self, category: &str) -> bool {
        matches!(category, "grooming" | "illegal-content")
    }

    pub fn grade(&self, alert: &Alert) -> Grading {
        let mut level = match (alert.level, alert.risk) {
            (Some(level), _) => level,
            (None, Some(1..=2)) => Level::Low,
            (None, Some(3..=4)) => Level::Medium,
            (None, Some(_)) => Level::High,
            // Validation guarantees risk or level; if neither survives, err towards attention.
            (None, None) => Level::Medium,
        };
        if alert.delivered_by == Some(Delivery::Phone) {
            level = level.max(Level::High);
        }
        if let Some(min) = self.category_minimum.get(&alert.category) {
            level = level.max(*min);
        }
        let illegal_path = alert.suspected_illegal || level == Level::High && self.illegal_at_high(&alert.category);
        if alert.suspected_illegal {
            level = Level::High;
        }
        Grading { level, illegal_path }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alert::tests_support::sample_alert;

    fn grade(f: impl FnOnce(&mut Alert)) -> Grading {
        let mut a = sample_alert("a1");
        f(&mut a);
        LevelPolicy::default().grade(&a)
    }

    #[test]
    fn risk_maps_to_levels() {
        for (risk, want) in [(1, Level::Low), (2, Level::Low), (3, Level::Medium), (4, Level::Medium), (5, Level::High)]
        {
            assert_eq!(grade(|a| a.risk = Some(risk)).level, want, "risk {risk}");
        }
    }

    #[test]
    fn explicit_level_wins_over_risk() {
        let g = grade(|a| {
            a.risk = Some(5);
            a.level = Some(Level::Low);
        });
        assert_eq!(g.level, Level::Low);
    }

    #[test]
    fn phone_delivery_is_at_least_high() {
        let g = grade(|a| {
            a.risk = Some(1);
            a.delivered_by = Some(Delivery::Phone);
        });
        assert_eq!(g.level, Level::High);
    }

    #[test]
    fn suspected_illegal_is_high_on_the_illegal_path() {
        let g = grade(|a| {
            a.risk = Some(2);
            a.suspected_illegal = true;
        });
        assert_eq!(g, Grading { level: Level::High, illegal_path: true });
    }

    #[test]
    fn grooming_at_high_takes_the_illegal_path_but_not_at_medium() {
        let high = grade(|a| {
            a.category = "grooming".into();
            a.risk = Some(5);
        });
        assert!(high.illegal_path);
        let medium = grade(|a| {
            a.category = "grooming".into();
            a.risk = Some(3);
        });
        assert!(!medium.illegal_path);
    }

    #[test]
    fn category_minimum_raises_but_never_lowers() {
        let mut policy = LevelPolicy::default();
        policy.category_minimum.insert("weapons".into(), Level::Medium);
        let mut a = sample_alert("a1");
        a.category = "weapons".into();
        a.risk = Some(1);
        assert_eq!(policy.grade(&a).level, Level::Medium);
        a.risk = Some(5);
        assert_eq!(policy.grade(&a).level, Level::High);
    }
}
