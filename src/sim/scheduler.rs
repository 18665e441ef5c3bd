//! The one priority queue of timed actions. Entries are ordered by
//! `(time, sequence number)`: two actions due at the same microsecond run
//! in the order they were scheduled, so ties never depend on the layout
//! of the queue.
//!
//! The queue has a fixed capacity; the engine proves at construction that
//! it can never hold more (one pending action per source, per partition
//! worker, plus the sampler), so [`Scheduler::push`] failing is a bug.
//!
//! # Two layouts: a sorted list while short, a 4-ary heap when long
//! A running model usually has a handful of actions pending (the sources'
//! next arrivals, the sampler, the few records in service). For so few a
//! list kept sorted latest-first is cheaper than any heap: the earliest
//! action is the last entry (a pop is `Vec::pop`), and a new action —
//! most often a service end a millisecond away, earlier than the
//! arrivals and the sample already waiting — finds its place after a
//! comparison or two from the end. Past [`SMALL_MAX`] entries the list is
//! turned into a heap (a list sorted earliest-first already is one) and
//! back into a list once it shrinks to [`SMALL_BACK`].
//!
//! The heap is 4-ary (half the depth of a binary heap, children adjacent
//! in memory) with a deferred pop: the engine's loop pops the earliest
//! action and, nearly always, pushes one new action for the same worker
//! or source, so a pop only marks the root vacant; the next push drops its
//! entry into the hole and sifts it down (one pass instead of a sift-down
//! plus a sift-up), and only a pop or a peek with no push in between fills
//! the hole the usual way.
//!
//! Either way entries are keyed by one `u128` (`time << 64 | seq`), so
//! ordering is a single comparison, and since keys are unique the order
//! of pops is the same whichever layout holds them. An image stores the
//! heap form (a sorted list is written earliest-first, a valid heap), so
//! images of both layouts read alike.

use super::clock::VirtualTime;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// Most entries kept as a sorted list; one more turns it into a heap.
const SMALL_MAX: usize = 32;

/// A heap that shrinks to this many entries becomes a sorted list again
/// (well below [`SMALL_MAX`], so a queue near the bound does not flip
/// back and forth).
const SMALL_BACK: usize = 8;

/// A bounded queue of actions of type `A`, popped in `(time, seq)` order.
#[derive(Debug, Clone)]
pub struct Scheduler<A> {
    /// Sorted latest-first (the earliest last) while `!heap_mode`; a
    /// 4-ary min-heap while `heap_mode`.
    entries: Vec<Entry<A>>,
    heap_mode: bool,
    /// Heap mode: whether `entries[0]` was popped and not yet refilled.
    vacant_root: bool,
    next_seq: u64,
    capacity: usize,
}

/// The serde form: the heap layout, as images have always stored it.
#[derive(Serialize, Deserialize)]
struct HeapForm<A> {
    heap: Vec<Entry<A>>,
    vacant_root: bool,
    next_seq: u64,
    capacity: usize,
}

impl<A: Copy + Serialize> Serialize for Scheduler<A> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let heap = if self.heap_mode {
            self.entries.clone()
        } else {
            // Earliest first: a sorted list is a valid heap.
            self.entries.iter().rev().copied().collect()
        };
        HeapForm {
            heap,
            vacant_root: self.heap_mode && self.vacant_root,
            next_seq: self.next_seq,
            capacity: self.capacity,
        }
        .serialize(s)
    }
}

impl<'de, A: Copy + Deserialize<'de>> Deserialize<'de> for Scheduler<A> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let form = HeapForm::<A>::deserialize(d)?;
        let mut s = Scheduler {
            entries: form.heap,
            heap_mode: true,
            vacant_root: form.vacant_root,
            next_seq: form.next_seq,
            capacity: form.capacity,
        };
        if s.vacant_root && s.entries.is_empty() {
            s.vacant_root = false;
        }
        s.maybe_shrink_to_list();
        Ok(s)
    }
}

/// The queue was full; carries the capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull(pub usize);

