//! `tao`: the command line of the tao network.
//!
//! Today it carries the Yuma Consensus simulator (`tao yuma simulate`); the wallet, chain
//! and local-network commands join it as the node lands. Every command prints a readable
//! table by default and a stable JSON document with `--json`, and never waits for input when
//! stdin is not a terminal.
//!
//! Exit codes: 0 success, 1 internal error, 2 a problem with what the user gave (arguments,
//! files), 3 a network or node error.

mod exit;
mod wallet;
mod yuma;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The tao network command line.
#[derive(Debug, Parser)]
#[command(name = "tao", version, about, propagate_version = true)]
struct Cli {
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,

    #[command(flatten)]
    wallet: wallet::WalletArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Wallets: create, regenerate and list keys (Bittensor-compatible files).
    #[command(subcommand)]
    Wallet(wallet::WalletCommand),
    /// Yuma Consensus: simulate what validators and miners would earn.
    #[command(subcommand)]
    Yuma(yuma::YumaCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Wallet(command) => wallet::run(command, &cli.wallet.wallet(), cli.json),
        Command::Yuma(command) => yuma::run(command, cli.json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => error.report(),
    }
}
