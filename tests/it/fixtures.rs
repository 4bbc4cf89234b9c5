//! Golden vault trees: `tests/fixtures/<case>/{before,after}` compared whole after running the
//! case's commands, plus the exact number of lines each case may change.

use std::path::Path;

use crate::common::{bin, copy_tree, snapshot_tree};

#[derive(serde::Deserialize)]
struct Case {
    commands: Vec<Vec<String>>,
    removed_lines: usize,
    added_lines: usize,
}

#[test]
fn golden_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        // `obsidian/` holds whole vaults shaped as Obsidian makes them (tests/it/obsidian_vaults.rs).
        .filter(|n| n != "obsidian")
        .collect();
    names.sort();
    assert!(names.len() >= 10);
    for name in names {
        let dir = root.join(&name);
        let case: Case =
            serde_json::from_slice(&std::fs::read(dir.join("case.json")).unwrap()).unwrap();
        let t = tempfile::tempdir().unwrap();
        copy_tree(&dir.join("before"), t.path());
        for cmd in &case.commands {
            bin()
                .arg("--vault")
                .arg(t.path())
                .args(cmd)
                .assert()
                .success();
        }
        let got = snapshot_tree(t.path());
        let want = snapshot_tree(&dir.join("after"));
        for (path, bytes) in &want {
            assert_eq!(
                String::from_utf8_lossy(&got[path]),
                String::from_utf8_lossy(bytes),
                "{name:?}: {path} differs from the golden file"
            );
        }
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{name:?}: same files"
        );
        let before = snapshot_tree(&dir.join("before"));
        let (mut removed, mut added) = (0, 0);
        for (path, old) in &before {
            let (old, new) = (
                String::from_utf8_lossy(old),
                String::from_utf8_lossy(&got[path]),
            );
            for c in similar::TextDiff::from_lines(old.as_ref(), new.as_ref()).iter_all_changes() {
                match c.tag() {
                    similar::ChangeTag::Delete => removed += 1,
                    similar::ChangeTag::Insert => added += 1,
                    similar::ChangeTag::Equal => {}
                }
            }
        }
        assert_eq!(
            (removed, added),
            (case.removed_lines, case.added_lines),
            "{name:?}: lines changed"
        );
    }
}
