//! Pulling from and pushing to the team's git remote (`[git] remote`).
//!
//! Pull fetches the branch and merges it: a fast-forward when only the remote moved, else a
//! merge commit whose notes changed on both sides are merged by [`super::merge::merge_note`]
//! (the merge driver's code, run in-process: libgit2 does not run external drivers). It refuses
//! a work tree with uncommitted edits, a merge left in progress, and leaves nothing behind when a
//! body conflict remains (git's own `git pull` then leaves the markers to fix by hand).
//!
//! Transport: git2 here is built without https and ssh, so a remote given as a local path or a
//! `file://` URL is fetched and pushed by git2, any other (https, ssh, `user@host:path`) by the
//! `git` command, which brings its own credentials.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use git2::{Oid, Repository};

use super::TeamError;
use super::merge::merge_note;
use crate::history::{CommitRequest, TRAILER_SOURCE, git_err, is_note, open_repo};

/// Notes merged with fields changed on both sides: (path, keys).
pub type FieldConflicts = Vec<(String, Vec<String>)>;

/// How many times `push` pulls and tries again after a refusal.
pub const PUSH_ATTEMPTS: u32 = 5;

/// The remote and branch to use.
#[derive(Debug, Clone)]
pub struct Target {
    /// The remote's name (`origin`).
    pub remote: String,
    /// The branch; `None`: the current one.
    pub branch: Option<String>,
    /// Author of the merge commits made on the tool's own (else the environment's, git's).
    pub author: Option<(String, String)>,
}

impl Target {
    /// The target `[git]` names, when it names a remote.
    pub fn from_config(config: &crate::config::Config) -> Option<Target> {
        let git = &config.git;
        Some(Target {
            remote: git.remote.clone().filter(|r| !r.trim().is_empty())?,
            branch: git.branch.clone().filter(|b| !b.trim().is_empty()),
            author: git.author_name.clone().zip(git.author_email.clone()),
        })
    }
}

/// What a pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    /// Nothing new on the remote (or it has no such branch yet).
    UpToDate,
    /// The branch moved to the remote's commit.
    FastForward(String),
    /// A merge commit was made.
    Merged {
        /// Its short id.
        commit: String,
        /// Notes changed on both sides, with their fields recorded in `sync_conflicts`.
        notes: FieldConflicts,
    },
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// False when the remote already had the branch's commit.
    pub pushed: bool,
    /// The pulls made after a refusal.
    pub pulls: u32,
}

/// True when git2 (built without https and ssh) can reach `url` itself.
fn local_url(url: &str) -> bool {
    url.starts_with("file://") || !(url.contains("://") || scp_like(url))
}

/// `user@host:path` or `host:path` (git's scp-like syntax), not a Windows drive.
fn scp_like(url: &str) -> bool {
    match url.split_once(':') {
        Some((host, _)) => host.len() > 1 && !host.contains('/'),
        None => false,
    }
}

fn git_cli(root: &Path, args: &[&str]) -> Result<std::process::Output, TeamError> {
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| TeamError::GitCommand {
            args: args.join(" "),
            message: e.to_string(),
        })
}

/// The branch to use: the target's, else the current one.
fn branch_of(repo: &Repository, root: &Path, target: &Target) -> Result<String, TeamError> {
    if let Some(b) = &target.branch {
        return Ok(b.clone());
    }
    match repo.head() {
        Ok(h) if h.is_branch() => h
            .shorthand()
            .map(str::to_string)
            .map_err(|_| TeamError::Detached),
        Ok(_) => Err(TeamError::Detached),
        Err(_) => {
            // An unborn branch: HEAD names it.
            let r = repo
                .find_reference("HEAD")
                .map_err(git_err(root, "read HEAD"))?;
            r.symbolic_target()
                .ok()
                .flatten()
                .and_then(|t| t.strip_prefix("refs/heads/"))
                .map(str::to_string)
                .ok_or(TeamError::Detached)
        }
    }
}

