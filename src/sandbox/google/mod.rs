//! Google's OAuth 2.0 token endpoint for service accounts (`POST /token`, standing in for
//! `https://oauth2.googleapis.com/token`) and the bearer-token check the Google API emulators
//! (`sandbox/sheets/`, `sandbox/forms/`) run before anything else, with what they share: the
//! scope check, the sharing check, Google's error messages and the per-minute quota windows.
//!
//! The endpoint takes `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT`,
//! verifies the RS256 signature with the public key of the sandbox's service account (a fixed
//! RSA-2048 key pair committed beside this file as `sandbox-service-account.NOT-A-SECRET.pem`:
//! it guards nothing but this emulator and is published on purpose), `iss` (a known
//! `client_email`), `aud` (this endpoint's URL), `iat`/`exp` (at most one hour apart, 60 s of clock
//! skew) and the scopes, and answers with an opaque bearer token whose lifetime is configurable
//! ([`GoogleConfig::token_lifetime`], `POST /__sandbox/google/settings`), so tests see tokens
//! expire. Refusals carry Google's OAuth error bodies (`{"error": "invalid_grant",
//! "error_description": …}`); API calls without a live token get Google's
//! `{"error": {"code": 401, "message": …, "status": "UNAUTHENTICATED"}}`.
//!
//! Admin paths (no auth, never faulted): `GET /__sandbox/google/key-file` (the service account's
//! key file, `token_uri` pointing at this sandbox), `GET`/`POST /__sandbox/google/settings`
//! (`{token_lifetime_ms}`), `POST /__sandbox/google/revoke` (every token issued so far expires).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::AppState;
use super::emulator::{Emulator, EmulatorError, RemoteRecord};
use super::faults::{FaultRenderer, RateLimiter, fault_middleware};
use super::store::State as SandboxState;
use crate::connectors::google::pem_to_der;

/// The sandbox service account's private key (PKCS#8 PEM). Not a secret: it is committed so the
/// sandbox, its demos and its tests sign with it; it opens nothing but this emulator.
pub const SANDBOX_PRIVATE_KEY_PEM: &str = include_str!("sandbox-service-account.NOT-A-SECRET.pem");

/// The sandbox service account's e-mail (`client_email`, the JWT's `iss`).
pub const SANDBOX_CLIENT_EMAIL: &str = "ssot-vault-sync@ssot-vault-sandbox.iam.gserviceaccount.com";

/// The sandbox service account's project.
pub const SANDBOX_PROJECT_ID: &str = "ssot-vault-sandbox";

/// The sandbox key's id (`private_key_id`, the JWT header's `kid`).
pub const SANDBOX_KEY_ID: &str = "5a4db0c7000000000000000000000000000000a1";

/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/token";

/// The grant type of a service account's assertion.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Clock skew allowed between the signer and the endpoint.
const SKEW_S: i64 = 60;

/// Scopes the endpoint knows (a token may carry any of them).
pub const KNOWN_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/spreadsheets.readonly",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/forms.body",
    "https://www.googleapis.com/auth/forms.body.readonly",
    "https://www.googleapis.com/auth/forms.responses.readonly",
    "https://www.googleapis.com/auth/cloud-platform",
];

/// Settings of the Google sign-in emulator.
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// How long an issued access token lives (Google's: one hour).
    pub token_lifetime: Duration,
}

impl Default for GoogleConfig {
    fn default() -> Self {
        GoogleConfig {
            token_lifetime: Duration::from_secs(3600),
        }
    }
}

/// An access token the endpoint issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The service account it was issued to.
    pub email: String,
    /// The project of that account.
    pub project: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Sandbox epoch ms at which it expires.
    pub expires_ms: i64,
}

impl Issued {
    /// Whether the token carries one of these scopes.
    pub fn has_any_scope(&self, scopes: &[&str]) -> bool {
        self.scopes.iter().any(|s| scopes.contains(&s.as_str()))
    }
}

