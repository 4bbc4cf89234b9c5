//! Body sections merged item by item: a note's task list (`## Credentialing` ↔ a Trello
//! checklist) and its comment list (`## Conversation` ↔ a card's comments), three-way against
//! the items as they were when the note and the service last agreed. Pure, so it is
//! property-tested.
//!
//! - A **task list** is merged by each item's text (its key) and checked state: an item added on
//!   either side is kept; one removed on one side and unchanged on the other is removed; one
//!   removed on one side and edited (checked or unchecked) on the other is kept, since an edit
//!   says someone still cares about it; a checked state changed on one side only wins; changed on
//!   both sides to different states (only possible with no base), the item is checked: work
//!   reported done is not undone by a merge. An item renamed in place on one side (its place in
//!   the list holds a new text) is renamed on the other side too, keeping that side's checked
//!   state: renamed in the vault and checked in the service, it is one renamed, checked item.
//!   Order: the vault's, then items new on the service
//!   in the service's order (the service's order when only the service changed the list).
//! - A **comment list** is append-only: the union of both sides by stamp (author and time),
//!   ordered by stamp, never a conflict and never a removal. A comment whose text differs on the
//!   two sides takes the side that changed it from the base (the vault's when both did).
//! - A **list** the service owns (a card's attachments) is pull only: the service's items,
//!   never pushed; the note is rewritten only when they differ from its own.
//! - A **text** (a description) is one value merged three-way like a field: the side that
//!   changed it from the base wins; changed on both sides to different texts, it is a conflict
//!   ([`Merged::conflict`]): neither side is written and the base is kept, so it stays one
//!   until the two sides agree (or the conflict policy picks a side, `sync::plan`).

use std::collections::{BTreeMap, BTreeSet};

pub use crate::vault::sections::{SectionItem, SectionKind};

/// Body sections by heading, in heading order: a map that costs one small vector (a note has
/// one or two synced sections, where a `BTreeMap` would allocate a whole node for each). It is
/// kept three times per synced record (the note, the plan, the base), so its size counts.
/// Serialized as a map (heading → items), as a `BTreeMap` is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectionMap(Vec<(String, Vec<SectionItem>)>);

impl SectionMap {
    /// The items under `heading`.
    pub fn get(&self, heading: &str) -> Option<&Vec<SectionItem>> {
        self.find(heading).ok().map(|i| &self.0[i].1)
    }

    /// Whether there is a section under `heading`.
    pub fn contains_key(&self, heading: &str) -> bool {
        self.find(heading).is_ok()
    }

    /// Sets the items under `heading` (replacing any).
    pub fn insert(&mut self, heading: String, items: Vec<SectionItem>) {
        match self.find(&heading) {
            Ok(i) => self.0[i].1 = items,
            Err(i) => {
                self.0.insert(i, (heading, items));
                self.0.shrink_to_fit();
            }
        }
    }

    /// No section.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of sections.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The sections in heading order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<SectionItem>)> {
        self.0.iter().map(|(h, i)| (h, i))
    }

    /// The headings in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(h, _)| h)
    }

    fn find(&self, heading: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(h, _)| h.as_str().cmp(heading))
    }
}

impl<Q: AsRef<str> + ?Sized> std::ops::Index<&Q> for SectionMap {
    type Output = Vec<SectionItem>;
    /// The items under a heading; panics when there is none (as a `BTreeMap` does).
    fn index(&self, heading: &Q) -> &Vec<SectionItem> {
        match self.get(heading.as_ref()) {
            Some(items) => items,
            None => panic!("no section {:?}", heading.as_ref()),
        }
    }
}

impl FromIterator<(String, Vec<SectionItem>)> for SectionMap {
    fn from_iter<T: IntoIterator<Item = (String, Vec<SectionItem>)>>(iter: T) -> Self {
        // As a `BTreeMap` collects: sorted by heading, the last of equal headings kept.
        let mut v: Vec<(String, Vec<SectionItem>)> = Vec::new();
        for (h, items) in iter {
            match v.binary_search_by(|(k, _)| k.cmp(&h)) {
                Ok(i) => v[i].1 = items,
                Err(i) => v.insert(i, (h, items)),
            }
        }
        v.shrink_to_fit();
        SectionMap(v)
    }
}

impl<const N: usize> From<[(String, Vec<SectionItem>); N]> for SectionMap {
    fn from(a: [(String, Vec<SectionItem>); N]) -> Self {
        a.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a SectionMap {
    type Item = (&'a String, &'a Vec<SectionItem>);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Vec<SectionItem>)>,
        fn(&'a (String, Vec<SectionItem>)) -> (&'a String, &'a Vec<SectionItem>),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(h, i)| (h, i))
    }
}

impl serde::Serialize for SectionMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(h, i)| (h, i)))
    }
}

