//! Chaos on Kubernetes: 5 validators of demo-node as pods for 30 seconds
//! while one validator is restarted every 10 seconds (its pod deleted and
//! recreated, its data on a volume claim where the cluster has storage),
//! another is stopped for 8 seconds, a minority is partitioned off for 5
//! seconds and one validator paused for 3 (both through the fault agent
//! beside each pod); blocks must keep finalizing, agree, and every node
//! must catch up.
//! `cargo xtask k8s up && cargo xtask image &&
//! KUBECONFIG=/var/lib/testbed-k8s/kubeconfig cargo run -p examples --example k8s_chaos`

use std::time::Duration;

use demo_node::DemoNode;
use testbed::expectations::{Agreement, Liveness, Recovery};
use testbed::k8s::K8sDeployer;
use testbed::prelude::*;
use testbed::workloads::{Chaos, ChaosAction, Selector};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let report = Scenario::builder("k8s-chaos")
        .topology(Topology::new().validators(5))
        .node_kind(DemoNode::locate()?.block_time(Duration::from_millis(200)))
        .window(Duration::from_secs(30))
        .workload(Chaos::new().named("restarts").restarts(
            Duration::from_secs(10),
            Duration::from_secs(10),
            Selector::One(NodeId::new("validator-3")),
        ))
        .workload(
            Chaos::new()
                .named("stop-start")
                .at(Duration::from_secs(8), ChaosAction::stop("validator-1"))
                .at(Duration::from_secs(16), ChaosAction::start("validator-1")),
        )
        .workload(
            Chaos::new()
                .named("network")
                .partition_at(
                    Duration::from_secs(4),
                    Duration::from_secs(5),
                    Selector::Minority,
                )
                .pause_at(
                    Duration::from_secs(20),
                    Duration::from_secs(3),
                    Selector::One(NodeId::new("validator-4")),
                ),
        )
        .expectation(Liveness::new(3, Duration::from_secs(10)))
        .expectation(Agreement)
        .expectation(Recovery::within(Duration::from_secs(20)))
        .build()?
        .run(&K8sDeployer::new())
        .await?;
    report.ensure_passed()?;
    Ok(())
}
