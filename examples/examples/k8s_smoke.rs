//! The smallest useful scenario on Kubernetes: 3 validators and 1 executor
//! of demo-node as pods for 15 seconds; blocks must finalize and agree.
//! `cargo xtask k8s up && cargo xtask image &&
//! KUBECONFIG=/var/lib/testbed-k8s/kubeconfig cargo run -p examples --example k8s_smoke`
//! (on another cluster, put `testbed/demo-node:dev` where its nodes pull
//! from first: `kind load docker-image`, `minikube image load`, or a
//! registry).

use std::time::Duration;

use demo_node::DemoNode;
use testbed::expectations::{Agreement, Liveness};
use testbed::k8s::K8sDeployer;
use testbed::prelude::*;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let report = Scenario::builder("k8s-smoke")
        .topology(Topology::new().validators(3).executors(1))
        .node_kind(DemoNode::locate()?.block_time(Duration::from_millis(200)))
        .window(Duration::from_secs(15))
        .expectation(Liveness::new(5, Duration::from_secs(5)))
        .expectation(Agreement)
        .build()?
        .run(&K8sDeployer::new())
        .await?;
    report.ensure_passed()?;
    Ok(())
}
