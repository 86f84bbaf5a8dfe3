//! Several services on one PostgreSQL school (one per school, or two for one school for failover): what one
//! decides reaches the others' clients (NOTIFY as the wake-up, then a read of every change after the last
//! seen), only one of them polls the feed and another takes it over when that one dies, and PostgreSQL
//! stopped and started under a running service loses and half-writes nothing.

use std::time::Duration;

use serde_json::json;
use vigil::domain::AlertKey;
use vigil::domain::CaseEvent;
use vigil::domain::case::CaseCommand;
use vigil::service::api::{EventKind, FeedHealth};
use vigil::service::events::Change;
use vigil::service::session::Events;
use vigil::service::wire::{Answer, Ask, ServiceStatus};
use vigil::service::{CaseService, Policy, Session};
use vigil::store::StoreError;
use vigil::store::backend::CaseStore;
use vigil::store::peers::CaseWrite;
use vigil::store::postgres::{PgSettings, PgStore, blocking, schema};

use crate::backend_support::pg_cluster::{self, Cluster};
use crate::backend_support::{fresh_school, key, storage_keys};
use crate::common::{dsl, fixed_now, stderr, stdout};
use crate::feed_support::{alert, page, serve};
use crate::service_support::{Served, until};

const SOURCE: &str = "smoothwall-monitor";

/// The pause between two looks at something that has no signal to wait on (within a deadline).
const POLL: Duration = Duration::from_millis(20);

fn case(id: &str) -> AlertKey {
    AlertKey::new(SOURCE, id)
}

fn open(settings: &PgSettings) -> CaseService {
    CaseService::open_postgres(settings, &key(), Policy::default()).expect("the service opens its school")
}

fn feed_page(ids: &[&str]) -> vigil::feed::protocol::Page {
    let alerts: Vec<_> = ids.iter().map(|id| alert(id, json!({}))).collect();
    vigil::feed::protocol::parse_page(page(&alerts, Some("c1"), false).as_bytes()).expect("a page")
}

fn note(text: &str) -> CaseCommand {
    CaseCommand::Note { text: text.into() }
}

/// Reads `events` until one says `key` changed (its row included), within `within`.
async fn hears_of(events: &mut Events, key: &AlertKey, within: Duration) {
    let mut heard = false;
    until(events, within, |e| {
        let read = e.read(chrono::Utc::now()).expect("events");
        heard |= read.iter().any(|ev| matches!(&ev.kind, EventKind::CaseChanged { case, .. } if case == key));
        heard
    })
    .await;
}

