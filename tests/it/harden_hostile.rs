//! Hostile service values: control characters in the audit log, file names cut to fit, file modes.
