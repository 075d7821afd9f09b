//! The transaction pool: bounded in count and bytes, overall and per sender; ordered by
//! nonce per account; deduplicated; and economic: nothing enters that cannot pay for itself.
//!
//! Admission (see `docs/security.md`):
//! * the signature is checked before the chain's lock is taken ([`VerifiedTransaction`]);
//! * at the signer's next nonce a paying call must cover its fee, and a free call (weights,
//!   axon, proof-of-work registration) must succeed on the latest state, as the chain
//!   requires of it in a block;
//! * a future nonce waits only if the signer can pay the fees of everything it has queued up
//!   to it, or (a free call) the signer is a registered hotkey; it expires after
//!   [`PoolLimits::future_ttl_blocks`] blocks if its predecessors never come;
//! * every transaction expires after [`PoolLimits::ttl_blocks`] blocks in the pool;
//! * when the pool is full, a newcomer may only push out a transaction further ahead of its
//!   sender's nonce than its own; a block builder reports what turned out invalid, and that
//!   is dropped ([`Mempool::drop_refused`]).

use codec::Encode;
use std::collections::BTreeMap;
use tao_primitives::{AccountId, BlockNumber, Rao};
use tao_runtime::{check_free_call, fee, validate_unsigned, State};
use tao_types::{Hash, InvalidTransaction, SignedTransaction};

/// How far ahead of an account's nonce a transaction may wait.
pub const FUTURE_NONCE_WINDOW: u64 = 64;

/// The pool's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    /// Most transactions pending.
    pub max_count: usize,
    /// Most encoded bytes pending.
    pub max_bytes: usize,
    /// Most transactions one sender may have pending.
    pub per_sender_count: usize,
    /// Most encoded bytes one sender may have pending.
    pub per_sender_bytes: usize,
    /// Blocks any transaction may wait before it is dropped.
    pub ttl_blocks: u64,
    /// Blocks a transaction with a future nonce may wait for its predecessors.
    pub future_ttl_blocks: u64,
}

impl Default for PoolLimits {
    fn default() -> Self {
        Self {
            max_count: 20_000,
            max_bytes: 64 * 1024 * 1024,
            per_sender_count: 64,
            per_sender_bytes: 1024 * 1024,
            ttl_blocks: 600,
            future_ttl_blocks: 300,
        }
    }
}

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
    /// A free call waiting for earlier nonces, from a key that is no registered hotkey.
    #[error(
        "a free call with a future nonce is accepted only from a registered hotkey; \
         submit its predecessors first"
    )]
    FreeCallNotRegistered,
    /// The sender cannot pay for everything it has queued.
    #[error(
        "the fees of this and the sender's earlier pending transactions ({needed} TAO) exceed \
         its balance of {balance} TAO"
    )]
    CannotPayQueued {
        /// The fees of the pending transactions up to and including this one.
        needed: Rao,
        /// The sender's free balance.
        balance: Rao,
    },
    /// The sender already has as many pending transactions or bytes as one sender may.
    #[error("the sender already has {count} transactions ({bytes} bytes) pending, the most one sender may have; wait for them to be included")]
    SenderLimit {
        /// The sender's pending transactions.
        count: usize,
        /// Their encoded bytes.
        bytes: usize,
    },
}

/// A transaction whose signature has been checked (without holding the chain's lock).
#[derive(Clone, Debug)]
pub struct VerifiedTransaction {
    tx: SignedTransaction,
    hash: Hash,
}

impl VerifiedTransaction {
    /// Checks the signature.
    pub fn verify(tx: SignedTransaction) -> Result<Self, SubmitError> {
        if !tx.verify_signature() {
            return Err(SubmitError::Invalid(InvalidTransaction::BadSignature));
        }
        let hash = tx.hash();
        Ok(Self { tx, hash })
    }

    /// The transaction's hash.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// The transaction.
    pub fn transaction(&self) -> &SignedTransaction {
        &self.tx
    }
}

#[derive(Clone, Debug)]
struct Entry {
    tx: SignedTransaction,
    hash: Hash,
    bytes: usize,
    fee: Rao,
    added: BlockNumber,
}

#[derive(Default)]
struct Lane {
    by_nonce: BTreeMap<u64, Entry>,
    bytes: usize,
}

