//! The PostgreSQL store's own guarantees, on a real PostgreSQL (the tests' cluster): two services racing on
//! one case or one page, the grants that keep events and audit records append-only, the sealing that keeps
//! content out of the database, and the schema check that refuses a newer vigil's database.

use std::sync::{Arc, Barrier};

use chrono::Duration;
use vigil::audit::{Entry, Verdict};
use vigil::domain::case::CaseCommand;
use vigil::domain::levels::Grading;
use vigil::domain::{Alert, AlertKey, CaseEvent, EventKind, Level};
use vigil::identity::{Role, Viewer};
use vigil::service::{CaseService, ServiceError, Session};
use vigil::store::StoreError;
use vigil::store::backend::CaseStore;
use vigil::store::postgres::{PgSettings, PgStore, schema};

use crate::backend_support::pg_cluster::{SERVICE_LOGIN, cluster};
use crate::backend_support::{fresh_school, key};
use crate::common::{config_with_role, dsl, fixed_now, stderr, stdout, tick_all_required, vigil};

fn an_alert(id: &str, summary: &str) -> Alert {
    let page = format!(
        r#"{{"feed":"vigil.alert-feed/1","alerts":[{{"id":"{id}","source":"sm","revision":1,"raised_at":"2026-11-16T09:00:00+00:00","risk":3,
            "category":"bullying","subject":{{"kind":"student","id":"S1"}},"summary":"{summary}"}}],"cursor":"c","more":false}}"#
    );
    vigil::feed::protocol::parse_page(page.as_bytes()).expect("page").alerts.remove(0)
}

fn ingest(store: &dyn CaseStore, alert: &Alert) -> vigil::store::IngestReport {
    let grading = Grading { level: Level::Medium, illegal_path: false };
    store
        .ingest_page(&[vigil::store::Incoming { alert, grading, raised_by: "feed" }], &[], 0, Some("c"), 1, fixed_now())
        .expect("ingest")
}

fn note(key: &AlertKey, by: &str) -> (CaseEvent, Entry) {
    let event = CaseEvent::new(fixed_now(), by, EventKind::NoteAdded { text: "a note".into() });
    (event, Entry::new(fixed_now(), by, Some(key), "added a note"))
}

/// Runs `f` on two threads released together, and returns what each gave.
fn together<T: Send>(f: impl Fn(usize) -> T + Sync) -> (T, T) {
    let start = Barrier::new(2);
    std::thread::scope(|s| {
        let run = |i| {
            let (start, f) = (&start, &f);
            s.spawn(move || {
                start.wait();
                f(i)
            })
        };
        let (a, b) = (run(0), run(1));
        (a.join().expect("thread"), b.join().expect("thread"))
    })
}

#[test]
fn two_services_appending_on_one_case_at_one_length_one_wins_the_other_conflicts() {
    let settings = fresh_school("north");
    let services = [PgStore::open(&settings, &key()).expect("one"), PgStore::open(&settings, &key()).expect("two")];
    let alert = an_alert("R-1", "s");
    ingest(&services[0], &alert);
    let judged_on = services[0].case_events_len(&alert.key).expect("count");
    for round in 0..10u64 {
        let n = judged_on + round;
        let (a, b) = together(|i| services[i].append_decision_at(&alert.key, n, &[note(&alert.key, "dsl")]));
        let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "exactly one of two writers wins: {a:?} {b:?}");
        let lost = if a.is_ok() { b } else { a };
        assert!(
            matches!(lost, Err(StoreError::Conflict { expected, found, .. }) if expected == n && found == n + 1),
            "the loser is told the case changed, as sled tells it: {lost:?}"
        );
    }
    assert_eq!(services[1].case_events_len(&alert.key).expect("count"), judged_on + 10);
    assert!(matches!(vigil::audit::Trail::verify_against(&services[1], None).expect("verify"), Verdict::Intact { .. }));
}

