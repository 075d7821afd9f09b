//! Identifiers: subnet ids, neuron UIDs, block numbers and payment channel ids.
//!
//! Each is a transparent newtype over the integer the reference chain stores. Conversions
//! are explicit (`new`/`get`), never `From`, so a UID cannot be passed where a subnet id is
//! expected by accident.

use core::fmt;

/// A subnet id. Subnet 0 is the root network.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, codec::Encode, codec::Decode,
)]
#[repr(transparent)]
pub struct NetUid(u16);

impl NetUid {
    /// The root network (netuid 0).
    pub const ROOT: NetUid = NetUid(0);

    /// Wraps a raw subnet id.
    pub const fn new(raw: u16) -> Self {
        Self(raw)
    }

    /// The raw subnet id.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// Whether this is the root network.
    pub const fn is_root(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for NetUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A neuron's position in a subnet, `0..n`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, codec::Encode, codec::Decode,
)]
#[repr(transparent)]
pub struct Uid(u16);

impl Uid {
    /// Wraps a raw UID.
    pub const fn new(raw: u16) -> Self {
        Self(raw)
    }

    /// The raw UID.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The UID as an index into per-neuron vectors.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A block height. Genesis is block 0.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, codec::Encode, codec::Decode,
)]
#[repr(transparent)]
pub struct BlockNumber(u64);

impl BlockNumber {
    /// The genesis block.
    pub const GENESIS: BlockNumber = BlockNumber(0);

    /// Wraps a raw block number.
    pub const fn new(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw block number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The block `blocks` later, or `None` past `u64::MAX`.
    pub const fn checked_add(self, blocks: u64) -> Option<Self> {
        match self.0.checked_add(blocks) {
            Some(raw) => Some(Self(raw)),
            None => None,
        }
    }

    /// The next block, or `None` at `u64::MAX`.
    pub const fn next(self) -> Option<Self> {
        self.checked_add(1)
    }

    /// How many blocks `self` is after `earlier` (0 if it is not after it).
    pub const fn saturating_since(self, earlier: BlockNumber) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for BlockNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A payment channel's id: assigned by the chain from a counter that only grows, so an id
/// is never reused (a voucher for a closed channel can never pay on another).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, codec::Encode, codec::Decode,
)]
#[repr(transparent)]
pub struct ChannelId(u64);

impl ChannelId {
    /// Wraps a raw channel id.
    pub const fn new(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw channel id.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_arithmetic_is_checked() {
        assert_eq!(BlockNumber::new(u64::MAX).next(), None);
        assert_eq!(BlockNumber::new(5).checked_add(7), Some(BlockNumber::new(12)));
        assert_eq!(BlockNumber::new(5).saturating_since(BlockNumber::new(9)), 0);
        assert_eq!(BlockNumber::new(9).saturating_since(BlockNumber::new(5)), 4);
    }

    #[test]
    fn ids_round_trip_and_display() {
        assert!(NetUid::ROOT.is_root());
        assert!(!NetUid::new(3).is_root());
        assert_eq!(Uid::new(7).index(), 7);
        assert_eq!(NetUid::new(12).to_string(), "12");
        assert_eq!(BlockNumber::new(42).to_string(), "#42");
    }
}
