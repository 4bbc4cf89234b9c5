//! The Jira Cloud connector: a project note ↔ a Jira issue (REST v3). [`adf`] converts a note's
//! markdown body section to and from the Atlassian Document Format that v3 takes for descriptions
//! and comments.

pub mod adf;
