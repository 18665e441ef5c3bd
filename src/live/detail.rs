//! The selected component's live state as tables, for the inspector: a
//! [`ComponentDetail`] computed from the engine of the frame's moment (the
//! head, or a past moment after a seek), so scrubbing the timeline shows
//! the tables as they were.
//!
//! What a component shows depends on what it is: a sink its state (stock
//! per sku, the read model's views, warehouse aggregates, search index
//! documents, notifications sent); a consumer group its partition →
//! instance assignment with offsets and lag, its instances and its
//! dead-letter queue; a bus its topics and partitions; the command
//! handler its counters. Every component gets its metrics.
//!
//! Bounded whatever the run's length: each table keeps at most
//! [`MAX_ROWS`] rows (sorted so the interesting ones come first) and says
//! how many there are in all. Cells are text, formatted here, so the GUI
//! only lays them out. Must not depend on egui.

use crate::model::Role;
use crate::sim::{DeliveryCounters, Engine, LatencySummary, Payload, SinkState};

/// Rows a table keeps at most.
pub const MAX_ROWS: usize = 200;

/// One titled table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// What it shows.
    pub title: String,
    /// Column headings.
    pub columns: Vec<&'static str>,
    /// At most [`MAX_ROWS`] rows, one cell per column.
    pub rows: Vec<Vec<String>>,
    /// Rows there are in all (≥ `rows.len()`).
    pub total: u64,
}

impl Table {
    fn new(title: impl Into<String>, columns: &[&'static str]) -> Table {
        Table {
            title: title.into(),
            columns: columns.to_vec(),
            rows: Vec::new(),
            total: 0,
        }
    }

    /// Adds a row while there is room; counts it either way.
    fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.columns.len(), "{}: cells", self.title);
        self.total += 1;
        if self.rows.len() < MAX_ROWS {
            self.rows.push(row);
        }
    }

    /// A two-column table of named values.
    fn pairs(title: &str, pairs: &[(&str, String)]) -> Table {
        let mut t = Table::new(title, &["", "value"]);
        for (k, v) in pairs {
            t.push(vec![(*k).to_string(), v.clone()]);
        }
        t
    }

    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| *c == name)
    }
}

/// A component's numbers at the frame's moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DetailMetrics {
    /// Events in (see [`crate::sim::ComponentMetrics`] for what that means per role).
    pub events_in: u64,
    /// Events out.
    pub events_out: u64,
    /// Events in per virtual second, averaged over the run so far.
    pub throughput_per_s: f64,
    /// Records refused by a full bus (producers).
    pub rejected: u64,
    /// Records dropped by backpressure (producers).
    pub shed: u64,
    /// Service time per record (groups, the command handler).
    pub processing_us: Option<LatencySummary>,
    /// Append → done per record (groups).
    pub end_to_end_us: Option<LatencySummary>,
    /// Failures, retries, dead letters, duplicates (groups).
    pub delivery: Option<DeliveryCounters>,
    /// Records waiting in the DLQ (groups).
    pub dlq_waiting: Option<u64>,
    /// Optimistic-concurrency conflicts (the command handler).
    pub conflicts: Option<u64>,
}

/// The selected component's live state.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentDetail {
    /// Mermaid id.
    pub key: String,
    /// Role in the architecture.
    pub role: Role,
    /// Its numbers.
    pub metrics: DetailMetrics,
    /// Its state as tables, most telling first.
    pub tables: Vec<Table>,
    /// Whether it is a consumer group with dead letters a replay can take.
    pub can_replay_dlq: bool,
}

impl ComponentDetail {
    /// The table titled `title`.
    pub fn table(&self, title: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.title == title)
    }
}

