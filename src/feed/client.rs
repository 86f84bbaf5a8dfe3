//! The HTTP client for protocol v1: one request for a page of alerts (or a screenshot), with the limits,
//! timeouts and token rules the protocol sets.
//!
//! Every row of the protocol's table of answers maps to one [`FeedError`] variant, and each variant says
//! what the poller does next ([`FeedError::next_step`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, ETAG, IF_NONE_MATCH, RETRY_AFTER};
use reqwest::{StatusCode, Url};

use super::protocol::{CursorRefused, MAX_CURSOR_BYTES, Page, PageError, parse_page};

/// Bodies larger than this are refused without being buffered whole.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Backoff never waits longer than this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A 404 means a wrong base URL: keep trying, but slowly.
pub const NOT_FOUND_RETRY: Duration = Duration::from_secs(300);
/// The longest wait vigil accepts from a feed's `Retry-After` (or any schedule): a day.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);
/// The shortest wait vigil accepts from a feed's `Retry-After`: the first step of the backoff, so a feed that
/// says `0` (or names a time already past) is never retried sooner than one that failed outright.
pub const MIN_RETRY_AFTER: Duration = Duration::from_secs(2);

/// How long the client waits: to connect, between bytes of an answer, and for a whole request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedTimeouts {
    pub connect: Duration,
    pub read: Duration,
    pub request: Duration,
}

/// How much one sync may read before it rests until the next poll, however often the feed says `more`; and
/// how many identical unreadable pages make the feed "stuck" in the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncBounds {
    pub max_pages: u32,
    pub max_time: Duration,
    pub unreadable_alarm: u32,
}

impl Default for SyncBounds {
    fn default() -> Self {
        SyncBounds { max_pages: 200, max_time: Duration::from_secs(300), unreadable_alarm: 3 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error("the feed rejected vigil's credentials (HTTP {0}); polling stopped: check the token, then retry")]
    Unauthorized(u16),
    #[error("the feed answered 404: the base URL looks wrong ({0})")]
    NotFound(String),
    #[error("the feed is busy (HTTP {status}) and asked to wait {}s", .wait.as_secs())]
    RetryAfter { status: u16, wait: Duration },
    #[error("the feed failed (HTTP {0})")]
    Server(u16),
    #[error("the feed answered HTTP {0}, which protocol v1 does not use")]
    Unexpected(u16),
    #[error("cannot reach the feed: {0}")]
    Network(String),
    #[error("the feed timed out: {0}")]
    Timeout(String),
    #[error("the feed sent more than 32 MiB in one answer; nothing from it was stored")]
    TooLarge,
    #[error("the feed's answer was cut short: {0}; nothing from it was stored")]
    Truncated(String),
    #[error("{0}")]
    Page(#[from] PageError),
    #[error("the feed redirected to another host ({0}); not followed, so the token was not sent there")]
    Redirect(String),
    #[error("the feed URL `{0}` is not a valid http(s) URL")]
    BadUrl(String),
    #[error("{0}")]
    CursorRefused(CursorRefused),
    #[error(
        "the stored cursor is {0} bytes, over vigil's limit of {MAX_CURSOR_BYTES}, so it cannot be sent; polling stopped: the DSL can run `vigil feed reset-cursor [--to CURSOR]`"
    )]
    StoredCursorTooLong(usize),
}

/// What the poller does after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Stop until the user retries or the config changes.
    Stop,
    /// Try again after exactly this long (the server said so, or a fixed slow retry).
    After(Duration),
    /// Exponential backoff with jitter.
    Backoff,
}

impl FeedError {
    pub fn next_step(&self) -> NextStep {
        match self {
            FeedError::Unauthorized(_) | FeedError::BadUrl(_) | FeedError::StoredCursorTooLong(_) => NextStep::Stop,
            FeedError::Page(PageError::UnsupportedVersion(_)) => NextStep::Stop,
            FeedError::RetryAfter { wait, .. } => NextStep::After(*wait),
            FeedError::NotFound(_) => NextStep::After(NOT_FOUND_RETRY),
            _ => NextStep::Backoff,
        }
    }
}

#[derive(Debug)]
pub enum Fetched {
    Page { page: Page, etag: Option<String> },
    NotModified,
}

/// A 200's body as it came, before it is parsed.
#[derive(Debug)]
pub enum FetchedBody {
    Body { body: Vec<u8>, etag: Option<String> },
    NotModified,
}

#[derive(Clone)]
pub struct FeedClient {
    /// For the feed's own origin: carries the token, and refuses to follow a redirect off that origin.
    http: reqwest::Client,
    /// For any other origin (a screenshot on a CDN): never carries the token.
    foreign: reqwest::Client,
    alerts_url: Url,
    base: Url,
    token: Option<String>,
    limit: Option<u32>,
    bounds: SyncBounds,
}