impl<'de> serde::Deserialize<'de> for SectionMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SectionMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of body sections")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<SectionMap, A::Error> {
                let mut out = Vec::new();
                while let Some(e) = m.next_entry::<String, Vec<SectionItem>>()? {
                    out.push(e);
                }
                Ok(out.into_iter().collect())
            }
        }
        d.deserialize_map(V)
    }
}

/// The merged items of a section, and which sides must take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The items both sides hold after the merge.
    pub items: Vec<SectionItem>,
    /// The service must take them (they differ from its items).
    pub push: bool,
    /// The note must take them (they differ from its items).
    pub pull: bool,
    /// Both sides changed a text differently: `items` is the base, nothing is written.
    pub conflict: bool,
}

/// Merges a section's items: `base` as last agreed (empty when never synced), `vault` and
/// `remote` as they are now.
pub fn merge(
    kind: SectionKind,
    base: &[SectionItem],
    vault: &[SectionItem],
    remote: &[SectionItem],
) -> Merged {
    let items = match kind {
        SectionKind::Tasks => merge_tasks(base, vault, remote),
        SectionKind::Comments => merge_comments(base, vault, remote),
        // The service's list, whatever the note holds: the note is rewritten only when its
        // list differs (a hand edit is undone, an unchanged list writes nothing).
        SectionKind::List => remote.to_vec(),
        SectionKind::Text => {
            if vault == remote || remote == base {
                vault.to_vec()
            } else if vault == base {
                remote.to_vec()
            } else {
                return Merged {
                    items: base.to_vec(),
                    push: false,
                    pull: false,
                    conflict: true,
                };
            }
        }
    };
    Merged {
        push: items.as_slice() != remote,
        pull: items.as_slice() != vault,
        items,
        conflict: false,
    }
}

fn by_key(items: &[SectionItem]) -> BTreeMap<&str, &SectionItem> {
    let mut out = BTreeMap::new();
    for i in items {
        out.entry(i.key.as_str()).or_insert(i);
    }
    out
}

/// The items one side renamed in place: a base item this side no longer has, whose place (its
/// index) holds an item new on this side. Pairs of (old key, the new item).
fn renames<'a>(base: &[SectionItem], side: &'a [SectionItem]) -> Vec<(String, &'a SectionItem)> {
    let (b, s) = (by_key(base), by_key(side));
    base.iter()
        .enumerate()
        .filter(|(_, old)| !s.contains_key(old.key.as_str()))
        .filter_map(|(i, old)| {
            let new = side.get(i)?;
            (!b.contains_key(new.key.as_str())).then(|| (old.key.clone(), new))
        })
        .collect()
}

/// Carries one side's renames to the base and to the other side, where that side still has the
/// old item and not the new one: its checked state stays, its text becomes the new one. So an
/// item renamed on one side and checked on the other is one item with both changes.
fn carry_renames(
    pairs: &[(String, &SectionItem)],
    base: &mut [SectionItem],
    other: &mut [SectionItem],
) {
    for (old, new) in pairs {
        let has = |items: &[SectionItem], key: &str| items.iter().any(|i| i.key == key);
        if !has(other, old) || has(other, &new.key) {
            continue;
        }
        for item in base.iter_mut().chain(other.iter_mut()) {
            if item.key == *old {
                item.key = new.key.clone();
                item.text = new.text.clone();
            }
        }
    }
}

