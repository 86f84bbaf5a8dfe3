//! Procedure rules that span the feed and the reviewer: escalations, reinstatements, the illegal-content path
//! after a regrade, and what "overdue" means. Through the real ingest and case service on a real store.

use crate::backend_support::{Backend, both_backends};
use crate::common;

use chrono::Duration;
use common::*;
use vigil::domain::case::CaseCommand;
use vigil::domain::{AlertKey, EventKind, Level, Status};
use vigil::feed::protocol::parse_page;

fn alert(id: &str, revision: u32, risk: u8, category: &str, withdrawn: bool) -> String {
    format!(
        r#"{{"id":"{id}","source":"sm","revision":{revision},"raised_at":"2026-11-16T09:00:00+00:00","risk":{risk},
            "category":"{category}","subject":{{"kind":"student","id":"S1"}},"summary":"s","withdrawn":{withdrawn}}}"#
    )
}

fn ingest(service: &crate::common::Svc, alerts: &[String]) -> vigil::service::api::IngestReport {
    let body = format!(r#"{{"feed":"vigil.alert-feed/1","alerts":[{}],"cursor":"c","more":false}}"#, alerts.join(","));
    service.ingest(&parse_page(body.as_bytes()).expect("page"), fixed_now()).expect("ingest")
}

fn service(tmp: &tempfile::TempDir, backend: Backend) -> crate::common::Svc {
    service_for(tmp, backend, dsl())
}

fn service_for(tmp: &tempfile::TempDir, backend: Backend, viewer: vigil::identity::Viewer) -> crate::common::Svc {
    let c = vigil::config::Config::default();
    let policy = vigil::service::Policy::with(c.calendar(), c.due, c.levels.clone());
    crate::common::Svc::on(backend, &tmp.path().join("data"), policy, viewer)
}

/// The queue index holds, for every case, the fold of its event log (on sled, also: equal to a rebuild).
fn index_is_the_fold_of_the_log(s: &crate::common::Svc, backend: Backend) {
    let now = fixed_now();
    let queue = s.queue(now).expect("queue");
    for row in &queue {
        crate::common::assert_index_is_the_fold_of_the_log(s, &row.key);
    }
    if backend == Backend::Sled {
        s.store().rebuild_index().expect("rebuild");
        assert_eq!(queue, s.queue(now).expect("queue"), "the index kept step by step equals a rebuild");
    }
}

fn close_fully(s: &crate::common::Svc, key: &AlertKey, outcome: &str) {
    crate::common::tick_all_required(s, key);
    let now = fixed_now();
    s.act(key, &CaseCommand::Close { outcome: outcome.into() }, now).expect("close");
}

fn a_high_case_stops_being_overdue_once_the_student_is_contacted(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp, backend);
    ingest(&s, &[alert("A1", 1, 5, "self-harm", false)]);
    let key = AlertKey::new("sm", "A1");
    let later = fixed_now() + Duration::hours(2);
    let row = |s: &crate::common::Svc| s.queue(later).expect("queue").into_iter().find(|c| c.key == key).expect("row");
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

fn regrading_grooming_to_high_puts_it_on_the_illegal_content_path(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp, backend);
    ingest(&s, &[alert("G1", 1, 3, "grooming", false)]);
    let key = AlertKey::new("sm", "G1");
    assert!(!s.detail(&key, fixed_now()).expect("d").case.illegal_path, "Medium grooming is not on the path");
    let decided = s
        .act(&key, &CaseCommand::Regrade { level: Level::High, reason: "adult arranging to meet".into() }, fixed_now())
        .expect("regrade");
    // One decision (issue 14): both events come back from the one `act`, written in its one transaction.
    let kinds: Vec<&EventKind> = decided.iter().map(|e| &e.kind).collect();
    assert!(
        matches!(kinds[..], [EventKind::Regraded { to: Level::High, .. }, EventKind::IllegalPathChosen { .. }]),
        "{kinds:?}"
    );
    let d = s.detail(&key, fixed_now()).expect("detail");
    assert!(d.case.illegal_path);
    assert!(d.missing_required.contains(&"illegal-police-ref".to_string()), "{:?}", d.missing_required);
    assert!(d.missing_required.contains(&"illegal-second-senior".to_string()));
}

