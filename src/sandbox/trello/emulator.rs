//! Trello's [`Emulator`]: mounts the `/1/...` routes and serves the admin operations the tests
//! use (cards and lists; create / edit / archive as a colleague working in Trello would) through
//! the same code as the HTTP handlers, so an admin edit is the same write, with the same action
//! in the board's feed, as a `PUT`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use serde_json::{Value, json};

use super::cards::{card_json, create_card_in, update_card_in};
use super::store::{Card, TrelloData};
use super::{Call, TrelloError, boards, items, render_fault, router, seed_data};
use crate::sandbox::AppState;
use crate::sandbox::emulator::{Emulator, EmulatorError, RemoteRecord};
use crate::sandbox::faults::FaultRenderer;
use crate::sandbox::store::State;

const NAME: &str = "trello";

/// The Trello emulator (boards, lists, cards and what hangs on them).
#[derive(Debug, Clone, Copy, Default)]
pub struct Trello;

fn unknown(kind: &str) -> EmulatorError {
    EmulatorError::UnknownKind {
        service: NAME,
        kind: kind.to_owned(),
    }
}

fn refused(kind: &str, id: &str, e: TrelloError) -> EmulatorError {
    if e.is_not_found() {
        EmulatorError::NotFound {
            service: NAME,
            kind: kind.to_owned(),
            id: id.to_owned(),
        }
    } else {
        EmulatorError::Rejected {
            service: NAME,
            message: e.message().to_owned(),
        }
    }
}

/// The colleague the admin operations act as (the seeded `ola.operator`, else the token owner).
fn operator(d: &TrelloData) -> String {
    d.members
        .get(1)
        .or_else(|| d.members.first())
        .map(|m| m.id.clone())
        .unwrap_or_default()
}

/// A custom field item's value as text.
fn item_text(d: &TrelloData, item: &super::store::FieldItem) -> Option<String> {
    if let Some(idv) = &item.id_value {
        return d
            .custom_fields
            .get(&item.id_custom_field)
            .and_then(|f| f.options.iter().find(|(id, _)| id == idv))
            .map(|(_, t)| t.clone());
    }
    let v = item.value.as_ref()?.as_object()?;
    v.values().next().and_then(Value::as_str).map(str::to_owned)
}

fn card_record(d: &TrelloData, c: &Card) -> RemoteRecord {
    let mut fields = BTreeMap::new();
    fields.insert("name".to_owned(), c.name.clone());
    if !c.desc.is_empty() {
        fields.insert("desc".to_owned(), c.desc.clone());
    }
    fields.insert("idList".to_owned(), c.id_list.clone());
    if let Some(l) = d.lists.get(&c.id_list) {
        fields.insert("list".to_owned(), l.name.clone());
    }
    if let Some(b) = d.boards.get(&c.id_board) {
        fields.insert("board".to_owned(), b.name.clone());
    }
    if let Some(due) = &c.due {
        fields.insert("due".to_owned(), due.clone());
    }
    let labels: Vec<&str> = c
        .id_labels
        .iter()
        .filter_map(|l| d.labels.get(l))
        .map(|l| l.name.as_str())
        .collect();
    if !labels.is_empty() {
        fields.insert("labels".to_owned(), labels.join(","));
    }
    for item in &c.field_items {
        if let (Some(f), Some(text)) = (
            d.custom_fields.get(&item.id_custom_field),
            item_text(d, item),
        ) {
            fields.insert(f.name.clone(), text);
        }
    }
    let inc = super::cards::Include::default();
    let mut raw = card_json(d, c, &inc);
    raw["customFieldItems"] = c
        .field_items
        .iter()
        .map(|i| items::field_item_json(i, &c.id))
        .collect();
    RemoteRecord {
        id: c.id.clone(),
        fields,
        archived: c.closed,
        raw,
    }
}

/// Splits admin fields into card parameters and custom field values (by field name).
fn card_call(
    d: &TrelloData,
    board: Option<&str>,
    fields: &[(&str, &str)],
) -> Result<(Call, Vec<(String, String)>), EmulatorError> {
    let mut call = Call {
        member: operator(d),
        ..Call::default()
    };
    let mut custom = Vec::new();
    for (k, v) in fields {
        match *k {
            "name" | "desc" | "due" | "idList" | "closed" | "pos" | "idLabels" => {
                call.params.insert((*k).to_owned(), json!(v));
            }
            "list" => {
                let id = d
                    .lists
                    .values()
                    .find(|l| l.name == *v && board.is_none_or(|b| l.id_board == b))
                    .map(|l| l.id.clone())
                    .ok_or_else(|| EmulatorError::Rejected {
                        service: NAME,
                        message: format!("no list named {v}"),
                    })?;
                call.params.insert("idList".into(), json!(id));
            }
            other => custom.push((other.to_owned(), (*v).to_owned())),
        }
    }
    Ok((call, custom))
}

