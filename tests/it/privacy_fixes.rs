//! Review findings on who may see what, each pinned by a test: a rejected alert that says `staff` only in
//! a duplicated key, an alert reclassified as staff after it was stored, `vigil feed status` and its staff
//! line, the CPOMS text of a staff alert, feed text in an envelope error, case text kept out of the process's
//! arguments (`-` reads standard input) and retention of quarantined raw alerts.

use crate::access_support;
use crate::backend_support::{Backend, both_backends};
use crate::common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use access_support::{Env, alert_with_text, feed, stderr, stdout};
use chrono::{Duration, TimeZone, Utc};
use serde_json::{Value, json};
use vigil::audit::Verdict;
use vigil::domain::AlertKey;
use vigil::feed::protocol::{Page, parse_page};
use vigil::identity::{Role, Viewer};
use vigil::store::backend::IndexScan;

const MARK: &str = "PrivFixMark7q-";
const SHA: &str = "bb00000000000000000000000000000000000000000000000000000000000002";

fn service(backend: Backend, dir: &std::path::Path, role: Role, sees_staff: bool) -> crate::common::Svc {
    let viewer = Viewer { user: "u".into(), role, sees_staff };
    crate::common::Svc::on(backend, &dir.join("data"), common::default_policy(), viewer)
}

both_backends!(
    a_rejected_alert_that_says_staff_in_a_duplicated_key_is_staff,
    a_case_reclassified_as_staff_is_purged_for_those_who_may_not_see_staff,
    a_staff_revision_in_the_same_page_or_out_of_order_is_judged_by_revision,
    feed_status_says_nothing_about_staff_to_those_who_may_not_see_them_and_refuses_a_reporter,
    a_staff_alert_has_no_cpoms_entry_or_tracking_note,
    a_dash_reads_case_text_from_standard_input_once,
    quarantined_alerts_are_purged_by_retention_from_when_they_were_received,
);

fn page(alerts: &[Value]) -> Page {
    let body = json!({"feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": "c1", "more": false});
    parse_page(body.to_string().as_bytes()).expect("page")
}

fn key(id: &str) -> AlertKey {
    AlertKey::new("smoothwall-monitor", id)
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

// 1. A duplicated key keeps every value in view.

fn a_rejected_alert_that_says_staff_in_a_duplicated_key_is_staff(backend: Backend) {
    let body = br#"{"feed": "vigil.alert-feed/1", "cursor": "c1", "more": false, "alerts": [
        {"id": "RJ-D1", "source": "s", "raised_at": "2026-11-10T10:00:00+00:00", "risk": 3, "category": "c",
         "subject": {"kind": "staff", "name": "Mr Secret", "id": "S", "kind": "student"}, "summary": "x"},
        {"id": "RJ-D2", "source": "s", "raised_at": "2026-11-10T10:00:00+00:00", "risk": 3, "category": "c",
         "subject": {"kind": "student", "id": "S", "id": "T"}, "tags": [{"k": "x", "k": " Staff"}], "summary": "x"},
        {"id": "RJ-D3", "source": "s", "raised_at": "2026-11-10T10:00:00+00:00", "risk": 9, "category": "c",
         "subject": {"kind": "student", "id": "P1"}, "summary": "x", "summary": "y"}
    ]}"#;
    let page = parse_page(body).expect("page");
    assert_eq!(page.rejected.len(), 3, "duplicate fields are rejected alerts");
    for (role, sees_staff, want) in
        [(Role::Ddsl, false, vec!["RJ-D3"]), (Role::Dsl, true, vec!["RJ-D1", "RJ-D2", "RJ-D3"])]
    {
        let tmp = tempfile::tempdir().expect("tmp");
        let svc = service(backend, tmp.path(), role, sees_staff);
        svc.ingest(&page, common::fixed_now()).expect("ingest");
        let mut got: Vec<String> =
            svc.rejected(common::fixed_now()).expect("rejected").into_iter().filter_map(|q| q.rejected.id).collect();
        got.sort();
        assert_eq!(got, want, "{role:?}");
        let raw: Vec<String> = svc.cases().quarantined().expect("q").into_iter().map(|q| q.rejected.raw).collect();
        assert_eq!(raw.iter().any(|r| r.contains("Mr Secret")), sees_staff, "{role:?}: not even in the store");
    }
}

