//! Screenshots fetched for the service: it names what to fetch (or refuses, on the illegal-content path),
//! the feed's client downloads and checks it, and the service checks it again before caching it.

use chrono::Utc;

use crate::domain::AlertKey;
use crate::feed::client::FeedClient;
use crate::feed::screenshots::download;
use crate::service::api::Shot;
use crate::service::{ServiceError, Session};

/// The screenshot of capture `index` of a case: from the service's cache, or fetched and given to the
/// service for its cache. The service refuses a case on the illegal-content path before anything else.
/// Without a feed client (a client of the shared service, which fetches for it) only the cache answers.
pub async fn fetch(
    client: Option<&FeedClient>,
    session: &Session,
    key: &AlertKey,
    index: usize,
) -> Result<Vec<u8>, ServiceError> {
    let (url, media_type, sha256) = match blocking(session, {
        let key = key.clone();
        move |s| s.screenshot(&key, index)
    })
    .await?
    {
        Shot::Cached { bytes } => return Ok(bytes),
        Shot::Fetch { url, media_type, sha256 } => (url, media_type, sha256),
    };
    let Some(client) = client else {
        return Err(ServiceError::Said("no feed connection to fetch the screenshot from".into()));
    };
    let bytes = download(client, &url, &media_type, sha256.as_deref()).await?;
    let key = key.clone();
    blocking(session, move |s| s.cache_screenshot(&key, index, bytes.clone()).map(|()| bytes)).await
}

/// A service call on a blocking worker (the store reads and decrypts; the runtime's threads run the UI).
async fn blocking<T: Send + 'static>(
    session: &Session,
    call: impl FnOnce(&Session) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    let session = session.clone();
    tokio::task::spawn_blocking(move || call(&session))
        .await
        .unwrap_or_else(|e| Err(ServiceError::Unexpected(format!("a screenshot worker stopped: {e}"))))
}

/// What a prefetch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefetchReport {
    /// Screenshots now in the cache (fetched here).
    pub ready: usize,
    pub failed: usize,
}

/// Fetches ahead the screenshots of every open High case this viewer may see that the cache lacks, so
/// opening one is instant. The service leaves out the illegal-content path. Failures are logged without
/// content and counted; they never fail the caller.
pub async fn prefetch_high(client: &FeedClient, session: &Session) -> PrefetchReport {
    let mut report = PrefetchReport::default();
    let wanted = match blocking(session, |s| s.screenshots_to_prefetch(Utc::now())).await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "screenshot prefetch: cannot read the queue");
            return report;
        }
    };
    for (key, index) in wanted {
        match fetch(Some(client), session, &key, index).await {
            Ok(_) => report.ready += 1,
            Err(e) => {
                report.failed += 1;
                tracing::warn!(error = %e, "screenshot prefetch failed");
            }
        }
    }
    if report.ready + report.failed > 0 {
        tracing::info!(ready = report.ready, failed = report.failed, "screenshot prefetch done");
    }
    report
}
