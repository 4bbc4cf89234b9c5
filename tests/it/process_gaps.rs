//! Gaps of the cross-service process, each found by running it across the five services and
//! closed here: a project moved from credentialing straight to done ends Done in Jira and stays
//! so; a reply on a helpdesk card sets the ticket's status as a reply through the form does; a
//! status move made in Trello reaches HubSpot (which runs first) in the same `sync`; the commit
//! finishing a stopped run names the transition it took.

use crate::hs_env::{PROJECT, out};
use crate::process_env::ProcessEnv;

/// The template project's name on the command line.
const NAME: &str = "Złoty Kłos online shop";

/// The template project synced, proposed to Anna Nowak and accepted by her, synced again: it is
/// `credentialing` everywhere (its Jira issue On Hold).
async fn credentialing(env: &ProcessEnv) {
    env.sync().await;
    env.ok(&["match", NAME, "--assign", "Anna Nowak"]).await;
    env.ok(&["project", "accept", NAME]).await;
    let o = env.sync().await;
    assert_eq!(
        env.prop(PROJECT, "status").as_deref(),
        Some("credentialing")
    );
    assert_eq!(
        env.issue_of(PROJECT).field("status"),
        Some("On Hold"),
        "{}",
        out(&o)
    );
}

/// Every `## Credentialing` item of the project note ticked by hand.
fn tick_all(env: &ProcessEnv) {
    let text = env.note(PROJECT).replace("- [ ] ", "- [x] ");
    std::fs::write(env.v.join(PROJECT), text).expect("tick in the note");
}

/// A project moved in the vault from credentialing through active to done between two syncs:
/// the one `sync` leaves its Jira issue Done (the resume of the step through `active` does not
/// move it back to In Progress after the Done write), the expert given access on the way; the
/// next `sync` changes nothing and the issue stays Done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentialing_to_done_in_one_sync_ends_done_in_jira() {
    let env = ProcessEnv::new().await;
    credentialing(&env).await;
    tick_all(&env);
    env.ok(&["project", "activate", NAME]).await;
    env.ok(&["project", "done", NAME]).await;
    let o = env.sync().await;
    let issue = env.issue_of(PROJECT);
    assert_eq!(issue.field("status"), Some("Done"), "{}", out(&o));
    assert!(
        env.jira_can_read(crate::process_env::ANNA_JIRA, &issue.id)
            .await,
        "the expert was given access on the way"
    );
    assert_eq!(env.prop(PROJECT, "status").as_deref(), Some("done"));
    let head = env.head();
    let o = env.sync().await;
    assert_eq!(
        env.issue_of(PROJECT).field("status"),
        Some("Done"),
        "{}",
        out(&o)
    );
    assert_eq!(env.prop(PROJECT, "status").as_deref(), Some("done"));
    assert_eq!(
        env.head(),
        head,
        "{:?}\n{}",
        env.commits_since(&head),
        out(&o)
    );
    assert_eq!(env.uncommitted(), "");
}

/// A project whose first sync finds it already in credentialing: its new Jira issue is On Hold,
/// not To Do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_first_synced_in_credentialing_is_on_hold_in_jira() {
    let env = ProcessEnv::new().await;
    env.ok(&["match", NAME, "--assign", "Anna Nowak"]).await;
    env.ok(&["project", "accept", NAME]).await;
    assert_eq!(
        env.prop(PROJECT, "status").as_deref(),
        Some("credentialing")
    );
    let o = env.sync().await;
    assert_eq!(
        env.issue_of(PROJECT).field("status"),
        Some("On Hold"),
        "{}",
        out(&o)
    );
    let head = env.head();
    env.sync().await;
    assert_eq!(env.issue_of(PROJECT).field("status"), Some("On Hold"));
    assert_eq!(env.head(), head, "{:?}", env.commits_since(&head));
}

/// The status of the ticket note opened by the helpdesk form response whose id is `response`.
fn ticket_status(env: &ProcessEnv, response: &str) -> (String, Option<String>) {
    let ticket = env.note_with("Helpdesk", &format!("- {response}"));
    let status = env.prop(&ticket, "status");
    (ticket, status)
}

/// The name of the list of the helpdesk card `id`.
fn card_list(env: &ProcessEnv, id: &str) -> Option<String> {
    env.live_of("trello", "cards")
        .into_iter()
        .find(|c| c.id == id)
        .and_then(|c| c.field("list").map(str::to_string))
}

/// A reply written on the helpdesk card follows the rule a reply through the helpdesk form (or
/// `ticket reply`) follows: the expert's reply to the client's ticket makes it `answered`, the
/// client's reply makes it `open` again; the card moves to the status's list with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_on_the_helpdesk_card_sets_the_status_a_form_reply_sets() {
    use ssot_vault::sandbox::forms::HELPDESK_FORM_ID;
    let env = ProcessEnv::new().await;
    env.sync().await;
    let write = |who: &'static str, text: &'static str| {
        let env = &env;
        async move {
            env.submit(
                HELPDESK_FORM_ID,
                serde_json::json!({"Project": NAME, "Who is writing?": who, "Message": text}),
            )
            .await
        }
    };
    // Through the form: the client opens a ticket, the expert answers.
    let opened = write("Client", "The cart forgets its items.").await;
    env.sync().await;
    assert_eq!(ticket_status(&env, &opened).1.as_deref(), Some("open"));
    write("Expert", "Fixed: the session cookie expired too soon.").await;
    env.sync().await;
    let (ticket, by_form) = ticket_status(&env, &opened);
    assert_eq!(by_form.as_deref(), Some("answered"));
    env.sync().await;
    let card = env
        .prop(&ticket, "trello_card_id")
        .expect("the ticket's card");
    assert_eq!(card_list(&env, &card).as_deref(), Some("Answered"));

    // On the card: the client writes again (open), the expert answers (answered).
    env.comment_as(
        "sandbox-trello-token-anna",
        &card,
        "Still forgetting them on mobile.",
    )
    .await;
    let o = env.sync().await;
    assert_eq!(
        env.prop(&ticket, "status").as_deref(),
        Some("open"),
        "{}\n{}",
        env.note(&ticket),
        out(&o)
    );
    assert_eq!(card_list(&env, &card).as_deref(), Some("Open"));
    env.comment_as("sandbox-trello-token-ewa", &card, "Fixed on mobile too.")
        .await;
    let o = env.sync().await;
    assert_eq!(
        env.prop(&ticket, "status"),
        by_form,
        "{}\n{}",
        env.note(&ticket),
        out(&o)
    );
    assert_eq!(card_list(&env, &card).as_deref(), Some("Answered"));
    assert_eq!(
        ssot_vault::workflow::ticket::conversation(&env.note(&ticket)).len(),
        4
    );
    // Settled.
    let head = env.head();
    env.sync().await;
    assert_eq!(env.head(), head, "{:?}", env.commits_since(&head));
    assert_eq!(env.uncommitted(), "");
}

