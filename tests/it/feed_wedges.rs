//! Feed answers that once wedged vigil or made it hammer the server (issue 13, items 4-11), each pinned by a
//! test against wiremock or a raw TCP server on loopback; where time matters, on tokio's paused clock, with
//! the server in the same runtime so that virtual time passes only while vigil waits.

use crate::access_support;
use crate::feed_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use access_support::{Env, stderr, stdout};
use chrono::Utc;
use feed_support::*;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;
use vigil::config::Config;
use vigil::feed::client::{FeedClient, FeedError, MIN_RETRY_AFTER, NextStep, SyncBounds};
use vigil::feed::protocol::{CursorRefused, MAX_CURSOR_BYTES, parse_page};
use vigil::identity::{Role, Viewer};
use vigil::intake::{Finished, SyncError, sync_once, sync_once_finished};
use vigil::store::{Store, StoreKey};
use wiremock::matchers::{path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ok(body: impl Into<Vec<u8>>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into(), "application/json")
}

fn feed_error(e: SyncError) -> FeedError {
    match e {
        SyncError::Feed(f) => f,
        other => panic!("expected a feed error, got {other}"),
    }
}

/// A client whose timeouts never fire on the paused clock before the server's own timers do.
fn patient_client(base: &str) -> FeedClient {
    FeedClient::new(base, Some(TOKEN.into()), None, timeouts(3_000)).expect("client")
}

/// Writes one whole HTTP response and closes the connection.
async fn respond(mut sock: tokio::net::TcpStream, status: &str, headers: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n",
        body.len()
    );
    let _ = sock.write_all(&[head.as_bytes(), body].concat()).await;
    let _ = sock.shutdown().await;
}

// 4. Retry-After: 0, or a date in the past, is floored: no tight loop.

#[tokio::test(start_paused = true)]
async fn retry_after_zero_or_in_the_past_waits_the_floor_instead_of_looping() {
    for value in ["0", "Wed, 21 Oct 2015 07:28:00 GMT"] {
        let served = Arc::new(AtomicUsize::new(0));
        let flooded = Arc::new(Notify::new());
        let (count, flood) = (served.clone(), flooded.clone());
        let base = raw_server(move |sock| {
            let (count, flood) = (count.clone(), flood.clone());
            async move {
                if count.fetch_add(1, Ordering::SeqCst) + 1 >= 100 {
                    flood.notify_one();
                }
                respond(sock, "429 Too Many Requests", &format!("retry-after: {value}\r\n"), b"").await;
            }
        })
        .await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut poller = PollerHarness::start(patient_client(&base), service(dir.path()), Duration::from_secs(3600));
        let h = poller.settled().await;
        assert_eq!(reported_wait(&h), MIN_RETRY_AFTER, "{value}: the wait reported is the wait kept: {h:?}");
        assert!(h.last_error.as_ref().expect("error").1.contains("HTTP 429"), "{h:?}");
        // Thirty seconds of (virtual) time: one request per floor, not thousands.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = flooded.notified() => panic!("{value}: 100 requests inside 30 s: a tight loop"),
        }
        let n = served.load(Ordering::SeqCst);
        let most = (30 / MIN_RETRY_AFTER.as_secs() + 1) as usize;
        assert!((2..=most).contains(&n), "{value}: {n} requests in 30 s (at most {most})");
    }
}

// 5. One alert with bytes that are not UTF-8, or a key the envelope repeats, does not sink the page.

