//! Integration tests of Google service-account sign-in: the sandbox's token endpoint over real
//! HTTP (a good assertion, a bad signature, tampered claims, the wrong audience, expired and
//! future times, an unknown account, scopes, grant types), its tokens expiring into Google's 401,
//! and the client side (`connectors::google`): key files read or refused with a message saying
//! what to do, tokens cached, and a token refused by an API replaced once.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ssot_vault::connectors::HttpConfig;
use ssot_vault::connectors::google::{
    GoogleAuthError, GoogleClient, SHEETS_SCOPE, ServiceAccountKey, Signer, TokenSource,
};
use ssot_vault::sandbox::{Sandbox, SandboxConfig, google, sheets};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn start(cfg: SandboxConfig) -> (Sandbox, ServiceAccountKey) {
    let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg)
        .await
        .expect("start sandbox");
    let key_json = google::sandbox_key_file(&format!("{}/token", sb.base_url()));
    let key = ServiceAccountKey::parse(&key_json.to_string(), "the sandbox key").expect("key");
    (sb, key)
}

/// A bearer token of the sandbox's service account for `scopes`, signed in as the connector
/// does (the Sheets and Forms emulator tests start with it).
pub async fn sign_in(client: &reqwest::Client, sb: &Sandbox, scopes: &[&str]) -> String {
    let key_json = google::sandbox_key_file(&format!("{}/token", sb.base_url()));
    let key = ServiceAccountKey::parse(&key_json.to_string(), "sandbox").expect("key");
    let jwt = Signer::new(&key)
        .expect("signer")
        .assertion(scopes, jiff::Timestamp::now().as_second())
        .expect("jwt");
    let r = client
        .post(format!("{}/token", sb.base_url()))
        .form(&[
            ("grant_type", google::JWT_BEARER_GRANT),
            ("assertion", &jwt),
        ])
        .send()
        .await
        .expect("token");
    let body: Value = r.json().await.expect("json");
    body["access_token"].as_str().expect("token").to_owned()
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

async fn exchange(sb: &Sandbox, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = client()
        .post(format!("{}/token", sb.base_url()))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn exchange_assertion(sb: &Sandbox, assertion: &str) -> (StatusCode, Value) {
    exchange(
        sb,
        &[
            ("grant_type", google::JWT_BEARER_GRANT),
            ("assertion", assertion),
        ],
    )
    .await
}

async fn spreadsheet(sb: &Sandbox, token: Option<&str>) -> (StatusCode, Value, Option<String>) {
    let mut req = client().get(format!(
        "{}/v4/spreadsheets/{}",
        sb.base_url(),
        sheets::SEED_SPREADSHEET_ID
    ));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let www = r
        .headers()
        .get("www-authenticate")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    (status, r.json().await.unwrap_or(Value::Null), www)
}

#[tokio::test]
async fn a_signed_assertion_gets_a_token_that_opens_the_sheets_api() {
    let (sb, key) = start(SandboxConfig::default()).await;
    let jwt = Signer::new(&key)
        .expect("signer")
        .assertion(&[SHEETS_SCOPE], now())
        .expect("assertion");
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').next().expect("header"))
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(
        header,
        json!({"alg": "RS256", "typ": "JWT", "kid": google::SANDBOX_KEY_ID})
    );
    let (status, body) = exchange_assertion(&sb, &jwt).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().expect("token");
    let (status, body, _) = spreadsheet(&sb, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sheets"][0]["properties"]["title"], "Clients");
    sb.shutdown().await;
}

/// The assertion with its claims replaced, the signature kept.
fn with_claims(jwt: &str, claims: &Value) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    )
}

#[tokio::test]
async fn the_token_endpoint_refuses_what_google_refuses() {
    let (sb, key) = start(SandboxConfig::default()).await;
    let signer = Signer::new(&key).expect("signer");
    let good = signer.assertion(&[SHEETS_SCOPE], now()).expect("assertion");

    // A signature that does not match: one byte of it changed; claims changed under it.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).expect("sig");
    sig[10] ^= 0x01;
    parts[2] = URL_SAFE_NO_PAD.encode(sig);
    let tampered_sig = parts.join(".");
    let tampered_claims = with_claims(
        &good,
        &json!({"iss": key.client_email, "scope": SHEETS_SCOPE, "aud": key.token_uri,
                "iat": now(), "exp": now() + 7200}),
    );
    let other_aud = Signer::new(&ServiceAccountKey {
        token_uri: "https://oauth2.googleapis.com/token".into(),
        ..key.clone()
    })
    .expect("signer");
    let unknown = Signer::new(&ServiceAccountKey {
        client_email: "intruder@elsewhere.iam.gserviceaccount.com".into(),
        ..key.clone()
    })
    .expect("signer");
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "bad signature",
            tampered_sig,
            "invalid_grant",
            "Invalid JWT Signature.",
        ),
        (
            "tampered claims",
            tampered_claims,
            "invalid_grant",
            "Invalid JWT Signature.",
        ),
        (
            "wrong aud",
            other_aud.assertion(&[SHEETS_SCOPE], now()).expect("a"),
            "invalid_grant",
            "audience",
        ),
        (
            "expired",
            signer.assertion(&[SHEETS_SCOPE], now() - 7200).expect("a"),
            "invalid_grant",
            "Check your iat and exp",
        ),
        (
            "issued in the future",
            signer.assertion(&[SHEETS_SCOPE], now() + 600).expect("a"),
            "invalid_grant",
            "Check your iat and exp",
        ),
        (
            "unknown iss",
            unknown.assertion(&[SHEETS_SCOPE], now()).expect("a"),
            "invalid_grant",
            "account not found",
        ),
        (
            "unknown scope",
            signer
                .assertion(&["https://www.googleapis.com/auth/gmail.send"], now())
                .expect("a"),
            "invalid_scope",
            "gmail.send",
        ),
        (
            "no scope",
            signer.assertion(&[], now()).expect("a"),
            "invalid_scope",
            "scope",
        ),
        (
            "not a JWT",
            "not.a-jwt".to_owned(),
            "invalid_grant",
            "Invalid JWT",
        ),
    ];
    for (what, assertion, error, description) in cases {
        let (status, body) = exchange_assertion(&sb, &assertion).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(body["error"], error, "{what}: {body}");
        let d = body["error_description"].as_str().unwrap_or_default();
        assert!(d.contains(description), "{what}: {body}");
    }
    let (status, body) = exchange(&sb, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
    let (status, body) = exchange(&sb, &[("grant_type", google::JWT_BEARER_GRANT)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    let no_iss = with_claims(&good, &json!({"scope": SHEETS_SCOPE}));
    let (status, body) = exchange_assertion(&sb, &no_iss).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(sb.state().google().tokens_issued(), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn an_expired_or_missing_token_gets_googles_401() {
    let mut cfg = SandboxConfig::default();
    cfg.google.token_lifetime = Duration::from_millis(1000);
    let (sb, key) = start(cfg).await;
    let jwt = Signer::new(&key)
        .expect("signer")
        .assertion(&[SHEETS_SCOPE], now())
        .expect("assertion");
    let (status, body) = exchange_assertion(&sb, &jwt).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], 1);
    let token = body["access_token"].as_str().expect("token").to_owned();
    assert_eq!(spreadsheet(&sb, Some(&token)).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body, www) = spreadsheet(&sb, Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid authentication credentials")),
        "{body}"
    );
    assert!(www.is_some_and(|w| w.starts_with("Bearer")));
    let (status, body, _) = spreadsheet(&sb, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("missing required authentication credential")),
        "{body}"
    );
    assert_eq!(
        spreadsheet(&sb, Some("ya29.made-up")).await.0,
        StatusCode::UNAUTHORIZED
    );
    sb.shutdown().await;
}

fn api_config(sb: &Sandbox) -> HttpConfig {
    let mut cfg = HttpConfig::new("sheets", &sb.base_url());
    cfg.max_retries = 1;
    cfg.retry_base = Duration::from_millis(10);
    cfg
}

#[tokio::test]
async fn the_client_caches_its_token_and_signs_in_again_once_on_a_401() {
    let (sb, key) = start(SandboxConfig::default()).await;
    let tokens = std::sync::Arc::new(
        TokenSource::new(&key, &[SHEETS_SCOPE], &api_config(&sb)).expect("token source"),
    );
    let api = GoogleClient::new(tokens.clone(), api_config(&sb));
    let path = format!("/v4/spreadsheets/{}", sheets::SEED_SPREADSHEET_ID);
    for _ in 0..3 {
        let a = api.send(Method::GET, &path, &[], None).await.expect("get");
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
    assert_eq!(tokens.exchanges(), 1, "one token for three calls");
    // Every token the sandbox issued stops working: the next call is refused once, signs in
    // again and goes through.
    let client = client();
    let r = client
        .post(format!("{}/__sandbox/google/revoke", sb.base_url()))
        .send()
        .await
        .expect("revoke");
    assert!(r.status().is_success());
    let a = api.send(Method::GET, &path, &[], None).await.expect("get");
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(tokens.exchanges(), 2);
    let counts = sb.request_counts();
    assert_eq!(counts.by_endpoint.get("POST /token"), Some(&2));
    assert_eq!(
        counts.by_endpoint.get("GET /v4/spreadsheets/{id}"),
        Some(&5),
        "three calls, the refused one and its second try: {counts:?}"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn short_lived_tokens_are_replaced_before_they_expire() {
    let mut cfg = SandboxConfig::default();
    cfg.google.token_lifetime = Duration::from_secs(2);
    let (sb, key) = start(cfg).await;
    let tokens = TokenSource::new(&key, &[SHEETS_SCOPE], &api_config(&sb)).expect("tokens");
    let first = tokens.token().await.expect("token");
    assert_eq!(tokens.token().await.expect("token"), first, "cached");
    // A 2 s token is used for half its life.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = tokens.token().await.expect("token");
    assert_ne!(second, first);
    assert_eq!(tokens.exchanges(), 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn sign_in_failures_say_what_to_do_and_never_show_the_key() {
    let (sb, key) = start(SandboxConfig::default()).await;
    let stranger = ServiceAccountKey {
        client_email: "intruder@elsewhere.iam.gserviceaccount.com".into(),
        ..key.clone()
    };
    let tokens = TokenSource::new(&stranger, &[SHEETS_SCOPE], &api_config(&sb)).expect("tokens");
    let err = tokens.token().await.expect_err("refused");
    assert!(
        matches!(&err, GoogleAuthError::Refused { error, status: 400, .. } if error == "invalid_grant"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("account not found") && text.contains("check"),
        "{text}"
    );
    let debug = format!("{key:?} {err:?}");
    assert!(
        !debug.contains("PRIVATE KEY") && !text.contains("PRIVATE KEY"),
        "{debug}"
    );
    assert!(debug.contains("***"));

    let dir = tempfile::tempdir().expect("dir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let oauth_client = write("client.json", r#"{"type": "authorized_user"}"#);
    let not_json = write("junk.json", "-----BEGIN PRIVATE KEY-----");
    let mut bad_key = google::sandbox_key_file("http://x/token");
    bad_key["private_key"] =
        json!("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    let bad_key = write("bad.json", &bad_key.to_string());
    let cases = [
        (oauth_client, "not a Google service-account key"),
        (not_json, "not JSON"),
        (bad_key, "cannot be used"),
        (dir.path().join("missing.json"), "cannot read"),
    ];
    for (path, says) in cases {
        let e = ServiceAccountKey::from_file(&path).expect_err("refused");
        let text = e.to_string();
        assert!(text.contains(says), "{path:?}: {text}");
        assert!(!text.contains("BEGIN"), "{text}");
    }
    // The key file `ssot-vault sandbox --google-key-file` writes signs in.
    let path = dir.path().join("sandbox-key.json");
    google::write_key_file(&path, &sb.base_url()).expect("write key file");
    let from_file = ServiceAccountKey::from_file(&path).expect("key file");
    assert_eq!(from_file.token_uri, format!("{}/token", sb.base_url()));
    let tokens = TokenSource::new(&from_file, &[SHEETS_SCOPE], &api_config(&sb)).expect("t");
    tokens
        .token()
        .await
        .expect("signed in with the written key file");
    // A stored credential holds the file's path or its contents.
    let contents = std::fs::read_to_string(&path).expect("read");
    for stored in [path.display().to_string(), contents] {
        let k = ServiceAccountKey::from_credential(&ssot_vault::connectors::Secret::new(stored))
            .expect("stored credential");
        assert_eq!(k.client_email, google::SANDBOX_CLIENT_EMAIL);
    }
    sb.shutdown().await;
}
