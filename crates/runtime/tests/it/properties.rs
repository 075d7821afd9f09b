//! Properties over random transaction sequences: no panic, TAO conserved after every
//! block (checked by the chain harness), and the same blocks give the same state root.

use crate::chain::*;
use proptest::prelude::*;
use tao_primitives::{AlphaRao, BlockNumber, ChannelId, NetUid, Rao};
use tao_runtime::{apply_transaction, BlockBuilder, BlockContext};
use tao_types::{
    AxonInfo, Call, Event, Existence, Hyperparameter, IpType, Outcome, SignedTransaction, Voucher,
};

/// The keys random transactions are signed by: funded coldkeys, the subnet owner's keys,
/// genesis neurons' hotkeys, and strangers.
const SIGNERS: [u8; 14] = [1, 2, 3, 4, 5, 10, 11, 20, 21, 22, 30, 31, 40, 41];

fn netuid() -> impl Strategy<Value = NetUid> {
    (0u16..4).prop_map(NetUid::new)
}

fn account() -> impl Strategy<Value = u8> {
    prop_oneof![Just(1u8), Just(2), Just(9), Just(20), Just(30), 30u8..40]
}

fn base_call() -> BoxedStrategy<Call> {
    let uids = || proptest::collection::vec(0u16..8, 0..6);
    prop_oneof![
        (account(), 0u64..3_000 * TAO)
            .prop_map(|(d, a)| Call::Transfer { dest: id(d), amount: Rao::new(a) }),
        (account(), 0u64..100 * TAO)
            .prop_map(|(d, a)| Call::TransferKeepAlive { dest: id(d), amount: Rao::new(a) }),
        (account(), any::<bool>()).prop_map(|(d, keep)| Call::TransferAll {
            dest: id(d),
            existence: if keep { Existence::KeepAlive } else { Existence::AllowDeath }
        }),
        (30u8..40).prop_map(|h| Call::RegisterNetwork { hotkey: id(h) }),
        netuid().prop_map(|netuid| Call::StartCall { netuid }),
        netuid().prop_map(|netuid| Call::DissolveNetwork { netuid }),
        (netuid(), 30u8..40, proptest::option::of(0u64..3 * TAO)).prop_map(|(netuid, h, limit)| {
            Call::BurnedRegister { netuid, hotkey: id(h), limit_price: limit.map(Rao::new) }
        }),
        (netuid(), uids(), uids(), any::<u64>()).prop_map(|(netuid, uids, values, version_key)| {
            Call::SetWeights { netuid, uids, values, version_key: version_key % 3 }
        }),
        (netuid(), any::<[u8; 32]>())
            .prop_map(|(netuid, commit_hash)| Call::CommitWeights { netuid, commit_hash }),
        (netuid(), uids(), uids(), uids()).prop_map(|(netuid, uids, values, salt)| {
            Call::RevealWeights { netuid, uids, values, salt, version_key: 0 }
        }),
        (netuid(), any::<u32>(), 0u16..3).prop_map(|(netuid, ip, port)| Call::ServeAxon {
            netuid,
            axon: AxonInfo {
                version: 1,
                ip: u128::from(ip),
                port,
                ip_type: IpType::V4,
                protocol: 4
            }
        }),
        (netuid(), any::<u64>(), any::<[u8; 32]>()).prop_map(|(netuid, nonce, work)| {
            Call::PowRegister {
                netuid,
                coldkey: id(3),
                block_number: BlockNumber::new(nonce % 6),
                nonce,
                work,
            }
        }),
        (
            netuid(),
            prop_oneof![
                any::<u16>().prop_map(Hyperparameter::Tempo),
                any::<u16>().prop_map(Hyperparameter::MaxAllowedUids),
                any::<u16>().prop_map(Hyperparameter::ImmunityPeriod),
                any::<u64>().prop_map(Hyperparameter::WeightsRateLimit),
                any::<bool>().prop_map(Hyperparameter::CommitRevealEnabled),
                any::<bool>().prop_map(Hyperparameter::Yuma3Enabled),
                any::<bool>().prop_map(Hyperparameter::LiquidAlphaEnabled),
                any::<u16>().prop_map(Hyperparameter::MinNonImmuneUids),
            ]
        )
            .prop_map(|(netuid, value)| Call::SetHyperparameter { netuid, value }),
    ]
    .boxed()
}

