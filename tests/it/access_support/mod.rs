//! Shared by the access, audit, at-rest and hostile-text tests (`tests/access_*.rs`, `tests/audit_*.rs`,
//! `tests/at_rest_*.rs`, `tests/hostile_*.rs`): alerts with chosen text in every free-text field, the real
//! demo feed server on loopback serving them, configs that give the current OS user a role, and the real
//! binary run against a data dir.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use serde_json::{Value, json};
use vigil::audit::Trail;
use vigil::feed::demo::DemoData;
use vigil::identity::os_user;
use vigil::store::backend::CaseStore;
use vigil::store::postgres::{PgSettings, PgStore};
use vigil::store::{Store, StoreKey};

use crate::backend_support::{Backend, fresh_school, storage_keys};

/// A valid protocol v1 alert whose every free-text field holds `text` tagged with the field's name
/// (`{text}summary`, `{text}subject-name`, ...), so a search for `text` finds any of them.
pub fn alert_with_text(id: &str, kind: &str, text: &str, risk: u8) -> Value {
    let t = |field: &str| format!("{text}{field}");
    json!({
        "id": id,
        "source": "smoothwall-monitor",
        "raised_at": "2026-11-10T10:00:00+00:00",
        "risk": risk,
        "category": t("category"),
        "delivered_by": "dashboard",
        "subject": {
            "kind": kind,
            "id": t("subject-id"),
            "name": t("subject-name"),
            "group": t("subject-group"),
            "username": t("subject-username"),
        },
        "device": {"hostname": t("device-hostname"), "owner": "college", "location": t("device-location")},
        "summary": t("summary"),
        "context": t("context"),
        "captures": [{
            "at": "2026-11-10T09:59:00+00:00",
            "window_title": t("window-title"),
            "text": t("capture-text"),
        }],
    })
}

/// The real demo feed server, on a free loopback port, serving `alerts` as one page.
pub struct Feed {
    pub runtime: tokio::runtime::Runtime,
    pub url: String,
}

pub fn feed(alerts: Vec<Value>) -> Feed {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let (addr, _handle) = runtime
        .block_on(vigil::feed::demo::spawn(([127, 0, 0, 1], 0).into(), DemoData::from_alerts(alerts), None, None))
        .expect("demo feed binds");
    Feed { runtime, url: format!("http://{addr}") }
}

/// One user's vigil: a config in `dir` that gives the current OS user the roles in `roles` (TOML lines
/// under `[roles]`, with `{user}` for the user's name), the store key `dir/store.key` and the data dir
/// `dir/data`. On PostgreSQL ([`Env::on`]) the config also names a fresh database of the tests' cluster, so
/// the binary keeps its cases there (and only its log in the data dir).
pub struct Env {
    pub dir: PathBuf,
    pub data: PathBuf,
    pub config: PathBuf,
    /// The database the config names (`None`: the store is sled's, in `data`).
    pub pg: Option<PgSettings>,
}

impl Env {
    pub fn new(dir: &Path, roles: &str) -> Env {
        let user = os_user().expect("os user");
        let config = dir.join("config.toml");
        let roles = roles.replace("{user}", &user);
        let key = dir.join("store.key");
        std::fs::write(&config, format!("[roles]\n{roles}\n\n[storage]\nkey_file = {key:?}\n")).expect("write config");
        Env { dir: dir.to_path_buf(), data: dir.join("data"), config, pg: None }
    }

    /// [`Env::new`] with its store on `backend`: on PostgreSQL, a fresh, migrated database for school `north`
    /// that the config names under `[storage]`.
    pub fn on(backend: Backend, dir: &Path, roles: &str) -> Env {
        let env = Env::new(dir, roles);
        if backend == Backend::Sled {
            return env;
        }
        let pg = fresh_school("north");
        let text = std::fs::read_to_string(&env.config).expect("config");
        std::fs::write(&env.config, format!("{text}{}\n", storage_keys(&pg))).expect("write config");
        Env { pg: Some(pg), ..env }
    }

    /// [`Env::with_role`] on `backend`.
    pub fn with_role_on(backend: Backend, dir: &Path, role: &str) -> Env {
        Env::on(backend, dir, &format!("{role} = [\"{{user}}\"]"))
    }

