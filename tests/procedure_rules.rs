//! Procedure rules that span the feed and the reviewer: escalations, reinstatements, the illegal-content path
//! after a regrade, and what "overdue" means. Through the real ingest and case service on a real store.

mod common;

use chrono::Duration;
use common::*;
use vigil::domain::case::CaseCommand;
use vigil::domain::{AlertKey, EventKind, Level};
use vigil::feed::protocol::parse_page;
use vigil::service::CaseService;

fn alert(id: &str, revision: u32, risk: u8, category: &str, withdrawn: bool) -> String {
    format!(
        r#"{{"id":"{id}","source":"sm","revision":{revision},"raised_at":"2026-11-16T09:00:00+00:00","risk":{risk},
            "category":"{category}","subject":{{"kind":"student","id":"S1"}},"summary":"s","withdrawn":{withdrawn}}}"#
    )
}

fn ingest(service: &CaseService, alerts: &[String]) -> vigil::store::IngestReport {
    let body = format!(r#"{{"feed":"vigil.alert-feed/1","alerts":[{}],"cursor":"c","more":false}}"#, alerts.join(","));
    service.ingest(&parse_page(body.as_bytes()).expect("page"), fixed_now()).expect("ingest")
}

fn service(tmp: &tempfile::TempDir) -> CaseService {
    let dir = tmp.path().join("data");
    let store = vigil::store::Store::open(&dir, &vigil::store::StoreKey::file(key_file_for(&dir))).expect("store");
    let c = vigil::config::Config::default();
    CaseService::new(store, c.calendar(), c.due, c.levels.clone(), dsl())
}

fn close_fully(s: &CaseService, key: &AlertKey, outcome: &str) {
    let now = fixed_now();
    let t = s.templates();
    for id in s.detail(key, now).expect("detail").missing_required {
        let item = t.item(&id).expect("item");
        let value = match item.kind.as_str() {
            "tick" => None,
            "choice" => item.choices.first().cloned(),
            "date" => Some("2026-11-16".into()),
            "time" => Some("09:30".into()),
            _ => Some("ref".into()),
        };
        s.act(key, &CaseCommand::Tick { item: id.clone(), value, note: None }, now).expect("tick");
    }
    s.act(key, &CaseCommand::Close { outcome: outcome.into() }, now).expect("close");
}

#[test]
fn a_high_case_stops_being_overdue_once_the_student_is_contacted() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp);
    ingest(&s, &[alert("A1", 1, 5, "self-harm", false)]);
    let key = AlertKey::new("sm", "A1");
    let later = fixed_now() + Duration::hours(2);
    let row = |s: &CaseService| s.queue(later).expect("queue").into_iter().find(|c| c.key == key).expect("row");
    assert!(row(&s).overdue, "due 30 working minutes after 09:00");
    s.act(
        &key,
        &CaseCommand::Tick { item: "high-contact-time".into(), value: Some("09:20".into()), note: None },
        later,
    )
    .expect("contact recorded");
    let r = row(&s);
    assert!(!r.overdue, "the response the due time is for has been made");
    assert!(r.open, "but the case stays open until every required step is done");
}

#[test]
fn regrading_grooming_to_high_puts_it_on_the_illegal_content_path() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp);
    ingest(&s, &[alert("G1", 1, 3, "grooming", false)]);
    let key = AlertKey::new("sm", "G1");
    assert!(!s.detail(&key, fixed_now()).expect("d").case.illegal_path, "Medium grooming is not on the path");
    s.act(&key, &CaseCommand::Regrade { level: Level::High, reason: "adult arranging to meet".into() }, fixed_now())
        .expect("regrade");
    let d = s.detail(&key, fixed_now()).expect("detail");
    assert!(d.case.illegal_path);
    assert!(d.missing_required.contains(&"illegal-police-ref".to_string()), "{:?}", d.missing_required);
    assert!(d.missing_required.contains(&"illegal-second-senior".to_string()));
}

