//! Integration tests of the sandbox's Google Forms emulator over real HTTP: forms.get's shape,
//! responses.list with both filters (an edited response back with its new time and the same id),
//! paging with pageToken (and its misuse), responses.get, Google's errors (401, 403, 404, 400 for
//! a bad filter), the quotas (429), faults and counters, hostile answers kept byte for byte, the
//! admin paths acting as a respondent, the Emulator trait and `POST /__sandbox/reset`.

use std::time::Duration;

use clap::Parser;
use reqwest::StatusCode;
use serde_json::{Value, json};
use ssot_vault::connectors::google::SHEETS_SCOPE;
use ssot_vault::sandbox::forms::{
    FormsQuota, HELPDESK_FORM_ID, INTAKE_FORM_ID, INTAKE_QUESTIONS, PRIVATE_FORM_ID,
};
use ssot_vault::sandbox::sheets::SheetsQuota;
use ssot_vault::sandbox::{FaultConfig, Sandbox, SandboxArgs, SandboxConfig, google};

const RESPONSES: &str = "https://www.googleapis.com/auth/forms.responses.readonly";
const BODY: &str = "https://www.googleapis.com/auth/forms.body.readonly";

struct Fm {
    sb: Sandbox,
    client: reqwest::Client,
    token: String,
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    body: Value,
}

