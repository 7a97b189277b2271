//! Launches that cannot work are refused clearly: a node that exits at once
//! is named with its output, a missing binary is rejected before anything
//! starts.

use std::time::Duration;

use deployer_local::LocalDeployer;
use scenario_core::prelude::*;
use scenario_core::{Event, EventKind};

use crate::support::{ShellNode, alive, scenario, started_pids};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_at_cleanup_after_its_grace_is_reported() {
    let root = tempfile::tempdir().unwrap();
    let plan = Scenario::builder("stubborn")
        .topology(Topology::new().validators(1))
        .node_kind(ShellNode::ignoring_sigterm())
        .window(Duration::from_millis(200))
        .artifacts_root(root.path())
        .build()
        .unwrap();
    let deployer = LocalDeployer::new().grace(Duration::from_millis(300));
    let report = plan.run(&deployer).await.unwrap();

    let killed: Vec<&Event> = report
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Note && e.detail.contains("killed with SIGKILL"))
        .collect();
    assert_eq!(killed.len(), 1, "{:#?}", report.events);
    assert_eq!(
        killed[0].node.as_ref().map(NodeId::as_str),
        Some("validator-0")
    );
    assert!(started_pids(&report).iter().all(|pid| !alive(*pid)));
}

/// The pids of the nodes a run in `root` started, from its marker.
fn marker_pids(root: &std::path::Path) -> Vec<i32> {
    let Some(run) = std::fs::read_dir(root)
        .ok()
        .and_then(|mut dirs| dirs.next())
    else {
        return Vec::new();
    };
    let path = run.unwrap().path().join(deployer_local::MARKER_FILE);
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<deployer_local::Marker>(&text).ok())
        .map(|marker| marker.nodes.iter().map(|(_, p)| p.pid).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_run_dropped_on_a_current_thread_runtime_still_cleans_up_promptly() {
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("dropped", 3, 0, 60, root.path()).build().unwrap();
    let deployer = LocalDeployer::new();
    let mut run = Box::pin(plan.run(&deployer));
    // Let it deploy, then drop it mid-window.
    let mut pids = Vec::new();
    let started = std::time::Instant::now();
    while pids.len() < 3 {
        tokio::select! {
            _ = run.as_mut() => panic!("the 60 s run ended on its own"),
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        pids = marker_pids(root.path());
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never deployed"
        );
    }
    let dropping = std::time::Instant::now();
    drop(run);
    assert!(
        dropping.elapsed() < Duration::from_secs(5),
        "dropping the run does not block the runtime"
    );
    // The cleanup goes on beside the runtime, which keeps serving the tasks
    // it waits for. Generous bound: a hang shows as a minute and more.
    while pids.iter().any(|pid| alive(*pid)) {
        assert!(
            dropping.elapsed() < Duration::from_secs(30),
            "nodes still run {:?} after the run was dropped",
            dropping.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