/// Fetches `branch` of the remote; returns its commit, `None` when the remote lacks it.
fn fetch(
    repo: &Repository,
    root: &Path,
    remote: &str,
    branch: &str,
) -> Result<Option<Oid>, TeamError> {
    let mut r = repo.find_remote(remote).map_err(|_| TeamError::NoRemote {
        name: remote.to_string(),
    })?;
    let tracking = format!("refs/remotes/{remote}/{branch}");
    let spec = format!("+refs/heads/{branch}:{tracking}");
    let url = r.url().unwrap_or_default().to_string();
    if local_url(&url) {
        r.fetch(&[&spec], None, None)
            .map_err(git_err(root, "fetch"))?;
        // The remote may have lost the branch: ask it what it has.
        let has = r
            .list()
            .map(|heads| {
                heads
                    .iter()
                    .any(|h| h.name() == format!("refs/heads/{branch}"))
            })
            .unwrap_or(true);
        let _ = r.disconnect();
        if !has {
            return Ok(None);
        }
    } else {
        let out = git_cli(root, &["fetch", "--quiet", remote, &spec])?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("couldn't find remote ref") {
                return Ok(None);
            }
            return Err(TeamError::GitCommand {
                args: format!("fetch {remote}"),
                message: err.trim().to_string(),
            });
        }
    }
    Ok(repo.refname_to_id(&tracking).ok())
}