fn a_withdrawal_taken_back_by_the_vendor_reinstates_the_case(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp, backend);
    ingest(&s, &[alert("W1", 1, 3, "drugs", true)]);
    let key = AlertKey::new("sm", "W1");
    let status = |s: &crate::common::Svc| s.detail(&key, fixed_now()).expect("d").summary.status;
    assert_eq!(status(&s), Status::Withdrawn);
    ingest(&s, &[alert("W1", 2, 3, "drugs", false)]);
    assert_eq!(status(&s), Status::New, "back in the open queue");
    let events = s.cases().events(&key).expect("events");
    assert!(events.iter().any(|e| e.kind == EventKind::Reinstated));
}

fn a_revision_that_escalates_a_closed_case_reopens_it_and_rings_the_bell(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp, backend);
    let first = ingest(&s, &[alert("E1", 1, 2, "violence", false)]);
    assert_eq!(first.new_high, 0);
    let key = AlertKey::new("sm", "E1");
    close_fully(&s, &key, "no-further-action");
    assert_eq!(s.detail(&key, fixed_now()).expect("d").summary.status, Status::Closed);
    // Where the index holds it: (among the open cases, among the rest).
    let held = || {
        let count = |rows: Vec<vigil::service::CaseSummary>| rows.iter().filter(|c| c.key == key).count();
        let now = fixed_now();
        (count(s.queue_open(now).expect("open")), count(s.queue_closed(now).expect("closed")))
    };
    assert_eq!(held(), (0, 1), "closing moved it out of the open cases");

    let same = ingest(&s, &[alert("E1", 2, 2, "violence", false)]);
    assert_eq!(same.new_high, 0, "a revision at the same level changes nothing");
    assert_eq!(s.detail(&key, fixed_now()).expect("d").summary.status, Status::Closed);

    let up = ingest(&s, &[alert("E1", 3, 5, "violence", false)]);
    assert_eq!(up.new_high, 1, "an escalation to High rings the bell");
    let d = s.detail(&key, fixed_now()).expect("d");
    assert_eq!(d.summary.level, Level::High);
    assert!(d.summary.open, "the escalated case is back in the queue");
    assert_eq!(held(), (1, 0), "and among the open cases only");
    assert!(d.events.iter().any(|e| matches!(&e.kind, EventKind::Reopened { reason } if reason.contains("now high"))));
}

fn the_queue_index_always_equals_a_rebuild_from_the_event_log(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp, backend);
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
    index_is_the_fold_of_the_log(&s, backend);
    let after = s.queue(now).expect("queue");
    let i1 = after.iter().find(|c| c.key == k("I1")).expect("I1");
    assert!(!i1.overdue && i1.follow_up.is_some());
}

/// Issue 19 item 12: one rule for overdue. A High case whose contact is recorded is not overdue anywhere: not
/// in the queue, its header, the dashboard or a report; a High case without contact is overdue in all four.
fn the_queue_its_header_the_dashboard_and_the_report_agree_on_overdue(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp, backend);
    ingest(&s, &[alert("C1", 1, 5, "self-harm", false), alert("N1", 1, 5, "self-harm", false)]);
    let later = fixed_now() + Duration::hours(2);
    let contact = CaseCommand::Tick { item: "high-contact-time".into(), value: Some("09:20".into()), note: None };
    s.act(&AlertKey::new("sm", "C1"), &contact, later).expect("contact recorded");

    let queue = s.queue(later).expect("queue");
    let overdue_rows: Vec<&str> = queue.iter().filter(|c| c.overdue).map(|c| c.id.as_str()).collect();
    assert_eq!(overdue_rows, ["N1"], "the queue");
    assert_eq!(vigil::app::QueueCounts::of(&queue).overdue, 1, "the header");
    let tz = s.calendar().time_zone();
    assert_eq!(vigil::report::duty_summary(&queue, &[], later, tz).overdue, 1, "the dashboard");
    let day = later.with_timezone(&tz).date_naive();
    let period = vigil::report::Period::new(day, day).expect("period");
    let options = vigil::report::Options { min_group: 1, now: later };
    let figures = vigil::report::compute(&s.report_data(false).expect("data"), period, &options);
    assert_eq!(figures.overdue_by_level.high, vigil::report::Count::Exact(1), "the report");
}

