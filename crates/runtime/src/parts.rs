//! The state as separately stored parts: the same parts the state root hashes (each a
//! [`Cached`] value with its digest), so a store writes only the parts whose digest changed
//! since it last wrote, and a state read back is checked against the state root.
//!
//! A part's key is a few bytes ([`StatePart::to_bytes`]); its value is the SCALE encoding of
//! the part (the bytes its digest is the BLAKE2b-256 of).

use crate::{
    cached::Cached, channels::ChannelStore, state::Subnet, validators::ValidatorStore, State,
    StatePart,
};
use codec::{Decode, DecodeAll, Encode};
use std::collections::BTreeMap;
use tao_primitives::NetUid;

/// Buckets of every bucketed map (account, owner and channel maps).
const BUCKETS: usize = 256;

impl StatePart {
    /// The key's bytes (at most 4).
    pub fn to_bytes(self) -> Vec<u8> {
        let subnet = |netuid: NetUid, which: u8| {
            let [a, b] = netuid.get().to_be_bytes();
            vec![0x10, a, b, which]
        };
        match self {
            Self::Chain => vec![0x00],
            Self::Accounts(b) => vec![0x01, b],
            Self::HotkeyOwners(b) => vec![0x02, b],
            Self::RootStakes => vec![0x03],
            Self::Delegates => vec![0x04],
            Self::Governance => vec![0x05],
            Self::ChannelMeta => vec![0x06],
            Self::ChannelsById(b) => vec![0x07, b],
            Self::ChannelsPerPayer(b) => vec![0x08, b],
            Self::Consensus => vec![0x09],
            Self::ValidatorSets => vec![0x0c],
            Self::Candidates(b) => vec![0x0a, b],
            Self::Unbonding(b) => vec![0x0b, b],
            Self::SubnetInfo(n) => subnet(n, 0),
            Self::SubnetNeurons(n) => subnet(n, 1),
            Self::SubnetStakes(n) => subnet(n, 2),
        }
    }

    /// The key of `bytes`, if they are one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(match *bytes {
            [0x00] => Self::Chain,
            [0x01, b] => Self::Accounts(b),
            [0x02, b] => Self::HotkeyOwners(b),
            [0x03] => Self::RootStakes,
            [0x04] => Self::Delegates,
            [0x05] => Self::Governance,
            [0x06] => Self::ChannelMeta,
            [0x07, b] => Self::ChannelsById(b),
            [0x08, b] => Self::ChannelsPerPayer(b),
            [0x09] => Self::Consensus,
            [0x0c] => Self::ValidatorSets,
            [0x0a, b] => Self::Candidates(b),
            [0x0b, b] => Self::Unbonding(b),
            [0x10, a, b, which] => {
                let netuid = NetUid::new(u16::from_be_bytes([a, b]));
                match which {
                    0 => Self::SubnetInfo(netuid),
                    1 => Self::SubnetNeurons(netuid),
                    2 => Self::SubnetStakes(netuid),
                    _ => return None,
                }
            }
            _ => return None,
        })
    }
}

/// Why stored parts do not make a state.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PartsError {
    /// A key that names no part.
    #[error("a stored state part has an unknown key {0:02x?}")]
    UnknownKey(Vec<u8>),
    /// A part's bytes do not decode (wholly) as the part.
    #[error("stored state part {key:?} does not decode: {why}")]
    Corrupt {
        /// The part.
        key: StatePart,
        /// The decoder's complaint.
        why: String,
    },
    /// A part the state cannot be without.
    #[error("stored state part {0:?} is missing")]
    Missing(StatePart),
}

fn index(b: u8) -> usize {
    usize::from(b)
}

/// Fills bucket `b` of `slots` (there are [`BUCKETS`] of them, one per byte value).
fn put<T>(slots: &mut [Option<T>], b: u8, value: T) {
    if let Some(slot) = slots.get_mut(index(b)) {
        *slot = Some(value);
    }
}

