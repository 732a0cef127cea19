//! Runtime tests on the native build: genesis presets, the OPEN token, and signed transactions
//! through the full transaction-extension pipeline.

use crate::{
    configs::TreasuryAccount, genesis_config_presets as presets, Balance, Balances, BalancesCall,
    Executive, Header, Nonce, Runtime, RuntimeCall, RuntimeGenesisConfig, SignedPayload, System,
    TxExtension, UncheckedExtrinsic, EXISTENTIAL_DEPOSIT, OPEN,
};
use codec::Encode;
use frame_support::traits::{fungible::Inspect, Get};
use sp_keyring::Sr25519Keyring::{self, Alice, Bob, Charlie, Dave, Ferdie};
use sp_runtime::{
    generic::Era,
    traits::Header as _,
    transaction_validity::{InvalidTransaction, TransactionValidityError},
    BuildStorage,
};

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

fn externalities(preset: &str) -> sp_io::TestExternalities {
    let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).expect("serializable");
    merge(&mut config, presets::preset(preset).expect("known preset"));
    let config: RuntimeGenesisConfig =
        serde_json::from_value(config).expect("preset matches the config");
    let mut ext: sp_io::TestExternalities = config.build_storage().expect("genesis builds").into();
    ext.execute_with(|| {
        Executive::initialize_block(&Header::new(
            1,
            Default::default(),
            Default::default(),
            System::block_hash(0),
            Default::default(),
        ));
    });
    ext
}

fn transaction_extension(nonce: Nonce) -> TxExtension {
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

/// A transaction from `signer`, signed by `key` (the same keyring entry unless forging).
fn signed(call: RuntimeCall, signer: Sr25519Keyring, key: Sr25519Keyring) -> UncheckedExtrinsic {
    let nonce = System::account_nonce(signer.to_account_id());
    let extension = transaction_extension(nonce);
    let payload =
        SignedPayload::new(call.clone(), extension.clone()).expect("implicit data is available");
    let signature = payload.using_encoded(|bytes| key.sign(bytes));
    UncheckedExtrinsic::new_signed(
        call,
        signer.to_account_id().into(),
        signature.into(),
        extension,
    )
}

fn transfer(to: Sr25519Keyring, value: Balance) -> RuntimeCall {
    RuntimeCall::Balances(BalancesCall::transfer_keep_alive {
        dest: to.to_account_id().into(),
        value,
    })
}

fn free(who: Sr25519Keyring) -> Balance {
    Balances::balance(&who.to_account_id())
}

#[test]
fn development_preset_has_alice_as_sole_validator_and_funds_dev_accounts() {
    externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
        let aura = pallet_aura::Authorities::<Runtime>::get();
        assert_eq!(aura.into_inner(), vec![Alice.public().into()]);
        assert_eq!(
            pallet_grandpa::Pallet::<Runtime>::grandpa_authorities().len(),
            1
        );
        assert_eq!(
            pallet_sudo::Key::<Runtime>::get(),
            Some(Alice.to_account_id())
        );
        for who in [Alice, Bob, Charlie, Dave, Ferdie] {
            assert_eq!(free(who), presets::ENDOWMENT);
        }
    });
}

#[test]
fn local_testnet_preset_has_four_validators() {
    externalities(presets::LOCAL_TESTNET_PRESET).execute_with(|| {
        let aura = pallet_aura::Authorities::<Runtime>::get().into_inner();
        let expected: Vec<_> = [Alice, Bob, Charlie, Dave]
            .iter()
            .map(|k| k.public().into())
            .collect();
        assert_eq!(aura, expected);
        assert_eq!(
            pallet_grandpa::Pallet::<Runtime>::grandpa_authorities().len(),
            4
        );
    });
}

#[test]
fn unknown_preset_is_refused() {
    assert!(presets::preset("mainnet").is_none());
    assert_eq!(presets::preset_names().len(), 2);
}

#[test]
fn open_token_has_18_decimals_and_a_milli_open_existential_deposit() {
    assert_eq!(OPEN, 10u128.pow(18));
    assert_eq!(crate::TOKEN_DECIMALS, 18);
    assert_eq!(crate::TOKEN_SYMBOL, "OPEN");
    let existential_deposit: Balance =
        <Runtime as pallet_balances::Config>::ExistentialDeposit::get();
    assert_eq!(existential_deposit, EXISTENTIAL_DEPOSIT);
    assert_eq!(EXISTENTIAL_DEPOSIT, OPEN / 1000);
}

#[test]
fn blocks_are_two_seconds() {
    assert_eq!(crate::SLOT_DURATION, 2_000);
    assert_eq!(pallet_aura::Pallet::<Runtime>::slot_duration(), 2_000);
}

#[test]
fn signed_transfer_moves_balance_and_pays_its_fee_to_the_treasury() {
    externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
        let treasury_before = Balances::balance(&TreasuryAccount::get());
        let amount = 10 * OPEN;
        let xt = signed(transfer(Bob, amount), Alice, Alice);
        assert_eq!(Executive::apply_extrinsic(xt), Ok(Ok(())));

        assert_eq!(free(Bob), presets::ENDOWMENT + amount);
        let fee = presets::ENDOWMENT - amount - free(Alice);
        assert!(
            fee > 0 && fee < OPEN / 100,
            "a transfer costs a small fee, got {fee}"
        );
        assert_eq!(
            Balances::balance(&TreasuryAccount::get()),
            treasury_before + fee
        );
        assert_eq!(System::account_nonce(Alice.to_account_id()), 1);
    });
}

#[test]
fn forged_signature_is_rejected_and_nothing_moves() {
    externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
        let xt = signed(transfer(Bob, OPEN), Alice, Charlie);
        assert_eq!(
            Executive::apply_extrinsic(xt),
            Err(TransactionValidityError::Invalid(
                InvalidTransaction::BadProof
            ))
        );
        assert_eq!(free(Alice), presets::ENDOWMENT);
        assert_eq!(free(Bob), presets::ENDOWMENT);
    });
}

#[test]
fn replayed_transaction_is_rejected() {
    externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
        let xt = signed(transfer(Bob, OPEN), Alice, Alice);
        assert_eq!(Executive::apply_extrinsic(xt.clone()), Ok(Ok(())));
        assert_eq!(
            Executive::apply_extrinsic(xt),
            Err(TransactionValidityError::Invalid(InvalidTransaction::Stale))
        );
        assert_eq!(free(Bob), presets::ENDOWMENT + OPEN);
    });
}

#[test]
fn transfer_that_would_kill_the_sender_fails_without_moving_funds() {
    externalities(presets::DEVELOPMENT_PRESET).execute_with(|| {
        let xt = signed(transfer(Bob, presets::ENDOWMENT), Alice, Alice);
        let outcome = Executive::apply_extrinsic(xt).expect("valid transaction");
        assert!(
            outcome.is_err(),
            "keep-alive transfer of everything must fail"
        );
        assert_eq!(free(Bob), presets::ENDOWMENT);
    });
}
