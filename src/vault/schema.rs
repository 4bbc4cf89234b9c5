//! The schema of managed notes: the note types (`type:` client, expert, project, ticket, intake),
//! their fields with value types, enums and references, and the checks of one note against it.
//!
//! The defaults are compiled in; `ssot-vault.toml` may add fields (`[schema.<type>.fields]`).
//! `.obsidian/types.json` (Obsidian's property types) is derived from the same schema.

use std::collections::BTreeMap;

use crate::config::{Config, FieldDecl};

use super::frontmatter::Frontmatter;
use super::id::is_ulid;
use super::value::{Value, is_datetime, parse_date};

/// The value type of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// A number.
    Number,
    /// true / false.
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// ISO date and time.
    DateTime,
    /// A list of text values.
    List,
    /// One wikilink, to a note of the given type when set.
    Link(Option<String>),
    /// A list of wikilinks.
    Links(Option<String>),
    /// One of fixed values.
    Enum(Vec<String>),
}

impl FieldType {
    /// The Obsidian property type (`.obsidian/types.json`).
    pub fn obsidian(&self) -> &'static str {
        match self {
            FieldType::String | FieldType::Link(_) | FieldType::Enum(_) => "text",
            FieldType::Integer | FieldType::Number => "number",
            FieldType::Bool => "checkbox",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::List | FieldType::Links(_) => "multitext",
        }
    }

    /// The type's name, as written in the configuration and the README.
    pub fn name(&self) -> String {
        match self {
            FieldType::String => "string".into(),
            FieldType::Integer => "integer".into(),
            FieldType::Number => "number".into(),
            FieldType::Bool => "bool".into(),
            FieldType::Date => "date".into(),
            FieldType::DateTime => "datetime".into(),
            FieldType::List => "list".into(),
            FieldType::Link(t) => t.as_ref().map_or("link".into(), |t| format!("link → {t}")),
            FieldType::Links(t) => t
                .as_ref()
                .map_or("links".into(), |t| format!("links → {t}")),
            FieldType::Enum(v) => format!("enum: {}", v.join(" | ")),
        }
    }

    /// True for the list-valued types.
    pub fn is_list(&self) -> bool {
        matches!(self, FieldType::List | FieldType::Links(_))
    }

    fn parse(
        name: &str,
        values: &[String],
        target: Option<String>,
    ) -> Result<FieldType, FieldTypeError> {
        Ok(match name {
            "string" | "text" => FieldType::String,
            "integer" | "int" => FieldType::Integer,
            "number" | "float" => FieldType::Number,
            "bool" | "boolean" | "checkbox" => FieldType::Bool,
            "date" => FieldType::Date,
            "datetime" => FieldType::DateTime,
            "list" | "multitext" => FieldType::List,
            "link" => FieldType::Link(target),
            "links" => FieldType::Links(target),
            "enum" if !values.is_empty() => FieldType::Enum(values.to_vec()),
            "enum" => return Err(FieldTypeError::EnumWithoutValues),
            other => return Err(FieldTypeError::Unknown(other.to_string())),
        })
    }
}

/// Why a declared field type is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldTypeError {
    /// `type = "enum"` without its values.
    #[error("an enum needs `values = [..]`")]
    EnumWithoutValues,
    /// A type name the schema does not know.
    #[error(
        "unknown field type `{0}` (use string, integer, number, bool, date, datetime, list, link, links or enum)"
    )]
    Unknown(String),
}

/// One error in the `[schema.<type>]` tables of `ssot-vault.toml`; each names the table and the
/// field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// `[schema.<type>]` for a type the schema does not have.
    #[error("[schema.{0}]: unknown note type (known: client, expert, project, ticket, intake)")]
    UnknownType(String),
    /// A built-in field declared with another type.
    #[error(
        "[schema.{note_type}.fields] {field}: built-in field of type {builtin}, cannot become {declared}"
    )]
    BuiltinRetyped {
        /// The note type.
        note_type: String,
        /// The field.
        field: String,
        /// Its built-in type's name.
        builtin: String,
        /// The declared type's name.
        declared: String,
    },
    /// The declared type is not usable.
    #[error("[schema.{note_type}.fields] {field}: {source}")]
    FieldType {
        /// The note type.
        note_type: String,
        /// The field.
        field: String,
        /// Why.
        source: FieldTypeError,
    },
}

/// Every error of a configuration's schema (at least one), in the order of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.join("; "))]
pub struct SchemaErrors(pub Vec<SchemaError>);

