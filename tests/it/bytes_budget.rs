//! Kind to slow links: the bytes a frame costs, counted under the real crossterm backend at 120x40.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::Notify;
use vigil::app::keymap::Command;
use vigil::app::{Action, Effect, State, update};
use vigil::tui::run_effects;
use vigil::ui::{Theme, render};

/// A writer that only counts (and keeps) what would reach the terminal.
#[derive(Clone, Default)]
struct Counting(Arc<Mutex<Vec<u8>>>);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Counting {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

#[test]
fn a_selection_move_costs_at_most_2_kb_and_an_unchanged_frame_costs_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let service = fixture_service(&tmp.path().join("data"), dsl());
    let mut link = vigil::tui::Link::new(service.session.clone());
    let mut state = State::new(service.viewer().clone(), fixed_now());
    let retry = Notify::new();
    run_effects(&mut state, &mut link, &retry, &fixed_now, vec![Effect::LoadQueue]);
    let out = Counting::default();
    let backend = CrosstermBackend::new(out.clone());
    let mut terminal = Terminal::with_options(
        backend,
        ratatui::TerminalOptions { viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 120, 40)) },
    )
    .expect("terminal");
    let theme = Theme::new(vigil::ui::theme::ThemeName::Dark, false);
    terminal.draw(|f| render(&state, &theme, f)).expect("first frame");
    let first = out.take();
    assert!(first.len() > 2048, "the first frame paints the screen ({} bytes)", first.len());

    let mut worst = 0;
    for _ in 0..10 {
        let effects = update(&mut state, Action::Command(Command::Down));
        run_effects(&mut state, &mut link, &retry, &fixed_now, effects);
        terminal.draw(|f| render(&state, &theme, f)).expect("frame");
        worst = worst.max(out.take().len());
    }
    assert!(worst > 0, "moving the selection repaints something");
    assert!(worst <= 2048, "a selection move wrote {worst} bytes (budget 2048)");

    // The runtime does not draw at all when nothing changed (tested in tui.rs); were it to, the frame would
    // rewrite no cell: only crossterm's fixed trailer (style reset and cursor hide) would go out.
    terminal.draw(|f| render(&state, &theme, f)).expect("idle frame");
    let idle = out.take();
    assert_eq!(idle, b"\x1b[39m\x1b[49m\x1b[59m\x1b[0m\x1b[?25l", "{:?}", String::from_utf8_lossy(&idle));
    assert!(!vigil::tui::tick_needs_redraw(&state, fixed_now() + chrono::Duration::seconds(20)));
}