fn merge_tasks(
    base: &[SectionItem],
    vault: &[SectionItem],
    remote: &[SectionItem],
) -> Vec<SectionItem> {
    let (from_vault, from_remote) = (renames(base, vault), renames(base, remote));
    let (mut base, mut vault, mut remote) = (base.to_vec(), vault.to_vec(), remote.to_vec());
    carry_renames(&from_vault, &mut base, &mut remote);
    carry_renames(&from_remote, &mut base, &mut vault);
    let (base, vault, remote) = (base.as_slice(), vault.as_slice(), remote.as_slice());
    let (b, v, r) = (by_key(base), by_key(vault), by_key(remote));
    let checked = |i: Option<&&SectionItem>| i.map(|i| i.checked.unwrap_or(false));
    let mut out: Vec<SectionItem> = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    // The order of the side that changed: the vault's, or the service's when only it did.
    let (first, second) = if vault == base {
        (remote, vault)
    } else {
        (vault, remote)
    };
    for key in first.iter().chain(second).map(|i| i.key.as_str()) {
        if !done.insert(key) {
            continue;
        }
        let (bi, vi, ri) = (b.get(key), v.get(key), r.get(key));
        let state = match (vi, ri) {
            (Some(_), Some(_)) => {
                let (bc, vc, rc) = (checked(bi), checked(vi), checked(ri));
                if vc == rc || rc == bc {
                    vc
                } else if vc == bc {
                    rc
                } else {
                    Some(true)
                }
            }
            // On one side only: new there (keep), or removed on the other (keep only if this
            // side changed it since the base).
            (Some(only), None) | (None, Some(only)) => match bi {
                None => Some(only.checked.unwrap_or(false)),
                Some(bi) if bi.checked.unwrap_or(false) != only.checked.unwrap_or(false) => {
                    Some(only.checked.unwrap_or(false))
                }
                Some(_) => None,
            },
            (None, None) => None,
        };
        if let Some(c) = state {
            let text = vi.or(ri).map(|i| i.text.clone()).unwrap_or_default();
            out.push(SectionItem {
                key: key.to_string(),
                text,
                checked: Some(c),
                stamp: None,
            });
        }
    }
    out
}

