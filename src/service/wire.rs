//! What crosses the shared service's Unix socket, and how it is framed (`docs/service-protocol.md`).
//!
//! Each message is one serde value, JSON-encoded, sent as length-delimited frames (a 4-byte big-endian
//! length, then the frame) of at most [`MAX_FRAME`] bytes. A frame's first byte says whether the message
//! goes on in the next frame (`+`) or ends here (`.`), so a large answer (a 100,000-case queue, a report's
//! data) crosses in pieces while a bad length prefix can never make either side allocate more than one
//! frame. A client's messages are a single frame; the service's are at most [`MAX_MESSAGE`] bytes.
//!
//! The first message each way is the handshake: [`ToService::Hello`], answered by [`FromService::Welcome`]
//! or [`FromService::Refused`]. After it the client sends calls, each with its own id, and the service sends
//! the replies (tagged with that id) and, between them, numbered events, presence and the feed's health.
//! Who the client is comes from the kernel (the socket's peer credentials), never from a message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::LengthDelimitedCodec;

use super::api::{Event, FeedHealth, Reply, Request, StoreStatus};
use super::{ServiceError, StoreError};
use crate::domain::AlertKey;
use crate::domain::calendar::WorkingCalendar;
use crate::identity::Role;

/// The protocol's major version: a client and a service that differ here refuse each other plainly.
pub const PROTOCOL_VERSION: u32 = super::api::API_VERSION;

/// What this build can do beyond the version's base, named in the handshake.
pub const FEATURES: &[&str] = &["events", "resume", "presence", "health"];

/// The largest frame either side accepts (the length prefix is checked before anything is read).
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

/// The largest message the service sends, across its frames.
pub const MAX_MESSAGE: usize = 256 * 1024 * 1024;

/// The exit codes a refusal carries (the same as `vigil`'s own: a script sees one meaning for each).
pub mod code {
    pub const USAGE: i32 = 2;
    pub const NO_ROLE: i32 = 3;
}

/// The codec both sides frame with.
pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder().max_frame_length(MAX_FRAME).new_codec()
}

/// What a client sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToService {
    /// The first message: the client's version and features, and where its event stream stood when it
    /// lost an earlier connection to the same service.
    Hello { version: u32, features: Vec<String>, resume: Option<Resume> },
    /// A request; its reply carries the same `id`.
    Call { id: u64, ask: Ask },
    /// The case this client has open (or none): what the others' presence line shows.
    Viewing { case: Option<AlertKey> },
}

/// Where a client's event stream stood: the service instance it came from and the last number read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    pub instance: String,
    pub after: u64,
}

/// What a call asks: a case-service request, or something of the shared service itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Ask {
    Service(Request),
    /// Poll the feed now (`vigil sync --once` against the service, the TUI's retry key).
    PollNow,
    /// Version, uptime, who is connected and the feed's health (`vigil service status`).
    Status,
    /// Read the mailbox now and say how it went (`vigil mail poll --once` against the service).
    PollMail,
}

/// What the service sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FromService {
    Welcome(Box<Welcome>),
    /// The connection is refused: the message is for the user, `code` is the exit code a command ends with.
    Refused {
        code: i32,
        message: String,
    },
    Reply {
        id: u64,
        result: Result<Answer, Failure>,
    },
    Event(Event),
    Health(FeedHealth),
    /// Everyone else connected, as this client may see them.
    Presence(Vec<Present>),
}

/// The service's answer to the handshake: who the kernel says the client is, and what it needs to know.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Welcome {
    pub version: u32,
    pub features: Vec<String>,
    /// This run of the service: a resume from another instance is told to reload.
    pub instance: String,
    pub user: String,
    pub name: String,
    pub role: Role,
    pub sees_staff: bool,
    pub calendar: WorkingCalendar,
}

/// The answer to an [`Ask`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Answer {
    Service(Box<Reply>),
    Polled,
    Status(Box<ServiceStatus>),
    MailPolled(Result<crate::mail::imap::PollReport, MailPollFailure>),
}

/// Why the service's poll of the mailbox failed, as `vigil mail poll --once` reports it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailPollFailure {
    /// The config or the mailbox's account must change (the login, a folder), not just time pass.
    pub needs_config: bool,
    pub message: String,
}

