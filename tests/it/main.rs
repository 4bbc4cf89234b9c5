//! The one integration test binary: drives the real `ssot-vault` binary on temporary vaults,
//! exercises the library on the corpora of real Obsidian vaults (`tests/corpora`), and talks
//! real HTTP to the in-process service sandbox.

mod auth;
mod claims;
mod cli_errors;
mod common;
mod conformance;
mod core_cli;
mod editor_props;
mod fixtures;
mod forms_helpdesk;
mod forms_sync;
mod harden_assoc;
mod harden_commands;
mod harden_hostile;
mod harden_lock;
mod harden_sync;
mod history;
mod hs_env;
mod jira_adf;
mod jira_description;
mod jira_settle;
mod jira_sync;
mod obsidian_vaults;
mod process;
mod process_archive;
mod process_crash;
mod process_env;
mod process_gaps;
mod sandbox_forms;
mod sandbox_google;
mod sandbox_hubspot;
mod sandbox_jira;
mod sandbox_sheets;
mod sandbox_trello;
mod sheets_sync;
mod sync_errors;
mod sync_hubspot;
mod team;
mod template_obsidian;
mod trello_helpdesk;
mod trello_process;
mod trello_sync;
mod trello_writes;
mod watch;
mod workflow;
