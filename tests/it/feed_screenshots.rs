//! Screenshots: fetched with the token only on the feed's origin, capped at 10 MiB (declared or streamed),
//! checked against sha256, decoded under strict limits, cached with a cap, and never fetched for an alert
//! with `suspected_illegal`, by any path: the service's own refusal, the prefetch, or `vigil sync --once`.
//! Every fetch goes the way the TUI's does: the service names it, the feed's client downloads it, and the
//! service checks it again and caches it.

use crate::feed_support;

use std::io::Cursor;
use std::process::{Command, Stdio};
use std::sync::Arc;

use feed_support::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigil::feed::client::FeedClient;
use vigil::feed::screenshots::ScreenshotError;
use vigil::intake::screenshots::{fetch, prefetch_high};
use vigil::service::ServiceError;
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encode png");
    out.into_inner()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn shot(url: &str, sha256: Option<&str>) -> Value {
    let mut s = json!({"url": url, "media_type": "image/png", "caption": "browser"});
    if let Some(h) = sha256 {
        s["sha256"] = json!(h);
    }
    s
}

fn alert_json(id: &str, shots: &[Value], extra: Value) -> Value {
    let captures: Vec<Value> = shots.iter().map(|s| json!({"window_title": "w", "screenshot": s})).collect();
    let mut a = alert(id, json!({"captures": captures}));
    if let (Some(a), Value::Object(extra)) = (a.as_object_mut(), extra) {
        a.extend(extra);
    }
    a
}

fn png_response(bytes: &[u8]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(bytes.to_vec(), "image/png")
}

/// The alerts stored through a DSL's service over a fresh store.
fn stored(alerts: &[Value]) -> (tempfile::TempDir, crate::common::Svc) {
    let dir = tempfile::tempdir().expect("tempdir");
    let svc = service(dir.path());
    let p = vigil::feed::protocol::parse_page(page(alerts, Some("c"), false).as_bytes()).expect("page");
    svc.ingest(&p, chrono::Utc::now()).expect("ingest");
    (dir, svc)
}

/// The screenshot of capture `index` of alert `id`, as the TUI fetches it.
async fn shot_of(
    client: &FeedClient,
    svc: &crate::common::Svc,
    id: &str,
    index: usize,
) -> Result<Vec<u8>, ScreenshotError> {
    let key = svc.find(id).expect("the alert is stored");
    fetch(Some(client), svc, &key, index).await.map_err(|e| match e {
        ServiceError::Screenshot(e) => e,
        other => panic!("expected a screenshot error, got {other}"),
    })
}

