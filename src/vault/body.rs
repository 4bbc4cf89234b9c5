//! What the product needs from a note's markdown body: wikilinks (and embeds), headings, and
//! markdown task lists with the heading they sit under. Parsed with pulldown-cmark, so links in
//! code blocks are not links and `---` lines are horizontal rules, as in Obsidian. As in
//! Obsidian too, what lies in a `%% comment %%` (inline or over several lines; an unclosed `%%`
//! comments out the rest of the note) is not indexed, and `\|` inside a wikilink (the way a link
//! with an alias is written in a table cell) is its alias separator.

use pulldown_cmark::{Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

use super::value::split_link;

/// A wikilink in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The note path or name, as written.
    pub target: String,
    /// The heading after `#`.
    pub heading: Option<String>,
    /// The alias after `|`.
    pub alias: Option<String>,
    /// `![[...]]`.
    pub embed: bool,
    /// Byte offset in the note text.
    pub offset: usize,
}

/// A heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// 1 to 6.
    pub level: u8,
    /// Its text.
    pub text: String,
    /// Byte offset of the heading line in the note text.
    pub offset: usize,
}

/// A markdown task `- [ ] text` / `- [x] text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Checked (`[x]`, `[X]`).
    pub checked: bool,
    /// The task's text.
    pub text: String,
    /// The nearest heading above it.
    pub heading: Option<String>,
    /// Byte offset in the note text.
    pub offset: usize,
}

/// The parts of a body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    /// Wikilinks and embeds.
    pub links: Vec<Link>,
    /// Headings in order.
    pub headings: Vec<Heading>,
    /// Tasks in order.
    pub tasks: Vec<Task>,
}

impl Body {
    /// Tasks under the heading named `heading` (case-insensitive).
    pub fn tasks_under<'a>(&'a self, heading: &'a str) -> impl Iterator<Item = &'a Task> + 'a {
        self.tasks.iter().filter(move |t| {
            t.heading
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(heading))
        })
    }
}

/// Parses the body `text[start..]`; offsets are given in `text`.
pub fn parse(text: &str, start: usize) -> Body {
    let src = &text[start..];
    let opts = Options::ENABLE_WIKILINKS | Options::ENABLE_TASKLISTS | Options::ENABLE_TABLES;
    let mut body = Body::default();
    let mut heading: Option<(u8, usize, String)> = None;
    let mut current_heading: Option<String> = None;
    // Open task: (checked, offset, text).
    let mut task: Option<(bool, usize, String)> = None;
    let mut item_depth = 0usize;
    // Code spans and blocks (offsets in `src`): a `%%` there opens no comment.
    let mut code: Vec<std::ops::Range<usize>> = Vec::new();
    let mut code_block: Option<usize> = None;
    for (event, range) in Parser::new_ext(src, opts).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_)) => code_block = Some(range.start),
            Event::End(TagEnd::CodeBlock) => {
                code.push(code_block.take().unwrap_or(range.start)..range.end);
            }
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((level_num(level), range.start, String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, offset, text)) = heading.take() {
                    let text = text.trim().to_string();
                    current_heading = Some(text.clone());
                    body.headings.push(Heading {
                        level,
                        text,
                        offset: start + offset,
                    });
                }
            }
            Event::Start(Tag::Item) => item_depth += 1,
            Event::End(TagEnd::Item) => {
                item_depth = item_depth.saturating_sub(1);
                if let Some((checked, offset, text)) = task.take() {
                    body.tasks.push(Task {
                        checked,
                        text: text.trim().to_string(),
                        heading: current_heading.clone(),
                        offset: start + offset,
                    });
                }
            }
            Event::TaskListMarker(checked) => {
                if let Some((c, o, t)) = task.take() {
                    // A nested task list closes the outer task's text.
                    body.tasks.push(Task {
                        checked: c,
                        text: t.trim().to_string(),
                        heading: current_heading.clone(),
                        offset: start + o,
                    });
                }
                task = Some((checked, range.start, String::new()));
            }
            Event::Start(Tag::Link {
                link_type: LinkType::WikiLink { .. },
                ..
            })
            | Event::Start(Tag::Image {
                link_type: LinkType::WikiLink { .. },
                ..
            }) => {
                let raw = &src[range.clone()];
                let embed = raw.starts_with('!');
                let inner = raw
                    .trim_start_matches('!')
                    .trim_start_matches("[[")
                    .trim_end_matches("]]")
                    .replace("\\|", "|");
                let w = split_link(&inner);
                body.links.push(Link {
                    target: w.target.to_string(),
                    heading: w.heading.map(str::to_string),
                    alias: w.alias.map(str::to_string),
                    embed,
                    offset: start + range.start,
                });
            }
            Event::Code(t) => {
                code.push(range.clone());
                if let Some((_, _, text)) = &mut heading {
                    text.push_str(&t);
                }
                if let Some((_, _, text)) = &mut task {
                    text.push_str(&t);
                }
            }
            Event::Text(t) => {
                if let Some((_, _, text)) = &mut heading {
                    text.push_str(&t);
                }
                if let Some((_, _, text)) = &mut task {
                    text.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, _, text)) = &mut task {
                    text.push(' ');
                }
            }
            _ => {}
        }
    }
    let _ = item_depth;
    let comments = comments(src, &code);
    if !comments.is_empty() {
        let inside = |offset: usize| comments.iter().any(|c| c.contains(&(offset - start)));
        body.links.retain(|l| !inside(l.offset));
        body.headings.retain(|h| !inside(h.offset));
        body.tasks.retain(|t| !inside(t.offset));
    }
    body
}

