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
//!   The watcher is a client of a second service on the same school (`pg::watcher`), woken by NOTIFY.
//!
//! - The same through `vigil serve` (the release binary, `[storage] backend = "postgres"` on that database,
//!   a socket in a private dir under `target/bench-pg/serve/`): the TUI started as a client with `--socket`
//!   in a 120x40 tmux pane, its start to first frame as it reports it (`VIGIL_REPORT_FIRST_FRAME`), median
//!   of 5; then two clients of the service (two `Session::connect`), a note by one timed until the other's
//!   event stream has it, 200 times. Needs tmux; skipped, saying so, without it.
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
/// Working time all day, every day, for the service the TUI starts against: the fixture's unopened cases are
/// then a backlog it escalates while the clients start, whatever the hour the bench runs (a start's worst
/// case; at night, with the college's hours, it escalated nothing).
const BACKLOG_CALENDAR: &str = "\n[calendar]\nopen = \"00:00\"\nclose = \"23:59\"\n\
    working_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\n";
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
    // A dump an earlier vigil made is brought up to this one's schema, as `vigil store migrate` would.
    vigil::store::postgres::schema::migrate(&mut admin).expect("the restored database is migrated");
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

/// What the first frame's read costs the database and the socket at the least: a new connection, then the
/// open cases' sealed index rows as `PgStore` selects them, every byte received, nothing opened.
fn plain_fetch(cluster: &pg::Cluster, database: &str) -> Duration {
    let t = Instant::now();
    let mut client = cluster.admin(database).expect("connect");
    let rows = client
        .query(
            "SELECT case_key, sealed FROM case_index WHERE school = $1 AND open ORDER BY open DESC, case_key",
            &[&SCHOOL],
        )
        .expect("the open rows");
    let bytes: usize = rows.iter().map(|r| r.get::<_, &[u8]>(1).len()).sum();
    std::hint::black_box(bytes);
    t.elapsed()
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

    // Each start followed by the plain fetch of the rows it reads, so both see the same load.
    let (mut starts, mut fetches): (Vec<[Duration; 4]>, Vec<f64>) =
        (0..STARTS).map(|_| (start(&settings), pg::ms(plain_fetch(cluster, &db)))).unzip();
    let fetch = pg::percentile(&mut fetches, 50.0);
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

    println!(
        "plain fetch of the open cases' sealed index rows (connect, SELECT, every byte received), median: {fetch:.0} ms"
    );

    let serve = through_serve(cluster, &db);

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
    match serve {
        Some(s) => println!(
            "summary, through vigil serve: the TUI's start to first frame (its own report, in tmux at 120x40), \
             median of {}: {:.0} ms (all: {}; no frame within 60 s: {}; budget <= 500 ms: {}). A note by one client seen by another \
             ({}), {} decisions: median {:.1} ms, p95 {:.1} ms (budget p95 <= 200 ms: {})",
            s.first_frames.len(),
            s.first_frame,
            s.first_frames.iter().map(|f| format!("{f:.0}")).collect::<Vec<_>>().join(", "),
            s.no_frame,
            verdict(s.first_frame <= 500.0 && s.no_frame == 0),
            pg::VISIBILITY_SCOPE,
            s.decisions,
            s.seen50,
            s.seen95,
            verdict(s.seen95 <= 200.0),
        ),
        None => println!("summary, through vigil serve: not measured (needs tmux)"),
    }
}

/// What the runs through `vigil serve` measured.
struct Served {
    first_frame: f64,
    first_frames: Vec<f64>,
    /// Starts that drew no frame within 60 s (left out of the median).
    no_frame: usize,
    decisions: usize,
    seen50: f64,
    seen95: f64,
}

