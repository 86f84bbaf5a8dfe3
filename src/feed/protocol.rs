//! Protocol v1 (`shared/feed-protocol.md`): the page envelope and per-alert validation.
//!
//! A page is parsed in two steps so that one invalid alert never sinks its page: the envelope first, split
//! into its members and the `alerts` array into its elements as raw bytes (no element is decoded yet, so
//! bytes that are not UTF-8 inside one alert's string stay that alert's problem), then each alert on its own.
//! A bad alert is returned as a [`Rejected`] with its raw text and the reason, to be quarantined; nothing is
//! dropped silently. A key the envelope sends twice is read every time: `alerts` twice gives both arrays'
//! alerts, and two different `cursor`s are refused (the page stored, the cursor not).

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use crate::domain::{Alert, AlertKey, Capture, Delivery, Device, Level, Screenshot, Subject, SubjectKind};

pub const FEED_ID: &str = "vigil.alert-feed/1";

/// The longest cursor vigil accepts. A cursor goes back to the feed in the URL (`?since=`), and a URL much
/// longer than a few kilobytes is refused by HTTP libraries and servers alike (a 70 KB cursor once made
/// every later request fail to build).
pub const MAX_CURSOR_BYTES: usize = 4096;

/// A page whose envelope was valid: the alerts that passed and the ones that did not.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Page {
    pub alerts: Vec<Alert>,
    pub rejected: Vec<Rejected>,
    pub cursor: Option<String>,
    pub more: bool,
    /// The page's cursor could not be taken: its alerts are stored, the stored cursor stays as it was.
    pub cursor_refused: Option<CursorRefused>,
}

/// Why a page's cursor was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum CursorRefused {
    #[error(
        "the feed sent a cursor of {0} bytes, over vigil's limit of {MAX_CURSOR_BYTES}; its page was stored but the cursor was not, so vigil asks again from the cursor before it: the feed needs mending (then `vigil feed reset-cursor` if its operator says so)"
    )]
    TooLong(usize),
    #[error(
        "the feed sent two different cursors in one page; its page was stored but neither cursor was, so vigil asks again from the cursor before it: the feed needs mending"
    )]
    Conflicting,
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

impl PageError {
    /// Whether the page could not be read at all (not split into its alerts): such a page is kept raw for
    /// the DSL, and one sent again and again is named in the status bar.
    pub fn is_unreadable(&self) -> bool {
        matches!(self, PageError::InvalidJson(_) | PageError::MoreWithoutCursor)
    }
}

/// Parses one 200 body. Never panics, whatever the bytes. Its errors say what is wrong and where, never the
/// feed's text (they are logged, kept as the feed's last error and shown in the status bar).
pub fn parse_page(body: &[u8]) -> Result<Page, PageError> {
    let env = Envelope::split(body)?;
    let value_error = |at: usize, what: &str| PageError::InvalidJson(format!("{what} {}", position(body, at)));
    if env.feed.is_empty() {
        return Err(value_error(body.len(), "the page has no `feed`"));
    }
    for (at, raw) in &env.feed {
        let feed: String = serde_json::from_slice(raw).map_err(|_| value_error(*at, "`feed` is not a string"))?;
        check_version(&feed)?;
    }
    let Some(alerts) = env.alerts else {
        return Err(value_error(body.len(), "the page has no `alerts`"));
    };
    let mut cursors = Vec::new();
    for (at, raw) in &env.cursor {
        let c: Option<String> =
            serde_json::from_slice(raw).map_err(|_| value_error(*at, "`cursor` is not a string"))?;
        if !cursors.contains(&c) {
            cursors.push(c);
        }
    }
    let mut more = false;
    for (at, raw) in &env.more {
        more |= serde_json::from_slice::<bool>(raw).map_err(|_| value_error(*at, "`more` is not true or false"))?;
    }
    let (cursor, cursor_refused) = match cursors.as_slice() {
        [] => (None, None),
        [one] => match one {
            Some(c) if c.len() > MAX_CURSOR_BYTES => (None, Some(CursorRefused::TooLong(c.len()))),
            one => (one.clone(), None),
        },
        _ => (None, Some(CursorRefused::Conflicting)),
    };
    if more && cursor.is_none() && cursor_refused.is_none() {
        return Err(PageError::MoreWithoutCursor);
    }
    let mut page = Page { cursor, more, cursor_refused, ..Page::default() };
    for raw in alerts {
        let parsed = match std::str::from_utf8(raw) {
            Ok(text) => parse_alert(text),
            Err(e) => Err(not_utf8(raw, e.valid_up_to())),
        };
        match parsed {
            Ok(alert) => page.alerts.push(alert),
            Err(rejected) => page.rejected.push(rejected),
        }
    }
    Ok(page)
}