fn staking_call() -> BoxedStrategy<Call> {
    // Mostly the live subnet and the genesis validators, so most calls go through.
    let netuid = || prop_oneof![3 => Just(NET), 1 => netuid()];
    let account = || prop_oneof![2 => Just(20u8), 2 => Just(21u8), 1 => account()];
    let amount = || prop_oneof![0u64..20 * TAO, 0u64..2_000 * TAO, any::<u64>()];
    prop_oneof![
        (account(), netuid(), amount(), proptest::option::of(0u64..3 * TAO)).prop_map(
            |(h, netuid, a, limit)| {
                Call::AddStake {
                    hotkey: id(h),
                    netuid,
                    amount: Rao::new(a),
                    limit_price: limit.map(Rao::new),
                }
            }
        ),
        (account(), netuid(), amount(), proptest::option::of(0u64..3 * TAO)).prop_map(
            |(h, netuid, a, limit)| {
                Call::RemoveStake {
                    hotkey: id(h),
                    netuid,
                    amount: AlphaRao::new(a),
                    limit_price: limit.map(Rao::new),
                }
            }
        ),
        account().prop_map(|h| Call::UnstakeAll { hotkey: id(h) }),
        (account(), account(), netuid(), netuid(), amount()).prop_map(
            |(a, b, from, to, amount)| Call::MoveStake {
                origin_hotkey: id(a),
                destination_hotkey: id(b),
                origin_netuid: from,
                destination_netuid: to,
                amount: AlphaRao::new(amount),
            }
        ),
        (account(), account(), netuid(), netuid(), amount()).prop_map(
            |(c, h, from, to, amount)| Call::TransferStake {
                destination_coldkey: id(c),
                hotkey: id(h),
                origin_netuid: from,
                destination_netuid: to,
                amount: AlphaRao::new(amount),
            }
        ),
        (account(), netuid(), netuid(), amount(), proptest::option::of(0u64..3 * TAO)).prop_map(
            |(h, from, to, amount, limit)| {
                Call::SwapStake {
                    hotkey: id(h),
                    origin_netuid: from,
                    destination_netuid: to,
                    amount: AlphaRao::new(amount),
                    limit_price: limit.map(Rao::new),
                }
            }
        ),
        (account(), any::<u16>(), any::<bool>()).prop_map(|(h, take, up)| if up {
            Call::IncreaseTake { hotkey: id(h), take }
        } else {
            Call::DecreaseTake { hotkey: id(h), take }
        }),
    ]
    .boxed()
}

/// Payment-channel calls: opens, top-ups and closes of the first few channel ids, and
/// claims with vouchers signed by any signer, for this chain or another.
fn channel_call() -> BoxedStrategy<Call> {
    let genesis = tao_runtime::genesis(&config_with_subnet(3, &[1_000, 500, 0], false))
        .unwrap()
        .genesis_hash();
    let channel = || (0u64..4).prop_map(ChannelId::new);
    let block = || (0u64..40).prop_map(BlockNumber::new);
    prop_oneof![
        (account(), prop_oneof![0u64..2 * TAO, 0u64..200 * TAO], block()).prop_map(
            |(payee, deposit, expiry)| Call::OpenChannel {
                payee: id(payee),
                deposit: Rao::new(deposit),
                expiry
            }
        ),
        (channel(), 0u64..5 * TAO, proptest::option::of(block())).prop_map(
            |(channel, amount, expiry)| Call::TopUpChannel {
                channel,
                amount: Rao::new(amount),
                expiry
            }
        ),
        (channel(), 0u64..210 * TAO, 0..SIGNERS.len(), any::<bool>()).prop_map(
            move |(channel, amount, signer, this_chain)| {
                let genesis_hash = if this_chain { genesis } else { tao_types::Hash([9; 32]) };
                let voucher = Voucher { genesis_hash, channel, amount: Rao::new(amount) };
                Call::ClaimChannel { voucher: voucher.sign(&key(SIGNERS[signer])) }
            }
        ),
        channel().prop_map(|channel| Call::CloseChannel { channel }),
    ]
    .boxed()
}

fn call() -> BoxedStrategy<Call> {
    prop_oneof![3 => base_call(), 2 => staking_call(), 2 => channel_call()].boxed()
}

/// Blocks of `(signer index, call)`.
fn blocks() -> impl Strategy<Value = Vec<Vec<(usize, Call)>>> {
    proptest::collection::vec(proptest::collection::vec((0..SIGNERS.len(), call()), 0..6), 1..12)
}

/// Runs the blocks (signing with the right nonces, including a few stale ones) and returns
/// every block's state root.
fn run(blocks: &[Vec<(usize, Call)>]) -> Vec<tao_types::Hash> {
    let mut chain = Chain::new(config_with_subnet(3, &[1_000, 500, 0], false));
    let mut roots = Vec::new();
    for block in blocks {
        let mut nonces: std::collections::BTreeMap<u8, u64> = Default::default();
        let txs: Vec<SignedTransaction> = block
            .iter()
            .map(|(signer, call)| {
                let signer = SIGNERS[*signer];
                let next = nonces.entry(signer).or_insert(chain.state.account(&id(signer)).nonce);
                let tx = chain.tx_with_nonce(&key(signer), *next, call.clone());
                *next += 1;
                tx
            })
            .collect();
        roots.push(chain.block(txs).state_root);
    }
    roots
}

