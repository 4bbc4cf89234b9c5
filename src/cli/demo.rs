//! `ssot-vault demo [--dir DIR]`: the consultancy's whole process in one command, offline. A
//! vault from the template with its five services (HubSpot, Jira, Trello, Google Sheets and
//! Forms) enabled against the sandbox's emulators, served in-process on a free port, then the
//! process's steps one after the other: what the person does (a form response, a workflow
//! command, a tick or a move in Trello) and what changed where after the sync (the vault's new
//! commits with their `Ssot-Source` and `Ssot-Transition` trailers, and each service's records
//! created, changed or deleted). The vault and the sandbox's state file are left behind, with the
//! commands to look at them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use serde_json::json;

use crate::config::Config;
use crate::connectors::Secret;
use crate::connectors::registry::Overrides;
use crate::sandbox::forms::{HELPDESK_FORM_ID, INTAKE_FORM_ID};
use crate::sandbox::jira::store::SEED_USERS;
use crate::sandbox::jira::{DEFAULT_EMAIL, DEFAULT_TOKEN};
use crate::sandbox::person::Person;
use crate::sandbox::sheets::SEED_SPREADSHEET_ID;
use crate::sandbox::{
    DEFAULT_HUBSPOT_TOKEN, DEFAULT_TRELLO_KEY, DEFAULT_TRELLO_TOKEN, Sandbox, SandboxConfig,
};
use crate::sync::SyncOptions;

