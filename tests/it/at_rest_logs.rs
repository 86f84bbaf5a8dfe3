//! No alert content ever reaches the log file: a sync (once, and polling in the foreground) and a headless
//! session over alerts that carry a marker in every text field, then a search of `vigil.log` for it.
//!
//! Notifications and the window title: vigil has neither (no notification code, and the TUI never sets a
//! title; the hostile-text tests also show an OSC 0 title sequence from the feed arrives inert). Process
//! arguments: vigil starts no processes, and the feed token is never an argument (see `config check`).

use crate::access_support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use access_support::{Env, alert_with_text, feed, stdout};

const MARK: &str = "LogMarkZ9-";

#[test]
fn a_sync_and_a_session_leave_no_alert_content_in_the_log() {
    let mut rejected = alert_with_text("LOG-4", "student", MARK, 3);
    rejected["risk"] = serde_json::json!(9);
    let feed = feed(vec![
        alert_with_text("LOG-1", "student", MARK, 5),
        alert_with_text("LOG-2", "staff", MARK, 3),
        alert_with_text("LOG-3", "student", MARK, 1),
        rejected,
    ]);
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role(tmp.path(), "dsl");
    let out = env.ok(&["--feed-url", &feed.url, "sync", "--once"]);
    assert!(stdout(&out).contains("3 new"), "{}", stdout(&out));

    // Polling in the foreground logs as it goes (`sync started`, each failure): run it a moment.
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("--data-dir")
        .arg(&env.data)
        .arg("--config")
        .arg(&env.config)
        .args(["--feed-url", &feed.url, "sync"])
        .env_remove("VIGIL_CONFIG")
        .env_remove("VIGIL_DATA_DIR")
        .env_remove("VIGIL_PASSPHRASE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("vigil sync starts");
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().expect("stop it");
    let _ = child.wait();

    let note = format!("{MARK}typed");
    for args in [
        vec!["list"],
        vec!["list", "--json", "--all"],
        vec!["list", MARK],
        vec!["show", "LOG-1"],
        vec!["show", "LOG-1", "--json"],
        vec!["show", "LOG-1", "--cpoms"],
        vec!["show", "LOG-2"],
        vec!["case", "LOG-1", "tick", "review-alert", "--note", &note],
        vec!["case", "LOG-1", "note", &note],
        vec!["case", "LOG-2", "note", &note],
        vec!["feed", "rejected"],
        vec!["feed", "rejected", "--json"],
        vec!["feed", "status"],
        vec!["report"],
        vec!["audit", "show"],
        vec!["audit", "verify"],
    ] {
        env.ok(&args);
    }
    // Failures log too: a feed that is gone.
    drop(feed);
    let _ = env.run(&["--feed-url", "http://127.0.0.1:9/", "sync", "--once"]);

    let log_path = env.data.join("vigil.log");
    let log = std::fs::read(&log_path).expect("the log file exists");
    assert!(!log.is_empty(), "something was logged (sync started / stopped), so the search means something");
    assert!(
        !access_support::contains(&log, MARK.as_bytes()),
        "alert content in the log:\n{}",
        String::from_utf8_lossy(&log)
    );
    assert!(!access_support::contains(&log, b"LOG-1"), "not even an alert id");
    let mode = std::fs::metadata(&log_path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the log is its owner's alone");
    // The audit trail is content-free too.
    assert!(!stdout(&env.ok(&["audit", "show"])).contains(MARK));
}