#[test]
fn two_services_closing_one_case_at_once_one_closes_and_the_other_is_judged_again() {
    let settings = fresh_school("north");
    let c = vigil::config::Config::default();
    let session = |viewer: Viewer| {
        let store = Arc::new(PgStore::open(&settings, &key()).expect("open"));
        Session::new(CaseService::with_store(store.clone(), store, vigil::service::Policy::from_config(&c)), viewer)
    };
    let deputy = Viewer { user: "deputy".into(), role: Role::Ddsl, sees_staff: true };
    let sessions = [session(dsl()), session(deputy)];
    let alert = an_alert("C-1", "s");
    let grading = Grading { level: Level::Medium, illegal_path: false };
    let store = PgStore::open(&settings, &key()).expect("open");
    store
        .ingest_page(
            &[vigil::store::Incoming { alert: &alert, grading, raised_by: "feed" }],
            &[],
            0,
            None,
            1,
            fixed_now(),
        )
        .expect("ingest");
    tick_all_required(&sessions[0], &alert.key);
    let seen = sessions[0].detail(&alert.key, fixed_now()).expect("detail").events.len();
    let close = CaseCommand::Close { outcome: "false-positive".into() };
    let (a, b) = together(|i| sessions[i].act_seen(&alert.key, &close, Some(seen), fixed_now()));
    assert_eq!([&a, &b].iter().filter(|r| r.is_ok()).count(), 1, "one close lands: {a:?} {b:?}");
    let (winner, lost) = if a.is_ok() { (dsl().user, b) } else { ("deputy".to_string(), a) };
    match lost {
        Err(ServiceError::Overtaken(o)) => assert_eq!(o.by, winner, "names who closed first: {o}"),
        other => panic!("the other close must be judged again and refused, got {other:?}"),
    }
    let events = sessions[1].detail(&alert.key, fixed_now()).expect("detail").events;
    assert_eq!(events.iter().filter(|e| matches!(e.kind, EventKind::Closed { .. })).count(), 1, "one close in the log");
}

/// Events appended without a judged count (a first view, the feed's) by two services at once are all
/// kept, numbered one after another: a clash of numbers makes the later one try again, not fail.
#[test]
fn two_services_appending_unjudged_events_at_once_keep_them_all() {
    let settings = fresh_school("north");
    let services = [PgStore::open(&settings, &key()).expect("one"), PgStore::open(&settings, &key()).expect("two")];
    let alert = an_alert("V-1", "s");
    ingest(&services[0], &alert);
    let before = services[0].case_events_len(&alert.key).expect("count");
    let (a, b) = together(|i| {
        (0..30)
            .map(|_| services[i].append(&alert.key, &CaseEvent::new(fixed_now(), "dsl", EventKind::Viewed)))
            .filter(|r| r.is_err())
            .count()
    });
    assert_eq!((a, b), (0, 0), "no append failed");
    assert_eq!(services[1].case_events_len(&alert.key).expect("count"), before + 60);
}

#[test]
fn two_services_storing_the_same_page_at_once_store_it_once() {
    let settings = fresh_school("north");
    let services = [PgStore::open(&settings, &key()).expect("one"), PgStore::open(&settings, &key()).expect("two")];
    let alerts: Vec<Alert> = (0..20).map(|i| an_alert(&format!("P-{i}"), "s")).collect();
    let grading = Grading { level: Level::Medium, illegal_path: false };
    let page: Vec<vigil::store::Incoming<'_>> =
        alerts.iter().map(|alert| vigil::store::Incoming { alert, grading, raised_by: "feed" }).collect();
    let (a, b) = together(|i| services[i].ingest_page(&page, &[], 0, Some("c"), 1, fixed_now()).expect("stored"));
    assert_eq!(a.new + b.new, 20, "each alert new once: {a:?} {b:?}");
    assert_eq!(a.unchanged + b.unchanged, 20, "and found stored by the other: {a:?} {b:?}");
    assert_eq!(services[0].alert_count().expect("count"), 20);
    for alert in &alerts {
        assert_eq!(services[1].events(&alert.key).expect("events").len(), 1, "one raise for {}", alert.key);
    }
}

