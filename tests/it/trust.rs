//! A multi-academy trust on one PostgreSQL database: the trust's lead (`[roles] trust_lead`) reads a school's
//! student cases and decides nothing, and the trust's report counts the schools together (or one alone),
//! with small numbers suppressed in the counts as published and each school's trail recording the export.

use serde_json::{Value, json};
use vigil::domain::AlertKey;
use vigil::domain::case::CaseCommand;
use vigil::identity::{Role, Viewer};
use vigil::service::{CaseService, Policy, ServiceError, Session};
use vigil::store::StoreKey;
use vigil::store::postgres::PgSettings;

use crate::backend_support::fresh_school;
use crate::common::{fixed_now, stderr, stdout, vigil};
use crate::feed_support::{alert, page};

const SOURCE: &str = "smoothwall-monitor";

fn trust_lead(user: &str, sees_staff: bool) -> Viewer {
    Viewer { user: user.into(), role: Role::TrustLead, sees_staff }
}

fn school_dsl() -> Viewer {
    Viewer { user: "north-dsl".into(), role: Role::Dsl, sees_staff: true }
}

/// Three self-harm alerts about S1, S2 and S3 (each school's own students, whatever their ids), raised in
/// November, and one about a member of staff.
fn school_page(prefix: &str) -> vigil::feed::protocol::Page {
    let mut alerts: Vec<Value> = (1..=3)
        .map(|i| {
            alert(
                &format!("{prefix}-{i}"),
                json!({"category": "self-harm", "raised_at": "2026-11-10T10:00:00+00:00", "subject": {"kind": "student", "id": format!("S{i}")}}),
            )
        })
        .collect();
    alerts.push(alert(
        &format!("{prefix}-staff"),
        json!({"raised_at": "2026-11-10T10:00:00+00:00", "subject": {"kind": "staff", "id": "T1", "name": "A Teacher"}}),
    ));
    vigil::feed::protocol::parse_page(page(&alerts, Some("c1"), false).as_bytes()).expect("a page")
}

/// Two schools of one database, each fed through its own service with the key in `key_file`.
fn two_schools(key_file: &std::path::Path) -> (PgSettings, PgSettings) {
    let north = fresh_school("north");
    let south = PgSettings { school: "south".into(), ..north.clone() };
    for (settings, prefix) in [(&north, "N"), (&south, "S")] {
        let service = CaseService::open_postgres(settings, &StoreKey::file(key_file.to_path_buf()), Policy::default())
            .expect("the school's service");
        Session::new(service, school_dsl()).ingest(&school_page(prefix), fixed_now()).expect("stored");
    }
    (north, south)
}

/// The trust's config: the current user under `role`, the two schools, the store key.
fn trust_config(dir: &std::path::Path, role: &str, settings: &PgSettings, extra: &str) -> String {
    let user = vigil::identity::os_user().expect("an OS user");
    let path = dir.join(format!("trust-{role}.toml"));
    std::fs::write(
        &path,
        format!(
            "[roles]\n{role} = [{user:?}]\n{extra}\n[storage]\nkey_file = {:?}\nbackend = \"postgres\"\nurl = {:?}\nschools = [\"north\", \"south\"]\n\n[report]\nmin_group = 5\n",
            dir.join("store.key"),
            settings.url
        ),
    )
    .expect("config");
    path.to_string_lossy().into_owned()
}

fn report(config: &str, dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let data = dir.join("data");
    let mut args = vec!["--config", config, "--data-dir", data.to_str().expect("utf-8"), "report", "--format", "json"];
    args.extend_from_slice(&["--from", "2026-11-01", "--to", "2026-11-30"]);
    args.extend_from_slice(extra);
    vigil(&args)
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).expect("the report's JSON")
}