impl SchemaErrors {
    /// The messages, joined by `sep`.
    pub fn join(&self, sep: &str) -> String {
        self.0
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// How many errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for an error returned by [`Schema::from_config`].
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One field of a note type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The property key.
    pub name: String,
    /// Its value type.
    pub ty: FieldType,
    /// Must be present and filled.
    pub required: bool,
    /// What it is for (README, `schema` docs).
    pub doc: String,
}

/// A note type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteType {
    /// `client`, `expert`, ...
    pub name: String,
    /// Its fields, common ones first.
    pub fields: Vec<Field>,
}

impl NoteType {
    /// The field named `key`.
    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == key)
    }
}

/// The project statuses, in lifecycle order.
pub const PROJECT_STATUSES: &[&str] = &[
    "intake",
    "matching",
    "proposed",
    "accepted",
    "credentialing",
    "active",
    "blocked",
    "done",
    "archived",
];

/// The whole schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// The note types.
    pub types: Vec<NoteType>,
}

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Makes `check` exit 1.
    Error,
    /// Reported only.
    Warning,
}

/// A problem found in a note's properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// Line in the file.
    pub line: usize,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong and what to do.
    pub message: String,
}

type Spec = (&'static str, &'static str, bool, &'static str);

const COMMON: &[Spec] = &[
    ("type", "type", true, "the note type"),
    (
        "ssot_id",
        "ulid",
        true,
        "stable identity (ULID), written by the tool; never change it",
    ),
    ("created", "date", true, "creation date"),
    ("tags", "list", false, "Obsidian tags"),
    ("aliases", "list", false, "other names of the note"),
];

const CLIENT: &[Spec] = &[
    ("name", "string", true, "contact person's full name"),
    (
        "email",
        "string",
        true,
        "contact e-mail; one client per e-mail",
    ),
    (
        "phone",
        "string",
        false,
        "phone number (quoted, keeps `+` and leading zeros)",
    ),
    ("company", "string", false, "company name"),
    ("tax_id", "string", false, "tax identification number (NIP)"),
    ("address", "string", false, "street address"),
    ("postcode", "string", false, "postal code"),
    ("city", "string", false, "city"),
    ("country", "string", false, "country"),
    ("size", "enum:micro,small,medium", false, "business size"),
    ("industry", "string", false, "industry"),
    ("language", "string", false, "preferred language"),
    (
        "status",
        "enum:lead,active,inactive",
        false,
        "relationship status",
    ),
];

const EXPERT: &[Spec] = &[
    ("name", "string", true, "full name"),
    ("email", "string", true, "e-mail"),
    ("phone", "string", false, "phone number"),
    (
        "skills",
        "list",
        true,
        "skills, matched against projects' skills_required",
    ),
    ("languages", "list", false, "languages spoken"),
    (
        "availability_hours",
        "number",
        false,
        "hours per week available",
    ),
    ("rate", "number", false, "hourly rate"),
    ("currency", "string", false, "currency of the rate"),
    ("rating", "number", false, "rating, 0 to 5"),
    ("location", "string", false, "where the expert works from"),
    (
        "status",
        "enum:available,busy,unavailable",
        false,
        "availability status",
    ),
    (
        "jira_account_id",
        "string",
        false,
        "Jira account, for access to project issues",
    ),
];

const PROJECT: &[Spec] = &[
    ("client", "link:client", true, "the client"),
    ("expert", "link:expert", false, "the assigned expert"),
    (
        "status",
        "enum:intake,matching,proposed,accepted,credentialing,active,blocked,done,archived",
        true,
        "lifecycle status",
    ),
    (
        "expert_status",
        "enum:proposed,accepted,declined",
        false,
        "the expert's answer",
    ),
    ("summary", "string", false, "one-line summary"),
    ("skills_required", "list", false, "skills the project needs"),
    ("language", "string", false, "working language"),
    ("budget", "number", false, "budget"),
    ("currency", "string", false, "currency of the budget"),
    ("estimate_hours", "number", false, "estimated hours"),
    ("deadline", "date", false, "deadline"),
    ("priority", "enum:low,medium,high,urgent", false, "priority"),
    ("start", "date", false, "start date"),
    ("end", "date", false, "end date"),
    (
        "blocked_reason",
        "string",
        false,
        "why the project is blocked",
    ),
    (
        "declined_experts",
        "links:expert",
        false,
        "experts who declined",
    ),
    ("intake", "link:intake", false, "the intake it came from"),
    ("archived", "date", false, "when it was archived"),
    (
        "jira_key",
        "string",
        false,
        "Jira issue key, written by sync",
    ),
    (
        "trello_card_id",
        "string",
        false,
        "Trello card id, written by sync",
    ),
];

const TICKET: &[Spec] = &[
    ("project", "link:project", true, "the project"),
    ("from", "enum:client,expert", true, "who opened it"),
    ("status", "enum:open,answered,closed", true, "ticket status"),
    ("subject", "string", false, "subject"),
    ("client", "link:client", false, "the client"),
    ("expert", "link:expert", false, "the expert"),
    ("opened", "datetime", false, "when it was opened"),
    ("closed", "datetime", false, "when it was closed"),
    (
        "trello_card_id",
        "string",
        false,
        "Trello card id, written by sync",
    ),
];

const INTAKE: &[Spec] = &[
    (
        "status",
        "enum:new,accepted,rejected",
        true,
        "intake status",
    ),
    ("contact_name", "string", true, "who asked"),
    ("email", "string", true, "their e-mail"),
    ("phone", "string", false, "their phone"),
    ("company", "string", false, "their company"),
    ("tax_id", "string", false, "tax identification number"),
    ("need", "string", false, "what they need"),
    (
        "skills_required",
        "list",
        false,
        "skills the need calls for",
    ),
    ("budget", "number", false, "budget"),
    ("deadline", "date", false, "deadline"),
    ("language", "string", false, "preferred language"),
    (
        "submitted",
        "datetime",
        false,
        "when the form was submitted",
    ),
    (
        "form_response_id",
        "string",
        false,
        "Google Forms response id",
    ),
    ("client", "link:client", false, "the client made from it"),
    ("project", "link:project", false, "the project made from it"),
];

fn builtin_type(name: &str, specific: &[Spec]) -> NoteType {
    let fields = COMMON
        .iter()
        .chain(specific)
        .map(|(n, t, req, doc)| {
            let ty = match *t {
                "type" => FieldType::Enum(vec![name.to_string()]),
                "ulid" => FieldType::String,
                t => match t.split_once(':') {
                    Some(("enum", v)) => {
                        FieldType::Enum(v.split(',').map(str::to_string).collect())
                    }
                    Some(("link", to)) => FieldType::Link(Some(to.to_string())),
                    Some(("links", to)) => FieldType::Links(Some(to.to_string())),
                    _ => FieldType::parse(t, &[], None).unwrap_or(FieldType::String),
                },
            };
            Field {
                name: (*n).to_string(),
                ty,
                required: *req,
                doc: (*doc).to_string(),
            }
        })
        .chain(
            // The remote id keys the connectors write (see `connectors::registry`).
            crate::connectors::registry::id_keys(name)
                .filter(|k| !specific.iter().any(|(n, ..)| *n == k.key))
                .map(|k| Field {
                    name: k.key.to_string(),
                    ty: FieldType::String,
                    required: false,
                    doc: k.doc.to_string(),
                }),
        )
        .collect();
    NoteType {
        name: name.to_string(),
        fields,
    }
}

impl Schema {
    /// The compiled-in schema.
    pub fn builtin() -> Schema {
        Schema {
            types: vec![
                builtin_type("client", CLIENT),
                builtin_type("expert", EXPERT),
                builtin_type("project", PROJECT),
                builtin_type("ticket", TICKET),
                builtin_type("intake", INTAKE),
            ],
        }
    }

    /// The built-in schema extended by the configuration. Errors name the offending field.
    pub fn from_config(config: &Config) -> Result<Schema, SchemaErrors> {
        let mut schema = Schema::builtin();
        let mut errors = Vec::new();
        for (ty, ext) in &config.schema {
            let Some(nt) = schema.types.iter_mut().find(|t| t.name == *ty) else {
                errors.push(SchemaError::UnknownType(ty.clone()));
                continue;
            };
            for (name, decl) in &ext.fields {
                let (tyname, values, target, required) = match decl {
                    FieldDecl::Short(t) => (t.as_str(), &[][..], None, false),
                    FieldDecl::Full {
                        ty,
                        values,
                        target,
                        required,
                    } => (ty.as_str(), values.as_slice(), target.clone(), *required),
                };
                match FieldType::parse(tyname, values, target) {
                    Ok(ft) => match nt.fields.iter_mut().find(|f| f.name == *name) {
                        Some(existing) if existing.ty != ft => {
                            errors.push(SchemaError::BuiltinRetyped {
                                note_type: ty.clone(),
                                field: name.clone(),
                                builtin: existing.ty.name(),
                                declared: ft.name(),
                            })
                        }
                        Some(existing) => existing.required |= required,
                        None => nt.fields.push(Field {
                            name: name.clone(),
                            ty: ft,
                            required,
                            doc: "declared in ssot-vault.toml".into(),
                        }),
                    },
                    Err(source) => errors.push(SchemaError::FieldType {
                        note_type: ty.clone(),
                        field: name.clone(),
                        source,
                    }),
                }
            }
        }
        if errors.is_empty() {
            Ok(schema)
        } else {
            Err(SchemaErrors(errors))
        }
    }

    /// The note type named `name`.
    pub fn get(&self, name: &str) -> Option<&NoteType> {
        self.types.iter().find(|t| t.name == name)
    }

    /// The Obsidian property type of every field, as `.obsidian/types.json` holds it.
    pub fn obsidian_types(&self) -> BTreeMap<String, &'static str> {
        let mut out = BTreeMap::new();
        for t in &self.types {
            for f in &t.fields {
                let ty = match f.name.as_str() {
                    "tags" => "tags",
                    "aliases" => "aliases",
                    _ => f.ty.obsidian(),
                };
                out.insert(f.name.clone(), ty);
            }
        }
        out
    }

    /// Checks a managed note's properties (not its references: those need the index).
    pub fn check(&self, ty: &NoteType, fm: &Frontmatter) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        let type_line = fm.line_of("type").unwrap_or(1);
        for field in &ty.fields {
            let entry = fm.entry(&field.name);
            match entry {
                None if field.required => out.push(FieldProblem {
                    line: type_line,
                    severity: Severity::Error,
                    message: missing_message(&field.name),
                }),
                Some(e) if field.required && e.value.is_empty() => out.push(FieldProblem {
                    line: e.line,
                    severity: Severity::Error,
                    message: missing_message(&field.name),
                }),
                Some(e) if !e.value.is_empty() => {
                    if let Some((severity, message)) = check_value(field, &e.value) {
                        out.push(FieldProblem {
                            line: e.line,
                            severity,
                            message,
                        });
                    }
                }
                _ => {}
            }
        }
        if let Some(e) = fm.entry("ssot_id")
            && !e.value.is_empty()
            && !e.value.as_str().is_some_and(is_ulid)
        {
            out.retain(|p| p.line != e.line);
            let id = &e.value;
            out.push(FieldProblem {
                line: e.line,
                severity: Severity::Error,
                message: format!("ssot_id `{id}` is not a ULID: give the note a new one with `ssot-vault set <note> ssot_id=new`"),
            });
        }
        out
    }
}

