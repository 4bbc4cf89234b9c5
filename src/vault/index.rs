//! The index of a whole vault: every note walked, read and parsed (on all cores), with wikilinks
//! resolved the way Obsidian resolves them.
//!
//! A note that cannot be read is kept in the index with its error, so that one bad note never
//! stops a command: it is reported and left alone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;
use walkdir::WalkDir;

use crate::config::Config;

use super::body::{self, Body};
use super::note::{Note, NoteError};

/// One file of the vault.
#[derive(Debug)]
pub struct Entry {
    /// Path relative to the vault root, `/`-separated, NFC.
    pub rel: String,
    /// Absolute path on disk (as spelled on disk).
    pub path: PathBuf,
    /// The parsed note, or why it cannot be read.
    pub note: Result<Note, NoteError>,
    /// Links, headings and tasks of the body (empty when the note cannot be read).
    pub body: Body,
    /// In the templates folder: indexed, never validated.
    pub template: bool,
}

impl Entry {
    /// The note's `type:` when it is one of the managed types' candidates.
    pub fn note_type(&self) -> Option<&str> {
        self.note
            .as_ref()
            .ok()?
            .frontmatter
            .as_ref()?
            .get_str("type")
    }

    /// The file name without `.md`.
    pub fn stem(&self) -> &str {
        stem_of(&self.rel)
    }
}

/// How a wikilink resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// To this note (index into [`Index::entries`]).
    Note(usize),
    /// To a file that is not a note (attachment, `.base`, ...).
    File(String),
    /// To several notes of that name.
    Ambiguous(Vec<usize>),
    /// To nothing.
    Missing,
}

/// An error reading the vault as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The walk failed at a path.
    #[error("{}: {source}", path.display())]
    Walk {
        /// Where.
        path: PathBuf,
        /// The error.
        source: walkdir::Error,
    },
}

/// The whole vault.
#[derive(Debug)]
pub struct Index {
    /// The vault root.
    pub root: PathBuf,
    /// The notes, sorted by `rel`.
    pub entries: Vec<Entry>,
    /// Files that are not notes (relative, NFC).
    pub files: Vec<String>,
    /// Walk errors (unreadable folders), reported and skipped.
    pub walk_errors: Vec<IndexError>,
    /// The folders of the managed note types and the archive (`[folders]`), relative, NFC.
    pub managed_folders: Vec<String>,
    names: Names,
}

/// The vault's files as walked, before any note is read.
#[derive(Debug, Default)]
pub struct Walk {
    /// The notes: (path relative to the vault, NFC; path on disk), sorted.
    pub notes: Vec<(String, PathBuf)>,
    /// Files that are not notes (relative, NFC), sorted.
    pub files: Vec<String>,
    /// Walk errors (unreadable folders), reported and skipped.
    pub errors: Vec<IndexError>,
}

/// Wikilink resolution over the walked paths alone (no note needs to be read): the position of
/// a note is its position in [`Walk::notes`] (and in [`Index::entries`]). Every lookup is a hash
/// lookup: no lookup scans the vault.
#[derive(Debug, Default)]
pub struct Names {
    /// Note keys (lowercased NFC path without `.md`) → position.
    by_path: HashMap<String, usize>,
    /// Every tail of a note key (`c` and `b/c` of `a/b/c`) → the notes whose key ends so.
    by_tail: HashMap<String, Vec<usize>>,
    /// The note keys, by position.
    keys: Vec<String>,
    /// File keys (lowercased NFC path) → the path as walked.
    files_by_path: HashMap<String, String>,
    /// Every tail of a file key → the files whose key ends so (as walked, sorted).
    files_by_tail: HashMap<String, Vec<String>>,
}

/// The tails of a `/`-separated key, the whole key excepted: `c` and `b/c` of `a/b/c`.
fn tails(key: &str) -> impl Iterator<Item = &str> {
    key.match_indices('/').map(move |(i, _)| &key[i + 1..])
}