/// Joins `v1/alerts` onto a base that may carry a path, with no `//` and no lost segment.
pub fn alerts_url(base: &str) -> Result<Url, FeedError> {
    let base = normalized_base(base)?;
    base.join("v1/alerts").map_err(|_| FeedError::BadUrl(base.to_string()))
}

fn normalized_base(base: &str) -> Result<Url, FeedError> {
    let mut url = Url::parse(base.trim()).map_err(|_| FeedError::BadUrl(base.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(FeedError::BadUrl(base.to_string()));
    }
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{path}/"));
    url.set_query(None);
    Ok(url)
}

pub(crate) fn install_crypto_provider() {
    // Once per process; a second install returns Err, which only means it is already there.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl FeedClient {
    pub fn new(
        base: &str,
        token: Option<String>,
        limit: Option<u32>,
        timeouts: FeedTimeouts,
    ) -> Result<Self, FeedError> {
        install_crypto_provider();
        let base_url = normalized_base(base)?;
        let alerts_url = alerts_url(base)?;
        let home = base_url.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if !same_origin(attempt.url(), &home) {
                let host = attempt.url().host_str().unwrap_or("?").to_string();
                attempt.error(format!("redirect to {host}"))
            } else if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else {
                attempt.follow()
            }
        });
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(timeouts.connect)
                .read_timeout(timeouts.read)
                .timeout(timeouts.request)
                .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
        };
        let http = builder().redirect(policy).build().map_err(|e| FeedError::Network(e.to_string()))?;
        let foreign = builder()
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| FeedError::Network(e.to_string()))?;
        Ok(FeedClient { http, foreign, alerts_url, base: base_url, token, limit, bounds: SyncBounds::default() })
    }

    /// The same client, with these bounds on one sync.
    pub fn with_bounds(mut self, bounds: SyncBounds) -> Self {
        self.bounds = bounds;
        self
    }

    pub fn bounds(&self) -> SyncBounds {
        self.bounds
    }

    /// The feed's base URL, normalized to end in `/` (relative screenshot paths join onto it).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// A GET of any URL: with the token only when `url` is on the feed's own origin (scheme, host and
    /// port), so the token never travels anywhere else, redirects included.
    pub(crate) async fn get(&self, url: Url, accept: &str) -> Result<reqwest::Response, FeedError> {
        let req = if same_origin(&url, &self.base) {
            let req = self.http.get(url);
            match &self.token {
                Some(t) => req.header(AUTHORIZATION, format!("Bearer {t}")),
                None => req,
            }
        } else {
            self.foreign.get(url)
        };
        req.header(ACCEPT, accept).send().await.map_err(transport_error)
    }

    /// One GET of the alerts endpoint, parsed.
    pub async fn fetch(&self, since: Option<&str>, etag: Option<&str>) -> Result<Fetched, FeedError> {
        match self.fetch_body(since, etag).await? {
            FetchedBody::NotModified => Ok(Fetched::NotModified),
            FetchedBody::Body { body, etag } => Ok(Fetched::Page { page: parse_page(&body)?, etag }),
        }
    }

    /// One GET of the alerts endpoint: the body whole (under the cap), not yet parsed.
    pub async fn fetch_body(&self, since: Option<&str>, etag: Option<&str>) -> Result<FetchedBody, FeedError> {
        let mut url = self.alerts_url.clone();
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = since {
                q.append_pair("since", s);
            }
            if let Some(l) = self.limit {
                q.append_pair("limit", &l.to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let mut req = self.http.get(url).header(ACCEPT, "application/json");
        if let Some(t) = &self.token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(e) = etag {
            req = req.header(IF_NONE_MATCH, e);
        }
        let mut resp = req.send().await.map_err(transport_error)?;
        let status = resp.status();
        match status {
            StatusCode::OK => {}
            StatusCode::NOT_MODIFIED => return Ok(FetchedBody::NotModified),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Err(FeedError::Unauthorized(status.as_u16())),
            StatusCode::NOT_FOUND => return Err(FeedError::NotFound(self.base.to_string())),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                let wait = resp
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after(v, Utc::now()));
                return Err(match wait {
                    Some(wait) => FeedError::RetryAfter { status: status.as_u16(), wait },
                    None => FeedError::Server(status.as_u16()),
                });
            }
            s if s.is_server_error() => return Err(FeedError::Server(s.as_u16())),
            s => return Err(FeedError::Unexpected(s.as_u16())),
        }
        let etag = resp.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = read_capped(&mut resp, MAX_BODY_BYTES).await.map_err(|e| match e {
            BodyError::TooLarge => FeedError::TooLarge,
            BodyError::Timeout(m) => FeedError::Timeout(m),
            BodyError::Truncated(m) => FeedError::Truncated(m),
        })?;
        Ok(FetchedBody::Body { body, etag })
    }
}

