//! The Google Forms helpdesk form and `[intake] auto_accept`, through the real binary against
//! the sandbox's Forms emulator: a helpdesk response opens a ticket, the next one is a message
//! in that ticket, a poll with nothing new costs one request per form, a response naming no
//! project is reported and the others go on, hostile messages make safe notes, a run stopped
//! dead mid-filing (or a lost `.ssot/`) files no message twice; an intake brought in is accepted
//! in the same sync, also after a run stopped dead at each step; `auth set google` takes the
//! key's JSON or its path on standard input and refuses anything else clearly.

use std::time::Duration;

use serde_json::{Value, json};
use ssot_vault::sandbox::forms::{HELPDESK_FORM_ID, INTAKE_FORM_ID};
use ssot_vault::sandbox::google;
use ssot_vault::sandbox::person::Person;
use ssot_vault::workflow::ticket;

use crate::common::{kill_9_when, spawn};
use crate::forms_sync::{Forms, Fx, quiet};
use crate::hs_env::{git, out};

const LIST: &str = "GET /v1/forms/{formId}/responses";
const GET_FORM: &str = "GET /v1/forms/{formId}";

/// A vault with both forms enabled (and `[intake] auto_accept` when asked).
async fn fx(auto_accept: bool, extra: &str) -> Fx {
    let forms = Forms {
        helpdesk: true,
        auto_accept,
    };
    Fx::start(quiet(), forms, extra).await
}

impl Fx {
    /// Runs the binary with `stdin` on standard input.
    #[cfg(feature = "keyring")]
    async fn run_stdin(&self, args: &[&str], stdin: &str) -> std::process::Output {
        let v = self.v.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let stdin = stdin.to_string();
        tokio::task::spawn_blocking(move || {
            crate::common::bin()
                .arg("--vault")
                .arg(&v)
                .args(&args)
                .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
                .write_stdin(stdin)
                .output()
                .expect("run")
        })
        .await
        .expect("join")
    }

