//! Hostile service values: control characters in the audit log, file names cut to fit, file modes.

use std::path::Path;

use serde_json::json;
use ssot_vault::vault::note::Note;
use ssot_vault::vault::value::Value;

use crate::common::bin;
use crate::hs_env::{CLIENT, Env, git, out};

/// Makes a contact in HubSpot, as someone working there would.
async fn contact(e: &Env, props: serde_json::Value) {
    let r = e
        .hs(
            reqwest::Method::POST,
            "/crm/v3/objects/contacts",
            Some(json!({ "properties": props })),
        )
        .await;
    assert!(r["id"].is_string(), "contact made: {r}");
}

/// The notes of a vault folder (file names).
fn names(v: &Path, folder: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(v.join(folder))
        .expect("folder")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    out.sort();
    out
}

/// The one note of `folder` whose frontmatter `email` is `email`: (file name, parsed note).
fn note_by_email(v: &Path, folder: &str, email: &str) -> (String, Note) {
    let hits: Vec<(String, Note)> = names(v, folder)
        .into_iter()
        .filter_map(|n| {
            let note = Note::parse(&std::fs::read(v.join(folder).join(&n)).ok()?).ok()?;
            (note.get("email") == Some(&Value::Str(email.into()))).then_some((n, note))
        })
        .collect();
    assert_eq!(hits.len(), 1, "one note with e-mail {email}: {:?}", names(v, folder));
    hits.into_iter().next().expect("one")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_byte_from_hubspot_never_blocks_the_audit_log() {
    let e = Env::new("").await;
    e.sync().await;
    let address = "Długa 1\u{0}b\u{1b}[31mred\u{202e}gnp.exe";
    contact(
        &e,
        json!({"firstname": "Ewa", "lastname": "Nul", "email": "ewa@nul.pl", "address": address}),
    )
    .await;
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    // The note holds the value as HubSpot has it, reads back the same and is valid.
    let (name, note) = note_by_email(&e.v, "Clients", "ewa@nul.pl");
    assert_eq!(name, "Ewa Nul.md");
    assert_eq!(note.get("address"), Some(&Value::Str(address.into())));
    let text = e.note("Clients/Ewa Nul.md");
    assert!(
        text.contains("\naddress: \"Długa 1\\u0000b\\u001B[31mred\u{202e}gnp.exe\"\n"),
        "YAML escapes in the note: {text:?}"
    );
    let o = e.run(&["check"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(!out(&o).contains("Ewa Nul"), "{}", out(&o));
    // The run's commit was made, the value shown escaped in its message.
    assert_eq!(git(&e.v, &["status", "--porcelain"]), "", "all committed");
    let msg = git(&e.v, &["log", "-1", "--format=%B"]);
    assert!(msg.contains("Ssot-Source: hubspot"), "{msg}");
    assert!(
        msg.contains("Clients/Ewa Nul.md: + address: Długa 1\\u{0}b\\u{1b}[31mred\\u{202e}gnp.exe"),
        "{msg}"
    );
    assert!(
        !msg.contains(['\0', '\u{1b}', '\u{202e}']),
        "no control character written: {msg:?}"
    );
    // Later edits still flow: a vault edit syncs and commits, and so does `commit`.
    let o = e.run(&["set", CLIENT, "city=Sopot"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let sid = e.prop(CLIENT, "ssot_id").expect("sid");
    assert_eq!(e.record_by_ssot("contacts", &sid)["properties"]["city"], "Sopot");
    assert_eq!(git(&e.v, &["status", "--porcelain"]), "");
    let msg = git(&e.v, &["log", "-1", "--format=%B"]);
    assert!(
        msg.contains("Clients/Piekarnia Złoty Kłos.md: city: Warszawa → Sopot"),
        "{msg}"
    );
    let o = e.run(&["set", "Clients/Ewa Nul.md", "city=Gdynia"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = e.run(&["commit", "-m", "Hand edit"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(
        git(&e.v, &["log", "-1", "--format=%B"]),
        "Hand edit\n\nClients/Ewa Nul.md: + city: Gdynia\n\nSsot-Source: vault\n\n"
    );
}
