//! The crash test of the whole process (issue 14): the real binary killed with `kill -9` at
//! random points of the scenario, each kill followed by a rerun to completion, and in the end
//! every effect carried out exactly once and no edit lost.
//!
//! One vault and one sandbox of the five services hold ten projects. Each trial advances one
//! project (picked by a seeded generator) by one step of the process and kills the run that
//! carries it: the `sync` after `project accept` (the card's checklist, the Jira task), the
//! `sync` after the last credentialing tick (the activation, the expert's access), and either
//! `archive` itself or the `sync` after it (the export attached, the access revoked, the issue
//! deleted). The emulators answer slowly (the sandbox's latency) so that kills land mid-run; the
//! kill's delay is drawn within the measured length of the same kind of command, and half the
//! archive's syncs are killed right after the export's first file reaches the card. A third of
//! the archive's reruns start with `sync --remote jira` alone. Between trials a person works on
//! another project (`ssot-vault set` of its budget, a line added by hand to its note) and writes
//! to the helpdesk. After each kill and each rerun: no Jira issue gone before its export is on
//! the card, one record of each kind per project; in the end, every effect once and every edit
//! in the vault and the services. The seed is printed and `CRASH_SEED` replays its choices
//! (which project, which step, which delay; the kills themselves land by the clock).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use ssot_vault::rng::{Rng, time_seed};
use ssot_vault::sandbox::FaultConfig;
use ssot_vault::sandbox::forms::HELPDESK_FORM_ID;
use ssot_vault::workflow::ticket;

use crate::common::kill_9_when;
use crate::hs_env::out;
use crate::process_env::ProcessEnv;

/// The projects the trials take through the process.
const PROJECTS: usize = 10;
/// The steps each project goes through, one trial each: accept, last tick, archive.
const STEPS: usize = 3;
/// The template's project, never archived here: the helpdesk writes about it.
const HELPDESK_PROJECT: &str = "Złoty Kłos online shop";
/// The kinds of killed command, for their measured lengths.
const KINDS: [&str; 4] = [
    "sync after accept",
    "sync after tick",
    "sync after archive",
    "archive",
];

/// A project of the scenario and what the person expects of it.
struct Project {
    name: String,
    sid: String,
    step: usize,
    key: Option<String>,
    card: Option<String>,
    budget: String,
    hand: Vec<String>,
}

/// The one note named `name` anywhere in the vault (it moves to `Archive/`), relative.
fn find_note(v: &Path, name: &str) -> String {
    let file = format!("{name}.md");
    let hits: Vec<String> = walkdir::WalkDir::new(v)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != ".ssot")
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name().to_string_lossy() == file)
        .map(|e| {
            e.path()
                .strip_prefix(v)
                .expect("prefix")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(hits.len(), 1, "one note {file}: {hits:?}");
    hits.into_iter().next().expect("one")
}

/// The texts of the messages in every ticket's conversation (under `Helpdesk/` or moved).
fn ticket_messages(v: &Path) -> Vec<String> {
    walkdir::WalkDir::new(v)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != ".ssot")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .filter(|t| t.contains("\ntype: ticket\n"))
        .flat_map(|t| ticket::conversation(&t).into_iter().map(|m| m.text))
        .collect()
}

/// The exports `archive` makes of a project, as attached to its card.
fn exports(name: &str) -> Vec<String> {
    vec![format!("{name}.csv"), format!("{name}.xml")]
}

/// No Jira issue of an archived project gone before its export was on the card.
async fn no_delete_before_attach(env: &ProcessEnv, ps: &[Project], seed: u64, when: &str) {
    let live: Vec<String> = env.issues().into_iter().map(|r| r.id).collect();
    for p in ps {
        let (Some(key), Some(card)) = (&p.key, &p.card) else {
            continue;
        };
        if !live.contains(key) {
            let attached = env.attachments(card).await;
            assert!(
                exports(&p.name).iter().all(|e| attached.contains(e)),
                "seed {seed}, {when}: the issue {key} of {} is gone, its card holds {attached:?}",
                p.name
            );
        }
    }
}

