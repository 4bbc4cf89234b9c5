//! The consultancy's whole process across the five services as one integration test (issue 14):
//! the seed's steps, each a function run in order on one [`ProcessEnv`], each asserting after it
//! what the vault, every emulator concerned and the git log's trailers (`Ssot-Source`,
//! `Ssot-Transition`) hold. Steps 1-6 are here; steps 7-12 are listed at the end with what each
//! must assert, to be added as the features they need land.
//!
//! Everything is done as a person would: a response to the intake form, the CLI's workflow
//! commands, `ssot-vault set` for a hand edit, and `ssot-vault sync` of every service.

use serde_json::json;
use ssot_vault::sandbox::forms::INTAKE_FORM_ID;
use ssot_vault::sandbox::jira::store::SEED_USERS;

use crate::hs_env::{EXPERT, out};
use crate::process_env::{ANNA_JIRA, Commit, ProcessEnv, TOMASZ};

/// The client's contact, as the form gives it.
const CONTACT: &str = "Marta Sowa";
/// The client's company: the client note's name.
const COMPANY: &str = "Kawiarnia Sowa";
/// The client's e-mail (how `intake accept` finds or makes the client).
const EMAIL: &str = "marta@kawiarniasowa.pl";
/// What the client needs: the project's name and summary.
const NEED: &str = "Online table booking";

/// The intake note the form response becomes.
const INTAKE: &str = "Intake/Intake Marta Sowa.md";
/// The client note `intake accept` makes.
const CLIENT: &str = "Clients/Kawiarnia Sowa.md";
/// The project note `intake accept` makes.
const PROJECT: &str = "Projects/Online table booking.md";
/// The project's name on the command line.
const NAME: &str = "Online table booking";

/// The template's credentialing tasks (`[workflow] credentialing`).
const CREDENTIALING: [&str; 4] = [
    "Contract signed",
    "NDA signed",
    "Invoicing details received",
    "Access to systems granted",
];

/// The `Ssot-Source` of each commit, in order.
fn sources(commits: &[Commit]) -> Vec<&str> {
    commits
        .iter()
        .map(|c| c.source().unwrap_or("(none)"))
        .collect()
}

/// Asserts a note's frontmatter line `key: value` (as written).
fn has(env: &ProcessEnv, note: &str, line: &str) {
    let text = env.note(note);
    assert!(
        text.contains(&format!("\n{line}\n")),
        "{note} lacks `{line}`:\n{text}"
    );
}

/// 0. The vault made by `init` is in every service after its first sync: its client and two
///    experts, its project (the process's own notes come next).
async fn step_0_the_template_in_every_service(env: &ProcessEnv) {
    let head = env.head();
    env.sync().await;
    let made = env.commits_since(&head);
    assert_eq!(
        sources(&made),
        ["hubspot", "trello", "jira", "sheets"],
        "each service wrote its ids back: {made:?}"
    );
    assert!(made.iter().all(|c| c.transitions().is_empty()), "{made:?}");
    for expert in [EXPERT, TOMASZ] {
        let contact = env.hubspot_of("contacts", expert);
        assert_eq!(contact["properties"]["ssot_role"], "expert", "{contact}");
        env.row_of("Experts", expert);
    }
    assert_eq!(env.issues().len(), 1, "the template's project");
    assert_eq!(env.live_of("trello", "cards").len(), 1);
    assert!(env.responses("intake").is_empty());
    assert_eq!(env.uncommitted(), "");
}

