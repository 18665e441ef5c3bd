//! A fast keyed hasher for the lowering's id maps, and [`IndexTable`], a
//! hash table of small indices whose keys live elsewhere.
//!
//! std's SipHash is a fifth of the lowering's time on large diagrams; a
//! plain unkeyed multiply hash would let a crafted file force collisions
//! and quadratic probing. This folded-multiply hash is seeded from std's
//! per-process random keys, the same trade-off foldhash makes.
//!
//! The vertex-by-id and edges-per-pair look-ups touch a random slot on
//! every edge. Keyed by the id (32 bytes a slot) or the pair (16 bytes),
//! the tables of a 100k-edge chart were several megabytes and nearly every
//! look-up missed the cache; [`IndexTable`] keeps 4-byte indices into the
//! vectors that hold the keys anyway, a fifth of the size, and compares
//! keys there, where neighbouring mentions are usually neighbours too.
//! Must not depend on anything else in the crate.

use hashbrown::HashTable;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};

const K1: u64 = 0x243f_6a88_85a3_08d3;
const K2: u64 = 0x1319_8a2e_0370_7344;
const K3: u64 = 0xa409_3822_299f_31d0;

fn fold(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    // Truncation intended: fold the 128-bit product onto 64 bits.
    (r as u64) ^ ((r >> 64) as u64)
}

/// The 1 to 7 bytes of `rest` in one word, from overlapping fixed-size
/// reads (a variable-length copy is a `memcpy` call). With the length
/// hashed too, the word determines the bytes.
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    let word4 = |at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&rest[at..at + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    match n {
        4.. => word4(0) | word4(n - 4) << 32,
        1.. => u64::from(rest[0]) | u64::from(rest[n / 2]) << 8 | u64::from(rest[n - 1]) << 16,
        0 => 0,
    }
}

/// Builds [`FoldHasher`]s with a per-map random seed.
#[derive(Clone, Copy)]
pub(crate) struct Seeded(u64);

impl Default for Seeded {
    fn default() -> Self {
        Seeded(RandomState::new().hash_one(0x5eed_u64) | 1)
    }
}

impl BuildHasher for Seeded {
    type Hasher = FoldHasher;

    fn build_hasher(&self) -> FoldHasher {
        FoldHasher { acc: self.0 }
    }
}

/// The hasher state.
pub(crate) struct FoldHasher {
    acc: u64,
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.acc = fold(self.acc ^ u64::from_le_bytes(w), K1);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.acc = fold(self.acc ^ tail_word(rest), K2);
        }
        self.acc = self.acc.wrapping_add(bytes.len() as u64);
    }

    // `str` hashes as its bytes then `0xff`: one step, not a chunk loop.
    fn write_u8(&mut self, n: u8) {
        self.acc = fold(self.acc ^ u64::from(n), K2);
    }

    fn write_u64(&mut self, n: u64) {
        self.acc = fold(self.acc ^ n, K1);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        fold(self.acc, K3)
    }
}

/// A `HashMap` with the fast keyed hasher.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, Seeded>;
/// A `HashSet` with the fast keyed hasher.
pub(crate) type FastSet<K> = std::collections::HashSet<K, Seeded>;

/// A hash table of `u32` indices into a vector the caller owns, which
/// holds the keys: look-ups hash the key and compare it with the entry's
/// key through a closure; growth re-hashes through another.
///
/// In front of the table sits a small direct-mapped cache of the last
/// index found per hash slot: a diagram mentions the same few ids in
/// neighbouring lines, and the cache (16 KB) stays in cache where the
/// table of a big diagram does not.
#[derive(Default)]
pub(crate) struct IndexTable {
    seed: Seeded,
    table: HashTable<u32>,
    recent: Vec<u32>,
}

/// Slots of [`IndexTable`]'s cache (a power of two).
const RECENT: usize = 4096;
/// An empty cache slot.
const NONE: u32 = u32::MAX;

