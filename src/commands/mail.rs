//! `vigil mail import`, `vigil mail test` and `vigil mail token-check`, and `vigil show ID --raw`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use chrono::Utc;

use super::context::{Context_, Settings, open_service};
use super::{exit, exit_err, service_err};
use crate::domain::inert;
use crate::intake::mail::MailReader;
use crate::mail::files::{self, RawMessage};
use crate::mail::imap::{ImapError, Mailbox};
use crate::mail::rules::Reading;
use crate::mail::{Limits, Mail};
use crate::service::wire::{Answer, Ask};
use crate::service::{MailReport, RawMail};

/// How many messages go to the service at once, and at most how many bytes: large enough that a maildir of
/// ten thousand goes in a few dozen calls, small enough that one call never holds much.
const BATCH_MESSAGES: usize = 500;
const BATCH_BYTES: usize = 32 << 20;

/// Reads every path and stores the alerts in them, a batch at a time; one summary line.
pub(super) fn import(ctx: Context_, paths: &[PathBuf]) -> Result<()> {
    let service = open_service(&ctx)?;
    let mut total = MailReport::default();
    let mut batch: Vec<RawMail> = Vec::new();
    let mut batch_bytes = 0;
    let mut failed = None;
    let send = |batch: &mut Vec<RawMail>, total: &mut MailReport| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let report = service.import_mail(std::mem::take(batch), Utc::now()).map_err(service_err)?;
        total.add(&report);
        Ok(())
    };
    for path in paths {
        let mut error = None;
        let read = files::read(path, &mut |RawMessage { bytes, .. }| {
            if error.is_some() {
                return;
            }
            batch_bytes += bytes.len();
            batch.push(RawMail(bytes));
            if batch.len() >= BATCH_MESSAGES || batch_bytes >= BATCH_BYTES {
                batch_bytes = 0;
                if let Err(e) = send(&mut batch, &mut total) {
                    error = Some(e);
                }
            }
        });
        if let Some(e) = error {
            return Err(e);
        }
        if let Err(e) = read {
            // What was read so far is stored; the rest of the paths are still read. The exit says it.
            eprintln!("vigil: {}", inert::line(&e.to_string()));
            failed = Some(e);
        }
    }
    send(&mut batch, &mut total)?;
    writeln!(std::io::stdout(), "mail import: {}", summary(&total))?;
    match failed {
        Some(_) => Err(exit_err(exit::FAILURE, "some mail could not be read (above); the rest was imported")),
        None => Ok(()),
    }
}

/// What an import or a poll stored, on one line.
pub fn summary(r: &MailReport) -> String {
    let mut line = format!(
        "{} message{}: {} new alert{}",
        r.messages,
        if r.messages == 1 { "" } else { "s" },
        r.new,
        if r.new == 1 { "" } else { "s" }
    );
    if r.unparsed > 0 {
        line.push_str(&format!(" ({} unparsed: check their level)", r.unparsed));
    }
    line.push_str(&format!(
        ", {} already stored, {} not from a monitoring sender, {} quarantined",
        r.unchanged, r.not_alerts, r.quarantined
    ));
    if r.staff_dropped > 0 {
        line.push_str(&format!(
            ", {} staff alert{} not stored (the DSL's)",
            r.staff_dropped,
            if r.staff_dropped == 1 { "" } else { "s" }
        ));
    }
    line
}

/// `vigil mail poll --once`: the mailbox read once, here or by the shared service; one summary line.
pub(super) async fn poll(ctx: Context_, once: bool) -> Result<()> {
    if !once {
        return Err(exit_err(
            exit::USAGE,
            "`vigil mail poll` needs --once: the shared service (`vigil serve` with [mail] host) reads the mailbox on its own schedule; without one, run `vigil mail poll --once` from cron",
        ));
    }
    let failed = |needs_config: bool, message: String| {
        exit_err(if needs_config { exit::USAGE } else { exit::FAILURE }, format!("mail poll failed: {message}"))
    };
    let report = if let Some(session) = &ctx.remote {
        match session.ask_service(Ask::PollMail).map_err(service_err)? {
            Answer::MailPolled(Ok(report)) => report,
            Answer::MailPolled(Err(f)) => return Err(failed(f.needs_config, f.message)),
            _ => return Err(exit_err(exit::FAILURE, "the vigil service gave an unexpected answer to a mail poll")),
        }
    } else {
        // Refused before the mailbox's password is read or the server contacted.
        if !ctx.viewer.on_duty() {
            return Err(service_err(crate::service::ServiceError::Forbidden(ctx.viewer.role.as_str())));
        }
        let mailbox = match Mailbox::from_config(&ctx.config.mail) {
            Ok(Some(mailbox)) => mailbox,
            Ok(None) => {
                return Err(exit_err(
                    exit::USAGE,
                    "no mailbox to read: set [mail] host, user and password_file in the config",
                ));
            }
            Err(e) => return Err(exit_err(exit::USAGE, e)),
        };
        let session = open_service(&ctx)?;
        match MailReader::new(mailbox, session).poll().await {
            Ok(report) => report,
            Err(ImapError::Store(e)) => return Err(service_err(e)),
            Err(e) => return Err(failed(e.needs_config(), e.to_string())),
        }
    };
    let mut line = format!("mail poll: {}", summary(&report.mail));
    if report.moved > 0 {
        line.push_str(&format!("; {} moved to the processed folder", report.moved));
    }
    if report.renumbered {
        line.push_str("; the server renumbered the folder, so every message in it was read again (none stored twice)");
    }
    writeln!(std::io::stdout(), "{line}")?;
    Ok(())
}

