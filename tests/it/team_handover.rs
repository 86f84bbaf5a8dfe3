//! "What happened while I was away" (issue 16): the handover, its notes and their acknowledgement, read by
//! two reviewers of one service (in this process and over the real socket), in each one's visibility; the
//! follow-ups due by the next working day on a pinned clock; the TUI's opening line and its `:handover`
//! view at 80x24.

use crate::backend_support::{Backend, both_backends};
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use vigil::app::keymap::Command;
use vigil::app::{Action, Effect};
use vigil::domain::case::CaseCommand;
use vigil::domain::{AlertKey, Level};
use vigil::feed::protocol::parse_page;
use vigil::identity::{Person, Role, Roles, Team, Viewer};
use vigil::service::handover::SinceWhy;
use vigil::service::{Policy, Session};
use vigil::store::{Store, StoreKey};

use crate::access_support::{Env, stderr, stdout};
use crate::common::{Svc, demo_page_body, fixed_now, key_file_for};
use crate::service_support::Served;

const DSL: &str = "dsl-user";
const DEPUTY: &str = "deputy-user";
const OFFICER: &str = "officer-user";

fn viewer(user: &str, role: Role) -> Viewer {
    Viewer { user: user.into(), role, sees_staff: role == Role::Dsl }
}

/// The team: a DSL, a deputy and an officer, each named in `[people]`.
fn policy() -> Policy {
    let person = |name: &str, title: &str| Person { name: name.into(), title: Some(title.into()) };
    let roles =
        Roles { dsl: vec![DSL.into()], ddsl: vec![DEPUTY.into()], officer: vec![OFFICER.into()], ..Roles::default() };
    let people = BTreeMap::from([
        (DSL.to_string(), person("A. Example", "DSL")),
        (DEPUTY.to_string(), person("B. Example", "DDSL")),
        (OFFICER.to_string(), person("C. Example", "Officer")),
    ]);
    let config = vigil::config::Config::default();
    Policy { team: Team { roles, people, demo_dsl: None }, ..Policy::from_config(&config) }
}

/// The DSL's session with a service over a fresh store in `dir` holding the demo data set, stored at
/// `fixed_now` (Monday 16 November 2026, 10:00 UTC).
fn team_service_on(backend: Backend, dir: &std::path::Path) -> Svc {
    let svc = match backend {
        Backend::Sled => Svc::with_policy(
            Store::open(dir, &StoreKey::file(key_file_for(dir))).expect("store opens"),
            policy(),
            viewer(DSL, Role::Dsl),
        ),
        Backend::Postgres => Svc::on(backend, dir, policy(), viewer(DSL, Role::Dsl)),
    };
    let page = parse_page(demo_page_body().as_bytes()).expect("page parses");
    svc.ingest(&page, fixed_now()).expect("ingest");
    svc
}

fn minutes(n: i64) -> DateTime<Utc> {
    fixed_now() + Duration::minutes(n)
}

/// The open student cases, High first, and the open staff ones.
fn open_cases(s: &Session) -> (Vec<AlertKey>, Vec<AlertKey>) {
    let rows = s.queue_open(fixed_now()).expect("queue");
    let student = rows.iter().filter(|r| !r.staff).map(|r| r.key.clone()).collect();
    let staff = rows.iter().filter(|r| r.staff).map(|r| r.key.clone()).collect();
    (student, staff)
}

