//! Sync integrity: an unreadable note is not a deleted one, crash-then-resume attribution, records that cannot make a valid note.