/// The detail of component `key` in `engine`, or `None` when the engine
/// knows no such component (a diagram edited since the run started).
pub fn capture(engine: &Engine, key: &str) -> Option<ComponentDetail> {
    let m = engine.component_metrics(key)?;
    let secs = engine.now().as_us() as f64 / 1e6;
    let is_group = engine.group_names().any(|g| g == key);
    let cqrs = engine.cqrs_summary().filter(|c| c.handler == key);
    let mut metrics = DetailMetrics {
        events_in: m.events_in,
        events_out: m.events_out,
        throughput_per_s: if secs > 0.0 {
            m.events_in.max(m.events_out) as f64 / secs
        } else {
            0.0
        },
        rejected: m.rejected,
        shed: m.shed,
        processing_us: (is_group || cqrs.is_some()).then(|| m.processing_us.summary()),
        end_to_end_us: is_group.then(|| m.end_to_end_us.summary()),
        delivery: engine.delivery_counters(key),
        dlq_waiting: engine.dead_letters(key).map(|d| d.waiting()),
        conflicts: cqrs.as_ref().map(|c| c.counters.conflicts),
    };
    if metrics.throughput_per_s.is_nan() {
        metrics.throughput_per_s = 0.0;
    }
    let mut tables = Vec::new();
    if let Some(state) = engine.sink_state(key) {
        sink_tables(engine, state, &mut tables);
    }
    if is_group {
        group_tables(engine, key, &mut tables);
    }
    if m.role == Role::Bus {
        bus_tables(engine, key, &mut tables);
    }
    if let Some(reg) = engine.registry().filter(|r| r.component == key) {
        registry_tables(&reg, &mut tables);
    }
    if let Some(c) = cqrs {
        let k = c.counters;
        tables.push(Table::pairs(
            "Commands",
            &[
                ("sent", k.commands.to_string()),
                ("accepted", k.accepted.to_string()),
                ("conflicts", k.conflicts.to_string()),
                (
                    "accepted after conflict",
                    k.accepted_after_conflict.to_string(),
                ),
                (
                    "rejected: unknown order",
                    k.rejected_unknown_order.to_string(),
                ),
                ("rejected: duplicate", k.rejected_duplicate.to_string()),
                ("rejected: conflict", k.rejected_conflict.to_string()),
                ("shed", k.shed.to_string()),
                ("queued", c.queued.to_string()),
                ("staleness p99", us(c.staleness_us.p99_us)),
            ],
        ));
    }
    Some(ComponentDetail {
        key: key.to_string(),
        role: m.role,
        metrics,
        tables,
        can_replay_dlq: engine.can_replay_dlq(key),
    })
}

/// The schema registry's state: its status and counters, its subjects'
/// versions with their ids, and what each client has cached.
fn registry_tables(reg: &crate::sim::RegistrySummary, tables: &mut Vec<Table>) {
    let n = reg.counters;
    tables.push(Table::pairs(
        "Schema registry",
        &[
            ("status", if reg.up { "up" } else { "down" }.to_string()),
            ("compatibility", reg.compat.word().to_string()),
            ("lookup latency", us(reg.lookup_us)),
            ("lookups served", n.lookups_served.to_string()),
            ("lookups failed (down)", n.lookups_failed.to_string()),
            (
                "rejected: unregistered",
                n.rejected_unregistered.to_string(),
            ),
            ("rejected: malformed", n.rejected_malformed.to_string()),
            ("undecodable attempts", n.undecodable.to_string()),
        ],
    ));
    let mut t = Table::new(
        "Subjects",
        &[
            "subject",
            "version",
            "event type",
            "id",
            "status",
            "produced",
            "rejected",
        ],
    );
    for subject in &reg.subjects {
        for v in &subject.versions {
            t.push(vec![
                subject.name.clone(),
                v.version.to_string(),
                v.event_type.clone(),
                v.id.map_or_else(|| "—".to_string(), |id| id.to_string()),
                v.refused
                    .clone()
                    .unwrap_or_else(|| format!("registered ({})", v.change.word())),
                v.produced.to_string(),
                v.rejected.to_string(),
            ]);
        }
    }
    tables.push(t);
    let mut t = Table::new("Clients", &["client", "kind", "cached ids", "lookups"]);
    let kinds = [("producer", &reg.producers), ("consumer", &reg.consumers)];
    for (kind, clients) in kinds {
        for c in clients.iter() {
            let ids: Vec<String> = c.cached_ids.iter().map(u32::to_string).collect();
            t.push(vec![
                c.client.clone(),
                kind.to_string(),
                if ids.is_empty() {
                    "none".to_string()
                } else {
                    ids.join(", ")
                },
                c.lookups.to_string(),
            ]);
        }
    }
    tables.push(t);
}

