//! `attribution-sim fuzz`: random lifecycle calls on the real runtime, `try_state` after every
//! block. `attribution-sim adversaries`: each attack strategy's OPEN spent and gained beside
//! honest participants.

use anyhow::{bail, Result};
use attribution_sim::fuzz;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Instant;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Blocks of random calls from random origins; stops at the first panic or broken invariant.
    Fuzz {
        /// Seeds every random choice: the same seed and call count replay the same run.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Calls to apply in all.
        #[arg(long, default_value_t = 10_000)]
        calls: u64,
        /// Calls before the chain restarts from genesis (keeps state, and `try_state`, bounded).
        #[arg(long, default_value_t = 20_000)]
        life_calls: u64,
        /// The most calls in one block.
        #[arg(long, default_value_t = 24)]
        max_block_calls: u32,
        /// Also donate to pallet-rewards' and pallet-attribution's accounts (review finding
        /// L2: their try_state once failed on any donation).
        #[arg(long)]
        donate_to_pallet_accounts: bool,
    },
    /// Runs every adversary strategy beside honest participants and prints OPEN spent and gained;
    /// then the steering strategy at several shares of answers checked.
    Adversaries {
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Fuzz {
            seed,
            calls,
            life_calls,
            max_block_calls,
            donate_to_pallet_accounts,
        } => run_fuzz(fuzz::Config {
            seed,
            calls,
            life_calls,
            max_block_calls,
            donate_to_pallet_accounts,
            ..fuzz::Config::default()
        }),
        Command::Adversaries { seed } => {
            let started = Instant::now();
            let table = attribution_sim::adversaries::run(seed)?;
            println!("{}", table.markdown());
            let steering = attribution_sim::adversaries::steering::run(seed)?;
            println!("{}", steering.markdown());
            println!("({:.1} s)", started.elapsed().as_secs_f64());
            Ok(())
        }
    }
}

/// Calls between progress lines when the progress bar is hidden.
const PROGRESS_LINE_CALLS: u64 = 10_000;

fn run_fuzz(config: fuzz::Config) -> Result<()> {
    let bar = ProgressBar::new(config.calls);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} calls, {per_sec}, eta {eta}",
        )?
        .progress_chars("=> "),
    );
    let started = Instant::now();
    // Panics are caught and reported with the seed; keep the default hook's noise out of the bar.
    std::panic::set_hook(Box::new(|_| {}));
    // Without a terminal the bar is hidden: a line per PROGRESS_LINE_CALLS calls instead, so a
    // long run logged to a file shows how far it got.
    let mut applied = 0u64;
    let outcome = fuzz::run(&config, |n| {
        bar.inc(n);
        applied += n;
        if bar.is_hidden() && applied % PROGRESS_LINE_CALLS == 0 {
            eprintln!(
                "{applied} calls in {:.0} s, no failure so far",
                started.elapsed().as_secs_f64()
            );
        }
    });
    let _ = std::panic::take_hook();
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    match outcome {
        Ok(report) => {
            println!("{}", report.outcomes.table());
            println!(
                "seed {}: {} calls ({} succeeded, {:.1} %) in {} blocks over {} lives, {:.1} s \
                 ({:.0} calls/s); zero panics, every pallet's try_state held after every block",
                config.seed,
                report.calls,
                report.outcomes.ok(),
                100.0 * report.outcomes.ok() as f64 / report.calls.max(1) as f64,
                report.blocks,
                report.lives,
                elapsed,
                report.calls as f64 / elapsed,
            );
            Ok(())
        }
        Err(failure) => {
            eprintln!("{failure}");
            bail!("the fuzzer found a failure (seed {})", failure.seed)
        }
    }
}
