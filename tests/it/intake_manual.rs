//! Issue 17, the first part: an alert taken by phone (or in person), typed in by the DSL or the deputy
//! (`vigil alert add`, the TUI's `N` form), stored through the feed's own ingest path; and the vendor's own
//! record of it, when it arrives later, proposed for linking and attached only once a reviewer confirms.

use crate::backend_support::{Backend, both_backends};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde_json::{Value, json};
use vigil::domain::case::{CaseCommand, RuleError};
use vigil::domain::{AlertKey, EventKind, Level, SubjectKind};
use vigil::feed::protocol::parse_page;
use vigil::identity::{Role, Viewer};
use vigil::service::ServiceError;
use vigil::service::intake::ManualAlert;

use crate::access_support::{Env, stderr, stdout};
use crate::common::{dsl, fixed_now};
use crate::service_support::Served;

/// Monday 16 November 2026, 09:40 college time (London, UTC in November): when the call came.
fn received() -> (Option<NaiveDate>, NaiveTime) {
    (NaiveDate::from_ymd_opt(2026, 11, 16), NaiveTime::from_hms_opt(9, 40, 0).expect("time"))
}

fn received_utc() -> DateTime<Utc> {
    "2026-11-16T09:40:00Z".parse().expect("literal")
}

/// The call as the DSL typed it in.
fn phoned() -> ManualAlert {
    ManualAlert {
        received: Some(received()),
        how: Some(vigil::domain::Delivery::Phone),
        caller: Some("Smoothwall moderator".into()),
        vendor_ref: Some("EV-88123".into()),
        kind: Some(SubjectKind::Student),
        username: Some("jsmith12".into()),
        name: Some("Jo Smith".into()),
        category: Some("Self-Harm".into()),
        level: Some(Level::High),
        summary: "searched for ways to self-harm, typed a note saying goodbye".into(),
        context: Some("moderator saw it at 09:31".into()),
        ..ManualAlert::default()
    }
}

fn deputy() -> Viewer {
    Viewer { user: "ddsl-user".into(), role: Role::Ddsl, sees_staff: false }
}

/// The vendor's own record of the same call, as the feed sends it later: the same student (by username,
/// in another case) and category, with content of its own.
fn vendor_alert(id: &str, raised_at: &str, category: &str) -> Value {
    json!({
        "id": id,
        "source": "smoothwall-monitor",
        "raised_at": raised_at,
        "risk": 5,
        "category": category,
        "delivered_by": "email",
        "subject": {"kind": "student", "id": "HPC7001", "name": "Jo Smith", "username": "JSmith12"},
        "summary": "VENDOR-SUMMARY: searches for self-harm methods",
        "context": "VENDOR-CONTEXT: three searches and a typed note",
        "captures": [{
            "at": "2026-11-16T09:31:00+00:00",
            "window_title": "VENDOR-WINDOW",
            "text": "VENDOR-TYPED",
            "screenshot": {"url": "https://feed.example/shots/1.png", "media_type": "image/png", "caption": "VENDOR-SHOT"}
        }],
    })
}

fn page(alerts: Vec<Value>) -> vigil::feed::protocol::Page {
    let body = json!({"feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": "c1", "more": false});
    parse_page(body.to_string().as_bytes()).expect("page parses")
}

/// The DSL's service over a fresh store of `backend` in `dir`, with the default config.
fn service_on(backend: Backend, dir: &std::path::Path) -> crate::common::Svc {
    let c = vigil::config::Config::default();
    crate::common::Svc::on(backend, dir, vigil::service::Policy::from_config(&c), dsl())
}

fn smoothwall(id: &str) -> AlertKey {
    AlertKey::new("smoothwall-monitor", id)
}

