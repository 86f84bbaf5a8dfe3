//! `vigil ... | head` closing the pipe early: every headless command, run as the real binary with a standard
//! output whose reader is already gone, exits quietly (code 0, nothing on stderr) instead of panicking with
//! exit 101. The reader is closed before the child starts, so every write it makes meets a closed pipe.

use crate::access_support;

use std::process::Output;

use access_support::{Env, alert_with_text, feed, stderr, stdout};
use serde_json::json;

/// Runs `vigil args` with a standard output nobody reads.
fn into_closed_pipe(env: &Env, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    env.command(args).stdout(writer).output().expect("vigil runs")
}

#[test]
fn every_command_exits_quietly_when_its_output_is_closed() {
    let mut rejected = alert_with_text("RJ-1", "student", "x", 3);
    rejected["risk"] = json!(9);
    let feed = feed(vec![alert_with_text("ST-1", "student", "x", 5), rejected]);
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role(tmp.path(), "dsl");
    let synced = env.ok(&["--feed-url", &feed.url, "sync", "--once"]);
    assert!(stdout(&synced).contains("1 new"), "{}", stdout(&synced));
    let families: &[&[&str]] = &[
        &["--version"],
        &["--feed-url", &feed.url, "sync", "--once"],
        &["list"],
        &["list", "--json"],
        &["show", "ST-1"],
        &["show", "ST-1", "--json"],
        &["show", "ST-1", "--cpoms"],
        &["case", "ST-1", "note", "rang home"],
        &["config", "check"],
        &["feed", "status"],
        &["feed", "rejected"],
        &["feed", "rejected", "--json"],
        &["report"],
        &["report", "--format", "json"],
        &["audit", "verify"],
        &["audit", "show"],
        &["store", "compact"],
    ];
    for args in families {
        let out = into_closed_pipe(&env, args);
        assert_eq!(out.status.code(), Some(0), "vigil {args:?} into a closed pipe: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "vigil {args:?} into a closed pipe says nothing");
    }
    // What the commands had to say still arrives when someone reads it (the same store, unharmed).
    let verify = env.ok(&["audit", "verify"]);
    assert!(stdout(&verify).starts_with("audit trail intact"), "{}", stdout(&verify));
}
