//! Google Forms API v1 emulator, served under `/v1/forms/...` so a connector's base URL
//! `http://127.0.0.1:PORT` replaces `https://forms.googleapis.com`.
//!
//! Written from the contract sheet (`shared/api-contracts.md` §5) and the discovery document
//! (`shared/specs/forms-v1.yaml`): `forms.get` (`GET /v1/forms/{formId}`: `info`, `items[]` with
//! `questionItem.question.questionId` and a `textQuestion`, `choiceQuestion` or `dateQuestion`),
//! `responses.list` (`GET /v1/forms/{formId}/responses`: `filter` ([`filter`]), `pageSize` (unset
//! or 0: up to 5,000, the most a page holds), `pageToken` (valid only with the filter it was
//! issued with)) and `responses.get` (`GET /v1/forms/{formId}/responses/{responseId}`). Every call
//! needs a live access token of the Google sign-in emulator (`sandbox/google/`) with a scope the
//! method names (`forms.body.readonly`, `forms.body` or a Drive scope for `forms.get`;
//! `forms.responses.readonly` or `drive`/`drive.file` for responses); the form must be shared
//! with the token's service account (403 `PERMISSION_DENIED`). Errors are Google's
//! `{"error": {"code", "message", "status"}}`.
//!
//! Order of `responses.list`: Google does not document one; the emulator lists responses by
//! `lastSubmittedTime`, oldest first (equal times in the order they were submitted), so an edited
//! response moves to the end with its new time and a poller storing the largest time it saw and
//! asking `timestamp >= T` next finds it again under the same `responseId`.
//!
//! Quotas per minute ([`FormsQuota`], Google's figures): reads 390 per user and 975 per project;
//! `responses.list` counts as an "expensive read" instead (180 per user, 450 per project); 429
//! `RESOURCE_EXHAUSTED`, off with `ssot-vault sandbox --no-rate-limit`.
//!
//! Admin paths, acting as a person (no auth, never faulted or limited):
//!
//! | call | effect |
//! |---|---|
//! | `GET /__sandbox/forms/{id}` | the form and every response |
//! | `POST /__sandbox/forms/{id}/responses` `{answers: {title or questionId: "v" \| ["v", …]}, respondentEmail?}` | submits a response (times: the sandbox clock) |
//! | `POST /__sandbox/forms/{id}/responses/{responseId}` `{answers}` | edits it: the answers given replace those questions' (`null` or `""` clears one), a new `lastSubmittedTime` |
//! | `POST /__sandbox/forms/{id}/share` `{email, shared}` | shares the form with an account, or stops |
//! | `GET`/`POST /__sandbox/forms/settings` | `{quota: {read_per_user, read_per_project, expensive_per_user, expensive_per_project, window_ms} \| null}` |
//!
//! Answers are stored as given, byte for byte (NUL, long text, any script).

pub mod filter;
pub mod store;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use serde_json::{Value, json};

use super::AppState;
use super::emulator::{Emulator, EmulatorError, RemoteRecord};
use super::faults::{FaultRenderer, fault_middleware};
use super::google::{self, Issued, QuotaWindows};
use super::store::State as SandboxState;
use filter::{Filter, FilterError, PageToken};
use store::{Form, FormResponse, FormsData, Question, QuestionKind};

/// The seeded intake form (the consultation's questions; see [`INTAKE_QUESTIONS`]), shared with
/// the sandbox's service account.
pub const INTAKE_FORM_ID: &str = "1SsotVaultSandboxIntakeForm_0000000000000000";

/// The seeded helpdesk form (project, who writes, message), shared with the sandbox's account.
pub const HELPDESK_FORM_ID: &str = "1SsotVaultSandboxHelpdeskForm_00000000000000";

/// A seeded form the sandbox's service account is not given (for 403 answers).
pub const PRIVATE_FORM_ID: &str = "1SsotVaultSandboxNotSharedForm_0000000000000";

