//! Expert matching: ranks the experts for a project, every score component shown so that the
//! ranking explains itself.
//!
//! The score (0–100) adds five components:
//!
//! | component | points | how |
//! |---|---|---|
//! | skills | 40 | share of the project's `skills_required` in the expert's `skills` (case-insensitive); all 40 when none are required |
//! | capacity | 25 | free weekly hours (`availability_hours` minus the weekly hours of the expert's accepted, credentialing, active and blocked projects) against the project's weekly hours, capped at 1 |
//! | rating | 15 | `rating` out of 5 |
//! | rate | 10 | `budget` against `rate` × `estimate_hours`: all 10 within budget, else budget ÷ cost; 5 when something is unknown or the currencies differ |
//! | language | 10 | the project's `language` among the expert's `languages`; all 10 when none is set |
//!
//! A project's weekly hours are its `estimate_hours` spread over the weeks from `start` (else
//! `created`) to `deadline`, at least one week; without those dates the whole estimate counts
//! as one week. Experts in the project's `declined_experts` and experts with
//! `status: unavailable` are left out, with the reason. Ties rank by name.
//!
//! Only the frontmatter of the notes in the expert and project folders is read (no body, no
//! index), on all cores; a project note whose `status` line shows it books nobody's time is
//! skipped without parsing its YAML.

use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::Serialize;

use super::WorkflowError;
use crate::config::Config;
use crate::vault::index::name_key;
use crate::vault::note::Note;
use crate::vault::value::Value;

/// Where matching reads properties from: a parsed note, or the quick reader's map.
pub trait Props {
    /// The value of `key`.
    fn prop(&self, key: &str) -> Option<&Value>;
}

impl Props for Note {
    fn prop(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

/// Properties read by [`quick_props`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quick(pub Vec<(String, Value)>);

impl Props for Quick {
    fn prop(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Project statuses that book the expert's time.
pub const BOOKED: [&str; 4] = ["accepted", "credentialing", "active", "blocked"];

/// What matching needs of an expert note.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExpertCard {
    /// The note's name.
    pub name: String,
    /// Its path relative to the vault.
    pub path: String,
    /// `skills`.
    pub skills: Vec<String>,
    /// `languages`.
    pub languages: Vec<String>,
    /// `availability_hours`.
    pub availability_hours: Option<f64>,
    /// `rate`.
    pub rate: Option<f64>,
    /// `currency`.
    pub currency: Option<String>,
    /// `rating`.
    pub rating: Option<f64>,
    /// `status`.
    pub status: Option<String>,
}

/// What matching needs of a project note.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProjectCard {
    /// The note's name.
    pub name: String,
    /// Its path relative to the vault.
    pub path: String,
    /// `status`.
    pub status: String,
    /// The `expert` link's target.
    pub expert: Option<String>,
    /// `skills_required`.
    pub skills_required: Vec<String>,
    /// `language`.
    pub language: Option<String>,
    /// `budget`.
    pub budget: Option<f64>,
    /// `currency`.
    pub currency: Option<String>,
    /// `estimate_hours`.
    pub estimate_hours: Option<f64>,
    /// `start`, else `created`.
    pub start: Option<Date>,
    /// `deadline`.
    pub deadline: Option<Date>,
    /// Targets of `declined_experts`.
    pub declined: Vec<String>,
}

impl ProjectCard {
    /// The project's weekly hours: the estimate spread over the weeks from start to deadline
    /// (at least one); `None` without an estimate.
    pub fn weekly_hours(&self) -> Option<f64> {
        let est = self.estimate_hours?;
        let weeks = match (self.start, self.deadline) {
            (Some(s), Some(d)) => s
                .until(d)
                .ok()
                .map(|span| f64::from(span.get_days()) / 7.0)
                .unwrap_or(1.0),
            _ => 1.0,
        };
        Some(est / weeks.max(1.0))
    }
}

/// The experts and the projects that book their time.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    /// Every readable expert note.
    pub experts: Vec<ExpertCard>,
    /// Projects in a booking status with an expert.
    pub booked: Vec<ProjectCard>,
    /// Notes that could not be read (path, reason): reported, left out.
    pub unreadable: Vec<(String, String)>,
}

/// One part of a score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    /// `skills`, `capacity`, `rating`, `rate`, `language`.
    pub name: &'static str,
    /// Points earned.
    pub points: f64,
    /// Points possible.
    pub max: f64,
    /// Why, in words and numbers.
    pub detail: String,
}

