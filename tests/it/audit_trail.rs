//! The audit trail stands as evidence: every view of a case's content, every action and every export is a
//! record (actor, time, case, what) with no content in it; the records are hash-chained, and `vigil audit
//! verify` names the first record that was edited, deleted or moved, and exits non-zero.

use crate::access_support;
use crate::backend_support::{Backend, both_backends};
use crate::common;

use std::path::Path;

use access_support::{Env, alert_with_text, feed, stderr, stdout};
use chrono::Duration;
use common::{dsl, fixed_now, fixture_service_on};
use vigil::audit::Verdict;
use vigil::domain::case::CaseCommand;
use vigil::identity::os_user;

const MARK: &str = "AuditMark7q-";

both_backends!(
    views_actions_and_exports_are_recorded_without_content,
    only_the_dsl_reads_the_trail_and_a_reporter_cannot_verify_it,
    an_action_and_its_record_are_written_together_and_a_refused_one_leaves_none,
    an_edited_record_is_named,
    a_flipped_byte_is_named,
    a_rewritten_and_rechained_trail_is_found_without_the_key,
    a_wiped_trail_is_found_and_never_verifies_as_intact,
    a_cut_tail_with_its_head_rewritten_is_found_without_the_key,
    a_store_rolled_back_verifies_on_its_own_but_not_against_the_kept_head,
    the_head_goes_to_the_head_command_and_the_log,
    a_deleted_record_is_named,
    a_deleted_last_record_is_named,
    reordered_records_are_named,
    an_untouched_trail_verifies,
    a_decision_removed_from_a_case_log_is_named,
);

