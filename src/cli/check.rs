//! `ssot-vault check`: validates every note and prints one line per problem,
//! `path:line:col: error|warning: message`. Exit 0 clean (warnings allowed), 1 when any error
//! is found, 2 when the vault cannot be read at all. Never writes. Project status changes made
//! by hand since the last commit are judged by the lifecycle's guards (`crate::workflow::audit`).

use super::{CliError, Ctx, Outcome};
use crate::vault::check::check;
use crate::vault::index::Index;
use crate::vault::schema::{Schema, Severity};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Treat warnings as problems too (exit 1 when there are any).
    #[arg(long)]
    pub strict: bool,
}

/// Everything `check` reports on the vault at `root`: the notes against the schema, and the
/// project status changes made by hand since the last commit against the lifecycle.
pub fn vault_report(
    root: &std::path::Path,
    config: &crate::config::Config,
    schema: &Schema,
) -> Result<crate::vault::check::Report, crate::workflow::audit::AuditError> {
    let index = Index::build(root, config);
    let mut report = check(&index, schema);
    let illegal = crate::workflow::audit::transitions(root, config, &index)?;
    if !illegal.is_empty() {
        report.problems.extend(illegal);
        report
            .problems
            .sort_by(|a, b| (&a.path, a.line, a.col).cmp(&(&b.path, b.line, b.col)));
    }
    Ok(report)
}

/// Runs `check`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let schema = Schema::from_config(&config)?;
    let report = vault_report(&root, &config, &schema)?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for p in &report.problems {
            let sev = match p.severity {
                Severity::Error => ctx.paint("error", "31"),
                Severity::Warning => ctx.paint("warning", "33"),
            };
            let _ = writeln!(out, "{}:{}:{}: {sev}: {}", p.path, p.line, p.col, p.message);
        }
        eprintln!(
            "checked {} notes ({} managed): {} errors, {} warnings",
            report.notes,
            report.managed,
            report.errors(),
            report.warnings()
        );
    }
    let failing = report.errors() > 0 || (args.strict && report.warnings() > 0);
    Ok(if failing {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}