/// `vigil serve` on `database`, the TUI as its client in tmux, and two clients deciding and watching.
fn through_serve(cluster: &pg::Cluster, database: &str) -> Option<Served> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    use std::process::{Command, Stdio};
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: the runs through vigil serve are skipped");
        return None;
    }
    let vigil = env!("CARGO_BIN_EXE_vigil");
    let dir = dump_path(0).with_file_name("serve");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("run")).expect("make the serve dir");
    for d in [dir.clone(), dir.join("run")] {
        // The service refuses a socket dir that others can write.
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    let key = dir.join("store.key");
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&key).expect("key file");
    std::io::Write::write_all(&mut file, &[7u8; 32]).expect("write the key");
    let user = vigil::identity::os_user().expect("this process's user");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[roles]\ndsl = [\"{user}\"]\n\n[service]\ngroup = \"\"\n\n[storage]\nbackend = \"postgres\"\n\
             url = \"{}\"\nschool = \"{SCHOOL}\"\nkey_file = \"{}\"\n{BACKLOG_CALENDAR}",
            cluster.url(database, "postgres"),
            key.display()
        ),
    )
    .expect("write the config");
    let socket = dir.join("run").join("vigil.sock");
    let serve_err = dir.join("serve.err");
    let serve = Command::new(vigil)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--socket")
        .arg(&socket)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&serve_err).expect("serve's stderr"))
        .spawn()
        .expect("vigil serve starts");
    let serve = Stopped(serve);
    let listening = wait_until(Duration::from_secs(60), || {
        std::fs::read_to_string(&serve_err).is_ok_and(|s| s.contains("listening on"))
    });
    if !listening {
        panic!("vigil serve did not start: {}", std::fs::read_to_string(&serve_err).unwrap_or_default());
    }

    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", "vigil-bench-pg"])
            .args(args)
            .stderr(Stdio::null())
            .output()
            .expect("tmux runs")
    };
    let (mut first_frames, mut no_frame) = (Vec::new(), 0);
    for r in 0..STARTS {
        let (stderr, exit) = (dir.join(format!("client.{r}.err")), dir.join(format!("client.{r}.exit")));
        let command = format!(
            "env VIGIL_REPORT_FIRST_FRAME=1 '{vigil}' --config '{}' --data-dir '{}' --socket '{}' 2>'{}'; echo $? >'{}'",
            config.display(),
            dir.join("client-data").display(),
            socket.display(),
            stderr.display(),
            exit.display()
        );
        // A session of its own each start: a new session right after `kill-server` can meet the server
        // still exiting, and fail.
        let session = format!("bench-{r}");
        let started = tmux(&["new-session", "-d", "-s", &session, "-x", "120", "-y", "40", &command]);
        assert!(started.status.success(), "tmux could not start the client's session");
        let pane = || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session]).stdout).into_owned();
        if !wait_until(Duration::from_secs(60), || pane().contains("Queue:")) {
            // Seen now and then on the loaded 2-core machine, cause not found: counted and reported, not
            // hidden in the median.
            eprintln!("start {r}: no frame from the client within 60 s");
            tmux(&["kill-session", "-t", &session]);
            no_frame += 1;
            continue;
        }
        tmux(&["send-keys", "-t", &session, "q"]);
        assert!(wait_until(Duration::from_secs(30), || exit.exists()), "the client did not quit");
        let report = std::fs::read_to_string(&stderr).unwrap_or_default();
        let ms = report
            .lines()
            .find_map(|l| l.strip_prefix("first-frame-ms ").and_then(|v| v.trim().parse::<f64>().ok()))
            .unwrap_or_else(|| panic!("the client reported no first frame: {report}"));
        first_frames.push(ms);
    }
    tmux(&["kill-server"]);
    let mut sorted = first_frames.clone();
    let first_frame = pg::percentile(&mut sorted, 50.0);

    let (a, b) = (
        vigil::service::Session::connect(&socket).expect("client A connects"),
        vigil::service::Session::connect(&socket).expect("client B connects"),
    );
    let mut watcher = pg::watching(&b);
    let rows = a.queue_open(Utc::now()).expect("the open queue");
    let count = DECISIONS.min(rows.len());
    let keys: Vec<AlertKey> =
        (0..count).map(|i| &rows[i * rows.len() / count]).map(|r| AlertKey::new(&r.source, &r.id)).collect();
    drop(rows);
    let mut seen = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let note = CaseCommand::Note { text: format!("bench note through serve {i}") };
        seen.push(pg::ms(pg::decide_and_watch(&a, &mut watcher, key, &note).1));
    }
    drop((a, b, watcher, serve));
    Some(Served {
        first_frame,
        first_frames,
        no_frame,
        decisions: keys.len(),
        seen50: pg::percentile(&mut seen, 50.0),
        seen95: pg::percentile(&mut seen, 95.0),
    })
}

/// `vigil serve`, stopped with SIGTERM (it stops cleanly) when dropped, and the bench's tmux server with it,
/// whether the bench ends or panics.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
        let _ = std::process::Command::new("tmux").args(["-L", "vigil-bench-pg", "kill-server"]).status();
    }
}

/// Polls `done` every 20 ms until it holds or `deadline` has passed; whether it held.
fn wait_until(deadline: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + deadline;
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}
