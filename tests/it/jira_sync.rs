//! The Jira-specific side of the sync, end to end: the real `ssot-vault` binary syncing a vault
//! made by `init` (plus the two projects of the conformance suite's Jira service) with the
//! in-process Jira emulator: each mapped field both ways, the assignee from the expert's
//! `jira_account_id`, a status reached by two transitions, a create whose answer was lost found
//! again by its label, a bulk create with one issue refused, issues made in Jira without what a
//! project note needs, and hostile values from Jira. The generic sync tests are the conformance
//! suite's (`conformance/jira.rs`).

use ssot_vault::connectors::jira::{Jira, JiraConfig};
use ssot_vault::connectors::{ActionOp, ActionOutcome, Connector, RemoteAction, Secret};
use ssot_vault::sandbox::FaultConfig;
use ssot_vault::sandbox::jira::store::SEED_USERS;
use ssot_vault::sandbox::jira::{DEFAULT_EMAIL, DEFAULT_TOKEN};
use ssot_vault::vault::schema::Schema;

use crate::conformance::harness::{Field, Harness};
use crate::conformance::jira::{JiraService, ROUTES, SHOP_APP};
use crate::hs_env::{EXPERT, PROJECT, assign_and_accept, out, run_ok, tick_all_and_activate};

type H = Harness<JiraService>;

/// A field of the template's project's issue.
fn field(remote: &'static str) -> Field {
    Field {
        note: PROJECT,
        kind: "issues",
        key: "",
        remote,
        value: "",
    }
}

/// Replaces `old` by `new` in a note.
fn edit_note(h: &H, note: &str, old: &str, new: &str) {
    let text = h.note(note);
    assert!(text.contains(old), "{note}: {old}\n{text}");
    std::fs::write(h.v.join(note), text.replacen(old, new, 1)).expect("write");
}

/// Gives an expert note a Jira account.
fn set_account(h: &H, note: &str, id: &str) {
    edit_note(
        h,
        note,
        "\n---\n",
        &format!("\njira_account_id: {id}\n---\n"),
    );
}

/// Every mapped field travels both ways: title ↔ summary, budget ↔ the "Budget" custom field,
/// estimate_hours ↔ the original estimate, deadline ↔ duedate, priority and status through their
/// tables, and the expert's `jira_account_id` becomes the assignee.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mapping_travels_both_ways() {
    let h = H::new("").await;
    h.sync().await;
    let r = h.record_of(PROJECT, "issues");
    assert_eq!(r.field("summary"), Some("Złoty Kłos online shop"));
    assert_eq!(r.field("issuetype"), Some("Epic"));
    assert_eq!(r.field("customfield_10050"), Some("45000"));
    assert_eq!(r.field("originalEstimate"), Some("6w"), "240 hours");
    assert_eq!(r.field("duedate"), Some("2027-03-15"));
    assert_eq!(r.field("priority"), Some("High"));
    assert_eq!(r.field("status"), Some("To Do"), "matching");
    assert_eq!(r.field("assignee"), None);

    // Jira → vault.
    h.edit(field("customfield_10050"), "52000");
    h.edit(field("originalEstimate"), "1d 4h 30m");
    h.edit(field("duedate"), "2027-04-01");
    h.edit(field("priority"), "Highest");
    let o = h.sync().await;
    assert_eq!(
        h.prop(PROJECT, "budget").as_deref(),
        Some("52000"),
        "{}",
        out(&o)
    );
    assert_eq!(h.prop(PROJECT, "estimate_hours").as_deref(), Some("12.5"));
    assert_eq!(h.prop(PROJECT, "deadline").as_deref(), Some("2027-04-01"));
    assert_eq!(h.prop(PROJECT, "priority").as_deref(), Some("urgent"));
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "settled");

    // Vault → Jira, the expert's account the assignee.
    set_account(&h, EXPERT, SEED_USERS[1].0);
    edit_note(&h, PROJECT, "budget: 52000", "budget: 61000");
    edit_note(&h, PROJECT, "estimate_hours: 12.5", "estimate_hours: 80");
    edit_note(&h, PROJECT, "deadline: 2027-04-01", "deadline: 2027-05-02");
    edit_note(&h, PROJECT, "priority: urgent", "priority: low");
    edit_note(
        &h,
        PROJECT,
        "status: matching\n",
        "status: matching\nexpert: \"[[Anna Nowak]]\"\nexpert_status: accepted\n",
    );
    let o = h.sync().await;
    let r = h.record_of(PROJECT, "issues");
    assert_eq!(r.field("customfield_10050"), Some("61000"), "{}", out(&o));
    assert_eq!(r.field("originalEstimate"), Some("2w"), "80 hours");
    assert_eq!(r.field("duedate"), Some("2027-05-02"));
    assert_eq!(r.field("priority"), Some("Low"));
    assert_eq!(r.field("assignee"), Some(SEED_USERS[1].0));
    // The expert's note is a link target only: no issue, no key written into it.
    assert_eq!(h.live("issues").len(), 3);
    assert!(
        !h.note(EXPERT).contains("jira_key") && !h.note(EXPERT).contains("jira_archived"),
        "{}",
        h.note(EXPERT)
    );
    assert_eq!(
        h.prop(EXPERT, "jira_account_id").as_deref(),
        Some(SEED_USERS[1].0)
    );

    // A status moved in Jira comes into the note through the table.
    h.edit(field("status"), "On Hold");
    let o = h.sync().await;
    assert_eq!(
        h.prop(PROJECT, "status").as_deref(),
        Some("accepted"),
        "{}",
        out(&o)
    );
}

