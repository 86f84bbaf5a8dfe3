//! The load simulation behind docs/scale.md: N schools on one PostgreSQL, each with its own service (as one
//! `vigil serve` per school runs: its own `CaseService` on its own `PgStore`, one connection), M reviewers a
//! school making decisions, and a feed ingesting new alerts at a given rate a school; for each N asked for,
//! decisions/s and their latency, the ingest rate achieved, and how long a decision takes to reach another
//! client.
//!
//! ```sh
//! scripts/simulate                                   # N = 1, 5, 20, 50; 2 reviewers; 1 alert/s a school; 15 s each
//! cargo run --release --example simulate -- --schools 1,5,20,50 --reviewers 2 --rate 1 --seconds 15 --think-ms 200
//! ```
//!
//! The cluster is a throwaway one that writes each commit to disk (`benches/support/pg.rs`), in a temp dir,
//! stopped when this process ends. For each N: a fresh database; each school seeded with `--seed-cases`
//! cases through `Session::ingest`; then for `--seconds`:
//! - each reviewer (a thread with a `Session` of their school's service) works its share of the open cases
//!   as the TUI does: views the case, adds a note, ticks every required item with a value of its kind, and
//!   closes it with an outcome, each through `Session::act` and timed; then waits `--think-ms` before the
//!   next decision (0: as fast as the service answers);
//! - each school's feed (a thread) ingests a page of new alerts every second, `--rate` alerts/s on average,
//!   through `Session::ingest`, as the poller does;
//! - one observer, round the schools, adds a note through the school's service every 250 ms and times it
//!   until another client hears the case changed (`pg::decide_and_watch`): a client of a second service on
//!   the same school (`pg::watcher`), woken by NOTIFY, as another `vigil serve`'s client would be.
//!
//! It prints a line per N as it goes and a markdown table at the end.

#[path = "../benches/support/fixture.rs"]
mod fixture;
#[path = "../benches/support/pg.rs"]
mod pg;

/// The allocator of the vigil binary (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use vigil::domain::AlertKey;
use vigil::domain::case::CaseCommand;
use vigil::feed::protocol::parse_page;
use vigil::service::{CaseService, Session};
use vigil::store::postgres::PgSettings;

struct Options {
    schools: Vec<usize>,
    reviewers: usize,
    rate: f64,
    seconds: u64,
    think: Duration,
    seed_cases: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: simulate [--schools 1,5,20,50] [--reviewers 2] [--rate ALERTS_PER_S_PER_SCHOOL] [--seconds 15] \
         [--think-ms 200] [--seed-cases 300]"
    );
    std::process::exit(2)
}

fn options() -> Options {
    let mut o = Options {
        schools: vec![1, 5, 20, 50],
        reviewers: 2,
        rate: 1.0,
        seconds: 15,
        think: Duration::from_millis(200),
        seed_cases: 300,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        let number = || value.replace('_', "").parse::<f64>().ok().filter(|v| *v >= 0.0).unwrap_or_else(|| usage());
        match flag.as_str() {
            "--schools" => {
                o.schools = value.split(',').map(|s| s.trim().parse().unwrap_or_else(|_| usage())).collect();
            }
            "--reviewers" => o.reviewers = number() as usize,
            "--rate" => o.rate = number(),
            "--seconds" => o.seconds = number() as u64,
            "--think-ms" => o.think = Duration::from_millis(number() as u64),
            "--seed-cases" => o.seed_cases = number() as usize,
            _ => usage(),
        }
    }
    if o.schools.is_empty() || o.schools.contains(&0) || o.reviewers == 0 || o.seconds == 0 {
        usage()
    }
    o
}

/// What one N measured.
struct Figures {
    schools: usize,
    reviewers: usize,
    seconds: f64,
    decisions: usize,
    refused: usize,
    decision_p50: f64,
    decision_p95: f64,
    offered: f64,
    ingested: usize,
    page_p95: f64,
    visible: usize,
    visible_p50: f64,
    visible_p95: f64,
    database_mb: f64,
    /// This process's CPU (every school's service and client, sealing included) as a share of the machine.
    cpu_share: f64,
}

/// One school: its service (one `vigil serve`), its settings, its open cases when the run starts.
struct School {
    settings: PgSettings,
    service: CaseService,
    open: Vec<AlertKey>,
}

