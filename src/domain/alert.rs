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
    /// `student`, `staff` or `unknown`, as typed.
    pub fn typed(typed: &str) -> Result<SubjectKind, String> {
        [SubjectKind::Student, SubjectKind::Staff, SubjectKind::Unknown]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(typed.trim()))
            .ok_or_else(|| format!("`{}` is not a subject kind: student, staff or unknown", typed.trim()))
    }

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
    /// Told to someone in person: only an alert a reviewer typed in (`vigil alert add`) says so; a feed
    /// may not (protocol v1 knows `dashboard`, `email` and `phone`).
    #[serde(rename = "in-person")]
    InPerson,
    /// Any other way, typed in by a reviewer; a feed may not say so either.
    Other,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Dashboard => "dashboard",
            Delivery::Email => "email",
            Delivery::Phone => "phone",
            Delivery::InPerson => "in-person",
            Delivery::Other => "other",
        }
    }

    /// How a reviewer may say an alert they typed in came: `phone`, `in-person`, `email` or `other`.
    pub fn typed(typed: &str) -> Result<Delivery, String> {
        [Delivery::Phone, Delivery::InPerson, Delivery::Email, Delivery::Other]
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(typed.trim()))
            .ok_or_else(|| format!("`{}` is not a way an alert came: phone, in-person, email or other", typed.trim()))
    }

    /// Whether protocol v1 lets a feed send it.
    pub fn from_feed(self) -> bool {
        matches!(self, Delivery::Dashboard | Delivery::Email | Delivery::Phone)
    }
}

/// The source of every alert a reviewer typed in: vigil's own, which no feed may claim (its alerts are
/// refused at validation), so a `manual:` key always names an alert taken by phone or in person.
pub const MANUAL_SOURCE: &str = "manual";

/// How an alert typed in by a reviewer came: who took it, who told them and the vendor's reference, as
/// they gave them. Feed alerts have none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    /// The reviewer who took the call (a user name).
    pub taken_by: String,
    /// Who called or told them ("Smoothwall moderator").
    pub caller: Option<String>,
    /// The vendor's reference, if they gave one.
    pub vendor_ref: Option<String>,
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
    /// Set on an alert a reviewer typed in (source [`MANUAL_SOURCE`]) only.
    #[serde(default)]
    pub intake: Option<Intake>,
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

/// What a screenshot read from an e-mail has for a URL: the SHA-256 of the image after it. It is never
/// fetched: the image is kept in the store with the message.
pub const MAIL_IMAGE: &str = "mail-image:";

impl MailOrigin {
    /// The name the raw message is kept under in the store.
    pub fn blob_name(&self) -> String {
        format!("mail/{}", self.sha256)
    }

    /// The name an image attached to the message is kept under, from its screenshot's URL (`None`: not
    /// an e-mail's image).
    pub fn image_blob_name(&self, url: &str) -> Option<String> {
        let sha = url.strip_prefix(MAIL_IMAGE)?;
        (sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit())).then(|| format!("mail/{}/{sha}", self.sha256))
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

    /// Whether a reviewer typed it in (taken by phone or in person) rather than a feed sending it.
    pub fn is_manual(&self) -> bool {
        self.key.source == MANUAL_SOURCE
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
            intake: None,
            mail: None,
        }
    }
}
