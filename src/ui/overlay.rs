//! The `:` command line, one-line prompts, and the close/regrade/reopen confirmation.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::{Theme, centered};
use crate::app::{Mode, State};
use crate::domain::case::CaseCommand;

/// A read-only text; every line from outside is rendered inert.
pub fn text(title: &str, lines: &[String], scroll: u16, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut body: Vec<Line> = lines.iter().map(|l| Line::raw(crate::domain::inert::line(l).into_owned())).collect();
    body.push(Line::styled("j/k scroll; Esc or q closes.", theme.dim()));
    let rect = centered(area, area.width.saturating_sub(4).min(110), area.height.saturating_sub(2));
    frame.render_widget(Clear, rect);
    let p = Paragraph::new(body).block(theme.block(title, true)).wrap(Wrap { trim: false }).scroll((scroll, 0));
    frame.render_widget(p, rect);
}

/// The note and reason editor.
pub fn editor(e: &crate::app::Editor, theme: &Theme, frame: &mut Frame, area: Rect) {
    use ratatui::layout::{Constraint, Layout};
    let rect = centered(area, area.width.saturating_sub(8).min(90), 12.min(area.height));
    frame.render_widget(Clear, rect);
    let block = theme.block("Editor: Ctrl-S or Alt-Enter saves, Esc cancels", true);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [label, text] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    frame.render_widget(Paragraph::new(Line::styled(e.label.clone(), theme.dim())), label);
    frame.render_widget(&e.text, text);
}

/// The CPOMS entry and the tracking note, with the keys that copy them.
pub fn records(r: &crate::records::Records, scroll: u16, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut lines: Vec<Line> = vec![Line::styled("CPOMS entry (c copies)", theme.dim())];
    lines.extend(r.cpoms.lines().map(|l| Line::raw(l.to_string())));
    lines.push(Line::raw(""));
    match &r.tracking {
        Some(t) => {
            lines.push(Line::styled("Student tracking note, no content (t copies)", theme.dim()));
            lines.push(Line::raw(t.clone()));
        }
        None => lines.push(Line::styled(
            "No student-tracking note for this case (Low or staff alerts are not logged there).",
            theme.dim(),
        )),
    }
    lines.push(Line::styled("j/k scroll; Esc or q closes.", theme.dim()));
    let rect = centered(area, area.width.saturating_sub(4).min(100), area.height.saturating_sub(2));
    frame.render_widget(Clear, rect);
    let p = Paragraph::new(lines).block(theme.block("Records", true)).wrap(Wrap { trim: false }).scroll((scroll, 0));
    frame.render_widget(p, rect);
}

fn describe(c: &CaseCommand) -> String {
    match c {
        CaseCommand::Close { outcome } => format!("Close this case with outcome `{outcome}`?"),
        CaseCommand::Regrade { level, reason } => format!("Regrade this case to {level}? Reason: {reason}"),
        CaseCommand::Reopen { reason } => format!("Reopen this case? Reason: {reason}"),
        other => format!("{other:?}"),
    }
}

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let (title, lines): (&str, Vec<Line>) = match &state.mode {
        Mode::Command(line) => (
            "Command",
            vec![
                Line::raw(format!(":{line}_")),
                Line::styled("Enter runs, Esc cancels, ? in help lists commands", theme.dim()),
            ],
        ),
        Mode::Search { .. } => (
            "Filter",
            vec![
                Line::raw(format!("/{}_", crate::domain::inert::line(&state.filter.text))),
                Line::styled(
                    format!("{} match. Enter keeps the filter, Esc puts back the previous one", state.rows.len()),
                    theme.dim(),
                ),
            ],
        ),
        Mode::Prompt(p) => (
            "Answer",
            vec![
                Line::raw(p.label.clone()),
                Line::raw(format!("> {}_", p.input)),
                Line::styled("Enter saves, Esc cancels", theme.dim()),
            ],
        ),
        Mode::Confirm { command, yes_selected, .. } => {
            let (yes, no) = if *yes_selected {
                (theme.selected(), ratatui::style::Style::new())
            } else {
                (ratatui::style::Style::new(), theme.selected())
            };
            (
                "Confirm",
                vec![
                    Line::raw(describe(command)),
                    Line::raw(""),
                    Line::from(vec![Span::styled(" Cancel ", no), Span::raw("   "), Span::styled(" Yes ", yes)]),
                    Line::styled("y: yes, n or Esc: cancel, Tab: switch, Enter: choose", theme.dim()),
                ],
            )
        }
        _ => return,
    };
    let rect = centered(area, area.width.saturating_sub(8).min(90), lines.len() as u16 + 2);
    let rect = Rect { y: area.height.saturating_sub(rect.height + 2), ..rect };
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(theme.block(title, true)).wrap(Wrap { trim: false }), rect);
}
