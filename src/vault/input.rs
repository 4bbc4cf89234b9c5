//! Values typed on the command line (`key=value`), turned into typed frontmatter values: by the
//! schema's field type for managed notes, by their look otherwise.

use super::id::new_ulid;
use super::schema::FieldType;
use super::value::{Value, is_datetime, parse_date};

/// Parses `text` for a field of type `ty` (or by its look when `ty` is `None`).
pub fn parse_value(key: &str, text: &str, ty: Option<&FieldType>) -> Result<Value, String> {
    let t = text.trim();
    if key == "ssot_id" && t == "new" {
        return Ok(Value::Str(new_ulid()));
    }
    if t.is_empty() {
        return Ok(match ty {
            Some(ty) if ty.is_list() => Value::List(Vec::new()),
            _ => Value::Null,
        });
    }
    let Some(ty) = ty else { return Ok(infer(t)) };
    Ok(match ty {
        FieldType::String => Value::Str(text.to_string()),
        FieldType::Integer => Value::Int(
            t.parse()
                .map_err(|_| format!("`{key}` takes a whole number, not `{t}`"))?,
        ),
        FieldType::Number => match t.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(
                t.replace(',', ".")
                    .parse()
                    .map_err(|_| format!("`{key}` takes a number, not `{t}`"))?,
            ),
        },
        FieldType::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Value::Bool(true),
            "false" | "no" | "n" | "0" => Value::Bool(false),
            _ => return Err(format!("`{key}` takes true or false, not `{t}`")),
        },
        FieldType::Date => match t {
            "today" => Value::Date(jiff::ZonedDateTime::now().date()),
            _ => Value::Date(parse_date(t).ok_or_else(|| {
                format!("`{key}` takes a date YYYY-MM-DD (or `today`), not `{t}`")
            })?),
        },
        FieldType::DateTime => match t {
            "now" => Value::DateTime(
                jiff::ZonedDateTime::now()
                    .datetime()
                    .strftime("%Y-%m-%dT%H:%M:%S")
                    .to_string(),
            ),
            _ if is_datetime(t) => Value::DateTime(t.to_string()),
            _ => {
                return Err(format!(
                    "`{key}` takes a date and time YYYY-MM-DDTHH:MM (or `now`), not `{t}`"
                ));
            }
        },
        FieldType::List => Value::List(split_list(t).into_iter().map(Value::Str).collect()),
        FieldType::Link(_) => Value::Str(as_link(t)),
        FieldType::Links(_) => Value::List(
            split_list(t)
                .iter()
                .map(|s| Value::Str(as_link(s)))
                .collect(),
        ),
        FieldType::Enum(values) => {
            if values.iter().any(|v| v == t) {
                Value::Str(t.to_string())
            } else {
                return Err(format!(
                    "`{key}` takes one of {}, not `{t}`",
                    values.join(", ")
                ));
            }
        }
    })
}

/// One item of a list field (for `key+=value`).
pub fn parse_item(key: &str, text: &str, ty: Option<&FieldType>) -> Result<Value, String> {
    match ty {
        Some(FieldType::Links(_)) => Ok(Value::Str(as_link(text.trim()))),
        Some(FieldType::List) => Ok(Value::Str(text.trim().to_string())),
        Some(other) => Err(format!(
            "`{key}` is {}, not a list: use `{key}=value`",
            other.name()
        )),
        None => Ok(infer(text.trim())),
    }
}

/// `Acme` → `[[Acme]]`; a link stays as it is.
fn as_link(t: &str) -> String {
    if t.starts_with("[[") && t.ends_with("]]") {
        t.to_string()
    } else {
        format!("[[{t}]]")
    }
}

/// `a, b` or `[a, b]` → items.
fn split_list(t: &str) -> Vec<String> {
    let inner = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(t);
    let mut items = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in inner.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    items.push(cur);
    items
        .into_iter()
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The type a value looks like, for properties outside the schema.
fn infer(t: &str) -> Value {
    if let Ok(i) = t.parse::<i64>()
        && !(t.len() > 1 && t.starts_with('0'))
    {
        return Value::Int(i);
    }
    match t {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if t.contains('.') && !t.starts_with('.') && t.parse::<f64>().is_ok_and(f64::is_finite) {
        return Value::Float(t.parse().unwrap_or(0.0));
    }
    if let Some(d) = parse_date(t) {
        return Value::Date(d);
    }
    if is_datetime(t) {
        return Value::DateTime(t.to_string());
    }
    if t.starts_with('[') && t.ends_with(']') && !t.starts_with("[[") {
        return Value::List(split_list(t).into_iter().map(|s| infer(&s)).collect());
    }
    Value::Str(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_by_schema() {
        assert_eq!(
            parse_value("phone", "601234567", Some(&FieldType::String)).unwrap(),
            Value::Str("601234567".into())
        );
        assert_eq!(
            parse_value("client", "Acme", Some(&FieldType::Link(None))).unwrap(),
            Value::Str("[[Acme]]".into())
        );
        assert_eq!(
            parse_value("skills", "rust, sql", Some(&FieldType::List)).unwrap(),
            Value::List(vec![Value::Str("rust".into()), Value::Str("sql".into())])
        );
        assert!(
            parse_value(
                "status",
                "paused",
                Some(&FieldType::Enum(vec!["active".into()]))
            )
            .is_err()
        );
        assert!(parse_value("budget", "lots", Some(&FieldType::Number)).is_err());
        assert_eq!(
            parse_value("x", "", Some(&FieldType::String)).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn inferred() {
        assert_eq!(infer("3"), Value::Int(3));
        assert_eq!(infer("007"), Value::Str("007".into()));
        assert_eq!(infer("1.5"), Value::Float(1.5));
        assert!(matches!(infer("2024-05-01"), Value::Date(_)));
        assert_eq!(
            infer("[a, 2]"),
            Value::List(vec![Value::Str("a".into()), Value::Int(2)])
        );
        assert_eq!(infer("yes"), Value::Str("yes".into()));
    }
}