/// One record per project in every service so far: one card, one Jira issue and at most one
/// task, one deal, one Sheets row; no contact twice.
fn one_of_each(env: &ProcessEnv, ps: &[Project], seed: u64, when: &str) {
    for p in ps {
        let sid = &p.sid;
        let cards = env.ever("trello", "cards", sid);
        assert_eq!(cards.len(), 1, "seed {seed}, {when}: {}: {cards:?}", p.name);
        let rows = env.ever("sheets", "Projects", sid);
        assert_eq!(rows.len(), 1, "seed {seed}, {when}: {}: {rows:?}", p.name);
        let deals: Vec<_> = env
            .sb
            .hubspot_records("deals")
            .into_iter()
            .filter(|d| d["properties"]["ssot_id"] == json!(sid))
            .collect();
        assert_eq!(deals.len(), 1, "seed {seed}, {when}: {}: {deals:?}", p.name);
        let issues = env.ever("jira", "issues", sid);
        if p.step < STEPS {
            assert_eq!(
                issues.len(),
                1,
                "seed {seed}, {when}: {}: {issues:?}",
                p.name
            );
        }
        if let Some(key) = &p.key {
            let tasks = env.tasks_of(key);
            assert!(
                tasks.len() <= 1,
                "seed {seed}, {when}: {}: {tasks:?}",
                p.name
            );
        }
    }
    let mut contacts: BTreeMap<String, usize> = BTreeMap::new();
    for c in env.sb.hubspot_records("contacts") {
        if let Some(sid) = c["properties"]["ssot_id"].as_str() {
            *contacts.entry(sid.to_string()).or_default() += 1;
        }
    }
    assert!(
        contacts.values().all(|n| *n == 1),
        "seed {seed}, {when}: contacts {contacts:?}"
    );
}

/// Runs the binary to completion (it must succeed): its length.
async fn complete(env: &ProcessEnv, args: &[&str], seed: u64) -> Duration {
    let t = Instant::now();
    let o = env.run(args).await;
    assert!(
        o.status.success(),
        "seed {seed}: the rerun {args:?} failed: {}",
        out(&o)
    );
    t.elapsed()
}

