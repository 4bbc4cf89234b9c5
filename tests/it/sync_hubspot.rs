//! The HubSpot-specific side of the sync, end to end: the real `ssot-vault` binary syncing a vault
//! made by `init` with the in-process HubSpot sandbox over real HTTP (how notes map to contacts,
//! companies and deals, associations, deal stages, the incremental pull's window, one-way fields,
//! `demo`). The generic sync tests (both ways, conflicts, archives, faults, crashes, lost state,
//! dry run, unreadable notes, `doctor`) are the conformance suite's (`conformance/`), which
//! HubSpot runs too. Every test asserts the sandbox's records and the notes' bytes.

use serde_json::{Value, json};

use crate::common::{bin, snapshot_tree};
use crate::hs_env::{
    CLIENT, EXPERT, Env, PROJECT, assign_and_accept, git, out, run_ok, tick_all_and_activate,
};

/// How the first sync maps the vault made by `init`: clients and experts become contacts (the
/// name split into first and last, the role, the lifecycle stage, skills joined by `;`), the
/// client's company a company, the project a deal at the stage its status maps to, associated
/// with the client's contact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_maps_notes_to_contacts_companies_and_associated_deals() {
    let e = Env::new("").await;
    e.sync().await;
    assert_eq!(e.live("contacts").len(), 3);
    assert_eq!(e.live("deals").len(), 1);
    let sid = e.prop(CLIENT, "ssot_id").expect("ssot_id");
    let contact = e.record_by_ssot("contacts", &sid);
    assert_eq!(
        e.prop(CLIENT, "hubspot_id"),
        contact["id"].as_str().map(str::to_string)
    );
    assert_eq!(contact["properties"]["firstname"], "Piekarnia Złoty");
    assert_eq!(contact["properties"]["lastname"], "Kłos");
    assert_eq!(contact["properties"]["ssot_role"], "client");
    assert_eq!(contact["properties"]["lifecyclestage"], "customer");
    let anna = e.record_by_ssot("contacts", &e.prop(EXPERT, "ssot_id").expect("id"));
    assert_eq!(
        anna["properties"]["ssot_skills"],
        "php;wordpress;woocommerce;ux;payments"
    );
    let deal = e.record_by_ssot("deals", &e.prop(PROJECT, "ssot_id").expect("id"));
    assert_eq!(deal["properties"]["dealname"], "Złoty Kłos online shop");
    assert_eq!(deal["properties"]["dealstage"], "qualifiedtobuy");
    assert_eq!(e.live("companies").len(), 1, "the client's company");
    // The deal is associated with the client's contact.
    let assoc = e
        .hs(
            reqwest::Method::GET,
            &format!(
                "/crm/v4/objects/deals/{}/associations/contacts",
                deal["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
    assert!(
        assoc
            .to_string()
            .contains(contact["id"].as_str().expect("id")),
        "{assoc}"
    );
}

/// A list field (`skills`, joined by `;` in HubSpot) and a table-mapped enum (the deal stage to the
/// project's status) come from HubSpot into the notes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_field_and_a_mapped_enum_come_from_hubspot() {
    let e = Env::new("").await;
    e.sync().await;
    let deal = e.prop(PROJECT, "hubspot_id").expect("deal id");
    e.patch(
        "deals",
        &deal,
        json!({"properties": {"dealstage": "closedwon"}}),
    )
    .await;
    let aid = e.prop(EXPERT, "hubspot_id").expect("id");
    e.patch(
        "contacts",
        &aid,
        json!({"properties": {"ssot_skills": "php;rust"}}),
    )
    .await;
    e.sync().await;
    assert_eq!(e.prop(PROJECT, "status").as_deref(), Some("done"));
    assert!(
        e.note(EXPERT).contains("skills:\n  - php\n  - rust\n"),
        "{}",
        e.note(EXPERT)
    );
}

/// The deal's stage follows the project through blocking and archiving: a block moves the deal
/// to a stage of its own (Decision Maker Bought-In, one back from the Contract Sent of an active
/// project), an unblock takes it back, and a project done then archived is a won deal. Each run
/// is settled: the next one commits nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deal_stage_follows_a_block_an_unblock_and_the_archive() {
    let e = Env::new("").await;
    e.sync().await;
    let sid = e.prop(PROJECT, "ssot_id").expect("ssot_id");
    let stage = |e: &Env| {
        e.record_by_ssot("deals", &sid)["properties"]["dealstage"]
            .as_str()
            .map(String::from)
    };
    assign_and_accept(&e).await;
    tick_all_and_activate(&e).await;
    e.sync().await;
    assert_eq!(stage(&e).as_deref(), Some("contractsent"));
    for (args, want) in [
        (
            &[
                "project",
                "block",
                "Złoty Kłos online shop",
                "--reason",
                "the client's server is down",
            ][..],
            "decisionmakerboughtin",
        ),
        (
            &["project", "unblock", "Złoty Kłos online shop"][..],
            "contractsent",
        ),
        (
            &["project", "done", "Złoty Kłos online shop"][..],
            "closedwon",
        ),
        (&["archive", "Złoty Kłos online shop"][..], "closedwon"),
    ] {
        run_ok(&e, args).await;
        let o = e.sync().await;
        assert_eq!(stage(&e).as_deref(), Some(want), "{args:?}: {}", out(&o));
        let head = git(&e.v, &["rev-parse", "HEAD"]);
        let o = e.sync().await;
        assert_eq!(
            git(&e.v, &["rev-parse", "HEAD"]),
            head,
            "{args:?}: settled: {}",
            out(&o)
        );
        assert_eq!(stage(&e).as_deref(), Some(want), "{args:?}: {}", out(&o));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_made_in_hubspot_become_notes_in_their_folders() {
    let e = Env::new("").await;
    e.sync().await;
    let ewa_id = e.hs(reqwest::Method::POST, "/crm/v3/objects/contacts", Some(json!({"properties": {"firstname": "Ewa", "lastname": "Lis", "email": "ewa@lis.pl", "city": "Gdańsk"}})))
        .await["id"].clone();
    let jan_id = e.hs(reqwest::Method::POST, "/crm/v3/objects/contacts", Some(json!({"properties": {"firstname": "Jan", "lastname": "Bąk", "email": "jan@bak.pl", "ssot_role": "expert", "ssot_skills": "go;k8s"}})))
        .await["id"].clone();
    // A deal associated with the client's and the expert's contacts (made in HubSpot too), and
    // one associated with no one: a project needs its client.
    let to = |id: &Value| json!({"to": {"id": id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]});
    let shop = e.hs(reqwest::Method::POST, "/crm/v3/objects/deals", Some(json!({"properties": {"dealname": "Sklep Lis", "dealstage": "appointmentscheduled", "amount": "12000"}, "associations": [to(&jan_id), to(&ewa_id)]})))
        .await["id"].clone();
    let alone = e.hs(reqwest::Method::POST, "/crm/v3/objects/deals", Some(json!({"properties": {"dealname": "Bez klienta", "dealstage": "appointmentscheduled"}})))
        .await["id"].clone();
    let o = e.run(&["sync"]).await;
    assert_eq!(
        o.status.code(),
        Some(1),
        "the deal with no client: {}",
        out(&o)
    );
    let text = out(&o);
    let reported: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("makes no valid"))
        .map(str::trim)
        .collect();
    assert_eq!(
        reported,
        [format!(
            "hubspot: hubspot record {} (Bez klienta) makes no valid project note, not written: missing required property `client`",
            alone.as_str().expect("id")
        )],
        "{}",
        out(&o)
    );
    assert!(!e.v.join("Projects/Bez klienta.md").exists());
    // The associated deal is a project note linked to the notes of its contacts.
    let sid = e.prop("Projects/Sklep Lis.md", "ssot_id").expect("sid");
    let created = e.prop("Projects/Sklep Lis.md", "created").expect("created");
    assert_eq!(
        e.note("Projects/Sklep Lis.md"),
        format!(
            "---\ntype: project\nssot_id: {sid}\ncreated: {created}\nstatus: intake\nbudget: 12000\nclient: \"[[Ewa Lis]]\"\nexpert: \"[[Jan Bąk]]\"\nhubspot_id: \"{}\"\n---\n",
            shop.as_str().expect("id")
        )
    );
    assert_eq!(e.record_by_ssot("deals", &sid)["id"], shop);
    let ewa = e.note("Clients/Ewa Lis.md");
    assert!(ewa.starts_with("---\ntype: client\nssot_id: "), "{ewa}");
    assert!(
        ewa.contains("\nname: Ewa Lis\nemail: ewa@lis.pl\ncity: Gdańsk\nhubspot_id: "),
        "{ewa}"
    );
    let jan = e.note("Experts/Jan Bąk.md");
    assert!(jan.contains("skills:\n  - go\n  - k8s\n"), "{jan}");
    // The records now carry the notes' ssot_ids; nothing was duplicated.
    let sid = e.prop("Clients/Ewa Lis.md", "ssot_id").expect("sid");
    e.record_by_ssot("contacts", &sid);
    assert_eq!(e.live("contacts").len(), 5);
    assert_eq!(e.live("deals").len(), 3);
    let o = e.run(&["check"]).await;
    assert!(
        !out(&o).contains("Ewa Lis.md") && !out(&o).contains("Sklep Lis.md"),
        "a pulled client and project are valid: {}",
        out(&o)
    );
    let head = git(&e.v, &["rev-parse", "HEAD"]);
    e.sync().await;
    assert_eq!(git(&e.v, &["rev-parse", "HEAD"]), head, "settled");
}

/// `ssot-vault demo` walks the process over the five emulators and leaves the vault and the
/// sandbox's state behind: the archived project's notes and trailers in the vault, and in the
/// saved state every service holding what the steps made. Its 30 s budget is asserted by its
/// benchmark (`benches/demo.rs`, one run in `.ci/run`), where it does not share the cores with
/// the other tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_walks_the_process_over_the_five_services_and_leaves_their_state() {
    let t = tempfile::tempdir().expect("tmp");
    let dir = t.path().join("demo");
    let o = bin()
        .arg("demo")
        .arg("--dir")
        .arg(&dir)
        .env_remove("GIT_AUTHOR_NAME")
        // The demo brings the sandbox's credentials: none from the environment.
        .env_remove("HUBSPOT_TOKEN")
        .env_remove("JIRA_API_TOKEN")
        .env_remove("TRELLO_TOKEN")
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .output()
        .expect("demo");
    assert!(o.status.success(), "{}", out(&o));
    let printed = out(&o);
    for step in ["== 1.", "== 4.", "== 8.", "== 9.", "== 10.", "== 12."] {
        assert!(printed.contains(step), "{step}: {printed}");
    }

    // The vault: the project archived with its intake and its ticket, the moves in the trailers.
    let archived = dir.join("Archive/Online table booking");
    let note = std::fs::read_to_string(archived.join("Online table booking.md")).expect("project");
    assert!(note.contains("\nstatus: archived\n"), "{note}");
    assert!(note.contains("nda-signed.pdf"), "the documents: {note}");
    for f in [
        "Online table booking.csv",
        "Online table booking.xml",
        "Intake Marta Sowa.md",
    ] {
        assert!(archived.join(f).exists(), "{f}");
    }
    let log = git(&dir, &["log", "--format=%(trailers:only,unfold)"]);
    for trailer in [
        "Ssot-Source: forms",
        "Ssot-Source: trello",
        "Ssot-Transition: matching→proposed",
        "Ssot-Transition: accepted→credentialing",
        "Ssot-Transition: credentialing→active",
        "Ssot-Transition: active→done",
        "Ssot-Transition: done→archived",
    ] {
        assert!(log.contains(trailer), "{trailer}: {log}");
    }
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");

    // The services, from the state file the demo left.
    let state = t.path().join("demo.sandbox.json");
    assert!(state.exists(), "{printed}");
    assert!(printed.contains(&format!("--state \"{}\"", state.display())));
    let cfg = ssot_vault::sandbox::SandboxConfig {
        state_file: Some(state),
        ..ssot_vault::sandbox::SandboxConfig::default()
    };
    let sb = ssot_vault::sandbox::Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg)
        .await
        .expect("the state loads");
    let live = |service: &str, kind: &str| {
        sb.remote(service)
            .expect("emulator")
            .live(kind)
            .expect("records")
    };
    let named = |service: &str, kind: &str, field: &str, value: &str| {
        live(service, kind)
            .into_iter()
            .filter(|r| r.field(field) == Some(value))
            .collect::<Vec<_>>()
    };
    let deals = named("hubspot", "deals", "dealname", "Online table booking");
    assert_eq!(deals.len(), 1, "{deals:?}");
    assert_eq!(deals[0].field("dealstage"), Some("closedwon"));
    assert_eq!(
        named("hubspot", "contacts", "email", "marta@kawiarniasowa.pl").len(),
        1
    );
    let issues = live("jira", "issues");
    assert!(
        !issues.iter().any(|i| i
            .field("summary")
            .is_some_and(|s| s.starts_with("Online table booking"))),
        "the issue and its task deleted: {issues:?}"
    );
    assert_eq!(issues.len(), 1, "the template's project's: {issues:?}");
    let cards = named("trello", "cards", "name", "Online table booking");
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(cards[0].field("list"), Some("Archived"));
    let card = cards[0].id.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let attachments = reqwest::Client::new()
        .get(format!("{}/1/cards/{card}/attachments", sb.base_url()))
        .header(
            "Authorization",
            format!(
                "OAuth oauth_consumer_key=\"{}\", oauth_token=\"sandbox-trello-token-ola\"",
                ssot_vault::sandbox::DEFAULT_TRELLO_KEY
            ),
        )
        .send()
        .await
        .expect("attachments")
        .text()
        .await
        .expect("body");
    for name in [
        "nda-signed.pdf",
        "Online table booking.csv",
        "Online table booking.xml",
    ] {
        assert!(attachments.contains(name), "{name}: {attachments}");
    }
    let rows = named("sheets", "Projects", "title", "Online table booking");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].field("status"), Some("archived"));
    assert_eq!(live("forms", "intake").len(), 1);
    assert_eq!(live("forms", "helpdesk").len(), 1);
    let tickets = live("trello", "cards")
        .into_iter()
        .filter(|c| c.field("list") == Some("Closed"))
        .count();
    assert_eq!(tickets, 1, "the helpdesk ticket's card, closed");
}

