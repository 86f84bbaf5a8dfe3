//! Issue 17, OAuth2 for the alert mailbox (`[mail.oauth]`): the token request against a mock of the token
//! endpoint on loopback, byte for byte (Entra ID's client-credentials grant; Google's JWT-bearer grant, its
//! JWT decoded and its signature checked), the token kept until shortly before it expires, every refusal a
//! plain message that says what to fix (an expired secret, a wrong one, a missing permission or
//! delegation), 5xx and timeouts retryable, garbage a plain error, and neither the secret nor the token in
//! any error or `Debug` text; then `vigil mail token-check` through the real binary.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use vigil::mail::oauth::{OAuthConfig, OAuthError, Provider, TokenSource, http_client};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{fixed_now, stderr, stdout, vigil};

/// A client secret with characters the form encoding must escape.
const SECRET: &str = "Xy8Q~s3cr3t+value/with=odd&chars";
const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.eyJyb2xlcyI6WyJJTUFQLkFjY2Vzc0FzQXBwIl19.c2lnbmF0dXJl";
const CLIENT_ID: &str = "6f1c2a9e-0000-4000-8000-0123456789ab";
const TOKEN_PATH: &str = "/college.onmicrosoft.com/oauth2/v2.0/token";

fn private_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, content).expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    file
}

fn microsoft(dir: &Path, server: &MockServer) -> OAuthConfig {
    OAuthConfig {
        provider: Provider::Microsoft,
        tenant: Some("college.onmicrosoft.com".into()),
        client_id: Some(CLIENT_ID.into()),
        client_secret_file: Some(private_file(dir, "mail-secret", &format!("{SECRET}\n"))),
        key_file: None,
        sub: None,
        scope: None,
        token_url: Some(format!("{}{TOKEN_PATH}", server.uri())),
    }
}

fn granted(token: &str, expires_in: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": 3599,
        "access_token": token,
    }))
}

async fn answer_with(server: &MockServer, answer: ResponseTemplate) {
    server.reset().await;
    Mock::given(method("POST")).respond_with(answer).mount(server).await;
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.expect("recording")
}

fn at(now: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    now + chrono::Duration::seconds(seconds)
}

/// The exact form Entra ID's client-credentials grant takes, and the token kept until five minutes before
/// it expires: a second call makes no request, one after that makes one.
#[tokio::test]
async fn the_microsoft_token_request_is_exact_and_its_token_kept_until_shortly_before_expiry() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(TOKEN_PATH)).respond_with(granted(TOKEN, json!(3599))).mount(&server).await;
    let source = TokenSource::new(&microsoft(dir.path(), &server), http_client().expect("client")).expect("valid");
    let now = fixed_now();

    assert_eq!(source.bearer(now).await.expect("token"), TOKEN);
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/x-www-form-urlencoded"[..])
    );
    assert_eq!(request.headers.get("accept").map(|v| v.as_bytes()), Some(&b"application/json"[..]));
    assert_eq!(
        String::from_utf8_lossy(&request.body),
        format!(
            "grant_type=client_credentials&client_id={CLIENT_ID}\
             &client_secret=Xy8Q%7Es3cr3t%2Bvalue%2Fwith%3Dodd%26chars\
             &scope=https%3A%2F%2Foutlook.office365.com%2F.default"
        ),
        "the secret trimmed of its newline and form-encoded; the default scope"
    );
    assert!(request.headers.get("authorization").is_none(), "the secret travels in the body only");

    assert_eq!(source.bearer(at(now, 60)).await.expect("cached"), TOKEN);
    assert_eq!(source.bearer(at(now, 3_298)).await.expect("cached"), TOKEN);
    assert_eq!(requests(&server).await.len(), 1, "a kept token needs no request");
    let debug = format!("{source:?}");
    assert!(!debug.contains(TOKEN) && !debug.contains("s3cr3t"), "Debug redacts: {debug}");
    assert!(debug.contains("redacted"), "{debug}");

    assert_eq!(source.bearer(at(now, 3_299)).await.expect("renewed"), TOKEN);
    assert_eq!(requests(&server).await.len(), 2, "five minutes before expiry, a new one is fetched");

    source.forget().await;
    source.bearer(at(now, 3_300)).await.expect("fetched again");
    assert_eq!(requests(&server).await.len(), 3, "a forgotten token is fetched again");
}

