//! The `watch` daemon: sees each save of a note and pushes it to the services, and polls each
//! service on its own interval, one run at a time under the vault lock.
//!
//! - [`schedule`]: the pure scheduler (debounce, ignored paths, own-write suppression by bytes,
//!   poll timers, backoff), driven by a fake clock in its tests.
//! - [`daemon`]: `notify` and its debouncer feeding the scheduler, the runs, the stop.
//! - [`status`]: the status file `ssot-vault watch --status` reads.
//! - [`logfile`]: the log file under `.ssot/logs/`, rotated by size, secrets redacted.

pub mod daemon;
pub mod logfile;
pub mod schedule;
pub mod status;