use super::{CliError, Ctx, Outcome};

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to create the demo vault (default: a new folder under the system's temp folder,
    /// kept afterwards so you can look at it). The sandbox's state is saved beside it.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The template's expert who takes the demo's project.
const EXPERT: &str = "Experts/Anna Nowak.md";
/// The template's second expert.
const TOMASZ: &str = "Experts/Tomasz Wiśniewski.md";
/// The intake note the form response becomes.
const INTAKE: &str = "Intake/Intake Marta Sowa.md";
/// The project's name.
const NAME: &str = "Online table booking";
/// The project note `intake accept` makes.
const PROJECT: &str = "Projects/Online table booking.md";
/// The Trello member the consultancy's operator works as.
const OLA: &str = "sandbox-trello-token-ola";
/// The Trello member the expert works as.
const EWA: &str = "sandbox-trello-token-ewa";
/// The Jira account of Anna Nowak (the emulator's seeded `Ewa Lis`).
const ANNA_JIRA: usize = 1;
/// The Jira account of Tomasz Wiśniewski.
const TOMASZ_JIRA: usize = 2;

/// The sandbox's state file, beside the vault `dir`.
pub fn state_file(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vault".into());
    dir.with_file_name(format!("{name}.sandbox.json"))
}

/// The demo's own failures and the errors of foreign crates (git2, reqwest), and its syncs' (whose
/// hint, to run `ssot-vault sync` again, does not fit a demo): exit 2 with the message.
fn err(e: impl std::fmt::Display) -> CliError {
    CliError::new(e.to_string())
}

/// Replaces the section `[remotes.NAME]` of the configuration text (up to the next
/// `[remotes.` section that is not one of its own tables, or the end) with `section`.
fn replace_section(text: &str, name: &str, section: &str) -> Result<String, CliError> {
    let head = format!("[remotes.{name}]");
    let start = text
        .find(&head)
        .ok_or_else(|| err(format!("the template has no {head}")))?;
    let rest = &text[start + head.len()..];
    let own = format!("[remotes.{name}.");
    let mut end = text.len();
    let mut at = 0;
    while let Some(i) = rest[at..].find("\n[remotes.") {
        let pos = at + i + 1;
        if !rest[pos..].starts_with(&own) {
            end = start + head.len() + pos;
            break;
        }
        at = pos;
    }
    Ok(format!("{}{section}\n{}", &text[..start], &text[end..]))
}

/// Makes the demo vault: the template, a git repository with a demo identity, the five services
/// enabled against the sandbox at `base`, the experts' Jira accounts set.
fn make_vault(dir: &Path, base: &str) -> Result<(), CliError> {
    crate::fsutil::create_dir_all(dir)?;
    for (rel, bytes) in crate::template::FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            crate::fsutil::create_dir_all(parent)?;
        }
        crate::fsutil::write_if_unchanged(&path, None, bytes)?;
    }
    crate::fsutil::write_if_unchanged(
        &dir.join(".gitignore"),
        None,
        super::init::GITIGNORE.as_bytes(),
    )?;
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head("main");
    let repo = git2::Repository::init_opts(dir, &opts).map_err(err)?;
    let mut cfg = repo.config().map_err(err)?;
    cfg.set_str("user.name", "Demo User").map_err(err)?;
    cfg.set_str("user.email", "demo@example.com").map_err(err)?;
    let toml_path = dir.join(crate::config::FILE_NAME);
    let mut text = String::from_utf8_lossy(&crate::fsutil::read(&toml_path)?).into_owned();
    // The sandbox runs without its rate limits and quotas: no client-side pacing either (against
    // the real services the defaults pace to their published limits), and quick retries.
    let fast = "requests_per_10s = 0\nretry_base_ms = 20\nretry_max_ms = 200\nmax_retries = 12\ntimeout_seconds = 2.0\n";
    let note = "# The demo points at its in-process sandbox (see the service's real API in the template)\n";
    for (name, section) in [
        (
            "hubspot",
            format!(
                "[remotes.hubspot]\n{note}enabled = true\nbase_url = \"{base}\"\nsearch_per_second = 0\n{fast}"
            ),
        ),
        (
            "jira",
            format!(
                "[remotes.jira]\n{note}enabled = true\nbase_url = \"{base}\"\nemail = \"{DEFAULT_EMAIL}\"\nproject_key = \"SSOT\"\nsettle_max_seconds = 0\n{fast}\n[remotes.jira.fields.project]\nclient = \"Client\"\ncurrency = \"Currency\"\nlanguage = \"Language\"\n"
            ),
        ),
        (
            "trello",
            format!(
                "[remotes.trello]\n{note}enabled = true\nbase_url = \"{base}/1\"\nkey = \"{DEFAULT_TRELLO_KEY}\"\nboard = \"Projects\"\nhelpdesk_board = \"Helpdesk\"\n{fast}\n[remotes.trello.helpdesk_parties]\n\"anna.client\" = \"client\"\n\"ewa.expert\" = \"expert\"\n"
            ),
        ),
        (
            "sheets",
            format!(
                "[remotes.sheets]\n{note}enabled = true\nbase_url = \"{base}\"\nspreadsheet_id = \"{SEED_SPREADSHEET_ID}\"\n{fast}"
            ),
        ),
        (
            "forms",
            format!(
                "[remotes.forms]\n{note}enabled = true\nbase_url = \"{base}\"\nintake_form = \"{INTAKE_FORM_ID}\"\nhelpdesk_form = \"{HELPDESK_FORM_ID}\"\n{fast}"
            ),
        ),
    ] {
        text = replace_section(&text, name, &section)?;
    }
    crate::fsutil::write_atomic(&toml_path, text.as_bytes())?;
    for (rel, user) in [(EXPERT, ANNA_JIRA), (TOMASZ, TOMASZ_JIRA)] {
        let path = dir.join(rel);
        let note = String::from_utf8_lossy(&crate::fsutil::read(&path)?).into_owned();
        let note = note.replacen(
            "\n---\n",
            &format!("\njira_account_id: {}\n---\n", SEED_USERS[user].0),
            1,
        );
        crate::fsutil::write_atomic(&path, note.as_bytes())?;
    }
    crate::history::init_repo(dir, "Create the vault from the ssot-vault template")?;
    Ok(())
}

/// Every record of every emulator: (service, kind, id) → (fields, archived).
type Snapshot = BTreeMap<(String, String, String), (BTreeMap<String, String>, bool)>;

/// Fields every write changes (timestamps, run ids, list ids beside the list's name): left out
/// of what changed.
const NOISE: &[&str] = &[
    "hs_lastmodifieddate",
    "lastmodifieddate",
    "ssot_run",
    "updated",
    "idList",
];

