//! Node and network faults with real effects on demo-node.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use deployer_local::LocalDeployer;
use expectations::Liveness;
use scenario_core::EventKind;

use e2e_support::{Observed, PartitionProbe};

use crate::support::{Agreement, Finalizes, RestartAfter, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_validator_is_on_the_timeline_and_catches_up() {
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("restart", 4, 1, 6, root.path())
        .workload(RestartAfter("validator-1", Duration::from_secs(1)))
        .expectation(Finalizes::by(10))
        .expectation(Agreement)
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();

    assert!(report.passed, "{report}");
    let restart = report
        .events
        .iter()
        .find(|e| e.kind == EventKind::NodeRestarted)
        .expect("a restart event");
    assert_eq!(restart.node.as_ref().unwrap(), "validator-1");
    assert!(
        !report
            .events
            .iter()
            .any(|e| e.kind == EventKind::NodeExited),
        "a restart is not an unexpected exit"
    );
}

fn probe(groups: Vec<Vec<&'static str>>) -> (PartitionProbe, Arc<Mutex<Observed>>) {
    PartitionProbe::new(groups)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_two_partition_halts_finalization_and_healing_resumes_it() {
    let root = tempfile::tempdir().unwrap();
    let (workload, observed) = probe(vec![
        vec!["validator-0", "validator-1"],
        vec!["validator-2", "validator-3"],
    ]);
    let plan = scenario("split", 4, 0, 10, root.path())
        .workload(workload)
        .expectation(Agreement)
        // Fault-aware: no progress is required while no side has a quorum.
        .expectation(Liveness::new(3, Duration::from_secs(2)).grace(Duration::from_secs(2)))
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();
    assert!(report.passed, "{report}");

    let liveness = report.expectation("liveness").unwrap();
    assert!(
        liveness.message.contains("without quorum, not required"),
        "{}",
        liveness.message
    );
    observed.lock().unwrap().assert_halted_then_resumed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_one_partition_keeps_the_majority_finalizing_and_the_minority_catches_up() {
    let root = tempfile::tempdir().unwrap();
    let (workload, observed) = probe(vec![
        vec!["validator-0", "validator-1", "validator-2"],
        vec!["validator-3"],
    ]);
    let plan = scenario("minority", 4, 0, 10, root.path())
        .workload(workload)
        .expectation(Agreement)
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();
    assert!(report.passed, "{report}");

    let observed = observed.lock().unwrap();
    let minority = scenario_core::NodeId::new("validator-3");
    assert_eq!(
        observed.during_start[&minority], observed.during_end[&minority],
        "the minority halts"
    );
    for id in ["validator-0", "validator-1", "validator-2"] {
        let id = scenario_core::NodeId::new(id);
        assert!(
            observed.during_end[&id] >= observed.during_start[&id] + 10,
            "{id} kept finalizing"
        );
    }
    let majority_top = observed.healed.values().max().copied().unwrap();
    assert!(
        observed.healed[&minority] + 5 >= majority_top,
        "the minority caught up: {:?}",
        observed.healed
    );
}
