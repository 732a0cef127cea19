//! The pallets whose benchmarks the runtime runs (`attribution-node benchmark pallet`), and the
//! helpers that set up, in this runtime, the state each lifecycle pallet's benchmarks need from
//! the others.

frame_benchmarking::define_benchmarks!(
    [frame_system, SystemBench::<Runtime>]
    [pallet_balances, Balances]
    [pallet_timestamp, Timestamp]
    [pallet_sudo, Sudo]
    [pallet_utility, Utility]
    [pallet_datanets, Datanets]
    [pallet_models, Models]
    [pallet_compute, Compute]
    [pallet_attribution, Attribution]
    [pallet_rewards, Rewards]
);

/// The `BenchmarkHelper`s of pallet-compute, pallet-rewards and pallet-attribution, backed by the
/// runtime's real pallet-models, pallet-datanets and pallet-compute.
pub mod helpers {
    use alloc::vec::Vec;
    use attribution_primitives::{
        compute::{Endpoint, Hardware, WorkerKeyPossession},
        datanets::{
            ContributionInfo, ContributionStatus, DataKind, DatanetInfo, DatanetRules, LicenseTag,
            ManifestEntry, VersionInfo, DEFAULT_DAILY_BYTES, DEFAULT_DAILY_FILES,
            DEFAULT_MAX_CONTRIBUTION_BYTES,
        },
        merkle,
        models::{
            Architecture, BaseModel, Cid, EvalMetrics, License, Lineage, ModelKind, ModelName,
            ModelRecord, ModelStatus, TrainedArtifact, TrainingMethod, TrainingSpec,
        },
        traits::PoolId,
        AccountId, Balance, ContributionId, Hash, ModelId,
    };
    use frame_support::traits::{
        fungible::{Inspect, Mutate},
        Get,
    };
    use sp_core::{crypto::KeyTypeId, sr25519};
    use sp_runtime::traits::{BlakeTwo256, Hash as HashT};

    use crate::{Balances, Compute, Datanets, Models, Runtime, RuntimeOrigin, System};

    /// Implements every lifecycle pallet's `BenchmarkHelper` for this runtime.
    pub struct Lifecycle;

    /// Mints what `who` lacks to have `amount` free on top of the existential deposit.
    fn fund(who: &AccountId, amount: Balance) {
        let wanted = amount.saturating_add(Balances::minimum_balance());
        let free = Balances::balance(who);
        if free < wanted {
            Balances::mint_into(who, wanted - free).expect("minting to a funded account");
        }
    }

    /// A valid base model (a SmolLM2-135M shape) whose weights file hashes to `weights_hash`.
    fn base(weights_hash: Hash) -> BaseModel {
        BaseModel {
            architecture: Architecture {
                hidden_size: 576,
                intermediate_size: 1536,
                num_layers: 30,
                num_attention_heads: 9,
                num_key_value_heads: 3,
                vocab_size: 49_152,
                max_position_embeddings: 8192,
                rope_theta: 100_000,
            },
            parameters: 134_515_008,
            weights_hash,
            weights_cid: Cid::truncate_from(b"bafybench".to_vec()),
            tokenizer_hash: Hash::repeat_byte(0x12),
            license: License::truncate_from(b"apache-2.0".to_vec()),
        }
    }

    fn name() -> ModelName {
        ModelName::truncate_from(b"bench".to_vec())
    }

    fn blake2(bytes: &[u8]) -> Hash {
        <BlakeTwo256 as HashT>::hash(bytes)
    }

    /// The `n`th distinct content hash of the benchmarks' contributions.
    fn content_hash(n: u64) -> Hash {
        blake2(&n.to_le_bytes())
    }

    /// Contributions are weighed by their size, so one byte each gives every one weight 1.
    const CONTRIBUTION_BYTES: u64 = 1;

    /// Real calls throughout: the models and the version are exactly what users would create,
    /// and their setup cost is not measured.
    impl pallet_compute::BenchmarkHelper<AccountId> for Lifecycle {
        fn base_model(owner: &AccountId, weights_hash: Hash) -> ModelId {
            fund(
                owner,
                <Runtime as pallet_models::Config>::BaseModelDeposit::get(),
            );
            let id = pallet_models::NextModelId::<Runtime>::get();
            Models::register_base_model(
                RuntimeOrigin::signed(owner.clone()),
                name(),
                base(weights_hash),
            )
            .expect("the owner is funded and the model valid");
            id
        }