/// Issue 19 item 6: the CPOMS text is a fold of the same events as the checklist. An item undone is not in
/// it; an item ticked again carries its new value; a regrade shows in its level.
fn the_cpoms_text_follows_undo_and_regrade_like_the_checklist(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp, backend);
    ingest(&s, &[alert("U1", 1, 5, "self-harm", false)]);
    let key = AlertKey::new("sm", "U1");
    let now = fixed_now();
    let tick = |v: &str| CaseCommand::Tick { item: "high-contact-time".into(), value: Some(v.into()), note: None };
    s.act(&key, &tick("13:30"), now).expect("tick");
    let cpoms = |s: &crate::common::Svc| s.records(&key, now).expect("records").cpoms;
    assert!(cpoms(&s).contains("time contact was made: 13:30"), "{}", cpoms(&s));
    s.act(&key, &CaseCommand::Untick { item: "high-contact-time".into(), reason: "wrong time".into() }, now)
        .expect("untick");
    let undone = cpoms(&s);
    assert!(!undone.contains("time contact was made"), "the undone item is still recorded:\n{undone}");
    assert!(!s.detail(&key, now).expect("d").checklist.iter().any(|i| i.id == "high-contact-time" && i.done));
    s.act(&key, &tick("13:45"), now + Duration::minutes(1)).expect("tick again");
    let again = cpoms(&s);
    assert!(again.contains("time contact was made: 13:45") && !again.contains("13:30"), "{again}");
    s.act(&key, &CaseCommand::Regrade { level: Level::Medium, reason: "context".into() }, now).expect("regrade");
    let regraded = cpoms(&s);
    assert!(regraded.starts_with("Monitoring alert (medium level)"), "{regraded}");
    assert!(regraded.contains("regraded high to medium: context"), "{regraded}");
    assert!(regraded.contains("time contact was made: 13:45"), "done before the regrade, still done: {regraded}");
}

/// Issue 19 item 7: line breaks a reviewer typed are line breaks in the CPOMS text (indented under their
/// action), and the text stays inert: any other control character is shown, not sent.
fn a_multi_line_note_keeps_its_line_breaks_in_the_cpoms_text(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp, backend);
    ingest(&s, &[alert("L1", 1, 3, "bullying", false)]);
    let key = AlertKey::new("sm", "L1");
    let note = "Spoke to the student; parent present.\r\nReferred to counselling.\n\u{1b}]52;c;eA==\u{7}done";
    s.act(&key, &CaseCommand::Note { text: note.into() }, fixed_now()).expect("note");
    let cpoms = s.records(&key, fixed_now()).expect("records").cpoms;
    assert!(
        cpoms.contains("note: Spoke to the student; parent present.\n  Referred to counselling.\n  ␛]52"),
        "{cpoms}"
    );
    assert!(!cpoms.contains('␊') && !cpoms.contains('\r'), "{cpoms}");
    assert!(vigil::domain::inert::is_inert(&cpoms), "{cpoms:?}");
}

/// Issue 19 item 11: the timeline dates the raise when the alert was raised (09:00), not when vigil stored
/// it (10:00); the storing is its own line.
fn the_timeline_dates_the_raise_when_the_alert_was_raised(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp, backend);
    ingest(&s, &[alert("T1", 1, 3, "bullying", false)]);
    let d = s.detail(&AlertKey::new("sm", "T1"), fixed_now()).expect("detail");
    let raised = chrono::DateTime::parse_from_rfc3339("2026-11-16T09:00:00+00:00").expect("t").to_utc();
    let timeline = d.timeline();
    assert_eq!((timeline[0].at, timeline[0].what.starts_with("raised")), (raised, true), "{timeline:?}");
    assert_eq!((timeline[1].at, timeline[1].what.as_str()), (fixed_now(), "received by vigil"));
    let state = vigil::app::State { tz: chrono_tz::Europe::London, ..vigil::app::State::new(dsl(), fixed_now()) };
    let theme = vigil::ui::Theme::new(vigil::ui::theme::ThemeName::Mono, true);
    let text: Vec<String> = vigil::ui::detail_lines(&state, &theme, &d).iter().map(|l| l.to_string()).collect();
    assert!(text.iter().any(|l| l.contains("Mon 16/11/2026 09:00") && l.contains("raised (rev 1)")), "{text:#?}");
}

