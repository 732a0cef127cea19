//! Serving: the model runtime (KV caches, batched steps, adapters over one resident base), the
//! engine that schedules requests onto it, and the OpenAI-compatible HTTP API.

pub mod api;
pub mod engine;
pub mod runtime;
pub mod sampling;
pub mod text;