fn a_phoned_alert_is_a_case_with_its_levels_checklist_due_from_the_time_received_and_raised_by_the_reviewer(
    backend: Backend,
) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service_on(backend, &tmp.path().join("data"));
    let now = fixed_now();
    let added = s.add_alert(phoned(), now).expect("added");
    assert_eq!(added.key.source, "manual");
    assert!(added.key.id.starts_with("M-20261116-"), "{}", added.key.id);
    assert_eq!(added.key.id.len(), "M-20261116-7F3A".len(), "content-free: date and four hex digits");
    assert_eq!(added.level, Level::High);
    let d = s.detail(&added.key, now).expect("detail");
    assert_eq!(d.summary.raised_at, received_utc());
    // High: contact within 30 working minutes of receipt (Monday 09:40 is working time).
    assert_eq!(d.summary.due_at, Some(received_utc() + Duration::minutes(30)));
    assert!(d.missing_required.iter().any(|i| i.starts_with("high-")), "{:?}", d.missing_required);
    assert_eq!(d.alert.category, "self-harm", "a known category is spelled as the list has it");
    assert_eq!(d.alert.delivered_by, Some(vigil::domain::Delivery::Phone));
    let intake = d.alert.intake.as_ref().expect("intake recorded");
    assert_eq!(intake.taken_by, "dsl-user");
    assert_eq!(intake.caller.as_deref(), Some("Smoothwall moderator"));
    assert_eq!(intake.vendor_ref.as_deref(), Some("EV-88123"));
    // The raise names the reviewer who took it, not the feed.
    assert!(matches!(d.events[0].kind, EventKind::Raised { level: Level::High, .. }), "{:?}", d.events[0]);
    assert_eq!(d.events[0].actor, "dsl-user");
    assert_eq!(d.timeline()[0].actor, "dsl-user");
    // In the audit trail like any other case, and the trail still agrees with the logs.
    let trail = s.audit_records(Some(&added.key.to_string())).expect("trail");
    assert!(trail.iter().any(|r| r.actor == "dsl-user" && r.what.starts_with("took an alert (phone)")), "{trail:?}");
    assert!(
        matches!(s.audit_verify().expect("verify"), vigil::audit::Verdict::Intact { .. }),
        "the trail and the logs agree"
    );
    // In the queue for the team.
    assert!(s.queue_open(now).expect("queue").iter().any(|r| r.key == added.key));
}

fn a_reviewers_level_stands_for_a_phone_call_and_an_in_person_alert_says_so(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service_on(backend, &tmp.path().join("data"));
    let form = ManualAlert {
        level: Some(Level::Medium),
        how: Some(vigil::domain::Delivery::InPerson),
        category: Some("a fight planned after college".into()),
        ..phoned()
    };
    let added = s.add_alert(form, fixed_now()).expect("added");
    assert_eq!(added.level, Level::Medium, "the level the reviewer judged, not raised for being phoned");
    let d = s.detail(&added.key, fixed_now()).expect("detail");
    assert_eq!(d.alert.delivered_by, Some(vigil::domain::Delivery::InPerson));
    assert_eq!(d.alert.category, "a fight planned after college", "free text kept as typed");
}

fn a_form_without_a_level_or_a_summary_or_in_the_future_stores_and_audits_nothing(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service_on(backend, &tmp.path().join("data"));
    let now = fixed_now();
    let tomorrow = (NaiveDate::from_ymd_opt(2026, 11, 17), NaiveTime::from_hms_opt(9, 0, 0).expect("time"));
    for (form, says) in [
        (ManualAlert { level: None, ..phoned() }, "a level is required"),
        (ManualAlert { summary: "  ".into(), ..phoned() }, "a summary is required"),
        (ManualAlert { username: None, name: None, college_id: None, ..phoned() }, "who the alert is about"),
        (ManualAlert { received: Some(tomorrow), ..phoned() }, "later than now"),
    ] {
        match s.add_alert(form, now) {
            Err(ServiceError::Form(message)) => assert!(message.contains(says), "{message}"),
            other => panic!("expected a form error saying {says:?}, got {other:?}"),
        }
    }
    assert!(s.queue(now).expect("queue").is_empty(), "nothing stored");
    assert!(s.audit_records(None).expect("trail").is_empty(), "nothing audited");
}

