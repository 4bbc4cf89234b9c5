//! matching (being written).