impl<A: Copy> Scheduler<A> {
    /// An empty queue that holds at most `capacity` actions.
    pub fn with_capacity(capacity: usize) -> Scheduler<A> {
        Scheduler {
            entries: Vec::with_capacity(capacity.min(1 << 16)),
            heap_mode: false,
            vacant_root: false,
            next_seq: 0,
            capacity,
        }
    }

    /// Schedules `action` at `time`, after every action already due then.
    ///
    /// The list case is inlined into the engine's loop (it is most
    /// pushes); the heap case is a call.
    #[inline(always)]
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
        let n = self.entries.len();
        if self.heap_mode || n >= SMALL_MAX {
            self.push_heap(entry);
            return Ok(());
        }
        // Latest first: walk back from the earliest end, moving up each
        // entry due before it (a shift of a few entries costs less done
        // here than through `Vec::insert`). The slice's length is known
        // to be `n + 1`, so the walk needs no bounds checks.
        self.entries.push(entry);
        let list = &mut self.entries[..=n];
        let mut i = n;
        while i > 0 {
            let before = list[i - 1];
            if before.key > entry.key {
                break;
            }
            list[i] = before;
            i -= 1;
        }
        list[i] = entry;
        Ok(())
    }

    /// [`Scheduler::push`] into the heap, first turning a full list into one.
    #[inline(never)]
    fn push_heap(&mut self, entry: Entry<A>) {
        if !self.heap_mode {
            self.grow_to_heap();
        }
        if self.vacant_root {
            self.vacant_root = false;
            self.sift_down(0, entry);
        } else {
            self.entries.push(entry);
            self.sift_up(self.entries.len() - 1);
        }
    }

    /// Removes and returns the earliest action.
    #[inline]
    pub fn pop(&mut self) -> Option<(VirtualTime, A)> {
        if !self.heap_mode {
            let top = self.entries.pop()?;
            return Some((top.time(), top.action));
        }
        self.pop_heap(None)
    }

    /// Removes and returns the earliest action if it is due at or before
    /// `t`. The same as a [`Scheduler::peek_time`] then a
    /// [`Scheduler::pop`], but a vacant root is filled once rather than
    /// its children scanned first.
    #[inline]
    pub fn pop_due(&mut self, t: VirtualTime) -> Option<(VirtualTime, A)> {
        if !self.heap_mode {
            let top = *self.entries.last()?;
            if top.time() > t {
                return None;
            }
            self.entries.pop();
            return Some((top.time(), top.action));
        }
        self.pop_heap(Some(t))
    }

    /// Heap mode: pops the root if it is due by `due` (any, if `None`).
    fn pop_heap(&mut self, due: Option<VirtualTime>) -> Option<(VirtualTime, A)> {
        self.fill_root();
        let top = *self.entries.first()?;
        if due.is_some_and(|t| top.time() > t) {
            return None;
        }
        self.vacant_root = true;
        if self.entries.len() <= SMALL_BACK + 1 {
            self.maybe_shrink_to_list();
        }
        Some((top.time(), top.action))
    }

    /// When the earliest action is due.
    #[inline]
    pub fn peek_time(&self) -> Option<VirtualTime> {
        if !self.heap_mode {
            return self.entries.last().map(Entry::time);
        }
        if !self.vacant_root {
            return self.entries.first().map(Entry::time);
        }
        // The root's children head their subtrees: the earliest is among them.
        let end = self.entries.len().min(1 + ARITY);
        self.entries
            .get(1..end)
            .and_then(|kids| kids.iter().map(|e| e.key).min())
            .map(|k| VirtualTime((k >> 64) as u64))
    }

    /// How many actions are pending.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len() - usize::from(self.vacant_root)
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

    /// Turns the full sorted list into a heap: earliest first is one.
    #[cold]
    fn grow_to_heap(&mut self) {
        self.entries.reverse();
        self.heap_mode = true;
        self.vacant_root = false;
    }

    /// Turns a heap of at most [`SMALL_BACK`] entries into a sorted list.
    #[cold]
    fn maybe_shrink_to_list(&mut self) {
        if !self.heap_mode || self.len() > SMALL_BACK {
            return;
        }
        if self.vacant_root {
            self.vacant_root = false;
            self.entries.swap_remove(0);
        }
        self.entries
            .sort_unstable_by_key(|e| std::cmp::Reverse(e.key));
        self.heap_mode = false;
    }

    /// Fills a vacant root with the last entry.
    #[inline]
    fn fill_root(&mut self) {
        if !self.vacant_root {
            return;
        }
        self.vacant_root = false;
        let Some(last) = self.entries.pop() else {
            return;
        };
        if !self.entries.is_empty() {
            self.sift_down(0, last);
        }
    }

    /// Puts `entry` at the hole `i` and moves it down to its place.
    #[inline]
    fn sift_down(&mut self, mut i: usize, entry: Entry<A>) {
        let len = self.entries.len();
        loop {
            let first = ARITY * i + 1;
            if first >= len {
                break;
            }
            let end = (first + ARITY).min(len);
            let mut best = first;
            let mut best_key = self.entries[first].key;
            for c in first + 1..end {
                let k = self.entries[c].key;
                if k < best_key {
                    best = c;
                    best_key = k;
                }
            }
            if entry.key <= best_key {
                break;
            }
            self.entries[i] = self.entries[best];
            i = best;
        }
        self.entries[i] = entry;
    }

    /// Moves the entry at `i` up to its place.
    #[inline]
    fn sift_up(&mut self, mut i: usize) {
        let entry = self.entries[i];
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.entries[parent].key <= entry.key {
                break;
            }
            self.entries[i] = self.entries[parent];
            i = parent;
        }
        self.entries[i] = entry;
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

    /// Pops everything, earliest first.
    fn drain<A: Copy>(s: &mut Scheduler<A>) -> Vec<(VirtualTime, A)> {
        std::iter::from_fn(|| s.pop()).collect()
    }

    #[test]
    fn a_growing_queue_becomes_a_heap_and_a_shrinking_one_a_list_again() {
        let mut s = Scheduler::with_capacity(1000);
        for i in 0..SMALL_MAX as u64 {
            s.push(VirtualTime((i * 7919) % 101), i).expect("capacity");
        }
        assert!(!s.heap_mode, "{SMALL_MAX} entries are still a list");
        s.push(VirtualTime(50), 999).expect("capacity");
        assert!(s.heap_mode, "one more makes a heap");
        let mut popped = Vec::new();
        while s.len() > SMALL_BACK {
            popped.extend(s.pop());
        }
        assert!(!s.heap_mode, "{SMALL_BACK} entries are a list again");
        popped.extend(drain(&mut s));
        let mut sorted = popped.clone();
        sorted.sort_by_key(|&(t, i)| (t, i == 999, i));
        assert_eq!(popped.len(), SMALL_MAX + 1);
        // Ties at 50: the late push (999) runs after the earlier ones.
        assert_eq!(popped, sorted);
    }

    #[test]
    fn images_of_either_layout_restore_the_same_queue() {
        // A list, a heap, and a heap with its root popped but not refilled.
        for (n, pop_first) in [(5u64, false), (100, false), (100, true)] {
            let mut s = Scheduler::with_capacity(1000);
            for i in 0..n {
                s.push(VirtualTime((i * 7919) % 37), i).expect("capacity");
            }
            if pop_first {
                assert!(s.pop().is_some());
                assert!(s.vacant_root, "the pop left the root vacant");
            }
            let bytes = rmp_serde::to_vec(&s).expect("encodes");
            let mut back: Scheduler<u64> = rmp_serde::from_slice(&bytes).expect("decodes");
            assert_eq!(back.len(), s.len());
            assert_eq!(back.capacity(), s.capacity());
            // The sequence numbers go on where they were: a later tie
            // still runs last.
            s.push(VirtualTime(0), 7777).expect("capacity");
            back.push(VirtualTime(0), 7777).expect("capacity");
            assert_eq!(drain(&mut back), drain(&mut s));
        }
    }
}