/// Starts the binary and kills it (`kill -9`) after `delay` or as soon as `reached` holds,
/// unless it ended before: whether the kill landed mid-run, and how long the child ran (its
/// length when it ended by itself).
fn kill_after(
    env: &ProcessEnv,
    args: &[&str],
    delay: Duration,
    mut reached: impl FnMut() -> bool,
) -> (bool, Duration) {
    let mut child = env.spawn(args);
    let start = Instant::now();
    let hit = tokio::task::block_in_place(|| {
        kill_9_when(&mut child, 1_000_000, Duration::from_millis(2), || {
            start.elapsed() >= delay || reached()
        })
        .0
    });
    (hit, start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_of_the_process_then_a_rerun_does_each_effect_once() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(time_seed);
    println!("process crash test: CRASH_SEED={seed}");
    let mut rng = Rng::new(seed);
    let env = ProcessEnv::new().await;

    // Ten projects of the template's client, waiting for their expert; in every service.
    for i in 0..PROJECTS {
        let name = format!("Crash project {i:02}");
        env.ok(&[
            "new",
            "project",
            &name,
            "--set",
            "client=[[Piekarnia Złoty Kłos]]",
            "--set",
            "status=matching",
            "--set",
            "budget=1000",
            "--set",
            "estimate_hours=40",
            "--set",
            "deadline=2027-06-30",
            "--set",
            "summary=A project the crash test takes through the process",
        ])
        .await;
    }
    crate::hs_env::git(&env.v, &["add", "-A"]);
    crate::hs_env::git(&env.v, &["commit", "-qm", "Ten projects"]);
    env.sync().await;
    let mut ps: Vec<Project> = (0..PROJECTS)
        .map(|i| {
            let name = format!("Crash project {i:02}");
            let sid = env.sid(&find_note(&env.v, &name));
            Project {
                name,
                sid,
                step: 0,
                key: None,
                card: None,
                budget: "1000".into(),
                hand: Vec::new(),
            }
        })
        .collect();

    let slow = FaultConfig {
        latency_ms: 8,
        latency_jitter_ms: 8,
        seed: Some(seed),
        ..FaultConfig::default()
    };
    env.sb.set_faults(slow);
    let idle = complete(&env, &["sync"], seed).await;
    let mut est = [idle; 4];
    // `archive` works in the vault alone: a first guess, then its measured length.
    est[3] = Duration::from_millis(150);

    let started = Instant::now();
    let mut landed = 0;
    let mut said: Vec<String> = Vec::new();
    let mut trial = 0;
    while ps.iter().any(|p| p.step < STEPS) {
        let open: Vec<usize> = (0..PROJECTS).filter(|&i| ps[i].step < STEPS).collect();
        let i = *rng.pick(&open);
        let name = ps[i].name.clone();
        let note = find_note(&env.v, &name);

        // The person's work on another project still in `Projects/`, and at the helpdesk.
        let others: Vec<usize> = open.iter().copied().filter(|&j| j != i).collect();
        if !others.is_empty() {
            let j = *rng.pick(&others);
            let other = find_note(&env.v, &ps[j].name);
            let budget = (20_000 + trial).to_string();
            env.ok(&["set", &other, &format!("budget={budget}")]).await;
            ps[j].budget = budget;
            let line = format!("- Noted by hand before trial {trial}");
            let p = env.v.join(&other);
            let text = std::fs::read_to_string(&p).expect("note");
            std::fs::write(&p, format!("{}\n{line}\n", text.trim_end())).expect("hand edit");
            ps[j].hand.push(line);
        }
        if trial % 5 == 0 {
            let message = format!("Helpdesk message of trial {trial}");
            env.submit(
                HELPDESK_FORM_ID,
                json!({"Project": HELPDESK_PROJECT, "Who is writing?": "client", "Message": message}),
            )
            .await;
            said.push(message);
        }

        // The step, and the run killed.
        let step = ps[i].step;
        let mut kind = step;
        match step {
            0 => {
                env.ok(&["match", &name, "--assign", "Anna Nowak"]).await;
                env.ok(&["project", "accept", &name]).await;
            }
            1 => {
                let p = env.v.join(&note);
                let text = std::fs::read_to_string(&p).expect("note");
                std::fs::write(&p, text.replace("- [ ] ", "- [x] ")).expect("tick");
            }
            _ => {
                env.ok(&["project", "done", &name]).await;
                if rng.chance(40) {
                    kind = 3;
                } else {
                    env.ok(&["archive", &name]).await;
                }
            }
        }
        let mut delay = est[kind].mul_f64(rng.unit() * 1.1);
        let args: Vec<&str> = if kind == 3 {
            vec!["archive", &name]
        } else {
            vec!["sync"]
        };
        // Half the archive's syncs are killed at the riskiest point instead: the first file of
        // the export just uploaded to the card (the other not yet, the issue still in Jira).
        let first_upload = kind == 2 && rng.chance(50);
        let card = ps[i].card.clone().unwrap_or_default();
        let uploaded = || {
            first_upload
                && env
                    .sb
                    .state()
                    .read_trello(|d| d.attachments.values().any(|a| a.id_card == card))
        };
        if first_upload {
            delay = Duration::from_secs(60);
        }
        let (hit, ran) = kill_after(&env, &args, delay, uploaded);
        landed += usize::from(hit);
        if !hit && !first_upload {
            // It ended before the kill: its length, measured.
            est[kind] = ran;
        }
        no_delete_before_attach(&env, &ps, seed, &format!("after the kill of trial {trial}")).await;

        // The rerun to completion.
        if kind == 3 && env.v.join("Projects").join(format!("{name}.md")).exists() {
            // `archive` killed midway (the export written, the note written or moved or not)
            // finishes its own run when run again.
            let o = env.run(&["archive", &name]).await;
            assert!(
                o.status.success(),
                "seed {seed}: archive rerun: {}",
                out(&o)
            );
        }
        // A third of the archive's reruns start with Jira alone (as `sync --remote jira`):
        // the issue must wait for the export on the card (exit 1 while it is not there).
        if kind >= 2 && rng.chance(33) {
            let o = env.run(&["sync", "--remote", "jira"]).await;
            assert!(
                matches!(o.status.code(), Some(0 | 1)),
                "seed {seed}: {}",
                out(&o)
            );
            let when = format!("after Jira's own rerun in trial {trial}");
            no_delete_before_attach(&env, &ps, seed, &when).await;
        }
        let took = complete(&env, &["sync"], seed).await;
        if kind < 3 && hit && !first_upload {
            est[kind] = est[kind].max(took);
        }
        println!(
            "trial {trial}: {name} {} killed {}{}; rerun {took:?}",
            KINDS[kind],
            if first_upload {
                "at the first upload".to_string()
            } else {
                format!("after {delay:?}")
            },
            if hit { "" } else { " (it had ended)" }
        );

        let note = find_note(&env.v, &name);
        let status = env.prop(&note, "status");
        let expected = ["credentialing", "active", "archived"][step];
        assert_eq!(
            status.as_deref(),
            Some(expected),
            "seed {seed}, trial {trial}: {name}\n{}",
            env.note(&note)
        );
        if step == 0 {
            ps[i].key = env.prop(&note, "jira_key");
            ps[i].card = env.prop(&note, "trello_card_id");
        }
        ps[i].step += 1;
        let when = format!("after the rerun of trial {trial}");
        no_delete_before_attach(&env, &ps, seed, &when).await;
        one_of_each(&env, &ps, seed, &when);
        trial += 1;
    }
    assert_eq!(trial, PROJECTS * STEPS);
    println!(
        "{trial} trials, {landed} killed mid-run, in {:?}",
        started.elapsed()
    );

    // Settled: the helpdesk's last messages reach their card (Forms files them after Trello's
    // run), and a last sync changes nothing.
    env.sb.set_faults(FaultConfig::default());
    env.sync().await;
    env.sync().await;
    let head = env.head();
    env.sync().await;
    assert_eq!(env.head(), head, "seed {seed}: settled");
    assert_eq!(env.uncommitted(), "", "seed {seed}");

    // Every effect once.
    one_of_each(&env, &ps, seed, "in the end");
    let live_issues = env.issues();
    for p in &ps {
        let key = p.key.as_deref().expect("jira key");
        let card = p.card.as_deref().expect("card");
        assert!(
            !live_issues
                .iter()
                .any(|r| r.id == key || r.field("parent") == Some(key)),
            "seed {seed}: {}'s issue and task deleted",
            p.name
        );
        assert_eq!(
            env.attachments(card).await,
            exports(&p.name),
            "seed {seed}: the export attached once, per file"
        );
        let comments = env.card_comments(card).await;
        let mut unique = comments.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), comments.len(), "seed {seed}: {comments:?}");
    }
    for c in env.live_of("trello", "cards") {
        let comments = env.card_comments(&c.id).await;
        let mut unique = comments.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), comments.len(), "seed {seed}: {comments:?}");
    }
    let issue_comments: Vec<Vec<String>> = env.sb.state().read_jira(|d| {
        d.issues
            .values()
            .map(|i| {
                i.comments
                    .iter()
                    .map(|c| crate::process_env::adf_text(&c.body))
                    .collect()
            })
            .collect()
    });
    for comments in issue_comments {
        let mut unique = comments.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), comments.len(), "seed {seed}: {comments:?}");
    }

    // The helpdesk's messages: once each in the vault and on the cards.
    let filed = ticket_messages(&env.v);
    let mut on_cards = String::new();
    for c in env.live_of("trello", "cards") {
        on_cards.push_str(&env.card_comments(&c.id).await.join("\n"));
        on_cards.push('\n');
    }
    for m in &said {
        let n = filed.iter().filter(|t| *t == m).count();
        assert_eq!(n, 1, "seed {seed}: {m} in the tickets {filed:?}");
        assert_eq!(on_cards.matches(m.as_str()).count(), 1, "seed {seed}: {m}");
    }

    // No edit lost: the budgets set and the lines added by hand, in the vault and (the budget)
    // in HubSpot and Sheets.
    for p in &ps {
        let note = find_note(&env.v, &p.name);
        assert!(note.starts_with("Archive/"), "seed {seed}: {note}");
        let text = env.note(&note);
        assert_eq!(
            env.prop(&note, "budget").as_deref(),
            Some(p.budget.as_str()),
            "seed {seed}: {text}"
        );
        for line in &p.hand {
            assert!(text.contains(line), "seed {seed}: {line} lost:\n{text}");
        }
        let deal = env.record_by_ssot("deals", &p.sid);
        assert_eq!(
            deal["properties"]["amount"],
            json!(p.budget),
            "seed {seed}: {deal}"
        );
        let row = env.ever("sheets", "Projects", &p.sid);
        assert_eq!(
            row[0].field("budget"),
            Some(p.budget.as_str()),
            "seed {seed}: {row:?}"
        );
    }
}
