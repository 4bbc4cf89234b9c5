//! HubSpot associations: the contract's answers and the connector's handling of per-input errors.
//!
//! The emulator answers a batch association as the v4 contract declares it (200 with `errors` and
//! `numErrors`, string-valued `context`); the sync names each association HubSpot did not make on
//! its note and exits 1, never associates a record it knows is archived, and syncs the rest.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ssot_vault::sandbox::{AssociationRequest, DEFAULT_HUBSPOT_TOKEN, FaultConfig};

use crate::hs_env::{CLIENT, EXPERT, Env, PROJECT, out};

/// Sends a HubSpot call and returns its status and body.
async fn call(e: &Env, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut r = e
        .http
        .request(method, format!("{}{path}", e.sb.base_url()))
        .bearer_auth(DEFAULT_HUBSPOT_TOKEN);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.expect("send");
    let status = resp.status();
    let text = resp.text().await.expect("text");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn create(e: &Env, object: &str, props: Value) -> String {
    let (s, b) = call(
        e,
        Method::POST,
        &format!("/crm/v3/objects/{object}"),
        Some(json!({ "properties": props })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["id"].as_str().expect("id").to_string()
}

/// Replaces `from` by `to` in a note (as an edit in Obsidian would).
fn edit(e: &Env, rel: &str, from: &str, to: &str) {
    let text = e.note(rel);
    assert!(text.contains(from), "{rel} holds {from:?}: {text}");
    std::fs::write(e.v.join(rel), text.replacen(from, to, 1)).expect("write");
}

/// The associations of a record to an object type, as HubSpot lists them.
async fn associated(e: &Env, object: &str, id: &str, to: &str) -> Vec<String> {
    let (_, b) = call(
        e,
        Method::GET,
        &format!("/crm/v4/objects/{object}/{id}/associations/{to}"),
        None,
    )
    .await;
    b["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["toObjectId"].to_string().trim_matches('"').to_string())
        .collect()
}

fn names(log: &[AssociationRequest], id: &str) -> Vec<AssociationRequest> {
    log.iter()
        .filter(|r| r.from_id == id || r.to_id == id)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_associate_answers_200_with_string_context_errors() {
    let e = Env::new("").await;
    let c1 = create(&e, "contacts", json!({"email": "a@acme.io"})).await;
    let c2 = create(&e, "contacts", json!({"email": "b@acme.io"})).await;
    let co = create(&e, "companies", json!({"name": "Acme"})).await;
    let (s, _) = call(
        &e,
        Method::DELETE,
        &format!("/crm/v3/objects/contacts/{c2}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let path = "/crm/v4/associations/contacts/companies/batch/associate/default";
    let (s, b) = call(
        &e,
        Method::POST,
        path,
        Some(json!({"inputs": [
            {"from": {"id": c1}, "to": {"id": co}},
            {"from": {"id": c1}, "to": {"id": "999999"}},
            {"from": {"id": c2}, "to": {"id": co}},
        ]})),
    )
    .await;
    // The contract declares 200 only (no 207) for this operation.
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "COMPLETE", "{b}");
    assert!(b["startedAt"].is_string() && b["completedAt"].is_string());
    let results = b["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{b}");
    assert_eq!(results[0]["from"]["id"], c1.as_str());
    assert_eq!(results[0]["to"]["id"], co.as_str());
    assert_eq!(results[0]["associationSpec"]["associationTypeId"], 279);
    assert_eq!(b["numErrors"], 2, "{b}");
    let errors = b["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 2, "one error per failed input: {b}");
    for err in errors {
        // StandardError: every required field, `context` a map of lists of strings.
        for key in [
            "status", "category", "message", "context", "errors", "links",
        ] {
            assert!(err.get(key).is_some(), "{key} missing in {err}");
        }
        assert_eq!(err["status"], "error");
        assert!(
            err["errors"].is_array() && err["links"].is_object(),
            "{err}"
        );
        let ctx = err["context"].as_object().expect("context is an object");
        assert!(!ctx.is_empty(), "{err}");
        for (k, v) in ctx {
            let list = v
                .as_array()
                .unwrap_or_else(|| panic!("{k} is a list: {err}"));
            assert!(
                list.iter().all(Value::is_string),
                "context.{k} holds strings only: {err}"
            );
        }
    }
    assert_eq!(errors[0]["context"]["fromObjectId"], json!([c1]));
    assert_eq!(errors[0]["context"]["toObjectId"], json!(["999999"]));
    assert_eq!(errors[0]["context"]["missingObjectIds"], json!(["999999"]));
    assert_eq!(errors[1]["context"]["fromObjectId"], json!([c2]));
    assert_eq!(errors[1]["context"]["missingObjectIds"], json!([c2]));
    assert!(
        errors[1]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&c2) && m.contains("archived")),
        "{b}"
    );
    // Only the good input was associated.
    assert_eq!(
        associated(&e, "companies", &co, "contacts").await,
        vec![c1.clone()]
    );
    // An answer without failures carries neither `errors` nor `numErrors`.
    let (s, b) = call(
        &e,
        Method::POST,
        path,
        Some(json!({"inputs": [{"from": {"id": c1}, "to": {"id": co}}]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        b.get("errors").is_none() && b.get("numErrors").is_none(),
        "{b}"
    );
    // Every input asked for is in the sandbox's association log, made or not.
    let log = e.sb.association_requests();
    assert_eq!(log.len(), 4, "{log:?}");
    assert_eq!(
        log[2],
        AssociationRequest {
            from_type: "contacts".into(),
            from_id: c2.clone(),
            to_type: "companies".into(),
            to_id: co.clone(),
        }
    );
    let (_, admin) = call(
        &e,
        Method::GET,
        "/__sandbox/hubspot/association-requests",
        None,
    )
    .await;
    assert_eq!(admin.as_array().map(Vec::len), Some(4), "{admin}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_association_is_named_on_its_note_and_the_rest_is_written() {
    let e = Env::new("").await;
    edit(
        &e,
        PROJECT,
        "client: \"[[Piekarnia Złoty Kłos]]\"\n",
        "client: \"[[Piekarnia Złoty Kłos]]\"\nexpert: \"[[Anna Nowak]]\"\n",
    );
    e.sync().await;
    let deal = e.prop(PROJECT, "hubspot_id").expect("deal id");
    let client = e.prop(CLIENT, "hubspot_id").expect("client id");
    let anna = e.prop(EXPERT, "hubspot_id").expect("anna id");
    let mut both = vec![client.clone(), anna.clone()];
    both.sort();
    assert_eq!(associated(&e, "deals", &deal, "contacts").await, both);
    // Anna's contact is archived in HubSpot; the run does not know yet (no archive check due).
    let (s, _) = call(
        &e,
        Method::DELETE,
        &format!("/crm/v3/objects/contacts/{anna}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    edit(&e, PROJECT, "budget: 45000", "budget: 47000");
    edit(&e, CLIENT, "city: Warszawa", "city: Kraków");
    let o = e.run(&["sync"]).await;
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "Projects/Złoty Kłos online shop.md: expert → Experts/Anna Nowak.md (hubspot {anna}) not associated in hubspot: Cannot associate DEAL {deal} with CONTACT {anna}: CONTACT {anna} does not exist or is archived"
        )),
        "{text}"
    );
    assert!(
        !text.contains("client →"),
        "the client's link was made: {text}"
    );
    // The rest is written: the deal, the client's contact, the deal's other association.
    let d = e.record_by_ssot("deals", &e.prop(PROJECT, "ssot_id").expect("sid"));
    assert_eq!(d["properties"]["amount"], "47000");
    let c = e.record_by_ssot("contacts", &e.prop(CLIENT, "ssot_id").expect("sid"));
    assert_eq!(c["properties"]["city"], "Kraków");
    assert_eq!(
        associated(&e, "deals", &deal, "contacts").await,
        vec![client.clone()]
    );

    // A batch HubSpot refuses as a whole (400) is split: each association stands or fails alone,
    // and the run goes on (exit 1, not 2).
    e.sb.set_faults(FaultConfig {
        fail_next: 2,
        fail_status: Some(400),
        path_prefix: Some("/crm/v4/associations/".into()),
        ..FaultConfig::default()
    });
    edit(&e, PROJECT, "budget: 47000", "budget: 48000");
    let o = e.run(&["sync"]).await;
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "Projects/Złoty Kłos online shop.md: client → Clients/Piekarnia Złoty Kłos.md (hubspot {client}) not associated in hubspot: HTTP 400: "
        )),
        "{text}"
    );
    assert!(
        text.contains("expert → Experts/Anna Nowak.md") && text.contains("does not exist"),
        "{text}"
    );
    let d = e.record_by_ssot("deals", &e.prop(PROJECT, "ssot_id").expect("sid"));
    assert_eq!(d["properties"]["amount"], "48000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_association_names_a_record_found_gone_in_the_same_run() {
    let e = Env::new("").await;
    e.sync().await;
    let client = e.prop(CLIENT, "hubspot_id").expect("client id");
    e.hs(
        Method::DELETE,
        &format!("/crm/v3/objects/contacts/{client}"),
        None,
    )
    .await;
    // Both notes are pushed: the client's update finds its record gone, then the project's
    // association to it is left out.
    edit(&e, CLIENT, "city: Warszawa", "city: Kraków");
    edit(&e, PROJECT, "budget: 45000", "budget: 47000");
    let before = e.sb.association_requests().len();
    let o = e.run(&["sync"]).await;
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(e.note(CLIENT).contains("\nhubspot_archived: "), "{text}");
    let log = e.sb.association_requests();
    assert!(
        names(&log[before..], &client).is_empty(),
        "an association named the archived contact {client}: {:?}",
        &log[before..]
    );
    assert!(
        text.contains(&format!(
            "Projects/Złoty Kłos online shop.md: client → Clients/Piekarnia Złoty Kłos.md not associated in hubspot: its hubspot record {client} is archived"
        )),
        "{text}"
    );
    let d = e.record_by_ssot("deals", &e.prop(PROJECT, "ssot_id").expect("sid"));
    assert_eq!(d["properties"]["amount"], "47000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_whose_clients_contact_was_archived_exits_1_and_the_rest_syncs() {
    let e = Env::new("check_archived_minutes = 0").await;
    e.sync().await;
    let client = e.prop(CLIENT, "hubspot_id").expect("client id");
    let tomasz = "Experts/Tomasz Wiśniewski.md";
    e.hs(
        Method::DELETE,
        &format!("/crm/v3/objects/contacts/{client}"),
        None,
    )
    .await;
    edit(&e, PROJECT, "budget: 45000", "budget: 47000");
    let t = e.note(tomasz);
    let loc = t
        .lines()
        .find(|l| l.starts_with("location: "))
        .expect("location")
        .to_string();
    edit(&e, tomasz, &loc, "location: Gdańsk");
    let before = e.sb.association_requests().len();
    let o = e.run(&["sync"]).await;
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let named = format!(
        "Projects/Złoty Kłos online shop.md: client → Clients/Piekarnia Złoty Kłos.md not associated in hubspot: its hubspot record {client} is archived"
    );
    assert!(text.contains(&named), "{text}");
    // The run went on: the client's note is marked, the deal and the other expert are written.
    assert!(e.note(CLIENT).contains("\nhubspot_archived: "), "{text}");
    let d = e.record_by_ssot("deals", &e.prop(PROJECT, "ssot_id").expect("sid"));
    assert_eq!(d["properties"]["amount"], "47000");
    let t = e.record_by_ssot("contacts", &e.prop(tomasz, "ssot_id").expect("sid"));
    assert_eq!(t["properties"]["city"], "Gdańsk");
    // In a later run too (the client known archived since), never an association to it.
    edit(&e, PROJECT, "budget: 47000", "budget: 49000");
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains(&named), "{}", out(&o));
    let log = e.sb.association_requests();
    assert!(
        names(&log[before..], &client).is_empty(),
        "an association named the archived contact {client}: {:?}",
        &log[before..]
    );
    let d = e.record_by_ssot("deals", &e.prop(PROJECT, "ssot_id").expect("sid"));
    assert_eq!(d["properties"]["amount"], "49000");
    // Nothing left to send: in step, exit 0.
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_hubspot_refuses_is_named_on_its_client() {
    let e = Env::new("").await;
    e.sb.set_faults(FaultConfig {
        fail_next: 1,
        fail_status: Some(400),
        path_prefix: Some("/crm/v3/objects/companies/batch/upsert".into()),
        ..FaultConfig::default()
    });
    let o = e.run(&["sync"]).await;
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "Clients/Piekarnia Złoty Kłos.md: company not associated in hubspot: the company was not written (HTTP 400: "
        ),
        "{text}"
    );
    // The contacts and the deal are written all the same.
    assert_eq!(e.live("contacts").len(), 3, "{text}");
    assert_eq!(e.live("deals").len(), 1, "{text}");
    assert!(e.live("companies").is_empty());
}
