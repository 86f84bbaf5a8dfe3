//! This student's history (issue 16): the chronology of every case for a subject, trend markers, and
//! linked cases, through the real case service over a real store, the real `update`, and the real binary.

use crate::backend_support::{Backend, both_backends};
use clap::Parser;
use serde_json::{Value, json};
use vigil::app::keymap::Command;
use vigil::app::{Action, Mode};
use vigil::domain::AlertKey;
use vigil::domain::case::CaseCommand;
use vigil::feed::protocol::parse_page;
use vigil::identity::{Role, Viewer};
use vigil::service::Policy;
use vigil::service::subjects::HistoryOf;
use vigil::store::{Store, StoreKey};

use crate::common::{self, Svc, fixed_now, key_file_for, tick_all_required};
use crate::feed_support::{alert, page};

const SOURCE: &str = "smoothwall-monitor";

fn viewer(user: &str, role: Role) -> Viewer {
    Viewer { user: user.into(), role, sees_staff: role == Role::Dsl }
}

fn dsl() -> Viewer {
    viewer("lead", Role::Dsl)
}

fn ddsl() -> Viewer {
    viewer("deputy", Role::Ddsl)
}

fn officer() -> Viewer {
    viewer("officer", Role::Officer)
}

fn key(id: &str) -> AlertKey {
    AlertKey::new(SOURCE, id)
}

/// One alert about `subject` (a student unless `kind` says), raised at `raised` (UTC).
fn about(id: &str, subject: &str, kind: &str, raised: &str, category: &str) -> Value {
    alert(
        id,
        json!({"raised_at": raised, "category": category, "subject": {"kind": kind, "id": subject, "name": "A Student"}}),
    )
}

/// The repeat subjects: S100 has an alert 46 days before now (outside the 30-day window) and three inside
/// it, and one staff alert under the same id; S200 has two inside it.
fn repeat_subjects() -> Vec<Value> {
    vec![
        about("R1", "S100", "student", "2026-10-01T09:00:00Z", "violence"),
        about("R2", "S100", "student", "2026-11-01T09:00:00Z", "bullying"),
        about("R3", "S100", "student", "2026-11-10T09:00:00Z", "self-harm"),
        about("X1", "S100", "staff", "2026-11-12T09:00:00Z", "violence"),
        about("R4", "S100", "student", "2026-11-15T09:00:00Z", "violence"),
        about("P1", "S200", "student", "2026-11-05T09:00:00Z", "violence"),
        about("P2", "S200", "student", "2026-11-14T09:00:00Z", "violence"),
    ]
}

/// The college's team, named by `[people]`.
fn policy() -> Policy {
    let mut config = vigil::config::Config::default();
    config.roles.dsl = vec!["lead".into()];
    config.roles.ddsl = vec!["deputy".into()];
    config.roles.officer = vec!["officer".into()];
    for (user, name, title) in [("lead", "A. Lead", "DSL"), ("deputy", "B. Deputy", "DDSL")] {
        config.people.insert(user.into(), vigil::identity::Person { name: name.into(), title: Some(title.into()) });
    }
    Policy::from_config(&config)
}

/// The DSL's service over a fresh store in `dir`, the repeat subjects ingested through the real path.
fn service(dir: &std::path::Path) -> Svc {
    service_on(Backend::Sled, dir)
}

/// [`service`] on `backend`.
fn service_on(backend: Backend, dir: &std::path::Path) -> Svc {
    let svc = match backend {
        // The CLI's store: opened with the key file the config names.
        Backend::Sled => Svc::with_policy(
            Store::open(dir, &StoreKey::file(key_file_for(dir))).expect("store opens"),
            policy(),
            dsl(),
        ),
        Backend::Postgres => Svc::on(backend, dir, policy(), dsl()),
    };
    let body = page(&repeat_subjects(), Some("c1"), false);
    svc.ingest(&parse_page(body.as_bytes()).expect("page"), fixed_now()).expect("ingest");
    svc
}

fn ids(history: &vigil::service::subjects::History) -> Vec<&str> {
    history.cases.iter().map(|c| c.key.id.as_str()).collect()
}

