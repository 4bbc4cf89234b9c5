//! A project note's `## Brief` ↔ its Jira issue's description, end to end through the real
//! binary and the Jira emulator: markdown edited in the vault reaches Jira as ADF, a description
//! edited in Jira reaches the note, a node markdown has not got (a panel) survives the round trip
//! through the note, an unchanged resync sends nothing, and a Brief changed on both sides is a
//! conflict that changes neither.

use serde_json::{Value, json};
use ssot_vault::sandbox::jira::{DEFAULT_EMAIL, DEFAULT_TOKEN};

use crate::conformance::harness::{Field, Harness};
use crate::conformance::jira::JiraService;
use crate::hs_env::{PROJECT, out};

type H = Harness<JiraService>;

const DESCRIPTION: Field = Field {
    note: PROJECT,
    kind: "issues",
    key: "",
    remote: "description",
    value: "",
};

/// Replaces `old` by `new` in a note.
fn edit_note(h: &H, old: &str, new: &str) {
    let text = h.note(PROJECT);
    assert!(text.contains(old), "{old}\n{text}");
    std::fs::write(h.v.join(PROJECT), text.replacen(old, new, 1)).expect("write");
}

/// The issue's description as Jira holds it.
fn description(h: &H) -> Value {
    h.record_of(PROJECT, "issues").raw["fields"]["description"].clone()
}

/// Sets the issue's description to an ADF document through Jira's API (a person's edit).
async fn put_description(h: &H, doc: Value) {
    let key = h.record_of(PROJECT, "issues").id;
    let a = reqwest::Client::new()
        .put(format!("{}/rest/api/3/issue/{key}", h.sb.jira_base_url()))
        .basic_auth(DEFAULT_EMAIL, Some(DEFAULT_TOKEN))
        .json(&json!({"fields": {"description": doc}}))
        .send()
        .await
        .expect("put");
    assert!(a.status().is_success(), "{}", a.status());
}

const BRIEF: &str = "## Brief\n\nA shop for **pre-orders**, see [the site](https://example.com).\n\n- the catalogue\n- card payments\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_brief_travels_as_adf_both_ways_and_settles() {
    let h = H::new("").await;
    edit_note(&h, "## Scope\n", &format!("{BRIEF}\n## Scope\n"));
    let o = h.sync().await;
    let d = description(&h);
    assert_eq!(d["type"], "doc", "{}", out(&o));
    assert_eq!(d["content"][0]["content"][1]["marks"][0]["type"], "strong");
    assert_eq!(d["content"][1]["type"], "bulletList");
    // An unchanged resync sends nothing and changes no note.
    let (head, writes, edits) = (
        h.head(),
        h.writes(),
        h.count("PUT /rest/api/3/issue/{issueIdOrKey}"),
    );
    let o = h.sync().await;
    assert_eq!(h.head(), head, "{}", out(&o));
    assert_eq!(h.writes(), writes);
    assert_eq!(h.count("PUT /rest/api/3/issue/{issueIdOrKey}"), edits);

    // Edited in the vault: Jira takes the new text.
    edit_note(&h, "- card payments\n", "- card payments\n- delivery\n");
    let o = h.sync().await;
    assert_eq!(
        description(&h)["content"][1]["content"][2]["content"][0]["content"][0]["text"],
        "delivery",
        "{}",
        out(&o)
    );

    // Edited in Jira: the note takes it, the rest of the note as it was.
    h.edit(DESCRIPTION, "Rewritten in Jira");
    let o = h.sync().await;
    let note = h.note(PROJECT);
    assert!(
        note.contains("## Brief\n\nRewritten in Jira\n\n## Scope\n"),
        "{}\n{note}",
        out(&o)
    );
    assert!(note.contains("- Product catalogue of about 120 items"));
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_markdown_has_not_survives_the_round_trip_through_the_note() {
    let h = H::new("").await;
    edit_note(&h, "## Scope\n", &format!("{BRIEF}\n## Scope\n"));
    h.sync().await;
    let panel = json!({"type": "panel", "attrs": {"panelType": "warning"}, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "Easter deadline"}]}]});
    let doc = json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "Before the panel"}]},
        panel.clone(),
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Sub"}]}]});
    put_description(&h, doc.clone()).await;
    let o = h.sync().await;
    let note = h.note(PROJECT);
    assert!(note.contains("```adf\n"), "{}\n{note}", out(&o));
    // The level-2 heading stays inside the section (escaped), not a section of its own.
    assert!(note.contains("\\## Sub\n"), "{note}");
    let (writes, edits) = (h.writes(), h.count("PUT /rest/api/3/issue/{issueIdOrKey}"));
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "settled");
    assert_eq!(h.count("PUT /rest/api/3/issue/{issueIdOrKey}"), edits);
    assert_eq!(h.writes(), writes);
    assert_eq!(description(&h), doc, "unchanged in Jira");

    // Text edited beside the kept node: the node goes back as it was.
    edit_note(&h, "Before the panel", "Before the yellow panel");
    let o = h.sync().await;
    let d = description(&h);
    assert_eq!(
        d["content"][0]["content"][0]["text"],
        "Before the yellow panel",
        "{}",
        out(&o)
    );
    assert_eq!(d["content"][1], panel);
    assert_eq!(d["content"][2], doc["content"][2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brief_changed_on_both_sides_is_a_conflict_changing_neither() {
    let h = H::new("").await;
    edit_note(&h, "## Scope\n", &format!("{BRIEF}\n## Scope\n"));
    h.sync().await;
    h.edit(DESCRIPTION, "Jira's version");
    edit_note(&h, "- card payments\n", "- card payments only\n");
    let o = h.run(&["sync"]).await;
    assert!(!o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("`## Brief` changed in the vault and in jira"),
        "{}",
        out(&o)
    );
    assert!(h.note(PROJECT).contains("- card payments only\n"));
    assert_eq!(
        description(&h)["content"][0]["content"][0]["text"],
        "Jira's version"
    );
    // Still one next run; settled once the two sides agree.
    let o = h.run(&["sync"]).await;
    assert!(!o.status.success(), "{}", out(&o));
    let text = h.note(PROJECT);
    let start = text.find("## Brief\n\n").expect("brief") + "## Brief\n\n".len();
    let end = text.find("\n## Scope").expect("scope");
    std::fs::write(
        h.v.join(PROJECT),
        format!("{}Jira's version\n{}", &text[..start], &text[end..]),
    )
    .expect("write");
    let o = h.run(&["sync"]).await;
    assert!(o.status.success(), "{}", out(&o));
}