/// `vigil service status`: nothing in it names a student.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub version: String,
    pub started: DateTime<Utc>,
    pub connected: Vec<Present>,
    pub feed: Option<FeedHealth>,
    pub store: StoreStatus,
    /// Why the store's figures could not be read (its database down, say): the service is up and says so.
    #[serde(default)]
    pub store_error: Option<String>,
    /// The mailbox's health (`None`: no `[mail] host`).
    #[serde(default)]
    pub mail: Option<crate::intake::mail::MailHealth>,
}

/// One connected client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Present {
    /// The connection's number in this run of the service.
    pub connection: u64,
    pub user: String,
    /// The name to show: the password database's full name, else the user name.
    pub name: String,
    pub role: Role,
    /// The case open on that client, when the receiver may see it.
    pub viewing: Option<AlertKey>,
}

/// A refusal or failure, as it crosses the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Failure {
    Forbidden { role: Role },
    DiskFull,
    Other { message: String },
}

impl From<&ServiceError> for Failure {
    fn from(e: &ServiceError) -> Failure {
        match e {
            ServiceError::Forbidden(role) => match role_named(role) {
                Some(role) => Failure::Forbidden { role },
                None => Failure::Other { message: e.to_string() },
            },
            ServiceError::Store(StoreError::DiskFull) => Failure::DiskFull,
            other => Failure::Other { message: other.to_string() },
        }
    }
}

impl From<Failure> for ServiceError {
    fn from(f: Failure) -> ServiceError {
        match f {
            Failure::Forbidden { role } => ServiceError::Forbidden(role.as_str()),
            Failure::DiskFull => ServiceError::Store(StoreError::DiskFull),
            Failure::Other { message } => ServiceError::Said(message),
        }
    }
}

fn role_named(name: &str) -> Option<Role> {
    [Role::Dsl, Role::Ddsl, Role::Officer, Role::Reporter].into_iter().find(|r| r.as_str() == name)
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("a message over {0} bytes")]
    TooLarge(usize),
    #[error("an empty frame")]
    Empty,
    #[error("a frame marked neither `.` nor `+`")]
    BadMark,
    #[error("a message that does not parse ({0})")]
    Parse(#[from] serde_json::Error),
}

/// `message`, as the frames that carry it. The JSON is written straight into the frames (each opened with
/// its mark): a large answer is held once, not once whole and again cut up.
pub fn frames<T: Serialize>(message: &T) -> Result<Vec<Bytes>, WireError> {
    let mut writer = FrameWriter { done: Vec::new(), current: open_frame(), written: 0 };
    serde_json::to_writer(&mut writer, message)?;
    let FrameWriter { mut done, mut current, written } = writer;
    if written == 0 {
        return Err(WireError::Empty);
    }
    if current.len() > 1 {
        current[0] = b'.';
        done.push(current);
    } else if let Some(last) = done.last_mut() {
        last[0] = b'.';
    }
    Ok(done.into_iter().map(BytesMut::freeze).collect())
}

fn open_frame() -> BytesMut {
    let mut frame = BytesMut::with_capacity(8 * 1024);
    frame.put_u8(b'+');
    frame
}

/// Collects JSON into frames of at most [`MAX_FRAME`] bytes, each opened with `+` (the last is marked `.`
/// when the message ends), and refuses a message over [`MAX_MESSAGE`].
struct FrameWriter {
    done: Vec<BytesMut>,
    current: BytesMut,
    written: usize,
}