/// The pool.
pub struct Mempool {
    lanes: BTreeMap<AccountId, Lane>,
    hashes: BTreeMap<Hash, (AccountId, u64)>,
    bytes: usize,
    limits: PoolLimits,
}

impl Mempool {
    /// An empty pool within `limits`.
    pub fn new(limits: PoolLimits) -> Self {
        Self { lanes: BTreeMap::new(), hashes: BTreeMap::new(), bytes: 0, limits }
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Encoded bytes pending.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The pool's bounds.
    pub fn limits(&self) -> PoolLimits {
        self.limits
    }

    /// The signer's pending transactions, in nonce order.
    pub fn pending_of(&self, signer: &AccountId) -> impl Iterator<Item = &SignedTransaction> {
        self.lanes.get(signer).into_iter().flat_map(|lane| lane.by_nonce.values().map(|e| &e.tx))
    }

    /// The nonce a new transaction of `signer` should carry: after its state nonce and every
    /// consecutive pending one.
    pub fn next_nonce(&self, signer: &AccountId, state_nonce: u64) -> u64 {
        let mut next = state_nonce;
        for nonce in self.lanes.get(signer).into_iter().flat_map(|lane| lane.by_nonce.keys()) {
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
        self.hashes.contains_key(hash)
    }

    /// Admits a transaction whose signature was verified, checked against `state` (the
    /// latest head's post-state).
    pub fn submit(&mut self, state: &State, tx: VerifiedTransaction) -> Result<Hash, SubmitError> {
        let VerifiedTransaction { tx, hash } = tx;
        if self.hashes.contains_key(&hash) {
            return Err(SubmitError::AlreadyKnown);
        }
        let signer = tx.transaction.signer;
        let nonce = tx.transaction.nonce;
        // A replacement for a nonce already pending: keep the first (no fee market). Checked
        // before validation, so that variants of one pending transaction (a free call's
        // included) cost no dry run each.
        if self.lanes.get(&signer).is_some_and(|lane| lane.by_nonce.contains_key(&nonce)) {
            return Err(SubmitError::AlreadyKnown);
        }
        let account = state.account(&signer);
        let fee = fee(&tx);
        match validate_unsigned(state, &tx) {
            Ok(_) => check_free_call(state, &tx).map_err(SubmitError::Invalid)?,
            Err(InvalidTransaction::FutureNonce { expected, got }) => {
                if got > expected.saturating_add(FUTURE_NONCE_WINDOW) {
                    return Err(SubmitError::TooFarAhead { expected, got });
                }
                if tx.transaction.call.is_free() {
                    if state.hotkey_owner(&signer).is_none() {
                        return Err(SubmitError::FreeCallNotRegistered);
                    }
                } else {
                    let queued = self
                        .lanes
                        .get(&signer)
                        .into_iter()
                        .flat_map(|lane| lane.by_nonce.range(..nonce).map(|(_, e)| e.fee))
                        .fold(fee, Rao::saturating_add);
                    if queued > account.free {
                        return Err(SubmitError::CannotPayQueued {
                            needed: queued,
                            balance: account.free,
                        });
                    }
                }
            }
            Err(e) => return Err(SubmitError::Invalid(e)),
        }
        let lane = self.lanes.get(&signer);
        let bytes = tx.encoded_size();
        if let Some(lane) = lane {
            if lane.by_nonce.len() >= self.limits.per_sender_count
                || lane.bytes.saturating_add(bytes) > self.limits.per_sender_bytes
            {
                return Err(SubmitError::SenderLimit {
                    count: lane.by_nonce.len(),
                    bytes: lane.bytes,
                });
            }
        }
        let gap = nonce.saturating_sub(account.nonce);
        while self.len() >= self.limits.max_count
            || self.bytes.saturating_add(bytes) > self.limits.max_bytes
        {
            if !self.evict_for(state, gap) {
                return Err(SubmitError::PoolFull);
            }
        }
        let entry = Entry { tx, hash, bytes, fee, added: state.block() };
        let lane = self.lanes.entry(signer).or_default();
        lane.bytes = lane.bytes.saturating_add(bytes);
        lane.by_nonce.insert(nonce, entry);
        self.bytes = self.bytes.saturating_add(bytes);
        self.hashes.insert(hash, (signer, nonce));
        Ok(hash)
    }

    /// Drops the furthest-future transaction if it is further ahead than `gap`.
    fn evict_for(&mut self, state: &State, gap: u64) -> bool {
        let worst = self
            .lanes
            .iter()
            .filter_map(|(sender, lane)| {
                let (nonce, _) = lane.by_nonce.iter().next_back()?;
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
        if let Some(lane) = self.lanes.get_mut(sender) {
            if let Some(entry) = lane.by_nonce.remove(&nonce) {
                self.hashes.remove(&entry.hash);
                lane.bytes = lane.bytes.saturating_sub(entry.bytes);
                self.bytes = self.bytes.saturating_sub(entry.bytes);
            }
            if lane.by_nonce.is_empty() {
                self.lanes.remove(sender);
            }
        }
    }

    /// Up to `max` executable transactions: per account the consecutive nonces from its
    /// current one, accounts in key order, one at a time round-robin. A block builder takes
    /// them in this order and skips (and reports, see [`Self::drop_refused`]) the invalid.
    pub fn ready(&self, state: &State, max: usize) -> Vec<SignedTransaction> {
        let mut lanes: Vec<Vec<&SignedTransaction>> = self
            .lanes
            .iter()
            .map(|(sender, lane)| {
                let mut next = state.account(sender).nonce;
                let mut ready = Vec::new();
                while let Some(entry) = lane.by_nonce.get(&next) {
                    ready.push(&entry.tx);
                    next = next.saturating_add(1);
                }
                ready
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

    /// Drops transactions a block builder found invalid (a nonce gap is not a reason: the
    /// predecessor may still come).
    pub fn drop_refused(&mut self, refused: &[(Hash, InvalidTransaction)]) {
        for (hash, why) in refused {
            if matches!(why, InvalidTransaction::FutureNonce { .. }) {
                continue;
            }
            if let Some((sender, nonce)) = self.hashes.get(hash).copied() {
                self.remove(&sender, nonce);
            }
        }
    }

    /// Drops what the state has made stale (used nonces) and what waited too long: any
    /// transaction after [`PoolLimits::ttl_blocks`], one stranded behind a nonce gap after
    /// [`PoolLimits::future_ttl_blocks`].
    pub fn prune(&mut self, state: &State) {
        let now = state.block().get();
        let limits = self.limits;
        let mut stale = Vec::new();
        for (sender, lane) in &self.lanes {
            let current = state.account(sender).nonce;
            let mut next = current;
            for (nonce, entry) in &lane.by_nonce {
                let stranded = *nonce > next;
                if *nonce == next {
                    next = next.saturating_add(1);
                }
                let age = now.saturating_sub(entry.added.get());
                let expired =
                    age > limits.ttl_blocks || (stranded && age > limits.future_ttl_blocks);
                if *nonce < current || expired {
                    stale.push((*sender, *nonce));
                }
            }
        }
        for (sender, nonce) in stale {
            self.remove(&sender, nonce);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::tests::{chain, signed, transfer};
    use tao_primitives::NetUid;
    use tao_types::Call;

    fn weights() -> Call {
        Call::SetWeights { netuid: NetUid::new(1), uids: vec![0], values: vec![1], version_key: 0 }
    }

    fn account(uri: &str) -> AccountId {
        tao_wallet::Keypair::from_uri(uri).unwrap().account()
    }

    /// The pool-locking attack: per fresh key a free call at nonce 0 and an unpayable
    /// transfer at nonce 1. Neither enters.
    #[test]
    fn fresh_unfunded_keys_cannot_enter_the_pool() {
        let (mut chain, dir) = chain("pool-fresh");
        let bob = account("//Bob");
        for i in 0..50 {
            let uri = format!("//Mallory{i}");
            let free = chain.submit(signed(&chain, &uri, 0, weights())).unwrap_err();
            assert!(
                matches!(free, SubmitError::Invalid(InvalidTransaction::FreeCallFails(_))),
                "{free}"
            );
            let unpaid = chain.submit(signed(&chain, &uri, 1, transfer(bob, 1))).unwrap_err();
            assert!(matches!(unpaid, SubmitError::CannotPayQueued { .. }), "{unpaid}");
            let free_later = chain.submit(signed(&chain, &uri, 1, weights())).unwrap_err();
            assert_eq!(free_later, SubmitError::FreeCallNotRegistered);
            let now = chain.submit(signed(&chain, &uri, 0, transfer(bob, 1))).unwrap_err();
            assert!(
                matches!(now, SubmitError::Invalid(InvalidTransaction::CannotPayFee { .. })),
                "{now}"
            );
        }
        assert!(chain.mempool.is_empty());
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_sender_may_queue_only_what_it_can_pay_for() {
        let (mut chain, dir) = chain("pool-queued");
        let (alice, bob) = (account("//Alice"), account("//Bob"));
        // Give a fresh key enough for two fees, not three.
        let fee = tao_runtime::fee(&signed(&chain, "//Fresh", 0, transfer(bob, 1)));
        let fund = signed(&chain, "//Alice", 0, transfer(account("//Fresh"), fee.get() * 2 + 500));
        chain.submit(fund).unwrap();
        chain.produce(0).unwrap();
        assert!(chain.submit(signed(&chain, "//Fresh", 0, transfer(bob, 1))).is_ok());
        assert!(chain.submit(signed(&chain, "//Fresh", 1, transfer(bob, 1))).is_ok());
        let third = chain.submit(signed(&chain, "//Fresh", 2, transfer(bob, 1))).unwrap_err();
        assert!(matches!(third, SubmitError::CannotPayQueued { .. }), "{third}");
        assert_eq!(chain.mempool.pending_of(&alice).count(), 0);
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn per_sender_count_and_bytes_are_bounded() {
        let (mut chain, dir) = chain("pool-sender");
        let bob = account("//Bob");
        let limit = chain.mempool.limits().per_sender_count;
        for nonce in 0..limit as u64 {
            chain.submit(signed(&chain, "//Alice", nonce, transfer(bob, 1))).unwrap();
        }
        let over = chain.submit(signed(&chain, "//Alice", limit as u64, transfer(bob, 1)));
        assert!(matches!(over, Err(SubmitError::SenderLimit { .. })), "{over:?}");
        // Another transaction at a pending nonce is refused before any validation.
        let variant = chain.submit(signed(&chain, "//Alice", 0, transfer(bob, 2)));
        assert_eq!(variant, Err(SubmitError::AlreadyKnown));
        // Others are not affected.
        chain.submit(signed(&chain, "//Bob", 0, transfer(bob, 1))).unwrap();
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_pool_is_bounded_in_bytes_and_a_ready_transaction_pushes_out_a_stranded_one() {
        let (chain, dir) = chain("pool-bytes");
        let bob = account("//Bob");
        let sample = signed(&chain, "//Alice", 0, transfer(bob, 1)).encoded_size();
        let limits = PoolLimits { max_bytes: sample * 3, ..PoolLimits::default() };
        let mut pool = Mempool::new(limits);
        let submit = |pool: &mut Mempool, uri: &str, nonce: u64| {
            let tx =
                VerifiedTransaction::verify(signed(&chain, uri, nonce, transfer(bob, 1))).unwrap();
            pool.submit(&chain.state, tx)
        };
        submit(&mut pool, "//Alice", 0).unwrap();
        submit(&mut pool, "//Bob", 0).unwrap();
        submit(&mut pool, "//Charlie", 5).unwrap(); // stranded behind a gap
        assert!(pool.bytes() <= limits.max_bytes);
        // A further-ahead one cannot push anything out; a ready one pushes out the stranded.
        assert_eq!(submit(&mut pool, "//Dave", 9), Err(SubmitError::PoolFull));
        submit(&mut pool, "//Dave", 0).unwrap();
        assert_eq!(pool.len(), 3);
        assert!(pool.pending_of(&account("//Charlie")).next().is_none());
        // Full of ready transactions: a newcomer waits.
        assert_eq!(submit(&mut pool, "//Eve", 0), Err(SubmitError::PoolFull));
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn stranded_transactions_expire_and_every_transaction_has_a_time_to_live() {
        let (mut chain, dir) = chain("pool-ttl");
        let bob = account("//Bob");
        chain.submit(signed(&chain, "//Alice", 3, transfer(bob, 1))).unwrap();
        let ttl = chain.mempool.limits().future_ttl_blocks;
        for _ in 0..ttl {
            chain.produce(0).unwrap();
        }
        assert_eq!(chain.mempool.len(), 1, "still within its time");
        chain.produce(0).unwrap();
        assert!(chain.mempool.is_empty(), "a stranded transaction expires");
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Keys for the property test: four funded dev accounts and two fresh ones (derived
    /// once: deriving from a URI is slow).
    fn keys() -> &'static [tao_wallet::Keypair] {
        static KEYS: std::sync::OnceLock<Vec<tao_wallet::Keypair>> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            ["//Alice", "//Bob", "//Charlie", "//Dave", "//Fresh1", "//Fresh2"]
                .iter()
                .map(|uri| tao_wallet::Keypair::from_uri(uri).unwrap())
                .collect()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

        /// Random submissions (funded and fresh senders, nonces around and far ahead of
        /// theirs, transfers and free calls, some with bad signatures) to a small pool, with
        /// blocks built in between: the bounds always hold, nothing badly signed or stale is
        /// pending, every built block passes `check_block`, and after each new head no
        /// pending transaction has a used nonce.
        #[test]
        fn random_submissions_keep_the_pool_bounded_and_blocks_valid(
            steps in proptest::collection::vec(
                (0usize..6, 0u64..70, proptest::bool::ANY, 0u8..8, 0u8..6),
                1..60,
            )
        ) {
            use crate::chain::{build_block, check_block, MAX_BUILD_CANDIDATES};
            let (mut chain, dir) = chain("pool-prop");
            chain.mempool = Mempool::new(PoolLimits {
                max_count: 24,
                max_bytes: 24 * 200,
                per_sender_count: 6,
                per_sender_bytes: 6 * 200,
                ..PoolLimits::default()
            });
            let bob = account("//Bob");
            for (sender, ahead, free, corrupt, then_block) in steps {
                let key = &keys()[sender];
                let nonce = chain.state.account(&key.account()).nonce + ahead % 8
                    + if ahead > 60 { 60 } else { 0 };
                let call = if free { weights() } else { transfer(bob, 1_000) };
                let mut tx = crate::chain::tests::signed_by(&chain, key, nonce, call);
                if corrupt == 0 {
                    tx.signature.0[1] ^= 1;
                }
                let admitted = chain.submit(tx.clone()).is_ok();
                if admitted {
                    proptest::prop_assert!(tx.verify_signature());
                }
                let limits = chain.mempool.limits();
                proptest::prop_assert!(chain.mempool.len() <= limits.max_count);
                proptest::prop_assert!(chain.mempool.bytes() <= limits.max_bytes);
                for k in keys() {
                    let pending: Vec<_> = chain.mempool.pending_of(&k.account()).collect();
                    proptest::prop_assert!(pending.len() <= limits.per_sender_count);
                    let state_nonce = chain.state.account(&k.account()).nonce;
                    for p in pending {
                        proptest::prop_assert!(p.transaction.nonce >= state_nonce);
                        proptest::prop_assert!(
                            p.transaction.nonce <= state_nonce + FUTURE_NONCE_WINDOW
                        );
                    }
                }
                if then_block == 0 {
                    let candidates = chain.mempool.ready(&chain.state, MAX_BUILD_CANDIDATES);
                    let built = build_block(&chain.head, &chain.state, &candidates, 0, None).unwrap();
                    proptest::prop_assert!(
                        check_block(&chain.head, &chain.state, &built.block, 0).is_ok()
                    );
                    chain.mempool.drop_refused(&built.refused);
                    chain.commit(&built.block, built.state, &built.outcome).unwrap();
                }
            }
            drop(chain);
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    #[test]
    fn bad_signatures_are_refused_before_the_pool_is_touched() {
        let (chain, dir) = chain("pool-sig");
        let mut tx = signed(&chain, "//Alice", 0, transfer(account("//Bob"), 1));
        tx.signature.0[7] ^= 1;
        assert_eq!(
            VerifiedTransaction::verify(tx).unwrap_err(),
            SubmitError::Invalid(InvalidTransaction::BadSignature)
        );
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }
}