fn the_chronology_is_every_case_for_the_subject_in_date_order_with_outcome_and_who_handled_it(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let lead = service_on(backend, &tmp.path().join("data"));
    let now = fixed_now();
    tick_all_required(&lead, &key("R1"));
    lead.act(&key("R1"), &CaseCommand::Close { outcome: "false-positive".into() }, now).expect("close");
    lead.act(&key("R2"), &CaseCommand::Assign { to: "deputy".into() }, now).expect("assign");

    let h = lead.history(&HistoryOf::Case(key("R3")), now).expect("history");
    assert_eq!(h.subject_id, "S100");
    assert_eq!(ids(&h), ["R1", "R2", "R3", "X1", "R4"], "oldest first, the staff alert for the DSL");
    let r1 = &h.cases[0];
    assert_eq!((r1.category.as_str(), r1.outcome.as_deref()), ("violence", Some("false-positive")));
    assert_eq!(r1.handled_by, ["A. Lead (DSL)"], "nobody has it: the people who acted, by their names");
    assert_eq!(h.cases[1].handled_by, ["B. Deputy (DDSL)"], "whoever has the case");
    assert_eq!((h.cases[2].status.as_str(), h.cases[2].outcome.as_deref()), ("new", None));
    assert_eq!(h.trend, Some(4), "R2, R3, X1 and R4 are in the 30 days up to now; R1 is not");

    // By a subject id, for one source or any.
    let by_id = lead.history(&HistoryOf::Subject { source: Some(SOURCE.into()), id: "S200".into() }, now);
    assert_eq!(ids(&by_id.expect("history")), ["P1", "P2"]);
    let other_source = lead.history(&HistoryOf::Subject { source: Some("elsewhere".into()), id: "S200".into() }, now);
    assert!(other_source.is_err(), "no case of that subject in that source");

    // A view of content: in the audit trail, naming the case asked from and never the subject.
    let records = lead.audit_records(Some("R3")).expect("records");
    assert!(records.iter().any(|r| r.what == "showed the student's history"), "{records:?}");
    let all = lead.audit_records(None).expect("records");
    assert!(all.iter().all(|r| !r.what.contains("S100")), "the subject id is content");
}

fn a_history_follows_the_readers_visibility(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let lead = service_on(backend, &tmp.path().join("data"));
    let now = fixed_now();
    let deputy = lead.as_viewer(ddsl());
    let h = deputy.history(&HistoryOf::Case(key("R3")), now).expect("history");
    assert_eq!(ids(&h), ["R1", "R2", "R3", "R4"], "a deputy sees no staff case");
    assert_eq!(h.trend, Some(3), "nor counts one");
    assert!(deputy.history(&HistoryOf::Case(key("X1")), now).is_err(), "nor asks from one");

    let officer = lead.as_viewer(officer());
    assert!(officer.history(&HistoryOf::Case(key("R3")), now).is_err(), "nothing is shared with them yet");
    let share = CaseCommand::Share { with: "officer".into(), reason: "a pattern of concern".into() };
    lead.act(&key("R3"), &share, now).expect("share");
    let h = officer.history(&HistoryOf::Subject { source: None, id: "S100".into() }, now).expect("history");
    assert_eq!(ids(&h), ["R3"], "an officer sees only the cases shared with them");
    assert_eq!(h.trend, None, "and no count that would tell of the others");
}