/// The intake form's questions: `(title, the intake note's field it fills)`, in order.
pub const INTAKE_QUESTIONS: [(&str, &str); 10] = [
    ("Contact name", "contact_name"),
    ("Email", "email"),
    ("Phone", "phone"),
    ("Company", "company"),
    ("Tax ID", "tax_id"),
    ("What do you need?", "need"),
    ("Skills required", "skills_required"),
    ("Budget", "budget"),
    ("Deadline", "deadline"),
    ("Language", "language"),
];

/// The helpdesk form's questions: `(title, meaning)`.
pub const HELPDESK_QUESTIONS: [(&str, &str); 3] = [
    ("Project", "project"),
    ("Who is writing?", "party"),
    ("Message", "message"),
];

/// The most responses a page holds (and what `pageSize` unset or 0 means).
pub const MAX_PAGE_SIZE: usize = 5_000;

/// Per-minute request quotas of the Forms API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormsQuota {
    /// Reads (`forms.get`, `responses.get`) per window per user (Google's: 390).
    pub read_per_user: u32,
    /// Reads per window per project (Google's: 975).
    pub read_per_project: u32,
    /// Expensive reads (`responses.list`) per window per user (Google's: 180).
    pub expensive_per_user: u32,
    /// Expensive reads per window per project (Google's: 450).
    pub expensive_per_project: u32,
    /// The window (Google's: one minute).
    pub window: Duration,
}

impl Default for FormsQuota {
    fn default() -> Self {
        FormsQuota {
            read_per_user: 390,
            read_per_project: 975,
            expensive_per_user: 180,
            expensive_per_project: 450,
            window: Duration::from_secs(60),
        }
    }
}

/// Settings of the Forms emulator.
#[derive(Debug, Clone)]
pub struct FormsConfig {
    /// The quotas (`None`: no limits).
    pub quota: Option<FormsQuota>,
}

impl Default for FormsConfig {
    fn default() -> Self {
        FormsConfig {
            quota: Some(FormsQuota::default()),
        }
    }
}

/// The quota windows of this API.
#[derive(Debug)]
pub struct Quotas {
    config: FormsQuota,
    read: QuotaWindows,
    expensive: QuotaWindows,
}

impl google::QuotaSet for Quotas {
    type Config = FormsQuota;

    fn from_config(c: FormsQuota) -> Self {
        Quotas {
            config: c,
            read: QuotaWindows::new(c.read_per_user, c.read_per_project, c.window),
            expensive: QuotaWindows::new(c.expensive_per_user, c.expensive_per_project, c.window),
        }
    }
    fn config(&self) -> FormsQuota {
        self.config
    }
}

/// The Forms emulator's live settings: its quota windows.
pub type FormsRuntime = google::QuotaRuntime<Quotas>;

/// A Forms API error, rendered as Google's error body.
pub type FormsError = google::ApiError;

impl From<FilterError> for FormsError {
    fn from(e: FilterError) -> Self {
        google::ApiError::invalid(e.to_string())
    }
}

/// Scopes `forms.get` accepts.
const FORM_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/forms.body",
    "https://www.googleapis.com/auth/forms.body.readonly",
];

/// Scopes `responses.get` and `responses.list` accept.
const RESPONSE_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
    "https://www.googleapis.com/auth/forms.responses.readonly",
];

/// The service's name in Google's quota messages.
const SERVICE: &str = "forms.googleapis.com";

const GET_FORM: &str = "/v1/forms/{formId}";
const LIST_RESPONSES: &str = "/v1/forms/{formId}/responses";
const GET_RESPONSE: &str = "/v1/forms/{formId}/responses/{responseId}";

