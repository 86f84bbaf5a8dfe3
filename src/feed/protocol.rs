//! Protocol v1 (`shared/feed-protocol.md`): the page envelope and per-alert validation.
//!
//! A page is parsed in two steps so that one invalid alert never sinks its page: the envelope first, with
//! every alert kept as raw JSON, then each alert on its own. A bad alert is returned as a [`Rejected`] with
//! its raw bytes and the reason, to be quarantined; nothing is dropped silently.

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::domain::{Alert, AlertKey, Capture, Delivery, Device, Level, Screenshot, Subject, SubjectKind};

pub const FEED_ID: &str = "vigil.alert-feed/1";

/// A page whose envelope was valid: the alerts that passed and the ones that did not.
#[derive(Debug, Default)]
pub struct Page {
    pub alerts: Vec<Alert>,
    pub rejected: Vec<Rejected>,
    pub cursor: Option<String>,
    pub more: bool,
}

/// An alert that failed validation, kept whole for the DSL to see.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rejected {
    pub source: Option<String>,
    pub id: Option<String>,
    pub reason: String,
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("the feed sent invalid JSON: {0}")]
    InvalidJson(String),
    #[error(
        "the feed speaks `{0}`, but this vigil understands only `{FEED_ID}`: upgrade vigil or point it at a v1 feed"
    )]
    UnsupportedVersion(String),
    #[error("the feed said there are more alerts but sent no cursor to fetch them with")]
    MoreWithoutCursor,
}

#[derive(Deserialize)]
struct WirePage<'a> {
    feed: String,
    #[serde(borrow)]
    alerts: Vec<&'a RawValue>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    more: bool,
}

/// Parses one 200 body. Never panics, whatever the bytes.
pub fn parse_page(body: &[u8]) -> Result<Page, PageError> {
    let wire: WirePage = serde_json::from_slice(body).map_err(|e| PageError::InvalidJson(json_error(&e)))?;
    check_version(&wire.feed)?;
    if wire.more && wire.cursor.is_none() {
        return Err(PageError::MoreWithoutCursor);
    }
    let mut page = Page { cursor: wire.cursor, more: wire.more, ..Page::default() };
    for raw in wire.alerts {
        match parse_alert(raw.get()) {
            Ok(alert) => page.alerts.push(alert),
            Err(rejected) => page.rejected.push(rejected),
        }
    }
    Ok(page)
}

/// What went wrong with a page's JSON and where, without serde's own message: that can quote the feed's
/// text (`invalid type: string "..."`, an unknown field's name), and this error is logged, kept as the
/// feed's last error and shown in the status bar.
fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "it could not be read",
        Category::Syntax => "it is not well-formed",
        Category::Data => "a value is not what protocol v1 expects there",
        Category::Eof => "it ends too soon",
    };
    format!("{what} (line {} column {})", e.line(), e.column())
}

fn check_version(feed: &str) -> Result<(), PageError> {
    // Minor versions (`/1.2`) are compatible by the protocol's forward-compatibility rule.
    let ok = feed == FEED_ID || feed.strip_prefix(FEED_ID).is_some_and(|rest| rest.starts_with('.'));
    if ok { Ok(()) } else { Err(PageError::UnsupportedVersion(feed.to_string())) }
}

#[derive(Deserialize)]
struct WireAlert {
    id: String,
    source: String,
    #[serde(default)]
    revision: Option<i64>,
    raised_at: String,
    #[serde(default)]
    risk: Option<i64>,
    #[serde(default)]
    level: Option<Level>,
    category: String,
    #[serde(default)]
    delivered_by: Option<Delivery>,
    subject: WireSubject,
    #[serde(default)]
    device: Option<WireDevice>,
    summary: String,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    captures: Option<Vec<WireCapture>>,
    #[serde(default)]
    suspected_illegal: Option<bool>,
    #[serde(default)]
    withdrawn: Option<bool>,
}

#[derive(Deserialize)]
struct WireSubject {
    kind: SubjectKind,
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
struct WireDevice {
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    location: Option<String>,
}

#[derive(Deserialize)]
struct WireCapture {
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    window_title: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    screenshot: Option<WireScreenshot>,
}

#[derive(Deserialize)]
struct WireScreenshot {
    url: String,
    media_type: String,
    #[serde(default)]
    width: Option<u32>,
    #[serde(default)]
    height: Option<u32>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    caption: Option<String>,
}

/// Just enough to name a rejected alert, when its id and source are readable at all.
#[derive(Deserialize)]
struct Names {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    source: Option<serde_json::Value>,
}

/// Validates one alert's JSON against protocol v1.
pub fn parse_alert(raw: &str) -> Result<Alert, Rejected> {
    let reject = |reason: String| {
        let names: Option<Names> = serde_json::from_str(raw).ok();
        let text = |v: Option<serde_json::Value>| v.and_then(|v| v.as_str().map(str::to_string));
        let (source, id) = match names {
            Some(n) => (text(n.source), text(n.id)),
            None => (None, None),
        };
        Rejected { source, id, reason, raw: raw.to_string() }
    };
    let wire: WireAlert = serde_json::from_str(raw).map_err(|e| reject(e.to_string()))?;
    validate(wire).map_err(reject)
}

fn timestamp(field: &str, s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s).map_err(|e| format!("`{field}` must be RFC 3339 with an offset (got `{s}`): {e}"))
}