/// A status with no direct transition from the issue's is reached in two steps (To Do → In
/// Progress → Done); a status already reached costs no transition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_without_a_direct_transition_is_walked_in_two_steps() {
    let h = H::new("[remotes.jira.tables.project.status]\nmatching = \"Done\"\n").await;
    let o = h.sync().await;
    let r = h.record_of(PROJECT, "issues");
    assert_eq!(r.field("status"), Some("Done"), "{}", out(&o));
    assert_eq!(
        h.count("POST /rest/api/3/issue/{issueIdOrKey}/transitions"),
        2,
        "{:?}",
        h.sb.request_counts()
    );
    // The others (intake → To Do) were already there: no transition.
    assert_eq!(
        h.record_of(SHOP_APP, "issues").field("status"),
        Some("To Do")
    );
    let head = h.head();
    let n = h.requests();
    h.sync().await;
    assert_eq!(h.head(), head);
    assert_eq!(h.requests() - n, 1, "{:?}", h.sb.request_counts());
}

/// `--dry-run` changes nothing in Jira, not even the custom fields the mapping names: those the
/// site lacks are created by the first real run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_creates_no_custom_field() {
    let h = H::new("").await;
    let o = h.run(&["sync", "--dry-run"]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(h.count("POST /rest/api/3/field"), 0, "{}", out(&o));
    assert!(h.live("issues").is_empty());
    h.sync().await;
    assert_eq!(
        h.count("POST /rest/api/3/field"),
        2,
        "Currency and Language"
    );
}

/// New issues whose notes are past the status Jira starts them in move together: one bulk
/// transition task (polled through the queue), no transition per issue; the post-create read
/// is one bulk fetch, and no label search precedes the create after the run's full read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_issues_move_by_one_bulk_transition() {
    let h = H::new("").await;
    for note in [PROJECT, SHOP_APP, ROUTES] {
        let text = h.note(note);
        let status = text
            .lines()
            .find(|l| l.starts_with("status: "))
            .expect("status")
            .to_string();
        edit_note(&h, note, &status, "status: accepted");
    }
    let o = h.sync().await;
    for note in [PROJECT, SHOP_APP, ROUTES] {
        assert_eq!(
            h.record_of(note, "issues").field("status"),
            Some("On Hold"),
            "{note}: {}",
            out(&o)
        );
    }
    assert_eq!(
        h.count("POST /rest/api/3/bulk/issues/transition"),
        1,
        "{}",
        out(&o)
    );
    assert!(h.count("GET /rest/api/3/bulk/queue/{taskId}") >= 1);
    assert_eq!(
        h.count("POST /rest/api/3/issue/{issueIdOrKey}/transitions"),
        0
    );
    assert_eq!(
        h.count("POST /rest/api/3/issue/bulkfetch"),
        1,
        "{}",
        out(&o)
    );
    assert_eq!(
        h.count("POST /rest/api/3/search/jql"),
        1,
        "the read only: {}",
        out(&o)
    );
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "settled");
}

/// `doctor` says when the site lacks the budget's custom field (found by name); `doctor --fix`
/// creates it (a number field), the next `doctor` finds it, and the sync writes the budget there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_fix_creates_the_missing_budget_field() {
    let h = H::new("").await;
    h.sb.state()
        .with_jira(|d| d.custom_fields.retain(|f| f.name != "Budget"));
    let budget = |h: &H| {
        h.sb.state().read_jira(|d| {
            d.custom_fields
                .iter()
                .find(|f| f.name == "Budget")
                .map(|f| f.id.clone())
        })
    };
    let o = h.run(&["doctor"]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("note jira: custom field `Budget` is missing"),
        "{}",
        out(&o)
    );
    assert_eq!(budget(&h), None, "doctor alone changes nothing");
    let o = h.run(&["doctor", "--fix"]).await;
    assert!(o.status.success(), "{}", out(&o));
    let id = budget(&h).expect("created");
    assert!(
        out(&o).contains(&format!("ok   jira: custom field `Budget` created ({id})")),
        "{}",
        out(&o)
    );
    let o = h.run(&["doctor", "--fix"]).await;
    assert!(
        out(&o).contains(&format!("ok   jira: custom field `Budget` ({id})")),
        "{}",
        out(&o)
    );
    let made = h.count("POST /rest/api/3/field");
    h.sync().await;
    assert_eq!(h.record_of(PROJECT, "issues").field(&id), Some("45000"));
    assert_eq!(
        h.count("POST /rest/api/3/field"),
        made,
        "made once, by the first --fix: {:?}",
        h.sb.request_counts()
    );
}

/// A bulk create whose answer is lost after Jira made the issues: the issues are found again by
/// their `ssot-` labels, never made twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_was_lost_is_found_by_its_label() {
    let h = H::new("").await;
    h.faults(FaultConfig {
        drop_next: 1,
        drop_after_handling: true,
        path_prefix: Some("/rest/api/3/issue/bulk".into()),
        ..FaultConfig::default()
    });
    let o = h.sync().await;
    assert_eq!(h.count("POST /rest/api/3/issue/bulk"), 1, "{}", out(&o));
    assert_eq!(h.live("issues").len(), 3, "no duplicate: {}", out(&o));
    for note in [PROJECT, SHOP_APP, ROUTES] {
        let r = h.record_of(note, "issues");
        assert_eq!(h.prop(note, "jira_key"), Some(r.id.clone()), "{note}");
    }
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "settled");
}