/// The token check, the scope check and the quotas, before any handler.
async fn gate(State(app): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let who = match google::check_bearer(&app, req.headers()) {
        Ok(w) => w,
        Err(refused) => return refused.into_response(),
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let scopes = if route == GET_FORM {
        FORM_SCOPES
    } else {
        RESPONSE_SCOPES
    };
    if let Err(refused) = google::check_scopes(&who, scopes) {
        return refused.into_response();
    }
    let refused = {
        let mut q = app.forms.quotas.lock().unwrap_or_else(|e| e.into_inner());
        match q.as_mut() {
            None => Ok(()),
            Some(q) if route == LIST_RESPONSES => {
                q.expensive.check(SERVICE, "Expensive read requests", &who)
            }
            Some(q) => q.read.check(SERVICE, "Read requests", &who),
        }
    };
    if let Err(message) = refused {
        app.count_rate_limited(super::route_key(&req));
        return google::api_error(StatusCode::TOO_MANY_REQUESTS, &message);
    }
    req.extensions_mut().insert(who);
    next.run(req).await
}

/// Path prefixes served by this emulator.
pub const PREFIXES: [&str; 1] = ["/v1/forms"];

/// The Forms routes with their gate and the fault layer, and the admin paths.
pub fn router(app: Arc<AppState>) -> Router<Arc<AppState>> {
    let api = Router::new()
        .route(GET_FORM, get(get_form))
        .route(LIST_RESPONSES, get(list_responses))
        .route(GET_RESPONSE, get(get_response))
        .route_layer(middleware::from_fn_with_state(app.clone(), gate))
        .route_layer(middleware::from_fn_with_state(app, fault_middleware));
    let admin = Router::new()
        .route(
            "/__sandbox/forms/settings",
            get(admin_settings).post(admin_set_settings),
        )
        .route("/__sandbox/forms/{id}", get(admin_dump))
        .route("/__sandbox/forms/{id}/share", post(admin_share_path))
        .route("/__sandbox/forms/{id}/responses", post(admin_submit_path))
        .route(
            "/__sandbox/forms/{id}/responses/{response_id}",
            post(admin_edit_path),
        );
    api.merge(admin)
}

/// Reads a form the caller may see: 404 when there is none, 403 when it is not shared with them.
fn with_form<R>(
    app: &AppState,
    id: &str,
    who: &Issued,
    f: impl FnOnce(&Form) -> Result<R, FormsError>,
) -> Result<R, FormsError> {
    app.read_forms(|d| {
        let form = d.forms.get(id).ok_or_else(FormsError::not_found)?;
        if !google::is_shared_with(&form.shared_with, who) {
            return Err(FormsError {
                status: StatusCode::FORBIDDEN,
                message: google::NO_PERMISSION.to_owned(),
            });
        }
        f(form)
    })
}

async fn get_form(
    State(app): State<Arc<AppState>>,
    Extension(who): Extension<Issued>,
    Path(id): Path<String>,
) -> Result<Response, FormsError> {
    with_form(&app, &id, &who, |f| Ok(Json(f.to_json()).into_response()))
}

async fn get_response(
    State(app): State<Arc<AppState>>,
    Extension(who): Extension<Issued>,
    Path((id, response_id)): Path<(String, String)>,
) -> Result<Response, FormsError> {
    with_form(&app, &id, &who, |f| {
        f.responses
            .iter()
            .find(|r| r.response_id == response_id)
            .map(|r| Json(r.to_json(&f.id)).into_response())
            .ok_or_else(FormsError::not_found)
    })
}

/// The parameters of `responses.list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    /// The filter (`None`: every response).
    pub filter: Option<Filter>,
    /// Responses per page (1..=5,000).
    pub page_size: usize,
    /// Where the page starts.
    pub page_token: Option<String>,
}

