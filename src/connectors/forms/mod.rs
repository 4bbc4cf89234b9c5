//! Google Forms: the intake form's responses become intake notes, append-only and read-only.
//!
//! Each run reads `responses.list` with `filter=timestamp >= T`, T the newest
//! `lastSubmittedTime` it saw (kept in the engine's cursor, so it moves only once the run's notes
//! are safe), a page at a time: one request per poll when nothing is new. The question ids come
//! from one `forms.get`, cached in the connector's state (read again when a response answers a
//! question the cache does not know, or the form changes). Each response is an intake record
//! (see [`mapping`]): its answers by question title, `submitted` (its `createTime`) and
//! `status: new`; its `responseId` is the note's `form_response_id`, the record's identity, so a
//! response read twice (after a crash, after `.ssot/` is lost and everything is read again)
//! matches its note instead of making another. An edited response (same id, newer time) is
//! read again and merged into its note three-way like any pull.
//!
//! The connector never writes to Forms. A note's own change to a field (an intake accepted, an
//! answer corrected) stays in the note: the connector keeps it in its state ([`Kept`]) and reads
//! the response with it until the respondent answers that question anew, so the change is
//! neither undone nor sent. An intake note made in the vault has no response and is refused;
//! a deleted note never removes a response.

pub mod client;
pub mod config;
pub mod helpdesk;
pub mod mapping;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::connectors::google::{FORMS_BODY_SCOPE, FORMS_RESPONSES_SCOPE, sign_in};
use crate::connectors::{
    Binding, Connector, ConnectorError, Health, HttpStats, Pulled, RemoteRecord, Secret, Upsert,
    WriteOutcome,
};
use crate::secrets::CredentialSource;
use crate::vault::schema::Schema;

pub use config::{FormsConfig, ID_KEY, NAME, NOTE_TYPE};

use client::Client;
use mapping::Mapped;

/// What the connector keeps between runs: the form's question ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormsState {
    /// The form they belong to.
    #[serde(default)]
    pub form: String,
    /// Question id → title.
    #[serde(default)]
    pub questions: BTreeMap<String, String>,
    /// The notes' own values of fields the engine would have written to a response (an intake
    /// accepted, a field corrected in the vault): response id → key → what the form answered
    /// then and the note's value. The response is read with the note's value while the form's
    /// answer stays what it was; a newer answer in the form replaces it.
    #[serde(default)]
    pub kept: BTreeMap<String, BTreeMap<String, Kept>>,
}

/// A note's own value of a field, kept over the form's answer (see [`FormsState::kept`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// The form's answer when the note's value was kept.
    pub answer: Option<String>,
    /// The note's value.
    pub note: Option<String>,
}

/// The Google Forms connector.
#[derive(Debug)]
pub struct Forms {
    cfg: FormsConfig,
    map: Vec<Mapped>,
    bindings: Vec<Binding>,
    credential: Secret,
    client: Option<Client>,
    state: FormsState,
    source: Option<CredentialSource>,
    /// `forms.get` made this run (the cache is read at most once more per run).
    form_read: bool,
    /// The form's answers of the responses read this run (before kept values), by response id.
    seen: BTreeMap<String, BTreeMap<String, String>>,
}

impl Forms {
    /// A connector from its configuration and credential (the key file's contents or path);
    /// the key is read at the first request.
    pub fn new(cfg: FormsConfig, schema: &Schema, credential: Secret) -> Forms {
        let map = mapping::build(&cfg, schema);
        let bindings = vec![mapping::binding(&map)];
        Forms {
            cfg,
            map,
            bindings,
            credential,
            client: None,
            state: FormsState::default(),
            source: None,
            form_read: false,
            seen: BTreeMap::new(),
        }
    }

    /// Records where the credential came from.
    pub fn with_source(mut self, source: CredentialSource) -> Forms {
        self.source = Some(source);
        self
    }

    /// Where the credential came from, when known.
    pub fn credential_source(&self) -> Option<&CredentialSource> {
        self.source.as_ref()
    }

    /// The connector's state (for tests).
    pub fn state(&self) -> &FormsState {
        &self.state
    }

    fn config_error(&self, message: impl Into<String>) -> ConnectorError {
        ConnectorError::Config {
            service: NAME.into(),
            message: message.into(),
        }
    }

