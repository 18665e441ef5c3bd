//! The activity hook: which events move between which components, when —
//! the raw material of the canvas's moving dots.
//!
//! Off by default ([`Engine::set_activity`](super::Engine::set_activity));
//! when off, the engine pays one flag check per hop and nothing else. When
//! on, every hop is recorded in an [`ActivityLog`]:
//! - a record appended to the bus (producer, command handler or reacting
//!   group → bus), at the moment of the append;
//! - a delivery attempt (bus → consuming group: consumer, projection,
//!   event store), from the attempt's start to its planned end;
//! - a write to a sink (group → database, index, mailer …) when a record
//!   is applied;
//! - a command sent (gateway → command handler) and a query answered
//!   (gateway → read DB).
//!
//! Hops are grouped by route — (from component, to component, topic) —
//! and each route keeps only its latest [`HOPS_PER_ROUTE`] hops in a ring,
//! a running count, and counts per virtual-time bucket over the last
//! [`RATE_WINDOW_US`] for its rate. So memory is bounded by the number of
//! routes (itself at most [`MAX_ROUTES`]), never by the run's length, and
//! a busy route cannot push a quiet one's hops out.
//!
//! A clone of the engine starts with activity off: snapshots of a
//! [`History`](super::History) stay as small as before, and whoever wants
//! hops of a copy turns it on there.
//!
//! # Rules
//! Part of `sim`: no wall-clock time, threads, tokio or GUI types. Recording
//! never touches the RNG or the run hash, so a run is the same with
//! activity on or off.

use super::clock::VirtualTime;

/// Hops each route keeps (the latest).
pub const HOPS_PER_ROUTE: usize = 512;
/// Most routes recorded; hops on further routes are counted as dropped.
pub const MAX_ROUTES: usize = 1024;
/// Width of a rate bucket, virtual microseconds.
const BUCKET_US: u64 = 125_000;
/// Buckets kept per route.
const BUCKETS: usize = 8;
/// The span a route's rate is measured over, virtual microseconds.
pub const RATE_WINDOW_US: u64 = BUCKET_US * BUCKETS as u64;

/// The topic of a query hop (gateway → read DB), which carries no event.
pub const QUERY_TOPIC: u32 = u32::MAX;

/// One movement of one event along a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop {
    /// The event's id (`Record::event_id`), or the command's or query's
    /// number (the gateway counts each kind from 1).
    pub event: u64,
    /// When it left.
    pub start: VirtualTime,
    /// When it arrived (equal to `start` for an instant hop).
    pub end: VirtualTime,
}

/// Where hops go: one (from, to, topic) and what went along it.
#[derive(Debug, Clone)]
pub struct Route {
    /// Metric slot (diagram order) of the component the event left.
    pub from: u32,
    /// Metric slot of the component it went to.
    pub to: u32,
    /// Topic index ([`Engine::topics`](super::Engine::topics)), or [`QUERY_TOPIC`].
    pub topic: u32,
    /// Hops recorded on this route so far.
    pub count: u64,
    ring: Vec<Hop>,
    next: usize,
    buckets: [u32; BUCKETS],
    /// Number of the newest bucket (`time / BUCKET_US`).
    epoch: u64,
}

impl Route {
    fn new(from: u32, to: u32, topic: u32) -> Route {
        Route {
            from,
            to,
            topic,
            count: 0,
            ring: Vec::new(),
            next: 0,
            buckets: [0; BUCKETS],
            epoch: 0,
        }
    }

    fn push(&mut self, hop: Hop) {
        if self.ring.len() < HOPS_PER_ROUTE {
            self.ring.push(hop);
        } else {
            self.ring[self.next] = hop;
        }
        self.next = (self.next + 1) % HOPS_PER_ROUTE;
        self.count += 1;
        let b = hop.start.as_us() / BUCKET_US;
        if b > self.epoch {
            let stale = (b - self.epoch).min(BUCKETS as u64);
            for i in 0..stale {
                self.buckets[((b - i) % BUCKETS as u64) as usize] = 0;
            }
            self.epoch = b;
        }
        if b + BUCKETS as u64 > self.epoch {
            let i = (b % BUCKETS as u64) as usize;
            self.buckets[i] = self.buckets[i].saturating_add(1);
        }
    }

    /// The hops kept, oldest first.
    pub fn hops(&self) -> impl Iterator<Item = &Hop> + '_ {
        let (newer, older) = self.ring.split_at(self.next.min(self.ring.len()));
        older.iter().chain(newer)
    }

    /// Hops per virtual second over the last [`RATE_WINDOW_US`] before
    /// `now` (over the time since zero early in a run).
    pub fn rate_per_s(&self, now: VirtualTime) -> f64 {
        let now_us = now.as_us();
        let current = now_us / BUCKET_US;
        let oldest = current.saturating_sub(BUCKETS as u64 - 1);
        let mut n = 0u64;
        for b in oldest..=current.min(self.epoch) {
            if b + BUCKETS as u64 > self.epoch {
                n += u64::from(self.buckets[(b % BUCKETS as u64) as usize]);
            }
        }
        let span_us = now_us - oldest * BUCKET_US;
        if span_us == 0 {
            0.0
        } else {
            n as f64 * 1e6 / span_us as f64
        }
    }
}

