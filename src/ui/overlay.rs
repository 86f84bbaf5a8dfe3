//! The `:` command line, one-line prompts, and the close/regrade/reopen confirmation.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::{Theme, centered};
use crate::app::{Mode, State};
use crate::domain::case::CaseCommand;

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
        Mode::Prompt(p) => (
            "Answer",
            vec![
                Line::raw(p.label.clone()),
                Line::raw(format!("> {}_", p.input)),
                Line::styled("Enter saves, Esc cancels", theme.dim()),
            ],
        ),
        Mode::Confirm { command, yes_selected } => {
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