    /// The form's id, or why there is none.
    fn form_id(&self) -> Result<String, ConnectorError> {
        let id = self.cfg.intake_form.trim();
        if id.is_empty() {
            return Err(self.config_error(
                "set `intake_form` in [remotes.forms] to the form's id (the part of its edit URL between /d/ and /edit)",
            ));
        }
        Ok(id.to_string())
    }

    /// The API client, signing in with the key file at the first call.
    fn client(&mut self) -> Result<&Client, ConnectorError> {
        if self.client.is_none() {
            let google = sign_in(
                NAME,
                &self.cfg.base_url,
                &self.cfg.shared.http,
                &self.credential,
                self.source.as_ref(),
                &[FORMS_BODY_SCOPE, FORMS_RESPONSES_SCOPE],
            )?;
            self.client = Some(Client { google });
        }
        self.client
            .as_ref()
            .ok_or_else(|| self.config_error("no client"))
    }

    /// Reads the form's questions (`forms.get`) into the state.
    async fn read_questions(&mut self) -> Result<Value, ConnectorError> {
        let form_id = self.form_id()?;
        let form = self.client()?.form(&form_id).await?;
        self.state.form = form_id;
        self.state.questions = mapping::question_ids(&form);
        self.form_read = true;
        Ok(form)
    }

    /// Makes sure the question ids are known for this form.
    async fn ensure_questions(&mut self) -> Result<(), ConnectorError> {
        let form_id = self.form_id()?;
        if self.state.form != form_id || self.state.questions.is_empty() {
            self.read_questions().await?;
        }
        Ok(())
    }

    /// Whether a response answers a question the cache does not know.
    fn unknown_question(&self, response: &Value) -> bool {
        response["answers"]
            .as_object()
            .is_some_and(|a| a.keys().any(|q| !self.state.questions.contains_key(q)))
    }

    /// The records of responses, each with the notes' kept values over answers unchanged since.
    fn records_of(&mut self, responses: &[Value]) -> Vec<RemoteRecord> {
        let mut out = Vec::new();
        for r in responses {
            let Some(mut rec) = mapping::record(r, &self.state.questions, &self.map) else {
                continue;
            };
            self.seen.insert(rec.id.clone(), rec.fields.clone());
            if let Some(kept) = self.state.kept.get_mut(&rec.id) {
                kept.retain(|key, k| {
                    let answer = rec.fields.get(key);
                    if answer != k.answer.as_ref() {
                        // Answered anew in the form since: the form's answer is read.
                        return false;
                    }
                    match &k.note {
                        Some(v) => rec.fields.insert(key.clone(), v.clone()),
                        None => rec.fields.remove(key),
                    };
                    true
                });
                if kept.is_empty() {
                    self.state.kept.remove(&rec.id);
                }
            }
            out.push(rec);
        }
        out
    }

    /// Reads the questions again when a response names one the cache lacks (once a run).
    async fn refresh_for(&mut self, responses: &[Value]) -> Result<(), ConnectorError> {
        if !self.form_read && responses.iter().any(|r| self.unknown_question(r)) {
            self.read_questions().await?;
        }
        Ok(())
    }
}

