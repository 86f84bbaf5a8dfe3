//! TestBackend snapshots of every panel, driven through the real `update` and the real case service over a
//! real store. Text snapshots drop colour, so the selection and level labels also get per-cell style checks.

use crate::common;

use common::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use vigil::app::keymap::Command;
use vigil::app::{Action, Effect, update};
use vigil::ui::theme::ThemeName;
use vigil::ui::{Theme, render};

#[test]
fn main_screen_80x24() {
    let h = Harness::new();
    insta::assert_snapshot!(h.draw(80, 24).backend());
}

#[test]
fn main_screen_160x48_with_a_case_open() {
    let mut h = Harness::new();
    h.cmd(Command::Open);
    insta::assert_snapshot!(h.draw(160, 48).backend());
}

#[test]
fn detail_pane_80x24() {
    let mut h = Harness::new();
    h.cmd(Command::Down).cmd(Command::Open);
    insta::assert_snapshot!(h.draw(80, 24).backend());
}

#[test]
fn checklist_pane_after_ticking_80x24() {
    let mut h = Harness::new();
    h.cmd(Command::Open).cmd(Command::NextPane).cmd(Command::Toggle).cmd(Command::Down).cmd(Command::Toggle);
    let detail = h.state.detail.as_ref().expect("open");
    assert!(detail.checklist[0].done, "space ticked the first item");
    assert!(detail.checklist[1].done);
    insta::assert_snapshot!(h.draw(80, 24).backend());
}

#[test]
fn a_value_item_asks_for_its_value() {
    let mut h = Harness::new();
    h.cmd(Command::Open).cmd(Command::NextPane).cmd(Command::Down).cmd(Command::Down).cmd(Command::Toggle);
    insta::assert_snapshot!("prompt", h.draw(80, 24).backend());
    h.typed("2").act(Action::Submit);
    let detail = h.state.detail.as_ref().expect("open");
    assert_eq!(detail.checklist[2].value.as_deref(), Some("No"), "choice 2 chosen by number");
}

#[test]
fn help_overlay() {
    let mut h = Harness::new();
    h.cmd(Command::Help);
    insta::assert_snapshot!(h.draw(80, 30).backend());
}

#[test]
fn command_line_and_confirmation_with_cancel_as_default() {
    let mut h = Harness::new();
    h.cmd(Command::Open).cmd(Command::CommandLine).typed("close --outcome false-positive");
    insta::assert_snapshot!("command_line", h.draw(80, 24).backend());
    h.act(Action::Submit);
    insta::assert_snapshot!("confirm", h.draw(80, 24).backend());
    h.act(Action::Submit);
    assert_eq!(h.state.toast.as_ref().map(|t| t.text.as_str()), Some("cancelled"), "Enter on the default cancels");
}

#[test]
fn closing_with_required_items_open_names_them() {
    let mut h = Harness::new();
    h.cmd(Command::Open).cmd(Command::CommandLine).typed("close --outcome false-positive");
    h.act(Action::Submit).typed("y").act(Action::Submit);
    let toast = h.state.toast.clone().expect("toast");
    assert!(toast.error);
    assert!(toast.text.contains("required items still open") && toast.text.contains("high-cpoms"), "{}", toast.text);
}

#[test]
fn too_small_terminals_get_a_message_not_a_panic() {
    let h = Harness::new();
    insta::assert_snapshot!("too_small_20x10", h.draw(20, 10).backend());
    for (w, h2) in [(1, 1), (79, 24), (80, 23), (0, 0)] {
        let _ = h.draw(w, h2);
    }
}

