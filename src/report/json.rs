//! `vigil report --format json`: schema `vigil.report/1`.
//!
//! ```text
//! {
//!   "schema": "vigil.report/1",
//!   "period":          { "from": "2026-10-01", "to": "2026-10-31", "days": 31, "time_zone": "Europe/London",
//!                        "as_of": "2026-11-01T00:00:00Z" },
//!   "previous_period": { "from": ..., "to": ..., "days": ... },
//!   "min_group": 5,
//!   "total": 20,
//!   "by_level":    { "low": 9, "medium": 6, "high": 5 },
//!   "by_category": { "bullying": 6, ..., "other": 5 },        // small categories are added up under "other"
//!   "by_month":    { "2026-10": 20 },
//!   "by_location": { "on-site": ..., "off-site": ..., "unknown": ... },
//!   "in_hours": 14, "out_of_hours": 6,
//!   "by_delivery": { "dashboard": ..., "email": ..., "phone": ..., "not-stated": ... },
//!   "regrades":    { "up": ..., "down": ... },
//!   "repeat_subjects": 3,                                     // students with more than one alert
//!   "closed": 12,
//!   "outcomes":    { "low": { "<outcome id>": n, ... }, "medium": {...}, "high": {...} },
//!   "false_positive_share": 0.417,
//!   "recording":   { "medium": { "cpoms_share": ..., "tracking_note_share": ... }, "high": {...} },
//!   "response": {
//!     "low":  { "median_minutes": ..., "p90_minutes": ..., "within_due_share": ...,
//!               "to_close": { "median_minutes": ..., "p90_minutes": ... } },
//!     "medium": { ... },
//!     "high": { ..., "to_first_contact": { "median_minutes": ..., "p90_minutes": ... } }
//!   },
//!   "escalation": { "cases", "until_opened": { "median_minutes", "longest_minutes" } },
//!   "end_of_period": { "as_of": ..., "open": { "total", "low", "medium", "high" }, "overdue": { ... } },
//!   "trend": { "previous_total": 12, "previous_by_level": {...}, "total_change": 8 },
//!   "staff": { "total": ..., "by_level": {...}, "previous_total": ... },   // DSL with --include-staff only
//!   "suppressed": [ { "path": "/by_level/high", "reason": "fewer-than-min" }, ... ]
//! }
//! ```
//!
//! - Counts are integers. A count that is not published is `null`, and its JSON Pointer (RFC 6901) is listed
//!   in `suppressed` with the reason `fewer-than-min` (from 1 to `min_group - 1`) or `withheld` (larger, but
//!   hidden so that a smaller count cannot be worked out from a total).
//! - Shares are fractions from 0 to 1, rounded to three decimals. `null` and listed in `suppressed` (reason
//!   `would-reveal-fewer-than-min`) when withheld; `null` and *not* listed when there was nothing to divide
//!   by.
//! - `median_minutes` and `p90_minutes` (at the top of each level) are raise to first view, in whole elapsed
//!   minutes; `to_close` and `to_first_contact` likewise. `null` and listed (reason `fewer-than-min`) when
//!   there are fewer values than `min_group`; `null` and not listed when there are none.
//! - `total_change` is this period's total minus the previous one's, or `null` unless both are published.

use serde_json::{Map, Value, json};

use super::change;
use super::figures::{Count, Figures, Minutes, PerLevel, Share};

pub const SCHEMA: &str = "vigil.report/1";

/// Builds the JSON value, recording every suppressed path as it goes.
struct Builder {
    suppressed: Vec<Value>,
}

