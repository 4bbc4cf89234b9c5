//! Google Sheets runs the conformance suite: clients, experts and projects are rows of the
//! sandbox's seeded spreadsheet (tabs `Clients`, `Experts`, `Projects`), keyed by their
//! `ssot_id` column. The vault made by `init` has one client; two more are written and committed
//! here, as the suite needs three notes of one kind. The key file the binary signs in with names
//! the sandbox's token endpoint, so it is written per sandbox (as for Forms).

use std::path::Path;

use ssot_vault::sandbox::SandboxConfig;
use ssot_vault::sandbox::sheets::{SEED_SPREADSHEET_ID, admin_view};

use super::harness::{Field, Made, Service};
use crate::common::write;
use crate::hs_env::{CLIENT, EXPERT, Env, PROJECT, git};

/// A second client: the note of [`Service::other`].
pub const ROZA: &str = "Clients/Kwiaciarnia Róża.md";
/// A third client: the one archived in the service.
pub const LIPA: &str = "Clients/Studio Lipa.md";
/// The second expert of the `init` vault.
pub const TOMASZ: &str = "Experts/Tomasz Wiśniewski.md";

const ROZA_NOTE: &str = "---\ntype: client\nssot_id: 01M7W3N2NP9CPP5XT6PJ2EC88C\ncreated: 2026-11-21\nname: Kwiaciarnia Róża\nemail: kontakt@roza.pl\nphone: \"+48 61 852 11 22\"\ncompany: Kwiaciarnia Róża s.c.\ncity: Poznań\nsize: micro\nstatus: active\n---\n## Notes\n\nFlowers for the shop openings.\n";
const LIPA_NOTE: &str = "---\ntype: client\nssot_id: 01M7W3N2NP9CPP5XT6PJ2EC99D\ncreated: 2026-11-22\nname: Studio Lipa\nemail: hello@studiolipa.pl\nphone: \"+48 12 400 50 60\"\ncompany: Studio Lipa sp. z o.o.\nsize: small\nstatus: lead\n---\n";

/// Points the vault's `[remotes.sheets]` at the sandbox's seeded spreadsheet, with fast
/// retries and `extra` settings, writes the two more clients and commits. The vault has six
/// synced notes, more than HubSpot's four: the share rail is set at 10 % so that deleting one
/// note of five crosses it, as one of three does for HubSpot at the default 20 %.
pub fn configure(v: &Path, base: &str, extra: &str) {
    enable(v, base, extra);
    write(v, ROZA, ROZA_NOTE);
    write(v, LIPA, LIPA_NOTE);
    git(v, &["add", "-A"]);
    git(v, &["commit", "-qm", "Enable Google Sheets"]);
}

/// Writes the vault's `[remotes.sheets]` section of [`configure`] (the seeded spreadsheet, fast
/// retries, the 10 % share rail unless `extra` sets one); no note written, no commit.
pub fn enable(v: &Path, base: &str, extra: &str) {
    let p = v.join("ssot-vault.toml");
    let text = std::fs::read_to_string(&p).expect("config");
    let start = text.find("[remotes.sheets]").expect("sheets section");
    let end = start
        + text[start..]
            .find("[remotes.forms]")
            .expect("forms section");
    let rail = if extra.contains("max_archive_share") {
        ""
    } else {
        "max_archive_share = 0.1\n"
    };
    let section = format!(
        "[remotes.sheets]\nenabled = true\nbase_url = \"{base}\"\nspreadsheet_id = \"{SEED_SPREADSHEET_ID}\"\nretry_base_ms = 20\nretry_max_ms = 200\nmax_retries = 12\ntimeout_seconds = 2.0\n{rail}{extra}\n\n"
    );
    std::fs::write(&p, format!("{}{section}{}", &text[..start], &text[end..]))
        .expect("write config");
}

/// The key file of the sandbox's service account, written once per sandbox.
pub fn credentials(env: &Env) -> Vec<(String, String)> {
    let key = env._tmp.path().join("google-key.json");
    if !key.exists() {
        let json =
            ssot_vault::sandbox::google::sandbox_key_file(&format!("{}/token", env.sb.base_url()));
        std::fs::write(&key, json.to_string()).expect("key file");
    }
    vec![(
        "GOOGLE_APPLICATION_CREDENTIALS".into(),
        key.to_string_lossy().into_owned(),
    )]
}

/// The sandbox without the Sheets quotas.
pub fn quiet() -> SandboxConfig {
    let mut cfg = SandboxConfig::default();
    cfg.sheets.quota = None;
    cfg
}

/// The key cell of row `row` (1-based, as [`Harness::create`] numbers it) of a tab.
pub fn key_of_row(env: &Env, tab: &str, row: &str) -> String {
    let remote = env.sb.remote("sheets").expect("sheets");
    let view = admin_view(remote.app, SEED_SPREADSHEET_ID).expect("spreadsheet");
    let sheet = view["sheets"]
        .as_array()
        .expect("tabs")
        .iter()
        .find(|s| s["title"] == tab)
        .expect("tab");
    let rows = sheet["rows"].as_array().expect("rows");
    let header = rows[0].as_array().expect("header");
    let c = header
        .iter()
        .position(|h| h == "ssot_id")
        .expect("key column");
    let r: usize = row.parse().expect("row number");
    rows[r - 1][c].as_str().unwrap_or_default().to_string()
}

