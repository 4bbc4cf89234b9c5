//! Integration tests of the sandbox's HubSpot emulator: a real server on 127.0.0.1:0 spoken to over
//! HTTP with reqwest, covering auth, CRUD, batch calls, unique properties, paging, search, rate
//! limits, every fault kind, request counters and state persistence.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ssot_vault::sandbox::{DEFAULT_HUBSPOT_TOKEN, FaultConfig, Sandbox, SandboxConfig};

/// A running sandbox plus a client pointed at it.
struct Hs {
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

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Config without rate limits, so tests that do not test limits never trip them.
fn quiet() -> SandboxConfig {
    SandboxConfig {
        hubspot_rate_limit: None,
        search_rate_limit_per_sec: None,
        ..SandboxConfig::default()
    }
}

impl Hs {
    async fn start(cfg: SandboxConfig) -> Hs {
        let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg)
            .await
            .expect("start sandbox");
        let base = sb.base_url();
        Hs {
            sb,
            client: client(),
            base,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> reqwest::Result<Reply> {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send(method, path, body, Some(DEFAULT_HUBSPOT_TOKEN))
            .await
            .expect("request")
    }

    async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send(method, &format!("/__sandbox{path}"), body, None)
            .await
            .expect("admin request")
    }

    async fn create_ssot_id(&self, t: &str) {
        let r = self
            .post(
                &format!("/crm/v3/properties/{t}"),
                json!({"name": "ssot_id", "label": "SSOT id", "type": "string", "fieldType": "text",
                       "groupName": "ssot", "hasUniqueValue": true}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
}

fn assert_hs_error(r: &Reply, status: StatusCode, category: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["status"], "error", "{}", r.body);
    assert_eq!(r.body["category"], category, "{}", r.body);
    assert!(
        r.body["correlationId"]
            .as_str()
            .is_some_and(|c| c.len() == 36),
        "{}",
        r.body
    );
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn bearer_token_is_required() {
    let hs = Hs::start(quiet()).await;
    let none = hs
        .send(Method::GET, "/crm/v3/objects/contacts", None, None)
        .await
        .expect("req");
    assert_hs_error(&none, StatusCode::UNAUTHORIZED, "INVALID_AUTHENTICATION");
    let wrong = hs
        .send(Method::GET, "/crm/v3/objects/contacts", None, Some("nope"))
        .await
        .expect("req");
    assert_hs_error(&wrong, StatusCode::UNAUTHORIZED, "INVALID_AUTHENTICATION");
    let ok = hs.get("/crm/v3/objects/contacts").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["results"], json!([]));
}

#[tokio::test]
async fn create_read_update_archive() {
    let hs = Hs::start(quiet()).await;
    let c = hs
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "a@x.io", "firstname": "Ada", "phone": "1"}}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let id = c.body["id"].as_str().expect("id").to_owned();
    assert_eq!(c.body["properties"]["firstname"], "Ada");
    assert_eq!(c.body["properties"]["hs_object_id"], id.as_str());
    assert_eq!(c.body["archived"], false);
    assert!(
        c.body["createdAt"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    assert!(c.body["properties"]["lastmodifieddate"].is_string());

    // default property set, and an explicit one (null when unset)
    let r = hs.get(&format!("/crm/v3/objects/contacts/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["properties"]["email"], "a@x.io");
    assert!(r.body["properties"].get("phone").is_none());
    let r = hs
        .get(&format!(
            "/crm/v3/objects/0-1/{id}?properties=phone,company"
        ))
        .await;
    assert_eq!(r.body["properties"]["phone"], "1");
    assert_eq!(r.body["properties"]["company"], Value::Null);

    // update; empty string clears; numbers are coerced to strings
    tokio::time::sleep(Duration::from_millis(5)).await;
    let u = hs
        .call(
            Method::PATCH,
            &format!("/crm/v3/objects/contacts/{id}"),
            Some(json!({"properties": {"phone": "", "lastname": "Lovelace", "zip": 12345}})),
        )
        .await;
    assert_eq!(u.status, StatusCode::OK, "{}", u.body);
    assert!(u.body["properties"].get("phone").is_none());
    assert_eq!(u.body["properties"]["zip"], "12345");
    assert!(u.body["updatedAt"].as_str() > c.body["updatedAt"].as_str());

    // unknown property, compound value, bad number
    let bad = hs
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"nope": "x"}}),
        )
        .await;
    assert_hs_error(&bad, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    assert!(
        bad.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("PROPERTY_DOESNT_EXIST"))
    );
    assert_eq!(bad.body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
    let bad = hs
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": ["x"]}}),
        )
        .await;
    assert_hs_error(&bad, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let bad = hs
        .post(
            "/crm/v3/objects/deals",
            json!({"properties": {"amount": "ten"}}),
        )
        .await;
    assert_hs_error(&bad, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let bad = hs
        .call(Method::POST, "/crm/v3/objects/contacts", None)
        .await;
    assert_hs_error(&bad, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let bad = hs.get("/crm/v3/objects/widgets").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // archive: gone from reads, visible with archived=true
    let d = hs
        .call(
            Method::DELETE,
            &format!("/crm/v3/objects/contacts/{id}"),
            None,
        )
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    let gone = hs.get(&format!("/crm/v3/objects/contacts/{id}")).await;
    assert_hs_error(&gone, StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND");
    let arch = hs
        .get(&format!("/crm/v3/objects/contacts/{id}?archived=true"))
        .await;
    assert_eq!(arch.status, StatusCode::OK);
    assert_eq!(arch.body["archived"], true);
    let list = hs.get("/crm/v3/objects/contacts?archived=true").await;
    assert_eq!(list.body["results"][0]["id"], id.as_str());
    assert_eq!(
        hs.get("/crm/v3/objects/contacts").await.body["results"],
        json!([])
    );
}

#[tokio::test]
async fn unique_property_upsert_and_id_property() {
    let hs = Hs::start(quiet()).await;
    hs.create_ssot_id("companies").await;
    let again = hs
        .post("/crm/v3/properties/companies", json!({"name": "ssot_id", "label": "x", "type": "string", "fieldType": "text", "groupName": "g"}))
        .await;
    assert_hs_error(&again, StatusCode::CONFLICT, "OBJECT_ALREADY_EXISTS");
    let p = hs.get("/crm/v3/properties/companies/ssot_id").await;
    assert_eq!(p.body["hasUniqueValue"], true);
    assert!(
        hs.get("/crm/v3/properties/companies").await.body["results"]
            .as_array()
            .is_some_and(|a| a.len() > 10)
    );

    let inputs: Vec<Value> = (0..3)
        .map(|i| json!({"id": format!("co-{i}"), "idProperty": "ssot_id", "properties": {"name": format!("Co {i}")}}))
        .collect();
    let first = hs
        .post(
            "/crm/v3/objects/companies/batch/upsert",
            json!({"inputs": inputs}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(
        first.body["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r["new"] == true)
    );
    assert_eq!(first.body["results"][0]["properties"]["ssot_id"], "co-0");
    let inputs: Vec<Value> = (0..3)
        .map(|i| json!({"id": format!("co-{i}"), "idProperty": "ssot_id", "properties": {"name": format!("Co {i} v2")}}))
        .collect();
    let second = hs
        .post(
            "/crm/v3/objects/companies/batch/upsert",
            json!({"inputs": inputs}),
        )
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert!(
        second.body["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r["new"] == false)
    );
    let all = hs.sb.hubspot_records("companies");
    assert_eq!(all.len(), 3, "upsert twice must not duplicate");
    assert!(all.iter().all(|r| {
        r["properties"]["name"]
            .as_str()
            .is_some_and(|n| n.ends_with("v2"))
    }));

    // read by our id
    let r = hs
        .get("/crm/v3/objects/companies/co-1?idProperty=ssot_id&properties=name")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["properties"]["name"], "Co 1 v2");
    let r = hs
        .get("/crm/v3/objects/companies/co-9?idProperty=ssot_id")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let br = hs
        .post("/crm/v3/objects/companies/batch/read", json!({"idProperty": "ssot_id", "properties": ["name"], "inputs": [{"id": "co-0"}, {"id": "co-9"}]}))
        .await;
    assert_eq!(br.status, StatusCode::MULTI_STATUS);
    assert_eq!(br.body["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(br.body["errors"][0]["context"]["ids"], json!(["co-9"]));

    // uniqueness enforced on create, update and inside one batch
    let dup = hs
        .post(
            "/crm/v3/objects/companies",
            json!({"properties": {"ssot_id": "co-0"}}),
        )
        .await;
    assert_hs_error(&dup, StatusCode::CONFLICT, "CONFLICT");
    let other = hs
        .post(
            "/crm/v3/objects/companies",
            json!({"properties": {"ssot_id": "co-7"}}),
        )
        .await;
    let oid = other.body["id"].as_str().expect("id").to_owned();
    let dup = hs
        .call(
            Method::PATCH,
            &format!("/crm/v3/objects/companies/{oid}"),
            Some(json!({"properties": {"ssot_id": "co-2"}})),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let dup = hs
        .post(
            "/crm/v3/objects/companies/batch/create",
            json!({"inputs": [{"properties": {"ssot_id": "z"}}, {"properties": {"ssot_id": "z"}}]}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(
        hs.sb.hubspot_records("companies").len(),
        4,
        "a failed batch writes nothing"
    );
    // upsert on a non-unique property is refused
    let bad = hs
        .post(
            "/crm/v3/objects/companies/batch/upsert",
            json!({"inputs": [{"id": "n", "idProperty": "name", "properties": {}}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // contacts: email is unique
    hs.post(
        "/crm/v3/objects/contacts",
        json!({"properties": {"email": "Same@x.io"}}),
    )
    .await;
    let dup = hs
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "same@x.io"}}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert!(
        dup.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Existing ID"))
    );
}

#[tokio::test]
async fn batch_limits_and_calls() {
    let hs = Hs::start(quiet()).await;
    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({"properties": {"dealname": format!("d{i}")}}))
        .collect();
    for op in ["create", "update", "upsert", "read", "archive"] {
        let r = hs
            .post(
                &format!("/crm/v3/objects/deals/batch/{op}"),
                json!({"inputs": too_many}),
            )
            .await;
        assert_hs_error(&r, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    }
    assert!(hs.sb.hubspot_records("deals").is_empty());
    let hundred: Vec<Value> = (0..100)
        .map(|i| json!({"properties": {"dealname": format!("d{i}"), "amount": "10"}}))
        .collect();
    let c = hs
        .post(
            "/crm/v3/objects/0-3/batch/create",
            json!({"inputs": hundred}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    assert_eq!(c.body["status"], "COMPLETE");
    let ids: Vec<String> = c.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 100);
    let u = hs
        .post(
            "/crm/v3/objects/deals/batch/update",
            json!({"inputs": [{"id": ids[0], "properties": {"amount": "99"}}]}),
        )
        .await;
    assert_eq!(u.status, StatusCode::OK, "{}", u.body);
    assert_eq!(u.body["results"][0]["properties"]["amount"], "99");
    let a = hs
        .post(
            "/crm/v3/objects/deals/batch/archive",
            json!({"inputs": ids[..10].iter().map(|i| json!({"id": i})).collect::<Vec<_>>()}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let live = hs
        .sb
        .hubspot_records("deals")
        .iter()
        .filter(|r| r["archived"] == false)
        .count();
    assert_eq!(live, 90);
}

#[tokio::test]
async fn list_paging_covers_every_record_once() {
    let hs = Hs::start(quiet()).await;
    let inputs: Vec<Value> = (0..25)
        .map(|i| json!({"properties": {"email": format!("p{i}@x.io")}}))
        .collect();
    assert_eq!(
        hs.post(
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": inputs})
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(a) => format!("/crm/v3/objects/contacts?limit=7&after={a}&properties=email"),
            None => "/crm/v3/objects/contacts?limit=7&properties=email".to_owned(),
        };
        let r = hs.get(&path).await;
        assert_eq!(r.status, StatusCode::OK);
        pages += 1;
        for rec in r.body["results"].as_array().expect("results") {
            seen.push(
                rec["properties"]["email"]
                    .as_str()
                    .expect("email")
                    .to_owned(),
            );
        }
        match r.body["paging"]["next"]["after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    let mut expected: Vec<String> = (0..25).map(|i| format!("p{i}@x.io")).collect();
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected);
    // limit above 100 is capped
    let r = hs.get("/crm/v3/objects/contacts?limit=500").await;
    assert_eq!(r.body["results"].as_array().map(Vec::len), Some(25));
}

async fn search(hs: &Hs, t: &str, body: Value) -> Reply {
    hs.post(&format!("/crm/v3/objects/{t}/search"), body).await
}

#[tokio::test]
async fn search_filters_sorts_paging_and_archived() {
    let hs = Hs::start(quiet()).await;
    let inputs: Vec<Value> = (0..30)
        .map(|i| json!({"properties": {"dealname": format!("deal {i:02}"), "amount": (i * 10).to_string(),
                                         "dealstage": if i % 2 == 0 { "closedwon" } else { "closedlost" }}}))
        .collect();
    hs.post(
        "/crm/v3/objects/deals/batch/create",
        json!({"inputs": inputs}),
    )
    .await;
    // AND within a group, numeric comparison, descending sort
    let r = search(&hs, "deals", json!({
        "filterGroups": [{"filters": [{"propertyName": "amount", "operator": "GTE", "value": "100"},
                                       {"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]}],
        "sorts": [{"propertyName": "amount", "direction": "DESCENDING"}],
        "properties": ["amount", "dealname"], "limit": 5,
    })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["total"], 10);
    let amounts: Vec<&str> = r.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|x| x["properties"]["amount"].as_str().expect("amount"))
        .collect();
    assert_eq!(amounts, ["280", "260", "240", "220", "200"]);
    assert_eq!(r.body["paging"]["next"]["after"], "5");
    let r2 = search(&hs, "deals", json!({
        "filterGroups": [{"filters": [{"propertyName": "amount", "operator": "GTE", "value": "100"},
                                       {"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]}],
        "sorts": [{"propertyName": "amount", "direction": "DESCENDING"}], "limit": 5, "after": "5",
    })).await;
    assert_eq!(r2.body["results"].as_array().map(Vec::len), Some(5));
    assert!(r2.body.get("paging").is_none());
    // OR of groups, LT/GT, NEQ, HAS_PROPERTY / NOT_HAS_PROPERTY
    let r = search(
        &hs,
        "deals",
        json!({"filterGroups": [
        {"filters": [{"propertyName": "amount", "operator": "LT", "value": "20"}]},
        {"filters": [{"propertyName": "amount", "operator": "GT", "value": "280"}]}]}),
    )
    .await;
    assert_eq!(r.body["total"], 3);
    let r = search(&hs, "deals", json!({"filterGroups": [{"filters": [{"propertyName": "dealstage", "operator": "NEQ", "value": "closedwon"}]}]})).await;
    assert_eq!(r.body["total"], 15);
    let r = search(&hs, "deals", json!({"filterGroups": [{"filters": [{"propertyName": "closedate", "operator": "NOT_HAS_PROPERTY"}]}]})).await;
    assert_eq!(r.body["total"], 30);
    let r = search(&hs, "deals", json!({"filterGroups": [{"filters": [{"propertyName": "closedate", "operator": "HAS_PROPERTY"}]}]})).await;
    assert_eq!(r.body["total"], 0);
    // limits of the request
    assert_eq!(
        search(&hs, "deals", json!({"limit": 201})).await.status,
        StatusCode::BAD_REQUEST
    );
    let seven: Vec<Value> = (0..7).map(|_| json!({"filters": []})).collect();
    assert_eq!(
        search(&hs, "deals", json!({"filterGroups": seven}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        search(&hs, "deals", json!({"sorts": ["amount"]}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    // high-water mark on hs_lastmodifieddate: archived records leave search
    let all = search(&hs, "deals", json!({"limit": 200, "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]})).await;
    let first_id = all.body["results"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    hs.call(
        Method::DELETE,
        &format!("/crm/v3/objects/deals/{first_id}"),
        None,
    )
    .await;
    let r = search(&hs, "deals", json!({"limit": 200, "filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "0"}]}]})).await;
    assert_eq!(r.body["total"], 29);
    assert!(
        r.body["results"]
            .as_array()
            .expect("r")
            .iter()
            .all(|x| x["id"] != first_id.as_str())
    );
    let arch = hs.get("/crm/v3/objects/deals?archived=true").await;
    assert_eq!(arch.body["results"][0]["id"], first_id.as_str());
}

#[tokio::test]
async fn search_index_lags_writes() {
    // a long lag, crossed by moving the sandbox clock instead of sleeping
    let hs = Hs::start(SandboxConfig {
        search_lag: Duration::from_secs(60),
        ..quiet()
    })
    .await;
    let c = hs
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "lag@x.io", "firstname": "Old"}}),
        )
        .await;
    let id = c.body["id"].as_str().expect("id").to_owned();
    let q = json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "LAG@x.io"}]}], "properties": ["firstname"]});
    assert_eq!(
        search(&hs, "contacts", q.clone()).await.body["total"],
        0,
        "not indexed yet"
    );
    assert_eq!(
        hs.get(&format!("/crm/v3/objects/contacts/{id}"))
            .await
            .status,
        StatusCode::OK,
        "reads are immediate"
    );
    let s = hs
        .admin(
            Method::POST,
            "/settings",
            Some(json!({"advance_clock_ms": 61_000})),
        )
        .await;
    assert_eq!(s.body["clock_offset_ms"], 61_000);
    assert_eq!(search(&hs, "contacts", q.clone()).await.body["total"], 1);
    let u = hs
        .call(
            Method::PATCH,
            &format!("/crm/v3/objects/contacts/{id}"),
            Some(json!({"properties": {"firstname": "New"}})),
        )
        .await;
    let modified = u.body["properties"]["lastmodifieddate"]
        .as_str()
        .expect("modified");
    assert!(
        modified
            > c.body["properties"]["lastmodifieddate"]
                .as_str()
                .expect("created"),
        "the sandbox clock dates writes"
    );
    let r = search(&hs, "contacts", q.clone()).await;
    assert_eq!(
        r.body["results"][0]["properties"]["firstname"], "Old",
        "search still shows the indexed version"
    );
    hs.admin(
        Method::POST,
        "/settings",
        Some(json!({"advance_clock_ms": 61_000})),
    )
    .await;
    assert_eq!(
        search(&hs, "contacts", q.clone()).await.body["results"][0]["properties"]["firstname"],
        "New"
    );
    // the lag can be changed through the admin API (0: search sees writes at once)
    let s = hs
        .admin(Method::POST, "/settings", Some(json!({"search_lag_ms": 0})))
        .await;
    assert_eq!(s.body["search_lag_ms"], 0);
    hs.call(
        Method::PATCH,
        &format!("/crm/v3/objects/contacts/{id}"),
        Some(json!({"properties": {"firstname": "Newer"}})),
    )
    .await;
    assert_eq!(
        search(&hs, "contacts", q).await.body["results"][0]["properties"]["firstname"],
        "Newer"
    );
}

#[tokio::test]
async fn search_stops_at_ten_thousand_results() {
    let hs = Hs::start(quiet()).await;
    let s = hs
        .admin(
            Method::POST,
            "/hubspot/seed",
            Some(json!({"type": "companies", "count": 10_050})),
        )
        .await;
    assert_eq!(s.body["created"], 10_050);
    let r = search(
        &hs,
        "companies",
        json!({"limit": 200, "after": "9800", "properties": ["name"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["total"], 10_050);
    assert_eq!(r.body["results"].as_array().map(Vec::len), Some(200));
    assert_eq!(r.body["paging"]["next"]["after"], "10000");
    let past = search(&hs, "companies", json!({"limit": 10, "after": "10000"})).await;
    assert_hs_error(&past, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    // the list endpoint has no such cap
    let l = hs
        .get("/crm/v3/objects/companies?limit=100&after=10040")
        .await;
    assert!(l.body["results"].as_array().is_some_and(|a| !a.is_empty()));
}

#[tokio::test]
async fn rate_limit_gives_429_with_headers() {
    let hs = Hs::start(SandboxConfig {
        hubspot_rate_limit: Some((5, Duration::from_millis(800))),
        search_rate_limit_per_sec: Some(2),
        ..SandboxConfig::default()
    })
    .await;
    for i in 0..5 {
        let r = hs.get("/crm/v3/objects/contacts").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers["x-hubspot-ratelimit-max"], "5");
        assert_eq!(
            r.headers["x-hubspot-ratelimit-remaining"],
            (4 - i).to_string().as_str()
        );
        assert_eq!(
            r.headers["x-hubspot-ratelimit-interval-milliseconds"],
            "800"
        );
    }
    let r = hs.get("/crm/v3/objects/contacts").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["x-hubspot-ratelimit-remaining"], "0");
    assert_eq!(r.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(r.body["errorType"], "RATE_LIMIT");
    assert_eq!(r.body["status"], "error");
    // search is exempt from that bucket but has its own per-second limit
    assert_eq!(
        search(&hs, "contacts", json!({})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        search(&hs, "contacts", json!({})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        search(&hs, "contacts", json!({})).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // the admin API is never limited; the window rolls
    assert_eq!(
        hs.admin(Method::GET, "/health", None).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(850)).await;
    assert_eq!(
        hs.get("/crm/v3/objects/contacts").await.status,
        StatusCode::OK
    );
    // limits can be lifted at run time
    hs.admin(
        Method::POST,
        "/settings",
        Some(json!({"hubspot_rate_limit": null})),
    )
    .await;
    for _ in 0..10 {
        assert_eq!(hs.get("/crm/v3/owners").await.status, StatusCode::OK);
    }
}

async fn statuses(hs: &Hs, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(hs.get("/crm/v3/objects/contacts").await.status.as_u16());
    }
    out
}

#[tokio::test]
async fn seeded_error_rate_is_reproducible() {
    let hs = Hs::start(quiet()).await;
    let faults = json!({"error_rate": 0.3, "seed": 42});
    hs.admin(Method::POST, "/faults", Some(faults.clone()))
        .await;
    let a = statuses(&hs, 40).await;
    hs.admin(Method::POST, "/faults", Some(faults)).await;
    let b = statuses(&hs, 40).await;
    assert_eq!(a, b, "same seed, same faults");
    let errors = a.iter().filter(|s| **s >= 500).count();
    assert!((4..=24).contains(&errors), "{errors} errors of 40");
    assert!(
        a.iter()
            .all(|s| *s == 200 || [500, 502, 503, 504].contains(s))
    );
    // an injected 5xx carries HubSpot's error body
    hs.sb.set_faults(FaultConfig {
        fail_next: 1,
        fail_status: Some(502),
        ..FaultConfig::default()
    });
    let r = hs.get("/crm/v3/objects/contacts").await;
    assert_hs_error(&r, StatusCode::BAD_GATEWAY, "INTERNAL_ERROR");
}

#[tokio::test]
async fn fail_next_storm_latency_and_drop() {
    let hs = Hs::start(quiet()).await;
    // fail the next N with a chosen status; writes are not applied
    hs.admin(
        Method::POST,
        "/faults",
        Some(json!({"fail_next": 2, "fail_status": 503})),
    )
    .await;
    let r = hs
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "f@x.io"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        hs.get("/crm/v3/objects/contacts").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        hs.get("/crm/v3/objects/contacts").await.status,
        StatusCode::OK
    );
    assert!(hs.sb.hubspot_records("contacts").is_empty());
    assert_eq!(
        hs.admin(Method::GET, "/faults", None).await.body["fail_next"],
        0
    );

    // 429 storm: next N, then a time span
    hs.admin(Method::POST, "/faults", Some(json!({"storm_next": 3})))
        .await;
    let s = statuses(&hs, 4).await;
    assert_eq!(s, [429, 429, 429, 200]);
    hs.admin(Method::POST, "/faults", Some(json!({"storm_ms": 300})))
        .await;
    let r = hs.get("/crm/v3/objects/contacts").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(
        hs.admin(Method::GET, "/health", None).await.status,
        StatusCode::OK,
        "admin never faulted"
    );
    tokio::time::sleep(Duration::from_millis(320)).await;
    assert_eq!(
        hs.get("/crm/v3/objects/contacts").await.status,
        StatusCode::OK
    );

    // latency
    hs.admin(Method::POST, "/faults", Some(json!({"latency_ms": 250})))
        .await;
    let t0 = Instant::now();
    assert_eq!(
        hs.get("/crm/v3/objects/contacts").await.status,
        StatusCode::OK
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t0.elapsed()
    );

    // dropped connection: a transport error, not an HTTP status; the write is not applied
    hs.admin(Method::POST, "/faults", Some(json!({"drop_next": 1})))
        .await;
    let err = hs
        .send(
            Method::POST,
            "/crm/v3/objects/contacts",
            Some(json!({"properties": {"email": "d@x.io"}})),
            Some(DEFAULT_HUBSPOT_TOKEN),
        )
        .await
        .expect_err("dropped connection must be an error");
    assert!(!err.is_status() && err.status().is_none(), "{err:?}");
    assert!(hs.sb.hubspot_records("contacts").is_empty());
    assert_eq!(
        hs.get("/crm/v3/objects/contacts").await.status,
        StatusCode::OK,
        "next request is served"
    );

    // drop after handling: the client sees an error but the write happened (crash-safety tests)
    hs.sb.set_faults(FaultConfig {
        drop_next: 1,
        drop_after_handling: true,
        ..FaultConfig::default()
    });
    let res = hs
        .send(
            Method::POST,
            "/crm/v3/objects/contacts",
            Some(json!({"properties": {"email": "late@x.io"}})),
            Some(DEFAULT_HUBSPOT_TOKEN),
        )
        .await;
    assert!(res.is_err());
    assert_eq!(hs.sb.hubspot_records("contacts").len(), 1);
}

#[tokio::test]
async fn request_counters_by_endpoint() {
    let hs = Hs::start(quiet()).await;
    hs.create_ssot_id("contacts").await;
    for _ in 0..3 {
        hs.post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [{"id": "c1", "idProperty": "ssot_id", "properties": {}}]}),
        )
        .await;
    }
    hs.get("/crm/v3/objects/contacts/1").await;
    hs.send(Method::GET, "/crm/v3/objects/contacts", None, None)
        .await
        .expect("req");
    let c = hs.admin(Method::GET, "/requests", None).await.body;
    assert_eq!(
        c["by_endpoint"]["POST /crm/v3/objects/{type}/batch/upsert"],
        3
    );
    assert_eq!(c["by_endpoint"]["POST /crm/v3/properties/{type}"], 1);
    assert_eq!(c["by_endpoint"]["GET /crm/v3/objects/{type}/{id}"], 1);
    assert_eq!(
        c["by_endpoint"]["GET /crm/v3/objects/{type}"], 1,
        "unauthorised calls count too"
    );
    assert_eq!(c["total"], 6);
    assert_eq!(hs.sb.request_counts().total, 6);
    hs.admin(Method::POST, "/requests/reset", None).await;
    assert_eq!(
        hs.admin(Method::GET, "/requests", None).await.body["total"],
        0
    );
    // full reset: records gone, seeded properties back
    hs.admin(Method::POST, "/reset", None).await;
    assert!(hs.sb.hubspot_records("contacts").is_empty());
    assert_eq!(
        hs.get("/crm/v3/properties/contacts/ssot_id").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn associations_and_owners() {
    let hs = Hs::start(quiet()).await;
    let co = hs
        .post(
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "Acme"}}),
        )
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let ct = hs
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "a@acme.io"}}),
        )
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = hs
        .call(
            Method::PUT,
            &format!("/crm/v4/objects/contacts/{ct}/associations/default/companies/{co}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["results"][0]["associationSpec"]["associationTypeId"],
        279
    );
    let l = hs
        .get(&format!(
            "/crm/v4/objects/companies/{co}/associations/contacts"
        ))
        .await;
    assert_eq!(
        l.body["results"][0]["toObjectId"]
            .as_u64()
            .map(|i| i.to_string()),
        Some(ct.clone())
    );
    let v3 = hs
        .get(&format!(
            "/crm/v3/objects/contacts/{ct}?associations=companies"
        ))
        .await;
    assert_eq!(
        v3.body["associations"]["companies"]["results"][0]["id"],
        co.as_str()
    );
    // create with associations, batch associate, missing objects
    let deal = hs
        .post("/crm/v3/objects/deals", json!({"properties": {"dealname": "Big"},
            "associations": [{"to": {"id": co}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}]}]}))
        .await;
    assert_eq!(deal.status, StatusCode::CREATED, "{}", deal.body);
    let did = deal.body["id"].as_str().expect("id").to_owned();
    let l = hs
        .get(&format!(
            "/crm/v4/objects/deals/{did}/associations/companies"
        ))
        .await;
    assert_eq!(l.body["results"].as_array().map(Vec::len), Some(1));
    let b = hs
        .post(
            "/crm/v4/associations/deals/contacts/batch/associate/default",
            json!({"inputs": [{"from": {"id": did}, "to": {"id": ct}}]}),
        )
        .await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.body);
    let l = hs
        .get(&format!("/crm/v4/objects/contacts/{ct}/associations/deals"))
        .await;
    assert_eq!(l.body["results"].as_array().map(Vec::len), Some(1));
    let m = hs
        .call(
            Method::PUT,
            &format!("/crm/v4/objects/contacts/{ct}/associations/default/companies/999999"),
            None,
        )
        .await;
    assert_eq!(m.status, StatusCode::NOT_FOUND);
    // owners, paged and by email
    let o = hs.get("/crm/v3/owners?limit=2").await;
    assert_eq!(o.body["results"].as_array().map(Vec::len), Some(2));
    let next = o.body["paging"]["next"]["after"]
        .as_str()
        .expect("after")
        .to_owned();
    let o2 = hs
        .get(&format!("/crm/v3/owners?limit=2&after={next}"))
        .await;
    assert_eq!(o2.body["results"].as_array().map(Vec::len), Some(1));
    let by = hs.get("/crm/v3/owners?email=grace@example.com").await;
    assert_eq!(by.body["results"][0]["firstName"], "Grace");
}

#[tokio::test]
async fn state_persists_between_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sandbox.json");
    let cfg = SandboxConfig {
        state_file: Some(file.clone()),
        ..quiet()
    };
    let hs = Hs::start(cfg.clone()).await;
    hs.create_ssot_id("deals").await;
    let r = hs.post("/crm/v3/objects/deals/batch/upsert", json!({"inputs": [{"id": "p-1", "idProperty": "ssot_id", "properties": {"dealname": "Kept"}}]})).await;
    assert_eq!(r.status, StatusCode::OK);
    let id = r.body["results"][0]["id"].as_str().expect("id").to_owned();
    hs.sb.shutdown().await;
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).expect("state file written"))
        .expect("valid JSON");
    assert!(
        saved["hubspot"]["objects"]["deals"]
            .as_object()
            .is_some_and(|m| m.len() == 1)
    );

    let hs = Hs::start(cfg).await;
    let r = hs
        .get("/crm/v3/objects/deals/p-1?idProperty=ssot_id&properties=dealname")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["properties"]["dealname"], "Kept");
    let again = hs.post("/crm/v3/objects/deals/batch/upsert", json!({"inputs": [{"id": "p-1", "idProperty": "ssot_id", "properties": {"dealname": "Kept 2"}}]})).await;
    assert_eq!(again.body["results"][0]["new"], false);
    // new ids continue after the loaded ones
    let n = hs
        .post(
            "/crm/v3/objects/deals",
            json!({"properties": {"dealname": "Next"}}),
        )
        .await;
    assert!(n.body["id"].as_str().and_then(|s| s.parse::<u64>().ok()) > id.parse::<u64>().ok());
    hs.sb.shutdown().await;
}

#[tokio::test]
async fn state_is_saved_after_changes_without_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("nested-ok.json");
    let hs = Hs::start(SandboxConfig {
        state_file: Some(file.clone()),
        ..quiet()
    })
    .await;
    hs.post(
        "/crm/v3/objects/companies",
        json!({"properties": {"name": "Saved"}}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let saved = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        if saved.is_some_and(|v| {
            v["hubspot"]["objects"]["companies"]
                .as_object()
                .is_some_and(|m| m.len() == 1)
        }) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "state file not written within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // a corrupt state file is reported, not silently replaced
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{not json").expect("write");
    let err = Sandbox::start(
        "127.0.0.1:0".parse().expect("addr"),
        SandboxConfig {
            state_file: Some(bad),
            ..quiet()
        },
    )
    .await
    .expect_err("corrupt state must fail");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

#[tokio::test]
async fn hostile_input_gets_4xx_never_a_panic() {
    let hs = Hs::start(quiet()).await;
    let posts = [
        (
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": "x"}),
        ),
        (
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [1, 2]}),
        ),
        (
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [{"id": {"a": 1}}]}),
        ),
        ("/crm/v3/objects/contacts/batch/read", json!({})),
        (
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": [{"filters": [{"operator": "EQ"}]}]}),
        ),
        (
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "NOPE", "value": "x"}]}]}),
        ),
        ("/crm/v3/objects/contacts/search", json!({"limit": -5})),
        ("/crm/v3/objects/contacts/search", json!({"after": "-1"})),
        (
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": "x"}),
        ),
        ("/crm/v3/objects/contacts", json!({"properties": "x"})),
        (
            "/crm/v3/objects/contacts",
            json!({"associations": [{"to": {"id": "1"}, "types": [{"associationTypeId": 99999}]}]}),
        ),
        (
            "/crm/v3/properties/contacts",
            json!({"name": "Bad Name", "label": "x", "type": "string", "fieldType": "text", "groupName": "g"}),
        ),
        ("/crm/v3/properties/contacts", json!({"name": "x"})),
        (
            "/crm/v4/associations/contacts/companies/batch/associate/default",
            json!({"inputs": [{}]}),
        ),
    ];
    for (path, body) in posts {
        let r = hs.post(path, body.clone()).await;
        assert!(
            r.status.is_client_error(),
            "{path} {body} -> {} {}",
            r.status,
            r.body
        );
        assert_eq!(r.body["status"], "error", "{path} {body}");
    }
    for path in [
        "/crm/v3/owners?after=18446744073709551615",
        "/crm/v3/owners?limit=abc",
        "/crm/v3/objects/contacts?after=zz",
        "/crm/v3/objects/contacts/99999999999999999999999",
        "/crm/v4/objects/contacts/x/associations/companies",
        "/crm/v3/objects/contacts/1?associations=widgets",
    ] {
        let r = hs.get(path).await;
        assert!(
            r.status.is_client_error() || r.status == StatusCode::OK,
            "{path} -> {}",
            r.status
        );
    }
    let raw = hs
        .client
        .post(format!("{}/crm/v3/objects/contacts", hs.base))
        .bearer_auth(DEFAULT_HUBSPOT_TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("req");
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let bad = hs
        .admin(Method::POST, "/faults", Some(json!({"error_rate": 2.0})))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = hs
        .admin(Method::POST, "/faults", Some(json!({"unknown": 1})))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let huge = hs.admin(Method::POST, "/faults", Some(json!({"storm_ms": u64::MAX, "latency_jitter_ms": u64::MAX, "path_prefix": "/nothing"}))).await;
    assert_eq!(huge.status, StatusCode::OK);
    let s = hs
        .admin(
            Method::POST,
            "/settings",
            Some(json!({"clock_offset_ms": i64::MAX, "search_lag_ms": i64::MAX})),
        )
        .await;
    assert_eq!(s.status, StatusCode::OK);
    assert_eq!(
        hs.post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "z@x.io"}})
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(
        search(&hs, "contacts", json!({})).await.status,
        StatusCode::OK
    );
}
