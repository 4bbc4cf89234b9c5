//! `ssot-vault sync [--remote NAME] [--dry-run] [--force] [--check-archived] [--json]`: keeps the
//! vault and each enabled service in step, both ways (see `crate::sync`).
//!
//! Exit codes: 0 in step; 1 problems left (unresolved conflicts, records the service refused, a
//! plan refused by the archive share rail, notes that cannot be read and were left out); 2 error (configuration, credentials, the service
//! failing after its retries, I/O, another command holding the vault lock).
//!
//! A run holds the vault lock (`crate::lock`) from before its pending-vault commit to its end; a
//! dry run takes none. The request pacing of the last run (`.ssot/<remote>/pacing.json`) is
//! restored before the first request and saved at the end, also after a failure.

use std::path::Path;

use crate::config::{Config, RemoteCommon};
use crate::connectors::registry::{self, AnyConnector, OpenError, Overrides, Service};
use crate::connectors::{Connector, ConnectorError, HttpError, pacing};
use crate::secrets::CredentialSource;
use crate::sync::{self, Action, SyncError, SyncOptions, SyncReport};
use crate::vault::schema::Schema;

use super::{CliError, Ctx, Outcome};

/// Arguments of `sync`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Sync only this remote (default: every enabled one).
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
    /// Print the plan (vault edits and remote calls) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply a plan that archives more records than `max_archive_share` allows.
    #[arg(long)]
    pub force: bool,
    /// Look for records archived remotely now, whatever `check_archived_minutes` says.
    #[arg(long)]
    pub check_archived: bool,
    /// Read every record again, not only those changed since the last run (also done every
    /// `full_pull_hours`).
    #[arg(long)]
    pub full: bool,
}

/// Starts `tracing` output on stderr, filtered by `RUST_LOG` (default: warnings).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}

/// The remotes to sync: the one asked for, or every enabled one with a connector (see
/// `crate::connectors::registry`).
pub fn remotes(config: &Config, only: Option<&str>) -> Result<Vec<String>, CliError> {
    if let Some(r) = only {
        if registry::by_name(r).is_none() {
            return Err(
                CliError::new(format!("no connector for the remote `{r}` yet"))
                    .hint(format!("supported: {}", registry::names().join(", "))),
            );
        }
        return Ok(vec![r.to_string()]);
    }
    let enabled: Vec<String> = registry::enabled(config)
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    if enabled.is_empty() {
        let sections: Vec<String> = registry::names()
            .iter()
            .map(|n| format!("[remotes.{n}]"))
            .collect();
        return Err(CliError::new("no remote is enabled").hint(format!(
            "set `enabled = true` under {} in ssot-vault.toml, or try `ssot-vault demo`",
            sections.join(" or ")
        )));
    }
    Ok(enabled)
}

/// A remote's connector from the vault's configuration, its token from the environment or the
/// OS keyring (see `crate::secrets`; [`AnyConnector::credential_source`] says which).
pub fn connector(
    service: &Service,
    config: &Config,
    schema: &Schema,
) -> Result<(AnyConnector, RemoteCommon), CliError> {
    connector_with(service, config, schema, &Overrides::default())
}

/// [`connector`] with the configuration overridden for this use.
fn connector_with(
    service: &Service,
    config: &Config,
    schema: &Schema,
    overrides: &Overrides,
) -> Result<(AnyConnector, RemoteCommon), CliError> {
    service
        .open_with_credentials(config, schema, overrides)
        .map_err(|e| match e {
            OpenError::Config(m) => CliError::service_config(service, m),
            other => other.into(),
        })
}

/// Syncs one remote (async, for `sync` and `watch`).
pub async fn sync_remote(
    root: &Path,
    config: &Config,
    remote: &str,
    opts: &SyncOptions,
) -> Result<SyncReport, CliError> {
    sync_remote_with(root, config, remote, opts, &Overrides::default()).await
}

/// [`sync_remote`] with the connector's configuration overridden for this run (the demo's
/// credentials for its sandbox).
pub async fn sync_remote_with(
    root: &Path,
    config: &Config,
    remote: &str,
    opts: &SyncOptions,
    overrides: &Overrides,
) -> Result<SyncReport, CliError> {
    let schema = Schema::from_config(config)?;
    let Some(service) = registry::by_name(remote) else {
        return Err(CliError::new(format!(
            "no connector for the remote `{remote}` yet"
        )));
    };
    let (mut conn, common) = connector_with(service, config, &schema, overrides)?;
    let source = conn.credential_source().cloned();
    // The service's limits count the last run's requests too: pace from them, and leave ours
    // for the next run, whether this one succeeds or fails (a dry run writes nothing).
    let dir = root.join(sync::state::DIR).join(remote);
    conn.restore_pacing(&pacing::load(&dir));
    let mut result = sync::run(
        root,
        config,
        &mut conn,
        &common,
        &crate::workflow::process::Lifecycle,
        opts,
    )
    .await;
    // The Forms run's follow-ups in the vault, once its intake notes are committed (the one
    // place they hook in): the helpdesk form's new responses filed in tickets, then the new
    // intakes accepted when `[intake] auto_accept` is on.
    if let (Ok(report), AnyConnector::Forms(forms)) = (&mut result, &mut conn)
        && !opts.dry_run
    {
        forms_followups(root, config, forms, report).await;
    }
    if !opts.dry_run
        && let Err(e) = pacing::save(&dir, &conn.pacing())
    {
        tracing::warn!(error = %e, "cannot save the request pacing for the next run");
    }
    result.map_err(|e| sync_error(e, source.as_ref()))
}