fn buckets() -> impl Iterator<Item = u8> {
    0..=u8::MAX
}

fn decode<T: Decode>(key: StatePart, bytes: &[u8]) -> Result<T, PartsError> {
    T::decode_all(&mut &bytes[..]).map_err(|e| PartsError::Corrupt { key, why: e.to_string() })
}

/// A subnet's three parts as they are read back.
#[derive(Default)]
struct SubnetParts {
    info: Option<Vec<u8>>,
    neurons: Option<Vec<u8>>,
    stakes: Option<Vec<u8>>,
}

impl State {
    /// A part's SCALE encoding (`None` if the state has no such part: a subnet it lacks).
    pub fn encode_part(&self, key: StatePart) -> Option<Vec<u8>> {
        let subnet = |n: NetUid| self.subnets.get(&n);
        Some(match key {
            StatePart::Chain => self.chain.get().encode(),
            StatePart::Accounts(b) => self.accounts.get(index(b))?.get().encode(),
            StatePart::HotkeyOwners(b) => self.hotkey_owners.get(index(b))?.get().encode(),
            StatePart::RootStakes => self.root_stakes.get().encode(),
            StatePart::Delegates => self.delegates.get().encode(),
            StatePart::Governance => self.governance.get().encode(),
            StatePart::ChannelMeta => self.channels.meta.get().encode(),
            StatePart::ChannelsById(b) => self.channels.by_id.get(index(b))?.get().encode(),
            StatePart::ChannelsPerPayer(b) => self.channels.per_payer.get(index(b))?.get().encode(),
            StatePart::Consensus => self.validators.meta.get().encode(),
            StatePart::ValidatorSets => self.validators.sets.get().encode(),
            StatePart::Candidates(b) => self.validators.candidates.get(index(b))?.get().encode(),
            StatePart::Unbonding(b) => self.validators.unbonding.get(index(b))?.get().encode(),
            StatePart::SubnetInfo(n) => subnet(n)?.info.get().encode(),
            StatePart::SubnetNeurons(n) => subnet(n)?.neurons.get().encode(),
            StatePart::SubnetStakes(n) => subnet(n)?.stakes.get().encode(),
        })
    }

