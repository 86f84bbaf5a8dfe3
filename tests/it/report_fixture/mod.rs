//! A fictional store for the report tests, built only through the real paths: protocol v1 pages parsed with
//! `parse_page`, ingested by `Session::ingest`, then decisions through `Session::act` and
//! `mark_viewed`, all at fixed times. Every name, ID, group and text below is invented.
//!
//! September 2026 (the previous period of an October report): 11 student alerts and 1 staff alert.
//! October 2026: 20 student alerts (10 Low, 5 Medium, 5 High as at the end of the month) and 2 staff alerts,
//! including out-of-hours alerts, phone deliveries, a revision, a withdrawal, regrades up and down, an
//! illegal-content case left open, and a case closed only in November. One alert is raised in November.
#![allow(dead_code)]

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use vigil::domain::calendar::{DuePolicy, WorkingCalendar};
use vigil::domain::case::CaseCommand;
use vigil::domain::checklist::{ItemKind, Templates};
use vigil::domain::levels::LevelPolicy;
use vigil::domain::{AlertKey, Level};
use vigil::feed::protocol::parse_page;
use vigil::identity::{Role, Viewer};
use vigil::report::{Figures, Options, Period, compute};
use vigil::store::{Store, StoreKey};

pub const SOURCE: &str = "smoothwall-monitor";

/// Checklist values the fixture writes. None of them may reach a report.
pub const NOTE_TEXT: &str = "Spoke with the tutor Quillon about the Brackenfold incident";
pub const CPOMS_REF: &str = "CPOMS-88231-ZX";
pub const PERSON: &str = "Mx Tamsin Ollerby";
pub const REASON: &str = "Wording matched the Harrowgate rota complaint";

/// What happens to one alert after it arrives. Minutes are counted from the raise.
#[derive(Clone, Copy, Default)]
pub struct Plan {
    pub view: Option<i64>,
    pub regrade: Option<(Level, i64)>,
    /// The `high-contact-time` value, ticked 20 minutes after the view.
    pub contact: Option<&'static str>,
    pub close: Option<(&'static str, i64)>,
    /// Items ticked 5 minutes after the view on a case left open.
    pub ticks: &'static [&'static str],
}

pub struct Fx {
    pub id: &'static str,
    pub raised: &'static str,
    pub risk: u8,
    pub category: &'static str,
    pub delivery: Option<&'static str>,
    pub location: &'static str,
    pub staff: bool,
    pub plan: Plan,
}

const fn fx(
    id: &'static str,
    raised: &'static str,
    risk: u8,
    category: &'static str,
    delivery: Option<&'static str>,
    location: &'static str,
    plan: Plan,
) -> Fx {
    Fx { id, raised, risk, category, delivery, location, staff: false, plan }
}

const fn closed(view: i64, outcome: &'static str, at: i64) -> Plan {
    Plan { view: Some(view), regrade: None, contact: None, close: Some((outcome, at)), ticks: &[] }
}

const fn high(view: i64, contact: &'static str, outcome: &'static str, at: i64) -> Plan {
    Plan { view: Some(view), regrade: None, contact: Some(contact), close: Some((outcome, at)), ticks: &[] }
}

const fn regraded(view: i64, to: Level, when: i64, outcome: &'static str, at: i64) -> Plan {
    Plan { view: Some(view), regrade: Some((to, when)), contact: None, close: Some((outcome, at)), ticks: &[] }
}

const fn open(view: Option<i64>, ticks: &'static [&'static str]) -> Plan {
    Plan { view, regrade: None, contact: None, close: None, ticks }
}

const E: Option<&str> = Some("email");
const D: Option<&str> = Some("dashboard");
const P: Option<&str> = Some("phone");

pub const FP: &str = "false-positive";

