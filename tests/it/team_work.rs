//! Issue 16, who has a case and who sees it: a reviewer takes, hands on and releases a case; an officer of the
//! wider safeguarding team sees nothing until a case is shared with them, and a staff alert never is; the
//! records and the screen name people as `[people]` does, while the audit chain keeps user names.

use crate::backend_support::{Backend, both_backends};
use crate::common::{self, Svc, fixed_now};
use crate::service_support::{Served, until};

use std::time::Duration;

use vigil::config::Config;
use vigil::domain::case::{CaseCommand, RuleError};
use vigil::domain::{AlertKey, EventKind};
use vigil::feed::protocol::parse_page;
use vigil::identity::Role;
use vigil::service::api::EventKind as Heard;
use vigil::service::{Policy, ServiceError};
use vigil::store::{Store, StoreKey};

use crate::feed_support::{alert, page, serve};
use serde_json::json;

const SOURCE: &str = "smoothwall-monitor";
/// A High student alert (self-harm) and a staff alert, from the demo data.
const STUDENT: &str = "SW-2026-004506";
const STAFF: &str = "SW-2026-004508";

fn key(id: &str) -> AlertKey {
    AlertKey::new(SOURCE, id)
}

const TEAM: &str = r#"
[roles]
dsl = ["dsl1"]
ddsl = ["deputy1"]
officer = ["officer1", "officer2"]
staff_alerts = ["officer2"]

[people]
dsl1 = { name = "A. Example", title = "DSL" }
deputy1 = { name = "B. Deputy", title = "Deputy DSL" }
officer1 = { name = "C. Officer" }
"#;

/// The DSL, the deputy and the officers, each a session with one service over the demo data.
struct Team {
    _tmp: tempfile::TempDir,
    dsl: Svc,
}

impl Team {
    fn new() -> Team {
        Team::on(Backend::Sled)
    }

    fn on(backend: Backend) -> Team {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("data");
        let config = Config::parse(std::path::Path::new("team.toml"), TEAM).expect("config");
        let (policy, viewer) = (Policy::from_config(&config), config.viewer("dsl1").expect("dsl"));
        let dsl = match backend {
            Backend::Sled => {
                let store = Store::open(&dir, &StoreKey::file(common::key_file_for(&dir))).expect("store");
                Svc::with_policy(store, policy, viewer)
            }
            Backend::Postgres => Svc::on(backend, &dir, policy, viewer),
        };
        let page = parse_page(common::demo_page_body().as_bytes()).expect("page");
        dsl.ingest(&page, fixed_now()).expect("ingest");
        Team { _tmp: tmp, dsl }
    }

    fn as_user(&self, user: &str) -> Svc {
        let config = Config::parse(std::path::Path::new("team.toml"), TEAM).expect("config");
        self.dsl.as_viewer(config.viewer(user).expect("a member"))
    }
}

fn act(s: &Svc, id: &str, command: CaseCommand) -> Result<Vec<vigil::domain::CaseEvent>, ServiceError> {
    s.act(&key(id), &command, fixed_now())
}

fn share(with: &str) -> CaseCommand {
    CaseCommand::Share { with: with.into(), reason: "a genuine concern: pastoral support needed".into() }
}

fn owner(s: &Svc, id: &str) -> Option<String> {
    s.summary(&key(id), fixed_now()).expect("row").expect("visible").owner
}

