//! `?`: the keys of the current pane, generated from the same list that drives the key handling.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::{Theme, centered};
use crate::app::{State, keymap};

pub fn lines(state: &State) -> Vec<Line<'static>> {
    let mut out = vec![Line::raw(format!("Keys in the {} pane", state.focus.name())), Line::raw("")];
    for b in keymap::help_for(state.focus) {
        out.push(Line::raw(format!("  {:<18} {}", b.keys.join(", "), b.description)));
    }
    out.push(Line::raw(""));
    out.push(Line::raw("Command line (:), the same grammar as `vigil case ID ...`:"));
    for c in [
        "tick N|ITEM [--value V] [--note TEXT]",
        "untick N|ITEM --reason TEXT",
        "regrade low|medium|high --reason TEXT",
        "illegal --reason TEXT",
        "note TEXT",
        "follow-up YYYY-MM-DD",
        "close --outcome ID",
        "reopen --reason TEXT",
        "retry, help, quit",
    ] {
        out.push(Line::raw(format!("  :{c}")));
    }
    out.push(Line::raw(""));
    out.push(Line::raw("Any key closes this help."));
    out
}

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let lines = lines(state);
    let rect = centered(area, 72, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(theme.block("Help", true)), rect);
}