fn only_the_dsl_and_deputy_add_alerts_and_a_staff_alert_only_one_who_may_see_staff_alerts(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service_on(backend, &tmp.path().join("data"));
    let now = fixed_now();
    let staff = ManualAlert { kind: Some(SubjectKind::Staff), ..phoned() };
    let ddsl = s.as_viewer(deputy());
    assert!(matches!(ddsl.add_alert(staff.clone(), now), Err(ServiceError::TeamRule(_))));
    let officer = s.as_viewer(Viewer { user: "officer-user".into(), role: Role::Officer, sees_staff: false });
    assert!(matches!(officer.add_alert(phoned(), now), Err(ServiceError::Forbidden("officer"))));
    assert!(s.queue(now).expect("queue").is_empty(), "nothing stored by either");
    assert!(s.audit_records(None).expect("trail").is_empty(), "nothing audited");
    // The deputy may add a student's; the DSL a member of staff's.
    ddsl.add_alert(phoned(), now).expect("the deputy adds a student alert");
    let key = s.add_alert(staff, now).expect("the DSL adds a staff alert").key;
    assert!(ddsl.queue(now).expect("queue").iter().all(|r| r.key != key), "and the deputy never sees it");
}

#[test]
fn a_feed_cannot_claim_the_manual_source_nor_an_in_person_delivery() {
    let mut forged = vendor_alert("M-20261116-0001", "2026-11-16T09:45:00+00:00", "self-harm");
    forged["source"] = json!("manual");
    let mut in_person = vendor_alert("A-2", "2026-11-16T09:45:00+00:00", "self-harm");
    in_person["delivered_by"] = json!("in-person");
    let p = page(vec![forged, in_person]);
    assert!(p.alerts.is_empty(), "{:?}", p.alerts);
    assert_eq!(p.rejected.len(), 2);
    assert!(p.rejected[0].reason.contains("`manual`"), "{}", p.rejected[0].reason);
}

/// The phoned-in case, a note on it, then the vendor's record through the feed with a decision of its own.
fn phoned_then_vendor(s: &crate::common::Svc) -> (AlertKey, AlertKey) {
    let now = fixed_now();
    let phoned = s.add_alert(phoned(), now).expect("added").key;
    s.act(&phoned, &CaseCommand::Note { text: "PHONED-NOTE: called home".into() }, now).expect("note");
    s.ingest(&page(vec![vendor_alert("EV-88123", "2026-11-16T09:45:00+00:00", "self-harm")]), now).expect("ingest");
    let vendor = smoothwall("EV-88123");
    s.act(&vendor, &CaseCommand::Note { text: "VENDOR-NOTE: seen by tutor".into() }, now).expect("note");
    (phoned, vendor)
}