/// What [`check_failures_change_only_the_fee`] checked: failed transactions, and those of
/// them in blocks where an epoch ran.
#[derive(Debug, Default)]
struct Checked {
    failed: usize,
    failed_in_epoch_blocks: usize,
}

/// Builds each block with `BlockBuilder`, each transaction applied to the state its block
/// has reached (after the block step, so in an epoch block after the epoch's payout), and
/// checks a failed one changed exactly its signer's fee and nonce and the chain's fee
/// bookkeeping: every other part of the state keeps its digest (`only_fee_and_nonce_changed`),
/// and an invalid one changed nothing.
fn check_failures_change_only_the_fee(
    blocks: &[Vec<(usize, Call)>],
) -> Result<Checked, TestCaseError> {
    let mut chain = Chain::new(config_with_subnet(3, &[1_000, 500, 0], false));
    let mut checked = Checked::default();
    for block in blocks {
        let number = chain.state.block().next().unwrap();
        let context = BlockContext {
            number,
            parent_hash: block_hash(BlockNumber::new(number.get() - 1)),
            credit: None,
        };
        let mut state = chain.state.clone();
        let mut builder = BlockBuilder::begin(&mut state, &context).unwrap();
        let mut failed = 0;
        for (signer, call) in block {
            let signer = SIGNERS[*signer];
            let before = builder.state().clone();
            let nonce = before.account(&id(signer)).nonce;
            let tx = chain.tx_with_nonce(&key(signer), nonce, call.clone());
            let mut after = before.clone();
            let receipt = apply_transaction(&mut after, &tx, builder.len() as u32);
            let kept = builder.push(&tx);
            // The dry run is what the block did.
            prop_assert_eq!(builder.state().state_root(), after.state_root());
            match &receipt.outcome {
                // An invalid transaction (such as a failing free call) changes nothing.
                Outcome::Invalid(_) => {
                    prop_assert!(kept.is_err());
                    prop_assert_eq!(after.state_root(), before.state_root());
                }
                Outcome::Failed(error) => {
                    prop_assert!(kept.is_ok());
                    prop_assert!(receipt.fee > Rao::ZERO);
                    prop_assert_eq!(receipt.fee, tao_runtime::fee(&tx));
                    let changed =
                        only_fee_and_nonce_changed(&before, &after, &id(signer), receipt.fee, 1);
                    prop_assert!(changed.is_ok(), "{:?} ({:?}): {:?}", call, error, changed);
                    failed += 1;
                }
                Outcome::Success => prop_assert!(kept.is_ok()),
            }
        }
        let outcome = builder.finish();
        chain.state = state;
        chain.check_conservation();
        checked.failed += failed;
        if outcome.events.iter().any(|e| matches!(e, Event::EpochCompleted { .. })) {
            checked.failed_in_epoch_blocks += failed;
        }
    }
    Ok(checked)
}