        /// A datanet of a separate, funded owner with the largest daily limits, to which
        /// `contributor` announces `n` one-byte contributions, each approved at once (so only one
        /// bond is held at a time; the storage deposits stay held), then published as version 1.
        /// The contributor's daily usage is cleared after each, as if each came on another day.
        fn datanet_version(contributor: &AccountId, n: u32) -> (PoolId, Hash, Vec<ContributionId>) {
            let owner: AccountId = frame_benchmarking::account("datanet-owner", 0, 0);
            fund(
                &owner,
                <Runtime as pallet_datanets::Config>::DatanetDeposit::get(),
            );
            let bond = <Runtime as pallet_datanets::Config>::MinContributionBond::get();
            let deposit = <Runtime as pallet_datanets::Config>::StorageDepositPerByte::get()
                .saturating_mul(Balance::from(CONTRIBUTION_BYTES));
            fund(
                contributor,
                bond.saturating_add(deposit.saturating_mul(Balance::from(n))),
            );
            let datanet = pallet_datanets::NextDatanetId::<Runtime>::get();
            Datanets::create_datanet(
                RuntimeOrigin::signed(owner.clone()),
                b"bench".to_vec(),
                Vec::new(),
                DataKind::Text,
                pallet_datanets::RuleOverrides {
                    daily_bytes: Some(<Runtime as pallet_datanets::Config>::MaxDailyBytes::get()),
                    daily_files: Some(<Runtime as pallet_datanets::Config>::MaxDailyFiles::get()),
                    ..Default::default()
                },
            )
            .expect("the owner is funded and the rules valid");
            let mut ids = Vec::with_capacity(n as usize);
            for i in 0..u64::from(n) {
                let id = pallet_datanets::NextContributionId::<Runtime>::get();
                Datanets::contribute(
                    RuntimeOrigin::signed(contributor.clone()),
                    datanet,
                    content_hash(i),
                    CONTRIBUTION_BYTES,
                    CONTRIBUTION_BYTES,
                    b"CC-BY-4.0".to_vec(),
                    Vec::new(),
                )
                .expect("the contributor is funded and within the limits");
                pallet_datanets::Usage::<Runtime>::remove(datanet, contributor);
                Datanets::approve(RuntimeOrigin::signed(owner.clone()), id)
                    .expect("the owner curates; at most MaxContributionsPerVersion");
                ids.push(id);
            }
            Datanets::publish_version(RuntimeOrigin::signed(owner), datanet)
                .expect("the owner publishes what was approved");
            let root = pallet_datanets::Versions::<Runtime>::get(datanet, 1)
                .expect("just published")
                .merkle_root;
            (
                PoolId {
                    datanet,
                    version: 1,
                },
                root,
                ids,
            )
        }
    }

    /// A published version with `members` real members of one point each, `who` among them: the
    /// claim then reads its points from a map as large as the pool's, so the benchmark measures
    /// what a deep trie costs as well.
    impl pallet_rewards::BenchmarkHelper<AccountId> for Lifecycle {
        fn create_pool(pool: PoolId, members: u32, who: &AccountId) {
            pallet_datanets::Versions::<Runtime>::insert(
                pool.datanet,
                pool.version,
                VersionInfo {
                    merkle_root: Hash::zero(),
                    contributions: members,
                    total_weight: u128::from(members),
                    owner_weight: 0,
                    total_bytes: u64::from(members).saturating_mul(CONTRIBUTION_BYTES),
                    published_at: System::block_number(),
                },
            );
            pallet_datanets::Points::<Runtime>::insert(pool, who, 1u128);
            for index in 1..members {
                let member: AccountId = frame_benchmarking::account("member", index, 0);
                pallet_datanets::Points::<Runtime>::insert(pool, member, 1u128);
            }
        }
    }

