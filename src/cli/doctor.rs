//! `ssot-vault doctor`: checks what a sync needs, one line per check: the configuration is
//! valid, each enabled service has its credentials (and where they come from: the environment or
//! the OS keyring; never their value) and answers its healthcheck, the sync state is
//! readable, and git is in a state to commit; and the vault as Obsidian reads it (the version
//! the dashboards need, the core plugins, the dashboards' filters: `crate::obsidian`; warnings,
//! never a failure). Exit 1 when a check fails. `--fix` also makes what a service needs and
//! lacks: Jira's custom fields named in the mapping, the Trello lists the status tables name.

use crate::connectors::Connector;
use crate::connectors::jira::FieldStatus;
use crate::connectors::registry::{self, Overrides};
use crate::connectors::trello::lists::{ListCheck, ListStatus};
use crate::secrets::{self, KEYRING_SERVICE};
use crate::sync::state::SyncState;
use crate::vault::schema::Schema;

use super::{CliError, Ctx, Outcome};

/// Arguments of `doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also make what a service needs and lacks: Jira's custom fields named in the mapping
    /// (needs Jira administration rights), the Trello lists the status tables name.
    #[arg(long)]
    pub fix: bool,
}

fn line(ok: bool, what: &str) {
    println!("{} {what}", if ok { "ok  " } else { "FAIL" });
}

/// Prints Trello's lists, one line each; true when one could not be made.
fn report_lists(name: &str, lists: &[ListCheck]) -> bool {
    let mut failed = false;
    for ListCheck {
        board,
        list,
        status,
    } in lists
    {
        match status {
            ListStatus::Found => line(true, &format!("{name}: list `{list}` on board `{board}`")),
            ListStatus::Created => line(
                true,
                &format!("{name}: list `{list}` created on board `{board}`"),
            ),
            ListStatus::Missing => println!(
                "note {name}: list `{list}` is missing on board `{board}`: `ssot-vault doctor --fix` creates it, as the first card moved to it would"
            ),
            ListStatus::Refused(why) => {
                line(
                    false,
                    &format!("{name}: list `{list}` not created on board `{board}`: {why}"),
                );
                failed = true;
            }
        }
    }
    failed
}

/// Reports the merge driver's registration (`.gitattributes`, `.git/config`); with `fix`,
/// registers what is missing. Missing, it is a failed check when the vault is shared (`[git]
/// remote`), a note otherwise. True when it failed.
fn merge_driver(root: &std::path::Path, fix: bool, shared: bool) -> bool {
    use crate::team::register;
    let what = "git: merge driver for notes";
    let reg = match register::check(root) {
        Ok(r) => r,
        // No repository: the git check above says so.
        Err(_) => return false,
    };
    if reg.complete() {
        line(true, &format!("{what} (.gitattributes and .git/config)"));
        return false;
    }
    if fix {
        let done = std::env::current_exe()
            .map_err(|e| e.to_string())
            .and_then(|exe| register::register(root, &exe).map_err(|e| e.to_string()));
        return match done {
            Ok(changed) => {
                line(
                    true,
                    &format!(
                        "{what}: registered in {} (commit .gitattributes to share it)",
                        changed.join(" and ")
                    ),
                );
                false
            }
            Err(e) => {
                line(false, &format!("{what}: {e}"));
                true
            }
        };
    }
    let mut missing = Vec::new();
    if !reg.attributes {
        missing.push("`*.md merge=ssot-vault` in .gitattributes");
    }
    let moved = reg
        .missing_program()
        .map(|p| format!("the program `{p}` that `merge.ssot-vault.driver` names"));
    if reg.driver.is_none() {
        missing.push("`merge.ssot-vault.driver` in .git/config");
    } else if let Some(m) = &moved {
        missing.push(m);
    }
    let msg = format!(
        "{what}: missing {}; `ssot-vault doctor --fix` registers it",
        missing.join(" and ")
    );
    if shared {
        line(false, &msg);
    } else {
        println!("note {msg}");
    }
    shared
}

/// The `watch` daemon: running (its pid, since when, each service's last run from its status
/// file), not running, or killed leaving its lock behind (harmless: the next `watch` or `sync`
/// takes it over). A stale vault lock is reported the same way. Never a failure.
fn daemon_report(root: &std::path::Path) {
    use crate::lock::{self, Probe};
    let status = crate::watch::status::load(root).ok().flatten();
    // `sync` takes the daemon's lock for a moment to learn whether a daemon runs: not one.
    let probe = match lock::probe(root, lock::DAEMON_FILE) {
        Ok(Probe::Held(Some(h))) if h.command != "watch" => Ok(Probe::Free),
        other => other,
    };
    match probe {
        Ok(Probe::Held(h)) => {
            let (pid, since) = h
                .map(|h| (h.pid.to_string(), h.since))
                .unwrap_or_else(|| ("?".into(), "?".into()));
            line(
                true,
                &format!("watch: daemon running (pid {pid}, since {since})"),
            );
            if let Some(s) = &status {
                println!(
                    "     watch: {} push runs, {} poll runs; status updated {}",
                    s.push_runs, s.poll_runs, s.updated
                );
                for (name, v) in &s.services {
                    let last = match (&v.last_run, &v.result) {
                        (Some(t), Some(r)) => format!("last run {t}: {r}"),
                        _ => "not run yet".to_string(),
                    };
                    let err = v
                        .error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default();
                    println!("     watch: {name}: {last}{err}");
                }
            }
        }
        Ok(Probe::Stale(h)) => {
            let who = h.map_or_else(|| "a daemon".to_string(), |h| h.to_string());
            println!(
                "warn watch: stale lock: {who} is no longer running (killed or crashed); the next `ssot-vault watch` or `sync` takes its lock over and repairs its last run"
            );
        }
        Ok(Probe::Free) => match &status {
            Some(s) => println!(
                "-    watch: no daemon running (the last, pid {}, stopped at {})",
                s.pid, s.updated
            ),
            None => println!("-    watch: no daemon running"),
        },
        Err(e) => println!("warn watch: {e}"),
    }
    if let Ok(Probe::Stale(h)) = lock::probe(root, lock::FILE) {
        let who = h.map_or_else(|| "a command".to_string(), |h| h.to_string());
        println!(
            "warn vault lock: stale: {who} is no longer running (killed or crashed); the next command that writes takes it over"
        );
    }
}

