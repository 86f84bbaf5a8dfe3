//! The vendors' mailbox over IMAP: the messages vigil has not stored yet, fetched over TLS, stored through
//! the same import as a file (the service's rules, limits and quarantine), then marked read and, when
//! `[mail] move_to` is set, moved.
//!
//! A message is processed once. The store keeps, per mailbox, the folder's UIDVALIDITY and the highest UID
//! whose message is stored ([`MailboxMark`]); messages are fetched a few at a time, and a batch's mark is
//! written only after the batch is stored (flushed), and the batch moved only after that. A connection lost
//! mid-fetch stores nothing of the batch it was in, and the next poll starts at the mark. When the server
//! renumbers the folder (another UIDVALIDITY), every message in it is read again and the import's own
//! idempotence (the vendor's event reference, else the Message-ID, else the bytes) keeps each alert once.
//!
//! Nothing a message says reaches a log: errors name the server, the user and the folder, never content.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_imap::error::Error as ProtocolError;
use chrono::Utc;
use futures_util::TryStreamExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use zeroize::Zeroizing;

use crate::service::{MailReport, RawMail, ServiceError, Session};
use crate::store::MailboxMark;

/// An IMAP session over TLS.
pub type ImapSession = async_imap::Session<TlsStream<TcpStream>>;

/// How long connecting (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server may take over any one command (a batch's fetch included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// Messages fetched and stored together: what a lost connection costs, at most, to fetch again.
pub const BATCH: usize = 10;

/// How vigil logs in: a password, or (Microsoft 365, Google) an OAuth2 token from `tokens`, asked for at each
/// login and kept by the source until shortly before it expires.
pub enum Login {
    Password { user: String, password: Zeroizing<String> },
    XOAuth2 { user: String, tokens: std::sync::Arc<crate::mail::oauth::TokenSource> },
}

impl Login {
    pub fn user(&self) -> &str {
        match self {
            Login::Password { user, .. } | Login::XOAuth2 { user, .. } => user,
        }
    }
}

impl Login {
    /// How `[mail]` says to log in: its secret read from its file, which no one but vigil's user may read,
    /// or a token source for `[mail.oauth]`.
    pub fn from_config(config: &crate::config::MailConfig) -> Result<Login, String> {
        use crate::config::MailAuth;
        let user = config.user.clone().unwrap_or_default();
        match config.auth {
            MailAuth::Password => {
                let path = config.password_file.as_deref().ok_or("[mail] auth = \"password\" needs password_file")?;
                let password = read_secret(path, "mail password file")?;
                Ok(Login::Password { user, password })
            }
            MailAuth::Xoauth2 => {
                let oauth = config.oauth.as_ref().ok_or("[mail] auth = \"xoauth2\" needs [mail.oauth]")?;
                let http = crate::mail::oauth::http_client().map_err(|e| e.to_string())?;
                let tokens = crate::mail::oauth::TokenSource::new(oauth, http).map_err(|e| e.to_string())?;
                Ok(Login::XOAuth2 { user, tokens: std::sync::Arc::new(tokens) })
            }
        }
    }
}

/// The mailbox password: the first line of its file, which only vigil's user may read (the one rule for a
/// secret in a file, [`crate::secret_file`]).
fn read_secret(path: &std::path::Path, what: &'static str) -> Result<Zeroizing<String>, String> {
    let bytes = crate::secret_file::read(path, what).map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| format!("the {what} {} is not text", path.display()))?;
    let secret = text.lines().next().unwrap_or("").trim();
    if secret.is_empty() {
        return Err(format!("the {what} {} is empty", path.display()));
    }
    Ok(Zeroizing::new(secret.to_string()))
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Login::Password { user, .. } => write!(f, "Password {{ user: {user:?}, password: (redacted) }}"),
            Login::XOAuth2 { user, .. } => write!(f, "XOAuth2 {{ user: {user:?} }}"),
        }
    }
}

/// Answers the server's XOAUTH2 challenge once; a second challenge carries the server's error (JSON), and
/// RFC 7628 has the client answer it with an empty response, after which the server says NO.
struct XOAuth2 {
    response: Option<Zeroizing<String>>,
}

impl async_imap::Authenticator for XOAuth2 {
    type Response = Zeroizing<String>;

    fn process(&mut self, _challenge: &[u8]) -> Self::Response {
        self.response.take().unwrap_or_default()
    }
}

