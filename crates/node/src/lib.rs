//! `tao-node` as a library: the chain (state at the head, on-disk store, mempool), the
//! JSON-RPC server, metrics, settings, and the BFT consensus application that drives
//! commonware's `simplex` engine. The `tao-node` binary assembles these; the deterministic
//! multi-validator tests drive [`consensus`] directly on a simulated network.
//!
//! Invariants:
//! * A block becomes the head only after it, its receipts and the state after it are
//!   durably stored in one transaction, so every block a node ever announced is there after
//!   `kill -9`, and the state read back at start is the head's (checked against its state
//!   root; `docs/storage.md`).
//! * Under BFT consensus only finalized blocks are committed; a validator votes for a
//!   proposal only after re-executing it on its parent's state and matching the state root
//!   and transactions root in its header.
//! * Nothing here iterates a `HashMap` where order could reach consensus.

pub mod chain;
pub mod consensus;
pub mod epochs;
pub mod explorer;
pub mod mempool;
pub mod metrics;
pub mod rpc;
pub mod settings;
pub mod snapshot;
pub mod sockets;
pub mod store;
pub mod views;

use anyhow::Result;
use tao_types::{GenesisBalance, GenesisConfig, GenesisGovernance, GenesisNeuron, GenesisSubnet};
use tao_wallet::Keypair;

/// The development chain's genesis: the well-known dev accounts, Alice as sudo, and one
/// subnet (netuid 1, tempo 10, owned by Alice) already emitting, with open weights.
pub fn dev_genesis() -> Result<GenesisConfig> {
    const TAO: u64 = 1_000_000_000;
    let names = ["Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie"];
    let accounts = names
        .iter()
        .map(|name| Ok(Keypair::from_uri(&format!("//{name}"))?.account()))
        .collect::<Result<Vec<_>>>()?;
    let alice = accounts[0];
    let alice_stash = Keypair::from_uri("//Alice//stash")?.account();
    Ok(GenesisConfig {
        chain_name: "tao-dev".into(),
        sudo: Some(alice),
        balances: accounts
            .iter()
            .map(|&account| GenesisBalance {
                account,
                rao: tao_primitives::Rao::new(1_000_000 * TAO),
            })
            .collect(),
        authorities: Vec::new(),
        subnets: vec![GenesisSubnet {
            owner_coldkey: alice,
            owner_hotkey: alice_stash,
            tempo: Some(10),
            start_emission: true,
            commit_reveal: Some(false),
            neurons: Vec::<GenesisNeuron>::new(),
            // A deep pool, so staking in the demo moves the price by percents, not multiples.
            pool_tao: Some(10_000 * TAO),
        }],
        network_min_lock: Some(100 * TAO),
        network_rate_limit: Some(1),
        subnet_limit: None,
        allow_loopback_axons: true,
        // Votes in minutes, not days: 100 blocks open, enacted 10 blocks after.
        validators: Vec::new(),
        consensus: None,
        governance: Some(GenesisGovernance {
            deposit: Some(10 * TAO),
            voting_period: Some(100),
            enactment_delay: Some(10),
            ..GenesisGovernance::default()
        }),
    })
}
