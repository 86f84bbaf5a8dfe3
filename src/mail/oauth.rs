//! OAuth2 for reading the alert mailbox over IMAP (`[mail.oauth]`): a bearer token from Microsoft Entra ID
//! (the client-credentials grant, for an app given `IMAP.AccessAsApp`) or from Google (a service account's
//! JWT-bearer grant, impersonating the mailbox's user through domain-wide delegation), and the SASL XOAUTH2
//! string the IMAP login sends with it.
//!
//! The IMAP login needs three calls: [`http_client`] once, [`TokenSource::new`] once, then, at each login,
//! [`TokenSource::bearer`] and [`xoauth2`]. A token is kept until shortly before it expires; a login refused
//! with a cached token calls [`TokenSource::forget`] first and tries once more.
//!
//! Secrets come from files only their owner may read ([`crate::secret_file`]), read again at each token
//! request (a renewed client secret needs no restart). Neither a secret nor a token ever reaches an error,
//! a log or a `Debug` string: an error says what to do, in words an IT technician can act on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::secret_file::{self, SecretFileError};

/// The scope for IMAP on Exchange Online with the client-credentials grant.
pub const MICROSOFT_SCOPE: &str = "https://outlook.office365.com/.default";
/// The scope for IMAP on Gmail.
pub const GOOGLE_SCOPE: &str = "https://mail.google.com/";
/// Google's token endpoint, when a key file does not name one.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// A token is renewed this long before it expires (or halfway through a shorter life), so that one fetched
/// for a login never expires during it.
const RENEW_EARLY_SECONDS: i64 = 300;
/// A token whose answer gives no `expires_in` is kept this long only.
const UNKNOWN_LIFETIME_SECONDS: i64 = 300;
/// The life asked for a Google assertion: Google accepts at most an hour.
const ASSERTION_SECONDS: i64 = 3600;
/// A token answer larger than this is not a token answer.
const MAX_ANSWER_BYTES: usize = 64 << 10;

/// Who issues the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Microsoft 365: an Entra ID app registration with a client secret.
    Microsoft,
    /// Google Workspace: a service account with domain-wide delegation.
    Google,
}

/// `[mail.oauth]`: where the mailbox's OAuth2 token comes from. Paths only: no secret is ever in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    pub provider: Provider,
    /// Microsoft: the directory (tenant) ID, or the tenant's domain (`college.onmicrosoft.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Microsoft: the app registration's application (client) ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Microsoft: a file holding the client secret's value (readable by its owner only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// Google: the service account's JSON key file (readable by its owner only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Google: the mailbox's user, whom the service account acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The scope asked for. Default: [`MICROSOFT_SCOPE`] or [`GOOGLE_SCOPE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The token endpoint, for a national cloud (or a test). Default: Entra ID's for the tenant, or the
    /// key file's `token_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
}

