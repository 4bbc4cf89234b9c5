//! The Jira workflow and the actions of the plan ([`Connector::act`](crate::connectors::Connector::act)):
//! statuses moved by the workflow's transitions (the direct one, else two steps through a status
//! the edges seen say leads on), deletes with children, the expert's task under a project's issue
//! (made once, by its label) and access grants (assignee and project role), each idempotent.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::client::{MAX_BULK_TRANSITION, error_message};
use super::config::{ACCOUNT_KEY, NAME};
use super::{Jira, LABEL_PREFIX, quoted};
use crate::connectors::http::HttpError;
use crate::connectors::{ActionOutcome, ConnectorError, RemoteAction, WriteOutcome};

/// The inputs of one bulk transition task: (transition id, issue keys).
type TransitionGroups = Vec<(String, Vec<String>)>;

/// What became of a status move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Moved {
    Done,
    Gone,
    Refused(String),
}

impl Jira {
    /// Deletes an issue with its children (an Epic's tasks, which Jira would only unparent) and
    /// subtasks, children first: a delete cut short leaves the issue, and is carried out again
    /// whole. The issue's answer (204, or 404 when it is gone).
    pub(super) async fn delete_with_children(
        &self,
        key: &str,
    ) -> Result<crate::connectors::http::Answer, ConnectorError> {
        let jql = format!("parent = {} ORDER BY key", quoted(key));
        // JQL naming an issue that does not exist is refused (400): then it has no children.
        let children = match self
            .client
            .search_all(&jql, &["summary".to_string()], false)
            .await
        {
            Ok(c) => c,
            Err(HttpError::Status { status: 400, .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        for c in children {
            if let Some(k) = c.get("key").and_then(Value::as_str) {
                let a = self.client.delete(k).await?;
                if !a.status.is_success() && a.status != StatusCode::NOT_FOUND {
                    return Err(self.proto(format!("delete {k}: {}", error_message(&a))));
                }
            }
        }
        Ok(self.client.delete(key).await?)
    }

    /// The transitions available on `key` (learnt as the edges of `from`); `None`: no issue.
    async fn available(
        &mut self,
        key: &str,
        from: &str,
    ) -> Result<Option<Vec<(String, String)>>, ConnectorError> {
        let a = self.client.transitions(key).await?;
        if a.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !a.status.is_success() {
            return Err(self.proto(format!("transitions of {key}: {}", error_message(&a))));
        }
        let list: Vec<(String, String)> = a
            .body
            .get("transitions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t.get("id")?.as_str()?.to_string(),
                    t.pointer("/to/name")?.as_str()?.to_string(),
                ))
            })
            .collect();
        self.state.edges.insert(from.to_string(), list.clone());
        Ok(Some(list))
    }

    async fn take(&self, key: &str, id: &str) -> Result<Option<Moved>, ConnectorError> {
        let a = self.client.transition(key, id).await?;
        Ok(match a.status {
            s if s.is_success() => None,
            StatusCode::NOT_FOUND => Some(Moved::Gone),
            s if s.is_client_error() => Some(Moved::Refused(error_message(&a))),
            _ => return Err(self.proto(format!("transition {key}: {}", error_message(&a)))),
        })
    }

