//! Integration tests of the sandbox's Trello emulator: a real server on 127.0.0.1:0 spoken to over
//! HTTP with reqwest, covering key-and-token auth and Trello's plain-text errors, boards, lists,
//! cards (copies too), checklists, comments, custom field items, the actions feed, attachments,
//! the optional rate limits, faults and counters, and state persistence.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ssot_vault::sandbox::{
    DEFAULT_TRELLO_KEY, DEFAULT_TRELLO_TOKEN, FaultConfig, Sandbox, SandboxConfig,
};

const ANNA: &str = "sandbox-trello-token-anna";

/// Query parameters of a request.
type Query<'a> = &'a [(&'a str, &'a str)];

struct Tr {
    sb: Sandbox,
    client: reqwest::Client,
    base: String,
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
    bytes: Vec<u8>,
}

impl Reply {
    fn text(&self) -> &str {
        self.body.as_str().unwrap_or_default()
    }

    fn id(&self) -> String {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        self.body["id"].as_str().expect("id").to_owned()
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body").to_vec();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
        bytes,
    }
}

impl Tr {
    async fn start(cfg: SandboxConfig) -> Tr {
        let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg)
            .await
            .expect("start sandbox");
        let base = sb.base_url();
        Tr {
            sb,
            client: client(),
            base,
        }
    }

    async fn new() -> Tr {
        Self::start(SandboxConfig::default()).await
    }

    /// A request with `key` and `token` (the sync member's unless given) in the query string.
    fn req(&self, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}/1{path}", self.base))
            .query(&[("key", DEFAULT_TRELLO_KEY), ("token", token)])
    }

    async fn call(&self, method: Method, path: &str, query: &[(&str, &str)]) -> Reply {
        let r = self
            .req(method, path, DEFAULT_TRELLO_TOKEN)
            .query(query)
            .send()
            .await
            .expect("request");
        reply(r).await
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        self.call(Method::GET, path, query).await
    }

    async fn post(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        self.call(Method::POST, path, query).await
    }

    async fn put(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        self.call(Method::PUT, path, query).await
    }

    async fn put_json(&self, path: &str, body: Value) -> Reply {
        let r = self
            .req(Method::PUT, path, DEFAULT_TRELLO_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("request");
        reply(r).await
    }

    async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, &[]).await
    }

    /// The id of a board of the seeded account, by name.
    async fn board(&self, name: &str) -> String {
        let r = self.get("/members/me/boards", &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
            .as_array()
            .and_then(|a| a.iter().find(|b| b["name"] == name))
            .and_then(|b| b["id"].as_str())
            .expect("board")
            .to_owned()
    }

    /// The id of a list of a board, by name.
    async fn list(&self, board: &str, name: &str) -> String {
        let r = self.get(&format!("/boards/{board}/lists"), &[]).await;
        r.body
            .as_array()
            .and_then(|a| a.iter().find(|l| l["name"] == name))
            .and_then(|l| l["id"].as_str())
            .expect("list")
            .to_owned()
    }

    /// The id of a board's custom field, by name.
    async fn field(&self, board: &str, name: &str) -> String {
        let r = self
            .get(&format!("/boards/{board}/customFields"), &[])
            .await;
        r.body
            .as_array()
            .and_then(|a| a.iter().find(|f| f["name"] == name))
            .and_then(|f| f["id"].as_str())
            .expect("custom field")
            .to_owned()
    }

    async fn card(&self, list: &str, name: &str) -> String {
        self.post("/cards", &[("idList", list), ("name", name)])
            .await
            .id()
    }

    /// The board's actions (newest first) with extra query parameters.
    async fn actions(&self, board: &str, query: &[(&str, &str)]) -> Vec<Value> {
        let r = self.get(&format!("/boards/{board}/actions"), query).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body.as_array().cloned().expect("actions")
    }
}

fn kinds(actions: &[Value]) -> Vec<&str> {
    actions
        .iter()
        .map(|a| a["type"].as_str().unwrap_or_default())
        .collect()
}

