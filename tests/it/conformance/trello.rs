//! Trello runs the conformance suite: projects are cards on the sandbox's `Projects` board (the
//! vault made by `init` has one project; two more are written and committed here, as the suite
//! needs three notes of one kind), and the one line that runs every case against its emulator.

use std::path::Path;
use std::time::Duration;

use ssot_vault::sandbox::person::Person;
use ssot_vault::sandbox::{DEFAULT_TRELLO_KEY, DEFAULT_TRELLO_TOKEN, SandboxConfig};

use super::harness::{Field, Harness, Made, Service};
use crate::common::write;
use crate::hs_env::{Env, PROJECT, git, quiet};

/// A second project: the note of [`Service::field`].
pub const LOYALTY: &str = "Projects/Bakery loyalty app.md";
/// [`LOYALTY`] made active in the vault, every guard of `active` met (its expert accepted, its
/// metrics set, its credentialing ticked), and committed.
pub fn make_loyalty_active(v: &Path) {
    let text = std::fs::read_to_string(v.join(LOYALTY)).expect("read");
    let note = text
        .replace(
            "status: matching\n",
            "status: active\nexpert: \"[[Anna Nowak]]\"\nexpert_status: accepted\nbudget: 12000\nestimate_hours: 80\n",
        )
        .replace("blocked_reason: Waiting for the brief\n", "")
        + "\n## Credentialing\n\n- [x] NDA signed\n- [x] Contract signed\n";
    std::fs::write(v.join(LOYALTY), note).expect("write");
    git(v, &["commit", "-qam", "Active"]);
}

/// A third project: the note of [`Service::other`].
pub const MENU: &str = "Projects/Café menu screens.md";

const LOYALTY_NOTE: &str = "---\ntype: project\nssot_id: 01M7W86HFSWM03FC030X7GYK2A\ncreated: 2026-11-21\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: matching\nsummary: Loyalty app for regulars\nblocked_reason: Waiting for the brief\ndeadline: 2027-01-31\npriority: medium\n---\n## Notes\n\nStamps for every tenth loaf.\n";
const MENU_NOTE: &str = "---\ntype: project\nssot_id: 01M7W86HFSWM03FC030X7GYK3B\ncreated: 2026-11-22\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: matching\nsummary: Menu screens for the cafés\nblocked_reason: Waiting for photos\npriority: low\n---\n";

/// One list per status before `accepted` (the default table puts `intake`, `matching` and
/// `proposed` in one `Intake` list, and the engine names a refused move's status by the table's
/// first match: `intake`).
const LISTS: &str = "[remotes.trello.lists]\nintake = \"Intake\"\nmatching = \"Matching\"\nproposed = \"Proposed\"\n";

/// Points the vault's `[remotes.trello]` at the sandbox (board `Projects`), with fast retries
/// and `extra` settings, writes the two more projects and commits.
pub fn configure(v: &Path, base: &str, extra: &str) {
    enable(v, base, &format!("{extra}\n{LISTS}"));
    write(v, LOYALTY, LOYALTY_NOTE);
    write(v, MENU, MENU_NOTE);
    git(v, &["add", "-A"]);
    git(v, &["commit", "-qm", "Enable Trello"]);
}

/// Writes the vault's `[remotes.trello]` section pointed at the sandbox (board `Projects`, the
/// default list table), with fast retries and `extra` settings; no note written, no commit.
pub fn enable(v: &Path, base: &str, extra: &str) {
    let p = v.join("ssot-vault.toml");
    let text = std::fs::read_to_string(&p).expect("config");
    let start = text.find("[remotes.trello]").expect("trello section");
    let end = start
        + text[start..]
            .find("[remotes.sheets]")
            .expect("sheets section");
    let section = format!(
        "[remotes.trello]\nenabled = true\nbase_url = \"{base}/1\"\nboard = \"Projects\"\nretry_base_ms = 20\nretry_max_ms = 200\nmax_retries = 12\ntimeout_seconds = 1.0\n{extra}\n"
    );
    std::fs::write(&p, format!("{}{section}{}", &text[..start], &text[end..]))
        .expect("write config");
}

/// Trello's emulator with its real limits (100 requests per 10 s per token, 300 per key).
pub fn limited() -> SandboxConfig {
    SandboxConfig {
        trello_rate_limit: Some((100, 300, Duration::from_secs(10))),
        ..quiet()
    }
}

/// Trello: projects are cards, their status the card's list.
pub struct TrelloService;

