//! A fixed, fully deterministic [`Report`] for the golden tests: a failed
//! run of four validators and an executor that joined, with a partition
//! healed by a heal of every fault, a stopped and a killed validator, a node
//! that exited by itself, heights, an inclusion-latency series and every
//! kind of failure the page shows. Nothing in it depends on the clock or
//! the machine.

use std::collections::BTreeMap;
use std::path::PathBuf;

use scenario_core::report::{
    CleanupOutcome, ExpectationRecord, NodeRecord, Phase, PhaseRecord, PhaseStatus,
    REPORT_SCHEMA_VERSION, Report, SeedSource, WorkloadRecord,
};
use scenario_core::{
    Event, EventKind, FaultId, NetworkFault, NodeCause, NodeId, Role, Signal, WorkloadStats,
};

fn event(at_ms: u64, kind: EventKind, detail: &str) -> Event {
    Event {
        at_ms,
        kind,
        node: None,
        detail: detail.to_owned(),
        fault_id: None,
        fault: None,
        cause: None,
        began_ms: None,
    }
}

fn node_event(at_ms: u64, node: &str, cause: NodeCause) -> Event {
    let base = event(at_ms, cause.kind(), &cause.to_string());
    Event {
        node: Some(NodeId::new(node)),
        cause: Some(cause),
        ..base
    }
}

fn validators() -> Vec<NodeId> {
    (0..4).map(|i| NodeId::of(&Role::Validator, i)).collect()
}

fn events() -> Vec<Event> {
    let partition = NetworkFault::Partition {
        groups: vec![validators()[..2].to_vec(), validators()[2..].to_vec()],
    };
    let mut events = vec![event(0, EventKind::PhaseStarted, "deploy")];
    for (i, id) in validators().iter().enumerate() {
        events.push(node_event(
            40 + 10 * i as u64,
            id.as_str(),
            NodeCause::Launched,
        ));
    }
    events.extend([
        event(200, EventKind::PhaseFinished, "deploy completed"),
        event(200, EventKind::PhaseStarted, "capture"),
        event(210, EventKind::PhaseFinished, "capture completed"),
        event(210, EventKind::PhaseStarted, "execute"),
        Event {
            fault_id: Some(FaultId(1)),
            fault: Some(partition.clone()),
            ..event(8_000, EventKind::FaultApplied, &format!("fault #1: {partition}"))
        },
        node_event(12_000, "validator-3", NodeCause::Stop),
        Event {
            fault_id: None,
            ..event(16_000, EventKind::FaultHealed, "every network fault healed")
        },
        node_event(18_500, "validator-3", NodeCause::Start),
        node_event(
            22_000,
            "executor-0",
            NodeCause::Joined {
                role: Role::Executor,
            },
        ),
        node_event(
            26_000,
            "validator-1",
            NodeCause::Kill {
                signal: Signal::Kill,
            },
        ),
        node_event(27_000, "validator-1", NodeCause::Launched),
        node_event(27_000, "validator-1", NodeCause::Restart),
        node_event(
            33_000,
            "validator-2",
            NodeCause::Exited {
                code: Some(101),
                signal: None,
            },
        ),
        event(
            33_010,
            EventKind::ExpectationFailed,
            "liveness failed during the run: between 28000 ms and 33000 ms only 1 blocks were finalized",
        ),
        event(40_210, EventKind::PhaseFinished, "execute completed"),
        event(40_210, EventKind::PhaseStarted, "evaluate"),
        event(42_300, EventKind::PhaseFinished, "evaluate failed"),
        event(42_300, EventKind::PhaseStarted, "cleanup"),
        event(42_900, EventKind::PhaseFinished, "cleanup completed"),
    ]);
    events
}

/// Heights every 2 s: steady, stalled during the partition, one node
/// behind after its restart, the exited node flat at the end.
fn heights() -> BTreeMap<NodeId, Vec<[u64; 2]>> {
    let mut heights = BTreeMap::new();
    for (i, id) in validators().iter().enumerate() {
        let mut height = 0;
        let points = (0..=21)
            .map(|step| {
                let at = step * 2_000;
                let stalled = (8_000..16_000).contains(&at)
                    || (i == 2 && at > 33_000)
                    || (i == 1 && (26_000..28_000).contains(&at))
                    || (i == 3 && (12_000..18_500).contains(&at));
                if !stalled {
                    height += 2;
                }
                [at, height]
            })
            .collect();
        heights.insert(id.clone(), points);
    }
    heights.insert(
        NodeId::of(&Role::Executor, 0),
        (11..=21).map(|step| [step * 2_000, step * 2 - 4]).collect(),
    );
    heights
}

