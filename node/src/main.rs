//! `attribution-node`: the Attribution Chain validator node.

// sc-cli and sc-service fix the error types of every command and service builder (`sc_cli::Error`
// is 176 bytes); boxing them here would only add conversions at each call.
#![allow(clippy::result_large_err)]

mod availability;
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