/// A page's new cases are written together, its revisions one by one: each alert is still stored by its
/// revision, whether it is new, a later revision of a stored one, one already stored, or named twice in the
/// page (the second meets the first).
#[test]
fn a_page_of_new_revised_unchanged_and_repeated_alerts_is_stored_by_revision() {
    let settings = fresh_school("north");
    let store = PgStore::open(&settings, &key()).expect("open");
    let (old, kept) = (an_alert("R-1", "s"), an_alert("U-1", "s"));
    ingest(&store, &old);
    ingest(&store, &kept);
    let revised = Alert { revision: 2, ..an_alert("R-1", "changed") };
    let mut alerts: Vec<Alert> = (0..5).map(|i| an_alert(&format!("N-{i}"), "s")).collect();
    alerts.extend([revised.clone(), kept.clone()]);
    fn incoming(alerts: &[Alert]) -> Vec<vigil::store::Incoming<'_>> {
        let grading = Grading { level: Level::Medium, illegal_path: false };
        alerts.iter().map(|alert| vigil::store::Incoming { alert, grading, raised_by: "feed" }).collect()
    }
    let report = store.ingest_page(&incoming(&alerts), &[], 0, Some("c2"), 1, fixed_now()).expect("stored");
    assert_eq!((report.new, report.revised, report.unchanged), (5, 1, 1), "{report:?}");
    assert_eq!(store.alert_count().expect("count"), 7);
    assert_eq!(store.alert(&old.key).expect("read").map(|a| a.revision), Some(2));
    for alert in &alerts[..5] {
        let kinds: Vec<_> = store.events(&alert.key).expect("events").into_iter().map(|e| e.kind).collect();
        assert!(matches!(kinds.as_slice(), [EventKind::Raised { .. }]), "{}: {kinds:?}", alert.key);
        let row = store.index_entry(&alert.key).expect("index").expect("an index entry");
        assert!(row.case.status().is_open(), "{} is open in the queue", alert.key);
    }
    assert_eq!(store.events(&old.key).expect("events").len(), 2, "raised, then revised");

    // The same page again changes nothing.
    let again = store.ingest_page(&incoming(&alerts), &[], 0, Some("c2"), 1, fixed_now()).expect("stored");
    assert_eq!((again.new, again.revised, again.unchanged), (0, 0, 7), "{again:?}");

    // One alert twice in a page, first and second revision: new, then revised, in order.
    let twice = [an_alert("T-1", "s"), Alert { revision: 2, ..an_alert("T-1", "s") }];
    let report = store.ingest_page(&incoming(&twice), &[], 0, Some("c3"), 1, fixed_now()).expect("stored");
    assert_eq!((report.new, report.revised), (1, 1), "{report:?}");
    let kinds: Vec<_> = store.events(&twice[0].key).expect("events").into_iter().map(|e| e.kind).collect();
    assert!(
        matches!(kinds.as_slice(), [EventKind::Raised { .. }, EventKind::Revised { from: 1, to: 2, .. }]),
        "{kinds:?}"
    );
}

/// The role vigil logs in as adds and reads events and audit records, and retention removes a case through
/// its function; an UPDATE or DELETE of either, by that role, is refused by the database.
#[test]
fn the_service_role_cannot_change_or_remove_events_or_audit_records() {
    let owner = fresh_school("north");
    let as_service = PgSettings { url: owner.url.replace("user=postgres", &format!("user={SERVICE_LOGIN}")), ..owner };
    let store = PgStore::open(&as_service, &key()).expect("the service role opens the store");
    let (kept, gone) = (an_alert("K-1", "s"), an_alert("G-1", "s"));
    ingest(&store, &kept);
    ingest(&store, &gone);
    let n = store.case_events_len(&kept.key).expect("count");
    store.append_decision_at(&kept.key, n, &[note(&kept.key, "dsl")]).expect("the role appends a decision");
    let tombstone = Entry::new(fixed_now() + Duration::days(500), "retention", Some(&gone.key), "purged by retention");
    store.purge_case(&gone.key, &tombstone).expect("retention purges through its function");
    assert!(store.events(&gone.key).expect("events").is_empty());
    assert!(matches!(vigil::audit::Trail::verify_against(&store, None).expect("verify"), Verdict::Intact { .. }));
    let db = as_service.url.split("dbname=").nth(1).expect("dbname").to_string();
    let mut client = postgres::Client::connect(&cluster().url(&db, SERVICE_LOGIN), postgres::NoTls).expect("connect");
    for statement in [
        "UPDATE events SET sealed = sealed",
        "DELETE FROM events",
        "UPDATE audit_records SET stored = stored",
        "DELETE FROM audit_records",
        "TRUNCATE events",
        "DELETE FROM alerts",
    ] {
        let refused = client.execute(statement, &[]).expect_err(statement);
        assert_eq!(
            refused.code(),
            Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "{statement} must be refused to the service's role: {refused}"
        );
    }
    assert_eq!(store.case_events_len(&kept.key).expect("count"), n + 1, "nothing changed");
}