/// One issue of a bulk create refused by Jira (its assignee has no Jira account) is refused for
/// its note only: the others are created, and the refused one is tried again next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_create_with_one_refused_issue_refuses_that_note_only() {
    let h = H::new("").await;
    let other = "Experts/Tomasz Wiśniewski.md";
    set_account(&h, other, "no-such-account");
    edit_note(
        &h,
        SHOP_APP,
        "status: intake\n",
        "status: intake\nexpert: \"[[Tomasz Wiśniewski]]\"\n",
    );
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("Specified user does not exist"),
        "{}",
        out(&o)
    );
    assert_eq!(h.live("issues").len(), 2);
    assert_eq!(h.prop(SHOP_APP, "jira_key"), None);
    assert!(h.prop(PROJECT, "jira_key").is_some());
    assert!(h.prop(ROUTES, "jira_key").is_some());
    // Given a real account, it goes next run.
    edit_note(
        &h,
        other,
        "jira_account_id: no-such-account",
        &format!("jira_account_id: {}", SEED_USERS[2].0),
    );
    h.sync().await;
    let r = h.record_of(SHOP_APP, "issues");
    assert_eq!(r.field("assignee"), Some(SEED_USERS[2].0));
    assert_eq!(h.live("issues").len(), 3);
}

/// An Epic made in Jira without a client makes no valid project note: reported once, as a
/// HubSpot deal without a client is, and not written; with `pull_new = false` it is not even
/// looked at. Issues of other types without an `ssot-` label are no records at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_made_in_jira_need_what_a_project_note_needs() {
    let h = H::new("").await;
    h.sync().await;
    let key = h.create("issues", &[("summary", "Kiosk"), ("issuetype", "Epic")]);
    h.create("issues", &[("summary", "A task of someone else's")]);
    let o = h.run(&["sync"]).await;
    let text = out(&o);
    assert!(
        text.contains(&format!(
            "jira record {key} (Kiosk) makes no valid project note"
        )),
        "{text}"
    );
    assert!(
        !text.contains("someone else"),
        "a Task without a label is no record: {text}"
    );
    assert!(!h.v.join("Projects/Kiosk.md").exists());
    assert!(!h.v.join("Projects/A task of someone else's.md").exists());
    let o = h.run(&["sync"]).await;
    assert!(!out(&o).contains("Kiosk"), "reported once: {}", out(&o));

    let h = H::new("pull_new = false").await;
    h.sync().await;
    h.create(
        "issues",
        &[
            ("summary", "Kiosk"),
            ("issuetype", "Epic"),
            ("customfield_10051", "Piekarnia Złoty Kłos"),
        ],
    );
    let o = h.sync().await;
    assert!(!h.v.join("Projects/Kiosk.md").exists(), "{}", out(&o));
}

/// Hostile values from Jira (control characters and NUL, a summary that is a path, 300 bytes of
/// `Ż`, a 10 kB field) make safe notes: in the projects folder, with a file name the file system
/// takes, YAML that parses, no NUL byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_from_jira_make_safe_notes() {
    let h = H::new("").await;
    h.sync().await;
    let long = "x".repeat(10_000);
    let zz = "Ż".repeat(150);
    for summary in ["bad\u{0}name\u{7}\u{1b}[31m", "../x", zz.as_str()] {
        h.create(
            "issues",
            &[
                ("summary", summary),
                ("issuetype", "Epic"),
                ("customfield_10051", "Piekarnia Złoty Kłos"),
                ("customfield_10054", long.as_str()),
            ],
        );
    }
    let o = h.sync().await;
    let text = out(&o);
    assert!(
        !h.v.join("x.md").exists() && !h.v.join("../x.md").exists(),
        "{text}"
    );
    let projects: Vec<_> = std::fs::read_dir(h.v.join("Projects"))
        .expect("projects")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(projects.len(), 3 + 3, "{projects:?}\n{text}");
    for name in &projects {
        assert!(name.len() <= 255, "{name}");
        assert!(!name.chars().any(char::is_control), "{name:?}");
        let bytes = std::fs::read(h.v.join("Projects").join(name)).expect("read");
        assert!(!bytes.contains(&0), "{name}: NUL");
        let note = String::from_utf8(bytes).expect("utf-8");
        assert!(note.starts_with("---\ntype: project\n"), "{note}");
    }
    assert!(
        projects.iter().any(|n| n.contains(&"Ż".repeat(20))),
        "{projects:?}"
    );
    // Every note parses and the vault checks clean of unreadable notes.
    let o = h.run(&["check"]).await;
    assert!(!out(&o).contains("invalid YAML"), "{}", out(&o));
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "settled");
}

/// A connector to a fresh emulator, and the sandbox.
async fn connector() -> (ssot_vault::sandbox::Sandbox, Jira) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sb = ssot_vault::sandbox::Sandbox::start(
        "127.0.0.1:0".parse().expect("addr"),
        crate::hs_env::quiet(),
    )
    .await
    .expect("sandbox");
    let cfg = JiraConfig {
        base_url: sb.jira_base_url(),
        project_key: "SSOT".into(),
        ..JiraConfig::default()
    };
    let conn = Jira::new(
        cfg,
        &Schema::builtin(),
        Some(DEFAULT_EMAIL.into()),
        Secret::new(DEFAULT_TOKEN),
    )
    .expect("connector");
    (sb, conn)
}

fn action(op: ActionOp) -> RemoteAction {
    RemoteAction {
        id: "a1".into(),
        note_type: "project".into(),
        ssot_id: "01M7W86HFSWM03FC030X7GYK1W".into(),
        rel: "Projects/P.md".into(),
        op,
        links: Vec::new(),
    }
}

