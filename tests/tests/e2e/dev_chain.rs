//! A `--dev` node: it authors a block every 2 s, finalizes, executes a signed transfer submitted
//! over RPC, and refuses malformed and forged transactions without going down.

use anyhow::{ensure, Context, Result};
use attribution_e2e::{
    chain::{hex_of, poll},
    finalized_number, wait_finalized, Node,
};
use std::time::Duration;
use subxt::{
    dynamic::{self, Value},
    ext::{
        codec::{Compact, Decode},
        scale_value::At,
    },
    rpcs::{rpc_params, RpcClient},
    OnlineClient, SubstrateConfig,
};
use subxt_signer::sr25519::{dev, Keypair};

const OPEN: u128 = 1_000_000_000_000_000_000;

/// Free OPEN of `account` at the latest finalized block.
async fn free_balance(
    rpc: &RpcClient,
    client: &OnlineClient<SubstrateConfig>,
    account: [u8; 32],
) -> Result<u128> {
    let at = client.at_block(finalized_number(rpc).await?).await?;
    let info = at
        .storage()
        .fetch(
            dynamic::storage::<([u8; 32],), Value>("System", "Account"),
            (account,),
        )
        .await?
        .decode()?;
    info.at("data")
        .at("free")
        .and_then(|v| v.as_u128())
        .context("System.Account without data.free")
}

/// The timestamp (ms) set in block `number`.
async fn block_timestamp(client: &OnlineClient<SubstrateConfig>, number: u32) -> Result<u64> {
    let at = client.at_block(number).await?;
    Ok(at
        .storage()
        .fetch(dynamic::storage::<(), u64>("Timestamp", "Now"), ())
        .await?
        .decode()?)
}

/// A signed Alice → `to` transfer, encoded and ready to submit.
async fn signed_transfer(
    client: &OnlineClient<SubstrateConfig>,
    to: &Keypair,
    amount: u128,
) -> Result<Vec<u8>> {
    let call = dynamic::transaction(
        "Balances",
        "transfer_keep_alive",
        (to.public_key().to_address::<()>(), amount),
    );
    let at = client.at_current_block().await?;
    let tx = at
        .transactions()
        .create_signed(&call, &dev::alice(), Default::default())
        .await?;
    Ok(tx.into_encoded())
}

/// Flips a byte inside the signature of an encoded signed extrinsic (v4: length prefix,
/// version byte, 33-byte address, then the MultiSignature).
fn forge_signature(mut encoded: Vec<u8>) -> Result<Vec<u8>> {
    let mut rest = &encoded[..];
    Compact::<u32>::decode(&mut rest)?;
    let prefix = encoded.len() - rest.len();
    let signature_byte = prefix + 1 + 33 + 1 + 10;
    encoded[signature_byte] ^= 0xff;
    Ok(encoded)
}

