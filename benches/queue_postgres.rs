//! At 100,000 cases on PostgreSQL: a service's start to its first frame, and a decision seen by another
//! client.
//!
//! The database is built once through the real path (`parse_page` and `Session::ingest` of the queue bench's
//! feed, `benches/support/fixture.rs`, with its quicker mix: the oldest 70% withdrawn by the vendor, hidden
//! as closed cases are, the newest 30% open), then dumped with `pg_dump` to
//! `target/bench-pg/<cases>.dump`; later runs restore the dump into a fresh database of a throwaway cluster
//! that writes each commit to disk (`benches/support/pg.rs`). `--fresh` rebuilds it.
//!
//! - Start to first frame (budget 500 ms): open the school's service (connect, schema check, key check),
//!   load the open queue through `Session::queue_open`, fold it into the TUI's state and draw one 120x40
//!   frame (ratatui's `TestBackend`), all in this process: what `vigil serve` on PostgreSQL and its first
//!   client do, without the socket. Median and max of 5.
//! - A decision seen by another client (budget p95 200 ms): a note added through `Session::act` to 200 open
//!   cases, one after another, each timed from sending it to the watcher's client hearing the case changed.
//!   Today the watcher is a client of the same service (`pg::watcher`: cross-service pending).
//!
//! `cargo bench --bench queue_postgres [-- --fresh]` (`VIGIL_BENCH_CASES` for another size).

#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/pg.rs"]
mod pg;

/// The allocator of the vigil binary (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use vigil::app::{Action, State, update};
use vigil::domain::AlertKey;
use vigil::domain::case::CaseCommand;
use vigil::feed::protocol::parse_page;
use vigil::ui::{Theme, render};

const SCHOOL: &str = "school-0";
const STARTS: usize = 5;
const DECISIONS: usize = 200;

fn cases() -> usize {
    std::env::var("VIGIL_BENCH_CASES").ok().and_then(|s| s.replace('_', "").parse().ok()).unwrap_or(100_000)
}

fn dump_path(cases: usize) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-pg").join(format!("{cases}-fixture{}.dump", fixture::FIXTURE_VERSION))
}

/// Builds `cases` cases through the real path into `database`; the ingest rate.
fn build(cluster: &pg::Cluster, database: &str, cases: usize) -> f64 {
    let session = pg::session(&pg::service(&pg::settings(cluster, database, SCHOOL)), "bench");
    let started = Instant::now();
    for (i, body) in fixture::pages(cases).enumerate() {
        let page = parse_page(&body).expect("valid page");
        let report = session.ingest(&page, Utc::now()).expect("ingest");
        assert_eq!(report.new, page.alerts.len(), "every alert is new");
        if (i + 1) % 40 == 0 {
            eprintln!("built {} of {cases} cases ({:.0?})", (i + 1) * fixture::PAGE, started.elapsed());
        }
    }
    cases as f64 / started.elapsed().as_secs_f64()
}

/// A database of `cases` cases on `cluster`: restored from the cached dump, or built and dumped.
fn database(cluster: &pg::Cluster, cases: usize, fresh: bool) -> String {
    let dump = dump_path(cases);
    if fresh || !dump.exists() {
        let db = pg::fresh_database(cluster);
        let rate = build(cluster, &db, cases);
        eprintln!("built {cases} cases through Session::ingest at {rate:.0} alerts/s; dumping to {}", dump.display());
        std::fs::create_dir_all(dump.parent().expect("a parent")).expect("make target/bench-pg");
        let partial = dump.with_extension("partial");
        let status =
            cluster.program("pg_dump").args(["-Fc", "-d", &db, "-f"]).arg(&partial).status().expect("pg_dump runs");
        assert!(status.success(), "pg_dump failed");
        std::fs::rename(&partial, &dump).expect("the dump into place");
        return db;
    }
    let db = cluster.fresh_database();
    let t = Instant::now();
    let status = cluster.program("pg_restore").args(["-d", &db]).arg(&dump).status().expect("pg_restore runs");
    assert!(status.success(), "pg_restore of {} failed (try --fresh)", dump.display());
    let mut admin = cluster.admin(&db).expect("connect");
    admin.batch_execute("VACUUM ANALYZE").expect("vacuum");
    eprintln!("restored {cases} cases from {} in {:.1?}", dump.display(), t.elapsed());
    db
}

