//! The network plane on local processes: each network fault reports what it
//! did from the switch's counters, a fault that matched no traffic is
//! flagged (and fails the run when the plan asks), and the fallback refuses
//! node software that needs one address per node.

use std::sync::Arc;
use std::time::Duration;

use deployer_local::{LocalDeployer, NetworkMode};
use scenario_core::prelude::*;
use scenario_core::{EventKind, NetworkFault, RunError};

use crate::support::{ShellNode, scenario};

/// Partitions validator-0 from everyone for two seconds, one second in.
pub(crate) struct IsolateFirst;

#[async_trait]
impl Workload for IsolateFirst {
    fn name(&self) -> &str {
        "isolate-first"
    }
    fn requirements(&self) -> Requirements {
        Requirements::none().capability(Capability::Partition)
    }
    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let network = ctx.network_control().ok_or("no network control")?;
        let others: Vec<NodeId> = ctx
            .nodes()
            .iter()
            .map(|slot| slot.id.clone())
            .filter(|id| id != "validator-0")
            .collect();
        let fault = NetworkFault::Partition {
            groups: vec![vec![NodeId::new("validator-0")], others],
        };
        let id = network.apply(&fault).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        network.heal(id).await?;
        cancel.cancelled().await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_reports_the_packets_it_dropped() {
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("plane-counts", 3, 0, 5, root.path())
        .workload(IsolateFirst)
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();

    assert!(report.passed, "{report}");
    assert_eq!(report.faults.len(), 1, "{:?}", report.faults);
    let effect = report.faults[0].effect.expect("the plane counts packets");
    assert!(effect.dropped_packets > 0, "{effect:?}");
    assert!(!report.faults[0].untouched);
    assert!(
        report
            .events
            .iter()
            .any(|e| e.kind == EventKind::FaultHealed && e.detail.contains("dropped")),
        "the heal on the timeline says what the fault did: {:#?}",
        report.events
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_that_matched_no_traffic_is_flagged_and_can_fail_the_run() {
    let root = tempfile::tempdir().unwrap();
    let plan = Scenario::builder("plane-untouched")
        .topology(Topology::new().validators(2))
        .node_kind(ShellNode::silent())
        .window(Duration::from_secs(4))
        .artifacts_root(root.path())
        .workload(IsolateFirst)
        .fail_on_untouched_faults()
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();

    assert!(!report.passed);
    assert!(report.faults[0].untouched, "{:?}", report.faults);
    assert_eq!(
        report.failures,
        [
            "fault #1 (partition validator-0 | validator-1) matched no traffic: the fault did nothing"
        ]
    );
}

/// demo-node, declaring that it needs one address per node.
struct NeedsOneAddress;

impl NodeKind for NeedsOneAddress {
    fn name(&self) -> &str {
        "needs-one-address"
    }
    fn ports(&self) -> Vec<PortSpec> {
        e2e_support::demo_node().ports()
    }
    fn render(&self, node: &NodeView) -> Result<LaunchSpec, BoxError> {
        e2e_support::demo_node().render(node)
    }
    fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
        e2e_support::demo_node().client(node)
    }
    fn requires(&self) -> Capabilities {
        Capabilities::none().with(Capability::OneAddressPerNode)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_proxy_fallback_refuses_software_that_needs_one_address_before_anything_starts() {
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("plane-needs", 2, 0, 2, root.path())
        .node_kind(NeedsOneAddress)
        .build()
        .unwrap();
    let error = plan
        .run(&LocalDeployer::new().network(NetworkMode::LinkProxies))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, RunError::CapabilitiesMissing { missing, .. } if missing == &[Capability::OneAddressPerNode]),
        "{error}"
    );
    assert!(
        std::fs::read_dir(root.path()).unwrap().next().is_none(),
        "nothing was started or written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_proxy_fallback_still_runs_nodes_and_faults_but_counts_nothing() {
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("proxies", 3, 0, 5, root.path())
        .workload(IsolateFirst)
        .expectation(crate::support::Agreement)
        .build()
        .unwrap();
    let deployer = LocalDeployer::new().network(NetworkMode::LinkProxies);
    let report = plan.run(&deployer).await.unwrap();

    assert!(report.passed, "{report}");
    assert_eq!(report.faults.len(), 1);
    assert_eq!(report.faults[0].effect, None, "proxies count no packets");
    assert!(
        report
            .events
            .iter()
            .any(|e| e.detail.contains("does not count packets")),
        "{:#?}",
        report.events
    );
}