/// Two reviewers of one service: what one decides and the note they leave reach the other's handover,
/// grouped by person and named from `[people]`, without what was typed; the other acknowledges it (in the
/// store and the audit trail), and their next handover starts where the acknowledged one ended.
fn a_note_one_reviewer_writes_the_other_reads_and_acknowledges(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dsl = team_service_on(backend, &tmp.path().join("data"));
    let deputy = dsl.as_viewer(viewer(DEPUTY, Role::Ddsl));
    let (student, _) = open_cases(&dsl);
    deputy.act(&student[0], &CaseCommand::Take, minutes(5)).expect("take");
    deputy.act(&student[0], &CaseCommand::Note { text: "rang home, mum worried".into() }, minutes(6)).expect("note");
    dsl.act(&student[1], &CaseCommand::Note { text: "spoke to tutor".into() }, minutes(7)).expect("note");
    deputy.handover_note("HPC0001's mum rings back at 4pm\nplease take the call", minutes(30)).expect("note written");

    let h = dsl.handover(None, minutes(60)).expect("handover");
    assert_eq!((h.since_why, h.since), (SinceWhy::LastDay, minutes(60) - Duration::hours(24)));
    let people: Vec<&str> = h.decisions.iter().map(|p| p.person.as_str()).collect();
    assert_eq!(people, ["A. Example (DSL)", "B. Example (DDSL)"], "by person, as [people] names them");
    let deputys: Vec<(&str, String)> =
        h.decisions[1].decisions.iter().map(|d| (d.what.as_str(), d.case.to_string())).collect();
    assert_eq!(deputys, [("took the case", student[0].to_string()), ("added a note", student[0].to_string())]);
    let text = serde_json::to_string(&h).expect("json");
    assert!(!text.contains("mum worried") && !text.contains("tutor"), "a case note's text is the case's: {text}");
    assert_eq!(h.notes.len(), 1);
    assert_eq!(h.notes[0].author, "B. Example (DDSL)");
    assert_eq!(h.notes[0].text, "HPC0001's mum rings back at 4pm\nplease take the call");
    let owner = h.open.iter().find(|c| c.key == student[0]).and_then(|c| c.owner.clone());
    assert_eq!(owner.as_deref(), Some("B. Example (DDSL)"), "what is open says who has it");

    let ack = dsl.acknowledge_handover(Some(h.until), h.last_note, minutes(61)).expect("acknowledged");
    assert_eq!((ack.until, ack.up_to_note, ack.at), (minutes(60), Some(h.notes[0].id), minutes(61)));
    assert_eq!(dsl.cases().handover_ack(DSL).expect("read"), Some(ack), "kept in the store");
    let trail: Vec<(String, String)> = dsl
        .audit_records(None)
        .expect("trail")
        .into_iter()
        .filter(|r| r.what.contains("handover"))
        .map(|r| (r.actor, r.what))
        .collect();
    let want = [(DEPUTY, "wrote a handover note"), (DSL, "viewed the handover"), (DSL, "acknowledged the handover")]
        .map(|(a, w)| (a.to_string(), w.to_string()));
    assert_eq!(trail, want, "content-free records of the note, the view and the acknowledgement");

    let next = dsl.handover(None, minutes(90)).expect("handover");
    assert_eq!((next.since_why, next.since), (SinceWhy::Acknowledged, minutes(60)));
    assert!(next.notes.is_empty() && next.decisions.is_empty() && next.new_alerts.is_empty(), "{next:?}");
    // The deputy has acknowledged nothing: their own handover still starts from the last day.
    assert_eq!(deputy.handover(None, minutes(90)).expect("handover").notes.len(), 1);
}

/// Each reader's handover is what they may see: the deputy's has no staff alert anywhere (the DSL's does),
/// and an officer's has only the case shared with them, with no handover notes (free text about any case).
fn each_role_reads_only_what_it_may_see(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dsl = team_service_on(backend, &tmp.path().join("data"));
    let deputy = dsl.as_viewer(viewer(DEPUTY, Role::Ddsl));
    let officer = dsl.as_viewer(viewer(OFFICER, Role::Officer));
    let (student, staff) = open_cases(&dsl);
    assert!(!staff.is_empty(), "the demo data has staff alerts");
    dsl.act(&staff[0], &CaseCommand::Note { text: "x".into() }, minutes(5)).expect("staff note");
    dsl.act(&student[2], &CaseCommand::Share { with: OFFICER.into(), reason: "a concern".into() }, minutes(6))
        .expect("shared");
    dsl.handover_note("for the team", minutes(7)).expect("note");
    let since = Some(minutes(-60));

    let all = dsl.handover(since, minutes(30)).expect("dsl");
    assert!(all.new_alerts.iter().any(|c| c.staff) && all.open.iter().any(|c| c.staff));
    assert!(all.decisions[0].decisions.iter().any(|d| d.case == staff[0]));

    let theirs = deputy.handover(since, minutes(30)).expect("deputy");
    let cases = theirs.new_alerts.iter().chain(&theirs.open).chain(&theirs.follow_ups);
    assert!(cases.clone().all(|c| !c.staff && !staff.contains(&c.key)), "no staff case for the deputy");
    assert_eq!(theirs.new_alerts.len(), all.new_alerts.len() - staff.len());
    let decided: Vec<&AlertKey> = theirs.decisions.iter().flat_map(|p| &p.decisions).map(|d| &d.case).collect();
    assert_eq!(decided, [&student[2]], "the decision on the staff case is not the deputy's to see");
    assert_eq!(theirs.notes.len(), 1, "the deputy is on duty: the note is theirs");

    let shared = officer.handover(since, minutes(30)).expect("officer");
    let keys = |cases: &[vigil::service::handover::HandoverCase]| -> Vec<AlertKey> {
        cases.iter().map(|c| c.key.clone()).collect()
    };
    assert_eq!(keys(&shared.new_alerts), vec![student[2].clone()]);
    assert_eq!(keys(&shared.open), vec![student[2].clone()]);
    assert_eq!(shared.decisions.len(), 1);
    assert_eq!(shared.decisions[0].decisions[0].what, "shared the case with C. Example");
    assert!(shared.notes.is_empty(), "handover notes are for those on duty");
    assert!(officer.handover_note("hello", minutes(31)).is_err(), "and written by them only");
}