fn missing_message(key: &str) -> String {
    match key {
        "ssot_id" => {
            "missing required property `ssot_id`: add one with `ssot-vault set <note> ssot_id=new`"
                .into()
        }
        _ => format!("missing required property `{key}`"),
    }
}

/// Checks one filled value against its field; `None` when it fits.
pub fn check_value(field: &Field, v: &Value) -> Option<(Severity, String)> {
    let name = &field.name;
    let err = |m: String| Some((Severity::Error, m));
    match &field.ty {
        FieldType::String => match v {
            Value::Str(_) => None,
            Value::Int(_)
            | Value::Float(_)
            | Value::Bool(_)
            | Value::Date(_)
            | Value::DateTime(_) => Some((
                Severity::Warning,
                format!(
                    "`{name}` is text but holds a {}: quote it (`{name}: \"{v}\"`) so it is kept as written",
                    v.kind()
                ),
            )),
            _ => err(format!("`{name}` must be text, not a {}", v.kind())),
        },
        FieldType::Integer => match v {
            Value::Int(_) => None,
            _ => err(format!("`{name}` must be a whole number, not `{v}`")),
        },
        FieldType::Number => match v {
            Value::Int(_) | Value::Float(_) => None,
            _ => err(format!("`{name}` must be a number, not `{v}`")),
        },
        FieldType::Bool => match v {
            Value::Bool(_) => None,
            _ => err(format!("`{name}` must be true or false, not `{v}`")),
        },
        FieldType::Date => match v {
            Value::Date(_) => None,
            Value::Str(s) if parse_date(s).is_some() => None,
            _ => err(format!("`{name}` must be a date (YYYY-MM-DD), not `{v}`")),
        },
        FieldType::DateTime => match v {
            Value::DateTime(_) | Value::Date(_) => None,
            Value::Str(s) if is_datetime(s) => None,
            _ => err(format!(
                "`{name}` must be a date and time (YYYY-MM-DDTHH:MM), not `{v}`"
            )),
        },
        FieldType::List => match v {
            Value::List(items)
                if items
                    .iter()
                    .all(|i| !matches!(i, Value::List(_) | Value::Map(_))) =>
            {
                None
            }
            Value::Str(s) => Some((
                Severity::Warning,
                format!(
                    "`{name}` is a list but holds one text value `{s}`: write it as a list (`{name}:` then `  - item` lines)"
                ),
            )),
            _ => err(format!(
                "`{name}` must be a list of values, not a {}",
                v.kind()
            )),
        },
        FieldType::Link(_) => match v {
            Value::Str(_) if v.as_link().is_some() => None,
            _ => err(format!(
                "`{name}` must be a link like \"[[Note name]]\", not `{v}`"
            )),
        },
        FieldType::Links(_) => match v {
            Value::List(items) if items.iter().all(|i| i.as_link().is_some()) => None,
            _ => err(format!(
                "`{name}` must be a list of links like `  - \"[[Note name]]\"`"
            )),
        },
        FieldType::Enum(values) => match v {
            Value::Str(s) if values.contains(s) => None,
            _ => err(format!(
                "`{name}` must be one of {}, not `{v}`",
                values.join(", ")
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::note::Note;

    fn problems(t: &str) -> Vec<String> {
        let n = Note::parse_text(t.to_string()).unwrap();
        let fm = n.frontmatter.unwrap();
        let s = Schema::builtin();
        let ty = s.get(fm.get_str("type").unwrap()).unwrap();
        s.check(ty, &fm)
            .into_iter()
            .map(|p| format!("{}:{:?}:{}", p.line, p.severity, p.message))
            .collect()
    }

    #[test]
    fn project_checks() {
        let p = problems(
            "---\ntype: project\nssot_id: 01JF0000000000000000000000\ncreated: 2026-01-01\nclient: Acme\nstatus: paused\nbudget: lots\n---\n",
        );
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("must be a link"));
        assert!(p[1].starts_with("6:Error:`status` must be one of intake"));
        assert!(p[2].contains("`budget` must be a number"));
    }

    #[test]
    fn missing_required_and_bad_id() {
        let p = problems("---\ntype: client\nssot_id: 123\nname: X\nphone: 601234567\n---\n");
        assert!(
            p.iter()
                .any(|m| m.contains("missing required property `created`")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|m| m.contains("missing required property `email`"))
        );
        assert!(p.iter().any(|m| m.contains("not a ULID")));
        assert!(p.iter().any(|m| m.contains("Warning:`phone` is text")));
    }

    #[test]
    fn types_json_agrees_with_template() {
        let tpl: serde_json::Value =
            serde_json::from_str(include_str!("../../vault-template/.obsidian/types.json"))
                .unwrap();
        let tpl: BTreeMap<String, String> = tpl["types"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        // Every schema field has its type there; the keys the sync and Obsidian write besides
        // are checked with the sync's own names in tests/it/template_obsidian.rs.
        for (key, ty) in Schema::builtin().obsidian_types() {
            assert_eq!(tpl.get(&key).map(String::as_str), Some(ty), "{key}");
        }
    }

    #[test]
    fn config_extends() {
        let c = Config::parse("[schema.client.fields]\nvat = \"string\"\nseg = { type = \"enum\", values = [\"a\"] }\n[schema.client.fields.email]\ntype = \"number\"\n").unwrap();
        let e = Schema::from_config(&c).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        let c = Config::parse("[schema.client.fields]\nvat = \"string\"\n").unwrap();
        assert!(
            Schema::from_config(&c)
                .unwrap()
                .get("client")
                .unwrap()
                .field("vat")
                .is_some()
        );
    }

    #[test]
    fn schema_errors_name_their_table_and_field() {
        let c = Config::parse(
            "[schema.client.fields]\nemail = \"number\"\nseg = \"enum\"\nsize = \"huge\"\n[schema.widget.fields]\nx = \"string\"\n",
        )
        .unwrap();
        let e = Schema::from_config(&c).unwrap_err();
        let field = |field: &str, source| SchemaError::FieldType {
            note_type: "client".into(),
            field: field.into(),
            source,
        };
        assert_eq!(
            e.0,
            vec![
                SchemaError::BuiltinRetyped {
                    note_type: "client".into(),
                    field: "email".into(),
                    builtin: "string".into(),
                    declared: "number".into(),
                },
                field("seg", FieldTypeError::EnumWithoutValues),
                field("size", FieldTypeError::Unknown("huge".into())),
                SchemaError::UnknownType("widget".into()),
            ]
        );
        assert_eq!(
            e.to_string(),
            "[schema.client.fields] email: built-in field of type string, cannot become number; \
             [schema.client.fields] seg: an enum needs `values = [..]`; \
             [schema.client.fields] size: unknown field type `huge` (use string, integer, number, bool, date, datetime, list, link, links or enum); \
             [schema.widget]: unknown note type (known: client, expert, project, ticket, intake)"
        );
        assert_eq!(e.join("; "), e.to_string());
    }
}
