//! Mail import throughput (issue 17): `vigil mail import` of a 10,000-message maildir, the release binary
//! itself (the embedded store, parse, rules, seal, store, flush: what a DSL's command does, process start
//! and store creation included) into a fresh data dir, against its floor measured in the same run: the same
//! files read and parsed by `mail_parser::MessageParser` alone, one after another on one thread (what reading
//! the maildir must do at the least; no rules, no sealing, no store). The budget is a rate (2,000 messages/s
//! on the 2-core machine); the ratio to the floor is what holds from one machine to another (issue 14):
//! see the README's Performance section.
//!
//! The maildir is generated in a tempdir: fictional vendor alert e-mails from the shipped rules' senders, a
//! mix of plain text, HTML in quoted-printable, base64 text in two charsets, plain and HTML alternatives,
//! small PNG screenshots attached, alerts forwarded as attachments, and a few no rule reads (stored as
//! unparsed alerts). Every message becomes an alert, each with its own Message-ID and event reference.
//!
//! `cargo bench --bench mail_import`. After criterion's report, one summary line gives the rates and the
//! ratio. `VIGIL_BENCH_MAILDIR=DIR` keeps the generated maildir in `DIR/Maildir`, to profile an import of it.

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use criterion::{BatchSize, Criterion, Throughput};

/// The allocator of the vigil binary (src/main.rs), so the floor runs under the binary's allocator too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MESSAGES: usize = 10_000;
const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

const EVENT_TYPES: [&str; 8] = [
    "Vulnerable Person",
    "Bullying",
    "Violence",
    "Self Harm",
    "Grooming",
    "Offensive User",
    "Oversharer",
    "General Risk",
];
const FIRST_NAMES: [&str; 6] = ["Tegen", "Rhys", "Amira", "Kofi", "Léa", "Zofia"];
const MODERATOR: [&str; 4] = [
    "Student searched for ways to leave home tonight without anyone knowing.",
    "Repeated insults about a classmate in a group chat.",
    "An adult contact asked the student to move to a private app and keep it secret.",
    "Student wrote about hurting themselves tonight.",
];

/// The Date header and the event's own time of message `n` (a few days of alerts, minutes apart).
fn times(n: usize) -> (String, String) {
    let minutes = n * 7;
    let (day, hour, minute) = (1 + (minutes / 1440) % 28, (minutes / 60) % 24, minutes % 60);
    let date = format!("{day:02} Nov 2026 {hour:02}:{minute:02}:00 +0000");
    let raised = format!("{day:02}/11/2026 {hour:02}:{minute:02}");
    (date, raised)
}

/// The labelled fields a Smoothwall Monitor alert carries, as plain text lines.
fn fields(n: usize) -> String {
    let (_, raised) = times(n);
    format!(
        "A new event needs your attention.\r\n\r\nRisk Level: {risk}\r\nEvent Type: {event}\r\nUsername: s.{user:05}\r\n\
         Full Name: {first} Fictional\r\nHostname: HPC-LAP-{host:04}\r\nEvent Raised: {raised}\r\nMessage: {message}\r\n\
         Event ID: EV-{n:07}\r\n\r\nView the event: https://monitor.smoothwall.example/events/EV-{n:07}\r\n",
        risk = 1 + n % 5,
        event = EVENT_TYPES[n % EVENT_TYPES.len()],
        user = n % 6_000,
        first = FIRST_NAMES[n % FIRST_NAMES.len()],
        host = n % 2_000,
        message = MODERATOR[n % MODERATOR.len()],
    )
}

/// The same fields as an HTML table (how an HTML-only vendor lays them out), with what must never run.
fn html_fields(n: usize) -> String {
    let mut rows = String::new();
    for line in fields(n).lines().filter(|l| l.contains(": ")) {
        let (label, value) = line.split_once(": ").unwrap_or((line, ""));
        rows.push_str(&format!("<tr><td>{label}:</td><td>{value}</td></tr>\n"));
    }
    format!(
        "<html><head><script>fetch(\"https://evil.example/x\")</script><style>td{{padding:2px}}</style></head><body>\n\
         <img src=\"https://tracker.example/pixel.gif\" width=\"1\">\n<p>A new event needs your attention.</p>\n\
         <table>\n{rows}</table>\n<p><a href=\"https://monitor.smoothwall.example/events/EV-{n:07}\">View the event</a></p>\
         </body></html>\n"
    )
}

/// Quoted-printable, as a mail client writes it: `=` and non-ASCII escaped, soft breaks before 76 columns.
fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    for line in text.split("\r\n") {
        let mut width = 0;
        for &b in line.as_bytes() {
            let piece =
                if b == b'=' || !(b' '..=b'~').contains(&b) { format!("={b:02X}") } else { (b as char).to_string() };
            if width + piece.len() > 75 {
                out.push_str("=\r\n");
                width = 0;
            }
            width += piece.len();
            out.push_str(&piece);
        }
        out.push_str("\r\n");
    }
    out
}

fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::new();
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str("\r\n");
    }
    out
}

/// A small screenshot (96x64 PNG, a few kB), different for each message.
fn screenshot(n: usize) -> Vec<u8> {
    let image = image::RgbImage::from_fn(96, 64, |x, y| {
        let v = (x as usize * 7 + y as usize * 13 + n * 31) as u8;
        image::Rgb([v, v.wrapping_mul(3), 255 - v])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).expect("encode png");
    png.into_inner()
}

fn header(n: usize, from: &str, subject: &str, host: &str) -> String {
    let (date, _) = times(n);
    format!(
        "Return-Path: <bounce@{host}>\r\nReceived: from mx.{host} by mail.college.example; {date}\r\nFrom: {from}\r\n\
         To: dsl@college.example\r\nSubject: {subject}\r\nMessage-ID: <alert-{n:07}@{host}>\r\nDate: {date}\r\n\
         MIME-Version: 1.0\r\n"
    )
}

/// Message `n` of the maildir.
fn message(n: usize) -> Vec<u8> {
    let smoothwall = "Smoothwall Monitor <noreply@smoothwall.com>";
    let subject = format!("Monitor alert: {} (Level {})", EVENT_TYPES[n % EVENT_TYPES.len()], 1 + n % 5);
    let text = fields(n);
    let body = match n % 100 {
        // Plain text, UTF-8.
        0..=39 => format!(
            "{}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}",
            header(n, smoothwall, &subject, "smoothwall.example")
        ),
        // HTML only, quoted-printable (Linewize Monitor, US), with an encoded-word subject.
        40..=59 => format!(
            "{}Content-Type: multipart/alternative; boundary=\"alt-{n}\"\r\n\r\n--alt-{n}\r\n\
             Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}--alt-{n}--\r\n",
            header(
                n,
                "\"Linewize Monitor\" <noreply-monitor@linewize.com>",
                "=?UTF-8?Q?Monitor_alert_=E2=80=93_new_event?=",
                "linewize.example"
            ),
            quoted_printable(&html_fields(n).replace('\n', "\r\n"))
        ),
        // Base64 text, in ISO-8859-1 or UTF-8.
        60..=74 => {
            let (charset, bytes) = if n.is_multiple_of(2) {
                ("iso-8859-1", text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect::<Vec<u8>>())
            } else {
                ("utf-8", text.clone().into_bytes())
            };
            format!(
                "{}Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                header(n, smoothwall, &subject, "smoothwall.example"),
                base64_lines(&bytes)
            )
        }
        // Plain and HTML alternatives, both quoted-printable.
        75..=86 => format!(
            "{}Content-Type: multipart/alternative; boundary=\"alt-{n}\"\r\n\r\n--alt-{n}\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}--alt-{n}\r\n\
             Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}--alt-{n}--\r\n",
            header(n, smoothwall, &subject, "smoothwall.example"),
            quoted_printable(&text),
            quoted_printable(&html_fields(n).replace('\n', "\r\n"))
        ),
        // A small screenshot attached.
        87..=91 => format!(
            "{}Content-Type: multipart/mixed; boundary=\"mix-{n}\"\r\n\r\n--mix-{n}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             {text}--mix-{n}\r\nContent-Type: image/png; name=\"capture-{n}.png\"\r\n\
             Content-Disposition: attachment; filename=\"capture-{n}.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--mix-{n}--\r\n",
            header(n, smoothwall, &subject, "smoothwall.example"),
            base64_lines(&screenshot(n))
        ),
        // Forwarded by the DSL as an attachment: the alert inside counts.
        92..=95 => format!(
            "{}Content-Type: multipart/mixed; boundary=\"fwd-{n}\"\r\n\r\n--fwd-{n}\r\nContent-Type: text/plain\r\n\r\n\
             Forwarding the one that came to my own inbox.\r\n--fwd-{n}\r\nContent-Type: message/rfc822\r\n\r\n{}\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{text}--fwd-{n}--\r\n",
            header(n, "The DSL <dsl@college.example>", &format!("Fwd: {subject}"), "college.example"),
            header(n + 1_000_000, smoothwall, &subject, "smoothwall.example")
        ),
        // From a vendor, but in a layout no rule reads: stored unparsed, at the default level.
        _ => format!(
            "{}Content-Type: text/plain; charset=utf-8\r\n\r\nUsers who caused an alert this week: {}. Captures: {}.\r\n",
            header(n, smoothwall, "Weekly dashboard", "smoothwall.example"),
            n % 40,
            n % 400
        ),
    };
    body.into_bytes()
}

/// A maildir of [`MESSAGES`] messages under `dir`, as a mail client keeps one (read ones in `cur/`).
fn maildir(dir: &Path) -> (PathBuf, usize) {
    let md = dir.join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).expect("mkdir");
    }
    let mut bytes = 0;
    for n in 0..MESSAGES {
        let m = message(n);
        bytes += m.len();
        let name = if n.is_multiple_of(3) {
            format!("new/1764{n:07}.M{n}P1.mail.college.example")
        } else {
            format!("cur/1764{n:07}.M{n}P1.mail.college.example:2,S")
        };
        std::fs::write(md.join(name), m).expect("write a message");
    }
    (md, bytes)
}