/// The folder part of a key (`""` at the root).
fn folder_of(key: &str) -> &str {
    key.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Folder levels of a key.
fn depth(key: &str) -> usize {
    key.bytes().filter(|b| *b == b'/').count()
}

/// `dir/rel` with `.` and `..` segments of `rel` applied; `None` when it climbs out of the vault.
fn join_relative(dir: &str, rel: &str) -> Option<String> {
    let mut segs: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segs.pop()?;
            }
            s => segs.push(s),
        }
    }
    Some(segs.join("/"))
}

/// Lowercased NFC, the key Obsidian compares names by.
pub fn name_key(s: &str) -> String {
    if s.is_ascii() {
        // ASCII is NFC already: no normalisation pass.
        return s.to_ascii_lowercase();
    }
    s.nfc().collect::<String>().to_lowercase()
}

impl Index {
    /// Walks and parses the vault at `root`: every note with its body.
    pub fn build(root: &Path, config: &Config) -> Index {
        let walk = walk(root, config);
        let names = Names::new(&walk);
        let templates = super::obsidian::template_folders(root, config);
        let entries = parse_all(walk.notes, &templates);
        Index {
            root: root.to_path_buf(),
            entries,
            files: walk.files,
            walk_errors: walk.errors,
            managed_folders: managed_folders(config),
            names,
        }
    }

    /// Resolves a wikilink target written at the vault root (see [`Names::resolve_from`]).
    pub fn resolve(&self, target: &str) -> Resolved {
        self.names.resolve(target)
    }

    /// Resolves a wikilink target written in the note `from` (relative path) as Obsidian does
    /// (see [`Names::resolve_from`]).
    pub fn resolve_from(&self, target: &str, from: &str) -> Resolved {
        self.names.resolve_from(target, from)
    }

    /// Finds a note given on the command line: a path relative to the vault or to `cwd`, with or
    /// without `.md`, or a note name.
    pub fn find(&self, arg: &str, cwd: &Path) -> Option<usize> {
        let p = Path::new(arg);
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        };
        let candidates = [abs.clone(), abs.with_extension("md")];
        for c in candidates {
            if let Ok(c) = c.canonicalize()
                && let Ok(root) = self.root.canonicalize()
                && let Ok(rel) = c.strip_prefix(&root)
            {
                let rel = name_key(&rel.to_string_lossy().replace('\\', "/"));
                if let Some(i) = self
                    .entries
                    .iter()
                    .position(|e| e.rel.to_lowercase() == rel)
                {
                    return Some(i);
                }
            }
        }
        match self.resolve(arg) {
            Resolved::Note(i) => Some(i),
            _ => None,
        }
    }
}

/// The folders of `[folders]`, relative, without leading or trailing `/`, NFC.
pub fn managed_folders(config: &Config) -> Vec<String> {
    let f = &config.folders;
    [
        &f.client, &f.expert, &f.project, &f.ticket, &f.intake, &f.archive,
    ]
    .into_iter()
    .map(|d| {
        d.trim()
            .trim_start_matches("./")
            .trim_matches('/')
            .nfc()
            .collect::<String>()
    })
    .filter(|d| !d.is_empty())
    .collect()
}

/// The `/`-separated NFC path of `path` relative to `root`.
pub fn rel_of(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let s = rel.to_string_lossy();
    let s = if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace('\\', "/")
    };
    s.nfc().collect()
}

/// Walks the vault at `root`: its notes and other files, skipping what Obsidian does not show
/// (every folder and file whose name starts with a dot: `.git`, `.obsidian`, `.trash`, `.ssot`,
/// `.github`, the tool's own temporary files...) and the configured ignore globs.
pub fn walk(root: &Path, config: &Config) -> Walk {
    let ignore: Vec<Glob> = config.vault.ignore.iter().map(|p| Glob::new(p)).collect();
    let mut out = Walk::default();
    let walker = WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            if e.file_name().as_encoded_bytes().starts_with(b".") {
                return false;
            }
            let rel = rel_of(root, e.path());
            !ignore
                .iter()
                .any(|g| g.matches(&rel) || (e.file_type().is_dir() && g.matches_dir(&rel)))
        });
    for item in walker {
        match item {
            Ok(e) if e.file_type().is_file() => {
                let rel = rel_of(root, e.path());
                if rel.to_lowercase().ends_with(".md") {
                    out.notes.push((rel, e.into_path()));
                } else {
                    out.files.push(rel);
                }
            }
            Ok(_) => {}
            Err(err) => {
                let path = err
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                out.errors.push(IndexError::Walk { path, source: err });
            }
        }
    }
    out.notes.sort();
    out.notes.shrink_to_fit();
    out.files.sort();
    out
}

