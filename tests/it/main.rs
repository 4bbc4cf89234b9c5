//! The one integration test binary: drives the real `ssot-vault` binary on temporary vaults, and
//! exercises the library on the shared corpora of real Obsidian vaults.

mod common;
mod core_cli;
mod editor_props;
mod fixtures;
