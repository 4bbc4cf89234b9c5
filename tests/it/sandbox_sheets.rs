//! Integration tests of the sandbox's Google Sheets emulator over real HTTP: spreadsheets.get,
//! values get / batchGet / update / batchUpdate / append / clear with A1 ranges (quoted and
//! hostile tab titles, open ranges), render and input options (`USER_ENTERED` parsing, `RAW`
//! keeping formulas as text), ragged rows, spreadsheets.batchUpdate (all or nothing), Google's
//! errors, access (401, 403, scopes), the quotas (429), faults, counters, and the admin paths
//! acting as a person in the browser (set a cell, insert / delete rows and columns, sort).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ssot_vault::connectors::google::SHEETS_SCOPE;
use ssot_vault::sandbox::sheets::{PRIVATE_SPREADSHEET_ID, SEED_SPREADSHEET_ID, SheetsQuota};
use ssot_vault::sandbox::{FaultConfig, Sandbox, SandboxConfig, google};

struct Sh {
    sb: Sandbox,
    client: reqwest::Client,
    token: String,
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    body: Value,
}

/// A range as a path segment: everything but letters and digits percent-encoded.
fn enc(range: &str) -> String {
    range
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Sh {
    async fn start(cfg: SandboxConfig) -> Sh {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg)
            .await
            .expect("start sandbox");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let mut sh = Sh {
            sb,
            client,
            token: String::new(),
        };
        sh.token = sh.sign_in(&[SHEETS_SCOPE]).await;
        sh
    }

    async fn new() -> Sh {
        let mut cfg = SandboxConfig::default();
        cfg.sheets.quota = None;
        Self::start(cfg).await
    }

    async fn sign_in(&self, scopes: &[&str]) -> String {
        crate::sandbox_google::sign_in(&self.client, &self.sb, scopes).await
    }

    async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let mut req = self
            .client
            .request(
                method,
                format!("{}/v4/spreadsheets/{path}", self.sb.base_url()),
            )
            .bearer_auth(token)
            .query(query);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status();
        let text = r.text().await.expect("body");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        self.call_as(&self.token, method, path, query, body).await
    }

    /// `values.get` of a range of the seeded spreadsheet.
    async fn get(&self, range: &str, query: &[(&str, &str)]) -> Reply {
        let path = format!("{SEED_SPREADSHEET_ID}/values/{}", enc(range));
        self.call(Method::GET, &path, query, None).await
    }

    /// The rows of a range, unformatted.
    async fn rows(&self, range: &str) -> Value {
        let r = self
            .get(range, &[("valueRenderOption", "UNFORMATTED_VALUE")])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{range}: {}", r.body);
        r.body.get("values").cloned().unwrap_or_else(|| json!([]))
    }

    async fn put(&self, range: &str, input: &str, values: Value) -> Reply {
        let path = format!("{SEED_SPREADSHEET_ID}/values/{}", enc(range));
        self.call(
            Method::PUT,
            &path,
            &[("valueInputOption", input)],
            Some(json!({ "values": values })),
        )
        .await
    }

    async fn batch(&self, requests: Value) -> Reply {
        let path = format!("{SEED_SPREADSHEET_ID}:batchUpdate");
        self.call(
            Method::POST,
            &path,
            &[],
            Some(json!({ "requests": requests })),
        )
        .await
    }

    async fn admin(&self, action: &str, body: Value) -> Reply {
        let r = self
            .client
            .post(format!(
                "{}/__sandbox/sheets/{SEED_SPREADSHEET_ID}/{action}",
                self.sb.base_url()
            ))
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

    async fn sheet_id(&self, title: &str) -> i64 {
        let r = self.call(Method::GET, SEED_SPREADSHEET_ID, &[], None).await;
        r.body["sheets"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["properties"]["title"] == title))
            .and_then(|s| s["properties"]["sheetId"].as_i64())
            .expect("sheet id")
    }
}