/// The incremental pull leaves out records whose last write was one of our runs unless they
/// changed after that run's writes ended; an edit made in HubSpot while our run was still writing
/// is caught by the periodic full re-read (`full_pull_hours`, or `sync --full`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pull_catches_an_edit_made_during_our_own_writes() {
    let e = Env::new("").await;
    e.sync().await;
    let id = e.prop(CLIENT, "hubspot_id").expect("id");
    // Stretch our last run's write phase over the coming edit, as if HubSpot's user had saved the
    // record in the second between our write and the end of our run.
    let state_path = e.v.join(".ssot/hubspot/state.json");
    let mut state: Value =
        serde_json::from_slice(&std::fs::read(&state_path).expect("state")).expect("json");
    let later = jiff::Timestamp::now().as_millisecond() + 3_600_000;
    let runs = state["connector"]["runs"]["contacts"]
        .as_array_mut()
        .expect("runs");
    assert!(!runs.is_empty());
    for r in runs.iter_mut() {
        r["end_ms"] = json!(later);
    }
    std::fs::write(&state_path, serde_json::to_vec(&state).expect("json")).expect("write state");
    e.patch("contacts", &id, json!({"properties": {"city": "Gdańsk"}}))
        .await;
    e.sync().await;
    assert_eq!(
        e.prop(CLIENT, "city").as_deref(),
        Some("Warszawa"),
        "the incremental pull cannot see it"
    );
    let o = e.run(&["sync", "--full"]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(
        e.prop(CLIENT, "city").as_deref(),
        Some("Gdańsk"),
        "the full pull does"
    );
    let c = e.record_by_ssot("contacts", &e.prop(CLIENT, "ssot_id").expect("sid"));
    assert_eq!(c["properties"]["city"], "Gdańsk");
}

