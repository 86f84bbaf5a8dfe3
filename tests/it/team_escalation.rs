//! A High alert nobody opened (issue 16): the real ticker ([`vigil::escalator::Escalator`]) over a real store,
//! driven by tokio's paused clock mapped to a pinned UTC start, so days pass in no time and every instant
//! is exact. It fires at the minute and not before, repeats, stops once the case is opened, waits for the
//! 08:30 pickup when the alert came out of hours, runs `notify_command` with a content-free message, and
//! is heard only by the reviewers on duty who may see the case.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::access_support::alert_with_text;
use crate::backend_support::{Backend, both_backends, fresh_school, off_runtime, paused, storage_keys};
use std::sync::Arc;
use vigil::audit::Trail;
use vigil::config::{Config, EscalationConfig};
use vigil::domain::{AlertKey, EventKind, Level};
use vigil::escalator::{Escalator, Notified, tokio_clock};
use vigil::feed::protocol::parse_page;
use vigil::identity::{Role, Viewer};
use vigil::service::api;
use vigil::service::events::Subscription;
use vigil::service::{CaseService, Policy, Session};
use vigil::store::backend::CaseStore;
use vigil::store::postgres::PgStore;
use vigil::store::{Store, StoreKey};

/// Text in every free-text field of the alerts here: no message or title may carry it.
const TEXT: &str = "Zebedee-Quill ";

/// A London wall-clock time in December 2026 (GMT, so UTC too): the 1st is a Tuesday, the 4th a Friday.
fn london(day: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Europe::London.with_ymd_and_hms(2026, 12, day, h, mi, 0).single().expect("valid").with_timezone(&Utc)
}

fn dsl() -> Viewer {
    Viewer { user: "dsl1".into(), role: Role::Dsl, sees_staff: true }
}

fn ddsl() -> Viewer {
    Viewer { user: "ddsl1".into(), role: Role::Ddsl, sees_staff: false }
}

fn officer() -> Viewer {
    Viewer { user: "officer1".into(), role: Role::Officer, sees_staff: false }
}

/// A protocol v1 alert raised at `raised`, its level from `risk` (5 High, 3 Medium, 1 Low).
fn alert(id: &str, kind: &str, risk: u8, raised: DateTime<Utc>) -> Value {
    let mut a = alert_with_text(id, kind, TEXT, risk);
    a["raised_at"] = Value::String(raised.to_rfc3339());
    a["captures"][0]["at"] = Value::String(raised.to_rfc3339());
    a
}

struct World {
    _tmp: tempfile::TempDir,
    /// Always there until dropped (off the runtime: see [`off_runtime`]).
    service: Option<CaseService>,
}

impl Drop for World {
    fn drop(&mut self) {
        let service = self.service.take();
        off_runtime(move || drop(service));
    }
}

impl World {
    fn service(&self) -> &CaseService {
        self.service.as_ref().expect("until dropped")
    }

    /// A real store of `backend` (sled's in a temp dir) holding `alerts`, stored at `at`, with `escalation` as
    /// its config's.
    fn new(backend: Backend, escalation: EscalationConfig, alerts: &[Value], at: DateTime<Utc>) -> World {
        off_runtime(|| World::new_here(backend, escalation, alerts, at))
    }

    fn new_here(backend: Backend, escalation: EscalationConfig, alerts: &[Value], at: DateTime<Utc>) -> World {
        let tmp = tempfile::tempdir().expect("tmp");
        let opened = backend.open(&tmp.path().join("data"));
        let mut config = Config { escalation, ..Config::default() };
        config.roles.dsl = vec!["dsl1".into()];
        config.roles.ddsl = vec!["ddsl1".into()];
        config.roles.officer = vec!["officer1".into()];
        let service = CaseService::with_store(opened.store, opened.trail, Policy::from_config(&config));
        let body = serde_json::json!({"feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": "c", "more": false});
        let page = parse_page(body.to_string().as_bytes()).expect("page parses");
        Session::new(service.clone(), dsl()).ingest(&page, at).expect("ingest");
        World { _tmp: tmp, service: Some(service) }
    }