/// Same scheme, host and port: the only place the token may go.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

fn transport_error(e: reqwest::Error) -> FeedError {
    if e.is_redirect() {
        // The message names only the host, never the token.
        return FeedError::Redirect(e.url().and_then(|u| u.host_str()).unwrap_or("another host").to_string());
    }
    if e.is_timeout() {
        return FeedError::Timeout(short(&e));
    }
    FeedError::Network(short(&e))
}

/// Why a body could not be read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    TooLarge,
    Timeout(String),
    Truncated(String),
}

/// Reads a body chunk by chunk, refusing it as soon as it passes `cap` bytes (declared or not), so an
/// oversized or endless body is never buffered whole.
pub(crate) async fn read_capped(resp: &mut reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    let declared = resp.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(1 << 20) as usize);
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) if e.is_timeout() => return Err(BodyError::Timeout(short(&e))),
            Err(e) => return Err(BodyError::Truncated(short(&e))),
        };
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    if let Some(n) = declared
        && n != body.len() as u64
    {
        return Err(BodyError::Truncated(format!("{} of {n} bytes", body.len())));
    }
    Ok(body)
}

/// The error chain in one line, without the URL (which may carry a path the user configured, but never
/// the token: the token only travels in a header).
fn short(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut msg = e.without_url_ref().to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut s = self.to_string();
        if let Some(u) = self.url() {
            s = s.replace(&format!(" ({u})"), "").replace(u.as_str(), "<feed>");
        }
        s
    }
}

/// `Retry-After` in either form: delay-seconds or an HTTP date, held between [`MIN_RETRY_AFTER`] (a date in
/// the past, or `0`, would otherwise mean "at once", again and again) and [`MAX_WAIT`].
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let when = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
            (when - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.clamp(MIN_RETRY_AFTER, MAX_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_join_without_double_slashes_or_lost_segments() {
        for (base, want) in [
            ("http://h:1", "http://h:1/v1/alerts"),
            ("http://h:1/", "http://h:1/v1/alerts"),
            ("https://bridge.example/feeds/college", "https://bridge.example/feeds/college/v1/alerts"),
            ("https://bridge.example/feeds/college/", "https://bridge.example/feeds/college/v1/alerts"),
        ] {
            assert_eq!(alerts_url(base).expect("valid").as_str(), want);
        }
        assert!(alerts_url("ftp://x").is_err());
        assert!(alerts_url("not a url").is_err());
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-10T10:00:00Z").expect("lit").with_timezone(&Utc);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("Tue, 10 Nov 2026 10:01:30 GMT", now), Some(Duration::from_secs(90)));
        assert_eq!(retry_after("Tue, 10 Nov 2026 09:00:00 GMT", now), Some(MIN_RETRY_AFTER), "a past date is floored");
        assert_eq!(retry_after("0", now), Some(MIN_RETRY_AFTER), "0 is floored");
        assert_eq!(retry_after("1", now), Some(MIN_RETRY_AFTER));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("9000000000000", now), Some(MAX_WAIT), "absurd waits are capped, not overflowed");
        assert_eq!(retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now), Some(MAX_WAIT));
    }

    #[test]
    fn next_steps_follow_the_protocol_table() {
        assert_eq!(FeedError::Unauthorized(401).next_step(), NextStep::Stop);
        assert_eq!(FeedError::Page(PageError::UnsupportedVersion("x/2".into())).next_step(), NextStep::Stop);
        assert_eq!(FeedError::NotFound("u".into()).next_step(), NextStep::After(NOT_FOUND_RETRY));
        let w = Duration::from_secs(7);
        assert_eq!(FeedError::RetryAfter { status: 429, wait: w }.next_step(), NextStep::After(w));
        assert_eq!(FeedError::Server(502).next_step(), NextStep::Backoff);
        assert_eq!(FeedError::TooLarge.next_step(), NextStep::Backoff);
    }

    #[test]
    fn the_token_goes_only_to_the_feeds_own_origin() {
        let base = Url::parse("https://bridge.example/feeds/").expect("lit");
        for (other, same) in [
            ("https://bridge.example/x.png", true),
            ("https://bridge.example:443/x.png", true),
            ("http://bridge.example/x.png", false),
            ("https://bridge.example:8443/x.png", false),
            ("https://cdn.example/x.png", false),
            ("https://bridge.example.evil/x.png", false),
        ] {
            assert_eq!(same_origin(&Url::parse(other).expect("lit"), &base), same, "{other}");
        }
    }
}
