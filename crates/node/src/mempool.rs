//! The transaction pool: bounded, ordered by nonce per account, validated against the
//! latest state on entry, deduplicated, and evicting the furthest-future transactions under
//! pressure.

use std::collections::{BTreeMap, BTreeSet};
use tao_primitives::AccountId;
use tao_runtime::{validate_transaction, State};
use tao_types::{Hash, InvalidTransaction, SignedTransaction};

/// How far ahead of an account's nonce a transaction may wait.
pub const FUTURE_NONCE_WINDOW: u64 = 64;

/// Why a transaction was not admitted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Invalid on the latest state.
    #[error("invalid transaction: {0}")]
    Invalid(InvalidTransaction),
    /// Already in the pool.
    #[error("transaction already in the pool")]
    AlreadyKnown,
    /// The pool is full of transactions at least as urgent.
    #[error("the transaction pool is full; retry later")]
    PoolFull,
    /// Too far ahead of the account's nonce.
    #[error("nonce {got} is more than {FUTURE_NONCE_WINDOW} ahead of the account's next nonce {expected}")]
    TooFarAhead {
        /// Account nonce.
        expected: u64,
        /// Transaction nonce.
        got: u64,
    },
}

/// The pool.
pub struct Mempool {
    by_sender: BTreeMap<AccountId, BTreeMap<u64, SignedTransaction>>,
    hashes: BTreeSet<Hash>,
    capacity: usize,
}

impl Mempool {
    /// An empty pool holding at most `capacity` transactions.
    pub fn new(capacity: usize) -> Self {
        Self { by_sender: BTreeMap::new(), hashes: BTreeSet::new(), capacity }
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The signer's pending transactions, in nonce order.
    pub fn pending_of(&self, signer: &AccountId) -> impl Iterator<Item = &SignedTransaction> {
        self.by_sender.get(signer).into_iter().flat_map(|lane| lane.values())
    }

    /// The nonce a new transaction of `signer` should carry: after its state nonce and every
    /// consecutive pending one.
    pub fn next_nonce(&self, signer: &AccountId, state_nonce: u64) -> u64 {
        let mut next = state_nonce;
        for nonce in self.by_sender.get(signer).into_iter().flat_map(|lane| lane.keys()) {
            if *nonce == next {
                next = next.saturating_add(1);
            } else if *nonce > next {
                break;
            }
        }
        next
    }

    /// Whether a transaction is pending.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.hashes.contains(hash)
    }

    /// Admits a transaction checked against `state`.
    pub fn submit(&mut self, state: &State, tx: SignedTransaction) -> Result<Hash, SubmitError> {
        let hash = tx.hash();
        if self.hashes.contains(&hash) {
            return Err(SubmitError::AlreadyKnown);
        }
        let signer = tx.transaction.signer;
        let account_nonce = state.account(&signer).nonce;
        let nonce = tx.transaction.nonce;
        if nonce > account_nonce.saturating_add(FUTURE_NONCE_WINDOW) {
            return Err(SubmitError::TooFarAhead { expected: account_nonce, got: nonce });
        }
        match validate_transaction(state, &tx) {
            Ok(_) => {}
            // A future nonce may wait for its predecessors (signature and chain still checked).
            Err(InvalidTransaction::FutureNonce { .. }) => {
                if tx.transaction.genesis_hash != state.genesis_hash() {
                    return Err(SubmitError::Invalid(InvalidTransaction::WrongChain));
                }
                if !tx.verify_signature() {
                    return Err(SubmitError::Invalid(InvalidTransaction::BadSignature));
                }
            }
            Err(e) => return Err(SubmitError::Invalid(e)),
        }
        if self.by_sender.get(&signer).is_some_and(|queue| queue.contains_key(&nonce)) {
            // A replacement for the same nonce: keep the first (no fee market yet).
            return Err(SubmitError::AlreadyKnown);
        }
        if self.len() >= self.capacity
            && !self.evict_for(state, nonce.saturating_sub(account_nonce))
        {
            return Err(SubmitError::PoolFull);
        }
        self.by_sender.entry(signer).or_default().insert(nonce, tx);
        self.hashes.insert(hash);
        Ok(hash)
    }

    /// Drops the furthest-future transaction if it is further ahead than `gap`.
    fn evict_for(&mut self, state: &State, gap: u64) -> bool {
        let worst = self
            .by_sender
            .iter()
            .filter_map(|(sender, queue)| {
                let (nonce, _) = queue.iter().next_back()?;
                Some((nonce.saturating_sub(state.account(sender).nonce), *sender, *nonce))
            })
            .max();
        match worst {
            Some((worst_gap, sender, nonce)) if worst_gap > gap => {
                self.remove(&sender, nonce);
                true
            }
            _ => false,
        }
    }

    fn remove(&mut self, sender: &AccountId, nonce: u64) {
        if let Some(queue) = self.by_sender.get_mut(sender) {
            if let Some(tx) = queue.remove(&nonce) {
                self.hashes.remove(&tx.hash());
            }
            if queue.is_empty() {
                self.by_sender.remove(sender);
            }
        }
    }

    /// Up to `max` executable transactions: per account the consecutive nonces from its
    /// current one, accounts in key order, one at a time round-robin.
    pub fn ready(&self, state: &State, max: usize) -> Vec<SignedTransaction> {
        let mut lanes: Vec<Vec<&SignedTransaction>> = self
            .by_sender
            .iter()
            .map(|(sender, queue)| {
                let mut next = state.account(sender).nonce;
                let mut lane = Vec::new();
                while let Some(tx) = queue.get(&next) {
                    lane.push(tx);
                    next = next.saturating_add(1);
                }
                lane
            })
            .filter(|lane| !lane.is_empty())
            .collect();
        let mut out = Vec::new();
        let mut round = 0;
        while out.len() < max && lanes.iter().any(|l| l.len() > round) {
            for lane in &mut lanes {
                if let Some(tx) = lane.get(round) {
                    if out.len() < max {
                        out.push((*tx).clone());
                    }
                }
            }
            round += 1;
        }
        out
    }

    /// Drops what the state has made stale (used nonces).
    pub fn prune(&mut self, state: &State) {
        let stale: Vec<(AccountId, u64)> = self
            .by_sender
            .iter()
            .flat_map(|(sender, queue)| {
                let current = state.account(sender).nonce;
                queue.keys().filter(move |n| **n < current).map(move |n| (*sender, *n))
            })
            .collect();
        for (sender, nonce) in stale {
            self.remove(&sender, nonce);
        }
    }
}
