//! The smallest useful scenario on Docker: 4 validators and 1 executor of
//! demo-node as containers for 15 seconds; blocks must finalize and agree.
//! `cargo xtask image && cargo run -p examples --example compose_smoke`
//! (`cargo xtask image` builds `testbed/demo-node:dev` locally, nothing is
//! pulled; the run's `docker-compose.yml` lands next to its report).

use std::time::Duration;

use demo_node::DemoNode;
use testbed::compose::ComposeDeployer;
use testbed::expectations::{Agreement, Liveness};
use testbed::prelude::*;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let report = Scenario::builder("compose-smoke")
        .topology(Topology::new().validators(4).executors(1))
        .node_kind(DemoNode::locate()?.block_time(Duration::from_millis(200)))
        .window(Duration::from_secs(15))
        .expectation(Liveness::new(5, Duration::from_secs(5)))
        .expectation(Agreement)
        .build()?
        .run(&ComposeDeployer::new())
        .await?;
    report.ensure_passed()?;
    Ok(())
}
