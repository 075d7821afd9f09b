//! A small stand-in for the chain around the epoch: it stores weights, bonds, permits and
//! activity the way the reference pallet does, so the reference's multi-epoch tests can be
//! replayed step by step.

use tao_primitives::{fixed::I64F64, AlphaRao, BlockNumber, Uid};
use tao_yuma::{epoch, math, CommitReveal, Params, YumaInput, YumaOutput};

/// One subnet's epoch-relevant state.
pub struct Subnet {
    pub block: u64,
    pub tempo: u16,
    pub activity_cutoff: u64,
    pub stake: Vec<I64F64>,
    pub permit: Vec<bool>,
    pub last_update: Vec<u64>,
    pub registered: Vec<u64>,
    pub weights: Vec<Vec<(Uid, u16)>>,
    pub bonds: Vec<Vec<(Uid, u16)>>,
    pub params: Params,
    pub owner: Option<Uid>,
}

impl Subnet {
    /// Registers one neuron per stake at `block` (no permits yet, as on the chain).
    pub fn register_all(stakes: &[u64], block: u64, tempo: u16, params: Params) -> Self {
        let n = stakes.len();
        Self {
            block,
            tempo,
            // max(1, ActivityCutoffFactorMilli (default 13_889) × tempo / 1000)
            activity_cutoff: (13_889 * u64::from(tempo) / 1000).max(1),
            stake: stakes.iter().map(|s| I64F64::from_num(*s)).collect(),
            permit: vec![false; n],
            last_update: vec![block; n],
            registered: vec![block; n],
            weights: vec![Vec::new(); n],
            bonds: vec![Vec::new(); n],
            params,
            owner: None,
        }
    }

    /// `set_weights`: the values are max-upscaled and stored with explicit zeros.
    pub fn set_weights(&mut self, uid: usize, uids: &[u16], values: &[u16]) {
        let upscaled = math::vec_u16_max_upscale_to_u16(values);
        self.weights[uid] = uids.iter().zip(upscaled).map(|(j, w)| (Uid::new(*j), w)).collect();
        self.last_update[uid] = self.block;
    }

    pub fn next_block(&mut self) {
        self.block += 1;
    }

    pub fn input(&self, emission: u64) -> YumaInput {
        YumaInput {
            block: BlockNumber::new(self.block),
            tempo: self.tempo,
            last_epoch_block: BlockNumber::new(0),
            activity_cutoff: self.activity_cutoff,
            stake: self.stake.clone(),
            stake_threshold: 0,
            owner: self.owner,
            validator_permit: self.permit.clone(),
            last_update: self.last_update.iter().map(|b| BlockNumber::new(*b)).collect(),
            block_at_registration: self.registered.iter().map(|b| BlockNumber::new(*b)).collect(),
            weights: self.weights.clone(),
            bonds: self.bonds.clone(),
            commit_reveal: CommitReveal::Off,
            params: self.params,
            emission: AlphaRao::new(emission),
        }
    }

    /// Runs the epoch at the current block and stores bonds and permits as the chain does.
    pub fn epoch(&mut self) -> YumaOutput {
        let output = epoch(&self.input(1_000_000_000)).expect("well-formed input");
        self.bonds = output.bonds_u16();
        self.permit = output.validator_permit.clone();
        output
    }

    /// The stored bond of validator `i` to `j` (0 if none), as `get_bonds` reads it.
    pub fn bond(&self, i: usize, j: u16) -> u16 {
        self.bonds[i].iter().find(|(uid, _)| uid.get() == j).map_or(0, |(_, b)| *b)
    }
}
