//! The benchmark store: N cases built through the real path, shared by `benches/queue.rs` and
//! `examples/bench_store.rs` (which `scripts/bench` drives).
//!
//! Alerts are protocol v1 pages of 500 (the protocol's maximum) made from the demo data set's alerts with new
//! ids, subjects and raise times, parsed by `parse_page` and stored by `Session::ingest`. Then the
//! reviewer works the cases through `Session::mark_viewed`, `detail` and `act`, as the TUI does: 70% are
//! closed (viewed, every required item of their path ticked with a value of the right kind, an outcome:
//! 8 to 17 events for a student case), 30% stay open (the newest ones) with 1 to 5 events. The level mix
//! comes from the vendor risk (half Low, a third Medium, the rest High); 2% are staff alerts, 1 in 500 is
//! suspected illegal, 1 in 100 is withdrawn by the vendor.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use serde_json::{Value, json};
use vigil::config::Config;
use vigil::domain::AlertKey;
use vigil::domain::case::CaseCommand;
use vigil::feed::demo::DEMO_ALERTS;
use vigil::feed::protocol::parse_page;
use vigil::identity::{Role, Viewer};
use vigil::service::{CaseService, Session};
use vigil::store::{Store, StoreKey};

/// `VIGIL_BENCH_FEED_ONLY=1`: a quicker store for sizes where working 70% of the cases through `act` takes
/// too long (about 8 flushed acts a case: over an hour for a million on the 2-core machine). The oldest 70%
/// come from the feed already withdrawn by the vendor (hidden by default, like closed cases, two events
/// each) and nothing is acted on. Cached separately (`target/bench-store/N-feed-only/`).
pub fn feed_only() -> bool {
    std::env::var_os("VIGIL_BENCH_FEED_ONLY").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Bump when the generated data changes: a cached store with another version is rebuilt.
pub const FIXTURE_VERSION: u32 = 1;
pub const PAGE: usize = 500;
pub const SOURCE: &str = "smoothwall-monitor";

/// The newest raise time; the rest go back from it, about 1,500 alerts a month.
pub fn newest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 13, 15, 0, 0).single().expect("valid literal")
}

/// SplitMix64: a small deterministic generator, so every build of N cases is the same store.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn templates() -> Vec<Value> {
    let all: Vec<Value> = serde_json::from_str(DEMO_ALERTS).expect("demo data parses");
    // Student alerts only, as content templates: staff and illegal-content alerts are made on purpose below.
    all.into_iter()
        .filter(|a| a["subject"]["kind"] == "student" && a.get("suspected_illegal").is_none_or(|v| v != true))
        .collect()
}

/// Alert number `n` of `total` (0 is the oldest).
fn alert(n: usize, total: usize, t: &[Value], rng: &mut Rng) -> Value {
    let mut a = t[n % t.len()].clone();
    // Evenly spread, about 29 minutes apart, the newest last.
    let back = Span::minutes(((total - 1 - n) as i64) * 29 + rng.below(20) as i64);
    let raised = newest() - back;
    a["id"] = json!(format!("BENCH-{n:07}"));
    a["source"] = json!(SOURCE);
    a["raised_at"] = json!(raised.to_rfc3339());
    let risk = match rng.below(100) {
        0..=49 => 1 + rng.below(2),
        50..=84 => 3 + rng.below(2),
        _ => 5,
    };
    a["risk"] = json!(risk);
    if let Some(o) = a.as_object_mut() {
        o.remove("level");
        o.remove("withdrawn");
        o.remove("revision");
    }
    let student = 240_000 + rng.below(6_000);
    a["subject"]["id"] = json!(format!("HPC{student}"));
    a["subject"]["username"] = json!(format!("s.{student}"));
    a["device"]["hostname"] = json!(format!("HPC-LAP-{:04}", rng.below(2_000)));
    if let Some(caps) = a["captures"].as_array_mut() {
        for c in caps {
            c["at"] = json!((raised - Span::minutes(3)).to_rfc3339());
        }
    }
    match rng.below(1_000) {
        0..=19 => {
            a["subject"] = json!({"kind": "staff", "id": format!("STF{:04}", rng.below(400)), "name": "A Member of Staff",
                                  "group": "Curriculum", "username": format!("staff.{n}")});
        }
        20..=21 => a["suspected_illegal"] = json!(true),
        22..=31 => a["withdrawn"] = json!(true),
        _ => {}
    }
    if feed_only() && n < total * 7 / 10 {
        a["withdrawn"] = json!(true);
    }
    a
}