/// One-way fields settle in the run that creates: a note's service-owned field takes the value
/// the service gave the new record, and a note made from a record takes the vault-owned fields
/// of that record too. The next sync has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_way_fields_settle_in_the_first_sync() {
    let e = Env::new(
        "[remotes.hubspot.fields.client]\ncreated = \"createdate\"\n\n[remotes.hubspot.directions.client]\ncreated = \"pull\"\nphone = \"push\"",
    )
    .await;
    e.hs(reqwest::Method::POST, "/crm/v3/objects/contacts", Some(json!({"properties": {"firstname": "Ewa", "lastname": "Lis", "email": "ewa@lis.pl", "phone": "+48 500 100 200"}})))
        .await;
    assert_eq!(e.prop(CLIENT, "created").as_deref(), Some("2026-11-20"));
    e.sync().await;
    // The created contact's `createdate` (HubSpot's, read-only) came back into the note.
    let sid = e.prop(CLIENT, "ssot_id").expect("sid");
    let rec = e.record_by_ssot("contacts", &sid);
    let createdate = rec["properties"]["createdate"]
        .as_str()
        .expect("createdate")
        .to_string();
    assert_eq!(
        e.prop(CLIENT, "created").as_deref(),
        Some(&createdate[..10]),
        "{}",
        e.note(CLIENT)
    );
    // The contact made in HubSpot became a note with its phone, which the vault owns from now.
    let ewa = e.note("Clients/Ewa Lis.md");
    assert!(ewa.contains("\nphone: "), "{ewa}");
    assert_eq!(
        e.prop("Clients/Ewa Lis.md", "phone").as_deref(),
        Some("+48 500 100 200")
    );
    // Settled: the second sync changes nothing.
    let head = git(&e.v, &["rev-parse", "HEAD"]);
    let before = snapshot_tree(&e.v);
    e.sync().await;
    assert_eq!(
        git(&e.v, &["rev-parse", "HEAD"]),
        head,
        "settled in one run"
    );
    let after = snapshot_tree(&e.v);
    let changed: Vec<&String> = after
        .iter()
        .filter(|(k, v)| !k.starts_with(".ssot/") && before.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
    // The vault owns `phone`: a HubSpot edit of it is overwritten by the note's value.
    let ewa_id = e.prop("Clients/Ewa Lis.md", "hubspot_id").expect("id");
    e.patch(
        "contacts",
        &ewa_id,
        json!({"properties": {"phone": "+48 999 999 999"}}),
    )
    .await;
    e.sync().await;
    assert_eq!(
        e.prop("Clients/Ewa Lis.md", "phone").as_deref(),
        Some("+48 500 100 200")
    );
    let sid = e.prop("Clients/Ewa Lis.md", "ssot_id").expect("sid");
    assert_eq!(
        e.record_by_ssot("contacts", &sid)["properties"]["phone"],
        json!("+48 500 100 200")
    );
}