/// A vigil for the current OS user as the DSL, with its data dir and key under `dir` (nothing there yet).
fn config(dir: &Path) -> PathBuf {
    let user = vigil::identity::os_user().expect("the OS user");
    let config = dir.join("config.toml");
    let key = dir.join("store.key");
    std::fs::write(&config, format!("[roles]\ndsl = [\"{user}\"]\n\n[storage]\nkey_file = {key:?}\n"))
        .expect("write the config");
    config
}

/// `vigil mail import MAILDIR` into a fresh data dir; its summary line.
fn import(maildir: &Path) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    config(dir.path());
    let out = reimport(dir.path(), maildir);
    (dir, out)
}

/// `vigil mail import MAILDIR` into `dir`'s store (new or not); its summary line.
fn reimport(dir: &Path, maildir: &Path) -> String {
    let mut cmd = Command::new(VIGIL);
    for (k, _) in std::env::vars() {
        if k.starts_with("VIGIL_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .arg("mail")
        .arg("import")
        .arg(maildir)
        .stdin(Stdio::null())
        .output()
        .expect("vigil runs");
    assert!(out.status.success(), "vigil mail import failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The maildir's files, in the order the import reads them.
fn files(maildir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["new", "cur"]
        .iter()
        .flat_map(|sub| std::fs::read_dir(maildir.join(sub)).expect("read the maildir"))
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

/// The floor: each file read and parsed by the mail-parsing crate alone, one after another.
fn plain_parse(files: &[PathBuf]) -> usize {
    let parser = mail_parser::MessageParser::default();
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).expect("read a message");
            parser.parse(&bytes).map_or(0, |m| black_box(m.parts.len()).min(1))
        })
        .sum()
}

fn benches(c: &mut Criterion, maildir: &Path, files: &[PathBuf]) {
    let mut group = c.benchmark_group("mail-10k");
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(20));
    group.bench_function("vigil mail import (binary: open, parse, rules, seal, store, flush)", |b| {
        b.iter_batched(
            || (),
            |()| import(black_box(maildir)), // the tempdir is removed outside the measurement
            BatchSize::PerIteration,
        )
    });
    group.bench_function("floor (read + mail_parser::MessageParser, one thread)", |b| {
        b.iter(|| assert_eq!(plain_parse(black_box(files)), MESSAGES))
    });
    group.finish();
}

/// Best of a few runs of each, for the one-line summary.
fn summary(maildir: &Path, files: &[PathBuf], bytes: usize) {
    let best = |f: &mut dyn FnMut() -> Duration| (0..3).map(|_| f()).min().unwrap_or_default();
    let mut line = String::new();
    let mut kept = None;
    let import_time = best(&mut || {
        let t = Instant::now();
        let (dir, out) = import(maildir);
        let took = t.elapsed();
        line = out;
        kept = Some(dir);
        took
    });
    let want = format!("mail import: {MESSAGES} messages: {MESSAGES} new alerts");
    assert!(line.starts_with(&want), "every message is a new alert: {line}");
    let dir = kept.expect("an import ran");
    let again_time = best(&mut || {
        let t = Instant::now();
        let out = reimport(dir.path(), maildir);
        let took = t.elapsed();
        assert!(out.contains(&format!("0 new alerts, {MESSAGES} already stored")), "{out}");
        took
    });
    let floor_time = best(&mut || {
        let t = Instant::now();
        assert_eq!(plain_parse(files), MESSAGES);
        t.elapsed()
    });
    let rate = |d: Duration| MESSAGES as f64 / d.as_secs_f64();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "import: {line}");
    let _ = writeln!(
        out,
        "summary: {MESSAGES} messages ({:.1} MiB) vigil mail import {:.0} messages/s ({:?}); floor (read + \
         mail_parser parse) {:.0} messages/s ({:?}); import at {:.3}x the floor's rate ({:.1}x its time); the same \
         maildir again (nothing new) {:.0} messages/s ({:?})",
        bytes as f64 / (1024.0 * 1024.0),
        rate(import_time),
        import_time,
        rate(floor_time),
        floor_time,
        floor_time.as_secs_f64() / import_time.as_secs_f64(),
        import_time.as_secs_f64() / floor_time.as_secs_f64(),
        rate(again_time),
        again_time,
    );
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // `VIGIL_BENCH_MAILDIR=DIR` writes the maildir there and keeps it (to profile `vigil mail import DIR/Maildir`).
    let root = std::env::var_os("VIGIL_BENCH_MAILDIR").map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    let (maildir, bytes) = maildir(&root);
    let files = files(&maildir);
    assert_eq!(files.len(), MESSAGES);
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c, &maildir, &files);
    c.final_summary();
    summary(&maildir, &files, bytes);
}
