//! Trello sync beyond the conformance suite: each mapped key both ways (changes made in Trello
//! through the emulator's admin operations and, for checklists, through the API as a colleague),
//! the `## Credentialing` checklist merged item by item, a create found again after a lost
//! answer or a crash, and hostile card names making safe notes.

use serde_json::{Value, json};
use ssot_vault::sandbox::FaultConfig;

use crate::conformance::harness::Harness;
use crate::conformance::trello::{LOYALTY, MENU, TrelloService, api};
use crate::hs_env::{PROJECT, git, out};

type H = Harness<TrelloService>;

/// The card of a note.
fn card(h: &H, note: &str) -> ssot_vault::sandbox::emulator::RemoteRecord {
    h.record_of(note, "cards")
}

/// Sets a card field in Trello as Ola would.
fn edit(h: &H, note: &str, field: &str, value: &str) {
    let id = h.id_of(note);
    h.remote()
        .edit("cards", &id, field, value)
        .expect("edit in Trello");
}

/// The id of a label of the Projects board.
async fn label(h: &H, board: &str, name: &str) -> String {
    let labels = api(
        h,
        reqwest::Method::GET,
        &format!("/boards/{board}/labels"),
        None,
    )
    .await;
    labels
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["name"] == json!(name))
        .and_then(|l| l["id"].as_str())
        .expect("label")
        .to_string()
}

/// The `Credentialing` checklist items of a note's card: (name, checked), in order.
async fn checklist(h: &H, note: &str) -> Vec<(String, bool)> {
    let id = h.id_of(note);
    let lists = api(
        h,
        reqwest::Method::GET,
        &format!("/cards/{id}/checklists"),
        None,
    )
    .await;
    let cl = lists
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == json!("Credentialing"))
        .cloned()
        .unwrap_or(Value::Null);
    cl["checkItems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["name"].as_str().unwrap_or_default().to_string(),
                i["state"] == json!("complete"),
            )
        })
        .collect()
}

/// The checklist's id and the id of its item `name`.
async fn item(h: &H, note: &str, name: &str) -> (String, String) {
    let id = h.id_of(note);
    let lists = api(
        h,
        reqwest::Method::GET,
        &format!("/cards/{id}/checklists"),
        None,
    )
    .await;
    for c in lists.as_array().into_iter().flatten() {
        for i in c["checkItems"].as_array().into_iter().flatten() {
            if i["name"] == json!(name) {
                return (
                    c["id"].as_str().unwrap_or_default().to_string(),
                    i["id"].as_str().unwrap_or_default().to_string(),
                );
            }
        }
    }
    panic!("no item {name}");
}

/// The note's `## Credentialing` task lines.
fn tasks(h: &H, note: &str) -> Vec<String> {
    let text = h.note(note);
    let Some(start) = text.find("## Credentialing\n") else {
        return Vec::new();
    };
    text[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("- ["))
        .map(str::to_string)
        .collect()
}

