//! `vigil report` through the real binary, and the HTML report rendered by headless Chromium.

use crate::report_fixture;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use report_fixture as fx;
use vigil::identity::{Role, os_user};
use vigil::report::{Format, render};
use vigil::store::StoreKey;

/// A data dir holding the fixture store, and a config giving the current OS user `role`.
struct Setup {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
}

fn setup(role: &str) -> Setup {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let key = tmp.path().join("store.key");
    // Built, then closed (dropped) so that the binary can take the store's lock.
    drop(fx::build_at(&data, &StoreKey::file(&key)));
    let user = os_user().expect("os user");
    let config = tmp.path().join("config.toml");
    // The binary runs retention against the real clock at start; the fixture's cases closed in October 2026
    // would be purged 15 months later and these tests fail from 2028. The longest retention keeps them.
    std::fs::write(
        &config,
        format!("[roles]\n{role} = [\"{user}\"]\n\n[storage]\nkey_file = {key:?}\nretention_months = 1200\n"),
    )
    .expect("write config");
    Setup { _tmp: tmp, data, config }
}

impl Setup {
    fn vigil(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
        for (k, _) in std::env::vars() {
            if k.starts_with("VIGIL_") {
                cmd.env_remove(k);
            }
        }
        cmd.arg("--config").arg(&self.config).arg("--data-dir").arg(&self.data).args(args);
        cmd.output().expect("the binary runs")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const OCTOBER: [&str; 4] = ["--from", "2026-10-01", "--to", "2026-10-31"];

#[test]
fn a_reporter_can_run_a_report_and_nothing_else() {
    let s = setup("reporter");
    let out = s.vigil(&[&["report"][..], &OCTOBER, &["--format", "json"]].concat());
    assert!(out.status.success(), "report failed: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["total"], 20);
    assert_eq!(json["by_level"]["low"], 10);
    assert!(json.get("staff").is_none());

    let list = s.vigil(&["list"]);
    assert!(!list.status.success(), "a reporter must not list cases");
    assert!(list.stdout.is_empty(), "nothing of the queue is printed: {}", text(&list.stdout));
    assert!(text(&list.stderr).contains("reporter"), "{}", text(&list.stderr));
    let show = s.vigil(&["show", "qz-o01"]);
    assert!(!show.status.success(), "a reporter must not open a case");

    let staff = s.vigil(&[&["report"][..], &OCTOBER, &["--include-staff"]].concat());
    assert_eq!(staff.status.code(), Some(3), "{}", text(&staff.stderr));
    assert!(text(&staff.stderr).contains("only the DSL"), "{}", text(&staff.stderr));

    // The export is logged without content.
    let log = std::fs::read_to_string(s.data.join("vigil.log")).expect("log file");
    assert!(log.contains("report exported"), "{log}");
    assert!(log.contains("format=\"json\"") || log.contains("format=json"), "{log}");
    for f in fx::forbidden() {
        assert!(!log.contains(&f), "{f:?} in the log");
    }
}

#[test]
fn report_defaults_and_out_file() {
    let s = setup("dsl");
    // Defaults: the last 30 days, Markdown on stdout.
    let out = s.vigil(&["report"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let md = text(&out.stdout);
    assert!(md.starts_with("# Monitoring alerts report\n"), "{md}");
    assert!(md.contains("(30 days, Europe/London)"), "{md}");

    let file = s.data.parent().expect("tmp").join("report.html");
    let file_arg = file.to_str().expect("utf-8 path");
    let out =
        s.vigil(&[&["report"][..], &OCTOBER, &["--format", "html", "--include-staff", "--out", file_arg]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "with --out nothing goes to stdout");
    let html = std::fs::read_to_string(&file).expect("report file");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Alerts about staff (DSL only)"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the report file is its owner's alone");

    let csv = s.vigil(&[&["report"][..], &OCTOBER, &["--format", "csv"]].concat());
    assert!(text(&csv.stdout).starts_with("section,key,value\n"));

    let backwards = s.vigil(&["report", "--from", "2026-10-31", "--to", "2026-10-01"]);
    assert_eq!(backwards.status.code(), Some(2), "{}", text(&backwards.stderr));
    assert!(text(&backwards.stderr).contains("is after"));
}

// ---------- headless Chromium ----------

const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs `cmd` for at most `limit`, killing it after that.
fn run_with_limit(mut cmd: Command, limit: Duration) -> std::process::ExitStatus {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("chromium starts");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn png_dimensions(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    if !Path::new(CHROMIUM).exists() {
        // .ci/run installs Debian's chromium: in CI a missing browser is a failure, not a skip.
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{CHROMIUM} is missing in CI");
        eprintln!("skipped: {CHROMIUM} is not installed (apt-get install chromium)");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = fx::build(tmp.path());
    let html = render(Format::Html, &fx::figures(&store, fx::viewer(Role::Dsl, true), true, 5));
    drop(store);
    let page = tmp.path().join("report.html");
    std::fs::write(&page, &html).expect("write html");
    let shot = tmp.path().join("report.png");
    let profile = tmp.path().join("profile");
    let mut cmd = Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--screenshot={}", shot.display()))
    .arg("--window-size=1000,1400")
    .arg(format!("file://{}", page.display()));
    let status = run_with_limit(cmd, Duration::from_secs(120));
    assert!(status.success(), "chromium exited with {status}");
    let png = std::fs::read(&shot).expect("chromium wrote a screenshot");
    assert_eq!(png_dimensions(&png), (1000, 1400));
    // A blank page compresses to a few kilobytes; the report's text, tables and hatched bars do not.
    assert!(png.len() > 40_000, "the screenshot is only {} bytes: did the page render?", png.len());
    let image = image::load_from_memory(&png).expect("decodes").to_luma8();
    let dark = image.pixels().filter(|p| p.0[0] < 96).count();
    let share = dark as f64 / (1000.0 * 1400.0);
    assert!(share > 0.01 && share < 0.5, "{:.1}% dark pixels: not a rendered report", share * 100.0);
}
