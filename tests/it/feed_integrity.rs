//! Nothing is lost and nothing is doubled: revisions out of order, replayed pages, withdrawn alerts, and a
//! feed that says `more` without moving its cursor. Each goes through the real path: wiremock on loopback,
//! the client, `sync_once`, the service and a store of either backend (sled's in a tempdir).

use crate::backend_support::{Backend, both_backends, on_runtime};
use crate::feed_support;

use chrono::Utc;
use feed_support::*;
use serde_json::{Value, json};
use vigil::domain::case::CaseCommand;
use vigil::domain::{AlertKey, EventKind};
use vigil::intake::sync_once;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn sync_page(service: &crate::common::Svc, alerts: &[Value]) -> vigil::service::api::IngestReport {
    let server = serve(page(alerts, Some("c"), false)).await;
    sync_once(&client(&server.uri()), service).await.expect("sync")
}

both_backends!(
    a_lower_revision_after_a_higher_one_is_ignored,
    a_higher_revision_replaces_the_content_and_keeps_the_case_history,
    a_replayed_page_adds_no_events,
    withdrawn_marks_the_case_withdrawn_and_keeps_it,
    more_without_a_new_cursor_does_not_spin,
    an_invalid_alert_is_quarantined_and_the_rest_of_its_page_stored,
    a_failed_fetch_after_pages_still_stores_them_in_order_and_the_next_sync_resumes,
);

fn key(id: &str) -> AlertKey {
    AlertKey::new("smoothwall-monitor", id)
}

fn kinds(service: &crate::common::Svc, id: &str) -> Vec<EventKind> {
    service.cases().events(&key(id)).expect("events").into_iter().map(|e| e.kind).collect()
}

fn raised_count(service: &crate::common::Svc, id: &str) -> usize {
    kinds(service, id).iter().filter(|k| matches!(k, EventKind::Raised { .. })).count()
}

fn a_lower_revision_after_a_higher_one_is_ignored(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service_on(backend, dir.path());
    on_runtime(async {
        let r2 = sync_page(&service, &[alert("X", json!({"revision": 2, "summary": "rev two"}))]).await;
        assert_eq!(r2.new, 1);
        let r1 = sync_page(&service, &[alert("X", json!({"revision": 1, "summary": "rev one"}))]).await;
        assert_eq!((r1.new, r1.revised, r1.unchanged), (0, 0, 1));
        let stored = service.cases().alert(&key("X")).expect("get").expect("stored");
        assert_eq!((stored.revision, stored.summary.as_str()), (2, "rev two"));
        assert_eq!(kinds(&service, "X").len(), 1, "{:?}", kinds(&service, "X"));
        // An equal revision is ignored too.
        let again = sync_page(&service, &[alert("X", json!({"revision": 2, "summary": "changed?"}))]).await;
        assert_eq!(again.unchanged, 1);
        assert_eq!(service.cases().alert(&key("X")).expect("get").expect("stored").summary, "rev two");
    })
}

fn a_higher_revision_replaces_the_content_and_keeps_the_case_history(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service_on(backend, dir.path());
    on_runtime(async {
        sync_page(&service, &[alert("Y", json!({"revision": 1, "summary": "first", "risk": 3}))]).await;
        let now = Utc::now();
        service.act(&key("Y"), &CaseCommand::Note { text: "spoke to tutor".into() }, now).expect("note");

        let r3 = sync_page(&service, &[alert("Y", json!({"revision": 3, "summary": "third", "risk": 5}))]).await;
        assert_eq!(r3.revised, 1);
        let stored = service.cases().alert(&key("Y")).expect("get").expect("stored");
        assert_eq!((stored.revision, stored.summary.as_str()), (3, "third"));

        let detail = service.detail(&key("Y"), Utc::now()).expect("detail");
        let timeline: Vec<String> = detail.events.iter().map(|e| e.kind.describe()).collect();
        assert_eq!(raised_count(&service, "Y"), 1, "{timeline:?}");
        assert!(timeline.iter().any(|d| d.contains("spoke to tutor")), "history kept: {timeline:?}");
        assert!(
            detail.events.iter().any(|e| matches!(e.kind, EventKind::Revised { from: 1, to: 3, .. })),
            "a revised event: {timeline:?}"
        );
        assert!(timeline.iter().any(|d| d.contains("revised")), "{timeline:?}");
        assert_eq!(detail.summary.revision, 3);
    })
}

fn a_replayed_page_adds_no_events(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service_on(backend, dir.path());
    on_runtime(async {
        let alerts: Vec<Value> = (0..20).map(|i| alert(&format!("P{i}"), json!({}))).collect();
        let server = serve(page(&alerts, Some("c1"), false)).await;
        let client = client(&server.uri());
        let first = sync_once(&client, &service).await.expect("sync");
        assert_eq!(first.new, 20);
        let events_before = service.cases().all_events().count();
        for _ in 0..3 {
            let replay = sync_once(&client, &service).await.expect("replay");
            assert_eq!((replay.new, replay.revised, replay.unchanged), (0, 0, 20));
        }
        assert_eq!(service.cases().all_events().count(), events_before);
        assert_eq!(service.cases().alert_count().expect("count"), 20);
        for i in 0..20 {
            assert_eq!(raised_count(&service, &format!("P{i}")), 1);
        }
    })
}