/// Alert text and notes are sealed before they are sent: no table holds them in the clear.
#[test]
fn content_is_sealed_before_it_reaches_the_database() {
    let settings = fresh_school("north");
    let store = PgStore::open(&settings, &key()).expect("open");
    let alert = an_alert("S-1", "searched for something secret-marker-7");
    ingest(&store, &alert);
    let n = store.case_events_len(&alert.key).expect("count");
    let event = CaseEvent::new(fixed_now(), "dsl", EventKind::NoteAdded { text: "note-marker-9".into() });
    store
        .append_decision_at(&alert.key, n, &[(event, Entry::new(fixed_now(), "dsl", Some(&alert.key), "added a note"))])
        .expect("a note");
    store.put_blob("shot", b"blob-marker-3").expect("blob");
    let db = settings.url.split("dbname=").nth(1).expect("dbname").to_string();
    let mut admin = cluster().admin(&db).expect("connect");
    let dump: Vec<u8> = ["alerts", "events", "case_index", "audit_records", "blobs", "meta"]
        .iter()
        .flat_map(|t| {
            let rows = admin.query(&format!("SELECT t::text FROM {t} t"), &[]).expect("read");
            rows.iter().flat_map(|r| r.get::<_, String>(0).into_bytes()).collect::<Vec<u8>>()
        })
        .collect();
    let text = String::from_utf8_lossy(&dump).to_string();
    assert!(text.len() > 1000, "the tables were read");
    for marker in ["secret-marker-7", "note-marker-9", "blob-marker-3"] {
        let hex = hex::encode(marker);
        assert!(!text.contains(marker) && !text.contains(&hex), "{marker} reached the database in the clear");
    }
    assert_eq!(store.alert(&alert.key).expect("read").expect("kept").summary, alert.summary, "and it reads back");
}

#[test]
fn a_database_from_a_newer_vigil_is_refused_and_one_not_migrated_says_how() {
    let cluster = cluster();
    let db = cluster.fresh_database();
    let settings =
        PgSettings { url: cluster.url(&db, "postgres"), password_file: None, ca_file: None, school: "north".into() };
    match PgStore::open(&settings, &key()) {
        Err(StoreError::Schema(said)) => assert!(said.contains("vigil store migrate"), "{said}"),
        other => panic!("an unmigrated database is refused, got {:?}", other.map(|_| ())),
    }
    let mut admin = cluster.admin(&db).expect("connect");
    let done = schema::migrate(&mut admin).expect("migrate");
    assert_eq!((done.from, done.to), (0, schema::known_version()));
    PgStore::open(&settings, &key()).expect("opens once migrated");
    admin
        .execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES ($1, 'later', '2027-09-01T00:00:00Z', '0')",
            &[&(schema::known_version() as i32 + 1)],
        )
        .expect("a newer vigil's migration");
    for refused in [PgStore::open(&settings, &key()).map(|_| ()), schema::migrate(&mut admin).map(|_| ())] {
        match refused {
            Err(StoreError::Schema(said)) => assert!(said.contains("newer vigil"), "{said}"),
            other => panic!("a newer schema is refused, got {other:?}"),
        }
    }
}