/// The feed, page by page (generated as it is read: a million alerts do not sit in memory at once).
pub fn pages(total: usize) -> impl Iterator<Item = Vec<u8>> {
    pages_after(0, total, "c")
}

/// `count` alerts that follow the first `first` of a feed (the ones a store of `first` cases does not have
/// yet), page by page, their cursors `{cursor}1`, `{cursor}2`, ...
pub fn pages_after(first: usize, count: usize, cursor: &str) -> impl Iterator<Item = Vec<u8>> {
    let t = templates();
    let total = first + count;
    let mut rng = Rng::new(0x5EED ^ total as u64);
    let pages = count.div_ceil(PAGE);
    let cursor = cursor.to_string();
    (0..pages).map(move |p| {
        let alerts: Vec<Value> =
            (first + p * PAGE..(first + (p + 1) * PAGE).min(total)).map(|n| alert(n, total, &t, &mut rng)).collect();
        let more = p + 1 < pages;
        let next = format!("{cursor}{}", p + 1);
        serde_json::to_vec(&json!({"feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": next, "more": more}))
            .expect("serialize")
    })
}

/// One 500-alert page body, for the parse bench.
pub fn one_page() -> Vec<u8> {
    pages(PAGE).next().expect("one page")
}

pub fn viewer() -> Viewer {
    let user = vigil::identity::os_user().unwrap_or_else(|_| "bench".into());
    Viewer { user, role: Role::Dsl, sees_staff: true }
}

/// The bench viewer's session with a service over `store`.
pub fn service(store: Store) -> Session {
    let config = Config::default();
    Session::new(CaseService::new(store, vigil::service::Policy::from_config(&config)), viewer())
}

/// What building took.
#[derive(Debug, Default, Clone, Copy)]
pub struct Built {
    pub cases: usize,
    /// `parse_page` + `Session::ingest` (store and flush) of every page; generating the JSON is not counted.
    pub ingest: Duration,
    pub acts: usize,
    pub act_time: Duration,
}

/// A value of the right kind for a checklist item.
pub fn value_for(kind: &str, choices: &[String], n: usize) -> Option<String> {
    match kind {
        "tick" => None,
        "choice" => choices.get(n % choices.len().max(1)).cloned(),
        "date" => Some("2026-11-27".into()),
        "time" => Some(format!("{:02}:{:02}", 9 + n % 8, n % 60)),
        "reference" => Some(format!("CP-{n:07}")),
        "person" => Some("J. Smith (Head of Faculty)".into()),
        _ => Some("Spoke with the student and their tutor; no further concern raised.".into()),
    }
}

/// Works case `n`: closed ones get every required item and an outcome, open ones a few steps.
fn work(service: &Session, key: &AlertKey, n: usize, closed: bool, rng: &mut Rng, now: DateTime<Utc>) -> usize {
    let mut acts = 0;
    let steps = if closed { usize::MAX } else { rng.below(5) as usize }; // events after Raised: 0-4
    if steps == 0 {
        return 0;
    }
    service.mark_viewed(key, now).expect("view");
    let d = service.detail(key, now).expect("detail");
    if d.case.withdrawn.is_some() {
        return 1;
    }
    // The view was the first step after Raised; ticks make the rest.
    let required = d.checklist.iter().filter(|i| i.required && !i.done);
    for item in required.take(steps - 1) {
        let value = value_for(item.kind.as_str(), &item.choices, n);
        let cmd = CaseCommand::Tick { item: item.id.clone(), value, note: None };
        service.act(key, &cmd, now).unwrap_or_else(|e| panic!("tick {} on {key}: {e}", item.id));
        acts += 1;
    }
    if closed {
        let outcome = d.outcomes[n % d.outcomes.len()].0.clone();
        service.act(key, &CaseCommand::Close { outcome }, now).unwrap_or_else(|e| panic!("close {key}: {e}"));
        acts += 1;
    }
    acts
}

