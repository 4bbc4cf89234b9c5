//! The settle read of a Jira run that wrote, end to end with the emulator over real HTTP: JQL
//! dates have minute precision, so a run that wrote reads once more after the minute of its
//! last write has ended on Jira's clock, and the next run's read starts after its writes only
//! when that read found nothing that differs from what the run left. The tests move Jira's
//! clock (the sandbox's admin offset, which the emulator's `Date` headers follow) so that a
//! run's writes fall a few seconds before the end of a Jira minute, instead of sleeping one.

use std::io::BufRead;
use std::time::Duration;

use ssot_vault::connectors::Connector;
use ssot_vault::connectors::jira::JiraCursor;
use ssot_vault::sandbox::jira::DEFAULT_TOKEN;

use crate::conformance::harness::{Field, Harness};
use crate::conformance::jira::{JiraService, SHOP_APP};
use crate::hs_env::{PROJECT, out};

type H = Harness<JiraService>;

/// Settling on, Jira's search lag allowed for one second (the emulator's is none).
const SETTLE: &str = "settle_max_seconds = 90\nsettle_lag_seconds = 1\n";

/// The counter of the change feed's search.
const SEARCH: &str = "POST /rest/api/3/search/jql";

/// The budget of the template's project's issue.
fn budget() -> Field {
    Field {
        note: PROJECT,
        kind: "issues",
        key: "budget",
        remote: "customfield_10050",
        value: "45000",
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Sets the sandbox's clock `offset_ms` from the real one.
async fn set_offset(h: &H, offset_ms: i64) {
    let r = reqwest::Client::new()
        .post(format!("{}/__sandbox/settings", h.sb.base_url()))
        .json(&serde_json::json!({ "clock_offset_ms": offset_ms }))
        .send()
        .await
        .expect("settings");
    assert!(r.status().is_success());
}

/// Moves Jira's clock about `behind_ms` behind the real one, to second 52 of a minute now: a
/// short run's writes end in that minute, and its settle read comes some ten seconds later.
async fn clock_near_minute_end(h: &H, behind_ms: i64) {
    let target = now_ms() - behind_ms;
    let shift = (52_000 - target.rem_euclid(60_000)).rem_euclid(60_000);
    set_offset(h, shift - behind_ms).await;
}

/// The saved change-feed cursor.
fn cursor(h: &H) -> JiraCursor {
    let text = std::fs::read_to_string(h.state_dir().join("state.json")).expect("state");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    serde_json::from_value(v["cursor"].clone()).expect("cursor")
}

/// `sync` as a child process whose standard error is read line by line.
struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(h: &H) -> Running {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ssot-vault"))
            .arg("--vault")
            .arg(&h.v)
            .arg("sync")
            .env("JIRA_EMAIL", ssot_vault::sandbox::jira::DEFAULT_EMAIL)
            .env("JIRA_API_TOKEN", DEFAULT_TOKEN)
            .env("GIT_AUTHOR_NAME", "Test User")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test User")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let err = child.stderr.take().expect("stderr");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (up to a minute) for a line of standard error containing `text`.
    async fn wait_for(&mut self, text: &str) {
        let end = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < end {
            while let Ok(l) = self.lines.try_recv() {
                let hit = l.contains(text);
                self.seen.push(l);
                if hit {
                    return;
                }
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("sync ended ({st}) before `{text}`: {:?}", self.seen);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no `{text}` on standard error: {:?}", self.seen);
    }

    /// Waits for the run to end; it must succeed.
    async fn finish(mut self) -> Vec<String> {
        let st = tokio::task::spawn_blocking(move || {
            let st = self.child.wait().expect("wait");
            self.seen.extend(self.lines.iter());
            (st, self.seen)
        })
        .await
        .expect("join");
        assert!(st.0.success(), "sync failed: {:?}", st.1);
        st.1
    }
}

/// A run that wrote to Jira settles, and the unchanged resync right after it is one search: the
/// issues it just wrote are not read again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_resync_right_after_a_sync_that_wrote_is_one_search() {
    let h = H::new(SETTLE).await;
    clock_near_minute_end(&h, 0).await;
    let o = h.sync().await;
    assert_eq!(h.live("issues").len(), 3, "{}", out(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("waiting") && err.contains("JQL has minute precision"),
        "{err}"
    );
    // The run's read, then the settle read: each one page.
    assert_eq!(h.count(SEARCH), 2, "{:?}", h.sb.request_counts());
    let c = cursor(&h);
    assert_eq!(c.margin_ms, Some(1_000), "the settle read's cursor: {c:?}");
    let (searches, total) = (h.count(SEARCH), h.requests());
    let head = h.head();
    let o = h.sync().await;
    assert_eq!(h.count(SEARCH) - searches, 1, "{}", out(&o));
    assert_eq!(h.requests() - total, 1, "{:?}", h.sb.request_counts());
    assert_eq!(h.head(), head, "nothing changed");
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("waiting"),
        "a run that wrote nothing does not wait"
    );
    // The settle read's cursor, read from again: the issues the first sync wrote are not in it.
    let c = serde_json::to_value(c).expect("cursor");
    let again = jira_connector(&h).pull(Some(&c)).await.expect("pull");
    assert!(again.records.is_empty(), "{:?}", again.records);
}

/// An edit made in Jira while the run waits for its settle read, in the minute of the run's
/// writes: the settle read finds it, the cursor does not move past it, and the next run takes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_made_before_the_settle_read_is_taken_by_the_next_run() {
    let h = H::new(SETTLE).await;
    clock_near_minute_end(&h, 0).await;
    let mut run = Running::start(&h);
    run.wait_for("for Jira's search").await;
    h.edit(budget(), "77000");
    run.finish().await;
    assert_eq!(h.prop(PROJECT, "budget").as_deref(), Some("45000"));
    assert_eq!(
        cursor(&h).margin_ms,
        None,
        "the run's own cursor is kept: {:?}",
        cursor(&h)
    );
    let o = h.sync().await;
    assert_eq!(
        h.prop(PROJECT, "budget").as_deref(),
        Some("77000"),
        "{}",
        out(&o)
    );
}

/// An edit made right after the settle read, in its minute: the next run takes it (its cursor is
/// the settle read's start on Jira's clock less the search's lag). Jira's clock is five minutes
/// behind this machine's here, more than the overlap covers, so a cursor on this machine's clock
/// would skip the edit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_made_after_the_settle_read_in_its_minute_is_taken_by_the_next_run() {
    let h = H::new(SETTLE).await;
    clock_near_minute_end(&h, 300_000).await;
    h.sync().await;
    assert!(cursor(&h).margin_ms.is_some(), "settled: {:?}", cursor(&h));
    h.edit(budget(), "81000");
    let o = h.sync().await;
    assert_eq!(
        h.prop(PROJECT, "budget").as_deref(),
        Some("81000"),
        "{}",
        out(&o)
    );
}

/// `settle_max_seconds = 0`: no settle read, as before it existed: the run's own cursor is kept,
/// and the next run reads the issues just written again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_max_seconds_zero_never_settles() {
    let h = H::new("settle_max_seconds = 0\nsettle_lag_seconds = 1\n").await;
    clock_near_minute_end(&h, 0).await;
    let o = h.sync().await;
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("waiting"),
        "{}",
        out(&o)
    );
    assert_eq!(h.count(SEARCH), 1, "the run's read only");
    assert_eq!(cursor(&h).margin_ms, None);
    // The issues just written are found again (and unchanged).
    let mut conn = jira_connector(&h);
    let c = serde_json::to_value(cursor(&h)).expect("cursor");
    assert_eq!(conn.pull(Some(&c)).await.expect("pull").records.len(), 3);
}

