//! Google Forms runs the part of the conformance suite that fits an append-only, read-only
//! source (`conformance!(append_only FormsService)`): responses to the sandbox's intake form
//! become intake notes. The key file the binary signs in with names the sandbox's token
//! endpoint, so it is written per sandbox ([`Service::credentials`]).

use std::path::Path;

use ssot_vault::sandbox::forms::INTAKE_FORM_ID;
use ssot_vault::sandbox::{SandboxConfig, google};

use super::harness::{Field, Made, Service};
use crate::hs_env::{Env, git};

/// Points the vault's `[remotes.forms]` (the template's last section) at the sandbox, and
/// commits.
pub fn configure(v: &Path, base: &str, extra: &str) {
    enable(v, base, extra);
    git(v, &["add", "-A"]);
    git(v, &["commit", "-qm", "Enable Google Forms"]);
}

/// Writes the vault's `[remotes.forms]` section of [`configure`] (the intake form, fast
/// retries, `extra` settings); no commit.
pub fn enable(v: &Path, base: &str, extra: &str) {
    let p = v.join("ssot-vault.toml");
    let text = std::fs::read_to_string(&p).expect("config");
    let start = text.find("[remotes.forms]").expect("forms section");
    let section = format!(
        "[remotes.forms]\nenabled = true\nbase_url = \"{base}\"\nintake_form = \"{INTAKE_FORM_ID}\"\nretry_base_ms = 20\nretry_max_ms = 200\nmax_retries = 12\ntimeout_seconds = 2.0\n{extra}\n"
    );
    std::fs::write(&p, format!("{}{section}", &text[..start])).expect("write config");
}

/// A field the append-only cases never use (the service has no note of the `init` vault).
const UNUSED: Field = Field {
    note: "Intake/none.md",
    kind: "intake",
    key: "need",
    remote: "What do you need?",
    value: "",
};

/// Google Forms: the intake form's responses are intake notes.
pub struct FormsService;

impl Service for FormsService {
    const NAME: &'static str = "forms";
    const ID_KEY: &'static str = "form_response_id";
    const CREDENTIALS: &'static [(&'static str, &'static str)] = &[];
    const HEALTHCHECK: &'static str = "Google Forms at ";
    const KINDS: &'static [&'static str] = &["intake"];
    const PULL_ENDPOINT: &'static str = "GET /v1/forms/{formId}/responses";
    const PUSH_ENDPOINT: &'static str = "/v1/forms/{formId}:";
    const NO_OVERLAP: &'static str = "";

    fn credentials(env: &Env) -> Vec<(String, String)> {
        let key = env._tmp.path().join("google-key.json");
        if !key.exists() {
            let json = google::sandbox_key_file(&format!("{}/token", env.sb.base_url()));
            std::fs::write(&key, json.to_string()).expect("key file");
        }
        vec![(
            "GOOGLE_APPLICATION_CREDENTIALS".into(),
            key.to_string_lossy().into_owned(),
        )]
    }

    fn quiet() -> SandboxConfig {
        let mut cfg = SandboxConfig::default();
        cfg.forms.quota = None;
        cfg
    }

    fn limited() -> SandboxConfig {
        SandboxConfig::default()
    }

    fn configure(v: &Path, base: &str, extra: &str) {
        configure(v, base, extra);
    }

    fn pull_prefix(_kind: &str) -> String {
        "/v1/forms".into()
    }

    fn initial() -> &'static [(&'static str, usize)] {
        &[("intake", 0)]
    }

    fn synced() -> &'static [(&'static str, &'static str)] {
        &[]
    }

    fn field() -> Field {
        UNUSED
    }

    fn pushed() -> Field {
        UNUSED
    }

    fn breakable() -> Field {
        UNUSED
    }

    fn other() -> Field {
        UNUSED
    }

    fn other_pushed() -> Field {
        UNUSED
    }

    fn number() -> Field {
        UNUSED
    }

    fn status() -> Field {
        UNUSED
    }

    fn broken_note() -> (&'static str, &'static str, &'static str) {
        ("Intake/none.md", "", "")
    }

    fn archived_note() -> &'static str {
        UNUSED.note
    }

    fn local_edit() -> (&'static str, &'static str, &'static str) {
        ("need", "", "")
    }

    fn other_edit() -> (&'static str, &'static str, &'static str) {
        ("need", "", "")
    }

    fn made() -> Made {
        Made {
            kind: "intake",
            fields: &[
                ("Contact name", "Ewa Zielińska"),
                ("Email", "ewa@example.com"),
            ],
            note: "Intake/Intake Ewa Zielińska.md",
            contains: "\ncontact_name: Ewa Zielińska\nemail: ewa@example.com\n",
        }
    }

    fn bulk_note(_i: usize, _ssot_id: &str) -> (String, String) {
        (String::new(), String::new())
    }
}

conformance!(append_only FormsService);
