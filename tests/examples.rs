//! The example diagrams in `diagrams/`: each parses as a flowchart, builds
//! a model with no error finding, carries a `%% eda:scenario` that loads,
//! and simulates with no invariant violated — and shows what it is meant
//! to show (retries and dead letters, duplicates without idempotency,
//! backpressure, a projection rebuilt from the store, …).

use eda_studio::mermaid::parse_flowchart;
use eda_studio::model::{ArchGraph, Severity, validate};
use eda_studio::sim::{Check, Engine, Scenario, VirtualTime, load_scenario};
use std::path::PathBuf;
use std::process::Command;

const EXAMPLES: [&str; 6] = [
    "saga-orchestrated",
    "saga-choreography",
    "outbox-cdc",
    "retry-dlq",
    "schema-upcaster",
    "bank-account",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("diagrams")
}

fn read(name: &str) -> String {
    let path = dir().join(format!("{name}.mmd"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Builds the example's engine, runs it 40 virtual seconds (past every
/// fault of the schedules), and checks the invariants on a drained copy.
fn run(name: &str) -> Engine {
    let text = read(name);
    let file = format!("{name}.mmd");
    let chart = parse_flowchart(&text).unwrap_or_else(|d| panic!("{}", d.render(&file, &text)));
    let graph = ArchGraph::from_flowchart(&chart);
    let errors: Vec<_> = validate(&graph)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}");
    let scenario =
        load_scenario(&text, &graph).unwrap_or_else(|d| panic!("{}", d.render(&file, &text)));
    assert_ne!(
        scenario,
        Scenario::default_for(&graph),
        "{name} sets a scenario"
    );
    let mut engine = Engine::new(&graph, scenario, 7).unwrap_or_else(|e| panic!("{name}: {e}"));
    engine.run_until(VirtualTime::from_secs(40));
    let inv = engine.invariants_after_drain(3_600_000_000);
    assert!(!inv.any_violated(), "{name}: {inv:?}");
    assert_eq!(inv.per_key_order, Check::Held, "{name}");
    assert_eq!(inv.nothing_lost, Check::Held, "{name}: {inv:?}");
    engine
}

#[test]
fn every_example_is_listed_and_every_listed_example_exists() {
    let mut found: Vec<String> = std::fs::read_dir(dir())
        .expect("diagrams/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".mmd").map(str::to_string))
        .filter(|n| n != "eda-seed")
        .collect();
    found.sort();
    let mut listed: Vec<String> = EXAMPLES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed);
}

/// Records appended to topic `name` (over its partitions).
fn published(e: &Engine, name: &str) -> u64 {
    let topic = e
        .topics()
        .iter()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("no topic {name}"));
    topic
        .partitions()
        .iter()
        .map(|p| p.high_watermark().0)
        .sum()
}

#[test]
fn orchestrated_saga_reacts_and_compensates() {
    let e = run("saga-orchestrated");
    let placed = published(&e, "OrderPlaced") as f64;
    let reserve = published(&e, "ReserveStock") as f64;
    let charge = published(&e, "ChargePayment") as f64;
    let failed = published(&e, "PaymentFailed") as f64;
    let release = published(&e, "ReleaseStock") as f64;
    assert!(
        reserve / placed > 0.95 && reserve <= placed,
        "{reserve} of {placed}"
    );
    assert!(
        (0.9..0.99).contains(&(charge / placed)),
        "{charge} of {placed}"
    );
    assert!(
        (0.04..0.12).contains(&(failed / charge)),
        "{failed} of {charge}"
    );
    assert!(
        release > 0.8 * failed && release <= failed,
        "compensations: {release} of {failed}"
    );
    let p = e.delivery_counters("Payments").expect("Payments group");
    assert!(p.failures > 50 && p.retries > 50, "{p:?}");
    assert!(
        p.dead_lettered > 50,
        "the poisoned second ends in the DLQ: {p:?}"
    );
    assert!(p.rebalances >= 2, "crash and restart: {p:?}");
    assert_eq!(e.live_instances("Payments"), Some(vec![0, 1]));
    assert!(e.component_metrics("Saga").expect("Saga").events_in > 1000);
}

#[test]
fn choreographed_saga_throttles_producers_at_the_bounded_queue() {
    let e = run("saga-choreography");
    let created = published(&e, "OrderCreated") as f64;
    let shipped = published(&e, "OrderShipped") as f64;
    assert!(
        (0.85..0.96).contains(&(shipped / created)),
        "{shipped} of {created}"
    );
    let orders = e.component_metrics("Orders").expect("Orders");
    assert!(orders.throttled_us > 0, "bursts hit the bound: {orders:?}");
    assert_eq!(
        orders.shed, 0,
        "throttle holds records, it does not drop them"
    );
    for p in e.partition_lags("Payment").expect("Payment") {
        assert!(p.lag <= 21, "bounded per partition: {p:?}");
    }
}

#[test]
fn outbox_cdc_duplicates_show_only_without_idempotency() {
    let e = run("outbox-cdc");
    let notify = e.delivery_counters("Notify").expect("Notify");
    let shipping = e.delivery_counters("Shipping").expect("Shipping");
    assert!(
        notify.redelivered > 0 && notify.duplicates_applied > 0,
        "{notify:?}"
    );
    assert!(
        shipping.redelivered > 0 && shipping.deduped > 0,
        "{shipping:?}"
    );
    assert_eq!(shipping.duplicates_applied, 0, "{shipping:?}");
}

#[test]
fn retry_topics_end_in_the_dead_letter_queue() {
    let e = run("retry-dlq");
    let p = e.delivery_counters("Payments").expect("Payments");
    assert!(p.retries > 500, "{p:?}");
    let dlq = e.dead_letters("Payments").expect("DLQ");
    // What is processed while the type is poisoned fails every attempt;
    // each such record holds its partition ~120 ms (two backoffs), so
    // about 2 s / 120 ms × 12 partitions of them, plus 10%³ of the rest.
    assert!((120..400).contains(&dlq.len), "dead letters: {}", dlq.len);
    let audit = e.dead_letters("Audit").expect("Audit");
    assert!(
        audit.len > 100,
        "the poison reaches every group: {}",
        audit.len
    );
    assert_eq!(dlq.name, "Payments.DLQ");
}

#[test]
fn schema_upcaster_registry_rejects_malformed_v1_and_an_outage_hits_only_uncached_instances() {
    let e = run("schema-upcaster");
    let reg = e.registry().expect("the example has a schema registry");
    assert!(reg.up, "restarted after its outage");
    // One subject, two versions from the names, both registered (backward).
    assert_eq!(reg.subjects.len(), 1, "{:?}", reg.subjects);
    let versions: Vec<(u32, Option<u32>)> = reg.subjects[0]
        .versions
        .iter()
        .map(|v| (v.version, v.id))
        .collect();
    assert_eq!(versions, vec![(1, Some(1)), (2, Some(2))]);
    let n = reg.counters;
    // The poisoned V1 type (2 s at 10/s) is refused at the producer: none
    // of it reaches the bus.
    assert!((8..=40).contains(&n.rejected_malformed), "{n:?}");
    assert_eq!(reg.subjects[0].versions[0].rejected, n.rejected_malformed);
    // Billing's instance 1 restarts during the outage with an empty cache.
    assert!(n.lookups_failed > 0, "{n:?}");
    let billing = e.delivery_counters("Billing").expect("Billing");
    assert!(billing.failures > 0 && billing.retries > 0, "{billing:?}");
    let consumers: Vec<&str> = reg.consumers.iter().map(|c| c.client.as_str()).collect();
    assert!(consumers.contains(&"Billing#1"), "{consumers:?}");
    // The one V1 record corrupted on the bus fails at the upcaster.
    let up = e.dead_letters("Upcaster").expect("Upcaster");
    assert_eq!(up.len, 1, "only the poison-next record is dead-lettered");
    // Every V1 event on the bus is upcast to V2 unless it was dead-lettered.
    let v1 = published(&e, "OrderPlacedV1");
    let upcast = e
        .component_metrics("Upcaster")
        .expect("Upcaster")
        .events_out;
    assert!(
        upcast + up.len <= v1 && upcast + up.len + 20 >= v1,
        "{upcast} + {} of {v1}",
        up.len
    );
    // A producer that got a schema id published V1 from the registry's id.
    assert!(reg.subjects[0].versions[0].produced > 100, "{reg:?}");
}

#[test]
fn a_registry_outage_is_invisible_to_instances_with_cached_ids() {
    let text = read("schema-upcaster");
    let chart = parse_flowchart(&text).expect("parses");
    let graph = ArchGraph::from_flowchart(&chart);
    let mut scenario = load_scenario(&text, &graph).expect("loads");
    // Only the outage: every client has its ids cached long before.
    scenario
        .faults
        .retain(|f| matches!(&f.fault, eda_studio::sim::Fault::Crash { group, .. } | eda_studio::sim::Fault::Restart { group, .. } if group == "Registry"));
    assert_eq!(scenario.faults.len(), 1);
    let mut e = Engine::new(&graph, scenario, 7).expect("builds");
    e.run_until(VirtualTime::from_secs(30));
    let reg = e.registry().expect("registry");
    assert_eq!(reg.counters.lookups_failed, 0, "{:?}", reg.counters);
    for g in ["Upcaster", "Billing"] {
        let c = e.delivery_counters(g).expect(g);
        assert_eq!(c.failures, 0, "{g}: {c:?}");
    }
}

#[test]
fn bank_account_projection_rebuilds_from_the_store() {
    let mut e = run("bank-account");
    assert!(e.drain(VirtualTime::from_secs(3_600)));
    let inv = e.invariants();
    assert_eq!(inv.projection_rebuild, Check::Held, "{inv:?}");
    assert_eq!(inv.no_duplicate_effects, Check::Held, "{inv:?}");
    let balance = e.delivery_counters("Balance").expect("Balance");
    assert!(
        balance.deduped > 1000,
        "the reset to 0 replays history: {balance:?}"
    );
    let store = e.event_store("Store").expect("Store is an event store");
    assert_eq!(store.store_len(), e.events_produced());
}

#[test]
fn simulate_reads_the_scenario_from_the_file() {
    let path = dir().join("retry-dlq.mmd");
    let out = Command::new(env!("CARGO_BIN_EXE_eda-studio"))
        .args(["simulate", "--duration", "25s", "--json"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let groups = json["groups"].as_array().expect("groups");
    let payments = groups
        .iter()
        .find(|g| g["group"] == "Payments")
        .expect("Payments");
    assert_eq!(
        payments["instances"], 3,
        "Payments.instances = 3 from the file"
    );
    assert!(payments["dlq_len"].as_u64().is_some_and(|n| n > 0));
}

#[test]
fn a_bad_scenario_line_is_reported_at_its_line() {
    let text = read("retry-dlq").replace("Payments.attempts = 3", "Paymnets.attempts = 3");
    let dir = std::env::temp_dir().join(format!("eda-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = dir.join("bad.mmd");
    std::fs::write(&path, &text).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_eda-studio"))
        .args(["simulate", "--duration", "1s"])
        .arg(&path)
        .output()
        .expect("runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .position(|l| l.contains("Paymnets"))
        .expect("line")
        + 1;
    assert!(
        err.contains(&format!(
            "bad.mmd:{line}:17: error: unknown component `Paymnets`"
        )),
        "{err}"
    );
    assert!(err.contains("did you mean `Payments`"), "{err}");
}

#[test]
fn check_accepts_every_example_and_rejects_a_bad_scenario() {
    for name in EXAMPLES {
        let out = Command::new(env!("CARGO_BIN_EXE_eda-studio"))
            .arg("check")
            .arg(dir().join(format!("{name}.mmd")))
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_eda-studio"))
        .args(["check", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(
                    b"flowchart LR\nP[Order Service] --> EB[Kafka]\nEB --> C[Consumer]\n%% eda:scenario C.service = exp fast\n",
                )?;
            }
            child.wait_with_output()
        })
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("<stdin>:4:33: error: `fast` is not a duration")
            || err.contains(":4:33: error: `fast` is not a duration"),
        "{err}"
    );
}