#[test]
fn a_withdrawal_taken_back_by_the_vendor_reinstates_the_case() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp);
    ingest(&s, &[alert("W1", 1, 3, "drugs", true)]);
    let key = AlertKey::new("sm", "W1");
    let status = |s: &CaseService| s.detail(&key, fixed_now()).expect("d").summary.status;
    assert_eq!(status(&s), "withdrawn");
    ingest(&s, &[alert("W1", 2, 3, "drugs", false)]);
    assert_eq!(status(&s), "new", "back in the open queue");
    let events = s.store().events(&key).expect("events");
    assert!(events.iter().any(|e| e.kind == EventKind::Reinstated));
}

#[test]
fn a_revision_that_escalates_a_closed_case_reopens_it_and_rings_the_bell() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp);
    let first = ingest(&s, &[alert("E1", 1, 2, "violence", false)]);
    assert_eq!(first.new_high, 0);
    let key = AlertKey::new("sm", "E1");
    close_fully(&s, &key, "no-further-action");
    assert_eq!(s.detail(&key, fixed_now()).expect("d").summary.status, "closed");
    // Where the index holds it: (among the open cases, among the rest).
    let held = || {
        let count = |rows: Vec<vigil::service::CaseSummary>| rows.iter().filter(|c| c.key == key).count();
        let now = fixed_now();
        (count(s.queue_open(now).expect("open")), count(s.queue_closed(now).expect("closed")))
    };
    assert_eq!(held(), (0, 1), "closing moved it out of the open cases");

    let same = ingest(&s, &[alert("E1", 2, 2, "violence", false)]);
    assert_eq!(same.new_high, 0, "a revision at the same level changes nothing");
    assert_eq!(s.detail(&key, fixed_now()).expect("d").summary.status, "closed");

    let up = ingest(&s, &[alert("E1", 3, 5, "violence", false)]);
    assert_eq!(up.new_high, 1, "an escalation to High rings the bell");
    let d = s.detail(&key, fixed_now()).expect("d");
    assert_eq!(d.summary.level, Level::High);
    assert!(d.summary.open, "the escalated case is back in the queue");
    assert_eq!(held(), (1, 0), "and among the open cases only");
    assert!(d.events.iter().any(|e| matches!(&e.kind, EventKind::Reopened { reason } if reason.contains("now high"))));
}

#[test]
fn the_queue_index_always_equals_a_rebuild_from_the_event_log() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp);
    ingest(
        &s,
        &[
            alert("I1", 1, 5, "self-harm", false),
            alert("I2", 1, 2, "drugs", true),
            alert("I3", 1, 3, "grooming", false),
        ],
    );
    let now = fixed_now();
    let k = |id: &str| AlertKey::new("sm", id);
    s.act(
        &k("I1"),
        &CaseCommand::Tick { item: "high-contact-time".into(), value: Some("09:10".into()), note: None },
        now,
    )
    .expect("tick");
    s.act(
        &k("I1"),
        &CaseCommand::Tick { item: "post-follow-up-date".into(), value: Some("2026-11-18".into()), note: None },
        now,
    )
    .expect("follow-up");
    s.act(&k("I3"), &CaseCommand::Regrade { level: Level::High, reason: "r".into() }, now).expect("regrade");
    s.mark_viewed(&k("I2"), now).expect("view");
    ingest(&s, &[alert("I2", 2, 4, "drugs", false), alert("I1", 2, 5, "self-harm", false)]);
    close_fully(&s, &k("I2"), "false-positive");
    let before = s.queue(now).expect("queue");
    s.store().rebuild_index().expect("rebuild");
    let after = s.queue(now).expect("queue");
    assert_eq!(before, after, "the index kept step by step equals the fold of the log");
    let i1 = after.iter().find(|c| c.key == k("I1")).expect("I1");
    assert!(!i1.overdue && i1.follow_up.is_some());
}