/// 1. A consultation form response becomes an intake note (Forms), accepted into a client and a
///    project (`intake accept`).
async fn step_1_intake(env: &ProcessEnv) {
    let head = env.head();
    let response = env
        .submit(
            INTAKE_FORM_ID,
            json!({
                "Contact name": CONTACT,
                "Email": EMAIL,
                "Phone": "+48 500 100 200",
                "Company": COMPANY,
                "What do you need?": NEED,
                "Skills required": ["php", "ux"],
                "Budget": "30000",
                "Deadline": "2027-05-31",
                "Language": "pl",
            }),
        )
        .await;
    let responses = env.responses("intake");
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].field("Email"), Some(EMAIL));
    env.sync().await;
    // Forms: one new intake note, status `new`, committed as the form's.
    assert_eq!(
        env.note_with("Intake", &format!("form_response_id: {response}")),
        INTAKE
    );
    for line in [
        "type: intake",
        "status: new",
        "contact_name: Marta Sowa",
        &format!("email: {EMAIL}"),
        &format!("company: {COMPANY}"),
        &format!("need: {NEED}"),
        "budget: 30000",
        "deadline: 2027-05-31",
        "skills_required:\n  - php\n  - ux",
    ] {
        has(env, INTAKE, line);
    }
    let made = env.commits_since(&head);
    assert_eq!(sources(&made), ["forms"], "{made:?}");
    assert!(made[0].transitions().is_empty(), "{made:?}");

    // The person accepts it: a new client (no client has its e-mail) and a project.
    let o = env.ok(&["intake", "accept", "Intake Marta Sowa"]).await;
    assert!(
        out(&o).contains(&format!("client: {CLIENT} (new)"))
            && out(&o).contains(&format!("project: {PROJECT} (status: intake)")),
        "{}",
        out(&o)
    );
    has(env, INTAKE, "status: accepted");
    for line in [
        "type: client",
        &format!("name: {CONTACT}"),
        &format!("email: {EMAIL}"),
        &format!("company: {COMPANY}"),
        "status: lead",
    ] {
        has(env, CLIENT, line);
    }
    for line in [
        "type: project",
        "status: intake",
        &format!("client: \"[[{COMPANY}]]\""),
        &format!("summary: {NEED}"),
        "budget: 30000",
        "deadline: 2027-05-31",
        "skills_required:\n  - php\n  - ux",
        "intake: \"[[Intake Marta Sowa]]\"",
    ] {
        has(env, PROJECT, line);
    }
    let last = &env.commits(1)[0];
    assert!(
        last.subject.starts_with("Accept intake Intake Marta Sowa"),
        "{last:?}"
    );
    assert_eq!(last.source(), Some("vault"), "{last:?}");
    assert!(last.transitions().is_empty(), "a new project: {last:?}");
    assert_eq!(env.uncommitted(), "");
}

/// 2. The client and the experts are HubSpot contacts, the project a deal; the Sheets registers
///    list them. The intake was accepted after the sync that brought it, so (as a person would)
///    the next `sync` carries the new client and project to the services. (With `[intake]
///    auto_accept` the accepting sync runs Forms 4th of 5: HubSpot, Trello and Jira get them
///    only on the next sync too.)
async fn step_2_hubspot_and_sheets(env: &ProcessEnv) {
    let head = env.head();
    env.sync().await;
    let made = env.commits_since(&head);
    assert_eq!(
        sources(&made),
        ["hubspot", "trello", "jira", "sheets"],
        "each service wrote its ids back: {made:?}"
    );
    assert!(made.iter().all(|c| c.transitions().is_empty()), "{made:?}");
    for key in ["hubspot_id", "sheets_id"] {
        assert!(
            env.prop(CLIENT, key).is_some_and(|v| !v.is_empty()),
            "{key}"
        );
        assert!(
            env.prop(PROJECT, key).is_some_and(|v| !v.is_empty()),
            "{key}"
        );
    }
    // HubSpot: the client a contact, the experts contacts, the project a deal of the client.
    let contact = env.hubspot_of("contacts", CLIENT);
    let p = &contact["properties"];
    assert_eq!(p["ssot_role"], "client", "{contact}");
    assert_eq!(p["email"], EMAIL);
    assert_eq!(p["firstname"], "Marta");
    assert_eq!(p["lastname"], "Sowa");
    assert_eq!(p["company"], COMPANY);
    assert_eq!(p["lifecyclestage"], "lead");
    assert_eq!(
        env.prop(CLIENT, "hubspot_id").as_deref(),
        contact["id"].as_str()
    );
    for expert in [EXPERT, TOMASZ] {
        assert_eq!(
            env.hubspot_of("contacts", expert)["properties"]["ssot_role"],
            "expert"
        );
    }
    let deal = env.hubspot_of("deals", PROJECT);
    let d = &deal["properties"];
    assert_eq!(d["dealname"], NEED, "{deal}");
    assert_eq!(d["amount"], "30000");
    assert_eq!(d["dealstage"], "appointmentscheduled", "intake");
    let deal_id = deal["id"].as_str().expect("deal id");
    let with = env.deal_associations(deal_id, "contacts").await;
    assert!(
        with.iter()
            .any(|id| Some(id.as_str()) == contact["id"].as_str()),
        "the deal is the client's: {with:?}"
    );
    // Sheets: a row per client, expert and project.
    let row = env.row_of("Clients", CLIENT);
    assert_eq!(row.field("name"), Some(CONTACT));
    assert_eq!(row.field("email"), Some(EMAIL));
    assert_eq!(row.field("company"), Some(COMPANY));
    assert_eq!(row.field("status"), Some("lead"));
    assert_eq!(
        env.row_of("Experts", EXPERT).field("name"),
        Some("Anna Nowak")
    );
    assert_eq!(
        env.row_of("Experts", TOMASZ).field("name"),
        Some("Tomasz Wiśniewski")
    );
    let row = env.row_of("Projects", PROJECT);
    assert_eq!(row.field("title"), Some(NEED));
    assert_eq!(row.field("client"), Some(COMPANY));
    assert_eq!(row.field("status"), Some("intake"));
    assert_eq!(row.field("budget"), Some("30000"));
    assert_eq!(env.rows("Projects").len(), 2, "the template's and this one");
    assert_eq!(env.uncommitted(), "");
}

