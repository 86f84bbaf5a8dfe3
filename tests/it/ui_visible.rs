//! Issue 19, the screen side: a key acts only on what the screen shows, the selection and a popup's input
//! are always on screen, focus follows the case, the hint bar shows the keys of what is on top, and cells
//! are cut by display width. Driven through the real key mapping (`tui::key_action`), the real `update` and
//! the real case service over a real store, drawn on a TestBackend.

use crate::common;

use common::*;
use crossterm::event::KeyEvent;
use vigil::app::keymap::{Command, parse_key};
use vigil::app::{Action, Focus, Mode};

/// Presses a key by its keymap name, as the runtime does: through `key_action`, then `update`.
fn press(h: &mut Harness, name: &str) {
    let (code, mods) = parse_key(name).expect("a key name");
    if let Some(action) = vigil::tui::key_action(&h.state, &KeyEvent::new(code, mods)) {
        h.act(action);
    }
}

fn screen_text(h: &Harness, w: u16, ht: u16) -> String {
    let t = h.draw(w, ht);
    let buf = t.backend().buffer();
    (0..ht).map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>() + "\n").collect()
}

/// The text inside the popup titled `title` (its rows joined by spaces), or "" when none is drawn.
fn popup_text(h: &Harness, w: u16, ht: u16, title: &str) -> String {
    let t = h.draw(w, ht);
    let buf = t.backend().buffer();
    let sym = |x: u16, y: u16| buf[(x, y)].symbol().to_string();
    for y in 0..ht {
        for x in 0..w {
            let here: String = (x..w.min(x + 1 + title.chars().count() as u16)).map(|x| sym(x, y)).collect();
            if here != format!("┌{title}") {
                continue;
            }
            let right = (x + 1..w).find(|&r| sym(r, y) == "┐").expect("the popup's corner");
            let rows = (y + 1..ht).take_while(|&r| sym(x, r) != "└");
            return rows.map(|r| (x + 1..right).map(|c| sym(c, r)).collect::<String>()).collect::<Vec<_>>().join(" ");
        }
    }
    String::new()
}

fn done_items(h: &Harness) -> Vec<String> {
    let key = h.state.detail.as_ref().expect("a case was opened").alert.key.clone();
    let d = h.service.detail(&key, fixed_now()).expect("detail");
    d.checklist.iter().filter(|i| i.done).map(|i| i.id.clone()).collect()
}

/// Opens the first (High) case and moves to its checklist.
fn in_the_checklist() -> Harness {
    let mut h = Harness::new();
    press(&mut h, "Enter");
    press(&mut h, "Tab");
    assert_eq!(h.state.focus, Focus::Checklist);
    h
}

// Item 1.

#[test]
fn with_the_dashboard_open_no_key_reaches_the_case_under_it() {
    let mut h = in_the_checklist();
    press(&mut h, "D");
    assert!(h.state.dashboard);
    for key in ["Space", "Enter", "n", "c", "G", "y", ":", "/", "Tab", "H"] {
        press(&mut h, key);
        assert_eq!(h.state.mode, Mode::Normal, "{key} opened something under the dashboard");
    }
    assert!(done_items(&h).is_empty(), "a key ticked an item on the hidden case: {:?}", done_items(&h));
    assert!(!h.state.filter.is_active(), "H filtered the hidden queue");
    // The same rule holds for a command given to `update` directly.
    h.cmd(Command::Toggle);
    assert!(done_items(&h).is_empty());
    let toast = h.state.toast.clone().expect("the refusal says why");
    assert!(toast.text.contains("while the dashboard is shown (D closes it)"), "{}", toast.text);
    // The dashboard's own keys work: ? shows its keys, D closes it, and then Space ticks again.
    press(&mut h, "?");
    assert_eq!(h.state.mode, Mode::Help);
    let help = screen_text(&h, 100, 40);
    assert!(help.contains("Keys on the dashboard"), "{help}");
    press(&mut h, "Esc");
    press(&mut h, "D");
    press(&mut h, "Space");
    assert_eq!(done_items(&h), ["review-alert"]);
}

