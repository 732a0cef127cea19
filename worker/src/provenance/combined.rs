//! One attribution per answer: ContextCite's entries (the retrieved sources that changed the
//! answer) and span provenance's (the training rows it repeats) combined, in integers, by the
//! rule named [`METHOD`]:
//!
//! ```text
//! B      = spans' budget: floor(10^6 · covered / L), the answer's share inside kept spans
//! s_c    = contribution c's span entry (ppm; Σ s_c ≤ B)
//! k_c    = contribution c's ContextCite entry (ppm; Σ k_c ≤ 10^6)
//! u_c    = 10^6 · s_c + (10^6 − B) · k_c
//! budget = floor(Σ u_c / 10^6)                              ≤ 10^6
//! entries = rag::ppm::entries_from_units(u, budget)         (the 16 largest)
//! ```
//!
//! The tokens an answer repeats verbatim in long, rare spans of training rows are paid to those
//! rows' contributions; ContextCite speaks for the rest of the answer, its entries scaled by
//! the share the spans leave. With no kept span the entries are ContextCite's exactly, with no
//! retrieved source (or no positive ContextCite weight) they are the spans' exactly. What the
//! entries leave goes to the version's pool.

use super::attribution::SpanAttribution;
use crate::rag::ppm::entries_from_units;
use anyhow::Result;
use attribution_primitives::attribution::AttributionEntry;
use attribution_primitives::{ContributionId, PARTS_PER_MILLION};
use std::collections::BTreeMap;

/// The combination's name and version, in the response's `attribution.method`: ContextCite v1
/// (`docs/attribution.md` steps 1–6), span provenance rule v1, combined as above.
pub const METHOD: &str = "contextcite-v1+spans-v1";

/// The combined entries of ContextCite's `context` entries and the answer's `spans`.
pub fn combine(
    context: &[AttributionEntry],
    spans: &SpanAttribution,
) -> Result<Vec<AttributionEntry>> {
    let million = u128::from(PARTS_PER_MILLION);
    let context_share = million - u128::from(spans.budget_ppm.min(PARTS_PER_MILLION));
    let mut units: BTreeMap<ContributionId, u128> = BTreeMap::new();
    for entry in &spans.entries {
        *units.entry(entry.contribution).or_default() += million * u128::from(entry.weight_ppm);
    }
    for entry in context {
        *units.entry(entry.contribution).or_default() +=
            context_share * u128::from(entry.weight_ppm);
    }
    let budget = units.values().sum::<u128>() / million;
    let (contributions, units): (Vec<ContributionId>, Vec<u128>) = units.into_iter().unzip();
    entries_from_units(&contributions, &units, u32::try_from(budget)?)
}