fn the_vendors_record_is_proposed_and_once_confirmed_the_two_are_one_case_with_everything_kept(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service_on(backend, &tmp.path().join("data"));
    let now = fixed_now();
    let (phoned, vendor) = phoned_then_vendor(&s);
    // Proposed, on both; nothing merged yet.
    let d = s.detail(&phoned, now).expect("detail");
    assert_eq!(d.vendor_proposals.iter().map(|p| &p.other).collect::<Vec<_>>(), [&vendor]);
    let v = s.detail(&vendor, now).expect("detail");
    assert_eq!(v.vendor_proposals.iter().map(|p| &p.other).collect::<Vec<_>>(), [&phoned]);
    assert_eq!(s.queue_open(now).expect("queue").len(), 2, "two cases until a person confirms");
    // Confirmed on the phoned-in case, the vendor's record named by its bare id.
    let other = AlertKey::new("", "EV-88123");
    let events = s.act(&phoned, &CaseCommand::AttachVendor { other }, now).expect("attached");
    assert!(
        matches!(&events[..], [
        vigil::domain::CaseEvent { kind: EventKind::VendorRecordAttached { other: a }, .. },
        vigil::domain::CaseEvent { kind: EventKind::AttachedTo { case: b }, .. },
    ] if a == &vendor && b == &phoned),
        "{events:?}"
    );
    // One case in the queue: the phoned-in one.
    let open: Vec<AlertKey> = s.queue_open(now).expect("queue").into_iter().map(|r| r.key).collect();
    assert_eq!(open, std::slice::from_ref(&phoned));
    // The vendor's key leads to it.
    assert_eq!(s.find("EV-88123").expect("found"), phoned);
    assert_eq!(s.find("smoothwall-monitor:EV-88123").expect("found"), phoned);
    // The vendor's content with it, and every decision on either kept.
    let d = s.detail(&phoned, now).expect("detail");
    assert!(d.vendor_proposals.is_empty(), "not proposed again");
    let [attached] = &d.vendor_records[..] else { panic!("one attached record: {:?}", d.vendor_records) };
    assert_eq!(attached.alert.context.as_deref(), Some("VENDOR-CONTEXT: three searches and a typed note"));
    assert_eq!(attached.alert.captures[0].screenshot.as_ref().expect("shot").caption.as_deref(), Some("VENDOR-SHOT"));
    assert!(
        attached.events.iter().any(|e| e.kind == EventKind::NoteAdded { text: "VENDOR-NOTE: seen by tutor".into() })
    );
    assert!(d.events.iter().any(|e| e.kind == EventKind::NoteAdded { text: "PHONED-NOTE: called home".into() }));
    // The detail pane and `vigil show` read it all.
    let state = vigil::app::State { tz: chrono_tz::Europe::London, ..vigil::app::State::new(dsl(), now) };
    let theme = vigil::ui::Theme::new(vigil::ui::theme::ThemeName::Mono, true);
    let shown: String = vigil::ui::detail_lines(&state, &theme, &d).iter().map(|l| format!("{l}\n")).collect();
    for text in ["Taken by: dsl-user from Smoothwall moderator", "VENDOR-CONTEXT", "VENDOR-TYPED", "VENDOR-NOTE"] {
        assert!(shown.contains(text), "{text} in:\n{shown}");
    }
    // Never deleted: the vendor's case stays, marked, and the trail says so; the trail agrees with the logs.
    let v = s.detail(&vendor, now).expect("the vendor's case is still there");
    assert_eq!(v.summary.status, vigil::domain::Status::Merged);
    let trail = s.audit_records(Some("smoothwall-monitor:EV-88123")).expect("trail");
    assert!(trail.iter().any(|r| r.what.contains("attached the case to phoned-in case manual:M-")), "{trail:?}");
    assert!(matches!(s.audit_verify().expect("verify"), vigil::audit::Verdict::Intact { .. }));
    // Asked again: refused, saying why.
    let again = s.act(&phoned, &CaseCommand::AttachVendor { other: vendor.clone() }, now);
    assert!(matches!(again, Err(ServiceError::Rule(RuleError::AlreadyAttached(_)))), "{again:?}");
}

fn a_declined_proposal_is_recorded_and_not_proposed_again(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service_on(backend, &tmp.path().join("data"));
    let now = fixed_now();
    let (phoned, vendor) = phoned_then_vendor(&s);
    // Declined from the vendor's side: recorded on the phoned-in case all the same.
    let no_reason = CaseCommand::DeclineVendor { other: phoned.clone(), reason: " ".into() };
    assert!(matches!(s.act(&vendor, &no_reason, now), Err(ServiceError::Rule(RuleError::ReasonRequired))));
    let decline =
        CaseCommand::DeclineVendor { other: phoned.clone(), reason: "a different search, an hour apart".into() };
    s.act(&vendor, &decline, now).expect("declined");
    let d = s.detail(&phoned, now).expect("detail");
    assert!(
        d.events.iter().any(|e| matches!(&e.kind, EventKind::VendorRecordDeclined { other, .. } if other == &vendor))
    );
    assert!(d.vendor_proposals.is_empty());
    assert!(s.detail(&vendor, now).expect("detail").vendor_proposals.is_empty());
    assert_eq!(s.queue_open(now).expect("queue").len(), 2, "both stay cases of their own");
    assert!(matches!(s.act(&vendor, &decline, now), Err(ServiceError::Rule(RuleError::AlreadyDeclined(_)))));
    let trail = s.audit_records(Some(&phoned.to_string())).expect("trail");
    assert!(trail.iter().any(|r| r.what.starts_with("declined the vendor's record")), "{trail:?}");
    assert!(matches!(s.audit_verify().expect("verify"), vigil::audit::Verdict::Intact { .. }));
}

