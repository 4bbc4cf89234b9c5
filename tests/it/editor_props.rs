//! Property tests of the frontmatter editor: for random notes (the corpora among the
//! seeds) and random edits, the note reads back as exactly the intended values and every line
//! outside the edited keys is byte-identical; a no-op round trip over every corpus note leaves
//! every file byte-identical.

use proptest::prelude::*;
use ssot_vault::vault::editor::{Edit, apply};
use ssot_vault::vault::note::Note;
use ssot_vault::vault::value::Value;

use crate::common::corpora;

/// Every corpus note whose frontmatter the editor may edit, plus synthetic ones covering what
/// the corpora lack (BOM, CRLF, comments, no final newline).
fn seeds() -> Vec<String> {
    let mut out: Vec<String> = vec![
        "\u{feff}---\r\n# head\r\nname: Acme\r\ntags:\r\n  - a\r\n---\r\nbody\r\n".into(),
        "---\nname: \"Acme\" # trading name\nlist: [a, b]\nmap:\n  k: v\ntext: |\n  one\n\n  two\n---\nbody\n---\nmore".into(),
        "---\n---\n".into(),
        "no frontmatter at all\n".into(),
    ];
    for e in walkdir::WalkDir::new(corpora())
        .into_iter()
        .filter_map(Result::ok)
    {
        if e.path().extension().is_some_and(|x| x == "md") {
            let bytes = std::fs::read(e.path()).unwrap();
            if let Ok(n) = Note::parse(&bytes)
                && n.frontmatter.as_ref().is_none_or(|f| f.editable().is_ok())
            {
                out.push(n.text);
            }
        }
    }
    out
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (-1.0e9f64..1.0e9).prop_map(Value::Float),
        "[a-zA-Z0-9 :#'\"@,.\\[\\]{}|>*&!%-ąęłżŹ]{0,20}".prop_map(Value::Str),
        "[A-Za-z ]{1,12}".prop_map(|s| Value::Str(format!("[[{}]]", s.trim()))),
        (2000i16..2100, 1i8..13, 1i8..29)
            .prop_map(|(y, m, d)| Value::Date(jiff::civil::date(y, m, d))),
        (2000i16..2100, 0i8..24).prop_map(|(y, h)| Value::DateTime(format!("{y}-05-01T{h:02}:30"))),
        "(yes|no|NO|null|~|true|0123|1e3|2024-01-01|\\+48 601 234 567)".prop_map(Value::Str),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => scalar(),
        1 => prop::collection::vec(scalar().prop_filter("no null items", |v| *v != Value::Null), 0..4).prop_map(Value::List),
    ]
}

fn edit(keys: Vec<String>) -> impl Strategy<Value = Edit> {
    let key = prop_oneof![
        3 => prop::sample::select(if keys.is_empty() { vec!["status".to_string()] } else { keys }),
        1 => "[a-z_]{1,8}( [a-z]{1,4})?".prop_map(|s| s),
    ];
    (key, value(), 0..3u8).prop_map(|(k, v, kind)| match kind {
        0 => Edit::Remove(k),
        1 if !matches!(v, Value::List(_) | Value::Null) => Edit::Append(k, v),
        _ => Edit::Set(k, v),
    })
}

/// The map the edits should produce (the editor's contract, written out independently): edits
/// in order, then every key that was there keeps its place and new keys follow.
fn model(old: Vec<(String, Value)>, edits: &[Edit]) -> Vec<(String, Value)> {
    let mut map = old.clone();
    for e in edits {
        let pos = map.iter().position(|(k, _)| k == e.key());
        match e {
            Edit::Set(k, v) => match pos {
                Some(i) => map[i].1 = v.clone(),
                None => map.push((k.clone(), v.clone())),
            },
            Edit::Remove(_) => {
                if let Some(i) = pos {
                    map.remove(i);
                }
            }
            Edit::Append(k, v) => {
                let new = match pos.map(|i| map[i].1.clone()) {
                    None | Some(Value::Null) => Value::List(vec![v.clone()]),
                    Some(Value::List(mut l)) => {
                        if !l.contains(v) {
                            l.push(v.clone());
                        }
                        Value::List(l)
                    }
                    Some(o) if &o == v => Value::List(vec![o]),
                    Some(o) => Value::List(vec![o, v.clone()]),
                };
                match pos {
                    Some(i) => map[i].1 = new,
                    None => map.push((k.clone(), new)),
                }
            }
        }
    }
    let mut out: Vec<(String, Value)> = old
        .iter()
        .filter_map(|(k, _)| map.iter().find(|(m, _)| m == k).cloned())
        .collect();
    out.extend(
        map.iter()
            .filter(|(k, _)| !old.iter().any(|(o, _)| o == k))
            .cloned(),
    );
    out
}