/// An expert's place in the ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// 1-based rank.
    pub rank: usize,
    /// The expert note's name.
    pub expert: String,
    /// Its path.
    pub path: String,
    /// The total (sum of the components' points).
    pub score: f64,
    /// The components.
    pub components: Vec<Component>,
}

/// An expert left out of the ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Excluded {
    /// The expert note's name.
    pub expert: String,
    /// Why.
    pub reason: String,
}

/// The ranking of the experts for a project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranking {
    /// The project's name.
    pub project: String,
    /// Its weekly hours, when known.
    pub weekly_hours: Option<f64>,
    /// The ranked experts, best first.
    pub candidates: Vec<Candidate>,
    /// The experts left out.
    pub excluded: Vec<Excluded>,
}

/// Reads the pool: the expert folder's and the project folder's frontmatter.
pub fn load(root: &Path, config: &Config) -> Result<Pool, WorkflowError> {
    let experts = md_files(&root.join(&config.folders.expert));
    let projects = md_files(&root.join(&config.folders.project));
    let mut pool = Pool::default();
    for (path, res) in read_all(&experts, |_| true) {
        match res {
            Ok(Some(n)) if n.prop("type").and_then(Value::as_str) == Some("expert") => {
                pool.experts.push(expert_card(&path, root, &n));
            }
            Ok(_) => {}
            Err(e) => pool.unreadable.push((rel(root, &path), e)),
        }
    }
    for (path, res) in read_all(&projects, may_book) {
        match res {
            Ok(Some(n)) if n.prop("type").and_then(Value::as_str) == Some("project") => {
                let c = project_card(&path, root, &n);
                if BOOKED.contains(&c.status.as_str()) && c.expert.is_some() {
                    pool.booked.push(c);
                }
            }
            Ok(_) => {}
            Err(e) => pool.unreadable.push((rel(root, &path), e)),
        }
    }
    pool.experts.sort_by(|a, b| a.path.cmp(&b.path));
    pool.booked.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(pool)
}

/// The `.md` files under `dir` (none when it does not exist), hidden folders skipped.
fn md_files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_type().is_file()
                && e.path()
                    .extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("md"))
        })
        .map(|e| e.into_path())
        .collect()
}

type Read = (PathBuf, Result<Option<Quick>, String>);

/// Reads and parses the files on all cores; `wanted` sees the raw text first and may skip the
/// YAML (`Ok(None)`).
fn read_all(paths: &[PathBuf], wanted: fn(&str) -> bool) -> Vec<Read> {
    crate::par::map(paths, 0, 64, |p| (p.clone(), read_one(p, wanted)))
}

fn read_one(path: &Path, wanted: fn(&str) -> bool) -> Result<Option<Quick>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    if !wanted(&text) {
        return Ok(None);
    }
    if let Some(q) = quick_props(&text) {
        return Ok(Some(q));
    }
    let note = Note::parse_text(text).map_err(|e| e.to_string())?;
    Ok(Some(Quick(
        note.frontmatter.map(|f| f.to_map()).unwrap_or_default(),
    )))
}

/// Reads a frontmatter written the plain way — `key: value` lines with plain, double- or
/// single-quoted scalars and block lists of such scalars — without the YAML parser, typing the
/// values as the parser would (numbers, dates, null). `None` when the note has anything else
/// (flow collections, block scalars, anchors, tags, comments, escapes, nested maps, duplicate
/// keys, tabs): the caller then parses it fully.
pub fn quick_props(text: &str) -> Option<Quick> {
    let layout = crate::vault::note::layout(text).ok()?;
    let block = layout.frontmatter?;
    let yaml = &text[block.yaml];
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut list: Option<Vec<Value>> = None;
    for raw in yaml.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.contains('\t') {
            return None;
        }
        if line.trim().is_empty() {
            continue;
        }
        if let Some(item) = line
            .strip_prefix("  - ")
            .or_else(|| line.strip_prefix("- "))
        {
            let items = list.as_mut()?;
            items.push(quick_scalar(item)?);
            continue;
        }
        if let Some(items) = list.take()
            && !items.is_empty()
        {
            out.last_mut()?.1 = Value::List(items);
        }
        if line.starts_with([' ', '#', '-']) {
            return None;
        }
        let (key, rest) = line.split_once(':')?;
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            || out.iter().any(|(k, _)| k == key)
        {
            return None;
        }
        let value = if rest.is_empty() {
            list = Some(Vec::new());
            Value::Null
        } else {
            let v = rest.strip_prefix(' ')?;
            if v.trim() == "[]" {
                Value::List(Vec::new())
            } else {
                quick_scalar(v)?
            }
        };
        out.push((key.to_string(), value));
    }
    if let Some(items) = list.take() {
        let last = out.last_mut()?;
        last.1 = if items.is_empty() {
            Value::Null
        } else {
            Value::List(items)
        };
    }
    Some(Quick(out))
}