/// `--since` (a time given) bounds what is new and decided: a decision before it is not in the handover.
fn since_bounds_the_handover(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dsl = team_service_on(backend, &tmp.path().join("data"));
    let (student, _) = open_cases(&dsl);
    dsl.act(&student[0], &CaseCommand::Take, minutes(10)).expect("take");
    dsl.act(&student[1], &CaseCommand::Take, minutes(40)).expect("take");
    let h = dsl.handover(Some(minutes(20)), minutes(60)).expect("handover");
    assert_eq!(h.since_why, SinceWhy::Given);
    assert!(h.new_alerts.is_empty(), "the alerts arrived at 10:00, before 10:20");
    let decided: Vec<&AlertKey> = h.decisions.iter().flat_map(|p| &p.decisions).map(|d| &d.case).collect();
    assert_eq!(decided, [&student[1]]);
    let all = dsl.handover(Some(minutes(-1)), minutes(60)).expect("handover");
    assert_eq!(all.new_alerts.len(), dsl.queue(minutes(60)).expect("queue").len());
    assert_eq!(all.new_by_level().iter().map(|(_, n)| n).sum::<usize>(), all.new_alerts.len());
    assert_eq!(all.new_by_level()[0].0, Level::High);
}

/// Follow-ups due by the next working day, from the service's calendar: on a Friday afternoon that is
/// Monday (the weekend is not one), so Monday's follow-up is listed and Tuesday's is not.
fn follow_ups_due_by_the_next_working_day(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dsl = team_service_on(backend, &tmp.path().join("data"));
    let (student, _) = open_cases(&dsl);
    let date = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).expect("date");
    let set = |key: &AlertKey, d: u32| {
        dsl.act(key, &CaseCommand::FollowUp { date: date(d) }, minutes(1)).expect("follow-up");
    };
    set(&student[0], 23);
    set(&student[1], 24);
    set(&student[2], 19);
    let friday = Utc.with_ymd_and_hms(2026, 11, 20, 16, 0, 0).single().expect("time");
    let h = dsl.handover(None, friday).expect("handover");
    assert_eq!(h.next_working_day, date(23), "Friday afternoon: Monday next");
    let listed: Vec<(&AlertKey, Option<NaiveDate>)> = h.follow_ups.iter().map(|c| (&c.key, c.follow_up)).collect();
    assert_eq!(listed, [(&student[2], Some(date(19))), (&student[0], Some(date(23)))], "earliest first");
    let monday_early = Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).single().expect("time");
    assert_eq!(dsl.handover(None, monday_early).expect("handover").next_working_day, date(23), "before opening");
}

/// Closes `key` at `at`, every required item ticked first.
fn close_at(s: &Session, key: &AlertKey, at: DateTime<Utc>) {
    crate::common::tick_all_required_at(s, key, at);
    let outcome = s.detail(key, at).expect("detail").outcomes[0].0.clone();
    s.act(key, &CaseCommand::Close { outcome }, at).expect("close");
}

