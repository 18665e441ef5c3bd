//! Kafka-like retention on the bus ([`Retention::KeepLatest`],
//! [`Retention::Time`]): records are dropped from the front of a
//! partition as new ones are appended (and, for time retention, at each
//! metric sample), whether or not every group read them; a group whose
//! next offset fell below the low watermark jumps to it, as a Kafka
//! consumer with `auto.offset.reset = earliest` does, and the records it
//! skipped are counted ([`crate::sim::DeliveryCounters::skipped_by_retention`]) and
//! reported by the "nothing lost" invariant — never lost silently.
//!
//! `until-consumed` and `keep-all` never reach this code: their only cost
//! on the hot path is a test of the retention's kind per append and a
//! compare of a worker's position with the low watermark per start.
//!
//! Hooks in `world.rs`: `publish` (after an append), `try_start` (a worker
//! below the low watermark), `on_done` (the record in service was
//! dropped), `on_sample` (time retention without appends). Must not
//! depend on `record`, `live`, `gui` or `cli`.
//!
//! # Slim engines for the history's archive
//! [`Engine::slim_committed_prefix`] drops from a copy of the engine the
//! records that every group subscribed to their topic is past (the
//! partition's *floor*), so that an archived image carries about what an
//! `until-consumed` run keeps rather than the whole retained log. Why a
//! run forward from it is still the run, and when it is not, is said in
//! `sim::history::archive`.

use super::super::bus::Offset;
use super::super::history::rewinds;
use super::super::invariants::EventRef;
use super::{Engine, Retention, VirtualTime};

/// What [`Engine::slim_committed_prefix`] dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Slimmed {
    /// Records dropped over all partitions.
    pub records: u64,
    /// The latest `produced_at` among them: the event log of an engine
    /// restored from the slim image lacks records published up to it.
    pub newest_dropped: Option<VirtualTime>,
}

impl Engine {
    /// Drops from each partition's log the records below its floor: the
    /// lowest offset any worker of a subscribed group still stands at
    /// (committed, position, finished, expected next), the high watermark
    /// when nobody subscribes. Nothing is dropped when a rewinding control
    /// is pending (scheduled) or under `until-consumed` (which keeps no
    /// more than that anyway). For a copy that is archived, never for the
    /// engine that runs: see `sim::history::archive`.
    ///
    /// The count of records queued on the bus goes down by what was
    /// dropped when retention drops records (then it is the sum of what
    /// the partitions keep, so later trims keep it right); under
    /// `keep-all` it stays as it is, since nothing will ever be trimmed.
    pub(crate) fn slim_committed_prefix(&mut self) -> Slimmed {
        let retention = self.scenario.retention;
        if retention == Retention::UntilConsumed || self.controls.values().any(rewinds) {
            return Slimmed::default();
        }
        let mut slimmed = Slimmed::default();
        for topic in &mut self.topics {
            for (p, log) in topic.partitions.iter_mut().enumerate() {
                let floor = topic
                    .subscriptions
                    .iter()
                    .map(|&(_, base)| {
                        let w = &self.workers[base as usize + p];
                        w.committed
                            .min(w.position)
                            .min(w.finished_upto)
                            .min(w.expect_next)
                    })
                    .min()
                    .unwrap_or(log.high_watermark().0);
                let low = log.low_watermark().0;
                if floor <= low {
                    continue;
                }
                let newest = log.get(Offset(floor - 1)).map(|r| r.produced_at);
                let dropped = log.trim_below(Offset(floor)) as u64;
                slimmed.records += dropped;
                slimmed.newest_dropped = slimmed.newest_dropped.max(newest);
            }
        }
        if retention.drops_unread() {
            self.queued_records = self.queued_records.saturating_sub(slimmed.records as usize);
        }
        slimmed
    }

    /// Publishes refused because the bus held
    /// [`crate::sim::Limits::max_queued_records`] records, over the run.
    pub(crate) fn rejected_publishes(&self) -> u64 {
        self.rejected
    }
}

