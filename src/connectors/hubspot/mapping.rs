//! The HubSpot mapping: which note type is which object, which frontmatter key is which property,
//! and how values convert (dates ↔ epoch-ms midnight UTC, lists ↔ `;` multi-selects, enums
//! through tables, `name` ↔ `firstname` + `lastname`).
//!
//! Defaults (each overridable in `[remotes.hubspot.fields.<type>]` and `.tables.<type>.<key>`):
//! - client → contact (`ssot_role = client`), plus a company when `company` is set;
//! - expert → contact (`ssot_role = expert`), skills in the multi-select `ssot_skills`;
//! - project → deal, `status` ↔ `dealstage` through a table, associated with the contacts of
//!   its `client` and `expert`.

use std::collections::BTreeMap;

use crate::connectors::canonical::{self, join_list};
use crate::connectors::{Binding, Conv, Direction, FieldSpec};
use crate::vault::schema::{FieldType, Schema};

use super::config::HubspotConfig;

/// The unique property holding the note's `ssot_id`.
pub const SSOT_ID: &str = "ssot_id";
/// The contact property telling clients from experts.
pub const SSOT_ROLE: &str = "ssot_role";
/// The property naming the sync run that last wrote a record (lets the incremental pull skip
/// our own writes).
pub const SSOT_RUN: &str = "ssot_run";
/// The composite remote name of `name`.
pub const FULL_NAME: &str = "firstname+lastname";

/// The HubSpot object type of a note type.
pub fn object_type(note_type: &str) -> &'static str {
    match note_type {
        "project" => "deals",
        _ => "contacts",
    }
}

fn defaults(note_type: &str) -> Vec<(&'static str, &'static str)> {
    match note_type {
        "client" => vec![
            ("name", FULL_NAME),
            ("email", "email"),
            ("phone", "phone"),
            ("company", "company"),
            ("address", "address"),
            ("postcode", "zip"),
            ("city", "city"),
            ("country", "country"),
            ("status", "lifecyclestage"),
        ],
        "expert" => vec![
            ("name", FULL_NAME),
            ("email", "email"),
            ("phone", "phone"),
            ("location", "city"),
            ("skills", "ssot_skills"),
            ("status", "ssot_availability"),
        ],
        "project" => vec![
            ("title", "dealname"),
            ("status", "dealstage"),
            ("budget", "amount"),
            ("deadline", "closedate"),
            ("summary", "description"),
        ],
        _ => Vec::new(),
    }
}

fn default_table(note_type: &str, key: &str) -> Vec<(&'static str, &'static str)> {
    match (note_type, key) {
        ("client", "status") => vec![
            ("lead", "lead"),
            ("active", "customer"),
            ("inactive", "other"),
        ],
        ("project", "status") => vec![
            ("intake", "appointmentscheduled"),
            ("matching", "qualifiedtobuy"),
            ("proposed", "presentationscheduled"),
            ("accepted", "decisionmakerboughtin"),
            ("credentialing", "contractsent"),
            ("active", "contractsent"),
            // A stage of its own, so a block shows on the deal and an unblock takes it back to
            // Contract Sent: one stage back, an open one (a closed stage would count the deal
            // lost). The default pipeline has no "Blocked"; a pipeline that has one is named in
            // `[remotes.hubspot.tables.project.status]` by the stage's internal id.
            ("blocked", "decisionmakerboughtin"),
            ("done", "closedwon"),
            // An archived project is a done one, put away: the deal stays won.
            ("archived", "closedwon"),
        ],
        _ => Vec::new(),
    }
}

/// One mapped field with its remote property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropMap {
    /// The engine's spec.
    pub spec: FieldSpec,
    /// The HubSpot property (or [`FULL_NAME`]).
    pub prop: String,
}

/// The whole mapping of one note type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMap {
    /// The note type.
    pub note_type: String,
    /// The object type.
    pub object: &'static str,
    /// Mapped fields.
    pub props: Vec<PropMap>,
}

impl TypeMap {
    /// The HubSpot properties to read.
    pub fn read_props(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in &self.props {
            if p.prop == FULL_NAME {
                out.extend(["firstname".to_string(), "lastname".to_string()]);
            } else {
                out.push(p.prop.clone());
            }
        }
        out
    }
}