async fn submit(rpc: &RpcClient, encoded: &[u8]) -> Result<String, String> {
    rpc.request::<String>("author_submitExtrinsic", rpc_params![hex_of(encoded)])
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_node_authors_every_two_seconds_finalizes_and_transfers() -> Result<()> {
    let mut node = Node::start(&["--dev", "--tmp"])?;
    let (rpc, client) = node.client().await?;

    let health: serde_json::Value = rpc.request("system_health", rpc_params![]).await?;
    ensure!(
        health["isSyncing"] == false,
        "a lone dev node is not syncing: {health}"
    );
    let finalized = wait_finalized(&rpc, 6, Duration::from_secs(120)).await?;

    // A block's timestamp is its author's clock inside its Aura slot (slot = timestamp / 2 s).
    // The lone dev validator authors one block per slot: blocks 2..=6 sit in increasing slots,
    // at most one slot missed over the span even on a loaded machine.
    const SLOT_MS: u64 = 2_000;
    let mut slots = Vec::new();
    for number in 2..=6 {
        slots.push(block_timestamp(&client, number).await? / SLOT_MS);
    }
    ensure!(
        slots.windows(2).all(|w| w[1] > w[0]),
        "one block per slot: {slots:?}"
    );
    ensure!(
        slots[4] - slots[0] <= 5,
        "blocks 2..=6 span at most 5 slots of 2 s: {slots:?}"
    );

    let recipient = Keypair::from_secret_key([7u8; 32])?;
    let recipient_id = recipient.public_key().0;
    let alice_before = free_balance(&rpc, &client, dev::alice().public_key().0).await?;
    ensure!(
        free_balance(&rpc, &client, recipient_id).await? == 0,
        "recipient starts empty"
    );

    let call = dynamic::transaction(
        "Balances",
        "transfer_keep_alive",
        (recipient.public_key().to_address::<()>(), 5 * OPEN),
    );
    client
        .at_current_block()
        .await?
        .transactions()
        .sign_and_submit_then_watch_default(&call, &dev::alice())
        .await?
        .wait_for_finalized_success()
        .await?;

    ensure!(
        free_balance(&rpc, &client, recipient_id).await? == 5 * OPEN,
        "recipient received 5 OPEN"
    );
    let alice_after = free_balance(&rpc, &client, dev::alice().public_key().0).await?;
    let fee = alice_before - 5 * OPEN - alice_after;
    ensure!(
        fee > 0 && fee < OPEN / 100,
        "Alice paid 5 OPEN and a small fee, fee was {fee}"
    );
    ensure!(
        finalized_number(&rpc).await? > finalized,
        "finality advanced"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_and_forged_transactions_get_errors_and_the_node_keeps_running() -> Result<()> {
    let mut node = Node::start(&["--dev", "--tmp"])?;
    let (rpc, client) = node.client().await?;
    wait_finalized(&rpc, 1, Duration::from_secs(120)).await?;
    let recipient = Keypair::from_secret_key([9u8; 32])?;

    let malformed = submit(&rpc, &[0x12, 0x34]).await;
    ensure!(
        malformed.is_err(),
        "garbage bytes are refused: {malformed:?}"
    );

    // Bigger than a whole block (5 MiB); a separate connection, as the client may drop it.
    let oversize = submit(&node.rpc().await?, &vec![0xAB; 5 * 1024 * 1024 + 1]).await;
    ensure!(
        oversize.is_err(),
        "a blob bigger than a block is refused: {:?}",
        oversize.map(|_| ())
    );

    let forged = forge_signature(signed_transfer(&client, &recipient, OPEN).await?)?;
    let error = submit(&rpc, &forged)
        .await
        .expect_err("a forged signature is refused");
    ensure!(
        error.contains("bad signature") || error.contains("1010"),
        "invalid-transaction error: {error}"
    );

    let valid = signed_transfer(&client, &recipient, OPEN).await?;
    submit(&rpc, &valid)
        .await
        .map_err(anyhow::Error::msg)
        .context("the genuine transaction is accepted")?;
    let replay = submit(&rpc, &valid).await;
    ensure!(
        replay.is_err(),
        "the same transaction twice is refused: {replay:?}"
    );

    ensure!(
        node.is_running(),
        "the node survived bad input:\n{}",
        node.log_tail()
    );
    // The genuine transfer is finalized; the refused ones never are.
    poll(
        "the genuine transfer is finalized",
        Duration::from_secs(90),
        || async {
            let received = free_balance(&rpc, &client, recipient.public_key().0).await?;
            Ok((received > 0).then_some(()))
        },
    )
    .await?;
    let before = finalized_number(&rpc).await?;
    wait_finalized(&rpc, before + 2, Duration::from_secs(60)).await?;
    let received = free_balance(&rpc, &client, recipient.public_key().0).await?;
    ensure!(
        received == OPEN,
        "only the genuine transfer landed: recipient has {received}"
    );
    Ok(())
}
