//! Vendor rules are data: which senders are monitoring vendors, how to read a field out of their e-mails
//! (by its label or by a pattern), and how their event types map to vigil's categories. vigil ships
//! `assets/mail-rules.toml` (what the vendors document: senders, level words, event-type names; no real
//! sample e-mails were available) and a college adds its own in the config, tried first.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::message::Mail;
use crate::domain::alert::{Delivery, MailOrigin, Subject, SubjectKind, known_category};
use crate::domain::{Alert, AlertKey, Level};

/// The shipped rules.
pub const EMBEDDED: &str = include_str!("../../assets/mail-rules.toml");

/// How the rules file reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleSpec>,
}

/// One vendor's rule, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The rule's name: shown by `vigil mail test`, kept with each alert it read.
    pub name: String,
    /// The alert source its alerts get (as a feed's `source`).
    pub source: String,
    /// Sender addresses (any case). A message from one of these is always an alert.
    pub senders: Vec<String>,
    /// A pattern the subject must match for this rule to read the message (any subject when absent).
    #[serde(default)]
    pub subject: Option<String>,
    /// Every alert this rule reads is about this kind of subject (`student`, `staff`), unless a `kind`
    /// field says otherwise. Without either, the subject is `unknown` (the DSL and deputy see it).
    #[serde(default)]
    pub subject_kind: Option<SubjectKind>,
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSpec>,
    /// Vendor event types (any case) to vigil categories.
    #[serde(default)]
    pub categories: BTreeMap<String, String>,
    /// Level words the vendor uses (any case) to levels, for a `risk` field that is not a number.
    #[serde(default)]
    pub levels: BTreeMap<String, Level>,
}

/// How one field is found: after a label (`Risk Level: 4`, the label's line, any case), or by a pattern
/// whose first group (or whole match) is the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    #[serde(default)]
    pub label: Labels,
    #[serde(default)]
    pub pattern: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Labels {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl Labels {
    fn iter(&self) -> impl Iterator<Item = &str> {
        let v: Vec<&str> = match self {
            Labels::None => Vec::new(),
            Labels::One(l) => vec![l.as_str()],
            Labels::Many(ls) => ls.iter().map(String::as_str).collect(),
        };
        v.into_iter()
    }
}

/// The fields a rule can read. `risk`, `event_type` and `username` are what "fully read" needs.
pub const FIELDS: [&str; 10] =
    ["risk", "event_type", "username", "name", "kind", "device", "time", "message", "reference", "portal"];

/// A rule ready to use.
#[derive(Debug, Clone)]
struct Rule {
    spec: RuleSpec,
    subject: Option<Regex>,
    patterns: BTreeMap<String, Regex>,
}

/// The rules in force: the config's first, then the shipped ones.
#[derive(Debug, Clone)]
pub struct MailRules {
    rules: Vec<Rule>,
}

/// What a rule read from a message, field by field (what `vigil mail test` prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub rule: String,
    pub fields: BTreeMap<String, String>,
    /// What it could not read of what a full reading needs; empty when it read the message fully.
    pub missing: Vec<String>,
}

/// What a message is to vigil.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// Not from a monitoring sender: not an alert.
    NotAnAlert,
    /// An alert; `extracted` says how well its rule read it (nothing missing: fully).
    Alert { alert: Box<Alert>, extracted: Extracted },
}

impl MailRules {
    /// The shipped rules with `extra` (the config's) tried first. A pattern that does not compile, a field
    /// vigil does not know or a category that is not one vigil knows is an error naming the rule.
    pub fn new(extra: &[RuleSpec]) -> Result<MailRules, String> {
        let shipped: RulesFile = toml::from_str(EMBEDDED).map_err(|e| format!("assets/mail-rules.toml: {e}"))?;
        let mut rules = Vec::new();
        for spec in extra.iter().chain(&shipped.rules) {
            rules.push(Rule::new(spec.clone())?);
        }
        Ok(MailRules { rules })
    }

    /// The shipped rules alone. They are part of vigil (a test reads them), so they load; were they ever not
    /// to, there would be no rules, and every message would be "not an alert" rather than vigil failing.
    pub fn shipped() -> MailRules {
        MailRules::new(&[]).unwrap_or(MailRules { rules: Vec::new() })
    }

    /// Whether `address` is one of the rules' senders.
    pub fn is_vendor(&self, address: &str) -> bool {
        self.rules.iter().any(|r| r.sends(address))
    }