/// `vigil mail test FILE.eml`: what the config's rules read, field by field. Opens no store.
pub fn mail_test(settings: Settings, file: &std::path::Path) -> Result<()> {
    let rules = settings.config.mail.rules().map_err(|e| exit_err(exit::USAGE, e))?;
    let bytes =
        std::fs::read(file).map_err(|e| exit_err(exit::FAILURE, format!("cannot read {}: {e}", file.display())))?;
    let mut out = std::io::stdout().lock();
    let mail = match Mail::parse(&bytes, &Limits::default()) {
        Ok(mail) => mail,
        Err(e) => {
            writeln!(out, "refused: {e} (an import would quarantine it)")?;
            return Err(exit_err(exit::FAILURE, "the message would be quarantined"));
        }
    };
    let line = |s: &str| inert::line(s).into_owned();
    writeln!(out, "from:       {}", line(mail.from.as_deref().unwrap_or("(none)")))?;
    if let Some(f) = &mail.forwarded_from {
        writeln!(out, "forwarded:  from {}", line(f))?;
    }
    writeln!(out, "subject:    {}", line(&mail.subject))?;
    writeln!(out, "message-id: {}", line(mail.message_id.as_deref().unwrap_or("(none)")))?;
    writeln!(out, "sha256:     {}", mail.sha256)?;
    writeln!(out, "images:     {}", mail.images.len())?;
    let Some(extracted) = rules.extract(&mail) else {
        writeln!(out, "\nnot from a monitoring sender: not an alert (add the sender to a rule under [[mail.rule]])")?;
        return Ok(());
    };
    writeln!(out, "\nrule: {}", line(&extracted.rule))?;
    for field in crate::mail::rules::FIELDS {
        match extracted.fields.get(field) {
            Some(v) => writeln!(out, "  {field:<11} {}", line(v))?,
            None => writeln!(out, "  {field:<11} -")?,
        }
    }
    let level = settings.config.mail.default_level;
    if let Reading::Alert { alert, .. } = rules.read(&mail, level, Utc::now()) {
        writeln!(out)?;
        if extracted.missing.is_empty() {
            let graded = settings.config.levels.grade(&alert);
            writeln!(out, "read fully: a {} alert, category {}", graded.level, line(&alert.category))?;
        } else {
            writeln!(
                out,
                "NOT read fully (no {}): it would be stored as an unparsed e-mail at {level}, for a reviewer to check",
                extracted.missing.join(", no ")
            )?;
        }
        writeln!(out, "alert id:   {}:{}", line(&alert.key.source), line(&alert.key.id))?;
        writeln!(out, "subject:    {} {}", alert.subject.kind.as_str(), line(&alert.subject.id))?;
        writeln!(out, "summary:    {}", line(&alert.summary))?;
    }
    Ok(())
}

/// `vigil show ID --raw`: the e-mail as received, made inert for the terminal.
pub(super) fn show_raw(ctx: Context_, id: &str) -> Result<()> {
    let service = open_service(&ctx)?;
    let key = service.find(id).map_err(service_err)?;
    let bytes = service.raw_mail(&key, Utc::now()).map_err(service_err)?;
    let text = String::from_utf8_lossy(&bytes);
    write!(std::io::stdout(), "{}", inert::block(&text.replace("\r\n", "\n")))?;
    Ok(())
}

/// `vigil mail token-check`: one token request with `[mail.oauth]`, for the IT technician setting it up. Says
/// it worked, or the plain error and what to fix; never prints the token. Opens no store.
pub async fn mail_token_check(settings: Settings) -> Result<()> {
    use crate::mail::oauth::{self, Provider, TokenSource};
    let config = settings.config_path.as_ref().map_or("the config".to_string(), |p| p.display().to_string());
    let Some(oauth_config) = &settings.config.mail.oauth else {
        return Err(exit_err(
            exit::USAGE,
            format!("there is no [mail.oauth] in {config}: see the README, \"The vendors' alert e-mails\""),
        ));
    };
    let http = oauth::http_client().map_err(|e| exit_err(exit::FAILURE, e.to_string()))?;
    let source = TokenSource::new(oauth_config, http).map_err(|e| exit_err(exit::USAGE, e.to_string()))?;
    let token = source.bearer(Utc::now()).await.map_err(|e| exit_err(exit::FAILURE, e.to_string()))?;
    let scope = oauth_config.scope();
    let mut out = std::io::stdout().lock();
    match oauth_config.provider {
        Provider::Microsoft => {
            // A token without the permission is still issued; only the IMAP login would fail, less plainly.
            if oauth::microsoft_roles(&token).is_some_and(|roles| !roles.iter().any(|r| r == "IMAP.AccessAsApp")) {
                return Err(exit_err(
                    exit::FAILURE,
                    "Entra ID issued a token without the permission IMAP.AccessAsApp: give the app the application \
                     permission Office 365 Exchange Online, IMAP.AccessAsApp, and grant admin consent (new tokens \
                     carry it a few minutes later)",
                ));
            }
            writeln!(out, "mail token-check: Entra ID issued a token for {scope} (not shown)")?;
            writeln!(
                out,
                "the IMAP login also needs the app's service principal in Exchange Online with FullAccess to the \
                 mailbox (New-ServicePrincipal, Add-MailboxPermission: see the README)"
            )?;
        }
        Provider::Google => writeln!(out, "mail token-check: Google issued a token for {scope} (not shown)")?,
    }
    Ok(())
}