fn a_reviewer_takes_hands_on_and_releases_a_case_and_each_is_an_event_with_actor_and_time(backend: Backend) {
    let team = Team::on(backend);
    let deputy = team.as_user("deputy1");
    act(&team.dsl, STUDENT, CaseCommand::Take).expect("take");
    assert_eq!(owner(&deputy, STUDENT).as_deref(), Some("dsl1"), "the deputy's queue says who has it");
    let row = deputy.summary(&key(STUDENT), fixed_now()).expect("row").expect("row");
    assert_eq!(row.owner_name.as_deref(), Some("A. Example (DSL)"));
    assert!(!row.mine, "not the deputy's");
    assert!(team.dsl.summary(&key(STUDENT), fixed_now()).expect("row").expect("row").mine);
    assert!(matches!(act(&team.dsl, STUDENT, CaseCommand::Take), Err(ServiceError::Rule(RuleError::AlreadyOwner(_)))));

    act(&team.dsl, STUDENT, CaseCommand::Assign { to: "deputy1".into() }).expect("hand it on");
    assert_eq!(owner(&team.dsl, STUDENT).as_deref(), Some("deputy1"));
    assert!(deputy.summary(&key(STUDENT), fixed_now()).expect("row").expect("row").mine);
    act(&deputy, STUDENT, CaseCommand::Release).expect("release");
    assert_eq!(owner(&team.dsl, STUDENT), None);
    assert!(matches!(act(&deputy, STUDENT, CaseCommand::Release), Err(ServiceError::Rule(RuleError::NotAssigned))));

    let d = team.dsl.detail(&key(STUDENT), fixed_now()).expect("detail");
    let kinds: Vec<(String, EventKind)> =
        d.events.iter().filter(|e| e.kind.is_team_bookkeeping()).map(|e| (e.actor.clone(), e.kind.clone())).collect();
    assert_eq!(
        kinds,
        [
            ("dsl1".into(), EventKind::Assigned { to: "dsl1".into() }),
            ("dsl1".into(), EventKind::Assigned { to: "deputy1".into() }),
            ("deputy1".into(), EventKind::Released),
        ]
    );
    let timeline: Vec<String> = d.timeline().into_iter().map(|t| format!("{} | {}", t.actor, t.what)).collect();
    assert!(timeline.contains(&"A. Example (DSL) | case is now A. Example (DSL)'s".to_string()), "{timeline:#?}");
    assert!(timeline.contains(&"A. Example (DSL) | case is now B. Deputy (Deputy DSL)'s".to_string()), "{timeline:#?}");
    assert!(timeline.contains(&"B. Deputy (Deputy DSL) | released the case: nobody has it".to_string()));
    // Taking a case is not acting on the student: it is still new, not in progress.
    assert_eq!(d.summary.status, vigil::domain::Status::New);
}

fn a_case_goes_only_to_a_reviewer_whose_role_may_see_it(backend: Backend) {
    let team = Team::on(backend);
    let refused = |r: Result<_, ServiceError>| match r {
        Err(ServiceError::TeamRule(why)) => why,
        other => panic!("not refused: {other:?}"),
    };
    let why = refused(act(&team.dsl, STUDENT, CaseCommand::Assign { to: "stranger".into() }));
    assert!(why.contains("`stranger` is not a reviewer"), "{why}");
    let why = refused(act(&team.dsl, STUDENT, CaseCommand::Assign { to: "officer1".into() }));
    assert_eq!(
        why,
        "C. Officer sees only the cases shared with them: share this one with them first (with the reason)"
    );
    let why = refused(act(&team.dsl, STAFF, CaseCommand::Assign { to: "deputy1".into() }));
    assert_eq!(why, "B. Deputy may not see staff alerts, so cannot have this case");
    act(&team.dsl, STUDENT, share("officer1")).expect("share");
    act(&team.dsl, STUDENT, CaseCommand::Assign { to: "officer1".into() }).expect("now they may have it");
    assert_eq!(owner(&team.dsl, STUDENT).as_deref(), Some("officer1"));
}

fn an_officer_sees_nothing_until_a_case_is_shared_and_a_staff_alert_is_never_shared_with_them(backend: Backend) {
    let team = Team::on(backend);
    let officer = team.as_user("officer1");
    assert!(officer.queue(fixed_now()).expect("queue").is_empty(), "nothing is shared yet");
    assert!(matches!(officer.find(STUDENT), Err(ServiceError::NotFound(_))));
    assert!(matches!(officer.detail(&key(STUDENT), fixed_now()), Err(ServiceError::NotFound(_))));
    assert!(matches!(officer.rejected(fixed_now()), Err(ServiceError::Forbidden("officer"))));
    assert_eq!(officer.store_status(true).expect("status").alerts, Some(0), "not even a count of the rest");

    // The reason is required, and the share is one event with actor and reason.
    let no_reason = CaseCommand::Share { with: "officer1".into(), reason: " ".into() };
    assert!(matches!(act(&team.dsl, STUDENT, no_reason), Err(ServiceError::Rule(RuleError::ReasonRequired))));
    act(&team.dsl, STUDENT, share("officer1")).expect("share");
    let queue = officer.queue(fixed_now()).expect("queue");
    assert_eq!(queue.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [STUDENT]);
    let d = officer.detail(&key(STUDENT), fixed_now()).expect("the officer may read it now");
    assert!(d.case.shared_with.contains("officer1"));
    assert!(team.as_user("officer2").queue(fixed_now()).expect("queue").is_empty(), "shared with one officer only");

    // A staff alert: never to an officer who may not see staff alerts; and sharing is for officers.
    let why = match act(&team.dsl, STAFF, share("officer1")) {
        Err(ServiceError::TeamRule(why)) => why,
        other => panic!("a staff alert was shared: {other:?}"),
    };
    assert!(why.starts_with("a staff alert is never shared beyond the DSL and the users [roles] staff_alerts names"));
    assert!(officer.queue(fixed_now()).expect("queue").iter().all(|c| !c.staff));
    assert!(matches!(act(&team.dsl, STUDENT, share("deputy1")), Err(ServiceError::TeamRule(_))));
    // One the config names for staff alerts may be shown one.
    act(&team.dsl, STAFF, share("officer2")).expect("officer2 is named for staff alerts");
    assert_eq!(team.as_user("officer2").queue(fixed_now()).expect("queue").len(), 1);

    act(&team.dsl, STUDENT, CaseCommand::Unshare { with: "officer1".into(), reason: "resolved".into() })
        .expect("unshare");
    assert!(officer.queue(fixed_now()).expect("queue").is_empty(), "no longer shared");
    assert!(matches!(officer.detail(&key(STUDENT), fixed_now()), Err(ServiceError::NotFound(_))));
}