/// An alert whose bytes are not UTF-8: quarantined with its bytes kept, each one that is not UTF-8 written
/// `\xNN` (which JSON text cannot otherwise hold outside a string, nor inside one: a backslash there is
/// `\\`), so the record is text, inert, and still says exactly what was sent.
fn not_utf8(raw: &[u8], at: usize) -> Rejected {
    let mut text = String::with_capacity(raw.len() + 16);
    for chunk in raw.utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            text.push_str(&format!("\\x{b:02X}"));
        }
    }
    Rejected {
        source: None,
        id: None,
        reason: format!("the alert holds bytes that are not UTF-8 (the first at byte {at} of it; kept as \\xNN)"),
        raw: text,
    }
}

/// Line and column (1-based, in bytes) of byte `at` of `body`, as serde_json says them.
fn position(body: &[u8], at: usize) -> String {
    let before = body.get(..at.min(body.len())).unwrap_or_default();
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    format!("(line {line} column {column})")
}

/// The members of a page's envelope, as raw bytes with where each starts: every value of a key sent more
/// than once, and the `alerts` array already split into its elements.
#[derive(Default)]
struct Envelope<'a> {
    feed: Vec<(usize, &'a [u8])>,
    alerts: Option<Vec<&'a [u8]>>,
    cursor: Vec<(usize, &'a [u8])>,
    more: Vec<(usize, &'a [u8])>,
}

impl<'a> Envelope<'a> {
    fn split(body: &'a [u8]) -> Result<Envelope<'a>, PageError> {
        let mut env = Envelope::default();
        env.split_into(body)?;
        Ok(env)
    }

    /// Reads the members into `self` as far as it can: when the page fails part way, what came before the
    /// failure is still there.
    fn split_into(&mut self, body: &'a [u8]) -> Result<(), PageError> {
        let env = self;
        let mut scan = Scan { body, at: 0 };
        scan.expect(b'{')?;
        scan.space();
        if !scan.eat(b'}') {
            loop {
                scan.space();
                let key = scan.string()?;
                scan.space();
                scan.expect(b':')?;
                scan.space();
                let at = scan.at;
                // Keys are compared decoded (`"al\u0065rts"` is `alerts`); one that does not decode is unknown.
                match serde_json::from_slice::<String>(key).ok().as_deref() {
                    Some("alerts") => {
                        let elements = scan.array()?;
                        env.alerts.get_or_insert_with(Vec::new).extend(elements);
                    }
                    Some("feed") => env.feed.push((at, scan.value()?)),
                    Some("cursor") => env.cursor.push((at, scan.value()?)),
                    Some("more") => env.more.push((at, scan.value()?)),
                    // Unknown fields are ignored (forward compatibility), but must still be well-formed.
                    _ => {
                        scan.value()?;
                    }
                }
                scan.space();
                if scan.eat(b',') {
                    continue;
                }
                scan.expect(b'}')?;
                break;
            }
        }
        scan.space();
        if scan.at != body.len() {
            return Err(scan.error("there is text after the page"));
        }
        Ok(())
    }
}

/// The cursor of a page that could not be read whole, when the envelope gave one (and only one) before the
/// part that failed, within [`MAX_CURSOR_BYTES`].
pub fn salvage_cursor(body: &[u8]) -> Option<String> {
    let mut env = Envelope::default();
    let _ = env.split_into(body);
    let mut cursors = env.cursor.iter().map(|(_, raw)| serde_json::from_slice::<Option<String>>(raw).ok().flatten());
    let first = cursors.next()??;
    (cursors.all(|c| c.as_deref() == Some(first.as_str())) && first.len() <= MAX_CURSOR_BYTES).then_some(first)
}

/// A structural reader of JSON bytes: it finds where each value starts and ends without decoding it, so
/// bytes that are not UTF-8 inside a string do not stop it. Iterative: nesting cannot overflow the stack.
struct Scan<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn error(&self, what: &str) -> PageError {
        let what = if self.at >= self.body.len() { "it ends too soon" } else { what };
        PageError::InvalidJson(format!("{what} {}", position(self.body, self.at)))
    }

    fn space(&mut self) {
        while matches!(self.body.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.body.get(self.at) == Some(&c);
        self.at += usize::from(hit);
        hit
    }

    fn expect(&mut self, c: u8) -> Result<(), PageError> {
        if self.eat(c) { Ok(()) } else { Err(self.error("it is not well-formed")) }
    }

    /// A string, quotes included.
    fn string(&mut self) -> Result<&'a [u8], PageError> {
        let start = self.at;
        self.expect(b'"')?;
        loop {
            match self.body.get(self.at) {
                None => return Err(self.error("it ends too soon")),
                Some(b'\\') => self.at += 2,
                Some(b'"') => {
                    self.at += 1;
                    return Ok(&self.body[start..self.at]);
                }
                Some(_) => self.at += 1,
            }
        }
    }

    /// One value of any kind, as its bytes. Brackets are counted, not matched: a value that is not JSON
    /// inside is found out when it is decoded.
    fn value(&mut self) -> Result<&'a [u8], PageError> {
        let start = self.at;
        match self.body.get(self.at) {
            None => return Err(self.error("it ends too soon")),
            Some(b'"') => {
                self.string()?;
            }
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                loop {
                    match self.body.get(self.at) {
                        None => return Err(self.error("it ends too soon")),
                        Some(b'"') => {
                            self.string()?;
                            continue;
                        }
                        Some(b'{' | b'[') => depth += 1,
                        Some(b'}' | b']') => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                break;
                            }
                        }
                        Some(_) => {}
                    }
                    self.at += 1;
                }
            }
            Some(_) => {
                while let Some(c) = self.body.get(self.at) {
                    if matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.at += 1;
                }
                if self.at == start {
                    return Err(self.error("a value is missing"));
                }
            }
        }
        Ok(&self.body[start..self.at])
    }

    /// An array, as the bytes of each element.
    fn array(&mut self) -> Result<Vec<&'a [u8]>, PageError> {
        if self.body.get(self.at) != Some(&b'[') {
            return Err(self.error("`alerts` is not an array"));
        }
        self.at += 1;
        let mut elements = Vec::new();
        self.space();
        if self.eat(b']') {
            return Ok(elements);
        }
        loop {
            self.space();
            elements.push(self.value()?);
            self.space();
            if self.eat(b',') {
                continue;
            }
            self.expect(b']')?;
            return Ok(elements);
        }
    }
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
    if w.source.eq_ignore_ascii_case(crate::domain::alert::MANUAL_SOURCE) {
        // `manual:` keys are vigil's own: a feed alert under one could stand in for an alert a reviewer took.
        return Err(
            "`source` must not be `manual`: that source is vigil's own, for alerts typed in by a reviewer".into()
        );
    }
    if let Some(by) = w.delivered_by.filter(|d| !d.from_feed()) {
        return Err(format!("`delivered_by` must be dashboard, email or phone (got `{}`)", by.as_str()));
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
        intake: None,
        mail: None,
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
