//! The boards' lists a sync needs: each list the status table names on the projects' board, and
//! the helpdesk lists on the helpdesk board when tickets are synced; found, made (`doctor
//! --fix`) or reported missing (`doctor`).

use serde_json::Value;

use super::{Trello, str_of};
use crate::connectors::ConnectorError;
use crate::connectors::Conv;
use crate::connectors::trello::mapping::Part;

/// What became of one list a sync needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListStatus {
    /// The board has it.
    Found,
    /// The board lacked it and it was made.
    Created,
    /// The board lacks it (made when a card first goes to it, or by `doctor --fix`).
    Missing,
    /// The board lacked it and refused to make it: why.
    Refused(String),
}

/// One list a sync needs, on its board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCheck {
    /// The board's name (or reference, for the helpdesk board).
    pub board: String,
    /// The list's name.
    pub list: String,
    /// Found, made, missing or refused.
    pub status: ListStatus,
}

/// The distinct list names of a status table, in its order.
fn distinct(table: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, l) in table {
        if !out.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

impl Trello {
    /// The list names of the projects' status table, in its order.
    fn project_lists(&self) -> Vec<String> {
        self.map
            .parts
            .iter()
            .find_map(|p| match (&p.part, &p.spec.conv) {
                (Part::List, Conv::Table(t)) => Some(distinct(t)),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Checks the lists a sync needs on the projects' board (and the helpdesk board when the
    /// helpdesk is on); with `fix`, makes the missing ones at the end of their board.
    pub async fn board_lists(&mut self, fix: bool) -> Result<Vec<ListCheck>, ConnectorError> {
        self.ensure_board().await?;
        self.refresh_board().await?;
        let mut out = Vec::new();
        let board = self.state.board.clone();
        let board_name = self.state.board_name.clone();
        for list in self.project_lists() {
            let found = self.state.lists.values().any(|n| *n == list);
            let (status, made) = self.list_status(found, fix, &board, &list).await;
            if let Some(id) = made {
                self.state.lists.insert(id, list.clone());
            }
            out.push(ListCheck {
                board: board_name.clone(),
                list,
                status,
            });
        }
        if self.helpdesk_on() {
            self.ensure_helpdesk().await?;
            let board = self.state.helpdesk.board.clone();
            let name = self.cfg.helpdesk_board.trim().to_string();
            for list in distinct(&super::helpdesk::status_table(&self.cfg)) {
                let found = self.state.helpdesk.lists.values().any(|n| *n == list);
                let (status, made) = self.list_status(found, fix, &board, &list).await;
                if let Some(id) = made {
                    self.state.helpdesk.lists.insert(id, list.clone());
                }
                out.push(ListCheck {
                    board: name.clone(),
                    list,
                    status,
                });
            }
        }
        Ok(out)
    }

    /// One list's status, made first when missing and `fix`, with the id of a list made.
    async fn list_status(
        &self,
        found: bool,
        fix: bool,
        board: &str,
        list: &str,
    ) -> (ListStatus, Option<String>) {
        if found {
            return (ListStatus::Found, None);
        }
        if !fix {
            return (ListStatus::Missing, None);
        }
        match self.client.create_list(board, list).await {
            Ok(v) => match str_of(&v, "id") {
                Some(id) => (ListStatus::Created, Some(id.to_string())),
                None => (
                    ListStatus::Refused(format!("the answer has no list id: {}", trimmed(&v))),
                    None,
                ),
            },
            Err(e) => (ListStatus::Refused(e.to_string()), None),
        }
    }
}

/// A short rendering of an answer.
fn trimmed(v: &Value) -> String {
    v.to_string().chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::distinct;

    #[test]
    fn a_list_named_by_several_statuses_is_needed_once_in_table_order() {
        let t: Vec<(String, String)> = [
            ("intake", "Intake"),
            ("matching", "Intake"),
            ("active", "Active"),
            ("blocked", "Blocked"),
            ("done", "Active"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(distinct(&t), ["Intake", "Active", "Blocked"]);
    }
}
