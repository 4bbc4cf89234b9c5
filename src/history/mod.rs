//! Temporary: the first commit of a new vault (the full history module replaces this file).

use std::path::Path;

/// A git error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HistoryError(String);

/// `git init` and a first commit of everything not ignored.
pub fn init_repo(root: &Path, message: &str) -> Result<String, HistoryError> {
    let e = |e: git2::Error| HistoryError(format!("{}: {}", root.display(), e.message()));
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head("main");
    let repo = git2::Repository::init_opts(root, &opts).map_err(e)?;
    let mut index = repo.index().map_err(e)?;
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .map_err(e)?;
    index.write().map_err(e)?;
    let tree = repo.find_tree(index.write_tree().map_err(e)?).map_err(e)?;
    let sig = match (
        std::env::var("GIT_AUTHOR_NAME"),
        std::env::var("GIT_AUTHOR_EMAIL"),
    ) {
        (Ok(n), Ok(m)) => git2::Signature::now(&n, &m).map_err(e)?,
        _ => repo.signature().map_err(e)?,
    };
    let oid = repo
        .commit(
            Some("HEAD"),
            &sig,
            &sig,
            &format!("{message}\n\nSsot-Source: vault\n"),
            &tree,
            &[],
        )
        .map_err(e)?;
    Ok(oid.to_string())
}
