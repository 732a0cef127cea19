//! From an answer's row scores to its influence entries: which rows count, summed per
//! contribution, then ppm ([`crate::rag::ppm`]).
//!
//! The rules compared by `bench influence` (`docs/attribution.md`, "Entries"):
//!
//! ```text
//! SumAll       w_c = Σ τ_i over c's rows                       (influence-v1)
//! TopK(k)      w_c = Σ max(τ_i, 0) over c's rows among the k highest-scored
//! Outliers(m)  w_c = Σ τ_i over c's rows with τ_i > 0 and τ_i > med + m · 1.4826 · MAD
//!              med, MAD = median of τ, median of |τ − med|, over every row of the index
//! entries      = rag::ppm's rule over max(w_c, 0) / Σ_c max(w_c, 0); none when that sum is 0
//! ```
//!
//! Summing every row's signed score lets many small noisy scores decide a large contribution's
//! sum (their spread grows like √n while the signal sits in few rows); the others count only rows
//! that stand out. `1.4826 · MAD` is the normal's standard deviation estimated robustly, so
//! `Outliers(m)` keeps rows `m` robust standard deviations above the typical row. When no row
//! stands out there are no entries: that share goes to the version's pool.

use crate::provenance::index::RowRef;
use crate::rag::ppm::attribution_entries;
use anyhow::{ensure, Result};
use attribution_primitives::attribution::AttributionEntry;
use attribution_primitives::ContributionId;
use std::collections::BTreeMap;
use std::fmt;

/// A rule from row scores to per-contribution weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// Every row's signed score (influence-v1).
    SumAll,
    /// The positive scores of the `k` highest-scored rows (ties: earlier row first).
    TopK(usize),
    /// The positive scores more than `m` robust standard deviations above the median.
    Outliers(f64),
}

/// The normal's standard deviation per median absolute deviation.
const MAD_TO_SIGMA: f64 = 1.4826;

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::SumAll => write!(f, "sum of all rows (v1)"),
            Rule::TopK(k) => write!(f, "top-{k} rows"),
            Rule::Outliers(m) => write!(f, "rows above median + {m}·MAD-σ"),
        }
    }
}

impl Rule {
    /// Each contribution's weight, by contribution id, from `scores[i]` of `rows[i]`; every
    /// contribution of `rows` is listed (0 when none of its rows counts).
    pub fn weights(&self, rows: &[RowRef], scores: &[f64]) -> Result<Vec<(ContributionId, f64)>> {
        ensure!(
            rows.len() == scores.len(),
            "{} row scores for {} rows",
            scores.len(),
            rows.len()
        );
        ensure!(
            scores.iter().all(|s| s.is_finite()),
            "a row's influence score is not finite"
        );
        let counted: Vec<f64> = match *self {
            Rule::SumAll => scores.to_vec(),
            Rule::TopK(k) => {
                let mut order: Vec<usize> = (0..scores.len()).collect();
                order.sort_by(|&i, &j| scores[j].total_cmp(&scores[i]).then(i.cmp(&j)));
                let mut counted = vec![0.0; scores.len()];
                for &i in order.iter().take(k) {
                    counted[i] = scores[i].max(0.0);
                }
                counted
            }
            Rule::Outliers(m) => {
                let middle = median(scores.to_vec());
                let mad = median(scores.iter().map(|s| (s - middle).abs()).collect());
                let bar = middle + m * MAD_TO_SIGMA * mad;
                scores
                    .iter()
                    .map(|&s| if s > bar && s > 0.0 { s } else { 0.0 })
                    .collect()
            }
        };
        let mut sums: BTreeMap<ContributionId, f64> = BTreeMap::new();
        for (row, score) in rows.iter().zip(counted) {
            *sums.entry(row.contribution).or_default() += score;
        }
        Ok(sums.into_iter().collect())
    }
}

/// The median (the mean of the middle two for an even count; 0 for none).
fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// The rule influence entries are paid by ([`super::index::InfluenceIndex::attribute`]).
pub const RULE: Rule = Rule::Outliers(3.5);

/// The positive weights as entries: each divided by the positive total (the scale of TRAK's
/// scores is arbitrary, their proportions are what pays), then [`attribution_entries`].
/// Contributions with no positive weight get nothing; with none at all, no entries.
pub fn entries(weights: &[(ContributionId, f64)]) -> Result<Vec<AttributionEntry>> {
    let positive: f64 = weights.iter().map(|(_, w)| w.max(0.0)).sum();
    if positive <= 0.0 {
        return Ok(Vec::new());
    }
    let (ids, shares): (Vec<ContributionId>, Vec<f64>) = weights
        .iter()
        .map(|&(c, w)| (c, w.max(0.0) / positive))
        .unzip();
    attribution_entries(&ids, &shares)
}

#[cfg(test)]
mod tests {
    use super::*;
    use attribution_primitives::attribution::MAX_ATTRIBUTION_ENTRIES;
    use attribution_primitives::PARTS_PER_MILLION;

    fn refs(contributions: &[u64]) -> Vec<RowRef> {
        contributions
            .iter()
            .enumerate()
            .map(|(i, &contribution)| RowRef {
                contribution,
                row: i as u32,
            })
            .collect()
    }

