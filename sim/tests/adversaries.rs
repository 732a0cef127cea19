//! The adversary simulation on the real runtime: each attack against its honest twin, with the
//! default parameters.

use attribution_sim::adversaries::{run, steering, Strategy, DEFAULT_CHECKED_BP};

#[test]
fn every_attack_loses_beside_honest_play() {
    let table = run(0).expect("every honest step succeeds");
    println!("{}", table.markdown());
    let row = |strategy| {
        table
            .row(strategy)
            .expect("every strategy has a row")
            .clone()
    };

    // Honest contributors are paid from the training budget's pool and from attribution.
    let honest = row(Strategy::HonestContributors);
    assert!(honest.net() > 10.0, "{honest:?}");

    // (a) Spam costs a slashed bond for every caught contribution: 180 of 200.
    let sybil = row(Strategy::SybilSpam);
    assert!(sybil.spent() >= 180.0, "{sybil:?}");
    assert!(sybil.net() < -100.0, "{sybil:?}");

    // (b) Steering, with 5 % of answers checked, loses its proven challenges' slashes (10 OPEN
    // each at the minimum stake) for a few OPEN of diverted fees.
    let steering = row(Strategy::SteeringOperator {
        checked_bp: DEFAULT_CHECKED_BP,
    });
    assert!(steering.spent() >= 10.0, "{steering:?}");
    assert!(steering.net() < 0.0, "{steering:?}");

    // (c) Stolen records settle nothing; each front-run hash costs its bond.
    let thief = row(Strategy::RecordThief);
    assert_eq!(thief.attack.gained, thief.twin.gained, "{thief:?}");
    assert!(thief.spent() >= 4.0, "{thief:?}");

    // (d) Self-challenging a fraudulent proof loses the prover's stake (100 OPEN); the sybil gets
    // back the challenger's 10 %.
    let squatter = row(Strategy::SelfChallenger);
    assert!((squatter.gained() - 10.0).abs() < 1e-9, "{squatter:?}");
    assert!(squatter.net() < -89.0, "{squatter:?}");
    // Griefing an honest proof loses every bond (4 × 10 OPEN).
    let griefer = row(Strategy::ChallengeGriefer);
    assert_eq!(griefer.attack.gained, griefer.twin.gained, "{griefer:?}");
    assert!(griefer.spent() >= 40.0, "{griefer:?}");

    // (e) Wash trading returns less than the pair paid: the treasury's tenth and the fees stay.
    let wash = row(Strategy::WashTrading);
    assert!(wash.gained() > 0.0, "{wash:?}");
    assert!(wash.net() < 0.0, "{wash:?}");
}

#[test]
fn steering_loses_in_expectation_once_a_small_share_of_answers_is_checked() {
    let table = steering::run(0).expect("every honest step succeeds");
    println!("{}", table.markdown());
    let unchecked = &table.rows[0];
    let audit = |i: usize| {
        table.rows[i]
            .audit
            .clone()
            .expect("a steering world has an auditor")
    };

    // Unchecked, steering the contributors' share to one's own contributions pays.
    assert!(table.steered() > 20, "{} steered records", table.steered());
    assert!(unchecked.net() > 1.0, "{unchecked:?}");
    assert_eq!(audit(0).challenges, 0);

    // A proven challenge costs the minimum-staked operator 10 % of its 100 OPEN stake.
    let slash = table
        .slash_at_full_stake()
        .expect("some steered record was challenged");
    assert!((slash - 10.0).abs() < 1e-9, "{slash}");

    // Every challenge the auditor opens is of a steered record, and the jury proves it.
    for i in 1..table.rows.len() {
        let audit = audit(i);
        assert_eq!(audit.challenges as usize, audit.slashes.len(), "{audit:?}");
    }

    // Steering loses in expectation from well under 1 % of answers checked on.
    let break_even = table.break_even_percent().expect("a slash was measured");
    assert!(break_even < 1.0, "break-even at {break_even} %");
    for bp in [100, 500, 2_000] {
        let expected = table.expected_net(bp).expect("a slash was measured");
        assert!(expected < 0.0, "{bp} bp: {expected}");
    }
    // Checking a fifth of the answers, the run itself loses.
    let fifth = table.rows.last().expect("a row per share");
    assert!(fifth.net() < -10.0, "{fifth:?}");

    // Auditing pays the auditor: its share of each slash beyond its fees, bond returned.
    let per_challenge = table
        .auditor_per_challenge()
        .expect("challenges were opened");
    assert!(per_challenge > 0.5, "{per_challenge}");
}