#[test]
fn the_trusts_report_counts_the_schools_together_or_one_alone_and_each_trail_records_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let (north, south) = two_schools(&dir.path().join("store.key"));
    let config = trust_config(dir.path(), "trust_lead", &north, "");

    let trust = json_of(&report(&config, dir.path(), &[]));
    assert_eq!(trust["total"], 6, "every school's student alerts, no staff alert: {trust}");
    assert_eq!(trust["by_category"]["self-harm"], 6, "6 across the trust is published: {trust}");
    assert!(trust.get("staff").is_none_or(Value::is_null), "no staff counts unless asked and allowed");

    // One school alone: 3 is fewer than min_group, so it is not published.
    let alone = json_of(&report(&config, dir.path(), &["--school", "north"]));
    assert_eq!(alone["total"], Value::Null, "{alone}");
    let suppressed = alone["suppressed"].to_string();
    assert!(suppressed.contains("/total"), "{suppressed}");

    // Each school's trail says the trust's lead exported it, naming no figure.
    for settings in [&north, &south] {
        let service =
            CaseService::open_postgres(settings, &StoreKey::file(dir.path().join("store.key")), Policy::default())
                .expect("open");
        let records = Session::new(service, school_dsl()).audit_records(None).expect("trail");
        let exports: Vec<&str> = records
            .iter()
            .filter(|r| r.what.starts_with("exported the trust's report"))
            .map(|r| r.what.as_str())
            .collect();
        assert!(!exports.is_empty(), "{}: {records:?}", settings.school);
        assert!(exports.iter().any(|w| w.contains("with 1 other schools")), "{exports:?}");
    }
}

#[test]
fn a_student_of_one_school_is_never_a_repeat_of_anothers_with_the_same_id() {
    let dir = tempfile::tempdir().expect("tmp");
    let (north, _) = two_schools(&dir.path().join("store.key"));
    let config = trust_config(dir.path(), "trust_lead", &north, "");
    let text = std::fs::read_to_string(&config).expect("config").replace("min_group = 5", "min_group = 1");
    std::fs::write(&config, text).expect("config");
    let trust = json_of(&report(&config, dir.path(), &[]));
    assert_eq!(trust["total"], 6);
    assert_eq!(trust["repeat_subjects"], 0, "S1 of north and S1 of south are two students: {trust}");
}

#[test]
fn the_trusts_report_is_the_trust_leads_and_staff_counts_only_where_the_config_names_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let (north, _) = two_schools(&dir.path().join("store.key"));

    let as_dsl = trust_config(dir.path(), "dsl", &north, "");
    let refused = report(&as_dsl, dir.path(), &[]);
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("the trust's lead's"), "{}", stderr(&refused));

    let config = trust_config(dir.path(), "trust_lead", &north, "");
    let nowhere = report(&config, dir.path(), &["--school", "east"]);
    assert_eq!(nowhere.status.code(), Some(2), "{}", stderr(&nowhere));
    assert!(stderr(&nowhere).contains("no school `east` in [storage] schools (north, south)"), "{}", stderr(&nowhere));
    let staff = report(&config, dir.path(), &["--include-staff"]);
    assert_eq!(staff.status.code(), Some(3), "{}", stderr(&staff));

    let user = vigil::identity::os_user().expect("an OS user");
    let named = trust_config(dir.path(), "trust_lead", &north, &format!("staff_alerts = [{user:?}]\n"));
    let with_staff = json_of(&report(&named, dir.path(), &["--include-staff"]));
    assert!(with_staff["staff"].is_object(), "{with_staff}");

    // Anyone but the trust's lead is refused the trust's config, whatever the command.
    let data = dir.path().join("data");
    let list = vigil(&["--config", &as_dsl, "--data-dir", data.to_str().expect("utf-8"), "list"]);
    assert_eq!(list.status.code(), Some(3), "{}", stderr(&list));
    assert!(stderr(&list).contains("is the trust's lead's"), "{}", stderr(&list));
}

