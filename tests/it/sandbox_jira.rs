//! Integration tests of the sandbox's Jira Cloud emulator: a real server on 127.0.0.1:0 spoken to
//! over HTTP with reqwest, covering Basic auth, issues (single and bulk create, read, edit,
//! delete, parent/child, ADF-only rich text), workflow transitions, JQL search with paging and
//! lag, users, project roles and the browse permission, and the rate limits.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ssot_vault::sandbox::jira::store::{ROLE_MEMBERS, SEED_USERS};
use ssot_vault::sandbox::jira::{DEFAULT_EMAIL, DEFAULT_TOKEN, JiraConfig, JiraRateLimit};
use ssot_vault::sandbox::{Sandbox, SandboxConfig};

const EWA: (&str, &str) = ("ewa.lis@experts.example", "sandbox-jira-token-ewa");

struct Jira {
    sb: Sandbox,
    client: reqwest::Client,
    base: String,
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    ]})
}

impl Jira {
    async fn start(jira: JiraConfig) -> Jira {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cfg = SandboxConfig {
            hubspot_rate_limit: None,
            search_rate_limit_per_sec: None,
            jira,
            ..SandboxConfig::default()
        };
        let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg)
            .await
            .expect("start sandbox");
        let base = sb.jira_base_url();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        Jira { sb, client, base }
    }

    async fn quiet() -> Jira {
        Self::start(JiraConfig::default()).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        creds: Option<(&str, &str)>,
    ) -> Reply {
        let mut req = self
            .client
            .request(method, format!("{}/rest/api/3{path}", self.base));
        if let Some((user, token)) = creds {
            req = req.basic_auth(user, Some(token));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send(method, path, body, Some((DEFAULT_EMAIL, DEFAULT_TOKEN)))
            .await
    }

    async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// Creates an issue in SSOT; returns its key.
    async fn create(&self, issue_type: &str, summary: &str, extra: Value) -> String {
        let mut fields = json!({"project": {"key": "SSOT"}, "issuetype": {"name": issue_type},
                                "summary": summary});
        if let (Some(f), Some(e)) = (fields.as_object_mut(), extra.as_object()) {
            f.extend(e.clone());
        }
        let r = self.post("/issue", json!({"fields": fields})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["key"].as_str().expect("key").to_owned()
    }

    async fn search(&self, body: Value) -> Reply {
        self.post("/search/jql", body).await
    }
}

/// Jira's `ErrorCollection`: `errorMessages` (array) and `errors` (object).
fn assert_jira_error(r: &Reply, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.body["errorMessages"].is_array(), "{}", r.body);
    assert!(r.body["errors"].is_object(), "{}", r.body);
}

