//! Content store.
