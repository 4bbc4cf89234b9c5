//! `[remotes.forms]` in `ssot-vault.toml`, typed, with every default compiled in.
//!
//! ```toml
//! [remotes.forms]
//! enabled = true
//! base_url = "https://forms.googleapis.com"
//! intake_form = "1FAIpQL…"                      # the intake form's id (`form_id` is read too)
//! credentials_env = "GOOGLE_APPLICATION_CREDENTIALS"  # the service-account key file's path,
//! keyring_entry = "google"                      # else the key (or its path) in the OS keyring
//! page_size = 0                                 # responses a page asks for (0: Google's most)
//!
//! [remotes.forms.questions]                     # question title = intake field ("" unmaps)
//! "What do you need?" = "need"
//!
//! # the helpdesk form (optional): question title = project | party | message | author
//! # helpdesk_form = "1FAIpQL…"
//! [remotes.forms.helpdesk_questions]
//! "Project" = "project"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::{RemoteCommon, RemoteSection, RemoteShared};

/// The name of this remote in `ssot-vault.toml` and in `Ssot-Source`.
pub const NAME: &str = "forms";

/// The frontmatter key holding an intake note's response id (its identity).
pub const ID_KEY: &str = "form_response_id";

/// The note type the intake form fills.
pub const NOTE_TYPE: &str = "intake";

/// The template's intake form: question title → intake field (as the sandbox seeds it).
pub const DEFAULT_QUESTIONS: [(&str, &str); 10] = [
    ("Contact name", "contact_name"),
    ("Email", "email"),
    ("Phone", "phone"),
    ("Company", "company"),
    ("Tax ID", "tax_id"),
    ("What do you need?", "need"),
    ("Skills required", "skills_required"),
    ("Budget", "budget"),
    ("Deadline", "deadline"),
    ("Language", "language"),
];

/// The roles a helpdesk form's question may fill: the project (its name or `ssot_id`), who
/// writes (`client` or `expert`), the message, and (optional) the writer's name.
pub const HELPDESK_ROLES: [&str; 4] = ["project", "party", "message", "author"];

/// The helpdesk form's questions by default (as the sandbox seeds it): title → role.
pub const DEFAULT_HELPDESK_QUESTIONS: [(&str, &str); 3] = [
    ("Project", "project"),
    ("Who is writing?", "party"),
    ("Message", "message"),
];

/// `[remotes.forms]`: the keys every remote shares ([`RemoteShared`]) and the form's own.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FormsConfig {
    /// The keys every remote shares.
    #[serde(skip)]
    pub shared: RemoteShared,
    /// API root (`https://forms.googleapis.com`).
    pub base_url: String,
    /// The intake form's id (the long part of its edit URL between `/d/` and `/edit`).
    #[serde(alias = "form_id")]
    pub intake_form: String,
    /// Environment variable naming the service-account key file (consulted first).
    pub credentials_env: String,
    /// The OS keyring entry holding the key file's contents or path.
    pub keyring_entry: String,
    /// Responses one page of `responses.list` asks for (0: unset, Google's most).
    pub page_size: usize,
    /// Question title → intake field, over [`DEFAULT_QUESTIONS`] (`""` unmaps a title).
    pub questions: BTreeMap<String, String>,
    /// The helpdesk form's id (empty: no helpdesk form).
    pub helpdesk_form: String,
    /// Helpdesk question title → role ([`HELPDESK_ROLES`]), over
    /// [`DEFAULT_HELPDESK_QUESTIONS`] (`""` unmaps a title).
    pub helpdesk_questions: BTreeMap<String, String>,
}

impl Default for FormsConfig {
    fn default() -> Self {
        FormsConfig {
            shared: RemoteShared::defaults(NAME),
            base_url: "https://forms.googleapis.com".into(),
            intake_form: String::new(),
            credentials_env: crate::connectors::google::CREDENTIALS_ENV.into(),
            keyring_entry: "google".into(),
            page_size: 0,
            questions: BTreeMap::new(),
            helpdesk_form: String::new(),
            helpdesk_questions: BTreeMap::new(),
        }
    }
}