/// The sign-in emulator's live state: the tokens issued, their lifetime, the accounts' keys.
#[derive(Debug)]
pub struct GoogleRuntime {
    lifetime_ms: AtomicI64,
    tokens: Mutex<HashMap<String, Issued>>,
    issued: AtomicI64,
    seed: u64,
    /// `(client_email, project_id, private_key_id, RSA public key DER)` of the known accounts.
    accounts: Vec<(String, String, String, Vec<u8>)>,
}

impl GoogleRuntime {
    /// The runtime a configuration describes, knowing the sandbox's service account.
    pub fn new(cfg: &GoogleConfig) -> Self {
        let accounts = sandbox_public_key()
            .map(|der| {
                vec![(
                    SANDBOX_CLIENT_EMAIL.to_owned(),
                    SANDBOX_PROJECT_ID.to_owned(),
                    SANDBOX_KEY_ID.to_owned(),
                    der,
                )]
            })
            .unwrap_or_default();
        GoogleRuntime {
            lifetime_ms: AtomicI64::new(cfg.token_lifetime.as_millis() as i64),
            tokens: Mutex::new(HashMap::new()),
            issued: AtomicI64::new(0),
            seed: crate::rng::time_seed(),
            accounts,
        }
    }

    /// Sets the lifetime of the tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.lifetime_ms
            .store(lifetime.as_millis() as i64, Ordering::Relaxed);
    }

    /// Lifetime of new tokens.
    pub fn token_lifetime(&self) -> Duration {
        Duration::from_millis(self.lifetime_ms.load(Ordering::Relaxed).max(0) as u64)
    }

    /// Every token issued so far expires now.
    pub fn revoke_all(&self) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Access tokens issued since the start.
    pub fn tokens_issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed).max(0) as u64
    }

    /// The live token `token` at `now_ms`.
    pub fn lookup(&self, token: &str, now_ms: i64) -> Option<Issued> {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, t| t.expires_ms > now_ms);
        tokens.get(token).cloned()
    }

    fn issue(&self, claims: &Claims, project: &str, now_ms: i64) -> (String, i64) {
        let n = self.issued.fetch_add(1, Ordering::Relaxed) + 1;
        let mut rng =
            crate::rng::Rng::new(self.seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let token = format!("ya29.sandbox.{n:08x}{:016x}", rng.next_u64());
        let lifetime = self.lifetime_ms.load(Ordering::Relaxed).max(0);
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                token.clone(),
                Issued {
                    email: claims.iss.clone(),
                    project: project.to_owned(),
                    scopes: claims.scopes.clone(),
                    expires_ms: now_ms.saturating_add(lifetime),
                },
            );
        (token, lifetime)
    }
}

/// The RSA public key (PKCS#1 `RSAPublicKey` DER) of the sandbox's service account.
pub fn sandbox_public_key() -> Option<Vec<u8>> {
    let der = pem_to_der(SANDBOX_PRIVATE_KEY_PEM)?;
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).ok()?;
    Some(
        ring::signature::KeyPair::public_key(&pair)
            .as_ref()
            .to_vec(),
    )
}

/// The sandbox service account's key file, as Google issues one, with `token_uri` pointing at
/// `token_uri` (this sandbox's `…/token`).
pub fn sandbox_key_file(token_uri: &str) -> Value {
    json!({
        "type": "service_account",
        "project_id": SANDBOX_PROJECT_ID,
        "private_key_id": SANDBOX_KEY_ID,
        "private_key": SANDBOX_PRIVATE_KEY_PEM,
        "client_email": SANDBOX_CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": format!(
            "https://www.googleapis.com/robot/v1/metadata/x509/{}",
            SANDBOX_CLIENT_EMAIL.replace('@', "%40")
        ),
        "universe_domain": "googleapis.com",
    })
}

/// Writes the sandbox service account's key file (for `GOOGLE_APPLICATION_CREDENTIALS`) to
/// `path`, `token_uri` pointing at the sandbox at `base_url`.
pub fn write_key_file(path: &Path, base_url: &str) -> std::io::Result<()> {
    let key = sandbox_key_file(&format!("{}{TOKEN_PATH}", base_url.trim_end_matches('/')));
    let text = serde_json::to_string_pretty(&key).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}

