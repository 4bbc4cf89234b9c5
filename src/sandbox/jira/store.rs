//! The Jira emulator's data model: the site's projects, issues, users, custom fields, issue types,
//! priorities and workflows, persisted under `jira` in the sandbox's state file
//! (`sandbox/store.rs`), and the seeded site every fresh sandbox starts from.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Email of the seeded consultancy account (the site administrator the connector logs in as).
pub const DEFAULT_EMAIL: &str = "ops@consultancy.example";
/// API token of the seeded consultancy account.
pub const DEFAULT_TOKEN: &str = "sandbox-jira-token";
/// Key of the seeded project.
pub const PROJECT_KEY: &str = "SSOT";

/// The Jira site: everything the emulator serves.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JiraData {
    /// Last issue id handed out (ids are site-wide, keys per project).
    pub last_issue_id: u64,
    /// Last comment / changelog id handed out.
    pub last_event_id: u64,
    /// Projects by key.
    pub projects: BTreeMap<String, Project>,
    /// Issues by id, deleted ones kept (flagged) for the admin dump.
    pub issues: BTreeMap<u64, Issue>,
    /// Users of the site.
    pub users: Vec<User>,
    /// Custom fields (`customfield_NNNNN`).
    pub custom_fields: Vec<CustomField>,
    /// Issue types.
    pub issue_types: Vec<IssueType>,
    /// Priorities.
    pub priorities: Vec<Priority>,
    /// Statuses.
    pub statuses: Vec<Status>,
    /// Project roles (site-wide definitions; actors are per project).
    pub roles: Vec<Role>,
    /// Workflows by issue type name; `*` is the one every other type uses.
    pub workflows: BTreeMap<String, Vec<TransitionDef>>,
    /// Bulk operation tasks by id, as `GET /bulk/queue/{taskId}` renders them.
    pub bulk_tasks: BTreeMap<u64, Value>,
}

/// A project.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Project {
    /// Numeric id.
    pub id: u64,
    /// Key (`SSOT`).
    pub key: String,
    /// Name.
    pub name: String,
    /// Last issue number used in keys (`SSOT-<n>`).
    pub last_number: u64,
    /// Account ids of each role's actors, by role id.
    pub role_actors: BTreeMap<u64, BTreeSet<String>>,
}

/// A Jira user (an Atlassian account).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    /// Account id.
    pub account_id: String,
    /// Email, also the Basic auth user name.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// API token accepted with the email.
    pub api_token: String,
    /// Site administrator: browses every project and manages roles.
    pub admin: bool,
    /// Active account.
    pub active: bool,
}

/// A custom field definition (`GET /rest/api/3/field`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomField {
    /// `customfield_NNNNN`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Value type: `number`, `string` (single line), `textarea` (ADF), `date`.
    pub kind: String,
}

/// An issue type.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IssueType {
    /// Id.
    pub id: String,
    /// Name (`Epic`, `Task`, `Subtask`).
    pub name: String,
    /// A subtask type (needs a parent of level 0).
    pub subtask: bool,
    /// Hierarchy level: 1 epic, 0 standard, -1 subtask.
    pub level: i32,
}

/// A priority.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Priority {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A status.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Category key: `new`, `indeterminate`, `done`.
    pub category: String,
}

/// A project role.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Role {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
}

/// A workflow transition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransitionDef {
    /// Transition id.
    pub id: String,
    /// Name shown on the button.
    pub name: String,
    /// Status ids it starts from (empty: global, from any status).
    pub from: Vec<String>,
    /// Status id it goes to.
    pub to: String,
}

/// One change in an issue's history (`expand=changelog`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct History {
    /// Id.
    pub id: u64,
    /// Account id of the author.
    pub author: String,
    /// When, epoch ms.
    pub created_ms: i64,
    /// The changed items: `{field, fieldtype, fieldId, from, fromString, to, toString}`.
    pub items: Vec<Value>,
}

/// A comment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comment {
    /// Id.
    pub id: u64,
    /// Account id of the author.
    pub author: String,
    /// ADF body.
    pub body: Value,
    /// When, epoch ms.
    pub created_ms: i64,
}

