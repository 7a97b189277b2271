//! One judged run: 4 validators and an executor of demo-node on local
//! processes, transactions and blobs, and every chain judge (liveness,
//! inclusion with a latency bound, DA availability, agreement, recovery);
//! each test changes only the node that misbehaves and, where the bug
//! needs one, an outage.

use std::time::Duration;

use blockfeed::Feed;
use demo_node::{DemoNode, Misbehaviour};
use deployer_local::LocalDeployer;
use e2e_support::SEED;
use expectations::{Agreement, DaAvailability, Liveness, Recovery, TxInclusion};
use scenario_core::ledger::Ledger;
use scenario_core::prelude::*;
use workloads::{Chaos, DaLoad, Selector, Targets, TxLoad};

/// Blocks every [`LIVENESS_WINDOW`] must finalize: few enough that a leader
/// proposing late (every 900 ms in the delay test) still passes.
pub(crate) const LIVENESS_BLOCKS: u64 = 2;
/// demo-node proposes every 100 ms here: 4 s should see ~40 blocks.
pub(crate) const LIVENESS_WINDOW: Duration = Duration::from_secs(4);
/// The median inclusion latency allowed outside fault windows: a block
/// every 100 ms includes a transaction in ~80 ms here, a block every 900 ms
/// in no less than ~450 ms.
pub(crate) const P50_BOUND: Duration = Duration::from_millis(300);
/// How long after the window every node must converge and progress.
pub(crate) const RECOVERY_WITHIN: Duration = Duration::from_secs(5);

/// What a test changes about the judged run.
pub(crate) struct Run {
    name: &'static str,
    node: DemoNode,
    topology: Topology,
    chaos: Option<Chaos>,
    txs_to: NodeId,
}

impl Run {
    /// The healthy run: nobody misbehaves, no outage, transactions go to
    /// `validator-0`.
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            node: e2e_support::demo_node().seed(SEED),
            topology: Topology::new().validators(4).executors(1),
            chaos: None,
            txs_to: NodeId::new("validator-0"),
        }
    }

    /// `node` misbehaves this way.
    pub(crate) fn misbehave(mut self, node: &str, misbehaviour: Misbehaviour) -> Self {
        self.node = self.node.misbehave(node, misbehaviour);
        self
    }

    /// `leader` is the validator that leads first.
    pub(crate) fn led_by(mut self, leader: &str) -> Self {
        self.topology = e2e_support::leads_first(self.topology, leader);
        self
    }

    /// `node` never leads first.
    pub(crate) fn following(mut self, node: &str) -> Self {
        self.topology = e2e_support::slow_elections(self.topology, &[node]);
        self
    }

    /// `node` is stopped `at` into the window and started `down` later.
    pub(crate) fn outage(mut self, node: &str, at: Duration, down: Duration) -> Self {
        self.chaos = Some(
            Chaos::new()
                .restart_at(at, Selector::One(NodeId::new(node)))
                .down_for(down),
        );
        self
    }

    /// Every transaction goes to `node`.
    pub(crate) fn txs_to(mut self, node: &str) -> Self {
        self.txs_to = NodeId::new(node);
        self
    }

    /// Run it for 10 s (and a 2 s cooldown) and return the report.
    pub(crate) async fn report(self) -> Report {
        let root = tempfile::tempdir().unwrap();
        let ledger = Ledger::new();
        let mut plan = Scenario::builder(self.name)
            .topology(self.topology)
            .node_kind(self.node)
            .window(Duration::from_secs(10))
            .cooldown(Duration::from_secs(2))
            .seed(SEED)
            .artifacts_root(root.path())
            .block_feed(Feed::new())
            .workload(TxLoad::new(20.0, &ledger).targets(Targets::One(self.txs_to)))
            .workload(DaLoad::new(1.0, 4096, &ledger))
            .expectation(Liveness::new(LIVENESS_BLOCKS, LIVENESS_WINDOW))
            .expectation(TxInclusion::all(&ledger).p50_below(P50_BOUND))
            .expectation(DaAvailability::all(&ledger))
            .expectation(Agreement)
            .expectation(Recovery::within(RECOVERY_WITHIN));
        if let Some(chaos) = self.chaos {
            plan = plan.workload(chaos);
        }
        let report = plan
            .build()
            .unwrap()
            .run(&LocalDeployer::new())
            .await
            .unwrap();
        // A judge may stop the run early; nothing else may go wrong.
        assert!(
            report
                .failures
                .iter()
                .all(|f| f.starts_with("expectation '") && f.contains("so the run stopped early")),
            "the run itself must work, only judges may fail: {report}"
        );
        report
    }
}

/// The message of `judge`, which must have failed.
pub(crate) fn failed<'a>(report: &'a Report, judge: &str) -> &'a str {
    let verdict = report
        .expectation(judge)
        .unwrap_or_else(|| panic!("no {judge} verdict in {report}"));
    assert!(!verdict.passed, "{judge} should have failed: {report}");
    &verdict.message
}

/// The judges that failed, in the scenario's order.
pub(crate) fn failing(report: &Report) -> Vec<&str> {
    report
        .expectations
        .iter()
        .filter(|e| !e.passed)
        .map(|e| e.name.as_str())
        .collect()
}

/// Whether `message` contains every one of `parts` (for the assert message).
pub(crate) fn says(message: &str, parts: &[&str]) -> bool {
    parts.iter().all(|part| message.contains(part))
}