    async fn submit_to(&self, form: &str, answers: Value) -> String {
        Person::new(&self.sb, "")
            .with_client(self.http.clone())
            .submit(form, answers)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A helpdesk response: (project, who, message).
    async fn write(&self, project: &str, who: &str, message: &str) -> String {
        self.submit_to(
            HELPDESK_FORM_ID,
            json!({"Project": project, "Who is writing?": who, "Message": message}),
        )
        .await
    }

    /// Makes the client `Acme` (once) and the project `name` of it, committed.
    async fn project(&self, name: &str) {
        if !self.v.join("Clients/Acme.md").exists() {
            let o = self
                .run(&["new", "client", "Acme", "--set", "email=a@acme.pl"])
                .await;
            assert!(o.status.success(), "{}", out(&o));
        }
        let o = self
            .run(&["new", "project", name, "--set", "client=[[Acme]]"])
            .await;
        assert!(o.status.success(), "{}", out(&o));
        git(&self.v, &["add", "-A"]);
        git(&self.v, &["commit", "-qm", "project"]);
    }

    /// The notes of a folder: (file name, text), sorted.
    fn notes(&self, folder: &str) -> Vec<(String, String)> {
        let Ok(dir) = std::fs::read_dir(self.v.join(folder)) else {
            return Vec::new();
        };
        let mut notes: Vec<(String, String)> = dir
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

    fn tickets(&self) -> Vec<(String, String)> {
        self.notes("Helpdesk")
    }
}

fn messages(text: &str) -> Vec<ticket::Message> {
    ticket::conversation(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helpdesk_responses_open_a_ticket_then_add_messages_once() {
    let f = fx(false, "").await;
    f.project("Online shop").await;
    let r1 = f
        .write(
            "Online shop",
            "Client",
            "The payment page fails.\nSince Monday.",
        )
        .await;
    // A dry run files nothing.
    let o = f.run(&["sync", "--dry-run"]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert!(f.tickets().is_empty(), "{}", out(&o));
    let o = f.sync().await;
    let t = f.tickets();
    assert_eq!(t.len(), 1, "{t:?}\n{}", out(&o));
    let (name, text) = &t[0];
    assert_eq!(name, "The payment page fails.md", "{text}");
    for line in [
        "type: ticket",
        "project: \"[[Online shop]]\"",
        "from: client",
        "status: open",
        "client: \"[[Acme]]\"",
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
    assert!(text.contains(&format!("- {r1}")), "{text}");
    let m = messages(text);
    assert_eq!(m.len(), 1, "{text}");
    assert_eq!(m[0].party, ticket::Party::Client);
    assert_eq!(m[0].author, "Acme");
    assert_eq!(m[0].text, "The payment page fails.\nSince Monday.");
    assert!(
        out(&o).contains("new ticket Helpdesk/The payment page fails.md"),
        "{}",
        out(&o)
    );
    let log = git(&f.v, &["log", "-1", "--format=%an%n%B"]);
    assert!(
        log.contains("ssot-vault (forms)") && log.contains("Ssot-Source: forms"),
        "{log}"
    );

    // A second response: a message in the project's open ticket, from the other side.
    let r2 = f
        .write("[[Online shop]]", "Expert", "Fixed, try again")
        .await;
    f.sync().await;
    let t = f.tickets();
    assert_eq!(t.len(), 1, "{t:?}");
    let text = &t[0].1;
    let m = messages(text);
    assert_eq!(m.len(), 2, "{text}");
    assert_eq!(m[1].party, ticket::Party::Expert);
    assert_eq!(m[1].text, "Fixed, try again");
    assert!(text.contains("status: answered"), "{text}");
    assert!(text.contains(&format!("- {r1}")) && text.contains(&format!("- {r2}")));

    // An edited response is read again (same id) and not filed again.
    let r = f
        .http
        .post(format!(
            "{}/__sandbox/forms/{HELPDESK_FORM_ID}/responses/{r2}",
            f.sb.base_url()
        ))
        .json(&json!({"answers": {"Message": "Fixed, try again now"}}))
        .send()
        .await
        .expect("edit");
    assert!(r.status().is_success());
    f.sync().await;
    assert_eq!(&f.tickets()[0].1, text);

    // Nothing new: one request per form (intake and helpdesk), no form read, nothing written.
    let (lists, gets) = (f.count(LIST), f.count(GET_FORM));
    let head = git(&f.v, &["rev-parse", "HEAD"]);
    let o = f.sync().await;
    assert_eq!(f.count(LIST) - lists, 2, "{}", out(&o));
    assert_eq!(f.count(GET_FORM) - gets, 0);
    assert_eq!(git(&f.v, &["rev-parse", "HEAD"]), head);
    assert_eq!(&f.tickets()[0].1, text);

    // A closed ticket takes no more: the next response opens a new one.
    let o = f.run(&["ticket", "close", &t[0].0]).await;
    assert!(o.status.success(), "{}", out(&o));
    f.write("Online shop", "Client", "Another thing").await;
    f.sync().await;
    let t = f.tickets();
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(
        t.iter()
            .any(|(n, x)| n == "Another thing.md" && messages(x).len() == 1)
    );
    assert_eq!(messages(&t[1].1).len() + messages(&t[0].1).len(), 3);
    let o = f.run(&["check"]).await;
    assert!(o.status.success(), "{}", out(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_the_helpdesk_form_and_its_missing_questions() {
    let f = fx(false, "").await;
    let o = f.run(&["doctor"]).await;
    assert!(
        out(&o).contains("helpdesk form `Helpdesk` (3 questions)")
            && !out(&o).contains("no question for"),
        "{}",
        out(&o)
    );
    let f = fx(
        false,
        "[remotes.forms.helpdesk_questions]\n\"Message\" = \"\"\n",
    )
    .await;
    let o = f.run(&["doctor"]).await;
    assert!(
        out(&o).contains("(no question for: message;"),
        "{}",
        out(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_naming_no_project_is_reported_once_and_the_others_go_on() {
    let f = fx(false, "").await;
    f.project("Online shop").await;
    let bad = f.write("No such project", "Client", "Hello?").await;
    let good = f.write("Online shop", "Client", "Hello").await;
    let o = f.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let all = out(&o);
    assert!(
        all.contains(&format!("helpdesk response {bad} not filed"))
            && all.contains("No such project"),
        "{all}"
    );
    // What the person wrote is in the report, to be filed by hand.
    assert!(
        all.contains("it says: \"Hello?\"") && all.contains("ssot-vault ticket new"),
        "{all}"
    );
    let t = f.tickets();
    assert_eq!(t.len(), 1);
    assert!(t[0].1.contains(&good) && !t[0].1.contains(&bad));
    // Reported once: the next run is clean.
    let o = f.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(!out(&o).contains(&bad), "{}", out(&o));
    assert_eq!(f.tickets().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_helpdesk_messages_make_safe_notes() {
    let f = fx(false, "").await;
    let long = format!("Long {}", "x".repeat(10_240));
    let cases: Vec<(&str, String)> = vec![
        ("P nul", "Null\u{0}byte here\u{0}".to_string()),
        ("P long", long.clone()),
        ("P dots", "../x".to_string()),
        ("P zet", "Ż".repeat(150)),
        ("P inject", "Hi\n## Injected\n---\ntype: client".to_string()),
    ];
    for (p, _) in &cases {
        f.project(p).await;
    }
    for (p, m) in &cases {
        f.write(p, "Client", m).await;
    }
    let o = f.sync().await;
    let t = f.tickets();
    assert_eq!(t.len(), cases.len(), "{t:?}\n{}", out(&o));
    for (name, text) in &t {
        assert!(name.len() < 255 && !name.contains('/'), "{name}");
        assert!(!text.contains('\u{0}'), "{name}");
        assert_eq!(messages(text).len(), 1, "{name}:\n{text}");
    }
    let of = |p: &str| {
        t.iter()
            .find(|(_, x)| x.contains(&format!("project: \"[[{p}]]\"")))
            .map(|(_, x)| messages(x).remove(0).text)
            .unwrap_or_else(|| panic!("ticket of {p}"))
    };
    assert_eq!(of("P nul"), "Nullbyte here");
    assert_eq!(of("P long"), long);
    assert_eq!(of("P dots"), "../x");
    assert_eq!(of("P zet"), "Ż".repeat(150));
    assert_eq!(of("P inject"), "Hi\n## Injected\n---\ntype: client");
    // Every ticket is in the helpdesk folder, and every note is valid.
    for e in std::fs::read_dir(&f.v)
        .expect("vault")
        .filter_map(|e| e.ok())
    {
        assert!(e.file_name() != "x.md", "a note escaped its folder");
    }
    let o = f.run(&["check"]).await;
    assert!(o.status.success(), "{}", out(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_dead_mid_filing_or_a_lost_state_files_no_message_twice() {
    let f = fx(false, "").await;
    f.project("Online shop").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            f.write("Online shop", "Client", &format!("Message {i}"))
                .await,
        );
    }
    // Stopped dead right after the first message is written (before its commit and state).
    let o = f
        .run_env(&["sync"], &[("SSOT_TEST_STOP_AT", "helpdesk")])
        .await;
    assert!(!o.status.success(), "{}", out(&o));
    let t = f.tickets();
    assert_eq!(t.len(), 1);
    assert_eq!(messages(&t[0].1).len(), 1);
    f.sync().await;
    let check = |f: &Fx| {
        let t = f.tickets();
        assert_eq!(t.len(), 1, "{t:?}");
        let m = messages(&t[0].1);
        let texts: Vec<&str> = m.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Message 0",
                "Message 1",
                "Message 2",
                "Message 3",
                "Message 4"
            ],
            "{}",
            t[0].1
        );
        for id in &ids {
            assert_eq!(t[0].1.matches(id.as_str()).count(), 1, "{id}");
        }
    };
    check(&f);
    assert_eq!(git(&f.v, &["status", "--porcelain"]), "");
    // `.ssot/` lost: every response is read again, none filed again.
    std::fs::remove_dir_all(f.v.join(".ssot")).expect("rm .ssot");
    f.sync().await;
    check(&f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_binary_mid_filing_then_a_rerun_files_each_message_once() {
    let f = fx(false, "").await;
    f.project("Online shop").await;
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(
            f.write("Online shop", "Client", &format!("Message {i}"))
                .await,
        );
    }
    let mut child = spawn(
        &f.v,
        &["sync"],
        [("GOOGLE_APPLICATION_CREDENTIALS", &f.key)],
    );
    // Killed as soon as the ticket is on disk (while its messages are being filed).
    kill_9_when(&mut child, 50_000, Duration::from_micros(100), || {
        !f.tickets().is_empty()
    });
    let before = f
        .tickets()
        .first()
        .map(|(_, t)| messages(t).len())
        .unwrap_or(0);
    assert!(before >= 1, "a message was filed before the kill");
    f.sync().await;
    let t = f.tickets();
    assert_eq!(t.len(), 1, "{t:?}");
    let m = messages(&t[0].1);
    assert_eq!(m.len(), 30, "filed before the kill: {before}\n{}", t[0].1);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(m[i].text, format!("Message {i}"));
        assert_eq!(t[0].1.matches(id.as_str()).count(), 1, "{id}");
    }
    assert_eq!(git(&f.v, &["status", "--porcelain"]), "");
    eprintln!("messages filed before the kill: {before} of 30");
}

fn anna() -> Value {
    json!({
        "Contact name": "Anna Kowalska",
        "Email": "anna@example.com",
        "Company": "Piekarnia Nowa",
        "What do you need?": "A bookkeeping app",
    })
}

/// One intake of the form (accepted), one client of its e-mail, one project of the intake (the
/// template's example notes aside).
fn assert_one_of_each(f: &Fx) {
    let intakes: Vec<_> = f
        .notes("Intake")
        .into_iter()
        .filter(|(_, t)| t.contains("form_response_id: "))
        .collect();
    assert_eq!(intakes.len(), 1, "{intakes:?}");
    let (name, text) = &intakes[0];
    assert!(text.contains("status: accepted"), "{text}");
    let intake = name.trim_end_matches(".md");
    let clients: Vec<_> = f
        .notes("Clients")
        .into_iter()
        .filter(|(_, t)| t.contains("email: anna@example.com"))
        .collect();
    assert_eq!(clients.len(), 1, "{clients:?}");
    assert_eq!(clients[0].0, "Piekarnia Nowa.md");
    let projects: Vec<_> = f
        .notes("Projects")
        .into_iter()
        .filter(|(_, t)| t.contains(&format!("intake: \"[[{intake}]]\"")))
        .collect();
    assert_eq!(projects.len(), 1, "{projects:?}");
    assert!(
        projects[0].1.contains("client: \"[[Piekarnia Nowa]]\""),
        "{}",
        projects[0].1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_accept_accepts_a_new_intake_in_the_sync_that_brings_it() {
    let f = fx(true, "").await;
    f.submit_to(INTAKE_FORM_ID, anna()).await;
    let o = f.sync().await;
    assert_one_of_each(&f);
    assert!(
        out(&o).contains(
            "accepted: project Projects/A bookkeeping app.md, new client Clients/Piekarnia Nowa.md"
        ),
        "{}",
        out(&o)
    );
    let log = git(&f.v, &["log", "-2", "--format=%s%n%b"]);
    assert!(
        log.contains("Accept intake") && log.contains("Ssot-Source: vault"),
        "{log}"
    );
    assert_eq!(git(&f.v, &["status", "--porcelain"]), "");
    let head = git(&f.v, &["rev-parse", "HEAD"]);
    f.sync().await;
    assert_one_of_each(&f);
    assert_eq!(git(&f.v, &["rev-parse", "HEAD"]), head);
    let o = f.run(&["check"]).await;
    assert!(o.status.success(), "{}", out(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_accept_stopped_dead_at_each_step_makes_one_of_each() {
    for step in ["intake", "client", "project"] {
        let f = fx(true, "").await;
        f.submit_to(INTAKE_FORM_ID, anna()).await;
        let o = f.run_env(&["sync"], &[("SSOT_TEST_STOP_AT", step)]).await;
        assert!(!o.status.success(), "{step}: {}", out(&o));
        assert!(
            f.notes("Intake")
                .iter()
                .any(|(_, t)| t.contains("form_response_id: ")),
            "{step}"
        );
        let o = f.sync().await;
        assert_one_of_each(&f);
        assert_eq!(
            git(&f.v, &["status", "--porcelain"]),
            "",
            "{step}: {}",
            out(&o)
        );
        f.sync().await;
        assert_one_of_each(&f);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_accept_killed_9_at_each_step_makes_one_of_each() {
    for step in ["intake", "client", "project"] {
        let f = fx(true, "").await;
        f.submit_to(INTAKE_FORM_ID, anna()).await;
        let mark = f.v.with_file_name("stopped");
        let mut child = spawn(
            &f.v,
            &["sync"],
            [
                ("GOOGLE_APPLICATION_CREDENTIALS", f.key.as_os_str()),
                ("SSOT_TEST_STOP_AT", step.as_ref()),
                ("SSOT_TEST_STOP_MARK", mark.as_os_str()),
            ],
        );
        // The binary waits at the step; it is killed there with SIGKILL.
        let (reached, status) = kill_9_when(&mut child, 3000, Duration::from_millis(10), || {
            mark.exists()
        });
        assert!(reached, "{step}: the step was reached");
        assert!(!status.success(), "{step}");
        let o = f.sync().await;
        assert_one_of_each(&f);
        assert_eq!(
            git(&f.v, &["status", "--porcelain"]),
            "",
            "{step}: {}",
            out(&o)
        );
        f.sync().await;
        assert_one_of_each(&f);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_auto_accept_an_intake_stays_new() {
    let f = fx(false, "").await;
    f.submit_to(INTAKE_FORM_ID, anna()).await;
    f.sync().await;
    let intakes: Vec<_> = f
        .notes("Intake")
        .into_iter()
        .filter(|(_, t)| t.contains("form_response_id: "))
        .collect();
    assert_eq!(intakes.len(), 1);
    assert!(intakes[0].1.contains("status: new"));
    assert!(
        !f.notes("Projects")
            .iter()
            .any(|(_, t)| t.contains("A bookkeeping app"))
    );
}

/// Removes the test's keyring entry when the test ends (also on failure).
#[cfg(feature = "keyring")]
struct Entry(String);

#[cfg(feature = "keyring")]
impl Drop for Entry {
    fn drop(&mut self) {
        let _ = ssot_vault::secrets::Keyring::native().remove(&self.0);
    }
}

#[cfg(feature = "keyring")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_set_google_takes_the_key_json_or_its_path_and_refuses_anything_else() {
    let entry = Entry(format!(
        "ssot-test-{:016x}",
        getrandom::u64().expect("random")
    ));
    // The key is read from the keyring only: the variable the section names is never set.
    let f = fx(
        false,
        &format!(
            "credentials_env = \"SSOT_TEST_UNSET_GOOGLE_KEY\"\nkeyring_entry = \"{}\"",
            entry.0
        ),
    )
    .await;
    let key_text = std::fs::read_to_string(&f.key).expect("key");
    let key: Value = serde_json::from_str(&key_text).expect("key json");
    let private = key["private_key"]
        .as_str()
        .expect("private_key")
        .to_string();
    // The private key's body (its PEM lines), which no output may show.
    let secret_line = private
        .lines()
        .find(|l| l.len() > 40 && !l.starts_with("-----"))
        .expect("a PEM line")
        .to_string();
    let shows_no_key = |o: &std::process::Output, what: &str| {
        let all = out(o);
        assert!(
            !all.contains(&secret_line) && !all.contains("PRIVATE KEY"),
            "{what} shows the private key:\n{all}"
        );
    };
    let sync_makes_intake = |n: usize| {
        let f = &f;
        async move {
            f.submit_to(
                INTAKE_FORM_ID,
                json!({"Contact name": format!("P{n}"), "Email": format!("p{n}@example.com")}),
            )
            .await;
            let o = f.run_stdin(&["sync"], "").await;
            assert!(o.status.success(), "sync: {}", out(&o));
            assert!(
                f.notes("Intake")
                    .iter()
                    .any(|(_, t)| t.contains(&format!("email: p{n}@example.com"))),
                "{}",
                out(&o)
            );
        }
    };

    // The key's JSON itself, as Google issues it (several lines).
    let pretty = serde_json::to_string_pretty(&key).expect("pretty");
    let o = f.run_stdin(&["auth", "set", "google"], &pretty).await;
    assert!(o.status.success(), "{}", out(&o));
    shows_no_key(&o, "auth set with the JSON");
    assert!(
        out(&o).contains(key["client_email"].as_str().expect("email")),
        "{}",
        out(&o)
    );
    sync_makes_intake(1).await;

    // The key file's path.
    let o = f
        .run_stdin(
            &["auth", "set", "google"],
            &format!("{}\n", f.key.display()),
        )
        .await;
    assert!(o.status.success(), "{}", out(&o));
    shows_no_key(&o, "auth set with the path");
    assert!(out(&o).contains("path"), "{}", out(&o));
    sync_makes_intake(2).await;

    // Anything else is refused, clearly, and the key stored stays.
    let mut no_token_uri = key.clone();
    no_token_uri
        .as_object_mut()
        .expect("object")
        .remove("token_uri");
    let mut oauth_client = key.clone();
    oauth_client["type"] = json!("authorized_user");
    let mut no_email = key.clone();
    no_email
        .as_object_mut()
        .expect("object")
        .remove("client_email");
    let mut bad_pem = key.clone();
    bad_pem["private_key"] = json!(format!("x{}", &private[40..]));
    let missing = f.v.join("no-such-key.json");
    for (input, says) in [
        (no_token_uri.to_string(), "`token_uri` is missing"),
        (
            oauth_client.to_string(),
            "is not a Google service-account key",
        ),
        (no_email.to_string(), "`client_email` is missing"),
        (bad_pem.to_string(), "private key"),
        ("{\"type\": \"service_account\",".to_string(), "not JSON"),
        (missing.display().to_string(), "cannot read the key file"),
        (String::new(), "no key on standard input"),
    ] {
        let o = f.run_stdin(&["auth", "set", "google"], &input).await;
        assert_eq!(o.status.code(), Some(2), "{input}: {}", out(&o));
        assert!(out(&o).contains(says), "{says}:\n{}", out(&o));
        shows_no_key(&o, says);
    }
    sync_makes_intake(3).await;
}

/// Issue 14's step 9 from the form's side: a helpdesk form message filed in a ticket reaches its
/// Trello card as a comment, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helpdesk_form_message_reaches_the_tickets_trello_card_once() {
    use crate::conformance::harness::Harness;
    use crate::conformance::trello::{TrelloService, api_as};
    let h = Harness::<TrelloService>::new("helpdesk_board = \"Helpdesk\"\n").await;
    let key = h.v.with_file_name("google-key.json");
    let key_json = google::sandbox_key_file(&format!("{}/token", h.sb.base_url()));
    std::fs::write(&key, key_json.to_string()).expect("key file");
    let key = key.display().to_string();
    let env = [("GOOGLE_APPLICATION_CREDENTIALS", key.as_str())];
    let o = h
        .run(&[
            "ticket",
            "new",
            "Bakery loyalty app",
            "--from",
            "client",
            "--subject",
            "Stamp card printing",
            "-m",
            "The stamp cards print blank.",
        ])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    let p = h.v.join("ssot-vault.toml");
    let text = std::fs::read_to_string(&p).expect("config");
    let start = text.find("[remotes.forms]").expect("forms section");
    std::fs::write(
        &p,
        format!(
            "{}[remotes.forms]\nenabled = true\nbase_url = \"{}\"\nintake_form = \"{INTAKE_FORM_ID}\"\nhelpdesk_form = \"{HELPDESK_FORM_ID}\"\n",
            &text[..start],
            h.sb.base_url()
        ),
    )
    .expect("config");
    let o = h.run_with(&["sync"], &env).await;
    assert!(o.status.success(), "{}", out(&o));
    const TICKET: &str = "Helpdesk/Stamp card printing.md";
    let card = h.prop(TICKET, "trello_card_id").expect("card id");
    let r = h
        .http
        .post(format!(
            "{}/__sandbox/forms/{HELPDESK_FORM_ID}/responses",
            h.sb.base_url()
        ))
        .json(&json!({"answers": {"Project": "Bakery loyalty app", "Who is writing?": "Client", "Message": "Still blank today."}}))
        .send()
        .await
        .expect("submit");
    assert!(r.status().is_success());
    // Forms files it after Trello's run: the next run posts it.
    for _ in 0..3 {
        let o = h.run_with(&["sync"], &env).await;
        assert!(o.status.success(), "{}", out(&o));
    }
    let note = h.note(TICKET);
    let m = messages(&note);
    assert_eq!(m.len(), 2, "{note}");
    assert_eq!(m[1].text, "Still blank today.");
    let v = api_as(
        &h,
        "sandbox-trello-token-ola",
        reqwest::Method::GET,
        &format!("/cards/{card}/actions?filter=commentCard"),
        None,
    )
    .await;
    let said: Vec<&str> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.pointer("/data/text").and_then(Value::as_str))
        .collect();
    assert_eq!(said.len(), 2, "{said:?}");
    let stamp = format!("{} · {} · {}", m[1].at, m[1].party, m[1].author);
    assert!(
        said.iter()
            .any(|c| *c == format!("### {stamp}\n\nStill blank today.")),
        "{said:?}"
    );
}
