//! A test chain: genesis, keys, signing with automatic nonces, block production, and the
//! conservation check after every block (payment channels' locked TAO included).

use tao_primitives::{AccountId, AlphaRao, BlockNumber, NetUid, Rao};
use tao_runtime::{execute_block, genesis, BlockContext, BlockOutcome, State};
use tao_types::{
    blake2_256, Call, DispatchError, GenesisBalance, GenesisConfig, GenesisNeuron, GenesisSubnet,
    Hash, Keypair, Outcome, Receipt, SignedTransaction, Transaction,
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
}

impl Chain {
    pub fn new(config: GenesisConfig) -> Self {
        let state = genesis(&config).expect("valid genesis");
        let chain = Self { state, last: None };
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
        let outcome = execute_block(&mut self.state, &BlockContext { number, parent_hash }, &txs)
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
    /// changed: every account other than the signer, and every subnet, is as before
    /// (modulo the block's own emission/epoch/price bookkeeping).
    pub fn fails(&mut self, signer: &Keypair, call: Call, error: DispatchError) -> Receipt {
        let before = self.state.clone();
        // A free call that fails is invalid: not included, no nonce used (nothing to pay).
        let used_nonce = u64::from(!call.is_free());
        let expected = if call.is_free() {
            Outcome::Invalid(tao_types::InvalidTransaction::FreeCallFails(error))
        } else {
            Outcome::Failed(error)
        };
        // The same block without the transaction, for a free call: nothing may differ.
        let mut control = self.state.clone();
        let number = control.block().next().unwrap();
        let context =
            BlockContext { number, parent_hash: block_hash(BlockNumber::new(number.get() - 1)) };
        execute_block(&mut control, &context, &[]).unwrap();
        let receipt = self.run(signer, call);
        assert_eq!(receipt.outcome, expected, "{receipt:?}");
        if used_nonce == 0 {
            assert_eq!(
                self.state.state_root(),
                control.state_root(),
                "a failing free call changed the state"
            );
        }
        let owners = |s: &State| s.hotkey_owners().map(|(h, c)| (*h, *c)).collect::<Vec<_>>();
        assert_eq!(owners(&self.state), owners(&before), "hotkey owners changed");
        assert_eq!(self.state.delegates(), before.delegates(), "delegates or takes changed");
        let epoch_ran = self
            .last
            .as_ref()
            .unwrap()
            .events
            .iter()
            .any(|e| matches!(e, tao_types::Event::EpochCompleted { .. }));
        assert_eq!(self.state.root_stakes(), before.root_stakes(), "root stakes changed");
        assert_eq!(channels(&self.state), channels(&before), "channels changed");
        let signer_before = before.account(&signer.account());
        let signer_after = self.state.account(&signer.account());
        assert_eq!(signer_after.nonce, signer_before.nonce + used_nonce);
        assert_eq!(signer_after.free, signer_before.free.checked_sub(receipt.fee).unwrap());
        for (account, after) in self.state.accounts() {
            if *account != signer.account() {
                assert_eq!(*after, before.account(account), "account {account} changed");
            }
        }
        assert_eq!(self.state.subnets().count(), before.subnets().count());
        for (netuid, subnet) in self.state.subnets() {
            let old = before.subnet(*netuid).expect("no subnet appeared");
            if !epoch_ran {
                assert_eq!(
                    subnet.neurons.get(),
                    old.neurons.get(),
                    "subnet {netuid} neurons changed"
                );
                assert_eq!(subnet.stakes.get(), old.stakes.get(), "subnet {netuid} stakes changed");
            }
            let (mut a, mut b) = (subnet.info.get().clone(), old.info.get().clone());
            // Per-block bookkeeping moves regardless of the transaction.
            for info in [&mut a, &mut b] {
                info.burn = Rao::ZERO;
                info.pool = tao_economics::pool::Pool::new(0, 0);
                info.alpha_out = AlphaRao::ZERO;
                info.protocol_alpha = AlphaRao::ZERO;
                info.alpha_burned = AlphaRao::ZERO;
                info.pending = Default::default();
                info.moving_price = Default::default();
                info.miner_burned = Default::default();
                info.blocks_since_last_step = 0;
                info.last_epoch_block = BlockNumber::GENESIS;
                info.epoch_index = 0;
                info.last_step_block = BlockNumber::GENESIS;
                info.pending_epoch_at = BlockNumber::GENESIS;
            }
            assert_eq!(a, b, "subnet {netuid} info changed");
        }
        receipt
    }

    /// TAO: `total_issuance = Σ free + Σ pool TAO + Σ root stake + Σ proposal deposits +
    /// Σ open channels' unclaimed deposits`, to the RAO. Alpha, per subnet, the reference's
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
        assert_eq!(
            u128::from(self.state.total_issuance().get()),
            free + pools + root + deposits + channels,
            "TAO not conserved"
        );
        let held = self.state.tao_holdings();
        assert_eq!(
            (held.free, held.pools, held.root_stake, held.deposits, held.channels),
            (free, pools, root, deposits, channels)
        );
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

/// Every open channel in id order, and the channel counter and count.
pub fn channels(
    state: &State,
) -> (Vec<(tao_primitives::ChannelId, tao_runtime::channels::Channel)>, (u64, u32)) {
    let mut open: Vec<_> = state.channels().iter().map(|(id, c)| (*id, *c)).collect();
    open.sort_by_key(|(id, _)| *id);
    let meta = state.channels().meta();
    (open, (meta.next_id, meta.open))
}

/// The hash the test chain gives block `number`.
pub fn block_hash(number: BlockNumber) -> Hash {
    blake2_256(&number.get().to_le_bytes())
}

pub fn hash(byte: u8) -> Hash {
    Hash([byte; 32])
}
