//! Transactions and inherents the `benchmark overhead` and `benchmark extrinsic` subcommands use.

use crate::service::FullClient;

use attribution_runtime::{self as runtime, AccountId, Balance, BalancesCall, SystemCall};
use sc_cli::Result;
use sc_client_api::BlockBackend;
use sp_core::{Encode, Pair};
use sp_inherents::{InherentData, InherentDataProvider};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{OpaqueExtrinsic, SaturatedConversion};

use std::{sync::Arc, time::Duration};

/// Builds `System::remark` transactions: the cheapest signed transaction.
pub struct RemarkBuilder {
    client: Arc<FullClient>,
}

impl RemarkBuilder {
    pub fn new(client: Arc<FullClient>) -> Self {
        Self { client }
    }
}

impl frame_benchmarking_cli::ExtrinsicBuilder for RemarkBuilder {
    fn pallet(&self) -> &str {
        "system"
    }

    fn extrinsic(&self) -> &str {
        "remark"
    }

    fn build(&self, nonce: u32) -> std::result::Result<OpaqueExtrinsic, &'static str> {
        let call = SystemCall::remark { remark: vec![] }.into();
        Ok(signed_by_bob(&self.client, call, nonce)?.into())
    }
}

/// Builds `Balances::transfer_keep_alive` transactions.
pub struct TransferKeepAliveBuilder {
    client: Arc<FullClient>,
    dest: AccountId,
    value: Balance,
}

impl TransferKeepAliveBuilder {
    pub fn new(client: Arc<FullClient>, dest: AccountId, value: Balance) -> Self {
        Self {
            client,
            dest,
            value,
        }
    }
}

impl frame_benchmarking_cli::ExtrinsicBuilder for TransferKeepAliveBuilder {
    fn pallet(&self) -> &str {
        "balances"
    }

    fn extrinsic(&self) -> &str {
        "transfer_keep_alive"
    }

    fn build(&self, nonce: u32) -> std::result::Result<OpaqueExtrinsic, &'static str> {
        let call = BalancesCall::transfer_keep_alive {
            dest: self.dest.clone().into(),
            value: self.value,
        }
        .into();
        Ok(signed_by_bob(&self.client, call, nonce)?.into())
    }
}

/// A transaction signed by the dev account Bob, mortal from the current best block.
fn signed_by_bob(
    client: &FullClient,
    call: runtime::RuntimeCall,
    nonce: u32,
) -> std::result::Result<runtime::UncheckedExtrinsic, &'static str> {
    let sender = Sr25519Keyring::Bob.pair();
    let genesis_hash = client
        .block_hash(0)
        .ok()
        .flatten()
        .ok_or("no genesis block")?;
    let info = client.chain_info();
    let period = runtime::configs::BlockHashCount::get()
        .checked_next_power_of_two()
        .map(|c| c / 2)
        .unwrap_or(2) as u64;
    let tx_ext: runtime::TxExtension = (
        frame_system::CheckNonZeroSender::new(),
        frame_system::CheckSpecVersion::new(),
        frame_system::CheckTxVersion::new(),
        frame_system::CheckGenesis::new(),
        frame_system::CheckEra::from(sp_runtime::generic::Era::mortal(
            period,
            info.best_number.saturated_into(),
        )),
        frame_system::CheckNonce::from(nonce),
        frame_system::CheckWeight::new(),
        pallet_transaction_payment::ChargeTransactionPayment::from(0),
        frame_metadata_hash_extension::CheckMetadataHash::new(false),
        frame_system::WeightReclaim::new(),
    );
    // The implicit data each extension adds to the signed payload, in extension order.
    let implicit = (
        (),
        runtime::VERSION.spec_version,
        runtime::VERSION.transaction_version,
        genesis_hash,
        info.best_hash,
        (),
        (),
        (),
        None,
        (),
    );
    let payload = runtime::SignedPayload::from_raw(call.clone(), tx_ext.clone(), implicit);
    let signature = payload.using_encoded(|bytes| sender.sign(bytes));
    Ok(runtime::UncheckedExtrinsic::new_signed(
        call,
        AccountId::from(sender.public()).into(),
        runtime::Signature::Sr25519(signature),
        tx_ext,
    ))
}

/// Inherent data for benchmark blocks: a zero timestamp.
pub fn inherent_benchmark_data() -> Result<InherentData> {
    let mut inherent_data = InherentData::new();
    let timestamp = sp_timestamp::InherentDataProvider::new(Duration::ZERO.into());
    futures::executor::block_on(timestamp.provide_inherent_data(&mut inherent_data))
        .map_err(|e| format!("creating inherent data: {e:?}"))?;
    Ok(inherent_data)
}