fn main() {
    let o = options();
    let cluster = pg::durable_cluster();
    eprintln!(
        "simulate: {} reviewer(s) a school, {} alert(s)/s a school, think {:?}, {} s a run, {} cases seeded a school; \
         visibility: {}",
        o.reviewers,
        o.rate,
        o.think,
        o.seconds,
        o.seed_cases,
        pg::VISIBILITY_SCOPE
    );
    let mut all = Vec::new();
    for &n in &o.schools {
        let f = run(cluster, n, &o);
        println!(
            "N={:>4}: {:>6.1} decisions/s (p50 {:.1} ms, p95 {:.1} ms, {} refused); ingest {:.1} of {:.1} alerts/s \
             offered (page p95 {:.1} ms); visible to another client p50 {:.1} ms, p95 {:.1} ms ({} samples); \
             database {:.0} MB; this process {:.0}% of the machine's CPU",
            f.schools,
            f.decisions as f64 / f.seconds,
            f.decision_p50,
            f.decision_p95,
            f.refused,
            f.ingested as f64 / f.seconds,
            f.offered,
            f.page_p95,
            f.visible_p50,
            f.visible_p95,
            f.visible,
            f.database_mb,
            f.cpu_share * 100.0
        );
        all.push(f);
    }
    println!();
    println!(
        "| schools | reviewers | decisions/s | decision p50 (ms) | decision p95 (ms) | ingest alerts/s (offered) | \
         feed page p95 (ms) | visible p50 (ms) | visible p95 (ms) | simulator CPU |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for f in &all {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} ({:.1}) | {:.1} | {:.1} | {:.1} | {:.0}% |",
            f.schools,
            f.reviewers,
            f.decisions as f64 / f.seconds,
            f.decision_p50,
            f.decision_p95,
            f.ingested as f64 / f.seconds,
            f.offered,
            f.page_p95,
            f.visible_p50,
            f.visible_p95,
            f.cpu_share * 100.0
        );
    }
    println!();
    println!(
        "Visibility: {}. Machine: {} cores; PostgreSQL with fsync on, in a temp dir. Command: simulate {}",
        pg::VISIBILITY_SCOPE,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
}

fn run(cluster: &pg::Cluster, n: usize, o: &Options) -> Figures {
    let db = pg::fresh_database(cluster);
    let t = Instant::now();
    let schools: Vec<School> = (0..n)
        .map(|i| {
            let settings = pg::settings(cluster, &db, &format!("school-{i}"));
            let service = pg::service(&settings);
            let session = pg::session(&service, "seed");
            for body in fixture::pages(o.seed_cases) {
                session.ingest(&parse_page(&body).expect("valid page"), Utc::now()).expect("seed ingest");
            }
            let open = session
                .queue_open(Utc::now())
                .expect("the open queue")
                .iter()
                .map(|r| AlertKey::new(&r.source, &r.id))
                .collect();
            School { settings, service, open }
        })
        .collect();
    eprintln!("N={n}: {n} school(s) opened and seeded in {:.1?}", t.elapsed());

    let stop = AtomicBool::new(false);
    let latencies = Mutex::new(Vec::new());
    let pages = Mutex::new(Vec::new());
    let visible = Mutex::new(Vec::new());
    let refused = AtomicUsize::new(0);
    let ingested = AtomicUsize::new(0);
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let deadline = started + Duration::from_secs(o.seconds);
    std::thread::scope(|s| {
        for school in &schools {
            // The observer's cases are the last few; the reviewers share the rest.
            let (work, _) = school.open.split_at(school.open.len().saturating_sub(4));
            for r in 0..o.reviewers {
                let mine: Vec<AlertKey> = work.iter().skip(r).step_by(o.reviewers).cloned().collect();
                let session = pg::session(&school.service, &format!("reviewer-{r}"));
                let (stop, latencies, refused) = (&stop, &latencies, &refused);
                s.spawn(move || {
                    let mut own = Vec::new();
                    review(&session, &mine, o.think, stop, &mut own, refused);
                    latencies.lock().expect("latencies").extend(own);
                });
            }
            let session = pg::session(&school.service, "feed");
            let (stop, pages, ingested) = (&stop, &pages, &ingested);
            s.spawn(move || {
                let mut own = Vec::new();
                feed(&session, o, stop, &mut own, ingested);
                pages.lock().expect("pages").extend(own);
            });
        }
        let (stop, visible, schools) = (&stop, &visible, &schools);
        s.spawn(move || {
            let mut own = Vec::new();
            observe(schools, stop, &mut own);
            visible.lock().expect("visible").extend(own);
        });
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::SeqCst);
    });
    let seconds = started.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let cpu_share = (cpu_seconds() - cpu_before) / seconds / cores;
    let mut latencies = latencies.into_inner().expect("latencies");
    let mut pages = pages.into_inner().expect("pages");
    let mut visible = visible.into_inner().expect("visible");
    let mut admin = cluster.admin(&db).expect("connect");
    let bytes: i64 = admin.query_one("SELECT pg_database_size(current_database())", &[]).expect("size").get(0);
    Figures {
        schools: n,
        reviewers: n * o.reviewers,
        seconds,
        decisions: latencies.len(),
        refused: refused.load(Ordering::SeqCst),
        decision_p50: pg::percentile(&mut latencies, 50.0),
        decision_p95: pg::percentile(&mut latencies, 95.0),
        offered: o.rate * n as f64,
        ingested: ingested.load(Ordering::SeqCst),
        page_p95: pg::percentile(&mut pages, 95.0),
        visible: visible.len(),
        visible_p50: pg::percentile(&mut visible, 50.0),
        visible_p95: pg::percentile(&mut visible, 95.0),
        database_mb: bytes as f64 / 1048576.0,
        cpu_share,
    }
}

