//! The case: summary, context, captures, screenshot references, device and delivery, and the timeline.
//! Every string from the feed goes through `inert` first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{Theme, blank};
use crate::app::keymap::Command;
use crate::app::update::{detail_is_current, viewable_screenshot};
use crate::app::{Focus, State};
use crate::domain::inert;
use crate::service::CaseDetail;

fn heading(text: &str) -> Line<'static> {
    Line::from(Span::styled(text.to_string(), ratatui::style::Style::new().add_modifier(Modifier::BOLD)))
}

fn push_block(lines: &mut Vec<Line<'static>>, text: &str) {
    for l in inert::block(text).lines() {
        lines.push(Line::raw(format!("  {l}")));
    }
}

pub fn lines(state: &State, theme: &Theme, d: &CaseDetail) -> Vec<Line<'static>> {
    let a = &d.alert;
    let s = &d.summary;
    let tz = state.tz;
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%a %d/%m/%Y %H:%M").to_string();
    let mut out = Vec::new();
    if let Some(n) = s.trend {
        out.push(Line::from(Span::styled(
            format!(
                "TREND: {n} alerts about this subject in {} days; consider a wider referral (h: their history)",
                s.trend_days
            ),
            theme.warn(),
        )));
    }
    let mut first = vec![
        Span::styled(format!("{} ", s.level.label()), theme.level(s.level)),
        Span::raw(format!("{}  {}  rev {}", inert::line(&a.category), s.status, a.revision)),
    ];
    if let Some(r) = a.risk {
        first.push(Span::raw(format!("  vendor risk {r}/5")));
    }
    out.push(Line::from(first));
    if a.is_staff() {
        out.push(Line::from(Span::styled("STAFF ALERT: for the DSL only", theme.warn())));
    }
    if a.suspected_illegal || d.case.illegal_path {
        out.push(Line::from(Span::styled(
            "ILLEGAL-CONTENT PATH: stop reviewing the content; do not copy, forward or print it",
            theme.warn(),
        )));
    }
    if s.unparsed_mail {
        out.push(Line::from(Span::styled(
            "UNPARSED E-MAIL: no rule read this vendor's message; it is at the default level: check the level",
            theme.warn(),
        )));
    }
    if let Some(m) = &a.mail {
        let how = if m.rule.is_some() { "read by its rule" } else { "kept raw: vigil show ID --raw" };
        out.push(Line::raw(format!("From an e-mail by {} ({how})", inert::line(&m.from))));
        if let Some(portal) = &m.portal {
            out.push(Line::raw(format!("In the vendor's portal: {}", inert::line(portal))));
        }
    }
    if a.withdrawn {
        out.push(Line::from(Span::styled("Withdrawn by the vendor (kept on record)", theme.dim())));
    }
    let subj = &a.subject;
    let mut who = format!("Subject: {} {}", subj.kind.as_str(), inert::line(&subj.id));
    for part in [&subj.name, &subj.group, &subj.username].into_iter().flatten() {
        who.push_str(&format!("{}{}", theme.sep(), inert::line(part)));
    }
    out.push(Line::raw(who));
    let ooh = if s.out_of_hours { " (out of hours)" } else { "" };
    out.push(Line::raw(format!("Raised: {}{ooh}", local(s.raised_at))));
    if let Some(due) = s.due_at {
        let overdue = if s.overdue { " OVERDUE" } else { "" };
        out.push(Line::from(vec![
            Span::raw(format!("Due:    {}", local(due))),
            Span::styled(overdue.to_string(), theme.warn()),
        ]));
    }
    // Who has it, and who else of the team was shown it: what a reviewer checks before acting.
    match &d.case.owner {
        Some(owner) if *owner == state.viewer.user => out.push(Line::raw("Has it: you")),
        Some(owner) => out.push(Line::raw(format!("Has it: {}", inert::line(&d.name(owner))))),
        // Nobody: no line, so the summary stays high on a small screen (the queue's OWNER column says it).
        None => {}
    }
    if !d.case.shared_with.is_empty() {
        let with: Vec<String> = d.case.shared_with.iter().map(|u| inert::line(&d.name(u)).into_owned()).collect();
        out.push(Line::raw(format!("Shared with: {}", with.join(", "))));
    }
    let delivered = a.delivered_by.map_or("not stated", |d| d.as_str());
    out.push(Line::raw(format!("Delivered by: {delivered}")));
    if let Some(intake) = &a.intake {
        let caller = intake.caller.as_deref().map(|c| format!(" from {}", inert::line(c))).unwrap_or_default();
        out.push(Line::raw(format!("Taken by: {}{caller}", inert::line(&d.name(&intake.taken_by)))));
        if let Some(r) = &intake.vendor_ref {
            out.push(Line::raw(format!("Vendor's reference: {}", inert::line(r))));
        }
    }
    if let Some(into) = &d.case.attached_to {
        out.push(Line::from(Span::styled(
            format!("Attached to phoned-in case {}: read and act on it there", inert::line(&into.to_string())),
            theme.warn(),
        )));
    }
    match &a.device {
        Some(dev) => out.push(Line::raw(format!(
            "Device: {}{sep}{}{sep}{}",
            inert::line(dev.hostname.as_deref().unwrap_or("unknown host")),
            inert::line(dev.owner.as_deref().unwrap_or("owner unknown")),
            inert::line(dev.location.as_deref().unwrap_or("location unknown")),
            sep = theme.sep(),
        ))),
        None => out.push(Line::raw("Device: not stated")),
    }
    if let Some(f) = s.follow_up {
        out.push(Line::raw(format!("Follow-up: {f}")));
    }
    if !d.vendor_proposals.is_empty() {
        out.push(blank());
        let title = if a.is_manual() { "The vendor's record of this alert?" } else { "The phoned-in alert this is?" };
        out.push(Line::from(Span::styled(title.to_string(), theme.warn())));
        for p in &d.vendor_proposals {
            let at = local(p.raised_at.with_timezone(&chrono::Utc));
            let key = inert::line(&p.other.to_string()).into_owned();
            out.push(Line::raw(format!("  {key}  {at}  {}: {}", inert::line(&p.category), inert::line(&p.summary))));
            out.push(Line::styled(
                format!("  :link-vendor {key} makes them one case; :decline-vendor {key} --reason ... if not"),
                theme.dim(),
            ));
        }
    }
    out.push(blank());
    out.push(heading("Summary"));
    push_block(&mut out, &a.summary);
    if let Some(c) = &a.context {
        out.push(heading("Context"));
        push_block(&mut out, c);
    }
    let withheld = a.suspected_illegal || d.case.illegal_path;
    captures(&mut out, theme, a, withheld, &local);
    for r in &d.vendor_records {
        let v = &r.alert;
        out.push(blank());
        out.push(heading(&format!(
            "The vendor's record {} (raised {})",
            inert::line(&v.key.to_string()),
            local(v.raised_at.with_timezone(&chrono::Utc))
        )));
        out.push(Line::raw(format!("  {}  {}", inert::line(&v.category), v.delivered_by.map_or("", |h| h.as_str()))));
        push_block(&mut out, &v.summary);
        if let Some(c) = &v.context {
            push_block(&mut out, c);
        }
        captures(&mut out, theme, v, withheld || v.suspected_illegal, &local);
        for e in &r.events {
            let actor = d.display(&e.actor());
            let what = e.kind.describe_naming(&|user| d.name(user));
            out.push(Line::raw(format!("  {}  {}  {}", local(e.at), inert::line(&actor), inert::line(&what))));
        }
    }
    if !d.links.is_empty() {
        out.push(blank());
        out.push(heading("Linked cases"));
        for l in &d.links {
            out.push(Line::raw(format!("  {}  {}  {}", inert::line(&l.key.to_string()), l.level.label(), l.status)));
        }
    }
    out.push(blank());
    out.push(heading("Timeline"));
    for e in d.timeline() {
        out.push(Line::raw(format!("  {}  {}  {}", local(e.at), inert::line(&e.actor), inert::line(&e.what))));
    }
    out
}

