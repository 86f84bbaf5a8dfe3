//! `vigil demo-feed`: protocol v1 served from the fictional data set in `assets/demo/`.
//!
//! The data set is embedded in the binary, so the demo runs anywhere. Its raise times are shifted by whole
//! weeks so the newest alert sits just before "now": weekday and time of day are kept, so an alert that was
//! out of hours in the data set is out of hours in the demo too. `--drip` releases alerts over time so a
//! demo shows them arriving.

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

use super::protocol::FEED_ID;

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
    /// The embedded data set, with raise and capture times moved to the week before `now`.
    pub fn embedded(now: DateTime<Utc>) -> Result<DemoData, String> {
        let alerts: Vec<Value> =
            serde_json::from_str(DEMO_ALERTS).map_err(|e| format!("embedded demo data is invalid: {e}"))?;
        Ok(DemoData { alerts: shift_to_recent(alerts, now) })
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

fn shift_to_recent(mut alerts: Vec<Value>, now: DateTime<Utc>) -> Vec<Value> {
    let newest = alerts.iter().filter_map(|a| parse_time(&a["raised_at"])).max();
    let Some(newest) = newest else { return alerts };
    let weeks = (now - newest.with_timezone(&Utc)).num_days().div_euclid(7);
    let shift = chrono::Duration::weeks(weeks);
    for a in &mut alerts {
        shift_times(a, shift);
    }
    alerts
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
    fn shifting_keeps_weekday_and_time_of_day_and_lands_in_the_last_week() {
        let now = DateTime::parse_from_rfc3339("2027-02-03T12:00:00Z").expect("lit").with_timezone(&Utc);
        let alerts = vec![
            serde_json::json!({"raised_at": "2026-11-10T14:05:00+00:00", "captures": [{"at": "2026-11-10T14:04:00+00:00"}]}),
        ];
        let shifted = shift_to_recent(alerts, now);
        let t = parse_time(&shifted[0]["raised_at"]).expect("time");
        assert_eq!(t.format("%a %H:%M").to_string(), "Tue 14:05");
        let age = now - t.with_timezone(&Utc);
        assert!(age >= chrono::Duration::zero() && age < chrono::Duration::weeks(1), "{age}");
        assert_eq!(parse_time(&shifted[0]["captures"][0]["at"]).expect("t").format("%H:%M").to_string(), "14:04");
    }
}
