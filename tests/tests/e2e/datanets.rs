//! Datanets against the real node: a datanet gets contributions from three accounts, their bytes
//! are uploaded over RPC, approved and published as a version whose manifest and blobs can be
//! fetched back and verified against the Merkle root. Bad input (unannounced, wrong size,
//! oversize, malformed JSONL, duplicate hash, over the daily limits) gets its own clear error.
//! The blobs survive a restart of the node. Attacks fail: a front-runner cannot get the victim's
//! bytes stored for its announcement, a padded contribution cannot declare its byte count as
//! weight, and the blobs of withdrawn and rejected contributions are deleted from the node while
//! their storage deposits are returned.

use anyhow::{ensure, Context, Result};
use attribution_e2e::chain::{
    account, bytes_from_json, calls, content_hash, event, expect_dispatch_error, expect_rpc_error,
    hash_from_json, hex_of, poll, Chain, OPEN,
};
use attribution_primitives::{
    content_store::codes::{
        MALFORMED_JSONL, NOT_ANNOUNCER, NOT_FOUND, OVERSIZE, UNANNOUNCED, UNKNOWN_VERSION,
        WRONG_SIZE, WRONG_WEIGHT,
    },
    datanets::{
        measure, Announcement, ContributionStatus, DataKind, ManifestPage, RuleOverrides,
        VersionInfo, DEFAULT_MAX_CONTRIBUTION_BYTES,
    },
    merkle, AccountId, BlockNumber, ContributionId, DatanetId, Hash, VersionIndex,
};
use std::time::Duration;
use subxt::rpcs::rpc_params;
use subxt_signer::sr25519::dev;