fn validate(w: WireAlert) -> Result<Alert, String> {
    let id_len = w.id.chars().count();
    if !(1..=128).contains(&id_len) {
        return Err(format!("`id` must be 1-128 characters (got {id_len})"));
    }
    if w.source.is_empty() {
        return Err("`source` must not be empty".into());
    }
    let revision = match w.revision {
        None => 1,
        Some(r) if (1..=i64::from(u32::MAX)).contains(&r) => r as u32,
        Some(r) => return Err(format!("`revision` must be an integer >= 1 (got {r})")),
    };
    let risk = match w.risk {
        None => None,
        Some(r @ 1..=5) => Some(r as u8),
        Some(r) => return Err(format!("`risk` must be 1-5 (got {r})")),
    };
    if risk.is_none() && w.level.is_none() {
        return Err("one of `risk` or `level` is required".into());
    }
    if w.category.trim().is_empty() {
        return Err("`category` must not be empty".into());
    }
    if w.subject.id.is_empty() {
        return Err("`subject.id` must not be empty".into());
    }
    let raised_at = timestamp("raised_at", &w.raised_at)?;
    let mut captures = Vec::new();
    for (i, c) in w.captures.unwrap_or_default().into_iter().enumerate() {
        let at = match c.at {
            Some(s) => Some(timestamp(&format!("captures[{i}].at"), &s)?),
            None => None,
        };
        let screenshot = match c.screenshot {
            Some(s) => Some(screenshot(i, s)?),
            None => None,
        };
        captures.push(Capture { at, window_title: c.window_title, text: c.text, screenshot });
    }
    Ok(Alert {
        key: AlertKey { source: w.source, id: w.id },
        revision,
        raised_at,
        risk,
        level: w.level,
        category: w.category,
        delivered_by: w.delivered_by,
        subject: Subject {
            kind: w.subject.kind,
            id: w.subject.id,
            name: w.subject.name,
            group: w.subject.group,
            username: w.subject.username,
        },
        device: w.device.map(|d| Device { hostname: d.hostname, owner: d.owner, location: d.location }),
        summary: w.summary,
        context: w.context,
        captures,
        suspected_illegal: w.suspected_illegal.unwrap_or(false),
        withdrawn: w.withdrawn.unwrap_or(false),
    })
}