/// Builds the mapping of every synced note type from the configuration and schema.
pub fn build(cfg: &HubspotConfig, schema: &Schema) -> Vec<TypeMap> {
    ["client", "expert", "project"]
        .iter()
        .map(|ty| {
            let mut pairs: BTreeMap<String, String> = defaults(ty)
                .into_iter()
                .map(|(k, p)| (k.to_string(), p.to_string()))
                .collect();
            let order: Vec<String> = defaults(ty).iter().map(|(k, _)| k.to_string()).collect();
            if let Some(over) = cfg.fields.get(*ty) {
                for (k, p) in over {
                    pairs.insert(k.clone(), p.clone());
                }
            }
            let mut keys = order;
            for k in pairs.keys() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
            let nt = schema.get(ty);
            let props = keys
                .into_iter()
                .filter_map(|k| {
                    let prop = pairs.get(&k)?.trim().to_string();
                    if prop.is_empty() {
                        return None;
                    }
                    let mut table: Vec<(String, String)> = default_table(ty, &k)
                        .into_iter()
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .collect();
                    if let Some(over) = cfg.tables.get(*ty).and_then(|t| t.get(&k)) {
                        table.retain(|(v, _)| !over.contains_key(v));
                        table.extend(over.iter().map(|(a, b)| (a.clone(), b.clone())));
                    }
                    let field_ty = nt.and_then(|n| n.field(&k)).map(|f| f.ty.clone());
                    let conv = if k == "title" {
                        Conv::Title
                    } else if !table.is_empty() {
                        Conv::Table(table)
                    } else {
                        match field_ty {
                            Some(FieldType::List | FieldType::Links(_)) => Conv::List,
                            Some(FieldType::Integer | FieldType::Number) => Conv::Number,
                            Some(FieldType::Date) => Conv::Date,
                            Some(FieldType::Bool) => Conv::Bool,
                            _ => Conv::Text,
                        }
                    };
                    let direction = if k == "title" {
                        Direction::Push
                    } else {
                        cfg.directions
                            .get(*ty)
                            .and_then(|d| d.get(&k))
                            .copied()
                            .unwrap_or(Direction::Both)
                    };
                    Some(PropMap {
                        spec: FieldSpec {
                            key: k,
                            remote: prop.clone(),
                            conv,
                            direction,
                        },
                        prop,
                    })
                })
                .collect();
            TypeMap {
                note_type: ty.to_string(),
                object: object_type(ty),
                props,
            }
        })
        .collect()
}

/// The engine's bindings of a mapping.
pub fn bindings(maps: &[TypeMap]) -> Vec<Binding> {
    maps.iter()
        .map(|m| Binding {
            note_type: m.note_type.clone(),
            kind: m.object.to_string(),
            id_key: super::config::ID_KEY.into(),
            fields: m.props.iter().map(|p| p.spec.clone()).collect(),
            links: if m.note_type == "project" {
                vec!["client".into(), "expert".into()]
            } else {
                Vec::new()
            },
            pull_new: true,
            link_target_only: false,
            sections: Vec::new(),
        })
        .collect()
}

/// A HubSpot property value as canonical (`None`: empty).
pub fn to_canonical(conv: &Conv, raw: Option<&str>) -> Option<String> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty())?;
    match conv {
        Conv::Number => canonical::number(raw).or_else(|| Some(raw.to_string())),
        Conv::Date => Some(date_from_hubspot(raw).unwrap_or_else(|| raw.to_string())),
        Conv::List => join_list(raw.split(';')),
        Conv::Bool => Some(raw.to_ascii_lowercase()),
        Conv::Text | Conv::Table(_) | Conv::Title => Some(raw.to_string()),
    }
}

/// The canonical value of a record's mapped field, reading `firstname`/`lastname` for names.
pub fn read_field(
    pm: &PropMap,
    props: &serde_json::Map<String, serde_json::Value>,
) -> Option<String> {
    let get = |k: &str| props.get(k).and_then(|v| v.as_str());
    if pm.prop == FULL_NAME {
        let joined = [get("firstname"), get("lastname")]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        return (!joined.is_empty()).then_some(joined);
    }
    to_canonical(&pm.spec.conv, get(&pm.prop))
}

