//! Shared test fixtures: real stores in temp dirs, the real demo data, the real binary.
#![allow(dead_code)]

pub mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use vigil::audit::Trail;
use vigil::config::Config;
use vigil::domain::calendar::{DuePolicy, WorkingCalendar};
use vigil::domain::levels::LevelPolicy;
use vigil::feed::demo::{DEMO_ALERTS, DemoData};
use vigil::feed::protocol::parse_page;
use vigil::identity::{Role, Viewer, os_user};
use vigil::service::{CaseService, Session};
use vigil::store::backend::CaseStore;
use vigil::store::{Store, StoreKey};

use crate::backend_support::Backend;

/// Monday 16 November 2026, 10:00 UTC: the week after the demo data set's week.
pub fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 16, 10, 0, 0).single().expect("valid literal")
}

/// The demo data set exactly as shipped (not shifted), so tests are deterministic.
pub fn demo_data() -> DemoData {
    DemoData::from_alerts(serde_json::from_str(DEMO_ALERTS).expect("demo data parses"))
}

/// The demo data set as one protocol v1 page body.
pub fn demo_page_body() -> String {
    let alerts: serde_json::Value = serde_json::from_str(DEMO_ALERTS).expect("demo data parses");
    serde_json::json!({"feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": "c-all", "more": false}).to_string()
}

pub fn dsl() -> Viewer {
    Viewer { user: "dsl-user".into(), role: Role::Dsl, sees_staff: true }
}

/// The key file for the store in `dir`: beside it, outside it (the one [`config_with_role`] names).
pub fn key_file_for(dir: &Path) -> PathBuf {
    dir.parent().unwrap_or(dir).join("store.key")
}

/// A viewer's session with a case service over `store`, and the store itself: a test reads the store to
/// check what was written, which no surface of vigil may. On sled or PostgreSQL ([`Svc::on`]).
#[derive(Clone)]
pub struct Svc {
    pub session: Session,
    /// sled's own handle, for a test that reads sled's API (`None` on PostgreSQL).
    sled: Option<Store>,
    cases: Arc<dyn CaseStore>,
    trail: Arc<dyn Trail>,
}

impl Svc {
    pub fn new(store: Store, calendar: WorkingCalendar, due: DuePolicy, levels: LevelPolicy, viewer: Viewer) -> Svc {
        Svc::with_policy(store, vigil::service::Policy::with(calendar, due, levels), viewer)
    }

    /// A service over `store` judging by `policy` (a team, escalation and trend settings).
    pub fn with_policy(store: Store, policy: vigil::service::Policy, viewer: Viewer) -> Svc {
        let service = CaseService::new(store.clone(), policy);
        let (cases, trail) = (Arc::new(store.clone()), Arc::new(store.clone()));
        Svc { session: Session::new(service, viewer), cases, trail, sled: Some(store) }
    }

    /// A service over a fresh, empty store of `backend` (sled's in `dir`), judging by `policy`.
    pub fn on(backend: Backend, dir: &Path, policy: vigil::service::Policy, viewer: Viewer) -> Svc {
        let opened = backend.open(dir);
        let sled = (backend == Backend::Sled).then(|| opened.sled().clone());
        Svc::over(opened.store, opened.trail, sled, policy, viewer)
    }

    /// A service over `store` and its `trail` (and sled's own handle, when the store is sled's).
    pub fn over(
        store: Arc<dyn CaseStore>,
        trail: Arc<dyn Trail>,
        sled: Option<Store>,
        policy: vigil::service::Policy,
        viewer: Viewer,
    ) -> Svc {
        let service = CaseService::with_store(store.clone(), trail.clone(), policy);
        Svc { session: Session::new(service, viewer), cases: store, trail, sled }
    }

    /// Another viewer's session with the same service.
    pub fn as_viewer(&self, viewer: Viewer) -> Svc {
        Svc {
            session: Session::new(self.session.local().expect("in this process").clone(), viewer),
            sled: self.sled.clone(),
            cases: self.cases.clone(),
            trail: self.trail.clone(),
        }
    }

    /// sled's own handle: for a test that reads what only sled has (its trees, its index rebuild).
    pub fn store(&self) -> &Store {
        self.sled.as_ref().expect("this test reads sled's own API, and the store is PostgreSQL")
    }

    /// The store through the boundary every backend implements.
    pub fn cases(&self) -> &dyn CaseStore {
        &*self.cases
    }

    /// The store's audit trail, as every backend keeps it.
    pub fn trail(&self) -> &dyn Trail {
        &*self.trail
    }
}

impl std::ops::Deref for Svc {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

/// The queue index's entry for `key` is the fold of the case's event log, through the trait (on either
/// backend); the index keeps the case without its done items (the queue shows none of them).
pub fn assert_index_is_the_fold_of_the_log(s: &Svc, key: &vigil::domain::AlertKey) {
    let entry = s.cases().index_entry(key).expect("index").expect("an entry");
    let events = s.cases().events(key).expect("events");
    let folded = vigil::domain::Case::fold(key.clone(), &events).expect("a case");
    assert_eq!(entry.case, vigil::domain::Case { done: Default::default(), ..folded }, "{key}");
}

/// Ticks every item a case still needs before it may close, with a plausible value for each kind.
pub fn tick_all_required(s: &Session, key: &vigil::domain::AlertKey) {
    tick_all_required_at(s, key, fixed_now());
}

/// [`tick_all_required`] at `now`.
pub fn tick_all_required_at(s: &Session, key: &vigil::domain::AlertKey, now: DateTime<Utc>) {
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
        let tick = vigil::domain::case::CaseCommand::Tick { item: id.clone(), value, note: None };
        s.act(key, &tick, now).expect("tick");
    }
}

