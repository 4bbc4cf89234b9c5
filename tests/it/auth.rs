//! Credentials: `ssot-vault auth` and the OS keyring, end to end with the real binary and the
//! in-process HubSpot sandbox. Every test uses its own keyring entry (`keyring_entry =
//! "ssot-test-<random>"`) and its own random token accepted by its own sandbox, removes the entry
//! when it ends (even on failure), and checks that the token's text shows up nowhere: not in the
//! output, not in the vault, `.ssot/` or git.
//!
//! On Linux the keyring is the kernel's user keyring. If it cannot be used on the machine running
//! the tests, the keyring tests fail with a message saying so; they never skip.

use std::path::{Path, PathBuf};
use std::process::Output;

use ssot_vault::sandbox::{Sandbox, SandboxConfig};

use crate::common::{bin, init_vault};

fn random_hex() -> String {
    format!("{:016x}", getrandom::u64().expect("random"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Points the vault's `[remotes.hubspot]` at the sandbox with its own keyring entry.
fn configure(v: &Path, base: &str, entry: &str) {
    let p = v.join("ssot-vault.toml");
    let config = std::fs::read_to_string(&p).expect("config");
    let start = config.find("[remotes.hubspot]").expect("hubspot section");
    let end = start
        + config[start..]
            .find("[remotes.jira]")
            .expect("jira section");
    let section = format!(
        "[remotes.hubspot]\nenabled = true\nbase_url = \"{base}\"\nkeyring_entry = \"{entry}\"\nretry_base_ms = 20\nretry_max_ms = 200\nmax_retries = 2\ntimeout_seconds = 2.0\n\n"
    );
    std::fs::write(
        &p,
        format!("{}{section}{}", &config[..start], &config[end..]),
    )
    .expect("write config");
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(v)
            .env("GIT_AUTHOR_NAME", "Test User")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test User")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .status()
            .expect("git")
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["add", "-A"]);
    git(&["commit", "-qm", "Enable HubSpot"]);
}

/// Fails loudly, once, when the OS keyring cannot store and read an entry here.
#[cfg(feature = "keyring")]
fn require_keyring() {
    static PROBE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let r = PROBE.get_or_init(|| {
        use ssot_vault::connectors::Secret;
        use ssot_vault::secrets::Keyring;
        let kr = Keyring::native();
        let entry = format!("ssot-test-probe-{}", random_hex());
        let value = random_hex();
        kr.set(&entry, &Secret::new(value.clone()))
            .map_err(|e| format!("store: {e}"))?;
        let back = kr.get(&entry).map_err(|e| format!("read: {e}"));
        let _ = kr.remove(&entry);
        match back? {
            Some(s) if s.expose() == value => Ok(()),
            Some(_) => Err("read back a different value".into()),
            None => Err("the entry just stored was not found".into()),
        }
    });
    if let Err(e) = r {
        panic!(
            "the OS keyring ({}) cannot be used on this machine ({e}): the keyring tests need it \
             (on Linux the kernel key retention service: add_key/keyctl must not be blocked, e.g. by \
             a container's seccomp profile); they do not skip",
            ssot_vault::secrets::Keyring::describe()
        );
    }
}

/// A vault syncing with its own sandbox, its own token and its own keyring entry.
struct Case {
    sb: Sandbox,
    _tmp: tempfile::TempDir,
    v: PathBuf,
    entry: String,
    token: String,
}

impl Drop for Case {
    fn drop(&mut self) {
        #[cfg(feature = "keyring")]
        let _ = ssot_vault::secrets::Keyring::native().remove(&self.entry);
    }
}

impl Case {
    async fn new() -> Case {
        #[cfg(feature = "keyring")]
        require_keyring();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let token = format!("pat-test-{}{}", random_hex(), random_hex());
        let sb = Sandbox::start(
            "127.0.0.1:0".parse().expect("addr"),
            SandboxConfig {
                hubspot_token: token.clone(),
                hubspot_rate_limit: None,
                search_rate_limit_per_sec: None,
                ..SandboxConfig::default()
            },
        )
        .await
        .expect("sandbox");
        let (tmp, v) = init_vault();
        let entry = format!("ssot-test-{}", random_hex());
        configure(&v, &sb.base_url(), &entry);
        Case {
            sb,
            _tmp: tmp,
            v,
            entry,
            token,
        }
    }

    /// Runs the binary on the vault; `env_token` is `HUBSPOT_TOKEN` (`None`: unset).
    async fn run(&self, args: &[&str], env_token: Option<&str>, stdin: Option<&str>) -> Output {
        let v = self.v.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let env_token = env_token.map(str::to_string);
        let stdin = stdin.map(str::to_string);
        let shown = format!("{args:?}");
        let o = tokio::task::spawn_blocking(move || {
            let mut c = bin();
            c.arg("--vault").arg(&v).args(&args);
            match env_token {
                Some(t) => c.env("HUBSPOT_TOKEN", t),
                None => c.env_remove("HUBSPOT_TOKEN"),
            };
            c.write_stdin(stdin.unwrap_or_default());
            c.output().expect("run")
        })
        .await
        .expect("join");
        self.assert_secret_absent(&text(&o), &format!("the output of {shown}"));
        o
    }

    async fn ok(&self, args: &[&str], env_token: Option<&str>, stdin: Option<&str>) -> String {
        let o = self.run(args, env_token, stdin).await;
        assert!(o.status.success(), "{args:?} failed:\n{}", text(&o));
        text(&o)
    }

    fn assert_secret_absent(&self, haystack: &str, what: &str) {
        assert!(
            !haystack.contains(&self.token),
            "the token shows in {what}:\n{haystack}"
        );
    }

    /// The token is nowhere in the vault's files (`.ssot/` and `.git/` included) nor in any
    /// commit's patch or message.
    fn assert_secret_not_stored(&self) {
        for e in walkdir::WalkDir::new(&self.v) {
            let e = e.expect("walk");
            if e.file_type().is_file() {
                let bytes = std::fs::read(e.path()).expect("read");
                assert!(
                    !bytes
                        .windows(self.token.len())
                        .any(|w| w == self.token.as_bytes()),
                    "the token is stored in {}",
                    e.path().display()
                );
            }
        }
        let log = std::process::Command::new("git")
            .args(["log", "-p", "--all", "--format=%H %B"])
            .current_dir(&self.v)
            .output()
            .expect("git log");
        assert!(log.status.success());
        let log = String::from_utf8_lossy(&log.stdout);
        assert!(log.contains("Enable HubSpot"), "git log read");
        self.assert_secret_absent(&log, "git history");
    }

    fn contacts(&self) -> usize {
        self.sb
            .hubspot_records("contacts")
            .into_iter()
            .filter(|r| r["archived"] != serde_json::json!(true))
            .count()
    }

    #[cfg(feature = "keyring")]
    fn keyring_name(&self) -> String {
        format!("the OS keyring (ssot-vault/{})", self.entry)
    }
}

#[cfg(feature = "keyring")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_set_from_stdin_then_sync_without_env_and_remove_stops_it() {
    let c = Case::new().await;
    let token_line = format!("  {}\n", c.token);
    let out = c
        .ok(&["auth", "set", "hubspot"], None, Some(&token_line))
        .await;
    assert!(
        out.contains(&format!("hubspot: token stored in {}", c.keyring_name())),
        "{out}"
    );

    let out = c.ok(&["sync"], None, None).await;
    assert!(out.contains("hubspot"), "{out}");
    assert_eq!(c.contacts(), 3, "the sandbox holds the vault's contacts");
    assert_eq!(c.sb.hubspot_records("deals").len(), 1);
    c.assert_secret_not_stored();

    let out = c.ok(&["auth", "remove", "hubspot"], None, None).await;
    assert!(
        out.contains(&format!("hubspot: token removed from {}", c.keyring_name())),
        "{out}"
    );
    let out = c.ok(&["auth", "remove", "hubspot"], None, None).await;
    assert!(out.contains("nothing to remove"), "{out}");

    let o = c.run(&["sync"], None, None).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no credentials: set the environment variable HUBSPOT_TOKEN")
            && err.contains("`ssot-vault auth set hubspot`"),
        "the message names both ways:\n{err}"
    );
    c.assert_secret_not_stored();
}