    /// The rule that reads `mail` and what it read, or `None` when the message is not from a monitoring
    /// sender.
    pub fn extract(&self, mail: &Mail) -> Option<Extracted> {
        let sender = mail.alert_sender()?;
        let mut candidates = self.rules.iter().filter(|r| r.sends(sender)).peekable();
        candidates.peek()?;
        let mut best: Option<Extracted> = None;
        for rule in candidates {
            if rule.subject.as_ref().is_some_and(|s| !s.is_match(&mail.subject)) {
                continue;
            }
            let got = rule.read(mail);
            if got.missing.is_empty() {
                return Some(got);
            }
            if best.as_ref().is_none_or(|b| got.fields.len() > b.fields.len()) {
                best = Some(got);
            }
        }
        // From a vendor, but no rule's subject fits: read by the first of its rules, which will say what
        // it could not find.
        best.or_else(|| self.rules.iter().find(|r| r.sends(sender)).map(|r| r.read(mail)))
    }

    /// What `mail` is to vigil: an alert (fully read, or unparsed at `default_level`) or not one.
    pub fn read(&self, mail: &Mail, default_level: Level, now: DateTime<Utc>) -> Reading {
        let Some(extracted) = self.extract(mail) else { return Reading::NotAnAlert };
        let Some(rule) = self.rules.iter().find(|r| r.spec.name == extracted.rule) else {
            return Reading::NotAnAlert;
        };
        let alert = rule.alert(mail, &extracted, default_level, now);
        Reading::Alert { alert: Box::new(alert), extracted }
    }
}

impl Rule {
    fn new(spec: RuleSpec) -> Result<Rule, String> {
        let name = spec.name.clone();
        let bad = |what: String| format!("mail rule `{name}`: {what}");
        if spec.name.trim().is_empty() || spec.source.trim().is_empty() || spec.source.starts_with("manual") {
            return Err(bad("needs a name and a source (not `manual`, which is vigil's own)".into()));
        }
        if spec.senders.is_empty() {
            return Err(bad("needs at least one sender".into()));
        }
        let subject = match &spec.subject {
            Some(p) => Some(Regex::new(p).map_err(|e| bad(format!("subject pattern: {e}")))?),
            None => None,
        };
        let mut patterns = BTreeMap::new();
        for (field, f) in &spec.fields {
            if !FIELDS.contains(&field.as_str()) {
                return Err(bad(format!("unknown field `{field}` (known: {})", FIELDS.join(", "))));
            }
            if let Some(p) = &f.pattern {
                patterns.insert(field.clone(), Regex::new(p).map_err(|e| bad(format!("field `{field}`: {e}")))?);
            }
        }
        for category in spec.categories.values() {
            if known_category(category).is_none() {
                return Err(bad(format!("`{category}` is not one of vigil's categories")));
            }
        }
        Ok(Rule { spec, subject, patterns })
    }

    fn sends(&self, address: &str) -> bool {
        self.spec.senders.iter().any(|s| s.eq_ignore_ascii_case(address.trim()))
    }