/// One scalar the quick reader is sure of, else `None`.
fn quick_scalar(v: &str) -> Option<Value> {
    let v = v.trim_end();
    if let Some(inner) = v.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        if inner.contains(['"', '\\']) {
            return None;
        }
        return Some(Value::Str(inner.to_string()));
    }
    if let Some(inner) = v.strip_prefix('\'') {
        let inner = inner.strip_suffix('\'')?;
        if inner.contains('\'') {
            return None;
        }
        return Some(Value::Str(inner.to_string()));
    }
    if v.is_empty()
        || v.starts_with([
            '[', '{', '|', '>', '&', '*', '!', '%', '@', '`', '?', ',', '#',
        ])
        || v.contains(" #")
        || v.contains(": ")
        || v.ends_with(':')
    {
        return None;
    }
    if matches!(v, "~" | "null" | "Null" | "NULL") {
        return Some(Value::Null);
    }
    if matches!(v, "true" | "True" | "TRUE" | "false" | "False" | "FALSE") {
        return None;
    }
    let digits = v.strip_prefix('-').unwrap_or(v);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse().ok().map(Value::Int);
    }
    if let Some((a, b)) = digits.split_once('.')
        && !a.is_empty()
        && !b.is_empty()
        && a.bytes().all(|c| c.is_ascii_digit())
        && b.bytes().all(|c| c.is_ascii_digit())
    {
        return v.parse().ok().map(Value::Float);
    }
    if let Some(d) = crate::vault::value::parse_date(v) {
        return Some(Value::Date(d));
    }
    // Anything else that YAML might read as a number or a time is left to the parser.
    if v.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '+' || c == '-')
        && v.chars()
            .all(|c| c.is_ascii_hexdigit() || "+-.:_ xXoOtT".contains(c))
    {
        return None;
    }
    Some(Value::Str(v.to_string()))
}

/// False only when the frontmatter's `status:` line plainly names a status that books nobody.
fn may_book(text: &str) -> bool {
    let head = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = head.strip_prefix("---") else {
        return true;
    };
    for line in rest.lines().skip(1) {
        let line = line.trim_end_matches('\r');
        if line == "---" || line == "..." {
            break;
        }
        if let Some(v) = line.strip_prefix("status:") {
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
            return !crate::vault::schema::PROJECT_STATUSES.contains(&v) || BOOKED.contains(&v);
        }
    }
    true
}

fn rel(root: &Path, p: &Path) -> String {
    crate::vault::index::rel_of(root, p)
}

