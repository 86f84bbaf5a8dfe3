//! Ingest throughput: a 10,000-alert feed (20 pages of 500, the protocol's maximum page) parsed, deduped,
//! stored and flushed through `Session::ingest` into a fresh sled store in a tempdir, against its floor
//! (`benches/support/floor.rs`: the same pages parsed by `serde_json`, each alert sealed as the store seals
//! it, one plain sled batch and one flush a page, into a fresh sled database) and a plain `serde_json` parse
//! of the same bytes. The budget is a ratio to the floor, which holds from one machine to another where an
//! absolute rate does not (issue 14): see the README's Performance section.
//!
//! `cargo bench --bench ingest`. After criterion's report, one summary line gives the rates and the ratio.

#[path = "support/floor.rs"]
mod floor;

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{BatchSize, Criterion, Throughput};
use serde_json::{Value, json};
use vigil::config::Config;
use vigil::feed::protocol::parse_page;
use vigil::identity::{Role, Viewer};
use vigil::service::{CaseService, Session};
use vigil::store::{Store, StoreKey};

/// The allocator of the vigil binary (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ALERTS: usize = 10_000;
const PAGE: usize = 500;

/// A realistic feed: varied categories, levels and subjects, a capture with a screenshot on some.
fn feed() -> Vec<Vec<u8>> {
    let categories = ["bullying", "violence", "self-harm", "grooming", "drugs", "offensive-user"];
    (0..ALERTS / PAGE)
        .map(|p| {
            let alerts: Vec<Value> = (0..PAGE)
                .map(|i| {
                    let n = p * PAGE + i;
                    let mut a = json!({
                        "id": format!("SMW-{n:06}"),
                        "source": "smoothwall-monitor",
                        "revision": 1,
                        "raised_at": format!("2026-11-{:02}T{:02}:{:02}:00+00:00", 1 + n % 28, n % 24, n % 60),
                        "risk": 1 + n % 5,
                        "category": categories[n % categories.len()],
                        "delivered_by": "dashboard",
                        "subject": {"kind": "student", "id": format!("HPC{:05}", n % 3000), "name": "A Student",
                                    "group": "L3 Business", "username": format!("s{n}")},
                        "device": {"hostname": format!("LAB-{:03}", n % 200), "owner": "college", "location": "on-site"},
                        "summary": "The user searched for terms that suggest a risk of harm; moderators reviewed the capture.",
                        "context": "Search terms and window title captured; see the screenshot.",
                    });
                    if n.is_multiple_of(3) {
                        a["captures"] = json!([{"at": "2026-11-01T10:00:00+00:00", "window_title": "Search - Browser",
                            "text": "typed text", "screenshot": {"url": format!("screenshots/{n}.png"),
                            "media_type": "image/png", "width": 1280, "height": 720}}]);
                    }
                    a
                })
                .collect();
            let more = (p + 1) * PAGE < ALERTS;
            serde_json::to_vec(&json!({"feed": "vigil.alert-feed/1", "alerts": alerts,
                "cursor": format!("c{}", p + 1), "more": more}))
            .expect("serialize")
        })
        .collect()
}

fn fresh_service() -> (tempfile::TempDir, Session) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), &StoreKey::bytes([7; 32])).expect("open");
    let config = Config::default();
    let viewer = Viewer { user: "bench".into(), role: Role::Dsl, sees_staff: true };
    let service = Session::new(CaseService::new(store, vigil::service::Policy::from_config(&config)), viewer);
    (dir, service)
}

/// Every page: parse, dedupe against the store, store with its cursor, flush.
fn ingest(service: &Session, pages: &[Vec<u8>]) -> usize {
    let mut stored = 0;
    for body in pages {
        let page = parse_page(body).expect("valid page");
        let report = service.ingest(&page, Utc::now()).expect("ingest");
        stored += report.new;
    }
    stored
}

fn plain_parse(pages: &[Vec<u8>]) -> usize {
    pages
        .iter()
        .map(|b| serde_json::from_slice::<Value>(b).expect("json")["alerts"].as_array().map_or(0, Vec::len))
        .sum()
}

fn benches(c: &mut Criterion, pages: &[Vec<u8>]) {
    let mut group = c.benchmark_group("feed-10k");
    group.throughput(Throughput::Elements(ALERTS as u64));
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    group.bench_function("ingest (parse+dedupe+store+flush)", |b| {
        b.iter_batched(
            fresh_service,
            |(dir, service)| {
                assert_eq!(ingest(&service, black_box(pages)), ALERTS);
                (dir, service) // dropped (and the tempdir removed) outside the measurement
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("floor (serde_json parse+seal+sled batch+flush)", |b| {
        b.iter_batched(
            || (tempfile::tempdir().expect("tempdir"), floor::cipher()),
            |(dir, cipher)| {
                let db = floor::open_sled(&dir.path().join("db"));
                let (written, _) = floor::write_pages(&db, &cipher, pages.iter().map(Vec::as_slice), "");
                assert_eq!(written, ALERTS);
                (db, dir)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("serde_json::Value parse", |b| b.iter(|| plain_parse(black_box(pages))));
    group.finish();
}

/// Best of a few runs of each, for the one-line summary.
fn summary(pages: &[Vec<u8>]) {
    let best = |f: &mut dyn FnMut() -> Duration| (0..3).map(|_| f()).min().unwrap_or_default();
    let ingest_time = best(&mut || {
        let (_dir, service) = fresh_service();
        let t = Instant::now();
        assert_eq!(ingest(&service, pages), ALERTS);
        t.elapsed()
    });
    let floor_time = best(&mut || {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = floor::open_sled(&dir.path().join("db"));
        floor::write_pages(&db, &floor::cipher(), pages.iter().map(Vec::as_slice), "").1
    });
    let parse_time = best(&mut || {
        let t = Instant::now();
        black_box(plain_parse(pages));
        t.elapsed()
    });
    let validate_time = best(&mut || {
        let t = Instant::now();
        for body in pages {
            black_box(parse_page(body).expect("valid page"));
        }
        t.elapsed()
    });
    let rate = |d: Duration| ALERTS as f64 / d.as_secs_f64();
    let bytes: usize = pages.iter().map(Vec::len).sum();
    println!(
        "summary: {ALERTS} alerts ({:.1} MiB) ingest {:.0} alerts/s ({:?}, of which parse_page {:?}); floor {:.0} \
         alerts/s ({:?}); ingest at {:.2}x the floor's rate; serde_json parse {:.0} alerts/s ({:?}); ingest takes \
         {:.1}x a plain parse",
        bytes as f64 / (1024.0 * 1024.0),
        rate(ingest_time),
        ingest_time,
        validate_time,
        rate(floor_time),
        floor_time,
        floor_time.as_secs_f64() / ingest_time.as_secs_f64(),
        rate(parse_time),
        parse_time,
        ingest_time.as_secs_f64() / parse_time.as_secs_f64(),
    );
}

fn main() {
    let pages = feed();
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c, &pages);
    c.final_summary();
    summary(&pages);
}