#[tokio::test]
async fn a_relative_screenshot_is_fetched_from_the_base_with_the_token_then_cached() {
    let server = MockServer::start().await;
    let bytes = png(32, 24);
    Mock::given(method("GET"))
        .and(path("/feeds/college/screenshots/a.png"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(png_response(&bytes))
        .expect(2) // once keyed by sha256, once keyed by URL; each then served from the cache
        .mount(&server)
        .await;
    let client = client(&format!("{}/feeds/college", server.uri()));
    let with_sha = alert_json("S1", &[shot("screenshots/a.png", Some(&sha(&bytes)))], json!({}));
    let without_sha = alert_json("S2", &[shot("/screenshots/a.png", None)], json!({}));
    let (_dir, svc) = stored(&[with_sha, without_sha]);
    for id in ["S1", "S2"] {
        for _ in 0..3 {
            assert_eq!(shot_of(&client, &svc, id, 0).await.expect("fetched"), bytes);
        }
    }
    assert_eq!(svc.store().cached_blob_bytes().expect("cache"), 2 * bytes.len() as u64);
    assert_eq!(
        shot_of(&client, &svc, "S1", 1).await,
        Err(ScreenshotError::NoScreenshot(1)),
        "index is the capture's position"
    );
}

#[tokio::test]
async fn the_token_never_goes_to_another_origin_for_a_screenshot() {
    let feed = MockServer::start().await;
    let cdn = MockServer::builder()
        .listener(std::net::TcpListener::bind("127.0.0.2:0").expect("127.0.0.2 is loopback"))
        .start()
        .await;
    let bytes = png(8, 8);
    Mock::given(path("/cdn/x.png")).respond_with(png_response(&bytes)).mount(&cdn).await;
    Mock::given(path("/own/x.png")).respond_with(png_response(&bytes)).mount(&feed).await;
    // The feed's own origin redirecting a screenshot elsewhere: not followed with the token.
    Mock::given(path("/moved/x.png"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", format!("{}/cdn/x.png", cdn.uri())))
        .mount(&feed)
        .await;
    let client = client(&feed.uri());
    let (_dir, svc) = stored(&[
        alert_json("C1", &[shot(&format!("{}/cdn/x.png", cdn.uri()), None)], json!({})),
        alert_json("C2", &[shot(&format!("{}/own/x.png", feed.uri()), None)], json!({})),
        alert_json("C3", &[shot("moved/x.png", None)], json!({})),
    ]);
    assert_eq!(shot_of(&client, &svc, "C1", 0).await.expect("cdn"), bytes);
    assert_eq!(shot_of(&client, &svc, "C2", 0).await.expect("own"), bytes);
    let err = shot_of(&client, &svc, "C3", 0).await.expect_err("not followed");
    assert!(matches!(err, ScreenshotError::Feed(vigil::feed::client::FeedError::Redirect(_))), "{err}");

    let cdn_seen = cdn.received_requests().await.expect("recording");
    assert_eq!(cdn_seen.len(), 1);
    assert!(cdn_seen.iter().all(|r| !r.headers.contains_key("authorization")), "the token reached the CDN");
    let own = feed.received_requests().await.expect("recording");
    assert!(own.iter().all(|r| r.headers.get("authorization").is_some()), "the feed's origin gets the token");
}

/// The rule that matters most: no image of a suspected-illegal alert is ever fetched, whatever asks.
#[tokio::test]
async fn a_suspected_illegal_alert_never_has_a_screenshot_fetched() {
    let feed = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(any()).respond_with(png_response(&png(4, 4))).expect(0).mount(&feed).await;
    Mock::given(any()).respond_with(png_response(&png(4, 4))).expect(0).mount(&other).await;
    let bytes = png(4, 4);
    let client = client(&feed.uri());
    let shots = [shot("screenshots/x.png", Some(&sha(&bytes))), shot(&format!("{}/y.png", other.uri()), None)];
    let illegal = alert_json("ILL-1", &shots, json!({"suspected_illegal": true, "risk": 5}));
    let (_dir, service) = stored(&[illegal]);
    // Even with the bytes already in the cache (say, cached before a revision flagged it), nothing comes back.
    service.store().cache_blob(&format!("sha256:{}", sha(&bytes)), &bytes, 1 << 20).expect("cache");
    for i in 0..2 {
        assert_eq!(shot_of(&client, &service, "ILL-1", i).await, Err(ScreenshotError::SuspectedIllegal));
        let key = service.find("ILL-1").expect("stored");
        assert!(
            matches!(service.screenshot(&key, i), Err(ServiceError::Screenshot(ScreenshotError::SuspectedIllegal))),
            "the service refuses before the cache"
        );
    }
    // The prefetch of open High cases skips it (it is High: illegal content always is).
    let report = prefetch_high(&client, &service).await;
    assert_eq!((report.ready, report.failed), (0, 0));
    // wiremock checks `expect(0)` on drop; say it here too.
    assert!(feed.received_requests().await.expect("recording").is_empty());
    assert!(other.received_requests().await.expect("recording").is_empty());
}

#[tokio::test]
async fn screenshots_over_10_mib_are_refused_declared_or_streamed() {
    let big = Arc::new(vec![0u8; 10 * 1024 * 1024 + 1]);
    let feed = MockServer::start().await;
    Mock::given(path("/big.png")).respond_with(png_response(&big)).mount(&feed).await;
    let streamed = big.clone();
    let raw = raw_server(move |sock| {
        let body = streamed.clone();
        async move { write_chunked(sock, &body).await }
    })
    .await;
    let (_dir, svc) = stored(&[
        alert_json("B1", &[shot("big.png", None)], json!({})),
        alert_json("B2", &[shot(&format!("{raw}/big.png"), None)], json!({})),
    ]);
    for id in ["B1", "B2"] {
        let err = shot_of(&client(&feed.uri()), &svc, id, 0).await.expect_err("too large");
        assert_eq!(err, ScreenshotError::TooLarge, "{id}");
    }
    assert_eq!(svc.store().cached_blob_bytes().expect("cache"), 0);
}

#[tokio::test]
async fn a_checksum_mismatch_or_a_non_image_is_refused_and_not_cached() {
    let feed = MockServer::start().await;
    let good = png(16, 16);
    let mut cut = good.clone();
    cut.truncate(good.len() / 2);
    Mock::given(path("/good.png")).respond_with(png_response(&good)).mount(&feed).await;
    Mock::given(path("/html.png")).respond_with(png_response(b"<html>not found</html>")).mount(&feed).await;
    Mock::given(path("/cut.png")).respond_with(png_response(&cut)).mount(&feed).await;
    Mock::given(path("/huge.png")).respond_with(png_response(&png(9000, 1))).mount(&feed).await;
    Mock::given(path("/gone.png")).respond_with(ResponseTemplate::new(404)).mount(&feed).await;
    let client = client(&feed.uri());
    let wrong_sha = "0".repeat(64);
    let mut jpeg = shot("good.png", None);
    jpeg["media_type"] = json!("image/jpeg");
    let bad = [
        (shot("html.png", None), "not an image"),
        (shot("cut.png", None), "truncated"),
        (shot("huge.png", None), "9000 pixels wide"),
        (jpeg, "a PNG declared as JPEG"),
    ];
    let mut alerts = vec![
        alert_json("M1", &[shot("good.png", Some(&wrong_sha))], json!({})),
        alert_json("M3", &[shot("gone.png", None)], json!({})),
    ];
    alerts.push(alert_json("M2", &bad.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>(), json!({})));
    let (_dir, svc) = stored(&alerts);

    assert_eq!(shot_of(&client, &svc, "M1", 0).await, Err(ScreenshotError::ChecksumMismatch));
    for (i, (_, what)) in bad.iter().enumerate() {
        let err = shot_of(&client, &svc, "M2", i).await.expect_err(what);
        assert!(matches!(err, ScreenshotError::NotAnImage { .. }), "{what}: {err}");
    }
    assert_eq!(shot_of(&client, &svc, "M3", 0).await, Err(ScreenshotError::Status(404)));
    assert_eq!(svc.store().cached_blob_bytes().expect("cache"), 0, "nothing refused is cached");
}

/// `vigil sync --once` prefetches the screenshots of open High cases, only those, and only once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_prefetches_screenshots_of_open_high_cases_only() {
    let feed = MockServer::start().await;
    let high = png(10, 10);
    let medium = png(12, 12);
    Mock::given(path("/shots/high.png")).respond_with(png_response(&high)).expect(1).mount(&feed).await;
    Mock::given(path("/shots/medium.png")).respond_with(png_response(&medium)).expect(0).mount(&feed).await;
    Mock::given(path("/shots/illegal.png")).respond_with(png_response(&high)).expect(0).mount(&feed).await;
    let alerts = [
        alert_json("H1", &[shot("shots/high.png", Some(&sha(&high)))], json!({"risk": 5})),
        alert_json("M1", &[shot("shots/medium.png", Some(&sha(&medium)))], json!({"risk": 3})),
        alert_json("I1", &[shot("shots/illegal.png", None)], json!({"risk": 5, "suspected_illegal": true})),
    ];
    Mock::given(path("/v1/alerts"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page(&alerts, Some("c1"), false), "application/json"))
        .mount(&feed)
        .await;

    let dir = tempfile::tempdir().expect("tempdir");
    let config = cli_config(dir.path());
    let data = dir.path().join("data");
    // Twice: the second sync finds the screenshot cached and fetches nothing (`expect(1)` above).
    for _ in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .arg("--data-dir")
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .args(["--feed-url", &feed.uri(), "sync", "--once"])
            .env_remove("VIGIL_CONFIG")
            .env_remove("VIGIL_DATA_DIR")
            .env("VIGIL_FEED_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .output()
            .expect("vigil runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let store = open_cli_store(dir.path(), &data);
    assert_eq!(store.cached_blob(&format!("sha256:{}", sha(&high))).expect("cache"), Some(high));
    assert_eq!(store.cached_blob(&format!("sha256:{}", sha(&medium))).expect("cache"), None);
}