impl Service for TrelloService {
    const NAME: &'static str = "trello";
    const ID_KEY: &'static str = "trello_card_id";
    const CREDENTIALS: &'static [(&'static str, &'static str)] = &[
        ("TRELLO_KEY", DEFAULT_TRELLO_KEY),
        ("TRELLO_TOKEN", DEFAULT_TRELLO_TOKEN),
    ];
    const HEALTHCHECK: &'static str = "Trello at";
    const KINDS: &'static [&'static str] = &["cards"];
    const PULL_ENDPOINT: &'static str = "GET /1/boards/{id}/actions";
    const PUSH_ENDPOINT: &'static str = "POST /1/cards";
    const NO_OVERLAP: &'static str = "overlap_seconds = 0";

    fn quiet() -> SandboxConfig {
        quiet()
    }

    fn limited() -> SandboxConfig {
        limited()
    }

    fn configure(v: &Path, base: &str, extra: &str) {
        configure(v, base, extra);
    }

    fn pull_prefix(_kind: &str) -> String {
        "/1/boards/".into()
    }

    fn initial() -> &'static [(&'static str, usize)] {
        &[("cards", 3)]
    }

    fn synced() -> &'static [(&'static str, &'static str)] {
        &[(PROJECT, "cards"), (LOYALTY, "cards"), (MENU, "cards")]
    }

    fn field() -> Field {
        Field {
            note: LOYALTY,
            kind: "cards",
            key: "summary",
            remote: "desc",
            value: "Loyalty app for regulars",
        }
    }

    fn pushed() -> Field {
        Field {
            note: LOYALTY,
            kind: "cards",
            key: "blocked_reason",
            remote: "Blocked reason",
            value: "Waiting for the brief",
        }
    }

    fn breakable() -> Field {
        Field {
            note: LOYALTY,
            kind: "cards",
            key: "deadline",
            remote: "due",
            value: "2027-01-31",
        }
    }

    fn other() -> Field {
        Field {
            note: MENU,
            kind: "cards",
            key: "summary",
            remote: "desc",
            value: "Menu screens for the cafés",
        }
    }

    fn other_pushed() -> Field {
        Field {
            note: MENU,
            kind: "cards",
            key: "blocked_reason",
            remote: "Blocked reason",
            value: "Waiting for photos",
        }
    }

    fn number() -> Field {
        Field {
            note: PROJECT,
            kind: "cards",
            key: "budget",
            remote: "Budget",
            value: "45000",
        }
    }

    fn status() -> Field {
        Field {
            note: PROJECT,
            kind: "cards",
            key: "status",
            remote: "list",
            value: "matching",
        }
    }

    fn broken_note() -> (&'static str, &'static str, &'static str) {
        (
            "Projects/Broken.md",
            "---\ntype: project\nssot_id: 01M7W3N2NP9CPP5XT6PJ2EC99Z\nsummary: [unclosed\nstatus: matching\n---\nBody.\n",
            "Projects/Broken.md:5:7: invalid YAML",
        )
    }

    fn archived_note() -> &'static str {
        PROJECT
    }

    fn local_edit() -> (&'static str, &'static str, &'static str) {
        ("priority", "medium", "high")
    }

    fn other_edit() -> (&'static str, &'static str, &'static str) {
        ("priority", "low", "medium")
    }

    fn made() -> Made {
        Made {
            kind: "cards",
            fields: &[
                ("name", "Bread subscriptions"),
                ("list", "Active"),
                ("desc", "Weekly bread boxes"),
                ("Client", "Piekarnia Złoty Kłos"),
            ],
            note: "Projects/Bread subscriptions.md",
            contains: "\nstatus: active\nsummary: Weekly bread boxes\nclient: \"[[Piekarnia Złoty Kłos]]\"\ntrello_card_id: ",
        }
    }

    fn bulk_note(i: usize, ssot_id: &str) -> (String, String) {
        (
            format!("Projects/Bulk {i:02}.md"),
            format!(
                "---\ntype: project\nssot_id: {ssot_id}\ncreated: 2026-11-20\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: matching\nsummary: Bulk {i}\n---\n"
            ),
        )
    }
}

conformance!(TrelloService);

/// The token of the seeded colleague `ola.operator`, who works in Trello.
pub const OLA: &str = "sandbox-trello-token-ola";

/// A Trello API call as `token`'s member (on a harness or any [`Env`]); asserts success and
/// returns the answer's JSON (`Null` when it has none).
pub async fn api_as(
    h: &Env,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    Person::new(&h.sb, token)
        .with_client(h.http.clone())
        .trello(method, path, body)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A Trello API call as Ola.
pub async fn api(
    h: &Harness<TrelloService>,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    api_as(h, OLA, method, path, body).await
}