pub fn alerts() -> Vec<Fx> {
    let mut v = vec![
        // ---- September (previous period) ----
        fx("qz-p01", "2026-09-01T10:00:00+01:00", 2, "bullying", E, "on-site", closed(15, FP, 40)),
        fx("qz-p02", "2026-09-02T11:00:00+01:00", 3, "violence", D, "on-site", closed(10, "followed-up-closed", 1400)),
        fx("qz-p03", "2026-09-03T19:00:00+01:00", 1, "oversharer", D, "off-site", closed(830, FP, 860)),
        fx(
            "qz-p04",
            "2026-09-07T09:45:00+01:00",
            5,
            "vulnerable-person",
            P,
            "off-site",
            high(4, "09:55", "support-referral", 200),
        ),
        fx("qz-p05", "2026-09-08T14:30:00+01:00", 2, "bullying", D, "on-site", closed(20, "no-further-action", 60)),
        fx("qz-p06", "2026-09-10T10:10:00+01:00", 4, "bullying", E, "on-site", closed(12, "behaviour-contract", 1300)),
        fx("qz-p07", "2026-09-14T13:00:00+01:00", 1, "violence", D, "on-site", closed(10, FP, 30)),
        fx(
            "qz-p08",
            "2026-09-17T15:20:00+01:00",
            2,
            "sexual-content",
            E,
            "on-site",
            closed(30, "referred-conversation", 100),
        ),
        fx("qz-p09", "2026-09-21T12:00:00+01:00", 3, "bullying", D, "off-site", closed(25, FP, 300)),
        fx("qz-p10", "2026-09-24T09:00:00+01:00", 2, "violence", D, "on-site", closed(5, FP, 45)),
        fx("qz-p11", "2026-09-28T21:00:00+01:00", 2, "bullying", E, "off-site", open(Some(700), &[])),
        // ---- October (the report's period) ----
        fx("qz-o01", "2026-10-01T09:40:00+01:00", 2, "bullying", E, "on-site", closed(20, "no-further-action", 90)),
        fx("qz-o02", "2026-10-01T13:15:00+01:00", 1, "bullying", D, "on-site", closed(45, FP, 120)),
        // Friday evening: picked up on Monday.
        fx("qz-o03", "2026-10-02T19:30:00+01:00", 2, "violence", D, "off-site", closed(3680, FP, 3700)),
        fx("qz-o04", "2026-10-05T10:05:00+01:00", 3, "bullying", E, "on-site", closed(10, "followed-up-closed", 1440)),
        fx(
            "qz-o05",
            "2026-10-05T11:30:00+01:00",
            3,
            "vulnerable-person",
            P,
            "off-site",
            high(3, "11:38", "support-referral", 28),
        ),
        fx(
            "qz-o06",
            "2026-10-06T14:00:00+01:00",
            1,
            "violence",
            D,
            "on-site",
            regraded(30, Level::Medium, 40, "followed-up-closed", 1500),
        ),
        fx(
            "qz-o07",
            "2026-10-07T09:00:00+01:00",
            2,
            "oversharer",
            E,
            "off-site",
            closed(60, "referred-conversation", 200),
        ),
        // Late evening: contact made the next morning.
        fx(
            "qz-o08",
            "2026-10-08T22:10:00+01:00",
            5,
            "vulnerable-person",
            E,
            "off-site",
            high(625, "08:50", "safeguarding-plan", 2000),
        ),
        fx("qz-o09", "2026-10-09T10:20:00+01:00", 3, "bullying", D, "on-site", regraded(15, Level::Low, 25, FP, 60)),
        fx("qz-o10", "2026-10-10T15:00:00+01:00", 2, "sexual-content", D, "unknown", closed(2530, FP, 2550)),
        fx("qz-o11", "2026-10-12T09:30:00+01:00", 4, "violence", E, "on-site", closed(5, "behaviour-contract", 1400)),
        fx("qz-o12", "2026-10-13T12:00:00+01:00", 2, "bullying", D, "on-site", closed(25, FP, 40)),
        fx(
            "qz-o13",
            "2026-10-14T16:45:00+01:00",
            1,
            "vulnerable-person",
            P,
            "off-site",
            high(2, "16:50", "external-referral", 60),
        ),
        fx(
            "qz-o14",
            "2026-10-15T11:10:00+01:00",
            3,
            "violence",
            D,
            "on-site",
            open(Some(20), &["medium-tracking-note"]),
        ),
        // Before opening time.
        fx("qz-o15", "2026-10-16T08:00:00+01:00", 1, "oversharer", E, "on-site", closed(40, FP, 50)),
        // Revised by the feed to risk 5 twenty minutes after it arrived.
        fx(
            "qz-o16",
            "2026-10-19T13:00:00+01:00",
            3,
            "bullying",
            E,
            "on-site",
            high(25, "13:40", "followed-up-closed", 240),
        ),
        // Grooming at High: the illegal-content path; contact made, the rest still open.
        fx("qz-o17", "2026-10-20T10:00:00+01:00", 5, "grooming", D, "off-site", open(Some(5), &[])),
        // Withdrawn by the vendor the next morning.
        fx("qz-o18", "2026-10-23T20:00:00+01:00", 2, "violence", None, "off-site", open(None, &[])),
        // After the clocks go back; closed only in November.
        fx("qz-o19", "2026-10-27T10:30:00+00:00", 3, "bullying", E, "on-site", closed(10, "followed-up-closed", 9000)),
        fx("qz-o20", "2026-10-30T16:55:00+00:00", 2, "sexual-content", D, "on-site", open(None, &[])),
        // ---- November (after the period) ----
        fx("qz-n01", "2026-11-02T09:00:00+00:00", 4, "bullying", E, "on-site", closed(5, "followed-up-closed", 1440)),
    ];
    let staff = [
        fx("qz-s01", "2026-09-15T10:00:00+01:00", 2, "offensive-user", E, "on-site", closed(30, FP, 90)),
        fx(
            "qz-s02",
            "2026-10-06T12:00:00+01:00",
            3,
            "offensive-user",
            E,
            "on-site",
            closed(20, "no-case-to-answer", 300),
        ),
        fx("qz-s03", "2026-10-21T18:30:00+01:00", 2, "offensive-user", D, "off-site", open(Some(900), &[])),
    ];
    v.extend(staff.into_iter().map(|f| Fx { staff: true, ..f }));
    v
}

