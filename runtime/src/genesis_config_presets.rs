//! Genesis presets: `development` (one validator, Alice) and `local_testnet` (four validators,
//! Alice, Bob, Charlie and Dave). Both fund the well-known dev accounts and make Alice sudo.

use crate::{
    configs::TreasuryAccount, AccountId, AttributionConfig, BalancesConfig, ComputeConfig,
    RuntimeGenesisConfig, SudoConfig, EXISTENTIAL_DEPOSIT, MINUTES, OPEN,
};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// What each dev account starts with.
pub const ENDOWMENT: crate::Balance = 1_000_000 * OPEN;

/// The name of the four-validator local network preset (`--chain local`).
pub const LOCAL_TESTNET_PRESET: &str = sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET;
/// The name of the single-validator development preset (`--dev`).
pub const DEVELOPMENT_PRESET: &str = sp_genesis_builder::DEV_RUNTIME_PRESET;

/// A validator named by the dev keyring: its Aura key is the sr25519 key and its GRANDPA key the
/// ed25519 key of the same name (`--alice` puts both in the node's keystore).
type Validator = (Sr25519Keyring, Ed25519Keyring);

const ALICE: Validator = (Sr25519Keyring::Alice, Ed25519Keyring::Alice);
const BOB: Validator = (Sr25519Keyring::Bob, Ed25519Keyring::Bob);
const CHARLIE: Validator = (Sr25519Keyring::Charlie, Ed25519Keyring::Charlie);
const DAVE: Validator = (Sr25519Keyring::Dave, Ed25519Keyring::Dave);

fn genesis(validators: &[Validator], root: AccountId) -> Value {
    let mut endowed = Sr25519Keyring::iter()
        .filter(|k| !matches!(k, Sr25519Keyring::One | Sr25519Keyring::Two))
        .map(|k| (k.to_account_id(), ENDOWMENT))
        .collect::<Vec<_>>();
    // The treasury exists from genesis, so fees and slashes below the existential deposit
    // are kept rather than burned.
    endowed.push((TreasuryAccount::get(), EXISTENTIAL_DEPOSIT));
    build_struct_json_patch!(RuntimeGenesisConfig {
        balances: BalancesConfig { balances: endowed },
        aura: pallet_aura::GenesisConfig {
            authorities: validators
                .iter()
                .map(|(aura, _)| AuraId::from(aura.public()))
                .collect::<Vec<_>>(),
        },
        grandpa: pallet_grandpa::GenesisConfig {
            authorities: validators
                .iter()
                .map(|(_, grandpa)| (GrandpaId::from(grandpa.public()), 1))
                .collect::<Vec<_>>(),
        },
        sudo: SudoConfig { key: Some(root) },
        // Development chains challenge and vote within a minute each (production defaults: six
        // hours and two), so the end-to-end tests run in CI's budget.
        compute: ComputeConfig {
            challenge_period: Some(MINUTES),
            vote_period: Some(MINUTES),
        },
        // Records may be challenged for five minutes (production default: six hours), and
        // credit is withdrawn a minute after asking (production default: ten minutes).
        attribution: AttributionConfig {
            challenge_window: Some(5 * MINUTES),
            withdrawal_delay: Some(MINUTES),
        },
    })
}

/// The genesis patch of a preset, `None` for an unknown name.
pub fn preset(id: &str) -> Option<Value> {
    let root = Sr25519Keyring::Alice.to_account_id();
    Some(match id {
        DEVELOPMENT_PRESET => genesis(&[ALICE], root),
        LOCAL_TESTNET_PRESET => genesis(&[ALICE, BOB, CHARLIE, DAVE], root),
        _ => return None,
    })
}

/// The serialized preset for [`sp_genesis_builder::GenesisBuilder::get_preset`].
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
    preset(id).and_then(|patch| serde_json::to_vec(&patch).ok())
}

/// The preset names this runtime knows.
pub fn preset_names() -> Vec<PresetId> {
    vec![
        PresetId::from(DEVELOPMENT_PRESET),
        PresetId::from(LOCAL_TESTNET_PRESET),
    ]
}