fn only_the_same_subject_and_category_within_the_window_is_proposed(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service_on(backend, &tmp.path().join("data"));
    let now = fixed_now();
    let phoned = s.add_alert(phoned(), now).expect("added").key;
    let mut other_student = vendor_alert("B-1", "2026-11-16T09:45:00+00:00", "self-harm");
    other_student["subject"] = json!({"kind": "student", "id": "HPC9999", "username": "someone"});
    s.ingest(
        &page(vec![
            other_student,
            vendor_alert("B-2", "2026-11-16T09:45:00+00:00", "bullying"),
            // 49 hours before the call: outside the default 48.
            vendor_alert("B-3", "2026-11-14T08:40:00+00:00", "self-harm"),
            vendor_alert("B-4", "2026-11-16T11:00:00+00:00", "self-harm"),
        ]),
        now,
    )
    .expect("ingest");
    let d = s.detail(&phoned, now).expect("detail");
    assert_eq!(d.vendor_proposals.iter().map(|p| p.other.id.as_str()).collect::<Vec<_>>(), ["B-4"]);
}

#[test]
fn intake_match_hours_is_validated() {
    assert_eq!(vigil::config::Config::default().intake.match_hours, 48);
    for (hours, ok) in [("0", false), ("721", false), ("12", true)] {
        let text = format!("[intake]\nmatch_hours = {hours}\n");
        let parsed = vigil::config::Config::parse(std::path::Path::new("config.toml"), &text);
        assert_eq!(parsed.is_ok(), ok, "{hours}: {parsed:?}");
    }
}

#[test]
fn vigil_alert_add_reads_free_text_from_standard_input_and_refuses_a_form_without_level_or_summary() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role(tmp.path(), "dsl");
    let args = [
        "alert",
        "add",
        "--received",
        "16/11/2026 09:40",
        "--caller",
        "Smoothwall moderator",
        "--username",
        "jsmith12",
        "--category",
        "self-harm",
        "--level",
        "high",
        "--summary",
        "-",
    ];
    for (drop, says) in [("--level", "a level is required"), ("--summary", "a summary is required")] {
        let i = args.iter().position(|a| *a == drop).expect("flag");
        let without: Vec<&str> =
            args.iter().enumerate().filter(|(j, _)| *j != i && *j != i + 1).map(|(_, a)| *a).collect();
        let out = env.run(&without);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        assert!(!stderr(&out).contains("Usage"), "a plain message: {}", stderr(&out));
    }
    if env.data.exists() {
        let store = env.store();
        assert_eq!(store.alert_count(), 0, "nothing stored");
        assert!(store.audit_records().expect("trail").is_empty(), "nothing audited");
    }
    let mut cmd = env.command(&args);
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("starts");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"STDIN-SUMMARY: a note saying goodbye\n")
        .expect("write");
    let out = child.wait_with_output().expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.starts_with("recorded: case manual:M-20261116-") && said.contains(" at high"), "{said}");
    let id = said.split_whitespace().nth(2).expect("key").to_string();
    let shown = env.ok(&["show", &id]);
    assert!(stdout(&shown).contains("STDIN-SUMMARY: a note saying goodbye"), "{}", stdout(&shown));
    assert!(stdout(&shown).contains("Taken by: "), "{}", stdout(&shown));
    // The summary was never a process argument; the trail names who took it.
    let store = env.store();
    let trail = store.audit_records().expect("trail");
    assert!(trail.iter().any(|r| r.what.starts_with("took an alert (phone)")), "{trail:?}");
}

