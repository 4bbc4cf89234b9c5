//! The Jira Cloud connector: each project note is an issue (of `issue_type`, default Epic) in the
//! configured Jira project; an expert's `jira_account_id` is the issue's assignee. [`adf`] converts
//! a note's markdown to and from the Atlassian Document Format v3 takes for descriptions and
//! comments.
//!
//! - **Identity.** Every issue we create carries the label `ssot-<ssot_id>`. Jira has no
//!   idempotent create, so a create is never replayed blindly: before each bulk create the
//!   connector searches the project for the labels of the notes it is about to create, and an
//!   issue found is updated instead; a bulk create whose answer is lost (a dropped connection, a
//!   5xx) is followed by the same search before anything is sent again. A crash between a create
//!   and the note's `jira_key` therefore never duplicates an issue.
//! - **Writes.** Creates go by `POST /issue/bulk` (50 a request; an issue Jira refuses is
//!   [`WriteOutcome::Refused`] for its note only); edits by `PUT /issue/{key}`. A status is moved
//!   by the workflow's transitions: the one leading to the mapped status, or two steps when there
//!   is no direct one; a status already reached costs no request. The workflow's edges seen are
//!   remembered in the connector's state to choose the middle step.
//! - **Refused moves.** A write carrying a [`Upsert::notice`] (a status moved in Jira that the
//!   vault's lifecycle refuses, moved back by this write) adds it to the issue as a comment.
//! - **Who changed it.** The change feed asks for each issue's changelog; the author of its
//!   newest entry is [`Connector::changed_by`], the author of the pull commit.
//! - **Deletes.** A project's issue is deleted with its children (the expert's task) and their
//!   subtasks, children first (`DELETE /issue/{key}?deleteSubtasks=true`).
//! - **Change feed.** `POST /search/jql` with `project = KEY AND updated >= "yyyy-MM-dd HH:mm"`
//!   from when the last read started minus `overlap_minutes` (JQL has minute precision), paged by
//!   `nextPageToken`, asking only for the mapped fields. Issues deleted in Jira are found by a
//!   bulk fetch of the known keys ([`Connector::archived`]).
//! - **Settle read.** That read would find a run's own writes again (they are newer than its
//!   start). So a run that wrote settles ([`Connector::settle_at`]): the client dates each write
//!   by its answer's `Date` (Jira's clock; a bulk transition by the poll saying its task ended),
//!   and once the minute of the last one has ended on Jira's clock and `settle_lag_seconds` have
//!   passed, the engine reads again ([`Connector::settle_pull`]); that read's cursor is its own
//!   start on Jira's clock less the lag only, and the engine keeps it only when the read found
//!   nothing that differs from what the run left.
//! - **Which issues are records.** Those with an `ssot-` label, and those of `issue_type` in the
//!   project (made in Jira: they become project notes when `pull_new` is on and they carry what
//!   a project note needs).
//! - **Actions** ([`Connector::act`]): `Transition` to a lifecycle step mapped to a status
//!   (`[remotes.jira.transitions]`), `Delete` with children, `CreateChild` (a task under the
//!   issue labelled `ssot-<ssot_id>-<kind>`, made once, assigned to the link's account), `Grant`
//!   and `Revoke` (the link's account as assignee and as an actor of `grant_role`); the engine
//!   hands the note's links resolved to Jira accounts in [`RemoteAction::links`].
//! - **Experts.** A second binding makes expert notes link targets only
//!   ([`Binding::link_target_only`]): the engine resolves a project's `expert` to the expert
//!   note's `jira_account_id`, which becomes the assignee. Experts are never created in or pulled
//!   from Jira.

mod actions;
pub mod adf;
pub mod client;
pub mod config;
pub mod mapping;

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::connectors::http::{Http, HttpConfig, HttpError, HttpStats, Secret};
use crate::connectors::{
    ActionOp, ActionOutcome, Binding, Connector, ConnectorError, Health, Pacing, Pulled,
    RemoteAction, RemoteRecord, Settle, Upsert, WriteOutcome,
};
use crate::secrets::CredentialSource;
use crate::vault::schema::Schema;

use actions::Moved;
use client::{Client, MAX_CREATE, MAX_FETCH, error_message};
pub use config::{ACCOUNT_KEY, ID_KEY, JiraConfig, NAME};
use mapping::{FieldMap, PROJECT, Target};

/// The label prefix carrying a note's `ssot_id`.
pub const LABEL_PREFIX: &str = "ssot-";

/// What the connector remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JiraState {
    /// Custom field ids by the names the mapping gives.
    pub fields: BTreeMap<String, String>,
    /// The workflow's edges seen: status name → [(transition id, target status name)].
    pub edges: BTreeMap<String, Vec<(String, String)>>,
    /// The status a new issue of `issue_type` starts in, as last seen on one just created.
    pub initial_status: Option<String>,
}

/// A custom field the mapping names, as the site has it ([`Jira::custom_fields`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldStatus {
    /// The site has it: its id.
    Found(String),
    /// Created now: its id.
    Created(String),
    /// The site lacks it (the type it would be created with).
    Missing(&'static str),
    /// It could not be created: why.
    Refused(String),
}