#[test]
fn a_too_small_terminal_takes_no_key_but_quit() {
    let mut h = in_the_checklist();
    h.act(Action::Resized(ratatui::layout::Size { width: 60, height: 20 }));
    assert!(screen_text(&h, 60, 20).contains("Terminal too small"));
    for key in ["Space", "Enter", "?", "n", ":", "D", "j"] {
        press(&mut h, key);
    }
    assert_eq!(h.state.mode, Mode::Normal, "a key opened an overlay nobody can see");
    assert!(!h.state.dashboard);
    assert!(done_items(&h).is_empty(), "a key recorded a decision blind: {:?}", done_items(&h));
    press(&mut h, "q");
    assert!(h.state.quit, "q still quits");

    // Enlarged again, the same key acts.
    let mut h = in_the_checklist();
    h.act(Action::Resized(ratatui::layout::Size { width: 60, height: 20 }))
        .act(Action::Resized(ratatui::layout::Size { width: 100, height: 30 }));
    press(&mut h, "Space");
    assert_eq!(done_items(&h), ["review-alert"]);
}

// Item 5.

#[test]
fn ctrl_c_in_the_editor_asks_before_losing_the_note() {
    let mut h = Harness::new();
    press(&mut h, "Enter");
    press(&mut h, "n");
    h.typed("Spoke to the student at 11:05.");
    press(&mut h, "Ctrl-c");
    assert!(!h.state.quit, "Ctrl-C quit with the note unsaved");
    assert!(matches!(h.state.mode, Mode::Confirm { .. }), "{:?}", h.state.mode);
    let screen = screen_text(&h, 80, 24);
    assert!(screen.contains("Quit vigil?") && screen.contains("not saved"), "{screen}");
    // Cancel is the default: Enter goes back to the note, as it was.
    press(&mut h, "Enter");
    let Mode::Editor(e) = &h.state.mode else { panic!("back in the editor: {:?}", h.state.mode) };
    assert_eq!(e.content(), "Spoke to the student at 11:05.");
    press(&mut h, "Ctrl-s");
    let d = h.state.detail.as_ref().expect("open");
    assert!(
        d.events
            .iter()
            .any(|e| matches!(&e.kind, vigil::domain::EventKind::NoteAdded { text } if text.contains("11:05")))
    );
    // With nothing typed, Ctrl-C quits at once; after the question, y quits.
    press(&mut h, "n");
    press(&mut h, "Ctrl-c");
    assert!(h.state.quit, "an empty editor has nothing to lose");
    let mut h = Harness::new();
    press(&mut h, "Enter");
    press(&mut h, "n");
    h.typed("x");
    press(&mut h, "Ctrl-c");
    press(&mut h, "y");
    assert!(h.state.quit);
}

// Item 2.

#[test]
fn the_checklist_follows_the_selection_when_items_wrap() {
    let mut h = in_the_checklist();
    press(&mut h, "G");
    let d = h.state.detail.as_ref().expect("open");
    let n = d.checklist.len();
    assert_eq!(h.state.checklist_selected, n - 1);
    let screen = screen_text(&h, 120, 40);
    assert!(screen.contains(&format!("▶{n:>2} ")), "the selected item {n} is off screen:\n{screen}");
    assert!(screen.contains("Close with :close"), "the closing line is never shown:\n{screen}");
    // Every item on the way is on screen when selected.
    press(&mut h, "g");
    for i in 0..n {
        let screen = screen_text(&h, 120, 40);
        assert!(screen.contains(&format!("▶{:>2} ", i + 1)), "item {} is off screen:\n{screen}", i + 1);
        press(&mut h, "j");
    }
}

// Item 3.

#[test]
fn the_answer_popup_shows_the_whole_question_and_the_input() {
    let mut h = in_the_checklist();
    let at = h.state.detail.as_ref().expect("open").checklist.iter().position(|i| i.id == "high-external-referral");
    for _ in 0..at.expect("the High checklist asks about external referral") {
        press(&mut h, "j");
    }
    press(&mut h, "Space");
    let Mode::Prompt(p) = &h.state.mode else { panic!("a prompt: {:?}", h.state.mode) };
    let label = p.label.clone();
    h.typed("2");
    for (w, ht) in [(80, 24), (100, 30)] {
        let popup = popup_text(&h, w, ht, "* Answer");
        let shown: String = popup.split_whitespace().collect::<Vec<_>>().join(" ");
        let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(shown.starts_with(&label), "the question is cut at {w}x{ht}:\n{shown}");
        assert!(shown.contains("> 2_ Enter saves, Esc cancels"), "the input line is hidden at {w}x{ht}:\n{shown}");
    }
}

// Item 4.

