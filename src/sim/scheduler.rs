//! The one priority queue of timed actions. Entries are ordered by
//! `(time, sequence number)`: two actions due at the same microsecond run
//! in the order they were scheduled, so ties never depend on heap layout.
//!
//! The queue has a fixed capacity; the engine proves at construction that
//! it can never hold more (one pending action per source, per partition
//! worker, plus the sampler), so [`Scheduler::push`] failing is a bug.
//!
//! # Why a 4-ary heap with a deferred pop
//! The engine's loop pops the earliest action and, nearly always, pushes
//! one new action for the same worker or source. So a pop only marks the
//! root vacant; the next push drops its entry into the hole and sifts it
//! down (one pass instead of a sift-down plus a sift-up), and only a pop
//! or a peek with no push in between fills the hole the usual way. The
//! heap is 4-ary (half the depth of a binary heap, children adjacent in
//! memory) and keyed by one `u128` (`time << 64 | seq`), so ordering is a
//! single comparison. The order of pops is the same as a binary heap's:
//! keys are unique, so the earliest key is always well defined.

use super::clock::VirtualTime;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Entry<A> {
    /// `time << 64 | seq`: unique, ordered like `(time, seq)`.
    key: u128,
    action: A,
}

impl<A> Entry<A> {
    #[inline]
    fn time(&self) -> VirtualTime {
        VirtualTime((self.key >> 64) as u64)
    }
}

/// Children per node.
const ARITY: usize = 4;

/// A bounded queue of actions of type `A`, popped in `(time, seq)` order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scheduler<A> {
    heap: Vec<Entry<A>>,
    /// Whether `heap[0]` was popped and not yet refilled.
    vacant_root: bool,
    next_seq: u64,
    capacity: usize,
}

/// The queue was full; carries the capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull(pub usize);

impl<A: Copy> Scheduler<A> {
    /// An empty queue that holds at most `capacity` actions.
    pub fn with_capacity(capacity: usize) -> Scheduler<A> {
        Scheduler {
            heap: Vec::with_capacity(capacity.min(1 << 16)),
            vacant_root: false,
            next_seq: 0,
            capacity,
        }
    }

    /// Schedules `action` at `time`, after every action already due then.
    #[inline]
    pub fn push(&mut self, time: VirtualTime, action: A) -> Result<(), QueueFull> {
        if self.len() >= self.capacity {
            return Err(QueueFull(self.capacity));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry {
            key: (u128::from(time.0) << 64) | u128::from(seq),
            action,
        };
        if self.vacant_root {
            self.vacant_root = false;
            self.sift_down(0, entry);
        } else {
            self.heap.push(entry);
            self.sift_up(self.heap.len() - 1);
        }
        Ok(())
    }

    /// Removes and returns the earliest action.
    #[inline]
    pub fn pop(&mut self) -> Option<(VirtualTime, A)> {
        self.fill_root();
        let top = *self.heap.first()?;
        self.vacant_root = true;
        Some((top.time(), top.action))
    }

    /// Removes and returns the earliest action if it is due at or before
    /// `t`. The same as a [`Scheduler::peek_time`] then a
    /// [`Scheduler::pop`], but a vacant root is filled once rather than
    /// its children scanned first.
    #[inline]
    pub fn pop_due(&mut self, t: VirtualTime) -> Option<(VirtualTime, A)> {
        self.fill_root();
        let top = *self.heap.first()?;
        if top.time() > t {
            return None;
        }
        self.vacant_root = true;
        Some((top.time(), top.action))
    }

    /// When the earliest action is due.
    #[inline]
    pub fn peek_time(&self) -> Option<VirtualTime> {
        if !self.vacant_root {
            return self.heap.first().map(Entry::time);
        }
        // The root's children head their subtrees: the earliest is among them.
        let end = self.heap.len().min(1 + ARITY);
        self.heap
            .get(1..end)
            .and_then(|kids| kids.iter().map(|e| e.key).min())
            .map(|k| VirtualTime((k >> 64) as u64))
    }

    /// How many actions are pending.
    #[inline]
    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.vacant_root)
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Raises the capacity by `extra` (a model that grew mid-run).
    pub fn grow(&mut self, extra: usize) {
        self.capacity = self.capacity.saturating_add(extra);
    }