/// Issue 19 items 8 and 9: `illegal` on a Low case makes it High in the same decision (one set of events, one
/// transaction, each with its audit record): High's due time, items and CPOMS rules, the path's steps first
/// and the review item replaced, not ticked.
fn the_illegal_content_path_makes_a_low_case_high_in_one_decision(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp, backend);
    ingest(&s, &[alert("X1", 1, 1, "violence", false)]);
    let key = AlertKey::new("sm", "X1");
    let now = fixed_now();
    let before = s.detail(&key, now).expect("d");
    assert_eq!(before.summary.level, Level::Low);
    let (events_before, audit_before) = (before.events.len(), s.audit_records(None).expect("audit").len());

    let recorded =
        s.act(&key, &CaseCommand::Illegal { reason: "image described as indecent".into() }, now).expect("illegal");
    let kinds: Vec<&EventKind> = recorded.iter().map(|e| &e.kind).collect();
    assert!(
        matches!(
            kinds[..],
            [EventKind::Regraded { from: Level::Low, to: Level::High, .. }, EventKind::IllegalPathChosen { .. }]
        ),
        "{kinds:?}"
    );
    assert_eq!(s.cases().events(&key).expect("events").len(), events_before + 2);
    assert_eq!(s.audit_records(None).expect("audit").len(), audit_before + 2, "each event has its audit record");

    let d = s.detail(&key, now).expect("detail");
    assert_eq!(d.summary.level, Level::High);
    assert!(d.case.illegal_path && d.summary.illegal_path);
    let raised = chrono::DateTime::parse_from_rfc3339("2026-11-16T09:00:00+00:00").expect("t").to_utc();
    assert_eq!(d.summary.due_at, Some(raised + Duration::minutes(30)), "High: 30 working minutes");
    let ids: Vec<&str> = d.checklist.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(&ids[..2], ["illegal-police-ref", "illegal-second-senior"], "the path's own steps first: {ids:?}");
    assert!(!ids.contains(&"low-assessment"), "no 'false positive or curiosity?' on a High case: {ids:?}");
    assert!(!ids.contains(&"review-alert"), "the review is replaced: {ids:?}");
    assert!(!d.missing_required.contains(&"review-alert".to_string()));
    assert!(
        d.missing_required.contains(&"high-cpoms".to_string())
            && d.missing_required.contains(&"illegal-stop-review".to_string())
    );
    assert!(d.outcomes.iter().any(|(id, _)| id == "police-referral"));
    let records = s.records(&key, now).expect("records");
    assert!(records.cpoms.starts_with("Monitoring alert (high level)"), "{}", records.cpoms);
    assert!(records.tracking.is_some(), "a High case is noted on student tracking");

    index_is_the_fold_of_the_log(&s, backend);
    // The path is a High response: the case stays High on it, and the path is chosen once.
    assert!(s.act(&key, &CaseCommand::Regrade { level: Level::Medium, reason: "r".into() }, now).is_err());
    assert!(s.act(&key, &CaseCommand::Illegal { reason: "again".into() }, now).is_err());
}

/// Issue 19 item 13: a case the vendor withdrew closes without the checklist of an alert that no longer
/// stands, but not without the record of what was started: anything done about the student still goes on
/// CPOMS and student tracking, and the illegal-content path's steps are still owed.
fn a_withdrawn_case_owes_only_the_record_of_what_was_started(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service(&tmp, backend);
    let now = fixed_now();
    let missing =
        |s: &crate::common::Svc, id: &str| s.detail(&AlertKey::new("sm", id), now).expect("d").missing_required;
    let close = |s: &crate::common::Svc, id: &str| {
        s.act(&AlertKey::new("sm", id), &CaseCommand::Close { outcome: "false-positive".into() }, now)
    };
    // Withdrawn before anyone acted: nothing is owed.
    ingest(&s, &[alert("W1", 1, 3, "drugs", true)]);
    assert_eq!(missing(&s, "W1"), Vec::<String>::new());
    close(&s, "W1").expect("closes without the checklist");
    assert_eq!(s.detail(&AlertKey::new("sm", "W1"), now).expect("d").summary.status, Status::Closed);

    // The student was contacted before the vendor withdrew it: that contact goes on their record.
    ingest(&s, &[alert("W2", 1, 3, "drugs", false)]);
    let contact = CaseCommand::Tick {
        item: "medium-contact-by".into(),
        value: Some("DSL/DDSL/safeguarding officer".into()),
        note: None,
    };
    s.act(&AlertKey::new("sm", "W2"), &contact, now).expect("contact");
    ingest(&s, &[alert("W2", 2, 3, "drugs", true)]);
    assert_eq!(missing(&s, "W2"), ["medium-cpoms", "medium-tracking-note"]);
    assert!(close(&s, "W2").is_err());
    let d = s.detail(&AlertKey::new("sm", "W2"), now).expect("d");
    let required: Vec<&str> = d.checklist.iter().filter(|i| i.required).map(|i| i.id.as_str()).collect();
    assert_eq!(required, ["medium-cpoms", "medium-tracking-note"], "the checklist shows what is owed");

    // On the illegal-content path the path's steps are owed, whatever the vendor says.
    ingest(&s, &[alert("W3", 1, 5, "grooming", true)]);
    let owed = missing(&s, "W3");
    assert!(!owed.is_empty() && owed.iter().all(|id| id.starts_with("illegal-")), "{owed:?}");
}

