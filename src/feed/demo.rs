//! `vigil demo-feed`: protocol v1 served from the fictional data set in `assets/demo/`.
//!
//! The data set is embedded in the binary, so the demo runs anywhere. Its raise times are set relative to
//! "now" as a working morning looks when the product is used as meant (see [`as_a_morning`]): a couple of
//! High alerts raised minutes ago and one past due, Medium alerts from the last day, Low ones from the last
//! three days, none of them overdue but the one. `--drip` releases alerts over time so a demo shows them
//! arriving.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use tokio::net::TcpListener;

use super::protocol::{FEED_ID, parse_alert};
use crate::domain::calendar::{DueLevel, DuePolicy, WorkingCalendar, due_at};
use crate::domain::levels::LevelPolicy;
use crate::domain::{AlertKey, Level};

pub const DEMO_ALERTS: &str = include_str!("../../assets/demo/alerts.json");
include!(concat!(env!("OUT_DIR"), "/demo_screenshots.rs"));

/// How many alerts are released at once when dripping; the rest follow one per drip interval.
pub const DRIP_INITIAL: usize = 30;
const MAX_LIMIT: usize = 500;

#[derive(Debug)]
pub struct DemoData {
    pub alerts: Vec<Value>,
}

impl DemoData {
    /// The embedded data set as a morning at `now`: raise and capture times are set relative to it.
    pub fn embedded(now: DateTime<Utc>) -> Result<DemoData, String> {
        let alerts: Vec<Value> =
            serde_json::from_str(DEMO_ALERTS).map_err(|e| format!("embedded demo data is invalid: {e}"))?;
        Ok(DemoData { alerts: as_a_morning(alerts, now) })
    }

    pub fn from_alerts(alerts: Vec<Value>) -> DemoData {
        DemoData { alerts }
    }
}

fn parse_time(v: &Value) -> Option<DateTime<chrono::FixedOffset>> {
    v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok())
}

/// Moves an alert's raise time and its captures' times by `shift`.
fn shift_times(alert: &mut Value, shift: chrono::Duration) {
    let move_time = |v: &mut Value| {
        if let Some(t) = parse_time(v) {
            *v = Value::String((t + shift).to_rfc3339());
        }
    };
    move_time(&mut alert["raised_at"]);
    if let Some(caps) = alert.get_mut("captures").and_then(Value::as_array_mut) {
        for c in caps {
            if let Some(at) = c.get_mut("at") {
                move_time(at);
            }
        }
    }
}

/// How long before "now" each alert of the data set was raised, so that the demo opens on the queue a
/// reviewer meets on an ordinary morning rather than on a week nobody looked at. Planned with the default
/// working calendar and due times (a demo store uses them unless configured otherwise):
/// - in the first batch (what the queue shows at first sight, [`DRIP_INITIAL`] alerts), the oldest High is
///   past due (the latest whole hour back from `now` at which it would be) and the other Highs were raised
///   minutes ago, well inside their 30 working minutes; Medium alerts spread over the last day (due at the
///   close of the next working day, so none is overdue) and Low alerts over the last three days (due five
///   working days on);
/// - the alerts after the first batch are planned the same way, without an overdue one (`--drip` raises
///   each at its release instead).
///
/// Revisions of an alert keep one raise time, and captures move with their alert.
fn as_a_morning(mut alerts: Vec<Value>, now: DateTime<Utc>) -> Vec<Value> {
    let calendar = WorkingCalendar::london_default();
    let policy = DuePolicy::default();
    let levels = LevelPolicy::default();
    // Each alert once, at its first appearance, with the level of its latest revision.
    let mut firsts: Vec<(AlertKey, usize, Level)> = Vec::new();
    for (i, v) in alerts.iter().enumerate() {
        let Ok(alert) = serde_json::to_string(v).map_err(|_| ()).and_then(|raw| parse_alert(&raw).map_err(|_| ()))
        else {
            continue;
        };
        let level = levels.grade(&alert).level;
        match firsts.iter_mut().find(|(k, _, _)| *k == alert.key) {
            Some(entry) => entry.2 = level,
            None => firsts.push((alert.key, i, level)),
        }
    }
    let mut raised_at: HashMap<AlertKey, DateTime<Utc>> = HashMap::new();
    let (first_batch, later): (Vec<_>, Vec<_>) = firsts.iter().partition(|(_, i, _)| *i < DRIP_INITIAL);
    for (batch, with_overdue) in [(first_batch, true), (later, false)] {
        for level in Level::ALL {
            // Newest first within the level.
            let of_level: Vec<&AlertKey> =
                batch.iter().rev().filter(|(_, _, l)| *l == level).map(|(k, _, _)| k).collect();
            let n = i32::try_from(of_level.len()).unwrap_or(i32::MAX).max(1);
            for (rank, key) in (0..).zip(of_level) {
                let at = match level {
                    Level::High if with_overdue && rank + 1 == n => overdue_high(&calendar, &policy, now),
                    Level::High => now - chrono::Duration::minutes(5 + i64::from(rank * 20 / n)),
                    Level::Medium => now - chrono::Duration::minutes(45 + i64::from(rank * 19 * 60 / n)),
                    Level::Low => now - chrono::Duration::minutes(2 * 60 + i64::from(rank * 68 * 60 / n)),
                };
                raised_at.insert(key.clone(), at);
            }
        }
    }
    for v in &mut alerts {
        let key = AlertKey::new(
            v["source"].as_str().unwrap_or_default().to_string(),
            v["id"].as_str().unwrap_or_default().to_string(),
        );
        if let (Some(at), Some(was)) = (raised_at.get(&key), parse_time(&v["raised_at"])) {
            let shift = *at - was.with_timezone(&Utc);
            shift_times(v, shift);
        }
    }
    alerts
}

