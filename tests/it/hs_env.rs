//! The HubSpot sync test environment shared by the sync tests: a vault made by `init`, its
//! `[remotes.hubspot]` pointed at an in-process sandbox, and the real binary run against it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use ssot_vault::sandbox::{DEFAULT_HUBSPOT_TOKEN, Sandbox, SandboxConfig};

use crate::common::{bin, init_vault};

pub struct Env {
    pub sb: Sandbox,
    pub _tmp: tempfile::TempDir,
    pub v: PathBuf,
    pub http: reqwest::Client,
}

pub fn quiet() -> SandboxConfig {
    SandboxConfig {
        hubspot_rate_limit: None,
        search_rate_limit_per_sec: None,
        ..SandboxConfig::default()
    }
}

/// Points the vault's `[remotes.hubspot]` at the sandbox, with fast retries, and commits.
pub fn configure(v: &Path, base: &str, extra: &str) {
    enable(v, base, extra);
    git(v, &["add", "-A"]);
    git(v, &["commit", "-qm", "Enable HubSpot"]);
}

/// Writes the vault's `[remotes.hubspot]` section pointed at the sandbox, with fast retries and
/// `extra` settings (no commit: [`configure`] commits; the process test composes it with the
/// other services').
pub fn enable(v: &Path, base: &str, extra: &str) {
    let p = v.join("ssot-vault.toml");
    let text = std::fs::read_to_string(&p).expect("config");
    let start = text.find("[remotes.hubspot]").expect("hubspot section");
    let end = start + text[start..].find("[remotes.jira]").expect("jira section");
    let section = format!(
        "[remotes.hubspot]\nenabled = true\nbase_url = \"{base}\"\nretry_base_ms = 20\nretry_max_ms = 200\nmax_retries = 12\ntimeout_seconds = 1.0\n{extra}\n\n"
    );
    std::fs::write(&p, format!("{}{section}{}", &text[..start], &text[end..]))
        .expect("write config");
}

pub fn git(v: &Path, args: &[&str]) -> String {
    let o = std::process::Command::new("git")
        .args(args)
        .current_dir(v)
        .env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

impl Env {
    pub async fn new(extra: &str) -> Env {
        Env::with(quiet(), extra).await
    }

    pub async fn with(cfg: SandboxConfig, extra: &str) -> Env {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg)
            .await
            .expect("sandbox");
        let (tmp, v) = init_vault();
        configure(&v, &sb.base_url(), extra);
        Env {
            sb,
            _tmp: tmp,
            v,
            http: reqwest::Client::new(),
        }
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[]).await
    }

    /// Runs the binary on the vault with extra environment variables (and the sandbox's token),
    /// off the async runtime (the sandbox serves on it).
    pub async fn run_with(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let v = self.v.clone();
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
                .env("HUBSPOT_TOKEN", DEFAULT_HUBSPOT_TOKEN)
                .envs(envs)
                .output()
                .expect("run")
        })
        .await
        .expect("join")
    }

    pub async fn sync(&self) -> Output {
        let o = self.run(&["sync"]).await;
        assert!(
            o.status.success(),
            "sync failed: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        o
    }

    pub async fn hs(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.sb.base_url()))
            .bearer_auth(DEFAULT_HUBSPOT_TOKEN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("send");
        let text = resp.text().await.expect("text");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Changes properties of a HubSpot record, as someone working in HubSpot would.
    pub async fn patch(&self, object: &str, id: &str, body: Value) -> Value {
        self.hs(
            reqwest::Method::PATCH,
            &format!("/crm/v3/objects/{object}/{id}"),
            Some(body),
        )
        .await
    }

    /// Live records of an object type.
    pub fn live(&self, object: &str) -> Vec<Value> {
        self.sb
            .hubspot_records(object)
            .into_iter()
            .filter(|r| r["archived"] != json!(true))
            .collect()
    }

    pub fn record_by_ssot(&self, object: &str, sid: &str) -> Value {
        let hits: Vec<Value> = self
            .live(object)
            .into_iter()
            .filter(|r| r["properties"]["ssot_id"] == json!(sid))
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "exactly one {object} with ssot_id {sid}: {hits:?}"
        );
        hits[0].clone()
    }

    pub fn note(&self, rel: &str) -> String {
        std::fs::read_to_string(self.v.join(rel)).expect("note")
    }

    pub fn prop(&self, rel: &str, key: &str) -> Option<String> {
        let text = self.note(rel);
        text.lines().find_map(|l| {
            l.strip_prefix(&format!("{key}: "))
                .map(|v| v.trim_matches('"').to_string())
        })
    }

    pub fn requests(&self) -> u64 {
        self.sb.request_counts().total
    }
}

pub const CLIENT: &str = "Clients/Piekarnia Złoty Kłos.md";
pub const EXPERT: &str = "Experts/Anna Nowak.md";
pub const PROJECT: &str = "Projects/Złoty Kłos online shop.md";
/// A second client, made by [`new_roza`].
pub const ROZA: &str = "Clients/Kwiaciarnia Róża.md";

/// A second client (`new client`, with its own e-mail), synced: two contacts in HubSpot.
pub async fn new_roza(e: &Env) {
    let o = e
        .run(&[
            "new",
            "client",
            "Kwiaciarnia Róża",
            "--set",
            "email=roza@example.pl",
        ])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    e.sync().await;
}

pub fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A test environment the process helpers below drive: its vault, and a run of the binary with
/// its service's credentials.
pub trait Cli {
    fn vault(&self) -> &Path;
    fn cli(&self, args: &[&str]) -> impl std::future::Future<Output = Output>;
}

impl Cli for Env {
    fn vault(&self) -> &Path {
        &self.v
    }
    async fn cli(&self, args: &[&str]) -> Output {
        self.run(args).await
    }
}

/// One command run, and asserted to succeed.
pub async fn run_ok(c: &impl Cli, args: &[&str]) -> Output {
    let o = c.cli(args).await;
    assert!(o.status.success(), "{args:?}: {}", out(&o));
    o
}

/// Each command run, and asserted to succeed.
async fn all_ok(c: &impl Cli, commands: &[&[&str]]) {
    for args in commands {
        run_ok(c, args).await;
    }
}

/// The sample project matched to Anna Nowak, who accepts it: `match --assign`, then
/// `project accept` (credentialing, its tasks added).
pub async fn assign_and_accept(c: &impl Cli) {
    all_ok(
        c,
        &[
            &["match", "Złoty Kłos online shop", "--assign", "Anna Nowak"],
            &["project", "accept", "Złoty Kłos online shop"],
        ],
    )
    .await;
}

/// Every credentialing task of the sample project ticked in its note, then `project activate`.
pub async fn tick_all_and_activate(c: &impl Cli) {
    let path = c.vault().join(PROJECT);
    let text = std::fs::read_to_string(&path).expect("project note");
    std::fs::write(&path, text.replace("- [ ] ", "- [x] ")).expect("tick");
    all_ok(c, &[&["project", "activate", "Złoty Kłos online shop"]]).await;
}