#[tokio::test]
async fn an_officer_hears_a_case_arrive_when_it_is_shared_and_leave_when_it_is_not_and_nothing_else() {
    let team = Team::new();
    let officer = team.as_user("officer1");
    let mut events = officer.subscribe();
    // A new alert, a decision on a case not shared: the officer hears of neither.
    act(&team.dsl, STUDENT, CaseCommand::Note { text: "spoke to tutor".into() }).expect("note");
    let heard = |events: &mut vigil::service::session::Events| -> Vec<String> {
        events
            .read(fixed_now())
            .expect("read")
            .iter()
            .map(|e| match &e.kind {
                Heard::CaseChanged { case, .. } => format!("changed {}", case.id),
                Heard::CaseRemoved { case } => format!("removed {}", case.id),
                other => format!("{other:?}"),
            })
            .collect()
    };
    assert!(heard(&mut events).is_empty(), "nothing about a case not shared with them");
    act(&team.dsl, STUDENT, share("officer1")).expect("share");
    assert_eq!(heard(&mut events), [format!("changed {STUDENT}")]);
    act(&team.dsl, STUDENT, CaseCommand::Unshare { with: "officer1".into(), reason: "resolved".into() })
        .expect("unshare");
    assert_eq!(heard(&mut events), [format!("removed {STUDENT}")]);
}

#[test]
fn records_name_people_as_the_config_does_and_the_audit_chain_keeps_user_names() {
    let team = Team::new();
    let deputy = team.as_user("deputy1");
    act(
        &deputy,
        STUDENT,
        CaseCommand::Tick { item: "high-contact-time".into(), value: Some("09:40".into()), note: None },
    )
    .expect("tick");
    act(&team.dsl, STUDENT, share("officer1")).expect("share");
    let cpoms = team.dsl.records(&key(STUDENT), fixed_now()).expect("records").cpoms;
    assert!(cpoms.contains("B. Deputy (Deputy DSL): "), "{cpoms}");
    assert!(
        cpoms.contains("A. Example (DSL): shared with C. Officer of the safeguarding team: a genuine concern"),
        "{cpoms}"
    );
    assert!(!cpoms.contains("deputy1") && !cpoms.contains("dsl1"), "no login names in the CPOMS text:\n{cpoms}");
    let d = team.dsl.detail(&key(STUDENT), fixed_now()).expect("detail");
    let row = d.checklist.iter().find(|i| i.id == "high-contact-time").expect("item");
    assert_eq!(row.done_by.as_deref(), Some("B. Deputy (Deputy DSL)"));
    let trail = team.dsl.audit_records(None).expect("trail");
    assert!(trail.iter().any(|r| r.actor == "deputy1" && r.what.starts_with("ticked high-contact-time")));
    assert!(trail.iter().any(|r| r.actor == "dsl1" && r.what == "shared the case with officer1"));
    let members = team.dsl.team().expect("team");
    assert!(
        members.iter().any(|m| m.user == "deputy1" && m.role == Role::Ddsl && m.display == "B. Deputy (Deputy DSL)")
    );
}

