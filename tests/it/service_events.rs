//! The service's numbered stream of changes: what one viewer does reaches another's screen as an event (not
//! a re-read), a case a viewer may not see is never named to them (checked on the serialised bytes, what a
//! socket would carry), and a subscriber that falls behind or resumes misses nothing without being told.

use crate::access_support::alert_with_text;
use crate::backend_support::{Backend, both_backends};
use crate::common::{self, Harness, Svc, fixed_now};

use vigil::domain::Level;
use vigil::domain::case::CaseCommand;
use vigil::feed::protocol::parse_page;
use vigil::identity::{Role, Viewer};
use vigil::service::api::{Event, EventKind};
use vigil::service::events::KEPT;

fn ddsl() -> Viewer {
    Viewer { user: "ddsl-user".into(), role: Role::Ddsl, sees_staff: false }
}

fn ingest(svc: &Svc, alerts: &[serde_json::Value]) {
    let body = serde_json::json!({"feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": "c", "more": false});
    let page = parse_page(body.to_string().as_bytes()).expect("page parses");
    svc.ingest(&page, fixed_now()).expect("ingest");
}

fn cases_named(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CaseChanged { case, .. } | EventKind::CaseRemoved { case } => Some(case.id.clone()),
            _ => None,
        })
        .collect()
}

/// The DDSL's decision reaches the DSL's queue through the stream: the row changes without the DSL's
/// screen asking for it.
#[test]
fn a_decision_by_another_viewer_reaches_the_screen_as_an_event() {
    let mut h = Harness::new();
    let key = h.state.cases.iter().find(|c| c.open && c.level == Level::Low).expect("an open Low case").key.clone();
    let deputy = h.service.as_viewer(Viewer { user: "deputy".into(), role: Role::Ddsl, sees_staff: true });
    let regrade = CaseCommand::Regrade { level: Level::Medium, reason: "context".into() };
    deputy.act(&key, &regrade, fixed_now()).expect("the deputy's regrade");
    assert_eq!(h.state.cases.iter().find(|c| c.key == key).expect("row").level, Level::Low, "not applied yet");
    // Nothing is asked of the service: only what it published is applied.
    h.effects(Vec::new());
    let after = h.state.cases.iter().find(|c| c.key == key).expect("row");
    assert_eq!(after.level, Level::Medium, "the row shows the deputy's regrade");
    assert!(!after.mine, "the DSL did not act on it");
}

/// The case open on the DSL's screen is read again when the deputy ticks an item on it: no key of the DSL's
/// acts on a checklist that is out of date. Once the case is gone from the DSL's view, its content leaves
/// the screen.
#[test]
fn the_open_case_follows_another_viewers_tick_and_leaves_the_screen_when_gone() {
    let mut h = Harness::new();
    let row = h.state.cases.iter().position(|c| c.open).expect("an open case");
    h.state.selected = row;
    h.cmd(vigil::app::keymap::Command::Open);
    let detail = h.state.detail.clone().expect("open");
    let item =
        detail.checklist.iter().find(|i| !i.done && i.kind.as_str() == "tick").expect("an item to tick").id.clone();
    let deputy = h.service.as_viewer(Viewer { user: "deputy".into(), role: Role::Ddsl, sees_staff: true });
    let tick = CaseCommand::Tick { item: item.clone(), value: None, note: None };
    deputy.act(&detail.alert.key, &tick, fixed_now()).expect("the deputy's tick");
    h.effects(Vec::new());
    let now_open = h.state.detail.as_ref().expect("still open");
    let ticked = now_open.checklist.iter().find(|i| i.id == item).expect("the item");
    assert!(ticked.done, "the DSL's screen shows the deputy's tick");
    assert_eq!(ticked.done_by.as_deref(), Some("deputy"));

    let key = detail.alert.key.clone();
    let _ = h.apply(vigil::app::Action::CaseChanged { key, summary: None, seq: Some(u64::MAX) });
    assert!(h.state.detail.is_none(), "a case no longer in view leaves the screen");
}

