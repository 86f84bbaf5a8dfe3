//! Hostile text from the feed never reaches a terminal raw: ESC and every C0/C1 control, CSI and OSC
//! sequences (OSC 52 clipboard writes, OSC 8 links), bidi overrides and isolates, NUL and over-long lines
//! are fed through the queue and detail pane (TestBackend), the CPOMS text, and the real binary's `list`,
//! `show`, `feed rejected`, `case` and `audit show`; what comes out holds none of them. The store keeps the
//! original, which `show --json` returns JSON-escaped.

use crate::access_support;
use crate::common;

use access_support::{Env, alert_with_text, feed, stderr};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};
use tokio::sync::Notify;
use vigil::app::keymap::Command;
use vigil::app::{Action, Effect, State, update};
use vigil::domain::AlertKey;
use vigil::domain::inert::{MAX_LINE_CHARS, is_inert};
use vigil::feed::protocol::parse_page;
use vigil::store::{Store, StoreKey};
use vigil::tui::run_effects;
use vigil::ui::theme::ThemeName;
use vigil::ui::{Theme, render};

/// Every kind of hostile text at once.
const HOSTILE: &str = concat!(
    "\u{1b}[2J\u{1b}[31m",                                            // CSI: clear the screen, red
    "\u{1b}]52;c;SGVsbG8gZnJvbSB0aGUgZmVlZA==\u{7}",                  // OSC 52: write the clipboard
    "\u{1b}]8;;https://evil.example/\u{1b}\\click\u{1b}]8;;\u{1b}\\", // OSC 8: a link
    "\u{1b}]0;owned title\u{7}",                                      // OSC 0: the window title
    "\u{202E}txt.exe\u{202C}",                                        // bidi override
    "\u{2066}isolate\u{2069}\u{200F}",                                // bidi isolate, RTL mark
    "nul\u{0}bell\u{7}bs\u{8}",                                       // NUL, BEL, BS
    "\u{9b}31mC1-CSI\u{9d}C1-OSC\u{85}",                              // C1 controls
    "del\u{7f}cr\rtab\t|",                                            // DEL, CR, TAB
);

/// What must never appear in what vigil writes to a terminal.
const FORBIDDEN: [char; 14] = [
    '\u{1b}', '\u{9b}', '\u{9d}', '\u{85}', '\u{202E}', '\u{202C}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{0}',
    '\u{7}', '\u{8}', '\u{7f}', '\r',
];

fn hostile_alerts() -> Vec<Value> {
    let mut high = alert_with_text("HOSTILE-1", "student", HOSTILE, 5);
    // One over-long line in the summary, after the hostile text.
    high["summary"] = json!(format!("{HOSTILE}summary {}", "x".repeat(3 * MAX_LINE_CHARS)));
    // An id with escapes in it, too (ids are shown everywhere).
    let evil_id = alert_with_text("EVIL\u{1b}[31m\u{202E}-2", "student", HOSTILE, 3);
    let mut rejected = alert_with_text("HOSTILE-3", "student", HOSTILE, 3);
    rejected["risk"] = json!(9); // invalid: quarantined with its raw JSON
    vec![high, evil_id, rejected]
}

fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    assert!(!bytes.contains(&0x1b), "{what}: an ESC byte reached the output");
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    for c in FORBIDDEN {
        assert!(!text.contains(c), "{what}: {c:?} reached the output");
    }
    assert!(is_inert(text), "{what}: a control or bidi character reached the output");
}

#[test]
fn the_queue_detail_pane_and_records_overlay_render_hostile_text_inert() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let store = Store::open(&data, &StoreKey::bytes([3; 32])).expect("store");
    let config = vigil::config::Config::default();
    let service = crate::common::Svc::new(store, config.calendar(), config.due, config.levels.clone(), common::dsl());
    let link = std::cell::RefCell::new(vigil::tui::Link::new(service.session.clone()));
    let body = json!({"feed": "vigil.alert-feed/1", "alerts": hostile_alerts(), "cursor": "c1", "more": false});
    let page = parse_page(body.to_string().as_bytes()).expect("page");
    assert_eq!((page.alerts.len(), page.rejected.len()), (2, 1));
    service.ingest(&page, common::fixed_now()).expect("ingest");

    let mut state = State::new(service.viewer().clone(), common::fixed_now());
    state.tz = service.calendar().time_zone();
    let retry = Notify::new();
    let act = |state: &mut State, action: Action| {
        let effects = update(state, action);
        run_effects(state, &mut link.borrow_mut(), &retry, &common::fixed_now, effects);
    };
    run_effects(&mut state, &mut link.borrow_mut(), &retry, &common::fixed_now, vec![Effect::LoadQueue]);
    let frames = |state: &State, label: &str| {
        for (w, h) in [(80, 24), (160, 48)] {
            let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
            for theme in [Theme::new(ThemeName::Dark, false), Theme::new(ThemeName::Mono, true)] {
                t.draw(|f| render(state, &theme, f)).expect("draw");
                for (i, cell) in t.backend().buffer().content().iter().enumerate() {
                    assert!(
                        is_inert(cell.symbol()),
                        "{label} {w}x{h}: cell {i} holds {:?}",
                        cell.symbol().chars().collect::<Vec<_>>()
                    );
                }
                let text: String = t.backend().buffer().content().iter().map(|c| c.symbol()).collect();
                for c in FORBIDDEN {
                    assert!(!text.contains(c), "{label} {w}x{h}: {c:?} on screen");
                }
            }
        }
    };
    frames(&state, "queue");
    act(&mut state, Action::Command(Command::Open));
    assert!(state.detail.is_some(), "a case is open");
    frames(&state, "detail pane");
    act(&mut state, Action::Command(Command::Down));
    act(&mut state, Action::Command(Command::Open));
    frames(&state, "detail pane of the case with the hostile id");
    act(&mut state, Action::Command(Command::Records));
    frames(&state, "records overlay");

    // The CPOMS text from the service, as the TUI and `show --cpoms` get it.
    let key = AlertKey::new("smoothwall-monitor", "HOSTILE-1");
    let records = service.records(&key, common::fixed_now()).expect("records");
    assert!(is_inert(&records.cpoms), "CPOMS text: {:?}", records.cpoms);
    assert!(records.cpoms.contains("␛[2J"), "escapes stay visible as evidence: {}", records.cpoms);
    assert!(records.cpoms.contains("\\u{202E}"), "{}", records.cpoms);
    assert!(records.cpoms.contains("…[+"), "the over-long line is cut with a count");
    assert!(records.cpoms.lines().all(|l| l.chars().count() <= MAX_LINE_CHARS + 200), "no line runs on");
    assert!(records.tracking.as_deref().is_some_and(is_inert));

    // The store keeps the original.
    let alert = service.store().alert(&key).expect("read").expect("stored");
    assert!(alert.summary.starts_with(HOSTILE), "the original is kept");
    assert_eq!(alert.subject.name.as_deref(), Some(format!("{HOSTILE}subject-name").as_str()));
}

