//! `ssot-vault resolve NOTE KEY --take vault|remote [--remote NAME]`: settles a conflict recorded
//! by `sync` in a note's `sync_conflicts`.
//!
//! `--take remote` writes the remote's value into the note; `--take vault` keeps the note's value.
//! Either way the base becomes the remote's value, so the next `sync` sees only the vault side
//! (if any) as changed and pushes it. Works offline.

use crate::connectors::{Binding, canonical};
use crate::sync::apply::{self, CONFLICTS_KEY, parse_conflict_entry};
use crate::sync::state::SyncState;
use crate::vault::editor::Edit;
use crate::vault::schema::Schema;
use crate::vault::value::Value;

use super::{CliError, Ctx, Outcome};

/// Which side wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Take {
    /// Keep the vault's value (pushed next sync).
    Vault,
    /// Write the remote's value into the note.
    Remote,
}

/// Arguments of `resolve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The note (path or name).
    pub note: String,
    /// The conflicting key.
    pub key: String,
    /// Which value to keep.
    #[arg(long, value_enum)]
    pub take: Take,
    /// The remote of the conflict (default: the only one recorded for KEY).
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
}

/// The bindings of a remote without connecting to it.
pub fn bindings_of(
    config: &crate::config::Config,
    schema: &Schema,
    remote: &str,
) -> Result<Vec<Binding>, CliError> {
    match crate::connectors::registry::by_name(remote) {
        Some(service) => (service.bindings)(config, schema).map_err(CliError::new),
        None => Err(CliError::new(format!(
            "no connector for the remote `{remote}`"
        ))),
    }
}

/// Runs `resolve`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let (root, config) = ctx.open()?;
    let _lock = super::lock_vault(&root, "resolve")?;
    let schema = Schema::from_config(&config)?;
    let path = super::find_note(&root, &config, &args.note)?;
    let note = crate::vault::read_note(&path)?;
    let entries: Vec<(String, String, String, String)> = note
        .get(CONFLICTS_KEY)
        .map(|v| {
            v.items()
                .iter()
                .filter_map(|i| i.as_str().and_then(parse_conflict_entry))
                .collect()
        })
        .unwrap_or_default();
    let matching: Vec<&(String, String, String, String)> = entries
        .iter()
        .filter(|(k, _, r, _)| k == &args.key && args.remote.as_ref().is_none_or(|want| want == r))
        .collect();
    let (_, _, remote, remote_shown) = match matching.as_slice() {
        [one] => (*one).clone(),
        [] => {
            return Err(CliError::problem(format!(
                "{}: no recorded conflict on `{}`",
                path.display(),
                args.key
            ))
            .hint("`sync` records conflicts in the note's sync_conflicts property"));
        }
        _ => {
            return Err(CliError::new(format!(
                "`{}` is in conflict with several remotes",
                args.key
            ))
            .hint("name one with --remote NAME"));
        }
    };
    let sid = note
        .get("ssot_id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let ty = note
        .frontmatter
        .as_ref()
        .and_then(|f| f.get_str("type"))
        .unwrap_or_default()
        .to_string();
    let bindings = bindings_of(&config, &schema, &remote)?;
    let binding = bindings.iter().find(|b| b.note_type == ty);
    let spec = binding.and_then(|b| b.field(&args.key));
    let mut st = SyncState::load(&root, &remote)?;
    // The remote's value, canonical: from the state, else from the entry's text.
    let field_ty = schema
        .get(&ty)
        .and_then(|t| t.field(&args.key))
        .map(|f| f.ty.clone());
    let remote_canon: Option<String> = st
        .conflicts
        .get(&sid)
        .and_then(|m| m.get(&args.key))
        .cloned()
        .map(|v| Some(v).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| {
            if remote_shown == "(empty)" {
                return None;
            }
            let v = crate::vault::input::parse_value(&args.key, &remote_shown, field_ty.as_ref())
                .unwrap_or(crate::vault::value::Value::Str(remote_shown.clone()));
            spec.and_then(|s| canonical::from_vault(&s.conv, Some(&v), ""))
        });
    if args.take == Take::Remote
        && apply::unfit_value(&schema, &bindings, &ty, &args.key, remote_canon.as_deref())
    {
        return Err(CliError::problem(format!(
            "{}: {remote}'s value of `{}` ({remote_shown}) would make a note `check` rejects",
            path.display(),
            args.key
        ))
        .hint(format!(
            "keep the vault's with --take vault, or fix the value in {remote} and run `ssot-vault sync`"
        )));
    }
    let mut edits = Vec::new();
    if args.take == Take::Remote {
        let value = match spec {
            Some(s) => canonical::to_vault(&s.conv, remote_canon.as_deref(), field_ty.as_ref()),
            None => crate::vault::value::Value::Str(remote_shown.clone()),
        };
        edits.push(Edit::Set(args.key.clone(), value));
    }
    let open: Vec<String> = note
        .get(CONFLICTS_KEY)
        .map(Value::strings)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| {
            parse_conflict_entry(s).is_some_and(|(k, _, r, _)| r == remote && k != args.key)
        })
        .collect();
    if let Some(e) = apply::conflict_edits(note.get(CONFLICTS_KEY), &remote, &open) {
        edits.push(e);
    }
    apply::edit_note(&path, &edits)?;
    // The base becomes the remote's value: the next sync pushes the vault's value if it differs.
    match st.base.get_mut(&sid) {
        Some(e) => {
            match &remote_canon {
                Some(v) => e.fields.insert(args.key.clone(), v.clone()),
                None => e.fields.remove(&args.key),
            };
        }
        None => eprintln!(
            "warning: no sync state for this note; run `ssot-vault sync` to settle it with {remote}"
        ),
    }
    if let Some(m) = st.conflicts.get_mut(&sid) {
        m.remove(&args.key);
        if m.is_empty() {
            st.conflicts.remove(&sid);
        }
    }
    st.save(&root, &remote)?;
    let rel = path.strip_prefix(&root).unwrap_or(&path);
    println!(
        "{}: `{}` settled with the {} value; `ssot-vault sync` sends it",
        rel.display(),
        args.key,
        match args.take {
            Take::Vault => "vault's",
            Take::Remote => "remote's",
        }
    );
    Ok(Outcome::Ok)
}