/// A refusal of the token endpoint: Google's OAuth error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    /// HTTP status (400, or 401 for `invalid_client`).
    pub status: u16,
    /// `invalid_grant`, `invalid_client`, `invalid_scope`, `invalid_request`,
    /// `unsupported_grant_type`.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
}

impl OAuthError {
    fn grant(description: impl Into<String>) -> Self {
        OAuthError {
            status: 400,
            error: "invalid_grant",
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        (
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST),
            axum::Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response()
    }
}

/// The claims of a verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `iss`: the service account's e-mail.
    pub iss: String,
    /// `scope`, split on spaces.
    pub scopes: Vec<String>,
    /// `aud`.
    pub aud: String,
    /// `iat`, epoch seconds.
    pub iat: i64,
    /// `exp`, epoch seconds.
    pub exp: i64,
}

const BAD_SIGNATURE: &str = "Invalid JWT Signature.";
const BAD_TIME: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a \
    reasonable timeframe. Check your iat and exp values in the JWT claim.";

fn segment_json(seg: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(seg.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Verifies a service account's RS256 assertion as the token endpoint does: its form, the
/// account (`iss` known, `kid` its key), the signature with that account's public key, `aud`,
/// the times at `now_s` and the scopes. `accounts`: `(client_email, key id, RSA public key DER)`.
pub fn verify_assertion(
    jwt: &str,
    accounts: &[(&str, &str, &[u8])],
    audience: &str,
    now_s: i64,
) -> Result<Claims, OAuthError> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(OAuthError::grant("Invalid JWT: not three segments"));
    };
    let header = segment_json(h).ok_or_else(|| OAuthError::grant("Invalid JWT header"))?;
    let payload = segment_json(p).ok_or_else(|| OAuthError::grant("Invalid JWT payload"))?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(OAuthError::grant(
            "Invalid JWT: the algorithm must be RS256",
        ));
    }
    let iss = payload
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if iss.is_empty() {
        return Err(OAuthError {
            status: 401,
            error: "invalid_client",
            description: "The OAuth client was not found.".to_owned(),
        });
    }
    let Some((_, kid, public_key)) = accounts.iter().find(|(email, _, _)| *email == iss) else {
        return Err(OAuthError::grant("Invalid grant: account not found"));
    };
    if header
        .get("kid")
        .and_then(Value::as_str)
        .is_some_and(|k| k != *kid)
    {
        return Err(OAuthError::grant(BAD_SIGNATURE));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| OAuthError::grant(BAD_SIGNATURE))?;
    let signed = &jwt[..h.len() + 1 + p.len()];
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public_key,
    )
    .verify(signed.as_bytes(), &signature)
    .map_err(|_| OAuthError::grant(BAD_SIGNATURE))?;
    let aud = payload
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if aud != audience {
        return Err(OAuthError::grant(format!(
            "Invalid JWT: Failed audience check. The right audience is {audience}"
        )));
    }
    let (Some(iat), Some(exp)) = (
        payload.get("iat").and_then(Value::as_i64),
        payload.get("exp").and_then(Value::as_i64),
    ) else {
        return Err(OAuthError::grant(BAD_TIME));
    };
    if exp <= iat || exp - iat > 3600 || iat > now_s + SKEW_S || exp < now_s - SKEW_S {
        return Err(OAuthError::grant(BAD_TIME));
    }
    let scope = payload
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let scopes: Vec<String> = scope.split_whitespace().map(str::to_owned).collect();
    if scopes.is_empty() {
        return Err(OAuthError {
            status: 400,
            error: "invalid_scope",
            description: "Empty or missing scope not allowed.".to_owned(),
        });
    }
    if let Some(bad) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return Err(OAuthError {
            status: 400,
            error: "invalid_scope",
            description: format!("Invalid OAuth scope or ID token audience provided: {bad}"),
        });
    }
    Ok(Claims {
        iss: iss.to_owned(),
        scopes,
        aud: aud.to_owned(),
        iat,
        exp,
    })
}