/// Entra ID's refusals, as it sends them, each a message that says what to fix, none retryable, none
/// holding the secret.
#[tokio::test]
async fn entra_refusals_say_what_to_fix_and_never_hold_the_secret() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = MockServer::start().await;
    let config = microsoft(dir.path(), &server);
    let file = config.client_secret_file.clone().expect("set").display().to_string();
    let source = TokenSource::new(&config, http_client().expect("client")).expect("valid");
    let entra = |status: u16, error: &str, code: u64, text: &str| {
        ResponseTemplate::new(status).set_body_json(json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text} Trace ID: 0000 Correlation ID: 1111 Timestamp: 2026-11-16 10:00:00Z"),
            "error_codes": [code],
            "timestamp": "2026-11-16 10:00:00Z",
            "trace_id": "0000",
        }))
    };
    let cases = [
        (
            entra(401, "invalid_client", 7_000_222, "The provided client secret keys for app '6f1c' are expired."),
            vec!["the client secret has expired", "create a new one in Entra ID", file.as_str()],
        ),
        (
            entra(401, "invalid_client", 7_000_215, "Invalid client secret provided."),
            vec!["refused the client secret (AADSTS7000215)", "not its ID", file.as_str()],
        ),
        (
            entra(400, "unauthorized_client", 700_016, "Application with identifier '6f1c' was not found."),
            vec!["does not know this app in this tenant", "tenant and client_id"],
        ),
        (
            entra(400, "invalid_scope", 70_011, "The provided value for the input parameter 'scope' is not valid."),
            vec!["IMAP.AccessAsApp", "admin consent", "https://outlook.office365.com/.default"],
        ),
        (
            ResponseTemplate::new(400)
                .set_body_string(format!("{{\"error\":\"invalid_request\",\"echo\":\"{SECRET}\"}}")),
            vec!["refused the request (HTTP 400, invalid_request)"],
        ),
    ];
    for (answer, words) in cases {
        answer_with(&server, answer).await;
        let err = source.bearer(fixed_now()).await.expect_err("refused");
        let (text, debug) = (err.to_string(), format!("{err:?}"));
        for word in words {
            assert!(text.contains(word), "`{word}` in: {text}");
        }
        assert!(!err.is_retryable(), "a refusal needs someone to act: {text}");
        assert!(!text.contains("s3cr3t") && !debug.contains("s3cr3t"), "no secret: {text} / {debug}");
        assert!(!text.contains("Trace ID") && !text.contains("Correlation"), "no server text: {text}");
    }
}

/// A server error, throttling and a timeout may pass by themselves; garbage or a non-token does not, and
/// each is a plain message.
#[tokio::test]
async fn server_errors_and_timeouts_are_retryable_and_garbage_is_a_plain_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = MockServer::start().await;
    let config = microsoft(dir.path(), &server);
    let source = TokenSource::new(&config, http_client().expect("client")).expect("valid");
    for status in [500, 502, 503, 429] {
        answer_with(&server, ResponseTemplate::new(status).set_body_string("<html>busy</html>")).await;
        let err = source.bearer(fixed_now()).await.expect_err("unavailable");
        assert!(err.is_retryable(), "{status}: {err}");
        assert!(err.to_string().contains(&format!("HTTP {status}")), "{err}");
    }
    let garbage = [
        (ResponseTemplate::new(200).set_body_string("<html>Sign in</html>"), "not the JSON OAuth2 describes"),
        (ResponseTemplate::new(200).set_body_json(json!({"token_type": "Bearer"})), "not the JSON OAuth2 describes"),
        (granted("", json!(3599)), "an empty or unprintable access_token"),
        (granted("tok\u{1}en", json!(3599)), "an empty or unprintable access_token"),
        (granted("token", json!("soon")), "an expires_in that is not a number"),
        (
            ResponseTemplate::new(200).set_body_json(json!({"token_type": "mac", "access_token": "t"})),
            "not a bearer token",
        ),
        (ResponseTemplate::new(200).set_body_string("x".repeat(70_000)), "larger than any token answer"),
    ];
    for (answer, words) in garbage {
        answer_with(&server, answer).await;
        let err = source.bearer(fixed_now()).await.expect_err("garbage");
        assert!(matches!(err, OAuthError::Malformed(_)) && !err.is_retryable(), "{err}");
        assert!(err.to_string().contains(words), "{err}");
    }
    answer_with(&server, granted("late", json!(3599)).set_delay(Duration::from_secs(30))).await;
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().expect("client");
    let err = TokenSource::new(&config, impatient).expect("valid").bearer(fixed_now()).await.expect_err("timeout");
    assert!(err.is_retryable() && err.to_string().contains("timed out"), "{err}");
}