/// 3. The project is a Jira issue (made at its first sync, whatever its status: no creation
///    gate), not assigned while it has no expert; its Trello card exists from that sync too, in
///    the `Intake` list.
async fn step_3_jira_issue(env: &ProcessEnv) {
    let issue = env.issue_of(PROJECT);
    assert_eq!(env.prop(PROJECT, "jira_key"), Some(issue.id.clone()));
    assert_eq!(issue.field("summary"), Some(NEED), "{issue:?}");
    assert_eq!(issue.field("issuetype"), Some("Epic"));
    assert_eq!(issue.field("status"), Some("To Do"));
    assert_eq!(issue.field("parent"), None);
    assert_eq!(issue.field("assignee"), None, "no expert yet");
    let sid = env.sid(PROJECT);
    assert_eq!(issue.field("labels"), Some(format!("ssot-{sid}").as_str()));
    assert_eq!(env.issues().len(), 2, "the template's and this one");
    let card = env.card_of(PROJECT);
    assert_eq!(env.prop(PROJECT, "trello_card_id"), Some(card.id.clone()));
    assert_eq!(card.field("list"), Some("Intake"), "{card:?}");
    assert!(env.checklist(&card.id).await.is_empty(), "not accepted yet");
}

/// 4. `match` ranks the experts (with its reasons), the person proposes the first (`match
///    --assign`), and the expert accepts (`project accept`): each move one commit with its
///    `Ssot-Transition`s; the sync between carries the status to HubSpot and Sheets.
async fn step_4_match_and_accept(env: &ProcessEnv) {
    let o = env.ok(&["match", NAME]).await;
    let ranking = out(&o);
    let anna = ranking.find(" 1. Anna Nowak").expect("Anna first");
    let tomasz = ranking
        .find(" 2. Tomasz Wiśniewski")
        .expect("Tomasz second");
    assert!(anna < tomasz, "{ranking}");
    assert!(ranking.contains("2 of 2 required: php, ux"), "{ranking}");
    assert!(
        ranking.contains("0 of 2 required; missing php, ux"),
        "{ranking}"
    );

    let head = env.head();
    env.ok(&["match", NAME, "--assign", "Anna Nowak"]).await;
    has(env, PROJECT, "status: proposed");
    has(env, PROJECT, "expert: \"[[Anna Nowak]]\"");
    has(env, PROJECT, "expert_status: proposed");
    let made = env.commits_since(&head);
    assert_eq!(sources(&made), ["vault"], "{made:?}");
    assert_eq!(
        made[0].transitions(),
        ["intake→matching", "matching→proposed"],
        "{made:?}"
    );

    let head = env.head();
    env.sync().await;
    assert!(
        env.commits_since(&head).is_empty(),
        "nothing came back into the vault"
    );
    let deal = env.hubspot_of("deals", PROJECT);
    assert_eq!(deal["properties"]["dealstage"], "presentationscheduled");
    let anna = env.hubspot_of("contacts", EXPERT);
    let with = env
        .deal_associations(deal["id"].as_str().expect("deal id"), "contacts")
        .await;
    assert!(
        with.iter()
            .any(|id| Some(id.as_str()) == anna["id"].as_str()),
        "the deal is associated with its expert: {with:?}"
    );
    assert_eq!(
        env.row_of("Projects", PROJECT).field("status"),
        Some("proposed")
    );
    let issue = env.issue_of(PROJECT);
    assert_eq!(issue.field("status"), Some("To Do"), "{issue:?}");
    // The `expert` link is the only change Jira sees here (`proposed` is `To Do` like
    // `intake`): a change of links alone is sent.
    assert_eq!(
        issue.field("assignee"),
        Some(SEED_USERS[ANNA_JIRA].0),
        "{issue:?}"
    );

    let head = env.head();
    env.ok(&["project", "accept", NAME]).await;
    has(env, PROJECT, "status: credentialing");
    has(env, PROJECT, "expert_status: accepted");
    let tasks: String = CREDENTIALING
        .iter()
        .map(|t| format!("- [ ] {t}\n"))
        .collect();
    assert!(
        env.note(PROJECT)
            .contains(&format!("## Credentialing\n\n{tasks}")),
        "{}",
        env.note(PROJECT)
    );
    let made = env.commits_since(&head);
    assert_eq!(sources(&made), ["vault"], "{made:?}");
    assert_eq!(
        made[0].transitions(),
        ["proposed→accepted", "accepted→credentialing"],
        "{made:?}"
    );
    assert_eq!(env.uncommitted(), "");
}

