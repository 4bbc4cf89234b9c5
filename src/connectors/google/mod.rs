//! What the Google connectors (Sheets, Forms) share: service-account sign-in ([`auth`]) and
//! [`GoogleClient`], the shared HTTP layer ([`Http`]) with the account's access token as its
//! bearer, refreshed once when an API answers 401.

pub mod auth;

use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};

pub use auth::{
    CREDENTIALS_ENV, GOOGLE_TOKEN_URI, GoogleAuthError, ServiceAccountKey, SharedTokens, Signer,
    TokenSource, pem_to_der,
};

use crate::connectors::ConnectorError;
use crate::connectors::http::{Answer, Http, HttpConfig, HttpError, HttpStats, Secret};
use crate::secrets::CredentialSource;

/// Scope of the Sheets API (read and write).
pub const SHEETS_SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";

/// Scope of the Forms API's form bodies, read only (`forms.get`).
pub const FORMS_BODY_SCOPE: &str = "https://www.googleapis.com/auth/forms.body.readonly";

/// Scope of the Forms API's responses, read only (`responses.list`, `responses.get`).
pub const FORMS_RESPONSES_SCOPE: &str = "https://www.googleapis.com/auth/forms.responses.readonly";

/// A Google API's client: requests go out through [`Http`] (pacing, retries) with the current
/// access token; a 401 gets one new token and one more try.
#[derive(Debug)]
pub struct GoogleClient {
    tokens: SharedTokens,
    template: HttpConfig,
    current: Mutex<Option<(Secret, Arc<Http>)>>,
    /// Counters of the HTTP clients replaced by a new token's.
    earlier: Mutex<HttpStats>,
}

impl GoogleClient {
    /// A client of the API at `template.base_url`, signing in through `tokens`.
    pub fn new(tokens: SharedTokens, template: HttpConfig) -> Self {
        GoogleClient {
            tokens,
            template,
            current: Mutex::new(None),
            earlier: Mutex::new(HttpStats::default()),
        }
    }

    /// The token source.
    pub fn tokens(&self) -> &SharedTokens {
        &self.tokens
    }

    /// The HTTP client carrying `token` (a new one when the token changed; pacing carried over).
    fn http_for(&self, token: &Secret) -> Result<Arc<Http>, HttpError> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, h)) = current.as_ref()
            && t == token
        {
            return Ok(h.clone());
        }
        let cfg = HttpConfig {
            bearer: Some(token.clone()),
            ..self.template.clone()
        };
        let http = Arc::new(Http::new(cfg)?);
        if let Some((_, old)) = current.as_ref() {
            http.restore_pacing(&old.pacing());
            let done = old.stats();
            let mut earlier = self.earlier.lock().unwrap_or_else(|e| e.into_inner());
            earlier.requests += done.requests;
            earlier.retries += done.retries;
            earlier.throttled += done.throttled;
        }
        *current = Some((token.clone(), http.clone()));
        Ok(http)
    }

    /// Requests sent to the API so far (every token's client; the token endpoint's not counted).
    pub fn stats(&self) -> HttpStats {
        let mut total = *self.earlier.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, h)) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let s = h.stats();
            total.requests += s.requests;
            total.retries += s.retries;
            total.throttled += s.throttled;
        }
        total
    }

    /// Sends a request (see [`Http::send`]); on a 401 signs in again once and resends.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GoogleError> {
        self.send_with(method, path, query, body, true).await
    }

    /// Sends a request that must not be sent twice once the service may have carried it out
    /// (an append, a row deletion; see [`Http::send_no_replay`]); a 401 is still signed in
    /// again and resent (the service refused it without acting).
    pub async fn send_no_replay(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GoogleError> {
        self.send_with(method, path, query, body, false).await
    }

    async fn send_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        replay: bool,
    ) -> Result<Answer, GoogleError> {
        let once = |http: Arc<Http>, method: Method| async move {
            if replay {
                http.send(method, path, query, body).await
            } else {
                http.send_no_replay(method, path, query, body).await
            }
        };
        let token = self.tokens.token().await?;
        let answer = once(self.http_for(&token)?, method.clone()).await?;
        if answer.status != StatusCode::UNAUTHORIZED {
            return Ok(answer);
        }
        tracing::info!(path, "google: access token refused; signing in again");
        let token = self.tokens.refresh(&token).await?;
        Ok(once(self.http_for(&token)?, method).await?)
    }
}

/// The message of a Google error body (`{"error": {"code", "message", "status"}}`), with the
/// HTTP status.
pub fn error_message(a: &Answer) -> String {
    let e = &a.body["error"];
    match (e["status"].as_str(), e["message"].as_str()) {
        (Some(s), Some(m)) => format!("{} {s}: {m}", a.status.as_u16()),
        _ => format!("HTTP {}", a.status.as_u16()),
    }
}

/// A path segment: every byte but letters, digits, `-` and `_` percent-encoded.
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Why a Google API call failed.
#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    /// Signing in failed.
    #[error(transparent)]
    Auth(#[from] GoogleAuthError),
    /// The request failed.
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// Signs a Google connector in: reads the service-account key from `credential` (the key file's
/// contents or path, which came from `source`) and makes the [`GoogleClient`] of the API at
/// `base_url` for `scopes`. A key that cannot be read is a configuration error of `service`
/// naming where it came from, never the key itself.
pub fn sign_in(
    service: &str,
    base_url: &str,
    settings: &crate::config::RemoteHttp,
    credential: &Secret,
    source: Option<&CredentialSource>,
    scopes: &[&str],
) -> Result<GoogleClient, ConnectorError> {
    let origin = match source {
        Some(s) => format!(" (from {s})"),
        None => String::new(),
    };
    let config = |message: String| ConnectorError::Config {
        service: service.into(),
        message: format!("service-account key{origin}: {message}"),
    };
    let key = ServiceAccountKey::from_credential(credential).map_err(|e| match e {
        // The path is the credential's value: said as the variable or entry names it.
        GoogleAuthError::Read { source, .. } => {
            config(format!("cannot read the key file it names: {source}"))
        }
        other => config(other.to_string()),
    })?;
    let http = HttpConfig::new(service, base_url).with_settings(settings);
    let tokens = TokenSource::new(&key, scopes, &http).map_err(|e| config(e.to_string()))?;
    Ok(GoogleClient::new(Arc::new(tokens), http))
}

/// A failed Google call as a connector error of `service` (a sign-in failure said as such).
pub fn call_failed(service: &str, e: GoogleError) -> ConnectorError {
    match e {
        GoogleError::Http(h) => ConnectorError::Http(h),
        GoogleError::Auth(a) => ConnectorError::Protocol {
            service: service.into(),
            message: format!("signing in: {a}"),
        },
    }
}
