//! A healthy network in pods: blocks finalize with every node agreeing,
//! peers reaching each other by Service name, the pod logs followed into
//! the node logs, and the whole namespace gone afterwards; two runs at
//! once, each in its own namespace.

use std::time::Duration;

use deployer_k8s::{K8sDeployer, Keep};
use expectations::{Agreement, Liveness, LogLines};

use crate::support::{assert_clean, assert_nothing_left, cluster, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_validators_and_an_executor_finalize_in_pods_and_leave_nothing() {
    let Some((client, _turn)) = cluster("smoke").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("k8s-smoke", 3, 1, 10, root.path())
        // Pods start one after another on a small machine, and the first
        // election waits for them: 5 s windows leave room for it.
        .expectation(Liveness::new(5, Duration::from_secs(5)))
        .expectation(Agreement)
        .expectation(LogLines::must_contain("demo-node ready"))
        .build()
        .unwrap();
    let deployer = K8sDeployer::new().keep(Keep {
        data: false,
        logs: true,
    });
    let report = plan.run(&deployer).await.unwrap();

    assert!(report.passed, "{report}");
    assert_eq!(report.deployer, "k8s");
    assert_clean(&report);
    let log =
        std::fs::read_to_string(report.artifacts_dir.join("nodes/validator-1/node.log")).unwrap();
    assert!(log.contains("demo-node ready"), "{log}");
    assert_eq!(log.matches("demo-node ready").count(), 1, "{log}");
    assert_nothing_left(&client, &report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scenarios_at_once_both_pass_in_their_own_namespaces() {
    let Some((client, _turn)) = cluster("two at once").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let runs = (0..2).map(|i| {
        // Two networks' pods start on one small machine: windows long
        // enough for a slow first election.
        let plan = scenario(&format!("k8s-pair-{i}"), 3, 0, 12, root.path())
            .expectation(Liveness::new(3, Duration::from_secs(6)))
            .build()
            .unwrap();
        async move { plan.run(&K8sDeployer::new()).await.unwrap() }
    });
    let reports = futures::future::join_all(runs).await;
    for report in &reports {
        assert!(report.passed, "{report}");
        assert_nothing_left(&client, report).await;
    }
    assert_ne!(reports[0].run_id, reports[1].run_id);
}
