//! Google service-account sign-in: the key file Google issues (JSON: `type`, `project_id`,
//! `private_key_id`, `private_key` as PKCS#8 PEM, `client_email`, `token_uri`, …), the RS256 JWT
//! assertion signed with it (`ring`), and its exchange at the key file's `token_uri` for an access
//! token, cached until shortly before it expires ([`TokenSource`]).
//!
//! The key is read from the file `GOOGLE_APPLICATION_CREDENTIALS` names, or from a stored
//! credential holding the file's path or its contents ([`ServiceAccountKey::from_credential`]).
//! The private key and the tokens are [`Secret`]s: they print as `***`, so they never reach a log
//! line, an error message or a `Debug` dump.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::Method;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};

use crate::connectors::http::{Http, HttpConfig, HttpError, RawBody, Secret};

/// The environment variable naming the key file, as Google's own libraries read it.
pub const CREDENTIALS_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// The grant type of a service account's assertion.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Google's token endpoint (the default `token_uri`).
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// How long an assertion is valid (Google's maximum).
const ASSERTION_LIFETIME_S: i64 = 3600;

/// Why signing in failed. Each message says what to do; none carries the key or a token.
#[derive(Debug, thiserror::Error)]
pub enum GoogleAuthError {
    /// No key file named.
    #[error(
        "no Google service-account key: set {CREDENTIALS_ENV} to the key file's path (Google \
         Cloud console → IAM → Service accounts → Keys → Add key → JSON)"
    )]
    Missing,
    /// The key file cannot be read.
    #[error("cannot read the Google key file {path}: {source}; check {CREDENTIALS_ENV}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is JSON but not a service account's key.
    #[error(
        "{origin} is not a Google service-account key (type is {found:?}, expected \
         \"service_account\"): download a JSON key of a service account, not an OAuth client"
    )]
    NotServiceAccount {
        /// Where the key came from.
        origin: String,
        /// The `type` found.
        found: String,
    },
    /// The file is not a key file Google issues (not JSON, a field missing).
    #[error("{origin} is not a usable Google key file: {message}")]
    Malformed {
        /// Where the key came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The private key cannot be used to sign.
    #[error(
        "the private key in {origin} cannot be used: {message}; download a new JSON key for \
         the service account"
    )]
    Key {
        /// Where the key came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The token endpoint refused the assertion.
    #[error(
        "Google refused the sign-in of {email} (HTTP {status}, {error}: {description}); check \
         that the key is still active, that the machine's clock is right and that the scopes \
         are enabled"
    )]
    Refused {
        /// The service account.
        email: String,
        /// HTTP status.
        status: u16,
        /// Google's `error` (`invalid_grant`, …).
        error: String,
        /// Google's `error_description`.
        description: String,
    },
    /// The token endpoint could not be reached or answered something else.
    #[error("Google sign-in: {0}")]
    Http(#[from] HttpError),
}

/// A service account's key, as read from the key file.
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// `client_email`: the account (share spreadsheets and forms with it).
    pub client_email: String,
    /// `private_key_id`: the key's id (the JWT's `kid`).
    pub private_key_id: String,
    /// `project_id`.
    pub project_id: String,
    /// `token_uri`: where assertions are exchanged.
    pub token_uri: String,
    /// `private_key`: PKCS#8 PEM.
    pub private_key: Secret,
    /// Where the key came from, for messages (a path, or "the stored credential").
    pub origin: String,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("project_id", &self.project_id)
            .field("token_uri", &self.token_uri)
            .field("private_key", &self.private_key)
            .field("origin", &self.origin)
            .finish()
    }
}

/// The DER bytes inside a PEM block (`-----BEGIN …-----`, base64, `-----END …-----`).
pub fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let begin = pem.find("-----BEGIN ")?;
    let body_start = begin + pem[begin..].find('\n')? + 1;
    let body_end = body_start + pem[body_start..].find("-----END ")?;
    let b64: String = pem[body_start..body_end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(b64).ok().filter(|d| !d.is_empty())
}