impl Forms {
    /// Reads the helpdesk form's new responses (`responses.list` since the newest time read
    /// before: one request when nothing is new) and files them in the vault's tickets (see
    /// [`helpdesk`]); nothing without `helpdesk_form`. Its state (`.ssot/forms/helpdesk.json`)
    /// is saved once the messages are written and committed.
    pub async fn file_helpdesk(
        &mut self,
        root: &std::path::Path,
        config: &crate::config::Config,
    ) -> Result<helpdesk::Filed, ConnectorError> {
        let form_id = self.cfg.helpdesk_form.trim().to_string();
        if form_id.is_empty() {
            return Ok(helpdesk::Filed::default());
        }
        let dir = root.join(crate::sync::state::DIR).join(NAME);
        let mut st = helpdesk::load_state(&dir);
        if st.form != form_id {
            st = helpdesk::HelpdeskState {
                form: form_id.clone(),
                ..helpdesk::HelpdeskState::default()
            };
        }
        let mut form_read = false;
        if st.questions.is_empty() {
            let form = self.client()?.form(&form_id).await?;
            st.questions = mapping::question_ids(&form);
            form_read = true;
        }
        let mut newest = st.since.clone();
        let mut raw: Vec<Value> = Vec::new();
        let mut token: Option<String> = None;
        let page_size = self.cfg.page_size;
        loop {
            let page = self
                .client()?
                .responses(&form_id, st.since.as_deref(), page_size, token.as_deref())
                .await?;
            for r in &page.responses {
                newest = later(newest, r["lastSubmittedTime"].as_str());
            }
            raw.extend(page.responses);
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        if !form_read
            && raw
                .iter()
                .any(|r| helpdesk::unknown_question(r, &st.questions))
        {
            let form = self.client()?.form(&form_id).await?;
            st.questions = mapping::question_ids(&form);
        }
        let table = self.cfg.helpdesk_table();
        let responses: Vec<helpdesk::Response> = raw
            .iter()
            .filter_map(|r| helpdesk::response(r, &st.questions, &table))
            .collect();
        let filed =
            helpdesk::file(root, config, &self.cfg, &responses, &mut st.reported).map_err(|e| {
                ConnectorError::Protocol {
                    service: NAME.into(),
                    message: format!("filing the helpdesk responses: {e}"),
                }
            })?;
        st.since = newest;
        helpdesk::save_state(&dir, &st).map_err(|e| ConnectorError::Protocol {
            service: NAME.into(),
            message: format!("saving the helpdesk state: {e}"),
        })?;
        Ok(filed)
    }
}

impl Forms {
    /// The helpdesk form as `doctor` reports it (empty without `helpdesk_form`): its title, and
    /// the roles whose question it lacks (a missing `project`, `party` or `message` makes
    /// every response unfileable).
    async fn helpdesk_health(&mut self) -> Result<String, ConnectorError> {
        let form_id = self.cfg.helpdesk_form.trim().to_string();
        if form_id.is_empty() {
            return Ok(String::new());
        }
        let form = self.client()?.form(&form_id).await?;
        let title = form["info"]["title"]
            .as_str()
            .or_else(|| form["info"]["documentTitle"].as_str())
            .unwrap_or("?");
        let questions = mapping::question_ids(&form);
        let titles: Vec<&String> = questions.values().collect();
        let table = self.cfg.helpdesk_table();
        let missing: Vec<&str> = ["project", "party", "message"]
            .into_iter()
            .filter(|role| !table.iter().any(|(t, r)| r == role && titles.contains(&t)))
            .collect();
        Ok(format!(
            "; helpdesk form `{title}` ({} questions){}",
            questions.len(),
            if missing.is_empty() {
                String::new()
            } else {
                format!(
                    " (no question for: {}; see [remotes.forms.helpdesk_questions])",
                    missing.join(", ")
                )
            }
        ))
    }
}

/// The later of two RFC 3339 times (`None` when neither parses).
fn later(a: Option<String>, b: Option<&str>) -> Option<String> {
    let parse = |s: &str| s.parse::<jiff::Timestamp>().ok();
    match (a, b) {
        (Some(a), Some(b)) => match (parse(&a), parse(b)) {
            (Some(x), Some(y)) if y > x => Some(b.to_string()),
            (None, Some(_)) => Some(b.to_string()),
            _ => Some(a),
        },
        (None, Some(b)) => parse(b).map(|_| b.to_string()),
        (a, None) => a,
    }
}

impl Connector for Forms {
    fn name(&self) -> &str {
        NAME
    }

    fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    fn load_state(&mut self, state: Value) {
        self.state = serde_json::from_value(state).unwrap_or_default();
    }

    fn save_state(&self) -> Value {
        serde_json::to_value(&self.state).unwrap_or(Value::Null)
    }

