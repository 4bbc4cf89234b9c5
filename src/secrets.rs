//! Where a remote's credential (the HubSpot private app token, later the other services' tokens)
//! comes from, in this order:
//!
//! 1. the environment variable named by the remote's configuration (`token_env`, default
//!    `HUBSPOT_TOKEN`);
//! 2. the OS keyring: service [`KEYRING_SERVICE`] (`ssot-vault`), user the remote's
//!    `keyring_entry` (default: the remote's name, `hubspot`), written by `ssot-vault auth set`.
//!
//! A credential never goes into the vault, `.ssot/`, git or a log line: it is held as a
//! [`Secret`] (printed `***`), and what is shown is only *where* it came from
//! ([`CredentialSource`]).
//!
//! A keyring that cannot be used (no keyring service, the key syscalls refused by a container's
//! seccomp profile, a build without the `keyring` feature) is not an error: the entry counts as
//! not found and the reason is kept ([`Lookup::keyring_problem`]) for `doctor`, `auth status` and a
//! `tracing::debug!` line.
//!
//! # The stores
//!
//! Behind the `keyring` cargo feature, through the keyring ecosystem's `keyring-core` API:
//!
//! - **Linux: the kernel key retention service** (`add_key`/`keyctl`), not the desktop Secret
//!   Service: that one needs a keyring daemon on D-Bus, which headless machines, SSH sessions and
//!   CI do not have. The key goes into the **user keyring** (`@u`) of the calling uid. The session
//!   keyring (what `linux-keyutils-keyring-store` writes to) is new in every login (pam_keyinit), so
//!   a token stored over one SSH login or in one terminal session would be missing in the next one
//!   once the persistent keyring it is also linked to expires (3 days unused by default); the user
//!   keyring is shared by every process of the user and lives until reboot (kernels ≥ 5.3 keep it
//!   in the user namespace, not with the last process). The key is readable by its owner uid even
//!   from a process that does not "possess" it (a systemd service with a private session
//!   keyring), and by no other uid. It does **not** survive a reboot: store it again then.
//! - macOS: the login Keychain (`apple-native-keyring-store`).
//! - Windows: the Credential Manager (`windows-native-keyring-store`).

use std::fmt;

use crate::connectors::{ConnectorError, Secret};

/// The keyring service name of every entry.
pub const KEYRING_SERVICE: &str = "ssot-vault";

/// What a remote's credential lookup needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSpec {
    /// The remote's name (`hubspot`), for messages.
    pub remote: String,
    /// The environment variable consulted first.
    pub env_var: String,
    /// The keyring user name (entry) under [`KEYRING_SERVICE`].
    pub keyring_entry: String,
}

/// Where a credential was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// The environment variable of this name.
    Env(String),
    /// The OS keyring entry `ssot-vault/<entry>`.
    Keyring(String),
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Env(var) => write!(f, "the environment variable {var}"),
            CredentialSource::Keyring(entry) => {
                write!(f, "the OS keyring ({KEYRING_SERVICE}/{entry})")
            }
        }
    }
}

/// What a lookup found.
#[derive(Debug)]
pub struct Lookup {
    /// The credential and where it came from.
    pub found: Option<(Secret, CredentialSource)>,
    /// Why the keyring could not be read, when it was consulted and failed.
    pub keyring_problem: Option<String>,
}

impl Lookup {
    /// The credential, or [`ConnectorError::NoCredentials`] naming both ways to provide one.
    pub fn into_result(
        self,
        spec: &CredentialSpec,
    ) -> Result<(Secret, CredentialSource), ConnectorError> {
        self.found.ok_or_else(|| ConnectorError::NoCredentials {
            service: spec.remote.clone(),
            var: spec.env_var.clone(),
            keyring: self.keyring_problem,
        })
    }
}

/// The OS keyring could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// This build has no keyring support.
    #[error("this build of ssot-vault has no OS keyring support (the `keyring` feature is off)")]
    NotBuilt,
    /// The keyring service is missing or refuses access.
    #[error("the OS keyring is unavailable: {0}")]
    Unavailable(String),
    /// The keyring answered with an error.
    #[error("the OS keyring failed: {0}")]
    Failed(String),
}

