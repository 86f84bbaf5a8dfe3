//! The case service's message API: what a surface may ask ([`Request`]), what it is told ([`Reply`]), and
//! what it hears without asking ([`Event`]).
//!
//! These are owned, serde types, versioned by [`API_VERSION`], so the same messages serve the embedded mode
//! (a [`super::Session`] calling [`super::CaseService::handle`] in this process) and the shared service's
//! socket. They are not the `vigil list --json` contract: that is its own type in the commands, so either can
//! change without the other. A request never names who asks: the [`Viewer`](crate::identity::Viewer) goes
//! beside it, from the process's own OS user here and from the kernel's peer credentials on a socket.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CaseDetail, CaseSummary, ChecklistItem, ReportData};
use crate::audit::{AuditRecord, HeadMark, Verdict};
use crate::domain::case::CaseCommand;
use crate::domain::{AlertKey, CaseEvent, Delivery, Level, SubjectKind};
use crate::feed::protocol::Page;
pub use crate::store::{FeedState, IngestReport, Quarantined, UnreadablePage};

/// The version of these messages. A client and a service that disagree say so plainly instead of guessing.
pub const API_VERSION: u32 = 2;

/// A call: what is asked and the moment it is asked at. The moment dates the decision's events and is the
/// "now" of overdue and follow-up flags; in this process it is the process's clock (tests pin it), and a
/// service answering a socket puts its own clock here, never the client's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    pub at: DateTime<Utc>,
    pub request: Request,
}

/// Which index entries a queue read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// New, open and in-progress cases: the queue's default view and first frame.
    Open,
    /// Closed and withdrawn cases, read when the reviewer asks for them.
    Closed,
    All,
}

/// Everything a surface may ask of the service. Each is judged against the viewer it comes with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// The queue rows in `scope` this viewer may see, in queue order.
    Queue { scope: Scope },
    /// One case's queue row, or none when it is gone or not this viewer's to see.
    Row { case: AlertKey },
    /// Raise time, level and a key hash of every case not open: what the dashboard counts.
    RaisedNotOpen,
    /// `ID` or `SOURCE:ID` to a case this viewer may see.
    Find { spec: String },
    /// Opens a case: records the first view, then its content (audited).
    Open { case: AlertKey },
    /// A student's history: every case for the subject of a case, or for a subject id, this viewer may
    /// see (audited: it is content).
    History { of: super::subjects::HistoryOf },
    /// Makes the tally trend markers are counted from, if it is not made: one pass over the index. The
    /// queue never waits for it; a surface asks for it after its first frame and marks the rows it holds
    /// with the answer: the subjects whose alerts make a trend for this viewer.
    WarmTrends,
    /// Records the first view of a case's content (what response-time figures start from).
    MarkViewed { case: AlertKey },
    /// A case's content without marking it viewed (audited).
    Detail { case: AlertKey },
    /// A case's checklist without what was entered in it (not content: not audited).
    Checklist { case: AlertKey },
    /// The CPOMS entry and tracking note (audited).
    Records { case: AlertKey },
    /// A reviewer's decision, judged against the case as it stands when it is written. `seen` is how many
    /// of the case's events the reviewer's screen showed: a decision that no longer fits because of what
    /// others did since is refused naming who did what. `token`, when given, makes the call safe to send
    /// again (a client reconnecting after the service restarted): a decision already recorded under it is
    /// answered with its events rather than recorded twice.
    Act {
        case: AlertKey,
        command: CaseCommand,
        #[serde(default)]
        seen: Option<usize>,
        #[serde(default)]
        token: Option<uuid::Uuid>,
    },
    /// A page from the feed, graded and stored for this store's owner.
    Ingest { page: Page },
    /// Raw e-mails from a vendor, read under the service's rules and stored (the DSL's and deputy's).
    ImportMail { messages: Vec<super::mail::RawMail> },
    /// The raw e-mail a case was read from (audited).
    RawMail { case: AlertKey },
    /// How far an IMAP mailbox has been read (the DSL's and the deputy's, like an import).
    MailboxMark { mailbox: String },
    /// Messages read from an IMAP mailbox, stored like an import; then, once they are flushed, the mark
    /// that says they were read (so a message is marked read only once it is stored).
    ImportMailbox { mailbox: String, mark: crate::store::MailboxMark, messages: Vec<super::mail::RawMail> },
    /// A change to the feed's state (its cursor, health, the page it could not read).
    Feed { change: FeedChange },
    /// The DSL's: moves past the page the feed keeps sending that vigil cannot read.
    SkipPage { to: Option<String> },
    /// Where the poller of this store stands (cursor, ETag, health): what a sync starts from, for any role
    /// whose store is fed. Without the count of staff alerts not stored.
    SyncState,
    /// The feed's state, and the count of staff alerts not stored (for a viewer who may see staff alerts).
    FeedStatus,
    /// Alerts the feed sent that failed validation, raw (audited).
    Rejected,
    /// Counts and the disk, for `vigil feed status` and the status bar: no content. Counting the alerts
    /// reads the whole alerts tree, so only a caller that shows the count asks for it.
    StoreStatus { count_alerts: bool },
    /// Retention: purges what has been settled for `months`.
    PurgeExpired { months: u32 },
    /// Content-free cases for a report.
    ReportData { include_staff: bool },
    /// A screenshot of a case's capture: from the cache, or where to fetch it (refused on the illegal path).
    Screenshot { case: AlertKey, index: usize },
    /// A screenshot fetched and verified by the surface, for the cache.
    CacheScreenshot {
        case: AlertKey,
        index: usize,
        #[serde(with = "super::wire::base64_bytes")]
        bytes: Vec<u8>,
    },
    /// The uncached screenshots of open High cases, to fetch ahead.
    ScreenshotsToPrefetch,
    /// A content-free audit record of something a surface showed or exported (a screenshot, a report).
    Audit { case: Option<AlertKey>, what: String },
    /// The audit trail, or a case's part of it (the DSL's alone).
    AuditRecords { case: Option<String> },
    /// Checks the audit chain, and against a head kept elsewhere when given.
    AuditVerify { expect: Option<HeadMark> },
    /// Keys the trail of a store an earlier vigil wrote (the DSL's alone).
    AuditUpgrade,
    /// The safeguarding team: each reviewer's user name, role and how records name them (`[people]`).
    Team,
    /// What happened while the reader was away: from `since`, or from their last acknowledged handover, or
    /// over the last day (audited: it lists cases and the notes' text).
    Handover { since: Option<DateTime<Utc>> },
    /// A handover note for the next person on duty (the DSL's and the deputy's; audited).
    HandoverNote { text: String },
    /// The reader read the handover up to `until` and the notes up to `up_to_note` (what their screen
    /// showed; up to now and the newest note when not given). Recorded, and audited.
    HandoverAck { until: Option<DateTime<Utc>>, up_to_note: Option<u64> },
    /// What changed since the reader last looked (none the first time), marking that they look now.
    SinceLastLook,
    /// An alert taken by phone or in person, as the reviewer's form has it: stored as a new case (the DSL's
    /// and the deputy's alone; about a member of staff, only for one who may see staff alerts).
    AddAlert { form: Box<ManualAlert> },
}