/// Reads `responses.list`'s query string (unknown parameters, such as `fields`, are ignored).
pub fn list_params(query: &str) -> Result<ListParams, FormsError> {
    let mut filter = None;
    let mut page_size = MAX_PAGE_SIZE;
    let mut page_token = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "filter" => filter = filter::parse(&v)?,
            "pageSize" => {
                let n: i64 = v.trim().parse().map_err(|_| {
                    FormsError::invalid(format!(
                        "Invalid value at 'page_size' (TYPE_INT32), \"{v}\""
                    ))
                })?;
                if n < 0 {
                    return Err(FormsError::invalid("page_size must not be negative"));
                }
                page_size = match usize::try_from(n) {
                    Ok(0) | Err(_) => MAX_PAGE_SIZE,
                    Ok(n) => n.min(MAX_PAGE_SIZE),
                };
            }
            "pageToken" if !v.is_empty() => page_token = Some(v.into_owned()),
            _ => {}
        }
    }
    Ok(ListParams {
        filter,
        page_size,
        page_token,
    })
}

/// One page of `responses.list` over a form: the responses and the next page's token.
pub fn list_page(form: &Form, p: &ListParams) -> Result<(Vec<Value>, Option<String>), FormsError> {
    let after = p
        .page_token
        .as_deref()
        .map(|t| PageToken::decode(t, &form.id, p.filter.as_ref()))
        .transpose()?;
    let mut matching: Vec<&FormResponse> = form
        .responses
        .iter()
        .filter(|r| p.filter.is_none_or(|f| f.matches(r.last_submitted_ms)))
        .filter(|r| {
            after
                .as_ref()
                .is_none_or(|a| r.key() > (a.last_ms, a.last_seq))
        })
        .collect();
    matching.sort_by_key(|r| r.key());
    let more = matching.len() > p.page_size;
    matching.truncate(p.page_size);
    let next = match matching.last() {
        Some(last) if more => Some(
            PageToken {
                last_ms: last.last_submitted_ms,
                last_seq: last.seq,
            }
            .encode(&form.id, p.filter.as_ref()),
        ),
        _ => None,
    };
    Ok((matching.iter().map(|r| r.to_json(&form.id)).collect(), next))
}

