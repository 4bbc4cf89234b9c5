//! The Forms emulator's data model: forms with their questions, who each is shared with and the
//! responses submitted to them, persisted under `forms` in the sandbox's state file; and how a
//! form and a response are shown in the API's JSON (`Form`, `FormResponse`).
//!
//! Times are epoch milliseconds of the sandbox clock, shown as RFC 3339 UTC with milliseconds
//! (`2024-03-05T10:11:12.345Z`). Every submission and every edit takes the next sequence number,
//! which orders responses last submitted in the same millisecond.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Every form the emulator holds.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FormsData {
    /// Forms by id.
    pub forms: BTreeMap<String, Form>,
    /// The sequence number of the last submission or edit.
    pub last_seq: u64,
}

/// A form.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Form {
    /// Its id (as in its edit URL).
    pub id: String,
    /// The title respondents see (`info.title`).
    pub title: String,
    /// The title of the document in Drive (`info.documentTitle`).
    pub document_title: String,
    /// Its description (`info.description`; empty: none).
    pub description: String,
    /// The e-mail addresses it is shared with (a service account's `client_email` among them).
    pub shared_with: Vec<String>,
    /// Its questions, in order.
    pub questions: Vec<Question>,
    /// Its responses, in the order they were first submitted.
    pub responses: Vec<FormResponse>,
}

impl Form {
    /// The question a key names: its `questionId`, else its title (exact, then ignoring case).
    pub fn question(&self, key: &str) -> Option<&Question> {
        self.questions
            .iter()
            .find(|q| q.question_id == key)
            .or_else(|| self.questions.iter().find(|q| q.title == key))
            .or_else(|| {
                self.questions
                    .iter()
                    .find(|q| q.title.to_lowercase() == key.to_lowercase())
            })
    }

    /// `revisionId`: changes with the questions only, as Google's does.
    pub fn revision_id(&self) -> String {
        format!("{:08x}", self.questions.len())
    }

    /// The form as `forms.get` answers it.
    pub fn to_json(&self) -> Value {
        let mut info = Map::new();
        info.insert("title".into(), json!(self.title));
        info.insert("documentTitle".into(), json!(self.document_title));
        if !self.description.is_empty() {
            info.insert("description".into(), json!(self.description));
        }
        json!({
            "formId": self.id,
            "info": info,
            "revisionId": self.revision_id(),
            "responderUri": format!("https://docs.google.com/forms/d/e/{}/viewform", self.id),
            "items": self.questions.iter().map(Question::to_json).collect::<Vec<_>>(),
        })
    }
}

/// What kind of question, as the API's `Question` shapes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QuestionKind {
    /// `textQuestion`: a short answer, or a paragraph.
    Text {
        /// A paragraph rather than one line.
        paragraph: bool,
    },
    /// `choiceQuestion`: `RADIO`, `CHECKBOX` (several answers) or `DROP_DOWN`.
    Choice {
        /// `RADIO`, `CHECKBOX` or `DROP_DOWN`.
        choice_type: String,
        /// The options' values.
        options: Vec<String>,
    },
    /// `dateQuestion` (answers `YYYY-MM-DD`).
    Date {
        /// With a time of day.
        include_time: bool,
        /// With the year.
        include_year: bool,
    },
}

/// A question (an item holding a `questionItem`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Question {
    /// `itemId`.
    pub item_id: String,
    /// `questionId`, the key of its answers.
    pub question_id: String,
    /// The item's title, as the respondent reads it.
    pub title: String,
    /// Whether a response must answer it.
    pub required: bool,
    /// Its kind.
    pub kind: QuestionKind,
}

impl Question {
    /// Whether a response may give it several answers (checkboxes).
    pub fn multiple(&self) -> bool {
        matches!(&self.kind, QuestionKind::Choice { choice_type, .. } if choice_type == "CHECKBOX")
    }

    /// The item as `forms.get` lists it (false booleans left out, as Google leaves them out).
    pub fn to_json(&self) -> Value {
        let mut question = Map::new();
        question.insert("questionId".into(), json!(self.question_id));
        if self.required {
            question.insert("required".into(), json!(true));
        }
        match &self.kind {
            QuestionKind::Text { paragraph } => {
                let mut t = Map::new();
                if *paragraph {
                    t.insert("paragraph".into(), json!(true));
                }
                question.insert("textQuestion".into(), Value::Object(t));
            }
            QuestionKind::Choice {
                choice_type,
                options,
            } => {
                question.insert(
                    "choiceQuestion".into(),
                    json!({
                        "type": choice_type,
                        "options": options.iter().map(|o| json!({"value": o})).collect::<Vec<_>>(),
                    }),
                );
            }
            QuestionKind::Date {
                include_time,
                include_year,
            } => {
                let mut d = Map::new();
                if *include_time {
                    d.insert("includeTime".into(), json!(true));
                }
                if *include_year {
                    d.insert("includeYear".into(), json!(true));
                }
                question.insert("dateQuestion".into(), Value::Object(d));
            }
        }
        json!({
            "itemId": self.item_id,
            "title": self.title,
            "questionItem": {"question": question},
        })
    }
}

/// A response to a form.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FormResponse {
    /// `responseId` (stable across edits).
    pub response_id: String,
    /// When it was first submitted (epoch ms).
    pub create_ms: i64,
    /// When it was last submitted (epoch ms).
    pub last_submitted_ms: i64,
    /// The sequence number of its last submission (orders equal times).
    pub seq: u64,
    /// The respondent's e-mail, when the form collected it.
    pub respondent_email: Option<String>,
    /// Answers by `questionId`: the values as given (several for checkboxes).
    pub answers: BTreeMap<String, Vec<String>>,
}

/// An epoch-ms time as Google shows it: RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

impl FormResponse {
    /// The sort key of `responses.list`: last submitted time, then submission order.
    pub fn key(&self) -> (i64, u64) {
        (self.last_submitted_ms, self.seq)
    }

    /// The response as `responses.get` answers it (`formId` included).
    pub fn to_json(&self, form_id: &str) -> Value {
        let mut v = json!({
            "formId": form_id,
            "responseId": self.response_id,
            "createTime": rfc3339(self.create_ms),
            "lastSubmittedTime": rfc3339(self.last_submitted_ms),
        });
        if let Some(e) = &self.respondent_email {
            v["respondentEmail"] = json!(e);
        }
        if !self.answers.is_empty() {
            v["answers"] = Value::Object(
                self.answers
                    .iter()
                    .map(|(qid, values)| {
                        (
                            qid.clone(),
                            json!({
                                "questionId": qid,
                                "textAnswers": {
                                    "answers": values.iter().map(|a| json!({"value": a})).collect::<Vec<_>>(),
                                },
                            }),
                        )
                    })
                    .collect(),
            );
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_with_millis() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_412_262_083_045), "2014-10-02T15:01:23.045Z");
    }
}