fn has_note(session: &Session, key: &AlertKey, text: &str) -> usize {
    let detail = session.detail(key, fixed_now()).expect("the case reads");
    detail
        .events
        .iter()
        .filter(|e| matches!(&e.kind, vigil::domain::EventKind::NoteAdded { text: t } if t == text))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_through_one_service_reaches_the_other_services_subscribers() {
    let settings = blocking(|| fresh_school("north"));
    let (a, b) = (open(&settings), open(&settings));
    let (on_a, on_b) = (Session::new(a, dsl()), Session::new(b, dsl()));
    let mut heard = on_b.subscribe();

    on_a.ingest(&feed_page(&["S-1", "S-2"]), fixed_now()).expect("service A stores the page");
    let mut arrived = false;
    until(&mut heard, Duration::from_secs(30), |e| {
        let read = e.read(chrono::Utc::now()).expect("events");
        arrived |= read.iter().any(|ev| matches!(ev.kind, EventKind::Arrived { new: 2, .. }));
        arrived
    })
    .await;

    on_a.act(&case("S-1"), &note("rang home"), fixed_now()).expect("service A records the note");
    hears_of(&mut heard, &case("S-1"), Duration::from_secs(30)).await;
    assert_eq!(has_note(&on_b, &case("S-1"), "rang home"), 1, "service B's client reads the note");

    // And the other way: what B decides reaches A's subscribers, and neither hears its own twice.
    let mut heard_on_a = on_a.subscribe();
    on_b.act(&case("S-2"), &note("spoke to tutor"), fixed_now()).expect("service B records the note");
    hears_of(&mut heard_on_a, &case("S-2"), Duration::from_secs(30)).await;
    assert_eq!(has_note(&on_a, &case("S-2"), "spoke to tutor"), 1);
}

/// Waits on `events` until another service's page is heard of (after the cases it stored).
async fn hears_arrivals(events: &mut Events) {
    let mut arrived = false;
    until(events, Duration::from_secs(30), |e| {
        arrived |=
            e.read(chrono::Utc::now()).expect("events").iter().any(|ev| matches!(ev.kind, EventKind::Arrived { .. }));
        arrived
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_stored_by_a_service_that_died_before_telling_anyone_still_reaches_the_others() {
    let settings = blocking(|| fresh_school("north"));
    let on_a = Session::new(open(&settings), dsl());
    let on_b = Session::new(open(&settings), dsl());
    let mut heard = on_b.subscribe();
    on_a.ingest(&feed_page(&["S-1"]), fixed_now()).expect("stored");
    hears_arrivals(&mut heard).await;

    // A service killed between its decision's commit and its own publishing: the decision is in the store,
    // written as a service writes it, and that service never says a word.
    let died = blocking(|| PgStore::open(&settings, &key())).expect("open");
    let note =
        CaseEvent::new(fixed_now(), "dsl", vigil::domain::EventKind::NoteAdded { text: "before it died".into() });
    let entry = vigil::audit::Entry::new(fixed_now(), "dsl", Some(&case("S-1")), "added a note");
    let seen = blocking(|| died.case_events_len(&case("S-1"))).expect("count");
    blocking(|| died.append_decision_at(&case("S-1"), seen, &[(note, entry)])).expect("the decision is stored");
    blocking(|| drop(died));

    hears_of(&mut heard, &case("S-1"), Duration::from_secs(30)).await;
    assert_eq!(has_note(&on_b, &case("S-1"), "before it died"), 1, "service B's client reads the decision");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_purged_through_the_store_is_removed_from_the_other_services_clients() {
    let settings = blocking(|| fresh_school("north"));
    let on_a = Session::new(open(&settings), dsl());
    let on_b = Session::new(open(&settings), dsl());
    let mut heard = on_b.subscribe();
    on_a.ingest(&feed_page(&["S-1", "S-2"]), fixed_now()).expect("stored");
    hears_arrivals(&mut heard).await;

    // Retention's purge as any service makes it, with no service publishing it.
    let purger = blocking(|| PgStore::open(&settings, &key())).expect("open");
    let tombstone = vigil::audit::Entry::new(fixed_now(), "retention", Some(&case("S-2")), "purged");
    blocking(|| purger.purge_case(&case("S-2"), &tombstone)).expect("purged");
    blocking(|| drop(purger));

    let mut removed = false;
    until(&mut heard, Duration::from_secs(30), |e| {
        let read = e.read(chrono::Utc::now()).expect("events");
        removed |= read.iter().any(|ev| matches!(&ev.kind, EventKind::CaseRemoved { case: c } if *c == case("S-2")));
        removed
    })
    .await;
}

#[test]
fn a_case_write_is_recorded_by_its_own_transaction_once_and_never_when_it_rolls_back() {
    let settings = fresh_school("north");
    Session::new(open(&settings), dsl()).ingest(&feed_page(&["S-1", "S-2", "S-3"]), fixed_now()).expect("stored");
    let mut admin = pg_cluster::cluster().admin(&database_of(&settings)).expect("admin");
    let written = |admin: &mut postgres::Client| -> i64 {
        admin.query_one("SELECT count(*) FROM changes WHERE written", &[]).expect("count").get(0)
    };
    assert_eq!(written(&mut admin), 1, "a page is one record, however many cases it stores");
    let reader = PgStore::open(&settings, &key()).expect("open");
    let read = reader.announced_after(Some(0), "reader").expect("read");
    let stored: Vec<AlertKey> = ["S-1", "S-2", "S-3"].map(case).to_vec();
    assert_eq!(
        read.wrote,
        stored.iter().map(|key| CaseWrite::Written { key: key.clone(), staff: false, alert: true }).collect::<Vec<_>>()
    );
    // The service announces the rest of what it published, not the cases again.
    let said: Vec<Vec<Change>> =
        read.payloads.iter().map(|p| serde_json::from_slice(p).expect("the service's words")).collect();
    assert!(matches!(said.as_slice(), [one] if matches!(one.as_slice(), [Change::Arrived { new: 3, .. }])), "{said:?}");
    let from = reader.announced_after(None, "reader").expect("read").last;

    // Two writers judge S-1 at the same length: one decision is stored and recorded, the other refused and
    // recorded nowhere.
    let (one, two) = (PgStore::open(&settings, &key()).expect("open"), PgStore::open(&settings, &key()).expect("open"));
    let decision = |text: &str| {
        let event = CaseEvent::new(fixed_now(), "dsl", vigil::domain::EventKind::NoteAdded { text: text.into() });
        (event, vigil::audit::Entry::new(fixed_now(), "dsl", Some(&case("S-1")), "added a note"))
    };
    let seen = one.case_events_len(&case("S-1")).expect("count");
    one.append_decision_at(&case("S-1"), seen, &[decision("first")]).expect("the first is stored");
    let lost = two.append_decision_at(&case("S-1"), seen, &[decision("second")]);
    assert!(matches!(lost, Err(StoreError::Conflict { .. })), "the second is refused: {lost:?}");
    let read = reader.announced_after(Some(from), "reader").expect("read");
    assert_eq!(read.wrote, vec![CaseWrite::Written { key: case("S-1"), staff: false, alert: false }]);
    assert!(read.payloads.is_empty());

    // A decision that fails at its commit (after its record was added) takes its record with it.
    admin
        .batch_execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$; \
             CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON events DEFERRABLE INITIALLY DEFERRED \
             FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .expect("a commit that fails");
    let seen = one.case_events_len(&case("S-1")).expect("count");
    one.append_decision_at(&case("S-1"), seen, &[decision("never")]).expect_err("its commit fails");
    assert_eq!(one.case_events_len(&case("S-1")).expect("count"), seen, "nothing of it is stored");
    let after = reader.announced_after(Some(read.last), "reader").expect("read");
    assert_eq!((after.wrote.len(), after.last), (0, read.last), "and nothing of it is announced");
    admin.batch_execute("DROP TRIGGER refuse ON events").expect("drop");

    // A purge is recorded with it, with whether the case was about staff.
    one.purge_case(&case("S-2"), &vigil::audit::Entry::new(fixed_now(), "retention", Some(&case("S-2")), "purged"))
        .expect("purged");
    let read = reader.announced_after(Some(read.last), "reader").expect("read");
    assert_eq!(read.wrote, vec![CaseWrite::Purged { key: case("S-2"), staff: false }]);
    assert_eq!(written(&mut admin), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_services_new_alerts_count_in_this_ones_trends() {
    let settings = blocking(|| fresh_school("north"));
    let (a, b) = (open(&settings), open(&settings));
    let (on_a, on_b) = (Session::new(a, dsl()), Session::new(b, dsl()));
    on_b.warm_trends(fixed_now()).expect("service B counts its trends");
    let mut heard = on_b.subscribe();
    // Three alerts about one student (the feed fixture's), stored through service A.
    on_a.ingest(&feed_page(&["S-1", "S-2", "S-3"]), fixed_now()).expect("stored");
    let mut arrived = false;
    until(&mut heard, Duration::from_secs(30), |e| {
        arrived |=
            e.read(chrono::Utc::now()).expect("events").iter().any(|ev| matches!(ev.kind, EventKind::Arrived { .. }));
        arrived
    })
    .await;
    let queue = on_b.queue(fixed_now()).expect("the queue");
    let row = queue.iter().find(|c| c.key == case("S-1")).expect("the case");
    assert_eq!(row.trend, Some(3), "service B's trend counts the alerts service A stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_while_the_other_service_was_not_listening_still_reaches_it() {
    let settings = blocking(|| fresh_school("north"));
    let (a, b) = (open(&settings), open(&settings));
    let (on_a, on_b) = (Session::new(a, dsl()), Session::new(b, dsl()));
    on_a.ingest(&feed_page(&["S-1"]), fixed_now()).expect("stored");
    let mut heard = on_b.subscribe();

    // Service B's listening connection is cut (as a database restart or a network drop cuts it), so no
    // notification can reach it; the change must still arrive.
    let database = database_of(&settings);
    blocking(|| cut_listening(&database));
    on_a.act(&case("S-1"), &note("after the cut"), fixed_now()).expect("recorded");
    hears_of(&mut heard, &case("S-1"), Duration::from_secs(30)).await;
    assert_eq!(has_note(&on_b, &case("S-1"), "after the cut"), 1);
}

/// Cuts the connection a service listens on, once there is one.
fn cut_listening(database: &str) {
    let mut admin = pg_cluster::cluster().admin(database).expect("admin");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let cut = admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN vigil_changes_%'",
                &[],
            )
            .expect("terminate");
        if cut > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "service B never listened");
        // Its listener connects on a thread of its own, with nothing to tell this test when it has.
        std::thread::sleep(POLL);
    }
}

fn database_of(settings: &PgSettings) -> String {
    let config: postgres::Config = settings.url.parse().expect("a url");
    config.get_dbname().expect("a database").to_string()
}

#[test]
fn announcements_are_numbered_in_order_sealed_skip_their_own_service_and_say_when_some_are_missed() {
    let settings = fresh_school("north");
    let (one, two) = (PgStore::open(&settings, &key()).expect("open"), PgStore::open(&settings, &key()).expect("open"));
    assert_eq!(one.announced_after(None, "one").expect("read").last, 0, "nothing announced yet");
    one.announce("one", b"case STAFF-SECRET-77 changed").expect("announce");
    two.announce("two", b"case S-2 changed").expect("announce");

    let read = one.announced_after(Some(0), "one").expect("read");
    assert_eq!(read.payloads, vec![b"case S-2 changed".to_vec()], "its own announcement is skipped");
    assert_eq!((read.last, read.gap), (2, false));
    let read = two.announced_after(Some(1), "two").expect("read");
    assert_eq!((read.payloads.len(), read.last, read.gap), (0, 2, false));

    let mut admin = pg_cluster::cluster().admin(&database_of(&settings)).expect("admin");
    let stored: Vec<Vec<u8>> =
        admin.query("SELECT sealed FROM changes", &[]).expect("rows").iter().map(|r| r.get(0)).collect();
    assert_eq!(stored.len(), 2);
    for sealed in &stored {
        assert!(!sealed.windows(5).any(|w| w == b"STAFF" || w == b"S-2 c"), "a change is sealed in the database");
    }

    // A reader further behind than what is kept, or ahead of the database (restored from an older backup),
    // is told to read everything again.
    admin.execute("DELETE FROM changes WHERE seq = 1", &[]).expect("delete");
    assert!(two.announced_after(Some(0), "two").expect("read").gap, "change 1 is no longer kept");
    assert!(one.announced_after(Some(7), "one").expect("read").gap, "the database is behind the reader");
}

#[test]
fn only_one_service_holds_a_feeds_lease_and_another_takes_it_when_that_one_is_gone() {
    let settings = fresh_school("north");
    let (a, b) = (open(&settings), open(&settings));
    let feed = "https://feed.example/alerts";
    assert!(a.hold_feed(feed).expect("ask"), "the first service takes the lease");
    assert!(a.hold_feed(feed).expect("ask"), "and keeps it");
    assert!(!b.hold_feed(feed).expect("ask"), "the second stands by");
    let other = fresh_school("south");
    assert!(open(&other).hold_feed(feed).expect("ask"), "another school's lease is its own");

    drop(a); // its connections close, as a killed service's do
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !b.hold_feed(feed).expect("ask") {
        assert!(std::time::Instant::now() < deadline, "the lease was never freed");
        // The server frees the lock when it notices the connection closed; nothing signals that here.
        std::thread::sleep(POLL);
    }
}

fn status(session: &Session) -> ServiceStatus {
    match session.ask_service(Ask::Status).expect("status") {
        Answer::Status(s) => *s,
        other => panic!("not a status: {other:?}"),
    }
}

/// Waits on the feed's health as the service pushes it to `session` until `check` holds.
async fn health_until(
    pushed: &mut tokio::sync::mpsc::UnboundedReceiver<FeedHealth>,
    within: Duration,
    check: impl Fn(&FeedHealth) -> bool,
) -> FeedHealth {
    let seen = tokio::time::timeout(within, async {
        loop {
            let h = pushed.recv().await.expect("the service pushes the feed's health");
            if check(&h) {
                return h;
            }
        }
    });
    seen.await.unwrap_or_else(|_| panic!("not seen within {within:?}"))
}

fn polling(h: &FeedHealth) -> bool {
    !h.standby && h.last_error.is_none() && h.last_success.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_on_one_school_share_decisions_and_the_feed_survives_the_pollers_death() {
    let feed = serve(page(&[alert("S-1", json!({})), alert("S-2", json!({}))], Some("c1"), false)).await;
    let settings = blocking(|| fresh_school("north"));
    let keys = tempfile::tempdir().expect("tempdir");
    let key_file = keys.path().join("store.key");
    let first = Served::start_postgres("dsl", Some(&feed.uri()), &storage_keys(&settings), &key_file);
    let second = Served::start_postgres("dsl", Some(&feed.uri()), &storage_keys(&settings), &key_file);
    let (one, two) = (first.client(), second.client());

    // One polls, the other stands by, whichever took the lease first.
    let (mut health_one, mut health_two) = (one.take_health().expect("pushed"), two.take_health().expect("pushed"));
    let settled = |h: &FeedHealth| polling(h) || h.standby;
    let one_polls = polling(&health_until(&mut health_one, Duration::from_secs(30), settled).await);
    let two_polls = polling(&health_until(&mut health_two, Duration::from_secs(30), settled).await);
    assert!(one_polls ^ two_polls, "one service polls the feed and the other stands by");
    let (mut poller, stand_by, poller_client, stand_by_client, mut stand_by_health) =
        if one_polls { (first, second, one, two, health_two) } else { (second, first, two, one, health_one) };
    let said = stderr(&poller.cli(&["service", "status"]));
    assert!(said.is_empty(), "{said}");
    let shown = stdout(&stand_by.cli(&["service", "status"]));
    assert!(shown.contains("another vigil service polls it"), "the standby says so: {shown}");

    // A decision through one reaches the other's client.
    let mut events = stand_by_client.subscribe();
    let s = stand_by_client.clone();
    until(&mut events, Duration::from_secs(30), |_| s.queue(chrono::Utc::now()).map(|q| q.len()).unwrap_or(0) >= 2)
        .await;
    poller_client.act(&case("S-1"), &note("through the poller's service"), fixed_now()).expect("recorded");
    hears_of(&mut events, &case("S-1"), Duration::from_secs(30)).await;
    assert_eq!(has_note(&stand_by_client, &case("S-1"), "through the poller's service"), 1);

    // The poller is killed; the other takes the feed over.
    poller.kill();
    health_until(&mut stand_by_health, Duration::from_secs(60), polling).await;
    drop(stand_by);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_stopped_under_a_running_service_refuses_decisions_plainly_and_resumes_when_it_is_back() {
    let (cluster, database) = blocking(|| {
        let cluster: Cluster = pg_cluster::private().expect("a cluster of this test's own");
        let database = cluster.fresh_database();
        schema::migrate(&mut cluster.admin(&database).expect("connect")).expect("migrate");
        (cluster, database)
    });
    let settings = PgSettings {
        url: cluster.url(&database, "postgres"),
        password_file: None,
        ca_file: None,
        school: "north".into(),
    };
    let feed = serve(page(&[alert("S-1", json!({}))], Some("c1"), false)).await;
    let keys = tempfile::tempdir().expect("tempdir");
    let served = Served::start_postgres("dsl", Some(&feed.uri()), &storage_keys(&settings), &keys.path().join("k"));
    let client = served.client();
    let mut health = client.take_health().expect("pushed");
    let mut events = client.subscribe();
    let c = client.clone();
    until(&mut events, Duration::from_secs(30), |_| c.queue(chrono::Utc::now()).map(|q| q.len()).unwrap_or(0) == 1)
        .await;
    let before = client.queue(fixed_now()).expect("the queue");

    cluster.stop();
    let refused = client.act(&case("S-1"), &note("while the database was down"), fixed_now()).expect_err("refused");
    let said = refused.to_string();
    assert!(said.contains("database") || said.contains("connect"), "a plain message: {said}");
    assert!(!said.contains("while the database was down"), "no content in the message: {said}");
    // The service is still up, and its poller says the database is not answering and waits.
    let waiting = health_until(&mut health, Duration::from_secs(60), |h| h.last_error.is_some()).await;
    assert!(!waiting.stopped, "the poller waits and tries again");
    let down = status(&client);
    assert!(
        down.store_error.is_some_and(|e| e.contains("connect")),
        "the service answers, and says the store cannot be read"
    );
    assert_eq!(before.len(), 1);

    cluster.start();
    client.act(&case("S-1"), &note("after the database came back"), fixed_now()).expect("recorded once it is back");
    assert_eq!(has_note(&client, &case("S-1"), "while the database was down"), 0, "nothing half-written");
    assert_eq!(has_note(&client, &case("S-1"), "after the database came back"), 1);
    let verified = served.cli(&["audit", "verify"]);
    assert!(verified.status.success(), "the trail verifies: {}{}", stdout(&verified), stderr(&verified));
    // The poller resumes: the feed is read again, and its error is gone.
    health_until(&mut health, Duration::from_secs(60), polling).await;
}