/// A duration for a cell.
fn us(v: u64) -> String {
    duration_label(v)
}

/// A duration in a unit that reads well: `850 µs`, `12.3 ms`, `4.20 s`.
pub fn duration_label(us: u64) -> String {
    match us {
        0..1_000 => format!("{us} µs"),
        1_000..1_000_000 => format!("{:.1} ms", us as f64 / 1e3),
        _ => format!("{:.2} s", us as f64 / 1e6),
    }
}

fn topic_name(engine: &Engine, t: u32) -> String {
    engine
        .topics()
        .get(t as usize)
        .map_or_else(|| format!("#{t}"), |x| x.name().to_string())
}

fn sink_tables(engine: &Engine, state: &SinkState, tables: &mut Vec<Table>) {
    match state {
        SinkState::Inventory(inv) => {
            let mut t = Table::new("Stock per sku (lowest first)", &["sku", "stock", "taken"]);
            for (sku, stock) in inv.lowest(MAX_ROWS) {
                let taken = crate::sim::INITIAL_STOCK - stock;
                t.rows
                    .push(vec![sku.to_string(), stock.to_string(), taken.to_string()]);
            }
            t.total = inv.skus() as u64;
            tables.push(t);
            tables.push(Table::pairs(
                "Inventory",
                &[
                    ("orders applied", inv.orders.to_string()),
                    ("units taken", inv.units.to_string()),
                    ("skus changed", inv.skus().to_string()),
                    ("other events", inv.ignored.to_string()),
                ],
            ));
        }
        SinkState::ReadViews(v) => {
            let mut s = Table::new("Orders by status", &["status", "orders"]);
            for (status, n) in v.orders_by_status() {
                s.push(vec![format!("{status:?}"), n.to_string()]);
            }
            tables.push(s);
            // The newest (highest ids) first.
            let orders = highest(v.orders.iter().map(|(id, o)| (id, *o)));
            let mut t = Table::new("Orders view", &["order", "status", "placed", "payments"]);
            for (id, o) in orders {
                t.push(vec![
                    id.to_string(),
                    format!("{:?}", o.status()),
                    o.placed.to_string(),
                    o.payments.to_string(),
                ]);
            }
            t.total = v.orders.len() as u64;
            tables.push(t);
            let users = highest(v.users.iter().map(|(id, u)| (id, *u)));
            let mut t = Table::new("Users view", &["user", "email", "registrations", "event"]);
            for (id, u) in users {
                let email = Payload::User {
                    user_id: id,
                    email_domain: u.email_domain,
                }
                .email()
                .unwrap_or_default();
                t.push(vec![
                    id.to_string(),
                    email,
                    u.registrations.to_string(),
                    u.event_id.to_string(),
                ]);
            }
            t.total = v.users.len() as u64;
            tables.push(t);
            tables.push(Table::pairs(
                "Payments",
                &[
                    ("payments", v.payments.to_string()),
                    ("paid", cents(v.paid_cents)),
                    ("other events", v.ignored.to_string()),
                ],
            ));
        }
        SinkState::Warehouse(w) => {
            let mut t = Table::new("Per event type", &["event type", "events", "amount"]);
            for (i, tally) in w.by_type.iter().enumerate() {
                if tally.count > 0 {
                    t.push(vec![
                        topic_name(engine, i as u32),
                        tally.count.to_string(),
                        cents(tally.amount_cents),
                    ]);
                }
            }
            tables.push(t);
            // The latest hours first.
            let mut t = Table::new("Per hour", &["hour", "event type", "events", "amount"]);
            for (hour, tallies) in w.by_hour.iter().rev() {
                for (i, tally) in tallies.iter().enumerate() {
                    if tally.count > 0 {
                        t.push(vec![
                            hour.to_string(),
                            topic_name(engine, i as u32),
                            tally.count.to_string(),
                            cents(tally.amount_cents),
                        ]);
                    }
                }
            }
            tables.push(t);
        }
        SinkState::SearchIndex(ix) => {
            // The most recently indexed first.
            let docs = highest(ix.documents.iter().enumerate().flat_map(|(kind, map)| {
                map.iter()
                    .map(move |(id, d)| (d.event_id, (kind, id, d.term(kind))))
            }));
            let mut t = Table::new("Documents (latest first)", &["kind", "id", "term", "event"]);
            for (event, (kind, id, term)) in docs {
                t.push(vec![
                    KINDS.get(kind).copied().unwrap_or("other").to_string(),
                    id.to_string(),
                    format!("{term:?}"),
                    event.to_string(),
                ]);
            }
            t.total = ix.len();
            tables.push(t);
            tables.push(Table::pairs(
                "Search index",
                &[
                    ("documents", ix.len().to_string()),
                    ("terms", ix.terms().to_string()),
                ],
            ));
        }
        SinkState::Notifications(n) => {
            let mut t = Table::new("Sent per event type", &["event type", "email", "push"]);
            for (i, [email, push]) in n.sent.iter().enumerate() {
                if email + push > 0 {
                    t.push(vec![
                        topic_name(engine, i as u32),
                        email.to_string(),
                        push.to_string(),
                    ]);
                }
            }
            tables.push(t);
            let mut t = Table::new(
                "Recent notifications",
                &["event", "channel", "event type", "recipient"],
            );
            for x in n.recent.iter().rev() {
                t.push(vec![
                    x.event_id.to_string(),
                    format!("{:?}", x.channel),
                    topic_name(engine, x.topic),
                    x.recipient.to_string(),
                ]);
            }
            t.total = t.total.max(n.total());
            tables.push(t);
        }
        SinkState::Counter(c) => {
            let mut t = Table::new("Events per type", &["event type", "events"]);
            for (i, n) in c.by_type.iter().enumerate() {
                if *n > 0 {
                    t.push(vec![topic_name(engine, i as u32), n.to_string()]);
                }
            }
            tables.push(t);
        }
    }
}

