//! Screenshots of an alert's captures: fetched, checked, decoded with strict limits, and cached.
//!
//! The rules (protocol v1, "Screenshot object"):
//! - an alert with `suspected_illegal: true` never has a screenshot fetched or returned, by any caller: the
//!   service refuses it before the cache or the network (the service's screenshots), and a download
//!   happens only for what the service named;
//! - the URL is absolute (`http`/`https`) or a path relative to the feed's base (joined like `v1/alerts`, so a
//!   base with a path keeps it);
//! - the token goes with the request only when the URL is on the feed's own origin, redirects included;
//! - at most [`MAX_SCREENSHOT_BYTES`], streamed and refused beyond; checked against `sha256` when given;
//! - decoded with strict [`image::Limits`] to prove it is a bounded PNG or JPEG of the declared type;
//! - cached by the service, which checks the bytes again first.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};

use super::client::{BodyError, FeedClient, FeedError, read_capped};

/// One screenshot is refused beyond this many bytes.
pub const MAX_SCREENSHOT_BYTES: usize = 10 * 1024 * 1024;
/// Neither side of a screenshot may exceed this many pixels.
pub const MAX_SIDE: u32 = 8192;
/// The decoder may allocate at most this much for one screenshot.
pub const MAX_DECODE_ALLOC: u64 = 128 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreenshotError {
    #[error("moderators suspect illegal content: no image is fetched or shown")]
    SuspectedIllegal,
    #[error("the case is on the illegal-content path: no image is fetched or shown")]
    IllegalPath,
    #[error("capture {0} has no screenshot")]
    NoScreenshot(usize),
    #[error("the screenshot URL is not a valid http(s) URL or path")]
    BadUrl,
    #[error("the screenshot's relative path leads outside the feed's base path; refused (the token stays home)")]
    OutsideBase,
    #[error("the screenshot could not be fetched: {0}")]
    Feed(FeedError),
    #[error("the screenshot server answered HTTP {0}")]
    Status(u16),
    #[error("the screenshot is larger than 10 MiB; refused")]
    TooLarge,
    #[error("the screenshot does not match its sha256; refused")]
    ChecksumMismatch,
    #[error("the screenshot is not a valid {media_type} within {MAX_SIDE}x{MAX_SIDE} pixels: {detail}")]
    NotAnImage { media_type: String, detail: String },
}

/// Where a screenshot lives: an absolute http(s) URL, or a path relative to the feed's base.
pub fn screenshot_url(base: &Url, url: &str) -> Result<Url, ScreenshotError> {
    let url = url.trim();
    if url.starts_with("http://") || url.starts_with("https://") {
        return Url::parse(url).ok().filter(|u| u.host_str().is_some()).ok_or(ScreenshotError::BadUrl);
    }
    if url.is_empty() || url.contains("://") {
        return Err(ScreenshotError::BadUrl);
    }
    // A relative path is relative to the base, even with a leading `/` (which would otherwise drop the
    // base's own path), and `//host/x` can never name another host.
    let joined = base.join(url.trim_start_matches('/')).map_err(|_| ScreenshotError::BadUrl)?;
    // It must also stay under the base's path: `../`, however spelt (`%2e%2e/`, `..\`), would otherwise
    // reach the rest of the feed's host, with the token. The check is on the resolved URL, so every
    // spelling the URL parser resolves is caught.
    if !super::client::same_origin(&joined, base) || !joined.path().starts_with(base.path()) {
        return Err(ScreenshotError::OutsideBase);
    }
    Ok(joined)
}

