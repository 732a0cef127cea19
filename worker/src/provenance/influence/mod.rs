//! Training-data influence for adapters: which training rows most raise an answer's likelihood
//! under the adapter, estimated as TRAK does (Park et al. 2023, "TRAK: Attributing Model
//! Behavior at Scale") over the LoRA parameters only, as LoGra and LESS do.
//!
//! ```text
//! g_i  = ∇_θ Σ_t log p_θ(row_i tokens)          θ = every LoRA factor A, B (d values)
//! φ_i  = Pᵀ g_i                                  P: [d, k] seeded Rademacher, ±1/√k
//! Φ    = [φ_1 … φ_n]ᵀ                            [n, k], stored beside the adapter
//! φ    = Pᵀ ∇_θ Σ_t log p_θ(answer_t | prompt, answer_<t)
//! τ_i  = [Φ (ΦᵀΦ + λI)⁻¹ φ]_i                   λ = damping · mean_i ‖φ_i‖²
//! w_c  = [`entries::RULE`] over c's rows' τ_i  →  ppm entries (positive w_c only; rag::ppm)
//! ```
//!
//! Gradients are taken at the trained adapter (TRAK's linearisation around the final
//! parameters), with no residual term (`Q = I`: TRAK's `1 − p` weights are for a
//! classifier's margin; a language model's log-likelihood has no single margin) and one model
//! (no ensemble), so the estimator costs one backward pass per row once and one per answer.
//!
//! - [`projection`]: `P`, generated row by row from a seed, never stored.
//! - [`gradient`]: per-example gradients of the adapter's factors.
//! - [`kernel`]: `(ΦᵀΦ + λI)⁻¹` through a Cholesky factor of the smaller form.
//! - [`index`]: building the row features and scoring an answer.
//! - [`entries`]: which rows' scores pay, per contribution, and the ppm entries.
//! - [`file`]: the versioned, checksummed file beside the adapter.
//! - [`adapter`]: the adapter as a burn model beside the serving runtime, for answers' gradients.
//! - [`quality`]: LDS and top-k removal against re-training (`bench influence`).
//!
//! `docs/attribution.md` ("Influence") states the rule, its cost and its measured quality.

pub mod adapter;
pub mod entries;
pub mod file;
pub mod gradient;
pub mod index;
pub mod kernel;
pub mod projection;
pub mod quality;

pub use index::{InfluenceAttribution, InfluenceConfig, InfluenceIndex};