    fn session(&self, viewer: Viewer) -> Session {
        Session::new(self.service().clone(), viewer)
    }

    /// The ticker over this world's service, reading tokio's (paused) clock from `start`.
    fn ticker(&self, start: DateTime<Utc>) -> Escalator {
        let mut ticker = Escalator::new(self.service().clone()).expect("notify_command splits");
        ticker.clock = tokio_clock(start);
        ticker
    }

    /// The case's escalations as recorded in its log: (when, round, reference), by the service.
    fn escalations(&self, key: &AlertKey, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, u32, String)> {
        let detail = off_runtime(|| self.session(dsl()).detail(key, now).expect("detail"));
        detail
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Escalated { round, reference, .. } => {
                    assert_eq!(e.actor(), vigil::domain::Actor::Service, "vigil itself escalates");
                    Some((e.at, *round, reference.clone()))
                }
                _ => None,
            })
            .collect()
    }
}

both_backends!(
    a_high_case_is_escalated_at_the_minute_repeated_and_stopped_once_opened,
    an_alert_raised_near_the_close_escalates_at_the_08_30_pickup_not_at_17_01,
    a_medium_case_counts_working_hours_and_a_low_one_never_escalates,
    notify_command_reads_a_content_free_message_byte_for_byte_and_a_failing_one_stops_nothing,
    a_backlog_is_escalated_a_hundred_a_sweep_high_first_and_the_rest_at_the_next,
    the_deputy_hears_a_student_escalation_not_a_staff_one_and_an_officer_hears_none,
    the_screen_rings_shows_a_banner_and_a_title_without_content_until_the_case_is_opened,
    escalations_heard_together_ring_once_and_the_title_goes_back_when_the_last_is_opened,
    the_governors_report_counts_escalated_cases_and_how_long_until_they_were_opened,
    through_the_socket_the_dsl_hears_an_escalation_and_nothing_of_the_alert,
    a_sweep_through_a_backlog_gives_way_to_a_queue_being_read_after_one_escalation,
);

fn key(id: &str) -> AlertKey {
    AlertKey::new("smoothwall-monitor", id)
}

/// The escalation events among what `sub` has not read yet.
fn heard(sub: &mut Subscription, now: DateTime<Utc>) -> Vec<(String, Level, u32, u32)> {
    off_runtime(|| sub.read(now))
        .expect("read")
        .into_iter()
        .filter_map(|e| match e.kind {
            api::EventKind::Escalated { case, level, round, unopened_minutes } => {
                Some((case.id, level, round, unopened_minutes))
            }
            _ => None,
        })
        .collect()
}