/// An alert's captures and screenshot references (withheld on the illegal-content path).
fn captures(
    out: &mut Vec<Line<'static>>,
    theme: &Theme,
    a: &crate::domain::Alert,
    withheld: bool,
    local: &dyn Fn(chrono::DateTime<chrono::Utc>) -> String,
) {
    if !a.captures.is_empty() {
        out.push(heading("Captures"));
    }
    for c in &a.captures {
        let at = c.at.map(|t| local(t.with_timezone(&chrono::Utc))).unwrap_or_else(|| "time not stated".into());
        let title = c.window_title.as_deref().map(|t| inert::line(t).into_owned()).unwrap_or_default();
        out.push(Line::raw(format!("  {at}  {title}")));
        if let Some(t) = &c.text {
            out.push(Line::raw(format!("    typed: {}", inert::line(t))));
        }
        if let Some(shot) = &c.screenshot {
            if withheld {
                out.push(Line::from(Span::styled(
                    "    [screenshot withheld: suspected illegal content]",
                    theme.warn(),
                )));
            } else {
                let size = match (shot.width, shot.height) {
                    (Some(w), Some(h)) => format!("{w}x{h}"),
                    _ => "size not stated".into(),
                };
                let caption = shot.caption.as_deref().map(|c| inert::line(c).into_owned()).unwrap_or_default();
                out.push(Line::raw(format!("    screenshot: {caption} ({size}, {})", inert::line(&shot.url))));
            }
        }
    }
}

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = state.focus == Focus::Detail;
    // In the trust's view two schools' students may share an id: the pane says whose case it is.
    let school = match (&state.detail, detail_is_current(state)) {
        (Some(d), true) => d.summary.school.as_deref(),
        _ => state.selected_summary().and_then(|s| s.school.as_deref()),
    };
    let title = match school {
        Some(school) => format!("Case: {}", inert::line(school)),
        None => "Case".to_string(),
    };
    let block = theme.block(&title, focused);
    let body = match (&state.detail, detail_is_current(state)) {
        (Some(d), true) => {
            let mut body = lines(state, theme, d);
            // A picture in a pane is small (and none shows on a small screen): say how to see it large.
            if viewable_screenshot(Some(d)).is_ok() {
                let key = state.keymap.bindings().iter().find(|b| b.command == Command::ViewScreenshot);
                if let Some(k) = key.and_then(|b| b.keys.first()) {
                    body.insert(0, Line::styled(format!("{k}: see the screenshot full screen"), theme.dim()));
                }
            }
            // Two people must not phone the same student: whoever else has this case open is said first.
            for other in state.others_viewing(&d.summary.key) {
                let role = other.role.as_str().to_uppercase();
                body.insert(
                    0,
                    Line::styled(format!("{} ({role}) is viewing this case", inert::line(&other.name)), theme.warn()),
                );
            }
            body
        }
        _ => match state.selected_summary() {
            Some(s) => vec![
                Line::raw(format!("{} {} {}", s.level.label(), inert::line(&s.category), inert::line(&s.subject_id))),
                blank(),
                Line::raw("Press Enter to open this case. Opening it is recorded."),
            ],
            None => vec![Line::raw("No case selected.")],
        },
    };
    let shot = state
        .screenshot
        .as_ref()
        .filter(|v| state.screenshot_preview && detail_is_current(state) && state.selected_key() == Some(&v.key));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let text_area = match shot {
        Some(view) if inner.height >= 16 => {
            let h = match view.status {
                crate::app::ShotStatus::Ready(_) => (inner.height / 2).min(15),
                _ => 1,
            };
            let [pic, rest] = ratatui::layout::Layout::vertical([
                ratatui::layout::Constraint::Length(h),
                ratatui::layout::Constraint::Min(1),
            ])
            .areas(inner);
            match &view.status {
                crate::app::ShotStatus::Ready(img) => {
                    frame.render_widget(ratatui_image::Image::new(&img.0), pic);
                }
                crate::app::ShotStatus::Loading => {
                    frame.render_widget(Paragraph::new(Line::styled("loading the screenshot…", theme.dim())), pic)
                }
                crate::app::ShotStatus::Failed(e) => frame.render_widget(
                    Paragraph::new(Line::styled(format!("screenshot unavailable: {}", inert::line(e)), theme.dim())),
                    pic,
                ),
            }
            rest
        }
        _ => inner,
    };
    let p = Paragraph::new(body).wrap(Wrap { trim: false }).scroll((state.detail_scroll, 0));
    frame.render_widget(p, text_area);
}
