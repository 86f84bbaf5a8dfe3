//! `vigil report` in every format against golden files, on a store built through the real ingest and case
//! commands (see `report_fixture`). `UPDATE_GOLDEN=1 cargo test --test report_golden` rewrites the files;
//! review the diff before committing it.

use crate::report_fixture;

use std::path::PathBuf;

use report_fixture as fx;
use vigil::identity::Role;
use vigil::report::{Count, Format, Minutes, Share, render};

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

/// Compares `actual` with the golden file, or rewrites it when `UPDATE_GOLDEN` is set.
fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    if expected != actual {
        let new = path.with_extension(format!("{}.new", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
        let _ = std::fs::write(&new, actual);
        let line = expected.lines().zip(actual.lines()).position(|(a, b)| a != b).map_or_else(
            || {
                format!(
                    "the files differ in length ({} and {} lines)",
                    expected.lines().count(),
                    actual.lines().count()
                )
            },
            |i| {
                format!(
                    "first difference at line {}:\n  golden: {}\n  actual: {}",
                    i + 1,
                    expected.lines().nth(i).unwrap_or(""),
                    actual.lines().nth(i).unwrap_or("")
                )
            },
        );
        panic!(
            "{} does not match; {line}\nthe actual output is in {}; if the change is intended, run with UPDATE_GOLDEN=1",
            path.display(),
            new.display()
        );
    }
}

const FORMATS: [(Format, &str); 4] =
    [(Format::Markdown, "md"), (Format::Html, "html"), (Format::Csv, "csv"), (Format::Json, "json")];

#[test]
fn every_format_matches_its_golden_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    // The DSL's report with staff counts: the fullest report there is.
    let f = fx::figures(&store, fx::viewer(Role::Dsl, true), true, 5);
    for (format, ext) in FORMATS {
        check_golden(&format!("report_dsl_staff.{ext}"), &render(format, &f));
    }
    // A reporter's report: no staff section.
    let f = fx::figures(&store, fx::viewer(Role::Reporter, false), false, 5);
    check_golden("report_reporter.md", &render(Format::Markdown, &f));
    // With nothing suppressed, every exact figure of the fixture is pinned down.
    let f = fx::figures(&store, fx::viewer(Role::Dsl, true), true, 1);
    check_golden("report_unsuppressed.json", &render(Format::Json, &f));
}

#[test]
fn the_figures_are_the_fixtures_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    let f = fx::figures(&store, fx::viewer(Role::Dsl, true), false, 1);
    let exact = |c: Count| c.exact().expect("exact with min_group 1");
    assert_eq!(exact(f.total), 20, "October's student alerts; staff and November left out");
    assert_eq!((exact(f.by_level.low), exact(f.by_level.medium), exact(f.by_level.high)), (10, 5, 5));
    assert_eq!((exact(f.in_hours), exact(f.out_of_hours)), (15, 5));
    assert_eq!(exact(f.previous_total), 11);
    assert_eq!((exact(f.regrades_up), exact(f.regrades_down)), (1, 1));
    assert_eq!(exact(f.closed), 15, "o19 closes only in November");
    assert_eq!(f.false_positive_share, Share::Shown(0.4));
    assert_eq!(
        f.by_delivery.iter().map(|(k, c)| (*k, exact(*c))).collect::<Vec<_>>(),
        vec![("dashboard", 9), ("email", 8), ("phone", 2), ("not-stated", 1)]
    );
    // Open at the end of October: o14, o17, o19, o20 and September's p11; o18 was withdrawn.
    assert_eq!(exact(f.open_at_end), 5);
    // The queue's rule: o17 (High) had contact recorded, so it is not overdue; o20 (Low, raised on the 30th) is
    // not due yet.
    assert_eq!(exact(f.overdue_at_end), 3, "o14, o19 and p11");
    assert_eq!(exact(f.overdue_by_level.high), 0, "o17's contact is recorded");
    // First contact: o05 8 min, o13 5 min, o16 40 min, o17 15 min, o08 640 min (next morning).
    assert_eq!(f.response.high.first_contact, Some(Minutes::Shown { median: 15, p90: 640 }));
    assert_eq!(
        f.by_category.iter().map(|(k, c)| (k.as_str(), exact(*c))).collect::<Vec<_>>(),
        vec![
            ("bullying", 7),
            ("violence", 5),
            ("vulnerable-person", 3),
            ("oversharer", 2),
            ("sexual-content", 2),
            ("grooming", 1)
        ],
        "with a minimum of 1 no category is small"
    );
}

