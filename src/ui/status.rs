//! The header (counts per level) and the status bar (feed health, user and role, hints, toasts).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Theme;
use crate::app::State;
use crate::domain::inert;

pub fn header(state: &State, theme: &Theme) -> Paragraph<'static> {
    let mut spans = vec![Span::raw(if state.demo { "vigil (DEMO)  " } else { "vigil  " })];
    for (level, n) in state.counts.open_by_level {
        spans.push(Span::styled(format!("{} {n}", level.label()), theme.level(level)));
        spans.push(Span::raw("  "));
    }
    let overdue = state.counts.overdue;
    if overdue > 0 {
        spans.push(Span::styled(format!("OVERDUE {overdue}  "), theme.warn()));
    }
    if state.filter.is_active() {
        spans.push(Span::styled(format!("FILTER: {}", inert::line(&state.filter.describe())), theme.title(true)));
    }
    Paragraph::new(Line::from(spans))
}

/// The feed's health in words: connected, stale since, or the error and the next retry.
pub fn feed_text(state: &State) -> String {
    let h = &state.health;
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&state.tz).format("%H:%M").to_string();
    let last = h.last_success.map(local).unwrap_or_else(|| "never".into());
    if let Some((_, err)) = &h.last_error {
        let next = if h.stopped {
            "stopped: press r to retry".to_string()
        } else {
            match h.next_attempt {
                Some(n) => format!("retry in {}s", (n - state.now).num_seconds().max(0)),
                None => String::new(),
            }
        };
        return format!("feed ERROR: {} ({next}; last ok {last})", inert::line(err));
    }
    if h.syncing {
        return format!("feed: syncing (last ok {last})");
    }
    match h.last_success {
        Some(t) if state.now - t > state.stale_after => format!("feed: STALE since {last}"),
        Some(_) => format!("feed: ok {last}"),
        None => "feed: not yet reached".into(),
    }
}

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let [top, bottom] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let feed_style = if state.health.last_error.is_some() { theme.warn() } else { theme.ok() };
    let mut spans = vec![Span::styled(feed_text(state), feed_style)];
    if state.quarantined > 0 {
        spans.push(Span::styled(format!("  {} rejected (:rejected lists them)", state.quarantined), theme.warn()));
    }
    spans.push(Span::raw(format!("  {} ({})", inert::line(&state.viewer.user), state.viewer.role.as_str())));
    frame.render_widget(Paragraph::new(Line::from(spans)), top);
    let line = match &state.toast {
        Some(t) => {
            Line::from(Span::styled(inert::line(&t.text).into_owned(), if t.error { theme.warn() } else { theme.ok() }))
        }
        None => {
            let hints: Vec<String> = state
                .keymap
                .hints_for(state.key_mode())
                .into_iter()
                .map(|b| format!("{} {}", b.keys.first().map_or("", String::as_str), b.command.name()))
                .collect();
            Line::styled(format!("[{}] {}", state.key_mode().name(), hints.join("  ")), theme.dim())
        }
    };
    frame.render_widget(Paragraph::new(line), bottom);
}