/// An issue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Issue {
    /// Numeric id.
    pub id: u64,
    /// Key (`SSOT-1`).
    pub key: String,
    /// Project key.
    pub project: String,
    /// Issue type id.
    pub issue_type: String,
    /// Status id.
    pub status: String,
    /// Parent issue id.
    pub parent: Option<u64>,
    /// Reporter account id.
    pub reporter: String,
    /// Editable field values by field id (`summary`, `description`, `labels`, `duedate`,
    /// `priority` (id), `assignee` (account id), `timeoriginalestimate` (seconds), custom fields).
    pub fields: Map<String, Value>,
    /// Creation time, epoch ms.
    pub created_ms: i64,
    /// Last change, epoch ms.
    pub updated_ms: i64,
    /// Deleted (kept for the admin dump only).
    pub deleted_ms: Option<i64>,
    /// History, oldest first.
    pub changelog: Vec<History>,
    /// Comments, oldest first.
    pub comments: Vec<Comment>,
    /// What search sees while the latest write is not yet indexed (`None`: not visible at all).
    #[serde(default)]
    pub search_view: Option<Box<Issue>>,
    /// Epoch ms at which the latest write becomes visible to search.
    #[serde(default)]
    pub indexed_at_ms: i64,
}

crate::sandbox::store::lagged!(Issue);