impl Engine {
    /// Applies Kafka-like retention ([`Retention::KeepLatest`],
    /// [`Retention::Time`]) to `t/p`: drops its oldest records whether or
    /// not every group read them. O(1) amortised per append.
    #[inline]
    pub(super) fn retain(&mut self, t: u32, p: u32) {
        let log = &mut self.topics[t as usize].partitions[p as usize];
        self.queued_records -= match self.scenario.retention {
            Retention::KeepLatest { records } => log.keep_latest(records),
            Retention::Time { us } => {
                log.drop_before(VirtualTime::from_us(self.now.as_us().saturating_sub(us)))
            }
            Retention::UntilConsumed | Retention::KeepAll => 0,
        };
    }

    /// Worker `w`'s next offset fell below its partition's low watermark
    /// (retention dropped records it had not read): like a Kafka consumer
    /// with `auto.offset.reset = earliest`, it jumps to the oldest record
    /// kept, committing there (what it skipped is gone), and the skipped
    /// records are counted in its group's
    /// [`crate::sim::DeliveryCounters::skipped_by_retention`] and reported by the
    /// "nothing lost" invariant. Returns whether a record is left to read.
    #[cold]
    pub(super) fn skip_to_log_start(&mut self, w: u32) -> bool {
        let now = self.now;
        let log = self.log_of(w);
        let (low, high) = (log.low_watermark().0, log.high_watermark().0);
        let worker = &mut self.workers[w as usize];
        let from = worker.position;
        if from < low {
            worker.integrate(now, high);
            worker.position = low;
            worker.expect_next = low;
            worker.committed = worker.committed.max(low);
            worker.since_commit = 0;
            worker.finished_upto = worker.finished_upto.max(low);
            worker.applied.forget_below(low);
            let (g, t, p) = (worker.group as usize, worker.topic, worker.partition);
            let group = &mut self.groups[g];
            group.counters.skipped_by_retention += low - from;
            let (name, topic) = (&group.name, &self.topics[t as usize].name);
            self.retention_losses.record_events(now, || {
                let text = format!(
                    "{name} never read {topic}/{p}@{from}..{low}: retention dropped those {} \
                     records first (it went on from {low})",
                    low - from
                );
                let event = EventRef {
                    group: name.clone(),
                    topic: topic.clone(),
                    partition: p,
                    offset: from,
                    key: None,
                    event_id: None,
                };
                (text, vec![event])
            });
        }
        low < high
    }

