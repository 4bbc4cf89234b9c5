//! The conformance suite every service's sync runs against its emulator: `harness.rs` (what a
//! service tells the suite, and a vault synced with it), `suite.rs` (the generic sync tests,
//! written once) and one file per service holding the line that runs the suite for it,
//! `conformance!(Service)`, which expands to one `#[tokio::test]` per case of the suite.

/// Runs every case of `suite.rs` for a [`harness::Service`]: one `#[tokio::test]` per case, in
/// the module where it is invoked; `conformance!(append_only Service)` runs the cases that fit an
/// append-only, read-only source (its own `append_only_*` cases and `doctor`);
/// `conformance!(no_modified_time Service)` every case but the one that needs the records'
/// modification times.
macro_rules! conformance {
    ($service:ty) => {
        conformance!(@all $service; an_earlier_killed_runs_agreement_outlives_a_later_ones_lost_write,);
    };
    // A service whose records carry no modification time (a sheet's rows): every case but the
    // one that tells, by the record's modification time, which of two interrupted runs' sends
    // landed (without it the engine takes the last send, which is its documented rule).
    (no_modified_time $service:ty) => {
        conformance!(@all $service;);
    };
    (@all $service:ty; $($extra:ident,)*) => {
        conformance!(@cases $service;
            create_vault_to_remote,
            create_remote_to_vault,
            update_both_ways_with_a_one_line_diff,
            conflict_manual_recorded_then_resolved_either_way,
            a_recorded_conflict_the_two_sides_settle_is_cleared,
            conflict_vault_wins,
            conflict_remote_wins,
            archive_both_ways_and_the_share_rail,
            deleted_notes_leave_records_alone_by_default,
            survives_a_429_storm,
            survives_5xx,
            survives_dropped_connections_after_the_write,
            survives_timeouts,
            dry_run_prints_the_plan_and_changes_nothing,
            losing_the_state_folder_costs_no_duplicate_no_conflict_no_edit,
            a_note_edited_during_the_sync_is_never_clobbered,
            kill_9_mid_sync_then_resume_makes_no_duplicate_and_loses_no_edit,
            a_crashed_runs_note_writes_are_committed_as_its_own,
            kills_at_every_step_never_credit_the_vault_with_a_remote_edit,
            a_save_made_during_a_run_is_committed_as_the_vaults,
            an_illegal_status_change_is_not_carried_to_the_service,
            an_unreadable_note_is_reported_and_left_alone_while_the_others_sync,
            an_unreadable_note_does_not_archive_its_record,
            an_unreadable_note_does_not_forget_its_record,
            a_broken_note_of_ones_own_does_not_fail_the_sync,
            doctor_checks_credentials_the_service_and_git,
            $($extra,)*
        );
    };
    // An append-only, read-only source (Google Forms): the cases that fit it.
    (append_only $service:ty) => {
        conformance!(@cases $service;
            append_only_record_becomes_one_note,
            append_only_lost_state_makes_no_duplicate,
            append_only_kill_9_then_resume_makes_no_duplicate,
            append_only_unreadable_note_is_left_alone,
            doctor_checks_credentials_the_service_and_git,
        );
    };
    (@cases $service:ty; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::suite::$case::<$service>().await;
            }
        )+
    };
}

pub mod harness;
pub(crate) mod suite;

pub mod forms;
mod hubspot;
pub mod jira;
pub mod sheets;
pub mod trello;
