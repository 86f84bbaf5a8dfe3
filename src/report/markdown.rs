//! The Markdown report: headings and tables, for reading as text or pasting into minutes.

use super::figures::{Count, Figures, PerLevel};
use super::{change_text, count_text, date_text, level_text, month_text, notes, outcome_text, share_text};
use crate::domain::Level;

/// Text in a table cell: nothing in it may open a link, an image or a new cell.
fn cell(s: &str) -> String {
    crate::domain::inert::line(s)
        .chars()
        .flat_map(|c| match c {
            '|' | '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' | '!' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

struct Doc {
    out: String,
}

impl Doc {
    fn line(&mut self, s: impl AsRef<str>) {
        self.out.push_str(s.as_ref());
        self.out.push('\n');
    }

    fn heading(&mut self, s: &str) {
        self.line("");
        self.line(format!("## {s}"));
        self.line("");
    }

    fn table(&mut self, head: &[&str], right: &[bool], rows: &[Vec<String>]) {
        self.line(format!("| {} |", head.join(" | ")));
        let rule: Vec<&str> = right.iter().map(|&r| if r { "---:" } else { "---" }).collect();
        self.line(format!("| {} |", rule.join(" | ")));
        for row in rows {
            self.line(format!("| {} |", row.join(" | ")));
        }
    }

    fn counts(&mut self, first: &str, rows: &[(String, Count)]) {
        let rows: Vec<Vec<String>> = rows.iter().map(|(k, c)| vec![cell(k), count_text(*c)]).collect();
        self.table(&[first, "Alerts"], &[false, true], &rows);
    }
}

fn level_rows(by: &PerLevel<Count>) -> Vec<(String, Count)> {
    by.iter().map(|(l, c)| (level_text(l).to_string(), *c)).collect()
}

pub fn render(f: &Figures) -> String {
    let mut d = Doc { out: String::new() };
    let min = f.min_group;
    d.line("# Monitoring alerts report");
    d.line("");
    d.line(format!(
        "**Period:** {} to {} ({} days, {}).  ",
        date_text(f.period.from),
        date_text(f.period.to),
        f.period.days(),
        f.time_zone
    ));
    d.line(format!("**Compared with:** {} to {}.  ", date_text(f.previous.from), date_text(f.previous.to)));
    d.line(format!("**Figures as at:** {}.", f.as_of.with_timezone(&f.time_zone).format("%-d %B %Y %H:%M %Z")));
    d.line("");
    d.line(format!(
        "No person is identified in this report. Counts from 1 to {} are shown as \"fewer than {min}\".",
        min.saturating_sub(1).max(1)
    ));

    d.heading("Summary");
    let mut rows = vec![vec![
        "Alerts".to_string(),
        count_text(f.total),
        count_text(f.previous_total),
        change_text(f.total, f.previous_total),
    ]];
    for (l, c) in f.by_level.iter() {
        let before = *f.previous_by_level.get(l);
        rows.push(vec![
            format!("{} level", level_text(l)),
            count_text(*c),
            count_text(before),
            change_text(*c, before),
        ]);
    }
    d.table(&["Figure", "This period", "Previous period", "Change"], &[false, true, true, false], &rows);
    d.line("");
    let summary = [
        ("Raised out of working hours", count_text(f.out_of_hours)),
        ("Closed as a false positive", share_text(f.false_positive_share, min)),
        ("Open at the end of the period", count_text(f.open_at_end)),
        ("Overdue at the end of the period", count_text(f.overdue_at_end)),
    ];
    let rows: Vec<Vec<String>> = summary.into_iter().map(|(k, v)| vec![k.to_string(), v]).collect();
    d.table(&["Figure", "Value"], &[false, true], &rows);

    d.heading("Alerts by level");
    d.counts("Level", &level_rows(&f.by_level));

    d.heading("Alerts by category");
    d.counts("Category", &f.by_category);

    d.heading("Alerts by month");
    let months: Vec<(String, Count)> = f.by_month.iter().map(|(k, c)| (month_text(k), *c)).collect();
    d.counts("Month", &months);

    d.heading("Where and when");
    let mut rows: Vec<(String, Count)> = f.by_location.iter().map(|(k, c)| (site_text(k).to_string(), *c)).collect();
    d.counts("Device location", &rows);
    d.line("");
    rows = vec![("In working hours".into(), f.in_hours), ("Out of working hours".into(), f.out_of_hours)];
    d.counts("Raised", &rows);
    d.line("");
    rows = f.by_delivery.iter().map(|(k, c)| (delivery_text(k).to_string(), *c)).collect();
    d.counts("Delivered by", &rows);

    d.heading("Regrades");
    rows = vec![("Up (more serious)".into(), f.regrades_up), ("Down (less serious)".into(), f.regrades_down)];
    let rows: Vec<Vec<String>> = rows.iter().map(|(k, c)| vec![k.clone(), count_text(*c)]).collect();
    d.table(&["Regrade", "Count"], &[false, true], &rows);

    d.heading("Repeat alerts");
    d.line(format!("Students with more than one alert in the period: {}.", count_text(f.repeat_subjects)));

    d.heading("Outcomes");
    d.line(format!(
        "Cases closed: {}. Closed as a false positive: {}.",
        count_text(f.closed),
        share_text(f.false_positive_share, min)
    ));
    d.line("");
    if f.outcomes.is_empty() {
        d.line("No case raised in the period had closed by its end.");
    } else {
        let rows: Vec<Vec<String>> = f
            .outcomes
            .iter()
            .map(|(id, by)| {
                let mut row = vec![cell(&outcome_text(id))];
                row.extend(Level::ALL.iter().map(|l| count_text(*by.get(*l))));
                row
            })
            .collect();
        d.table(&["Outcome", "High", "Medium", "Low"], &[false, true, true, true], &rows);
    }

    d.heading("Recording (Medium and High)");
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
    d.table(&["Level", "Logged on CPOMS", "Student tracking note"], &[false, true, true], &rows);

    d.heading("Response times");
    let rows = super::response_rows(f, min);
    d.table(&["Level", "Measure", "Median", "90th percentile"], &[false, false, true, true], &rows);
    d.line("");
    let rows: Vec<Vec<String>> =
        f.response.iter().map(|(l, r)| vec![level_text(l).to_string(), share_text(r.within_due, min)]).collect();
    d.table(&["Level", "Closed within the due time"], &[false, true], &rows);

    d.heading("Escalations");
    d.table(&["Measure", "Value"], &[false, true], &super::escalation_rows(f, min));

    d.heading("Open and overdue at the end of the period");
    let mut rows: Vec<Vec<String>> = f
        .open_by_level
        .iter()
        .map(|(l, c)| vec![level_text(l).to_string(), count_text(*c), count_text(*f.overdue_by_level.get(l))])
        .collect();
    rows.push(vec!["All".into(), count_text(f.open_at_end), count_text(f.overdue_at_end)]);
    d.table(&["Level", "Open", "Overdue"], &[false, true, true], &rows);
    d.line("");
    d.line("Open and overdue count every case raised before the end of the period, whenever it was raised.");

    if let Some(staff) = &f.staff {
        d.heading("Alerts about staff (DSL only)");
        let mut rows: Vec<Vec<String>> =
            vec![vec!["All".to_string(), count_text(staff.total), count_text(staff.previous_total)]];
        rows.extend(staff.by_level.iter().map(|(l, c)| vec![level_text(l).to_string(), count_text(*c), String::new()]));
        d.table(&["Level", "This period", "Previous period"], &[false, true, true], &rows);
        d.line("");
        d.line("Counts only. These alerts are in no other figure of this report.");
    }

    d.heading("Notes");
    for n in notes(f) {
        d.line(format!("- {n}"));
    }
    let trimmed = d.out.trim_end().len();
    d.out.truncate(trimmed);
    d.out.push('\n');
    d.out
}

pub(crate) fn site_text(key: &str) -> &str {
    match key {
        "on-site" => "On site",
        "off-site" => "Off site",
        "unknown" => "Not known",
        other => other,
    }
}

pub(crate) fn delivery_text(key: &str) -> &str {
    match key {
        "dashboard" => "Dashboard",
        "email" => "Email",
        "phone" => "Phone call",
        "not-stated" => "Not stated",
        other => other,
    }
}
