//! The markdown → ADF converter against the Jira emulator: a body section with every construct
//! (and the hostile cases) converted by `connectors::jira::adf` is taken as an issue's
//! description and as a comment through real HTTP, is read back unchanged, and writes back to
//! the same markdown.

use std::time::Duration;

use serde_json::{Value, json};
use ssot_vault::connectors::jira::adf::{adf_to_markdown, markdown_to_adf};
use ssot_vault::sandbox::jira::{DEFAULT_EMAIL, DEFAULT_TOKEN, JiraConfig};
use ssot_vault::sandbox::{Sandbox, SandboxConfig};

const BRIEF: &str = "## Brief

Warehouse audit for *ACME*: **three sites**, ~~two~~ one report, see [the plan](https://acme.example/plan \"Plan\")
and `audit.xlsx`.\\
Owner: [[Ewa Lis]] (==urgent==) %%internal%%

1. Visit Gdańsk
2. Visit Łódź
   - with the client's safety officer
   - badge `B-12`

- [ ] NDA signed
- [x] Kick-off held

> Quote from the client: *soon*.

```sql
select * from stock where qty < 0;
```

---

Escapes: 1. not a list, # not a heading, *not em*, <b>raw</b>, a \\ b.
Hostile: bidi \u{202e}olleh\u{202c}, ctrl \u{7}, nul \u{0}.
";

async fn start() -> (Sandbox, reqwest::Client, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cfg = SandboxConfig {
        hubspot_rate_limit: None,
        search_rate_limit_per_sec: None,
        jira: JiraConfig::default(),
        ..SandboxConfig::default()
    };
    let sb = Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg)
        .await
        .expect("start sandbox");
    let base = format!("{}/rest/api/3", sb.jira_base_url());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    (sb, client, base)
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client
        .request(method, url)
        .basic_auth(DEFAULT_EMAIL, Some(DEFAULT_TOKEN));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn converted_descriptions_and_comments_are_taken_and_read_back_unchanged() {
    let (_sb, client, base) = start().await;
    let deep = format!("{}deep", "> ".repeat(10_000));
    let long = "word ".repeat(2_000);
    for (i, md) in [BRIEF, deep.as_str(), long.as_str()]
        .into_iter()
        .enumerate()
    {
        let adf = markdown_to_adf(md);
        let (status, created) = send(
            &client,
            reqwest::Method::POST,
            &format!("{base}/issue"),
            Some(
                json!({"fields": {"project": {"key": "SSOT"}, "issuetype": {"name": "Epic"},
                                   "summary": format!("Case {i}"), "description": adf}}),
            ),
        )
        .await;
        assert_eq!(status, 201, "case {i}: {created}");
        let key = created["key"].as_str().expect("key").to_owned();
        let (status, got) = send(
            &client,
            reqwest::Method::GET,
            &format!("{base}/issue/{key}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{got}");
        let description = &got["fields"]["description"];
        assert_eq!(description, &adf, "case {i}");
        let md1 = adf_to_markdown(description).expect("a doc");
        assert_eq!(markdown_to_adf(&md1), adf, "case {i}: {md1}");

        // The same document as an edit and as a comment.
        let (status, body) = send(
            &client,
            reqwest::Method::PUT,
            &format!("{base}/issue/{key}"),
            Some(json!({"fields": {"description": adf}})),
        )
        .await;
        assert_eq!(status, 204, "{body}");
        let (status, body) = send(
            &client,
            reqwest::Method::POST,
            &format!("{base}/issue/{key}/comment"),
            Some(json!({"body": adf})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["body"], adf);
    }
}

#[test]
fn the_brief_reads_as_jira_would_show_it() {
    let adf = markdown_to_adf(BRIEF);
    let types: Vec<&str> = adf["content"]
        .as_array()
        .expect("content")
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "heading",
            "paragraph",
            "orderedList",
            "taskList",
            "blockquote",
            "codeBlock",
            "rule",
            "paragraph"
        ]
    );
    let md = adf_to_markdown(&adf).expect("a doc");
    assert!(
        md.contains("Owner: [[Ewa Lis]] (==urgent==) %%internal%%"),
        "{md}"
    );
    assert!(md.contains("- [ ] NDA signed\n- [x] Kick-off held"), "{md}");
    assert_eq!(adf_to_markdown(&markdown_to_adf(&md)).expect("a doc"), md);
}