fn merge_comments(
    base: &[SectionItem],
    vault: &[SectionItem],
    remote: &[SectionItem],
) -> Vec<SectionItem> {
    let (b, v, r) = (by_key(base), by_key(vault), by_key(remote));
    let keys: BTreeSet<&str> = v.keys().chain(r.keys()).copied().collect();
    let mut out: Vec<SectionItem> = keys
        .into_iter()
        .filter_map(|k| {
            let item = match (v.get(k), r.get(k)) {
                (Some(vi), Some(ri)) if vi.text != ri.text => {
                    let remote_changed = b.get(k).is_some_and(|bi| bi.text == vi.text);
                    if remote_changed { ri } else { vi }
                }
                (Some(vi), _) => vi,
                (None, Some(ri)) => ri,
                (None, None) => return None,
            };
            Some((*item).clone())
        })
        .collect();
    out.sort_by(|a, b| {
        a.stamp
            .as_deref()
            .unwrap_or(&a.key)
            .cmp(b.stamp.as_deref().unwrap_or(&b.key))
            .then_with(|| a.key.cmp(&b.key))
    });
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn task(text: &str, checked: bool) -> SectionItem {
        SectionItem {
            key: text.into(),
            text: text.into(),
            checked: Some(checked),
            stamp: None,
        }
    }

    fn comment(stamp: &str, text: &str) -> SectionItem {
        SectionItem {
            key: stamp.into(),
            text: text.into(),
            checked: None,
            stamp: Some(stamp.into()),
        }
    }

    #[test]
    fn tasks_checked_on_one_side_added_on_both_and_removed_on_one() {
        let base = [
            task("NDA", false),
            task("Contract", false),
            task("Invoice", false),
        ];
        // Vault: NDA checked, Invoice removed, Access added.
        let vault = [
            task("NDA", true),
            task("Contract", false),
            task("Access", false),
        ];
        // Service: Contract checked, Invoice untouched, Bank added.
        let remote = [
            task("NDA", false),
            task("Contract", true),
            task("Invoice", false),
            task("Bank", false),
        ];
        let m = merge(SectionKind::Tasks, &base, &vault, &remote);
        assert_eq!(
            m.items,
            [
                task("NDA", true),
                task("Contract", true),
                task("Access", false),
                task("Bank", false)
            ]
        );
        assert!(m.push && m.pull);
    }

    #[test]
    fn a_list_is_the_services_and_never_pushed() {
        let item = |t: &str| SectionItem {
            key: t.into(),
            text: t.into(),
            checked: None,
            stamp: None,
        };
        let (a, b) = (vec![item("a")], vec![item("b")]);
        // A hand edit in the note is undone.
        let m = merge(SectionKind::List, &a, &b, &a);
        assert_eq!(m.items, a);
        assert!(m.pull && !m.push && !m.conflict);
        // Unchanged: nothing written on either side.
        let m = merge(SectionKind::List, &a, &a, &a);
        assert!(!m.pull && !m.push);
        // Emptied in the service: emptied in the note.
        let both = [a.clone(), b].concat();
        let m = merge(SectionKind::List, &a, &both, &[]);
        assert!(m.items.is_empty() && m.pull && !m.push);
    }

    #[test]
    fn a_task_renamed_on_one_side_and_checked_on_the_other_is_one_item_with_both_changes() {
        let base = vec![
            task("Contract", false),
            task("Bank", false),
            task("NDA", true),
        ];
        let renamed = vec![
            task("Contract", false),
            task("IBAN", false),
            task("NDA", true),
        ];
        let checked = vec![
            task("Contract", false),
            task("Bank", true),
            task("NDA", true),
        ];
        let want = vec![
            task("Contract", false),
            task("IBAN", true),
            task("NDA", true),
        ];
        for (vault, remote) in [(&renamed, &checked), (&checked, &renamed)] {
            let m = merge(SectionKind::Tasks, &base, vault, remote);
            assert_eq!(m.items, want, "{vault:?} / {remote:?}");
        }
        // Renamed on both sides differently: both names are kept, neither is lost.
        let other = vec![
            task("Contract", false),
            task("Account", false),
            task("NDA", true),
        ];
        let m = merge(SectionKind::Tasks, &base, &renamed, &other);
        let keys: Vec<&str> = m.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["Contract", "IBAN", "NDA", "Account"]);
        // An item removed and another added elsewhere is no rename.
        let moved = vec![
            task("Contract", false),
            task("NDA", true),
            task("IBAN", false),
        ];
        let m = merge(SectionKind::Tasks, &base, &moved, &checked);
        let keys: Vec<&str> = m.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["Contract", "NDA", "IBAN", "Bank"]);
    }

    #[test]
    fn a_task_removed_on_one_side_and_checked_on_the_other_is_kept() {
        let base = [task("NDA", false)];
        let m = merge(SectionKind::Tasks, &base, &[], &[task("NDA", true)]);
        assert_eq!(m.items, [task("NDA", true)]);
        let m = merge(SectionKind::Tasks, &base, &[task("NDA", true)], &[]);
        assert_eq!(m.items, [task("NDA", true)]);
        assert!(m.push && !m.pull);
    }

    #[test]
    fn with_no_base_a_task_checked_on_either_side_stays_checked() {
        let m = merge(
            SectionKind::Tasks,
            &[],
            &[task("NDA", false)],
            &[task("NDA", true)],
        );
        assert_eq!(m.items, [task("NDA", true)]);
        let m = merge(
            SectionKind::Tasks,
            &[],
            &[task("NDA", true)],
            &[task("NDA", false)],
        );
        assert_eq!(m.items, [task("NDA", true)]);
    }

    #[test]
    fn comments_are_a_union_by_stamp_in_stamp_order_never_removed() {
        let a = comment("2026-05-01T10:15:00 · client · Piekarnia", "Hello");
        let b = comment("2026-05-01T11:02:00 · expert · Anna", "On it");
        let c = comment("2026-05-02T09:00:00 · client · Piekarnia", "Thanks");
        let m = merge(
            SectionKind::Comments,
            &[a.clone(), b.clone()],
            &[a.clone(), c.clone()],
            std::slice::from_ref(&b),
        );
        assert_eq!(m.items, [a.clone(), b.clone(), c.clone()]);
        // Edited on the service only: the service's text.
        let b2 = comment(b.key.as_str(), "On it, tomorrow");
        let m = merge(
            SectionKind::Comments,
            std::slice::from_ref(&b),
            std::slice::from_ref(&b),
            std::slice::from_ref(&b2),
        );
        assert_eq!(m.items, std::slice::from_ref(&b2));
        assert!(!m.push && m.pull);
        // Edited on both: the vault's.
        let b3 = comment(b.key.as_str(), "On it now");
        let m = merge(
            SectionKind::Comments,
            std::slice::from_ref(&b),
            std::slice::from_ref(&b3),
            &[b2],
        );
        assert_eq!(m.items, [b3]);
    }

    #[test]
    fn a_text_is_merged_as_one_value() {
        let t = |s: &str| {
            vec![SectionItem {
                key: "text".into(),
                text: s.into(),
                checked: None,
                stamp: None,
            }]
        };
        let (a, b, c) = (t("a"), t("b"), t("c"));
        let m = merge(SectionKind::Text, &a, &b, &a);
        assert_eq!(
            (m.items, m.push, m.pull, m.conflict),
            (b.clone(), true, false, false)
        );
        let m = merge(SectionKind::Text, &a, &a, &c);
        assert_eq!(
            (m.items, m.push, m.pull, m.conflict),
            (c.clone(), false, true, false)
        );
        let m = merge(SectionKind::Text, &a, &c, &c);
        assert!(!m.push && !m.pull && !m.conflict);
        let m = merge(SectionKind::Text, &a, &b, &c);
        assert_eq!(
            (m.items, m.push, m.pull, m.conflict),
            (a.clone(), false, false, true)
        );
        let m = merge(SectionKind::Text, &[], &[], &c);
        assert_eq!(m.items, c);
    }

    fn text(s: &str) -> Vec<SectionItem> {
        vec![SectionItem {
            key: "text".into(),
            text: s.into(),
            checked: None,
            stamp: None,
        }]
    }

    #[test]
    fn a_section_map_reads_writes_and_orders_as_a_btree_map_does() {
        let pairs = [
            ("Conversation".to_string(), text("c")),
            ("Brief".to_string(), text("a")),
            ("Brief".to_string(), text("b")),
        ];
        let m: SectionMap = pairs.clone().into_iter().collect();
        let b: BTreeMap<String, Vec<SectionItem>> = pairs.into_iter().collect();
        assert_eq!(m.len(), 2);
        assert_eq!(m.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        assert_eq!(m.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
        assert_eq!(m["Brief"], text("b"));
        assert!(m.contains_key("Conversation") && m.get("Credentialing").is_none());
        // The same JSON both ways: state files written before read as they were.
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), json);
        assert_eq!(serde_json::from_str::<SectionMap>(&json).unwrap(), m);
        // Unsorted and doubled headings in a file read as a map reads them.
        let m2: SectionMap = serde_json::from_str(
            r#"{"Conversation":[{"key":"text","text":"c"}],"Brief":[{"key":"text","text":"a"}],"Brief":[{"key":"text","text":"b"}]}"#,
        )
        .unwrap();
        assert_eq!(m2, m);
        let mut m3 = SectionMap::default();
        m3.insert("Conversation".into(), text("x"));
        m3.insert("Brief".into(), text("b"));
        m3.insert("Conversation".into(), text("c"));
        assert_eq!(m3, m);
    }

    fn tasks() -> impl Strategy<Value = Vec<SectionItem>> {
        proptest::collection::btree_map("[a-e]", any::<bool>(), 0..5)
            .prop_map(|m| m.into_iter().map(|(t, c)| task(&t, c)).collect())
    }

    fn comments() -> impl Strategy<Value = Vec<SectionItem>> {
        proptest::collection::btree_map("[0-5]", "[xy]", 0..5).prop_map(|m| {
            m.into_iter()
                .map(|(s, t)| comment(&format!("2026-05-0{s}"), &t))
                .collect()
        })
    }

    proptest! {
        /// Merging settles: merging the result with itself as the new base changes nothing,
        /// and a side equal to the base takes the other side's items.
        #[test]
        fn task_merges_settle_and_one_sided_edits_win(
            base in tasks(), vault in tasks(), remote in tasks()
        ) {
            let m = merge(SectionKind::Tasks, &base, &vault, &remote);
            let again = merge(SectionKind::Tasks, &m.items, &m.items, &m.items);
            prop_assert_eq!(&again.items, &m.items);
            prop_assert!(!again.push && !again.pull);
            let one_sided = merge(SectionKind::Tasks, &base, &base, &remote);
            prop_assert_eq!(&one_sided.items, &remote);
            let one_sided = merge(SectionKind::Tasks, &base, &vault, &base);
            prop_assert_eq!(&one_sided.items, &vault);
            // An item on both sides whose state neither side kept from the base (or that has
            // no base) is checked if either side checked it.
            for v in &vault {
                let Some(r) = remote.iter().find(|r| r.key == v.key) else { continue };
                let b = base.iter().find(|b| b.key == v.key).map(|b| b.checked);
                if b != Some(v.checked) && b != Some(r.checked) {
                    let want = v.checked == Some(true) || r.checked == Some(true);
                    prop_assert!(m.items.iter().any(|o| o.key == v.key && o.checked == Some(want)));
                }
            }
        }

        /// No comment of either side is ever lost, none is doubled, and the order is the
        /// stamps'.
        #[test]
        fn comments_are_never_lost_nor_doubled(
            base in comments(), vault in comments(), remote in comments()
        ) {
            let m = merge(SectionKind::Comments, &base, &vault, &remote);
            let keys: Vec<&str> = m.items.iter().map(|i| i.key.as_str()).collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(&keys, &sorted);
            for i in vault.iter().chain(&remote) {
                prop_assert!(keys.contains(&i.key.as_str()));
            }
            let again = merge(SectionKind::Comments, &m.items, &m.items, &m.items);
            prop_assert_eq!(&again.items, &m.items);
        }
    }
}
