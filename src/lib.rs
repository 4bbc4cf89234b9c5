//! ssot-vault: an Obsidian vault as the single source of truth of a consultancy, kept in step
//! with its business services. The binary is a thin shell over this library.

pub mod cli;
pub mod config;
pub mod connectors;
pub mod fsutil;
// `gen` is a reserved word since edition 2024, hence the raw identifier. Test data only: behind
// the `gen` feature, out of the product.
#[cfg(feature = "gen")]
pub mod r#gen;
pub mod history;
pub mod lock;
pub mod obsidian;
pub mod par;
pub mod rng;
pub mod sandbox;
pub mod secrets;
pub mod sync;
pub mod team;
pub mod template;
pub mod text;
pub mod vault;
pub mod watch;
pub mod workflow;
