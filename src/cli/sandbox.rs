//! `ssot-vault sandbox [--addr 127.0.0.1:PORT] [--state FILE]`: serves the local emulators of the
//! services (HubSpot CRM v3 so far) until Ctrl-C, for demos and for pointing a vault's
//! `base_url`s at.

use super::{CliError, Ctx, Outcome};

/// Arguments of `sandbox`.
pub type Args = crate::sandbox::SandboxArgs;

/// Runs `sandbox`.
pub fn run(_ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(args.run()).map_err(|e| {
        CliError::new(format!("sandbox on {}: {e}", args.addr))
            .hint("pick a free port with --addr 127.0.0.1:PORT")
    })?;
    Ok(Outcome::Ok)
}