fn google_error(r: &Reply, code: u16, status: &str) {
    assert_eq!(r.status.as_u16(), code, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert_eq!(r.body["error"]["status"], status, "{}", r.body);
    assert!(r.body["error"]["message"].is_string(), "{}", r.body);
}

#[tokio::test]
async fn spreadsheets_get_lists_the_tabs_and_access_is_checked() {
    let sh = Sh::new().await;
    let r = sh
        .call(
            Method::GET,
            SEED_SPREADSHEET_ID,
            &[("fields", "sheets.properties")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["spreadsheetId"], SEED_SPREADSHEET_ID);
    let tabs: Vec<&str> = r.body["sheets"]
        .as_array()
        .expect("sheets")
        .iter()
        .map(|s| s["properties"]["title"].as_str().expect("title"))
        .collect();
    assert_eq!(tabs, ["Clients", "Experts", "Projects"]);
    let p = &r.body["sheets"][1]["properties"];
    assert_eq!(p["index"], 1);
    assert_eq!(p["sheetType"], "GRID");
    assert_eq!(
        p["gridProperties"],
        json!({"rowCount": 1000, "columnCount": 26})
    );
    assert_eq!(
        sh.rows("Clients!1:1").await,
        json!([["ssot_id", "name", "email", "phone", "company", "status"]])
    );
    let missing = sh.call(Method::GET, "no-such-id", &[], None).await;
    google_error(&missing, 404, "NOT_FOUND");
    let private = sh
        .call(Method::GET, PRIVATE_SPREADSHEET_ID, &[], None)
        .await;
    google_error(&private, 403, "PERMISSION_DENIED");
    let anon = sh
        .call_as("", Method::GET, SEED_SPREADSHEET_ID, &[], None)
        .await;
    google_error(&anon, 401, "UNAUTHENTICATED");
    // A token without a Sheets or Drive scope reads nothing; a read-only one cannot write.
    let forms = sh
        .sign_in(&["https://www.googleapis.com/auth/forms.responses.readonly"])
        .await;
    let r = sh
        .call_as(&forms, Method::GET, SEED_SPREADSHEET_ID, &[], None)
        .await;
    google_error(&r, 403, "PERMISSION_DENIED");
    let ro = sh
        .sign_in(&["https://www.googleapis.com/auth/spreadsheets.readonly"])
        .await;
    let path = format!("{SEED_SPREADSHEET_ID}/values/{}", enc("Clients!A2"));
    let r = sh.call_as(&ro, Method::GET, &path, &[], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = sh
        .call_as(
            &ro,
            Method::PUT,
            &path,
            &[("valueInputOption", "RAW")],
            Some(json!({"values": [["x"]]})),
        )
        .await;
    google_error(&r, 403, "PERMISSION_DENIED");
    // Sharing the spreadsheet through the admin path opens it.
    let share = sh
        .sb
        .state()
        .read_sheets(|d| d.spreadsheets.contains_key(PRIVATE_SPREADSHEET_ID));
    assert!(share);
    ssot_vault::sandbox::sheets::admin_share(
        sh.sb.state(),
        PRIVATE_SPREADSHEET_ID,
        google::SANDBOX_CLIENT_EMAIL,
        true,
    )
    .expect("share");
    let r = sh
        .call(Method::GET, PRIVATE_SPREADSHEET_ID, &[], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn values_are_typed_raw_or_as_a_person_would_and_read_back_per_render_option() {
    let sh = Sh::new().await;
    let r = sh
        .put(
            "Clients!A2:F2",
            "RAW",
            json!([["c1", "=1+1", "42", 42, true, "2024-03-05"]]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"spreadsheetId": SEED_SPREADSHEET_ID, "updatedRange": "Clients!A2:F2",
               "updatedRows": 1, "updatedColumns": 6, "updatedCells": 6})
    );
    assert_eq!(
        sh.rows("Clients!A2:F2").await,
        json!([["c1", "=1+1", "42", 42, true, "2024-03-05"]]),
        "RAW keeps text as text, formulas included"
    );
    let r = sh
        .put(
            "Clients!A3:H3",
            "USER_ENTERED",
            json!([[
                "c2",
                "=1+1",
                "42",
                "3.5",
                "TRUE",
                "2024-03-05",
                "'007",
                "15%"
            ]]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        sh.rows("Clients!A3:H3").await,
        json!([["c2", "=1+1", 42, 3.5, true, 45356, "007", 0.15]])
    );
    let formatted = sh.get("Clients!A3:H3", &[]).await;
    assert_eq!(
        formatted.body["values"],
        json!([[
            "c2",
            "=1+1",
            "42",
            "3.5",
            "TRUE",
            "2024-03-05",
            "007",
            "0.15"
        ]])
    );
    let dates = sh
        .get(
            "Clients!F3",
            &[
                ("valueRenderOption", "UNFORMATTED_VALUE"),
                ("dateTimeRenderOption", "FORMATTED_STRING"),
            ],
        )
        .await;
    assert_eq!(dates.body["values"], json!([["2024-03-05"]]));
    assert_eq!(dates.body["range"], "Clients!F3");
    let formula = sh
        .get("Clients!B3", &[("valueRenderOption", "FORMULA")])
        .await;
    assert_eq!(formula.body["values"], json!([["=1+1"]]));
    let cols = sh
        .get("Clients!A2:B3", &[("majorDimension", "COLUMNS")])
        .await;
    assert_eq!(cols.body["values"], json!([["c1", "c2"], ["=1+1", "=1+1"]]));
    // Null leaves a cell as it is; "" clears it.
    let r = sh
        .put("Clients!A2:C2", "RAW", json!([[null, "", "kept?"]]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        sh.rows("Clients!A2:D2").await,
        json!([["c1", "", "kept?", 42]])
    );
    // Missing or unknown options, values outside the range, outside the grid.
    let r = sh
        .call(
            Method::PUT,
            &format!("{SEED_SPREADSHEET_ID}/values/{}", enc("Clients!A2")),
            &[],
            Some(json!({"values": [["x"]]})),
        )
        .await;
    google_error(&r, 400, "INVALID_ARGUMENT");
    google_error(
        &sh.get("Clients!A1", &[("valueRenderOption", "PRETTY")])
            .await,
        400,
        "INVALID_ARGUMENT",
    );
    let r = sh
        .put("Clients!A2:B2", "RAW", json!([["a", "b", "c"]]))
        .await;
    google_error(&r, 400, "INVALID_ARGUMENT");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("tried writing to column [C]"))
    );
    let r = sh.put("Clients!A1001", "RAW", json!([["a"]])).await;
    google_error(&r, 400, "INVALID_ARGUMENT");
    let r = sh.put("Clients!Z5", "RAW", json!([["a", "b"]])).await;
    google_error(&r, 400, "INVALID_ARGUMENT");
    let r = sh.put("Clients!A5", "RAW", json!([[{"x": 1}]])).await;
    google_error(&r, 400, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn reads_drop_trailing_empties_and_keep_rows_ragged() {
    let sh = Sh::new().await;
    let path = format!("{SEED_SPREADSHEET_ID}/values:batchUpdate");
    let r = sh
        .call(
            Method::POST,
            &path,
            &[],
            Some(json!({"valueInputOption": "RAW", "data": [
                {"range": "Clients!A2", "values": [["a", "b", "c"]]},
                {"range": "Clients!A3", "values": [["d"]]},
                {"range": "Clients!C5", "values": [["e"]]},
            ]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalUpdatedCells"], 5);
    assert_eq!(r.body["totalUpdatedSheets"], 1);
    assert_eq!(r.body["responses"][2]["updatedRange"], "Clients!C5");
    let r = sh.get("Clients!A2:Z", &[]).await;
    assert_eq!(r.body["range"], "Clients!A2:Z1000");
    assert_eq!(r.body["majorDimension"], "ROWS");
    assert_eq!(
        r.body["values"],
        json!([["a", "b", "c"], ["d"], [], ["", "", "e"]])
    );
    // The whole tab, a column range, and an empty range (no `values` at all).
    assert_eq!(sh.rows("Clients").await.as_array().map(Vec::len), Some(5));
    assert_eq!(
        sh.rows("Clients!C:C").await,
        json!([["email"], ["c"], [], [], ["e"]])
    );
    let empty = sh.get("Clients!H10:J20", &[]).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body.get("values"), None, "{}", empty.body);
    // batchGet: one call, every tab.
    let path = format!("{SEED_SPREADSHEET_ID}/values:batchGet");
    let r = sh
        .call(
            Method::GET,
            &path,
            &[
                ("ranges", "Clients!A:Z"),
                ("ranges", "Experts!A:Z"),
                ("ranges", "'Projects'!A1:B1"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let vr = r.body["valueRanges"].as_array().expect("valueRanges");
    assert_eq!(vr.len(), 3);
    assert_eq!(vr[0]["range"], "Clients!A1:Z1000");
    assert_eq!(vr[1]["values"][0][0], "ssot_id");
    assert_eq!(vr[2]["values"], json!([["ssot_id", "title"]]));
    // A values batchUpdate is all or nothing: a bad range leaves the good one unwritten.
    let path = format!("{SEED_SPREADSHEET_ID}/values:batchUpdate");
    let r = sh
        .call(
            Method::POST,
            &path,
            &[],
            Some(json!({"valueInputOption": "RAW", "data": [
                {"range": "Clients!A9", "values": [["written?"]]},
                {"range": "Nope!A1", "values": [["x"]]},
            ]})),
        )
        .await;
    google_error(&r, 400, "INVALID_ARGUMENT");
    assert_eq!(sh.rows("Clients!A9").await, json!([]));
}

#[tokio::test]
async fn a1_ranges_with_hostile_titles_and_bad_ranges() {
    let sh = Sh::new().await;
    let titles = [
        "Client list",
        "It's: a/b!c",
        "A1",
        "Zażółć 😀",
        "'quoted'",
        "100%?#&",
    ];
    let requests: Vec<Value> = titles
        .iter()
        .map(|t| json!({"addSheet": {"properties": {"title": t}}}))
        .collect();
    let r = sh.batch(json!(requests)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for t in titles {
        let quoted = format!("'{}'", t.replace('\'', "''"));
        let range = format!("{quoted}!A1:B2");
        let r = sh.put(&range, "RAW", json!([[t, "x"], ["y"]])).await;
        assert_eq!(r.status, StatusCode::OK, "{t}: {}", r.body);
        assert_eq!(r.body["updatedRange"], format!("{quoted}!A1:B2"), "{t}");
        let r = sh.get(&format!("{quoted}!A:B"), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{t}: {}", r.body);
        assert_eq!(r.body["values"], json!([[t, "x"], ["y"]]), "{t}");
        assert_eq!(r.body["range"], format!("{quoted}!A1:B1000"));
        // The whole tab by its title alone.
        assert_eq!(sh.rows(&quoted).await, json!([[t, "x"], ["y"]]), "{t}");
    }
    // A range without a tab is on the first tab.
    assert_eq!(sh.rows("A1:B1").await, json!([["ssot_id", "name"]]));
    for bad in [
        "Nope!A1",
        "Clients!A0",
        "'Clients",
        "Clients!A1:B2:C3",
        "Clients!",
        "'Client list'x",
        "Clients!AAAA1",
        "Clients!A1001",
    ] {
        let r = sh.get(bad, &[]).await;
        google_error(&r, 400, "INVALID_ARGUMENT");
    }
    let r = sh.get("Nope!A1", &[]).await;
    assert_eq!(r.body["error"]["message"], "Unable to parse range: Nope!A1");
}

#[tokio::test]
async fn append_finds_the_table_and_clear_empties_a_range() {
    let sh = Sh::new().await;
    let append = |range: &str, option: &str, values: Value| {
        let path = format!("{SEED_SPREADSHEET_ID}/values/{}:append", enc(range));
        let option = option.to_owned();
        let sh = &sh;
        async move {
            sh.call(
                Method::POST,
                &path,
                &[
                    ("valueInputOption", "USER_ENTERED"),
                    ("insertDataOption", option.as_str()),
                ],
                Some(json!({ "values": values })),
            )
            .await
        }
    };
    let r = append("Clients!A:F", "OVERWRITE", json!([["c1", "Ann"]])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["tableRange"], "Clients!A1:F1");
    assert_eq!(r.body["updates"]["updatedRange"], "Clients!A2:B2");
    let r = append(
        "Clients!A:F",
        "OVERWRITE",
        json!([["c2", "Bob"], ["c3", "Cy"]]),
    )
    .await;
    assert_eq!(r.body["updates"]["updatedRange"], "Clients!A3:B4");
    assert_eq!(r.body["updates"]["updatedRows"], 2);
    assert_eq!(
        sh.rows("Clients!A2:B").await,
        json!([["c1", "Ann"], ["c2", "Bob"], ["c3", "Cy"]])
    );
    // INSERT_ROWS makes room: the grid grows by the rows appended.
    let r = append("Clients", "INSERT_ROWS", json!([["c4", "Di"]])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["updates"]["updatedRange"], "Clients!A5:B5");
    let meta = sh.call(Method::GET, SEED_SPREADSHEET_ID, &[], None).await;
    assert_eq!(
        meta.body["sheets"][0]["properties"]["gridProperties"]["rowCount"],
        1001
    );
    let r = append("Clients!A:F", "SIDEWAYS", json!([["x"]])).await;
    google_error(&r, 400, "INVALID_ARGUMENT");
    let path = format!(
        "{SEED_SPREADSHEET_ID}/values/{}:clear",
        enc("Clients!A3:F4")
    );
    let r = sh.call(Method::POST, &path, &[], Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["clearedRange"], "Clients!A3:F4");
    assert_eq!(
        sh.rows("Clients!A2:B").await,
        json!([["c1", "Ann"], [], [], ["c4", "Di"]])
    );
    let path = format!("{SEED_SPREADSHEET_ID}/values:batchClear");
    let r = sh
        .call(
            Method::POST,
            &path,
            &[],
            Some(json!({"ranges": ["Clients!A2:B2", "Clients!A5:B5"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(sh.rows("Clients!A2:B").await, json!([]));
}

#[tokio::test]
async fn batch_update_changes_structure_all_or_nothing() {
    let sh = Sh::new().await;
    sh.put(
        "Clients!A2:B3",
        "RAW",
        json!([["c1", "Ann"], ["c2", "Bob"]]),
    )
    .await;
    let clients = sh.sheet_id("Clients").await;
    let r = sh
        .batch(json!([
            {"addSheet": {"properties": {"title": "Archive", "gridProperties": {"rowCount": 10, "columnCount": 3}}}},
            {"insertDimension": {"range": {"sheetId": clients, "dimension": "ROWS", "startIndex": 1, "endIndex": 3}}},
            {"deleteDimension": {"range": {"sheetId": clients, "dimension": "COLUMNS", "startIndex": 2, "endIndex": 3}}},
            {"updateCells": {"start": {"sheetId": clients, "rowIndex": 1, "columnIndex": 0},
                "rows": [{"values": [{"userEnteredValue": {"stringValue": "new"}}, {"userEnteredValue": {"numberValue": 7}}]}],
                "fields": "userEnteredValue"}},
        ]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let replies = r.body["replies"].as_array().expect("replies");
    assert_eq!(replies.len(), 4);
    assert_eq!(replies[0]["addSheet"]["properties"]["title"], "Archive");
    assert_eq!(
        replies[0]["addSheet"]["properties"]["gridProperties"],
        json!({"rowCount": 10, "columnCount": 3})
    );
    assert_eq!(replies[1], json!({}));
    assert_eq!(
        sh.rows("Clients!A1:C5").await,
        json!([
            ["ssot_id", "name", "phone"],
            ["new", 7],
            [],
            ["c1", "Ann"],
            ["c2", "Bob"]
        ])
    );
    let meta = sh.call(Method::GET, SEED_SPREADSHEET_ID, &[], None).await;
    assert_eq!(
        meta.body["sheets"][0]["properties"]["gridProperties"],
        json!({"rowCount": 1002, "columnCount": 25})
    );
    assert_eq!(meta.body["sheets"][3]["properties"]["title"], "Archive");
    // One bad request refuses the batch: the good ones before it leave no trace.
    for bad in [
        json!({"deleteDimension": {"range": {"sheetId": 999, "dimension": "ROWS", "startIndex": 0, "endIndex": 1}}}),
        json!({"addSheet": {"properties": {"title": "clients"}}}),
        json!({"deleteDimension": {"range": {"sheetId": clients, "dimension": "ROWS", "startIndex": 0, "endIndex": 5000}}}),
        json!({"updateCells": {"start": {"sheetId": clients, "rowIndex": 0, "columnIndex": 24},
            "rows": [{"values": [{"userEnteredValue": {"stringValue": "a"}}, {"userEnteredValue": {"stringValue": "b"}}]}],
            "fields": "userEnteredValue"}}),
        json!({"mergeCells": {}}),
    ] {
        let r = sh
            .batch(json!([
                {"insertDimension": {"range": {"sheetId": clients, "dimension": "ROWS", "startIndex": 0, "endIndex": 5}}},
                {"addSheet": {"properties": {"title": "Half done"}}},
                bad,
            ]))
            .await;
        google_error(&r, 400, "INVALID_ARGUMENT");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("requests[2]")),
            "{}",
            r.body
        );
    }
    let after = sh.call(Method::GET, SEED_SPREADSHEET_ID, &[], None).await;
    assert_eq!(after.body["sheets"], meta.body["sheets"]);
    assert_eq!(
        sh.rows("Clients!A1:A2").await,
        json!([["ssot_id"], ["new"]])
    );
    google_error(&sh.batch(json!([])).await, 400, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn quotas_answer_429_per_user_and_per_project() {
    let mut cfg = SandboxConfig::default();
    cfg.sheets.quota = Some(SheetsQuota {
        per_user: 3,
        per_project: 5,
        window: Duration::from_secs(60),
    });
    let sh = Sh::start(cfg).await;
    for _ in 0..3 {
        assert_eq!(sh.get("Clients!A1", &[]).await.status, StatusCode::OK);
    }
    let r = sh.get("Clients!A1", &[]).await;
    google_error(&r, 429, "RESOURCE_EXHAUSTED");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Read requests per minute per user")),
        "{}",
        r.body
    );
    // Writes have their own quota.
    let r = sh.put("Clients!A2", "RAW", json!([["x"]])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let counts = sh.sb.request_counts();
    assert_eq!(
        counts
            .rate_limited
            .get("GET /v4/spreadsheets/{id}/values/{range}"),
        Some(&1),
        "{counts:?}"
    );
    // The project's quota, lower than the user's here.
    let r = sh
        .client
        .post(format!("{}/__sandbox/sheets/settings", sh.sb.base_url()))
        .json(&json!({"quota": {"per_user": 100, "per_project": 2, "window_ms": 60000}}))
        .send()
        .await
        .expect("settings");
    assert!(r.status().is_success());
    for _ in 0..2 {
        assert_eq!(sh.get("Clients!A1", &[]).await.status, StatusCode::OK);
    }
    let r = sh.get("Clients!A1", &[]).await;
    google_error(&r, 429, "RESOURCE_EXHAUSTED");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("'Read requests per minute'")),
        "{}",
        r.body
    );
    // No limits.
    sh.sb.state().sheets().set_quota(None);
    for _ in 0..70 {
        assert_eq!(sh.get("Clients!A1", &[]).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn faults_and_counters_apply_to_sheets() {
    let sh = Sh::new().await;
    sh.sb.set_faults(FaultConfig {
        fail_next: 1,
        fail_status: Some(503),
        ..FaultConfig::default()
    });
    let r = sh.get("Clients!A1", &[]).await;
    google_error(&r, 503, "UNAVAILABLE");
    assert_eq!(sh.get("Clients!A1", &[]).await.status, StatusCode::OK);
    let counts = sh.sb.request_counts();
    assert_eq!(
        counts
            .by_endpoint
            .get("GET /v4/spreadsheets/{id}/values/{range}"),
        Some(&2),
        "{counts:?}"
    );
    assert_eq!(sh.sb.remote("sheets").expect("sheets").requests(), 2);
}

#[tokio::test]
async fn admin_paths_act_as_a_person_in_the_browser() {
    let sh = Sh::new().await;
    sh.put(
        "Clients!A2:C4",
        "RAW",
        json!([["c1", "Cy", 3], ["c2", "ann", 1], ["c3", "Bob", 2]]),
    )
    .await;
    let r = sh
        .admin(
            "cell",
            json!({"sheet": "Clients", "cell": "D3", "value": "2024-03-05"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(sh.rows("Clients!D3").await, json!([[45356]]));
    let r = sh
        .admin("sort", json!({"sheet": "Clients", "column": "B"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        sh.rows("Clients!A1:C4").await,
        json!([
            ["ssot_id", "name", "email"],
            ["c2", "ann", 1],
            ["c3", "Bob", 2],
            ["c1", "Cy", 3]
        ])
    );
    sh.admin(
        "sort",
        json!({"sheet": "Clients", "column": "C", "descending": true}),
    )
    .await;
    assert_eq!(
        sh.rows("Clients!A2:A4").await,
        json!([["c1"], ["c3"], ["c2"]])
    );
    let r = sh
        .admin(
            "insert",
            json!({"sheet": "Clients", "dimension": "COLUMNS", "start": 1, "count": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        sh.rows("Clients!A1:C2").await,
        json!([["ssot_id", "", "name"], ["c1", "", "Cy"]])
    );
    sh.admin(
        "insert",
        json!({"sheet": "Clients", "dimension": "ROWS", "start": 1, "count": 2}),
    )
    .await;
    assert_eq!(
        sh.rows("Clients!A1:A5").await,
        json!([["ssot_id"], [], [], ["c1"], ["c3"]])
    );
    let r = sh
        .admin(
            "delete",
            json!({"sheet": "Clients", "dimension": "ROWS", "start": 1, "count": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        sh.rows("Clients!A1:A").await,
        json!([["ssot_id"], ["c3"], ["c2"]])
    );
    sh.admin(
        "delete",
        json!({"sheet": "Clients", "dimension": "COLUMNS", "start": 1, "count": 1}),
    )
    .await;
    assert_eq!(sh.rows("Clients!A1:B1").await, json!([["ssot_id", "name"]]));
    let r = sh
        .admin("cell", json!({"sheet": "Nope", "cell": "A1", "value": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = sh
        .admin(
            "delete",
            json!({"sheet": "Clients", "dimension": "ROWS", "start": 0, "count": 1001}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The dump shows the cells as typed.
    let dump: Value = sh
        .client
        .get(format!(
            "{}/__sandbox/sheets/{SEED_SPREADSHEET_ID}",
            sh.sb.base_url()
        ))
        .send()
        .await
        .expect("dump")
        .json()
        .await
        .expect("json");
    assert_eq!(dump["sheets"][0]["rows"][1][0], "c3");
    // Admin calls are not API requests.
    assert_eq!(sh.sb.remote("sheets").expect("sheets").requests(), 8);
}

#[tokio::test]
async fn the_emulator_trait_sees_rows_as_records() {
    let sh = Sh::new().await;
    let remote = sh.sb.remote("sheets").expect("sheets");
    let id = remote
        .create(
            "Clients",
            &[("ssot_id", "c-1"), ("name", "Ann"), ("phone", "007")],
        )
        .expect("create");
    assert_eq!(id, "2");
    let found = remote.by_ssot_id("Clients", "c-1").expect("records");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].field("name"), Some("Ann"));
    assert_eq!(found[0].field("phone"), Some("7"), "typed as a number");
    remote.edit("Clients", &id, "name", "Anna").expect("edit");
    assert_eq!(sh.rows("Clients!B2").await, json!([["Anna"]]));
    assert!(remote.create("Clients", &[("nope", "x")]).is_err());
    remote.archive("Clients", &id).expect("archive");
    assert!(remote.live("Clients").expect("live").is_empty());
    assert!(remote.records("Sheet1").is_err());
}

/// A row with a key is the record of that key wherever it moves (people sort rows); a row
/// without one is found by its number.
#[tokio::test]
async fn the_emulator_trait_finds_rows_by_their_key() {
    let sh = Sh::new().await;
    let remote = sh.sb.remote("sheets").expect("sheets");
    remote
        .create("Clients", &[("ssot_id", "k-b"), ("name", "Bea")])
        .expect("create");
    remote
        .create("Clients", &[("ssot_id", "k-a"), ("name", "Ala")])
        .expect("create");
    let bare = remote
        .create("Clients", &[("name", "Cyd")])
        .expect("create");
    assert_eq!(bare, "4");
    let ids: Vec<String> = remote
        .records("Clients")
        .expect("records")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["k-b", "k-a", "4"]);
    ssot_vault::sandbox::sheets::admin_edit(
        remote.app,
        ssot_vault::sandbox::sheets::SEED_SPREADSHEET_ID,
        "Clients",
        &ssot_vault::sandbox::sheets::BrowserEdit::Sort {
            column: "B".into(),
            descending: false,
            header_rows: 1,
        },
    )
    .expect("sort");
    remote
        .edit("Clients", "k-b", "name", "Beata")
        .expect("edit");
    assert_eq!(sh.rows("Clients!B3").await, json!([["Beata"]]));
    remote.archive("Clients", "k-a").expect("archive");
    let names: Vec<String> = remote
        .live("Clients")
        .expect("live")
        .iter()
        .filter_map(|r| r.field("name").map(str::to_string))
        .collect();
    assert_eq!(names, ["Beata", "Cyd"]);
}
