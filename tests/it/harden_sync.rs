//! HubSpot's side of sync integrity: records that cannot make a valid note (a deal with no
//! associated client, a contact with a blank name), a HubSpot edit that would break a note, deals
//! linked through their associations. (The generic cases, among them unreadable notes,
//! crash-then-resume attribution and saves during a run, are the conformance suite's,
//! `conformance/suite.rs`.)

use serde_json::{Value, json};

use crate::hs_env::{CLIENT, Env, git, out};

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
        // Nor planned again: it is remembered with the links it had (its expert's note).
        assert!(!out(&o).contains("Only an expert"), "{}", out(&o));
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