/// A run killed while it waits for its settle read has saved everything before: its commit, its
/// bases and its own cursor. The next run repairs nothing, loses nothing and duplicates nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_during_the_settle_wait_loses_nothing() {
    let h = H::new(SETTLE).await;
    let head = h.head();
    clock_near_minute_end(&h, 0).await;
    let mut run = Running::start(&h);
    run.wait_for("for Jira's search").await;
    run.child.kill().expect("kill");
    let _ = run.child.wait();
    // Saved before the wait: the run's commit (the issue keys written back) and its state.
    assert_ne!(h.head(), head, "the run's commit was made");
    assert!(h.prop(PROJECT, "jira_key").is_some());
    assert!(h.prop(SHOP_APP, "jira_key").is_some());
    let c = cursor(&h);
    assert_eq!(c.margin_ms, None, "the run's own cursor: {c:?}");
    // A change on each side meanwhile.
    h.edit(budget(), "52000");
    let text = h.note(SHOP_APP);
    std::fs::write(
        h.v.join(SHOP_APP),
        text.replacen("estimate_hours: 120", "estimate_hours: 130", 1),
    )
    .expect("write");
    let o = h.sync().await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("interrupted"), "{err}");
    assert_eq!(
        h.prop(PROJECT, "budget").as_deref(),
        Some("52000"),
        "{}",
        out(&o)
    );
    assert_eq!(
        h.record_of(SHOP_APP, "issues").field("originalEstimate"),
        Some("3w 1d 2h"),
        "130 hours"
    );
    assert_eq!(h.live("issues").len(), 3, "no issue made twice");
}