#[test]
fn the_binary_writes_no_escape_to_the_terminal_and_json_keeps_the_original_escaped() {
    let feed = feed(hostile_alerts());
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role(tmp.path(), "dsl");
    let out = env.ok(&["--feed-url", &feed.url, "sync", "--once"]);
    assert_terminal_safe("sync", &out.stdout);

    let evil = "EVIL\u{1b}[31m\u{202E}-2";
    // What a user might paste as a note: everything but NUL, which no argument can hold.
    let typed = HOSTILE.replace('\0', "");
    for args in [
        vec!["list"],
        vec!["list", "--all"],
        vec!["list", "--json"],
        vec!["show", "HOSTILE-1"],
        vec!["show", "HOSTILE-1", "--cpoms"],
        vec!["show", "HOSTILE-1", "--json"],
        vec!["show", evil],
        vec!["show", evil, "--json"],
        vec!["case", evil, "note", &typed],
        vec!["case", "HOSTILE-1", "tick", "review-alert", "--note", &typed],
        vec!["show", evil],
        vec!["feed", "rejected"],
        vec!["feed", "rejected", "--json"],
        vec!["feed", "status"],
        vec!["report"],
        vec!["report", "--format", "json"],
        vec!["report", "--format", "csv"],
        vec!["report", "--format", "html"],
        vec!["audit", "show"],
        vec!["show", "NO-SUCH-\u{1b}[2J"],
    ] {
        let out = env.run(&args);
        let label = format!("vigil {:?}", args.iter().map(|a| a.escape_debug().to_string()).collect::<Vec<_>>());
        assert_terminal_safe(&format!("{label} stdout"), &out.stdout);
        assert_terminal_safe(&format!("{label} stderr"), &out.stderr);
        if args.get(1) != Some(&"NO-SUCH-\u{1b}[2J") {
            assert!(out.status.success(), "{label}: {}", stderr(&out));
        }
    }

    // The list shows the escapes, visibly.
    let list = String::from_utf8(env.ok(&["list"]).stdout).expect("utf8");
    assert!(list.contains("EVIL␛[31m\\u{202E}-2"), "{list}");

    // `show --json` returns the original strings, JSON-escaped.
    let out = env.ok(&["show", "HOSTILE-1", "--json"]);
    let raw = String::from_utf8(out.stdout.clone()).expect("utf8");
    assert!(raw.contains("\\u001b[2J") && raw.contains("\\u202e") && raw.contains("\\u009b"), "{raw}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["alert"]["summary"].as_str().expect("summary").starts_with(HOSTILE), "the original comes back");
    assert_eq!(v["alert"]["subject"]["name"], format!("{HOSTILE}subject-name"));
    assert_eq!(v["alert"]["captures"][0]["window_title"], format!("{HOSTILE}window-title"));
    let v: Value = serde_json::from_slice(&env.ok(&["show", evil, "--json"]).stdout).expect("json");
    assert_eq!(v["case"]["id"], evil);
    let notes: Vec<&Value> =
        v["events"].as_array().expect("events").iter().filter(|e| e["kind"]["type"] == "note-added").collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["kind"]["text"], typed.trim(), "a typed note is kept as typed too");

    // Rejected alerts: the raw JSON is kept whole.
    let rejected: Value = serde_json::from_slice(&env.ok(&["feed", "rejected", "--json"]).stdout).expect("json");
    let raw = rejected[0]["raw"].as_str().expect("raw");
    assert!(raw.contains('\u{202E}') || raw.contains("\\u202e") || raw.contains("\\u202E"), "{raw}");
    drop(feed);
}