impl Fm {
    async fn start(cfg: SandboxConfig) -> Fm {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg)
            .await
            .expect("start sandbox");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let mut fm = Fm {
            sb,
            client,
            token: String::new(),
        };
        fm.token = fm.sign_in(&[RESPONSES, BODY]).await;
        fm
    }

    async fn new() -> Fm {
        let mut cfg = SandboxConfig::default();
        cfg.forms.quota = None;
        Self::start(cfg).await
    }

    async fn sign_in(&self, scopes: &[&str]) -> String {
        crate::sandbox_google::sign_in(&self.client, &self.sb, scopes).await
    }

    async fn get_as(&self, token: Option<&str>, path: &str, query: &[(&str, &str)]) -> Reply {
        let mut req = self
            .client
            .get(format!("{}/v1/forms/{path}", self.sb.base_url()))
            .query(query);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("request");
        let status = r.status();
        let text = r.text().await.expect("body");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        self.get_as(Some(&self.token), path, query).await
    }

    async fn list(&self, query: &[(&str, &str)]) -> Reply {
        self.get(&format!("{INTAKE_FORM_ID}/responses"), query)
            .await
    }

    /// Every response `filter` lists, one page (asserting success).
    async fn listed(&self, filter: &str) -> Vec<Value> {
        let r = self.list(&[("filter", filter)]).await;
        assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.body);
        assert!(r.body.get("nextPageToken").is_none(), "{}", r.body);
        r.body["responses"].as_array().cloned().unwrap_or_default()
    }

    async fn admin(&self, path: &str, body: Value) -> Reply {
        let r = self
            .client
            .post(format!("{}/__sandbox/{path}", self.sb.base_url()))
            .json(&body)
            .send()
            .await
            .expect("admin");
        let status = r.status();
        Reply {
            status,
            body: r.json().await.unwrap_or(Value::Null),
        }
    }

    /// Submits an intake response as a person would; its JSON.
    async fn submit(&self, name: &str, email: &str) -> Value {
        let r = self
            .admin(
                &format!("forms/{INTAKE_FORM_ID}/responses"),
                json!({"answers": {"Contact name": name, "Email": email}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }

    async fn advance(&self, ms: i64) {
        let r = self
            .admin("settings", json!({"advance_clock_ms": ms}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
}

fn google_error(r: &Reply, code: u16, status: &str) {
    assert_eq!(r.status.as_u16(), code, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert_eq!(r.body["error"]["status"], status, "{}", r.body);
    assert!(r.body["error"]["message"].is_string(), "{}", r.body);
}

fn ids(responses: &[Value]) -> Vec<String> {
    responses
        .iter()
        .map(|r| r["responseId"].as_str().expect("id").to_owned())
        .collect()
}

fn answer<'a>(response: &'a Value, form: &Value, title: &str) -> Vec<&'a str> {
    let qid = form["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["title"] == title))
        .and_then(|i| i["questionItem"]["question"]["questionId"].as_str())
        .expect("question");
    response["answers"][qid]["textAnswers"]["answers"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v["value"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn forms_get_answers_the_form_as_the_spec_shapes_it() {
    let fm = Fm::new().await;
    let r = fm.get(INTAKE_FORM_ID, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let f = &r.body;
    assert_eq!(f["formId"], INTAKE_FORM_ID);
    assert!(f["info"]["title"].is_string() && f["info"]["documentTitle"].is_string());
    assert!(f["revisionId"].is_string() && f["responderUri"].is_string());
    let items = f["items"].as_array().expect("items");
    let titles: Vec<&str> = items.iter().filter_map(|i| i["title"].as_str()).collect();
    assert_eq!(
        titles,
        INTAKE_QUESTIONS.iter().map(|(t, _)| *t).collect::<Vec<_>>()
    );
    let mut qids = std::collections::BTreeSet::new();
    for i in items {
        assert!(i["itemId"].is_string(), "{i}");
        let q = &i["questionItem"]["question"];
        assert!(qids.insert(q["questionId"].as_str().expect("questionId")));
        let kinds = ["textQuestion", "choiceQuestion", "dateQuestion"]
            .iter()
            .filter(|k| q.get(**k).is_some())
            .count();
        assert_eq!(kinds, 1, "{i}");
    }
    let by = |t: &str| {
        items
            .iter()
            .find(|i| i["title"] == t)
            .map(|i| i["questionItem"]["question"].clone())
            .expect("item")
    };
    assert_eq!(by("Contact name")["required"], true);
    assert_eq!(by("Contact name")["textQuestion"], json!({}));
    assert_eq!(by("What do you need?")["textQuestion"]["paragraph"], true);
    assert_eq!(by("Skills required")["choiceQuestion"]["type"], "CHECKBOX");
    assert_eq!(
        by("Language")["choiceQuestion"]["options"][0],
        json!({"value": "English"})
    );
    assert_eq!(by("Deadline")["dateQuestion"], json!({"includeYear": true}));
    // The helpdesk form: project, who writes, message.
    let r = fm.get(HELPDESK_FORM_ID, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let who = &r.body["items"][1]["questionItem"]["question"]["choiceQuestion"];
    assert_eq!(who["type"], "RADIO");
    assert_eq!(
        who["options"],
        json!([{"value": "Client"}, {"value": "Expert"}])
    );
}

#[tokio::test]
async fn list_filters_by_last_submitted_time_and_edits_come_back() {
    let fm = Fm::new().await;
    let r1 = fm.submit("Ann", "ann@example.com").await;
    fm.advance(1_000).await;
    let r2 = fm.submit("Bob", "bob@example.com").await;
    fm.advance(1_000).await;
    let r3 = fm.submit("Cy", "cy@example.com").await;
    assert_eq!(r1["createTime"], r1["lastSubmittedTime"]);
    let all = fm.listed("").await;
    assert_eq!(ids(&all), ids(&[r1.clone(), r2.clone(), r3.clone()]));
    assert_eq!(all[0], r1);
    let t2 = r2["lastSubmittedTime"].as_str().expect("time");
    let after = fm.listed(&format!("timestamp > {t2}")).await;
    assert_eq!(ids(&after), ids(std::slice::from_ref(&r3)));
    let from = fm.listed(&format!("timestamp >= {t2}")).await;
    assert_eq!(ids(&from), ids(&[r2.clone(), r3.clone()]));
    // The poller stored the largest time it saw: r3's. Ann edits her response.
    let t3 = r3["lastSubmittedTime"].as_str().expect("time").to_owned();
    fm.advance(1_000).await;
    let id1 = r1["responseId"].as_str().expect("id");
    let r = fm
        .admin(
            &format!("forms/{INTAKE_FORM_ID}/responses/{id1}"),
            json!({"answers": {"Contact name": "Ann Smith"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let again = fm.listed(&format!("timestamp >= {t3}")).await;
    assert_eq!(ids(&again), ids(&[r3.clone(), r1.clone()]));
    let edited = &again[1];
    assert_eq!(edited["responseId"], r1["responseId"]);
    assert_eq!(edited["createTime"], r1["createTime"]);
    assert!(
        edited["lastSubmittedTime"].as_str() > Some(t3.as_str()),
        "{edited}"
    );
    let form = fm.get(INTAKE_FORM_ID, &[]).await.body;
    assert_eq!(answer(edited, &form, "Contact name"), ["Ann Smith"]);
    assert_eq!(answer(edited, &form, "Email"), ["ann@example.com"]);
    // Times are those of the sandbox clock (moved 3 s ahead here).
    let created: jiff::Timestamp = r3["createTime"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("time");
    let now = jiff::Timestamp::now();
    assert!(
        created > now + jiff::SignedDuration::from_millis(1_500),
        "{created} vs {now}"
    );
}

#[tokio::test]
async fn pages_follow_the_token_and_the_token_keeps_to_its_filter() {
    let fm = Fm::new().await;
    let mut submitted = Vec::new();
    for i in 0..5 {
        submitted.push(
            fm.submit(&format!("P{i}"), &format!("p{i}@example.com"))
                .await,
        );
        fm.advance(10).await;
    }
    let filter = "timestamp >= 2000-01-01T00:00:00Z";
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = vec![("filter", filter), ("pageSize", "2")];
        if let Some(t) = &token {
            q.push(("pageToken", t));
        }
        let r = fm.list(&q).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let page = r.body["responses"].as_array().cloned().unwrap_or_default();
        assert!(page.len() <= 2);
        seen.extend(page);
        pages += 1;
        if pages == 1 {
            // Another filter with this token, a tampered token, no filter at all: 400.
            let t = r.body["nextPageToken"].as_str().expect("token").to_owned();
            for q in [
                vec![
                    ("filter", "timestamp > 2000-01-01T00:00:00Z"),
                    ("pageToken", t.as_str()),
                ],
                vec![("pageToken", t.as_str())],
                vec![("filter", filter), ("pageToken", "not-a-token")],
            ] {
                google_error(&fm.list(&q).await, 400, "INVALID_ARGUMENT");
            }
            let r = fm
                .get(
                    &format!("{HELPDESK_FORM_ID}/responses"),
                    &[("filter", filter), ("pageToken", &t)],
                )
                .await;
            google_error(&r, 400, "INVALID_ARGUMENT");
        }
        match r.body["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(ids(&seen), ids(&submitted));
    // An edit between pages moves the response to the end; nothing is skipped.
    let r = fm.list(&[("pageSize", "2")]).await;
    let t = r.body["nextPageToken"].as_str().expect("token").to_owned();
    let first = r.body["responses"][0]["responseId"]
        .as_str()
        .expect("id")
        .to_owned();
    fm.advance(10).await;
    let e = fm
        .admin(
            &format!("forms/{INTAKE_FORM_ID}/responses/{first}"),
            json!({"answers": {"Phone": "+48 600 000 000"}}),
        )
        .await;
    assert_eq!(e.status, StatusCode::OK, "{}", e.body);
    let rest = fm.list(&[("pageSize", "10"), ("pageToken", &t)]).await;
    assert_eq!(rest.status, StatusCode::OK, "{}", rest.body);
    let rest = ids(rest.body["responses"].as_array().expect("page"));
    let mut expected = ids(&submitted[2..]);
    expected.push(first);
    assert_eq!(rest, expected);
    // pageSize 0 or unset: everything on one page.
    let r = fm.list(&[("pageSize", "0")]).await;
    assert_eq!(r.body["responses"].as_array().map(Vec::len), Some(5));
    assert!(r.body.get("nextPageToken").is_none());
    // An empty form: an empty object.
    let r = fm.get(&format!("{HELPDESK_FORM_ID}/responses"), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({}));
}

#[tokio::test]
async fn bad_filters_and_page_sizes_are_400_with_googles_body() {
    let fm = Fm::new().await;
    fm.submit("Ann", "ann@example.com").await;
    for bad in [
        "timestamp < 2024-01-01T00:00:00Z",
        "timestamp > 2024-01-01T00:00:00+01:00",
        "timestamp > 2024-01-01",
        "createTime > 2024-01-01T00:00:00Z",
        "timestamp > 2024-01-01T00:00:00Z OR 1=1",
        "timestamp >= yesterday",
    ] {
        let r = fm.list(&[("filter", bad)]).await;
        google_error(&r, 400, "INVALID_ARGUMENT");
    }
    for bad in ["-1", "ten"] {
        google_error(
            &fm.list(&[("pageSize", bad)]).await,
            400,
            "INVALID_ARGUMENT",
        );
    }
    // Fractional seconds are fine.
    assert_eq!(
        fm.listed("timestamp > 2000-01-01T00:00:00.123456789Z")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn get_and_access_401_403_404() {
    let fm = Fm::new().await;
    let sub = fm.submit("Ann", "ann@example.com").await;
    let id = sub["responseId"].as_str().expect("id");
    let r = fm
        .get(&format!("{INTAKE_FORM_ID}/responses/{id}"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, sub);
    assert_eq!(r.body["formId"], INTAKE_FORM_ID);
    assert!(r.body.get("respondentEmail").is_none());
    // 404: no such response, no such form.
    let r = fm
        .get(&format!("{INTAKE_FORM_ID}/responses/ACYDBNnope"), &[])
        .await;
    google_error(&r, 404, "NOT_FOUND");
    google_error(&fm.get("1NoSuchForm", &[]).await, 404, "NOT_FOUND");
    google_error(
        &fm.get("1NoSuchForm/responses", &[]).await,
        404,
        "NOT_FOUND",
    );
    // 403: a form not shared with the service account, until it is.
    for path in [
        PRIVATE_FORM_ID.to_owned(),
        format!("{PRIVATE_FORM_ID}/responses"),
    ] {
        google_error(&fm.get(&path, &[]).await, 403, "PERMISSION_DENIED");
    }
    let r = fm
        .admin(
            &format!("forms/{PRIVATE_FORM_ID}/share"),
            json!({"email": google::SANDBOX_CLIENT_EMAIL, "shared": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(fm.get(PRIVATE_FORM_ID, &[]).await.status, StatusCode::OK);
    // 401: no token, a token never issued, a revoked one.
    let path = format!("{INTAKE_FORM_ID}/responses");
    google_error(&fm.get_as(None, &path, &[]).await, 401, "UNAUTHENTICATED");
    google_error(
        &fm.get_as(Some("ya29.forged"), &path, &[]).await,
        401,
        "UNAUTHENTICATED",
    );
    // 403: scopes as the spec's methods name them.
    let body_only = fm.sign_in(&[BODY]).await;
    let responses_only = fm.sign_in(&[RESPONSES]).await;
    let sheets = fm.sign_in(&[SHEETS_SCOPE]).await;
    let drive = fm
        .sign_in(&["https://www.googleapis.com/auth/drive.readonly"])
        .await;
    let status = |r: Reply| r.status;
    assert_eq!(
        status(fm.get_as(Some(&body_only), INTAKE_FORM_ID, &[]).await),
        StatusCode::OK
    );
    assert_eq!(
        status(fm.get_as(Some(&drive), INTAKE_FORM_ID, &[]).await),
        StatusCode::OK
    );
    assert_eq!(
        status(fm.get_as(Some(&responses_only), &path, &[]).await),
        StatusCode::OK
    );
    for (token, path) in [
        (&body_only, path.clone()),
        (&body_only, format!("{path}/{id}")),
        (&drive, path.clone()),
        (&responses_only, INTAKE_FORM_ID.to_owned()),
        (&sheets, INTAKE_FORM_ID.to_owned()),
        (&sheets, path.clone()),
    ] {
        google_error(
            &fm.get_as(Some(token), &path, &[]).await,
            403,
            "PERMISSION_DENIED",
        );
    }
    let r = fm.admin("google/revoke", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    google_error(&fm.get(&path, &[]).await, 401, "UNAUTHENTICATED");
}

#[tokio::test]
async fn quotas_answer_429_and_list_is_an_expensive_read() {
    let mut cfg = SandboxConfig::default();
    cfg.forms.quota = Some(FormsQuota {
        read_per_user: 3,
        read_per_project: 10,
        expensive_per_user: 2,
        expensive_per_project: 10,
        window: Duration::from_secs(60),
    });
    let fm = Fm::start(cfg).await;
    for _ in 0..2 {
        assert_eq!(fm.list(&[]).await.status, StatusCode::OK);
    }
    let r = fm.list(&[]).await;
    google_error(&r, 429, "RESOURCE_EXHAUSTED");
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("'Expensive read requests per minute per user'")
            && message.contains("forms.googleapis.com"),
        "{message}"
    );
    // Reads have their own quota.
    for _ in 0..3 {
        assert_eq!(fm.get(INTAKE_FORM_ID, &[]).await.status, StatusCode::OK);
    }
    let r = fm.get(INTAKE_FORM_ID, &[]).await;
    google_error(&r, 429, "RESOURCE_EXHAUSTED");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("'Read requests per minute per user'")),
        "{}",
        r.body
    );
    let counts = fm.sb.request_counts();
    assert_eq!(
        counts.rate_limited.get("GET /v1/forms/{formId}/responses"),
        Some(&1),
        "{counts:?}"
    );
    assert_eq!(
        counts.rate_limited.get("GET /v1/forms/{formId}"),
        Some(&1),
        "{counts:?}"
    );
    // The project's quota, through the admin settings.
    let r = fm
        .admin(
            "forms/settings",
            json!({"quota": {"read_per_user": 100, "read_per_project": 1,
                "expensive_per_user": 100, "expensive_per_project": 100, "window_ms": 60000}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(fm.get(INTAKE_FORM_ID, &[]).await.status, StatusCode::OK);
    let r = fm.get(INTAKE_FORM_ID, &[]).await;
    google_error(&r, 429, "RESOURCE_EXHAUSTED");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("'Read requests per minute'")),
        "{}",
        r.body
    );
    // Off: through the admin settings, and with `ssot-vault sandbox --no-rate-limit`.
    let r = fm.admin("forms/settings", json!({"quota": null})).await;
    assert_eq!(r.body["quota"], Value::Null);
    for _ in 0..20 {
        assert_eq!(fm.list(&[]).await.status, StatusCode::OK);
    }
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sandbox: SandboxArgs,
    }
    let cli = Cli::parse_from(["sandbox", "--no-rate-limit"]);
    assert_eq!(cli.sandbox.config().forms.quota, None);
    let cli = Cli::parse_from(["sandbox"]);
    assert_eq!(
        cli.sandbox.config().forms.quota,
        Some(FormsQuota::default())
    );
}

#[tokio::test]
async fn hostile_answers_round_trip_byte_for_byte() {
    let fm = Fm::new().await;
    let nul = "a\0b\0".to_owned();
    let long = "x".repeat(10 * 1024);
    let zs = "Ż".repeat(150);
    assert_eq!(zs.len(), 300);
    let r = fm
        .admin(
            &format!("forms/{INTAKE_FORM_ID}/responses"),
            json!({
                "answers": {
                    "Contact name": nul,
                    "Email": "../x",
                    "What do you need?": long,
                    "Company": zs,
                    "Skills required": ["Rust", "../../etc/passwd", "\u{202e}evil"],
                },
                "respondentEmail": "ann@example.com",
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.body["responseId"].as_str().expect("id").to_owned();
    let form = fm.get(INTAKE_FORM_ID, &[]).await.body;
    let got = fm
        .get(&format!("{INTAKE_FORM_ID}/responses/{id}"), &[])
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let listed = fm.listed("").await;
    for resp in [&got.body, &listed[0]] {
        assert_eq!(answer(resp, &form, "Contact name"), [nul.as_str()]);
        assert_eq!(answer(resp, &form, "Email"), ["../x"]);
        assert_eq!(answer(resp, &form, "What do you need?"), [long.as_str()]);
        assert_eq!(answer(resp, &form, "Company"), [zs.as_str()]);
        assert_eq!(
            answer(resp, &form, "Skills required"),
            ["Rust", "../../etc/passwd", "\u{202e}evil"]
        );
        assert_eq!(resp["respondentEmail"], "ann@example.com");
    }
}

#[tokio::test]
async fn the_admin_paths_act_as_a_respondent() {
    let fm = Fm::new().await;
    let form = fm.get(INTAKE_FORM_ID, &[]).await.body;
    let email_qid = form["items"][1]["questionItem"]["question"]["questionId"]
        .as_str()
        .expect("qid")
        .to_owned();
    // Answers by question id work as by title; unanswered questions are left out.
    let r = fm
        .admin(
            &format!("forms/{INTAKE_FORM_ID}/responses"),
            json!({"answers": {"contact name": "Ann", email_qid.clone(): "ann@example.com", "Phone": ""}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["answers"].as_object().map(|a| a.len()), Some(2));
    assert_eq!(answer(&r.body, &form, "Email"), ["ann@example.com"]);
    let bad = [
        json!({"answers": {"Nope": "x", "Contact name": "A", "Email": "e"}}),
        json!({"answers": {"Contact name": "A"}}),
        json!({"answers": {"Contact name": ["A", "B"], "Email": "e"}}),
        json!({"answers": "x"}),
    ];
    for b in bad {
        let r = fm
            .admin(&format!("forms/{INTAKE_FORM_ID}/responses"), b.clone())
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b}: {}", r.body);
    }
    let r = fm
        .admin(
            &format!("forms/{INTAKE_FORM_ID}/responses/ACYDBNnope"),
            json!({"answers": {"Phone": "1"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Clearing a required answer is refused; clearing another one is not.
    let id = r_id(&fm.listed("").await[0]);
    let path = format!("forms/{INTAKE_FORM_ID}/responses/{id}");
    let r = fm.admin(&path, json!({"answers": {"Email": null}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = fm
        .admin(&path, json!({"answers": {"Company": "Acme"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = fm.admin(&path, json!({"answers": {"Company": null}})).await;
    assert_eq!(answer(&r.body, &form, "Company"), Vec::<&str>::new());
    // The admin view shows the form and its responses.
    let v: Value = fm
        .client
        .get(format!(
            "{}/__sandbox/forms/{INTAKE_FORM_ID}",
            fm.sb.base_url()
        ))
        .send()
        .await
        .expect("dump")
        .json()
        .await
        .expect("json");
    assert_eq!(v["responses"].as_array().map(Vec::len), Some(1));
}

fn r_id(r: &Value) -> String {
    r["responseId"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn faults_counters_and_the_emulator_trait() {
    let fm = Fm::new().await;
    fm.sb.set_faults(FaultConfig {
        fail_next: 1,
        fail_status: Some(503),
        ..FaultConfig::default()
    });
    google_error(&fm.list(&[]).await, 503, "UNAVAILABLE");
    assert_eq!(fm.list(&[]).await.status, StatusCode::OK);
    assert_eq!(fm.get(INTAKE_FORM_ID, &[]).await.status, StatusCode::OK);
    let counts = fm.sb.request_counts();
    assert_eq!(
        counts.by_endpoint.get("GET /v1/forms/{formId}/responses"),
        Some(&2),
        "{counts:?}"
    );
    assert_eq!(
        counts.by_endpoint.get("GET /v1/forms/{formId}"),
        Some(&1),
        "{counts:?}"
    );
    let remote = fm.sb.remote("forms").expect("forms");
    assert_eq!(remote.requests(), 3);
    // Records: the responses of the seeded forms, fields by question title.
    let id = remote
        .create(
            "helpdesk",
            &[
                ("Project", "Website"),
                ("Who is writing?", "Client"),
                ("Message", "Hello"),
            ],
        )
        .expect("create");
    remote
        .edit("helpdesk", &id, "Message", "Hello again")
        .expect("edit");
    let recs = remote.live("helpdesk").expect("records");
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].id, id);
    assert_eq!(recs[0].field("Message"), Some("Hello again"));
    assert_eq!(recs[0].field("Who is writing?"), Some("Client"));
    assert!(remote.create("helpdesk", &[("Project", "x")]).is_err());
    assert!(remote.records("nope").is_err());
    remote.archive("helpdesk", &id).expect("archive");
    assert!(remote.live("helpdesk").expect("records").is_empty());
}

#[tokio::test]
async fn reset_expires_google_tokens_and_restarts_the_quota_windows() {
    let mut cfg = SandboxConfig::default();
    cfg.forms.quota = Some(FormsQuota {
        read_per_user: 1,
        read_per_project: 1,
        expensive_per_user: 1,
        expensive_per_project: 1,
        window: Duration::from_secs(600),
    });
    cfg.sheets.quota = Some(SheetsQuota {
        per_user: 1,
        per_project: 1,
        window: Duration::from_secs(600),
    });
    let fm = Fm::start(cfg).await;
    let sheets_token = fm.sign_in(&[SHEETS_SCOPE]).await;
    let sheet = |token: String| {
        let c = fm.client.clone();
        let url = format!(
            "{}/v4/spreadsheets/{}",
            fm.sb.base_url(),
            ssot_vault::sandbox::sheets::SEED_SPREADSHEET_ID
        );
        async move {
            c.get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("sheets")
                .status()
        }
    };
    fm.submit("Ann", "ann@example.com").await;
    assert_eq!(fm.list(&[]).await.status, StatusCode::OK);
    assert_eq!(fm.list(&[]).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sheet(sheets_token.clone()).await, StatusCode::OK);
    assert_eq!(
        sheet(sheets_token.clone()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let r = fm.admin("reset", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // The tokens issued before are gone.
    google_error(&fm.list(&[]).await, 401, "UNAUTHENTICATED");
    assert_eq!(sheet(sheets_token).await, StatusCode::UNAUTHORIZED);
    // New tokens, fresh windows, the seeded state (no responses).
    let forms_token = fm.sign_in(&[RESPONSES]).await;
    let r = fm
        .get_as(
            Some(&forms_token),
            &format!("{INTAKE_FORM_ID}/responses"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({}));
    assert_eq!(
        sheet(fm.sign_in(&[SHEETS_SCOPE]).await).await,
        StatusCode::OK
    );
}
