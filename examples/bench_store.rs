//! The library half of `scripts/bench`: builds the benchmark store and measures what needs the library.
//!
//! ```sh
//! cargo run --release --example bench_store -- build CASES [--fresh]   # target/bench-store/CASES/{data,store.key}
//! cargo run --release --example bench_store -- ingest ALERTS            # alerts/s into a fresh store on disk, and its floor
//! cargo run --release --example bench_store -- ingest-into CASES [ALERTS] # the same into a copy of the CASES store
//! cargo run --release --example bench_store -- scan CASES [RUNS]       # open the store, decode every index entry
//! cargo run --release --example bench_store -- bytes CASES [MOVES]     # bytes a selection move writes at 120x40
//! cargo run --release --example bench_store -- keys CASES [MOVES]      # a selection move against one draw of its frame
//! ```
//!
//! Each prints `name value` lines for the script to read (`keys` on stderr: it draws on stdout). `build`
//! reuses a cached store of the same fixture version unless given `--fresh` (and then measures ingest
//! throughput as it builds).
//!
//! Figures that have a floor print it too, measured in the same process right after, so that the script can
//! report the ratio, which holds from one machine to another where the absolute figure does not (issue 14).

#[path = "../benches/support/fixture.rs"]
mod fixture;
#[path = "../benches/support/floor.rs"]
mod floor;

/// The allocator of the vigil binary (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::Notify;
use vigil::app::keymap::Command;
use vigil::app::{Action, Effect, State, update};
use vigil::feed::client::FeedClient;
use vigil::intake::sync_once;
use vigil::store::{Store, StoreKey, dir_bytes, make_owner_only};
use vigil::tui::run_effects;
use vigil::ui::{Theme, render};

fn usage() -> ! {
    eprintln!(
        "usage: bench_store build CASES [--fresh] | ingest ALERTS | ingest-into CASES [ALERTS] | scan CASES [RUNS] \
         | bytes CASES [MOVES] | keys CASES [MOVES]"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cases: usize = args.get(1).and_then(|s| s.replace('_', "").parse().ok()).unwrap_or_else(|| usage());
    match args.first().map(String::as_str) {
        Some("build") => build(cases, args.iter().any(|a| a == "--fresh")),
        Some("ingest") => ingest(cases),
        Some("ingest-into") => ingest_into(
            cases,
            args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000),
            args.iter().any(|a| a == "--compacted"),
        ),
        Some("scan") => scan(cases, args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5)),
        Some("bytes") => bytes(cases, args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50)),
        Some("keys") => keys(cases, args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200)),
        _ => usage(),
    }
}

fn build(cases: usize, fresh: bool) {
    if fresh {
        let _ = std::fs::remove_dir_all(fixture::cache_dir(cases));
    }
    let t = Instant::now();
    match fixture::ensure_cached(cases, |m| eprintln!("bench store: {m}")) {
        Some(built) => {
            // A compacted copy of the store this one replaces is not a copy of this one.
            let _ = std::fs::remove_dir_all(compacted_dir(cases));
            println!("build-seconds {:.1}", t.elapsed().as_secs_f64());
            println!("ingest-alerts {}", built.cases);
            println!("ingest-seconds {:.3}", built.ingest.as_secs_f64());
            println!("ingest-alerts-per-s {:.0}", built.cases as f64 / built.ingest.as_secs_f64());
            println!("acts {}", built.acts);
            println!("act-seconds {:.1}", built.act_time.as_secs_f64());
            println!("acts-per-s {:.0}", built.acts as f64 / built.act_time.as_secs_f64());
        }
        None => println!("cached 1"),
    }
    let (data, key) = fixture::cached_paths(cases);
    println!("data-dir {}", data.display());
    println!("key-file {}", key.display());
    println!("store-bytes {}", dir_bytes(&data));
}

/// Ingest throughput as `vigil sync` and the poller see it: the fixture's pages served over loopback HTTP,
/// fetched and parsed, and stored (each page one transaction with its cursor, flushed) by [`sync_once`]
/// into a fresh store in a tempdir under target/ (the disk, not a tmpfs). Making the pages is not counted.
/// Then its floor ([`floor::write_pages`]): the same pages into a fresh sled database beside it.
fn ingest(alerts: usize) {
    let root = fixture::cache_dir(0).with_file_name("ingest-tmp");
    std::fs::create_dir_all(&root).expect("create the ingest dir");
    let tmp = tempfile::tempdir_in(&root).expect("tempdir");
    let service =
        fixture::service(Store::open(&tmp.path().join("data"), &StoreKey::bytes([7; 32])).expect("fresh store opens"));
    let pages = served(fixture::pages(alerts));
    let took = sync_pages(&service, pages.clone(), "c", alerts);
    drop(service);
    let floor_dir = tempfile::tempdir_in(&root).expect("tempdir");
    let db = floor::open_sled(&floor_dir.path().join("db"));
    let floor = floor::write_pages(&db, &floor::cipher(), pages.iter().map(|b| &b[..]), "");
    report_ingest(alerts, took, floor);
}