/// RFC 6901: `~` and `/` in a key are escaped.
fn pointer_part(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Builder {
    fn note(&mut self, path: &str, reason: &str) {
        self.suppressed.push(json!({ "path": path, "reason": reason }));
    }

    fn count(&mut self, path: &str, c: Count) -> Value {
        match c {
            Count::Exact(n) => json!(n),
            Count::FewerThan(_) => {
                self.note(path, "fewer-than-min");
                Value::Null
            }
            Count::Withheld => {
                self.note(path, "withheld");
                Value::Null
            }
        }
    }

    fn share(&mut self, path: &str, s: Share) -> Value {
        match s {
            Share::Shown(f) => json!((f * 1000.0).round() / 1000.0),
            Share::NoData => Value::Null,
            Share::Suppressed => {
                self.note(path, "would-reveal-fewer-than-min");
                Value::Null
            }
        }
    }

    fn minutes(&mut self, path: &str, m: Minutes) -> (Value, Value) {
        match m {
            Minutes::Shown { median, p90 } => (json!(median), json!(p90)),
            Minutes::NoData => (Value::Null, Value::Null),
            Minutes::Suppressed => {
                self.note(&format!("{path}/median_minutes"), "fewer-than-min");
                self.note(&format!("{path}/p90_minutes"), "fewer-than-min");
                (Value::Null, Value::Null)
            }
        }
    }

    fn minutes_object(&mut self, path: &str, m: Minutes) -> Value {
        let (median, p90) = self.minutes(path, m);
        json!({ "median_minutes": median, "p90_minutes": p90 })
    }

    fn levels(&mut self, path: &str, by: &PerLevel<Count>) -> Value {
        json!({
            "low": self.count(&format!("{path}/low"), by.low),
            "medium": self.count(&format!("{path}/medium"), by.medium),
            "high": self.count(&format!("{path}/high"), by.high),
        })
    }

    fn keyed<K: AsRef<str>>(&mut self, path: &str, rows: &[(K, Count)]) -> Value {
        let mut m = Map::new();
        for (k, c) in rows {
            let k = k.as_ref();
            m.insert(k.to_string(), self.count(&format!("{path}/{}", pointer_part(k)), *c));
        }
        Value::Object(m)
    }
}

pub fn to_value(f: &Figures) -> Value {
    let mut b = Builder { suppressed: Vec::new() };
    let mut outcomes = Map::new();
    for level in ["low", "medium", "high"] {
        let mut m = Map::new();
        for (id, by) in &f.outcomes {
            let c = match level {
                "low" => by.low,
                "medium" => by.medium,
                _ => by.high,
            };
            m.insert(id.clone(), b.count(&format!("/outcomes/{level}/{}", pointer_part(id)), c));
        }
        outcomes.insert(level.to_string(), Value::Object(m));
    }
    let mut response = Map::new();
    for (level, r) in [("low", &f.response.low), ("medium", &f.response.medium), ("high", &f.response.high)] {
        let path = format!("/response/{level}");
        let (median, p90) = b.minutes(&path, r.first_view);
        let mut m = Map::new();
        m.insert("median_minutes".into(), median);
        m.insert("p90_minutes".into(), p90);
        m.insert("within_due_share".into(), b.share(&format!("{path}/within_due_share"), r.within_due));
        m.insert("to_close".into(), b.minutes_object(&format!("{path}/to_close"), r.close));
        if let Some(contact) = r.first_contact {
            m.insert("to_first_contact".into(), b.minutes_object(&format!("{path}/to_first_contact"), contact));
        }
        response.insert(level.to_string(), Value::Object(m));
    }
    let (median, longest) = match f.escalation.until_opened {
        crate::report::figures::MedianLongest::Shown { median, longest } => (json!(median), json!(longest)),
        crate::report::figures::MedianLongest::NoData => (Value::Null, Value::Null),
        crate::report::figures::MedianLongest::Suppressed => {
            b.note("/escalation/until_opened/median_minutes", "fewer-than-min");
            b.note("/escalation/until_opened/longest_minutes", "fewer-than-min");
            (Value::Null, Value::Null)
        }
    };
    let escalation = json!({
        "cases": b.count("/escalation/cases", f.escalation.cases),
        "until_opened": { "median_minutes": median, "longest_minutes": longest },
    });
    let mut v = json!({
        "schema": SCHEMA,
        "period": {
            "from": f.period.from.to_string(),
            "to": f.period.to.to_string(),
            "days": f.period.days(),
            "time_zone": f.time_zone.name(),
            "as_of": f.as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        },
        "previous_period": {
            "from": f.previous.from.to_string(),
            "to": f.previous.to.to_string(),
            "days": f.previous.days(),
        },
        "min_group": f.min_group,
        "total": b.count("/total", f.total),
        "by_level": b.levels("/by_level", &f.by_level),
        "by_category": b.keyed("/by_category", &f.by_category),
        "by_month": b.keyed("/by_month", &f.by_month),
        "by_location": b.keyed("/by_location", &f.by_location),
        "in_hours": b.count("/in_hours", f.in_hours),
        "out_of_hours": b.count("/out_of_hours", f.out_of_hours),
        "by_delivery": b.keyed("/by_delivery", &f.by_delivery),
        "regrades": {
            "up": b.count("/regrades/up", f.regrades_up),
            "down": b.count("/regrades/down", f.regrades_down),
        },
        "repeat_subjects": b.count("/repeat_subjects", f.repeat_subjects),
        "closed": b.count("/closed", f.closed),
        "outcomes": Value::Object(outcomes),
        "false_positive_share": b.share("/false_positive_share", f.false_positive_share),
        "recording": {
            "medium": {
                "cpoms_share": b.share("/recording/medium/cpoms_share", f.recording_medium.cpoms),
                "tracking_note_share": b.share("/recording/medium/tracking_note_share", f.recording_medium.tracking_note),
            },
            "high": {
                "cpoms_share": b.share("/recording/high/cpoms_share", f.recording_high.cpoms),
                "tracking_note_share": b.share("/recording/high/tracking_note_share", f.recording_high.tracking_note),
            },
        },
        "response": Value::Object(response),
        "escalation": escalation,
        "end_of_period": {
            "as_of": f.as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "open": {
                "total": b.count("/end_of_period/open/total", f.open_at_end),
                "low": b.count("/end_of_period/open/low", f.open_by_level.low),
                "medium": b.count("/end_of_period/open/medium", f.open_by_level.medium),
                "high": b.count("/end_of_period/open/high", f.open_by_level.high),
            },
            "overdue": {
                "total": b.count("/end_of_period/overdue/total", f.overdue_at_end),
                "low": b.count("/end_of_period/overdue/low", f.overdue_by_level.low),
                "medium": b.count("/end_of_period/overdue/medium", f.overdue_by_level.medium),
                "high": b.count("/end_of_period/overdue/high", f.overdue_by_level.high),
            },
        },
        "trend": {
            "previous_total": b.count("/trend/previous_total", f.previous_total),
            "previous_by_level": b.levels("/trend/previous_by_level", &f.previous_by_level),
            "total_change": change(f.total, f.previous_total),
        },
    });
    if let (Some(staff), Value::Object(m)) = (&f.staff, &mut v) {
        let s = json!({
            "total": b.count("/staff/total", staff.total),
            "by_level": b.levels("/staff/by_level", &staff.by_level),
            "previous_total": b.count("/staff/previous_total", staff.previous_total),
        });
        m.insert("staff".into(), s);
    }
    if let Value::Object(m) = &mut v {
        m.insert("suppressed".into(), Value::Array(b.suppressed));
    }
    v
}

pub fn render(f: &Figures) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(f)).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