    pub fn backend(&self) -> Backend {
        if self.pg.is_some() { Backend::Postgres } else { Backend::Sled }
    }

    /// The store the binary writes, opened with the config's key, through the boundary both backends
    /// implement, with its audit trail (on sled: after the binary exited).
    pub fn cases(&self) -> (Arc<dyn CaseStore>, Arc<dyn Trail>) {
        match &self.pg {
            None => {
                let store = self.store();
                (Arc::new(store.clone()), Arc::new(store))
            }
            Some(pg) => {
                let store = Arc::new(PgStore::open(pg, &StoreKey::file(self.key_file())).expect("open the database"));
                (store.clone(), store)
            }
        }
    }

    /// A service over this env's store (sled's or the database), with the default config, for `viewer`.
    pub fn service(&self, viewer: vigil::identity::Viewer) -> crate::common::Svc {
        let policy = crate::common::default_policy();
        match &self.pg {
            None => crate::common::Svc::with_policy(self.store(), policy, viewer),
            Some(_) => {
                let (store, trail) = self.cases();
                crate::common::Svc::over(store, trail, None, policy, viewer)
            }
        }
    }

    /// [`Env::service`] with the whole demo data set ingested through the real path.
    pub fn fixture(&self, viewer: vigil::identity::Viewer) -> crate::common::Svc {
        let service = self.service(viewer);
        crate::common::ingest_demo(&service);
        service
    }

    /// The current user with `role` (`dsl`, `ddsl`, `officer`, `reporter`).
    pub fn with_role(dir: &Path, role: &str) -> Env {
        Env::new(dir, &format!("{role} = [\"{{user}}\"]"))
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.join("store.key")
    }

    /// The real binary with `args`, this env's data dir and config, no VIGIL_* variables from outside and
    /// `env` added.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("vigil runs")
    }

    /// The real binary with `args`, this env's data dir and config, no VIGIL_* variables from outside and
    /// no standard input, not yet started (to give it a standard output of the test's own).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
        for (k, _) in std::env::vars() {
            if k.starts_with("VIGIL_") || k == "NO_COLOR" {
                cmd.env_remove(k);
            }
        }
        cmd.arg("--data-dir").arg(&self.data).arg("--config").arg(&self.config).args(args);
        cmd.stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    /// Runs `args` and insists on success.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(out.status.success(), "vigil {args:?} failed: {}", stderr(&out));
        out
    }

    /// Opens the store the binary wrote (after it exited), with the same key.
    pub fn store(&self) -> Store {
        Store::open(&self.data, &StoreKey::file(self.key_file())).expect("open the store vigil wrote")
    }

    /// Nothing was created: no data dir (no store, no log), no key, and on PostgreSQL no row the store writes
    /// on opening (the school's audit head) nor any alert or record.
    pub fn assert_nothing_created(&self) {
        assert!(!self.data.exists(), "no store, no log");
        assert!(!self.key_file().exists(), "no key");
        if let Some(pg) = &self.pg {
            let mut db = postgres::Client::connect(&pg.url, postgres::NoTls).expect("connect as the owner");
            for table in ["alerts", "events", "audit_records", "audit_heads", "quarantine"] {
                let n: i64 = db.query_one(&format!("SELECT count(*) FROM {table}"), &[]).expect("count").get(0);
                assert_eq!(n, 0, "nothing written to {table}");
            }
        }
    }

    /// The log file the binary writes.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("vigil.log")).unwrap_or_default()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let entry = entry.expect("entry");
            let ft = entry.file_type().expect("type");
            if ft.is_dir() {
                pending.push(entry.path());
            } else if ft.is_file() {
                out.push(entry.path());
            }
        }
    }
    out
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Opens a store's sled database directly (to look at or tamper with its raw values). sled releases its
/// lock shortly after its last handle is dropped, not at once: wait for it, as `Store::open` does.
pub fn open_sled(db: &Path) -> sled::Db {
    let started = std::time::Instant::now();
    loop {
        match sled::open(db) {
            Ok(db) => return db,
            Err(e) if started.elapsed() < std::time::Duration::from_secs(5) => {
                assert!(e.to_string().contains("could not acquire lock"), "{e}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("cannot open {}: {e}", db.display()),
        }
    }
}
