//! Issue 17, the mailbox over IMAP, against a real Dovecot on loopback (`imap_support`): mail appended
//! over IMAP is fetched, stored and moved; a second poll stores nothing twice; a connection cut mid-fetch
//! loses nothing and the next poll completes; a renumbered folder (new UIDVALIDITY) loses no new mail; a
//! wrong password, a missing folder and an untrusted certificate are said plainly; and `vigil mail poll
//! --once` end to end, in its own store and through the shared service.

use std::sync::atomic::Ordering;
use std::time::Duration;

use vigil::identity::{Role, Viewer};
use vigil::mail::imap::{ImapError, poll_once};
use vigil::service::{CaseService, Policy, Session, StoreKey};

use crate::access_support::{Env, stderr, stdout};
use crate::imap_support::{CuttingProxy, Dovecot, PASSWORD, crlf, fixture};
use crate::service_support::{Served, until};

/// The DSL's session on a fresh store in `dir`.
fn dsl_session(dir: &std::path::Path) -> Session {
    let service = CaseService::open(dir, &StoreKey::bytes([3; 32]), Policy::default()).expect("store");
    Session::new(service, Viewer { user: "dsl".into(), role: Role::Dsl, sees_staff: true })
}

fn alert_count(session: &Session) -> usize {
    session.store_status(true).expect("status").alerts.unwrap_or(0)
}