/// The paths of notes changed between two trees.
fn changed_notes(
    repo: &Repository,
    root: &Path,
    from: &git2::Tree<'_>,
    to: &git2::Tree<'_>,
) -> Result<BTreeSet<String>, TeamError> {
    let diff = repo
        .diff_tree_to_tree(Some(from), Some(to), None)
        .map_err(git_err(root, "diff"))?;
    Ok(diff
        .deltas()
        .filter_map(|d| {
            d.new_file()
                .path()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .filter(|p| is_note(p))
        .collect())
}

/// The blob of `path` in `tree`, if it is a file there.
fn blob_at(repo: &Repository, tree: &git2::Tree<'_>, path: &str) -> Option<(Vec<u8>, i32)> {
    let e = tree.get_path(Path::new(path)).ok()?;
    let blob = repo.find_blob(e.id()).ok()?;
    Some((blob.content().to_vec(), e.filemode()))
}

/// Refuses a work tree that is not ready for a merge.
fn ready(repo: &Repository) -> Result<(), TeamError> {
    if repo.state() != git2::RepositoryState::Clean {
        return Err(TeamError::MergeInProgress);
    }
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(false).include_ignored(false);
    let statuses = repo.statuses(Some(&mut opts)).map_err(|e| TeamError::Git {
        action: "read the work tree's status",
        message: e.message().to_string(),
    })?;
    let dirty: Vec<String> = statuses
        .iter()
        .filter(|s| s.status() != git2::Status::CURRENT)
        .filter_map(|s| s.path().ok().map(str::to_string))
        .collect();
    if dirty.is_empty() {
        Ok(())
    } else {
        Err(TeamError::Uncommitted { paths: dirty })
    }
}

/// Moves the branch (and the work tree) to `to`, touching only files that did not change.
fn move_to(
    repo: &Repository,
    root: &Path,
    branch: &str,
    to: Oid,
    message: &str,
) -> Result<(), TeamError> {
    let commit = repo.find_commit(to).map_err(git_err(root, "read commit"))?;
    let mut co = git2::build::CheckoutBuilder::new();
    co.safe();
    repo.checkout_tree(commit.as_object(), Some(&mut co))
        .map_err(git_err(root, "check out"))?;
    repo.reference(&format!("refs/heads/{branch}"), to, true, message)
        .map_err(git_err(root, "update the branch"))?;
    if repo.head_detached().unwrap_or(false) || repo.head().is_err() {
        repo.set_head(&format!("refs/heads/{branch}"))
            .map_err(git_err(root, "update HEAD"))?;
    }
    Ok(())
}

/// Fetches the target's branch and merges it into the vault (see the module's doc).
pub fn pull(root: &Path, target: &Target) -> Result<Pulled, TeamError> {
    let repo = open_repo(root)?;
    ready(&repo)?;
    let branch = branch_of(&repo, root, target)?;
    let current = branch_of(
        &repo,
        root,
        &Target {
            branch: None,
            ..target.clone()
        },
    )?;
    if current != branch {
        return Err(TeamError::OtherBranch { branch, current });
    }
    let Some(theirs) = fetch(&repo, root, &target.remote, &branch)? else {
        return Ok(Pulled::UpToDate);
    };
    let reflog = format!("pull {} {branch}", target.remote);
    let ours = match repo.refname_to_id(&format!("refs/heads/{branch}")) {
        Ok(id) => id,
        Err(_) => {
            move_to(&repo, root, &branch, theirs, &reflog)?;
            return Ok(Pulled::FastForward(short(&repo, theirs)));
        }
    };
    if ours == theirs || repo.graph_descendant_of(ours, theirs).unwrap_or(false) {
        return Ok(Pulled::UpToDate);
    }
    if repo.graph_descendant_of(theirs, ours).unwrap_or(false) {
        move_to(&repo, root, &branch, theirs, &reflog)?;
        return Ok(Pulled::FastForward(short(&repo, theirs)));
    }
    let (commit, notes) = merge_commits(&repo, root, target, &branch, ours, theirs)?;
    move_to(&repo, root, &branch, commit, &reflog)?;
    Ok(Pulled::Merged {
        commit: short(&repo, commit),
        notes,
    })
}

fn short(repo: &Repository, id: Oid) -> String {
    repo.find_object(id, None)
        .map(|o| crate::history::short_id(&o))
        .unwrap_or_else(|_| id.to_string().chars().take(7).collect())
}

/// Makes the merge commit of `ours` and `theirs` (not yet on the branch).
fn merge_commits(
    repo: &Repository,
    root: &Path,
    target: &Target,
    branch: &str,
    ours: Oid,
    theirs: Oid,
) -> Result<(Oid, FieldConflicts), TeamError> {
    let tree_of = |id: Oid| {
        repo.find_commit(id)
            .and_then(|c| c.tree())
            .map_err(git_err(root, "read tree"))
    };
    let base = repo
        .merge_base(ours, theirs)
        .map_err(git_err(root, "find the merge base"))?;
    let (tb, to, tt) = (tree_of(base)?, tree_of(ours)?, tree_of(theirs)?);
    let mut index = repo
        .merge_trees(&tb, &to, &tt, None)
        .map_err(git_err(root, "merge"))?;
    let ours_changed = changed_notes(repo, root, &tb, &to)?;
    let theirs_changed = changed_notes(repo, root, &tb, &tt)?;
    let mut notes = Vec::new();
    let mut body_conflicts = Vec::new();
    for path in ours_changed.intersection(&theirs_changed) {
        let (Some((o, mode)), Some((t, _))) = (blob_at(repo, &to, path), blob_at(repo, &tt, path))
        else {
            continue; // deleted on a side: git's own conflict stays
        };
        let b = blob_at(repo, &tb, path).map(|(b, _)| b).unwrap_or_default();
        let m = merge_note(&b, &o, &t, path)?;
        if !m.clean() {
            body_conflicts.push(path.clone());
            continue;
        }
        if !m.field_conflicts.is_empty() {
            notes.push((path.clone(), m.field_conflicts.clone()));
        }
        let id = repo.blob(&m.bytes).map_err(git_err(root, "write blob"))?;
        let _ = index.conflict_remove(Path::new(path));
        let entry = git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: u32::try_from(mode).unwrap_or(0o100644),
            uid: 0,
            gid: 0,
            file_size: u32::try_from(m.bytes.len()).unwrap_or(u32::MAX),
            id,
            flags: u16::try_from(path.len().min(0xfff)).unwrap_or(0xfff),
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        };
        index.add(&entry).map_err(git_err(root, "stage merge"))?;
    }
    let mut left: BTreeSet<String> = body_conflicts.into_iter().collect();
    if index.has_conflicts() {
        let conflicts = index.conflicts().map_err(git_err(root, "read conflicts"))?;
        for c in conflicts.flatten() {
            let side = c.our.or(c.their).or(c.ancestor);
            if let Some(e) = side {
                left.insert(String::from_utf8_lossy(&e.path).into_owned());
            }
        }
    }
    if !left.is_empty() {
        return Err(TeamError::Conflicts {
            paths: left.into_iter().collect(),
        });
    }
    let tree_id = index
        .write_tree_to(repo)
        .map_err(git_err(root, "write tree"))?;
    let tree = repo
        .find_tree(tree_id)
        .map_err(git_err(root, "read tree"))?;
    let req = CommitRequest {
        author: target.author.clone(),
        ..CommitRequest::default()
    };
    let sig = crate::history::commit::signature(repo, root, &req)?;
    let mut message = format!("Merge {}/{branch} into {branch}\n", target.remote);
    if !notes.is_empty() {
        message.push('\n');
        for (p, keys) in &notes {
            message.push_str(&format!(
                "- {p}: changed on both sides, recorded in sync_conflicts: {}\n",
                keys.join(", ")
            ));
        }
    }
    message.push_str(&format!("\n{TRAILER_SOURCE}: git\n"));
    let parents = [
        &repo
            .find_commit(ours)
            .map_err(git_err(root, "read commit"))?,
        &repo
            .find_commit(theirs)
            .map_err(git_err(root, "read commit"))?,
    ];
    let id = repo
        .commit(None, &sig, &sig, &message, &tree, &parents)
        .map_err(git_err(root, "commit the merge"))?;
    Ok((id, notes))
}

/// How one push attempt ended.
enum Attempt {
    Done,
    Rejected(String),
}

fn push_once(
    repo: &Repository,
    root: &Path,
    remote: &str,
    branch: &str,
) -> Result<Attempt, TeamError> {
    let spec = format!("refs/heads/{branch}:refs/heads/{branch}");
    let mut r = repo.find_remote(remote).map_err(|_| TeamError::NoRemote {
        name: remote.to_string(),
    })?;
    let url = r.url().unwrap_or_default().to_string();
    if !local_url(&url) {
        let out = git_cli(root, &["push", "--quiet", remote, &spec])?;
        if out.status.success() {
            return Ok(Attempt::Done);
        }
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if err.contains("[rejected]") || err.contains("non-fast-forward") {
            return Ok(Attempt::Rejected(err));
        }
        return Err(TeamError::GitCommand {
            args: format!("push {remote} {branch}"),
            message: err,
        });
    }
    let mut refused: Option<String> = None;
    let result = {
        let mut cb = git2::RemoteCallbacks::new();
        cb.push_update_reference(|_, status| {
            if let Some(s) = status {
                refused = Some(s.to_string());
            }
            Ok(())
        });
        let mut opts = git2::PushOptions::new();
        opts.remote_callbacks(cb);
        r.push(&[&spec], Some(&mut opts))
    };
    match result {
        Ok(()) => match refused {
            Some(why) => Ok(Attempt::Rejected(why)),
            None => {
                if let Ok(id) = repo.refname_to_id(&format!("refs/heads/{branch}")) {
                    let _ = repo.reference(
                        &format!("refs/remotes/{remote}/{branch}"),
                        id,
                        true,
                        "push",
                    );
                }
                Ok(Attempt::Done)
            }
        },
        Err(e)
            if e.code() == git2::ErrorCode::NotFastForward
                || e.message().contains("fast-forward")
                || e.message().contains("not present locally") =>
        {
            Ok(Attempt::Rejected(e.message().to_string()))
        }
        Err(e) => Err(crate::history::HistoryError::Git {
            repo: root.to_path_buf(),
            action: "push",
            source: e,
        }
        .into()),
    }
}

/// True when the branch has commits the remote-tracking branch (as of the last fetch or push)
/// lacks: something to push. Reads only the local repository.
pub fn unpushed(root: &Path, target: &Target) -> bool {
    let Ok(repo) = open_repo(root) else {
        return false;
    };
    let Ok(branch) = branch_of(&repo, root, target) else {
        return false;
    };
    let Ok(local) = repo.refname_to_id(&format!("refs/heads/{branch}")) else {
        return false;
    };
    match repo.refname_to_id(&format!("refs/remotes/{}/{branch}", target.remote)) {
        Ok(tracking) => {
            local != tracking && !repo.graph_descendant_of(tracking, local).unwrap_or(false)
        }
        Err(_) => true,
    }
}

/// Pushes the branch; a push refused because the remote moved is pulled (merged) and pushed
/// again, at most [`PUSH_ATTEMPTS`] times.
pub fn push(root: &Path, target: &Target) -> Result<Pushed, TeamError> {
    let repo = open_repo(root)?;
    let branch = branch_of(&repo, root, target)?;
    let Ok(local) = repo.refname_to_id(&format!("refs/heads/{branch}")) else {
        return Ok(Pushed {
            pushed: false,
            pulls: 0,
        });
    };
    let tracking = format!("refs/remotes/{}/{branch}", target.remote);
    if repo.refname_to_id(&tracking).ok() == Some(local) {
        // Maybe up to date: ask the remote.
        if fetch(&repo, root, &target.remote, &branch)? == Some(local) {
            return Ok(Pushed {
                pushed: false,
                pulls: 0,
            });
        }
    }
    let mut pulls = 0;
    loop {
        match push_once(&repo, root, &target.remote, &branch)? {
            Attempt::Done => {
                return Ok(Pushed {
                    pushed: true,
                    pulls,
                });
            }
            Attempt::Rejected(why) => {
                if pulls >= PUSH_ATTEMPTS {
                    return Err(TeamError::PushRefused {
                        attempts: pulls + 1,
                        message: why,
                    });
                }
                pulls += 1;
                pull(root, target)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_and_file_urls_go_through_git2_the_rest_through_git() {
        for url in [
            "/srv/vault.git",
            "../vault.git",
            "file:///srv/vault.git",
            "C:\\vault",
        ] {
            assert!(local_url(url), "{url}");
        }
        for url in [
            "https://github.com/acme/vault.git",
            "ssh://git@host/vault.git",
            "git@github.com:acme/vault.git",
            "host:vault.git",
        ] {
            assert!(!local_url(url), "{url}");
        }
    }
}