/// A mailbox to read: where it is, how to log in, which folder, and where processed mail goes.
#[derive(Debug)]
pub struct Mailbox {
    pub host: String,
    pub port: u16,
    pub ca_file: Option<PathBuf>,
    pub login: Login,
    pub folder: String,
    pub move_to: Option<String>,
    /// Messages fetched and stored together ([`BATCH`]).
    pub batch: usize,
}

impl Mailbox {
    /// The mailbox `[mail]` describes, its secret read (`None`: no `host`, no mailbox).
    pub fn from_config(config: &crate::config::MailConfig) -> Result<Option<Mailbox>, String> {
        let Some(host) = config.imap()? else { return Ok(None) };
        Ok(Some(Mailbox {
            host: host.to_string(),
            port: config.port,
            ca_file: config.ca_file.clone(),
            login: Login::from_config(config)?,
            folder: config.folder.clone(),
            move_to: config.move_to.clone(),
            batch: BATCH,
        }))
    }

    /// What the store knows this mailbox's folder by.
    pub fn id(&self) -> String {
        mailbox_id(self.login.user(), &self.host, self.port, &self.folder)
    }

    /// What the store knows the mailbox `[mail]` describes by, without logging in or reading its secret
    /// (`None`: no `host`, no mailbox): what `vigil store copy` carries its mark by.
    pub fn id_from_config(config: &crate::config::MailConfig) -> Result<Option<String>, String> {
        let Some(host) = config.imap()? else { return Ok(None) };
        Ok(Some(mailbox_id(config.user.as_deref().unwrap_or_default(), host, config.port, &config.folder)))
    }
}

fn mailbox_id(user: &str, host: &str, port: u16, folder: &str) -> String {
    format!("imap://{user}@{host}:{port}/{folder}")
}

