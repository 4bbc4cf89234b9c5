//! The one integration test binary: drives the real `ssot-vault` binary on temporary vaults,
//! exercises the library on the shared corpora of real Obsidian vaults, and talks real HTTP to
//! the in-process service sandbox.

mod auth;
mod common;
mod core_cli;
mod editor_props;
mod fixtures;
mod history;
mod sandbox_hubspot;
mod sync_hubspot;
mod workflow;
