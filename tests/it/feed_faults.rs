//! One test per row of the protocol's table of answers (`shared/feed-protocol.md`), against wiremock or a
//! raw TCP server on loopback. The poller's schedule is read from the health it reports (`next_attempt`),
//! and its retry `Notify` wakes it, so no test waits for a backoff to run out.

use crate::feed_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use feed_support::*;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use vigil::feed::client::{FeedClient, FeedError, Fetched, MAX_BACKOFF, NOT_FOUND_RETRY, NextStep};
use vigil::feed::protocol::PageError;
use vigil::intake::{PollerEvent, SyncError, sync_once};
use wiremock::matchers::{header, header_exists, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn ok(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/json")
}

fn feed_error(e: SyncError) -> FeedError {
    match e {
        SyncError::Feed(f) => f,
        other => panic!("expected a feed error, got {other}"),
    }
}

/// 200: `more` pages are fetched at once with the cursor each page gave; the cursor is stored with its page.
#[tokio::test]
async fn ok_pages_follow_more_and_the_cursor_is_stored_with_each_page() {
    let server = MockServer::start().await;
    let p1 = page(&[alert("A1", json!({})), alert("A2", json!({}))], Some("c1"), true);
    let p2 = page(&[alert("A3", json!({}))], Some("c2"), true);
    let p3 = page(&[alert("A4", json!({}))], Some("c3"), false);
    Mock::given(method("GET"))
        .and(path("/v1/alerts"))
        .and(query_param_is_missing("since"))
        .respond_with(ok(p1))
        .mount(&server)
        .await;
    Mock::given(query_param("since", "c1")).respond_with(ok(p2)).mount(&server).await;
    Mock::given(query_param("since", "c2")).respond_with(ok(p3)).mount(&server).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let service = service(dir.path());
    let report = sync_once(&client(&server.uri()), &service).await.expect("sync");
    assert_eq!(report.new, 4);
    assert_eq!(service.store().alert_count(), 4);
    assert_eq!(service.store().feed_state().expect("state").cursor.as_deref(), Some("c3"));

    let requests = server.received_requests().await.expect("recording");
    let sinces: Vec<Option<String>> =
        requests.iter().map(|r| r.url.query_pairs().find(|(k, _)| k == "since").map(|(_, v)| v.into_owned())).collect();
    assert_eq!(sinces, [None, Some("c1".into()), Some("c2".into())]);
    for r in &requests {
        assert_eq!(
            r.headers.get("authorization").expect("token sent").to_str().ok(),
            Some(&*format!("Bearer {TOKEN}"))
        );
        assert_eq!(r.headers.get("accept").and_then(|v| v.to_str().ok()), Some("application/json"));
    }
}

/// The cursor moves only once its page is stored: a failure on page 2 keeps page 1 and cursor c1, and the
/// next sync asks again from c1.
#[tokio::test]
async fn a_failed_page_keeps_the_cursor_of_the_last_stored_page() {
    let server = MockServer::start().await;
    let p1 = page(&[alert("A1", json!({}))], Some("c1"), true);
    Mock::given(query_param_is_missing("since")).respond_with(ok(p1)).mount(&server).await;
    Mock::given(query_param("since", "c1"))
        .respond_with(ok("{\"feed\":\"vigil.alert-feed/1\",\"alerts\":[{".into()))
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().expect("tempdir");
    let service = service(dir.path());
    let client = client(&server.uri());
    let err = feed_error(sync_once(&client, &service).await.expect_err("page 2 is broken"));
    assert!(matches!(err, FeedError::Page(PageError::InvalidJson(_))), "{err}");
    assert_eq!(service.store().alert_count(), 1);
    assert_eq!(service.store().feed_state().expect("state").cursor.as_deref(), Some("c1"));

    let _ = sync_once(&client, &service).await;
    let last = server.received_requests().await.expect("recording").pop().expect("a request");
    assert_eq!(last.url.query_pairs().find(|(k, _)| k == "since").map(|(_, v)| v.into_owned()).as_deref(), Some("c1"));
}

/// 304: `If-None-Match` goes out only when the stored ETag answered the same `since`; 304 keeps the cursor.
#[tokio::test]
async fn etag_is_sent_only_for_the_same_since_and_304_keeps_the_cursor() {
    let server = MockServer::start().await;
    Mock::given(header("if-none-match", "\"e1\""))
        .and(query_param("since", "c1"))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(query_param_is_missing("since"))
        .respond_with(ok(page(&[alert("A1", json!({}))], Some("c1"), false)).insert_header("etag", "\"e0\""))
        .mount(&server)
        .await;
    Mock::given(query_param("since", "c1"))
        .respond_with(ok(page(&[], Some("c1"), false)).insert_header("etag", "\"e1\""))
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().expect("tempdir");
    let service = service(dir.path());
    let client = client(&server.uri());
    for _ in 0..3 {
        sync_once(&client, &service).await.expect("sync");
    }
    let requests = server.received_requests().await.expect("recording");
    let inm: Vec<Option<&str>> =
        requests.iter().map(|r| r.headers.get("if-none-match").and_then(|v| v.to_str().ok())).collect();
    // 1: no since, no ETag yet. 2: since=c1, but "e0" answered since=none: not sent. 3: "e1" answered c1.
    assert_eq!(inm, [None, None, Some("\"e1\"")]);
    let state = service.store().feed_state().expect("state");
    assert_eq!(state.cursor.as_deref(), Some("c1"));
    assert_eq!(state.etag, Some((Some("c1".into()), "\"e1\"".into())));
    assert!(matches!(client.fetch(Some("c1"), Some("\"e1\"")).await.expect("304"), Fetched::NotModified));
    assert_eq!(service.store().alert_count(), 1);
}

/// 401 and 403: a plain message, polling stops (no next attempt) until the user retries.
#[tokio::test]
async fn unauthorized_stops_the_poller_until_the_user_retries() {
    for status in [401u16, 403] {
        let server = MockServer::start().await;
        Mock::given(path("/v1/alerts")).respond_with(ResponseTemplate::new(status)).mount(&server).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut poller = PollerHarness::start(client(&server.uri()), service(dir.path()), Duration::from_secs(1));

        let h = poller.settled().await;
        assert!(h.stopped, "{h:?}");
        assert_eq!(h.next_attempt, None);
        let message = &h.last_error.as_ref().expect("error shown").1;
        assert!(message.contains("credentials") && message.contains(&status.to_string()), "{message}");
        assert!(!message.contains(TOKEN));
        // Stopped: no timer is armed, so nothing more reaches the server until the retry key.
        assert_eq!(server.received_requests().await.expect("recording").len(), 1);
        poller.retry_now();
        let h = poller.settled().await;
        assert!(h.stopped);
        assert_eq!(server.received_requests().await.expect("recording").len(), 2, "one request per retry");
    }
}

/// 404: the base URL looks wrong; keep retrying, slowly.
#[tokio::test]
async fn not_found_says_the_base_url_looks_wrong_and_retries_slowly() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let base = format!("{}/feeds/college", server.uri());
    let mut poller = PollerHarness::start(client(&base), service(dir.path()), Duration::from_secs(1));
    let h = poller.settled().await;
    assert!(!h.stopped);
    assert!(h.last_error.as_ref().expect("error").1.contains("base URL looks wrong"), "{h:?}");
    assert_eq!(reported_wait(&h), NOT_FOUND_RETRY);
    let requests = server.received_requests().await.expect("recording");
    assert_eq!(requests[0].url.path(), "/feeds/college/v1/alerts", "the base's path is kept");
}

