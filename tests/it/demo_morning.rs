//! The demo opens on a morning as the product is meant to be used, whenever it is run: a few alerts raised
//! within the hour, one case overdue, the rest not yet due. The demo's data is a function of the `now` given
//! to it, so these tests pin it.

use crate::common;

use chrono::{DateTime, TimeZone, Utc};
use common::*;
use vigil::feed::demo::{DRIP_INITIAL, DemoData};
use vigil::feed::protocol::parse_page;

/// A London wall-clock time as UTC.
fn london(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Europe::London.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("unambiguous").with_timezone(&Utc)
}

/// The open cases the queue shows after the feed served `alerts` at `now`.
fn queue_after(alerts: &[serde_json::Value], now: DateTime<Utc>) -> Vec<vigil::service::CaseSummary> {
    let tmp = tempfile::tempdir().expect("tmp");
    let service = empty_service(&tmp.path().join("data"), dsl());
    let body = serde_json::json!({"feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": "c1", "more": false});
    let page = parse_page(body.to_string().as_bytes()).expect("page parses");
    service.ingest(&page, now).expect("ingest");
    service.queue_open(now).expect("queue")
}

#[test]
fn the_demo_opens_on_a_morning_with_a_few_new_alerts_and_one_overdue() {
    let nows = [
        london(2026, 12, 7, 8, 40),  // Monday, just after opening
        london(2026, 12, 2, 10, 0),  // Wednesday morning
        london(2026, 12, 4, 17, 30), // Friday evening, out of hours
        london(2026, 12, 6, 11, 0),  // Sunday
        london(2027, 3, 29, 9, 0),   // the Monday after the clocks go forward
    ];
    for now in nows {
        let data = DemoData::embedded(now).expect("embedded");
        // What `vigil --demo` shows at first sight (the rest drip in), and what `vigil demo-feed` serves at once.
        for served in [&data.alerts[..DRIP_INITIAL], &data.alerts[..]] {
            let queue = queue_after(served, now);
            assert!(queue.len() >= 20, "{now}: {} open cases", queue.len());
            let overdue: Vec<&str> = queue.iter().filter(|c| c.overdue).map(|c| c.id.as_str()).collect();
            assert_eq!(overdue.len(), 1, "{now}, {} served: one overdue case, not {overdue:?}", served.len());
            let new = queue.iter().filter(|c| now - c.raised_at <= chrono::Duration::hours(1)).count();
            assert!((3..=20).contains(&new), "{now}: a few raised in the last hour, not {new}");
            assert!(queue.iter().all(|c| c.raised_at <= now), "{now}: nothing raised in the future");
        }
    }
}
