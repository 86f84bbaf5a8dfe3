//! The header (counts per level) and the status bar (feed health, user and role, hints, toasts).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Theme;
use crate::app::State;
use crate::domain::inert;

pub fn header(state: &State, theme: &Theme) -> Paragraph<'static> {
    let mut spans = Vec::new();
    // An escalation takes the place of the counts (the queue's title still has them); the filter stays.
    if let Some(banner) = escalation_banner(state) {
        spans.push(Span::styled(banner, theme.warn().add_modifier(Modifier::REVERSED)));
        spans.push(Span::raw("  "));
    } else {
        spans.push(Span::raw(if state.demo { "vigil (DEMO)  " } else { "vigil  " }));
        for (level, n) in state.counts.open_by_level {
            spans.push(Span::styled(format!("{} {n}", level.label()), theme.level(level)));
            spans.push(Span::raw("  "));
        }
        let overdue = state.counts.overdue;
        if overdue > 0 {
            spans.push(Span::styled(format!("OVERDUE {overdue}  "), theme.warn()));
        }
    }
    if state.filter.is_active() {
        spans.push(Span::styled(format!("FILTER: {}", inert::line(&state.filter.describe())), theme.title(true)));
    }
    Paragraph::new(Line::from(spans))
}

/// The banner over the queue while an escalated case is unopened: its level, how long, and where it is in
/// the queue (or that the filter hides it). Nothing of the alert itself.
pub fn escalation_banner(state: &State) -> Option<String> {
    let e = state.escalated.first()?;
    let row = state.visible().position(|c| c.key == e.key);
    let place = match row {
        Some(i) => format!("row {}", i + 1),
        // Esc clears the filter: the hint line says so.
        None => "filtered out".to_string(),
    };
    let more = match state.escalated.len() - 1 {
        0 => String::new(),
        n => format!(" +{n} more"),
    };
    Some(format!("ESCALATED: {} unopened {}, {place}{more}", e.level.label(), unopened(e.unopened_minutes)))
}

/// "12 min", "15h 30m", "6 days": how long a case has gone unopened.
fn unopened(minutes: u32) -> String {
    match minutes {
        0..60 => format!("{minutes} min"),
        60..2880 => format!("{}h {:02}m", minutes / 60, minutes % 60),
        _ => format!("{} days", minutes / 1440),
    }
}

/// The feed's health in words: `ok HH:MM`, stale since, or the error and the next retry. An error message
/// longer than `error_width` columns is cut (the retry and the last success always show).
pub fn feed_health(state: &State, error_width: usize) -> String {
    if !state.schools.is_empty() {
        // The trust's view polls nothing: each school's own service polls its feed.
        return "each school's own (vigil --school NAME feed status)".into();
    }
    let h = &state.health;
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&state.tz).format("%H:%M").to_string();
    let last = h.last_success.map(local).unwrap_or_else(|| "never".into());
    if let Some(since) = h.stuck_since {
        let next = h
            .next_attempt
            .map(|n| format!("next try {}; ", n.with_timezone(&state.tz).format("%H:%M:%S")))
            .unwrap_or_default();
        return format!("feed ERROR: {} ({next}last ok {last})", crate::service::feed::stuck_message(since, &state.tz));
    }
    if let Some((_, err)) = &h.last_error {
        let next = if h.stopped {
            "stopped: press r to retry".to_string()
        } else {
            // The time itself, not a countdown: the bar is redrawn when something changes, not every
            // second, and a countdown from a stale clock says the wrong thing.
            match h.next_attempt {
                Some(n) => format!("next try {}", n.with_timezone(&state.tz).format("%H:%M:%S")),
                None => String::new(),
            }
        };
        return format!("ERROR: {} ({next}; last ok {last})", super::fit(&inert::line(err), error_width));
    }
    if h.syncing {
        return format!("syncing (last ok {last})");
    }
    if h.rested.is_some()
        && let Some(n) = h.next_attempt
    {
        let next = n.with_timezone(&state.tz).format("%H:%M:%S");
        return format!("ok {last}; the feed has more: resting until {next}");
    }
    let by = if h.standby { " (polled by another vigil service)" } else { "" };
    match h.last_success {
        Some(t) if state.now - t > state.stale_after => format!("STALE since {last}{by}"),
        Some(_) => format!("ok {last}{by}"),
        None => format!("not yet reached{by}"),
    }
}

