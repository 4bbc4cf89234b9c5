//! The Jira mapping: which frontmatter key of a project note is which field of its issue, and how
//! values convert (dates as they are, hours ↔ seconds of the original estimate, numbers, enums
//! through tables, a link ↔ its target's name in a text field).
//!
//! Defaults (each overridable in `[remotes.jira.fields.project]` and
//! `.tables.project.<key>`): title ↔ `summary`, `status` ↔ the issue's status (moved by
//! transitions), `budget` ↔ the number custom field `budget_field`, `estimate_hours` ↔
//! `timetracking.originalEstimate`, `deadline` ↔ `duedate`, `priority` ↔ `priority`; the
//! project's `expert` → the assignee (a link: the expert note's `jira_account_id`); the body
//! section `## Brief` (`description_section`) ↔ the description, as free text converted by
//! [`super::adf`] ([`description_to_text`], [`text_to_description`]).

use serde_json::{Value, json};

use crate::connectors::canonical;
use crate::connectors::{
    Binding, Conv, Direction, FieldSpec, SectionItem, SectionKind, SectionSpec,
};
use crate::vault::schema::{FieldType, Schema};
use crate::vault::sections::TEXT_KEY;

use super::config::{ACCOUNT_KEY, ID_KEY, JiraConfig};

/// The note type of the issues.
pub const PROJECT: &str = "project";
/// The note type of the assignees (link targets only).
pub const EXPERT: &str = "expert";
/// The link key of a project naming its assignee.
pub const ASSIGNEE_LINK: &str = "expert";

/// Where a key's value lives in an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `summary`.
    Summary,
    /// `duedate` (`YYYY-MM-DD`).
    DueDate,
    /// `priority` (by name).
    Priority,
    /// `timetracking.originalEstimate` (hours in the note).
    Estimate,
    /// The issue's status (moved by transitions, never written as a field).
    Status,
    /// A custom field: its id (`customfield_NNNNN`) or its name, as configured.
    Custom(String),
}

impl Target {
    fn parse(s: &str) -> Target {
        match s {
            "summary" => Target::Summary,
            "duedate" => Target::DueDate,
            "priority" => Target::Priority,
            "timetracking" | "originalEstimate" | "timeoriginalestimate" => Target::Estimate,
            "status" => Target::Status,
            other => Target::Custom(other.to_string()),
        }
    }

    /// The Jira field to ask for when reading (`None` for a custom field not resolved yet).
    pub fn read_field(&self, custom_id: Option<&str>) -> Option<String> {
        Some(match self {
            Target::Summary => "summary".into(),
            Target::DueDate => "duedate".into(),
            Target::Priority => "priority".into(),
            Target::Estimate => "timetracking".into(),
            Target::Status => "status".into(),
            Target::Custom(_) => custom_id?.to_string(),
        })
    }
}

/// One mapped key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMap {
    /// The engine's spec.
    pub spec: FieldSpec,
    /// Where it lives in the issue.
    pub target: Target,
    /// The key is a link (`client: "[[Name]]"`): the issue holds the target's name.
    pub link: bool,
}

fn defaults(cfg: &JiraConfig) -> Vec<(String, String)> {
    vec![
        ("title".into(), "summary".into()),
        ("status".into(), "status".into()),
        ("budget".into(), cfg.budget_field.clone()),
        ("estimate_hours".into(), "timetracking".into()),
        ("deadline".into(), "duedate".into()),
        ("priority".into(), "priority".into()),
    ]
}

fn default_table(key: &str) -> Vec<(&'static str, &'static str)> {
    match key {
        "status" => vec![
            ("intake", "To Do"),
            ("matching", "To Do"),
            ("proposed", "To Do"),
            ("accepted", "On Hold"),
            ("credentialing", "On Hold"),
            ("active", "In Progress"),
            // A block suspends the issue (the lifecycle's `jira.suspend`, to On Hold): the field
            // names the status the action moves it to, so the two agree and the run that blocks
            // is settled. An issue moved to Jira's own Blocked status still reads as blocked (the
            // first pair of a vault value is the one written).
            ("blocked", "On Hold"),
            ("blocked", "Blocked"),
            ("done", "Done"),
            // An archived project's issue is deleted (the lifecycle's `jira.delete_issue`); until
            // then it is done.
            ("archived", "Done"),
        ],
        "priority" => vec![
            ("low", "Low"),
            ("medium", "Medium"),
            ("high", "High"),
            ("urgent", "Highest"),
        ],
        _ => Vec::new(),
    }
}

