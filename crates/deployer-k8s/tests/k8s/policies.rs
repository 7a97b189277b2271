//! Partitions made with NetworkPolicy, for clusters that refuse the fault
//! agent: where the cluster enforces policies (the local cluster after
//! `cargo xtask k8s policies on`; `TESTBED_K8S_NETWORK_POLICY=enforced`),
//! a 2|2 partition halts finalization, its heal resumes it, and the
//! timeline says when each change took effect on every link; where it does
//! not, the run is refused before any node starts, saying why.

use std::time::Duration;

use deployer_k8s::kube::Client;
use deployer_k8s::{K8sDeployer, NetworkFaults, PolicyEnforcement};
use e2e_support::PartitionProbe;
use expectations::Agreement;
use scenario_core::prelude::*;
use scenario_core::{EventKind, NetworkFault, NodeId};

use crate::support::{assert_clean, assert_nothing_left, cluster, scenario};

/// Whether the cluster enforces NetworkPolicy: what
/// `TESTBED_K8S_NETWORK_POLICY` says, else what a probe finds.
async fn enforced(client: &Client) -> bool {
    match std::env::var("TESTBED_K8S_NETWORK_POLICY").as_deref() {
        Ok("enforced") => true,
        Ok("not-enforced") => false,
        _ => {
            let probe = deployer_k8s::probe_cluster(client, deployer_k8s::DEFAULT_AGENT_IMAGE)
                .await
                .unwrap();
            matches!(probe.network_policy, PolicyEnforcement::Enforced { .. })
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_made_with_network_policy_halts_finalization_or_is_refused() {
    let Some((client, _turn)) = cluster("NetworkPolicy partition").await else {
        return;
    };
    let enforced = enforced(&client).await;
    let root = tempfile::tempdir().unwrap();
    let (workload, observed) = PartitionProbe::new(vec![
        vec!["validator-0", "validator-1"],
        vec!["validator-2", "validator-3"],
    ]);
    let plan = scenario("k8s-policy-split", 4, 0, 12, root.path())
        .workload(workload)
        .expectation(Agreement)
        .build()
        .unwrap();
    let deployer = K8sDeployer::new().network_faults(NetworkFaults::NetworkPolicy);
    let report = plan.run(&deployer).await.unwrap();
    assert_nothing_left(&client, &report).await;

    if !enforced {
        assert!(!report.passed, "{report}");
        let failure = report.failures.join("\n");
        assert!(
            failure.contains("this scenario needs network partitions")
                && failure.contains("NetworkPolicy not enforced"),
            "{failure}"
        );
        return;
    }
    assert!(report.passed, "{report}");
    assert_clean(&report);
    let observed = observed.lock().unwrap();
    observed.assert_halted_then_resumed();
    assert_eq!(observed.effect, None, "policies have no packet counters");
    let notes = notes(&report);
    for said in [
        "by NetworkPolicy: new connections refused on 8 of 8 links within",
        "healed by NetworkPolicy: new connections open again on 8 of 8 links within",
    ] {
        assert!(
            notes.iter().any(|note| note.contains(said)),
            "no note says {said:?}: {notes:#?}"
        );
    }
}

/// The notes of a report's timeline.
fn notes(report: &Report) -> Vec<&str> {
    report
        .events
        .iter()
        .filter(|event| event.kind == EventKind::Note)
        .map(|event| event.detail.as_str())
        .collect()
}

/// Cuts `validator-0 → validator-1` one way for 2 s, one second in.
struct OneWay;

#[async_trait]
impl Workload for OneWay {
    fn name(&self) -> &str {
        "one-way-cut"
    }

    fn requirements(&self) -> Requirements {
        Requirements::none().capability(Capability::OneWayCut)
    }

    async fn run(&self, ctx: &RunContext, _cancel: CancellationToken) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let control = ctx.network_control().ok_or("no network control")?;
        let fault = NetworkFault::Cut {
            from: NodeId::new("validator-0"),
            to: NodeId::new("validator-1"),
        };
        let id = control.apply(&fault).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        control.heal(id).await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_way_cut_made_with_network_policy_refuses_one_link_then_reopens_it() {
    let Some((client, _turn)) = cluster("NetworkPolicy one-way cut").await else {
        return;
    };
    if !enforced(&client).await {
        eprintln!(
            "skipped the one-way cut: this cluster does not enforce NetworkPolicy (the partition test checks the refusal)"
        );
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("k8s-policy-cut", 3, 0, 6, root.path())
        .workload(OneWay)
        .build()
        .unwrap();
    let deployer = K8sDeployer::new().network_faults(NetworkFaults::NetworkPolicy);
    let report = plan.run(&deployer).await.unwrap();
    assert!(report.passed, "{report}");
    assert_nothing_left(&client, &report).await;
    let notes = notes(&report);
    for said in [
        "by NetworkPolicy: new connections refused on 1 of 1 links within",
        "(slowest validator-0 → validator-1)",
        "healed by NetworkPolicy: new connections open again on 1 of 1 links within",
    ] {
        assert!(
            notes.iter().any(|note| note.contains(said)),
            "no note says {said:?}: {notes:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_policy_makes_no_link_shapes_and_says_so_before_any_node_runs() {
    let Some((client, _turn)) = cluster("NetworkPolicy shapes").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("k8s-policy-shape", 3, 0, 4, root.path())
        .workload(crate::network::Slow::default())
        .build()
        .unwrap();
    let deployer = K8sDeployer::new().network_faults(NetworkFaults::NetworkPolicy);
    let report = plan.run(&deployer).await.unwrap();
    assert!(!report.passed, "{report}");
    let failure = report.failures.join("\n");
    assert!(
        failure.contains("NetworkPolicy makes only partitions and one-way cuts, not link latency"),
        "{failure}"
    );
    assert!(
        !report
            .events
            .iter()
            .any(|e| e.kind == EventKind::NodeStarted),
        "no node ran"
    );
    assert_nothing_left(&client, &report).await;
}
