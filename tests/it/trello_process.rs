//! The vault's process from Trello: a card moved to the Blocked list blocks its project (the
//! reason is the card's `Blocked reason`, else its newest comment), moved back it unblocks it,
//! each through the lifecycle's guards; a move the guards refuse is not taken, the card goes
//! back to its list and a comment on it says why.

use serde_json::{Value, json};
use ssot_vault::sandbox::person::Person;

use crate::conformance::harness::Harness;
use crate::conformance::trello::{LOYALTY, MENU, OLA, TrelloService, api};
use crate::hs_env::{git, out};

type H = Harness<TrelloService>;

/// Sets a card field in Trello as Ola would.
fn edit(h: &H, note: &str, field: &str, value: &str) {
    let id = h.id_of(note);
    h.remote()
        .edit("cards", &id, field, value)
        .expect("edit in Trello");
}

/// The list a note's card is in.
fn list(h: &H, note: &str) -> Option<String> {
    h.record_of(note, "cards").field("list").map(str::to_string)
}

/// The texts of a card's comments, newest first.
async fn comments(h: &H, note: &str) -> Vec<String> {
    let id = h.id_of(note);
    let v = api(
        h,
        reqwest::Method::GET,
        &format!("/cards/{id}/actions?filter=commentCard"),
        None,
    )
    .await;
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.pointer("/data/text").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// A vault whose `Bakery loyalty app` is active (every guard of `active` met), synced; the
/// board has a `Blocked` list.
async fn active() -> H {
    let h = H::new("").await;
    crate::conformance::trello::make_loyalty_active(&h.v);
    h.sync().await;
    assert_eq!(list(&h, LOYALTY).as_deref(), Some("Active"));
    h.create("lists", &[("board", "Projects"), ("name", "Blocked")]);
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_moved_to_blocked_blocks_its_project_and_moved_back_unblocks_it() {
    let h = active().await;
    // Blocked in Trello with its reason in the custom field.
    edit(&h, LOYALTY, "list", "Blocked");
    edit(&h, LOYALTY, "Blocked reason", "Waiting for VPN access");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("blocked"));
    assert_eq!(
        h.prop(LOYALTY, "blocked_reason").as_deref(),
        Some("Waiting for VPN access")
    );
    let log = git(&h.v, &["log", "-1", "--format=%B"]);
    assert!(log.contains("Ssot-Source: trello"), "{log}");
    // Back to Active with the reason cleared: unblocked.
    edit(&h, LOYALTY, "list", "Active");
    edit(&h, LOYALTY, "Blocked reason", "");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("active"));
    assert_eq!(
        h.prop(LOYALTY, "blocked_reason"),
        None,
        "{}",
        h.note(LOYALTY)
    );
    // Blocked again with no reason field: the newest comment is the reason.
    let id = h.id_of(LOYALTY);
    api(
        &h,
        reqwest::Method::POST,
        &format!("/cards/{id}/actions/comments"),
        Some(json!({"text": "The client paused the work\nuntil January"})),
    )
    .await;
    edit(&h, LOYALTY, "list", "Blocked");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("blocked"));
    assert_eq!(
        h.prop(LOYALTY, "blocked_reason").as_deref(),
        Some("The client paused the work until January")
    );
    // Moved back: unblocked (the reason was never in the field).
    edit(&h, LOYALTY, "list", "Active");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("active"));
    assert_eq!(
        h.prop(LOYALTY, "blocked_reason"),
        None,
        "{}",
        h.note(LOYALTY)
    );
    let (head, n) = (h.head(), h.requests());
    h.sync().await;
    assert_eq!(h.head(), head);
    assert_eq!(h.requests() - n, 1, "{:?}", h.sb.request_counts());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_move_the_lifecycle_refuses_is_moved_back_with_a_comment() {
    let h = active().await;
    // A project in matching cannot become active.
    edit(&h, MENU, "list", "Active");
    let o = h.run(&["sync"]).await;
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("status matching→active made in trello")
            && text.contains("moved back to Matching"),
        "{text}"
    );
    assert_eq!(h.prop(MENU, "status").as_deref(), Some("matching"));
    assert_eq!(list(&h, MENU).as_deref(), Some("Matching"));
    let said = comments(&h, MENU).await;
    assert!(
        said.first().is_some_and(
            |c| c.contains("moved this card back to Matching") && c.contains("not allowed")
        ),
        "{said:?}"
    );
    // Blocked with no reason at all (no field, no comment): refused too.
    edit(&h, LOYALTY, "list", "Blocked");
    let o = h.run(&["sync"]).await;
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("blocked_reason is empty"), "{text}");
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("active"));
    assert_eq!(list(&h, LOYALTY).as_deref(), Some("Active"));
    // Settled: the next run changes nothing, at one request.
    let (head, n) = (h.head(), h.requests());
    let o = h.sync().await;
    assert_eq!(h.head(), head, "{}", out(&o));
    assert_eq!(h.requests() - n, 1, "{:?}", h.sb.request_counts());
}

