//! The real runtime (`attribution_runtime`, native) in test externalities built from the
//! `development` genesis preset, driven block by block the way a node would: each block is
//! initialised with an Aura pre-digest and the timestamp inherent, carries real signed
//! extrinsics (signature, nonce, fees and every transaction extension checked by
//! `Executive::apply_extrinsic`), is finalised (`on_idle`, `on_finalize`, the state root), and
//! then every pallet's `try_state` runs.

use attribution_primitives::{AccountId, Balance, BlockNumber};
use attribution_runtime::{
    genesis_config_presets as presets, AllPalletsWithSystem, Executive, Header, Runtime,
    RuntimeCall, RuntimeEvent, RuntimeGenesisConfig, SignedPayload, System, TxExtension,
    UncheckedExtrinsic, SLOT_DURATION,
};
use codec::Encode;
use frame_support::traits::{
    fungible::Inspect, OnFinalize, OnIdle, PalletsInfoAccess, TryState, TryStateSelect,
};
use sp_consensus_aura::{Slot, AURA_ENGINE_ID};
use sp_core::{sr25519, Pair};
use sp_runtime::{
    generic::Era, traits::Header as _, transaction_validity::TransactionValidityError,
    BuildStorage, Digest, DigestItem, DispatchError, Weight,
};

/// What applying one extrinsic did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Included and dispatched successfully (for a sudo call: the inner call succeeded).
    Ok,
    /// Included, fees paid, but the call failed with this error.
    Failed(DispatchError),
    /// Refused before dispatch (bad signature, stale nonce, cannot pay, block full): not
    /// included, nothing paid.
    Invalid(TransactionValidityError),
}

impl Applied {
    pub fn is_ok(&self) -> bool {
        matches!(self, Applied::Ok)
    }
}

/// Why a run stopped: a broken invariant after a block.
#[derive(Debug)]
pub struct Broken {
    pub block: BlockNumber,
    pub reason: String,
}

/// Overlays a genesis patch on a full default config, as the node's chain spec builder does.
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key).or_insert(serde_json::Value::Null), value);
            }
        }
        (base, patch) => *base = patch,
    }
}

/// The runtime with its state, at an open block.
pub struct Chain {
    ext: sp_io::TestExternalities,
    block: BlockNumber,
}

impl Chain {
    /// Genesis from the `development` preset (Alice validator and sudo, the dev accounts
    /// endowed with 1,000,000 OPEN each), with block 1 open.
    pub fn development() -> Self {
        let mut config =
            serde_json::to_value(RuntimeGenesisConfig::default()).expect("the config serializes");
        merge(
            &mut config,
            presets::preset(presets::DEVELOPMENT_PRESET).expect("the runtime knows its dev preset"),
        );
        let config: RuntimeGenesisConfig =
            serde_json::from_value(config).expect("the dev preset matches the config");
        let storage = config.build_storage().expect("the dev genesis builds");
        let mut chain = Self {
            ext: storage.into(),
            block: 0,
        };
        chain.open_block(1);
        chain
    }

    /// The number of the open block.
    pub fn block(&self) -> BlockNumber {
        self.block
    }

