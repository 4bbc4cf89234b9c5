//! The consultancy's whole process across the five services as one integration test (issue 14):
//! the seed's steps, each a function run in order on one [`ProcessEnv`], each asserting after it
//! what the vault, every emulator concerned and the git log's trailers (`Ssot-Source`,
//! `Ssot-Transition`) hold. Step 11 is not in the issue's list.
//!
//! Everything is done as a person would: a response to the intake form, the CLI's workflow
//! commands, `ssot-vault set` for a hand edit, and `ssot-vault sync` of every service.

use serde_json::json;
use ssot_vault::sandbox::forms::{HELPDESK_FORM_ID, INTAKE_FORM_ID};
use ssot_vault::sandbox::jira::store::SEED_USERS;
use ssot_vault::workflow::ticket;

use crate::conformance::trello::OLA;
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

/// The note's `## Credentialing` items: (task, checked), in order.
fn note_checklist(env: &ProcessEnv) -> Vec<(String, bool)> {
    let text = env.note(PROJECT);
    let Some(start) = text.find("## Credentialing\n") else {
        return Vec::new();
    };
    text[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| {
            l.strip_prefix("- [x] ")
                .map(|t| (t.to_string(), true))
                .or_else(|| l.strip_prefix("- [ ] ").map(|t| (t.to_string(), false)))
        })
        .collect()
}

/// The credentialing items, those in `ticked` checked.
fn items(ticked: &[&str]) -> Vec<(String, bool)> {
    CREDENTIALING
        .iter()
        .map(|t| (t.to_string(), ticked.contains(t)))
        .collect()
}

/// 7. The Jira issue stays On Hold while the card's credentialing checklist is open: Ola ticks
///    an item in Trello, the person another in the note, Ola uploads the signed NDA to the card;
///    after `sync` the note and the card agree item by item and the note lists the document in
///    its `## Documents`. The note's edit is committed as the vault's, the pull as Trello's.
async fn step_7_credentialing_open(env: &ProcessEnv) {
    let card = env.card_of(PROJECT).id;
    env.tick(&card, "Contract signed", true).await;
    let text = env
        .note(PROJECT)
        .replacen("- [ ] NDA signed\n", "- [x] NDA signed\n", 1);
    std::fs::write(env.v.join(PROJECT), text).expect("tick in the note");
    env.attach(
        &card,
        "nda-signed.pdf",
        b"%PDF-1.4 NDA signed by Anna Nowak",
    )
    .await;

    let head = env.head();
    let o = env.sync().await;
    let made = env.commits_since(&head);
    assert_eq!(sources(&made), ["vault", "trello"], "{made:?}\n{}", out(&o));
    assert!(made.iter().all(|c| c.transitions().is_empty()), "{made:?}");
    let both = items(&["Contract signed", "NDA signed"]);
    assert_eq!(note_checklist(env), both, "{}", env.note(PROJECT));
    assert_eq!(env.checklist(&card).await, both);
    has(env, PROJECT, "status: credentialing");
    let documents = env.note(PROJECT);
    let listed = documents
        .find("## Documents\n")
        .map(|i| &documents[i..])
        .unwrap_or_default();
    assert!(
        listed.contains("\n- [nda-signed.pdf]("),
        "the document is listed: {documents}"
    );
    let issue = env.issue_of(PROJECT);
    assert_eq!(issue.field("status"), Some("On Hold"), "{issue:?}");
    assert!(!env.jira_can_read(ANNA_JIRA, &issue.id).await);
    assert_eq!(env.card_of(PROJECT).field("list"), Some("Credentialing"));
    assert_eq!(
        env.row_of("Projects", PROJECT).field("status"),
        Some("credentialing")
    );

    // Settled: no commit without a change.
    let head = env.head();
    env.sync().await;
    assert_eq!(env.head(), head, "{:?}", env.commits_since(&head));
    assert_eq!(env.uncommitted(), "");
}