/// 5. On acceptance the project's Trello card is opened for the expert (moved to
///    `Credentialing`, the credentialing checklist on it) and a Jira task is made under the
///    project's issue, assigned to the expert; the issue waits On Hold, the expert cannot see it
///    yet. HubSpot and Sheets follow the status.
async fn step_5_card_and_task(env: &ProcessEnv) {
    let head = env.head();
    let o = env.sync().await;
    assert!(
        env.commits_since(&head).is_empty(),
        "the effects write nothing into the vault: {}",
        out(&o)
    );
    let card = env.card_of(PROJECT);
    assert_eq!(card.field("list"), Some("Credentialing"), "{card:?}");
    let items: Vec<(String, bool)> = CREDENTIALING
        .iter()
        .map(|t| (t.to_string(), false))
        .collect();
    assert_eq!(env.checklist(&card.id).await, items);
    assert_eq!(env.live_of("trello", "cards").len(), 2, "no second card");

    let anna = SEED_USERS[ANNA_JIRA].0;
    let issue = env.issue_of(PROJECT);
    assert_eq!(issue.field("status"), Some("On Hold"), "{}", out(&o));
    assert_eq!(issue.field("assignee"), Some(anna));
    let tasks = env.tasks_of(&issue.id);
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let task = &tasks[0];
    assert_eq!(task.field("issuetype"), Some("Task"));
    assert_eq!(task.field("assignee"), Some(anna));
    let sid = env.sid(PROJECT);
    assert_eq!(
        task.field("labels"),
        Some(format!("ssot-{sid}-task").as_str())
    );
    assert!(!env.jira_members().iter().any(|m| m == anna));
    assert!(
        !env.jira_can_read(ANNA_JIRA, &issue.id).await,
        "access comes with `active`"
    );

    let deal = env.hubspot_of("deals", PROJECT);
    assert_eq!(deal["properties"]["dealstage"], "contractsent");
    assert_eq!(
        env.row_of("Projects", PROJECT).field("status"),
        Some("credentialing")
    );

    // Settled: a second sync makes no second card, task or commit.
    let head = env.head();
    env.sync().await;
    assert_eq!(env.head(), head);
    assert_eq!(env.tasks_of(&issue.id).len(), 1);
    assert_eq!(env.live_of("trello", "cards").len(), 2);
    assert_eq!(env.issues().len(), 3, "two projects and one task");
}