/// A vault whose `Bakery loyalty app` is in credentialing with every guard of `active` met but
/// (unless `contract`) its `Contract signed` task, synced.
async fn credentialing(contract: bool) -> H {
    let h = H::new("").await;
    let note = h
        .note(LOYALTY)
        .replace(
            "status: matching\n",
            "status: credentialing\nexpert: \"[[Anna Nowak]]\"\nexpert_status: accepted\nbudget: 12000\nestimate_hours: 80\n",
        )
        .replace("blocked_reason: Waiting for the brief\n", "")
        + &format!(
            "\n## Credentialing\n\n- [x] NDA signed\n- [{}] Contract signed\n",
            if contract { "x" } else { " " }
        );
    std::fs::write(h.v.join(LOYALTY), note).expect("write");
    // Moves made in Trello alone: the project is not made active by its last tick.
    let cfg = std::fs::read_to_string(h.v.join("ssot-vault.toml"))
        .expect("config")
        .replace("\nauto_activate = true\n", "\nauto_activate = false\n");
    std::fs::write(h.v.join("ssot-vault.toml"), cfg).expect("write");
    git(&h.v, &["commit", "-qam", "Credentialing"]);
    let o = h.sync().await;
    assert_eq!(
        list(&h, LOYALTY).as_deref(),
        Some("Credentialing"),
        "{}",
        out(&o)
    );
    h
}

/// Sets the state of the card's checklist item `name` in Trello, as Ola would.
async fn tick(h: &H, note: &str, name: &str, done: bool) {
    let id = h.id_of(note);
    let lists = api(
        h,
        reqwest::Method::GET,
        &format!("/cards/{id}/checklists"),
        None,
    )
    .await;
    let item = lists
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["checkItems"].as_array().into_iter().flatten())
        .find(|i| i["name"] == json!(name))
        .and_then(|i| i["id"].as_str())
        .expect("checklist item")
        .to_string();
    let state = if done { "complete" } else { "incomplete" };
    api(
        h,
        reqwest::Method::PUT,
        &format!("/cards/{id}/checkItem/{item}"),
        Some(json!({ "state": state })),
    )
    .await;
}

/// The last credentialing task ticked in Trello and the card moved to `Active`, both before one
/// run: the move is judged with the ticks it comes with, and taken in that run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_to_active_is_judged_with_the_checklist_ticked_in_the_same_pull() {
    let h = credentialing(false).await;
    tick(&h, LOYALTY, "Contract signed", true).await;
    edit(&h, LOYALTY, "list", "Active");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("active"));
    assert!(
        h.note(LOYALTY)
            .contains("- [x] NDA signed\n- [x] Contract signed\n"),
        "{}",
        h.note(LOYALTY)
    );
    assert_eq!(list(&h, LOYALTY).as_deref(), Some("Active"));
    assert!(comments(&h, LOYALTY).await.is_empty());
    let (head, n) = (h.head(), h.requests());
    h.sync().await;
    assert_eq!(h.head(), head);
    assert_eq!(h.requests() - n, 1, "{:?}", h.sb.request_counts());
}