/// A staff alert's changes go to a viewer who may see staff alerts only; another hears nothing of it, not
/// even its key, and the bytes of their events (as a socket would carry them) hold none of its text.
fn a_staff_case_is_never_named_to_a_viewer_who_may_not_see_it(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dsl = common::Svc::on(backend, &tmp.path().join("data"), vigil::service::Policy::default(), common::dsl());
    let deputy = dsl.as_viewer(ddsl());
    let mut dsl_events = dsl.subscribe();
    let mut deputy_events = deputy.subscribe();
    ingest(
        &dsl,
        &[alert_with_text("STAFF-1", "staff", "SECRETSTAFF", 5), alert_with_text("STU-1", "student", "pupil", 3)],
    );
    let staff = dsl.find("STAFF-1").expect("stored");
    dsl.act(&staff, &CaseCommand::Note { text: "SECRETNOTE".into() }, fixed_now()).expect("note");

    let seen = dsl_events.read(fixed_now()).expect("events");
    assert!(cases_named(&seen).contains(&"STAFF-1".to_string()), "the DSL hears of it");
    let heard = deputy_events.read(fixed_now()).expect("events");
    assert_eq!(cases_named(&heard), vec!["STU-1".to_string()], "the deputy hears of the student's case only");
    let bytes = serde_json::to_string(&heard).expect("serialise");
    for secret in ["STAFF-1", "SECRETSTAFF", "SECRETNOTE"] {
        assert!(!bytes.contains(secret), "{secret} crossed to the deputy: {bytes}");
    }
    // The deputy's numbers count only what it may hear of: no gap betrays the staff case's changes.
    let numbers: Vec<u64> = heard.iter().map(|e| e.seq).collect();
    assert_eq!(numbers, (1..=numbers.len() as u64).collect::<Vec<_>>(), "no gap");
    assert_eq!(deputy_events.position(), numbers.len() as u64);
    assert!(dsl_events.position() > deputy_events.position(), "the DSL's count includes the staff case's");
}

/// Numbers run without a gap for a viewer who may see everything; one who resumes from a number hears
/// exactly what came after it; one who fell further behind than the service keeps, or asks for a number it
/// never gave (it restarted), is told to reload.
fn a_subscriber_resumes_from_its_number_and_one_too_far_behind_is_told_to_reload(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let svc = common::Svc::on(backend, &tmp.path().join("data"), vigil::service::Policy::default(), common::dsl());
    let mut live = svc.subscribe();
    ingest(&svc, &[alert_with_text("A-1", "student", "a", 2), alert_with_text("A-2", "student", "b", 2)]);
    let first = live.read(fixed_now()).expect("events");
    let seqs: Vec<u64> = first.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "no gaps for the DSL: {seqs:?}");
    let resume_from = live.position();

    let key = svc.find("A-1").expect("stored");
    svc.act(&key, &CaseCommand::Note { text: "n".into() }, fixed_now()).expect("note");
    let mut resumed = svc.session.local().expect("in this process").subscribe(common::dsl(), Some(resume_from));
    let again = resumed.read(fixed_now()).expect("events");
    assert_eq!(cases_named(&again), vec!["A-1".to_string()], "exactly what came after {resume_from}");
    assert_eq!(again[0].seq, resume_from + 1);

    let mut restarted =
        svc.session.local().expect("in this process").subscribe(common::dsl(), Some(resumed.position() + 100));
    let told = restarted.read(fixed_now()).expect("events");
    assert!(matches!(told.as_slice(), [Event { kind: EventKind::Reload, .. }]), "{told:?}");

    // More changes than the service keeps, while `live` reads nothing.
    let many: Vec<serde_json::Value> =
        (0..KEPT).map(|i| alert_with_text(&format!("M-{i}"), "student", "m", 1)).collect();
    ingest(&svc, &many);
    let behind = live.read(fixed_now()).expect("events");
    assert!(matches!(behind.as_slice(), [Event { kind: EventKind::Reload, .. }]), "told to reload");
    // From there it is in step again.
    svc.act(&key, &CaseCommand::Note { text: "m".into() }, fixed_now()).expect("note");
    assert_eq!(cases_named(&live.read(fixed_now()).expect("events")), vec!["A-1".to_string()]);
}

both_backends!(
    a_staff_case_is_never_named_to_a_viewer_who_may_not_see_it,
    a_subscriber_resumes_from_its_number_and_one_too_far_behind_is_told_to_reload,
);
