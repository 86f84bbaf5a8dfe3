//! Shared helpers for the feed tests (`tests/feed_*.rs`): alert and page builders, a store and service in a
//! tempdir, a client with short timeouts, raw TCP servers for faults wiremock cannot produce, and a harness
//! that drives the real poller and reads the schedule it reports.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use vigil::config::Config;
use vigil::feed::client::FeedClient;
use vigil::feed::client::FeedTimeouts;
use vigil::identity::{Role, Viewer};
use vigil::intake::{FeedHealth, Poller, PollerEvent};
use vigil::store::{Store, StoreKey};

pub const TOKEN: &str = "s3cret-feed-token";

/// A valid protocol v1 alert; `extra` fields are merged over it.
pub fn alert(id: &str, extra: Value) -> Value {
    let mut a = json!({
        "id": id,
        "source": "smoothwall-monitor",
        "raised_at": "2026-11-10T10:00:00+00:00",
        "risk": 3,
        "category": "violence",
        "subject": {"kind": "student", "id": "HPC0001", "name": "Test Student"},
        "summary": "searched for something worrying",
    });
    if let (Some(a), Value::Object(extra)) = (a.as_object_mut(), extra) {
        for (k, v) in extra {
            a.insert(k, v);
        }
    }
    a
}

pub fn page(alerts: &[Value], cursor: Option<&str>, more: bool) -> String {
    json!({"feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": cursor, "more": more}).to_string()
}

pub fn dsl() -> Viewer {
    Viewer { user: "dsl-test".into(), role: Role::Dsl, sees_staff: true }
}

/// The key of every store the library-level tests open.
pub fn test_key() -> StoreKey {
    StoreKey::bytes([7; 32])
}

/// A config in `dir` that makes the current OS user the DSL, with the store's key file in `dir` (outside
/// the data dir, which is `dir/data` in these tests).
pub fn cli_config(dir: &std::path::Path) -> std::path::PathBuf {
    let user = vigil::identity::os_user().expect("an OS user");
    let config = dir.join("config.toml");
    let key = dir.join("store.key");
    std::fs::write(&config, format!("[roles]\ndsl = [{user:?}]\n\n[storage]\nkey_file = {key:?}\n"))
        .expect("write config");
    config
}

/// Opens, once the binary has exited, the store it wrote with [`cli_config`]'s key.
pub fn open_cli_store(dir: &std::path::Path, data: &std::path::Path) -> Store {
    Store::open(data, &StoreKey::file(dir.join("store.key"))).expect("open the store vigil wrote")
}

pub fn service(dir: &std::path::Path) -> crate::common::Svc {
    let store = Store::open(dir, &test_key()).expect("open store");
    let config = Config::default();
    crate::common::Svc::new(store, config.calendar(), config.due, config.levels.clone(), dsl())
}

/// [`service`] on a store of `backend` (sled's in `dir`; on PostgreSQL a fresh database).
pub fn service_on(backend: crate::backend_support::Backend, dir: &std::path::Path) -> crate::common::Svc {
    match backend {
        crate::backend_support::Backend::Sled => service(dir),
        _ => crate::common::Svc::on(backend, dir, crate::common::default_policy(), dsl()),
    }
}

pub fn timeouts(secs: u64) -> FeedTimeouts {
    FeedTimeouts {
        connect: Duration::from_secs(secs),
        read: Duration::from_secs(secs),
        request: Duration::from_secs(secs.max(2)),
    }
}

/// A client with the test token and short timeouts (a stuck test fails in seconds).
pub fn client(base: &str) -> FeedClient {
    FeedClient::new(base, Some(TOKEN.into()), None, timeouts(2)).expect("client")
}

/// Seeds the stored cursor, as if a page ending at `cursor` had been stored.
pub fn seed_cursor(service: &crate::common::Svc, cursor: &str) {
    let p = vigil::feed::protocol::parse_page(page(&[], Some(cursor), false).as_bytes()).expect("page");
    service.ingest(&p, Utc::now()).expect("seed");
}

/// A loopback address where nothing listens (connection refused).
pub fn refused_addr() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    addr
}

/// A raw HTTP server for faults a well-behaved server cannot produce. For each connection it reads the
/// request head, then hands the socket to `serve`. Returns the base URL.
pub async fn raw_server<F, Fut>(serve: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let serve = serve.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                serve(sock).await;
            });
        }
    });
    format!("http://{addr}")
}

/// Writes `body` as a chunked response in 64 KiB chunks (no Content-Length), then ends it.
pub async fn write_chunked(mut sock: tokio::net::TcpStream, body: &[u8]) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    if sock.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    for chunk in body.chunks(64 * 1024) {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if sock.write_all(&frame).await.is_err() {
            return; // the client hung up: what a refusing client does
        }
    }
    let _ = sock.write_all(b"0\r\n\r\n").await;
}

/// A page of `n` alerts padded to at least `bytes` bytes (through a long `context`).
pub fn big_page(bytes: usize, cursor: &str) -> String {
    let n = 64;
    let pad = "x".repeat(bytes / n + 1);
    let alerts: Vec<Value> = (0..n).map(|i| alert(&format!("BIG{i}"), json!({"context": pad}))).collect();
    page(&alerts, Some(cursor), false)
}

/// Drives the real poller and reads what it reports.
pub struct PollerHarness {
    pub events: mpsc::UnboundedReceiver<PollerEvent>,
    /// What the service published while the poller ran (subscribed before it started).
    pub changes: vigil::service::session::Events,
    pub retry: Arc<Notify>,
    pub task: tokio::task::JoinHandle<()>,
}

impl PollerHarness {
    pub fn start(client: FeedClient, service: crate::common::Svc, interval: Duration) -> Self {
        let (tx, events) = mpsc::unbounded_channel();
        let retry = Arc::new(Notify::new());
        let changes = service.subscribe();
        let poller = Poller { client, session: service.session.clone(), interval, events: tx, retry: retry.clone() };
        let task = tokio::spawn(poller.run());
        PollerHarness { events, changes, retry, task }
    }

    /// The health the poller reports at the end of its next attempt (not the "syncing" one before it).
    pub async fn settled(&mut self) -> FeedHealth {
        let wait = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match self.events.recv().await {
                    Some(PollerEvent::Health(h)) if !h.syncing => return h,
                    Some(_) => {}
                    None => panic!("the poller ended"),
                }
            }
        });
        wait.await.expect("the poller reported within 30 s")
    }

    /// Wakes the poller now, as the user's retry key does.
    pub fn retry_now(&self) {
        self.retry.notify_one();
    }
}

impl Drop for PollerHarness {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long after its attempt the poller will try again, as it reported it.
pub fn reported_wait(h: &FeedHealth) -> Duration {
    let at: DateTime<Utc> = match (&h.last_error, h.last_success) {
        (Some((at, _)), _) => *at,
        (None, Some(at)) => at,
        (None, None) => panic!("no attempt reported: {h:?}"),
    };
    (h.next_attempt.expect("a next attempt") - at).to_std().expect("in the future")
}

/// A feed on loopback that serves `body` to every poll, whatever the cursor (a server replaying its page).
pub async fn serve(body: String) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/v1/alerts"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    server
}