/// This process's CPU time so far, user and system, every thread.
fn cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    secs(usage.user_time()) + secs(usage.system_time())
}

/// A reviewer working `cases` in turn until told to stop: view, note, every required item ticked, close.
/// Each act's time goes into `latencies`; a refused act is counted and the case left.
fn review(
    session: &Session,
    cases: &[AlertKey],
    think: Duration,
    stop: &AtomicBool,
    latencies: &mut Vec<f64>,
    refused: &AtomicUsize,
) {
    let pause = |stop: &AtomicBool| {
        let until = Instant::now() + think;
        while !stop.load(Ordering::Relaxed) && Instant::now() < until {
            std::thread::sleep(think.min(Duration::from_millis(20)));
        }
        !stop.load(Ordering::Relaxed)
    };
    let mut timed = |key: &AlertKey, command: CaseCommand| -> bool {
        let t = Instant::now();
        match session.act(key, &command, Utc::now()) {
            Ok(_) => latencies.push(pg::ms(t.elapsed())),
            Err(_) => {
                refused.fetch_add(1, Ordering::Relaxed);
                return false;
            }
        }
        true
    };
    for (n, key) in cases.iter().cycle().enumerate() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if n >= cases.len() {
            // Every case of this reviewer's is closed: notes from here on.
            if !timed(key, CaseCommand::Note { text: format!("follow-up {n}") }) || !pause(stop) {
                return;
            }
            continue;
        }
        let Ok(()) = session.mark_viewed(key, Utc::now()) else { continue };
        let Ok(detail) = session.detail(key, Utc::now()) else { continue };
        if !timed(key, CaseCommand::Note { text: "Spoke with the student's tutor.".into() }) || !pause(stop) {
            continue;
        }
        let mut complete = true;
        for item in detail.checklist.iter().filter(|i| i.required && !i.done) {
            let value = fixture::value_for(item.kind.as_str(), &item.choices, n);
            complete &= timed(key, CaseCommand::Tick { item: item.id.clone(), value, note: None });
            if !pause(stop) {
                return;
            }
        }
        if complete && let Some((outcome, _)) = detail.outcomes.get(n % detail.outcomes.len().max(1)) {
            timed(key, CaseCommand::Close { outcome: outcome.clone() });
            if !pause(stop) {
                return;
            }
        }
    }
}

/// A school's feed: a page a second, `rate` alerts/s on average, each page's time into `pages`.
fn feed(session: &Session, o: &Options, stop: &AtomicBool, pages: &mut Vec<f64>, ingested: &AtomicUsize) {
    let started = Instant::now();
    let (mut sent, mut page) = (0usize, 0u64);
    loop {
        // A second's alerts, at the end of that second.
        page += 1;
        let next = started + Duration::from_secs(page);
        while !stop.load(Ordering::Relaxed) && Instant::now() < next {
            std::thread::sleep(Duration::from_millis(20));
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let due = (o.rate * page as f64).round() as usize;
        let count = due.saturating_sub(sent);
        if count > 0 {
            let body = fixture::pages_after(o.seed_cases + sent, count, &format!("p{page}-")).next().expect("a page");
            let t = Instant::now();
            let report = session.ingest(&parse_page(&body).expect("valid page"), Utc::now()).expect("ingest");
            pages.push(pg::ms(t.elapsed()));
            ingested.fetch_add(report.new, Ordering::Relaxed);
            sent = due;
        }
    }
}

/// Round the schools, a note every 250 ms through a school's service, timed until another client heard of
/// it (a client of a second service on the school: `pg::watcher`).
fn observe(schools: &[School], stop: &AtomicBool, visible: &mut Vec<f64>) {
    let mut watchers: Vec<(Session, pg::Watcher, Vec<AlertKey>)> = schools
        .iter()
        .map(|s| {
            let cases = s.open[s.open.len().saturating_sub(4)..].to_vec();
            (pg::session(&s.service, "observer"), pg::watcher(&s.service, &s.settings), cases)
        })
        .collect();
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let next = Instant::now() + Duration::from_millis(250);
        let count = watchers.len();
        let (actor, watcher, cases) = &mut watchers[i % count];
        if let Some(case) = cases.get(i / count % cases.len().max(1)) {
            let note = CaseCommand::Note { text: format!("observer {i}") };
            let (_, seen) = pg::decide_and_watch(actor, watcher, case, &note);
            visible.push(pg::ms(seen));
        }
        i += 1;
        while !stop.load(Ordering::Relaxed) && Instant::now() < next {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
