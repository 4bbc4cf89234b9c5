//! The HubSpot CRM connector: clients and experts as contacts (told apart by `ssot_role`),
//! projects as deals associated with their contacts, companies for clients with a `company`.
//!
//! - **Identity.** Every record we write carries the note's `ssot_id` in a unique property created
//!   on first sync; every create is a `batch/upsert` keyed by it, so a create repeated after a
//!   crash finds its record instead of duplicating it. Known records are updated by id
//!   (`batch/update`), so a record archived in HubSpot is reported [`WriteOutcome::Gone`] instead of
//!   being silently re-created.
//! - **Incremental pull.** One search per object type, sorted by last-modified, from the cursor
//!   minus an overlap window (search is eventually consistent). Each write also stamps
//!   `ssot_run` with the run id, and the search leaves out records whose last write was one of our
//!   recent runs unless they changed after that run's writes ended: an unchanged vault and an
//!   unchanged HubSpot cost one request per object type. Past the 10,000-result cap the query
//!   restarts from the last modification time seen.

pub mod client;
pub mod config;
pub mod mapping;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::connectors::http::{Http, HttpConfig, HttpStats, PathLimit, Secret};
use crate::connectors::{
    Binding, Connector, ConnectorError, Health, Pacing, Pulled, RemoteRecord, Upsert, WriteOutcome,
};
use crate::secrets::CredentialSource;
use crate::vault::schema::Schema;

use client::{Client, MAX_BATCH, SEARCH_CAP, SEARCH_LIMIT};
pub use config::{HubspotConfig, ID_KEY, NAME};
use mapping::{SSOT_ID, SSOT_ROLE, SSOT_RUN, TypeMap};

/// How many upserts the engine hands the connector at once ([`Connector::push_chunk`]): five
/// batches of [`MAX_BATCH`].
const PUSH_CHUNK: usize = 5 * MAX_BATCH;

/// Recent runs remembered per object type for the search exclusion (HubSpot allows 5 filter
/// groups: one for the window, one per run).
const MAX_RUNS: usize = 4;

/// HubSpot's limit on search requests, per token.
pub const SEARCH_PER_SECOND: u32 = 4;

/// A run's writes to one object type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMark {
    /// The run id (the `ssot_run` value written).
    pub run: String,
    /// Latest modification time (service clock, epoch ms) the run's writes produced.
    pub end_ms: i64,
}

/// The notes and link fields each association stands for: (target object, from id, to id) →
/// [(ssot_id, link key)].
type AskedLinks<'a> = BTreeMap<(&'a str, String, String), Vec<(String, String)>>;

/// What the connector remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HubspotState {
    /// Custom properties known to exist, per object type.
    pub properties: BTreeMap<String, BTreeSet<String>>,
    /// Our recent runs per object type.
    pub runs: BTreeMap<String, Vec<RunMark>>,
}

/// The cursor: per object type, the last-modified lower bound of the next pull (epoch ms).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HubspotCursor {
    /// Object type → lower bound.
    pub since: BTreeMap<String, i64>,
}

/// The connector.
#[derive(Debug)]
pub struct Hubspot {
    cfg: HubspotConfig,
    client: Client,
    maps: Vec<TypeMap>,
    bindings: Vec<Binding>,
    state: HubspotState,
    /// Archived record ids per object type, listed once per run.
    archived_ids: BTreeMap<String, BTreeSet<String>>,
    /// Where the token came from, when known.
    source: Option<CredentialSource>,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn parse_ms(v: Option<&Value>) -> Option<i64> {
    let s = v?.as_str()?;
    s.parse::<i64>().ok().or_else(|| {
        s.parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond())
    })
}

fn modified_prop(object: &str) -> &'static str {
    if object == "contacts" {
        "lastmodifieddate"
    } else {
        "hs_lastmodifieddate"
    }
}

