//! The escalation ticker: in the process that owns the store (`vigil serve`, or the embedded TUI), it asks
//! the service to escalate what is due ([`CaseService::escalate_due`]) and sleeps until the next escalation
//! falls due (at most a minute, so a case that arrives meanwhile is seen). At each escalation it runs
//! `[escalation] notify_command`, if set, with a content-free message on its standard input.
//!
//! Driven by tokio's clock and a clock function for the UTC instant, so a test with tokio's paused clock
//! drives it through days in no time ([`tokio_clock`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::service::CaseService;
use crate::service::escalation::Escalation;

/// The longest the ticker sleeps: a case stored meanwhile is judged within this.
pub const SWEEP_AT_MOST_EVERY: Duration = Duration::from_secs(60);
/// The shortest: a sweep that could not write (the store busy) does not spin.
const SWEEP_AT_LEAST_EVERY: Duration = Duration::from_secs(1);

/// The UTC instant "now", as the ticker reads it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// A clock that reads tokio's: `start` when called at once, and as much later as tokio's clock has moved
/// since. Under tokio's paused clock (tests) it moves only as the test advances it.
pub fn tokio_clock(start: DateTime<Utc>) -> Clock {
    let began = tokio::time::Instant::now();
    Arc::new(move || start + chrono::Duration::from_std(began.elapsed()).unwrap_or(chrono::Duration::zero()))
}

/// What the ticker did with `notify_command` for one escalation (for the log, and for tests that wait for
/// it instead of sleeping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notified {
    pub reference: String,
    pub result: Result<(), String>,
}

/// The ticker. [`Escalator::run`] runs it until the service is dropped (never, in practice: abort the task).
pub struct Escalator {
    pub service: CaseService,
    pub clock: Clock,
    /// `notify_command` split into words; `None`: not set.
    pub notify: Option<Vec<String>>,
    /// Told of each `notify_command` run once it has finished.
    pub notified: Option<mpsc::UnboundedSender<Notified>>,
}

impl Escalator {
    /// The ticker for `service`, reading the wall clock, with `[escalation] notify_command` from its config.
    /// A command that cannot be split into words is an error (said at start, not at the first escalation).
    pub fn new(service: CaseService) -> Result<Escalator, String> {
        let notify = service.escalation().notify_words()?;
        Ok(Escalator { service, clock: Arc::new(Utc::now), notify, notified: None })
    }

    pub async fn run(self) {
        loop {
            let now = (self.clock)();
            let service = self.service.clone();
            let wait = match tokio::task::spawn_blocking(move || service.escalate_due(now)).await {
                Ok(Ok(sweep)) => {
                    for escalation in &sweep.escalated {
                        tracing::warn!(
                            level = escalation.level.as_str(),
                            round = escalation.round,
                            unopened_minutes = escalation.unopened_minutes,
                            reference = %escalation.reference,
                            "a case nobody opened was escalated"
                        );
                        self.notify(escalation);
                    }
                    sweep.next.map_or(SWEEP_AT_MOST_EVERY, |next| (next - now).to_std().unwrap_or(Duration::ZERO))
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "escalation sweep failed");
                    SWEEP_AT_MOST_EVERY
                }
                Err(e) => {
                    tracing::warn!(error = %e, "escalation sweep stopped");
                    SWEEP_AT_MOST_EVERY
                }
            };
            tokio::time::sleep(wait.clamp(SWEEP_AT_LEAST_EVERY, SWEEP_AT_MOST_EVERY)).await;
        }
    }

    /// Runs `notify_command` for `escalation` off the ticker: a slow or failing command never holds up the
    /// next escalation. A failure is logged without content.
    fn notify(&self, escalation: &Escalation) {
        let Some(words) = self.notify.clone() else { return };
        let message = notify_message(escalation);
        let reference = escalation.reference.clone();
        let notified = self.notified.clone();
        tokio::task::spawn_blocking(move || {
            let result = run_notify(&words, &message);
            if let Err(e) = &result {
                tracing::warn!(error = %e, reference = %reference, "[escalation] notify_command failed");
            }
            if let Some(tx) = notified {
                let _ = tx.send(Notified { reference, result });
            }
        });
    }
}

/// The message `notify_command` reads on its standard input: one line to read, then the same as
/// `key=value` lines to route by. Content-free: the level, how long the case has gone unopened, the round,
/// and vigil's own random reference for the case (never the vendor's alert id, a name or alert text).
pub fn notify_message(e: &Escalation) -> String {
    let level = e.level.as_str();
    format!(
        "vigil: a {} case has not been opened for {} min (escalation {}); reference {}\nlevel={level}\nunopened_minutes={}\nround={}\nreference={}\n",
        level.to_ascii_uppercase(),
        e.unopened_minutes,
        e.round,
        e.reference,
        e.unopened_minutes,
        e.round,
        e.reference
    )
}

fn run_notify(words: &[String], message: &str) -> Result<(), String> {
    use std::io::Write;
    let (program, args) = words.split_first().ok_or("no command")?;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    // Written and closed before waiting, so the command sees the end of its input; waited for even when the
    // write failed, so no child is left behind.
    let written = child.stdin.take().map_or(Ok(()), |mut stdin| stdin.write_all(message.as_bytes()));
    let status = child.wait().map_err(|e| e.to_string())?;
    written.map_err(|e| e.to_string())?;
    if status.success() { Ok(()) } else { Err(status.to_string()) }
}
