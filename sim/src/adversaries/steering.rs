//! Steering against auditing: the steering operator's profit at several shares of answers
//! checked, measured on chain; its expected value at each share from the gain per steered record
//! and the slash measured; the break-even share; and what auditing pays the auditor.
//!
//! ```text
//! expected net(p) = net(0) - p * steered records * slash at full stake
//! break-even p    = net(0) / (steered records * slash at full stake)
//! ```
//!
//! One run draws the checked answers at random, so at a small share it may check no steered
//! answer at all (or several): the expected value is what the rate implies over many runs.

use super::{Row, Strategy};
use anyhow::Result;
use attribution_primitives::OPEN;

/// The shares of answers checked, in basis points: 0, 0.5 %, 1 %, 5 %, 20 %.
pub const CHECK_RATES_BP: [u32; 5] = [0, 50, 100, 500, 2_000];

/// The steering strategy at each share of answers checked, each against the same honest twin.
pub struct SteeringTable {
    /// One row per share, in [`CHECK_RATES_BP`] order (the first checks nothing).
    pub rows: Vec<Row>,
}

fn open(balance: u128) -> f64 {
    balance as f64 / OPEN as f64
}

fn checked_bp(row: &Row) -> u32 {
    match row.strategy {
        Strategy::SteeringOperator { checked_bp } => checked_bp,
        _ => 0,
    }
}

impl SteeringTable {
    /// The row where nobody checks: what steering gains when unchecked.
    fn unchecked(&self) -> Option<&Row> {
        self.rows.iter().find(|row| checked_bp(row) == 0)
    }

    /// Settled records the operator steered (the same in every row: the same requests are
    /// served in every world).
    pub fn steered(&self) -> u32 {
        self.unchecked()
            .and_then(|row| row.audit.as_ref())
            .map_or(0, |audit| audit.steered)
    }

    /// What the first proven misattribution of a run slashed, in OPEN: the cost of one proven
    /// challenge while the operator's stake is whole.
    pub fn slash_at_full_stake(&self) -> Option<f64> {
        self.rows
            .iter()
            .filter_map(|row| row.audit.as_ref()?.slashes.first().copied())
            .next()
            .map(open)
    }

    /// The operator's expected net OPEN (beyond honest play) when `bp` basis points of answers
    /// are checked.
    pub fn expected_net(&self, bp: u32) -> Option<f64> {
        Some(self.unchecked()?.net() - self.expected_slashes(bp)?)
    }

    fn expected_slashes(&self, bp: u32) -> Option<f64> {
        Some(f64::from(bp) / 10_000.0 * f64::from(self.steered()) * self.slash_at_full_stake()?)
    }

    /// Expected net OPEN per OPEN the attack costs beyond honest play.
    pub fn expected_per_open_spent(&self, bp: u32) -> Option<f64> {
        let spent = self.unchecked()?.spent() + self.expected_slashes(bp)?;
        (spent > 1e-9).then(|| self.expected_net(bp).unwrap_or_default() / spent)
    }

    /// The share of answers checked, in percent, above which steering loses in expectation.
    pub fn break_even_percent(&self) -> Option<f64> {
        let per_percent = self.expected_slashes(100)?;
        (per_percent > 0.0).then(|| self.unchecked().map_or(0.0, Row::net) / per_percent)
    }

    /// The auditor's net OPEN per challenge it opened, over every row.
    pub fn auditor_per_challenge(&self) -> Option<f64> {
        let (net, challenges) = self
            .rows
            .iter()
            .filter_map(|row| row.audit.as_ref())
            .fold((0.0, 0u32), |(net, n), audit| {
                (net + audit.auditor.net(), n + audit.challenges)
            });
        (challenges > 0).then(|| net / f64::from(challenges))
    }

    /// The table of `docs/security.md`, with the break-even share and the auditor's take.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| answers checked | steered records | challenges | proven | OPEN slashed | net OPEN \
             (this run) | per OPEN spent (this run) | expected net OPEN | expected per OPEN \
             spent | auditor's net OPEN |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        let show =
            |value: Option<f64>| value.map_or_else(|| "—".to_string(), |v| format!("{v:+.3}"));
        for row in &self.rows {
            let bp = checked_bp(row);
            let audit = row.audit.clone().unwrap_or_default();
            out.push_str(&format!(
                "| {} % | {} | {} | {} | {:.3} | {:+.3} | {} | {} | {} | {:+.3} |\n",
                f64::from(bp) / 100.0,
                audit.steered,
                audit.challenges,
                audit.slashes.len(),
                open(audit.slashes.iter().sum()),
                row.net(),
                show(row.per_open_spent()),
                show(self.expected_net(bp)),
                show(self.expected_per_open_spent(bp)),
                audit.auditor.net(),
            ));
        }
        out.push_str(&format!(
            "\nunchecked gain per steered record: {}; slash of a proven challenge at full stake: \
             {} OPEN; break-even share of answers checked: {} %; auditor's net per challenge: {} \
             OPEN\n",
            show(
                self.unchecked()
                    .map(|row| row.net() / f64::from(self.steered().max(1)))
            ),
            show(self.slash_at_full_stake()),
            self.break_even_percent()
                .map_or_else(|| "—".to_string(), |p| format!("{p:.3}")),
            show(self.auditor_per_challenge()),
        ));
        out
    }
}

/// Plays the steering strategy at every share of [`CHECK_RATES_BP`] beside one honest twin.
pub fn run(seed: u64) -> Result<SteeringTable> {
    let (twin, _) = Strategy::SteeringOperator { checked_bp: 0 }.play_once(seed, false)?;
    let rows = CHECK_RATES_BP
        .iter()
        .map(|&checked_bp| Strategy::SteeringOperator { checked_bp }.play_beside(seed, twin))
        .collect::<Result<Vec<_>>>()?;
    Ok(SteeringTable { rows })
}
