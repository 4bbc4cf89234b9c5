//! HubSpot properties API (`/crm/v3/properties/{type}`) and the seeded account: the default
//! property definitions of contacts, companies and deals, and a few owners.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::store::{HubspotData, Owner, PropertyDef};
use super::{HsError, HsResult, iso, object_type, parse_body};
use crate::sandbox::AppState;

const VALID_TYPES: [&str; 7] = [
    "string",
    "number",
    "date",
    "datetime",
    "enumeration",
    "bool",
    "phone_number",
];

fn def(
    name: &str,
    label: &str,
    kind: &str,
    field: &str,
    group: &str,
    read_only: bool,
) -> PropertyDef {
    PropertyDef {
        name: name.into(),
        label: label.into(),
        kind: kind.into(),
        field_type: field.into(),
        group_name: group.into(),
        description: String::new(),
        has_unique_value: false,
        hubspot_defined: true,
        read_only_value: read_only,
        options: Vec::new(),
        created_ms: 0,
    }
}

/// A fresh account: default properties of the three object types and three owners.
pub fn seed_data() -> HubspotData {
    let mut data = HubspotData::default();
    let sys = |modified: &str| {
        vec![
            def("hs_object_id", "Record ID", "number", "number", "", true),
            def("createdate", "Create Date", "datetime", "date", "", true),
            def(modified, "Last Modified Date", "datetime", "date", "", true),
            def(
                "hubspot_owner_id",
                "Owner",
                "enumeration",
                "select",
                "",
                false,
            ),
        ]
    };
    let mut contacts = sys("lastmodifieddate");
    for (n, l) in [
        ("email", "Email"),
        ("firstname", "First Name"),
        ("lastname", "Last Name"),
        ("phone", "Phone Number"),
        ("mobilephone", "Mobile Phone Number"),
        ("company", "Company Name"),
        ("jobtitle", "Job Title"),
        ("website", "Website URL"),
        ("address", "Street Address"),
        ("city", "City"),
        ("state", "State/Region"),
        ("zip", "Postal Code"),
        ("country", "Country/Region"),
        ("lifecyclestage", "Lifecycle Stage"),
        ("hs_lead_status", "Lead Status"),
        ("notes", "Notes"),
    ] {
        contacts.push(def(n, l, "string", "text", "contactinformation", false));
    }
    let mut companies = sys("hs_lastmodifieddate");
    companies.push(def(
        "hs_createdate",
        "Object Create Date/Time",
        "datetime",
        "date",
        "",
        true,
    ));
    for (n, l) in [
        ("name", "Company name"),
        ("domain", "Company Domain Name"),
        ("website", "Website URL"),
        ("phone", "Phone Number"),
        ("industry", "Industry"),
        ("description", "Description"),
        ("address", "Street Address"),
        ("city", "City"),
        ("state", "State/Region"),
        ("zip", "Postal Code"),
        ("country", "Country/Region"),
        ("lifecyclestage", "Lifecycle Stage"),
    ] {
        companies.push(def(n, l, "string", "text", "companyinformation", false));
    }
    companies.push(def(
        "numberofemployees",
        "Number of Employees",
        "number",
        "number",
        "companyinformation",
        false,
    ));
    companies.push(def(
        "annualrevenue",
        "Annual Revenue",
        "number",
        "number",
        "companyinformation",
        false,
    ));
    let mut deals = sys("hs_lastmodifieddate");
    deals.push(def(
        "hs_createdate",
        "Object Create Date/Time",
        "datetime",
        "date",
        "",
        true,
    ));
    deals.push(def(
        "dealname",
        "Deal Name",
        "string",
        "text",
        "dealinformation",
        false,
    ));
    deals.push(def(
        "description",
        "Deal Description",
        "string",
        "textarea",
        "dealinformation",
        false,
    ));
    deals.push(def(
        "amount",
        "Amount",
        "number",
        "number",
        "dealinformation",
        false,
    ));
    deals.push(def(
        "closedate",
        "Close Date",
        "datetime",
        "date",
        "dealinformation",
        false,
    ));
    deals.push(def(
        "pipeline",
        "Pipeline",
        "enumeration",
        "select",
        "dealinformation",
        false,
    ));
    let mut stage = def(
        "dealstage",
        "Deal Stage",
        "enumeration",
        "radio",
        "dealinformation",
        false,
    );
    stage.options = [
        ("Appointment Scheduled", "appointmentscheduled"),
        ("Qualified To Buy", "qualifiedtobuy"),
        ("Presentation Scheduled", "presentationscheduled"),
        ("Decision Maker Bought-In", "decisionmakerboughtin"),
        ("Contract Sent", "contractsent"),
        ("Closed Won", "closedwon"),
        ("Closed Lost", "closedlost"),
    ]
    .iter()
    .map(|(l, v)| ((*l).to_owned(), (*v).to_owned()))
    .collect();
    deals.push(stage);
    deals.push(def(
        "dealtype",
        "Deal Type",
        "enumeration",
        "radio",
        "dealinformation",
        false,
    ));
    for (t, defs) in [
        ("contacts", contacts),
        ("companies", companies),
        ("deals", deals),
    ] {
        let m: BTreeMap<String, PropertyDef> =
            defs.into_iter().map(|d| (d.name.clone(), d)).collect();
        data.properties.insert(t.to_owned(), m);
        data.objects.insert(t.to_owned(), BTreeMap::new());
    }
    data.owners = [
        ("75000001", "ada@example.com", "Ada", "Lovelace", 9000001),
        ("75000002", "grace@example.com", "Grace", "Hopper", 9000002),
        ("75000003", "alan@example.com", "Alan", "Turing", 9000003),
    ]
    .iter()
    .map(|(id, email, f, l, u)| Owner {
        id: (*id).into(),
        email: (*email).into(),
        first_name: (*f).into(),
        last_name: (*l).into(),
        user_id: *u,
    })
    .collect();
    data
}