// 2. An alert reclassified as staff leaves the store of those who may not see staff.

fn a_case_reclassified_as_staff_is_purged_for_those_who_may_not_see_staff(backend: Backend) {
    let mut rev1 = alert_with_text("RC-1", "student", MARK, 3);
    rev1["captures"][0]["screenshot"] = json!({"url": "shots/rc.png", "media_type": "image/png", "sha256": SHA});
    let mut rev2 = alert_with_text("RC-1", "staff", MARK, 3);
    rev2["revision"] = json!(2);
    let other = alert_with_text("RC-2", "student", MARK, 3);
    let t0 = common::fixed_now();
    for (role, sees_staff) in [(Role::Ddsl, false), (Role::Dsl, true)] {
        let tmp = tempfile::tempdir().expect("tmp");
        let svc = service(backend, tmp.path(), role, sees_staff);
        svc.ingest(&page(&[rev1.clone(), other.clone()]), t0).expect("rev 1");
        svc.cases().cache_blob(&format!("sha256:{SHA}"), b"png", 1 << 20).expect("cache");
        assert!(svc.queue(t0).expect("queue").iter().any(|c| c.id == "RC-1"));
        svc.ingest(&page(&[rev2.clone()]), t0 + Duration::hours(1)).expect("rev 2");
        let queue = svc.queue(t0).expect("queue");
        let ids: Vec<&str> = queue.iter().map(|c| c.id.as_str()).collect();
        let store = svc.cases();
        if sees_staff {
            assert_eq!(ids.len(), 2, "{role:?}: the DSL keeps it, revised: {ids:?}");
            assert_eq!(store.alert(&key("RC-1")).expect("read").map(|a| a.revision), Some(2));
            continue;
        }
        assert_eq!(ids, vec!["RC-2"], "{role:?}: out of the queue");
        assert_eq!(store.alert(&key("RC-1")).expect("read"), None, "{role:?}: alert gone");
        assert!(store.events(&key("RC-1")).expect("read").is_empty(), "{role:?}: events gone");
        assert_eq!(store.index_entry(&key("RC-1")).expect("read"), None, "{role:?}: index entry gone");
        assert_eq!(store.cached_blob(&format!("sha256:{SHA}")).expect("cache"), None, "{role:?}: screenshot gone");
        assert!(svc.find("RC-1").is_err() && svc.detail(&key("RC-1"), t0).is_err(), "{role:?}: no show");
        let report = svc.report_data(false).expect("report data");
        assert!(report.cases.iter().all(|(a, _, _)| a.key.id != "RC-1"), "{role:?}: not in reports");
        let records = svc.trail().records().expect("records");
        let tomb: Vec<_> = records.iter().filter(|r| r.case.as_deref() == Some("smoothwall-monitor:RC-1")).collect();
        assert_eq!(tomb.len(), 1, "{role:?}: {records:?}");
        assert_eq!(tomb[0].what, "removed: no longer visible to this role");
        assert!(records.iter().all(|r| !r.what.contains(MARK)), "content-free");
        assert!(matches!(svc.trail().verify_against(None).expect("verify"), Verdict::Intact { .. }));
        // Replayed, the staff revision changes nothing more; the case does not come back.
        svc.ingest(&page(&[rev2.clone()]), t0 + Duration::hours(2)).expect("replay");
        assert_eq!(svc.trail().records().expect("records").len(), records.len());
        assert_eq!(store.scan_index(IndexScan::All).expect("index").len(), 1);
        if backend == Backend::Sled {
            svc.store().rebuild_index().expect("rebuild");
            assert_eq!(svc.store().index_entries().count(), 1);
        }
    }
}

fn a_staff_revision_in_the_same_page_or_out_of_order_is_judged_by_revision(backend: Backend) {
    let t0 = common::fixed_now();
    let rev1 = alert_with_text("RC-3", "student", MARK, 3);
    let mut rev2 = alert_with_text("RC-3", "staff", MARK, 3);
    rev2["revision"] = json!(2);
    let mut rev3 = alert_with_text("RC-3", "student", MARK, 3);
    rev3["revision"] = json!(3);
    // Both revisions in one page: the student one is superseded, nothing is stored.
    let tmp = tempfile::tempdir().expect("tmp");
    let svc = service(backend, tmp.path(), Role::Ddsl, false);
    svc.ingest(&page(&[rev1.clone(), rev2.clone()]), t0).expect("ingest");
    assert_eq!(svc.cases().alert_count().expect("count"), 0);
    // A newer student revision stored before the older staff one arrives: it stays.
    let tmp = tempfile::tempdir().expect("tmp");
    let svc = service(backend, tmp.path(), Role::Ddsl, false);
    svc.ingest(&page(&[rev3.clone()]), t0).expect("rev 3");
    svc.ingest(&page(&[rev2.clone()]), t0).expect("late rev 2");
    assert_eq!(svc.cases().alert(&key("RC-3")).expect("read").map(|a| a.revision), Some(3));
}