#[test]
fn selection_is_reversed_and_levels_are_labelled_not_only_coloured() {
    let h = Harness::new();
    let t = h.draw(80, 24);
    let buf = t.backend().buffer();
    // Row 3 is the first queue row (header line, border, column header).
    let row: String = (0..80).map(|x| buf[(x, 3)].symbol().to_string()).collect();
    assert!(row.contains("▶ HIGH"), "{row}");
    assert!(buf[(5, 3)].modifier.contains(Modifier::REVERSED), "selected row is reversed video");
    assert!(!buf[(5, 4)].modifier.contains(Modifier::REVERSED), "other rows are not");
    let theme_off = Theme::new(ThemeName::Mono, false);
    let mut t2 = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    t2.draw(|f| render(&h.state, &theme_off, f)).expect("draw");
    let b2 = t2.backend().buffer();
    assert!(b2[(5, 3)].modifier.contains(Modifier::REVERSED), "NO_COLOR keeps the selection visible");
    assert_eq!(b2[(3, 3)].fg, ratatui::style::Color::Reset, "NO_COLOR uses no colour");
}

/// The procedure end to end in the TUI: a High self-harm alert from new to closed, through the `:` line
/// (the same grammar as `vigil case`), with the close refused until every required step is done.
#[test]
fn a_high_case_walked_from_new_to_closed() {
    let mut h = Harness::new();
    assert_eq!(h.state.selected_summary().map(|c| c.id.as_str()), Some("SW-2026-004506"));
    assert_eq!(h.state.selected_summary().map(|c| c.status), Some(vigil::domain::Status::New));
    h.cmd(Command::Open).cmd(Command::NextPane);
    insta::assert_snapshot!("walk_1_opened", h.draw(100, 30).backend());
    let steps = [
        "tick review-alert",
        "tick review-vendor-risk",
        "tick immediate-action --value Yes: act now",
        "tick confirm-level",
        "tick high-contact-time --value 13:41",
        "tick high-contact-by --value J Smith (DSL)",
        "tick high-parents --value Informed",
        "tick high-parents-reason --value No risk at home identified; mother phoned at 14:10",
        "tick high-external-referral --value None needed",
        "tick high-cpoms --value CP-2026-0192",
        "tick high-tracking-note",
        "tick post-all-logged",
        "tick post-informed --value Head of Year, counsellor",
        "tick post-follow-up-date --value 2026-11-18",
    ];
    let close = |h: &mut Harness| {
        h.cmd(Command::CommandLine)
            .typed("close --outcome safeguarding-plan")
            .act(Action::Submit)
            .typed("y")
            .act(Action::Submit);
    };
    for (i, step) in steps.iter().enumerate() {
        h.cmd(Command::CommandLine).typed(step).act(Action::Submit);
        let toast = h.state.toast.clone().expect("every step answers");
        assert!(!toast.error, "{step}: {}", toast.text);
        if i == 6 {
            close(&mut h);
            let refused = h.state.toast.clone().expect("toast");
            assert!(refused.error && refused.text.contains("high-cpoms"), "{}", refused.text);
            insta::assert_snapshot!("walk_2_close_refused", h.draw(100, 30).backend());
        }
    }
    let detail = h.state.detail.as_ref().expect("open");
    assert!(detail.missing_required.is_empty(), "{:?}", detail.missing_required);
    close(&mut h);
    let detail = h.state.detail.as_ref().expect("open");
    assert_eq!(detail.summary.status, vigil::domain::Status::Closed);
    assert!(h.state.visible().all(|c| c.id != "SW-2026-004506"), "the queue hides closed cases by default");
    assert!(!h.state.closed_loaded && h.state.cases.iter().all(|c| c.open), "closed cases are read only when asked");
    h.cmd(Command::FilterClosed);
    assert!(h.state.closed_loaded, "C reads the closed cases");
    let pos = h.state.cases.iter().position(|c| c.id == "SW-2026-004506").expect("still stored");
    assert!(h.state.cases[..pos].iter().all(|c| c.open), "closed cases sort below every open one");
    assert!(h.state.cases[pos..].iter().all(|c| !c.open));
    let row = h.state.visible().position(|c| c.id == "SW-2026-004506").expect("C shows closed cases");
    h.cmd(Command::Bottom);
    for _ in row..h.state.rows.len() - 1 {
        h.cmd(Command::Up);
    }
    h.cmd(Command::Open);
    insta::assert_snapshot!("walk_3_closed", h.draw(100, 30).backend());
    h.cmd(Command::Records);
    insta::assert_snapshot!("walk_4_records", h.draw(100, 30).backend());
}