/// Why the work stops (Ola's comment on the card, read as the reason).
const REASON: &str = "Waiting for the client's VPN access";

/// The template project made active everywhere, then blocked in Trello as a person does it (the
/// reason commented on the card, the card moved to `Blocked`); its card's id.
async fn blocked_in_trello(env: &ProcessEnv) -> String {
    active(env).await;
    let card = env.card_of(PROJECT).id;
    env.comment_as(crate::conformance::trello::OLA, &card, REASON)
        .await;
    env.move_card(&card, "Blocked").await;
    card
}

/// The template project made active in the vault and synced: active everywhere.
async fn active(env: &ProcessEnv) {
    credentialing(env).await;
    tick_all(env);
    env.ok(&["project", "activate", NAME]).await;
    env.sync().await;
    let deal = env.hubspot_of("deals", PROJECT);
    assert_eq!(deal["properties"]["dealstage"], "contractsent", "{deal}");
}

/// A status move made in Trello (the card moved to `Blocked`, and back to `Active`) reaches
/// HubSpot, which runs before Trello, in the same `sync`: the remotes before the one that pulled
/// it run once more; the pull is committed first, the second pass pushes only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_made_in_trello_reaches_hubspot_in_the_same_sync() {
    let env = ProcessEnv::new().await;
    let card = blocked_in_trello(&env).await;
    let head = env.head();
    let o = env.sync().await;
    assert_eq!(env.prop(PROJECT, "status").as_deref(), Some("blocked"));
    let deal = env.hubspot_of("deals", PROJECT);
    assert_eq!(
        deal["properties"]["dealstage"],
        "decisionmakerboughtin",
        "{}",
        out(&o)
    );
    let made = env.commits_since(&head);
    let sources: Vec<&str> = made.iter().filter_map(|c| c.source()).collect();
    assert_eq!(sources, ["trello"], "{made:?}\n{}", out(&o));
    assert_eq!(made[0].transitions(), ["active→blocked"], "{made:?}");
    assert!(out(&o).contains("hubspot: again"), "{}", out(&o));
    let head = env.head();
    let o = env.sync().await;
    assert_eq!(env.head(), head, "settled: {}", out(&o));
    assert!(!out(&o).contains(": again"), "no second pass: {}", out(&o));

    env.move_card(&card, "Active").await;
    let o = env.sync().await;
    assert_eq!(env.prop(PROJECT, "status").as_deref(), Some("active"));
    let deal = env.hubspot_of("deals", PROJECT);
    assert_eq!(
        deal["properties"]["dealstage"],
        "contractsent",
        "{}",
        out(&o)
    );
    assert_eq!(env.uncommitted(), "");
}

/// A run stopped after writing a status move pulled from Trello into the note, before its state
/// and commit: the next `sync` commits that note as the stopped run's, with the
/// `Ssot-Transition` the whole run would have given it (not as the vault's, not without it),
/// and carries the move on to the other services.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commit_finishing_a_stopped_run_names_its_transition() {
    let env = ProcessEnv::new().await;
    blocked_in_trello(&env).await;
    let head = env.head();
    let mut envs = env.credentials();
    envs.push(("SSOT_TEST_STOP_AT".into(), "sync-applied:trello".into()));
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let o = env.run_with(&["sync"], &envs).await;
    assert!(!o.status.success(), "stopped: {}", out(&o));
    assert_eq!(env.prop(PROJECT, "status").as_deref(), Some("blocked"));
    assert!(
        env.uncommitted().contains("Projects/"),
        "the note written, not committed: {}",
        env.uncommitted()
    );
    let o = env.sync().await;
    let made = env.commits_since(&head);
    let touching: Vec<_> = made
        .iter()
        .filter(|c| !c.transitions().is_empty() || c.source() == Some("vault"))
        .collect();
    assert_eq!(touching.len(), 1, "{made:?}\n{}", out(&o));
    assert_eq!(touching[0].source(), Some("trello"), "{made:?}");
    assert_eq!(touching[0].transitions(), ["active→blocked"], "{made:?}");
    let deal = env.hubspot_of("deals", PROJECT);
    assert_eq!(deal["properties"]["dealstage"], "decisionmakerboughtin");
    assert_eq!(env.issue_of(PROJECT).field("status"), Some("On Hold"));
    assert_eq!(env.uncommitted(), "");
    let head = env.head();
    env.sync().await;
    assert_eq!(env.head(), head, "{:?}", env.commits_since(&head));
}