/// A vendor's alert about event `n`, padded to about `pad` bytes.
fn alert(n: u32, pad: usize) -> Vec<u8> {
    let text = String::from_utf8(fixture("plain.eml"))
        .expect("utf-8")
        .replace("EV-778812", &format!("EV-9{n:05}"))
        .replace("mon-0001", &format!("mon-9{n:05}"));
    let mut text = text.replace("\r\n", "\n");
    let line = "This line only makes the message larger, as a long vendor footer would.\n";
    while text.len() < pad {
        text.push_str(line);
    }
    crlf(&text)
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_appended_over_imap_is_stored_once_and_moved() {
    let server = Dovecot::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let session = dsl_session(&tmp.path().join("data"));
    server.create("Processed").await;
    server.append("INBOX", &[fixture("plain.eml"), fixture("html-qp.eml"), fixture("unknown-sender.eml")]).await;

    // Without move_to the messages stay, and the stored mark keeps a second poll from reading them again.
    let first = poll_once(&server.mailbox("INBOX", None), &session).await.expect("first poll");
    assert_eq!((first.mail.messages, first.mail.new, first.mail.not_alerts), (3, 2, 1), "{first:?}");
    assert_eq!(alert_count(&session), 2);
    let second = poll_once(&server.mailbox("INBOX", None), &session).await.expect("second poll");
    assert_eq!(second.mail.messages, 0, "nothing is fetched twice: {second:?}");

    // With move_to, what was read earlier is moved too, and new mail is stored, then moved.
    server.append("INBOX", &[fixture("base64.eml")]).await;
    let moving = poll_once(&server.mailbox("INBOX", Some("Processed")), &session).await.expect("poll");
    assert_eq!((moving.mail.messages, moving.mail.new, moving.moved), (1, 1, 4), "{moving:?}");
    assert_eq!(server.uids("INBOX").await.0, Vec::<u32>::new(), "the folder is emptied");
    assert_eq!(server.count("Processed").await, 4);
    assert_eq!(alert_count(&session), 3);

    // The same message again (a vendor's resend) is still one alert: Message-ID idempotency.
    server.append("INBOX", &[fixture("plain.eml")]).await;
    let resent = poll_once(&server.mailbox("INBOX", Some("Processed")), &session).await.expect("poll");
    assert_eq!((resent.mail.messages, resent.mail.new, resent.mail.unchanged), (1, 0, 1), "{resent:?}");
    assert_eq!(alert_count(&session), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_cut_mid_fetch_loses_nothing_and_stores_nothing_twice() {
    let server = Dovecot::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let session = dsl_session(&tmp.path().join("data"));
    // Three alerts of about 100 KB: the cut falls inside the second one's fetch.
    server.append("INBOX", &[alert(1, 100_000), alert(2, 100_000), alert(3, 100_000)]).await;
    let proxy = CuttingProxy::start(server.port).await;
    proxy.cut_after.store(150_000, Ordering::SeqCst);
    let mut mailbox = server.mailbox_via(proxy.port, PASSWORD, "INBOX", None);
    mailbox.batch = 1;

    let cut = poll_once(&mailbox, &session).await.expect_err("the connection is cut");
    assert!(matches!(cut, ImapError::Dropped { .. }), "{cut}");
    assert!(cut.to_string().contains("what was stored is kept"), "{cut}");
    assert_eq!(alert_count(&session), 1, "the message read before the cut is stored, and only it");

    proxy.cut_after.store(usize::MAX, Ordering::SeqCst);
    let next = poll_once(&mailbox, &session).await.expect("the next poll completes");
    assert_eq!(
        (next.mail.messages, next.mail.new, next.mail.unchanged),
        (2, 2, 0),
        "it goes on from the mark: {next:?}"
    );
    assert_eq!(alert_count(&session), 3);
    let again = poll_once(&mailbox, &session).await.expect("poll");
    assert_eq!(again.mail.messages, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renumbered_folder_is_read_again_and_its_new_mail_is_not_lost() {
    let server = Dovecot::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let session = dsl_session(&tmp.path().join("data"));
    server.create("Alerts").await;
    server.append("Alerts", &[alert(1, 0), alert(2, 0)]).await;
    let (_, before) = server.uids("Alerts").await;
    let first = poll_once(&server.mailbox("Alerts", None), &session).await.expect("poll");
    assert_eq!(first.mail.new, 2);

    // The folder is deleted and made again (a migration, a restore): its UIDs start again from 1.
    server.delete("Alerts").await;
    server.create("Alerts").await;
    server.append("Alerts", &[alert(2, 0), alert(3, 0)]).await;
    let (uids, after) = server.uids("Alerts").await;
    assert_ne!(before, after, "the server gave the folder a new UIDVALIDITY");
    assert_eq!(uids, vec![1, 2], "the new alert has a UID the old mark already covers");

    let renumbered = poll_once(&server.mailbox("Alerts", None), &session).await.expect("poll");
    assert_eq!(
        (renumbered.mail.messages, renumbered.mail.new, renumbered.mail.unchanged),
        (2, 1, 1),
        "the new alert is stored, the old one not twice: {renumbered:?}"
    );
    assert_eq!(alert_count(&session), 3);
    assert!(renumbered.renumbered, "{renumbered:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_a_missing_folder_and_an_untrusted_server_are_said_plainly() {
    let server = Dovecot::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let session = dsl_session(&tmp.path().join("data"));

    let wrong = server.mailbox_via(server.port, "not-the-password", "INBOX", None);
    let err = poll_once(&wrong, &session).await.expect_err("refused");
    assert!(matches!(err, ImapError::LoginRefused { .. }) && err.needs_config(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the mail server 127.0.0.1 refused the login of alerts: check [mail] user and the password in its file"
    );
    assert!(!err.to_string().contains("not-the-password"));

    let err = poll_once(&server.mailbox("Vendors", None), &session).await.expect_err("no such folder");
    assert_eq!(err.to_string(), "the mail server 127.0.0.1 has no folder \"Vendors\" for alerts: check [mail] folder");
    let err = poll_once(&server.mailbox("INBOX", Some("Done")), &session).await.expect_err("no such folder");
    assert!(err.to_string().contains("no folder \"Done\"") && err.to_string().contains("move_to"), "{err}");

    let mut untrusted = server.mailbox("INBOX", None);
    untrusted.ca_file = None;
    let err = poll_once(&untrusted, &session).await.expect_err("an unknown CA");
    assert!(matches!(err, ImapError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("ca_file"), "{err}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let err = poll_once(&server.mailbox_via(closed, PASSWORD, "INBOX", None), &session).await.expect_err("closed");
    assert!(err.to_string().starts_with(&format!("cannot connect to the mail server 127.0.0.1:{closed}")), "{err}");
    assert_eq!(alert_count(&session), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn vigil_mail_poll_once_stores_moves_and_says_what_failed() {
    let server = Dovecot::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env::with_role(tmp.path(), "dsl");
    server.create("Processed").await;
    server.append("INBOX", &[fixture("plain.eml"), fixture("unknown-sender.eml")]).await;
    let base = std::fs::read_to_string(&env.config).expect("config");
    // No socket group: the service started below must fail on the password file, not on a machine without
    // the `safeguarding` group.
    let config = format!("{base}\n[service]\ngroup = \"\"\n{}", server.config(tmp.path(), Some("Processed")));
    std::fs::write(&env.config, config).expect("config");

    let out = env.ok(&["mail", "poll", "--once"]);
    assert_eq!(
        stdout(&out).trim(),
        "mail poll: 2 messages: 1 new alert, 0 already stored, 1 not from a monitoring sender, 0 quarantined; 2 moved to the processed folder"
    );
    let again = env.ok(&["mail", "poll", "--once"]);
    assert_eq!(
        stdout(&again).trim(),
        "mail poll: 0 messages: 0 new alerts, 0 already stored, 0 not from a monitoring sender, 0 quarantined"
    );
    assert_eq!(server.count("Processed").await, 2);
    let list = stdout(&env.ok(&["list", "--json"]));
    assert!(list.contains("EV-778812"), "{list}");
    assert!(!env.log().contains("Tegen") && !env.log().contains("leave home"), "no content in the log");

    // A password file others can read is refused before anything is sent.
    let secret = tmp.path().join("imap-password");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o644)).expect("chmod");
    let open = env.run(&["mail", "poll", "--once"]);
    assert_eq!(open.status.code(), Some(2), "{}", stderr(&open));
    assert!(stderr(&open).contains("can be read by other users (mode 644)"), "{}", stderr(&open));
    // The service refuses to start with it, with the same line, rather than poll and fail in its log.
    let socket = tmp.path().join("vigil.sock");
    let mut serve = env
        .command(&["--socket", socket.to_str().expect("utf-8"), "serve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("vigil serve runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = serve.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = serve.kill();
            panic!("vigil serve started with a password file others can read");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let said = serve.wait_with_output().expect("output");
    assert_eq!(status.code(), Some(2), "{}", stderr(&said));
    assert!(stderr(&said).contains("can be read by other users (mode 644)"), "{}", stderr(&said));

    // A wrong password: a config problem, exit 2, said plainly, the password not echoed.
    std::fs::write(&secret, "wrong-password\n").expect("write");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let refused = env.run(&["mail", "poll", "--once"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("mail poll failed: the mail server 127.0.0.1 refused the login of alerts"),
        "{}",
        stderr(&refused)
    );
    assert!(!stderr(&refused).contains("wrong-password"));

    // A server that is not there: exit 1 (it may pass by itself).
    drop(server);
    let down = env.run(&["mail", "poll", "--once"]);
    assert_eq!(down.status.code(), Some(1), "{}", stderr(&down));
    assert!(stderr(&down).contains("cannot connect to the mail server 127.0.0.1"), "{}", stderr(&down));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_reads_the_mailbox_and_mail_poll_once_asks_it_to() {
    let server = Dovecot::start();
    server.append("INBOX", &[fixture("plain.eml"), fixture("html-qp.eml")]).await;
    let dir = tempfile::tempdir().expect("tmp");
    let served = Served::start_with("dsl", &server.config(dir.path(), None));
    // The service reads the mailbox on its own: its clients hear of the alerts through its events.
    let client = served.client();
    let mut events = client.subscribe();
    let c = client.clone();
    until(&mut events, Duration::from_secs(30), |_| c.queue(chrono::Utc::now()).map(|q| q.len()).unwrap_or(0) >= 2)
        .await;
    // Asked to read it now, it does so after its own poll: nothing is new, nothing is stored twice.
    server.append("INBOX", &[fixture("base64.eml")]).await;
    let out = served.cli(&["mail", "poll", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "mail poll: 1 message: 1 new alert, 0 already stored, 0 not from a monitoring sender, 0 quarantined"
    );
    let list = stdout(&served.cli(&["list", "--json"]));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&list).expect("json");
    assert_eq!(rows.len(), 3, "{list}");
    let status = stdout(&served.cli(&["service", "status"]));
    assert!(
        status.contains(&format!("mail (imap://alerts@127.0.0.1:{}/INBOX): last success 2", server.port)),
        "{status}"
    );
}

/// XOAUTH2 end to end: a token from the token endpoint (a local mock of Entra ID's), the login to a real
/// Dovecot that checks the token at its introspection endpoint (the same mock). A token the server refuses is
/// said plainly and forgotten: the next poll asks for a new one and reads the mail.
#[tokio::test(flavor = "multi_thread")]
async fn an_xoauth2_login_uses_a_fresh_token_and_a_refused_one_is_not_used_again() {
    use vigil::mail::oauth::{OAuthConfig, Provider, TokenSource, http_client};
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let idp = MockServer::start().await;
    let token = |t: &str| {
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"token_type": "Bearer", "expires_in": 3599, "access_token": t}))
    };
    // The first token handed out is one the server will not take (revoked meanwhile); the next is good.
    Mock::given(method("POST"))
        .and(path("/t/token"))
        .respond_with(token("tok-revoked"))
        .up_to_n_times(1)
        .mount(&idp)
        .await;
    Mock::given(method("POST")).and(path("/t/token")).respond_with(token("tok-good")).mount(&idp).await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .and(body_string_contains("token=tok-good"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"active": true, "username": crate::imap_support::USER})),
        )
        .mount(&idp)
        .await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"active": false})))
        .mount(&idp)
        .await;

    let server = Dovecot::start_oauth(&format!("{}/introspect", idp.uri()));
    let tmp = tempfile::tempdir().expect("tmp");
    let secret = tmp.path().join("mail-secret");
    std::fs::write(&secret, "s3cret\n").expect("secret");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let oauth = OAuthConfig {
        provider: Provider::Microsoft,
        tenant: Some("college.onmicrosoft.com".into()),
        client_id: Some("6f1c2a9e-0000-4000-8000-0123456789ab".into()),
        client_secret_file: Some(secret),
        key_file: None,
        sub: None,
        scope: None,
        token_url: Some(format!("{}/t/token", idp.uri())),
    };
    let tokens = std::sync::Arc::new(TokenSource::new(&oauth, http_client().expect("client")).expect("source"));
    let mut mailbox = server.mailbox("INBOX", None);
    mailbox.login = vigil::mail::imap::Login::XOAuth2 { user: crate::imap_support::USER.into(), tokens };
    let session = dsl_session(&tmp.path().join("data"));
    server.append("INBOX", &[fixture("plain.eml")]).await;

    let refused = poll_once(&mailbox, &session).await.expect_err("the revoked token");
    assert!(matches!(refused, ImapError::TokenRefused { .. }), "{refused:?}\n{}", server.log());
    assert!(refused.to_string().contains("refused the OAuth2 login of alerts"), "{refused}");
    assert!(!refused.to_string().contains("tok-revoked"), "the token is never said: {refused}");
    assert_eq!(alert_count(&session), 0);

    let read = poll_once(&mailbox, &session).await.unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    assert_eq!((read.mail.messages, read.mail.new), (1, 1), "{read:?}");
    let asked = idp.received_requests().await.expect("recorded");
    let token_requests = asked.iter().filter(|r| r.url.path() == "/t/token").count();
    assert_eq!(token_requests, 2, "the refused token was forgotten and a new one asked for");
    let checked: Vec<String> = asked
        .iter()
        .filter(|r| r.url.path() == "/introspect")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(
        checked.iter().any(|b| b.contains("tok-revoked")) && checked.iter().any(|b| b.contains("tok-good")),
        "the server checked each token vigil sent it: {checked:?}"
    );
}
