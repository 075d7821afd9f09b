//! Vectors an epoch uses inside and drops, kept per thread for the next epoch.
//!
//! An n = 256 epoch allocated 41 vectors: ~30 it used inside (per-row and per-column sums,
//! the block's shape, divisors, orders) and its output's. With glibc's allocator that took
//! ~2 µs of an epoch of ~32 (the same build took 29.7 µs against 31.9 µs with jemalloc
//! preloaded, alternated runs). Taken from here instead, a vector costs a thread-local
//! access, and a dropped [`crate::YumaOutput`] gives its vectors back: 3 allocations an
//! epoch, and 30.5 µs against 31.6 µs with glibc (alternated runs; 29.9 µs with jemalloc).
//! (The output's bond index and columns given back too, 1 allocation: 31.4 µs, slower at
//! every heap offset tried; not kept.)
//!
//! [`take`] gives an empty vector with room for at least the asked length (a kept one
//! when one has the room, else the largest kept grown, else a new one); [`give`] keeps a
//! vector for the next [`take`] of its type. Only capacity is reused: a vector comes back
//! empty, so no result can depend on a previous epoch.
//!
//! Bounded: at most [`SHELF`] vectors per type, each of at most [`KEPT_BYTES`] (10 MiB a
//! thread at the most, whatever subnets it runs); larger ones (a large subnet's) are freed
//! as before.

use crate::input::Order;
use core::cell::Cell;
use tao_primitives::{fixed::I32F32, AlphaRao, Uid};

/// At most this many vectors of one type are kept.
const SHELF: usize = 32;

/// A vector larger than this many bytes is freed, not kept (n = 4,096's per-UID vectors
/// are 32 KiB).
const KEPT_BYTES: usize = 1 << 15;

/// A type whose vectors are kept: its shelf in the [`Pool`].
pub(crate) trait Pooled: Clone + Sized {
    fn shelf(pool: &mut Pool) -> &mut Vec<Vec<Self>>;
}

/// The kept vectors, a shelf per type.
#[derive(Default)]
pub(crate) struct Pool {
    fixed: Vec<Vec<I32F32>>,
    words: Vec<Vec<u64>>,
    signed: Vec<Vec<i64>>,
    indices: Vec<Vec<usize>>,
    columns: Vec<Vec<u16>>,
    uids: Vec<Vec<Uid>>,
    flags: Vec<Vec<bool>>,
    pairs: Vec<Vec<(bool, bool)>>,
    orders: Vec<Vec<Order>>,
    alpha: Vec<Vec<AlphaRao>>,
}

/// [`Pooled`] for each type, by its shelf.
macro_rules! pooled {
    ($($t:ty => $shelf:ident),* $(,)?) => {
        $(impl Pooled for $t {
            #[inline]
            fn shelf(pool: &mut Pool) -> &mut Vec<Vec<Self>> {
                &mut pool.$shelf
            }
        })*
    };
}
pooled!(
    I32F32 => fixed,
    u64 => words,
    i64 => signed,
    usize => indices,
    u16 => columns,
    Uid => uids,
    bool => flags,
    (bool, bool) => pairs,
    Order => orders,
    AlphaRao => alpha,
);

thread_local! {
    static POOL: Cell<Option<Box<Pool>>> = const { Cell::new(None) };
}

/// `f` on this thread's pool (`None` only while the thread exits).
fn with<R>(f: impl FnOnce(&mut Pool) -> R) -> Option<R> {
    POOL.try_with(|cell| {
        let mut pool = cell.take().unwrap_or_default();
        let result = f(&mut pool);
        cell.set(Some(pool));
        result
    })
    .ok()
}

/// An empty vector with room for at least `len` items.
pub(crate) fn take<T: Pooled>(len: usize) -> Vec<T> {
    let kept = with(|pool| {
        let shelf = T::shelf(pool);
        // One with the room, else the largest (grown below).
        let at = shelf.iter().position(|v| v.capacity() >= len).or_else(|| {
            let largest = shelf.iter().enumerate().max_by_key(|(_, v)| v.capacity());
            largest.map(|(at, _)| at)
        })?;
        Some(shelf.swap_remove(at))
    })
    .flatten();
    let mut vector = kept.unwrap_or_default();
    vector.clear();
    vector.reserve(len);
    vector
}

/// `len` copies of `value`, in a kept vector if one has the room.
pub(crate) fn filled<T: Pooled>(len: usize, value: T) -> Vec<T> {
    let mut vector = take(len);
    vector.resize(len, value);
    vector
}

/// `items` collected into a kept vector (`len`: how many there are, or a bound).
pub(crate) fn collect<T: Pooled>(len: usize, items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut vector = take(len);
    vector.extend(items);
    vector
}

/// Keeps `vector` for this thread's next [`take`] of its type, within the bounds.
pub(crate) fn give<T: Pooled>(vector: Vec<T>) {
    let bytes = vector.capacity().saturating_mul(core::mem::size_of::<T>());
    if vector.capacity() == 0 || bytes > KEPT_BYTES {
        return;
    }
    // (Fails only while the thread exits: the vector is then freed.)
    let _ = with(|pool| {
        let shelf = T::shelf(pool);
        if shelf.len() < SHELF {
            shelf.push(vector);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_vector_is_empty_with_room_and_reuses_a_kept_one() {
        let mut kept: Vec<u64> = take(100);
        assert!(kept.is_empty() && kept.capacity() >= 100);
        kept.extend([7; 100]);
        let at = kept.as_ptr();
        give(kept);
        // The same memory, emptied: nothing of the previous contents shows.
        let again: Vec<u64> = take(50);
        assert_eq!(again.as_ptr(), at);
        assert!(again.is_empty());
        assert_eq!(filled(3, 9u64), vec![9, 9, 9]);
        assert_eq!(collect(2, [1i64, 2]), vec![1, 2]);
    }

    #[test]
    fn the_pool_is_bounded() {
        // A vector above the byte bound is freed, not kept.
        let large: Vec<u64> = Vec::with_capacity(KEPT_BYTES / 8 + 1);
        give(large);
        assert!(
            with(|pool| pool.words.iter().all(|v| v.capacity() <= KEPT_BYTES / 8)) == Some(true)
        );
        // At most `SHELF` vectors of a type.
        for _ in 0..SHELF * 2 {
            give(Vec::<u16>::with_capacity(8));
        }
        assert_eq!(with(|pool| pool.columns.len()), Some(SHELF));
    }
}
