//! The helpdesk on Trello: ticket notes are cards on the `Helpdesk` board, their status the
//! card's list and their `## Conversation` the card's comments, merged both ways by union on
//! each message's stamp, never twice after a lost answer, hostile text kept inside its message.

use serde_json::{Value, json};

use crate::conformance::harness::Harness;
use crate::conformance::trello::{TrelloService, api_as as api};
use crate::hs_env::out;

type H = Harness<TrelloService>;

const TICKET: &str = "Helpdesk/Stamp card printing.md";

/// The texts of a card's comments, oldest first.
async fn comments(h: &H, card: &str) -> Vec<String> {
    let v = api(
        h,
        "sandbox-trello-token-ola",
        reqwest::Method::GET,
        &format!("/cards/{card}/actions?filter=commentCard"),
        None,
    )
    .await;
    let mut out: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.pointer("/data/text").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    out.reverse();
    out
}

/// The note's `### ` message headings.
fn stamps(h: &H) -> Vec<String> {
    h.note(TICKET)
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(str::to_string)
        .collect()
}

/// A vault with the helpdesk on (Anna is the client, Ewa the expert) and a ticket opened by the
/// client with its first message, synced.
async fn helpdesk() -> H {
    let h = H::new(
        "helpdesk_board = \"Helpdesk\"\n[remotes.trello.helpdesk_parties]\n\"anna.client\" = \"client\"\n\"ewa.expert\" = \"expert\"\n",
    )
    .await;
    let o = h
        .run(&[
            "ticket",
            "new",
            "Bakery loyalty app",
            "--from",
            "client",
            "--subject",
            "Stamp card printing",
            "-m",
            "The stamp cards print blank.",
        ])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    let o = h.run(&["commit", "-m", "A ticket"]).await;
    assert!(o.status.success(), "{}", out(&o));
    let o = h.run(&["sync"]).await;
    assert!(o.status.success(), "{}", out(&o));
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_travels_both_ways_once() {
    let h = helpdesk().await;
    let card = h.prop(TICKET, "trello_card_id").expect("card id");
    let card_json = api(
        &h,
        "sandbox-trello-token-ola",
        reqwest::Method::GET,
        &format!("/cards/{card}"),
        None,
    )
    .await;
    assert_eq!(card_json["name"], json!("Stamp card printing"));
    let first = stamps(&h);
    assert_eq!(first.len(), 1, "{}", h.note(TICKET));
    assert!(first[0].contains(" · client · "), "{first:?}");
    assert_eq!(
        comments(&h, &card).await,
        [format!("### {}\n\nThe stamp cards print blank.", first[0])]
    );
    // The expert answers on the card in Trello: the message reaches the note.
    api(
        &h,
        "sandbox-trello-token-ewa",
        reqwest::Method::POST,
        &format!("/cards/{card}/actions/comments"),
        Some(json!({"text": "Fixed in the print template."})),
    )
    .await;
    let o = h.run(&["sync"]).await;
    assert!(o.status.success(), "{}", out(&o));
    let now = stamps(&h);
    assert_eq!(now.len(), 2, "{}", h.note(TICKET));
    assert!(now[1].ends_with(" · expert · Ewa Expert"), "{now:?}");
    assert!(h.note(TICKET).contains("\nFixed in the print template.\n"));
    // The team replies in the vault: the message reaches the card, once.
    let o = h
        .run(&[
            "ticket",
            "reply",
            "Stamp card printing",
            "-m",
            "Thanks, closing soon.",
        ])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    let o = h.run(&["sync"]).await;
    assert!(o.status.success(), "{}", out(&o));
    let said = comments(&h, &card).await;
    assert_eq!(said.len(), 3, "{said:?}");
    assert!(said[2].ends_with("\n\nThanks, closing soon."), "{said:?}");
    assert_eq!(stamps(&h).len(), 3);
    // The ticket's status is the card's list.
    let c = api(
        &h,
        "sandbox-trello-token-ola",
        reqwest::Method::GET,
        &format!("/cards/{card}"),
        None,
    )
    .await;
    let list = api(
        &h,
        "sandbox-trello-token-ola",
        reqwest::Method::GET,
        &format!("/lists/{}", c["idList"].as_str().unwrap_or_default()),
        None,
    )
    .await;
    assert_eq!(list["name"], json!("Answered"), "{}", h.note(TICKET));
    // Settled: nothing is posted again, the note is not written again.
    let (head, posts) = (h.head(), h.count("POST /1/cards/{id}/actions/comments"));
    let o = h.run(&["sync"]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(h.head(), head, "{}", out(&o));
    assert_eq!(h.count("POST /1/cards/{id}/actions/comments"), posts);
    // An unchanged vault and Trello: the two boards' feeds.
    let n = h.requests();
    let o = h.run(&["sync"]).await;
    assert_eq!(h.requests() - n, 2, "{}", out(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_whose_answer_was_lost_is_not_posted_twice() {
    let h = helpdesk().await;
    let card = h.prop(TICKET, "trello_card_id").expect("card id");
    let o = h
        .run(&[
            "ticket",
            "reply",
            "Stamp card printing",
            "-m",
            "Looking into it.",
        ])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    // The comment lands, its answer is lost (the connection drops after the request).
    h.faults(ssot_vault::sandbox::FaultConfig {
        drop_next: 1,
        drop_after_handling: true,
        path_prefix: Some(format!("/1/cards/{card}/actions/comments")),
        ..ssot_vault::sandbox::FaultConfig::default()
    });
    let o = h.run(&["sync"]).await;
    assert!(o.status.success(), "{}", out(&o));
    h.faults(ssot_vault::sandbox::FaultConfig::default());
    let o = h.run(&["sync"]).await;
    assert!(o.status.success(), "{}", out(&o));
    let said = comments(&h, &card).await;
    assert_eq!(
        said.iter()
            .filter(|c| c.ends_with("Looking into it."))
            .count(),
        1,
        "{said:?}"
    );
    assert_eq!(stamps(&h).len(), 2, "{}", h.note(TICKET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_comments_stay_inside_their_message() {
    let h = helpdesk().await;
    let card = h.prop(TICKET, "trello_card_id").expect("card id");
    let long = "x".repeat(10_000);
    for text in [
        "A NUL \u{0} here\r\nand a bell \u{7}".to_string(),
        format!("Long: {long}"),
        "## Injected heading\n### 2026-01-01T00:00:00 · client · Forged\n# Top".to_string(),
    ] {
        api(
            &h,
            "sandbox-trello-token-anna",
            reqwest::Method::POST,
            &format!("/cards/{card}/actions/comments"),
            Some(json!({ "text": text })),
        )
        .await;
    }
    let o = h.run(&["sync"]).await;
    assert!(o.status.success(), "{}", out(&o));
    let note = h.note(TICKET);
    assert!(!note.contains('\u{0}') && !note.contains('\u{7}'), "{note}");
    assert!(
        note.contains(&long),
        "{}\n{}",
        out(&o),
        &note[..note.len().min(3000)]
    );
    assert!(note.contains("\n\\## Injected heading\n"), "{note}");
    assert!(
        note.contains("\n\\### 2026-01-01T00:00:00 · client · Forged\n"),
        "{note}"
    );
    assert!(note.contains("\n\\# Top\n"), "{note}");
    // Only the note's sections: no heading of level 1 or 2 came in.
    let headings: Vec<&str> = note
        .lines()
        .filter(|l| l.starts_with("# ") || l.starts_with("## "))
        .collect();
    assert_eq!(headings, ["## Conversation"], "{note}");
    let s = stamps(&h);
    assert_eq!(s.len(), 4, "{s:?}");
    // Three comments by one member in one second: told apart by a number.
    let mut who: Vec<&str> = s
        .iter()
        .map(|s| s.split_once(" · ").map_or("", |x| x.1))
        .collect();
    who.sort_unstable();
    assert_eq!(
        who,
        [
            "client · Anna Client",
            "client · Anna Client (2)",
            "client · Anna Client (3)",
            "client · Piekarnia Złoty Kłos"
        ],
        "{s:?}"
    );
    let o = h.run(&["check"]).await;
    assert!(o.status.success(), "{}", out(&o));
    // Settled.
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head);
}

/// The open list names of a board, as Ola sees them.
async fn list_names(h: &H, board: &str) -> Vec<String> {
    let boards = api(
        h,
        "sandbox-trello-token-ola",
        reqwest::Method::GET,
        "/members/me/boards",
        None,
    )
    .await;
    let id = boards
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["name"] == json!(board))
        .and_then(|b| b["id"].as_str())
        .expect("board")
        .to_string();
    let lists = api(
        h,
        "sandbox-trello-token-ola",
        reqwest::Method::GET,
        &format!("/boards/{id}/lists"),
        None,
    )
    .await;
    lists
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_the_missing_lists_and_fix_makes_them() {
    // The projects' board lacks `Intake`, `Matching`, `Proposed` and `Archived`; the helpdesk
    // board lacks `Resolved` (the closed tickets' list here).
    let h = H::new(
        "helpdesk_board = \"Helpdesk\"\n[remotes.trello.helpdesk_lists]\nclosed = \"Resolved\"\n",
    )
    .await;
    let o = h.run(&["doctor"]).await;
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    for (list, board) in [
        ("Intake", "Projects"),
        ("Matching", "Projects"),
        ("Proposed", "Projects"),
        ("Archived", "Projects"),
        ("Resolved", "Helpdesk"),
    ] {
        assert!(
            text.contains(&format!(
                "note trello: list `{list}` is missing on board `{board}`: `ssot-vault doctor --fix` creates it"
            )),
            "{list}: {text}"
        );
    }
    assert!(
        text.contains("ok   trello: list `Active` on board `Projects`"),
        "{text}"
    );
    assert!(
        text.contains("ok   trello: list `Open` on board `Helpdesk`"),
        "{text}"
    );
    assert_eq!(h.count("POST /1/lists"), 0, "{text}");
    // `--fix` makes them, each once.
    let o = h.run(&["doctor", "--fix"]).await;
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    assert!(
        text.contains("ok   trello: list `Intake` created on board `Projects`"),
        "{text}"
    );
    assert!(
        text.contains("ok   trello: list `Resolved` created on board `Helpdesk`"),
        "{text}"
    );
    assert_eq!(h.count("POST /1/lists"), 5, "{text}");
    let projects = list_names(&h, "Projects").await;
    for list in ["Intake", "Matching", "Proposed", "Archived", "Active"] {
        assert_eq!(
            projects.iter().filter(|l| *l == list).count(),
            1,
            "{projects:?}"
        );
    }
    assert!(
        list_names(&h, "Helpdesk")
            .await
            .contains(&"Resolved".to_string())
    );
    // Nothing is missing any more, nothing is made again.
    let o = h.run(&["doctor", "--fix"]).await;
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    assert!(!text.contains("missing"), "{text}");
    assert!(!text.contains("created"), "{text}");
    assert_eq!(h.count("POST /1/lists"), 5, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_written_from_both_sides_survives_two_crashes_with_no_duplicate() {
    let h = helpdesk().await;
    let card = h.prop(TICKET, "trello_card_id").expect("card id");
    let said_in_trello = |token: &'static str, text: &'static str| {
        let h = &h;
        let card = card.clone();
        async move {
            api(
                h,
                token,
                reqwest::Method::POST,
                &format!("/cards/{card}/actions/comments"),
                Some(json!({ "text": text })),
            )
            .await;
        }
    };
    // Two rounds: a message on each side, then a run killed right after its pushes (the
    // comment posted, its id not yet in the note nor the state saved).
    for (round, (vault, trello, token)) in [
        (
            "From the vault, one.",
            "From Trello, one.",
            "sandbox-trello-token-ewa",
        ),
        (
            "From the vault, two.",
            "From Trello, two.",
            "sandbox-trello-token-anna",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let o = h
            .run(&["ticket", "reply", "Stamp card printing", "-m", vault])
            .await;
        assert!(o.status.success(), "{}", out(&o));
        said_in_trello(token, trello).await;
        h.faults(ssot_vault::sandbox::FaultConfig {
            latency_ms: 150,
            ..ssot_vault::sandbox::FaultConfig::default()
        });
        let killed = crate::conformance::suite::sync_killed_after(&h, "pushed").await;
        h.faults(ssot_vault::sandbox::FaultConfig::default());
        assert!(
            killed.is_some(),
            "round {round}: the run was killed after its pushes"
        );
    }
    let before = h.count("POST /1/cards/{id}/actions/comments");
    h.sync().await;
    let texts = [
        "The stamp cards print blank.",
        "From the vault, one.",
        "From Trello, one.",
        "From the vault, two.",
        "From Trello, two.",
    ];
    let said = comments(&h, &card).await;
    let note = h.note(TICKET);
    for text in texts {
        assert_eq!(
            said.iter().filter(|c| c.ends_with(text)).count(),
            1,
            "{text}: {said:#?}"
        );
        assert_eq!(note.matches(text).count(), 1, "{text}: {note}");
    }
    assert_eq!(said.len(), texts.len(), "{said:#?}");
    assert_eq!(stamps(&h).len(), texts.len(), "{note}");
    // Settled: nothing posted, nothing written.
    let (head, posts) = (h.head(), h.count("POST /1/cards/{id}/actions/comments"));
    assert!(posts >= before);
    h.sync().await;
    assert_eq!(h.head(), head);
    assert_eq!(h.count("POST /1/cards/{id}/actions/comments"), posts);
    assert_eq!(
        crate::hs_env::git(&h.v, &["status", "--porcelain"]),
        "",
        "{note}"
    );
}

const ANNA: &str = "sandbox-trello-token-anna";
const EWA: &str = "sandbox-trello-token-ewa";

/// The id of the list `list` of the board `board`, as Ola sees them.
async fn list_id(h: &H, board: &str, list: &str) -> String {
    let boards = api(h, OLA, reqwest::Method::GET, "/members/me/boards", None).await;
    let id = boards
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["name"] == json!(board))
        .and_then(|b| b["id"].as_str())
        .expect("board")
        .to_string();
    let lists = api(
        h,
        OLA,
        reqwest::Method::GET,
        &format!("/boards/{id}/lists"),
        None,
    )
    .await;
    lists
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["name"] == json!(list))
        .and_then(|l| l["id"].as_str())
        .expect("list")
        .to_string()
}

/// A card made on the helpdesk's `Open` list by `token`'s member; its id.
async fn open_card(h: &H, token: &str, name: &str, desc: &str) -> String {
    let list = list_id(h, "Helpdesk", "Open").await;
    let v = api(
        h,
        token,
        reqwest::Method::POST,
        "/cards",
        Some(json!({ "idList": list, "name": name, "desc": desc })),
    )
    .await;
    v["id"].as_str().expect("card id").to_string()
}

/// The ticket notes (their paths) whose `trello_card_id` is `card`.
fn notes_of(h: &H, card: &str) -> Vec<String> {
    std::fs::read_dir(h.v.join("Helpdesk"))
        .expect("helpdesk folder")
        .flatten()
        .map(|e| format!("Helpdesk/{}", e.file_name().to_string_lossy()))
        .filter(|rel| h.prop(rel, "trello_card_id").as_deref() == Some(card))
        .collect()
}

const OLA: &str = "sandbox-trello-token-ola";

/// Tickets opened in Trello by the client (naming the project by a `project:` line) and by the
/// expert (by a link to the project's card) become ticket notes: title, status, `from`, project,
/// the description as the opening message and the comments as the conversation; a card naming
/// no project is reported and not written; the card takes the note's marker after its text, and
/// a run cut short before its state was saved makes no second note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_opened_in_trello_become_ticket_notes() {
    let h = helpdesk().await;
    let project = "Projects/Bakery loyalty app.md";
    let project_card = h.prop(project, "trello_card_id").expect("project card");
    let by_anna = open_card(
        &h,
        ANNA,
        "Receipt printer offline",
        "project: Bakery loyalty app\nThe receipt printer shows offline since Monday.",
    )
    .await;
    api(
        &h,
        EWA,
        reqwest::Method::POST,
        &format!("/cards/{by_anna}/actions/comments"),
        Some(json!({ "text": "Checking the driver." })),
    )
    .await;
    let short = api(
        &h,
        OLA,
        reqwest::Method::GET,
        &format!("/cards/{project_card}"),
        None,
    )
    .await["shortLink"]
        .as_str()
        .expect("short link")
        .to_string();
    let by_ewa = open_card(
        &h,
        EWA,
        "Need the brand colours",
        &format!("For https://trello.com/c/{short}/12-bakery-loyalty-app\nWhich green is it?"),
    )
    .await;
    let lost = open_card(&h, ANNA, "Where is my invoice", "No project named here.").await;
    let state = h.state_dir().join("state.json");
    let state_before = std::fs::read(&state).expect("state");
    let o = h.run(&["sync"]).await;
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "record {lost} (Where is my invoice) makes no valid ticket note"
        )) && text.contains("project"),
        "{text}"
    );
    assert!(notes_of(&h, &lost).is_empty());
    // The client's ticket.
    let t = "Helpdesk/Receipt printer offline.md";
    assert_eq!(notes_of(&h, &by_anna), [t]);
    assert_eq!(h.prop(t, "type").as_deref(), Some("ticket"));
    assert_eq!(h.prop(t, "status").as_deref(), Some("open"));
    assert_eq!(h.prop(t, "from").as_deref(), Some("client"));
    assert_eq!(
        h.prop(t, "project").as_deref(),
        Some("[[Bakery loyalty app]]")
    );
    let note = h.note(t);
    let heads: Vec<&str> = note
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .collect();
    assert_eq!(heads.len(), 2, "{note}");
    assert!(heads[0].ends_with(" · client · Anna Client"), "{note}");
    assert!(heads[1].ends_with(" · expert · Ewa Expert"), "{note}");
    assert!(
        note.find("The receipt printer shows offline since Monday.")
            < note.find("Checking the driver."),
        "{note}"
    );
    // The expert's ticket, its project found by the link to the card.
    let t2 = "Helpdesk/Need the brand colours.md";
    assert_eq!(notes_of(&h, &by_ewa), [t2]);
    assert_eq!(h.prop(t2, "from").as_deref(), Some("expert"));
    assert_eq!(
        h.prop(t2, "project").as_deref(),
        Some("[[Bakery loyalty app]]")
    );
    let o = h.run(&["check"]).await;
    assert!(o.status.success(), "{}", out(&o));
    // The card keeps its text, with the marker after it; the opening message is no comment.
    let card = api(
        &h,
        OLA,
        reqwest::Method::GET,
        &format!("/cards/{by_anna}"),
        None,
    )
    .await;
    let desc = card["desc"].as_str().unwrap_or_default().to_string();
    assert!(
        desc.starts_with("project: Bakery loyalty app\nThe receipt printer shows offline")
            && desc.contains("ssot:"),
        "{desc}"
    );
    assert_eq!(comments(&h, &by_anna).await, ["Checking the driver."]);
    // Settled: the engine sends the new notes' names once (a note made from a record keeps
    // no base for its title), then nothing is left to do, at two requests (the boards' feeds).
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let (head, n) = (h.head(), h.requests());
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(h.head(), head, "{}", out(&o));
    assert_eq!(
        h.requests() - n,
        2,
        "{:?}\n{}",
        h.sb.request_counts(),
        out(&o)
    );
    // As if the run that made the notes had died before saving its state, and before the
    // marker reached the card: the card id in the note finds it; no second note.
    std::fs::write(&state, &state_before).expect("state");
    api(
        &h,
        ANNA,
        reqwest::Method::PUT,
        &format!("/cards/{by_anna}"),
        Some(json!({ "desc": "project: Bakery loyalty app\nThe receipt printer shows offline since Monday." })),
    )
    .await;
    let o = h.run(&["sync"]).await;
    assert!(o.status.code().is_some(), "{}", out(&o));
    assert_eq!(notes_of(&h, &by_anna), [t], "{}", out(&o));
    assert_eq!(notes_of(&h, &by_ewa), [t2], "{}", out(&o));
    let note_now = h.note(t);
    assert_eq!(note_now.matches("### ").count(), 2, "{note_now}");
    assert_eq!(comments(&h, &by_anna).await, ["Checking the driver."]);
}

/// Hostile card names on the helpdesk board make notes with safe file names inside its folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ticket_card_names_make_safe_notes() {
    let h = helpdesk().await;
    let long = "A".repeat(10_000);
    let polish = "Ż".repeat(150);
    let names = [
        "Bad\u{0}name\u{7}\u{1b}[31m",
        long.as_str(),
        "../x",
        polish.as_str(),
    ];
    let mut cards = Vec::new();
    for name in names {
        cards.push(open_card(&h, ANNA, name, "project: Bakery loyalty app\nHelp.").await);
    }
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    for e in std::fs::read_dir(h.v.join("Helpdesk"))
        .expect("dir")
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(name.len() <= 255, "{name}");
        assert!(!name.chars().any(char::is_control), "{name:?}");
        assert!(name.ends_with(".md"), "{name}");
    }
    assert!(!h.v.join("x.md").exists() && !h.v.parent().expect("parent").join("x.md").exists());
    for c in &cards {
        assert_eq!(notes_of(&h, c).len(), 1, "{c}: {}", out(&o));
    }
    let o = h.run(&["check"]).await;
    assert!(o.status.success(), "{}", out(&o));
    let head = h.head();
    let o = h.run(&["sync"]).await;
    assert_eq!(h.head(), head, "{}", out(&o));
}