impl OAuthConfig {
    /// A plain message naming the key when the settings do not describe one provider's grant.
    pub fn validate(&self) -> Result<(), String> {
        let name = match self.provider {
            Provider::Microsoft => "microsoft",
            Provider::Google => "google",
        };
        /// Each setting's name, and whether it is set.
        type Settings<'a> = &'a [(&'a str, bool)];
        let (needed, foreign): (Settings, Settings) = match self.provider {
            Provider::Microsoft => (
                &[
                    ("tenant", self.tenant.is_some()),
                    ("client_id", self.client_id.is_some()),
                    ("client_secret_file", self.client_secret_file.is_some()),
                ],
                &[("key_file", self.key_file.is_some()), ("sub", self.sub.is_some())],
            ),
            Provider::Google => (
                &[("key_file", self.key_file.is_some()), ("sub", self.sub.is_some())],
                &[
                    ("tenant", self.tenant.is_some()),
                    ("client_id", self.client_id.is_some()),
                    ("client_secret_file", self.client_secret_file.is_some()),
                ],
            ),
        };
        if let Some((key, _)) = needed.iter().find(|(_, set)| !set) {
            return Err(format!("provider = \"{name}\" needs {key}"));
        }
        if let Some((key, _)) = foreign.iter().find(|(_, set)| *set) {
            return Err(format!("{key} is not a setting of provider = \"{name}\""));
        }
        if let Some(tenant) = &self.tenant
            && (tenant.is_empty() || !tenant.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        {
            return Err("tenant must be the directory (tenant) ID or the tenant's domain".into());
        }
        for (key, value) in [("client_id", &self.client_id), ("sub", &self.sub), ("scope", &self.scope)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty() || v.chars().any(char::is_control)) {
                return Err(format!("{key} must be plain text on one line"));
            }
        }
        if let Some(url) = &self.token_url {
            endpoint(url).map_err(|e| format!("token_url: {e}"))?;
        }
        Ok(())
    }

    /// The scope asked for: `scope`, else the provider's IMAP scope.
    pub fn scope(&self) -> &str {
        self.scope.as_deref().unwrap_or(match self.provider {
            Provider::Microsoft => MICROSOFT_SCOPE,
            Provider::Google => GOOGLE_SCOPE,
        })
    }
}

/// A token endpoint vigil will send a secret to: HTTPS, or plain HTTP on this machine's loopback only.
fn endpoint(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| format!("`{url}` is not a URL"))?;
    let loopback = match parsed.host_str() {
        Some("localhost") => true,
        Some(host) => host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        None => return Err(format!("`{url}` names no host")),
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err(format!("`{url}` must be an https:// URL (a secret is sent to it)")),
    }
}

/// Why no token was had. Every message says what to do and holds neither a secret nor a token.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("[mail.oauth] {0}")]
    Config(String),
    #[error(transparent)]
    SecretFile(#[from] SecretFileError),
    #[error("the client secret file {file} is empty or not text: write the secret's value to it")]
    EmptySecret { file: PathBuf },
    #[error(
        "the key file {file} is not a Google service-account key ({detail}): download the service account's JSON key again"
    )]
    BadKeyFile { file: PathBuf, detail: &'static str },
    #[error(
        "the client secret has expired: create a new one in Entra ID (App registrations, the app, Certificates & secrets) and write its value to {file}"
    )]
    SecretExpired { file: PathBuf },
    #[error(
        "Entra ID refused the client secret (AADSTS{code}): write the secret's value (not its ID) to {file}, and check client_id"
    )]
    SecretWrong { file: PathBuf, code: u64 },
    #[error(
        "Entra ID does not know this app in this tenant (AADSTS{code}): check [mail.oauth] tenant and client_id against the app registration's overview"
    )]
    UnknownApp { code: u64 },
    #[error(
        "Entra ID will not give this app a token for {scope} (AADSTS{code}): give it the application permission Office 365 Exchange Online, IMAP.AccessAsApp, and grant admin consent"
    )]
    NotAllowed { scope: String, code: u64 },
    #[error(
        "Google will not let the service account act for {sub}: in the Google Admin console, Security, API controls, Domain-wide delegation, add the service account's client ID with the scope {scope}"
    )]
    NoDelegation { sub: String, scope: String },
    #[error(
        "Google refused the service account's key in {file} (a deleted or disabled key, a sub that is not a user of the domain, or this machine's clock is wrong): check sub and the clock, or create a new key"
    )]
    KeyRefused { file: PathBuf },
    #[error("the token endpoint refused the request (HTTP {status}{}): check [mail.oauth]", error.as_deref().map(|e| format!(", {e}")).unwrap_or_default())]
    Refused { status: u16, error: Option<String> },
    #[error("the token endpoint {host} is unavailable (HTTP {status}): vigil tries again later")]
    Unavailable { host: String, status: u16 },
    #[error("the token endpoint {host} could not be reached ({what}): vigil tries again later")]
    Network { host: String, what: &'static str },
    #[error("the token endpoint's answer is not an OAuth2 token ({0}): check token_url")]
    Malformed(&'static str),
    #[error("the {0} holds a control character: it cannot go into an XOAUTH2 login")]
    NotSasl(&'static str),
}

impl OAuthError {
    /// A failure that may pass by itself (the endpoint down, slow or throttling): try again with backoff. Any
    /// other needs someone to change the configuration, the secret or the app's permissions.
    pub fn is_retryable(&self) -> bool {
        matches!(self, OAuthError::Unavailable { .. } | OAuthError::Network { .. })
    }
}

/// The HTTP client for token requests: bounded in time, following no redirect (a secret goes to the
/// configured endpoint or nowhere).
pub fn http_client() -> Result<reqwest::Client, OAuthError> {
    crate::feed::client::install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|_| OAuthError::Network { host: "(none)".into(), what: "no HTTP client" })
}

/// Bearer tokens for the mailbox, fetched as needed and kept until shortly before they expire.
pub struct TokenSource {
    config: OAuthConfig,
    http: reqwest::Client,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

struct Cached {
    bearer: Zeroizing<String>,
    renew_at: DateTime<Utc>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = match self.cached.try_lock() {
            Ok(c) => c.as_ref().map(|c| format!("a token (redacted) until {}", c.renew_at)),
            Err(_) => Some("(being fetched)".into()),
        };
        f.debug_struct("TokenSource").field("config", &self.config).field("cached", &cached).finish()
    }
}

/// A token answer (RFC 6749, 5.1).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
}