    /// Moves `key` from `current` to the status `target` by the workflow's transitions: the
    /// direct one, else two steps through a status from which the target is reachable (known
    /// from the edges seen, else the first one offered).
    pub(super) async fn move_to(
        &mut self,
        key: &str,
        current: &str,
        target: &str,
    ) -> Result<Moved, ConnectorError> {
        if current.eq_ignore_ascii_case(target) {
            return Ok(Moved::Done);
        }
        let Some(list) = self.available(key, current).await? else {
            return Ok(Moved::Gone);
        };
        if let Some((id, _)) = list.iter().find(|(_, to)| to.eq_ignore_ascii_case(target)) {
            return Ok(self.take(key, id).await?.unwrap_or(Moved::Done));
        }
        let leads = |to: &str| {
            self.state
                .edges
                .get(to)
                .is_some_and(|e| e.iter().any(|(_, t)| t.eq_ignore_ascii_case(target)))
        };
        let unknown = |to: &str| !self.state.edges.contains_key(to);
        let middle = list
            .iter()
            .find(|(_, to)| leads(to))
            .or_else(|| {
                list.iter()
                    .find(|(_, to)| unknown(to) && !to.eq_ignore_ascii_case(current))
            })
            .cloned();
        let Some((id, mid)) = middle else {
            return Ok(Moved::Refused(format!(
                "no transition leads from {current} to {target} in two steps"
            )));
        };
        if let Some(m) = self.take(key, &id).await? {
            return Ok(m);
        }
        let Some(list) = self.available(key, &mid).await? else {
            return Ok(Moved::Gone);
        };
        match list.iter().find(|(_, to)| to.eq_ignore_ascii_case(target)) {
            Some((id, _)) => Ok(self.take(key, id).await?.unwrap_or(Moved::Done)),
            None => Ok(Moved::Refused(format!(
                "moved {current} → {mid}, but no transition leads from {mid} to {target}"
            ))),
        }
    }