/// A page body with `alerts` written raw, so an alert can hold any bytes.
fn raw_page(alerts: &[Vec<u8>], tail: &str) -> Vec<u8> {
    let mut body = br#"{"feed":"vigil.alert-feed/1","alerts":["#.to_vec();
    body.extend(alerts.join(&b","[..]));
    body.extend_from_slice(format!(r#"],"cursor":"c1","more":false{tail}}}"#).as_bytes());
    body
}

fn good(id: &str) -> Vec<u8> {
    alert(id, json!({})).to_string().into_bytes()
}

#[tokio::test]
async fn an_alert_with_bytes_that_are_not_utf8_is_quarantined_and_the_rest_stored() {
    let mut bad = alert("BAD-UTF8", json!({"summary": "MARKER"})).to_string().into_bytes();
    let at = bad.windows(6).position(|w| w == b"MARKER").expect("marker");
    bad.splice(at..at + 6, [0xFF, 0xFE, b'x', 0x1B, 0xC3]);
    // The envelope says `feed` and `more` twice (the same), and sends a second `alerts` array.
    let body = raw_page(
        &[good("G1"), bad, good("G2")],
        r#","feed":"vigil.alert-feed/1","more":false,"alerts":[{"id":"G3","source":"smoothwall-monitor","raised_at":"2026-11-10T10:00:00+00:00","risk":2,"category":"bullying","subject":{"kind":"student","id":"S3"},"summary":"s"}]"#,
    );
    assert!(std::str::from_utf8(&body).is_err(), "the body is not UTF-8 as a whole");
    let server = MockServer::start().await;
    Mock::given(path("/v1/alerts")).respond_with(ok(body)).mount(&server).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service(dir.path());
    let report = sync_once(&client(&server.uri()), &service).await.expect("the page is read");
    assert_eq!((report.new, report.quarantined), (3, 1), "{report:?}");
    assert_eq!(service.store().feed_state().expect("state").cursor.as_deref(), Some("c1"));
    let q = service.store().quarantined().expect("quarantine");
    let raw = &q[0].rejected.raw;
    assert!(raw.contains(r"\xFF\xFEx") && raw.contains(r"\xC3"), "the bytes are kept, written \\xNN: {raw}");
    assert!(vigil::domain::inert::is_inert(&vigil::domain::inert::line(raw)));
    assert!(q[0].rejected.reason.contains("not UTF-8"), "{}", q[0].rejected.reason);
}

#[test]
fn two_different_cursors_in_one_page_are_refused_and_its_alerts_kept() {
    let body = raw_page(&[good("G1")], r#","cursor":"c2""#);
    let page = parse_page(&body).expect("the page is read");
    assert_eq!(page.alerts.len(), 1);
    assert_eq!(page.cursor, None);
    assert_eq!(page.cursor_refused, Some(CursorRefused::Conflicting));
}

/// A body that cannot be split into alerts: `{` never closed, though the envelope's cursor came first.
const UNREADABLE: &str = r#"{"feed":"vigil.alert-feed/1","cursor":"c9","more":false,"alerts":[{"id":"X","#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_sent_again_and_again_that_cannot_be_read_is_named_and_the_dsl_can_skip_it() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/alerts")).and(query_param("since", "c0")).respond_with(ok(UNREADABLE)).mount(&server).await;
    Mock::given(path("/v1/alerts"))
        .and(query_param("since", "c9"))
        .respond_with(ok(page(&[alert("AFTER", json!({}))], Some("c10"), false)))
        .mount(&server)
        .await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let env = Env::new(tmp.path(), "dsl = [\"{user}\"]");
    let url = server.uri();
    env.ok(&["feed", "status"]);
    env.store().update_feed_state(|s| s.cursor = Some("c0".into())).expect("seed the cursor");
    let sync = |n: usize| {
        let out = env.run(&["--feed-url", &url, "sync", "--once"]);
        assert_eq!(out.status.code(), Some(1), "sync {n}: {}", stdout(&out));
        assert!(stderr(&out).contains("invalid JSON"), "{}", stderr(&out));
    };
    let unreadable_kept = || env.store().blob(vigil::service::feed::UNREADABLE_BLOB).expect("read").is_some();
    sync(1);
    assert!(!unreadable_kept(), "once is not kept: a feed varying its broken page must not fill the disk");
    sync(2);
    assert!(unreadable_kept(), "the second coming is");
    let status = stdout(&env.ok(&["feed", "status"]));
    assert!(!status.contains("keeps sending"), "not yet: twice is under the alarm of 3: {status}");
    sync(3);
    let status = stdout(&env.ok(&["feed", "status"]));
    assert!(status.contains("the feed keeps sending a page vigil cannot read since"), "{status}");
    assert!(status.contains("vigil feed skip-page"), "{status}");

    // Only the DSL may skip it (the same store and key, the config giving the user another role).
    let ddsl = Env::new(tmp.path(), "ddsl = [\"{user}\"]");
    let out = ddsl.run(&["feed", "skip-page"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let env = Env::new(tmp.path(), "dsl = [\"{user}\"]");

    let out = env.ok(&["feed", "skip-page"]);
    assert!(stdout(&out).contains("skipped"), "{}", stdout(&out));
    let store = env.store();
    let state = store.feed_state().expect("state");
    assert_eq!(state.cursor.as_deref(), Some("c9"), "the page's own cursor, read before the part that failed");
    assert_eq!(state.unreadable, None);
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(UNREADABLE.as_bytes()));
    let kept = store.blob(&vigil::service::feed::skipped_blob(&sha)).expect("read").expect("the raw page is kept");
    assert_eq!(kept, UNREADABLE.as_bytes());
    let audit: Vec<String> = store.audit_records().expect("audit").into_iter().map(|r| r.what).collect();
    assert!(audit.iter().any(|w| w.contains("skipped a page") && w.contains(&sha)), "{audit:?}");
    drop(store);

    let out = env.ok(&["--feed-url", &url, "sync", "--once"]);
    assert!(stdout(&out).contains("1 new"), "the feed moves on: {}", stdout(&out));
}

#[tokio::test]
async fn the_poller_names_a_feed_stuck_on_one_unreadable_page() {
    let server = serve(UNREADABLE.to_string()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let bounds = SyncBounds { unreadable_alarm: 2, ..SyncBounds::default() };
    let mut poller =
        PollerHarness::start(client(&server.uri()).with_bounds(bounds), service(dir.path()), Duration::from_secs(3600));
    let h = poller.settled().await;
    assert_eq!(h.stuck_since, None, "once is not yet stuck");
    poller.retry_now();
    let h = poller.settled().await;
    let since = h.stuck_since.expect("stuck after two identical pages");
    let first = h.last_error.as_ref().expect("an error").0;
    assert!(since <= first, "since the first of them: {since} vs {first}");
}

// 6. A cursor over the limit is refused when it arrives; a stored one can be reset by the DSL.

#[tokio::test]
async fn a_cursor_over_the_limit_is_refused_on_arrival_and_its_page_stored() {
    let huge = "c".repeat(70_000);
    let server = MockServer::start().await;
    Mock::given(query_param("since", "c0"))
        .respond_with(ok(page(&[alert("BIG-CURSOR", json!({}))], Some(&huge), true)))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service(dir.path());
    seed_cursor(&service, "c0");
    let client = client(&server.uri());
    for round in 0..2 {
        let err = feed_error(sync_once(&client, &service).await.expect_err("the cursor is refused"));
        assert_eq!(err, FeedError::CursorRefused(CursorRefused::TooLong(70_000)), "round {round}");
        assert!(err.to_string().contains(&format!("limit of {MAX_CURSOR_BYTES}")), "{err}");
        assert_eq!(err.next_step(), NextStep::Backoff);
        assert_eq!(service.store().alert_count(), 1, "the page's alert is stored, once");
        assert_eq!(service.store().feed_state().expect("state").cursor.as_deref(), Some("c0"), "cursor unchanged");
    }
    let requests = server.received_requests().await.expect("recording");
    assert_eq!(requests.len(), 2, "each sync asked once, from the cursor before: no builder error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_cursor_over_the_limit_stops_polling_until_the_dsl_resets_it() {
    let server = MockServer::start().await;
    Mock::given(query_param_is_missing("since"))
        .respond_with(ok(page(&[alert("FROM-START", json!({}))], Some("c1"), false)))
        .mount(&server)
        .await;
    Mock::given(query_param("since", "c5")).respond_with(ok(page(&[], Some("c6"), false))).mount(&server).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let env = Env::new(tmp.path(), "dsl = [\"{user}\"]");
    let url = server.uri();
    env.ok(&["feed", "status"]);
    env.store().update_feed_state(|s| s.cursor = Some("c".repeat(70_000))).expect("a cursor from before the limit");
    let out = env.run(&["--feed-url", &url, "sync", "--once"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("vigil feed reset-cursor"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("builder error"), "{}", stderr(&out));
    assert!(server.received_requests().await.expect("recording").is_empty(), "nothing sent");

    let ddsl = Env::new(tmp.path(), "ddsl = [\"{user}\"]");
    assert_eq!(ddsl.run(&["feed", "reset-cursor"]).status.code(), Some(3), "the DSL's alone");
    let env = Env::new(tmp.path(), "dsl = [\"{user}\"]");
    let long = "c".repeat(MAX_CURSOR_BYTES + 1);
    assert_eq!(env.run(&["feed", "reset-cursor", "--to", &long]).status.code(), Some(2));

    env.ok(&["feed", "reset-cursor"]);
    assert!(stdout(&env.ok(&["--feed-url", &url, "sync", "--once"])).contains("1 new"));
    env.ok(&["feed", "reset-cursor", "--to", "c5"]);
    env.ok(&["--feed-url", &url, "sync", "--once"]);
    let store = env.store();
    assert_eq!(store.feed_state().expect("state").cursor.as_deref(), Some("c6"));
    let audit: Vec<String> = store.audit_records().expect("audit").into_iter().map(|r| r.what).collect();
    assert!(audit.iter().any(|w| w == "reset the feed cursor to the feed's start"), "{audit:?}");
    assert!(audit.iter().any(|w| w.starts_with("reset the feed cursor to one the DSL gave")), "{audit:?}");
}

/// A feed state that cannot be read (a damaged value) is reported, never replaced by a fresh default (which
/// would drop the cursor and read the feed again from its start); the DSL's `reset-cursor` is the way out.
#[test]
fn a_damaged_feed_state_is_reported_and_the_dsls_reset_starts_it_afresh() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let env = Env::new(tmp.path(), "dsl = [\"{user}\"]");
    env.ok(&["feed", "status"]);
    env.store().update_feed_state(|s| s.cursor = Some("c7".into())).expect("a readable state");
    {
        let db = crate::access_support::open_sled(&env.data.join("db"));
        db.open_tree("feed").expect("tree").insert("state", b"{not json".as_slice()).expect("damage it");
        db.flush().expect("flush");
    }
    let out = env.run(&["feed", "status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("feed state is damaged"), "names what is damaged: {}", stderr(&out));
    assert!(stderr(&out).contains("vigil feed reset-cursor"), "and the way out: {}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    // A sync cannot start from it, and its attempt cannot be recorded: both are said, not swallowed.
    let out = env.run(&["--feed-url", "http://127.0.0.1:9", "sync", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("the feed's state could not be recorded"), "{}", stderr(&out));
    env.ok(&["feed", "reset-cursor", "--to", "c5"]);
    let store = env.store();
    assert_eq!(store.feed_state().expect("readable again").cursor.as_deref(), Some("c5"));
    let audit: Vec<String> = store.audit_records().expect("audit").into_iter().map(|r| r.what).collect();
    assert!(audit.iter().any(|w| w.ends_with("could not be read and starts afresh")), "{audit:?}");
}

// 7. A sync is bounded by pages and by time, then rests until the next poll and says so.

/// A feed that always says `more`, with a fresh cursor every time (up to 1,000 pages, so that a sync with
/// no bounds ends, and fails its test, instead of running for ever), each answer `delay` late.
async fn endless_feed(delay: Duration) -> (String, Arc<AtomicUsize>) {
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let base = raw_server(move |sock| {
        let count = count.clone();
        async move {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(delay).await;
            let body = page(&[alert(&format!("E{n}"), json!({}))], Some(&format!("e{n}")), n < 1_000);
            respond(sock, "200 OK", "", body.as_bytes()).await;
        }
    })
    .await;
    (base, served)
}

#[tokio::test(start_paused = true)]
async fn a_sync_stops_after_its_pages_and_the_poller_rests_until_the_next_poll() {
    let (base, served) = endless_feed(Duration::ZERO).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let bounds = SyncBounds { max_pages: 5, ..SyncBounds::default() };
    let interval = Duration::from_secs(600);
    let mut poller = PollerHarness::start(patient_client(&base).with_bounds(bounds), service(dir.path()), interval);
    let h = poller.settled().await;
    assert_eq!(served.load(Ordering::SeqCst), 5, "five pages, then rest");
    assert_eq!(h.last_error, None);
    assert!(h.rested.as_deref().is_some_and(|r| r.contains("rests until the next poll")), "{h:?}");
    assert_eq!(reported_wait(&h), interval, "rests for the poll interval");
    // Nothing more is fetched while it rests.
    tokio::time::sleep(interval - Duration::from_secs(1)).await;
    assert_eq!(served.load(Ordering::SeqCst), 5);
}

#[tokio::test(start_paused = true)]
async fn a_sync_stops_after_its_time() {
    let (base, served) = endless_feed(Duration::from_secs(10)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service(dir.path());
    let bounds = SyncBounds { max_pages: 100_000, max_time: Duration::from_secs(60), ..SyncBounds::default() };
    let (report, finished) =
        sync_once_finished(&patient_client(&base).with_bounds(bounds), &service).await.expect("sync");
    let Finished::Bounded { pages, elapsed } = finished else { panic!("not bounded: {finished:?}") };
    assert_eq!(pages, 6, "a page every 10 s: the sixth reaches 60 s");
    assert!(elapsed >= Duration::from_secs(60) && elapsed < Duration::from_secs(70), "{elapsed:?}");
    assert_eq!(served.load(Ordering::SeqCst), 6);
    assert_eq!(report.new, 6);
    assert_eq!(service.store().feed_state().expect("state").cursor.as_deref(), Some("e6"));
}

// 8. A failed `vigil sync --once` leaves a trace: feed status and the log.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_once_is_recorded_in_feed_status_and_the_log() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/alerts")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let env = Env::new(tmp.path(), "dsl = [\"{user}\"]");
    let out = env.run(&["--feed-url", &server.uri(), "sync", "--once"]);
    assert_eq!(out.status.code(), Some(1));
    let status = stdout(&env.ok(&["feed", "status"]));
    assert!(status.contains("last error: ") && status.contains("HTTP 500"), "{status}");
    assert!(!status.contains("last error: none"), "{status}");
    assert!(status.contains("next attempt: none scheduled"), "{status}");
    let log = env.log();
    assert!(log.contains("feed sync failed") && log.contains("HTTP 500"), "logged: {log}");
}

// 9. Feed text reaches the log inert.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_text_in_an_error_reaches_the_log_inert() {
    let hostile = "vigil.alert-feed/2\u{1b}]52;c;SGVsbG8=\u{7}\nFAKE 2026 INFO all is well";
    let server = serve(json!({"feed": hostile, "alerts": [], "more": false}).to_string()).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let env = Env::new(tmp.path(), "dsl = [\"{user}\"]");
    let url = server.uri();
    for args in [&["--feed-url", &url, "sync", "--once"][..], &["--feed-url", &url, "sync"]] {
        assert_eq!(env.run(args).status.code(), Some(1), "{args:?}");
    }
    let log = env.log();
    assert!(log.contains("feed sync failed") && log.contains("␛]52;c;SGVsbG8=␇"), "the escape is kept, visible: {log}");
    assert!(vigil::domain::inert::is_inert(&log), "nothing in the log acts on a terminal: {log:?}");
    assert!(!log.lines().any(|l| l.starts_with("FAKE")), "no forged record: {log}");
}

// 10. A screenshot's relative path stays under the feed's base path.

#[tokio::test]
async fn a_relative_screenshot_path_cannot_leave_the_base_path() {
    let server = MockServer::start().await;
    let base = format!("{}/feeds/college", server.uri());
    for url in ["../secret.png", "%2e%2e/%2e%2e/admin.png", "shots/../../x.png", "..\\x.png"] {
        let got = vigil::feed::screenshots::download(&client(&base), url, "image/png", None).await;
        assert_eq!(got, Err(vigil::feed::screenshots::ScreenshotError::OutsideBase), "{url}");
    }
    assert!(server.received_requests().await.expect("recording").is_empty(), "no request, so no token, left");
}

// 11. A rejected alert is the DSL's alone unless it is certainly not about staff.

fn role_service(dir: &std::path::Path, role: Role, sees_staff: bool) -> crate::common::Svc {
    let c = Config::default();
    let store = Store::open(dir, &StoreKey::bytes([3; 32])).expect("open");
    crate::common::Svc::new(store, c.calendar(), c.due, c.levels.clone(), Viewer { user: "u".into(), role, sees_staff })
}

#[test]
fn a_rejected_alert_with_a_kind_that_only_looks_like_staff_or_another_word_is_the_dsls_alone() {
    let kinds = ["staff\u{200b}", "staff\u{0}", "ｓｔａｆｆ", "teacher", "Staff ", "student"];
    let alerts: Vec<Value> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            // Risk 9 makes even the `student` one a rejected alert.
            let mut a = alert(&format!("RJ-{i}"), json!({"risk": 9}));
            a["subject"] = json!({"kind": kind, "id": "T1", "name": format!("Mr Named{i}")});
            a
        })
        .collect();
    let page = parse_page(page(&alerts, Some("c1"), false).as_bytes()).expect("page");
    assert_eq!(page.rejected.len(), kinds.len());
    for (role, sees_staff, want) in
        [(Role::Ddsl, false, vec!["RJ-5"]), (Role::Dsl, true, vec!["RJ-0", "RJ-1", "RJ-2", "RJ-3", "RJ-4", "RJ-5"])]
    {
        let tmp = tempfile::tempdir().expect("tmp");
        let svc = role_service(tmp.path(), role, sees_staff);
        svc.ingest(&page, Utc::now()).expect("ingest");
        let mut got: Vec<String> =
            svc.rejected(Utc::now()).expect("rejected").into_iter().filter_map(|q| q.rejected.id).collect();
        got.sort();
        assert_eq!(got, want, "{role:?}");
        let raw: Vec<String> = svc.store().quarantined().expect("q").into_iter().map(|q| q.rejected.raw).collect();
        for i in 0..5 {
            assert_eq!(
                raw.iter().any(|r| r.contains(&format!("Mr Named{i}"))),
                sees_staff,
                "{role:?}: RJ-{i} not even in the store"
            );
        }
    }
}