/// Builds `total` cases into a new store in `dir` (which must not hold one), through the real path.
pub fn build(dir: &Path, key: &StoreKey, total: usize, mut progress: impl FnMut(&str)) -> Built {
    let store = Store::open(dir, key).expect("store opens");
    let service = service(store.clone());
    let now = Utc::now();
    let mut built = Built { cases: total, ..Built::default() };
    for body in pages(total) {
        let t = Instant::now();
        let page = parse_page(&body).expect("valid page");
        let report = service.ingest(&page, now).expect("ingest");
        built.ingest += t.elapsed();
        assert_eq!(report.new, page.alerts.len(), "every alert is new");
    }
    progress(&format!("ingested {total} alerts in {:.1?}", built.ingest));
    if feed_only() {
        store.flush().expect("flush");
        return built;
    }
    // The oldest 70% are closed, the newest 30% open. Two reviewers work at once (the store is shared by
    // design: the poller and the UI do the same), each on every other case.
    let closed_below = total * 7 / 10;
    let t = Instant::now();
    let workers = 2;
    let acts: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let service = service.clone();
                let progress_every = 10_000 * workers;
                s.spawn(move || {
                    let mut acts = 0;
                    for n in (w..total).step_by(workers) {
                        let key = AlertKey::new(SOURCE, format!("BENCH-{n:07}"));
                        let mut rng = Rng::new(0xC1_05ED ^ (n as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
                        acts += work(&service, &key, n, n < closed_below, &mut rng, now);
                        if w == 0 && n > 0 && n % progress_every == 0 {
                            eprintln!("bench store: worked {n} of {total} cases ({:.0?})", t.elapsed());
                        }
                    }
                    acts
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).sum()
    });
    built.acts = acts;
    built.act_time = t.elapsed();
    store.flush().expect("flush");
    built
}

/// Where a cached store of `total` cases lives: `target/bench-store/<total>/` (with its key beside the data).
pub fn cache_dir(total: usize) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-store").join(if feed_only() { format!("{total}-feed-only") } else { total.to_string() })
}

/// The data dir and key file of a cached store.
pub fn cached_paths(total: usize) -> (PathBuf, PathBuf) {
    let dir = cache_dir(total);
    (dir.join("data"), dir.join("store.key"))
}

fn marker_text(total: usize) -> String {
    format!("fixture {FIXTURE_VERSION} cases {total}{}", if feed_only() { " feed-only" } else { "" })
}

fn marker(total: usize) -> PathBuf {
    cache_dir(total).join("BUILT")
}

/// Whether a complete store of `total` cases, of this fixture version, is cached.
pub fn is_cached(total: usize) -> bool {
    std::fs::read_to_string(marker(total)).is_ok_and(|s| s.trim() == marker_text(total))
}

/// The cached store of `total` cases, built first if it is missing, incomplete or of an older fixture.
pub fn ensure_cached(total: usize, progress: impl FnMut(&str)) -> Option<Built> {
    if is_cached(total) {
        return None;
    }
    let dir = cache_dir(total);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the cache dir");
    set_private(&dir);
    let (data, key) = cached_paths(total);
    // Every act is flushed (fsync) before it returns, as it must be; on a tmpfs that costs nothing, so the
    // store is built there when one has room, then copied into place. The store is the same either way.
    let built = match stage_dir(total) {
        Some(stage) => {
            let _ = std::fs::remove_dir_all(&stage);
            std::fs::create_dir_all(&stage).expect("create the staging dir");
            set_private(&stage);
            let built = build(&stage.join("data"), &StoreKey::file(stage.join("store.key")), total, progress);
            copy_dir(&stage, &dir).expect("copy the built store into place");
            let _ = std::fs::remove_dir_all(&stage);
            built
        }
        None => build(&data, &StoreKey::file(&key), total, progress),
    };
    std::fs::write(marker(total), format!("{}\n", marker_text(total))).expect("write the marker");
    Some(built)
}

fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

/// Opens the cached store of `total` cases (building it when needed).
pub fn open_cached(total: usize) -> Store {
    ensure_cached(total, |m| eprintln!("bench store: {m}"));
    let (data, key) = cached_paths(total);
    Store::open(&data, &StoreKey::file(key)).expect("cached store opens")
}

/// A tmpfs dir to build in: `VIGIL_BENCH_STAGE`, else `/dev/shm` when it has room (about 30 KB a case,
/// what sled takes while the store is built, with room to spare). `VIGIL_BENCH_STAGE=` (empty) builds in place.
fn stage_dir(total: usize) -> Option<PathBuf> {
    if feed_only() {
        return None; // one flush a page, no acts: the disk is fine
    }
    let root = match std::env::var_os("VIGIL_BENCH_STAGE") {
        Some(r) if r.is_empty() => return None,
        Some(r) => PathBuf::from(r),
        None => PathBuf::from("/dev/shm"),
    };
    let need = total as u64 * 30_000 + (1 << 30);
    (free_bytes(&root)? >= need).then(|| root.join(format!("vigil-bench-store-{}-{total}", std::process::id())))
}

fn free_bytes(path: &Path) -> Option<u64> {
    fs2::available_space(path).ok()
}

pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}