/// The cursor: when the last read started (epoch ms). The next read asks for the issues updated
/// from `margin_ms` before it (JQL minutes), so a change the search had not indexed yet is read
/// then; an issue written last is read again only while it is that recent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JiraCursor {
    /// When the last read started: this machine's clock (`overlap_minutes` also covers a small
    /// difference from Jira's), or Jira's after a settle read.
    pub updated_ms: i64,
    /// How far before `updated_ms` the next read starts, ms: a settle read's is the search's lag
    /// (`settle_lag_seconds`, on Jira's clock); absent (cursors of other reads, and of states
    /// written before settle reads existed): `overlap_minutes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_ms: Option<i64>,
}

/// The connector.
#[derive(Debug)]
pub struct Jira {
    cfg: JiraConfig,
    client: Client,
    maps: Vec<FieldMap>,
    bindings: Vec<Binding>,
    state: JiraState,
    /// The account's email was found (else every call says how to give it).
    has_email: bool,
    /// `GET /field` was read this run.
    fields_read: bool,
    /// This run's read listed every issue of the project (no cursor): a note it found no issue
    /// for has none, unless an interrupted run's create landed after ([`Upsert::maybe_created`]).
    full_read: bool,
    /// Who last changed each issue pulled this run (its changelog): key → (name, email).
    authors: BTreeMap<String, usize>,
    /// The people of `authors`, each once (most issues share a few authors), and where each is.
    people: Vec<(String, String)>,
    person: BTreeMap<(String, String), usize>,
    source: Option<CredentialSource>,
}

/// The `ssot_id` a label carries (`ssot-<ULID>`; a child task's `ssot-<ULID>-task` is none).
pub fn ssot_of_label(label: &str) -> Option<&str> {
    let id = label.strip_prefix(LABEL_PREFIX)?;
    (id.len() == 26 && id.chars().all(|c| c.is_ascii_alphanumeric())).then_some(id)
}

/// Epoch ms of a Jira timestamp (`2024-01-15T10:30:00.000+0000`).
pub fn parse_time(s: &str) -> Option<i64> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(t) = jiff::fmt::strtime::parse(fmt, s).and_then(|b| b.to_timestamp()) {
            return Some(t.as_millisecond());
        }
    }
    None
}

/// A JQL date (`yyyy-MM-dd HH:mm`, UTC) of the minute holding `ms`.
pub fn jql_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| "1970-01-01 00:00".into())
}

/// Whole seconds in ms (saturating).
fn secs_ms(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1_000)).unwrap_or(i64::MAX)
}