/// 8. Ola ticks the last items in Trello; with `[workflow] auto_activate` one `sync` pulls them,
///    makes the project `active` (its own commit with `Ssot-Transition: credentialing→active`)
///    and carries the move to every service: the expert is given access to the Jira issue, which
///    moves to In Progress; the card moves to `Active`; the deal and the Sheets row follow.
async fn step_8_active(env: &ProcessEnv) {
    let card = env.card_of(PROJECT).id;
    for item in ["Invoicing details received", "Access to systems granted"] {
        env.tick(&card, item, true).await;
    }
    let head = env.head();
    let o = env.sync().await;
    let made = env.commits_since(&head);
    assert_eq!(sources(&made), ["trello", "vault"], "{made:?}\n{}", out(&o));
    assert!(made[0].transitions().is_empty(), "{made:?}");
    assert_eq!(made[1].transitions(), ["credentialing→active"], "{made:?}");
    has(env, PROJECT, "status: active");
    assert_eq!(note_checklist(env), items(&CREDENTIALING));
    assert_eq!(env.checklist(&card).await, items(&CREDENTIALING));

    let anna = SEED_USERS[ANNA_JIRA].0;
    let issue = env.issue_of(PROJECT);
    assert_eq!(issue.field("status"), Some("In Progress"), "{}", out(&o));
    assert_eq!(issue.field("assignee"), Some(anna));
    assert!(env.jira_members().iter().any(|m| m == anna));
    assert!(
        env.jira_can_read(ANNA_JIRA, &issue.id).await,
        "the expert can read the issue"
    );
    assert_eq!(env.tasks_of(&issue.id).len(), 1, "no second task");
    assert_eq!(env.card_of(PROJECT).field("list"), Some("Active"));
    let deal = env.hubspot_of("deals", PROJECT);
    assert_eq!(deal["properties"]["dealstage"], "contractsent", "{deal}");
    assert_eq!(
        env.row_of("Projects", PROJECT).field("status"),
        Some("active")
    );

    let head = env.head();
    env.sync().await;
    assert_eq!(env.head(), head, "{:?}", env.commits_since(&head));
    assert_eq!(env.uncommitted(), "");
}

/// The client's first message through the helpdesk form.
const ASKED: &str = "The booking page shows no free tables.";
/// The ticket note the client's message opens (named after its first line).
const TICKET: &str = "Helpdesk/The booking page shows no free tables.md";
/// The expert's answer on the helpdesk card.
const ANSWERED: &str = "Fixed: the opening hours were missing.";

/// 9. The helpdesk: the client writes through the helpdesk form, which opens a ticket note of
///    the project (Forms runs last, so its card is made on the next `sync`, as a person would
///    sync again); the expert answers on the helpdesk card; the ticket note's `## Conversation`
///    and the card's comments carry the same two messages, once each.
async fn step_9_helpdesk(env: &ProcessEnv) {
    let head = env.head();
    let response = env
        .submit(
            HELPDESK_FORM_ID,
            json!({"Project": NAME, "Who is writing?": "Client", "Message": ASKED}),
        )
        .await;
    let o = env.sync().await;
    let ticket = env.note_with("Helpdesk", &format!("- {response}"));
    assert_eq!(ticket, TICKET, "{}", out(&o));
    for line in [
        "type: ticket",
        &format!("project: \"[[{NAME}]]\""),
        "from: client",
        "status: open",
        &format!("client: \"[[{COMPANY}]]\""),
    ] {
        has(env, &ticket, line);
    }
    let made = env.commits_since(&head);
    assert_eq!(sources(&made), ["forms"], "{made:?}");
    assert!(made[0].transitions().is_empty(), "{made:?}");

    // The next sync opens its card on the helpdesk board with the client's message.
    let head = env.head();
    env.sync().await;
    let made = env.commits_since(&head);
    assert_eq!(
        sources(&made),
        ["trello"],
        "the card's id written back: {made:?}"
    );
    let id = env
        .prop(&ticket, "trello_card_id")
        .expect("the ticket's card");
    let card = env
        .live_of("trello", "cards")
        .into_iter()
        .find(|c| c.id == id)
        .expect("the card in Trello");
    assert_eq!(card.field("list"), Some("Open"), "{card:?}");
    let said = env.card_comments(&card.id).await;
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].ends_with(&format!("\n\n{ASKED}")), "{said:?}");

    // The expert answers on the card.
    env.comment_as("sandbox-trello-token-ewa", &card.id, ANSWERED)
        .await;
    let head = env.head();
    env.sync().await;
    let made = env.commits_since(&head);
    assert_eq!(sources(&made), ["trello"], "{made:?}");
    let messages = ticket::conversation(&env.note(&ticket));
    let texts: Vec<(ticket::Party, &str)> = messages
        .iter()
        .map(|m| (m.party, m.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            (ticket::Party::Client, ASKED),
            (ticket::Party::Expert, ANSWERED)
        ],
        "{}",
        env.note(&ticket)
    );
    // The expert's reply makes the ticket `answered`, as a reply through the form does; its card
    // moves to the `Answered` list in the same run.
    has(env, &ticket, "status: answered");
    assert_eq!(
        env.live_of("trello", "cards")
            .into_iter()
            .find(|c| c.id == id)
            .and_then(|c| c.field("list").map(str::to_string))
            .as_deref(),
        Some("Answered")
    );
    let said = env.card_comments(&card.id).await;
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].ends_with(&format!("\n\n{ASKED}")), "{said:?}");
    assert!(said[1].ends_with(ANSWERED), "{said:?}");

    // Settled: a second sync adds no message on either side.
    let head = env.head();
    env.sync().await;
    assert_eq!(env.head(), head, "{:?}", env.commits_since(&head));
    assert_eq!(ticket::conversation(&env.note(&ticket)).len(), 2);
    assert_eq!(env.card_comments(&card.id).await.len(), 2);
    assert_eq!(env.responses("helpdesk").len(), 1);
    assert_eq!(env.uncommitted(), "");
}

