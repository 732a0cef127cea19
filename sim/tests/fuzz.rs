//! The short fuzz run CI does: two thousand random calls on the real runtime, try_state after
//! every block.

use attribution_sim::fuzz::{run, Config};

#[test]
fn short_fuzz_run_holds_every_invariant_and_reaches_success_paths() {
    let config = Config {
        seed: 7,
        calls: 2_000,
        life_calls: 1_000,
        ..Config::default()
    };
    let report = match run(&config, |_| {}) {
        Ok(report) => report,
        Err(failure) => panic!("{failure}"),
    };
    assert_eq!(report.calls, 2_000);
    assert_eq!(report.lives, 2);
    assert!(report.blocks > 2_000 / 24, "{} blocks", report.blocks);
    // The calls reach their success paths, not only their error paths.
    for call in [
        "datanets.create_datanet",
        "datanets.contribute",
        "datanets.approve",
        "datanets.publish_version",
        "compute.register_operator",
        "attribution.deposit_credit",
        "attribution.challenge_attribution",
        "compute.challenge",
        "compute.vote",
        "balances.transfer_keep_alive",
    ] {
        let tally = &report.outcomes.calls[call];
        assert!(tally.ok > 0, "{call} never succeeded: {tally:?}");
    }
    let share = report.outcomes.ok() as f64 / report.calls as f64;
    assert!(
        share > 0.2,
        "only {:.1} % of calls succeeded",
        share * 100.0
    );
}
