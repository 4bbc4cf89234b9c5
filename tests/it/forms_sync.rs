//! Google Forms intake sync against the sandbox's Forms emulator, through the real binary: a
//! response submitted becomes one intake note; a poll with nothing new costs one request; an
//! edited response updates its note; a run that lost its state save (killed after the note
//! write) or its whole `.ssot/` makes no duplicate; a response missing a required answer is
//! reported, not written; hostile answers make safe notes; a token expiring mid-run is renewed.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use ssot_vault::sandbox::forms::{HELPDESK_FORM_ID, INTAKE_FORM_ID};
use ssot_vault::sandbox::person::Person;
use ssot_vault::sandbox::{FaultConfig, Sandbox, SandboxConfig, google};

use crate::common::{bin, init_vault};
use crate::hs_env::{git, out};

/// A vault with Google Forms enabled at an in-process sandbox, and the sandbox's service-account
/// key (shared with `forms_helpdesk`).
pub(crate) struct Fx {
    pub(crate) sb: Sandbox,
    _tmp: tempfile::TempDir,
    pub(crate) v: PathBuf,
    pub(crate) key: PathBuf,
    pub(crate) http: reqwest::Client,
}

const LIST: &str = "GET /v1/forms/{formId}/responses";
const GET_FORM: &str = "GET /v1/forms/{formId}";

pub(crate) fn quiet() -> SandboxConfig {
    let mut cfg = SandboxConfig::default();
    cfg.forms.quota = None;
    cfg
}

/// What a fixture's vault enables beside the intake form.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Forms {
    /// The helpdesk form.
    pub(crate) helpdesk: bool,
    /// `[intake] auto_accept`.
    pub(crate) auto_accept: bool,
}

/// Enables `[remotes.forms]` (the last section of the template) pointed at the sandbox.
fn configure(v: &Path, base: &str, forms: Forms, extra: &str) {
    let p = v.join("ssot-vault.toml");
    let mut text = std::fs::read_to_string(&p).expect("config");
    if forms.auto_accept {
        assert!(text.contains("# auto_accept = true"), "template [intake]");
        text = text.replace("# auto_accept = true", "auto_accept = true");
    }
    let helpdesk = if forms.helpdesk {
        format!("helpdesk_form = \"{HELPDESK_FORM_ID}\"\n")
    } else {
        String::new()
    };
    let start = text.find("[remotes.forms]").expect("forms section");
    let section = format!(
        "[remotes.forms]\nenabled = true\nbase_url = \"{base}\"\nintake_form = \"{INTAKE_FORM_ID}\"\n{helpdesk}retry_base_ms = 20\nretry_max_ms = 200\nmax_retries = 12\ntimeout_seconds = 2.0\n{extra}\n"
    );
    std::fs::write(&p, format!("{}{section}", &text[..start])).expect("write config");
    git(v, &["add", "-A"]);
    git(v, &["commit", "-qm", "Enable Google Forms"]);
}

impl Fx {
    async fn with(cfg: SandboxConfig, extra: &str) -> Fx {
        Fx::start(cfg, Forms::default(), extra).await
    }