/// A JQL string literal.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Jira {
    /// A connector from its configuration, the account's email (`None`: not configured) and
    /// API token.
    pub fn new(
        cfg: JiraConfig,
        schema: &Schema,
        email: Option<String>,
        token: Secret,
    ) -> Result<Jira, ConnectorError> {
        let mut http = HttpConfig::new(NAME, &cfg.base_url).with_settings(&cfg.shared.http);
        let has_email = email.is_some();
        http.basic = Some((email.unwrap_or_default(), token));
        let maps = mapping::build(&cfg, schema);
        let bindings = mapping::bindings(&cfg, &maps);
        Ok(Jira {
            client: Client::new(Http::new(http)?),
            cfg,
            maps,
            bindings,
            state: JiraState::default(),
            has_email,
            fields_read: false,
            full_read: false,
            authors: BTreeMap::new(),
            people: Vec::new(),
            person: BTreeMap::new(),
            source: None,
        })
    }

    /// Where the token came from, when known.
    pub fn credential_source(&self) -> Option<&CredentialSource> {
        self.source.as_ref()
    }

    /// Records where the token came from (named when Jira refuses it).
    pub fn with_source(mut self, source: CredentialSource) -> Jira {
        self.source = Some(source);
        self
    }

    fn proto(&self, message: impl Into<String>) -> ConnectorError {
        ConnectorError::Protocol {
            service: NAME.into(),
            message: message.into(),
        }
    }

    fn ready(&self) -> Result<(), ConnectorError> {
        if self.has_email {
            Ok(())
        } else {
            Err(ConnectorError::Config {
                service: NAME.into(),
                message: format!(
                    "no account email: set `email` in [remotes.jira] or the environment variable {}",
                    self.cfg.email_env
                ),
            })
        }
    }

    /// The id of a mapped custom field (`None` for other targets or one not resolved).
    fn custom_id(&self, m: &FieldMap) -> Option<String> {
        match &m.target {
            Target::Custom(c) if c.starts_with("customfield_") => Some(c.clone()),
            Target::Custom(name) => self.state.fields.get(name).cloned(),
            _ => None,
        }
    }

    /// Looks up the custom fields the mapping names by name (once per run, when one is not
    /// known); a write (`create`) creates those the site does not have, a read leaves them
    /// unresolved (their keys read empty), so that `--dry-run` changes nothing in Jira.
    async fn ensure_fields(&mut self, create: bool) -> Result<(), ConnectorError> {
        let wanted = mapping::custom_names(&self.maps);
        if wanted
            .iter()
            .all(|(n, _)| self.state.fields.contains_key(n))
        {
            return Ok(());
        }
        if !self.fields_read {
            let all = self.client.fields().await?;
            for (name, _) in &wanted {
                if let Some(f) = all.iter().find(|f| f.name.eq_ignore_ascii_case(name)) {
                    self.state.fields.insert(name.clone(), f.id.clone());
                }
            }
            self.fields_read = true;
        }
        for (name, kind) in wanted {
            if !create || self.state.fields.contains_key(&name) {
                continue;
            }
            let made = self.client.create_field(&name, kind).await.map_err(|e| {
                self.proto(format!(
                    "the custom field `{name}` is not in Jira and could not be created ({e}); create it (type {kind}) or map the key to an existing field"
                ))
            })?;
            tracing::info!(field = %name, id = %made.id, "custom field created");
            self.state.fields.insert(name, made.id);
        }
        Ok(())
    }

    /// The custom fields the mapping names (not by id), each as the site has it: found, created
    /// now (with `create`: `doctor --fix`; needs Jira administration rights) or missing.
    pub async fn custom_fields(
        &mut self,
        create: bool,
    ) -> Result<Vec<(String, FieldStatus)>, ConnectorError> {
        self.ready()?;
        self.state.fields.clear();
        self.fields_read = false;
        self.ensure_fields(false).await?;
        let mut out = Vec::new();
        for (name, kind) in mapping::custom_names(&self.maps) {
            let status = match self.state.fields.get(&name) {
                Some(id) => FieldStatus::Found(id.clone()),
                None if create => match self.client.create_field(&name, kind).await {
                    Ok(f) => {
                        self.state.fields.insert(name.clone(), f.id.clone());
                        FieldStatus::Created(f.id)
                    }
                    Err(e) => FieldStatus::Refused(format!(
                        "{e}; create it (type {kind}) or map the key to an existing field"
                    )),
                },
                None => FieldStatus::Missing(kind),
            };
            out.push((name, status));
        }
        Ok(out)
    }

    /// The fields a read asks for.
    fn read_fields(&self) -> Vec<String> {
        let mut out: Vec<String> = ["summary", "status", "labels", "issuetype", "updated"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for m in &self.maps {
            if let Some(f) = m.target.read_field(self.custom_id(m).as_deref())
                && !out.contains(&f)
            {
                out.push(f);
            }
        }
        if mapping::description_heading(&self.cfg).is_some() {
            out.push("description".into());
        }
        out
    }

    /// An issue as the engine's record; `None` for an issue that is no project's (no `ssot-`
    /// label, another issue type) unless `any`.
    fn to_record(&self, issue: &Value, any: bool) -> Option<RemoteRecord> {
        let key = issue.get("key").and_then(Value::as_str)?.to_string();
        let empty = Map::new();
        let fields = issue
            .get("fields")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let ssot_id = fields
            .get("labels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find_map(ssot_of_label)
            .map(str::to_string);
        let of_type = fields
            .get("issuetype")
            .and_then(|t| t.get("name"))
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case(&self.cfg.issue_type));
        if !any && ssot_id.is_none() && !of_type {
            return None;
        }
        let mut out = BTreeMap::new();
        for m in &self.maps {
            if let Some(v) = mapping::read(m, fields, self.custom_id(m).as_deref()) {
                out.insert(m.spec.key.clone(), v);
            }
        }
        Some(RemoteRecord {
            note_type: PROJECT.into(),
            ssot_id,
            title: fields
                .get("summary")
                .and_then(Value::as_str)
                .map(str::to_string),
            modified_ms: fields
                .get("updated")
                .and_then(Value::as_str)
                .and_then(parse_time),
            archived: false,
            fields: out,
            sections: mapping::description_heading(&self.cfg)
                .map(|h| {
                    (
                        h.to_string(),
                        mapping::description_to_text(fields.get("description")),
                    )
                })
                .into_iter()
                .collect(),
            id: key,
        })
    }

    /// The change feed from `cursor` (`None`: every issue of the project). A settle read
    /// ([`Connector::settle_pull`]) hands each record to `settle` instead of keeping it, and
    /// stops (`None`) at the first one it refuses; its cursor is its own start on Jira's clock
    /// less the search's lag. Any other read's is its start on this machine's clock, the next
    /// read going back `overlap_minutes` from it.
    async fn read_changes(
        &mut self,
        cursor: Option<&Value>,
        mut settle: Option<&mut (dyn FnMut(&RemoteRecord) -> bool + Send)>,
    ) -> Result<Option<Pulled>, ConnectorError> {
        self.ready()?;
        self.ensure_fields(false).await?;
        let cursor: Option<JiraCursor> =
            cursor.and_then(|c| serde_json::from_value(c.clone()).ok());
        let overlap_ms =
            i64::try_from(self.cfg.overlap_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX);
        let mut jql = format!("project = {}", quoted(&self.cfg.project_key));
        self.full_read = cursor.is_none();
        if let Some(c) = &cursor {
            jql.push_str(&format!(
                " AND updated >= {}",
                quoted(&jql_time(
                    c.updated_ms
                        .saturating_sub(c.margin_ms.unwrap_or(overlap_ms).max(0))
                ))
            ));
        }
        jql.push_str(" ORDER BY updated ASC, key ASC");
        // Everything updated before this read started, less the search's lag, is seen by it:
        // the next read starts from here (less the overlap). Not from the newest `updated`
        // seen, which would read the issues last written again on every run.
        let started = jiff::Timestamp::now().as_millisecond();
        // A settle read's start on Jira's clock: at least this machine's plus the offset the last
        // `Date` gave (`ServerDate::offset_ms`); none known, it is a plain read.
        let settle_start = settle
            .is_some()
            .then(|| self.client.http.server_date())
            .flatten()
            .map(|d| started.saturating_add(d.offset_ms()));
        // Page by page: each page's issues (with their changelogs) are reduced to records and
        // dropped before the next is read.
        let fields = self.read_fields();
        let mut records: BTreeMap<String, RemoteRecord> = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .search(&jql, &fields, token.as_deref(), true)
                .await?;
            for issue in &page.issues {
                if let Some(r) = self.to_record(issue, false) {
                    if let Some(unchanged) = settle.as_deref_mut() {
                        if !unchanged(&r) {
                            return Ok(None);
                        }
                        continue;
                    }
                    if let Some(p) = last_author(issue) {
                        let i = match self.person.get(&p) {
                            Some(i) => *i,
                            None => {
                                self.people.push(p.clone());
                                self.person.insert(p, self.people.len() - 1);
                                self.people.len() - 1
                            }
                        };
                        self.authors.insert(r.id.clone(), i);
                    }
                    records.insert(r.id.clone(), r);
                }
            }
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        let next = match settle_start {
            Some(jira_ms) => JiraCursor {
                updated_ms: jira_ms,
                margin_ms: Some(secs_ms(self.cfg.settle_lag_seconds)),
            },
            None => JiraCursor {
                updated_ms: started,
                margin_ms: None,
            },
        };
        Ok(Some(Pulled {
            records: records.into_values().collect(),
            cursor: serde_json::to_value(next).unwrap_or(Value::Null),
            full: cursor.is_none(),
        }))
    }

    /// The `fields` of a write and the status it moves to (canonical: a Jira status name).
    fn write_fields(&self, u: &Upsert) -> (Map<String, Value>, Option<String>) {
        let mut fields = Map::new();
        let mut status = None;
        for (key, val) in &u.fields {
            let Some(m) = self.maps.iter().find(|m| &m.spec.key == key) else {
                continue;
            };
            if m.target == Target::Status {
                status = val.clone();
                continue;
            }
            if let Some((f, v)) = mapping::write(m, val.as_deref(), self.custom_id(m).as_deref()) {
                fields.insert(f, v);
            }
        }
        if let Some(items) = mapping::description_heading(&self.cfg).and_then(|h| u.sections.get(h))
        {
            fields.insert("description".into(), mapping::text_to_description(items));
        }
        (fields, status)
    }

    /// Whether Jira may fill in a value of a new issue that `u` does not send (a mapped key
    /// without a value, such as the default priority), or the binding reads a key one way.
    fn fills_in(&self, u: &Upsert) -> bool {
        self.maps.iter().any(|m| {
            m.spec.direction == crate::connectors::Direction::Pull
                || (m.target != Target::Status
                    && m.target != Target::Summary
                    && u.fields.get(&m.spec.key).is_none_or(Option::is_none))
        })
    }

    /// The assignee a write sets: the first resolved target of the `expert` link.
    fn assignee(u: &Upsert) -> Option<&str> {
        u.links
            .iter()
            .find(|(k, _, _)| k == mapping::ASSIGNEE_LINK)
            .and_then(|(_, _, ids)| ids.first())
            .map(String::as_str)
    }

    /// Issues of the project carrying the labels of `sids`: `ssot_id` → key.
    async fn find_by_label(
        &self,
        sids: &[&str],
    ) -> Result<BTreeMap<String, String>, ConnectorError> {
        let mut out = BTreeMap::new();
        if sids.is_empty() {
            return Ok(out);
        }
        let labels: Vec<String> = sids
            .iter()
            .map(|s| quoted(&format!("{LABEL_PREFIX}{s}")))
            .collect();
        let jql = format!(
            "project = {} AND labels in ({}) ORDER BY key",
            quoted(&self.cfg.project_key),
            labels.join(", ")
        );
        let found = self
            .client
            .search_all(&jql, &["labels".to_string()], false)
            .await?;
        for issue in &found {
            let Some(key) = issue.get("key").and_then(Value::as_str) else {
                continue;
            };
            for l in issue
                .pointer("/fields/labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if let Some(sid) = ssot_of_label(l)
                    && sids.contains(&sid)
                {
                    out.entry(sid.to_string())
                        .or_insert_with(|| key.to_string());
                }
            }
        }
        Ok(out)
    }

    /// Edits one issue; `Ok(None)` when done, else the outcome replacing the write's.
    async fn edit_issue(
        &self,
        u: &Upsert,
        key: &str,
        mut fields: Map<String, Value>,
        add_label: bool,
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let mut extra = Vec::new();
        if let Some(a) = Self::assignee(u) {
            fields.insert("assignee".into(), json!({ "accountId": a }));
        }
        let mut body = json!({ "fields": fields });
        if add_label {
            body["update"] = json!({"labels": [{"add": format!("{LABEL_PREFIX}{}", u.ssot_id)}]});
        }
        if fields_empty(&body) {
            return Ok(extra);
        }
        let mut a = self.client.edit(key, &body).await?;
        if a.status == StatusCode::BAD_REQUEST
            && a.body.pointer("/errors/assignee").is_some()
            && let Some(target) = Self::assignee(u)
        {
            // The assignee is refused (no such account, no access): the rest is written.
            extra.push(WriteOutcome::Unlinked {
                ssot_id: u.ssot_id.clone(),
                key: mapping::ASSIGNEE_LINK.into(),
                target: target.to_string(),
                message: error_message(&a),
            });
            if let Some(f) = body.get_mut("fields").and_then(Value::as_object_mut) {
                f.remove("assignee");
            }
            a = if fields_empty(&body) {
                client_ok()
            } else {
                self.client.edit(key, &body).await?
            };
        }
        match a.status {
            s if s.is_success() => Ok(extra),
            StatusCode::NOT_FOUND => Ok(vec![WriteOutcome::Gone {
                ssot_id: u.ssot_id.clone(),
                remote_id: key.to_string(),
            }]),
            s if s.is_client_error() => Ok(vec![WriteOutcome::Refused {
                ssot_id: u.ssot_id.clone(),
                message: error_message(&a),
            }]),
            _ => Err(self.proto(format!("edit {key}: {}", error_message(&a)))),
        }
    }

    /// Creates the issues of `batch` (no remote id) missing from Jira, at most [`MAX_CREATE`];
    /// returns (ssot_id, key, created) for those written and the outcomes of those refused.
    async fn create_chunk(
        &self,
        batch: &[&Upsert],
    ) -> Result<(Vec<(String, String, bool)>, Vec<WriteOutcome>), ConnectorError> {
        let mut written: Vec<(String, String, bool)> = Vec::new();
        let mut refused = Vec::new();
        // Made by an earlier run whose answer was lost: found, never made twice. They are
        // brought up to date with the note. After a full read of the project, only the creates
        // an interrupted run sent can have landed unseen (the journal names them); otherwise
        // every note is looked for.
        let sids: Vec<&str> = batch
            .iter()
            .filter(|u| !self.full_read || u.maybe_created)
            .map(|u| u.ssot_id.as_str())
            .collect();
        let found = self.find_by_label(&sids).await?;
        let mut todo: Vec<&Upsert> = Vec::new();
        for u in batch {
            match found.get(&u.ssot_id) {
                Some(key) => {
                    let (fields, _) = self.write_fields(u);
                    let out = self.edit_issue(u, key, fields, false).await?;
                    let gone_or_refused = out.iter().any(|o| {
                        matches!(o, WriteOutcome::Gone { .. } | WriteOutcome::Refused { .. })
                    });
                    if !gone_or_refused {
                        written.push((u.ssot_id.clone(), key.clone(), false));
                    }
                    refused.extend(out);
                }
                None => todo.push(u),
            }
        }
        let mut attempt = 0u32;
        while !todo.is_empty() {
            let updates: Vec<Value> = todo.iter().map(|u| self.create_body(u)).collect();
            let a = match self.client.bulk_create(updates).await {
                Ok(a) => a,
                Err(e @ (HttpError::Transport { .. } | HttpError::Exhausted { .. }))
                    if attempt < self.cfg.shared.http.max_retries =>
                {
                    // The answer is lost: what landed is found by its label, the rest sent again.
                    attempt += 1;
                    tracing::info!(error = %e, attempt, "bulk create answer lost; looking for what landed");
                    tokio::time::sleep(std::time::Duration::from_millis(
                        self.cfg
                            .shared
                            .http
                            .retry_base_ms
                            .saturating_mul(u64::from(attempt)),
                    ))
                    .await;
                    let sids: Vec<&str> = todo.iter().map(|u| u.ssot_id.as_str()).collect();
                    let landed = self.find_by_label(&sids).await?;
                    todo.retain(|u| match landed.get(&u.ssot_id) {
                        Some(key) => {
                            written.push((u.ssot_id.clone(), key.clone(), true));
                            false
                        }
                        None => true,
                    });
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if !a.status.is_success() && a.body.get("errors").is_none() {
                return Err(self.proto(format!("bulk create: {}", error_message(&a))));
            }
            let failed: BTreeMap<usize, String> = a
                .body
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    let n = usize::try_from(e.get("failedElementNumber")?.as_u64()?).ok()?;
                    let body = e.get("elementErrors").cloned().unwrap_or(Value::Null);
                    let msg = error_message(&crate::connectors::http::Answer {
                        status: StatusCode::BAD_REQUEST,
                        body,
                    });
                    Some((n, msg))
                })
                .collect();
            let mut made = a
                .body
                .get("issues")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| i.get("key").and_then(Value::as_str));
            for (n, u) in todo.iter().enumerate() {
                if let Some(msg) = failed.get(&n) {
                    refused.push(WriteOutcome::Refused {
                        ssot_id: u.ssot_id.clone(),
                        message: msg.clone(),
                    });
                    continue;
                }
                match made.next() {
                    Some(key) => written.push((u.ssot_id.clone(), key.to_string(), true)),
                    None => refused.push(WriteOutcome::Refused {
                        ssot_id: u.ssot_id.clone(),
                        message: "Jira returned no issue for this note".into(),
                    }),
                }
            }
            todo.clear();
        }
        Ok((written, refused))
    }

    /// One issue of a bulk create.
    fn create_body(&self, u: &Upsert) -> Value {
        let (mut fields, _) = self.write_fields(u);
        if fields.get("description").is_some_and(Value::is_null) {
            fields.remove("description");
        }
        fields.insert("project".into(), json!({ "key": self.cfg.project_key }));
        fields.insert("issuetype".into(), json!({ "name": self.cfg.issue_type }));
        fields.insert(
            "labels".into(),
            json!([format!("{LABEL_PREFIX}{}", u.ssot_id)]),
        );
        if let Some(a) = Self::assignee(u) {
            fields.insert("assignee".into(), json!({ "accountId": a }));
        }
        // A summary is required: a note always has a title, but a title unmapped by
        // configuration leaves the note's id.
        if !fields.contains_key("summary") {
            fields.insert("summary".into(), json!(u.ssot_id));
        }
        json!({ "fields": fields })
    }

    /// The current status name of each of `keys` (those found).
    async fn statuses(&self, keys: &[String]) -> Result<BTreeMap<String, String>, ConnectorError> {
        let mut out = BTreeMap::new();
        for chunk in keys.chunks(MAX_FETCH) {
            for issue in self
                .client
                .bulk_fetch(chunk, &["status".to_string()])
                .await?
            {
                if let (Some(k), Some(s)) = (
                    issue.get("key").and_then(Value::as_str),
                    issue.pointer("/fields/status/name").and_then(Value::as_str),
                ) {
                    out.insert(k.to_string(), s.to_string());
                }
            }
        }
        Ok(out)
    }

    /// The issues of `keys` as records (those found), by key.
    async fn records(
        &self,
        keys: &[String],
    ) -> Result<BTreeMap<String, RemoteRecord>, ConnectorError> {
        let fields = self.read_fields();
        let mut out = BTreeMap::new();
        for chunk in keys.chunks(MAX_FETCH) {
            for issue in self.client.bulk_fetch(chunk, &fields).await? {
                if let Some(r) = self.to_record(&issue, true) {
                    out.insert(r.id.clone(), r);
                }
            }
        }
        Ok(out)
    }
}

