//! Canonical field values: the one string form per value that the three-way merge compares.
//!
//! Vault values (typed frontmatter) become canonical through [`from_vault`]; canonical values
//! are written back into notes through [`to_vault`], typed by the schema. Numbers are normalised
//! (`1500.0` → `1500`), dates are `YYYY-MM-DD`, lists are items joined by `;` (HubSpot's
//! multi-select form), enums go through their table into the remote's terms. An empty value has no
//! canonical form (`None`): empty, null and absent are the same to the merge.

use crate::vault::schema::FieldType;
use crate::vault::value::{Value, parse_date};

use super::Conv;

/// A number in its shortest normal form: integral values without a fraction.
pub fn number(s: &str) -> Option<String> {
    let x: f64 = s.trim().parse().ok()?;
    if !x.is_finite() {
        return None;
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        Some(format!("{}", x as i64))
    } else {
        Some(format!("{x}"))
    }
}

/// A list's items, trimmed, empty ones dropped, joined by `;`.
pub fn join_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let items: Vec<&str> = items
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    (!items.is_empty()).then(|| items.join(";"))
}

/// The canonical form of a vault value (`title` is the note's title, for [`Conv::Title`]).
pub fn from_vault(conv: &Conv, value: Option<&Value>, title: &str) -> Option<String> {
    if let Conv::Title = conv {
        return (!title.trim().is_empty()).then(|| title.trim().to_string());
    }
    let value = value.filter(|v| !v.is_empty())?;
    match conv {
        Conv::Title => None,
        Conv::Text => {
            let s = value.to_string();
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        }
        Conv::Number => match value {
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => number(&f.to_string()),
            other => number(&other.to_string()).or_else(|| Some(other.to_string())),
        },
        Conv::Date => match value {
            Value::Date(d) => Some(d.to_string()),
            Value::DateTime(s) => Some(s.get(..10).unwrap_or(s).to_string()),
            other => Some(other.to_string().trim().to_string()),
        },
        Conv::List => {
            let items: Vec<String> = value.items().iter().map(|v| v.to_string()).collect();
            join_list(items.iter().map(String::as_str))
        }
        Conv::Bool => match value {
            Value::Bool(b) => Some(b.to_string()),
            other => Some(other.to_string().trim().to_ascii_lowercase()),
        },
        Conv::Table(table) => {
            let s = value.to_string();
            let s = s.trim();
            Some(
                table
                    .iter()
                    .find(|(v, _)| v == s)
                    .map_or(s, |(_, r)| r.as_str())
                    .to_string(),
            )
        }
    }
}

/// The vault value of a canonical value, typed by the schema's field type when known.
pub fn to_vault(conv: &Conv, canon: Option<&str>, ty: Option<&FieldType>) -> Value {
    let Some(s) = canon.filter(|s| !s.is_empty()) else {
        return match ty {
            Some(t) if t.is_list() => Value::List(Vec::new()),
            _ => Value::Null,
        };
    };
    match conv {
        Conv::List => Value::List(
            s.split(';')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(|i| Value::Str(i.to_string()))
                .collect(),
        ),
        Conv::Table(table) => {
            let v = table
                .iter()
                .find(|(_, r)| r == s)
                .map_or(s, |(v, _)| v.as_str());
            typed(v, ty)
        }
        Conv::Date => parse_date(s).map_or_else(|| Value::Str(s.to_string()), Value::Date),
        Conv::Bool => match s {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::Str(other.to_string()),
        },
        Conv::Number => number_value(s).unwrap_or_else(|| Value::Str(s.to_string())),
        Conv::Text | Conv::Title => typed(s, ty),
    }
}

fn number_value(s: &str) -> Option<Value> {
    let n = number(s)?;
    Some(match n.parse::<i64>() {
        Ok(i) => Value::Int(i),
        Err(_) => Value::Float(n.parse().ok()?),
    })
}

fn typed(s: &str, ty: Option<&FieldType>) -> Value {
    match ty {
        Some(FieldType::Integer | FieldType::Number) => {
            number_value(s).unwrap_or_else(|| Value::Str(s.to_string()))
        }
        Some(FieldType::Date) => {
            parse_date(s).map_or_else(|| Value::Str(s.to_string()), Value::Date)
        }
        Some(FieldType::Bool) => match s {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Str(s.to_string()),
        },
        Some(FieldType::List) => Value::List(vec![Value::Str(s.to_string())]),
        _ => Value::Str(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_lists() {
        assert_eq!(number("1500.0").as_deref(), Some("1500"));
        assert_eq!(number(" 12.50 ").as_deref(), Some("12.5"));
        assert_eq!(number("x"), None);
        let v = Value::List(vec![Value::Str("rust".into()), Value::Str(" sql ".into())]);
        assert_eq!(
            from_vault(&Conv::List, Some(&v), "").as_deref(),
            Some("rust;sql")
        );
        assert_eq!(
            to_vault(&Conv::List, Some("rust;sql"), Some(&FieldType::List)),
            Value::List(vec![Value::Str("rust".into()), Value::Str("sql".into())])
        );
    }

    #[test]
    fn tables_keep_remote_terms() {
        let t = Conv::Table(vec![
            ("intake".into(), "appointmentscheduled".into()),
            ("matching".into(), "appointmentscheduled".into()),
        ]);
        let v = Value::Str("matching".into());
        assert_eq!(
            from_vault(&t, Some(&v), "").as_deref(),
            Some("appointmentscheduled")
        );
        assert_eq!(
            to_vault(&t, Some("appointmentscheduled"), None),
            Value::Str("intake".into())
        );
        assert_eq!(
            to_vault(&t, Some("other"), None),
            Value::Str("other".into())
        );
    }

    #[test]
    fn round_trips() {
        for (conv, ty, v) in [
            (Conv::Number, FieldType::Number, Value::Int(50000)),
            (Conv::Number, FieldType::Number, Value::Float(12.5)),
            (
                Conv::Date,
                FieldType::Date,
                Value::Date("2026-05-01".parse().unwrap()),
            ),
            (
                Conv::Text,
                FieldType::String,
                Value::Str("601234567".into()),
            ),
            (Conv::Bool, FieldType::Bool, Value::Bool(true)),
        ] {
            let c = from_vault(&conv, Some(&v), "");
            assert_eq!(to_vault(&conv, c.as_deref(), Some(&ty)), v);
        }
        assert_eq!(from_vault(&Conv::Text, Some(&Value::Null), ""), None);
        assert_eq!(
            from_vault(&Conv::Title, None, "Acme").as_deref(),
            Some("Acme")
        );
    }
}