/// The latest whole hour back from `now` at which a High alert would already be past due.
fn overdue_high(calendar: &WorkingCalendar, policy: &DuePolicy, now: DateTime<Utc>) -> DateTime<Utc> {
    (1..=24 * 21)
        .map(|h| now - chrono::Duration::hours(h))
        .find(|t| due_at(calendar, policy, DueLevel::High, *t) < now)
        .unwrap_or(now - chrono::Duration::days(21))
}

struct FeedState {
    alerts: Vec<Value>,
    drip: Option<Duration>,
    started: tokio::time::Instant,
    started_at: DateTime<Utc>,
    token: Option<String>,
}

impl FeedState {
    /// Alert `i` as served. When dripping, an alert released after the first batch is raised at its release
    /// time (its captures moved with it), so the demo shows new alerts arriving as new, not already overdue.
    fn as_released(&self, i: usize) -> Value {
        let mut alert = self.alerts[i].clone();
        let Some(d) = self.drip.filter(|_| i >= DRIP_INITIAL) else { return alert };
        let ticks = u32::try_from(i - DRIP_INITIAL + 1).unwrap_or(u32::MAX);
        let Some(release) = chrono::Duration::from_std(d.saturating_mul(ticks)).ok().map(|d| self.started_at + d)
        else {
            return alert;
        };
        let Some(raised) = parse_time(&alert["raised_at"]) else { return alert };
        shift_times(&mut alert, release - raised.with_timezone(&Utc));
        alert
    }

    fn released(&self) -> usize {
        match self.drip {
            None => self.alerts.len(),
            Some(d) => {
                let ticks = (self.started.elapsed().as_secs_f64() / d.as_secs_f64().max(0.001)) as usize;
                (DRIP_INITIAL + ticks).min(self.alerts.len())
            }
        }
    }
}

#[derive(Deserialize)]
struct AlertsQuery {
    since: Option<String>,
    limit: Option<String>,
}

/// Builds the demo feed's router: `GET /v1/alerts` and `GET /screenshots/{name}`.
pub fn router(data: DemoData, drip: Option<Duration>, token: Option<String>) -> Router {
    let state = Arc::new(FeedState {
        alerts: data.alerts,
        drip,
        started: tokio::time::Instant::now(),
        started_at: Utc::now(),
        token,
    });
    Router::new().route("/v1/alerts", get(alerts)).route("/screenshots/{name}", get(screenshot)).with_state(state)
}

fn authorized(state: &FeedState, headers: &HeaderMap) -> bool {
    match &state.token {
        None => true,
        Some(t) => headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {t}")),
    }
}

