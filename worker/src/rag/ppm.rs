//! Attribution weights as on-chain entries: at most [`MAX_ATTRIBUTION_ENTRIES`] contributions,
//! integer parts per million of the contributors' part of the fee.
//!
//! How the chain pays a record (`pallet-attribution`'s `settle` and `pay_fee`): the fee is split
//! into model owner, operator, treasury and contributors' parts; each entry's contributor is paid
//! `min(weight_ppm, contribution_cap) × contributors' part` (the cap is 25 % by default), and
//! whatever the entries leave of the contributors' part goes to the pool of the datanet version
//! the model was trained on. So anything not given to an entry here, and any entry's excess
//! over the cap, is paid to the version's pool: every contributor of the version shares it.
//!
//! The rule, in integers so that equal weights give equal entries on every machine:
//!
//! ```text
//! q_j   = floor(w_j · 10^9)              for each source with a positive weight w_j (others: none)
//! kept  = the 16 largest q_j (ties: smaller contribution id first), q_j > 0
//! Q     = Σ q_j over all sources,  K = Σ q_j over kept
//! T     = floor(10^6 · K / Q)        ppm given to entries (10^6 unless more than 16 sources count)
//! ppm_j = floor(T · q_j / K), then the T − Σ ppm_j units left go one each to the kept entries
//!         with the largest remainders (T · q_j mod K; ties: smaller contribution id first)
//! ```
//!
//! Entries with 0 ppm are dropped (the chain refuses zero weights); entries are ordered by ppm
//! (descending), then contribution id. When no source has a positive weight there are no
//! entries: the whole contributors' part goes to the pool.
//!
//! [`entries_from_units`] is the same rule for weights that are integers already (`q_j` given),
//! with a budget `B ≤ 10^6` in place of 10^6 (`T = floor(B · K / Q)`): span provenance
//! (`crate::provenance`) gives its entries only the share of the answer its spans cover.

use anyhow::{bail, Result};
use attribution_primitives::attribution::{AttributionEntry, MAX_ATTRIBUTION_ENTRIES};
use attribution_primitives::{ContributionId, PARTS_PER_MILLION};

/// Fixed-point units per unit of attribution weight.
const UNITS: f64 = 1e9;

/// The entries of `weights[j]` for `contributions[j]` (see the module docs for the rule).
pub fn attribution_entries(
    contributions: &[ContributionId],
    weights: &[f64],
) -> Result<Vec<AttributionEntry>> {
    if let Some(w) = weights.iter().find(|w| !w.is_finite()) {
        bail!("attribution weight {w} is not finite");
    }
    let units: Vec<u128> = weights
        .iter()
        // Saturating float-to-int cast: weights of 10^29 and above all count the same.
        .map(|&w| (w * UNITS).floor().max(0.0) as u128)
        .collect();
    entries_from_units(contributions, &units, PARTS_PER_MILLION)
}

/// The rule's integer part, for weights that are already integers: `units[j]` is `q_j` for
/// `contributions[j]`, and the entries share at most `budget` ppm (`T = floor(budget · K / Q)`;
/// [`attribution_entries`] gives them 10^6, span provenance the share of the answer its spans
/// cover).
pub fn entries_from_units(
    contributions: &[ContributionId],
    units: &[u128],
    budget: u32,
) -> Result<Vec<AttributionEntry>> {
    if contributions.len() != units.len() {
        bail!(
            "{} contributions for {} weights",
            contributions.len(),
            units.len()
        );
    }
    if budget > PARTS_PER_MILLION {
        bail!("a budget of {budget} ppm is over 10^6");
    }
    let mut seen = contributions.to_vec();
    seen.sort_unstable();
    if seen.windows(2).any(|pair| pair[0] == pair[1]) {
        bail!("a contribution appears twice among the sources");
    }
    let mut candidates: Vec<(ContributionId, u128)> = contributions
        .iter()
        .zip(units)
        .map(|(&c, &q)| (c, q))
        .filter(|(_, q)| *q > 0)
        .collect();
    let total: u128 = candidates.iter().map(|(_, q)| q).sum();
    candidates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    candidates.truncate(MAX_ATTRIBUTION_ENTRIES as usize);
    let kept: u128 = candidates.iter().map(|(_, q)| q).sum();
    if kept == 0 {
        return Ok(Vec::new());
    }
    let given = u128::from(budget) * kept / total;
    let mut shares: Vec<(ContributionId, u128, u128)> = candidates
        .iter()
        .map(|&(c, q)| (c, given * q / kept, given * q % kept))
        .collect();
    let floors: u128 = shares.iter().map(|(_, ppm, _)| ppm).sum();
    let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
    by_remainder.sort_by(|&a, &b| {
        shares[b]
            .2
            .cmp(&shares[a].2)
            .then(shares[a].0.cmp(&shares[b].0))
    });
    for &index in by_remainder.iter().take((given - floors) as usize) {
        shares[index].1 += 1;
    }
    let mut entries: Vec<AttributionEntry> = shares
        .into_iter()
        .filter(|(_, ppm, _)| *ppm > 0)
        .map(|(contribution, ppm, _)| AttributionEntry {
            contribution,
            weight_ppm: ppm as u32,
        })
        .collect();
    entries.sort_by(|a, b| {
        b.weight_ppm
            .cmp(&a.weight_ppm)
            .then(a.contribution.cmp(&b.contribution))
    });
    Ok(entries)
}
