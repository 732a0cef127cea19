//! One attribution per answer: ContextCite's entries (the retrieved sources that changed the
//! answer) and span provenance's (the training rows it repeats) combined, in integers, by the
//! rule named by [`method`] (`contextcite-v1+spans-v1` for the exact ablation):
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
use crate::rag::ppm::entries_from_units;
use anyhow::Result;
use attribution_primitives::attribution::AttributionEntry;
use attribution_primitives::{ContributionId, PARTS_PER_MILLION};
use std::collections::BTreeMap;

/// Span provenance's rule and version, after the context method in a combined method's name.
pub const SPANS: &str = "+spans-v1";

/// Influence's rule and version, last in the name of a combination that has it
/// (`docs/attribution.md`, "Influence").
pub const INFLUENCE: &str = "+influence-v2";

/// Between the context method and the weight format the runtime computed it on
/// (`contextcite-v1@q4`). The format is part of the attribution: weights held in another format
/// give other logits, and the ablations' weights move by several percent
/// (`docs/attribution.md`, "Reproducibility"), so a juror recomputes only on the same format.
pub const WEIGHTS: char = '@';

/// The name and version of the combination of `context` (the method that measured the
/// retrieved sources, [`crate::rag::method::Method::name`]) computed on `weights`
/// ([`crate::serve::runtime::WeightFormat::name`]) with span provenance, and influence when
/// the served adapter has an influence index: what the response's `attribution.method` and the
/// record's provenance say.
pub fn method(context: &str, weights: &str, influence: bool) -> String {
    let influence = if influence { INFLUENCE } else { "" };
    format!("{context}{WEIGHTS}{weights}{SPANS}{influence}")
}

/// A combined method's parts ([`split_method`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MethodName<'a> {
    /// The context method.
    pub context: &'a str,
    /// The weight format it was computed on; `None` in names made before the format was named
    /// (2026-12-02).
    pub weights: Option<&'a str>,
    pub influence: bool,
}

/// [`method`]'s inverse, `None` for a name it does not make.
pub fn split_method(name: &str) -> Option<MethodName<'_>> {
    let (rest, influence) = match name.strip_suffix(INFLUENCE) {
        Some(rest) => (rest, true),
        None => (name, false),
    };
    let rest = rest.strip_suffix(SPANS)?;
    let (context, weights) = match rest.rsplit_once(WEIGHTS) {
        Some((context, weights)) => (context, Some(weights)),
        None => (rest, None),
    };
    (!context.is_empty() && weights != Some("")).then_some(MethodName {
        context,
        weights,
        influence,
    })
}

/// The combined entries of ContextCite's `context` entries and the answer's `spans`.
pub fn combine(
    context: &[AttributionEntry],
    spans: &SpanAttribution,
) -> Result<Vec<AttributionEntry>> {
    combine_with_influence(context, spans, &[])
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_combined_method_name_splits_back_into_its_parts() {
        for context in ["contextcite-v1", "contextcite-prior-v1:0123456789abcdef"] {
            for weights in ["q4", "nf4", "q4h", "nf4h"] {
                for influence in [false, true] {
                    let name = method(context, weights, influence);
                    let parts = MethodName {
                        context,
                        weights: Some(weights),
                        influence,
                    };
                    assert_eq!(split_method(&name), Some(parts), "{name}");
                }
            }
        }
        assert_eq!(
            method("contextcite-v1", "q4", true),
            "contextcite-v1@q4+spans-v1+influence-v2"
        );
        // The longest name served fits in a record's 64 bytes.
        let longest = method("contextcite-prior-v1:0123456789abcdef", "nf4h", true);
        assert!(longest.len() <= 64, "{longest}: {} bytes", longest.len());
        // A name from before the weights were named.
        let legacy = MethodName {
            context: "contextcite-v1",
            weights: None,
            influence: false,
        };
        assert_eq!(split_method("contextcite-v1+spans-v1"), Some(legacy));
        for name in [
            "contextcite-v1",
            "+spans-v1",
            "@q4+spans-v1",
            "contextcite-v1@+spans-v1",
            "contextcite-v1+influence-v2",
            "",
        ] {
            assert_eq!(split_method(name), None, "{name}");
        }
    }
}