async fn list_responses(
    State(app): State<Arc<AppState>>,
    Extension(who): Extension<Issued>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, FormsError> {
    let params = list_params(query.as_deref().unwrap_or_default())?;
    with_form(&app, &id, &who, |f| {
        let (responses, next) = list_page(f, &params)?;
        let mut body = serde_json::Map::new();
        if !responses.is_empty() {
            body.insert("responses".into(), Value::Array(responses));
        }
        if let Some(t) = next {
            body.insert("nextPageToken".into(), json!(t));
        }
        Ok(Json(Value::Object(body)).into_response())
    })
}

// ---- seed ----

fn text(item: u32, title: &str, required: bool, paragraph: bool) -> Question {
    question(item, title, required, QuestionKind::Text { paragraph })
}

fn choice(item: u32, title: &str, required: bool, kind: &str, options: &[&str]) -> Question {
    question(
        item,
        title,
        required,
        QuestionKind::Choice {
            choice_type: kind.to_owned(),
            options: options.iter().map(|o| (*o).to_owned()).collect(),
        },
    )
}

fn question(item: u32, title: &str, required: bool, kind: QuestionKind) -> Question {
    Question {
        item_id: format!("{:08x}", 0x1a2b_0000 + item),
        question_id: format!("{:08x}", 0x5e00_0000 + item * 0x0101),
        title: title.to_owned(),
        required,
        kind,
    }
}

/// The seeded forms.
pub fn seed_data() -> FormsData {
    let shared = vec![google::SANDBOX_CLIENT_EMAIL.to_owned()];
    let intake = Form {
        id: INTAKE_FORM_ID.to_owned(),
        title: "Work with us".to_owned(),
        document_title: "Intake".to_owned(),
        description: "Tell us about your project; we answer within two working days.".to_owned(),
        shared_with: shared.clone(),
        questions: vec![
            text(1, INTAKE_QUESTIONS[0].0, true, false),
            text(2, INTAKE_QUESTIONS[1].0, true, false),
            text(3, INTAKE_QUESTIONS[2].0, false, false),
            text(4, INTAKE_QUESTIONS[3].0, false, false),
            text(5, INTAKE_QUESTIONS[4].0, false, false),
            text(6, INTAKE_QUESTIONS[5].0, false, true),
            choice(
                7,
                INTAKE_QUESTIONS[6].0,
                false,
                "CHECKBOX",
                &[
                    "Rust",
                    "Python",
                    "Data engineering",
                    "Design",
                    "Project management",
                ],
            ),
            text(8, INTAKE_QUESTIONS[7].0, false, false),
            question(
                9,
                INTAKE_QUESTIONS[8].0,
                false,
                QuestionKind::Date {
                    include_time: false,
                    include_year: true,
                },
            ),
            choice(
                10,
                INTAKE_QUESTIONS[9].0,
                false,
                "RADIO",
                &["English", "Polish", "German"],
            ),
        ],
        responses: Vec::new(),
    };
    let helpdesk = Form {
        id: HELPDESK_FORM_ID.to_owned(),
        title: "Helpdesk".to_owned(),
        document_title: "Helpdesk".to_owned(),
        description: String::new(),
        shared_with: shared,
        questions: vec![
            text(21, HELPDESK_QUESTIONS[0].0, true, false),
            choice(
                22,
                HELPDESK_QUESTIONS[1].0,
                true,
                "RADIO",
                &["Client", "Expert"],
            ),
            text(23, HELPDESK_QUESTIONS[2].0, true, true),
        ],
        responses: Vec::new(),
    };
    let private = Form {
        id: PRIVATE_FORM_ID.to_owned(),
        title: "Not shared".to_owned(),
        document_title: "Not shared".to_owned(),
        description: String::new(),
        shared_with: vec!["someone.else@example.com".to_owned()],
        questions: vec![text(31, "Anything", false, false)],
        responses: Vec::new(),
    };
    let mut d = FormsData::default();
    for f in [intake, helpdesk, private] {
        d.forms.insert(f.id.clone(), f);
    }
    d
}

// ---- admin: a person filling in the form ----

/// Answers as given to [`admin_submit`] and [`admin_edit`]: question (title or id) → values
/// (none or `[""]`: no answer).
pub type Answers = Vec<(String, Vec<String>)>;

fn resolve(form: &Form, answers: &Answers) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut out = BTreeMap::new();
    for (key, values) in answers {
        let q = form
            .question(key)
            .ok_or_else(|| format!("the form has no question {key:?}"))?;
        let values: Vec<String> = values.iter().filter(|v| !v.is_empty()).cloned().collect();
        if values.len() > 1 && !q.multiple() {
            return Err(format!("{:?} takes one answer", q.title));
        }
        out.insert(q.question_id.clone(), values);
    }
    Ok(out)
}

fn check_required(form: &Form, answers: &BTreeMap<String, Vec<String>>) -> Result<(), String> {
    match form
        .questions
        .iter()
        .find(|q| q.required && answers.get(&q.question_id).is_none_or(Vec::is_empty))
    {
        Some(q) => Err(format!("{:?} is a required question", q.title)),
        None => Ok(()),
    }
}

/// Submits a response to form `id` as a person would: `createTime` and `lastSubmittedTime` are
/// the sandbox clock's now; answers are stored as given.
pub fn admin_submit(
    app: &AppState,
    id: &str,
    answers: &Answers,
    respondent_email: Option<&str>,
) -> Result<FormResponse, String> {
    let now = app.now_ms();
    app.with_forms(|d| {
        let form = d.forms.get(id).ok_or("no such form")?;
        let mut given = resolve(form, answers)?;
        given.retain(|_, v| !v.is_empty());
        check_required(form, &given)?;
        d.last_seq += 1;
        let seq = d.last_seq;
        let r = FormResponse {
            response_id: response_id(seq),
            create_ms: now,
            last_submitted_ms: now,
            seq,
            respondent_email: respondent_email.map(str::to_owned),
            answers: given,
        };
        d.forms
            .get_mut(id)
            .ok_or("no such form")?
            .responses
            .push(r.clone());
        Ok(r)
    })
}