    fn read(&self, mail: &Mail) -> Extracted {
        let mut fields = BTreeMap::new();
        for (field, spec) in &self.spec.fields {
            let by_label = spec.label.iter().find_map(|label| after_label(&mail.text, label));
            let by_pattern = || {
                self.patterns.get(field).and_then(|re| {
                    re.captures(&mail.text).and_then(|c| c.get(1).or_else(|| c.get(0))).map(|m| m.as_str().to_string())
                })
            };
            if let Some(value) = by_label.or_else(by_pattern).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
                fields.insert(field.clone(), value);
            }
        }
        let mut missing = Vec::new();
        if fields.get("risk").and_then(|r| self.level_of(r)).is_none() {
            missing.push("risk".to_string());
        }
        if fields.get("event_type").and_then(|e| self.category_of(e)).is_none() {
            missing.push("event_type".to_string());
        }
        if !fields.contains_key("username") {
            missing.push("username".to_string());
        }
        Extracted { rule: self.spec.name.clone(), fields, missing }
    }

    /// A risk value: a number 1-5 (the vendor's risk), or one of the rule's level words.
    fn level_of(&self, value: &str) -> Option<RiskOrLevel> {
        let digits: String =
            value.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
        if let Ok(n @ 1..=5) = digits.parse::<u8>() {
            return Some(RiskOrLevel::Risk(n));
        }
        let lower = value.to_lowercase();
        self.spec
            .levels
            .iter()
            .find(|(word, _)| lower.contains(&word.to_lowercase()))
            .map(|(_, l)| RiskOrLevel::Level(*l))
    }

    fn category_of(&self, event_type: &str) -> Option<&'static str> {
        let lower = event_type.trim().to_lowercase();
        self.spec
            .categories
            .iter()
            .find(|(vendor, _)| vendor.to_lowercase() == lower)
            .and_then(|(_, c)| known_category(c))
            .or_else(|| known_category(&lower.replace(' ', "-")))
    }

    fn alert(&self, mail: &Mail, got: &Extracted, default_level: Level, now: DateTime<Utc>) -> Alert {
        let field = |name: &str| got.fields.get(name).cloned();
        let fully = got.missing.is_empty();
        let (risk, level) = match field("risk").and_then(|r| self.level_of(&r)) {
            Some(RiskOrLevel::Risk(n)) if fully => (Some(n), None),
            Some(RiskOrLevel::Level(l)) if fully => (None, Some(l)),
            // Unparsed: the college's default level, never a guess from half a reading.
            _ => (field("risk").and_then(|r| self.level_of(&r)).and_then(RiskOrLevel::risk), Some(default_level)),
        };
        let category = match field("event_type") {
            Some(e) => self.category_of(&e).map(str::to_string).unwrap_or(e),
            None => "unknown".to_string(),
        };
        let kind = field("kind")
            .and_then(|k| match k.to_lowercase() {
                k if k.contains("staff") => Some(SubjectKind::Staff),
                k if k.contains("student") || k.contains("pupil") => Some(SubjectKind::Student),
                _ => None,
            })
            .or(self.spec.subject_kind)
            .unwrap_or(SubjectKind::Unknown);
        let username = field("username");
        let captures = images(mail, &category);
        let raised_at = field("time")
            .and_then(|t| parse_time(&t, mail.date.map(|d| *d.offset())))
            .or(mail.date)
            .unwrap_or_else(|| now.fixed_offset());
        let summary =
            if fully { field("message").unwrap_or_else(|| mail.subject.clone()) } else { mail.subject.clone() };
        Alert {
            key: AlertKey::new(&self.spec.source, alert_id(field("reference").as_deref(), mail)),
            revision: 1,
            raised_at,
            risk,
            level,
            category,
            delivered_by: Some(Delivery::Email),
            subject: Subject {
                kind,
                id: username.clone().unwrap_or_else(|| "unknown".into()),
                name: field("name"),
                group: None,
                username,
            },
            device: field("device")
                .map(|hostname| crate::domain::Device { hostname: Some(hostname), ..Default::default() }),
            summary: if summary.trim().is_empty() { "(an e-mail with no subject)".into() } else { summary },
            context: Some(mail.text.clone()).filter(|t| !t.trim().is_empty()),
            captures,
            suspected_illegal: false,
            withdrawn: false,
            intake: None,
            mail: Some(MailOrigin {
                sha256: mail.sha256.clone(),
                message_id: mail.message_id.clone(),
                from: mail.alert_sender().unwrap_or_default().to_string(),
                rule: fully.then(|| self.spec.name.clone()),
                portal: field("portal"),
            }),
        }
    }
}