/// The mapped keys of a project note, from the configuration and the schema.
pub fn build(cfg: &JiraConfig, schema: &Schema) -> Vec<FieldMap> {
    let mut pairs = defaults(cfg);
    if let Some(over) = cfg.fields.get(PROJECT) {
        for (k, v) in over {
            match pairs.iter_mut().find(|(key, _)| key == k) {
                Some(p) => p.1 = v.clone(),
                None => pairs.push((k.clone(), v.clone())),
            }
        }
    }
    let nt = schema.get(PROJECT);
    pairs
        .into_iter()
        .filter_map(|(key, remote)| {
            let remote = remote.trim().to_string();
            if remote.is_empty() {
                return None;
            }
            let target = Target::parse(&remote);
            let mut table: Vec<(String, String)> = default_table(&key)
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            if let Some(over) = cfg.tables.get(PROJECT).and_then(|t| t.get(&key)) {
                table.retain(|(v, _)| !over.contains_key(v));
                table.extend(over.iter().map(|(a, b)| (a.clone(), b.clone())));
            }
            let field_ty = nt.and_then(|n| n.field(&key)).map(|f| f.ty.clone());
            let link = matches!(field_ty, Some(FieldType::Link(_)));
            let conv = if key == "title" {
                Conv::Title
            } else if !table.is_empty() {
                Conv::Table(table)
            } else {
                match (&target, field_ty) {
                    (Target::Estimate, _) => Conv::Number,
                    (Target::DueDate, _) => Conv::Date,
                    (_, Some(FieldType::Integer | FieldType::Number)) => Conv::Number,
                    (_, Some(FieldType::Date)) => Conv::Date,
                    (_, Some(FieldType::List | FieldType::Links(_))) => Conv::List,
                    (_, Some(FieldType::Bool)) => Conv::Bool,
                    _ => Conv::Text,
                }
            };
            let direction = if key == "title" {
                Direction::Push
            } else {
                cfg.directions
                    .get(PROJECT)
                    .and_then(|d| d.get(&key))
                    .copied()
                    .unwrap_or(Direction::Both)
            };
            Some(FieldMap {
                spec: FieldSpec {
                    key,
                    remote,
                    conv,
                    direction,
                },
                target,
                link,
            })
        })
        .collect()
}

/// The engine's bindings: projects ↔ issues of `project_key`, and experts as the targets of a
/// project's `expert` link only, by their `jira_account_id` (see `Binding::link_target_only`).
pub fn bindings(cfg: &JiraConfig, maps: &[FieldMap]) -> Vec<Binding> {
    vec![
        Binding {
            note_type: EXPERT.into(),
            kind: "users".into(),
            id_key: ACCOUNT_KEY.into(),
            fields: Vec::new(),
            links: Vec::new(),
            pull_new: false,
            sections: Vec::new(),
            link_target_only: true,
        },
        Binding {
            note_type: PROJECT.into(),
            kind: cfg.project_key.clone(),
            id_key: ID_KEY.into(),
            fields: maps.iter().map(|m| m.spec.clone()).collect(),
            links: vec![ASSIGNEE_LINK.into()],
            pull_new: cfg.pull_new,
            sections: description_heading(cfg)
                .map(|h| SectionSpec {
                    heading: h.to_string(),
                    kind: SectionKind::Text,
                })
                .into_iter()
                .collect(),
            link_target_only: false,
        },
    ]
}

/// The heading of the body section holding the description, when mapped.
pub fn description_heading(cfg: &JiraConfig) -> Option<&str> {
    Some(cfg.description_section.trim()).filter(|h| !h.is_empty())
}

/// A description (ADF, or `null`) as the section's items: none when empty. A value that is no
/// ADF document at all is kept as an ```` ```adf ```` block of its JSON, never dropped.
pub fn description_to_text(v: Option<&Value>) -> Vec<SectionItem> {
    let text = match v {
        None | Some(Value::Null) => String::new(),
        Some(doc) => {
            super::adf::adf_to_markdown(doc).unwrap_or_else(|_| format!("```adf\n{doc}\n```\n"))
        }
    };
    let text = text.trim_matches('\n').to_string();
    if text.trim().is_empty() {
        return Vec::new();
    }
    vec![SectionItem {
        key: TEXT_KEY.into(),
        text,
        checked: None,
        stamp: None,
    }]
}

