//! The audit trail stands as evidence: every view of a case's content, every action and every export is a
//! record (actor, time, case, what) with no content in it; the records are hash-chained, and `vigil audit
//! verify` names the first record that was edited, deleted or moved, and exits non-zero.

mod access_support;
mod common;

use std::path::Path;

use access_support::{Env, alert_with_text, feed, stderr, stdout};
use chrono::Duration;
use common::{dsl, fixed_now, fixture_service};
use vigil::audit::Verdict;
use vigil::domain::case::CaseCommand;
use vigil::identity::os_user;

const MARK: &str = "AuditMark7q-";

#[test]
fn views_actions_and_exports_are_recorded_without_content() {
    let feed =
        feed(vec![alert_with_text("AUD-1", "student", MARK, 5), alert_with_text("AUD-2", "student", MARK, 2), {
            let mut bad = alert_with_text("AUD-3", "student", MARK, 3);
            bad["risk"] = serde_json::json!(9);
            bad
        }]);
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role(tmp.path(), "dsl");
    env.ok(&["--feed-url", &feed.url, "sync", "--once"]);
    let note = format!("{MARK}typed-note");
    for args in [
        vec!["list"],
        vec!["list", "--json"],
        vec!["show", "AUD-1"],
        vec!["show", "AUD-1", "--json"],
        vec!["show", "AUD-1", "--cpoms"],
        vec!["case", "AUD-1", "tick", "review-alert", "--note", &note],
        vec!["case", "AUD-1", "regrade", "medium", "--reason", &note],
        vec!["case", "AUD-1", "note", &note],
        vec!["report", "--from", "2026-11-01", "--to", "2026-11-30"],
        vec!["feed", "rejected"],
    ] {
        env.ok(&args);
    }
    let out = env.ok(&["audit", "show"]);
    let text = stdout(&out);
    assert!(!text.contains(MARK), "no alert content and nothing typed reaches the trail:\n{text}");
    let user = os_user().expect("user");
    let lines: Vec<&str> = text.lines().collect();
    let whats = [
        ("-", "listed the queue (2 cases)"),
        ("-", "exported the queue as JSON (2 cases)"),
        ("smoothwall-monitor:AUD-1", "opened the case"),
        ("smoothwall-monitor:AUD-1", "opened the case"),
        ("smoothwall-monitor:AUD-1", "exported the case as JSON"),
        ("smoothwall-monitor:AUD-1", "produced the CPOMS text"),
        ("smoothwall-monitor:AUD-1", "ticked review-alert with a note"),
        ("smoothwall-monitor:AUD-1", "regraded high -> medium"),
        ("smoothwall-monitor:AUD-1", "added a note"),
        ("-", "exported a report (md, 2026-11-01 to 2026-11-30)"),
        ("-", "listed the rejected alerts (1)"),
    ];
    assert_eq!(lines.len(), whats.len(), "one record per view, action and export:\n{text}");
    for (i, (line, (case, what))) in lines.iter().zip(whats).enumerate() {
        let seq = format!("{:>6}", i + 1);
        assert!(line.starts_with(&seq), "numbered in order: {line}");
        assert!(line.contains(&format!("  {user}  {case}  {what}")), "record {}: {line}", i + 1);
    }

    let one = stdout(&env.ok(&["audit", "show", "AUD-1"]));
    assert_eq!(one.lines().count(), 7, "only the records about AUD-1:\n{one}");
    assert!(one.lines().all(|l| l.contains("smoothwall-monitor:AUD-1")));

    let out = env.ok(&["audit", "verify"]);
    assert!(stdout(&out).starts_with("audit trail intact: 11 records; head "), "{}", stdout(&out));
    drop(feed);
}

#[test]
fn only_the_dsl_reads_the_trail_and_a_reporter_cannot_verify_it() {
    for (role, show, verify) in [("dsl", 0, 0), ("ddsl", 3, 0), ("officer", 3, 0), ("reporter", 3, 3)] {
        let tmp = tempfile::tempdir().expect("tmp");
        let env = Env::with_role(tmp.path(), role);
        let out = env.run(&["audit", "show"]);
        assert_eq!(out.status.code(), Some(show), "{role}: audit show: {}", stderr(&out));
        if show != 0 {
            assert!(stderr(&out).lines().count() == 1, "one plain line: {}", stderr(&out));
            assert!(!stderr(&out).contains("panicked"));
            assert!(stdout(&out).is_empty(), "{role} sees nothing of the trail");
        }
        let out = env.run(&["audit", "verify"]);
        assert_eq!(out.status.code(), Some(verify), "{role}: audit verify: {}", stderr(&out));
    }
}

#[test]
fn an_action_and_its_record_are_written_together_and_a_refused_one_leaves_none() {
    let tmp = tempfile::tempdir().expect("tmp");
    let service = fixture_service(&tmp.path().join("data"), dsl());
    let key = service.find("SW-2026-004506").expect("case");
    let before = service.store().audit_records().expect("records").len();
    let refused = service.act(&key, &CaseCommand::Close { outcome: "nonsense".into() }, fixed_now());
    assert!(refused.is_err());
    assert_eq!(service.store().audit_records().expect("records").len(), before, "nothing happened, nothing recorded");
    let [event] = <[_; 1]>::try_from(
        service
            .act(&key, &CaseCommand::Note { text: "spoke to tutor about SECRET".into() }, fixed_now())
            .expect("note"),
    )
    .expect("a note is one event");
    let records = service.store().audit_records().expect("records");
    let last = records.last().expect("a record");
    assert_eq!(last.what, "added a note");
    assert_eq!(last.case.as_deref(), Some(key.to_string().as_str()));
    assert_eq!((last.at, last.actor.as_str()), (event.at, "dsl-user"));
    assert!(service.store().events(&key).expect("events").contains(&event));
    // Reading a checklist to resolve an item number is not a view of content; opening the case is.
    let n = records.len();
    service.checklist(&key, fixed_now()).expect("checklist");
    assert_eq!(service.store().audit_records().expect("records").len(), n);
    service.detail(&key, fixed_now()).expect("detail");
    assert_eq!(service.store().audit_records().expect("records").len(), n + 1);
}