fn views_actions_and_exports_are_recorded_without_content(backend: Backend) {
    let feed =
        feed(vec![alert_with_text("AUD-1", "student", MARK, 5), alert_with_text("AUD-2", "student", MARK, 2), {
            let mut bad = alert_with_text("AUD-3", "student", MARK, 3);
            bad["risk"] = serde_json::json!(9);
            bad
        }]);
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role_on(backend, tmp.path(), "dsl");
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

fn only_the_dsl_reads_the_trail_and_a_reporter_cannot_verify_it(backend: Backend) {
    for (role, show, verify) in [("dsl", 0, 0), ("ddsl", 3, 0), ("officer", 3, 0), ("reporter", 3, 3)] {
        let tmp = tempfile::tempdir().expect("tmp");
        let env = Env::with_role_on(backend, tmp.path(), role);
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

fn an_action_and_its_record_are_written_together_and_a_refused_one_leaves_none(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let service = fixture_service_on(backend, &tmp.path().join("data"), dsl());
    let key = service.find("SW-2026-004506").expect("case");
    let before = service.trail().records().expect("records").len();
    let refused = service.act(&key, &CaseCommand::Close { outcome: "nonsense".into() }, fixed_now());
    assert!(refused.is_err());
    assert_eq!(service.trail().records().expect("records").len(), before, "nothing happened, nothing recorded");
    let [event] = <[_; 1]>::try_from(
        service
            .act(&key, &CaseCommand::Note { text: "spoke to tutor about SECRET".into() }, fixed_now())
            .expect("note"),
    )
    .expect("a note is one event");
    let records = service.trail().records().expect("records");
    let last = records.last().expect("a record");
    assert_eq!(last.what, "added a note");
    assert_eq!(last.case.as_deref(), Some(key.to_string().as_str()));
    assert_eq!((last.at, last.actor.as_str()), (event.at, "dsl-user"));
    assert!(service.cases().events(&key).expect("events").contains(&event));
    // Reading a checklist to resolve an item number is not a view of content; opening the case is.
    let n = records.len();
    service.checklist(&key, fixed_now()).expect("checklist");
    assert_eq!(service.trail().records().expect("records").len(), n);
    service.detail(&key, fixed_now()).expect("detail");
    assert_eq!(service.trail().records().expect("records").len(), n + 1);
}

/// A DSL's store on `backend` with the demo data and six audit records (six views of a case, a minute apart),
/// closed; returns the env whose config and key the binary uses to verify it.
fn six_records(backend: Backend, dir: &Path) -> Env {
    let env = Env::with_role_on(backend, dir, "dsl");
    {
        let service = env.fixture(dsl());
        let key = service.find("SW-2026-004506").expect("case");
        for i in 0..6 {
            service.detail(&key, fixed_now() + Duration::minutes(i)).expect("detail");
        }
        assert!(matches!(service.audit_verify().expect("verify"), Verdict::Intact { records: 6, .. }));
    }
    env
}

/// The trail as it is stored, reached as whoever holds sled's files, or as the database's owner (the role the
/// tests' cluster connects as), would reach it: its records by number, its head and its key marker. sled's
/// changes are flushed when it is dropped.
enum Raw {
    Sled(sled::Db, sled::Tree),
    Postgres(Box<postgres::Client>),
}

fn audit_tree(env: &Env) -> Raw {
    match &env.pg {
        None => {
            let db = access_support::open_sled(&env.data.join("db"));
            let tree = db.open_tree("audit").expect("audit tree");
            Raw::Sled(db, tree)
        }
        Some(pg) => {
            Raw::Postgres(Box::new(postgres::Client::connect(&pg.url, postgres::NoTls).expect("connect as the owner")))
        }
    }
}

fn record_key(seq: u64) -> Vec<u8> {
    [b"r/".as_slice(), &seq.to_be_bytes()].concat()
}

/// The tests' school (`backend_support::fresh_school`).
const SCHOOL: &str = "north";

impl Raw {
    fn get(&mut self, seq: u64) -> Option<Vec<u8>> {
        match self {
            Raw::Sled(_, t) => t.get(record_key(seq)).expect("get").map(|v| v.to_vec()),
            Raw::Postgres(c) => c
                .query_opt("SELECT stored FROM audit_records WHERE school = $1 AND seq = $2", &[&SCHOOL, &(seq as i64)])
                .expect("select")
                .map(|r| r.get(0)),
        }
    }

    fn put(&mut self, seq: u64, stored: Vec<u8>) {
        match self {
            Raw::Sled(_, t) => drop(t.insert(record_key(seq), stored).expect("insert")),
            Raw::Postgres(c) => drop(
                c.execute(
                    "INSERT INTO audit_records (school, seq, stored) VALUES ($1, $2, $3) \
                     ON CONFLICT (school, seq) DO UPDATE SET stored = EXCLUDED.stored",
                    &[&SCHOOL, &(seq as i64), &stored],
                )
                .expect("upsert"),
            ),
        }
    }

    fn remove(&mut self, seq: u64) {
        match self {
            Raw::Sled(_, t) => drop(t.remove(record_key(seq)).expect("remove")),
            Raw::Postgres(c) => drop(
                c.execute("DELETE FROM audit_records WHERE school = $1 AND seq = $2", &[&SCHOOL, &(seq as i64)])
                    .expect("delete"),
            ),
        }
    }

    fn head(&mut self) -> Option<Vec<u8>> {
        match self {
            Raw::Sled(_, t) => t.get("head").expect("get").map(|v| v.to_vec()),
            Raw::Postgres(c) => c
                .query_opt("SELECT head FROM audit_heads WHERE school = $1", &[&SCHOOL])
                .expect("select")
                .map(|r| r.get(0)),
        }
    }

    fn put_head(&mut self, head: Vec<u8>) {
        match self {
            Raw::Sled(_, t) => drop(t.insert("head", head).expect("head")),
            Raw::Postgres(c) => assert_eq!(
                c.execute("UPDATE audit_heads SET head = $2 WHERE school = $1", &[&SCHOOL, &head]).expect("update"),
                1
            ),
        }
    }

    /// One of sled's keys beside the records (`head`, `keyed`): PostgreSQL has no such key alone.
    fn remove_sled_key(&mut self, name: &str) {
        match self {
            Raw::Sled(_, t) => drop(t.remove(name).expect("remove")),
            Raw::Postgres(_) => panic!("`{name}` is sled's own"),
        }
    }

    /// The head and the key marker (PostgreSQL keeps both in the school's one row of `audit_heads`).
    fn remove_head_and_marker(&mut self) {
        match self {
            Raw::Sled(_, t) => {
                t.remove("head").expect("head");
                t.remove("keyed").expect("marker");
            }
            Raw::Postgres(c) => {
                assert_eq!(c.execute("DELETE FROM audit_heads WHERE school = $1", &[&SCHOOL]).expect("delete"), 1)
            }
        }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        if let Raw::Sled(db, _) = self {
            db.flush().expect("flush");
        }
    }
}

fn broken_at(env: &Env) -> String {
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "a broken trail fails: {}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

fn an_edited_record_is_named(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(backend, tmp.path());
    {
        let mut t = audit_tree(&env);
        let v = t.get(3).expect("record 3");
        let text = String::from_utf8(v).expect("text");
        assert!(text.contains("\"actor\":\"dsl-user\""), "{text}");
        t.put(3, text.replace("dsl-user", "someone-else").into_bytes());
    }
    let err = broken_at(&env);
    assert!(err.contains("audit trail broken at record 3: it was altered"), "{err}");
}

fn a_flipped_byte_is_named(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(backend, tmp.path());
    {
        let mut t = audit_tree(&env);
        let mut v = t.get(2).expect("record 2");
        let at = v.len() - 10;
        v[at] ^= 0x01;
        t.put(2, v);
    }
    let err = broken_at(&env);
    assert!(err.contains("audit trail broken at record 2:"), "{err}");
}

/// What an attacker without the key can do: rewrite the records from `from` on as they see fit (`edit`), give
/// each a fresh SHA-256 (in the field `field`) and re-chain every later record and the head to match.
fn rechain_without_the_key(env: &Env, from: u64, field: &str, edit: impl Fn(u64, &mut serde_json::Value)) {
    use sha2::{Digest, Sha256};
    let mut t = audit_tree(env);
    let mut prev: Option<String> = None;
    let mut last = 0;
    for seq in from.. {
        let Some(v) = t.get(seq) else { break };
        let v: serde_json::Value = serde_json::from_slice(&v).expect("json");
        let mut record = v["record"].clone();
        if let Some(p) = &prev {
            record["prev"] = serde_json::json!(p);
        }
        edit(seq, &mut record);
        let canonical = serde_json::to_string(&record).expect("json");
        let hash = hex::encode(Sha256::digest(canonical.as_bytes()));
        t.put(seq, format!("{{\"{field}\":\"{hash}\",\"record\":{canonical}}}").into_bytes());
        prev = Some(hash);
        last = seq;
    }
    let head = serde_json::json!({"seq": last, "hash": prev});
    t.put_head(serde_json::to_vec(&head).expect("head"));
}

fn a_rewritten_and_rechained_trail_is_found_without_the_key(backend: Backend) {
    for field in ["hash", "mac"] {
        let tmp = tempfile::tempdir().expect("tmp");
        let env = six_records(backend, tmp.path());
        rechain_without_the_key(&env, 4, field, |seq, r| {
            if seq == 4 {
                r["what"] = serde_json::json!("nothing to see");
            }
        });
        let err = broken_at(&env);
        assert!(err.contains("audit trail broken at record 4: "), "{field}: {err}");
        let why = if field == "hash" { "it is not keyed" } else { "does not match its keyed MAC" };
        assert!(err.contains(why), "{field}: {err}");
    }
}

fn a_wiped_trail_is_found_and_never_verifies_as_intact(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(backend, tmp.path());
    {
        let mut t = audit_tree(&env);
        for seq in 1..=6 {
            t.remove(seq);
        }
    }
    let err = broken_at(&env);
    assert!(
        err.contains("audit trail broken at record 1: it is missing: the trail ends at record 0 but its head says 6"),
        "{err}"
    );
    // sled keeps the head apart from the key marker; PostgreSQL keeps both in one row, removed together below.
    if backend == Backend::Sled {
        audit_tree(&env).remove_sled_key("head");
        let err = broken_at(&env);
        assert!(err.contains("the trail's head is missing"), "{err}");
    }
    audit_tree(&env).remove_head_and_marker();
    let err = broken_at(&env);
    assert!(err.contains("audit trail not keyed: its 0 records"), "an unkeyed trail is never intact: {err}");
}

fn a_cut_tail_with_its_head_rewritten_is_found_without_the_key(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(backend, tmp.path());
    {
        let mut t = audit_tree(&env);
        let five: serde_json::Value = serde_json::from_slice(&t.get(5).expect("5")).expect("json");
        let head: serde_json::Value = serde_json::from_slice(&t.head().expect("head")).expect("json");
        t.remove(6);
        // The head moved back to record 5, with the tag it had for record 6 (the only one the attacker has).
        let link = five.get("mac").or_else(|| five.get("hash")).expect("a link");
        let forged = serde_json::json!({"seq": 5, "hash": link, "tag": head["tag"]});
        t.put_head(serde_json::to_vec(&forged).expect("json"));
    }
    let err = broken_at(&env);
    assert!(
        err.contains("audit trail broken at record 5: the trail's head was altered or forged without the key"),
        "{err}"
    );
}

/// The head as `vigil audit head` prints it.
fn head_of(env: &Env) -> String {
    let head = stdout(&env.ok(&["audit", "head"])).trim().to_string();
    assert!(head.split_once(':').is_some_and(|(n, h)| n.parse::<u64>().is_ok() && h.len() == 64), "{head}");
    head
}

fn a_store_rolled_back_verifies_on_its_own_but_not_against_the_kept_head(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(backend, tmp.path());
    let early = head_of(&env);
    assert!(early.starts_with("6:"), "{early}");
    let copy = tmp.path().join("copy");
    let backup = Backup::take(&env, &copy);
    env.ok(&["show", "SW-2026-004506"]);
    let kept = head_of(&env);
    assert!(kept.starts_with("7:"), "{kept}");
    let out = env.ok(&["audit", "verify", "--expect", &kept]);
    assert!(stdout(&out).contains(&format!("head {kept}, and holds the kept head {kept}")), "{}", stdout(&out));
    env.ok(&["audit", "verify", "--expect", &early]);

    // The store put back as it was before the last record: on its own, it verifies.
    backup.restore(&env);
    assert!(stdout(&env.ok(&["audit", "verify"])).starts_with("audit trail intact: 6 records"));
    let out = env.run(&["audit", "verify", "--expect", &kept]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("audit trail broken at record 7: it is missing: the kept head {kept} names record 7, but the trail ends at record 6")), "{err}");

    // A head for the right number but another record: a rewrite with the key, or another store.
    let other = format!("6:{}", "ab".repeat(32));
    let err = stderr(&env.run(&["audit", "verify", "--expect", &other]));
    assert!(err.contains("audit trail broken at record 6: it is not the record the kept head"), "{err}");
    let err = stderr(&env.run(&["audit", "verify", "--expect", "6"]));
    assert!(err.contains("is not an audit head"), "{err}");
}

/// A copy of a store: sled's data dir copied aside, or a database copied from the store's (as its template).
enum Backup {
    Sled(std::path::PathBuf),
    Postgres(String),
}

impl Backup {
    fn take(env: &Env, copy: &Path) -> Backup {
        match &env.pg {
            None => {
                copy_dir(&env.data, copy);
                Backup::Sled(copy.to_path_buf())
            }
            Some(pg) => {
                let name = format!("{}_backup", database(&pg.url));
                admin().batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {}", database(&pg.url))).expect("copy");
                Backup::Postgres(name)
            }
        }
    }

    /// Puts the copy back in the store's place.
    fn restore(&self, env: &Env) {
        match (self, &env.pg) {
            (Backup::Sled(copy), None) => {
                std::fs::remove_dir_all(&env.data).expect("rm");
                copy_dir(copy, &env.data);
            }
            (Backup::Postgres(copy), Some(pg)) => {
                let db = database(&pg.url);
                let mut admin = admin();
                admin.batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)")).expect("drop");
                admin.batch_execute(&format!("CREATE DATABASE {db} TEMPLATE {copy}")).expect("restore");
            }
            _ => unreachable!("a backup of the store's own kind"),
        }
    }
}

/// The database a test cluster's url names.
fn database(url: &str) -> &str {
    url.split_whitespace().find_map(|p| p.strip_prefix("dbname=")).expect("a database")
}

fn admin() -> postgres::Client {
    crate::backend_support::pg_cluster::cluster().admin("postgres").expect("connect")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "vigil.lock" {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn the_head_goes_to_the_head_command_and_the_log(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(backend, tmp.path());
    let kept = tmp.path().join("kept-heads");
    let config = std::fs::read_to_string(&env.config).expect("config");
    let command = format!("sh -c \"cat >> {}\"", kept.display());
    std::fs::write(&env.config, format!("[audit]\nhead_command = '{command}'\n{config}")).expect("config");
    let head = stdout(&env.ok(&["audit", "head"])).trim().to_string();
    env.ok(&["audit", "verify"]);
    assert_eq!(std::fs::read_to_string(&kept).expect("kept"), format!("{head}\n{head}\n"));
    assert!(env.log().contains(&head), "the log keeps it too");
}

/// An earlier vigil's trail: no marker, each record with the plain SHA-256 of its bytes, chained by it.
fn make_unkeyed(env: &Env) {
    audit_tree(env).remove_sled_key("keyed");
    rechain_without_the_key(env, 1, "hash", |_, _| {});
}

// sled-only: only sled stores were written by a vigil before the chain was keyed; a PostgreSQL trail is keyed
// from its first record, and `audit upgrade` has nothing to do there.
#[test]
fn an_earlier_vigils_trail_is_not_evidence_until_keyed_and_then_only_from_there() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(Backend::Sled, tmp.path());
    make_unkeyed(&env);
    let err = broken_at(&env);
    assert!(err.contains("audit trail not keyed: its 6 records were written by an earlier vigil"), "{err}");
    env.ok(&["show", "SW-2026-004506"]);
    let err = broken_at(&env);
    assert!(err.contains("audit trail not keyed: its 7 records"), "it stays unkeyed until the DSL says: {err}");

    let ddsl = Env { config: tmp.path().join("ddsl.toml"), ..Env::with_role(tmp.path(), "dsl") };
    let text = std::fs::read_to_string(&env.config).expect("config");
    std::fs::write(&ddsl.config, text.replacen("dsl = [", "ddsl = [", 1)).expect("config");
    let out = ddsl.run(&["audit", "upgrade"]);
    assert_eq!(out.status.code(), Some(3), "the DSL's alone: {}", stderr(&out));

    let out = env.ok(&["audit", "upgrade"]);
    assert!(
        stdout(&out).contains("audit trail keyed from record 8: records 1 to 7 stay a plain hash chain"),
        "{}",
        stdout(&out)
    );
    let out = env.ok(&["audit", "verify"]);
    assert!(
        stdout(&out)
            .starts_with("audit trail intact: 8 records (records 1 to 7 were written unkeyed by an earlier vigil"),
        "{}",
        stdout(&out)
    );
    let shown = stdout(&env.ok(&["audit", "show"]));
    assert!(
        shown.contains("keyed the audit chain from this record: the 7 records before it were written unkeyed"),
        "{shown}"
    );
    let err = stderr(&env.run(&["audit", "upgrade"]));
    assert!(err.contains("keyed already"), "{err}");

    // An unkeyed record rewritten and re-chained now breaks the keyed one after it.
    rechain_without_the_key(&env, 3, "hash", |seq, r| {
        if seq == 3 {
            r["actor"] = serde_json::json!("someone-else");
        }
    });
    let err = broken_at(&env);
    assert!(
        err.contains("audit trail broken at record 8: it is not keyed, though the trail is keyed from record 8"),
        "{err}"
    );
}

fn a_deleted_record_is_named(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(backend, tmp.path());
    audit_tree(&env).remove(4);
    let err = broken_at(&env);
    assert!(err.contains("audit trail broken at record 4: it is missing"), "{err}");
}

fn a_deleted_last_record_is_named(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(backend, tmp.path());
    audit_tree(&env).remove(6);
    let err = broken_at(&env);
    assert!(err.contains("audit trail broken at record 6: it is missing"), "{err}");
}

fn reordered_records_are_named(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(backend, tmp.path());
    {
        let mut t = audit_tree(&env);
        let two = t.get(2).expect("2");
        let three = t.get(3).expect("3");
        t.put(2, three);
        t.put(3, two);
    }
    let err = broken_at(&env);
    assert!(err.contains("audit trail broken at record 2: it is out of place"), "{err}");
}

fn an_untouched_trail_verifies(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = six_records(backend, tmp.path());
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

fn a_decision_removed_from_a_case_log_is_named(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role_on(backend, tmp.path(), "dsl");
    let id = "SW-2026-004506";
    {
        let service = env.fixture(dsl());
        let key = service.find(id).expect("case");
        service.act(&key, &CaseCommand::Note { text: "spoke to tutor".into() }, fixed_now()).expect("note");
        let reopen = CaseCommand::FollowUp { date: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("date") };
        service.act(&key, &reopen, fixed_now() + Duration::minutes(1)).expect("follow-up");
        assert!(matches!(service.audit_verify().expect("verify"), Verdict::Intact { .. }));
    }
    env.ok(&["audit", "verify"]);
    let records = stdout(&env.ok(&["audit", "show", id]));
    let follow_up = records.lines().find(|l| l.contains("set a follow-up for 2026-11-20")).expect("record");
    let seq = follow_up.split_whitespace().next().expect("seq").to_string();
    let ck = common::case_key("smoothwall-monitor", id);
    if let Some(pg) = &env.pg {
        // The same, as the database's owner: the case's last event row and its index row.
        let mut c = postgres::Client::connect(&pg.url, postgres::NoTls).expect("connect as the owner");
        let removed = c
            .execute(
                "DELETE FROM events WHERE school = $1 AND case_key = $2 \
                 AND seq = (SELECT max(seq) FROM events WHERE school = $1 AND case_key = $2)",
                &[&SCHOOL, &ck],
            )
            .expect("remove the event");
        assert_eq!(removed, 1);
        c.execute("DELETE FROM case_index WHERE school = $1 AND case_key = $2", &[&SCHOOL, &ck]).expect("the entry");
    } else {
        // The last event of the case (the follow-up), sealed, and its index entry, removed from the files.
        let db = access_support::open_sled(&env.data.join("db"));
        let events = db.open_tree("events").expect("events");
        let (last, _) = events.scan_prefix(&ck).last().expect("an event").expect("read");
        events.remove(last).expect("remove the event");
        for tree in ["index-open", "index-closed"] {
            db.open_tree(tree).expect("index").remove(&ck).expect("remove the entry");
        }
        db.flush().expect("flush");
    }
    let err = broken_at(&env);
    assert!(
        err.contains(&format!(
            "audit trail and case log disagree: record {seq} (smoothwall-monitor:{id}: `set a follow-up for 2026-11-20` by dsl-user at "
        )) && err.contains("is not in the case's event log: the event was removed from the store"),
        "{err}"
    );
}