/// Google Sheets: clients, experts and projects are rows of their tabs.
pub struct SheetsService;

impl Service for SheetsService {
    const NAME: &'static str = "sheets";
    const ID_KEY: &'static str = "sheets_id";
    const CREDENTIALS: &'static [(&'static str, &'static str)] = &[];
    const HEALTHCHECK: &'static str = "Google Sheets at ";
    const KINDS: &'static [&'static str] = &["Clients", "Experts", "Projects"];
    const PULL_ENDPOINT: &'static str = "GET /v4/spreadsheets/{id}/values:batchGet";
    const PUSH_ENDPOINT: &'static str = "POST /v4/spreadsheets";
    const NO_OVERLAP: &'static str = "";

    fn resync_requests() -> u64 {
        1
    }

    fn taken_id(env: &Env, kind: &str, created: &str) -> String {
        key_of_row(env, kind, created)
    }

    fn credentials(env: &Env) -> Vec<(String, String)> {
        credentials(env)
    }

    fn quiet() -> SandboxConfig {
        quiet()
    }

    fn limited() -> SandboxConfig {
        SandboxConfig::default()
    }

    fn configure(v: &Path, base: &str, extra: &str) {
        configure(v, base, extra);
    }

    fn pull_prefix(_kind: &str) -> String {
        "/v4/spreadsheets".into()
    }

    fn initial() -> &'static [(&'static str, usize)] {
        &[("Clients", 3), ("Experts", 2), ("Projects", 1)]
    }

    fn synced() -> &'static [(&'static str, &'static str)] {
        &[
            (CLIENT, "Clients"),
            (ROZA, "Clients"),
            (LIPA, "Clients"),
            (EXPERT, "Experts"),
            (TOMASZ, "Experts"),
            (PROJECT, "Projects"),
        ]
    }

    fn field() -> Field {
        Field {
            note: CLIENT,
            kind: "Clients",
            key: "company",
            remote: "company",
            value: "Piekarnia Złoty Kłos Sp. z o.o.",
        }
    }

    fn pushed() -> Field {
        Field {
            note: CLIENT,
            kind: "Clients",
            key: "phone",
            remote: "phone",
            value: "+48 22 614 28 90",
        }
    }

    fn breakable() -> Field {
        Field {
            note: CLIENT,
            kind: "Clients",
            key: "email",
            remote: "email",
            value: "biuro@zlotyklos.pl",
        }
    }

    fn other() -> Field {
        Field {
            note: ROZA,
            kind: "Clients",
            key: "company",
            remote: "company",
            value: "Kwiaciarnia Róża s.c.",
        }
    }

    fn other_pushed() -> Field {
        Field {
            note: ROZA,
            kind: "Clients",
            key: "phone",
            remote: "phone",
            value: "+48 61 852 11 22",
        }
    }

    fn number() -> Field {
        Field {
            note: PROJECT,
            kind: "Projects",
            key: "budget",
            remote: "budget",
            value: "45000",
        }
    }

    fn status() -> Field {
        Field {
            note: PROJECT,
            kind: "Projects",
            key: "status",
            remote: "status",
            value: "matching",
        }
    }

    fn broken_note() -> (&'static str, &'static str, &'static str) {
        (
            "Clients/Broken.md",
            "---\ntype: client\nssot_id: 01M7W3N2NP9CPP5XT6PJ2EC99Z\nname: [unclosed\nemail: x@y.pl\n---\nBody.\n",
            "Clients/Broken.md:5:6: invalid YAML",
        )
    }

    fn archived_note() -> &'static str {
        LIPA
    }

    fn local_edit() -> (&'static str, &'static str, &'static str) {
        ("size", "small", "medium")
    }

    fn other_edit() -> (&'static str, &'static str, &'static str) {
        ("size", "micro", "small")
    }

    fn made() -> Made {
        Made {
            kind: "Clients",
            fields: &[
                ("name", "Ewa Lis"),
                ("email", "ewa@lis.pl"),
                ("company", "Lis Sp. z o.o."),
            ],
            note: "Clients/Ewa Lis.md",
            contains: "\nname: Ewa Lis\nemail: ewa@lis.pl\ncompany: Lis Sp. z o.o.\n",
        }
    }

    fn bulk_note(i: usize, ssot_id: &str) -> (String, String) {
        (
            format!("Clients/Client {i:02}.md"),
            format!(
                "---\ntype: client\nssot_id: {ssot_id}\ncreated: 2026-11-20\nname: Client {i:02}\nemail: c{i}@example.com\ncompany: Company {i}\n---\n"
            ),
        )
    }
}

// A row has no modification time (Google keeps none per row): the case that needs one to tell
// which of two interrupted runs' sends landed is left out; the engine takes the last send.
conformance!(no_modified_time SheetsService);
