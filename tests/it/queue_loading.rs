//! The app holds what the screen needs (issue 8): the open cases from the start, the closed and withdrawn
//! ones only when a filter asks for them, one row read again after a decision rather than every case, and
//! counts kept with the cases rather than counted for each frame. Driven through the real `update` and
//! the real case service over a real store.

use crate::access_support;
use crate::common;

use common::*;
use vigil::app::keymap::Command;
use vigil::app::{Action, Effect, QueueCounts};
use vigil::domain::Level;
use vigil::domain::case::CaseCommand;
use vigil::service::CaseSummary;

fn keys(h: &Harness) -> Vec<String> {
    h.state.cases.iter().map(|c| c.key.to_string()).collect()
}

fn whole_queue(h: &Harness) -> Vec<CaseSummary> {
    h.service.queue(fixed_now()).expect("queue")
}

#[test]
fn the_first_read_holds_the_open_cases_and_c_reads_the_rest_in_queue_order() {
    let mut h = Harness::new();
    let whole = whole_queue(&h);
    let closed = whole.iter().filter(|c| !c.open).count();
    assert!(closed > 0, "the fixture has cases that are not open");
    assert!(!h.state.closed_loaded);
    assert_eq!(h.state.cases.len(), whole.len() - closed);
    assert!(h.state.cases.iter().all(|c| c.open));

    let effects = h.apply(Action::Command(Command::FilterClosed));
    assert_eq!(effects, vec![Effect::LoadClosed { epoch: h.state.epoch }], "C asks for them, once");
    assert!(h.apply(Action::Command(Command::Down)).is_empty(), "and not again while they are read");
    h.effects(effects);
    assert!(h.state.closed_loaded);
    let expected: Vec<String> = whole.iter().map(|c| c.key.to_string()).collect();
    assert_eq!(keys(&h), expected, "open then closed is the whole queue, in its order");
    assert_eq!(h.state.rows.len(), whole.len(), "C shows them");

    // Held once read: turning C off and on again reads nothing.
    assert!(h.apply(Action::Command(Command::FilterClosed)).is_empty());
    assert!(h.apply(Action::Command(Command::FilterClosed)).is_empty());
}

#[test]
fn a_status_filter_for_closed_cases_reads_them_but_one_for_open_cases_does_not() {
    let mut h = Harness::new();
    h.state.filter.status = Some("in-progress".into());
    assert!(h.apply(Action::Command(Command::Down)).is_empty());
    h.state.filter.status = Some("withdrawn".into());
    assert_eq!(h.apply(Action::Command(Command::Down)), vec![Effect::LoadClosed { epoch: h.state.epoch }]);
}

#[test]
fn a_decision_reads_its_case_again_not_the_queue_and_moves_its_row() {
    let mut h = Harness::new();
    let low = h.state.cases.iter().find(|c| c.level == Level::Low).expect("a Low case").key.clone();
    let before = h.state.counts;

    let effects = h.apply(Action::Decided { key: low.clone(), message: "recorded".into() });
    assert_eq!(effects, vec![], "not Effect::LoadQueue: its row comes with the service's event");

    // The real decision, then the effect it asks for.
    let command = CaseCommand::Regrade { level: Level::High, reason: "disclosure in the context".into() };
    h.effects(vec![Effect::Act(low.clone(), command)]);
    let row = h.state.cases.iter().find(|c| c.key == low).expect("still held");
    assert_eq!(row.level, Level::High);
    let expected: Vec<String> =
        h.service.queue_open(fixed_now()).expect("open").iter().map(|c| c.key.to_string()).collect();
    assert_eq!(keys(&h), expected, "the row moved to its place in the queue order");
    let high = |c: QueueCounts| c.open_by_level.iter().find(|(l, _)| *l == Level::High).map(|(_, n)| *n);
    assert_eq!(high(h.state.counts), high(before).map(|n| n + 1), "the header's counts follow");
    assert_eq!(h.state.counts, QueueCounts::of(&h.state.cases));
}

#[test]
fn a_case_that_closes_while_closed_cases_are_not_held_leaves_the_queue() {
    let mut h = Harness::new();
    let mut row = h.state.cases[0].clone();
    let epoch = h.state.epoch;
    row.open = false;
    row.status = vigil::domain::Status::Closed;
    let key = row.key.clone();
    assert!(h.apply(Action::CaseChanged { key: key.clone(), summary: Some(Box::new(row)), seq: None }).is_empty());
    assert!(h.state.cases.iter().all(|c| c.key != key));
    assert!(h.state.epoch > epoch, "a read of the closed cases begun before this is stale");
    assert_eq!(h.state.counts, QueueCounts::of(&h.state.cases));
}