/// A credentialing task unticked in Trello in the same pull as the card's move to `Active`:
/// the move is refused (the task is open), the card goes back with a comment, and the note
/// takes the untick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_to_active_with_a_task_unticked_in_the_same_pull_is_moved_back() {
    let h = credentialing(true).await;
    tick(&h, LOYALTY, "Contract signed", false).await;
    edit(&h, LOYALTY, "list", "Active");
    let o = h.run(&["sync"]).await;
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("status credentialing→active made in trello")
            && text.contains("Contract signed is open")
            && text.contains("moved back to Credentialing"),
        "{text}"
    );
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("credentialing"));
    assert!(
        h.note(LOYALTY).contains("- [ ] Contract signed\n"),
        "{}",
        h.note(LOYALTY)
    );
    assert_eq!(list(&h, LOYALTY).as_deref(), Some("Credentialing"));
    let said = comments(&h, LOYALTY).await;
    assert!(
        said.first()
            .is_some_and(|c| c.contains("moved this card back to Credentialing")
                && c.contains("Contract signed is open")),
        "{said:?}"
    );
    let (head, n) = (h.head(), h.requests());
    let o = h.sync().await;
    assert_eq!(h.head(), head, "{}", out(&o));
    assert_eq!(h.requests() - n, 1, "{:?}", h.sb.request_counts());
}

/// A card moved out of `Blocked` with its `Blocked reason` left in the field: the reason
/// belongs to the blocked state, so the move is taken, the note's reason emptied and the
/// card's field too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_moved_out_of_blocked_leaves_its_reason_behind() {
    let h = active().await;
    edit(&h, LOYALTY, "list", "Blocked");
    edit(&h, LOYALTY, "Blocked reason", "Waiting for VPN access");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("blocked"));
    // Back to Active, the reason left in the field.
    edit(&h, LOYALTY, "list", "Active");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("active"));
    assert_eq!(
        h.prop(LOYALTY, "blocked_reason"),
        None,
        "{}",
        h.note(LOYALTY)
    );
    let card = h.record_of(LOYALTY, "cards");
    assert_eq!(card.field("list"), Some("Active"));
    assert!(
        card.field("Blocked reason").is_none_or(str::is_empty),
        "{card:?}"
    );
    assert!(comments(&h, LOYALTY).await.is_empty());
    let (head, n) = (h.head(), h.requests());
    let o = h.sync().await;
    assert_eq!(h.head(), head, "{}", out(&o));
    assert_eq!(h.requests() - n, 1, "{:?}", h.sb.request_counts());
}

fn hash(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// The card's uploaded attachments: (name, a hash of the bytes as downloaded).
async fn attachments(h: &H, card: &str) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Person::new(&h.sb, OLA)
        .with_client(h.http.clone())
        .attachment_bytes(card)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|(name, bytes)| (name, hash(&bytes)))
        .collect();
    out.sort();
    out
}