/// A DSL's store with the demo data and six audit records (six views of a case, a minute apart), closed;
/// returns the env whose config and key the binary uses to verify it.
fn six_records(dir: &Path) -> Env {
    let data = dir.join("data");
    {
        let service = fixture_service(&data, dsl());
        let key = service.find("SW-2026-004506").expect("case");
        for i in 0..6 {
            service.detail(&key, fixed_now() + Duration::minutes(i)).expect("detail");
        }
        assert!(matches!(service.audit_verify().expect("verify"), Verdict::Intact { records: 6, .. }));
    }
    let env = Env::with_role(dir, "dsl");
    assert_eq!(env.data, data);
    env
}

fn audit_tree(env: &Env) -> (sled::Db, sled::Tree) {
    let db = access_support::open_sled(&env.data.join("db"));
    let tree = db.open_tree("audit").expect("audit tree");
    (db, tree)
}

fn record_key(seq: u64) -> Vec<u8> {
    [b"r/".as_slice(), &seq.to_be_bytes()].concat()
}

fn broken_at(env: &Env) -> String {
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "a broken trail fails: {}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn an_edited_record_is_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(tmp.path());
    {
        let (db, t) = audit_tree(&env);
        let v = t.get(record_key(3)).expect("get").expect("record 3").to_vec();
        let text = String::from_utf8(v).expect("text");
        assert!(text.contains("\"actor\":\"dsl-user\""), "{text}");
        t.insert(record_key(3), text.replace("dsl-user", "someone-else").into_bytes()).expect("edit");
        db.flush().expect("flush");
    }
    let err = broken_at(&env);
    assert!(err.contains("audit trail broken at record 3: it was altered"), "{err}");
}

#[test]
fn a_flipped_byte_is_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(tmp.path());
    {
        let (db, t) = audit_tree(&env);
        let mut v = t.get(record_key(2)).expect("get").expect("record 2").to_vec();
        let at = v.len() - 10;
        v[at] ^= 0x01;
        t.insert(record_key(2), v).expect("tamper");
        db.flush().expect("flush");
    }
    let err = broken_at(&env);
    assert!(err.contains("audit trail broken at record 2:"), "{err}");
}

#[test]
fn a_rewritten_record_with_a_fresh_hash_breaks_the_next_link() {
    use sha2::{Digest, Sha256};
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(tmp.path());
    {
        let (db, t) = audit_tree(&env);
        let v: serde_json::Value =
            serde_json::from_slice(&t.get(record_key(4)).expect("get").expect("4")).expect("json");
        let mut record = v["record"].clone();
        record["what"] = serde_json::json!("nothing to see");
        let canonical = serde_json::to_string(&record).expect("json");
        let hash = hex::encode(Sha256::digest(canonical.as_bytes()));
        let forged = format!("{{\"hash\":\"{hash}\",\"record\":{canonical}}}");
        t.insert(record_key(4), forged.into_bytes()).expect("forge");
        db.flush().expect("flush");
    }
    let err = broken_at(&env);
    assert!(err.contains("audit trail broken at record 5: it does not follow record 4"), "{err}");
}

#[test]
fn a_deleted_record_is_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(tmp.path());
    {
        let (db, t) = audit_tree(&env);
        t.remove(record_key(4)).expect("delete");
        db.flush().expect("flush");
    }
    let err = broken_at(&env);
    assert!(err.contains("audit trail broken at record 4: it is missing"), "{err}");
}

#[test]
fn a_deleted_last_record_is_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(tmp.path());
    {
        let (db, t) = audit_tree(&env);
        t.remove(record_key(6)).expect("delete");
        db.flush().expect("flush");
    }
    let err = broken_at(&env);
    assert!(err.contains("audit trail broken at record 6: it is missing"), "{err}");
}

#[test]
fn reordered_records_are_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(tmp.path());
    {
        let (db, t) = audit_tree(&env);
        let two = t.get(record_key(2)).expect("get").expect("2");
        let three = t.get(record_key(3)).expect("get").expect("3");
        t.insert(record_key(2), three).expect("swap");
        t.insert(record_key(3), two).expect("swap");
        db.flush().expect("flush");
    }
    let err = broken_at(&env);
    assert!(err.contains("audit trail broken at record 2: it is out of place"), "{err}");
}

#[test]
fn an_untouched_trail_verifies() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(tmp.path());
    let out = env.ok(&["audit", "verify"]);
    assert!(stdout(&out).starts_with("audit trail intact: 6 records; head "), "{}", stdout(&out));
    let shown = stdout(&env.ok(&["audit", "show"]));
    assert_eq!(shown.lines().count(), 6);
    assert!(
        shown.lines().next().is_some_and(
            |l| l.contains("2026-11-16 10:00:00 UTC  dsl-user  smoothwall-monitor:SW-2026-004506  opened the case")
        ),
        "{shown}"
    );
}
