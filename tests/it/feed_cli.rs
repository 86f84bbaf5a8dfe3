//! The feed through the real binary: `vigil sync`, `vigil feed rejected`, `vigil list`, and a `vigil sync`
//! killed with SIGKILL mid-feed, then restarted: every alert served is stored exactly once.
//!
//! Each test runs `vigil` with `--data-dir` in a tempdir, `--feed-url` a wiremock server on loopback and
//! `--config` a temp file that makes the current OS user the DSL.

use crate::feed_support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use feed_support::*;
use serde_json::{Value, json};
use vigil::domain::EventKind;
use vigil::store::Store;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

struct Env {
    dir: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
    url: String,
}

impl Env {
    fn new(url: &str) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = cli_config(dir.path());
        Env { data: dir.path().join("data"), config, url: url.to_string(), dir }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
        cmd.arg("--data-dir")
            .arg(&self.data)
            .arg("--config")
            .arg(&self.config)
            .arg("--feed-url")
            .arg(&self.url)
            .args(args)
            .env_remove("VIGIL_CONFIG")
            .env_remove("VIGIL_DATA_DIR")
            .env_remove("VIGIL_FEED_URL")
            .env("VIGIL_FEED_TOKEN", TOKEN)
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("vigil runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "vigil {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("json")
    }

    fn store(&self) -> Store {
        open_cli_store(self.dir.path(), &self.data)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("vigil.log")).unwrap_or_default()
    }
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        list.as_array().expect("array").iter().map(|c| c["id"].as_str().expect("id").to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_alert_is_quarantined_and_listed_by_feed_rejected() {
    let bad = alert("BAD-1", json!({"raised_at": "2026-11-10T10:00:00"}));
    let server = serve(page(&[alert("G1", json!({})), bad.clone(), alert("G2", json!({}))], Some("c1"), false)).await;
    let env = Env::new(&server.uri());
    let out = env.ok(&["sync", "--once"]);
    assert!(out.contains("2 new") && out.contains("1 quarantined"), "{out}");
    assert_eq!(ids(&env.json(&["list", "--json"])), ["G1", "G2"]);

    let text = env.ok(&["feed", "rejected"]);
    assert!(text.contains("smoothwall-monitor:BAD-1"), "{text}");
    assert!(text.contains("RFC 3339"), "the reason: {text}");
    let listed = env.json(&["feed", "rejected", "--json"]);
    let item = &listed.as_array().expect("array")[0];
    assert_eq!(item["id"], "BAD-1");
    assert_eq!(serde_json::from_str::<Value>(item["raw"].as_str().expect("raw")).expect("raw json"), bad);
    // The request carried the token; nothing in the log does.
    let requests = server.received_requests().await.expect("recording");
    assert!(requests[0].headers.get("authorization").is_some());
    assert!(!env.log().contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_alert_leaves_the_open_queue_but_list_all_shows_it() {
    let alerts = [alert("OPEN-1", json!({})), alert("GONE-1", json!({"withdrawn": true}))];
    let server = serve(page(&alerts, Some("c1"), false)).await;
    let env = Env::new(&server.uri());
    env.ok(&["sync", "--once"]);
    assert_eq!(ids(&env.json(&["list", "--json"])), ["OPEN-1"]);
    let all = env.json(&["list", "--all", "--json"]);
    assert_eq!(ids(&all), ["GONE-1", "OPEN-1"]);
    let gone = all.as_array().expect("array").iter().find(|c| c["id"] == "GONE-1").expect("listed");
    assert_eq!(gone["status"], "withdrawn");

    // Withdrawn later, by a higher revision: the same.
    let server = serve(page(&[alert("OPEN-1", json!({"revision": 2, "withdrawn": true}))], Some("c2"), false)).await;
    let env2 = Env { url: server.uri(), ..env };
    env2.ok(&["sync", "--once"]);
    assert!(ids(&env2.json(&["list", "--json"])).is_empty());
    assert_eq!(ids(&env2.json(&["list", "--all", "--json"])), ["GONE-1", "OPEN-1"]);
    let shown = env2.json(&["show", "OPEN-1", "--json"]);
    let kinds: Vec<&str> =
        shown["events"].as_array().expect("events").iter().filter_map(|e| e["kind"]["type"].as_str()).collect();
    assert_eq!(kinds, ["raised", "revised", "withdrawn", "viewed"], "{}", shown["events"]);
}

/// `vigil sync` (the foreground poller) exits non-zero with one line when the feed cannot be read
/// (credentials refused, another protocol version), and logs the reason to the log file, not the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_exits_non_zero_with_one_line_when_the_feed_cannot_be_read() {
    let unauthorized = MockServer::start().await;
    Mock::given(path("/v1/alerts")).respond_with(ResponseTemplate::new(401)).mount(&unauthorized).await;
    let v2 = serve(json!({"feed": "vigil.alert-feed/2", "alerts": [], "more": false}).to_string()).await;
    for (server, want) in [(&unauthorized, "HTTP 401"), (&v2, "vigil.alert-feed/2")] {
        let env = Env::new(&server.uri());
        for args in [&["sync"][..], &["sync", "--once"]] {
            let out = env.run(args);
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            let stderr = String::from_utf8(out.stderr).expect("utf-8");
            assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
            assert!(stderr.contains(want), "{stderr}");
            assert!(!stderr.contains(TOKEN));
        }
        let log = env.log();
        assert!(log.contains("feed sync failed") && log.contains(want), "logged: {log}");
        assert!(!log.contains(TOKEN), "the token is never logged");
    }
    let refused = Env::new(&format!("http://{}", refused_addr()));
    let out = refused.run(&["sync", "--once"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot reach the feed"), "{stderr}");
}

const PAGES: usize = 60;
const PER_PAGE: usize = 50;

/// Serves page n+1 for `since=p{n}` (page 1 without `since`), 50 alerts each, and tells the test how many
/// pages it has served.
struct Paged {
    served: AtomicUsize,
    tell: Mutex<mpsc::Sender<usize>>,
}

impl Respond for Paged {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let since = req.url.query_pairs().find(|(k, _)| k == "since").map(|(_, v)| v.into_owned());
        let n: usize = since.as_deref().and_then(|s| s.strip_prefix('p')).and_then(|s| s.parse().ok()).unwrap_or(0);
        let alerts: Vec<Value> = (0..PER_PAGE)
            .map(|i| alert(&format!("K{:02}-{i:02}", n + 1), json!({"risk": 1 + (i % 5), "summary": "x".repeat(400)})))
            .collect();
        let body = page(&alerts, Some(&format!("p{}", n + 1)), n + 1 < PAGES);
        let count = self.served.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.tell.lock().map(|t| t.send(count));
        ResponseTemplate::new(200).set_body_raw(body, "application/json")
    }
}

/// Waits (bounded) until the server has served `n` pages in all; fails at once if vigil exits first.
fn wait_served(rx: &mpsc::Receiver<usize>, n: usize, child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(count) if count >= n => return,
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("vigil sync exited ({status}) before the feed served page {n}");
                }
                assert!(std::time::Instant::now() < deadline, "the feed was not polled up to page {n}");
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// Starts `vigil sync`, SIGKILLs it once it has fetched `pages` more pages, and checks what a kill leaves:
/// whole pages, each with its cursor, never part of one.
fn kill_during_sync(env: &Env, rx: &mpsc::Receiver<usize>, pages: usize) {
    let before = rx.try_iter().last().unwrap_or(0);
    let mut child = env.command(&["sync"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    wait_served(rx, before + pages, &mut child);
    // SIGKILL: no destructor, no flush, no lock release but the kernel's.
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reaped");
    assert!(!status.success());

    let store = env.store();
    let stored = store.alert_count();
    assert!(stored < PAGES * PER_PAGE, "killed before the end of the feed ({stored} stored)");
    assert_eq!(stored % PER_PAGE, 0, "a page is stored whole or not at all ({stored} stored)");
    let cursor = store.feed_state().expect("state").cursor;
    assert_eq!(cursor, (stored > 0).then(|| format!("p{}", stored / PER_PAGE)), "the cursor matches the stored pages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_feed_then_restarted_stores_every_alert_exactly_once() {
    let (tx, rx) = mpsc::channel();
    let server = MockServer::start().await;
    Mock::given(path("/v1/alerts"))
        .respond_with(Paged { served: AtomicUsize::new(0), tell: Mutex::new(tx) })
        .mount(&server)
        .await;
    let env = Env::new(&server.uri());

    // Killed twice, each time just as a page has been handed over (it is being parsed or stored).
    kill_during_sync(&env, &rx, 17);
    kill_during_sync(&env, &rx, 20);
    let out = env.ok(&["sync", "--once"]);
    assert!(out.starts_with("synced:"), "{out}");

    let requests = server.received_requests().await.expect("recording");
    let restarted_from: Vec<Option<String>> =
        requests.iter().map(|r| r.url.query_pairs().find(|(k, _)| k == "since").map(|(_, v)| v.into_owned())).collect();
    assert_eq!(restarted_from.iter().filter(|s| s.is_none()).count(), 1, "each restart resumed from its cursor");
    // A kill can find one page being stored and the next one fetched (sync_once overlaps them): neither is
    // acknowledged, so both are fetched again.
    assert!(requests.len() <= PAGES + 2 * 2, "at most two pages per kill are fetched again: {}", requests.len());

    let all = env.json(&["list", "--all", "--json"]);
    assert_eq!(all.as_array().expect("array").len(), PAGES * PER_PAGE);
    let shown = env.json(&["show", "K17-07", "--json"]);
    let raised = shown["events"].as_array().expect("events").iter().filter(|e| e["kind"]["type"] == "raised").count();
    assert_eq!(raised, 1, "{}", shown["events"]);

    let store = env.store();
    assert_eq!(store.alert_count(), PAGES * PER_PAGE);
    let mut raised = std::collections::HashMap::new();
    for item in store.all_events() {
        let (key, event) = item.expect("event");
        if matches!(event.kind, EventKind::Raised { .. }) {
            *raised.entry(key.id).or_insert(0usize) += 1;
        }
    }
    assert_eq!(raised.len(), PAGES * PER_PAGE);
    for page in 1..=PAGES {
        for i in 0..PER_PAGE {
            let id = format!("K{page:02}-{i:02}");
            assert_eq!(raised.get(&id), Some(&1), "{id} raised exactly once");
        }
    }
    assert_eq!(store.feed_state().expect("state").cursor.as_deref(), Some(&*format!("p{PAGES}")));
}