/// The file name of a relative path without `.md`.
pub fn stem_of(rel: &str) -> &str {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.strip_suffix(".md").unwrap_or(name)
}

impl Names {
    /// The names of the walked notes and files.
    pub fn new(walk: &Walk) -> Names {
        let n = walk.notes.len();
        let mut by_path = HashMap::with_capacity(n);
        let mut by_tail: HashMap<String, Vec<usize>> = HashMap::with_capacity(2 * n);
        let mut keys = Vec::with_capacity(n);
        for (i, (rel, _)) in walk.notes.iter().enumerate() {
            let lower = rel.to_lowercase();
            let key = lower.strip_suffix(".md").unwrap_or(&lower).to_string();
            for tail in tails(&key) {
                by_tail.entry(tail.to_string()).or_default().push(i);
            }
            by_path.insert(key.clone(), i);
            keys.push(key);
        }
        let mut files_by_path = HashMap::with_capacity(walk.files.len());
        let mut files_by_tail: HashMap<String, Vec<String>> = HashMap::new();
        for f in &walk.files {
            let key = f.to_lowercase();
            for tail in tails(&key) {
                files_by_tail
                    .entry(tail.to_string())
                    .or_default()
                    .push(f.clone());
            }
            files_by_path.insert(key, f.clone());
        }
        Names {
            by_path,
            by_tail,
            keys,
            files_by_path,
            files_by_tail,
        }
    }

    /// Resolves a wikilink target written at the vault root (see [`Names::resolve_from`]).
    pub fn resolve(&self, target: &str) -> Resolved {
        self.resolve_from(target, "")
    }

    /// Resolves a wikilink target written in the note `from` (its path relative to the vault) as
    /// Obsidian does: `./` and `../` from the note's folder; a path from the vault root; else the
    /// notes whose path ends with the target (a file name, or a path suffix), of which Obsidian
    /// takes the one in the linking note's folder, else the one with the shortest path (fewest
    /// folders). Only when several share that shortest path is the link ambiguous: those are
    /// returned. Case-insensitive, NFC; files that are not notes by path or name.
    pub fn resolve_from(&self, target: &str, from: &str) -> Resolved {
        let t = name_key(target.trim());
        let t = t.trim_start_matches('/');
        if t.is_empty() {
            return Resolved::Missing;
        }
        let from_dir = folder_of(from);
        let from_dir = if from_dir.is_ascii() {
            from_dir.to_ascii_lowercase()
        } else {
            from_dir.to_lowercase()
        };
        if t.starts_with("./") || t.starts_with("../") {
            let Some(joined) = join_relative(&from_dir, t) else {
                return Resolved::Missing;
            };
            let note = joined.strip_suffix(".md").unwrap_or(&joined);
            if let Some(&i) = self.by_path.get(note) {
                return Resolved::Note(i);
            }
            return match self.files_by_path.get(&joined) {
                Some(f) => Resolved::File(f.clone()),
                None => Resolved::Missing,
            };
        }
        let t = t.strip_suffix(".md").unwrap_or(t);
        if let Some(&i) = self.by_path.get(t) {
            return Resolved::Note(i);
        }
        match self.by_tail.get(t).map(Vec::as_slice) {
            Some([i]) => Resolved::Note(*i),
            Some(many) if !many.is_empty() => self.pick(many, &from_dir, t),
            _ => self.resolve_file(t, &from_dir),
        }
    }