fn expectations() -> Vec<ExpectationRecord> {
    let latency: Vec<[f64; 2]> = (0..40)
        .map(|i| {
            let at = f64::from(i);
            let slow = if (8.0..16.0).contains(&at) { 6.5 } else { 0.0 };
            [at, 0.8 + f64::from(i % 5) * 0.15 + slow]
        })
        .collect();
    vec![
        ExpectationRecord {
            name: "liveness".to_owned(),
            passed: false,
            message: "between 28000 ms and 33000 ms only 1 blocks were finalized (need 3 per 5000 ms window)".to_owned(),
            figures: BTreeMap::from([("slowest_window_blocks".to_owned(), 1.0)]),
            series: BTreeMap::new(),
        },
        ExpectationRecord {
            name: "tx-inclusion".to_owned(),
            passed: true,
            message: "40 of 40 transactions included; p99 latency 7.4 s".to_owned(),
            figures: BTreeMap::from([
                ("included".to_owned(), 40.0),
                ("p99_latency_s".to_owned(), 7.4),
            ]),
            series: BTreeMap::from([("inclusion latency (s)".to_owned(), latency)]),
        },
    ]
}

/// The fixed report.
pub(crate) fn report() -> Report {
    let phase = |name, duration_ms, status| PhaseRecord {
        name,
        duration_ms,
        status,
    };
    let mut nodes: Vec<NodeRecord> = validators()
        .into_iter()
        .map(|id| NodeRecord {
            id,
            role: Role::Validator,
            joined_at_ms: None,
        })
        .collect();
    nodes.push(NodeRecord {
        id: NodeId::of(&Role::Executor, 0),
        role: Role::Executor,
        joined_at_ms: Some(22_000),
    });
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        passed: false,
        scenario: "golden <chaos> & \"friends\"".to_owned(),
        deployer: "fake".to_owned(),
        run_id: "golden-20260101t000000-0001".to_owned(),
        seed: 42,
        seed_source: SeedSource::Builder,
        replay: "TESTBED_SEED=42 cargo test -p golden".to_owned(),
        started_at: "2026-01-01T00:00:00.000Z".to_owned(),
        artifacts_dir: PathBuf::from("/runs/golden-20260101t000000-0001"),
        window_ms: 40_000,
        cooldown_ms: 2_000,
        deadline_ms: 642_000,
        failures: vec![
            "expectation 'liveness' failed during the run at 33010 ms, so the run stopped early".to_owned(),
            "validator-2 exited on its own (exit code 101); its last output:\npanicked at 'disk full'".to_owned(),
        ],
        phases: vec![
            phase(Phase::Build, 3, PhaseStatus::Completed),
            phase(Phase::Deploy, 200, PhaseStatus::Completed),
            phase(Phase::Capture, 10, PhaseStatus::Completed),
            phase(Phase::Execute, 40_000, PhaseStatus::Completed),
            phase(Phase::Evaluate, 2_090, PhaseStatus::Failed),
            phase(Phase::Cleanup, 600, PhaseStatus::Completed),
        ],
        nodes,
        expectations: expectations(),
        workloads: vec![
            WorkloadRecord {
                name: "txs".to_owned(),
                stats: WorkloadStats {
                    submitted: 400,
                    accepted: 396,
                    failed: 4,
                    extra: BTreeMap::from([("rate_per_s".to_owned(), serde_json::json!(10.0))]),
                },
                error: None,
            },
            WorkloadRecord {
                name: "chaos".to_owned(),
                stats: WorkloadStats {
                    submitted: 4,
                    accepted: 4,
                    failed: 0,
                    extra: BTreeMap::new(),
                },
                error: Some("failed: <node control> said \"no\"".to_owned()),
            },
        ],
        faults: Vec::new(),
        cleanup: vec![
            CleanupOutcome {
                label: "stop executor-0".to_owned(),
                duration_ms: 100,
                error: None,
            },
            CleanupOutcome {
                label: "stop validator-0".to_owned(),
                duration_ms: 120,
                error: Some("already gone".to_owned()),
            },
        ],
        events: events(),
        heights: heights(),
    }
}