/// `act` carries out the lifecycle's transitions (`on-hold`, `in-progress`, `blocked`: two
/// steps from On Hold) and the delete of the issue with its subtasks, each idempotent: a status
/// already reached is no request, a gone issue is `Gone`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_transition_and_delete_idempotently() {
    let (sb, mut conn) = connector().await;
    let remote = sb.remote("jira").expect("jira");
    let key = remote
        .create("issues", &[("summary", "P"), ("issuetype", "Epic")])
        .expect("create");
    let status = |k: &str| {
        remote
            .records("issues")
            .expect("records")
            .into_iter()
            .find(|r| r.id == k)
            .and_then(|r| r.field("status").map(str::to_string))
    };
    let transitions = || {
        sb.request_counts()
            .by_endpoint
            .get("POST /rest/api/3/issue/{issueIdOrKey}/transitions")
            .copied()
            .unwrap_or(0)
    };
    let on_hold = action(ActionOp::Transition {
        to: "on-hold".into(),
    });
    assert_eq!(
        conn.act(&on_hold, &key).await.expect("act"),
        ActionOutcome::Done
    );
    assert_eq!(status(&key).as_deref(), Some("On Hold"));
    assert_eq!(transitions(), 1);
    // Already there: done, no transition.
    assert_eq!(
        conn.act(&on_hold, &key).await.expect("act"),
        ActionOutcome::Done
    );
    assert_eq!(transitions(), 1);
    // On Hold → Blocked has no direct transition: through In Progress.
    let blocked = action(ActionOp::Transition {
        to: "blocked".into(),
    });
    assert_eq!(
        conn.act(&blocked, &key).await.expect("act"),
        ActionOutcome::Done
    );
    assert_eq!(status(&key).as_deref(), Some("Blocked"));
    assert_eq!(transitions(), 3);
    // A term without a Jira status is refused, not guessed.
    let odd = action(ActionOp::Transition {
        to: "sideways".into(),
    });
    assert!(matches!(
        conn.act(&odd, &key).await.expect("act"),
        ActionOutcome::Refused { .. }
    ));
    // Delete, with its children and their subtasks; again: gone.
    let child = remote
        .create(
            "issues",
            &[("summary", "Task"), ("issuetype", "Task"), ("parent", &key)],
        )
        .expect("child");
    let sub = remote
        .create(
            "issues",
            &[
                ("summary", "Sub"),
                ("issuetype", "Subtask"),
                ("parent", &child),
            ],
        )
        .expect("subtask");
    let delete = action(ActionOp::Delete);
    assert_eq!(
        conn.act(&delete, &key).await.expect("act"),
        ActionOutcome::Done
    );
    let live: Vec<String> = remote
        .live("issues")
        .expect("live")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(
        !live.contains(&key) && !live.contains(&child) && !live.contains(&sub),
        "{live:?}"
    );
    assert_eq!(
        conn.act(&delete, &key).await.expect("act"),
        ActionOutcome::Gone
    );
    assert_eq!(
        conn.act(&on_hold, &key).await.expect("act"),
        ActionOutcome::Gone
    );
    // Actions this connector does not carry out.
    assert_eq!(
        conn.act(&action(ActionOp::AttachExport), &key)
            .await
            .expect("act"),
        ActionOutcome::Unsupported
    );
}

/// Whether the account (email, token) can read the issue `key`.
async fn can_read(h_base: &str, (email, token): (&str, &str), key: &str) -> bool {
    reqwest::Client::new()
        .get(format!("{h_base}/rest/api/3/issue/{key}"))
        .basic_auth(email, Some(token))
        .send()
        .await
        .expect("send")
        .status()
        .is_success()
}

/// The lifecycle's Jira actions, run by the sync with the links of the note resolved to Jira
/// accounts: accepting a project makes the expert's task under its issue (assigned to them, made
/// once) and puts the issue on hold; activating it resumes the issue and gives the expert access
/// (assignee and project role): their own account can read the issue then, not before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycles_actions_reach_jira_with_the_experts_account() {
    let h = H::new("").await;
    let ewa = (SEED_USERS[1].1, "sandbox-jira-token-ewa");
    set_account(&h, EXPERT, SEED_USERS[1].0);
    h.sync().await;
    let key = h.id_of(PROJECT);
    let base = h.sb.jira_base_url();
    assert!(!can_read(&base, ewa, &key).await);
    assign_and_accept(&h).await;
    let o = h.run(&["sync", "--json"]).await;
    assert!(o.status.success(), "{}", out(&o));
    // Both of the move's Jira effects (the expert's task, the hold) counted as carried out.
    let reports: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json report");
    let jira = reports
        .as_array()
        .and_then(|a| a.iter().find(|r| r["remote"] == "jira"))
        .expect("jira's report");
    assert_eq!(jira["actions_done"], 2, "{}", out(&o));
    let sid = h.prop(PROJECT, "ssot_id").expect("sid");
    let tasks: Vec<_> = h
        .live("issues")
        .into_iter()
        .filter(|r| r.field("parent") == Some(key.as_str()))
        .collect();
    assert_eq!(tasks.len(), 1, "{}", out(&o));
    assert_eq!(tasks[0].field("issuetype"), Some("Task"));
    assert_eq!(tasks[0].field("assignee"), Some(SEED_USERS[1].0));
    assert!(
        tasks[0]
            .field("labels")
            .is_some_and(|l| l.contains(&format!("ssot-{sid}-task"))),
        "{:?}",
        tasks[0]
    );
    assert_eq!(
        h.record_of(PROJECT, "issues").field("status"),
        Some("On Hold")
    );
    assert_eq!(h.live("issues").len(), 4, "the task is no project");
    // Credentialing done, then active: resumed, and the expert may read the issue.
    tick_all_and_activate(&h).await;
    let o = h.sync().await;
    assert_eq!(
        h.record_of(PROJECT, "issues").field("status"),
        Some("In Progress"),
        "{}",
        out(&o)
    );
    assert_eq!(
        h.record_of(PROJECT, "issues").field("assignee"),
        Some(SEED_USERS[1].0)
    );
    assert!(can_read(&base, ewa, &key).await, "{}", out(&o));
    // Settled: no second task.
    h.sync().await;
    assert_eq!(h.live("issues").len(), 4);
}

