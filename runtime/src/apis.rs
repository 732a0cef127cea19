//! The runtime APIs: what the node, wallets and dApps can ask the runtime.

use alloc::vec::Vec;
use frame_support::{
    genesis_builder_helper::{build_state, get_preset},
    weights::Weight,
};
use pallet_grandpa::AuthorityId as GrandpaId;
use sp_api::impl_runtime_apis;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_core::{crypto::KeyTypeId, OpaqueMetadata};
use sp_runtime::{
    traits::{Block as BlockT, NumberFor},
    transaction_validity::{TransactionSource, TransactionValidity},
    ApplyExtrinsicResult,
};
use sp_version::RuntimeVersion;

use attribution_primitives::{
    attribution::{
        AllowanceInfo, AttributionChallenge, AttributionChallengeId, BatchCommitment, BatchId,
        CreditInfo, FeeSplit, NonceWindow, RecordId, SettledRecord,
    },
    compute::{JobInfo, OperatorInfo},
    datanets::{
        Announcement, ContributionsPage, ContributorStats, Datanet, ManifestPage, VersionInfo,
    },
    models::ModelWithLineage,
    rewards::{PendingRewards, RewardPool},
    traits::PoolId,
    BlockNumber, DatanetId, Hash, JobId, ModelId, VersionIndex,
};

use super::{
    AccountId, Attribution, Aura, Balance, Block, Compute, Datanets, Executive, Grandpa,
    InherentDataExt, Models, Nonce, Rewards, Runtime, RuntimeCall, RuntimeGenesisConfig,
    SessionKeys, System, TransactionPayment, VERSION,
};

