//! A record's links as a service is asked to make them: each link target resolved to its remote
//! id, targets whose record is archived remotely left out, and the messages naming
//! each link left out or refused by the service, by the note's path.
//!
//! A record made remotely gets its links the other way: from the records the service associates
//! with it, each turned into the note it belongs to ([`from_associations`]).
//!
//! A link is never sent to a record the run knows is archived: marked archived in its note (this
//! run or before), found gone when written this run, or archived with its deleted note. The
//! service would refuse it anyway; leaving it out keeps the request clean and the reason plain.

use std::collections::BTreeMap;

use super::plan::RecordPlan;

/// A record's links to send, and the messages naming those left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// (key, target note type, remote ids) as the connector takes them.
    pub send: Vec<(String, String, Vec<String>)>,
    /// One message per link target left out because its record is archived.
    pub left_out: Vec<String>,
}

/// Whose note each remote record is: (kind, remote id) → (`ssot_id`, note type).
pub type Owners = BTreeMap<(String, String), (String, String)>;

/// A link key of a note type: (key, the note type it links to, whether it holds a list).
pub type LinkKey = (String, String, bool);

/// The links of a note made from a record, from the records the service associates with it
/// (`associated`: (kind, remote id), in the service's order): each associated record that is a
/// note's (`owners`) fills the keys linking to that note's type, so a contact associated with a
/// deal is its `client` when it is a client's and its `expert` when an expert's. A key holding
/// one link takes the first such note; records that are no note's are left out.
pub fn from_associations(
    associated: &[(String, String)],
    owners: &Owners,
    keys: &[LinkKey],
) -> Vec<(String, String, Vec<String>)> {
    let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
    for (key, target, many) in keys {
        let mut sids: Vec<String> = Vec::new();
        for a in associated {
            let Some((sid, ty)) = owners.get(a) else {
                continue;
            };
            if ty == target && !sids.contains(sid) {
                sids.push(sid.clone());
            }
        }
        if !*many {
            sids.truncate(1);
        }
        if !sids.is_empty() {
            out.push((key.clone(), target.clone(), sids));
        }
    }
    out
}

/// Resolves `rp`'s links. `remote_id` gives a target's remote id by `ssot_id`; `archived` says
/// whether the target's record is archived remotely; `rel` gives the target note's
/// path (for messages).
pub fn resolve<'a, 'b>(
    rp: &RecordPlan,
    remote: &str,
    remote_id: impl Fn(&str) -> Option<&'b String>,
    archived: impl Fn(&str) -> bool,
    rel: impl Fn(&str) -> Option<&'a str>,
) -> Links {
    let mut out = Links::default();
    for (key, target_type, sids) in &rp.links {
        let mut ids = Vec::new();
        for sid in sids {
            let Some(id) = remote_id(sid) else { continue };
            if archived(sid) {
                out.left_out.push(format!(
                    "{}: {key} → {} not associated in {remote}: its {remote} record {id} is archived",
                    rp.rel,
                    rel(sid).unwrap_or(sid)
                ));
                continue;
            }
            ids.push(id.clone());
        }
        out.send.push((key.clone(), target_type.clone(), ids));
    }
    out
}

/// The message naming a link the service did not make: the note, the link and its target (by
/// note path when the target is a linked note, else by remote id), and the service's reason.
pub fn unlinked_message<'a>(
    rp: &RecordPlan,
    remote: &str,
    (key, target, why): (&str, &str, &str),
    remote_ids: &BTreeMap<String, String>,
    rel: impl Fn(&str) -> Option<&'a str>,
) -> String {
    let target_note = rp
        .links
        .iter()
        .filter(|(k, _, _)| k == key)
        .flat_map(|(_, _, sids)| sids)
        .find(|sid| remote_ids.get(sid.as_str()).is_some_and(|r| r == target))
        .and_then(|sid| rel(sid));
    let what = match (target_note, target.is_empty()) {
        (Some(n), _) => format!("{key} → {n} ({remote} {target})"),
        (None, false) => format!("{key} → {remote} {target}"),
        (None, true) => key.to_string(),
    };
    format!("{}: {what} not associated in {remote}: {why}", rp.rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn associated_records_become_links_by_their_notes_types() {
        let owners: Owners = [
            (("contacts", "7"), ("C7", "client")),
            (("contacts", "3"), ("C3", "client")),
            (("contacts", "9"), ("E9", "expert")),
            (("deals", "3"), ("P3", "project")),
        ]
        .into_iter()
        .map(|((k, r), (s, t))| ((k.into(), r.into()), (s.into(), t.into())))
        .collect();
        let keys: Vec<LinkKey> = vec![
            ("client".into(), "client".into(), false),
            ("expert".into(), "expert".into(), false),
            ("team".into(), "expert".into(), true),
        ];
        let a = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, r)| (k.to_string(), r.to_string()))
                .collect()
        };
        // The first client's contact fills `client`, the expert's `expert` and the list `team`;
        // a record that is no note's (contact 4) and one of another kind (deal 3) are no link.
        assert_eq!(
            from_associations(
                &a(&[
                    ("contacts", "4"),
                    ("contacts", "3"),
                    ("contacts", "9"),
                    ("contacts", "7")
                ]),
                &owners,
                &keys
            ),
            vec![
                (
                    "client".to_string(),
                    "client".to_string(),
                    vec!["C3".to_string()]
                ),
                (
                    "expert".to_string(),
                    "expert".to_string(),
                    vec!["E9".to_string()]
                ),
                (
                    "team".to_string(),
                    "expert".to_string(),
                    vec!["E9".to_string()]
                ),
            ]
        );
        // Only an expert's contact: no client.
        assert_eq!(
            from_associations(
                &a(&[("contacts", "9"), ("deals", "3")]),
                &owners,
                &keys[..1]
            ),
            vec![]
        );
    }
}
