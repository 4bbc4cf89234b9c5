//! Sync integrity: an unreadable note is not a deleted one, crash-then-resume attribution, records that cannot make a valid note.

use serde_json::{Value, json};

use crate::hs_env::{CLIENT, Env, git, out};

/// The base of `sid` in the HubSpot sync state.
fn base_entry(e: &Env, sid: &str) -> Value {
    let text = std::fs::read_to_string(e.v.join(".ssot/hubspot/state.json")).expect("state.json");
    let state: Value = serde_json::from_str(&text).expect("state json");
    state["base"][sid].clone()
}

/// Breaks the client's YAML, syncs (also a full run looking for archives) while HubSpot edits
/// the record, then fixes and edits the note: the record stays live, its base is kept, the edit
/// reaches HubSpot and HubSpot's edit the note (no overlap window re-reads it: it is read again
/// because it was pulled while the note was unreadable).
async fn unreadable_note_is_not_deleted(extra: &str) {
    let e = Env::new(extra).await;
    e.sync().await;
    let sid = e.prop(CLIENT, "ssot_id").expect("sid");
    let rid = e.prop(CLIENT, "hubspot_id").expect("hubspot_id");
    let good = e.note(CLIENT);
    let base_before = base_entry(&e, &sid);
    assert_eq!(base_before["remote_id"], json!(rid), "{base_before}");
    let broken = good.replace("email: biuro@zlotyklos.pl", "email: [biuro@zlotyklos.pl");
    assert_ne!(broken, good);
    std::fs::write(e.v.join(CLIENT), &broken).expect("break");
    for (i, args) in [&["sync", "--full", "--check-archived"][..], &["sync"][..]]
        .into_iter()
        .enumerate()
    {
        if i == 1 {
            // Edited in HubSpot meanwhile: pulled by this run, while the note is unreadable.
            e.patch(
                "contacts",
                &rid,
                json!({"properties": {"phone": "+48 500 100 200"}}),
            )
            .await;
        }
        let o = e.run(args).await;
        let text = out(&o);
        assert_eq!(o.status.code(), Some(1), "{text}");
        assert!(text.contains(&format!("{CLIENT}:")), "reported: {text}");
        assert!(
            !text.contains("its note was deleted"),
            "an unreadable note is not a deleted one: {text}"
        );
        assert!(text.contains("1 records without a readable note"), "{text}");
        assert_eq!(e.note(CLIENT), broken, "never written");
        let r = e.record_by_ssot("contacts", &sid);
        assert_eq!(r["id"], json!(rid), "the record stays live");
        assert_eq!(base_entry(&e, &sid), base_before, "the base is kept");
    }
    // Fixed and edited: the edit reaches HubSpot.
    let fixed = good.replace("city: Warszawa", "city: Gdynia");
    assert_ne!(fixed, good);
    std::fs::write(e.v.join(CLIENT), &fixed).expect("fix");
    let o = e.sync().await;
    let r = e.record_by_ssot("contacts", &sid);
    assert_eq!(r["properties"]["city"], json!("Gdynia"), "{}", out(&o));
    assert_eq!(r["id"], json!(rid));
    let base = base_entry(&e, &sid);
    assert_eq!(base["fields"]["city"], json!("Gdynia"), "{base}");
    // The HubSpot edit pulled while the note was unreadable (behind the cursor now) is not lost.
    assert_eq!(
        e.prop(CLIENT, "phone").as_deref(),
        Some("+48 500 100 200"),
        "{}\n{}",
        e.note(CLIENT),
        out(&o)
    );
    assert_eq!(base["deleted"], json!(false));
    assert_eq!(base["archived"], json!(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_note_does_not_archive_its_record() {
    unreadable_note_is_not_deleted(
        "archive_deleted_notes = true\nmax_archive_share = 1.0\ncheck_archived_minutes = 0\noverlap_seconds = 0",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_note_does_not_forget_its_record() {
    unreadable_note_is_not_deleted("overlap_seconds = 0").await;
}

/// `kill -9` of the real binary right after the journal logs `notes` (the pulled values are in
/// the notes, nothing committed yet), a genuine vault edit, then the next run: the crashed run's
/// note writes are committed as HubSpot's with its run id, only the vault edit as the vault's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_runs_note_writes_are_committed_as_its_own() {
    use ssot_vault::sandbox::FaultConfig;

    use crate::hs_env::{EXPERT, PROJECT, git};

    let e = Env::new("").await;
    e.sync().await;
    // A HubSpot edit (pulled into the client's note) and a vault edit (pushed after the notes,
    // so the run is still talking to HubSpot when it is killed).
    let rid = e.prop(CLIENT, "hubspot_id").expect("id");
    e.patch("contacts", &rid, json!({"properties": {"city": "Gdynia"}}))
        .await;
    let project = e.note(PROJECT);
    std::fs::write(
        e.v.join(PROJECT),
        project.replace("budget: 45000", "budget: 47000"),
    )
    .expect("edit project");
    let journal = e.v.join(".ssot/hubspot/journal.jsonl");
    e.sb.set_faults(FaultConfig {
        latency_ms: 600,
        ..FaultConfig::default()
    });
    // Killed as soon as the journal logs `notes` (each request then takes 0.6 s, under the
    // configured 1 s timeout: the push that follows is still under way).
    let crashed = sync_killed_after(&e, "notes")
        .await
        .expect("the run logged `notes`");
    let text = std::fs::read_to_string(&journal).expect("journal");
    let last: Value = serde_json::from_str(text.lines().last().unwrap_or("")).expect("line");
    assert_eq!(last["run"], json!(crashed), "{text}");
    assert_ne!(last["event"], json!("end"), "killed before its end: {text}");
    assert_eq!(e.prop(CLIENT, "city").as_deref(), Some("Gdynia"), "pulled");
    assert!(
        git(&e.v, &["status", "--porcelain"]).contains("Piekarnia"),
        "the pulled value is not committed yet"
    );
    // A genuine vault edit after the crash, then the resume.
    e.sb.set_faults(FaultConfig::default());
    let expert = e.note(EXPERT);
    std::fs::write(
        e.v.join(EXPERT),
        expert.replace("availability_hours: 20", "availability_hours: 25"),
    )
    .expect("edit expert");
    let head = git(&e.v, &["rev-parse", "HEAD"]).trim().to_string();
    let o = e.sync().await;
    assert_eq!(git(&e.v, &["status", "--porcelain"]), "", "{}", out(&o));
    // The commits made by the resume, oldest first: (files, message, author).
    let log = git(
        &e.v,
        &[
            "-c",
            "core.quotePath=false",
            "log",
            "--reverse",
            "--format=%x01%an%x02%B%x02",
            "--name-only",
            &format!("{head}..HEAD"),
        ],
    );
    let commits: Vec<(String, String, Vec<String>)> = log
        .split('\u{1}')
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            let mut parts = c.split('\u{2}');
            let author = parts.next().unwrap_or("").to_string();
            let msg = parts.next().unwrap_or("").to_string();
            let files = parts
                .next()
                .unwrap_or("")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect();
            (author, msg, files)
        })
        .collect();
    let touching = |rel: &str| -> Vec<&(String, String, Vec<String>)> {
        commits
            .iter()
            .filter(|(_, _, f)| f.iter().any(|p| p == rel))
            .collect()
    };
    let client_commits = touching(CLIENT);
    assert!(!client_commits.is_empty(), "{log}");
    for (author, msg, _) in &client_commits {
        assert!(
            msg.contains("Ssot-Source: hubspot") && msg.contains(&format!("Ssot-Run: {crashed}")),
            "the crashed run's write is committed as its own: {msg}\n{log}"
        );
        assert_ne!(author, "Test User", "{log}");
        assert!(msg.contains("city: Warszawa → Gdynia"), "{msg}");
    }
    let vault: Vec<_> = commits
        .iter()
        .filter(|(_, m, _)| m.contains("Ssot-Source: vault"))
        .collect();
    assert_eq!(vault.len(), 1, "one vault commit, the genuine edit: {log}");
    let (author, msg, files) = vault[0];
    assert_eq!(author, "Test User");
    assert_eq!(files.len(), 1, "only the expert's note: {log}");
    assert!(msg.contains("availability_hours: 20 → 25"), "{msg}");
    assert!(!msg.contains("Gdynia"), "{msg}");
    // The sync went on: the vault's budget reached HubSpot.
    let deal = e.record_by_ssot("deals", &e.prop(PROJECT, "ssot_id").expect("sid"));
    assert_eq!(deal["properties"]["amount"], json!("47000"), "{deal}");
}

/// Every `.md` file under a vault folder.
fn notes_in(e: &Env, folder: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(e.v.join(folder))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|f| f.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".md"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A record that cannot make a valid note is reported (which record, what is missing) and not
/// written; the next runs do not report it again until it changes; `check` stays clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_make_no_valid_note_are_reported_once_and_not_written() {
    use crate::hs_env::git;

    let e = Env::new("").await;
    e.sync().await;
    let clients = notes_in(&e, "Clients");
    let projects = notes_in(&e, "Projects");
    let post = |object: &'static str, props: Value| {
        let e = &e;
        async move {
            let r = e
                .hs(
                    reqwest::Method::POST,
                    &format!("/crm/v3/objects/{object}"),
                    Some(json!({ "properties": props })),
                )
                .await;
            r["id"].as_str().expect("id").to_string()
        }
    };
    // A deal with no contact (a project needs a client), a contact with a blank name, a value
    // that is a template placeholder.
    let deal = post(
        "deals",
        json!({"dealname": "Sklep Lis", "dealstage": "appointmentscheduled", "amount": "12000"}),
    )
    .await;
    let blank = post(
        "contacts",
        json!({"firstname": " ", "lastname": "", "email": "blank@lis.pl", "ssot_role": "client"}),
    )
    .await;
    let placeholder = post(
        "contacts",
        json!({"firstname": "Ewa", "lastname": "Lis", "email": "ewa@lis.pl", "city": "{{date}}", "ssot_role": "client"}),
    )
    .await;
    let o = e.run(&["sync"]).await;
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "a problem is reported: {text}");
    for (id, what) in [
        (&deal, "missing required property `client`"),
        (&blank, "missing required property `name`"),
        (&placeholder, "`city` still holds a template placeholder"),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("record {id} ")))
            .unwrap_or_else(|| panic!("record {id} reported: {text}"));
        assert!(
            line.contains("makes no valid") && line.contains(what),
            "{line}"
        );
    }
    assert_eq!(notes_in(&e, "Clients"), clients, "not written: {text}");
    assert_eq!(notes_in(&e, "Projects"), projects, "not written: {text}");
    assert_eq!(git(&e.v, &["status", "--porcelain"]), "");
    let o = e.run(&["check"]).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "check accepts the vault: {}",
        out(&o)
    );
    // Not reported again, incremental or full, while the records stay as they are.
    for args in [&["sync"][..], &["sync", "--full"][..]] {
        let o = e.run(args).await;
        let text = out(&o);
        assert_eq!(o.status.code(), Some(0), "{text}");
        assert!(!text.contains("makes no valid"), "reported once: {text}");
        assert!(!text.contains("  new note "), "not planned again: {text}");
        assert_eq!(notes_in(&e, "Clients"), clients);
    }
    // Changed, but still invalid: reported again, once.
    e.patch(
        "contacts",
        &placeholder,
        json!({"properties": {"city": "{{time}}"}}),
    )
    .await;
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains(&format!("record {placeholder} "))
            && !out(&o).contains(&format!("record {deal} ")),
        "{}",
        out(&o)
    );
    // Fixed in HubSpot: the note is made.
    e.patch(
        "contacts",
        &placeholder,
        json!({"properties": {"city": "Gdańsk"}}),
    )
    .await;
    let o = e.sync().await;
    let ewa = e.note("Clients/Ewa Lis.md");
    assert!(ewa.contains("\ncity: Gdańsk\n"), "{ewa}\n{}", out(&o));
    // The deal's note made by hand with its `hubspot_id`: the next sync links the two, no
    // duplicate deal.
    let o = e
        .run(&[
            "new",
            "project",
            "Sklep Lis",
            "--set",
            "client=Piekarnia Złoty Kłos",
            "--set",
            &format!("hubspot_id={deal}"),
        ])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    let o = e.sync().await;
    let sid = e.prop("Projects/Sklep Lis.md", "ssot_id").expect("sid");
    let r = e.record_by_ssot("deals", &sid);
    assert_eq!(r["id"], json!(deal), "{}", out(&o));
    assert_eq!(e.live("deals").len(), 2, "no duplicate deal");
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(e.v.join(".ssot/hubspot/state.json")).expect("state"),
    )
    .expect("json");
    assert!(state["invalid"].get(&deal).is_none(), "forgotten: {state}");
    assert!(state["invalid"].get(&blank).is_some(), "{state}");
    let o = e.run(&["check"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

/// A HubSpot edit that would make an existing note invalid (a required name emptied, a template
/// placeholder, a status the schema does not know) is not written into it, even under `remote-wins`: it is recorded as a conflict,
/// which `check` accepts and `resolve` settles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_edit_that_would_break_a_note_becomes_a_conflict() {
    let e = Env::new("conflict_policy = \"remote-wins\"").await;
    e.sync().await;
    let rid = e.prop(CLIENT, "hubspot_id").expect("id");
    let sid = e.prop(CLIENT, "ssot_id").expect("sid");
    e.patch(
        "contacts",
        &rid,
        json!({"properties": {"firstname": "", "lastname": "", "city": "{{date}}", "lifecyclestage": "subscriber", "phone": "+48 500 100 200"}}),
    )
    .await;
    for _ in 0..2 {
        let o = e.run(&["sync"]).await;
        assert_eq!(o.status.code(), Some(1), "{}", out(&o));
        let note = e.note(CLIENT);
        assert_eq!(
            e.prop(CLIENT, "name").as_deref(),
            Some("Piekarnia Złoty Kłos"),
            "{note}"
        );
        assert_eq!(
            e.prop(CLIENT, "city").as_deref(),
            Some("Warszawa"),
            "{note}"
        );
        assert_eq!(
            e.prop(CLIENT, "phone").as_deref(),
            Some("+48 500 100 200"),
            "the rest is pulled: {note}"
        );
        assert!(
            note.contains("sync_conflicts:\n  - \"name | vault: Piekarnia Złoty Kłos | hubspot: (empty)\"\n  - \"city | vault: Warszawa | hubspot: {{date}}\"\n  - \"status | vault: active | hubspot: subscriber\"\n"),
            "{note}"
        );
        let o = e.run(&["check"]).await;
        assert_eq!(o.status.code(), Some(0), "check accepts it: {}", out(&o));
    }
    // Taking HubSpot's value would break the note: refused.
    let before = e.note(CLIENT);
    let o = e
        .run(&["resolve", CLIENT, "name", "--take", "remote"])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("would make a note `check` rejects"),
        "{}",
        out(&o)
    );
    assert_eq!(e.note(CLIENT), before);
    for key in ["name", "city", "status"] {
        let o = e.run(&["resolve", CLIENT, key, "--take", "vault"]).await;
        assert!(o.status.success(), "{}", out(&o));
    }
    let o = e.sync().await;
    let r = e.record_by_ssot("contacts", &sid);
    assert_eq!(r["properties"]["city"], json!("Warszawa"), "{}", out(&o));
    assert_eq!(
        r["properties"]["firstname"],
        json!("Piekarnia Złoty"),
        "{r}"
    );
    assert!(!e.note(CLIENT).contains("sync_conflicts"));
}