/// The OS keyring of this platform (or a test store), as ssot-vault uses it: one entry per
/// remote under the service [`KEYRING_SERVICE`].
pub struct Keyring {
    #[cfg(feature = "keyring")]
    store: Result<std::sync::Arc<keyring_core::CredentialStore>, KeyringError>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyring")
    }
}

impl Keyring {
    /// The platform's keyring (the same store for every call in the process).
    pub fn native() -> Keyring {
        #[cfg(feature = "keyring")]
        {
            static STORE: std::sync::OnceLock<
                Result<std::sync::Arc<keyring_core::CredentialStore>, KeyringError>,
            > = std::sync::OnceLock::new();
            Keyring {
                store: STORE.get_or_init(store::native).clone(),
            }
        }
        #[cfg(not(feature = "keyring"))]
        Keyring {}
    }

    /// A keyring over a given store (tests use `keyring_core::mock`).
    #[cfg(feature = "keyring")]
    pub fn with_store(store: std::sync::Arc<keyring_core::CredentialStore>) -> Keyring {
        Keyring { store: Ok(store) }
    }

    /// Whether this build can use an OS keyring at all.
    pub fn built() -> bool {
        cfg!(feature = "keyring")
    }

    /// What backs the keyring on this platform, for messages.
    pub fn describe() -> &'static str {
        if !Self::built() {
            "none (built without the `keyring` feature)"
        } else if cfg!(target_os = "linux") {
            "the Linux kernel's user keyring, emptied at reboot"
        } else if cfg!(target_os = "macos") {
            "the macOS Keychain"
        } else if cfg!(target_os = "windows") {
            "the Windows Credential Manager"
        } else {
            "none on this platform"
        }
    }

    #[cfg(feature = "keyring")]
    fn entry(&self, entry: &str) -> Result<keyring_core::Entry, KeyringError> {
        let store = self.store.as_ref().map_err(Clone::clone)?;
        keyring_core::Entry::new_in_store(store, KEYRING_SERVICE, entry).map_err(store::error)
    }

    /// The secret stored for `entry` (`None`: no such entry, or an empty one).
    pub fn get(&self, entry: &str) -> Result<Option<Secret>, KeyringError> {
        #[cfg(feature = "keyring")]
        {
            match self.entry(entry)?.get_password() {
                Ok(s) if s.trim().is_empty() => Ok(None),
                Ok(s) => Ok(Some(Secret::new(s.trim()))),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(store::error(e)),
            }
        }
        #[cfg(not(feature = "keyring"))]
        {
            let _ = entry;
            Err(KeyringError::NotBuilt)
        }
    }

    /// Stores `secret` for `entry`, replacing any previous one.
    pub fn set(&self, entry: &str, secret: &Secret) -> Result<(), KeyringError> {
        #[cfg(feature = "keyring")]
        {
            self.entry(entry)?
                .set_password(secret.expose())
                .map_err(store::error)
        }
        #[cfg(not(feature = "keyring"))]
        {
            let _ = (entry, secret);
            Err(KeyringError::NotBuilt)
        }
    }

    /// Deletes `entry`; `false` when there was none.
    pub fn remove(&self, entry: &str) -> Result<bool, KeyringError> {
        #[cfg(feature = "keyring")]
        {
            match self.entry(entry)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring_core::Error::NoEntry) => Ok(false),
                Err(e) => Err(store::error(e)),
            }
        }
        #[cfg(not(feature = "keyring"))]
        {
            let _ = entry;
            Err(KeyringError::NotBuilt)
        }
    }
}

/// Looks a credential up: the environment variable first, then the keyring.
pub fn lookup(spec: &CredentialSpec) -> Lookup {
    lookup_with(spec, &|var| std::env::var(var).ok(), &Keyring::native())
}

/// Resolves a credential or says how to provide one.
pub fn resolve(spec: &CredentialSpec) -> Result<(Secret, CredentialSource), ConnectorError> {
    lookup(spec).into_result(spec)
}

