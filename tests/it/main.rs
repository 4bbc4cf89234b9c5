//! The integration tests: one binary, one module per area. They drive the real `ssot-vault`
//! binary on vaults built in temporary folders.

mod history;