fn trend_markers_come_from_every_case_of_the_subject_and_follow_new_alerts(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let lead = service_on(backend, &tmp.path().join("data"));
    let now = fixed_now();
    let marker = |s: &Svc, id: &str| {
        let rows = s.queue(now).expect("queue");
        let row = rows.into_iter().find(|r| r.key.id == id).expect("row");
        (row.trend, row.flags().iter().map(|f| f.to_string()).collect::<Vec<_>>())
    };
    // The queue never waits for the tally: until it is made, no markers.
    assert_eq!(marker(&lead, "R4").0, None);
    lead.warm_trends(now).expect("warm");
    let (trend, flags) = marker(&lead, "R4");
    assert_eq!(trend, Some(4));
    assert!(flags.contains(&"4 in 30d".to_string()), "{flags:?}");
    assert!(marker(&lead, "R1").1.contains(&"4 in 30d".to_string()), "every case of the subject is marked");
    assert_eq!(marker(&lead, "P2").0, None, "two in the window is not a trend");
    assert_eq!(marker(&lead.as_viewer(ddsl()), "R4").0, Some(3), "a deputy's count has no staff alert in it");

    // `vigil list`'s plain row ends with the same marker.
    let row = lead.queue(now).expect("queue").into_iter().find(|r| r.key.id == "R4").expect("row");
    assert!(
        vigil::commands::output::plain_row(&row).ends_with("4 in 30d"),
        "{}",
        vigil::commands::output::plain_row(&row)
    );

    // The case says so at its top, and the checklist offers (never requires) a wider referral.
    let d = lead.detail(&key("R4"), now).expect("detail");
    assert_eq!(d.summary.trend, Some(4));
    let item = d.checklist.iter().find(|i| i.id == "trend-wider-referral").expect("the trend item");
    assert!(!item.required);
    assert!(!d.missing_required.contains(&"trend-wider-referral".to_string()));
    let p2 = lead.detail(&key("P2"), now).expect("detail");
    assert!(p2.checklist.iter().all(|i| i.id != "trend-wider-referral"), "no trend, no item");

    // A third alert for S200 arrives: counted at once, with no second pass over the store.
    let body = page(&[about("P3", "S200", "student", "2026-11-16T08:00:00Z", "violence")], Some("c2"), false);
    lead.ingest(&parse_page(body.as_bytes()).expect("page"), now).expect("ingest");
    assert_eq!(marker(&lead, "P3").0, Some(3));
    assert_eq!(marker(&lead, "P1").0, Some(3));
}

fn two_cases_linked_show_each_other_and_unlinking_takes_it_from_both(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let lead = service_on(backend, &tmp.path().join("data"));
    let now = fixed_now();
    // The grammar of `vigil case ID link OTHER`: OTHER found by the service (an id alone, or SOURCE:ID).
    let cli = vigil::cli::Cli::try_parse_from(["vigil", "case", "P1", "link", "R2"]).expect("parses");
    let Some(vigil::cli::Commands::Case { action, .. }) = cli.command else { panic!("a case command") };
    let command = action.resolve(&[], &|spec| lead.find(spec).map_err(|e| e.to_string())).expect("resolves");
    assert_eq!(command, CaseCommand::Link { other: key("R2") });
    lead.act(&key("P1"), &command, now).expect("link");
    let linked = |s: &Svc, id: &str| -> Vec<String> {
        s.detail(&key(id), now)
            .expect("detail")
            .links
            .iter()
            .map(|l| format!("{} {} {}", l.key, l.level, l.status))
            .collect()
    };
    assert_eq!(linked(&lead, "P1"), [format!("{SOURCE}:R2 medium new")]);
    assert_eq!(linked(&lead, "R2"), [format!("{SOURCE}:P1 medium new")], "the other case shows it too");
    assert!(lead.act(&key("R2"), &CaseCommand::Link { other: key("P1") }, now).is_err(), "already linked");

    // A student's case never names a staff alert's case (its timeline would, to a deputy).
    let refused = lead.act(&key("R3"), &CaseCommand::Link { other: key("X1") }, now).expect_err("refused");
    assert!(refused.to_string().contains("staff alert"), "{refused}");
    // Only what the reader may see: an officer shown P1 is not shown R2, which is not shared with them.
    let share = CaseCommand::Share { with: "officer".into(), reason: "the same incident".into() };
    lead.act(&key("P1"), &share, now).expect("share");
    assert_eq!(linked(&lead.as_viewer(officer()), "P1"), Vec::<String>::new());

    let unlink = vigil::cli::Cli::try_parse_from([
        "vigil",
        "case",
        "R2",
        "unlink",
        &format!("{SOURCE}:P1"),
        "--reason",
        "not the same incident",
    ])
    .expect("parses");
    let Some(vigil::cli::Commands::Case { action, .. }) = unlink.command else { panic!("a case command") };
    let command = action.resolve(&[], &|spec| lead.find(spec).map_err(|e| e.to_string())).expect("resolves");
    lead.act(&key("R2"), &command, now).expect("unlink");
    assert!(linked(&lead, "R2").is_empty());
    assert!(linked(&lead, "P1").is_empty(), "gone from both");
    let timeline = lead.detail(&key("P1"), now).expect("detail").timeline();
    assert!(
        timeline.iter().any(|e| e.what == format!("unlinked from case {SOURCE}:R2: not the same incident")),
        "{timeline:?}"
    );
}