    /// The operator registers through pallet-compute's call. The model and version are written
    /// to storage: no call creates an adapter at a chosen id, nor a version whose contributions
    /// are ids `0..n` by `n` different accounts.
    impl pallet_attribution::BenchmarkHelper for Lifecycle {
        fn register_operator(
            operator: &AccountId,
            worker_key: sr25519::Public,
            possession: sr25519::Signature,
            price_per_token: Balance,
        ) {
            let stake = <Runtime as pallet_compute::Config>::MinOperatorStake::get();
            fund(operator, stake);
            let hardware = Hardware {
                gpu_model: b"NVIDIA RTX 4090"
                    .to_vec()
                    .try_into()
                    .expect("within the bound"),
                gpu_memory_mib: 24_576,
                gpu_count: 1,
            };
            Compute::register_operator(
                RuntimeOrigin::signed(operator.clone()),
                worker_key,
                possession,
                hardware,
                Endpoint::truncate_from(b"https://worker.bench".to_vec()),
                stake,
                price_per_token,
            )
            .expect("the operator is funded and its record valid");
        }

        /// Writes a consistent published version (datanet record, contributions and their
        /// indexes, manifest, Merkle root, points) and an `Active` adapter trained on it from a
        /// base model written alongside (with no deposit, so nothing is held for it).
        fn serving_model(
            model: ModelId,
            owner: &AccountId,
            pool: PoolId,
            first: ContributionId,
            contributions: u32,
        ) {
            let now = System::block_number();
            let PoolId { datanet, version } = pool;

            let mut info =
                pallet_datanets::Datanets::<Runtime>::get(datanet).unwrap_or_else(|| DatanetInfo {
                    owner: owner.clone(),
                    name: b"bench".to_vec().try_into().expect("within the bound"),
                    description: Default::default(),
                    kind: DataKind::Text,
                    rules: DatanetRules {
                        max_contribution_bytes: DEFAULT_MAX_CONTRIBUTION_BYTES,
                        daily_bytes: DEFAULT_DAILY_BYTES,
                        daily_files: DEFAULT_DAILY_FILES,
                        bond: <Runtime as pallet_datanets::Config>::MinContributionBond::get(),
                    },
                    curators: Default::default(),
                    deposit: 0,
                    created_at: now,
                    announced: 0,
                    pending: 0,
                    approved_unpublished: 0,
                    versions: 0,
                    pending_bytes: 0,
                    unpublished_weight: 0,
                    owner_unpublished_weight: 0,
                    closed: false,
                });
            let mut entries = Vec::with_capacity(contributions as usize);
            // Each call's contributors are other accounts than the previous calls'.
            let seed = u32::try_from(first).unwrap_or(u32::MAX);
            for i in 0..contributions {
                let id = first.saturating_add(ContributionId::from(i));
                let contributor: AccountId = frame_benchmarking::account("contributor", i, seed);
                let position = info.announced;
                info.announced = info.announced.saturating_add(1);
                let hash = content_hash(id);
                pallet_datanets::Contributions::<Runtime>::insert(
                    id,
                    ContributionInfo {
                        datanet,
                        position,
                        contributor: contributor.clone(),
                        content_hash: hash,
                        size: CONTRIBUTION_BYTES,
                        weight: CONTRIBUTION_BYTES,
                        license: LicenseTag::truncate_from(b"CC-BY-4.0".to_vec()),
                        metadata: Default::default(),
                        bond: 0,
                        // Written without holds, like the datanet's deposit above.
                        deposit: 0,
                        status: ContributionStatus::Published(version),
                        announced_at: now,
                    },
                );
                pallet_datanets::ContributionByHash::<Runtime>::insert(hash, datanet, id);
                pallet_datanets::ContributionByPosition::<Runtime>::insert(datanet, position, id);
                pallet_datanets::Points::<Runtime>::insert(
                    pool,
                    contributor,
                    u128::from(CONTRIBUTION_BYTES),
                );
                entries.push(ManifestEntry {
                    contribution: id,
                    content_hash: hash,
                    size: CONTRIBUTION_BYTES,
                });
            }
            let leaves: Vec<Hash> = entries.iter().map(|e| e.content_hash).collect();
            let merkle_root = merkle::root(&leaves);
            pallet_datanets::Manifests::<Runtime>::insert(
                datanet,
                version,
                frame_support::BoundedVec::<
                    ManifestEntry,
                    <Runtime as pallet_datanets::Config>::MaxContributionsPerVersion,
                >::truncate_from(entries),
            );
            pallet_datanets::Versions::<Runtime>::insert(
                datanet,
                version,
                VersionInfo {
                    merkle_root,
                    contributions,
                    total_weight: u128::from(contributions)
                        .saturating_mul(u128::from(CONTRIBUTION_BYTES)),
                    owner_weight: 0,
                    total_bytes: u64::from(contributions).saturating_mul(CONTRIBUTION_BYTES),
                    published_at: now,
                },
            );
            info.versions = info.versions.max(version);
            pallet_datanets::Datanets::<Runtime>::insert(datanet, info);
            pallet_datanets::NextDatanetId::<Runtime>::mutate(|next| {
                *next = (*next).max(datanet.saturating_add(1))
            });
            pallet_datanets::NextContributionId::<Runtime>::mutate(|next| {
                *next = (*next).max(first.saturating_add(ContributionId::from(contributions)))
            });

            let base_id = pallet_models::NextModelId::<Runtime>::get().max(model.saturating_add(1));
            let base_hash = blake2(&base_id.to_le_bytes());
            let adapter_hash = blake2(&model.to_le_bytes());
            let record = |kind| ModelRecord {
                owner: owner.clone(),
                name: name(),
                kind,
                status: ModelStatus::Active,
                deposit: 0,
                registered_at: now,
            };
            pallet_models::Models::<Runtime>::insert(
                base_id,
                record(ModelKind::Base(base(base_hash))),
            );
            pallet_models::BaseModelByWeights::<Runtime>::insert(base_hash, base_id);
            let lineage = Lineage {
                spec: TrainingSpec {
                    base_model: base_id,
                    pool,
                    dataset_root: merkle_root,
                    method: TrainingMethod::Lora,
                    hyperparameters_hash: Hash::repeat_byte(0x22),
                    job: 0,
                    previous: None,
                },
                artifact: Some(TrainedArtifact {
                    trainer: owner.clone(),
                    proof_hash: Hash::repeat_byte(0x33),
                    adapter_hash,
                    adapter_size: 4_194_304,
                    adapter_cid: Cid::truncate_from(b"bafyadapter".to_vec()),
                    held_out_root: Hash::repeat_byte(0xE0),
                    checkpoint_root: Hash::repeat_byte(0xC0),
                    steps: 1_000,
                    tokens: 1_000_000,
                    contributions_used: contributions,
                    metrics: EvalMetrics {
                        base_loss_ppm: 2_000_000,
                        adapted_loss_ppm: 1_500_000,
                        base_rouge_ppm: 300_000,
                        adapted_rouge_ppm: 400_000,
                    },
                }),
            };
            pallet_models::Models::<Runtime>::insert(model, record(ModelKind::Adapter(lineage)));
            pallet_models::AdaptersByHash::<Runtime>::insert(adapter_hash, model, ());
            pallet_models::NextModelId::<Runtime>::put(base_id.saturating_add(1));
        }

        /// Registers `members` operators through pallet-compute's call, each with the minimum
        /// stake held and a worker key of its own, generated in the benchmark's keystore to sign
        /// its possession proof; each joins the juror pool while it has room.
        fn juror_pool(members: u32) {
            const JUROR_KEY_TYPE: KeyTypeId = KeyTypeId(*b"acjr");
            let genesis = Compute::genesis_hash();
            for index in 0..members {
                let juror: AccountId = frame_benchmarking::account("juror", index, 0);
                let key = sp_io::crypto::sr25519_generate(JUROR_KEY_TYPE, None);
                let payload = WorkerKeyPossession {
                    operator: juror.clone(),
                    worker_key: key,
                };
                let possession =
                    sp_io::crypto::sr25519_sign(JUROR_KEY_TYPE, &key, &payload.message(&genesis))
                        .expect("the key was generated in the keystore");
                <Self as pallet_attribution::BenchmarkHelper>::register_operator(
                    &juror, key, possession, 1,
                );
            }
        }
    }
}
