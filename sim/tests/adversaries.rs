//! The adversary simulation on the real runtime: each attack against its honest twin, with the
//! default parameters.

use attribution_sim::adversaries::{run, Strategy};

#[test]
fn attacks_lose_except_steering_which_pays_until_records_can_be_challenged() {
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

    // (b) Steering the contributors' share to one's own contributions pays, at no extra cost:
    // nothing on chain checks an attribution yet.
    let steering = row(Strategy::SteeringOperator);
    assert!(steering.gained() > 1.0, "{steering:?}");
    assert!(steering.net() > 1.0, "{steering:?}");

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