fn draw_with(h: &Harness, theme: Theme, w: u16, ht: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, ht)).expect("terminal");
    t.draw(|f| render(&h.state, &theme, f)).expect("draw");
    t
}

#[test]
fn every_theme_labels_levels_in_text_and_reverses_the_selection() {
    let h = Harness::new();
    for name in [ThemeName::Dark, ThemeName::Light, ThemeName::HighContrast, ThemeName::ColourBlind, ThemeName::Mono] {
        let theme = Theme::new(name, false);
        let t = draw_with(&h, theme, 80, 24);
        let buf = t.backend().buffer();
        let row = |y: u16| (0..80).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>();
        assert!(row(3).contains("HIGH"), "{name:?}: the level is a word, not only a colour");
        assert!(buf[(3, 3)].modifier.contains(Modifier::REVERSED), "{name:?}: selection is reversed");
        assert!(row(3).contains('▶'), "{name:?}: selection has a marker");
        // An unselected High row: the label's style is the theme's High style.
        let label = buf[(3, 4)].style();
        let want = theme.level(vigil::domain::Level::High);
        assert_eq!(label.fg, want.fg.or(Some(ratatui::style::Color::Reset)), "{name:?}");
        assert!(label.add_modifier.contains(Modifier::BOLD), "{name:?}: High is bold in every theme");
        if name == ThemeName::Mono {
            for y in 0..24 {
                for x in 0..80 {
                    let c = &buf[(x, y)];
                    assert_eq!(
                        (c.fg, c.bg),
                        (ratatui::style::Color::Reset, ratatui::style::Color::Reset),
                        "mono has no colour"
                    );
                }
            }
        }
    }
    insta::assert_snapshot!("theme_high_contrast_and_colour_blind_text", h.draw(80, 24).backend());
}

#[test]
fn ascii_mode_draws_no_box_drawing_or_symbols() {
    let mut h = Harness::new();
    h.cmd(Command::Open);
    let t = draw_with(&h, Theme::new(ThemeName::Dark, true), 80, 24);
    insta::assert_snapshot!("ascii_80x24", t.backend());
    let buf = t.backend().buffer();
    for y in 0..24 {
        for x in 0..80 {
            let s = buf[(x, y)].symbol();
            assert!(
                s.is_ascii() || !s.chars().any(|c| ('\u{2500}'..='\u{25FF}').contains(&c)),
                "box drawing at {x},{y}: {s}"
            );
        }
    }
}

#[test]
fn filtering_as_you_type_and_quick_filters() {
    let mut h = Harness::new();
    let all = h.state.rows.len();
    h.cmd(Command::Filter).typed("grooming");
    assert!(h.state.rows.len() < all && !h.state.rows.is_empty());
    assert!(h.state.visible().all(|c| c.search.contains("grooming")));
    insta::assert_snapshot!("filter_typing", h.draw(80, 24).backend());
    h.act(Action::Submit);
    let header: String = {
        let t = h.draw(80, 24);
        (0..80).map(|x| t.backend().buffer()[(x, 0)].symbol().to_string()).collect()
    };
    assert!(header.contains("FILTER: \"grooming\""), "the active filter shows in the header: {header}");
    h.cmd(Command::ClearFilter);
    assert_eq!(h.state.rows.len(), all, "Esc clears");

    h.cmd(Command::FilterLow);
    assert!(h.state.visible().all(|c| c.level == vigil::domain::Level::Low));
    h.cmd(Command::FilterLow);
    assert_eq!(h.state.rows.len(), all, "pressing it again shows every level");
    h.cmd(Command::FilterOutOfHours);
    assert!(h.state.visible().all(|c| c.out_of_hours));
    h.cmd(Command::ClearFilter).cmd(Command::FilterOverdue);
    assert!(h.state.visible().all(|c| c.overdue));
    h.cmd(Command::ClearFilter).cmd(Command::FilterMine);
    assert_eq!(h.state.rows.len(), 0, "nothing acted on yet");
    h.cmd(Command::ClearFilter).cmd(Command::Open).cmd(Command::AddNote).typed("spoke to tutor").act(Action::Submit);
    h.cmd(Command::FilterMine);
    assert_eq!(h.state.rows.len(), 1, "a note makes the case mine");

    h.cmd(Command::ClearFilter).cmd(Command::CommandLine).typed("filter --level medium --ooh").act(Action::Submit);
    assert!(h.state.visible().all(|c| c.level == vigil::domain::Level::Medium && c.out_of_hours));
    assert!(!h.state.rows.is_empty());

    h.cmd(Command::ClearFilter).cmd(Command::Filter).typed("zzzz-nothing");
    assert!(h.state.rows.is_empty());
    h.act(Action::Cancel);
    assert_eq!(h.state.rows.len(), all, "Esc while typing puts back the previous filter");
}

