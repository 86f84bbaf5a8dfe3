//! Fuzzes the protocol v1 page parser: any bytes must give a page or an error, never a panic, and every
//! alert of a page must either pass validation or be kept whole (raw JSON and a reason) for quarantine.
//!
//! `cargo +nightly fuzz run parse_page` (from the repository root).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::feed::protocol::{parse_alert, parse_page};

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = parse_page(data) {
        assert!(!page.more || page.cursor.is_some(), "`more` without a cursor must be an error");
        for rejected in &page.rejected {
            assert!(!rejected.reason.is_empty());
            assert!(parse_alert(&rejected.raw).is_err(), "a rejected alert fails again on its own");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_alert(text);
    }
});