/// The same, but `alerts` new alerts into a copy of the cached store of `cases` cases: ingest at that size.
/// With `compacted`, a copy of it after `vigil store compact` (made once and cached beside it).
fn ingest_into(cases: usize, alerts: usize, compacted: bool) {
    let (data, key) = if compacted { compacted_store(cases) } else { fixture::cached_paths(cases) };
    let root = fixture::cache_dir(0).with_file_name("ingest-tmp");
    std::fs::create_dir_all(&root).expect("create the ingest dir");
    let tmp = tempfile::tempdir_in(&root).expect("tempdir");
    fixture::copy_dir(&data, &tmp.path().join("data")).expect("copy the cached store");
    make_owner_only(&tmp.path().join("data")).expect("make the copy private");
    // The copy leaves gigabytes of dirty pages for the kernel to write back, which the store's own flushes
    // would then wait behind: write them out before the clock starts.
    let _ = std::process::Command::new("sync").status();
    let store = Store::open(&tmp.path().join("data"), &StoreKey::file(key)).unwrap_or_else(|e| {
        eprintln!("cannot open the bench store of {cases} cases (run `bench_store build {cases}` first): {e}");
        std::process::exit(1)
    });
    let service = fixture::service(store);
    let pages = served(fixture::pages_after(cases, alerts, "new"));
    let took = sync_pages(&service, pages.clone(), "new", alerts);
    drop(service);
    // The floor at the same size: the same pages written into the same copy's alerts tree, which now holds
    // the `cases` cases and the new alerts, under ids of their own so that they are new keys, as the
    // ingested alerts were.
    let db = open_sled_when_free(&tmp.path().join("data").join("db"));
    let floor = floor::write_pages(&db, &floor::cipher(), pages.iter().map(|b| &b[..]), "/floor");
    report_ingest(alerts, took, floor);
}

/// [`floor::open_sled`] once the store that had the database open has let it go (sled's own file lock can
/// outlive the last handle by a moment, as `Store::open` knows).
fn open_sled_when_free(path: &std::path::Path) -> sled::Db {
    let started = Instant::now();
    loop {
        match sled::Config::new().path(path).cache_capacity(floor::SLED_CACHE_BYTES).open() {
            Ok(db) => return db,
            Err(_) if started.elapsed() < Duration::from_secs(5) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("cannot open the copy's sled database for the floor: {e}"),
        }
    }
}

/// The cached store of `cases` cases after `vigil store compact`: made once, from a copy, and cached in
/// `target/bench-store/<cases>-compacted/`. Prints the compaction's figures when it makes it.
fn compacted_store(cases: usize) -> (std::path::PathBuf, std::path::PathBuf) {
    let (data, key) = fixture::cached_paths(cases);
    let dir = compacted_dir(cases);
    let marker = dir.join("COMPACTED");
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        fixture::copy_dir(&data, &dir.join("data")).expect("copy the cached store");
        make_owner_only(&dir).expect("make the copy private");
        let t = Instant::now();
        let done = vigil::store::compact::compact(&dir.join("data"), &StoreKey::file(&key)).expect("compact");
        eprintln!(
            "compact-seconds {:.1} compact-bytes-before {} compact-bytes-after {}",
            t.elapsed().as_secs_f64(),
            done.bytes_before,
            done.bytes_after
        );
        std::fs::write(&marker, b"").expect("marker");
    }
    (dir.join("data"), key)
}

/// Where [`compacted_store`] caches its copy.
fn compacted_dir(cases: usize) -> std::path::PathBuf {
    let cached = fixture::cache_dir(cases);
    cached.with_file_name(format!("{}-compacted", cached.file_name().and_then(|n| n.to_str()).unwrap_or("")))
}

/// The pages, made up front (making them is not counted), in the form the loopback feed serves.
fn served(pages: impl Iterator<Item = Vec<u8>>) -> Arc<Vec<axum::body::Bytes>> {
    Arc::new(pages.map(Into::into).collect())
}