fn set_body(h: &H, note: &str, section: &str) {
    let text = h.note(note);
    let text = match text.find("## Credentialing\n") {
        Some(i) => format!("{}{section}", &text[..i]),
        None => format!("{text}\n{section}"),
    };
    std::fs::write(h.v.join(note), text).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mapped_key_travels_both_ways() {
    let h = H::new("").await;
    // The expert is proposed, so that the move to Proposed made in Trello below meets the
    // lifecycle's guards (Trello's list moves are judged by them).
    let note = h.note(LOYALTY).replace(
        "status: matching\n",
        "status: matching\nexpert: \"[[Anna Nowak]]\"\nexpert_status: proposed\n",
    );
    std::fs::write(h.v.join(LOYALTY), note).expect("write");
    git(&h.v, &["commit", "-qam", "Expert proposed"]);
    h.sync().await;
    // Vault → Trello.
    let c = card(&h, LOYALTY);
    assert_eq!(c.field("name"), Some("Bakery loyalty app"));
    assert_eq!(c.field("list"), Some("Matching"));
    assert_eq!(
        c.field("desc"),
        Some("Loyalty app for regulars"),
        "no marker line left"
    );
    assert!(
        c.field("due").is_some_and(|d| d.starts_with("2027-01-31")),
        "{c:?}"
    );
    assert_eq!(c.field("labels"), Some("Medium"));
    assert_eq!(c.field("Blocked reason"), Some("Waiting for the brief"));
    assert_eq!(c.field("Client"), Some("Piekarnia Złoty Kłos"));
    assert_eq!(c.field("ssot_id"), Some("01M7W86HFSWM03FC030X7GYK2A"));
    assert_eq!(card(&h, PROJECT).field("Budget"), Some("45000"));
    assert_eq!(card(&h, PROJECT).field("labels"), Some("High"));
    // Trello → vault: each part of the card edited by a colleague.
    let board = c.raw["idBoard"].as_str().expect("board").to_string();
    h.create("lists", &[("board", "Projects"), ("name", "Proposed")]);
    edit(&h, LOYALTY, "list", "Proposed");
    edit(&h, LOYALTY, "desc", "Stamps and a birthday cake");
    edit(&h, LOYALTY, "due", "2027-02-28");
    edit(&h, LOYALTY, "idLabels", &label(&h, &board, "High").await);
    edit(&h, LOYALTY, "Blocked reason", "Waiting for the NDA");
    edit(&h, LOYALTY, "name", "Renamed in Trello");
    edit(&h, PROJECT, "Budget", "52000");
    let o = h.sync().await;
    assert_eq!(
        h.prop(LOYALTY, "status").as_deref(),
        Some("proposed"),
        "{}",
        out(&o)
    );
    assert_eq!(
        h.prop(LOYALTY, "summary").as_deref(),
        Some("Stamps and a birthday cake")
    );
    assert_eq!(h.prop(LOYALTY, "deadline").as_deref(), Some("2027-02-28"));
    assert_eq!(h.prop(LOYALTY, "priority").as_deref(), Some("high"));
    assert_eq!(
        h.prop(LOYALTY, "blocked_reason").as_deref(),
        Some("Waiting for the NDA")
    );
    assert_eq!(h.prop(PROJECT, "budget").as_deref(), Some("52000"));
    assert!(
        h.v.join(LOYALTY).exists(),
        "the title is the vault's (push only)"
    );
    // Vault → Trello again: a cleared key clears the card's part; other labels are kept.
    let medium = label(&h, &board, "Medium").await;
    let id = h.id_of(MENU);
    api(
        &h,
        reqwest::Method::PUT,
        &format!("/cards/{id}"),
        Some(json!({"idLabels": format!("{},{medium}", card(&h, MENU).raw["idLabels"][0].as_str().unwrap_or_default())})),
    )
    .await;
    let o = h.sync().await;
    assert_eq!(
        h.prop(MENU, "priority").as_deref(),
        Some("low"),
        "{}",
        out(&o)
    );
    for (k, v) in [("priority", "high"), ("deadline", "2027-06-30")] {
        let o = h.run(&["set", MENU, &format!("{k}={v}")]).await;
        assert!(o.status.success(), "{}", out(&o));
    }
    let text = h
        .note(MENU)
        .replace("blocked_reason: Waiting for photos\n", "");
    std::fs::write(h.v.join(MENU), text).expect("write");
    let o = h.sync().await;
    let m = card(&h, MENU);
    assert_eq!(m.field("labels"), Some("High"), "{}", out(&o));
    assert!(m.field("due").is_some_and(|d| d.starts_with("2027-06-30")));
    assert_eq!(m.field("Blocked reason"), None, "cleared");
    // Settled: nothing more to do.
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_list_table_sends_accepted_and_credentialing_to_one_list() {
    let h = H::new("").await;
    let text = h.note(LOYALTY).replace(
        "status: matching\n",
        "status: credentialing\nexpert: \"[[Anna Nowak]]\"\n",
    );
    std::fs::write(h.v.join(LOYALTY), text).expect("write");
    git(&h.v, &["commit", "-qam", "Credentialing"]);
    h.sync().await;
    assert_eq!(card(&h, LOYALTY).field("list"), Some("Credentialing"));
    // A card moved to a list of its own status comes back as that status; an unchanged one is
    // not rewritten (credentialing and accepted share the list).
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head);
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("credentialing"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credentialing_checklist_is_merged_item_by_item() {
    let h = H::new("").await;
    set_body(
        &h,
        LOYALTY,
        "## Credentialing\n\n- [ ] Contract signed\n- [ ] NDA signed\n",
    );
    h.sync().await;
    assert_eq!(
        checklist(&h, LOYALTY).await,
        [
            ("Contract signed".into(), false),
            ("NDA signed".into(), false)
        ]
    );
    // In Trello: one checked, one added.
    let (cl, contract) = item(&h, LOYALTY, "Contract signed").await;
    let id = h.id_of(LOYALTY);
    api(
        &h,
        reqwest::Method::PUT,
        &format!("/cards/{id}/checkItem/{contract}"),
        Some(json!({"state": "complete"})),
    )
    .await;
    api(
        &h,
        reqwest::Method::POST,
        &format!("/checklists/{cl}/checkItems"),
        Some(json!({"name": "Bank details"})),
    )
    .await;
    h.sync().await;
    assert_eq!(
        tasks(&h, LOYALTY),
        [
            "- [x] Contract signed",
            "- [ ] NDA signed",
            "- [ ] Bank details"
        ]
    );
    // In the vault: one checked, one renamed, one added.
    set_body(
        &h,
        LOYALTY,
        "## Credentialing\n\n- [x] Contract signed\n- [x] NDA signed\n- [ ] Bank account details\n- [ ] Access granted\n",
    );
    h.sync().await;
    assert_eq!(
        checklist(&h, LOYALTY).await,
        [
            ("Contract signed".into(), true),
            ("NDA signed".into(), true),
            ("Bank account details".into(), false),
            ("Access granted".into(), false),
        ]
    );
    // Renamed in Trello.
    let (_, access) = item(&h, LOYALTY, "Access granted").await;
    api(
        &h,
        reqwest::Method::PUT,
        &format!("/cards/{id}/checkItem/{access}"),
        Some(json!({"name": "Access to systems granted"})),
    )
    .await;
    h.sync().await;
    assert_eq!(
        tasks(&h, LOYALTY).last().map(String::as_str),
        Some("- [ ] Access to systems granted")
    );
    // At once: checked in Trello and renamed in the vault. Both changes are kept, on one item:
    // renamed and checked, on both sides.
    let (_, bank) = item(&h, LOYALTY, "Bank account details").await;
    api(
        &h,
        reqwest::Method::PUT,
        &format!("/cards/{id}/checkItem/{bank}"),
        Some(json!({"state": "complete"})),
    )
    .await;
    let text = h
        .note(LOYALTY)
        .replace("- [ ] Bank account details", "- [ ] IBAN received");
    std::fs::write(h.v.join(LOYALTY), text).expect("write");
    let o = h.sync().await;
    let note = tasks(&h, LOYALTY);
    assert!(
        note.contains(&"- [x] IBAN received".to_string()),
        "{note:?}\n{}",
        out(&o)
    );
    assert!(
        !note.iter().any(|t| t.contains("Bank account details")),
        "{note:?}"
    );
    let remote = checklist(&h, LOYALTY).await;
    assert!(
        remote.contains(&("IBAN received".into(), true)),
        "{remote:?}"
    );
    assert!(
        !remote.iter().any(|(t, _)| t == "Bank account details"),
        "{remote:?}"
    );
    // And the other way: renamed in Trello, checked in the vault.
    let (_, iban) = item(&h, LOYALTY, "IBAN received").await;
    api(
        &h,
        reqwest::Method::PUT,
        &format!("/cards/{id}/checkItem/{iban}"),
        Some(json!({"name": "IBAN and SWIFT received"})),
    )
    .await;
    let text = h
        .note(LOYALTY)
        .replace("- [x] IBAN received", "- [ ] IBAN received");
    std::fs::write(h.v.join(LOYALTY), text).expect("write");
    let o = h.sync().await;
    let note = tasks(&h, LOYALTY);
    assert!(
        note.contains(&"- [ ] IBAN and SWIFT received".to_string()),
        "{note:?}\n{}",
        out(&o)
    );
    assert!(
        !note.iter().any(|t| t.ends_with("] IBAN received")),
        "{note:?}"
    );
    let remote = checklist(&h, LOYALTY).await;
    assert!(
        remote.contains(&("IBAN and SWIFT received".into(), false)),
        "{remote:?}"
    );
    // Deleted on each side.
    let (cl, access) = item(&h, LOYALTY, "Access to systems granted").await;
    api(
        &h,
        reqwest::Method::DELETE,
        &format!("/checklists/{cl}/checkItems/{access}"),
        None,
    )
    .await;
    let text = h.note(LOYALTY).replace("- [x] NDA signed\n", "");
    std::fs::write(h.v.join(LOYALTY), text).expect("write");
    h.sync().await;
    let names: Vec<String> = checklist(&h, LOYALTY)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(!names.contains(&"NDA signed".to_string()), "{names:?}");
    assert!(
        !tasks(&h, LOYALTY)
            .iter()
            .any(|t| t.contains("Access to systems"))
    );
    assert_eq!(names.len(), tasks(&h, LOYALTY).len());
    let head = h.head();
    let o = h.sync().await;
    assert_eq!(
        h.head(),
        head,
        "settled: {}\n{}",
        out(&o),
        git(&h.v, &["show", "HEAD"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_was_lost_is_found_not_duplicated() {
    let h = H::new("").await;
    // The first card create is carried out, and its answer lost.
    h.faults(FaultConfig {
        drop_next: 1,
        drop_after_handling: true,
        path_prefix: Some("/1/cards".into()),
        ..FaultConfig::default()
    });
    let o = h.sync().await;
    assert_eq!(h.live("cards").len(), 3, "{}", out(&o));
    assert_eq!(h.count("POST /1/cards"), 3, "never sent twice");
    for note in [PROJECT, LOYALTY, MENU] {
        let c = card(&h, note);
        assert_eq!(h.prop(note, "trello_card_id"), Some(c.id.clone()));
        assert!(!c.field("desc").unwrap_or("").contains("ssot:"), "{c:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_left_by_a_crash_mid_create_is_taken_up() {
    let h = H::new("").await;
    // What a run killed between the create and its custom field leaves: a card whose
    // description ends with the note's marker line, and no ssot_id field.
    let sid = h.prop(LOYALTY, "ssot_id").expect("ssot_id");
    h.create("lists", &[("board", "Projects"), ("name", "Matching")]);
    let id = h.create(
        "cards",
        &[
            ("name", "Bakery loyalty app"),
            ("list", "Matching"),
            (
                "desc",
                &format!("Loyalty app for regulars\n\n[ssot_id]: ssot:{sid}"),
            ),
        ],
    );
    let o = h.sync().await;
    assert_eq!(h.live("cards").len(), 3, "{}", out(&o));
    assert_eq!(h.prop(LOYALTY, "trello_card_id"), Some(id.clone()));
    let c = card(&h, LOYALTY);
    assert_eq!(c.id, id);
    assert_eq!(
        c.field("desc"),
        Some("Loyalty app for regulars"),
        "marker gone"
    );
    assert_eq!(c.field("list"), Some("Matching"), "the vault's status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_card_names_make_safe_notes() {
    let h = H::new("").await;
    h.sync().await;
    let long = "A".repeat(10_000);
    let polish = "Ż".repeat(150);
    let names = [
        "Bad\u{0}name\u{7}\u{1b}[31m",
        long.as_str(),
        "../x",
        polish.as_str(),
    ];
    for name in names {
        h.create(
            "cards",
            &[
                ("name", name),
                ("list", "Active"),
                ("Client", "Piekarnia Złoty Kłos"),
            ],
        );
    }
    let o = h.run(&["sync"]).await;
    assert!(o.status.code().is_some(), "{}", out(&o));
    // Every card became a note inside the projects folder, with a safe file name.
    let mut made = Vec::new();
    for e in std::fs::read_dir(h.v.join("Projects"))
        .expect("dir")
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(name.len() <= 255, "{name}");
        assert!(!name.chars().any(char::is_control), "{name:?}");
        assert!(name.ends_with(".md"), "{name}");
        made.push(name);
    }
    assert!(!h.v.join("x.md").exists() && !h.v.parent().expect("parent").join("x.md").exists());
    let ids: Vec<String> = made
        .iter()
        .filter_map(|n| h.prop(&format!("Projects/{n}"), "trello_card_id"))
        .collect();
    assert_eq!(ids.len(), 7, "{made:?}\n{}", out(&o));
    assert_eq!(h.live("cards").len(), 7, "no card made twice");
    // The next run has nothing to do.
    let head = h.head();
    let o = h.run(&["sync"]).await;
    assert_eq!(h.head(), head, "{}", out(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_without_custom_fields_keeps_the_ssot_id_in_the_description() {
    let h = H::new("").await;
    // The board refuses new custom fields (the Custom Fields power-up is off): `ssot_id` and
    // `Client` cannot be made.
    h.faults(FaultConfig {
        fail_next: 2,
        fail_status: Some(403),
        path_prefix: Some("/1/customFields".into()),
        ..FaultConfig::default()
    });
    let o = h.sync().await;
    let check = |h: &H| {
        let cards = h.live("cards");
        assert_eq!(cards.len(), 3, "no duplicate");
        for note in [PROJECT, LOYALTY, MENU] {
            let id = h.id_of(note);
            let sid = h.prop(note, "ssot_id").expect("ssot_id");
            let c = cards.iter().find(|c| c.id == id).expect("its card");
            assert_eq!(c.field("ssot_id"), None);
            assert!(
                c.field("desc")
                    .is_some_and(|d| d.ends_with(&format!("\n\n[ssot_id]: ssot:{sid}"))),
                "{c:?}"
            );
        }
    };
    check(&h);
    // The line is hidden from the note, and a summary edited in Trello keeps it hidden.
    assert_eq!(
        h.prop(LOYALTY, "summary").as_deref(),
        Some("Loyalty app for regulars"),
        "{}",
        out(&o)
    );
    let sid = h.prop(LOYALTY, "ssot_id").expect("ssot_id");
    edit(
        &h,
        LOYALTY,
        "desc",
        &format!("Stamps\n\n[ssot_id]: ssot:{sid}"),
    );
    h.sync().await;
    assert_eq!(h.prop(LOYALTY, "summary").as_deref(), Some("Stamps"));
    // A summary written from the vault keeps the line on the card.
    let o = h.run(&["set", MENU, "summary=Screens"]).await;
    assert!(o.status.success(), "{}", out(&o));
    h.sync().await;
    check(&h);
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_deleted_in_trello_marks_its_note_archived() {
    let h = H::new("check_archived_minutes = 0").await;
    h.sync().await;
    let id = h.id_of(MENU);
    api(&h, reqwest::Method::DELETE, &format!("/cards/{id}"), None).await;
    // The feed names the card; reading it answers Trello's plain-text 404, and the look for
    // archived cards finds it gone.
    let o = h.sync().await;
    assert!(
        h.note(MENU).contains("\ntrello_archived: "),
        "{}\n{}",
        h.note(MENU),
        out(&o)
    );
    assert_eq!(h.live("cards").len(), 2, "not re-created");
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legal_move_out_of_a_shared_list_is_carried_to_trello() {
    let h = H::new("").await;
    // The default list table: intake, matching and proposed share the `Intake` list.
    let cfg = h.v.join("ssot-vault.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    let start = text.find("[remotes.trello.lists]").expect("lists");
    let end = start + text[start..].find("\n\n").expect("end of the table");
    std::fs::write(&cfg, format!("{}{}", &text[..start], &text[end..])).expect("config");
    let note = h.note(LOYALTY).replace(
        "status: matching\n",
        "status: proposed\nexpert: \"[[Anna Nowak]]\"\nexpert_status: proposed\n",
    );
    std::fs::write(h.v.join(LOYALTY), note).expect("write");
    git(&h.v, &["commit", "-qam", "Proposed, default lists"]);
    h.sync().await;
    assert_eq!(card(&h, LOYALTY).field("list"), Some("Intake"));
    // The expert accepts: the move out of the shared list is judged from the status the note had
    // at its last sync (`proposed`), along the lifecycle's path, whose guards the note meets.
    let note = h
        .note(LOYALTY)
        .replace("status: proposed\n", "status: accepted\n")
        .replace("expert_status: proposed\n", "expert_status: accepted\n");
    std::fs::write(h.v.join(LOYALTY), note).expect("write");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(card(&h, LOYALTY).field("list"), Some("Credentialing"));
    // A move the lifecycle does not allow is still refused, named from the note's last synced
    // status.
    let note = h.note(MENU).replace("status: matching\n", "status: done\n");
    std::fs::write(h.v.join(MENU), note).expect("write");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("status matching→done"), "{}", out(&o));
    assert_eq!(card(&h, MENU).field("list"), Some("Intake"));
}

/// Attaches a file to a note's card as Ola (a multipart upload named `name`).
async fn upload(h: &H, note: &str, name: &str, bytes: &[u8]) -> Value {
    let id = h.id_of(note);
    let boundary = "XbOuNdArYx";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = h
        .http
        .post(format!("{}/1/cards/{id}/attachments", h.sb.base_url()))
        .header(
            "Authorization",
            format!(
                "OAuth oauth_consumer_key=\"{}\", oauth_token=\"{}\"",
                ssot_vault::sandbox::DEFAULT_TRELLO_KEY,
                crate::conformance::trello::OLA
            ),
        )
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload");
    assert!(r.status().is_success(), "upload: {}", r.status());
    r.json().await.expect("attachment")
}

/// Attaches a link to a note's card as Ola.
async fn attach_link(h: &H, note: &str, name: &str, url: &str) -> Value {
    let id = h.id_of(note);
    api(
        h,
        reqwest::Method::POST,
        &format!("/cards/{id}/attachments"),
        Some(json!({ "name": name, "url": url })),
    )
    .await
}

/// The note's `## Documents` lines (`None`: no such section).
fn documents(h: &H, note: &str) -> Option<Vec<String>> {
    let text = h.note(note);
    let start = text.find("\n## Documents\n")?;
    Some(
        text[start + 1..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("## "))
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// The day of an attachment as the note shows it.
fn day_of(att: &Value) -> String {
    att["date"].as_str().expect("date")[..10].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_attached_to_the_card_are_listed_in_the_note() {
    let h = H::new("").await;
    set_body(&h, LOYALTY, "## Credentialing\n\n- [ ] NDA signed\n");
    h.sync().await;
    assert_eq!(documents(&h, LOYALTY), None, "no attachment, no section");
    // Ola attaches the signed NDA and a link: the next (incremental) pull lists both.
    let nda = upload(&h, LOYALTY, "NDA signed.pdf", b"%PDF-1.4 signed").await;
    let cv = attach_link(&h, LOYALTY, "CV", "https://example.org/cv").await;
    let full_reads = h.count("GET /1/boards/{id}/cards/{filter}");
    let o = h.sync().await;
    assert_eq!(
        h.count("GET /1/boards/{id}/cards/{filter}"),
        full_reads,
        "read from the feed, not a full read"
    );
    let url = nda["url"].as_str().expect("url");
    assert!(
        url.starts_with("http://") && url.ends_with("/NDA%20signed.pdf"),
        "{url}"
    );
    let listed = vec![
        format!("- [NDA signed.pdf]({url}) · {}", day_of(&nda)),
        format!("- [CV](https://example.org/cv) · {}", day_of(&cv)),
    ];
    assert_eq!(documents(&h, LOYALTY), Some(listed.clone()), "{}", out(&o));
    assert_eq!(
        tasks(&h, LOYALTY),
        ["- [ ] NDA signed"],
        "the checklist stays"
    );
    // Nothing changed: the note is not rewritten, nothing is committed.
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "an unchanged list writes nothing");
    // The list is the card's: a hand edit is undone; nothing reaches Trello.
    let text = h.note(LOYALTY).replace("[CV]", "[My CV]");
    std::fs::write(h.v.join(LOYALTY), text).expect("write");
    let uploads = h.count("POST /1/cards/{id}/attachments");
    h.sync().await;
    assert_eq!(documents(&h, LOYALTY), Some(listed.clone()));
    assert_eq!(h.count("POST /1/cards/{id}/attachments"), uploads);
    // Deleted in Trello: gone from the list.
    let card = h.id_of(LOYALTY);
    let att = nda["id"].as_str().expect("id");
    api(
        &h,
        reqwest::Method::DELETE,
        &format!("/cards/{card}/attachments/{att}"),
        None,
    )
    .await;
    h.sync().await;
    assert_eq!(documents(&h, LOYALTY), Some(listed[1..].to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_attachment_names_are_escaped_in_the_documents_list() {
    let h = H::new("").await;
    h.sync().await;
    let nul = attach_link(&h, LOYALTY, "a\u{0}b\nc", "https://example.org/a").await;
    let up = upload(&h, LOYALTY, "../x", b"x").await;
    let long = attach_link(&h, LOYALTY, &"n".repeat(10_000), "https://example.org/l").await;
    let inject = attach_link(
        &h,
        LOYALTY,
        "](javascript:alert(1)) [[Clients/Piekarnia]] #tag",
        "https://example.org/i",
    )
    .await;
    let js = attach_link(&h, LOYALTY, "click me", "javascript:alert(1)").await;
    let o = h.sync().await;
    let up_url = up["url"].as_str().expect("url");
    assert!(up_url.ends_with("/download/..%2Fx"), "{up_url}");
    let want = vec![
        format!("- [a b c](https://example.org/a) · {}", day_of(&nul)),
        format!("- [../x]({up_url}) · {}", day_of(&up)),
        format!(
            "- [{}…](https://example.org/l) · {}",
            "n".repeat(200),
            day_of(&long)
        ),
        format!(
            "- [\\]\\(javascript:alert\\(1\\)\\) \\[\\[Clients/Piekarnia\\]\\] \\#tag](https://example.org/i) · {}",
            day_of(&inject)
        ),
        format!("- click me · {}", day_of(&js)),
    ];
    assert_eq!(documents(&h, LOYALTY), Some(want.clone()), "{}", out(&o));
    let text = h.note(LOYALTY);
    assert!(!text.contains("](javascript:") && !text.contains('\0'));
    assert!(!h.v.join("x").exists() && !h.v.join("Projects/x").exists());
    // Read back as written: the next sync changes nothing.
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head);
    assert_eq!(documents(&h, LOYALTY), Some(want));
}