/// The TUI over the repeat subjects' store, for the DSL.
fn harness(tmp: tempfile::TempDir) -> common::Harness {
    let service = service(&tmp.path().join("data"));
    let mut state = vigil::app::State::new(service.viewer().clone(), fixed_now());
    state.tz = service.calendar().time_zone();
    let link = vigil::tui::Link::new(service.session.clone());
    let mut h = common::Harness { _tmp: tmp, service, link, state, retry: tokio::sync::Notify::new() };
    // As the runtime does: the first frame, then the trend tally (here in place), then the queue again.
    h.effects(vec![vigil::app::Effect::LoadQueue]);
    h.effects(vec![vigil::app::Effect::WarmTrends]);
    h
}

fn select(h: &mut common::Harness, id: &str) {
    let at = h.state.visible().position(|c| c.key.id == id).expect("in the queue");
    h.act(Action::Select(at));
}

#[test]
fn the_history_view_opens_from_a_case_and_enter_opens_the_case_selected() {
    let mut h = harness(tempfile::tempdir().expect("tmp"));
    // The markers, once the tally is made (the queue read again).
    let r4 = h.state.cases.iter().find(|c| c.key.id == "R4").expect("row");
    assert_eq!(r4.trend, Some(4));
    let screen = format!("{:?}", h.draw(80, 24).backend());
    assert!(screen.contains("4 in 30d"), "{screen}");

    select(&mut h, "R3");
    h.cmd(Command::Open);
    let screen = format!("{:?}", h.draw(80, 24).backend());
    assert!(screen.contains("TREND: 4 alerts about this subject in 30 days"), "{screen}");
    h.cmd(Command::History);
    assert!(matches!(h.state.mode, Mode::History(_)));
    insta::assert_snapshot!("history_80x24", h.draw(80, 24).backend());

    // Close it, open it again from the `:` line.
    h.cmd(Command::CloseHelp);
    assert_eq!(h.state.mode, Mode::Normal);
    h.cmd(Command::CommandLine).typed("history").act(Action::Submit);
    assert!(matches!(h.state.mode, Mode::History(_)));

    // R1 is closed, and closed cases are not in the queue: Enter still opens it, and selects it.
    tick_all_required(&h.service, &key("R1"));
    h.service.act(&key("R1"), &CaseCommand::Close { outcome: "false-positive".into() }, fixed_now()).expect("close");
    h.cmd(Command::CloseHelp).cmd(Command::History);
    h.cmd(Command::Top).cmd(Command::Open);
    assert_eq!(h.state.mode, Mode::Normal);
    assert_eq!(h.state.detail.as_ref().map(|d| d.summary.key.id.as_str()), Some("R1"));
    assert_eq!(h.state.selected_key(), Some(&key("R1")), "the queue shows and selects it");
    assert!(vigil::app::update::detail_is_current(&h.state));

    // `h` needs an open case: the selected one is not.
    select(&mut h, "R4");
    h.cmd(Command::History);
    assert!(!matches!(h.state.mode, Mode::History(_)));
    assert!(h.state.toast.as_ref().is_some_and(|t| t.text.contains("no case is open")));
}

#[test]
fn link_and_unlink_from_the_command_line_of_the_tui() {
    let mut h = harness(tempfile::tempdir().expect("tmp"));
    select(&mut h, "P2");
    h.cmd(Command::Open);
    h.cmd(Command::CommandLine).typed("link P1").act(Action::Submit);
    let links = |h: &common::Harness| h.state.detail.as_ref().map(|d| d.links.len());
    assert_eq!(links(&h), Some(1), "{:?}", h.state.toast);
    let screen = format!("{:?}", h.draw(120, 40).backend());
    assert!(screen.contains("Linked cases"), "{screen}");
    h.cmd(Command::CommandLine).typed("link NOPE").act(Action::Submit);
    assert!(h.state.toast.as_ref().is_some_and(|t| t.error && t.text.contains("NOPE")), "{:?}", h.state.toast);
    h.cmd(Command::CommandLine).typed("unlink P1 --reason a different day").act(Action::Submit);
    assert_eq!(links(&h), Some(0), "{:?}", h.state.toast);
}

