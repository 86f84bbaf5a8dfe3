//! The two store backends a test body runs on: sled in a temp dir, and a fresh database of the tests'
//! PostgreSQL cluster (one per test process, `src/store/postgres/test_cluster.rs`, shared with the library's
//! unit tests). `both_backends!` runs each named `fn(Backend)` once on each, so both are held to one body.

use std::sync::Arc;

use vigil::audit::Trail;
use vigil::store::backend::CaseStore;
use vigil::store::postgres::{PgSettings, PgStore, schema};
use vigil::store::{Store, StoreKey};

#[path = "../../../src/store/postgres/test_cluster.rs"]
pub mod pg_cluster;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sled,
    Postgres,
}

/// One service's store: its cases through the trait, its audit trail through [`Trail`].
#[derive(Clone)]
pub struct Opened {
    pub store: Arc<dyn CaseStore>,
    pub trail: Arc<dyn Trail>,
    /// How another service reaches the same data: sled's handle (one process per store), or a second
    /// connection to the same database and school.
    again: Again,
}

#[derive(Clone)]
enum Again {
    Sled(Store),
    Postgres(PgSettings),
}

pub fn key() -> StoreKey {
    StoreKey::bytes([3; 32])
}

impl Backend {
    /// A new, empty store of this kind (sled's in `dir`).
    pub fn open(self, dir: &std::path::Path) -> Opened {
        match self {
            Backend::Sled => {
                let store = Store::open(dir, &key()).expect("open");
                Opened { store: Arc::new(store.clone()), trail: Arc::new(store.clone()), again: Again::Sled(store) }
            }
            Backend::Postgres => {
                let settings = fresh_school("north");
                let store = Arc::new(PgStore::open(&settings, &key()).expect("open"));
                Opened { store: store.clone(), trail: store, again: Again::Postgres(settings) }
            }
        }
    }
}

impl Opened {
    /// The same data as a second service sees it (on PostgreSQL: its own connection).
    pub fn another(&self) -> Opened {
        match &self.again {
            Again::Sled(_) => self.clone(),
            Again::Postgres(settings) => {
                let store = Arc::new(PgStore::open(settings, &key()).expect("open again"));
                Opened { store: store.clone(), trail: store, again: self.again.clone() }
            }
        }
    }
}

impl Opened {
    /// The database and school (`None`: the store is sled's), for a test that reads the tables as their owner.
    pub fn postgres(&self) -> Option<&PgSettings> {
        match &self.again {
            Again::Sled(_) => None,
            Again::Postgres(settings) => Some(settings),
        }
    }

    /// sled's own handle (a test on sled that reads its API).
    pub fn sled(&self) -> &Store {
        match &self.again {
            Again::Sled(store) => store,
            Again::Postgres(_) => panic!("the store is PostgreSQL"),
        }
    }
}

/// Runs `f` to its end on a current-thread runtime whose clock starts paused: a body of `both_backends!` that
/// needs `#[tokio::test(start_paused = true)]`.
pub fn paused<F: std::future::Future>(f: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build();
    runtime.expect("a runtime").block_on(f)
}

/// Runs `f` to its end on a multi-threaded runtime (two workers), where PostgreSQL's blocking client may be
/// called (the store moves off the worker with `block_in_place`): a body of `both_backends!` that needs
/// `#[tokio::test]`. Open the store before, and drop it after: opening and closing are not async.
pub fn on_runtime<F: std::future::Future>(f: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    runtime.expect("a runtime").block_on(f)
}

/// Runs `f` on a thread of its own, outside any runtime, and waits for it: a paused-clock test's synchronous
/// call into the store (PostgreSQL's client runs a runtime of its own, which may not start inside another;
/// the service's own async callers use `spawn_blocking` for the same reason). The clock stays still meanwhile.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join()).unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The `[storage]` keys of a config whose store is the school `settings` names.
pub fn storage_keys(settings: &PgSettings) -> String {
    format!("backend = \"postgres\"\nurl = {:?}\nschool = {:?}", settings.url, settings.school)
}

/// A fresh database of the tests' cluster, migrated, as its owner, for `school`.
pub fn fresh_school(school: &str) -> PgSettings {
    let cluster = pg_cluster::cluster();
    let db = cluster.fresh_database();
    schema::migrate(&mut cluster.admin(&db).expect("connect")).expect("migrate");
    PgSettings { url: cluster.url(&db, "postgres"), password_file: None, ca_file: None, school: school.into() }
}

/// Runs each named test body (a `fn(Backend)` in scope) once on each backend.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sled {
            $(#[test]
            fn $name() {
                super::$name($crate::backend_support::Backend::Sled)
            })*
        }
        mod on_postgres {
            $(#[test]
            fn $name() {
                super::$name($crate::backend_support::Backend::Postgres)
            })*
        }
    };
}
pub(crate) use both_backends;
