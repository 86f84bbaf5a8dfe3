//! The `:` command line, one-line prompts, and the close/regrade/reopen confirmation.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::{Theme, centered};
use crate::app::{Mode, Question, State};
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
    let width = area.width.saturating_sub(8).min(90);
    // The whole question shows, wrapped, above at least 8 lines of text.
    let label = Paragraph::new(Line::styled(e.label.clone(), theme.dim())).wrap(Wrap { trim: false });
    let label_rows = u16::try_from(label.line_count(width.saturating_sub(2))).unwrap_or(u16::MAX).max(1);
    // At least 8 lines of text; a form shows all its fields.
    let text_rows = u16::try_from(e.text.lines().len()).unwrap_or(u16::MAX).max(8);
    let rect = centered(area, width, label_rows.saturating_add(text_rows).saturating_add(2).min(area.height));
    frame.render_widget(Clear, rect);
    let block = theme.block("Editor: Ctrl-S or Alt-Enter saves, Esc cancels", true);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [label_area, text] = Layout::vertical([Constraint::Length(label_rows), Constraint::Min(1)]).areas(inner);
    frame.render_widget(label, label_area);
    frame.render_widget(&e.text, text);
}

/// The CPOMS entry and the tracking note, with the keys that copy them.
pub fn records(r: &crate::service::records::Records, scroll: u16, theme: &Theme, frame: &mut Frame, area: Rect) {
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

/// The question a confirmation asks, in words.
pub fn describe(q: &Question) -> String {
    let (c, others) = match q {
        Question::Act { command, others, .. } => (command, others),
        Question::Quit { back } => {
            let what = match back.as_ref() {
                Mode::Editor(_) => "the text in the editor",
                Mode::Prompt(_) => "the answer being typed",
                _ => "the command being typed",
            };
            return format!("Quit vigil? {what} is not saved and will be lost.");
        }
    };
    let question = match c {
        CaseCommand::Close { outcome } => format!("Close this case with outcome `{outcome}`?"),
        CaseCommand::Regrade { level, reason } => format!("Regrade this case to {level}? Reason: {reason}"),
        CaseCommand::Reopen { reason } => format!("Reopen this case? Reason: {reason}"),
        CaseCommand::Share { with, reason } => format!("Share this case with {with}? Reason: {reason}"),
        CaseCommand::Unshare { with, reason } => format!("Stop sharing this case with {with}? Reason: {reason}"),
        CaseCommand::AttachVendor { other } => format!(
            "Make this case and {other} one case? The vendor's record is read with the phoned-in case from then on."
        ),
        CaseCommand::Tick { item, .. } => format!("Tick `{item}` on it?"),
        CaseCommand::Untick { item, .. } => format!("Undo `{item}` on it?"),
        CaseCommand::Illegal { .. } => "Put it on the illegal-content path?".into(),
        CaseCommand::FollowUp { date } => format!("Set its follow-up for {date}?"),
        other => format!("Record `{}` on it?", crate::domain::case::command_word(other)),
    };
    // Typed text is shown inert, like everything else on screen.
    let question = crate::domain::inert::line(&question).into_owned();
    match others {
        Some(owner) => format!("{owner} has this case. {question}"),
        None => question,
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
        Mode::Confirm { question, yes_selected } => {
            let (yes, no) = if *yes_selected {
                (theme.selected(), ratatui::style::Style::new())
            } else {
                (ratatui::style::Style::new(), theme.selected())
            };
            (
                "Confirm",
                vec![
                    Line::raw(describe(question)),
                    Line::raw(""),
                    Line::from(vec![Span::styled(" Cancel ", no), Span::raw("   "), Span::styled(" Yes ", yes)]),
                    Line::styled("y: yes, n or Esc: cancel, Tab: switch, Enter: choose", theme.dim()),
                ],
            )
        }
        _ => return,
    };
    let p = Paragraph::new(lines).wrap(Wrap { trim: false });
    let (rect, scroll) = popup_rect(&p, area);
    frame.render_widget(Clear, rect);
    frame.render_widget(p.block(theme.block(title, true)).scroll((scroll, 0)), rect);
}

/// Where a popup of wrapped text goes: above the status bar, as tall as its text once wrapped (a long
/// question grows the popup, then widens it to the screen), and the rows to scroll past when even that is
/// too small, so the last lines (the input and its keys) always show.
fn popup_rect(p: &Paragraph, area: Rect) -> (Rect, u16) {
    // The header above and the two status lines below stay visible.
    let room = area.height.saturating_sub(3).max(3);
    let rows = |width: u16| u16::try_from(p.line_count(width.saturating_sub(2))).unwrap_or(u16::MAX).saturating_add(2);
    let mut width = area.width.saturating_sub(8).min(90);
    if rows(width) > room {
        width = area.width;
    }
    let needed = rows(width);
    let height = needed.min(room);
    let rect = centered(area, width, height);
    let rect = Rect { y: area.height.saturating_sub(height + 2), ..rect };
    (rect, needed - height)
}