/// The description writing a section's items (`null` clears it).
pub fn text_to_description(items: &[SectionItem]) -> Value {
    let text: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
    let text = text.join("\n\n");
    if text.trim().is_empty() {
        Value::Null
    } else {
        super::adf::markdown_to_adf(&text)
    }
}

/// The name a link value names (`[[Clients/Acme|Acme Ltd]]` → `Acme`).
pub fn link_name(v: &str) -> String {
    let inner = v
        .trim()
        .trim_start_matches("[[")
        .trim_end_matches("]]")
        .trim();
    let target = inner.split('|').next().unwrap_or(inner);
    let target = target.split('#').next().unwrap_or(target);
    let name = target.rsplit('/').next().unwrap_or(target).trim();
    name.strip_suffix(".md").unwrap_or(name).to_string()
}

/// Hours as Jira's estimate (`12h`, `750m`).
pub fn hours_to_estimate(hours: &str) -> Option<String> {
    let h: f64 = hours.trim().parse().ok()?;
    if !h.is_finite() || h < 0.0 {
        return None;
    }
    let minutes = (h * 60.0).round() as i64;
    Some(if minutes % 60 == 0 {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    })
}

/// A mapped key's canonical value in an issue's `fields` (`custom_id`: the custom field's id).
pub fn read(
    m: &FieldMap,
    fields: &serde_json::Map<String, Value>,
    custom_id: Option<&str>,
) -> Option<String> {
    let str_of = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Object(o) => o
                .get("value")
                .or_else(|| o.get("name"))
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        }
    };
    let raw = match &m.target {
        Target::Summary => str_of(fields.get("summary")),
        Target::DueDate => str_of(fields.get("duedate")),
        Target::Priority => fields
            .get("priority")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string),
        Target::Status => fields
            .get("status")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string),
        Target::Estimate => {
            let secs = fields
                .get("timetracking")
                .and_then(|t| t.get("originalEstimateSeconds"))
                .and_then(Value::as_f64)
                .or_else(|| fields.get("timeoriginalestimate").and_then(Value::as_f64));
            secs.map(|s| (s / 3600.0).to_string())
        }
        Target::Custom(_) => match fields.get(custom_id?)? {
            Value::Array(a) => Some(
                a.iter()
                    .filter_map(|x| str_of(Some(x)))
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
            v => str_of(Some(v)),
        },
    };
    let raw = raw
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())?;
    if m.link {
        return Some(format!("[[{}]]", link_name(&raw)));
    }
    match m.spec.conv {
        Conv::Number => canonical::number(&raw).or(Some(raw)),
        Conv::Date => Some(raw.get(..10).unwrap_or(&raw).to_string()),
        Conv::List => canonical::join_list(raw.split(';')),
        _ => Some(raw),
    }
}

/// The issue field and value writing a canonical value (`None` clears it); `None` for the
/// status (moved by transitions) and a custom field not resolved.
pub fn write(
    m: &FieldMap,
    canon: Option<&str>,
    custom_id: Option<&str>,
) -> Option<(String, Value)> {
    let v = canon.map(str::trim).filter(|s| !s.is_empty());
    let v = match (m.link, v) {
        (true, Some(x)) => Some(link_name(x)),
        (_, x) => x.map(str::to_string),
    };
    let value = |v: Option<String>| v.map_or(Value::Null, Value::String);
    Some(match &m.target {
        Target::Status => return None,
        Target::Summary => ("summary".into(), json!(v.unwrap_or_default())),
        Target::DueDate => ("duedate".into(), value(v)),
        // Jira holds a priority on every issue: clearing it in the vault leaves Jira's.
        Target::Priority => ("priority".into(), json!({ "name": v? })),
        Target::Estimate => (
            "timetracking".into(),
            match v.as_deref().and_then(hours_to_estimate) {
                Some(e) => json!({ "originalEstimate": e }),
                None => json!({}),
            },
        ),
        Target::Custom(_) => {
            let id = custom_id?.to_string();
            let val = match (&m.spec.conv, v) {
                (_, None) => Value::Null,
                (Conv::Number, Some(n)) => match n.parse::<i64>() {
                    Ok(i) => json!(i),
                    Err(_) => n
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map_or(Value::String(n), Value::Number),
                },
                (_, Some(s)) => Value::String(s),
            };
            (id, val)
        }
    })
}

