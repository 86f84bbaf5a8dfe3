//! Who may run a report, and what of staff alerts each role's report holds: `Session::report_data` is
//! the reporter's only read, returns nothing that names anyone, and returns staff alerts only to the DSL who
//! asks for them, and then only as counts.

use crate::report_fixture;

use report_fixture as fx;
use vigil::identity::Role;
use vigil::report::{Count, Format, render};
use vigil::service::ServiceError;

const ROLES: [(Role, bool); 6] = [
    (Role::Dsl, true),
    (Role::Ddsl, false),
    // A deputy named under [roles] staff_alerts sees staff alerts in the queue, but not in a report.
    (Role::Ddsl, true),
    (Role::Officer, false),
    (Role::Officer, true),
    (Role::Reporter, false),
];

#[test]
fn a_reporter_may_report_and_do_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    let svc = fx::service(&store, fx::viewer(Role::Reporter, false));
    assert!(matches!(svc.queue(fx::now()), Err(ServiceError::Forbidden("reporter"))));
    assert!(matches!(svc.find("qz-o01"), Err(ServiceError::Forbidden(_))));
    let key = vigil::domain::AlertKey::new(fx::SOURCE, "qz-o01");
    assert!(matches!(svc.detail(&key, fx::now()), Err(ServiceError::Forbidden(_))));
    assert!(matches!(svc.mark_viewed(&key, fx::now()), Err(ServiceError::Forbidden(_))));
    let data = svc.report_data(false).expect("a reporter may read report data");
    assert!(data.staff.is_none());
    assert_eq!(data.cases.len(), 32, "every student alert, whatever its period");
}

#[test]
fn only_the_dsl_may_ask_for_staff_alerts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    for (role, sees_staff) in ROLES {
        let svc = fx::service(&store, fx::viewer(role, sees_staff));
        let with = svc.report_data(true);
        if role == Role::Dsl {
            assert_eq!(with.expect("the DSL may").staff.map(|s| s.len()), Some(3));
        } else {
            assert!(
                matches!(with, Err(ServiceError::Forbidden(r)) if r == role.as_str()),
                "{role:?} (sees_staff {sees_staff}) must be refused --include-staff"
            );
        }
        let without = svc.report_data(false).expect("every role may report");
        assert!(without.staff.is_none(), "{role:?}: no staff data unless asked");
        assert!(without.cases.iter().all(|(a, _, _)| !a.is_staff()), "{role:?}: staff alerts are never cases");
    }
}

#[test]
fn staff_appear_only_in_a_dsl_report_with_include_staff_and_only_as_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    for (role, sees_staff) in ROLES {
        for min_group in [1, 5] {
            let f = fx::figures(&store, fx::viewer(role, sees_staff), false, min_group);
            assert!(f.staff.is_none());
            assert_eq!(f.total, Count::Exact(20), "{role:?}: staff alerts are not in the student figures");
            for format in [Format::Markdown, Format::Html, Format::Csv, Format::Json] {
                let text = render(format, &f).to_lowercase();
                assert!(!text.contains("staff,") && !text.contains("\"staff\""), "{role:?} {format:?}");
                assert!(!text.contains("about staff"), "{role:?} {format:?}");
            }
        }
    }
    let f = fx::figures(&store, fx::viewer(Role::Dsl, true), true, 5);
    let staff = f.staff.expect("the DSL asked");
    assert_eq!(staff.total, Count::FewerThan(5), "2 staff alerts in October");
    assert_eq!(staff.previous_total, Count::FewerThan(5));
    assert_eq!(f.total, Count::Exact(20), "still not in the student figures");
    let f = fx::figures(&store, fx::viewer(Role::Dsl, true), true, 1);
    let staff = f.staff.expect("the DSL asked");
    assert_eq!((staff.total, staff.previous_total), (Count::Exact(2), Count::Exact(1)));
    assert_eq!(
        (staff.by_level.medium, staff.by_level.low, staff.by_level.high),
        (Count::Exact(1), Count::Exact(1), Count::Exact(0))
    );
    let md = render(Format::Markdown, &f);
    assert!(md.contains("## Alerts about staff (DSL only)"));
    // Counts only: no category of a staff alert (the fixture's are all `offensive-user`) appears.
    assert!(!md.contains("offensive-user"));
}

#[test]
fn report_data_carries_nothing_that_names_anyone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    let forbidden = fx::forbidden();
    for (role, sees_staff) in ROLES {
        let include = role == Role::Dsl;
        let data = fx::service(&store, fx::viewer(role, sees_staff)).report_data(include).expect("report data");
        let dump = format!("{data:?}");
        for s in &forbidden {
            // Alert ids stay (they key the cases), but nothing about the person or the content does.
            if s.starts_with("qz-") {
                continue;
            }
            assert!(!dump.contains(s.as_str()), "{s:?} leaves the service in a {role:?}'s report data");
        }
        // The one checklist value kept is a High contact time, normalised to HH:MM.
        for (_, case, _) in &data.cases {
            for (item, state) in &case.done {
                assert!(state.note.is_none() && state.actor.is_empty(), "{item}");
                if let Some(v) = &state.value {
                    assert_eq!(item, "high-contact-time");
                    assert!(chrono::NaiveTime::parse_from_str(v, "%H:%M").is_ok(), "{v}");
                }
            }
        }
    }
}

#[test]
fn a_reporters_report_is_the_dsls_without_staff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = fx::build(dir.path());
    let f_dsl = fx::figures(&store, fx::viewer(Role::Dsl, true), false, 5);
    let f_reporter = fx::figures(&store, fx::viewer(Role::Reporter, false), false, 5);
    assert_eq!(f_dsl, f_reporter);
}