/// Why the work stops (Ola's comment on the card, read as the reason).
const REASON: &str = "Waiting for the client's VPN access";

/// 10. Ola moves the card to `Blocked` in Trello, saying why in a comment: the project is blocked
///     everywhere (the note with its reason, Jira On Hold, the deal's blocked stage, the Sheets
///     row), settled without a ping-pong; moved back to `Active`, it is unblocked the same way.
///     HubSpot runs before Trello: it runs once more at the end of the same `sync`, which
///     carries each move to its deal.
async fn step_10_blocked_and_back(env: &ProcessEnv) {
    let card = env.card_of(PROJECT).id;
    let key = env.issue_of(PROJECT).id;
    let notices = env.jira_comments(&key);
    env.comment_as(OLA, &card, REASON).await;
    env.move_card(&card, "Blocked").await;
    let head = env.head();
    let o = env.sync().await;
    let made = env.commits_since(&head);
    assert_eq!(sources(&made), ["trello"], "{made:?}\n{}", out(&o));
    has(env, PROJECT, "status: blocked");
    assert_eq!(env.prop(PROJECT, "blocked_reason").as_deref(), Some(REASON));
    let issue = env.issue_of(PROJECT);
    assert_eq!(issue.field("status"), Some("On Hold"), "{}", out(&o));
    assert_eq!(
        env.row_of("Projects", PROJECT).field("status"),
        Some("blocked")
    );
    let deal = env.hubspot_of("deals", PROJECT);
    assert_eq!(deal["properties"]["dealstage"], "decisionmakerboughtin");
    settled(env, "decisionmakerboughtin", "Blocked", "On Hold").await;
    assert_eq!(env.jira_comments(&key), notices, "no notice comment");
    // The move's trailer on the pull commit.
    // The move made in Trello is committed with its transition, as the vault's commands do.
    assert_eq!(made[0].transitions(), ["active→blocked"], "{made:?}");

    env.move_card(&card, "Active").await;
    let head = env.head();
    let o = env.sync().await;
    let made = env.commits_since(&head);
    assert_eq!(sources(&made), ["trello"], "{made:?}\n{}", out(&o));
    has(env, PROJECT, "status: active");
    assert_eq!(env.prop(PROJECT, "blocked_reason"), None);
    assert_eq!(env.issue_of(PROJECT).field("status"), Some("In Progress"));
    assert_eq!(
        env.row_of("Projects", PROJECT).field("status"),
        Some("active")
    );
    let deal = env.hubspot_of("deals", PROJECT);
    assert_eq!(deal["properties"]["dealstage"], "contractsent");
    settled(env, "contractsent", "Active", "In Progress").await;
    assert!(env.jira_can_read(ANNA_JIRA, &key).await, "access kept");
    assert_eq!(env.jira_comments(&key), notices, "no notice comment");
    // The move made in Trello is committed with its transition, as the vault's commands do.
    assert_eq!(made[0].transitions(), ["blocked→active"], "{made:?}");
    assert_eq!(env.uncommitted(), "");
}

// 11. (not in the issue's list)