/// An error answer (RFC 6749, 5.2), with Entra ID's numbered codes.
#[derive(Deserialize, Default)]
struct ErrorAnswer {
    error: Option<String>,
    error_description: Option<String>,
    error_codes: Option<Vec<u64>>,
}

/// What a Google service-account key file holds that the grant needs.
#[derive(Deserialize)]
struct ServiceAccountKey {
    client_email: String,
    private_key: String,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

impl TokenSource {
    /// A source for `config` (checked here too, so a config built in code is held to the same rules).
    pub fn new(config: &OAuthConfig, http: reqwest::Client) -> Result<TokenSource, OAuthError> {
        config.validate().map_err(OAuthError::Config)?;
        Ok(TokenSource { config: config.clone(), http, cached: tokio::sync::Mutex::new(None) })
    }

    /// A bearer token valid at `now` and for a few minutes more: the cached one, or a new one.
    pub async fn bearer(&self, now: DateTime<Utc>) -> Result<String, OAuthError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && now < c.renew_at
        {
            return Ok(c.bearer.to_string());
        }
        *cached = None;
        let (bearer, lifetime) = self.request(now).await?;
        let renew_at = now + chrono::Duration::seconds(lifetime - (lifetime / 2).min(RENEW_EARLY_SECONDS));
        let token = bearer.to_string();
        *cached = Some(Cached { bearer, renew_at });
        Ok(token)
    }