/// Runs `doctor`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    super::sync::init_tracing();
    let mut failed = false;
    let (root, config) = match ctx.open() {
        Ok(v) => v,
        Err(e) => {
            line(false, &format!("configuration: {e}"));
            return Ok(Outcome::Problems);
        }
    };
    line(
        true,
        &format!(
            "configuration: {}",
            root.join(crate::config::FILE_NAME).display()
        ),
    );
    let schema = match Schema::from_config(&config) {
        Ok(s) => {
            line(true, "schema");
            s
        }
        Err(e) => {
            line(false, &format!("schema: {}", e.join("; ")));
            return Ok(Outcome::Problems);
        }
    };
    for finding in crate::obsidian::check(&root, &config, &schema) {
        match finding {
            crate::obsidian::Finding::Note(m) => println!("note {m}"),
            crate::obsidian::Finding::Warn(m) => println!("warn {m}"),
        }
    }
    for (name, _) in config.remotes.iter() {
        let Some(service) = registry::by_name(name) else {
            let enabled = config.remotes[name]
                .get("enabled")
                .and_then(|v| v.as_bool())
                == Some(true);
            if enabled {
                line(
                    false,
                    &format!("{name}: enabled, but no connector exists for it yet"),
                );
                failed = true;
            }
            continue;
        };
        let cfg = match (service.settings)(&config) {
            Ok(c) => c,
            Err(e) => {
                line(false, &e);
                failed = true;
                continue;
            }
        };
        if !cfg.enabled {
            println!("-    {name}: disabled");
            continue;
        }
        line(true, &format!("{name}: configuration ({})", cfg.base_url));
        let spec = cfg.credentials;
        let lookup = secrets::lookup(&spec);
        if let Some(problem) = &lookup.keyring_problem {
            println!(
                "note {name}: keyring entry {KEYRING_SERVICE}/{} not read: {problem}",
                spec.keyring_entry
            );
        }
        let Some((token, source)) = lookup.found else {
            line(
                false,
                &format!(
                    "{name}: credentials: set the environment variable {}, or run `ssot-vault auth set {name}`",
                    spec.env_var
                ),
            );
            failed = true;
            continue;
        };
        line(true, &format!("{name}: credentials from {source} (***)"));
        // A healthcheck gives up quickly.
        let overrides = Overrides {
            max_retries: Some(2),
            ..Overrides::default()
        };
        // Reported as a failed check, by its message alone.
        let health = (|| -> Result<_, Box<dyn std::error::Error>> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut c =
                    (service.open)(&config, &schema, &overrides, token)?.with_source(source);
                let h = c.healthcheck().await?;
                // Jira's custom fields named in the mapping: found, or made with `--fix`.
                let fields = match &mut c {
                    registry::AnyConnector::Jira(j) => j.custom_fields(args.fix).await?,
                    _ => Vec::new(),
                };
                // Trello's lists the status tables name: found, or made with `--fix`.
                let lists = match &mut c {
                    registry::AnyConnector::Trello(t) => t.board_lists(args.fix).await?,
                    _ => Vec::new(),
                };
                Ok((h, fields, lists))
            })
        })();
        match health {
            Ok((h, fields, lists)) => {
                line(true, &format!("{name}: {h}"));
                for (field, status) in fields {
                    match status {
                        FieldStatus::Found(id) => {
                            line(true, &format!("{name}: custom field `{field}` ({id})"))
                        }
                        FieldStatus::Created(id) => line(
                            true,
                            &format!("{name}: custom field `{field}` created ({id})"),
                        ),
                        FieldStatus::Missing(kind) => println!(
                            "note {name}: custom field `{field}` is missing: `ssot-vault doctor --fix` creates it (type {kind}; needs Jira administration rights), as the first sync would"
                        ),
                        FieldStatus::Refused(why) => {
                            line(
                                false,
                                &format!("{name}: custom field `{field}` not created: {why}"),
                            );
                            failed = true;
                        }
                    }
                }
                failed |= report_lists(name, &lists);
            }
            Err(e) => {
                line(false, &format!("{name}: healthcheck: {e}"));
                failed = true;
            }
        }
        match SyncState::load(&root, name) {
            Ok(s) => line(
                true,
                &format!("{name}: sync state ({} synced notes)", s.base.len()),
            ),
            Err(e) => {
                line(false, &format!("{name}: {e}"));
                failed = true;
            }
        }
        if let Some(run) = crate::sync::journal::interrupted(&root, name) {
            println!("note {name}: run {run} was interrupted; the next sync repairs it");
        }
    }
    daemon_report(&root);
    match crate::history::status(&root) {
        Ok(changes) => line(
            true,
            &format!(
                "git: repository at the vault root, {} uncommitted note changes",
                changes.len()
            ),
        ),
        Err(e) => {
            line(false, &format!("git: {e}"));
            failed = true;
        }
    }
    failed |= merge_driver(&root, args.fix, config.git.remote.is_some());
    Ok(if failed {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}
