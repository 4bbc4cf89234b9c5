//! Google Sheets sync against the sandbox's Sheets emulator, through the real binary over real
//! HTTP: the first sync writes the rows; a cell edited in the sheet reaches its note and a note
//! edited reaches its cell; a tab sorted by hand, a column inserted before the key column,
//! columns reordered and a row deleted between syncs converge with the vault; a row typed by
//! hand becomes one note and gets its id, also after a `kill -9` between the id write and the
//! note; hostile cells make safe notes; a token expiring mid-run is renewed; an unchanged resync
//! is one request.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use ssot_vault::sandbox::FaultConfig;
use ssot_vault::sandbox::sheets::{BrowserEdit, SEED_SPREADSHEET_ID, admin_edit, admin_view};

use crate::conformance::harness::{Harness, Service};
use crate::conformance::sheets::{LIPA, ROZA, SheetsService, quiet};
use crate::hs_env::{CLIENT, EXPERT, PROJECT, git, out};

type H = Harness<SheetsService>;

const BATCH_GET: &str = "GET /v4/spreadsheets/{id}/values:batchGet";

/// The cells of a tab as typed, row by row.
fn rows(h: &H, tab: &str) -> Vec<Vec<String>> {
    let view = admin_view(h.remote().app, SEED_SPREADSHEET_ID).expect("spreadsheet");
    let sheet = view["sheets"]
        .as_array()
        .expect("tabs")
        .iter()
        .find(|s| s["title"] == tab)
        .cloned()
        .expect("tab");
    sheet["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|c| c.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .collect()
}

/// The row of a tab whose `ssot_id` cell holds `key`, by header.
fn row_by_key(h: &H, tab: &str, key: &str) -> Option<BTreeMap<String, String>> {
    let all = rows(h, tab);
    let header = all.first()?.clone();
    let c = header.iter().position(|x| x == "ssot_id")?;
    let row = all
        .iter()
        .skip(1)
        .find(|r| r.get(c).map(String::as_str) == Some(key))?;
    Some(
        header
            .iter()
            .cloned()
            .zip(row.iter().cloned().chain(std::iter::repeat(String::new())))
            .filter(|(h, _)| !h.is_empty())
            .collect(),
    )
}

/// The row of a note.
fn row_of(h: &H, tab: &str, note: &str) -> BTreeMap<String, String> {
    let sid = h.prop(note, "ssot_id").expect("ssot_id");
    row_by_key(h, tab, &sid).unwrap_or_else(|| panic!("a row for {note}: {:?}", rows(h, tab)))
}

/// A change made in the browser.
fn browser(h: &H, tab: &str, edit: BrowserEdit) {
    admin_edit(h.remote().app, SEED_SPREADSHEET_ID, tab, &edit).expect("browser edit");
}

/// Types a value into a cell (`B3`).
fn type_cell(h: &H, tab: &str, cell: &str, value: &str) {
    browser(
        h,
        tab,
        BrowserEdit::SetCell {
            cell: cell.into(),
            value: value.into(),
        },
    );
}

/// The A1 cell of the column headed `header` in 1-based row `row`.
fn cell_of(h: &H, tab: &str, header: &str, row: usize) -> String {
    let all = rows(h, tab);
    let c = all[0]
        .iter()
        .position(|x| x == header)
        .unwrap_or_else(|| panic!("column {header}: {:?}", all[0]));
    format!("{}{row}", ssot_vault::connectors::sheets::column_letters(c))
}

/// The 1-based row of a note's key.
fn row_number(h: &H, tab: &str, note: &str) -> usize {
    let sid = h.prop(note, "ssot_id").expect("ssot_id");
    let all = rows(h, tab);
    let c = all[0].iter().position(|x| x == "ssot_id").expect("key");
    all.iter()
        .position(|r| r.get(c) == Some(&sid))
        .map(|i| i + 1)
        .expect("row")
}

/// Types a new row under the last one, by header; returns its 1-based number.
fn type_row(h: &H, tab: &str, cells: &[(&str, &str)]) -> usize {
    let r = rows(h, tab).len() + 1;
    for (header, value) in cells {
        type_cell(h, tab, &cell_of(h, tab, header, r), value);
    }
    r
}

fn count(h: &H, endpoint: &str) -> u64 {
    h.count(endpoint)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_writes_rows_and_edits_travel_both_ways() {
    let h = H::new("").await;
    let o = h.sync().await;
    // Every note is a row keyed by its ssot_id, values as a person reads them.
    let c = row_of(&h, "Clients", CLIENT);
    assert_eq!(c["name"], "Piekarnia Złoty Kłos");
    assert_eq!(c["phone"], "+48 22 614 28 90", "text stays text");
    assert_eq!(c["status"], "active");
    let e = row_of(&h, "Experts", EXPERT);
    assert_eq!(
        e["specialty"], "php, wordpress, woocommerce, ux, payments",
        "a list joined with `, `"
    );
    assert_eq!(e["rate"], "180");
    let p = row_of(&h, "Projects", PROJECT);
    assert_eq!(p["title"], "Złoty Kłos online shop", "the note's title");
    assert_eq!(
        p["client"], "Piekarnia Złoty Kłos",
        "a link as its note's title"
    );
    assert_eq!(p["budget"], "45000");
    assert_eq!(
        h.prop(CLIENT, "sheets_id"),
        h.prop(CLIENT, "ssot_id"),
        "the row's key is the note's ssot_id"
    );
    assert!(out(&o).contains("6 created"), "{}", out(&o));
    // The read and one append per tab.
    assert!(out(&o).contains("; 4 requests"), "{}", out(&o));

    // Unchanged: one request, no commit.
    let head = h.head();
    let n = h.requests();
    h.sync().await;
    assert_eq!(h.requests() - n, 1, "{:?}", h.sb.request_counts());
    assert_eq!(h.head(), head);

    // A cell edited in the sheet → the note.
    let r = row_number(&h, "Clients", ROZA);
    type_cell(
        &h,
        "Clients",
        &cell_of(&h, "Clients", "email", r),
        "sklep@roza.pl",
    );
    // A date typed into a project's start (a date cell) and a number into its budget.
    let pr = row_number(&h, "Projects", PROJECT);
    type_cell(
        &h,
        "Projects",
        &cell_of(&h, "Projects", "start", pr),
        "2027-01-04",
    );
    type_cell(
        &h,
        "Projects",
        &cell_of(&h, "Projects", "budget", pr),
        "46500",
    );
    h.sync().await;
    assert_eq!(h.prop(ROZA, "email").as_deref(), Some("sklep@roza.pl"));
    assert!(
        h.note(PROJECT).contains("\nstart: 2027-01-04\n"),
        "{}",
        h.note(PROJECT)
    );
    assert!(
        h.note(PROJECT).contains("\nbudget: 46500\n"),
        "{}",
        h.note(PROJECT)
    );

    // A note edited → its cell (and nothing else in the tab).
    let before = rows(&h, "Clients");
    let o = h
        .run(&["set", "Piekarnia Złoty Kłos", "phone=+48 22 000 11 22"])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    let o = h.sync().await;
    assert_eq!(row_of(&h, "Clients", CLIENT)["phone"], "+48 22 000 11 22");
    // The read, the re-read of the header and key column, the write.
    assert!(out(&o).contains("; 3 requests"), "{}", out(&o));
    let after = rows(&h, "Clients");
    let changed: usize = before
        .iter()
        .zip(&after)
        .map(|(a, b)| a.iter().zip(b).filter(|(x, y)| x != y).count())
        .sum();
    assert_eq!(changed, 1, "one cell: {before:?} → {after:?}");
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorted_inserted_reordered_and_deleted_by_hand_converges() {
    let h = H::new("check_archived_minutes = 0").await;
    h.sync().await;
    let lipa_sid = h.prop(LIPA, "ssot_id").expect("sid");
    // Sorted by name, Z → A.
    browser(
        &h,
        "Clients",
        BrowserEdit::Sort {
            column: "B".into(),
            descending: true,
            header_rows: 1,
        },
    );
    // A column inserted before the key column, with a header and a value of its own.
    browser(
        &h,
        "Clients",
        BrowserEdit::Insert {
            columns: true,
            start: 0,
            count: 1,
        },
    );
    type_cell(&h, "Clients", "A1", "Notes by hand");
    let r = row_number(&h, "Clients", CLIENT);
    type_cell(&h, "Clients", &format!("A{r}"), "call back");
    // Columns reordered: `email` cut from its place and pasted at the end.
    let all = rows(&h, "Clients");
    let email_col = all[0].iter().position(|x| x == "email").expect("email");
    let end = all[0].len();
    for (i, row) in all.iter().enumerate() {
        let v = row.get(email_col).cloned().unwrap_or_default();
        let cell = format!(
            "{}{}",
            ssot_vault::connectors::sheets::column_letters(end),
            i + 1
        );
        type_cell(&h, "Clients", &cell, &v);
    }
    browser(
        &h,
        "Clients",
        BrowserEdit::Delete {
            columns: true,
            start: email_col as u32,
            count: 1,
        },
    );
    // Studio Lipa's row deleted.
    let lipa_row = row_number(&h, "Clients", LIPA);
    browser(
        &h,
        "Clients",
        BrowserEdit::Delete {
            columns: false,
            start: lipa_row as u32 - 1,
            count: 1,
        },
    );
    // An edit on each side.
    let r = row_number(&h, "Clients", ROZA);
    type_cell(
        &h,
        "Clients",
        &cell_of(&h, "Clients", "phone", r),
        "+48 61 000 00 01",
    );
    let o = h
        .run(&["set", "Piekarnia Złoty Kłos", "company=Złoty Kłos S.A."])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    let o = h.sync().await;

    // Every value in its own row.
    assert_eq!(h.prop(ROZA, "phone").as_deref(), Some("+48 61 000 00 01"));
    let c = row_of(&h, "Clients", CLIENT);
    assert_eq!(c["company"], "Złoty Kłos S.A.", "{}", out(&o));
    assert_eq!(c["name"], "Piekarnia Złoty Kłos");
    assert_eq!(c["email"], "biuro@zlotyklos.pl");
    let roza = row_of(&h, "Clients", ROZA);
    assert_eq!(roza["company"], "Kwiaciarnia Róża s.c.");
    assert_eq!(roza["email"], "kontakt@roza.pl");
    // The person's column is left alone.
    assert_eq!(c["Notes by hand"], "call back");
    assert_eq!(rows(&h, "Clients")[0][0], "Notes by hand");
    // The deleted row's note is marked archived, never deleted nor written back.
    assert!(
        h.note(LIPA).contains("\nsheets_archived: "),
        "{}\n{}",
        h.note(LIPA),
        out(&o)
    );
    assert!(
        row_by_key(&h, "Clients", &lipa_sid).is_none(),
        "not re-created"
    );
    assert_eq!(git(&h.v, &["status", "--porcelain"]), "");
    // Settled: the next run reads once and changes nothing.
    let head = h.head();
    let n = h.requests();
    h.sync().await;
    assert_eq!(h.head(), head);
    assert_eq!(h.requests() - n, 1, "{:?}", h.sb.request_counts());
}

/// A positional write planned from a read is not made when the tab changed after it: the run
/// reads again and writes to the right row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tab_sorted_between_the_read_and_the_write_is_read_again() {
    let h = H::new("").await;
    h.sync().await;
    let o = h
        .run(&["set", "Kwiaciarnia Róża", "company=Róża i Syn"])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    // Reads are slow; the tab is sorted once the run has read it.
    h.faults(FaultConfig {
        latency_ms: 400,
        path_prefix: Some("/v4/spreadsheets".into()),
        ..FaultConfig::default()
    });
    let seen = count(&h, BATCH_GET);
    let sort = async {
        while count(&h, BATCH_GET) == seen {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(450)).await;
        browser(
            &h,
            "Clients",
            BrowserEdit::Sort {
                column: "B".into(),
                descending: true,
                header_rows: 1,
            },
        );
    };
    let (o, ()) = tokio::join!(h.run(&["sync"]), sort);
    assert!(o.status.success(), "{}", out(&o));
    h.faults(FaultConfig::default());
    assert_eq!(row_of(&h, "Clients", ROZA)["company"], "Róża i Syn");
    assert_eq!(
        row_of(&h, "Clients", CLIENT)["company"],
        "Piekarnia Złoty Kłos Sp. z o.o."
    );
    assert_eq!(
        row_of(&h, "Clients", LIPA)["company"],
        "Studio Lipa sp. z o.o."
    );
    assert!(
        count(&h, BATCH_GET) >= seen + 3,
        "{:?}",
        h.sb.request_counts()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_typed_by_hand_becomes_one_note_with_its_id_in_the_row() {
    let h = H::new("").await;
    h.sync().await;
    let r = type_row(
        &h,
        "Experts",
        &[
            ("name", "Ewa Lis"),
            ("email", "ewa@lis.pl"),
            ("specialty", "audit, VAT"),
            ("rate", "150"),
        ],
    );
    h.sync().await;
    let note = "Experts/Ewa Lis.md";
    let sid = h.prop(note, "ssot_id").expect("a note");
    assert_eq!(rows(&h, "Experts")[r - 1][0], sid, "the id is in the row");
    assert_eq!(h.prop(note, "sheets_id"), Some(sid.clone()));
    let text = h.note(note);
    assert!(text.contains("\nskills:\n  - audit\n  - VAT\n"), "{text}");
    assert!(text.contains("\nrate: 150\n"), "{text}");
    let o = h.run(&["check"]).await;
    assert!(!out(&o).contains("Ewa Lis"), "{}", out(&o));
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "settled");
    let ewas = rows(&h, "Experts")
        .iter()
        .filter(|r| r.get(1).map(String::as_str) == Some("Ewa Lis"))
        .count();
    assert_eq!(ewas, 1);
}

/// `sync --dry-run` changes nothing, in the sheet either: a row typed by hand keeps its empty
/// key and no note is made; the next real sync makes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_writes_no_key_into_a_row_typed_by_hand() {
    let h = H::new("").await;
    h.sync().await;
    let r = type_row(
        &h,
        "Experts",
        &[
            ("name", "Ewa Lis"),
            ("email", "ewa@lis.pl"),
            ("specialty", "audit"),
        ],
    );
    let head = h.head();
    let o = h.run(&["sync", "--dry-run"]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(
        rows(&h, "Experts")[r - 1][0],
        "",
        "no key written by a dry run"
    );
    assert!(!h.v.join("Experts/Ewa Lis.md").exists(), "no note");
    assert_eq!(h.head(), head, "no commit");
    h.sync().await;
    let sid = h.prop("Experts/Ewa Lis.md", "ssot_id").expect("a note");
    assert_eq!(rows(&h, "Experts")[r - 1][0], sid);
}

/// The id is written into the row before the note is made: a run killed in between leaves the
/// id, and the next run makes the note once with it; killed before, the row is found empty
/// again. Either way one note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_between_the_id_write_and_the_note_makes_no_duplicate() {
    let h = H::new("").await;
    h.sync().await;
    // The state a run killed right after the id write leaves: the row carries a fresh id.
    let r = type_row(
        &h,
        "Clients",
        &[("name", "Ola Kot"), ("email", "ola@kot.pl")],
    );
    let typed_id = ssot_vault::vault::id::new_ulid();
    type_cell(
        &h,
        "Clients",
        &cell_of(&h, "Clients", "ssot_id", r),
        &typed_id,
    );
    h.sync().await;
    assert_eq!(
        h.prop("Clients/Ola Kot.md", "ssot_id"),
        Some(typed_id.clone())
    );
    // A real kill: as soon as the id is in the row.
    let r = type_row(
        &h,
        "Clients",
        &[("name", "Jan Wróbel"), ("email", "jan@wrobel.pl")],
    );
    let key_cell = cell_of(&h, "Clients", "ssot_id", r);
    let mut child = h.spawn_sync();
    let mut id = String::new();
    for _ in 0..20_000 {
        id = rows(&h, "Clients")
            .get(r - 1)
            .and_then(|row| row.first().cloned())
            .unwrap_or_default();
        if !id.is_empty() || child.try_wait().ok().flatten().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    assert!(!id.is_empty(), "the id was written ({key_cell})");
    h.sync().await;
    let notes: Vec<String> = std::fs::read_dir(h.v.join("Clients"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("Jan Wróbel"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(h.prop("Clients/Jan Wróbel.md", "ssot_id"), Some(id.clone()));
    assert_eq!(rows(&h, "Clients")[r - 1][0], id, "the row keeps its id");
    assert_eq!(git(&h.v, &["status", "--porcelain"]), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_cells_make_safe_notes() {
    let h = H::new("").await;
    h.sync().await;
    let long = "x".repeat(10_000);
    let zet = "Ż".repeat(150);
    let hostile: [(&str, &str); 5] = [
        ("Nul\u{0}Name", "nul@example.com"),
        ("Bell\u{7}\u{1b}[31mRed", "ctl@example.com"),
        ("../x", "dots@example.com"),
        (&zet, "zet@example.com"),
        ("Long", &long),
    ];
    for (name, email) in hostile {
        type_row(&h, "Clients", &[("name", name), ("email", email)]);
    }
    let o = h.run(&["sync"]).await;
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{}",
        out(&o)
    );
    // Every note made is inside the Clients folder, with no control character in it.
    let mut made = 0;
    for e in std::fs::read_dir(h.v.join("Clients"))
        .expect("dir")
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).expect("read");
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{:?}",
            e.path()
        );
        made += 1;
    }
    assert!(made >= 3 + 3, "{}", out(&o));
    assert!(!h.v.join("x.md").exists() && !h.v.parent().expect("p").join("x.md").exists());
    let t: Value = serde_json::to_value(rows(&h, "Clients")).expect("json");
    assert!(t.to_string().len() > 10_000);
    // What could not make a valid note is reported, and a second run is steady.
    let o2 = h.run(&["sync"]).await;
    assert_eq!(
        o.status.code(),
        o2.status.code(),
        "{}\n{}",
        out(&o),
        out(&o2)
    );
    assert_eq!(git(&h.v, &["status", "--porcelain"]), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_mid_run_is_renewed() {
    // A token lives 1.2 s and each request takes 0.4 s: it expires mid-run, and a token
    // fetched again outlives the request it is fetched for, even on a loaded machine.
    let mut cfg = quiet();
    cfg.google.token_lifetime = Duration::from_millis(1200);
    let h = H::with(cfg, "batch_size = 1").await;
    h.faults(FaultConfig {
        latency_ms: 400,
        path_prefix: Some("/v4/spreadsheets".into()),
        ..FaultConfig::default()
    });
    let o = h.sync().await;
    for (note, kind) in SheetsService::synced() {
        let sid = h.prop(note, "ssot_id").expect("sid");
        assert!(row_by_key(&h, kind, &sid).is_some(), "{note}: {}", out(&o));
    }
    assert!(
        count(&h, "POST /token") >= 2,
        "{:?}\n{}",
        h.sb.request_counts(),
        out(&o)
    );
}

/// A row deleted by hand while its note is edited in the vault (before the archived check is
/// due): the edit finds the row gone, the note is marked archived, and the row is not made again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_of_a_note_whose_row_was_deleted_does_not_make_it_again() {
    let h = H::new("").await;
    h.sync().await;
    let sid = h.prop(ROZA, "ssot_id").expect("sid");
    let r = row_number(&h, "Clients", ROZA);
    browser(
        &h,
        "Clients",
        BrowserEdit::Delete {
            columns: false,
            start: r as u32 - 1,
            count: 1,
        },
    );
    let o = h
        .run(&["set", "Kwiaciarnia Róża", "phone=+48 61 999 99 99"])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    let o = h.sync().await;
    assert!(row_by_key(&h, "Clients", &sid).is_none(), "{}", out(&o));
    assert!(
        h.note(ROZA).contains("\nsheets_archived: "),
        "{}",
        h.note(ROZA)
    );
    assert_eq!(rows(&h, "Clients").len(), 3, "the header and two rows");
}