/// The Forms run's follow-ups (see [`sync_remote`]); what they did and their problems go into
/// the report.
async fn forms_followups(
    root: &Path,
    config: &Config,
    forms: &mut crate::connectors::forms::Forms,
    report: &mut SyncReport,
) {
    match forms.file_helpdesk(root, config).await {
        Ok(filed) => {
            report.followups.extend(filed.done);
            report.followup_problems.extend(filed.problems);
        }
        Err(e) => report.followup_problems.push(format!(
            "helpdesk form: {e} (its responses are read again next run)"
        )),
    }
    report.http = forms.stats();
    if !config.intake.auto_accept {
        return;
    }
    crate::workflow::intake::stop_point("intake");
    let done = crate::workflow::intake::accept_new(root, config, crate::connectors::forms::ID_KEY);
    let rel = |p: &Path| crate::vault::index::rel_of(root, p);
    for (path, a) in &done.accepted {
        report.followups.push(format!(
            "intake {} accepted: project {}, {} client {}{}",
            rel(path),
            rel(&a.project),
            if a.client_created { "new" } else { "existing" },
            rel(&a.client),
            a.commit
                .as_ref()
                .map(|c| format!(" (commit {})", c.short_id))
                .unwrap_or_default()
        ));
    }
    for (path, why) in &done.failed {
        report.followup_problems.push(format!(
            "intake {} not accepted (it stays new; `ssot-vault intake accept` once fixed): {why}",
            rel(path)
        ));
    }
}

/// `[workflow] auto_activate` after a service's run: the `credentialing` projects whose
/// guards for `active` now hold are made active (see
/// [`crate::workflow::project::activate_ready`]); what was done goes into `report`. Whether a
/// project was moved.
pub(super) fn auto_activate(root: &Path, config: &Config, report: &mut SyncReport) -> bool {
    let done = crate::workflow::project::activate_ready(root, config);
    let rel = |p: &Path| crate::vault::index::rel_of(root, p);
    for m in &done.moved {
        report.followups.push(format!(
            "project {} made active: every credentialing item is checked{}",
            rel(&m.path),
            m.commit
                .as_ref()
                .map(|c| format!(" (commit {})", c.short_id))
                .unwrap_or_default()
        ));
    }
    for (path, why) in &done.failed {
        report.followup_problems.push(format!(
            "project {} not made active (it stays in credentialing; `ssot-vault project activate` once fixed): {why}",
            rel(path)
        ));
    }
    !done.moved.is_empty()
}

fn sync_error(e: SyncError, source: Option<&CredentialSource>) -> CliError {
    if let (
        SyncError::Connector(ConnectorError::Http(HttpError::Status {
            status: 401 | 403, ..
        })),
        Some(source),
    ) = (&e, source)
    {
        return CliError::new(e.to_string()).hint(format!(
            "the service refused the token from {source}; store the right one (`ssot-vault auth set`, or the environment variable, which wins over the keyring) and run `ssot-vault doctor`"
        ));
    }
    e.into()
}

/// Why a remote runs a second time in one `sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Again {
    /// A project was made active after its run (`[workflow] auto_activate`).
    MadeActive,
    /// A remote after it wrote into notes what it carries to its service (a status moved in
    /// Trello, for HubSpot's deal stage).
    Pulled,
}

impl std::fmt::Display for Again {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Again::MadeActive => "for the projects made active",
            Again::Pulled => "for what the services after it changed in the notes",
        })
    }
}

/// The remotes of a `sync` (their first runs' reports, in order, and whether a project was made
/// active after each) that run once more, at the end, in order, and why: each one before which
/// a project was made active (after its own run or a later one's), and each one a later remote
/// fed (its pull wrote into notes fields, sections or new notes this one sends: see
/// [`SyncReport::feeds`]). Those with nothing to carry do not run again; none runs a third time.
pub(super) fn second_pass(reports: &[&SyncReport], moved: &[bool]) -> Vec<(usize, Again)> {
    (0..reports.len())
        .filter_map(|j| {
            if moved.iter().skip(j).any(|m| *m) {
                Some((j, Again::MadeActive))
            } else {
                reports
                    .iter()
                    .skip(j + 1)
                    .any(|r| r.feeds(&reports[j].sends))
                    .then_some((j, Again::Pulled))
            }
        })
        .collect()
}