/// A change to the feed's state, as the poller and the DSL's feed commands make them. Named changes, not a
/// closure over the state, so that they can cross a socket and each is judged here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedChange {
    /// A sync read every page it asked for.
    Synced { next_attempt: Option<DateTime<Utc>>, rested: Option<String> },
    /// A sync failed; `message` is content-free.
    Failed { message: String, next_attempt: Option<DateTime<Utc>> },
    /// The ETag of the last page, for the `since` it answered.
    Etag { since: Option<String>, etag: Option<String> },
    /// The feed sent a page vigil cannot read, for `since`: its raw bytes, and why (content-free).
    Unreadable {
        since: Option<String>,
        #[serde(with = "super::wire::base64_bytes")]
        body: Vec<u8>,
        reason: String,
    },
    /// The DSL's: the next sync reads from `to`, or from the feed's start.
    ResetCursor { to: Option<String> },
}

/// Where a screenshot is to come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shot {
    /// Verified bytes from the cache.
    Cached {
        #[serde(with = "super::wire::base64_bytes")]
        bytes: Vec<u8>,
    },
    /// Not cached: fetch `url` (as the feed gave it), expect `media_type`, check `sha256` when given.
    Fetch { url: String, media_type: String, sha256: Option<String> },
}

/// The feed's health as the status bar shows it: the poller's, and over a socket the shared service's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedHealth {
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<(DateTime<Utc>, String)>,
    pub next_attempt: Option<DateTime<Utc>>,
    /// Polling stopped until the user retries (credentials, unknown protocol version).
    pub stopped: bool,
    pub syncing: bool,
    /// The last sync stopped at its bounds with the feed still saying `more`: what it read, and that it
    /// rests until `next_attempt`.
    pub rested: Option<String>,
    /// The feed has sent the same page vigil cannot read `[feed] unreadable_page_alarm` times, since then.
    pub stuck_since: Option<DateTime<Utc>>,
    /// Another service sharing the store holds the feed's lease and polls it; this one stands by, and takes
    /// the feed over if that one stops.
    #[serde(default)]
    pub standby: bool,
}

/// Figures about the store that name nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStatus {
    /// `None` when not asked for.
    pub alerts: Option<usize>,
    pub rejected: usize,
    pub disk_low: bool,
}