#[test]
fn the_trust_lead_lists_every_schools_cases_with_the_school_and_reads_one_named_with_school() {
    let dir = tempfile::tempdir().expect("tmp");
    let (north, _) = two_schools(&dir.path().join("store.key"));
    let config = trust_config(dir.path(), "trust_lead", &north, "");
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let mut all = vec!["--config", config.as_str(), "--data-dir", data.to_str().expect("utf-8")];
        all.extend_from_slice(args);
        vigil(&all)
    };

    let listed = run(&["list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let text = stdout(&listed);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 6, "three student cases a school, no staff alert: {text}");
    assert_eq!(rows.iter().filter(|r| r.starts_with("north ")).count(), 3, "{text}");
    assert_eq!(rows.iter().filter(|r| r.starts_with("south ")).count(), 3, "{text}");
    assert!(!text.contains("staff") && !text.contains("A Teacher"), "{text}");
    let json: Value = serde_json::from_str(&stdout(&run(&["list", "--json"]))).expect("JSON");
    let schools: Vec<&str> =
        json.as_array().expect("rows").iter().map(|r| r["school"].as_str().expect("school")).collect();
    assert_eq!(schools.len(), 6);
    assert!(schools.contains(&"north") && schools.contains(&"south"));

    let one = stdout(&run(&["--school", "south", "list"]));
    assert_eq!(one.lines().count(), 3, "{one}");
    assert!(one.contains("S-1") && !one.contains("N-1"), "{one}");

    let shown = run(&["--school", "north", "show", "smoothwall-monitor:N-1"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let unnamed = run(&["show", "smoothwall-monitor:N-1"]);
    assert_eq!(unnamed.status.code(), Some(2), "{}", stderr(&unnamed));
    assert!(stderr(&unnamed).contains("with --school (north, south)"), "{}", stderr(&unnamed));
    let note = run(&["--school", "north", "case", "smoothwall-monitor:N-1", "note", "from the trust"]);
    assert_eq!(note.status.code(), Some(3), "the trust's lead decides nothing: {}", stderr(&note));
    assert!(stderr(&note).contains("decisions on them are its DSL's and deputy's"), "{}", stderr(&note));

    // Each school's trail says the trust's lead listed it.
    for settings in [north.clone(), PgSettings { school: "south".into(), ..north.clone() }] {
        let service =
            CaseService::open_postgres(&settings, &StoreKey::file(dir.path().join("store.key")), Policy::default())
                .expect("open");
        let records = Session::new(service, school_dsl()).audit_records(None).expect("trail");
        assert!(
            records.iter().any(|r| r.what.starts_with("listed the trust's queue")),
            "{}: {records:?}",
            settings.school
        );
    }
}

#[test]
fn the_trust_lead_reads_a_schools_student_cases_and_decides_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (north, _) = two_schools(&dir.path().join("store.key"));
    let key = StoreKey::file(dir.path().join("store.key"));
    let mut config = vigil::config::Config::default();
    config.roles.dsl = vec!["north-dsl".into()];
    config.roles.trust_lead = vec!["tlead".into()];
    let service = CaseService::open_postgres(&north, &key, Policy::from_config(&config)).expect("open");
    let lead = Session::new(service.clone(), trust_lead("tlead", false));

    let queue = lead.queue(fixed_now()).expect("the queue");
    let ids: Vec<&str> = queue.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "the student cases, not the staff alert: {ids:?}");
    assert!(!ids.contains(&"N-staff"));
    let case = AlertKey::new(SOURCE, "N-1");
    let detail = lead.detail(&case, fixed_now()).expect("the case reads");
    lead.mark_viewed(&case, fixed_now()).expect("a look");
    assert!(
        !detail.events.iter().any(|e| matches!(e.kind, vigil::domain::EventKind::Viewed)),
        "the trust's lead reading it is not the school's first view"
    );
    let dsl = Session::new(service, school_dsl());
    let after = dsl.detail(&case, fixed_now()).expect("read");
    assert!(!after.events.iter().any(|e| matches!(e.kind, vigil::domain::EventKind::Viewed)));
    assert!(dsl.audit_records(None).expect("trail").iter().any(|r| r.actor == "tlead"), "their reading is audited");

    let note = lead.act(&case, &CaseCommand::Note { text: "from the trust".into() }, fixed_now());
    assert!(matches!(note, Err(ServiceError::Forbidden("trust_lead"))), "{note:?}");
    let assign = dsl.act(&case, &CaseCommand::Assign { to: "tlead".into() }, fixed_now());
    assert!(
        matches!(&assign, Err(ServiceError::TeamRule(why)) if why.contains("the trust's lead")),
        "a case is never given to the trust's lead: {assign:?}"
    );
    assert!(dsl.team().expect("team").iter().all(|m| m.user != "tlead"), "nor offered in a picker");
}

/// Two schools whose feeds number their alerts alike (`smoothwall-monitor:A-1` is a case in each), with the
/// temp dir that holds the store key they share.
struct Alike {
    dir: tempfile::TempDir,
    north: PgSettings,
    south: PgSettings,
    key: StoreKey,
}

fn two_schools_alike() -> Alike {
    let dir = tempfile::tempdir().expect("tmp");
    let key = StoreKey::file(dir.path().join("store.key"));
    let north = fresh_school("north");
    let south = PgSettings { school: "south".into(), ..north.clone() };
    for settings in [&north, &south] {
        let service = CaseService::open_postgres(settings, &key, Policy::default()).expect("the school's service");
        Session::new(service, school_dsl()).ingest(&school_page("A"), fixed_now()).expect("stored");
    }
    Alike { dir, north, south, key }
}

/// The trust's lead's view of both schools at once, as `vigil` on the trust's config opens it.
fn trust_view(north: &PgSettings, south: &PgSettings, key: &StoreKey) -> Session {
    let mut config = vigil::config::Config::default();
    config.roles.dsl = vec!["north-dsl".into()];
    config.roles.trust_lead = vec!["tlead".into()];
    let schools = [north, south]
        .into_iter()
        .map(|s| {
            let service = CaseService::open_postgres(s, key, Policy::from_config(&config)).expect("open");
            (s.school.clone(), Session::new(service, trust_lead("tlead", false)))
        })
        .collect();
    vigil::service::trust::view(schools, trust_lead("tlead", false)).expect("two schools")
}

#[test]
fn the_trust_view_is_one_queue_of_every_school_each_key_naming_its_school_and_each_read_going_to_it() {
    let Alike { dir: _dir, north, south, key } = two_schools_alike();
    let view = trust_view(&north, &south, &key);
    assert_eq!(view.schools(), ["north", "south"]);

    let queue = view.queue_open(fixed_now()).expect("the trust's queue");
    let keys: std::collections::BTreeSet<String> = queue.iter().map(|c| c.key.to_string()).collect();
    assert_eq!(queue.len(), 6, "three student cases a school, no staff alert: {keys:?}");
    assert_eq!(keys.len(), 6, "the same alert id in two schools is two cases: {keys:?}");
    assert!(keys.contains("north/smoothwall-monitor:A-1") && keys.contains("south/smoothwall-monitor:A-1"));
    for row in &queue {
        let school = row.school.as_deref().expect("each row names its school");
        assert!(row.key.source.starts_with(&format!("{school}/")), "{row:?}");
        assert!(row.search.ends_with(school), "the filter finds a school by name");
    }

    // Opening a case reads it from its own school, whose trail alone records the read.
    let south_a1 = AlertKey::new("south/smoothwall-monitor", "A-1");
    let detail = view.open(&south_a1, fixed_now()).expect("the case opens");
    assert_eq!(detail.alert.key, south_a1, "the detail's key names its school, as the queue's row does");
    assert_eq!(detail.summary.school.as_deref(), Some("south"));
    let read_by_lead = |settings: &PgSettings| {
        let service = CaseService::open_postgres(settings, &key, Policy::default()).expect("open");
        let records = Session::new(service, school_dsl()).audit_records(Some("smoothwall-monitor:A-1")).expect("trail");
        records.iter().filter(|r| r.actor == "tlead").count()
    };
    assert!(read_by_lead(&south) > 0, "south's trail records the trust's lead's read");
    assert_eq!(read_by_lead(&north), 0, "north's case of the same id was not read");

    // An id in both schools is ambiguous until the school is named; a decision is refused as in one school.
    assert!(matches!(view.find("A-1"), Err(ServiceError::Ambiguous { .. })));
    assert_eq!(
        view.find("north/smoothwall-monitor:A-1").expect("found"),
        AlertKey::new("north/smoothwall-monitor", "A-1")
    );
    let note = view.act(&south_a1, &CaseCommand::Note { text: "from the trust".into() }, fixed_now());
    assert!(matches!(note, Err(ServiceError::Forbidden("trust_lead"))), "{note:?}");
    let unknown = view.open(&AlertKey::new("west/smoothwall-monitor", "A-1"), fixed_now());
    assert!(matches!(unknown, Err(ServiceError::NotFound(_))), "no school `west`: {unknown:?}");
    let feed = view.feed_status().expect_err("the feed is each school's");
    assert!(feed.to_string().contains("--school"), "{feed}");

    // The school filter shows one school, then the next, then all.
    let mut filter = vigil::app::filter::Filter::default();
    let schools = view.schools();
    let shown = |f: &vigil::app::filter::Filter| queue.iter().filter(|c| f.matcher()(c)).count();
    filter.next_school(&schools);
    assert_eq!((filter.school.as_deref(), shown(&filter)), (Some("north"), 3));
    filter.next_school(&schools);
    assert_eq!((filter.school.as_deref(), shown(&filter)), (Some("south"), 3));
    filter.next_school(&schools);
    assert_eq!((filter.school.as_deref(), shown(&filter)), (None, 6));
}

#[test]
fn a_decision_in_one_school_reaches_the_trust_view_named_for_its_school() {
    let Alike { dir: _dir, north, south, key } = two_schools_alike();
    let view = trust_view(&north, &south, &key);
    let mut events = view.subscribe();

    // North's DSL, through north's own service, notes the case that south also numbers A-1.
    let mut config = vigil::config::Config::default();
    config.roles.dsl = vec!["north-dsl".into()];
    let north_service = CaseService::open_postgres(&north, &key, Policy::from_config(&config)).expect("open");
    let north_dsl = Session::new(north_service, school_dsl());
    north_dsl
        .act(&AlertKey::new(SOURCE, "A-1"), &CaseCommand::Note { text: "rang home".into() }, fixed_now())
        .expect("north's DSL decides");

    // vigil's own runtime: a read of the database from the UI's task runs in `block_in_place`.
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let heard = runtime.block_on(async {
        // Bounded so that a change never heard fails the test instead of hanging it.
        tokio::time::timeout(std::time::Duration::from_secs(30), async {
            let mut heard = Vec::new();
            while heard.is_empty() && events.changed().await {
                heard.extend(events.read(chrono::Utc::now()).expect("events").into_iter().filter_map(
                    |e| match e.kind {
                        vigil::service::api::EventKind::CaseChanged { case, row } => Some((case, row)),
                        _ => None,
                    },
                ));
            }
            heard
        })
        .await
        .expect("the trust's view hears of north's decision")
    });
    let (case, row) = heard.first().expect("a changed case");
    assert_eq!(case, &AlertKey::new("north/smoothwall-monitor", "A-1"), "named for north, not south's A-1");
    assert_eq!((row.key.clone(), row.school.as_deref()), (case.clone(), Some("north")));
}

#[test]
fn the_trust_view_on_screen_has_a_school_column_a_school_filter_and_no_decision_keys() {
    use vigil::app::keymap::{Command, KeyMode, Keymap};
    use vigil::app::{Action, Effect};

    let Alike { dir: _dir, north, south, key } = two_schools_alike();
    let view = trust_view(&north, &south, &key);
    let mut state = vigil::tui::screen_state(&view, Keymap::embedded(), fixed_now());
    let mut link = vigil::tui::Link::new(view);
    let retry = tokio::sync::Notify::new();
    let mut run = |state: &mut vigil::app::State, effects: Vec<Effect>| {
        vigil::tui::run_effects(state, &mut link, &retry, &fixed_now, effects);
    };
    run(&mut state, vec![Effect::LoadQueue]);
    let draw = |state: &vigil::app::State| {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(110, 24)).expect("terminal");
        let theme = vigil::ui::Theme::new(vigil::ui::theme::ThemeName::Dark, false);
        t.draw(|f| vigil::ui::render(state, &theme, f)).expect("draw");
        t
    };
    insta::assert_snapshot!("trust_view_every_school", draw(&state).backend());

    // `S`: one school, then the next, then all again.
    let effects = vigil::app::update(&mut state, Action::Command(Command::FilterSchool));
    run(&mut state, effects);
    let screen = format!("{}", draw(&state).backend());
    insta::assert_snapshot!("trust_view_north_only", screen);
    assert_eq!(state.rows.len(), 3);
    assert!(state.visible().all(|c| c.school.as_deref() == Some("north")));

    // The keys that record a decision are not offered, nor bound: the trust's lead decides nothing.
    for mode in [KeyMode::Queue, KeyMode::Detail, KeyMode::Checklist] {
        let offered: Vec<Command> = state.keymap.help_for(mode).iter().map(|b| b.command).collect();
        for decision in [Command::Toggle, Command::AddNote, Command::Take, Command::NewAlert] {
            assert!(!offered.contains(&decision), "{decision:?} offered in {mode:?}");
        }
        assert!(offered.contains(&Command::FilterSchool), "the school filter is in {mode:?}'s help");
    }
    let school_dsl_keys = Keymap::embedded().for_viewer(true, false);
    let dsl_offers: Vec<Command> = school_dsl_keys.help_for(KeyMode::Queue).iter().map(|b| b.command).collect();
    assert!(dsl_offers.contains(&Command::AddNote) && !dsl_offers.contains(&Command::FilterSchool));
}

