//! `ssot-vault auth set|status|remove`: a remote's token in the OS keyring (see `crate::secrets`).
//!
//! `set REMOTE` reads the token from standard input (one line, trimmed; never from the command
//! line, so it never lands in the shell's history or in `ps`), `status [REMOTE]` says where each
//! configured remote's credential comes from (the environment variable, which wins, or the
//! keyring; never the value), `remove REMOTE` deletes the keyring entry. The entry is
//! `ssot-vault/<keyring_entry>`, `keyring_entry` from `[remotes.<name>]` (default: the remote's
//! name).
//!
//! For Google (`set google`, or `set forms`) standard input holds either the service-account
//! key file's path or the key's JSON itself (all of standard input); either is checked to be a
//! service account's key (`type`, `client_email`, `private_key`, `token_uri`) before it is
//! stored, the JSON on one line, a path made absolute. The private key is never printed.
//!
//! Exit codes: 0 done; 2 error (unknown remote, empty token, no usable keyring, a build without
//! the `keyring` feature for `set` and `remove`).

use std::io::{BufRead, IsTerminal, Read};

use serde::Serialize;

use super::{CliError, Ctx, Outcome};
use crate::config::Config;
use crate::connectors::Secret;
use crate::connectors::registry;
use crate::secrets::{self, CredentialSource, CredentialSpec, KEYRING_SERVICE, Keyring};

/// Arguments of `auth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// The `auth` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Store a remote's token in the OS keyring, read from standard input (never from the
    /// command line).
    Set {
        /// The remote (`hubspot`).
        remote: String,
    },
    /// Show where each configured remote's credential comes from (never the value).
    Status {
        /// Only this remote.
        remote: Option<String>,
    },
    /// Delete a remote's token from the OS keyring.
    Remove {
        /// The remote (`hubspot`).
        remote: String,
    },
}

/// `google` names the Google service account's key, which the Forms connector reads (its
/// keyring entry is `google` by default).
const GOOGLE: &str = "google";

fn spec_of(config: &Config, remote: &str) -> Result<(CredentialSpec, bool), CliError> {
    let service = if remote == GOOGLE {
        registry::by_name(crate::connectors::forms::NAME)
    } else {
        registry::by_name(remote)
    };
    let Some(service) = service else {
        return Err(
            CliError::new(format!("unknown remote `{remote}`")).hint(format!(
                "known remotes: {} (a `[remotes.<name>]` section of ssot-vault.toml with a connector)",
                registry::names().join(", ")
            )),
        );
    };
    let settings = (service.settings)(config).map_err(|e| CliError::service_config(service, e))?;
    Ok((settings.credentials, settings.enabled))
}

/// Reads the token: hidden at a terminal, else one line of standard input.
fn read_token(remote: &str) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{remote} token (input hidden), then Enter: ");
        #[cfg(feature = "keyring")]
        {
            return rpassword::read_password()
                .map_err(|e| CliError::new(format!("cannot read the token: {e}")));
        }
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::new(format!("cannot read the token from standard input: {e}")))?;
    Ok(line)
}

/// Reads a Google service-account key from standard input: the key file's path, or its JSON.
fn read_key(remote: &str) -> Result<String, CliError> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!(
            "{remote}: the service-account key file's path, or its JSON, then Enter and Ctrl-D:"
        );
    }
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .map_err(|e| CliError::new(format!("cannot read the key from standard input: {e}")))?;
    Ok(text)
}

/// What `auth set google` stores: the key's JSON on one line, or the key file's absolute path,
/// once checked to be a service account's key; and its `client_email`.
fn google_credential(remote: &str, given: &str) -> Result<(String, String), CliError> {
    use crate::connectors::google::ServiceAccountKey;
    let hint = "give the JSON key of a service account (Google Cloud console → IAM → Service accounts → Keys → Add key → JSON), or its file's path";
    let bad = |e: &dyn std::fmt::Display| CliError::new(format!("{remote}: {e}")).hint(hint);
    if given.starts_with('{') {
        let key =
            ServiceAccountKey::parse(given, "the JSON on standard input").map_err(|e| bad(&e))?;
        let v: serde_json::Value = serde_json::from_str(given).map_err(|e| bad(&e))?;
        if v["token_uri"].as_str().is_none_or(|s| s.trim().is_empty()) {
            return Err(bad(
                &"the JSON on standard input is not a usable Google key file: `token_uri` is missing",
            ));
        }
        Ok((v.to_string(), key.client_email))
    } else {
        if given.contains(['\n', '\r']) {
            return Err(bad(&"standard input holds neither a JSON key nor one path"));
        }
        let path = std::path::absolute(given).map_err(|e| bad(&e))?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| bad(&format!("cannot read the key file {}: {e}", path.display())))?;
        let origin = path.display().to_string();
        let key = ServiceAccountKey::parse(&text, &origin).map_err(|e| bad(&e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&e))?;
        if v["token_uri"].as_str().is_none_or(|s| s.trim().is_empty()) {
            return Err(bad(&format!(
                "{origin} is not a usable Google key file: `token_uri` is missing"
            )));
        }
        Ok((origin, key.client_email))
    }
}