/// Runs `sync`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    init_tracing();
    let (root, config) = ctx.open()?;
    let remotes = remotes(&config, args.remote.as_deref())?;
    // One run at a time, for the whole run (the pending-vault commit included); a dry run
    // changes nothing and takes no lock.
    let _lock = if args.dry_run {
        None
    } else {
        {
            // The `watch` daemon syncs this vault on its own: a manual sync beside it is refused.
            crate::lock::VaultLock::acquire_file(&root, crate::lock::DAEMON_FILE, "sync")?
                .release();
            Some(super::lock_vault(&root, "sync")?)
        }
    };
    let opts = SyncOptions {
        dry_run: args.dry_run,
        force: args.force,
        check_archived: args.check_archived,
        full: args.full,
        ..SyncOptions::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut problems = false;
    let auto = config.workflow.auto_activate && !args.dry_run;
    let mut one = |r: &str, again: Option<Again>| -> Result<(SyncReport, bool), CliError> {
        let mut report = rt.block_on(sync_remote(&root, &config, r, &opts))?;
        let moved = auto && auto_activate(&root, &config, &mut report);
        problems |= report.conflicts > 0
            || !report.refused.is_empty()
            || !report.unreadable.is_empty()
            || !report.invalid.is_empty()
            || !report.followup_problems.is_empty();
        if !ctx.json {
            if let Some(why) = again {
                println!("{r}: again, {why}");
            }
            print_report(&report, args.dry_run);
        }
        Ok((report, moved))
    };
    let mut reports = Vec::new();
    let mut moved = Vec::new();
    for r in &remotes {
        let (report, m) = one(r, None)?;
        reports.push(report);
        moved.push(m);
    }
    // The second pass: the remotes that ran before a change they carry was made (see
    // [`second_pass`]), once more; what this pass pulls reaches the remotes before it at the
    // next `sync`.
    let again = second_pass(&reports.iter().collect::<Vec<_>>(), &moved);
    for (i, why) in again {
        reports.push(one(&remotes[i], Some(why))?.0);
    }
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(if problems {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}

fn fields(m: &std::collections::BTreeMap<String, Option<String>>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} = {}", v.as_deref().unwrap_or("(empty)")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An action as the plan shows it.
fn action_text(op: &crate::connectors::ActionOp) -> String {
    use crate::connectors::ActionOp as A;
    match op {
        A::Transition { to } => format!("move to {to}"),
        A::CreateChild { kind, assignee } => match assignee {
            Some(a) => format!("create a {kind} assigned to its {a}"),
            None => format!("create a {kind}"),
        },
        A::Grant { link } => format!("give its {link} access"),
        A::Revoke { link } => format!("take its {link}'s access back"),
        A::AttachExport => "attach the archive's export".into(),
        A::Delete => "delete the record".into(),
    }
}

/// Prints the plan and what was done.
pub fn print_report(r: &SyncReport, dry_run: bool) {
    let name = &r.remote;
    if dry_run {
        println!("{name}: plan (dry run, nothing changed)");
    }
    for rp in &r.plan.records {
        let note = if rp.rel.is_empty() {
            &rp.title
        } else {
            &rp.rel
        };
        match rp.action {
            Action::Create => println!("  create   {note} → {name}: {}", fields(&rp.push)),
            Action::NewNote => println!(
                "  new note {note} ← {name} {}: {}",
                rp.remote_id.as_deref().unwrap_or(""),
                fields(&rp.pull)
            ),
            Action::Update => {
                if !rp.push.is_empty() {
                    println!("  push     {note} → {name}: {}", fields(&rp.push));
                }
                if !rp.pull.is_empty() {
                    println!("  pull     {note} ← {name}: {}", fields(&rp.pull));
                }
                for c in &rp.conflicts {
                    println!(
                        "  conflict {note}: {} (vault: {}, {name}: {})",
                        c.key, c.shown.0, c.shown.1
                    );
                }
                for h in rp.sections.iter().flat_map(|s| &s.conflicts) {
                    println!(
                        "  conflict {note}: `## {h}` changed in the vault and in {name}; edit one side to match the other"
                    );
                }
                if rp.write_remote_id && rp.push.is_empty() && rp.pull.is_empty() {
                    println!(
                        "  link     {note} ↔ {name} {}",
                        rp.remote_id.as_deref().unwrap_or("")
                    );
                }
            }
            Action::MarkArchived => {
                println!("  archived {note}: the {name} record is archived; note marked")
            }
            Action::ArchiveRemote => println!(
                "  archive  {name} {} (its note was deleted)",
                rp.remote_id.as_deref().unwrap_or("")
            ),
            Action::Forget => println!(
                "  forget   {name} {} (its note was deleted; record left as it is)",
                rp.remote_id.as_deref().unwrap_or("")
            ),
        }
    }
    for a in &r.plan.actions {
        println!("  act      {} → {name}: {}", a.rel, action_text(&a.op));
    }
    if r.plan.held > 0 {
        println!(
            "{name}: {} records without a readable note left as they are (an unreadable note is not a deleted one); they sync again once their notes are fixed",
            r.plan.held
        );
    }
    if dry_run {
        println!(
            "{name}: {} to do, {} unchanged, {} requests",
            r.plan.records.len(),
            r.plan.unchanged,
            r.http.requests
        );
        return;
    }
    println!(
        "{name}: {} created and {} updated in {name}, {} notes updated, {} new notes, {} marked archived, {} archived in {name}, {} unchanged; {} requests ({} retried)",
        r.created_remote,
        r.updated_remote,
        r.notes_updated,
        r.notes_created,
        r.notes_marked_archived,
        r.archived_remote,
        r.plan.unchanged,
        r.http.requests,
        r.http.retries
    );
    if let Some(c) = &r.vault_commit {
        println!("{name}: pending vault edits committed first as {c}");
    }
    if let Some(c) = &r.commit {
        println!("{name}: vault changes committed as {c} (run {})", r.run_id);
    }
    let in_sections: usize = r.plan.records.iter().map(|rp| rp.section_conflicts()).sum();
    if r.conflicts > in_sections {
        println!(
            "{name}: {} conflicts recorded in `sync_conflicts`; settle each with `ssot-vault resolve NOTE KEY --take vault|remote`",
            r.conflicts - in_sections
        );
    }
    if in_sections > 0 {
        println!(
            "{name}: {in_sections} body sections changed on both sides left as they are; edit one side to match the other"
        );
    }
    for s in &r.skipped_changed {
        println!("{name}: {s} changed during the sync; it merges next run");
    }
    for (sid, m) in &r.refused {
        println!("{name}: refused {sid}: {m}");
    }
    for u in &r.unreadable {
        println!("{name}: {u}: left alone, never written (see `ssot-vault check`)");
    }
    for (_, id_key, m) in &r.invalid {
        println!(
            "{name}: {m}\n  hint: fix the record in {name}, or make its note yourself with `{id_key}: <id>` set; it is reported again only when the record (or its links) changes"
        );
    }
    if let (Some(run), Some(c)) = (&r.resumed_after, &r.resumed_commit) {
        println!("{name}: the notes written by the interrupted run {run} committed as {c}");
    }
    for f in &r.followups {
        println!("{name}: {f}");
    }
    for p in &r.followup_problems {
        println!("{name}: {p}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::RecordPlan;

    /// A report of a run that sends `sends` and pulled `pulled` ((note type, key)) into notes.
    fn report(sends: &[(&str, &str)], pulled: &[(&str, &str)]) -> SyncReport {
        let mut r = SyncReport {
            applied: true,
            sends: sends
                .iter()
                .map(|(t, k)| (t.to_string(), k.to_string()))
                .collect(),
            ..SyncReport::default()
        };
        for (t, k) in pulled {
            let mut rp = RecordPlan::new(Action::Update, "S1".into(), t.to_string());
            rp.pull.insert(k.to_string(), Some("x".into()));
            r.plan.records.push(rp);
        }
        r
    }

    /// Only a remote a later one fed runs again, and every remote up to (and with) the one after
    /// whose run a project was made active.
    #[test]
    fn the_second_pass_reruns_those_a_later_run_fed_or_a_project_made_active_outran() {
        let hubspot = report(&[("project", "status")], &[]);
        let trello = report(&[("project", "status")], &[("project", "status")]);
        let jira = report(&[("project", "budget")], &[]);
        let forms = report(&[], &[("intake", "email")]);
        let all = [&hubspot, &trello, &jira, &forms];
        assert_eq!(
            second_pass(&all, &[false; 4]),
            [(0, Again::Pulled)],
            "trello's pull feeds hubspot; nothing feeds trello or jira"
        );
        let quiet = report(&[("project", "status")], &[]);
        let calm = [&hubspot, &quiet, &jira, &forms];
        assert!(second_pass(&calm, &[false; 4]).is_empty());
        assert_eq!(
            second_pass(&calm, &[false, true, false, false]),
            [(0, Again::MadeActive), (1, Again::MadeActive)]
        );
        let dry = SyncReport {
            applied: false,
            ..report(&[], &[("project", "status")])
        };
        assert!(second_pass(&[&hubspot, &dry], &[false; 2]).is_empty());
    }
}