    /// Drops the cached token: the next [`TokenSource::bearer`] fetches a new one (after a login refused it).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    /// One token request: the token and how many seconds it lives.
    async fn request(&self, now: DateTime<Utc>) -> Result<(Zeroizing<String>, i64), OAuthError> {
        let scope = self.config.scope();
        let (url, form) = match self.config.provider {
            Provider::Microsoft => {
                let file = self.secret_file();
                let bytes = secret_file::read(file, "client secret file")?;
                let secret = std::str::from_utf8(&bytes)
                    .map(str::trim)
                    .ok()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| OAuthError::EmptySecret { file: file.to_path_buf() })?;
                let url = match &self.config.token_url {
                    Some(url) => url.clone(),
                    None => format!(
                        "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
                        self.config.tenant.as_deref().unwrap_or_default()
                    ),
                };
                let form = vec![
                    ("grant_type", Zeroizing::new("client_credentials".to_string())),
                    ("client_id", Zeroizing::new(self.config.client_id.clone().unwrap_or_default())),
                    ("client_secret", Zeroizing::new(secret.to_string())),
                    ("scope", Zeroizing::new(scope.to_string())),
                ];
                (url, form)
            }
            Provider::Google => {
                let (assertion, token_uri) = self.google_assertion(now)?;
                let url = self.config.token_url.clone().unwrap_or(token_uri);
                let form = vec![
                    ("grant_type", Zeroizing::new("urn:ietf:params:oauth:grant-type:jwt-bearer".to_string())),
                    ("assertion", assertion),
                ];
                (url, form)
            }
        };
        let url = endpoint(&url).map_err(OAuthError::Config)?;
        let host = url.host_str().unwrap_or_default().to_string();
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| network(&host, &e))?;
        let status = answer.status();
        let body = read_capped(answer).await.map_err(|e| network(&host, &e))?;
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(OAuthError::Unavailable { host, status: status.as_u16() });
        }
        if !status.is_success() {
            let answer: ErrorAnswer = body.as_deref().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
            return Err(self.refusal(status.as_u16(), answer));
        }
        let body = body.ok_or(OAuthError::Malformed("larger than any token answer"))?;
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|_| OAuthError::Malformed("not the JSON OAuth2 describes"))?;
        let TokenAnswer { access_token, token_type, expires_in } = answer;
        let access_token = Zeroizing::new(access_token);
        if token_type.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("bearer")) {
            return Err(OAuthError::Malformed("not a bearer token"));
        }
        // RFC 6750's token characters: visible ASCII, which is also all an XOAUTH2 string may hold.
        if access_token.is_empty() || !access_token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(OAuthError::Malformed("an empty or unprintable access_token"));
        }
        let lifetime = match &expires_in {
            None => UNKNOWN_LIFETIME_SECONDS,
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .filter(|s| (1..=86_400 * 7).contains(s))
                .ok_or(OAuthError::Malformed("an expires_in that is not a number of seconds"))?,
        };
        Ok((access_token, lifetime))
    }

    fn secret_file(&self) -> &Path {
        self.config.client_secret_file.as_deref().unwrap_or(Path::new(""))
    }

    fn key_file(&self) -> &Path {
        self.config.key_file.as_deref().unwrap_or(Path::new(""))
    }

    /// The signed JWT Google's grant takes (RFC 7523), and the token endpoint the key file names.
    fn google_assertion(&self, now: DateTime<Utc>) -> Result<(Zeroizing<String>, String), OAuthError> {
        let file = self.key_file();
        let bad = |detail| OAuthError::BadKeyFile { file: file.to_path_buf(), detail };
        let bytes = secret_file::read(file, "service-account key file")?;
        let key: ServiceAccountKey = serde_json::from_slice(&bytes).map_err(|_| bad("not its JSON"))?;
        let private_key = Zeroizing::new(key.private_key);
        let der = rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(private_key.as_bytes())
            .map_err(|_| bad("its private_key is not a PEM private key"))?;
        let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|_| bad("its private_key is not an RSA key"))?;
        let token_uri = key.token_uri.clone().unwrap_or_else(|| GOOGLE_TOKEN_URL.to_string());
        let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &key.private_key_id {
            header["kid"] = kid.as_str().into();
        }
        let claims = serde_json::json!({
            "iss": key.client_email,
            "sub": self.config.sub,
            "scope": self.config.scope(),
            "aud": token_uri,
            "iat": now.timestamp(),
            "exp": now.timestamp() + ASSERTION_SECONDS,
        });
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signing_input.as_bytes(),
            &mut signature,
        )
        .map_err(|_| bad("its private_key cannot sign"))?;
        Ok((Zeroizing::new(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))), token_uri))
    }

    /// What a refusal means, by the provider's error and (Entra ID's) numbered code.
    fn refusal(&self, status: u16, answer: ErrorAnswer) -> OAuthError {
        let error = answer.error.filter(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        let description = answer.error_description.unwrap_or_default();
        let scope = self.config.scope().to_string();
        match self.config.provider {
            Provider::Microsoft => {
                let code = answer.error_codes.and_then(|c| c.first().copied()).or_else(|| aadsts(&description));
                let file = self.secret_file().to_path_buf();
                match (error.as_deref(), code) {
                    (_, Some(7_000_222)) => OAuthError::SecretExpired { file },
                    (_, Some(code @ (700_016 | 90_002 | 900_023))) => OAuthError::UnknownApp { code },
                    (Some("invalid_client"), code) => OAuthError::SecretWrong { file, code: code.unwrap_or(7_000_215) },
                    (Some("unauthorized_client" | "invalid_scope" | "access_denied" | "consent_required"), code)
                    | (_, code @ Some(65_001 | 70_011 | 500_011 | 7_000_112)) => {
                        OAuthError::NotAllowed { scope, code: code.unwrap_or_default() }
                    }
                    _ => OAuthError::Refused { status, error },
                }
            }
            Provider::Google => match error.as_deref() {
                Some("unauthorized_client" | "access_denied") => {
                    OAuthError::NoDelegation { sub: self.config.sub.clone().unwrap_or_default(), scope }
                }
                Some("invalid_grant" | "invalid_client") => {
                    OAuthError::KeyRefused { file: self.key_file().to_path_buf() }
                }
                _ => OAuthError::Refused { status, error },
            },
        }
    }
}

/// Entra ID's numbered code in a description ("AADSTS7000222: The provided client secret keys ... are expired").
fn aadsts(description: &str) -> Option<u64> {
    let rest = &description[description.find("AADSTS")? + "AADSTS".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn network(host: &str, e: &reqwest::Error) -> OAuthError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "no connection"
    } else {
        "the exchange failed"
    };
    OAuthError::Network { host: host.to_string(), what }
}

/// The answer's body, or `None` when it is larger than any token answer.
async fn read_capped(mut answer: reqwest::Response) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// The SASL XOAUTH2 initial response for `user` with `bearer`, unencoded (an IMAP crate's `authenticate`
/// base64-encodes what its authenticator returns): `user=USER^Aauth=Bearer TOKEN^A^A`.
pub fn xoauth2(user: &str, bearer: &str) -> Result<String, OAuthError> {
    if user.is_empty() || user.chars().any(char::is_control) {
        return Err(OAuthError::NotSasl("mailbox user"));
    }
    if bearer.is_empty() || bearer.chars().any(char::is_control) {
        return Err(OAuthError::NotSasl("token"));
    }
    Ok(format!("user={user}\x01auth=Bearer {bearer}\x01\x01"))
}