#[test]
fn after_a_close_the_keys_go_back_to_the_queue_and_idle_keys_say_why() {
    let mut h = Harness::new();
    // A Low case closes with few steps.
    let row = h.state.visible().position(|c| c.level == vigil::domain::Level::Low).expect("a Low case");
    for _ in 0..row {
        press(&mut h, "j");
    }
    press(&mut h, "Enter");
    press(&mut h, "Tab");
    let required: Vec<String> = h.state.detail.as_ref().expect("open").missing_required.clone();
    for item in &required {
        let d = h.state.detail.as_ref().expect("open");
        let it = d.checklist.iter().find(|i| &i.id == item).expect("item");
        let value = match it.choices.first() {
            _ if it.kind == vigil::domain::checklist::ItemKind::Tick => String::new(),
            // Free text on the `:` line is taken as typed: no shell quotes.
            Some(c) => format!(" --value {c}"),
            None => " --value seen".to_string(),
        };
        h.cmd(Command::CommandLine).typed(&format!("tick {item}{value}")).act(Action::Submit);
        let toast = h.state.toast.clone().expect("answer");
        assert!(!toast.error, "{item}: {}", toast.text);
    }
    let outcome = h.state.detail.as_ref().expect("open").outcomes[0].0.clone();
    h.cmd(Command::CommandLine).typed(&format!("close --outcome {outcome}")).act(Action::Submit);
    press(&mut h, "y");
    assert_eq!(h.state.detail.as_ref().expect("open").summary.status, vigil::domain::Status::Closed);
    assert_eq!(h.state.focus, Focus::Queue, "the closed case left the queue, and the keys with it");
    // Enter now opens the case the queue selects.
    let next = h.state.selected_key().cloned().expect("another case");
    press(&mut h, "Enter");
    assert_eq!(h.state.detail.as_ref().map(|d| &d.alert.key), Some(&next));

    // The case pane says "Press Enter to open this case", and Enter there does.
    press(&mut h, "Tab");
    press(&mut h, "Tab");
    press(&mut h, "j");
    assert_eq!(h.state.focus, Focus::Queue);
    press(&mut h, "Tab");
    assert!(screen_text(&h, 100, 30).contains("Press Enter to open this case"));
    let selected = h.state.selected_key().cloned();
    press(&mut h, "Enter");
    assert_eq!(h.state.detail.as_ref().map(|d| d.alert.key.clone()), selected, "Enter opens from the case pane");

    // A key bound nowhere in a pane says so, and where it does something.
    h.state.toast = None;
    press(&mut h, "Space");
    let toast = h.state.toast.clone().expect("Space says why it does nothing");
    assert!(toast.text.starts_with("Space does nothing in the case pane; in the checklist"), "{}", toast.text);
}

// Item 19.

#[test]
fn the_hint_bar_shows_the_keys_of_what_is_on_top() {
    use vigil::ui::hint_line;
    let mut h = Harness::new();
    let queue = hint_line(&h.state, 160);
    for want in ["[queue]", "Enter open", "n note", "c records", ": close, regrade", "D dashboard", "? help", "q quit"]
    {
        assert!(queue.contains(want), "`{want}` is missing: {queue}");
    }
    let narrow = hint_line(&h.state, 80);
    assert!(narrow.ends_with("? more  q quit") && vigil::ui::width(&narrow) <= 80, "{narrow}");
    assert!(narrow.starts_with("[queue] Enter open  n note"), "{narrow}");
    press(&mut h, "Enter");
    press(&mut h, "Tab");
    press(&mut h, "D");
    let dash = hint_line(&h.state, 160);
    assert!(dash.starts_with("[dashboard] D close"), "{dash}");
    assert!(!dash.contains("tick"), "{dash}");
    press(&mut h, "D");
    press(&mut h, "c");
    assert!(matches!(h.state.mode, Mode::Records(_)));
    let records = hint_line(&h.state, 160);
    assert!(records.starts_with("[records] c copy CPOMS  t copy note"), "{records}");
    assert!(screen_text(&h, 100, 30).contains("[records]"));
    // The help lists every key of the pane, the ones the bar leaves out too.
    press(&mut h, "Esc");
    press(&mut h, "?");
    let help = screen_text(&h, 100, 50);
    for want in ["screenshot preview", "copy the case reference", "show only overdue"] {
        assert!(help.contains(want), "{want}:\n{help}");
    }
}

// Item 20.

/// The queue's rows on a screen: a border, the marker or a space, a space, then the level's label.
fn queue_rows(screen: &str) -> Vec<&str> {
    let row = |l: &&str| {
        ["│▶ ", "│  "].iter().any(|m| ["HIGH ", "MED ", "LOW "].iter().any(|lv| l.starts_with(&format!("{m}{lv}"))))
    };
    screen.lines().filter(row).collect()
}

