//! The epoch's second thread, for callers who ask for two ([`crate::epoch_with_threads`];
//! [`crate::epoch`] stays on its caller's thread, [`crate::DEFAULT_THREADS`] says why): a
//! large epoch then runs in a pool of two kept threads, and each of its splits into two
//! halves is a work-stealing join there.
//!
//! Why not a thread per split (as before): starting and joining a thread took ~60 µs on a
//! quiet machine and 0.5–1.5 ms on a loaded one (measured on an n = 4,096 epoch: its four
//! splits waited 2.2–3.0 ms in all for their threads, beyond the work, when the epoch took
//! 8–9.5 ms), and a half handed to a thread that started late kept the epoch waiting for
//! it. In the pool, a half is taken by the other thread only if it is free to take it;
//! otherwise the thread that split runs it itself ([`both`]): a split costs a push and a
//! pop, never the wait for a thread to start.
//!
//! Determinism: which thread runs which half never changes a result. The halves are
//! disjoint and their merges order-independent ([`both`]), property-tested against one
//! thread.

use std::sync::OnceLock;

/// The pool's threads. The caller waits while they work, so an epoch keeps two cores busy.
const POOL_THREADS: usize = 2;

/// Built on the first large epoch; `None` if its threads could not start (every epoch then
/// runs on its caller's thread, the same bits).
static POOL: OnceLock<Option<rayon_core::ThreadPool>> = OnceLock::new();

/// Runs `work` in the pool (where [`both`] splits) when `threads ≥ 2`; on this thread
/// when `threads < 2`, without a pool, or when this is already a pool's thread (ours, or a
/// caller's own rayon pool: its splits are then joined there, with no hop between pools).
pub(crate) fn run<R: Send>(threads: usize, work: impl FnOnce() -> R + Send) -> R {
    if threads < 2 || rayon_core::current_thread_index().is_some() {
        return work();
    }
    let pool = POOL.get_or_init(|| {
        rayon_core::ThreadPoolBuilder::new()
            .num_threads(POOL_THREADS)
            .thread_name(|k| format!("tao-yuma-{k}"))
            .build()
            .ok()
    });
    match pool {
        Some(pool) => pool.install(work),
        None => work(),
    }
}

/// Runs `work` on two parts: joined across the pool's threads when `threads ≥ 2` and this
/// is a pool thread ([`run`]), else one after the other here.
///
/// The parts are disjoint (row bands or column ranges of the block, or the weight and bond
/// rows) and every merge of their results is order-independent (saturating sums of
/// non-negative values, per-row or per-column outputs), so the result does not depend on
/// which thread ran which part, nor on the thread count.
pub(crate) fn both<P: Send, R: Send>(
    threads: usize,
    a: P,
    b: P,
    work: impl Fn(P) -> R + Sync,
) -> (R, R) {
    if threads >= 2 && rayon_core::current_thread_index().is_some() {
        return rayon_core::join(|| work(a), || work(b));
    }
    (work(a), work(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_splits_across_the_pool_and_runs_here_otherwise() {
        // Outside the pool: both parts on this thread, in order.
        let here = std::thread::current().id();
        let (a, b) = both(2, 1u32, 2u32, |p| (p, std::thread::current().id()));
        assert_eq!((a, b), ((1, here), (2, here)));
        // In the pool: the caller waits; the parts run on pool threads.
        let (a, b) = run(2, || both(2, 3u32, 4u32, |p| (p, rayon_core::current_thread_index())));
        assert_eq!((a.0, b.0), (3, 4));
        assert!(a.1.is_some() && b.1.is_some(), "{a:?} {b:?}");
        // One thread: never the pool.
        assert_eq!(run(1, rayon_core::current_thread_index), None);
        assert_eq!(run(2, || run(2, || 7)), 7);
    }
}
