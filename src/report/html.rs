//! The HTML report: one self-contained file for governors, to read on screen or print.
//!
//! Inline CSS and inline SVG bar charts; no script, no fonts, no images, no links, nothing fetched. It is
//! meant to print in black and white: every bar carries its value as text, levels are told apart by fill
//! pattern (High solid, Medium hatched, Low dotted) as well as by label, and a withheld value is written out
//! in italics with no bar at all (a bar's length would give the number away).

use std::fmt::Write;

use super::figures::{Count, Figures, Share};
use super::markdown::{delivery_text, site_text};
use super::{change_text, count_text, date_text, level_text, month_text, notes, outcome_text, share_text};
use crate::domain::Level;

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #111; background: #fff; margin: 0 auto; max-width: 980px; padding: 24px;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 18px; border-bottom: 2px solid #111; padding-bottom: 2px; margin: 28px 0 10px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
p { margin: 4px 0; }
.notice { border: 1.5px solid #111; padding: 8px 12px; margin: 14px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(165px, 1fr)); gap: 10px; margin: 16px 0; }
.card { border: 1.5px solid #111; border-radius: 4px; padding: 10px 12px; }
.card .big { font-size: 28px; font-weight: 700; line-height: 1.2; margin: 2px 0; }
.card .big.hidden { font-size: 19px; line-height: 1.9; }
.card .what { font-weight: 600; }
.card .sub { font-size: 13px; color: #333; }
.pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.25fr); gap: 20px; align-items: start; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border-bottom: 1px solid #888; padding: 4px 6px; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #111; }
.n { text-align: right; font-variant-numeric: tabular-nums; }
.hidden { font-style: italic; }
svg { width: 100%; height: auto; display: block; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 12px; fill: #111; }
svg text.hidden { font-style: italic; }
footer { margin-top: 28px; font-size: 13px; }
footer li { margin: 4px 0; }
@media (max-width: 760px) { .pair { grid-template-columns: 1fr; } }
@media print {
  body { padding: 0; max-width: none; font-size: 12px; }
  h2 { break-after: avoid; }
  .pair, .card, table, svg { break-inside: avoid; }
}
@page { size: A4; margin: 14mm; }
"#;

/// `&`, `<`, `>`, `"` and `'` escaped; controls and bidi overrides made visible.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in crate::domain::inert::line(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A fill pattern that survives black-and-white printing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fill {
    Solid,
    Hatch,
    Dots,
    /// White with a dashed outline: "the previous period".
    Open,
}

impl Fill {
    fn for_level(level: Level) -> Fill {
        match level {
            Level::High => Fill::Solid,
            Level::Medium => Fill::Hatch,
            Level::Low => Fill::Dots,
        }
    }
}

/// One bar: its label, its length (None: withheld, no bar drawn), the text written after it, its fill.
struct Bar {
    label: String,
    length: Option<f64>,
    text: String,
    fill: Fill,
}

fn count_bar(label: impl Into<String>, c: Count, fill: Fill) -> Bar {
    Bar { label: label.into(), length: c.exact().map(|n| n as f64), text: count_text(c), fill }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { format!("{}…", s.chars().take(max - 1).collect::<String>()) }
}

/// A horizontal bar chart. `scale`: the length of a full bar (None: the longest bar).
fn chart(id: &str, title: &str, bars: &[Bar], scale: Option<f64>) -> String {
    const W: f64 = 520.0;
    const LABEL: f64 = 150.0;
    const ROOM: f64 = 120.0;
    const ROW: f64 = 26.0;
    const BAR: f64 = 16.0;
    let height = ROW * bars.len() as f64 + 8.0;
    let max = scale.unwrap_or_else(|| bars.iter().filter_map(|b| b.length).fold(0.0, f64::max)).max(1e-9);
    let span = W - LABEL - ROOM;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg viewBox="0 0 {W} {height}" role="img" aria-labelledby="{id}-t"><title id="{id}-t">{}</title>"#,
        esc(title)
    );
    let _ = write!(
        s,
        concat!(
            r#"<defs>"#,
            r#"<pattern id="{id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">"#,
            r##"<rect width="6" height="6" fill="#fff"/><rect width="2.4" height="6" fill="#000"/></pattern>"##,
            r#"<pattern id="{id}-dots" width="5" height="5" patternUnits="userSpaceOnUse">"#,
            r##"<rect width="5" height="5" fill="#fff"/><circle cx="2.5" cy="2.5" r="1.3" fill="#000"/></pattern>"##,
            r#"</defs>"#
        ),
        id = id
    );
    for (i, b) in bars.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let mid = y + ROW / 2.0 + 4.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{mid}" text-anchor="end">{}</text>"#,
            LABEL - 8.0,
            esc(&shorten(&b.label, 24))
        );
        let top = y + (ROW - BAR) / 2.0;
        match b.length {
            Some(len) => {
                let w = (len / max * span).clamp(0.0, span);
                let w = (w * 10.0).round() / 10.0;
                if w > 0.0 {
                    let (fill, dash) = match b.fill {
                        Fill::Solid => ("#222".to_string(), ""),
                        Fill::Hatch => (format!("url(#{id}-hatch)"), ""),
                        Fill::Dots => (format!("url(#{id}-dots)"), ""),
                        Fill::Open => ("#fff".to_string(), r#" stroke-dasharray="4 2""#),
                    };
                    let _ = write!(
                        s,
                        r##"<rect x="{LABEL}" y="{top}" width="{w}" height="{BAR}" fill="{fill}" stroke="#000" stroke-width="1"{dash}/>"##
                    );
                }
                let _ = write!(s, r#"<text x="{}" y="{mid}">{}</text>"#, LABEL + w + 6.0, esc(&b.text));
            }
            None => {
                let _ = write!(s, r#"<text class="hidden" x="{}" y="{mid}">{}</text>"#, LABEL + 2.0, esc(&b.text));
            }
        }
    }
    s.push_str("</svg>");
    s
}

struct Page {
    out: String,
}

impl Page {
    fn push(&mut self, s: impl AsRef<str>) {
        self.out.push_str(s.as_ref());
        self.out.push('\n');
    }

    fn h2(&mut self, s: &str) {
        self.push(format!("<h2>{}</h2>", esc(s)));
    }

    /// A table; `numeric` columns are right-aligned, and withheld values in italics.
    fn table(&mut self, head: &[&str], numeric: &[bool], rows: &[Vec<String>]) -> String {
        let mut t = String::from("<table><thead><tr>");
        for (h, n) in head.iter().zip(numeric) {
            let _ = write!(t, r#"<th{}>{}</th>"#, if *n { r#" class="n""# } else { "" }, esc(h));
        }
        t.push_str("</tr></thead><tbody>");
        for row in rows {
            t.push_str("<tr>");
            for (v, n) in row.iter().zip(numeric) {
                let hidden = v.starts_with("fewer than") || v.starts_with("withheld");
                let class = match (*n, hidden) {
                    (true, true) => r#" class="n hidden""#,
                    (true, false) => r#" class="n""#,
                    (false, true) => r#" class="hidden""#,
                    (false, false) => "",
                };
                let _ = write!(t, "<td{class}>{}</td>", esc(v));
            }
            t.push_str("</tr>");
        }
        t.push_str("</tbody></table>");
        t
    }

    fn pair(&mut self, left: String, right: String) {
        self.push(format!(r#"<div class="pair"><div>{left}</div><div>{right}</div></div>"#));
    }
}

fn counts_table(page: &mut Page, first: &str, rows: &[(String, Count)]) -> String {
    let rows: Vec<Vec<String>> = rows.iter().map(|(k, c)| vec![k.clone(), count_text(*c)]).collect();
    page.table(&[first, "Alerts"], &[false, true], &rows)
}

fn card(what: &str, n: &str, sub: &str) -> String {
    let class = if n.starts_with("fewer") || n.starts_with("withheld") { "big hidden" } else { "big" };
    format!(
        r#"<div class="card"><div class="what">{}</div><div class="{class}">{}</div><div class="sub">{}</div></div>"#,
        esc(what),
        esc(n),
        esc(sub)
    )
}

pub fn render(f: &Figures) -> String {
    let min = f.min_group;
    let mut p = Page { out: String::new() };
    let period = format!("{} to {}", date_text(f.period.from), date_text(f.period.to));
    p.push("<!DOCTYPE html>");
    p.push(r#"<html lang="en">"#);
    p.push("<head>");
    p.push(r#"<meta charset="utf-8">"#);
    p.push(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#);
    p.push(format!("<title>Monitoring alerts report: {}</title>", esc(&period)));
    p.push(format!("<style>{STYLE}</style>"));
    p.push("</head>");
    p.push("<body>");
    p.push("<header>");
    p.push("<h1>Monitoring alerts report</h1>");
    p.push(format!("<p><strong>Period:</strong> {} ({} days, {}).</p>", esc(&period), f.period.days(), f.time_zone));
    p.push(format!(
        "<p><strong>Compared with:</strong> {} to {}.</p>",
        esc(&date_text(f.previous.from)),
        esc(&date_text(f.previous.to))
    ));
    p.push(format!(
        "<p><strong>Figures as at:</strong> {}.</p>",
        esc(&f.as_of.with_timezone(&f.time_zone).format("%-d %B %Y %H:%M %Z").to_string())
    ));
    p.push(format!(
        r#"<p class="notice">No person is identified in this report. Counts from 1 to {} are shown as <em>fewer than {min}</em>; a figure that would reveal one is <em>withheld</em>. Withheld figures are in italics and have no bar.</p>"#,
        min.saturating_sub(1).max(1)
    ));
    p.push("</header>");

    // Summary cards.
    let mut cards = String::from(r#"<section class="cards">"#);
    cards.push_str(&card(
        "Alerts",
        &count_text(f.total),
        &format!(
            "{} on the previous period ({})",
            change_text(f.total, f.previous_total),
            count_text(f.previous_total)
        ),
    ));
    cards.push_str(&card("Out of working hours", &count_text(f.out_of_hours), "raised outside working time"));
    cards.push_str(&card(
        "False positives",
        &share_text(f.false_positive_share, min),
        &format!("of {} cases closed", count_text(f.closed)),
    ));
    cards.push_str(&card("Open", &count_text(f.open_at_end), "at the end of the period"));
    cards.push_str(&card("Overdue", &count_text(f.overdue_at_end), "at the end of the period"));
    cards.push_str("</section>");
    p.push(cards);

    // By level, with the trend.
    p.h2("Alerts by level");
    let rows: Vec<Vec<String>> = f
        .by_level
        .iter()
        .map(|(l, c)| {
            let before = *f.previous_by_level.get(l);
            vec![level_text(l).to_string(), count_text(*c), count_text(before), change_text(*c, before)]
        })
        .chain(std::iter::once(vec![
            "All".to_string(),
            count_text(f.total),
            count_text(f.previous_total),
            change_text(f.total, f.previous_total),
        ]))
        .collect();
    let table = p.table(&["Level", "This period", "Previous period", "Change"], &[false, true, true, false], &rows);
    let mut bars = Vec::new();
    for (l, c) in f.by_level.iter() {
        bars.push(count_bar(format!("{}: this period", level_text(l)), *c, Fill::for_level(l)));
        bars.push(count_bar(format!("{}: previous", level_text(l)), *f.previous_by_level.get(l), Fill::Open));
    }
    p.pair(table, chart("levels", "Alerts by level, this period and the previous one", &bars, None));

    p.h2("Alerts by category");
    let table = counts_table(&mut p, "Category", &f.by_category);
    let bars: Vec<Bar> = f.by_category.iter().map(|(k, c)| count_bar(k.clone(), *c, Fill::Hatch)).collect();
    p.pair(table, chart("categories", "Alerts by category", &bars, None));

    p.h2("Alerts by month");
    let months: Vec<(String, Count)> = f.by_month.iter().map(|(k, c)| (month_text(k), *c)).collect();
    let table = counts_table(&mut p, "Month", &months);
    let bars: Vec<Bar> = months.iter().map(|(k, c)| count_bar(k.clone(), *c, Fill::Hatch)).collect();
    p.pair(table, chart("months", "Alerts by month", &bars, None));

    p.h2("Where and when");
    let sites: Vec<(String, Count)> = f.by_location.iter().map(|(k, c)| (site_text(k).to_string(), *c)).collect();
    let hours =
        vec![("In working hours".to_string(), f.in_hours), ("Out of working hours".to_string(), f.out_of_hours)];
    let delivery: Vec<(String, Count)> =
        f.by_delivery.iter().map(|(k, c)| (delivery_text(k).to_string(), *c)).collect();
    for (id, first, title, rows) in [
        ("sites", "Device location", "Alerts by device location", &sites),
        ("hours", "Raised", "Alerts in and out of working hours", &hours),
        ("delivery", "Delivered by", "Alerts by how they were delivered", &delivery),
    ] {
        p.push(format!("<h3>{}</h3>", esc(title)));
        let table = counts_table(&mut p, first, rows);
        let bars: Vec<Bar> = rows.iter().map(|(k, c)| count_bar(k.clone(), *c, Fill::Hatch)).collect();
        p.pair(table, chart(id, title, &bars, None));
    }

    p.h2("Regrades and outcomes");
    let rows = vec![
        vec!["Regraded up (more serious)".to_string(), count_text(f.regrades_up)],
        vec!["Regraded down (less serious)".to_string(), count_text(f.regrades_down)],
        vec!["Students with more than one alert".to_string(), count_text(f.repeat_subjects)],
        vec!["Cases closed".to_string(), count_text(f.closed)],
        vec!["Closed as a false positive".to_string(), share_text(f.false_positive_share, min)],
    ];
    let t = p.table(&["Figure", "Value"], &[false, true], &rows);
    p.push(t);
    if f.outcomes.is_empty() {
        p.push("<p>No case raised in the period had closed by its end.</p>");
    } else {
        p.push("<h3>Outcomes by level</h3>");
        let rows: Vec<Vec<String>> = f
            .outcomes
            .iter()
            .map(|(id, by)| {
                let mut row = vec![outcome_text(id)];
                row.extend(Level::ALL.iter().map(|l| count_text(*by.get(*l))));
                row
            })
            .collect();
        let t = p.table(&["Outcome", "High", "Medium", "Low"], &[false, true, true, true], &rows);
        p.push(t);
    }

    p.h2("Recording on CPOMS and student tracking");
    let rows = vec![
        vec![
            "Medium".to_string(),
            share_text(f.recording_medium.cpoms, min),
            share_text(f.recording_medium.tracking_note, min),
        ],
        vec![
            "High".to_string(),
            share_text(f.recording_high.cpoms, min),
            share_text(f.recording_high.tracking_note, min),
        ],
    ];
    let t = p.table(&["Level", "Logged on CPOMS", "Student tracking note"], &[false, true, true], &rows);
    p.push(t);

    p.h2("Response times");
    let rows = super::response_rows(f, min);
    let table = p.table(&["Level", "Measure", "Median", "90th percentile"], &[false, false, true, true], &rows);
    p.push(table);
    p.push("<h3>Closed within the due time</h3>");
    let rows: Vec<Vec<String>> =
        f.response.iter().map(|(l, r)| vec![level_text(l).to_string(), share_text(r.within_due, min)]).collect();
    let table = p.table(&["Level", "Share"], &[false, true], &rows);
    let bars: Vec<Bar> = f
        .response
        .iter()
        .map(|(l, r)| Bar {
            label: level_text(l).to_string(),
            length: match r.within_due {
                Share::Shown(x) => Some(x),
                _ => None,
            },
            text: share_text(r.within_due, min),
            fill: Fill::for_level(l),
        })
        .collect();
    p.pair(table, chart("due", "Share of alerts closed within the due time", &bars, Some(1.0)));

    p.h2("Escalations");
    let t = p.table(&["Measure", "Value"], &[false, true], &super::escalation_rows(f, min));
    p.push(t);

    p.h2("Open and overdue at the end of the period");
    let mut rows: Vec<Vec<String>> = f
        .open_by_level
        .iter()
        .map(|(l, c)| vec![level_text(l).to_string(), count_text(*c), count_text(*f.overdue_by_level.get(l))])
        .collect();
    rows.push(vec!["All".into(), count_text(f.open_at_end), count_text(f.overdue_at_end)]);
    let t = p.table(&["Level", "Open", "Overdue"], &[false, true, true], &rows);
    p.push(t);
    p.push("<p>Every case raised before the end of the period counts here, whenever it was raised.</p>");

    if let Some(staff) = &f.staff {
        p.h2("Alerts about staff (DSL only)");
        let mut rows = vec![vec!["All".to_string(), count_text(staff.total), count_text(staff.previous_total)]];
        rows.extend(staff.by_level.iter().map(|(l, c)| vec![level_text(l).to_string(), count_text(*c), String::new()]));
        let t = p.table(&["Level", "This period", "Previous period"], &[false, true, true], &rows);
        p.push(t);
        p.push("<p>Counts only. These alerts are in no other figure of this report.</p>");
    }

    p.push("<footer><h2>Notes</h2><ul>");
    for n in notes(f) {
        p.push(format!("<li>{}</li>", esc(&n)));
    }
    p.push("</ul></footer>");
    p.push("</body>");
    p.push("</html>");
    p.out
}