    pub(crate) async fn start(cfg: SandboxConfig, forms: Forms, extra: &str) -> Fx {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg)
            .await
            .expect("sandbox");
        let (tmp, v) = init_vault();
        configure(&v, &sb.base_url(), forms, extra);
        let key = tmp.path().join("google-key.json");
        let key_json = google::sandbox_key_file(&format!("{}/token", sb.base_url()));
        std::fs::write(&key, key_json.to_string()).expect("key file");
        Fx {
            sb,
            _tmp: tmp,
            v,
            key,
            http: reqwest::Client::new(),
        }
    }

    async fn new() -> Fx {
        Fx::with(quiet(), "").await
    }

    /// The binary run in the vault with the key, `envs` added.
    pub(crate) async fn run_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let v = self.v.clone();
        let key = self.key.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let envs: Vec<(String, String)> = envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tokio::task::spawn_blocking(move || {
            bin()
                .arg("--vault")
                .arg(&v)
                .args(&args)
                .env("GOOGLE_APPLICATION_CREDENTIALS", &key)
                .envs(envs)
                .output()
                .expect("run")
        })
        .await
        .expect("join")
    }

    pub(crate) async fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[]).await
    }

    pub(crate) async fn sync(&self) -> Output {
        let o = self.run(&["sync"]).await;
        assert!(o.status.success(), "sync failed: {}", out(&o));
        o
    }

    async fn admin(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!(
                "{}/__sandbox/forms/{INTAKE_FORM_ID}{path}",
                self.sb.base_url()
            ))
            .json(&body)
            .send()
            .await
            .expect("admin");
        assert!(r.status().is_success(), "admin {path}: {}", r.status());
        r.json().await.expect("json")
    }

    /// Submits a response as a person would; returns its id.
    async fn submit(&self, answers: Value) -> String {
        Person::new(&self.sb, "")
            .with_client(self.http.clone())
            .submit(INTAKE_FORM_ID, answers)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The intake notes: (path, text).
    fn intakes(&self) -> Vec<(String, String)> {
        let dir = self.v.join("Intake");
        let mut notes: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("Intake")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "md")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('_'))
            })
            .map(|p| {
                (
                    p.file_name().expect("name").to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).expect("note"),
                )
            })
            .collect();
        notes.sort();
        notes
    }

    /// The one intake note of a response.
    fn note_of(&self, rid: &str) -> (String, String) {
        let hits: Vec<_> = self
            .intakes()
            .into_iter()
            .filter(|(_, t)| t.contains(&format!("form_response_id: {rid}")))
            .collect();
        assert_eq!(hits.len(), 1, "one note of {rid}: {hits:?}");
        hits.into_iter().next().expect("one")
    }

    pub(crate) fn count(&self, endpoint: &str) -> u64 {
        self.sb
            .request_counts()
            .by_endpoint
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    fn forms_requests(&self) -> u64 {
        self.sb
            .request_counts()
            .by_endpoint
            .iter()
            .filter(|(k, _)| k.contains("/v1/forms"))
            .map(|(_, n)| *n)
            .sum()
    }
}

