//! The CPOMS text and the illegal-content path through the real binary, as a reviewer types them (issue 19
//! items 6, 7 and 8): `vigil case ... tick/untick/note/illegal`, then `vigil show ID --cpoms` and `vigil list
//! --json`, against a store synced from the real demo feed server on loopback.

use crate::access_support;

use access_support::*;
use serde_json::Value;

#[test]
fn what_vigil_case_records_is_what_show_cpoms_and_list_say() {
    let tmp = tempfile::tempdir().expect("tmp");
    let feed =
        feed(vec![alert_with_text("RC-HIGH", "student", "rc-", 5), alert_with_text("RC-LOW", "student", "rc-", 1)]);
    let env = Env::with_role(tmp.path(), "dsl");
    env.ok(&["--feed-url", &feed.url, "sync", "--once"]);

    // 6: a contact time ticked and then undone is not in the CPOMS text.
    env.ok(&["case", "RC-HIGH", "tick", "high-contact-time", "--value", "13:30"]);
    env.ok(&["case", "RC-HIGH", "untick", "high-contact-time", "--reason", "wrong time"]);
    // 7: the line breaks of a note stay line breaks.
    env.ok(&["case", "RC-HIGH", "note", "Spoke to the student; parent present.\nReferred to counselling."]);
    let cpoms = stdout(&env.ok(&["show", "RC-HIGH", "--cpoms"]));
    assert!(!cpoms.contains("time contact was made"), "an undone item is still in the record:\n{cpoms}");
    assert!(cpoms.contains("parent present.\n  Referred to counselling."), "{cpoms}");
    assert!(!cpoms.contains('␊'), "{cpoms}");

    // 8: `illegal` on a Low case makes it High, with High's due time and CPOMS rules, in one command.
    let recorded = stdout(&env.ok(&["case", "RC-LOW", "illegal", "--reason", "indecent image described"]));
    assert!(
        recorded.contains("regraded low -> high") && recorded.contains("illegal-content path chosen"),
        "{recorded}"
    );
    let list: Vec<Value> = serde_json::from_str(&stdout(&env.ok(&["list", "--json"]))).expect("json");
    let low = list.iter().find(|c| c["id"] == "RC-LOW").expect("RC-LOW listed");
    assert_eq!((low["level"].as_str(), low["illegal_path"].as_bool()), (Some("high"), Some(true)), "{low}");
    assert_eq!(low["due_at"], "2026-11-10T10:30:00Z", "High: 30 working minutes after a 10:00 raise");
    let cpoms = stdout(&env.ok(&["show", "RC-LOW", "--cpoms"]));
    assert!(cpoms.contains("Monitoring alert (high level)") && !cpoms.contains("not for CPOMS"), "{cpoms}");
    let shown = stdout(&env.ok(&["show", "RC-LOW"]));
    assert!(!shown.contains("false positive, or non-harmful curiosity"), "the Low question is gone:\n{shown}");
}
