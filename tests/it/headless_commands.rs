//! The headless commands as a user types them, through the real binary and a real store: `vigil list`
//! says everything the TUI's queue says, and a value is read the same way wherever it is typed (a choice by
//! its number or its words, a date as YYYY-MM-DD or DD/MM/YYYY).

use crate::access_support;

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

#[test]
fn a_choice_and_a_date_are_read_the_same_way_everywhere() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (env, _feed) = synced(tmp.path());
    // A choice by its number, as the TUI's popup takes it: "No" is the second of "immediate-action".
    env.ok(&["case", "LOW-1", "tick", "immediate-action", "--value", "2"]);
    // A checklist date in the DD/MM/YYYY form, and the case's follow-up date in the same form.
    env.ok(&["case", "LOW-1", "follow-up", "03/12/2026"]);
    let shown: Value = serde_json::from_str(&stdout(&env.ok(&["show", "LOW-1", "--json"]))).expect("json");
    let item = shown["checklist"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["id"] == "immediate-action"))
        .expect("the item");
    assert_eq!(item["value"], "No", "the number names the choice, and the record says the choice");
    assert_eq!(shown["case"]["follow_up"], "2026-12-03");
    // A number no choice has is refused, naming the choices.
    let out = env.run(&["case", "LOW-1", "tick", "low-assessment", "--value", "3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(access_support::stderr(&out).contains("Non-harmful curiosity"), "{}", access_support::stderr(&out));
    // A report's period in either form.
    for (from, to) in [("01/11/2026", "30/11/2026"), ("2026-11-01", "2026-11-30")] {
        let report = stdout(&env.ok(&["report", "--from", from, "--to", to, "--format", "json"]));
        let figures: Value = serde_json::from_str(&report).expect("json report");
        assert_eq!(figures["period"]["from"], "2026-11-01", "{report}");
        assert_eq!(figures["period"]["to"], "2026-11-30", "{report}");
    }
}
