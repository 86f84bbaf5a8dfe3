//! A case's events are folded into the queue index in the order they are committed, and read back from the
//! log in the order of their numbers: the two orders must be one, or an index rebuilt from the log (the
//! source of truth) would disagree with the one the queue showed. A reviewer's decisions and the feed's
//! revisions of the same case race here, on two threads, over a real store.

use crate::backend_support::{Backend, both_backends};
use crate::feed_support;

use feed_support::*;
use serde_json::json;
use vigil::domain::case::CaseCommand;
use vigil::domain::{AlertKey, Level};
use vigil::feed::protocol::parse_page;

both_backends!(decisions_and_feed_revisions_racing_on_the_same_cases_leave_the_log_and_the_index_agreeing);

fn decisions_and_feed_revisions_racing_on_the_same_cases_leave_the_log_and_the_index_agreeing(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = service_on(backend, dir.path());
    const CASES: usize = 60;
    const REVISIONS: u32 = 30;
    let ids: Vec<String> = (0..CASES).map(|i| format!("RACE{i:02}")).collect();
    let ingest = |revision: u32| {
        let risk = if revision.is_multiple_of(2) { 5 } else { 1 };
        let alerts: Vec<_> = ids.iter().map(|id| alert(id, json!({"revision": revision, "risk": risk}))).collect();
        let page = parse_page(page(&alerts, Some("c"), false).as_bytes()).expect("page");
        service.ingest(&page, chrono::Utc::now()).expect("ingest");
    };
    ingest(1);

    std::thread::scope(|s| {
        // The feed: every case revised again and again, its level going up and down with the risk.
        s.spawn(|| (2..2 + REVISIONS).for_each(ingest));
        // The reviewer, meanwhile: each case regraded once, which decides whether later revisions may still
        // change its level. Which comes first differs from case to case.
        s.spawn(|| {
            for id in &ids {
                let key = AlertKey::new("smoothwall-monitor", id);
                let regrade = CaseCommand::Regrade { level: Level::Medium, reason: "race".into() };
                // A case revised under the regrade again and again is `Busy` (the reviewer is told to try
                // again, nothing recorded): what they would do, until it lands.
                loop {
                    match service.act(&key, &regrade, chrono::Utc::now()) {
                        Err(vigil::service::ServiceError::Busy) => continue,
                        other => {
                            other.expect("regrade");
                            break;
                        }
                    };
                }
            }
        });
    });

    // The index the queue showed is the one its log gives: folded here (either backend), and on sled also
    // rebuilt by the store itself.
    for id in &ids {
        crate::common::assert_index_is_the_fold_of_the_log(&service, &AlertKey::new("smoothwall-monitor", id));
    }
    if backend == Backend::Sled {
        let live: Vec<_> = ids.iter().map(|id| case_of(&service, id)).collect();
        service.store().rebuild_index().expect("rebuild");
        for (id, live) in ids.iter().zip(live) {
            assert_eq!(live, case_of(&service, id), "{id}: the index the queue showed is the one its log gives");
        }
    }
}

fn case_of(service: &crate::common::Svc, id: &str) -> vigil::domain::case::Case {
    let key = AlertKey::new("smoothwall-monitor", id);
    service.cases().index_entry(&key).expect("read").expect("indexed").case
}
