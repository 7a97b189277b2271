//! Node faults through the API: a node stopped and started keeps its data
//! (its volume claim) and catches up, its log followed across both pods
//! without duplicates; restarts are on the timeline and none counts as a
//! crash; a pod deleted behind the framework's back fails the run; a node
//! joins the running network and follows the chain.

use std::time::Duration;

use deployer_k8s::k8s_openapi::api::core::v1::Pod;
use deployer_k8s::kube::api::{Api, DeleteParams};
use deployer_k8s::{K8sDeployer, Keep};
use expectations::{Agreement, Recovery};
use scenario_core::prelude::*;
use scenario_core::{EventKind, NodeId};
use workloads::{Chaos, ChaosAction, Selector};

use crate::support::{assert_clean, assert_nothing_left, cluster, scenario};

/// The heights demo-node said it loaded from disk, in order.
fn loaded_heights(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|line| line.contains("state loaded"))
        .filter_map(|line| {
            let at = line.find("height=")? + "height=".len();
            line[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_and_started_node_keeps_its_data_and_catches_up() {
    let Some((client, _turn)) = cluster("stop and start").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("k8s-stop-start", 4, 0, 12, root.path())
        .workload(
            Chaos::new()
                .at(Duration::from_secs(3), ChaosAction::stop("validator-1"))
                .at(Duration::from_secs(6), ChaosAction::start("validator-1")),
        )
        .expectation(Agreement)
        .expectation(Recovery::within(Duration::from_secs(15)))
        .build()
        .unwrap();
    let deployer = K8sDeployer::new().keep(Keep {
        data: false,
        logs: true,
    });
    let report = plan.run(&deployer).await.unwrap();

    assert!(report.passed, "{report}");
    assert_clean(&report);
    let log =
        std::fs::read_to_string(report.artifacts_dir.join("nodes/validator-1/node.log")).unwrap();
    let heights = loaded_heights(&log);
    assert_eq!(heights.len(), 2, "two pods, each loading once:\n{log}");
    assert_eq!(heights[0], 0, "{log}");
    assert!(
        heights[1] > 0,
        "the second pod found the first one's blocks:\n{log}"
    );
    assert_eq!(
        log.matches("demo-node ready").count(),
        2,
        "no line twice:\n{log}"
    );
    assert!(
        !report
            .events
            .iter()
            .any(|e| e.kind == EventKind::NodeExited),
        "{report}"
    );
    assert_nothing_left(&client, &report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_pods_are_on_the_timeline_and_catch_up() {
    let Some((client, _turn)) = cluster("restart").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    // A restart here takes 3 s to about 12 s (a pod the 1.20 kubelet
    // leaves Terminating is deleted with grace 0 after grace + 3 s): the
    // restarts are planned in the first half of the window only, so the
    // last one ends before the chaos workload's 10 s after the window.
    let plan = scenario("k8s-restart", 4, 0, 12, root.path())
        .workload(
            Chaos::new()
                .restarts(
                    Duration::from_secs(2),
                    Duration::from_secs(4),
                    Selector::One(NodeId::new("validator-2")),
                )
                .window(Duration::from_secs(6)),
        )
        .expectation(Agreement)
        .expectation(Recovery::within(Duration::from_secs(15)))
        .build()
        .unwrap();
    let deployer = K8sDeployer::new().grace(Duration::from_secs(2));
    let report = plan.run(&deployer).await.unwrap();

    assert!(report.passed, "{report}");
    // How many fit in the window depends on how fast the cluster deletes
    // and recreates a pod; at least one did, and each was validator-2's.
    let restarted: Vec<_> = report
        .events
        .iter()
        .filter(|e| e.kind == EventKind::NodeRestarted)
        .collect();
    assert!(!restarted.is_empty(), "{report}");
    assert!(
        restarted
            .iter()
            .all(|e| e.node.as_ref().is_some_and(|node| node == "validator-2")),
        "{report}"
    );
    assert!(
        !report
            .events
            .iter()
            .any(|e| e.kind == EventKind::NodeExited),
        "{report}"
    );
    assert_nothing_left(&client, &report).await;
}

/// Deletes validator-1's pod behind the framework's back once the run
/// executes.
struct DeletePodBehindItsBack;

#[async_trait]
impl Workload for DeletePodBehindItsBack {
    fn name(&self) -> &str {
        "delete-behind-its-back"
    }

    async fn run(&self, ctx: &RunContext, _cancel: CancellationToken) -> Result<(), BoxError> {
        let client = deployer_k8s::connect().await?;
        let namespace = deployer_k8s::names::namespace(ctx.run_id());
        let pods: Api<Pod> = Api::namespaced(client, &namespace);
        pods.delete("validator-1-0", &DeleteParams::default())
            .await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_deleted_behind_the_frameworks_back_fails_the_run() {
    let Some((client, _turn)) = cluster("deleted behind its back").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("k8s-behind-its-back", 3, 0, 10, root.path())
        .workload(DeletePodBehindItsBack)
        .build()
        .unwrap();
    let report = plan.run(&K8sDeployer::new()).await.unwrap();

    assert!(!report.passed);
    let failures = report.failures.join("\n");
    assert!(
        failures.contains("validator-1 went down on its own"),
        "{failures}"
    );
    assert!(failures.contains("no fault caused it"), "{failures}");
    assert_nothing_left(&client, &report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_joins_the_running_network_and_follows_the_chain() {
    let Some((client, _turn)) = cluster("join").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("k8s-join", 3, 0, 10, root.path())
        .block_feed(blockfeed::Feed::new())
        .workload(e2e_support::JoinExecutor)
        .expectation(e2e_support::JoinedExecutorFollows)
        .build()
        .unwrap();
    let report = plan.run(&K8sDeployer::new()).await.unwrap();

    assert!(report.passed, "{report}");
    e2e_support::assert_executor_joined(&report);
    assert_nothing_left(&client, &report).await;
}