/// `sslmode=require`: TLS, with the server's certificate checked against `[storage] ca_file` (and the
/// system's CAs), against a server that takes nothing but TLS over TCP.
#[test]
fn a_database_over_tls_is_reached_with_its_ca_and_refused_without_it() {
    let cluster = crate::backend_support::pg_cluster::private().expect("a cluster of this test's own");
    let db = cluster.fresh_database();
    cluster.stop();
    let tmp = tempfile::tempdir().expect("tmp");
    crate::common::tls::make_ca(tmp.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    cluster.start_tls(port, &tmp.path().join("server.pem"), &tmp.path().join("server.key"));

    let data = tmp.path().join("data").to_string_lossy().into_owned();
    let run = |name: &str, sslmode: &str, ca: bool, args: &[&str]| {
        let base = std::fs::read_to_string(config_with_role(tmp.path(), "dsl")).expect("config");
        let url = format!("host=127.0.0.1 port={port} user=postgres dbname={db} sslmode={sslmode}");
        let ca = if ca { format!("ca_file = {:?}\n", tmp.path().join("ca.pem")) } else { String::new() };
        let config = tmp.path().join(name);
        std::fs::write(&config, format!("{base}backend = \"postgres\"\nurl = {url:?}\nschool = \"north\"\n{ca}"))
            .expect("write");
        let config = config.to_string_lossy().into_owned();
        let mut all = vec!["--config", config.as_str(), "--data-dir", data.as_str()];
        all.extend_from_slice(args);
        vigil(&all)
    };
    let migrated = run("tls.toml", "require", true, &["store", "migrate"]);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    let verified = run("tls.toml", "require", true, &["audit", "verify"]);
    assert!(verified.status.success(), "over TLS, checked: {}", stderr(&verified));

    let unknown = run("no-ca.toml", "require", false, &["audit", "verify"]);
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("[storage] ca_file"), "the certificate's CA is unknown: {}", stderr(&unknown));
    let plain = run("plain.toml", "disable", true, &["audit", "verify"]);
    assert!(!plain.status.success());
    assert!(stderr(&plain).contains("no encryption"), "the server takes TLS only: {}", stderr(&plain));
}

#[test]
fn a_url_with_a_password_is_refused_in_the_config() {
    let text = "[storage]\nbackend = \"postgres\"\nurl = \"postgresql://vigil:hunter2@db/vigil\"\nschool = \"north\"\n";
    let err = vigil::config::Config::parse(std::path::Path::new("config.toml"), text).expect_err("refused");
    let said = err.to_string();
    assert!(said.contains("holds a password") && !said.contains("hunter2"), "{said}");
    let fine = text.replace("vigil:hunter2@", "vigil@");
    let config = vigil::config::Config::parse(std::path::Path::new("config.toml"), &fine).expect("no password: fine");
    assert_eq!(config.storage.postgres().expect("postgres").school, "north");
}

#[test]
fn another_key_is_refused_and_another_school_sees_none_of_the_cases() {
    let north = fresh_school("north");
    let store = PgStore::open(&north, &key()).expect("open");
    ingest(&store, &an_alert("N-1", "s"));
    match PgStore::open(&north, &vigil::store::StoreKey::bytes([9; 32])) {
        Err(StoreError::Key(vigil::store::KeyError::WrongKey { .. })) => {}
        other => panic!("another key is refused, got {:?}", other.map(|_| ())),
    }
    let south = PgStore::open(&PgSettings { school: "south".into(), ..north }, &key()).expect("another school");
    assert_eq!(south.alert_count().expect("count"), 0);
    assert!(south.scan_index(vigil::store::backend::IndexScan::All).expect("scan").is_empty());
    assert!(matches!(
        vigil::audit::Trail::verify_against(&south, None).expect("verify"),
        Verdict::Intact { records: 0, .. }
    ));
    assert_eq!(store.alert_count().expect("count"), 1);
}