fn is_trello_id(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test]
async fn auth_by_key_and_token_with_trellos_plain_text_errors() {
    let t = Tr::new().await;
    let me = t.get("/members/me", &[]).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["username"], "ssot-sync");
    assert!(is_trello_id(&me.body["id"]));
    let board = t.board("Projects").await;
    let list = t.list(&board, "Accepted").await;
    let card = t.card(&list, "Audit").await;
    let path = format!("{}/1/cards/{card}", t.base);

    // The OAuth header works as well as the query string.
    let r = reply(
        t.client
            .get(&path)
            .header(
                "Authorization",
                format!(
                    "OAuth oauth_consumer_key=\"{DEFAULT_TRELLO_KEY}\", oauth_token=\"{DEFAULT_TRELLO_TOKEN}\""
                ),
            )
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"], "Audit");

    let cases: [(Query, StatusCode, &str); 4] = [
        (&[], StatusCode::UNAUTHORIZED, "invalid key"),
        (
            &[("key", "nope"), ("token", DEFAULT_TRELLO_TOKEN)],
            StatusCode::UNAUTHORIZED,
            "invalid key",
        ),
        (
            &[("key", DEFAULT_TRELLO_KEY)],
            StatusCode::UNAUTHORIZED,
            "unauthorized card permission requested",
        ),
        (
            &[("key", DEFAULT_TRELLO_KEY), ("token", "nope")],
            StatusCode::UNAUTHORIZED,
            "invalid token",
        ),
    ];
    for (query, status, text) in cases {
        let r = reply(
            t.client
                .get(&path)
                .query(query)
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!((r.status, r.text()), (status, text), "{query:?}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .is_ok_and(|c| c.starts_with("text/plain")),
            "{:?}",
            r.headers
        );
    }
    // A malformed id, a well-formed one naming nothing, a bad parameter.
    let r = t.get("/cards/12345", &[]).await;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::BAD_REQUEST, "invalid id")
    );
    let r = t.get(&format!("/cards/{}", "a".repeat(24)), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t.post("/cards", &[("name", "no list")]).await;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::BAD_REQUEST, "invalid value for idList")
    );
    // Another member's token acts as that member.
    let r = reply(
        t.req(Method::GET, "/members/me", ANNA)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(r.body["username"], "anna.client", "{}", r.body);
    t.sb.shutdown().await;
}

