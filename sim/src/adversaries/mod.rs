//! Adversaries on the real runtime: each strategy plays in its own [`World`] beside the honest
//! participants (contributors, curator, five operators, a model developer, three users), and
//! its accounts' OPEN spent and gained are counted from the chain's own balances and events.
//!
//! ```text
//! gained = rewards claimed (direct and pool) + challengers' shares of slashes
//! spent  = value at start + gained - value at end      (fees, bonds lost, slashes, fees paid)
//! value  = free + held balance + inference credit + allowances
//! ```
//!
//! Each attack is played twice: as written, and as its honest twin (the same accounts set up the
//! same way, skipping every attack step: a steering operator attributing honestly, wash traders
//! owning contributions but not trading). The table shows the difference: what the attack adds
//! to honest play.
//!
//! Every world runs the same honest economy: 16 honest contributions of 256 KiB, a published
//! version, a training job with a 100 OPEN budget (30 % to the version's pool), then
//! [`ROUNDS`] rounds in which each of the three users sends [`REQUESTS_PER_ROUND`] requests of
//! 0.1 OPEN each to operators drawn at random. Honest operators attribute each answer to four
//! contributions of the version drawn at random, 25 % each (the cap). In a steering world an
//! auditor, handed the users' prompts and answers, recomputes the attribution of a share of the
//! settled answers and challenges those that differ; the honest operators sit on the juries
//! ([`steering`] compares the shares).

pub mod steering;
mod strategies;
mod world;

pub use strategies::{Strategy, DEFAULT_CHECKED_BP};
pub use world::World;

use anyhow::Result;
use attribution_primitives::{Balance, OPEN};

/// Inference rounds after the version's adapter is trained.
pub const ROUNDS: u32 = 30;
/// Requests each user sends per round.
pub const REQUESTS_PER_ROUND: u32 = 4;

/// What a group of accounts spent and gained in one world.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub spent: Balance,
    pub gained: Balance,
}

impl Figures {
    /// Gained minus spent, in OPEN.
    pub fn net(&self) -> f64 {
        (self.gained as f64 - self.spent as f64) / OPEN as f64
    }
}

/// What the auditor of a steering world did: the answers it found steered and challenged, what
/// the juries' verdicts slashed, and its own figures.
#[derive(Clone, Debug, Default)]
pub struct Audit {
    /// Settled records the steering operator attributed to its own contributions.
    pub steered: u32,
    /// Challenges the auditor opened (each of a record whose entries differ from its
    /// recomputation).
    pub challenges: u32,
    /// What the steering operator was slashed for each proven misattribution, in order.
    pub slashes: Vec<Balance>,
    /// The auditor's OPEN spent (fees, bonds lost) and gained (challengers' shares).
    pub auditor: Figures,
}

/// One strategy's figures, and its honest twin's (the same accounts skipping every attack step).
#[derive(Clone, Debug)]
pub struct Row {
    pub strategy: Strategy,
    pub attack: Figures,
    pub twin: Figures,
    /// The auditor's work, in a steering world.
    pub audit: Option<Audit>,
}

impl Row {
    /// OPEN the attack costs beyond honest play (fees, bonds lost, slashes, fees paid); for the
    /// honest baseline, what it spent.
    pub fn spent(&self) -> f64 {
        self.beyond_twin(self.attack.spent, self.twin.spent)
    }

    /// OPEN the attack brings beyond honest play; for the honest baseline, what it gained.
    pub fn gained(&self) -> f64 {
        self.beyond_twin(self.attack.gained, self.twin.gained)
    }

    fn beyond_twin(&self, attack: Balance, twin: Balance) -> f64 {
        let twin = if self.strategy.is_attack() { twin } else { 0 };
        (attack as f64 - twin as f64) / OPEN as f64
    }

    /// What the attack adds to honest play, in OPEN.
    pub fn net(&self) -> f64 {
        self.gained() - self.spent()
    }

    /// Net OPEN per OPEN the attack costs; `None` when it costs nothing beyond honest play.
    pub fn per_open_spent(&self) -> Option<f64> {
        (self.spent() > 1e-9).then(|| self.net() / self.spent())
    }
}

/// Every strategy's row.
pub struct Table {
    pub rows: Vec<Row>,
}

impl Table {
    pub fn row(&self, strategy: Strategy) -> Option<&Row> {
        self.rows.iter().find(|row| row.strategy == strategy)
    }

    /// The table of `docs/security.md`: each attack against its honest twin.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| strategy | OPEN spent | OPEN gained | net OPEN | profit per OPEN spent | \
             honest twin's net OPEN | verdict |\n\
             |---|---:|---:|---:|---:|---:|---|\n",
        );
        for row in &self.rows {
            let verdict = match (row.strategy.is_attack(), row.net() > 0.0) {
                (false, _) => "honest baseline",
                (true, true) => "PROFITABLE",
                (true, false) => "loses",
            };
            let per_open = row
                .per_open_spent()
                .map_or_else(|| "no extra cost".to_string(), |p| format!("{p:+.3}"));
            let twin = if row.strategy.is_attack() {
                format!("{:+.3}", row.twin.net())
            } else {
                "—".to_string()
            };
            out.push_str(&format!(
                "| {} | {:.3} | {:.3} | {:+.3} | {} | {} | {} |\n",
                row.strategy.describe(),
                row.spent(),
                row.gained(),
                row.net(),
                per_open,
                twin,
                verdict
            ));
        }
        out
    }
}

/// Plays every strategy, each in a fresh world seeded with `seed`.
pub fn run(seed: u64) -> Result<Table> {
    let rows = Strategy::ALL
        .iter()
        .map(|strategy| strategy.play(seed))
        .collect::<Result<Vec<_>>>()?;
    Ok(Table { rows })
}
