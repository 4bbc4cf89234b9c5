//! ssot-vault: an Obsidian vault as the single source of truth of a consultancy, kept in step
//! with its business services. The binary is a thin shell over this library.

pub mod cli;
pub mod config;
pub mod connectors;
pub mod fsutil;
pub mod history;
pub mod sandbox;
pub mod sync;
pub mod template;
pub mod vault;