impl ServiceAccountKey {
    /// Parses a key file's text; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, GoogleAuthError> {
        let v: Value = serde_json::from_str(text).map_err(|e| GoogleAuthError::Malformed {
            origin: origin.to_owned(),
            message: format!("not JSON (line {}, column {})", e.line(), e.column()),
        })?;
        let field = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
        let kind = field("type").unwrap_or_default();
        if kind != "service_account" {
            return Err(GoogleAuthError::NotServiceAccount {
                origin: origin.to_owned(),
                found: kind,
            });
        }
        let need = |name: &str| {
            field(name)
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| GoogleAuthError::Malformed {
                    origin: origin.to_owned(),
                    message: format!("`{name}` is missing"),
                })
        };
        let key = ServiceAccountKey {
            client_email: need("client_email")?,
            private_key_id: need("private_key_id")?,
            project_id: field("project_id").unwrap_or_default(),
            token_uri: field("token_uri")
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| GOOGLE_TOKEN_URI.to_owned()),
            private_key: Secret::new(need("private_key")?),
            origin: origin.to_owned(),
        };
        key.key_pair()?;
        Ok(key)
    }

    /// Reads the key file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, GoogleAuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| GoogleAuthError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Reads the key file `GOOGLE_APPLICATION_CREDENTIALS` names.
    pub fn from_env() -> Result<Self, GoogleAuthError> {
        let path = std::env::var_os(CREDENTIALS_ENV)
            .filter(|p| !p.is_empty())
            .ok_or(GoogleAuthError::Missing)?;
        Self::from_file(Path::new(&path))
    }

    /// A stored credential (what `ssot-vault auth set` keeps): the key file's contents (JSON)
    /// or its path.
    pub fn from_credential(credential: &Secret) -> Result<Self, GoogleAuthError> {
        let text = credential.expose().trim();
        if text.starts_with('{') {
            Self::parse(text, "the stored credential")
        } else {
            Self::from_file(Path::new(text))
        }
    }

    fn key_pair(&self) -> Result<RsaKeyPair, GoogleAuthError> {
        let bad = |message: &str| GoogleAuthError::Key {
            origin: self.origin.clone(),
            message: message.to_owned(),
        };
        let der = pem_to_der(self.private_key.expose())
            .ok_or_else(|| bad("`private_key` is not a PEM block"))?;
        RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| bad(&format!("not a PKCS#8 RSA private key ({e})")))
    }
}

/// Signs a service account's assertions.
pub struct Signer {
    key_pair: RsaKeyPair,
    rng: SystemRandom,
    email: String,
    kid: String,
    aud: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("email", &self.email)
            .field("kid", &self.kid)
            .field("aud", &self.aud)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with the key's private key, for its `client_email` and `token_uri`.
    pub fn new(key: &ServiceAccountKey) -> Result<Self, GoogleAuthError> {
        Ok(Signer {
            key_pair: key.key_pair()?,
            rng: SystemRandom::new(),
            email: key.client_email.clone(),
            kid: key.private_key_id.clone(),
            aud: key.token_uri.clone(),
        })
    }