/// The `%% ... %%` comments of `src` (byte ranges, both markers included), leaving out `%%` in
/// code; an unclosed comment runs to the end.
fn comments(src: &str, code: &[std::ops::Range<usize>]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut open: Option<usize> = None;
    let mut from = 0;
    while let Some(i) = src[from..].find("%%").map(|i| i + from) {
        from = i + 2;
        if code.iter().any(|c| c.contains(&i)) {
            continue;
        }
        match open.take() {
            None => open = Some(i),
            Some(o) => out.push(o..i + 2),
        }
    }
    if let Some(o) = open {
        out.push(o..src.len());
    }
    out
}

fn level_num(l: HeadingLevel) -> u8 {
    match l {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_headings_tasks() {
        let t = "---\na: 1\n---\n# Top\nSee [[Acme Corp|Acme]] and ![[Plan.pdf]], [[Note#Part]].\n\n## Credentialing\n- [ ] NDA signed\n- [x] Contract with [[Acme Corp]]\n\n---\n`[[not a link]]`\n";
        let b = parse(t, 13);
        let targets: Vec<_> = b
            .links
            .iter()
            .map(|l| (l.target.as_str(), l.embed))
            .collect();
        assert_eq!(
            targets,
            vec![
                ("Acme Corp", false),
                ("Plan.pdf", true),
                ("Note", false),
                ("Acme Corp", false)
            ]
        );
        assert_eq!(b.links[2].heading.as_deref(), Some("Part"));
        assert_eq!(&t[b.links[0].offset..b.links[0].offset + 2], "[[");
        assert_eq!(b.headings.len(), 2);
        let tasks: Vec<_> = b
            .tasks_under("credentialing")
            .map(|t| (t.checked, t.text.as_str()))
            .collect();
        assert_eq!(
            tasks,
            vec![(false, "NDA signed"), (true, "Contract with Acme Corp")]
        );
    }

    fn targets(t: &str) -> Vec<(String, Option<String>)> {
        parse(t, 0)
            .links
            .into_iter()
            .map(|l| (l.target, l.alias))
            .collect()
    }

    #[test]
    fn escaped_pipes_in_table_cells() {
        let t = "| a | b |\n|---|---|\n| [[Note\\|alias]] | ![[pic.png\\|100]] |\n";
        assert_eq!(
            targets(t),
            vec![
                ("Note".to_string(), Some("alias".to_string())),
                ("pic.png".to_string(), Some("100".to_string()))
            ]
        );
    }

    #[test]
    fn comments_hide_links() {
        let t = "[[A]] %% [[B]] %% [[C]]\n%%\n[[D]]\n- [ ] task\n%%\n`%%` [[E]]\n```\n%%\n```\n[[F]]\n%% [[G]]\n";
        let names: Vec<String> = targets(t).into_iter().map(|(t, _)| t).collect();
        assert_eq!(names, vec!["A", "C", "E", "F"]);
        assert!(parse(t, 0).tasks.is_empty());
    }
}