impl Hubspot {
    /// A connector from its configuration and token (see [`Hubspot::from_credentials`] for the
    /// token looked up in the environment or the OS keyring).
    pub fn new(
        cfg: HubspotConfig,
        schema: &Schema,
        token: Secret,
    ) -> Result<Hubspot, ConnectorError> {
        let mut http = HttpConfig::new(NAME, &cfg.base_url).with_settings(&cfg.shared.http);
        http.bearer = Some(token);
        // Search has its own limit: 4 requests per second per token (`search_per_second`).
        if cfg.search_per_second > 0 {
            http.path_limits = vec![PathLimit {
                suffix: "/search".into(),
                max: cfg.search_per_second,
                window: Duration::from_secs(1),
            }];
        }
        let maps = mapping::build(&cfg, schema);
        let bindings = mapping::bindings(&maps);
        Ok(Hubspot {
            client: Client {
                http: Http::new(http)?,
            },
            cfg,
            maps,
            bindings,
            state: HubspotState::default(),
            archived_ids: BTreeMap::new(),
            source: None,
        })
    }

    /// A connector whose token is looked up as `crate::secrets` says: the configured environment
    /// variable (`token_env`), else the OS keyring entry (`keyring_entry`).
    pub fn from_credentials(
        cfg: HubspotConfig,
        schema: &Schema,
    ) -> Result<Hubspot, ConnectorError> {
        let (token, source) = crate::secrets::resolve(&cfg.credential_spec())?;
        Ok(Self::new(cfg, schema, token)?.with_source(source))
    }

    /// Where the token came from, when known.
    pub fn credential_source(&self) -> Option<&CredentialSource> {
        self.source.as_ref()
    }

    /// Records where the token came from (named when the service refuses it).
    pub fn with_source(mut self, source: CredentialSource) -> Hubspot {
        self.source = Some(source);
        self
    }

    /// The mapping in use.
    pub fn maps(&self) -> &[TypeMap] {
        &self.maps
    }

    fn map(&self, note_type: &str) -> Option<&TypeMap> {
        self.maps.iter().find(|m| m.note_type == note_type)
    }

    fn objects(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for m in &self.maps {
            if !out.contains(&m.object) {
                out.push(m.object);
            }
        }
        out
    }

    fn proto(&self, service: &str, message: impl Into<String>) -> ConnectorError {
        ConnectorError::Protocol {
            service: service.into(),
            message: message.into(),
        }
    }

