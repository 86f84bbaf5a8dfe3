//! A student's history over the panes: every case for the subject the reader may see, oldest first, the
//! trend when there is one, and the selected case (Enter opens it).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::{Theme, fit};
use crate::app::{HistoryView, State};
use crate::domain::inert;
use crate::service::subjects::HistoryRow;

/// One case of a student's history in plain text, as `vigil subject` prints it and this view shows it:
/// when, the level, the category, where it stands, who handled it, and the case.
pub fn line(c: &HistoryRow, tz: chrono_tz::Tz) -> String {
    let stands = match &c.outcome {
        Some(outcome) => format!("closed: {}", inert::line(outcome)),
        None => c.status.to_string(),
    };
    let who =
        if c.handled_by.is_empty() { "nobody yet".into() } else { inert::line(&c.handled_by.join(", ")).into_owned() };
    format!(
        "{}  {:<4} {:<14} {:<22} {who}  {}",
        c.raised_at.with_timezone(&tz).format("%d/%m/%Y %H:%M"),
        c.level.label(),
        inert::line(&c.category),
        stands,
        inert::line(&c.key.to_string()),
    )
}

pub fn render(state: &State, view: &HistoryView, theme: &Theme, frame: &mut Frame, area: Rect) {
    // Over the panes: the header above and the status lines below stay.
    let rect = Rect { y: area.y + 1, height: area.height.saturating_sub(3), ..area };
    frame.render_widget(Clear, rect);
    let h = &view.history;
    let title = format!(
        "History: {} ({} case{}, oldest first)",
        inert::line(&h.subject_id),
        h.cases.len(),
        if h.cases.len() == 1 { "" } else { "s" }
    );
    let block = theme.block(&title, true);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let width = usize::from(inner.width);
    let mut lines = Vec::new();
    if let Some(n) = h.trend {
        lines.push(Line::styled(
            fit(&format!("TREND: {n} alerts in {} days; consider a wider referral", h.trend_days), width).into_owned(),
            theme.warn(),
        ));
    }
    let room = usize::from(inner.height).saturating_sub(lines.len());
    let start = super::queue::window_start(view.selected, h.cases.len(), room);
    for (i, c) in h.cases.iter().enumerate().skip(start).take(room) {
        let selected = i == view.selected;
        let marker = if selected { theme.marker() } else { " " };
        let text = fit(&format!("{marker}{}", line(c, state.tz)), width).into_owned();
        lines.push(if selected {
            Line::styled(text, theme.selected())
        } else {
            Line::styled(text, theme.level(c.level))
        });
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