/// The author of an issue's newest changelog entry: (display name, email; the account id at
/// `jira.invalid` when Jira hides the email).
fn last_author(issue: &Value) -> Option<(String, String)> {
    let h = issue
        .pointer("/changelog/histories")
        .and_then(Value::as_array)?
        .iter()
        .filter(|h| h.get("author").is_some_and(Value::is_object))
        .max_by_key(|h| {
            h.get("created")
                .and_then(Value::as_str)
                .and_then(parse_time)
                .unwrap_or(i64::MIN)
        })?;
    let a = h.get("author")?;
    let id = a.get("accountId").and_then(Value::as_str).unwrap_or("");
    let name = a
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(id);
    let email = a
        .get("emailAddress")
        .and_then(Value::as_str)
        .filter(|e| !e.trim().is_empty())
        .map_or_else(|| format!("{id}@jira.invalid"), str::to_string);
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_control() && !matches!(c, '<' | '>'))
            .collect::<String>()
            .trim()
            .to_string()
    };
    let (name, email) = (clean(name), clean(&email));
    (!name.is_empty() && !email.is_empty()).then_some((name, email))
}

/// Whether an edit body sets nothing.
fn fields_empty(body: &Value) -> bool {
    body.get("fields")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty)
        && body.get("update").is_none()
}