#[test]
fn a_mouse_click_selects_the_row_under_it() {
    use ratatui::layout::Rect;
    let mut h = Harness::new();
    let area = Rect::new(0, 0, 80, 24);
    // Rows start below the header line, the border and the column header.
    assert_eq!(vigil::ui::queue_row_at(&h.state, area, 10, 3), Some(0));
    assert_eq!(vigil::ui::queue_row_at(&h.state, area, 10, 5), Some(2));
    assert_eq!(vigil::ui::queue_row_at(&h.state, area, 10, 2), None, "the column header");
    assert_eq!(vigil::ui::queue_row_at(&h.state, area, 0, 5), None, "the border");
    assert_eq!(vigil::ui::queue_row_at(&h.state, Rect::new(0, 0, 20, 10), 5, 5), None, "too small");
    h.act(Action::Select(2));
    assert_eq!(h.state.selected, 2);
}

#[test]
fn the_editor_takes_several_lines_for_notes_and_reasons() {
    use ratatui_textarea::{Input, Key};
    let mut h = Harness::new();
    h.cmd(Command::Open).cmd(Command::AddNote).typed("Spoke to tutor.");
    h.act(Action::EditorKey(Input { key: Key::Enter, ..Input::default() })).typed("Mum informed at 15:10.");
    insta::assert_snapshot!("editor", h.draw(80, 24).backend());
    h.cmd(Command::Submit);
    let d = h.state.detail.as_ref().expect("open");
    let note = d.events.iter().find_map(|e| match &e.kind {
        vigil::domain::EventKind::NoteAdded { text } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(note.as_deref(), Some("Spoke to tutor.\nMum informed at 15:10."));

    // Undoing a done item asks for the reason in the editor; Esc leaves it done.
    h.cmd(Command::NextPane).cmd(Command::Toggle);
    assert!(h.state.detail.as_ref().expect("open").checklist[0].done);
    h.cmd(Command::Toggle).cmd(Command::Cancel);
    assert!(h.state.detail.as_ref().expect("open").checklist[0].done, "cancel keeps it done");
    h.cmd(Command::Toggle).typed("ticked the wrong case").cmd(Command::Submit);
    assert!(!h.state.detail.as_ref().expect("open").checklist[0].done, "undone with a reason");
}

#[test]
fn the_duty_dashboard() {
    let mut h = Harness::new();
    h.cmd(Command::Dashboard);
    let duty = h.state.duty.clone().expect("computed when shown");
    assert_eq!(duty.per_day.iter().sum::<u64>(), 45, "every demo alert falls in the last 30 days");
    insta::assert_snapshot!("dashboard_100x30", h.draw(100, 30).backend());
    // Only the dashboard's own keys work while it is shown: D closes it.
    h.cmd(Command::Dashboard);
    assert!(!h.state.dashboard && h.state.duty.is_none());
}

#[test]
fn rejected_alerts_are_listed_and_the_feed_says_when_it_is_stale() {
    let mut h = Harness::new();
    let bad = r#"{"feed":"vigil.alert-feed/1","cursor":"c2","more":false,"alerts":[
        {"id":"BAD-1","source":"smoothwall-monitor","raised_at":"2026-11-16T09:00:00","risk":9,"category":"x",
         "subject":{"kind":"student","id":"S9"},"summary":"evil \u001b[2J text"}]}"#;
    let page = vigil::feed::protocol::parse_page(bad.as_bytes()).expect("envelope");
    h.service.ingest(&page, fixed_now()).expect("ingest");
    let replay = h.service.ingest(&page, fixed_now()).expect("replayed page");
    assert_eq!(replay.quarantined, 0, "a replayed page does not quarantine the same alert twice");
    h.effects(vec![Effect::LoadQueue]);
    assert_eq!(h.state.quarantined, 1);
    h.cmd(Command::CommandLine).typed("rejected").act(Action::Submit);
    let text = match &h.state.mode {
        vigil::app::Mode::Text { lines, .. } => lines.join("\n"),
        other => panic!("{other:?}"),
    };
    assert!(text.contains("BAD-1") && text.contains("`risk` must be 1-5"), "{text}");
    insta::assert_snapshot!("rejected_list", h.draw(100, 24).backend());
    h.cmd(Command::CloseHelp);

    h.state.health.last_success = Some(fixed_now() - chrono::Duration::minutes(20));
    let t = h.draw(80, 24);
    let status: String = (0..80).map(|x| t.backend().buffer()[(x, 22)].symbol().to_string()).collect();
    assert!(status.contains("feed: STALE since 09:40"), "{status}");
    h.state.health.last_success = Some(fixed_now() - chrono::Duration::minutes(1));
    let t = h.draw(80, 24);
    let status: String = (0..80).map(|x| t.backend().buffer()[(x, 22)].symbol().to_string()).collect();
    assert!(status.contains("feed: ok 09:59"), "{status}");
}