/// A status move's actions wait for the field write of their record: while Jira refuses the
/// project's write (a priority mapped to one Jira does not have), the run exits 1, the issue is
/// not moved and no task is made for it; once the priority is one Jira has, the next run writes
/// the fields and then carries out the actions, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_moves_actions_wait_for_the_records_refused_write() {
    let h = H::new("[remotes.jira.tables.project.priority]\nlow = \"Nope\"\n").await;
    set_account(&h, EXPERT, SEED_USERS[1].0);
    h.sync().await;
    let key = h.id_of(PROJECT);
    let status = |h: &H| {
        h.record_of(PROJECT, "issues")
            .field("status")
            .map(String::from)
    };
    let before = status(&h);
    let tasks = |h: &H| {
        h.live("issues")
            .into_iter()
            .filter(|r| r.field("parent") == Some(key.as_str()))
            .count()
    };
    for args in [
        &["match", "Złoty Kłos online shop", "--assign", "Anna Nowak"][..],
        &["project", "accept", "Złoty Kłos online shop"][..],
    ] {
        let o = h.run(args).await;
        assert!(o.status.success(), "{args:?}: {}", out(&o));
    }
    edit_note(&h, PROJECT, "priority: high", "priority: low");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("The priority selected is invalid"),
        "{}",
        out(&o)
    );
    assert_eq!(
        status(&h),
        before,
        "not moved before its write: {}",
        out(&o)
    );
    assert_eq!(tasks(&h), 0, "{}", out(&o));
    edit_note(&h, PROJECT, "priority: low", "priority: medium");
    let o = h.sync().await;
    assert_eq!(status(&h).as_deref(), Some("On Hold"), "{}", out(&o));
    assert_eq!(tasks(&h), 1, "{}", out(&o));
    assert_eq!(
        h.record_of(PROJECT, "issues").field("assignee"),
        Some(SEED_USERS[1].0)
    );
    h.sync().await;
    assert_eq!(tasks(&h), 1, "settled");
}

/// A vault whose sample project is active and synced (its expert, Anna Nowak, with a Jira
/// account, has accepted it, its credentialing is done), and its issue's key.
async fn active_project() -> (H, String) {
    let h = H::new("").await;
    set_account(&h, EXPERT, SEED_USERS[1].0);
    h.sync().await;
    let key = h.id_of(PROJECT);
    assign_and_accept(&h).await;
    h.sync().await;
    tick_all_and_activate(&h).await;
    h.sync().await;
    (h, key)
}

/// Closing a project deletes its issue from Jira with the expert's task under it: the archived
/// note's status (mapped to Done) is written first, then the lifecycle's delete runs, and the
/// next run has nothing left to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_a_project_deletes_its_issue_with_its_task() {
    let (h, key) = active_project().await;
    let of_project = |h: &H| {
        h.live("issues")
            .into_iter()
            .filter(|r| r.id == key || r.field("parent") == Some(key.as_str()))
            .count()
    };
    assert_eq!(of_project(&h), 2, "the issue and its task");
    run_ok(&h, &["project", "done", "Złoty Kłos online shop"]).await;
    run_ok(&h, &["archive", "Złoty Kłos online shop"]).await;
    let o = h.sync().await;
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(of_project(&h), 0, "{}", out(&o));
    let head = h.head();
    let o = h.sync().await;
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(h.head(), head, "settled");
}