    /// Obsidian's choice among several notes a target names.
    fn pick(&self, hits: &[usize], from_dir: &str, t: &str) -> Resolved {
        let here = hits.iter().find(|&&i| {
            let k = &self.keys[i];
            k.len() == from_dir.len() + 1 + t.len()
                && k.starts_with(from_dir)
                && k[from_dir.len()..].starts_with('/')
        });
        if let Some(&i) = here {
            return Resolved::Note(i);
        }
        let min = hits
            .iter()
            .map(|&i| depth(&self.keys[i]))
            .min()
            .unwrap_or(0);
        let shortest: Vec<usize> = hits
            .iter()
            .copied()
            .filter(|&i| depth(&self.keys[i]) == min)
            .collect();
        match shortest.as_slice() {
            [i] => Resolved::Note(*i),
            _ => Resolved::Ambiguous(shortest),
        }
    }

    fn resolve_file(&self, t: &str, from_dir: &str) -> Resolved {
        if let Some(f) = self.files_by_path.get(t) {
            return Resolved::File(f.clone());
        }
        let Some(hits) = self.files_by_tail.get(t) else {
            return Resolved::Missing;
        };
        let here = format!("{from_dir}/{t}");
        let best = hits
            .iter()
            .find(|f| f.to_lowercase() == here)
            .or_else(|| hits.iter().min_by_key(|f| depth(f)));
        match best {
            Some(f) => Resolved::File(f.clone()),
            None => Resolved::Missing,
        }
    }
}

/// Reads and parses every note, on all cores.
fn parse_all(paths: Vec<(String, PathBuf)>, templates: &[String]) -> Vec<Entry> {
    crate::par::map(&paths, 0, 64, |(rel, path)| {
        let note = match std::fs::read(path) {
            Ok(bytes) => Note::parse(&bytes),
            Err(e) => Err(io_note_error(&e)),
        };
        let body = match &note {
            Ok(n) => body::parse(&n.text, n.layout.body_start),
            Err(_) => Body::default(),
        };
        let template = super::obsidian::in_folders(rel, templates);
        Entry {
            rel: rel.clone(),
            path: path.clone(),
            note,
            body,
            template,
        }
    })
}

fn io_note_error(e: &std::io::Error) -> NoteError {
    NoteError::Unreadable(e.to_string())
}

/// A glob over `/`-separated relative paths: `*` within a segment, `**` across segments, `?` one
/// character.
#[derive(Debug, Clone)]
pub struct Glob {
    parts: Vec<String>,
}

impl Glob {
    /// Compiles a pattern.
    pub fn new(pattern: &str) -> Glob {
        let p = pattern
            .trim()
            .trim_start_matches("./")
            .trim_start_matches('/')
            .trim_end_matches('/');
        Glob {
            parts: p.split('/').map(|s| s.nfc().collect()).collect(),
        }
    }

    /// True when the pattern matches the path.
    pub fn matches(&self, rel: &str) -> bool {
        let segs: Vec<&str> = rel.split('/').collect();
        match_segs(&self.parts, &segs)
    }

    /// True when everything under the folder `rel` matches (so it need not be walked).
    pub fn matches_dir(&self, rel: &str) -> bool {
        self.matches(rel) || {
            let segs: Vec<&str> = rel.split('/').collect();
            self.parts.last().is_some_and(|l| l == "**")
                && match_segs(&self.parts[..self.parts.len() - 1], &segs)
        }
    }
}

fn match_segs(pat: &[String], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((p, rest)) if p == "**" => (0..=segs.len()).any(|i| match_segs(rest, &segs[i..])),
        Some((p, rest)) => match segs.split_first() {
            Some((s, srest)) => match_seg(p.as_bytes(), s.as_bytes()) && match_segs(rest, srest),
            None => false,
        },
    }
}

