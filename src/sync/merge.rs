//! The per-field three-way merge: the base (the value when both sides last agreed), the vault's
//! value now and the remote's value now decide what happens to one field. Pure; canonical values
//! compared byte for byte, `None` meaning empty.

use crate::config::ConflictPolicy;
use crate::connectors::Direction;

/// What to do with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldMerge {
    /// Both sides hold this value; the base becomes it.
    Agree(Option<String>),
    /// Push the vault's value.
    Push(Option<String>),
    /// Write the remote's value into the note.
    Pull(Option<String>),
    /// Changed on both sides to different values (manual policy): nothing moves.
    Conflict {
        /// The vault's value.
        vault: Option<String>,
        /// The remote's value.
        remote: Option<String>,
    },
}

/// Merges one field. `base` is `None` when the field has no base at all (never synced, state
/// lost and no history): then a difference is taken as a vault change, the vault being the source
/// of truth, so that a lost base never raises a conflict.
pub fn merge_field(
    base: Option<Option<&str>>,
    vault: Option<&str>,
    remote: Option<&str>,
    direction: Direction,
    policy: ConflictPolicy,
) -> FieldMerge {
    let own = |v: Option<&str>| v.map(str::to_string);
    if vault == remote {
        return FieldMerge::Agree(own(vault));
    }
    match direction {
        Direction::Push => return FieldMerge::Push(own(vault)),
        Direction::Pull => return FieldMerge::Pull(own(remote)),
        Direction::Both => {}
    }
    let Some(base) = base else {
        return FieldMerge::Push(own(vault));
    };
    if vault == base {
        return FieldMerge::Pull(own(remote));
    }
    if remote == base {
        return FieldMerge::Push(own(vault));
    }
    match policy {
        ConflictPolicy::Manual => FieldMerge::Conflict {
            vault: own(vault),
            remote: own(remote),
        },
        ConflictPolicy::VaultWins => FieldMerge::Push(own(vault)),
        ConflictPolicy::RemoteWins => FieldMerge::Pull(own(remote)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const B: Direction = Direction::Both;

    #[test]
    fn one_side_changes_move() {
        let m = ConflictPolicy::Manual;
        assert_eq!(
            merge_field(Some(Some("a")), Some("b"), Some("a"), B, m),
            FieldMerge::Push(Some("b".into()))
        );
        assert_eq!(
            merge_field(Some(Some("a")), Some("a"), None, B, m),
            FieldMerge::Pull(None)
        );
        assert_eq!(
            merge_field(Some(Some("a")), Some("b"), Some("c"), B, m),
            FieldMerge::Conflict {
                vault: Some("b".into()),
                remote: Some("c".into())
            }
        );
        assert_eq!(
            merge_field(
                Some(Some("a")),
                Some("b"),
                Some("c"),
                B,
                ConflictPolicy::RemoteWins
            ),
            FieldMerge::Pull(Some("c".into()))
        );
        assert_eq!(
            merge_field(None, Some("b"), Some("c"), B, m),
            FieldMerge::Push(Some("b".into()))
        );
    }

    fn val() -> impl Strategy<Value = Option<String>> {
        prop::option::of("[ab]{0,2}").prop_map(|v| v.filter(|s| !s.is_empty()))
    }

    fn policy() -> impl Strategy<Value = ConflictPolicy> {
        prop_oneof![
            Just(ConflictPolicy::Manual),
            Just(ConflictPolicy::VaultWins),
            Just(ConflictPolicy::RemoteWins)
        ]
    }

    proptest! {
        /// A field edited on one side only is never lost: the merge carries that side's value.
        #[test]
        fn one_sided_edits_survive(base in val(), edit in val(), p in policy(), vault_side in any::<bool>()) {
            let (v, r) = if vault_side { (edit.clone(), base.clone()) } else { (base.clone(), edit.clone()) };
            let m = merge_field(Some(base.as_deref()), v.as_deref(), r.as_deref(), B, p);
            let got = match m {
                FieldMerge::Agree(x) | FieldMerge::Push(x) | FieldMerge::Pull(x) => x,
                FieldMerge::Conflict { .. } => panic!("one-sided edit became a conflict"),
            };
            prop_assert_eq!(got, edit);
        }

        /// Applying the merge and merging again settles: both sides agree. A conflict is one
        /// only under the manual policy, of two different edits, and settles once resolved as
        /// `resolve` does it (the base becomes the remote's value, the note keeps the value
        /// chosen): the chosen value moves, then both agree.
        #[test]
        fn merge_settles(base in val(), v in val(), r in val(), p in policy(), keep_vault in any::<bool>()) {
            let m = merge_field(Some(base.as_deref()), v.as_deref(), r.as_deref(), B, p);
            let (base2, v2, r2) = match &m {
                FieldMerge::Agree(x) => {
                    prop_assert!(v == r && x == &v);
                    (x.clone(), v.clone(), r.clone())
                }
                FieldMerge::Push(x) => (x.clone(), v.clone(), x.clone()),
                FieldMerge::Pull(x) => (x.clone(), x.clone(), r.clone()),
                FieldMerge::Conflict { vault, remote } => {
                    prop_assert_eq!(p, ConflictPolicy::Manual);
                    prop_assert_eq!((vault, remote), (&v, &r));
                    prop_assert!(v != base && r != base && v != r);
                    let chosen = if keep_vault { v.clone() } else { r.clone() };
                    let resolved = merge_field(Some(r.as_deref()), chosen.as_deref(), r.as_deref(), B, p);
                    let want = if keep_vault { FieldMerge::Push(v.clone()) } else { FieldMerge::Agree(r.clone()) };
                    prop_assert_eq!(&resolved, &want);
                    (chosen.clone(), chosen.clone(), chosen)
                }
            };
            let again = merge_field(Some(base2.as_deref()), v2.as_deref(), r2.as_deref(), B, p);
            prop_assert_eq!(again, FieldMerge::Agree(v2));
        }
    }
}
