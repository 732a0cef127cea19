//! Retrieval-augmented answers and their causal attribution to datanet contributions.
//!
//! A paid chat request is answered from the rows of one datanet version and must say which
//! contributions shaped the answer, in weights that go on chain and pay their contributors:
//!
//! - [`index`]: a BM25 index of the version's rows, each tagged with its contribution and row.
//! - [`prompt`]: the chat prompt with the retrieved contributions as numbered sources, laid out
//!   in token segments so any source can be removed.
//! - [`ablation`]: seeded random ablation masks and the fixed answer's log-probability under each,
//!   scored through the serving [`crate::serve::runtime::Runtime`] with shared prefixes.
//! - [`lasso`], [`attribution`]: ContextCite (a sparse linear surrogate of the ablation scores,
//!   whose weights are the attributions) and the answer sentences each source supports.
//! - [`prior`]: ContextCite with a prior (`contextcite-prior-v1`): a few exact ablations chosen
//!   for their cost, fitted toward AT2's weights ([`at2`]).
//! - [`method`]: the methods by name: what the worker serves and a juror recomputes.
//! - [`ppm`]: the weights as at most 16 on-chain entries in parts per million.
//! - [`quality`]: LDS, top-k removal against leave-one-out and random, cost, and a benchmark on
//!   real text (Debian package descriptions).
//!
//! `docs/attribution.md` says how anyone recomputes an attribution.

pub mod ablation;
pub mod at2;
pub mod attribution;
pub mod index;
pub mod lasso;
pub mod method;
pub mod ppm;
pub mod prior;
pub mod prompt;
pub mod quality;
