//! A validated alert, as vigil keeps it. The wire form lives in `feed::protocol`; this is what survives
//! validation, so every field here has already been checked against protocol v1.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::Level;

/// Alerts are idempotent by (`source`, `id`); the revision decides which content wins.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AlertKey {
    pub source: String,
    pub id: String,
}

impl AlertKey {
    pub fn new(source: impl Into<String>, id: impl Into<String>) -> Self {
        AlertKey { source: source.into(), id: id.into() }
    }
}

impl std::fmt::Display for AlertKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.source, self.id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    Student,
    Staff,
    Unknown,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Student => "student",
            SubjectKind::Staff => "staff",
            SubjectKind::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    Dashboard,
    Email,
    Phone,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Dashboard => "dashboard",
            Delivery::Email => "email",
            Delivery::Phone => "phone",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: String,
    pub name: Option<String>,
    pub group: Option<String>,
    pub username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Device {
    pub hostname: Option<String>,
    /// `college` or `personal`; other values are kept verbatim.
    pub owner: Option<String>,
    /// `on-site`, `off-site` or `unknown`.
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screenshot {
    pub url: String,
    pub media_type: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub sha256: Option<String>,
    pub caption: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub at: Option<DateTime<FixedOffset>>,
    pub window_title: Option<String>,
    pub text: Option<String>,
    pub screenshot: Option<Screenshot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub key: AlertKey,
    pub revision: u32,
    pub raised_at: DateTime<FixedOffset>,
    pub risk: Option<u8>,
    /// The level the bridge decided, when it sent one: it wins over `risk`.
    pub level: Option<Level>,
    pub category: String,
    pub delivered_by: Option<Delivery>,
    pub subject: Subject,
    pub device: Option<Device>,
    pub summary: String,
    pub context: Option<String>,
    pub captures: Vec<Capture>,
    pub suspected_illegal: bool,
    pub withdrawn: bool,
    /// Where an alert read from a vendor's e-mail came from. Never from a feed: the protocol has no such
    /// field, so a feed cannot claim an e-mail's standing.
    #[serde(default)]
    pub mail: Option<MailOrigin>,
}

/// The e-mail an alert was read from: the raw message is kept (encrypted) under its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailOrigin {
    /// SHA-256 of the raw message, hex: the name it is kept under, and its check.
    pub sha256: String,
    pub message_id: Option<String>,
    /// The sender of the alert (a forward's original sender).
    pub from: String,
    /// The rule that read it fully; `None`: no rule did, so the alert is at `[mail] default_level` and
    /// marked unparsed until a reviewer checks the level.
    pub rule: Option<String>,
    /// A link to the event in the vendor's portal, when the message gave one (shown, never fetched).
    pub portal: Option<String>,
}

impl MailOrigin {
    /// The name the raw message is kept under in the store.
    pub fn blob_name(&self) -> String {
        format!("mail/{}", self.sha256)
    }
}

/// The categories of the vendor's taxonomy (protocol v1, `category`: "Known values"). Anything else a feed
/// sends is kept and shown to reviewers verbatim, but is not a name a published report may print: a bridge
/// can put free text there ("self-harm john smith 12b 4471").
pub const KNOWN_CATEGORIES: [&str; 15] = [
    "bullying",
    "general-risk",
    "grooming",
    "offensive-user",
    "oversharer",
    "sexual-content",
    "violence",
    "terrorism-extremism",
    "vulnerable-person",
    "self-harm",
    "suicide",
    "weapons",
    "drugs",
    "discrimination",
    "illegal-content",
];

/// The known category `raw` names (trimmed, any case), or `None` for anything else.
pub fn known_category(raw: &str) -> Option<&'static str> {
    let raw = raw.trim();
    KNOWN_CATEGORIES.into_iter().find(|known| known.eq_ignore_ascii_case(raw))
}

impl Alert {
    pub fn is_staff(&self) -> bool {
        self.subject.kind == SubjectKind::Staff
    }

    /// Every screenshot reference this alert carries, oldest capture first.
    pub fn screenshots(&self) -> impl Iterator<Item = &Screenshot> {
        self.captures.iter().filter_map(|c| c.screenshot.as_ref())
    }

    pub fn location(&self) -> &str {
        self.device.as_ref().and_then(|d| d.location.as_deref()).unwrap_or("unknown")
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// A plain, valid student alert for unit tests.
    pub fn sample_alert(id: &str) -> Alert {
        Alert {
            key: AlertKey::new("smoothwall-monitor", id),
            revision: 1,
            raised_at: DateTime::parse_from_rfc3339("2026-11-10T10:00:00+00:00").expect("fixed literal"),
            risk: Some(3),
            level: None,
            category: "violence".into(),
            delivered_by: None,
            subject: Subject {
                kind: SubjectKind::Student,
                id: "HPC0001".into(),
                name: Some("Test Student".into()),
                group: None,
                username: None,
            },
            device: None,
            summary: "summary".into(),
            context: None,
            captures: vec![],
            suspected_illegal: false,
            withdrawn: false,
            mail: None,
        }
    }
}
