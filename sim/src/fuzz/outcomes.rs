//! What the calls did, per call: how many succeeded and how many failed with each error, so a
//! run shows that calls reach their success path (a fuzzer whose calls all fail tests nothing).

use crate::chain::Applied;
use attribution_runtime::RuntimeError;
use sp_runtime::DispatchError;
use std::collections::BTreeMap;

/// The outcomes of one call.
#[derive(Default, Debug, Clone)]
pub struct Tally {
    pub ok: u64,
    /// Each failure (a dispatch error, or a transaction refused before dispatch) by name.
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    pub fn total(&self) -> u64 {
        self.ok + self.errors.values().sum::<u64>()
    }

    /// Successes over calls, in percent.
    pub fn success_percent(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            total => 100.0 * self.ok as f64 / total as f64,
        }
    }
}

/// Tallies by call label (`pallet.call`).
#[derive(Default, Debug, Clone)]
pub struct Outcomes {
    pub calls: BTreeMap<&'static str, Tally>,
}

/// A short name for an outcome: the pallet error's name, or the kind of refusal.
pub fn name(applied: &Applied) -> Option<String> {
    match applied {
        Applied::Ok => None,
        // Decoded through the runtime's error enum: a sudo call's inner error (read back from
        // its event) has lost the error's name on the way.
        Applied::Failed(error @ DispatchError::Module(module)) => Some(
            RuntimeError::from_dispatch_error(*error)
                .map(|error| format!("{error:?}"))
                .unwrap_or_else(|| format!("module {} error {:?}", module.index, module.error)),
        ),
        Applied::Failed(DispatchError::Token(token)) => Some(format!("Token::{token:?}")),
        Applied::Failed(DispatchError::Arithmetic(error)) => Some(format!("Arithmetic::{error:?}")),
        Applied::Failed(error) => Some(format!("{error:?}")),
        Applied::Invalid(invalid) => Some(format!("Invalid::{invalid:?}")),
    }
}

impl Outcomes {
    pub fn record(&mut self, label: &'static str, applied: &Applied) {
        let tally = self.calls.entry(label).or_default();
        match name(applied) {
            None => tally.ok += 1,
            Some(error) => *tally.errors.entry(error).or_default() += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.calls.values().map(Tally::total).sum()
    }

    pub fn ok(&self) -> u64 {
        self.calls.values().map(|tally| tally.ok).sum()
    }

    /// A Markdown table: call, calls, success share, the three commonest failures.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| call | calls | ok | ok % | commonest failures |\n|---|---:|---:|---:|---|\n",
        );
        for (label, tally) in &self.calls {
            let mut errors: Vec<_> = tally.errors.iter().collect();
            errors.sort_by(|a, b| b.1.cmp(a.1));
            let commonest: Vec<String> = errors
                .iter()
                .take(3)
                .map(|(name, count)| format!("{name} {count}"))
                .collect();
            out.push_str(&format!(
                "| {label} | {} | {} | {:.1} | {} |\n",
                tally.total(),
                tally.ok,
                tally.success_percent(),
                commonest.join(", ")
            ));
        }
        out
    }
}
