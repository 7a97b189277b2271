//! The transaction load on fake nodes, on virtual time: the open-loop rate
//! holds over the window, and the same seed picks the same targets.

use std::time::Duration;

use scenario_core::fake::{FakeDeployer, FakeNodeKind};
use scenario_core::ledger::{Ledger, LedgerEntry, TxRecord};
use scenario_core::prelude::*;
use workloads::{Targets, TxLoad};

async fn run(rate: f64, targets: Targets, seed: u64, window: Duration) -> (Report, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new();
    let report = Scenario::builder("load")
        .topology(Topology::new().validators(4))
        .node_kind(FakeNodeKind)
        .window(window)
        .seed(seed)
        .artifacts_root(dir.path())
        .workload(TxLoad::new(rate, &ledger).targets(targets))
        .build()
        .unwrap()
        .run(&FakeDeployer::new())
        .await
        .unwrap();
    (report, ledger)
}

#[tokio::test(start_paused = true)]
async fn the_open_loop_rate_holds_within_two_percent_over_the_window() {
    for rate in [7.0, 200.0, 1000.0] {
        let (report, ledger) = run(rate, Targets::RoundRobin, 1, Duration::from_secs(10)).await;
        assert!(report.passed, "{report}");
        let expected = rate * 10.0;
        let submitted = report.workload("tx-load").unwrap().stats.submitted as f64;
        assert!(
            (submitted - expected).abs() <= expected * 0.02,
            "{rate}/s for 10 s: {submitted} submitted, expected {expected} ± 2 %"
        );
        assert_eq!(txs(&ledger).len() as f64, submitted);
    }
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_sends_to_the_same_nodes() {
    let targets = |ledger: &Ledger| -> Vec<String> {
        txs(ledger).iter().map(|t| t.node.to_string()).collect()
    };
    let (_, first) = run(50.0, Targets::Random, 5, Duration::from_secs(2)).await;
    let (_, again) = run(50.0, Targets::Random, 5, Duration::from_secs(2)).await;
    let (_, other) = run(50.0, Targets::Random, 6, Duration::from_secs(2)).await;
    // The n-th transaction goes to the same node; whether the one due exactly
    // as the window closes gets sent may differ, so compare the common part.
    let (a, b, c) = (targets(&first), targets(&again), targets(&other));
    let common = a.len().min(b.len()).min(c.len());
    assert!(common >= 99, "{common}");
    assert_eq!(a[..common], b[..common]);
    assert_ne!(a[..common], c[..common]);
}

#[test]
fn unusable_rates_and_missing_targets_reject_the_plan_before_anything_starts() {
    let ledger = Ledger::new();
    let plan = |load: TxLoad| {
        Scenario::builder("load")
            .topology(Topology::new().validators(2))
            .node_kind(FakeNodeKind)
            .window(Duration::from_secs(5))
            .workload(load)
            .build()
    };
    for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e9] {
        let error = plan(TxLoad::new(rate, &ledger)).unwrap_err().to_string();
        assert!(
            error.contains("workload \"tx-load\" cannot run in this plan: the rate"),
            "{error}"
        );
    }
    let error = plan(TxLoad::new(10.0, &ledger).targets(Targets::One(NodeId::new("validator-5"))))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("it targets validator-5, which is not a node"),
        "{error}"
    );
    assert!(plan(TxLoad::new(10.0, &ledger)).is_ok());
}

/// Fake nodes that refuse every transaction.
struct Refusing;

#[derive(Debug)]
struct RefusingClient(scenario_core::fake::FakeNodeClient, NodeId);

#[async_trait]
impl NodeClient for RefusingClient {
    fn node(&self) -> &NodeId {
        &self.1
    }
    async fn info(&self) -> Result<scenario_core::NodeInfo, scenario_core::ClientError> {
        self.0.info().await
    }
    async fn block(&self, height: u64) -> Result<scenario_core::Block, scenario_core::ClientError> {
        self.0.block(height).await
    }
    async fn submit_tx(
        &self,
        _tx: &[u8],
    ) -> Result<scenario_core::TxId, scenario_core::ClientError> {
        Err(scenario_core::ClientError::Rejected {
            node: self.1.clone(),
            reason: "mempool full".to_owned(),
        })
    }
}

impl NodeKind for Refusing {
    fn name(&self) -> &str {
        "refusing"
    }
    fn ports(&self) -> Vec<PortSpec> {
        FakeNodeKind.ports()
    }
    fn render(&self, node: &NodeView) -> Result<LaunchSpec, BoxError> {
        FakeNodeKind.render(node)
    }
    fn client(&self, node: &NodeEndpoint) -> Result<std::sync::Arc<dyn NodeClient>, BoxError> {
        let fake = scenario_core::fake::FakeNodeClient::new(node.id.clone(), node.role.clone());
        Ok(std::sync::Arc::new(RefusingClient(fake, node.id.clone())))
    }
}

#[tokio::test(start_paused = true)]
async fn a_load_that_mostly_failed_to_submit_fails_the_run_saying_what_it_achieved() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new();
    let plan = |load: TxLoad| {
        Scenario::builder("refused")
            .topology(Topology::new().validators(2))
            .node_kind(Refusing)
            .window(Duration::from_secs(5))
            .seed(1)
            .artifacts_root(dir.path())
            .workload(load)
            .build()
            .unwrap()
    };
    let report = plan(TxLoad::new(20.0, &ledger))
        .run(&FakeDeployer::new())
        .await
        .unwrap();
    assert!(!report.passed);
    let error = report.workload("tx-load").unwrap().error.clone().unwrap();
    assert!(
        error.contains(" submissions failed (100.0 %), above the 10.0 % this load allows; it achieved 0.0 accepted transactions per second of the 20 asked"),
        "{error}"
    );
    let allowed = plan(TxLoad::new(20.0, &ledger).max_failed_share(1.0))
        .run(&FakeDeployer::new())
        .await
        .unwrap();
    assert!(allowed.passed, "{allowed}");
    let stats = &allowed.workload("tx-load").unwrap().stats;
    assert_eq!(stats.extra["achieved_rate_per_s"], serde_json::json!(0.0));
}

/// The transactions a ledger holds (every one: nothing else read it).
fn txs(ledger: &Ledger) -> Vec<TxRecord> {
    ledger
        .reader()
        .read()
        .into_iter()
        .filter_map(|entry| match entry {
            LedgerEntry::Tx(record) => Some(record),
            _ => None,
        })
        .collect()
}