fn match_seg(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| match_seg(rest, &s[i..])),
        Some((b'?', rest)) => {
            // One character: skip one UTF-8 sequence.
            match s.first() {
                Some(&c) => {
                    let len = if c < 0x80 {
                        1
                    } else if c >= 0xF0 {
                        4
                    } else if c >= 0xE0 {
                        3
                    } else {
                        2
                    };
                    s.len() >= len && match_seg(rest, &s[len..])
                }
                None => false,
            }
        }
        Some((c, rest)) => s.first() == Some(c) && match_seg(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(Glob::new("Drafts/**").matches("Drafts/a/b.md"));
        assert!(Glob::new("Drafts/**").matches_dir("Drafts"));
        assert!(Glob::new("**/scratch *.md").matches("a/b/scratch 1.md"));
        assert!(Glob::new("**/scratch *.md").matches("scratch 1.md"));
        assert!(Glob::new("?ó.md").matches("żó.md"));
        assert!(!Glob::new("*.md").matches("a/b.md"));
    }

    #[test]
    fn resolves_like_obsidian() {
        let d = tempfile::tempdir().unwrap();
        let w = |p: &str, t: &str| {
            let p = d.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        };
        w("Clients/Acme Corp.md", "x");
        w("A/Dup.md", "x");
        w("B/Dup.md", "x");
        w("Files/plan.pdf", "x");
        // NFD spelling on disk of "Złoty" (ó decomposed).
        w("Clients/Zo\u{301}lty.md", "x");
        let idx = Index::build(d.path(), &Config::default());
        assert!(matches!(idx.resolve("acme corp"), Resolved::Note(_)));
        assert!(matches!(
            idx.resolve("Clients/Acme Corp.md"),
            Resolved::Note(_)
        ));
        assert!(matches!(idx.resolve("Dup"), Resolved::Ambiguous(v) if v.len() == 2));
        assert!(matches!(idx.resolve("A/Dup"), Resolved::Note(_)));
        assert_eq!(
            idx.resolve("plan.pdf"),
            Resolved::File("Files/plan.pdf".into())
        );
        assert_eq!(idx.resolve("Nope"), Resolved::Missing);
        assert!(
            matches!(idx.resolve("Z\u{f3}lty"), Resolved::Note(_)),
            "NFC finds NFD"
        );
        // From a note's folder: that folder's note first; `./` and `../` from it.
        let pos = |rel: &str| idx.entries.iter().position(|e| e.rel == rel).unwrap();
        assert_eq!(
            idx.resolve_from("Dup", "B/Note.md"),
            Resolved::Note(pos("B/Dup.md"))
        );
        assert_eq!(
            idx.resolve_from("../A/Dup", "B/Note.md"),
            Resolved::Note(pos("A/Dup.md"))
        );
        assert_eq!(
            idx.resolve_from("./Dup", "A/x.md"),
            Resolved::Note(pos("A/Dup.md"))
        );
        assert_eq!(idx.resolve_from("../../Dup", "A/x.md"), Resolved::Missing);
        assert_eq!(
            idx.resolve_from("../Files/plan.pdf", "A/x.md"),
            Resolved::File("Files/plan.pdf".into())
        );
    }

    #[test]
    fn shortest_path_wins_and_only_ties_are_ambiguous() {
        let d = tempfile::tempdir().unwrap();
        for p in [
            "Docs/Readme.md",
            "Docs/old/2020/Readme.md",
            "X/Y/Meet.md",
            "Z/W/Meet.md",
        ] {
            let p = d.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let idx = Index::build(d.path(), &Config::default());
        let pos = |rel: &str| idx.entries.iter().position(|e| e.rel == rel).unwrap();
        assert_eq!(idx.resolve("readme"), Resolved::Note(pos("Docs/Readme.md")));
        assert_eq!(
            idx.resolve_from("Readme", "Docs/old/2020/Other.md"),
            Resolved::Note(pos("Docs/old/2020/Readme.md"))
        );
        assert_eq!(
            idx.resolve("Meet"),
            Resolved::Ambiguous(vec![pos("X/Y/Meet.md"), pos("Z/W/Meet.md")])
        );
        assert_eq!(idx.resolve("Y/Meet"), Resolved::Note(pos("X/Y/Meet.md")));
    }
}