/// Prints ingest's rate, its floor's and their ratio (ingest's share of the floor's rate: 1 would be as fast
/// as the floor).
fn report_ingest(alerts: usize, took: Duration, (floor_alerts, floor_took): (usize, Duration)) {
    assert_eq!(floor_alerts, alerts, "the floor wrote every alert");
    let rate = alerts as f64 / took.as_secs_f64();
    let floor_rate = alerts as f64 / floor_took.as_secs_f64();
    println!("ingest-alerts {alerts}");
    println!("ingest-seconds {:.3}", took.as_secs_f64());
    println!("ingest-alerts-per-s {rate:.0}");
    println!("floor-seconds {:.3}", floor_took.as_secs_f64());
    println!("floor-alerts-per-s {floor_rate:.0}");
    println!("ingest-floor-ratio {:.3}", rate / floor_rate);
}

/// Serves `pages` on loopback (the page after cursor `{cursor}N` is page N; any other cursor, such as the
/// one a copied store holds, gets the first), syncs them into `service` with [`sync_once`] and returns the
/// time it took.
fn sync_pages(
    service: &vigil::service::Session,
    pages: Arc<Vec<axum::body::Bytes>>,
    cursor: &'static str,
    alerts: usize,
) -> Duration {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let (report, took) = runtime.block_on(async {
        let feed = axum::Router::new().route(
            "/v1/alerts",
            axum::routing::get(move |q: axum::extract::Query<std::collections::HashMap<String, String>>| {
                let page = q
                    .get("since")
                    .and_then(|c| c.strip_prefix(cursor)?.parse().ok())
                    .filter(|n: &usize| *n < pages.len())
                    .unwrap_or(0);
                let body = pages.get(page).cloned().unwrap_or_default();
                async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("loopback port");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, feed).await });
        let timeouts = vigil::feed::client::FeedTimeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(60),
            request: Duration::from_secs(120),
        };
        let client = FeedClient::new(&format!("http://{addr}/"), None, None, timeouts).expect("client");
        let (t, cpu) = (Instant::now(), vigil::tui::process_cpu());
        let report = sync_once(&client, service).await.expect("sync");
        eprintln!("ingest-cpu-seconds {:.3}", (vigil::tui::process_cpu() - cpu).as_secs_f64());
        (report, t.elapsed())
    });
    assert_eq!(report.new + report.staff_dropped, alerts, "{report:?}");
    took
}

fn open(cases: usize) -> Store {
    let (data, key) = fixture::cached_paths(cases);
    Store::open(&data, &StoreKey::file(key)).unwrap_or_else(|e| {
        eprintln!("cannot open the bench store of {cases} cases (run `bench_store build {cases}` first): {e}");
        std::process::exit(1)
    })
}

