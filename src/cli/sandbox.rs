//! `ssot-vault sandbox [--addr 127.0.0.1:PORT] [--state FILE] [--google-key-file PATH]`: serves
//! the local emulators of the services (HubSpot, Jira, Trello, Google sign-in and Sheets) until
//! Ctrl-C, for demos and for pointing a vault's `base_url`s at; `--google-key-file` writes the
//! sandbox service account's key file.

use super::{CliError, Ctx, Outcome};

/// Arguments of `sandbox`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The server's options.
    #[command(flatten)]
    pub sandbox: crate::sandbox::SandboxArgs,
    /// Write the sandbox service account's key file here (for `GOOGLE_APPLICATION_CREDENTIALS`;
    /// its `token_uri` points at this sandbox). The key is the sandbox's own, not a secret.
    #[arg(long, value_name = "PATH")]
    pub google_key_file: Option<std::path::PathBuf>,
}

/// Runs `sandbox`.
pub fn run(_ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let server = crate::sandbox::serve_forever(
        args.sandbox.addr,
        args.sandbox.config(),
        args.google_key_file.as_deref(),
    );
    rt.block_on(server).map_err(|e| {
        CliError::new(format!("sandbox on {}: {e}", args.sandbox.addr))
            .hint("pick a free port with --addr 127.0.0.1:PORT")
    })?;
    Ok(Outcome::Ok)
}
