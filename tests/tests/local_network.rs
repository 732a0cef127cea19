//! The `local_testnet` preset: four validators (Alice, Bob, Charlie, Dave) on loopback find each
//! other through Alice as bootnode, author and finalize the same chain.

use anyhow::{ensure, Result};
use attribution_e2e::{block_hash, finalized_number, wait_finalized, Node, BOOTNODE_KEY};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn four_validators_finalize_the_same_blocks() -> Result<()> {
    let mut alice = Node::start(&[
        "--chain",
        "local",
        "--alice",
        "--node-key",
        BOOTNODE_KEY,
        "--validator",
    ])?;
    let bootnode = alice.bootnode_address();
    // Validators of a non-dev chain need a persistent network key; each gets a distinct one.
    let mut nodes = vec![];
    for (name, node_key) in [("--bob", 2), ("--charlie", 3), ("--dave", 4)] {
        let node_key = format!("{node_key:064x}");
        nodes.push(Node::start(&[
            "--chain",
            "local",
            name,
            "--validator",
            "--node-key",
            &node_key,
            "--bootnodes",
            &bootnode,
        ])?);
    }
    let mut rpcs = vec![alice.rpc().await?];
    for node in &mut nodes {
        rpcs.push(node.rpc().await?);
    }

    // GRANDPA needs more than 2/3 of the four voters, so finality here means they all talk.
    for rpc in &rpcs {
        wait_finalized(rpc, 4, Duration::from_secs(240)).await?;
    }
    let mut common = u64::MAX;
    for rpc in &rpcs {
        common = common.min(finalized_number(rpc).await?);
    }
    for number in 1..=common {
        let expected = block_hash(&rpcs[0], number).await?;
        for rpc in &rpcs[1..] {
            ensure!(
                block_hash(rpc, number).await? == expected,
                "validators disagree on block #{number}"
            );
        }
    }
    ensure!(
        alice.is_running() && nodes.iter_mut().all(Node::is_running),
        "all validators still run"
    );
    Ok(())
}
