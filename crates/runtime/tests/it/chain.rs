//! A test chain: genesis, keys, signing with automatic nonces, block production, and the
//! conservation check after every block (payment channels' locked TAO included).

use tao_primitives::{AccountId, AlphaRao, BlockNumber, NetUid, Rao};
use tao_runtime::{execute_block, genesis, Account, BlockContext, BlockOutcome, State, StatePart};
use tao_types::{
    blake2_256, Call, DispatchError, FinalityCredit, GenesisBalance, GenesisConfig, GenesisNeuron,
    GenesisSubnet, Hash, Keypair, Outcome, Receipt, SignedTransaction, Transaction,
};

pub const TAO: u64 = 1_000_000_000;

/// Deterministic test keys: `key(n)`.
pub fn key(n: u8) -> Keypair {
    Keypair::from_seed(&[n; 32])
}

pub fn id(n: u8) -> AccountId {
    key(n).account()
}

/// Key 1 is root; keys 1..=5 hold 10_000 TAO each.
pub fn config() -> GenesisConfig {
    GenesisConfig {
        chain_name: "tao-test".into(),
        sudo: Some(id(1)),
        balances: (1..=5)
            .map(|n| GenesisBalance { account: id(n), rao: Rao::new(10_000 * TAO) })
            .collect(),
        authorities: Vec::new(),
        subnets: Vec::new(),
        network_min_lock: Some(100 * TAO),
        network_rate_limit: Some(0),
        subnet_limit: None,
        allow_loopback_axons: false,
        governance: None,
        validators: Vec::new(),
        consensus: None,
    }
}

/// A config with one started subnet (owner cold 10 / hot 11, tempo `tempo`) and neurons
/// with the given stakes (hotkeys 20, 21, …, coldkeys 40, 41, …).
pub fn config_with_subnet(tempo: u16, stakes: &[u64], commit_reveal: bool) -> GenesisConfig {
    let mut config = config();
    config.subnets.push(GenesisSubnet {
        owner_coldkey: id(10),
        owner_hotkey: id(11),
        tempo: Some(tempo),
        start_emission: true,
        commit_reveal: Some(commit_reveal),
        neurons: stakes
            .iter()
            .enumerate()
            .map(|(k, s)| GenesisNeuron {
                hotkey: id(20 + k as u8),
                coldkey: id(40 + k as u8),
                stake: AlphaRao::new(*s),
            })
            .collect(),
        pool_tao: None,
    });
    config.balances.push(GenesisBalance { account: id(10), rao: Rao::new(1_000 * TAO) });
    config
}

pub const NET: NetUid = NetUid::new(1);

pub struct Chain {
    pub state: State,
    pub last: Option<BlockOutcome>,
    /// The finality credit the next block carries (taken by it).
    pub credit: Option<FinalityCredit>,
}

impl Chain {
    pub fn new(config: GenesisConfig) -> Self {
        let state = genesis(&config).expect("valid genesis");
        let chain = Self { state, last: None, credit: None };
        chain.check_conservation();
        chain
    }

    pub fn standard() -> Self {
        Self::new(config())
    }

    /// A transaction from `signer` with its next nonce (counting `pending` already queued).
    pub fn tx_with_nonce(&self, signer: &Keypair, nonce: u64, call: Call) -> SignedTransaction {
        Transaction {
            genesis_hash: self.state.genesis_hash(),
            signer: signer.account(),
            nonce,
            call,
        }
        .sign(signer)
    }

    pub fn tx(&self, signer: &Keypair, call: Call) -> SignedTransaction {
        self.tx_with_nonce(signer, self.state.account(&signer.account()).nonce, call)
    }

    /// Produces the next block with `txs`; checks conservation, and that alpha held by
    /// nobody stays so (the reference never takes unpaid alpha back off `SubnetAlphaOut`).
    pub fn block(&mut self, txs: Vec<SignedTransaction>) -> BlockOutcome {
        let number = self.state.block().next().unwrap();
        let parent_hash = block_hash(BlockNumber::new(number.get() - 1));
        let unheld: Vec<(NetUid, BlockNumber, AlphaRao)> = self
            .state
            .subnets()
            .map(|(n, s)| (*n, s.info.get().registered_at, s.info.get().alpha_burned))
            .collect();
        let credit = self.credit.take();
        let outcome =
            execute_block(&mut self.state, &BlockContext { number, parent_hash, credit }, &txs)
                .expect("block follows");
        self.check_conservation();
        for (netuid, registered_at, before) in unheld {
            if let Some(subnet) = self.state.subnet(netuid) {
                let info = subnet.info.get();
                if info.registered_at == registered_at {
                    assert!(info.alpha_burned >= before, "unheld alpha shrank on {netuid}");
                }
            }
        }
        self.last = Some(outcome.clone());
        outcome
    }