#[test]
fn vigil_subject_json_has_the_chronology_and_the_trend() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    drop(service(&data));
    let config = common::config_with_role(tmp.path(), "dsl");
    let (c, d) = (config.to_str().expect("utf-8"), data.to_str().expect("utf-8"));
    let out = common::vigil(&["--config", c, "--data-dir", d, "subject", "S100", "--json"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let v: Value = serde_json::from_str(&common::stdout(&out)).expect("json");
    assert_eq!(v["subject_id"], "S100");
    assert_eq!(v["trend_days"], 30);
    let cases = v["cases"].as_array().expect("cases");
    let ids: Vec<&str> = cases.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, ["R1", "R2", "R3", "X1", "R4"]);
    let keys: Vec<&str> = cases[0].as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["category", "handled_by", "id", "level", "outcome", "raised_at", "source", "status"],
        "the contract's fields"
    );
    assert_eq!(cases[0]["raised_at"], "2026-10-01T09:00:00Z");
    assert_eq!(cases[0]["outcome"], Value::Null);
    // The trend is counted up to the real now, which this test does not pin: only that it is said.
    assert!(v.get("trend").is_some());

    let plain = common::vigil(&["--config", c, "--data-dir", d, "subject", "S100"]);
    assert!(plain.status.success(), "{}", common::stderr(&plain));
    let text = common::stdout(&plain);
    assert!(text.starts_with("History of S100 (5 cases, oldest first"), "{text}");
    let missing = common::vigil(&["--config", c, "--data-dir", d, "subject", "NOBODY"]);
    assert_eq!(missing.status.code(), Some(1));
}

fn the_governors_report_counts_repeat_subjects_by_a_number_never_an_id_and_suppresses_small_counts(backend: Backend) {
    use vigil::report::figures::{Count, compute};
    use vigil::report::{Options, Period};
    let tmp = tempfile::tempdir().expect("tmp");
    let lead = service_on(backend, &tmp.path().join("data"));
    let data = lead.report_data(false).expect("report data");
    assert!(data.cases.iter().all(|(a, _, _)| a.subject.id.is_empty()), "no subject id leaves the service");
    assert_eq!(data.subjects.len(), data.cases.len());
    let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
    let period = Period::new(date("2026-10-01"), date("2026-11-15")).expect("period");
    let figures = |min_group| compute(&data, period, &Options { min_group, now: fixed_now() });
    // S100 (four student alerts; its staff alert is not in a report without staff) and S200 (two).
    assert_eq!(figures(1).repeat_subjects, Count::Exact(2));
    let f = figures(5);
    assert_eq!(f.repeat_subjects, Count::FewerThan(5));
    let md = vigil::report::render(vigil::report::Format::Markdown, &f);
    assert!(md.contains("Students with more than one alert in the period: fewer than 5."), "{md}");
    // Only the period's alerts count: from 2 to 13 November each subject has one (R3, P1).
    let later = Period::new(date("2026-11-02"), date("2026-11-13")).expect("period");
    assert_eq!(compute(&data, later, &Options { min_group: 1, now: fixed_now() }).repeat_subjects, Count::Exact(0));
}

/// `vigil serve` for real: the history and the trend tally are requests like any other, passed through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_and_the_trend_tally_cross_the_socket() {
    let feed = crate::feed_support::serve(page(&repeat_subjects(), Some("c1"), false)).await;
    let served = crate::service_support::Served::start("dsl", Some(&feed.uri()));
    let client = served.client();
    let mut events = client.subscribe();
    let c = client.clone();
    crate::service_support::until(&mut events, std::time::Duration::from_secs(20), |_| {
        c.queue(chrono::Utc::now()).map(|q| q.len()).unwrap_or(0) >= 7
    })
    .await;
    client.warm_trends(chrono::Utc::now()).expect("the tally is made by the service");
    let h = client.history(&HistoryOf::Case(key("R3")), chrono::Utc::now()).expect("history over the socket");
    assert_eq!(ids(&h), ["R1", "R2", "R3", "X1", "R4"]);
    let none = client.history(&HistoryOf::Subject { source: None, id: "NOBODY".into() }, chrono::Utc::now());
    assert!(none.is_err());
}

both_backends!(
    the_chronology_is_every_case_for_the_subject_in_date_order_with_outcome_and_who_handled_it,
    a_history_follows_the_readers_visibility,
    trend_markers_come_from_every_case_of_the_subject_and_follow_new_alerts,
    two_cases_linked_show_each_other_and_unlinking_takes_it_from_both,
    the_governors_report_counts_repeat_subjects_by_a_number_never_an_id_and_suppresses_small_counts,
);
