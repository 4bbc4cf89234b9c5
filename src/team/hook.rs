//! The watcher daemon's part in team mode: when `[git] remote` is set, pull before each run and
//! push after each run that made a commit. Errors never stop the daemon: they are logged (the daemon's log) and
//! kept in `.ssot/watch/git.json` with the time, beside the daemon's status.

use std::path::Path;

use super::TeamError;
use super::remote::{Pulled, Target, pull, push};

/// The file keeping the last pull's and push's outcome.
pub fn status_path(root: &Path) -> std::path::PathBuf {
    root.join(crate::sync::state::DIR)
        .join("watch")
        .join("git.json")
}

/// The last pull's and push's outcome as kept (`{"pull"|"push": {at, ok, message}}`), when the
/// daemon has pulled or pushed.
pub fn last(root: &Path) -> Option<serde_json::Map<String, serde_json::Value>> {
    std::fs::read(status_path(root))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

fn record(root: &Path, what: &str, result: Result<String, String>) {
    let path = status_path(root);
    let mut all = last(root).unwrap_or_default();
    let (ok, text) = match &result {
        Ok(t) => (true, t.clone()),
        Err(e) => (false, e.clone()),
    };
    // Logged under the daemon's target, shown at its default level.
    match &result {
        Ok(t) => tracing::info!(target: "ssot_vault::watch::git", git = what, "{t}"),
        Err(e) => {
            tracing::warn!(target: "ssot_vault::watch::git", git = what, error = %e, "failed")
        }
    }
    all.insert(
        what.to_string(),
        serde_json::json!({
            "at": jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default(),
            "ok": ok,
            "message": text,
        }),
    );
    if let Ok(bytes) = serde_json::to_vec_pretty(&all) {
        let _ = crate::fsutil::write_atomic(&path, &bytes);
    }
}

fn target(root: &Path) -> Option<Target> {
    let config = crate::config::Config::load(root).ok()?;
    Target::from_config(&config)
}

/// Before a run: pull, under the vault lock (nothing when no remote is set). Never fails.
pub fn before_run(root: &Path) {
    let Some(t) = target(root) else { return };
    let result = match crate::lock::VaultLock::acquire(root, "watch") {
        Ok(_lock) => match pull(root, &t) {
            Ok(Pulled::UpToDate) => Ok("up to date".into()),
            Ok(Pulled::FastForward(c)) => Ok(format!("fast-forwarded to {c}")),
            Ok(Pulled::Merged { commit, notes }) => Ok(format!(
                "merged in {commit}{}",
                if notes.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; fields changed on both sides recorded in sync_conflicts of {}",
                        notes
                            .iter()
                            .map(|(p, _)| p.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            )),
            // A saved note not committed yet: its run commits it, the push after merges.
            Err(TeamError::Uncommitted { .. }) => {
                Ok("skipped: uncommitted edits (merged by the push after the commit)".into())
            }
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    record(root, "pull", result);
}

/// After a run: push the commits the remote has not seen (the run's, its pending-vault commit),
/// pulling and merging when refused, under the vault lock. Nothing when no remote is set or no
/// commit was made since the last push or pull (no network then). Never fails.
pub fn after_run(root: &Path) {
    let Some(t) = target(root) else { return };
    if !super::remote::unpushed(root, &t) {
        return;
    }
    let result = match crate::lock::VaultLock::acquire(root, "watch") {
        Ok(_lock) => push(root, &t)
            .map(|p| match (p.pushed, p.pulls) {
                (false, _) => "nothing to push".to_string(),
                (true, 0) => "pushed".to_string(),
                (true, n) => format!("pushed after pulling and merging {n} times"),
            })
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    record(root, "push", result);
}