/// The TUI opens with what changed since the reviewer last looked (the mark kept in the store, per user):
/// nothing the first time, then the new alerts and who closed what, then nothing new.
#[test]
fn the_tui_opens_with_what_changed_since_the_last_look() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("data");
    let store = Store::open(&dir, &StoreKey::file(key_file_for(&dir))).expect("store opens");
    let dsl = Svc::with_policy(store, policy(), viewer(DSL, Role::Dsl));
    assert_eq!(dsl.since_last_look(minutes(-60)).expect("first look"), None, "nothing to compare with");
    let page = parse_page(demo_page_body().as_bytes()).expect("page parses");
    dsl.ingest(&page, fixed_now()).expect("ingest");
    let deputy = dsl.as_viewer(viewer(DEPUTY, Role::Ddsl));
    let (student, _) = open_cases(&deputy);
    close_at(&deputy, &student[0], minutes(20));
    close_at(&deputy, &student[1], minutes(21));
    let rows = dsl.queue(fixed_now()).expect("queue");
    let high = rows.iter().filter(|r| r.level == Level::High).count();

    let mut state = vigil::app::State::new(dsl.viewer().clone(), minutes(60));
    let mut link = vigil::tui::Link::new(dsl.session.clone());
    let retry = tokio::sync::Notify::new();
    vigil::tui::run_effects(&mut state, &mut link, &retry, &|| minutes(60), vec![Effect::LookBack]);
    let said = state.toast.as_ref().map(|t| t.text.clone());
    let want =
        format!("Since you last looked (Mon 16/11 09:00): {} new alerts, {high} High; B. Example closed 2", rows.len());
    assert_eq!(said.as_deref(), Some(want.as_str()));
    assert_eq!(dsl.store().last_look(DSL).expect("read"), Some(minutes(60)), "the look is marked");
    assert_eq!(dsl.store().last_look(DEPUTY).expect("read"), None, "for this user only");

    vigil::tui::run_effects(&mut state, &mut link, &retry, &|| minutes(90), vec![Effect::LookBack]);
    let said = state.toast.as_ref().map(|t| t.text.clone());
    assert_eq!(said.as_deref(), Some("Nothing new since you last looked (Mon 16/11 11:00)"));
}

/// `:handover` at 80x24: the view, and `a` acknowledges what it shows.
#[test]
fn the_handover_view_80x24_and_its_acknowledgement() {
    let mut h = crate::common::Harness::new();
    h.service.handover_note("Ring HPC0001's mum at 4pm", minutes(-30)).expect("note");
    h.cmd(Command::CommandLine).typed("handover").act(Action::Submit);
    let Some(shown) = (match &h.state.mode {
        vigil::app::Mode::Handover(shown) => Some(shown.clone()),
        _ => None,
    }) else {
        panic!("the handover is shown: {:?}", h.state.mode)
    };
    insta::assert_snapshot!(h.draw(80, 24).backend());
    h.cmd(Command::Acknowledge);
    assert_eq!(h.state.mode, vigil::app::Mode::Normal);
    let ack = h.service.store().handover_ack(crate::common::dsl().user.as_str()).expect("read").expect("recorded");
    assert_eq!((ack.until, ack.up_to_note), (shown.until, shown.last_note));
    assert!(h.state.toast.as_ref().is_some_and(|t| t.text.contains("acknowledged the handover up to Mon 16/11 10:00")));
}