/// Why a poll failed: the server, the user and the folder, never a message's content.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to the mail server {host}:{port}: {reason}")]
    Connect { host: String, port: u16, reason: String },
    #[error("cannot read [mail] ca_file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error(
        "the TLS connection to the mail server {host}:{port} failed: {reason} (vigil only speaks IMAP over TLS; a college's own CA goes in [mail] ca_file)"
    )]
    Tls { host: String, port: u16, reason: String },
    #[error("the mail server {host} refused the login of {user}: check [mail] user and the password in its file")]
    LoginRefused { host: String, user: String },
    #[error("the mail server {host} has no folder {folder:?} for {user}: check [mail] {setting}")]
    FolderMissing { host: String, user: String, folder: String, setting: &'static str },
    #[error(
        "the connection to the mail server {host} was lost while {during} ({reason}): what was stored is kept, and the next poll goes on from there"
    )]
    Dropped { host: String, during: &'static str, reason: String },
    #[error("the mail server {host} did not answer within {secs} s while {during}; the next poll tries again")]
    Timeout { host: String, during: &'static str, secs: u64 },
    #[error("the mail server {host} refused {during}: {reason}")]
    Refused { host: String, during: &'static str, reason: String },
    #[error(
        "the mail server {host} refused the OAuth2 login of {user} with a token it was given: check that the app may read this mailbox (Microsoft 365: Add-MailboxPermission for its service principal; Google: domain-wide delegation) and [mail] user"
    )]
    TokenRefused { host: String, user: String },
    #[error("no OAuth2 token for the mailbox: {0}")]
    Token(#[from] crate::mail::oauth::OAuthError),
    #[error("{0}")]
    Store(#[from] ServiceError),
}

impl ImapError {
    /// Whether the config (or the mailbox's account) must change before a poll can work: the login, a
    /// folder, the CA file. The rest may pass by itself.
    pub fn needs_config(&self) -> bool {
        match self {
            ImapError::LoginRefused { .. }
            | ImapError::TokenRefused { .. }
            | ImapError::FolderMissing { .. }
            | ImapError::CaFile { .. } => true,
            ImapError::Token(e) => !e.is_retryable(),
            _ => false,
        }
    }
}

/// What one poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PollReport {
    pub mail: MailReport,
    /// Messages moved to `move_to` (those stored by an earlier poll that could not move them included).
    pub moved: usize,
    /// The folder's UIDVALIDITY changed since the last poll: every message was read again.
    pub renumbered: bool,
}

/// `what` within `limit`, its protocol error turned into an [`ImapError`] by `or`.
async fn timed<T>(
    host: &str,
    during: &'static str,
    limit: Duration,
    what: impl std::future::Future<Output = Result<T, ProtocolError>>,
    or: impl FnOnce(ProtocolError) -> ImapError,
) -> Result<T, ImapError> {
    match tokio::time::timeout(limit, what).await {
        Err(_) => Err(ImapError::Timeout { host: host.to_string(), during, secs: limit.as_secs() }),
        Ok(result) => result.map_err(or),
    }
}

/// A protocol error as a lost connection, or as the server refusing `during`.
fn lost_or_refused(host: &str, during: &'static str) -> impl FnOnce(ProtocolError) -> ImapError {
    let host = host.to_string();
    move |e| match e {
        ProtocolError::No(reason) | ProtocolError::Bad(reason) => {
            ImapError::Refused { host, during, reason: reason.chars().take(200).collect() }
        }
        other => ImapError::Dropped { host, during, reason: other.to_string() },
    }
}

/// The certificates vigil trusts: the system's, and `[mail] ca_file`'s.
fn tls_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, ImapError> {
    crate::tls::client_config(ca_file).map_err(|e| ImapError::CaFile { path: e.path, reason: e.reason })
}

/// Connects over TLS, reads the greeting and logs in.
pub async fn connect(mailbox: &Mailbox) -> Result<ImapSession, ImapError> {
    let (host, port) = (mailbox.host.as_str(), mailbox.port);
    let config = tls_config(mailbox.ca_file.as_deref())?;
    let tls_err = |reason: String| ImapError::Tls { host: host.to_string(), port, reason };
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| tls_err(e.to_string()))?;
    let connect_err = |reason: String| ImapError::Connect { host: host.to_string(), port, reason };
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, port)))
        .await
        .map_err(|_| connect_err(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))?
        .map_err(|e| connect_err(e.to_string()))?;
    let tls = tokio::time::timeout(CONNECT_TIMEOUT, TlsConnector::from(Arc::new(config)).connect(name, tcp))
        .await
        .map_err(|_| tls_err(format!("no TLS answer within {} s", CONNECT_TIMEOUT.as_secs())))?
        .map_err(|e| tls_err(e.to_string()))?;
    let mut client = async_imap::Client::new(tls);
    let greeting = tokio::time::timeout(CONNECT_TIMEOUT, client.read_response()).await.map_err(|_| {
        ImapError::Timeout { host: host.to_string(), during: "greeting", secs: CONNECT_TIMEOUT.as_secs() }
    })?;
    match greeting {
        Ok(Some(_)) => {}
        Ok(None) => return Err(ImapError::Dropped { host: host.into(), during: "greeting", reason: "closed".into() }),
        Err(e) => return Err(ImapError::Dropped { host: host.into(), during: "greeting", reason: e.to_string() }),
    }
    let refused = |e: ProtocolError| match e {
        // RFC 5530: the server could not check the login just now (its own trouble, not the password).
        ProtocolError::No(reason) if reason.contains("UNAVAILABLE") => ImapError::Refused {
            host: host.to_string(),
            during: "the login for now",
            reason: reason.chars().take(200).collect(),
        },
        ProtocolError::No(_) | ProtocolError::Bad(_) => {
            ImapError::LoginRefused { host: host.to_string(), user: mailbox.login.user().to_string() }
        }
        other => ImapError::Dropped { host: host.to_string(), during: "logging in", reason: other.to_string() },
    };
    let login = async {
        match &mailbox.login {
            Login::Password { user, password } => {
                client.login(user, password.as_str()).await.map_err(|(e, _)| refused(e))
            }
            Login::XOAuth2 { user, tokens } => {
                let bearer = Zeroizing::new(tokens.bearer(chrono::Utc::now()).await?);
                let auth = XOAuth2 { response: Some(Zeroizing::new(crate::mail::oauth::xoauth2(user, &bearer)?)) };
                match client.authenticate("XOAUTH2", auth).await {
                    Ok(session) => Ok(session),
                    Err((e, _)) => {
                        // A token the server would not take is not asked for again: the next login gets a new one.
                        tokens.forget().await;
                        Err(match refused(e) {
                            ImapError::LoginRefused { host, user } => ImapError::TokenRefused { host, user },
                            other => other,
                        })
                    }
                }
            }
        }
    };
    tokio::time::timeout(COMMAND_TIMEOUT, login).await.map_err(|_| ImapError::Timeout {
        host: host.to_string(),
        during: "logging in",
        secs: COMMAND_TIMEOUT.as_secs(),
    })?
}

/// A UID set for a command: `4,7,9`.
fn uid_set(uids: &[u32]) -> String {
    uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// Runs `f` with `session` on a blocking thread: the store is synchronous.
async fn on_store<T: Send + 'static>(
    session: &Session,
    f: impl FnOnce(&Session) -> crate::service::Result<T> + Send + 'static,
) -> Result<T, ImapError> {
    let session = session.clone();
    tokio::task::spawn_blocking(move || f(&session))
        .await
        .map_err(|e| ImapError::Store(ServiceError::Unexpected(format!("the store's task stopped: {e}"))))?
        .map_err(ImapError::Store)
}

