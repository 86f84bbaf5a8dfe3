//! `vigil serve` for real: a service process on a Unix socket in a temp dir, its clients in this process
//! (through the same `Session` every surface uses) or by hand on the raw socket, and the CLI as a client.

use std::time::Duration;

use serde_json::json;
use vigil::domain::AlertKey;
use vigil::domain::case::CaseCommand;
use vigil::service::api::{EventKind, Reply, Request, Scope};
use vigil::service::wire::{Answer, Ask, FromService};
use vigil::service::{ServiceError, Session};

use crate::common::{stderr, stdout};
use crate::feed_support::{alert, page, serve};
use crate::service_support::{Raw, Served, until};

const SOURCE: &str = "smoothwall-monitor";
const STAFF_ID: &str = "STAFF-SECRET-77";
const STAFF_NAME: &str = "Zebedee Staffname";

/// A page of `students` student alerts (`S-1`...) and one staff alert.
fn feed_page(students: usize) -> String {
    let mut alerts: Vec<_> = (1..=students).map(|i| alert(&format!("S-{i}"), json!({}))).collect();
    alerts.push(alert(
        STAFF_ID,
        json!({"subject": {"kind": "staff", "id": "STF-9", "name": STAFF_NAME}, "summary": "staff summary text"}),
    ));
    page(&alerts, Some("c1"), false)
}

fn key(id: &str) -> AlertKey {
    AlertKey::new(SOURCE, id)
}

