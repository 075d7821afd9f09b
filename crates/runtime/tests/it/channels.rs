//! Payment channels: open, top up, claim by voucher, close after expiry; every attack of
//! issue 17 refused with nothing changed but fee and nonce (the harness's `fails` checks
//! every account, subnet and channel); TAO conserved to the RAO.

use crate::chain::*;
use proptest::prelude::*;
use tao_primitives::{BlockNumber, ChannelId, Rao};
use tao_runtime::channels::{MAX_CHANNELS_PER_PAYER, MAX_CHANNEL_LIFETIME, MIN_CHANNEL_DEPOSIT};
use tao_types::{Call, DispatchError, Event, Hash, Keypair, Receipt, SignedVoucher, Voucher};

const PAYER: u8 = 2;
const PAYEE: u8 = 3;

fn open(chain: &mut Chain, payer: u8, payee: u8, deposit: u64, lifetime: u64) -> ChannelId {
    let expiry = BlockNumber::new(chain.state.block().get() + 1 + lifetime);
    let receipt = chain.ok(
        &key(payer),
        Call::OpenChannel { payee: id(payee), deposit: Rao::new(deposit), expiry },
    );
    match receipt.events.as_slice() {
        [Event::ChannelOpened { channel, payer: p, payee: q, deposit: d, expiry: e }] => {
            assert_eq!((*p, *q, d.get(), *e), (id(payer), id(payee), deposit, expiry));
            *channel
        }
        other => panic!("unexpected events {other:?}"),
    }
}

fn voucher(chain: &Chain, signer: &Keypair, channel: ChannelId, amount: u64) -> SignedVoucher {
    Voucher { genesis_hash: chain.state.genesis_hash(), channel, amount: Rao::new(amount) }
        .sign(signer)
}

fn claim(voucher: SignedVoucher) -> Call {
    Call::ClaimChannel { voucher }
}

fn paid(receipt: &Receipt) -> u64 {
    match receipt.events.as_slice() {
        [Event::ChannelClaimed { amount, .. }] => amount.get(),
        other => panic!("unexpected events {other:?}"),
    }
}

#[test]
fn a_channel_pays_by_voucher_and_refunds_the_rest_to_the_rao() {
    let mut chain = Chain::standard();
    let (payer0, payee0) = (chain.free(PAYER), chain.free(PAYEE));
    let mut fees = 0u64;
    let channel = open(&mut chain, PAYER, PAYEE, 10 * TAO, 5);
    fees += chain.last.as_ref().unwrap().receipts[0].fee.get();
    let c = *chain.state.channels().get(channel).unwrap();
    assert_eq!(
        (c.payer, c.payee, c.deposit, c.claimed),
        (id(PAYER), id(PAYEE), Rao::new(10 * TAO), Rao::ZERO)
    );
    assert_eq!(chain.free(PAYER).get(), payer0.get() - 10 * TAO - fees);

    // Top up and extend.
    let later = BlockNumber::new(c.expiry.get() + 3);
    let r = chain.ok(
        &key(PAYER),
        Call::TopUpChannel { channel, amount: Rao::new(2 * TAO), expiry: Some(later) },
    );
    fees += r.fee.get();
    assert_eq!(
        r.events,
        vec![Event::ChannelToppedUp {
            channel,
            amount: Rao::new(2 * TAO),
            deposit: Rao::new(12 * TAO),
            expiry: later
        }]
    );

    // Many requests: the payee keeps only the latest cumulative voucher, claims in two steps.
    let payer = key(PAYER);
    let mut payee_fees = 0u64;
    let r = chain.ok(&key(PAYEE), claim(voucher(&chain, &payer, channel, 3 * TAO + 7)));
    payee_fees += r.fee.get();
    assert_eq!(paid(&r), 3 * TAO + 7);
    let r = chain.ok(&key(PAYEE), claim(voucher(&chain, &payer, channel, 5 * TAO + 11)));
    payee_fees += r.fee.get();
    assert_eq!(paid(&r), 2 * TAO + 4);
    // Anyone may submit a claim (and pay its fee): the TAO goes to the payee.
    let stranger_before = chain.free(4);
    let r = chain.ok(&key(4), claim(voucher(&chain, &payer, channel, 6 * TAO)));
    assert_eq!(paid(&r), TAO - 11);
    assert_eq!(chain.free(4).get(), stranger_before.get() - r.fee.get());

    // Closing: not before the expiry; at it, the rest goes back.
    while chain.state.block().get() + 1 < later.get() {
        chain.fails(&key(PAYER), Call::CloseChannel { channel }, DispatchError::ChannelNotExpired);
        fees += chain.last.as_ref().unwrap().receipts[0].fee.get();
    }
    let r = chain.ok(&key(PAYER), Call::CloseChannel { channel });
    fees += r.fee.get();
    assert_eq!(
        r.events,
        vec![Event::ChannelClosed {
            channel,
            payer: id(PAYER),
            refund: Rao::new(6 * TAO),
            claimed: Rao::new(6 * TAO)
        }]
    );
    assert!(chain.state.channels().get(channel).is_none());
    assert_eq!(chain.state.channels().meta().open, 0);
    // deposit (12) = claimed (6) + refunded (6); each side's balance exact to the RAO.
    assert_eq!(chain.free(PAYER).get(), payer0.get() - 6 * TAO - fees);
    assert_eq!(chain.free(PAYEE).get(), payee0.get() + 6 * TAO - payee_fees);

    // The id is never reused: a new channel gets a new one, and the old voucher is worthless.
    let next = open(&mut chain, PAYER, PAYEE, TAO, 5);
    assert_ne!(next, channel);
    chain.fails(
        &key(PAYEE),
        claim(voucher(&chain, &payer, channel, 7 * TAO)),
        DispatchError::ChannelNotFound,
    );
}