#[test]
fn no_name_id_group_or_alert_text_appears_in_any_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    let forbidden = fx::forbidden();
    assert!(forbidden.len() > 200, "the list covers every fixture alert");
    for (role, sees_staff, include_staff) in
        [(Role::Dsl, true, true), (Role::Dsl, true, false), (Role::Ddsl, false, false), (Role::Reporter, false, false)]
    {
        for min_group in [1, 5] {
            let f = fx::figures(&store, fx::viewer(role, sees_staff), include_staff, min_group);
            for (format, _) in FORMATS {
                let text = render(format, &f);
                for s in &forbidden {
                    assert!(
                        !text.contains(s.as_str()),
                        "{s:?} appears in the {format:?} report of a {role:?} (min_group {min_group})"
                    );
                }
            }
        }
    }
}

#[test]
fn small_numbers_are_fewer_than_the_minimum_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    let f = fx::figures(&store, fx::viewer(Role::Reporter, false), false, 5);
    // One alert with an unknown location: hidden, and off-site (7) withheld so it cannot be worked out
    // from the total of 20 and on-site's 12.
    assert_eq!(
        f.by_location,
        vec![("on-site", Count::Exact(12)), ("off-site", Count::Withheld), ("unknown", Count::FewerThan(5))]
    );
    // Phone (2) and not stated (1) hide each other.
    assert_eq!(f.by_delivery[2], ("phone", Count::FewerThan(5)));
    assert_eq!(f.by_delivery[3], ("not-stated", Count::FewerThan(5)));
    // Categories under 5 are not named.
    assert_eq!(
        f.by_category,
        vec![
            ("bullying".to_string(), Count::Exact(7)),
            ("violence".to_string(), Count::Exact(5)),
            ("other".to_string(), Count::Exact(8))
        ]
    );
    // High: 5 alerts, 4 logged on CPOMS: 80% would reveal the 1 that was not.
    assert_eq!(f.recording_high.cpoms, Share::Suppressed);
    // Medium: 3 closes are fewer than 5 values.
    assert_eq!(f.response.medium.close, Minutes::Suppressed);

    let md = render(Format::Markdown, &f);
    assert!(md.contains("| Not known | fewer than 5 |"), "{md}");
    assert!(md.contains("| Off site | withheld |"));
    assert!(md.contains("| Phone call | fewer than 5 |"));
    assert!(!md.contains("grooming"), "a category of fewer than 5 is not named");
    let csv = render(Format::Csv, &f);
    assert!(csv.contains("by_location,unknown,fewer than 5\n"), "{csv}");
    assert!(csv.contains("by_location,off-site,withheld\n"));
    assert!(csv.contains("recording,high.cpoms_share,withheld\n"));
    let html = render(Format::Html, &f);
    assert!(html.contains(r#"<td class="n hidden">fewer than 5</td>"#));
    assert!(!html.contains("grooming"));

    let json: serde_json::Value = serde_json::from_str(&render(Format::Json, &f)).expect("json");
    assert_eq!(json["by_location"]["unknown"], serde_json::Value::Null);
    assert_eq!(json["by_location"]["on-site"], 12);
    let suppressed = json["suppressed"].as_array().expect("suppressed list");
    let reason = |path: &str| {
        suppressed.iter().find(|s| s["path"] == path).and_then(|s| s["reason"].as_str()).map(str::to_string)
    };
    assert_eq!(reason("/by_location/unknown").as_deref(), Some("fewer-than-min"));
    assert_eq!(reason("/by_location/off-site").as_deref(), Some("withheld"));
    assert_eq!(reason("/recording/high/cpoms_share").as_deref(), Some("would-reveal-fewer-than-min"));
    assert_eq!(reason("/response/medium/to_close/median_minutes").as_deref(), Some("fewer-than-min"));
    assert_eq!(reason("/by_location/on-site"), None);
    // Every null count or share is accounted for: null means either listed or "no data".
    for s in suppressed {
        let pointer = s["path"].as_str().expect("path");
        assert_eq!(json.pointer(pointer), Some(&serde_json::Value::Null), "{pointer}");
    }
}

#[test]
fn a_larger_minimum_hides_more() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    let f = fx::figures(&store, fx::viewer(Role::Reporter, false), false, 10);
    assert_eq!(f.total, Count::Exact(20));
    assert_eq!(f.by_level.low, Count::Exact(10));
    assert_eq!(f.by_level.medium, Count::FewerThan(10));
    assert_eq!(f.by_level.high, Count::FewerThan(10));
    assert_eq!(f.false_positive_share, Share::Suppressed, "6 of 15");
    let md = render(Format::Markdown, &f);
    assert!(md.contains("fewer than 10"));
    assert!(!md.contains("fewer than 5"));
}