#[test]
fn the_trust_view_in_a_real_terminal_shows_both_schools_filters_one_and_opens_a_case_without_deciding() {
    use crate::e2e_tmux;
    if !e2e_tmux::tmux_available() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI must have tmux (.ci/run installs it)");
        return;
    }
    let Alike { dir, north, south, key } = two_schools_alike();
    let config = trust_config(dir.path(), "trust_lead", &north, "");
    let data = dir.path().join("data");
    let cmd = format!(
        "{} --config {config} --data-dir {} ; echo EXITED $? ; sleep 60",
        env!("CARGO_BIN_EXE_vigil"),
        data.display()
    );
    let screen = e2e_tmux::Session::start(&cmd, 110, 30);
    let first = screen.wait_for("both schools' cases", |s| s.contains("SCHOOL") && s.contains("south  MED"));
    assert_eq!(first.matches("self-harm").count(), 6 + 1, "six rows and the case pane's title:\n{first}");
    assert!(first.contains("each school's own"), "the view polls no feed:\n{first}");

    screen.keys(&["S"]);
    let north_only = screen.wait_for("north's cases alone", |s| s.contains("FILTER: school north"));
    assert!(!north_only.contains("south  MED"), "{north_only}");
    screen.keys(&["Enter"]);
    screen.wait_for("the case open", |s| s.contains("Raised:"));
    // `n` (a note) is no key of the trust's lead's: no editor opens.
    screen.keys(&["n"]);
    screen.keys(&["?"]);
    let help = screen.wait_for("the help", |s| s.contains("one school's cases"));
    assert!(!help.contains("add a note"), "no decision key in the help:\n{help}");
    screen.keys(&["q"]);
    screen.wait_for("the help closed", |s| !s.contains("Keys in the"));
    screen.keys(&["q"]);
    screen.wait_for("a clean exit", |s| s.contains("EXITED 0"));

    // North's trail records the trust's lead's read of its A-1; south's A-1 was not read.
    let user = vigil::identity::os_user().expect("an OS user");
    let reads = |settings: &PgSettings| {
        let service = CaseService::open_postgres(settings, &key, Policy::default()).expect("open");
        let records = Session::new(service, school_dsl()).audit_records(Some("smoothwall-monitor:A-1")).expect("trail");
        records.iter().filter(|r| r.actor == user).count()
    };
    assert!(reads(&north) > 0);
    assert_eq!(reads(&south), 0);
}

