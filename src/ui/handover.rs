//! The handover in words: one list of lines for `vigil handover` (plain, in reading order) and the TUI's
//! `:handover` view, so the two say the same. Every string from the feed or a reviewer is rendered inert.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::Theme;
use crate::domain::inert;
use crate::service::handover::{Handover, HandoverCase, SinceWhy};

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%a %d/%m %H:%M").to_string()
}

/// One case on one line: level, id (what `vigil show ID` takes), category, status, flags and who has it.
fn case_line(c: &HandoverCase, tz: Tz, with_due: bool) -> String {
    let mut line =
        format!("  {:<4}  {}  {}  {}", c.level.label(), inert::line(&c.key.id), inert::line(&c.category), c.status);
    if c.staff {
        line.push_str("  STAFF");
    }
    if with_due && let Some(due) = c.due_at {
        line.push_str(&format!("  due {}", due.with_timezone(&tz).format("%d/%m %H:%M")));
        if c.overdue {
            line.push_str(" OVERDUE");
        }
    }
    if let Some(date) = c.follow_up.filter(|_| !with_due) {
        line.push_str(&format!("  follow-up {}", date.format("%a %d/%m")));
    }
    match &c.owner {
        Some(owner) => line.push_str(&format!("  {}", inert::line(owner))),
        None => line.push_str("  no owner"),
    }
    line
}

fn cases(out: &mut Vec<String>, cases: &[HandoverCase], tz: Tz, with_due: bool) {
    if cases.is_empty() {
        out.push("  none".into());
    }
    out.extend(cases.iter().map(|c| case_line(c, tz, with_due)));
}

/// The handover, line by line, in reading order.
pub fn lines(h: &Handover, tz: Tz) -> Vec<String> {
    let why = match h.since_why {
        SinceWhy::Given => "the time you gave",
        SinceWhy::Acknowledged => "the end of the handover you last acknowledged",
        SinceWhy::LastDay => "the last 24 hours: you have acknowledged no handover",
    };
    let decisions: usize = h.decisions.iter().map(|p| p.decisions.len()).sum();
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut out = vec![
        format!("From {} ({why}) to {}", local(h.since, tz), local(h.until, tz)),
        [
            plural(h.notes.len(), "handover note", "handover notes"),
            plural(h.new_alerts.len(), "new alert", "new alerts"),
            plural(decisions, "decision", "decisions"),
            format!("{} open", h.open.len()),
            plural(h.follow_ups.len(), "follow-up due", "follow-ups due"),
        ]
        .join(", "),
        String::new(),
    ];
    // What the person leaving says comes first: it is what the figures cannot.
    out.push(format!("Handover notes: {}", h.notes.len()));
    if h.notes.is_empty() {
        out.push("  none".into());
    }
    for n in &h.notes {
        out.push(format!("  {} {}:", local(n.at, tz), inert::line(&n.author)));
        // The line breaks the writer typed stay line breaks, each line inert.
        out.extend(n.text.replace("\r\n", "\n").lines().map(|l| format!("    {}", inert::line(l))));
    }
    out.push(String::new());
    let by_level: Vec<String> = h.new_by_level().iter().map(|(l, n)| format!("{} {n}", l.label())).collect();
    out.push(format!("New alerts: {} ({})", h.new_alerts.len(), by_level.join(", ")));
    cases(&mut out, &h.new_alerts, tz, false);
    out.push(String::new());
    out.push(format!("Decisions: {decisions}"));
    if h.decisions.is_empty() {
        out.push("  none".into());
    }
    for person in &h.decisions {
        out.push(format!("  {}", inert::line(&person.person)));
        for d in &person.decisions {
            out.push(format!("    {}  {}  {}", local(d.at, tz), inert::line(&d.case.id), inert::line(&d.what)));
        }
    }
    out.push(String::new());
    out.push(format!("Open: {}", h.open.len()));
    cases(&mut out, &h.open, tz, true);
    out.push(String::new());
    out.push(format!("Follow-ups due by {}: {}", h.next_working_day.format("%a %d/%m/%Y"), h.follow_ups.len()));
    cases(&mut out, &h.follow_ups, tz, false);
    out
}

/// The `:handover` view over the panes. Draws only: acknowledging is a key, handled in `app::update`.
pub fn render(h: &Handover, scroll: u16, tz: Tz, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut body: Vec<Line> = lines(h, tz).into_iter().map(Line::raw).collect();
    body.push(Line::raw(""));
    body.push(Line::styled(
        format!("Acknowledging records that you read this up to {}.", local(h.until, tz)),
        theme.dim(),
    ));
    // Over the panes, between the header and the status lines, which stay in view.
    let rect = Rect { y: area.y + 1, height: area.height.saturating_sub(3), ..area };
    frame.render_widget(Clear, rect);
    let p = Paragraph::new(body).block(theme.block("Handover", true)).wrap(Wrap { trim: false }).scroll((scroll, 0));
    frame.render_widget(p, rect);
}
