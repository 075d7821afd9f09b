//! A bounded map whose entries expire: the replay memories (`v10`, `btauth`) and the
//! axon's rate-limit counters. Every operation is O(1) amortised: expiries sit in a queue
//! in insertion order, so cleaning pops from its front instead of scanning the map.

use std::{
    borrow::Borrow,
    collections::{HashMap, VecDeque},
    hash::Hash,
};

/// At most `capacity` entries; each expires at the time given when it was last inserted.
///
/// Times are the caller's (any monotone clock, e.g. nanoseconds). Expiry is exact when
/// expiry times are inserted in non-decreasing order (a constant lifetime after "now");
/// otherwise an entry may outlive its time until those queued before it expire, which is
/// only conservative. Keys are hashed with std's randomly keyed SipHash, so hostile keys do
/// not degrade it.
#[derive(Debug)]
pub(crate) struct ExpiringMap<K, V> {
    entries: HashMap<K, (V, u64)>,
    /// (expires at, key, generation): an item is stale when the key's entry has another
    /// generation (it was re-inserted or removed).
    queue: VecDeque<(u128, K, u64)>,
    capacity: usize,
    generation: u64,
}

impl<K: Hash + Eq + Clone, V> ExpiringMap<K, V> {
    /// An empty map holding at most `capacity` (at least 1) entries.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            generation: 0,
        }
    }

    /// Forgets every entry expiring at or before `now`.
    pub(crate) fn expire(&mut self, now: u128) {
        while self.queue.front().is_some_and(|(at, _, _)| *at <= now) {
            if let Some((_, key, generation)) = self.queue.pop_front() {
                self.remove_if_current(&key, generation);
            }
        }
    }

    /// The live entry for `key`.
    pub(crate) fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.entries.get(key).map(|(value, _)| value)
    }

    /// The live entry for `key`, to change in place (its expiry stays).
    pub(crate) fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.entries.get_mut(key).map(|(value, _)| value)
    }

    /// Number of live entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Sets `key` to `value` until `expires_at`. A new key in a full map first evicts the
    /// entry queued longest ago, which is returned (callers raise a floor with it).
    pub(crate) fn insert(&mut self, key: K, value: V, expires_at: u128) -> Option<(K, V)> {
        let mut evicted = None;
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            while let Some((_, old, generation)) = self.queue.pop_front() {
                if let Some(value) = self.remove_if_current(&old, generation) {
                    evicted = Some((old, value));
                    break;
                }
            }
        }
        self.generation = self.generation.wrapping_add(1);
        self.entries.insert(key.clone(), (value, self.generation));
        self.queue.push_back((expires_at, key, self.generation));
        // Re-inserted keys leave stale queue items behind; drop them once they outnumber
        // the live ones (each compaction follows at least `capacity` insertions).
        if self.queue.len() > 2 * self.capacity {
            let entries = &self.entries;
            self.queue.retain(|(_, key, generation)| {
                entries.get(key).is_some_and(|(_, current)| current == generation)
            });
        }
        evicted
    }

    fn remove_if_current(&mut self, key: &K, generation: u64) -> Option<V> {
        match self.entries.get(key) {
            Some((_, current)) if *current == generation => {
                self.entries.remove(key).map(|(value, _)| value)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExpiringMap;

    #[test]
    fn entries_expire_in_order_and_reinsertion_extends() {
        let mut map = ExpiringMap::new(10);
        map.insert("a", 1, 10);
        map.insert("b", 2, 20);
        map.insert("a", 3, 30);
        map.expire(15);
        assert_eq!(map.get(&"a"), Some(&3), "re-inserted: its old expiry is stale");
        assert_eq!(map.get(&"b"), Some(&2));
        map.expire(20);
        assert_eq!(map.get(&"b"), None);
        map.expire(30);
        assert_eq!(map.len(), 0);
    }

    #[test]
    fn a_full_map_evicts_the_oldest_and_stays_bounded() {
        let mut map = ExpiringMap::new(3);
        for i in 0..3u32 {
            assert_eq!(map.insert(i, i, 100), None);
        }
        assert_eq!(map.insert(3, 3, 100), Some((0, 0)));
        // One hot key re-inserted many times: the queue is compacted, not grown.
        for _ in 0..1_000 {
            map.insert(1, 1, 100);
        }
        assert!(map.queue.len() <= 6, "{}", map.queue.len());
        assert_eq!(map.len(), 3);
        assert_eq!(map.insert(4, 4, 100), Some((2, 2)), "key 1 was refreshed, 2 is oldest");
    }
}