fn case() -> impl Strategy<Value = (String, Vec<Edit>)> {
    prop::sample::select(seeds()).prop_flat_map(|text| {
        let keys: Vec<String> = Note::parse_text(text.clone())
            .ok()
            .and_then(|n| n.frontmatter)
            .map(|f| f.entries().iter().map(|e| e.key.clone()).collect())
            .unwrap_or_default();
        (Just(text), prop::collection::vec(edit(keys), 1..4))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn edits_read_back_and_leave_other_lines_alone((text, edits) in case()) {
        let before = Note::parse_text(text.clone()).unwrap();
        let old_map = before.frontmatter.as_ref().map(|f| f.to_map()).unwrap_or_default();
        let want = model(old_map.clone(), &edits);
        let out = apply(&text, &edits);
        let out = match out {
            Ok(o) => o,
            // Nested lists and maps are left to Obsidian: refusing them is the contract.
            Err(ssot_vault::vault::editor::EditError::Unsupported { key, .. }) => {
                let nested = want.iter().any(|(k, v)| *k == key && match v {
                    Value::List(items) => items.iter().any(|i| matches!(i, Value::List(_) | Value::Map(_))),
                    Value::Map(entries) => entries.iter().any(|(_, i)| matches!(i, Value::List(_) | Value::Map(_))),
                    _ => false,
                });
                prop_assert!(nested, "refused a flat value of `{}`", key);
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("edit refused: {e}"))),
        };
        let Some(new_text) = out else {
            prop_assert_eq!(&want, &old_map, "None only for a no-op");
            return Ok(());
        };
        let after = Note::parse_text(new_text.clone()).unwrap();
        prop_assert_eq!(after.frontmatter.as_ref().unwrap().to_map(), want);
        prop_assert_eq!(after.body(), before.body(), "body bytes unchanged");
        // Every removed line lies in the span of an edited key.
        let touched: Vec<std::ops::Range<usize>> = before
            .frontmatter
            .as_ref()
            .map(|f| f.entries().iter().filter(|e| edits.iter().any(|x| x.key() == e.key)).map(|e| e.span.clone()).collect())
            .unwrap_or_default();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let range = offset..offset + line.len();
            offset += line.len();
            if touched.iter().any(|t| t.start <= range.start && range.end <= t.end) {
                continue;
            }
            prop_assert!(new_text.contains(line), "untouched line {:?} lost", line);
        }
        let diff = similar::TextDiff::from_lines(text.as_str(), new_text.as_str());
        let mut old_pos = 0;
        for op in diff.ops() {
            for change in diff.iter_changes(op) {
                if change.tag() == similar::ChangeTag::Delete {
                    let start = old_pos;
                    prop_assert!(
                        touched.iter().any(|t| t.start <= start && start < t.end),
                        "deleted line {:?} was not an edited key's", change.value()
                    );
                }
                if change.tag() != similar::ChangeTag::Insert {
                    old_pos += change.value().len();
                }
            }
        }
    }
}

#[test]
fn no_op_round_trip_over_every_corpus_note_is_byte_identical() {
    let mut checked = 0;
    for e in walkdir::WalkDir::new(corpora())
        .into_iter()
        .filter_map(Result::ok)
    {
        if e.path().extension().is_none_or(|x| x != "md") {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap();
        let Ok(note) = Note::parse(&bytes) else {
            continue;
        };
        let Some(fm) = &note.frontmatter else {
            continue;
        };
        let edits: Vec<Edit> = fm
            .entries()
            .iter()
            .map(|e| Edit::Set(e.key.clone(), e.value.clone()))
            .collect();
        let out = apply(&note.text, &edits);
        match out {
            Ok(None) => checked += 1,
            Ok(Some(_)) => panic!("{}: a no-op edit changed the note", e.path().display()),
            Err(err) => assert!(fm.editable().is_err(), "{}: {err}", e.path().display()),
        }
    }
    assert!(checked > 100, "only {checked} corpus notes round-tripped");
}

fn note_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("---".to_string()),
        Just("...".to_string()),
        "[a-z]{1,6}: [a-z0-9\\[\\]{}\"' #:-]{0,12}",
        "  - [a-z\"\\[\\]]{0,8}",
        "\t[a-z]{1,4}: x",
        "- \\[[ x]\\] [a-z\\[\\]]{0,10}",
        "[#]{1,3} [a-zżó]{0,8}",
        "[\\[\\]!|#a-z ]{0,16}",
    ];
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(line, 0..12),
    )
        .prop_map(|(bom, crlf, lines)| {
            let nl = if crlf { "\r\n" } else { "\n" };
            format!("{}{}", if bom { "\u{feff}" } else { "" }, lines.join(nl))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Reading never panics, whatever the bytes; an edit of a readable note either succeeds and
    /// reads back, or is refused.
    #[test]
    fn reading_and_editing_never_panic(text in note_like(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = Note::parse(&bytes);
        if let Ok(note) = Note::parse(text.as_bytes()) {
            let _ = ssot_vault::vault::body::parse(&note.text, note.layout.body_start);
            if let Ok(Some(out)) = apply(&text, &[Edit::Set("status".into(), Value::Str("active".into()))]) {
                let again = Note::parse_text(out).unwrap();
                prop_assert_eq!(again.get("status"), Some(&Value::Str("active".into())));
            }
        }
    }
}