/// A secret file others can read is refused before any request, with the fix; a renewed secret is read at
/// the next request, with no restart.
#[tokio::test]
async fn a_secret_file_others_can_read_is_refused_and_a_renewed_one_is_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = MockServer::start().await;
    answer_with(&server, granted(TOKEN, json!(3599))).await;
    let config = microsoft(dir.path(), &server);
    let file = config.client_secret_file.clone().expect("set");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let source = TokenSource::new(&config, http_client().expect("client")).expect("valid");
    let err = source.bearer(fixed_now()).await.expect_err("exposed").to_string();
    assert!(err.contains(&format!("chmod 600 {}", file.display())), "{err}");
    assert!(requests(&server).await.is_empty(), "nothing sent");
    private_file(dir.path(), "mail-secret", "renewed-secret\n");
    source.bearer(fixed_now()).await.expect("read again");
    assert!(String::from_utf8_lossy(&requests(&server).await[0].body).contains("client_secret=renewed-secret&"));
}

fn test_key_pem() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oauth/test-only-rsa.pem"))
        .expect("fixture")
}

const CLIENT_EMAIL: &str = "vigil-mail@college-alerts.iam.gserviceaccount.com";
const MAILBOX: &str = "safeguarding-alerts@college.example";

fn google(dir: &Path, token_uri: &str) -> OAuthConfig {
    let key = json!({
        "type": "service_account",
        "project_id": "college-alerts",
        "private_key_id": "4b1d",
        "private_key": test_key_pem(),
        "client_email": CLIENT_EMAIL,
        "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    });
    OAuthConfig {
        provider: Provider::Google,
        tenant: None,
        client_id: None,
        client_secret_file: None,
        key_file: Some(private_file(dir, "service-account.json", &key.to_string())),
        sub: Some(MAILBOX.into()),
        scope: None,
        token_url: None,
    }
}

fn decode(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("json")
}

/// Google's JWT-bearer grant: the assertion's header and claims exactly (times from the pinned clock), its
/// RS256 signature verified with the key's public half.
#[tokio::test]
async fn the_google_assertion_is_signed_with_the_key_and_claims_the_mailbox_user() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(granted("ya29.c.b0Aaek", json!(3599)))
        .mount(&server)
        .await;
    let token_uri = format!("{}/token", server.uri());
    let source = TokenSource::new(&google(dir.path(), &token_uri), http_client().expect("client")).expect("valid");
    let now = fixed_now();
    assert_eq!(source.bearer(now).await.expect("token"), "ya29.c.b0Aaek");

    let sent = requests(&server).await;
    let body = String::from_utf8(sent[0].body.clone()).expect("utf-8");
    let assertion = body
        .strip_prefix("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=")
        .expect("the JWT-bearer grant");
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3, "{assertion}");
    assert_eq!(decode(parts[0]), json!({"alg": "RS256", "typ": "JWT", "kid": "4b1d"}));
    assert_eq!(
        decode(parts[1]),
        json!({
            "iss": CLIENT_EMAIL,
            "sub": MAILBOX,
            "scope": "https://mail.google.com/",
            "aud": token_uri,
            "iat": now.timestamp(),
            "exp": now.timestamp() + 3600,
        })
    );
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(test_key_pem().as_bytes()).expect("pem");
    let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).expect("rsa");
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        ring::signature::KeyPair::public_key(&pair).as_ref().to_vec(),
    );
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("base64url");
    public.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("RS256 by the key");
    let debug = format!("{source:?}");
    assert!(!debug.contains("ya29") && !debug.contains("PRIVATE KEY"), "{debug}");
}

