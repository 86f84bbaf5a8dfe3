//! The headless commands as a user types them, through the real binary and a real store: `vigil list`
//! says everything the TUI's queue says.

mod access_support;

use access_support::{Env, alert_with_text, feed, stdout};
use serde_json::{Value, json};

/// One store holding: `ILL-1`, suspected illegal content raised at 20:00 on a Tuesday (out of hours);
/// `LOW-1`, an ordinary Low alert raised in working hours.
fn synced(dir: &std::path::Path) -> (Env, access_support::Feed) {
    let mut illegal = alert_with_text("ILL-1", "student", "x", 5);
    illegal["suspected_illegal"] = json!(true);
    illegal["raised_at"] = json!("2026-11-10T20:00:00+00:00");
    let feed = feed(vec![illegal, alert_with_text("LOW-1", "student", "x", 1)]);
    let env = Env::with_role(dir, "dsl");
    env.ok(&["--feed-url", &feed.url, "sync", "--once"]);
    (env, feed)
}

#[test]
fn plain_list_shows_the_flags_the_queue_shows() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (env, _feed) = synced(tmp.path());
    let plain = stdout(&env.ok(&["list"]));
    let row =
        |id: &str| plain.lines().find(|l| l.contains(id)).unwrap_or_else(|| panic!("{id} in {plain}")).to_string();
    let json: Value = serde_json::from_str(&stdout(&env.ok(&["list", "--json"]))).expect("json");
    let ill = json.as_array().and_then(|a| a.iter().find(|c| c["id"] == "ILL-1")).expect("ILL-1 in the JSON");
    assert_eq!((ill["illegal_path"].as_bool(), ill["out_of_hours"].as_bool()), (Some(true), Some(true)));
    assert!(row("ILL-1").contains("ILLEGAL"), "{}", row("ILL-1"));
    assert!(row("ILL-1").contains("OOH"), "{}", row("ILL-1"));
    assert!(!row("LOW-1").contains("ILLEGAL") && !row("LOW-1").contains("OOH"), "{}", row("LOW-1"));
}