/// 429 and 503 with Retry-After, in seconds and as an HTTP date: the next attempt is exactly that far off.
#[tokio::test]
async fn retry_after_in_seconds_and_as_a_date_sets_the_next_attempt() {
    for status in [429u16, 503] {
        let server = MockServer::start().await;
        Mock::given(path("/v1/alerts"))
            .respond_with(ResponseTemplate::new(status).insert_header("retry-after", "37"))
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut poller = PollerHarness::start(client(&server.uri()), service(dir.path()), Duration::from_secs(1));
        let h = poller.settled().await;
        assert_eq!(reported_wait(&h), Duration::from_secs(37), "{status}: {h:?}");
        assert!(!h.stopped);

        let server = MockServer::start().await;
        let when = Utc::now() + chrono::Duration::seconds(120);
        let date = when.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        Mock::given(path("/v1/alerts"))
            .respond_with(ResponseTemplate::new(status).insert_header("retry-after", date.as_str()))
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut poller = PollerHarness::start(client(&server.uri()), service(dir.path()), Duration::from_secs(1));
        let h = poller.settled().await;
        let next = h.next_attempt.expect("scheduled");
        let date_second = when.timestamp();
        assert!((next.timestamp() - date_second).abs() <= 1, "{status}: next {next} vs Retry-After {date}");
    }
}