/// `http://host:port` a request was sent to.
fn origin(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}"))
        .unwrap_or_default()
}

/// `POST /token`: exchanges a service account's assertion for an access token.
async fn token(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut grant_type = None;
    let mut assertion = None;
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "grant_type" => grant_type = Some(v.into_owned()),
            "assertion" => assertion = Some(v.into_owned()),
            _ => {}
        }
    }
    match grant_type.as_deref() {
        Some(JWT_BEARER_GRANT) => {}
        Some(other) => {
            return OAuthError {
                status: 400,
                error: "unsupported_grant_type",
                description: format!("Invalid grant_type: {other}"),
            }
            .into_response();
        }
        None => {
            return OAuthError {
                status: 400,
                error: "invalid_request",
                description: "Required parameter is missing: grant_type".to_owned(),
            }
            .into_response();
        }
    }
    let Some(assertion) = assertion.filter(|a| !a.is_empty()) else {
        return OAuthError {
            status: 400,
            error: "invalid_request",
            description: "Missing required parameter: assertion".to_owned(),
        }
        .into_response();
    };
    let rt = &app.google;
    let accounts: Vec<(&str, &str, &[u8])> = rt
        .accounts
        .iter()
        .map(|(e, _, k, d)| (e.as_str(), k.as_str(), d.as_slice()))
        .collect();
    let audience = format!("{}{TOKEN_PATH}", origin(&headers));
    let now_ms = app.now_ms();
    match verify_assertion(&assertion, &accounts, &audience, now_ms.div_euclid(1000)) {
        Ok(claims) => {
            let project = rt
                .accounts
                .iter()
                .find(|(e, ..)| *e == claims.iss)
                .map(|(_, p, ..)| p.clone())
                .unwrap_or_default();
            let (token, lifetime_ms) = rt.issue(&claims, &project, now_ms);
            axum::Json(json!({
                "access_token": token,
                "expires_in": (lifetime_ms / 1000).max(if lifetime_ms > 0 { 1 } else { 0 }),
                "token_type": "Bearer",
            }))
            .into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Google's API error body: `{"error": {"code", "message", "status"}}`.
pub fn api_error(status: StatusCode, message: &str) -> Response {
    let name = match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    };
    let mut resp = (
        status,
        axum::Json(json!({"error": {"code": status.as_u16(), "message": message, "status": name}})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
        );
    }
    resp
}

/// An error of a Google API the sandbox emulates (Sheets, Forms): its status and message,
/// rendered as Google's error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// 400 `INVALID_ARGUMENT`.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404 `NOT_FOUND`.
    pub fn not_found() -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: NOT_FOUND.to_owned(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        api_error(self.status, &self.message)
    }
}

/// Renders an injected fault as a Google API (Sheets, Forms) would answer it.
pub fn render_api_fault(status: StatusCode) -> Response {
    let message = if status == StatusCode::TOO_MANY_REQUESTS {
        "Quota exceeded (injected by the sandbox)".to_owned()
    } else {
        format!(
            "{} (injected by the sandbox)",
            status.canonical_reason().unwrap_or("error")
        )
    };
    api_error(status, &message)
}

/// A Google API's per-minute quota windows, made from its settings.
pub trait QuotaSet {
    /// The settings (`SheetsQuota`, `FormsQuota`).
    type Config: Copy;
    /// Fresh windows for these settings.
    fn from_config(config: Self::Config) -> Self;
    /// The settings they were made from.
    fn config(&self) -> Self::Config;
}

/// A Google emulator's live settings: its quota windows (`None`: no limits).
#[derive(Debug)]
pub struct QuotaRuntime<Q> {
    pub(crate) quotas: Mutex<Option<Q>>,
}

impl<Q: QuotaSet> QuotaRuntime<Q> {
    /// The runtime of these settings.
    pub fn new(quota: Option<Q::Config>) -> Self {
        QuotaRuntime {
            quotas: Mutex::new(quota.map(Q::from_config)),
        }
    }

