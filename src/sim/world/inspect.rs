//! Read-only accessors for inspecting one component while a run goes
//! (the live inspector's tables): what the rest of the engine API does not
//! already hand out. Nothing here changes the engine.

use super::super::bus::Topic;
use super::Engine;

/// One instance of a consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceState {
    /// Its number.
    pub instance: u32,
    /// Whether it is up.
    pub alive: bool,
    /// Partitions it owns now.
    pub partitions: u32,
    /// Records it processed so far.
    pub processed: u64,
}

impl Engine {
    /// The topics on bus `key` (a component's Mermaid id), in creation order.
    pub fn bus_topics(&self, key: &str) -> Vec<&Topic> {
        let Some(slot) = self.metrics.iter().position(|m| m.key == key) else {
            return Vec::new();
        };
        self.topics
            .iter()
            .filter(|t| t.bus as usize == slot)
            .collect()
    }

    /// Every instance of a group, up or down, with what it owns and did.
    pub fn group_instances(&self, group: &str) -> Option<Vec<InstanceState>> {
        let g = self.groups.iter().find(|g| g.name == group)?;
        let owned = |i: u32| {
            self.workers[g.first_worker as usize..g.end_worker as usize]
                .iter()
                .filter(|w| w.instance == i)
                .count() as u32
        };
        Some(
            g.alive
                .iter()
                .enumerate()
                .map(|(i, &alive)| InstanceState {
                    instance: i as u32,
                    alive,
                    partitions: owned(i as u32),
                    processed: g.processed_by_instance.get(i).copied().unwrap_or(0),
                })
                .collect(),
        )
    }

    /// Whether group `group` has dead letters a replay can take
    /// ([`crate::sim::Fault::ReplayDlq`]): kept ones no replay under way
    /// is working through.
    pub fn can_replay_dlq(&self, group: &str) -> bool {
        let left = self.dlq_replay_left(group);
        self.dead_letters(group)
            .is_some_and(|d| d.records.len() > left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArchGraph;
    use crate::sim::{Scenario, VirtualTime};

    #[test]
    fn instances_own_every_partition_and_the_bus_has_its_topics() {
        let chart = crate::mermaid::parse_flowchart(crate::SEED_DIAGRAM).expect("seed parses");
        let g = ArchGraph::from_flowchart(&chart);
        let mut e = Engine::new(&g, Scenario::default_for(&g), 1).expect("builds");
        e.run_until(VirtualTime::from_millis(500));
        let lags = e.partition_lags("Consumer1").expect("c1");
        let inst = e.group_instances("Consumer1").expect("c1");
        let owned: u32 = inst.iter().map(|i| i.partitions).sum();
        assert_eq!(owned as usize, lags.len());
        let processed: u64 = inst.iter().map(|i| i.processed).sum();
        assert_eq!(processed, lags.iter().map(|p| p.processed).sum::<u64>());
        let names: Vec<&str> = e.bus_topics("EB").iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), e.topics().len(), "{names:?}");
        assert!(e.bus_topics("Consumer1").is_empty());
        assert!(e.group_instances("Nope").is_none());
        assert!(!e.can_replay_dlq("Consumer1"));
    }
}
