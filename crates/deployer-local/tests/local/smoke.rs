//! A healthy network on local processes: blocks finalize, everything is
//! cleaned up, and eight runs at once do not collide.

use deployer_local::{LocalDeployer, MARKER_FILE};
use expectations::{LogLines, MetricAtLeast};

use crate::support::{Agreement, Finalizes, alive, scenario, started_pids};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_and_an_executor_finalize_and_leave_nothing_behind() {
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("smoke", 4, 1, 3, root.path())
        .expectation(Finalizes::by(5))
        .expectation(Agreement)
        .expectation(MetricAtLeast::new("demo_node_finalized_height", 5.0))
        .expectation(LogLines::must_contain("demo-node ready"))
        .expectation(LogLines::must_not_contain("panicked"))
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();

    assert!(report.passed, "{report}");
    let pids = started_pids(&report);
    assert_eq!(pids.len(), 5);
    assert!(
        pids.iter().all(|pid| !alive(*pid)),
        "every node process is gone"
    );
    assert!(
        !report.artifacts_dir.join(MARKER_FILE).exists(),
        "the run marker is removed"
    );
    let nodes = report.artifacts_dir.join("nodes");
    assert!(
        !nodes.exists(),
        "a passing run keeps no node data or logs: {:?}",
        walk(&nodes)
    );
    let cleanup: Vec<&str> = report.cleanup.iter().map(|c| c.label.as_str()).collect();
    assert!(cleanup.contains(&"leak audit"), "{cleanup:?}");
    assert!(
        report.cleanup.iter().all(|c| c.error.is_none()),
        "{:?}",
        report.cleanup
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_scenarios_at_once_all_pass() {
    let root = tempfile::tempdir().unwrap();
    let runs = (0..8).map(|i| {
        let plan = scenario(&format!("parallel-{i}"), 3, 0, 3, root.path())
            .expectation(Finalizes::by(3))
            .build()
            .unwrap();
        async move { plan.run(&LocalDeployer::new()).await.unwrap() }
    });
    let reports = futures::future::join_all(runs).await;
    for report in &reports {
        assert!(report.passed, "{report}");
    }
}

/// Every path under `dir` (empty when `dir` does not exist).
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            found.push(entry.path());
            found.extend(walk(&entry.path()));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_and_log_expectations_fail_naming_the_nodes() {
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("observed", 2, 0, 2, root.path())
        .expectation(MetricAtLeast::new(
            "demo_node_finalized_height",
            1_000_000.0,
        ))
        .expectation(LogLines::must_contain("a line no node prints"))
        .expectation(
            LogLines::must_not_contain("demo-node ready").role(scenario_core::Role::Validator),
        )
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();

    assert!(!report.passed);
    let messages: Vec<&str> = report
        .expectations
        .iter()
        .map(|e| e.message.as_str())
        .collect();
    assert!(
        messages[0].starts_with("demo_node_finalized_height is below 1000000: validator-0 has "),
        "{}",
        messages[0]
    );
    assert_eq!(
        messages[1],
        "\"a line no node prints\" should be in every log: validator-0 never logged it; validator-1 never logged it"
    );
    assert!(
        messages[2].starts_with(
            "\"demo-node ready\" should be absent from every log: validator-0 logged: "
        ),
        "{}",
        messages[2]
    );
}
