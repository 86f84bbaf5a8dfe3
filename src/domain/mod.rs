//! Pure types and rules. Nothing here touches the disk, the network, the terminal or the clock.

pub mod actor;
pub mod alert;
pub mod calendar;
pub mod case;
pub mod checklist;
pub mod escalation;
pub mod inert;
pub mod levels;
pub mod values;

pub use actor::Actor;
pub use alert::{Alert, AlertKey, Capture, Delivery, Device, Screenshot, Subject, SubjectKind};
pub use case::{Case, CaseEvent, EventKind, Status};

use serde::{Deserialize, Serialize};

/// The college procedure's three levels. `Ord` follows urgency: `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Low,
    Medium,
    High,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::High, Level::Medium, Level::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
        }
    }

    /// The label shown in the queue: level is never conveyed by colour alone.
    pub fn label(self) -> &'static str {
        match self {
            Level::Low => "LOW",
            Level::Medium => "MED",
            Level::High => "HIGH",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" | "l" => Ok(Level::Low),
            "medium" | "med" | "m" => Ok(Level::Medium),
            "high" | "h" => Ok(Level::High),
            other => Err(format!("unknown level `{other}` (expected low, medium or high)")),
        }
    }
}