/// One poll: connect, store what is new, move it, log out.
pub async fn poll_once(mailbox: &Mailbox, session: &Session) -> Result<PollReport, ImapError> {
    let mut imap = connect(mailbox).await?;
    let result = poll_in(mailbox, &mut imap, session).await;
    if result.is_ok() {
        // The server's goodbye is a courtesy: what was stored is stored.
        let _ = tokio::time::timeout(CONNECT_TIMEOUT, imap.logout()).await;
    }
    result
}

/// Everything after the login. `largest` is the import's own limit on a message: a larger one is fetched
/// only one byte past it, so that the import refuses (and quarantines) it without vigil holding it whole.
async fn poll_in(mailbox: &Mailbox, imap: &mut ImapSession, session: &Session) -> Result<PollReport, ImapError> {
    let host = mailbox.host.as_str();
    let user = mailbox.login.user();
    let missing = |folder: &str, setting| {
        let (host, user, folder) = (host.to_string(), user.to_string(), folder.to_string());
        move |e: ProtocolError| match e {
            ProtocolError::No(_) => ImapError::FolderMissing { host, user, folder, setting },
            other => lost_or_refused(&host, "opening the folder")(other),
        }
    };
    let selected = timed(
        host,
        "opening the folder",
        COMMAND_TIMEOUT,
        imap.select(&mailbox.folder),
        missing(&mailbox.folder, "folder"),
    )
    .await?;
    let capabilities =
        timed(host, "asking what it can do", COMMAND_TIMEOUT, imap.capabilities(), lost_or_refused(host, "CAPABILITY"))
            .await?;
    let can_move = capabilities.has_str("MOVE");
    let uidplus = capabilities.has_str("UIDPLUS");
    if let Some(to) = &mailbox.move_to {
        timed(host, "looking for move_to", COMMAND_TIMEOUT, imap.status(to, "(MESSAGES)"), missing(to, "move_to"))
            .await?;
    }
    let uid_validity = selected.uid_validity.unwrap_or(0);
    let id = mailbox.id();
    let mark = {
        let id = id.clone();
        on_store(session, move |s| s.mailbox_mark(&id, Utc::now())).await?
    };
    let mut report = PollReport::default();
    let mut last = match mark {
        Some(m) if m.uid_validity == uid_validity => m.last_uid,
        Some(_) => {
            report.renumbered = true;
            tracing::warn!(
                folder = %mailbox.folder,
                "the mail server renumbered the folder (its UIDVALIDITY changed): every message in it is read again, \
                 and each alert is still stored once (by its event reference or Message-ID)"
            );
            0
        }
        None => 0,
    };
    if let Some(to) = &mailbox.move_to
        && last > 0
    {
        // Stored by an earlier poll that lost its connection before it could move them.
        let searched = timed(
            host,
            "looking for mail already stored",
            COMMAND_TIMEOUT,
            imap.uid_search(format!("UID 1:{last}")),
            lost_or_refused(host, "SEARCH"),
        )
        .await?;
        let mut left: Vec<u32> = searched.into_iter().filter(|u| *u <= last).collect();
        left.sort_unstable();
        report.moved += move_messages(imap, host, &left, to, can_move, uidplus).await?;
    }
    let searched = timed(
        host,
        "looking for new mail",
        COMMAND_TIMEOUT,
        imap.uid_search(format!("UID {}:*", last.saturating_add(1))),
        lost_or_refused(host, "SEARCH"),
    )
    .await?;
    // `N:*` always matches the folder's last message, even below N.
    let mut uids: Vec<u32> = searched.into_iter().filter(|u| *u > last).collect();
    uids.sort_unstable();
    let largest = crate::mail::Limits::default().message_bytes;
    for batch in uids.chunks(mailbox.batch.max(1)) {
        let query = format!("(UID BODY.PEEK[]<0.{}>)", largest + 1);
        let fetched: Vec<async_imap::types::Fetch> = timed(
            host,
            "fetching messages",
            COMMAND_TIMEOUT,
            async { imap.uid_fetch(uid_set(batch), &query).await?.try_collect().await },
            lost_or_refused(host, "FETCH"),
        )
        .await?;
        let mut messages: Vec<(u32, Vec<u8>)> = fetched
            .iter()
            .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
            .filter(|(uid, _)| batch.contains(uid))
            .collect();
        messages.sort_by_key(|(uid, _)| *uid);
        messages.dedup_by_key(|(uid, _)| *uid);
        // A UID asked for and not sent was expunged meanwhile: nothing to store, and it counts as read.
        let top = batch.last().copied().unwrap_or(last);
        let mark = MailboxMark { uid_validity, last_uid: top };
        let raws: Vec<RawMail> = messages.into_iter().map(|(_, bytes)| RawMail(bytes)).collect();
        let id = id.clone();
        let stored = on_store(session, move |s| s.import_mailbox(&id, mark, raws, Utc::now())).await?;
        report.mail.add(&stored);
        last = top;
        if let Some(to) = &mailbox.move_to {
            report.moved += move_messages(imap, host, batch, to, can_move, uidplus).await?;
        }
    }
    Ok(report)
}

