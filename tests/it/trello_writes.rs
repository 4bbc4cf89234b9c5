//! Trello writes by their cost: new cards whose `## Credentialing` checklists are alike are
//! copies of one archived template card, each then given its custom fields in one request; and
//! a card our token made whose custom field never came (a run killed between the two) is taken
//! up by its note, never imported as a new project nor made again.

use serde_json::{Value, json};
use ssot_vault::sandbox::{DEFAULT_TRELLO_KEY, DEFAULT_TRELLO_TOKEN};

use crate::common::write;
use crate::conformance::harness::Harness;
use crate::conformance::trello::{LOYALTY, TrelloService};
use crate::hs_env::{git, out};

type H = Harness<TrelloService>;

/// A Trello API call with the sync's own token.
async fn api(h: &H, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = h
        .http
        .request(method, format!("{}/1{path}", h.sb.base_url()))
        .header(
            "Authorization",
            format!(
                "OAuth oauth_consumer_key=\"{DEFAULT_TRELLO_KEY}\", oauth_token=\"{DEFAULT_TRELLO_TOKEN}\""
            ),
        );
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let text = r.text().await.expect("body");
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// New project `i` with the standard credentialing tasks and a budget.
fn new_project(i: usize) -> (String, String) {
    (
        format!("Projects/New {i:02}.md"),
        format!(
            "---\ntype: project\nssot_id: 01M7W86HFSWM03FC030X7G{i:04}\ncreated: 2026-11-20\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: matching\nsummary: New {i}\nbudget: {}\n---\n## Credentialing\n\n- [ ] NDA signed\n- [ ] Contract signed\n- [ ] Repository access\n",
            1000 + i
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_cards_cost_two_requests_each() {
    const N: usize = 20;
    let h = H::new("").await;
    let o = h.sync().await;
    let before = h.requests();
    let posts = h.count("POST /1/cards");
    let bulk = h.count("PUT /1/cards/{id}/customFields");
    let one = h.count("PUT /1/cards/{id}/customField/{idCustomField}/item");
    for i in 0..N {
        let (rel, text) = new_project(i);
        write(&h.v, &rel, &text);
    }
    git(&h.v, &["add", "-A"]);
    git(&h.v, &["commit", "-qm", "New projects"]);
    let o2 = h.sync().await;
    let spent = h.requests() - before;
    // Per card: the copy of the template (card and checklist) and its custom fields. Per run:
    // the feed, the board's cards, and the template made once (card, checklist, three items,
    // archived).
    assert_eq!(
        h.count("POST /1/cards") - posts,
        N as u64 + 1,
        "{}",
        out(&o2)
    );
    assert_eq!(h.count("PUT /1/cards/{id}/customFields") - bulk, N as u64);
    assert_eq!(
        h.count("PUT /1/cards/{id}/customField/{idCustomField}/item") - one,
        0
    );
    assert!(
        spent <= 2 * N as u64 + 10,
        "{spent} requests for {N} new cards\n{}\n{}",
        out(&o),
        out(&o2)
    );
    for i in [0, N - 1] {
        let (rel, _) = new_project(i);
        let id = h.prop(&rel, "trello_card_id").expect("card id");
        let card = api(
            &h,
            reqwest::Method::GET,
            &format!("/cards/{id}?customFieldItems=true&checklists=all"),
            None,
        )
        .await;
        assert_eq!(card["desc"], json!(format!("New {i}")), "no marker line");
        let items: Vec<(&str, &str)> = card["checklists"][0]["checkItems"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default(),
                    c["state"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            items,
            [
                ("NDA signed", "incomplete"),
                ("Contract signed", "incomplete"),
                ("Repository access", "incomplete")
            ]
        );
        let values: Vec<String> = card["customFieldItems"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| f["value"].to_string())
            .collect();
        assert_eq!(values.len(), 3, "ssot_id, Budget and Client: {card}");
    }
    // The template is archived: no project of its own, none in the vault.
    assert!(
        !std::fs::read_dir(h.v.join("Projects"))
            .expect("dir")
            .any(|e| {
                e.expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .contains("template")
            })
    );
    // Unchanged since: one request.
    let before = h.requests();
    let o3 = h.sync().await;
    assert_eq!(h.requests() - before, 1, "{}", out(&o3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_whose_custom_field_never_came_is_taken_up_by_its_note() {
    let h = H::new("").await;
    // What a run killed between the card and its custom field leaves: a card our token made,
    // named as the note, with no ssot_id anywhere.
    let board = api(&h, reqwest::Method::GET, "/members/me/boards", None).await;
    let board = board
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["name"] == json!("Projects"))
        .and_then(|b| b["id"].as_str())
        .expect("board")
        .to_string();
    let lists = api(
        &h,
        reqwest::Method::GET,
        &format!("/boards/{board}/lists"),
        None,
    )
    .await;
    let list = lists[0]["id"].as_str().expect("list").to_string();
    let made = api(
        &h,
        reqwest::Method::POST,
        "/cards",
        Some(json!({"idList": list, "name": "Bakery loyalty app", "desc": "Loyalty app for regulars"})),
    )
    .await;
    let id = made["id"].as_str().expect("id").to_string();
    let o = h.sync().await;
    assert_eq!(h.live("cards").len(), 3, "no second card: {}", out(&o));
    assert_eq!(h.prop(LOYALTY, "trello_card_id"), Some(id.clone()));
    let notes = std::fs::read_dir(h.v.join("Projects"))
        .expect("dir")
        .count();
    assert_eq!(notes, 3, "no project imported from the card: {}", out(&o));
    let c = h.record_of(LOYALTY, "cards");
    assert_eq!(c.id, id);
    assert_eq!(
        h.ssot_of(&c),
        h.prop(LOYALTY, "ssot_id"),
        "the custom field set"
    );
}

/// A run's own actions do not fill the next run's feed: its writes are followed by reads of
/// the feed past its cursor (here with pages of 10 actions, so a run of 20 new cards makes
/// many), and the next run starts where they stopped. An edit made in Trello while the run
/// wrote is among what they read: the next run brings it in; an unchanged vault and board then
/// cost one request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_own_actions_are_not_read_again_by_the_next_run() {
    const N: usize = 20;
    let h = H::new("actions_page = 10").await;
    h.sync().await;
    for i in 0..N {
        let (rel, text) = new_project(i);
        write(&h.v, &rel, &text);
    }
    git(&h.v, &["add", "-A"]);
    git(&h.v, &["commit", "-qm", "New projects"]);
    h.faults(ssot_vault::sandbox::FaultConfig {
        latency_ms: 40,
        ..ssot_vault::sandbox::FaultConfig::default()
    });
    let writes = h.writes();
    let mut child = h.spawn_sync();
    for _ in 0..500 {
        if h.writes() >= writes + 8 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Edited in Trello by a colleague while the run writes.
    let id = h.id_of(LOYALTY);
    h.remote()
        .edit("cards", &id, "desc", "Stamps and coupons")
        .expect("edit in Trello");
    let status = child.wait().expect("wait");
    h.faults(ssot_vault::sandbox::FaultConfig::default());
    assert!(status.success());
    for i in [0, N - 1] {
        assert!(h.prop(&new_project(i).0, "trello_card_id").is_some());
    }
    let before = h.requests();
    let o = h.sync().await;
    assert_eq!(
        h.prop(LOYALTY, "summary").as_deref(),
        Some("Stamps and coupons"),
        "{}",
        out(&o)
    );
    assert!(h.requests() - before <= 3, "{:?}", h.sb.request_counts());
    let before = h.requests();
    let o = h.sync().await;
    assert_eq!(h.requests() - before, 1, "{}", out(&o));
}

/// The same on a board with no action before the first sync: its catch-ups read the feed from
/// the start, and the resync after it is one request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_on_a_board_without_actions_leaves_one_request_to_the_next() {
    const N: usize = 20;
    let h = H::new("actions_page = 10").await;
    for i in 0..N {
        let (rel, text) = new_project(i);
        write(&h.v, &rel, &text);
    }
    git(&h.v, &["add", "-A"]);
    git(&h.v, &["commit", "-qm", "New projects"]);
    h.sync().await;
    assert!(h.prop(&new_project(N - 1).0, "trello_card_id").is_some());
    let before = h.requests();
    let o = h.sync().await;
    assert_eq!(h.requests() - before, 1, "{}", out(&o));
}
