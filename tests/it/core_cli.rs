//! The vault core through the real binary: init, new, set, check.

use std::path::Path;

use predicates::prelude::*;

use crate::common::{bin, init_vault, snapshot_tree, write};

#[test]
fn init_makes_a_vault_that_passes_check() {
    let (_t, v) = init_vault();
    bin()
        .current_dir(&v)
        .arg("check")
        .assert()
        .code(0)
        .stdout("");
    let repo = git2::Repository::open(&v).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(head.parent_count(), 0, "one first commit");
    assert!(head.message().unwrap().contains("Ssot-Source: vault"));
    let statuses = repo.statuses(None).unwrap();
    assert!(statuses.is_empty(), "everything committed");
    let gitignore = std::fs::read_to_string(v.join(".gitignore")).unwrap();
    for line in [".ssot/", ".obsidian/workspace*.json", ".trash/"] {
        assert!(gitignore.lines().any(|l| l == line), "{line} ignored");
    }
    // Every schema property is in Obsidian's types.json, with the matching type.
    let types: serde_json::Value =
        serde_json::from_slice(&std::fs::read(v.join(".obsidian/types.json")).unwrap()).unwrap();
    for (key, ty) in ssot_vault::vault::schema::Schema::builtin().obsidian_types() {
        assert_eq!(types["types"][&key].as_str(), Some(ty), "{key}");
    }
}

#[test]
fn init_refuses_a_non_empty_folder() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "keep.md", "mine");
    bin()
        .arg("init")
        .arg(t.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not empty"));
    assert_eq!(std::fs::read(t.path().join("keep.md")).unwrap(), b"mine");
}

#[test]
fn new_makes_notes_from_templates() {
    let (_t, v) = init_vault();
    let out = bin()
        .current_dir(&v)
        .args([
            "new",
            "client",
            "Kwiaciarnia \"Róża\": Kraków/Nowa Huta",
            "--set",
            "email=roza@example.pl",
            "--set",
            "phone=601234567",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let path = String::from_utf8(out).unwrap();
    assert_eq!(path.trim(), "Clients/Kwiaciarnia Róża KrakówNowa Huta.md");
    let text = std::fs::read_to_string(v.join(path.trim())).unwrap();
    let note = ssot_vault::vault::note::Note::parse_text(text.clone()).unwrap();
    let id = note.get("ssot_id").unwrap().as_str().unwrap().to_string();
    assert!(ssot_vault::vault::id::is_ulid(&id));
    assert!(
        text.contains("phone: \"601234567\"\n"),
        "a phone number stays text:\n{text}"
    );
    assert!(note.get("created").unwrap().as_date().is_some());
    // Same name again: a suffix, never an overwrite.
    bin()
        .current_dir(&v)
        .args(["new", "client", "Kwiaciarnia \"Róża\": Kraków/Nowa Huta"])
        .assert()
        .success()
        .stdout("Clients/Kwiaciarnia Róża KrakówNowa Huta 2.md\n");
    // A project linked to it; the vault still checks apart from the second client's e-mail.
    bin()
        .current_dir(&v)
        .args([
            "new",
            "project",
            "Sklep",
            "--set",
            "client=Kwiaciarnia Róża KrakówNowa Huta",
        ])
        .assert()
        .success();
    let out = bin()
        .current_dir(&v)
        .arg("check")
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out,
        "Clients/Kwiaciarnia Róża KrakówNowa Huta 2.md:8:1: error: missing required property `email`\n"
    );
}

#[test]
fn set_edits_types_and_refuses_bad_values() {
    let (_t, v) = init_vault();
    let rel = "Projects/Złoty Kłos online shop.md";
    let before = std::fs::read(v.join(rel)).unwrap();
    bin()
        .current_dir(&v)
        .args([
            "set",
            "Złoty Kłos online shop",
            "status=active",
            "budget=lots",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`budget` takes a number, not `lots`",
        ));
    assert_eq!(
        std::fs::read(v.join(rel)).unwrap(),
        before,
        "refused edit leaves the note as it was"
    );
    let out = bin()
        .current_dir(&v)
        .args([
            "set",
            rel,
            "budget=50000",
            "expert=Anna Nowak",
            "skills_required+=seo",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
    let after = String::from_utf8(std::fs::read(v.join(rel)).unwrap()).unwrap();
    let diff = similar::TextDiff::from_lines(std::str::from_utf8(&before).unwrap(), &after);
    let changes: Vec<String> = diff
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .map(|c| format!("{}{}", c.tag(), c.value()))
        .collect();
    insta::assert_snapshot!(changes.concat());
    bin().current_dir(&v).arg("check").assert().code(0);
}

#[test]
fn a_no_op_set_does_not_touch_the_file() {
    let (_t, v) = init_vault();
    let p = v.join("Experts/Anna Nowak.md");
    let before = std::fs::read(&p).unwrap();
    let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    bin()
        .current_dir(&v)
        .args(["set", "Anna Nowak", "status=available", "name=Anna Nowak"])
        .assert()
        .success()
        .stdout("Experts/Anna Nowak.md: unchanged\n");
    assert_eq!(std::fs::read(&p).unwrap(), before);
    assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), mtime);
}

#[test]
fn set_finds_a_note_by_either_unicode_spelling() {
    let (_t, v) = init_vault();
    // The file on disk is spelled NFD (as macOS writes it); the user types NFC.
    write(&v, "Notes/Zo\u{301}lw.md", "---\na: 1\n---\n");
    bin()
        .current_dir(&v)
        .args(["set", "Z\u{f3}lw", "a=2"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(v.join("Notes/Zo\u{301}lw.md")).unwrap(),
        "---\na: 2\n---\n"
    );
}

/// Every broken note of the issue, in one vault.
fn broken_vault(v: &Path) {
    let id = |n: u8| format!("01JF00000000000000000000{n:02}");
    write(v, "ssot-vault.toml", "");
    write(v, "bad yaml.md", "---\ntitle: [unclosed\n---\nbody\n");
    write(v, "duplicate keys.md", "---\na: 1\nb: 2\na: 3\n---\n");
    write(v, "tabs.md", "---\nmap:\n\tchild: 1\n---\n");
    write(v, "unclosed.md", "---\ntype: client\nname: x\n");
    write(v, "list.md", "---\n- a\n- b\n---\n");
    write(v, "templater.md", "---\ncreated: {{date}}\n---\n");
    write(v, "latin2.md", b"---\nname: Pawe\xb3\n---\n");
    write(
        v,
        "binary.md",
        [0x89u8, b'P', b'N', b'G', 0, 0, 0, 13, 0xff],
    );
    let client = |name: &str, id: &str| {
        format!(
            "---\ntype: client\nssot_id: {id}\ncreated: 2026-01-02\nname: {name}\nemail: {name}@example.com\n---\n"
        )
    };
    write(v, "Clients/Acme.md", client("acme", &id(1)));
    write(v, "Clients/Acme copy.md", client("acme2", &id(1)));
    write(
        v,
        "Clients/No email.md",
        format!(
            "---\ntype: client\nssot_id: {}\ncreated: 2026-01-02\nname: x\n---\n",
            id(2)
        ),
    );
    write(
        v,
        "Projects/Paused.md",
        format!(
            "---\ntype: project\nssot_id: {}\ncreated: 2026-01-02\nclient: \"[[Acme]]\"\nstatus: paused\n---\nSee [[Nowhere]].\n",
            id(3)
        ),
    );
    write(
        v,
        "Projects/Lost client.md",
        format!(
            "---\ntype: project\nssot_id: {}\ncreated: 2026-01-02\nclient: \"[[Gone Ltd]]\"\nstatus: intake\n---\n",
            id(4)
        ),
    );
}

#[test]
fn check_names_every_broken_note_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let v = t.path();
    broken_vault(v);
    let before = snapshot_tree(v);
    let out = bin()
        .arg("--vault")
        .arg(v)
        .arg("check")
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    insta::assert_snapshot!(stdout);
    for name in [
        "bad yaml.md",
        "duplicate keys.md",
        "tabs.md",
        "unclosed.md",
        "list.md",
        "templater.md",
        "latin2.md",
        "binary.md",
        "Clients/Acme copy.md",
        "Clients/No email.md",
        "Projects/Paused.md",
        "Projects/Lost client.md",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("{name}:"))),
            "{name} reported:\n{stdout}"
        );
    }
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("checked 13 notes")
    );
    assert_eq!(snapshot_tree(v), before, "check writes nothing");
    // JSON output is data.
    let out = bin()
        .arg("--vault")
        .arg(v)
        .args(["--json", "check"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        json["problems"].as_array().unwrap().len(),
        stdout.lines().count()
    );
    // No command rewrites a note it cannot read.
    for name in [
        "bad yaml.md",
        "duplicate keys.md",
        "unclosed.md",
        "templater.md",
        "latin2.md",
        "binary.md",
    ] {
        bin()
            .arg("--vault")
            .arg(v)
            .args(["set", name, "x=1"])
            .assert()
            .code(1);
    }
    assert_eq!(
        snapshot_tree(v),
        before,
        "set refused every unreadable note"
    );
}