/// Through the real socket: one client takes a case and another hears at once who has it; the CLI assigns,
/// releases and lists with the owner; an assignment to someone with no role is refused in plain words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_taken_through_the_service_shows_its_owner_on_another_client_and_the_cli() {
    let feed = serve(page(&[alert("T-1", json!({}))], Some("c1"), false)).await;
    let served = Served::start("dsl", Some(&feed.uri()));
    let (desk, laptop) = (served.client(), served.client());
    let mut events = laptop.subscribe();
    let l = laptop.clone();
    until(&mut events, Duration::from_secs(20), |_| l.queue(chrono::Utc::now()).map(|q| q.len()).unwrap_or(0) == 1)
        .await;
    let case = AlertKey::new(SOURCE, "T-1");
    desk.act(&case, &CaseCommand::Take, chrono::Utc::now()).expect("take");
    let me = vigil::identity::os_user().expect("user");
    let mut owner = None;
    until(&mut events, Duration::from_secs(30), |e| {
        for ev in e.read(chrono::Utc::now()).expect("events") {
            if let Heard::CaseChanged { case: k, row } = ev.kind
                && k == case
            {
                owner = row.owner.clone();
            }
        }
        owner.is_some()
    })
    .await;
    assert_eq!(owner.as_deref(), Some(me.as_str()));

    let out = served.cli(&["list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(rows[0]["owner"], json!(me), "{}", common::stdout(&out));
    let out = served.cli(&["case", "T-1", "assign", "nobody-here"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("`nobody-here` is not a reviewer"), "{}", common::stderr(&out));
    let out = served.cli(&["case", "T-1", "release"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(common::stdout(&out).trim(), "recorded: released the case: nobody has it");
    let out = served.cli(&["list", "--unassigned"]);
    assert!(common::stdout(&out).contains("T-1"), "{}", common::stdout(&out));
}

/// The TUI: the queue shows who has a case; ticking an item on someone else's case asks first, once per case,
/// naming who has it; cancelling records nothing; `t` takes the open case.
#[test]
fn ticking_on_someone_elses_case_asks_once_and_t_takes_the_case() {
    use vigil::app::keymap::Command;
    use vigil::app::{Action, Effect, Mode};
    let mut h = common::Harness::new();
    h.cmd(Command::Open);
    let case = h.state.detail.as_ref().expect("open").alert.key.clone();
    // The deputy took the case (written as the service writes it: the harness's service has no team).
    let taken = vigil::domain::CaseEvent::new(fixed_now(), "deputy1", EventKind::Assigned { to: "deputy1".into() });
    h.service.store().append(&case, &taken).expect("append");
    h.cmd(Command::Open);
    assert_eq!(h.state.detail.as_ref().and_then(|d| d.case.owner.as_deref()), Some("deputy1"));
    let queue = format!("{:?}", h.draw(120, 30).backend());
    assert!(queue.contains("OWNER") && queue.contains("deputy1"), "{queue}");

    h.cmd(Command::NextPane);
    let effects = h.apply(Action::Command(Command::Toggle));
    assert!(effects.is_empty(), "nothing sent before the answer: {effects:?}");
    let screen = format!("{:?}", h.draw(120, 30).backend());
    assert!(screen.contains("deputy1 has this case. Tick `review-alert` on it?"), "{screen}");
    h.cmd(Command::No);
    assert!(matches!(h.state.mode, Mode::Normal));
    assert!(!h.state.detail.as_ref().expect("open").checklist[0].done, "cancelled: nothing recorded");
    h.cmd(Command::Toggle);
    h.cmd(Command::Yes);
    assert!(h.state.detail.as_ref().expect("open").checklist[0].done, "recorded after yes");
    h.cmd(Command::Down);
    let effects = h.apply(Action::Command(Command::Toggle));
    assert!(matches!(&effects[..], [Effect::Act(k, _)] if *k == case), "asked once per case: {effects:?}");
    h.effects(effects);

    h.cmd(Command::Take);
    assert_eq!(
        h.state.detail.as_ref().and_then(|d| d.case.owner.as_deref()),
        Some(common::dsl().user.as_str()),
        "t took the open case"
    );
}

both_backends!(
    a_reviewer_takes_hands_on_and_releases_a_case_and_each_is_an_event_with_actor_and_time,
    a_case_goes_only_to_a_reviewer_whose_role_may_see_it,
    an_officer_sees_nothing_until_a_case_is_shared_and_a_staff_alert_is_never_shared_with_them,
);
