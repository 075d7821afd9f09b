//! `tao`: the command line of the tao network.
//!
//! Wallets (`tao wallet`), the chain (`tao subnets`, `tao stake`, `tao weights`, `tao axon`,
//! `tao chain`), payments (`tao pay`, `tao query`), a local network with a subnet at work (`tao localnet up|down|status`) and
//! the Yuma Consensus simulator (`tao yuma simulate`). Every command prints
//! a readable table by default and a stable JSON document with `--json`, and never waits for
//! input when stdin is not a terminal.
//!
//! Exit codes: 0 success, 1 internal error, 2 a problem with what the user gave (arguments,
//! files, keys), 3 the node cannot be reached or answered an error, 4 the chain refused or
//! failed the transaction.

mod chain;
mod exit;
mod localnet;
mod wallet;
mod yuma;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The tao network command line.
#[derive(Debug, Parser)]
#[command(name = "tao", version, about, propagate_version = true)]
struct Cli {
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,

    #[command(flatten)]
    wallet: wallet::WalletArgs,

    #[command(flatten)]
    endpoint: chain::client::EndpointArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Wallets: create, regenerate and list keys (Bittensor-compatible files).
    #[command(subcommand)]
    Wallet(wallet::WalletCommand),
    /// Subnets: list, show the metagraph, create, register, hyperparameters.
    #[command(subcommand)]
    Subnets(chain::SubnetsCommand),
    /// Staking: add, remove, list.
    #[command(subcommand)]
    Stake(chain::StakeCommand),
    /// Validators' weights.
    #[command(subcommand)]
    Weights(chain::WeightsCommand),
    /// Delegates: the list, and a hotkey's take.
    #[command(subcommand)]
    Delegate(chain::DelegateCommand),
    /// The root network: TAO staked 1:1.
    #[command(subcommand)]
    Root(chain::RootCommand),
    /// Publishing a miner's address.
    #[command(subcommand)]
    Axon(chain::AxonCommand),
    /// Governance: propose privileged changes and vote on them with stake.
    #[command(subcommand)]
    Gov(chain::GovCommand),
    /// Chain validators (proof of stake): register a consensus key, bond, nominate, unbond,
    /// unjail, and the sets and candidates.
    #[command(subcommand)]
    Validator(chain::ValidatorCommand),
    /// Blocks and transactions.
    #[command(subcommand)]
    Chain(chain::ChainCommand),
    /// A whole network on this machine: chain, subnet, miners and validators.
    #[command(subcommand)]
    Localnet(localnet::LocalnetCommand),
    /// Yuma Consensus: simulate what validators and miners would earn.
    #[command(subcommand)]
    Yuma(yuma::YumaCommand),
    /// Payment channels: list, open, top up, close.
    #[command(subcommand)]
    Pay(chain::PayCommand),
    /// Ask a subnet's best miners, paying each per request (text prediction).
    Query(chain::QueryArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let wallet = cli.wallet.wallet();
    let json = cli.json;
    let ctx = chain::Context { wallet: &wallet, endpoint: &cli.endpoint, json };
    let result = match cli.command {
        Command::Wallet(wallet::WalletCommand::Balance(args)) => chain::balance(&ctx, &args),
        Command::Wallet(wallet::WalletCommand::Transfer(args)) => chain::transfer(&ctx, &args),
        Command::Wallet(wallet::WalletCommand::Overview) => chain::overview(&ctx),
        Command::Wallet(command) => wallet::run(command, &wallet, cli.json),
        Command::Subnets(command) => chain::subnets(&ctx, command),
        Command::Stake(command) => chain::stake(&ctx, command),
        Command::Weights(command) => chain::weights(&ctx, command),
        Command::Axon(command) => chain::axon(&ctx, command),
        Command::Delegate(command) => chain::delegate(&ctx, command),
        Command::Root(command) => chain::root(&ctx, command),
        Command::Gov(command) => chain::gov(&ctx, command),
        Command::Validator(command) => chain::validator(&ctx, command),
        Command::Chain(command) => chain::chain(&ctx, command),
        Command::Yuma(command) => yuma::run(command, cli.json),
        Command::Localnet(command) => localnet::run(command, cli.json),
        Command::Pay(command) => chain::pay(&ctx, command),
        Command::Query(args) => chain::query(&ctx, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => error.report(json),
    }
}