/// Sets custom fields by name on a card, as a person would in the card's custom fields section.
fn set_custom(
    d: &mut TrelloData,
    card: &str,
    custom: &[(String, String)],
    member: &str,
    now: i64,
) -> Result<(), EmulatorError> {
    let board = d
        .cards
        .get(card)
        .map(|c| c.id_board.clone())
        .unwrap_or_default();
    for (name, value) in custom {
        let f = d
            .custom_fields
            .values()
            .find(|f| f.id_board == board && f.name == *name)
            .cloned()
            .ok_or_else(|| EmulatorError::Rejected {
                service: NAME,
                message: format!("no custom field or card field named {name}"),
            })?;
        let mut call = Call {
            member: member.to_owned(),
            ..Call::default()
        };
        if value.is_empty() {
            call.params.insert("value".into(), json!(""));
        } else if f.kind == "list" {
            let idv = f
                .options
                .iter()
                .find(|(_, t)| t == value)
                .map(|(id, _)| id.clone())
                .unwrap_or_default();
            call.params.insert("idValue".into(), json!(idv));
        } else {
            let key = if f.kind == "checkbox" {
                "checked"
            } else {
                f.kind.as_str()
            };
            call.params.insert("value".into(), json!({ key: value }));
        }
        items::set_field_in(d, card, &f.id, &call, now).map_err(|e| refused("cards", card, e))?;
    }
    Ok(())
}