fn strings(n: &impl Props, key: &str) -> Vec<String> {
    n.prop(key)
        .map(|v| {
            v.items()
                .into_iter()
                .filter(|i| !i.is_empty())
                .map(|i| i.to_string().trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn text(n: &impl Props, key: &str) -> Option<String> {
    n.prop(key)
        .filter(|v| !v.is_empty())
        .map(|v| v.to_string().trim().to_string())
}

fn number(n: &impl Props, key: &str) -> Option<f64> {
    n.prop(key).and_then(|v| match v {
        Value::Str(s) => s.trim().parse().ok(),
        v => v.as_f64(),
    })
}

fn target(v: &Value) -> String {
    match v.as_link() {
        Some(l) => l.target.to_string(),
        None => v.to_string(),
    }
}

/// The matching key of a link target or note name: its last path segment, lowercased NFC.
fn key(target: &str) -> String {
    let t = target.trim().trim_end_matches(".md");
    name_key(t.rsplit('/').next().unwrap_or(t))
}

/// The expert card of a note.
pub fn expert_card(path: &Path, root: &Path, n: &impl Props) -> ExpertCard {
    ExpertCard {
        name: super::notes::stem(path),
        path: rel(root, path),
        skills: strings(n, "skills"),
        languages: strings(n, "languages"),
        availability_hours: number(n, "availability_hours"),
        rate: number(n, "rate"),
        currency: text(n, "currency"),
        rating: number(n, "rating"),
        status: text(n, "status"),
    }
}

/// The project card of a note.
pub fn project_card(path: &Path, root: &Path, n: &impl Props) -> ProjectCard {
    ProjectCard {
        name: super::notes::stem(path),
        path: rel(root, path),
        status: text(n, "status").unwrap_or_default(),
        expert: n.prop("expert").filter(|v| !v.is_empty()).map(target),
        skills_required: strings(n, "skills_required"),
        language: text(n, "language"),
        budget: number(n, "budget"),
        currency: text(n, "currency"),
        estimate_hours: number(n, "estimate_hours"),
        start: n
            .prop("start")
            .and_then(Value::as_date)
            .or_else(|| n.prop("created").and_then(Value::as_date)),
        deadline: n.prop("deadline").and_then(Value::as_date),
        declined: n
            .prop("declined_experts")
            .map(|v| {
                v.items()
                    .into_iter()
                    .filter(|i| !i.is_empty())
                    .map(target)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn num(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round() as i64)
    } else {
        format!("{x:.1}")
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Ranks the pool's experts for `project`.
pub fn rank(pool: &Pool, project: &ProjectCard) -> Ranking {
    let declined: Vec<String> = project.declined.iter().map(|d| key(d)).collect();
    let need = project.weekly_hours();
    // Weekly hours booked per expert (other projects only).
    let mut booked: std::collections::HashMap<String, (f64, usize)> =
        std::collections::HashMap::new();
    for p in &pool.booked {
        if p.path == project.path {
            continue;
        }
        if let Some(e) = &p.expert {
            let slot = booked.entry(key(e)).or_default();
            slot.0 += p.weekly_hours().unwrap_or(0.0);
            slot.1 += 1;
        }
    }
    let required: Vec<String> = project
        .skills_required
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let mut candidates = Vec::new();
    let mut excluded = Vec::new();
    for e in &pool.experts {
        let k = key(&e.name);
        if declined.contains(&k) {
            excluded.push(Excluded {
                expert: e.name.clone(),
                reason: "declined this project".into(),
            });
            continue;
        }
        if e.status.as_deref() == Some("unavailable") {
            excluded.push(Excluded {
                expert: e.name.clone(),
                reason: "status unavailable".into(),
            });
            continue;
        }
        let mut components = Vec::with_capacity(5);

        // Skills.
        let have: Vec<String> = e.skills.iter().map(|s| s.to_lowercase()).collect();
        let matched: Vec<&String> = project
            .skills_required
            .iter()
            .zip(&required)
            .filter(|(_, r)| have.contains(r))
            .map(|(s, _)| s)
            .collect();
        let (ratio, detail) = if required.is_empty() {
            (1.0, "no skills required".to_string())
        } else {
            let missing: Vec<&str> = project
                .skills_required
                .iter()
                .zip(&required)
                .filter(|(_, r)| !have.contains(r))
                .map(|(s, _)| s.as_str())
                .collect();
            let mut d = format!("{} of {} required", matched.len(), required.len());
            if !matched.is_empty() {
                d.push_str(&format!(
                    ": {}",
                    matched
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !missing.is_empty() {
                d.push_str(&format!("; missing {}", missing.join(", ")));
            }
            (matched.len() as f64 / required.len() as f64, d)
        };
        components.push(Component {
            name: "skills",
            points: round1(40.0 * ratio),
            max: 40.0,
            detail,
        });

        // Capacity.
        let (load, count) = booked.get(&k).copied().unwrap_or((0.0, 0));
        let (ratio, detail) = match e.availability_hours {
            None => (0.0, "availability_hours unknown".to_string()),
            Some(avail) => {
                let free = avail - load;
                let booked_txt = format!(
                    "{} h/week free ({} available − {} booked on {count} project{})",
                    num(free.max(0.0)),
                    num(avail),
                    num(load),
                    if count == 1 { "" } else { "s" }
                );
                match need {
                    Some(n) if n > 0.0 => (
                        (free / n).clamp(0.0, 1.0),
                        format!("{booked_txt}; the project needs {} h/week", num(n)),
                    ),
                    _ => (
                        if free > 0.0 { 1.0 } else { 0.0 },
                        format!("{booked_txt}; the project's hours are unknown"),
                    ),
                }
            }
        };
        components.push(Component {
            name: "capacity",
            points: round1(25.0 * ratio),
            max: 25.0,
            detail,
        });

        // Rating.
        let (ratio, detail) = match e.rating {
            Some(r) => ((r / 5.0).clamp(0.0, 1.0), format!("{} of 5", num(r))),
            None => (0.0, "not rated".to_string()),
        };
        components.push(Component {
            name: "rating",
            points: round1(15.0 * ratio),
            max: 15.0,
            detail,
        });

        // Rate against budget.
        let cur = |c: &Option<String>| c.as_deref().map(str::to_lowercase);
        let (ratio, detail) = match (e.rate, project.estimate_hours, project.budget) {
            _ if cur(&e.currency).is_some()
                && cur(&project.currency).is_some()
                && cur(&e.currency) != cur(&project.currency) =>
            {
                (
                    0.5,
                    format!(
                        "rate in {}, budget in {}: not compared",
                        e.currency.as_deref().unwrap_or_default(),
                        project.currency.as_deref().unwrap_or_default()
                    ),
                )
            }
            (Some(rate), Some(hours), Some(budget)) => {
                let cost = rate * hours;
                if cost <= budget {
                    (
                        1.0,
                        format!(
                            "{} × {} h = {} within budget {}",
                            num(rate),
                            num(hours),
                            num(cost),
                            num(budget)
                        ),
                    )
                } else {
                    (
                        (budget / cost).clamp(0.0, 1.0),
                        format!(
                            "{} × {} h = {} over budget {}",
                            num(rate),
                            num(hours),
                            num(cost),
                            num(budget)
                        ),
                    )
                }
            }
            (None, _, _) => (0.5, "rate unknown".to_string()),
            _ => (0.5, "budget or estimate_hours unknown".to_string()),
        };
        components.push(Component {
            name: "rate",
            points: round1(10.0 * ratio),
            max: 10.0,
            detail,
        });

        // Language.
        let (ratio, detail) = match &project.language {
            None => (1.0, "no language set".to_string()),
            Some(l) => {
                if e.languages.iter().any(|x| x.eq_ignore_ascii_case(l)) {
                    (1.0, format!("speaks {l}"))
                } else {
                    (0.0, format!("does not list {l}"))
                }
            }
        };
        components.push(Component {
            name: "language",
            points: round1(10.0 * ratio),
            max: 10.0,
            detail,
        });

        let score = round1(components.iter().map(|c| c.points).sum());
        candidates.push(Candidate {
            rank: 0,
            expert: e.name.clone(),
            path: e.path.clone(),
            score,
            components,
        });
    }
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.expert.cmp(&b.expert))
    });
    for (i, c) in candidates.iter_mut().enumerate() {
        c.rank = i + 1;
    }
    excluded.sort_by(|a, b| a.expert.cmp(&b.expert));
    Ranking {
        project: project.name.clone(),
        weekly_hours: need.map(round1),
        candidates,
        excluded,
    }
}

/// Reads the pool and ranks it for the project note at `path`.
pub fn rank_project(root: &Path, config: &Config, path: &Path) -> Result<Ranking, WorkflowError> {
    let l = super::notes::load(path, Some("project"))?;
    let card = project_card(path, root, &l.note);
    let pool = load(root, config)?;
    Ok(rank(&pool, &card))
}

/// The ranking as text: one block per expert, each component on its own line.
pub fn render(r: &Ranking, top: Option<usize>) -> String {
    let mut out = format!("Experts for {}", r.project);
    if let Some(h) = r.weekly_hours {
        out.push_str(&format!(" (needs {} h/week)", num(h)));
    }
    out.push('\n');
    let shown = top.unwrap_or(usize::MAX);
    for c in r.candidates.iter().take(shown) {
        out.push_str(&format!(
            "\n{:>2}. {}  {}/100\n",
            c.rank,
            c.expert,
            num(c.score)
        ));
        for comp in &c.components {
            out.push_str(&format!(
                "    {:<9}{:>5}/{:<3} {}\n",
                comp.name,
                num(comp.points),
                num(comp.max),
                comp.detail
            ));
        }
    }
    if r.candidates.is_empty() {
        out.push_str("\nno expert to rank\n");
    } else if r.candidates.len() > shown {
        out.push_str(&format!(
            "\n{} more (use --top to see them)\n",
            r.candidates.len() - shown
        ));
    }
    if !r.excluded.is_empty() {
        out.push('\n');
        for x in &r.excluded {
            out.push_str(&format!("left out: {} ({})\n", x.expert, x.reason));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expert(name: &str, skills: &[&str]) -> ExpertCard {
        ExpertCard {
            name: name.into(),
            path: format!("Experts/{name}.md"),
            skills: skills.iter().map(|s| s.to_string()).collect(),
            languages: vec!["pl".into()],
            availability_hours: Some(20.0),
            rate: Some(100.0),
            currency: None,
            rating: Some(4.0),
            status: None,
        }
    }

    #[test]
    fn ranks_and_explains() {
        let project = ProjectCard {
            name: "Shop".into(),
            path: "Projects/Shop.md".into(),
            status: "matching".into(),
            skills_required: vec!["PHP".into(), "ux".into()],
            language: Some("pl".into()),
            budget: Some(10_000.0),
            estimate_hours: Some(80.0),
            start: Date::new(2026, 1, 1).ok(),
            deadline: Date::new(2026, 2, 26).ok(),
            declined: vec!["Zed".into()],
            ..ProjectCard::default()
        };
        let busy = ProjectCard {
            name: "Other".into(),
            path: "Projects/Other.md".into(),
            status: "active".into(),
            expert: Some("Experts/Bea".into()),
            estimate_hours: Some(160.0),
            start: Date::new(2026, 1, 1).ok(),
            deadline: Date::new(2026, 2, 26).ok(),
            ..ProjectCard::default()
        };
        let pool = Pool {
            experts: vec![
                expert("Bea", &["php", "ux"]),
                expert("Ala", &["php"]),
                expert("Zed", &["php", "ux"]),
            ],
            booked: vec![busy],
            unreadable: vec![],
        };
        assert_eq!(project.weekly_hours(), Some(10.0));
        let r = rank(&pool, &project);
        let names: Vec<(&str, f64)> = r
            .candidates
            .iter()
            .map(|c| (c.expert.as_str(), c.score))
            .collect();
        // Bea: skills 40, capacity 0 (20 − 20 booked), rating 12, rate 10, language 10.
        // Ala: skills 20, capacity 25, rating 12, rate 10, language 10.
        assert_eq!(names, [("Ala", 77.0), ("Bea", 72.0)]);
        assert_eq!(r.excluded[0].expert, "Zed");
        let bea = &r.candidates[1].components;
        assert_eq!(
            bea[1].detail,
            "0 h/week free (20 available − 20 booked on 1 project); the project needs 10 h/week"
        );
        assert_eq!(
            r.candidates[0].components[0].detail,
            "1 of 2 required: PHP; missing ux"
        );
    }

    #[test]
    fn quick_reader_agrees_with_the_parser() {
        let samples = [
            include_str!("../../vault-template/Experts/Anna Nowak.md"),
            include_str!("../../vault-template/Experts/Tomasz Wiśniewski.md"),
            include_str!("../../vault-template/Projects/Złoty Kłos online shop.md"),
            "---\r\ntype: project\r\nexpert: \"[[A B]]\"\r\nlist:\r\n- x\r\n- 'y z'\r\nempty:\r\nn: -3\r\nf: 4.50\r\nz: ~\r\nno: no\r\n---\r\nbody",
            "---\nskills: []\nlast:\n  - a\n---\n",
        ];
        for s in samples {
            let note = Note::parse(s.as_bytes()).unwrap();
            let full = note.frontmatter.unwrap().to_map();
            let quick = quick_props(s).unwrap_or_else(|| panic!("quick read fails on {s}"));
            assert_eq!(quick.0, full, "{s}");
        }
        // A postcode like 02-383 could be read otherwise: left to the parser.
        let client = include_str!("../../vault-template/Clients/Piekarnia Złoty Kłos.md");
        assert_eq!(quick_props(client), None);
        for odd in [
            "---\na: 0x1A\n---\n",
            "---\na: 1e3\n---\n",
            "---\na: \"x\\\"y\"\n---\n",
            "---\na: b # c\n---\n",
            "---\na:\n  b: 1\n---\n",
            "---\na: [x, y]\n---\n",
            "---\na: |\n  text\n---\n",
            "---\na: 1\na: 2\n---\n",
            "---\na: true\n---\n",
            "---\na: 12:30\n---\n",
        ] {
            assert_eq!(quick_props(odd), None, "{odd}");
        }
    }

    #[test]
    fn status_prefilter() {
        assert!(!may_book("---\ntype: project\nstatus: done\n---\n"));
        assert!(may_book("---\ntype: project\nstatus: active\n---\n"));
        assert!(may_book("---\ntype: project\nstatus: \"weird\n---\n"));
        assert!(may_book("---\r\nstatus: accepted\r\n---\r\n"));
        assert!(may_book("no frontmatter"));
    }
}