/// The emulator dates its answers by its own clock (the admin offset included), which the
/// connector reads as Jira's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_dates_its_answers_by_its_clock() {
    let h = H::new("").await;
    set_offset(&h, -3_600_000).await;
    let r = reqwest::Client::new()
        .get(format!("{}/rest/api/3/myself", h.sb.base_url()))
        .basic_auth(
            ssot_vault::sandbox::jira::DEFAULT_EMAIL,
            Some(DEFAULT_TOKEN),
        )
        .send()
        .await
        .expect("myself");
    let date = r
        .headers()
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(ssot_vault::connectors::http::parse_http_date)
        .expect("a Date header");
    let off = date - now_ms();
    assert!((-3_602_000..=-3_598_000).contains(&off), "{off}");
}

/// A cursor saved before settle reads existed (no `margin_ms`) still loads, and the read goes
/// back `overlap_minutes` from it; a settle read's goes back its margin only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_cursor_still_loads_and_reads_back_the_overlap() {
    let h = H::new("").await;
    // The issues made ten minutes back on Jira's clock, one edited 70 s before the cursor's time.
    set_offset(&h, -600_000).await;
    h.sync().await;
    let mut conn = jira_connector(&h);
    set_offset(&h, -70_000).await;
    h.edit(budget(), "46000");
    set_offset(&h, 0).await;
    let old = serde_json::json!({ "updated_ms": now_ms() });
    let c: JiraCursor = serde_json::from_value(old.clone()).expect("old cursor");
    assert_eq!(c.margin_ms, None);
    let got = conn.pull(Some(&old)).await.expect("pull");
    assert_eq!(
        got.records.len(),
        1,
        "read back the overlap: {:?}",
        got.records
    );
    let narrow = serde_json::json!({ "updated_ms": now_ms(), "margin_ms": 1000 });
    let got = conn.pull(Some(&narrow)).await.expect("pull");
    assert!(got.records.is_empty(), "{:?}", got.records);
}

/// A connector to the harness's emulator, configured as its vault is (the default mapping).
fn jira_connector(h: &H) -> ssot_vault::connectors::jira::Jira {
    let cfg = ssot_vault::connectors::jira::JiraConfig {
        base_url: h.sb.jira_base_url(),
        project_key: "SSOT".into(),
        ..Default::default()
    };
    ssot_vault::connectors::jira::Jira::new(
        cfg,
        &ssot_vault::vault::schema::Schema::builtin(),
        Some(ssot_vault::sandbox::jira::DEFAULT_EMAIL.into()),
        ssot_vault::connectors::Secret::new(DEFAULT_TOKEN),
    )
    .expect("connector")
}