/// Downloads a screenshot the service named for fetching: `url` as the feed gave it,
/// checked against `sha256` when given and decoded once under [`limits`] as `media_type`. The service checks
/// it again before caching it.
pub async fn download(
    client: &FeedClient,
    url: &str,
    media_type: &str,
    sha256: Option<&str>,
) -> Result<Vec<u8>, ScreenshotError> {
    let url = screenshot_url(client.base(), url)?;
    let accept = "image/png, image/jpeg";
    let mut resp = client.get(url, accept).await.map_err(ScreenshotError::Feed)?;
    if resp.status() != StatusCode::OK {
        return Err(ScreenshotError::Status(resp.status().as_u16()));
    }
    let bytes = read_capped(&mut resp, MAX_SCREENSHOT_BYTES).await.map_err(|e| match e {
        BodyError::TooLarge => ScreenshotError::TooLarge,
        BodyError::Timeout(m) => ScreenshotError::Feed(FeedError::Timeout(m)),
        BodyError::Truncated(m) => ScreenshotError::Feed(FeedError::Truncated(m)),
    })?;
    if let Some(want) = sha256
        && !hex::encode(Sha256::digest(&bytes)).eq_ignore_ascii_case(want)
    {
        return Err(ScreenshotError::ChecksumMismatch);
    }
    let media_type = media_type.to_string();
    // Decoding is CPU work: keep it off the runtime's threads (the UI runs there).
    let checked = media_type.clone();
    tokio::task::spawn_blocking(move || verify_image(&checked, &bytes).map(|()| bytes))
        .await
        .map_err(|e| ScreenshotError::NotAnImage { media_type, detail: e.to_string() })?
}

/// The strict limits every screenshot is decoded under.
pub fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
}

/// Decodes the whole image under [`limits`]: it must be the declared format and within bounds.
pub fn verify_image(media_type: &str, bytes: &[u8]) -> Result<(), ScreenshotError> {
    let err = |detail: String| ScreenshotError::NotAnImage { media_type: media_type.to_string(), detail };
    let format = match media_type {
        "image/png" => ImageFormat::Png,
        "image/jpeg" => ImageFormat::Jpeg,
        other => return Err(err(format!("unsupported media type `{other}`"))),
    };
    let sniffed = image::guess_format(bytes).map_err(|e| err(e.to_string()))?;
    if sniffed != format {
        return Err(err(format!("the bytes are {}", sniffed.to_mime_type())));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    reader.decode().map(|_| ()).map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::new(width, height);
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).expect("encode");
        out.into_inner()
    }

    #[test]
    fn relative_paths_join_onto_the_base_and_keep_its_path() {
        let base = Url::parse("https://bridge.example/feeds/college/").expect("lit");
        for (given, want) in [
            ("screenshots/a.png", "https://bridge.example/feeds/college/screenshots/a.png"),
            ("/screenshots/a.png", "https://bridge.example/feeds/college/screenshots/a.png"),
            ("//evil.example/a.png", "https://bridge.example/feeds/college/evil.example/a.png"),
            ("https://cdn.example/a.png", "https://cdn.example/a.png"),
        ] {
            assert_eq!(screenshot_url(&base, given).expect(given).as_str(), want);
        }
        assert_eq!(screenshot_url(&base, "ftp://x/a.png"), Err(ScreenshotError::BadUrl));
        for outside in [
            "../other/a.png",
            "screenshots/../../a.png",
            "%2e%2e/a.png",
            "%2E%2E/%2e%2e/admin",
            "..\\a.png",
            "/../a.png",
            "..",
        ] {
            assert_eq!(screenshot_url(&base, outside), Err(ScreenshotError::OutsideBase), "{outside}");
        }
        assert_eq!(
            screenshot_url(&base, "shots/../a.png").expect("stays inside").as_str(),
            "https://bridge.example/feeds/college/a.png"
        );
        assert_eq!(screenshot_url(&base, ""), Err(ScreenshotError::BadUrl));
    }

    #[test]
    fn images_are_verified_against_type_and_limits() {
        assert_eq!(verify_image("image/png", &png(4, 3)), Ok(()));
        assert!(matches!(verify_image("image/jpeg", &png(4, 3)), Err(ScreenshotError::NotAnImage { .. })));
        assert!(matches!(verify_image("image/png", b"not an image"), Err(ScreenshotError::NotAnImage { .. })));
        let wide = png(MAX_SIDE + 1, 1);
        assert!(matches!(verify_image("image/png", &wide), Err(ScreenshotError::NotAnImage { .. })));
        let mut cut = png(64, 64);
        cut.truncate(cut.len() / 2);
        assert!(matches!(verify_image("image/png", &cut), Err(ScreenshotError::NotAnImage { .. })));
    }
}