#[test]
fn every_attack_is_refused_and_changes_nothing_but_the_fee() {
    let mut chain = Chain::standard();
    let payer = key(PAYER);
    let channel = open(&mut chain, PAYER, PAYEE, 10 * TAO, 20);
    let other = open(&mut chain, PAYER, 4, 10 * TAO, 20);
    let good = voucher(&chain, &payer, channel, 4 * TAO);
    chain.ok(&key(PAYEE), claim(good));

    // A replayed voucher, and claiming twice.
    chain.fails(&key(PAYEE), claim(good), DispatchError::VoucherAlreadyClaimed);
    // An older (smaller) voucher.
    let older = voucher(&chain, &payer, channel, 3 * TAO);
    chain.fails(&key(PAYEE), claim(older), DispatchError::VoucherAlreadyClaimed);
    // Above the deposit.
    let above = voucher(&chain, &payer, channel, 10 * TAO + 1);
    chain.fails(&key(PAYEE), claim(above), DispatchError::VoucherAboveDeposit);
    // A voucher of another channel, moved onto this one (and the reverse).
    let mut moved = voucher(&chain, &payer, other, 5 * TAO);
    moved.voucher.channel = channel;
    chain.fails(&key(PAYEE), claim(moved), DispatchError::InvalidVoucherSignature);
    let mut moved = voucher(&chain, &payer, channel, 5 * TAO);
    moved.voucher.channel = other;
    chain.fails(&key(4), claim(moved), DispatchError::InvalidVoucherSignature);
    // A voucher for another chain.
    let foreign = Voucher { genesis_hash: Hash([9; 32]), channel, amount: Rao::new(5 * TAO) };
    chain.fails(&key(PAYEE), claim(foreign.sign(&payer)), DispatchError::InvalidVoucherSignature);
    // A forged signature: the payee's own, a stranger's, a tampered amount, garbage.
    for forger in [key(PAYEE), key(5)] {
        let forged = voucher(&chain, &forger, channel, 5 * TAO);
        chain.fails(&key(PAYEE), claim(forged), DispatchError::InvalidVoucherSignature);
    }
    let mut tampered = voucher(&chain, &payer, channel, 5 * TAO);
    tampered.voucher.amount = Rao::new(9 * TAO);
    chain.fails(&key(PAYEE), claim(tampered), DispatchError::InvalidVoucherSignature);
    tampered.signature = tao_types::Signature([0xAB; 64]);
    chain.fails(&key(PAYEE), claim(tampered), DispatchError::InvalidVoucherSignature);
    // An unknown channel.
    let unknown = voucher(&chain, &payer, ChannelId::new(99), TAO);
    chain.fails(&key(PAYEE), claim(unknown), DispatchError::ChannelNotFound);

    // Closing before expiry, or by someone else; topping up someone else's channel.
    chain.fails(&key(PAYER), Call::CloseChannel { channel }, DispatchError::ChannelNotExpired);
    chain.fails(&key(PAYEE), Call::CloseChannel { channel }, DispatchError::NotChannelPayer);
    let top_up = |amount, expiry| Call::TopUpChannel { channel, amount: Rao::new(amount), expiry };
    chain.fails(&key(PAYEE), top_up(TAO, None), DispatchError::NotChannelPayer);
    chain.fails(&key(PAYER), top_up(0, None), DispatchError::InvalidValue);
    chain.fails(&key(PAYER), top_up(100_000 * TAO, None), DispatchError::InsufficientBalance);
    let expiry = chain.state.channels().get(channel).unwrap().expiry;
    chain.fails(
        &key(PAYER),
        top_up(TAO, Some(BlockNumber::new(expiry.get() - 1))),
        DispatchError::ChannelExpiryInvalid,
    );

    // Claiming after close.
    while chain.state.block() < expiry {
        chain.advance(1);
    }
    chain.fails(&key(PAYEE), Call::CloseChannel { channel }, DispatchError::NotChannelPayer);
    chain.ok(&key(PAYER), Call::CloseChannel { channel });
    let late = voucher(&chain, &payer, channel, 6 * TAO);
    chain.fails(&key(PAYEE), claim(late), DispatchError::ChannelNotFound);
    chain.fails(&key(PAYER), Call::CloseChannel { channel }, DispatchError::ChannelNotFound);
    chain.fails(&key(PAYER), top_up(TAO, None), DispatchError::ChannelNotFound);
}