fn withdrawn_marks_the_case_withdrawn_and_keeps_it(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service_on(backend, dir.path());
    on_runtime(async {
        sync_page(&service, &[alert("W", json!({})), alert("K", json!({}))]).await;
        let report = sync_page(&service, &[alert("W", json!({"revision": 2, "withdrawn": true}))]).await;
        assert_eq!(report.revised, 1);
        let queue = service.queue(Utc::now()).expect("queue");
        let w = queue.iter().find(|c| c.id == "W").expect("kept");
        assert_eq!(w.status, vigil::domain::Status::Withdrawn);
        assert!(!w.open);
        assert!(queue.iter().find(|c| c.id == "K").expect("other").open);
        assert!(kinds(&service, "W").contains(&EventKind::Withdrawn));
        // Arriving already withdrawn: stored and withdrawn at once.
        sync_page(&service, &[alert("W0", json!({"withdrawn": true}))]).await;
        let queue = service.queue(Utc::now()).expect("queue");
        assert_eq!(queue.iter().find(|c| c.id == "W0").expect("kept").status, vigil::domain::Status::Withdrawn);
    })
}

/// `more: true` with the cursor it was asked for would loop at once, forever: the sync ends instead.
fn more_without_a_new_cursor_does_not_spin(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service_on(backend, dir.path());
    on_runtime(async {
        let server = MockServer::start().await;
        Mock::given(path("/v1/alerts"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(page(&[alert("M", json!({}))], Some("same"), true), "application/json"),
            )
            .mount(&server)
            .await;
        sync_once(&client(&server.uri()), &service).await.expect("sync");
        // One request without `since`, one with `since=same` that answered `since=same` again: stop there.
        assert_eq!(server.received_requests().await.expect("recording").len(), 2);
        assert_eq!(service.cases().alert_count().expect("count"), 1);
    })
}

/// One invalid alert among valid ones: the valid ones are stored, the bad one quarantined whole.
fn an_invalid_alert_is_quarantined_and_the_rest_of_its_page_stored(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service_on(backend, dir.path());
    on_runtime(async {
        let bad = alert("BAD", json!({"risk": 9}));
        let report = sync_page(&service, &[alert("G1", json!({})), bad.clone(), alert("G2", json!({}))]).await;
        assert_eq!((report.new, report.quarantined), (2, 1));
        let q = service.cases().quarantined().expect("quarantine");
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].rejected.id.as_deref(), Some("BAD"));
        assert!(q[0].rejected.reason.contains("`risk` must be 1-5"), "{}", q[0].rejected.reason);
        assert_eq!(serde_json::from_str::<Value>(&q[0].rejected.raw).expect("raw kept"), bad);
        assert_eq!(service.cases().feed_state().expect("state").cursor.as_deref(), Some("c"));
    })
}

/// A page is stored while the next one is fetched: when that fetch fails, the pages before it are stored
/// all the same, the cursor names the last of them, and the next sync carries on from there.
fn a_failed_fetch_after_pages_still_stores_them_in_order_and_the_next_sync_resumes(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service_on(backend, dir.path());
    on_runtime(async {
        use wiremock::matchers::query_param;
        let server = MockServer::start().await;
        let first = page(&[alert("P1", json!({}))], Some("c1"), true);
        let second = page(&[alert("P2", json!({}))], Some("c2"), true);
        let third = page(&[alert("P3", json!({}))], Some("c3"), false);
        Mock::given(path("/v1/alerts"))
            .and(query_param("since", "c1"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(second, "application/json"))
            .mount(&server)
            .await;
        // The page after c2 fails once, then is served.
        Mock::given(path("/v1/alerts"))
            .and(query_param("since", "c2"))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(path("/v1/alerts"))
            .and(query_param("since", "c2"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(third, "application/json"))
            .mount(&server)
            .await;
        Mock::given(path("/v1/alerts"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(first, "application/json"))
            .mount(&server)
            .await;
        let client = client(&server.uri());

        let failed = sync_once(&client, &service).await;
        assert!(failed.is_err(), "the third fetch failed");
        assert_eq!(raised_count(&service, "P1"), 1);
        assert_eq!(raised_count(&service, "P2"), 1, "the page being stored when the fetch failed is stored");
        assert_eq!(raised_count(&service, "P3"), 0);
        assert_eq!(service.cases().feed_state().expect("state").cursor.as_deref(), Some("c2"));

        let report = sync_once(&client, &service).await.expect("resumes");
        assert_eq!(report.new, 1, "only the third page is new");
        for id in ["P1", "P2", "P3"] {
            assert_eq!(raised_count(&service, id), 1, "{id}");
        }
        assert_eq!(service.cases().feed_state().expect("state").cursor.as_deref(), Some("c3"));
    })
}