#[test]
fn new_high_alerts_ring_the_bell_with_a_content_free_title() {
    let mut h = Harness::new();
    let effects = update(&mut h.state, Action::Arrived { new: 3, high_new: 2 });
    assert!(effects.contains(&Effect::Alarm { high_new: 2 }), "{effects:?}");
    let toast = h.state.toast.clone().expect("a toast");
    assert_eq!(toast.text, "2 new HIGH alert(s)");
    let quiet = update(&mut h.state, Action::Arrived { new: 3, high_new: 0 });
    assert!(!quiet.iter().any(|e| matches!(e, Effect::Alarm { .. })), "no bell without a new High");
    // The toast goes away on its own.
    let later = toast.until + chrono::Duration::seconds(1);
    let _ = update(&mut h.state, Action::Tick(later));
    assert!(h.state.toast.is_none());
}

#[test]
fn a_note_goes_to_the_case_it_was_started_on_even_if_the_queue_moves() {
    let mut h = Harness::new();
    h.cmd(Command::Open).cmd(Command::AddNote).typed("Rang home at 15:02.");
    let key = h.state.detail.as_ref().expect("open").alert.key.clone();
    // While typing, the queue changes under the editor: the case leaves the visible rows.
    let others: Vec<_> = h.state.cases.iter().filter(|c| c.key != key).cloned().collect();
    let _ = update(&mut h.state, Action::QueueLoaded(others));
    assert_ne!(h.state.selected_key(), Some(&key));
    h.cmd(Command::Submit);
    let events = h.service.store().events(&key).expect("events");
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, vigil::domain::EventKind::NoteAdded { text } if text == "Rang home at 15:02.")),
        "the note is on the case it was written for"
    );
}

fn screen_text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let area = buf.area;
    (0..area.height)
        .map(|y| (0..area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>() + "\n")
        .collect()
}

