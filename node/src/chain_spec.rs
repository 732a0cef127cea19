//! Chain specifications built from the runtime's genesis presets.

use attribution_runtime::{
    genesis_config_presets as presets, TOKEN_DECIMALS, TOKEN_SYMBOL, WASM_BINARY,
};
use sc_service::ChainType;

/// A chain specification of this runtime.
pub type ChainSpec = sc_service::GenericChainSpec;

/// Token properties wallets read from the chain spec.
fn properties() -> sc_chain_spec::Properties {
    let mut properties = sc_chain_spec::Properties::new();
    properties.insert("tokenSymbol".into(), TOKEN_SYMBOL.into());
    properties.insert("tokenDecimals".into(), TOKEN_DECIMALS.into());
    properties.insert("ss58Format".into(), 42.into());
    properties
}

fn from_preset(
    name: &str,
    id: &str,
    chain_type: ChainType,
    preset: &str,
) -> Result<ChainSpec, String> {
    let wasm = WASM_BINARY.ok_or("the runtime wasm was not built (SKIP_WASM_BUILD set?)")?;
    Ok(ChainSpec::builder(wasm, None)
        .with_name(name)
        .with_id(id)
        .with_chain_type(chain_type)
        .with_genesis_config_preset_name(preset)
        .with_properties(properties())
        .build())
}

/// `--dev`: Alice alone authors and finalizes.
pub fn development() -> Result<ChainSpec, String> {
    from_preset(
        "Attribution Development",
        "attribution_dev",
        ChainType::Development,
        presets::DEVELOPMENT_PRESET,
    )
}

/// `--chain local`: Alice, Bob, Charlie and Dave validate.
pub fn local_testnet() -> Result<ChainSpec, String> {
    from_preset(
        "Attribution Local Testnet",
        "attribution_local",
        ChainType::Local,
        presets::LOCAL_TESTNET_PRESET,
    )
}