    /// Moves the issues of `moves` ((ssot_id, key, status)) to their statuses from their
    /// `current` ones (read with `statuses` when not given); returns the outcomes replacing
    /// their writes' (refused or gone).
    pub(super) async fn move_all(
        &mut self,
        moves: &[(String, String, String)],
        mut current: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, WriteOutcome>, ConnectorError> {
        let mut out = BTreeMap::new();
        let unknown: Vec<String> = moves
            .iter()
            .filter(|(_, k, _)| !current.contains_key(k))
            .map(|(_, k, _)| k.clone())
            .collect();
        if !unknown.is_empty() {
            current.extend(self.statuses(&unknown).await?);
        }
        // Issues sharing a status and a target that one transition joins move together, by one
        // bulk transition task; those it leaves where they were move one by one below.
        self.bulk_moves(moves, &mut current).await?;
        for (sid, key, target) in moves {
            let Some(now) = current.get(key) else {
                out.insert(
                    sid.clone(),
                    WriteOutcome::Gone {
                        ssot_id: sid.clone(),
                        remote_id: key.clone(),
                    },
                );
                continue;
            };
            match self.move_to(key, now, target).await? {
                Moved::Done => {}
                Moved::Gone => {
                    out.insert(
                        sid.clone(),
                        WriteOutcome::Gone {
                            ssot_id: sid.clone(),
                            remote_id: key.clone(),
                        },
                    );
                }
                Moved::Refused(m) => {
                    out.insert(
                        sid.clone(),
                        WriteOutcome::Refused {
                            ssot_id: sid.clone(),
                            message: format!("status {target} not reached: {m}"),
                        },
                    );
                }
            }
        }
        Ok(out)
    }

    /// Moves together, by one bulk transition task, the issues of `moves` whose current status
    /// and target one transition joins (groups of two or more; a single issue is moved by its
    /// own transition, one request instead of two). `current` is updated for those moved.
    async fn bulk_moves(
        &mut self,
        moves: &[(String, String, String)],
        current: &mut BTreeMap<String, String>,
    ) -> Result<(), ConnectorError> {
        let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for (_, key, target) in moves {
            if let Some(now) = current.get(key)
                && !now.eq_ignore_ascii_case(target)
            {
                groups
                    .entry((now.clone(), target.clone()))
                    .or_default()
                    .push(key.clone());
            }
        }
        let mut by_transition: Vec<(String, String, Vec<String>)> = Vec::new();
        for ((from, to), keys) in groups {
            if keys.len() < 2 {
                continue;
            }
            if !self.state.edges.contains_key(&from)
                && self.available(&keys[0], &from).await?.is_none()
            {
                continue;
            }
            let id = self.state.edges.get(&from).and_then(|e| {
                e.iter()
                    .find(|(_, t)| t.eq_ignore_ascii_case(&to))
                    .map(|(id, _)| id.clone())
            });
            if let Some(id) = id {
                by_transition.push((id, to, keys));
            }
        }
        let mut batch: Vec<(String, Vec<String>)> = Vec::new();
        let mut targets: BTreeMap<String, String> = BTreeMap::new();
        let mut count = 0;
        let mut tasks: Vec<(TransitionGroups, BTreeMap<String, String>)> = Vec::new();
        for (id, to, keys) in by_transition {
            for chunk in keys.chunks(MAX_BULK_TRANSITION) {
                if count + chunk.len() > MAX_BULK_TRANSITION {
                    tasks.push((std::mem::take(&mut batch), std::mem::take(&mut targets)));
                    count = 0;
                }
                count += chunk.len();
                targets.extend(chunk.iter().map(|k| (k.clone(), to.clone())));
                batch.push((id.clone(), chunk.to_vec()));
            }
        }
        if !batch.is_empty() {
            tasks.push((batch, targets));
        }
        for (groups, targets) in tasks {
            let task = self.client.bulk_transition(&groups).await?;
            let done = self.wait_task(&task).await?;
            if done {
                // Every issue moved: their statuses are the targets now.
                current.extend(targets);
            } else {
                // Some were left: their statuses read again, each then moved on its own.
                let keys: Vec<String> = targets.keys().cloned().collect();
                let now = self.statuses(&keys).await?;
                for k in keys {
                    match now.get(&k) {
                        Some(s) => current.insert(k, s.clone()),
                        None => current.remove(&k),
                    };
                }
            }
        }
        Ok(())
    }

    /// Polls a bulk task until it ends; whether every issue it named was moved.
    async fn wait_task(&self, task: &str) -> Result<bool, ConnectorError> {
        let mut delay = 100u64;
        for _ in 0..60 {
            let v = self.client.bulk_queue(task).await?;
            match v.get("status").and_then(Value::as_str).unwrap_or("") {
                "COMPLETE" => {
                    let failed = v
                        .get("failedAccessibleIssues")
                        .and_then(Value::as_object)
                        .is_some_and(|f| !f.is_empty());
                    let inaccessible = v
                        .get("invalidOrInaccessibleIssueCount")
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                    return Ok(!failed && inaccessible == 0);
                }
                "FAILED" | "CANCELLED" | "DEAD" => return Ok(false),
                _ => {
                    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                    delay = (delay * 2).min(2_000);
                }
            }
        }
        // Left running: it may still change issues, when is not known.
        self.client.undated();
        Ok(false)
    }

    /// The account a link of an action's note resolves to (its first target).
    fn account_of<'a>(action: &'a RemoteAction, link: &str) -> Option<&'a str> {
        action
            .links
            .iter()
            .find(|(k, _)| k == link)
            .and_then(|(_, ids)| ids.first())
            .map(String::as_str)
    }

    /// The project role id `grant_role` names (`None`: no role configured).
    async fn grant_role_id(&self) -> Result<Option<String>, ConnectorError> {
        if self.cfg.grant_role.trim().is_empty() {
            return Ok(None);
        }
        let roles = self.client.roles(&self.cfg.project_key).await?;
        match roles
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(self.cfg.grant_role.trim()))
        {
            Some((_, id)) => Ok(Some(id)),
            None => Err(ConnectorError::Config {
                service: NAME.into(),
                message: format!(
                    "the project {} has no role `{}` (grant_role)",
                    self.cfg.project_key, self.cfg.grant_role
                ),
            }),
        }
    }

    /// A child task under the issue `parent`, labelled `ssot-<ssot_id>-<kind>` so that it is made
    /// once (found again by its label, also after a lost answer), assigned to the account of the
    /// link `assignee`.
    pub(super) async fn create_child(
        &self,
        action: &RemoteAction,
        parent: &str,
        kind: &str,
        assignee: Option<&str>,
    ) -> Result<ActionOutcome, ConnectorError> {
        let kind: String = kind
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let label = format!("{LABEL_PREFIX}{}-{kind}", action.ssot_id);
        if self.statuses(&[parent.to_string()]).await?.is_empty() {
            return Ok(ActionOutcome::Gone);
        }
        let jql = format!(
            "project = {} AND labels = {}",
            quoted(&self.cfg.project_key),
            quoted(&label)
        );
        if !self
            .client
            .search_all(&jql, &["labels".to_string()], false)
            .await?
            .is_empty()
        {
            return Ok(ActionOutcome::Done);
        }
        let stem = std::path::Path::new(&action.rel).file_stem().map_or_else(
            || action.ssot_id.clone(),
            |s| s.to_string_lossy().into_owned(),
        );
        let mut fields = json!({
            "project": { "key": self.cfg.project_key },
            "issuetype": { "name": self.cfg.task_type },
            "parent": { "key": parent },
            "summary": format!("{stem}: {kind}"),
            "labels": [label],
        });
        if let Some(a) = assignee.and_then(|l| Self::account_of(action, l)) {
            fields["assignee"] = json!({ "accountId": a });
        }
        let a = self.client.create(&json!({ "fields": fields })).await?;
        Ok(match a.status {
            s if s.is_success() => ActionOutcome::Done,
            s if s.is_client_error() => ActionOutcome::Refused {
                message: error_message(&a),
            },
            _ => {
                return Err(self.proto(format!(
                    "create the task of {parent}: {}",
                    error_message(&a)
                )));
            }
        })
    }

    /// Gives (or takes back) the account of the link `link` access to the issue: the assignee,
    /// and an actor of the project role `grant_role`. Idempotent both ways.
    pub(super) async fn grant(
        &self,
        action: &RemoteAction,
        key: &str,
        link: &str,
        give: bool,
    ) -> Result<ActionOutcome, ConnectorError> {
        let Some(account) = Self::account_of(action, link) else {
            return Ok(ActionOutcome::Refused {
                message: format!(
                    "the note's `{link}` has no Jira account (`{ACCOUNT_KEY}` in its note)"
                ),
            });
        };
        let issue = self
            .client
            .bulk_fetch(&[key.to_string()], &["assignee".to_string()])
            .await?;
        let Some(issue) = issue.first() else {
            // The issue is gone; the role, which opens the whole project, is still taken back.
            if !give && let Some(role) = self.grant_role_id().await? {
                let a = self
                    .client
                    .remove_actor(&self.cfg.project_key, &role, account)
                    .await?;
                if !a.status.is_success() && a.status != StatusCode::NOT_FOUND {
                    return Ok(ActionOutcome::Refused {
                        message: error_message(&a),
                    });
                }
            }
            return Ok(ActionOutcome::Gone);
        };
        let assigned = issue
            .pointer("/fields/assignee/accountId")
            .and_then(Value::as_str);
        let want = if give {
            (assigned != Some(account)).then(|| json!({ "accountId": account }))
        } else {
            (assigned == Some(account)).then_some(Value::Null)
        };
        if let Some(v) = want {
            let a = self
                .client
                .edit(key, &json!({ "fields": { "assignee": v } }))
                .await?;
            match a.status {
                s if s.is_success() => {}
                StatusCode::NOT_FOUND => return Ok(ActionOutcome::Gone),
                s if s.is_client_error() => {
                    return Ok(ActionOutcome::Refused {
                        message: error_message(&a),
                    });
                }
                _ => return Err(self.proto(format!("assign {key}: {}", error_message(&a)))),
            }
        }
        if let Some(role) = self.grant_role_id().await? {
            let project = self.cfg.project_key.clone();
            let a = if give {
                self.client.add_actor(&project, &role, account).await?
            } else {
                self.client.remove_actor(&project, &role, account).await?
            };
            match a.status {
                s if s.is_success() => {}
                // Not an actor: nothing to take back.
                StatusCode::NOT_FOUND if !give => {}
                s if s.is_client_error() => {
                    return Ok(ActionOutcome::Refused {
                        message: error_message(&a),
                    });
                }
                _ => return Err(self.proto(format!("project role: {}", error_message(&a)))),
            }
        }
        Ok(ActionOutcome::Done)
    }
}