    /// The record worker `w` had in service was dropped by retention
    /// before the attempt ended: the attempt is void and the worker goes
    /// on from the oldest record kept.
    #[cold]
    pub(super) fn lost_in_service(&mut self, w: u32) {
        let worker = &mut self.workers[w as usize];
        worker.busy = false;
        worker.attempt = 0;
        let (g, i) = (worker.group as usize, worker.instance);
        self.skip_to_log_start(w);
        if self.groups[g].params.concurrency > 0 {
            self.free_slot(g, i);
            self.wake(g, i);
        }
        self.try_start(w);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::mermaid::parse_flowchart;
    use crate::model::ArchGraph;
    use crate::sim::{
        Check, Engine, Fault, GroupParams, Retention, Scenario, ServiceTime, VirtualTime,
    };

    fn seed(retention: Retention) -> (ArchGraph, Scenario) {
        let g = ArchGraph::from_flowchart(&parse_flowchart(crate::SEED_DIAGRAM).unwrap());
        let mut s = Scenario::default_for(&g);
        s.retention = retention;
        (g, s)
    }

    fn engine(retention: Retention, seed_: u64) -> Engine {
        let (g, s) = seed(retention);
        Engine::new(&g, s, seed_).unwrap()
    }

    fn max_retained(e: &Engine) -> usize {
        e.topics()
            .iter()
            .flat_map(|t| t.partitions())
            .map(|p| p.retained())
            .max()
            .unwrap_or(0)
    }

    fn lag(e: &Engine, group: &str) -> u64 {
        e.partition_lags(group).unwrap().iter().map(|p| p.lag).sum()
    }

    #[test]
    fn keep_latest_caps_each_partition_and_a_group_left_behind_counts_what_it_skipped() {
        let keep = 200;
        let mut e = engine(Retention::KeepLatest { records: keep }, 3);
        e.run_until(VirtualTime::from_secs(2));
        assert!(max_retained(&e) as u64 <= keep);
        assert_eq!(
            e.delivery_counters("Consumer1")
                .unwrap()
                .skipped_by_retention,
            0
        );
        // Consumer1 down for 30 s: ~1,000 records a partition go by, 200 are kept.
        e.apply_fault(Fault::Crash {
            group: "Consumer1".into(),
            instance: 0,
            duration_us: Some(30_000_000),
        })
        .unwrap();
        e.run_until(VirtualTime::from_secs(31));
        assert!(max_retained(&e) as u64 <= keep);
        assert_eq!(max_retained(&e) as u64, keep, "the cap is reached");
        let behind = lag(&e, "Consumer1");
        assert!(
            behind > 9 * 3 * keep,
            "lag counts the dropped records too: {behind}"
        );
        e.run_until(VirtualTime::from_secs(34));
        let c = e.delivery_counters("Consumer1").unwrap();
        // It skipped what was dropped while it was down, nothing else.
        assert!(c.skipped_by_retention > 8 * 3 * keep, "{c:?}");
        assert!(c.skipped_by_retention < behind, "{c:?}");
        assert!(
            lag(&e, "Consumer1") < 100,
            "caught up: {}",
            lag(&e, "Consumer1")
        );
        for other in ["Consumer2", "ReadModel", "ES"] {
            assert_eq!(e.delivery_counters(other).unwrap().skipped_by_retention, 0);
        }
        assert_eq!(
            e.summary()
                .groups
                .iter()
                .find(|g| g.group == "Consumer1")
                .unwrap()
                .delivery
                .skipped_by_retention,
            c.skipped_by_retention
        );
        // Counted, not hidden: "nothing lost" says so once drained.
        assert!(e.drain(VirtualTime::from_secs(60)));
        let report = e.invariants();
        match &report.nothing_lost {
            Check::Violated { first, .. } => {
                assert!(first.contains("retention dropped"), "{first}")
            }
            other => panic!("{other:?}"),
        }
        assert!(!report.per_key_order.is_violated(), "{report:?}");
    }

    /// A group that keeps falling behind a tiny retention skips forward
    /// again and again; what it keeps per partition must not grow with it.
    #[test]
    fn repeated_skips_keep_a_workers_state_bounded() {
        let mut e = engine(Retention::KeepLatest { records: 1 }, 8);
        e.run_until(VirtualTime::from_secs(20));
        let skipped = e
            .delivery_counters("Consumer1")
            .unwrap()
            .skipped_by_retention;
        assert!(skipped > 100, "the test needs many skips: {skipped}");
        for w in &e.workers {
            assert!(w.applied.runs() <= 3, "{}", w.applied.runs());
        }
        assert!(max_retained(&e) <= 1);
    }

    /// [`crate::sim::LIVE_RETAINED_RECORDS`] is sized for 64-byte records
    /// (96 MB): a bigger record must revisit it.
    #[test]
    fn the_live_retention_budget_assumes_64_byte_records() {
        assert_eq!(std::mem::size_of::<crate::sim::Record>(), 64);
        let bytes = crate::sim::LIVE_RETAINED_RECORDS * 64;
        assert!(bytes <= 100 << 20, "{bytes}");
        // The seed diagram's 12 partitions keep over an hour at 100 records/s a topic.
        let per_partition = crate::sim::LIVE_RETAINED_RECORDS / 12;
        assert!(per_partition as f64 / (100.0 / 3.0) > 3_600.0);
    }

    #[test]
    fn time_retention_drops_old_records_even_when_nothing_is_appended() {
        let mut e = engine(Retention::Time { us: 2_000_000 }, 4);
        e.run_until(VirtualTime::from_secs(5));
        let now = e.now();
        for t in e.topics() {
            for p in t.partitions() {
                let oldest = p.get(p.low_watermark()).map(|r| r.produced_at);
                assert!(
                    oldest.is_none_or(|at| now.since_us(at) <= 2_000_000),
                    "{oldest:?} at {now}"
                );
                assert!(p.low_watermark().0 > 0, "older records went");
            }
        }
        e.stop_sources();
        e.run_until(VirtualTime::from_secs(8));
        assert_eq!(max_retained(&e), 0, "sampling trims without appends");
        assert_eq!(e.queued_records(), 0);
    }

    #[test]
    fn a_generous_retention_changes_nothing_a_run_does() {
        let plain = |r| {
            let mut e = engine(r, 6);
            e.run_until(VirtualTime::from_secs(3));
            e.run_hash()
        };
        let base = plain(Retention::UntilConsumed);
        assert_eq!(plain(Retention::KeepLatest { records: 1 << 20 }), base);
        assert_eq!(plain(Retention::Time { us: 3_600_000_000 }), base);
        assert_eq!(plain(Retention::KeepAll), base);
    }

    #[test]
    fn a_group_added_mid_run_reads_from_offset_zero_under_a_live_retention() {
        let (g, s) = seed(Retention::UntilConsumed);
        let probe = Engine::new(&g, s.clone(), 1).unwrap();
        let partitions: u64 = probe
            .topics()
            .iter()
            .map(|t| t.partitions().len() as u64)
            .sum();
        let mut s = s;
        s.retention = s.retention.for_live_run(partitions);
        assert!(matches!(s.retention, Retention::KeepLatest { records } if records >= 100_000));
        let mut e = Engine::new(&g, s, 1).unwrap();
        e.run_until(VirtualTime::from_secs(120));
        e.apply_fault(Fault::AddGroup {
            name: "Audit".into(),
            topics: vec!["OrderCreated".into(), "PaymentProcessed".into()],
            params: GroupParams {
                service: ServiceTime::Constant { us: 200 },
                ..GroupParams::default()
            },
        })
        .unwrap();
        let start = e.partition_lags("Audit").unwrap();
        assert!(start.iter().all(|p| p.committed == 0), "{start:?}");
        assert!(lag(&e, "Audit") > 20_000, "{}", lag(&e, "Audit"));
        e.run_until(VirtualTime::from_secs(140));
        assert!(lag(&e, "Audit") < 50, "caught up: {}", lag(&e, "Audit"));
        let c = e.delivery_counters("Audit").unwrap();
        assert_eq!(c.skipped_by_retention, 0);
        // Under until-consumed it would have started near the head.
        let (g, s) = seed(Retention::UntilConsumed);
        let mut u = Engine::new(&g, s, 1).unwrap();
        u.run_until(VirtualTime::from_secs(120));
        u.apply_fault(Fault::AddGroup {
            name: "Audit".into(),
            topics: vec!["OrderCreated".into()],
            params: GroupParams::default(),
        })
        .unwrap();
        assert!(lag(&u, "Audit") < 100, "{}", lag(&u, "Audit"));
    }

    #[test]
    fn an_image_of_a_run_with_retention_continues_exactly() {
        let mut e = engine(Retention::KeepLatest { records: 50 }, 9);
        e.apply_fault(Fault::Crash {
            group: "Consumer2".into(),
            instance: 0,
            duration_us: Some(3_000_000),
        })
        .unwrap();
        e.run_until(VirtualTime::from_millis(2_500));
        let image = e.to_image().unwrap();
        let mut back = Engine::from_image(&image).unwrap();
        assert_eq!(
            back.scenario().retention,
            Retention::KeepLatest { records: 50 }
        );
        for x in [&mut e, &mut back] {
            x.run_until(VirtualTime::from_secs(6));
        }
        assert_eq!(back.run_hash(), e.run_hash());
        assert_eq!(back.summary(), e.summary());
        assert!(
            e.delivery_counters("Consumer2")
                .unwrap()
                .skipped_by_retention
                > 0,
            "the test needs a skip"
        );
    }
}