impl Issue {
    /// Labels.
    pub fn labels(&self) -> Vec<String> {
        self.fields
            .get("labels")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl JiraData {
    /// A user by account id.
    pub fn user(&self, account_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.account_id == account_id)
    }

    /// A live issue by key or id.
    pub fn issue_id(&self, key_or_id: &str) -> Option<u64> {
        let found = match key_or_id.parse::<u64>() {
            Ok(id) => self.issues.get(&id),
            Err(_) => self
                .issues
                .values()
                .find(|i| i.key.eq_ignore_ascii_case(key_or_id)),
        };
        found.filter(|i| i.deleted_ms.is_none()).map(|i| i.id)
    }

    /// Whether a user may browse a project: a site administrator, or an actor of one of its roles.
    pub fn can_browse(&self, account_id: &str, project: &str) -> bool {
        if self.user(account_id).is_some_and(|u| u.admin) {
            return true;
        }
        self.projects
            .get(project)
            .is_some_and(|p| p.role_actors.values().any(|a| a.contains(account_id)))
    }

    /// The transitions of an issue type's workflow.
    pub fn workflow(&self, issue_type: &str) -> &[TransitionDef] {
        let name = self
            .issue_types
            .iter()
            .find(|t| t.id == issue_type)
            .map(|t| t.name.as_str())
            .unwrap_or("*");
        self.workflows
            .get(name)
            .or_else(|| self.workflows.get("*"))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// A status by id.
    pub fn status(&self, id: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.id == id)
    }

    /// An issue type by id.
    pub fn issue_type(&self, id: &str) -> Option<&IssueType> {
        self.issue_types.iter().find(|t| t.id == id)
    }
}

/// The accounts seeded on the site: the consultancy (administrator) and two experts.
pub const SEED_USERS: [(&str, &str, &str, &str, bool); 3] = [
    (
        "557058:0b6a6f2e-0c1f-4d7a-9c55-ssot00000001",
        DEFAULT_EMAIL,
        "Consultancy Ops",
        DEFAULT_TOKEN,
        true,
    ),
    (
        "712020:5f1c2a7e-9b3d-4e8a-a1f0-expert000001",
        "ewa.lis@experts.example",
        "Ewa Lis",
        "sandbox-jira-token-ewa",
        false,
    ),
    (
        "712020:8d4e6b1a-2c7f-4a9e-b3d2-expert000002",
        "jan.bak@experts.example",
        "Jan Bąk",
        "sandbox-jira-token-jan",
        false,
    ),
];

/// Role id of the project's administrators.
pub const ROLE_ADMINISTRATORS: u64 = 10002;
/// Role id of the project's members (the role an expert is granted).
pub const ROLE_MEMBERS: u64 = 10001;

/// The seeded site: project `SSOT`, users, issue types, priorities, custom fields and the
/// default workflow (To Do, On Hold, In Progress, Blocked, Done).
pub fn seed() -> JiraData {
    let s = |id: &str, name: &str| (id.to_owned(), name.to_owned());
    let statuses = [
        ("10000", "To Do", "new"),
        ("10001", "On Hold", "indeterminate"),
        ("3", "In Progress", "indeterminate"),
        ("10002", "Blocked", "indeterminate"),
        ("10003", "Done", "done"),
    ]
    .iter()
    .map(|(id, name, cat)| Status {
        id: (*id).into(),
        name: (*name).into(),
        category: (*cat).into(),
    })
    .collect();
    let t = |id: &str, name: &str, from: &[&str], to: &str| TransitionDef {
        id: id.into(),
        name: name.into(),
        from: from.iter().map(|f| (*f).to_owned()).collect(),
        to: to.into(),
    };
    // No direct To Do → Done, nor On Hold → Blocked: some moves take two steps.
    let workflow = vec![
        t("11", "Start", &["10000"], "3"),
        t("21", "Put on hold", &["10000", "3"], "10001"),
        t("31", "Resume", &["10001"], "3"),
        t("41", "Block", &["3"], "10002"),
        t("51", "Unblock", &["10002"], "3"),
        t("61", "Done", &["3"], "10003"),
        t("71", "Reopen", &["10003", "10001", "10002"], "10000"),
    ];
    let mut role_actors = BTreeMap::new();
    role_actors.insert(
        ROLE_ADMINISTRATORS,
        BTreeSet::from([SEED_USERS[0].0.to_owned()]),
    );
    role_actors.insert(ROLE_MEMBERS, BTreeSet::new());
    let project = Project {
        id: 10000,
        key: PROJECT_KEY.into(),
        name: "Consultancy projects".into(),
        last_number: 0,
        role_actors,
    };
    JiraData {
        last_issue_id: 10000,
        last_event_id: 10000,
        projects: BTreeMap::from([(PROJECT_KEY.to_owned(), project)]),
        issues: BTreeMap::new(),
        users: SEED_USERS
            .iter()
            .map(|(id, email, name, token, admin)| User {
                account_id: (*id).into(),
                email: (*email).into(),
                display_name: (*name).into(),
                api_token: (*token).into(),
                admin: *admin,
                active: true,
            })
            .collect(),
        custom_fields: [
            ("customfield_10050", "Budget", "number"),
            ("customfield_10051", "Client", "string"),
            ("customfield_10052", "Credentialing notes", "textarea"),
        ]
        .iter()
        .map(|(id, name, kind)| CustomField {
            id: (*id).into(),
            name: (*name).into(),
            kind: (*kind).into(),
        })
        .collect(),
        issue_types: vec![
            IssueType {
                id: "10000".into(),
                name: "Epic".into(),
                subtask: false,
                level: 1,
            },
            IssueType {
                id: "10001".into(),
                name: "Task".into(),
                subtask: false,
                level: 0,
            },
            IssueType {
                id: "10002".into(),
                name: "Subtask".into(),
                subtask: true,
                level: -1,
            },
        ],
        priorities: [
            s("1", "Highest"),
            s("2", "High"),
            s("3", "Medium"),
            s("4", "Low"),
            s("5", "Lowest"),
        ]
        .into_iter()
        .map(|(id, name)| Priority { id, name })
        .collect(),
        statuses,
        roles: vec![
            Role {
                id: ROLE_MEMBERS,
                name: "Member".into(),
            },
            Role {
                id: ROLE_ADMINISTRATORS,
                name: "Administrator".into(),
            },
        ],
        workflows: BTreeMap::from([("*".to_owned(), workflow)]),
        bulk_tasks: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_site_has_the_project_workflow_and_accounts() {
        let d = seed();
        assert!(d.projects.contains_key(PROJECT_KEY));
        assert_eq!(d.statuses.len(), 5);
        assert_eq!(d.workflow("10001").len(), 7);
        assert!(d.can_browse(SEED_USERS[0].0, PROJECT_KEY));
        assert!(!d.can_browse(SEED_USERS[1].0, PROJECT_KEY));
    }
}
