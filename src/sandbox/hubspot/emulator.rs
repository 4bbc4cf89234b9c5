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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::super::store::PropertyDef;
    use super::*;
    use crate::sandbox::emulator::emulator;
    use crate::sandbox::faults::RequestCounts;
    use crate::sandbox::{SandboxConfig, fresh_state};

    fn app() -> AppState {
        AppState::new(&SandboxConfig::default(), fresh_state())
    }

    #[test]
    fn admin_operations_are_the_services_own_writes() {
        let app = app();
        let h = Hubspot;
        // The property the connector makes for the vault's ids.
        app.with_hubspot(|d| {
            let def = PropertyDef {
                name: "ssot_id".into(),
                label: "ssot id".into(),
                kind: "string".into(),
                field_type: "text".into(),
                group_name: "contactinformation".into(),
                description: String::new(),
                has_unique_value: true,
                hubspot_defined: false,
                read_only_value: false,
                options: Vec::new(),
                created_ms: 0,
            };
            d.properties
                .entry("contacts".into())
                .or_default()
                .insert(def.name.clone(), def);
        });
        let id = h
            .create(
                &app,
                "contacts",
                &[
                    ("firstname", "Ewa"),
                    ("email", "ewa@lis.pl"),
                    ("ssot_id", "01X"),
                ],
            )
            .expect("create");
        let found = h.by_ssot_id(&app, "contacts", "01X").expect("read");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, id);
        assert_eq!(found[0].field("firstname"), Some("Ewa"));
        let created = found[0].raw["updatedAt"].clone();
        // Edited a minute later: the value and the modification time move, as with a PATCH.
        app.clock_offset_ms.store(60_000, Ordering::Relaxed);
        h.edit(&app, "contacts", &id, "city", "Gdańsk")
            .expect("edit");
        let r = h.by_ssot_id(&app, "contacts", "01X").expect("read");
        assert_eq!(r[0].field("city"), Some("Gdańsk"));
        assert_ne!(r[0].raw["updatedAt"], created);
        // HubSpot's own validation applies: a taken email, an unknown property.
        let other = h
            .create(&app, "contacts", &[("email", "jan@bak.pl")])
            .expect("create");
        for (field, value) in [("email", "ewa@lis.pl"), ("no_such_property", "x")] {
            assert!(
                matches!(
                    h.edit(&app, "contacts", &other, field, value),
                    Err(EmulatorError::Rejected { .. })
                ),
                "{field}"
            );
        }
        assert!(matches!(
            h.edit(&app, "contacts", "999999", "city", "x"),
            Err(EmulatorError::NotFound { .. })
        ));
        assert!(matches!(
            h.records(&app, "tickets"),
            Err(EmulatorError::UnknownKind { .. })
        ));
        // Archived: gone from the live records, kept among all of them.
        h.archive(&app, "contacts", &id).expect("archive");
        assert!(
            h.live(&app, "contacts")
                .expect("live")
                .iter()
                .all(|r| r.id != id)
        );
        let all = h.records(&app, "contacts").expect("records");
        assert!(all.iter().any(|r| r.id == id && r.archived));
        assert!(matches!(
            h.archive(&app, "contacts", &id),
            Err(EmulatorError::NotFound { .. })
        ));
    }

    #[test]
    fn the_sandbox_serves_hubspot_and_counts_its_requests() {
        let h = emulator("hubspot").expect("hubspot is served");
        assert!(emulator("no-such-service").is_none());
        assert!(!fresh_state().hubspot.properties.is_empty(), "seeded");
        let mut counts = RequestCounts::default();
        counts
            .by_endpoint
            .insert("POST /crm/v3/objects/{type}/search".into(), 3);
        counts
            .by_endpoint
            .insert("GET /crm/v3/objects/{type}".into(), 2);
        counts.by_endpoint.insert("GET /rest/api/3/issue".into(), 5);
        assert_eq!(h.requests(&counts), 5);
    }
}
