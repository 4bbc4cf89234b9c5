//! The Trello emulator's data model: members, boards with their lists, labels and custom field
//! definitions, cards with their checklists, custom field items and attachments, and the actions
//! feed, persisted under `trello` in the sandbox's state file (`sandbox/store.rs`).
//!
//! Ids are 24-hex Trello (Mongo ObjectId) ids whose first 8 hex digits are the creation time in
//! seconds, as Trello's are; the rest is a counter, so ids are unique within a state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The Trello account: everything the emulator holds.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TrelloData {
    /// Counter behind the ids handed out.
    pub last_id: u64,
    /// Members; the first one owns the sandbox's API token.
    pub members: Vec<Member>,
    /// Boards by id.
    pub boards: BTreeMap<String, Board>,
    /// Lists by id.
    pub lists: BTreeMap<String, List>,
    /// Labels by id.
    pub labels: BTreeMap<String, Label>,
    /// Custom field definitions by id.
    pub custom_fields: BTreeMap<String, CustomField>,
    /// Cards by id (a deleted card is gone).
    pub cards: BTreeMap<String, Card>,
    /// Checklists by id.
    pub checklists: BTreeMap<String, Checklist>,
    /// Attachments by id.
    pub attachments: BTreeMap<String, Attachment>,
    /// Every action, oldest first (comments are `commentCard` actions).
    pub actions: Vec<Action>,
}

impl TrelloData {
    /// A fresh 24-hex id created at `now_ms`.
    pub fn new_id(&mut self, now_ms: i64) -> String {
        self.last_id += 1;
        let secs = (now_ms / 1000).clamp(0, i64::from(u32::MAX));
        format!("{secs:08x}{:06x}{:010x}", 0x5a_b0c7, self.last_id)
    }

    /// The member with this id.
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }
}

/// Whether `s` has the shape of a Trello id (24 hex digits).
pub fn is_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A Trello member (a person with an account).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Member {
    /// Member id.
    pub id: String,
    /// Username (`@name`).
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// The API token acting as this member (the first member's is the configured one).
    pub token: String,
}

/// A board.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Board {
    /// Board id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// Archived.
    pub closed: bool,
    /// Member ids.
    pub id_members: Vec<String>,
    /// Last card number handed out (`idShort`).
    pub last_short: u64,
}

/// A list of a board.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct List {
    /// List id.
    pub id: String,
    /// Board id.
    pub id_board: String,
    /// Name.
    pub name: String,
    /// Archived.
    pub closed: bool,
    /// Position on the board.
    pub pos: f64,
}

/// A label of a board.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Label {
    /// Label id.
    pub id: String,
    /// Board id.
    pub id_board: String,
    /// Name.
    pub name: String,
    /// Colour (`green`, `yellow`, `red`, ...).
    pub color: String,
}

/// A custom field definition of a board.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomField {
    /// Field id.
    pub id: String,
    /// Board id (`idModel`).
    pub id_board: String,
    /// Name.
    pub name: String,
    /// Type: `text`, `number`, `date`, `checkbox` or `list`.
    pub kind: String,
    /// Position.
    pub pos: f64,
    /// Options of a `list` field: `(id, text)`.
    pub options: Vec<(String, String)>,
}

/// A custom field value on a card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FieldItem {
    /// Item id.
    pub id: String,
    /// The field.
    pub id_custom_field: String,
    /// The value object (`{"text": …}`, `{"number": …}`, ...); `None` for a `list` field.
    pub value: Option<Value>,
    /// The chosen option of a `list` field.
    pub id_value: Option<String>,
}

/// A card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Card {
    /// Card id.
    pub id: String,
    /// Board id.
    pub id_board: String,
    /// List id.
    pub id_list: String,
    /// Number of the card on its board.
    pub id_short: u64,
    /// Name.
    pub name: String,
    /// Description (Markdown).
    pub desc: String,
    /// Due date, ISO-8601.
    pub due: Option<String>,
    /// Due date marked complete.
    pub due_complete: bool,
    /// Archived.
    pub closed: bool,
    /// Position in its list.
    pub pos: f64,
    /// Label ids.
    pub id_labels: Vec<String>,
    /// Member ids.
    pub id_members: Vec<String>,
    /// Last activity, epoch ms.
    pub last_activity_ms: i64,
    /// Custom field values.
    pub field_items: Vec<FieldItem>,
}

/// One item of a checklist.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckItem {
    /// Item id.
    pub id: String,
    /// Text.
    pub name: String,
    /// `complete` or `incomplete`.
    pub state: String,
    /// Position in the checklist.
    pub pos: f64,
}

/// A checklist on a card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checklist {
    /// Checklist id.
    pub id: String,
    /// Card id.
    pub id_card: String,
    /// Board id.
    pub id_board: String,
    /// Name.
    pub name: String,
    /// Position on the card.
    pub pos: f64,
    /// Items.
    pub check_items: Vec<CheckItem>,
}

/// A file (or link) attached to a card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attachment {
    /// Attachment id.
    pub id: String,
    /// Card id.
    pub id_card: String,
    /// Name.
    pub name: String,
    /// File name of an upload (empty for a link).
    pub file_name: String,
    /// MIME type.
    pub mime_type: String,
    /// The uploaded bytes.
    pub bytes: Vec<u8>,
    /// The link of a link attachment (`None`: an upload).
    pub link: Option<String>,
    /// Who attached it.
    pub id_member: String,
    /// When, epoch ms.
    pub date_ms: i64,
}

/// One entry of the actions feed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Action {
    /// Action id.
    pub id: String,
    /// Trello's action type (`createCard`, `updateCard`, `commentCard`, ...).
    pub kind: String,
    /// When, epoch ms.
    pub date_ms: i64,
    /// Who made the change.
    pub id_member_creator: String,
    /// The board it happened on.
    pub id_board: String,
    /// The card it concerns, if any.
    pub id_card: Option<String>,
    /// Trello's `data` object.
    pub data: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_trello_ids_carrying_their_time() {
        let mut d = TrelloData::default();
        let a = d.new_id(1_700_000_000_123);
        let b = d.new_id(1_700_000_000_123);
        assert!(is_id(&a) && is_id(&b));
        assert_ne!(a, b);
        assert_eq!(u32::from_str_radix(&a[..8], 16).ok(), Some(1_700_000_000));
        assert!(!is_id("abc") && !is_id(&"g".repeat(24)));
    }
}
