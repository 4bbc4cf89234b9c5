//! The lifecycle's guards in `set` and `commit`.