/// [`xoauth2`] base64-encoded, for a client that sends the response itself (`AUTHENTICATE XOAUTH2 <this>`).
pub fn xoauth2_base64(user: &str, bearer: &str) -> Result<String, OAuthError> {
    xoauth2(user, bearer).map(|s| STANDARD.encode(s))
}

/// The application permissions (`roles`) an Entra ID access token carries, when it can be read as a JWT:
/// `vigil mail token-check` says when `IMAP.AccessAsApp` is missing (the login would then fail). `None` for
/// a token that is not a readable JWT (nothing can be said).
pub fn microsoft_roles(bearer: &str) -> Option<Vec<String>> {
    let payload = bearer.split('.').nth(1)?;
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    Some(
        claims
            .get("roles")
            .and_then(|r| r.as_array())
            .map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Google's documented example (developers.google.com/gmail/imap/xoauth2-protocol), byte for byte.
    #[test]
    fn the_xoauth2_string_is_googles_example_byte_for_byte() {
        let token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
        let raw = xoauth2("someuser@example.com", token).expect("plain");
        assert_eq!(
            raw.as_bytes(),
            b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
        );
        assert_eq!(
            xoauth2_base64("someuser@example.com", token).expect("plain"),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
    }

    #[test]
    fn a_user_or_token_with_a_control_character_is_refused() {
        for (user, token) in [
            ("a@b\x01auth=Bearer x", "t"),
            ("a@b", "t\x01\x01"),
            ("a@b\r\n", "t"),
            ("a@b", "t\n"),
            ("", "t"),
            ("a@b", ""),
        ] {
            let err = xoauth2(user, token).expect_err("refused");
            assert!(matches!(err, OAuthError::NotSasl(_)), "{user:?} {token:?}: {err}");
            assert!(!err.to_string().contains(token) || token.is_empty() || token == "t", "no token echoed: {err}");
        }
    }

    fn microsoft() -> OAuthConfig {
        OAuthConfig {
            provider: Provider::Microsoft,
            tenant: Some("college.onmicrosoft.com".into()),
            client_id: Some("00000000-1111-2222-3333-444444444444".into()),
            client_secret_file: Some("/etc/vigil/mail-secret".into()),
            key_file: None,
            sub: None,
            scope: None,
            token_url: None,
        }
    }

    #[test]
    fn each_provider_needs_its_own_settings_and_no_other() {
        assert_eq!(microsoft().validate(), Ok(()));
        let cases = [
            (OAuthConfig { tenant: None, ..microsoft() }, "needs tenant"),
            (OAuthConfig { client_secret_file: None, ..microsoft() }, "needs client_secret_file"),
            (
                OAuthConfig { sub: Some("a@b".into()), ..microsoft() },
                "sub is not a setting of provider = \"microsoft\"",
            ),
            (OAuthConfig { provider: Provider::Google, ..microsoft() }, "provider = \"google\" needs key_file"),
            (OAuthConfig { tenant: Some("x/../evil".into()), ..microsoft() }, "tenant must be"),
            (OAuthConfig { client_id: Some("a\nb".into()), ..microsoft() }, "client_id must be plain text"),
            (OAuthConfig { token_url: Some("http://login.example/token".into()), ..microsoft() }, "https://"),
        ];
        for (config, expected) in cases {
            let err = config.validate().expect_err(expected);
            assert!(err.contains(expected), "{err}");
        }
        let local = OAuthConfig { token_url: Some("http://127.0.0.1:9/token".into()), ..microsoft() };
        assert_eq!(local.validate(), Ok(()), "plain HTTP on loopback, for tests");
        let google = OAuthConfig {
            provider: Provider::Google,
            tenant: None,
            client_id: None,
            client_secret_file: None,
            key_file: Some("/etc/vigil/sa.json".into()),
            sub: Some("alerts@college.example".into()),
            ..microsoft()
        };
        assert_eq!(google.validate(), Ok(()));
        assert_eq!(google.scope(), GOOGLE_SCOPE);
        assert_eq!(microsoft().scope(), MICROSOFT_SCOPE);
    }

    #[test]
    fn entra_codes_are_read_from_the_description_too() {
        assert_eq!(aadsts("AADSTS7000222: The provided client secret keys for app 'x' are expired."), Some(7_000_222));
        assert_eq!(aadsts("no code here"), None);
    }
}
