//! Launches that cannot work are refused clearly: a node that exits at once
//! is named with its output, a missing binary is rejected before anything
//! starts.

use deployer_local::LocalDeployer;
use scenario_core::{EventKind, NodeOverride, Topology};

use crate::support::{alive, scenario, started_pids};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_exits_at_once_gives_a_readiness_error_naming_it_with_its_output() {
    let root = tempfile::tempdir().unwrap();
    let topology = Topology::new()
        .validators(3)
        .override_node("validator-1", NodeOverride::new().arg("--mempool-limit=0"));
    let plan = scenario("exits", 3, 0, 2, root.path())
        .topology(topology)
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();

    assert!(!report.passed);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    let failure = &report.failures[0];
    assert!(
        failure.starts_with(
            "deploy on local failed: validator-1 exited with exit status: 2 before it was ready"
        ),
        "{failure}"
    );
    assert!(
        failure.contains("--mempool-limit must be between 1 and 10000000 (got 0)"),
        "{failure}"
    );
    assert!(
        started_pids(&report).iter().all(|pid| !alive(*pid)),
        "the others were stopped"
    );
    let log = report.artifacts_dir.join("nodes/validator-1/node.log");
    assert!(log.exists(), "a failed run keeps its logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_binary_is_rejected_before_anything_starts() {
    let root = tempfile::tempdir().unwrap();
    let topology = Topology::new().validators(3).override_node(
        "validator-2",
        NodeOverride::new().program("/nonexistent/demo-node"),
    );
    let plan = scenario("missing", 3, 0, 2, root.path())
        .topology(topology)
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();

    assert!(!report.passed);
    assert_eq!(
        report.failures,
        [
            "deploy on local failed: validator-2's program /nonexistent/demo-node does not exist; nothing was started"
        ]
    );
    assert!(
        !report
            .events
            .iter()
            .any(|e| e.kind == EventKind::NodeStarted)
    );
}