/// Starts a sync of the real binary and `kill -9`s it as soon as its journal logs `event` (the
/// journal's new lines only, from byte `seen`). Returns the run id, when the event was seen.
async fn sync_killed_after(e: &Env, event: &str) -> Option<String> {
    use ssot_vault::sandbox::DEFAULT_HUBSPOT_TOKEN;

    let journal = e.v.join(".ssot/hubspot/journal.jsonl");
    let seen = std::fs::read_to_string(&journal).map_or(0, |t| t.len());
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ssot-vault"))
        .arg("--vault")
        .arg(&e.v)
        .arg("sync")
        .env("HUBSPOT_TOKEN", DEFAULT_HUBSPOT_TOKEN)
        .env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut run = None;
    for _ in 0..5000 {
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        run = text.get(seen..).and_then(|new| {
            new.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|v| v["event"] == json!(event))
                .and_then(|v| v["run"].as_str().map(str::to_string))
        });
        if run.is_some() || child.try_wait().ok().flatten().is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    run
}

/// A run killed after each step of its journal in turn, a HubSpot edit and a vault edit before
/// each: however the runs end, the history never credits the vault with a HubSpot edit, and
/// every HubSpot edit that reached the note is committed as HubSpot's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_at_every_step_never_credit_the_vault_with_a_hubspot_edit() {
    use ssot_vault::sandbox::FaultConfig;

    use crate::hs_env::{PROJECT, git};

    let e = Env::new("").await;
    e.sync().await;
    let start = git(&e.v, &["rev-parse", "HEAD"]).trim().to_string();
    let rid = e.prop(CLIENT, "hubspot_id").expect("id");
    let mut killed = 0;
    for (i, event) in ["start", "write", "notes", "push", "pushed", "saved"]
        .into_iter()
        .enumerate()
    {
        e.patch(
            "contacts",
            &rid,
            json!({"properties": {"city": format!("Miasto {i}")}}),
        )
        .await;
        let project = e.note(PROJECT);
        let budget = e.prop(PROJECT, "budget").expect("budget");
        std::fs::write(
            e.v.join(PROJECT),
            project.replace(
                &format!("budget: {budget}"),
                &format!("budget: {}", 45_001 + i),
            ),
        )
        .expect("edit project");
        e.sb.set_faults(FaultConfig {
            latency_ms: 150,
            ..FaultConfig::default()
        });
        killed += usize::from(sync_killed_after(&e, event).await.is_some());
        e.sb.set_faults(FaultConfig::default());
    }
    assert!(killed >= 5, "the runs were killed mid-way ({killed})");
    let o = e.sync().await;
    assert_eq!(git(&e.v, &["status", "--porcelain"]), "", "{}", out(&o));
    assert_eq!(e.prop(CLIENT, "city").as_deref(), Some("Miasto 5"));
    let sid = e.prop(CLIENT, "ssot_id").expect("sid");
    assert_eq!(
        e.record_by_ssot("contacts", &sid)["properties"]["city"],
        json!("Miasto 5")
    );
    // Every change to the client's city in the history since: HubSpot's, never the vault's.
    let log = git(
        &e.v,
        &[
            "-c",
            "core.quotePath=false",
            "log",
            "--format=%x01%B",
            &format!("{start}..HEAD"),
        ],
    );
    let mut seen = 0;
    for msg in log.split('\u{1}').filter(|m| !m.trim().is_empty()) {
        if msg.contains(&format!("{CLIENT}: city:")) {
            seen += 1;
            assert!(
                msg.contains("Ssot-Source: hubspot") && msg.contains("Ssot-Run: "),
                "a HubSpot edit credited to another source: {msg}\n{log}"
            );
        }
    }
    assert!(seen >= 2, "{log}");
}