/// The custom fields the mapping names by name (not by id), to look up or create.
pub fn custom_names(maps: &[FieldMap]) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for m in maps {
        if let Target::Custom(name) = &m.target
            && !name.starts_with("customfield_")
            && !out.iter().any(|(n, _)| n == name)
        {
            let kind = match m.spec.conv {
                Conv::Number => "number",
                Conv::Date => "date",
                _ => "string",
            };
            out.push((name.clone(), kind));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn maps() -> Vec<FieldMap> {
        build(&JiraConfig::default(), &Schema::builtin())
    }

    fn get<'a>(maps: &'a [FieldMap], key: &str) -> &'a FieldMap {
        maps.iter().find(|m| m.spec.key == key).unwrap()
    }

    #[test]
    fn default_mapping_and_values_both_ways() {
        let maps = maps();
        let keys: Vec<&str> = maps.iter().map(|m| m.spec.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "title",
                "status",
                "budget",
                "estimate_hours",
                "deadline",
                "priority"
            ]
        );
        let est = get(&maps, "estimate_hours");
        assert_eq!(
            write(est, Some("240"), None),
            Some(("timetracking".into(), json!({"originalEstimate": "240h"})))
        );
        assert_eq!(hours_to_estimate("12.5").as_deref(), Some("750m"));
        let f =
            json!({"timetracking": {"originalEstimate": "6w", "originalEstimateSeconds": 864000}});
        assert_eq!(
            read(est, f.as_object().unwrap(), None).as_deref(),
            Some("240")
        );
        let pr = get(&maps, "priority");
        assert_eq!(
            canonical::from_vault(
                &pr.spec.conv,
                Some(&crate::vault::value::Value::Str("urgent".into())),
                ""
            ),
            Some("Highest".into())
        );
        assert_eq!(
            write(pr, Some("Highest"), None),
            Some(("priority".into(), json!({"name": "Highest"})))
        );
        let budget = get(&maps, "budget");
        assert_eq!(budget.target, Target::Custom("Budget".into()));
        assert_eq!(
            write(budget, Some("45000"), Some("customfield_10050")),
            Some(("customfield_10050".into(), json!(45000)))
        );
        let f = json!({"customfield_10050": 45000.0, "status": {"name": "On Hold"}});
        assert_eq!(
            read(budget, f.as_object().unwrap(), Some("customfield_10050")).as_deref(),
            Some("45000")
        );
        assert_eq!(
            read(get(&maps, "status"), f.as_object().unwrap(), None).as_deref(),
            Some("On Hold")
        );
        assert_eq!(write(get(&maps, "status"), Some("Done"), None), None);
        // Blocked is On Hold, where the block's action puts the issue; Jira's Blocked reads back.
        let st = &get(&maps, "status").spec.conv;
        let blocked = crate::vault::value::Value::Str("blocked".into());
        assert_eq!(
            canonical::from_vault(st, Some(&blocked), "").as_deref(),
            Some("On Hold")
        );
        assert_eq!(canonical::to_vault(st, Some("Blocked"), None), blocked);
        assert_eq!(write(pr, None, None), None, "Jira keeps a priority");
        assert_eq!(custom_names(&maps), [("Budget".to_string(), "number")]);
    }

    #[test]
    fn links_travel_as_names() {
        let mut cfg = JiraConfig::default();
        cfg.fields.insert(
            "project".into(),
            BTreeMap::from([
                ("client".to_string(), "Client".to_string()),
                ("budget".to_string(), String::new()),
            ]),
        );
        let maps = build(&cfg, &Schema::builtin());
        assert!(maps.iter().all(|m| m.spec.key != "budget"), "unmapped");
        let client = get(&maps, "client");
        assert!(client.link);
        assert_eq!(
            write(
                client,
                Some("[[Clients/Acme|Acme Ltd]]"),
                Some("customfield_1")
            ),
            Some(("customfield_1".into(), json!("Acme")))
        );
        let f = json!({"customfield_1": "Acme"});
        assert_eq!(
            read(client, f.as_object().unwrap(), Some("customfield_1")).as_deref(),
            Some("[[Acme]]")
        );
    }
}