/// Edits response `response_id` of form `id` as its respondent would: the answers given replace
/// those questions' answers (none: cleared), the others stay; `lastSubmittedTime` becomes the
/// sandbox clock's now (always later than the previous one), the `responseId` stays.
pub fn admin_edit(
    app: &AppState,
    id: &str,
    response_id: &str,
    answers: &Answers,
) -> Result<FormResponse, String> {
    let now = app.now_ms();
    app.with_forms(|d| {
        let form = d.forms.get(id).ok_or("no such form")?;
        let given = resolve(form, answers)?;
        let mut r = form
            .responses
            .iter()
            .find(|r| r.response_id == response_id)
            .cloned()
            .ok_or("no such response")?;
        for (qid, values) in given {
            if values.is_empty() {
                r.answers.remove(&qid);
            } else {
                r.answers.insert(qid, values);
            }
        }
        check_required(form, &r.answers)?;
        d.last_seq += 1;
        r.seq = d.last_seq;
        r.last_submitted_ms = now.max(r.last_submitted_ms.saturating_add(1));
        let form = d.forms.get_mut(id).ok_or("no such form")?;
        if let Some(slot) = form
            .responses
            .iter_mut()
            .find(|x| x.response_id == response_id)
        {
            *slot = r.clone();
        }
        Ok(r)
    })
}

/// Deletes a response, as the form's owner can in the browser.
pub fn admin_delete(app: &AppState, id: &str, response_id: &str) -> Result<(), String> {
    app.with_forms(|d| {
        let form = d.forms.get_mut(id).ok_or("no such form")?;
        let before = form.responses.len();
        form.responses.retain(|r| r.response_id != response_id);
        if form.responses.len() == before {
            Err("no such response".to_owned())
        } else {
            Ok(())
        }
    })
}

/// Shares a form with an account (or stops sharing it).
pub fn admin_share(app: &AppState, id: &str, email: &str, shared: bool) -> Result<(), String> {
    app.with_forms(|d| {
        let form = d.forms.get_mut(id).ok_or("no such form")?;
        form.shared_with.retain(|e| !e.eq_ignore_ascii_case(email));
        if shared {
            form.shared_with.push(email.to_owned());
        }
        Ok(())
    })
}

/// A response id as Google's look (stable, unique per submission).
fn response_id(seq: u64) -> String {
    let mix = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    format!("ACYDBN{mix:016x}{seq:010}")
}

/// The form and every response (`None`: no such form).
pub fn admin_view(app: &AppState, id: &str) -> Option<Value> {
    app.read_forms(|d| {
        let f = d.forms.get(id)?;
        let mut v = f.to_json();
        v["shared_with"] = json!(f.shared_with);
        v["responses"] = f.responses.iter().map(|r| r.to_json(&f.id)).collect();
        Some(v)
    })
}

fn admin_bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": message.into()})),
    )
        .into_response()
}

fn parse_body(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(if body.is_empty() { b"{}" } else { body })
        .map_err(|e| format!("invalid JSON: {e}"))
}

fn parse_answers(v: &Value) -> Result<Answers, String> {
    let Some(map) = v.get("answers").and_then(Value::as_object) else {
        return Err("answers must be an object: {question: value}".to_owned());
    };
    Ok(map
        .iter()
        .map(|(k, a)| {
            let values = match a {
                Value::Null => Vec::new(),
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
                other => vec![other.to_string()],
            };
            (k.clone(), values)
        })
        .collect())
}

async fn admin_dump(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match admin_view(&app, &id) {
        Some(v) => Json(v).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such form"})),
        )
            .into_response(),
    }
}