    /// The state made of stored parts (`(key bytes, value bytes)`): every fixed part must be
    /// there exactly as [`State::encode_part`] wrote it, and each subnet with all three of
    /// its parts. The caller checks the result's [`State::state_root`] against the header it
    /// belongs to.
    pub fn from_parts(
        parts: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>,
    ) -> Result<State, PartsError> {
        let mut chain = None;
        let mut accounts: Vec<Option<Cached<_>>> = vec![None; BUCKETS];
        let mut owners: Vec<Option<Cached<_>>> = vec![None; BUCKETS];
        let mut by_id: Vec<Option<Cached<_>>> = vec![None; BUCKETS];
        let mut per_payer: Vec<Option<Cached<_>>> = vec![None; BUCKETS];
        let mut candidates: Vec<Option<Cached<_>>> = vec![None; BUCKETS];
        let mut unbonding: Vec<Option<Cached<_>>> = vec![None; BUCKETS];
        let (mut root_stakes, mut delegates, mut governance, mut channel_meta) =
            (None, None, None, None);
        let (mut consensus, mut validator_sets) = (None, None);
        let mut subnets: BTreeMap<NetUid, SubnetParts> = BTreeMap::new();
        for (key_bytes, value) in parts {
            let key = StatePart::from_bytes(&key_bytes).ok_or(PartsError::UnknownKey(key_bytes))?;
            let bytes = value.as_slice();
            match key {
                StatePart::Chain => chain = Some(Cached::new(decode(key, bytes)?)),
                StatePart::Accounts(b) => put(&mut accounts, b, Cached::new(decode(key, bytes)?)),
                StatePart::HotkeyOwners(b) => put(&mut owners, b, Cached::new(decode(key, bytes)?)),
                StatePart::RootStakes => root_stakes = Some(Cached::new(decode(key, bytes)?)),
                StatePart::Delegates => delegates = Some(Cached::new(decode(key, bytes)?)),
                StatePart::Governance => governance = Some(Cached::new(decode(key, bytes)?)),
                StatePart::ChannelMeta => channel_meta = Some(Cached::new(decode(key, bytes)?)),
                StatePart::ChannelsById(b) => put(&mut by_id, b, Cached::new(decode(key, bytes)?)),
                StatePart::ChannelsPerPayer(b) => {
                    put(&mut per_payer, b, Cached::new(decode(key, bytes)?));
                }
                StatePart::Consensus => consensus = Some(Cached::new(decode(key, bytes)?)),
                StatePart::ValidatorSets => {
                    validator_sets = Some(Cached::new(decode(key, bytes)?));
                }
                StatePart::Candidates(b) => {
                    put(&mut candidates, b, Cached::new(decode(key, bytes)?))
                }
                StatePart::Unbonding(b) => put(&mut unbonding, b, Cached::new(decode(key, bytes)?)),
                StatePart::SubnetInfo(n) => subnets.entry(n).or_default().info = Some(value),
                StatePart::SubnetNeurons(n) => subnets.entry(n).or_default().neurons = Some(value),
                StatePart::SubnetStakes(n) => subnets.entry(n).or_default().stakes = Some(value),
            }
        }
        fn all<T>(
            buckets: Vec<Option<T>>,
            key: impl Fn(u8) -> StatePart,
        ) -> Result<Vec<T>, PartsError> {
            self::buckets()
                .zip(buckets)
                .map(|(b, part)| part.ok_or(PartsError::Missing(key(b))))
                .collect()
        }
        let mut subnet_map = BTreeMap::new();
        for (netuid, parts) in subnets {
            let info_key = StatePart::SubnetInfo(netuid);
            let neurons_key = StatePart::SubnetNeurons(netuid);
            let stakes_key = StatePart::SubnetStakes(netuid);
            let info = parts.info.ok_or(PartsError::Missing(info_key))?;
            let neurons = parts.neurons.ok_or(PartsError::Missing(neurons_key))?;
            let stakes = parts.stakes.ok_or(PartsError::Missing(stakes_key))?;
            subnet_map.insert(
                netuid,
                Subnet {
                    info: Cached::new(decode(info_key, &info)?),
                    neurons: Cached::new(decode(neurons_key, &neurons)?),
                    stakes: Cached::new(decode(stakes_key, &stakes)?),
                },
            );
        }
        Ok(State {
            chain: chain.ok_or(PartsError::Missing(StatePart::Chain))?,
            accounts: all(accounts, StatePart::Accounts)?,
            hotkey_owners: all(owners, StatePart::HotkeyOwners)?,
            subnets: subnet_map,
            root_stakes: root_stakes.ok_or(PartsError::Missing(StatePart::RootStakes))?,
            delegates: delegates.ok_or(PartsError::Missing(StatePart::Delegates))?,
            governance: governance.ok_or(PartsError::Missing(StatePart::Governance))?,
            channels: ChannelStore {
                meta: channel_meta.ok_or(PartsError::Missing(StatePart::ChannelMeta))?,
                by_id: all(by_id, StatePart::ChannelsById)?,
                per_payer: all(per_payer, StatePart::ChannelsPerPayer)?,
            },
            validators: ValidatorStore {
                meta: consensus.ok_or(PartsError::Missing(StatePart::Consensus))?,
                sets: validator_sets.ok_or(PartsError::Missing(StatePart::ValidatorSets))?,
                candidates: all(candidates, StatePart::Candidates)?,
                unbonding: all(unbonding, StatePart::Unbonding)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev_like_state() -> State {
        let mut config = tao_types::GenesisConfig::empty("parts");
        let account = tao_primitives::AccountId::new([7; 32]);
        let rao = tao_primitives::Rao::new(5_000_000_000);
        config.balances.push(tao_types::GenesisBalance { account, rao });
        crate::genesis(&config).unwrap()
    }

    fn stored(state: &State) -> Vec<(Vec<u8>, Vec<u8>)> {
        state
            .part_digests()
            .into_iter()
            .map(|(key, _)| (key.to_bytes(), state.encode_part(key).unwrap()))
            .collect()
    }

    #[test]
    fn keys_round_trip_and_unknown_ones_are_refused() {
        let keys = [
            StatePart::Chain,
            StatePart::Accounts(255),
            StatePart::HotkeyOwners(3),
            StatePart::RootStakes,
            StatePart::Delegates,
            StatePart::Governance,
            StatePart::ChannelMeta,
            StatePart::ChannelsById(9),
            StatePart::ChannelsPerPayer(0),
            StatePart::Consensus,
            StatePart::ValidatorSets,
            StatePart::Candidates(4),
            StatePart::Unbonding(255),
            StatePart::SubnetInfo(NetUid::new(513)),
            StatePart::SubnetNeurons(NetUid::new(1)),
            StatePart::SubnetStakes(NetUid::new(u16::MAX)),
        ];
        for key in keys {
            assert_eq!(StatePart::from_bytes(&key.to_bytes()), Some(key));
        }
        for bad in [
            &[][..],
            &[0x0d],
            &[0x0c, 0],
            &[0x09, 0],
            &[0x0a],
            &[0x10, 0, 1, 3],
            &[0x01],
            &[0x00, 0],
        ] {
            assert_eq!(StatePart::from_bytes(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_state_read_back_from_its_parts_has_the_same_root() {
        let state = dev_like_state();
        let back = State::from_parts(stored(&state)).unwrap();
        assert_eq!(back.state_root(), state.state_root());
        assert_eq!(back.part_digests(), state.part_digests());
    }

    #[test]
    fn a_proof_of_stake_state_reads_back_with_its_validator_parts() {
        let mut config = tao_types::GenesisConfig::empty("parts-pos");
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key().to_bytes();
        config.validators.push(tao_types::GenesisValidator {
            controller: tao_primitives::AccountId::new([7; 32]),
            consensus_key: tao_types::ConsensusKey(key),
            p2p_address: "10.0.0.1:3000".into(),
            bond: tao_primitives::Rao::new(2_000_000_000_000),
            commission: 100,
        });
        let state = crate::genesis(&config).unwrap();
        assert!(state.validator_set(0).is_some());
        let back = State::from_parts(stored(&state)).unwrap();
        assert_eq!(back.state_root(), state.state_root());
        assert_eq!(back.validator_set(0), state.validator_set(0));
        let mut parts = stored(&state);
        parts.retain(|(key, _)| key != &StatePart::ValidatorSets.to_bytes());
        assert_eq!(
            State::from_parts(parts).unwrap_err(),
            PartsError::Missing(StatePart::ValidatorSets)
        );
    }

    #[test]
    fn missing_corrupt_and_unknown_parts_are_typed_errors() {
        let state = dev_like_state();
        let mut parts = stored(&state);
        parts.retain(|(key, _)| key != &StatePart::Accounts(7).to_bytes());
        assert_eq!(
            State::from_parts(parts).unwrap_err(),
            PartsError::Missing(StatePart::Accounts(7))
        );
        let mut parts = stored(&state);
        parts[0].1.push(0);
        assert!(matches!(
            State::from_parts(parts).unwrap_err(),
            PartsError::Corrupt { key: StatePart::Chain, .. }
        ));
        let mut parts = stored(&state);
        parts.push((vec![0x42], vec![]));
        assert_eq!(State::from_parts(parts).unwrap_err(), PartsError::UnknownKey(vec![0x42]));
    }
}
