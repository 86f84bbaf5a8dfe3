//! The checklist of the opened case's path: the procedure's steps, with what was done, by whom and when.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::Theme;
use crate::app::update::detail_is_current;
use crate::app::{Focus, State};
use crate::domain::inert;

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = state.focus == Focus::Checklist;
    let Some(d) = state.detail.as_ref().filter(|_| detail_is_current(state)) else {
        frame.render_widget(
            Paragraph::new("Open a case to see its checklist.").block(theme.block("Checklist", focused)),
            area,
        );
        return;
    };
    let title = if d.missing_required.is_empty() {
        "Checklist: all required steps done".to_string()
    } else {
        format!("Checklist: {} required open", d.missing_required.len())
    };
    let mut lines: Vec<Line> = Vec::new();
    let mut selected_line = 0usize;
    let mut section = "";
    for (i, item) in d.checklist.iter().enumerate() {
        if item.section != section {
            section = &item.section;
            lines.push(Line::styled(item.section.clone(), theme.dim()));
        }
        let selected = i == state.checklist_selected;
        if selected {
            selected_line = lines.len();
        }
        let marker = if selected && focused { theme.marker() } else { " " };
        let tick = if item.done { theme.done() } else { "[ ]" };
        let req = if item.required { " *" } else { "" };
        let mut text = format!("{marker}{:>2} {tick} {}{req}", i + 1, item.text);
        if let Some(c) = &item.condition {
            text.push_str(&format!(" ({c})"));
        }
        if let Some(v) = &item.value {
            text.push_str(&format!(" = {}", inert::line(v)));
        }
        if let (Some(by), Some(at)) = (&item.done_by, item.done_at) {
            text.push_str(&format!("  [{} {}]", inert::line(by), at.with_timezone(&state.tz).format("%d/%m %H:%M")));
        }
        let line = Line::raw(text);
        lines.push(if selected && focused { line.style(theme.selected()) } else { line });
    }
    lines.push(Line::raw(""));
    let outcomes: Vec<&str> = d.outcomes.iter().map(|(id, _)| id.as_str()).collect();
    lines.push(Line::from(vec![Span::styled("Outcomes: ", theme.dim()), Span::raw(outcomes.join(", "))]));
    lines.push(Line::styled("* required before closing. Close with :close --outcome ID", theme.dim()));
    let inner = area.height.saturating_sub(2) as usize;
    let scroll = selected_line.saturating_sub(inner.saturating_sub(2)) as u16;
    let p = Paragraph::new(lines).block(theme.block(&title, focused)).wrap(Wrap { trim: false }).scroll((scroll, 0));
    frame.render_widget(p, area);
}
