//! The vault template as Obsidian reads it: placeholders, property types, dashboards, app settings.

use std::collections::BTreeMap;
use std::path::Path;

use ssot_vault::config::Config;
use ssot_vault::connectors::hubspot::{self, HubspotConfig};
use ssot_vault::connectors::{Conv, hubspot::mapping};
use ssot_vault::obsidian::{BASES_VERSION, GROUPING_VERSION};
use ssot_vault::sync::apply;
use ssot_vault::vault::editor::Edit;
use ssot_vault::vault::note::Note;
use ssot_vault::vault::schema::{PROJECT_STATUSES, Schema};
use ssot_vault::vault::value::Value;

use crate::common::{bin, init_vault, write};

fn read(v: &Path, rel: &str) -> String {
    std::fs::read_to_string(v.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(v: &Path, rel: &str) -> serde_json::Value {
    serde_json::from_str(&read(v, rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every file of the vault with extension `ext` (dot folders left out), relative paths.
fn files(v: &Path, ext: &str) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(v)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == ext))
        .map(|e| {
            e.path()
                .strip_prefix(v)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    out.sort();
    out
}

/// A moment.js format as Obsidian's Templates plugin applies it (the tokens templates use).
fn moment(fmt: &str, now: &jiff::civil::DateTime) -> String {
    let mut out = fmt.to_string();
    for (t, v) in [
        ("YYYY", format!("{:04}", now.year())),
        ("MM", format!("{:02}", now.month())),
        ("DD", format!("{:02}", now.day())),
        ("HH", format!("{:02}", now.hour())),
        ("mm", format!("{:02}", now.minute())),
        ("ss", format!("{:02}", now.second())),
    ] {
        out = out.replace(t, &v);
    }
    out
}

/// Fills a template as Obsidian's core Templates plugin does: plain text replacement of
/// `{{title}}`, `{{date}}` and `{{time}}` (in the formats of `.obsidian/templates.json`, default
/// `YYYY-MM-DD` and `HH:mm`) and `{{date:FORMAT}}`/`{{time:FORMAT}}`, with no regard for YAML.
fn fill_as_obsidian(
    text: &str,
    title: &str,
    now: &jiff::civil::DateTime,
    date_fmt: &str,
    time_fmt: &str,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(a) = rest.find("{{") {
        let b = rest[a..].find("}}").expect("a closed placeholder") + a;
        out.push_str(&rest[..a]);
        let inner = &rest[a + 2..b];
        let (name, fmt) = inner.split_once(':').unwrap_or((inner, ""));
        out.push_str(&match (name, fmt) {
            ("title", _) => title.to_string(),
            ("date", "") => moment(date_fmt, now),
            ("time", "") => moment(time_fmt, now),
            ("date" | "time", f) => moment(f, now),
            _ => rest[a..b + 2].to_string(),
        });
        rest = &rest[b + 2..];
    }
    out.push_str(rest);
    out
}

#[test]
fn every_note_and_template_parses_and_templates_filled_as_obsidian_fills_them_pass_check() {
    let (_t, v) = init_vault();
    // After init every note parses, the templates as they are (placeholders and all) included.
    let notes = files(&v, "md");
    assert!(notes.iter().filter(|n| n.starts_with("Templates/")).count() == 5);
    for rel in &notes {
        let bytes = std::fs::read(v.join(rel)).unwrap();
        if let Err(e) = Note::parse(&bytes) {
            panic!(
                "{rel} does not parse: {e}\n{}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    // A person makes a note of each type in Obsidian (New note, then Insert template).
    let settings = json(&v, ".obsidian/templates.json");
    let date_fmt = settings["dateFormat"].as_str().unwrap_or("YYYY-MM-DD");
    let time_fmt = settings["timeFormat"].as_str().unwrap_or("HH:mm");
    let app = json(&v, ".obsidian/app.json");
    let new_notes = app["newFileFolderPath"].as_str().unwrap_or("");
    let now = jiff::ZonedDateTime::now().datetime();
    let schema = Schema::builtin();
    let made = [
        (
            "Client",
            "O'Brien & Co. — Kraków",
            vec!["email=ob@example.com"],
        ),
        (
            "Expert",
            "Zofia Wójcik-Żak",
            vec!["email=zofia@example.pl", "skills=rust, sql"],
        ),
        (
            "Project",
            "Sklep {nowa odsłona} 2027",
            vec!["client=Piekarnia Złoty Kłos"],
        ),
        (
            "Ticket",
            "Płatność nie działa - 50% zamówień",
            vec!["project=Złoty Kłos online shop", "from=client"],
        ),
        (
            "Intake",
            "Zapytanie nr 7 @ 9.00 & więcej",
            vec!["contact_name=Jan Kowalski", "email=jan@example.pl"],
        ),
    ];
    for (tpl, title, _) in &made {
        let template = read(&v, &format!("Templates/{tpl}.md"));
        let filled = fill_as_obsidian(&template, title, &now, date_fmt, time_fmt);
        assert!(!filled.contains("{{"), "{filled}");
        let rel = format!("{new_notes}/{title}.md");
        write(&v, &rel, &filled);
        let note = Note::parse_text(filled.clone())
            .unwrap_or_else(|e| panic!("{tpl} filled as Obsidian fills it: {e}\n{filled}"));
        let ty = schema
            .get(note.get("type").unwrap().as_str().unwrap())
            .unwrap();
        // Each date-typed property holds a date (or a date and time) the schema accepts.
        for f in ty
            .fields
            .iter()
            .filter(|f| f.ty.obsidian().starts_with("date"))
        {
            if let Some(value) = note.get(&f.name).filter(|v| !v.is_empty()) {
                assert_eq!(
                    ssot_vault::vault::schema::check_value(f, value),
                    None,
                    "{tpl}: {} = {value}",
                    f.name
                );
            }
        }
        assert_eq!(
            note.get("created").and_then(Value::as_date),
            Some(now.date()),
            "{tpl}"
        );
    }
    // Before their ids and required fields are given: only those are missing, nothing unreadable.
    let o = bin().current_dir(&v).arg("check").output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    for line in stdout(&o).lines() {
        assert!(
            line.contains(&format!("{new_notes}/")) && line.contains("missing required property"),
            "only the new notes' missing properties: {line}"
        );
    }
    // Filled in as Home.md says, the vault passes check.
    for (_, title, sets) in &made {
        let mut args = vec!["set".to_string(), format!("{new_notes}/{title}.md")];
        args.push("ssot_id=new".into());
        args.extend(sets.iter().map(|s| s.to_string()));
        bin().current_dir(&v).args(&args).assert().success();
    }
    bin()
        .current_dir(&v)
        .arg("check")
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn new_fills_quoted_date_placeholders_of_date_properties_as_dates() {
    let (_t, v) = init_vault();
    for tpl in ["Client", "Expert", "Project", "Ticket", "Intake"] {
        let text = read(&v, &format!("Templates/{tpl}.md"));
        for line in text.lines().filter(|l| l.contains("{{")) {
            let (_, value) = line.split_once(": ").unwrap();
            assert!(
                value.starts_with('"') && value.ends_with('"'),
                "Templates/{tpl}.md: `{line}`: a placeholder in quotes"
            );
        }
    }
    // A text property of the vault's own template keeps its quoted date as text.
    let client = read(&v, "Templates/Client.md").replace("industry:\n", "industry: \"{{date}}\"\n");
    write(&v, "Templates/Client.md", client);
    let today = jiff::ZonedDateTime::now().date();
    let made = |ty: &str, name: &str, sets: &[&str]| -> (String, Note) {
        let mut args = vec!["new", ty, name];
        for s in sets {
            args.extend(["--set", s]);
        }
        let o = bin().current_dir(&v).args(&args).output().unwrap();
        assert!(o.status.success(), "{o:?}");
        let text = read(&v, stdout(&o).trim());
        (text.clone(), Note::parse_text(text).unwrap())
    };
    let (text, ticket) = made(
        "ticket",
        "Payment page",
        &["project=Złoty Kłos online shop", "from=client"],
    );
    assert!(
        text.contains(&format!("\ncreated: {today}\n")),
        "a bare date:\n{text}"
    );
    assert_eq!(ticket.get("created"), Some(&Value::Date(today)));
    assert!(
        matches!(ticket.get("opened"), Some(Value::DateTime(s)) if s.starts_with(&today.to_string())),
        "{text}"
    );
    let (text, intake) = made(
        "intake",
        "Shop request",
        &["contact_name=Jan", "email=jan@example.pl"],
    );
    assert!(
        matches!(intake.get("submitted"), Some(Value::DateTime(_))),
        "{text}"
    );
    let (text, client) = made("client", "Róża", &["email=roza@example.pl"]);
    assert_eq!(
        client.get("industry"),
        Some(&Value::Str(today.to_string())),
        "{text}"
    );
    assert_eq!(client.get("created"), Some(&Value::Date(today)), "{text}");
    bin().current_dir(&v).arg("check").assert().code(0);
}

/// The Obsidian property type of a value the tool writes.
fn obsidian_type(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "multitext",
        Value::Date(_) => "date",
        Value::DateTime(_) => "datetime",
        Value::Int(_) | Value::Float(_) => "number",
        Value::Bool(_) => "checkbox",
        _ => "text",
    }
}

#[test]
fn types_json_has_a_type_for_every_key_the_tool_writes() {
    let (_t, v) = init_vault();
    let types = json(&v, ".obsidian/types.json");
    let types = types["types"].as_object().expect("a types object");
    let config = Config::parse(&read(&v, "ssot-vault.toml")).unwrap();
    let schema = Schema::from_config(&config).unwrap();
    let mut want: BTreeMap<String, String> = BTreeMap::new();
    // The schema's fields of every note type.
    for t in &schema.types {
        for f in &t.fields {
            let ty = match f.name.as_str() {
                "tags" => "tags",
                "aliases" => "aliases",
                _ => f.ty.obsidian(),
            };
            want.insert(f.name.clone(), ty.into());
        }
    }
    // Obsidian's own key for a note's CSS classes, which `set` writes like any other.
    want.insert("cssclasses".into(), "multitext".into());
    // The sync's conflict record, as the sync writes it.
    let Some(Edit::Set(key, value)) = apply::conflict_edits(
        None,
        hubspot::NAME,
        &["city | vault: a | hubspot: b".into()],
    ) else {
        panic!("a conflict is recorded with a set");
    };
    assert_eq!(key, apply::CONFLICTS_KEY);
    want.insert(key, obsidian_type(&value).into());
    // The archive mark of every remote the configuration knows (a date).
    assert!(config.remotes.len() >= 5, "{:?}", config.remotes.keys());
    for remote in config.remotes.keys() {
        want.insert(apply::archived_key(remote), "date".into());
    }
    // The remote id keys and every mapped key of the connectors' bindings.
    let hs = <HubspotConfig as ssot_vault::config::RemoteSection>::read(&config).unwrap();
    for b in mapping::bindings(&mapping::build(&hs, &schema)) {
        want.insert(b.id_key.clone(), "text".into());
        for f in b.fields.iter().filter(|f| f.conv != Conv::Title) {
            let field = schema.get(&b.note_type).and_then(|t| t.field(&f.key));
            let field = field.unwrap_or_else(|| panic!("{} maps `{}`", b.note_type, f.key));
            assert_eq!(
                want.get(&f.key).map(String::as_str),
                Some(field.ty.obsidian())
            );
        }
    }
    let missing: Vec<String> = want
        .iter()
        .filter(|(k, ty)| types.get(*k).and_then(|t| t.as_str()) != Some(ty.as_str()))
        .map(|(k, ty)| format!("{k}: {ty} (types.json has {:?})", types.get(k)))
        .collect();
    assert!(missing.is_empty(), "{missing:#?}");
}

/// The `"status" == "x"` → label pairs of a nested `if()` formula, in the order written.
fn status_labels(formula: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = formula;
    while let Some(i) = rest.find("status == \"") {
        rest = &rest[i + "status == \"".len()..];
        let (status, after) = rest.split_once('"').unwrap();
        let after = after.trim_start().strip_prefix(',').unwrap().trim_start();
        let label = after.strip_prefix('"').unwrap().split('"').next().unwrap();
        out.push((status.to_string(), label.to_string()));
        rest = after;
    }
    out
}

/// A `.base` file read with the project's YAML reader, as a map.
fn base(v: &Path, rel: &str) -> BTreeMap<String, Value> {
    let text = read(v, rel);
    let note = Note::parse_text(format!("---\n{}\n---\n", text.trim_end()))
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
    note.frontmatter.unwrap().to_map().into_iter().collect()
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

#[test]
fn dashboards_name_their_columns_order_statuses_by_lifecycle_and_leave_out_the_templates() {
    let (_t, v) = init_vault();
    let config = Config::parse(&read(&v, "ssot-vault.toml")).unwrap();
    let templates = ssot_vault::vault::obsidian::template_folders(&v, &config);
    assert_eq!(templates, ["Templates"]);
    let dashboards = files(&v, "base");
    assert_eq!(dashboards.len(), 5, "{dashboards:?}");
    let lifecycle: Vec<String> = PROJECT_STATUSES.iter().map(|s| s.to_string()).collect();
    let mut grouped_by_stage = 0;
    for rel in &dashboards {
        let b = base(&v, rel);
        // The templates folder of the configuration is left out.
        assert!(
            read(&v, rel).contains(&format!("file.inFolder(\"{}\")", templates[0])),
            "{rel}"
        );
        let props = b
            .get("properties")
            .unwrap_or_else(|| panic!("{rel}: properties"));
        let formulas = b.get("formulas");
        for view in b["views"].items() {
            // Every column has a display name.
            for col in get(view, "order").unwrap().items() {
                let col = col.as_str().unwrap();
                let name = get(props, col).and_then(|p| get(p, "displayName"));
                assert!(
                    name.is_some_and(|n| !n.is_empty() && n.as_str() != Some(col)),
                    "{rel}: column `{col}` has no display name"
                );
            }
            // A status order is the lifecycle's: groups and sorts by a formula whose labels,
            // sorted as text, come in lifecycle order.
            let by_group = get(view, "groupBy").and_then(|g| get(g, "property"));
            let by_sort = get(view, "sort").map(|s| s.items()).unwrap_or_default();
            let keys: Vec<&str> = by_group
                .into_iter()
                .chain(by_sort.iter().filter_map(|s| get(s, "property")))
                .filter_map(Value::as_str)
                .collect();
            assert!(
                !keys.contains(&"status"),
                "{rel}: ordered by the raw status, alphabetically"
            );
            for key in keys {
                let Some(name) = key.strip_prefix("formula.") else {
                    continue;
                };
                let formula = formulas.and_then(|f| get(f, name)).unwrap();
                let pairs = status_labels(formula.as_str().unwrap());
                let mut sorted = pairs.clone();
                sorted.sort_by(|a, b| a.1.cmp(&b.1));
                let order: Vec<String> = sorted.into_iter().map(|(s, _)| s).collect();
                assert_eq!(order, lifecycle, "{rel}: {formula}");
                if by_group.and_then(Value::as_str) == Some(key) {
                    grouped_by_stage += 1;
                }
            }
        }
    }
    assert_eq!(
        grouped_by_stage, 1,
        "Projects by status groups by the stage"
    );
    // A fresh vault's dashboards agree with its configuration; after a change of
    // `[vault] templates`, doctor names each dashboard that still leaves out the old folder.
    let o = bin().current_dir(&v).arg("doctor").output().unwrap();
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(!stdout(&o).contains("warn"), "{}", stdout(&o));
    let toml = read(&v, "ssot-vault.toml")
        .replace("# templates = \"Templates\"", "templates = \"Vorlagen\"");
    write(&v, "ssot-vault.toml", toml);
    std::fs::rename(v.join("Templates"), v.join("Vorlagen")).unwrap();
    let o = bin().current_dir(&v).arg("doctor").output().unwrap();
    assert!(o.status.success(), "warnings only: {}", stdout(&o));
    for rel in &dashboards {
        assert!(
            stdout(&o).contains(&format!(
                "warn obsidian: {rel} shows the templates in Vorlagen/ as rows: its filters do not leave out the templates folder (it leaves out Templates)"
            )),
            "{rel}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn new_notes_made_in_obsidian_go_to_the_inbox_not_among_intake_requests() {
    let (_t, v) = init_vault();
    let config = Config::parse(&read(&v, "ssot-vault.toml")).unwrap();
    let app = json(&v, ".obsidian/app.json");
    let folder = app["newFileFolderPath"].as_str().unwrap_or("");
    assert_eq!(app["newFileLocation"], "folder");
    assert_eq!(folder, "Inbox");
    for managed in [
        &config.folders.client,
        &config.folders.expert,
        &config.folders.project,
        &config.folders.ticket,
        &config.folders.intake,
        &ssot_vault::vault::obsidian::template_folders(&v, &config)[0],
    ] {
        assert_ne!(folder, managed.as_str());
    }
    assert!(v.join(folder).join("_About this folder.md").is_file());
    assert!(read(&v, "Home.md").contains(&format!("| `{folder}/` |")));
    // A vault made before, sending new notes to Intake/: doctor says what to change.
    write(
        &v,
        ".obsidian/app.json",
        "{\"newFileLocation\": \"folder\", \"newFileFolderPath\": \"Intake\"}\n",
    );
    let o = bin().current_dir(&v).arg("doctor").output().unwrap();
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("warn obsidian: new notes made in Obsidian go to Intake/ (.obsidian/app.json), among the intake notes: set Settings → Files and links → Default location for new notes to Inbox/"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn what_obsidian_rewrites_on_its_own_stays_out_of_git_and_the_audit_log() {
    let (_t, v) = init_vault();
    for rel in [
        ".obsidian/workspace.json",
        ".obsidian/workspace-mobile.json",
        ".obsidian/workspaces.json",
        ".obsidian/graph.json",
        ".obsidian/cache",
        ".obsidian/plugins/recent-files-obsidian/data.json",
        ".obsidian/plugins/remember-cursor-position/cursor-positions.json",
        ".trash/Old note.md",
        ".DS_Store",
        "Clients/.DS_Store",
    ] {
        write(&v, rel, "{\"scale\": 1.2}");
    }
    bin()
        .current_dir(&v)
        .arg("status")
        .assert()
        .success()
        .stdout("nothing to commit\n");
    let repo = git2::Repository::open(&v).unwrap();
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true);
    let changed: Vec<String> = repo
        .statuses(Some(&mut opts))
        .unwrap()
        .iter()
        .filter_map(|e| e.path().ok().map(str::to_string))
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
    // A settings change is recorded: only the app's own bookkeeping is ignored.
    write(
        &v,
        ".obsidian/app.json",
        "{\"newFileLocation\": \"root\"}\n",
    );
    write(&v, ".obsidian/plugins/dataview/data.json", "{}\n");
    let o = bin().current_dir(&v).arg("status").output().unwrap();
    assert!(stdout(&o).contains(".obsidian/app.json"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(".obsidian/plugins/dataview/data.json"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn the_obsidian_version_is_stated_and_doctor_checks_the_core_plugins() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let home = String::from_utf8(ssot_vault::template::file("Home.md").unwrap().to_vec()).unwrap();
    for text in [&readme, &home] {
        assert!(text.contains(&format!("Obsidian {BASES_VERSION} or newer")));
        assert!(text.contains(&format!("Obsidian {GROUPING_VERSION} or newer")));
    }
    let (_t, v) = init_vault();
    let o = bin().current_dir(&v).arg("doctor").output().unwrap();
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!(
            "note obsidian: the dashboards need Obsidian {GROUPING_VERSION} or newer (Bases {BASES_VERSION}, grouped views {GROUPING_VERSION}); the vault does not record which version opens it"
        )),
        "{}",
        stdout(&o)
    );
    let plugins = read(&v, ".obsidian/core-plugins.json")
        .replace("\"bases\": true", "\"bases\": false")
        .replace("\"templates\": true", "\"templates\": false");
    write(&v, ".obsidian/core-plugins.json", plugins);
    let o = bin().current_dir(&v).arg("doctor").output().unwrap();
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("warn obsidian: the Bases core plugin is off (.obsidian/core-plugins.json): the dashboards need it"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("warn obsidian: the Templates core plugin is off"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn doctor_names_the_keys_the_tool_writes_that_a_vaults_types_json_lacks() {
    let (_t, v) = init_vault();
    let o = bin().current_dir(&v).arg("doctor").output().unwrap();
    assert!(!stdout(&o).contains("types.json"), "{}", stdout(&o));
    // A vault made before `types.json` typed the sync's keys.
    let mut types = json(&v, ".obsidian/types.json");
    let map = types["types"].as_object_mut().unwrap();
    map.remove(apply::CONFLICTS_KEY);
    map.remove("hubspot_archived");
    map.insert("cssclasses".into(), "text".into());
    write(&v, ".obsidian/types.json", types.to_string());
    let o = bin().current_dir(&v).arg("doctor").output().unwrap();
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("warn obsidian: .obsidian/types.json lacks the type of 3 key(s) the tool writes, so Obsidian guesses them: add \"cssclasses\": \"multitext\", \"hubspot_archived\": \"date\", \"sync_conflicts\": \"multitext\"\n"),
        "{}",
        stdout(&o)
    );
}