/// 6. The metrics are on the Jira issue: the budget (the `Budget` number field), the estimate
///    (`timetracking`, 160 h = 4 weeks of 5 days of 8 h), the deadline (`duedate`) and the
///    priority. The person fills in the estimate and raises the priority by hand (`set`); the
///    sync commits the edit as the vault's, then carries it.
async fn step_6_metrics(env: &ProcessEnv) {
    let head = env.head();
    env.ok(&["set", PROJECT, "estimate_hours=160", "priority=high"])
        .await;
    env.sync().await;
    let made = env.commits_since(&head);
    assert_eq!(sources(&made), ["vault"], "{made:?}");
    assert!(made[0].transitions().is_empty());
    let issue = env.issue_of(PROJECT);
    assert_eq!(issue.field("customfield_10050"), Some("30000"), "{issue:?}");
    assert_eq!(issue.field("originalEstimate"), Some("4w"));
    assert_eq!(issue.field("duedate"), Some("2027-05-31"));
    assert_eq!(issue.field("priority"), Some("High"));
    assert_eq!(issue.field("status"), Some("On Hold"), "unchanged");
    let card = env.card_of(PROJECT);
    assert_eq!(card.field("labels"), Some("High"));
    assert_eq!(env.uncommitted(), "");
}

// Steps 7-12, to be written here as the features they need land (issue 14, "What to build"),
// each a function called in order after step 6, asserting:
//
// 7. Jira on hold while the card's credentialing checklist is open: tick some items in Trello
//    (`tick`) and some in the note; after `sync` the note's `## Credentialing` and the card's
//    checklist agree item by item, the issue is still `On Hold`; documents uploaded to the card
//    (`attach`) are listed in the note (a `## Documents` list: name and link), no commit
//    without a change (`Ssot-Source: trello` on the pull commit).
// 8. The last item ticked (in Trello, then once in the note) and, with `[workflow]
//    auto_activate = true`, the project `active` by itself in the same `sync`: note `status:
//    active`, commit with `Ssot-Transition: credentialing→active`; the card in `Active`; the
//    issue `In Progress`, Anna in the project's `Members` role and able to read it
//    (`jira_can_read`); the deal stage and the Sheets `status` column follow.
// 9. The helpdesk: the client writes through the helpdesk form (`submit` to
//    `HELPDESK_FORM_ID`) and the expert comments on the helpdesk card (`comment_as`); after
//    `sync` the ticket note's `## Conversation` and the card's comments hold the same messages,
//    once each (a second sync adds none).
// 10. The card moved to `Blocked` in Trello (`move_card`, reason in a comment): the note
//    `blocked` with its `blocked_reason`, the pull commit with `Ssot-Source: trello` and
//    `Ssot-Transition: active→blocked`; the issue `On Hold` and settled (no ping-pong, no
//    notice comment: `jira_comments`), the deal's stage the blocked one, the Sheets row
//    `blocked`; moved back to `Active`: unblocked everywhere the same way (`blocked→active`).
// 11. (not in the issue's list)
// 12. `project done`, then `archive`: the CSV and XML export attached to the card once
//    (`attachments`), read back and compared; only then the issue and its task deleted from
//    Jira (`issues`, `tasks_of` empty), Anna's access revoked (not in `Members`, cannot read);
//    the deal `closedwon`; the notes under `Archive/`, `status: archived`, commits with
//    `Ssot-Transition: active→done` and `done→archived`; a last sync changes nothing.

/// The seed's steps in order, on one vault and one sandbox of the five services.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_process_across_the_five_services() {
    let env = ProcessEnv::new().await;
    step_0_the_template_in_every_service(&env).await;
    step_1_intake(&env).await;
    step_2_hubspot_and_sheets(&env).await;
    step_3_jira_issue(&env).await;
    step_4_match_and_accept(&env).await;
    step_5_card_and_task(&env).await;
    step_6_metrics(&env).await;
}