fn client_ok() -> crate::connectors::http::Answer {
    crate::connectors::http::Answer {
        status: StatusCode::NO_CONTENT,
        body: Value::Null,
    }
}

impl Connector for Jira {
    fn name(&self) -> &str {
        NAME
    }

    fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// One bulk create's worth (50), a multiple of `batch_size`.
    fn push_chunk(&self) -> usize {
        let batch = self.cfg.batch_size.clamp(1, MAX_CREATE);
        batch * (MAX_CREATE / batch)
    }

    fn load_state(&mut self, state: Value) {
        self.state = serde_json::from_value(state).unwrap_or_default();
    }

    fn save_state(&self) -> Value {
        serde_json::to_value(&self.state).unwrap_or(Value::Null)
    }

    async fn pull(&mut self, cursor: Option<&Value>) -> Result<Pulled, ConnectorError> {
        Ok(self.read_changes(cursor, None).await?.unwrap_or_default())
    }

    /// A run that wrote settles once the minute of its last write (on Jira's clock, from the
    /// answers' `Date`) has ended and the search's lag passed: JQL's `updated >=` has minute
    /// precision, so only then can the next read leave that minute out.
    fn settle_at(&self) -> Option<Settle> {
        if self.cfg.settle_max_seconds == 0 {
            return None;
        }
        let last = self.client.last_write()?;
        let date = self.client.http.server_date()?;
        let lag_ms = secs_ms(self.cfg.settle_lag_seconds);
        let minute_end = last
            .div_euclid(60_000)
            .saturating_add(1)
            .saturating_mul(60_000);
        // Jira's clock is at least this machine's plus the offset its last `Date` gives (that
        // `Date` was truncated to the second and made before the answer travelled); a second
        // more for the `Date`s' precision.
        let at_ms = minute_end
            .saturating_add(lag_ms)
            .saturating_sub(date.offset_ms())
            .saturating_add(1_000);
        Some(Settle {
            at_ms,
            max_wait_ms: secs_ms(self.cfg.settle_max_seconds),
            reason: "for Jira's search to pass the minute of this run's writes (JQL has minute precision)".into(),
        })
    }

