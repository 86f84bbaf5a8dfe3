//! PostgreSQL for the benches and the load simulation: a throwaway cluster (the tests' own helper,
//! `src/store/postgres/test_cluster.rs`, started with each commit written to disk, as a deployment runs), a
//! fresh migrated database, a school's service on it, and the floor ingest is judged against: a plain
//! multi-row INSERT of the same alerts, sealed as the store seals them.
//!
//! Shared by `benches/ingest_postgres.rs`, `benches/queue_postgres.rs` and `examples/simulate.rs`.
#![allow(dead_code)]

#[path = "../../src/store/postgres/test_cluster.rs"]
pub mod cluster;

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use vigil::config::Config;
use vigil::identity::{Role, Viewer};
use vigil::service::{CaseService, Policy, Session};
use vigil::store::StoreKey;
use vigil::store::crypto::Cipher;
use vigil::store::postgres::{PgSettings, schema};

pub use cluster::{Cluster, durable_cluster};

/// Every school's store key in these runs (a fixed one, so a cached database opens again).
pub fn key() -> StoreKey {
    StoreKey::bytes([7; 32])
}

/// A new database on `cluster`, migrated; its name.
pub fn fresh_database(cluster: &Cluster) -> String {
    let db = cluster.fresh_database();
    let mut admin = cluster.admin(&db).expect("connect to the fresh database");
    schema::migrate(&mut admin).expect("migrate");
    db
}

/// How a service of `school` reaches `database`.
pub fn settings(cluster: &Cluster, database: &str, school: &str) -> PgSettings {
    PgSettings { url: cluster.url(database, "postgres"), password_file: None, ca_file: None, school: school.into() }
}

/// One school's service, as `vigil serve` opens it: its own connection, the default policy.
pub fn service(settings: &PgSettings) -> CaseService {
    let policy = Policy::from_config(&Config::default());
    CaseService::open_postgres(settings, &key(), policy).expect("the school's service opens")
}

/// A DSL's session with `service`, in this process (as the TUI embedded in `vigil serve` asks it).
pub fn session(service: &CaseService, user: &str) -> Session {
    Session::new(service.clone(), Viewer { user: user.into(), role: Role::Dsl, sees_staff: true })
}

/// The store's value schema and the table its alerts live in (`SCHEMA` and `ALERTS` in src/store).
const SCHEMA: u32 = 1;
const ALERTS_TABLE: &str = "alerts";

#[derive(Serialize)]
struct Envelope<'a> {
    v: u32,
    data: &'a Value,
}

/// The store's key for a case (two length-prefixed strings), bound to the school as `PgStore` binds it
/// (the school, length-prefixed, first).
fn bound_case_key(school: &str, source: &str, id: &str) -> (Vec<u8>, Vec<u8>) {
    let mut ck = Vec::with_capacity(8 + source.len() + id.len());
    for part in [source, id] {
        ck.extend_from_slice(&(part.len() as u32).to_be_bytes());
        ck.extend_from_slice(part.as_bytes());
    }
    let mut bound = Vec::with_capacity(4 + school.len() + ck.len());
    bound.extend_from_slice(&(school.len() as u32).to_be_bytes());
    bound.extend_from_slice(school.as_bytes());
    bound.extend_from_slice(&ck);
    (ck, bound)
}

/// The floor for ingest into PostgreSQL: each page parsed with `serde_json`, each alert sealed as the store
/// seals it (its JSON in the store's envelope, XChaCha20-Poly1305 with a fresh nonce, bound to the table,
/// the school and the case), then one plain multi-row INSERT of the page's rows and one commit, on one
/// thread. It leaves out what vigil adds: validation and grading, the dedupe against stored alerts, the
/// first event and the queue index entry, the cursor, the parallel sealing. Returns the rows written and the
/// time taken.
pub fn floor_insert(
    client: &mut postgres::Client,
    cipher: &Cipher,
    school: &str,
    pages: &[Vec<u8>],
) -> (usize, Duration) {
    let mut written = 0;
    let started = Instant::now();
    for body in pages {
        let page: Value = serde_json::from_slice(body).expect("page parses");
        let alerts = page["alerts"].as_array().expect("a page has alerts");
        let mut rows: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(alerts.len());
        for alert in alerts {
            let source = alert["source"].as_str().expect("source");
            let id = alert["id"].as_str().expect("id");
            let (ck, bound) = bound_case_key(school, source, id);
            let plain = serde_json::to_vec(&Envelope { v: SCHEMA, data: alert }).expect("serialize");
            rows.push((ck, cipher.seal(SCHEMA, ALERTS_TABLE, &bound, &plain).expect("seal")));
        }
        let mut sql = String::from("INSERT INTO alerts (school, case_key, sealed) VALUES ");
        let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&school];
        for (i, (ck, sealed)) in rows.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("($1, ${}, ${})", 2 + 2 * i, 3 + 2 * i));
            params.push(ck);
            params.push(sealed);
        }
        let mut tx = client.transaction().expect("begin");
        tx.execute(sql.as_str(), &params).expect("the floor's insert");
        tx.commit().expect("commit");
        written += rows.len();
    }
    (written, started.elapsed())
}

/// The p-th percentile (0-100) of `samples`, sorting them; nearest rank.
pub fn percentile(samples: &mut [f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What the visibility figure measures, printed beside it and written in docs/scale.md.
pub const VISIBILITY_SCOPE: &str = "cross-service: a second service on the same school, woken by NOTIFY";

/// A client that hears of decisions, for "a decision through service A visible on service B's client".
pub struct Watcher {
    events: vigil::service::session::Events,
    wait: tokio::runtime::Runtime,
}

/// A client of a second service on the same database and school as `_acting` (its own connections, its own
/// LISTEN): a decision through `_acting` reaches it as it reaches another `vigil serve`'s clients.
pub fn watcher(_acting: &CaseService, settings: &PgSettings) -> Watcher {
    watching(&session(&service(settings), "watcher"))
}

/// A watcher on `client`'s events (a client of `vigil serve`, or a session in this process).
pub fn watching(client: &Session) -> Watcher {
    let events = client.subscribe();
    // Only to wait on the subscription's wake-up; the store is read outside it (the PostgreSQL client runs
    // a runtime of its own, which cannot run inside another).
    let wait = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a runtime");
    Watcher { events, wait }
}

/// One decision through `actor` on `case`: how long the act took to return, and how long from sending it
/// until the watcher's client heard the case changed.
pub fn decide_and_watch(
    actor: &Session,
    watcher: &mut Watcher,
    case: &vigil::domain::AlertKey,
    command: &vigil::domain::case::CaseCommand,
) -> (Duration, Duration) {
    use vigil::service::api::EventKind;
    // What the watcher heard before this decision is not for it.
    let _ = watcher.events.read(chrono::Utc::now());
    let sent = Instant::now();
    std::thread::scope(|s| {
        let acting = s.spawn(|| {
            actor.act(case, command, chrono::Utc::now()).expect("the decision is made");
            sent.elapsed()
        });
        let seen = loop {
            let heard = watcher.events.read(chrono::Utc::now()).expect("the watcher reads its events");
            if heard.iter().any(|e| matches!(&e.kind, EventKind::CaseChanged { case: c, .. } if c == case)) {
                break sent.elapsed();
            }
            let events = &mut watcher.events;
            let woke =
                watcher.wait.block_on(async { tokio::time::timeout(Duration::from_secs(30), events.changed()).await });
            assert!(woke.expect("the watcher heard of the decision within 30 s"), "the service is gone");
        };
        (acting.join().expect("the acting thread"), seen)
    })
}