/// [`lookup`] with the environment and keyring given (for tests).
pub fn lookup_with(
    spec: &CredentialSpec,
    env: &dyn Fn(&str) -> Option<String>,
    keyring: &Keyring,
) -> Lookup {
    if let Some(v) = env(&spec.env_var).filter(|v| !v.trim().is_empty()) {
        return Lookup {
            found: Some((
                Secret::new(v.trim()),
                CredentialSource::Env(spec.env_var.clone()),
            )),
            keyring_problem: None,
        };
    }
    match keyring.get(&spec.keyring_entry) {
        Ok(Some(secret)) => Lookup {
            found: Some((
                secret,
                CredentialSource::Keyring(spec.keyring_entry.clone()),
            )),
            keyring_problem: None,
        },
        Ok(None) => Lookup {
            found: None,
            keyring_problem: None,
        },
        Err(e) => {
            tracing::debug!(
                remote = %spec.remote,
                entry = %spec.keyring_entry,
                "keyring not consulted: {e}"
            );
            Lookup {
                found: None,
                keyring_problem: Some(e.to_string()),
            }
        }
    }
}

/// Checks a `keyring_entry` value from the configuration.
pub fn check_entry_name(entry: &str) -> Result<(), String> {
    if entry.trim().is_empty() {
        return Err("keyring_entry must not be empty".into());
    }
    if entry.trim() != entry || entry.chars().any(char::is_control) {
        return Err(format!(
            "keyring_entry `{}` must have no surrounding spaces or control characters",
            entry.escape_debug()
        ));
    }
    if entry.len() > 200 {
        return Err("keyring_entry is longer than 200 bytes".into());
    }
    Ok(())
}

#[cfg(feature = "keyring")]
mod store {
    //! The platform stores behind `keyring-core`.

    use std::sync::Arc;

    use keyring_core::CredentialStore;

    use super::KeyringError;

    /// Maps a `keyring-core` error (never its payload: `BadEncoding` carries the secret's bytes).
    pub fn error(e: keyring_core::Error) -> KeyringError {
        use keyring_core::Error as E;
        match e {
            E::NoStorageAccess(inner) => KeyringError::Unavailable(inner.to_string()),
            E::NoDefaultStore => KeyringError::Unavailable("no keyring store".into()),
            E::PlatformFailure(inner) => KeyringError::Failed(inner.to_string()),
            E::BadEncoding(_) | E::BadDataFormat(..) => {
                KeyringError::Failed("the stored entry is not UTF-8 text".into())
            }
            E::NotSupportedByStore(what) => KeyringError::Unavailable(what),
            E::Invalid(what, why) => KeyringError::Failed(format!("{what} {why}")),
            E::TooLong(what, len) => {
                KeyringError::Failed(format!("{what} is longer than the limit of {len}"))
            }
            E::NoEntry => KeyringError::Failed("no such entry".into()),
            other => KeyringError::Failed(other.to_string()),
        }
    }

    /// The platform's store.
    pub fn native() -> Result<Arc<CredentialStore>, KeyringError> {
        #[cfg(target_os = "linux")]
        {
            Ok(Arc::new(super::kernel::UserKeyring))
        }
        #[cfg(target_os = "macos")]
        {
            let s: Arc<CredentialStore> =
                apple_native_keyring_store::keychain::Store::new().map_err(error)?;
            Ok(s)
        }
        #[cfg(target_os = "windows")]
        {
            let s: Arc<CredentialStore> =
                windows_native_keyring_store::Store::new().map_err(error)?;
            Ok(s)
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
        {
            Err(KeyringError::Unavailable(
                "no OS keyring is supported on this platform".into(),
            ))
        }
    }
}

#[cfg(all(feature = "keyring", target_os = "linux"))]
mod kernel {
    //! A `keyring-core` store on the Linux kernel's key retention service, in the calling user's
    //! **user keyring** (see the module documentation above for why not the session keyring).
    //! Keys are of type `user`, described `keyring:<entry>@<service>` (the description
    //! `linux-keyutils-keyring-store` uses, so its tools can read them too), with every permission
    //! for their possessor and their owner uid and none for group or others.

    use std::collections::HashMap;
    use std::sync::Arc;

    use keyring_core::api::{CredentialApi, CredentialPersistence, CredentialStoreApi};
    use keyring_core::{Credential, Entry, Error, Result};
    use linux_keyutils::{
        Key, KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission,
    };

