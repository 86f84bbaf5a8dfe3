//! Retention: a closed case is purged (alert, events, index entry, cached screenshots) once the configured
//! number of months has passed since it was closed, and so is a case the vendor withdrew that long ago and
//! nobody closed; the audit trail keeps a content-free tombstone (ids, dates, level, outcome) and still
//! verifies. vigil runs the purge every time it opens a store; here the
//! clock is fixed.

use crate::access_support;
use crate::backend_support::{Backend, both_backends};
use crate::common;

use access_support::{alert_with_text, contains};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use vigil::audit::Verdict;
use vigil::config::Config;
use vigil::domain::AlertKey;
use vigil::domain::case::CaseCommand;
use vigil::domain::checklist::ItemKind;
use vigil::feed::protocol::parse_page;
use vigil::store::Store;
use vigil::store::backend::IndexScan;

const MARK: &str = "RetainMarkW2-";
const SHA: &str = "aa00000000000000000000000000000000000000000000000000000000000001";

fn t0() -> DateTime<Utc> {
    common::fixed_now()
}

fn key(id: &str) -> AlertKey {
    AlertKey::new("smoothwall-monitor", id)
}

/// Ticks every required item (with a plausible value) and closes with the first outcome.
fn close(svc: &crate::common::Svc, k: &AlertKey, at: DateTime<Utc>) -> String {
    for _ in 0..10 {
        let d = svc.detail(k, at).expect("detail");
        if d.missing_required.is_empty() {
            let outcome = d.outcomes[0].0.clone();
            svc.act(k, &CaseCommand::Close { outcome: outcome.clone() }, at).expect("close");
            return outcome;
        }
        for item in d.checklist.iter().filter(|i| d.missing_required.contains(&i.id)) {
            let value = match item.kind {
                ItemKind::Tick => None,
                ItemKind::Choice => item.choices.first().cloned(),
                ItemKind::Time => Some("10:00".to_string()),
                ItemKind::Date => Some("2026-11-16".to_string()),
                _ => Some("REF-1".to_string()),
            };
            svc.act(k, &CaseCommand::Tick { item: item.id.clone(), value, note: None }, at).expect("tick");
        }
    }
    panic!("could not close {k}");
}

both_backends!(
    a_closed_case_is_purged_after_its_months_and_leaves_a_tombstone,
    a_case_the_vendor_withdrew_and_nobody_closed_is_purged_after_its_months_from_the_withdrawal,
);