    /// Replaces the quotas (fresh windows); `None` turns them off.
    pub fn set_quota(&self, quota: Option<Q::Config>) {
        *self.quotas.lock().unwrap_or_else(|e| e.into_inner()) = quota.map(Q::from_config);
    }

    /// The quotas in force.
    pub fn quota(&self) -> Option<Q::Config> {
        self.quotas
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(Q::config)
    }
}

/// Why an API call's bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerRefused {
    /// No `Authorization: Bearer …` header.
    Missing,
    /// A token the endpoint did not issue, or one that expired.
    Invalid,
}

impl IntoResponse for BearerRefused {
    fn into_response(self) -> Response {
        let message = match self {
            BearerRefused::Missing => {
                "Request is missing required authentication credential. Expected OAuth 2 access \
                 token, login cookie or other valid authentication credential. See \
                 https://developers.google.com/identity/sign-in/web/devconsole-project."
            }
            BearerRefused::Invalid => {
                "Request had invalid authentication credentials. Expected OAuth 2 access token, \
                 login cookie or other valid authentication credential. See \
                 https://developers.google.com/identity/sign-in/web/devconsole-project."
            }
        };
        api_error(StatusCode::UNAUTHORIZED, message)
    }
}

/// The bearer-token check of Google's APIs: the live token of the request's
/// `Authorization: Bearer …`, or why it is refused (answered with Google's 401
/// `UNAUTHENTICATED`).
pub fn check_bearer(app: &AppState, headers: &HeaderMap) -> Result<Issued, BearerRefused> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(BearerRefused::Missing)?;
    app.google
        .lookup(token, app.now_ms())
        .ok_or(BearerRefused::Invalid)
}

/// Google's message for a token without any of a method's scopes (a 403 `PERMISSION_DENIED`).
pub const INSUFFICIENT_SCOPES: &str = "Request had insufficient authentication scopes.";

/// Google's message for a document that is not shared with the caller (403).
pub const NO_PERMISSION: &str = "The caller does not have permission";

/// Google's message for a document (or a part of one) that does not exist (404).
pub const NOT_FOUND: &str = "Requested entity was not found.";

/// A token without any of a method's scopes, answered with Google's 403 `PERMISSION_DENIED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsufficientScopes;

impl IntoResponse for InsufficientScopes {
    fn into_response(self) -> Response {
        api_error(StatusCode::FORBIDDEN, INSUFFICIENT_SCOPES)
    }
}

/// The scope check of Google's APIs: `Ok` when the token carries one of `scopes`.
pub fn check_scopes(who: &Issued, scopes: &[&str]) -> Result<(), InsufficientScopes> {
    if who.has_any_scope(scopes) {
        Ok(())
    } else {
        Err(InsufficientScopes)
    }
}

/// Whether a document shared with `shared_with` (e-mail addresses) is shared with the caller.
pub fn is_shared_with(shared_with: &[String], who: &Issued) -> bool {
    shared_with
        .iter()
        .any(|e| e.eq_ignore_ascii_case(&who.email))
}

/// The per-minute quota windows of one metric of a Google API (say Sheets' "Read requests"):
/// one rolling window per user and one per project.
#[derive(Debug)]
pub struct QuotaWindows {
    user: RateLimiter,
    project: RateLimiter,
}

impl QuotaWindows {
    /// Fresh windows allowing `per_user` and `per_project` requests per `window`.
    pub fn new(per_user: u32, per_project: u32, window: Duration) -> Self {
        QuotaWindows {
            user: RateLimiter::new(per_user, window),
            project: RateLimiter::new(per_project, window),
        }
    }

    /// Counts a request of `who` against the metric `metric` (`Read requests`) of `service`
    /// (`sheets.googleapis.com`): `Err` with Google's message when the user's quota (limit
    /// `{metric} per minute per user`) or the project's (`{metric} per minute`) is spent.
    pub fn check(&mut self, service: &str, metric: &str, who: &Issued) -> Result<(), String> {
        let limit = if !self.user.check(&who.email).allowed {
            format!("{metric} per minute per user")
        } else if !self.project.check(&who.project).allowed {
            format!("{metric} per minute")
        } else {
            return Ok(());
        };
        Err(format!(
            "Quota exceeded for quota metric '{metric}' and limit '{limit}' of service \
             '{service}' for consumer 'project_number:{}'.",
            who.project
        ))
    }
}

