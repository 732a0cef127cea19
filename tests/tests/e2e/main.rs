//! The end-to-end tests, one module per story, in one test binary: each test starts its own real
//! `attribution-node` (and `attribution-worker`) processes, so they share nothing at run time, and
//! one binary compiles and links once instead of once per story.

mod artifacts;
mod attribution;
mod compute;
mod datanets;
mod dev_chain;
mod inference;
mod local_network;
mod served_adapter;
mod worker;
