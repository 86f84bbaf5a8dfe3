//! `vigil store compact`: the store rewritten into a fresh sled file, byte for byte, and swapped in; and a
//! compaction interrupted at any step finished or undone at the next open, nothing lost.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use vigil::domain::AlertKey;
use vigil::domain::case::CaseCommand;
use vigil::feed::protocol::parse_page;
use vigil::store::compact::compact;
use vigil::store::{Store, StoreKey};

fn key_of(dir: &Path) -> StoreKey {
    StoreKey::file(key_file_for(dir))
}

fn open(dir: &Path) -> crate::common::Svc {
    let store = Store::open(dir, &key_of(dir)).expect("the store opens");
    let config = vigil::config::Config::default();
    crate::common::Svc::new(store, config.calendar(), config.due, config.levels.clone(), dsl())
}

/// Everything the store holds that a reader can see, in store order.
fn contents(service: &crate::common::Svc) -> (Vec<String>, Vec<String>, usize, Option<String>) {
    let store = service.store();
    let alerts = store.alerts().map(|a| format!("{:?}", a.expect("alert"))).collect();
    let events = store.all_events().map(|e| format!("{:?}", e.expect("event"))).collect();
    let index = store.index_entries().count();
    (alerts, events, index, store.feed_state().expect("feed state").cursor)
}

fn audit_head(service: &crate::common::Svc) -> String {
    match service.audit_verify().expect("verify") {
        vigil::audit::Verdict::Intact { records, head, .. } => format!("{records} {head:?}"),
        broken => panic!("{broken:?}"),
    }
}

fn first_key(service: &crate::common::Svc) -> AlertKey {
    service.queue(fixed_now()).expect("queue")[0].key.clone()
}

#[test]
fn compaction_keeps_everything_and_later_events_sort_after_earlier_ones() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("data");
    let key = {
        let service = fixture_service(&dir, dsl());
        let k = first_key(&service);
        let note = CaseCommand::Note { text: "before compaction".into() };
        service.act(&k, &note, fixed_now()).expect("note");
        k
    };
    // sled's id counter jumps ahead at each open: after a few, the ids in use are far above where a new
    // file's counter starts.
    for round in 0..3 {
        let note = CaseCommand::Note { text: format!("reopened {round}") };
        open(&dir).act(&key, &note, fixed_now()).expect("note");
    }
    let (before, head) = {
        let service = open(&dir);
        (contents(&service), audit_head(&service))
    };

    let done = compact(&dir, &key_of(&dir)).expect("compact");
    assert!(done.entries > 0 && done.bytes_after > 0, "{done:?}");
    for leftover in ["db.compact", "db.old", "db.compact.done"] {
        assert!(!dir.join(leftover).exists(), "{leftover} is gone");
    }

    let service = open(&dir);
    assert_eq!(contents(&service), before, "every alert, event, index entry and the cursor, as they were");
    assert_eq!(audit_head(&service), head, "the audit chain, intact, with the same head");
    let note = CaseCommand::Note { text: "after compaction".into() };
    service.act(&key, &note, fixed_now()).expect("note");
    let events = service.store().events(&key).expect("events");
    let last = events.last().map(|e| format!("{:?}", e.kind)).unwrap_or_default();
    assert!(last.contains("after compaction"), "the new event is the case's last, not its first: {last}");
}

/// Two stores with one key: the one in place (the demo data) and a copy that has one alert more, made as a
/// compaction would have made it.
struct Interrupted {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Interrupted {
    fn new() -> Interrupted {
        let tmp = tempfile::tempdir().expect("tmp");
        let (dir, other) = (tmp.path().join("data"), tmp.path().join("copy"));
        drop(fixture_service(&dir, dsl()));
        let copy = fixture_service(&other, dsl());
        let demo: Vec<serde_json::Value> =
            serde_json::from_str(vigil::feed::demo::DEMO_ALERTS).expect("demo data parses");
        let mut extra = demo[0].clone();
        extra["id"] = serde_json::json!("ONLY-IN-THE-COPY");
        let body = serde_json::json!({"feed": "vigil.alert-feed/1", "alerts": [extra], "cursor": "c", "more": false});
        let page = parse_page(body.to_string().as_bytes()).expect("page");
        copy.ingest(&page, fixed_now()).expect("ingest");
        drop(copy);
        std::fs::rename(other.join("db"), dir.join("db.compact")).expect("the copy beside the store");
        Interrupted { _tmp: tmp, dir }
    }

    fn mark_done(&self) -> &Self {
        std::fs::write(self.dir.join("db.compact.done"), b"").expect("marker");
        self
    }

    fn rename(&self, from: &str, to: &str) -> &Self {
        std::fs::rename(self.dir.join(from), self.dir.join(to)).expect("rename");
        self
    }

    /// Opens the store and says whether it is the copy (the compacted one) or the original.
    fn opened_copy(&self) -> bool {
        let service = open(&self.dir);
        for leftover in ["db.compact", "db.old", "db.compact.done"] {
            assert!(!self.dir.join(leftover).exists(), "{leftover} is cleared at open");
        }
        let found = service.find("ONLY-IN-THE-COPY").is_ok();
        assert!(service.queue(fixed_now()).expect("queue").len() >= 45, "the demo cases are all there");
        found
    }
}

#[test]
fn a_copy_without_its_marker_is_dropped_and_the_store_stands() {
    assert!(!Interrupted::new().opened_copy());
}

#[test]
fn a_complete_copy_not_yet_swapped_in_is_swapped_in() {
    assert!(Interrupted::new().mark_done().opened_copy());
}

#[test]
fn a_swap_stopped_with_the_store_set_aside_is_finished() {
    let s = Interrupted::new();
    s.mark_done().rename("db", "db.old");
    assert!(s.opened_copy());
}

#[test]
fn a_swap_stopped_before_the_old_store_was_removed_is_tidied() {
    let s = Interrupted::new();
    s.mark_done().rename("db", "db.old").rename("db.compact", "db");
    assert!(s.opened_copy());
}

#[test]
fn an_old_store_left_without_a_marker_or_a_store_is_put_back() {
    let s = Interrupted::new();
    std::fs::remove_dir_all(s.dir.join("db.compact")).expect("no copy");
    s.rename("db", "db.old");
    assert!(!s.opened_copy(), "the original, not an empty new store");
}

#[test]
fn vigil_store_compact_reports_what_it_did_and_keeps_the_cases() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = config_with_role(tmp.path(), "dsl");
    let data = tmp.path().join("data");
    drop(fixture_service(&data, dsl()));
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a =
            vec!["--config".into(), config.display().to_string(), "--data-dir".into(), data.display().to_string()];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        vigil(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let before = stdout(&run(&["list", "--all", "--json"]));
    let out = run(&["store", "compact"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("compacted: "), "{}", stdout(&out));
    assert_eq!(stdout(&run(&["list", "--all", "--json"])), before);
}
