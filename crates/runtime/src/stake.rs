//! Stake bookkeeping: share pools per (hotkey, subnet) and root stake per hotkey
//! (`chain-protocol.md` §6.1).
//!
//! A hotkey's alpha on a subnet is one pool: nominators hold shares of it, so dividends
//! added "for all" raise every nominator's stake pro rata without touching their shares.

use codec::{Decode, Encode};
use num_bigint::BigUint;
use std::collections::BTreeMap;
use tao_primitives::AccountId;

/// `a × b / c`, floored, in exact integer arithmetic (0 if `c` is 0).
#[allow(clippy::arithmetic_side_effects)] // BigUint cannot overflow; c ≠ 0 is checked
fn mul_div(a: u128, b: u128, c: u128) -> u128 {
    if c == 0 {
        return 0;
    }
    u128::try_from(BigUint::from(a) * BigUint::from(b) / BigUint::from(c)).unwrap_or(u128::MAX)
}

/// `a × b / c`, rounded up.
#[allow(clippy::arithmetic_side_effects)] // as above
fn mul_div_ceil(a: u128, b: u128, c: u128) -> u128 {
    if c == 0 {
        return 0;
    }
    let c_big = BigUint::from(c);
    let product = BigUint::from(a) * BigUint::from(b);
    let ceil = (product + &c_big - 1u8) / c_big;
    u128::try_from(ceil).unwrap_or(u128::MAX)
}

/// One hotkey's alpha on one subnet, shared among coldkeys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct StakePool {
    /// Alpha in the pool (`TotalHotkeyAlpha`).
    pub total: u64,
    /// Shares outstanding.
    pub shares_total: u128,
    /// Shares per coldkey.
    pub shares: BTreeMap<AccountId, u128>,
}

impl StakePool {
    /// A coldkey's alpha: `floor(total × shares / shares_total)`.
    pub fn value(&self, coldkey: &AccountId) -> u64 {
        let shares = self.shares.get(coldkey).copied().unwrap_or(0);
        u64::try_from(mul_div(u128::from(self.total), shares, self.shares_total))
            .unwrap_or(u64::MAX)
    }

    /// Adds `alpha` for one coldkey (new shares at the pool's current rate).
    pub fn add(&mut self, coldkey: AccountId, alpha: u64) {
        if alpha == 0 {
            return;
        }
        let new_shares = if self.shares_total == 0 || self.total == 0 {
            // An empty pool (or one whose value went to zero) restarts at 1 share per alpha.
            self.shares.clear();
            self.shares_total = 0;
            self.total = 0;
            u128::from(alpha)
        } else {
            mul_div(u128::from(alpha), self.shares_total, u128::from(self.total))
        };
        *self.shares.entry(coldkey).or_insert(0) =
            self.shares.get(&coldkey).copied().unwrap_or(0).saturating_add(new_shares);
        self.shares_total = self.shares_total.saturating_add(new_shares);
        self.total = self.total.saturating_add(alpha);
    }

    /// Adds `alpha` for everyone (dividends): every coldkey's value grows pro rata. With no
    /// shareholders the alpha goes to `fallback`.
    pub fn add_for_all(&mut self, alpha: u64, fallback: AccountId) {
        if self.shares_total == 0 {
            self.add(fallback, alpha);
        } else {
            self.total = self.total.saturating_add(alpha);
        }
    }

    /// Removes up to `alpha` of a coldkey's stake; returns what the coldkey gets and what
    /// rounding dust left the pool with the last shareholder (to recycle). Asking for the
    /// whole value (or more) removes every share.
    pub fn remove(&mut self, coldkey: &AccountId, alpha: u64) -> Removal {
        let value = self.value(coldkey);
        let shares = self.shares.get(coldkey).copied().unwrap_or(0);
        let (removed, burned_shares) = if alpha >= value {
            (value, shares)
        } else {
            let needed = mul_div_ceil(u128::from(alpha), self.shares_total, u128::from(self.total))
                .min(shares);
            (alpha, needed)
        };
        if burned_shares >= shares {
            self.shares.remove(coldkey);
        } else if let Some(s) = self.shares.get_mut(coldkey) {
            *s = s.saturating_sub(burned_shares);
        }
        self.shares_total = self.shares_total.saturating_sub(burned_shares);
        self.total = self.total.saturating_sub(removed);
        let mut dust = 0;
        if self.shares_total == 0 {
            // The last shareholder left: the rounding dust leaves the pool too.
            dust = self.total;
            self.total = 0;
        }
        Removal { paid: removed, dust }
    }

    /// Coldkeys with stake, in key order.
    pub fn coldkeys(&self) -> impl Iterator<Item = &AccountId> {
        self.shares.keys()
    }
}

/// What leaving a pool gave back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Removal {
    /// Alpha the coldkey gets.
    pub paid: u64,
    /// Rounding dust the pool lost with its last shareholder.
    pub dust: u64,
}

/// TAO staked on root (1:1, no pool) to one hotkey.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct RootStake {
    /// All root TAO on the hotkey.
    pub total: u64,
    /// Per coldkey.
    pub by_coldkey: BTreeMap<AccountId, u64>,
}

/// A hotkey's delegate settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Delegate {
    /// Take on dividends, a u16 proportion.
    pub take: u16,
    /// Block the take last changed, up or down (a raise waits `TxDelegateTakeRateLimit`
    /// blocks after it).
    pub last_change: tao_primitives::BlockNumber,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(n: u8) -> AccountId {
        AccountId::new([n; 32])
    }

    #[test]
    fn nominators_share_dividends_pro_rata() {
        let mut pool = StakePool::default();
        pool.add(c(1), 300);
        pool.add(c(2), 100);
        pool.add_for_all(400, c(9));
        assert_eq!(pool.value(&c(1)), 600);
        assert_eq!(pool.value(&c(2)), 200);
        assert_eq!(pool.remove(&c(2), 50).paid, 50);
        assert_eq!(pool.value(&c(2)), 150);
        assert_eq!(pool.remove(&c(1), u64::MAX).paid, 600);
        assert_eq!(pool.remove(&c(2), u64::MAX), Removal { paid: 150, dust: 0 });
        assert_eq!((pool.total, pool.shares_total, pool.shares.len()), (0, 0, 0), "no dust left");
    }

    proptest! {
        #[test]
        fn values_never_exceed_the_pool_and_full_exits_leave_nothing(
            ops in proptest::collection::vec((0u8..4, 0u64..1_000_000_000, 0u8..3), 1..40)
        ) {
            let mut pool = StakePool::default();
            for (who, amount, kind) in ops {
                match kind {
                    0 => pool.add(c(who), amount),
                    1 => pool.add_for_all(amount, c(who)),
                    _ => { let removed = pool.remove(&c(who), amount); prop_assert!(removed.paid <= amount); }
                }
                let sum: u128 = (0u8..4).map(|k| u128::from(pool.value(&c(k)))).sum();
                prop_assert!(sum <= u128::from(pool.total));
            }
            for k in 0u8..4 {
                pool.remove(&c(k), u64::MAX);
            }
            prop_assert_eq!(pool.total, 0);
        }
    }
}