/// A run killed between two actions of one move resumes at the second: activating an accepted
/// project puts its issue on hold (credentialing), resumes it, then gives the expert access. The
/// run is killed once the grant has begun, while it waits on Jira (its project role request is
/// slow); the next run carries out the grant only, not the two transitions again, and the expert
/// can read the issue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_between_two_actions_resumes_at_the_second() {
    let h = H::new("").await;
    let ewa = (SEED_USERS[1].1, "sandbox-jira-token-ewa");
    set_account(&h, EXPERT, SEED_USERS[1].0);
    h.sync().await;
    let key = h.id_of(PROJECT);
    let base = h.sb.jira_base_url();
    assign_and_accept(&h).await;
    h.sync().await;
    tick_all_and_activate(&h).await;

    let journal = h.state_dir().join("journal.jsonl");
    let seen = std::fs::read_to_string(&journal).map_or(0, |t| t.len());
    h.sb.set_faults(FaultConfig {
        latency_ms: 3_000,
        path_prefix: Some("/rest/api/3/project/".into()),
        ..FaultConfig::default()
    });
    let events = |from: usize| -> Vec<(String, String)> {
        std::fs::read_to_string(&journal).unwrap_or_default()[from..]
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == "act" || v["event"] == "acted")
            .map(|v| {
                (
                    v["event"].as_str().unwrap_or("").to_string(),
                    v["detail"]["id"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    // Killed once the grant has begun (its earlier actions carried out).
    let mut child = h.spawn_sync();
    let mut begun = false;
    for _ in 0..5000 {
        begun = events(seen)
            .iter()
            .any(|(e, id)| e == "act" && id.ends_with("/grant:expert"));
        if begun || child.try_wait().ok().flatten().is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(begun, "{:?}", events(seen));
    h.sb.set_faults(FaultConfig::default());
    let killed = events(seen);
    let acted: Vec<&str> = killed
        .iter()
        .filter(|(e, _)| e == "acted")
        .map(|(_, id)| id.as_str())
        .collect();
    assert_eq!(acted.len(), 2, "{killed:?}");
    assert!(acted[0].ends_with("/transition:on-hold"), "{killed:?}");
    assert!(acted[1].ends_with("/transition:in-progress"), "{killed:?}");
    assert_eq!(
        h.record_of(PROJECT, "issues").field("status"),
        Some("In Progress")
    );
    assert!(!can_read(&base, ewa, &key).await, "the grant was not made");

    let after = std::fs::read_to_string(&journal).expect("journal").len();
    let o = h.sync().await;
    let resumed = events(after);
    assert!(
        resumed.iter().all(|(_, id)| id.ends_with("/grant:expert")),
        "only the second action is carried out: {resumed:?}\n{}",
        out(&o)
    );
    assert!(
        resumed.iter().any(|(e, _)| e == "acted"),
        "{resumed:?}\n{}",
        out(&o)
    );
    assert!(can_read(&base, ewa, &key).await, "{}", out(&o));
    assert_eq!(
        h.record_of(PROJECT, "issues").field("status"),
        Some("In Progress")
    );
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "settled");
}

/// The change feed goes on from when the last read started (less the overlap), not from the
/// newest `updated` it saw: issues last written ten minutes ago (Jira's clock set back while
/// they were made) are read once, and the next read, finding nothing new, is one request that
/// returns none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_feed_does_not_read_the_last_written_issues_again() {
    let (sb, mut conn) = connector().await;
    let remote = sb.remote("jira").expect("jira");
    let clock = |offset: i64| {
        let url = format!("{}/__sandbox/settings", sb.base_url());
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({ "clock_offset_ms": offset }))
                .send()
                .await
                .expect("settings");
            assert!(r.status().is_success());
        }
    };
    clock(-600_000).await;
    for i in 0..3 {
        remote
            .create(
                "issues",
                &[
                    ("summary", format!("P{i}").as_str()),
                    ("issuetype", "Epic"),
                    ("labels", &format!("ssot-01M7W86HFSWM03FC030X7GYK{i}Z")),
                ],
            )
            .expect("create");
    }
    clock(0).await;
    let first = conn.pull(None).await.expect("pull");
    assert_eq!(first.records.len(), 3);
    let n = sb.request_counts().by_endpoint["POST /rest/api/3/search/jql"];
    let next = conn.pull(Some(&first.cursor)).await.expect("pull");
    assert!(next.records.is_empty(), "{:?}", next.records);
    assert_eq!(
        sb.request_counts().by_endpoint["POST /rest/api/3/search/jql"] - n,
        1
    );
}

/// `Grant` and `Revoke` need the link's account (else refused, never guessed) and are
/// idempotent; `CreateChild` makes its task once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_revoke_and_the_child_task_are_idempotent() {
    let (sb, mut conn) = connector().await;
    let remote = sb.remote("jira").expect("jira");
    let key = remote
        .create("issues", &[("summary", "P"), ("issuetype", "Epic")])
        .expect("create");
    let base = sb.jira_base_url();
    let jan = (SEED_USERS[2].1, "sandbox-jira-token-jan");
    let grant = action(ActionOp::Grant {
        link: "expert".into(),
    });
    assert!(matches!(
        conn.act(&grant, &key).await.expect("act"),
        ActionOutcome::Refused { .. }
    ));
    let with = |mut a: RemoteAction| {
        a.links = vec![("expert".into(), vec![SEED_USERS[2].0.to_string()])];
        a
    };
    let grant = with(grant);
    for _ in 0..2 {
        assert_eq!(
            conn.act(&grant, &key).await.expect("act"),
            ActionOutcome::Done
        );
        assert!(can_read(&base, jan, &key).await);
    }
    let revoke = with(action(ActionOp::Revoke {
        link: "expert".into(),
    }));
    for _ in 0..2 {
        assert_eq!(
            conn.act(&revoke, &key).await.expect("act"),
            ActionOutcome::Done
        );
        assert!(!can_read(&base, jan, &key).await);
    }
    let issue = remote
        .records("issues")
        .expect("records")
        .into_iter()
        .find(|r| r.id == key)
        .expect("issue");
    assert_eq!(issue.field("assignee"), None, "unassigned");
    let child = with(action(ActionOp::CreateChild {
        kind: "task".into(),
        assignee: Some("expert".into()),
    }));
    for _ in 0..2 {
        assert_eq!(
            conn.act(&child, &key).await.expect("act"),
            ActionOutcome::Done
        );
    }
    let tasks: Vec<_> = remote
        .live("issues")
        .expect("live")
        .into_iter()
        .filter(|r| r.field("parent") == Some(key.as_str()))
        .collect();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].field("assignee"), Some(SEED_USERS[2].0));
    assert_eq!(tasks[0].field("summary"), Some("P: task"));
}