async fn alerts(State(state): State<Arc<FeedState>>, Query(q): Query<AlertsQuery>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return (StatusCode::UNAUTHORIZED, "token required").into_response();
    }
    let start = match q.since.as_deref() {
        None => 0,
        Some(c) => match c.strip_prefix('c').and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return (StatusCode::BAD_REQUEST, "unknown cursor").into_response(),
        },
    };
    let limit = q.limit.and_then(|l| l.parse::<usize>().ok()).unwrap_or(MAX_LIMIT).clamp(1, MAX_LIMIT);
    let released = state.released();
    let start = start.min(released);
    let end = (start + limit).min(released);
    let etag = format!("\"{start}-{end}-{released}\"");
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let body = serde_json::json!({
        "feed": FEED_ID,
        "alerts": (start..end).map(|i| state.as_released(i)).collect::<Vec<_>>(),
        "cursor": format!("c{end}"),
        "more": end < released,
    });
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut resp = ([(header::CONTENT_TYPE, "application/json")], bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

async fn screenshot(State(state): State<Arc<FeedState>>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return (StatusCode::UNAUTHORIZED, "token required").into_response();
    }
    let files: HashMap<&str, &[u8]> = DEMO_SCREENSHOTS.iter().copied().collect();
    match files.get(name.as_str()) {
        Some(bytes) => ([(header::CONTENT_TYPE, "image/png")], *bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Binds `addr` and serves until the returned handle is dropped or aborted. Returns the bound address
/// (useful with port 0).
pub async fn spawn(
    addr: SocketAddr,
    data: DemoData,
    drip: Option<Duration>,
    token: Option<String>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = router(data, drip, token);
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "demo feed stopped");
        }
    });
    Ok((local, handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_data_set_is_valid_protocol_v1() {
        let data = DemoData::embedded(Utc::now()).expect("embedded");
        assert!(data.alerts.len() >= 40);
        for a in &data.alerts {
            let raw = serde_json::to_string(a).expect("json");
            let ok = crate::feed::protocol::parse_alert(&raw);
            assert!(ok.is_ok(), "{:?}", ok.err());
        }
    }

    #[test]
    fn dripped_alerts_are_raised_when_they_are_released() {
        let started_at = DateTime::parse_from_rfc3339("2026-11-16T10:00:00Z").expect("lit").with_timezone(&Utc);
        let alerts: Vec<Value> = (0..DRIP_INITIAL + 2)
            .map(|i| {
                serde_json::json!({"id": format!("A{i}"), "raised_at": "2026-11-10T14:05:00+00:00",
                "captures": [{"at": "2026-11-10T14:04:00+00:00"}]})
            })
            .collect();
        let state = FeedState {
            alerts,
            drip: Some(Duration::from_secs(20)),
            started: tokio::time::Instant::now(),
            started_at,
            token: None,
        };
        assert_eq!(state.as_released(0)["raised_at"], "2026-11-10T14:05:00+00:00", "the first batch keeps its times");
        let second = state.as_released(DRIP_INITIAL + 1);
        assert_eq!(
            parse_time(&second["raised_at"]).map(|t| t.with_timezone(&Utc)),
            Some(started_at + chrono::Duration::seconds(40))
        );
        assert_eq!(
            parse_time(&second["captures"][0]["at"]).map(|t| t.with_timezone(&Utc)),
            Some(started_at + chrono::Duration::seconds(40) - chrono::Duration::minutes(1)),
            "captures move with their alert"
        );
    }

    #[test]
    fn the_morning_is_a_function_of_now_and_revisions_share_their_raise_time() {
        let now = DateTime::parse_from_rfc3339("2027-02-03T10:00:00Z").expect("lit").with_timezone(&Utc);
        let a = DemoData::embedded(now).expect("embedded").alerts;
        assert_eq!(a, DemoData::embedded(now).expect("embedded").alerts, "the same now gives the same data");
        let later = DemoData::embedded(now + chrono::Duration::days(3)).expect("embedded").alerts;
        let raised = |v: &Value| parse_time(&v["raised_at"]).map(|t| t.with_timezone(&Utc));
        for (x, y) in a.iter().zip(&later) {
            let (Some(x), Some(y)) = (raised(x), raised(y)) else { panic!("every alert keeps a raise time") };
            assert!(x <= now && now - x < chrono::Duration::days(4), "{x}");
            assert!(y > x, "the data moves with now");
        }
        let revisions: Vec<_> = a.iter().filter(|v| v["id"] == "SW-2026-004515").map(raised).collect();
        assert_eq!(revisions.len(), 2);
        assert_eq!(revisions[0], revisions[1], "a revision keeps its alert's raise time");
        let first = a.iter().find(|v| v["id"] == "SW-2026-004501").expect("first alert");
        let (Some(at), Some(capture)) = (raised(first), parse_time(&first["captures"][0]["at"])) else {
            panic!("times")
        };
        assert_eq!(at - capture.with_timezone(&Utc), chrono::Duration::minutes(3), "captures move with their alert");
    }
}