/// The invented person details of alert number `i`: (subject id, name, group, username).
pub fn person(i: usize, staff: bool) -> (String, String, String, String) {
    const FIRST: [&str; 12] = [
        "Ffion", "Odhran", "Ysolde", "Casimir", "Marisol", "Tobiah", "Eluned", "Benedikt", "Saoirse", "Ignatius",
        "Perpetua", "Leofric",
    ];
    const LAST: [&str; 7] =
        ["Quarrington", "Vellacott", "Brackwater", "Ollivant", "Dunstable", "Featherstonhaugh", "Ashcombe"];
    let name = format!("{} {}", FIRST[i % FIRST.len()], LAST[i % LAST.len()]);
    let id = if staff { format!("STF-{:04}W", 3100 + i) } else { format!("STU-{:05}K", 77100 + i) };
    let group = if staff { "Estates Team Kestrel".to_string() } else { format!("Tutor Group Zephyr-{}", i % 4 + 7) };
    (id, name, group, format!("zq.user{:03}", i))
}

/// The summary, context and captured text of alert number `i`.
pub fn texts(i: usize) -> (String, String, String) {
    (
        format!("Typed a message about meeting at Lantern Quay number {i}"),
        format!("Moderator context: searched Pellucid Forum thread {i}"),
        format!("window text Marrowby chat {i}"),
    )
}

fn alert_json(i: usize, f: &Fx, revision: u32, risk: u8, withdrawn: bool) -> serde_json::Value {
    let (sid, name, group, username) = person(i, f.staff);
    let (summary, context, text) = texts(i);
    let mut a = json!({
        "id": f.id,
        "source": SOURCE,
        "revision": revision,
        "raised_at": f.raised,
        "risk": risk,
        "category": f.category,
        "subject": { "kind": if f.staff { "staff" } else { "student" }, "id": sid, "name": name, "group": group, "username": username },
        "device": { "hostname": format!("LAB-PC-{i:03}-HX"), "owner": "college", "location": f.location },
        "summary": summary,
        "context": context,
        "captures": [{ "at": f.raised, "window_title": format!("Chat window {i}"), "text": text }],
        "withdrawn": withdrawn,
    });
    if let Some(d) = f.delivery {
        a["delivered_by"] = json!(d);
    }
    a
}

fn page(alerts: Vec<serde_json::Value>, cursor: &str) -> vigil::feed::protocol::Page {
    let body = json!({ "feed": "vigil.alert-feed/1", "alerts": alerts, "cursor": cursor, "more": false });
    let page = parse_page(body.to_string().as_bytes()).expect("fixture page is valid");
    assert!(page.rejected.is_empty(), "fixture alert rejected: {:?}", page.rejected);
    page
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("fixture time").with_timezone(&Utc)
}

fn dsl() -> Viewer {
    Viewer { user: "fixture-dsl".into(), role: Role::Dsl, sees_staff: true }
}

pub fn service(store: &Store, viewer: Viewer) -> crate::common::Svc {
    crate::common::Svc::new(
        store.clone(),
        WorkingCalendar::london_default(),
        DuePolicy::default(),
        LevelPolicy::default(),
        viewer,
    )
}

/// Ticks every required item still open, 4 minutes before `close`, with made-up values by kind.
fn complete(service: &crate::common::Svc, key: &AlertKey, close: DateTime<Utc>) {
    let templates = Templates::embedded();
    let missing = service.detail(key, close).expect("detail").missing_required;
    let start = close - TimeDelta::minutes(4);
    for (k, id) in missing.into_iter().enumerate() {
        let item = templates.item(&id).expect("template item");
        let value = match item.kind {
            ItemKind::Tick => None,
            ItemKind::Choice => item.choices.first().cloned(),
            ItemKind::Note => Some(NOTE_TEXT.to_string()),
            ItemKind::Reference => Some(CPOMS_REF.to_string()),
            ItemKind::Date => Some("2026-10-02".to_string()),
            ItemKind::Time => Some("09:00".to_string()),
            ItemKind::Person => Some(PERSON.to_string()),
        };
        let cmd = CaseCommand::Tick { item: id, value, note: Some(NOTE_TEXT.to_string()) };
        service.act(key, &cmd, start + TimeDelta::seconds(5 * k as i64)).expect("tick");
    }
}