    async fn settle_pull(
        &mut self,
        cursor: Option<&Value>,
        unchanged: &mut (dyn FnMut(&RemoteRecord) -> bool + Send),
    ) -> Result<Option<Value>, ConnectorError> {
        Ok(self
            .read_changes(cursor, Some(unchanged))
            .await?
            .map(|p| p.cursor))
    }

    async fn fetch(
        &mut self,
        note_type: &str,
        ids: &[String],
    ) -> Result<Vec<RemoteRecord>, ConnectorError> {
        if note_type != PROJECT || ids.is_empty() {
            return Ok(Vec::new());
        }
        self.ready()?;
        self.ensure_fields(false).await?;
        let fields = self.read_fields();
        let mut out = Vec::new();
        for chunk in ids.chunks(MAX_FETCH) {
            for issue in self.client.bulk_fetch(chunk, &fields).await? {
                if let Some(r) = self.to_record(&issue, true) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    async fn archived(
        &mut self,
        note_type: &str,
        ids: &[String],
    ) -> Result<Vec<String>, ConnectorError> {
        if note_type != PROJECT || ids.is_empty() {
            return Ok(Vec::new());
        }
        self.ready()?;
        let mut live: BTreeSet<String> = BTreeSet::new();
        for chunk in ids.chunks(MAX_FETCH) {
            for issue in self
                .client
                .bulk_fetch(chunk, &["labels".to_string()])
                .await?
            {
                if let Some(k) = issue.get("key").and_then(Value::as_str) {
                    live.insert(k.to_string());
                }
            }
        }
        Ok(ids.iter().filter(|i| !live.contains(*i)).cloned().collect())
    }

    async fn upsert(
        &mut self,
        _run_id: &str,
        batch: &[Upsert],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        self.ready()?;
        self.ensure_fields(true).await?;
        let mut outcomes: Vec<WriteOutcome> = Vec::new();
        // (ssot_id, key, created)
        let mut written: Vec<(String, String, bool)> = Vec::new();
        let mut moves: Vec<(String, String, String)> = Vec::new();
        let mut creates: Vec<&Upsert> = Vec::new();
        for u in batch {
            if u.note_type != PROJECT {
                outcomes.push(WriteOutcome::Refused {
                    ssot_id: u.ssot_id.clone(),
                    message: format!("{} notes are not synced with Jira", u.note_type),
                });
                continue;
            }
            let Some(key) = &u.remote_id else {
                creates.push(u);
                continue;
            };
            let (fields, _) = self.write_fields(u);
            let out = self
                .edit_issue(u, key, fields, !u.remote_has_ssot_id)
                .await?;
            if !out
                .iter()
                .any(|o| matches!(o, WriteOutcome::Gone { .. } | WriteOutcome::Refused { .. }))
            {
                written.push((u.ssot_id.clone(), key.clone(), false));
            }
            outcomes.extend(out);
        }
        for chunk in creates.chunks(self.cfg.batch_size.clamp(1, MAX_CREATE)) {
            let (w, refused) = self.create_chunk(chunk).await?;
            written.extend(w);
            outcomes.extend(refused);
        }
        // Statuses, by transitions, once the fields are written.
        let by_sid: BTreeMap<&str, &Upsert> =
            batch.iter().map(|u| (u.ssot_id.as_str(), u)).collect();
        for (sid, key, _) in &written {
            if let Some((_, Some(status))) = by_sid.get(sid.as_str()).map(|u| self.write_fields(u))
            {
                moves.push((sid.clone(), key.clone(), status));
            }
        }
        // The created issues as Jira holds them, read only where Jira may have filled in a value
        // the note has not (the default priority goes into the note) or the status a new issue
        // starts in is not known yet; the others hold what was sent, in that status.
        let created: Vec<String> = written
            .iter()
            .filter(|(sid, _, c)| {
                *c && (self.state.initial_status.is_none()
                    || by_sid.get(sid.as_str()).is_none_or(|u| self.fills_in(u)))
            })
            .map(|(_, k, _)| k.clone())
            .collect();
        let mut made = if created.is_empty() {
            BTreeMap::new()
        } else {
            self.records(&created).await?
        };
        let status_key = self
            .maps
            .iter()
            .find(|m| m.target == Target::Status)
            .map(|m| m.spec.key.clone());
        let mut current: BTreeMap<String, String> = made
            .iter()
            .filter_map(|(k, r)| Some((k.clone(), r.fields.get(status_key.as_ref()?)?.clone())))
            .collect();
        if let Some(s) = current.values().next() {
            self.state.initial_status = Some(s.clone());
        }
        if let Some(initial) = &self.state.initial_status {
            for (_, k, c) in &written {
                if *c && !current.contains_key(k) {
                    current.insert(k.clone(), initial.clone());
                }
            }
        }
        let failed = self.move_all(&moves, current).await?;
        // A change made in Jira that the vault refused and this write undid: said on the issue.
        for (sid, key, _) in &written {
            if failed.contains_key(sid) {
                continue;
            }
            if let Some(notice) = by_sid.get(sid.as_str()).and_then(|u| u.notice.as_deref()) {
                let a = self
                    .client
                    .comment(key, &adf::markdown_to_adf(notice))
                    .await?;
                if !a.status.is_success() {
                    tracing::warn!(issue = %key, "comment not added: {}", error_message(&a));
                }
            }
        }
        for (sid, key, created) in written {
            match failed.get(&sid) {
                Some(o) => outcomes.push(o.clone()),
                None => outcomes.push(WriteOutcome::Written {
                    fields: made.remove(&key).map(|r| r.fields),
                    ssot_id: sid,
                    remote_id: key,
                    created,
                }),
            }
        }
        Ok(outcomes)
    }

    async fn archive(&mut self, note_type: &str, ids: &[String]) -> Result<(), ConnectorError> {
        if note_type != PROJECT {
            return Ok(());
        }
        self.ready()?;
        for key in ids {
            let a = self.delete_with_children(key).await?;
            if !a.status.is_success() && a.status != StatusCode::NOT_FOUND {
                return Err(self.proto(format!("delete {key}: {}", error_message(&a))));
            }
        }
        Ok(())
    }

    async fn act(
        &mut self,
        action: &RemoteAction,
        remote_id: &str,
    ) -> Result<ActionOutcome, ConnectorError> {
        self.ready()?;
        match &action.op {
            ActionOp::Transition { to } => {
                let Some(target) = self.cfg.transition_status(to) else {
                    return Ok(ActionOutcome::Refused {
                        message: format!(
                            "no Jira status for `{to}`: name one under [remotes.jira.transitions]"
                        ),
                    });
                };
                let current = self.statuses(&[remote_id.to_string()]).await?;
                let Some(now) = current.get(remote_id).cloned() else {
                    return Ok(ActionOutcome::Gone);
                };
                Ok(match self.move_to(remote_id, &now, &target).await? {
                    Moved::Done => ActionOutcome::Done,
                    Moved::Gone => ActionOutcome::Gone,
                    Moved::Refused(message) => ActionOutcome::Refused { message },
                })
            }
            ActionOp::Delete => {
                let a = self.delete_with_children(remote_id).await?;
                Ok(match a.status {
                    s if s.is_success() => ActionOutcome::Done,
                    StatusCode::NOT_FOUND => ActionOutcome::Gone,
                    s if s.is_client_error() => ActionOutcome::Refused {
                        message: error_message(&a),
                    },
                    _ => {
                        return Err(
                            self.proto(format!("delete {remote_id}: {}", error_message(&a)))
                        );
                    }
                })
            }
            ActionOp::CreateChild { kind, assignee } => {
                self.create_child(action, remote_id, kind, assignee.as_deref())
                    .await
            }
            ActionOp::Grant { link } => self.grant(action, remote_id, link, true).await,
            ActionOp::Revoke { link } => self.grant(action, remote_id, link, false).await,
            ActionOp::AttachExport => Ok(ActionOutcome::Unsupported),
        }
    }

    async fn healthcheck(&mut self) -> Result<Health, ConnectorError> {
        self.ready()?;
        let a = self.client.myself().await?;
        match a.status {
            s if s.is_success() => Ok(Health {
                detail: format!(
                    "Jira at {}: credentials accepted (project {})",
                    self.cfg.base_url, self.cfg.project_key
                ),
            }),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(self.proto(match &self
                .source
            {
                Some(source) => format!(
                    "the API token from {source} was refused with the account's email (HTTP {})",
                    a.status.as_u16()
                ),
                None => format!(
                    "the email and API token were refused (HTTP {})",
                    a.status.as_u16()
                ),
            })),
            s => Err(self.proto(format!("unexpected HTTP {}", s.as_u16()))),
        }
    }

    fn stats(&self) -> HttpStats {
        self.client.http.stats()
    }

    fn changed_by(&self, remote_id: &str) -> Option<(String, String)> {
        self.authors
            .get(remote_id)
            .and_then(|i| self.people.get(*i))
            .cloned()
    }

    fn guards_remote_moves(&self) -> bool {
        true
    }

    fn pacing(&self) -> Pacing {
        self.client.http.pacing()
    }

    fn restore_pacing(&mut self, pacing: &Pacing) {
        self.client.http.restore_pacing(pacing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_times_and_jql() {
        assert_eq!(
            ssot_of_label("ssot-01M7W86HFSWM03FC030X7GYK1W"),
            Some("01M7W86HFSWM03FC030X7GYK1W")
        );
        assert_eq!(ssot_of_label("ssot-01M7W86HFSWM03FC030X7GYK1W-task"), None);
        assert_eq!(ssot_of_label("other"), None);
        let ms = parse_time("2024-01-15T10:30:00.000+0000").unwrap();
        assert_eq!(jql_time(ms), "2024-01-15 10:30");
        assert_eq!(
            parse_time("2024-01-15T10:30:00.000+0100").unwrap(),
            ms - 3_600_000
        );
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
    }

    /// A cursor saved before settle reads existed loads with no margin (the overlap then); a
    /// settle read's keeps its margin, and a plain one is written as before.
    #[test]
    fn cursors_load_with_and_without_a_margin() {
        let old: JiraCursor =
            serde_json::from_value(json!({"updated_ms": 1_700_000_000_000_i64})).unwrap();
        assert_eq!(
            old,
            JiraCursor {
                updated_ms: 1_700_000_000_000,
                margin_ms: None
            }
        );
        assert_eq!(
            serde_json::to_value(&old).unwrap(),
            json!({"updated_ms": 1_700_000_000_000_i64})
        );
        let settled = JiraCursor {
            updated_ms: 5,
            margin_ms: Some(10_000),
        };
        let back: JiraCursor =
            serde_json::from_value(serde_json::to_value(&settled).unwrap()).unwrap();
        assert_eq!(back, settled);
    }
}