/// The [`MAX_ROWS`] items with the highest keys, highest first, in one
/// pass with a bounded heap (a view may hold a million entries; the
/// inspector redraws every frame).
fn highest<T>(items: impl Iterator<Item = (u64, T)>) -> Vec<(u64, T)> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    /// Orders by the key alone.
    struct ByKey<T>(u64, T);
    impl<T> PartialEq for ByKey<T> {
        fn eq(&self, other: &Self) -> bool {
            self.0 == other.0
        }
    }
    impl<T> Eq for ByKey<T> {}
    impl<T> PartialOrd for ByKey<T> {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl<T> Ord for ByKey<T> {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.cmp(&other.0)
        }
    }
    let mut heap: BinaryHeap<Reverse<ByKey<T>>> = BinaryHeap::with_capacity(MAX_ROWS + 1);
    for (k, v) in items {
        if heap.len() < MAX_ROWS {
            heap.push(Reverse(ByKey(k, v)));
        } else if heap.peek().is_some_and(|Reverse(min)| k > min.0) {
            heap.pop();
            heap.push(Reverse(ByKey(k, v)));
        }
    }
    // Ascending by Reverse = descending by key.
    heap.into_sorted_vec()
        .into_iter()
        .map(|Reverse(ByKey(k, v))| (k, v))
        .collect()
}