    /// Converts a HubSpot object into the engine's record (`None` for an unmapped role).
    fn to_record(&self, object: &str, obj: &Value) -> Option<RemoteRecord> {
        let id = obj.get("id").and_then(Value::as_str)?.to_string();
        let empty = Map::new();
        let props = obj
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let get = |k: &str| {
            props
                .get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let note_type = if object == "contacts" {
            get(SSOT_ROLE)
                .unwrap_or(&self.cfg.default_contact_type)
                .to_string()
        } else {
            "project".to_string()
        };
        let map = self.map(&note_type).filter(|m| m.object == object)?;
        let mut fields = BTreeMap::new();
        for pm in &map.props {
            // Push-only fields are read too: the merge then sees them equal and sends nothing.
            if let Some(v) = mapping::read_field(pm, props) {
                fields.insert(pm.spec.key.clone(), v);
            }
        }
        let title = if object == "contacts" {
            mapping::read_field(&map.props[0], props)
                .filter(|_| map.props[0].prop == mapping::FULL_NAME)
                .or_else(|| get("email").map(str::to_string))
        } else {
            get("dealname").map(str::to_string)
        };
        Some(RemoteRecord {
            note_type,
            ssot_id: get(SSOT_ID).map(str::to_string),
            fields,
            title,
            modified_ms: parse_ms(props.get(modified_prop(object)))
                .or_else(|| parse_ms(obj.get("updatedAt"))),
            archived: obj
                .get("archived")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            sections: BTreeMap::new(),
            id,
        })
    }

    fn read_props(&self, object: &str) -> Vec<String> {
        let mut props: Vec<String> = vec![
            SSOT_ID.into(),
            SSOT_RUN.into(),
            modified_prop(object).into(),
        ];
        if object == "contacts" {
            props.extend([SSOT_ROLE.to_string(), "email".to_string()]);
        } else {
            props.push("dealname".into());
        }
        for m in self.maps.iter().filter(|m| m.object == object) {
            for p in m.read_props() {
                if !props.contains(&p) {
                    props.push(p);
                }
            }
        }
        props
    }

    async fn pull_object(
        &mut self,
        object: &str,
        since: Option<i64>,
    ) -> Result<Vec<RemoteRecord>, ConnectorError> {
        let lm = modified_prop(object);
        let runs: Vec<RunMark> = match since {
            Some(s) => self
                .state
                .runs
                .get(object)
                .map(|v| {
                    v.iter()
                        .filter(|r| r.end_ms >= s)
                        .rev()
                        .take(MAX_RUNS)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let props = self.read_props(object);
        let mut out: BTreeMap<String, RemoteRecord> = BTreeMap::new();
        let mut lower = since;
        loop {
            let mut groups = Vec::new();
            if let Some(lo) = lower {
                let mut g =
                    vec![json!({"propertyName": lm, "operator": "GTE", "value": lo.to_string()})];
                if !runs.is_empty() {
                    g.push(json!({"propertyName": SSOT_RUN, "operator": "NOT_IN",
                        "values": runs.iter().map(|r| r.run.clone()).collect::<Vec<_>>()}));
                }
                groups.push(json!({"filters": g}));
                for r in &runs {
                    groups.push(json!({"filters": [
                        {"propertyName": SSOT_RUN, "operator": "EQ", "value": r.run},
                        {"propertyName": lm, "operator": "GT", "value": r.end_ms.max(lo).to_string()},
                    ]}));
                }
            }
            let mut after: Option<String> = None;
            let mut seen = 0usize;
            let mut last_lm: Option<i64> = None;
            let restart = loop {
                let mut body = json!({
                    "sorts": [{"propertyName": lm, "direction": "ASCENDING"}],
                    "properties": props,
                    "limit": SEARCH_LIMIT,
                });
                if !groups.is_empty() {
                    body["filterGroups"] = json!(groups);
                }
                if let Some(a) = &after {
                    body["after"] = json!(a);
                }
                let page = self.client.search(object, &body).await?;
                seen += page.results.len();
                for obj in &page.results {
                    if let Some(r) = self.to_record(object, obj) {
                        last_lm = r.modified_ms.or(last_lm);
                        out.insert(r.id.clone(), r);
                    }
                }
                match page.after {
                    Some(a) if seen + SEARCH_LIMIT <= SEARCH_CAP => after = Some(a),
                    Some(_) => break true,
                    None => {
                        break page.total.is_some_and(|t| t as usize > seen)
                            && seen >= SEARCH_CAP - SEARCH_LIMIT;
                    }
                }
            };
            if !restart {
                break;
            }
            // The 10,000-result cap: start a new query from the last modification seen.
            match last_lm {
                Some(l) if Some(l) != lower => lower = Some(l),
                _ => {
                    return Err(self.proto(NAME, format!(
                        "more than {SEARCH_CAP} {object} share one modification time; cannot page past the search cap"
                    )));
                }
            }
        }
        Ok(out.into_values().collect())
    }

    async fn ensure_properties(
        &mut self,
        object: &str,
        props: &[String],
    ) -> Result<(), ConnectorError> {
        for p in props {
            if self
                .state
                .properties
                .get(object)
                .is_some_and(|s| s.contains(p))
            {
                continue;
            }
            let created = self.client.create_property(object, p, p == SSOT_ID).await?;
            tracing::info!(object, property = %p, created, "custom property ready");
            self.state
                .properties
                .entry(object.to_string())
                .or_default()
                .insert(p.clone());
        }
        Ok(())
    }

    fn note_run(&mut self, object: &str, run_id: &str, end_ms: i64) {
        let runs = self.state.runs.entry(object.to_string()).or_default();
        match runs.iter_mut().find(|r| r.run == run_id) {
            Some(r) => r.end_ms = r.end_ms.max(end_ms),
            None => runs.push(RunMark {
                run: run_id.to_string(),
                end_ms,
            }),
        }
        let keep = runs.len().saturating_sub(MAX_RUNS * 2);
        runs.drain(..keep);
    }

    /// Properties of one upsert input.
    fn input_props(&self, map: &TypeMap, u: &Upsert, run_id: &str) -> Map<String, Value> {
        let mut props = Map::new();
        for (key, val) in &u.fields {
            if let Some(pm) = map.props.iter().find(|p| &p.spec.key == key) {
                for (k, v) in mapping::write_field(pm, val.as_deref()) {
                    props.insert(k, Value::String(v));
                }
            }
        }
        props.insert(SSOT_RUN.into(), json!(run_id));
        if map.object == "contacts" {
            props.insert(SSOT_ROLE.into(), json!(map.note_type));
        }
        props
    }

    /// Sends one batch call; a refused batch (400/409) is retried input by input so that one bad
    /// record does not hold back the others.
    async fn send_batch(
        &self,
        object: &str,
        op: &str,
        inputs: Vec<(usize, Value)>,
    ) -> Result<(Vec<Value>, Vec<String>, Vec<(usize, String)>), ConnectorError> {
        let a = self
            .client
            .batch(
                object,
                op,
                inputs.iter().map(|(_, v)| v.clone()).collect(),
                None,
            )
            .await?;
        if a.status.is_success() {
            let results = a
                .body
                .get("results")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut missing = Vec::new();
            for e in a
                .body
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for id in e
                    .pointer("/context/ids")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(s) = id.as_str() {
                        missing.push(s.to_string());
                    }
                }
            }
            return Ok((results, missing, Vec::new()));
        }
        if !matches!(
            a.status,
            StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::NOT_FOUND
        ) || inputs.len() == 1
        {
            let msg = a
                .body
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("refused")
                .to_string();
            if inputs.len() == 1 && a.status.is_client_error() {
                if a.status == StatusCode::NOT_FOUND {
                    let id = inputs[0]
                        .1
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    return Ok((Vec::new(), vec![id], Vec::new()));
                }
                return Ok((Vec::new(), Vec::new(), vec![(inputs[0].0, msg)]));
            }
            return Err(self.proto(
                NAME,
                format!("{op} {object}: HTTP {}: {msg}", a.status.as_u16()),
            ));
        }
        // HubSpot fails a whole batch for one bad input: split it in halves until the bad inputs
        // stand alone, so that one refusal costs a few requests, not one per input.
        let mut results = Vec::new();
        let mut missing = Vec::new();
        let mut refused = Vec::new();
        let mut inputs = inputs;
        let second = inputs.split_off(inputs.len() / 2);
        for half in [inputs, second] {
            let (r, m, f) = Box::pin(self.send_batch(object, op, half)).await?;
            results.extend(r);
            missing.extend(m);
            refused.extend(f);
        }
        Ok((results, missing, refused))
    }

    async fn upsert_type(
        &mut self,
        run_id: &str,
        note_type: &str,
        batch: &[&Upsert],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let Some(map) = self.map(note_type).cloned() else {
            return Err(self.proto(NAME, format!("no mapping for note type `{note_type}`")));
        };
        let object = map.object;
        self.ensure_properties(object, &mapping::custom_props(&map))
            .await?;
        let mut outcomes = Vec::new();
        let mut max_end = 0i64;
        let mut written: Vec<(String, String)> = Vec::new(); // (ssot_id, remote id)
        for chunk in batch.chunks(self.cfg.batch_size.min(MAX_BATCH)) {
            let mut updates = Vec::new();
            let mut creates = Vec::new();
            for (i, u) in chunk.iter().enumerate() {
                let mut props = self.input_props(&map, u, run_id);
                match &u.remote_id {
                    Some(id) => {
                        if !u.remote_has_ssot_id {
                            props.insert(SSOT_ID.into(), json!(u.ssot_id));
                        }
                        updates.push((i, json!({"id": id, "properties": props})));
                    }
                    None => creates.push((
                        i,
                        json!({"id": u.ssot_id, "idProperty": SSOT_ID, "properties": props}),
                    )),
                }
            }
            for (op, inputs) in [("update", updates), ("upsert", creates)] {
                if inputs.is_empty() {
                    continue;
                }
                let sent: Vec<usize> = inputs.iter().map(|(i, _)| *i).collect();
                let (results, missing, refused) = self.send_batch(object, op, inputs).await?;
                let mut done: BTreeSet<usize> = BTreeSet::new();
                for obj in &results {
                    let Some(id) = obj.get("id").and_then(Value::as_str) else {
                        continue;
                    };
                    let props = obj.get("properties").and_then(Value::as_object);
                    let sid = props.and_then(|p| p.get(SSOT_ID)).and_then(Value::as_str);
                    let pos = sent.iter().copied().find(|i| {
                        let u = chunk[*i];
                        Some(u.ssot_id.as_str()) == sid || u.remote_id.as_deref() == Some(id)
                    });
                    let Some(pos) = pos else { continue };
                    done.insert(pos);
                    let u = chunk[pos];
                    if let Some(end) = props
                        .and_then(|p| parse_ms(p.get(modified_prop(object))))
                        .or_else(|| parse_ms(obj.get("updatedAt")))
                    {
                        max_end = max_end.max(end);
                    }
                    let fields = props.map(|p| {
                        map.props
                            .iter()
                            .filter(|pm| {
                                pm.prop == mapping::FULL_NAME && p.contains_key("firstname")
                                    || p.contains_key(&pm.prop)
                            })
                            .filter_map(|pm| {
                                mapping::read_field(pm, p).map(|v| (pm.spec.key.clone(), v))
                            })
                            .collect::<BTreeMap<_, _>>()
                    });
                    written.push((u.ssot_id.clone(), id.to_string()));
                    outcomes.push(WriteOutcome::Written {
                        ssot_id: u.ssot_id.clone(),
                        remote_id: id.to_string(),
                        created: obj.get("new").and_then(Value::as_bool).unwrap_or(false),
                        fields,
                    });
                }
                for (i, message) in refused {
                    done.insert(sent[i.min(sent.len() - 1)]);
                    outcomes.push(WriteOutcome::Refused {
                        ssot_id: chunk[sent[i.min(sent.len() - 1)]].ssot_id.clone(),
                        message,
                    });
                }
                for i in sent {
                    if done.contains(&i) {
                        continue;
                    }
                    let u = chunk[i];
                    match &u.remote_id {
                        Some(id) if missing.contains(id) || op == "update" => {
                            outcomes.push(WriteOutcome::Gone {
                                ssot_id: u.ssot_id.clone(),
                                remote_id: id.clone(),
                            })
                        }
                        _ => outcomes.push(WriteOutcome::Refused {
                            ssot_id: u.ssot_id.clone(),
                            message: "HubSpot returned no result for this record".into(),
                        }),
                    }
                }
            }
        }
        if max_end > 0 {
            self.note_run(object, run_id, max_end);
        }
        // Companies and associations.
        let by_sid: BTreeMap<&str, &str> = written
            .iter()
            .map(|(s, r)| (s.as_str(), r.as_str()))
            .collect();
        if note_type == "client" && self.cfg.companies {
            outcomes.extend(self.write_companies(run_id, batch, &by_sid).await?);
        }
        // Associations, by target type; each pair remembers the notes and links it stands for.
        let mut pairs: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
        let mut asked: AskedLinks<'_> = BTreeMap::new();
        for u in batch {
            let Some(from) = by_sid.get(u.ssot_id.as_str()) else {
                continue;
            };
            for (key, target_type, ids) in &u.links {
                let to = mapping::object_type(target_type);
                for id in ids {
                    let who = asked.entry((to, from.to_string(), id.clone())).or_default();
                    if who.is_empty() {
                        pairs
                            .entry(to)
                            .or_default()
                            .push((from.to_string(), id.clone()));
                    }
                    who.push((u.ssot_id.clone(), key.clone()));
                }
            }
        }
        for (to, p) in pairs {
            for failed in self.client.associate(object, to, &p).await? {
                tracing::debug!(from = %failed.from, to = %failed.to, message = %failed.message, "association not made");
                for (ssot_id, key) in asked
                    .get(&(to, failed.from.clone(), failed.to.clone()))
                    .into_iter()
                    .flatten()
                {
                    outcomes.push(WriteOutcome::Unlinked {
                        ssot_id: ssot_id.clone(),
                        key: key.clone(),
                        target: failed.to.clone(),
                        message: failed.message.clone(),
                    });
                }
            }
        }
        Ok(outcomes)
    }

    /// Upserts the companies of written clients and associates each with its client's contact;
    /// a company or association HubSpot refuses is reported as the client's `company` link.
    async fn write_companies(
        &mut self,
        run_id: &str,
        batch: &[&Upsert],
        ids: &BTreeMap<&str, &str>,
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let mut inputs = Vec::new();
        let mut contacts = Vec::new(); // (ssot_id, contact id)
        for u in batch {
            let Some(Some(company)) = u.fields.get("company") else {
                continue;
            };
            let Some(contact) = ids.get(u.ssot_id.as_str()) else {
                continue;
            };
            inputs.push(json!({"id": u.ssot_id, "idProperty": SSOT_ID,
                "properties": {"name": company, SSOT_RUN: run_id}}));
            contacts.push((u.ssot_id.clone(), contact.to_string()));
        }
        let mut outcomes = Vec::new();
        if inputs.is_empty() {
            return Ok(outcomes);
        }
        self.ensure_properties("companies", &[SSOT_ID.to_string(), SSOT_RUN.to_string()])
            .await?;
        let mut pairs = Vec::new();
        let mut owner: BTreeMap<String, String> = BTreeMap::new(); // contact id → ssot_id
        for (chunk, cs) in inputs.chunks(MAX_BATCH).zip(contacts.chunks(MAX_BATCH)) {
            let a = self
                .client
                .batch("companies", "upsert", chunk.to_vec(), None)
                .await?;
            if !a.status.is_success() {
                tracing::warn!(status = a.status.as_u16(), body = %a.body, "companies not written");
                let why = a
                    .body
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("refused");
                for (sid, _) in cs {
                    outcomes.push(WriteOutcome::Unlinked {
                        ssot_id: sid.clone(),
                        key: "company".into(),
                        target: String::new(),
                        message: format!(
                            "the company was not written (HTTP {}: {why})",
                            a.status.as_u16()
                        ),
                    });
                }
                continue;
            }
            for (obj, (sid, c)) in a
                .body
                .get("results")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .zip(cs)
            {
                if let Some(id) = obj.get("id").and_then(Value::as_str) {
                    pairs.push((c.clone(), id.to_string()));
                    owner.insert(c.clone(), sid.clone());
                }
            }
        }
        for failed in self
            .client
            .associate("contacts", "companies", &pairs)
            .await?
        {
            if let Some(sid) = owner.get(&failed.from) {
                outcomes.push(WriteOutcome::Unlinked {
                    ssot_id: sid.clone(),
                    key: "company".into(),
                    target: failed.to,
                    message: failed.message,
                });
            }
        }
        Ok(outcomes)
    }
}

impl Connector for Hubspot {
    fn name(&self) -> &str {
        NAME
    }

    fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    fn push_chunk(&self) -> usize {
        PUSH_CHUNK
    }

    fn load_state(&mut self, state: Value) {
        self.state = serde_json::from_value(state).unwrap_or_default();
    }

    fn save_state(&self) -> Value {
        serde_json::to_value(&self.state).unwrap_or(Value::Null)
    }

    async fn pull(&mut self, cursor: Option<&Value>) -> Result<Pulled, ConnectorError> {
        let cursor: Option<HubspotCursor> =
            cursor.and_then(|c| serde_json::from_value(c.clone()).ok());
        let started = now_ms();
        let overlap =
            i64::try_from(self.cfg.overlap_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
        let mut records = Vec::new();
        let mut next = HubspotCursor::default();
        let mut full = true;
        for object in self.objects() {
            let since = cursor.as_ref().and_then(|c| c.since.get(object).copied());
            full &= since.is_none();
            records.extend(self.pull_object(object, since).await?);
            next.since
                .insert(object.to_string(), started.saturating_sub(overlap));
        }
        Ok(Pulled {
            records,
            cursor: serde_json::to_value(next).unwrap_or(Value::Null),
            full,
        })
    }

    async fn fetch(
        &mut self,
        note_type: &str,
        ids: &[String],
    ) -> Result<Vec<RemoteRecord>, ConnectorError> {
        let Some(object) = self.map(note_type).map(|m| m.object) else {
            return Ok(Vec::new());
        };
        let props = self.read_props(object);
        let mut out = Vec::new();
        for chunk in ids.chunks(MAX_BATCH) {
            let inputs = chunk.iter().map(|id| json!({"id": id})).collect();
            let a = self
                .client
                .batch(object, "read", inputs, Some(&props))
                .await?;
            for obj in a
                .body
                .get("results")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(r) = self.to_record(object, obj) {
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
        let Some(object) = self.map(note_type).map(|m| m.object) else {
            return Ok(Vec::new());
        };
        if !self.archived_ids.contains_key(object) {
            let mut all = BTreeSet::new();
            let mut after: Option<String> = None;
            loop {
                let page = self.client.list_archived(object, after.as_deref()).await?;
                for obj in &page.results {
                    if let Some(id) = obj.get("id").and_then(Value::as_str) {
                        all.insert(id.to_string());
                    }
                }
                match page.after {
                    Some(a) => after = Some(a),
                    None => break,
                }
            }
            self.archived_ids.insert(object.to_string(), all);
        }
        let all = &self.archived_ids[object];
        Ok(ids.iter().filter(|i| all.contains(*i)).cloned().collect())
    }

    async fn upsert(
        &mut self,
        run_id: &str,
        batch: &[Upsert],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let mut out = Vec::new();
        let types: Vec<String> = self.maps.iter().map(|m| m.note_type.clone()).collect();
        for ty in types {
            let items: Vec<&Upsert> = batch.iter().filter(|u| u.note_type == ty).collect();
            if !items.is_empty() {
                out.extend(self.upsert_type(run_id, &ty, &items).await?);
            }
        }
        Ok(out)
    }

    async fn associated(
        &mut self,
        note_type: &str,
        ids: &[String],
        kinds: &[String],
    ) -> Result<BTreeMap<String, Vec<(String, String)>>, ConnectorError> {
        let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let Some(from) = self.map(note_type).map(|m| m.object) else {
            return Ok(out);
        };
        if ids.is_empty() {
            return Ok(out);
        }
        for kind in kinds {
            for (id, to) in self.client.read_associations(from, kind, ids).await? {
                out.entry(id)
                    .or_default()
                    .extend(to.into_iter().map(|t| (kind.clone(), t)));
            }
        }
        Ok(out)
    }

    async fn archive(&mut self, note_type: &str, ids: &[String]) -> Result<(), ConnectorError> {
        let Some(object) = self.map(note_type).map(|m| m.object) else {
            return Ok(());
        };
        for chunk in ids.chunks(MAX_BATCH) {
            let inputs = chunk.iter().map(|id| json!({"id": id})).collect();
            let a = self.client.batch(object, "archive", inputs, None).await?;
            if !a.status.is_success() {
                return Err(self.proto(
                    NAME,
                    format!("archive {object}: HTTP {}", a.status.as_u16()),
                ));
            }
        }
        Ok(())
    }

    async fn healthcheck(&mut self) -> Result<Health, ConnectorError> {
        let a = self.client.ping().await?;
        match a.status {
            s if s.is_success() => Ok(Health {
                detail: format!("HubSpot at {}: token accepted", self.cfg.base_url),
            }),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(self.proto(
                NAME,
                match &self.source {
                    Some(source) => format!(
                        "the token from {source} was refused (HTTP {})",
                        a.status.as_u16()
                    ),
                    None => format!("the token was refused (HTTP {})", a.status.as_u16()),
                },
            )),
            s => Err(self.proto(NAME, format!("unexpected HTTP {}", s.as_u16()))),
        }
    }

    fn stats(&self) -> HttpStats {
        self.client.http.stats()
    }

    fn pacing(&self) -> Pacing {
        self.client.http.pacing()
    }

    fn restore_pacing(&mut self, pacing: &Pacing) {
        self.client.http.restore_pacing(pacing);
    }
}