/// Archiving a project attaches its export (CSV and XML) to its card, read back and compared;
/// a run that stopped after the uploads, before its journal said the action was done, is
/// followed by one that finds them attached and uploads nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archive_export_is_attached_to_the_card_once() {
    let h = active().await;
    let name = "Bakery loyalty app";
    let o = h.run(&["project", "done", name]).await;
    assert!(o.status.success(), "{}", out(&o));
    h.sync().await;
    let card = h.id_of(LOYALTY);
    let sid = h.prop(LOYALTY, "ssot_id").expect("sid");
    let o = h.run(&["archive", name]).await;
    assert!(o.status.success(), "{}", out(&o));
    let dir = h.v.join(format!("Archive/{name}"));
    let state = h.state_dir().join("state.json");
    let journal = h.state_dir().join("journal.jsonl");
    let (state_before, journal_before) = (
        std::fs::read(&state).expect("state"),
        std::fs::read(&journal).expect("journal"),
    );
    let uploads = h.count("POST /1/cards/{id}/attachments");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let want: Vec<(String, u64)> = ["csv", "xml"]
        .into_iter()
        .map(|ext| {
            let f = format!("{name}.{ext}");
            let bytes = std::fs::read(dir.join(&f)).expect("export");
            assert!(bytes.len() > 100, "{f}");
            (f, hash(&bytes))
        })
        .collect();
    assert_eq!(attachments(&h, &card).await, want, "{}", out(&o));
    assert_eq!(h.count("POST /1/cards/{id}/attachments") - uploads, 2);
    // As if that run had been killed after the uploads: its state not saved, its journal
    // saying the action was started and not that it was done.
    std::fs::write(&state, &state_before).expect("state");
    let mut text = String::from_utf8(journal_before).expect("utf-8");
    for (event, detail) in [
        ("start", json!({"records": 1})),
        (
            "act",
            json!({"id": format!("{sid}/done>archived/0/attach-export"), "remote_id": card}),
        ),
    ] {
        let line = json!({"run": "20261130T000001Z-cccccc", "at": jiff::Timestamp::now().to_string(),
            "event": event, "detail": detail});
        text.push_str(&format!("{line}\n"));
    }
    std::fs::write(&journal, text).expect("journal");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(attachments(&h, &card).await, want, "nothing attached twice");
    assert_eq!(
        h.count("POST /1/cards/{id}/attachments") - uploads,
        2,
        "{}",
        out(&o)
    );
    let (head, n) = (h.head(), h.requests());
    h.sync().await;
    assert_eq!(h.head(), head);
    assert_eq!(h.requests() - n, 1, "{:?}", h.sb.request_counts());
}

/// The export's uploads and downloads go through the HTTP layer: the run's request figure
/// counts them, as the emulator does (so Trello's limit, paced by that layer, holds for them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exports_transfers_are_counted_with_the_runs_requests() {
    let h = active().await;
    let name = "Bakery loyalty app";
    let o = h.run(&["project", "done", name]).await;
    assert!(o.status.success(), "{}", out(&o));
    h.sync().await;
    let o = h.run(&["archive", name]).await;
    assert!(o.status.success(), "{}", out(&o));
    let (n, uploads, downloads) = (
        h.requests(),
        h.count("POST /1/cards/{id}/attachments"),
        h.count("GET /1/cards/{id}/attachments/{idAttachment}/download/{fileName}"),
    );
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(h.count("POST /1/cards/{id}/attachments") - uploads, 2);
    assert!(
        h.count("GET /1/cards/{id}/attachments/{idAttachment}/download/{fileName}") - downloads
            >= 2,
        "{:?}",
        h.sb.request_counts()
    );
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let said: u64 = text
        .lines()
        .find_map(|l| {
            let (_, rest) = l.split_once("; ")?;
            rest.split_once(" requests")?.0.trim().parse().ok()
        })
        .expect("the run's request figure");
    assert_eq!(
        said,
        h.requests() - n,
        "{text}\n{:?}",
        h.sb.request_counts()
    );
}

