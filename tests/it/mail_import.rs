//! Issue 17, the vendors' e-mails: `vigil mail import` of a maildir and an mbox through the real binary,
//! each alert stored once however often it is imported, an unparsed vendor message kept as an alert marked
//! for a level check, mail from anyone else left, a MIME bomb quarantined without blocking the rest,
//! hostile text inert, the raw message shown (audited) and checked, and `vigil mail test`; then the same
//! import through the shared service's socket.

use crate::access_support::{Env, stderr, stdout};
use crate::service_support::Served;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail")
}

const FIXTURES: [&str; 7] =
    ["plain.eml", "html-qp.eml", "base64.eml", "attachment.eml", "forwarded.eml", "unknown-sender.eml", "unparsed.eml"];

/// A maildir holding every fixture, plus `extra` messages.
fn maildir(dir: &Path, extra: &[(&str, Vec<u8>)]) -> PathBuf {
    let md = dir.join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).expect("mkdir");
    }
    for (i, name) in FIXTURES.iter().enumerate() {
        std::fs::copy(fixtures().join(name), md.join(format!("new/{i:02}.{name}"))).expect("copy fixture");
    }
    for (name, bytes) in extra {
        std::fs::write(md.join("new").join(name), bytes).expect("write");
    }
    md
}

/// A message nesting multiparts far deeper than any real e-mail.
fn mime_bomb() -> Vec<u8> {
    let mut out = b"From: noreply@smoothwall.com\r\nSubject: bomb\r\nMessage-ID: <bomb@x>\r\n".to_vec();
    for i in 0..60 {
        out.extend_from_slice(format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n").as_bytes());
    }
    out.extend_from_slice(b"Content-Type: text/plain\r\n\r\nRisk Level: 5\r\n");
    out
}

fn list(env: &Env) -> Vec<Value> {
    serde_json::from_slice(&env.ok(&["list", "--json"]).stdout).expect("json")
}

#[test]
fn a_maildir_is_imported_once_with_unparsed_mail_marked_and_the_rest_left() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role(tmp.path(), "dsl");
    let hostile = b"From: noreply@smoothwall.com\r\nSubject: =?UTF-8?B?G10wO3B3bmVkBw==?= \x1b[31mred\r\nMessage-ID: <h@x>\r\n\r\nRisk Level: 2\r\nEvent Type: Oversharer\r\nUsername: x\x1b]52;c;AAAA\x07y\r\n".to_vec();
    let md = maildir(tmp.path(), &[("98.bomb", mime_bomb()), ("99.hostile", hostile)]);
    let out = env.ok(&["mail", "import", md.to_str().expect("utf-8")]);
    assert_eq!(
        stdout(&out).trim(),
        "mail import: 9 messages: 7 new alerts (1 unparsed: check their level), 0 already stored, 1 not from a monitoring sender, 1 quarantined"
    );
    let again = env.ok(&["mail", "import", md.to_str().expect("utf-8")]);
    assert_eq!(
        stdout(&again).trim(),
        "mail import: 9 messages: 0 new alerts, 7 already stored, 1 not from a monitoring sender, 0 quarantined",
        "a second import stores nothing twice, the bomb's quarantine included"
    );

    let rows = list(&env);
    assert_eq!(rows.len(), 7, "{rows:#?}");
    let by_subject = |u: &str| rows.iter().find(|r| r["subject_id"] == u).unwrap_or_else(|| panic!("{u}: {rows:#?}"));
    let plain = by_subject("t.fictional24");
    assert_eq!((plain["id"].as_str(), plain["category"].as_str()), (Some("EV-778812"), Some("vulnerable-person")));
    assert_eq!(plain["raised_at"], "2026-11-10T10:02:00Z", "the event's own time, in the message's offset");
    assert_eq!(by_subject("r.example25")["level"], "high", "HTML, quoted-printable: risk 5 is High");
    assert_eq!(by_subject("m.café24")["category"], "bullying", "base64 in ISO-8859-1");
    assert_eq!(by_subject("a.example27")["category"], "self-harm", "the alert inside a forward");
    let unparsed = rows.iter().find(|r| r["category"] == "unknown").expect("the unparsed one");
    assert_eq!(unparsed["level"], "medium", "[mail] default_level");
    let plain_list = stdout(&env.ok(&["list"]));
    assert!(plain_list.contains("UNPARSED-EMAIL"), "{plain_list}");
    assert!(!plain_list.contains('\x1b') && !plain_list.contains('\x07'), "hostile text is inert: {plain_list:?}");

    // The raw message, checked against its hash and audited.
    let id = unparsed["id"].as_str().expect("id");
    let raw = stdout(&env.ok(&["show", id, "--raw"]));
    assert!(raw.contains("Subject: Weekly dashboard") && raw.contains("Captures: 340."), "{raw}");
    let trail = stdout(&env.ok(&["audit", "show"]));
    assert!(trail.contains("read the raw e-mail") && trail.contains("imported 9 e-mails: 7 new alerts"), "{trail}");
    let out = env.run(&["show", "EV-778812", "--raw"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The bomb is quarantined with its reason, like a bad feed alert.
    let rejected = stdout(&env.ok(&["feed", "rejected"]));
    assert!(rejected.contains("an e-mail vigil refused: the message nests parts more than 8 deep"), "{rejected}");
}

#[test]
fn an_mbox_imports_and_a_deputy_may_import_but_a_reporter_may_not() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mbox = tmp.path().join("alerts.mbox");
    let mut text = Vec::new();
    for name in ["plain.eml", "forwarded.eml"] {
        text.extend_from_slice(b"From noreply@smoothwall.com Tue Nov 10 10:05:00 2026\n");
        text.extend(std::fs::read(fixtures().join(name)).expect("fixture"));
        text.extend_from_slice(b"\n");
    }
    std::fs::write(&mbox, text).expect("write");
    let deputy = Env::with_role(tmp.path(), "ddsl");
    let out = deputy.ok(&["mail", "import", mbox.to_str().expect("utf-8")]);
    assert!(stdout(&out).starts_with("mail import: 2 messages: 2 new alerts"), "{}", stdout(&out));
    let other = tempfile::tempdir().expect("tmp");
    let reporter = Env::with_role(other.path(), "reporter");
    let out = reporter.run(&["mail", "import", mbox.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let missing = deputy.run(&["mail", "import", "/nonexistent/box"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("cannot read /nonexistent/box"), "{}", stderr(&missing));
}

#[test]
fn mail_test_shows_what_a_rule_reads_and_stores_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role(tmp.path(), "dsl");
    let out = env.ok(&["mail", "test", fixtures().join("plain.eml").to_str().expect("utf-8")]);
    let text = stdout(&out);
    for line in [
        "rule: smoothwall-monitor",
        "  risk        4",
        "  event_type  Vulnerable Person",
        "  username    t.fictional24",
        "  reference   EV-778812",
        "  portal      https://monitor.smoothwall.example/events/EV-778812",
        "read fully: a medium alert, category vulnerable-person",
        "alert id:   smoothwall-monitor:EV-778812",
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
    let out = env.ok(&["mail", "test", fixtures().join("unparsed.eml").to_str().expect("utf-8")]);
    assert!(stdout(&out).contains("NOT read fully (no risk, no event_type, no username)"), "{}", stdout(&out));
    let out = env.ok(&["mail", "test", fixtures().join("unknown-sender.eml").to_str().expect("utf-8")]);
    assert!(stdout(&out).contains("not from a monitoring sender"), "{}", stdout(&out));
    assert!(!env.data.exists(), "nothing stored, no store made");

    // A college's own rule, tried first.
    let config = std::fs::read_to_string(&env.config).expect("config");
    std::fs::write(
        &env.config,
        format!(
            "{config}\n[[mail.rule]]\nname = \"weekly\"\nsource = \"smoothwall-monitor\"\nsenders = [\"noreply@smoothwall.com\"]\nsubject = \"^Weekly\"\nsubject_kind = \"student\"\n[mail.rule.fields]\nrisk = {{ pattern = 'alert this week: (\\d)' }}\nevent_type = {{ pattern = '(General Risk)' }}\nusername = {{ pattern = 'Users (who)' }}\n"
        ),
    )
    .expect("write config");
    let out = env.run(&["mail", "test", fixtures().join("unparsed.eml").to_str().expect("utf-8")]);
    assert!(stdout(&out).contains("rule: weekly"), "{}{}", stdout(&out), stderr(&out));
    std::fs::write(
        &env.config,
        format!("{config}\n[[mail.rule]]\nname = \"bad\"\nsource = \"s\"\nsenders = [\"a@b\"]\nsubject = \"(\"\n"),
    )
    .expect("write config");
    let out = env.run(&["mail", "test", fixtures().join("plain.eml").to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("mail rule `bad`: subject pattern"), "{}", stderr(&out));
}

/// Through the shared service: the CLI sends the raw messages, the service reads them under its own rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_imported_through_the_service_is_stored_by_the_service() {
    let served = Served::start("dsl", None);
    let dir = tempfile::tempdir().expect("tmp");
    let md = maildir(dir.path(), &[]);
    let out = served.cli(&["mail", "import", md.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    assert!(
        crate::common::stdout(&out).starts_with("mail import: 7 messages: 6 new alerts"),
        "{}",
        crate::common::stdout(&out)
    );
    let queue = served.client().queue(chrono::Utc::now()).expect("queue");
    assert_eq!(queue.len(), 6);
    assert!(queue.iter().any(|c| c.unparsed_mail));
}

/// An image attached to a vendor's e-mail is a screenshot of the alert, kept in the store with the message
/// and handed out from there (never fetched); the raw message and its images go with the case at retention.
#[test]
fn an_attached_image_is_a_screenshot_kept_with_the_message() {
    let tmp = tempfile::tempdir().expect("tmp");
    let svc = crate::common::empty_service(&tmp.path().join("data"), crate::common::dsl());
    let raw = std::fs::read(fixtures().join("attachment.eml")).expect("fixture");
    let now = crate::common::fixed_now();
    let report = svc.import_mail(vec![vigil::service::RawMail(raw)], now).expect("import");
    assert_eq!(report.new, 1);
    let key = svc.queue(now).expect("queue")[0].key.clone();
    let detail = svc.detail(&key, now).expect("detail");
    let shot = detail.alert.captures[0].screenshot.clone().expect("a screenshot");
    assert!(shot.url.starts_with("mail-image:"), "{}", shot.url);
    match svc.screenshot(&key, 0).expect("screenshot") {
        vigil::service::api::Shot::Cached { bytes } => assert!(bytes.starts_with(b"\x89PNG"), "the attached PNG"),
        other => panic!("an e-mail's image is never fetched: {other:?}"),
    }
    let origin = detail.alert.mail.clone().expect("from an e-mail");
    let image = origin.image_blob_name(&shot.url).expect("an image name");
    assert!(svc.store().blob(&origin.blob_name()).expect("read").is_some());
    assert!(svc.store().blob(&image).expect("read").is_some());

    // Closed, then past retention: the case, its message and its image go.
    crate::common::tick_all_required(&svc, &key);
    svc.act(&key, &vigil::domain::case::CaseCommand::Close { outcome: "false-positive".into() }, now).expect("close");
    let later = now + chrono::Duration::days(800);
    assert_eq!(svc.purge_expired(15, later).expect("retention"), 1);
    assert!(svc.store().blob(&origin.blob_name()).expect("read").is_none(), "the raw e-mail is purged");
    assert!(svc.store().blob(&image).expect("read").is_none(), "its image is purged");
}