    /// The most actions this queue will hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Fills a vacant root with the last entry.
    #[inline]
    fn fill_root(&mut self) {
        if !self.vacant_root {
            return;
        }
        self.vacant_root = false;
        let Some(last) = self.heap.pop() else {
            return;
        };
        if !self.heap.is_empty() {
            self.sift_down(0, last);
        }
    }

    /// Puts `entry` at the hole `i` and moves it down to its place.
    #[inline]
    fn sift_down(&mut self, mut i: usize, entry: Entry<A>) {
        let len = self.heap.len();
        loop {
            let first = ARITY * i + 1;
            if first >= len {
                break;
            }
            let end = (first + ARITY).min(len);
            let mut best = first;
            let mut best_key = self.heap[first].key;
            for c in first + 1..end {
                let k = self.heap[c].key;
                if k < best_key {
                    best = c;
                    best_key = k;
                }
            }
            if entry.key <= best_key {
                break;
            }
            self.heap[i] = self.heap[best];
            i = best;
        }
        self.heap[i] = entry;
    }

    /// Moves the entry at `i` up to its place.
    #[inline]
    fn sift_up(&mut self, mut i: usize) {
        let entry = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.heap[parent].key <= entry.key {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = entry;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_pop_in_scheduling_order() {
        let mut s = Scheduler::with_capacity(16);
        s.push(VirtualTime(10), 'c').expect("capacity");
        s.push(VirtualTime(5), 'a').expect("capacity");
        s.push(VirtualTime(10), 'd').expect("capacity");
        s.push(VirtualTime(5), 'b').expect("capacity");
        s.push(VirtualTime(10), 'e').expect("capacity");
        let order: Vec<char> = std::iter::from_fn(|| s.pop().map(|(_, a)| a)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd', 'e']);
    }

    #[test]
    fn many_ties_keep_fifo_order() {
        let mut s = Scheduler::with_capacity(1000);
        for i in 0..1000u32 {
            s.push(VirtualTime(u64::from(i % 3)), i).expect("capacity");
        }
        let mut last = (VirtualTime(0), 0u32);
        let mut first = true;
        while let Some((t, i)) = s.pop() {
            if !first {
                assert!((t, i) > last, "{:?} after {:?}", (t, i), last);
            }
            first = false;
            last = (t, i);
        }
    }

    #[test]
    fn interleaved_pushes_and_pops_match_a_sorted_order() {
        // A reference: every (time, seq) pushed, popped smallest first.
        let mut s = Scheduler::with_capacity(10_000);
        let mut reference = std::collections::BTreeSet::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut seq = 0u64;
        for round in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pushes = x % 3;
            for k in 0..pushes {
                let t = VirtualTime(round + (x >> (8 * k)) % 50);
                if s.push(t, seq).is_ok() {
                    reference.insert((t, seq));
                }
                seq += 1;
            }
            if x % 5 < 3 {
                assert_eq!(s.peek_time(), reference.first().map(|&(t, _)| t));
                let want = reference.pop_first();
                assert_eq!(s.pop(), want);
            }
            assert_eq!(s.len(), reference.len());
        }
        while let Some(want) = reference.pop_first() {
            assert_eq!(s.pop(), Some(want));
        }
        assert_eq!(s.pop(), None);
        assert!(s.is_empty());
    }

    #[test]
    fn pop_due_pops_what_peek_then_pop_would() {
        let mut a = Scheduler::with_capacity(64);
        let mut b = Scheduler::with_capacity(64);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..5_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if !x.is_multiple_of(3) {
                let t = VirtualTime(round + x % 40);
                assert_eq!(a.push(t, round).is_ok(), b.push(t, round).is_ok());
            }
            let due = VirtualTime(round);
            let want = match b.peek_time() {
                Some(t) if t <= due => b.pop(),
                _ => None,
            };
            assert_eq!(a.pop_due(due), want, "round {round}");
            assert_eq!(a.len(), b.len());
        }
    }

    #[test]
    fn push_beyond_capacity_is_refused() {
        let mut s = Scheduler::with_capacity(1);
        assert!(s.push(VirtualTime(1), ()).is_ok());
        assert_eq!(s.push(VirtualTime(2), ()), Err(QueueFull(1)));
        assert_eq!(s.len(), 1);
        assert_eq!(s.peek_time(), Some(VirtualTime(1)));
    }
}