/// Each table's rows and bytes on disk (heap, indexes and TOAST), what docs/scale.md's sizes come from.
fn sizes(cluster: &pg::Cluster, database: &str) {
    let mut admin = cluster.admin(database).expect("connect");
    for table in ["alerts", "events", "case_index", "audit_records"] {
        let row = admin
            .query_one(
                &format!("SELECT count(*), pg_total_relation_size('{table}'), pg_indexes_size('{table}') FROM {table}"),
                &[],
            )
            .expect("table size");
        let (rows, bytes, index): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        println!(
            "table {table}: {rows} rows, {:.1} MiB ({:.0} B a row, of which index {:.0} B)",
            bytes as f64 / 1048576.0,
            bytes as f64 / rows.max(1) as f64,
            index as f64 / rows.max(1) as f64
        );
    }
}

/// One start: open the service, load the open queue, draw the first frame. The time of each step.
fn start(settings: &vigil::store::postgres::PgSettings) -> [Duration; 4] {
    let t = Instant::now();
    let service = pg::service(settings);
    let opened = t.elapsed();
    let session = pg::session(&service, "bench");
    let now = Utc::now();
    let rows = session.queue_open(now).expect("the open queue");
    let loaded = t.elapsed();
    let mut state = State::new(session.viewer().clone(), now);
    state.tz = session.calendar().time_zone();
    let _ = update(&mut state, Action::QueueLoaded(rows));
    let theme = Theme::new(vigil::ui::theme::ThemeName::Dark, false);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal.draw(|f| render(&state, &theme, f)).expect("draw");
    let framed = t.elapsed();
    [opened, loaded - opened, framed - loaded, framed]
}

fn main() {
    let fresh = std::env::args().any(|a| a == "--fresh");
    // The fixture's quicker mix (no acts: building 70,000 closed cases through `act` takes hours).
    // SAFETY: set before any other thread of this process starts.
    unsafe { std::env::set_var("VIGIL_BENCH_FEED_ONLY", "1") };
    let n = cases();
    let cluster = pg::durable_cluster();
    let db = database(cluster, n, fresh);
    let settings = pg::settings(cluster, &db, SCHOOL);
    sizes(cluster, &db);

    let mut starts: Vec<[Duration; 4]> = (0..STARTS).map(|_| start(&settings)).collect();
    starts.sort_by_key(|s| s[3]);
    let median = starts[STARTS / 2];
    for s in &starts {
        println!(
            "start: open {:.0} ms, queue_open {:.0} ms, state + frame {:.0} ms, total {:.0} ms",
            pg::ms(s[0]),
            pg::ms(s[1]),
            pg::ms(s[2]),
            pg::ms(s[3])
        );
    }

    let service = pg::service(&settings);
    let actor = pg::session(&service, "actor");
    let rows = actor.queue_open(Utc::now()).expect("the open queue");
    let open = rows.len();
    let keys: Vec<AlertKey> = (0..DECISIONS.min(open))
        .map(|i| &rows[i * open / DECISIONS.min(open)])
        .map(|r| AlertKey::new(&r.source, &r.id))
        .collect();
    drop(rows);
    let mut watcher = pg::watcher(&service, &settings);
    let (mut acts, mut seen) = (Vec::new(), Vec::new());
    for (i, key) in keys.iter().enumerate() {
        let note = CaseCommand::Note { text: format!("bench note {i}") };
        let (act, visible) = pg::decide_and_watch(&actor, &mut watcher, key, &note);
        acts.push(pg::ms(act));
        seen.push(pg::ms(visible));
    }
    let (act50, act95) = (pg::percentile(&mut acts, 50.0), pg::percentile(&mut acts, 95.0));
    let (seen50, seen95) = (pg::percentile(&mut seen, 50.0), pg::percentile(&mut seen, 95.0));
    let verdict = |ok: bool| if ok { "pass" } else { "FAIL" };
    println!(
        "summary: {n} cases on PostgreSQL (fsync on), {open} open. Start to first frame (open + queue_open + \
         one 120x40 frame, in process), median of {STARTS}: {:.0} ms (max {:.0} ms; budget <= 500 ms: {}). A \
         note seen by another client ({}), {} decisions: median {seen50:.1} ms, p95 {seen95:.1} ms (budget p95 \
         <= 200 ms: {}); the act itself median {act50:.1} ms, p95 {act95:.1} ms",
        pg::ms(median[3]),
        pg::ms(starts[STARTS - 1][3]),
        verdict(pg::ms(median[3]) <= 500.0),
        pg::VISIBILITY_SCOPE,
        keys.len(),
        verdict(seen95 <= 200.0),
    );
}