// 3. `vigil feed status`.

fn feed_status_says_nothing_about_staff_to_those_who_may_not_see_them_and_refuses_a_reporter(backend: Backend) {
    let feed = feed(vec![alert_with_text("FS-1", "student", MARK, 3)]);
    for role in ["ddsl", "dsl", "reporter"] {
        let tmp = tempfile::tempdir().expect("tmp");
        let env = Env::with_role_on(backend, tmp.path(), role);
        env.ok(&["--feed-url", &feed.url, "sync", "--once"]);
        let out = env.run(&["feed", "status"]);
        if role == "reporter" {
            assert_eq!(code(&out), 3, "{}", stderr(&out));
            assert_eq!(stderr(&out).trim(), "vigil: your role (reporter) may run `vigil report` only");
            assert!(stdout(&out).is_empty());
            continue;
        }
        assert!(out.status.success(), "{role}: {}", stderr(&out));
        assert!(stdout(&out).contains("alerts stored: 1\n"), "{role}: {}", stdout(&out));
        assert_eq!(stdout(&out).contains("staff alerts not stored"), role == "dsl", "{role}: {}", stdout(&out));
    }
}

// 4. The CPOMS text of a staff alert.

fn a_staff_alert_has_no_cpoms_entry_or_tracking_note(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let svc = service(backend, tmp.path(), Role::Dsl, true);
    svc.ingest(&page(&[alert_with_text("SF-9", "staff", MARK, 5)]), common::fixed_now()).expect("ingest");
    let r = svc.records(&key("SF-9"), common::fixed_now()).expect("records");
    assert_eq!(r.tracking, None, "no student-tracking note");
    let text = r.cpoms.to_lowercase();
    assert!(text.contains("staff alert"), "{}", r.cpoms);
    assert!(text.contains("not for cpoms or student tracking"), "{}", r.cpoms);
    assert!(text.contains("allegations against staff"), "{}", r.cpoms);
    assert!(!r.cpoms.contains("Student:") && !r.cpoms.contains(MARK), "{}", r.cpoms);
}

// 5. An envelope error names no feed text.