fn a_closed_case_is_purged_after_its_months_and_leaves_a_tombstone(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let c = Config::default();
    assert_eq!(c.storage.retention_months, 15, "the vendor's own retention by default");
    let opened = backend.open(&data);
    let sled = (backend == Backend::Sled).then(|| opened.sled().clone());
    let svc =
        common::Svc::over(opened.store.clone(), opened.trail.clone(), sled, common::default_policy(), common::dsl());
    let mut a = alert_with_text("RET-A", "student", MARK, 1);
    a["captures"] = json!([
        {"at": "2026-11-10T09:59:00+00:00", "text": "x",
         "screenshot": {"url": "shots/a.png", "media_type": "image/png", "sha256": SHA}},
        {"at": "2026-11-10T09:59:00+00:00", "text": "y",
         "screenshot": {"url": "shots/b.png", "media_type": "image/png"}},
    ]);
    let alerts = vec![
        a,
        alert_with_text("RET-B", "student", MARK, 1),
        alert_with_text("RET-C", "student", MARK, 1),
        alert_with_text("RET-D", "staff", MARK, 3),
    ];
    let body = json!({"feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": "c1", "more": false});
    svc.ingest(&parse_page(body.to_string().as_bytes()).expect("page"), t0()).expect("ingest");
    svc.cases().cache_blob(&format!("sha256:{SHA}"), b"png-a", 1 << 20).expect("cache");
    let stored = svc.cases().alert(&key("RET-A")).expect("read").expect("stored");
    let b_shot = stored.captures[1].screenshot.clone().expect("the second capture has one");
    let b_name = vigil::service::shots::cache_name(&key("RET-A"), &b_shot);
    assert!(!b_name.contains("shots"), "a cache name carries no URL: {b_name}");
    svc.cases().cache_blob(&b_name, b"png-b", 1 << 20).expect("cache");
    // As an earlier vigil named it.
    svc.cases().cache_blob("url:http://feed.example/v/shots/b.png", b"old-b", 1 << 20).expect("cache");
    svc.cases().cache_blob("sha256:ffff", b"another case's", 1 << 20).expect("cache");

    let outcome = close(&svc, &key("RET-A"), t0());
    close(&svc, &key("RET-B"), t0() + Duration::days(1));
    close(&svc, &key("RET-D"), t0());
    // RET-C stays open: an open case is never purged, however old.

    let until = Utc.with_ymd_and_hms(2028, 2, 16, 10, 0, 0).single().expect("valid"); // t0 + 15 months
    assert_eq!(svc.purge_expired(15, until - Duration::minutes(1)).expect("purge"), 0, "not a minute early");
    assert!(svc.cases().alert(&key("RET-A")).expect("read").is_some());

    let records_before = svc.trail().records().expect("records").len();
    assert_eq!(svc.purge_expired(15, until).expect("purge"), 2, "RET-A and the staff case RET-D");
    for id in ["RET-A", "RET-D"] {
        assert_eq!(svc.cases().alert(&key(id)).expect("read"), None, "{id}: alert gone");
        assert!(svc.cases().events(&key(id)).expect("read").is_empty(), "{id}: events gone");
        assert_eq!(svc.cases().index_entry(&key(id)).expect("read"), None, "{id}: index entry gone");
    }
    assert_eq!(svc.cases().cached_blob(&format!("sha256:{SHA}")).expect("cache"), None, "its screenshot");
    assert_eq!(svc.cases().cached_blob(&b_name).expect("cache"), None);
    assert_eq!(svc.cases().cached_blob("url:http://feed.example/v/shots/b.png").expect("cache"), None);
    assert_eq!(svc.cases().cached_blob("sha256:ffff").expect("cache"), Some(b"another case's".to_vec()));
    assert_eq!(svc.cases().cached_blob_bytes().expect("total"), 14, "the cache's total follows");
    let queue = svc.queue(until).expect("queue");
    let ids: Vec<&str> = queue.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&"RET-B") && ids.contains(&"RET-C"));
    assert_eq!(svc.purge_expired(15, until + Duration::hours(23)).expect("purge"), 0, "RET-B's day has not come");
    assert_eq!(svc.purge_expired(15, until + Duration::days(1)).expect("purge"), 1, "now it has");

    let records = svc.trail().records().expect("records");
    let tombstones: Vec<_> = records[records_before..].iter().filter(|r| r.actor == "retention").collect();
    assert_eq!(tombstones.len(), 3);
    let a = tombstones.iter().find(|r| r.case.as_deref() == Some("smoothwall-monitor:RET-A")).expect("RET-A's");
    assert_eq!(
        a.what,
        format!(
            "purged by retention (15 months after closing): raised 2026-11-10, closed 2026-11-16, level low, outcome {outcome}"
        )
    );
    assert_eq!(a.at, until);
    assert!(records.iter().all(|r| !r.what.contains(MARK)), "tombstones carry no content");
    assert!(matches!(svc.audit_verify().expect("verify"), Verdict::Intact { .. }), "the chain still holds");
    let history = svc.audit_records(Some("RET-A")).expect("the DSL reads a purged case's trail");
    assert!(history.len() > 3 && history.last().is_some_and(|r| r.actor == "retention"));
    drop(svc);

    if let Some(pg) = opened.postgres() {
        // The same, in the tables, as their owner; then a second service's view of the index.
        let mut db = postgres::Client::connect(&pg.url, postgres::NoTls).expect("connect as the owner");
        for table in ["alerts", "events", "case_index"] {
            for id in ["RET-A", "RET-B", "RET-D"] {
                let sql = format!("SELECT count(*) FROM {table} WHERE position($1::bytea in case_key) > 0");
                let n: i64 = db.query_one(&sql, &[&id.as_bytes()]).expect("count").get(0);
                assert_eq!(n, 0, "{table} still holds {id}");
            }
        }
        let again = opened.another();
        assert_eq!(again.store.scan_index(IndexScan::All).expect("index").len(), 1, "RET-C only");
        return;
    }
    drop(opened);
    {
        let db = access_support::open_sled(&data.join("db"));
        for tree in ["alerts", "events", "index-open", "index-closed"] {
            for kv in db.open_tree(tree).expect("tree").iter() {
                let (k, _) = kv.expect("kv");
                for id in ["RET-A", "RET-B", "RET-D"] {
                    assert!(!contains(&k, id.as_bytes()), "{tree} still holds {id}");
                }
            }
        }
    }
    // (Opened raw, the store's files must be its owner's again before vigil opens it.)
    let data_s = data.to_str().expect("utf8");
    assert!(std::process::Command::new("chmod").args(["-R", "go-rwx", data_s]).status().expect("chmod").success());
    // Reopened, with the index rebuilt from the log, the purged cases do not come back.
    let store = Store::open(&data, &crate::backend_support::key()).expect("reopen");
    store.rebuild_index().expect("rebuild");
    assert_eq!(store.index_entries().count(), 1, "RET-C only");
}

