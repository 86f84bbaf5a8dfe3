//! `vigil list` and `vigil show`: the queue and one case, read through the service (audited there).

use std::io::Write;

use anyhow::Result;
use chrono::Utc;

use super::context::{Context_, open_service};
use super::output::{detail_json, history_json, list_rows, plain_row, write_json};
use super::service_err;
use crate::domain::inert;
use crate::service::CaseSummary;

pub(super) fn list(ctx: Context_, json: bool, filter: &crate::app::filter::Filter) -> Result<()> {
    if let Some(schools) = ctx.config.storage.trust_schools().filter(|_| ctx.global.school.is_none()) {
        return trust_list(&ctx, json, filter, schools);
    }
    let service = open_service(&ctx)?;
    let now = Utc::now();
    // Trend markers are counted from every case: one pass over the index, made once.
    service.warm_trends(now).map_err(service_err)?;
    // Most of a store of some years is closed cases: they are read only when the filter can show them.
    let cases = if filter.wants_closed() { service.queue(now) } else { service.queue_open(now) };
    let matches = filter.matcher();
    let queue: Vec<CaseSummary> = cases.map_err(service_err)?.into_iter().filter(|c| matches(c)).collect();
    let what = if json { "exported the queue as JSON" } else { "listed the queue" };
    service.audit(None, &format!("{what} ({} cases)", queue.len()), now)?;
    let mut out = std::io::stdout().lock();
    if json {
        write_json(&mut out, &list_rows(&queue))?;
    } else {
        for c in &queue {
            writeln!(out, "{}", plain_row(c))?;
        }
        if queue.is_empty() {
            writeln!(out, "no cases{}", if filter.is_active() { " match the filter" } else { " open" })?;
        }
    }
    Ok(())
}

/// `vigil list` on the trust's config: every school's queue as the trust's lead sees it (student cases; staff
/// alerts only where `staff_alerts` names them), the school first on each row (a `school` field in JSON);
/// each school's trail records the listing. `--school` lists one, as on that school's own config.
fn trust_list(
    ctx: &Context_,
    json: bool,
    filter: &crate::app::filter::Filter,
    schools: Vec<crate::store::postgres::PgSettings>,
) -> Result<()> {
    let now = Utc::now();
    let matches = filter.matcher();
    let mut rows: Vec<(String, CaseSummary)> = Vec::new();
    for (school, session) in super::context::trust_sessions(ctx, schools)? {
        session.warm_trends(now).map_err(service_err)?;
        let cases = if filter.wants_closed() { session.queue(now) } else { session.queue_open(now) };
        let mine: Vec<CaseSummary> = cases.map_err(service_err)?.into_iter().filter(|c| matches(c)).collect();
        let what = if json { "exported the trust's queue as JSON" } else { "listed the trust's queue" };
        session.audit(None, &format!("{what} ({} of this school's cases)", mine.len()), now)?;
        rows.extend(mine.into_iter().map(|c| (school.clone(), c)));
    }
    // One queue, in the order each school's is in: the most urgent first, whichever school it is.
    rows.sort_by(|(_, a), (_, b)| a.sort_key().cmp(&b.sort_key()));
    let mut out = std::io::stdout().lock();
    if json {
        let listed: Vec<serde_json::Value> = rows
            .iter()
            .map(|(school, c)| {
                let mut row = serde_json::to_value(super::output::ListRow::from(c)).unwrap_or_default();
                if let Some(fields) = row.as_object_mut() {
                    fields.insert("school".into(), serde_json::Value::String(school.clone()));
                }
                row
            })
            .collect();
        write_json(&mut out, &listed)?;
    } else {
        let width = rows.iter().map(|(s, _)| s.chars().count()).max().unwrap_or(0).max("SCHOOL".len());
        for (school, c) in &rows {
            writeln!(out, "{:<width$} {}", inert::line(school), plain_row(c))?;
        }
        if rows.is_empty() {
            writeln!(out, "no cases{}", if filter.is_active() { " match the filter" } else { " open" })?;
        }
    }
    Ok(())
}

pub(super) fn show(ctx: Context_, id: &str, json: bool, cpoms: bool) -> Result<()> {
    let service = open_service(&ctx)?;
    let key = service.find(id).map_err(service_err)?;
    let now = Utc::now();
    service.mark_viewed(&key, now).map_err(service_err)?;
    let mut out = std::io::stdout().lock();
    if cpoms {
        let r = service.records(&key, now).map_err(service_err)?;
        writeln!(out, "== CPOMS entry ==\n{}\n", r.cpoms)?;
        match r.tracking {
            Some(t) => writeln!(out, "== Student tracking note (no alert content) ==\n{t}")?,
            None => writeln!(
                out,
                "== Student tracking note ==\nnone: Low and staff alerts are not logged on student tracking"
            )?,
        }
        return Ok(());
    }
    let d = service.detail(&key, now).map_err(service_err)?;
    if json {
        service.audit(Some(&key), "exported the case as JSON", now)?;
        write_json(&mut out, &detail_json(&d))?;
        return Ok(());
    }
    let state =
        crate::app::State { tz: service.calendar().time_zone(), ..crate::app::State::new(ctx.viewer.clone(), now) };
    let theme = crate::ui::Theme::new(crate::ui::theme::ThemeName::Mono, true);
    for line in crate::ui::detail_lines(&state, &theme, &d) {
        writeln!(out, "{line}")?;
    }
    writeln!(out)?;
    writeln!(out, "Checklist")?;
    for (i, item) in d.checklist.iter().enumerate() {
        let tick = if item.done { "[x]" } else { "[ ]" };
        let req = if item.required { " (required)" } else { "" };
        let value = item.value.as_deref().map(|v| format!(" = {}", inert::line(v))).unwrap_or_default();
        writeln!(out, "  {:>2} {tick} {} [{}]{req}{value}", i + 1, item.text, item.id)?;
    }
    writeln!(out, "Outcomes: {}", d.outcomes.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>().join(", "))?;
    Ok(())
}

/// `vigil subject ID`: a student's history (audited by the service, as a view of content).
pub(super) fn subject(ctx: Context_, id: String, source: Option<String>, json: bool) -> Result<()> {
    let service = open_service(&ctx)?;
    let now = Utc::now();
    let history =
        service.history(&crate::service::subjects::HistoryOf::Subject { source, id }, now).map_err(service_err)?;
    let mut out = std::io::stdout().lock();
    if json {
        service.audit(None, "exported a student's history as JSON", now)?;
        return write_json(&mut out, &history_json(&history));
    }
    let trend = history.trend.map(|n| format!("; TREND: {n} in {}d", history.trend_days)).unwrap_or_default();
    writeln!(
        out,
        "History of {} ({} cases, oldest first{trend})",
        inert::line(&history.subject_id),
        history.cases.len()
    )?;
    let tz = service.calendar().time_zone();
    for c in &history.cases {
        writeln!(out, "{}", crate::ui::history_line(c, tz))?;
    }
    Ok(())
}