    /// Small deterministic noise in [-scale, scale] (splitmix64).
    fn noise(n: usize, seed: u64, scale: f64) -> Vec<f64> {
        (0..n as u64)
            .map(|i| {
                let mut z = seed.wrapping_add((i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                scale * (2.0 * (z >> 11) as f64 / (1u64 << 53) as f64 - 1.0)
            })
            .collect()
    }

    fn paid(rule: Rule, rows: &[RowRef], scores: &[f64]) -> Vec<AttributionEntry> {
        entries(&rule.weights(rows, scores).unwrap()).unwrap()
    }

    #[test]
    fn one_standing_out_row_pays_its_contribution_where_the_sum_of_all_rows_does_not() {
        // Contribution 0: one row that taught the answer among 9 noisy ones; contribution 1: 30
        // noisy rows whose noise happens to sum to more than that row.
        let mut contributions = vec![0; 10];
        contributions.extend([1; 30]);
        let rows = refs(&contributions);
        let mut scores = noise(40, 7, 0.01);
        scores[3] = 0.05;
        for score in &mut scores[10..] {
            *score = score.abs();
        }
        assert!(scores[10..].iter().sum::<f64>() > scores[..10].iter().sum::<f64>());
        let v1 = paid(Rule::SumAll, &rows, &scores);
        assert_eq!(v1[0].contribution, 1, "{v1:?}");
        for rule in [Rule::TopK(1), Rule::Outliers(3.5)] {
            let entries = paid(rule, &rows, &scores);
            assert_eq!(
                entries,
                vec![AttributionEntry {
                    contribution: 0,
                    weight_ppm: PARTS_PER_MILLION
                }],
                "{rule}"
            );
        }
    }

    #[test]
    fn diffuse_noise_pays_nothing_under_the_outlier_rule() {
        let rows = refs(&(0..64).map(|i| i % 4).collect::<Vec<_>>());
        for seed in 0..20 {
            let scores = noise(64, seed, 0.02);
            // Uniform noise ends at √3 standard deviations: nothing is 3.5 above the median.
            assert!(
                paid(Rule::Outliers(3.5), &rows, &scores).is_empty(),
                "{seed}"
            );
            assert!(!paid(Rule::TopK(4), &rows, &scores).is_empty());
        }
        // Equal scores: nothing stands out, and the MAD of 0 does not make every row stand out.
        assert!(paid(Rule::Outliers(3.5), &rows, &[0.1; 64]).is_empty());
        // Negative scores pay nothing under any rule.
        for rule in [Rule::SumAll, Rule::TopK(4), Rule::Outliers(0.0)] {
            assert!(paid(rule, &rows, &[-0.1; 64]).is_empty(), "{rule}");
        }
    }

    #[test]
    fn ties_split_evenly_and_go_to_the_smaller_id() {
        // Two contributions with one equal standing-out row each share the whole evenly.
        let rows = refs(&[5, 5, 5, 9, 9, 9, 2, 2]);
        let scores = [0.0, 0.3, 0.0, 0.0, 0.3, 0.0, 0.0, 0.0];
        for rule in [Rule::Outliers(3.5), Rule::TopK(2), Rule::SumAll] {
            assert_eq!(
                paid(rule, &rows, &scores),
                vec![
                    AttributionEntry {
                        contribution: 5,
                        weight_ppm: 500_000
                    },
                    AttributionEntry {
                        contribution: 9,
                        weight_ppm: 500_000
                    },
                ],
                "{rule}"
            );
        }
        // Three equal rows and k = 2: the earlier rows are the top two.
        let entries = paid(Rule::TopK(2), &refs(&[1, 2, 3]), &[0.2, 0.2, 0.2]);
        let ids: Vec<u64> = entries.iter().map(|e| e.contribution).collect();
        assert_eq!(ids, vec![1, 2]);
    }

    #[test]
    fn more_than_sixteen_contributions_keep_sixteen_entries_and_at_most_a_million() {
        // 40 contributions of one row each, every row standing out from 200 rows of noise.
        let mut contributions: Vec<u64> = (0..40).collect();
        contributions.extend([100; 200]);
        let rows = refs(&contributions);
        let mut scores = noise(240, 3, 0.001);
        for (i, score) in scores.iter_mut().take(40).enumerate() {
            *score = 1.0 + i as f64 / 100.0;
        }
        for rule in [Rule::SumAll, Rule::TopK(40), Rule::Outliers(3.5)] {
            let entries = paid(rule, &rows, &scores);
            assert_eq!(entries.len(), MAX_ATTRIBUTION_ENTRIES as usize, "{rule}");
            let total: u32 = entries.iter().map(|e| e.weight_ppm).sum();
            assert!(total <= PARTS_PER_MILLION, "{rule}: {total}");
            // The 16 largest rows' contributions (39 down to 24) are the entries.
            assert!(entries.iter().all(|e| e.contribution >= 24), "{rule}");
        }
        // Random scores: never more than a million.
        for seed in 0..50 {
            let scores = noise(240, seed, 1.0);
            for rule in [Rule::SumAll, Rule::TopK(8), Rule::Outliers(1.0)] {
                let total: u32 = paid(rule, &rows, &scores)
                    .iter()
                    .map(|e| e.weight_ppm)
                    .sum();
                assert!(total <= PARTS_PER_MILLION, "{rule} {seed}: {total}");
            }
        }
    }

    #[test]
    fn bad_input_is_refused() {
        let rows = refs(&[0, 1]);
        assert!(Rule::SumAll.weights(&rows, &[0.1]).is_err());
        assert!(Rule::TopK(1).weights(&rows, &[0.1, f64::NAN]).is_err());
        assert!(Rule::Outliers(3.5)
            .weights(&rows, &[f64::INFINITY, 0.0])
            .is_err());
        // No rows: no weights, no entries.
        assert!(paid(Rule::Outliers(3.5), &[], &[]).is_empty());
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