/// Issue 14: the feed's events and those of a reviewer whose OS user name is `feed` are told apart. The case
/// they acted on is theirs ("mine") and the feed's other case is not; the timeline, the checklist and the
/// CPOMS text name them apart from the feed; the audit trail still matches the event log.
fn a_reviewer_whose_user_name_is_feed_is_not_the_feed(backend: Backend) {
    use vigil::identity::{Role, Viewer};
    let tmp = tempfile::tempdir().expect("tmp");
    let reviewer = Viewer { user: "feed".into(), role: Role::Dsl, sees_staff: true };
    let s = service_for(&tmp, backend, reviewer);
    ingest(&s, &[alert("F1", 1, 5, "self-harm", false), alert("F2", 1, 5, "self-harm", false)]);
    let key = AlertKey::new("sm", "F1");
    let now = fixed_now();
    s.mark_viewed(&key, now).expect("view");
    s.act(&key, &CaseCommand::Note { text: "spoke to tutor".into() }, now).expect("note");
    let contact = CaseCommand::Tick { item: "high-contact-time".into(), value: Some("09:20".into()), note: None };
    s.act(&key, &contact, now).expect("contact");

    let queue = s.queue(now).expect("queue");
    let mine: Vec<&str> = queue.iter().filter(|c| c.mine).map(|c| c.id.as_str()).collect();
    assert_eq!(mine, ["F1"], "the case they acted on is theirs, and only that one");

    let d = s.detail(&key, now).expect("detail");
    let by_feed: Vec<&vigil::domain::CaseEvent> =
        d.events.iter().filter(|e| e.actor() == vigil::domain::Actor::Feed).collect();
    assert!(matches!(by_feed[..], [e] if matches!(e.kind, EventKind::Raised { .. })), "only the raise: {by_feed:?}");
    let timeline: Vec<(String, String)> = d.timeline().into_iter().map(|e| (e.actor, e.what)).collect();
    assert!(timeline.iter().any(|(a, w)| a == "feed" && w.starts_with("raised")), "{timeline:?}");
    for what in ["viewed", "note: spoke to tutor"] {
        assert!(timeline.iter().any(|(a, w)| a == "user feed" && w == what), "{what}: {timeline:?}");
    }
    let row = d.checklist.iter().find(|i| i.id == "high-contact-time").expect("item");
    assert_eq!(row.done_by.as_deref(), Some("user feed"));
    let cpoms = s.records(&key, now).expect("records").cpoms;
    assert!(cpoms.contains("user feed: note: spoke to tutor"), "{cpoms}");
    let verdict = s.audit_verify().expect("verify");
    assert!(matches!(verdict, vigil::audit::Verdict::Intact { .. }), "{verdict:?}");
}

both_backends!(
    a_high_case_stops_being_overdue_once_the_student_is_contacted,
    regrading_grooming_to_high_puts_it_on_the_illegal_content_path,
    a_withdrawal_taken_back_by_the_vendor_reinstates_the_case,
    a_revision_that_escalates_a_closed_case_reopens_it_and_rings_the_bell,
    the_queue_index_always_equals_a_rebuild_from_the_event_log,
    the_queue_its_header_the_dashboard_and_the_report_agree_on_overdue,
    the_cpoms_text_follows_undo_and_regrade_like_the_checklist,
    a_multi_line_note_keeps_its_line_breaks_in_the_cpoms_text,
    the_timeline_dates_the_raise_when_the_alert_was_raised,
    the_illegal_content_path_makes_a_low_case_high_in_one_decision,
    a_withdrawn_case_owes_only_the_record_of_what_was_started,
    a_reviewer_whose_user_name_is_feed_is_not_the_feed,
);