/// The cache slot of a hash: bits the table's bucket choice uses least.
fn recent_slot(hash: u64) -> usize {
    (hash >> 40) as usize & (RECENT - 1)
}

impl IndexTable {
    /// The keyed hash of `key`, for [`find`](Self::find) and
    /// [`insert`](Self::insert).
    pub fn hash(&self, key: impl Hash) -> u64 {
        self.seed.hash_one(key)
    }

    /// The index whose key has `hash` and satisfies `is_key`.
    pub fn find(&mut self, hash: u64, mut is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        let slot = recent_slot(hash);
        if let Some(&i) = self.recent.get(slot)
            && i != NONE
            && is_key(i)
        {
            return Some(i);
        }
        let found = self.table.find(hash, |&i| is_key(i)).copied()?;
        self.remember(slot, found);
        Some(found)
    }

    fn remember(&mut self, slot: usize, index: u32) {
        if self.recent.is_empty() {
            self.recent = vec![NONE; RECENT];
        }
        if let Some(r) = self.recent.get_mut(slot) {
            *r = index;
        }
    }

    /// Adds `index`, whose key hashes to `hash` and is not in the table;
    /// `key_of` gives the key of any index already in (growth re-hashes).
    pub fn insert<K: Hash>(&mut self, hash: u64, index: u32, key_of: impl Fn(u32) -> K) {
        let seed = self.seed;
        self.table
            .insert_unique(hash, index, move |&i| seed.hash_one(key_of(i)));
        self.remember(recent_slot(hash), index);
    }

    /// Empties the table, keeping its memory.
    pub fn clear(&mut self) {
        self.table.clear();
        self.recent.fill(NONE);
    }

    /// The bytes the table holds on to.
    pub fn allocated_bytes(&self) -> usize {
        // A 4-byte slot and a control byte per bucket.
        self.table.capacity() * 5 + self.recent.capacity() * 4
    }

    /// Room for `additional` more indices without growing.
    pub fn reserve<K: Hash>(&mut self, additional: usize, key_of: impl Fn(u32) -> K) {
        let seed = self.seed;
        self.table
            .reserve(additional, move |&i| seed.hash_one(key_of(i)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_keys_spread() {
        let s = Seeded::default();
        let a = s.hash_one("node1");
        let b = s.hash_one("node2");
        assert_ne!(a, b);
        // Every tail length, and tails that differ in one byte only.
        let keys = [
            "a", "b", "ab", "ba", "abc", "abd", "xbc", "abcd", "abce", "abcdefg", "abcdefh",
            "bbcdefg",
        ];
        for (i, x) in keys.iter().enumerate() {
            for y in &keys[i + 1..] {
                assert_ne!(s.hash_one(x), s.hash_one(y), "{x} and {y} collide");
            }
        }
        let mut m: FastMap<&str, usize> = FastMap::default();
        for (i, k) in ["a", "b", "c"].iter().enumerate() {
            m.insert(k, i);
        }
        assert_eq!(m.get("b"), Some(&1));
    }

    #[test]
    fn index_table_finds_keys_held_elsewhere() {
        let mut keys: Vec<String> = Vec::new();
        let mut t = IndexTable::default();
        // Enough keys to make the table grow several times from empty.
        for n in 0..1000u32 {
            let key = format!("node{n}");
            let h = t.hash(key.as_str());
            assert_eq!(t.find(h, |i| keys[i as usize] == key), None);
            keys.push(key);
            t.insert(h, n, |i| keys[i as usize].as_str());
        }
        for (n, key) in keys.iter().enumerate() {
            let h = t.hash(key.as_str());
            assert_eq!(t.find(h, |i| keys[i as usize] == *key), Some(n as u32));
        }
        let h = t.hash("node1000");
        assert_eq!(t.find(h, |i| keys[i as usize] == "node1000"), None);
    }
}
