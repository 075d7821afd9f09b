//! Payment channels: a payer locks TAO for a payee, pays it off chain with signed
//! cumulative vouchers (`tao_types::Voucher`), and the chain settles once.
//!
//! ```text
//! open_channel(payee, deposit, expiry)   payer's free −deposit, channel {deposit, claimed 0}
//! top_up_channel(id, amount, expiry?)    payer's free −amount, deposit +amount, expiry later
//! claim_channel(voucher)                 payee's free +(voucher − claimed), claimed = voucher
//! close_channel(id)   (block ≥ expiry)   payer's free +(deposit − claimed), channel removed
//! ```
//!
//! Invariants:
//! * `claimed ≤ deposit` always; a claim pays only `voucher − claimed`, so a voucher pays at
//!   most once and never above the deposit; a closed channel is removed and its id never
//!   reused (ids come from a counter that only grows), so its vouchers are worthless.
//! * TAO is conserved: a channel's `deposit − claimed` is counted in
//!   [`State::tao_holdings`]; opening, topping up, claiming and closing move TAO between
//!   free balances and channels, never create or destroy it.
//! * Bounded: at most [`MAX_CHANNELS_PER_PAYER`] open channels per payer and
//!   [`MAX_OPEN_CHANNELS`] in all; expiries at most [`MAX_CHANNEL_LIFETIME`] blocks ahead;
//!   deposits at least [`MIN_CHANNEL_DEPOSIT`]. Every call pays the usual fee.
//! * Every handler validates everything before its first write.

use crate::{cached::Cached, State, StatePart};
use codec::{Decode, Encode};
use std::collections::BTreeMap;
use tao_primitives::{AccountId, BlockNumber, ChannelId, Rao};
use tao_types::{DispatchError, Event, Hash, SignedVoucher};

/// Open channels one payer may hold at once.
pub const MAX_CHANNELS_PER_PAYER: u32 = 64;
/// Open channels the chain holds at once.
pub const MAX_OPEN_CHANNELS: u32 = 100_000;
/// The latest expiry, in blocks after the current one (180 days of 12 s blocks).
pub const MAX_CHANNEL_LIFETIME: u64 = 1_296_000;
/// The least a channel may be opened with (0.001 TAO).
pub const MIN_CHANNEL_DEPOSIT: Rao = Rao::new(1_000_000);

/// Buckets of the channel maps (by the id's low byte, and by the payer's first byte), so a
/// block re-hashes only the buckets it touched.
const BUCKETS: usize = 256;

/// One open payment channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Channel {
    /// Who locked the deposit (and signs vouchers).
    pub payer: AccountId,
    /// Who may be paid.
    pub payee: AccountId,
    /// TAO locked so far (top-ups included).
    pub deposit: Rao,
    /// TAO paid to the payee so far (`≤ deposit`).
    pub claimed: Rao,
    /// The block from which the payer may close.
    pub expiry: BlockNumber,
    /// The block it was opened in.
    pub opened_at: BlockNumber,
}

impl Channel {
    /// What is still locked: `deposit − claimed`.
    pub fn remaining(&self) -> Rao {
        self.deposit.saturating_sub(self.claimed)
    }
}

/// The chain's channel counter and count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct ChannelMeta {
    /// The id the next channel gets.
    pub next_id: u64,
    /// Open channels.
    pub open: u32,
}

/// Every open channel, and how many each payer holds.
#[derive(Clone, Debug)]
pub struct ChannelStore {
    pub(crate) meta: Cached<ChannelMeta>,
    pub(crate) by_id: Vec<Cached<BTreeMap<ChannelId, Channel>>>,
    pub(crate) per_payer: Vec<Cached<BTreeMap<AccountId, u32>>>,
}

impl Default for ChannelStore {
    fn default() -> Self {
        Self {
            meta: Cached::default(),
            by_id: vec![Cached::default(); BUCKETS],
            per_payer: vec![Cached::default(); BUCKETS],
        }
    }
}

fn id_bucket(id: ChannelId) -> usize {
    usize::from(id.get().to_le_bytes()[0])
}

fn payer_bucket(payer: &AccountId) -> usize {
    usize::from(payer.as_bytes()[0])
}

