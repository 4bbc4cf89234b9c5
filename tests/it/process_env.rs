//! The whole process's test environment: one in-process sandbox serving all five emulators
//! (HubSpot, Jira, Trello, Google Sheets, Google Forms), a vault made by `ssot-vault init` with
//! the five remotes enabled against it (each through its own tests' `enable` helper), the
//! experts' `jira_account_id` set to the Jira emulator's seeded users and the Trello helpdesk
//! board on; and what a test of the process needs around it: running the real binary, reading
//! each emulator's records, acting in a service as a person would (a form response, a card
//! moved, an item ticked, a comment or a document added in Trello), and the git log's trailers.

#![allow(dead_code)]

use std::ops::Deref;
use std::process::Output;

use serde_json::{Value, json};
use ssot_vault::sandbox::emulator::RemoteRecord;
use ssot_vault::sandbox::jira::store::{ROLE_MEMBERS, SEED_USERS};
use ssot_vault::sandbox::jira::{DEFAULT_EMAIL, DEFAULT_TOKEN};
use ssot_vault::sandbox::person::Person;
use ssot_vault::sandbox::{DEFAULT_TRELLO_KEY, DEFAULT_TRELLO_TOKEN, Sandbox, SandboxConfig};

use crate::common::init_vault;
use crate::conformance::trello::{OLA, api_as};
use crate::conformance::{forms, jira, sheets, trello};
use crate::hs_env::{self, EXPERT, Env, git, out};

/// The second expert of the vault made by `init`.
pub const TOMASZ: &str = "Experts/Tomasz Wiśniewski.md";

/// The Jira account of Anna Nowak (the emulator's seeded `Ewa Lis`, who can sign in).
pub const ANNA_JIRA: usize = 1;
/// The Jira account of Tomasz Wiśniewski (the emulator's seeded `Jan`).
pub const TOMASZ_JIRA: usize = 2;

/// The Trello helpdesk's settings: the `Helpdesk` board, its seeded client and expert members.
const HELPDESK: &str = "helpdesk_board = \"Helpdesk\"\n[remotes.trello.helpdesk_parties]\n\"anna.client\" = \"client\"\n\"ewa.expert\" = \"expert\"\n";

/// One commit of the vault's history: its subject and its trailers, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub subject: String,
    pub trailers: Vec<(String, String)>,
}

impl Commit {
    /// The values of one trailer.
    pub fn trailer(&self, key: &str) -> Vec<&str> {
        self.trailers
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Its `Ssot-Source` (`vault`, or the service a pull came from).
    pub fn source(&self) -> Option<&str> {
        self.trailer("Ssot-Source").into_iter().next()
    }

    /// Its `Ssot-Transition`s (`from→to`), in order.
    pub fn transitions(&self) -> Vec<&str> {
        self.trailer("Ssot-Transition")
    }
}

/// The vault with all five services enabled against one sandbox.
pub struct ProcessEnv {
    pub env: Env,
}

impl Deref for ProcessEnv {
    type Target = Env;

