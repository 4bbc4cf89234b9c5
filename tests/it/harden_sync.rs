//! Sync integrity: an unreadable note is not a deleted one, crash-then-resume attribution, records that cannot make a valid note.

use serde_json::{Value, json};

use crate::hs_env::{CLIENT, Env, out};

/// The base of `sid` in the HubSpot sync state.
fn base_entry(e: &Env, sid: &str) -> Value {
    let text = std::fs::read_to_string(e.v.join(".ssot/hubspot/state.json")).expect("state.json");
    let state: Value = serde_json::from_str(&text).expect("state json");
    state["base"][sid].clone()
}

/// Breaks the client's YAML, syncs (also a full run looking for archives), then fixes and edits
/// it: the record stays live, its base is kept, and the edit reaches HubSpot.
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
    for args in [&["sync"][..], &["sync", "--full", "--check-archived"][..]] {
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
    assert_eq!(base["deleted"], json!(false));
    assert_eq!(base["archived"], json!(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_note_does_not_archive_its_record() {
    unreadable_note_is_not_deleted(
        "archive_deleted_notes = true\nmax_archive_share = 1.0\ncheck_archived_minutes = 0",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_note_does_not_forget_its_record() {
    unreadable_note_is_not_deleted("").await;
}