impl ChannelStore {
    /// The counter and count.
    pub fn meta(&self) -> ChannelMeta {
        *self.meta.get()
    }

    /// An open channel.
    pub fn get(&self, id: ChannelId) -> Option<&Channel> {
        self.by_id.get(id_bucket(id)).and_then(|b| b.get().get(&id))
    }

    /// Every open channel (by bucket, then id; not in global id order).
    pub fn iter(&self) -> impl Iterator<Item = (&ChannelId, &Channel)> {
        self.by_id.iter().flat_map(|b| b.get().iter())
    }

    /// Open channels of `payer`.
    pub fn count_of(&self, payer: &AccountId) -> u32 {
        self.per_payer
            .get(payer_bucket(payer))
            .and_then(|b| b.get().get(payer).copied())
            .unwrap_or(0)
    }

    /// TAO locked in all channels.
    pub fn locked(&self) -> u128 {
        self.iter().map(|(_, c)| u128::from(c.remaining().get())).sum()
    }

    /// Appends every part with its digest to `parts`, in state-root order.
    pub(crate) fn part_digests(&self, parts: &mut Vec<(StatePart, Hash)>) {
        parts.push((StatePart::ChannelMeta, self.meta.digest()));
        for (k, bucket) in (0..=u8::MAX).zip(&self.by_id) {
            parts.push((StatePart::ChannelsById(k), bucket.digest()));
        }
        for (k, bucket) in (0..=u8::MAX).zip(&self.per_payer) {
            parts.push((StatePart::ChannelsPerPayer(k), bucket.digest()));
        }
    }

    fn put(&mut self, id: ChannelId, channel: Channel) {
        if let Some(bucket) = self.by_id.get_mut(id_bucket(id)) {
            bucket.make_mut().insert(id, channel);
        }
    }

    fn remove(&mut self, id: ChannelId) {
        if let Some(bucket) = self.by_id.get_mut(id_bucket(id)) {
            bucket.make_mut().remove(&id);
        }
    }

    fn set_count(&mut self, payer: &AccountId, count: u32) {
        if let Some(bucket) = self.per_payer.get_mut(payer_bucket(payer)) {
            if count == 0 {
                bucket.make_mut().remove(payer);
            } else {
                bucket.make_mut().insert(*payer, count);
            }
        }
    }
}

/// An expiry is valid if it is after `now` and at most [`MAX_CHANNEL_LIFETIME`] ahead.
fn check_expiry(now: BlockNumber, expiry: BlockNumber) -> Result<(), DispatchError> {
    let latest = now.checked_add(MAX_CHANNEL_LIFETIME).ok_or(DispatchError::Overflow)?;
    if expiry <= now || expiry > latest {
        return Err(DispatchError::ChannelExpiryInvalid);
    }
    Ok(())
}

/// Opens a channel from `payer` to `payee`.
pub(crate) fn open_channel(
    state: &mut State,
    payer: AccountId,
    payee: AccountId,
    deposit: Rao,
    expiry: BlockNumber,
) -> Result<Vec<Event>, DispatchError> {
    if payee == payer {
        return Err(DispatchError::ChannelToSelf);
    }
    if deposit < MIN_CHANNEL_DEPOSIT {
        return Err(DispatchError::ChannelDepositTooLow);
    }
    let now = state.block();
    check_expiry(now, expiry)?;
    let meta = state.channels.meta();
    if meta.open >= MAX_OPEN_CHANNELS {
        return Err(DispatchError::ChannelLimitReached);
    }
    let count = state.channels.count_of(&payer);
    if count >= MAX_CHANNELS_PER_PAYER {
        return Err(DispatchError::TooManyChannels);
    }
    let free = state.account(&payer).free;
    let remaining = free.checked_sub(deposit).ok_or(DispatchError::InsufficientBalance)?;
    let next_id = meta.next_id.checked_add(1).ok_or(DispatchError::Overflow)?;
    let open = meta.open.checked_add(1).ok_or(DispatchError::Overflow)?;
    let count = count.checked_add(1).ok_or(DispatchError::Overflow)?;
    // Validated; now write.
    let id = ChannelId::new(meta.next_id);
    state.account_mut(&payer).free = remaining;
    *state.channels.meta.make_mut() = ChannelMeta { next_id, open };
    state.channels.set_count(&payer, count);
    state
        .channels
        .put(id, Channel { payer, payee, deposit, claimed: Rao::ZERO, expiry, opened_at: now });
    Ok(vec![Event::ChannelOpened { channel: id, payer, payee, deposit, expiry }])
}