/// The commands: `vigil handover note -` reads the note from standard input, `vigil handover --since`
/// bounds it (JSON), and `vigil handover ack` records the acknowledgement.
#[test]
fn the_commands_write_read_and_acknowledge() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role(tmp.path(), "dsl");
    {
        let store = Store::open(&env.data, &StoreKey::file(env.key_file())).expect("store opens");
        let svc = Svc::with_policy(store, Policy::default(), viewer(DSL, Role::Dsl));
        let page = parse_page(demo_page_body().as_bytes()).expect("page parses");
        svc.ingest(&page, fixed_now()).expect("ingest");
    }
    let mut note = env.command(&["handover", "note", "-"]);
    note.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = note.spawn().expect("runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"the printer is jammed again\n")
        .expect("typed");
    let out = child.wait_with_output().expect("ends");
    assert!(out.status.success(), "{}", stderr(&out));

    let json = |since: &str| -> serde_json::Value {
        serde_json::from_str(&stdout(&env.ok(&["handover", "--since", since, "--json"]))).expect("json")
    };
    let before = json("2026-11-16 09:00");
    let after = json("16/11/2026 11:00");
    let count = |v: &serde_json::Value| v["new_alerts"].as_array().map_or(0, Vec::len);
    assert!(count(&before) > 0 && count(&after) == 0, "new alerts since 09:00, none since 11:00");
    assert_eq!(before["notes"][0]["text"], "the printer is jammed again", "the note, from standard input");
    let plain = stdout(&env.ok(&["handover"]));
    assert!(plain.contains("Handover notes: 1") && plain.contains("the printer is jammed again"), "{plain}");
    let bad = env.run(&["handover", "--since", "last tuesday"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("is not a time"), "{}", stderr(&bad));

    assert!(stdout(&env.ok(&["handover", "ack"])).contains("acknowledged the handover"));
    let plain = stdout(&env.ok(&["handover"]));
    assert!(plain.contains("the handover you last acknowledged") && plain.contains("Handover notes: 0"), "{plain}");
}

/// Through `vigil serve`: a note the deputy left is read and acknowledged by the DSL over the socket, and
/// the last look is kept by the service (the same store record the embedded mode keeps).
#[test]
fn over_the_socket_the_dsl_acknowledges_the_deputys_note() {
    let own = tempfile::tempdir().expect("tmp");
    let data = own.path().join("data");
    {
        let store = Store::open(&data, &StoreKey::file(key_file_for(&data))).expect("store opens");
        let svc = Svc::with_policy(store, policy(), viewer(DSL, Role::Dsl));
        let page = parse_page(demo_page_body().as_bytes()).expect("page parses");
        svc.ingest(&page, fixed_now()).expect("ingest");
        let deputy = svc.as_viewer(viewer(DEPUTY, Role::Ddsl));
        deputy.handover_note("call the police liaison back", minutes(5)).expect("note");
    }
    let served = Served::start_on("dsl", None, 3600, Some((&data, &key_file_for(&data))));
    let client = served.client();
    let now = Utc::now();
    let h = client.handover(Some(minutes(-60)), now).expect("handover over the socket");
    assert_eq!(h.notes.len(), 1);
    assert_eq!((h.notes[0].author.as_str(), h.notes[0].text.as_str()), (DEPUTY, "call the police liaison back"));
    let ack = client.acknowledge_handover(Some(h.until), h.last_note, now).expect("acknowledged over the socket");
    assert_eq!(ack.up_to_note, Some(h.notes[0].id));
    let next = client.handover(None, now).expect("handover");
    assert_eq!((next.since_why, next.notes.len()), (SinceWhy::Acknowledged, 0));
    assert_eq!(client.since_last_look(now).expect("look"), None, "the first look through the service");
    assert!(client.since_last_look(now).expect("look").is_some(), "the mark is the service's");
    let written = served.cli(&["handover", "note", "left", "the", "keys", "at", "reception"]);
    assert!(written.status.success(), "{}", stderr(&written));
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&served.cli(&["handover", "--json"]))).expect("json over the socket");
    assert_eq!(json["notes"][0]["text"], "left the keys at reception");
}

/// Handover notes are content: retention purges them `retention_months` after they were written, with a
/// content-free tombstone, like the cases they are about.
fn retention_purges_old_handover_notes(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dsl = team_service_on(backend, &tmp.path().join("data"));
    dsl.handover_note("an old note", minutes(0)).expect("note");
    dsl.handover_note("a newer note", minutes(0) + Duration::days(40)).expect("note");
    let later = fixed_now().checked_add_months(chrono::Months::new(15)).expect("date") + Duration::days(1);
    dsl.purge_expired(15, later).expect("retention");
    let left: Vec<String> =
        dsl.cases().handover_notes(fixed_now()).expect("read").into_iter().map(|n| n.text).collect();
    assert_eq!(left, ["a newer note"]);
    let trail = dsl.audit_records(None).expect("trail");
    assert!(trail.iter().any(|r| r.actor == "retention" && r.what.ends_with("1 handover note")), "{trail:?}");
    assert!(!trail.iter().any(|r| r.what.contains("an old note")), "the tombstone has no text");
}

both_backends!(
    a_note_one_reviewer_writes_the_other_reads_and_acknowledges,
    each_role_reads_only_what_it_may_see,
    since_bounds_the_handover,
    follow_ups_due_by_the_next_working_day,
    retention_purges_old_handover_notes,
);
