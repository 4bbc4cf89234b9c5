//! What the command line says when a library error reaches it: the same message, exit code and
//! hint for the same error, whichever command meets it (`src/cli/error.rs`).

use crate::common::{bin, init_vault, snapshot_tree, write};

/// The stderr and exit code of `ssot-vault --vault <v> <args>`.
fn run(v: &std::path::Path, args: &[&str]) -> (String, Option<i32>) {
    let out = bin()
        .arg("--vault")
        .arg(v)
        .args(args)
        .output()
        .expect("run");
    (
        String::from_utf8(out.stderr).expect("utf-8"),
        out.status.code(),
    )
}

#[test]
fn an_invalid_schema_is_one_error_in_every_command() {
    let (_t, v) = init_vault();
    let toml = std::fs::read_to_string(v.join("ssot-vault.toml")).expect("read");
    let toml = toml.replacen(
        "[schema.client.fields]\n",
        "[schema.client.fields]\nemail = \"number\"\n",
        1,
    );
    assert!(
        toml.contains("email = \"number\""),
        "the template has the table"
    );
    write(
        &v,
        "ssot-vault.toml",
        format!("{toml}\n[schema.widget.fields]\nsize = \"string\"\n"),
    );
    let before = snapshot_tree(&v);
    let want = "error: invalid schema in ssot-vault.toml: \
        [schema.client.fields] email: built-in field of type string, cannot become number; \
        [schema.widget]: unknown note type (known: client, expert, project, ticket, intake)\n\
        hint: fix the `[schema.<type>.fields]` tables of ssot-vault.toml; the README's Schema \
        section lists the note types and field types\n";
    for args in [
        &["check"][..],
        &["new", "client", "Acme"],
        &["set", "Piekarnia Złoty Kłos", "city=Kraków"],
        &["resolve", "Piekarnia Złoty Kłos", "city", "--take", "vault"],
    ] {
        let (err, code) = run(&v, args);
        assert_eq!(err, want, "{args:?}");
        assert_eq!(code, Some(2), "{args:?}");
    }
    assert_eq!(snapshot_tree(&v), before, "nothing written");
}

#[test]
fn resolve_refuses_an_unreadable_note_like_set_does() {
    let (_t, v) = init_vault();
    write(
        &v,
        "Clients/Broken.md",
        "---\ntype: client\nname: [unclosed\n---\nbody\n",
    );
    let before = snapshot_tree(&v);
    let (set_err, set_code) = run(&v, &["set", "Broken", "city=Kraków"]);
    let (err, code) = run(&v, &["resolve", "Broken", "city", "--take", "vault"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(set_code, Some(1), "{set_err}");
    assert_eq!(err, set_err, "one message for one error");
    let path = v.join("Clients/Broken.md");
    assert!(
        err.starts_with(&format!("error: {}:4:1: invalid YAML", path.display()))
            && err.contains("; the note is left as it is"),
        "{err}"
    );
    assert_eq!(snapshot_tree(&v), before, "nothing written");
}