/// The demo's running state.
struct Demo {
    dir: PathBuf,
    sb: Sandbox,
    /// The consultancy's operator, Ola, in Trello (and the people filling the forms in).
    ola: Person,
    google_key: String,
    head: Option<git2::Oid>,
    snapshot: Snapshot,
}

/// A record's name for people: its first field among the usual naming ones.
fn label(fields: &BTreeMap<String, String>, id: &str) -> String {
    let name = [
        "summary",
        "dealname",
        "name",
        "title",
        "Message",
        "Contact name",
    ]
    .iter()
    .find_map(|k| fields.get(*k).filter(|v| !v.is_empty()))
    .cloned()
    .or_else(|| {
        let first = fields.get("firstname")?;
        Some(format!(
            "{first} {}",
            fields.get("lastname").map(String::as_str).unwrap_or("")
        ))
    });
    match name {
        Some(n) => format!("{id} \"{}\"", short(&n)),
        None => id.to_string(),
    }
}

/// A value cut to one short line.
fn short(v: &str) -> String {
    let line = v.lines().next().unwrap_or("");
    let cut: String = line.chars().take(40).collect();
    if cut.len() < v.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

impl Demo {
    fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot::new();
        for e in crate::sandbox::emulator::EMULATORS.iter() {
            let Some(remote) = self.sb.remote(e.name()) else {
                continue;
            };
            for kind in e.kinds() {
                for r in remote.records(kind).unwrap_or_default() {
                    s.insert(
                        (e.name().to_string(), (*kind).to_string(), r.id.clone()),
                        (r.fields, r.archived),
                    );
                }
            }
        }
        s
    }

    /// The credential of a service for its sandbox.
    fn credential(&self, remote: &str) -> Secret {
        match remote {
            "hubspot" => Secret::new(DEFAULT_HUBSPOT_TOKEN),
            "jira" => Secret::new(DEFAULT_TOKEN),
            "trello" => Secret::new(DEFAULT_TRELLO_TOKEN),
            _ => Secret::new(self.google_key.clone()),
        }
    }

    /// One service's sync as `sync` runs it (with `[workflow] auto_activate`): its report, and
    /// whether a project was made active.
    async fn sync_one(
        &self,
        config: &Config,
        remote: &str,
    ) -> Result<(crate::sync::SyncReport, bool), CliError> {
        let overrides = Overrides {
            credentials: Some(self.credential(remote)),
            ..Overrides::default()
        };
        let mut report = super::sync::sync_remote_with(
            &self.dir,
            config,
            remote,
            &SyncOptions::default(),
            &overrides,
        )
        .await
        .map_err(|e| err(format!("{remote}: {}", e.message)))?;
        let moved = config.workflow.auto_activate
            && tokio::task::block_in_place(|| {
                super::sync::auto_activate(&self.dir, config, &mut report)
            });
        for f in report.followups.iter().chain(&report.followup_problems) {
            println!("  {remote}: {f}");
        }
        if report.conflicts > 0 || !report.refused.is_empty() {
            super::sync::print_report(&report, false);
        }
        Ok((report, moved))
    }

    /// `ssot-vault sync`: every service in order, then its second pass ([`super::sync::second_pass`]).
    async fn sync(&self) -> Result<(), CliError> {
        println!("$ ssot-vault sync");
        let config = Config::load(&self.dir)?;
        let remotes = super::sync::remotes(&config, None)?;
        let (mut reports, mut moved) = (Vec::new(), Vec::new());
        for r in &remotes {
            let (report, m) = self.sync_one(&config, r).await?;
            reports.push(report);
            moved.push(m);
        }
        for (i, _) in super::sync::second_pass(&reports.iter().collect::<Vec<_>>(), &moved) {
            self.sync_one(&config, &remotes[i]).await?;
        }
        Ok(())
    }

    /// A command the person types, run in-process as the binary would.
    fn person(&self, args: &[&str]) -> Result<(), CliError> {
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') {
                    format!("\"{a}\"")
                } else {
                    (*a).to_string()
                }
            })
            .collect();
        println!("$ ssot-vault {}", shown.join(" "));
        let mut argv = vec![
            "ssot-vault".to_string(),
            "--vault".into(),
            self.dir.display().to_string(),
        ];
        argv.extend(args.iter().map(|a| (*a).to_string()));
        let cli = super::Cli::try_parse_from(argv).map_err(err)?;
        let code = tokio::task::block_in_place(|| super::run(cli));
        if code != 0 {
            return Err(err(format!(
                "`ssot-vault {}` exited with {code}",
                shown.join(" ")
            )));
        }
        Ok(())
    }

    /// A note's frontmatter value.
    fn prop(&self, rel: &str, key: &str) -> Result<String, CliError> {
        let note = crate::vault::read_note(&self.dir.join(rel))?;
        Ok(note.get(key).map(|v| v.to_string()).unwrap_or_default())
    }

    /// Whether the seeded Jira user `user` can read the project's issue (with their own token).
    async fn jira_can_read(&self, user: usize) -> Result<String, CliError> {
        let key = self.prop(PROJECT, "jira_key")?;
        let (_, email, _, token, _) = SEED_USERS[user];
        let can = self
            .ola
            .clone()
            .with_jira(email, token)
            .jira_can_read(&key)
            .await
            .map_err(err)?;
        Ok(format!(
            "the expert's own Jira account can read {key}: {}",
            if can { "yes" } else { "no" }
        ))
    }

    /// The lines of a note's section `## heading`.
    fn section(&self, rel: &str, heading: &str) -> Result<String, CliError> {
        let text = String::from_utf8_lossy(&crate::fsutil::read(&self.dir.join(rel))?).into_owned();
        let head = format!("## {heading}\n");
        Ok(text
            .split_once(&head)
            .map(|(_, rest)| rest.split("\n## ").next().unwrap_or("").trim().to_string())
            .unwrap_or_default())
    }

    /// The project's card id.
    fn card(&self) -> Result<String, CliError> {
        let id = self.prop(PROJECT, "trello_card_id")?;
        if id.is_empty() {
            return Err(err(format!("{PROJECT} has no trello_card_id")));
        }
        Ok(id)
    }

    /// Ticks checklist items of a card in Trello, as the operator.
    async fn tick(&self, card: &str, names: &[&str]) -> Result<(), CliError> {
        for name in names {
            println!("(Trello) Ola ticks \"{name}\" on the project's card");
            self.ola.tick(card, name, true).await.map_err(err)?;
        }
        Ok(())
    }

    /// Starts a step: its title; what changed is counted from here.
    fn step(&mut self, n: &str, title: &str) -> Result<(), CliError> {
        println!("\n== {n}. {title}");
        self.head = git2::Repository::open(&self.dir)
            .ok()
            .and_then(|r| r.head().ok().and_then(|h| h.target()));
        self.snapshot = self.snapshot();
        Ok(())
    }

    /// What changed since the step began: the vault's new commits, each service's records.
    fn changed(&mut self) -> Result<(), CliError> {
        println!("-- what changed");
        let repo = git2::Repository::open(&self.dir).map_err(err)?;
        let mut walk = repo.revwalk().map_err(err)?;
        walk.push_head().map_err(err)?;
        if let Some(h) = self.head {
            walk.hide(h).map_err(err)?;
        }
        let mut commits: Vec<git2::Oid> = walk.filter_map(Result::ok).collect();
        commits.reverse();
        if commits.is_empty() {
            println!("vault: no new commit");
        }
        for oid in commits {
            let c = repo.find_commit(oid).map_err(err)?;
            let msg = c.message().unwrap_or("");
            let trailers: Vec<String> = msg
                .lines()
                .filter(|l| l.starts_with("Ssot-Source: ") || l.starts_with("Ssot-Transition: "))
                .map(|l| l.replacen("Ssot-", "", 1))
                .collect();
            let tree = c.tree().map_err(err)?;
            let parent = c.parent(0).ok().and_then(|p| p.tree().ok());
            let diff = repo
                .diff_tree_to_tree(parent.as_ref(), Some(&tree), None)
                .map_err(err)?;
            let files: Vec<String> = diff
                .deltas()
                .filter_map(|d| {
                    d.new_file()
                        .path()
                        .or_else(|| d.old_file().path())
                        .map(|p| p.display().to_string())
                })
                .collect();
            println!(
                "vault: commit {} \"{}\" [{}]",
                &oid.to_string()[..7],
                String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()),
                trailers.join("; ")
            );
            let more = files.len().saturating_sub(6);
            let mut shown: Vec<String> = files.into_iter().take(6).collect();
            if more > 0 {
                shown.push(format!("and {more} more"));
            }
            println!("       files: {}", shown.join(", "));
        }
        let now = self.snapshot();
        let mut lines: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, (fields, archived)) in &now {
            let (service, kind, id) = key;
            let what = match self.snapshot.get(key) {
                None => format!("created {kind} {}", label(fields, id)),
                Some((_, was)) if *archived && !was => {
                    format!("deleted/archived {kind} {}", label(fields, id))
                }
                Some((old, _)) if old != fields => {
                    let diffs: Vec<String> = fields
                        .iter()
                        .filter(|(k, v)| old.get(*k) != Some(*v) && !NOISE.contains(&k.as_str()))
                        .map(|(k, v)| format!("{k}={}", short(v)))
                        .chain(
                            old.keys()
                                .filter(|k| !fields.contains_key(*k))
                                .map(|k| format!("{k} removed")),
                        )
                        .take(5)
                        .collect();
                    if diffs.is_empty() {
                        continue;
                    }
                    format!("changed {kind} {}: {}", label(fields, id), diffs.join(", "))
                }
                _ => continue,
            };
            lines.entry(service.clone()).or_default().push(what);
        }
        for (key, (fields, _)) in &self.snapshot {
            if !now.contains_key(key) {
                lines.entry(key.0.clone()).or_default().push(format!(
                    "deleted {} {}",
                    key.1,
                    label(fields, &key.2)
                ));
            }
        }
        if lines.is_empty() {
            println!("services: nothing changed");
        }
        for (service, what) in lines {
            for w in what {
                println!("{service}: {w}");
            }
        }
        Ok(())
    }
}