/// `[workflow] auto_activate` (the template's setting) with Jira enabled beside Trello: the last
/// credentialing item ticked on the card is pulled by one `sync`, which makes the project active
/// (its own commit, with its `Ssot-Transition` trailer) and carries the move: the Jira issue In
/// Progress, the expert given access, the card moved to `Active`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_item_ticked_on_the_card_makes_the_project_active_everywhere_in_one_sync() {
    use ssot_vault::sandbox::jira::store::SEED_USERS;
    use ssot_vault::sandbox::jira::{DEFAULT_EMAIL, DEFAULT_TOKEN};
    let h = H::new("").await;
    // Jira enabled beside Trello (as `conformance::jira::configure_jira` does, without its notes).
    let cfg = std::fs::read_to_string(h.v.join("ssot-vault.toml")).expect("config");
    assert!(
        cfg.contains("\nauto_activate = true\n"),
        "the template's setting"
    );
    let (start, end) = (
        cfg.find("[remotes.jira]").expect("jira section"),
        cfg.find("[remotes.trello]").expect("trello section"),
    );
    let jira_section = format!(
        "[remotes.jira]\nenabled = true\nbase_url = \"{}\"\nproject_key = \"SSOT\"\nsettle_max_seconds = 0\n\n",
        h.sb.jira_base_url()
    );
    let cfg = format!("{}{jira_section}{}", &cfg[..start], &cfg[end..]);
    std::fs::write(h.v.join("ssot-vault.toml"), cfg).expect("write");
    let expert = "Experts/Anna Nowak.md";
    let text = h.note(expert).replacen(
        "\n---\n",
        &format!("\njira_account_id: {}\n---\n", SEED_USERS[1].0),
        1,
    );
    std::fs::write(h.v.join(expert), text).expect("write");
    let note = h
        .note(LOYALTY)
        .replace(
            "status: matching\n",
            "status: credentialing\nexpert: \"[[Anna Nowak]]\"\nexpert_status: accepted\nbudget: 12000\nestimate_hours: 80\n",
        )
        .replace("blocked_reason: Waiting for the brief\n", "")
        + "\n## Credentialing\n\n- [x] NDA signed\n- [ ] Contract signed\n";
    std::fs::write(h.v.join(LOYALTY), note).expect("write");
    git(&h.v, &["commit", "-qam", "Credentialing"]);
    let jira = [
        ("JIRA_EMAIL", DEFAULT_EMAIL),
        ("JIRA_API_TOKEN", DEFAULT_TOKEN),
    ];
    let sync = || async {
        let o = h.run_with(&["sync"], &jira).await;
        assert!(o.status.success(), "sync: {}", out(&o));
        o
    };
    sync().await;
    let key = h.prop(LOYALTY, "jira_key").expect("jira key");
    let sid = h.prop(LOYALTY, "ssot_id").expect("ssot_id");
    let issue = |h: &H| {
        h.sb.remote("jira")
            .expect("jira")
            .by_ssot_id("issues", &sid)
            .expect("issues")
            .into_iter()
            .find(|r| r.id == key)
            .expect("the project's issue")
    };
    assert_ne!(issue(&h).field("status"), Some("In Progress"));
    assert_eq!(list(&h, LOYALTY).as_deref(), Some("Credentialing"));
    let ewa = (SEED_USERS[1].1, "sandbox-jira-token-ewa");
    let can_read = || async {
        reqwest::Client::new()
            .get(format!("{}/rest/api/3/issue/{key}", h.sb.jira_base_url()))
            .basic_auth(ewa.0, Some(ewa.1))
            .send()
            .await
            .expect("send")
            .status()
            .is_success()
    };
    assert!(!can_read().await);
    // The last item ticked on the card; one sync.
    tick(&h, LOYALTY, "Contract signed", true).await;
    let o = sync().await;
    assert_eq!(
        h.prop(LOYALTY, "status").as_deref(),
        Some("active"),
        "{}",
        out(&o)
    );
    assert!(
        out(&o).contains("project Projects/Bakery loyalty app.md made active"),
        "{}",
        out(&o)
    );
    let log = git(&h.v, &["log", "--format=%B%x00"]);
    assert!(
        log.split('\0').any(|m| m.contains("credentialing→active")
            && m.contains("Ssot-Transition: credentialing→active")),
        "{log}"
    );
    assert_eq!(
        issue(&h).field("status"),
        Some("In Progress"),
        "{}",
        out(&o)
    );
    assert_eq!(issue(&h).field("assignee"), Some(SEED_USERS[1].0));
    assert!(can_read().await, "the expert has access: {}", out(&o));
    assert_eq!(list(&h, LOYALTY).as_deref(), Some("Active"));
    // Settled.
    let head = h.head();
    sync().await;
    assert_eq!(h.head(), head);
}

