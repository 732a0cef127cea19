//! `attribution-node`: the Attribution Chain validator node.

mod benchmarking;
mod chain_spec;
mod cli;
mod command;
mod content;
mod payouts;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
    command::run()
}