#[test]
fn json_has_the_documented_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    let f = fx::figures(&store, fx::viewer(Role::Dsl, true), false, 5);
    let json: serde_json::Value = serde_json::from_str(&render(Format::Json, &f)).expect("json");
    assert_eq!(json["schema"], "vigil.report/1");
    assert_eq!(json["total"], 20);
    for level in ["low", "medium", "high"] {
        assert!(json["by_level"].get(level).is_some(), "by_level.{level}");
        let r = &json["response"][level];
        for key in ["median_minutes", "p90_minutes", "within_due_share"] {
            assert!(r.get(key).is_some(), "response.{level}.{key}");
        }
    }
    assert!(json["by_category"].is_object());
    assert_eq!(json["out_of_hours"], 5);
    assert_eq!(json["period"]["from"], "2026-10-01");
    assert_eq!(json["previous_period"]["from"], "2026-08-31");
    assert_eq!(json["previous_period"]["to"], "2026-09-30");
    assert!(json.get("staff").is_none(), "no staff key without --include-staff");
}

#[test]
fn the_html_is_self_contained_and_scriptless() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    let html = render(Format::Html, &fx::figures(&store, fx::viewer(Role::Dsl, true), true, 5));
    let lower = html.to_ascii_lowercase();
    for bad in
        ["<script", "javascript:", "http:", "https:", "//", "<link", "<img", "<iframe", "@import", " src=", "href="]
    {
        assert!(!lower.contains(bad), "the HTML report contains {bad:?}");
    }
    // url() appears only for the charts' own fill patterns.
    for (i, _) in lower.match_indices("url(") {
        assert!(lower[i..].starts_with("url(#"), "external url() at {i}");
    }
    assert!(lower.starts_with("<!doctype html>"));
    assert!(lower.contains("<svg"), "charts are inline SVG");
    assert!(lower.contains("<pattern"), "bars are told apart by pattern, not colour alone");
    assert!(html.trim_end().ends_with("</html>"));
}

/// Issue 13 item 12: a category the vendor's taxonomy does not know is never printed, however plain it looks
/// (a bridge can put a student's name there); it is counted under "other", with the small-number rule.
#[test]
fn unknown_categories_are_counted_as_other_and_never_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    let svc = fx::service(&store, fx::viewer(Role::Dsl, true));
    const HOSTILE: &str = "self-harm john smith 12b 4471";
    let alerts: Vec<serde_json::Value> = (0..6)
        .map(|i| {
            serde_json::json!({
                "id": format!("qz-u{i:02}"), "source": fx::SOURCE, "revision": 1,
                "raised_at": format!("2026-10-2{i}T10:00:00+01:00"), "risk": 2, "category": HOSTILE,
                "subject": { "kind": "student", "id": format!("STU-9900{i}") }, "summary": "s",
            })
        })
        .collect();
    let body = serde_json::json!({ "feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": "u", "more": false });
    let page = vigil::feed::protocol::parse_page(body.to_string().as_bytes()).expect("page");
    svc.ingest(&page, fx::at("2026-10-27T10:00:00+00:00")).expect("ingest");
    for min_group in [1, 5] {
        let f = fx::figures(&store, fx::viewer(Role::Dsl, true), true, min_group);
        assert!(f.by_category.iter().all(|(k, _)| k != HOSTILE), "{:?}", f.by_category);
        let other = f.by_category.iter().find(|(k, _)| k == "other").map(|(_, c)| *c);
        if min_group == 1 {
            assert_eq!(other, Some(Count::Exact(6)), "the six unknown ones, and nothing else, are other");
        } else {
            assert!(matches!(other, Some(Count::Exact(n)) if n >= 6), "{other:?}");
        }
        for (format, _) in FORMATS {
            let text = render(format, &f);
            for word in ["john", "smith", "4471", "12b"] {
                assert!(
                    !text.to_lowercase().contains(word),
                    "{word:?} in the {format:?} report (min_group {min_group})"
                );
            }
        }
    }
}