/// The values of trailer `key` of the last commit.
fn last_trailers(h: &H, key: &str) -> Vec<String> {
    let body = git(&h.v, &["log", "-1", "--format=%B"]);
    let t = ssot_vault::history::trailers::parse(&body);
    ssot_vault::history::trailers::values(&t, key)
        .map(str::to_string)
        .collect()
}

/// The `transition:` lines `ssot-vault log` shows for `note`'s newest entry.
async fn logged_transitions(h: &H, note: &str) -> Vec<String> {
    let o = h.run(&["log", note]).await;
    assert!(o.status.success(), "{}", out(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.trim().strip_prefix("transition: "))
        .map(str::to_string)
        .collect()
}

/// A vault whose `Bakery loyalty app` and `Café menu screens` are both active, synced; the
/// board has a `Blocked` list.
async fn two_active() -> H {
    let h = H::new("").await;
    for (note, reason) in [
        (LOYALTY, "blocked_reason: Waiting for the brief\n"),
        (MENU, "blocked_reason: Waiting for photos\n"),
    ] {
        let text = h
            .note(note)
            .replace(
                "status: matching\n",
                "status: active\nexpert: \"[[Anna Nowak]]\"\nexpert_status: accepted\nbudget: 12000\nestimate_hours: 80\n",
            )
            .replace(reason, "")
            + "\n## Credentialing\n\n- [x] NDA signed\n- [x] Contract signed\n";
        std::fs::write(h.v.join(note), text).expect("write");
    }
    git(&h.v, &["commit", "-qam", "Active"]);
    let o = h.sync().await;
    for note in [LOYALTY, MENU] {
        assert_eq!(list(&h, note).as_deref(), Some("Active"), "{}", out(&o));
    }
    h.create("lists", &[("board", "Projects"), ("name", "Blocked")]);
    h
}

/// A card moved to `Blocked` (and back) in Trello: the commit that takes the move into the note
/// names it as the workflow's commands do (`Ssot-Transition: active→blocked`); two projects
/// moved in one run: one trailer each, naming its note, and `ssot-vault log` shows each note
/// its own. A move the lifecycle refuses is named by no commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_moved_to_blocked_is_committed_with_its_transition() {
    let h = two_active().await;
    edit(&h, LOYALTY, "list", "Blocked");
    edit(&h, LOYALTY, "Blocked reason", "Waiting for VPN access");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("blocked"));
    assert_eq!(last_trailers(&h, "Ssot-Source"), ["trello"]);
    assert_eq!(last_trailers(&h, "Ssot-Transition"), ["active→blocked"]);
    assert_eq!(logged_transitions(&h, LOYALTY).await, ["active→blocked"]);
    // Unblocked and blocked in one run: two projects, each trailer naming its note.
    edit(&h, LOYALTY, "list", "Active");
    edit(&h, MENU, "list", "Blocked");
    edit(&h, MENU, "Blocked reason", "Waiting for photos");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("active"));
    assert_eq!(h.prop(MENU, "status").as_deref(), Some("blocked"));
    let mut both = last_trailers(&h, "Ssot-Transition");
    both.sort();
    assert_eq!(
        both,
        [
            format!("{LOYALTY}: blocked→active"),
            format!("{MENU}: active→blocked")
        ]
    );
    assert_eq!(
        logged_transitions(&h, LOYALTY).await,
        [format!("{LOYALTY}: blocked→active")]
    );
    assert_eq!(
        logged_transitions(&h, MENU).await,
        [format!("{MENU}: active→blocked")]
    );
    // A move refused (blocked without a reason) is not taken: no commit names it.
    let head = h.head();
    edit(&h, LOYALTY, "list", "Blocked");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(h.prop(LOYALTY, "status").as_deref(), Some("active"));
    let since = git(
        &h.v,
        &["log", "--format=%B", &format!("{}..HEAD", head.trim())],
    );
    assert!(!since.contains("Ssot-Transition"), "{since}");
}