async fn demo(dir: &Path) -> Result<(), CliError> {
    let started = Instant::now();
    let state = state_file(dir);
    let cfg = SandboxConfig {
        hubspot_rate_limit: None,
        search_rate_limit_per_sec: None,
        state_file: Some(state.clone()),
        ..SandboxConfig::default()
    };
    let mut cfg = cfg;
    cfg.sheets.quota = None;
    cfg.forms.quota = None;
    let any_port = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let sb = Sandbox::start(any_port, cfg).await?;
    let base = sb.base_url();
    crate::connectors::install_crypto();
    let google_key = crate::sandbox::google::sandbox_key_file(&format!("{base}/token")).to_string();
    let mut d = Demo {
        dir: dir.to_path_buf(),
        ola: Person::new(&sb, OLA),
        sb,
        google_key,
        head: None,
        snapshot: Snapshot::new(),
    };

    d.step(
        "0",
        &format!(
            "A vault from the template in {}, its five services enabled against the sandbox at {base}",
            dir.display()
        ),
    )?;
    make_vault(dir, &base)?;
    d.sync().await?;
    d.changed()?;

    d.step(
        "1",
        "A consultation form response becomes an intake note, accepted into a client and a project",
    )?;
    println!("(Google Forms) Marta Sowa of Kawiarnia Sowa fills in the consultation form");
    d.ola
        .submit(
            INTAKE_FORM_ID,
            json!({
                "Contact name": "Marta Sowa",
                "Email": "marta@kawiarniasowa.pl",
                "Phone": "+48 500 100 200",
                "Company": "Kawiarnia Sowa",
                "What do you need?": NAME,
                "Skills required": ["php", "ux"],
                "Budget": "30000",
                "Deadline": "2027-05-31",
                "Language": "pl",
            }),
        )
        .await
        .map_err(err)?;
    d.sync().await?;
    println!("{INTAKE}: status = {}", d.prop(INTAKE, "status")?);
    d.person(&["intake", "accept", "Intake Marta Sowa"])?;
    d.changed()?;

    d.step(
        "2-3",
        "The client is a HubSpot contact, the project a deal; the Sheets registers list them; the project is a Jira issue",
    )?;
    d.sync().await?;
    d.changed()?;
    println!(
        "{PROJECT}: hubspot_id = {}, jira_key = {}, trello_card_id = {}",
        d.prop(PROJECT, "hubspot_id")?,
        d.prop(PROJECT, "jira_key")?,
        d.prop(PROJECT, "trello_card_id")?
    );

    d.step(
        "4",
        "`match` ranks the experts, the first is proposed, the sync carries it, the expert accepts",
    )?;
    d.person(&["match", NAME])?;
    d.person(&["match", NAME, "--assign", "Anna Nowak"])?;
    d.sync().await?;
    d.person(&["project", "accept", NAME])?;
    d.changed()?;

    d.step(
        "5",
        "On acceptance: the Trello card opened for credentialing, a Jira task for the expert",
    )?;
    d.sync().await?;
    d.changed()?;

    d.step(
        "6",
        "The metrics on the Jira issue: an estimate and a priority set by hand",
    )?;
    d.person(&["set", PROJECT, "estimate_hours=160", "priority=high"])?;
    d.sync().await?;
    d.changed()?;

    let card = d.card()?;
    d.step(
        "7",
        "Credentialing in Trello: two items ticked, a document uploaded; the Jira issue stays On Hold",
    )?;
    d.tick(&card, &["Contract signed", "NDA signed"]).await?;
    println!("(Trello) Ola uploads nda-signed.pdf to the project's card");
    d.ola
        .attach(
            &card,
            "nda-signed.pdf",
            b"%PDF-1.4 NDA signed by both parties",
        )
        .await
        .map_err(err)?;
    d.sync().await?;
    d.changed()?;
    println!(
        "{PROJECT}, ## Documents:\n{}",
        d.section(PROJECT, "Documents")?
    );
    println!(
        "{PROJECT}, ## Credentialing:\n{}",
        d.section(PROJECT, "Credentialing")?
    );

    d.step(
        "8",
        "The last items ticked in Trello: the project goes active by itself, the expert gets access to the Jira issue",
    )?;
    d.tick(
        &card,
        &["Invoicing details received", "Access to systems granted"],
    )
    .await?;
    d.sync().await?;
    d.changed()?;
    println!("{PROJECT}: status = {}", d.prop(PROJECT, "status")?);
    println!("{}", d.jira_can_read(ANNA_JIRA).await?);

    d.step(
        "9",
        "The helpdesk: the client writes through the helpdesk form, the expert answers on the ticket's card",
    )?;
    println!("(Google Forms) the client writes through the helpdesk form");
    d.ola
        .submit(
        HELPDESK_FORM_ID,
        json!({"Project": NAME, "Who is writing?": "client", "Message": "Can guests book a table for more than 8 people?"}),
    )
    .await
    .map_err(err)?;
    d.sync().await?;
    d.sync().await?;
    let ticket = helpdesk_ticket(dir)?;
    let ticket_card = d.prop(&ticket, "trello_card_id")?;
    if ticket_card.is_empty() {
        return Err(err(format!("{ticket} has no Trello card")));
    }
    println!("(Trello) the expert comments on the ticket's card");
    d.ola
        .member(EWA)
        .comment(&ticket_card, "Yes: up to 20, with a deposit.")
        .await
        .map_err(err)?;
    d.sync().await?;
    d.changed()?;
    println!(
        "{ticket}, ## Conversation:\n{}",
        d.section(&ticket, "Conversation")?
    );

    d.step(
        "10",
        "The project blocked from Trello, then unblocked the same way",
    )?;
    let reason = "Waiting for the client's API credentials";
    println!("(Trello) Ola writes the card's Blocked reason: {reason}");
    d.ola.blocked_reason(&card, reason).await.map_err(err)?;
    println!("(Trello) Ola moves the project's card to Blocked");
    d.ola.move_card(&card, "Blocked").await.map_err(err)?;
    // HubSpot syncs before Trello: it learns of the move in the next sync.
    d.sync().await?;
    d.sync().await?;
    d.changed()?;
    println!("{PROJECT}: status = {}", d.prop(PROJECT, "status")?);
    d.step("10", "... and unblocked: the card moved back to Active")?;
    println!("(Trello) Ola moves the project's card to Active");
    d.ola.move_card(&card, "Active").await.map_err(err)?;
    // HubSpot syncs before Trello: it learns of the move in the next sync.
    d.sync().await?;
    d.sync().await?;
    d.changed()?;
    println!("{PROJECT}: status = {}", d.prop(PROJECT, "status")?);

    d.step(
        "12",
        "Done, then archived: the export attached to the card, the Jira issue deleted, the deal closed won",
    )?;
    let ticket_name = ticket
        .trim_start_matches("Helpdesk/")
        .trim_end_matches(".md")
        .to_string();
    d.person(&["ticket", "close", &ticket_name])?;
    d.person(&["project", "done", NAME])?;
    d.sync().await?;
    d.person(&["archive", NAME])?;
    d.sync().await?;
    d.sync().await?;
    d.changed()?;
    let names = d.ola.attachment_names(&card).await.map_err(err)?;
    println!(
        "the project's Trello card's attachments: {}",
        names.join(", ")
    );

    let took = started.elapsed();
    let sb = d.sb;
    let port = sb.addr().port();
    let requests = sb.request_counts().total;
    sb.shutdown().await;

    println!("\n== Where to look");
    println!("the vault:          {}", dir.display());
    println!(
        "the audit log:      git -C \"{}\" log --format='%h %an: %s%n%(trailers:key=Ssot-Source,key=Ssot-Transition)'",
        dir.display()
    );
    println!(
        "the project:        ssot-vault --vault \"{}\" log \"{}\"",
        dir.display(),
        crate::vault::index::rel_of(dir, &archived_or(dir, PROJECT))
    );
    println!("the services' state: {}", state.display());
    println!(
        "serve it again:     ssot-vault sandbox --addr 127.0.0.1:{port} --state \"{}\"   (the vault's base_urls point at this port)",
        state.display()
    );
    println!("then, for example:  curl http://127.0.0.1:{port}/__sandbox/hubspot/objects/deals");
    println!(
        "{requests} requests to the sandbox, {:.1} s in all",
        took.as_secs_f64()
    );
    Ok(())
}