    /// Runs `f` against the state of the open block.
    pub fn read<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.ext.execute_with(f)
    }

    /// Signs `call` as `signer` with `key` (the signer's own key unless forging) at the signer's
    /// current nonce plus `nonce_offset` (non-zero to replay or skip), and applies it.
    pub fn apply(
        &mut self,
        signer: &sr25519::Pair,
        key: &sr25519::Pair,
        nonce_offset: i64,
        call: RuntimeCall,
    ) -> Applied {
        self.ext.execute_with(|| {
            let who = AccountId::from(signer.public());
            let nonce = i64::from(System::account_nonce(&who)).saturating_add(nonce_offset);
            let nonce = u32::try_from(nonce.max(0)).unwrap_or(u32::MAX);
            let extension = extension(nonce);
            let payload = SignedPayload::new(call.clone(), extension.clone())
                .expect("the implicit data is available in a running chain");
            let signature = payload.using_encoded(|bytes| key.sign(bytes));
            let is_sudo = matches!(call, RuntimeCall::Sudo(_));
            let xt = UncheckedExtrinsic::new_signed(call, who.into(), signature.into(), extension);
            let before = System::read_events_no_consensus().count();
            match Executive::apply_extrinsic(xt) {
                Err(invalid) => Applied::Invalid(invalid),
                Ok(Err(error)) => Applied::Failed(error),
                Ok(Ok(())) if is_sudo => sudo_result(before),
                Ok(Ok(())) => Applied::Ok,
            }
        })
    }

    /// Closes the open block (`on_idle`, `on_finalize`, state root), checks every pallet's
    /// `try_state`, and opens block `next` (which must be above the open one: jumps let
    /// timeouts and windows expire).
    pub fn next_block(&mut self, next: BlockNumber) -> Result<(), Broken> {
        let block = self.block;
        let checked = self.ext.execute_with(|| {
            let remaining = Weight::MAX.saturating_sub(System::block_weight().total());
            <AllPalletsWithSystem as OnIdle<BlockNumber>>::on_idle(block, remaining);
            <AllPalletsWithSystem as OnFinalize<BlockNumber>>::on_finalize(block);
            System::finalize();
            try_state(block)
        });
        checked.map_err(|reason| Broken { block, reason })?;
        self.ext.commit_all().map_err(|error| Broken {
            block,
            reason: format!("committing the block's changes: {error}"),
        })?;
        self.open_block(next.max(block.saturating_add(1)));
        Ok(())
    }

    /// Opens block `number`: Aura slot `number` in the pre-digest, the timestamp inherent for
    /// that slot (pallet-aura checks that the two agree).
    fn open_block(&mut self, number: BlockNumber) {
        self.block = number;
        self.ext.execute_with(|| {
            let slot = Slot::from(u64::from(number));
            let digest = Digest {
                logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, slot.encode())],
            };
            let parent = System::block_hash(number.saturating_sub(1));
            // Blocks skipped by a jump are empty blocks that were never built here.
            System::set_block_number(number.saturating_sub(1));
            Executive::initialize_block(&Header::new(
                number,
                Default::default(),
                Default::default(),
                parent,
                digest,
            ));
            let now = u64::from(number).saturating_mul(SLOT_DURATION);
            let inherent =
                UncheckedExtrinsic::new_bare(RuntimeCall::Timestamp(pallet_timestamp::Call::<
                    Runtime,
                >::set {
                    now,
                }));
            let applied = Executive::apply_extrinsic(inherent);
            assert!(
                matches!(applied, Ok(Ok(()))),
                "the timestamp inherent of block {number} failed: {applied:?}"
            );
        });
    }
}

/// Every pallet's `try_state`, one by one so that a failure names its pallet and its message
/// (`TryStateSelect::All` only logs them), then the runtime's invariants that span pallets.
fn try_state(block: BlockNumber) -> Result<(), String> {
    for pallet in <AllPalletsWithSystem as PalletsInfoAccess>::infos() {
        let only = TryStateSelect::Only(vec![pallet.name.as_bytes().to_vec()]);
        <AllPalletsWithSystem as TryState<BlockNumber>>::try_state(block, only)
            .map_err(|error| format!("{}: {error:?}", pallet.name))?;
    }
    attribution_runtime::invariants::try_state()
        .map_err(|error| format!("cross-pallet invariants: {error:?}"))
}

/// The inner result of the `sudo` call dispatched last (from its `Sudid` event).
fn sudo_result(events_before: usize) -> Applied {
    let events = System::read_events_no_consensus();
    events
        .skip(events_before)
        .find_map(|record| match record.event {
            RuntimeEvent::Sudo(pallet_sudo::Event::Sudid { sudo_result }) => {
                Some(match sudo_result {
                    Ok(()) => Applied::Ok,
                    Err(error) => Applied::Failed(error),
                })
            }
            _ => None,
        })
        .unwrap_or(Applied::Ok)
}

/// The transaction extensions of an immortal transaction with `nonce` and no tip.
fn extension(nonce: u32) -> TxExtension {
    (
        frame_system::CheckNonZeroSender::new(),
        frame_system::CheckSpecVersion::new(),
        frame_system::CheckTxVersion::new(),
        frame_system::CheckGenesis::new(),
        frame_system::CheckEra::from(Era::Immortal),
        frame_system::CheckNonce::from(nonce),
        frame_system::CheckWeight::new(),
        pallet_transaction_payment::ChargeTransactionPayment::from(0),
        frame_metadata_hash_extension::CheckMetadataHash::new(false),
        frame_system::WeightReclaim::new(),
    )
}

/// Free plus held balance of `who`: what it owns, whatever is on hold.
pub fn total_balance(who: &AccountId) -> Balance {
    <attribution_runtime::Balances as Inspect<AccountId>>::total_balance(who)
}

/// The genesis hash that off-chain signatures (training proofs, batches, authorizations) bind to.
pub fn genesis_hash() -> attribution_primitives::Hash {
    System::block_hash(0)
}
