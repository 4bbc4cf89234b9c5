//! Gaps of the cross-service process, each found by running it across the five services and
//! closed here: a project moved from credentialing straight to done ends Done in Jira and stays
//! so.

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