    /// Runs `call` signed by `signer` in a block of its own; returns its receipt.
    pub fn run(&mut self, signer: &Keypair, call: Call) -> Receipt {
        let tx = self.tx(signer, call);
        self.block(vec![tx]).receipts.remove(0)
    }

    /// Runs `call` and asserts success.
    pub fn ok(&mut self, signer: &Keypair, call: Call) -> Receipt {
        let receipt = self.run(signer, call);
        assert_eq!(receipt.outcome, Outcome::Success, "{receipt:?}");
        receipt
    }

    /// Runs `call`, asserts it failed with `error`, and that nothing but fee and nonce
    /// changed: the state is the one the same block without the transaction gives (its
    /// emission, epoch and prices included), but for the signer's fee and nonce and the
    /// chain's fee bookkeeping, part by part (`only_fee_and_nonce_changed`).
    pub fn fails(&mut self, signer: &Keypair, call: Call, error: DispatchError) -> Receipt {
        // A free call that fails is invalid: not included, no nonce used (nothing to pay).
        let used_nonce = u64::from(!call.is_free());
        let expected = if call.is_free() {
            Outcome::Invalid(tao_types::InvalidTransaction::FreeCallFails(error))
        } else {
            Outcome::Failed(error)
        };
        // The same block without the transaction.
        let mut control = self.state.clone();
        let number = control.block().next().unwrap();
        let context = BlockContext {
            number,
            parent_hash: block_hash(BlockNumber::new(number.get() - 1)),
            credit: None,
        };
        execute_block(&mut control, &context, &[]).unwrap();
        let receipt = self.run(signer, call);
        assert_eq!(receipt.outcome, expected, "{receipt:?}");
        if used_nonce == 0 {
            assert_eq!(receipt.fee, Rao::ZERO);
            assert_eq!(
                self.state.state_root(),
                control.state_root(),
                "a failing free call changed the state"
            );
        } else {
            assert!(receipt.fee > Rao::ZERO, "{receipt:?}");
        }
        if let Err(what) = only_fee_and_nonce_changed(
            &control,
            &self.state,
            &signer.account(),
            receipt.fee,
            used_nonce,
        ) {
            panic!("{receipt:?}: {what}");
        }
        receipt
    }

    /// TAO: `total_issuance = Σ free + Σ pool TAO + Σ root stake + Σ proposal deposits +
    /// Σ open channels' unclaimed deposits + Σ validator bonds + Σ unbonding + the epoch's
    /// fee pot`, to the RAO. Alpha, per subnet, the reference's
    /// accounting: `alpha_out = Σ stakes + protocol alpha + pending + unheld` to the unit,
    /// where unheld (`alpha_burned`) is alpha minted but held by nobody: burned owner-hotkey
    /// miner emission and alpha nobody was paid (rounding, a root pot no validator could
    /// take, the miners' pot beyond their incentive), which the reference keeps in
    /// `SubnetAlphaOut`.
    pub fn check_conservation(&self) {
        let free: u128 = self.state.accounts().map(|(_, a)| u128::from(a.free.get())).sum();
        let pools: u128 =
            self.state.subnets().map(|(_, s)| u128::from(s.info.get().pool.tao)).sum();
        let root = u128::from(self.state.total_root_stake());
        let deposits: u128 =
            self.state.governance().proposals.values().map(|p| u128::from(p.deposit.get())).sum();
        let channels: u128 = self
            .state
            .channels()
            .iter()
            .map(|(_, c)| {
                assert!(c.claimed <= c.deposit, "a channel paid above its deposit");
                u128::from(c.deposit.get() - c.claimed.get())
            })
            .sum();
        let bonded: u128 = self
            .state
            .candidates()
            .map(|c| {
                let sum: u128 = c.bonds.values().map(|b| u128::from(b.get())).sum();
                assert_eq!(sum, u128::from(c.total.get()), "a candidate's total is not Σ bonds");
                assert!(c.bonds.values().all(|b| !b.is_zero()), "a zero bond is kept");
                sum
            })
            .sum();
        let unbonding: u128 = self
            .state
            .all_unbonding()
            .flat_map(|(_, chunks)| chunks)
            .map(|c| u128::from(c.amount.get()))
            .sum();
        let pot = u128::from(self.state.consensus().pot.get());
        assert_eq!(
            u128::from(self.state.total_issuance().get()),
            free + pools + root + deposits + channels + bonded + unbonding + pot,
            "TAO not conserved"
        );
        let held = self.state.tao_holdings();
        assert_eq!(
            (held.free, held.pools, held.root_stake, held.deposits, held.channels),
            (free, pools, root, deposits, channels)
        );
        assert_eq!((held.bonded, held.unbonding, held.fee_pot), (bonded, unbonding, pot));
        for (netuid, subnet) in self.state.subnets() {
            let info = subnet.info.get();
            let staked: u128 = subnet.stakes.get().values().map(|p| u128::from(p.total)).sum();
            let accounted = staked
                + u128::from(info.protocol_alpha.get())
                + u128::from(info.pending.total())
                + u128::from(info.alpha_burned.get());
            assert_eq!(
                u128::from(info.alpha_out.get()),
                accounted,
                "alpha not conserved on subnet {netuid}"
            );
            for pool in subnet.stakes.get().values() {
                let values: u128 = pool.coldkeys().map(|c| u128::from(pool.value(c))).sum();
                assert!(
                    values <= u128::from(pool.total),
                    "stake values exceed the pool on {netuid}"
                );
            }
        }
    }