impl RemoteSection for FormsConfig {
    const NAME: &'static str = NAME;
    fn shared_mut(&mut self) -> &mut RemoteShared {
        &mut self.shared
    }
    fn check(&self) -> Result<(), String> {
        crate::secrets::check_entry_name(&self.keyring_entry)?;
        if self.credentials_env.trim().is_empty() {
            return Err("credentials_env must not be empty".into());
        }
        if self.page_size > 5000 {
            return Err("page_size must be between 0 and 5000".into());
        }
        for (key, id) in [
            ("intake_form", &self.intake_form),
            ("helpdesk_form", &self.helpdesk_form),
        ] {
            if id.contains(['/', '?', '#', ' ']) {
                return Err(format!(
                    "{key} `{id}` is not a form id (the part of the edit URL between /d/ and /edit)"
                ));
            }
        }
        for (title, role) in &self.helpdesk_questions {
            let role = role.trim();
            if !role.is_empty() && !HELPDESK_ROLES.contains(&role) {
                return Err(format!(
                    "[remotes.forms.helpdesk_questions] \"{title}\" = \"{role}\": the role is one of {}",
                    HELPDESK_ROLES.join(", ")
                ));
            }
        }
        RemoteShared::check_base_url(&self.base_url)
    }
}

impl FormsConfig {
    /// The question table: title → intake field, the defaults overlaid by `questions`.
    pub fn question_table(&self) -> BTreeMap<String, String> {
        let mut t: BTreeMap<String, String> = DEFAULT_QUESTIONS
            .iter()
            .map(|(q, f)| ((*q).to_string(), (*f).to_string()))
            .collect();
        for (q, f) in &self.questions {
            t.insert(q.clone(), f.trim().to_string());
        }
        t.retain(|_, f| !f.is_empty());
        t
    }

    /// The helpdesk question table: title → role, the defaults overlaid by
    /// `helpdesk_questions`.
    pub fn helpdesk_table(&self) -> BTreeMap<String, String> {
        let mut t: BTreeMap<String, String> = DEFAULT_HELPDESK_QUESTIONS
            .iter()
            .map(|(q, r)| ((*q).to_string(), (*r).to_string()))
            .collect();
        for (q, r) in &self.helpdesk_questions {
            t.insert(q.clone(), r.trim().to_string());
        }
        t.retain(|_, r| !r.is_empty());
        t
    }

    /// Where the key file is looked up (see `crate::secrets`).
    pub fn credential_spec(&self) -> crate::secrets::CredentialSpec {
        crate::secrets::CredentialSpec {
            remote: NAME.into(),
            env_var: self.credentials_env.clone(),
            keyring_entry: self.keyring_entry.clone(),
        }
    }

    /// The settings the engine reads (a deleted note never archives a response: the form is
    /// never written).
    pub fn common(&self) -> RemoteCommon {
        RemoteCommon {
            archive_deleted_notes: false,
            ..self.shared.common.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_section_parses() {
        let c =
            crate::config::Config::parse(include_str!("../../../vault-template/ssot-vault.toml"))
                .unwrap();
        let f = FormsConfig::read(&c).unwrap();
        assert!(!f.shared.common.enabled);
        assert_eq!(f.base_url, "https://forms.googleapis.com");
        assert_eq!(
            f.credential_spec().env_var,
            "GOOGLE_APPLICATION_CREDENTIALS"
        );
        assert_eq!(f.question_table()["What do you need?"], "need");
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        for bad in [
            "enabeld = true",
            "page_size = 5001",
            "base_url = \"ftp://x\"",
            "intake_form = \"https://docs.google.com/forms/d/x/edit\"",
            "helpdesk_form = \"a b\"",
            "[helpdesk_questions]\n\"Project\" = \"projekt\"",
        ] {
            let t: toml::Table = toml::from_str(bad).unwrap();
            assert!(FormsConfig::read_table(&t).is_err(), "{bad}");
        }
        let t: toml::Table = toml::from_str(
            "form_id = \"abc\"\n[questions]\n\"Phone\" = \"\"\n\"Firma\" = \"company\"",
        )
        .unwrap();
        let c = FormsConfig::read_table(&t).unwrap();
        assert_eq!(c.intake_form, "abc");
        let q = c.question_table();
        assert!(!q.contains_key("Phone"));
        assert_eq!(q["Firma"], "company");
        let t: toml::Table = toml::from_str(
            "helpdesk_form = \"h1\"\n[helpdesk_questions]\n\"Project\" = \"\"\n\"Projekt\" = \"project\"",
        )
        .unwrap();
        let c = FormsConfig::read_table(&t).unwrap();
        assert_eq!(c.helpdesk_form, "h1");
        let h = c.helpdesk_table();
        assert!(!h.contains_key("Project"));
        assert_eq!(h["Projekt"], "project");
        assert_eq!(h["Message"], "message");
    }
}
