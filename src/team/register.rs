//! Registering the merge driver in a vault: the `.gitattributes` line routing notes to it (shared
//! with the team through git) and the `merge.ssot-vault` section of the vault's `.git/config`
//! naming the binary (local to each clone: git never copies it).

use std::path::Path;

use super::TeamError;
use crate::history::git_err;

/// The driver's name in `.gitattributes` and `.git/config`.
pub const DRIVER: &str = "ssot-vault";

/// The `.gitattributes` line routing notes to the driver.
pub const ATTRIBUTES_LINE: &str = "*.md merge=ssot-vault";

/// What the vault has of the registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// `.gitattributes` routes notes to the driver.
    pub attributes: bool,
    /// The driver command in `.git/config`, when set.
    pub driver: Option<String>,
}

impl Registration {
    /// True when both parts are there and the driver's program exists.
    pub fn complete(&self) -> bool {
        self.attributes && self.driver.is_some() && self.missing_program().is_none()
    }

    /// The driver's program when it names a file that does not exist (the binary moved).
    pub fn missing_program(&self) -> Option<String> {
        let program = program_of(self.driver.as_deref()?)?;
        let p = Path::new(&program);
        (p.is_absolute() && !p.is_file()).then_some(program)
    }
}

/// The program of a driver command: its first word, unquoted as [`driver_command`] quotes it.
fn program_of(command: &str) -> Option<String> {
    let command = command.trim_start();
    match command.strip_prefix('\'') {
        Some(rest) => {
            let mut out = String::new();
            let mut rest = rest;
            loop {
                let end = rest.find('\'')?;
                out.push_str(&rest[..end]);
                match rest[end..].strip_prefix(r"'\''") {
                    Some(after) => {
                        out.push('\'');
                        rest = after;
                    }
                    None => return Some(out),
                }
            }
        }
        None => command.split_whitespace().next().map(str::to_string),
    }
}

/// The driver command for the binary at `exe` (quoted for the shell git runs it with).
pub fn driver_command(exe: &Path) -> String {
    let p = exe.to_string_lossy();
    let quoted = if p
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:\\".contains(c))
    {
        p.into_owned()
    } else {
        format!("'{}'", p.replace('\'', r"'\''"))
    };
    format!("{quoted} merge-driver %O %A %B %P")
}

fn attributes_present(root: &Path) -> bool {
    std::fs::read_to_string(root.join(".gitattributes")).is_ok_and(|t| {
        t.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["*.md", "merge=ssot-vault"])
    })
}

/// What the vault at `root` has of the registration.
pub fn check(root: &Path) -> Result<Registration, TeamError> {
    let repo = crate::history::open_repo(root)?;
    let config = repo.config().map_err(git_err(root, "read config"))?;
    let driver = config
        .get_string(&format!("merge.{DRIVER}.driver"))
        .ok()
        .filter(|d| !d.trim().is_empty());
    Ok(Registration {
        attributes: attributes_present(root),
        driver,
    })
}

/// Writes the `.gitattributes` line (appended when the file exists without it). Returns true
/// when the file changed. Usable before the repository exists.
pub fn write_attributes(root: &Path) -> Result<bool, TeamError> {
    if attributes_present(root) {
        return Ok(false);
    }
    let path = root.join(".gitattributes");
    let mut text = match std::fs::read(&path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(crate::fsutil::io_err(&path)(e).into()),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(
        "# notes merge field by field (ssot-vault merge-driver, registered in .git/config)\n",
    );
    text.push_str(ATTRIBUTES_LINE);
    text.push('\n');
    crate::fsutil::write_atomic(&path, text.as_bytes())?;
    Ok(true)
}

/// Sets the driver in the vault's `.git/config` to run the binary at `exe`. Returns true when
/// the configuration changed.
pub fn write_driver(root: &Path, exe: &Path) -> Result<bool, TeamError> {
    let repo = crate::history::open_repo(root)?;
    let mut config = repo
        .config()
        .and_then(|c| c.open_level(git2::ConfigLevel::Local))
        .map_err(git_err(root, "open .git/config"))?;
    let want = driver_command(exe);
    let key = format!("merge.{DRIVER}.driver");
    if config.get_string(&key).ok().as_deref() == Some(want.as_str()) {
        return Ok(false);
    }
    config
        .set_str(&key, &want)
        .map_err(git_err(root, "write .git/config"))?;
    config
        .set_str(
            &format!("merge.{DRIVER}.name"),
            "ssot-vault: notes merged field by field",
        )
        .map_err(git_err(root, "write .git/config"))?;
    Ok(true)
}

/// Registers the driver (both parts) for the binary at `exe`; returns what it changed.
pub fn register(root: &Path, exe: &Path) -> Result<Vec<&'static str>, TeamError> {
    let mut changed = Vec::new();
    if write_attributes(root)? {
        changed.push(".gitattributes");
    }
    if write_driver(root, exe)? {
        changed.push(".git/config");
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_reads_back_from_the_command() {
        for exe in ["/usr/bin/ssot-vault", "/home/a b/it's/ssot-vault"] {
            let cmd = driver_command(Path::new(exe));
            assert_eq!(program_of(&cmd).as_deref(), Some(exe), "{cmd}");
        }
    }
}