async fn admin_submit_path(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (v, answers) = match parse_body(&body).and_then(|v| parse_answers(&v).map(|a| (v, a))) {
        Ok(x) => x,
        Err(e) => return admin_bad(e),
    };
    let email = v.get("respondentEmail").and_then(Value::as_str);
    match admin_submit(&app, &id, &answers, email) {
        Ok(r) => Json(r.to_json(&id)).into_response(),
        Err(e) => admin_bad(e),
    }
}

async fn admin_edit_path(
    State(app): State<Arc<AppState>>,
    Path((id, response_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let answers = match parse_body(&body).and_then(|v| parse_answers(&v)) {
        Ok(a) => a,
        Err(e) => return admin_bad(e),
    };
    match admin_edit(&app, &id, &response_id, &answers) {
        Ok(r) => Json(r.to_json(&id)).into_response(),
        Err(e) => admin_bad(e),
    }
}

async fn admin_share_path(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(e) => return admin_bad(e),
    };
    let email = v.get("email").and_then(Value::as_str).unwrap_or_default();
    let shared = v.get("shared").and_then(Value::as_bool).unwrap_or(true);
    match admin_share(&app, &id, email, shared) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => admin_bad(e),
    }
}

fn settings_json(app: &AppState) -> Value {
    json!({
        "quota": app.forms.quota().map(|q| json!({
            "read_per_user": q.read_per_user,
            "read_per_project": q.read_per_project,
            "expensive_per_user": q.expensive_per_user,
            "expensive_per_project": q.expensive_per_project,
            "window_ms": q.window.as_millis() as u64,
        })),
    })
}

async fn admin_settings(State(app): State<Arc<AppState>>) -> Response {
    Json(settings_json(&app)).into_response()
}

async fn admin_set_settings(State(app): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(e) => return admin_bad(e),
    };
    match v.get("quota") {
        None => {}
        Some(Value::Null) => app.forms.set_quota(None),
        Some(q) => {
            let n = |k: &str| {
                q.get(k)
                    .and_then(Value::as_u64)
                    .map(|n| n.min(u64::from(u32::MAX)) as u32)
            };
            let (Some(ru), Some(rp), Some(eu), Some(ep), Some(w)) = (
                n("read_per_user"),
                n("read_per_project"),
                n("expensive_per_user"),
                n("expensive_per_project"),
                q.get("window_ms").and_then(Value::as_u64),
            ) else {
                return admin_bad(
                    "quota needs {read_per_user, read_per_project, expensive_per_user, \
                     expensive_per_project, window_ms}",
                );
            };
            app.forms.set_quota(Some(FormsQuota {
                read_per_user: ru,
                read_per_project: rp,
                expensive_per_user: eu,
                expensive_per_project: ep,
                window: Duration::from_millis(w),
            }));
        }
    }
    Json(settings_json(&app)).into_response()
}

// ---- the Emulator trait: responses of the seeded forms ----

/// The Forms emulator. Its record kinds are the seeded forms (`intake`, `helpdesk`); a record is
/// a response (its id: the `responseId`), its fields the questions' titles (several answers
/// joined with `, `). `create` submits, `edit` edits one answer, `archive` deletes the response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Forms;

const NAME: &str = "forms";

fn form_of(kind: &str) -> Result<&'static str, EmulatorError> {
    match kind {
        "intake" => Ok(INTAKE_FORM_ID),
        "helpdesk" => Ok(HELPDESK_FORM_ID),
        _ => Err(EmulatorError::UnknownKind {
            service: NAME,
            kind: kind.to_owned(),
        }),
    }
}

fn rejected(message: impl Into<String>) -> EmulatorError {
    EmulatorError::Rejected {
        service: NAME,
        message: message.into(),
    }
}