fn anna() -> Value {
    json!({
        "Contact name": "Anna Kowalska",
        "Email": "anna@example.com",
        "Company": "Piekarnia Nowa",
        "What do you need?": "A bookkeeping app",
        "Skills required": ["Rust", "Design"],
        "Budget": "12000",
        "Deadline": "2027-03-01",
        "Language": "Polish",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_becomes_one_intake_note_polled_once_edited_in_place() {
    let f = Fx::new().await;
    let rid = f.submit(anna()).await;
    let o = f.sync().await;
    let (name, text) = f.note_of(&rid);
    assert!(name.contains("Anna Kowalska"), "{name}");
    for line in [
        "type: intake",
        "status: new",
        "contact_name: Anna Kowalska",
        "email: anna@example.com",
        "company: Piekarnia Nowa",
        "need: A bookkeeping app",
        "budget: 12000",
        "deadline: 2027-03-01",
        "language: Polish",
        "submitted: ",
    ] {
        assert!(text.contains(line), "{line} in\n{text}\n{}", out(&o));
    }
    assert!(
        text.contains("- Rust") && text.contains("- Design"),
        "{text}"
    );
    assert_eq!(f.intakes().len(), 1);
    assert_eq!(f.count(GET_FORM), 1, "forms.get once");

    // Nothing new: one request, no new note, nothing committed.
    let before = f.forms_requests();
    let lists = f.count(LIST);
    let head = git(&f.v, &["rev-parse", "HEAD"]);
    f.sync().await;
    assert_eq!(f.forms_requests() - before, 1, "one request per poll");
    assert_eq!(f.count(LIST) - lists, 1, "that request is responses.list");
    assert_eq!(f.count(GET_FORM), 1, "question ids cached");
    assert_eq!(f.intakes().len(), 1);
    assert_eq!(git(&f.v, &["rev-parse", "HEAD"]), head);

    // Edited in Forms: the note's field follows; a field edited in the vault is kept.
    let path = f.v.join("Intake").join(&name);
    let edited = text.replace("language: Polish", "language: English");
    std::fs::write(&path, &edited).expect("edit");
    f.admin(
        &format!("/responses/{rid}"),
        json!({"answers": {"What do you need?": "A bookkeeping app and a shop"}}),
    )
    .await;
    let o = f.sync().await;
    let (_, text) = f.note_of(&rid);
    assert!(
        text.contains("need: A bookkeeping app and a shop"),
        "{text}\n{}",
        out(&o)
    );
    assert!(text.contains("language: English"), "{text}");
    assert_eq!(f.intakes().len(), 1);
    // The intake accepted in the vault, then the response edited again in Forms: the note keeps
    // its own values (nothing was sent), and takes the form's new answer.
    let accepted = text.replace("status: new", "status: accepted");
    std::fs::write(&path, &accepted).expect("accept");
    let o = f.sync().await;
    assert!(!out(&o).contains("refused"), "{}", out(&o));
    f.admin(
        &format!("/responses/{rid}"),
        json!({"answers": {"Budget": "15000"}}),
    )
    .await;
    let o = f.sync().await;
    let (_, text) = f.note_of(&rid);
    assert!(text.contains("budget: 15000"), "{text}\n{}", out(&o));
    assert!(text.contains("status: accepted"), "{text}\n{}", out(&o));
    assert!(text.contains("language: English"), "{text}");
    // Answered anew in the form: the form's new answer replaces the note's kept value.
    f.admin(
        &format!("/responses/{rid}"),
        json!({"answers": {"Language": "German"}}),
    )
    .await;
    f.sync().await;
    let (_, text) = f.note_of(&rid);
    assert!(text.contains("language: German"), "{text}");
    assert!(text.contains("status: accepted"), "{text}");
    // Settled: a sync with nothing new plans nothing for the response (it is read again, the
    // cursor's last second, but a response holds no `ssot_id` to write, and none is tried).
    for _ in 0..2 {
        let o = f.run(&["--json", "sync"]).await;
        assert!(o.status.success(), "{}", out(&o));
        let reports: Value = serde_json::from_slice(&o.stdout).expect("json");
        assert_eq!(reports[0]["updated_remote"], json!(0), "{reports}");
        assert_eq!(
            reports[0]["plan"]["records"],
            json!([]),
            "{}",
            reports[0]["plan"]
        );
    }
    // Nothing was written to Forms.
    assert!(
        f.sb.request_counts()
            .by_endpoint
            .keys()
            .all(|k| !k.contains("/v1/forms") || k.starts_with("GET ")),
        "{:?}",
        f.sb.request_counts()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_state_save_or_ssot_folder_makes_no_duplicate() {
    let f = Fx::new().await;
    let rid = f.submit(anna()).await;
    // The run's note write happened, its state save did not (killed in between): the state
    // folder is as before the run.
    f.sync().await;
    let state = f.v.join(".ssot");
    let saved = f._tmp.path().join("ssot-before");
    copy_dir(&state, &saved);
    let rid2 = f
        .submit(json!({"Contact name": "Jan Nowak", "Email": "jan@example.com"}))
        .await;
    f.sync().await;
    assert_eq!(f.intakes().len(), 2);
    std::fs::remove_dir_all(&state).expect("rm");
    copy_dir(&saved, &state);
    f.sync().await;
    assert_eq!(f.intakes().len(), 2, "{:?}", f.intakes());
    f.note_of(&rid);
    f.note_of(&rid2);
    // `.ssot/` lost altogether: a full read matches the notes by their response ids.
    std::fs::remove_dir_all(&state).expect("rm");
    let o = f.sync().await;
    assert_eq!(f.intakes().len(), 2, "{}", out(&o));
    f.note_of(&rid);
    f.note_of(&rid2);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_missing_a_required_answer_is_reported_not_written() {
    let f = Fx::new().await;
    let bad = f
        .submit(json!({"Contact name": "No Mail", "Email": "   "}))
        .await;
    let good = f.submit(anna()).await;
    let o = f.run(&["sync"]).await;
    f.note_of(&good);
    assert_eq!(f.intakes().len(), 1, "{}", out(&o));
    let all = out(&o);
    assert!(
        all.contains(&format!("{bad} (Intake No Mail"))
            && all.contains("makes no valid intake note"),
        "{all}"
    );
    assert!(all.contains("missing required property `email`"), "{all}");
    // Reported once: the next run, with the response unchanged, neither writes nor reports it.
    let o = f.run(&["sync"]).await;
    assert!(!out(&o).contains(&bad), "{}", out(&o));
    assert_eq!(f.intakes().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_answers_make_safe_notes() {
    let f = Fx::new().await;
    let long = "x".repeat(10_000);
    let polish = "Ż".repeat(150);
    let rids = [
        f.submit(json!({"Contact name": "Nul\u{0}Byte", "Email": "a\u{0}@example.com", "What do you need?": "a\u{0}b"})).await,
        f.submit(json!({"Contact name": long, "Email": "b@example.com", "What do you need?": long})).await,
        f.submit(json!({"Contact name": "../x", "Email": "c@example.com", "Company": "../../etc/passwd"})).await,
        f.submit(json!({"Contact name": polish, "Email": "d@example.com"})).await,
    ];
    let o = f.sync().await;
    for rid in &rids {
        let (name, text) = f.note_of(rid);
        assert!(!text.contains('\0'), "{name}");
        assert!(!name.contains('/') && name.len() < 255, "{name}");
    }
    // Nothing outside the Intake folder was made.
    assert!(!f.v.join("x.md").exists() && !f.v.parent().expect("p").join("x.md").exists());
    let o2 = f.run(&["check"]).await;
    assert!(o2.status.success(), "{}\n{}", out(&o), out(&o2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_mid_run_is_renewed() {
    // A token lives 1.2 s and each request takes 0.4 s: it expires mid-run, and a token
    // fetched again outlives the request it is fetched for, even on a loaded machine.
    let mut cfg = quiet();
    cfg.google.token_lifetime = std::time::Duration::from_millis(1200);
    let f = Fx::with(cfg, "page_size = 1").await;
    f.sb.set_faults(FaultConfig {
        latency_ms: 400,
        path_prefix: Some("/v1/forms".into()),
        ..FaultConfig::default()
    });
    let mut rids = Vec::new();
    for i in 0..6 {
        rids.push(
            f.submit(json!({"Contact name": format!("Person {i}"), "Email": format!("p{i}@example.com")}))
                .await,
        );
    }
    let o = f.sync().await;
    for rid in &rids {
        f.note_of(rid);
    }
    assert!(
        f.count("POST /token") >= 2,
        "{:?}\n{}",
        f.sb.request_counts(),
        out(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_and_auth_status_name_the_google_key() {
    let f = Fx::new().await;
    let o = f.run(&["doctor"]).await;
    let all = out(&o);
    assert!(
        all.contains("forms: Google Forms at")
            && all.contains("form `Work with us` (10 questions)"),
        "{all}"
    );
    assert!(!all.contains("PRIVATE KEY"), "{all}");
    let o = f.run(&["auth", "status", "google"]).await;
    let all = out(&o);
    assert!(o.status.success(), "{all}");
    assert!(all.contains("GOOGLE_APPLICATION_CREDENTIALS"), "{all}");
    assert!(!all.contains("PRIVATE KEY"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_the_note_write_then_resume_makes_no_duplicate() {
    let f = Fx::new().await;
    let mut rids = Vec::new();
    for i in 0..5 {
        rids.push(
            f.submit(json!({"Contact name": format!("Killed {i}"), "Email": format!("k{i}@example.com")}))
                .await,
        );
    }
    let journal = f.v.join(".ssot").join("forms").join("journal.jsonl");
    let mut child = crate::common::spawn(
        &f.v,
        &["sync"],
        [("GOOGLE_APPLICATION_CREDENTIALS", &f.key)],
    );
    // Killed as soon as a note is on disk (before the run's end is journaled and its state saved).
    crate::common::kill_9_when(
        &mut child,
        20_000,
        std::time::Duration::from_micros(200),
        || !f.intakes().is_empty(),
    );
    let ended = std::fs::read_to_string(&journal)
        .unwrap_or_default()
        .contains("\"event\":\"end\"");
    assert!(
        !f.intakes().is_empty(),
        "a note was written before the kill"
    );
    let o = f.sync().await;
    assert_eq!(
        f.intakes().len(),
        5,
        "ended before the kill: {ended}\n{}",
        out(&o)
    );
    for rid in &rids {
        f.note_of(rid);
    }
    assert_eq!(git(&f.v, &["status", "--porcelain"]), "");
    f.sync().await;
    assert_eq!(f.intakes().len(), 5);
    eprintln!("killed before the run's end: {}", !ended);
}