/// Adds `amount` to a channel's deposit and optionally moves its expiry later.
pub(crate) fn top_up_channel(
    state: &mut State,
    signer: AccountId,
    id: ChannelId,
    amount: Rao,
    expiry: Option<BlockNumber>,
) -> Result<Vec<Event>, DispatchError> {
    let mut channel = *state.channels.get(id).ok_or(DispatchError::ChannelNotFound)?;
    if channel.payer != signer {
        return Err(DispatchError::NotChannelPayer);
    }
    if let Some(expiry) = expiry {
        check_expiry(state.block(), expiry)?;
        if expiry < channel.expiry {
            return Err(DispatchError::ChannelExpiryInvalid);
        }
        channel.expiry = expiry;
    }
    if amount.is_zero() && expiry.is_none() {
        return Err(DispatchError::InvalidValue);
    }
    let remaining = state
        .account(&signer)
        .free
        .checked_sub(amount)
        .ok_or(DispatchError::InsufficientBalance)?;
    channel.deposit = channel.deposit.checked_add(amount).ok_or(DispatchError::Overflow)?;
    // Validated; now write.
    state.account_mut(&signer).free = remaining;
    state.channels.put(id, channel);
    Ok(vec![Event::ChannelToppedUp {
        channel: id,
        amount,
        deposit: channel.deposit,
        expiry: channel.expiry,
    }])
}

/// Pays the payee what `voucher` gives beyond what was claimed (any signer; fee paid).
pub(crate) fn claim_channel(
    state: &mut State,
    voucher: &SignedVoucher,
) -> Result<Vec<Event>, DispatchError> {
    let id = voucher.voucher.channel;
    let mut channel = *state.channels.get(id).ok_or(DispatchError::ChannelNotFound)?;
    let amount = voucher.voucher.amount;
    // Cheap checks before the signature.
    if amount > channel.deposit {
        return Err(DispatchError::VoucherAboveDeposit);
    }
    let paid = amount.checked_sub(channel.claimed).filter(|paid| !paid.is_zero());
    let paid = paid.ok_or(DispatchError::VoucherAlreadyClaimed)?;
    if voucher.voucher.genesis_hash != state.genesis_hash() || !voucher.verify(&channel.payer) {
        return Err(DispatchError::InvalidVoucherSignature);
    }
    let credited =
        state.account(&channel.payee).free.checked_add(paid).ok_or(DispatchError::Overflow)?;
    // Validated; now write.
    channel.claimed = amount;
    state.account_mut(&channel.payee).free = credited;
    state.channels.put(id, channel);
    Ok(vec![Event::ChannelClaimed {
        channel: id,
        payee: channel.payee,
        amount: paid,
        claimed: amount,
    }])
}

/// Closes an expired channel: the payer gets back `deposit − claimed`; the channel is
/// removed (its id is never reused, so later claims fail).
pub(crate) fn close_channel(
    state: &mut State,
    signer: AccountId,
    id: ChannelId,
) -> Result<Vec<Event>, DispatchError> {
    let channel = *state.channels.get(id).ok_or(DispatchError::ChannelNotFound)?;
    if channel.payer != signer {
        return Err(DispatchError::NotChannelPayer);
    }
    if state.block() < channel.expiry {
        return Err(DispatchError::ChannelNotExpired);
    }
    let refund = channel.remaining();
    let credited =
        state.account(&signer).free.checked_add(refund).ok_or(DispatchError::Overflow)?;
    let meta = state.channels.meta();
    let open = meta.open.checked_sub(1).ok_or(DispatchError::Overflow)?;
    let count = state.channels.count_of(&signer).checked_sub(1).ok_or(DispatchError::Overflow)?;
    // Validated; now write.
    state.account_mut(&signer).free = credited;
    state.channels.remove(id);
    *state.channels.meta.make_mut() = ChannelMeta { open, ..meta };
    state.channels.set_count(&signer, count);
    Ok(vec![Event::ChannelClosed { channel: id, payer: signer, refund, claimed: channel.claimed }])
}