#[test]
fn opening_is_bounded_and_checked() {
    let mut chain = Chain::standard();
    let open_call = |payee: u8, deposit: u64, expiry: BlockNumber| Call::OpenChannel {
        payee: id(payee),
        deposit: Rao::new(deposit),
        expiry,
    };
    let soon = BlockNumber::new(50);
    chain.fails(&key(PAYER), open_call(PAYER, TAO, soon), DispatchError::ChannelToSelf);
    chain.fails(
        &key(PAYER),
        open_call(PAYEE, MIN_CHANNEL_DEPOSIT.get() - 1, soon),
        DispatchError::ChannelDepositTooLow,
    );
    chain.fails(
        &key(PAYER),
        open_call(PAYEE, 20_000 * TAO, soon),
        DispatchError::InsufficientBalance,
    );
    // The expiry: after the current block, at most MAX_CHANNEL_LIFETIME ahead.
    let block = chain.state.block().get() + 1;
    chain.fails(
        &key(PAYER),
        open_call(PAYEE, TAO, BlockNumber::new(block)),
        DispatchError::ChannelExpiryInvalid,
    );
    let block = chain.state.block().get() + 1;
    chain.fails(
        &key(PAYER),
        open_call(PAYEE, TAO, BlockNumber::new(block + MAX_CHANNEL_LIFETIME + 1)),
        DispatchError::ChannelExpiryInvalid,
    );
    let block = chain.state.block().get() + 1;
    chain.ok(&key(PAYER), open_call(PAYEE, TAO, BlockNumber::new(block + MAX_CHANNEL_LIFETIME)));
    // At most MAX_CHANNELS_PER_PAYER open per payer (in one block: one nonce each).
    let txs: Vec<_> = (1..MAX_CHANNELS_PER_PAYER)
        .map(|i| {
            let nonce = chain.state.account(&id(PAYER)).nonce + u64::from(i) - 1;
            chain.tx_with_nonce(
                &key(PAYER),
                nonce,
                open_call(PAYEE, MIN_CHANNEL_DEPOSIT.get(), soon),
            )
        })
        .collect();
    let outcome = chain.block(txs);
    assert!(outcome.receipts.iter().all(|r| r.outcome == tao_types::Outcome::Success));
    assert_eq!(chain.state.channels().count_of(&id(PAYER)), MAX_CHANNELS_PER_PAYER);
    chain.fails(&key(PAYER), open_call(PAYEE, TAO, soon), DispatchError::TooManyChannels);
    // Another payer is not limited by the first; ids are a counter.
    let id4 = open(&mut chain, 4, PAYEE, TAO, 5);
    assert_eq!(id4, ChannelId::new(u64::from(MAX_CHANNELS_PER_PAYER)));
    assert_eq!(chain.state.channels().meta().open, MAX_CHANNELS_PER_PAYER + 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random top-ups, vouchers (some stale, some above the deposit), claims and a close:
    /// deposit = claimed + refunded to the RAO, the payee received exactly the highest
    /// voucher claimed, fees are burned, and the chain harness checks conservation after
    /// every block.
    #[test]
    fn deposits_are_claimed_plus_refunded_to_the_rao(
        deposit in MIN_CHANNEL_DEPOSIT.get()..50 * TAO,
        steps in proptest::collection::vec((0u8..3, 0u64..60 * TAO), 1..12),
    ) {
        let mut chain = Chain::standard();
        let issuance0 = chain.state.total_issuance().get();
        let fees0 = chain.state.chain().total_fees.get();
        let (payer0, payee0) = (chain.free(PAYER).get(), chain.free(PAYEE).get());
        let payer = key(PAYER);
        let channel = open(&mut chain, PAYER, PAYEE, deposit, 3);
        let mut total_deposit = deposit;
        let (mut payer_fees, mut payee_fees) = (chain.last.as_ref().unwrap().receipts[0].fee.get(), 0);
        let mut claimed = 0u64;
        for (kind, amount) in steps {
            let receipt = match kind {
                0 => {
                    let amount = amount / 10;
                    let r = chain.run(&payer, Call::TopUpChannel { channel, amount: Rao::new(amount), expiry: None });
                    if r.outcome == tao_types::Outcome::Success { total_deposit += amount; }
                    payer_fees += r.fee.get();
                    r
                }
                _ => {
                    let r = chain.run(&key(PAYEE), claim(voucher(&chain, &payer, channel, amount)));
                    let ok = amount <= total_deposit && amount > claimed;
                    prop_assert_eq!(r.outcome == tao_types::Outcome::Success, ok, "{:?}", r);
                    if ok { claimed = amount; }
                    payee_fees += r.fee.get();
                    r
                }
            };
            let _ = receipt;
        }
        while chain.state.block() < chain.state.channels().get(channel).unwrap().expiry {
            chain.advance(1);
        }
        let r = chain.ok(&payer, Call::CloseChannel { channel });
        payer_fees += r.fee.get();
        let refund = match r.events.as_slice() {
            [Event::ChannelClosed { refund, claimed: c, .. }] => {
                prop_assert_eq!(c.get(), claimed);
                refund.get()
            }
            other => panic!("{other:?}"),
        };
        prop_assert_eq!(total_deposit, claimed + refund);
        prop_assert_eq!(chain.free(PAYER).get(), payer0 - total_deposit + refund - payer_fees);
        prop_assert_eq!(chain.free(PAYEE).get(), payee0 + claimed - payee_fees);
        let fees = chain.state.chain().total_fees.get() - fees0;
        prop_assert_eq!(fees, payer_fees + payee_fees);
        // No subnet: nothing is minted, so issuance fell by exactly the fees burned.
        prop_assert_eq!(chain.state.total_issuance().get(), issuance0 - fees);
        prop_assert_eq!(chain.state.tao_holdings().channels, 0);
    }
}