impl Emulator for Trello {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prefixes(&self) -> &'static [&'static str] {
        &super::PREFIXES
    }

    fn router(&self, app: Arc<AppState>) -> Router<Arc<AppState>> {
        router(app)
    }

    fn fault_renderer(&self) -> FaultRenderer {
        render_fault
    }

    fn seed(&self, state: &mut State) {
        state.trello = seed_data(crate::sandbox::store::real_now_ms(), "");
    }

    fn kinds(&self) -> &'static [&'static str] {
        &["cards", "lists"]
    }

    fn records(&self, app: &AppState, kind: &str) -> Result<Vec<RemoteRecord>, EmulatorError> {
        match kind {
            "cards" => {
                Ok(app.read_trello(|d| d.cards.values().map(|c| card_record(d, c)).collect()))
            }
            "lists" => Ok(app.read_trello(|d| {
                d.lists
                    .values()
                    .map(|l| {
                        let mut fields = BTreeMap::new();
                        fields.insert("name".to_owned(), l.name.clone());
                        fields.insert("idBoard".to_owned(), l.id_board.clone());
                        if let Some(b) = d.boards.get(&l.id_board) {
                            fields.insert("board".to_owned(), b.name.clone());
                        }
                        RemoteRecord {
                            id: l.id.clone(),
                            fields,
                            archived: l.closed,
                            raw: boards::list_json(l),
                        }
                    })
                    .collect()
            })),
            other => Err(unknown(other)),
        }
    }

    fn create(
        &self,
        app: &AppState,
        kind: &str,
        fields: &[(&str, &str)],
    ) -> Result<String, EmulatorError> {
        let now = app.now_ms();
        match kind {
            "cards" => app.with_trello(|d| {
                let (call, custom) = card_call(d, None, fields)?;
                let v = create_card_in(d, &call, now).map_err(|e| refused(kind, "", e))?;
                let id = v["id"].as_str().unwrap_or_default().to_owned();
                set_custom(d, &id, &custom, &call.member, now)?;
                Ok(id)
            }),
            "lists" => app.with_trello(|d| {
                let mut call = Call {
                    member: operator(d),
                    ..Call::default()
                };
                let mut board = None;
                for (k, v) in fields {
                    match *k {
                        "board" => {
                            board = d
                                .boards
                                .values()
                                .find(|b| b.name == *v)
                                .map(|b| b.id.clone())
                        }
                        "idBoard" => board = Some((*v).to_owned()),
                        _ => {
                            call.params.insert((*k).to_owned(), json!(v));
                        }
                    }
                }
                let board = board.ok_or_else(|| EmulatorError::Rejected {
                    service: NAME,
                    message: "a list needs its board".into(),
                })?;
                let v = boards::create_list_in(d, &board, &call, now)
                    .map_err(|e| refused(kind, "", e))?;
                Ok(v["id"].as_str().unwrap_or_default().to_owned())
            }),
            other => Err(unknown(other)),
        }
    }

    fn edit(
        &self,
        app: &AppState,
        kind: &str,
        id: &str,
        field: &str,
        value: &str,
    ) -> Result<(), EmulatorError> {
        let now = app.now_ms();
        match kind {
            "cards" => app.with_trello(|d| {
                let board = d
                    .cards
                    .get(id)
                    .map(|c| c.id_board.clone())
                    .ok_or_else(|| refused(kind, id, TrelloError::not_found()))?;
                let (call, custom) = card_call(d, Some(&board), &[(field, value)])?;
                if custom.is_empty() {
                    update_card_in(d, id, &call, now)
                        .map(drop)
                        .map_err(|e| refused(kind, id, e))
                } else {
                    set_custom(d, id, &custom, &call.member, now)
                }
            }),
            "lists" => app.with_trello(|d| {
                let mut call = Call {
                    member: operator(d),
                    ..Call::default()
                };
                call.params.insert(field.to_owned(), json!(value));
                boards::update_list_in(d, id, &call, now)
                    .map(drop)
                    .map_err(|e| refused(kind, id, e))
            }),
            other => Err(unknown(other)),
        }
    }

    fn archive(&self, app: &AppState, kind: &str, id: &str) -> Result<(), EmulatorError> {
        if !self.kinds().contains(&kind) {
            return Err(unknown(kind));
        }
        let live = self.live(app, kind)?.iter().any(|r| r.id == id);
        if !live {
            return Err(EmulatorError::NotFound {
                service: NAME,
                kind: kind.to_owned(),
                id: id.to_owned(),
            });
        }
        self.edit(app, kind, id, "closed", "true")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::emulator::emulator;
    use crate::sandbox::{SandboxConfig, fresh_state};

    #[test]
    fn the_sandbox_command_takes_trellos_key_token_and_limits() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: crate::sandbox::SandboxArgs,
        }
        let cfg = |argv: &[&str]| {
            Cli::try_parse_from(std::iter::once("sandbox").chain(argv.iter().copied()))
                .expect("parse")
                .args
                .config()
        };
        let plain = cfg(&[]);
        assert_eq!(plain.trello_rate_limit, None, "off by default");
        let on = cfg(&[
            "--trello-rate-limit",
            "--trello-key",
            "k",
            "--trello-token",
            "t",
        ]);
        assert_eq!(
            on.trello_rate_limit,
            Some((100, 300, std::time::Duration::from_secs(10)))
        );
        assert_eq!(
            (on.trello_key.as_str(), on.trello_token.as_str()),
            ("k", "t")
        );
        let off = cfg(&["--trello-rate-limit", "--no-rate-limit"]);
        assert_eq!(off.trello_rate_limit, None);
    }

    #[test]
    fn admin_operations_are_trello_writes_in_the_feed() {
        let app = AppState::new(&SandboxConfig::default(), fresh_state());
        let t = emulator("trello").expect("trello is served");
        let id = t
            .create(
                &app,
                "cards",
                &[
                    ("name", "Audit"),
                    ("list", "Accepted"),
                    ("Blocked reason", "none"),
                ],
            )
            .expect("create");
        let live = t.live(&app, "cards").expect("live");
        let card = live.iter().find(|r| r.id == id).expect("created");
        assert_eq!(card.field("list"), Some("Accepted"));
        assert_eq!(card.field("board"), Some("Projects"));
        assert_eq!(card.field("Blocked reason"), Some("none"));
        t.edit(&app, "cards", &id, "list", "Blocked").expect("move");
        let kinds: Vec<String> =
            app.read_trello(|d| d.actions.iter().map(|a| a.kind.clone()).collect());
        assert_eq!(kinds, ["createCard", "updateCustomFieldItem", "updateCard"]);
        let by = app.read_trello(|d| {
            let a = d.actions.last().cloned().expect("action");
            (
                a.data["old"]["idList"].is_string(),
                d.member(&a.id_member_creator).map(|m| m.username.clone()),
            )
        });
        assert_eq!(by, (true, Some("ola.operator".to_owned())));
        assert!(matches!(
            t.edit(&app, "cards", &id, "no such field", "x"),
            Err(EmulatorError::Rejected { .. })
        ));
        t.archive(&app, "cards", &id).expect("archive");
        assert!(t.live(&app, "cards").expect("live").is_empty());
        assert!(matches!(
            t.archive(&app, "cards", &id),
            Err(EmulatorError::NotFound { .. })
        ));
        assert!(matches!(
            t.records(&app, "boards"),
            Err(EmulatorError::UnknownKind { .. })
        ));
    }
}