impl std::io::Write for FrameWriter {
    fn write(&mut self, mut bytes: &[u8]) -> std::io::Result<usize> {
        let asked = bytes.len();
        self.written += asked;
        if self.written > MAX_MESSAGE {
            return Err(std::io::Error::other(WireError::TooLarge(MAX_MESSAGE)));
        }
        while !bytes.is_empty() {
            let room = MAX_FRAME - self.current.len();
            if room == 0 {
                self.done.push(std::mem::replace(&mut self.current, open_frame()));
                continue;
            }
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.current.put_slice(now);
            bytes = later;
        }
        Ok(asked)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Joins frames into messages, refusing one over `cap` bytes.
pub struct Assembler {
    buf: Vec<u8>,
    cap: usize,
}

impl Assembler {
    pub fn new(cap: usize) -> Assembler {
        Assembler { buf: Vec::new(), cap }
    }

    /// The message `frame` completes, if it does.
    pub fn push<T: serde::de::DeserializeOwned>(&mut self, frame: &[u8]) -> Result<Option<T>, WireError> {
        let (&mark, rest) = frame.split_first().ok_or(WireError::Empty)?;
        if self.buf.len() + rest.len() > self.cap {
            self.buf = Vec::new();
            return Err(WireError::TooLarge(self.cap));
        }
        match mark {
            b'+' => {
                self.buf.extend_from_slice(rest);
                Ok(None)
            }
            b'.' if self.buf.is_empty() => Ok(Some(serde_json::from_slice(rest)?)),
            b'.' => {
                self.buf.extend_from_slice(rest);
                let whole = std::mem::take(&mut self.buf);
                Ok(Some(serde_json::from_slice(&whole)?))
            }
            _ => Err(WireError::BadMark),
        }
    }
}

/// Reads frames from `frames` until they make a whole message: the message, why it could not be read, or
/// `None` when the connection closed. Both ends read with it.
pub async fn receive<S, T>(frames: &mut S, joiner: &mut Assembler) -> Option<Result<T, String>>
where
    S: futures_util::Stream<Item = std::io::Result<BytesMut>> + Unpin,
    T: serde::de::DeserializeOwned,
{
    use futures_util::StreamExt;
    loop {
        match frames.next().await? {
            Err(e) => return Some(Err(e.to_string())),
            Ok(frame) => match joiner.push(&frame) {
                Ok(Some(message)) => return Some(Ok(message)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e.to_string())),
            },
        }
    }
}

/// The queue's rows, packed: postcard (the compact binary form the store's index already uses: no field
/// names, no quoting) in base64. A 100,000-case store's open queue is the largest message there is and the
/// one a client waits on before its first frame; packed, it is a fraction of its JSON size and quicker to
/// encode and decode.
pub mod packed_rows {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::service::CaseSummary;

    /// Written into the message as it is packed: neither the packed rows nor their base64 text is held
    /// whole. At 100,000 cases they were 11 MB and 15 MB, held with the rows and the frames while the service
    /// answered a client's queue (issue 15's peak memory).
    pub fn serialize<S: Serializer>(rows: &[CaseSummary], s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&Packed(rows))
    }

    /// The rows as [`serialize`] writes them: postcard, in base64.
    struct Packed<'a>(&'a [CaseSummary]);

    impl std::fmt::Display for Packed<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let out = Base64Out { f, pending: Vec::with_capacity(CHUNK), failed: false };
            let mut out = postcard::to_extend(self.0, out).map_err(|_| std::fmt::Error)?;
            out.write_pending();
            if out.failed { Err(std::fmt::Error) } else { Ok(()) }
        }
    }

    /// Bytes are encoded this many at a time: a multiple of 3, so that the pieces' base64 joined is the
    /// whole's (padding comes only at the end).
    const CHUNK: usize = 3 * 4096;

    /// Base64 of the bytes postcard writes, a chunk at a time, into a formatter.
    struct Base64Out<'a, 'f> {
        f: &'a mut std::fmt::Formatter<'f>,
        pending: Vec<u8>,
        /// The formatter refused a write (postcard's `Extend` cannot say so): reported once packing ends.
        failed: bool,
    }

    impl Base64Out<'_, '_> {
        fn write_pending(&mut self) {
            if !self.failed && !self.pending.is_empty() {
                self.failed = self.f.write_str(&STANDARD.encode(&self.pending)).is_err();
            }
            self.pending.clear();
        }
    }

    impl Extend<u8> for Base64Out<'_, '_> {
        fn extend<I: IntoIterator<Item = u8>>(&mut self, bytes: I) {
            for b in bytes {
                self.pending.push(b);
                if self.pending.len() == CHUNK {
                    self.write_pending();
                }
            }
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<CaseSummary>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let packed = STANDARD.decode(text.as_bytes()).map_err(serde::de::Error::custom)?;
        postcard::from_bytes(&packed).map_err(serde::de::Error::custom)
    }
}