impl Emulator for Forms {
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
        google::render_api_fault
    }

    fn seed(&self, state: &mut SandboxState) {
        state.forms = seed_data();
    }

    fn kinds(&self) -> &'static [&'static str] {
        &["intake", "helpdesk"]
    }

    fn ssot_field(&self) -> &'static str {
        "responseId"
    }

    fn records(&self, app: &AppState, kind: &str) -> Result<Vec<RemoteRecord>, EmulatorError> {
        let id = form_of(kind)?;
        Ok(app.read_forms(|d| {
            let Some(form) = d.forms.get(id) else {
                return Vec::new();
            };
            form.responses
                .iter()
                .map(|r| {
                    let mut fields: BTreeMap<String, String> = form
                        .questions
                        .iter()
                        .filter_map(|q| {
                            r.answers
                                .get(&q.question_id)
                                .map(|a| (q.title.clone(), a.join(", ")))
                        })
                        .collect();
                    fields.insert("responseId".to_owned(), r.response_id.clone());
                    RemoteRecord {
                        id: r.response_id.clone(),
                        fields,
                        archived: false,
                        raw: r.to_json(&form.id),
                    }
                })
                .collect()
        }))
    }

    fn create(
        &self,
        app: &AppState,
        kind: &str,
        fields: &[(&str, &str)],
    ) -> Result<String, EmulatorError> {
        let id = form_of(kind)?;
        let answers: Answers = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
            .collect();
        admin_submit(app, id, &answers, None)
            .map(|r| r.response_id)
            .map_err(rejected)
    }

    fn edit(
        &self,
        app: &AppState,
        kind: &str,
        id: &str,
        field: &str,
        value: &str,
    ) -> Result<(), EmulatorError> {
        let form = form_of(kind)?;
        let answers = vec![(field.to_owned(), vec![value.to_owned()])];
        admin_edit(app, form, id, &answers).map(drop).map_err(|e| {
            if e == "no such response" {
                EmulatorError::NotFound {
                    service: NAME,
                    kind: kind.to_owned(),
                    id: id.to_owned(),
                }
            } else {
                rejected(e)
            }
        })
    }

    fn archive(&self, app: &AppState, kind: &str, id: &str) -> Result<(), EmulatorError> {
        let form = form_of(kind)?;
        admin_delete(app, form, id).map_err(|_| EmulatorError::NotFound {
            service: NAME,
            kind: kind.to_owned(),
            id: id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_params_read_page_size_and_filter() {
        let p = list_params("").expect("ok");
        assert_eq!(p.page_size, MAX_PAGE_SIZE);
        assert!(p.filter.is_none() && p.page_token.is_none());
        let p = list_params("pageSize=0&filter=timestamp%20%3E%3D%202024-01-01T00%3A00%3A00Z")
            .expect("ok");
        assert_eq!(p.page_size, MAX_PAGE_SIZE);
        assert!(p.filter.is_some_and(|f| f.inclusive));
        assert_eq!(list_params("pageSize=7").expect("ok").page_size, 7);
        assert_eq!(
            list_params("pageSize=99999").expect("ok").page_size,
            MAX_PAGE_SIZE
        );
        for bad in ["pageSize=-1", "pageSize=x", "filter=timestamp%20%3C%201"] {
            assert_eq!(
                list_params(bad).map(|_| ()).map_err(|e| e.status),
                Err(StatusCode::BAD_REQUEST),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_seeded_intake_form_names_the_template_fields() {
        let d = seed_data();
        let intake = &d.forms[INTAKE_FORM_ID];
        for (title, _) in INTAKE_QUESTIONS {
            assert!(intake.question(title).is_some(), "{title}");
        }
        assert_eq!(intake.questions.len(), INTAKE_QUESTIONS.len());
        let ids: std::collections::BTreeSet<_> = d
            .forms
            .values()
            .flat_map(|f| f.questions.iter().map(|q| q.question_id.clone()))
            .collect();
        assert_eq!(
            ids.len(),
            d.forms.values().map(|f| f.questions.len()).sum::<usize>()
        );
    }
}
