//! The lifecycle's guards in `set` and `commit`.

use std::path::Path;

use crate::common::corpora;

/// The corpora the tests read are part of the repository (a fresh clone needs nothing beside
/// it), tracked by git, and each comes with its licence.
#[test]
fn the_corpora_are_in_the_repository_with_their_licences() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .expect("repo");
    let dir = corpora().canonicalize().expect("corpora");
    assert!(
        dir.starts_with(&repo),
        "the corpora at {} are outside the repository {}",
        dir.display(),
        repo.display()
    );
    let tracked = std::process::Command::new("git")
        .args(["ls-files", "-z", "--", "tests/corpora"])
        .current_dir(&repo)
        .output()
        .expect("git ls-files");
    assert!(tracked.status.success(), "git ls-files failed");
    let tracked: std::collections::BTreeSet<String> = String::from_utf8(tracked.stdout)
        .expect("utf-8")
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let on_disk: std::collections::BTreeSet<String> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(&repo).expect("in repo");
            rel.to_string_lossy().replace('\\', "/")
        })
        .collect();
    let untracked: Vec<&String> = on_disk.difference(&tracked).collect();
    assert!(
        untracked.is_empty(),
        "corpus files not in git: {untracked:?}"
    );
    let notes = |corpus: &str| {
        on_disk
            .iter()
            .filter(|p| p.starts_with(&format!("tests/corpora/{corpus}/")) && p.ends_with(".md"))
            .count()
    };
    // The figures of the corpora's README: 103 and 205 notes.
    assert_eq!(notes("kepano-obsidian"), 103);
    assert_eq!(notes("obsidian-tasks-demo"), 205);
    for licence in ["kepano-obsidian.LICENSE.txt", "obsidian-tasks.LICENSE.txt"] {
        let text = std::fs::read_to_string(dir.join("LICENSES").join(licence))
            .unwrap_or_else(|e| panic!("licence {licence}: {e}"));
        assert!(
            text.contains("MIT License"),
            "{licence} is not the MIT text"
        );
    }
}