    /// The store.
    #[derive(Debug)]
    pub struct UserKeyring;

    impl CredentialStoreApi for UserKeyring {
        fn vendor(&self) -> String {
            "ssot-vault: Linux kernel user keyring".into()
        }

        fn id(&self) -> String {
            "ssot-vault-user-keyring".into()
        }

        fn build(
            &self,
            service: &str,
            user: &str,
            _modifiers: Option<&HashMap<&str, &str>>,
        ) -> Result<Entry> {
            if service.is_empty() || user.is_empty() {
                return Err(Error::Invalid(
                    "service and user".into(),
                    "must not be empty".into(),
                ));
            }
            Ok(Entry::new_with_credential(Arc::new(Cred {
                description: format!("keyring:{user}@{service}"),
                specifiers: (service.to_string(), user.to_string()),
            })))
        }

        fn as_any(&self) -> &dyn std::any::Any {
            self
        }

        fn persistence(&self) -> CredentialPersistence {
            CredentialPersistence::UntilReboot
        }
    }

    /// One entry (holds its description, never the secret).
    #[derive(Debug)]
    pub struct Cred {
        description: String,
        specifiers: (String, String),
    }

    fn ring() -> Result<KeyRing> {
        KeyRing::from_special_id(KeyRingIdentifier::User, true).map_err(|e| {
            Error::NoStorageAccess(format!("the kernel refused the user keyring ({e:?})").into())
        })
    }

    fn platform(op: &str, e: KeyError) -> Error {
        match e {
            KeyError::AccessDenied
            | KeyError::PermissionDenied
            | KeyError::OperationNotSupported => {
                Error::NoStorageAccess(format!("{op}: the kernel refused access ({e:?})").into())
            }
            _ => Error::PlatformFailure(format!("{op}: {e:?}").into()),
        }
    }

    impl Cred {
        fn find(&self) -> Result<Key> {
            match ring()?.search(&self.description) {
                Ok(k) => Ok(k),
                Err(
                    KeyError::KeyDoesNotExist
                    | KeyError::KeyExpired
                    | KeyError::KeyRevoked
                    | KeyError::KeyRejected,
                ) => Err(Error::NoEntry),
                Err(e) => Err(platform("search", e)),
            }
        }
    }

    impl CredentialApi for Cred {
        fn set_secret(&self, secret: &[u8]) -> Result<()> {
            if secret.is_empty() {
                return Err(Error::Invalid("secret".into(), "cannot be empty".into()));
            }
            let key = ring()?
                .add_key(&self.description, secret)
                .map_err(|e| platform("add_key", e))?;
            let perms = KeyPermissionsBuilder::builder()
                .posessor(Permission::ALL)
                .user(Permission::ALL)
                .build();
            key.set_perms(perms).map_err(|e| platform("setperm", e))
        }

        fn get_secret(&self) -> Result<Vec<u8>> {
            self.find()?.read_to_vec().map_err(|e| platform("read", e))
        }

        fn delete_credential(&self) -> Result<()> {
            self.find()?
                .invalidate()
                .map_err(|e| platform("invalidate", e))
        }

        fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
            self.find().map(|_| None)
        }