/// Google's refusals: delegation not granted, or the key refused; a key file that is not one.
#[tokio::test]
async fn google_refusals_say_what_to_fix() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = MockServer::start().await;
    let config = google(dir.path(), &format!("{}/token", server.uri()));
    let source = TokenSource::new(&config, http_client().expect("client")).expect("valid");
    let cases = [
        (
            json!({"error": "unauthorized_client", "error_description": "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}),
            vec!["Domain-wide delegation", MAILBOX, "https://mail.google.com/"],
        ),
        (
            json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
            vec!["refused the service account's key", "clock"],
        ),
    ];
    for (body, words) in cases {
        answer_with(&server, ResponseTemplate::new(400).set_body_json(body)).await;
        let err = source.bearer(fixed_now()).await.expect_err("refused").to_string();
        for word in words {
            assert!(err.contains(word), "`{word}` in: {err}");
        }
        assert!(!err.contains("PRIVATE KEY"), "{err}");
    }
    let key_file = config.key_file.clone().expect("set");
    private_file(dir.path(), "service-account.json", "{\"client_email\": \"x\", \"private_key\": \"not a key\"}");
    let err = source.bearer(fixed_now()).await.expect_err("bad key").to_string();
    assert!(err.contains("not a Google service-account key") && err.contains(&key_file.display().to_string()), "{err}");
}

/// `vigil mail token-check` through the real binary, against the mock: success without the token, the
/// missing permission named, an expired secret's plain message, and no `[mail.oauth]` at all.
#[test]
fn token_check_through_the_binary_says_what_worked_or_what_to_fix_and_never_prints_the_token() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let server = runtime.block_on(MockServer::start());
    let dir = tempfile::tempdir().expect("tmp");
    let secret = private_file(dir.path(), "mail-secret", SECRET);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[mail.oauth]\nprovider = \"microsoft\"\ntenant = \"college.onmicrosoft.com\"\nclient_id = \"{CLIENT_ID}\"\n\
             client_secret_file = {secret:?}\ntoken_url = \"{}{TOKEN_PATH}\"\n",
            server.uri()
        ),
    )
    .expect("config");
    let mut outputs = Vec::new();
    let mut check = || {
        let out = vigil(&["--config", config.to_str().expect("utf-8"), "mail", "token-check"]);
        outputs.push(format!("{}{}", stdout(&out), stderr(&out)));
        out
    };

    runtime.block_on(answer_with(&server, granted(TOKEN, json!(3599))));
    let out = check();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Entra ID issued a token for https://outlook.office365.com/.default (not shown)"));
    assert!(stdout(&out).contains("Add-MailboxPermission"), "{}", stdout(&out));

    let no_role = format!("h.{}.s", URL_SAFE_NO_PAD.encode(json!({"roles": ["Mail.Read"]}).to_string()));
    runtime.block_on(answer_with(&server, granted(&no_role, json!(3599))));
    let out = check();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("without the permission IMAP.AccessAsApp"), "{}", stderr(&out));

    let expired =
        json!({"error": "invalid_client", "error_description": "AADSTS7000222: expired", "error_codes": [7000222]});
    runtime.block_on(answer_with(&server, ResponseTemplate::new(401).set_body_json(expired)));
    let out = check();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("the client secret has expired: create a new one in Entra ID"), "{}", stderr(&out));
    assert!(stderr(&out).contains(&secret.display().to_string()), "{}", stderr(&out));

    runtime.block_on(answer_with(&server, ResponseTemplate::new(503)));
    let out = check();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unavailable (HTTP 503)"), "{}", stderr(&out));

    std::fs::write(&config, "[mail]\ndefault_level = \"high\"\n").expect("config");
    let out = check();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("there is no [mail.oauth]"), "{}", stderr(&out));
    for all in outputs {
        assert!(!all.contains(TOKEN) && !all.contains(&no_role) && !all.contains(SECRET), "never printed: {all}");
    }
}

/// `[mail.oauth]` in the config file: each provider's keys, and a plain message naming what is wrong.
#[test]
fn the_mail_oauth_section_is_read_and_checked_with_plain_messages() {
    let parse = |text: &str| vigil::config::Config::parse(Path::new("c.toml"), text);
    let ok = parse(
        "[mail.oauth]\nprovider = \"google\"\nkey_file = \"/etc/vigil/sa.json\"\nsub = \"alerts@college.example\"\n",
    )
    .expect("valid");
    let oauth = ok.mail.oauth.expect("set");
    assert_eq!((oauth.provider, oauth.scope()), (Provider::Google, "https://mail.google.com/"));
    assert_eq!(parse("").expect("valid").mail.oauth, None, "no [mail.oauth]: none");
    for (text, words) in [
        (
            "[mail.oauth]\nprovider = \"microsoft\"\ntenant = \"t\"\nclient_id = \"c\"\n",
            "[mail.oauth] provider = \"microsoft\" needs client_secret_file",
        ),
        ("[mail.oauth]\nprovider = \"yahoo\"\n", "yahoo"),
        (
            "[mail.oauth]\nprovider = \"google\"\nkey_file = \"k\"\nsub = \"s\"\nclient_secret = \"inline\"\n",
            "client_secret",
        ),
        (
            "[mail.oauth]\nprovider = \"google\"\nkey_file = \"k\"\nsub = \"s\"\ntoken_url = \"http://proxy.example/token\"\n",
            "must be an https:// URL",
        ),
    ] {
        let err = parse(text).expect_err(words).to_string();
        assert!(err.contains(words) && err.contains("c.toml"), "{err}");
    }
}