/// Waits (in paused time, which runs on to the ticker's next wake) until `sub` hears an escalation, for at
/// most two days of that time.
async fn next_escalation(sub: &mut Subscription, clock: &vigil::escalator::Clock) -> (String, Level, u32, u32) {
    let heard_one = async {
        loop {
            assert!(sub.changed().await, "the service is there");
            if let Some(first) = heard(sub, clock()).into_iter().next() {
                return first;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(2 * 24 * 3600), heard_one).await.expect("an escalation within two days")
}

fn a_high_case_is_escalated_at_the_minute_repeated_and_stopped_once_opened(backend: Backend) {
    paused(async move {
        let raised = london(1, 10, 0);
        let w = World::new(backend, EscalationConfig::default(), &[alert("H1", "student", 5, raised)], raised);
        let clock = tokio_clock(raised);
        let mut sub = off_runtime(|| w.service().subscribe(dsl(), None));
        let ticker = tokio::spawn(w.ticker(raised).run());

        assert_eq!(next_escalation(&mut sub, &clock).await, ("H1".into(), Level::High, 1, 10));
        assert_eq!(clock(), london(1, 10, 10), "heard at the minute");
        let recorded = w.escalations(&key("H1"), clock());
        assert_eq!(recorded.len(), 1);
        assert_eq!((recorded[0].0, recorded[0].1), (london(1, 10, 10), 1), "recorded at 10:10:00, not a second before");

        assert_eq!(next_escalation(&mut sub, &clock).await, ("H1".into(), Level::High, 2, 20));
        assert_eq!(clock(), london(1, 10, 20), "repeated after repeat_minutes");
        let recorded = w.escalations(&key("H1"), clock());
        assert_eq!(recorded[1].2, recorded[0].2, "one reference for the case, kept from the first escalation");

        // The deputy opens it at 10:25: nothing more, however long it stays open.
        tokio::time::sleep(Duration::from_secs(5 * 60)).await;
        let now = clock();
        off_runtime(|| w.session(ddsl()).open(&key("H1"), now)).expect("opened");
        tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
        assert_eq!(heard(&mut sub, clock()), vec![], "no escalation once the case was opened");
        assert_eq!(w.escalations(&key("H1"), clock()).len(), 2);
        ticker.abort();
    })
}

fn an_alert_raised_near_the_close_escalates_at_the_08_30_pickup_not_at_17_01(backend: Backend) {
    paused(async move {
        // Raised at 16:51 on Tuesday: ten minutes later is 17:01, when nobody is at work.
        let raised = london(1, 16, 51);
        let w = World::new(backend, EscalationConfig::default(), &[alert("H2", "student", 5, raised)], raised);
        let clock = tokio_clock(raised);
        let mut sub = off_runtime(|| w.service().subscribe(dsl(), None));
        let ticker = tokio::spawn(w.ticker(raised).run());
        let (_, level, round, unopened) = next_escalation(&mut sub, &clock).await;
        assert_eq!(clock(), london(2, 8, 30), "the first escalation is Wednesday's 08:30 pickup");
        assert_eq!((level, round, unopened), (Level::High, 1, 15 * 60 + 39), "unopened since 16:51");
        assert_eq!(w.escalations(&key("H2"), clock())[0].0, london(2, 8, 30));
        ticker.abort();
    })
}

fn a_medium_case_counts_working_hours_and_a_low_one_never_escalates(backend: Backend) {
    paused(async move {
        // Raised at 15:00: two working hours on Tuesday, two more from 08:30 on Wednesday.
        let raised = london(1, 15, 0);
        let alerts = [alert("M1", "student", 3, raised), alert("L1", "student", 1, raised)];
        let w = World::new(backend, EscalationConfig::default(), &alerts, raised);
        let clock = tokio_clock(raised);
        let mut sub = off_runtime(|| w.service().subscribe(dsl(), None));
        let ticker = tokio::spawn(w.ticker(raised).run());
        assert_eq!(next_escalation(&mut sub, &clock).await.0, "M1");
        assert_eq!(clock(), london(2, 10, 30));
        ticker.abort();
        let week_later = london(8, 12, 0);
        let sweep = off_runtime(|| w.service().escalate_due(week_later)).expect("sweep");
        assert_eq!(
            sweep.escalated.iter().map(|e| e.key.id.as_str()).collect::<Vec<_>>(),
            ["M1"],
            "Low never escalates"
        );
        assert!(w.escalations(&key("L1"), week_later).is_empty());
    })
}

fn notify_command_reads_a_content_free_message_byte_for_byte_and_a_failing_one_stops_nothing(backend: Backend) {
    paused(async move {
        let raised = london(1, 10, 0);
        let out = tempfile::tempdir().expect("tmp");
        let file = out.path().join("message");
        let command = format!("tee {}", shlex::try_quote(file.to_str().expect("utf-8 path")).expect("quotes"));
        let config = EscalationConfig { notify_command: Some(command), ..EscalationConfig::default() };
        let w = World::new(backend, config, &[alert("H3", "student", 5, raised)], raised);
        let (tx, mut rx) = mpsc::unbounded_channel::<Notified>();
        let mut ticker = w.ticker(raised);
        ticker.notified = Some(tx);
        let ticker = tokio::spawn(ticker.run());

        let notified = tokio::time::timeout(Duration::from_secs(3600), rx.recv()).await.expect("in time").expect("ran");
        assert_eq!(notified.result, Ok(()));
        let recorded = w.escalations(&key("H3"), london(1, 10, 10));
        let reference = &recorded[0].2;
        assert_eq!(notified.reference, *reference);
        assert!(reference.starts_with("ESC-") && reference.len() == 14, "{reference}");
        let message = std::fs::read_to_string(&file).expect("the command wrote its input");
        assert_eq!(
            message,
            format!(
                "vigil: a HIGH case has not been opened for 10 min (escalation 1); reference {reference}\nlevel=high\nunopened_minutes=10\nround=1\nreference={reference}\n"
            )
        );
        assert!(!message.contains(TEXT.trim()) && !message.contains("H3"), "nothing of the alert: {message}");
        // The reference finds the case, for the reviewers who may see it.
        assert_eq!(off_runtime(|| w.session(dsl()).find(reference)).expect("found"), key("H3"));
        let lower = reference.to_ascii_lowercase();
        assert_eq!(off_runtime(|| w.session(dsl()).find(&lower)).expect("found"), key("H3"));
        ticker.abort();

        // A command that fails is logged; the escalations go on.
        let config = EscalationConfig { notify_command: Some("false".into()), ..EscalationConfig::default() };
        let w = World::new(backend, config, &[alert("H4", "student", 5, raised)], raised);
        let (tx, mut rx) = mpsc::unbounded_channel::<Notified>();
        let mut ticker = w.ticker(raised);
        ticker.notified = Some(tx);
        let ticker = tokio::spawn(ticker.run());
        assert!(rx.recv().await.expect("ran").result.is_err(), "`false` fails");
        assert!(rx.recv().await.expect("ran again").result.is_err(), "and is run again at the repeat");
        assert_eq!(w.escalations(&key("H4"), london(1, 10, 20)).len(), 2, "both escalations recorded");
        ticker.abort();
    })
}

/// A backlog (a service started after days down, or on a store moved in) is escalated a hundred a sweep,
/// High first, and the next sweep is due at once: the service answers its clients in between.
fn a_backlog_is_escalated_a_hundred_a_sweep_high_first_and_the_rest_at_the_next(backend: Backend) {
    let raised = london(1, 10, 0);
    let mut alerts: Vec<Value> = (0..120).map(|i| alert(&format!("M{i:03}"), "student", 3, raised)).collect();
    alerts.extend((0..30).map(|i| alert(&format!("H{i:03}"), "student", 5, raised)));
    let w = World::new(backend, EscalationConfig::default(), &alerts, raised);
    let now = london(1, 16, 0);
    let first = w.service().escalate_due(now).expect("sweep");
    assert_eq!(first.escalated.len(), vigil::service::escalation::ESCALATED_AT_MOST_A_SWEEP);
    assert_eq!(first.escalated.iter().filter(|e| e.level == Level::High).count(), 30, "every High case first");
    assert_eq!(first.next, Some(now), "the rest are due at once");
    let second = w.service().escalate_due(now).expect("sweep");
    assert_eq!(second.escalated.len(), 50);
    assert!(second.escalated.iter().all(|e| e.level == Level::Medium));
    assert!(w.service().escalate_due(now).expect("sweep").escalated.is_empty(), "each once");
}

fn the_deputy_hears_a_student_escalation_not_a_staff_one_and_an_officer_hears_none(backend: Backend) {
    let raised = london(1, 10, 0);
    let alerts = [alert("P1", "student", 5, raised), alert("S1", "staff", 5, raised)];
    let w = World::new(backend, EscalationConfig::default(), &alerts, raised);
    let mut dsl_sub = w.service().subscribe(dsl(), None);
    let mut ddsl_sub = w.service().subscribe(ddsl(), None);
    let mut officer_sub = w.service().subscribe(officer(), None);
    let now = london(1, 10, 10);
    assert!(w.service().escalate_due(now - chrono::Duration::seconds(1)).expect("sweep").escalated.is_empty());
    let sweep = w.service().escalate_due(now).expect("sweep");
    assert_eq!(sweep.escalated.len(), 2);
    assert_eq!(sweep.next, Some(london(1, 10, 20)), "the ticker sleeps until the repeat");
    let mut dsl_heard: Vec<String> = heard(&mut dsl_sub, now).into_iter().map(|h| h.0).collect();
    dsl_heard.sort();
    assert_eq!(dsl_heard, ["P1", "S1"], "the DSL hears both");
    assert_eq!(heard(&mut ddsl_sub, now), vec![("P1".to_string(), Level::High, 1, 10)], "the deputy: the student's");
    let officer_events = officer_sub.read(now).expect("read");
    let bytes = serde_json::to_string(&officer_events).expect("serialises");
    assert!(!bytes.contains("Escalated") && !bytes.contains("S1"), "an officer hears none: {bytes}");
    // A sweep at the same instant escalates nothing twice.
    assert!(w.service().escalate_due(now).expect("sweep").escalated.is_empty());
    // Each escalation and its audit record were written together: the trail and the case logs agree.
    let verdict = w.session(dsl()).audit_verify().expect("verify");
    assert!(matches!(verdict, vigil::audit::Verdict::Intact { .. }), "{verdict:?}");
    let records = w.session(dsl()).audit_records(Some("P1")).expect("records");
    assert!(records.iter().any(|r| r.actor == "vigil:service" && r.what.starts_with("escalated (#1, ESC-")));
}

fn the_screen_rings_shows_a_banner_and_a_title_without_content_until_the_case_is_opened(backend: Backend) {
    use vigil::app::Action;
    use vigil::app::keymap::Command;
    let mut h = crate::common::Harness::on(backend);
    let now = crate::common::fixed_now();
    // Every open High and Medium case of the demo week is long unopened on the Monday after.
    let service = h.service.local().expect("in this process").clone();
    let sweep = service.escalate_due(now).expect("sweep");
    assert!(!sweep.escalated.is_empty());
    let first = sweep.escalated[0].clone();
    assert_eq!(first.level, Level::High);
    // The service's events reach the screen (the runtime rings the bell and sets the title for them).
    h.effects(Vec::new());
    assert!(h.state.escalated.iter().any(|e| e.key == first.key), "the banner holds the case");
    let banner = vigil::ui::escalation_banner(&h.state).expect("a banner");
    assert!(banner.starts_with("ESCALATED: HIGH unopened "), "{banner}");
    // Named: the one snapshot for both backends.
    insta::assert_snapshot!(
        "the_screen_rings_shows_a_banner_and_a_title_without_content_until_the_case_is_opened",
        h.draw(80, 24).backend()
    );
    // The active filter is always in the header, banner or not; a case the filter hides is said to be.
    h.cmd(Command::FilterLow);
    let header: String = {
        let t = h.draw(80, 24);
        (0..80).map(|x| t.backend().buffer()[(x, 0)].symbol().to_string()).collect()
    };
    assert!(header.contains("FILTER:") && header.contains("filtered out"), "{header}");
    h.cmd(Command::ClearFilter);

    // Opening the case takes it off the banner; once none is left the title goes back.
    let row = h.state.visible().position(|c| c.key == first.key).expect("in the queue");
    h.state.selected = row;
    h.cmd(Command::Open);
    assert!(!h.state.escalated.iter().any(|e| e.key == first.key), "opened: off the banner");
    let mut rest = h.state.escalated.clone();
    for e in rest.drain(..) {
        let _ = h.apply(Action::CaseChanged { key: e.key, summary: None, seq: None });
    }
    assert!(h.state.escalated.is_empty());
    assert!(vigil::ui::escalation_banner(&h.state).is_none());
}

fn escalations_heard_together_ring_once_and_the_title_goes_back_when_the_last_is_opened(backend: Backend) {
    use vigil::app::{Action, Effect};
    let mut h = crate::common::Harness::on(backend);
    let new: Vec<_> =
        h.state.cases.iter().filter(|c| c.status == vigil::domain::Status::New).take(2).cloned().collect();
    assert_eq!(new.len(), 2);
    let heard = new
        .iter()
        .map(|c| vigil::app::Escalated { key: c.key.clone(), level: Level::High, round: 1, unopened_minutes: 12 })
        .collect();
    let effects = h.apply(Action::Escalated(heard));
    assert_eq!(
        effects,
        vec![Effect::Escalation { title: "vigil: ESCALATION, a HIGH case nobody has opened".into() }],
        "one bell, and a title with the level only"
    );
    assert_eq!(h.state.escalated.len(), 2);
    let mut effects = Vec::new();
    for row in new {
        let mut opened = row.clone();
        opened.status = vigil::domain::Status::Open;
        effects = h.apply(Action::CaseChanged { key: row.key.clone(), summary: Some(Box::new(opened)), seq: None });
    }
    assert_eq!(effects, vec![Effect::Title("vigil".into())], "the last one opened: the plain title");
    assert!(h.state.escalated.is_empty());
}

fn the_governors_report_counts_escalated_cases_and_how_long_until_they_were_opened(backend: Backend) {
    use vigil::report::figures::{Count, MedianLongest, compute};
    use vigil::report::{Options, Period};
    // Six High alerts raised on Tuesday morning; five are opened 15, 20, 30, 40 and 90 minutes after.
    let raised = london(1, 9, 0);
    let alerts: Vec<Value> = (1..=6).map(|i| alert(&format!("E{i}"), "student", 5, raised)).collect();
    let w = World::new(backend, EscalationConfig::default(), &alerts, raised);
    assert_eq!(w.service().escalate_due(london(1, 9, 10)).expect("sweep").escalated.len(), 6);
    let deputy = w.session(ddsl());
    for (i, after) in [15, 20, 30, 40, 90].into_iter().enumerate() {
        deputy.open(&key(&format!("E{}", i + 1)), raised + chrono::Duration::minutes(after)).expect("opened");
    }
    let period = Period::new(raised.date_naive(), raised.date_naive()).expect("period");
    let data = w.session(dsl()).report_data(false).expect("report data");
    let figures = |min_group| compute(&data, period, &Options { min_group, now: london(2, 12, 0) });
    let f = figures(5);
    assert_eq!(f.escalation.cases, Count::Exact(6));
    assert_eq!(f.escalation.until_opened, MedianLongest::Shown { median: 30, longest: 90 });
    let text = vigil::report::render(vigil::report::Format::Markdown, &f);
    assert!(text.contains("| Cases escalated (nobody opened them in time) | 6 |"), "{text}");
    assert!(text.contains("| Raise to opened, escalated cases: longest | 1 h 30 min |"), "{text}");
    // Fewer than the minimum: the count says so, and no time of a few cases is published.
    let f = figures(7);
    assert_eq!(f.escalation.cases, Count::FewerThan(7));
    assert_eq!(f.escalation.until_opened, MedianLongest::Suppressed);
}

/// Through the real socket: `vigil serve` escalates a High case nobody opened when it starts (the calendar
/// here is open around the clock, so the test does not depend on the hour), and a DSL connected to it hears
/// the escalation as an event whose bytes carry nothing of the alert.
fn through_the_socket_the_dsl_hears_an_escalation_and_nothing_of_the_alert(backend: Backend) {
    use crate::service_support::Served;
    // A store holding one High alert raised on a Tuesday morning weeks ago, never opened (on PostgreSQL, a
    // school of a fresh database, with the key the service's config names).
    let own = tempfile::tempdir().expect("tmp");
    let (data, key_file) = (own.path().join("data"), own.path().join("store.key"));
    let school = (backend == Backend::Postgres).then(|| fresh_school("north"));
    {
        let key = StoreKey::file(key_file.clone());
        let (store, trail): (Arc<dyn CaseStore>, Arc<dyn Trail>) = match &school {
            None => {
                let store = Store::open(&data, &key).expect("store");
                (Arc::new(store.clone()), Arc::new(store))
            }
            Some(settings) => {
                let store = Arc::new(PgStore::open(settings, &key).expect("store"));
                (store.clone(), store)
            }
        };
        let service = CaseService::with_store(store, trail, Policy::from_config(&Config::default()));
        let raised = chrono_tz::Europe::London.with_ymd_and_hms(2026, 11, 10, 10, 0, 0).single().expect("valid");
        let body = serde_json::json!({
            "feed": "vigil.alert-feed/1",
            "alerts": [alert("SOCK1", "student", 5, raised.with_timezone(&Utc))],
            "cursor": "c",
            "more": false,
        });
        let page = parse_page(body.to_string().as_bytes()).expect("page parses");
        Session::new(service, dsl()).ingest(&page, raised.with_timezone(&Utc)).expect("ingest");
    }
    let mut served = match &school {
        None => Served::start_on("dsl", None, 3600, Some((&data, &key_file))),
        Some(settings) => Served::start_postgres("dsl", None, &storage_keys(settings), &key_file),
    };
    served.kill();
    let mut config = std::fs::read_to_string(&served.config).expect("config");
    config.push_str(
        "\n[calendar]\nworking_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\nopen = \"00:00\"\nclose = \"23:59:59\"\n",
    );
    std::fs::write(&served.config, config).expect("config");
    served.spawn();
    tokio::runtime::Runtime::new().expect("a runtime").block_on(hear_the_escalation(&served));
}

async fn hear_the_escalation(served: &crate::service_support::Served) {
    use crate::service_support::Raw;
    use vigil::service::wire::{FromService, PROTOCOL_VERSION, Resume, ToService};
    // This run's instance, then a connection that hears every change since the service started.
    let mut first = Raw::connect(&served.socket).await;
    let Some(FromService::Welcome(welcome)) = first.hello(PROTOCOL_VERSION).await else { panic!("welcomed") };
    let mut raw = Raw::connect(&served.socket).await;
    let resume = Some(Resume { instance: welcome.instance.clone(), after: 0 });
    raw.send(&ToService::Hello { version: PROTOCOL_VERSION, features: Vec::new(), resume }).await;
    let event = loop {
        match raw.next().await {
            Some(FromService::Event(event)) if matches!(event.kind, api::EventKind::Escalated { .. }) => break event,
            Some(_) => continue,
            None => panic!("the service closed the connection"),
        }
    };
    let api::EventKind::Escalated { case, level, round, .. } = &event.kind else { unreachable!() };
    assert_eq!((case, *level, *round), (&key("SOCK1"), Level::High, 1));
    // The escalation itself names the case by key only (its row, with the content the DSL may see, came
    // before it as the queue's own event).
    let wire = serde_json::to_string(&event).expect("serialises");
    assert!(!wire.contains(TEXT.trim()), "no alert content in the escalation: {wire}");
    // The case's timeline says so, by vigil.
    let shown = served.cli(&["show", "SOCK1"]);
    assert!(crate::common::stdout(&shown).contains("ESCALATED (#1, ESC-"), "{}", crate::common::stdout(&shown));
}

fn a_sweep_through_a_backlog_gives_way_to_a_queue_being_read_after_one_escalation(backend: Backend) {
    let raised = london(1, 10, 0);
    let alerts: Vec<Value> = (0..30).map(|i| alert(&format!("H{i:03}"), "student", 5, raised)).collect();
    let w = World::new(backend, EscalationConfig::default(), &alerts, raised);
    let now = london(1, 16, 0);
    let reader = w.service().reading_queue();
    let yielded = w.service().escalate_due(now).expect("sweep");
    assert_eq!(yielded.escalated.len(), 1, "one escalation, then the reader's turn: readers never starve it");
    assert_eq!(yielded.next, Some(now), "the rest are due at once: {yielded:?}");
    drop(reader);
    let rest = w.service().escalate_due(now).expect("sweep");
    assert_eq!(rest.escalated.len(), 29);
    assert!(rest.next.is_some_and(|next| next > now), "none left for now: {rest:?}");
}