#[tokio::test]
async fn seeded_boards_lists_labels_members_and_custom_fields() {
    let t = Tr::new().await;
    let board = t.board("Projects").await;
    let r = t.get(&format!("/boards/{board}/lists"), &[]).await;
    let names: Vec<&str> = r
        .body
        .as_array()
        .expect("lists")
        .iter()
        .map(|l| l["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        ["Accepted", "Credentialing", "Active", "Blocked", "Done"]
    );
    let labels = t.get(&format!("/boards/{board}/labels"), &[]).await;
    assert!(labels.body.as_array().is_some_and(|l| l.len() == 3));
    let members = t.get(&format!("/boards/{board}/members"), &[]).await;
    assert_eq!(members.body.as_array().map(Vec::len), Some(4));
    let fields = t.get(&format!("/boards/{board}/customFields"), &[]).await;
    assert!(fields.body.as_array().is_some_and(|f| {
        f.iter()
            .any(|f| f["name"] == "Blocked reason" && f["type"] == "text")
    }));
    let b = t
        .get(
            &format!("/boards/{board}"),
            &[("lists", "open"), ("customFields", "true")],
        )
        .await;
    assert_eq!(b.body["name"], "Projects");
    assert_eq!(b.body["lists"].as_array().map(Vec::len), Some(5));
    let help = t.board("Helpdesk").await;
    assert!(is_trello_id(&json!(help)));
    t.list(&help, "Open").await;
    t.sb.shutdown().await;
}

#[tokio::test]
async fn lists_are_created_renamed_closed_and_moved() {
    let t = Tr::new().await;
    let board = t.board("Projects").await;
    let id = t
        .post(
            "/lists",
            &[("name", "Review"), ("idBoard", &board), ("pos", "top")],
        )
        .await
        .id();
    let first = t.get(&format!("/boards/{board}/lists"), &[]).await;
    assert_eq!(first.body[0]["id"], id.as_str(), "pos=top puts it first");
    let r = t
        .put(&format!("/lists/{id}"), &[("name", "In review")])
        .await;
    assert_eq!(r.body["name"], "In review");
    let r = t.put(&format!("/lists/{id}"), &[("pos", "bottom")]).await;
    let all = t.get(&format!("/boards/{board}/lists"), &[]).await;
    assert_eq!(all.body[5]["id"], id.as_str(), "{}", r.body);
    let r = t
        .put(&format!("/lists/{id}/closed"), &[("value", "true")])
        .await;
    assert_eq!(r.body["closed"], true);
    let open = t.get(&format!("/boards/{board}/lists"), &[]).await;
    assert_eq!(open.body.as_array().map(Vec::len), Some(5));
    let closed = t.get(&format!("/boards/{board}/lists/closed"), &[]).await;
    assert_eq!(closed.body[0]["id"], id.as_str());
    let feed = t
        .actions(&board, &[("filter", "createList,updateList")])
        .await;
    assert_eq!(
        kinds(&feed),
        ["updateList", "updateList", "updateList", "createList"]
    );
    assert_eq!(feed[0]["data"]["old"]["closed"], false);
    assert_eq!(feed[2]["data"]["old"]["name"], "Review");
    t.sb.shutdown().await;
}

#[tokio::test]
async fn cards_are_created_updated_copied_listed_and_deleted() {
    let t = Tr::new().await;
    let board = t.board("Projects").await;
    let accepted = t.list(&board, "Accepted").await;
    let active = t.list(&board, "Active").await;
    let r = t
        .post(
            "/cards",
            &[
                ("idList", &accepted),
                ("name", "Audit Lis"),
                ("desc", "**Scope**: audit"),
                ("due", "2026-12-24"),
                ("pos", "bottom"),
            ],
        )
        .await;
    let card = r.id();
    assert_eq!(r.body["desc"], "**Scope**: audit");
    assert_eq!(r.body["due"], "2026-12-24T00:00:00.000Z");
    assert_eq!(r.body["idBoard"], board.as_str());
    assert_eq!(r.body["idShort"], 1);
    let top = t
        .post(
            "/cards",
            &[("idList", &accepted), ("name", "First"), ("pos", "top")],
        )
        .await
        .id();
    let listed = t.get(&format!("/lists/{accepted}/cards"), &[]).await;
    assert_eq!(listed.body[0]["id"], top.as_str());

    // A JSON body works as the query does; moving, renaming, clearing the due date, archiving.
    let r = t
        .put_json(
            &format!("/cards/{card}"),
            json!({"idList": active, "name": "Audit Lis sp. z o.o.", "due": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["idList"], active.as_str());
    assert_eq!(r.body["due"], Value::Null);
    let feed = t
        .actions(&board, &[("filter", "updateCard"), ("limit", "1")])
        .await;
    let data = &feed[0]["data"];
    assert_eq!(data["old"]["idList"], accepted.as_str());
    assert_eq!(data["old"]["name"], "Audit Lis");
    assert_eq!(data["old"]["due"], "2026-12-24T00:00:00.000Z");
    assert_eq!(data["listBefore"]["name"], "Accepted");
    assert_eq!(data["listAfter"]["name"], "Active");
    let r = t
        .put(&format!("/cards/{card}"), &[("closed", "true")])
        .await;
    assert_eq!(r.body["closed"], true);
    let open = t.get(&format!("/boards/{board}/cards"), &[]).await;
    assert!(
        open.body
            .as_array()
            .is_some_and(|c| c.iter().all(|c| c["id"] != card.as_str()))
    );
    let all = t.get(&format!("/boards/{board}/cards/all"), &[]).await;
    assert!(
        all.body
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["id"] == card.as_str()))
    );
    let r = t
        .put(&format!("/cards/{card}"), &[("closed", "maybe")])
        .await;
    assert_eq!(r.text(), "invalid value for closed");

    // A template card with a checklist and a custom field, copied with what is asked to be kept.
    let template = t
        .post(
            "/cards",
            &[("idList", &accepted), ("name", "Template"), ("desc", "tpl")],
        )
        .await
        .id();
    let cl = t
        .post(
            &format!("/cards/{template}/checklists"),
            &[("name", "Credentialing")],
        )
        .await
        .id();
    t.post(&format!("/checklists/{cl}/checkItems"), &[("name", "NDA")])
        .await
        .id();
    let reason = t.field(&board, "Blocked reason").await;
    let r = t
        .put_json(
            &format!("/cards/{template}/customField/{reason}/item"),
            json!({"value": {"text": "none"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let copy = t
        .post(
            "/cards",
            &[
                ("idList", &active),
                ("idCardSource", &template),
                ("keepFromSource", "checklists"),
                ("name", "Project X"),
            ],
        )
        .await;
    let copy_id = copy.id();
    assert_eq!(copy.body["desc"], "tpl");
    let cards = t
        .get(
            &format!("/boards/{board}/cards"),
            &[
                ("customFieldItems", "true"),
                ("checklists", "all"),
                ("attachments", "true"),
            ],
        )
        .await;
    let c = cards
        .body
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == copy_id.as_str()))
        .expect("copy listed");
    assert_eq!(c["name"], "Project X");
    assert_eq!(c["checklists"][0]["name"], "Credentialing");
    assert_eq!(c["checklists"][0]["checkItems"][0]["name"], "NDA");
    assert_ne!(
        c["checklists"][0]["id"],
        cl.as_str(),
        "a copy has its own checklist"
    );
    assert_eq!(
        c["customFieldItems"],
        json!([]),
        "custom fields were not kept"
    );
    assert_eq!(c["attachments"], json!([]));
    let tpl = cards
        .body
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == template.as_str()))
        .expect("template listed");
    assert_eq!(tpl["customFieldItems"][0]["value"]["text"], "none");
    let all_kept = t
        .post(
            "/cards",
            &[("idList", &active), ("idCardSource", &template)],
        )
        .await
        .id();
    let items = t
        .get(&format!("/cards/{all_kept}/customFieldItems"), &[])
        .await;
    assert_eq!(
        items.body[0]["value"]["text"], "none",
        "keepFromSource defaults to all"
    );
    let feed = t
        .actions(&board, &[("filter", "copyCard"), ("limit", "2")])
        .await;
    assert_eq!(feed.len(), 2);
    assert_eq!(feed[1]["data"]["cardSource"]["id"], template.as_str());

    // Deleted for good: gone, with its own deleteCard action.
    let r = t.delete(&format!("/cards/{copy_id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        t.get(&format!("/cards/{copy_id}"), &[]).await.status,
        StatusCode::NOT_FOUND
    );
    let feed = t.actions(&board, &[("limit", "1")]).await;
    assert_eq!(kinds(&feed), ["deleteCard"]);
    assert_eq!(feed[0]["data"]["card"]["id"], copy_id.as_str());
    t.sb.shutdown().await;
}

#[tokio::test]
async fn checklists_comments_and_custom_field_items() {
    let t = Tr::new().await;
    let board = t.board("Projects").await;
    let list = t.list(&board, "Credentialing").await;
    let card = t.card(&list, "Project Y").await;
    let cl = t
        .post(
            "/checklists",
            &[("idCard", &card), ("name", "Credentialing")],
        )
        .await
        .id();
    let nda = t
        .post(
            &format!("/checklists/{cl}/checkItems"),
            &[("name", "NDA signed")],
        )
        .await
        .id();
    let id_doc = t
        .post(
            &format!("/checklists/{cl}/checkItems"),
            &[("name", "ID document"), ("checked", "true")],
        )
        .await;
    assert_eq!(id_doc.body["state"], "complete");
    let id_doc = id_doc.id();
    let r = t
        .put(
            &format!("/cards/{card}/checkItem/{nda}"),
            &[("state", "complete")],
        )
        .await;
    assert_eq!(r.body["state"], "complete", "{}", r.body);
    let r = t
        .put(
            &format!("/cards/{card}/checklist/{cl}/checkItem/{nda}"),
            &[("name", "NDA signed by both")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = t
        .put(
            &format!("/cards/{card}/checkItem/{id_doc}"),
            &[("state", "incomplete")],
        )
        .await;
    assert_eq!(r.body["state"], "incomplete");
    let r = t
        .put(&format!("/checklists/{cl}"), &[("name", "Docs")])
        .await;
    assert_eq!(r.body["name"], "Docs");
    let r = t.delete(&format!("/cards/{card}/checkItem/{id_doc}")).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t.get(&format!("/cards/{card}/checklists"), &[]).await;
    assert_eq!(
        r.body[0]["checkItems"],
        json!([{"id": nda, "name": "NDA signed by both", "state": "complete",
                "idChecklist": cl, "pos": r.body[0]["checkItems"][0]["pos"],
                "due": null, "idMember": null}])
    );
    let feed = t.actions(&board, &[]).await;
    assert_eq!(
        kinds(&feed)[..7],
        [
            "deleteCheckItem",
            "updateChecklist",
            "updateCheckItemStateOnCard",
            "updateCheckItem",
            "updateCheckItemStateOnCard",
            "createCheckItem",
            "createCheckItem",
        ]
    );
    assert_eq!(feed[2]["data"]["checkItem"]["state"], "incomplete");
    assert_eq!(feed[3]["data"]["old"]["name"], "NDA signed");

    // Comments: written by the sync member and by a client; edited and deleted by their author.
    let c1 = t
        .post(
            &format!("/cards/{card}/actions/comments"),
            &[("text", "Docs requested")],
        )
        .await;
    assert_eq!(c1.body["type"], "commentCard");
    assert_eq!(c1.body["data"]["text"], "Docs requested");
    let c1 = c1.id();
    let c2 = reply(
        t.req(
            Method::POST,
            &format!("/cards/{card}/actions/comments"),
            ANNA,
        )
        .query(&[("text", "Sent them today")])
        .send()
        .await
        .expect("request"),
    )
    .await;
    assert_eq!(c2.body["memberCreator"]["username"], "anna.client");
    let c2 = c2.id();
    let r = t
        .put(
            &format!("/cards/{card}/actions/{c1}/comments"),
            &[("text", "Docs requested (NDA)")],
        )
        .await;
    assert_eq!(r.body["data"]["text"], "Docs requested (NDA)", "{}", r.body);
    let r = t
        .put(
            &format!("/cards/{card}/actions/{c2}/comments"),
            &[("text", "mine now")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "only the author edits a comment"
    );
    let comments = t.get(&format!("/cards/{card}/actions"), &[]).await;
    let texts: Vec<&str> = comments
        .body
        .as_array()
        .expect("comments")
        .iter()
        .map(|a| a["data"]["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["Sent them today", "Docs requested (NDA)"]);
    let r = t
        .delete(&format!("/cards/{card}/actions/{c1}/comments"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let comments = t.get(&format!("/cards/{card}/actions"), &[]).await;
    assert_eq!(comments.body.as_array().map(Vec::len), Some(1));
    let feed = t.actions(&board, &[("limit", "2")]).await;
    assert_eq!(kinds(&feed), ["deleteComment", "updateComment"]);
    assert_eq!(feed[1]["data"]["old"]["text"], "Docs requested");

    // Custom field items: the ssot_id field made by the connector, a number, clearing.
    let r = reply(
        t.req(Method::POST, "/customFields", DEFAULT_TRELLO_TOKEN)
            .json(
                &json!({"idModel": board, "modelType": "board", "name": "ssot_id",
                          "type": "text", "pos": "bottom"}),
            )
            .send()
            .await
            .expect("request"),
    )
    .await;
    let ssot = r.id();
    let r = t
        .put_json(
            &format!("/cards/{card}/customField/{ssot}/item"),
            json!({"value": {"text": "01PROJ"}}),
        )
        .await;
    assert_eq!(r.body["value"]["text"], "01PROJ", "{}", r.body);
    assert_eq!(r.body["idModel"], card.as_str());
    let budget = t.field(&board, "Budget").await;
    let r = t
        .put_json(
            &format!("/cards/{card}/customField/{budget}/item"),
            json!({"value": {"number": "abc"}}),
        )
        .await;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::BAD_REQUEST, "invalid value for value")
    );
    let r = t
        .put_json(
            &format!("/cards/{card}/customField/{budget}/item"),
            json!({"value": {"number": "1200"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = t
        .put_json(
            &format!("/cards/{card}/customField/{budget}/item"),
            json!({"value": ""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = t.get(&format!("/cards/{card}/customFieldItems"), &[]).await;
    assert_eq!(items.body.as_array().map(Vec::len), Some(1));
    assert_eq!(items.body[0]["idCustomField"], ssot.as_str());
    let feed = t
        .actions(&board, &[("filter", "updateCustomFieldItem")])
        .await;
    assert_eq!(feed.len(), 3);
    assert_eq!(feed[0]["data"]["old"]["value"]["number"], "1200");
    assert_eq!(feed[2]["data"]["customField"]["name"], "ssot_id");
    // Moved to another board, the card takes its checklists along.
    let help = t.board("Helpdesk").await;
    let open = t.list(&help, "Open").await;
    let r = t.put(&format!("/cards/{card}"), &[("idList", &open)]).await;
    assert_eq!(r.body["idBoard"], help.as_str(), "{}", r.body);
    let r = t.get(&format!("/checklists/{cl}"), &[]).await;
    assert_eq!(r.body["idBoard"], help.as_str());
    let found =
        t.sb.remote("trello")
            .expect("trello")
            .by_ssot_id("cards", "01PROJ");
    assert_eq!(found.expect("records").len(), 1);
    t.sb.shutdown().await;
}

#[tokio::test]
async fn the_actions_feed_pages_newest_first_with_since_before_and_filter() {
    let t = Tr::new().await;
    let board = t.board("Projects").await;
    let help = t.board("Helpdesk").await;
    let list = t.list(&board, "Accepted").await;
    let open = t.list(&help, "Open").await;
    let mut cards = Vec::new();
    for i in 0..5 {
        cards.push(t.card(&list, &format!("Card {i}")).await);
    }
    t.card(&open, "Ticket").await;
    let feed = t.actions(&board, &[]).await;
    assert_eq!(feed.len(), 5, "only this board's actions");
    assert_eq!(feed[0]["data"]["card"]["name"], "Card 4", "newest first");
    assert_eq!(feed[4]["data"]["card"]["name"], "Card 0");
    assert_eq!(feed[0]["memberCreator"]["username"], "ssot-sync");
    assert!(is_trello_id(&feed[0]["id"]));
    assert!(feed[0]["date"].as_str().is_some_and(|d| d.ends_with('Z')));
    // Paging backwards with `before`, forwards with `since` (both exclusive).
    let page = t.actions(&board, &[("limit", "2")]).await;
    assert_eq!(page.len(), 2);
    let oldest = page[1]["id"].as_str().expect("id");
    let next = t
        .actions(&board, &[("limit", "2"), ("before", oldest)])
        .await;
    assert_eq!(next[0]["data"]["card"]["name"], "Card 2");
    let since = t.actions(&board, &[("since", oldest)]).await;
    assert_eq!(kinds(&since), ["createCard"]);
    assert_eq!(since[0]["data"]["card"]["name"], "Card 4");
    // An admin edit (a colleague in Trello) shows up with its member.
    let remote = t.sb.remote("trello").expect("trello");
    remote
        .edit("cards", &cards[0], "list", "Blocked")
        .expect("move");
    let newer = t
        .actions(&board, &[("since", feed[0]["id"].as_str().expect("id"))])
        .await;
    assert_eq!(kinds(&newer), ["updateCard"]);
    assert_eq!(newer[0]["memberCreator"]["username"], "ola.operator");
    assert_eq!(newer[0]["data"]["listAfter"]["name"], "Blocked");
    let only = t
        .actions(&board, &[("filter", "updateCard,commentCard")])
        .await;
    assert_eq!(only.len(), 1);
    let dated = t
        .actions(&board, &[("since", "2000-01-01T00:00:00Z"), ("limit", "0")])
        .await;
    assert!(dated.is_empty());
    let r = t
        .get(&format!("/boards/{board}/actions"), &[("limit", "1001")])
        .await;
    assert_eq!(
        (r.status, r.text()),
        (StatusCode::BAD_REQUEST, "invalid value for limit")
    );
    t.sb.shutdown().await;
}

#[tokio::test]
async fn attachments_upload_list_download_and_delete() {
    let t = Tr::new().await;
    let board = t.board("Projects").await;
    let list = t.list(&board, "Done").await;
    let card = t.card(&list, "Closed project").await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let boundary = "XbOuNdArYx";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nexport.zip\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"export.zip\"\r\n\
             Content-Type: application/zip\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = reply(
        t.req(
            Method::POST,
            &format!("/cards/{card}/attachments"),
            DEFAULT_TRELLO_TOKEN,
        )
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload"),
    )
    .await;
    let att = r.id();
    assert_eq!(r.body["name"], "export.zip");
    assert_eq!(r.body["mimeType"], "application/zip");
    assert_eq!(r.body["bytes"], 5000);
    assert_eq!(r.body["isUpload"], true);
    let url = r.body["url"].as_str().expect("url").to_owned();
    assert!(url.starts_with(&t.base), "{url}");
    let listed = t.get(&format!("/cards/{card}/attachments"), &[]).await;
    assert_eq!(listed.body[0]["id"], att.as_str());
    // Downloading needs the OAuth header, as Trello's download URLs do.
    let header = format!(
        "OAuth oauth_consumer_key=\"{DEFAULT_TRELLO_KEY}\", oauth_token=\"{DEFAULT_TRELLO_TOKEN}\""
    );
    let r = reply(t.client.get(&url).send().await.expect("download")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = reply(
        t.client
            .get(&url)
            .header("Authorization", &header)
            .send()
            .await
            .expect("download"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.bytes, bytes, "the same bytes come back");
    let link = t
        .post(
            &format!("/cards/{card}/attachments"),
            &[("url", "https://example.org/spec.pdf")],
        )
        .await;
    assert_eq!(link.body["isUpload"], false);
    let feed = t
        .actions(&board, &[("filter", "addAttachmentToCard")])
        .await;
    assert_eq!(feed.len(), 2);
    assert_eq!(feed[1]["data"]["attachment"]["name"], "export.zip");
    let with = t
        .get(
            &format!("/boards/{board}/cards"),
            &[("attachments", "true")],
        )
        .await;
    assert_eq!(
        with.body[0]["attachments"].as_array().map(Vec::len),
        Some(2)
    );
    let r = t.delete(&format!("/cards/{card}/attachments/{att}")).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = reply(
        t.client
            .get(&url)
            .header("Authorization", &header)
            .send()
            .await
            .expect("download"),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let feed = t.actions(&board, &[("limit", "1")]).await;
    assert_eq!(kinds(&feed), ["deleteAttachmentFromCard"]);
    let r = t.post(&format!("/cards/{card}/attachments"), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    t.sb.shutdown().await;
}

#[tokio::test]
async fn rate_limits_per_token_and_per_key_when_on() {
    // Off by default.
    let t = Tr::new().await;
    for _ in 0..120 {
        assert_eq!(t.get("/members/me", &[]).await.status, StatusCode::OK);
    }
    t.sb.shutdown().await;

    let t = Tr::start(SandboxConfig {
        trello_rate_limit: Some((5, 8, Duration::from_secs(60))),
        ..SandboxConfig::default()
    })
    .await;
    for _ in 0..5 {
        assert_eq!(t.get("/members/me", &[]).await.status, StatusCode::OK);
    }
    let r = t.get("/members/me", &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["error"], "API_TOKEN_LIMIT_EXCEEDED", "{}", r.body);
    assert!(r.headers.get("retry-after").is_none());
    // Another token of the same key still has room, until the key's own limit.
    let anna = || async {
        reply(
            t.req(Method::GET, "/members/me", ANNA)
                .send()
                .await
                .expect("request"),
        )
        .await
    };
    for _ in 0..2 {
        assert_eq!(anna().await.status, StatusCode::OK);
    }
    let r = anna().await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["error"], "API_KEY_LIMIT_EXCEEDED", "{}", r.body);
    let counts = t.sb.request_counts();
    assert_eq!(counts.rate_limited.get("GET /1/members/me"), Some(&2));
    t.sb.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_is_set_and_reset_through_the_admin_api() {
    let t = Tr::new().await;
    let admin = |path: &str, body: Value| {
        t.client
            .post(format!("{}/__sandbox{path}", t.base))
            .json(&body)
            .send()
    };
    let r = reply(
        admin(
            "/settings",
            json!({"trello_rate_limit": {"per_token": 2, "per_key": 300, "window_ms": 60000}}),
        )
        .await
        .expect("settings"),
    )
    .await;
    assert_eq!(
        r.body["trello_rate_limit"],
        json!({"per_token": 2, "per_key": 300, "window_ms": 60000})
    );
    for _ in 0..2 {
        assert_eq!(t.get("/members/me", &[]).await.status, StatusCode::OK);
    }
    let r = t.get("/members/me", &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // A reset starts a new window; a null setting turns the limit off.
    admin("/reset", json!({})).await.expect("reset");
    assert_eq!(t.get("/members/me", &[]).await.status, StatusCode::OK);
    let r = reply(
        admin("/settings", json!({"trello_rate_limit": null}))
            .await
            .expect("settings"),
    )
    .await;
    assert_eq!(r.body["trello_rate_limit"], Value::Null);
    for _ in 0..3 {
        assert_eq!(t.get("/members/me", &[]).await.status, StatusCode::OK);
    }
    let r = reply(
        admin("/settings", json!({"trello_rate_limit": {"per_token": 2}}))
            .await
            .expect("settings"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    t.sb.shutdown().await;
}

#[tokio::test]
async fn faults_counters_and_state_persistence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.json");
    let cfg = SandboxConfig {
        state_file: Some(file.clone()),
        ..SandboxConfig::default()
    };
    let t = Tr::start(cfg.clone()).await;
    let board = t.board("Projects").await;
    let list = t.list(&board, "Active").await;
    let card = t.card(&list, "Kept").await;
    t.sb.set_faults(FaultConfig {
        fail_next: 1,
        fail_status: Some(503),
        path_prefix: Some("/1/".into()),
        ..FaultConfig::default()
    });
    let r = t.get(&format!("/cards/{card}"), &[]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.text().contains("injected"), "{}", r.body);
    t.sb.set_faults(FaultConfig {
        storm_next: 1,
        ..FaultConfig::default()
    });
    let r = t.get(&format!("/cards/{card}"), &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["error"], "API_TOKEN_LIMIT_EXCEEDED");
    let remote = t.sb.remote("trello").expect("trello");
    assert_eq!(remote.requests(), 5);
    assert_eq!(
        t.sb.request_counts().by_endpoint.get("GET /1/cards/{id}"),
        Some(&2)
    );
    assert_eq!(t.sb.remote("hubspot").expect("hubspot").requests(), 0);
    t.sb.shutdown().await;

    let t = Tr::start(cfg).await;
    assert_eq!(
        t.board("Projects").await,
        board,
        "the same board after a restart"
    );
    let r = t.get(&format!("/cards/{card}"), &[]).await;
    assert_eq!(r.body["name"], "Kept");
    let feed = t.actions(&board, &[]).await;
    assert_eq!(kinds(&feed), ["createCard"]);
    t.sb.shutdown().await;
}