#[test]
fn a_stale_read_of_the_closed_cases_is_made_again() {
    let mut h = Harness::new();
    let asked = h.apply(Action::Command(Command::FilterClosed));
    let [Effect::LoadClosed { epoch: first }] = asked.as_slice() else { panic!("{asked:?}") };
    // Meanwhile a case changes (here it goes away): what the read returns may be out of date.
    let gone = h.state.cases[0].key.clone();
    let _ = h.apply(Action::CaseChanged { key: gone, summary: None, seq: None });
    let held = keys(&h);
    let effects = h.apply(Action::ClosedLoaded { epoch: *first, result: Ok(whole_queue(&h)) });
    assert_eq!(effects, vec![Effect::LoadClosed { epoch: h.state.epoch }]);
    assert_ne!(*first, h.state.epoch);
    assert_eq!(keys(&h), held, "the stale read was not used");
    assert!(!h.state.closed_loaded);
}

#[test]
fn the_dashboard_counts_the_cases_it_does_not_hold() {
    let mut h = Harness::new();
    let effects = h.apply(Action::Command(Command::Dashboard));
    assert_eq!(effects, vec![Effect::LoadNotOpen { epoch: h.state.epoch }]);
    assert!(h.state.duty.is_none(), "nothing to show until they are read");
    h.effects(effects);
    assert!(!h.state.closed_loaded, "only their raise times and levels were read");
    let whole = vigil::report::duty_summary(&whole_queue(&h), &[], fixed_now(), h.state.tz);
    assert_eq!(h.state.duty.as_ref(), Some(&whole));
    let open_only = vigil::report::duty_summary(&h.state.cases, &[], fixed_now(), h.state.tz);
    assert_ne!(open_only, whole, "the fixture has a case not open among this week's");
}

#[test]
fn the_clock_brings_cases_overdue_and_the_header_counts_them() {
    let mut h = Harness::new();
    let earliest = h.state.cases.iter().map(|c| c.raised_at).min().expect("cases");
    let _ = h.apply(Action::Tick(earliest - chrono::Duration::days(1)));
    assert_eq!(h.state.counts.overdue, 0, "nothing is overdue before it was raised");
    let _ = h.apply(Action::Tick(fixed_now()));
    let expected = h.service.queue_open(fixed_now()).expect("open").iter().filter(|c| c.overdue).count();
    assert!(expected > 0);
    assert_eq!(h.state.counts.overdue, expected);
    let expected: Vec<String> =
        h.service.queue_open(fixed_now()).expect("open").iter().map(|c| c.key.to_string()).collect();
    assert_eq!(keys(&h), expected, "in the queue order of that time");
}

#[test]
fn the_selected_case_stays_selected_when_a_decision_moves_it() {
    let mut h = Harness::new();
    let row = h.state.rows.iter().position(|i| h.state.cases[*i].level == Level::Low).expect("a Low row");
    h.state.selected = row;
    let low = h.state.selected_key().expect("selected").clone();
    let command = CaseCommand::Regrade { level: Level::High, reason: "disclosure in the context".into() };
    h.effects(vec![Effect::Act(low.clone(), command)]);
    assert_eq!(h.state.selected_key(), Some(&low), "the selection follows the case to its new place");
    assert_ne!(h.state.selected, row, "it moved");
}

#[test]
fn a_failed_read_of_the_closed_cases_is_not_repeated_until_asked_again() {
    let mut h = Harness::new();
    let asked = h.apply(Action::Command(Command::FilterClosed));
    let [Effect::LoadClosed { epoch }] = asked.as_slice() else { panic!("{asked:?}") };
    let effects = h.apply(Action::ClosedLoaded { epoch: *epoch, result: Err("an entry would not open".into()) });
    assert!(effects.is_empty(), "no loop of failing reads: {effects:?}");
    assert!(h.state.toast.as_ref().is_some_and(|t| t.error && t.text.contains("would not open")));
    assert!(h.apply(Action::Command(Command::Down)).is_empty());
    // C off and on again asks once more.
    assert!(h.apply(Action::Command(Command::FilterClosed)).is_empty());
    assert_eq!(h.apply(Action::Command(Command::FilterClosed)), vec![Effect::LoadClosed { epoch: h.state.epoch }]);
}

