//! The one priority queue of timed actions. Entries are ordered by
//! `(time, sequence number)`: two actions due at the same microsecond run
//! in the order they were scheduled, so ties never depend on heap layout.
//!
//! The queue has a fixed capacity; the engine proves at construction that
//! it can never hold more (one pending action per source, per partition
//! worker, plus the sampler), so [`Scheduler::push`] failing is a bug.

use super::clock::VirtualTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Debug, Clone, Copy)]
struct Entry<A> {
    time: VirtualTime,
    seq: u64,
    action: A,
}

// Reversed, so that std's max-heap pops the earliest (time, seq) first.
impl<A> Ord for Entry<A> {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

impl<A> PartialOrd for Entry<A> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<A> PartialEq for Entry<A> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}

impl<A> Eq for Entry<A> {}

/// A bounded queue of actions of type `A`, popped in `(time, seq)` order.
#[derive(Debug, Clone)]
pub struct Scheduler<A> {
    heap: BinaryHeap<Entry<A>>,
    next_seq: u64,
    capacity: usize,
}

/// The queue was full; carries the capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull(pub usize);

impl<A> Scheduler<A> {
    /// An empty queue that holds at most `capacity` actions.
    pub fn with_capacity(capacity: usize) -> Scheduler<A> {
        Scheduler {
            heap: BinaryHeap::with_capacity(capacity.min(1 << 16)),
            next_seq: 0,
            capacity,
        }
    }

    /// Schedules `action` at `time`, after every action already due then.
    pub fn push(&mut self, time: VirtualTime, action: A) -> Result<(), QueueFull> {
        if self.heap.len() >= self.capacity {
            return Err(QueueFull(self.capacity));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, action });
        Ok(())
    }

    /// Removes and returns the earliest action.
    pub fn pop(&mut self) -> Option<(VirtualTime, A)> {
        self.heap.pop().map(|e| (e.time, e.action))
    }

    /// When the earliest action is due.
    pub fn peek_time(&self) -> Option<VirtualTime> {
        self.heap.peek().map(|e| e.time)
    }

    /// How many actions are pending.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Raises the capacity by `extra` (a model that grew mid-run).
    pub fn grow(&mut self, extra: usize) {
        self.capacity = self.capacity.saturating_add(extra);
    }

    /// The most actions this queue will hold.
    pub fn capacity(&self) -> usize {
        self.capacity
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
    fn push_beyond_capacity_is_refused() {
        let mut s = Scheduler::with_capacity(1);
        assert!(s.push(VirtualTime(1), ()).is_ok());
        assert_eq!(s.push(VirtualTime(2), ()), Err(QueueFull(1)));
        assert_eq!(s.len(), 1);
        assert_eq!(s.peek_time(), Some(VirtualTime(1)));
    }
}
