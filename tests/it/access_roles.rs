//! Who may see what, for every role against every surface, through the real binary and the real store:
//! `sync`, the TUI's start, `list` (plain, `--json`, and its search words), `show` (plain, `--json`,
//! `--cpoms`), `case` actions, `report` (with and without `--include-staff`), `feed rejected`, `feed status`
//! counts and `audit`; then each user's store is opened to show what it holds. The TUI's queue and header
//! counts come from `Session::queue` and `vigil::service::counts`, checked in process for every role.
//!
//! Staff alerts do not exist for anyone but the DSL and the users named under `[roles] staff_alerts`: not in
//! their store (dropped at ingest), not in any list, count, search or export. A `reporter` may run `vigil
//! report` (and `sync`, to have figures to report) and nothing else; their store keeps alerts already
//! redacted. A user with no role is refused everything, with exit code 3, and nothing is created.

use crate::access_support;
use crate::backend_support::{Backend, both_backends};
use crate::common;

use access_support::{Env, alert_with_text, feed, stderr, stdout};
use serde_json::{Value, json};
use vigil::feed::protocol::parse_page;
use vigil::identity::{Role, Viewer};
use vigil::service::ServiceError;

const STUDENT: &str = "StudentMark4k-";
const STAFF: &str = "StaffMark8p-";