/// The read pages through a project of more issues than one search page (100) by
/// `nextPageToken`: 120 issues made in Jira become 120 notes, and the next run reads only what
/// changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_pages_by_next_page_token() {
    let h = H::new("").await;
    h.sync().await;
    for i in 0..120 {
        h.create(
            "issues",
            &[
                ("summary", format!("Made in Jira {i:03}").as_str()),
                ("issuetype", "Epic"),
                ("customfield_10051", "Piekarnia Złoty Kłos"),
            ],
        );
    }
    let n = h.count("POST /rest/api/3/search/jql");
    let o = h.sync().await;
    assert!(
        h.count("POST /rest/api/3/search/jql") - n >= 2,
        "{:?}",
        h.sb.request_counts()
    );
    for i in [0, 99, 100, 119] {
        let note = format!("Projects/Made in Jira {i:03}.md");
        assert!(h.v.join(&note).exists(), "{note}: {}", out(&o));
    }
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "settled");
}

/// A status moved in Jira that the vault's lifecycle refuses (In Progress while the project's
/// credentialing is open) is not taken into the note: the run reports it, the issue is moved
/// back to the note's status, and a comment on the issue says why. The next run is in step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_move_the_lifecycle_refuses_is_moved_back_with_a_comment() {
    let h = H::new("").await;
    edit_note(
        &h,
        PROJECT,
        "status: matching\n",
        "status: credentialing\nexpert: \"[[Anna Nowak]]\"\nexpert_status: accepted\n",
    );
    edit_note(
        &h,
        PROJECT,
        "## Scope\n",
        "## Credentialing\n\n- [ ] NDA signed\n\n## Scope\n",
    );
    h.sync().await;
    assert_eq!(
        h.record_of(PROJECT, "issues").field("status"),
        Some("On Hold")
    );
    h.edit(field("status"), "In Progress");
    let o = h.run(&["sync"]).await;
    let text = out(&o);
    assert!(
        text.contains("status credentialing→active made in jira")
            && text.contains("moved back to On Hold"),
        "{text}"
    );
    assert_eq!(
        h.prop(PROJECT, "status").as_deref(),
        Some("credentialing"),
        "{text}"
    );
    let r = h.record_of(PROJECT, "issues");
    assert_eq!(r.field("status"), Some("On Hold"), "{text}");
    let comments: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/rest/api/3/issue/{}/comment",
            h.sb.jira_base_url(),
            r.id
        ))
        .basic_auth(DEFAULT_EMAIL, Some(DEFAULT_TOKEN))
        .send()
        .await
        .expect("comments")
        .json()
        .await
        .expect("json");
    let said = comments["comments"][0]["body"].to_string();
    assert!(
        said.contains("moved this issue back to On Hold") && said.contains("In Progress"),
        "{comments}"
    );
    let (head, n) = (h.head(), h.requests());
    let o = h.sync().await;
    assert_eq!(h.head(), head, "{}", out(&o));
    assert_eq!(h.requests() - n, 1, "{:?}", h.sb.request_counts());
}

/// A change made in Jira by a person comes into the vault in a commit authored by that person
/// (the author of the issue's newest changelog entry), so `ssot-vault log` names them; changes
/// by several people keep the remote's author and name each in an `Ssot-Changed-By` trailer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_commit_names_the_jira_user_who_made_the_change() {
    let h = H::new("").await;
    h.sync().await;
    let base = h.sb.jira_base_url();
    let http = reqwest::Client::new();
    // Ewa is made a member of the project, so she can edit its issues.
    let a = http
        .post(format!("{base}/rest/api/3/project/SSOT/role/10001"))
        .basic_auth(DEFAULT_EMAIL, Some(DEFAULT_TOKEN))
        .json(&serde_json::json!({"user": [SEED_USERS[1].0]}))
        .send()
        .await
        .expect("actor");
    assert!(a.status().is_success(), "{}", a.status());
    let key = h.record_of(PROJECT, "issues").id;
    let a = http
        .put(format!("{base}/rest/api/3/issue/{key}"))
        .basic_auth(SEED_USERS[1].1, Some(SEED_USERS[1].3))
        .json(&serde_json::json!({"fields": {"duedate": "2027-06-30"}}))
        .send()
        .await
        .expect("edit");
    assert!(a.status().is_success(), "{}", a.status());
    let o = h.sync().await;
    assert_eq!(
        h.prop(PROJECT, "deadline").as_deref(),
        Some("2027-06-30"),
        "{}",
        out(&o)
    );
    assert_eq!(
        crate::hs_env::git(&h.v, &["log", "-1", "--format=%an <%ae>"]).trim(),
        format!("Ewa Lis <{}>", SEED_USERS[1].1),
        "{}\n{}",
        crate::hs_env::git(&h.v, &["log", "-1", "--format=%B"]),
        out(&o)
    );
    let body = crate::hs_env::git(&h.v, &["log", "-1", "--format=%B"]);
    assert!(
        body.contains("Ssot-Changed-By: Ewa Lis <ewa.lis@experts.example>"),
        "{body}"
    );
    let log = h.run(&["log", PROJECT]).await;
    assert!(out(&log).contains("Ewa Lis"), "{}", out(&log));

    // Two people in one run: the remote's author, both named.
    let a = http
        .put(format!("{base}/rest/api/3/issue/{key}"))
        .basic_auth(SEED_USERS[1].1, Some(SEED_USERS[1].3))
        .json(&serde_json::json!({"fields": {"duedate": "2027-07-01"}}))
        .send()
        .await
        .expect("edit");
    assert!(a.status().is_success(), "{}", a.status());
    h.edit(
        Field {
            note: SHOP_APP,
            kind: "issues",
            key: "",
            remote: "duedate",
            value: "",
        },
        "2027-08-01",
    );
    let o = h.sync().await;
    let body = crate::hs_env::git(&h.v, &["log", "-1", "--format=%an%n%B"]);
    assert!(
        body.starts_with("ssot-vault (jira)\n"),
        "{body}\n{}",
        out(&o)
    );
    assert!(body.contains("Ssot-Changed-By: Ewa Lis"), "{body}");
    assert!(body.contains("Ssot-Changed-By: Consultancy Ops"), "{body}");
}