#[tokio::test(flavor = "multi_thread")]
async fn contributions_are_uploaded_published_and_fetched_back_verified() -> Result<()> {
    let mut chain = Chain::start().await?;
    let sample = chain.publish_sample_datanet().await?;
    let (datanet, version) = (sample.pool.datanet, sample.pool.version);
    ensure!(version == 1, "the first version is 1, got {version}");

    // Each upload was acknowledged with the blob's hash, CID, size and announcing contribution.
    for contribution in &sample.contributions {
        let receipt = &contribution.receipt;
        ensure!(
            hash_from_json(&receipt["hash"])? == content_hash(&contribution.bytes),
            "receipt hash: {receipt}"
        );
        ensure!(
            receipt["size"] == contribution.bytes.len() as u64,
            "receipt size: {receipt}"
        );
        ensure!(
            receipt["contribution"] == contribution.id,
            "receipt contribution: {receipt}"
        );
        ensure!(receipt["datanet"] == datanet, "receipt datanet: {receipt}");
        let cid = receipt["cid"].as_str().context("receipt without cid")?;
        ensure!(
            cid.starts_with('b') && cid.len() > 50,
            "a CIDv1 in base32: {cid}"
        );
    }

    // The manifest over RPC lists the approved contributions in approval order, all stored here.
    let manifest = chain
        .rpc_call("datanets_version", rpc_params![datanet, version])
        .await
        .context("datanets_version")?;
    ensure!(
        manifest["datanet"] == datanet && manifest["version"] == version,
        "{manifest}"
    );
    let merkle_root = hash_from_json(&manifest["merkleRoot"])?;
    ensure!(
        merkle_root == sample.merkle_root,
        "manifest root is the published root"
    );
    let blobs = manifest["blobs"]
        .as_array()
        .context("manifest without blobs")?;
    ensure!(blobs.len() == 3, "three blobs in the manifest: {manifest}");

    // Every blob comes back from `datanets_get` with its hash and size; together they make the root.
    let mut leaves = vec![];
    for (blob, contribution) in blobs.iter().zip(&sample.contributions) {
        let hash = hash_from_json(&blob["hash"])?;
        ensure!(
            blob["contribution"] == contribution.id,
            "manifest order is approval order: {blob}"
        );
        ensure!(
            blob["stored"] == true,
            "the node stores every blob of the version: {blob}"
        );
        ensure!(
            blob["cid"] == contribution.receipt["cid"],
            "manifest CID matches the receipt"
        );
        let bytes = chain.download(hash).await.context("datanets_get")?;
        ensure!(
            content_hash(&bytes) == hash,
            "blob {hash:?} hashes to its manifest hash"
        );
        ensure!(
            blob["size"] == bytes.len() as u64,
            "blob {hash:?} has its manifest size"
        );
        ensure!(
            bytes == contribution.bytes,
            "blob {hash:?} is the bytes uploaded"
        );
        leaves.push(hash);
    }
    ensure!(
        merkle::root(&leaves) == merkle_root,
        "the blobs' Merkle root is the manifest's"
    );
    for (index, leaf) in leaves.iter().enumerate() {
        let proof = merkle::proof(&leaves, index as u32).context("proof of a leaf")?;
        ensure!(
            merkle::verify(&merkle_root, leaf, &proof),
            "leaf {index} proves membership"
        );
    }

    // The runtime API agrees with the RPC.
    let info: Option<VersionInfo<BlockNumber>> = chain
        .state_call("DatanetsApi_version", (datanet, version))
        .await?;
    let info = info.context("DatanetsApi_version knows the published version")?;
    ensure!(
        info.merkle_root == merkle_root && info.contributions == 3,
        "{info:?}"
    );
    ensure!(
        info.total_weight == sample.total_weight(),
        "weights are the measured weights: {info:?}"
    );
    let page: Option<ManifestPage> = chain
        .state_call(
            "DatanetsApi_version_manifest",
            (datanet, version, 0u32, 10u32),
        )
        .await?;
    let page = page.context("DatanetsApi_version_manifest")?;
    let api_leaves: Vec<Hash> = page.entries.iter().map(|e| e.content_hash).collect();
    ensure!(
        api_leaves == leaves && page.total == 3,
        "runtime API manifest: {page:?}"
    );
    let announced: Option<Announcement<AccountId>> = chain
        .state_call("DatanetsApi_announced", (leaves[0], datanet))
        .await?;
    let announced = announced.context("a published contribution is announced")?;
    ensure!(
        announced.status == ContributionStatus::Published(version)
            && announced.contributor == account(&sample.contributions[0].contributor)
            && announced.weight == measure::weight(&sample.contributions[0].bytes),
        "published contributions are announced as published, by their contributor: {announced:?}"
    );

    let unknown = chain
        .rpc_call("datanets_version", rpc_params![datanet, version + 1])
        .await;
    expect_rpc_error(unknown, UNKNOWN_VERSION)?;

    // A restarted node still serves every blob, still marked stored in the manifest.
    chain.restart().await?;
    let manifest = chain
        .rpc_call("datanets_version", rpc_params![datanet, version])
        .await
        .context("datanets_version after a restart")?;
    ensure!(
        manifest["blobs"]
            .as_array()
            .is_some_and(|blobs| blobs.iter().all(|blob| blob["stored"] == true)),
        "every blob is still stored after a restart: {manifest}"
    );
    for contribution in &sample.contributions {
        let bytes = chain
            .download(content_hash(&contribution.bytes))
            .await
            .context("datanets_get after a restart")?;
        ensure!(
            bytes == contribution.bytes,
            "a blob survives the restart whole"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_contributions_and_uploads_get_clear_errors() -> Result<()> {
    let chain = Chain::start().await?;
    let (alice, bob, charlie, dave) = (dev::alice(), dev::bob(), dev::charlie(), dev::dave());
    let datanet = chain
        .create_datanet(&alice, "e2e-bad-input", RuleOverrides::default())
        .await?;

    let good = b"{\"prompt\":\"Capital of France?\",\"completion\":\"Paris\"}\n".to_vec();
    let wrong_size = b"{\"text\":\"announced with another size\"}\n".to_vec();
    let malformed =
        b"{\"text\":\"fine\"}\n{\"prompt\":\"no completion\"}\n{\"text\":\"fine\"}\n".to_vec();
    let too_large = DEFAULT_MAX_CONTRIBUTION_BYTES + 1;

    // Round 1: Bob announces a good blob, Charlie announces one with a wrong size and Dave a
    // malformed one; Ferdie announces more than a contribution may hold; Alice creates a datanet
    // with small daily limits.
    let limits = RuleOverrides {
        daily_bytes: Some(100),
        daily_files: Some(2),
        ..Default::default()
    };
    let ferdie = dev::ferdie();
    let results = chain
        .submit_all(vec![
            (
                &bob,
                calls::contribute(
                    datanet,
                    content_hash(&good),
                    good.len() as u64,
                    measure::weight(&good),
                    "MIT",
                ),
            ),
            (
                &charlie,
                calls::contribute(
                    datanet,
                    content_hash(&wrong_size),
                    wrong_size.len() as u64 + 5,
                    measure::weight(&wrong_size),
                    "MIT",
                ),
            ),
            (
                &dave,
                calls::contribute(
                    datanet,
                    content_hash(&malformed),
                    malformed.len() as u64,
                    measure::weight(&malformed),
                    "MIT",
                ),
            ),
            (
                &ferdie,
                calls::contribute(datanet, Hash::repeat_byte(0xab), too_large, 1, "MIT"),
            ),
            (
                &alice,
                calls::create_datanet(
                    "e2e-limits",
                    "two small files a day",
                    DataKind::Text,
                    limits,
                ),
            ),
        ])
        .await;
    let mut results = results.into_iter();
    let mut next = || results.next().context("one result per transaction");
    let good_id = event::<ContributionId>(
        &next()?.context("good contribution")?,
        "Datanets",
        "Contributed",
    )?;
    next()?.context("announcing with a wrong size is fine on chain")?;
    next()?.context("announcing malformed rows is fine on chain")?;
    expect_dispatch_error(next()?, "Datanets::ContributionTooLarge")?;
    let limited = event::<DatanetId>(
        &next()?.context("limits datanet")?,
        "Datanets",
        "DatanetCreated",
    )?;

    // Round 2: a duplicate hash, and Bob against the daily limits (100 bytes, 2 files): 60 bytes
    // pass, 50 more exceed the bytes, 30 more pass, 10 more exceed the files.
    let blob = |n: usize, tag: u8| vec![tag; n];
    let [duplicate, first, over_bytes, second, over_files] = chain
        .submit_each([
            (
                &dave,
                calls::contribute(
                    datanet,
                    content_hash(&good),
                    good.len() as u64,
                    measure::weight(&good),
                    "MIT",
                ),
            ),
            (
                &bob,
                calls::contribute(limited, content_hash(&blob(60, 1)), 60, 1, "MIT"),
            ),
            (
                &bob,
                calls::contribute(limited, content_hash(&blob(50, 2)), 50, 1, "MIT"),
            ),
            (
                &bob,
                calls::contribute(limited, content_hash(&blob(30, 3)), 30, 1, "MIT"),
            ),
            (
                &bob,
                calls::contribute(limited, content_hash(&blob(10, 4)), 10, 1, "MIT"),
            ),
        ])
        .await;
    expect_dispatch_error(duplicate, "Datanets::DuplicateContribution")?;
    first.context("60 bytes are within the daily limits")?;
    expect_dispatch_error(over_bytes, "Datanets::DailyBytesExceeded")?;
    second.context("30 more bytes and a second file are within the daily limits")?;
    expect_dispatch_error(over_files, "Datanets::DailyFilesExceeded")?;

    // Uploads: only the announced blob with its announced size and well-formed rows is stored.
    let receipt = chain
        .upload_signed(datanet, &bob, &good)
        .await
        .context("the announced blob uploads")?;
    ensure!(receipt["contribution"] == good_id, "{receipt}");

    let never = b"{\"text\":\"never announced\"}\n";
    let error = expect_rpc_error(chain.upload_signed(datanet, &bob, never).await, UNANNOUNCED)?;
    ensure!(
        error.message.contains("announce"),
        "tells to announce first: {error}"
    );

    let error = expect_rpc_error(
        chain.upload_signed(datanet, &charlie, &wrong_size).await,
        WRONG_SIZE,
    )?;
    let (announced, sent) = (wrong_size.len() + 5, wrong_size.len());
    ensure!(
        error.message.contains(&announced.to_string()) && error.message.contains(&sent.to_string()),
        "names both sizes: {error}"
    );

    let error = expect_rpc_error(
        chain.upload_signed(datanet, &dave, &malformed).await,
        MALFORMED_JSONL,
    )?;
    ensure!(error.message.contains("line 2"), "names the line: {error}");
    ensure!(
        error.data == Some(serde_json::json!({ "line": 2 })),
        "line in data: {error}"
    );

    // One byte over the largest contribution: 10 MiB of hex, more than the WebSocket client sends.
    let oversize = vec![b'a'; too_large as usize];
    let answer = chain
        .http_rpc_call(
            "datanets_upload",
            serde_json::json!([
                datanet,
                hex_of(&oversize),
                chain.upload_signature(datanet, &ferdie, &oversize)
            ]),
        )
        .await;
    let error = expect_rpc_error(answer, OVERSIZE)?;
    ensure!(
        error.message.contains(&too_large.to_string()),
        "names the size: {error}"
    );

    for refused in [never.as_slice(), &wrong_size, &malformed, &oversize] {
        let get = chain
            .rpc_call(
                "datanets_get",
                rpc_params![hex_of(content_hash(refused).as_bytes())],
            )
            .await;
        expect_rpc_error(get, NOT_FOUND).context("a refused upload is not stored")?;
    }
    let stored = chain.download(content_hash(&good)).await?;
    ensure!(stored == good, "the accepted upload is served back");
    ensure!(
        bytes_from_json(&serde_json::json!(hex_of(&stored)))? == good,
        "hex round trip"
    );

    // Nothing of the refused input was published: the datanet has no version yet.
    let version: Option<VersionInfo<BlockNumber>> = chain
        .state_call("DatanetsApi_version", (datanet, 1 as VersionIndex))
        .await?;
    ensure!(version.is_none(), "no version was published");
    let mut node = chain.node;
    ensure!(
        node.is_running(),
        "the node survived the bad input:\n{}",
        node.log_tail()
    );
    Ok(())
}

/// The attacks of the security review, on the real node.
///
/// * Front-running (H5): Eve copies Bob's announcement and lands first. Bob's signed upload is
///   refused for Eve's contribution, so nothing is stored for it; the owner rejects it as spam
///   (Eve's bond goes to the treasury), and Bob announces and uploads his own bytes.
/// * Padding (M4): Charlie declares his padded rows' byte count as their weight; the node measures
///   the rows and refuses the upload.
/// * Storage paid while used (H4): Bob's storage deposit is held while his contribution exists;
///   he withdraws one and the owner rejects Charlie's: both blobs are deleted from the node and the
///   deposits returned. The owner then closes the idle datanet and gets its deposit back.
#[tokio::test(flavor = "multi_thread")]
async fn front_running_padding_and_unpaid_storage_fail() -> Result<()> {
    let chain = Chain::start().await?;
    let (alice, bob, charlie, eve) = (dev::alice(), dev::bob(), dev::charlie(), dev::eve());
    let datanet = chain
        .create_datanet(&alice, "e2e-attacks", RuleOverrides::default())
        .await?;
    let rows = b"{\"prompt\":\"Who wrote Hamlet?\",\"completion\":\"Shakespeare\"}\n".to_vec();
    let weight = measure::weight(&rows);
    let announce = |bytes: &[u8], weight: u64| {
        calls::contribute(
            datanet,
            content_hash(bytes),
            bytes.len() as u64,
            weight,
            "CC-BY-4.0",
        )
    };

    // Front-running: Eve's copy lands first, Bob's announcement is a duplicate.
    let squatted = event::<ContributionId>(
        &chain.execute(&eve, announce(&rows, weight)).await?,
        "Datanets",
        "Contributed",
    )?;
    expect_dispatch_error(
        chain.submit(&bob, announce(&rows, weight)).await,
        "Datanets::DuplicateContribution",
    )?;
    let error = expect_rpc_error(
        chain.upload_signed(datanet, &bob, &rows).await,
        NOT_ANNOUNCER,
    )?;
    ensure!(
        error.message.contains("only their signature"),
        "names the announcer: {error}"
    );
    expect_rpc_error(
        chain
            .rpc_call(
                "datanets_get",
                rpc_params![hex_of(content_hash(&rows).as_bytes())],
            )
            .await,
        NOT_FOUND,
    )
    .context("nothing is stored for the squatted announcement")?;
    let (eve_free, eve_reserved) = chain.balance(&account(&eve)).await?;
    chain
        .execute(&alice, calls::reject(squatted, true))
        .await
        .context("the owner rejects the blobless squat as spam")?;
    let (eve_after, eve_reserved_after) = chain.balance(&account(&eve)).await?;
    ensure!(
        eve_after == eve_free + storage_deposit(rows.len())
            && eve_reserved - eve_reserved_after == OPEN + storage_deposit(rows.len()),
        "Eve got her storage deposit back and lost her 1 OPEN bond: free {eve_free} -> \
         {eve_after}, reserved {eve_reserved} -> {eve_reserved_after}"
    );
    let bobs = event::<ContributionId>(
        &chain.execute(&bob, announce(&rows, weight)).await?,
        "Datanets",
        "Contributed",
    )?;
    let receipt = chain.upload_signed(datanet, &bob, &rows).await?;
    ensure!(
        receipt["contribution"] == bobs,
        "Bob's bytes are Bob's: {receipt}"
    );

    // Padding: the byte count declared as weight is refused by the node's measure.
    let padded = format!(
        "{{\"prompt\":\"Who wrote Hamlet?{}\",\"completion\":\"Shakespeare\"}}\n",
        " ".repeat(2000)
    )
    .repeat(20)
    .into_bytes();
    let measured = measure::weight(&padded);
    ensure!(
        measured < weight + 10,
        "padding adds nothing: {measured} vs {weight}"
    );
    let charlies = event::<ContributionId>(
        &chain
            .execute(&charlie, announce(&padded, padded.len() as u64))
            .await?,
        "Datanets",
        "Contributed",
    )?;
    let error = expect_rpc_error(
        chain.upload_signed(datanet, &charlie, &padded).await,
        WRONG_WEIGHT,
    )?;
    ensure!(
        error
            .message
            .contains(&format!("its rows measure {measured}")),
        "names the measured weight: {error}"
    );

    // Storage is paid while used: Bob's second blob is held for, then withdrawn and deleted.
    let second = b"{\"text\":\"Hamlet is a tragedy written around 1600.\"}\n".to_vec();
    let (_, reserved_before) = chain.balance(&account(&bob)).await?;
    let withdrawn = event::<ContributionId>(
        &chain
            .execute(&bob, announce(&second, measure::weight(&second)))
            .await?,
        "Datanets",
        "Contributed",
    )?;
    let (_, reserved_pending) = chain.balance(&account(&bob)).await?;
    ensure!(
        reserved_pending == reserved_before + OPEN + storage_deposit(second.len()),
        "bond and storage deposit held: {reserved_before} -> {reserved_pending}"
    );
    chain.upload_signed(datanet, &bob, &second).await?;
    ensure!(chain.download(content_hash(&second)).await? == second);
    chain.execute(&bob, calls::withdraw(withdrawn)).await?;
    let (_, reserved_after) = chain.balance(&account(&bob)).await?;
    ensure!(
        reserved_after == reserved_before,
        "bond and deposit returned: {reserved_after} vs {reserved_before}"
    );
    // Charlie's padded announcement never got a blob. His plain rows do, and the owner rejects
    // them.
    let rejected_rows = b"{\"text\":\"Charlie's rows the curator turns down.\"}\n".to_vec();
    let rejected = event::<ContributionId>(
        &chain
            .execute(
                &charlie,
                announce(&rejected_rows, measure::weight(&rejected_rows)),
            )
            .await?,
        "Datanets",
        "Contributed",
    )?;
    chain
        .upload_signed(datanet, &charlie, &rejected_rows)
        .await?;
    chain
        .execute(&alice, calls::reject(rejected, false))
        .await?;
    for gone in [&second, &rejected_rows] {
        let hash = content_hash(gone);
        poll(
            "the node deletes a released blob",
            Duration::from_secs(60),
            || async {
                let answer = chain
                    .rpc_call("datanets_get", rpc_params![hex_of(hash.as_bytes())])
                    .await;
                Ok(expect_rpc_error(answer, NOT_FOUND).ok().map(|_| ()))
            },
        )
        .await?;
    }
    ensure!(
        chain.download(content_hash(&rows)).await? == rows,
        "Bob's pending blob is kept"
    );

    // Bounded powers: once nothing is pending, the owner closes the datanet and recovers the
    // deposit.
    expect_dispatch_error(
        chain.submit(&alice, calls::close_datanet(datanet)).await,
        "Datanets::DatanetBusy",
    )?;
    chain.execute(&bob, calls::withdraw(bobs)).await?;
    chain.execute(&alice, calls::reject(charlies, true)).await?;
    let (_, owner_reserved) = chain.balance(&account(&alice)).await?;
    chain.execute(&alice, calls::close_datanet(datanet)).await?;
    let (_, owner_after) = chain.balance(&account(&alice)).await?;
    ensure!(
        owner_reserved - owner_after == 10 * OPEN,
        "the datanet deposit came back: {owner_reserved} -> {owner_after}"
    );
    Ok(())
}

/// The storage deposit of `bytes` bytes (the runtime holds one OPEN per MiB).
fn storage_deposit(bytes: usize) -> u128 {
    bytes as u128 * (OPEN / (1024 * 1024))
}
