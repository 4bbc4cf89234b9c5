//! A record's links as a service is asked to make them: each link target resolved to its remote
//! id, targets whose record is archived remotely left out, and the messages naming
//! each link left out or refused by the service, by the note's path.
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