/// Renders an injected fault on the token endpoint as Google's OAuth server would.
pub fn render_fault(status: StatusCode) -> Response {
    (
        status,
        axum::Json(json!({
            "error": if status == StatusCode::TOO_MANY_REQUESTS { "rate_limit_exceeded" } else { "internal_failure" },
            "error_description": format!("{} (injected by the sandbox)", status.canonical_reason().unwrap_or("error")),
        })),
    )
        .into_response()
}

/// Path prefixes served by this emulator.
pub const PREFIXES: [&str; 1] = [TOKEN_PATH];

/// The token endpoint (faulted and counted) and the admin paths.
pub fn router(app: Arc<AppState>) -> Router<Arc<AppState>> {
    let api = Router::new()
        .route(TOKEN_PATH, post(token))
        .route_layer(middleware::from_fn_with_state(app, fault_middleware));
    let admin = Router::new()
        .route("/__sandbox/google/key-file", get(key_file))
        .route(
            "/__sandbox/google/settings",
            get(settings).post(set_settings),
        )
        .route("/__sandbox/google/revoke", post(revoke));
    api.merge(admin)
}

async fn key_file(headers: HeaderMap) -> Response {
    axum::Json(sandbox_key_file(&format!(
        "{}{TOKEN_PATH}",
        origin(&headers)
    )))
    .into_response()
}

fn settings_json(app: &AppState) -> Value {
    json!({
        "token_lifetime_ms": app.google.token_lifetime().as_millis() as u64,
        "tokens_issued": app.google.tokens_issued(),
    })
}

async fn settings(State(app): State<Arc<AppState>>) -> Response {
    axum::Json(settings_json(&app)).into_response()
}

async fn set_settings(State(app): State<Arc<AppState>>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(if body.is_empty() { b"{}" } else { &body }) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": format!("invalid JSON: {e}")})),
            )
                .into_response();
        }
    };
    if let Some(ms) = v.get("token_lifetime_ms").and_then(Value::as_u64) {
        app.google.set_token_lifetime(Duration::from_millis(ms));
    }
    axum::Json(settings_json(&app)).into_response()
}

async fn revoke(State(app): State<Arc<AppState>>) -> Response {
    app.google.revoke_all();
    StatusCode::NO_CONTENT.into_response()
}

/// Google sign-in: a token endpoint, no records of its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Google;

const NAME: &str = "google";

impl Emulator for Google {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prefixes(&self) -> &'static [&'static str] {
        &PREFIXES
    }

    fn router(&self, app: Arc<AppState>) -> Router<Arc<AppState>> {
        router(app)
    }

    fn fault_renderer(&self) -> FaultRenderer {
        render_fault
    }

    fn seed(&self, _state: &mut SandboxState) {}

    fn kinds(&self) -> &'static [&'static str] {
        &[]
    }

    fn records(&self, _app: &AppState, kind: &str) -> Result<Vec<RemoteRecord>, EmulatorError> {
        Err(unknown(kind))
    }

    fn create(
        &self,
        _app: &AppState,
        kind: &str,
        _fields: &[(&str, &str)],
    ) -> Result<String, EmulatorError> {
        Err(unknown(kind))
    }

    fn edit(
        &self,
        _app: &AppState,
        kind: &str,
        _id: &str,
        _field: &str,
        _value: &str,
    ) -> Result<(), EmulatorError> {
        Err(unknown(kind))
    }

    fn archive(&self, _app: &AppState, kind: &str, _id: &str) -> Result<(), EmulatorError> {
        Err(unknown(kind))
    }
}

fn unknown(kind: &str) -> EmulatorError {
    EmulatorError::UnknownKind {
        service: NAME,
        kind: kind.to_owned(),
    }
}