/// A service over a fresh store in `dir`, with the whole demo data set ingested through the real path.
pub fn fixture_service(dir: &Path, viewer: Viewer) -> Svc {
    let service = empty_service(dir, viewer);
    ingest_demo(&service);
    service
}

/// [`fixture_service`] on `backend` (sled's store in `dir`; on PostgreSQL a fresh database).
pub fn fixture_service_on(backend: Backend, dir: &Path, viewer: Viewer) -> Svc {
    let service = Svc::on(backend, dir, default_policy(), viewer);
    ingest_demo(&service);
    service
}

/// Ingests the whole demo data set through the real path.
pub fn ingest_demo(service: &Session) {
    let page = parse_page(demo_page_body().as_bytes()).expect("page parses");
    service.ingest(&page, fixed_now()).expect("ingest");
}

/// The default config's calendar, due times and levels.
pub fn default_policy() -> vigil::service::Policy {
    let config = Config::default();
    vigil::service::Policy::with(config.calendar(), config.due, config.levels.clone())
}

/// A service over a fresh, empty store in `dir`, with the default config.
pub fn empty_service(dir: &Path, viewer: Viewer) -> Svc {
    let store = Store::open(dir, &StoreKey::file(key_file_for(dir))).expect("store opens");
    let config = Config::default();
    Svc::new(store, config.calendar(), config.due, config.levels.clone(), viewer)
}

/// The app driven through the real `update` and the real case service, over a real store holding the demo
/// data, for the DSL. Effects are carried out at once (no workers: background reads run in place).
pub struct Harness {
    pub _tmp: tempfile::TempDir,
    pub service: Svc,
    pub link: vigil::tui::Link,
    pub state: vigil::app::State,
    pub retry: tokio::sync::Notify,
}

impl Harness {
    /// The queue as the TUI's first frame has it.
    pub fn new() -> Harness {
        Harness::on(Backend::Sled)
    }

    /// [`Harness::new`] over a store of `backend`.
    pub fn on(backend: Backend) -> Harness {
        let tmp = tempfile::tempdir().expect("tmp");
        let service = match backend {
            Backend::Sled => fixture_service(&tmp.path().join("data"), dsl()),
            Backend::Postgres => fixture_service_on(backend, &tmp.path().join("data"), dsl()),
        };
        let state = vigil::tui::screen_state(&service.session, vigil::app::keymap::Keymap::embedded(), fixed_now());
        let link = vigil::tui::Link::new(service.session.clone());
        let mut h = Harness { _tmp: tmp, service, link, state, retry: tokio::sync::Notify::new() };
        h.effects(vec![vigil::app::Effect::LoadQueue]);
        h
    }

    pub fn effects(&mut self, effects: Vec<vigil::app::Effect>) {
        vigil::tui::run_effects(&mut self.state, &mut self.link, &self.retry, &fixed_now, effects);
    }

    /// Applies an action and returns the effects it asked for, without carrying them out.
    pub fn apply(&mut self, action: vigil::app::Action) -> Vec<vigil::app::Effect> {
        vigil::app::update(&mut self.state, action)
    }

    /// Applies an action and carries out what it asks for.
    pub fn act(&mut self, action: vigil::app::Action) -> &mut Self {
        let effects = self.apply(action);
        self.effects(effects);
        self
    }

    pub fn cmd(&mut self, c: vigil::app::keymap::Command) -> &mut Self {
        self.act(vigil::app::Action::Command(c))
    }

    pub fn typed(&mut self, text: &str) -> &mut Self {
        for ch in text.chars() {
            self.act(vigil::app::Action::Type(ch));
        }
        self
    }

    /// One frame at `w`x`h` in the dark theme.
    pub fn draw(&self, w: u16, h: u16) -> ratatui::Terminal<ratatui::backend::TestBackend> {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("terminal");
        let theme = vigil::ui::Theme::new(vigil::ui::theme::ThemeName::Dark, false);
        t.draw(|f| vigil::ui::render(&self.state, &theme, f)).expect("draw");
        t
    }
}

/// A config file giving the current OS user `role`, with the store key file `dir/store.key` (the one
/// [`key_file_for`] gives a data dir inside `dir`).
pub fn config_with_role(dir: &Path, role: &str) -> PathBuf {
    let user = os_user().expect("os user");
    let path = dir.join("config.toml");
    let key = dir.join("store.key");
    std::fs::write(&path, format!("[roles]\n{role} = [\"{user}\"]\n\n[storage]\nkey_file = {key:?}\n"))
        .expect("write config");
    path
}

/// The real binary, with no VIGIL_* variables leaking in from the environment.
pub fn vigil(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
    for (k, _) in std::env::vars() {
        if k.starts_with("VIGIL_") || k == "NO_COLOR" {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).output().expect("binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A case's key in the store's trees as the store writes it: its source and id, each length-prefixed (so
/// that no key is a prefix of another). Tests that reach into the sled files use it.
pub fn case_key(source: &str, id: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in [source, id] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}
