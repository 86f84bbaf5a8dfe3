//! Ingest throughput on PostgreSQL: a feed of 20,000 alerts (40 pages of 500, the protocol's maximum, made
//! from the demo data set as the queue bench's store is: `benches/support/fixture.rs`) parsed by
//! `parse_page` and stored by `Session::ingest` through a school's `CaseService` on a `PgStore`, into a
//! fresh database of a throwaway cluster that writes each commit to disk (`benches/support/pg.rs`); and, in
//! the same run on the same cluster, its floor: the same pages parsed by `serde_json`, each alert sealed as
//! the store seals it, one plain multi-row INSERT and one commit a page, into another fresh database.
//!
//! The target is 5,000 alerts/s on this machine; the ratio to the floor is what holds from one
//! machine to another (issue 14). See the README's Performance section.
//!
//! `cargo bench --bench ingest_postgres` (`VIGIL_BENCH_ALERTS` for another feed size). Prints one line per
//! run and a summary: the best of 3 of each.

#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/floor.rs"]
mod floor;
#[path = "support/pg.rs"]
mod pg;

/// The allocator of the vigil binary (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use chrono::Utc;
use vigil::feed::protocol::parse_page;

const RUNS: usize = 3;

fn alerts() -> usize {
    std::env::var("VIGIL_BENCH_ALERTS").ok().and_then(|s| s.replace('_', "").parse().ok()).unwrap_or(20_000)
}

/// Every page through the real path into a fresh database: parse, dedupe, store, commit.
fn ingest(cluster: &pg::Cluster, pages: &[Vec<u8>]) -> (usize, Duration) {
    let db = pg::fresh_database(cluster);
    let session = pg::session(&pg::service(&pg::settings(cluster, &db, "school-0")), "bench");
    let started = Instant::now();
    let mut stored = 0;
    for body in pages {
        let page = parse_page(body).expect("valid page");
        let report = session.ingest(&page, Utc::now()).expect("ingest");
        assert_eq!(report.new, page.alerts.len(), "every alert is new");
        stored += report.new;
    }
    (stored, started.elapsed())
}

fn floor(cluster: &pg::Cluster, pages: &[Vec<u8>]) -> (usize, Duration) {
    let db = pg::fresh_database(cluster);
    let mut client = cluster.admin(&db).expect("connect");
    pg::floor_insert(&mut client, &floor::cipher(), "school-0", pages)
}

fn main() {
    // criterion's arguments (`--bench`) are not this bench's.
    let n = alerts();
    let pages: Vec<Vec<u8>> = fixture::pages(n).collect();
    let cluster = pg::durable_cluster();
    let rate = |(count, d): (usize, Duration)| count as f64 / d.as_secs_f64();
    let (mut best_ingest, mut best_floor) = (0f64, 0f64);
    for run in 1..=RUNS {
        let i = rate(ingest(cluster, &pages));
        let f = rate(floor(cluster, &pages));
        println!("run {run}: ingest {i:.0} alerts/s, floor {f:.0} alerts/s, ratio {:.2}", i / f);
        best_ingest = best_ingest.max(i);
        best_floor = best_floor.max(f);
    }
    println!(
        "summary: {n} alerts into a fresh PostgreSQL database (fsync on), best of {RUNS}: ingest {best_ingest:.0} \
         alerts/s (target >= 5000: {}); floor (serde_json parse + seal + one multi-row INSERT a page) \
         {best_floor:.0} alerts/s; ingest at {:.2}x the floor's rate",
        if best_ingest >= 5000.0 { "pass" } else { "FAIL" },
        best_ingest / best_floor
    );
}