#[cfg(feature = "keyring")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_variable_wins_over_the_keyring() {
    let c = Case::new().await;
    let right = c.token.clone();
    let wrong = format!("pat-wrong-{}", random_hex());

    // A wrong token in the keyring, the right one in the environment: the variable is used.
    c.ok(&["auth", "set", "hubspot"], None, Some(&wrong)).await;
    let out = c.ok(&["auth", "status"], Some(&right), None).await;
    assert!(
        out.contains("hubspot: credentials from the environment variable HUBSPOT_TOKEN (***)"),
        "{out}"
    );
    assert!(
        out.contains(&format!("note: {} also holds a token", c.keyring_name())),
        "{out}"
    );
    c.ok(&["sync"], Some(&right), None).await;
    assert_eq!(c.contacts(), 3);

    // The right token in the keyring, a wrong one in the environment: refused with 401.
    let out = c
        .ok(&["auth", "set", "hubspot"], Some(&wrong), Some(&right))
        .await;
    assert!(
        out.contains(
            "note: HUBSPOT_TOKEN is set in this environment and is used before the keyring"
        ),
        "{out}"
    );
    let o = c.run(&["sync", "--full"], Some(&wrong), None).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("HTTP 401"), "{err}");
    assert!(
        err.contains("refused the token from the environment variable HUBSPOT_TOKEN"),
        "{err}"
    );
    assert!(!err.contains(&wrong), "{err}");

    // Without the variable the keyring's right token is used again.
    c.ok(&["sync"], None, None).await;
    c.assert_secret_not_stored();
}

