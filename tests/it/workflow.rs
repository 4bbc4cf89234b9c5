//! The project lifecycle through the real binary: one project walked from an intake note to
//! `archived` with every refusal on the way, the transition trailers and the timeline; `check`
//! judging hand-edited transitions; the archive's CSV and XML read back; the explained ranking.

use std::path::Path;

use ssot_vault::workflow::archive::{Role, from_csv, from_xml};

use crate::common::{bin, init_vault, write};

/// Runs the binary in the vault; returns (exit code, stdout, stderr).
fn run(v: &Path, args: &[&str]) -> (i32, String, String) {
    let out = bin().current_dir(v).args(args).output().expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs and expects success; returns stdout.
fn ok(v: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(v, args);
    assert_eq!(code, 0, "{args:?} failed:\n{out}\n{err}");
    out
}

/// Runs and expects a refusal (exit 1) whose message contains `msg`; the vault is unchanged.
fn refused(v: &Path, args: &[&str], msg: &str) {
    let before = crate::common::snapshot_tree(v);
    let head = head_id(v);
    let (code, out, err) = run(v, args);
    assert_eq!(code, 1, "{args:?} should be refused:\n{out}\n{err}");
    assert!(err.contains(msg), "{args:?}: expected `{msg}` in:\n{err}");
    assert_eq!(crate::common::snapshot_tree(v), before, "{args:?} wrote");
    assert_eq!(head_id(v), head, "{args:?} committed");
}

fn head_id(v: &Path) -> String {
    let repo = git2::Repository::open(v).expect("repo");
    repo.head().unwrap().target().unwrap().to_string()
}

/// The `Ssot-Transition` trailers of the history, oldest first, each with its commit's source.
fn transitions(v: &Path) -> Vec<(String, String)> {
    let repo = git2::Repository::open(v).expect("repo");
    let mut walk = repo.revwalk().unwrap();
    walk.push_head().unwrap();
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .unwrap();
    let mut out = Vec::new();
    for id in walk {
        let c = repo.find_commit(id.unwrap()).unwrap();
        let msg = c.message().unwrap().to_string();
        let source = msg
            .lines()
            .find_map(|l| l.strip_prefix("Ssot-Source: "))
            .unwrap_or("")
            .to_string();
        for l in msg.lines() {
            if let Some(t) = l.strip_prefix("Ssot-Transition: ") {
                out.push((t.to_string(), source.clone()));
            }
        }
    }
    out
}

fn read(v: &Path, rel: &str) -> String {
    std::fs::read_to_string(v.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn tick(v: &Path, rel: &str, task: &str) {
    let t = read(v, rel).replace(&format!("- [ ] {task}"), &format!("- [x] {task}"));
    write(v, rel, t);
}

const PROJECT: &str = "Online shop for flower deliveries";
const FILE: &str = "Projects/Online shop for flower deliveries.md";

/// A vault with a committed intake note from a new client.
fn vault_with_intake() -> (tempfile::TempDir, std::path::PathBuf) {
    let (t, v) = init_vault();
    ok(
        &v,
        &[
            "new",
            "intake",
            "Request from Kwiaciarnia Róża",
            "--set",
            "contact_name=Róża Kwiatkowska",
            "--set",
            "email=roza@kwiaciarnia.example",
            "--set",
            "company=Kwiaciarnia Róża",
            "--set",
            "need=Online shop for flower deliveries. Payments by BLIK.",
            "--set",
            "skills_required=woocommerce, payments",
            "--set",
            "budget=30000",
            "--set",
            "language=pl",
        ],
    );
    ok(&v, &["commit", "-m", "Intake from the form"]);
    (t, v)
}

#[test]
fn one_project_from_intake_to_archive() {
    let (_t, v) = vault_with_intake();
    let intake = "Request from Kwiaciarnia Róża";

    // Intake: the client is made (new e-mail), the project created and linked.
    let out = ok(&v, &["intake", "accept", intake]);
    assert!(
        out.contains("client: Clients/Kwiaciarnia Róża.md (new)"),
        "{out}"
    );
    assert!(
        out.contains(&format!("project: {FILE} (status: intake)")),
        "{out}"
    );
    let p = read(&v, FILE);
    for line in [
        "client: \"[[Kwiaciarnia Róża]]\"",
        "status: intake",
        "intake: \"[[Request from Kwiaciarnia Róża]]\"",
        "budget: 30000",
    ] {
        assert!(p.lines().any(|l| l == line), "{line} in\n{p}");
    }
    let i = read(&v, &format!("Intake/{intake}.md"));
    assert!(i.contains("status: accepted\n"), "{i}");
    assert!(i.contains(&format!("project: \"[[{PROJECT}]]\"")), "{i}");
    refused(
        &v,
        &["intake", "accept", intake],
        "the intake is accepted already",
    );

    // Nothing can skip matching.
    refused(
        &v,
        &["project", "accept", PROJECT],
        "intake→credentialing goes through matching, proposed, accepted: proposed requires an assigned expert: expert is empty",
    );
    refused(
        &v,
        &["project", "done", PROJECT],
        "intake→done goes through matching, proposed, accepted, credentialing, active: proposed requires an assigned expert",
    );

    // Matching, a decline, and the declined expert left out from then on.
    let out = ok(&v, &["match", PROJECT]);
    assert!(out.contains(" 1. Anna Nowak"), "{out}");
    ok(&v, &["match", PROJECT, "--assign", "Anna Nowak"]);
    assert!(read(&v, FILE).contains("expert_status: proposed\n"));
    ok(&v, &["project", "decline", PROJECT]);
    let p = read(&v, FILE);
    assert!(
        p.contains("status: matching\n") && p.contains("expert_status: declined\n"),
        "{p}"
    );
    assert!(
        p.contains("declined_experts:\n  - \"[[Anna Nowak]]\"\n"),
        "{p}"
    );
    let out = ok(&v, &["match", PROJECT]);
    assert!(
        out.contains("left out: Anna Nowak (declined this project)"),
        "{out}"
    );
    assert!(out.contains(" 1. Tomasz Wiśniewski"), "{out}");
    refused(
        &v,
        &["match", PROJECT, "--assign", "Anna Nowak"],
        "Anna Nowak is left out of the ranking of Online shop for flower deliveries: declined this project",
    );
    refused(
        &v,
        &["match", PROJECT, "--assign", "Nobody"],
        "no expert `Nobody` in Experts/",
    );
    ok(&v, &["match", PROJECT, "--assign", "Tomasz Wiśniewski"]);

    // Acceptance: the credentialing list from the configuration.
    refused(
        &v,
        &["project", "activate", PROJECT],
        "proposed→active goes through accepted, credentialing: accepted requires the expert's acceptance: expert_status is proposed",
    );
    let out = ok(&v, &["project", "accept", PROJECT]);
    assert!(out.contains("transition proposed→accepted"), "{out}");
    assert!(
        out.contains("transition accepted→credentialing (services: suspend in Jira)"),
        "{out}"
    );
    assert!(read(&v, FILE).ends_with(
        "## Credentialing\n\n- [ ] Contract signed\n- [ ] NDA signed\n- [ ] Invoicing details received\n- [ ] Access to systems granted\n"
    ));

    // Active only with every task checked and the metrics filled.
    refused(
        &v,
        &["project", "activate", PROJECT],
        "active requires every credentialing task: Contract signed, NDA signed, Invoicing details received, Access to systems granted are open",
    );
    for t in [
        "Contract signed",
        "Invoicing details received",
        "Access to systems granted",
    ] {
        tick(&v, FILE, t);
    }
    refused(
        &v,
        &["project", "activate", PROJECT],
        "Online shop for flower deliveries: active requires every credentialing task: NDA signed is open",
    );
    tick(&v, FILE, "NDA signed");
    refused(
        &v,
        &["project", "activate", PROJECT],
        "active requires budget, estimate_hours, deadline and priority: estimate_hours, deadline, priority are empty",
    );
    ok(
        &v,
        &[
            "set",
            PROJECT,
            "estimate_hours=120",
            "deadline=2027-06-30",
            "priority=high",
        ],
    );
    let out = ok(&v, &["project", "activate", PROJECT]);
    assert!(
        out.contains("transition credentialing→active (services: resume in Jira, give the expert access in Jira)"),
        "{out}"
    );

    // Blocked needs a reason; unblocking empties it.
    refused(
        &v,
        &["project", "block", PROJECT, "--reason", " "],
        "blocked requires a blocked_reason: blocked_reason is empty",
    );
    ok(
        &v,
        &[
            "project",
            "block",
            PROJECT,
            "--reason",
            "waiting for product photos",
        ],
    );
    assert!(read(&v, FILE).contains("blocked_reason: waiting for product photos\n"));
    refused(
        &v,
        &["project", "block", PROJECT, "--reason", "again"],
        "the project is blocked already",
    );
    ok(&v, &["project", "unblock", PROJECT]);
    assert!(read(&v, FILE).contains("blocked_reason:\n"));

    // A ticket with its conversation.
    let out = ok(
        &v,
        &[
            "ticket",
            "new",
            PROJECT,
            "--from",
            "client",
            "--subject",
            "Payment page error",
            "-m",
            "BLIK payment fails.",
        ],
    );
    assert_eq!(out, "Helpdesk/Payment page error.md: open\n");
    let out = ok(
        &v,
        &[
            "ticket",
            "reply",
            "Payment page error",
            "--from",
            "expert",
            "-m",
            "Fixed, please retry.",
        ],
    );
    assert_eq!(out, "Helpdesk/Payment page error.md: open → answered\n");
    let conv =
        ssot_vault::workflow::ticket::conversation(&read(&v, "Helpdesk/Payment page error.md"));
    let who: Vec<(&str, &str, &str)> = conv
        .iter()
        .map(|m| (m.party.as_str(), m.author.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(
        who,
        [
            ("client", "Kwiaciarnia Róża", "BLIK payment fails."),
            ("expert", "Tomasz Wiśniewski", "Fixed, please retry.")
        ]
    );
    assert!(
        conv.iter()
            .all(|m| m.at.len() == 19 && m.at.as_bytes()[10] == b'T')
    );

    // Done; the archive waits for the ticket.
    ok(&v, &["project", "done", PROJECT]);
    refused(
        &v,
        &["archive", PROJECT],
        "archived requires every ticket closed: ticket Payment page error is not closed",
    );
    ok(&v, &["ticket", "close", "Payment page error"]);
    refused(
        &v,
        &["ticket", "reply", "Payment page error", "-m", "hello?"],
        "the ticket is closed: it takes no replies",
    );
    let out = ok(&v, &["archive", PROJECT]);
    assert!(out.contains("transition done→archived (services: attach the export to the Trello card, take the expert's access in Jira back, delete the issue from Jira)"), "{out}");
    let dir = format!("Archive/{PROJECT}");
    for f in [
        format!("{dir}/{PROJECT}.md"),
        format!("{dir}/{PROJECT}.csv"),
        format!("{dir}/{PROJECT}.xml"),
        format!("{dir}/Payment page error.md"),
        format!("{dir}/{intake}.md"),
    ] {
        assert!(v.join(&f).is_file(), "{f}");
    }
    assert!(!v.join(FILE).exists());
    let archived = read(&v, &format!("{dir}/{PROJECT}.md"));
    assert!(archived.contains("status: archived\n"), "{archived}");
    refused(
        &v,
        &["project", "activate", PROJECT],
        "no transition from archived to active: it is final",
    );

    // The archive's two files hold the same data.
    let csv = from_csv(&std::fs::read(v.join(format!("{dir}/{PROJECT}.csv"))).unwrap()).unwrap();
    let xml = from_xml(&read(&v, &format!("{dir}/{PROJECT}.xml"))).unwrap();
    assert_eq!(csv, xml);
    assert_eq!(csv.project, PROJECT);
    let roles: Vec<(Role, &str)> = csv
        .notes
        .iter()
        .map(|n| (n.role, n.name.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            (Role::Project, PROJECT),
            (Role::Ticket, "Payment page error"),
            (Role::Client, "Kwiaciarnia Róża"),
            (Role::Expert, "Tomasz Wiśniewski"),
        ]
    );
    let field = |i: usize, k: &str| {
        csv.notes[i]
            .fields
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field(0, "status").as_deref(), Some("archived"));
    assert_eq!(field(1, "status").as_deref(), Some("closed"));
    assert_eq!(
        field(2, "email").as_deref(),
        Some("roza@kwiaciarnia.example")
    );
    assert_eq!(field(3, "skills"), None, "only the expert's key fields");
    assert!(
        csv.notes[0]
            .body
            .as_deref()
            .unwrap()
            .contains("- [x] NDA signed")
    );
    assert!(
        csv.notes[1]
            .body
            .as_deref()
            .unwrap()
            .contains("BLIK payment fails.")
    );
    let statuses: Vec<(&str, &str)> = csv
        .history
        .iter()
        .filter(|c| c.field == "status")
        .map(|c| (c.old.as_str(), c.new.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("", "intake"),
            ("intake", "proposed"),
            ("proposed", "matching"),
            ("matching", "proposed"),
            ("proposed", "credentialing"),
            ("credentialing", "active"),
            ("active", "blocked"),
            ("blocked", "active"),
            ("active", "done"),
        ]
    );

    // Every transition is a commit trailer, from the vault.
    let expected = [
        "intake→matching",
        "matching→proposed",
        "proposed→matching",
        "matching→proposed",
        "proposed→accepted",
        "accepted→credentialing",
        "credentialing→active",
        "active→blocked",
        "blocked→active",
        "active→done",
        "done→archived",
    ];
    let got = transitions(&v);
    assert_eq!(
        got.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        expected
    );
    assert!(got.iter().all(|(_, s)| s == "vault"));

    // The timeline from `log`, across the move to the archive.
    let log = ok(&v, &["log", PROJECT]);
    // Entries newest first; within one commit the steps in order.
    let mut shown: Vec<&str> = Vec::new();
    for entry in log.split("\n\n").collect::<Vec<_>>().into_iter().rev() {
        shown.extend(
            entry
                .lines()
                .filter_map(|l| l.trim().strip_prefix("transition: ")),
        );
    }
    assert_eq!(shown, expected, "{log}");
    assert!(
        log.contains(&format!("{FILE} → {dir}/{PROJECT}.md: renamed")),
        "{log}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&v, &["--json", "log", PROJECT])).unwrap();
    assert_eq!(json[0]["transitions"][0], "done→archived");

    // The vault is valid and fully committed at the end.
    ok(&v, &["check"]);
    assert!(
        git2::Repository::open(&v)
            .unwrap()
            .statuses(None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn check_flags_a_hand_edited_illegal_transition() {
    let (_t, v) = init_vault();
    let p = "Złoty Kłos online shop";
    let file = format!("Projects/{p}.md");
    ok(&v, &["match", p, "--assign", "Anna Nowak"]);
    ok(&v, &["project", "accept", p]);
    for t in [
        "Contract signed",
        "Invoicing details received",
        "Access to systems granted",
    ] {
        tick(&v, &file, t);
    }
    ok(&v, &["commit", "-m", "Credentials arrive"]);
    ok(&v, &["check"]);

    // In Obsidian: status set to active while the NDA is still open.
    let text = read(&v, &file).replace("status: credentialing\n", "status: active\n");
    write(&v, &file, &text);
    let line = text.lines().position(|l| l == "status: active").unwrap() + 1;
    let (code, out, _) = run(&v, &["check"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        out,
        format!(
            "{file}:{line}:1: error: illegal status change credentialing→active since the last commit: active requires every credentialing task: NDA signed is open\n"
        )
    );
    // The same check in JSON.
    let (code, out, _) = run(&v, &["--json", "check"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["problems"][0]["line"], line);

    // Ticking the NDA makes the same edit legal.
    tick(&v, &file, "NDA signed");
    ok(&v, &["check"]);

    // A jump back from done is never legal; a new project note starting past intake is judged
    // from intake.
    ok(&v, &["commit", "-m", "Active"]);
    let text = read(&v, &file).replace("status: active\n", "status: done\n");
    write(&v, &file, &text);
    ok(&v, &["commit", "-m", "Done"]);
    write(
        &v,
        &file,
        read(&v, &file).replace("status: done\n", "status: matching\n"),
    );
    let (code, out, _) = run(&v, &["check"]);
    assert_eq!(code, 1);
    assert!(out.contains("illegal status change done→matching since the last commit: no transition from done to matching: from done a project goes to archived"), "{out}");
    ok(&v, &["commit", "-m", "undo", "--allow-illegal"]);
    let (code, out, _) = run(
        &v,
        &[
            "new",
            "project",
            "Imported",
            "--set",
            "client=Piekarnia Złoty Kłos",
            "--set",
            "status=active",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(&v, &["check"]);
    assert_eq!(code, 1);
    assert!(out.contains("Projects/Imported.md:") && out.contains("illegal status change intake→active for a new project, which starts at intake: intake→active goes through matching, proposed, accepted, credentialing: proposed requires an assigned expert: expert is empty"), "{out}");
}

#[test]
fn hand_accepted_expert_status_is_a_warning_with_the_command() {
    let (_t, v) = init_vault();
    let p = "Złoty Kłos online shop";
    let file = format!("Projects/{p}.md");
    ok(&v, &["match", p, "--assign", "Anna Nowak"]);
    write(
        &v,
        &file,
        read(&v, &file).replace("expert_status: proposed", "expert_status: accepted"),
    );
    let (code, out, _) = run(&v, &["check"]);
    assert_eq!(code, 0);
    assert!(out.contains("warning: expert_status is accepted but the project is still proposed: run `ssot-vault project accept \"Złoty Kłos online shop\"`"), "{out}");
    ok(&v, &["project", "accept", p]);
    assert!(read(&v, &file).contains("status: credentialing\n"));
}

#[test]
fn match_ranking_explains_itself() {
    let (_t, v) = init_vault();
    // A busy expert: Anna carries another active project of 10 h/week.
    write(
        &v,
        "Projects/Bakery app.md",
        "---\ntype: project\nssot_id: 01M7W86HFSWM03FC030X7GYK2A\ncreated: 2026-11-20\nclient: \"[[Piekarnia Złoty Kłos]]\"\nexpert: \"[[Anna Nowak]]\"\nexpert_status: accepted\nstatus: active\nestimate_hours: 100\nstart: 2026-11-01\ndeadline: 2027-01-10\n---\n",
    );
    let out = ok(&v, &["match", "Złoty Kłos online shop"]);
    insta::assert_snapshot!("match_text", out);
    let out = ok(
        &v,
        &["--json", "match", "Złoty Kłos online shop", "--top", "1"],
    );
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["candidates"].as_array().unwrap().len(), 1);
    let comps = j["candidates"][0]["components"].as_array().unwrap();
    let names: Vec<&str> = comps.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["skills", "capacity", "rating", "rate", "language"]);
    let total: f64 = comps.iter().map(|c| c["points"].as_f64().unwrap()).sum();
    assert!((total - j["candidates"][0]["score"].as_f64().unwrap()).abs() < 0.05);
    let out = ok(&v, &["match", "Złoty Kłos online shop", "--top", "1"]);
    assert!(out.contains("1 more (use --top to see them)"), "{out}");
}

#[test]
fn intake_finds_the_client_by_email() {
    let (_t, v) = init_vault();
    ok(
        &v,
        &[
            "new",
            "intake",
            "Second order",
            "--set",
            "contact_name=Małgorzata Kowalczyk",
            "--set",
            "email=BIURO@zlotyklos.pl",
            "--set",
            "need=Loyalty cards",
        ],
    );
    let out = ok(&v, &["intake", "accept", "Second order"]);
    assert!(
        out.contains("client: Clients/Piekarnia Złoty Kłos.md (found by e-mail)"),
        "{out}"
    );
    let p = read(&v, "Projects/Loyalty cards.md");
    assert!(p.contains("client: \"[[Piekarnia Złoty Kłos]]\"\n"), "{p}");
    assert_eq!(
        std::fs::read_dir(v.join("Clients")).unwrap().count(),
        1,
        "no second client"
    );
    ok(&v, &["check"]);
    refused(
        &v,
        &["intake", "accept", "Loyalty cards"],
        "not a intake note",
    );
}

#[test]
fn readme_shows_the_transition_table() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = ssot_vault::workflow::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md's transition table differs from the code; paste this:\n{table}"
    );
}

/// `archive` killed at each of its steps (the process aborted there: the files written so far
/// stay) and run again: it finishes as one run would have, the export verified, every note moved,
/// one commit with the transition, nothing left over.
#[test]
fn an_archive_killed_midway_finishes_when_run_again() {
    const NAME: &str = "Złoty Kłos online shop";
    let project = format!("Projects/{NAME}.md");
    for step in ["archive-exported", "archive-noted", "archive-moving"] {
        let (_t, v) = init_vault();
        let git = |args: &[&str]| {
            let o = std::process::Command::new("git")
                .arg("-C")
                .arg(&v)
                .args(args)
                .env("GIT_AUTHOR_NAME", "T")
                .env("GIT_AUTHOR_EMAIL", "t@example.com")
                .env("GIT_COMMITTER_NAME", "T")
                .env("GIT_COMMITTER_EMAIL", "t@example.com")
                .output()
                .expect("git");
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let text = read(&v, &project).replace("status: matching", "status: done");
        write(&v, &project, &text);
        git(&["commit", "-qam", "Done"]);
        let done = head_id(&v);
        let killed = bin()
            .current_dir(&v)
            .args(["archive", NAME])
            .env("SSOT_TEST_STOP_AT", step)
            .output()
            .expect("run");
        assert!(!killed.status.success(), "{step}: stopped");
        assert!(
            !git(&["status", "--porcelain"]).trim().is_empty(),
            "{step}: a half-made archive"
        );
        let out = ok(&v, &["archive", NAME]);
        assert!(out.contains("transition done→archived"), "{step}: {out}");
        let dir = v.join("Archive").join(NAME);
        let note = std::fs::read_to_string(dir.join(format!("{NAME}.md"))).expect("moved");
        assert!(note.contains("status: archived"), "{step}: {note}");
        assert!(!v.join(&project).exists(), "{step}");
        let csv = std::fs::read(dir.join(format!("{NAME}.csv"))).expect("csv");
        let xml = std::fs::read_to_string(dir.join(format!("{NAME}.xml"))).expect("xml");
        let (csv, xml) = (
            from_csv(&csv).expect("csv reads"),
            from_xml(&xml).expect("xml reads"),
        );
        assert_eq!(csv, xml, "{step}");
        assert_eq!(csv.project, NAME);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                format!("{NAME}.csv"),
                format!("{NAME}.md"),
                format!("{NAME}.xml")
            ],
            "{step}"
        );
        assert_eq!(git(&["status", "--porcelain"]).trim(), "", "{step}");
        let log = git(&["log", "--format=%B", &format!("{done}..HEAD")]);
        assert_eq!(
            log.matches("Ssot-Transition: done→archived").count(),
            1,
            "{step}: {log}"
        );
        // Once finished, it is archived: a third run is refused.
        let (code, _, err) = run(&v, &["archive", NAME]);
        assert_ne!(code, 0, "{step}");
        assert!(err.contains("archived already"), "{step}: {err}");
    }
}
