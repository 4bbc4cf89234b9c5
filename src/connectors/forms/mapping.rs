//! Forms answers ↔ intake fields: the binding of the intake note type (every mapped field read
//! from the form, none written back), and a response read as a [`RemoteRecord`] through the
//! question table (question id → title → intake field).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::connectors::canonical;
use crate::connectors::{Binding, Conv, Direction, FieldSpec, RemoteRecord};
use crate::vault::schema::{FieldType, Schema};

use super::config::{FormsConfig, ID_KEY, NOTE_TYPE};

/// The key of the submission time.
pub const SUBMITTED: &str = "submitted";
/// The key of the intake's status.
pub const STATUS: &str = "status";
/// The status of a new intake.
pub const NEW: &str = "new";

/// One mapped intake field: its key, the question title that fills it, how it is made canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The frontmatter key.
    pub key: String,
    /// The question's title.
    pub title: String,
    /// Its conversion.
    pub conv: Conv,
}

/// The question table checked against the schema: a title whose field the intake note type
/// does not have is left out.
pub fn build(cfg: &FormsConfig, schema: &Schema) -> Vec<Mapped> {
    let ty = schema.get(NOTE_TYPE);
    cfg.question_table()
        .into_iter()
        .filter_map(|(title, key)| {
            let field = ty.and_then(|t| t.field(&key))?;
            let conv = match field.ty {
                FieldType::List | FieldType::Links(_) => Conv::List,
                FieldType::Integer | FieldType::Number => Conv::Number,
                FieldType::Date => Conv::Date,
                _ => Conv::Text,
            };
            Some(Mapped { key, title, conv })
        })
        .collect()
}

/// The intake binding: the mapped answers, `submitted` and `status` (read from the form; the
/// form is never written, so they travel both ways only in the engine's terms, and a write is
/// refused by the connector).
pub fn binding(map: &[Mapped]) -> Binding {
    let mut fields: Vec<FieldSpec> = map
        .iter()
        .map(|m| FieldSpec {
            key: m.key.clone(),
            remote: m.title.clone(),
            conv: m.conv.clone(),
            direction: Direction::Both,
        })
        .collect();
    for (key, remote) in [(SUBMITTED, "createTime"), (STATUS, "(new)")] {
        if !fields.iter().any(|f| f.key == key) {
            fields.push(FieldSpec {
                key: key.into(),
                remote: remote.into(),
                conv: Conv::Text,
                direction: Direction::Both,
            });
        }
    }
    Binding {
        note_type: NOTE_TYPE.into(),
        kind: "responses".into(),
        id_key: ID_KEY.into(),
        fields,
        links: Vec::new(),
        pull_new: true,
        sections: Vec::new(),
        link_target_only: false,
    }
}

/// Question id → title, from `forms.get`'s items.
pub fn question_ids(form: &Value) -> BTreeMap<String, String> {
    form["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let id = item["questionItem"]["question"]["questionId"].as_str()?;
            let title = item["title"].as_str().unwrap_or_default();
            Some((id.to_string(), title.trim().to_string()))
        })
        .collect()
}

/// An RFC 3339 time as the note keeps it: to the second, `Z` dropped.
fn datetime(stamp: &str) -> Option<String> {
    let t: jiff::Timestamp = stamp.parse().ok()?;
    Some(t.strftime("%Y-%m-%dT%H:%M:%S").to_string())
}

/// A response's answers to one question, as given.
fn answers(answer: &Value) -> Vec<String> {
    answer["textAnswers"]["answers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["value"].as_str().map(str::to_string))
        .collect()
}

/// The canonical value of the answers to a question of conversion `conv`.
fn canonical_of(conv: &Conv, values: &[String]) -> Option<String> {
    let clean: Vec<String> = values
        .iter()
        .map(|v| v.replace('\0', "").trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if clean.is_empty() {
        return None;
    }
    match conv {
        Conv::List => canonical::join_list(clean.iter().map(String::as_str)),
        Conv::Number => {
            let s = clean.join(" ");
            canonical::number(&s.replace([' ', '\u{a0}'], "").replace(',', ".")).or(Some(s))
        }
        _ => Some(clean.join(", ")),
    }
}

/// A response as an intake record (`None`: no `responseId`). Questions whose title the table
/// does not map are left out; answers lose NUL bytes (the note's YAML cannot hold them).
pub fn record(
    response: &Value,
    questions: &BTreeMap<String, String>,
    map: &[Mapped],
) -> Option<RemoteRecord> {
    let id = response["responseId"].as_str().filter(|s| !s.is_empty())?;
    let mut fields = BTreeMap::new();
    if let Some(given) = response["answers"].as_object() {
        for (qid, answer) in given {
            let Some(title) = questions.get(qid) else {
                continue;
            };
            let Some(m) = map.iter().find(|m| &m.title == title) else {
                continue;
            };
            if let Some(v) = canonical_of(&m.conv, &answers(answer)) {
                fields.insert(m.key.clone(), v);
            }
        }
    }
    let created = response["createTime"].as_str().unwrap_or_default();
    if let Some(t) = datetime(created) {
        fields.insert(SUBMITTED.into(), t);
    }
    fields.insert(STATUS.into(), NEW.into());
    let modified_ms = response["lastSubmittedTime"]
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond());
    let who = fields
        .get("contact_name")
        .or_else(|| fields.get("company"))
        .map(|s| s.chars().take(80).collect::<String>());
    let title = who.map(|w| format!("Intake {w}"));
    Some(RemoteRecord {
        note_type: NOTE_TYPE.into(),
        id: id.to_string(),
        ssot_id: None,
        fields,
        title,
        modified_ms,
        archived: false,
        sections: BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_response_becomes_an_intake_record() {
        let cfg = FormsConfig::default();
        let map = build(&cfg, &Schema::builtin());
        assert!(
            map.iter()
                .any(|m| m.key == "skills_required" && m.conv == Conv::List)
        );
        let questions: BTreeMap<String, String> = [
            ("q1".to_string(), "Contact name".to_string()),
            ("q2".into(), "Skills required".into()),
            ("q3".into(), "Budget".into()),
            ("q9".into(), "Unmapped".into()),
        ]
        .into();
        let r = json!({
            "responseId": "R1",
            "createTime": "2026-11-30T10:00:00.123Z",
            "lastSubmittedTime": "2026-11-30T10:05:00.000Z",
            "answers": {
                "q1": {"textAnswers": {"answers": [{"value": "Ola\u{0}"}]}},
                "q2": {"textAnswers": {"answers": [{"value": "VAT"}, {"value": "Audit"}]}},
                "q3": {"textAnswers": {"answers": [{"value": "1 500"}]}},
                "q9": {"textAnswers": {"answers": [{"value": "x"}]}}
            }
        });
        let rec = record(&r, &questions, &map).unwrap();
        assert_eq!(rec.id, "R1");
        assert_eq!(rec.fields["contact_name"], "Ola");
        assert_eq!(rec.fields["skills_required"], "VAT;Audit");
        assert_eq!(rec.fields["budget"], "1500");
        assert_eq!(rec.fields["submitted"], "2026-11-30T10:00:00");
        assert_eq!(rec.fields["status"], "new");
        assert_eq!(rec.fields.len(), 5);
        assert_eq!(rec.title.as_deref(), Some("Intake Ola"));
        assert!(record(&json!({}), &questions, &map).is_none());
    }
}
