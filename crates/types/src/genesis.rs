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
//! Accounts are SS58 (prefix 42); amounts are integers in RAO (10^-9 TAO), but for a
//! validator's `bond`, which is TAO (`"1000"`, `"0.5"` or an integer of TAO).
//!
//! A proof-of-stake chain names its first validators instead of `authorities`:
//! ```json
//! {"validators": [{"controller": "5…", "consensus_key": "0x<ed25519 public key>",
//!                  "p2p_address": "10.0.0.1:30333", "bond": "1000", "commission": 500}],
//!  "consensus": {"epoch_length": 360, "max_validators": 32}}
//! ```

use crate::ConsensusKey;
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

fn tao_ser<S: Serializer>(amount: &Rao, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&amount.to_string())
}

fn tao_de<'de, D: Deserializer<'de>>(d: D) -> Result<Rao, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Amount {
        Whole(u64),
        Text(String),
    }
    match Amount::deserialize(d)? {
        Amount::Whole(tao) => tao
            .checked_mul(1_000_000_000)
            .map(Rao::new)
            .ok_or_else(|| serde::de::Error::custom(format!("{tao} TAO is too large"))),
        Amount::Text(text) => {
            text.parse().map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
        }
    }
}

/// A chain validator of the first epoch: a candidate with its self-bond.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// Its controller coldkey (SS58).
    #[serde(serialize_with = "account_ser", deserialize_with = "account_de")]
    pub controller: AccountId,
    /// Its ed25519 consensus key (hex).
    pub consensus_key: ConsensusKey,
    /// Where its node listens for consensus peers, `IP:PORT`.
    pub p2p_address: String,
    /// Its self-bond, in TAO (minted bonded at genesis, counted in the issuance).
    #[serde(serialize_with = "tao_ser", deserialize_with = "tao_de")]
    pub bond: Rao,
    /// Its commission, parts per 10,000.
    #[serde(default)]
    pub commission: u16,
}

/// Proof-of-stake parameters at genesis; each absent one takes the runtime's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisConsensus {
    /// Blocks per consensus epoch.
    #[serde(default)]
    pub epoch_length: Option<u64>,
    /// Most validators per epoch.
    #[serde(default)]
    pub max_validators: Option<u16>,
    /// Least total bond to be elected, RAO.
    #[serde(default)]
    pub min_validator_bond: Option<u64>,
    /// Least TAO one bond may add, RAO.
    #[serde(default)]
    pub min_nomination: Option<u64>,
    /// Blocks before unbonded TAO is free.
    #[serde(default)]
    pub unbonding_period: Option<u64>,
    /// Share slashed for equivocation, parts per million.
    #[serde(default)]
    pub slash_fraction: Option<u32>,
    /// Blocks a slashed validator stays jailed.
    #[serde(default)]
    pub jail_period: Option<u64>,
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
    /// Consensus authorities' node keys (hex ed25519), used by the node, not the runtime: a
    /// fixed set with no elections. Exclusive with `validators`.
    #[serde(default)]
    pub authorities: Vec<String>,
    /// Proof of stake: the first epoch's validators with their bonds (elections every
    /// epoch from then on). Exclusive with `authorities`.
    #[serde(default)]
    pub validators: Vec<GenesisValidator>,
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
    /// Proof-of-stake parameters other than the defaults.
    #[serde(default)]
    pub consensus: Option<GenesisConsensus>,
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
            validators: Vec::new(),
            subnets: Vec::new(),
            network_min_lock: None,
            network_rate_limit: None,
            subnet_limit: None,
            allow_loopback_axons: false,
            governance: None,
            consensus: None,
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
    fn validators_parse_with_tao_bonds_and_round_trip() {
        let key = "0x".to_owned() + &"ab".repeat(32);
        let text = format!(
            r#"{{"chain_name": "t", "validators": [
                  {{"controller": "{ALICE}", "consensus_key": "{key}", "p2p_address": "10.0.0.1:3000", "bond": "1000.5", "commission": 500}},
                  {{"controller": "{ALICE}", "consensus_key": "{key}", "p2p_address": "10.0.0.1:3000", "bond": 7}}],
                "consensus": {{"epoch_length": 20, "max_validators": 4}}}}"#
        );
        let config: GenesisConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(config.validators[0].bond, Rao::new(1_000_500_000_000));
        assert_eq!(config.validators[1].bond, Rao::new(7_000_000_000));
        assert_eq!(config.validators[1].commission, 0);
        assert_eq!(config.validators[0].consensus_key, ConsensusKey([0xab; 32]));
        assert_eq!(config.consensus.as_ref().unwrap().epoch_length, Some(20));
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
