//! The checklist of the opened case's path: the procedure's steps, with what was done, by whom and when.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Wrap};

use super::Theme;
use crate::app::update::detail_is_current;
use crate::app::{Focus, State};
use crate::domain::inert;
use crate::service::ChecklistItem;

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
    // The first and the last line of the selected item.
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
    // The last item owns the lines after it, so that reaching it shows how to close.
    let last_item = d.checklist.len().saturating_sub(1) == state.checklist_selected;
    lines.push(Line::raw(""));
    let outcomes: Vec<&str> = d.outcomes.iter().map(|(id, _)| id.as_str()).collect();
    lines.push(Line::from(vec![Span::styled("Outcomes: ", theme.dim()), Span::raw(outcomes.join(", "))]));
    lines.push(Line::styled("* required before closing. Close with :close --outcome ID", theme.dim()));
    let block = theme.block(&title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let guidance =
        d.checklist.get(state.checklist_selected).and_then(|item| guidance(state.checklist_selected, item, theme));
    let list_area = match guidance {
        Some(g) => {
            let height = wrapped_height(&g, inner.width);
            // The list keeps at least a few rows: on a tiny pane the guidance gives way.
            if inner.height < height + 4 {
                inner
            } else {
                let [list, guide] = Layout::vertical([Constraint::Min(1), Constraint::Length(height)]).areas(inner);
                frame.render_widget(Paragraph::new(g).wrap(Wrap { trim: false }), guide);
                list
            }
        }
        None => inner,
    };
    // Rows, not lines: an item that wraps takes several, and the selection must stay on screen.
    let rows: Vec<usize> = lines
        .iter()
        .map(|l| Paragraph::new(l.clone()).wrap(Wrap { trim: false }).line_count(list_area.width).max(1))
        .collect();
    let top: usize = rows[..selected_line.min(rows.len())].iter().sum();
    let bottom = if last_item { rows.iter().sum() } else { top + rows.get(selected_line).copied().unwrap_or(1) };
    let scroll = scroll_to_show(top, bottom, rows.iter().sum(), list_area.height as usize);
    let p = Paragraph::new(lines).wrap(Wrap { trim: false }).scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0));
    frame.render_widget(p, list_area);
}
/// The procedure's guidance for the selected item, headed by the item's number so it does not read as
/// another step.
fn guidance(index: usize, item: &ChecklistItem, theme: &Theme) -> Option<Text<'static>> {
    let help = item.help.as_deref()?;
    Some(Text::from(vec![
        Line::styled(format!("Guidance for {}", index + 1), theme.dim()),
        Line::raw(help.to_string()),
    ]))
}

/// How many rows `text` takes when wrapped at `width`, erring high: words wrap before the edge.
fn wrapped_height(text: &Text, width: u16) -> u16 {
    let usable = usize::from(width.saturating_sub(10).max(10));
    let rows: usize = text.lines.iter().map(|l| l.width().div_ceil(usable).max(1)).sum();
    u16::try_from(rows).unwrap_or(u16::MAX)
}

/// The first row to show of `total` in a window of `height` so that rows `top..bottom` are on screen, with
/// some context above them when there is room and no empty rows at the end.
fn scroll_to_show(top: usize, bottom: usize, total: usize, height: usize) -> usize {
    let context = top.saturating_sub(height / 3).min(total.saturating_sub(height));
    // When the rows do not all fit, their first one shows.
    context.max(bottom.saturating_sub(height)).min(top)
}

#[cfg(test)]
mod tests {
    use super::scroll_to_show;

    #[test]
    fn the_selected_rows_are_always_in_the_window() {
        for total in 1..40 {
            for height in 1..20 {
                for top in 0..total {
                    for bottom in top + 1..=total {
                        let s = scroll_to_show(top, bottom, total, height);
                        assert!(s <= top, "{top}..{bottom} of {total} in {height}: {s}");
                        if bottom - top <= height {
                            assert!(bottom <= s + height, "{top}..{bottom} of {total} in {height}: {s}");
                        }
                    }
                }
            }
        }
        assert_eq!(scroll_to_show(35, 40, 40, 10), 30, "the end of the list shows the end");
    }
}