/// The plain scan and decode the start-to-first-frame budget compares with: open the store (as `vigil`
/// does) and decode every index entry, nothing else. Prints the median of `runs` (each in a fresh store
/// handle; the OS page cache is warm after the first, as it is for the TUI runs it is compared with).
fn scan(cases: usize, runs: usize) {
    let mut opens = Vec::new();
    let mut totals = Vec::new();
    let mut cpus = Vec::new();
    let mut n = 0;
    for _ in 0..runs.max(1) {
        let cpu = vigil::tui::process_cpu();
        let t = Instant::now();
        let store = open(cases);
        let opened = t.elapsed();
        n = 0;
        for entry in store.index_entries() {
            std::hint::black_box(entry.expect("index entry decodes"));
            n += 1;
        }
        totals.push(t.elapsed());
        cpus.push(vigil::tui::process_cpu() - cpu);
        opens.push(opened);
        drop(store);
    }
    println!("scan-entries {n}");
    println!("scan-open-ms {:.1}", ms(median(&mut opens)));
    println!("scan-total-ms {:.1}", ms(median(&mut totals)));
    println!("scan-cpu-ms {:.1}", ms(median(&mut cpus)));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A writer that only counts what would reach the terminal.
#[derive(Clone, Default)]
struct Counting(Arc<Mutex<usize>>);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        *self.0.lock().map_err(|_| std::io::Error::other("poisoned"))? += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Counting {
    fn take(&self) -> usize {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

/// tests/bytes_budget.rs's measure on the bench store: the real crossterm backend at 120x40 counting what
/// each selection move writes, through `update` and `run_effects` as the runtime does.
fn bytes(cases: usize, moves: usize) {
    let service = fixture::service(open(cases));
    let mut link = vigil::tui::Link::new(service.clone());
    let now = Utc::now();
    let clock = move || now;
    let mut state = State::new(service.viewer().clone(), now);
    state.tz = service.calendar().time_zone();
    let retry = Notify::new();
    run_effects(&mut state, &mut link, &retry, &clock, vec![Effect::LoadQueue]);
    let out = Counting::default();
    let area = ratatui::layout::Rect::new(0, 0, 120, 40);
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(out.clone()),
        ratatui::TerminalOptions { viewport: ratatui::Viewport::Fixed(area) },
    )
    .expect("terminal");
    let theme = Theme::new(vigil::ui::theme::ThemeName::Dark, false);
    terminal.draw(|f| render(&state, &theme, f)).expect("first frame");
    println!("bytes-first-frame {}", out.take());
    let mut sizes = Vec::new();
    for _ in 0..moves {
        let effects = update(&mut state, Action::Command(Command::Down));
        run_effects(&mut state, &mut link, &retry, &clock, effects);
        terminal.draw(|f| render(&state, &theme, f)).expect("frame");
        sizes.push(out.take());
    }
    sizes.sort_unstable();
    println!("bytes-rows {}", state.rows.len());
    println!("bytes-move-median {}", sizes[sizes.len() / 2]);
    println!("bytes-move-max {}", sizes.last().copied().unwrap_or(0));
    println!("bytes-move-mean {:.0}", sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64);
}

/// Key press to frame against its floor, one ratatui draw of the same frame (issue 14), for `keys` presses
/// read from the terminal (`scripts/bench` runs this in a 120x40 tmux pane and sends it `j`s as it sends
/// them to vigil). Two terminals draw the same frames on stdout through the TUI's own backend. On every
/// other key the first does what the runtime does for a key (`update`, `run_effects`, a draw inside a
/// synchronized update), timed from the key's arrival: key to frame. On the keys between, the second, one
/// frame behind, draws the frame the first drew last, already computed, and only that draw is timed: the
/// floor. So the floor writes the same cells as the move did, and both start as the runtime's work does,
/// woken by a key after waiting for it: a draw timed in a loop, with warm caches, took a third of the
/// time of a draw after a pause on the 2-core machine. Prints to stderr (stdout is drawn on).
fn keys(cases: usize, keys: usize) {
    use crossterm::event::{Event, KeyCode, KeyEventKind, read};
    use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate, disable_raw_mode, enable_raw_mode};
    let service = fixture::service(open(cases));
    let mut link = vigil::tui::Link::new(service.clone());
    let now = Utc::now();
    let clock = move || now;
    let mut state = State::new(service.viewer().clone(), now);
    state.tz = service.calendar().time_zone();
    let retry = Notify::new();
    let mut effects = update(&mut state, Action::Resized(ratatui::layout::Size { width: 120, height: 40 }));
    effects.push(Effect::LoadQueue);
    run_effects(&mut state, &mut link, &retry, &clock, effects);
    let area = ratatui::layout::Rect::new(0, 0, 120, 40);
    let terminal = || {
        Terminal::with_options(
            CrosstermBackend::new(std::io::stdout()),
            ratatui::TerminalOptions { viewport: ratatui::Viewport::Fixed(area) },
        )
        .expect("terminal")
    };
    let (mut keyed, mut floor) = (terminal(), terminal());
    let theme = Theme::new(vigil::ui::theme::ThemeName::Dark, false);
    enable_raw_mode().expect("raw mode");
    floor.draw(|f| render(&state, &theme, f)).expect("first frame");
    keyed.draw(|f| render(&state, &theme, f)).expect("first frame");
    let mut out = std::io::stdout();
    let (mut key_times, mut draw_times) = (Vec::with_capacity(keys / 2), Vec::with_capacity(keys / 2));
    let mut seen = 0;
    while seen < keys.max(2) {
        let Event::Key(key) = read().expect("read a key") else { continue };
        if key.kind != KeyEventKind::Press || key.code != KeyCode::Char('j') {
            continue;
        }
        let t = Instant::now();
        if seen % 2 == 0 {
            let effects = update(&mut state, Action::Command(Command::Down));
            run_effects(&mut state, &mut link, &retry, &clock, effects);
            crossterm::queue!(out, BeginSynchronizedUpdate).expect("write");
            keyed.draw(|f| render(&state, &theme, f)).expect("frame");
            crossterm::execute!(out, EndSynchronizedUpdate).expect("write");
            key_times.push(t.elapsed());
        } else {
            floor.draw(|f| render(&state, &theme, f)).expect("frame");
            draw_times.push(t.elapsed());
        }
        seen += 1;
    }
    disable_raw_mode().expect("raw mode off");
    let key = ms(median(&mut key_times));
    let draw = ms(median(&mut draw_times));
    let p95 = |v: &[Duration]| ms(v[((v.len() - 1) as f64 * 0.95).round() as usize]);
    eprintln!("keys-read {keys}");
    eprintln!("keys-median-ms {key:.4}");
    eprintln!("keys-p95-ms {:.4}", p95(&key_times));
    eprintln!("draw-floor-median-ms {draw:.4}");
    eprintln!("draw-floor-p95-ms {:.4}", p95(&draw_times));
    eprintln!("keys-floor-ratio {:.3}", key / draw);
}