/// The property's check on a fixed sequence: every block fails a transfer, a stake removal
/// and a take increase (paying calls, so they are included and pay), and blocks 3 and 6
/// run the subnet's epoch (tempo 3), whose payout moves stakes in the same block.
#[test]
fn failures_in_epoch_blocks_change_only_the_fee() {
    let failing = vec![
        (0, Call::Transfer { dest: id(2), amount: Rao::new(u64::MAX / 2) }),
        (
            2,
            Call::RemoveStake {
                hotkey: id(20),
                netuid: NET,
                amount: AlphaRao::new(1_000_000 * TAO),
                limit_price: None,
            },
        ),
        (1, Call::IncreaseTake { hotkey: id(20), take: 1 }),
    ];
    let checked = check_failures_change_only_the_fee(&vec![failing; 7]).unwrap();
    assert_eq!(checked.failed, 21, "{checked:?}");
    assert_eq!(checked.failed_in_epoch_blocks, 6, "{checked:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn failed_transactions_change_only_the_fee(blocks in blocks()) {
        check_failures_change_only_the_fee(&blocks)?;
    }

    #[test]
    fn random_blocks_conserve_tao_and_replay_identically(blocks in blocks()) {
        let first = run(&blocks);
        let second = run(&blocks);
        prop_assert_eq!(first, second);
    }

    /// A block built transaction by transaction (`BlockBuilder`, invalid ones left out) is
    /// the block `execute_block` gives on the transactions kept: same receipts, events and
    /// state root; and none of its receipts is invalid.
    #[test]
    fn a_built_block_executes_to_the_same_outcome(blocks in blocks()) {
        let mut chain = Chain::new(config_with_subnet(3, &[1_000, 500, 0], false));
        for block in &blocks {
            let txs: Vec<SignedTransaction> = block
                .iter()
                .enumerate()
                .map(|(i, (signer, call))| {
                    let signer = SIGNERS[*signer];
                    // Some nonces stale or ahead, so that some candidates are invalid.
                    let nonce = chain.state.account(&id(signer)).nonce + (i as u64 % 3);
                    chain.tx_with_nonce(&key(signer), nonce.saturating_sub(1), call.clone())
                })
                .collect();
            let number = chain.state.block().next().unwrap();
            let context = BlockContext { number, parent_hash: block_hash(BlockNumber::new(number.get() - 1)), credit: None };
            let mut built_state = chain.state.clone();
            let mut builder = BlockBuilder::begin(&mut built_state, &context).unwrap();
            let kept: Vec<SignedTransaction> =
                txs.iter().filter(|tx| builder.push(tx).is_ok()).cloned().collect();
            prop_assert_eq!(builder.len(), kept.len());
            let built = builder.finish();
            prop_assert!(built.first_invalid().is_none());
            let executed = chain.block(kept);
            prop_assert!(executed.first_invalid().is_none());
            prop_assert_eq!(&built, &executed);
            prop_assert_eq!(built_state.state_root(), chain.state.state_root());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The fuzz target's property, in CI: arbitrary bytes, and valid transactions with
    /// bytes flipped, never panic the decoder or `execute_block`.
    #[test]
    fn arbitrary_and_mutated_transactions_never_panic(
        garbage in proptest::collection::vec(any::<u8>(), 0..300),
        call in call(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let mut chain = Chain::new(config_with_subnet(3, &[1_000], false));
        let mut bytes = codec::Encode::encode(&chain.tx(&key(1), call));
        for (index, value) in flips {
            let i = index.index(bytes.len());
            bytes[i] ^= value;
        }
        let txs: Vec<SignedTransaction> = [garbage, bytes]
            .iter()
            .filter_map(|b| SignedTransaction::decode_bounded(b).ok())
            .collect();
        let outcome = chain.block(txs.clone());
        prop_assert_eq!(outcome.receipts.len(), txs.len());
    }
}

/// Staking-only sequences between two coldkeys and two validators, across the live subnet
/// and root, over several epochs: TAO and alpha conserved after every block (checked by
/// the harness), and most operations succeed so the property has teeth.
fn staking_ops() -> impl Strategy<Value = Vec<(u8, u8, u8, u8, u64)>> {
    proptest::collection::vec((0u8..7, 3u8..5, 20u8..22, 0u8..2, 1u64..200 * TAO), 5..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn staking_sequences_conserve_tao_and_alpha(ops in staking_ops()) {
        let mut chain = Chain::new(config_with_subnet(3, &[1_000, 500], false));
        let mut succeeded = 0;
        let seed = [(0, 3, 20, 0, 50 * TAO), (0, 4, 21, 1, 50 * TAO)];
        for (op, signer, hotkey, net, amount) in seed.into_iter().chain(ops) {
            let netuid = if net == 0 { NET } else { NetUid::ROOT };
            let other = if hotkey == 20 { 21 } else { 20 };
            let call = match op {
                0 | 1 => Call::AddStake { hotkey: id(hotkey), netuid, amount: Rao::new(amount), limit_price: None },
                2 => Call::RemoveStake { hotkey: id(hotkey), netuid, amount: AlphaRao::new(amount / 2), limit_price: None },
                3 => Call::UnstakeAll { hotkey: id(hotkey) },
                4 => Call::MoveStake { origin_hotkey: id(hotkey), destination_hotkey: id(other), origin_netuid: netuid, destination_netuid: NET, amount: AlphaRao::new(amount / 3) },
                5 => Call::TransferStake { destination_coldkey: id(7 - signer), hotkey: id(hotkey), origin_netuid: netuid, destination_netuid: netuid, amount: AlphaRao::new(amount / 3) },
                _ => Call::SwapStake { hotkey: id(hotkey), origin_netuid: netuid, destination_netuid: if netuid == NET { NetUid::ROOT } else { NET }, amount: AlphaRao::new(amount / 3), limit_price: None },
            };
            if chain.run(&key(signer), call).outcome == Outcome::Success {
                succeeded += 1;
            }
        }
        prop_assert!(succeeded >= 2, "the seeding stakes succeed");
    }
}