/// The note `rel`, or where `archive` moved it.
fn archived_or(dir: &Path, rel: &str) -> PathBuf {
    let p = dir.join(rel);
    if p.exists() {
        return p;
    }
    let name = Path::new(rel).file_name().unwrap_or_default();
    walk_find(&dir.join("Archive"), name).unwrap_or(p)
}

fn walk_find(dir: &Path, name: &std::ffi::OsStr) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = walk_find(&p, name) {
                return Some(f);
            }
        } else if p.file_name() == Some(name) {
            return Some(p);
        }
    }
    None
}

/// The helpdesk ticket note (the one under `Helpdesk/`).
fn helpdesk_ticket(dir: &Path) -> Result<String, CliError> {
    let folder = dir.join("Helpdesk");
    let mut notes: Vec<String> = std::fs::read_dir(&folder)
        .map_err(crate::fsutil::io_err(&folder))?
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('_'))
        .map(|n| format!("Helpdesk/{n}"))
        .collect();
    notes.sort();
    notes
        .pop()
        .ok_or_else(|| err("the helpdesk form's message made no ticket note"))
}

/// Runs `demo`.
pub fn run(_ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    super::sync::init_tracing();
    let dir = match &args.dir {
        Some(d) => {
            if d.exists()
                && std::fs::read_dir(d)
                    .map_err(crate::fsutil::io_err(d))?
                    .next()
                    .is_some()
            {
                return Err(
                    CliError::new(format!("{}: the folder is not empty", d.display()))
                        .hint("give a new or empty folder, or leave --dir out"),
                );
            }
            std::path::absolute(d)?
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("ssot-vault-demo-")
                .tempdir()?;
            t.keep().join("vault")
        }
    };
    if state_file(&dir).exists() {
        return Err(CliError::new(format!(
            "{}: a sandbox state is already there",
            state_file(&dir).display()
        ))
        .hint("give a new folder with --dir, or leave --dir out"));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(demo(&dir))?;
    Ok(Outcome::Ok)
}