/// Ingests `alerts` (revision, withdrawn) as the feed would send them at `at`.
fn feed(svc: &crate::common::Svc, alerts: &[(&str, u32, bool)], at: DateTime<Utc>) {
    let alerts: Vec<_> = alerts
        .iter()
        .map(|(id, revision, withdrawn)| {
            let mut a = alert_with_text(id, "student", MARK, 1);
            a["revision"] = json!(revision);
            a["withdrawn"] = json!(withdrawn);
            a
        })
        .collect();
    let body = json!({"feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": "c", "more": false});
    svc.ingest(&parse_page(body.to_string().as_bytes()).expect("page"), at).expect("ingest");
}

fn a_case_the_vendor_withdrew_and_nobody_closed_is_purged_after_its_months_from_the_withdrawal(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let svc = common::Svc::on(backend, &tmp.path().join("data"), common::default_policy(), common::dsl());
    feed(&svc, &[("WD-A", 1, false), ("WD-R", 1, false)], t0());
    // Nothing is closed or withdrawn yet: retention learns that and, until something is, reads nothing.
    assert_eq!(svc.purge_expired(15, t0()).expect("purge"), 0);

    feed(&svc, &[("WD-A", 2, true)], t0()); // withdrawn by a revision
    feed(&svc, &[("WD-N", 1, true)], t0() + Duration::days(1)); // arrives withdrawn
    feed(&svc, &[("WD-R", 2, true)], t0()); // withdrawn, then reinstated: open again
    feed(&svc, &[("WD-R", 3, false)], t0() + Duration::days(2));

    let until = Utc.with_ymd_and_hms(2028, 2, 16, 10, 0, 0).single().expect("valid"); // t0 + 15 months
    assert_eq!(svc.purge_expired(15, until - Duration::minutes(1)).expect("purge"), 0, "not a minute early");
    let records_before = svc.trail().records().expect("records").len();
    assert_eq!(svc.purge_expired(15, until).expect("purge"), 1, "WD-A, counted from its withdrawal");
    assert_eq!(svc.cases().alert(&key("WD-A")).expect("read"), None);
    assert!(svc.cases().events(&key("WD-A")).expect("read").is_empty());
    let records = svc.trail().records().expect("records");
    let tombstone = &records[records_before..];
    assert_eq!(tombstone.len(), 1);
    assert_eq!(
        tombstone[0].what,
        "purged by retention (15 months after the vendor withdrew it, never closed): raised 2026-11-10, withdrawn 2026-11-16, level low"
    );
    assert_eq!(svc.purge_expired(15, until + Duration::days(1)).expect("purge"), 1, "WD-N a day later");
    assert!(svc.cases().alert(&key("WD-R")).expect("read").is_some(), "a reinstated case stays");
    let queue = svc.queue(until + Duration::days(400)).expect("queue");
    assert_eq!(queue.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["WD-R"]);
    assert!(matches!(svc.audit_verify().expect("verify"), Verdict::Intact { .. }));
}

#[test]
fn retention_is_configurable_and_checked() {
    let c = Config::parse(std::path::Path::new("c.toml"), "[storage]\nretention_months = 24\n").expect("valid");
    assert_eq!(c.storage.retention_months, 24);
    let err = Config::parse(std::path::Path::new("c.toml"), "[storage]\nretention_months = 0\n").expect_err("0");
    assert!(err.to_string().contains("retention_months must be 1-1200"), "{err}");
    let err = Config::parse(std::path::Path::new("c.toml"), "[storage]\nkey_file = \"/k\"\npassphrase_file = \"/p\"\n")
        .expect_err("both");
    assert!(err.to_string().contains("not both"), "{err}");
}
