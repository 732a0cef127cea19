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
//!
//! When the served model is an adapter with an influence index ([`super::influence`]), its
//! training rows' influence entries `i_c` (ppm; Σ i_c ≤ 10^6) join ContextCite's in the share
//! the spans leave, by the rule named [`METHOD_WITH_INFLUENCE`]:
//!
//! ```text
//! m      = how many of ContextCite and influence have entries (0, 1 or 2); M = max(m, 1)
//! u_c    = M · 10^6 · s_c + (10^6 − B) · (k_c + i_c)
//! budget = floor(Σ u_c / (M · 10^6))                        ≤ 10^6
//! entries = rag::ppm::entries_from_units(u, budget)         (the 16 largest)
//! ```
//!
//! So `10^6 − B` is split evenly between what the context did and what the training rows did
//! when both speak, and goes wholly to the one that speaks otherwise. With no influence entry
//! the rule is [`combine`]'s exactly.

use super::attribution::SpanAttribution;
use crate::rag::ablation::Ablation;
use crate::rag::ppm::entries_from_units;
use anyhow::Result;
use attribution_primitives::attribution::AttributionEntry;
use attribution_primitives::{ContributionId, PARTS_PER_MILLION};
use std::collections::BTreeMap;

/// The combination's name and version, in the response's `attribution.method`: ContextCite v2
/// (attention knockout, `docs/attribution.md` steps 1–6), span provenance rule v1, combined as
/// above.
pub const METHOD: &str = "contextcite-v2+spans-v1";

/// The same with ContextCite v1 (the exact ablation: the prompt re-run without the dropped
/// sources). What the worker serves.
pub const EXACT_METHOD: &str = "contextcite-v1+spans-v1";

/// The method name of an answer attributed with `ablation`, with or without influence.
pub fn method(ablation: Ablation, influence: bool) -> &'static str {
    match (ablation, influence) {
        (Ablation::Knockout, false) => METHOD,
        (Ablation::Knockout, true) => METHOD_WITH_INFLUENCE,
        (Ablation::Exact, false) => EXACT_METHOD,
        (Ablation::Exact, true) => EXACT_METHOD_WITH_INFLUENCE,
    }
}

/// The combined entries of ContextCite's `context` entries and the answer's `spans`.
pub fn combine(
    context: &[AttributionEntry],
    spans: &SpanAttribution,
) -> Result<Vec<AttributionEntry>> {
    combine_with_influence(context, spans, &[])
}

/// The name of the rule with influence, in `attribution.method` when the served adapter has an
/// influence index: ContextCite v2, span rule v1, influence v2 (`docs/attribution.md`,
/// "Influence"), combined as in the module docs.
pub const METHOD_WITH_INFLUENCE: &str = "contextcite-v2+spans-v1+influence-v2";

/// [`METHOD_WITH_INFLUENCE`] with ContextCite v1.
pub const EXACT_METHOD_WITH_INFLUENCE: &str = "contextcite-v1+spans-v1+influence-v2";

/// The combined entries of ContextCite's `context` entries, the answer's `spans` and the
/// training rows' `influence` entries (see the module docs; with no influence entry, the same as
/// [`combine`]).
pub fn combine_with_influence(
    context: &[AttributionEntry],
    spans: &SpanAttribution,
    influence: &[AttributionEntry],
) -> Result<Vec<AttributionEntry>> {
    let million = u128::from(PARTS_PER_MILLION);
    let speaking = u128::from(!context.is_empty()) + u128::from(!influence.is_empty());
    let scale = speaking.max(1) * million;
    let rest = million - u128::from(spans.budget_ppm.min(PARTS_PER_MILLION));
    let mut units: BTreeMap<ContributionId, u128> = BTreeMap::new();
    for entry in &spans.entries {
        *units.entry(entry.contribution).or_default() += scale * u128::from(entry.weight_ppm);
    }
    for entry in context.iter().chain(influence) {
        *units.entry(entry.contribution).or_default() += rest * u128::from(entry.weight_ppm);
    }
    let budget = units.values().sum::<u128>() / scale;
    let (contributions, units): (Vec<ContributionId>, Vec<u128>) = units.into_iter().unzip();
    entries_from_units(&contributions, &units, u32::try_from(budget)?)
}