/// The message's images as screenshots, each checked as a feed's screenshot is (a PNG or JPEG within the same
/// size and decoding limits); one that fails is left out. None is kept for an alert whose category is
/// illegal content: such an image is never stored, let alone shown.
fn images(mail: &Mail, category: &str) -> Vec<crate::domain::Capture> {
    if category == "illegal-content" {
        return Vec::new();
    }
    mail.images
        .iter()
        .filter(|i| i.bytes.len() <= crate::feed::screenshots::MAX_SCREENSHOT_BYTES)
        .filter(|i| crate::feed::screenshots::verify_image(&i.media_type, &i.bytes).is_ok())
        .map(|i| {
            let sha = hex::encode(Sha256::digest(&i.bytes));
            crate::domain::Capture {
                at: None,
                window_title: i.name.clone(),
                text: None,
                screenshot: Some(crate::domain::Screenshot {
                    url: format!("{}{sha}", crate::domain::alert::MAIL_IMAGE),
                    media_type: i.media_type.clone(),
                    width: None,
                    height: None,
                    sha256: Some(sha),
                    caption: Some("attached to the vendor's e-mail".into()),
                }),
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RiskOrLevel {
    Risk(u8),
    Level(Level),
}

impl RiskOrLevel {
    fn risk(self) -> Option<u8> {
        match self {
            RiskOrLevel::Risk(n) => Some(n),
            RiskOrLevel::Level(_) => None,
        }
    }
}

/// What frames a value in an HTML table laid out as text, or a list: never part of the value.
const FRAME: [char; 8] = ['│', '┃', '|', '*', '-', ' ', '\t', '•'];

/// The value after `label` and a colon on a line of `text` (any case), or on the next line when the label
/// stands alone (an HTML table laid out as text).
fn after_label(text: &str, label: &str) -> Option<String> {
    let label = label.trim().to_lowercase();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim().trim_start_matches(FRAME);
        if trimmed.len() < label.len() || !trimmed.is_char_boundary(label.len()) {
            continue;
        }
        let (head, rest) = trimmed.split_at(label.len());
        if head.to_lowercase() != label {
            continue;
        }
        let rest = rest.trim_start();
        if let Some(value) = rest.strip_prefix(':').or_else(|| rest.strip_prefix(['|', '│'])) {
            let value = value.trim_matches(FRAME);
            if !value.is_empty() {
                return Some(value.to_string());
            }
            return lines.next().map(|l| l.trim_matches(FRAME).to_string()).filter(|l| !l.is_empty());
        }
    }
    None
}

/// A time as vendors write it: RFC 3339, RFC 2822, or `DD/MM/YYYY HH:MM` in the message's own offset.
fn parse_time(text: &str, offset: Option<FixedOffset>) -> Option<DateTime<FixedOffset>> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d);
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(t) {
        return Some(d);
    }
    let offset = offset?;
    ["%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok())
        .and_then(|n| n.and_local_timezone(offset).single())
}

/// The alert's id: the vendor's reference when the message gives one usable as an id, else one made from
/// the Message-ID (or, without one, the message's bytes), so the same message is one alert however often
/// it is imported.
fn alert_id(reference: Option<&str>, mail: &Mail) -> String {
    if let Some(r) = reference {
        let r = r.trim();
        if (1..=64).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return r.to_string();
        }
    }
    let basis = mail.message_id.as_deref().map(str::as_bytes).unwrap_or(mail.sha256.as_bytes());
    format!("mail-{}", &hex::encode(Sha256::digest(basis))[..20])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::Limits;

    fn mail(raw: &str) -> Mail {
        Mail::parse(raw.as_bytes(), &Limits::default()).expect("parses")
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-10T12:00:00Z").expect("literal").to_utc()
    }

    #[test]
    fn the_shipped_rules_load_and_a_documented_sender_is_a_vendor() {
        let rules = MailRules::new(&[]).expect("rules");
        assert!(rules.is_vendor("NoReply@Smoothwall.com"));
        assert!(rules.is_vendor("noreply-monitor@linewize.com"));
        assert!(!rules.is_vendor("someone@college.example"));
    }

    #[test]
    fn a_fully_read_message_becomes_an_alert_at_the_vendors_risk() {
        let rules = MailRules::new(&[]).expect("rules");
        let m = mail(
            "From: noreply@smoothwall.com\r\nSubject: Monitor alert\r\nMessage-ID: <x1@sw>\r\nDate: Tue, 10 Nov 2026 10:05:00 +0000\r\n\r\nRisk Level: 4\r\nEvent Type: Vulnerable Person\r\nUser: j.bloggs24\r\nMessage: Student searched for ways to run away.\r\n",
        );
        let Reading::Alert { alert, extracted } = rules.read(&m, Level::Medium, now()) else { panic!("an alert") };
        assert!(extracted.missing.is_empty(), "{extracted:?}");
        assert_eq!((alert.risk, alert.level), (Some(4), None));
        assert_eq!(alert.category, "vulnerable-person");
        assert_eq!(alert.subject.username.as_deref(), Some("j.bloggs24"));
        assert_eq!(alert.summary, "Student searched for ways to run away.");
        assert_eq!(alert.key.source, "smoothwall-monitor");
        assert!(alert.key.id.starts_with("mail-"));
        assert_eq!(alert.mail.as_ref().and_then(|o| o.rule.as_deref()), Some("smoothwall-monitor"));
    }

    #[test]
    fn a_vendor_message_no_rule_reads_is_an_unparsed_alert_at_the_default_level() {
        let rules = MailRules::new(&[]).expect("rules");
        let m = mail("From: noreply@smoothwall.com\r\nSubject: Something new\r\n\r\nA layout nobody has seen.\r\n");
        let Reading::Alert { alert, extracted } = rules.read(&m, Level::Medium, now()) else { panic!("an alert") };
        assert!(!extracted.missing.is_empty());
        assert_eq!((alert.level, alert.summary.as_str()), (Some(Level::Medium), "Something new"));
        assert_eq!(alert.context.as_deref().map(str::trim), Some("A layout nobody has seen."));
        assert_eq!(alert.mail.as_ref().map(|o| o.rule.is_none()), Some(true), "marked unparsed");
        assert_eq!(rules.read(&mail("From: a@b.example\r\n\r\nhi"), Level::Medium, now()), Reading::NotAnAlert);
    }

    #[test]
    fn a_bad_rule_is_named() {
        let spec = RuleSpec {
            name: "mine".into(),
            source: "x".into(),
            senders: vec!["a@b".into()],
            subject: Some("(".into()),
            subject_kind: None,
            fields: BTreeMap::new(),
            categories: BTreeMap::new(),
            levels: BTreeMap::new(),
        };
        let err = MailRules::new(&[spec]).expect_err("bad pattern");
        assert!(err.starts_with("mail rule `mine`: subject pattern"), "{err}");
    }
}