#[test]
fn the_queue_columns_fit_their_text_and_80x24_shows_eight_rows() {
    let mut h = Harness::new();
    press(&mut h, "/");
    h.typed("terrorism");
    press(&mut h, "Enter");
    let screen = screen_text(&h, 100, 30);
    let rows = queue_rows(&screen);
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r.contains("terrorism-extremism ")),
        "the category is cut:\n{screen}"
    );
    press(&mut h, "Esc");
    let screen = screen_text(&h, 80, 24);
    let rows = queue_rows(&screen).len();
    assert!(rows >= 8, "the queue shows {rows} rows at 80x24:\n{screen}");
    // Flags are not cut where the subject has room: every row's flags show whole at 100 columns.
    let screen = screen_text(&h, 100, 60);
    let rows = queue_rows(&screen);
    for (c, row) in h.state.visible().zip(&rows) {
        let mut flags = Vec::new();
        for (on, word) in
            [(c.staff, "STAFF"), (c.illegal_path, "ILLEGAL"), (c.follow_up_due, "FOLLOW-UP"), (c.out_of_hours, "OOH")]
        {
            if on {
                flags.push(word);
            }
        }
        let flags = flags.join(" ");
        assert!(row.contains(&format!(" {flags} ")), "`{flags}` of {} is cut:\n{row}", c.id);
    }
}

#[test]
fn a_feed_error_never_pushes_the_role_off_the_status_bar() {
    let mut h = Harness::new();
    h.state.health.last_error = Some((fixed_now(), "connection refused by 10.0.0.1: ".repeat(6)));
    h.state.health.next_attempt = Some(fixed_now() + chrono::Duration::seconds(30));
    let screen = screen_text(&h, 80, 24);
    let status = screen.lines().nth(22).expect("status line").to_string();
    assert!(status.contains("next try 10:00:30") && status.contains("dsl-user (dsl)"), "{status}");
    h.state.health.last_error = None;
    h.state.health.last_success = Some(fixed_now());
    press(&mut h, "D");
    let dash = screen_text(&h, 100, 30);
    assert!(dash.contains("Feed:                ok 10:00"), "{dash}");
    assert!(!dash.contains("Feed:                feed"), "Feed: feed: ok:\n{dash}");
}

#[test]
fn wide_characters_are_cut_by_display_width() {
    use vigil::ui::{fit, width};
    for (text, max) in [("张伟张伟张伟", 5), ("👨‍👩‍👧‍👦👨‍👩‍👧‍👦abc", 3), ("🇬🇧🇬🇧🇬🇧", 4), ("plain", 3)]
    {
        let cut = fit(text, max);
        assert!(width(&cut) <= max, "{text} cut to {cut} is wider than {max}");
        assert!(cut.ends_with('…'));
    }
    assert_eq!(fit("🇬🇧🇬🇧🇬🇧", 4), "🇬🇧…", "a flag is never split");
}

/// The queue as drawn: a subject full of wide characters (CJK, a ZWJ family, flags) is cut by display width, so
/// its row's later columns stand exactly where they stood with a plain name, and no other row changes.
#[test]
fn a_wide_subject_moves_nothing_else_on_the_screen() {
    let cells = |h: &Harness| {
        let t = h.draw(100, 30);
        let buf = t.backend().buffer().clone();
        (0..30u16)
            .map(|y| (0..100u16).map(|x| buf[(x, y)].symbol().to_string()).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    let mut h = Harness::new();
    let plain = cells(&h);
    let first = h.state.rows[1];
    h.state.cases[first].subject_name = Some("张伟张伟张伟张伟 👨‍👩‍👧‍👦👨‍👩‍👧‍👦 🇬🇧🇬🇧🇬🇧🇬🇧🇬🇧🇬🇧🇬🇧🇬🇧".into());
    let wide = cells(&h);
    // The second queue row is screen row 4 (header, border, column titles, first row).
    let row = 4;
    for y in 0..30 {
        if y != row {
            assert_eq!(plain[y], wide[y], "row {y} changed when another row's subject became wide");
        }
    }
    // From the flags column on, the wide row's cells are the plain row's.
    let flags_at = (0..plain[2].len().saturating_sub(5))
        .find(|&x| plain[2][x..x + 5].concat() == "FLAGS")
        .expect("a FLAGS column");
    assert_eq!(plain[row][flags_at..], wide[row][flags_at..], "the wide subject pushed the later columns");
    assert_ne!(plain[row], wide[row], "the subject did change");
}
