//! HubSpot's [`Emulator`]: mounts the CRM routes and serves the admin operations the tests use
//! (records of an object type, create / edit / archive as a person in HubSpot would) through the
//! same code as the HTTP handlers, so an admin edit is the same write as a `PATCH`.

use std::sync::Arc;

use axum::Router;
use serde_json::{Map, Value, json};

use super::{HsError, dump, object_type, objects, render_fault, router, seed_data};
use crate::sandbox::AppState;
use crate::sandbox::emulator::{Emulator, EmulatorError, RemoteRecord};
use crate::sandbox::faults::FaultRenderer;
use crate::sandbox::store::State;

const NAME: &str = "hubspot";

/// The HubSpot CRM emulator (contacts, companies, deals).
#[derive(Debug, Clone, Copy, Default)]
pub struct Hubspot;

fn kind(t: &str) -> Result<&'static str, EmulatorError> {
    object_type(t).map_err(|_| EmulatorError::UnknownKind {
        service: NAME,
        kind: t.to_owned(),
    })
}

fn rejected(e: HsError) -> EmulatorError {
    EmulatorError::Rejected {
        service: NAME,
        message: e.message().to_owned(),
    }
}

fn record(raw: Value) -> RemoteRecord {
    let fields = raw["properties"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    RemoteRecord {
        id: raw["id"].as_str().unwrap_or_default().to_owned(),
        fields,
        archived: raw["archived"] == json!(true),
        raw,
    }
}

fn properties(fields: &[(&str, &str)]) -> Value {
    let props: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({ "properties": props })
}

impl Emulator for Hubspot {
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
        state.hubspot = seed_data();
    }

    fn kinds(&self) -> &'static [&'static str] {
        &["contacts", "companies", "deals"]
    }

    fn records(&self, app: &AppState, kind_: &str) -> Result<Vec<RemoteRecord>, EmulatorError> {
        let t = kind(kind_)?;
        Ok(app
            .read_hubspot(|d| dump(d, t))
            .into_iter()
            .map(record)
            .collect())
    }

    fn create(
        &self,
        app: &AppState,
        kind_: &str,
        fields: &[(&str, &str)],
    ) -> Result<String, EmulatorError> {
        let t = kind(kind_)?;
        let body = properties(fields);
        let (now, lag) = (app.now_ms(), app.lag_ms());
        app.with_hubspot(|d| objects::create_record(d, t, &body, now, lag))
            .map(|id| id.to_string())
            .map_err(rejected)
    }

    fn edit(
        &self,
        app: &AppState,
        kind_: &str,
        id: &str,
        field: &str,
        value: &str,
    ) -> Result<(), EmulatorError> {
        let t = kind(kind_)?;
        let body = properties(&[(field, value)]);
        let (now, lag) = (app.now_ms(), app.lag_ms());
        app.with_hubspot(|d| objects::update_record(d, t, id, None, &body, now, lag))
            .map(drop)
            .map_err(|e| {
                if e.is_not_found() {
                    EmulatorError::NotFound {
                        service: NAME,
                        kind: kind_.to_owned(),
                        id: id.to_owned(),
                    }
                } else {
                    rejected(e)
                }
            })
    }

    fn archive(&self, app: &AppState, kind_: &str, id: &str) -> Result<(), EmulatorError> {
        let t = kind(kind_)?;
        let (now, lag) = (app.now_ms(), app.lag_ms());
        let found = app.with_hubspot(|d| objects::archive_live(d, t, id, now, lag));
        if found {
            Ok(())
        } else {
            Err(EmulatorError::NotFound {
                service: NAME,
                kind: kind_.to_owned(),
                id: id.to_owned(),
            })
        }
    }
}
