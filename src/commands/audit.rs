//! `vigil audit ...`: the trail verified (and its head kept elsewhere), shown, and keyed.

use std::io::Write;

use anyhow::Result;
use chrono::Utc;

use super::context::{Context_, open_service};
use super::{exit, exit_err, service_err};
use crate::cli::AuditAction;
use crate::domain::inert;
use crate::service::ServiceError;

/// `vigil audit verify [--expect HEAD]` and `vigil audit head` (any reviewing role), `vigil audit show [ID]`
/// and `vigil audit upgrade` (the DSL only).
pub(super) fn audit(ctx: Context_, action: AuditAction) -> Result<()> {
    use crate::audit::Verdict;
    let service = open_service(&ctx)?;
    match action {
        AuditAction::Verify { expect } => {
            let verdict = service.audit_verify_against(expect.as_ref()).map_err(service_err)?;
            let head = audit_verdict(&verdict)?;
            let Verdict::Intact { records, unkeyed, .. } = verdict else { return Ok(()) };
            let earlier = if unkeyed > 0 {
                format!(" (records 1 to {unkeyed} were written unkeyed by an earlier vigil: a plain hash chain)")
            } else {
                String::new()
            };
            let expected = expect.map(|e| format!(", and holds the kept head {e}")).unwrap_or_default();
            writeln!(
                std::io::stdout(),
                "audit trail intact: {records} records{earlier}; head {head}{expected} (keep it elsewhere: `vigil audit verify --expect {head}` then finds the trail cut back or rolled back)"
            )?;
            keep_head(&ctx, &head)
        }
        AuditAction::Head => {
            let verdict = service.audit_verify().map_err(service_err)?;
            let head = audit_verdict(&verdict)?;
            writeln!(std::io::stdout(), "{head}")?;
            keep_head(&ctx, &head)
        }
        AuditAction::Upgrade => {
            let record = service.audit_upgrade(Utc::now()).map_err(|e| match e {
                ServiceError::Forbidden(role) => {
                    exit_err(exit::NO_ROLE, format!("only the DSL may key the audit trail (your role: {role})"))
                }
                other => service_err(other),
            })?;
            writeln!(
                std::io::stdout(),
                "audit trail keyed from record {}: records 1 to {} stay a plain hash chain; verify it now and keep the head it prints",
                record.seq,
                record.seq - 1
            )?;
            Ok(())
        }
        AuditAction::Show { id } => {
            let records = service.audit_records(id.as_deref()).map_err(|e| match e {
                ServiceError::Forbidden(role) => {
                    exit_err(exit::NO_ROLE, format!("the audit trail is the DSL's to read (your role: {role})"))
                }
                other => service_err(other),
            })?;
            // The trail keeps user names; `[people]` says who they are.
            let names: std::collections::BTreeMap<String, String> = service
                .team()
                .map_err(service_err)?
                .into_iter()
                .filter(|m| m.display != m.user)
                .map(|m| (m.user, m.display))
                .collect();
            let mut out = std::io::stdout().lock();
            if records.is_empty() {
                writeln!(out, "no audit records{}", if id.is_some() { " for this case" } else { "" })?;
            }
            for r in &records {
                writeln!(
                    out,
                    "{:>6}  {}  {}  {}  {}",
                    r.seq,
                    r.at.format("%Y-%m-%d %H:%M:%S UTC"),
                    match names.get(&r.actor) {
                        Some(name) => format!("{} ({})", inert::line(&r.actor), inert::line(name)),
                        None => inert::line(&r.actor).into_owned(),
                    },
                    r.case.as_deref().map_or(std::borrow::Cow::Borrowed("-"), inert::line),
                    inert::line(&r.what)
                )?;
            }
            Ok(())
        }
    }
}

/// The head of a chain that holds, or the exit a script can rely on: 1 for a broken, disagreeing or
/// unkeyed trail, with the reason on one line.
fn audit_verdict(verdict: &crate::audit::Verdict) -> Result<crate::audit::HeadMark> {
    use crate::audit::Verdict;
    match verdict {
        Verdict::Intact { head, .. } => Ok(head.clone()),
        Verdict::Unkeyed { records, .. } => Err(exit_err(
            exit::FAILURE,
            format!(
                "audit trail not keyed: its {records} records were written by an earlier vigil as a plain hash chain, which anyone who can write the data dir can rewrite; the DSL keys it from now on with `vigil audit upgrade` (check it first against any head you kept)"
            ),
        )),
        Verdict::Broken { seq, reason } => {
            Err(exit_err(exit::FAILURE, format!("audit trail broken at record {seq}: {reason}")))
        }
        Verdict::Disagrees { detail } => {
            Err(exit_err(exit::FAILURE, format!("audit trail and case log disagree: {detail}")))
        }
    }
}

/// Writes a verified head to the log and gives it to `[audit] head_command`, so it is kept somewhere an
/// attacker with the data dir alone cannot reset. The head holds no content.
fn keep_head(ctx: &Context_, head: &crate::audit::HeadMark) -> Result<()> {
    tracing::info!(head = %head, "audit trail verified");
    let Some(command) = &ctx.config.audit.head_command else { return Ok(()) };
    let words = shlex::split(command)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| exit_err(exit::USAGE, "[audit] head_command cannot be split into words"))?;
    let failed = |why: String| {
        tracing::warn!(error = %why, "audit head_command failed");
        exit_err(
            exit::FAILURE,
            format!("the trail verified, but [audit] head_command failed ({why}): the head was not kept"),
        )
    };
    let mut child = std::process::Command::new(&words[0])
        .args(&words[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{head}").map_err(|e| failed(e.to_string()))?;
    }
    let status = child.wait().map_err(|e| failed(e.to_string()))?;
    if !status.success() {
        return Err(failed(status.to_string()));
    }
    Ok(())
}