    async fn pull(&mut self, cursor: Option<&Value>) -> Result<Pulled, ConnectorError> {
        self.ensure_questions().await?;
        let form_id = self.form_id()?;
        let since = cursor.and_then(|c| c["since"].as_str()).map(str::to_string);
        let mut newest = since.clone();
        let mut by_id: BTreeMap<String, RemoteRecord> = BTreeMap::new();
        let mut token: Option<String> = None;
        let page_size = self.cfg.page_size;
        loop {
            let page = self
                .client()?
                .responses(&form_id, since.as_deref(), page_size, token.as_deref())
                .await?;
            self.refresh_for(&page.responses).await?;
            for r in &page.responses {
                newest = later(newest, r["lastSubmittedTime"].as_str());
            }
            for rec in self.records_of(&page.responses) {
                by_id.insert(rec.id.clone(), rec);
            }
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(Pulled {
            records: by_id.into_values().collect(),
            cursor: json!({ "since": newest }),
            full: since.is_none(),
        })
    }

    async fn fetch(
        &mut self,
        note_type: &str,
        ids: &[String],
    ) -> Result<Vec<RemoteRecord>, ConnectorError> {
        if note_type != NOTE_TYPE || ids.is_empty() {
            return Ok(Vec::new());
        }
        self.ensure_questions().await?;
        let form_id = self.form_id()?;
        let mut found = Vec::new();
        for id in ids {
            if let Some(r) = self.client()?.response(&form_id, id).await? {
                found.push(r);
            }
        }
        self.refresh_for(&found).await?;
        Ok(self.records_of(&found))
    }

    async fn archived(
        &mut self,
        _note_type: &str,
        _ids: &[String],
    ) -> Result<Vec<String>, ConnectorError> {
        Ok(Vec::new())
    }

    fn push_chunk(&self) -> usize {
        100
    }

    /// A response holds no `ssot_id` (nothing is ever written to the form).
    fn records_hold_ssot_id(&self) -> bool {
        false
    }

    async fn upsert(
        &mut self,
        _run_id: &str,
        batch: &[Upsert],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        // The form's current answers of the responses not read this run.
        let unseen: Vec<String> = batch
            .iter()
            .filter_map(|u| u.remote_id.clone())
            .filter(|id| !self.seen.contains_key(id))
            .collect();
        if !unseen.is_empty() {
            self.fetch(NOTE_TYPE, &unseen).await?;
        }
        let mut out = Vec::new();
        for u in batch {
            let answers = u.remote_id.as_ref().and_then(|id| self.seen.get(id));
            let (Some(id), Some(answers)) = (&u.remote_id, answers) else {
                // A note made in the vault (no response), or a response gone from the form.
                out.push(WriteOutcome::Refused {
                    ssot_id: u.ssot_id.clone(),
                    message: "Google Forms is read-only: an intake note made in the vault stays in the vault, no response is made".into(),
                });
                continue;
            };
            // Nothing is sent: the note's values are kept over the form's current answers.
            let answers = answers.clone();
            let kept = self.state.kept.entry(id.clone()).or_default();
            for (key, value) in &u.fields {
                let answer = answers.get(key).cloned();
                if *value == answer {
                    kept.remove(key);
                } else {
                    kept.insert(
                        key.clone(),
                        Kept {
                            answer,
                            note: value.clone(),
                        },
                    );
                }
            }
            if kept.is_empty() {
                self.state.kept.remove(id);
            }
            out.push(WriteOutcome::Written {
                ssot_id: u.ssot_id.clone(),
                remote_id: id.clone(),
                created: false,
                fields: None,
            });
        }
        Ok(out)
    }

    async fn archive(&mut self, _note_type: &str, ids: &[String]) -> Result<(), ConnectorError> {
        if !ids.is_empty() {
            tracing::info!(
                count = ids.len(),
                "forms: responses are never deleted; the notes' deletion stays in the vault"
            );
        }
        Ok(())
    }

    async fn healthcheck(&mut self) -> Result<Health, ConnectorError> {
        let form = self.read_questions().await?;
        let title = form["info"]["title"]
            .as_str()
            .or_else(|| form["info"]["documentTitle"].as_str())
            .unwrap_or("?")
            .to_string();
        let titles: Vec<&String> = self.state.questions.values().collect();
        let unmapped: Vec<&str> = self
            .map
            .iter()
            .filter(|m| !titles.contains(&&m.title))
            .map(|m| m.title.as_str())
            .collect();
        Ok(Health {
            detail: format!(
                "Google Forms at {}: service account accepted, form `{title}` ({} questions){}",
                self.cfg.base_url,
                self.state.questions.len(),
                if unmapped.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (mapped questions not on the form: {})",
                        unmapped.join(", ")
                    )
                }
            ) + &self.helpdesk_health().await?,
        })
    }

    fn stats(&self) -> HttpStats {
        self.client
            .as_ref()
            .map(|c| c.google.stats())
            .unwrap_or_default()
    }
}