#[test]
fn an_envelope_error_carries_no_feed_text() {
    for body in [
        format!(r#"{{"feed":"vigil.alert-feed/1","alerts":"{MARK} Mr Secret"}}"#),
        format!(r#"{{"feed":"vigil.alert-feed/1","alerts":[],"more":"{MARK}"}}"#),
        format!(r#"{{"feed":"vigil.alert-feed/1","alerts":[],"cursor":["{MARK}"],"more":{MARK}}}"#),
        format!(r#"{{"feed":{{"{MARK}":1}},"alerts":[]}}"#),
        format!(r#"{{"feed":"vigil.alert-feed/1","alerts":[]}} {MARK}"#),
    ] {
        let err = parse_page(body.as_bytes()).expect_err("invalid envelope");
        let shown = err.to_string();
        assert!(shown.starts_with("the feed sent invalid JSON: "), "{shown}");
        assert!(!shown.contains(MARK) && !shown.contains("Secret"), "{shown}");
        assert!(shown.contains("line 1 column"), "{shown}");
    }
}

// 6. `-` reads case text from standard input.

/// The real binary in `env`, with `stdin` piped to it.
fn run_stdin(env: &Env, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
    for (k, _) in std::env::vars() {
        if k.starts_with("VIGIL_") || k == "NO_COLOR" {
            cmd.env_remove(k);
        }
    }
    cmd.arg("--data-dir").arg(&env.data).arg("--config").arg(&env.config).args(args);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("vigil runs");
    let mut input = child.stdin.take().expect("stdin");
    // A command that does not read its input may exit first: a broken pipe here is not a failure.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().expect("vigil exits")
}

fn a_dash_reads_case_text_from_standard_input_once(backend: Backend) {
    let feed = feed(vec![alert_with_text("IN-1", "student", MARK, 3), alert_with_text("IN-2", "student", "Other", 3)]);
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role_on(backend, tmp.path(), "dsl");
    env.ok(&["--feed-url", &feed.url, "sync", "--once"]);

    let out = run_stdin(&env, &["case", "IN-1", "note", "-"], "rang home, NoteViaStdin\nsecond line\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run_stdin(&env, &["case", "IN-1", "regrade", "high", "--reason", "-"], "ReasonViaStdin\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run_stdin(&env, &["case", "IN-1", "tick", "1", "--value", "x", "--note", "-"], "TickNoteViaStdin");
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&env.ok(&["show", "IN-1", "--json"]));
    let d: Value = serde_json::from_str(&shown).expect("json");
    let events = d["events"].to_string();
    assert!(events.contains("rang home, NoteViaStdin\\nsecond line"), "the whole input, less its last newline");
    assert!(!events.contains("second line\\n"), "{events}");
    assert!(events.contains("ReasonViaStdin") && events.contains("TickNoteViaStdin"), "{events}");
    assert!(!events.contains("\"-\""), "no `-` recorded: {events}");

    // Two `-`: one input cannot be both; nothing recorded.
    let before = env.cases().0.events(&key("IN-1")).expect("events").len();
    let out = run_stdin(&env, &["case", "IN-1", "tick", "2", "--value", "-", "--note", "-"], "x\n");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert_eq!(env.cases().0.events(&key("IN-1")).expect("events").len(), before);

    // The search words of `vigil list`.
    let out = run_stdin(&env, &["list", "--all", "-"], &format!("{MARK}summary\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("IN-1") && !stdout(&out).contains("IN-2"), "{}", stdout(&out));

    // The TUI's `:` line shares the grammar but never reads standard input: `-` is just a dash there.
    let checklist = [];
    assert_eq!(
        vigil::commands::line::parse_line("note -", &checklist),
        Ok(vigil::commands::line::LineCommand::Case(vigil::domain::case::CaseCommand::Note { text: "-".into() }))
    );
}

// 7. Retention reaches quarantined raw alerts.

fn quarantined_alerts_are_purged_by_retention_from_when_they_were_received(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let svc = service(backend, tmp.path(), Role::Dsl, true);
    let t0 = common::fixed_now();
    let mut bad = alert_with_text("QR-1", "student", MARK, 3);
    bad["risk"] = json!(9);
    let mut bad2 = alert_with_text("QR-2", "student", MARK, 3);
    bad2["risk"] = json!(8);
    svc.ingest(&page(std::slice::from_ref(&bad)), t0).expect("ingest");
    svc.ingest(&page(&[bad2]), t0 + Duration::days(1)).expect("ingest");
    assert_eq!(svc.cases().quarantine_count().expect("count"), 2);

    let until = Utc.with_ymd_and_hms(2028, 2, 16, 10, 0, 0).single().expect("valid"); // t0 + 15 months
    svc.purge_expired(15, until - Duration::minutes(1)).expect("purge");
    assert_eq!(svc.cases().quarantine_count().expect("count"), 2, "not a minute early");
    let before = svc.trail().records().expect("records").len();
    svc.purge_expired(15, until).expect("purge");
    assert_eq!(svc.cases().quarantine_count().expect("count"), 1, "QR-1 has had its time, QR-2 not yet");
    svc.purge_expired(15, until + Duration::days(1)).expect("purge");
    assert_eq!(svc.cases().quarantine_count().expect("count"), 0);
    let records = svc.trail().records().expect("records");
    let tombs: Vec<_> = records[before..].iter().filter(|r| r.actor == "retention").collect();
    assert_eq!(tombs.len(), 2, "{records:?}");
    assert_eq!(tombs[0].what, "purged by retention (15 months after receipt): 1 rejected alert");
    assert_eq!(tombs[0].case, None);
    assert!(records.iter().all(|r| !r.what.contains(MARK)));
    assert!(matches!(svc.audit_verify().expect("verify"), Verdict::Intact { .. }));
    // A replay of the page quarantines it again, from its new receipt.
    svc.ingest(&page(&[bad]), until).expect("replay");
    assert_eq!(svc.cases().quarantine_count().expect("count"), 1);
}