/// 429/503 without a usable Retry-After fall back to backoff.
#[tokio::test]
async fn busy_without_retry_after_backs_off() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/alerts"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "soon"))
        .mount(&server)
        .await;
    let err = client(&server.uri()).fetch(None, None).await.expect_err("503");
    assert_eq!(err, FeedError::Server(503));
    assert_eq!(err.next_step(), NextStep::Backoff);
}

/// Serves 500 for the first `fail_first` requests, then a page, then 502 forever.
struct Flaky {
    count: AtomicUsize,
    fail_first: usize,
}

impl Respond for Flaky {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.count.fetch_add(1, Ordering::SeqCst);
        if n < self.fail_first {
            ResponseTemplate::new(500)
        } else if n == self.fail_first {
            ok(page(&[alert("A1", json!({}))], Some("c1"), false))
        } else {
            ResponseTemplate::new(502)
        }
    }
}

/// Other 5xx: exponential backoff with jitter, growing, capped at 5 minutes, reset by a success.
#[tokio::test]
async fn server_errors_back_off_growing_capped_and_reset_after_success() {
    let server = MockServer::start().await;
    let fail_first = 12;
    Mock::given(path("/v1/alerts")).respond_with(Flaky { count: AtomicUsize::new(0), fail_first }).mount(&server).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let interval = Duration::from_secs(3600);
    let mut poller = PollerHarness::start(client(&server.uri()), service(dir.path()), interval);

    let mut waits = Vec::new();
    for _ in 0..fail_first {
        let h = poller.settled().await;
        assert!(h.last_error.as_ref().expect("error").1.contains("HTTP 500"), "{h:?}");
        waits.push(reported_wait(&h));
        poller.retry_now();
    }
    assert!(waits[0] >= Duration::from_secs(2) && waits[0] < Duration::from_secs(4), "{waits:?}");
    assert!(waits.windows(2).all(|w| w[0] <= w[1]), "backoff grows: {waits:?}");
    assert!(waits.iter().all(|w| *w <= MAX_BACKOFF), "capped: {waits:?}");
    assert_eq!(*waits.last().expect("some"), MAX_BACKOFF, "reaches the cap: {waits:?}");

    let h = poller.settled().await;
    assert_eq!(h.last_error, None, "the page was read");
    assert_eq!(reported_wait(&h), interval);
    poller.retry_now();
    let h = poller.settled().await;
    assert!(h.last_error.as_ref().expect("error").1.contains("HTTP 502"));
    let w = reported_wait(&h);
    assert!(w >= Duration::from_secs(2) && w < Duration::from_secs(4), "reset after success: {w:?}");
}

/// Connection refused: a plain network error, and backoff.
#[tokio::test]
async fn connection_refused_backs_off() {
    let base = format!("http://{}", refused_addr());
    let err = client(&base).fetch(None, None).await.expect_err("refused");
    assert!(matches!(err, FeedError::Network(_)), "{err}");
    assert_eq!(err.next_step(), NextStep::Backoff);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut poller = PollerHarness::start(client(&base), service(dir.path()), Duration::from_secs(60));
    let h = poller.settled().await;
    assert!(h.last_error.as_ref().expect("error").1.starts_with("cannot reach the feed"), "{h:?}");
    let w = reported_wait(&h);
    assert!(w >= Duration::from_secs(2) && w < Duration::from_secs(4), "{w:?}");
}

/// Connection reset mid-answer: a network error too, never a panic, nothing stored.
#[tokio::test]
async fn connection_reset_backs_off() {
    let base = raw_server(|sock| async move {
        // Close with unread data (the request) and linger 0: the client sees a reset.
        let _ = sock.set_zero_linger();
        drop(sock);
    })
    .await;
    let err = client(&base).fetch(None, None).await.expect_err("reset");
    assert!(matches!(err, FeedError::Network(_) | FeedError::Truncated(_)), "{err}");
    assert_eq!(err.next_step(), NextStep::Backoff);
}

fn assert_nothing_stored(service: &crate::common::Svc, cursor: &str) {
    assert_eq!(service.store().alert_count(), 0, "nothing from that body is stored");
    assert_eq!(service.store().quarantine_count(), 0);
    assert_eq!(service.store().feed_state().expect("state").cursor.as_deref(), Some(cursor), "cursor unchanged");
}