/// The shared service's connection, when it is not up.
fn link_words(state: &State, link: &crate::service::remote::LinkState) -> String {
    use crate::service::remote::LinkState;
    match link {
        LinkState::Connected => "connected".into(),
        LinkState::Reconnecting { since } => {
            format!("RECONNECTING (lost {}; what you type is kept)", since.with_timezone(&state.tz).format("%H:%M:%S"))
        }
        LinkState::Refused(message) => format!("REFUSED: {}", inert::line(message)),
    }
}

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let [top, bottom] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let mut feed_style = if state.health.last_error.is_some() { theme.warn() } else { theme.ok() };
    // Who you are and the rejected count always show: the feed's error message gives way to them.
    let mut who = format!("  {} ({})", inert::line(&state.viewer.user), state.viewer.role.as_str());
    if !state.others.is_empty() {
        let names: Vec<String> =
            state.others.iter().map(|p| format!("{} ({})", inert::line(&p.name), p.role.as_str())).collect();
        who.push_str(&format!("  also here: {}", names.join(", ")));
    }
    let rejected = if state.quarantined > 0 {
        format!("  {} rejected (:rejected lists them)", state.quarantined)
    } else {
        String::new()
    };
    let whole = match &state.link {
        None => feed_health(state, usize::MAX),
        Some(link) => {
            feed_style = theme.warn();
            link_words(state, link)
        }
    };
    let spare = (top.width as usize).saturating_sub(6 + super::width(&who) + super::width(&rejected));
    let feed = if super::width(&whole) <= spare || state.link.is_some() {
        whole
    } else {
        let rest = super::width(&feed_health(state, 0));
        feed_health(state, spare.saturating_sub(rest).max(8))
    };
    let label = if state.link.is_some() { "service" } else { "feed" };
    let mut spans = vec![Span::styled(format!("{label}: {feed}"), feed_style)];
    if !rejected.is_empty() {
        spans.push(Span::styled(rejected, theme.warn()));
    }
    spans.push(Span::raw(who));
    frame.render_widget(Paragraph::new(Line::from(spans)), top);
    let line = match &state.toast {
        Some(t) => {
            Line::from(Span::styled(inert::line(&t.text).into_owned(), if t.error { theme.warn() } else { theme.ok() }))
        }
        None => Line::styled(hint_line(state, bottom.width as usize), theme.dim()),
    };
    frame.render_widget(Paragraph::new(line), bottom);
}

/// "[checklist] Space tick  n note  ...  ? more  q quit": what is on top, then its keys by priority, as
/// many as fit in `width`. Help and quit always show; help says "more" when keys were left out for it.
pub fn hint_line(state: &State, width: usize) -> String {
    use crate::app::keymap::Command;
    let hints = state.keymap.hints_for(state.key_mode());
    let (always, rest): (Vec<_>, Vec<_>) =
        hints.into_iter().partition(|b| matches!(b.command, Command::Help | Command::Quit));
    let head = format!("[{}]", state.top_name());
    let mut used = super::width(&head) + always.iter().map(|b| 2 + super::width(&b.hint_text())).sum::<usize>();
    let mut shown = Vec::new();
    let mut left_out = false;
    for b in rest {
        let text = b.hint_text();
        if left_out || used + 2 + super::width(&text) > width {
            left_out = true;
            continue;
        }
        used += 2 + super::width(&text);
        shown.push(text);
    }
    for b in always {
        shown.push(match (b.command, left_out) {
            (Command::Help, true) => format!("{} more", b.keys.first().map_or("", String::as_str)),
            _ => b.hint_text(),
        });
    }
    format!("{head} {}", shown.join("  "))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::identity::{Role, Viewer};
    use crate::intake::FeedHealth;

    fn state_at(now: chrono::DateTime<Utc>, health: FeedHealth) -> State {
        let viewer = Viewer { user: "u".into(), role: Role::Dsl, sees_staff: true };
        State { health, ..State::new(viewer, now) }
    }

    /// The bar is redrawn when something changes, not each second: it names the time of the next try, which
    /// stays true, not a countdown from whenever its clock last moved.
    #[test]
    fn the_next_try_is_a_time_not_a_countdown_from_a_stale_clock() {
        let then = Utc.with_ymd_and_hms(2026, 7, 1, 9, 0, 0).single().expect("literal");
        let next = then + chrono::Duration::seconds(2);
        let health = FeedHealth {
            last_error: Some((then, "the feed is busy (HTTP 429) and asked to wait 2s".into())),
            next_attempt: Some(next),
            ..FeedHealth::default()
        };
        // The screen's clock is 11 seconds behind (it was last moved before the error).
        let state = state_at(then - chrono::Duration::seconds(11), health);
        let text = feed_health(&state, usize::MAX);
        let local = next.with_timezone(&state.tz).format("%H:%M:%S").to_string();
        assert!(text.contains(&format!("next try {local}")), "{text}");
        assert!(!text.contains("retry in"), "{text}");
    }

    #[test]
    fn a_rested_sync_and_a_stuck_feed_are_named() {
        let now = Utc.with_ymd_and_hms(2026, 7, 1, 9, 0, 0).single().expect("literal");
        let rested = FeedHealth {
            last_success: Some(now),
            next_attempt: Some(now + chrono::Duration::seconds(60)),
            rested: Some("the feed still had more".into()),
            ..FeedHealth::default()
        };
        assert!(feed_health(&state_at(now, rested), usize::MAX).contains("the feed has more: resting until"));
        let stuck = FeedHealth {
            last_error: Some((now, "the feed sent invalid JSON".into())),
            stuck_since: Some(now - chrono::Duration::minutes(30)),
            next_attempt: Some(now + chrono::Duration::seconds(8)),
            ..FeedHealth::default()
        };
        let state = state_at(now, stuck);
        let since = (now - chrono::Duration::minutes(30)).with_timezone(&state.tz).format("%H:%M").to_string();
        let text = feed_health(&state, usize::MAX);
        assert!(text.contains(&format!("the feed keeps sending a page vigil cannot read since {since}")), "{text}");
    }
}