    /// The RS256 JWT asking for `scopes`, issued at `iat` (epoch seconds), valid one hour:
    /// header `{alg, typ, kid}`, claims `{iss, scope, aud, iat, exp}`.
    pub fn assertion(&self, scopes: &[&str], iat: i64) -> Result<String, GoogleAuthError> {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let claims = json!({
            "iss": self.email,
            "scope": scopes.join(" "),
            "aud": self.aud,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME_S,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| GoogleAuthError::Key {
                origin: self.email.clone(),
                message: "signing failed".to_owned(),
            })?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// A token cached with the time it stops being used.
#[derive(Debug, Clone)]
struct Cached {
    token: Secret,
    use_until: Instant,
}

/// Access tokens of one service account for a set of scopes: signed, exchanged and cached
/// until 60 s before they expire (half their life for tokens living under two minutes).
#[derive(Debug)]
pub struct TokenSource {
    signer: Signer,
    email: String,
    scopes: Vec<String>,
    http: Http,
    cache: tokio::sync::Mutex<Option<Cached>>,
    exchanges: std::sync::atomic::AtomicU64,
}

impl TokenSource {
    /// A source for `key` and `scopes`; `http` sets timeouts and retries of the token endpoint
    /// (its base URL and credentials are replaced by the key's `token_uri`): a 429 storm there
    /// is waited out under the same retry policy as the API's own requests.
    pub fn new(
        key: &ServiceAccountKey,
        scopes: &[&str],
        http: &HttpConfig,
    ) -> Result<Self, GoogleAuthError> {
        let cfg = HttpConfig {
            service: "google-oauth".to_owned(),
            base_url: key.token_uri.clone(),
            bearer: None,
            basic: None,
            secret_headers: Vec::new(),
            text_errors: true,
            rate: None,
            path_limits: Vec::new(),
            ..http.clone()
        };
        Ok(TokenSource {
            signer: Signer::new(key)?,
            email: key.client_email.clone(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            http: Http::new(cfg)?,
            cache: tokio::sync::Mutex::new(None),
            exchanges: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Assertions exchanged so far (each one a request to the token endpoint).
    pub fn exchanges(&self) -> u64 {
        self.exchanges.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A live access token: the cached one, else a new one.
    pub async fn token(&self) -> Result<Secret, GoogleAuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref()
            && Instant::now() < c.use_until
        {
            return Ok(c.token.clone());
        }
        let fresh = self.exchange().await?;
        let token = fresh.token.clone();
        *cache = Some(fresh);
        Ok(token)
    }

    /// A new token in place of `stale` (one an API refused with 401); when another caller has
    /// already replaced it, that newer one.
    pub async fn refresh(&self, stale: &Secret) -> Result<Secret, GoogleAuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref()
            && c.token != *stale
            && Instant::now() < c.use_until
        {
            return Ok(c.token.clone());
        }
        let fresh = self.exchange().await?;
        let token = fresh.token.clone();
        *cache = Some(fresh);
        Ok(token)
    }

    async fn exchange(&self) -> Result<Cached, GoogleAuthError> {
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let iat = jiff::Timestamp::now().as_second();
        let assertion = self.signer.assertion(&scopes, iat)?;
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", JWT_BEARER_GRANT)
            .append_pair("assertion", &assertion)
            .finish();
        let started = Instant::now();
        self.exchanges
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let answer = self
            .http
            .send_bytes(
                Method::POST,
                "",
                Some(RawBody {
                    content_type: "application/x-www-form-urlencoded",
                    bytes: body.as_bytes(),
                }),
                true,
            )
            .await?;
        let v: Value = serde_json::from_slice(&answer.bytes).unwrap_or(Value::Null);
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
        if !answer.status.is_success() || text("access_token").is_empty() {
            return Err(GoogleAuthError::Refused {
                email: self.email.clone(),
                status: answer.status.as_u16(),
                error: if text("error").is_empty() {
                    "no access_token in the answer".to_owned()
                } else {
                    text("error").to_owned()
                },
                description: text("error_description").chars().take(300).collect(),
            });
        }
        let expires_in = v
            .get("expires_in")
            .and_then(Value::as_f64)
            .unwrap_or(3600.0)
            .clamp(0.0, 86_400.0);
        let life = Duration::from_secs_f64(expires_in);
        let margin = Duration::from_secs(60).min(life / 2);
        tracing::debug!(account = %self.email, expires_in, "google: access token obtained");
        Ok(Cached {
            token: Secret::new(text("access_token")),
            use_until: started + life - margin,
        })
    }
}

/// The token source shared by the clients of one account.
pub type SharedTokens = Arc<TokenSource>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::google::{
        SANDBOX_CLIENT_EMAIL, SANDBOX_KEY_ID, sandbox_key_file, sandbox_public_key,
        verify_assertion,
    };

    const AUD: &str = "http://127.0.0.1:1/token";
    const SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";

    fn key() -> ServiceAccountKey {
        ServiceAccountKey::parse(&sandbox_key_file(AUD).to_string(), "test").expect("key")
    }

    #[test]
    fn the_emulator_accepts_a_signed_assertion_and_refuses_a_tampered_one() {
        let public = sandbox_public_key().expect("public key");
        let accounts = [(SANDBOX_CLIENT_EMAIL, SANDBOX_KEY_ID, public.as_slice())];
        let now = 1_800_000_000;
        let jwt = Signer::new(&key())
            .expect("signer")
            .assertion(&[SCOPE, "https://www.googleapis.com/auth/drive.file"], now)
            .expect("assertion");
        let claims = verify_assertion(&jwt, &accounts, AUD, now).expect("accepted");
        assert_eq!(claims.iss, SANDBOX_CLIENT_EMAIL);
        assert_eq!(claims.scopes.len(), 2);
        assert_eq!((claims.iat, claims.exp), (now, now + 3600));
        // Claims changed under the signature, or the signature changed: refused.
        let parts: Vec<&str> = jwt.split('.').collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        payload["scope"] = serde_json::json!("https://www.googleapis.com/auth/drive");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            parts[2]
        );
        let e = verify_assertion(&forged, &accounts, AUD, now).expect_err("forged");
        assert_eq!(e.description, "Invalid JWT Signature.");
        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
        sig[0] ^= 0x80;
        let flipped = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
        assert!(verify_assertion(&flipped, &accounts, AUD, now).is_err());
        // The wrong audience and a stale assertion.
        assert!(verify_assertion(&jwt, &accounts, "https://elsewhere/token", now).is_err());
        assert!(verify_assertion(&jwt, &accounts, AUD, now + 3600 + 61).is_err());
        assert!(verify_assertion(&jwt, &accounts, AUD, now + 3600 + 59).is_ok());
    }

    #[test]
    fn the_private_key_never_prints() {
        let k = key();
        let shown = format!("{k:?} {:?}", Signer::new(&k).expect("signer"));
        assert!(!shown.contains("PRIVATE"), "{shown}");
        assert!(shown.contains(SANDBOX_CLIENT_EMAIL));
    }

    #[test]
    fn pem_blocks_decode() {
        assert!(pem_to_der("no pem").is_none());
        assert!(pem_to_der("-----BEGIN X-----\n!!\n-----END X-----\n").is_none());
        assert_eq!(
            pem_to_der("junk\n-----BEGIN X-----\nAAEC\nAw==\n-----END X-----\n"),
            Some(vec![0, 1, 2, 3])
        );
    }
}