/// A body over 32 MiB is refused: when its length is declared, before it is read; when it is streamed
/// (chunked, no length), as soon as it passes the cap. Nothing is stored and the cursor stays.
#[tokio::test]
async fn bodies_over_32_mib_are_refused_declared_or_streamed() {
    let body = Arc::new(big_page(33 * 1024 * 1024, "c-big"));
    assert!(body.len() > 33 * 1024 * 1024);

    let server = MockServer::start().await;
    Mock::given(path("/v1/alerts")).respond_with(ok(body.to_string())).mount(&server).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service(dir.path());
    seed_cursor(&service, "c0");
    let err = feed_error(sync_once(&client(&server.uri()), &service).await.expect_err("too large"));
    assert_eq!(err, FeedError::TooLarge);
    assert_eq!(err.next_step(), NextStep::Backoff);
    assert_nothing_stored(&service, "c0");

    let streamed = body.clone();
    let base = raw_server(move |sock| {
        let body = streamed.clone();
        async move { write_chunked(sock, body.as_bytes()).await }
    })
    .await;
    let err = feed_error(sync_once(&client(&base), &service).await.expect_err("too large"));
    assert_eq!(err, FeedError::TooLarge);
    assert_nothing_stored(&service, "c0");
}

/// A truncated body (Content-Length larger than what arrives before the server closes) stores nothing.
#[tokio::test]
async fn a_truncated_body_stores_nothing_and_keeps_the_cursor() {
    let full = page(&[alert("T1", json!({})), alert("T2", json!({}))], Some("c-next"), false);
    let base = raw_server(move |mut sock| {
        let full = full.clone();
        async move {
            let head =
                format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", full.len());
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&full.as_bytes()[..full.len() / 2]).await;
            let _ = sock.shutdown().await;
        }
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service(dir.path());
    seed_cursor(&service, "c0");
    let err = feed_error(sync_once(&client(&base), &service).await.expect_err("truncated"));
    assert!(matches!(err, FeedError::Truncated(_)), "{err}");
    assert!(err.to_string().contains("nothing from it was stored"), "{err}");
    assert_eq!(err.next_step(), NextStep::Backoff);
    assert_nothing_stored(&service, "c0");
}

/// Invalid JSON: the error is shown, nothing is stored, the cursor stays, and the poller backs off.
#[tokio::test]
async fn invalid_json_stores_nothing_and_backs_off() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/alerts"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>maintenance</html>", "text/html"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service(dir.path());
    seed_cursor(&service, "c0");
    let err = feed_error(sync_once(&client(&server.uri()), &service).await.expect_err("invalid"));
    assert!(matches!(err, FeedError::Page(PageError::InvalidJson(_))), "{err}");
    assert_nothing_stored(&service, "c0");

    let mut poller = PollerHarness::start(client(&server.uri()), service.clone(), Duration::from_secs(60));
    let h = poller.settled().await;
    assert!(h.last_error.as_ref().expect("shown").1.contains("invalid JSON"), "{h:?}");
    let w = reported_wait(&h);
    assert!(w >= Duration::from_secs(2) && w < Duration::from_secs(4), "{w:?}");
    drop(poller);
}

/// Another major version of the protocol stops polling with a message naming both versions.
#[tokio::test]
async fn another_major_version_stops_the_poller() {
    let server = MockServer::start().await;
    let body = json!({"feed": "vigil.alert-feed/2", "alerts": [alert("V2", json!({}))], "cursor": "x", "more": false});
    Mock::given(path("/v1/alerts")).respond_with(ok(body.to_string())).mount(&server).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service(dir.path());
    let mut poller = PollerHarness::start(client(&server.uri()), service.clone(), Duration::from_secs(1));
    let h = poller.settled().await;
    assert!(h.stopped, "{h:?}");
    let message = &h.last_error.as_ref().expect("shown").1;
    assert!(message.contains("vigil.alert-feed/2") && message.contains("vigil.alert-feed/1"), "{message}");
    assert_eq!(service.store().alert_count(), 0);
    assert_eq!(service.store().feed_state().expect("state").cursor, None);
}

