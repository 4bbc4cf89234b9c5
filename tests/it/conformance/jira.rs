//! Jira runs the conformance suite: what the suite needs to know of it, and the one line that
//! runs every case against its emulator.
//!
//! Jira syncs project notes only, so the suite's notes are three projects: the template's (its
//! status and budget), and two written here (the text fields edited on both sides, mapped to
//! custom fields the first sync creates: `currency` → "Currency" (`customfield_10053`),
//! `language` → "Language" (`customfield_10054`)). A project's `client` travels as the name in
//! the seeded "Client" text field, so an issue made in Jira with a client makes a valid note.

use std::path::Path;

use ssot_vault::sandbox::SandboxConfig;
use ssot_vault::sandbox::jira::{DEFAULT_EMAIL, DEFAULT_TOKEN, JiraConfig, JiraRateLimit};

use super::harness::{Field, Made, Service};
use crate::hs_env::{PROJECT, git, quiet};

/// The project whose text fields are edited on both sides.
pub const SHOP_APP: &str = "Projects/Kawiarnia loyalty app.md";
/// Another project (the one deleted in the vault).
pub const ROUTES: &str = "Projects/Bakery delivery routes.md";

const SHOP_APP_TEXT: &str = "---\ntype: project\nssot_id: 01M7W86HFSWM03FC030X7GYK2A\ncreated: 2026-11-20\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: intake\nsummary: Loyalty app for the regulars\nlanguage: pl\ncurrency: PLN\nestimate_hours: 120\nstart: 2027-01-10\n---\n## Scope\n\n- Stamp card in the phone\n";
const ROUTES_TEXT: &str = "---\ntype: project\nssot_id: 01M7W86HFSWM03FC030X7GYK2B\ncreated: 2026-11-20\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: intake\nlanguage: en\ncurrency: EUR\nend: 2027-06-30\n---\n## Scope\n\n- Delivery rounds planned each morning\n";

/// Jira: project notes are issues of the seeded project `SSOT`.
pub struct JiraService;

/// Points the vault's `[remotes.jira]` at the sandbox with fast retries, writes the two extra
/// projects and commits. Runs do not settle (`settle_max_seconds = 0`: a run that wrote would
/// wait for the minute of its writes to end) unless `extra` sets `settle_max_seconds`; the
/// settle read is tested on its own (`jira_settle.rs`), moving Jira's clock.
pub fn configure_jira(v: &Path, base: &str, extra: &str) {
    enable_jira(v, base, extra);
    std::fs::write(v.join(SHOP_APP), SHOP_APP_TEXT).expect("write");
    std::fs::write(v.join(ROUTES), ROUTES_TEXT).expect("write");
    git(v, &["add", "-A"]);
    git(v, &["commit", "-qm", "Enable Jira"]);
}

/// Writes the vault's `[remotes.jira]` section of [`configure_jira`] (project `SSOT`, fast
/// retries, no settle unless `extra` sets it, the `Client`, `Currency` and `Language` fields),
/// with no note written and no commit.
pub fn enable_jira(v: &Path, base: &str, extra: &str) {
    let settle = if extra.contains("settle_max_seconds") {
        ""
    } else {
        "settle_max_seconds = 0\n"
    };
    let p = v.join("ssot-vault.toml");
    let text = std::fs::read_to_string(&p).expect("config");
    let start = text.find("[remotes.jira]").expect("jira section");
    let end = start
        + text[start..]
            .find("[remotes.trello]")
            .expect("trello section");
    let section = format!(
        "[remotes.jira]\nenabled = true\nbase_url = \"{base}\"\nproject_key = \"SSOT\"\nretry_base_ms = 20\nretry_max_ms = 200\nmax_retries = 12\ntimeout_seconds = 1.0\n{settle}{extra}\n[remotes.jira.fields.project]\nclient = \"Client\"\ncurrency = \"Currency\"\nlanguage = \"Language\"\n\n"
    );
    std::fs::write(&p, format!("{}{section}{}", &text[..start], &text[end..]))
        .expect("write config");
}