/// Builds the fixture store in `tmp/store` with a fixed key and returns it (the DSL's store: staff alerts
/// included). The store's dir is created by the store itself, readable by its owner only.
pub fn build(tmp: &Path) -> Store {
    build_at(&tmp.join("store"), &StoreKey::bytes([7; 32]))
}

/// [`build`] in `dir` (which must not exist yet) with the key the binary will use.
pub fn build_at(dir: &Path, key: &StoreKey) -> Store {
    let store = Store::open(dir, key).expect("open store");
    let svc = service(&store, dsl());
    let fixtures = alerts();
    for (i, f) in fixtures.iter().enumerate() {
        let raised = at(f.raised);
        let p = page(vec![alert_json(i, f, 1, f.risk, false)], &format!("c{i}"));
        svc.ingest(&p, raised + TimeDelta::minutes(1)).expect("ingest");
    }
    // The feed's second thoughts: o16 revised up to risk 5, o18 withdrawn.
    for (id, delay, risk, withdrawn) in [("qz-o16", 20, 5, false), ("qz-o18", 780, 2, true)] {
        let (i, f) = fixtures.iter().enumerate().find(|(_, f)| f.id == id).expect("fixture");
        let p = page(vec![alert_json(i, f, 2, risk, withdrawn)], &format!("r{i}"));
        svc.ingest(&p, at(f.raised) + TimeDelta::minutes(delay)).expect("ingest revision");
    }
    for f in &fixtures {
        let key = AlertKey::new(SOURCE, f.id);
        let raised = at(f.raised);
        let mins = |m: i64| raised + TimeDelta::minutes(m);
        let plan = f.plan;
        if let Some(v) = plan.view {
            svc.mark_viewed(&key, mins(v)).expect("view");
            svc.act(&key, &CaseCommand::Note { text: NOTE_TEXT.into() }, mins(v) + TimeDelta::minutes(1))
                .expect("note");
        }
        if let Some((level, when)) = plan.regrade {
            svc.act(&key, &CaseCommand::Regrade { level, reason: REASON.into() }, mins(when)).expect("regrade");
        }
        if let (Some(contact), Some(v)) = (plan.contact, plan.view) {
            let cmd = CaseCommand::Tick { item: "high-contact-time".into(), value: Some(contact.into()), note: None };
            svc.act(&key, &cmd, mins(v + 20)).expect("contact");
        }
        if f.id == "qz-o17" {
            let cmd = CaseCommand::Tick { item: "high-contact-time".into(), value: Some("10:15".into()), note: None };
            svc.act(&key, &cmd, mins(25)).expect("contact");
        }
        for item in plan.ticks {
            let v = plan.view.unwrap_or(0);
            let cmd = CaseCommand::Tick { item: (*item).into(), value: None, note: None };
            svc.act(&key, &cmd, mins(v + 5)).expect("tick");
        }
        if let Some((outcome, when)) = plan.close {
            complete(&svc, &key, mins(when));
            svc.act(&key, &CaseCommand::Close { outcome: outcome.into() }, mins(when)).expect("close");
        }
    }
    store
}

/// Every string in the fixture that identifies a person or says what happened.
pub fn forbidden() -> Vec<String> {
    let mut out: Vec<String> = [NOTE_TEXT, CPOMS_REF, PERSON, REASON].map(String::from).to_vec();
    for (i, f) in alerts().iter().enumerate() {
        let (sid, name, group, username) = person(i, f.staff);
        let (summary, context, text) = texts(i);
        out.extend([sid, name.clone(), group, username, summary, context, text, f.id.to_string()]);
        out.extend(name.split(' ').map(String::from));
        out.push(format!("LAB-PC-{i:03}-HX"));
        out.push(format!("Chat window {i}"));
    }
    out.push("fixture-dsl".into());
    out.sort();
    out.dedup();
    out
}

/// October 2026, as the fixture's reports are run.
pub fn october() -> Period {
    Period::new(date("2026-10-01"), date("2026-10-31")).expect("valid period")
}

pub fn date(s: &str) -> chrono::NaiveDate {
    s.parse().expect("fixture date")
}

/// The fixed clock of the report runs: some days after the period, before o19 closes.
pub fn now() -> DateTime<Utc> {
    at("2026-11-02T12:00:00+00:00")
}

/// The figures a viewer's report shows.
pub fn figures(store: &Store, viewer: Viewer, include_staff: bool, min_group: u64) -> Figures {
    let data = service(store, viewer).report_data(include_staff).expect("report data");
    compute(&data, october(), &Options { min_group, now: now() })
}

pub fn viewer(role: Role, sees_staff: bool) -> Viewer {
    Viewer { user: format!("fixture-{}", role.as_str()), role, sees_staff }
}