fn set(config: &Config, remote: &str) -> Result<Outcome, CliError> {
    let (spec, _) = spec_of(config, remote)?;
    if !Keyring::built() {
        return Err(CliError::keyring_not_built(&spec));
    }
    if remote == GOOGLE || remote == crate::connectors::forms::NAME {
        let given = read_key(remote)?;
        let given = given.trim();
        if given.is_empty() {
            return Err(
                CliError::new(format!("{remote}: no key on standard input")).hint(format!(
                    "pipe in the key file or its path, e.g. `ssot-vault auth set {remote} < key.json`"
                )),
            );
        }
        let (stored, email) = google_credential(remote, given)?;
        let what = if stored.starts_with('{') {
            "key"
        } else {
            "key file's path"
        };
        let kr = Keyring::native();
        kr.set(&spec.keyring_entry, &Secret::new(stored))
            .map_err(|e| CliError::keyring(&spec, e))?;
        println!(
            "{remote}: the service account {email}'s {what} stored in {}, backed by {}",
            CredentialSource::Keyring(spec.keyring_entry.clone()),
            Keyring::describe()
        );
        if Secret::from_env(&spec.env_var).is_some() {
            println!(
                "note: {} is set in this environment and is used before the keyring",
                spec.env_var
            );
        }
        return Ok(Outcome::Ok);
    }
    let token = read_token(remote)?;
    let token = token.trim();
    if token.is_empty() {
        return Err(
            CliError::new(format!("{remote}: no token on standard input")).hint(format!(
                "pipe it in, e.g. `ssot-vault auth set {remote} < token.txt`, or paste it at the prompt"
            )),
        );
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CliError::new(format!(
            "{remote}: the token contains spaces or control characters"
        ))
        .hint("give the token alone, on one line"));
    }
    let kr = Keyring::native();
    kr.set(&spec.keyring_entry, &Secret::new(token))
        .map_err(|e| CliError::keyring(&spec, e))?;
    println!(
        "{remote}: token stored in {}, backed by {}",
        CredentialSource::Keyring(spec.keyring_entry.clone()),
        Keyring::describe()
    );
    if Secret::from_env(&spec.env_var).is_some() {
        println!(
            "note: {} is set in this environment and is used before the keyring",
            spec.env_var
        );
    }
    Ok(Outcome::Ok)
}

fn remove(config: &Config, remote: &str) -> Result<Outcome, CliError> {
    let (spec, _) = spec_of(config, remote)?;
    if !Keyring::built() {
        return Err(CliError::keyring_not_built(&spec));
    }
    let kr = Keyring::native();
    let removed = kr
        .remove(&spec.keyring_entry)
        .map_err(|e| CliError::keyring(&spec, e))?;
    let entry = CredentialSource::Keyring(spec.keyring_entry.clone());
    if removed {
        println!("{remote}: token removed from {entry}");
    } else {
        println!("{remote}: no token in {entry}: nothing to remove");
    }
    Ok(Outcome::Ok)
}

/// One remote in `auth status --json`.
#[derive(Debug, Serialize)]
struct StatusJson {
    remote: String,
    enabled: bool,
    /// `env`, `keyring` or `missing`.
    source: &'static str,
    env_var: String,
    keyring_service: &'static str,
    keyring_entry: String,
    /// The keyring also holds a token, unused because the variable wins.
    keyring_shadowed: bool,
    keyring_problem: Option<String>,
}

fn status(ctx: &Ctx, config: &Config, only: Option<&str>) -> Result<Outcome, CliError> {
    let names: Vec<&str> = match only {
        Some(r) => vec![r],
        None => registry::names()
            .into_iter()
            .filter(|n| config.remotes.contains_key(*n))
            .collect(),
    };
    let mut out = Vec::new();
    for name in names {
        let (spec, enabled) = spec_of(config, name)?;
        let lookup = secrets::lookup(&spec);
        let mut problem = lookup.keyring_problem.clone();
        let (source, shadowed) = match &lookup.found {
            Some((_, CredentialSource::Env(_))) => {
                // Say so when the keyring holds a token the variable hides.
                let shadowed = match Keyring::native().get(&spec.keyring_entry) {
                    Ok(found) => found.is_some(),
                    Err(secrets::KeyringError::NotBuilt) => false,
                    Err(e) => {
                        problem = Some(e.to_string());
                        false
                    }
                };
                ("env", shadowed)
            }
            Some((_, CredentialSource::Keyring(_))) => ("keyring", false),
            None => ("missing", false),
        };
        if !ctx.json {
            let state = if enabled { "" } else { " (disabled)" };
            match &lookup.found {
                Some((_, src)) => println!("{name}{state}: credentials from {src} (***)"),
                None => println!(
                    "{name}{state}: no credentials: set the environment variable {}, or run `ssot-vault auth set {name}`",
                    spec.env_var
                ),
            }
            if shadowed {
                println!(
                    "  note: {} also holds a token; {} wins",
                    CredentialSource::Keyring(spec.keyring_entry.clone()),
                    spec.env_var
                );
            }
            if let Some(p) = &problem {
                println!(
                    "  note: keyring entry {KEYRING_SERVICE}/{} not read: {p}",
                    spec.keyring_entry
                );
            }
        }
        out.push(StatusJson {
            remote: name.to_string(),
            enabled,
            source,
            env_var: spec.env_var.clone(),
            keyring_service: KEYRING_SERVICE,
            keyring_entry: spec.keyring_entry.clone(),
            keyring_shadowed: shadowed,
            keyring_problem: problem,
        });
    }
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if out.is_empty() {
        println!("no remote is configured in ssot-vault.toml");
    }
    Ok(Outcome::Ok)
}

/// Runs `auth`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    super::sync::init_tracing();
    let (_root, config) = ctx.open()?;
    match &args.action {
        Action::Set { remote } => set(&config, remote),
        Action::Status { remote } => status(ctx, &config, remote.as_deref()),
        Action::Remove { remote } => remove(&config, remote),
    }
}
