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
    assert_eq!(
        hits.len(),
        1,
        "one note with e-mail {email}: {:?}",
        names(v, folder)
    );
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
    // `log` shows the value escaped too: nothing reaches the terminal as a control sequence.
    let o = e.run(&["log", "Clients/Ewa Nul.md"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        out(&o).contains(
            "Clients/Ewa Nul.md: + address: Długa 1\\u{0}b\\u{1b}[31mred\\u{202e}gnp.exe"
        ),
        "{}",
        out(&o)
    );
    assert!(
        !out(&o).contains(['\0', '\u{1b}', '\u{202e}']),
        "{:?}",
        out(&o)
    );
    // Later edits still flow: a vault edit syncs and commits, and so does `commit`.
    let o = e.run(&["set", CLIENT, "city=Sopot"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let sid = e.prop(CLIENT, "ssot_id").expect("sid");
    assert_eq!(
        e.record_by_ssot("contacts", &sid)["properties"]["city"],
        "Sopot"
    );
    assert_eq!(git(&e.v, &["status", "--porcelain"]), "");
    let msg = git(&e.v, &["log", "-1", "--format=%B"]);
    assert!(
        msg.contains("Clients/Piekarnia Złoty Kłos.md: city: Warszawa → Sopot"),
        "{msg}"
    );
    let o = e.run(&["set", "Clients/Ewa Nul.md", "city=Gdynia"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = e
        .run(&["set", "Clients/Ewa Nul.md", "industry=a\u{1b}[2Jb"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = e.run(&["status"]).await;
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "M Clients/Ewa Nul.md\n  + city: Gdynia\n  + industry: a\\u{1b}[2Jb\n"
    );
    let o = e.run(&["commit", "-m", "Hand edit"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(
        git(&e.v, &["log", "-1", "--format=%B"]),
        "Hand edit\n\nClients/Ewa Nul.md: + city: Gdynia\n\
         Clients/Ewa Nul.md: + industry: a\\u{1b}[2Jb\n\nSsot-Source: vault\n\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_non_ascii_names_become_notes_with_names_that_fit() {
    let e = Env::new("").await;
    e.sync().await;
    let z = format!("{} Long", "Ż".repeat(150));
    let smile = "😀".repeat(300);
    contact(
        &e,
        json!({"firstname": "Ż".repeat(150), "lastname": "Long", "email": "z1@x.pl"}),
    )
    .await;
    contact(
        &e,
        json!({"firstname": "Ż".repeat(150), "lastname": "Long", "email": "z2@x.pl"}),
    )
    .await;
    contact(&e, json!({"firstname": smile, "email": "smile@x.pl"})).await;
    contact(
        &e,
        json!({"firstname": "Ewa\u{202e}fdp.exe", "lastname": "Lis", "email": "bidi@x.pl"}),
    )
    .await;
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let (z1, n1) = note_by_email(&e.v, "Clients", "z1@x.pl");
    let (z2, n2) = note_by_email(&e.v, "Clients", "z2@x.pl");
    let (s, ns) = note_by_email(&e.v, "Clients", "smile@x.pl");
    let (b, _) = note_by_email(&e.v, "Clients", "bidi@x.pl");
    // The names are the records' names cut on a character boundary, with room for a ` 1000`
    // suffix and `.md` within the 255 bytes a file name may have; two such records get two files.
    let stem = "Ż".repeat(123);
    let mut both = [z1, z2];
    both.sort();
    assert_eq!(both, [format!("{stem} 2.md"), format!("{stem}.md")]);
    assert_eq!(s, format!("{}.md", "😀".repeat(61)));
    for n in both.iter().chain([&s]) {
        let stem = n.strip_suffix(".md").expect(".md");
        let stem = stem.strip_suffix(" 2").unwrap_or(stem);
        assert!(
            stem.len() + " 1000.md".len() <= 255,
            "{n}: {} bytes",
            n.len()
        );
    }
    assert_eq!(b, "Ewafdp.exe Lis.md", "bidi controls dropped");
    // The notes keep the whole name.
    assert_eq!(n1.get("name"), Some(&Value::Str(z.clone())));
    assert_eq!(n2.get("name"), Some(&Value::Str(z)));
    assert_eq!(ns.get("name"), Some(&Value::Str(smile)));
    let o = e.run(&["check"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(git(&e.v, &["status", "--porcelain"]), "");
    let head = git(&e.v, &["rev-parse", "HEAD"]);
    e.sync().await;
    assert_eq!(git(&e.v, &["rev-parse", "HEAD"]), head, "settled");
    assert_eq!(e.live("contacts").len(), 7, "no duplicate");
    // A deal's name is its note's file name, which travels to HubSpot: the cut name from then on.
    // The deal is associated with the client's contact, as a HubSpot user makes one.
    let client_contact = e.prop(CLIENT, "hubspot_id").expect("client's hubspot_id");
    let deal = e
        .hs(
            reqwest::Method::POST,
            "/crm/v3/objects/deals",
            Some(json!({
                "properties": {"dealname": "Ż".repeat(150), "dealstage": "appointmentscheduled"},
                "associations": [{"to": {"id": client_contact},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]}],
            })),
        )
        .await;
    assert!(deal["id"].is_string(), "deal made: {deal}");
    e.sync().await;
    let project = format!("Projects/{stem}.md");
    assert!(
        e.v.join(&project).is_file(),
        "{:?}",
        names(&e.v, "Projects")
    );
    assert_eq!(
        e.prop(&project, "client").as_deref(),
        Some("[[Piekarnia Złoty Kłos]]")
    );
    e.sync().await;
    let deal = e
        .live("deals")
        .into_iter()
        .find(|d| d["id"] == deal["id"])
        .expect("deal");
    assert_eq!(deal["properties"]["dealname"], json!(stem));
    let head = git(&e.v, &["rev-parse", "HEAD"]);
    e.sync().await;
    assert_eq!(git(&e.v, &["rev-parse", "HEAD"]), head, "settled");
}

/// Runs the binary in `dir` under `umask`.
#[cfg(unix)]
fn under_umask(umask: &str, dir: &Path, args: &[&str]) -> std::process::Output {
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_ssot-vault"))
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("NO_COLOR", "1")
        .env_remove("SSOT_VAULT")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", out(&o));
    o
}

#[cfg(unix)]
#[test]
fn new_notes_follow_the_umask_and_rewritten_notes_keep_their_mode() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    let t = tempfile::tempdir().expect("tempdir");
    under_umask("022", t.path(), &["init", "vault"]);
    let v = t.path().join("vault");
    assert_eq!(mode(&v.join("Home.md")), 0o644);
    assert_eq!(mode(&v.join("ssot-vault.toml")), 0o644);
    under_umask(
        "022",
        &v,
        &["new", "client", "Acme", "--set", "email=a@acme.pl"],
    );
    let acme = v.join("Clients/Acme.md");
    assert_eq!(mode(&acme), 0o644);
    under_umask(
        "002",
        &v,
        &["new", "client", "Beta", "--set", "email=b@beta.pl"],
    );
    assert_eq!(mode(&v.join("Clients/Beta.md")), 0o664);
    // A rewrite keeps the note's own mode, whatever the umask.
    std::fs::set_permissions(&acme, std::fs::Permissions::from_mode(0o664)).expect("chmod");
    under_umask("022", &v, &["set", "Acme", "city=Sopot"]);
    assert!(
        std::fs::read_to_string(&acme)
            .expect("read")
            .contains("\ncity: Sopot\n")
    );
    assert_eq!(mode(&acme), 0o664);
}

#[test]
fn windows_reserved_names_and_bidi_controls_are_changed() {
    let (_t, v) = crate::common::init_vault();
    let new = |name: &str| {
        let o = bin()
            .arg("--vault")
            .arg(&v)
            .args(["new", "client", name, "--set", "email=x@y.pl"])
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(0), "{name}: {}", out(&o));
        String::from_utf8(o.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    };
    let cases = [
        ("CON", "CON_.md"),
        ("nul.md", "nul_.md.md"),
        ("COM1", "COM1_.md"),
        ("name.", "name.md"),
        ("Spaced . ", "Spaced.md"),
        ("Invoice\u{202e}fdp.exe", "Invoicefdp.exe.md"),
    ];
    for (name, file) in cases {
        let printed = new(name);
        assert!(
            printed.ends_with(&format!("Clients/{file}")),
            "{name}: {printed}"
        );
        assert!(v.join("Clients").join(file).is_file(), "{name} → {file}");
    }
}