/// The answer to a [`Request`], one variant per kind of answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    Done,
    /// Packed on the wire ([`super::wire::packed_rows`]): the largest answer there is.
    Rows(#[serde(with = "super::wire::packed_rows")] Vec<CaseSummary>),
    Row(Option<CaseSummary>),
    RaisedNotOpen(Vec<(DateTime<Utc>, Level, u64)>),
    Key(AlertKey),
    Detail(Box<CaseDetail>),
    History(Box<super::subjects::History>),
    Trends(Vec<super::subjects::SubjectTrend>),
    Checklist(Vec<ChecklistItem>),
    Records(crate::service::records::Records),
    Decided(Vec<CaseEvent>),
    Ingested(IngestReport),
    MailImported(super::mail::MailReport),
    MailboxMark(Option<crate::store::MailboxMark>),
    RawMail(#[serde(with = "super::wire::base64_bytes")] Vec<u8>),
    FeedState(FeedState),
    Skipped {
        sha256: String,
    },
    FeedStatus {
        state: FeedState,
        staff_dropped: Option<u64>,
    },
    Rejected(Vec<Quarantined>),
    StoreStatus(StoreStatus),
    Purged(usize),
    ReportData(Box<ReportData>),
    Shot(Shot),
    Prefetch(Vec<(AlertKey, usize)>),
    AuditRecords(Vec<AuditRecord>),
    Verdict(Verdict),
    AuditRecord(AuditRecord),
    Team(Vec<Member>),
    Handover(Box<super::handover::Handover>),
    /// The number of the handover note written.
    NoteWritten(u64),
    Acknowledged(crate::store::HandoverAck),
    LookBack(Option<super::handover::LookBack>),
    Added(Added),
}

/// A member of the safeguarding team, as any reviewer may know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user: String,
    pub role: crate::identity::Role,
    /// "A. Example (DSL)", or the user name when `[people]` does not name them.
    pub display: String,
}

/// One numbered change, as a subscriber hears it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// Increases by one for every change the service publishes, whoever may see it: a gap in what one
    /// subscriber hears is a change it may not see, never a loss.
    pub seq: u64,
    pub kind: EventKind,
}

/// What changed. Built for each subscriber from its own viewer: a case that viewer may not see is never
/// named to it, not even by key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum EventKind {
    /// A case was stored, decided on or revised: its row as this viewer's queue shows it now.
    CaseChanged { case: AlertKey, row: Box<CaseSummary> },
    /// A case this viewer could see is gone (purged, or no longer theirs to see).
    CaseRemoved { case: AlertKey },
    /// New alerts arrived: how many, and how many of them High (for the bell).
    Arrived { new: usize, high_new: usize },
    /// Nobody has opened the case in time (the `round`th escalation, `unopened_minutes` after it was
    /// raised): the bell, a banner and the window title. Content-free; only to the DSL and deputy, and only
    /// for a case they may see.
    Escalated { case: AlertKey, level: Level, round: u32, unopened_minutes: u32 },
    /// The count of rejected alerts changed.
    Rejected { count: usize },
    /// The feed's state changed.
    Feed,
    /// The subscriber fell too far behind (or the service restarted): it must read the queue again.
    Reload,
}

/// The form of an alert taken by phone or in person, as the reviewer filled it in. Checked by the service
/// ([`super::intake`]): nothing is stored until it passes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualAlert {
    /// When it was received, in the college's time zone; `None` is now. A time without a date is today's.
    pub received: Option<(Option<NaiveDate>, NaiveTime)>,
    /// `phone`, `in-person`, `email` or `other`; `None` is `phone`.
    pub how: Option<Delivery>,
    pub caller: Option<String>,
    pub vendor_ref: Option<String>,
    /// `None` is a student.
    pub kind: Option<SubjectKind>,
    pub username: Option<String>,
    pub college_id: Option<String>,
    pub name: Option<String>,
    pub group: Option<String>,
    /// A known category (any case) or free text; `None` is `general-risk`.
    pub category: Option<String>,
    /// The level the reviewer judges: required.
    pub level: Option<Level>,
    /// Required.
    pub summary: String,
    pub context: Option<String>,
}

/// What was saved: the new case's key and the level it starts at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Added {
    pub key: AlertKey,
    pub level: Level,
    pub illegal_path: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_cross_a_wire_and_come_back_the_same() {
        let key = AlertKey::new("smoothwall", "A-1");
        let calls = [
            Request::Queue { scope: Scope::Open },
            Request::Act {
                case: key.clone(),
                command: CaseCommand::Close { outcome: "no-further-action".into() },
                seen: Some(3),
                token: None,
            },
            Request::Feed { change: FeedChange::Etag { since: Some("c1".into()), etag: Some("\"e\"".into()) } },
            Request::CacheScreenshot { case: key, index: 2, bytes: vec![0, 1, 255] },
            Request::Handover { since: Some(DateTime::<Utc>::UNIX_EPOCH) },
            Request::HandoverNote { text: "ring home\nat 4".into() },
            Request::HandoverAck { until: None, up_to_note: Some(7) },
            Request::SinceLastLook,
        ];
        for request in calls {
            let call = Call { at: DateTime::<Utc>::UNIX_EPOCH, request };
            let wire = serde_json::to_string(&call).expect("serialises");
            let back: Call = serde_json::from_str(&wire).expect("deserialises");
            assert_eq!(serde_json::to_string(&back).expect("serialises"), wire);
        }
    }
}
