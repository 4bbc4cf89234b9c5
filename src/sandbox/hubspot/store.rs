//! The HubSpot emulator's data model: the account's records, property definitions, associations
//! and owners, persisted under `hubspot` in the sandbox's state file (`sandbox/store.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The HubSpot account: records, property definitions, associations and owners.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct HubspotData {
    /// Last record id handed out (ids are shared by all object types, as in a portal).
    pub last_id: u64,
    /// Records by canonical object type (`contacts`, `companies`, `deals`) then id.
    pub objects: BTreeMap<String, BTreeMap<u64, Record>>,
    /// Property definitions by object type then name.
    pub properties: BTreeMap<String, BTreeMap<String, PropertyDef>>,
    /// Associations as unordered pairs of `(type, id)`, stored with the smaller pair first.
    pub associations: BTreeSet<((String, u64), (String, u64))>,
    /// Owners (`GET /crm/v3/owners`).
    pub owners: Vec<Owner>,
}

/// One CRM record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Record id.
    pub id: u64,
    /// Property values (absent = no value).
    pub properties: BTreeMap<String, String>,
    /// Creation time, epoch ms.
    pub created_ms: i64,
    /// Last modification time, epoch ms.
    pub updated_ms: i64,
    /// In the recycle bin.
    pub archived: bool,
    /// When it was archived, epoch ms.
    pub archived_ms: Option<i64>,
    /// What search sees while the latest write is not yet indexed (`None`: not visible at all).
    #[serde(default)]
    pub search_view: Option<Box<Record>>,
    /// Epoch ms at which the latest write becomes visible to search.
    #[serde(default)]
    pub indexed_at_ms: i64,
}

crate::sandbox::store::lagged!(Record);

/// A property definition (`/crm/v3/properties/{type}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PropertyDef {
    /// Internal name.
    pub name: String,
    /// Display label.
    pub label: String,
    /// Data type: string, number, date, datetime, enumeration, bool.
    #[serde(rename = "type")]
    pub kind: String,
    /// Form field type: text, textarea, number, date, select, booleancheckbox, ...
    pub field_type: String,
    /// Property group.
    pub group_name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Values must be unique among the object's records.
    #[serde(default)]
    pub has_unique_value: bool,
    /// Defined by HubSpot (seeded) rather than by the user.
    #[serde(default)]
    pub hubspot_defined: bool,
    /// Only the server writes the value.
    #[serde(default)]
    pub read_only_value: bool,
    /// Enumeration options (`label`, `value`).
    #[serde(default)]
    pub options: Vec<(String, String)>,
    /// Creation time, epoch ms.
    #[serde(default)]
    pub created_ms: i64,
}

/// A HubSpot user who can own records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Owner {
    /// Owner id (the value of `hubspot_owner_id`).
    pub id: String,
    /// Email.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// User id.
    pub user_id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::store::Lagged;

    #[test]
    fn search_view_lags() {
        let mut r = Record {
            id: 1,
            properties: BTreeMap::new(),
            created_ms: 0,
            updated_ms: 0,
            archived: false,
            archived_ms: None,
            search_view: None,
            indexed_at_ms: 0,
        };
        r.mark_written(None, 100, 50);
        assert!(r.searchable(120).is_none());
        assert!(r.searchable(150).is_some());
        let before = r.clone();
        r.properties.insert("a".into(), "b".into());
        r.mark_written(Some(&before), 200, 50);
        assert!(r.searchable(210).is_some_and(|v| v.properties.is_empty()));
        assert_eq!(r.searchable(260).map(|v| v.properties.len()), Some(1));
    }
}
