//! `ssot-vault demo [--dir DIR]`: the whole product in one command, offline. A vault from the
//! template with its sample notes, the HubSpot sandbox in-process on a free port, a first full
//! sync, an edit on each side synced both ways, a conflict recorded in a note, and a summary of
//! where to look (`git log`, the notes, `ssot-vault resolve`).

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::config::Config;
use crate::connectors::Secret;
use crate::connectors::registry::Overrides;
use crate::sandbox::{DEFAULT_HUBSPOT_TOKEN, Sandbox, SandboxConfig};
use crate::sync::{SyncOptions, SyncReport};
use crate::vault::editor::Edit;
use crate::vault::value::Value;

use super::{CliError, Ctx, Outcome};

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to create the demo vault (default: a new folder under the system's temp folder,
    /// kept afterwards so you can look at it).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

const CLIENT: &str = "Clients/Piekarnia Złoty Kłos.md";
const EXPERT: &str = "Experts/Anna Nowak.md";
const PROJECT: &str = "Projects/Złoty Kłos online shop.md";

fn step(n: u32, text: &str) {
    println!("\n== {n}. {text}");
}

/// The demo's own failures and the errors of foreign crates (git2, reqwest), and its syncs' (whose
/// hint, to run `ssot-vault sync` again, does not fit a demo): exit 2 with the message.
fn err(e: impl std::fmt::Display) -> CliError {
    CliError::new(e.to_string())
}

/// Makes the demo vault: the template, a git repository with a demo identity, HubSpot enabled
/// against `base_url`.
fn make_vault(dir: &Path, base_url: &str) -> Result<(), CliError> {
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
    let text = String::from_utf8_lossy(&crate::fsutil::read(&toml_path)?).into_owned();
    let text = text.replacen(
        "enabled = false\nbase_url = \"https://api.hubapi.com\"",
        &format!(
            "enabled = true\n# The demo points at the in-process sandbox; the real API is https://api.hubapi.com\nbase_url = \"{base_url}\""
        ),
        1,
    );
    crate::fsutil::write_atomic(&toml_path, text.as_bytes())?;
    crate::history::init_repo(dir, "Create the vault from the ssot-vault template")?;
    Ok(())
}

/// A sync of HubSpot as `sync` runs it, with the sandbox's token.
async fn sync_once(dir: &Path) -> Result<SyncReport, CliError> {
    let config = Config::load(dir)?;
    let overrides = Overrides {
        credentials: Some(Secret::new(DEFAULT_HUBSPOT_TOKEN)),
        ..Overrides::default()
    };
    let report = super::sync::sync_remote_with(
        dir,
        &config,
        crate::connectors::hubspot::NAME,
        &SyncOptions::default(),
        &overrides,
    )
    .await
    .map_err(|e| err(e.message))?;
    super::sync::print_report(&report, false);
    Ok(report)
}

async fn patch(
    base_url: &str,
    object: &str,
    id: &str,
    props: serde_json::Value,
) -> Result<(), CliError> {
    crate::connectors::install_crypto();
    let client = reqwest::Client::new();
    let resp = client
        .patch(format!("{base_url}/crm/v3/objects/{object}/{id}"))
        .bearer_auth(DEFAULT_HUBSPOT_TOKEN)
        .json(&json!({ "properties": props }))
        .send()
        .await
        .map_err(err)?;
    if !resp.status().is_success() {
        return Err(err(format!("sandbox answered HTTP {}", resp.status())));
    }
    Ok(())
}

fn prop(dir: &Path, rel: &str, key: &str) -> Result<String, CliError> {
    let note = crate::vault::read_note(&dir.join(rel))?;
    Ok(note.get(key).map(|v| v.to_string()).unwrap_or_default())
}

fn set(dir: &Path, rel: &str, key: &str, value: &str) -> Result<(), CliError> {
    crate::vault::edit_file(
        &dir.join(rel),
        &[Edit::Set(key.into(), Value::Str(value.into()))],
    )?;
    Ok(())
}

async fn demo(dir: &Path) -> Result<(), CliError> {
    let any_port = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let sb = Sandbox::start(any_port, SandboxConfig::default()).await?;
    let base = sb.base_url();
    step(
        1,
        &format!(
            "A vault from the template in {}, and the HubSpot sandbox at {base}",
            dir.display()
        ),
    );
    make_vault(dir, &base)?;
    println!("sample notes: {CLIENT}, {EXPERT}, Experts/Tomasz Wiśniewski.md, {PROJECT}");

    step(
        2,
        "First sync: every note becomes a HubSpot record (upserts keyed by ssot_id)",
    );
    sync_once(dir).await?;
    for object in ["contacts", "companies", "deals"] {
        println!(
            "HubSpot now holds {} {object}",
            sb.hubspot_records(object).len()
        );
    }
    println!(
        "{CLIENT}: hubspot_id = {}",
        prop(dir, CLIENT, crate::connectors::hubspot::ID_KEY)?
    );

    step(
        3,
        "An edit on each side: the expert's phone in the vault, the client's city in HubSpot",
    );
    set(dir, EXPERT, "phone", "+48 601 000 111")?;
    patch(
        &base,
        "contacts",
        &prop(dir, CLIENT, crate::connectors::hubspot::ID_KEY)?,
        json!({"city": "Kraków"}),
    )
    .await?;
    sync_once(dir).await?;
    println!("{CLIENT}: city = {}", prop(dir, CLIENT, "city")?);

    step(4, "A conflict: the project's summary changed on both sides");
    set(
        dir,
        PROJECT,
        "summary",
        "Online shop with pick-up in both shops",
    )?;
    patch(
        &base,
        "deals",
        &prop(dir, PROJECT, crate::connectors::hubspot::ID_KEY)?,
        json!({"description": "Online shop with delivery only"}),
    )
    .await?;
    let r = sync_once(dir).await?;
    println!(
        "{PROJECT}: sync_conflicts = {}",
        prop(dir, PROJECT, "sync_conflicts")?
    );

    step(5, "Where to look");
    println!("the vault:        {}", dir.display());
    println!(
        "the audit log:    git -C \"{}\" log --format='%h %an: %s%n%(trailers:key=Ssot-Source,key=Ssot-Run)'",
        dir.display()
    );
    println!(
        "field history:    ssot-vault --vault \"{}\" log \"{}\"",
        dir.display(),
        CLIENT
    );
    println!(
        "settle the conflict: ssot-vault --vault \"{}\" resolve \"{}\" summary --take vault",
        dir.display(),
        PROJECT
    );
    println!(
        "{} conflict(s) open; {} requests to the sandbox in all",
        r.conflicts,
        sb.request_counts().total
    );
    sb.shutdown().await;
    Ok(())
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
            d.clone()
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("ssot-vault-demo-")
                .tempdir()?;
            t.keep().join("vault")
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(demo(&dir))?;
    Ok(Outcome::Ok)
}