fn render(d: &PropertyDef) -> Value {
    let options: Vec<Value> = d
        .options
        .iter()
        .enumerate()
        .map(|(i, (l, v))| json!({"label": l, "value": v, "displayOrder": i, "hidden": false}))
        .collect();
    json!({
        "name": d.name, "label": d.label, "type": d.kind, "fieldType": d.field_type,
        "description": d.description, "groupName": d.group_name, "options": options,
        "displayOrder": -1, "calculated": false, "externalOptions": false,
        "hasUniqueValue": d.has_unique_value, "hidden": false, "hubspotDefined": d.hubspot_defined,
        "modificationMetadata": {"archivable": !d.hubspot_defined, "readOnlyDefinition": d.hubspot_defined,
                                  "readOnlyValue": d.read_only_value},
        "formField": !d.read_only_value,
        "createdAt": iso(d.created_ms), "updatedAt": iso(d.created_ms), "archived": false,
    })
}

/// `GET /crm/v3/properties/{type}`.
pub async fn list(State(app): State<Arc<AppState>>, Path(t): Path<String>) -> HsResult {
    let t = object_type(&t)?;
    let results: Vec<Value> = app.read_hubspot(|d| {
        d.properties
            .get(t)
            .map(|m| m.values().map(render).collect())
            .unwrap_or_default()
    });
    Ok((StatusCode::OK, axum::Json(json!({"results": results}))).into_response())
}

/// `GET /crm/v3/properties/{type}/{name}`.
pub async fn read(
    State(app): State<Arc<AppState>>,
    Path((t, name)): Path<(String, String)>,
) -> HsResult {
    let t = object_type(&t)?;
    let v = app
        .read_hubspot(|d| d.properties.get(t).and_then(|m| m.get(&name)).map(render))
        .ok_or_else(|| {
            HsError::not_found(format!(
                "Unable to find property {name} for object type {t}"
            ))
        })?;
    Ok((StatusCode::OK, axum::Json(v)).into_response())
}

/// `POST /crm/v3/properties/{type}` → 201; an existing name → 409.
pub async fn create(
    State(app): State<Arc<AppState>>,
    Path(t): Path<String>,
    body: Bytes,
) -> HsResult {
    let t = object_type(&t)?;
    let body = parse_body(&body)?;
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut missing = Vec::new();
    let mut req = |k: &'static str| {
        field(k).filter(|s| !s.is_empty()).unwrap_or_else(|| {
            missing.push(k);
            String::new()
        })
    };
    let (name, label, kind, field_type, group) = (
        req("name"),
        req("label"),
        req("type"),
        req("fieldType"),
        req("groupName"),
    );
    if !missing.is_empty() {
        let errors = missing
            .iter()
            .map(|k| json!({"message": format!("{k} is required"), "code": "REQUIRED_FIELD", "in": k}))
            .collect();
        return Err(HsError::validation(format!(
            "Invalid input JSON: missing {}",
            missing.join(", ")
        ))
        .with_errors(errors));
    }
    if !VALID_TYPES.contains(&kind.as_str()) {
        return Err(HsError::validation(format!(
            "Invalid property type: {kind}"
        )));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(HsError::validation(format!(
            "Property name {name} is invalid: use lowercase letters, digits and underscores"
        )));
    }
    let unique = body
        .get("hasUniqueValue")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let options = body
        .get("options")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|o| {
                    Some((
                        o.get("label")?.as_str()?.to_owned(),
                        o.get("value")?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let now = app.now_ms();
    let d = PropertyDef {
        name: name.clone(),
        label,
        kind,
        field_type,
        group_name: group,
        description: field("description").unwrap_or_default(),
        has_unique_value: unique,
        hubspot_defined: false,
        read_only_value: false,
        options,
        created_ms: now,
    };
    let out = app.with_hubspot(|data| {
        let defs = data.properties.entry(t.to_owned()).or_default();
        if defs.contains_key(&name) {
            return Err(HsError::new(
                StatusCode::CONFLICT,
                "OBJECT_ALREADY_EXISTS",
                format!("Property named '{name}' already exists."),
            ));
        }
        if unique && defs.values().filter(|d| d.has_unique_value).count() >= 10 {
            return Err(HsError::validation(
                "An object type can have at most 10 unique value properties",
            ));
        }
        let v = render(&d);
        defs.insert(name.clone(), d);
        Ok(v)
    })?;
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}