#[test]
fn usage_errors_exit_2_with_a_hint() {
    let t = tempfile::tempdir().unwrap();
    bin()
        .current_dir(t.path())
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no vault here"));
    bin()
        .arg("--vault")
        .arg(t.path().join("nope"))
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such folder"));
    write(t.path(), "ssot-vault.toml", "[vault]\nignroe = []\n");
    bin()
        .current_dir(t.path())
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 2").and(predicate::str::contains("hint:")));
}

#[test]
fn check_skips_ignored_and_template_folders() {
    let t = tempfile::tempdir().unwrap();
    let v = t.path();
    write(v, "ssot-vault.toml", "[vault]\nignore = [\"Drafts/**\"]\n");
    write(v, "Drafts/broken.md", "---\na: [\n---\n");
    write(
        v,
        "Templates/Client.md",
        "---\ntype: client\ncreated: {{date}}\n---\n",
    );
    write(v, ".obsidian/x.md", "---\na: [\n---\n");
    write(v, "ok.md", "---\na: 1\n---\n[[Templates/Client]]\n");
    bin()
        .arg("--vault")
        .arg(v)
        .arg("check")
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn readme_documents_every_schema_field_and_command() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for ty in ssot_vault::vault::schema::Schema::builtin().types {
        for f in &ty.fields {
            assert!(
                readme.contains(&format!("| `{}` |", f.name)),
                "README lacks field {}.{}",
                ty.name,
                f.name
            );
        }
    }
    use clap::CommandFactory;
    for sub in ssot_vault::cli::Cli::command().get_subcommands() {
        if !sub.is_hide_set() {
            assert!(
                readme.contains(&format!("| `{}", sub.get_name())),
                "README lacks command {}",
                sub.get_name()
            );
        }
    }
}
