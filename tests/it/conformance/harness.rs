//! The test side of the conformance suite: what a service tells the generic sync tests
//! ([`Service`]: its name, its emulator's settings, how its remote is configured, which notes of
//! the vault made by `init` it syncs and with which fields), and [`Harness`], a vault synced with
//! the service's in-process emulator, built on [`Env`] and driving the emulator through the
//! sandbox's `Emulator` admin operations.

#![allow(dead_code)]

use std::marker::PhantomData;
use std::ops::Deref;
use std::path::Path;
use std::process::Output;

use ssot_vault::sandbox::emulator::{Remote, RemoteRecord};
use ssot_vault::sandbox::{FaultConfig, Sandbox, SandboxConfig};

use crate::common::init_vault;
use crate::hs_env::{Cli, Env, git, out};

/// One field of a note the service syncs, from the vault made by `init`.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The note (vault-relative path).
    pub note: &'static str,
    /// Its record kind in the service.
    pub kind: &'static str,
    /// The frontmatter key.
    pub key: &'static str,
    /// The service's field it maps to.
    pub remote: &'static str,
    /// Its value in the note `init` makes.
    pub value: &'static str,
}

/// A record made in the service and the note it becomes.
#[derive(Debug, Clone, Copy)]
pub struct Made {
    /// Its record kind.
    pub kind: &'static str,
    /// Its field values.
    pub fields: &'static [(&'static str, &'static str)],
    /// The note it becomes.
    pub note: &'static str,
    /// Text the note holds (after its `ssot_id`, before its id key).
    pub contains: &'static str,
}