    pub fn advance(&mut self, blocks: u64) {
        for _ in 0..blocks {
            self.block(Vec::new());
        }
    }

    pub fn free(&self, n: u8) -> Rao {
        self.state.account(&id(n)).free
    }
}

/// Checks that `after` is `before` with only a transaction fee and nonce applied: the
/// signer's nonce one higher (`nonce_used`) and its balance `fee` lower, the issuance
/// `fee` lower and the fee total `fee` higher. Every other part of the state (every
/// account bucket but the signer's, hotkey owners, root stakes, delegates and takes,
/// governance, channels, every subnet's info, neurons and stakes) must have the same
/// digest, and in the signer's bucket every other account must be unchanged.
pub fn only_fee_and_nonce_changed(
    before: &State,
    after: &State,
    signer: &AccountId,
    fee: Rao,
    nonce_used: u64,
) -> Result<(), String> {
    let (was, now) = (before.part_digests(), after.part_digests());
    let names = |parts: &[(StatePart, Hash)]| parts.iter().map(|(p, _)| *p).collect::<Vec<_>>();
    if names(&was) != names(&now) {
        return Err("the state's parts differ (a subnet appeared or vanished)".into());
    }
    if was.len() < 1 + 2 * 256 + 3 + 1 + 2 * 256 + 2 + 2 * 256 {
        return Err(format!("only {} parts listed", was.len()));
    }
    let signer_part = StatePart::account(signer);
    // On a proof-of-stake chain the fee goes to the epoch's pot instead of being burned.
    let pos = before.consensus().enabled;
    for ((part, a), (_, b)) in was.iter().zip(&now) {
        let pot_part = pos && *part == StatePart::Consensus;
        if a != b && *part != StatePart::Chain && *part != signer_part && !pot_part {
            return Err(format!("{part:?} changed"));
        }
    }
    let mut expected = before.chain().clone();
    if pos {
        let mut consensus = before.consensus().clone();
        consensus.pot = consensus.pot.checked_add(fee).ok_or("pot overflows")?;
        if after.consensus() != &consensus {
            return Err("the consensus record changed beyond the fee pot".into());
        }
    } else {
        expected.total_issuance =
            expected.total_issuance.checked_sub(fee).ok_or("fee > issuance")?;
        expected.total_fees = expected.total_fees.checked_add(fee).ok_or("fee total overflows")?;
    }
    if after.chain() != &expected {
        return Err(format!("chain record: {:?}, expected {expected:?}", after.chain()));
    }
    let was = before.account(signer);
    let expected = Account {
        nonce: was.nonce + nonce_used,
        free: was.free.checked_sub(fee).ok_or("fee > balance")?,
    };
    if after.account(signer) != expected {
        return Err(format!("signer: {:?}, expected {expected:?}", after.account(signer)));
    }
    let others = |state: &State| {
        state.accounts().filter(|(a, _)| *a != signer).map(|(a, x)| (*a, *x)).collect::<Vec<_>>()
    };
    if others(before) != others(after) {
        return Err("another account changed".into());
    }
    Ok(())
}

/// The hash the test chain gives block `number`.
pub fn block_hash(number: BlockNumber) -> Hash {
    blake2_256(&number.get().to_le_bytes())
}

pub fn hash(byte: u8) -> Hash {
    Hash([byte; 32])
}
