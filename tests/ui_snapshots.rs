//! TestBackend snapshots of every panel, driven through the real `update` and the real case service over a
//! real store. Text snapshots drop colour, so the selection and level labels also get per-cell style checks.

mod common;

use common::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use tokio::sync::Notify;
use vigil::app::keymap::Command;
use vigil::app::{Action, Effect, State, update};
use vigil::service::CaseService;
use vigil::tui::run_effects;
use vigil::ui::{Theme, render};

struct Harness {
    _tmp: tempfile::TempDir,
    service: CaseService,
    state: State,
    retry: Notify,
}

impl Harness {
    fn new() -> Harness {
        let tmp = tempfile::tempdir().expect("tmp");
        let service = fixture_service(&tmp.path().join("data"), dsl());
        let mut state = State::new(service.viewer().clone(), fixed_now());
        state.tz = service.calendar().time_zone();
        let mut h = Harness { _tmp: tmp, service, state, retry: Notify::new() };
        h.effects(vec![Effect::LoadQueue]);
        h
    }

    fn effects(&mut self, effects: Vec<Effect>) {
        run_effects(&mut self.state, &self.service, &self.retry, &fixed_now, effects);
    }

    fn act(&mut self, action: Action) -> &mut Self {
        let effects = update(&mut self.state, action);
        self.effects(effects);
        self
    }

    fn cmd(&mut self, c: Command) -> &mut Self {
        self.act(Action::Command(c))
    }

    fn typed(&mut self, text: &str) -> &mut Self {
        for ch in text.chars() {
            self.act(Action::Type(ch));
        }
        self
    }

    fn draw(&self, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        let theme = Theme { color: true, ascii: false };
        t.draw(|f| render(&self.state, &theme, f)).expect("draw");
        t
    }
}

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
    let theme_off = Theme { color: false, ascii: false };
    let mut t2 = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    t2.draw(|f| render(&h.state, &theme_off, f)).expect("draw");
    let b2 = t2.backend().buffer();
    assert!(b2[(5, 3)].modifier.contains(Modifier::REVERSED), "NO_COLOR keeps the selection visible");
    assert_eq!(b2[(3, 3)].fg, ratatui::style::Color::Reset, "NO_COLOR uses no colour");
}