    fn deref(&self) -> &Env {
        &self.env
    }
}

/// Every emulator without its rate limits or quotas.
pub fn quiet() -> SandboxConfig {
    let mut cfg = hs_env::quiet();
    cfg.sheets.quota = None;
    cfg.forms.quota = None;
    cfg
}

impl ProcessEnv {
    /// The sandbox, the vault made by `init`, the five remotes enabled, the experts' Jira
    /// accounts set; committed as one change.
    pub async fn new() -> ProcessEnv {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), quiet())
            .await
            .expect("sandbox");
        let (tmp, v) = init_vault();
        let base = sb.base_url();
        hs_env::enable(&v, &base, "");
        jira::enable_jira(&v, &base, "");
        trello::enable(&v, &base, HELPDESK);
        sheets::enable(&v, &base, "");
        forms::enable(
            &v,
            &base,
            &format!(
                "helpdesk_form = \"{}\"\n",
                ssot_vault::sandbox::forms::HELPDESK_FORM_ID
            ),
        );
        for (note, user) in [(EXPERT, ANNA_JIRA), (TOMASZ, TOMASZ_JIRA)] {
            let p = v.join(note);
            let text = std::fs::read_to_string(&p).expect("expert");
            let text = text.replacen(
                "\n---\n",
                &format!("\njira_account_id: {}\n---\n", SEED_USERS[user].0),
                1,
            );
            std::fs::write(&p, text).expect("write expert");
        }
        git(&v, &["add", "-A"]);
        git(&v, &["commit", "-qm", "Enable the five services"]);
        let env = Env {
            sb,
            _tmp: tmp,
            v,
            http: reqwest::Client::new(),
        };
        ProcessEnv { env }
    }

    /// Every service's credentials for this sandbox (the Google key file written once).
    pub fn credentials(&self) -> Vec<(String, String)> {
        let mut c = sheets::credentials(&self.env);
        for (k, v) in [
            ("JIRA_EMAIL", DEFAULT_EMAIL),
            ("JIRA_API_TOKEN", DEFAULT_TOKEN),
            ("TRELLO_KEY", DEFAULT_TRELLO_KEY),
            ("TRELLO_TOKEN", DEFAULT_TRELLO_TOKEN),
        ] {
            c.push((k.into(), v.into()));
        }
        c
    }

    /// Runs the binary on the vault with every service's credentials.
    pub async fn run(&self, args: &[&str]) -> Output {
        let creds = self.credentials();
        let envs: Vec<(&str, &str)> = creds
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.env.run_with(args, &envs).await
    }

    /// Runs the binary, which must succeed; its output.
    pub async fn ok(&self, args: &[&str]) -> Output {
        let o = self.run(args).await;
        assert!(o.status.success(), "{args:?} failed: {}", out(&o));
        o
    }

    /// `sync` of every service, which must succeed.
    pub async fn sync(&self) -> Output {
        self.ok(&["sync"]).await
    }

    // The vault.

    /// The note of `folder` whose text holds `needle` (exactly one).
    pub fn note_with(&self, folder: &str, needle: &str) -> String {
        let hits: Vec<String> = std::fs::read_dir(self.v.join(folder))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .filter(|p| {
                std::fs::read_to_string(p)
                    .map(|t| t.contains(needle))
                    .unwrap_or(false)
            })
            .map(|p| {
                format!(
                    "{folder}/{}",
                    p.file_name().expect("name").to_string_lossy()
                )
            })
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "one note of {folder} with {needle:?}: {hits:?}"
        );
        hits.into_iter().next().expect("one")
    }

    /// The `ssot_id` of a note.
    pub fn sid(&self, note: &str) -> String {
        self.prop(note, "ssot_id").expect("ssot_id")
    }

    /// `HEAD` of the vault.
    pub fn head(&self) -> String {
        git(&self.v, &["rev-parse", "HEAD"]).trim().to_string()
    }

    /// The last `n` commits, newest first.
    pub fn commits(&self, n: usize) -> Vec<Commit> {
        self.log(&[&format!("-{n}")])
    }

    /// The commits made since `rev` (a [`Self::head`]), oldest first.
    pub fn commits_since(&self, rev: &str) -> Vec<Commit> {
        let mut c = self.log(&[&format!("{rev}..HEAD")]);
        c.reverse();
        c
    }

    fn log(&self, range: &[&str]) -> Vec<Commit> {
        let mut args = vec!["log", "--format=%s%x1f%(trailers:only,unfold)%x1e"];
        args.extend_from_slice(range);
        let log = git(&self.v, &args);
        log.split('\u{1e}')
            .map(|c| c.trim_start_matches('\n'))
            .filter(|c| !c.is_empty())
            .map(|c| {
                let (subject, trailers) = c.split_once('\u{1f}').unwrap_or((c, ""));
                Commit {
                    subject: subject.to_string(),
                    trailers: trailers
                        .lines()
                        .filter_map(|l| l.split_once(": "))
                        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
                        .collect(),
                }
            })
            .collect()
    }

    /// `git status --porcelain` of the vault (empty: every change committed).
    pub fn uncommitted(&self) -> String {
        git(&self.v, &["status", "--porcelain"])
    }

    // The emulators' records.

    /// The live records of a kind of a service (`hubspot`, `jira`, `trello`, `sheets`, `forms`).
    pub fn live_of(&self, service: &str, kind: &str) -> Vec<RemoteRecord> {
        self.sb
            .remote(service)
            .expect("emulator")
            .live(kind)
            .expect("records")
    }

    /// The one live record of a kind carrying the note's `ssot_id`.
    pub fn record_of_note(&self, service: &str, kind: &str, note: &str) -> RemoteRecord {
        let sid = self.sid(note);
        let hits = self
            .sb
            .remote(service)
            .expect("emulator")
            .by_ssot_id(kind, &sid)
            .expect("records");
        assert_eq!(hits.len(), 1, "one {service} {kind} of {note}: {hits:?}");
        hits.into_iter().next().expect("one")
    }

    /// HubSpot's live contacts.
    pub fn contacts(&self) -> Vec<Value> {
        self.env.live("contacts")
    }

    /// HubSpot's live deals.
    pub fn deals(&self) -> Vec<Value> {
        self.env.live("deals")
    }

    /// The HubSpot record (`contacts`, `deals`) of a note.
    pub fn hubspot_of(&self, object: &str, note: &str) -> Value {
        self.record_by_ssot(object, &self.sid(note))
    }

    /// The ids of the HubSpot records of `to` associated with a deal.
    pub async fn deal_associations(&self, deal: &str, to: &str) -> Vec<String> {
        let v = self
            .hs(
                reqwest::Method::GET,
                &format!("/crm/v4/objects/deals/{deal}/associations/{to}"),
                None,
            )
            .await;
        v["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| {
                r["toObjectId"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| r["toObjectId"].as_u64().map(|n| n.to_string()))
            })
            .collect()
    }

    /// Jira's live issues (projects' issues and their tasks).
    pub fn issues(&self) -> Vec<RemoteRecord> {
        self.live_of("jira", "issues")
    }

    /// The Jira issue of a project note.
    pub fn issue_of(&self, note: &str) -> RemoteRecord {
        self.record_of_note("jira", "issues", note)
    }

    /// The live issues under the issue `key` (its tasks).
    pub fn tasks_of(&self, key: &str) -> Vec<RemoteRecord> {
        self.issues()
            .into_iter()
            .filter(|r| r.field("parent") == Some(key))
            .collect()
    }

    /// The texts of the comments of the issue `key`, oldest first.
    pub fn jira_comments(&self, key: &str) -> Vec<String> {
        self.sb.state().read_jira(|d| {
            d.issues
                .values()
                .find(|i| i.key == key)
                .map(|i| i.comments.iter().map(|c| adf_text(&c.body)).collect())
                .unwrap_or_default()
        })
    }

    /// The account ids in the role `Members` of the Jira project (who may see its issues).
    pub fn jira_members(&self) -> Vec<String> {
        self.sb.state().read_jira(|d| {
            d.projects
                .values()
                .flat_map(|p| p.role_actors.get(&ROLE_MEMBERS).into_iter().flatten())
                .cloned()
                .collect()
        })
    }

    /// Whether the seeded Jira user `user` (an index of `SEED_USERS`) can read the issue `key`.
    pub async fn jira_can_read(&self, user: usize, key: &str) -> bool {
        let (_, email, _, token, _) = SEED_USERS[user];
        self.person()
            .with_jira(email, token)
            .jira_can_read(key)
            .await
            .expect("send")
    }

    /// The Trello card of a project or ticket note.
    pub fn card_of(&self, note: &str) -> RemoteRecord {
        self.record_of_note("trello", "cards", note)
    }

    /// A Trello API call as Ola (the operator working in Trello); its JSON answer.
    pub async fn trello(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        api_as(&self.env, OLA, method, path, body).await
    }

    /// A Trello API read as Ola, its items (none when the answer is not a list).
    async fn trello_list(&self, path: &str) -> Vec<Value> {
        match self.trello(reqwest::Method::GET, path, None).await {
            Value::Array(items) => items,
            _ => Vec::new(),
        }
    }

    /// A Trello API call as the member of `token` (`sandbox-trello-token-anna`, `-ewa`, ...).
    pub async fn trello_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        api_as(&self.env, token, method, path, body).await
    }

    /// A card's checklist items: (name, ticked), in the card's order.
    pub async fn checklist(&self, card: &str) -> Vec<(String, bool)> {
        let lists = self.trello_list(&format!("/cards/{card}/checklists")).await;
        lists
            .iter()
            .flat_map(|c| c["checkItems"].as_array().cloned().unwrap_or_default())
            .map(|i| {
                (
                    i["name"].as_str().unwrap_or_default().to_string(),
                    i["state"] == json!("complete"),
                )
            })
            .collect()
    }

    /// The names of a card's attachments.
    pub async fn attachments(&self, card: &str) -> Vec<String> {
        let mut names = self
            .person()
            .attachment_names(card)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        names.sort();
        names
    }

    /// A card's attachments as downloaded: (name, bytes), sorted by name.
    pub async fn attachment_bytes(&self, card: &str) -> Vec<(String, Vec<u8>)> {
        let mut out = self
            .person()
            .attachment_bytes(card)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        out.sort();
        out
    }

    /// The texts of a card's comments, oldest first.
    pub async fn card_comments(&self, card: &str) -> Vec<String> {
        let v = self
            .trello_list(&format!("/cards/{card}/actions?filter=commentCard"))
            .await;
        let mut texts: Vec<String> = v
            .iter()
            .filter_map(|a| a.pointer("/data/text").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        texts.reverse();
        texts
    }

    /// Ola (the operator working in Trello) as a person of the sandbox's services.
    pub fn person(&self) -> Person {
        Person::new(&self.sb, OLA).with_client(self.http.clone())
    }

    /// Moves a card to the list `list` of its board, as Ola would.
    pub async fn move_card(&self, card: &str, list: &str) {
        self.person()
            .move_card(card, list)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Ticks (or unticks) the checklist item `name` of a card, as Ola would.
    pub async fn tick(&self, card: &str, name: &str, done: bool) {
        self.person()
            .tick(card, name, done)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Comments on a card as the member of `token`.
    pub async fn comment_as(&self, token: &str, card: &str, text: &str) {
        self.person()
            .member(token)
            .comment(card, text)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Uploads a document to a card, as Ola would; the attachment's id.
    pub async fn attach(&self, card: &str, file_name: &str, bytes: &[u8]) -> String {
        self.person()
            .attach(card, file_name, bytes)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The rows of a Sheets tab (`Clients`, `Experts`, `Projects`), by their header's names.
    pub fn rows(&self, tab: &str) -> Vec<RemoteRecord> {
        self.live_of("sheets", tab)
    }

    /// The row of a note in a tab (by its `ssot_id` column).
    pub fn row_of(&self, tab: &str, note: &str) -> RemoteRecord {
        self.record_of_note("sheets", tab, note)
    }

    /// The responses of a form (`intake`, `helpdesk`): their answers by question title.
    pub fn responses(&self, form: &str) -> Vec<RemoteRecord> {
        self.live_of("forms", form)
    }

    /// Submits a response to a form (its id), answers by question title; the response's id.
    pub async fn submit(&self, form: &str, answers: Value) -> String {
        self.person()
            .submit(form, answers)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The text of an Atlassian Document Format body (its text nodes, paragraphs on lines).
pub fn adf_text(v: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        if let Some(t) = v["text"].as_str() {
            out.push_str(t);
        }
        for c in v["content"].as_array().into_iter().flatten() {
            walk(c, out);
        }
        if v["type"] == json!("paragraph") {
            out.push('\n');
        }
    }
    let mut out = String::new();
    walk(v, &mut out);
    out.trim_end().to_string()
}

/// The environment itself: the five remotes sync the vault made by `init`, and the helpers that
/// act as a person (a form response, a card moved, an item ticked, a comment, a document) land
/// in the emulators and read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_five_services_sync_and_a_person_acts_in_each() {
    let env = ProcessEnv::new().await;
    assert!(
        env.note(EXPERT)
            .contains(&format!("\njira_account_id: {}\n", SEED_USERS[ANNA_JIRA].0))
    );
    let head = env.head();
    let o = env.sync().await;
    let sources: Vec<String> = env
        .commits_since(&head)
        .iter()
        .filter_map(|c| c.source().map(str::to_string))
        .collect();
    assert_eq!(
        sources,
        ["hubspot", "trello", "jira", "sheets"],
        "{}",
        out(&o)
    );
    let project = crate::hs_env::PROJECT;
    assert_eq!(env.contacts().len(), 3);
    assert_eq!(env.deals().len(), 1);
    assert_eq!(
        env.issue_of(project).field("summary"),
        Some("Złoty Kłos online shop")
    );
    assert!(env.tasks_of(&env.issue_of(project).id).is_empty());
    assert_eq!(env.rows("Experts").len(), 2);
    assert!(env.jira_comments(&env.issue_of(project).id).is_empty());
    assert!(
        !env.jira_can_read(ANNA_JIRA, &env.issue_of(project).id)
            .await
    );
    assert!(env.jira_can_read(0, &env.issue_of(project).id).await);

    // Trello, as Ola: a list move, a checklist item ticked, a comment, a document.
    let card = env.card_of(project).id;
    env.move_card(&card, "Credentialing").await;
    assert_eq!(env.card_of(project).field("list"), Some("Credentialing"));
    let list = env
        .trello(
            reqwest::Method::POST,
            &format!("/cards/{card}/checklists"),
            Some(json!({"name": "Credentialing"})),
        )
        .await;
    let list = list["id"].as_str().expect("checklist id");
    for item in ["NDA signed", "Contract signed"] {
        env.trello(
            reqwest::Method::POST,
            &format!("/checklists/{list}/checkItems"),
            Some(json!({ "name": item })),
        )
        .await;
    }
    env.tick(&card, "Contract signed", true).await;
    assert_eq!(
        env.checklist(&card).await,
        [
            ("NDA signed".to_string(), false),
            ("Contract signed".into(), true)
        ]
    );
    env.comment_as(OLA, &card, "NDA sent for signature").await;
    env.comment_as("sandbox-trello-token-ewa", &card, "Signed and sent back")
        .await;
    assert_eq!(
        env.card_comments(&card).await,
        ["NDA sent for signature", "Signed and sent back"]
    );
    env.attach(&card, "nda-signed.pdf", b"%PDF-1.4 signed")
        .await;
    assert_eq!(env.attachments(&card).await, ["nda-signed.pdf"]);

    // Forms: a helpdesk response.
    env.submit(
        ssot_vault::sandbox::forms::HELPDESK_FORM_ID,
        json!({"Project": "Złoty Kłos online shop", "Who is writing?": "client", "Message": "Hello"}),
    )
    .await;
    let responses = env.responses("helpdesk");
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].field("Message"), Some("Hello"));
    assert_eq!(env.commits(1)[0].source(), Some("sheets"));
    assert_eq!(env.uncommitted(), "");
}

// For the crash test (`process_crash.rs`): the binary started as a child to be killed, and
// every record a service ever held for a note (deleted or archived ones too).

impl ProcessEnv {
    /// `ssot-vault --vault V ARGS` started as a child process with every service's
    /// credentials, to be killed (`common::kill_9_when`).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        let mut creds = self.credentials();
        creds.push((
            "HUBSPOT_TOKEN".into(),
            ssot_vault::sandbox::DEFAULT_HUBSPOT_TOKEN.into(),
        ));
        crate::common::spawn(&self.v, args, creds)
    }

    /// Every record of a kind of a service whose `ssot_id` is `sid`, live or not.
    pub fn ever(&self, service: &str, kind: &str, sid: &str) -> Vec<RemoteRecord> {
        self.sb
            .remote(service)
            .expect("emulator")
            .records(kind)
            .expect("records")
            .into_iter()
            .filter(|r| r.field("ssot_id") == Some(sid))
            .collect()
    }
}