#[test]
fn through_the_shared_service_an_alert_is_added_and_judged_for_the_connected_viewer() {
    let served = Served::start("ddsl", None);
    let student = [
        "alert",
        "add",
        "--received",
        "2026-11-16 09:40",
        "--username",
        "jsmith12",
        "--level",
        "medium",
        "--summary",
        "told a tutor at the door",
    ];
    let out = served.cli(&student);
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    let key = crate::common::stdout(&out).split_whitespace().nth(2).expect("key").to_string();
    let client = served.client();
    let found = client.find(&key).expect("found");
    let d = client.detail(&found, fixed_now()).expect("detail");
    assert_eq!(d.alert.intake.as_ref().map(|i| i.taken_by.as_str()), Some(client.viewer().user.as_str()));
    assert_eq!(d.events[0].actor, client.viewer().user, "the raise names the connected deputy");
    // The deputy may not see staff alerts, so may not add one either: refused, and nothing stored.
    let staff = client.add_alert(ManualAlert { kind: Some(SubjectKind::Staff), ..phoned() }, fixed_now());
    assert!(staff.is_err(), "{staff:?}");
    assert_eq!(client.queue(fixed_now()).expect("queue").len(), 1);
}

/// The `N` form in a real 80x24 terminal: abandoned, it leaves nothing; saved without a level, it stays
/// open saying so; saved complete, the case is in the store, raised by the reviewer.
#[test]
fn the_phone_form_in_a_real_terminal_abandoned_refused_then_saved() {
    let Some((_tmp, data, s)) = crate::e2e_tmux::demo_session(80, 24) else { return };
    let dir = data.to_str().expect("utf8");
    s.wait_for("the queue from the demo feed", |t| t.contains("HIGH") && t.contains("feed: ok"));
    s.keys(&["N"]);
    s.wait_for("the form", |t| t.contains("received: ") && t.contains("level: ") && t.contains("summary: "));
    s.literal("ABANDONED-CALLER");
    s.keys(&["Escape"]);
    s.wait_for("the form gone", |t| !t.contains("received: "));

    s.keys(&["N"]);
    s.wait_for("the form again, blank", |t| t.contains("caller: ") && !t.contains("ABANDONED"));
    s.literal("Smoothwall moderator");
    s.keys(&["Down", "Down", "Down", "End"]);
    s.literal("jsmith12");
    s.keys(&["Down", "Down", "Down", "Down", "End"]);
    s.literal("self-harm");
    s.keys(&["Down", "Down", "End"]);
    s.literal("FORM-SUMMARY searched for ways to self-harm");
    s.keys(&["C-s"]);
    let screen = s.wait_for("the missing level said", |t| t.contains("a level is required"));
    assert!(screen.contains("FORM-SUMMARY"), "the form stays open with what was typed:\n{screen}");
    s.keys(&["Up", "End"]);
    s.literal("high");
    s.keys(&["C-s"]);
    // Said as recorded, or (the team's bell, a moment later, over it) as a new High alert.
    let screen =
        s.wait_for("the alert recorded", |t| t.contains("recorded: case manual:M-") || t.contains("1 new HIGH alert"));
    assert!(!screen.contains("received: "), "the form is closed:\n{screen}");
    s.keys(&["q"]);
    s.wait_for("vigil to exit", |t| t.contains("EXITED 0"));
    drop(s);

    let out = crate::common::vigil(&["--demo", "--data-dir", dir, "list", "--json", "--all"]);
    let list: Value = serde_json::from_slice(&out.stdout).expect("json");
    let manual: Vec<&Value> = list.as_array().expect("list").iter().filter(|c| c["source"] == "manual").collect();
    assert_eq!(manual.len(), 1, "one alert saved, none for the abandoned form: {manual:?}");
    let id = manual[0]["id"].as_str().expect("id");
    let shown = crate::common::stdout(&crate::common::vigil(&["--demo", "--data-dir", dir, "show", id]));
    assert!(shown.contains("FORM-SUMMARY") && shown.contains("from Smoothwall moderator"), "{shown}");
    let trail = crate::common::stdout(&crate::common::vigil(&["--demo", "--data-dir", dir, "audit", "show"]));
    assert_eq!(trail.matches("took an alert").count(), 1, "{trail}");
    assert!(!trail.contains("ABANDONED"));
}