/// The HubSpot property values writing a canonical value (`None` clears it).
pub fn write_field(pm: &PropMap, canon: Option<&str>) -> Vec<(String, String)> {
    let v = canon.unwrap_or("");
    if pm.prop == FULL_NAME {
        let v = v.trim();
        let (first, last) = match v.rsplit_once(' ') {
            Some((f, l)) => (f.trim(), l.trim()),
            None => (v, ""),
        };
        return vec![
            ("firstname".into(), first.to_string()),
            ("lastname".into(), last.to_string()),
        ];
    }
    let value = match (&pm.spec.conv, canon) {
        (Conv::Date, Some(d)) => date_to_hubspot(d).unwrap_or_else(|| d.to_string()),
        _ => v.to_string(),
    };
    vec![(pm.prop.clone(), value)]
}

/// `YYYY-MM-DD` from epoch ms, an ISO datetime or an ISO date (UTC).
pub fn date_from_hubspot(raw: &str) -> Option<String> {
    if let Ok(ms) = raw.parse::<i64>() {
        let ts = jiff::Timestamp::from_millisecond(ms).ok()?;
        return Some(
            ts.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
                .to_string(),
        );
    }
    if let Ok(ts) = raw.parse::<jiff::Timestamp>() {
        return Some(
            ts.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
                .to_string(),
        );
    }
    raw.get(..10)
        .and_then(crate::vault::value::parse_date)
        .map(|d| d.to_string())
}

/// Epoch ms of midnight UTC of a `YYYY-MM-DD` date (HubSpot's date property format).
pub fn date_to_hubspot(date: &str) -> Option<String> {
    let d = crate::vault::value::parse_date(date)?;
    let z = d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok()?;
    Some(z.timestamp().as_millisecond().to_string())
}

/// The custom properties a type's writes need (created on first sync when missing):
/// `ssot_id` (unique), `ssot_run`, `ssot_role` on contacts, and every mapped `ssot_*` property.
pub fn custom_props(map: &TypeMap) -> Vec<String> {
    let mut out = vec![SSOT_ID.to_string(), SSOT_RUN.to_string()];
    if map.object == "contacts" {
        out.push(SSOT_ROLE.to_string());
    }
    for p in &map.props {
        if p.prop.starts_with("ssot_") && !out.contains(&p.prop) {
            out.push(p.prop.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mapping() {
        let maps = build(&HubspotConfig::default(), &Schema::builtin());
        let client = &maps[0];
        assert_eq!(client.object, "contacts");
        let skills = maps[1]
            .props
            .iter()
            .find(|p| p.spec.key == "skills")
            .unwrap();
        assert_eq!(skills.spec.conv, Conv::List);
        let stage = maps[2]
            .props
            .iter()
            .find(|p| p.spec.key == "status")
            .unwrap();
        assert!(matches!(stage.spec.conv, Conv::Table(_)));
        assert_eq!(
            custom_props(&maps[1]),
            [
                "ssot_id",
                "ssot_run",
                "ssot_role",
                "ssot_skills",
                "ssot_availability"
            ]
        );
    }

    #[test]
    fn names_and_dates() {
        let maps = build(&HubspotConfig::default(), &Schema::builtin());
        let name = &maps[0].props[0];
        assert_eq!(
            write_field(name, Some("Anna Maria Nowak")),
            [
                ("firstname".to_string(), "Anna Maria".to_string()),
                ("lastname".to_string(), "Nowak".to_string())
            ]
        );
        let mut props = serde_json::Map::new();
        props.insert("firstname".into(), "Anna Maria".into());
        props.insert("lastname".into(), "Nowak".into());
        assert_eq!(
            read_field(name, &props).as_deref(),
            Some("Anna Maria Nowak")
        );
        let ms = date_to_hubspot("2026-05-01").unwrap();
        assert_eq!(date_from_hubspot(&ms).as_deref(), Some("2026-05-01"));
        assert_eq!(
            date_from_hubspot("2026-05-01T00:00:00.000Z").as_deref(),
            Some("2026-05-01")
        );
    }
}
