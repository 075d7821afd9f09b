//! A value with a cached digest: cheap to clone (shared until written), hashed only after
//! it changes.

use codec::Encode;
use std::sync::{Arc, OnceLock};
use tao_types::{blake2_256, Hash};

/// A shared value and the BLAKE2b-256 of its encoding, recomputed lazily after a write.
#[derive(Clone, Debug)]
pub struct Cached<T> {
    value: Arc<T>,
    digest: OnceLock<Hash>,
}

impl<T: Encode + Clone> Cached<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self { value: Arc::new(value), digest: OnceLock::new() }
    }

    /// Read access.
    pub fn get(&self) -> &T {
        &self.value
    }

    /// Write access: copies the value if it is shared, and forgets the digest.
    pub fn make_mut(&mut self) -> &mut T {
        self.digest = OnceLock::new();
        Arc::make_mut(&mut self.value)
    }

    /// The digest of the value's encoding.
    pub fn digest(&self) -> Hash {
        *self.digest.get_or_init(|| blake2_256(&self.value.encode()))
    }
}

impl<T: Encode + Clone + Default> Default for Cached<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_follows_writes_and_clones_share_until_written() {
        let mut a = Cached::new(vec![1u8, 2, 3]);
        let before = a.digest();
        let b = a.clone();
        a.make_mut().push(4);
        assert_ne!(a.digest(), before);
        assert_eq!(b.digest(), before);
        assert_eq!(b.get(), &vec![1, 2, 3]);
        assert_eq!(a.digest(), blake2_256(&vec![1u8, 2, 3, 4].encode()));
    }
}
