//! The duty dashboard: today and this week by level, what is open, overdue and awaiting follow-up, the
//! feed's health, and a sparkline of alerts per day over the last 30 days.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Sparkline, Table};

use super::Theme;
use crate::app::State;
use crate::domain::{Level, inert};
use crate::report::duty::{DutySummary, SPARK_DAYS};

/// While the dashboard waits for the closed cases' raise times (read in the background on a large store).
pub fn render_reading(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = theme.block("Dashboard (D or Esc closes it)", true);
    let text = match &state.not_open_error {
        Some(e) => format!("The closed cases could not be read, so the figures cannot be shown: {}", inert::line(e)),
        None => "Reading the closed cases...".to_string(),
    };
    frame.render_widget(Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }).block(block), area);
}

pub fn render(state: &State, d: &DutySummary, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = theme.block("Dashboard (D or Esc closes it)", true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [table_area, waiting_area, spark_title, spark_area, axis] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Length(4),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(inner);

    let header = Row::new(["", "HIGH", "MED", "LOW"]).style(theme.dim());
    let row = |name: &'static str, f: &dyn Fn(Level) -> u64| {
        let mut cells = vec![Cell::from(name)];
        for level in [Level::High, Level::Medium, Level::Low] {
            cells.push(Cell::from(Span::styled(f(level).to_string(), theme.level(level))));
        }
        Row::new(cells)
    };
    let rows = vec![
        row("Raised today", &|l| *d.raised_today.get(l)),
        row("Raised this week", &|l| *d.raised_this_week.get(l)),
        row("Open now", &|l| *d.open.get(l)),
    ];
    let widths = [Constraint::Length(18), Constraint::Length(6), Constraint::Length(6), Constraint::Length(6)];
    frame.render_widget(Table::new(rows, widths).header(header).column_spacing(2), table_area);

    let overdue_style = if d.overdue > 0 { theme.warn() } else { theme.ok() };
    let waiting = vec![
        Line::from(vec![Span::raw("Overdue:             "), Span::styled(d.overdue.to_string(), overdue_style)]),
        Line::raw(format!("Follow-ups due:      {}", d.awaiting_follow_up)),
        Line::raw(format!("Follow-ups later:    {}", d.follow_ups_later)),
        Line::raw(format!("Feed:                {}", super::status::feed_health(state, usize::MAX))),
    ];
    frame.render_widget(Paragraph::new(waiting), waiting_area);

    let total: u64 = d.per_day.iter().sum();
    let peak = d.per_day.iter().copied().max().unwrap_or(0);
    frame.render_widget(
        Paragraph::new(format!("Alerts per day, last {SPARK_DAYS} days: {total} in all, at most {peak} in a day")),
        spark_title,
    );
    // Each day gets the same share of the width, so the axis dates sit under the first and last days.
    let per_day = (spark_area.width as usize / SPARK_DAYS.max(1)).max(1);
    let stretched: Vec<u64> = d.per_day.iter().flat_map(|v| std::iter::repeat_n(*v, per_day)).collect();
    frame.render_widget(Sparkline::default().data(&stretched).style(theme.ok()), spark_area);
    let first = d.first_day().format("%d/%m").to_string();
    let last = d.today.format("%d/%m (today)").to_string();
    let used = (per_day * SPARK_DAYS).min(axis.width as usize);
    let gap = used.saturating_sub(first.len() + last.len());
    frame.render_widget(Paragraph::new(format!("{first}{}{last}", " ".repeat(gap))).style(theme.dim()), axis);
}
