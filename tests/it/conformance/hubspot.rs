//! HubSpot runs the conformance suite: what the suite needs to know of it, and the one line that
//! runs every case against its emulator.

use std::path::Path;

use ssot_vault::sandbox::{DEFAULT_HUBSPOT_TOKEN, SandboxConfig};

use super::harness::{Field, Made, Service};
use crate::hs_env::{CLIENT, EXPERT, PROJECT, configure, quiet};

/// HubSpot: clients and experts are contacts, projects are deals.
pub struct HubspotService;

impl Service for HubspotService {
    const NAME: &'static str = "hubspot";
    const ID_KEY: &'static str = "hubspot_id";
    const CREDENTIALS: &'static [(&'static str, &'static str)] =
        &[("HUBSPOT_TOKEN", DEFAULT_HUBSPOT_TOKEN)];
    const HEALTHCHECK: &'static str = "HubSpot at";
    const KINDS: &'static [&'static str] = &["contacts", "deals"];
    const PULL_ENDPOINT: &'static str = "POST /crm/v3/objects/{type}/search";
    const PUSH_ENDPOINT: &'static str = "batch/upsert";
    const NO_OVERLAP: &'static str = "overlap_seconds = 0";

    fn quiet() -> SandboxConfig {
        quiet()
    }

    fn limited() -> SandboxConfig {
        SandboxConfig::default()
    }

    fn configure(v: &Path, base: &str, extra: &str) {
        configure(v, base, extra);
    }

    fn pull_prefix(kind: &str) -> String {
        format!("/crm/v3/objects/{kind}/search")
    }

    fn initial() -> &'static [(&'static str, usize)] {
        &[("contacts", 3), ("deals", 1)]
    }

    fn synced() -> &'static [(&'static str, &'static str)] {
        &[
            (CLIENT, "contacts"),
            (EXPERT, "contacts"),
            (PROJECT, "deals"),
        ]
    }

    fn field() -> Field {
        Field {
            note: CLIENT,
            kind: "contacts",
            key: "city",
            remote: "city",
            value: "Warszawa",
        }
    }

    fn pushed() -> Field {
        Field {
            note: CLIENT,
            kind: "contacts",
            key: "phone",
            remote: "phone",
            value: "+48 22 614 28 90",
        }
    }

    fn breakable() -> Field {
        Field {
            note: CLIENT,
            kind: "contacts",
            key: "email",
            remote: "email",
            value: "biuro@zlotyklos.pl",
        }
    }

    fn other() -> Field {
        Field {
            note: EXPERT,
            kind: "contacts",
            key: "location",
            remote: "city",
            value: "Kraków",
        }
    }

    fn other_pushed() -> Field {
        Field {
            note: EXPERT,
            kind: "contacts",
            key: "phone",
            remote: "phone",
            value: "+48 601 234 567",
        }
    }

    fn number() -> Field {
        Field {
            note: PROJECT,
            kind: "deals",
            key: "budget",
            remote: "amount",
            value: "45000",
        }
    }

    fn status() -> Field {
        Field {
            note: PROJECT,
            kind: "deals",
            key: "status",
            remote: "dealstage",
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
        "Experts/Tomasz Wiśniewski.md"
    }

    fn local_edit() -> (&'static str, &'static str, &'static str) {
        ("size", "small", "medium")
    }

    fn other_edit() -> (&'static str, &'static str, &'static str) {
        ("availability_hours", "20", "25")
    }

    fn made() -> Made {
        Made {
            kind: "contacts",
            fields: &[
                ("firstname", "Ewa"),
                ("lastname", "Lis"),
                ("email", "ewa@lis.pl"),
                ("city", "Gdańsk"),
            ],
            note: "Clients/Ewa Lis.md",
            contains: "\nname: Ewa Lis\nemail: ewa@lis.pl\ncity: Gdańsk\nhubspot_id: ",
        }
    }

    fn bulk_note(i: usize, ssot_id: &str) -> (String, String) {
        (
            format!("Clients/Client {i:02}.md"),
            format!(
                "---\ntype: client\nssot_id: {ssot_id}\ncreated: 2026-11-20\nname: Client {i:02}\nemail: c{i}@example.com\ncity: Town {i}\n---\n"
            ),
        )
    }
}

conformance!(HubspotService);