/// The hops recorded while activity is on, by route.
#[derive(Debug, Clone, Default)]
pub struct ActivityLog {
    routes: Vec<Route>,
    /// Route indices by `from` slot.
    by_from: Vec<Vec<u32>>,
    dropped: u64,
}

impl ActivityLog {
    /// Records one hop of `event` from slot `from` to slot `to` on `topic`.
    pub fn record(
        &mut self,
        from: u32,
        to: u32,
        topic: u32,
        event: u64,
        start: VirtualTime,
        end: VirtualTime,
    ) {
        let Some(r) = self.route(from, to, topic) else {
            self.dropped += 1;
            return;
        };
        self.routes[r].push(Hop { event, start, end });
    }

    fn route(&mut self, from: u32, to: u32, topic: u32) -> Option<usize> {
        let f = from as usize;
        if let Some(list) = self.by_from.get(f)
            && let Some(&r) = list.iter().find(|&&r| {
                let route = &self.routes[r as usize];
                route.to == to && route.topic == topic
            })
        {
            return Some(r as usize);
        }
        if self.routes.len() >= MAX_ROUTES {
            return None;
        }
        if self.by_from.len() <= f {
            self.by_from.resize(f + 1, Vec::new());
        }
        let r = self.routes.len();
        self.routes.push(Route::new(from, to, topic));
        self.by_from[f].push(r as u32);
        Some(r)
    }

    /// Every route hops were recorded on, in order of first use.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Hops not recorded because [`MAX_ROUTES`] routes were in use.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// The engine's switch and log: `None` when off. Cloning gives one that is
/// off (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct Activity(Option<Box<ActivityLog>>);

impl Clone for Activity {
    fn clone(&self) -> Self {
        Activity(None)
    }
}

impl Activity {
    /// Whether hops are being recorded.
    #[inline(always)]
    pub(crate) fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Turns recording on (keeping what was recorded) or off (dropping it).
    pub(crate) fn set(&mut self, on: bool) {
        if !on {
            self.0 = None;
        } else if self.0.is_none() {
            self.0 = Some(Box::default());
        }
    }

    /// The log, when on.
    pub(crate) fn log(&self) -> Option<&ActivityLog> {
        self.0.as_deref()
    }

    /// Records a hop (see [`ActivityLog::record`]) when on.
    #[cold]
    #[inline(never)]
    pub(crate) fn record(
        &mut self,
        from: u32,
        to: u32,
        topic: u32,
        event: u64,
        start: VirtualTime,
        end: VirtualTime,
    ) {
        if let Some(log) = &mut self.0 {
            log.record(from, to, topic, event, start, end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> VirtualTime {
        VirtualTime::from_millis(ms)
    }

    #[test]
    fn a_route_keeps_only_its_latest_hops_oldest_first() {
        let mut log = ActivityLog::default();
        let n = HOPS_PER_ROUTE as u64 + 100;
        for i in 0..n {
            log.record(0, 1, 7, i, t(i), t(i));
        }
        log.record(2, 1, 7, 999, t(5), t(6));
        assert_eq!(log.routes().len(), 2);
        let r = &log.routes()[0];
        assert_eq!(r.count, n);
        let ids: Vec<u64> = r.hops().map(|h| h.event).collect();
        assert_eq!(ids.len(), HOPS_PER_ROUTE);
        assert_eq!(ids.first(), Some(&100));
        assert!(ids.windows(2).all(|w| w[0] + 1 == w[1]), "{ids:?}");
        assert_eq!(log.routes()[1].hops().count(), 1);
    }

    #[test]
    fn a_steady_route_reports_its_rate_and_a_quiet_one_decays_to_zero() {
        let mut log = ActivityLog::default();
        // 200 hops per second for 3 s.
        for i in 0..600u64 {
            log.record(0, 1, 0, i, t(i * 5), t(i * 5));
        }
        let r = &log.routes()[0];
        let rate = r.rate_per_s(t(3_000));
        assert!((rate - 200.0).abs() < 20.0, "{rate}");
        assert_eq!(r.rate_per_s(t(10_000)), 0.0, "nothing for seconds");
        // Early in a run the rate is over the time since zero.
        let mut early = ActivityLog::default();
        for i in 0..10u64 {
            early.record(0, 1, 0, i, t(i * 10), t(i * 10));
        }
        let rate = early.routes()[0].rate_per_s(t(100));
        assert!((rate - 100.0).abs() < 1.0, "{rate}");
    }

    #[test]
    fn routes_are_bounded() {
        let mut log = ActivityLog::default();
        for i in 0..(MAX_ROUTES as u32 + 10) {
            log.record(i % 7, i, 0, 0, t(0), t(0));
        }
        assert_eq!(log.routes().len(), MAX_ROUTES);
        assert_eq!(log.dropped(), 10);
    }

    #[test]
    fn a_clone_is_off() {
        let mut a = Activity::default();
        assert!(!a.is_on());
        a.set(true);
        a.record(0, 1, 0, 0, t(0), t(0));
        assert_eq!(a.log().map(|l| l.routes().len()), Some(1));
        assert!(!a.clone().is_on());
        a.set(false);
        assert!(a.log().is_none());
    }
}