/// A service as the conformance suite sees it.
pub trait Service {
    /// Its name: `[remotes.<name>]`, its emulator, `Ssot-Source: <name>`.
    const NAME: &'static str;
    /// The id key the sync writes into its notes.
    const ID_KEY: &'static str;
    /// Environment variables holding its credentials for the sandbox.
    const CREDENTIALS: &'static [(&'static str, &'static str)];
    /// How its healthcheck names it, as `doctor` prints it after `ok   <name>: `.
    const HEALTHCHECK: &'static str;
    /// Its record kinds read once each by an unchanged sync (one request each).
    const KINDS: &'static [&'static str];
    /// The request counter key of its incremental read (`METHOD /route/template`).
    const PULL_ENDPOINT: &'static str;
    /// A fragment of the request counter keys of its writes.
    const PUSH_ENDPOINT: &'static str;
    /// Settings that turn off any window its incremental read re-reads before its cursor, so a
    /// record is read again only when the sync asks for it (empty when it has none).
    const NO_OVERLAP: &'static str;

    /// Its credentials for the sandbox at `env` (default: [`Self::CREDENTIALS`]); a service
    /// whose credential names the sandbox (a Google key file and its `token_uri`) writes it here.
    fn credentials(_env: &Env) -> Vec<(String, String)> {
        Self::CREDENTIALS
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    /// Requests of an unchanged sync (default: one read per kind of [`Self::KINDS`]).
    fn resync_requests() -> u64 {
        Self::KINDS.len() as u64
    }

    /// The id a record made in the service by [`Harness::create`] (whose id that returned)
    /// has once a sync took it (default: the same; a service whose records get their id from
    /// the sync, as a sheet's row its key, says it).
    fn taken_id(_env: &Env, _kind: &str, created: &str) -> String {
        created.to_string()
    }

    /// Its emulator's settings without rate limits.
    fn quiet() -> SandboxConfig;
    /// Its emulator's settings with its real rate limits.
    fn limited() -> SandboxConfig;
    /// Enables its remote in the vault at `v`, pointed at `base`, with fast retries and `extra`
    /// settings, and commits the configuration.
    fn configure(v: &Path, base: &str, extra: &str);
    /// The path prefix of its incremental read of `kind` (a fault there slows the pull).
    fn pull_prefix(kind: &str) -> String;
    /// Records the first sync of the vault made by `init` creates, per kind.
    fn initial() -> &'static [(&'static str, usize)];
    /// Every note of that vault it syncs, with its record kind.
    fn synced() -> &'static [(&'static str, &'static str)];
    /// A field edited on both sides.
    fn field() -> Field;
    /// Another field of the same note.
    fn pushed() -> Field;
    /// A third field of the same note: its line opened as a flow list (`key: [value`) breaks
    /// the note's YAML.
    fn breakable() -> Field;
    /// A field of another note of the same kind (it is also the note deleted in the vault).
    fn other() -> Field;
    /// Another field of that other note.
    fn other_pushed() -> Field;
    /// A number field of a note of another kind.
    fn number() -> Field;
    /// The lifecycle status of a note, as the service holds it (its value: `matching`, from
    /// which `active` is not a legal step).
    fn status() -> Field;
    /// A managed note whose YAML does not parse: its path, its text, and where the error is
    /// reported (`path:line:col`).
    fn broken_note() -> (&'static str, &'static str, &'static str);
    /// A third note of the kind of [`Self::other`], the one archived in the service.
    fn archived_note() -> &'static str;
    /// A vault edit of [`Self::field`]'s note: a key, its value and a new one.
    fn local_edit() -> (&'static str, &'static str, &'static str);
    /// A vault edit of [`Self::other`]'s note: a key, its value and a new one.
    fn other_edit() -> (&'static str, &'static str, &'static str);
    /// A record made in the service.
    fn made() -> Made;
    /// Note `i` of a bulk of new notes of [`Self::field`]'s kind: path and text, carrying
    /// `ssot_id` and `key: value` for [`Self::field`]'s key.
    fn bulk_note(i: usize, ssot_id: &str) -> (String, String);
}

/// A vault made by `init` whose remote `S` is served by an in-process sandbox.
pub struct Harness<S: Service> {
    pub env: Env,
    _service: PhantomData<S>,
}

impl<S: Service> Deref for Harness<S> {
    type Target = Env;

    fn deref(&self) -> &Env {
        &self.env
    }
}

impl<S: Service> Cli for Harness<S> {
    fn vault(&self) -> &Path {
        &self.env.v
    }
    async fn cli(&self, args: &[&str]) -> Output {
        self.run(args).await
    }
}

impl<S: Service> Harness<S> {
    /// The emulator without rate limits, the remote configured with `extra`.
    pub async fn new(extra: &str) -> Self {
        Self::with(S::quiet(), extra).await
    }

    /// The emulator started with `cfg`, the remote configured with `extra`.
    pub async fn with(cfg: SandboxConfig, extra: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg)
            .await
            .expect("sandbox");
        let (tmp, v) = init_vault();
        S::configure(&v, &sb.base_url(), extra);
        Harness {
            env: Env {
                sb,
                _tmp: tmp,
                v,
                http: reqwest::Client::new(),
            },
            _service: PhantomData,
        }
    }

    /// The service's credentials for this sandbox.
    pub fn credentials(&self) -> Vec<(String, String)> {
        S::credentials(&self.env)
    }

    /// Runs the binary on the vault with the service's credentials.
    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[]).await
    }

    /// Runs the binary with extra environment variables and the service's credentials.
    pub async fn run_with(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let creds = self.credentials();
        let all: Vec<(&str, &str)> = creds
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(envs.iter().copied())
            .collect();
        self.env.run_with(args, &all).await
    }

    /// `sync`, which must succeed.
    pub async fn sync(&self) -> Output {
        let o = self.run(&["sync"]).await;
        assert!(o.status.success(), "sync failed: {}", out(&o));
        o
    }

    /// The service's emulator on this sandbox.
    pub fn remote(&self) -> Remote<'_> {
        self.sb
            .remote(S::NAME)
            .expect("the service has an emulator")
    }

    /// Every record of a kind, archived ones included.
    pub fn records(&self, kind: &str) -> Vec<RemoteRecord> {
        self.remote().records(kind).expect("records")
    }

    /// The live records of a kind.
    pub fn live(&self, kind: &str) -> Vec<RemoteRecord> {
        self.remote().live(kind).expect("live records")
    }

    /// The one live record of a kind carrying `sid`.
    pub fn record(&self, kind: &str, sid: &str) -> RemoteRecord {
        let hits = self.remote().by_ssot_id(kind, sid).expect("records");
        assert_eq!(
            hits.len(),
            1,
            "exactly one {kind} with ssot_id {sid}: {hits:?}"
        );
        hits.into_iter().next().expect("one")
    }

    /// The record of a note (by the note's `ssot_id`).
    pub fn record_of(&self, note: &str, kind: &str) -> RemoteRecord {
        self.record(kind, &self.prop(note, "ssot_id").expect("ssot_id"))
    }

    /// A field of a note's record.
    pub fn remote_value(&self, f: Field) -> Option<String> {
        self.record_of(f.note, f.kind)
            .field(f.remote)
            .map(str::to_string)
    }

    /// The service id the note carries.
    pub fn id_of(&self, note: &str) -> String {
        self.prop(note, S::ID_KEY).expect("id key")
    }

    /// The `ssot_id` a record carries.
    pub fn ssot_of(&self, r: &RemoteRecord) -> Option<String> {
        r.field(self.remote().emulator.ssot_field())
            .map(str::to_string)
    }

    /// Sets a field of a note's record as a person working in the service would.
    pub fn edit(&self, f: Field, value: &str) {
        let id = self.id_of(f.note);
        self.remote()
            .edit(f.kind, &id, f.remote, value)
            .expect("edit in the service");
    }

    /// Edits the first field of [`Service::made`] of the record `id` in the service.
    pub fn edit_record(&self, kind: &str, id: &str) {
        let (field, value) = S::made().fields[0];
        self.remote()
            .edit(kind, id, field, &format!("{value} (edited)"))
            .expect("edit in the service");
    }

    /// Creates a record in the service; returns its id.
    pub fn create(&self, kind: &str, fields: &[(&str, &str)]) -> String {
        self.remote()
            .create(kind, fields)
            .expect("create in the service")
    }

    /// Archives a note's record in the service.
    pub fn archive(&self, note: &str, kind: &str) {
        let id = self.id_of(note);
        self.remote()
            .archive(kind, &id)
            .expect("archive in the service");
    }

    /// Requests made to the service.
    pub fn requests(&self) -> u64 {
        self.remote().requests()
    }

    /// Requests counted on one endpoint.
    pub fn count(&self, endpoint: &str) -> u64 {
        self.sb
            .request_counts()
            .by_endpoint
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Write requests made to the service.
    pub fn writes(&self) -> u64 {
        self.sb
            .request_counts()
            .by_endpoint
            .iter()
            .filter(|(k, _)| k.contains(S::PUSH_ENDPOINT))
            .map(|(_, n)| *n)
            .sum()
    }

    /// Replaces the emulator's faults.
    pub fn faults(&self, f: FaultConfig) {
        self.sb.set_faults(f);
    }

    /// The service's folder under `.ssot/`.
    pub fn state_dir(&self) -> std::path::PathBuf {
        self.v.join(".ssot").join(S::NAME)
    }

    /// `HEAD` of the vault.
    pub fn head(&self) -> String {
        git(&self.v, &["rev-parse", "HEAD"])
    }

    /// Starts `sync` of the real binary as a child process (to be killed).
    pub fn spawn_sync(&self) -> std::process::Child {
        crate::common::spawn(&self.v, &["sync"], self.credentials())
    }
}
