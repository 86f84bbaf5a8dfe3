//! `vigil report --format csv`: one metric per row, `section,key,value`, for a spreadsheet.
//!
//! Values: a count or a number of minutes is an integer; a share is a fraction from 0 to 1 with three
//! decimals; dates are `YYYY-MM-DD`. A count that is not published reads `fewer than N` or `withheld` (see
//! [`super::figures`]), a share or response time that is not published reads `withheld`, and a figure with
//! nothing to measure is empty. Keys of per-level figures are `level.measure`, e.g. `high.first_view.median`.
//! Fields are quoted when they contain a comma, a quote or a line break, and a field that starts with
//! `=`, `+`, `-` or `@` (which a spreadsheet would run as a formula) is prefixed with `'`, except numbers.

use super::change;
use super::count_text;
use super::figures::{Count, Figures, Minutes, Share};

fn field(s: &str) -> String {
    let is_number = s.parse::<f64>().is_ok();
    let s = if !is_number && s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

struct Rows {
    out: String,
}

impl Rows {
    fn row(&mut self, section: &str, key: &str, value: impl AsRef<str>) {
        let line = [section, key, value.as_ref()].map(field).join(",");
        self.out.push_str(&line);
        self.out.push('\n');
    }

    fn count(&mut self, section: &str, key: &str, c: Count) {
        self.row(section, key, count_text(c));
    }

    fn share(&mut self, section: &str, key: &str, s: Share) {
        let v = match s {
            Share::Shown(f) => format!("{:.3}", (f * 1000.0).round() / 1000.0),
            Share::Suppressed => "withheld".into(),
            Share::NoData => String::new(),
        };
        self.row(section, key, v);
    }

    fn minutes(&mut self, section: &str, key: &str, m: Minutes) {
        let (median, p90) = match m {
            Minutes::Shown { median, p90 } => (median.to_string(), p90.to_string()),
            Minutes::Suppressed => ("withheld".into(), "withheld".into()),
            Minutes::NoData => (String::new(), String::new()),
        };
        self.row(section, &format!("{key}.median_minutes"), median);
        self.row(section, &format!("{key}.p90_minutes"), p90);
    }
}

pub fn render(f: &Figures) -> String {
    let mut r = Rows { out: String::new() };
    r.row("section", "key", "value");
    r.row("period", "from", f.period.from.to_string());
    r.row("period", "to", f.period.to.to_string());
    r.row("period", "days", f.period.days().to_string());
    r.row("period", "time_zone", f.time_zone.name());
    r.row("period", "as_of", f.as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    r.row("previous_period", "from", f.previous.from.to_string());
    r.row("previous_period", "to", f.previous.to.to_string());
    r.row("settings", "min_group", f.min_group.to_string());
    r.count("alerts", "total", f.total);
    for (l, c) in f.by_level.iter() {
        r.count("by_level", l.as_str(), *c);
    }
    for (k, c) in &f.by_category {
        r.count("by_category", k, *c);
    }
    for (k, c) in &f.by_month {
        r.count("by_month", k, *c);
    }
    for (k, c) in &f.by_location {
        r.count("by_location", k, *c);
    }
    r.count("hours", "in_hours", f.in_hours);
    r.count("hours", "out_of_hours", f.out_of_hours);
    for (k, c) in &f.by_delivery {
        r.count("by_delivery", k, *c);
    }
    r.count("regrades", "up", f.regrades_up);
    r.count("regrades", "down", f.regrades_down);
    r.count("subjects", "repeat", f.repeat_subjects);
    r.count("outcomes", "closed", f.closed);
    r.share("outcomes", "false_positive_share", f.false_positive_share);
    for (id, by) in &f.outcomes {
        for (l, c) in by.iter() {
            r.count("outcomes", &format!("{}.{id}", l.as_str()), *c);
        }
    }
    r.share("recording", "medium.cpoms_share", f.recording_medium.cpoms);
    r.share("recording", "medium.tracking_note_share", f.recording_medium.tracking_note);
    r.share("recording", "high.cpoms_share", f.recording_high.cpoms);
    r.share("recording", "high.tracking_note_share", f.recording_high.tracking_note);
    for (l, resp) in f.response.iter() {
        let l = l.as_str();
        r.minutes("response", &format!("{l}.first_view"), resp.first_view);
        if let Some(contact) = resp.first_contact {
            r.minutes("response", &format!("{l}.first_contact"), contact);
        }
        r.minutes("response", &format!("{l}.close"), resp.close);
        r.share("response", &format!("{l}.within_due_share"), resp.within_due);
    }
    r.count("escalation", "cases", f.escalation.cases);
    let (median, longest) = match f.escalation.until_opened {
        crate::report::figures::MedianLongest::Shown { median, longest } => (median.to_string(), longest.to_string()),
        crate::report::figures::MedianLongest::Suppressed => ("withheld".into(), "withheld".into()),
        crate::report::figures::MedianLongest::NoData => (String::new(), String::new()),
    };
    r.row("escalation", "until_opened.median_minutes", median);
    r.row("escalation", "until_opened.longest_minutes", longest);
    r.count("end_of_period", "open.total", f.open_at_end);
    for (l, c) in f.open_by_level.iter() {
        r.count("end_of_period", &format!("open.{}", l.as_str()), *c);
    }
    r.count("end_of_period", "overdue.total", f.overdue_at_end);
    for (l, c) in f.overdue_by_level.iter() {
        r.count("end_of_period", &format!("overdue.{}", l.as_str()), *c);
    }
    r.count("trend", "previous_total", f.previous_total);
    for (l, c) in f.previous_by_level.iter() {
        r.count("trend", &format!("previous.{}", l.as_str()), *c);
    }
    r.row("trend", "total_change", change(f.total, f.previous_total).map(|d| d.to_string()).unwrap_or_default());
    if let Some(staff) = &f.staff {
        r.count("staff", "total", staff.total);
        for (l, c) in staff.by_level.iter() {
            r.count("staff", l.as_str(), *c);
        }
        r.count("staff", "previous_total", staff.previous_total);
    }
    r.out
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(field("-3"), "-3");
    }
}