/// `vigil case ID link-vendor OTHER` from the command line, asked on the vendor's case with the phoned-in
/// one's id: the same decision as the TUI's `:link-vendor`, after which the vendor's id opens the phoned-in case.
#[test]
fn vigil_case_link_vendor_makes_one_case_from_the_command_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role(tmp.path(), "dsl");
    let form = [
        "alert",
        "add",
        "--received",
        "2026-11-16 09:40",
        "--username",
        "jsmith12",
        "--category",
        "self-harm",
        "--level",
        "high",
        "--summary",
        "searched for ways to self-harm",
    ];
    let said = stdout(&env.ok(&form));
    let phoned = said.split_whitespace().nth(2).expect("key").to_string();
    {
        let store = env.store();
        let service = vigil::service::CaseService::new(store, vigil::service::Policy::default());
        let session = vigil::service::Session::new(service, dsl());
        session
            .ingest(&page(vec![vendor_alert("EV-88123", "2026-11-16T09:45:00+00:00", "self-harm")]), fixed_now())
            .expect("ingest");
    }
    let shown = stdout(&env.ok(&["show", &phoned]));
    assert!(shown.contains(":link-vendor smoothwall-monitor:EV-88123"), "the proposal is shown:\n{shown}");
    let out = env.ok(&["case", "EV-88123", "link-vendor", &phoned]);
    assert!(stdout(&out).contains("vendor's record smoothwall-monitor:EV-88123 attached"), "{}", stdout(&out));
    let shown = stdout(&env.ok(&["show", "EV-88123"]));
    assert!(shown.contains("VENDOR-CONTEXT") && shown.contains("Taken by: "), "the phoned-in case, with it:\n{shown}");
    let line = vigil::commands::line::parse_line("decline-vendor EV-1 --reason not the same", &[]).expect("parses");
    assert_eq!(
        line,
        vigil::commands::line::LineCommand::Case(CaseCommand::DeclineVendor {
            other: AlertKey::new("", "EV-1"),
            reason: "not the same".into()
        })
    );
}

/// Retention purges the vendor's record merged into a phoned-in case with that case: a merged record is never
/// settled by itself, so without this its content would outlive the retention period.
fn the_vendors_record_merged_into_a_case_is_purged_with_it(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = service_on(backend, &tmp.path().join("data"));
    let now = fixed_now();
    let (phoned, vendor) = phoned_then_vendor(&s);
    s.act(&phoned, &CaseCommand::AttachVendor { other: vendor.clone() }, now).expect("attached");
    crate::common::tick_all_required_at(&s, &phoned, now);
    s.act(&phoned, &CaseCommand::Close { outcome: "false-positive".into() }, now).expect("close");
    let later = now + chrono::Duration::days(31 * 16);
    assert_eq!(s.purge_expired(15, later).expect("purge"), 2, "the phoned-in case, and the record merged into it");
    for key in [&phoned, &vendor] {
        assert!(s.detail(key, later).is_err(), "{key} is gone");
    }
    let trail = s.audit_records(Some("smoothwall-monitor:EV-88123")).expect("trail");
    assert!(trail.iter().any(|r| r.what.contains("purged by retention with the phoned-in case")), "{trail:?}");
    assert!(matches!(s.audit_verify().expect("verify"), vigil::audit::Verdict::Intact { .. }));
}

both_backends!(
    a_phoned_alert_is_a_case_with_its_levels_checklist_due_from_the_time_received_and_raised_by_the_reviewer,
    a_reviewers_level_stands_for_a_phone_call_and_an_in_person_alert_says_so,
    a_form_without_a_level_or_a_summary_or_in_the_future_stores_and_audits_nothing,
    only_the_dsl_and_deputy_add_alerts_and_a_staff_alert_only_one_who_may_see_staff_alerts,
    the_vendors_record_is_proposed_and_once_confirmed_the_two_are_one_case_with_everything_kept,
    a_declined_proposal_is_recorded_and_not_proposed_again,
    only_the_same_subject_and_category_within_the_window_is_proposed,
    the_vendors_record_merged_into_a_case_is_purged_with_it,
);
