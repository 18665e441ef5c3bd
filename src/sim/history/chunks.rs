//! [`ChunkLog`]: the storage of the engine's append-only logs (a
//! partition's records, an event store's events), shaped so that cloning
//! an engine — which is what a snapshot is — copies no history.
//!
//! Full chunks are sealed into `Arc<[T]>` and shared by every clone; only
//! the open tail (fewer than [`CHUNK`] items) is copied. Trimming from the
//! front (a partition dropping what every group committed) drops whole
//! sealed chunks and pops the tail's front, both O(1) per item.

use std::collections::VecDeque;
use std::sync::Arc;

/// Items per sealed chunk: small enough that the tail a snapshot copies
/// stays small, large enough that the chunk table of a long log is short.
pub const CHUNK: usize = 1024;

/// An append-only sequence, trimmable from the front, whose clones share
/// every full chunk.
#[derive(Debug)]
pub struct ChunkLog<T> {
    /// Sealed chunks, each exactly [`CHUNK`] items.
    sealed: VecDeque<Arc<[T]>>,
    /// Items of `sealed[0]` already trimmed.
    head: usize,
    /// The open chunk: fewer than [`CHUNK`] items.
    tail: VecDeque<T>,
}

impl<T> Default for ChunkLog<T> {
    fn default() -> Self {
        ChunkLog {
            sealed: VecDeque::new(),
            head: 0,
            tail: VecDeque::new(),
        }
    }
}

impl<T: Clone> Clone for ChunkLog<T> {
    fn clone(&self) -> Self {
        ChunkLog {
            sealed: self.sealed.clone(),
            head: self.head,
            tail: self.tail.clone(),
        }
    }
}

impl<T: PartialEq> PartialEq for ChunkLog<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T> ChunkLog<T> {
    /// Items kept.
    #[inline]
    pub fn len(&self) -> usize {
        self.sealed.len() * CHUNK - self.head + self.tail.len()
    }

    /// Whether nothing is kept.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th item kept (0 is the oldest).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        let in_sealed = self.sealed.len() * CHUNK - self.head;
        if i < in_sealed {
            let at = i + self.head;
            self.sealed.get(at / CHUNK).and_then(|c| c.get(at % CHUNK))
        } else {
            self.tail.get(i - in_sealed)
        }
    }

    /// The number of leading items for which `pred` holds, by binary
    /// search (`pred` must hold for a prefix and fail for the rest).
    pub fn partition_point(&self, mut pred: impl FnMut(&T) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid) {
                Some(x) if pred(x) => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo
    }

    /// The items kept, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        let mut chunks = self.sealed.iter();
        let first = chunks.next().map(|c| &c[self.head..]).unwrap_or(&[]);
        first
            .iter()
            .chain(chunks.flat_map(|c| c.iter()))
            .chain(self.tail.iter())
    }

    /// Drops the `n` oldest items (all of them when fewer are kept).
    pub fn trim_front(&mut self, mut n: usize) {
        while n > 0 {
            if let Some(first) = self.sealed.front() {
                let left = first.len() - self.head;
                if n >= left {
                    self.sealed.pop_front();
                    self.head = 0;
                    n -= left;
                } else {
                    self.head += n;
                    n = 0;
                }
            } else {
                // One or two records at a time in the hot loop (the
                // groups commit as they go): popping beats a `Drain`.
                let k = n.min(self.tail.len());
                for _ in 0..k {
                    self.tail.pop_front();
                }
                return;
            }
        }
    }

    /// Sealed chunks.
    #[cfg(test)]
    pub fn sealed_chunks(&self) -> usize {
        self.sealed.len()
    }
}

impl<T: Clone> ChunkLog<T> {
    /// Appends `item`; seals the tail when it is full.
    #[inline]
    pub fn push(&mut self, item: T) {
        self.tail.push_back(item);
        if self.tail.len() == CHUNK {
            self.seal();
        }
    }

    /// Shares the full tail as a sealed chunk. Copied out of a contiguous
    /// slice (one copy, a memcpy for `Copy` items) rather than collected
    /// from a drain, item by item; the tail keeps its buffer.
    #[cold]
    #[inline(never)]
    fn seal(&mut self) {
        let full: Arc<[T]> = Arc::from(&*self.tail.make_contiguous());
        self.tail.clear();
        self.sealed.push_back(full);
    }
}

/// Serialized as the plain sequence of the items kept: an engine image
/// (see `sim::image`) stores what the log holds, not how it is chunked.
impl<T: serde::Serialize> serde::Serialize for ChunkLog<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, T: serde::Deserialize<'de> + Clone> serde::Deserialize<'de> for ChunkLog<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items: Vec<T> = Vec::deserialize(d)?;
        let mut log = ChunkLog::default();
        for item in items {
            log.push(item);
        }
        Ok(log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_iter_and_trim_agree_with_a_vecdeque() {
        let mut log = ChunkLog::default();
        let mut model = VecDeque::new();
        let mut x = 0u64;
        for round in 0..40 {
            for _ in 0..(round * 97 % 700) {
                log.push(x);
                model.push_back(x);
                x += 1;
            }
            let n = round * 131 % 900;
            log.trim_front(n);
            for _ in 0..n.min(model.len()) {
                model.pop_front();
            }
            assert_eq!(log.len(), model.len(), "round {round}");
            assert!(log.iter().eq(model.iter()), "round {round}");
            for i in [
                0,
                model.len() / 2,
                model.len().saturating_sub(1),
                model.len(),
            ] {
                assert_eq!(log.get(i), model.get(i), "round {round}, item {i}");
            }
        }
        assert!(log.sealed_chunks() > 0 || log.len() < CHUNK);
    }

    #[test]
    fn clones_share_sealed_chunks_and_diverge_after() {
        let mut a = ChunkLog::default();
        for i in 0..(3 * CHUNK + 10) {
            a.push(i);
        }
        let b = a.clone();
        assert!(
            Arc::ptr_eq(&a.sealed[0], &b.sealed[0]),
            "shared, not copied"
        );
        a.push(usize::MAX);
        a.trim_front(CHUNK + 1);
        assert_eq!(b.len(), 3 * CHUNK + 10, "the clone did not move");
        assert_eq!(a.get(0), Some(&(CHUNK + 1)));
        assert_eq!(a.iter().last(), Some(&usize::MAX));
        assert_ne!(a, b);
    }

    #[test]
    fn partition_point_finds_the_first_failing_item() {
        let mut log = ChunkLog::default();
        for i in 0..5000u32 {
            log.push(i / 3);
        }
        log.trim_front(1500);
        assert_eq!(log.partition_point(|&v| v < 1000), 3000 - 1500);
        assert_eq!(log.partition_point(|_| true), log.len());
        assert_eq!(log.partition_point(|_| false), 0);
    }
}