        fn get_specifiers(&self) -> Option<(String, String)> {
            Some(self.specifiers.clone())
        }

        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CredentialSpec {
        CredentialSpec {
            remote: "hubspot".into(),
            env_var: "HUBSPOT_TOKEN".into(),
            keyring_entry: "hubspot".into(),
        }
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |var| {
            pairs
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn sources_display_where_not_what() {
        assert_eq!(
            CredentialSource::Keyring("hubspot".into()).to_string(),
            "the OS keyring (ssot-vault/hubspot)"
        );
        assert_eq!(
            CredentialSource::Env("HUBSPOT_TOKEN".into()).to_string(),
            "the environment variable HUBSPOT_TOKEN"
        );
    }

    #[test]
    fn missing_everywhere_names_both_ways() {
        #[cfg(feature = "keyring")]
        let kr = Keyring::with_store(keyring_core::mock::Store::new().unwrap());
        #[cfg(not(feature = "keyring"))]
        let kr = Keyring::native();
        let l = lookup_with(&spec(), &env_of(&[("HUBSPOT_TOKEN", "  ")]), &kr);
        assert!(l.found.is_none());
        let msg = l.into_result(&spec()).unwrap_err().to_string();
        assert!(msg.contains("HUBSPOT_TOKEN"), "{msg}");
        assert!(msg.contains("ssot-vault auth set hubspot"), "{msg}");
    }

    #[test]
    fn entry_names_are_checked() {
        assert!(check_entry_name("hubspot").is_ok());
        assert!(check_entry_name("ssot-test-1a2b").is_ok());
        assert!(check_entry_name("").is_err());
        assert!(check_entry_name(" x").is_err());
        assert!(check_entry_name("a\nb").is_err());
    }

    #[cfg(feature = "keyring")]
    mod with_keyring {
        use super::*;
        use keyring_core::mock;

        fn keyring_with(entry: &str, token: &str) -> Keyring {
            let store: std::sync::Arc<keyring_core::CredentialStore> = mock::Store::new().unwrap();
            let kr = Keyring::with_store(store);
            kr.set(entry, &Secret::new(token)).unwrap();
            kr
        }

        #[test]
        fn environment_wins_over_keyring() {
            let kr = keyring_with("hubspot", "from-keyring");
            let l = lookup_with(&spec(), &env_of(&[("HUBSPOT_TOKEN", " from-env\n")]), &kr);
            let (secret, source) = l.found.unwrap();
            assert_eq!(secret.expose(), "from-env");
            assert_eq!(source, CredentialSource::Env("HUBSPOT_TOKEN".into()));
        }

        #[test]
        fn keyring_when_environment_is_unset_or_empty() {
            let kr = keyring_with("hubspot", "from-keyring");
            for env in [&[][..], &[("HUBSPOT_TOKEN", "")][..]] {
                let pairs: Vec<(String, String)> = env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let getenv =
                    move |var: &str| pairs.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone());
                let l = lookup_with(&spec(), &getenv, &kr);
                let (secret, source) = l.found.unwrap();
                assert_eq!(secret.expose(), "from-keyring");
                assert_eq!(source, CredentialSource::Keyring("hubspot".into()));
            }
        }

        #[test]
        fn keyring_entry_selects_the_account() {
            let kr = keyring_with("hubspot-eu", "eu-token");
            let mut s = spec();
            let l = lookup_with(&s, &env_of(&[]), &kr);
            assert!(l.found.is_none(), "the default entry is empty");
            s.keyring_entry = "hubspot-eu".into();
            let (secret, _) = lookup_with(&s, &env_of(&[]), &kr).found.unwrap();
            assert_eq!(secret.expose(), "eu-token");
        }

        #[test]
        fn an_unusable_keyring_is_not_found_with_a_reason() {
            let store: std::sync::Arc<keyring_core::CredentialStore> = mock::Store::new().unwrap();
            let kr = Keyring::with_store(store.clone());
            kr.set("hubspot", &Secret::new("tok-secret-value")).unwrap();
            let entry =
                keyring_core::Entry::new_in_store(&store, KEYRING_SERVICE, "hubspot").unwrap();
            // The mock store hands out one credential per (service, user): fail its next call.
            let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
            cred.set_error(keyring_core::Error::NoStorageAccess(
                "no keyring daemon".to_string().into(),
            ));
            let l = lookup_with(&spec(), &env_of(&[]), &kr);
            assert!(l.found.is_none());
            let problem = l.keyring_problem.clone().unwrap();
            assert!(problem.contains("no keyring daemon"), "{problem}");
            let msg = l.into_result(&spec()).unwrap_err().to_string();
            assert!(msg.contains("no keyring daemon"), "{msg}");
            assert!(!msg.contains("tok-secret-value"), "{msg}");
        }

        #[test]
        fn remove_says_whether_there_was_an_entry() {
            let kr = keyring_with("hubspot", "tok");
            assert!(kr.remove("hubspot").unwrap());
            assert!(kr.get("hubspot").unwrap().is_none());
            assert!(!kr.remove("hubspot").unwrap());
        }
    }
}
