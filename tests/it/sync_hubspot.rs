//! The sync engine end to end: the real `ssot-vault` binary syncing a vault made by `init` with
//! the in-process HubSpot sandbox over real HTTP. Every test asserts the sandbox's records and the
//! notes' bytes.

use std::time::Duration;

use serde_json::{Value, json};
use ssot_vault::sandbox::{DEFAULT_HUBSPOT_TOKEN, FaultConfig, SandboxConfig};

use crate::common::{bin, snapshot_tree, write};
use crate::hs_env::{CLIENT, EXPERT, Env, PROJECT, git, out, quiet};
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_creates_records_and_an_unchanged_resync_costs_one_request_per_type() {
    let e = Env::new("").await;
    let before = snapshot_tree(&e.v);
    let dry = e.run(&["sync", "--dry-run"]).await;
    assert!(dry.status.success(), "{}", out(&dry));
    assert!(
        out(&dry).contains("create   Clients/Piekarnia Złoty Kłos.md"),
        "{}",
        out(&dry)
    );
    assert_eq!(snapshot_tree(&e.v), before, "--dry-run changes nothing");
    assert!(e.live("contacts").is_empty() && e.live("deals").is_empty());

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
    // One commit, by the sync, with its trailers.
    let log = git(&e.v, &["log", "-1", "--format=%an%n%B"]);
    assert!(
        log.starts_with("ssot-vault (hubspot)\nSync with hubspot"),
        "{log}"
    );
    assert!(
        log.contains("Ssot-Source: hubspot") && log.contains("Ssot-Run: "),
        "{log}"
    );
    assert_eq!(git(&e.v, &["status", "--porcelain"]), "");

    // Unchanged vault and HubSpot: one search per object type, no commit.
    let head = git(&e.v, &["rev-parse", "HEAD"]);
    let n = e.requests();
    e.sync().await;
    assert_eq!(e.requests() - n, 2, "{:?}", e.sb.request_counts());
    assert_eq!(git(&e.v, &["rev-parse", "HEAD"]), head);
    let n = e.requests();
    e.sync().await;
    assert_eq!(e.requests() - n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_flow_both_ways_and_a_remote_change_is_a_one_line_diff() {
    let e = Env::new("").await;
    e.sync().await;
    let id = e.prop(CLIENT, "hubspot_id").expect("id");
    // HubSpot → vault.
    e.patch("contacts", &id, json!({"properties": {"city": "Kraków"}}))
        .await;
    let before = e.note(CLIENT);
    e.sync().await;
    let after = e.note(CLIENT);
    assert_eq!(after, before.replace("city: Warszawa", "city: Kraków"));
    let diff = git(&e.v, &["show", "--format=", "-U0", "HEAD", "--", CLIENT]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(changed, ["-city: Warszawa", "+city: Kraków"], "{diff}");
    // Vault → HubSpot; the vault edit is committed first as Ssot-Source: vault.
    let o = e.run(&["set", CLIENT, "phone=+48 600 100 200"]).await;
    assert!(o.status.success(), "{}", out(&o));
    let n = e.requests();
    e.sync().await;
    let c = e.record_by_ssot("contacts", &e.prop(CLIENT, "ssot_id").expect("id"));
    assert_eq!(c["properties"]["phone"], "+48 600 100 200");
    assert_eq!(c["properties"]["city"], "Kraków");
    assert!(e.requests() - n <= 4, "{:?}", e.sb.request_counts());
    let log = git(&e.v, &["log", "-1", "--format=%B"]);
    assert!(log.contains("Ssot-Source: vault"), "{log}");
    // A list field and a table-mapped enum, remote → vault.
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

async fn make_conflict(e: &Env) {
    let id = e.prop(CLIENT, "hubspot_id").expect("id");
    e.patch("contacts", &id, json!({"properties": {"city": "Gdynia"}}))
        .await;
    let o = e.run(&["set", CLIENT, "city=Sopot"]).await;
    assert!(o.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_manual_recorded_then_resolved_either_way() {
    let e = Env::new("").await;
    e.sync().await;
    make_conflict(&e).await;
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(
        e.prop(CLIENT, "city").as_deref(),
        Some("Sopot"),
        "the vault value stays"
    );
    assert!(
        e.note(CLIENT)
            .contains("sync_conflicts:\n  - \"city | vault: Sopot | hubspot: Gdynia\"\n"),
        "{}",
        e.note(CLIENT)
    );
    let sid = e.prop(CLIENT, "ssot_id").expect("sid");
    assert_eq!(
        e.record_by_ssot("contacts", &sid)["properties"]["city"],
        "Gdynia"
    );
    // The note still parses (check sees no unreadable note).
    let o = e.run(&["check"]).await;
    assert!(!out(&o).contains("cannot"), "{}", out(&o));
    // A second sync leaves it as it is.
    let before = e.note(CLIENT);
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(e.note(CLIENT), before);
    // Take the remote's value.
    let o = e
        .run(&["resolve", CLIENT, "city", "--take", "remote"])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(e.prop(CLIENT, "city").as_deref(), Some("Gdynia"));
    assert!(!e.note(CLIENT).contains("sync_conflicts"));
    e.sync().await;
    assert_eq!(
        e.record_by_ssot("contacts", &sid)["properties"]["city"],
        "Gdynia"
    );
    // Again, taking the vault's value this time: it is pushed.
    let id = e.prop(CLIENT, "hubspot_id").expect("id");
    e.patch("contacts", &id, json!({"properties": {"city": "Hel"}}))
        .await;
    assert!(e.run(&["set", CLIENT, "city=Puck"]).await.status.success());
    assert_eq!(e.run(&["sync"]).await.status.code(), Some(1));
    let o = e
        .run(&["resolve", "Piekarnia Złoty Kłos", "city", "--take", "vault"])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    e.sync().await;
    assert_eq!(e.prop(CLIENT, "city").as_deref(), Some("Puck"));
    assert_eq!(
        e.record_by_ssot("contacts", &sid)["properties"]["city"],
        "Puck"
    );
    assert!(!e.note(CLIENT).contains("sync_conflicts"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_vault_wins_and_remote_wins() {
    for (policy, expect) in [("vault-wins", "Sopot"), ("remote-wins", "Gdynia")] {
        let e = Env::new(&format!("conflict_policy = \"{policy}\"")).await;
        e.sync().await;
        make_conflict(&e).await;
        let o = e.run(&["sync"]).await;
        assert_eq!(o.status.code(), Some(0), "{policy}: {}", out(&o));
        assert_eq!(e.prop(CLIENT, "city").as_deref(), Some(expect), "{policy}");
        let sid = e.prop(CLIENT, "ssot_id").expect("sid");
        assert_eq!(
            e.record_by_ssot("contacts", &sid)["properties"]["city"],
            expect,
            "{policy}"
        );
        assert!(!e.note(CLIENT).contains("sync_conflicts"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_both_ways_and_the_share_rail() {
    let e = Env::new("archive_deleted_notes = true\ncheck_archived_minutes = 0").await;
    e.sync().await;
    // Archived in HubSpot: the note is marked, never deleted.
    let tomasz = "Experts/Tomasz Wiśniewski.md";
    let id = e.prop(tomasz, "hubspot_id").expect("id");
    e.hs(
        reqwest::Method::DELETE,
        &format!("/crm/v3/objects/contacts/{id}"),
        None,
    )
    .await;
    let before = e.note(tomasz);
    e.sync().await;
    let after = e.note(tomasz);
    assert!(
        after.starts_with(&before[..before.find("\n---\n").expect("fence")]),
        "{after}"
    );
    assert!(after.contains("\nhubspot_archived: "), "{after}");
    assert_eq!(e.live("contacts").len(), 2, "no re-creation");
    // Deleted in the vault: 1 of 3 live records is over 20 %: refused without --force.
    std::fs::remove_file(e.v.join(EXPERT)).expect("rm");
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("would archive 1 of"), "{}", out(&o));
    assert_eq!(e.live("contacts").len(), 2, "nothing archived");
    let o = e.run(&["sync", "--force"]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(e.live("contacts").len(), 1);
    let head = git(&e.v, &["rev-parse", "HEAD"]);
    e.sync().await;
    assert_eq!(e.live("contacts").len(), 1);
    assert_eq!(git(&e.v, &["rev-parse", "HEAD"]), head);
    assert!(!e.v.join(EXPERT).exists(), "never re-created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_notes_leave_records_alone_by_default() {
    let e = Env::new("").await;
    e.sync().await;
    std::fs::remove_file(e.v.join(EXPERT)).expect("rm");
    e.sync().await;
    assert_eq!(e.live("contacts").len(), 3);
    e.sync().await;
    assert!(!e.v.join(EXPERT).exists());
}

/// Syncs under a fault and checks the outcome is exactly the fault-free one.
async fn assert_converges(e: &Env) {
    let o = e.sync().await;
    assert_eq!(e.live("contacts").len(), 3, "{}", out(&o));
    assert_eq!(e.live("deals").len(), 1);
    for rel in [CLIENT, EXPERT, PROJECT] {
        let sid = e.prop(rel, "ssot_id").expect("sid");
        let object = if rel == PROJECT { "deals" } else { "contacts" };
        let r = e.record_by_ssot(object, &sid);
        assert_eq!(
            e.prop(rel, "hubspot_id"),
            r["id"].as_str().map(str::to_string),
            "{rel}"
        );
    }
    e.sb.set_faults(FaultConfig::default());
    let head = git(&e.v, &["rev-parse", "HEAD"]);
    e.sync().await;
    assert_eq!(
        git(&e.v, &["rev-parse", "HEAD"]),
        head,
        "nothing left to do"
    );
}

/// A first sync against a sandbox (`cfg`) failing with `faults` ends as a fault-free one.
async fn converges_under(cfg: SandboxConfig, faults: FaultConfig) {
    let e = Env::with(cfg, "").await;
    e.sb.set_faults(faults);
    assert_converges(&e).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_429_storm() {
    converges_under(
        SandboxConfig::default(),
        FaultConfig {
            storm_next: 6,
            ..FaultConfig::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_5xx() {
    converges_under(
        quiet(),
        FaultConfig {
            error_rate: 0.4,
            seed: Some(7),
            ..FaultConfig::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_dropped_connections_after_the_write() {
    converges_under(
        quiet(),
        FaultConfig {
            drop_rate: 0.4,
            drop_after_handling: true,
            seed: Some(3),
            ..FaultConfig::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_timeouts() {
    let e = Env::new("").await;
    e.sb.set_faults(FaultConfig {
        latency_ms: 1500,
        ..FaultConfig::default()
    });
    let sb_faults = async {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        e.sb.set_faults(FaultConfig::default());
    };
    let (o, ()) = tokio::join!(e.run(&["sync"]), sb_faults);
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("retried"), "{}", out(&o));
    assert_converges(&e).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_plan_and_changes_nothing() {
    let e = Env::new("").await;
    e.sync().await;
    let id = e.prop(CLIENT, "hubspot_id").expect("id");
    e.patch("contacts", &id, json!({"properties": {"city": "Łódź"}}))
        .await;
    assert!(
        e.run(&["set", EXPERT, "phone=+48 111 222 333"])
            .await
            .status
            .success()
    );
    let before = snapshot_tree(&e.v);
    let records = e.sb.hubspot_records("contacts");
    let o = e.run(&["sync", "--dry-run"]).await;
    assert!(o.status.success());
    let text = out(&o);
    assert!(
        text.contains("pull     Clients/Piekarnia Złoty Kłos.md ← hubspot: city = Łódź"),
        "{text}"
    );
    assert!(
        text.contains("push     Experts/Anna Nowak.md → hubspot: phone = +48 111 222 333"),
        "{text}"
    );
    assert_eq!(snapshot_tree(&e.v), before);
    assert_eq!(e.sb.hubspot_records("contacts"), records);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_state_folder_costs_no_duplicate_no_conflict_no_edit() {
    let e = Env::new("").await;
    e.sync().await;
    // An edit on each side, then `.ssot/` is lost.
    assert!(
        e.run(&["set", CLIENT, "phone=+48 500 600 700"])
            .await
            .status
            .success()
    );
    let aid = e.prop(EXPERT, "hubspot_id").expect("id");
    e.patch("contacts", &aid, json!({"properties": {"city": "Poznań"}}))
        .await;
    std::fs::remove_dir_all(e.v.join(".ssot")).expect("rm .ssot");
    let o = e.sync().await;
    assert!(!out(&o).contains("conflict"), "{}", out(&o));
    assert_eq!(e.live("contacts").len(), 3);
    assert_eq!(e.live("deals").len(), 1);
    assert_eq!(e.prop(EXPERT, "location").as_deref(), Some("Poznań"));
    let sid = e.prop(CLIENT, "ssot_id").expect("sid");
    assert_eq!(
        e.record_by_ssot("contacts", &sid)["properties"]["phone"],
        "+48 500 600 700"
    );
    assert!(!e.note(CLIENT).contains("sync_conflicts"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_edited_during_the_sync_is_never_clobbered() {
    let e = Env::new("").await;
    e.sync().await;
    let id = e.prop(CLIENT, "hubspot_id").expect("id");
    e.patch("contacts", &id, json!({"properties": {"city": "Gdańsk"}}))
        .await;
    // Searches are slow: the user edits the note while the sync waits for HubSpot.
    e.sb.set_faults(FaultConfig {
        latency_ms: 700,
        path_prefix: Some("/crm/v3/objects/contacts/search".into()),
        ..FaultConfig::default()
    });
    let searches = || {
        e.sb.request_counts()
            .by_endpoint
            .get("POST /crm/v3/objects/{type}/search")
            .copied()
            .unwrap_or(0)
    };
    let seen = searches();
    let edit = async {
        while searches() == seen {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let p = e.v.join(CLIENT);
        let text = std::fs::read_to_string(&p).expect("read");
        std::fs::write(&p, text.replace("size: small", "size: medium")).expect("write");
    };
    let (o, ()) = tokio::join!(e.run(&["sync"]), edit);
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("changed during the sync"), "{}", out(&o));
    let text = e.note(CLIENT);
    assert!(
        text.contains("size: medium") && text.contains("city: Warszawa"),
        "{text}"
    );
    e.sb.set_faults(FaultConfig::default());
    e.sync().await;
    let text = e.note(CLIENT);
    assert!(
        text.contains("size: medium") && text.contains("city: Gdańsk"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_sync_then_resume_makes_no_duplicate_and_loses_no_edit() {
    let e = Env::new("batch_size = 5").await;
    for i in 0..60 {
        write(
            &e.v,
            &format!("Clients/Client {i:02}.md"),
            format!(
                "---\ntype: client\nssot_id: 01KAAAAAAAAAAAAAAAAAAA{i:04}\ncreated: 2026-11-20\nname: Client {i:02}\nemail: c{i}@example.com\ncity: Town {i}\n---\n"
            ),
        );
    }
    e.sb.set_faults(FaultConfig {
        latency_ms: 60,
        ..FaultConfig::default()
    });
    let v = e.v.clone();
    let mut child = tokio::task::spawn_blocking(move || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("ssot-vault"))
            .arg("--vault")
            .arg(&v)
            .arg("sync")
            .env("HUBSPOT_TOKEN", DEFAULT_HUBSPOT_TOKEN)
            .env("GIT_AUTHOR_NAME", "Test User")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test User")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn")
    })
    .await
    .expect("join");
    // Kill it once some records are written.
    for _ in 0..200 {
        let upserts =
            e.sb.request_counts()
                .by_endpoint
                .iter()
                .filter(|(k, _)| k.contains("batch/upsert"))
                .map(|(_, n)| *n)
                .sum::<u64>();
        if upserts >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    let written = e.live("contacts").len();
    assert!(
        written > 0 && written < 63,
        "killed mid-sync ({written} written)"
    );
    // An edit made after the crash, then the resume.
    e.sb.set_faults(FaultConfig::default());
    assert!(
        e.run(&["set", "Client 00", "city=Resumed"])
            .await
            .status
            .success()
    );
    e.sync().await;
    let live = e.live("contacts");
    assert_eq!(live.len(), 63, "every client once");
    let mut sids: Vec<&str> = live
        .iter()
        .filter_map(|r| r["properties"]["ssot_id"].as_str())
        .collect();
    sids.sort_unstable();
    sids.dedup();
    assert_eq!(sids.len(), 63, "no duplicate");
    for i in 0..60 {
        let rel = format!("Clients/Client {i:02}.md");
        let r = e.record_by_ssot("contacts", &format!("01KAAAAAAAAAAAAAAAAAAA{i:04}"));
        assert_eq!(
            e.prop(&rel, "hubspot_id"),
            r["id"].as_str().map(str::to_string),
            "{rel}"
        );
    }
    assert_eq!(
        e.record_by_ssot("contacts", "01KAAAAAAAAAAAAAAAAAAA0000")["properties"]["city"],
        "Resumed"
    );
    assert_eq!(git(&e.v, &["status", "--porcelain"]), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_credentials_the_service_and_git() {
    let e = Env::new("").await;
    let o = e.run(&["doctor"]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("ok   hubspot: HubSpot at"), "{}", out(&o));
    assert!(
        !out(&o).contains(DEFAULT_HUBSPOT_TOKEN),
        "the token is never printed"
    );
    let v = e.v.clone();
    let o = tokio::task::spawn_blocking(move || {
        bin()
            .arg("--vault")
            .arg(&v)
            .arg("doctor")
            .env("HUBSPOT_TOKEN", "wrong")
            .output()
            .expect("run")
    })
    .await
    .expect("join");
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("FAIL hubspot: healthcheck"), "{}", out(&o));
    assert!(!out(&o).contains("wrong"), "{}", out(&o));
}

#[test]
fn demo_syncs_both_ways_and_records_a_conflict() {
    let t = tempfile::tempdir().expect("tmp");
    let dir = t.path().join("demo");
    let o = bin()
        .arg("demo")
        .arg("--dir")
        .arg(&dir)
        .env_remove("GIT_AUTHOR_NAME")
        .output()
        .expect("demo");
    assert!(o.status.success(), "{}", out(&o));
    let note = std::fs::read_to_string(dir.join(PROJECT)).expect("project");
    assert!(
        note.contains("sync_conflicts:\n  - \"summary | vault: "),
        "{note}"
    );
    let client = std::fs::read_to_string(dir.join(CLIENT)).expect("client");
    assert!(client.contains("city: Kraków"), "{client}");
    let log = git(&dir, &["log", "--format=%an %s"]);
    assert!(
        log.contains("ssot-vault (hubspot) Sync with hubspot"),
        "{log}"
    );
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

/// The lifecycle's guards hold for the services: a status changed by hand in a way the lifecycle
/// refuses is not carried to HubSpot (exit 1, the reason named), and the rest of the note is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_illegal_status_change_is_not_carried_to_hubspot() {
    let e = Env::new("").await;
    e.sync().await;
    let sid = e.prop(PROJECT, "ssot_id").expect("sid");
    let stage_before = e.record_by_ssot("deals", &sid)["properties"]["dealstage"].clone();
    let text = e.note(PROJECT);
    assert!(text.contains("status: matching\n"));
    std::fs::write(
        e.v.join(PROJECT),
        text.replace("status: matching\n", "status: active\n")
            .replace("budget: 45000\n", "budget: 47000\n"),
    )
    .expect("edit");
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("status matching→active"), "{}", out(&o));
    let deal = e.record_by_ssot("deals", &sid);
    assert_eq!(
        deal["properties"]["dealstage"], stage_before,
        "the illegal status stays home"
    );
    assert_eq!(
        deal["properties"]["amount"], "47000",
        "the other field goes"
    );
    // Still refused on the next run (the base keeps the last legal status).
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(
        e.record_by_ssot("deals", &sid)["properties"]["dealstage"],
        stage_before
    );
    // Put back by hand: nothing is refused any more.
    std::fs::write(
        e.v.join(PROJECT),
        e.note(PROJECT)
            .replace("status: active\n", "status: matching\n"),
    )
    .expect("edit");
    e.sync().await;
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

/// A note that does not parse is reported `path:line:col`, never written, and the run goes on
/// with the other notes (exit 1: a problem is left).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_note_is_reported_and_left_alone_while_the_others_sync() {
    let e = Env::new("").await;
    let broken = "---\ntype: client\nssot_id: 01M7W3N2NP9CPP5XT6PJ2EC99Z\nname: [unclosed\nemail: x@y.pl\n---\nBody.\n";
    write(&e.v, "Clients/Broken.md", broken);
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("Clients/Broken.md:5:6: invalid YAML"),
        "reported with its line: {}",
        out(&o)
    );
    assert_eq!(e.note("Clients/Broken.md"), broken, "never written");
    // The other notes were synced.
    assert_eq!(e.live("contacts").len(), 3, "{}", out(&o));
    let sid = e.prop(CLIENT, "ssot_id").expect("sid");
    e.record_by_ssot("contacts", &sid);
    assert!(e.prop(CLIENT, "hubspot_id").is_some());
}