/// Bytes as base64 in JSON: a screenshot is a third bigger, not four times.
pub mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_larger_than_a_frame_crosses_in_pieces_and_comes_back_whole() {
        let big = "x".repeat(MAX_FRAME * 2 + 17);
        let sent = FromService::Refused { code: 3, message: big.clone() };
        let frames = frames(&sent).expect("frames");
        assert_eq!(frames.len(), 3);
        assert!(frames.iter().all(|f| f.len() <= MAX_FRAME));
        let mut joiner = Assembler::new(MAX_MESSAGE);
        let mut got = None;
        for f in &frames {
            assert!(got.is_none(), "only the last frame completes the message");
            got = joiner.push::<FromService>(f).expect("joins");
        }
        match got {
            Some(FromService::Refused { code: 3, message }) => assert_eq!(message, big),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_message_over_the_cap_is_refused_without_keeping_it() {
        let mut joiner = Assembler::new(10);
        assert!(joiner.push::<ToService>(b"+0123456").expect("part").is_none());
        assert!(matches!(joiner.push::<ToService>(b".789abc"), Err(WireError::TooLarge(10))));
        assert!(matches!(joiner.push::<ToService>(b"?{}"), Err(WireError::BadMark)));
        assert!(matches!(joiner.push::<ToService>(b""), Err(WireError::Empty)));
    }

    /// The queue's rows are packed as they are written (never held whole as postcard or base64): what
    /// crosses is still the base64 of the whole postcard encoding, at every size around a chunk's edge,
    /// and it reads back as the rows.
    #[test]
    fn packed_rows_stream_into_the_message_and_read_back() {
        use base64::Engine;

        use crate::service::CaseSummary;
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-10T10:05:00Z").expect("literal").to_utc();
        let row = |i: usize| CaseSummary {
            id: format!("ROW-{i}"),
            source: "smoothwall-monitor".into(),
            revision: 1,
            level: crate::domain::Level::Medium,
            risk: Some(3),
            category: "bullying".into(),
            subject_kind: crate::domain::alert::SubjectKind::Student,
            subject_id: format!("HPC{i:05}"),
            subject_name: Some("A Student".into()),
            subject_group: None,
            status: crate::domain::Status::New,
            raised_at: at,
            due_at: Some(at),
            out_of_hours: false,
            overdue: i.is_multiple_of(2),
            suspected_illegal: false,
            illegal_path: false,
            follow_up: None,
            follow_up_due: false,
            location: "on-site".into(),
            mine: false,
            owner: None,
            owner_name: None,
            search: format!("hpc{i:05} bullying a summary"),
            key: crate::domain::AlertKey::new("smoothwall-monitor", format!("ROW-{i}")),
            open: true,
            staff: false,
            responded: false,
            trend: None,
            trend_days: 30,
            unparsed_mail: false,
            school: None,
        };
        let one = postcard::to_allocvec(&row(1_000)).expect("pack").len();
        // Row counts whose encoding ends about a chunk's edge, and far past it.
        let edge = 3 * 4096 / one;
        for n in [0, 1, 2, edge - 1, edge, edge + 1, 3 * edge + 2] {
            let rows: Vec<CaseSummary> = (1_000..1_000 + n).map(row).collect();
            let json = serde_json::to_value(Reply::Rows(rows.clone())).expect("encode");
            let text = json["Rows"].as_str().unwrap_or_else(|| panic!("{json}"));
            let whole = base64::engine::general_purpose::STANDARD.encode(postcard::to_allocvec(&rows).expect("pack"));
            assert_eq!(text, whole, "{n} rows");
            match serde_json::from_value::<Reply>(json).expect("decode") {
                Reply::Rows(got) => assert_eq!(got, rows, "{n} rows"),
                other => panic!("{other:?}"),
            }
            // Into the frames a piece at a time: no write holds the whole text.
            let mut largest = LargestWrite(0);
            serde_json::to_writer(&mut largest, &Reply::Rows(rows)).expect("encode");
            assert!(largest.0 <= 4 * 4096, "{n} rows: a write of {} bytes", largest.0);
        }
    }

    /// Counts nothing but the largest single write.
    struct LargestWrite(usize);

    impl std::io::Write for LargestWrite {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.max(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn failures_keep_the_role_and_the_full_disk_across_the_socket() {
        let forbidden = ServiceError::Forbidden(Role::Reporter.as_str());
        assert!(matches!(ServiceError::from(Failure::from(&forbidden)), ServiceError::Forbidden("reporter")));
        let full = ServiceError::Store(StoreError::DiskFull);
        assert!(matches!(ServiceError::from(Failure::from(&full)), ServiceError::Store(StoreError::DiskFull)));
        let other = ServiceError::NotFound("x".into());
        assert_eq!(ServiceError::from(Failure::from(&other)).to_string(), "no case `x`");
    }
}