/// Waits until the service has stored what its feed sent: `n` rows this client may see.
async fn stored(session: &Session, n: usize) -> vigil::service::session::Events {
    let mut events = session.subscribe();
    let s = session.clone();
    until(&mut events, Duration::from_secs(20), |_| s.queue(chrono::Utc::now()).map(|q| q.len()).unwrap_or(0) >= n)
        .await;
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_on_one_client_reaches_the_other_without_a_key_press() {
    let feed = serve(feed_page(2)).await;
    let served = Served::start("dsl", Some(&feed.uri()));
    let (desk, laptop) = (served.client(), served.client());
    let _ = stored(&desk, 3).await;
    let mut laptop_events = laptop.subscribe();
    let note = CaseCommand::Note { text: "rang home, spoke to mum".into() };
    desk.act(&key("S-1"), &note, chrono::Utc::now()).expect("the desk's note is recorded");
    let mut heard = false;
    until(&mut laptop_events, Duration::from_secs(30), |e| {
        let events = e.read(chrono::Utc::now()).expect("events");
        heard |= events.iter().any(|ev| matches!(&ev.kind, EventKind::CaseChanged { case, .. } if *case == key("S-1")));
        heard
    })
    .await;
    let detail = laptop.detail(&key("S-1"), chrono::Utc::now()).expect("the laptop reads the case");
    assert!(
        detail
            .events
            .iter()
            .any(|e| matches!(&e.kind, vigil::domain::EventKind::NoteAdded { text } if text.contains("spoke to mum"))),
        "the note is on the other screen's case"
    );
}

/// Everything a connection is sent, with a staff alert in the shared store, for a client of `role` that
/// reads everything it may (queues, counts, statuses, reports, the trail, events and presence) without
/// naming the staff alert itself. Also the rows its queue had.
async fn bytes_seen_by(role: &str) -> (Vec<u8>, usize) {
    let feed = serve(feed_page(2)).await;
    let served = Served::start(role, Some(&feed.uri()));
    let session = served.client();
    let visible = if role == "dsl" { 3 } else { 2 };
    let _ = stored(&session, visible).await;
    let mut raw = Raw::connect(&served.socket).await;
    assert!(matches!(raw.hello(vigil::service::wire::PROTOCOL_VERSION).await, Some(FromService::Welcome(_))));
    let asks = vec![
        Ask::Service(Request::Queue { scope: Scope::All }),
        Ask::Service(Request::Queue { scope: Scope::Open }),
        Ask::Service(Request::Queue { scope: Scope::Closed }),
        Ask::Service(Request::RaisedNotOpen),
        Ask::Service(Request::FeedStatus),
        Ask::Service(Request::StoreStatus { count_alerts: true }),
        Ask::Service(Request::Rejected),
        Ask::Service(Request::ReportData { include_staff: true }),
        Ask::Service(Request::AuditRecords { case: None }),
        Ask::Service(Request::ScreenshotsToPrefetch),
        Ask::Status,
    ];
    let mut rows = 0;
    for (id, ask) in asks.into_iter().enumerate() {
        if let FromService::Reply { result: Ok(Answer::Service(reply)), .. } = raw.call(id as u64, ask).await
            && let Reply::Rows(r) = *reply
        {
            rows = rows.max(r.len());
        }
    }
    // A decision on a student case makes events; the last call's reply comes after whatever it pushed.
    session.act(&key("S-2"), &CaseCommand::Note { text: "a note".into() }, chrono::Utc::now()).expect("note");
    let _ = raw.call(99, Ask::Service(Request::SyncState)).await;
    // What crossed, as bytes and as the messages they decode to (the queue's rows are packed on the wire).
    let mut crossed = raw.bytes;
    crossed.extend_from_slice(raw.seen.as_bytes());
    (crossed, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_alerts_never_cross_a_deputys_socket_not_even_as_a_count() {
    let (deputy, rows) = bytes_seen_by("ddsl").await;
    let text = String::from_utf8_lossy(&deputy);
    for secret in [STAFF_ID, STAFF_NAME, "STF-9", "staff summary text"] {
        assert!(!text.contains(secret), "`{secret}` crossed the deputy's socket");
    }
    assert_eq!(rows, 2, "the deputy's queue has the two student cases only");
    assert!(!text.contains("\"alerts\":3") && !text.contains("\"new\":3"), "no count includes the staff alert");
    let (dsl, rows) = bytes_seen_by("dsl").await;
    assert!(String::from_utf8_lossy(&dsl).contains(STAFF_ID), "the DSL's socket carries it (the control)");
    assert_eq!(rows, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deputy_asking_for_a_staff_case_by_name_learns_no_more_than_for_one_that_does_not_exist() {
    let feed = serve(feed_page(1)).await;
    let served = Served::start("ddsl", Some(&feed.uri()));
    let _ = stored(&served.client(), 1).await;
    let mut raw = Raw::connect(&served.socket).await;
    assert!(matches!(raw.hello(vigil::service::wire::PROTOCOL_VERSION).await, Some(FromService::Welcome(_))));
    let mut answers = Vec::new();
    for (n, id) in [STAFF_ID, "NO-SUCH-ALERT-00"].into_iter().enumerate() {
        let asks = [
            Ask::Service(Request::Find { spec: id.into() }),
            Ask::Service(Request::Row { case: key(id) }),
            Ask::Service(Request::Detail { case: key(id) }),
            Ask::Service(Request::Checklist { case: key(id) }),
            Ask::Service(Request::Records { case: key(id) }),
            Ask::Service(Request::Screenshot { case: key(id), index: 0 }),
            Ask::Service(Request::Act {
                case: key(id),
                command: CaseCommand::Note { text: "x".into() },
                seen: None,
                token: None,
            }),
        ];
        let mut said = Vec::new();
        for (i, ask) in asks.into_iter().enumerate() {
            let reply = raw.call((n * 100 + i) as u64, ask).await;
            // The answer, with the id asked about taken out: what is left must be the same for both.
            said.push(format!("{reply:?}").replace(id, "ID").replace(&format!("id: {}", n * 100 + i), "id: N"));
        }
        answers.push(said);
    }
    assert_eq!(answers[0], answers[1], "a staff case is, to a deputy, a case that does not exist");
}

#[test]
fn a_user_the_service_gives_no_role_is_refused_with_exit_3() {
    let served = Served::start("dsl", None);
    // The service's config now names someone else only.
    let config = std::fs::read_to_string(&served.config).expect("config");
    let user = vigil::identity::os_user().expect("user");
    std::fs::write(&served.config, config.replace(&format!("dsl = [{user:?}]"), "dsl = [\"somebody-else\"]"))
        .expect("config");
    let mut served = served;
    served.kill();
    served.spawn();
    let out = served.cli(&["list"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("user `{user}` has no role in the vigil service's config")),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_another_protocol_version_is_told_plainly() {
    let served = Served::start("dsl", None);
    let mut raw = Raw::connect(&served.socket).await;
    match raw.hello(99).await {
        Some(FromService::Refused { code, message }) => {
            assert_eq!(code, 2);
            let ours = format!("protocol version {}", vigil::service::api::API_VERSION);
            assert!(message.contains(&ours) && message.contains("speaks 99"), "{message}");
        }
        other => panic!("refused, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_oversized_frames_close_only_their_own_connection() {
    use tokio::io::AsyncWriteExt;
    let served = Served::start("dsl", None);
    let mut huge = Raw::connect(&served.socket).await;
    // A length prefix of 1 GiB: refused before anything is read or allocated.
    huge.stream().write_all(&(1u32 << 30).to_be_bytes()).await.expect("writes");
    match huge.next().await {
        Some(FromService::Refused { code: 2, .. }) => assert!(huge.next().await.is_none(), "then closed"),
        None => {}
        other => panic!("refused or closed, got {other:?}"),
    }
    let mut garbage = Raw::connect(&served.socket).await;
    garbage.stream().write_all(&[0, 0, 0, 5, b'.', b'{', b'x', b'y', b'z']).await.expect("writes");
    match garbage.next().await {
        Some(FromService::Refused { code: 2, .. }) | None => {}
        other => panic!("refused or closed, got {other:?}"),
    }
    // Everyone else is served as before.
    let session = served.client();
    assert!(session.queue(chrono::Utc::now()).expect("the queue").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_holds_up_nobody_and_misses_nothing() {
    // First a small page, then (when asked to poll) one of 3,000 new alerts: 3,000 changes at once.
    let feed = wiremock::MockServer::start().await;
    let many: Vec<_> = (1..=3000).map(|i| alert(&format!("M-{i}"), json!({}))).collect();
    wiremock::Mock::given(wiremock::matchers::path("/v1/alerts"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_raw(feed_page(1), "application/json"))
        .up_to_n_times(1)
        .mount(&feed)
        .await;
    wiremock::Mock::given(wiremock::matchers::path("/v1/alerts"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_raw(page(&many, Some("c2"), false), "application/json"),
        )
        .mount(&feed)
        .await;
    let served = Served::start_polling("dsl", Some(&feed.uri()), 3600);
    let working = served.client();
    let mut working_events = stored(&working, 2).await;
    let mut stuck = Raw::connect(&served.socket).await;
    assert!(matches!(stuck.hello(vigil::service::wire::PROTOCOL_VERSION).await, Some(FromService::Welcome(_))));
    // The stuck client reads nothing while more changes happen than its queue and the socket hold.
    working.ask_service(Ask::PollNow).expect("asked to poll");
    let mut last = false;
    until(&mut working_events, Duration::from_secs(60), |e| {
        last |= e
            .read(chrono::Utc::now())
            .expect("events")
            .iter()
            .any(|ev| matches!(&ev.kind, EventKind::CaseChanged { case, .. } if *case == key("M-3000")));
        last
    })
    .await;
    // When the stuck client reads again, it has missed nothing silently: either every change, numbered
    // without a gap, or (when it stayed stuck for longer than the service waits) a reload.
    let (mut numbers, mut reloaded, mut last_seen) = (Vec::new(), false, false);
    // A deadline on the whole wait, not only on each frame: other messages (health) must not keep it going.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !(reloaded || last_seen) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stuck client heard neither the last change nor a reload within 120 s: {numbers:?}"
        );
        let next = tokio::time::timeout_at(deadline, stuck.next()).await;
        match next.unwrap_or_else(|_| panic!("nothing from the service within 120 s: {numbers:?}")) {
            Some(FromService::Event(e)) => {
                reloaded = matches!(e.kind, EventKind::Reload);
                last_seen = matches!(&e.kind, EventKind::CaseChanged { case, .. } if *case == key("M-3000"));
                numbers.push(e.seq);
            }
            Some(_) => {}
            None => panic!("the service closed the stuck client's connection"),
        }
    }
    if !reloaded {
        assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "every change, in order, without a gap");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reconnects_when_the_service_restarts_and_hears_what_happens_next() {
    let feed = serve(feed_page(2)).await;
    let mut served = Served::start("dsl", Some(&feed.uri()));
    let laptop = served.client();
    let mut events = stored(&laptop, 3).await;
    served.kill();
    let mut reconnecting = false;
    until(&mut events, Duration::from_secs(30), |e| {
        reconnecting |= matches!(e.link(), Some(vigil::service::remote::LinkState::Reconnecting { .. }));
        reconnecting
    })
    .await;
    // Asked while the service is down: refused at once, saying nothing was recorded.
    match laptop.act(&key("S-1"), &CaseCommand::Note { text: "while down".into() }, chrono::Utc::now()) {
        Err(e @ ServiceError::Unreachable(_)) => assert!(e.to_string().contains("nothing was recorded"), "{e}"),
        other => panic!("refused while the service is down, got {other:?}"),
    }
    served.spawn();
    until(&mut events, Duration::from_secs(30), |e| {
        matches!(e.link(), Some(vigil::service::remote::LinkState::Connected))
    })
    .await;
    // A new run of the service: the client is told to reload, then hears the desk's decision. The rows
    // the laptop saw may have been read between the page's commit and its flush (a read is not an
    // acknowledgement); if the kill came in between, the feed sends the page again (its cursor went with
    // it), so the desk waits for the row rather than assuming it survived.
    let desk = served.client();
    let _ = stored(&desk, 3).await;
    desk.act(&key("S-2"), &CaseCommand::Note { text: "after the restart".into() }, chrono::Utc::now()).expect("note");
    let (mut reload, mut heard) = (false, false);
    until(&mut events, Duration::from_secs(30), |e| {
        for ev in e.read(chrono::Utc::now()).expect("events") {
            reload |= matches!(ev.kind, EventKind::Reload);
            heard |= matches!(&ev.kind, EventKind::CaseChanged { case, .. } if *case == key("S-2"));
        }
        reload && heard
    })
    .await;
    let notes = laptop.detail(&key("S-1"), chrono::Utc::now()).expect("detail").events;
    assert!(
        !notes.iter().any(|e| matches!(&e.kind, vigil::domain::EventKind::NoteAdded { text } if text == "while down")),
        "what was refused while the service was down is not recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_killed_mid_sync_and_mid_decisions_loses_nothing_it_acknowledged() {
    // A page big enough that the service is still storing it when it is killed, right after it starts.
    let many: Vec<_> = (1..=1500).map(|i| alert(&format!("K-{i}"), json!({}))).collect();
    let feed = serve(page(&many, Some("k1"), false)).await;
    let mut served = Served::start_polling("dsl", Some(&feed.uri()), 3600);
    served.kill();
    served.spawn();
    let desk = served.client();
    let _ = stored(&desk, 1500).await;

    // Decisions, one after another, each acknowledged or not; the service is killed under them.
    let (acked_tx, acked_rx) = std::sync::mpsc::channel::<usize>();
    let (back_tx, back_rx) = std::sync::mpsc::channel::<()>();
    let writer = desk.clone();
    let deciding = std::thread::spawn(move || {
        let (mut acked, mut unsure, mut i) = (Vec::new(), Vec::new(), 0);
        while acked.len() < 60 {
            i += 1;
            let note = CaseCommand::Note { text: format!("decision {i}") };
            match writer.act(&key(&format!("K-{}", i % 50 + 1)), &note, chrono::Utc::now()) {
                Ok(_) => {
                    acked.push(i);
                    let _ = acked_tx.send(acked.len());
                }
                // Not recorded (the service is down), or not confirmed: wait for it to be back.
                Err(ServiceError::Unreachable(_)) => {
                    let _ = back_rx.recv();
                }
                Err(ServiceError::Unconfirmed) => {
                    unsure.push(i);
                    let _ = back_rx.recv();
                }
                Err(e) => panic!("decision {i}: {e}"),
            }
        }
        (acked, unsure, i)
    });
    while acked_rx.recv().expect("deciding") < 20 {}
    served.kill();
    served.spawn();
    for _ in 0..100 {
        let _ = back_tx.send(());
    }
    let (acked, unsure, last) = deciding.join().expect("the deciding thread");
    eprintln!("{} decisions: {} acknowledged, {} not confirmed, the rest refused", last, acked.len(), unsure.len());

    let reader = served.client();
    let rows = reader.queue(chrono::Utc::now()).expect("queue");
    let mut ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((rows.len(), ids.len()), (1500, 1500), "every alert once");
    let mut found = std::collections::HashMap::new();
    for case in 1..=50 {
        for e in reader.detail(&key(&format!("K-{case}")), chrono::Utc::now()).expect("detail").events {
            if let vigil::domain::EventKind::NoteAdded { text } = e.kind {
                *found.entry(text).or_insert(0) += 1;
            }
        }
    }
    for i in &acked {
        assert_eq!(found.get(&format!("decision {i}")), Some(&1), "acknowledged decision {i} is there once");
    }
    for i in 1..=last {
        assert!(found.get(&format!("decision {i}")).is_none_or(|n| *n == 1), "decision {i} at most once");
        if !acked.contains(&i) && !unsure.contains(&i) {
            assert!(!found.contains_key(&format!("decision {i}")), "decision {i} was refused and is not recorded");
        }
    }
    drop((reader, desk));
    served.kill();
    let verify = crate::common::vigil(&[
        "--config",
        served.config.to_str().expect("utf-8"),
        "--data-dir",
        served.data.to_str().expect("utf-8"),
        "audit",
        "verify",
    ]);
    assert!(verify.status.success(), "the audit chain verifies: {}{}", stdout(&verify), stderr(&verify));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_users_store_moved_into_the_service_keeps_its_audit_chain_and_cases() {
    let feed = serve(feed_page(2)).await;
    // The DSL's own store, made the embedded way, with a decision in it; its head kept before the move.
    let own = tempfile::tempdir().expect("tempdir");
    let config = crate::common::config_with_role(own.path(), "dsl");
    let data = own.path().join("data");
    let (config_arg, data_arg) = (config.to_str().expect("utf-8"), data.to_str().expect("utf-8"));
    let embedded = |args: &[&str]| {
        let mut all = vec!["--config", config_arg, "--data-dir", data_arg];
        all.extend_from_slice(args);
        let out = crate::common::vigil(&all);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    embedded(&["--feed-url", &feed.uri(), "sync", "--once"]);
    embedded(&["case", "S-1", "note", "before the move"]);
    let head = embedded(&["audit", "head"]).trim().to_string();
    // The service on a copy of that store and its key; the DSL checks it through the service.
    let served = Served::start_on("dsl", None, 3600, Some((&data, &own.path().join("store.key"))));
    let verified = served.cli(&["audit", "verify", "--expect", &head]);
    assert!(
        verified.status.success(),
        "intact, with the head kept before the move: {}{}",
        stdout(&verified),
        stderr(&verified)
    );
    let shown = served.cli(&["show", "S-1", "--json"]);
    assert!(stdout(&shown).contains("before the move"), "the case's history came with it");
}
