//! The genesis config: the first state of a chain, as JSON.
//!
//! ```json
//! {"chain_name": "tao-local",
//!  "sudo": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
//!  "balances": [{"account": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "rao": 1000000000000}],
//!  "authorities": ["<hex ed25519 node key>"],
//!  "subnets": [{"owner_coldkey": "5…", "owner_hotkey": "5…", "tempo": 10, "start_emission": true,
//!               "neurons": [{"hotkey": "5…", "coldkey": "5…", "stake": 1000000000}]}]}
//! ```
//! Accounts are SS58 (prefix 42); amounts are integers in RAO (10^-9 TAO).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tao_primitives::{AccountId, AlphaRao, Rao};

fn account_ser<S: Serializer>(id: &AccountId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.to_ss58())
}

fn account_de<'de, D: Deserializer<'de>>(d: D) -> Result<AccountId, D::Error> {
    let text = String::deserialize(d)?;
    AccountId::from_ss58(&text).map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
}

fn option_account_ser<S: Serializer>(id: &Option<AccountId>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.serialize_some(&id.to_ss58()),
        None => s.serialize_none(),
    }
}

fn option_account_de<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AccountId>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) => AccountId::from_ss58(&text)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}"))),
    }
}

fn rao_ser<S: Serializer>(amount: &Rao, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(amount.get())
}

fn rao_de<'de, D: Deserializer<'de>>(d: D) -> Result<Rao, D::Error> {
    u64::deserialize(d).map(Rao::new)
}

fn alpha_ser<S: Serializer>(amount: &AlphaRao, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(amount.get())
}

fn alpha_de<'de, D: Deserializer<'de>>(d: D) -> Result<AlphaRao, D::Error> {
    u64::deserialize(d).map(AlphaRao::new)
}

/// A prefunded account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisBalance {
    /// The account (SS58).
    #[serde(serialize_with = "account_ser", deserialize_with = "account_de")]
    pub account: AccountId,
    /// Its free balance in RAO.
    #[serde(serialize_with = "rao_ser", deserialize_with = "rao_de")]
    pub rao: Rao,
}

/// A neuron registered at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisNeuron {
    /// Its hotkey.
    #[serde(serialize_with = "account_ser", deserialize_with = "account_de")]
    pub hotkey: AccountId,
    /// The coldkey owning the hotkey.
    #[serde(serialize_with = "account_ser", deserialize_with = "account_de")]
    pub coldkey: AccountId,
    /// Alpha staked to it, in the smallest unit.
    #[serde(default, serialize_with = "alpha_ser", deserialize_with = "alpha_de")]
    pub stake: AlphaRao,
}

/// A subnet that exists at genesis (no lock).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisSubnet {
    /// Owner coldkey.
    #[serde(serialize_with = "account_ser", deserialize_with = "account_de")]
    pub owner_coldkey: AccountId,
    /// Owner hotkey (UID 0).
    #[serde(serialize_with = "account_ser", deserialize_with = "account_de")]
    pub owner_hotkey: AccountId,
    /// Tempo (default 360).
    #[serde(default)]
    pub tempo: Option<u16>,
    /// Whether emission has started (as if `start_call` ran at genesis).
    #[serde(default)]
    pub start_emission: bool,
    /// Whether weights go through commit-reveal (default on).
    #[serde(default)]
    pub commit_reveal: Option<bool>,
    /// Further neurons, UIDs 1, 2, … in order.
    #[serde(default)]
    pub neurons: Vec<GenesisNeuron>,
    /// TAO in the subnet's pool, RAO (default: the minimum lock, as a registered subnet).
    #[serde(default)]
    pub pool_tao: Option<u64>,
}

/// The genesis config of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisConfig {
    /// A name that makes the genesis hash unique to this chain.
    pub chain_name: String,
    /// The root key, allowed to set any parameter (none: no root).
    #[serde(
        default,
        serialize_with = "option_account_ser",
        deserialize_with = "option_account_de"
    )]
    pub sudo: Option<AccountId>,
    /// Prefunded accounts.
    #[serde(default)]
    pub balances: Vec<GenesisBalance>,
    /// Consensus authorities' node keys (hex ed25519), used by the node, not the runtime.
    #[serde(default)]
    pub authorities: Vec<String>,
    /// Subnets that exist from the start.
    #[serde(default)]
    pub subnets: Vec<GenesisSubnet>,
    /// Minimum subnet lock in RAO (default 1000 TAO).
    #[serde(default)]
    pub network_min_lock: Option<u64>,
    /// Blocks between subnet registrations (default 7200).
    #[serde(default)]
    pub network_rate_limit: Option<u64>,
    /// Most subnets at once (default 128).
    #[serde(default)]
    pub subnet_limit: Option<u16>,
    /// Accept axons on loopback addresses (local and development chains only).
    #[serde(default)]
    pub allow_loopback_axons: bool,
    /// Governance parameters other than the defaults (a local chain votes in minutes).
    #[serde(default)]
    pub governance: Option<GenesisGovernance>,
}

/// Governance parameters at genesis; each absent one takes the runtime's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisGovernance {
    /// Deposit of a proposal, RAO.
    #[serde(default)]
    pub deposit: Option<u64>,
    /// Blocks a proposal is open for votes.
    #[serde(default)]
    pub voting_period: Option<u64>,
    /// Blocks from passing to enactment.
    #[serde(default)]
    pub enactment_delay: Option<u64>,
    /// Quorum, a u16 proportion of all stake.
    #[serde(default)]
    pub quorum: Option<u16>,
    /// Threshold, a u16 proportion of yes among yes, no and veto.
    #[serde(default)]
    pub threshold: Option<u16>,
    /// Veto threshold, a u16 proportion of all votes.
    #[serde(default)]
    pub veto_threshold: Option<u16>,
}

impl GenesisConfig {
    /// A chain named `chain_name` with nothing in it: no root, balances, authorities or
    /// subnets, default limits. Fill what a test or tool needs with struct-update syntax.
    pub fn empty(chain_name: &str) -> Self {
        Self {
            chain_name: chain_name.to_owned(),
            sudo: None,
            balances: Vec::new(),
            authorities: Vec::new(),
            subnets: Vec::new(),
            network_min_lock: None,
            network_rate_limit: None,
            subnet_limit: None,
            allow_loopback_axons: false,
            governance: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

    #[test]
    fn parses_and_round_trips() {
        let text = format!(
            r#"{{"chain_name": "t", "sudo": "{ALICE}", "balances": [{{"account": "{ALICE}", "rao": 5}}],
                "subnets": [{{"owner_coldkey": "{ALICE}", "owner_hotkey": "{ALICE}", "tempo": 10,
                              "neurons": [{{"hotkey": "{ALICE}", "coldkey": "{ALICE}", "stake": 7}}]}}]}}"#
        );
        let config: GenesisConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(config.balances[0].rao, Rao::new(5));
        assert_eq!(config.subnets[0].neurons[0].stake, AlphaRao::new(7));
        assert_eq!(config.sudo.unwrap().to_ss58(), ALICE);
        let again: GenesisConfig =
            serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn bad_addresses_and_unknown_fields_are_named() {
        let err = serde_json::from_str::<GenesisConfig>(r#"{"chain_name": "t", "sudo": "5Grw"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("\"5Grw\""), "{err}");
        let err = serde_json::from_str::<GenesisConfig>(r#"{"chain_name": "t", "balance": []}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `balance`"), "{err}");
    }
}
