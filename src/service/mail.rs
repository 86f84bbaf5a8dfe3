//! The vendors' e-mails into the store: parsed under the service's rules and limits, the raw message kept
//! (sealed) under its SHA-256, the alerts stored through the same path as a feed page, the bad messages
//! quarantined with their reason.

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Asking, Result, ServiceError};
use crate::audit;
use crate::domain::{Alert, AlertKey};
use crate::feed::protocol::{Page, Rejected};
use crate::mail::Mail;
use crate::mail::rules::Reading;

/// One raw message as it crosses the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawMail(#[serde(with = "super::wire::base64_bytes")] pub Vec<u8>);

/// What an import did, in counts (no content).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailReport {
    pub messages: usize,
    /// Alerts stored for the first time, and of them those no rule fully read.
    pub new: usize,
    pub unparsed: usize,
    /// Alerts already stored (the same message imported again).
    pub unchanged: usize,
    /// Messages not from a monitoring sender: not alerts, not kept.
    pub not_alerts: usize,
    pub quarantined: usize,
    /// Staff alerts not stored because the importer may not see them (the DSL's to import).
    pub staff_dropped: usize,
}

impl MailReport {
    pub fn add(&mut self, o: &MailReport) {
        self.messages += o.messages;
        self.new += o.new;
        self.unparsed += o.unparsed;
        self.unchanged += o.unchanged;
        self.not_alerts += o.not_alerts;
        self.quarantined += o.quarantined;
        self.staff_dropped += o.staff_dropped;
    }
}

/// Keeps the images an alert's captures name (checked when the message was read), beside the message.
fn store_images(asking: &Asking<'_>, alert: &Alert, raw: &[u8], limits: &crate::mail::Limits) -> Result<()> {
    let Some(origin) = &alert.mail else { return Ok(()) };
    let shots: Vec<&crate::domain::Screenshot> = alert.captures.iter().filter_map(|c| c.screenshot.as_ref()).collect();
    if shots.is_empty() {
        return Ok(());
    }
    // Parsed again for the bytes: the alert keeps only their hashes.
    let Ok(mail) = Mail::parse(raw, limits) else { return Ok(()) };
    for image in &mail.images {
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&image.bytes));
        if let Some(shot) = shots.iter().find(|s| s.sha256.as_deref() == Some(sha.as_str()))
            && let Some(name) = origin.image_blob_name(&shot.url)
        {
            asking.store.put_blob(&name, &image.bytes)?;
        }
    }
    Ok(())
}

/// How much of a bad message the quarantine keeps to show the DSL (the whole message is refused; this is
/// what they need to recognise it).
const QUARANTINE_KEEPS: usize = 64 << 10;

impl Asking<'_> {
    /// Reads `messages` and stores the alerts among them. The DSL's and the deputy's: the same people who
    /// see every alert as it arrives.
    pub fn import_mail(&self, messages: &[RawMail], now: DateTime<Utc>) -> Result<MailReport> {
        if !self.viewer.on_duty() {
            return Err(ServiceError::Forbidden(self.viewer.role.as_str()));
        }
        let policy = &self.mail;
        let read: Vec<std::result::Result<Reading, String>> = messages
            .par_iter()
            .map(|raw| {
                Mail::parse(&raw.0, &policy.limits)
                    .map(|mail| policy.rules.read(&mail, policy.default_level, now))
                    .map_err(|e| e.to_string())
            })
            .collect();
        let mut report = MailReport { messages: messages.len(), ..MailReport::default() };
        let mut alerts: Vec<Alert> = Vec::new();
        let mut rejected = Vec::new();
        for (raw, reading) in messages.iter().zip(read) {
            match reading {
                Ok(Reading::NotAnAlert) => report.not_alerts += 1,
                Ok(Reading::Alert { alert, .. }) => {
                    // Kept before the alert is stored, so a stored alert always has its message.
                    if let Some(origin) = &alert.mail {
                        self.store.put_blob(&origin.blob_name(), &raw.0)?;
                        store_images(self, &alert, &raw.0, &policy.limits)?;
                    }
                    alerts.push(*alert);
                }
                Err(reason) => {
                    let shown = &raw.0[..raw.0.len().min(QUARANTINE_KEEPS)];
                    rejected.push(Rejected {
                        source: Some("e-mail".into()),
                        id: None,
                        reason: format!("an e-mail vigil refused: {reason}"),
                        raw: String::from_utf8_lossy(shown).into_owned(),
                    });
                }
            }
        }
        let unparsed: std::collections::HashSet<AlertKey> = alerts
            .iter()
            .filter(|a| a.mail.as_ref().is_some_and(|m| m.rule.is_none()))
            .map(|a| a.key.clone())
            .collect();
        // Which were stored before, to count the new unparsed ones (a second import of them is not news).
        let mut before = std::collections::HashSet::new();
        for a in alerts.iter().filter(|a| unparsed.contains(&a.key)) {
            if self.store.alert(&a.key)?.is_some() {
                before.insert(a.key.clone());
            }
        }
        let page = Page { alerts, rejected, cursor: None, more: false, cursor_refused: None };
        let ingested = self.ingest(&page, now)?;
        report.new = ingested.new;
        report.quarantined = ingested.quarantined;
        report.staff_dropped = ingested.staff_dropped;
        report.unchanged = ingested.unchanged + ingested.revised;
        report.unparsed = page.alerts.iter().filter(|a| unparsed.contains(&a.key) && !before.contains(&a.key)).count();
        let what = format!(
            "imported {} e-mail{}: {} new alert{}",
            report.messages,
            if report.messages == 1 { "" } else { "s" },
            report.new,
            if report.new == 1 { "" } else { "s" }
        );
        self.store.audit_append(&audit::Entry::new(now, &self.viewer.user, None, what))?;
        Ok(report)
    }

    /// How far `mailbox` has been read over IMAP.
    pub fn mailbox_mark(&self, mailbox: &str) -> Result<Option<crate::store::MailboxMark>> {
        if !self.viewer.on_duty() {
            return Err(ServiceError::Forbidden(self.viewer.role.as_str()));
        }
        Ok(self.store.mailbox_mark(mailbox)?)
    }

    /// Stores messages read from `mailbox`, then marks them read: the mark is written only once the
    /// import has returned (flushed), so a message is never marked read and lost.
    pub fn import_mailbox(
        &self,
        mailbox: &str,
        mark: crate::store::MailboxMark,
        messages: &[RawMail],
        now: DateTime<Utc>,
    ) -> Result<MailReport> {
        let report = self.import_mail(messages, now)?;
        self.store.set_mailbox_mark(mailbox, &mark)?;
        Ok(report)
    }

    /// The e-mail a case was read from, raw, as received (content: audited).
    pub fn raw_mail(&self, key: &AlertKey, now: DateTime<Utc>) -> Result<Vec<u8>> {
        self.require_reviewer()?;
        let (alert, _, _) = self.load(key)?;
        let Some(origin) = alert.mail else {
            return Err(ServiceError::NotFound(format!("{key}: not from an e-mail, so there is no raw message")));
        };
        let bytes = self
            .store
            .blob(&origin.blob_name())?
            .ok_or_else(|| ServiceError::NotFound(format!("{key}: its raw e-mail")))?;
        // Checked against the hash the alert was stored with: what is shown is what arrived.
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        if sha != origin.sha256 {
            return Err(ServiceError::Unexpected(format!("the raw e-mail of {key} does not match its SHA-256")));
        }
        self.audit(Some(key), "read the raw e-mail", now)?;
        Ok(bytes)
    }
}
