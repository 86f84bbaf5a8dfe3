//! Screenshots as the service hands them out: refused on the illegal-content path, served from the cache, or
//! named for the surface to fetch and give back for the cache.
//!
//! The refusal lives here, before the cache or the network, so no surface can show one by forgetting it
//! (protocol v1: an alert with `suspected_illegal` never has a screenshot fetched or returned; the procedure
//! extends that to every case on the illegal-content path). Fetching over HTTP is the feed's
//! ([`crate::feed::screenshots`]): the service never opens a connection.

use sha2::{Digest, Sha256};

use super::api::Shot;
use super::{Asking, Result};
use crate::domain::{Alert, AlertKey, Level, Screenshot};
use crate::feed::screenshots::{ScreenshotError, verify_image};

/// The screenshot cache in the store holds at most this much; the oldest entries go first.
pub const CACHE_CAP_BYTES: u64 = 200 * 1024 * 1024;

/// The cache key: the checksum when the feed gave one (the bytes are then verified), else a hash of the
/// alert and the reference it gives. Cache keys are stored in the clear, and a URL can name a student.
pub fn cache_name(key: &AlertKey, shot: &Screenshot) -> String {
    match &shot.sha256 {
        Some(h) => format!("sha256:{}", h.to_ascii_lowercase()),
        None => {
            let mut h = Sha256::new();
            for part in [key.source.as_bytes(), key.id.as_bytes(), shot.url.trim().as_bytes()] {
                h.update((part.len() as u64).to_be_bytes());
                h.update(part);
            }
            format!("ref:{}", hex::encode(h.finalize()))
        }
    }
}

fn matches_checksum(shot: &Screenshot, bytes: &[u8]) -> bool {
    match &shot.sha256 {
        None => true,
        Some(want) => hex::encode(Sha256::digest(bytes)).eq_ignore_ascii_case(want),
    }
}

impl Asking<'_> {
    /// The alert and the screenshot of its capture `index`, when this viewer may see it and it is not on the
    /// illegal-content path.
    fn screenshot_of(&self, key: &AlertKey, index: usize) -> Result<(Alert, Screenshot)> {
        self.require_reviewer()?;
        let (alert, _, case) = self.load(key)?;
        // The illegal-content path ("stop reviewing the content") covers more than the vendor's flag: a case
        // the procedure or the reviewer put on it is refused too.
        if alert.suspected_illegal {
            return Err(ScreenshotError::SuspectedIllegal.into());
        }
        if case.illegal_path {
            return Err(ScreenshotError::IllegalPath.into());
        }
        let shot =
            alert.captures.get(index).and_then(|c| c.screenshot.clone()).ok_or(ScreenshotError::NoScreenshot(index))?;
        Ok((alert, shot))
    }

    /// The screenshot of capture `index`: its verified bytes from the cache, or where to fetch it.
    pub(super) fn screenshot(&self, key: &AlertKey, index: usize) -> Result<Shot> {
        let (alert, shot) = self.screenshot_of(key, index)?;
        // An image that came attached to a vendor's e-mail is in the store: never fetched.
        if let Some(name) = alert.mail.as_ref().and_then(|m| m.image_blob_name(&shot.url)) {
            let bytes = self.store.blob(&name)?.ok_or(ScreenshotError::NoScreenshot(index))?;
            if !matches_checksum(&shot, &bytes) {
                return Err(ScreenshotError::ChecksumMismatch.into());
            }
            return Ok(Shot::Cached { bytes });
        }
        if let Some(bytes) = self.store.cached_blob(&cache_name(&alert.key, &shot))?
            && matches_checksum(&shot, &bytes)
        {
            return Ok(Shot::Cached { bytes });
        }
        Ok(Shot::Fetch { url: shot.url, media_type: shot.media_type, sha256: shot.sha256 })
    }

    /// Caches a screenshot a surface fetched, after checking it again here: the case may have gone onto the
    /// illegal-content path while it was fetched, and the bytes must be the ones the feed declared.
    pub(super) fn cache_screenshot(&self, key: &AlertKey, index: usize, bytes: &[u8]) -> Result<()> {
        let (alert, shot) = self.screenshot_of(key, index)?;
        if !matches_checksum(&shot, bytes) {
            return Err(ScreenshotError::ChecksumMismatch.into());
        }
        verify_image(&shot.media_type, bytes)?;
        self.store.cache_blob(&cache_name(&alert.key, &shot), bytes, CACHE_CAP_BYTES)?;
        Ok(())
    }

    /// The screenshots of every open High case this viewer may see that are not cached yet and may be shown.
    pub(super) fn screenshots_to_prefetch(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<(AlertKey, usize)>> {
        let mut out = Vec::new();
        let queue = self.queue_open(now)?;
        for case in queue.iter().filter(|c| c.open && c.level == Level::High && !c.suspected_illegal && !c.illegal_path)
        {
            let Some(alert) = self.store.alert(&case.key)? else { continue };
            for (i, capture) in alert.captures.iter().enumerate() {
                let Some(shot) = &capture.screenshot else { continue };
                if alert.mail.as_ref().is_some_and(|m| m.image_blob_name(&shot.url).is_some()) {
                    continue;
                }
                // Counted as cached without reading it back (each poll would otherwise decrypt it again).
                if !self.store.has_cached_blob(&cache_name(&alert.key, shot))? {
                    out.push((alert.key.clone(), i));
                }
            }
        }
        Ok(out)
    }
}
