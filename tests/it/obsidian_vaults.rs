//! Real vaults as Obsidian sees them: hidden folders, the templates folder, links in tables and comments, unmanaged notes, link resolution.
//!
//! Each case is a small vault shaped the way Obsidian users make them, under
//! `tests/fixtures/obsidian/<case>/`; a test copies it to a temporary folder, runs the real
//! binary on the copy and asserts the exact bytes, exit codes and findings.

use std::path::{Path, PathBuf};

use crate::common::{bin, copy_tree, snapshot_tree, write};

/// A copy of the fixture vault `case`.
fn vault(case: &str) -> (tempfile::TempDir, PathBuf) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/obsidian")
        .join(case);
    assert!(from.is_dir(), "fixture {} is missing", from.display());
    let t = tempfile::tempdir().expect("tempdir");
    let v = t.path().join("vault");
    copy_tree(&from, &v);
    (t, v)
}

/// A finding of `check --json`.
#[derive(Debug, serde::Deserialize)]
struct Problem {
    path: String,
    line: usize,
    severity: String,
    message: String,
}

/// `check --json` on `v`: its exit code and findings.
fn check(v: &Path, extra: &[&str]) -> (i32, Vec<Problem>) {
    let out = bin()
        .arg("--vault")
        .arg(v)
        .arg("--json")
        .arg("check")
        .args(extra)
        .output()
        .expect("run check");
    #[derive(serde::Deserialize)]
    struct Report {
        problems: Vec<Problem>,
    }
    let report: Report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check --json printed no report ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("exit code"), report.problems)
}

/// `check` in plain text: exit code, stdout, stderr.
fn check_text(v: &Path) -> (i32, String, String) {
    let out = bin()
        .arg("--vault")
        .arg(v)
        .arg("check")
        .output()
        .expect("run check");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn summary(problems: &[Problem]) -> Vec<(String, String)> {
    problems
        .iter()
        .map(|p| (p.path.clone(), p.severity.clone()))
        .collect()
}

/// Item 1: appending to a list whose item is a bare `-` adds one line and keeps every other byte.
#[test]
fn append_keeps_bare_dash_items() {
    let (_t, v) = vault("bare-dash-list");
    let before = snapshot_tree(&v);
    for note in ["Seedling.md", "Column zero.md"] {
        bin()
            .arg("--vault")
            .arg(&v)
            .args(["set", note, "aliases+=probe"])
            .assert()
            .success();
    }
    let after = snapshot_tree(&v);
    assert_eq!(
        String::from_utf8_lossy(&after["Seedling.md"]),
        "---\naliases:\n  -\n  - probe\ntags:\n  - seedling\n---\n# Garden note\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&after["Column zero.md"]),
        "---\naliases:\n-\n- probe\n---\nA list whose only item is a bare dash at column 0.\n"
    );
    // Only the new item's line was added.
    for (path, old) in &before {
        let old = String::from_utf8_lossy(old);
        let new = String::from_utf8_lossy(&after[path]);
        let added: Vec<&str> = new
            .lines()
            .filter(|l| !old.lines().any(|o| o == *l))
            .collect();
        assert_eq!(added.len(), 1, "{path}: {new}");
        assert_eq!(new.lines().count(), old.lines().count() + 1, "{path}");
    }
}

/// Item 2: folders and files whose names start with a dot are not read, as in Obsidian.
#[test]
fn hidden_folders_and_files_are_not_read() {
    let (_t, v) = vault("hidden-folders");
    let (code, out, err) = check_text(&v);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "", "no finding");
    assert!(
        err.contains("checked 2 notes (0 managed): 0 errors, 0 warnings"),
        "{err}"
    );
    // A link to a hidden note leads nowhere, as in Obsidian.
    write(
        &v,
        "Notes/Visible.md",
        "See [[.scratch]] and [[ISSUE_TEMPLATE]].\n",
    );
    let (code, problems) = check(&v, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        problems
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>(),
        vec![
            "link [[.scratch]] leads to no note",
            "link [[ISSUE_TEMPLATE]] leads to no note"
        ]
    );
}