#[test]
fn a_case_the_feed_closed_before_the_app_heard_of_it_is_shown_once() {
    let mut h = Harness::new();
    let asked = h.apply(Action::Command(Command::FilterClosed));
    let [Effect::LoadClosed { epoch }] = asked.as_slice() else { panic!("{asked:?}") };
    // The read finds closed a case the open rows still show (the feed's Stored event comes later).
    let mut closed: Vec<CaseSummary> = whole_queue(&h).into_iter().filter(|c| !c.open).collect();
    let mut stale = h.state.cases[0].clone();
    stale.open = false;
    stale.status = vigil::domain::Status::Withdrawn;
    closed.push(stale.clone());
    let _ = h.apply(Action::ClosedLoaded { epoch: *epoch, result: Ok(closed) });
    assert_eq!(h.state.cases.iter().filter(|c| c.key == stale.key).count(), 1);
    let row = h.state.cases.iter().find(|c| c.key == stale.key).expect("shown");
    assert!(!row.open, "as the newer read has it");
    assert_eq!(h.state.counts, QueueCounts::of(&h.state.cases));
}

#[test]
fn the_dashboard_counts_a_case_once_when_the_open_rows_still_show_it() {
    let mut h = Harness::new();
    let asked = h.apply(Action::Command(Command::Dashboard));
    let [Effect::LoadNotOpen { epoch }] = asked.as_slice() else { panic!("{asked:?}") };
    let mut briefs = h.service.raised_not_open().expect("briefs");
    let open = &h.state.cases[0];
    briefs.push((open.raised_at, open.level, vigil::service::key_hash(&open.key)));
    let _ = h.apply(Action::NotOpenLoaded { epoch: *epoch, result: Ok(briefs) });
    let whole = vigil::report::duty_summary(&whole_queue(&h), &[], fixed_now(), h.state.tz);
    assert_eq!(h.state.duty, Some(whole), "the duplicate was not counted twice");
}

#[test]
fn a_dashboard_whose_read_failed_says_so() {
    let mut h = Harness::new();
    let asked = h.apply(Action::Command(Command::Dashboard));
    let [Effect::LoadNotOpen { epoch }] = asked.as_slice() else { panic!("{asked:?}") };
    assert!(h.apply(Action::NotOpenLoaded { epoch: *epoch, result: Err("disk error".into()) }).is_empty());
    assert!(h.state.duty.is_none());
    let t = h.draw(100, 30);
    let text: String = t.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    assert!(text.contains("could not be read"), "{text}");
}

#[test]
fn an_index_in_the_one_tree_layout_of_earlier_vigils_is_rebuilt_into_open_and_closed_and_its_hint_dropped() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let service = fixture_service(&data, dsl());
    let key_list = |rows: Vec<CaseSummary>| rows.iter().map(|c| c.key.to_string()).collect::<Vec<_>>();
    let (open, closed) = (
        key_list(service.queue_open(fixed_now()).expect("open")),
        key_list(service.queue_closed(fixed_now()).expect("closed")),
    );
    assert!(!open.is_empty() && !closed.is_empty(), "the fixture has both");
    drop(service);
    {
        // The layout before the split: every entry in one `index` tree, and a marker key for each open case.
        let db = access_support::open_sled(&data.join("db"));
        let old = db.open_tree("index").expect("tree");
        for (name, open) in [("index-open", true), ("index-closed", false)] {
            for kv in db.open_tree(name).expect("tree").iter() {
                let (k, v) = kv.expect("kv");
                old.insert(&k, v).expect("put");
                if open {
                    old.insert([b"\xff\xffopen/".as_slice(), &k].concat(), b"").expect("marker");
                }
            }
            assert!(db.drop_tree(name).expect("drop"), "{name} was there");
        }
        let meta = db.open_tree("meta").expect("meta");
        meta.insert(b"index", b"complete, postcard 2, open set".as_slice()).expect("put");
        // Retention's hint then counted closes only: "nothing closed before the end of time".
        meta.insert(b"closed-since", i64::MAX.to_be_bytes().as_slice()).expect("put");
        db.flush().expect("flush");
    }
    let data_s = data.to_str().expect("utf8");
    assert!(std::process::Command::new("chmod").args(["-R", "go-rwx", data_s]).status().expect("chmod").success());

    let service = fixture_service_without_ingest(&data);
    assert_eq!(key_list(service.queue_open(fixed_now()).expect("open")), open);
    assert_eq!(key_list(service.queue_closed(fixed_now()).expect("closed")), closed);
    drop(service);
    let db = access_support::open_sled(&data.join("db"));
    assert!(!db.tree_names().iter().any(|n| n.as_ref() == b"index"), "the old tree is dropped");
    assert_eq!(db.open_tree("meta").expect("meta").get(b"closed-since").expect("read"), None, "and the old hint");
}

fn fixture_service_without_ingest(data: &std::path::Path) -> crate::common::Svc {
    let store = vigil::store::Store::open(data, &vigil::store::StoreKey::file(key_file_for(data))).expect("reopen");
    let config = vigil::config::Config::default();
    crate::common::Svc::new(store, config.calendar(), config.due, config.levels.clone(), dsl())
}