fn screenshot(i: usize, s: WireScreenshot) -> Result<Screenshot, String> {
    if s.url.contains("://") && !(s.url.starts_with("https://") || s.url.starts_with("http://")) {
        return Err(format!("`captures[{i}].screenshot.url` must be http(s) or a relative path"));
    }
    if !matches!(s.media_type.as_str(), "image/png" | "image/jpeg") {
        return Err(format!(
            "`captures[{i}].screenshot.media_type` must be image/png or image/jpeg (got `{}`)",
            s.media_type
        ));
    }
    if let Some(h) = &s.sha256
        && (h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(format!("`captures[{i}].screenshot.sha256` must be 64 hex digits"));
    }
    Ok(Screenshot {
        url: s.url,
        media_type: s.media_type,
        width: s.width,
        height: s.height,
        sha256: s.sha256.map(|h| h.to_ascii_lowercase()),
        caption: s.caption,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn alert_json(extra: &str) -> String {
        format!(
            r#"{{"id":"A1","source":"sm","raised_at":"2026-11-10T10:00:00+00:00","risk":3,"category":"violence",
               "subject":{{"kind":"student","id":"S1"}},"summary":"s"{extra}}}"#
        )
    }

    fn page(alerts: &[String]) -> String {
        format!(r#"{{"feed":"vigil.alert-feed/1","alerts":[{}],"cursor":"c1","more":false}}"#, alerts.join(","))
    }

    #[test]
    fn a_valid_page_parses_and_ignores_unknown_fields() {
        let body = page(&[alert_json(r#","future_field":{"x":1}"#)]);
        let p = parse_page(body.as_bytes()).expect("valid");
        assert_eq!(p.alerts.len(), 1);
        assert_eq!(p.alerts[0].revision, 1);
        assert_eq!(p.cursor.as_deref(), Some("c1"));
    }

    #[test]
    fn one_invalid_alert_does_not_sink_the_page() {
        let bad = [
            ("risk", serde_json::json!(9), "`risk` must be 1-5"),
            ("raised_at", serde_json::json!("2026-11-10T10:00:00"), "RFC 3339"),
            ("subject", serde_json::json!({"kind":"teacher","id":"T"}), "unknown variant"),
        ];
        for (field, value, want) in bad {
            let mut alert: serde_json::Value = serde_json::from_str(&alert_json("")).expect("valid json");
            alert[field] = value;
            let extra = alert.to_string();
            let body = page(&[alert_json(""), extra.clone()]);
            let p = parse_page(body.as_bytes()).expect("envelope valid");
            assert_eq!(p.alerts.len(), 1, "{extra}");
            assert_eq!(p.rejected.len(), 1);
            assert!(p.rejected[0].reason.contains(want), "{} should contain {want}", p.rejected[0].reason);
            assert_eq!(p.rejected[0].id.as_deref(), Some("A1"));
        }
    }

    #[test]
    fn missing_required_field_is_rejected_with_its_name() {
        let raw = r#"{"id":"A2","source":"sm","raised_at":"2026-11-10T10:00:00Z","risk":3,"subject":{"kind":"student","id":"S"},"summary":"s"}"#;
        let r = parse_alert(raw).expect_err("no category");
        assert!(r.reason.contains("category"), "{}", r.reason);
        assert_eq!(r.raw, raw);
    }

    #[test]
    fn neither_risk_nor_level_is_rejected() {
        let raw = r#"{"id":"A2","source":"sm","raised_at":"2026-11-10T10:00:00Z","category":"x","subject":{"kind":"student","id":"S"},"summary":"s"}"#;
        assert!(parse_alert(raw).expect_err("no grade").reason.contains("risk"));
    }

    #[test]
    fn another_major_version_is_an_error() {
        let body = r#"{"feed":"vigil.alert-feed/2","alerts":[],"cursor":"c","more":false}"#;
        assert_eq!(
            parse_page(body.as_bytes()).expect_err("v2"),
            PageError::UnsupportedVersion("vigil.alert-feed/2".into())
        );
        let minor = r#"{"feed":"vigil.alert-feed/1.4","alerts":[],"cursor":"c","more":false}"#;
        assert!(parse_page(minor.as_bytes()).is_ok());
        let lookalike = r#"{"feed":"vigil.alert-feed/10","alerts":[],"cursor":"c","more":false}"#;
        assert!(parse_page(lookalike.as_bytes()).is_err());
    }

    #[test]
    fn invalid_and_truncated_json_are_errors() {
        assert!(matches!(parse_page(b"{\"feed\":"), Err(PageError::InvalidJson(_))));
        assert!(matches!(parse_page(b"<html>"), Err(PageError::InvalidJson(_))));
    }

    /// Any JSON value: what a buggy or hostile bridge could put where an alert should be.
    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,24}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    const FIELDS: &[&str] = &[
        "id",
        "source",
        "revision",
        "raised_at",
        "risk",
        "level",
        "category",
        "delivered_by",
        "subject",
        "device",
        "summary",
        "context",
        "captures",
        "suspected_illegal",
        "withdrawn",
    ];

    proptest! {
        /// Nothing is dropped silently: every element of `alerts` comes back as an alert or as a rejection
        /// that keeps its raw JSON, whatever it is.
        #[test]
        fn every_alert_of_a_page_is_kept_or_quarantined(
            elems in proptest::collection::vec(any_json(), 0..8),
            mutations in proptest::collection::vec((0..FIELDS.len(), any_json()), 0..4),
        ) {
            let mut valid: serde_json::Value = serde_json::from_str(&alert_json("")).expect("valid");
            for (f, v) in mutations {
                valid[FIELDS[f]] = v;
            }
            let mut all: Vec<String> = elems.iter().map(|e| e.to_string()).collect();
            all.push(valid.to_string());
            let p = parse_page(page(&all).as_bytes()).expect("the envelope is valid");
            prop_assert_eq!(p.alerts.len() + p.rejected.len(), all.len());
            for r in &p.rejected {
                prop_assert!(all.contains(&r.raw), "raw kept verbatim");
                prop_assert!(!r.reason.is_empty());
            }
        }

        /// Text is data: any Unicode (control characters, bidi overrides, escape sequences) is kept as sent.
        #[test]
        fn any_text_in_a_valid_alert_is_kept_verbatim(
            summary in "\\PC*|[\\x00-\\x1f\\x7f\\u{202e}\\u{1b}]{0,40}",
            name in ".{0,40}",
            category in ".{0,10}[^\\s]",
        ) {
            let mut a: serde_json::Value = serde_json::from_str(&alert_json("")).expect("valid");
            a["summary"] = summary.clone().into();
            a["subject"]["name"] = name.clone().into();
            a["category"] = category.clone().into();
            let alert = parse_alert(&a.to_string()).expect("valid");
            prop_assert_eq!(alert.summary, summary);
            prop_assert_eq!(alert.subject.name, Some(name));
            prop_assert_eq!(alert.category, category);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_page(&bytes);
        }

        #[test]
        fn parsing_arbitrary_alert_text_never_panics(s in ".{0,300}") {
            let _ = parse_alert(&s);
            let _ = parse_page(page(&[s]).as_bytes());
        }
    }
}
