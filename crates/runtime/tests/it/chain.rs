//! A test chain: genesis, keys, signing with automatic nonces, block production, and the
//! conservation check after every block.

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

    /// Produces the next block with `txs`; checks conservation.
    pub fn block(&mut self, txs: Vec<SignedTransaction>) -> BlockOutcome {
        let number = self.state.block().next().unwrap();
        let parent_hash = block_hash(BlockNumber::new(number.get() - 1));
        let outcome = execute_block(&mut self.state, &BlockContext { number, parent_hash }, &txs)
            .expect("block follows");
        self.check_conservation();
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
        let receipt = self.run(signer, call);
        assert_eq!(receipt.outcome, Outcome::Failed(error), "{receipt:?}");
        let signer_before = before.account(&signer.account());
        let signer_after = self.state.account(&signer.account());
        assert_eq!(signer_after.nonce, signer_before.nonce + 1);
        assert_eq!(signer_after.free, signer_before.free.checked_sub(receipt.fee).unwrap());
        for (account, after) in self.state.accounts() {
            if *account != signer.account() {
                assert_eq!(*after, before.account(account), "account {account} changed");
            }
        }
        assert_eq!(self.state.subnets().count(), before.subnets().count());
        for (netuid, subnet) in self.state.subnets() {
            let old = before.subnet(*netuid).expect("no subnet appeared");
            assert_eq!(subnet.neurons.get(), old.neurons.get(), "subnet {netuid} neurons changed");
            let (mut a, mut b) = (subnet.info.get().clone(), old.info.get().clone());
            // Per-block bookkeeping moves regardless of the transaction.
            for info in [&mut a, &mut b] {
                info.burn = Rao::ZERO;
                info.pending_emission = Rao::ZERO;
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

    /// `total_issuance = Σ free + Σ locks + Σ pending emission`, to the RAO.
    pub fn check_conservation(&self) {
        let free: u128 = self.state.accounts().map(|(_, a)| u128::from(a.free.get())).sum();
        let held: u128 = self
            .state
            .subnets()
            .map(|(_, s)| {
                u128::from(s.info.get().locked.get())
                    + u128::from(s.info.get().pending_emission.get())
            })
            .sum();
        assert_eq!(u128::from(self.state.total_issuance().get()), free + held, "TAO not conserved");
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

/// The hash the test chain gives block `number`.
pub fn block_hash(number: BlockNumber) -> Hash {
    blake2_256(&number.get().to_le_bytes())
}

pub fn hash(byte: u8) -> Hash {
    Hash([byte; 32])
}