/// Item 3: the templates folders are Obsidian's (`.obsidian/templates.json`) and Templater's,
/// unless `[vault] templates` names one; `new` reads the type's template from Obsidian's.
#[test]
fn templates_folder_follows_obsidian_settings() {
    let (_t, v) = vault("templates-json");
    let (code, problems) = check(&v, &["--strict"]);
    assert_eq!(code, 0, "{problems:?}");
    assert!(problems.is_empty(), "{problems:?}");

    let out = bin()
        .arg("--vault")
        .arg(&v)
        .args([
            "new",
            "client",
            "Acme",
            "--set",
            "name=Anna",
            "--set",
            "email=a@acme.example",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let note = std::fs::read_to_string(v.join("Clients/Acme.md")).unwrap();
    assert!(
        note.contains("# Acme\n\nMade from the meta template.\n"),
        "{note}"
    );
    let (code, problems) = check(&v, &["--strict"]);
    assert_eq!((code, problems.len()), (0, 0), "{problems:?}");

    // The configuration wins: with another folder named there, these templates are notes.
    write(&v, "ssot-vault.toml", "[vault]\ntemplates = \"Other\"\n");
    let (code, problems) = check(&v, &[]);
    assert_eq!(code, 1);
    let paths: std::collections::BTreeSet<&str> = problems
        .iter()
        .filter(|p| p.severity == "error")
        .map(|p| p.path.as_str())
        .collect();
    assert_eq!(
        paths.into_iter().collect::<Vec<_>>(),
        vec!["00 Meta/templates/Client.md", "99 Templater/Project.md"]
    );
}

/// Item 4: `\|` inside a wikilink in a table cell separates the alias (and an embed's size).
#[test]
fn escaped_pipes_in_tables_resolve() {
    let (_t, v) = vault("table-pipes");
    let (code, problems) = check(&v, &["--strict"]);
    assert_eq!(code, 0, "{problems:?}");
    assert!(problems.is_empty(), "{problems:?}");
    // A link in a table that really leads nowhere is still reported, by its target alone.
    write(
        &v,
        "Notes/Table.md",
        "| a |\n| --- |\n| [[Nowhere\\|alias]] |\n",
    );
    let (_, problems) = check(&v, &[]);
    assert_eq!(
        problems
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>(),
        vec!["link [[Nowhere]] leads to no note"]
    );
}

/// Item 5: links inside `%% comments %%` are not indexed.
#[test]
fn links_in_comments_are_not_reported() {
    let (_t, v) = vault("comments");
    let (code, problems) = check(&v, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        problems
            .iter()
            .map(|p| (p.path.as_str(), p.line, p.message.as_str()))
            .collect::<Vec<_>>(),
        vec![("Meeting.md", 11, "link [[Really missing]] leads to no note")]
    );
}

/// Item 6: unreadable YAML is a warning in a person's own notes, an error in managed ones.
#[test]
fn unreadable_yaml_in_own_notes_is_a_warning() {
    let (_t, v) = vault("own-notes-yaml");
    let (code, problems) = check(&v, &[]);
    assert_eq!(code, 1, "the managed notes still fail: {problems:?}");
    assert_eq!(
        summary(&problems),
        vec![
            ("Clients/Loose.md".to_string(), "error".to_string()),
            ("Journal/2024-01-01.md".to_string(), "warning".to_string()),
            ("Notes/Idea.md".to_string(), "warning".to_string()),
            ("Notes/Typed client.md".to_string(), "error".to_string()),
            ("Notes/With id.md".to_string(), "error".to_string()),
        ]
    );
    let journal = &problems[1];
    assert_eq!(journal.line, 5, "where the YAML reader stops");
    assert!(
        journal.message.contains("not a managed note"),
        "{}",
        journal.message
    );
    // With the managed notes put right, the vault passes (the own notes stay as they are).
    for rel in [
        "Clients/Loose.md",
        "Notes/Typed client.md",
        "Notes/With id.md",
    ] {
        std::fs::remove_file(v.join(rel)).unwrap();
    }
    let before = snapshot_tree(&v);
    let (code, problems) = check(&v, &[]);
    assert_eq!(code, 0, "{problems:?}");
    assert_eq!(problems.len(), 2);
    assert_eq!(snapshot_tree(&v), before, "check never writes");
    let (code, _) = check(&v, &["--strict"]);
    assert_eq!(code, 1, "--strict fails on the warnings");
}

/// Item 7: a name found in many folders resolves as in Obsidian — the linking note's folder,
/// else the shortest path; only a tie is ambiguous.
#[test]
fn same_names_resolve_by_folder_then_shortest_path() {
    let (_t, v) = vault("same-names");
    let (code, problems) = check(&v, &[]);
    assert_eq!(code, 0, "{problems:?}");
    assert_eq!(
        problems
            .iter()
            .map(|p| (p.path.as_str(), p.severity.as_str(), p.message.as_str()))
            .collect::<Vec<_>>(),
        vec![(
            "Home.md",
            "warning",
            "link [[Meeting notes]] is ambiguous: Old/2023/Meeting notes.md, Projects/Alpha/Meeting notes.md, Projects/Beta/Meeting notes.md; link with a path, e.g. [[Old/2023/Meeting notes]]"
        )]
    );
    // The typed link resolves to the shortest path: a client note, so no error. A second client
    // of that name at the same depth makes it ambiguous, an error in a typed field.
    write(&v, "Other/Acme.md", "Another Acme.\n");
    let (code, problems) = check(&v, &[]);
    assert_eq!(code, 1);
    assert!(
        problems.iter().any(|p| p.path == "Projects/Website.md"
            && p.severity == "error"
            && p.message
                .starts_with("link [[Acme]] is ambiguous: Clients/Acme.md, Other/Acme.md")),
        "{problems:?}"
    );
}

/// `check` gathers every project's open tickets once (not once per project), and reads from
/// the last commit only the notes changed since: the guards on a hand-made `done → archived`
/// still name the project's open ticket, and still find a moved project's committed status.
#[test]
fn hand_archived_project_with_an_open_ticket_is_refused() {
    let (_t, v) = crate::common::init_vault();
    let project = |status: &str| {
        format!(
            "---\ntype: project\nssot_id: 01J00000000000000000000010\ncreated: 2026-01-02\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: {status}\n---\n"
        )
    };
    write(&v, "Projects/Bakery app.md", project("done"));
    write(
        &v,
        "Projects/Other.md",
        project("done").replace("10\n", "11\n"),
    );
    let ticket = |id: &str, proj: &str, status: &str| {
        format!(
            "---\ntype: ticket\nssot_id: 01J000000000000000000000{id}\ncreated: 2026-01-03\nproject: \"[[{proj}]]\"\nfrom: client\nstatus: {status}\n---\n"
        )
    };
    write(
        &v,
        "Helpdesk/Login fails.md",
        ticket("20", "Bakery app", "open"),
    );
    write(
        &v,
        "Helpdesk/Old question.md",
        ticket("21", "Bakery app", "closed"),
    );
    write(&v, "Helpdesk/Elsewhere.md", ticket("22", "Other", "open"));
    bin()
        .arg("--vault")
        .arg(&v)
        .args(["commit", "--allow-illegal", "-m", "projects done"])
        .assert()
        .success();
    write(&v, "Projects/Bakery app.md", project("archived"));
    write(&v, "Archive/Bakery app/Bakery app.csv", "x");
    write(&v, "Archive/Bakery app/Bakery app.xml", "x");
    let (code, problems) = check(&v, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        problems
            .iter()
            .filter(|p| p.severity == "error")
            .map(|p| (p.path.as_str(), p.message.as_str()))
            .collect::<Vec<_>>(),
        vec![(
            "Projects/Bakery app.md",
            "illegal status change done→archived since the last commit: archived requires every ticket closed: ticket Login fails is not closed"
        )]
    );
    // Moved since the last commit, with another note made at its old path: its committed status
    // is still found (by ssot_id), so the change is judged from `done`, not from `intake`.
    std::fs::remove_file(v.join("Projects/Bakery app.md")).unwrap();
    write(&v, "Projects/2026/Bakery app.md", project("archived"));
    write(
        &v,
        "Projects/Bakery app.md",
        "A new note where the project was.\n",
    );
    std::fs::remove_dir_all(v.join("Archive/Bakery app")).unwrap();
    let (code, problems) = check(&v, &[]);
    assert_eq!(code, 1);
    let errors: Vec<(&str, &str)> = problems
        .iter()
        // (The tickets' `[[Bakery app]]` now leads to the new note: errors of theirs.)
        .filter(|p| p.severity == "error" && p.path.starts_with("Projects/"))
        .map(|p| (p.path.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "Projects/2026/Bakery app.md");
    assert!(
        errors[0]
            .1
            .starts_with("illegal status change done→archived since the last commit: ")
            && errors[0].1.contains("there is no export"),
        "{}",
        errors[0].1
    );
}