/// A person's save that lands while a run writes is the vault's: the run's commit holds only the
/// notes carrying exactly the bytes the run wrote, and the save is committed by the next commit
/// of the vault's edits (`Ssot-Source: vault`), never under the service's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_made_during_a_run_is_committed_as_the_vaults() {
    use ssot_vault::fsutil::TEST_BEFORE_RENAME_ENV;
    let e = Env::new("").await;
    e.sync().await;
    let id = e.prop(CLIENT, "hubspot_id").expect("id");
    e.patch("contacts", &id, json!({"properties": {"city": "Kraków"}}))
        .await;
    let head_before = git(&e.v, &["rev-parse", "HEAD"]);
    // The hook appends a person's line to the note just before the run's rename.
    let o = e
        .run_with(
            &["sync"],
            &[(
                TEST_BEFORE_RENAME_ENV,
                "\nWritten in Obsidian during the run.\n",
            )],
        )
        .await;
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        e.note(CLIENT)
            .ends_with("\nWritten in Obsidian during the run.\n")
    );
    // Not in any commit the run made: still a change of the work tree.
    let status = git(&e.v, &["status", "--porcelain", "--", CLIENT]);
    assert!(!status.trim().is_empty(), "the save is left uncommitted");
    let touched = git(
        &e.v,
        &[
            "log",
            "--format=%H",
            &format!("{}..HEAD", head_before.trim()),
            "--",
            CLIENT,
        ],
    );
    assert!(
        touched.trim().is_empty(),
        "the run committed the save: {touched}"
    );
    // The next run commits it as the vault's, then merges HubSpot's change.
    e.sync().await;
    let msgs = git(&e.v, &["log", "--format=%B%x00", "--", CLIENT]);
    let saved_in = msgs
        .split('\0')
        .find(|m| !m.trim().is_empty())
        .expect("a commit of the note");
    assert!(
        e.note(CLIENT).contains("city: Kraków"),
        "{}",
        e.note(CLIENT)
    );
    let first_commit_with_save = git(
        &e.v,
        &[
            "log",
            "--reverse",
            "--format=%H",
            "-S",
            "Written in Obsidian during the run.",
            "--",
            CLIENT,
        ],
    );
    let sha = first_commit_with_save
        .lines()
        .next()
        .expect("the save is committed");
    let body = git(&e.v, &["show", "-s", "--format=%B", sha]);
    assert!(
        body.contains("Ssot-Source: vault"),
        "{body}\n(latest: {saved_in})"
    );
}