/// Moves `uids` (stored) to `to`: UID MOVE where the server has it, else COPY, \Deleted and EXPUNGE.
async fn move_messages(
    imap: &mut ImapSession,
    host: &str,
    uids: &[u32],
    to: &str,
    can_move: bool,
    uidplus: bool,
) -> Result<usize, ImapError> {
    if uids.is_empty() {
        return Ok(0);
    }
    let set = uid_set(uids);
    let during = "moving stored mail";
    if can_move {
        timed(host, during, COMMAND_TIMEOUT, imap.uid_mv(&set, to), lost_or_refused(host, "MOVE")).await?;
        return Ok(uids.len());
    }
    timed(host, during, COMMAND_TIMEOUT, imap.uid_copy(&set, to), lost_or_refused(host, "COPY")).await?;
    timed(
        host,
        during,
        COMMAND_TIMEOUT,
        async { imap.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?.try_collect::<Vec<_>>().await },
        lost_or_refused(host, "STORE"),
    )
    .await?;
    if uidplus {
        timed(
            host,
            during,
            COMMAND_TIMEOUT,
            async { imap.uid_expunge(&set).await?.try_collect::<Vec<_>>().await },
            lost_or_refused(host, "UID EXPUNGE"),
        )
        .await?;
    } else {
        timed(
            host,
            during,
            COMMAND_TIMEOUT,
            async { imap.expunge().await?.try_collect::<Vec<_>>().await },
            lost_or_refused(host, "EXPUNGE"),
        )
        .await?;
    }
    Ok(uids.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_file_others_can_read_is_refused_plainly() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let secret = dir.path().join("pw");
        std::fs::write(&secret, "s3cret\n").expect("write");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let mail = crate::config::MailConfig {
            host: Some("imap.college.example".into()),
            user: Some("alerts".into()),
            password_file: Some(secret.clone()),
            ..crate::config::MailConfig::default()
        };
        let err = Login::from_config(&mail).expect_err("group-readable");
        assert!(err.contains("can be read by other users (mode 640)") && err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        match Login::from_config(&mail).expect("owner-only") {
            Login::Password { user, password } => {
                assert_eq!((user.as_str(), password.as_str()), ("alerts", "s3cret"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn xoauth2_logs_in_with_a_token_source_for_mail_oauth() {
        let text = "[mail]\nhost = \"imap.college.example\"\nuser = \"alerts\"\nauth = \"xoauth2\"\n\
                    [mail.oauth]\nprovider = \"microsoft\"\ntenant = \"college.onmicrosoft.com\"\n\
                    client_id = \"6f1c2a9e-0000-4000-8000-0123456789ab\"\nclient_secret_file = \"/s\"";
        let config = crate::config::Config::parse(std::path::Path::new("c.toml"), text).expect("valid");
        match Login::from_config(&config.mail).expect("a token source") {
            Login::XOAuth2 { user, .. } => assert_eq!(user, "alerts"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_xoauth2_response_answers_once() {
        let r = crate::mail::oauth::xoauth2("alerts@college.example", "tok").expect("plain user and token");
        let mut auth = XOAuth2 { response: Some(Zeroizing::new(r)) };
        assert_eq!(
            async_imap::Authenticator::process(&mut auth, b"").as_str(),
            "user=alerts@college.example\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(async_imap::Authenticator::process(&mut auth, b"{\"status\":\"400\"}").as_str(), "");
    }

    #[test]
    fn a_login_never_shows_its_secret() {
        let login = Login::Password { user: "alerts".into(), password: Zeroizing::new("hunter2".into()) };
        assert!(!format!("{login:?}").contains("hunter2"));
        assert_eq!(uid_set(&[4, 7, 9]), "4,7,9");
    }
}