#[test]
fn every_key_a_school_answers_with_names_the_school_in_the_trust_view_and_the_dashboard_counts_each_case_once() {
    let Alike { dir: _dir, north, south, key } = two_schools_alike();
    let school_session = |settings: &PgSettings| {
        let mut config = vigil::config::Config::default();
        config.roles.dsl = vec!["north-dsl".into()];
        let service = CaseService::open_postgres(settings, &key, Policy::from_config(&config)).expect("open");
        Session::new(service, school_dsl())
    };
    // North links its A-1 to its A-2; south's vendor withdraws south's A-1.
    school_session(&north)
        .act(&AlertKey::new(SOURCE, "A-1"), &CaseCommand::Link { other: AlertKey::new(SOURCE, "A-2") }, fixed_now())
        .expect("linked");
    let withdrawn = alert(
        "A-1",
        json!({"revision": 2, "withdrawn": true, "category": "self-harm", "raised_at": "2026-11-10T10:00:00+00:00", "subject": {"kind": "student", "id": "S1"}}),
    );
    let page = vigil::feed::protocol::parse_page(page(&[withdrawn], Some("c2"), false).as_bytes()).expect("a page");
    school_session(&south).ingest(&page, fixed_now()).expect("withdrawn");

    let view = trust_view(&north, &south, &key);
    let detail = view.open(&AlertKey::new("north/smoothwall-monitor", "A-1"), fixed_now()).expect("opens");
    let json = serde_json::to_string(&detail).expect("the detail as JSON");
    assert!(!json.contains("\"smoothwall-monitor\""), "a key not named for its school: {json}");
    assert!(detail.case.links.contains(&AlertKey::new("north/smoothwall-monitor", "A-2")), "{:?}", detail.case.links);
    assert!(
        detail.events.iter().any(|e| matches!(&e.kind, vigil::domain::EventKind::Linked { other } if other.source == "north/smoothwall-monitor")),
        "the timeline's link names north"
    );

    // The dashboard's count of cases not open matches rows by a hash that names the school too.
    let briefs = view.raised_not_open().expect("not open");
    assert_eq!(briefs.len(), 1, "south's withdrawn A-1");
    let rows = view.queue(fixed_now()).expect("every case");
    let hash_of = |school: &str| {
        let row = rows.iter().find(|r| r.id == "A-1" && r.school.as_deref() == Some(school)).expect("the row");
        vigil::service::trust::row_hash(row)
    };
    assert_eq!(hash_of("south"), briefs[0].2, "south's withdrawn row is the case counted");
    assert_ne!(hash_of("north"), briefs[0].2, "north's open A-1 is another case");
    // An id two schools share is ambiguous until named, with each school's candidate named.
    match view.find("A-1") {
        Err(ServiceError::Ambiguous { candidates, .. }) => {
            assert_eq!(candidates, ["north/smoothwall-monitor:A-1", "south/smoothwall-monitor:A-1"])
        }
        other => panic!("ambiguous, got {other:?}"),
    }
}