/// The procedure's guidance for a step (`help` in assets/checklists.toml) shows for the selected item, and
/// follows the selection.
#[test]
fn the_selected_items_guidance_is_shown() {
    let mut h = Harness::new();
    h.cmd(Command::Open).cmd(Command::NextPane);
    let first = h.state.detail.as_ref().expect("open").checklist[0].help.clone().expect("review-alert has guidance");
    assert!(first.starts_with("Suspected child-abuse images are never shown"), "{first}");
    let text = screen_text(&h.draw(80, 24));
    assert!(text.contains("Guidance for 1") && text.contains("Suspected child-abuse images"), "{text}");
    // confirm-level (item 4) has its own guidance.
    h.cmd(Command::Down).cmd(Command::Down).cmd(Command::Down);
    let t = h.draw(120, 40);
    let text = screen_text(&t);
    assert!(text.contains("Guidance for 4") && text.contains("Regrading changes the checklist"), "{text}");
    assert!(!text.contains("Suspected child-abuse images"), "only the selected item's guidance: {text}");
    insta::assert_snapshot!("guidance_120x40", t.backend());
}

/// A laptop's terminal (the DDSL's 120x35 to 120x40) and anything from 100 columns shows the opened case and
/// its checklist together, without Tab; 80x24 keeps its queue rows.
#[test]
fn from_100_columns_the_case_and_its_checklist_show_together() {
    let mut h = Harness::new();
    h.cmd(Command::Open);
    assert_eq!(h.state.focus, vigil::app::Focus::Detail, "opening focuses the case");
    for (w, ht) in [(100, 30), (120, 35), (120, 40), (139, 40)] {
        let text = screen_text(&h.draw(w, ht));
        assert!(text.contains("Summary"), "{w}x{ht}: the case is shown\n{text}");
        assert!(
            text.contains("Checklist:") && text.contains("Review the alert"),
            "{w}x{ht}: so is its checklist\n{text}"
        );
    }
    insta::assert_snapshot!("case_and_checklist_120x35", h.draw(120, 35).backend());
    // At 80x24 the lower pane still shows one of them, and the queue keeps its rows.
    let text = screen_text(&h.draw(80, 24));
    assert!(text.contains("Subject:") && !text.contains("Checklist:"), "{text}");
    let queue = vigil::ui::queue_area(ratatui::layout::Rect::new(0, 0, 80, 24));
    let queue_rows = queue.height.saturating_sub(3);
    assert!(queue_rows >= 8, "{queue_rows} queue rows at 80x24");
}

/// With the shared service: who else is connected (status bar), who else has this case open (case pane),
/// and the connection lost and being made again (status bar).
#[test]
fn others_connected_and_the_service_reconnecting() {
    use vigil::identity::Role;
    use vigil::service::remote::LinkState;
    use vigil::service::wire::Present;
    let mut h = Harness::new();
    h.cmd(Command::Open);
    let open = h.state.detail.as_ref().expect("a case open").summary.key.clone();
    h.act(Action::Presence(vec![
        Present {
            connection: 2,
            user: "bexample".into(),
            name: "B. Example".into(),
            role: Role::Ddsl,
            viewing: Some(open),
        },
        Present {
            connection: 3,
            user: "officer1".into(),
            name: "C. Officer".into(),
            role: Role::Officer,
            viewing: None,
        },
    ]));
    insta::assert_snapshot!("presence_120x30", h.draw(120, 30).backend());
    let since = chrono::DateTime::parse_from_rfc3339("2026-11-10T10:41:07Z").expect("time").to_utc();
    h.act(Action::Link(LinkState::Reconnecting { since }));
    let screen = format!("{:?}", h.draw(120, 30).backend());
    assert!(screen.contains("service: RECONNECTING (lost 10:41:07; what you type is kept)"), "{screen}");
    h.act(Action::Link(LinkState::Connected));
    let screen = format!("{:?}", h.draw(120, 30).backend());
    assert!(screen.contains("reconnected to the vigil service") && !screen.contains("RECONNECTING"), "{screen}");
}