impl_runtime_apis! {
    impl sp_api::Core<Block> for Runtime {
        fn version() -> RuntimeVersion {
            VERSION
        }

        fn execute_block(block: <Block as BlockT>::LazyBlock) {
            Executive::execute_block(block);
        }

        fn initialize_block(header: &<Block as BlockT>::Header) -> sp_runtime::ExtrinsicInclusionMode {
            Executive::initialize_block(header)
        }
    }

    impl sp_api::Metadata<Block> for Runtime {
        fn metadata() -> OpaqueMetadata {
            OpaqueMetadata::new(Runtime::metadata().into())
        }

        fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
            Runtime::metadata_at_version(version)
        }

        fn metadata_versions() -> Vec<u32> {
            Runtime::metadata_versions()
        }
    }

    impl frame_support::view_functions::runtime_api::RuntimeViewFunction<Block> for Runtime {
        fn execute_view_function(
            id: frame_support::view_functions::ViewFunctionId,
            input: Vec<u8>,
        ) -> Result<Vec<u8>, frame_support::view_functions::ViewFunctionDispatchError> {
            Runtime::execute_view_function(id, input)
        }
    }

    impl sp_block_builder::BlockBuilder<Block> for Runtime {
        fn apply_extrinsic(extrinsic: <Block as BlockT>::Extrinsic) -> ApplyExtrinsicResult {
            Executive::apply_extrinsic(extrinsic)
        }

        fn finalize_block() -> <Block as BlockT>::Header {
            Executive::finalize_block()
        }

        fn inherent_extrinsics(data: sp_inherents::InherentData) -> Vec<<Block as BlockT>::Extrinsic> {
            data.create_extrinsics()
        }

        fn check_inherents(
            block: <Block as BlockT>::LazyBlock,
            data: sp_inherents::InherentData,
        ) -> sp_inherents::CheckInherentsResult {
            data.check_extrinsics(&block)
        }
    }

    impl sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block> for Runtime {
        fn validate_transaction(
            source: TransactionSource,
            tx: <Block as BlockT>::Extrinsic,
            block_hash: <Block as BlockT>::Hash,
        ) -> TransactionValidity {
            Executive::validate_transaction(source, tx, block_hash)
        }
    }

    impl sp_offchain::OffchainWorkerApi<Block> for Runtime {
        fn offchain_worker(header: &<Block as BlockT>::Header) {
            Executive::offchain_worker(header)
        }
    }

    impl sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
        fn slot_duration() -> sp_consensus_aura::SlotDuration {
            sp_consensus_aura::SlotDuration::from_millis(Aura::slot_duration())
        }

        fn authorities() -> Vec<AuraId> {
            pallet_aura::Authorities::<Runtime>::get().into_inner()
        }
    }

    impl sp_session::SessionKeys<Block> for Runtime {
        fn generate_session_keys(owner: Vec<u8>, seed: Option<Vec<u8>>) -> sp_session::OpaqueGeneratedSessionKeys {
            SessionKeys::generate(&owner, seed).into()
        }

        fn decode_session_keys(encoded: Vec<u8>) -> Option<Vec<(Vec<u8>, KeyTypeId)>> {
            SessionKeys::decode_into_raw_public_keys(&encoded)
        }
    }

    impl sp_consensus_grandpa::GrandpaApi<Block> for Runtime {
        fn grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
            Grandpa::grandpa_authorities()
        }

        fn current_set_id() -> sp_consensus_grandpa::SetId {
            Grandpa::current_set_id()
        }

        fn submit_report_equivocation_unsigned_extrinsic(
            _equivocation_proof: sp_consensus_grandpa::EquivocationProof<
                <Block as BlockT>::Hash,
                NumberFor<Block>,
            >,
            _key_owner_proof: sp_consensus_grandpa::OpaqueKeyOwnershipProof,
        ) -> Option<()> {
            None
        }

        fn generate_key_ownership_proof(
            _set_id: sp_consensus_grandpa::SetId,
            _authority_id: GrandpaId,
        ) -> Option<sp_consensus_grandpa::OpaqueKeyOwnershipProof> {
            // Equivocation reports are not wired (no session/historical pallet); the key owner
            // proof type is `Void`, so no proof can exist.
            None
        }
    }

    impl frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce> for Runtime {
        fn account_nonce(account: AccountId) -> Nonce {
            System::account_nonce(account)
        }
    }

    impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<Block, Balance> for Runtime {
        fn query_info(
            uxt: <Block as BlockT>::Extrinsic,
            len: u32,
        ) -> pallet_transaction_payment_rpc_runtime_api::RuntimeDispatchInfo<Balance> {
            TransactionPayment::query_info(uxt, len)
        }
        fn query_fee_details(
            uxt: <Block as BlockT>::Extrinsic,
            len: u32,
        ) -> pallet_transaction_payment::FeeDetails<Balance> {
            TransactionPayment::query_fee_details(uxt, len)
        }
        fn query_weight_to_fee(weight: Weight) -> Balance {
            TransactionPayment::weight_to_fee(weight)
        }
        fn query_length_to_fee(length: u32) -> Balance {
            TransactionPayment::length_to_fee(length)
        }
    }

    impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentCallApi<Block, Balance, RuntimeCall>
        for Runtime
    {
        fn query_call_info(
            call: RuntimeCall,
            len: u32,
        ) -> pallet_transaction_payment::RuntimeDispatchInfo<Balance> {
            TransactionPayment::query_call_info(call, len)
        }
        fn query_call_fee_details(
            call: RuntimeCall,
            len: u32,
        ) -> pallet_transaction_payment::FeeDetails<Balance> {
            TransactionPayment::query_call_fee_details(call, len)
        }
        fn query_weight_to_fee(weight: Weight) -> Balance {
            TransactionPayment::weight_to_fee(weight)
        }
        fn query_length_to_fee(length: u32) -> Balance {
            TransactionPayment::length_to_fee(length)
        }
    }

    impl attribution_primitives::datanets::DatanetsApi<Block> for Runtime {
        fn datanet(id: DatanetId) -> Option<Datanet> {
            Datanets::datanet_info(id)
        }
        fn version(datanet: DatanetId, version: VersionIndex) -> Option<VersionInfo<BlockNumber>> {
            Datanets::version_info(datanet, version)
        }
        fn contributions(
            datanet: DatanetId,
            start: u32,
            limit: u32,
        ) -> ContributionsPage<AccountId, Balance, BlockNumber> {
            Datanets::contributions_page(datanet, start, limit)
        }
        fn contributor_stats(who: AccountId) -> ContributorStats<Balance> {
            Datanets::contributor_stats(&who)
        }
        fn announced(content_hash: Hash, datanet: DatanetId) -> Option<Announcement<AccountId>> {
            Datanets::announcement(content_hash, datanet)
        }
        fn is_announced(content_hash: Hash) -> bool {
            Datanets::is_announced(content_hash)
        }
        fn max_contribution_bytes() -> u64 {
            Datanets::max_contribution_bytes()
        }
        fn version_manifest(
            datanet: DatanetId,
            version: VersionIndex,
            start: u32,
            limit: u32,
        ) -> Option<ManifestPage> {
            Datanets::manifest_page(datanet, version, start, limit)
        }
    }

    impl attribution_primitives::models::ModelsApi<Block> for Runtime {
        fn model(id: ModelId) -> Option<ModelWithLineage<AccountId, Balance, BlockNumber>> {
            Models::model_with_lineage(id)
        }
        fn model_by_artifact(hash: Hash) -> Option<ModelId> {
            Models::model_by_artifact(hash)
        }
        fn models_trained_on(
            datanet: DatanetId,
            from: ModelId,
            max: u32,
        ) -> attribution_primitives::models::ModelsPage {
            Models::models_trained_on(datanet, from, max)
        }
        fn proven_adapter(hash: Hash) -> Option<attribution_primitives::models::ProvenAdapter> {
            Models::proven_adapter(hash)
        }
    }

    impl attribution_primitives::compute::ComputeApi<Block> for Runtime {
        fn operator(who: AccountId) -> Option<OperatorInfo<Balance>> {
            Compute::operator(who)
        }
        fn operators(after: Option<AccountId>, max: u32) -> Vec<(AccountId, OperatorInfo<Balance>)> {
            Compute::operators(after, max)
        }
        fn job(id: JobId) -> Option<JobInfo<AccountId, Balance, BlockNumber>> {
            Compute::job(id)
        }
        fn open_jobs(
            from: JobId,
            max: u32,
        ) -> attribution_primitives::compute::JobsPage<AccountId, Balance, BlockNumber> {
            Compute::open_jobs(from, max)
        }
        fn hyperparameters_job(hash: Hash) -> Option<JobId> {
            Compute::hyperparameters_job(hash)
        }

        fn challenge(
            id: attribution_primitives::compute::ChallengeId,
        ) -> Option<attribution_primitives::compute::Challenge<AccountId, Balance, BlockNumber>> {
            Compute::challenge_info(id)
        }
    }

    impl attribution_primitives::rewards::RewardsApi<Block, AccountId, Balance> for Runtime {
        fn pending_rewards(who: AccountId) -> PendingRewards<Balance> {
            Rewards::pending_rewards(&who)
        }
        fn pending_pool_rewards(who: AccountId, pools: Vec<PoolId>) -> Vec<(PoolId, Balance)> {
            Rewards::pending_pool_rewards(&who, pools)
        }
        fn pool(pool: PoolId) -> Option<RewardPool<Balance>> {
            Rewards::pool(pool)
        }
    }

    impl attribution_primitives::attribution::AttributionApi<Block> for Runtime {
        fn credit(who: AccountId) -> CreditInfo {
            Attribution::credit(&who)
        }
        fn allowance(user: AccountId, operator: AccountId) -> AllowanceInfo {
            Attribution::allowance(&user, &operator)
        }
        fn nonce_window(user: AccountId, operator: AccountId) -> Option<NonceWindow> {
            Attribution::nonce_window(&user, &operator)
        }
        fn fee_split() -> FeeSplit {
            Attribution::fee_split()
        }
        fn batch(id: BatchId) -> Option<BatchCommitment> {
            Attribution::batch(id)
        }
        fn record(id: RecordId) -> Option<SettledRecord> {
            Attribution::record(id)
        }
        fn attribution_challenge(id: AttributionChallengeId) -> Option<AttributionChallenge> {
            Attribution::attribution_challenge(id)
        }
    }

    #[cfg(feature = "runtime-benchmarks")]
    impl frame_benchmarking::Benchmark<Block> for Runtime {
        fn benchmark_metadata(extra: bool) -> (
            Vec<frame_benchmarking::BenchmarkList>,
            Vec<frame_support::traits::StorageInfo>,
        ) {
            use frame_benchmarking::BenchmarkList;
            use frame_support::traits::StorageInfoTrait;
            use frame_system_benchmarking::Pallet as SystemBench;
            use super::*;

            let mut list = Vec::<BenchmarkList>::new();
            list_benchmarks!(list, extra);
            (list, AllPalletsWithSystem::storage_info())
        }

        #[allow(non_local_definitions)]
        fn dispatch_benchmark(
            config: frame_benchmarking::BenchmarkConfig
        ) -> Result<Vec<frame_benchmarking::BenchmarkBatch>, alloc::string::String> {
            use frame_benchmarking::BenchmarkBatch;
            use frame_support::traits::WhitelistedStorageKeys;
            use frame_system_benchmarking::Pallet as SystemBench;
            use sp_storage::TrackedStorageKey;
            use super::*;

            impl frame_system_benchmarking::Config for Runtime {}

            let whitelist: Vec<TrackedStorageKey> = AllPalletsWithSystem::whitelisted_storage_keys();
            let mut batches = Vec::<BenchmarkBatch>::new();
            let params = (&config, &whitelist);
            add_benchmarks!(params, batches);
            Ok(batches)
        }
    }

    #[cfg(feature = "try-runtime")]
    impl frame_try_runtime::TryRuntime<Block> for Runtime {
        fn on_runtime_upgrade(checks: frame_try_runtime::UpgradeCheckSelect) -> (Weight, Weight) {
            // try-runtime is an off-chain tool: a failed check must stop it with a backtrace.
            let weight = Executive::try_runtime_upgrade(checks).unwrap();
            if checks.try_state() {
                crate::invariants::try_state().expect("cross-pallet invariants hold");
            }
            (weight, super::configs::RuntimeBlockWeights::get().max_block)
        }

        fn execute_block(
            block: <Block as BlockT>::LazyBlock,
            state_root_check: bool,
            signature_check: bool,
            select: frame_try_runtime::TryStateSelect
        ) -> Weight {
            let check_invariants = !matches!(select, frame_try_runtime::TryStateSelect::None);
            let weight =
                Executive::try_execute_block(block, state_root_check, signature_check, select)
                    .expect("execute-block failed");
            // The pallets' own checks ran in `try_execute_block`; these span pallets.
            if check_invariants {
                crate::invariants::try_state().expect("cross-pallet invariants hold");
            }
            weight
        }
    }

    impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
        fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
            build_state::<RuntimeGenesisConfig>(config)
        }

        fn get_preset(id: &Option<sp_genesis_builder::PresetId>) -> Option<Vec<u8>> {
            get_preset::<RuntimeGenesisConfig>(id, crate::genesis_config_presets::get_preset)
        }

        fn preset_names() -> Vec<sp_genesis_builder::PresetId> {
            crate::genesis_config_presets::preset_names()
        }
    }
}