impl Service for JiraService {
    const NAME: &'static str = "jira";
    const ID_KEY: &'static str = "jira_key";
    const CREDENTIALS: &'static [(&'static str, &'static str)] = &[
        ("JIRA_EMAIL", DEFAULT_EMAIL),
        ("JIRA_API_TOKEN", DEFAULT_TOKEN),
    ];
    const HEALTHCHECK: &'static str = "Jira at";
    const KINDS: &'static [&'static str] = &["issues"];
    const PULL_ENDPOINT: &'static str = "POST /rest/api/3/search/jql";
    const PUSH_ENDPOINT: &'static str = "/rest/api/3/issue/bulk";
    const NO_OVERLAP: &'static str = "overlap_minutes = 0";

    fn quiet() -> SandboxConfig {
        quiet()
    }

    fn limited() -> SandboxConfig {
        SandboxConfig {
            jira: JiraConfig {
                rate_limit: Some(JiraRateLimit {
                    burst_per_sec: 10,
                    issue_writes_per_sec: 5,
                }),
                ..JiraConfig::default()
            },
            ..quiet()
        }
    }

    fn configure(v: &Path, base: &str, extra: &str) {
        configure_jira(v, base, extra);
    }

    fn pull_prefix(_kind: &str) -> String {
        "/rest/api/3/search/jql".into()
    }

    fn initial() -> &'static [(&'static str, usize)] {
        &[("issues", 3)]
    }

    fn synced() -> &'static [(&'static str, &'static str)] {
        &[
            (PROJECT, "issues"),
            (SHOP_APP, "issues"),
            (ROUTES, "issues"),
        ]
    }

    fn field() -> Field {
        Field {
            note: SHOP_APP,
            kind: "issues",
            key: "language",
            remote: "customfield_10054",
            value: "pl",
        }
    }

    fn pushed() -> Field {
        Field {
            note: SHOP_APP,
            kind: "issues",
            key: "currency",
            remote: "customfield_10053",
            value: "PLN",
        }
    }

    fn breakable() -> Field {
        Field {
            note: SHOP_APP,
            kind: "issues",
            key: "summary",
            remote: "",
            value: "Loyalty app for the regulars",
        }
    }

    fn other() -> Field {
        Field {
            note: ROUTES,
            kind: "issues",
            key: "language",
            remote: "customfield_10054",
            value: "en",
        }
    }

    fn other_pushed() -> Field {
        Field {
            note: ROUTES,
            kind: "issues",
            key: "currency",
            remote: "customfield_10053",
            value: "EUR",
        }
    }

    fn number() -> Field {
        Field {
            note: PROJECT,
            kind: "issues",
            key: "budget",
            remote: "customfield_10050",
            value: "45000",
        }
    }

    fn status() -> Field {
        Field {
            note: PROJECT,
            kind: "issues",
            key: "status",
            remote: "status",
            value: "matching",
        }
    }

    fn broken_note() -> (&'static str, &'static str, &'static str) {
        (
            "Projects/Broken.md",
            "---\ntype: project\nssot_id: 01M7W3N2NP9CPP5XT6PJ2EC99Z\nsummary: [unclosed\nstatus: intake\n---\nBody.\n",
            "Projects/Broken.md:5:7: invalid YAML",
        )
    }

    fn archived_note() -> &'static str {
        PROJECT
    }

    fn local_edit() -> (&'static str, &'static str, &'static str) {
        ("start", "2027-01-10", "2027-01-17")
    }

    fn other_edit() -> (&'static str, &'static str, &'static str) {
        ("end", "2027-06-30", "2027-07-31")
    }

    fn made() -> Made {
        Made {
            kind: "issues",
            fields: &[
                ("summary", "Bakery kiosk app"),
                ("issuetype", "Epic"),
                ("customfield_10051", "Piekarnia Złoty Kłos"),
            ],
            note: "Projects/Bakery kiosk app.md",
            contains: "\nstatus: intake\npriority: medium\nclient: \"[[Piekarnia Złoty Kłos]]\"\njira_key: ",
        }
    }

    fn bulk_note(i: usize, ssot_id: &str) -> (String, String) {
        (
            format!("Projects/Project {i:02}.md"),
            format!(
                "---\ntype: project\nssot_id: {ssot_id}\ncreated: 2026-11-20\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: intake\nlanguage: Town {i}\n---\n"
            ),
        )
    }
}

conformance!(JiraService);