fn keys(r: &Reply) -> Vec<String> {
    r.body["issues"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["key"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn basic_auth_is_required_with_jiras_error_body() {
    let j = Jira::quiet().await;
    let none = j.send(Method::GET, "/myself", None, None).await;
    assert_jira_error(&none, StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.body["errorMessages"][0],
        "You are not authenticated. Authentication required to perform this operation."
    );
    for creds in [
        (DEFAULT_EMAIL, "wrong-token"),
        ("nobody@x.example", DEFAULT_TOKEN),
        (EWA.0, DEFAULT_TOKEN),
    ] {
        let r = j.send(Method::GET, "/myself", None, Some(creds)).await;
        assert_jira_error(&r, StatusCode::UNAUTHORIZED);
    }
    // A bearer token is not Basic auth.
    let bearer = j
        .client
        .get(format!("{}/rest/api/3/myself", j.base))
        .bearer_auth(DEFAULT_TOKEN)
        .send()
        .await
        .expect("req");
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    let me = j.get("/myself").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["accountId"], SEED_USERS[0].0);
    assert_eq!(me.body["emailAddress"], DEFAULT_EMAIL);
    let ewa = j.send(Method::GET, "/myself", None, Some(EWA)).await;
    assert_eq!(ewa.body["accountId"], SEED_USERS[1].0);
    // An authenticated account without the permission gets 403: an expert deleting an issue.
    let key = j.create("Task", "Audit", json!({})).await;
    j.post(
        &format!("/project/SSOT/role/{ROLE_MEMBERS}"),
        json!({"user": [SEED_USERS[1].0]}),
    )
    .await;
    let del = j
        .send(Method::DELETE, &format!("/issue/{key}"), None, Some(EWA))
        .await;
    assert_jira_error(&del, StatusCode::FORBIDDEN);
    assert_eq!(
        del.body["errorMessages"][0],
        "You do not have permission to delete issues in this project."
    );
}

#[tokio::test]
async fn configured_account_and_base_path_are_used() {
    let j = Jira::start(JiraConfig {
        base_path: "/ex/jira/11111111-2222-3333-4444-555555555555".into(),
        email: "me@site.example".into(),
        api_token: "tok".into(),
        ..JiraConfig::default()
    })
    .await;
    assert!(
        j.base
            .ends_with("/ex/jira/11111111-2222-3333-4444-555555555555")
    );
    let ok = j
        .send(
            Method::GET,
            "/myself",
            None,
            Some(("me@site.example", "tok")),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let old = j.get("/myself").await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    // The site form is not served when a base path is set.
    let site = j
        .client
        .get(format!("{}/rest/api/3/myself", j.sb.base_url()))
        .basic_auth("me@site.example", Some("tok"))
        .send()
        .await
        .expect("req");
    assert_eq!(site.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn create_read_edit_with_every_mapped_field() {
    let j = Jira::quiet().await;
    let fields = j.get("/field").await;
    let budget = fields
        .body
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == "Budget");
    let budget = budget.expect("Budget field")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(budget.starts_with("customfield_"));
    let c = j
        .post(
            "/issue",
            json!({"fields": {
                "project": {"key": "SSOT"}, "issuetype": {"name": "Epic"},
                "summary": "Warehouse audit", "description": adf("The brief."),
                "labels": ["ssot-01ABC", "client"], "duedate": "2026-12-24",
                "priority": {"name": "High"}, "assignee": {"accountId": SEED_USERS[1].0},
                "timetracking": {"originalEstimate": "2d 4h"}, budget.clone(): 12000.5,
            }}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    assert_eq!(c.body["key"], "SSOT-1");
    assert!(
        c.body["id"]
            .as_str()
            .is_some_and(|id| id.parse::<u64>().is_ok())
    );
    assert!(
        c.body["self"]
            .as_str()
            .is_some_and(|s| s.contains("/rest/api/3/issue/"))
    );

    let r = j.get("/issue/SSOT-1").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let f = &r.body["fields"];
    assert_eq!(f["summary"], "Warehouse audit");
    assert_eq!(f["description"], adf("The brief."));
    assert_eq!(f["labels"], json!(["ssot-01ABC", "client"]));
    assert_eq!(f["duedate"], "2026-12-24");
    assert_eq!(f["priority"]["name"], "High");
    assert_eq!(f["assignee"]["accountId"], SEED_USERS[1].0);
    assert_eq!(f["timetracking"]["originalEstimate"], "2d 4h");
    assert_eq!(f["timetracking"]["originalEstimateSeconds"], 72_000);
    assert_eq!(f[&budget], 12000.5);
    assert_eq!(f["status"]["name"], "To Do");
    assert_eq!(f["issuetype"]["name"], "Epic");
    assert!(f["updated"].as_str().is_some_and(|u| u.ends_with("+0000")));
    // The same issue by id, with only some fields.
    let id = c.body["id"].as_str().expect("id");
    let some = j.get(&format!("/issue/{id}?fields=summary,labels")).await;
    assert_eq!(some.body["key"], "SSOT-1");
    let names: Vec<&String> = some.body["fields"]
        .as_object()
        .expect("fields")
        .keys()
        .collect();
    assert_eq!(names, ["labels", "summary"]);

    // Edit: fields set, labels added and removed through `update`, a value cleared.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let e = j
        .put(
            "/issue/SSOT-1",
            json!({
                "fields": {"summary": "Warehouse audit, phase 2", "duedate": null,
                           "timetracking": {"originalEstimate": "3h"}},
                "update": {"labels": [{"add": "urgent"}, {"remove": "client"}]},
            }),
        )
        .await;
    assert_eq!(e.status, StatusCode::NO_CONTENT, "{}", e.body);
    let r2 = j.get("/issue/SSOT-1?expand=changelog").await;
    let f = &r2.body["fields"];
    assert_eq!(f["summary"], "Warehouse audit, phase 2");
    assert_eq!(f["labels"], json!(["ssot-01ABC", "urgent"]));
    assert_eq!(f["duedate"], Value::Null);
    assert_eq!(f["timetracking"]["originalEstimate"], "3h");
    assert!(f["updated"].as_str() > r.body["fields"]["updated"].as_str());
    let histories = r2.body["changelog"]["histories"]
        .as_array()
        .expect("changelog");
    assert_eq!(histories.len(), 1);
    assert_eq!(histories[0]["author"]["accountId"], SEED_USERS[0].0);
    let items = histories[0]["items"].as_array().expect("items");
    let summary = items
        .iter()
        .find(|i| i["field"] == "summary")
        .expect("summary item");
    assert_eq!(summary["fromString"], "Warehouse audit");
    assert_eq!(summary["toString"], "Warehouse audit, phase 2");
    assert!(items.iter().any(|i| i["field"] == "labels"));
    assert!(r.body.get("changelog").is_none());

    // Comments are ADF.
    let cm = j
        .post(
            "/issue/SSOT-1/comment",
            json!({"body": adf("Kick-off done.")}),
        )
        .await;
    assert_eq!(cm.status, StatusCode::CREATED, "{}", cm.body);
    let list = j.get("/issue/SSOT-1/comment").await;
    assert_eq!(list.body["comments"][0]["body"], adf("Kick-off done."));
    assert_eq!(list.body["total"], 1);
}

#[tokio::test]
async fn rich_text_is_adf_only_and_bad_values_are_refused_field_by_field() {
    let j = Jira::quiet().await;
    let key = j.create("Task", "Audit", json!({})).await;
    let not_adf =
        "Operation value must be an Atlassian Document (see the Atlassian Document Format)";
    let plain = j
        .put(
            &format!("/issue/{key}"),
            json!({"fields": {"description": "plain text"}}),
        )
        .await;
    assert_jira_error(&plain, StatusCode::BAD_REQUEST);
    assert_eq!(plain.body["errors"]["description"], not_adf);
    assert_eq!(plain.body["errorMessages"], json!([]));
    let create_plain = j
        .post(
            "/issue",
            json!({"fields": {"project": {"key": "SSOT"}, "issuetype": {"name": "Task"},
                              "summary": "x", "description": "plain"}}),
        )
        .await;
    assert_eq!(create_plain.body["errors"]["description"], not_adf);
    let comment = j
        .post(&format!("/issue/{key}/comment"), json!({"body": "plain"}))
        .await;
    assert_jira_error(&comment, StatusCode::BAD_REQUEST);
    assert_eq!(comment.body["errors"]["comment"], not_adf);
    let missing = j
        .post("/issue", json!({"fields": {"project": {"key": "NOPE"}}}))
        .await;
    assert_jira_error(&missing, StatusCode::BAD_REQUEST);
    let errs = &missing.body["errors"];
    assert_eq!(errs["project"], "Specify a valid project ID or key");
    assert_eq!(errs["issuetype"], "Specify an issue type");
    assert_eq!(errs["summary"], "You must specify a summary of the issue.");
    let bad = j
        .put(
            &format!("/issue/{key}"),
            json!({"fields": {"duedate": "24/12/2026", "priority": {"name": "Urgent"},
                              "assignee": {"accountId": "nobody"}, "status": {"name": "Done"},
                              "labels": ["two words"],
                              "timetracking": {"originalEstimate": "soon"}}}),
        )
        .await;
    assert_jira_error(&bad, StatusCode::BAD_REQUEST);
    for f in [
        "duedate",
        "priority",
        "assignee",
        "status",
        "labels",
        "timetracking",
    ] {
        assert!(bad.body["errors"][f].is_string(), "{f}: {}", bad.body);
    }
    assert_eq!(
        bad.body["errors"]["status"],
        "Field 'status' cannot be set. It is not on the appropriate screen, or unknown."
    );
    // Nothing of a refused edit is applied.
    let r = j.get(&format!("/issue/{key}")).await;
    assert_eq!(r.body["fields"]["duedate"], Value::Null);
    assert_eq!(r.body["fields"]["labels"], json!([]));
    let gone = j.get("/issue/SSOT-999").await;
    assert_jira_error(&gone, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.body["errorMessages"][0],
        "Issue does not exist or you do not have permission to see it."
    );
}

#[tokio::test]
async fn bulk_create_answers_per_item_errors() {
    let j = Jira::quiet().await;
    let item = |summary: &str| {
        json!({"fields": {"project": {"key": "SSOT"}, "issuetype": {"name": "Task"},
                          "summary": summary}})
    };
    let r = j
        .post(
            "/issue/bulk",
            json!({"issueUpdates": [item("one"), item(""), item("three"),
                   {"fields": {"project": {"key": "SSOT"}, "issuetype": {"name": "Nope"},
                               "summary": "x"}}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(keys(&r), ["SSOT-1", "SSOT-2"]);
    let errors = r.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["failedElementNumber"], 1);
    assert_eq!(errors[0]["status"], 400);
    assert_eq!(
        errors[0]["elementErrors"]["errors"]["summary"],
        "You must specify a summary of the issue."
    );
    assert_eq!(errors[1]["failedElementNumber"], 3);
    assert_eq!(
        errors[1]["elementErrors"]["errors"]["issuetype"],
        "The issue type selected is invalid."
    );
    // All refused: 400 with the same body.
    let all_bad = j
        .post("/issue/bulk", json!({"issueUpdates": [item("")]}))
        .await;
    assert_eq!(all_bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(all_bad.body["issues"], json!([]));
    assert_eq!(all_bad.body["errors"][0]["failedElementNumber"], 0);
    // At most 50.
    let many: Vec<Value> = (0..51).map(|n| item(&format!("n{n}"))).collect();
    let over = j.post("/issue/bulk", json!({"issueUpdates": many})).await;
    assert_jira_error(&over, StatusCode::BAD_REQUEST);
    let fifty: Vec<Value> = (0..50).map(|n| item(&format!("n{n}"))).collect();
    let ok = j.post("/issue/bulk", json!({"issueUpdates": fifty})).await;
    assert_eq!(keys(&ok).len(), 50);
}

#[tokio::test]
async fn bulk_fetch_leaves_out_missing_and_deleted_issues() {
    let j = Jira::quiet().await;
    let a = j.create("Task", "a", json!({})).await;
    let b = j.create("Task", "b", json!({})).await;
    let c = j.create("Task", "c", json!({})).await;
    j.call(Method::DELETE, &format!("/issue/{b}"), None).await;
    let r = j
        .post(
            "/issue/bulkfetch",
            json!({"issueIdsOrKeys": [c, a, b, "SSOT-99"], "fields": ["summary"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(keys(&r), [a.as_str(), c.as_str()]);
    assert_eq!(r.body["issues"][1]["fields"]["summary"], "c");
    assert_eq!(r.body["issueErrors"], json!([]));
    let too_many: Vec<String> = (1..=101).map(|n| format!("SSOT-{n}")).collect();
    let over = j
        .post("/issue/bulkfetch", json!({"issueIdsOrKeys": too_many}))
        .await;
    assert_jira_error(&over, StatusCode::BAD_REQUEST);
    let none = j
        .post("/issue/bulkfetch", json!({"issueIdsOrKeys": []}))
        .await;
    assert_jira_error(&none, StatusCode::BAD_REQUEST);
    // Hidden from an expert who was not granted the project.
    let hidden = j
        .send(
            Method::POST,
            "/issue/bulkfetch",
            Some(json!({"issueIdsOrKeys": [a]})),
            Some(EWA),
        )
        .await;
    assert_eq!(hidden.body["issues"], json!([]));
}

/// What the spec types, answered so (Prism's contract check found each): changelog items leave
/// out `from`/`to` and their strings when a side has no value (typed string, never null); a bulk
/// fetch answers `issues` and `issueErrors` only; the 204s of an edit and of a transition are
/// typed `application/json` as the spec declares them, a delete's has no type; a bulk task's
/// times are `date-time` strings.
#[tokio::test]
async fn answers_take_the_shapes_the_spec_gives_them() {
    let j = Jira::quiet().await;
    let key = j.create("Epic", "Project", json!({})).await;
    let e = j
        .put(
            &format!("/issue/{key}"),
            json!({"fields": {"duedate": "2027-01-31", "labels": ["a"]}}),
        )
        .await;
    assert_eq!(e.status, StatusCode::NO_CONTENT, "{}", e.body);
    assert_eq!(e.headers["content-type"], "application/json");
    let t = j
        .post(
            &format!("/issue/{key}/transitions"),
            json!({"transition": {"id": "21"}}),
        )
        .await;
    assert_eq!(t.status, StatusCode::NO_CONTENT, "{}", t.body);
    assert_eq!(t.headers["content-type"], "application/json");
    let r = j.get(&format!("/issue/{key}?expand=changelog")).await;
    let items: Vec<&Value> = r.body["changelog"]["histories"]
        .as_array()
        .expect("changelog")
        .iter()
        .flat_map(|h| h["items"].as_array().expect("items"))
        .collect();
    assert!(items.len() >= 3, "{}", r.body);
    for i in &items {
        for k in ["from", "fromString", "to", "toString"] {
            assert!(i.get(k).is_none_or(Value::is_string), "{k}: {i}");
        }
    }
    let due = items
        .iter()
        .find(|i| i["field"] == "duedate")
        .expect("duedate");
    assert!(
        due.get("fromString").is_none() && due["toString"] == "2027-01-31",
        "{due}"
    );
    let f = j
        .post("/issue/bulkfetch", json!({"issueIdsOrKeys": [key]}))
        .await;
    let mut top: Vec<&String> = f.body.as_object().expect("object").keys().collect();
    top.sort();
    assert_eq!(top, ["issueErrors", "issues"]);
    // A bulk task's times are `date-time` strings.
    let other = j.create("Epic", "Other", json!({})).await;
    let t = j
        .post(
            "/bulk/issues/transition",
            json!({"bulkTransitionInputs": [{"selectedIssueIdsOrKeys": [other], "transitionId": "11"}]}),
        )
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    let task = t.body["taskId"].as_str().expect("task id");
    let q = j.get(&format!("/bulk/queue/{task}")).await;
    for k in ["created", "started", "updated"] {
        assert!(
            q.body[k]
                .as_str()
                .is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok()),
            "{k}: {}",
            q.body
        );
    }
    let d = j.call(Method::DELETE, &format!("/issue/{key}"), None).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    assert!(d.headers.get("content-type").is_none());
}

#[tokio::test]
async fn parents_children_and_delete_with_subtasks() {
    let j = Jira::quiet().await;
    let epic = j.create("Epic", "Project", json!({})).await;
    let task = j
        .create("Task", "Child", json!({"parent": {"key": epic}}))
        .await;
    let sub = j
        .create("Subtask", "Step", json!({"parent": {"key": task}}))
        .await;
    let r = j.get(&format!("/issue/{task}")).await;
    assert_eq!(r.body["fields"]["parent"]["key"], epic.as_str());
    assert_eq!(r.body["fields"]["subtasks"][0]["key"], sub.as_str());
    // A subtask needs a parent one level up; an epic cannot be a task's child.
    let orphan = j
        .post(
            "/issue",
            json!({"fields": {"project": {"key": "SSOT"}, "issuetype": {"name": "Subtask"},
                              "summary": "x"}}),
        )
        .await;
    assert_jira_error(&orphan, StatusCode::BAD_REQUEST);
    let wrong = j
        .post(
            "/issue",
            json!({"fields": {"project": {"key": "SSOT"}, "issuetype": {"name": "Subtask"},
                              "summary": "x", "parent": {"key": epic}}}),
        )
        .await;
    assert_jira_error(&wrong, StatusCode::BAD_REQUEST);
    // Delete refuses while subtasks exist, unless asked to delete them too.
    let refused = j
        .call(Method::DELETE, &format!("/issue/{task}"), None)
        .await;
    assert_jira_error(&refused, StatusCode::BAD_REQUEST);
    assert_eq!(
        j.get(&format!("/issue/{task}")).await.status,
        StatusCode::OK
    );
    let deleted = j
        .call(
            Method::DELETE,
            &format!("/issue/{task}?deleteSubtasks=true"),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    for k in [&task, &sub] {
        assert_eq!(
            j.get(&format!("/issue/{k}")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    // Deleting an epic keeps its children, without a parent.
    let child = j
        .create("Task", "Other", json!({"parent": {"key": epic}}))
        .await;
    let d = j
        .call(Method::DELETE, &format!("/issue/{epic}"), None)
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT, "{}", d.body);
    let c = j.get(&format!("/issue/{child}")).await;
    assert_eq!(c.body["fields"]["parent"], Value::Null);
    // The admin view keeps deleted issues, flagged.
    let remote = j.sb.remote("jira").expect("jira is served");
    let all = remote.records("issues").expect("records");
    assert!(all.iter().any(|r| r.id == task && r.archived));
    assert!(
        remote
            .live("issues")
            .expect("live")
            .iter()
            .all(|r| r.id != task)
    );
}

#[tokio::test]
async fn transitions_follow_the_workflow() {
    let j = Jira::quiet().await;
    let key = j.create("Epic", "Project", json!({})).await;
    let t = j.get(&format!("/issue/{key}/transitions")).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    let names: Vec<&str> = t.body["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .filter_map(|t| t["to"]["name"].as_str())
        .collect();
    assert_eq!(names, ["In Progress", "On Hold"]);
    // Done is not reachable from To Do in one step.
    let done = j
        .post(
            &format!("/issue/{key}/transitions"),
            json!({"transition": {"id": "61"}}),
        )
        .await;
    assert_jira_error(&done, StatusCode::BAD_REQUEST);
    assert_eq!(
        done.body["errorMessages"][0],
        "Transition id '61' is not valid for this issue."
    );
    let missing = j
        .post(&format!("/issue/{key}/transitions"), json!({}))
        .await;
    assert_jira_error(&missing, StatusCode::BAD_REQUEST);
    for (id, status) in [
        ("11", "In Progress"),
        ("41", "Blocked"),
        ("51", "In Progress"),
        ("61", "Done"),
    ] {
        let r = j
            .post(
                &format!("/issue/{key}/transitions"),
                json!({"transition": {"id": id}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{id}: {}", r.body);
        let i = j.get(&format!("/issue/{key}?fields=status")).await;
        assert_eq!(i.body["fields"]["status"]["name"], status);
    }
    let i = j.get(&format!("/issue/{key}?expand=changelog")).await;
    let moves: Vec<&str> = i.body["changelog"]["histories"]
        .as_array()
        .expect("histories")
        .iter()
        .flat_map(|h| h["items"].as_array().into_iter().flatten())
        .filter(|it| it["field"] == "status")
        .filter_map(|it| it["toString"].as_str())
        .collect();
    assert_eq!(moves, ["In Progress", "Blocked", "In Progress", "Done"]);
    // A person moving it in Jira goes through the workflow too.
    let remote = j.sb.remote("jira").expect("jira");
    remote
        .edit("issues", &key, "status", "To Do")
        .expect("reopen");
    assert!(remote.edit("issues", &key, "status", "Done").is_err());
}

#[tokio::test]
async fn bulk_transition_is_a_polled_task() {
    let j = Jira::quiet().await;
    let a = j.create("Task", "a", json!({})).await;
    let b = j.create("Task", "b", json!({})).await;
    let c = j.create("Task", "c", json!({})).await;
    // c is already in progress, so "Start" is not available for it.
    j.post(
        &format!("/issue/{c}/transitions"),
        json!({"transition": {"id": "11"}}),
    )
    .await;
    let s = j
        .post(
            "/bulk/issues/transition",
            json!({"bulkTransitionInputs": [
                {"selectedIssueIdsOrKeys": [a, b], "transitionId": "11"},
                {"selectedIssueIdsOrKeys": [c], "transitionId": "11"}],
                   "sendBulkNotification": false}),
        )
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{}", s.body);
    let task = s.body["taskId"].as_str().expect("taskId").to_owned();
    let p = j.get(&format!("/bulk/queue/{task}")).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(p.body["status"], "COMPLETE");
    assert_eq!(p.body["progressPercent"], 100);
    assert_eq!(p.body["totalIssueCount"], 3);
    assert_eq!(
        p.body["processedAccessibleIssues"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        p.body["failedAccessibleIssues"]
            .as_object()
            .map(|o| o.len()),
        Some(1)
    );
    for k in [&a, &b, &c] {
        let i = j.get(&format!("/issue/{k}?fields=status")).await;
        assert_eq!(i.body["fields"]["status"]["name"], "In Progress", "{k}");
    }
    let bad = j
        .post(
            "/bulk/issues/transition",
            json!({"bulkTransitionInputs": [{"selectedIssueIdsOrKeys": ["SSOT-99"], "transitionId": "11"}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.body["errors"][0]["message"],
        "Some of the issues in the issueIdsOrKeys are not valid"
    );
    assert_jira_error(&j.get("/bulk/queue/424242").await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn search_jql_pages_filters_and_orders() {
    let j = Jira::quiet().await;
    let mut made = Vec::new();
    for n in 0..7 {
        let labels = if n % 2 == 0 {
            json!(["even"])
        } else {
            json!(["odd"])
        };
        made.push(
            j.create("Task", &format!("n{n}"), json!({"labels": labels}))
                .await,
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Paging by nextPageToken; no startAt, no total.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    // Bounded, so a token that does not move on fails instead of looping.
    for _page in 0..5 {
        let mut body = json!({"jql": "project = SSOT ORDER BY updated ASC", "maxResults": 3,
                              "fields": ["summary", "updated"]});
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let r = j.search(body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.get("total").is_none() && r.body.get("startAt").is_none());
        seen.extend(keys(&r));
        assert!(r.body["issues"][0]["fields"]["summary"].is_string());
        if r.body["isLast"] == true {
            assert!(r.body.get("nextPageToken").is_none());
            break;
        }
        token = r.body["nextPageToken"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, made);
    // Default fields: the id only.
    let ids = j.search(json!({"jql": "labels = odd"})).await;
    assert_eq!(ids.body["issues"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        ids.body["issues"][0].as_object().map(|o| o.len()),
        Some(1),
        "{}",
        ids.body
    );
    let odd = j
        .search(
            json!({"jql": "project = SSOT AND labels = odd ORDER BY key DESC", "fields": ["key"]}),
        )
        .await;
    assert_eq!(
        keys(&odd),
        [made[5].clone(), made[3].clone(), made[1].clone()]
    );
    let some = j
        .search(json!({"jql": format!("key in ({}, {})", made[0], made[6]), "fields": ["summary"]}))
        .await;
    assert_eq!(keys(&some), [made[6].clone(), made[0].clone()]);
    // updated >= a minute: all of them now, none from the next minute on.
    let now = jiff::Timestamp::now();
    let minute = |t: jiff::Timestamp| t.strftime("%Y-%m-%d %H:%M").to_string();
    let past = now
        .checked_sub(jiff::SignedDuration::from_mins(2))
        .expect("past");
    let future = now
        .checked_add(jiff::SignedDuration::from_mins(2))
        .expect("future");
    let recent = j
        .search(json!({"jql": format!("project = SSOT AND updated >= \"{}\"", minute(past)), "fields": ["key"]}))
        .await;
    assert_eq!(keys(&recent).len(), 7, "{}", recent.body);
    let none = j
        .search(json!({"jql": format!("project = SSOT AND updated >= \"{}\"", minute(future))}))
        .await;
    assert_eq!(none.body["issues"], json!([]));
    // The GET form.
    let get = j
        .get("/search/jql?jql=labels%20%3D%20even&fields=summary&maxResults=2")
        .await;
    assert_eq!(keys(&get).len(), 2);
    assert!(get.body["nextPageToken"].is_string());
    // Errors as Jira answers them.
    for (jql, msg) in [
        (
            "project = NOPE",
            "The value 'NOPE' does not exist for the field 'project'.",
        ),
        (
            "key in (SSOT-99)",
            "An issue with key 'SSOT-99' does not exist for field 'key'.",
        ),
        (
            "foo = bar",
            "Field 'foo' does not exist or you do not have permission to view it.",
        ),
        (
            "",
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        ),
    ] {
        let r = j.search(json!({"jql": jql})).await;
        assert_jira_error(&r, StatusCode::BAD_REQUEST);
        assert_eq!(r.body["errorMessages"][0], msg, "{jql}");
    }
    let bad_date = j.search(json!({"jql": "updated >= \"yesterday\""})).await;
    assert_jira_error(&bad_date, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn jql_by_status_parent_and_assignee() {
    let j = Jira::quiet().await;
    let epic = j.create("Epic", "Project", json!({})).await;
    let task = j
        .create(
            "Task",
            "Work",
            json!({"parent": {"key": epic}, "assignee": {"accountId": SEED_USERS[2].0}}),
        )
        .await;
    j.post(
        &format!("/issue/{task}/transitions"),
        json!({"transition": {"id": "11"}}),
    )
    .await;
    let f = json!(["key"]);
    for (jql, want) in [
        ("status = \"In Progress\"".to_owned(), vec![task.clone()]),
        (
            "status != \"In Progress\" AND project = SSOT".to_owned(),
            vec![epic.clone()],
        ),
        (format!("parent = {epic}"), vec![task.clone()]),
        (
            format!("assignee = \"{}\"", SEED_USERS[2].0),
            vec![task.clone()],
        ),
    ] {
        let r = j.search(json!({"jql": jql, "fields": f})).await;
        assert_eq!(keys(&r), want, "{jql}: {}", r.body);
    }
}

#[tokio::test]
async fn the_retired_search_answers_410() {
    let j = Jira::quiet().await;
    for m in [Method::GET, Method::POST] {
        let body = (m == Method::POST).then(|| json!({"jql": "project = SSOT"}));
        let r = j.call(m, "/search?jql=project%3DSSOT", body).await;
        assert_jira_error(&r, StatusCode::GONE);
        assert_eq!(
            r.body["errorMessages"][0],
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql \
             API. A full migration guideline is available at \
             https://developer.atlassian.com/changelog/#CHANGE-2046"
        );
    }
}

#[tokio::test]
async fn search_is_eventually_consistent() {
    let j = Jira::start(JiraConfig {
        search_lag: Duration::from_millis(400),
        ..JiraConfig::default()
    })
    .await;
    let key = j.create("Task", "lagging", json!({"labels": ["a"]})).await;
    let q = json!({"jql": "labels = a", "fields": ["summary"]});
    assert_eq!(keys(&j.search(q.clone()).await), Vec::<String>::new());
    // reconcileIssues reads the listed ids consistently.
    let id = j.get(&format!("/issue/{key}")).await.body["id"]
        .as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .expect("id");
    let mut rq = q.clone();
    rq["reconcileIssues"] = json!([id]);
    assert_eq!(keys(&j.search(rq).await), [key.as_str()]);
    // A later edit: search still sees the old version for a while.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(keys(&j.search(q.clone()).await), [key.as_str()]);
    j.put(
        &format!("/issue/{key}"),
        json!({"fields": {"summary": "renamed"}}),
    )
    .await;
    let r = j.search(q.clone()).await;
    assert_eq!(r.body["issues"][0]["fields"]["summary"], "lagging");
    j.sb.set_jira_search_lag(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let r = j.search(q).await;
    assert_eq!(r.body["issues"][0]["fields"]["summary"], "renamed");
}

#[tokio::test]
async fn users_roles_and_the_browse_permission() {
    let j = Jira::quiet().await;
    let found = j.get("/user/search?query=ewa").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body[0]["accountId"], SEED_USERS[1].0);
    let by_id = j
        .get(&format!("/user/search?accountId={}", SEED_USERS[2].0))
        .await;
    assert_eq!(by_id.body[0]["displayName"], "Jan Bąk");
    assert_jira_error(&j.get("/user/search").await, StatusCode::BAD_REQUEST);
    let key = j.create("Epic", "Project", json!({})).await;
    // Not granted: the expert cannot see the issue (404, as for a missing one) nor find it.
    let hidden = j
        .send(Method::GET, &format!("/issue/{key}"), None, Some(EWA))
        .await;
    assert_jira_error(&hidden, StatusCode::NOT_FOUND);
    assert_eq!(
        hidden.body["errorMessages"][0],
        "Issue does not exist or you do not have permission to see it."
    );
    let search = j
        .send(
            Method::POST,
            "/search/jql",
            Some(json!({"jql": format!("key in ({key})")})),
            Some(EWA),
        )
        .await;
    assert_jira_error(&search, StatusCode::BAD_REQUEST);
    // Granted through the project role: the issue is visible and can be worked on.
    let roles = j.get("/project/SSOT/role").await;
    assert!(
        roles.body["Member"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/role/{ROLE_MEMBERS}")))
    );
    let g = j
        .post(
            &format!("/project/SSOT/role/{ROLE_MEMBERS}"),
            json!({"user": [SEED_USERS[1].0]}),
        )
        .await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.body);
    assert_eq!(
        g.body["actors"][0]["actorUser"]["accountId"],
        SEED_USERS[1].0
    );
    let role = j.get(&format!("/project/SSOT/role/{ROLE_MEMBERS}")).await;
    assert_eq!(role.body["actors"].as_array().map(Vec::len), Some(1));
    let seen = j
        .send(Method::GET, &format!("/issue/{key}"), None, Some(EWA))
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let t = j
        .send(
            Method::POST,
            &format!("/issue/{key}/transitions"),
            Some(json!({"transition": {"id": "11"}})),
            Some(EWA),
        )
        .await;
    assert_eq!(t.status, StatusCode::NO_CONTENT, "{}", t.body);
    // Only administrators manage roles.
    let self_grant = j
        .send(
            Method::POST,
            &format!("/project/SSOT/role/{ROLE_MEMBERS}"),
            Some(json!({"user": [SEED_USERS[2].0]})),
            Some(EWA),
        )
        .await;
    assert_jira_error(&self_grant, StatusCode::UNAUTHORIZED);
    // Revoked: hidden again.
    let rv = j
        .call(
            Method::DELETE,
            &format!("/project/SSOT/role/{ROLE_MEMBERS}?user={}", SEED_USERS[1].0),
            None,
        )
        .await;
    assert_eq!(rv.status, StatusCode::NO_CONTENT, "{}", rv.body);
    let again = j
        .send(Method::GET, &format!("/issue/{key}"), None, Some(EWA))
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let twice = j
        .call(
            Method::DELETE,
            &format!("/project/SSOT/role/{ROLE_MEMBERS}?user={}", SEED_USERS[1].0),
            None,
        )
        .await;
    assert_jira_error(&twice, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rate_limits_answer_429_with_jiras_headers() {
    // Off by default.
    let j = Jira::quiet().await;
    for _ in 0..30 {
        assert_eq!(j.get("/myself").await.status, StatusCode::OK);
    }
    let j = Jira::start(JiraConfig {
        rate_limit: Some(JiraRateLimit {
            burst_per_sec: 5,
            issue_writes_per_sec: 2,
        }),
        ..JiraConfig::default()
    })
    .await;
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(j.get("/myself").await);
    }
    assert!(codes[..5].iter().all(|r| r.status == StatusCode::OK));
    let limited = &codes[5];
    assert_jira_error(limited, StatusCode::TOO_MANY_REQUESTS);
    let h = |n: &str| {
        limited
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(h("retry-after").as_deref(), Some("1"));
    assert_eq!(h("ratelimit-reason").as_deref(), Some("jira-burst-based"));
    assert_eq!(h("x-ratelimit-limit").as_deref(), Some("5"));
    assert_eq!(h("x-ratelimit-remaining").as_deref(), Some("0"));
    assert!(h("x-ratelimit-reset").is_some_and(|r| r.parse::<jiff::Timestamp>().is_ok()));
    // The burst limit is per endpoint and method: another endpoint still answers.
    assert_eq!(j.get("/field").await.status, StatusCode::OK);
    // The per-issue write limit.
    let key = j.create("Task", "hot", json!({})).await;
    let mut last = None;
    for n in 0..3 {
        last = Some(
            j.put(
                &format!("/issue/{key}"),
                json!({"fields": {"summary": format!("v{n}")}}),
            )
            .await,
        );
    }
    let last = last.expect("reply");
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS, "{}", last.body);
    assert_eq!(
        last.headers
            .get("ratelimit-reason")
            .and_then(|v| v.to_str().ok()),
        Some("jira-per-issue-on-write")
    );
    let counts = j.sb.request_counts();
    assert_eq!(counts.rate_limited.get("GET /rest/api/3/myself"), Some(&1));
    assert_eq!(
        counts
            .rate_limited
            .get("PUT /rest/api/3/issue/{issueIdOrKey}"),
        Some(&1)
    );
}

#[tokio::test]
async fn admin_operations_and_state_persistence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let cfg = || SandboxConfig {
        state_file: Some(path.clone()),
        ..SandboxConfig::default()
    };
    let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg())
        .await
        .expect("start");
    let remote = sb.remote("jira").expect("jira is served");
    let key = remote
        .create(
            "issues",
            &[
                ("summary", "From the UI"),
                ("ssot_id", "01Z"),
                ("priority", "Low"),
                ("status", "On Hold"),
            ],
        )
        .expect("create");
    let found = remote.by_ssot_id("issues", "01Z").expect("by id");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, key);
    assert_eq!(found[0].field("status"), Some("On Hold"));
    assert_eq!(found[0].field("priority"), Some("Low"));
    remote
        .edit("issues", &key, "description", "A note")
        .expect("edit");
    remote
        .edit("issues", &key, "customfield_10050", "42")
        .expect("edit budget");
    assert!(matches!(
        remote.edit("issues", &key, "duedate", "tomorrow"),
        Err(ssot_vault::sandbox::emulator::EmulatorError::Rejected { .. })
    ));
    assert!(matches!(
        remote.edit("issues", "SSOT-404", "summary", "x"),
        Err(ssot_vault::sandbox::emulator::EmulatorError::NotFound { .. })
    ));
    let r = &remote.live("issues").expect("live")[0];
    assert_eq!(r.field("description"), Some("A note"));
    assert_eq!(r.field("customfield_10050"), Some("42.0"));
    assert!(sb.jira_issues()[0]["fields"]["description"]["type"] == "doc");
    let counted = remote.requests();
    assert_eq!(counted, 0, "admin operations are not HTTP requests");
    sb.shutdown().await;
    let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg())
        .await
        .expect("restart");
    let again = sb
        .remote("jira")
        .expect("jira")
        .by_ssot_id("issues", "01Z")
        .expect("read");
    assert_eq!(again.len(), 1);
    remote_archive(&sb, &key);
    sb.shutdown().await;
}

fn remote_archive(sb: &Sandbox, key: &str) {
    let remote = sb.remote("jira").expect("jira");
    remote.archive("issues", key).expect("delete");
    assert!(remote.by_ssot_id("issues", "01Z").expect("read").is_empty());
    assert!(remote.archive("issues", key).is_err());
}

#[tokio::test]
async fn custom_fields_are_created_by_administrators_and_then_used() {
    let j = Jira::quiet().await;
    let body = json!({"name": "Hourly rate", "description": "EUR",
                      "type": "com.atlassian.jira.plugin.system.customfieldtypes:float",
                      "searcherKey": "com.atlassian.jira.plugin.system.customfieldtypes:exactnumber"});
    let c = j.post("/field", body.clone()).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let id = c.body["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("customfield_") && id != "customfield_10050");
    assert_eq!(c.body["schema"]["type"], "number");
    let listed = j.get("/field").await;
    assert!(
        listed
            .body
            .as_array()
            .expect("fields")
            .iter()
            .any(|f| f["id"] == id.as_str() && f["name"] == "Hourly rate")
    );
    let key = j.create("Task", "rated", json!({id.clone(): 95})).await;
    assert_eq!(
        j.get(&format!("/issue/{key}")).await.body["fields"][&id],
        95
    );
    let text = j
        .put(
            &format!("/issue/{key}"),
            json!({"fields": {id.clone(): "ninety"}}),
        )
        .await;
    assert_jira_error(&text, StatusCode::BAD_REQUEST);
    let bad = j.post("/field", json!({"name": "x", "type": "nope"})).await;
    assert_jira_error(&bad, StatusCode::BAD_REQUEST);
    assert!(bad.body["errors"]["type"].is_string());
    let expert = j.send(Method::POST, "/field", Some(body), Some(EWA)).await;
    assert_jira_error(&expert, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn approximate_count_follows_the_index() {
    let j = Jira::start(JiraConfig {
        search_lag: Duration::from_millis(300),
        ..JiraConfig::default()
    })
    .await;
    for n in 0..3 {
        j.create("Task", &format!("n{n}"), json!({"labels": ["x"]}))
            .await;
    }
    let q = json!({"jql": "project = SSOT AND labels = x"});
    let now = j.post("/search/approximate-count", q.clone()).await;
    assert_eq!(now.status, StatusCode::OK, "{}", now.body);
    assert_eq!(now.body, json!({"count": 0}));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        j.post("/search/approximate-count", q).await.body,
        json!({"count": 3})
    );
    let unbounded = j
        .post("/search/approximate-count", json!({"jql": ""}))
        .await;
    assert_jira_error(&unbounded, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn faults_and_counters_apply_to_jira() {
    let j = Jira::quiet().await;
    j.sb.set_faults(ssot_vault::sandbox::FaultConfig {
        fail_next: 1,
        fail_status: Some(503),
        ..ssot_vault::sandbox::FaultConfig::default()
    });
    let failed = j.get("/myself").await;
    assert_jira_error(&failed, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(j.get("/myself").await.status, StatusCode::OK);
    let counts = j.sb.request_counts();
    assert_eq!(counts.by_endpoint.get("GET /rest/api/3/myself"), Some(&2));
    assert_eq!(j.sb.remote("jira").expect("jira").requests(), 2);
}
