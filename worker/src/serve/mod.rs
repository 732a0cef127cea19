//! Serving: the model runtime (KV caches, batched steps, adapters over one resident base).

pub mod runtime;