#[cfg(feature = "keyring")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_doctor_name_the_source_and_never_the_token() {
    let c = Case::new().await;

    let out = c.ok(&["auth", "status"], None, None).await;
    assert!(
        out.contains(
            "hubspot: no credentials: set the environment variable HUBSPOT_TOKEN, or run `ssot-vault auth set hubspot`"
        ),
        "{out}"
    );
    let o = c.run(&["doctor"], None, None).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("FAIL hubspot: credentials: set the environment variable HUBSPOT_TOKEN, or run `ssot-vault auth set hubspot`"),
        "{}",
        text(&o)
    );

    c.ok(&["auth", "set", "hubspot"], None, Some(&c.token))
        .await;
    let out = c.ok(&["auth", "status", "hubspot"], None, None).await;
    assert!(
        out.contains(&format!(
            "hubspot: credentials from {} (***)",
            c.keyring_name()
        )),
        "{out}"
    );
    let out = c.ok(&["doctor"], None, None).await;
    assert!(
        out.contains(&format!(
            "ok   hubspot: credentials from {} (***)",
            c.keyring_name()
        )),
        "{out}"
    );
    assert!(out.contains("token accepted"), "{out}");

    let json = c.ok(&["--json", "auth", "status"], None, None).await;
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v[0]["remote"], "hubspot");
    assert_eq!(v[0]["source"], "keyring");
    assert_eq!(v[0]["keyring_service"], "ssot-vault");
    assert_eq!(v[0]["keyring_entry"], c.entry.as_str());
    assert_eq!(v[0]["env_var"], "HUBSPOT_TOKEN");

    let out = c.ok(&["doctor"], Some(&c.token), None).await;
    assert!(
        out.contains("ok   hubspot: credentials from the environment variable HUBSPOT_TOKEN (***)"),
        "{out}"
    );
    let json = c
        .ok(&["--json", "auth", "status"], Some(&c.token), None)
        .await;
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v[0]["source"], "env");
    assert_eq!(v[0]["keyring_shadowed"], true);

    // Debug logs of the lookup and the keyring never carry the token either.
    let o = tokio::task::spawn_blocking({
        let v = c.v.clone();
        move || {
            bin()
                .arg("--vault")
                .arg(&v)
                .args(["doctor"])
                .env_remove("HUBSPOT_TOKEN")
                .env("RUST_LOG", "trace")
                .output()
                .expect("run")
        }
    })
    .await
    .expect("join");
    assert!(o.status.success(), "{}", text(&o));
    c.assert_secret_absent(&text(&o), "doctor's trace log");
    c.assert_secret_not_stored();
}

#[cfg(feature = "keyring")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_token_and_an_unknown_remote_are_refused() {
    let c = Case::new().await;
    for stdin in ["", "\n", "   \n"] {
        let o = c.run(&["auth", "set", "hubspot"], None, Some(stdin)).await;
        assert_eq!(o.status.code(), Some(2), "{stdin:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("hubspot: no token on standard input"), "{err}");
        assert!(err.contains("hint: "), "{err}");
    }
    let o = c
        .run(&["auth", "set", "hubspot"], None, Some("two words\n"))
        .await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = c.ok(&["auth", "status"], None, None).await;
    assert!(
        out.contains("hubspot: no credentials"),
        "nothing stored: {out}"
    );

    for args in [
        &["auth", "set", "calendar"][..],
        &["auth", "status", "calendar"][..],
        &["auth", "remove", "drive"][..],
    ] {
        let o = c.run(args, None, Some(&c.token)).await;
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("unknown remote `"), "{err}");
        assert!(
            err.contains("hint: known remotes: hubspot, trello, jira"),
            "{err}"
        );
    }
    let out = c.ok(&["auth", "status"], None, None).await;
    assert!(out.contains("hubspot: no credentials"), "{out}");
    assert!(out.contains("trello (disabled): no credentials"), "{out}");
}

#[cfg(not(feature = "keyring"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_keyring_feature_auth_points_at_the_variable() {
    let c = Case::new().await;
    for args in [
        &["auth", "set", "hubspot"][..],
        &["auth", "remove", "hubspot"][..],
    ] {
        let o = c.run(args, None, Some(&c.token)).await;
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("no OS keyring support"), "{err}");
        assert!(err.contains("--features keyring"), "{err}");
        assert!(err.contains("HUBSPOT_TOKEN"), "{err}");
    }
    let out = c.ok(&["auth", "status"], None, None).await;
    assert!(
        out.contains(&format!(
            "note: keyring entry ssot-vault/{} not read: this build of ssot-vault has no OS keyring support",
            c.entry
        )),
        "{out}"
    );
    let o = c.run(&["sync"], None, None).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("`ssot-vault auth set hubspot`"),
        "{}",
        text(&o)
    );
    c.ok(&["sync"], Some(&c.token), None).await;
    assert_eq!(c.contacts(), 3);
    c.assert_secret_not_stored();
}