/// A person's own note (no managed type, no id, outside the managed folders) whose YAML does not
/// parse is none of the sync's business: the run exits 0 and does not name it; the same break in
/// a managed note is reported and exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_note_of_ones_own_does_not_fail_the_sync() {
    let e = Env::new("").await;
    e.sync().await;
    let own = "Inbox/Ideas.md";
    let text = "---\ntags: [meeting\n---\nCall the bakery.\n";
    crate::common::write(&e.v, own, text);
    let o = e.run(&["sync"]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert!(!out(&o).contains("Ideas"), "{}", out(&o));
    assert_eq!(e.note(own), text, "never written");
    // The same break inside a managed folder is the sync's to report.
    crate::common::write(&e.v, "Clients/Draft.md", text);
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("Clients/Draft.md:3:1: invalid YAML"),
        "{}",
        out(&o)
    );
}

/// Association reads the sandbox has answered.
fn association_reads(e: &Env) -> u64 {
    e.sb.request_counts()
        .by_endpoint
        .get("POST /crm/v4/associations/{from}/{to}/batch/read")
        .copied()
        .unwrap_or(0)
}

/// A HubSpot-defined deal → contact association of a create input.
fn to_contact(id: &str) -> Value {
    json!({"to": {"id": id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deals_made_in_hubspot_take_their_client_from_their_associated_contacts() {
    use crate::hs_env::EXPERT;

    let e = Env::new("").await;
    e.sync().await;
    let client = e.prop(CLIENT, "hubspot_id").expect("client's contact");
    let expert = e.prop(EXPERT, "hubspot_id").expect("expert's contact");
    let projects = notes_in(&e, "Projects");
    // 101 deals with the client's contact (two batches of association reads), the first with the
    // expert's too; one with the expert's contact only.
    let mut inputs: Vec<Value> = (0..101)
        .map(|i| {
            json!({"properties": {"dealname": format!("Deal {i:03}"), "dealstage": "qualifiedtobuy"},
                "associations": [to_contact(&client)]})
        })
        .collect();
    inputs[0]["associations"] = json!([to_contact(&expert), to_contact(&client)]);
    let mut ids = Vec::new();
    for chunk in inputs.chunks(100) {
        let r = e
            .hs(
                reqwest::Method::POST,
                "/crm/v3/objects/deals/batch/create",
                Some(json!({ "inputs": chunk })),
            )
            .await;
        for d in r["results"].as_array().expect("created") {
            ids.push(d["id"].as_str().expect("id").to_string());
        }
    }
    assert_eq!(ids.len(), 101);
    let lone = e
        .hs(
            reqwest::Method::POST,
            "/crm/v3/objects/deals",
            Some(
                json!({"properties": {"dealname": "Only an expert", "dealstage": "qualifiedtobuy"},
                "associations": [to_contact(&expert)]}),
            ),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let reads = association_reads(&e);
    let asked = e.sb.association_requests().len();
    let o = e.run(&["sync"]).await;
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    // Read for the 102 new deals only, 100 a request.
    assert_eq!(association_reads(&e) - reads, 2, "{text}");
    // The deals' own associations are not asked for again.
    assert_eq!(e.sb.association_requests().len(), asked);
    let first = e.note("Projects/Deal 000.md");
    let sid = e.prop("Projects/Deal 000.md", "ssot_id").expect("sid");
    let created = e.prop("Projects/Deal 000.md", "created").expect("created");
    assert_eq!(
        first,
        format!(
            "---\ntype: project\nssot_id: {sid}\ncreated: {created}\nstatus: matching\n\
             client: \"[[Piekarnia Złoty Kłos]]\"\nexpert: \"[[Anna Nowak]]\"\nhubspot_id: \"{}\"\n---\n",
            ids[0]
        )
    );
    assert_eq!(
        e.prop("Projects/Deal 100.md", "client").as_deref(),
        Some("[[Piekarnia Złoty Kłos]]")
    );
    assert_eq!(e.prop("Projects/Deal 100.md", "expert"), None);
    assert_eq!(notes_in(&e, "Projects").len(), projects.len() + 101);
    // The deal with an expert only is reported, once, and not written.
    let reported: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("makes no valid"))
        .collect();
    assert_eq!(reported.len(), 1, "{text}");
    assert!(
        reported[0].contains(&format!("hubspot record {lone} (Only an expert)"))
            && reported[0].contains("missing required property `client`"),
        "{text}"
    );
    assert!(!e.v.join("Projects/Only an expert.md").exists());
    let o = e.run(&["check"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    // Unchanged: nothing reported. Each run that pulls the one deal without a note (the
    // overlap window re-reads it; a full read reads everything) reads its links again, one
    // request, and stays quiet while they have not changed; the deals with notes cost none.
    let reads = association_reads(&e);
    let head = git(&e.v, &["rev-parse", "HEAD"]);
    for (i, args) in [&["sync"][..], &["sync", "--full"][..]]
        .into_iter()
        .enumerate()
    {
        let o = e.run(args).await;
        assert_eq!(o.status.code(), Some(0), "{}", out(&o));
        assert!(!out(&o).contains("makes no valid"), "{}", out(&o));
        assert_eq!(association_reads(&e), reads + 1 + i as u64, "{args:?}");
    }
    assert_eq!(git(&e.v, &["rev-parse", "HEAD"]), head, "settled");
    // Associated with the client's contact in HubSpot (the deal itself unchanged): the next
    // full read makes its note.
    e.hs(
        reqwest::Method::PUT,
        &format!("/crm/v4/objects/deals/{lone}/associations/default/contacts/{client}"),
        None,
    )
    .await;
    let o = e.run(&["sync", "--full"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(
        e.prop("Projects/Only an expert.md", "client").as_deref(),
        Some("[[Piekarnia Złoty Kłos]]")
    );
    assert_eq!(
        e.prop("Projects/Only an expert.md", "expert").as_deref(),
        Some("[[Anna Nowak]]")
    );
    assert_eq!(git(&e.v, &["status", "--porcelain"]), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_client_and_its_deal_made_in_one_run_are_linked() {
    let e = Env::new("").await;
    e.sync().await;
    let ewa = e
        .hs(
            reqwest::Method::POST,
            "/crm/v3/objects/contacts",
            Some(json!({"properties": {"firstname": "Ewa", "lastname": "Lis", "email": "ewa@lis.pl", "ssot_role": "client"}})),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    // A second client named the same: its note is `Ewa Lis 2`, and the deal links to that name.
    let ewa2 = e
        .hs(
            reqwest::Method::POST,
            "/crm/v3/objects/contacts",
            Some(json!({"properties": {"firstname": "Ewa", "lastname": "Lis", "email": "ewa2@lis.pl", "ssot_role": "client"}})),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    e.hs(
        reqwest::Method::POST,
        "/crm/v3/objects/deals",
        Some(
            json!({"properties": {"dealname": "Sklep Lis", "dealstage": "appointmentscheduled"},
            "associations": [to_contact(&ewa2)]}),
        ),
    )
    .await;
    e.sync().await;
    let named = |id: &str| {
        notes_in(&e, "Clients")
            .into_iter()
            .find(|n| e.prop(&format!("Clients/{n}"), "hubspot_id").as_deref() == Some(id))
            .expect("a note of the contact")
    };
    assert_ne!(named(&ewa), named(&ewa2));
    let stem = named(&ewa2).trim_end_matches(".md").to_string();
    assert_eq!(
        e.prop("Projects/Sklep Lis.md", "client"),
        Some(format!("[[{stem}]]"))
    );
    let o = e.run(&["check"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_reads_associations_in_batches_as_the_v4_contract_says() {
    let e = Env::new("").await;
    let made = e
        .hs(
            reqwest::Method::POST,
            "/crm/v3/objects/deals/batch/create",
            Some(json!({"inputs": [
                {"properties": {"dealname": "A"}}, {"properties": {"dealname": "B"}}]})),
        )
        .await;
    let (a, b) = (
        made["results"][0]["id"].as_str().expect("a").to_string(),
        made["results"][1]["id"].as_str().expect("b").to_string(),
    );
    // 501 contacts associated with deal A: more than one page of one input.
    let mut contacts = Vec::new();
    for _ in 0..6 {
        let inputs: Vec<Value> = (0..100).map(|_| json!({"properties": {}})).collect();
        let r = e
            .hs(
                reqwest::Method::POST,
                "/crm/v3/objects/contacts/batch/create",
                Some(json!({ "inputs": inputs })),
            )
            .await;
        for c in r["results"].as_array().expect("contacts") {
            contacts.push(c["id"].as_str().expect("id").to_string());
        }
    }
    contacts.truncate(501);
    let pairs: Vec<Value> = contacts
        .iter()
        .map(|c| json!({"from": {"id": a}, "to": {"id": c}}))
        .collect();
    e.hs(
        reqwest::Method::POST,
        "/crm/v4/associations/deals/contacts/batch/associate/default",
        Some(json!({ "inputs": pairs })),
    )
    .await;
    let read = |inputs: Value| {
        let e = &e;
        async move {
            let resp = e
                .http
                .post(format!(
                    "{}/crm/v4/associations/deals/contacts/batch/read",
                    e.sb.base_url()
                ))
                .bearer_auth(ssot_vault::sandbox::DEFAULT_HUBSPOT_TOKEN)
                .json(&json!({ "inputs": inputs }))
                .send()
                .await
                .expect("send");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("json"))
        }
    };
    // A's first page: 500 contacts, in id order, and the `after` of the next.
    let (status, page) = read(json!([{"id": a}])).await;
    assert_eq!(status, 200, "{page}");
    let r = &page["results"][0];
    assert_eq!(r["from"]["id"], json!(a));
    let got: Vec<&str> = r["to"]
        .as_array()
        .expect("to")
        .iter()
        .map(|t| t["toObjectId"].as_str().expect("string id"))
        .collect();
    assert_eq!(
        got,
        contacts[..500]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        r["to"][0]["associationTypes"],
        json!([{"category": "HUBSPOT_DEFINED", "typeId": 3}])
    );
    let after = r["paging"]["next"]["after"].clone();
    assert!(after.is_string(), "{r}");
    // The next page; and B, with no association, is an error of a 207 answer.
    let (status, page) = read(json!([{"id": a, "after": after}, {"id": b}])).await;
    assert_eq!(status, 207, "{page}");
    assert_eq!(page["results"].as_array().expect("results").len(), 1);
    assert_eq!(
        page["results"][0]["to"],
        json!([{"toObjectId": contacts[500], "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 3}]}])
    );
    assert!(page["results"][0].get("paging").is_none(), "{page}");
    assert_eq!(page["numErrors"], json!(1));
    assert_eq!(
        page["errors"][0]["subCategory"],
        json!("crm.associations.NO_ASSOCIATIONS_FOUND")
    );
    assert_eq!(page["errors"][0]["context"]["fromObjectId"], json!([b]));
    assert_eq!(
        page["errors"][0]["message"],
        json!(format!("No contact is associated with deal {b}."))
    );
    // More than 100 inputs: refused.
    let many: Vec<Value> = (0..101).map(|_| json!({"id": a})).collect();
    let (status, _) = read(Value::Array(many)).await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deal_whose_client_makes_no_valid_note_is_reported_once() {
    let e = Env::new("").await;
    e.sync().await;
    // A client's contact with a blank name (no valid note) and a deal associated with it only.
    let blank = e
        .hs(
            reqwest::Method::POST,
            "/crm/v3/objects/contacts",
            Some(json!({"properties": {"firstname": " ", "email": "blank@lis.pl", "ssot_role": "client"}})),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let deal = e
        .hs(
            reqwest::Method::POST,
            "/crm/v3/objects/deals",
            Some(
                json!({"properties": {"dealname": "Sklep Lis", "dealstage": "appointmentscheduled"},
                "associations": [to_contact(&blank)]}),
            ),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let o = e.run(&["sync"]).await;
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    for (id, what) in [
        (&blank, "missing required property `name`"),
        (&deal, "missing required property `client`"),
    ] {
        assert!(
            text.lines()
                .any(|l| l.contains(&format!("record {id} ")) && l.contains(what)),
            "{id}: {text}"
        );
    }
    // Its client's note could not be made: that is no change of its links, so neither record
    // is reported again while both stay as they are.
    for args in [&["sync"][..], &["sync", "--full"][..]] {
        let o = e.run(args).await;
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", out(&o));
        assert!(!out(&o).contains("makes no valid"), "{}", out(&o));
    }
    // The contact fixed in HubSpot: both notes are made, linked.
    e.patch(
        "contacts",
        &blank,
        json!({"properties": {"firstname": "Ewa", "lastname": "Lis"}}),
    )
    .await;
    let o = e.run(&["sync", "--full"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(
        e.prop("Projects/Sklep Lis.md", "client").as_deref(),
        Some("[[Ewa Lis]]")
    );
}