/// The README's steps for the trust's IT team, with the real binary: `vigil store migrate`, decisions,
/// `vigil audit head`, a `pg_dump` restored into a fresh database and `vigil audit verify --expect` on it;
/// then an audit record altered in the restored copy is found.
#[test]
fn migrate_then_a_dump_restored_into_a_fresh_database_verifies_against_the_kept_head() {
    let cluster = cluster();
    let tmp = tempfile::tempdir().expect("tmp");
    let db = cluster.fresh_database();
    let config_for = |name: &str, db: &str| {
        let path = config_with_role(tmp.path(), "dsl");
        let base = std::fs::read_to_string(&path).expect("config");
        let url = cluster.url(db, "postgres");
        let own = tmp.path().join(name);
        std::fs::write(&own, format!("{base}backend = \"postgres\"\nurl = {url:?}\nschool = \"north\"\n"))
            .expect("write");
        own.to_string_lossy().into_owned()
    };
    let (config, data) = (config_for("live.toml", &db), tmp.path().join("data").to_string_lossy().into_owned());
    let run = |config: &str, args: &[&str]| {
        let mut all = vec!["--config", config, "--data-dir", data.as_str()];
        all.extend_from_slice(args);
        vigil(&all)
    };
    let compact = run(&config, &["store", "compact"]);
    assert_eq!(compact.status.code(), Some(2), "{}", stderr(&compact));
    assert!(stderr(&compact).contains("keeps the store in PostgreSQL"), "{}", stderr(&compact));
    let before = run(&config, &["audit", "verify"]);
    assert!(!before.status.success() && stderr(&before).contains("vigil store migrate"), "{}", stderr(&before));
    let migrated = run(&config, &["store", "migrate"]);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    let to = format!("schema version 0 -> {}", schema::known_version());
    assert!(stdout(&migrated).contains(&to), "{}", stdout(&migrated));
    let settings =
        PgSettings { url: cluster.url(&db, "postgres"), password_file: None, ca_file: None, school: "north".into() };
    let key = vigil::store::StoreKey::file(tmp.path().join("store.key"));
    let store = PgStore::open(&settings, &key).expect("open with the config's key");
    let alert = an_alert("B-1", "s");
    ingest(&store, &alert);
    let n = store.case_events_len(&alert.key).expect("count");
    store.append_decision_at(&alert.key, n, &[note(&alert.key, "dsl")]).expect("a decision");
    let head = run(&config, &["audit", "head"]);
    assert!(head.status.success(), "{}", stderr(&head));
    let head = stdout(&head).trim().to_string();
    assert!(head.starts_with("1:"), "one record so far: {head}");
    let dump = tmp.path().join("vigil.dump");
    let dumped = cluster.program("pg_dump").args(["-Fc", "-d", &db, "-f"]).arg(&dump).output().expect("pg_dump");
    assert!(dumped.status.success(), "{}", String::from_utf8_lossy(&dumped.stderr));
    let restored_db = cluster.fresh_database();
    let restored = cluster.program("pg_restore").args(["-d", &restored_db]).arg(&dump).output().expect("pg_restore");
    assert!(restored.status.success(), "{}", String::from_utf8_lossy(&restored.stderr));
    let restored_config = config_for("restored.toml", &restored_db);
    let verified = run(&restored_config, &["audit", "verify", "--expect", &head]);
    assert!(verified.status.success(), "{}{}", stdout(&verified), stderr(&verified));
    assert!(stdout(&verified).contains("audit trail intact: 1 records"), "{}", stdout(&verified));
    let mut admin = cluster.admin(&restored_db).expect("connect");
    admin
        .execute("UPDATE audit_records SET stored = convert_to(replace(convert_from(stored, 'UTF8'), 'dsl', 'xyz'), 'UTF8') WHERE seq = 1", &[])
        .expect("an administrator alters the record");
    let broken = run(&restored_config, &["audit", "verify", "--expect", &head]);
    assert!(!broken.status.success(), "an altered record is found: {}", stdout(&broken));
}
