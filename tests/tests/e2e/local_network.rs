//! The `local_testnet` preset: four validators (Alice, Bob, Charlie, Dave) on loopback find each
//! other through Alice as bootnode, author and finalize the same chain, and survive a fault.
//!
//! Faults (issue 12): Dave is killed with SIGKILL; the other three keep finalizing (GRANDPA
//! needs more than 2/3 of four voters, so three suffice); Dave starts again on its own database
//! (its finalized head right after the start is where it was, not genesis), catches up, and all
//! four agree on every finalized hash. Data: a blob uploaded to Alice alone reaches every other
//! validator over the nodes' blob exchange protocol: fetched in the background as its
//! announcement is finalized, and on demand by `datanets_get`; a blob announced and uploaded
//! while Dave was down is fetched by Dave after its restart. Nothing is lost.

use anyhow::{ensure, Context, Result};
use attribution_e2e::{
    block_hash,
    chain::{content_hash, poll, sample_rows, Chain},
    finalized_number, wait_finalized, Node, BOOTNODE_KEY,
};
use attribution_primitives::{datanets::RuleOverrides, Hash};
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};
use subxt::rpcs::RpcClient;
use subxt_signer::sr25519::dev;

/// Where a node of the local testnet keeps the blob with this hash.
fn blob_path(node: &Node, hash: Hash) -> PathBuf {
    node.base_path()
        .join("chains/attribution_local/content-store")
        .join(hex::encode(hash.as_bytes()))
}

/// Every node's finalized hashes agree up to the lowest finalized head among them; returns it.
async fn agree_on_finalized(rpcs: &[&RpcClient]) -> Result<u64> {
    let mut common = u64::MAX;
    for rpc in rpcs {
        common = common.min(finalized_number(rpc).await?);
    }
    for number in 1..=common {
        let expected = block_hash(rpcs[0], number).await?;
        for rpc in &rpcs[1..] {
            ensure!(
                block_hash(rpc, number).await? == expected,
                "validators disagree on block #{number}"
            );
        }
    }
    Ok(common)
}

/// Waits until `node` holds the blob `bytes` in its content store, fetched from a peer over the
/// blob exchange protocol (its log says so), and prints how long that took.
async fn wait_fetched(node: &Node, name: &str, bytes: &[u8]) -> Result<()> {
    let started = Instant::now();
    let hash = content_hash(bytes);
    let path = blob_path(node, hash);
    let fetched = format!("fetched blob {hash:?}");
    // The node stores the blob, then logs the fetch: a blob held without that line (uploaded some
    // other way) never counts, and the wait ends only once both are there.
    let stored = poll(
        &format!("{name} to fetch blob {} from a peer", path.display()),
        Duration::from_secs(120),
        || {
            let logged = node.log().contains(&fetched);
            let path = path.clone();
            async move { Ok(logged.then(|| std::fs::read(&path).ok()).flatten()) }
        },
    )
    .await
    .with_context(|| node.log_tail())?;
    let took = started.elapsed();
    ensure!(stored == bytes, "{name} stored other bytes");
    eprintln!("{name} had blob {hash:?} after {took:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn four_validators_finalize_the_same_blocks_and_survive_a_killed_one() -> Result<()> {
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
    let alice_rpc = alice.rpc().await?;
    let mut rpcs = vec![];
    for node in &mut nodes {
        rpcs.push(node.rpc().await?);
    }

    // GRANDPA needs more than 2/3 of the four voters, so finality here means they all talk.
    for rpc in std::iter::once(&alice_rpc).chain(&rpcs) {
        wait_finalized(rpc, 4, Duration::from_secs(240)).await?;
    }
    agree_on_finalized(&[&alice_rpc, &rpcs[0], &rpcs[1], &rpcs[2]]).await?;

    // A blob announced on chain and uploaded to Alice alone.
    let chain = Chain::attach(alice.rpc_port).await?;
    let owner = dev::alice();
    let datanet = chain
        .create_datanet(&owner, "e2e-availability", RuleOverrides::default())
        .await?;
    let first = sample_rows(1);
    chain.contribute(datanet, &[(&dev::bob(), &first)]).await?;
    chain.upload(&first).await?;
    // Dave and Charlie fetch it in the background; Bob's `datanets_get` fetches it on demand
    // (or finds it already fetched).
    wait_fetched(&nodes[2], "Dave", &first).await?;
    wait_fetched(&nodes[1], "Charlie", &first).await?;
    let bob = Chain::attach(nodes[0].rpc_port).await?;
    ensure!(
        bob.download(content_hash(&first)).await? == first,
        "Bob serves the blob uploaded to Alice"
    );

    // Dave is killed -9; the other three keep finalizing.
    let dave_finalized = finalized_number(&rpcs[2]).await?;
    nodes[2].kill()?;
    let before = finalized_number(&alice_rpc).await?;
    for rpc in [&alice_rpc, &rpcs[0], &rpcs[1]] {
        wait_finalized(rpc, before + 3, Duration::from_secs(180)).await?;
    }
    // A blob announced and uploaded while Dave is down.
    let second = sample_rows(2);
    chain
        .contribute(datanet, &[(&dev::charlie(), &second)])
        .await?;
    chain.upload(&second).await?;
    let finalized_without_dave = finalized_number(&alice_rpc).await?;

    // Dave starts on its own database: right away its finalized head is where it stopped.
    nodes[2].start_again()?;
    let dave_rpc = nodes[2].rpc().await?;
    let restarted_at = finalized_number(&dave_rpc).await?;
    ensure!(
        restarted_at >= dave_finalized,
        "Dave restarted at #{restarted_at}, below #{dave_finalized} it had finalized: its \
         database was lost"
    );
    wait_finalized(
        &dave_rpc,
        finalized_without_dave + 2,
        Duration::from_secs(240),
    )
    .await
    .with_context(|| nodes[2].log_tail())?;
    let common = agree_on_finalized(&[&alice_rpc, &rpcs[0], &rpcs[1], &dave_rpc]).await?;
    ensure!(
        common > finalized_without_dave,
        "all four finalize past #{finalized_without_dave} together, got #{common}"
    );

    // Nothing is lost: Dave holds both blobs, the one it missed fetched after its restart.
    wait_fetched(&nodes[2], "Dave", &second).await?;
    wait_fetched(&nodes[2], "Dave", &first).await?;
    wait_fetched(&nodes[0], "Bob", &second).await?;
    let dave = Chain::attach(nodes[2].rpc_port).await?;
    ensure!(dave.download(content_hash(&second)).await? == second);

    ensure!(
        alice.is_running() && nodes.iter_mut().all(Node::is_running),
        "all validators still run"
    );
    Ok(())
}