fn alerts() -> Vec<Value> {
    let mut bad_student = alert_with_text("RJ-1", "student", STUDENT, 3);
    bad_student["risk"] = json!(9);
    let mut bad_staff = alert_with_text("RJ-2", "staff", STAFF, 3);
    bad_staff["risk"] = json!(9);
    vec![
        alert_with_text("ST-1", "student", STUDENT, 5),
        alert_with_text("ST-2", "student", STUDENT, 1),
        alert_with_text("SF-1", "staff", STAFF, 3),
        bad_student,
        bad_staff,
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Dsl,
    Ddsl,
    /// A deputy the config names under `[roles] staff_alerts`.
    StaffDeputy,
    Reporter,
}

impl Who {
    fn roles(self) -> &'static str {
        match self {
            Who::Dsl => "dsl = [\"{user}\"]",
            Who::Ddsl => "ddsl = [\"{user}\"]",
            Who::StaffDeputy => "ddsl = [\"{user}\"]\nstaff_alerts = [\"{user}\"]",
            Who::Reporter => "reporter = [\"{user}\"]",
        }
    }
    fn sees_staff(self) -> bool {
        matches!(self, Who::Dsl | Who::StaffDeputy)
    }
    fn reviews(self) -> bool {
        self != Who::Reporter
    }
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn refused(who: Who, what: &str, out: &std::process::Output) {
    assert_eq!(code(out), 3, "{who:?} {what}: refused with exit 3: {}", stderr(out));
    assert_eq!(stderr(out).lines().count(), 1, "{who:?} {what}: one plain line: {}", stderr(out));
    assert!(stdout(out).is_empty(), "{who:?} {what}: nothing shown: {}", stdout(out));
    for mark in [STUDENT, STAFF] {
        assert!(!stderr(out).contains(mark), "{who:?} {what}: content in the refusal");
    }
}

fn no_staff(who: Who, what: &str, text: &str) {
    if !who.sees_staff() {
        assert!(!text.contains(STAFF), "{who:?} {what}: staff content: {text}");
        assert!(!text.contains("SF-1") && !text.contains("RJ-2"), "{who:?} {what}: a staff alert's id: {text}");
        assert!(!text.contains("STAFF"), "{who:?} {what}: a staff marker: {text}");
    }
}

fn check(who: Who, backend: Backend, feed_url: &str) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::on(backend, tmp.path(), who.roles());

    // sync: every role with a role may fetch (a reporter needs figures); the summary has no staff count.
    let out = env.ok(&["--feed-url", feed_url, "sync", "--once"]);
    let summary = stdout(&out);
    let (new, quarantined) = match who {
        Who::Dsl | Who::StaffDeputy => (3, 2),
        Who::Ddsl => (2, 1),
        Who::Reporter => (2, 0),
    };
    assert_eq!(
        summary.trim(),
        format!("synced: {new} new, 0 revised, 0 unchanged, {quarantined} quarantined"),
        "{who:?}"
    );

    // The TUI: a reporter is turned away before the terminal is touched.
    if !who.reviews() {
        refused(who, "tui", &env.run(&[]));
    }

    // list, list --json, list with search words.
    for args in [vec!["list"], vec!["list", "--all"], vec!["list", "--json", "--all"]] {
        let out = env.run(&args);
        if !who.reviews() {
            refused(who, &format!("{args:?}"), &out);
            continue;
        }
        assert!(out.status.success(), "{who:?} {args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("ST-1") && text.contains("ST-2"), "{who:?} {args:?}: {text}");
        assert_eq!(text.contains("SF-1"), who.sees_staff(), "{who:?} {args:?}: {text}");
        no_staff(who, &format!("{args:?}"), &text);
        if args.contains(&"--json") {
            let list: Vec<Value> = serde_json::from_str(&text).expect("json");
            assert_eq!(list.len(), if who.sees_staff() { 3 } else { 2 }, "{who:?}");
        }
    }
    let search = format!("{STAFF}subject-name");
    let out = env.run(&["list", "--all", &search]);
    if who.reviews() {
        assert_eq!(stdout(&out).contains("SF-1"), who.sees_staff(), "{who:?} search: {}", stdout(&out));
        no_staff(who, "search", &stdout(&out));
    } else {
        refused(who, "search", &out);
    }

    // show, in every form, of a student case and of the staff case.
    for form in [vec![], vec!["--json"], vec!["--cpoms"]] {
        for (id, staff) in [("ST-1", false), ("SF-1", true)] {
            let mut args = vec!["show", id];
            args.extend(form.iter().copied());
            let out = env.run(&args);
            if !who.reviews() {
                refused(who, &format!("{args:?}"), &out);
            } else if staff && !who.sees_staff() {
                assert_eq!(code(&out), 1, "{who:?} {args:?}: no such case for them");
                assert_eq!(stderr(&out).trim(), "vigil: no case `SF-1`", "{who:?}: as if it did not exist");
                assert!(stdout(&out).is_empty());
            } else if staff && form == ["--cpoms"] {
                // A staff alert is not for CPOMS or student tracking: its text says so, with no content.
                assert!(out.status.success(), "{who:?} {args:?}: {}", stderr(&out));
                assert!(stdout(&out).contains("Staff alert"), "{who:?} {args:?}: {}", stdout(&out));
                assert!(!stdout(&out).contains(STAFF), "{who:?} {args:?}: {}", stdout(&out));
            } else {
                assert!(out.status.success(), "{who:?} {args:?}: {}", stderr(&out));
                let mark = if staff { STAFF } else { STUDENT };
                assert!(stdout(&out).contains(mark), "{who:?} {args:?} shows the content");
            }
        }
    }

    // case actions.
    for (id, staff) in [("ST-1", false), ("SF-1", true)] {
        let out = env.run(&["case", id, "note", "rang home"]);
        if !who.reviews() {
            refused(who, "case note", &out);
        } else if staff && !who.sees_staff() {
            assert_eq!(code(&out), 1, "{who:?} case {id}");
            assert_eq!(stderr(&out).trim(), format!("vigil: no case `{id}`"));
        } else {
            assert!(out.status.success(), "{who:?} case {id}: {}", stderr(&out));
        }
    }

    // report: every role; staff counts for the DSL alone.
    let out = env.ok(&["report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "json"]);
    for mark in [STUDENT, STAFF] {
        assert!(!stdout(&out).contains(mark), "{who:?}: a report has no content");
    }
    let out = env.run(&["report", "--from", "2026-11-01", "--to", "2026-11-30", "--include-staff"]);
    if who == Who::Dsl {
        assert!(out.status.success(), "{}", stderr(&out));
    } else {
        assert_eq!(code(&out), 3, "{who:?} --include-staff: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }

    // feed rejected: the raw JSON of alerts that failed validation is content.
    for args in [vec!["feed", "rejected"], vec!["feed", "rejected", "--json"]] {
        let out = env.run(&args);
        if !who.reviews() {
            refused(who, "feed rejected", &out);
            continue;
        }
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("RJ-1"), "{who:?}: {text}");
        assert_eq!(text.contains("RJ-2"), who.sees_staff(), "{who:?}: {text}");
        no_staff(who, "feed rejected", &text);
    }

    // feed status: the counts (a reporter may not ask).
    let out = env.run(&["feed", "status"]);
    if who.reviews() {
        assert!(out.status.success(), "{who:?} feed status: {}", stderr(&out));
        let text = stdout(&out);
        let stored = if who.sees_staff() { 3 } else { 2 };
        assert!(text.contains(&format!("alerts stored: {stored}\n")), "{who:?}: {text}");
        assert!(text.contains(&format!("rejected: {quarantined}\n")), "{who:?}: {text}");
        assert_eq!(text.contains("staff alerts not stored"), who.sees_staff(), "{who:?}: {text}");
    } else {
        refused(who, "feed status", &out);
    }

    // audit: the DSL reads it; every reviewer may verify it.
    let out = env.run(&["audit", "show"]);
    if who == Who::Dsl {
        assert!(out.status.success());
    } else {
        refused(who, "audit show", &out);
    }
    let out = env.run(&["audit", "verify"]);
    if who.reviews() {
        assert!(out.status.success(), "{who:?}: {}", stderr(&out));
    } else {
        refused(who, "audit verify", &out);
    }

    // The store itself: staff alerts are not in it at all for those who may not see them.
    let (store, _) = env.cases();
    let stored: Vec<_> = store.alerts().map(|a| a.expect("alert")).collect();
    assert_eq!(stored.len(), if who.sees_staff() { 3 } else { 2 }, "{who:?}");
    assert_eq!(stored.iter().any(|a| a.is_staff()), who.sees_staff(), "{who:?}");
    let quarantined_raw: Vec<String> = store.quarantined().expect("q").into_iter().map(|q| q.rejected.raw).collect();
    assert_eq!(quarantined_raw.iter().any(|r| r.contains(STAFF)), who.sees_staff(), "{who:?}");
    if who == Who::Reporter {
        assert!(quarantined_raw.is_empty(), "a reporter's store keeps no raw alerts");
        for a in &stored {
            assert!(a.summary.is_empty() && a.subject.name.is_none() && a.context.is_none(), "redacted: {a:?}");
            assert!(a.captures.is_empty() && a.subject.id.is_empty());
        }
    }
    assert_eq!(store.feed_state().expect("state").staff_dropped, if who.sees_staff() { 0 } else { 1 });
}

both_backends!(
    the_dsl_sees_everything,
    a_deputy_sees_no_staff_alert_anywhere,
    a_user_named_for_staff_alerts_sees_them_but_no_more,
    a_reporter_may_report_and_nothing_else,
    a_user_with_no_role_is_refused_everything_and_nothing_is_created,
    config_check_runs_for_a_user_with_no_role_and_opens_nothing,
    a_user_named_only_for_staff_alerts_has_no_role_and_is_told_why,
    the_queue_and_counts_hold_no_staff_alert_for_those_who_may_not_see_them,
    a_rejected_staff_alert_is_not_kept_for_those_who_may_not_see_it_however_it_is_spelled,
);

fn the_dsl_sees_everything(backend: Backend) {
    let feed = feed(alerts());
    check(Who::Dsl, backend, &feed.url);
}

fn a_deputy_sees_no_staff_alert_anywhere(backend: Backend) {
    // (An officer sees only what is shared with them: `team_work` checks that a staff alert never is.)
    let feed = feed(alerts());
    check(Who::Ddsl, backend, &feed.url);
}

fn a_user_named_for_staff_alerts_sees_them_but_no_more(backend: Backend) {
    let feed = feed(alerts());
    check(Who::StaffDeputy, backend, &feed.url);
}

fn a_reporter_may_report_and_nothing_else(backend: Backend) {
    let feed = feed(alerts());
    check(Who::Reporter, backend, &feed.url);
}

fn a_user_with_no_role_is_refused_everything_and_nothing_is_created(backend: Backend) {
    let feed = feed(alerts());
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::on(backend, tmp.path(), "dsl = [\"somebody-else\"]\nstaff_alerts = [\"{user}\"]");
    let url = feed.url.as_str();
    for args in [
        vec![],
        vec!["--feed-url", url, "sync", "--once"],
        vec!["list"],
        vec!["list", "--json"],
        vec!["show", "ST-1"],
        vec!["case", "ST-1", "note", "x"],
        vec!["report"],
        vec!["feed", "rejected"],
        vec!["feed", "status"],
        vec!["audit", "show"],
        vec!["audit", "verify"],
    ] {
        let out = env.run(&args);
        assert_eq!(code(&out), 3, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("has no role"), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    env.assert_nothing_created();
}

/// The IT technician checks a config before anyone gives them a role: `vigil config check` needs only the
/// file, opens no store and shows no alert, and says what the config makes of its user.
fn config_check_runs_for_a_user_with_no_role_and_opens_nothing(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::on(backend, tmp.path(), "dsl = [\"somebody-else\"]");
    let user = vigil::identity::os_user().expect("os user");
    let out = env.run(&["config", "check"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("# config file: {}", env.config.display())), "{text}");
    assert!(text.contains(&format!("# you: {user} (no role")), "{text}");
    assert!(text.contains("# config OK"), "{text}");
    env.assert_nothing_created();
}

/// `[roles] staff_alerts` lets a reviewer also see staff alerts; it is not a role. Staff alerts go to the
/// DSL (the procedure), so a user named there and nowhere else is refused like any user with no role, told
/// why, and `vigil config check` warns about the line.
fn a_user_named_only_for_staff_alerts_has_no_role_and_is_told_why(backend: Backend) {
    let feed = feed(alerts());
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::on(backend, tmp.path(), "dsl = [\"somebody-else\"]\nstaff_alerts = [\"{user}\"]");
    let user = vigil::identity::os_user().expect("os user");
    let out = env.run(&["--feed-url", &feed.url, "sync", "--once"]);
    refused(Who::StaffDeputy, "sync", &out);
    let message = stderr(&out);
    assert!(message.contains(&env.config.display().to_string()), "names the config file read: {message}");
    assert!(message.contains("staff_alerts"), "says why the line did not give a role: {message}");
    let check = env.run(&["config", "check"]);
    assert_eq!(code(&check), 0, "{}", stderr(&check));
    assert!(
        stdout(&check).contains(&format!("# warning: [roles] staff_alerts names `{user}`, who has no reviewing role")),
        "{}",
        stdout(&check)
    );
    env.assert_nothing_created();
}

/// Without `--config`, the refusal names the file vigil looked for, so the user knows what to ask for.
/// (sled-only: with no config there is no `[storage]` to name a database.)
#[test]
fn the_no_role_message_names_the_config_file_vigil_looked_for() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"));
    for (k, _) in std::env::vars() {
        if k.starts_with("VIGIL_") || k.starts_with("XDG_") {
            cmd.env_remove(k);
        }
    }
    let home = tmp.path().join("home");
    let out = cmd
        .env("HOME", &home)
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .arg("list")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("vigil runs");
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let expected = home.join(".config").join("vigil").join("config.toml");
    assert!(stderr(&out).contains(&expected.display().to_string()), "{}", stderr(&out));
}

/// The TUI queue and its header counts, for every role, straight from the service the TUI speaks to.
fn the_queue_and_counts_hold_no_staff_alert_for_those_who_may_not_see_them(backend: Backend) {
    let body = json!({"feed": "vigil.alert-feed/1", "alerts": alerts(), "cursor": "c1", "more": false});
    let page = parse_page(body.to_string().as_bytes()).expect("page");
    for (role, sees_staff) in [(Role::Dsl, true), (Role::Ddsl, false), (Role::Ddsl, true), (Role::Reporter, false)] {
        let tmp = tempfile::tempdir().expect("tmp");
        let viewer = Viewer { user: "u".into(), role, sees_staff };
        let svc = common::Svc::on(backend, &tmp.path().join("data"), common::default_policy(), viewer);
        let report = svc.ingest(&page, common::fixed_now()).expect("ingest");
        assert_eq!(report.staff_dropped, usize::from(!sees_staff), "{role:?}");
        match svc.queue(common::fixed_now()) {
            Err(ServiceError::Forbidden(_)) => assert_eq!(role, Role::Reporter),
            Err(e) => panic!("{e}"),
            Ok(queue) => {
                assert_eq!(queue.iter().any(|c| c.staff), sees_staff, "{role:?} {sees_staff}");
                let counted: usize = vigil::service::counts(&queue).iter().map(|(_, n)| n).sum();
                assert_eq!(counted, if sees_staff { 3 } else { 2 }, "{role:?} {sees_staff}: the header counts");
                assert!(queue.iter().all(|c| sees_staff || !c.search.contains(&STAFF.to_lowercase())));
            }
        }
    }
}

/// A rejected alert is staff content if any of its strings says so, however it is escaped in the JSON.
fn a_rejected_staff_alert_is_not_kept_for_those_who_may_not_see_it_however_it_is_spelled(backend: Backend) {
    let body = br#"{"feed": "vigil.alert-feed/1", "cursor": "c1", "more": false, "alerts": [
        {"id": "RJ-S1", "source": "s", "raised_at": "2026-11-10T10:00:00+00:00", "risk": 9, "category": "c",
         "subject": {"kind": "st\u0061ff", "id": "T1"}, "summary": "about a member of staff"},
        {"id": "RJ-S2", "source": "s", "raised_at": "2026-11-10T10:00:00+00:00", "risk": 9, "category": "c",
         "subject": {"kind": "STAFF ", "id": "T2"}, "summary": "x"},
        {"id": "RJ-P1", "source": "s", "raised_at": "2026-11-10T10:00:00+00:00", "risk": 9, "category": "c",
         "subject": {"kind": "student", "id": "P1"}, "summary": "x"}
    ]}"#;
    let page = parse_page(body).expect("page");
    assert_eq!(page.rejected.len(), 3);
    for (sees_staff, kept) in [(false, vec!["RJ-P1"]), (true, vec!["RJ-S1", "RJ-S2", "RJ-P1"])] {
        let tmp = tempfile::tempdir().expect("tmp");
        let viewer = Viewer { user: "u".into(), role: Role::Ddsl, sees_staff };
        let svc = common::Svc::on(backend, &tmp.path().join("data"), common::default_policy(), viewer);
        svc.ingest(&page, common::fixed_now()).expect("ingest");
        let ids: Vec<String> =
            svc.rejected(common::fixed_now()).expect("rejected").into_iter().filter_map(|q| q.rejected.id).collect();
        let mut want: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
        want.sort();
        let mut got = ids.clone();
        got.sort();
        assert_eq!(got, want, "sees_staff {sees_staff}");
    }
}
