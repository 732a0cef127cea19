//! Command-line interface: `attribution-node [subcommand] [flags]`.

use sc_cli::RunCmd;

#[derive(Debug, clap::Parser)]
#[command(
    about = "Attribution Chain node: authors (Aura) and finalizes (GRANDPA) blocks, stores datanet blobs, serves RPC",
    long_about = "Run without a subcommand to start a node. `--dev --tmp` starts a throw-away \
                  one-validator chain; `--chain local --alice` (or --bob, --charlie, --dave) joins the \
                  four-validator local network."
)]
pub struct Cli {
    #[command(subcommand)]
    pub subcommand: Option<Subcommand>,

    #[clap(flatten)]
    pub run: RunCmd,
}

#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
    /// Key management (generate, inspect, insert keys into the keystore).
    #[command(subcommand)]
    Key(sc_cli::KeySubcommand),

    /// Write a chain specification (`dev`, `local` or a JSON file) to stdout or a file.
    ExportChainSpec(sc_cli::ExportChainSpecCmd),

    /// Build a chain specification (deprecated alias of export-chain-spec, kept for tooling).
    BuildSpec(sc_cli::BuildSpecCmd),

    /// Validate blocks.
    CheckBlock(sc_cli::CheckBlockCmd),

    /// Export blocks.
    ExportBlocks(sc_cli::ExportBlocksCmd),

    /// Export the state of a given block into a chain spec.
    ExportState(sc_cli::ExportStateCmd),

    /// Import blocks.
    ImportBlocks(sc_cli::ImportBlocksCmd),

    /// Remove the whole chain database.
    PurgeChain(sc_cli::PurgeChainCmd),

    /// Revert the chain to a previous state.
    Revert(sc_cli::RevertCmd),

    /// Benchmark pallets (needs `--features runtime-benchmarks`), blocks, storage, the machine.
    #[command(subcommand)]
    Benchmark(frame_benchmarking_cli::BenchmarkCmd),

    /// Database metadata.
    ChainInfo(sc_cli::ChainInfoCmd),
}
