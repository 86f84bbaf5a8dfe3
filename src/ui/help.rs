//! `?`: the keys of the current pane, generated from the same list that drives the key handling.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::{Theme, centered};
use crate::app::State;
use crate::app::keymap::KeyMode;

pub fn lines(state: &State) -> Vec<Line<'static>> {
    // The keys of what is under the help: the dashboard, or the focused pane.
    let mode = state.base_key_mode();
    let title = match mode {
        KeyMode::Dashboard => "Keys on the dashboard (the panes' keys work once it is closed)".to_string(),
        _ => format!("Keys in the {} pane", state.focus.name()),
    };
    let mut out = vec![Line::raw(title), Line::raw("")];
    for b in state.keymap.help_for(mode) {
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
        "handover (what happened while you were away)",
        "link ID|SOURCE:ID, unlink ID|SOURCE:ID --reason TEXT",
        "history (the student's cases, as h)",
        "retry, help, quit",
    ] {
        out.push(Line::raw(format!("  :{c}")));
    }
    out.push(Line::raw(""));
    out.push(Line::raw("j/k or PageDown/PageUp scroll; Esc, q or ? closes."));
    out
}

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let lines = lines(state);
    let rect = centered(area, area.width.saturating_sub(4).min(100), lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let title = if lines.len() as u16 + 2 > rect.height { "Help (j/k scroll)" } else { "Help" };
    frame.render_widget(Paragraph::new(lines).block(theme.block(title, true)).scroll((state.overlay_scroll, 0)), rect);
}