/// 12. `project done`, then `archive` (the ticket closed first: a project with an open ticket is
///     not archived): the archive's `sync` attaches the CSV and XML export to the card, reads it
///     back, and only then deletes the Jira issue and its task; the expert's access is taken
///     back; the deal is closed won; the notes are under `Archive/`; a last sync changes nothing.
async fn step_12_done_and_archive(env: &ProcessEnv) {
    let key = env.issue_of(PROJECT).id;
    let card = env.card_of(PROJECT).id;
    let head = env.head();
    env.ok(&["project", "done", NAME]).await;
    has(env, PROJECT, "status: done");
    let made = env.commits_since(&head);
    assert_eq!(sources(&made), ["vault"], "{made:?}");
    assert_eq!(made[0].transitions(), ["active→done"], "{made:?}");
    let o = env.sync().await;
    assert_eq!(
        env.issue_of(PROJECT).field("status"),
        Some("Done"),
        "{}",
        out(&o)
    );
    assert_eq!(env.card_of(PROJECT).field("list"), Some("Done"));
    let deal = env.hubspot_of("deals", PROJECT);
    assert_eq!(deal["properties"]["dealstage"], "closedwon");
    assert_eq!(
        env.row_of("Projects", PROJECT).field("status"),
        Some("done")
    );

    let ticket = TICKET.trim_start_matches("Helpdesk/");
    env.ok(&["ticket", "close", ticket]).await;
    let head = env.head();
    env.ok(&["archive", NAME]).await;
    let made = env.commits_since(&head);
    assert_eq!(sources(&made), ["vault"], "{made:?}");
    assert_eq!(made[0].transitions(), ["done→archived"], "{made:?}");
    let archived = format!("Archive/{NAME}/{NAME}.md");
    assert!(!env.v.join(PROJECT).exists(), "moved out of Projects/");
    has(env, &archived, "status: archived");

    let o = env.sync().await;
    // Trello: the export attached, as the vault holds it (downloaded and compared), beside the
    // document uploaded in step 7.
    let dir = env.v.join(format!("Archive/{NAME}"));
    let mut want: Vec<(String, Vec<u8>)> = ["csv", "xml"]
        .iter()
        .map(|ext| {
            let f = format!("{NAME}.{ext}");
            let bytes = std::fs::read(dir.join(&f)).expect("export in the vault");
            (f, bytes)
        })
        .collect();
    let attached: Vec<(String, Vec<u8>)> = env
        .attachment_bytes(&card)
        .await
        .into_iter()
        .filter(|(n, _)| n != "nda-signed.pdf")
        .collect();
    want.sort();
    assert_eq!(
        attached.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        [format!("{NAME}.csv"), format!("{NAME}.xml")],
        "{}",
        out(&o)
    );
    assert!(attached == want, "the export as the vault holds it");
    // Jira: the issue and its task deleted, the expert's access taken back.
    let anna = SEED_USERS[ANNA_JIRA].0;
    assert!(
        env.issues().iter().all(|r| r.id != key),
        "the issue deleted: {}",
        out(&o)
    );
    assert!(env.tasks_of(&key).is_empty(), "its task deleted");
    assert!(!env.jira_members().iter().any(|m| m == anna));
    assert!(!env.jira_can_read(ANNA_JIRA, &key).await);
    let deal = env.hubspot_of("deals", &archived);
    assert_eq!(deal["properties"]["dealstage"], "closedwon");
    // In that order: the attach before the revoke and the delete (Trello runs before Jira).
    let said = out(&o);
    let at = |what: &str| said.find(what).unwrap_or_else(|| panic!("{what}: {said}"));
    assert!(
        at("trello: attach the archive's export") < at("jira: take its expert's access back")
            && at("jira: take its expert's access back") < at("jira: delete the record"),
        "{said}"
    );
    // The project's notes (its intake and its ticket with it) under `Archive/`; the card
    // in Trello's `Archived` list; the Sheets row `archived`.
    for note in [
        format!("{NAME}.md"),
        "Intake Marta Sowa.md".into(),
        TICKET.trim_start_matches("Helpdesk/").into(),
    ] {
        assert!(dir.join(&note).exists(), "Archive/{NAME}/{note}");
    }
    assert!(!env.v.join(INTAKE).exists() && !env.v.join(TICKET).exists());
    let c = env
        .trello(reqwest::Method::GET, &format!("/cards/{card}"), None)
        .await;
    let list = c["idList"].as_str().expect("idList");
    let list = env
        .trello(reqwest::Method::GET, &format!("/lists/{list}"), None)
        .await;
    assert_eq!(list["name"], json!("Archived"), "{c}");
    assert_eq!(
        env.row_of("Projects", &archived).field("status"),
        Some("archived")
    );
    assert_eq!(env.uncommitted(), "");

    let head = env.head();
    env.sync().await;
    assert_eq!(env.head(), head, "settled: {:?}", env.commits_since(&head));
}

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
    step_7_credentialing_open(&env).await;
    step_8_active(&env).await;
    step_9_helpdesk(&env).await;
    step_10_blocked_and_back(&env).await;
    step_12_done_and_archive(&env).await;
}

/// The next `sync` after a move carried everywhere changes nothing (no ping-pong), and leaves
/// the deal's stage, the card's list and the Jira issue's status as they are.
async fn settled(env: &ProcessEnv, stage: &str, list: &str, issue: &str) {
    let head = env.head();
    env.sync().await;
    assert_eq!(env.head(), head, "settled: no ping-pong");
    let deal = env.hubspot_of("deals", PROJECT);
    assert_eq!(deal["properties"]["dealstage"], stage);
    assert_eq!(env.card_of(PROJECT).field("list"), Some(list));
    assert_eq!(env.issue_of(PROJECT).field("status"), Some(issue));
}