/// Jira fills in a default priority where a new issue has none: the first sync takes it into each
/// such note of the bulk create, and leaves the note that gave its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_priority_jira_fills_in_is_taken_into_the_notes_that_had_none() {
    let h = H::new("").await;
    let o = h.sync().await;
    assert_eq!(h.prop(PROJECT, "priority").as_deref(), Some("high"));
    for note in [SHOP_APP, ROUTES] {
        assert_eq!(
            h.prop(note, "priority").as_deref(),
            Some("medium"),
            "{note}: {}",
            out(&o)
        );
    }
}

/// The comments on an issue, as Jira lists them.
async fn comment_count(h: &H, key: &str) -> usize {
    let c: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/rest/api/3/issue/{key}/comment",
            h.sb.jira_base_url()
        ))
        .basic_auth(DEFAULT_EMAIL, Some(DEFAULT_TOKEN))
        .send()
        .await
        .expect("comments")
        .json()
        .await
        .expect("json");
    c["comments"].as_array().map_or(0, Vec::len)
}

/// Blocking an active project puts its issue On Hold, the status the block's action moves it to
/// and the one the status table names for `blocked`: the run that carries the block leaves the
/// issue there, and the next run finds the vault and Jira in step (nothing moved back, no notice
/// comment, no commit). Unblocking resumes the issue (In Progress), settled the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_project_is_on_hold_in_jira_and_settled_in_one_run() {
    let (h, key) = active_project().await;
    let status = |h: &H| {
        h.record_of(PROJECT, "issues")
            .field("status")
            .map(String::from)
    };
    assert_eq!(status(&h).as_deref(), Some("In Progress"));
    let comments = comment_count(&h, &key).await;
    for (args, note, issue) in [
        (
            &[
                "project",
                "block",
                "Złoty Kłos online shop",
                "--reason",
                "the client's server is down",
            ][..],
            "blocked",
            "On Hold",
        ),
        (
            &["project", "unblock", "Złoty Kłos online shop"][..],
            "active",
            "In Progress",
        ),
    ] {
        run_ok(&h, args).await;
        let o = h.sync().await;
        assert_eq!(status(&h).as_deref(), Some(issue), "{args:?}: {}", out(&o));
        let head = h.head();
        let o = h.run(&["sync"]).await;
        let text = out(&o);
        assert!(o.status.success(), "{args:?}: {text}");
        assert!(!text.contains("moved back"), "{args:?}: {text}");
        assert_eq!(h.head(), head, "{args:?}: settled: {text}");
        assert_eq!(h.prop(PROJECT, "status").as_deref(), Some(note), "{text}");
        assert_eq!(status(&h).as_deref(), Some(issue), "{args:?}: {text}");
        assert_eq!(comment_count(&h, &key).await, comments, "{args:?}: {text}");
    }
}

/// The values of trailer `key` of the last commit.
fn last_trailers(h: &H, key: &str) -> Vec<String> {
    let body = crate::hs_env::git(&h.v, &["log", "-1", "--format=%B"]);
    let t = ssot_vault::history::trailers::parse(&body);
    ssot_vault::history::trailers::values(&t, key)
        .map(str::to_string)
        .collect()
}

/// An accepted project's issue moved to In Progress in Jira: refused while its credentialing
/// is open (no commit names a transition), taken once every item is checked, in a commit
/// naming each step of the lifecycle's path (`accepted→credentialing`, `credentialing→active`)
/// with `Ssot-Source: jira`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transition_taken_from_jira_is_committed_with_the_lifecycles_steps() {
    let h = H::new("").await;
    edit_note(
        &h,
        PROJECT,
        "status: matching\n",
        "status: accepted\nexpert: \"[[Anna Nowak]]\"\nexpert_status: accepted\n",
    );
    edit_note(
        &h,
        PROJECT,
        "## Scope\n",
        "## Credentialing\n\n- [x] NDA signed\n- [ ] Contract signed\n\n## Scope\n",
    );
    h.sync().await;
    assert_eq!(
        h.record_of(PROJECT, "issues").field("status"),
        Some("On Hold")
    );
    // Refused: the contract is not signed.
    let head = h.head();
    h.edit(field("status"), "In Progress");
    let o = h.run(&["sync"]).await;
    let text = out(&o);
    assert!(text.contains("moved back to On Hold"), "{text}");
    assert_eq!(h.prop(PROJECT, "status").as_deref(), Some("accepted"));
    let since = crate::hs_env::git(
        &h.v,
        &["log", "--format=%B", &format!("{}..HEAD", head.trim())],
    );
    assert!(!since.contains("Ssot-Transition"), "{since}");
    // Signed in the vault, then moved again in Jira: taken, each step named.
    edit_note(
        &h,
        PROJECT,
        "- [ ] Contract signed",
        "- [x] Contract signed",
    );
    h.sync().await;
    h.edit(field("status"), "In Progress");
    let o = h.sync().await;
    let text = out(&o);
    assert_eq!(
        h.prop(PROJECT, "status").as_deref(),
        Some("active"),
        "{text}"
    );
    assert_eq!(last_trailers(&h, "Ssot-Source"), ["jira"], "{text}");
    assert_eq!(
        last_trailers(&h, "Ssot-Transition"),
        ["accepted→credentialing", "credentialing→active"],
        "{text}"
    );
}