/// Document kinds of the search index, by index.
const KINDS: [&str; 4] = ["order", "user", "payment", "other"];

fn cents(c: u64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

fn group_tables(engine: &Engine, group: &str, tables: &mut Vec<Table>) {
    let mut t = Table::new(
        "Partitions",
        &[
            "topic",
            "partition",
            "instance",
            "committed",
            "end offset",
            "lag",
            "oldest waiting",
            "processed",
        ],
    );
    for p in engine.partition_lags(group).unwrap_or_default() {
        t.push(vec![
            p.topic,
            p.partition.to_string(),
            if p.instance == u32::MAX {
                "—".into()
            } else {
                p.instance.to_string()
            },
            p.committed.to_string(),
            p.high_watermark.to_string(),
            p.lag.to_string(),
            us(p.lag_us),
            p.processed.to_string(),
        ]);
    }
    tables.push(t);
    let mut t = Table::new(
        "Instances",
        &["instance", "state", "partitions", "processed"],
    );
    for i in engine.group_instances(group).unwrap_or_default() {
        t.push(vec![
            i.instance.to_string(),
            if i.alive { "up" } else { "down" }.into(),
            i.partitions.to_string(),
            i.processed.to_string(),
        ]);
    }
    tables.push(t);
    if let Some(dlq) = engine.dead_letters(group) {
        let mut t = Table::new(
            "Dead-letter queue",
            &[
                "#",
                "event",
                "key",
                "event type",
                "from",
                "attempts",
                "error",
                "at",
            ],
        );
        let first = dlq.replayed;
        for (i, l) in dlq.records.iter().enumerate() {
            t.push(vec![
                (first + i as u64).to_string(),
                l.event_id.to_string(),
                l.key.to_string(),
                l.topic.clone(),
                format!("{}@{}", l.partition, l.offset),
                l.attempts.to_string(),
                format!("{:?}", l.error),
                l.at.to_string(),
            ]);
        }
        t.total = dlq.waiting();
        tables.push(t);
    }
    if let Some(store) = engine.event_store(group) {
        let loads = store.loads();
        let kept = if store.keeps_latest() {
            // A live run: the log is a window (see `live_history`).
            format!(
                "{} (positions {}–{}; a live run keeps the time-travel window, at most {})",
                store.log_len(),
                store.log_missing() + 1,
                store.store_len(),
                store.max_log()
            )
        } else {
            store.log_len().to_string()
        };
        let snapshots = match store.snapshot_every() {
            0 => "off (`Id.snapshot-every = N` turns them on)".to_string(),
            n => format!("every {n} versions, {} streams", store.snapshot_count()),
        };
        tables.push(Table::pairs(
            "Event store",
            &[
                ("position", store.store_len().to_string()),
                ("streams", store.streams().to_string()),
                ("events kept", kept),
                ("events not kept", store.log_dropped().to_string()),
                (
                    "events dropped behind the window",
                    store.log_trimmed().to_string(),
                ),
                ("snapshots", snapshots),
                ("aggregate loads", loads.loads.to_string()),
                (
                    "events read per load",
                    format!("{:.1}", loads.events_per_load()),
                ),
            ],
        ));
    }
}

fn bus_tables(engine: &Engine, bus: &str, tables: &mut Vec<Table>) {
    let mut t = Table::new(
        "Topics",
        &[
            "topic",
            "partition",
            "start offset",
            "end offset",
            "retained",
        ],
    );
    for topic in engine.bus_topics(bus) {
        for (p, log) in topic.partitions().iter().enumerate() {
            t.push(vec![
                topic.name().to_string(),
                p.to_string(),
                log.low_watermark().0.to_string(),
                log.high_watermark().0.to_string(),
                log.retained().to_string(),
            ]);
        }
    }
    tables.push(t);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArchGraph;
    use crate::sim::{Fault, Scenario, SinkState, VirtualTime};

    fn seed_engine() -> Engine {
        let chart = crate::mermaid::parse_flowchart(crate::SEED_DIAGRAM).expect("seed parses");
        let g = ArchGraph::from_flowchart(&chart);
        Engine::new(&g, Scenario::default_for(&g), 5).expect("builds")
    }

    fn cell<'a>(t: &'a Table, row: &'a [String], col: &str) -> &'a str {
        let i = t
            .column(col)
            .unwrap_or_else(|| panic!("{}: no column {col}", t.title));
        &row[i]
    }

    fn num(s: &str) -> i64 {
        s.parse().unwrap_or_else(|e| panic!("`{s}`: {e}"))
    }

    #[test]
    fn the_schema_registry_shows_its_subjects_and_clients() {
        let text = include_str!("../../diagrams/schema-upcaster.mmd");
        let chart = crate::mermaid::parse_flowchart(text).expect("parses");
        let g = ArchGraph::from_flowchart(&chart);
        let s = crate::sim::load_scenario(text, &g).expect("loads");
        let mut e = Engine::new(&g, s, 2).expect("builds");
        e.run_until(VirtualTime::from_secs(22));
        let d = capture(&e, "Registry").expect("registry");
        let status = d.table("Schema registry").expect("status table");
        let value = |name: &str| {
            status
                .rows
                .iter()
                .find(|r| r[0] == name)
                .map(|r| r[1].clone())
                .unwrap_or_else(|| panic!("no {name}"))
        };
        assert_eq!(value("status"), "down", "crashed at 20 s for 5 s");
        assert_eq!(value("compatibility"), "backward");
        assert!(num(&value("rejected: malformed")) > 0);
        let subjects = d.table("Subjects").expect("subjects");
        assert_eq!(subjects.rows.len(), 2);
        for (row, id) in subjects.rows.iter().zip(["1", "2"]) {
            assert_eq!(cell(subjects, row, "subject"), "OrderPlaced");
            assert_eq!(cell(subjects, row, "id"), id);
        }
        let clients = d.table("Clients").expect("clients");
        assert!(
            clients.rows.iter().any(|r| r[0] == "Billing#1"),
            "{:?}",
            clients.rows
        );
        // Other components show no registry tables; a diagram without a
        // registry has none.
        let billing = capture(&e, "Billing").expect("billing");
        assert!(billing.table("Subjects").is_none());
        assert!(seed_engine().registry().is_none());
    }

    #[test]
    fn highest_keeps_the_top_rows_in_order() {
        let n = MAX_ROWS as u64 * 3;
        let items = (0..n).map(|i| ((i * 7919) % n, i));
        let top = highest(items);
        assert_eq!(top.len(), MAX_ROWS);
        let keys: Vec<u64> = top.iter().map(|&(k, _)| k).collect();
        let want: Vec<u64> = (n - MAX_ROWS as u64..n).rev().collect();
        assert_eq!(keys, want);
    }

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(duration_label(850), "850 µs");
        assert_eq!(duration_label(12_345), "12.3 ms");
        assert_eq!(duration_label(4_200_000), "4.20 s");
    }

    #[test]
    fn stock_table_is_the_inventory() {
        let mut e = seed_engine();
        e.run_until(VirtualTime::from_secs(3));
        let d = capture(&e, "InvDB").expect("InvDB");
        let Some(SinkState::Inventory(inv)) = e.sink_state("InvDB") else {
            panic!("InvDB holds an inventory")
        };
        let t = d
            .table("Stock per sku (lowest first)")
            .expect("stock table");
        assert_eq!(t.total, inv.skus() as u64);
        assert_eq!(t.rows.len(), inv.skus().min(MAX_ROWS));
        assert!(!t.rows.is_empty());
        let mut taken = 0;
        let mut last = i64::MIN;
        for row in &t.rows {
            let sku = num(cell(t, row, "sku")) as u32;
            let stock = num(cell(t, row, "stock"));
            assert_eq!(stock, inv.stock(sku), "sku {sku}");
            assert!(stock >= last, "lowest first");
            last = stock;
            taken += num(cell(t, row, "taken"));
        }
        if inv.skus() <= MAX_ROWS {
            assert_eq!(taken as u64, inv.units, "the rows sum to the units taken");
        }
        assert_eq!(
            d.metrics.events_in,
            e.component_metrics("InvDB").map_or(0, |m| m.events_in)
        );
    }

    #[test]
    fn group_tables_are_the_groups_state() {
        let mut e = seed_engine();
        e.schedule_fault(
            VirtualTime::from_millis(100),
            Fault::PoisonType {
                topic: "UserRegistered".into(),
            },
        )
        .expect("poison");
        e.run_until(VirtualTime::from_secs(2));
        let d = capture(&e, "Consumer2").expect("Consumer2");
        let parts = d.table("Partitions").expect("partitions");
        let lags = e.partition_lags("Consumer2").expect("lags");
        assert_eq!(parts.total as usize, lags.len());
        for (row, p) in parts.rows.iter().zip(&lags) {
            assert_eq!(cell(parts, row, "topic"), p.topic);
            assert_eq!(num(cell(parts, row, "instance")), i64::from(p.instance));
            assert_eq!(num(cell(parts, row, "lag")) as u64, p.lag);
            assert_eq!(num(cell(parts, row, "committed")) as u64, p.committed);
        }
        let dlq = e.dead_letters("Consumer2").expect("dlq");
        let t = d.table("Dead-letter queue").expect("dlq table");
        assert!(dlq.len > 0);
        assert_eq!(t.total, dlq.waiting());
        for (row, l) in t.rows.iter().zip(&dlq.records) {
            assert_eq!(num(cell(t, row, "event")) as u64, l.event_id);
            assert_eq!(num(cell(t, row, "key")) as u64, l.key);
        }
        assert!(d.can_replay_dlq);
        let delivery = d.metrics.delivery.expect("a group's counters");
        assert_eq!(delivery.dead_lettered, dlq.len);
        assert_eq!(d.metrics.dlq_waiting, Some(dlq.waiting()));
        assert!(d.metrics.processing_us.is_some_and(|p| p.count > 0));
    }

    #[test]
    fn every_component_has_a_detail_and_tables_are_bounded() {
        let mut e = seed_engine();
        e.run_until(VirtualTime::from_secs(2));
        for m in e.metrics() {
            let d = capture(&e, &m.key).unwrap_or_else(|| panic!("{}", m.key));
            for t in &d.tables {
                assert!(
                    t.rows.len() <= MAX_ROWS
                        && t.rows.len() as u64 <= t.total.max(t.rows.len() as u64)
                );
                assert!(
                    t.rows.iter().all(|r| r.len() == t.columns.len()),
                    "{}",
                    t.title
                );
            }
        }
        assert!(capture(&e, "Nope").is_none());
        let bus = capture(&e, "EB").expect("EB");
        let topics = bus.table("Topics").expect("topics");
        let parts: usize = e.topics().iter().map(|t| t.partitions().len()).sum();
        assert_eq!(topics.total as usize, parts);
        let Some(SinkState::ReadViews(views)) = e.sink_state("ReadDB") else {
            panic!("ReadDB holds read views")
        };
        let orders = capture(&e, "ReadDB")
            .and_then(|d| d.table("Orders view").cloned())
            .expect("an orders view");
        assert_eq!(orders.total, views.orders.len() as u64);
        let newest = views.orders.iter().map(|(id, _)| id).max();
        assert_eq!(orders.rows.first().map(|r| num(&r[0]) as u64), newest);
        for key in ["ReadDB", "DW", "Elastic", "Email"] {
            let d = capture(&e, key).expect(key);
            assert!(
                d.tables.iter().any(|t| t.total > 0),
                "{key}: {:?}",
                d.tables
            );
        }
    }
}