/// A redirect to another host (another address, or another port) is not followed: the token never goes
/// there. A redirect on the feed's own origin is followed, with the token.
#[tokio::test]
async fn a_redirect_to_another_host_never_carries_the_token() {
    let other_address = MockServer::builder()
        .listener(std::net::TcpListener::bind("127.0.0.2:0").expect("127.0.0.2 is loopback"))
        .start()
        .await;
    let other_port = MockServer::start().await;
    for other in [&other_address, &other_port] {
        Mock::given(path("/v1/alerts")).respond_with(ok(page(&[], Some("evil"), false))).mount(other).await;
        let server = MockServer::start().await;
        Mock::given(path("/v1/alerts"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", format!("{}/v1/alerts", other.uri())))
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().expect("tempdir");
        let service = service(dir.path());
        let err = feed_error(sync_once(&client(&server.uri()), &service).await.expect_err("not followed"));
        assert!(matches!(err, FeedError::Redirect(_)), "{err}");
        assert!(!err.to_string().contains(TOKEN));
        let seen = other.received_requests().await.expect("recording");
        assert!(seen.iter().all(|r| !r.headers.contains_key("authorization")), "the token reached {}", other.uri());
        assert_eq!(service.store().feed_state().expect("state").cursor, None);
    }

    let server = MockServer::start().await;
    Mock::given(path("/old/v1/alerts"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", format!("{}/new/v1/alerts", server.uri())))
        .mount(&server)
        .await;
    Mock::given(path("/new/v1/alerts"))
        .and(header_exists("authorization"))
        .respond_with(ok(page(&[alert("R1", json!({}))], Some("c1"), false)))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service(dir.path());
    sync_once(&client(&format!("{}/old", server.uri())), &service).await.expect("same-origin redirect followed");
    assert_eq!(service.store().alert_count(), 1);
}

/// A server that trickles its body a byte at a time, forever, cannot hang vigil: the whole-request
/// timeout ends it with a timeout error, nothing stored.
#[tokio::test]
async fn a_slow_trickle_body_ends_in_a_timeout() {
    let base = raw_server(|mut sock| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n";
        if sock.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        // Bounded so the server task ends by itself even if nobody hangs up.
        for _ in 0..600 {
            tick.tick().await;
            if sock.write_all(b" ").await.is_err() {
                return;
            }
        }
    })
    .await;
    let client = FeedClient::new(&base, Some(TOKEN.into()), None, timeouts(1)).expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service(dir.path());
    seed_cursor(&service, "c0");
    let started = Instant::now();
    let err = feed_error(sync_once(&client, &service).await.expect_err("times out"));
    assert!(matches!(err, FeedError::Timeout(_)), "{err}");
    assert_eq!(err.next_step(), NextStep::Backoff);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_nothing_stored(&service, "c0");
}

/// A server that accepts and never answers: the read timeout ends it.
#[tokio::test]
async fn a_silent_server_ends_in_a_timeout() {
    let base = raw_server(|sock| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(sock);
    })
    .await;
    let client = FeedClient::new(&base, None, None, timeouts(1)).expect("client");
    let started = Instant::now();
    let err = client.fetch(None, None).await.expect_err("times out");
    assert!(matches!(err, FeedError::Timeout(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A status protocol v1 does not use is an error shown to the user, retried with backoff.
#[tokio::test]
async fn an_unexpected_status_backs_off() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/alerts")).respond_with(ResponseTemplate::new(418)).mount(&server).await;
    let err = client(&server.uri()).fetch(None, None).await.expect_err("418");
    assert_eq!(err, FeedError::Unexpected(418));
    assert_eq!(err.next_step(), NextStep::Backoff);
}

/// A sync that fails after storing pages still tells the app what it stored (a new High rings the bell):
/// the cursor has moved past those pages, so the next sync will not report them again.
#[tokio::test]
async fn pages_stored_before_a_failure_are_announced() {
    let server = MockServer::start().await;
    let first = page(&[alert("H1", json!({"risk": 5})), alert("L1", json!({"risk": 1}))], Some("c1"), true);
    Mock::given(path("/v1/alerts"))
        .and(query_param("since", "c1"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    Mock::given(path("/v1/alerts")).and(query_param_is_missing("since")).respond_with(ok(first)).mount(&server).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut poller = PollerHarness::start(client(&server.uri()), service(dir.path()), Duration::from_secs(60));
    let wait = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match poller.events.recv().await {
                Some(PollerEvent::Health(h)) if !h.syncing => return h,
                Some(_) => {}
                None => panic!("the poller ended"),
            }
        }
    });
    let health = wait.await.expect("the poller reported within 30 s");
    let events = poller.changes.read(chrono::Utc::now()).expect("the service's events");
    let stored = events.iter().find_map(|e| match e.kind {
        vigil::service::api::EventKind::Arrived { new, high_new } => Some((new, high_new)),
        _ => None,
    });
    assert!(health.last_error.is_some(), "the second page failed: {health:?}");
    assert_eq!(stored, Some((2, 1)), "the first page's two alerts, one of them High, were announced");
}
