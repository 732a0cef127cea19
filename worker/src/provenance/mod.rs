//! Span provenance: which training rows an answer reuses, verbatim, and whose they are.
//!
//! An adapter learns its datanet version's rows; when an answer repeats long, rare runs of
//! their tokens, the contributions holding those rows shaped it, with or without retrieval.
//! As OLMoTrace does for OLMo's training data, the version's rows are indexed once and an
//! answer is matched against them:
//!
//! - [`suffix_array`]: the suffix array of the rows' token ids (libsais).
//! - [`index`]: the rows of a version ([`index::SpanIndex::build`] from the verified blobs and
//!   the model's tokenizer), each text position mapped back to its row and contribution.
//! - [`spans`]: the answer's maximal matching spans, ranked by unigram information; short,
//!   common ones do not count.
//! - [`attribution`]: the kept spans as ppm entries over the version's contributions (the
//!   shape of ContextCite's, through [`crate::rag::ppm`]), with their place in the answer's
//!   text.
//! - [`combined`]: span entries and ContextCite's as one attribution per served answer
//!   ([`combined::method`]).
//! - [`file`]: the index as a versioned file beside the adapter, rebuilt when missing, corrupt
//!   or stale.
//! - [`benchmark`]: `attribution-worker bench provenance`.
//! - [`influence`]: which training rows raised the answer's likelihood under the adapter
//!   (TRAK over the LoRA gradients), stored beside the adapter like the span index.
//!
//! Spans are integer arithmetic over public data: anyone holding the version's blobs, the
//! tokenizer and the answer's tokens recomputes the same spans and entries. Influence is
//! floating point over the adapter's gradients: deterministic given the files, recomputed
//! within rounding elsewhere. `docs/attribution.md` ("Span provenance", "Influence") states
//! the rules.

pub mod attribution;
pub mod benchmark;
pub mod combined;
pub mod file;
pub mod index;
pub mod influence;
pub mod sealed;
pub mod spans;
pub mod suffix_array;
