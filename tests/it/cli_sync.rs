//! The foundation end to end: the demo feed on loopback, the real binary, a real store on disk.

use crate::common;

use common::*;
use serde_json::Value;

struct Feed {
    runtime: tokio::runtime::Runtime,
    url: String,
}

fn demo_feed() -> Feed {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let (addr, _handle) = runtime
        .block_on(vigil::feed::demo::spawn(([127, 0, 0, 1], 0).into(), demo_data(), None, None))
        .expect("demo feed binds");
    Feed { runtime, url: format!("http://{addr}") }
}

fn args<'a>(dir: &'a str, config: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--data-dir", dir, "--config", config];
    v.extend_from_slice(rest);
    v
}

#[test]
fn sync_then_list_in_queue_order_then_a_second_sync_adds_nothing() {
    let feed = demo_feed();
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let data = data.to_str().expect("utf8");
    let config = config_with_role(tmp.path(), "dsl");
    let config = config.to_str().expect("utf8");

    let out = vigil(&args(data, config, &["--feed-url", &feed.url, "sync", "--once"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "synced: 45 new, 1 revised, 0 unchanged, 0 quarantined");

    let out = vigil(&args(data, config, &["list", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json array");
    assert_eq!(list.len(), 44, "45 alerts less the withdrawn one");
    for field in [
        "id",
        "source",
        "revision",
        "level",
        "risk",
        "category",
        "subject_kind",
        "subject_id",
        "status",
        "raised_at",
        "due_at",
        "out_of_hours",
        "suspected_illegal",
    ] {
        assert!(list.iter().all(|c| c.get(field).is_some()), "every element has `{field}`");
    }
    let rank = |l: &str| match l {
        "high" => 0,
        "medium" => 1,
        _ => 2,
    };
    let levels: Vec<i32> = list.iter().map(|c| rank(c["level"].as_str().expect("level"))).collect();
    assert!(levels.windows(2).all(|w| w[0] <= w[1]), "High, then Medium, then Low: {levels:?}");
    for pair in list.windows(2) {
        if pair[0]["level"] == pair[1]["level"] {
            assert!(pair[0]["due_at"].as_str() <= pair[1]["due_at"].as_str(), "due order within a level");
        }
    }
    assert!(list.iter().any(|c| c["subject_kind"] == "staff"), "the DSL sees staff alerts");
    let revised = list.iter().find(|c| c["id"] == "SW-2026-004515").expect("revised alert listed");
    assert_eq!(revised["revision"], 2);

    let all: Vec<Value> =
        serde_json::from_slice(&vigil(&args(data, config, &["list", "--json", "--all"])).stdout).expect("json");
    assert_eq!(all.len(), 45);
    assert!(all.iter().any(|c| c["status"] == "withdrawn"));

    let out = vigil(&args(data, config, &["--feed-url", &feed.url, "sync", "--once"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "synced: 0 new, 0 revised, 0 unchanged, 0 quarantined",
        "ETag / cursor: nothing twice"
    );
    drop(feed.runtime);
}

#[test]
fn decisions_survive_a_restart() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    {
        let service = fixture_service(&data, dsl());
        drop(service);
    }
    let data_s = data.to_str().expect("utf8");
    let config = config_with_role(tmp.path(), "dsl");
    let config = config.to_str().expect("utf8");
    let out = vigil(&args(data_s, config, &["case", "SW-2026-004506", "tick", "review-alert", "--note", "read twice"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("done: review-alert"));
    let out = vigil(&args(data_s, config, &["case", "SW-2026-004506", "tick", "3", "--value", "Yes: act now"]));
    assert!(out.status.success(), "{}", stderr(&out));

    let out = vigil(&args(data_s, config, &["show", "SW-2026-004506", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let item =
        |id: &str| v["checklist"].as_array().expect("list").iter().find(|i| i["id"] == id).cloned().expect("item");
    assert_eq!(item("review-alert")["done"], true);
    assert_eq!(item("review-alert")["note"], "read twice");
    assert_eq!(item("immediate-action")["value"], "Yes: act now");
    assert_eq!(v["case"]["status"], "in-progress");
}

#[test]
fn a_second_vigil_on_the_same_store_gets_a_plain_message() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let held = fixture_service(&data, dsl());
    let config = config_with_role(tmp.path(), "dsl");
    let out = vigil(&args(data.to_str().expect("utf8"), config.to_str().expect("utf8"), &["list"]));
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    assert!(err.contains("in use by another vigil"), "{err}");
    assert!(err.contains(&format!("process {}", std::process::id())), "names the holder: {err}");
    assert!(!err.contains("panicked"), "{err}");
    drop(held);
    let out = vigil(&args(data.to_str().expect("utf8"), config.to_str().expect("utf8"), &["list"]));
    assert!(out.status.success(), "free again once the first one closes: {}", stderr(&out));
}

#[test]
fn a_user_without_a_role_is_refused_and_nothing_is_created() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = tmp.path().join("config.toml");
    std::fs::write(&config, "[roles]\ndsl = [\"somebody-else\"]\n").expect("write");
    let data = tmp.path().join("data");
    let out = vigil(&["--data-dir", data.to_str().expect("utf8"), "--config", config.to_str().expect("utf8"), "list"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("has no role"), "{}", stderr(&out));
    assert!(!data.exists(), "no store is created for a user with no role");
}

#[test]
fn config_check_names_file_line_and_key_and_redacts_the_token() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[feed]\npoll_seconds = 30\nurl_tpyo = \"http://x\"\n").expect("write");
    let out = vigil(&["--config", bad.to_str().expect("utf8"), "config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad.toml") && err.contains("line 3") && err.contains("url_tpyo"), "{err}");

    let good = config_with_role(tmp.path(), "dsl");
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, "s3cret-token-value\n").expect("write");
    let text = std::fs::read_to_string(&good).expect("read");
    std::fs::write(
        &good,
        format!("{text}[feed]\nurl = \"https://bridge.example/feeds/college\"\ntoken_file = {:?}\n", token_file),
    )
    .expect("write");
    let out = vigil(&[
        "--config",
        good.to_str().expect("utf8"),
        "--data-dir",
        tmp.path().join("d").to_str().expect("utf8"),
        "config",
        "check",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("feed token: set (redacted)"), "{text}");
    assert!(!text.contains("s3cret-token-value"), "{text}");
    assert!(text.contains("https://bridge.example/feeds/college"));
}

/// A mistyped time zone or holiday is an error that names the setting, not a quiet fall back to London's
/// calendar (issue 14).
#[test]
fn config_check_refuses_a_bad_calendar_naming_the_setting() {
    let tmp = tempfile::tempdir().expect("tmp");
    for (line, setting, value) in [
        ("time_zone = \"Europe/Londn\"", "time_zone", "Europe/Londn"),
        ("holidays = [\"2026-12-32\"]", "holidays", "2026-12-32"),
    ] {
        let bad = tmp.path().join("bad.toml");
        std::fs::write(&bad, format!("[calendar]\n{line}\n")).expect("write");
        let out = vigil(&["--config", bad.to_str().expect("utf8"), "config", "check"]);
        assert_eq!(out.status.code(), Some(2), "{line}");
        let err = stderr(&out);
        assert!(err.contains("bad.toml") && err.contains(setting) && err.contains(value), "{line}: {err}");
    }
}
